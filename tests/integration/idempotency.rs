//! `Idempotency-Key` on the creating requests: a retry returns the first response and does nothing more,
//! another request under the same key is refused, concurrent duplicates do the work once.

use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{Auth, Owner, TestEnv, mails_to, organization_name, signup_form, text};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

fn key() -> String {
    format!("key-{}", accounts::ids::new_object_id())
}

/// Sends `body` twice with one key: the second answer is the first one, replayed, and the table is
/// exactly as the first left it. Returns the first answer.
async fn sent_twice(env: &TestEnv, method: &str, path: &str, body: Value, auth: &Auth) -> tests::TestResponse {
    let key = key();
    let first = env.request_idempotent(method, path, body.clone(), auth, &key).await;
    assert_eq!(first.status, 200, "{path}: {:?}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let after_first = env.scan().await;
    let second = env.request_idempotent(method, path, body.clone(), auth, &key).await;
    assert_eq!((second.status, &second.body), (first.status, &first.body), "{path}: the retry gets the first answer");
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.scan().await, after_first, "{path}: the retry changed nothing");
    // The same key with another request is refused, and changes nothing either.
    let mut other = body;
    other["unrelated"] = json!(1);
    let reused = env.request_idempotent(method, path, other, auth, &key).await;
    assert_eq!((reused.status, reused.error_code()), (422, "idempotency.key.reused"), "{path}: {:?}", reused.body);
    assert_eq!(env.scan().await, after_first, "{path}: the refused request changed nothing");
    first
}

async fn lab(env: &TestEnv) -> (Owner, String, String) {
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let member = env.member(&owner, "Mia", "Member", &[]).await;
    (owner, red, member.user_id)
}

#[tokio::test]
async fn each_creating_request_retried_with_its_key_returns_the_first_answer_and_does_nothing_more() {
    let env = TestEnv::new().await;
    // createOrganizationWithAdmin (anonymous)
    let email = address("founder");
    let created = sent_twice(
        &env,
        "POST",
        "/api/auth/createOrganizationWithAdmin",
        signup_form(&email, &organization_name("Once")),
        &Auth::None,
    )
    .await;
    assert_eq!(created.body["user"]["email"], email.as_str());
    // register (anonymous)
    let (owner, red, member) = lab(&env).await;
    let email = address("newcomer");
    sent_twice(&env, "POST", "/api/auth/register", signup_form(&email, "ignored"), &Auth::None).await;
    let accounts =
        env.scan().await.iter().filter(|i| text(i, "entity") == "Account" && text(i, "email") == email).count();
    assert_eq!(accounts, 1);
    // sendInvites: one invite, one mail
    let invited = address("guest");
    let body = json!({"recipients": [invited], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []});
    let answer = sent_twice(&env, "POST", "/api/auth/sendInvites", body, &owner.auth()).await;
    assert_eq!(answer.json::<SentInvites>().recipients[0].status, "invited");
    assert_eq!(mails_to(&invited).await.len(), 1, "mailed once");
    // the bulk edits
    let body = json!({"userIds": [member], "teams": [{"id": red, "isTeamManager": true}], "isDatasetManager": true});
    let edited = sent_twice(&env, "PATCH", "/api/users/teamsAndPermissions", body, &owner.auth()).await;
    assert_eq!(edited.body[0]["isDatasetManager"], true);
    let body = json!({"userIds": [member], "set": {"nuclei": 3}});
    let changed = sent_twice(&env, "PATCH", "/api/users/experiences", body, &owner.auth()).await;
    assert_eq!(changed.body[0]["experiences"]["nuclei"], 3);
    // POST /teams
    let team = sent_twice(&env, "POST", "/api/teams", json!({"name": "Once"}), &owner.auth()).await;
    assert_eq!(team.body["name"], "Once");
    // resend: one more mail, not two
    let invites = env.client(&owner.auth()).invites("state=pending").await;
    let invite_id = invites.body[0]["id"].as_str().unwrap().to_owned();
    sent_twice(&env, "POST", &format!("/api/invites/{invite_id}/resend"), json!({}), &owner.auth()).await;
    assert_eq!(mails_to(&invited).await.len(), 2, "the invite and one resend");
    // joinOrganization
    let joining = env.create_organization(&organization_name("Joining")).await;
    let sent =
        env.client(&owner.auth()).send_invites(json!({"recipients": [joining.email], "autoActivate": true})).await;
    assert_eq!(sent.status, 200);
    let token = tests::invite_token(mails_to(&joining.email).await.last().unwrap());
    let joined =
        sent_twice(&env, "POST", &format!("/api/auth/joinOrganization/{token}"), json!({}), &joining.auth()).await;
    assert_eq!(joined.body["organization"], tests::HOME_ORGANIZATION);
    // the operator's organization creation and credits: credited once
    let operator = env.operator().await;
    let body = json!({"ownerEmail": address("boss"), "organizationName": organization_name("Bossed")});
    sent_twice(&env, "POST", "/api/organizations", body, &operator.auth()).await;
    let credits = format!("/api/organizations/{}/credits", tests::HOME_ORGANIZATION);
    let credited =
        sent_twice(&env, "POST", &credits, json!({"milliCredits": 700, "comment": "once"}), &operator.auth()).await;
    assert_eq!(credited.body["milliCreditBalance"], 700);
    let overview = env.client(&owner.auth()).organization(tests::HOME_ORGANIZATION).await;
    assert_eq!(overview.body["milliCreditBalance"], 700, "credited once");
}

