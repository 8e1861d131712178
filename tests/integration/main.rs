//! One test binary (one link of the AWS SDK) with a module per area.

mod contract;
mod real_client;
mod routing;
mod sessions;
mod users;
mod signup;
