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
        env.request(
            "PATCH",
            "/api/users/experiences",
            Some(json!({"userIds": [member.user_id], "set": {"nuclei": 3}})),
            &owner.auth()
        )
        .await
        .status,
        200
    );
    let body = json!({"recipients": ["invited@example.org"], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": [{"id": red, "isTeamManager": false}]});
    assert_eq!(env.post("/api/auth/sendInvites", body, &owner.auth()).await.status, 200);
    let healthy = env.scan().await;
    let now = accounts::ids::now_millis();
    assert_eq!(devstack::invariants::check_items(healthy.clone(), now), Vec::<String>::new());

    // Each change breaks one rule; the report names it.
    type Break = Box<dyn Fn(&mut Vec<Item>)>;
    let cases: Vec<(&str, Break)> = vec![
        (
            "no e-mail guard",
            Box::new(|items| items.retain(|i| text(i, "entity") != "EmailGuard" || !text(i, "PK").contains("max-"))),
        ),
        (
            "memberCount",
            Box::new(|items| {
                find(items, "Organization").insert("memberCount".into(), AttributeValue::N("7".into()));
            }),
        ),
        (
            "without its membership item",
            Box::new(|items| {
                items.retain(|i| {
                    !(text(i, "entity") == "Membership"
                        && text(i, "isTeamManager").is_empty()
                        && i.get("isTeamManager") == Some(&AttributeValue::Bool(true)))
                })
            }),
        ),
        ("has no name guard", Box::new(|items| items.retain(|i| text(i, "SK") != "TEAMNAME#red"))),
        ("but no experience item", Box::new(|items| items.retain(|i| text(i, "entity") != "UserExperience"))),
        ("not in the domain list", Box::new(|items| items.retain(|i| text(i, "entity") != "ExperienceDomain"))),
        (
            "the address's guard does not name it",
            Box::new(|items| items.retain(|i| text(i, "entity") != "InviteEmailGuard")),
        ),
        ("has no organization item", Box::new(|items| items.retain(|i| text(i, "entity") != "Organization"))),
        (
            "usersByName",
            Box::new(|items| {
                find(items, "User").insert("usersByName".into(), AttributeValue::S("ORG#home#INACTIVE".into()));
            }),
        ),
        (
            "no active admin",
            Box::new(|items| {
                for item in items.iter_mut().filter(|i| text(i, "entity") == "User") {
                    item.insert("isAdmin".into(), AttributeValue::Bool(false));
                }
            }),
        ),
        // Rule 5: the verification state's copy.
        (
            "isEmailVerified true differs from its account's false",
            Box::new(|items| {
                find(items, "User").insert("isEmailVerified".into(), AttributeValue::Bool(true));
            }),
        ),
        // Rule 18: a reset keyed under another account.
        (
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
            "the action is not in the catalogue",
            Box::new(|items| {
                let entry = items.iter_mut().find(|i| text(i, "entity") == "AuditEntry").unwrap();
                entry.insert("action".into(), AttributeValue::S("user.teleported".into()));
            }),
        ),
        (
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
    ];
    for (expected, break_it) in cases {
        let mut items = healthy.clone();
        break_it(&mut items);
        let problems = devstack::invariants::check_items(items, now);
        assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:#?}");
    }

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
    env.app
        .db
        .client
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
    env.app.db.client.put_item().table_name(&env.table).set_item(Some(guard.clone())).send().await.unwrap();
}
