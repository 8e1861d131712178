use serde_json::json;
use tests::{Auth, PASSWORD, TestEnv, mails_to, organization_name, signup_form, text};

#[tokio::test]
async fn creating_an_organization_makes_its_owner_team_and_account_in_one_go() {
    let env = TestEnv::new().await;
    let name = organization_name("Sample Lab");
    let response =
        env.client(&Auth::None).create_organization_with_admin(signup_form(" Ada@Example.ORG ", &name)).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let organization = &response.body["organization"];
    let user = &response.body["user"];
    assert_eq!(organization["id"], name.replace(' ', "_"));
    assert_eq!(organization["name"], name);
    assert_eq!(organization["pricingPlan"], "Custom");
    assert_eq!(organization["ownerName"], "Ada Lovelace");
    assert_eq!(user["email"], "ada@example.org");
    assert_eq!(user["organization"], organization["id"]);
    for flag in ["isAdmin", "isOrganizationOwner", "isActive", "isEditable"] {
        assert_eq!(user[flag], true, "{flag}");
    }
    assert_eq!(user["isDatasetManager"], false);
    assert_eq!(user["teams"].as_array().unwrap().len(), 1);
    assert_eq!(user["teams"][0]["name"], "Default");
    assert_eq!(user["teams"][0]["isTeamManager"], false);

    // Exactly the designed items, no more.
    let kinds: Vec<String> = env.scan().await.iter().map(|item| text(item, "entity")).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["Account", "AuditEntry", "EmailGuard", "Membership", "Organization", "Team", "TeamNameGuard", "User"]
    );
    let entry = env.scan().await.into_iter().find(|item| text(item, "entity") == "AuditEntry").unwrap();
    assert_eq!(text(&entry, "action"), "auth.signUp");
    // The password is stored only as an argon2id hash.
    let account = env.scan().await.into_iter().find(|item| text(item, "entity") == "Account").unwrap();
    assert!(text(&account, "passwordHash").starts_with("$argon2id$"));
    assert!(!format!("{:?}", env.scan().await).contains(PASSWORD));
}

