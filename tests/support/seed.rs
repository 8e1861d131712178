//! Large organizations, fast: the items the domain writes for an active member (e-mail guard, account,
//! Default team membership, user, and the user's experiences with their index items) written with
//! BatchWriteItem, and the organization's counters raised to match. For tests and benchmarks of
//! organizations with thousands of users, where signing each one up (a password hash each) is too slow.

use accounts::model::{
    Account, EmailGuard, ExperienceDomain, Key, Membership, Organization, TeamRole, User, UserExperience,
};
use accounts::store::{Item, to_item};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::StreamExt;

use crate::TestEnv;

/// Seeded members: `user_ids[i]` has e-mail `emails[i]`.
pub struct Seeded {
    pub user_ids: Vec<String>,
    pub emails: Vec<String>,
    pub account_ids: Vec<String>,
}

/// Adds `count` active members to `organization_id`'s Default team; member `i` gets the experiences
/// `experiences(i)` (domain, value), and every domain used joins the domain list.
pub async fn seed_members(
    env: &TestEnv,
    organization_id: &str,
    count: usize,
    experiences: impl Fn(usize) -> Vec<(&'static str, i64)>,
) -> Seeded {
    // Test set-up, not a function's work: its calls are not checked against a declaration.
    accounts::declared_actions::unchecked(write_members(env, organization_id, count, experiences)).await
}

async fn write_members(
    env: &TestEnv,
    organization_id: &str,
    count: usize,
    experiences: impl Fn(usize) -> Vec<(&'static str, i64)>,
) -> Seeded {
    let organization: Organization =
        accounts::store::org::OrgStore::new(&env.app.db, organization_id).organization().await.unwrap().unwrap();
    let now = accounts::ids::now_millis();
    let mut items: Vec<Item> = Vec::with_capacity(count * 5);
    let mut seeded = Seeded {
        user_ids: Vec::with_capacity(count),
        emails: Vec::with_capacity(count),
        account_ids: Vec::with_capacity(count),
    };
    let mut domains = std::collections::BTreeSet::new();
    for i in 0..count {
        let (account_id, user_id) = (accounts::ids::new_object_id(), accounts::ids::new_object_id());
        let email = format!("seed{i}-{}@example.org", &account_id[..8]);
        let experiences_of_user = experiences(i);
        for (domain, value) in &experiences_of_user {
            domains.insert(*domain);
            items.push(to_item(&UserExperience {
                organization: organization_id.to_owned(),
                user_id: user_id.clone(),
                domain: (*domain).to_owned(),
                value: *value,
            }));
        }
        let account = Account {
            id: account_id.clone(),
            email: email.clone(),
            password_hash: "not a login".into(),
            identities: [(organization_id.to_owned(), user_id.clone())].into(),
            last_used_organization: Some(organization_id.to_owned()),
            created: now,
            email_verified: false,
            email_set_at: None,
        };
        let user = User {
            id: user_id.clone(),
            organization: organization_id.to_owned(),
            account_id: account_id.clone(),
            email: email.clone(),
            first_name: "Seed".into(),
            last_name: format!("Member{i:05}"),
            is_admin: false,
            is_organization_owner: false,
            is_dataset_manager: false,
            is_deactivated: false,
            is_email_verified: false,
            teams: [(
                organization.organization_team_id.clone(),
                TeamRole { name: "Default".into(), is_team_manager: false },
            )]
            .into(),
            experiences: experiences_of_user.iter().map(|(d, v)| ((*d).to_owned(), *v)).collect(),
            last_activity: now,
            created: now,
            session_epoch: 0,
            version: 0,
            may_delete_organization: false,
        };
        items.push(to_item(&EmailGuard { email: email.clone(), account_id: account_id.clone() }));
        items.push(to_item(&account));
        items.push(to_item(&Membership {
            organization: organization_id.to_owned(),
            team_id: organization.organization_team_id.clone(),
            user_id: user_id.clone(),
        }));
        items.push(to_item(&user));
        seeded.user_ids.push(user_id);
        seeded.account_ids.push(account_id.clone());
        seeded.emails.push(email);
    }
    for domain in domains {
        items.push(to_item(&ExperienceDomain { organization: organization_id.to_owned(), domain: domain.to_owned() }));
    }
    // The test's own client: a function's time limits (8 s per call) are not the set-up's, which may
    // wait longer on a busy machine.
    let (client, table) = (&env.direct_dynamodb(), &env.table);
    let batches = items.chunks(25).map(|chunk| async move {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item.clone())).build().unwrap())
                    .build()
            })
            .collect();
        loop {
            let output = client.batch_write_item().request_items(table, requests).send().await.unwrap();
            match output.unprocessed_items.unwrap_or_default().remove(table) {
                Some(rest) if !rest.is_empty() => requests = rest,
                _ => break,
            }
        }
    });
    futures_util::stream::iter(batches).buffer_unordered(16).collect::<Vec<()>>().await;
    let key = Key::organization(organization_id);
    client
        .update_item()
        .table_name(table)
        .key("PK", AttributeValue::S(key.pk))
        .key("SK", AttributeValue::S(key.sk))
        .update_expression("ADD memberCount :n, activeUserCount :n")
        .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
        .send()
        .await
        .unwrap();
    seeded
}
