//! Faults: a dedicated DynamoDB Local (its data in a temporary directory, so it survives a restart) stopped
//! in the middle of a test and started again, behind a port the test holds throughout (a [`PortSwitch`]
//! that refuses connections while it is down, so no other test can take the port meanwhile, and the
//! restarted process may listen anywhere). While it is down every request answers 503
//! `service.unavailable` within seconds; nothing is half-written; afterwards everything works again.
//! (SES unreachable or refusing: `invites::when_mail_fails_...` and `invites::when_ses_refuses_...`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tests::answers::SentInvites;

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::services::{ServiceProcess, start_dynamodb_local_persistent};
use serde_json::{Value, json};
use tests::switch::{Mode, PortSwitch, socket_address};
use tests::*;

/// The longest a request may take while DynamoDB is down: the SDK's connect timeout and three attempts
/// with short back-offs, far below the Lambda timeout (10 s).
const DOWN_ANSWER_WITHIN: Duration = Duration::from_secs(8);

/// A DynamoDB Local of this test alone, stopped and started again with the same data, always reached at
/// the same endpoint (its switch's).
struct Dynamo {
    dir: PathBuf,
    switch: PortSwitch,
    process: Option<ServiceProcess>,
}

impl Dynamo {
    async fn start() -> Dynamo {
        let dir = std::env::temp_dir().join(format!(
            "faults-dynamodb-{}-{}",
            std::process::id(),
            accounts::ids::new_object_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut dynamo = Dynamo { dir, switch: PortSwitch::new(Mode::Refuse).await, process: None };
        dynamo.up().await;
        dynamo
    }
    fn endpoint(&self) -> String {
        self.switch.endpoint()
    }
    async fn up(&mut self) {
        let dir = self.dir.clone();
        let process = tokio::task::spawn_blocking(move || start_dynamodb_local_persistent(0, &dir)).await.unwrap();
        let process = process.unwrap_or_else(|e| panic!("DynamoDB Local: {e}"));
        self.switch.set(Mode::Forward(socket_address(&process.endpoint)));
        self.process = Some(process);
    }
    /// Stops the process; its endpoint refuses connections until [`Dynamo::up`].
    async fn down(&mut self) {
        self.switch.set(Mode::Refuse);
        let process = self.process.take().expect("running");
        tokio::task::spawn_blocking(move || drop(process)).await.unwrap();
    }
}

impl Drop for Dynamo {
    fn drop(&mut self) {
        self.process.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Cross-item rules a half-written multi-item change would break: e-mail guards and accounts match both
/// ways, every account's identities exist, member counters match the users, memberships and the users'
/// team maps match both ways.
fn consistency_problems(items: &[Item]) -> Vec<String> {
    let entity = |kind: &'static str| items.iter().filter(move |i| text(i, "entity") == kind);
    let keys: BTreeSet<(String, String)> = items.iter().map(|i| (text(i, "PK"), text(i, "SK"))).collect();
    let mut problems = Vec::new();
    for account in entity("Account") {
        let guard = items.iter().find(|i| text(i, "PK") == format!("EMAIL#{}", text(account, "email")));
        if guard.is_none_or(|g| text(g, "accountId") != text(account, "id")) {
            problems.push(format!("account {} has no e-mail guard", text(account, "id")));
        }
        if let Some(AttributeValue::M(identities)) = account.get("identities") {
            for (organization, user) in identities {
                let user = if let AttributeValue::S(user) = user { user } else { continue };
                if !keys.contains(&(format!("ORG#{organization}"), format!("USER#{user}"))) {
                    problems
                        .push(format!("account {} names a missing user {user} of {organization}", text(account, "id")));
                }
            }
        }
    }
    for guard in entity("EmailGuard") {
        if !keys.contains(&(format!("ACCOUNT#{}", text(guard, "accountId")), "ACCOUNT".to_owned())) {
            problems.push(format!("e-mail guard {} names a missing account", text(guard, "PK")));
        }
    }
    for organization in entity("Organization") {
        let partition = text(organization, "PK");
        let users: Vec<&Item> = entity("User").filter(|u| text(u, "PK") == partition).collect();
        let active =
            users.iter().filter(|u| !matches!(u.get("isDeactivated"), Some(AttributeValue::Bool(true)))).count();
        if text(organization, "memberCount") != users.len().to_string()
            || text(organization, "activeUserCount") != active.to_string()
        {
            problems.push(format!(
                "{partition}: counters {}/{} but {} users, {active} active",
                text(organization, "memberCount"),
                text(organization, "activeUserCount"),
                users.len()
            ));
        }
    }
    let mut from_memberships = BTreeSet::new();
    for membership in entity("Membership") {
        from_memberships.insert((text(membership, "PK"), text(membership, "teamId"), text(membership, "userId")));
    }
    let mut from_users = BTreeSet::new();
    for user in entity("User") {
        if let Some(AttributeValue::M(teams)) = user.get("teams") {
            for team in teams.keys() {
                from_users.insert((text(user, "PK"), team.clone(), text(user, "id")));
            }
        }
    }
    for missing in from_memberships.symmetric_difference(&from_users) {
        problems.push(format!("membership and user's team map disagree: {missing:?}"));
    }
    problems
}

fn assert_consistent(items: &[Item]) {
    let problems = consistency_problems(items);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// One request of each kind that reads or writes: (method, path, body, auth).
fn requests(
    owner: &Owner,
    member: &Member,
    team: &str,
    invite: &str,
) -> Vec<(&'static str, String, Option<Value>, Auth)> {
    let new_email = |who: &str| format!("{who}-{}@example.org", &accounts::ids::new_object_id()[..10]);
    let mut register = signup_form(&new_email("newcomer"), "ignored");
    register["firstName"] = json!("New");
    vec![
        ("POST", "/api/auth/login".into(), Some(json!({"email": member.email, "password": PASSWORD})), Auth::None),
        ("GET", "/api/user".into(), None, member.auth()),
        ("GET", "/api/users".into(), None, owner.auth()),
        ("GET", "/api/auth/token".into(), None, member.auth()),
        ("POST", "/api/auth/register".into(), Some(register), Auth::None),
        (
            "POST",
            "/api/auth/createOrganizationWithAdmin".into(),
            Some(signup_form(&new_email("founder"), &organization_name("Down Lab"))),
            Auth::None,
        ),
        ("POST", "/api/teams".into(), Some(json!({"name": "Created While Down"})), owner.auth()),
        ("PATCH", format!("/api/users/{}", member.user_id), Some(json!({"isAdmin": true, "teams": []})), owner.auth()),
        (
            "PATCH",
            "/api/users/teamsAndPermissions".into(),
            Some(json!({"userIds": [member.user_id], "teams": [{"id": team, "isTeamManager": true}]})),
            owner.auth(),
        ),
        (
            "PATCH",
            "/api/users/experiences".into(),
            Some(json!({"userIds": [member.user_id], "set": {"nuclei": 3}})),
            owner.auth(),
        ),
        ("POST", "/api/auth/sendInvites".into(), Some(json!({"recipients": [new_email("invitee")]})), owner.auth()),
        ("POST", format!("/api/invites/{invite}/resend"), Some(json!({})), owner.auth()),
        ("DELETE", format!("/api/teams/{team}"), None, owner.auth()),
        (
            "PATCH",
            format!("/api/organizations/{}", owner.organization),
            Some(json!({"name": "Renamed While Down"})),
            owner.auth(),
        ),
        ("POST", "/api/auth/logoutEverywhere".into(), None, member.auth()),
    ]
}

#[tokio::test]
async fn dynamodb_down_answers_503_quickly_writes_nothing_and_everything_works_once_it_is_back() {
    let mut dynamo = Dynamo::start().await;
    let env = TestEnv::on_dynamodb(&dynamo.endpoint()).await;
    let owner = env.create_home_organization().await;
    let team = env.team(&owner.auth(), "Tracers").await;
    let member = env.member(&owner, "Grace", "Hopper", &[(&team, false)]).await;
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": ["pending@example.org"]})).await;
    let invite = sent.json::<SentInvites>().recipients[0].invite_id.clone().unwrap();
    let before = env.scan().await;
    assert_consistent(&before);

    dynamo.down().await;
    let calls = requests(&owner, &member, &team, &invite).into_iter().map(|(method, path, body, auth)| {
        let env = &env;
        async move {
            let started = Instant::now();
            let response = env.request(method, &path, body, &auth).await;
            (method, path, response, started.elapsed())
        }
    });
    for (method, path, response, took) in futures_util::future::join_all(calls).await {
        assert_eq!(
            (response.status, response.error_code()),
            (503, "service.unavailable"),
            "{method} {path}: {:?}",
            response.body
        );
        assert!(
            response.body["messages"][0]["error"].as_str().is_some_and(|e| e.contains("retry")),
            "{:?}",
            response.body
        );
        assert!(took < DOWN_ANSWER_WITHIN, "{method} {path} took {took:?} while DynamoDB was down");
    }

    dynamo.up().await;
    assert_eq!(env.scan().await, before, "nothing was written while DynamoDB was down");
    // The same requests work again (each in turn: some depend on the state the earlier ones leave).
    for (method, path, body, auth) in requests(&owner, &member, &team, &invite) {
        let response = env.request(method, &path, body, &auth).await;
        assert_eq!(response.status, 200, "{method} {path} after the restart: {:?}", response.body);
    }
    assert_consistent(&env.scan().await);
    env.check_invariants().await;
}

/// How the changes below may refuse each other, DynamoDB being up: bulk edits of the same users at once
/// (the later one's condition fails), the team deleted while changes put people into it (a single user's
/// change answers 404; a bulk edit, which checks every team it names first, 400).
const REFUSED_BY_EACH_OTHER: &[(u16, &str)] =
    &[(409, "request.conflict"), (404, "team.notFound"), (400, "team.notFound")];

#[tokio::test]
async fn dynamodb_stopped_during_multi_item_changes_leaves_each_change_whole_or_absent() {
    let mut dynamo = Dynamo::start().await;
    let env = TestEnv::on_dynamodb(&dynamo.endpoint()).await;
    let owner = env.create_home_organization().await;
    let (red, blue) = (env.team(&owner.auth(), "Red").await, env.team(&owner.auth(), "Blue").await);
    let mut members = Vec::new();
    for name in ["Ada", "Alan", "Barbara", "Edsger"] {
        members.push(env.member(&owner, name, "Tester", &[(&red, false)]).await);
    }
    let user_ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    // Multi-item changes in flight when DynamoDB stops: registrations (account, guard, user, membership,
    // counters), organizations with their owner, bulk team changes (several transactions), a team deletion
    // (members removed page by page), user changes (user, memberships, counters).
    let mut changes: Vec<(&'static str, String, Option<Value>, Auth)> = Vec::new();
    for (round, member) in members.iter().enumerate().take(3) {
        for name in ["Fran", "Hedy", "Lise"] {
            let email =
                format!("{}-{round}-{}@example.org", name.to_lowercase(), &accounts::ids::new_object_id()[..10]);
            let mut form = signup_form(&email, "ignored");
            form["firstName"] = json!(name);
            changes.push(("POST", "/api/auth/register".into(), Some(form), Auth::None));
        }
        let founder = format!("founder-{round}-{}@example.org", &accounts::ids::new_object_id()[..10]);
        changes.push((
            "POST",
            "/api/auth/createOrganizationWithAdmin".into(),
            Some(signup_form(&founder, &organization_name("Burst"))),
            Auth::None,
        ));
        let teams = json!([{"id": red, "isTeamManager": round % 2 == 0}, {"id": blue, "isTeamManager": false}]);
        changes.push((
            "PATCH",
            "/api/users/teamsAndPermissions".into(),
            Some(json!({"userIds": user_ids, "teams": teams})),
            owner.auth(),
        ));
        changes.push((
            "PATCH",
            format!("/api/users/{}", member.user_id),
            Some(json!({"isActive": round != 1, "teams": [{"id": blue, "isTeamManager": true}]})),
            owner.auth(),
        ));
        changes.push((
            "PATCH",
            "/api/users/experiences".into(),
            Some(json!({"userIds": user_ids, "set": {format!("domain{round}"): round}})),
            owner.auth(),
        ));
    }
    changes.push(("DELETE", format!("/api/teams/{red}"), None, owner.auth()));

    let items_before = env.scan().await.len();
    let env = std::sync::Arc::new(env);
    let in_flight: Vec<_> = changes
        .iter()
        .cloned()
        .map(|(method, path, body, auth)| {
            let env = env.clone();
            tokio::spawn(async move { env.request(method, &path, body, &auth).await })
        })
        .collect();
    // Stop it while the changes run: once some have written (registrations hash passwords first, so
    // others are still to come).
    let watching = Instant::now();
    while env.scan().await.len() < items_before + 12 && watching.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dynamo.down().await;
    let mut failed = Vec::new();
    for (change, handle) in changes.iter().zip(in_flight) {
        let response = handle.await.unwrap();
        let (method, path, ..) = change;
        match response.status {
            503 => {
                assert_eq!(response.error_code(), "service.unavailable", "{method} {path}: {:?}", response.body);
                failed.push(change.clone());
            }
            // Done before the stop, or refused by one of the others.
            200 => {}
            status if REFUSED_BY_EACH_OTHER.contains(&(status, response.error_code())) => {}
            status => panic!("{method} {path}: {status} {:?}", response.body),
        }
    }
    eprintln!("{} of {} changes failed when DynamoDB stopped", failed.len(), changes.len());
    assert!(!failed.is_empty(), "DynamoDB stopped after every change had finished: nothing was tested");

    dynamo.up().await;
    assert_consistent(&env.scan().await);
    // Retrying what failed succeeds, or finds it was done (a sign-up committed before its answer was
    // lost finds its address taken), or is refused by one of the others.
    for (method, path, body, auth) in failed {
        let response = env.request(method, &path, body, &auth).await;
        let answer = (response.status, response.error_code());
        let done_before = path.starts_with("/api/auth/") && answer == (409, "user.email.alreadyInUse");
        assert!(
            answer.0 == 200 || done_before || REFUSED_BY_EACH_OTHER.contains(&answer),
            "{method} {path} retried: {answer:?} {:?}",
            response.body
        );
    }
    let items = env.scan().await;
    assert_consistent(&items);
    // The team deletion finished: no membership of it and no user naming it remain.
    let gone =
        |i: &Item| text(i, "SK") == format!("TEAM#{red}") || text(i, "SK").starts_with(&format!("MEMBER#{red}#"));
    assert!(!items.iter().any(gone), "the deleted team is gone");
    let counts: BTreeMap<String, usize> = items.iter().fold(BTreeMap::new(), |mut counts, i| {
        *counts.entry(text(i, "entity")).or_default() += 1;
        counts
    });
    assert!(counts.get("User").copied().unwrap_or_default() >= 5, "{counts:?}");
    env.check_invariants().await;
}

#[tokio::test]
async fn the_guard_refuses_an_undeclared_call_as_iam_would_and_records_it() {
    use accounts::declared_actions::{Declaration, scope};
    let env = TestEnv::new().await;
    let owner = env.create_organization(&tests::organization_name("Guarded")).await;
    let store = accounts::store::org::OrgStore::new(&env.app.db, &owner.organization);
    // Declared: the call (a GetItem) goes through.
    let allowed = Declaration { operation: "declared_actions_probe_allowed", actions: &["GetItem"] };
    let found = scope(allowed, store.organization()).await.unwrap();
    assert!(found.is_some());
    // Not declared: refused before it reaches DynamoDB, as IAM would refuse it on AWS.
    let refused = Declaration { operation: "declared_actions_probe_refused", actions: &["GetItem"] };
    let read = accounts::store::reads::organization_and_user(&env.app.db, &owner.organization, None);
    let error = scope(refused, read).await.unwrap_err();
    assert_eq!(error, accounts::store::StoreError::Unexpected, "a missing grant is a server fault");
    // And recorded as refused, so a path that swallows the error still fails the least-privilege test
    // (which reads the log the README's test command keeps; the process remembers it either way).
    let recorded = accounts::declared_actions::recorded();
    assert!(recorded.contains(&("declared_actions_probe_refused", "BatchGetItem", true)), "{recorded:?}");
    assert!(recorded.contains(&("declared_actions_probe_allowed", "GetItem", false)), "{recorded:?}");
    if let Ok(log) = std::env::var(accounts::declared_actions::ACTIONS_USED_LOG) {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        assert!(log.lines().any(|l| l == "declared_actions_probe_refused BatchGetItem refused"), "{log}");
        assert!(log.lines().any(|l| l == "declared_actions_probe_allowed GetItem"));
    }
}

/// What DynamoDB answers when a transaction collided with another one on an item (DynamoDB Local
/// serialises writes and practically never does): a cancellation whose reasons are `TransactionConflict`.
const TRANSACTION_CONFLICT: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#;

/// A transaction cancelled by a conflict wrote nothing, so it is sent again (with backoff), and succeeds
/// once the conflict is gone; conflicts that persist through every attempt answer 503 and leave nothing.
#[tokio::test]
async fn transactions_cancelled_by_conflicts_are_sent_again_and_persistent_conflicts_answer_503() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    let conflicts: Arc<AtomicI64> = Arc::default();
    let sent: Arc<AtomicUsize> = Arc::default();
    let (left, count) = (conflicts.clone(), sent.clone());
    let responder: tests::DynamoDbResponder = Arc::new(move |operation, _body| {
        let (left, count) = (left.clone(), count.clone());
        Box::pin(async move {
            if operation != "TransactWriteItems" {
                return None;
            }
            count.fetch_add(1, Ordering::SeqCst);
            (left.fetch_sub(1, Ordering::SeqCst) > 0).then(|| (400, TRANSACTION_CONFLICT.to_owned()))
        })
    });
    let env = TestEnv::with_dynamodb_responder(responder).await;
    let owner = env.create_home_organization().await;

    // Three conflicts, then the fourth attempt commits: one team, one entry.
    conflicts.store(3, Ordering::SeqCst);
    sent.store(0, Ordering::SeqCst);
    let created = env.client(&owner.auth()).create_team("Red").await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(sent.load(Ordering::SeqCst), 4, "sent again after each conflict");
    let teams = env.client(&owner.auth()).teams("").await.body;
    assert_eq!(teams.as_array().unwrap().iter().filter(|t| t["name"] == "Red").count(), 1);
    let entries = env.client(&owner.auth()).audit_log("action=team.created").await.body;
    assert_eq!(entries.as_array().unwrap().len(), 1, "one entry: the conflicts wrote nothing");

    // Conflicts on every attempt: 503 after the last, nothing written.
    conflicts.store(i64::MAX, Ordering::SeqCst);
    sent.store(0, Ordering::SeqCst);
    let before = env.scan().await;
    let refused = env.client(&owner.auth()).create_team("Blue").await;
    assert_eq!((refused.status, refused.error_code()), (503, "service.unavailable"), "{:?}", refused.body);
    assert_eq!(sent.load(Ordering::SeqCst), 8, "every attempt, then no more");
    conflicts.store(0, Ordering::SeqCst);
    assert_eq!(env.scan().await, before);
    // Afterwards everything works again.
    let created = env.client(&owner.auth()).create_team("Blue").await;
    assert_eq!(created.status, 200, "{:?}", created.body);
}

/// What DynamoDB answers when it throttled items of a transaction: a cancellation whose reasons are
/// `ThrottlingError` (retryable, as conflicts are).
const TRANSACTION_THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]","CancellationReasons":[{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity for one or more global secondary indexes"},{"Code":"None"}]}"#;

/// A cancellation mixing a failed condition with a conflict: the condition decides (what was read changed),
/// so the transaction is not sent again as it is.
const CONDITION_AND_CONFLICT: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, TransactionConflict]","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}"#;

