//! The accounts backend's domain: the rules (pure functions over what was read) and the flows around them
//! (read through the store, decide, write through the store, queue mail through a port). It names no AWS
//! SDK and no HTTP: its failures are [`DomainError`]s, which the API crate turns into HTTP answers.

pub mod app;
pub mod caller;
pub mod domain;
pub mod error;
pub mod mail;
pub mod paging;
pub mod password;
pub mod policy;
pub mod tokens;
pub mod validate;

#[cfg(test)]
mod fixtures;

// The lower crates' modules under the paths the domain's code names them by.
use accounts_core::{background, config, ids, keys, model, operations};
use accounts_store as store;
use accounts_store::{declared_actions, request_metrics};

pub use app::App;
pub use error::{DomainError, ErrorKind};
