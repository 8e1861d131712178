//! One test binary (one link of the AWS SDK) with a module per area.
//!
//! libtest starts tests in the order of their names, two at a time here. The permission matrix
//! (`access_matrix`, one test of about two minutes in a full run: every route for every kind of caller, in
//! one world) sorts first, so it runs alongside the others from the start instead of alone at the end.

mod access_matrix;
mod account_pages;
mod admin_pages;
mod architecture;
mod audit;
mod audit_events;
mod bad_input;
mod binaries;
mod browser;
mod contract;
mod credentials;
mod edge;
mod experiences;
mod faults;
mod guessing;
mod hardening;
mod idempotency;
mod invariants;
mod invite_delivery;
mod invite_grants;
mod invites;
mod limits;
mod mail_budget;
mod mail_events;
mod mixed_selection_pages;
mod notifications;
mod operators;
mod organization_deletion;
mod organization_export;
mod organization_pages;
mod organization_plans;
mod organizations;
mod ownership;
mod passkey_pages;
mod passkey_requirement;
mod passkeys;
mod preflight;
mod races;
mod real_client;
mod restore;
mod roles;
mod rotation;
mod routing;
mod secrets;
mod sessions;
mod signup;
mod sso;
mod sso_organizations;
mod sso_tokens;
mod teams;
mod template_resources;
mod tokens;
mod user_bulk_edits;
mod users;