/// Throttling cancellations are sent again like conflicts; a cancellation that mixes a failed condition
/// with a conflict is answered from the condition (re-read and planned again by the change's own retry,
/// never sent again as it was), and none of them writes anything.
#[tokio::test]
async fn throttled_transactions_are_sent_again_and_a_failed_condition_among_conflicts_decides() {
    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The answers to give the next transactions, in order; then DynamoDB's own.
    let script: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let sent: Arc<AtomicUsize> = Arc::default();
    let (next, count) = (script.clone(), sent.clone());
    let responder: tests::DynamoDbResponder = Arc::new(move |operation, _body| {
        let (next, count) = (next.clone(), count.clone());
        Box::pin(async move {
            if operation != "TransactWriteItems" {
                return None;
            }
            count.fetch_add(1, Ordering::SeqCst);
            let mut next = next.lock().unwrap();
            (!next.is_empty()).then(|| (400, next.remove(0).to_owned()))
        })
    });
    let env = TestEnv::with_dynamodb_responder(responder).await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Tom", "Throttled", &[]).await;

    // Throttled twice, then it commits: sent three times, written once.
    *script.lock().unwrap() = vec![TRANSACTION_THROTTLED, TRANSACTION_THROTTLED];
    sent.store(0, Ordering::SeqCst);
    let created = env.client(&owner.auth()).create_team("Throttled").await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(sent.load(Ordering::SeqCst), 3, "sent again after each throttling");
    let entries = env.client(&owner.auth()).audit_log("action=team.created").await.body;
    assert_eq!(entries.as_array().unwrap().len(), 1, "one entry: the throttled attempts wrote nothing");

    // A rename whose transaction is cancelled with a failed condition and a conflict: the change reads the
    // user again and plans anew (its own retry), so the next transaction is a new one, which commits.
    *script.lock().unwrap() = vec![CONDITION_AND_CONFLICT];
    sent.store(0, Ordering::SeqCst);
    let renamed = env.patch_user(&member.user_id, json!({"firstName": "Tim"}), &owner.auth()).await;
    assert_eq!((renamed.status, renamed.body["firstName"].as_str()), (200, Some("Tim")), "{:?}", renamed.body);
    assert_eq!(sent.load(Ordering::SeqCst), 2, "the cancelled one, then the re-planned one");
    let changes = env.client(&owner.auth()).audit_log("action=user.changed").await.body;
    assert_eq!(changes.as_array().unwrap().len(), 1, "one rename, one entry");

    // Always a failed condition among conflicts: the change gives up as "kept changing" (409), nothing written.
    *script.lock().unwrap() = vec![CONDITION_AND_CONFLICT; 10];
    let before = env.scan().await;
    let refused = env.patch_user(&member.user_id, json!({"firstName": "Tam"}), &owner.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (409, "request.conflict"), "{:?}", refused.body);
    script.lock().unwrap().clear();
    assert_eq!(env.scan().await, before);
}
