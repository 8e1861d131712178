//! Bad input: every route with a JSON body (every requestBody in openapi.yaml) answers each kind of bad
//! body with a clear 4xx in WEBKNOSSOS's error shape and a stable code, and changes nothing in the table.
//! Oversized bodies, a million-element array, 10,000 levels of nesting, invalid UTF-8, non-JSON, JSON that
//! is not an object, duplicate keys, wrong types and null in every field, invisible and text-direction
//! characters in names. Unknown fields are ignored (as WEBKNOSSOS does); valid Unicode names are
//! accepted and normalised.

use std::collections::{BTreeMap, BTreeSet};
use tests::answers::Token;

use serde_json::{Value, json};
use tests::*;

/// Every operation with a request body: (operationId, method, path, a valid body).
fn body_routes(
    organization: &str,
    user: &str,
    team: &str,
    issuer: &str,
) -> Vec<(&'static str, &'static str, String, Value)> {
    let form = signup_form("someone@example.org", "Another Lab");
    vec![
        ("create_organization_with_admin", "POST", "/api/auth/createOrganizationWithAdmin".into(), form.clone()),
        ("login", "POST", "/api/auth/login".into(), json!({"email": SUPER_USER, "password": PASSWORD})),
        ("register", "POST", "/api/auth/register".into(), form),
        (
            "update_user",
            "PATCH",
            format!("/api/users/{user}"),
            json!({"firstName": "Ada", "lastName": "Byron", "isAdmin": true, "teams": [{"id": team, "isTeamManager": false}], "experiences": {"nuclei": 2}}),
        ),
        (
            "bulk_edit_teams_and_permissions",
            "PATCH",
            "/api/users/teamsAndPermissions".into(),
            json!({"userIds": [user], "teams": [{"id": team, "isTeamManager": true}], "isAdmin": false}),
        ),
        ("create_team", "POST", "/api/teams".into(), json!({"name": "Tracers"})),
        (
            "send_invites",
            "POST",
            "/api/auth/sendInvites".into(),
            json!({"recipients": ["new@example.org"], "autoActivate": true, "isAdmin": false, "teamMemberships": [{"id": team, "isTeamManager": false}]}),
        ),
        (
            "bulk_change_experiences",
            "PATCH",
            "/api/users/experiences".into(),
            json!({"userIds": [user], "set": {"nuclei": 1}, "remove": ["axons"]}),
        ),
        ("grant_operator", "POST", "/api/operators".into(), json!({"email": SUPER_USER})),
        (
            "create_organization",
            "POST",
            "/api/organizations".into(),
            json!({"ownerEmail": "boss@example.org", "organizationName": "Boss Lab", "organization": "boss_lab"}),
        ),
        (
            "update_organization",
            "PATCH",
            format!("/api/organizations/{organization}"),
            json!({"name": "Renamed Lab", "newUserMailingList": "list@example.org"}),
        ),
        (
            "transfer_ownership",
            "POST",
            format!("/api/organizations/{organization}/transferOwnership"),
            json!({"userId": user}),
        ),
        (
            "delete_organization",
            "DELETE",
            format!("/api/organizations/{organization}"),
            json!({"confirmation": "Operator Lab"}),
        ),
        (
            "change_plan",
            "PATCH",
            format!("/api/organizations/{organization}/plan"),
            json!({"pricingPlan": "Team", "paidUntil": 4102444800000i64, "includedUsers": 10}),
        ),
        (
            "add_credits",
            "POST",
            format!("/api/organizations/{organization}/credits"),
            json!({"milliCredits": 1000, "comment": "top-up"}),
        ),
        (
            "put_sso_connection",
            "PUT",
            format!("/api/organizations/{organization}/sso"),
            json!({"issuer": issuer, "clientId": "lab-client", "clientSecret": "s3cret", "joinPolicy": "pending"}),
        ),
        (
            "claim_domain",
            "POST",
            format!("/api/organizations/{organization}/domains"),
            json!({"domain": "uni.example"}),
        ),
        (
            "update_domain",
            "PATCH",
            format!("/api/organizations/{organization}/domains/uni.example"),
            json!({"requireSso": true}),
        ),
        (
            "passkey_register_finalize",
            "POST",
            "/api/auth/webauthn/register/finalize".into(),
            json!({"name": "Laptop", "key": {}}),
        ),
        ("passkey_auth_finalize", "POST", "/api/auth/webauthn/auth/finalize".into(), json!({"key": {}})),
        (
            "rename_passkey",
            "PATCH",
            "/api/auth/webauthn/keys/0123456789abcdef01234567".into(),
            json!({"name": "Phone"}),
        ),
        (
            "start_reset_password",
            "POST",
            "/api/auth/startResetPassword".into(),
            json!({"email": "someone@example.org"}),
        ),
        (
            "reset_password",
            "POST",
            "/api/auth/resetPassword".into(),
            json!({"token": "not-a-token", "password": {"password1": PASSWORD, "password2": PASSWORD}}),
        ),
        (
            "change_password",
            "POST",
            "/api/auth/changePassword".into(),
            json!({"oldPassword": PASSWORD, "password": {"password1": PASSWORD, "password2": PASSWORD}}),
        ),
    ]
}

