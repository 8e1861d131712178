//! The invariant checker itself: quiet on a healthy table, and each kind of broken item is reported, by
//! the library and by the `check-invariants` command.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tests::{Item, TestEnv, text};

fn find<'a>(items: &'a mut [Item], entity: &str) -> &'a mut Item {
    items.iter_mut().find(|i| text(i, "entity") == entity).unwrap_or_else(|| panic!("no {entity}"))
}

#[tokio::test]
async fn the_checker_passes_a_healthy_table_and_reports_each_broken_rule() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let member = env.member(&owner, "Max", "Member", &[(&red, true)]).await;
    assert_eq!(
        env.client(&owner.auth())
            .bulk_change_experiences(json!({"userIds": [member.user_id], "set": {"nuclei": 3}}))
            .await
            .status,
        200
    );
    let body = json!({"recipients": ["invited@example.org"], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": [{"id": red, "isTeamManager": false}]});
    assert_eq!(env.client(&owner.auth()).send_invites(body).await.status, 200);
    // A pending ownership offer, to an admin.
    let heir = env.member(&owner, "Olga", "Offered", &[]).await;
    assert_eq!(env.patch_user(&heir.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.client(&owner.auth()).transfer_ownership(tests::HOME_ORGANIZATION, &heir.user_id).await.status, 200);
    let healthy = env.scan().await;
    let now = accounts::ids::now_millis();
    assert_eq!(devstack::invariants::check_items(healthy.clone(), now), Vec::<String>::new());

    // Each change breaks one rule; the report names it.
    let red_team = red.clone();
    type Break = Box<dyn Fn(&mut Vec<Item>)>;
    let cases: Vec<(u8, &str, Break)> = vec![
        (
            3,
            "no e-mail guard",
            Box::new(|items| items.retain(|i| text(i, "entity") != "EmailGuard" || !text(i, "PK").contains("max-"))),
        ),
        (
            6,
            "memberCount",
            Box::new(|items| {
                find(items, "Organization").insert("memberCount".into(), AttributeValue::N("7".into()));
            }),
        ),
        (
            11,
            "without its membership item",
            Box::new(move |items| {
                items.retain(|i| !(text(i, "entity") == "Membership" && text(i, "teamId") == red_team))
            }),
        ),
        (10, "has no name guard", Box::new(|items| items.retain(|i| text(i, "SK") != "TEAMNAME#red"))),
        (12, "but no experience item", Box::new(|items| items.retain(|i| text(i, "entity") != "UserExperience"))),
        (13, "not in the domain list", Box::new(|items| items.retain(|i| text(i, "entity") != "ExperienceDomain"))),
        (
            15,
            "the address's guard does not name it",
            Box::new(|items| items.retain(|i| text(i, "entity") != "InviteEmailGuard")),
        ),
        (2, "has no organization item", Box::new(|items| items.retain(|i| text(i, "entity") != "Organization"))),
        (
            1,
            "usersByName",
            Box::new(|items| {
                find(items, "User").insert("usersByName".into(), AttributeValue::S("ORG#home#INACTIVE".into()));
            }),
        ),
        (
            9,
            "no active admin",
            Box::new(|items| {
                for item in items.iter_mut().filter(|i| text(i, "entity") == "User") {
                    item.insert("isAdmin".into(), AttributeValue::Bool(false));
                }
            }),
        ),
        // Rule 5: the verification state's copy.
        (
            5,
            "isEmailVerified true differs from its account's false",
            Box::new(|items| {
                find(items, "User").insert("isEmailVerified".into(), AttributeValue::Bool(true));
            }),
        ),
        // Rule 18: a reset keyed under another account.
        (
            18,
            "PasswordReset",
            Box::new(|items| {
                let mut reset = find(items, "Account").clone();
                let account_id = text(&reset, "id");
                reset.clear();
                for (name, value) in [
                    ("PK", "ACCOUNT#someone-else".to_owned()),
                    ("SK", "RESET".to_owned()),
                    ("entity", "PasswordReset".to_owned()),
                    ("accountId", account_id),
                    ("tokenHash", "h".to_owned()),
                    ("email", "a@x.org".to_owned()),
                ] {
                    reset.insert(name.into(), AttributeValue::S(value));
                }
                for (name, value) in [("validUntil", "2000"), ("created", "1"), ("expiresAt", "86402")] {
                    reset.insert(name.into(), AttributeValue::N(value.into()));
                }
                items.push(reset);
            }),
        ),
        // Rule 19: a tombstone of an organization that exists.
        (
            19,
            "an organization has this id again",
            Box::new(|items| {
                let tombstone: Item = [
                    ("PK", AttributeValue::S("ORGID#home".into())),
                    ("SK", AttributeValue::S("TOMBSTONE".into())),
                    ("entity", AttributeValue::S("OrganizationTombstone".into())),
                    ("id", AttributeValue::S("home".into())),
                    ("deleted", AttributeValue::N("1".into())),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                items.push(tombstone);
            }),
        ),
        // Rule 20: a mail counter without its count.
        (
            20,
            "a mail quota is keyed",
            Box::new(|items| {
                let quota: Item = [
                    ("PK", AttributeValue::S("ORG#home".into())),
                    ("SK", AttributeValue::S("MAILQUOTA#20000".into())),
                    ("entity", AttributeValue::S("MailQuota".into())),
                    ("expiresAt", AttributeValue::N("1".into())),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                items.push(quota);
            }),
        ),
        // Rule 21: an entry whose action is not in the catalogue, and one about a user who never existed.
        (
            21,
            "the action is not in the catalogue",
            Box::new(|items| {
                let entry = items.iter_mut().find(|i| text(i, "entity") == "AuditEntry").unwrap();
                entry.insert("action".into(), AttributeValue::S("user.teleported".into()));
            }),
        ),
        (
            21,
            "is no user of the organization",
            Box::new(|items| {
                let mut entry = items.iter().find(|i| text(i, "entity") == "AuditEntry").unwrap().clone();
                let ghost = accounts::ids::new_object_id();
                let target = AttributeValue::M(
                    [("type", "user"), ("id", ghost.as_str()), ("name", "Ghost")]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
                        .collect(),
                );
                entry.insert("targets".into(), AttributeValue::L(vec![target]));
                entry.insert("auditTarget".into(), AttributeValue::S(format!("ORG#home#{ghost}")));
                entry.insert("SK".into(), AttributeValue::S(format!("AUDIT#{}", accounts::ids::new_audit_id(1))));
                items.push(entry);
            }),
        ),
        // Rule 4: an account left with no identity.
        (
            4,
            "has no identity",
            Box::new(|items| {
                find(items, "Account").insert("identities".into(), AttributeValue::M(Default::default()));
            }),
        ),
        // Rule 7: a second user marked owner.
        (
            7,
            "but the users marked owner are",
            Box::new(|items| {
                for user in items.iter_mut().filter(|i| text(i, "entity") == "User") {
                    user.insert("isOrganizationOwner".into(), AttributeValue::Bool(true));
                }
            }),
        ),
        // Rule 8: a second team marked as the organization's.
        (
            8,
            "but the teams marked organization team are",
            Box::new(|items| {
                for team in items.iter_mut().filter(|i| text(i, "entity") == "Team") {
                    team.insert("isOrganizationTeam".into(), AttributeValue::Bool(true));
                }
            }),
        ),
        // Rule 14: a session of a user who does not exist.
        (
            14,
            "names user",
            Box::new(|items| {
                let ghost = accounts::ids::new_object_id();
                find(items, "Session").insert("userId".into(), AttributeValue::S(ghost));
            }),
        ),
        // Rule 16: a pending invite naming a team that does not exist.
        (
            16,
            "names team",
            Box::new(|items| {
                let ghost = accounts::ids::new_object_id();
                let teams = AttributeValue::M([(ghost, AttributeValue::Bool(false))].into_iter().collect());
                find(items, "Invite").insert("teams".into(), teams);
            }),
        ),
        // Rule 17: a login throttle without its TTL.
        (
            17,
            "a login throttle is keyed",
            Box::new(|items| {
                let throttle: Item = [
                    ("PK", AttributeValue::S("LOGIN#EMAIL#x@example.org".into())),
                    ("SK", AttributeValue::S("LOGIN".into())),
                    ("entity", AttributeValue::S("LoginThrottle".into())),
                    ("failures", AttributeValue::N("1".into())),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                items.push(throttle);
            }),
        ),
        // Rule 22: a plan request without its TTL.
        (
            22,
            "a plan request carries its TTL",
            Box::new(|items| {
                let request = accounts::model::PlanRequest {
                    id: accounts::ids::new_millis_ordered_id(),
                    organization: "home".into(),
                    organization_name: "Home Lab".into(),
                    kind: "extension".into(),
                    requested: String::new(),
                    requested_by: accounts::ids::new_object_id(),
                    requested_by_name: "A B".into(),
                    requested_by_email: "a@example.org".into(),
                    created: 1,
                    expires_at: 0,
                };
                items.push(accounts::store::to_item(&request));
            }),
        ),
        // Rule 23: a lease of a job that does not exist.
        (
            23,
            "a job lease names a background function",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::JobLease::new("no_such_job", 1_000)));
            }),
        ),
        // Rule 24: an undeliverable address that is not a lowercased address.
        (
            24,
            "an undeliverable address is a lowercased e-mail address",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::UndeliverableAddress {
                    email: "Gone@Example.org".into(),
                    reason: accounts::model::UndeliverableReason::Bounce,
                    detail: "General".into(),
                    reported: 1,
                    expires_at: 1,
                }));
            }),
        ),
        // Rule 27: a sign-in with the identity provider without its TTL.
        (
            27,
            "a sign-in under way carries its TTL",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::OidcLogin {
                    state_hash: "0".repeat(64),
                    issuer: "https://idp.example".into(),
                    organization: None,
                    nonce: "n".into(),
                    code_verifier: "v".repeat(43),
                    link_account: None,
                    expires_at: 0,
                }));
            }),
        ),
        // Rule 26: an unconfirmed notification address without its TTL.
        (
            26,
            "an unconfirmed notification address carries its TTL",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::NotificationAddress {
                    organization: "home".into(),
                    email: "list@example.org".into(),
                    token_hash: "0".repeat(64),
                    requested_at: 1,
                    confirmed_at: None,
                    expires_at: None,
                }));
            }),
        ),
        // Rule 28: a provider link its account does not list.
        (
            28,
            "does not list it",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::ProviderLink {
                    issuer: "https://idp.example".into(),
                    subject: "someone".into(),
                    account_id: accounts::ids::new_object_id(),
                    email: "someone@uni.example".into(),
                    created: 1,
                }));
            }),
        ),
        // Rule 29: a verified domain whose organization never verified it.
        (
            29,
            "has no verified claim of it",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::VerifiedDomain {
                    domain: "uni.example".into(),
                    organization: "home".into(),
                    require_sso: true,
                }));
            }),
        ),
        // Rule 31: an ownership offer from someone who is not the owner, to someone who is no user.
        (
            31,
            "who is not the owner",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::OwnershipTransfer {
                    organization: "home".into(),
                    from_user_id: accounts::ids::new_object_id(),
                    to_user_id: accounts::ids::new_object_id(),
                    token_hash: "00".repeat(32),
                    created: 1,
                    expires_at: 1,
                }));
            }),
        ),
        // Rule 32: a mail's sending claim without its TTL.
        (
            32,
            "a mail's sending claim carries its TTL",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::MailSending {
                    message_id: "a-message".into(),
                    sending_state: accounts::model::MailSending::SENT.into(),
                    claimed_at: 1,
                    expires_at: 0,
                }));
            }),
        ),
        // Rule 25: an operator grant of an account that does not exist.
        // Rule 30: a passkey whose account is gone, and a ceremony without its TTL.
        (
            30,
            "its account does not exist",
            Box::new(|items| {
                let credential_id = b"a credential id";
                items.push(accounts::store::to_item(&accounts::model::Passkey {
                    account_id: accounts::ids::new_object_id(),
                    id: accounts::model::passkey_id(credential_id),
                    name: "Laptop".into(),
                    credential_id: base64::Engine::encode(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                        credential_id,
                    ),
                    static_state: String::new(),
                    dynamic_state: String::new(),
                    transports: 0,
                    created: 1,
                    last_used: None,
                }));
            }),
        ),
        (
            30,
            "a passkey ceremony under way carries its TTL",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::PasskeyCeremony {
                    challenge_hash: "00".repeat(32),
                    purpose: accounts::model::CeremonyPurpose::SignIn,
                    state: String::new(),
                    expires_at: 0,
                }));
            }),
        ),
        (
            25,
            "an operator grant names no existing account",
            Box::new(|items| {
                items.push(accounts::store::to_item(&accounts::model::OperatorGrant {
                    account_id: accounts::ids::new_object_id(),
                    email: "gone@example.org".into(),
                    granted_by: accounts::domain::operators::COMMAND.into(),
                    granted_at: 1,
                }));
            }),
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    let mut numbered_cases = 0;
    for (rule, expected, break_it) in cases {
        let mut items = healthy.clone();
        break_it(&mut items);
        let problems = devstack::invariants::check_items(items, now);
        assert!(problems.iter().any(|p| p.contains(expected)), "rule {rule}, {expected}: {problems:#?}");
        // A rule over several items names itself: the problem says the rule the case breaks.
        for problem in problems.iter().filter(|p| p.contains(expected)) {
            let numbered = problem.strip_prefix("rule ").and_then(|p| p.split_once(": ")).map(|(n, _)| n.to_owned());
            assert!(numbered.is_none_or(|n| n == rule.to_string()), "rule {rule}: {problem}");
        }
        numbered_cases += usize::from(problems.iter().any(|p| p.starts_with(&format!("rule {rule}: "))));
        covered.insert(rule);
    }
    assert!(numbered_cases >= 15, "the rules over several items number their problems: {numbered_cases}");
    // Every rule the checker documents has a case that shows it firing.
    let documented: std::collections::BTreeSet<u8> =
        std::fs::read_to_string(devstack::repo_root().join("infra/devstack/src/invariants/mod.rs"))
            .unwrap()
            .lines()
            .filter_map(|line| line.strip_prefix("//! ")?.split_once(". ")?.0.parse().ok())
            .collect();
    assert_eq!(documented, (1..=32).collect(), "the checker's rules, as its documentation numbers them");
    assert_eq!(covered, documented, "every rule has a case");

    // The command: exit status 0 on the healthy table, 1 with the report after a guard is deleted.
    let run = || {
        std::process::Command::new(tests::functions::binary("debug", "check-invariants"))
            .args(["--table", &env.table, "--dynamodb-endpoint", &tests::services().dynamodb_endpoint])
            .output()
            .expect("check-invariants runs")
    };
    let clean = run();
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stdout));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("0 invariant violation(s)"));
    let guard = healthy.iter().find(|i| text(i, "entity") == "EmailGuard" && text(i, "email") == member.email).unwrap();
    env.direct_dynamodb()
        .delete_item()
        .table_name(&env.table)
        .key("PK", guard["PK"].clone())
        .key("SK", guard["SK"].clone())
        .send()
        .await
        .unwrap();
    let broken = run();
    let report = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{report}");
    assert!(report.contains("no e-mail guard") && report.contains("1 invariant violation(s)"), "{report}");
    // Repaired, so the test ends with a healthy table.
    let repair = env.direct_dynamodb().put_item().table_name(&env.table).set_item(Some(guard.clone())).send();
    repair.await.unwrap();
}

/// A passed test's table goes with its env (the shared DynamoDB Local would otherwise keep every test's
/// table, a 10,000-user one among them, until the run ends); an env sharing the table leaves it alone.
#[tokio::test]
async fn a_tests_table_is_deleted_when_its_env_goes_and_not_before() {
    let env = TestEnv::new().await;
    env.create_home_organization().await;
    let (table, client) = (env.table.clone(), env.direct_dynamodb());
    let sharing = env.sharing_table(&tests::services().ses_endpoint).await;
    drop(sharing);
    assert!(
        client.describe_table().table_name(&table).send().await.is_ok(),
        "an env sharing the table does not delete it"
    );
    drop(env);
    let gone = client.describe_table().table_name(&table).send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()), "the owner's env deleted it");
}
