//! Why the configuration of a function could not be read from its environment: its own module, since both
//! the configuration and the keys it holds report it.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}