/// operationId -> the fields openapi.yaml requires, for every operation it gives a request body.
fn documented_body_operations() -> BTreeMap<String, Vec<String>> {
    let document: Value =
        serde_norway::from_str(&std::fs::read_to_string(devstack::repo_root().join("openapi.yaml")).unwrap()).unwrap();
    let mut found = BTreeMap::new();
    for (_, item) in document["paths"].as_object().unwrap() {
        for (_, operation) in item.as_object().unwrap() {
            let Some(body) = operation.get("requestBody") else { continue };
            let mut schema = &body["content"]["application/json"]["schema"];
            if let Some(reference) = schema["$ref"].as_str() {
                schema = &document["components"]["schemas"][reference.rsplit('/').next().unwrap()];
            }
            let required = schema["required"]
                .as_array()
                .map(|r| r.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            found.insert(operation["operationId"].as_str().unwrap().to_owned(), required);
        }
    }
    found
}

/// A wrong-typed stand-in for `value`.
fn wrong_type(value: &Value) -> Value {
    match value {
        Value::String(_) => json!(42),
        Value::Number(_) | Value::Bool(_) => json!("text"),
        Value::Array(_) => json!({"not": "a list"}),
        Value::Object(_) => json!("not an object"),
        Value::Null => json!([]),
    }
}

/// The bad bodies for a route whose valid body is `valid`: (what, bytes, expected status, expected code).
fn bad_bodies(valid: &Value) -> Vec<(String, Vec<u8>, u16, &'static str)> {
    let object = valid.as_object().unwrap();
    let (first_key, first_value) = object.iter().next().unwrap();
    let valid_text = valid.to_string();
    let million = format!("{{\"{first_key}\": [{}\"x\"]}}", "\"x\",".repeat(999_999));
    let many = format!("{{\"{first_key}\": [{}0]}}", "0,".repeat(5_000));
    let mut invalid_utf8 = format!("{{\"{first_key}\": \"ab\"}}").into_bytes();
    invalid_utf8.insert(invalid_utf8.len() - 3, 0xff);
    let mut cases: Vec<(String, Vec<u8>, u16, &'static str)> = vec![
        (
            "an oversized body (70 KiB)".into(),
            format!("{{\"{first_key}\": \"{}\"}}", "a".repeat(70 * 1024)).into_bytes(),
            413,
            "request.body.tooLarge",
        ),
        (format!("{first_key}: an array of a million elements"), million.into_bytes(), 413, "request.body.tooLarge"),
        (format!("{first_key}: an array of 5,000 numbers"), many.into_bytes(), 400, "request.body.invalid"),
        (
            "10,000 levels of nesting".into(),
            format!("{{\"{first_key}\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            400,
            "request.body.tooDeep",
        ),
        ("invalid UTF-8".into(), invalid_utf8, 400, "request.body.invalidUtf8"),
        ("an empty body".into(), Vec::new(), 400, "request.body.missing"),
        ("form data".into(), b"email=ada%40example.org&password=x".to_vec(), 400, "request.body.invalid"),
        ("truncated JSON".into(), valid_text.as_bytes()[..valid_text.len() - 1].to_vec(), 400, "request.body.invalid"),
        ("two JSON values".into(), format!("{valid_text} {valid_text}").into_bytes(), 400, "request.body.invalid"),
        ("an array".into(), format!("[{valid_text}]").into_bytes(), 400, "request.body.invalid"),
        ("a string".into(), b"\"text\"".to_vec(), 400, "request.body.invalid"),
        ("null".into(), b"null".to_vec(), 400, "request.body.invalid"),
        (
            format!("duplicate key {first_key}"),
            format!("{}, \"{first_key}\": {first_value}}}", &valid_text[..valid_text.len() - 1]).into_bytes(),
            400,
            "request.body.duplicateKey",
        ),
    ];
    for (key, value) in object {
        let mut body = valid.clone();
        body[key] = wrong_type(value);
        cases.push((format!("{key} of a wrong type"), body.to_string().into_bytes(), 400, "request.body.invalid"));
    }
    cases
}

fn assert_error_shape(what: &str, response: &TestResponse) {
    let message = &response.body["messages"][0];
    assert!(
        message["error"].as_str().is_some_and(|e| !e.is_empty())
            && message["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: not WEBKNOSSOS's error shape: {:?}",
        response.body
    );
}

/// The operator (a super user) owning an organization with a member and a team: every route with a body
/// reaches its body with this caller.
async fn operator_env() -> (TestEnv, Owner, String, String, String) {
    let env = TestEnv::new().await;
    let owner = env.home_organization_for(SUPER_USER).await;
    env.verify_email(SUPER_USER, &owner.auth()).await;
    env.grant_operator(SUPER_USER).await;
    let team = env.team(&owner.auth(), "Tracers One").await;
    let member = env.member(&owner, "Grace", "Hopper", &[(&team, false)]).await;
    let issuer = tokio::task::spawn_blocking(tests::sso::provider_issuer).await.unwrap();
    (env, owner, member.user_id, team, issuer)
}

#[tokio::test]
async fn every_route_with_a_body_refuses_bad_bodies_with_a_clear_4xx_and_changes_nothing() {
    let (env, owner, member, team, issuer) = operator_env().await;
    let routes = body_routes(&owner.organization, &member, &team, &issuer);
    let covered: BTreeSet<String> = routes.iter().map(|(id, ..)| (*id).to_owned()).collect();
    let documented = documented_body_operations();
    assert_eq!(covered, documented.keys().cloned().collect(), "every operation with a request body has a row here");
    let before = env.scan().await;
    let mut problems = Vec::new();
    let mut cases = 0;
    for (id, method, path, valid) in &routes {
        let mut bodies = bad_bodies(valid);
        // null in each field the document requires.
        for key in &documented[*id] {
            let mut body = valid.clone();
            body[key] = Value::Null;
            bodies.push((format!("{key}: null"), body.to_string().into_bytes(), 400, "request.body.invalid"));
        }
        for (what, bytes, status, code) in bodies {
            let response = env.request_raw(method, path, bytes, &owner.auth()).await;
            assert_error_shape(&format!("{id} with {what}"), &response);
            if (response.status, response.error_code()) != (status, code) {
                problems.push(format!("{id} with {what}: {} {:?}", response.status, response.body));
            }
            cases += 1;
        }
        assert_eq!(env.scan().await, before, "{id}: a refused body changed the table");
    }
    assert!(cases > 200, "{cases} cases");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The control for the test above: each route's valid body, sent as it is, is accepted (so each refusal
/// there is for what was broken in the body, not for something else about the request).
#[tokio::test]
async fn each_routes_valid_body_is_accepted_as_it_is() {
    let (env, owner, member, team, issuer) = operator_env().await;
    let mut routes = body_routes(&owner.organization, &member, &team, &issuer);
    // The deletion last (it ends the organization the others work in).
    routes.sort_by_key(|(id, ..)| *id == "delete_organization");
    let mut auth = owner.auth();
    for (id, method, path, mut valid) in routes {
        match id {
            // Not the address the organization sign-up above it took.
            "register" => valid["email"] = json!("someone-else@example.org"),
            // The organization's name as update_organization's valid body left it.
            "delete_organization" => valid["confirmation"] = json!("Renamed Lab"),
            _ => {}
        }
        let response = env.request(method, &path, Some(valid), &auth).await;
        let expected = match id {
            // The body is well-formed; the made-up token in it is not a link anybody was sent.
            "reset_password" => (400, "auth.resetPassword.tokenInvalid"),
            // Well-formed; the operator it names holds the role already.
            "grant_operator" => (409, "operator.alreadyGranted"),
            // Well-formed; the domain the row before claimed has no DNS record yet.
            "update_domain" => (400, "sso.domain.notVerified"),
            // Well-formed; an empty object is no authenticator's answer (passkeys.rs has real ones).
            "passkey_register_finalize" | "passkey_auth_finalize" => (400, "auth.passkey.malformed"),
            // Well-formed; the bulk edit's body before it took the member's admin rights, and ownership goes
            // only to an admin (ownership.rs hands it over).
            "transfer_ownership" => (400, "organization.transfer.notAdmin"),
            // Well-formed; the caller has no passkey of that id.
            "rename_passkey" => (404, "auth.passkey.notFound"),
            _ => (200, ""),
        };
        assert_eq!((response.status, response.error_code()), expected, "{id}: {:?}", response.body);
        if id == "change_password" {
            // It ended the other sessions, the one presented included: the answer carries the new one.
            auth = Auth::Bearer(response.json::<Token>().token);
        }
    }
}

#[tokio::test]
async fn names_with_invisible_or_text_direction_characters_are_refused_and_unicode_names_normalised() {
    let (env, owner, member, _team, _) = operator_env().await;
    let before = env.scan().await;
    let hidden =
        ["Eve\u{202E}nimda", "Ada\u{200B}", "\u{2066}Ada\u{2069}", "A\u{FEFF}da", "Ad\u{0007}a", "Ada\u{E0041}"];
    for name in hidden {
        let mut form = signup_form("hidden@example.org", "Hidden Lab");
        form["firstName"] = json!(name);
        let cases = [
            ("POST", "/api/auth/createOrganizationWithAdmin".to_owned(), form.clone(), "user.name.invalid"),
            ("POST", "/api/auth/register".to_owned(), form, "user.name.invalid"),
            ("PATCH", format!("/api/users/{member}"), json!({"lastName": name}), "user.name.invalid"),
            (
                "PATCH",
                format!("/api/organizations/{}", owner.organization),
                json!({"name": name}),
                "organization.name.invalid",
            ),
            (
                "POST",
                "/api/organizations".to_owned(),
                json!({"ownerEmail": "boss@example.org", "organizationName": name}),
                "organization.name.invalid",
            ),
            ("POST", "/api/teams".to_owned(), json!({"name": name}), "team.name.invalid"),
        ];
        for (method, path, body, code) in cases {
            let response = env.request(method, &path, Some(body), &owner.auth()).await;
            assert_eq!(
                (response.status, response.error_code()),
                (400, code),
                "{method} {path} with {name:?}: {:?}",
                response.body
            );
        }
    }
    assert_eq!(env.scan().await, before);
    // Valid Unicode: person names transliterated, organization names kept (white space collapsed).
    let mut form = signup_form("zoe@example.org", "  Labor für   Neuro-Anatomie 神经 ");
    form["firstName"] = json!("Zoë 李");
    form["lastName"] = json!("Ñúñez-Østergård");
    let created = env.client(&Auth::None).create_organization_with_admin(form).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(
        (created.body["user"]["firstName"].as_str(), created.body["user"]["lastName"].as_str()),
        (Some("Zoe Li"), Some("Nunez-Ostergard"))
    );
    assert_eq!(created.body["organization"]["name"], "Labor für Neuro-Anatomie 神经");
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let (env, owner, _member, _team, _) = operator_env().await;
    let response = env
        .post("/api/teams", json!({"name": "Extra", "color": "red", "isOrganizationTeam": true}), &owner.auth())
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let teams = env.client(&owner.auth()).teams("").await;
    assert!(teams.body.as_array().unwrap().iter().any(|t| t["name"] == "Extra"));
    // A body of unknown fields only is a missing field where one is required.
    let response = env.post("/api/teams", json!({"title": "x"}), &owner.auth()).await;
    assert_eq!((response.status, response.error_code()), (400, "request.body.invalid"));
}
