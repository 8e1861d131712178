//! The one mail budget in front of every mail, and the security lane (issue "Security, third round"): one
//! account changing its address again and again mails strangers only its day's budget, while the changes
//! themselves happen; and while other mail floods its lane, a reset link still arrives at once.

use serde_json::json;
use tests::{Auth, PASSWORD, TestEnv, mails_to, organization_name};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

/// The reproduction: 40 address changes by one account sent 79 mails to two strangers. Now every change
/// happens, the mails they cause stop at the account's daily budget, and each answer says when its mails
/// were skipped.
#[tokio::test]
async fn one_account_changing_its_address_over_and_over_mails_only_its_budget() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Flooding")).await;
    let strangers = [address("stranger-a"), address("stranger-b")];
    let budget = env.app.config.mail_limits.per_account_all_per_day as usize;
    let mut skipped = Vec::new();
    for round in 0..20 {
        let email = &strangers[round % 2];
        let changed =
            env.patch_user(&owner.user_id, json!({"email": email, "currentPassword": PASSWORD}), &owner.auth()).await;
        assert_eq!((changed.status, changed.body["email"].as_str()), (200, Some(email.as_str())), "round {round}");
        skipped.push(changed.header(accounts::http::MAILS_SKIPPED_HEADER).map(|n| n.parse::<u32>().unwrap()));
    }
    // The answers say which changes had their mails skipped: none at first, each one once the budget is gone.
    assert_eq!(skipped[0], None);
    assert!(skipped[15..].iter().all(|n| n.is_some_and(|n| n > 0)), "{skipped:?}");
    let mailed = mails_to(&strangers[0]).await.len() + mails_to(&strangers[1]).await.len();
    assert!(mailed <= budget, "{mailed} mails to the strangers, over the account's budget of {budget}");
    assert!(mailed > 0, "the first changes were mailed as usual");
    // Asking for a link, which exists only to mail, is refused once the budget is used up.
    let asked = env.client(&owner.auth()).request_verification().await;
    assert_eq!((asked.status, asked.error_code()), (429, "mail.budget.exceeded"), "{:?}", asked.body);
    assert!(asked.header("retry-after").is_some());
}

