//! Passkeys over the API, with a software authenticator (tests::authenticator): registering, signing in
//! without an address, listing and removing, and each refusal with its clear error: an unknown or removed
//! credential, a challenge answered twice or never issued, an expired ceremony, another origin, a counter
//! that went back (a copied authenticator), another account's ceremony or key.

use serde_json::{Value, json};
use tests::answers::AuditEntry;
use tests::authenticator::Authenticator;
use tests::{Auth, TestEnv, TestResponse, mails_to};

fn authenticator(env: &TestEnv) -> Authenticator {
    Authenticator::new(&env.app.config.public_uri)
}

/// Registers a passkey named `name` for `auth`'s account with `device`, answering its id.
async fn register(env: &TestEnv, auth: &Auth, device: &mut Authenticator, name: &str) -> String {
    let options = env.client(auth).passkey_register_start().await;
    assert_eq!(options.status, 200, "{}", options.body);
    let key = device.create(&options.body);
    let added = env.client(auth).passkey_register_finalize(name, key).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["name"], name);
    added.body["id"].as_str().expect("the new passkey's id").to_owned()
}

/// Signs in with credential `index` of `device`: the answer of auth/finalize.
async fn sign_in(env: &TestEnv, device: &mut Authenticator, index: usize) -> TestResponse {
    let options = env.client(&Auth::None).passkey_auth_start().await;
    assert_eq!(options.status, 200, "{}", options.body);
    let key = device.get(&options.body, index);
    env.client(&Auth::None).passkey_auth_finalize(key).await
}

fn assert_refused(answer: &TestResponse, status: u16, code: &str) {
    assert_eq!((answer.status, answer.error_code()), (status, code), "{}", answer.body);
    let cookies: Vec<&str> = answer.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(cookies.is_empty(), "no session: {cookies:?}");
}

#[tokio::test]
async fn a_registered_passkey_signs_in_without_an_address_and_is_listed() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&tests::organization_name("Keys")).await;
    let empty = env.client(&owner.auth()).passkeys().await;
    assert_eq!((empty.status, &empty.body), (200, &json!([])));
    let options = env.client(&owner.auth()).passkey_register_start().await;
    // WebAuthn's creation options: this site as the relying party, the account as the user, a passkey.
    let host = env.app.config.public_uri.split("://").nth(1).unwrap().split([':', '/']).next().unwrap().to_owned();
    assert_eq!(options.body["rp"]["id"], host.as_str(), "{}", options.body);
    assert_eq!(options.body["user"]["name"], owner.email.as_str());
    assert_eq!(options.body["authenticatorSelection"]["residentKey"], "required");
    let mut device = authenticator(&env);
    let key = device.create(&options.body);
    let added = env.client(&owner.auth()).passkey_register_finalize("  Laptop  ", key).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(
        (added.body["name"].as_str(), added.body["id"].as_str()),
        (Some("Laptop"), Some(device.credentials[0].passkey_id().as_str()))
    );
    let listed = env.client(&owner.auth()).passkeys().await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{}", listed.body);
    assert_eq!(listed.body[0]["name"], "Laptop");
    assert_eq!(listed.body[0]["lastUsed"], Value::Null);
    // The registration is audited and mailed; no session ended.
    let entry = env.client(&owner.auth()).audit_log("action=account.passkeyAdded").await.json::<Vec<AuditEntry>>();
    assert_eq!(entry.len(), 1);
    assert!(
        mails_to(&owner.email).await.iter().any(|m| m.subject.contains("Passkey added") && m.text.contains("Laptop"))
    );
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 200);

    let signed_in = sign_in(&env, &mut device, 0).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.body["user"]["email"], owner.email.as_str());
    let token = signed_in.body["token"].as_str().expect("a session token").to_owned();
    let cookies: Vec<&str> = signed_in.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("id=")), "{cookies:?}");
    let me = env.client(&Auth::Bearer(token)).current_user().await;
    assert_eq!((me.status, &me.body["id"]), (200, &json!(owner.user_id)));
    let login = env.client(&owner.auth()).audit_log("action=auth.login").await.json::<Vec<AuditEntry>>();
    assert!(login.iter().any(|entry| entry.change["passkey"] == "Laptop"), "{login:?}");
    let listed = env.client(&owner.auth()).passkeys().await;
    assert!(listed.body[0]["lastUsed"].is_i64(), "{}", listed.body);
}

