//! Attacks on credentials: forged, tampered and out-of-date session JWTs, and sessions and personal API
//! tokens used after whatever ends them.

use accounts::model::Key;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tests::answers::Token;
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, TestResponse, organization_name};

fn secret() -> Vec<u8> {
    tests::TEST_SESSION_SECRET.as_bytes().to_vec()
}

/// An EdDSA session JWT under the key a session secret stands for (`accounts::keys::session_key_pair`).
fn sign_eddsa(claims: &Value, session_secret: &[u8]) -> String {
    let pkcs8 = accounts::keys::session_key_pair(session_secret).to_pkcs8v1().unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &EncodingKey::from_ed_der(pkcs8.as_ref())).unwrap()
}

/// The claims of a session JWT, read without checking it.
fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn sign(algorithm: Algorithm, claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(key)).unwrap()
}

/// `claims` with `changes` applied (a null value removes the claim).
fn with(claims: &Value, changes: Value) -> Value {
    let mut claims = claims.clone();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// A refusal: the status, WEBKNOSSOS's error JSON with a message and the stable code, no cookie set.
fn assert_refused(response: &TestResponse, status: u16, codes: &[&str], what: &str) {
    assert_eq!(response.status, status, "{what}: {:?}", response.body);
    assert!(
        codes.contains(&response.error_code()),
        "{what}: code {:?}, expected one of {codes:?}",
        response.error_code()
    );
    assert!(
        response.body["messages"][0]["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {:?}",
        response.body
    );
    assert!(response.header("set-cookie").is_none(), "{what}");
}

fn now() -> i64 {
    accounts::ids::now_seconds()
}

#[tokio::test]
async fn forged_tampered_and_out_of_date_session_tokens_are_refused() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    let claims = claims_of(&owner.session);
    let secret = secret();
    // The claims of the real session, signed again with the real key, are accepted: every refusal below
    // is due to the one thing changed.
    let control = sign_eddsa(&claims, &secret);
    // The public key everyone may know, as an HMAC key (the algorithm confusion attack).
    let public = URL_SAFE_NO_PAD.decode(accounts::keys::session_public_key(&secret)).unwrap();
    assert_eq!(env.client(&Auth::Bearer(control.clone())).current_user().await.status, 200);

    let parts: Vec<&str> = owner.session.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let tampered = |changes: Value| format!("{header}.{}.{signature}", b64(&with(&claims, changes)));
    let with_header = |header: Value| format!("{}.{payload}.{signature}", b64(&header));
    let signed = |changes: Value| sign_eddsa(&with(&claims, changes), &secret);
    let stranger_claims = claims_of(&stranger.session);
    let cases: Vec<(&str, String)> = vec![
        ("alg none, no signature", format!("{}.{payload}.", b64(&json!({"alg": "none", "typ": "JWT"})))),
        ("alg none, real signature", with_header(json!({"alg": "none", "typ": "JWT"}))),
        ("alg None", format!("{}.{payload}.", b64(&json!({"alg": "None"})))),
        ("no alg", with_header(json!({"typ": "JWT"}))),
        ("HS256 with the public key", sign(Algorithm::HS256, &claims, &public)),
        (
            "HS256 with the public key's text",
            sign(Algorithm::HS256, &claims, accounts::keys::session_public_key(&secret).as_bytes()),
        ),
        ("HS256 with the session secret", sign(Algorithm::HS256, &claims, &secret)),
        ("HS384 with the session secret", sign(Algorithm::HS384, &claims, &secret)),
        ("HS512 with the session secret", sign(Algorithm::HS512, &claims, &secret)),
        ("RS256 header, HMAC signature", with_header(json!({"alg": "RS256", "typ": "JWT"}))),
        ("ES256 header, HMAC signature", with_header(json!({"alg": "ES256", "typ": "JWT"}))),
        ("RS256 header re-signed with HS256 over it", {
            let forged = format!("{}.{payload}", b64(&json!({"alg": "RS256", "typ": "JWT"})));
            let mac = sign(Algorithm::HS256, &claims, &secret);
            format!("{forged}.{}", mac.rsplit('.').next().unwrap())
        }),
        ("another key", sign_eddsa(&claims, b"another-secret-that-is-long-enough-for-eddsa")),
        ("empty key", sign(Algorithm::HS256, &claims, b"")),
        ("no signature", format!("{header}.{payload}.")),
        ("truncated signature", format!("{header}.{payload}.{}", &signature[..signature.len() - 4])),
        ("another user id", tampered(json!({"sub": stranger.user_id}))),
        ("another organization", tampered(json!({"org": stranger.organization}))),
        (
            "another user in another organization",
            tampered(
                json!({"sub": stranger_claims["sub"], "org": stranger_claims["org"], "sid": stranger_claims["sid"]}),
            ),
        ),
        ("another session epoch", tampered(json!({"epc": 7}))),
        ("a later expiry", tampered(json!({"exp": now() + 365 * 24 * 3600}))),
        ("expired an hour ago", signed(json!({"exp": now() - 3600}))),
        ("expired a minute ago", signed(json!({"exp": now() - 60}))),
        ("no expiry", signed(json!({"exp": null}))),
        ("not valid before an hour from now", signed(json!({"nbf": now() + 3600}))),
        ("not valid before a minute from now", signed(json!({"nbf": now() + 60}))),
        ("no nbf", signed(json!({"nbf": null}))),
        ("issued an hour from now", signed(json!({"iat": now() + 3600}))),
        ("issued a minute from now", signed(json!({"iat": now() + 60}))),
        ("another issuer", signed(json!({"iss": "https://evil.example"}))),
        ("issuer with a trailing slash", signed(json!({"iss": "http://localhost:3000/"}))),
        ("no issuer", signed(json!({"iss": null}))),
        ("another audience", signed(json!({"aud": "webknossos-datastore"}))),
        ("audience list without ours", signed(json!({"aud": ["other", "another"]}))),
        ("no audience", signed(json!({"aud": null}))),
        ("no subject", signed(json!({"sub": null}))),
        ("a subject that is no user id", signed(json!({"sub": "ORG#x"}))),
        ("an organization with #", signed(json!({"org": "a#b"}))),
        ("claims of the wrong type", signed(json!({"epc": "0"}))),
        ("two parts", format!("{header}.{payload}")),
        ("four parts", format!("{}.x", owner.session)),
        ("payload not JSON", format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(b"not json"))),
        ("payload not base64", format!("{header}.!!!.{signature}")),
    ];
    let before = env.scan().await;
    for (what, token) in &cases {
        assert_ne!(token, &owner.session, "{what}");
        for auth in [Auth::Bearer(token.clone()), Auth::Cookie(token.clone()), Auth::Token(token.clone())] {
            let response = env.client(&auth).current_user().await;
            assert_refused(&response, 401, &["auth.invalid"], &format!("{what} ({auth:?})"));
        }
        let token_route = env.client(&Auth::Bearer(token.clone())).token().await;
        assert_refused(&token_route, 401, &["auth.invalid"], &format!("{what} on /auth/token"));
    }
    assert_eq!(env.scan().await, before, "refused requests write nothing");
    // The real session still works: nothing above ended it.
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 200);
}

