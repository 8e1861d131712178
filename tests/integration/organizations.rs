use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use tests::seed::seed_members;
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, invite_token, mails_to, organization_name, signup_form, text};

/// Whether any attribute of `item`, at any depth, is the string `organization` or a map key equal to it.
fn names_organization(item: &tests::Item, organization: &str) -> bool {
    fn names(value: &AttributeValue, organization: &str) -> bool {
        match value {
            AttributeValue::S(text) => text == organization || text.starts_with(&format!("ORG#{organization}")),
            AttributeValue::M(map) => map.iter().any(|(key, value)| key == organization || names(value, organization)),
            AttributeValue::L(list) => list.iter().any(|value| names(value, organization)),
            AttributeValue::Ss(set) => set.iter().any(|text| text == organization),
            _ => false,
        }
    }
    // The tombstone that keeps the id from being taken again names it on purpose (and nothing else).
    if text(item, "entity") == "OrganizationTombstone" {
        assert_eq!(text(item, "PK"), format!("ORGID#{}", text(item, "id")));
        return false;
    }
    item.values().any(|value| names(value, organization))
}

/// Invites `email` into `host`'s organization and lets the account with the session `guest` join it.
#[tokio::test]
async fn the_overview_shows_plan_storage_members_and_credits_to_whom_it_should() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    env.register("Dora", "Deactivated").await;
    let path = format!("/api/organizations/{HOME_ORGANIZATION}");
    let seen = env.get(&path, &owner.auth()).await.body;
    assert_eq!(seen["name"], "Home Lab");
    assert_eq!(seen["ownerName"], "Ada Lovelace");
    assert_eq!((seen["memberCount"].as_u64(), seen["activeUserCount"].as_u64()), (Some(3), Some(2)));
    assert_eq!((seen["pricingPlan"].as_str(), seen["includedUsers"].as_u64()), (Some("Custom"), None));
    assert_eq!((seen["usedStorageBytes"].as_u64(), seen["milliCreditBalance"].as_i64()), (Some(0), Some(0)));
    assert_eq!(
        (seen["newUserMailingList"].as_str(), seen["aiJobNotifications"].as_str()),
        (Some(""), Some("jobOwner"))
    );
    let by_member = env.get(&format!("/api/v16/organizations/{HOME_ORGANIZATION}"), &member.auth()).await.body;
    assert_eq!(by_member["milliCreditBalance"], 0, "credits for members");
    assert!(
        by_member.get("newUserMailingList").is_none() && by_member.get("planSubscriptionEmail").is_none(),
        "settings for admins only"
    );
    // Members get WEBKNOSSOS's public fields, exactly.
    let mut fields: Vec<&str> = by_member.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "created",
            "enableAutoVerify",
            "id",
            "includedStorageBytes",
            "includedUsers",
            "milliCreditBalance",
            "name",
            "ownerName",
            "paidUntil",
            "pricingPlan",
            "usedStorageBytes"
        ]
    );
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    env.assert_foreign_caller_refused("GET", &path, None, &stranger.auth()).await;
    env.assert_foreign_caller_refused("PATCH", &path, Some(json!({"name": "Taken over"})), &stranger.auth()).await;
    env.assert_foreign_caller_refused("DELETE", &path, Some(json!({"confirmation": "Home Lab"})), &stranger.auth())
        .await;
}

#[tokio::test]
async fn admins_change_the_name_and_notification_settings() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let path = format!("/api/organizations/{HOME_ORGANIZATION}");
    let patch = json!({"name": "  Renamed   Lab ", "newUserMailingList": "Signups@Example.org", "planSubscriptionEmail": "billing@example.org", "aiJobNotifications": "jobOwnerAndAdmins"});
    let changed = env.request("PATCH", &path, Some(patch), &owner.auth()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["name"], "Renamed Lab");
    assert_eq!(changed.body["newUserMailingList"], "signups@example.org");
    assert_eq!(changed.body["planSubscriptionEmail"], "billing@example.org");
    assert_eq!(changed.body["aiJobNotifications"], "jobOwnerAndAdmins");
    assert_eq!(
        env.request("PATCH", &path, Some(json!({"newUserMailingList": ""})), &owner.auth()).await.body["newUserMailingList"],
        ""
    );
    // Several new-user recipients, each checked (and, once its mailbox confirmed, told); auto-verification
    // switched by admins.
    let unique = &accounts::ids::new_object_id()[..8];
    let (a, b) = (format!("a-{unique}@example.org"), format!("b-{unique}@example.org"));
    let list = env
        .request(
            "PATCH",
            &path,
            Some(json!({"newUserMailingList": format!("{}, {b}", a.to_uppercase()), "enableAutoVerify": true})),
            &owner.auth(),
        )
        .await;
    assert_eq!(
        (list.body["newUserMailingList"].as_str(), list.body["enableAutoVerify"].as_bool()),
        (Some(format!("{a}, {b}").as_str()), Some(true))
    );
    for address in [&a, &b] {
        env.confirm_notifications(&tests::confirmation_token(address).await.expect("the confirmation link")).await;
    }
    let (email, registered) = env.register("Auto", "Verified").await;
    assert_eq!(registered["isActive"], true, "auto-verified on sign-up");
    for address in [&a, &b] {
        assert!(tests::mails_to(address).await.iter().any(|m| m.text.contains(&email)), "{address} was told");
    }
    let before = env.scan().await;
    for (patch, code) in [
        (json!({"name": " "}), "organization.name.empty"),
        (json!({"newUserMailingList": "nope"}), "user.email.invalid"),
        (json!({"newUserMailingList": "ok@example.org, nope"}), "user.email.invalid"),
        (json!({"enableAutoVerify": "yes"}), "request.body.invalid"),
        (json!({"aiJobNotifications": "everyone"}), "organization.aiJobNotifications.invalid"),
        (json!({"name": 5}), "request.body.invalid"),
    ] {
        let response = env.request("PATCH", &path, Some(patch.clone()), &owner.auth()).await;
        assert_eq!((response.status, response.error_code()), (400, code), "{patch}");
    }
    let refused = env.request("PATCH", &path, Some(json!({"name": "Mine"})), &member.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "organization.notAllowed"));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn a_person_in_two_organizations_switches_and_sees_only_each_ones_data() {
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let colleague = env.member(&home, "Col", "League", &[]).await;
    let other = env.create_organization(&organization_name("Other Lab")).await;
    let other_member_email = format!("peer-{}", &other.email);
    // Ada (home's owner) joins the other organization with the same login.
    env.join_by_invite(&other, &home.email, &home.auth()).await;
    let mine = env.get("/api/organizations?compact", &home.auth()).await.body;
    let mut ids: Vec<&str> = mine.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![HOME_ORGANIZATION, other.organization.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(mine[0].get("pricingPlan").is_none(), "compact");

    let switched =
        env.post(&format!("/api/auth/switchOrganization/{}", other.organization), json!({}), &home.auth()).await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);
    assert!(switched.header("set-cookie").unwrap().contains("HttpOnly"));
    let there = Auth::Bearer(switched.body["token"].as_str().unwrap().to_owned());
    let me = env.get("/api/user", &there).await.body;
    assert_eq!(
        (me["organization"].as_str(), me["isAdmin"].as_bool()),
        (Some(other.organization.as_str()), Some(false))
    );
    let users: Vec<String> = env
        .get("/api/users", &there)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, vec![home.email.clone()], "a plain member sees only themselves there");
    assert_eq!(
        env.get(&format!("/api/users/{}", colleague.user_id), &there).await.status,
        404,
        "home's users are invisible there"
    );
    assert_eq!(env.get(&format!("/api/organizations/{HOME_ORGANIZATION}"), &there).await.status, 404);
    // The home session still works at home; login now picks the organization used last.
    assert_eq!(env.get("/api/user", &home.auth()).await.body["organization"], HOME_ORGANIZATION);
    let login = env.post("/api/auth/login", json!({"email": home.email, "password": PASSWORD}), &Auth::None).await;
    assert_eq!(login.body["user"]["organization"], other.organization.as_str());
    // Switching to an organization you are not in, or are deactivated in, is refused.
    let stranger_org = env.create_organization(&organization_name("Stranger Lab")).await;
    assert_eq!(
        env.post(&format!("/api/auth/switchOrganization/{}", stranger_org.organization), json!({}), &home.auth())
            .await
            .status,
        404
    );
    let my_id_there = me["id"].as_str().unwrap().to_owned();
    assert_eq!(env.patch_user(&my_id_there, json!({"isActive": false}), &other.auth()).await.status, 200);
    let deactivated =
        env.post(&format!("/api/auth/switchOrganization/{}", other.organization), json!({}), &home.auth()).await;
    assert_eq!((deactivated.status, deactivated.error_code()), (403, "user.deactivated"));
    let _ = other_member_email;
}

