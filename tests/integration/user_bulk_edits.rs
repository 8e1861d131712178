//! Bulk edits and team managers: all selected users or none, across transactions and when a later one
//! fails; team managers change, bulk edit and list only the members of the teams they manage.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use tests::barrier::WriteBarrier;
use tests::{HOME_ORGANIZATION, TestEnv, mails_to, text};

use crate::users::team_ids;

#[tokio::test]
async fn team_managers_change_only_the_teams_they_manage() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let green = env.team(&owner.auth(), "Green").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true), (&green, true)]).await;
    let member = env.member(&owner, "Max", "Member", &[(&red, false), (&blue, false)]).await;
    let default_team = env.client(&owner.auth()).user(&member.user_id).await.body["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Default")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Submits: Red removed, Green added as manager, Blue (not managed) dropped and a made-up role in it ignored.
    let patch = json!({"teams": [{"id": green, "isTeamManager": true}, {"id": default_team, "isTeamManager": true}]});
    let changed = env.patch_user(&member.user_id, patch, &manager.auth()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let mut expected = vec![(default_team.clone(), false), (blue.clone(), false), (green.clone(), true)];
    expected.sort();
    assert_eq!(team_ids(&changed.body), expected);
    // Admin-only fields and unknown teams are refused.
    let admin = env.patch_user(&member.user_id, json!({"isAdmin": true}), &manager.auth()).await;
    assert_eq!((admin.status, admin.error_code()), (403, "user.admin.notAllowed"));
    let dataset = env.patch_user(&member.user_id, json!({"isDatasetManager": true}), &manager.auth()).await;
    assert_eq!(dataset.error_code(), "user.datasetManager.notAllowed");
    let unknown =
        env.patch_user(&member.user_id, json!({"teams": [{"id": "0123456789abcdef01234567"}]}), &owner.auth()).await;
    assert_eq!((unknown.status, unknown.error_code()), (400, "team.notFound"));
    let twice = env.patch_user(&member.user_id, json!({"teams": [{"id": red}, {"id": red}]}), &owner.auth()).await;
    assert_eq!(twice.error_code(), "user.teams.duplicate");
    // The member now manages Green, so submitting no teams takes them out of Green only; the teams they
    // do not manage are kept.
    let own = env.patch_user(&member.user_id, json!({"teams": []}), &member.auth()).await;
    let mut kept = vec![(default_team.clone(), false), (blue.clone(), false)];
    kept.sort();
    assert_eq!(team_ids(&own.body), kept);
    // Someone who manages no team changes nothing by submitting teams.
    let plain = env.member(&owner, "Pia", "Plain", &[(&red, false)]).await;
    let before = env.scan().await;
    let ignored = env.patch_user(&plain.user_id, json!({"teams": []}), &plain.auth()).await;
    assert_eq!((ignored.status, ignored.body["teams"].as_array().unwrap().len()), (200, 2));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn concurrent_changes_of_different_teams_by_two_managers_both_survive() {
    // Forced: both changes have read the user before either writes.
    let barrier = WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let red_manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let blue_manager = env.member(&owner, "Bert", "Blue", &[(&blue, true)]).await;
    let member = env.member(&owner, "Max", "Member", &[(&red, false), (&blue, false)]).await;
    let (red_auth, blue_auth) = (red_manager.auth(), blue_manager.auth());
    barrier.arm(2, "USER#");
    let (a, b) = tokio::join!(
        env.patch_user(&member.user_id, json!({"teams": [{"id": red, "isTeamManager": true}]}), &red_auth),
        env.patch_user(&member.user_id, json!({"teams": [{"id": blue, "isTeamManager": true}]}), &blue_auth),
    );
    assert_eq!((a.status, b.status), (200, 200), "{:?} {:?}", a.body, b.body);
    assert_eq!(barrier.met(), 2, "the two changes did not write at the same moment");
    let stored = env.client(&owner.auth()).user(&member.user_id).await.body;
    let roles = team_ids(&stored);
    assert!(roles.contains(&(red.clone(), true)) && roles.contains(&(blue.clone(), true)), "{roles:?}");
}

#[tokio::test]
async fn bulk_edit_changes_all_selected_users_or_none() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(env.member(&owner, "Bulk", &format!("User{i}"), &[(&blue, false)]).await);
    }
    let ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    let body = json!({"userIds": ids, "teams": [{"id": red, "isTeamManager": true}], "isDatasetManager": true});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body.as_array().unwrap().len(), 3, "the three users answered");
    for user in changed.body.as_array().unwrap() {
        assert_eq!(team_ids(user), vec![(red.clone(), true)]);
        assert_eq!(user["isDatasetManager"], true);
    }
    // One user the caller may not change: nobody changes.
    let mut with_owner = ids.clone();
    with_owner.push(&owner.user_id);
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let before = env.scan().await;
    let body = json!({"userIds": with_owner, "teams": [], "isAdmin": true});
    let refused = env.client(&manager.auth()).bulk_edit_teams_and_permissions(body).await;
    assert!(matches!(refused.status, 403 | 404), "{:?}", refused.body);
    assert_eq!(env.scan().await, before);
    let unknown = json!({"userIds": [ids[0], "0123456789abcdef01234567"], "teams": []});
    assert_eq!(env.client(&owner.auth()).bulk_edit_teams_and_permissions(unknown).await.status, 404);
    assert_eq!(env.scan().await, before);
    let too_many: Vec<String> = (0..101).map(|i| format!("{i:024x}")).collect();
    let limit =
        env.client(&owner.auth()).bulk_edit_teams_and_permissions(json!({"userIds": too_many, "teams": []})).await;
    assert_eq!((limit.status, limit.error_code()), (400, "request.tooManyUsers"));
}