/// A second session and the personal token of a fresh member of the home organization, both working.
async fn credentials(env: &TestEnv, member: &tests::Member) -> (Auth, Auth) {
    let session = Auth::Bearer(env.login(&member.email, PASSWORD).await);
    let token = env.client(&member.auth()).token().await.json::<Token>().token;
    let token = Auth::Token(token);
    for auth in [&member.auth(), &session, &token] {
        assert_eq!(env.client(auth).current_user().await.status, 200, "{auth:?}");
    }
    (session, token)
}

#[tokio::test]
async fn logout_ends_the_session_at_once_and_a_personal_token_only_when_revoked() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Lou", "Out", &[]).await;
    let (_, token) = credentials(&env, &member).await;
    assert_eq!(env.client(&member.auth()).logout().await.status, 200);
    assert_refused(&env.client(&member.auth()).current_user().await, 401, &["auth.invalid"], "session after logout");
    assert_refused(&env.client(&member.auth()).token().await, 401, &["auth.invalid"], "session after logout");
    // Logout ends the session it is sent with; the personal token lives on (as in WEBKNOSSOS) until it is
    // revoked, logoutEverywhere, a password change, deactivation or deletion ends it.
    assert_eq!(env.client(&token).logout().await.status, 200);
    assert_eq!(env.client(&token).current_user().await.status, 200);
    assert_eq!(env.client(&token).revoke_token().await.status, 200);
    assert_refused(&env.client(&token).current_user().await, 401, &["auth.invalid"], "token after revocation");
}

#[tokio::test]
async fn logout_everywhere_ends_sessions_and_personal_tokens() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Eve", "Rywhere", &[]).await;
    let (session, token) = credentials(&env, &member).await;
    assert_eq!(env.client(&token).logout_everywhere().await.status, 200);
    for auth in [member.auth(), session, token] {
        assert_refused(
            &env.client(&auth).current_user().await,
            401,
            &["auth.invalid"],
            &format!("{auth:?} after logoutEverywhere"),
        );
    }
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 200, "others are untouched");
}

