//! Plans, storage and credits: storage reports and notices, plan expiry notices, AI job notices, plan
//! and credit requests, the plan history, the pricing status, credit transactions, a full plan's joins.

use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{Auth, HOME_ORGANIZATION, TestEnv, invite_token, mails_to, organization_name, signup_form, text};

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
    let overview = env.client(&owner.auth()).organization(&owner.organization).await.body;
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
        .client(&owner.auth())
        .audit_log("action=organization.storageReported&limit=100")
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
    let name = env.client(&owner.auth()).organization(&owner.organization).await.body["name"].clone();
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
    let logged = env.client(&owner.auth()).audit_log("action=organization.planNoticeSent").await.body;
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
    let listed = env.client(&operator.auth()).plan_requests().await;
    let kinds: Vec<&str> = listed.body.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["credits", "storage", "users", "upgrade", "extension"]);
    assert_eq!(listed.body[1]["requested"], "2000000");
    assert_eq!(listed.body[1]["requestedBy"]["email"], admin.email.as_str());
    assert_eq!(listed.body[0]["organization"], HOME_ORGANIZATION);
    let refused = env.client(&owner.auth()).plan_requests().await;
    assert_eq!((refused.status, refused.error_code()), (403, "superUser.required"));
    let logged = env.client(&owner.auth()).audit_log("action=organization.planRequested").await.body;
    assert_eq!(logged.as_array().unwrap().len(), 5);
    // The day's requests are used up: refused, nothing stored.
    let before = env.scan().await;
    let answer = env.client(&admin.auth()).request_plan_change("requestExtension", "").await;
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
    let history = env.client(&owner.auth()).plan_updates().await.body;
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
    let refused = env.client(&member.auth()).plan_updates().await;
    assert_eq!((refused.status, refused.error_code()), (403, "pricing.notAllowed"));
    let paged = env.get("/api/pricing/planUpdates?limit=1", &owner.auth()).await;
    assert_eq!(paged.body.as_array().unwrap().len(), 1);
    let next = paged.header("x-next-cursor").unwrap().to_owned();
    let rest = env.get(&format!("/api/pricing/planUpdates?limit=1&cursor={next}"), &owner.auth()).await.body;
    assert_eq!(rest[0]["pricingPlan"], "Team");
}

#[tokio::test]
async fn the_pricing_status_follows_the_plan_users_and_paid_until() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_home_organization().await;
    let status = || async { env.client(&owner.auth()).pricing_status().await.body };
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
    assert_eq!(env.client(&Auth::None).pricing_status().await.status, 401);
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
    }
    let first = env.client(&owner.auth()).credit_transactions("limit=2").await;
    let comments: Vec<&str> = first.body.as_array().unwrap().iter().map(|t| t["comment"].as_str().unwrap()).collect();
    assert_eq!(comments, ["refund", "job"], "newest first");
    let cursor = first.header("x-next-cursor").expect("more").to_owned();
    let rest = env.client(&owner.auth()).credit_transactions(&format!("limit=2&cursor={cursor}")).await;
    assert_eq!(rest.body.as_array().unwrap().len(), 1);
    assert_eq!((rest.body[0]["comment"].as_str(), rest.body[0]["milliCredits"].as_i64()), (Some("grant"), Some(5000)));
    let refused = env.client(&member.auth()).credit_transactions("").await;
    assert_eq!((refused.status, refused.error_code()), (403, "credits.notAllowed"));
    assert_eq!(env.client(&owner.auth()).credit_transactions("limit=0").await.status, 400);
    assert_eq!(env.client(&owner.auth()).credit_transactions("cursor=nope").await.status, 400);
}

#[tokio::test]
async fn someone_invited_when_the_plan_is_full_joins_deactivated_and_both_sides_are_told() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_home_organization().await;
    let plan = format!("/api/organizations/{HOME_ORGANIZATION}/plan");
    assert_eq!(env.request("PATCH", &plan, Some(json!({"includedUsers": 1})), &operator).await.status, 200);
    let email = format!("late-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [email], "autoActivate": true})).await;
    assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited");
    let token = invite_token(mails_to(&email).await.last().unwrap());
    let mut form = signup_form(&email, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.client(&Auth::None).register(form).await;
    assert_eq!((registered.status, &registered.body["isActive"]), (200, &json!(false)), "{:?}", registered.body);
    let welcome =
        mails_to(&email).await.into_iter().find(|m| m.subject == "Welcome to WEBKNOSSOS").expect("the welcome mail");
    assert!(welcome.text.contains("plan includes 1 users, and all are in use"), "{}", welcome.text);
    let notice = mails_to(&owner.email).await.into_iter().find(|m| m.text.contains(&email)).expect("the owner is told");
    assert!(notice.text.contains("included users are all active"), "{}", notice.text);
    assert!(notice.html.contains("included users are all active"));
}
