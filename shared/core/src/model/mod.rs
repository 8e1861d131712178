//! The items of the single table (see docs/data-model.md) and their keys.
//!
//! Every organization-scoped item lives in the partition `ORG#{organizationId}`, so its key always contains
//! the organization id. Organization ids cannot contain `#` (see `validate::organization_id`), and the
//! other ids are generated hex, so keys are unambiguous.

use serde::Serialize;
use serde::de::DeserializeOwned;

mod accounts;
mod audit;
mod invites;
mod jobs;
mod mail;
mod organizations;
mod passkeys;
mod sso;
mod users;

pub use accounts::*;
pub use audit::*;
pub use invites::*;
pub use jobs::*;
pub use mail::*;
pub use organizations::*;
pub use passkeys::*;
pub use sso::*;
pub use users::*;

pub const PLAN_CUSTOM: &str = "Custom";

pub const ORGANIZATION_TEAM_NAME: &str = "Default";

/// Primary key of an item (ordered by PK, then SK).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn account(account_id: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: "ACCOUNT".into() }
    }
    pub fn password_reset(account_id: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: "RESET".into() }
    }
    pub fn email_verification(account_id: &str, key_hash: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: format!("VERIFY#{key_hash}") }
    }
    pub fn notification_address(organization: &str, email: &str) -> Key {
        Key { pk: org_partition(organization), sk: format!("NOTIFY#{email}") }
    }
    pub fn operator_grant(account_id: &str) -> Key {
        Key { pk: OPERATORS_PARTITION.into(), sk: format!("ACCOUNT#{account_id}") }
    }
    pub(crate) fn job_lease(job: &str) -> Key {
        Key { pk: format!("JOB#{job}"), sk: "LEASE".into() }
    }
    pub fn organization_tombstone(organization_id: &str) -> Key {
        Key { pk: format!("ORGID#{organization_id}"), sk: "TOMBSTONE".into() }
    }
    pub fn undeliverable_address(email: &str) -> Key {
        Key { pk: format!("UNDELIVERABLE#{email}"), sk: "UNDELIVERABLE".into() }
    }
    pub fn mail_sending(message_id: &str) -> Key {
        Key { pk: format!("MAILSEND#{message_id}"), sk: "SEND".into() }
    }
    pub fn email_guard(email: &str) -> Key {
        Key { pk: format!("EMAIL#{email}"), sk: "EMAIL".into() }
    }
    pub fn organization(organization_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: "ORG".into() }
    }
    pub fn ownership_transfer(organization_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: "OWNERSHIP_TRANSFER".into() }
    }
    pub fn user(organization_id: &str, user_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("USER#{user_id}") }
    }
    pub fn team(organization_id: &str, team_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("TEAM#{team_id}") }
    }
    pub fn team_name_guard(organization_id: &str, team_name: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("TEAMNAME#{}", team_name.to_lowercase()) }
    }
    pub fn membership(organization_id: &str, team_id: &str, user_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("MEMBER#{team_id}#{user_id}") }
    }
    pub fn session(organization_id: &str, session_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("SESSION#{session_id}") }
    }
    pub fn api_token(organization_id: &str, user_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("APITOKEN#{user_id}") }
    }
    pub fn invite(organization_id: &str, invite_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("{INVITE_PREFIX}{invite_id}") }
    }
    pub fn invite_email_guard(organization_id: &str, email: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("INVITEEMAIL#{email}") }
    }
    pub fn user_experience(organization_id: &str, user_id: &str, domain: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("EXPERIENCE#{user_id}#{domain}") }
    }
    pub(crate) fn experience_domain(organization_id: &str, domain: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("EXPDOMAIN#{domain}") }
    }
}

pub const TEAM_PREFIX: &str = "TEAM#";

pub const INVITE_PREFIX: &str = "INVITE#";

pub const CREDIT_PREFIX: &str = "CREDIT#";