/// A role change of 100 users: each writes its user item and its entry (no membership), so the change is
/// two transactions of 50 users, sent at once, then a last one with the team's check and the notices'
/// count on the payer's budgets; with the caller, the team and the users read, 6 DynamoDB requests in all
/// (docs/data-model.md), and no transaction for the notices.
#[tokio::test]
async fn a_role_change_of_a_hundred_users_is_three_transactions_the_checks_in_the_last() {
    use std::sync::{Arc, Mutex};
    // While armed: each DynamoDB request's operation and body.
    type Requests = Option<Vec<(String, String)>>;
    let recorded: Arc<Mutex<Requests>> = Arc::default();
    let recording = recorded.clone();
    let hook: tests::DynamoDbHook = Arc::new(move |operation, body| {
        if let Some(requests) = recording.lock().unwrap().as_mut() {
            requests.push((operation, body));
        }
        Box::pin(async {})
    });
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let ids = tests::seed::seed_members(&env, HOME_ORGANIZATION, 100, |_| Vec::new()).await.user_ids;
    let joined = json!({"userIds": ids, "setTeams": [{"id": red}]});
    assert_eq!(env.client(&owner.auth()).bulk_edit_teams_and_permissions(joined).await.status, 200);

    *recorded.lock().unwrap() = Some(Vec::new());
    let promoted = json!({"userIds": ids, "setTeams": [{"id": red, "isTeamManager": true}]});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(promoted).await;
    let mut requests = recorded.lock().unwrap().take().unwrap();
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert!(changed.body.as_array().unwrap().iter().all(|user| team_ids(user).contains(&(red.clone(), true))));
    // The tests' gateway drains the mail before it answers: the drainer's requests come after the change's.
    let drained = requests.split_off(requests.iter().position(|(_, body)| body.contains("MAILSEND#")).unwrap());
    let claims: Vec<&String> =
        drained.iter().filter(|(operation, _)| operation == "TransactWriteItems").map(|(_, body)| body).collect();
    assert_eq!(claims.len(), 100, "each notice claimed once");
    assert!(
        claims
            .iter()
            .all(|body| body.contains("MAILSEND#") && body.contains("UNDELIVERABLE#") && body.contains("DAY#")),
        "each claimed with its recipient's check and budget"
    );
    let operations: Vec<&str> = requests.iter().map(|(operation, _)| operation.as_str()).collect();
    assert_eq!(operations.len(), 6, "{operations:?}");
    let transactions: Vec<&String> =
        requests.iter().filter(|(operation, _)| operation == "TransactWriteItems").map(|(_, body)| body).collect();
    assert_eq!(transactions.len(), 3, "{operations:?}");
    let team_key = format!("TEAM#{red}");
    let users_in = |body: &str| body.matches("\"entity\":{\"S\":\"User\"}").count();
    assert_eq!((users_in(transactions[0]), users_in(transactions[1])), (50, 50));
    assert!(!transactions[0].contains(&team_key) && !transactions[1].contains(&team_key), "no check in the first two");
    assert!(
        transactions[2].contains(&team_key) && transactions[2].contains("MAILQUOTA#"),
        "the checks and budgets last"
    );
    assert!(!transactions[2].contains("Membership"), "a role change writes no membership");
}