#[tokio::test]
async fn instance_operators_create_organizations_change_plans_and_add_credits() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_organization(&organization_name("Customer")).await;
    // An account becomes owner at once only with a proven address (see security.rs for the other case).
    env.verify_email(&owner.email, &owner.auth()).await;

    let created = env
        .post(
            "/api/organizations",
            json!({"ownerEmail": owner.email, "organizationName": "Second Lab", "organization": "second"}),
            &operator,
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["owner"]["isOrganizationOwner"], true);
    let switched = env.post("/api/auth/switchOrganization/second", json!({}), &owner.auth()).await;
    assert_eq!(switched.status, 200, "the owner uses the same login there");
    // An e-mail without an account: the organization waits for its owner, who is invited.
    let newcomer = format!("new-owner-{}", &owner.email);
    let awaiting = env
        .post(
            "/api/organizations",
            json!({"ownerEmail": newcomer, "organizationName": "Fresh Lab", "organization": "fresh"}),
            &operator,
        )
        .await;
    assert_eq!(awaiting.status, 200, "{:?}", awaiting.body);
    assert!(awaiting.body["owner"].is_null());
    assert_eq!(
        (
            awaiting.body["ownerInvite"]["email"].as_str(),
            awaiting.body["ownerInvite"]["isAdmin"].as_bool(),
            awaiting.body["mailed"].as_bool()
        ),
        (Some(newcomer.as_str()), Some(true), Some(true))
    );
    let token = invite_token(&mails_to(&newcomer).await.pop().unwrap());
    let mut form = signup_form(&newcomer, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.post("/api/auth/register", form, &Auth::None).await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    assert_eq!(
        (
            registered.body["isOrganizationOwner"].as_bool(),
            registered.body["isAdmin"].as_bool(),
            registered.body["isActive"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    let new_owner = Auth::Bearer(env.login(&newcomer, PASSWORD).await);
    let fresh = env.get("/api/organizations/fresh", &new_owner).await.body;
    assert_eq!(
        (fresh["ownerName"].as_str(), fresh["memberCount"].as_u64()),
        (Some("Ada Lovelace"), Some(1)),
        "{fresh}"
    );
    let stored = env.scan().await.into_iter().find(|i| text(i, "PK") == "ORG#fresh" && text(i, "SK") == "ORG").unwrap();
    assert_eq!(text(&stored, "ownerUserId"), registered.body["id"].as_str().unwrap());
    assert_eq!(
        env.post(
            "/api/organizations",
            json!({"ownerEmail": "someone-else@example.org", "organizationName": "Fresh", "organization": "fresh"}),
            &operator
        )
        .await
        .error_code(),
        "organization.id.alreadyInUse"
    );
    let taken = env
        .post(
            "/api/organizations",
            json!({"ownerEmail": owner.email, "organizationName": "Again", "organization": "second"}),
            &operator,
        )
        .await;
    assert_eq!(taken.error_code(), "organization.id.alreadyInUse");

    let plan = json!({"pricingPlan": "Team", "includedUsers": 10, "includedStorageBytes": 1_000_000, "paidUntil": 1_900_000_000_000_i64});
    let planned =
        env.request("PATCH", &format!("/api/organizations/{}/plan", owner.organization), Some(plan), &operator).await;
    assert_eq!(planned.status, 200, "{:?}", planned.body);
    let overview = env.get(&format!("/api/organizations/{}", owner.organization), &owner.auth()).await.body;
    assert_eq!((overview["pricingPlan"].as_str(), overview["includedUsers"].as_u64()), (Some("Team"), Some(10)));
    let unlimited = env
        .request(
            "PATCH",
            &format!("/api/organizations/{}/plan", owner.organization),
            Some(json!({"includedUsers": null})),
            &operator,
        )
        .await;
    assert!(unlimited.body["includedUsers"].is_null());
    // An empty change writes nothing and answers the organization as stored.
    let before_empty = env.scan().await;
    let unchanged = env
        .request("PATCH", &format!("/api/organizations/{}/plan", owner.organization), Some(json!({})), &operator)
        .await;
    assert_eq!(unchanged.status, 200, "{:?}", unchanged.body);
    assert_eq!(
        (unchanged.body["pricingPlan"].as_str(), unchanged.body["includedStorageBytes"].as_u64()),
        (Some("Team"), Some(1_000_000)),
        "{:?}",
        unchanged.body
    );
    assert!(unchanged.body["includedUsers"].is_null());
    assert_eq!(env.scan().await, before_empty);
    assert_eq!(
        env.request(
            "PATCH",
            &format!("/api/organizations/{}/plan", owner.organization),
            Some(json!({"pricingPlan": "Gold"})),
            &operator
        )
        .await
        .error_code(),
        "organization.plan.invalid"
    );

    let credits = format!("/api/organizations/{}/credits", owner.organization);
    let added = env.post(&credits, json!({"milliCredits": 5000, "comment": "welcome"}), &operator).await;
    assert_eq!((added.status, added.body["milliCreditBalance"].as_i64()), (200, Some(5000)), "{:?}", added.body);
    let spent = env.post(&credits, json!({"milliCredits": -3000, "comment": "job"}), &operator).await;
    assert_eq!(spent.body["milliCreditBalance"], 2000);
    let overdrawn = env.post(&credits, json!({"milliCredits": -3000}), &operator).await;
    assert_eq!((overdrawn.status, overdrawn.error_code()), (409, "credits.insufficient"));
    assert_eq!(env.post(&credits, json!({"milliCredits": 0}), &operator).await.error_code(), "credits.amount.invalid");
    assert_eq!(
        env.get(&format!("/api/organizations/{}", owner.organization), &owner.auth()).await.body["milliCreditBalance"],
        2000
    );
    let transactions = env.scan().await.into_iter().filter(|i| text(i, "entity") == "CreditTransaction").count();
    assert_eq!(transactions, 2, "the failed debit left no transaction");

    // Nobody else does any of this.
    let before = env.scan().await;
    for (method, path, body) in [
        ("POST", "/api/organizations".to_owned(), json!({"ownerEmail": owner.email, "organizationName": "Mine"})),
        ("PATCH", format!("/api/organizations/{}/plan", owner.organization), json!({"pricingPlan": "Power"})),
        ("POST", credits.clone(), json!({"milliCredits": 1})),
    ] {
        let response = env.request(method, &path, Some(body), &owner.auth()).await;
        assert_eq!((response.status, response.error_code()), (403, "superUser.required"), "{method} {path}");
    }
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn the_overview_shows_the_latest_storage_report() {
    use accounts::domain::organizations::{StorageReport, report_storage};
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Storage Lab")).await;
    let report = |bytes: u64, at: i64| StorageReport {
        organization: owner.organization.clone(),
        used_storage_bytes: bytes,
        reported_at: Some(at),
    };
    assert!(report_storage(&env.app, &report(500, 2_000)).await.unwrap());
    env.deliver_mail().await;
    assert!(
        !report_storage(&env.app, &report(100, 1_000)).await.unwrap(),
        "an older report never replaces a newer one"
    );
    let overview = env.get(&format!("/api/organizations/{}", owner.organization), &owner.auth()).await.body;
    assert_eq!(
        (overview["usedStorageBytes"].as_u64(), overview["storageReportedAt"].as_i64()),
        (Some(500), Some(2_000))
    );
    let unknown = StorageReport { organization: "no-such-org".into(), used_storage_bytes: 1, reported_at: None };
    assert!(!report_storage(&env.app, &unknown).await.unwrap());
    env.deliver_mail().await;
    assert!(
        env.scan().await.iter().all(|i| !text(i, "PK").contains("no-such-org")),
        "nothing is created for unknown organizations"
    );
}

#[tokio::test]
async fn storage_notices_are_mailed_once_per_threshold_crossing_to_the_plan_address_or_the_owner() {
    use accounts::domain::organizations::{StorageReport, report_storage};
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Storage Lab")).await;
    let operator = env.operator().await;
    let plan = json!({"includedStorageBytes": 1_000_000_000u64});
    let path = format!("/api/organizations/{}/plan", owner.organization);
    assert_eq!(env.request("PATCH", &path, Some(plan), &operator.auth()).await.status, 200);
    let notices = |address: String| async move {
        mails_to(&address).await.into_iter().filter(|m| m.subject.contains("storage")).collect::<Vec<_>>()
    };
    let mut at = 1_000;
    let mut report = |bytes: u64| {
        at += 1;
        StorageReport { organization: owner.organization.clone(), used_storage_bytes: bytes, reported_at: Some(at) }
    };
    assert!(report_storage(&env.app, &report(500_000_000)).await.unwrap());
    env.deliver_mail().await;
    assert!(notices(owner.email.clone()).await.is_empty(), "half full: no notice");
    assert!(report_storage(&env.app, &report(910_000_000)).await.unwrap());
    env.deliver_mail().await;
    let sent = notices(owner.email.clone()).await;
    assert_eq!(sent.len(), 1, "90%: one notice, to the owner (no plan address is set)");
    assert_eq!(sent[0].subject, "WEBKNOSSOS | Your organization's storage is almost used up");
    assert!(
        sent[0].text.contains("910.0 MB of 1.0 GB") && sent[0].html.contains("910.0 MB of 1.0 GB"),
        "{}",
        sent[0].text
    );
    assert!(report_storage(&env.app, &report(950_000_000)).await.unwrap());
    env.deliver_mail().await;
    assert_eq!(notices(owner.email.clone()).await.len(), 1, "still above 90%: no second notice");
    assert!(report_storage(&env.app, &report(1_000_000_000)).await.unwrap());
    env.deliver_mail().await;
    let sent = notices(owner.email.clone()).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].subject, "WEBKNOSSOS | Your organization's storage is used up");
    // Below again, then across again: a new crossing, a new notice, now to the plan address.
    assert!(report_storage(&env.app, &report(100_000_000)).await.unwrap());
    env.deliver_mail().await;
    let billing = format!("billing-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let settings = json!({"planSubscriptionEmail": billing});
    let path = format!("/api/organizations/{}", owner.organization);
    assert_eq!(env.request("PATCH", &path, Some(settings), &owner.auth()).await.status, 200);
    // Confirmed by its mailbox (the opt-in), the plan address gets the notices.
    let confirmation = tests::confirmation_token(&billing).await.expect("the confirmation mail");
    env.confirm_notifications(&confirmation).await;
    assert!(report_storage(&env.app, &report(920_000_000)).await.unwrap());
    env.deliver_mail().await;
    assert_eq!(notices(owner.email.clone()).await.len(), 2, "the owner is not mailed when a plan address is set");
    assert_eq!(notices(billing.clone()).await.len(), 1);
    // An older report changes nothing and mails nothing.
    let old = StorageReport {
        organization: owner.organization.clone(),
        used_storage_bytes: 2_000_000_000,
        reported_at: Some(5),
    };
    assert!(!report_storage(&env.app, &old).await.unwrap());
    env.deliver_mail().await;
    assert_eq!(notices(billing).await.len(), 1);
    // Each stored report is in the log with the level it reached.
    let levels: Vec<Value> = env
        .get("/api/auditLog?action=organization.storageReported&limit=100", &owner.auth())
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["change"]["storageNoticeLevel"]["new"].clone())
        .collect();
    assert_eq!(levels, [json!(90), json!(0), json!(100), json!(90), json!(90), json!(0)]);
}

#[tokio::test]
async fn the_daily_job_mails_each_plan_expiry_notice_once_and_a_new_end_starts_them_again() {
    use accounts::domain::daily::maintain;
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Paid Lab")).await;
    let operator = env.operator().await;
    let day = 86_400_000;
    let now = accounts::ids::now_millis();
    let paid_until = now + 40 * day;
    let path = format!("/api/organizations/{}/plan", owner.organization);
    let plan = json!({"pricingPlan": "Team", "paidUntil": paid_until});
    assert_eq!(env.request("PATCH", &path, Some(plan), &operator.auth()).await.status, 200);
    let notices = || async {
        mails_to(&owner.email)
            .await
            .into_iter()
            .filter(|m| m.subject.contains("plan ") && !m.subject.ends_with("was changed"))
            .collect::<Vec<_>>()
    };
    let run = |at: i64| {
        let env = &env;
        async move {
            let notices = maintain(&env.app, at).await.unwrap().plan_notices;
            env.deliver_mail().await;
            notices
        }
    };
    assert_eq!(run(now + 9 * day).await, 0, "41 days before the end: nothing yet");
    assert_eq!(run(now + 10 * day + 3_600_000).await, 1, "30 days before");
    assert_eq!(run(now + 11 * day).await, 0, "once");
    assert_eq!(run(now + 34 * day).await, 1, "7 days before");
    assert_eq!(run(now + 41 * day).await, 1, "ended");
    assert_eq!(run(now + 90 * day).await, 0, "the end is told once");
    let subjects: Vec<String> = notices().await.into_iter().map(|m| m.subject).collect();
    assert_eq!(
        subjects,
        [
            "WEBKNOSSOS | Your organization's plan ends in 30 days",
            "WEBKNOSSOS | Your organization's plan ends in 7 days",
            "WEBKNOSSOS | Your organization's plan has ended"
        ]
    );
    let last = notices().await.pop().unwrap();
    let until = &accounts::ids::iso_date(paid_until);
    let name = env.get(&format!("/api/organizations/{}", owner.organization), &owner.auth()).await.body["name"].clone();
    let told = format!("the Team plan of the organization \"{}\" ended on {until}.", name.as_str().unwrap());
    assert!(
        last.text.contains(&told) && last.html.contains(&told.replace('"', "&quot;")),
        "{}\n{}",
        last.text,
        last.html
    );
    // From now on the plan address gets them, its mailbox having confirmed it (the opt-in).
    let billing = format!("billing-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let settings = format!("/api/organizations/{}", owner.organization);
    let named = env.request("PATCH", &settings, Some(json!({"planSubscriptionEmail": billing})), &owner.auth()).await;
    assert_eq!(named.status, 200, "{:?}", named.body);
    env.confirm_notifications(&tests::confirmation_token(&billing).await.expect("the confirmation link")).await;
    // A new end, 5 days away: only the 7-day notice, then the end again.
    let extended = json!({"paidUntil": now + 95 * day});
    assert_eq!(env.request("PATCH", &path, Some(extended), &operator.auth()).await.status, 200);
    let before = notices().await.len();
    assert_eq!(run(now + 90 * day).await, 1);
    let to_billing = mails_to(&billing).await;
    assert_eq!(to_billing.last().unwrap().subject, "WEBKNOSSOS | Your organization's plan ends in 7 days");
    assert_eq!(notices().await.len(), before, "the owner is not mailed when a plan address is confirmed");
    assert_eq!(run(now + 91 * day).await, 0);
    // No end: no notices.
    let unlimited = json!({"paidUntil": null});
    assert_eq!(env.request("PATCH", &path, Some(unlimited), &operator.auth()).await.status, 200);
    assert_eq!(run(now + 400 * day).await, 0);
    let logged = env.get("/api/auditLog?action=organization.planNoticeSent", &owner.auth()).await.body;
    assert_eq!(logged.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_finished_ai_job_is_mailed_as_the_organizations_setting_says() {
    use accounts::domain::organizations::{JobFinished, notify_job_finished};
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let runner = env.member(&owner, "Rune", "Runner", &[]).await;
    let admin = env.member(&owner, "Ada", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let job = |state: &str| JobFinished {
        organization: HOME_ORGANIZATION.into(),
        job_id: accounts::ids::new_object_id(),
        job_type: "infer_neurons".into(),
        owner_user_id: runner.user_id.clone(),
        state: state.into(),
        result_link: Some("https://wk.example.org/datasets/home/l4".into()),
    };
    let job_mails = |address: String| async move {
        mails_to(&address).await.into_iter().filter(|m| m.subject.contains("infer_neurons")).collect::<Vec<_>>()
    };
    let setting = |value: &str| json!({"aiJobNotifications": value});
    // Default: the job's owner only, with the link to the result.
    assert_eq!(notify_job_finished(&env.app, &job("SUCCESS")).await.unwrap(), 1);
    env.deliver_mail().await;
    let mine = job_mails(runner.email.clone()).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].subject, "WEBKNOSSOS | Your infer_neurons job has finished");
    assert!(mine[0].text.contains("See the result: https://wk.example.org/datasets/home/l4"), "{}", mine[0].text);
    assert!(mine[0].html.contains("href=\"https://wk.example.org/datasets/home/l4\""));
    assert!(job_mails(admin.email.clone()).await.is_empty() && job_mails(owner.email.clone()).await.is_empty());
    // The owner and every admin, each their own mail.
    let path = "/api/organizations/home";
    assert_eq!(env.request("PATCH", path, Some(setting("jobOwnerAndAdmins")), &owner.auth()).await.status, 200);
    assert_eq!(notify_job_finished(&env.app, &job("FAILURE")).await.unwrap(), 3);
    env.deliver_mail().await;
    let failed = job_mails(admin.email.clone()).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].to, vec![admin.email.clone()], "one recipient per mail");
    assert_eq!(failed[0].subject, "WEBKNOSSOS | The infer_neurons job of a member has failed");
    assert!(failed[0].text.contains("of Rune Runner") && failed[0].text.contains("/jobs"), "{}", failed[0].text);
    assert_eq!(job_mails(owner.email.clone()).await.len(), 1);
    assert_eq!(job_mails(runner.email.clone()).await[1].subject, "WEBKNOSSOS | Your infer_neurons job has failed");
    // Nobody.
    assert_eq!(env.request("PATCH", path, Some(setting("none")), &owner.auth()).await.status, 200);
    assert_eq!(notify_job_finished(&env.app, &job("CANCELLED")).await.unwrap(), 0);
    env.deliver_mail().await;
    assert_eq!(job_mails(runner.email.clone()).await.len(), 2);
    // Bad reports: a clear error, nothing mailed.
    let stranger = accounts::ids::new_object_id();
    for (report, code) in [
        (JobFinished { state: "RUNNING".into(), ..job("SUCCESS") }, "job.state.invalid"),
        (JobFinished { owner_user_id: stranger, ..job("SUCCESS") }, "user.notFound"),
        (JobFinished { organization: "nowhere".into(), ..job("SUCCESS") }, "organization.notFound"),
        (JobFinished { result_link: Some("javascript:alert(1)".into()), ..job("SUCCESS") }, "job.resultLink.invalid"),
    ] {
        let refused = notify_job_finished(&env.app, &report).await.unwrap_err();
        env.deliver_mail().await;
        assert_eq!(refused.code, code);
    }
    assert_eq!(job_mails(runner.email.clone()).await.len(), 2);
}

#[tokio::test]
async fn admins_ask_the_operators_for_plan_changes_and_the_owner_for_credits() {
    let env = TestEnv::with_config(|config| config.mail_limits.plan_requests_per_day = 5).await;
    let owner = env.create_home_organization().await;
    let admin = env.member(&owner, "Ada", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let operator = env.operator().await;
    // The operator's inbox is shared with the other tests: this test's requests name its people.
    let (admin_email, owner_email) = (admin.email.clone(), owner.email.clone());
    let operator_mails = || {
        let (admin_email, owner_email) = (admin_email.clone(), owner_email.clone());
        async move {
            mails_to(tests::SUPER_USER)
                .await
                .into_iter()
                .filter(|m| m.subject.starts_with("WEBKNOSSOS | Plan request"))
                .filter(|m| m.text.contains(&admin_email) || m.text.contains(&owner_email))
                .collect::<Vec<_>>()
        }
    };
    // Bad values and callers who may not ask: a clear answer, nothing stored or mailed.
    let before = env.scan().await;
    for (path, auth, status, code) in [
        ("/api/pricing/requestUpgrade?requestedPlan=Gold", admin.auth(), 400, "pricing.plan.invalid"),
        ("/api/pricing/requestUpgrade", admin.auth(), 400, "pricing.plan.invalid"),
        ("/api/pricing/requestUsers?requestedUsers=-1", admin.auth(), 400, "pricing.users.invalid"),
        ("/api/pricing/requestStorage?requestedStorage=0", admin.auth(), 400, "pricing.storage.invalid"),
        ("/api/pricing/requestCredits?requestedCredits=5", admin.auth(), 403, "pricing.credits.ownerOnly"),
        ("/api/pricing/requestCredits?requestedCredits=abc", owner.auth(), 400, "pricing.credits.invalid"),
        ("/api/pricing/requestExtension", member.auth(), 403, "pricing.notAllowed"),
    ] {
        let answer = env.post(path, json!({}), &auth).await;
        assert_eq!((answer.status, answer.error_code()), (status, code), "{path}");
    }
    assert_eq!(env.scan().await, before);
    assert!(operator_mails().await.is_empty());
    // Each valid request: stored, mailed to the operators, confirmed to the requester, logged.
    for (path, auth) in [
        ("/api/pricing/requestExtension", admin.auth()),
        ("/api/pricing/requestUpgrade?requestedPlan=Power", admin.auth()),
        ("/api/pricing/requestUsers?requestedUsers=25", admin.auth()),
        ("/api/pricing/requestStorage?requestedStorage=2000000", admin.auth()),
        ("/api/pricing/requestCredits?requestedCredits=100", owner.auth()),
    ] {
        assert_eq!(env.post(path, json!({}), &auth).await.status, 200, "{path}");
    }
    let to_operators = operator_mails().await;
    assert_eq!(to_operators.len(), 5);
    assert!(
        to_operators[3].text.contains("Ada Admin") && to_operators[3].text.contains("asks for 2.0 TB of storage"),
        "{}",
        to_operators[3].text
    );
    assert!(to_operators[4].text.contains("asks for 100 credits"));
    let confirmations = mails_to(&admin.email)
        .await
        .into_iter()
        .filter(|m| m.subject == "WEBKNOSSOS | Your request was received")
        .count();
    assert_eq!(confirmations, 4);
    let listed = env.get("/api/pricing/requests", &operator.auth()).await;
    let kinds: Vec<&str> = listed.body.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["credits", "storage", "users", "upgrade", "extension"]);
    assert_eq!(listed.body[1]["requested"], "2000000");
    assert_eq!(listed.body[1]["requestedBy"]["email"], admin.email.as_str());
    assert_eq!(listed.body[0]["organization"], HOME_ORGANIZATION);
    let refused = env.get("/api/pricing/requests", &owner.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "superUser.required"));
    let logged = env.get("/api/auditLog?action=organization.planRequested", &owner.auth()).await.body;
    assert_eq!(logged.as_array().unwrap().len(), 5);
    // The day's requests are used up: refused, nothing stored.
    let before = env.scan().await;
    let answer = env.post("/api/pricing/requestExtension", json!({}), &admin.auth()).await;
    assert_eq!((answer.status, answer.error_code()), (429, "pricing.request.tooMany"));
    assert_eq!(env.scan().await, before);
    assert_eq!(operator_mails().await.len(), 5);
}

#[tokio::test]
async fn an_operators_plan_changes_are_kept_as_history_and_mailed_to_the_organization() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let operator = env.operator().await;
    let path = "/api/organizations/home/plan";
    let first = json!({"pricingPlan": "Team", "includedUsers": 10, "includedStorageBytes": 5_000_000_000u64});
    assert_eq!(env.request("PATCH", path, Some(first), &operator.auth()).await.status, 200);
    let second = json!({"pricingPlan": "Power", "includedUsers": null, "paidUntil": 1_900_000_000_000i64});
    assert_eq!(env.request("PATCH", path, Some(second.clone()), &operator.auth()).await.status, 200);
    // The same plan again changes nothing: no history, no mail.
    assert_eq!(env.request("PATCH", path, Some(second), &operator.auth()).await.status, 200);
    let history = env.get("/api/pricing/planUpdates", &owner.auth()).await.body;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(
        (
            &history[0]["pricingPlan"],
            &history[0]["includedUsers"],
            &history[0]["paidUntil"],
            &history[0]["includedStorageBytes"]
        ),
        (&json!("Power"), &Value::Null, &json!(1_900_000_000_000i64), &json!(5_000_000_000u64))
    );
    assert_eq!((&history[1]["pricingPlan"], &history[1]["includedUsers"]), (&json!("Team"), &json!(10)));
    assert_eq!(history[0]["changedBy"], tests::SUPER_USER);
    let mails: Vec<_> = mails_to(&owner.email)
        .await
        .into_iter()
        .filter(|m| m.subject == "WEBKNOSSOS | Your organization's plan was changed")
        .collect();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].text.contains("is now: Power")
            && mails[1].text.contains("Users: unlimited")
            && mails[1].text.contains("Paid until: 2030-03-17"),
        "{}",
        mails[1].text
    );
    let refused = env.get("/api/pricing/planUpdates", &member.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "pricing.notAllowed"));
    let paged = env.get("/api/pricing/planUpdates?limit=1", &owner.auth()).await;
    assert_eq!(paged.body.as_array().unwrap().len(), 1);
    let next = paged.header("x-next-cursor").unwrap().to_owned();
    let rest = env.get(&format!("/api/pricing/planUpdates?limit=1&cursor={next}"), &owner.auth()).await.body;
    assert_eq!(rest[0]["pricingPlan"], "Team");
}