/// While an organization's invites flood the other lane, a reset link, on the security lane, arrives
/// before that backlog is sent: mail drains in the background as on AWS, at a low sending rate.
#[tokio::test]
async fn a_reset_link_arrives_while_a_flood_of_other_mail_waits_in_its_lane() {
    let env = TestEnv::with_config(|config| config.mail_send_rate = 8.0).await.draining_in_background().await;
    let flooder = env.create_organization(&organization_name("Flooder")).await;
    let victim = env.create_organization(&organization_name("Victim")).await;
    let flood: Vec<String> = (0..100).map(|i| address(&format!("flood{i}"))).collect();
    let sent = env.client(&flooder.auth()).send_invites(json!({"recipients": flood})).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    // The flooder's own address changes add what its budget allows to the security lane.
    for round in 0..6 {
        let email = address(&format!("moved{round}"));
        let patch = json!({"email": email, "currentPassword": PASSWORD});
        assert_eq!(env.patch_user(&flooder.user_id, patch, &flooder.auth()).await.status, 200);
    }
    let asked = env.client(&Auth::None).start_reset_password(&victim.email).await;
    assert_eq!(asked.status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let arrived = mails_to(&victim.email).await.iter().any(|m| m.subject == "WEBKNOSSOS | Password Reset");
        if arrived {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the reset link never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut delivered = 0;
    for recipient in &flood {
        delivered += mails_to(recipient).await.len();
    }
    assert!(
        delivered < flood.len(),
        "the reset link arrived before the flood was sent ({delivered} of {})",
        flood.len()
    );
}

/// A daily mail budget's counter as the table holds it, `sent` mails counted today.
fn budget_item(budget: &accounts::store::quotas::Budget, sent: u32) -> tests::Item {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let day = accounts::ids::now_seconds().div_euclid(86_400);
    [
        ("PK", S(budget.key.pk.clone())),
        ("SK", S(budget.key.sk.clone())),
        ("entity", S(accounts::store::quotas::MAIL_QUOTA_KIND.to_owned())),
        ("sent", N(sent.to_string())),
        ("expiresAt", N(((day + 2) * 86_400).to_string())),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// How many mails a budget has counted today (0 before its first).
async fn counted(env: &TestEnv, budget: &accounts::store::quotas::Budget) -> u32 {
    let items = env.partition(&budget.key.pk).await;
    let item = items.iter().find(|item| tests::text(item, "SK") == budget.key.sk);
    item.map_or(0, |item| tests::text(item, "sent").parse().unwrap())
}

/// The notices of the "access" kind (a change of teams or rights) each member got.
async fn access_notices(members: &[tests::Member]) -> Vec<usize> {
    let mut told = Vec::new();
    for member in members {
        told.push(mails_to(&member.email).await.iter().filter(|m| m.subject.contains("access")).count());
    }
    told
}

/// A bulk change's notices take no transaction of their own before they are queued: the change's last
/// transaction charges them to the organization's and the caller's budgets, and the drainer admits each
/// recipient when it sends (its undeliverable mark, its own budget). A recipient whose budget is used up
/// for the day is not mailed; the others are, and the answer reports no skipped mail.
#[tokio::test]
async fn a_bulk_edits_notices_are_charged_with_the_change_and_each_recipient_when_sent() {
    use accounts::store::quotas;
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let mut members = Vec::new();
    for name in ["Ann", "Ben", "Cid"] {
        members.push(env.member(&owner, name, "Charged", &[]).await);
    }
    let limits = &env.app.config.mail_limits;
    let day = accounts::ids::now_seconds().div_euclid(86_400);
    let organization_budget =
        quotas::organization_budget(&owner.organization, day, limits.per_organization_all_per_day);
    let recipient_budgets: Vec<quotas::Budget> =
        members.iter().map(|m| quotas::recipient_budget(&m.email, day, limits.per_recipient_all_per_day)).collect();
    env.put_item(budget_item(&recipient_budgets[1], limits.per_recipient_all_per_day)).await;
    let organization_before = counted(&env, &organization_budget).await;
    let (ann_before, cid_before) =
        (counted(&env, &recipient_budgets[0]).await, counted(&env, &recipient_budgets[2]).await);

    let ids: Vec<&String> = members.iter().map(|m| &m.user_id).collect();
    let body = json!({"userIds": ids, "setTeams": [{"id": red, "isTeamManager": false}]});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.header(accounts::http::MAILS_SKIPPED_HEADER), None, "the payer's budgets had room");
    assert!(changed.body.as_array().unwrap().iter().all(|u| u["teams"].to_string().contains(red.as_str())));

    assert_eq!(access_notices(&members).await, [1, 0, 1], "Ben's own budget is used up for today");
    assert_eq!(counted(&env, &organization_budget).await, organization_before + 3, "charged with the change");
    assert_eq!(counted(&env, &recipient_budgets[0]).await, ann_before + 1, "counted when sent");
    assert_eq!(counted(&env, &recipient_budgets[2]).await, cid_before + 1);
    assert_eq!(counted(&env, &recipient_budgets[1]).await, limits.per_recipient_all_per_day, "nothing over it");
}

/// When the organization's budget has room for fewer notices than a bulk change causes, the change still
/// happens for everyone, as many notices as fit are sent, and the answer says how many were not.
#[tokio::test]
async fn a_bulk_edit_past_the_organizations_budget_changes_everyone_and_says_how_many_notices_were_skipped() {
    use accounts::store::quotas;
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let mut members = Vec::new();
    for name in ["Ann", "Ben", "Cid", "Dan"] {
        members.push(env.member(&owner, name, "Overspent", &[]).await);
    }
    let limit = env.app.config.mail_limits.per_organization_all_per_day;
    let day = accounts::ids::now_seconds().div_euclid(86_400);
    let organization_budget = quotas::organization_budget(&owner.organization, day, limit);
    env.put_item(budget_item(&organization_budget, limit - 2)).await;

    let ids: Vec<&String> = members.iter().map(|m| &m.user_id).collect();
    let body = json!({"userIds": ids, "setTeams": [{"id": red, "isTeamManager": true}]});
    let changed = env.client(&owner.auth()).bulk_edit_teams_and_permissions(body).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert!(changed.body.as_array().unwrap().iter().all(|u| u["teams"].to_string().contains(red.as_str())));
    assert_eq!(changed.header(accounts::http::MAILS_SKIPPED_HEADER), Some("2"));
    assert_eq!(access_notices(&members).await.iter().sum::<usize>(), 2, "as many as the budget had room for");
    assert_eq!(counted(&env, &organization_budget).await, limit);
    // Every user changed: as the team's managers, each sees it in their own teams.
    for member in &members {
        let me = env.client(&member.auth()).current_user().await;
        assert!(me.body["teams"].to_string().contains(red.as_str()), "{:?}", me.body);
    }
}