#[tokio::test]
async fn bulk_edit_of_a_hundred_users_spans_transactions_and_changes_every_one() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let mut ids = Vec::new();
    for i in 0..100 {
        let (_, user) = env.register("Many", &format!("User{i:03}")).await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    // 100 users, each leaving Default and joining Red: 300 item writes, more than one transaction holds.
    let body = json!({"userIds": ids, "teams": [{"id": red, "isTeamManager": false}]});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let answered = changed.body.as_array().unwrap();
    assert_eq!(answered.len(), 100);
    assert!(answered.iter().all(|user| team_ids(user) == [(red.clone(), false)]), "every one in Red alone");
    let scan = env.scan().await;
    let memberships: Vec<&tests::Item> = scan.iter().filter(|i| text(i, "entity") == "Membership").collect();
    let in_red: BTreeSet<String> =
        memberships.iter().filter(|i| text(i, "teamId") == red).map(|i| text(i, "userId")).collect();
    assert_eq!(in_red, ids.iter().cloned().collect::<BTreeSet<String>>());
    let elsewhere = memberships.iter().filter(|i| ids.contains(&text(i, "userId")) && text(i, "teamId") != red);
    assert_eq!(elsewhere.count(), 0, "nobody is left in Default");
    // Each is told once, the hundred notices queued in batches and each recipient admitted when sent.
    let mut told = 0;
    for user in answered {
        let email = user["email"].as_str().unwrap();
        told += mails_to(email).await.iter().filter(|m| m.subject.contains("access")).count();
    }
    assert_eq!(told, 100);
    // (A bulk edit that fails part-way: a_bulk_edit_failing_in_a_later_transaction_leaves_every_item_exactly_as_it_was.)
}

