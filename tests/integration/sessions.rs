use accounts::model::{Key, User};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tests::answers::Token;
use tests::{Auth, Owner, PASSWORD, TestEnv, organization_name, text};

/// Deactivates directly (also the last admin, which no route does), with the index partition and the
/// organization's counter in step.
async fn deactivate(env: &TestEnv, organization: &str, user_id: &str) {
    let key = Key::user(organization, user_id);
    env.set_attribute(&key.pk, &key.sk, "isDeactivated", AttributeValue::Bool(true)).await;
    let inactive = accounts::model::users_by_name_partition(organization, false);
    env.set_attribute(&key.pk, &key.sk, "usersByName", AttributeValue::S(inactive)).await;
    let counters = Key::organization(organization);
    env.add_to_number(&counters.pk, &counters.sk, "activeUserCount", -1).await;
}

#[tokio::test]
async fn login_returns_the_session_in_the_body_and_a_secure_cookie() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let response = env.client(&Auth::None).login(&owner.email.to_uppercase(), PASSWORD).await;
    assert_eq!(response.status, 200);
    let token = response.body["token"].as_str().unwrap();
    assert_eq!(response.body["user"]["id"], owner.user_id.as_str());
    let cookie = response.header("set-cookie").unwrap();
    assert!(cookie.starts_with(&format!("id={token};")), "{cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    for auth in [Auth::Bearer(token.into()), Auth::Cookie(token.into())] {
        let me = env.client(&auth).current_user().await;
        assert_eq!(me.status, 200, "{auth:?}");
        assert_eq!(me.body["email"], owner.email.as_str());
    }
}

#[tokio::test]
async fn failed_logins_say_so_and_write_only_their_count() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let before = env.scan().await;
    for (body, status, code) in [
        (json!({"email": owner.email, "password": "wrong password"}), 401, "auth.invalidCredentials"),
        (json!({"email": "nobody@example.org", "password": PASSWORD}), 401, "auth.invalidCredentials"),
        (json!({"email": "not an email", "password": PASSWORD}), 400, "user.email.invalid"),
        (json!({"email": owner.email}), 400, "request.body.invalid"),
        (json!({"email": owner.email, "password": 12345678}), 400, "request.body.invalid"),
    ] {
        let response = env.post("/api/auth/login", body.clone(), &Auth::None).await;
        assert_eq!((response.status, response.error_code()), (status, code), "{body}");
        assert!(response.header("set-cookie").is_none());
    }
    // Wrong passwords are counted (docs/data-model.md, LoginThrottle); bad requests are not. Nothing else changes.
    let after = env.scan().await;
    let (counts, rest): (Vec<_>, Vec<_>) = after.into_iter().partition(|i| text(i, "entity") == "LoginThrottle");
    // The wrong password for an existing account is logged in its organization; the unknown address is not.
    let (entries, rest): (Vec<_>, Vec<_>) = rest.into_iter().partition(|i| !before.contains(i));
    assert_eq!(rest, before);
    assert_eq!(entries.iter().map(|i| text(i, "action")).collect::<Vec<_>>(), ["auth.loginFailed"]);
    assert_eq!(text(&entries[0], "PK"), format!("ORG#{}", owner.organization));
    let mut keys: Vec<String> = counts.iter().map(|i| format!("{} {}", text(i, "PK"), text(i, "failures"))).collect();
    keys.sort();
    let mut expected = vec![
        "LOGIN#CLIENT#127.0.0.1 2".to_owned(),
        format!("LOGIN#PAIR#{}#127.0.0.1 1", owner.email),
        "LOGIN#PAIR#nobody@example.org#127.0.0.1 1".to_owned(),
    ];
    expected.sort();
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn a_deactivated_identity_cannot_log_in_and_is_refused_at_once() {
    let mut env = TestEnv::new().await;
    // The only admin ends deactivated, which no route allows.
    env.skip_invariant_check();
    let owner = env.create_organization(&organization_name("Lab")).await;
    let token = env.client(&owner.auth()).token().await.json::<Token>().token;
    deactivate(&env, &owner.organization, &owner.user_id).await;
    let login = env.client(&Auth::None).login(&owner.email, PASSWORD).await;
    assert_eq!((login.status, login.error_code()), (403, "user.deactivated"));
    assert_eq!(login.body["messages"][0]["error"], "Your account has not been activated by an admin yet");
    // The session and the token it already had stop working on the very next request.
    for auth in [owner.auth(), Auth::Token(token)] {
        let me = env.client(&auth).current_user().await;
        assert_eq!((me.status, me.error_code()), (401, "user.deactivated"), "{auth:?}");
    }
}

