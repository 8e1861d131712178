//! The instance operator role belongs to accounts, never to addresses: granted by the `grant-operator`
//! command or by an operator through `POST /api/operators`, audited and mailed to every operator. The
//! escalations of the third security round (moving onto a listed address, signing up with it and having
//! the mail opened) as regression tests; the browser's part is in `browser.rs`.

use serde_json::json;
use tests::{Auth, PASSWORD, SUPER_USER, TestEnv, mails_to, organization_name, signup_form};

/// The three operator routes, as `auth`: their statuses.
async fn operator_statuses(env: &TestEnv, auth: &Auth, organization: &str) -> [u16; 3] {
    let new_owner = format!("new-{}@example.org", &accounts::ids::new_object_id()[..10]);
    let body = json!({"ownerEmail": new_owner, "organizationName": organization_name("Claimed")});
    let create = env.client(auth).create_organization(body).await;
    let plan = env.client(auth).change_plan(organization, json!({"includedUsers": 100000})).await;
    let credits = env
        .post(
            &format!("/api/organizations/{organization}/credits"),
            json!({"milliCredits": 100000000, "comment": "mine"}),
            auth,
        )
        .await;
    [create.status, plan.status, credits.status]
}

fn listed_address() -> String {
    format!("ops-{}@instance.test", &accounts::ids::new_object_id()[..10])
}

/// The audit actions about the account of `email` recorded in the table.
async fn audited(env: &TestEnv, action: &str) -> usize {
    env.scan()
        .await
        .iter()
        .filter(|item| item.get("entity").and_then(|v| v.as_s().ok()).is_some_and(|e| e == "AuditEntry"))
        .filter(|item| item.get("action").and_then(|v| v.as_s().ok()).is_some_and(|a| a == action))
        .count()
}

/// Runs the `grant-operator` command against the test's table and queue.
fn grant_operator_command(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let services = tests::services();
    std::process::Command::new(tests::functions::binary("debug", "grant-operator"))
        .args(args)
        .args(["--table", &env.table, "--dynamodb-endpoint", &services.dynamodb_endpoint])
        .args(["--sqs-endpoint", &services.sqs_endpoint, "--mail-queue", &env.mail_queue().url])
        .output()
        .expect("grant-operator runs")
}

#[tokio::test]
async fn moving_an_account_onto_a_listed_operator_address_is_refused_and_changes_nothing() {
    let listed = listed_address();
    let env = TestEnv::with_config({
        let listed = listed.clone();
        move |config| config.super_users.push(listed)
    })
    .await;
    let owner = env.create_organization(&organization_name("Escalating")).await;
    let before = env.scan().await;
    let moved =
        env.patch_user(&owner.user_id, json!({"email": listed, "currentPassword": PASSWORD}), &owner.auth()).await;
    assert_eq!((moved.status, moved.error_code()), (403, "user.email.reserved"), "{:?}", moved.body);
    assert_eq!(env.scan().await, before, "the refusal changed nothing");
    assert!(mails_to(&listed).await.is_empty(), "nothing was mailed to the listed address");
    assert_eq!(operator_statuses(&env, &owner.auth(), &owner.organization).await, [403, 403, 403]);
}

#[tokio::test]
async fn a_verified_listed_address_is_no_operator_until_the_command_grants_its_account() {
    let listed = listed_address();
    let env = TestEnv::with_config({
        let listed = listed.clone();
        move |config| config.super_users.push(listed)
    })
    .await;
    let signed_up =
        env.client(&Auth::None).create_organization_with_admin(signup_form(&listed, &organization_name("Ops"))).await;
    assert_eq!(signed_up.status, 200);
    let organization = signed_up.body["organization"]["id"].as_str().unwrap().to_owned();
    let session = Auth::Bearer(env.login(&listed, PASSWORD).await);
    // Unverified, the command refuses (exit 1, the reason); verified, the address alone grants nothing.
    let refused = grant_operator_command(&env, &["--email", &listed]);
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("operator.email.notVerified"));
    env.verify_email(&listed, &session).await;
    assert_eq!(operator_statuses(&env, &session, &organization).await, [403, 403, 403]);
    let unknown = grant_operator_command(&env, &["--email", "nobody-here@instance.test"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("operator.account.notFound"));
    let bad = grant_operator_command(&env, &["--email", &listed, "--revoke", &listed]);
    assert_eq!(bad.status.code(), Some(2), "one of --email and --revoke");

    let granted = grant_operator_command(&env, &["--email", &listed]);
    assert_eq!(granted.status.code(), Some(0), "{}", String::from_utf8_lossy(&granted.stderr));
    assert_eq!(operator_statuses(&env, &session, &organization).await, [200, 200, 200]);
    assert_eq!(audited(&env, "account.operatorGranted").await, 1);
    let told = |mails: Vec<tests::SentMail>| {
        mails.iter().any(|m| m.subject.contains("Instance operators changed") && m.text.contains(&listed))
    };
    assert!(told(mails_to(&listed).await), "the operators (here the new one) were mailed");
    let again = grant_operator_command(&env, &["--email", &listed]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("operator.alreadyGranted"));

    let revoked = grant_operator_command(&env, &["--revoke", &listed]);
    assert_eq!(revoked.status.code(), Some(0), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert_eq!(operator_statuses(&env, &session, &organization).await, [403, 403, 403]);
    assert_eq!(audited(&env, "account.operatorRevoked").await, 1);
}

#[tokio::test]
async fn an_operator_grants_the_role_through_the_api_and_every_operator_is_told() {
    let env = TestEnv::new().await;
    let operator = env.operator().await;
    let candidate = env.create_organization(&organization_name("Candidates")).await;
    let grant = |email: &str| json!({ "email": email });

    // Refusals change nothing: a caller without the role, an unverified address, an unknown one, bad input.
    let before = env.scan().await;
    let refused = env.post("/api/operators", grant(&candidate.email), &candidate.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "superUser.required"));
    let unverified = env.post("/api/operators", grant(&candidate.email), &operator.auth()).await;
    assert_eq!((unverified.status, unverified.error_code()), (409, "operator.email.notVerified"));
    let unknown = env.post("/api/operators", grant("nobody@example.org"), &operator.auth()).await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "operator.account.notFound"));
    let bad = env.post("/api/operators", json!({"email": 7}), &operator.auth()).await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(env.scan().await, before, "the refusals changed nothing");

    env.verify_email(&candidate.email, &candidate.auth()).await;
    let granted = env.post("/api/operators", grant(&candidate.email), &operator.auth()).await;
    assert_eq!(granted.status, 200, "{:?}", granted.body);
    assert_eq!(granted.body["email"], candidate.email.as_str());
    assert_eq!(granted.body["grantedBy"], SUPER_USER);
    assert_eq!(operator_statuses(&env, &candidate.auth(), &candidate.organization).await, [200, 200, 200]);
    let twice = env.post("/api/operators", grant(&candidate.email), &operator.auth()).await;
    assert_eq!((twice.status, twice.error_code()), (409, "operator.alreadyGranted"));
    // Audited in the grantee's organization, and both operators told.
    let log = env.client(&candidate.auth()).audit_log("action=account.operatorGranted").await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    assert_eq!(log.body[0]["action"], "account.operatorGranted", "{:?}", log.body);
    for address in [SUPER_USER, candidate.email.as_str()] {
        let told = mails_to(address).await.into_iter().any(|m| {
            m.subject.contains("Instance operators changed")
                && m.text.contains(&format!("{} was made an instance operator by {SUPER_USER}", candidate.email))
        });
        assert!(told, "{address} was told");
    }
}
