//! HTTP handlers: parse -> authorize -> one domain call -> map to HTTP. Each is an operation in
//! [`crate::routes`] and the body of one Lambda binary.

pub mod auth;
pub mod buildinfo;
pub mod experiences;
pub mod invites;
pub mod json;
pub mod organizations;
pub mod teams;
pub mod user;
pub mod users;

use crate::error::ApiError;
use crate::http::{Body, Request, Response};

pub type HandlerResult = Result<Response<Body>, ApiError>;

/// The answer for a path no route matches (API Gateway's `$default` route), in our error shape.
pub async fn route_not_found(_app: &crate::App, req: Request) -> HandlerResult {
    Err(ApiError::not_found("route.notFound", format!("There is no route {} {}", req.method(), req.uri().path())))
}