/// Gives `owner`'s account a second identity, in `other`'s organization (as joining by invite will).
async fn add_identity(env: &TestEnv, owner: &Owner, other: &Owner, created: i64) -> String {
    let user_id = accounts::ids::new_object_id();
    let user = User {
        id: user_id.clone(),
        organization: other.organization.clone(),
        account_id: String::new(),
        email: owner.email.clone(),
        first_name: "Ada".into(),
        last_name: "Second".into(),
        is_admin: false,
        is_organization_owner: false,
        is_dataset_manager: false,
        is_deactivated: false,
        is_email_verified: false,
        teams: Default::default(),
        experiences: Default::default(),
        last_activity: created,
        created,
        session_epoch: 0,
        version: 0,
        may_delete_organization: false,
    };
    let account_id = {
        let items = env.scan().await;
        let guard = items.iter().find(|i| text(i, "PK") == format!("EMAIL#{}", owner.email)).unwrap();
        text(guard, "accountId")
    };
    let user = User { account_id: account_id.clone(), ..user };
    env.direct_dynamodb()
        .put_item()
        .table_name(&env.table)
        .set_item(Some(accounts::store::to_item(&user)))
        .send()
        .await
        .unwrap();
    let account = Key::account(&account_id);
    let identities = AttributeValue::M(
        [
            (owner.organization.clone(), AttributeValue::S(owner.user_id.clone())),
            (other.organization.clone(), AttributeValue::S(user_id.clone())),
        ]
        .into(),
    );
    env.set_attribute(&account.pk, &account.sk, "identities", identities).await;
    let counters = Key::organization(&other.organization);
    env.add_to_number(&counters.pk, &counters.sk, "memberCount", 1).await;
    env.add_to_number(&counters.pk, &counters.sk, "activeUserCount", 1).await;
    user_id
}

#[tokio::test]
async fn login_picks_the_last_used_identity_if_active_else_the_first_active_one() {
    let env = TestEnv::new().await;
    let ada = env.create_organization(&organization_name("First")).await;
    let bob = env.create_organization(&organization_name("Second")).await;
    let second_identity = add_identity(&env, &ada, &bob, accounts::ids::now_millis()).await;
    let login_organization = || async {
        let response = env.client(&Auth::None).login(&ada.email, PASSWORD).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["user"]["organization"].as_str().unwrap().to_owned()
    };
    // Last used is the first organization (where the account was made).
    assert_eq!(login_organization().await, ada.organization);
    let account_id =
        text(env.scan().await.iter().find(|i| text(i, "PK") == format!("EMAIL#{}", ada.email)).unwrap(), "accountId");
    let account = Key::account(&account_id);
    env.set_attribute(&account.pk, &account.sk, "lastUsedOrganization", AttributeValue::S(bob.organization.clone()))
        .await;
    assert_eq!(login_organization().await, bob.organization);
    // The last used identity is deactivated: the first active one is chosen and remembered.
    deactivate(&env, &bob.organization, &second_identity).await;
    assert_eq!(login_organization().await, ada.organization);
    let stored = env.scan().await.into_iter().find(|i| text(i, "PK") == account.pk).unwrap();
    assert_eq!(text(&stored, "lastUsedOrganization"), ada.organization);
}

