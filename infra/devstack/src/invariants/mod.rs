//! The invariant checker: reads a whole table (one Scan: an operator tool, never a request path) and
//! verifies every rule that spans items (docs/data-model.md). `check-invariants` runs it against a table;
//! every integration test ends with it (`TestEnv::finish`).
//!
//! What it checks (organizations whose deletion was accepted are being purged: for them only rule 2
//! applies, since their partition shrinks page by page and their accounts are detached along the way):
//!
//! 1. Every item has a string `PK` and `SK` and a known `entity`, decodes as that entity, has exactly the
//!    key its fields derive, and carries exactly the index and TTL attributes the model derives
//!    (`usersByName`, `nameKey`, `experienceKey`, `experienceValue`, `deletionPartition`,
//!    `deletionRequestedAt`, `remindPartition`, `remindAt`, `cleanupPartition`, `cleanupAt`, `expiresAt`,
//!    `planNoticePartition`, `planNoticeAt`).
//! 2. Every item of a partition `ORG#{id}` has its organization item there: nothing of a deleted (purged)
//!    organization remains.
//! 3. E-mail guards and accounts match both ways: each guard names an account with that e-mail, and each
//!    account's e-mail has a guard naming it.
//! 4. Each account has at least one identity; each identity (organization -> user) names an existing
//!    organization and a user there whose `accountId` is the account; `lastUsedOrganization` is one of its
//!    organizations.
//! 5. Each user (identity) belongs to an existing account whose identity map names this user for the
//!    organization, and carries the account's e-mail and its verification state (its copies).
//! 6. Counters match their items: `memberCount` = the organization's users, `activeUserCount` = its active
//!    users, `milliCreditBalance` = the sum of its credit transactions.
//! 7. `ownerUserId` is empty (awaiting its owner, with no owner among the users) or names a user with
//!    `isOrganizationOwner`, the only one with it.
//! 8. `organizationTeamId` names a team with `isOrganizationTeam`, the only one with it.
//! 9. An organization with users has an active admin.
//! 10. Team name guards and teams match both ways (a guard per team, under its lowercased name, naming it).
//! 11. Memberships and the users' team maps match both ways: each membership's team and user exist and
//!     the user's map has the team (the role is the map's alone); each map entry has its membership, and
//!     its team exists with the copied name.
//! 12. Experience index items exist exactly for the experiences of active users, with the same value.
//! 13. The domain list contains every domain a user (active or not) has an experience in.
//! 14. Sessions, API tokens and caller-scoped idempotency records name an existing user of their
//!     organization.
//! 15. Each invite e-mail guard names an existing pending invite of its address with the same
//!     `validUntil`; each pending invite that is still valid at `now` has its address's guard naming it.
//! 16. Pending invites name only existing teams; accepted invites name the user they made (which exists).
//! 17. Login throttles (the only items that are no model entity) are keyed `LOGIN#...`/`LOGIN` and carry
//!     their TTL.
//! 18. Password resets and e-mail verifications are keyed under their account (`ACCOUNT#{id}`, `RESET` or
//!     `VERIFY#{keyHash}`) and carry their TTL (rule 1); they may outlive a deleted account until it
//!     removes them, and name nothing else.
//! 19. An organization tombstone (`ORGID#{id}`/`TOMBSTONE`) names an id no organization has: a deleted
//!     organization's id is never taken again.
//! 20. Mail quota counters are keyed by organization or recipient and day, and carry their count and TTL.
//! 21. Audit entries (rule 1 covers their index attributes `auditActor`, `auditTarget`, `auditCategory`) name an action of the
//!     catalogue and have a subject; an actor or a subject that is a user names a user of the organization
//!     (identities are never deleted), and the change is empty or a JSON object.
//! 22. Plan updates are in their organization's partition (rule 2); plan requests are keyed
//!     `PLANREQUESTS`/`REQUEST#{id}` and carry their TTL (rule 1); they may outlive their organization.
//! 23. Job leases are keyed `JOB#{job}`/`LEASE` for a background function's name and carry their TTL.
//! 24. Undeliverable addresses are keyed `UNDELIVERABLE#{email}`/`UNDELIVERABLE` (rule 1) by a lowercased
//!     address and carry their TTL; they name nothing else and outlive any organization or account.
//! 25. Operator grants are keyed `OPERATORS`/`ACCOUNT#{id}` (rule 1) and name an existing account: the role
//!     goes with the account.
//! 26. Notification addresses are in their organization's partition (rule 2) and, while unconfirmed, carry
//!     their TTL.
//! 27. A sign-in with the identity provider under way (`OidcLogin`) is keyed by its state's hash (rule 1)
//!     and carries its TTL; a provider link (`ProviderLink`) is keyed by its issuer and subject (rule 1).
//! 28. Every provider link is mirrored in its account's partition (`AccountLink`, the same fields), and
//!     every mirror has its link: the two are written and removed together.
//! 29. A domain an organization verified has one instance-wide record (`VerifiedDomain`) naming that
//!     organization, with the claim's `requireSso`; a pending claim has no record and requires nothing; an
//!     organization's claims and connection name it.
//! 30. A passkey is in its account's partition, keyed by the id its credential id gives (rule 1), and its
//!     account exists (passkeys go with the account); a passkey ceremony under way carries its TTL.
//! 31. An ownership offer is in its organization's partition (rule 2), carries its TTL, comes from the
//!     organization's owner and names another user of it.
//! 32. A mail's sending claim (`MAILSEND#{message id}`/`SEND`, rule 1) is sending, sent or refused and
//!     carries its TTL; it names nothing else.

mod accounts_rules;
mod load;
mod organization_rules;

use accounts::store::Item;
use aws_sdk_dynamodb::types::AttributeValue;

/// The attributes the model derives from an entity's fields for indexes and TTL.
const DERIVED: &[&str] = &[
    "usersByName",
    "nameKey",
    "experienceKey",
    "experienceValue",
    "deletionPartition",
    "deletionRequestedAt",
    "remindPartition",
    "remindAt",
    "cleanupPartition",
    "cleanupAt",
    "expiresAt",
    "auditActor",
    "auditTarget",
    "auditCategory",
    "planNoticePartition",
    "planNoticeAt",
];

/// Every item of `table` (strongly consistent Scan, all pages; a tool's read, not checked against a
/// function's declaration).
pub async fn scan_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>, String> {
    accounts::declared_actions::unchecked(scan_all(client, table)).await
}

async fn scan_all(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan of {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// Scans `table` and returns every violated invariant (empty: all hold). `now_millis` decides which
/// invites are still valid.
pub async fn check_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    now_millis: i64,
) -> Result<Vec<String>, String> {
    Ok(check_items(scan_table(client, table).await?, now_millis))
}

/// Prefixes the problems from `from` on with their rule's number (`rule 12: ...`), so a reader finds the rule.
fn number_from(from: usize, rule: u8, problems: &mut [String]) {
    for problem in &mut problems[from..] {
        *problem = format!("rule {rule}: {problem}");
    }
}

fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Checks the invariants on a table's items (see the module documentation): rule 1 while sorting the items
/// by kind, then the rules over accounts and instance-wide items, then each organization's.
pub fn check_items(items: Vec<Item>, now_millis: i64) -> Vec<String> {
    let mut problems = Vec::new();
    let table = load::load(items, &mut problems);
    accounts_rules::check(&table, &mut problems);
    for (organization_id, org) in &table.orgs {
        organization_rules::check(&table, organization_id, org, now_millis, &mut problems);
    }
    problems
}
