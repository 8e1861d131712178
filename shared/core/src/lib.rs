//! The core of the accounts backend, below every other layer: the operations and background functions
//! (plain data from which the template, the permissions and the routing are generated), the model (the
//! items of the one table), ids, and the configuration. It imports no other crate of the workspace and
//! no AWS SDK.

pub mod background;
pub mod config;
pub mod config_error;
pub mod ids;
pub mod keys;
pub mod model;
pub mod operations;
