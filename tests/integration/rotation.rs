//! Rotating both secrets as docs/deploy.md says, against a local Secrets Manager (moto) that keeps
//! versions and staging labels as Secrets Manager does. Each phase's functions are a gateway on the same
//! table whose keys were read as a starting function reads them (`accounts::signing::load`), verifying
//! sessions with the public keys `rotate-signing-key public-keys` prints for that phase; the phases run
//! side by side, as old and new execution environments do while functions restart.

use devstack::signing_key;
use serde_json::json;
use tests::answers::Token;
use tests::{Auth, TEST_SESSION_SECRET, TEST_TOKEN_SECRET, TestEnv, invite_token, mails_to, services};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

async fn status_of(env: &TestEnv, session: &str) -> u16 {
    env.client(&Auth::Bearer(session.to_owned())).current_user().await.status
}

async fn token_status(env: &TestEnv, token: &str) -> u16 {
    env.client(&Auth::Token(token.to_owned())).current_user().await.status
}

#[tokio::test]
async fn a_two_step_rotation_keeps_every_session_token_link_and_retry_working_while_phases_overlap() {
    let before = TestEnv::new().await;
    let endpoint = services().secrets_manager_endpoint.clone();
    let (session_id, token_id) = (format!("{}-session", before.table), format!("{}-tokens", before.table));
    let client = signing_key::client(&endpoint).await;
    signing_key::ensure(&client, &session_id, TEST_SESSION_SECRET).await.unwrap();
    signing_key::ensure(&client, &token_id, TEST_TOKEN_SECRET).await.unwrap();
    // What a function reads at start-up is what the first phase runs with.
    let phase_keys = || async {
        let keys = signing_key::key_material(&endpoint, &session_id, &token_id, None).await.unwrap();
        // The public keys are exactly what the deployment would be configured with.
        let setting = signing_key::public_keys_setting(&endpoint, &session_id).await.unwrap();
        let configured = accounts::keys::KeyMaterial::configured(&setting, None, None).unwrap();
        assert_eq!(keys.session_public_keys, configured.session_public_keys);
        keys
    };
    // (The tests' configuration also holds the sealing key, which no rotation touches.)
    assert_eq!(
        phase_keys().await,
        accounts::keys::KeyMaterial { sealing_secrets: None, ..before.app.config.keys.clone() }
    );
    // Both secrets rotate together here; each could as well rotate on its own.
    let stage_both = || async {
        let staged = signing_key::stage(&client, &session_id, &signing_key::random_secret()).await.unwrap();
        signing_key::stage(&client, &token_id, &signing_key::random_secret()).await.unwrap();
        staged
    };
    let promote_both = || async {
        let promoted = signing_key::promote(&client, &session_id).await.unwrap();
        signing_key::promote(&client, &token_id).await.unwrap();
        promoted
    };

    // Before: a session, a personal API token, an invite link and an idempotent request.
    let owner = before.create_home_organization().await;
    let old_session = owner.session.clone();
    let old_token = before.get("/api/auth/token", &owner.auth()).await.json::<Token>().token;
    let invited = address("invited");
    let sent = before.post("/api/auth/sendInvites", json!({"recipients": [invited]}), &owner.auth()).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let link = invite_token(&mails_to(&invited).await.pop().expect("the invite mail"));
    let team = json!({"name": "Rotation"});
    let first = before.request_idempotent("POST", "/api/teams", team.clone(), &owner.auth(), "rotation-1").await;
    assert_eq!(first.status, 200, "{:?}", first.body);

    // Step 1: a new version is staged. Functions started now accept it and still sign with the old one.
    let staged_version = stage_both().await;
    let staged = before.sharing_table_with_keys(phase_keys().await).await;
    assert_eq!(status_of(&staged, &old_session).await, 200);
    let staged_session = staged.login(&owner.email, tests::PASSWORD).await;
    assert_eq!(status_of(&before, &staged_session).await, 200, "the staged phase still signs with the old key");

    // Step 2: the staged version becomes current; the old one is previous.
    assert_eq!(promote_both().await, staged_version);
    let after = before.sharing_table_with_keys(phase_keys().await).await;
    let new_session = after.login(&owner.email, tests::PASSWORD).await;
    // The new key signs; the staged phase (still running somewhere) accepts it. Without the staging step,
    // a function of the first phase would not: the reason for two steps.
    assert_eq!(status_of(&staged, &new_session).await, 200);
    assert_eq!(status_of(&before, &new_session).await, 401);
    for session in [&old_session, &staged_session, &new_session] {
        assert_eq!(status_of(&after, session).await, 200);
    }
    // The API token made before is shown again, unchanged, and still works.
    let shown = after.get("/api/auth/token", &owner.auth()).await.json::<Token>().token;
    assert_eq!(shown, old_token);
    assert_eq!(token_status(&after, &old_token).await, 200);
    // The idempotent request retried after the rotation is the same request: its first answer again.
    let retried = after.request_idempotent("POST", "/api/teams", team.clone(), &owner.auth(), "rotation-1").await;
    assert_eq!((retried.status, &retried.body), (200, &first.body));
    // The invite's reminder carries the very link of the first mail, and the link works.
    let day = 24 * 3600 * 1000;
    let due = accounts::ids::now_millis() + after.app.config.invite_lifetime.as_millis() as i64 - day;
    let report = accounts::domain::daily::maintain(&after.app, due).await.unwrap();
    assert!(report.reminded >= 1, "{report:?}");
    after.deliver_mail().await;
    let reminder = mails_to(&invited).await.pop().expect("the reminder");
    assert!(reminder.subject.starts_with("Reminder"), "{}", reminder.subject);
    assert_eq!(invite_token(&reminder), link);
    let shown = after.get(&format!("/api/organizations/byInvite/{link}"), &Auth::None).await;
    assert_eq!(shown.status, 200, "{:?}", shown.body);

    // A second rotation: the first key is no longer accepted. Its sessions end; the API token still works
    // (it is checked by its hash) but cannot be shown again, so a new one is made.
    stage_both().await;
    promote_both().await;
    let later = before.sharing_table_with_keys(phase_keys().await).await;
    assert_eq!(status_of(&later, &old_session).await, 401);
    assert_eq!(status_of(&later, &new_session).await, 200);
    let renewed = later.get("/api/auth/token", &Auth::Bearer(new_session.clone())).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(renewed, old_token);
    assert_eq!(token_status(&later, &renewed).await, 200);
    assert_eq!(token_status(&later, &old_token).await, 401, "the renewed token replaced it");

    // Nothing left staged: promoting again is refused with the reason, and nothing changes.
    let labels = signing_key::status(&client, &session_id).await.unwrap();
    let refused = signing_key::promote(&client, &session_id).await.unwrap_err();
    assert!(refused.contains("no staged"), "{refused}");
    assert_eq!(signing_key::status(&client, &session_id).await.unwrap(), labels);
}

#[tokio::test]
async fn a_function_cannot_start_without_its_current_key_or_with_a_short_one() {
    let endpoint = services().secrets_manager_endpoint.clone();
    let missing = signing_key::read(&endpoint, "no-such-secret").await.unwrap_err();
    assert!(missing.contains("AWSCURRENT") && missing.contains("no-such-secret"), "{missing}");
    let client = signing_key::client(&endpoint).await;
    let short = format!("short-{}", accounts::ids::new_object_id());
    signing_key::ensure(&client, &short, "too short").await.unwrap();
    let refused = signing_key::read(&endpoint, &short).await.unwrap_err();
    assert!(refused.contains("at least 32 bytes"), "{refused}");
}