#[tokio::test]
async fn deletion_needs_the_owner_or_a_granted_admin_and_the_typed_name() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let admin = env.member(&owner, "Ann", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let path = format!("/api/organizations/{HOME_ORGANIZATION}");
    let confirm = json!({"confirmation": "Home Lab"});
    let before = env.scan().await;
    for auth in [member.auth(), admin.auth()] {
        let refused = env.request("DELETE", &path, Some(confirm.clone()), &auth).await;
        assert_eq!((refused.status, refused.error_code()), (403, "organization.delete.notAllowed"));
    }
    let wrong = env.request("DELETE", &path, Some(json!({"confirmation": "home lab"})), &owner.auth()).await;
    assert_eq!((wrong.status, wrong.error_code()), (400, "organization.delete.confirmation"));
    assert_eq!(env.request("DELETE", &path, None, &owner.auth()).await.error_code(), "request.body.missing");
    assert_eq!(env.scan().await, before);
    // Only the owner grants the right, and only to admins.
    assert_eq!(
        env.patch_user(&admin.user_id, json!({"mayDeleteOrganization": true}), &admin.auth()).await.error_code(),
        "user.deletionRight.notAllowed"
    );
    assert_eq!(
        env.patch_user(&member.user_id, json!({"mayDeleteOrganization": true}), &owner.auth()).await.error_code(),
        "user.deletionRight.adminsOnly"
    );
    assert_eq!(env.patch_user(&admin.user_id, json!({"mayDeleteOrganization": true}), &owner.auth()).await.status, 200);
    let deleted = env.request("DELETE", &path, Some(confirm), &admin.auth()).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body["purgeComplete"], true);
}