#[tokio::test]
async fn current_user_needs_a_valid_credential_and_records_activity_once_per_window() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let first = env.get("/api/v16/user", &owner.auth()).await;
    assert_eq!(first.status, 200);
    for field in [
        "id",
        "email",
        "firstName",
        "lastName",
        "isAdmin",
        "isOrganizationOwner",
        "isDatasetManager",
        "isActive",
        "teams",
        "experiences",
        "lastActivity",
        "isAnonymous",
        "isEditable",
        "organization",
        "created",
    ] {
        assert!(first.body.get(field).is_some(), "user JSON lacks {field}");
    }
    // Within the window the read writes nothing: the same activity, the table unchanged.
    let before = env.scan().await;
    let again = env.client(&owner.auth()).current_user().await;
    assert_eq!(again.body["lastActivity"], first.body["lastActivity"]);
    assert_eq!(env.scan().await, before, "a read within the activity window writes nothing");
    // Activity older than the window is recorded anew.
    let stale = first.body["lastActivity"].as_i64().unwrap() - accounts::domain::session::ACTIVITY_RESOLUTION_MILLIS;
    let key = Key::user(&owner.organization, &owner.user_id);
    env.set_attribute(&key.pk, &key.sk, "lastActivity", AttributeValue::N(stale.to_string())).await;
    let second = env.client(&owner.auth()).current_user().await;
    assert!(second.body["lastActivity"].as_i64().unwrap() > stale);
    assert!(second.body["lastActivity"].as_i64() >= first.body["lastActivity"].as_i64());

    let anonymous = env.client(&Auth::None).current_user().await;
    assert_eq!((anonymous.status, anonymous.error_code()), (401, "auth.required"));
    for bad in [
        Auth::Bearer("garbage".into()),
        Auth::Bearer(format!("{}x", owner.session)),
        Auth::Cookie("eyJhbGciOiJub25lIn0.e30.".into()),
        Auth::Token("wkt.bm9ub25l.0123456789abcdef01234567.bWFj".into()),
        Auth::Token("not-a-token".into()),
    ] {
        let response = env.client(&bad).current_user().await;
        assert_eq!((response.status, response.error_code()), (401, "auth.invalid"), "{bad:?}");
    }
}

#[tokio::test]
async fn the_personal_token_is_found_again_stored_only_as_a_hash_and_revocable() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let token = env.client(&owner.auth()).token().await.json::<Token>().token;
    assert_eq!(
        env.get("/api/v16/auth/token", &owner.auth()).await.body["token"],
        token.as_str(),
        "found, not created again"
    );
    assert!(!format!("{:?}", env.scan().await).contains(&token), "the token itself is never stored");
    let me = env.client(&Auth::Token(token.clone())).current_user().await;
    assert_eq!(me.body["id"], owner.user_id.as_str());
    // Revoking it refuses it at once; asking again makes a new one.
    let revoked = env.client(&Auth::Token(token.clone())).revoke_token().await;
    assert_eq!(revoked.status, 200);
    assert_eq!(env.client(&Auth::Token(token.clone())).current_user().await.status, 401);
    let renewed = env.client(&owner.auth()).token().await.json::<Token>().token;
    assert_ne!(renewed, token);
    assert_eq!(env.client(&Auth::Token(renewed)).current_user().await.status, 200);
    // A token for another user id, with a valid shape, is refused.
    let other_user = token.replacen(&owner.user_id, "0123456789abcdef01234567", 1);
    assert_eq!(env.client(&Auth::Token(other_user)).current_user().await.status, 401);
}