#[tokio::test]
async fn deactivation_ends_sessions_and_personal_tokens() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Dee", "Activated", &[]).await;
    let (session, token) = credentials(&env, &member).await;
    let deactivated = env.patch_user(&member.user_id, json!({"isActive": false}), &owner.auth()).await;
    assert_eq!(deactivated.status, 200, "{:?}", deactivated.body);
    for auth in [member.auth(), session.clone(), token.clone()] {
        assert_refused(
            &env.client(&auth).current_user().await,
            401,
            &["user.deactivated"],
            &format!("{auth:?} after deactivation"),
        );
    }
    // Refused on every route, not only GET /user.
    assert_refused(&env.client(&token).logout_everywhere().await, 401, &["user.deactivated"], "deactivated token");
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 200);
    // For good: reactivation brings none of them back; a new login works.
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    for auth in [member.auth(), session, token] {
        assert_eq!(env.client(&auth).current_user().await.status, 401, "{auth:?} after reactivation");
    }
    let again = Auth::Bearer(env.login(&member.email, PASSWORD).await);
    assert_eq!(env.client(&again).current_user().await.status, 200);
}

#[tokio::test]
async fn a_team_manager_cannot_bring_back_a_deactivated_admin() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let manager = env.member(&owner, "Tim", "Manager", &[(&red, true)]).await;
    let admin = env.member(&owner, "Ada", "Admin", &[(&red, false)]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&admin.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);
    let before = env.scan().await;
    let refused = env.patch_user(&admin.user_id, json!({"isActive": true}), &manager.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "user.activate.adminRights"), "{:?}", refused.body);
    assert_eq!(env.scan().await, before);
    // A plain member the manager may bring back.
    let plain = env.member(&owner, "Pia", "Plain", &[(&red, false)]).await;
    assert_eq!(env.patch_user(&plain.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&plain.user_id, json!({"isActive": true}), &manager.auth()).await.status, 200);
    assert_eq!(
        env.patch_user(&admin.user_id, json!({"isActive": true}), &owner.auth()).await.status,
        200,
        "an admin may"
    );
}

#[tokio::test]
async fn a_password_change_ends_sessions_and_personal_tokens() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Pat", "Word", &[]).await;
    let (session, token) = credentials(&env, &member).await;
    let change = json!({"password": "a brand new password", "currentPassword": PASSWORD});
    let changed = env.patch_user(&member.user_id, change, &member.auth()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    for auth in [member.auth(), session, token] {
        assert_refused(
            &env.client(&auth).current_user().await,
            401,
            &["auth.invalid"],
            &format!("{auth:?} after a password change"),
        );
    }
    let again = env.login(&member.email, "a brand new password").await;
    assert_eq!(env.client(&Auth::Bearer(again)).current_user().await.status, 200);
}

#[tokio::test]
async fn organization_deletion_ends_sessions_and_personal_tokens() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Del", "Eted", &[]).await;
    let (session, token) = credentials(&env, &member).await;
    let owner_token = Auth::Token(env.client(&owner.auth()).token().await.json::<Token>().token);
    // Requested, not yet purged (the window before the purge): refused with organization.deleted.
    let organization = Key::organization(HOME_ORGANIZATION);
    env.set_attribute(&organization.pk, &organization.sk, "deletionRequestedAt", AttributeValue::N(now().to_string()))
        .await;
    for auth in [member.auth(), session.clone(), token.clone(), owner.auth(), owner_token.clone()] {
        assert_refused(
            &env.client(&auth).current_user().await,
            401,
            &["organization.deleted"],
            &format!("{auth:?} while being deleted"),
        );
    }
    // Withdrawn by hand, then deleted through the route: every credential is refused for good.
    env.direct_dynamodb()
        .update_item()
        .table_name(&env.table)
        .key("PK", AttributeValue::S(organization.pk.clone()))
        .key("SK", AttributeValue::S(organization.sk.clone()))
        .update_expression("REMOVE deletionRequestedAt")
        .send()
        .await
        .unwrap();
    let deleted = env.client(&owner.auth()).delete_organization(HOME_ORGANIZATION, "Home Lab").await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    for auth in [member.auth(), session, token, owner.auth(), owner_token] {
        assert_refused(
            &env.client(&auth).current_user().await,
            401,
            &["auth.invalid", "organization.deleted"],
            &format!("{auth:?} after deletion"),
        );
    }
}
