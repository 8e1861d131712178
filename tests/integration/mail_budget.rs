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