#[tokio::test]
async fn an_explicit_organization_id_is_used_and_must_be_free() {
    let env = TestEnv::new().await;
    let mut form = signup_form("first@example.org", "Lab One");
    form["organization"] = json!("lab-one.v2");
    let created = env.client(&Auth::None).create_organization_with_admin(form.clone()).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["organization"]["id"], "lab-one.v2");

    let before = env.scan().await;
    form["email"] = json!("second@example.org");
    let taken = env.client(&Auth::None).create_organization_with_admin(form).await;
    assert_eq!((taken.status, taken.error_code()), (409, "organization.id.alreadyInUse"));
    // Nothing half-written: not even the second e-mail's guard or account.
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn an_email_can_own_only_one_account() {
    let env = TestEnv::new().await;
    let first = env
        .client(&Auth::None)
        .create_organization_with_admin(signup_form("ada@example.org", &organization_name("A")))
        .await;
    assert_eq!(first.status, 200);
    let before = env.scan().await;
    let again = env
        .client(&Auth::None)
        .create_organization_with_admin(signup_form("ADA@example.org", &organization_name("B")))
        .await;
    assert_eq!((again.status, again.error_code()), (409, "user.email.alreadyInUse"));
    // Nothing of the second organization exists; only the throttle and the mail budget of the notice
    // mailed to the address (hardening.rs: the answer does not say the address has an account) were counted.
    let without_throttles = |items: Vec<tests::Item>| {
        items
            .into_iter()
            .filter(|i| !matches!(text(i, "entity").as_str(), "LoginThrottle" | "MailQuota"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_throttles(env.scan().await),
        without_throttles(before),
        "the second organization must not exist half-made"
    );
}

/// Forced: all ten have found the address free before any of them writes.
#[tokio::test]
async fn concurrent_signups_with_one_email_make_exactly_one_account() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    barrier.arm(10, "race@example.org");
    let attempts = (0..10).map(|i| {
        let env = &env;
        async move {
            let form = signup_form("race@example.org", &format!("Race Lab {i}"));
            tests::until_answered(|| env.client(&Auth::None).create_organization_with_admin(form.clone())).await.status
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(barrier.met(), 10, "the ten sign-ups did not write at the same moment");
    println!("the barrier was met: 10 sign-ups wrote at once");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let accounts = env.scan().await.iter().filter(|item| text(item, "entity") == "Account").count();
    let organizations = env.scan().await.iter().filter(|item| text(item, "entity") == "Organization").count();
    assert_eq!((accounts, organizations), (1, 1));
}

#[tokio::test]
async fn every_bad_signup_gets_a_clear_4xx_and_writes_nothing() {
    let env = TestEnv::new().await;
    let valid = signup_form("valid@example.org", "Valid Lab");
    let with = |field: &str, value: serde_json::Value| {
        let mut form = valid.clone();
        form[field] = value;
        form
    };
    let cases = vec![
        (with("email", json!("not-an-email")), "user.email.invalid"),
        (with("email", json!("")), "user.email.invalid"),
        (with("password", json!({"password1": "short", "password2": "short"})), "user.password.tooShort"),
        (
            with("password", json!({"password1": "long enough 1", "password2": "long enough 2"})),
            "user.password.mismatch",
        ),
        (with("password", json!("a plain string")), "request.body.invalid"),
        (with("firstName", json!("   ")), "user.name.empty"),
        (with("lastName", json!(42)), "request.body.invalid"),
        (with("organizationName", json!("")), "organization.name.empty"),
        (with("organizationName", json!("!!!")), "organization.id.invalid"),
        (with("organization", json!("bad#id")), "organization.id.invalid"),
        (json!({"email": "x@example.org"}), "request.body.invalid"),
        (json!([1, 2, 3]), "request.body.invalid"),
    ];
    for (form, code) in cases {
        let response = env.client(&Auth::None).create_organization_with_admin(form.clone()).await;
        assert_eq!((response.status, response.error_code()), (400, code), "{form}: {:?}", response.body);
        assert!(!response.body["messages"][0]["error"].as_str().unwrap().is_empty());
    }
    for (body, code, status) in [
        (Vec::new(), "request.body.missing", 400),
        (b"{not json".to_vec(), "request.body.invalid", 400),
        (vec![b'"', 0xff, 0xfe, b'"'], "request.body.invalidUtf8", 400),
        (format!("{{\"email\": \"{}\"}}", "x".repeat(300_000)).into_bytes(), "request.body.tooLarge", 413),
    ] {
        let response = env.request_raw("POST", "/api/auth/createOrganizationWithAdmin", body, &Auth::None).await;
        assert_eq!((response.status, response.error_code()), (status, code));
    }
    assert!(env.scan().await.is_empty(), "no bad request may write anything");
}

/// WEBKNOSSOS's sign-up honeypot: bots fill in the `referral` field the pages never show.
#[tokio::test]
async fn a_filled_in_referral_honeypot_is_refused_and_writes_nothing() {
    let env = TestEnv::new().await;
    let before = env.scan().await;
    for path in ["/api/auth/createOrganizationWithAdmin", "/api/auth/register"] {
        let email = format!("bot-{}@example.org", &accounts::ids::new_object_id()[..10]);
        let mut form = signup_form(&email, &organization_name("Bots"));
        form["referral"] = json!("https://spam.example");
        let refused = env.post(path, form, &Auth::None).await;
        assert_eq!((refused.status, refused.error_code()), (400, "auth.signUp.refused"), "{path}");
        assert!(mails_to(&email).await.is_empty());
    }
    assert_eq!(env.scan().await, before, "nothing written");
    // Empty, as the pages and the webknossos client send it (or leave it out), it is no obstacle.
    let mut form = signup_form(
        &format!("person-{}@example.org", &accounts::ids::new_object_id()[..10]),
        &organization_name("People"),
    );
    form["referral"] = json!("");
    assert_eq!(env.client(&Auth::None).create_organization_with_admin(form).await.status, 200);
}
