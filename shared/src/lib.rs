//! The accounts backend's domain and API: rules and flows (`domain`), and the HTTP side (handlers, dispatch,
//! the Lambda runtime, the AWS adapters for mail, events and secrets).
//!
//! Below it, and checked by the compiler: `accounts-core` (operations, model, ids, configuration) and
//! `accounts-store` (the only DynamoDB user), re-exported here under their old paths.
//!
//! Every Lambda binary in `functions/` and the local gateway in `infra/devstack` call into this crate
//! through [`dispatch::dispatch`], so the code that runs locally is the code that runs on AWS.

pub mod app;
pub mod auth;
pub mod caller;
pub mod declared_actions;
pub mod dispatch;
pub mod domain;
pub mod edge;
pub mod error;
pub mod events;
#[cfg(test)]
mod fixtures;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod lambda;
pub mod logging;
pub mod mail;
pub mod paging;
pub mod password;
pub mod policy;
pub mod signing;
pub mod tokens;
pub mod validate;

pub use accounts_core::{background, config, ids, model, operations};
pub use accounts_store as store;
pub use accounts_store::request_metrics;

pub use app::App;
pub use error::ApiError;
