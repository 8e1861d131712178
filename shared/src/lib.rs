//! Domain crate of the accounts backend.
//!
//! Every Lambda binary in `functions/` and the local gateway in `infra/devstack` call into this crate
//! through [`dispatch::dispatch`], so the code that runs locally is the code that runs on AWS.

pub mod app;
pub mod auth;
pub mod background;
pub mod caller;
pub mod config;
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
pub mod ids;
pub mod lambda;
pub mod logging;
pub mod mail;
pub mod model;
pub mod operations;
pub mod paging;
pub mod password;
pub mod policy;
pub mod request_metrics;
pub mod signing;
pub mod store;
pub mod tokens;
pub mod validate;

pub use app::App;
pub use error::ApiError;
