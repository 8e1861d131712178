//! The accounts backend's API: the HTTP side (handlers, dispatch, the edge, authentication, idempotency,
//! the pages), the Lambda runtime, and the AWS adapters (the SQS mail queue, the SES drainer, EventBridge,
//! Secrets Manager). The one place where errors become HTTP (`error.rs`).
//!
//! Below it, and checked by the compiler: `accounts-core` (operations, model, ids, configuration),
//! `accounts-store` (the only DynamoDB user) and `accounts-domain` (rules and flows), re-exported here under
//! their old paths so the binaries, the local stack and the tests name one crate.
//!
//! Every Lambda binary in `functions/` and the local gateway in `infra/devstack` call into this crate
//! through [`dispatch::dispatch`], so the code that runs locally is the code that runs on AWS.

pub mod app;
pub mod auth;
pub mod dispatch;
pub mod edge;
pub mod error;
pub mod events;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod lambda;
pub mod logging;
pub mod mail_drain;
pub mod oidc;
pub mod signing;

pub use accounts_core::{background, config, ids, keys, model, operations};
pub use accounts_domain::{caller, domain, mail, paging, password, policy, tokens, validate};
pub use accounts_store as store;
pub use accounts_store::{declared_actions, request_metrics};

pub use accounts_domain::{DomainError, ErrorKind};
pub use app::App;
pub use error::ApiError;
