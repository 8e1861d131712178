//! What the scheduled jobs keep in the table for themselves.

use serde::{Deserialize, Serialize};

use super::{Entity, Key};

/// Held by the one run of a scheduled job that is working: another run (the schedule firing while a slow
/// run goes on, or Lambda retrying a failed invocation) finds it held and does not start. A run gives it
/// back when it ends; one that dies without doing so holds it until `lease_until`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JobLease {
    /// The background function's name.
    pub job: String,
    /// The run holding it (random).
    pub lease_holder: String,
    /// Epoch ms: after this, another run may take it.
    pub lease_until: i64,
    /// Epoch seconds (TTL): a day after `lease_until`.
    pub expires_at: i64,
}

impl JobLease {
    /// A lease of `job` for a new run, until `lease_until` (ms).
    pub fn new(job: &str, lease_until: i64) -> JobLease {
        JobLease {
            job: job.to_owned(),
            lease_holder: crate::ids::new_object_id(),
            lease_until,
            expires_at: lease_until / 1000 + 24 * 3600,
        }
    }
}

impl Entity for JobLease {
    const KIND: &'static str = "JobLease";
    fn key(&self) -> Key {
        Key::job_lease(&self.job)
    }
}