#[tokio::test]
async fn the_same_key_on_another_path_is_refused_as_reused_and_changes_nothing() {
    let env = TestEnv::new().await;
    let operator = env.operator().await;
    let key = key();
    let credits = |organization: &str| format!("/api/organizations/{organization}/credits");
    let body = json!({"milliCredits": 5, "comment": "x"});
    let first =
        env.request_idempotent("POST", &credits(&operator.organization), body.clone(), &operator.auth(), &key).await;
    assert_eq!(first.status, 200);
    let owner = env.create_home_organization().await;
    let before = env.scan().await;
    let other = env.request_idempotent("POST", &credits(&owner.organization), body, &operator.auth(), &key).await;
    assert_eq!((other.status, other.error_code()), (422, "idempotency.key.reused"));
    assert_eq!(env.scan().await, before, "the other organization was not credited");
    let overview = env.client(&owner.auth()).organization(&owner.organization).await;
    assert_eq!(overview.body["milliCreditBalance"], 0);
}

#[tokio::test]
async fn concurrent_duplicate_team_creations_make_one_team() {
    // The first request's write is held back until the duplicates have found the key in progress (each
    // reads the record after its claim failed; at most 10 s), so they wait for it: a condition, not a
    // fixed pause.
    use std::sync::atomic::{AtomicUsize, Ordering};
    let reads = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = reads.clone();
    let hook: tests::DynamoDbHook = std::sync::Arc::new(move |operation: String, body: String| {
        let reads = counted.clone();
        Box::pin(async move {
            if operation == "GetItem" && body.contains("IDEMPOTENCY#") {
                reads.fetch_add(1, Ordering::SeqCst);
            }
            if operation == "TransactWriteItems" && body.contains("Racers") {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while reads.load(Ordering::SeqCst) < 5 && std::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        })
    });
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_home_organization().await;
    let (key, auth) = (key(), owner.auth());
    let attempts = (0..6).map(|_| env.request_idempotent("POST", "/api/teams", json!({"name": "Racers"}), &auth, &key));
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every duplicate waits for the first and gets its answer: {statuses:?}"
    );
    assert!(answers.iter().all(|a| a.body["name"] == "Racers" && a.body["id"] == answers[0].body["id"]));
    assert_eq!(answers.iter().filter(|a| a.header("idempotent-replayed") == Some("true")).count(), 5);
    assert!(reads.load(Ordering::SeqCst) >= 5, "the duplicates found the key in progress while the first was held");
    let teams =
        env.scan().await.into_iter().filter(|i| text(i, "entity") == "Team" && text(i, "name") == "Racers").count();
    assert_eq!(teams, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller_and_failures_release_them() {
    let env = TestEnv::new().await;
    let (owner, _red, member) = lab(&env).await;
    let other_admin = env.member(&owner, "Ada", "Admin", &[]).await;
    assert_eq!(env.patch_user(&other_admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    // The same key from another caller is another key: both requests run.
    let key = key();
    let first = env
        .request_idempotent(
            "PATCH",
            "/api/users/experiences",
            json!({"userIds": [member], "set": {"a": 1}}),
            &owner.auth(),
            &key,
        )
        .await;
    let second = env
        .request_idempotent(
            "PATCH",
            "/api/users/experiences",
            json!({"userIds": [member], "set": {"b": 2}}),
            &other_admin.auth(),
            &key,
        )
        .await;
    assert_eq!((first.status, second.status), (200, 200), "{:?}", second.body);
    assert_eq!(second.header("idempotent-replayed"), None);
    // A refused request did nothing, so its key is free again: a corrected request under it runs.
    let key = self::key();
    let email = address("retry");
    let mut form = signup_form(&email, "ignored");
    form["password"]["password2"] = json!("something else");
    let refused = env.request_idempotent("POST", "/api/auth/register", form, &Auth::None, &key).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let fixed =
        env.request_idempotent("POST", "/api/auth/register", signup_form(&email, "ignored"), &Auth::None, &key).await;
    assert_eq!(fixed.status, 200, "{:?}", fixed.body);
    // Keys must be sensible.
    for bad in ["", "with space", &"x".repeat(256)] {
        let before = env.scan().await;
        let response = env
            .request_idempotent("POST", "/api/auth/register", signup_form(&address("bad"), "ignored"), &Auth::None, bad)
            .await;
        assert_eq!((response.status, response.error_code()), (400, "idempotency.key.invalid"), "{bad:?}");
        assert_eq!(env.scan().await, before);
    }
}

#[tokio::test]
async fn concurrent_duplicates_do_the_work_once_and_all_get_its_answer() {
    let env = TestEnv::new().await;
    env.create_home_organization().await;
    let email = address("eager");
    let key = key();
    let attempts = (0..10).map(|_| {
        env.request_idempotent("POST", "/api/auth/register", signup_form(&email, "ignored"), &Auth::None, &key)
    });
    let responses = futures_util::future::join_all(attempts).await;
    let answers: Vec<(u16, String)> = responses.iter().map(|r| (r.status, r.error_code().to_owned())).collect();
    // Those that came while the first was at work are told it is in progress (never "e-mail in use"),
    // and get its answer when they ask again, as the message says.
    assert!(
        responses.iter().all(|r| r.status == 200 || (r.status, r.error_code()) == (409, "idempotency.inProgress")),
        "{answers:?}"
    );
    let mut bodies = Vec::new();
    for response in responses {
        let mut response = response;
        for _ in 0..100 {
            if response.status != 409 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let form = signup_form(&email, "ignored");
            response = env.request_idempotent("POST", "/api/auth/register", form, &Auth::None, &key).await;
        }
        assert_eq!(response.status, 200, "{:?}", response.body);
        bodies.push(response.body);
    }
    assert!(bodies.iter().all(|body| *body == bodies[0]), "every one gets the one answer");
    let scan = env.scan().await;
    assert_eq!(scan.iter().filter(|i| text(i, "entity") == "Account" && text(i, "email") == email).count(), 1);
    assert_eq!(mails_to(&email).await.len(), 1, "one welcome mail");
}

#[tokio::test]
async fn stored_fingerprints_hold_nothing_to_test_a_password_against() {
    let env = TestEnv::new().await;
    env.create_home_organization().await;
    let (email, key) = (address("fp"), key());
    let form = signup_form(&email, "ignored");
    let first = env.request_idempotent("POST", "/api/auth/register", form.clone(), &Auth::None, &key).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let record =
        env.scan().await.into_iter().find(|i| tests::text(i, "entity") == "IdempotencyRecord").expect("the record");
    let fingerprint = tests::text(&record, "requestHash");
    let body = form.to_string();
    for unkeyed in [accounts::ids::sha256_hex(&body), accounts::ids::sha256_hex(&format!("register\u{0}{body}"))] {
        assert_ne!(fingerprint, unkeyed, "an unkeyed hash of the body would let a table reader test password guesses");
    }
    assert!(!format!("{record:?}").contains(tests::PASSWORD));
    // The fingerprint leaves the password out: a retry that differs only in it is the same request.
    let mut retry = form.clone();
    retry["password"] = json!({"password1": "another password entirely", "password2": "another password entirely"});
    let replayed = env.request_idempotent("POST", "/api/auth/register", retry, &Auth::None, &key).await;
    assert_eq!((replayed.status, replayed.header("idempotent-replayed")), (200, Some("true")));
    let mut other = form;
    other["firstName"] = json!("Someone Else");
    assert_eq!(env.request_idempotent("POST", "/api/auth/register", other, &Auth::None, &key).await.status, 422);
}