#[tokio::test]
async fn a_bulk_edit_failing_in_a_later_transaction_leaves_every_item_exactly_as_it_was() {
    use std::sync::{Arc, Mutex};
    // Armed with (direct client, table, the last user, a team): just before the first transaction that
    // writes the last user, the team's deletion starts "concurrently", so that transaction's team check
    // fails after the earlier transactions committed.
    type Trigger = (aws_sdk_dynamodb::Client, String, String, accounts::model::Key);
    let trigger: Arc<Mutex<Option<Trigger>>> = Arc::default();
    let earlier_transactions: Arc<Mutex<usize>> = Arc::default();
    let (hook_trigger, hook_count) = (trigger.clone(), earlier_transactions.clone());
    let hook: tests::DynamoDbHook = Arc::new(move |operation, body| {
        let (trigger, count) = (hook_trigger.clone(), hook_count.clone());
        Box::pin(async move {
            if operation != "TransactWriteItems" {
                return;
            }
            let armed = trigger.lock().unwrap().clone();
            let Some((client, table, last_user, team)) = armed else { return };
            if !body.contains(&format!("USER#{last_user}")) {
                *count.lock().unwrap() += 1;
                return;
            }
            trigger.lock().unwrap().take();
            client
                .update_item()
                .table_name(table)
                .key("PK", AttributeValue::S(team.pk))
                .key("SK", AttributeValue::S(team.sk))
                .update_expression("SET deleting = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .send()
                .await
                .unwrap();
        })
    });
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_home_organization().await;
    let mut teams = Vec::new();
    for name in ["T1", "T2", "T3", "T4"] {
        teams.push(env.team(&owner.auth(), name).await);
    }
    let mut ids = Vec::new();
    for i in 0..40 {
        let (_, user) = env.register("Many", &format!("User{i:02}")).await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let before = env.scan().await;
    *trigger.lock().unwrap() = Some((
        env.direct_dynamodb(),
        env.table.clone(),
        ids.last().unwrap().clone(),
        accounts::model::Key::team(HOME_ORGANIZATION, &teams[0]),
    ));
    // Each user leaves Default and joins four teams: 40 users need several transactions.
    let memberships: Vec<Value> = teams.iter().map(|id| json!({"id": id, "isTeamManager": false})).collect();
    let body = json!({"userIds": ids, "teams": memberships, "isDatasetManager": true});
    let refused = env.client(&owner.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!((refused.status, refused.error_code()), (400, "team.notFound"), "{:?}", refused.body);
    assert!(trigger.lock().unwrap().is_none(), "the last transaction ran");
    assert!(*earlier_transactions.lock().unwrap() >= 2, "earlier transactions committed (and were undone) first");

    // Every user item (version included), membership and other item is as before; only the team whose
    // deletion started has changed.
    let mut expected = before;
    let team_key = accounts::model::Key::team(HOME_ORGANIZATION, &teams[0]);
    let team = expected.iter_mut().find(|i| text(i, "PK") == team_key.pk && text(i, "SK") == team_key.sk).unwrap();
    team.insert("deleting".into(), AttributeValue::Bool(true));
    let (entries, rest): (Vec<_>, Vec<_>) =
        env.scan().await.into_iter().partition(|item| text(item, "entity") == "AuditEntry" && !expected.contains(item));
    assert_eq!(rest, expected);
    // The log tells what happened: the earlier transactions' users were changed, then each restored, by
    // the same admin; the last transaction's users were never changed.
    let mut changed = BTreeSet::new();
    let mut restored = BTreeSet::new();
    for entry in &entries {
        let subject = text(entry, "auditTarget").rsplit('#').next().unwrap().to_owned();
        match text(entry, "action").as_str() {
            "user.teamsAndPermissionsChanged" => changed.insert(subject),
            "user.restored" => restored.insert(subject),
            other => panic!("unexpected entry {other}"),
        };
    }
    assert!(!restored.is_empty(), "the undone users' restores are logged");
    assert_eq!(changed, restored, "each changed user was restored");
    assert!(!restored.contains(ids.last().unwrap()), "the failing transaction's users changed nothing");
}

#[tokio::test]
async fn a_team_manager_bulk_edits_only_their_teams_members_and_they_are_told() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let manager = env.member(&owner, "Rita", "Redmanager", &[(&red, true)]).await;
    let first = env.member(&owner, "Rob", "Red", &[(&red, false)]).await;
    let second = env.member(&owner, "Rae", "Redblue", &[(&red, false), (&blue, false)]).await;
    let outsider = env.member(&owner, "Bea", "Blue", &[(&blue, false)]).await;

    // Members of the managed team: Red becomes a manager role; Blue (not managed) is submitted too, and
    // is ignored for both; Blue memberships are kept.
    let body = json!({"userIds": [first.user_id, second.user_id], "teams": [{"id": red, "isTeamManager": true}, {"id": blue, "isTeamManager": true}]});
    let changed = env.client(&manager.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let stored = |user_id: String| {
        let env = &env;
        let owner = &owner;
        async move { team_ids(&env.client(&owner.auth()).user(&user_id).await.body) }
    };
    let roles = stored(first.user_id.clone()).await;
    assert!(roles.contains(&(red.clone(), true)) && !roles.iter().any(|(t, _)| *t == blue), "{roles:?}");
    let roles = stored(second.user_id.clone()).await;
    assert!(roles.contains(&(red.clone(), true)) && roles.contains(&(blue.clone(), false)), "{roles:?}");
    // Told: "your access changed", with the new role.
    for member in [&first, &second] {
        let mails = mails_to(&member.email).await;
        assert!(
            mails.iter().any(|m| m.subject.contains("access")
                && m.text.contains("Red (team manager)")
                && m.text.contains("Rita Redmanager")),
            "{:?}",
            mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
    }

    // Another team's member (alone or with the manager's own members), or rights only admins give:
    // refused, nothing changes.
    for body in [
        json!({"userIds": [outsider.user_id], "teams": [{"id": red}]}),
        json!({"userIds": [first.user_id, outsider.user_id], "teams": [{"id": red}]}),
        json!({"userIds": [first.user_id], "teams": [{"id": red}], "isDatasetManager": true}),
        json!({"userIds": [first.user_id], "teams": [{"id": red}], "isAdmin": true}),
    ] {
        let before = env.scan().await;
        let refused = env.client(&manager.auth()).bulk_edit_teams_and_permissions(body.clone()).await;
        assert!(matches!(refused.status, 403 | 404), "{body}: {:?}", refused.body);
        assert!(!refused.error_code().is_empty());
        assert_eq!(env.scan().await, before, "{body}");
    }
    let untouched = stored(outsider.user_id.clone()).await;
    assert!(untouched.contains(&(blue.clone(), false)) && !untouched.iter().any(|(t, _)| *t == red));
}

#[tokio::test]
async fn a_team_managers_user_list_pages_through_their_teams_members_in_name_order() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let green = env.team(&owner.auth(), "Green").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let manager = env.member(&owner, "Mona", "Manager", &[(&red, true), (&green, true)]).await;
    for (last, teams) in [
        ("Delta", vec![(red.as_str(), false)]),
        ("alpha", vec![(green.as_str(), false)]),
        ("Echo", vec![(red.as_str(), false), (green.as_str(), false)]),
        ("Bravo", vec![(red.as_str(), true)]),
        ("Outsider", vec![(blue.as_str(), false)]),
    ] {
        env.member(&owner, "X", last, &teams).await;
    }
    let names = |users: &Value| {
        users.as_array().unwrap().iter().map(|u| u["lastName"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let all = env.client(&manager.auth()).users("").await;
    assert_eq!(
        names(&all.body),
        ["alpha", "Bravo", "Delta", "Echo", "Manager"],
        "members of managed teams and self, once each"
    );
    for limit in [1, 2, 3] {
        let mut seen = Vec::new();
        let mut path = format!("/api/users?limit={limit}");
        for _ in 0..10 {
            let page = env.get(&path, &manager.auth()).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            assert!(page.body.as_array().unwrap().len() <= limit);
            seen.extend(names(&page.body));
            match page.header("x-next-cursor") {
                Some(cursor) => path = format!("/api/users?limit={limit}&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, names(&all.body), "limit {limit}");
    }
    // Filters apply before paging.
    let managers = env.client(&manager.auth()).users("isTeamManagerOrAdmin=true&limit=1").await;
    assert_eq!(names(&managers.body), ["Bravo"]);
    let cursor = managers.header("x-next-cursor").expect("a second page").to_owned();
    let next = env.client(&manager.auth()).users(&format!("isTeamManagerOrAdmin=true&limit=1&cursor={cursor}")).await;
    assert_eq!((names(&next.body), next.header("x-next-cursor")), (vec!["Manager".to_owned()], None));
}

/// A bulk change's notices are queued without a check; the drainer checks each recipient when it sends:
/// the others are told, the address that bounced for good is not mailed, and the change itself happens for
/// all.
#[tokio::test]
async fn a_bulk_edits_notices_reach_everyone_but_an_undeliverable_address() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let mut members = Vec::new();
    for name in ["Ann", "Ben", "Cid"] {
        members.push(env.member(&owner, name, "Notified", &[]).await);
    }
    let bounced = &members[1].email;
    let event = json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [
            {"emailAddress": bounced, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
        ]},
        "mail": {"destination": [bounced], "tags": {"ses:configuration-set": [tests::MAIL_CONFIGURATION_SET]},
                 "sendingAccountId": tests::MAIL_ACCOUNT}
    });
    let recorded = tests::as_function(
        &accounts::background::RECORD_MAIL_EVENTS,
        accounts::domain::mail_events::record(&env.app, tests::MAIL_EVENTS_TOPIC, &event.to_string()),
    )
    .await
    .unwrap();
    assert_eq!(recorded.addresses, 1);
    let ids: Vec<&String> = members.iter().map(|m| &m.user_id).collect();
    let body = json!({"userIds": ids, "teams": [{"id": red, "isTeamManager": false}]});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert!(changed.body.as_array().unwrap().iter().all(|user| team_ids(user) == [(red.clone(), false)]));
    for member in &members {
        let told = mails_to(&member.email).await.iter().filter(|m| m.subject.contains("access")).count();
        assert_eq!(told, usize::from(&member.email != bounced), "{}", member.email);
    }
}

#[tokio::test]
async fn set_and_remove_teams_change_only_the_named_teams_and_what_is_left_out_stays() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let (alpha, beta) = (env.team(&owner.auth(), "Alpha").await, env.team(&owner.auth(), "Beta").await);
    let ada = env.member(&owner, "Ada", "Admin", &[(&beta, true)]).await;
    assert_eq!(env.patch_user(&ada.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let bob = env.member(&owner, "Bob", "Brown", &[(&alpha, true)]).await;
    let ids = json!([ada.user_id, bob.user_id]);
    let roles = |user: &Value| -> Vec<(String, bool)> {
        let mut roles: Vec<(String, bool)> = user["teams"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["name"] != "Default")
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t["isTeamManager"].as_bool().unwrap()))
            .collect();
        roles.sort();
        roles
    };
    let client = || env.client(&owner.auth());

    // Alpha as Member for both: Bob's role there changes, Ada joins; Beta and Ada's admin right stay.
    let set = client().bulk_edit_teams_and_permissions(json!({"userIds": ids, "setTeams": [{"id": alpha}]})).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let after: Vec<&Value> = set.body.as_array().unwrap().iter().collect();
    let ada_after = after.iter().find(|u| u["id"] == ada.user_id.as_str()).unwrap();
    assert_eq!(roles(ada_after), [("Alpha".to_owned(), false), ("Beta".to_owned(), true)]);
    assert_eq!(ada_after["isAdmin"], true, "a right the request leaves out stays");
    let bob_after = after.iter().find(|u| u["id"] == bob.user_id.as_str()).unwrap();
    assert_eq!(roles(bob_after), [("Alpha".to_owned(), false)]);
    // Beta removed from both: Bob was never in it.
    let removed = client().bulk_edit_teams_and_permissions(json!({"userIds": ids, "removeTeams": [beta]})).await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert!(removed.body.as_array().unwrap().iter().all(|u| roles(u) == [("Alpha".to_owned(), false)]));
    // Only a right: the teams stay.
    let right = client().bulk_edit_teams_and_permissions(json!({"userIds": ids, "isDatasetManager": true})).await;
    assert!(right.body.as_array().unwrap().iter().all(|u| u["isDatasetManager"] == true && roles(u).len() == 1));

    // Refused, writing nothing: both ways at once, a team both set and removed, an unknown team joined.
    let before = env.scan().await;
    let both = json!({"userIds": ids, "teams": [], "removeTeams": [alpha]});
    let refused = client().bulk_edit_teams_and_permissions(both).await;
    assert_eq!((refused.status, refused.error_code()), (400, "request.teams.conflict"));
    let twice = json!({"userIds": ids, "setTeams": [{"id": alpha}], "removeTeams": [alpha]});
    assert_eq!(client().bulk_edit_teams_and_permissions(twice).await.error_code(), "user.teams.duplicate");
    let unknown = json!({"userIds": ids, "setTeams": [{"id": "0123456789abcdef01234567"}]});
    assert_eq!(client().bulk_edit_teams_and_permissions(unknown).await.error_code(), "team.notFound");
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn a_bulk_edit_racing_a_single_edit_of_one_of_its_users_keeps_both_changes() {
    // Forced: the bulk edit and the rename have both read Ada before either writes. The one that commits
    // second fails its version condition, reads Ada again and applies its change to what the first wrote.
    let barrier = WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_home_organization().await;
    let alpha = env.team(&owner.auth(), "Alpha").await;
    let ada = env.member(&owner, "Ada", "Racer", &[]).await;
    let bob = env.member(&owner, "Bob", "Racer", &[]).await;
    barrier.arm(2, "USER#");
    let bulk = json!({"userIds": [ada.user_id, bob.user_id], "setTeams": [{"id": alpha, "isTeamManager": true}]});
    let auth = owner.auth();
    let (bulk, single) = tokio::join!(
        env.client(&auth).bulk_edit_teams_and_permissions(bulk),
        env.patch_user(&ada.user_id, json!({"firstName": "Adele"}), &auth),
    );
    assert_eq!((bulk.status, single.status), (200, 200), "{:?} {:?}", bulk.body, single.body);
    assert_eq!(barrier.met(), 2, "the two changes did not write at the same moment");
    println!("the barrier was met by both writes");
    for member in [&ada, &bob] {
        let stored = env.client(&owner.auth()).user(&member.user_id).await.body;
        assert!(team_ids(&stored).contains(&(alpha.clone(), true)), "the bulk edit's team: {stored}");
    }
    let ada_now = env.client(&owner.auth()).user(&ada.user_id).await.body;
    assert_eq!(ada_now["firstName"], "Adele", "the rename survives the bulk edit: {ada_now}");
    env.check_invariants().await;
}

#[tokio::test]
async fn a_team_manager_sets_and_removes_only_the_teams_they_manage() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let member = env.member(&owner, "Max", "Member", &[(&red, false), (&blue, false)]).await;
    // Blue is not Rita's: a role set there changes nothing of it.
    let body = json!({"userIds": [member.user_id], "setTeams": [{"id": blue, "isTeamManager": true}]});
    let set = env.client(&manager.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let after = env.client(&owner.auth()).user(&member.user_id).await.body;
    assert!(team_ids(&after).contains(&(blue.clone(), false)), "still a plain member of Blue: {after}");
    // Removing Blue and Red: only Red, hers, goes (and with it Max leaves her sight).
    let body = json!({"userIds": [member.user_id], "removeTeams": [blue, red]});
    let removed = env.client(&manager.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    let roles = team_ids(&env.client(&owner.auth()).user(&member.user_id).await.body);
    assert!(roles.contains(&(blue.clone(), false)) && !roles.iter().any(|(id, _)| id == &red), "{roles:?}");
}

/// An admin who takes their own admin right away in a bulk edit keeps it when no other active admin would
/// remain (409 `user.lastAdmin`, nothing changed); with another admin, the edit goes through, and that
/// admin is checked at commit (the edit looks for one among the active users by name).
#[tokio::test]
async fn an_admin_removes_their_own_admin_right_in_a_bulk_edit_only_while_another_admin_remains() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let ada = env.member(&owner, "Ada", "Admin", &[]).await;
    assert_eq!(env.patch_user(&ada.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    // The owner's admin right goes first: Ada stays.
    let demote_owner = json!({"userIds": [owner.user_id], "isAdmin": false});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(demote_owner).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(env.client(&ada.auth()).user(&owner.user_id).await.body["isAdmin"], false);
    // Ada, now the only admin, cannot do the same: nothing changes.
    let before = env.scan().await;
    let demote_ada = json!({"userIds": [ada.user_id], "isAdmin": false});
    let refused = env.client(&ada.auth()).bulk_edit_teams_and_permissions(demote_ada).await;
    assert_eq!((refused.status, refused.error_code()), (409, "user.lastAdmin"), "{:?}", refused.body);
    assert_eq!(env.scan().await, before);
    assert_eq!(env.client(&ada.auth()).user(&ada.user_id).await.body["isAdmin"], true);
}