#[tokio::test]
async fn a_second_passkey_works_too_and_a_removed_one_stops_at_once() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&tests::organization_name("Keys")).await;
    let mut device = authenticator(&env);
    let first = register(&env, &owner.auth(), &mut device, "Laptop").await;
    let second = register(&env, &owner.auth(), &mut device, "Phone").await;
    assert_ne!(first, second);
    // The second registration excluded the first credential.
    let options = env.client(&owner.auth()).passkey_register_start().await;
    assert_eq!(options.body["excludeCredentials"].as_array().map(Vec::len), Some(2), "{}", options.body);
    assert_eq!(sign_in(&env, &mut device, 1).await.status, 200);
    // The ceremony is started before the removal and answered after it.
    let started = env.client(&Auth::None).passkey_auth_start().await;
    let removed = env.client(&owner.auth()).remove_passkey(&first).await;
    assert_eq!((removed.status, &removed.body), (200, &json!({})));
    let key = device.get(&started.body, 0);
    assert_refused(&env.client(&Auth::None).passkey_auth_finalize(key).await, 401, "auth.passkey.unknown");
    assert_eq!(sign_in(&env, &mut device, 1).await.status, 200, "the other passkey still works");
    let listed = env.client(&owner.auth()).passkeys().await;
    assert_eq!(
        listed.body.as_array().map(|keys| keys.iter().map(|k| k["name"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("Phone")])
    );
    assert!(
        mails_to(&owner.email).await.iter().any(|m| m.subject.contains("Passkey removed") && m.text.contains("Laptop"))
    );
    let renamed = env.client(&owner.auth()).rename_passkey(&second, " Work phone ").await;
    assert_eq!((renamed.status, &renamed.body["name"]), (200, &json!("Work phone")), "{}", renamed.body);
    assert_eq!(env.client(&owner.auth()).passkeys().await.body[0]["name"], "Work phone");
    let refused = env.client(&owner.auth()).rename_passkey(&second, "").await;
    assert_eq!((refused.status, refused.error_code()), (400, "auth.passkey.name.invalid"));
    let refused = env.client(&owner.auth()).rename_passkey(&first, "Laptop").await;
    assert_eq!((refused.status, refused.error_code()), (404, "auth.passkey.notFound"));
    let again = env.client(&owner.auth()).remove_passkey(&first).await;
    assert_eq!((again.status, again.error_code()), (404, "auth.passkey.notFound"));
}

#[tokio::test]
async fn an_answer_is_used_once_and_a_copied_authenticator_is_refused() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&tests::organization_name("Keys")).await;
    let mut device = authenticator(&env);
    register(&env, &owner.auth(), &mut device, "Laptop").await;
    let options = env.client(&Auth::None).passkey_auth_start().await;
    let key = device.get(&options.body, 0);
    assert_eq!(env.client(&Auth::None).passkey_auth_finalize(key.clone()).await.status, 200);
    // The same answer again: its challenge was taken.
    assert_refused(&env.client(&Auth::None).passkey_auth_finalize(key).await, 401, "auth.passkey.ceremonyUnknown");
    // A copy of the authenticator whose counter is behind.
    device.credentials[0].counter -= 1;
    assert_refused(&sign_in(&env, &mut device, 0).await, 401, "auth.passkey.cloned");
}

