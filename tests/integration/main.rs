//! One test binary (one link of the AWS SDK) with a module per area.

mod admin_pages;
mod audit_events;
mod bad_input;
mod binaries;
mod browser;
mod contract;
mod credentials;
mod experiences;
mod faults;
mod guessing;
mod hardening;
mod idempotency;
mod invariants;
mod invites;
mod organizations;
mod permissions;
mod races;
mod real_client;
mod roles;
mod routing;
mod secrets;
mod sessions;
mod signup;
mod teams;
mod tokens;
mod users;
