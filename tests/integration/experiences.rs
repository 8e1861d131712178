use serde_json::{Value, json};
use tests::{Auth, Member, Owner, TestEnv, as_function, organization_name, text};

async fn set_experiences(env: &TestEnv, owner: &Owner, member: &Member, experiences: Value) {
    let response = env.patch_user(&member.user_id, json!({ "experiences": experiences }), &owner.auth()).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}

async fn query(env: &TestEnv, owner: &Owner, path: &str) -> Vec<String> {
    let response = env.get(path, &owner.auth()).await;
    assert_eq!(response.status, 200, "{path}: {:?}", response.body);
    response.body.as_array().unwrap().iter().map(|u| u["lastName"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_distribution_query_follows_values_deactivation_and_reactivation() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let a = env.member(&owner, "A", "Alpha", &[]).await;
    let b = env.member(&owner, "B", "Beta", &[]).await;
    let c = env.member(&owner, "C", "Gamma", &[]).await;
    let d = env.member(&owner, "D", "Delta", &[]).await;
    set_experiences(&env, &owner, &a, json!({"nuclei": 10, "mito": 2})).await;
    set_experiences(&env, &owner, &b, json!({"nuclei": 5})).await;
    set_experiences(&env, &owner, &c, json!({"nuclei": 7})).await;
    set_experiences(&env, &owner, &d, json!({"nuclei": 20})).await;
    assert_eq!(env.patch_user(&d.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);

    assert_eq!(query(&env, &owner, "/api/users/byExperience?domain=nuclei&minValue=6").await, ["Alpha", "Gamma"]);
    assert_eq!(
        query(&env, &owner, "/api/users/byExperience?domain=nuclei").await,
        ["Alpha", "Gamma", "Beta"],
        "any level"
    );
    assert_eq!(query(&env, &owner, "/api/users/byExperience?domain=mito").await, ["Alpha"]);
    assert!(query(&env, &owner, "/api/users/byExperience?domain=unknown").await.is_empty());
    // A value changes; a user is deactivated; another comes back with its experiences intact.
    set_experiences(&env, &owner, &b, json!({"nuclei": 8})).await;
    assert_eq!(env.patch_user(&c.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&d.user_id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    assert_eq!(
        query(&env, &owner, "/api/users/byExperience?domain=nuclei&minValue=6").await,
        ["Delta", "Alpha", "Beta"]
    );
    // Removing a domain takes the user out of it.
    set_experiences(&env, &owner, &a, json!({"mito": 2})).await;
    assert_eq!(query(&env, &owner, "/api/users/byExperience?domain=nuclei").await, ["Delta", "Beta"]);
    // The index holds exactly the active users' experiences.
    let items: Vec<String> =
        env.scan().await.iter().filter(|i| text(i, "entity") == "UserExperience").map(|i| text(i, "SK")).collect();
    assert_eq!(items.len(), 3, "{items:?}");

    // Pages of one, in order.
    let mut seen = Vec::new();
    let mut path = "/api/users/byExperience?domain=nuclei&limit=1".to_owned();
    for pages in 1.. {
        assert!(pages <= 10, "the pages end");
        let page = env.get(&path, &owner.auth()).await;
        seen.extend(page.body.as_array().unwrap().iter().map(|u| u["lastName"].as_str().unwrap().to_owned()));
        match page.header("x-next-cursor") {
            Some(cursor) => path = format!("/api/users/byExperience?domain=nuclei&limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Delta", "Beta"]);
    for (path, code) in [
        ("/api/users/byExperience", "request.query.missing"),
        ("/api/users/byExperience?domain=nuclei&minValue=-1", "experience.value.outOfRange"),
        ("/api/users/byExperience?domain=a%23b", "experience.domain.invalid"),
        ("/api/users/byExperience?domain=nuclei&limit=0", "request.limit.invalid"),
        ("/api/users/byExperience?domain=nuclei&cursor=abc", "request.cursor.invalid"),
        ("/api/users/byExperience?domain=nuclei&minValue=x", "request.query.invalid"),
    ] {
        let response = env.get(path, &owner.auth()).await;
        assert_eq!((response.status, response.error_code()), (400, code), "{path}");
    }
    let refused = env.client(&b.auth()).users_by_experience("domain=nuclei").await;
    assert_eq!((refused.status, refused.error_code()), (403, "experience.query.notAllowed"));
}

#[tokio::test]
async fn the_domain_list_grows_on_first_use() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "M", "Member", &[]).await;
    assert_eq!(env.client(&owner.auth()).experience_domains().await.body, json!([]));
    set_experiences(&env, &owner, &member, json!({"nuclei": 1, " axons ": 3})).await;
    let bulk = json!({"userIds": [member.user_id], "set": {"synapses": 4}});
    assert_eq!(env.client(&owner.auth()).bulk_change_experiences(bulk).await.status, 200);
    assert_eq!(
        env.get("/api/v16/tasks/experienceDomains", &member.auth()).await.body,
        json!(["axons", "nuclei", "synapses"])
    );
}

#[tokio::test]
async fn change_experience_sets_and_removes_for_all_selected_users_or_none() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let in_red = env.member(&owner, "In", "Red", &[(&red, false)]).await;
    let outside = env.member(&owner, "Out", "Side", &[]).await;
    set_experiences(&env, &owner, &in_red, json!({"mito": 1, "nuclei": 2})).await;
    set_experiences(&env, &owner, &outside, json!({"mito": 1})).await;
    let body = json!({"userIds": [in_red.user_id, outside.user_id], "set": {"nuclei": 9}, "remove": ["mito"]});
    let changed = env.client(&owner.auth()).bulk_change_experiences(body.clone()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body.as_array().unwrap().len(), 2, "both users answered");
    for user in changed.body.as_array().unwrap() {
        assert_eq!(user["experiences"], json!({"nuclei": 9}));
    }
    assert_eq!(query(&env, &owner, "/api/users/byExperience?domain=nuclei&minValue=9").await.len(), 2);
    assert!(query(&env, &owner, "/api/users/byExperience?domain=mito").await.is_empty());

    // A team manager may change the members of their team only: with one outsider, nobody changes.
    let before = env.scan().await;
    let body = json!({"userIds": [in_red.user_id, outside.user_id], "set": {"nuclei": 1}});
    let refused = env.client(&manager.auth()).bulk_change_experiences(body).await;
    assert!(matches!(refused.status, 403 | 404), "{:?}", refused.body);
    assert_eq!(env.scan().await, before);
    let alone = json!({"userIds": [in_red.user_id], "set": {"nuclei": 1}});
    assert_eq!(env.client(&manager.auth()).bulk_change_experiences(alone).await.status, 200);
    let stored = env.client(&owner.auth()).user(&in_red.user_id).await.body;
    assert_eq!(stored["experiences"]["nuclei"], 1, "the team manager's change was made");

    for (body, code) in [
        (json!({"userIds": [in_red.user_id], "set": {"x": 1}, "remove": ["x"]}), "experience.domain.setAndRemoved"),
        (json!({"userIds": [in_red.user_id], "set": {"x": -5}}), "experience.value.outOfRange"),
        (json!({"userIds": [in_red.user_id]}), "experience.change.empty"),
        (json!({"userIds": [], "set": {"x": 1}}), "request.userIds.empty"),
        (
            json!({"userIds": (0..101).map(|i| format!("{i:024x}")).collect::<Vec<_>>(), "set": {"x": 1}}),
            "request.tooManyUsers",
        ),
    ] {
        let response = env.client(&owner.auth()).bulk_change_experiences(body.clone()).await;
        assert_eq!((response.status, response.error_code()), (400, code), "{body}");
    }
}

#[tokio::test]
async fn a_change_that_fails_in_a_later_transaction_is_undone_completely() {
    use accounts::store::org::{OrgStore, UserWrite, UserWriteExtras};
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    // Active users, so each needs three item writes (the user and two experience items).
    let organization = accounts::model::Key::organization("home");
    env.set_attribute(
        &organization.pk,
        &organization.sk,
        "enableAutoVerify",
        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let (_, user) = env.register("Many", &format!("User{i:02}")).await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    // Activate all with experiences: each user then needs several item writes, so 60 users span
    // transactions.
    // The operation's own steps, under its declaration.
    let bulk_change = &accounts::operations::BULK_CHANGE_EXPERIENCES;
    let store = OrgStore::for_internal_service(&env.app.db, "home");
    let users = as_function(bulk_change, store.users(&ids)).await.unwrap();
    let before_scan = env.scan().await;
    let mut writes: Vec<UserWrite> = users
        .iter()
        .map(|user| {
            let mut after = user.clone();
            after.experiences = [("nuclei".to_owned(), 5), ("mito".to_owned(), 1)].into();
            UserWrite { before: Some(user.clone()), after }
        })
        .collect();
    let (items, _) = store.user_write_items(&writes, &UserWriteExtras::default());
    assert!(items.len() > accounts::store::TRANSACTION_LIMIT, "the change must need more than one transaction");
    // The last user was "changed by someone else" since it was read: its transaction fails.
    let last = writes.last_mut().unwrap();
    last.before.as_mut().unwrap().version += 7;
    last.after.version += 7;
    let result = as_function(bulk_change, store.write_all_or_nothing(&writes, &UserWriteExtras::default())).await;
    assert!(result.is_err(), "the last transaction must fail");
    // Everything the earlier transactions wrote is restored: same users, no experience items.
    let after_scan = env.scan().await;
    assert_eq!(after_scan, before_scan, "a failed change must leave nothing changed, versions included");
    assert!(!after_scan.iter().any(|i| text(i, "entity") == "UserExperience"));
    // Read again: every user is as it was, active and without experiences.
    let reread = as_function(bulk_change, store.users(&ids)).await.unwrap();
    assert_eq!(reread.len(), ids.len());
    assert!(reread.iter().all(|u| u.is_active() && u.experiences.is_empty()), "the users were restored");
    let _ = (owner, Auth::None);
}

#[tokio::test]
async fn another_organizations_admin_gets_nothing_from_the_experience_routes() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "M", "Member", &[]).await;
    set_experiences(&env, &owner, &member, json!({"nuclei": 3})).await;
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    let bulk = json!({"userIds": [member.user_id], "set": {"nuclei": 0}});
    env.assert_foreign_caller_refused("PATCH", "/api/users/experiences", Some(bulk), &stranger.auth()).await;
    assert_eq!(env.client(&stranger.auth()).users_by_experience("domain=nuclei").await.body, json!([]));
    assert_eq!(env.client(&stranger.auth()).experience_domains().await.body, json!([]));
}

#[tokio::test]
async fn a_change_experience_failing_in_a_later_transaction_leaves_users_and_the_domain_list_as_they_were() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::sync::{Arc, Mutex};
    // Armed with (direct client, table, the last user): just before every transaction that writes the
    // last user, someone else renames that user, so its transaction fails after the earlier ones
    // committed, on every attempt.
    type Trigger = (aws_sdk_dynamodb::Client, String, String);
    let trigger: Arc<Mutex<Option<Trigger>>> = Arc::default();
    let counts: Arc<Mutex<(usize, usize)>> = Arc::default(); // (earlier transactions, renames)
    let (hook_trigger, hook_counts) = (trigger.clone(), counts.clone());
    let hook: tests::DynamoDbHook = Arc::new(move |operation, body| {
        let (trigger, counts) = (hook_trigger.clone(), hook_counts.clone());
        Box::pin(async move {
            let armed = trigger.lock().unwrap().clone();
            let Some((client, table, last_user)) = armed else { return };
            if operation != "TransactWriteItems" {
                return;
            }
            if !body.contains(&format!("USER#{last_user}")) {
                counts.lock().unwrap().0 += 1;
                return;
            }
            counts.lock().unwrap().1 += 1;
            client
                .update_item()
                .table_name(table)
                .key("PK", AttributeValue::S("ORG#home".into()))
                .key("SK", AttributeValue::S(format!("USER#{last_user}")))
                .update_expression("SET lastName = :n, nameKey = :k ADD version :one")
                .expression_attribute_values(":n", AttributeValue::S("Renamed".into()))
                .expression_attribute_values(":k", AttributeValue::S(format!("renamed\u{1}many\u{1}{last_user}")))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await
                .unwrap();
        })
    });
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_home_organization().await;
    let organization = accounts::model::Key::organization("home");
    env.set_attribute(&organization.pk, &organization.sk, "enableAutoVerify", AttributeValue::Bool(true)).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let (_, user) = env.register("Many", &format!("User{i:02}")).await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let last = ids.last().unwrap().clone();
    let before = env.scan().await;
    *trigger.lock().unwrap() = Some((env.direct_dynamodb(), env.table.clone(), last.clone()));
    // Active users with three new domains each: four item writes per user, more than one transaction.
    let body = json!({"userIds": ids, "set": {"nuclei": 3, "axons": 2, "synapses": 1}});
    let refused = env.client(&owner.auth()).bulk_change_experiences(body).await;
    trigger.lock().unwrap().take();
    assert_eq!((refused.status, refused.error_code()), (409, "request.conflict"), "{:?}", refused.body);
    let (earlier, renames) = *counts.lock().unwrap();
    assert!(
        renames >= 2 && earlier >= renames,
        "each attempt committed earlier transactions first: {earlier} {renames}"
    );

    // Everything is as before (versions included) except the last user's renames by someone else.
    let mut expected = before;
    let renamed = expected.iter_mut().find(|i| text(i, "SK") == format!("USER#{last}")).unwrap();
    renamed.insert("lastName".into(), AttributeValue::S("Renamed".into()));
    renamed.insert("nameKey".into(), AttributeValue::S(format!("renamed\u{1}many\u{1}{last}")));
    let version: u64 = text(renamed, "version").parse().unwrap();
    renamed.insert("version".into(), AttributeValue::N((version + renames as u64).to_string()));
    let (entries, rest): (Vec<_>, Vec<_>) =
        env.scan().await.into_iter().partition(|i| text(i, "entity") == "AuditEntry" && !expected.contains(i));
    assert_eq!(rest, expected, "only audit entries are new");
    // Each attempt's earlier users were changed and restored, and the log says both.
    let count = |action: &str| entries.iter().filter(|i| text(i, "action") == action).count();
    assert!(count("user.experiencesChanged") > 0);
    assert_eq!(count("user.experiencesChanged"), count("user.restored"));
    assert_eq!(entries.len(), 2 * count("user.restored"));
    assert!(
        !env.scan()
            .await
            .iter()
            .any(|i| text(i, "entity") == "UserExperience" || text(i, "entity") == "ExperienceDomain")
    );
    assert_eq!(env.client(&owner.auth()).experience_domains().await.body, json!([]));
}