#[tokio::test]
async fn ceremonies_refuse_what_they_did_not_issue() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&tests::organization_name("Keys")).await;
    let other = env.create_organization(&tests::organization_name("Other")).await;
    let mut device = authenticator(&env);
    register(&env, &owner.auth(), &mut device, "Laptop").await;
    let anonymous = || env.client(&Auth::None);

    // A challenge the server never issued.
    let mut forged = anonymous().passkey_auth_start().await.body;
    forged["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    assert_refused(
        &anonymous().passkey_auth_finalize(device.get(&forged, 0)).await,
        401,
        "auth.passkey.ceremonyUnknown",
    );
    // An expired ceremony.
    let options = anonymous().passkey_auth_start().await.body;
    expire_ceremonies(&env).await;
    assert_refused(
        &anonymous().passkey_auth_finalize(device.get(&options, 0)).await,
        401,
        "auth.passkey.ceremonyUnknown",
    );
    // Another site's origin.
    let mut phishing = Authenticator::new("https://accounts.example.evil");
    std::mem::swap(&mut phishing.credentials, &mut device.credentials);
    let options = anonymous().passkey_auth_start().await.body;
    assert_refused(&anonymous().passkey_auth_finalize(phishing.get(&options, 0)).await, 401, "auth.passkey.invalid");
    std::mem::swap(&mut phishing.credentials, &mut device.credentials);
    // A credential nobody registered.
    let mut stranger = authenticator(&env);
    stranger.create(&env.client(&other.auth()).passkey_register_start().await.body);
    let options = anonymous().passkey_auth_start().await.body;
    assert_refused(&anonymous().passkey_auth_finalize(stranger.get(&options, 0)).await, 401, "auth.passkey.unknown");
    // Not an answer at all.
    let text = anonymous().passkey_auth_finalize(json!("text")).await;
    assert_refused(&text, 400, "request.body.invalid");
    for key in [json!({}), json!({"id": "x", "type": "public-key"})] {
        assert_refused(&anonymous().passkey_auth_finalize(key).await, 400, "auth.passkey.malformed");
    }
    // A registration answering a sign-in's challenge, and one started by another account.
    let sign_in_options = anonymous().passkey_auth_start().await.body;
    let mut creation = env.client(&owner.auth()).passkey_register_start().await.body;
    creation["challenge"] = sign_in_options["challenge"].clone();
    let answer = authenticator(&env).create(&creation);
    let refused = env.client(&owner.auth()).passkey_register_finalize("Laptop", answer).await;
    assert_eq!((refused.status, refused.error_code()), (403, "auth.passkey.otherAccount"), "{}", refused.body);
    let theirs = env.client(&other.auth()).passkey_register_start().await.body;
    let answer = authenticator(&env).create(&theirs);
    let refused = env.client(&owner.auth()).passkey_register_finalize("Laptop", answer).await;
    assert_eq!((refused.status, refused.error_code()), (403, "auth.passkey.otherAccount"), "{}", refused.body);
    // Names.
    for name in ["", "   ", &"x".repeat(65)] {
        let options = env.client(&owner.auth()).passkey_register_start().await.body;
        let answer = authenticator(&env).create(&options);
        let refused = env.client(&owner.auth()).passkey_register_finalize(name, answer).await;
        assert_eq!((refused.status, refused.error_code()), (400, "auth.passkey.name.invalid"), "{}", refused.body);
    }
    // Another account's key is not found, and stays.
    let id = device.credentials[0].passkey_id();
    let refused = env.client(&other.auth()).remove_passkey(&id).await;
    assert_eq!((refused.status, refused.error_code()), (404, "auth.passkey.notFound"));
    let refused = env.client(&other.auth()).rename_passkey(&id, "Mine now").await;
    assert_eq!((refused.status, refused.error_code()), (404, "auth.passkey.notFound"));
    assert_eq!(env.client(&owner.auth()).passkeys().await.body.as_array().map(Vec::len), Some(1));
    // Signed out, the account's routes want a session.
    assert_eq!(anonymous().passkey_register_start().await.status, 401);
    assert_eq!(anonymous().passkeys().await.status, 401);
}

#[tokio::test]
async fn a_passkey_of_a_deactivated_member_does_not_sign_in_and_an_account_deleted_takes_its_passkeys() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let name =
        env.client(&owner.auth()).organization(&owner.organization).await.body["name"].as_str().unwrap().to_owned();
    let member = env.member(&owner, "Ada", "Lovelace", &[]).await;
    let mut device = authenticator(&env);
    register(&env, &member.auth(), &mut device, "Laptop").await;
    let deactivated = env.patch_user(&member.user_id, json!({ "isActive": false }), &owner.auth()).await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    let refused = sign_in(&env, &mut device, 0).await;
    assert_eq!((refused.status, refused.error_code()), (403, "user.deactivated"), "{}", refused.body);
    let deleted = env.client(&owner.auth()).delete_organization(&owner.organization, &name).await;
    assert_eq!((deleted.status, &deleted.body["purgeComplete"]), (200, &json!(true)), "{}", deleted.body);
    let passkeys = env.scan().await.into_iter().filter(|i| tests::text(i, "entity") == "Passkey").count();
    assert_eq!(passkeys, 0, "the member's account went with its only organization, and its passkeys with it");
}

async fn expire_ceremonies(env: &TestEnv) {
    for item in env.scan().await.into_iter().filter(|i| tests::text(i, "entity") == "PasskeyCeremony") {
        let (pk, sk) = (tests::text(&item, "PK"), tests::text(&item, "SK"));
        env.set_attribute(&pk, &sk, "expiresAt", aws_sdk_dynamodb::types::AttributeValue::N("1".into())).await;
    }
}

#[tokio::test]
async fn a_reset_password_keeps_the_passkeys_and_its_notice_lists_them() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&tests::organization_name("Keys")).await;
    let mut device = authenticator(&env);
    register(&env, &owner.auth(), &mut device, "Laptop").await;
    register(&env, &owner.auth(), &mut device, "Security key").await;
    let token = env.seed_password_reset(&owner.email).await;
    let reset = env.client(&Auth::None).reset_password(&token, "a new long password").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let notice =
        mails_to(&owner.email).await.into_iter().rfind(|m| m.subject.contains("Password changed")).expect("the notice");
    assert!(notice.text.contains("\"Laptop\", \"Security key\""), "{}", notice.text);
    assert!(notice.text.contains("remove it on your home page"), "{}", notice.text);
    assert_eq!(sign_in(&env, &mut device, 0).await.status, 200, "the passkey still signs in");
}
