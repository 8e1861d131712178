//! An organization that requires its admins to sign in with a passkey (or single sign-on): a password
//! session of an admin can only add and use a passkey, API tokens count only when made after a passkey
//! sign-in, members are not affected, and nobody is locked out (turning it on needs the admin's own passkey
//! sign-in, and every admin can still add one).

use serde_json::json;
use tests::authenticator::Authenticator;
use tests::{Auth, PASSWORD, TestEnv};

/// Signs in with the first passkey of `device`: the new session.
async fn passkey_session(env: &TestEnv, device: &mut Authenticator) -> Auth {
    let options = env.client(&Auth::None).passkey_auth_start().await.body;
    let signed_in = env.client(&Auth::None).passkey_auth_finalize(device.get(&options, 0)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    Auth::Bearer(signed_in.body["token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_admins_password_session_can_only_add_and_use_a_passkey_where_the_organization_requires_one() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Grace", "Hopper", &[]).await;
    let password_session = owner.auth();
    let weak = env.client(&password_session).token().await.body["token"].as_str().unwrap().to_owned();
    let weak_token = Auth::Token(weak.clone());
    let require = |auth: &Auth, on: bool| {
        let auth = auth.clone();
        let env = &env;
        let organization = owner.organization.clone();
        async move { env.client(&auth).update_organization(&organization, json!({ "adminsMustUsePasskey": on })).await }
    };

    // Turning it on needs the admin's own passkey sign-in first.
    let refused = require(&password_session, true).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (403, "organization.passkeyRequirement.unproven"),
        "{}",
        refused.body
    );
    let options = env.client(&password_session).passkey_register_start().await.body;
    let mut device = Authenticator::new(&env.app.config.public_uri);
    let key = device.create(&options);
    assert_eq!(env.client(&password_session).passkey_register_finalize("Laptop", key).await.status, 200);
    let strong = passkey_session(&env, &mut device).await;
    let enabled = require(&strong, true).await;
    assert_eq!((enabled.status, &enabled.body["adminsMustUsePasskey"]), (200, &json!(true)), "{}", enabled.body);

    // The password session: itself and its passkeys, nothing else.
    let me = env.client(&password_session).current_user().await;
    assert_eq!((me.status, &me.body["passkeyRequired"]), (200, &json!(true)), "{}", me.body);
    let refused = env.client(&password_session).users("").await;
    assert_eq!((refused.status, refused.error_code()), (403, "auth.passkey.required"), "{}", refused.body);
    assert_eq!(env.client(&password_session).passkeys().await.status, 200);
    assert_eq!(env.client(&password_session).passkey_register_start().await.status, 200);
    assert_eq!(require(&password_session, false).await.error_code(), "auth.passkey.required");
    // A new password login is no better; the token its session made counts for nothing now.
    let again = Auth::Bearer(env.login(&owner.email, PASSWORD).await);
    assert_eq!(env.client(&again).teams("").await.error_code(), "auth.passkey.required");
    assert_eq!(env.client(&weak_token).users("").await.error_code(), "auth.passkey.required");

    // The passkey session works, and its token is a new one that works too.
    assert_eq!(env.client(&strong).users("").await.status, 200);
    assert_eq!(env.client(&strong).current_user().await.body["passkeyRequired"], json!(false));
    let token = env.client(&strong).token().await.body["token"].as_str().unwrap().to_owned();
    assert_ne!(token, weak);
    assert_eq!(env.client(&Auth::Token(token)).users("").await.status, 200);
    assert_eq!(env.client(&weak_token).users("").await.status, 401, "the old token was replaced");

    // Members are not asked for more than their password.
    assert_eq!(env.client(&member.auth()).teams("").await.status, 200);
    assert_eq!(env.client(&member.auth()).current_user().await.body["passkeyRequired"], json!(false));

    // Turned off, passwords are enough again.
    assert_eq!(require(&strong, false).await.status, 200);
    assert_eq!(env.client(&password_session).users("").await.status, 200);
}
