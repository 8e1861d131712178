//! HTTP handlers: parse -> authorize -> one domain call -> map to HTTP. Each is an operation in
//! [`crate::operations`] (bound in [`crate::dispatch`]) and the body of one Lambda binary.

pub mod audit;
pub mod auth;
pub mod buildinfo;
pub mod experiences;
pub mod invites;
pub mod json;
pub mod organizations;
pub mod passkeys;
pub mod pricing;
pub mod sso;
pub mod teams;
pub mod user;
pub mod users;
pub mod web;

pub use crate::http::HandlerResult;