#[tokio::test]
async fn concurrent_token_requests_agree_on_one_token() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let auth = owner.auth();
    let requests = (0..8).map(|_| env.client(&auth).token());
    let tokens: Vec<_> =
        futures_util::future::join_all(requests).await.into_iter().map(|r| r.body["token"].clone()).collect();
    assert!(tokens.iter().all(|t| *t == tokens[0] && t.is_string()), "{tokens:?}");
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let other_session = env.login(&owner.email, PASSWORD).await;
    let response = env.client(&Auth::Cookie(owner.session.clone())).logout().await;
    assert_eq!(response.status, 200);
    assert!(response.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 401);
    assert_eq!(env.client(&Auth::Bearer(other_session)).current_user().await.status, 200);
    assert!(!env.scan().await.iter().any(|i| text(i, "SK").contains(&owner.session)), "the session item is gone");
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_token_of_the_account_at_once() {
    let env = TestEnv::new().await;
    let ada = env.create_organization(&organization_name("First")).await;
    let bob = env.create_organization(&organization_name("Second")).await;
    add_identity(&env, &ada, &bob, accounts::ids::now_millis()).await;
    let second_session = env.login(&ada.email, PASSWORD).await;
    let token = env.client(&ada.auth()).token().await.json::<Token>().token;
    let response = env.client(&ada.auth()).logout_everywhere().await;
    assert_eq!(response.status, 200);
    for auth in [ada.auth(), Auth::Bearer(second_session), Auth::Token(token)] {
        assert_eq!(env.client(&auth).current_user().await.status, 401, "{auth:?}");
    }
    // Another account is untouched, and the account can log in again.
    assert_eq!(env.client(&bob.auth()).current_user().await.status, 200);
    let again = env.login(&ada.email, PASSWORD).await;
    assert_eq!(env.client(&Auth::Bearer(again)).current_user().await.status, 200);
}

#[tokio::test]
async fn the_foreign_caller_check_detects_writes_and_accepts_refusals() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    // A refused request that changes nothing passes the check.
    env.assert_foreign_caller_refused("PATCH", "/api/user", Some(json!({})), &stranger.auth()).await;
    // A request that succeeds and writes fails it.
    let login = json!({"email": owner.email, "password": PASSWORD});
    assert!(env.check_foreign_caller_refused("POST", "/api/auth/login", Some(login), &stranger.auth()).await.is_err());
}

#[tokio::test]
async fn every_authenticated_route_refuses_missing_and_invalid_credentials_without_writing() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let before = env.scan().await;
    // Every route of the route table that needs a caller, unversioned and versioned, its path parameters
    // filled with an id of the right form.
    let routes: Vec<(&str, String)> = accounts::operations::ALL
        .iter()
        .filter(|op| op.access.needs_caller())
        .flat_map(|op| {
            let path =
                op.path.split('/').map(|part| if part.starts_with('{') { "5f0a1b2c3d4e5f6a7b8c9d0e" } else { part });
            let path = path.collect::<Vec<_>>().join("/");
            [(op.method, format!("/api{path}")), (op.method, format!("/api/v16{path}"))]
        })
        .collect();
    assert!(routes.len() >= 2 * 40, "the route table has its routes: {}", routes.len());
    for (method, path) in &routes {
        let (method, path) = (*method, path.as_str());
        let body = matches!(method, "POST" | "PATCH" | "PUT").then(|| json!({}));
        for (auth, code) in [
            (Auth::None, "auth.required"),
            (Auth::Bearer("not.a.jwt".into()), "auth.invalid"),
            (Auth::Token(format!("wkt.{}.{}.forged", "U2FtcGxl", owner.user_id)), "auth.invalid"),
        ] {
            let response = env.request(method, path, body.clone(), &auth).await;
            assert_eq!((response.status, response.error_code()), (401, code), "{method} {path} with {auth:?}");
        }
    }
    assert_eq!(env.scan().await, before);
}

/// A personal API token stands for its account in its own organization only: a script holding one cannot
/// mint a session in the account's other organizations.
#[tokio::test]
async fn a_personal_token_cannot_mint_a_session_in_another_organization() {
    let env = TestEnv::new().await;
    let home = env.create_organization(&organization_name("Home")).await;
    let other = env.create_organization(&organization_name("Other")).await;
    env.join_by_invite(&other, &home.email, &home.auth()).await;
    let api_token = Auth::Token(env.client(&home.auth()).token().await.body["token"].as_str().unwrap().into());
    let path = format!("/api/auth/switchOrganization/{}", other.organization);
    let before = env.scan().await;
    let refused = env.post(&path, json!({}), &api_token).await;
    assert_eq!((refused.status, refused.error_code()), (403, "auth.token.otherOrganization"), "{:?}", refused.body);
    assert!(refused.header("set-cookie").is_none());
    assert_eq!(env.scan().await, before, "no session was made");
    // A session of the account switches as before.
    assert_eq!(env.post(&path, json!({}), &home.auth()).await.status, 200);
}