/// The invite indexes' partition key: each invite is in one of [`INVITE_SCHEDULE_SHARDS`] partitions, chosen
/// by its id, so the instance's invite writes spread over that many index partitions instead of one hot one
/// (write sharding; the daily job reads them all in parallel: docs/data-model.md). Shard 0 keeps the name
/// the indexes' one partition had before, so invites written then are still read.
pub const INVITE_SCHEDULE_PARTITION: &str = "INVITES";

/// How many partitions the invite indexes spread over.
pub const INVITE_SCHEDULE_SHARDS: u32 = 8;

/// The invite indexes' partition of the invite `invite_id`: a stable hash of the id (FNV-1a, the same in
/// every version and process) picks the shard.
pub fn invite_schedule_partition(invite_id: &str) -> String {
    let hash = invite_id.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    shard_name(hash % INVITE_SCHEDULE_SHARDS)
}

/// Every partition of the invite indexes, shard 0 first.
pub fn invite_schedule_partitions() -> Vec<String> {
    (0..INVITE_SCHEDULE_SHARDS).map(shard_name).collect()
}

fn shard_name(shard: u32) -> String {
    if shard == 0 { INVITE_SCHEDULE_PARTITION.to_owned() } else { format!("{INVITE_SCHEDULE_PARTITION}#{shard}") }
}

/// The one partition of the operator grants (few: one Query lists them all).
pub const OPERATORS_PARTITION: &str = "OPERATORS";

/// The one partition of the index of organizations being deleted.
pub const DELETION_PARTITION: &str = "ORGS";

/// Who gets AI job completion notices.
pub const AI_JOB_RECIPIENTS: &[&str] = &["jobOwner", "jobOwnerAndAdmins", "none"];

pub const PRICING_PLANS: &[&str] = &["Personal", "Team", "Power", "Team_Trial", "Power_Trial", "Custom"];

pub const EXPERIENCE_DOMAIN_PREFIX: &str = "EXPDOMAIN#";

/// Sort-key prefix of a team's memberships.
pub fn members_prefix(team_id: &str) -> String {
    format!("MEMBER#{team_id}#")
}

/// Partition of the `UsersByExperience` index: an organization's active users with a domain.
pub fn experience_partition(organization_id: &str, domain: &str) -> String {
    format!("ORG#{organization_id}#{domain}")
}

/// Partition of the `UsersByName` index: an organization's active or deactivated users.
pub fn users_by_name_partition(organization_id: &str, active: bool) -> String {
    format!("ORG#{organization_id}#{}", if active { "ACTIVE" } else { "INACTIVE" })
}

pub fn org_partition(organization_id: &str) -> String {
    format!("ORG#{organization_id}")
}

/// An item type of the table: how its key is derived from its fields, and its `entity` tag.
pub trait Entity: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn key(&self) -> Key;
    /// Attributes derived from the fields for the table's indexes, written with the item.
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Numeric attributes for indexes and TTL, written with the item.
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        Vec::new()
    }
}

#[cfg(test)]
mod invite_schedule_tests {
    use super::*;

    #[test]
    fn invites_spread_over_every_shard_evenly_and_always_to_the_same_one() {
        let mut counts = std::collections::HashMap::new();
        for n in 0..8000u32 {
            // Invite ids are object ids: a timestamp, random bytes, a counter.
            let id = format!("6571{n:08x}a1b2c3d4e5{:06x}", n * 7);
            let partition = invite_schedule_partition(&id);
            assert_eq!(partition, invite_schedule_partition(&id), "stable");
            *counts.entry(partition).or_insert(0u32) += 1;
        }
        let mut names: Vec<&String> = counts.keys().collect();
        names.sort();
        let mut all = invite_schedule_partitions();
        all.sort();
        assert_eq!(names, all.iter().collect::<Vec<_>>(), "every shard is used, and no other name");
        for (partition, count) in &counts {
            assert!((800..1200).contains(count), "{partition} holds {count} of 8000");
        }
        assert_eq!(invite_schedule_partitions()[0], INVITE_SCHEDULE_PARTITION, "shard 0 is the old name");
    }
}