#[tokio::test]
async fn deleting_an_organization_removes_all_of_it_and_keeps_other_memberships() {
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let red = env.team(&home.auth(), "Red").await;
    let local = env.member(&home, "Lou", "Local", &[(&red, true)]).await;
    env.patch_user(&local.user_id, json!({"experiences": {"nuclei": 4}}), &home.auth()).await;
    env.get("/api/auth/token", &local.auth()).await;
    env.post("/api/auth/sendInvites", json!({"recipients": ["pending@example.org"]}), &home.auth()).await;
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    // Someone from elsewhere is in home too, and used home last.
    let traveller_session = Auth::Bearer(elsewhere.session.clone());
    env.join_by_invite(&home, &elsewhere.email, &traveller_session).await;
    let switched =
        env.post(&format!("/api/auth/switchOrganization/{HOME_ORGANIZATION}"), json!({}), &traveller_session).await;
    let traveller_at_home = Auth::Bearer(switched.body["token"].as_str().unwrap().to_owned());
    // Credits (a grant and a debit by an operator) and a storage report.
    let operator = env.operator().await.auth();
    let credits = format!("/api/organizations/{HOME_ORGANIZATION}/credits");
    assert_eq!(env.post(&credits, json!({"milliCredits": 5000, "comment": "grant"}), &operator).await.status, 200);
    assert_eq!(env.post(&credits, json!({"milliCredits": -1500, "comment": "job"}), &operator).await.status, 200);
    let report = accounts::domain::organizations::StorageReport {
        organization: HOME_ORGANIZATION.into(),
        used_storage_bytes: 123_456,
        reported_at: None,
    };
    assert!(accounts::domain::organizations::report_storage(&env.app, &report).await.unwrap());
    env.deliver_mail().await;
    let scan = env.scan().await;
    assert_eq!(
        scan.iter().filter(|i| text(i, "entity") == "CreditTransaction" && text(i, "PK") == "ORG#home").count(),
        2
    );
    let home_item = scan.iter().find(|i| text(i, "PK") == "ORG#home" && text(i, "SK") == "ORG").unwrap();
    assert_eq!(
        (text(home_item, "usedStorageBytes"), text(home_item, "milliCreditBalance")),
        ("123456".into(), "3500".into())
    );
    let elsewhere_before: Vec<_> = env
        .scan()
        .await
        .into_iter()
        .filter(|i| text(i, "PK").starts_with(&format!("ORG#{}", elsewhere.organization)))
        .collect();

    let deleted = env
        .request(
            "DELETE",
            &format!("/api/organizations/{HOME_ORGANIZATION}"),
            Some(json!({"confirmation": "Home Lab"})),
            &home.auth(),
        )
        .await;
    assert_eq!((deleted.status, deleted.body["purgeComplete"].as_bool()), (200, Some(true)), "{:?}", deleted.body);

    // Nothing of home is left anywhere in the table, indexes' keys included.
    let leftovers: Vec<String> = env
        .scan()
        .await
        .iter()
        .map(|i| format!("{:?}", i))
        .filter(|i| {
            i.contains("ORG#home")
                || i.contains(&home.email)
                || i.contains(&local.email)
                || i.contains("pending@example.org")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:#?}");
    // Nor does any item name the organization by its id (identity maps, last used organization, credits).
    assert!(env.scan().await.iter().all(|i| !names_organization(i, HOME_ORGANIZATION)), "an item still names home");
    assert!(
        env.scan().await.iter().any(|i| text(i, "PK") == format!("ORGID#{HOME_ORGANIZATION}")),
        "its id stays reserved"
    );
    assert_eq!(env.scan().await.iter().filter(|i| text(i, "entity") == "CreditTransaction").count(), 0);
    // Home's people are refused; their e-mails are free again.
    for auth in [home.auth(), local.auth(), traveller_at_home] {
        assert_eq!(env.get("/api/user", &auth).await.status, 401);
    }
    assert_eq!(
        env.post("/api/auth/login", json!({"email": local.email, "password": PASSWORD}), &Auth::None).await.status,
        401
    );
    assert_eq!(
        env.post("/api/auth/createOrganizationWithAdmin", signup_form(&local.email, "New Start"), &Auth::None)
            .await
            .status,
        200
    );
    // The traveller keeps the other organization, which falls back to being the last used one.
    let login = env.post("/api/auth/login", json!({"email": elsewhere.email, "password": PASSWORD}), &Auth::None).await;
    assert_eq!(
        (login.status, login.body["user"]["organization"].as_str()),
        (200, Some(elsewhere.organization.as_str()))
    );
    let elsewhere_after: Vec<_> = env
        .scan()
        .await
        .into_iter()
        .filter(|i| text(i, "PK").starts_with(&format!("ORG#{}", elsewhere.organization)))
        .collect();
    let keys = |items: &Vec<tests::Item>| {
        items
            .iter()
            .map(|i| (text(i, "PK"), text(i, "SK")))
            // The traveller's login: a session and its entry.
            .filter(|(_, sk)| !sk.starts_with("SESSION#") && !sk.starts_with("AUDIT#"))
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&elsewhere_after), keys(&elsewhere_before), "nothing of another organization is touched");
}

#[tokio::test]
async fn a_purge_cut_short_is_finished_by_the_scheduled_purge() {
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let organization = accounts::model::Key::organization(HOME_ORGANIZATION);
    env.set_attribute(
        &organization.pk,
        &organization.sk,
        "enableAutoVerify",
        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
    )
    .await;
    for i in 0..150 {
        env.register("Many", &format!("User{i:03}")).await;
    }
    // The route's steps, with no time at all: one page is purged, then it stops.
    let finished = tests::as_function(&accounts::operations::DELETE_ORGANIZATION, async {
        let mut request = lambda_http::Request::default();
        request.headers_mut().insert("authorization", format!("Bearer {}", home.session).parse().unwrap());
        let caller = accounts::auth::read_caller(&env.app, &request).await.unwrap();
        accounts::domain::organizations::delete(
            &env.app,
            &caller,
            HOME_ORGANIZATION,
            "Home Lab",
            std::time::Duration::ZERO,
        )
        .await
        .unwrap()
    })
    .await;
    assert!(!finished);
    let remaining = env.scan().await.iter().filter(|i| text(i, "PK") == "ORG#home").count();
    assert!(remaining > 50, "half-way: {remaining} items left");
    assert_eq!(env.get("/api/user", &home.auth()).await.status, 401, "refused from the moment deletion was accepted");
    let login = env.post("/api/auth/login", json!({"email": home.email, "password": PASSWORD}), &Auth::None).await;
    // 403 while the owner's identity waits to be purged; 401 once the first page took it (ids are random,
    // so either may hold here). Never a login.
    assert!(matches!(login.status, 401 | 403), "{:?}", login.body);
    // The scheduled purge resumes and finishes it.
    let done = accounts::domain::organizations::purge_pending(
        &env.app,
        std::time::Instant::now() + std::time::Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert_eq!(done, Some(1));
    let leftovers: Vec<String> = env
        .scan()
        .await
        .iter()
        .map(|i| format!("{i:?}"))
        .filter(|i| i.contains("ORG#home") || i.contains("Many"))
        .collect();
    assert!(leftovers.is_empty(), "{} items left", leftovers.len());
    assert_eq!(
        env.scan().await.iter().filter(|i| text(i, "entity") == "Account").count(),
        0,
        "accounts left with no organization are gone"
    );
}

#[tokio::test]
async fn nobody_joins_an_organization_being_deleted_not_even_in_the_window_before_the_purge() {
    use accounts::model::{Account, Key, User};
    use accounts::store::accounts::{NewAccountError, create_account_with_identity};
    use accounts::store::org::OrgStore;
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let organization = Key::organization(HOME_ORGANIZATION);
    env.set_attribute(
        &organization.pk,
        &organization.sk,
        "enableAutoVerify",
        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
    )
    .await;
    // Invites sent before the deletion: one for a new address, one for an account of another organization.
    let newcomer = format!("newcomer-{}", &home.email);
    let sent = env.post("/api/auth/sendInvites", json!({"recipients": [newcomer]}), &home.auth()).await;
    assert_eq!(sent.body["recipients"][0]["status"], "invited");
    let newcomer_token = invite_token(&mails_to(&newcomer).await.pop().unwrap());
    let guest = env.create_organization(&organization_name("Guest Lab")).await;
    let sent = env.post("/api/auth/sendInvites", json!({"recipients": [guest.email]}), &home.auth()).await;
    assert_eq!(sent.body["recipients"][0]["status"], "invited");
    let guest_token = invite_token(&mails_to(&guest.email).await.pop().unwrap());

    // Deletion accepted; the purge has not run yet.
    let store = OrgStore::for_internal_service(&env.app.db, HOME_ORGANIZATION);
    env.mark_deletion_requested(HOME_ORGANIZATION).await;
    let before = env.scan().await;
    let mut self_registration = signup_form(&format!("late-{}", &home.email), "ignored");
    self_registration["organization"] = json!(HOME_ORGANIZATION);
    let mut by_invite = signup_form(&newcomer, "ignored");
    by_invite["inviteToken"] = json!(newcomer_token);
    for (path, body, auth) in [
        ("/api/auth/register".to_owned(), self_registration, Auth::None),
        ("/api/auth/register".to_owned(), by_invite, Auth::None),
        (format!("/api/auth/joinOrganization/{guest_token}"), json!({}), guest.auth()),
    ] {
        let refused = env.post(&path, body, &auth).await;
        assert_eq!(
            (refused.status, refused.error_code()),
            (410, "organization.deleting"),
            "{path}: {:?}",
            refused.body
        );
    }
    assert_eq!(
        env.get(&format!("/api/organizations/byInvite/{guest_token}"), &Auth::None).await.error_code(),
        "organization.deleting"
    );
    assert_eq!(env.scan().await, before, "nothing was written");

    // The window: a request that read the organization before the deletion was accepted still cannot add
    // its identity, because the write itself is conditioned on the organization not being deleted.
    let team = before.iter().find(|i| text(i, "entity") == "Team").unwrap();
    let now = accounts::ids::now_millis();
    let account = Account {
        id: accounts::ids::new_object_id(),
        email: format!("racer-{}", &home.email),
        password_hash: "x".into(),
        identities: Default::default(),
        last_used_organization: Some(HOME_ORGANIZATION.into()),
        created: now,
        email_verified: false,
        email_set_at: None,
    };
    let user = User {
        id: accounts::ids::new_object_id(),
        organization: HOME_ORGANIZATION.into(),
        account_id: account.id.clone(),
        email: account.email.clone(),
        first_name: "Late".into(),
        last_name: "Racer".into(),
        is_admin: false,
        is_organization_owner: false,
        is_dataset_manager: false,
        is_deactivated: false,
        is_email_verified: false,
        teams: [(text(team, "id"), accounts::model::TeamRole { name: text(team, "name"), is_team_manager: false })]
            .into(),
        experiences: Default::default(),
        last_activity: now,
        created: now,
        session_epoch: 0,
        version: 0,
        may_delete_organization: false,
    };
    let mut account = account;
    account.identities.insert(HOME_ORGANIZATION.into(), user.id.clone());
    let register = &accounts::operations::REGISTER;
    match tests::as_function(register, create_account_with_identity(&env.app.db, &store, &account, &user, Vec::new()))
        .await
    {
        Err(NewAccountError::Store(err)) => assert_eq!(err, accounts::store::StoreError::OrganizationDeleting),
        Err(_) => panic!("refused for another reason"),
        Ok(()) => panic!("an identity joined an organization being deleted"),
    }
    let deactivated = User { is_deactivated: true, ..user.clone() };
    assert!(
        tests::as_function(
            register,
            create_account_with_identity(&env.app.db, &store, &account, &deactivated, Vec::new())
        )
        .await
        .is_err(),
        "deactivated neither"
    );
    assert_eq!(env.scan().await, before, "nothing was written");
    // And the purge then leaves nothing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let purge = accounts::domain::organizations::purge(&env.app, HOME_ORGANIZATION, deadline);
    assert!(tests::as_function(&accounts::background::ORGANIZATION_PURGE, purge).await.unwrap());
    assert!(env.scan().await.iter().all(|i| !format!("{i:?}").contains("ORG#home")));
}

/// The keys of every item in `organization`'s partition, sessions aside (logins add those).
fn partition_keys(scan: &[tests::Item], organization: &str) -> Vec<(String, String)> {
    scan.iter()
        .map(|i| (text(i, "PK"), text(i, "SK")))
        .filter(|(pk, sk)| *pk == format!("ORG#{organization}") && !sk.starts_with("SESSION#"))
        .collect()
}

/// One purge at a time: a run holds the purge's lease and others find it held and do nothing (`None`),
/// two runs starting together (forced: both take the lease at the same moment) purge once, and a lease
/// whose run died lapses at its time and is taken over; the dead run cannot give back its successor's.
#[tokio::test]
async fn purges_never_overlap_and_a_dead_runs_lease_lapses() {
    use accounts::domain::organizations::purge_pending;
    use accounts::model::{Entity, JobLease};
    use accounts::store::maintenance::{release_job_lease, take_job_lease};
    use std::time::{Duration, Instant};
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let purge_function = &accounts::background::ORGANIZATION_PURGE;
    let lease_key = JobLease::new(purge_function.name, 0).key();
    let lease_of = |scan: &[tests::Item]| scan.iter().find(|i| text(i, "PK") == lease_key.pk).cloned();
    let deadline = || Instant::now() + Duration::from_secs(60);

    // Held by another run: this one does nothing.
    let now = accounts::ids::now_millis();
    let held = JobLease::new(purge_function.name, now + 60_000);
    assert!(tests::as_function(purge_function, take_job_lease(&env.app.db, &held, now)).await.unwrap());
    env.create_home_organization().await;
    seed_members(&env, HOME_ORGANIZATION, 300, |_| vec![]).await;
    env.mark_deletion_requested(HOME_ORGANIZATION).await;
    let before = env.scan().await;
    assert_eq!(purge_pending(&env.app, deadline()).await.unwrap(), None);
    assert_eq!(env.scan().await, before, "a run that found the lease held wrote nothing");

    // Its run died: the lease lapses at its time, and the next run takes it over and purges.
    let lapsed = accounts::ids::now_millis() - 1;
    env.set_attribute(&lease_key.pk, &lease_key.sk, "leaseUntil", AttributeValue::N(lapsed.to_string())).await;
    assert_eq!(purge_pending(&env.app, deadline()).await.unwrap(), Some(1));
    assert!(env.scan().await.iter().all(|i| !text(i, "PK").contains("ORG#home")), "home is purged");
    assert_eq!(lease_of(&env.scan().await), None, "the run gave its lease back");

    // Two runs at once: both send their lease at the same moment, one gets it and purges alone.
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    env.mark_deletion_requested(&elsewhere.organization).await;
    barrier.arm_on("PutItem", 2, "JOB#");
    let (a, b) = tokio::join!(purge_pending(&env.app, deadline()), purge_pending(&env.app, deadline()));
    assert_eq!(barrier.met(), 2, "the two runs did not take the lease at the same moment");
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort();
    assert_eq!(outcomes, [None, Some(1)]);

    // A dead run coming back late cannot give back the lease its successor took over.
    let dead = JobLease::new(purge_function.name, accounts::ids::now_millis() - 1);
    let successor = JobLease::new(purge_function.name, accounts::ids::now_millis() + 60_000);
    tests::as_function(purge_function, async {
        assert!(take_job_lease(&env.app.db, &dead, accounts::ids::now_millis() - 2).await.unwrap());
        assert!(take_job_lease(&env.app.db, &successor, accounts::ids::now_millis()).await.unwrap());
        release_job_lease(&env.app.db, &dead).await.unwrap();
    })
    .await;
    let kept = lease_of(&env.scan().await).expect("the successor's lease stays");
    assert_eq!(text(&kept, "leaseHolder"), successor.lease_holder);
    tests::as_function(purge_function, release_job_lease(&env.app.db, &successor)).await.unwrap();
}

#[tokio::test]
async fn a_purge_that_crashes_in_the_middle_of_pages_finishes_cleanly_when_run_again() {
    use accounts::domain::organizations::{purge, purge_pending};
    use accounts::model::Key;
    use std::time::{Duration, Instant};
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    // One of home's people also belongs elsewhere.
    env.join_by_invite(&home, &elsewhere.email, &elsewhere.auth()).await;
    let emails = seed_members(&env, HOME_ORGANIZATION, 700, |_| vec![]).await.emails;
    let elsewhere_before = partition_keys(&env.scan().await, &elsewhere.organization);
    let store = accounts::store::org::OrgStore::for_internal_service(&env.app.db, HOME_ORGANIZATION);
    env.mark_deletion_requested(HOME_ORGANIZATION).await;

    // A crash in the middle of a page, by hand: some of the first page's identities were taken out of
    // their accounts and some of its items deleted, the rest not.
    let purge_function = &accounts::background::ORGANIZATION_PURGE;
    let page = tests::as_function(purge_function, store.partition_page(200)).await.unwrap();
    let accounts_of_users: Vec<&str> = page
        .iter()
        .filter_map(|i| match &i.kind {
            accounts::store::org::PartitionItemKind::User { account_id } => Some(account_id.as_str()),
            _ => None,
        })
        .collect();
    for account_id in accounts_of_users.iter().take(accounts_of_users.len() / 2) {
        let detach = accounts::store::accounts::detach_identity(&env.app.db, account_id, HOME_ORGANIZATION);
        tests::as_function(purge_function, detach).await.unwrap();
    }
    let some_keys: Vec<Key> = page.iter().step_by(3).map(|i| i.key.clone()).filter(|k| k.sk != "ORG").collect();
    tests::as_function(purge_function, env.app.db.delete_all(&some_keys)).await.unwrap();
    // Crashes at arbitrary points: the purge future is dropped part-way (mid-detach or mid-delete) a few times.
    let mut crashed = 0;
    for budget_ms in [15, 40, 25, 60, 10] {
        match tokio::time::timeout(
            Duration::from_millis(budget_ms),
            tests::as_function(
                purge_function,
                purge(&env.app, HOME_ORGANIZATION, Instant::now() + Duration::from_secs(600)),
            ),
        )
        .await
        {
            Err(_) => crashed += 1,
            Ok(finished) => assert!(finished.unwrap(), "only stops when done"),
        }
    }
    assert!(crashed > 0, "at least one purge was cut off");
    assert!(!partition_keys(&env.scan().await, HOME_ORGANIZATION).is_empty(), "still half-way");
    // The scheduled purge resumes and finishes.
    assert_eq!(purge_pending(&env.app, Instant::now() + Duration::from_secs(300)).await.unwrap(), Some(1));
    let scan = env.scan().await;
    assert!(partition_keys(&scan, HOME_ORGANIZATION).is_empty());
    assert!(scan.iter().all(|i| !names_organization(i, HOME_ORGANIZATION)), "no account still names home");
    for email in emails.iter().step_by(50).chain([&home.email]) {
        assert!(scan.iter().all(|i| text(i, "email") != *email), "{email}'s account and e-mail guard are gone");
    }
    assert_eq!(partition_keys(&scan, &elsewhere.organization), elsewhere_before, "another organization is untouched");
    let login = env.post("/api/auth/login", json!({"email": elsewhere.email, "password": PASSWORD}), &Auth::None).await;
    assert_eq!(
        (login.status, login.body["user"]["organization"].as_str()),
        (200, Some(elsewhere.organization.as_str()))
    );
}

#[tokio::test]
async fn an_organization_with_ten_thousand_users_is_purged_completely() {
    use std::time::{Duration, Instant};
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    let bystander = env.member(&home, "Bea", "Bystander", &[]).await;
    let _ = bystander;
    let elsewhere_before = partition_keys(&env.scan().await, &elsewhere.organization);
    let started = Instant::now();
    seed_members(&env, HOME_ORGANIZATION, 10_000, |_| vec![]).await;
    let seeded = started.elapsed();
    let overview = env.get(&format!("/api/organizations/{HOME_ORGANIZATION}"), &home.auth()).await.body;
    assert_eq!(overview["memberCount"], 10_002);
    let deleted = env
        .request(
            "DELETE",
            &format!("/api/organizations/{HOME_ORGANIZATION}"),
            Some(json!({"confirmation": "Home Lab"})),
            &home.auth(),
        )
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let purge_started = Instant::now();
    if deleted.body["purgeComplete"] != true {
        assert_eq!(
            accounts::domain::organizations::purge_pending(&env.app, Instant::now() + Duration::from_secs(600))
                .await
                .unwrap(),
            Some(1)
        );
    }
    eprintln!(
        "seeded 10,000 users in {seeded:?}; purge finished {:?} after the request returned",
        purge_started.elapsed()
    );
    let scan = env.scan().await;
    assert!(partition_keys(&scan, HOME_ORGANIZATION).is_empty());
    assert!(scan.iter().all(|i| !names_organization(i, HOME_ORGANIZATION)), "nothing names home");
    assert_eq!(
        scan.iter().filter(|i| text(i, "entity") == "Account").count(),
        1,
        "only elsewhere's owner's account is left"
    );
    assert_eq!(partition_keys(&scan, &elsewhere.organization), elsewhere_before, "another organization is untouched");
    assert_eq!(env.get("/api/user", &elsewhere.auth()).await.status, 200);
}

#[tokio::test]
async fn the_pricing_status_follows_the_plan_users_and_paid_until() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_home_organization().await;
    let status = || async { env.get("/api/pricing/status", &owner.auth()).await.body };
    assert_eq!(status().await, json!({"pricingPlan": "Custom", "isExceeded": false, "isAlmostExceeded": false}));
    let plan = format!("/api/organizations/{HOME_ORGANIZATION}/plan");
    assert_eq!(
        env.request("PATCH", &plan, Some(json!({"pricingPlan": "Team", "includedUsers": 3})), &operator).await.status,
        200
    );
    assert_eq!(
        status().await,
        json!({"pricingPlan": "Team", "isExceeded": false, "isAlmostExceeded": true}),
        "1 of 3 users"
    );
    env.member(&owner, "Mo", "Member", &[]).await;
    env.member(&owner, "Max", "Member", &[]).await;
    assert_eq!(env.request("PATCH", &plan, Some(json!({"includedUsers": 2})), &operator).await.status, 200);
    assert_eq!(status().await["isExceeded"], true, "3 active users, 2 included");
    let past = accounts::ids::now_millis() - 1000;
    assert_eq!(
        env.request("PATCH", &plan, Some(json!({"includedUsers": null, "paidUntil": past})), &operator).await.status,
        200
    );
    assert_eq!(status().await["isExceeded"], true, "paidUntil passed");
    let later = accounts::ids::now_millis() + 30 * 24 * 3600 * 1000;
    assert_eq!(env.request("PATCH", &plan, Some(json!({"paidUntil": later})), &operator).await.status, 200);
    assert_eq!(
        status().await,
        json!({"pricingPlan": "Team", "isExceeded": false, "isAlmostExceeded": true}),
        "30 days left"
    );
    assert_eq!(env.get("/api/pricing/status", &Auth::None).await.status, 401);
}

#[tokio::test]
async fn admins_page_through_the_credit_transactions_newest_first() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Mo", "Member", &[]).await;
    let credits = format!("/api/organizations/{HOME_ORGANIZATION}/credits");
    for (amount, comment) in [(5000, "grant"), (-1500, "job"), (250, "refund")] {
        assert_eq!(
            env.post(&credits, json!({"milliCredits": amount, "comment": comment}), &operator).await.status,
            200
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let first = env.get("/api/creditTransactions?limit=2", &owner.auth()).await;
    let comments: Vec<&str> = first.body.as_array().unwrap().iter().map(|t| t["comment"].as_str().unwrap()).collect();
    assert_eq!(comments, ["refund", "job"], "newest first");
    let cursor = first.header("x-next-cursor").expect("more").to_owned();
    let rest = env.get(&format!("/api/creditTransactions?limit=2&cursor={cursor}"), &owner.auth()).await;
    assert_eq!(rest.body.as_array().unwrap().len(), 1);
    assert_eq!((rest.body[0]["comment"].as_str(), rest.body[0]["milliCredits"].as_i64()), (Some("grant"), Some(5000)));
    let refused = env.get("/api/creditTransactions", &member.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "credits.notAllowed"));
    assert_eq!(env.get("/api/creditTransactions?limit=0", &owner.auth()).await.status, 400);
    assert_eq!(env.get("/api/creditTransactions?cursor=nope", &owner.auth()).await.status, 400);
}

#[tokio::test]
async fn someone_invited_when_the_plan_is_full_joins_deactivated_and_both_sides_are_told() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_home_organization().await;
    let plan = format!("/api/organizations/{HOME_ORGANIZATION}/plan");
    assert_eq!(env.request("PATCH", &plan, Some(json!({"includedUsers": 1})), &operator).await.status, 200);
    let email = format!("late-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let sent =
        env.post("/api/auth/sendInvites", json!({"recipients": [email], "autoActivate": true}), &owner.auth()).await;
    assert_eq!(sent.body["recipients"][0]["status"], "invited");
    let token = invite_token(mails_to(&email).await.last().unwrap());
    let mut form = signup_form(&email, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.post("/api/auth/register", form, &Auth::None).await;
    assert_eq!((registered.status, &registered.body["isActive"]), (200, &json!(false)), "{:?}", registered.body);
    let welcome =
        mails_to(&email).await.into_iter().find(|m| m.subject == "Welcome to WEBKNOSSOS").expect("the welcome mail");
    assert!(welcome.text.contains("plan includes 1 users, and all are in use"), "{}", welcome.text);
    let notice = mails_to(&owner.email).await.into_iter().find(|m| m.text.contains(&email)).expect("the owner is told");
    assert!(notice.text.contains("included users are all active"), "{}", notice.text);
    assert!(notice.html.contains("included users are all active"));
}

/// One organization exported (every item of it, and its people's accounts with only its identity),
/// imported into an empty table where the invariant checker finds it whole and its people log in, and
/// exported from there as the same bytes. Imported again: nothing to do. Into a table where an address of
/// it belongs to another account: refused, with nothing written.
#[tokio::test]
async fn an_organization_exported_and_imported_into_an_empty_table_round_trips_exactly() {
    use devstack::organization_export::{ExportOptions, export, from_json_lines, import, to_json_lines};
    use std::collections::BTreeSet;
    // The password hashes go with it here, so people log in on the other side.
    let with_hashes = ExportOptions { password_hashes: true, credentials: false };
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let team = env.team(&home.auth(), "Tracers").await;
    let member = env.member(&home, "Grace", "Hopper", &[(&team, true)]).await;
    // Someone of another organization who joined home too: only home's identity goes with the export.
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    env.join_by_invite(&home, &elsewhere.email, &elsewhere.auth()).await;
    let pending = format!("pending-{}@example.org", &accounts::ids::new_object_id()[..8]);
    env.post("/api/auth/sendInvites", json!({"recipients": [pending]}), &home.auth()).await;
    let asked = env.post("/api/pricing/requestExtension", json!({}), &home.auth()).await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let source = env.direct_dynamodb();

    let items = export(&source, &env.table, HOME_ORGANIZATION, with_hashes).await.unwrap();
    let lines = to_json_lines(&items);
    let kinds: BTreeSet<String> = items.iter().map(|i| text(i, "entity")).collect();
    for kind in ["Organization", "User", "Team", "Membership", "Invite", "AuditEntry", "Account", "EmailGuard"] {
        assert!(kinds.contains(kind), "the export holds {kind}s: {kinds:?}");
    }
    assert!(kinds.contains("PlanRequest"), "and the organization's plan requests: {kinds:?}");
    assert!(!lines.contains(&elsewhere.organization), "nothing of the other organization");

    // Into an empty table: whole (the target env checks its invariants when it goes, and now), and live.
    let target = TestEnv::new().await;
    let written = import(&target.direct_dynamodb(), &target.table, &from_json_lines(&lines).unwrap()).await.unwrap();
    assert_eq!(written, items.len());
    target.check_invariants().await;
    let again = export(&target.direct_dynamodb(), &target.table, HOME_ORGANIZATION, with_hashes).await.unwrap();
    assert_eq!(to_json_lines(&again), lines, "exported from the import: the same bytes");
    let session = target.login(&home.email, PASSWORD).await;
    let users = target.get("/api/users", &Auth::Bearer(session)).await;
    assert_eq!(users.body.as_array().map(Vec::len), Some(3), "the owner, the member, the guest: {:?}", users.body);
    target.login(&member.email, PASSWORD).await;
    let guest = target.login(&elsewhere.email, PASSWORD).await;
    let organizations = target.get("/api/organizations", &Auth::Bearer(guest)).await;
    assert_eq!(organizations.body.as_array().map(Vec::len), Some(1), "only home: {:?}", organizations.body);

    // Again: everything is there as the file has it, so nothing is in the way.
    let before = target.scan().await;
    import(&target.direct_dynamodb(), &target.table, &items).await.unwrap();
    assert_eq!(target.scan().await, before);

    // A table where the member's address is someone else's account: refused, nothing written.
    let occupied = TestEnv::new().await;
    let mut form = signup_form(&member.email, &organization_name("Other"));
    form["organization"] = json!(format!("other_{}", &accounts::ids::new_object_id()[..8]));
    assert_eq!(occupied.post("/api/auth/createOrganizationWithAdmin", form, &Auth::None).await.status, 200);
    let before = occupied.scan().await;
    let refused = import(&occupied.direct_dynamodb(), &occupied.table, &items).await.unwrap_err();
    assert!(refused.contains("nothing imported") && refused.contains(&format!("EMAIL#{}", member.email)), "{refused}");
    assert_eq!(occupied.scan().await, before);
}

/// Exports leave the secrets behind unless asked: no sessions or personal tokens, emptied password hashes.
/// An import refuses what it cannot vouch for: credentials, and accounts, guards or users reaching beyond
/// the organization (an identity elsewhere would make someone a member there; a guard would take an
/// address).
#[tokio::test]
async fn exports_leave_secrets_behind_and_imports_refuse_what_they_cannot_vouch_for() {
    use accounts::store::Item;
    use aws_sdk_dynamodb::types::AttributeValue;
    use devstack::organization_export::{ExportOptions, export, import, to_json_lines};
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let token = env.get("/api/auth/token", &home.auth()).await.body["token"].as_str().unwrap().to_owned();
    let source = env.direct_dynamodb();
    let entity = |item: &Item| text(item, "entity");

    let plain = export(&source, &env.table, HOME_ORGANIZATION, ExportOptions::default()).await.unwrap();
    assert!(!plain.iter().any(|i| matches!(entity(i).as_str(), "Session" | "ApiToken")), "no credentials");
    let accounts: Vec<&Item> = plain.iter().filter(|i| entity(i) == "Account").collect();
    assert!(!accounts.is_empty() && accounts.iter().all(|a| text(a, "passwordHash").is_empty()), "hashes emptied");
    let lines = to_json_lines(&plain);
    assert!(!lines.contains(&home.session) && !lines.contains("$argon2"), "no secret in the file");
    // Imported, the organization is whole, and its people reset their passwords to log in.
    let target = TestEnv::new().await;
    import(&target.direct_dynamodb(), &target.table, &plain).await.unwrap();
    let refused = target.post("/api/auth/login", json!({"email": home.email, "password": PASSWORD}), &Auth::None).await;
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    let reset = target.seed_password_reset(&home.email).await;
    let body = json!({"token": reset, "password": {"password1": PASSWORD, "password2": PASSWORD}});
    assert_eq!(target.post("/api/auth/resetPassword", body, &Auth::None).await.status, 200);
    target.login(&home.email, PASSWORD).await;

    // Asked for, the credentials come along, and an import refuses them.
    let full = ExportOptions { password_hashes: true, credentials: true };
    let with_credentials = export(&source, &env.table, HOME_ORGANIZATION, full).await.unwrap();
    assert!(with_credentials.iter().any(|i| entity(i) == "ApiToken") && !token.is_empty());
    let empty = TestEnv::new().await;
    let refused = import(&empty.direct_dynamodb(), &empty.table, &with_credentials).await.unwrap_err();
    assert!(refused.contains("live credential"), "{refused}");
    // An account that names an identity in another organization, or a guard for another account's address.
    let mut reaching = plain.clone();
    let account = reaching.iter_mut().find(|i| entity(i) == "Account").unwrap();
    if let Some(AttributeValue::M(identities)) = account.get_mut("identities") {
        identities.insert("elsewhere".into(), AttributeValue::S(accounts::ids::new_object_id()));
    }
    let refused = import(&empty.direct_dynamodb(), &empty.table, &reaching).await.unwrap_err();
    assert!(refused.contains("must name only its user of home"), "{refused}");
    let mut taking = plain.clone();
    let guard = taking.iter_mut().find(|i| entity(i) == "EmailGuard").unwrap();
    guard.insert("email".into(), AttributeValue::S("someone-else@example.org".into()));
    let refused = import(&empty.direct_dynamodb(), &empty.table, &taking).await.unwrap_err();
    assert!(refused.contains("names no account of the file with its address"), "{refused}");
    assert!(empty.scan().await.is_empty(), "nothing written");
}
