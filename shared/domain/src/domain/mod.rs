//! The operations behind the routes: rules and orchestration over the store. Handlers parse, call one
//! function here, and map the result to HTTP; other services can call these functions directly.

pub mod audit;
pub mod credentials;
pub mod daily;
pub mod experiences;
pub mod invites;
pub mod mail_events;
pub mod notifications;
pub mod operators;
pub mod organizations;
pub mod passkeys;
pub mod retry;
pub mod session;
pub mod signup;
pub mod sso;
pub mod sso_settings;
pub mod teams;
pub mod users;
