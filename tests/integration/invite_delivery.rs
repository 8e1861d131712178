//! Invite mail on its way: the queue (SES unreachable or refusing, its sending rate, the dead-letter
//! queue) and the daily job (reminders once, cleanup through its indexes, none into an organization being
//! deleted).

use serde_json::json;
use tests::answers::SentInvites;
use tests::{Auth, TestEnv, invite_token, mails_to, organization_name, text};

use crate::invites::{address, expire, invite, refusing_ses, register_form, send};

#[tokio::test]
async fn while_ses_is_unreachable_the_mail_waits_in_the_queue_and_goes_out_once_it_is_back() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let ses = TestEnv::unreachable_ses().await;
    let broken = env.sharing_table(&ses.endpoint()).await;
    let email = address("unlucky");
    // The request answers as soon as the mail is queued: the invite is made, its mail on its way.
    let response = send(&broken, &owner.auth(), json!({"recipients": [email], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []})).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let result = &response.body["recipients"][0];
    assert_eq!(result["status"], "invited");
    let listed = env.client(&owner.auth()).invites("").await.body;
    assert_eq!((listed[0]["delivery"].as_str(), listed[0]["state"].as_str()), (Some("queued"), Some("pending")));
    assert!(mails_to(&email).await.is_empty());
    // Tried again after the queue's visibility timeout: SES is still away, the mail still waits.
    env.until_mail_is_visible_again().await;
    assert_eq!(broken.deliver_mail().await, 0);
    assert!(mails_to(&email).await.is_empty());
    // SES is back: the next try sends it, the invite says so, and the link works.
    env.until_mail_is_visible_again().await;
    assert_eq!(env.deliver_mail().await, 1);
    let listed = env.client(&owner.auth()).invites("").await.body;
    assert_eq!(listed[0]["delivery"].as_str(), Some("sent"));
    let token = invite_token(&mails_to(&email).await.pop().unwrap());
    assert_eq!(env.client(&Auth::None).organization_by_invite(&token).await.status, 200);
    assert!(env.mail_queue().dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_mail_ses_never_takes_ends_in_the_dead_letter_queue_after_its_tries() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let ses = TestEnv::unreachable_ses().await;
    let broken = env.sharing_table(&ses.endpoint()).await;
    let email = address("never");
    let response = send(&broken, &owner.auth(), json!({"recipients": [email]})).await;
    assert_eq!(response.json::<SentInvites>().recipients[0].status, "invited", "{:?}", response.body);
    // The request's own try was the first; each later one comes after the visibility timeout.
    for _ in 1..tests::MAIL_QUEUE_MAX_RECEIVES {
        env.until_mail_is_visible_again().await;
        assert_eq!(broken.deliver_mail().await, 0);
    }
    env.until_mail_is_visible_again().await;
    // Tried as often as allowed: SQS moves it to the dead-letter queue (its alarm goes off on AWS), and a
    // working SES does not see it any more.
    assert_eq!(env.deliver_mail().await, 0);
    let dead = env.mail_queue().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let mail: accounts::mail::Mail = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(mail.to, vec![email.clone()]);
    assert!(mails_to(&email).await.is_empty());
    // The invite still waits for its mail, and can be resent.
    let id = response.body["recipients"][0]["inviteId"].as_str().unwrap();
    let listed = env.client(&owner.auth()).invites("").await.body;
    assert_eq!(listed[0]["delivery"].as_str(), Some("queued"));
    let resent = env.client(&owner.auth()).resend_invite(id).await;
    assert_eq!(resent.body["delivery"].as_str(), Some("queued"), "{:?}", resent.body);
    assert_eq!(mails_to(&email).await.len(), 1, "the resent mail went out");
}

#[tokio::test]
async fn the_queue_is_sent_at_the_configured_rate() {
    // Five mails a second, of which the invites' lane has three quarters: each of its two drainers sends
    // one every 0.53 s.
    let env = TestEnv::with_config(|config| config.mail_send_rate = 5.0).await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let recipients: Vec<String> = (0..4).map(|i| address(&format!("paced{i}"))).collect();
    let queued = std::time::Instant::now();
    let response = send(&env, &owner.auth(), json!({"recipients": recipients})).await;
    assert!(response.body["recipients"].as_array().unwrap().iter().all(|r| r["status"] == "invited"));
    // The four went out in one batch, paced: a pause of 0.53 s after each.
    let pause = accounts::mail_drain::lane_pace(5.0, false);
    assert_eq!(pause, std::time::Duration::from_secs_f64(2.0 / 3.75));
    let elapsed = queued.elapsed();
    assert!(elapsed >= pause * 4, "{elapsed:?}");
    for recipient in &recipients {
        assert_eq!(mails_to(recipient).await.len(), 1, "{recipient}");
    }
}

#[tokio::test]
async fn the_daily_job_reminds_once_and_cleans_up_through_its_indexes() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let email = address("forgetful");
    let token = invite(&env, &owner.auth(), &email, json!({})).await;
    let used = address("quick");
    let used_token = invite(&env, &owner.auth(), &used, json!({})).await;
    assert_eq!(env.client(&Auth::None).register(register_form(&used, &used_token)).await.status, 200);
    let now = accounts::ids::now_millis();
    let day = 24 * 3600 * 1000;
    let report = accounts::domain::daily::maintain(&env.app, now).await.unwrap();
    assert_eq!((report.reminded, report.deleted, report.finished), (0, 0, true));
    // A run whose time is up starts nothing: it says it did not finish, and what was due stays due.
    let before = env.scan().await;
    let out_of_time = std::time::Instant::now();
    let report = accounts::domain::daily::maintain_until(&env.app, now + 8 * day, out_of_time).await.unwrap();
    assert_eq!((report.deleted, report.finished), (0, false));
    assert_eq!(env.scan().await, before);
    // The used invite goes after its retention (7 days): the next run does it.
    let report = accounts::domain::daily::maintain(&env.app, now + 8 * day).await.unwrap();
    assert_eq!((report.reminded, report.deleted, report.finished), (0, 1, true));
    // Twelve and a half days in, the pending invite expires within two days: one reminder, same link.
    let report = accounts::domain::daily::maintain(&env.app, now + 12 * day + day / 2).await.unwrap();
    assert_eq!((report.reminded, report.deleted), (1, 0));
    env.deliver_mail().await;
    let reminder = mails_to(&email).await.pop().unwrap();
    assert!(reminder.subject.starts_with("Reminder"));
    assert_eq!(invite_token(&reminder), token);
    assert_eq!(accounts::domain::daily::maintain(&env.app, now + 13 * day).await.unwrap().reminded, 0, "only once");
    // The pending one goes after its expiry (14 days) plus the retention.
    let report = accounts::domain::daily::maintain(&env.app, now + 22 * day).await.unwrap();
    assert_eq!(report.deleted, 1);
    let left: Vec<String> =
        env.scan().await.iter().map(|i| text(i, "entity")).filter(|e| e.starts_with("Invite")).collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(env.client(&Auth::None).organization_by_invite(&token).await.status, 404);
}

#[tokio::test]
async fn the_daily_job_sends_no_reminders_into_an_organization_being_deleted() {
    let env = TestEnv::new().await;
    let doomed = env.create_organization(&organization_name("Doomed Lab")).await;
    let alive = env.create_organization(&organization_name("Alive Lab")).await;
    let doomed_address = address("doomed");
    let alive_address = address("alive");
    invite(&env, &doomed.auth(), &doomed_address, json!({})).await;
    invite(&env, &alive.auth(), &alive_address, json!({})).await;
    env.mark_deletion_requested(&doomed.organization).await;
    let day = 24 * 3600 * 1000;
    let report =
        accounts::domain::daily::maintain(&env.app, accounts::ids::now_millis() + 12 * day + day / 2).await.unwrap();
    assert_eq!(report.reminded, 1, "only the living organization's invite");
    env.deliver_mail().await;
    assert!(mails_to(&alive_address).await.iter().any(|m| m.subject.starts_with("Reminder")));
    assert!(mails_to(&doomed_address).await.iter().all(|m| !m.subject.starts_with("Reminder")));
}

#[tokio::test]
async fn when_ses_refuses_a_queued_mail_the_invite_is_marked_failed_and_can_be_resent() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let (endpoint, server) = refusing_ses().await;
    let refusing = env.sharing_table(&endpoint).await;
    let (first, second) = (address("refused1"), address("refused2"));
    let response = send(&refusing, &owner.auth(), json!({"recipients": [first, second], "autoActivate": true})).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["recipients"].as_array().unwrap().len(), 2, "{:?}", response.body);
    for result in response.body["recipients"].as_array().unwrap() {
        assert_eq!(result["status"], "invited", "{result}");
    }
    // SES refused both for good: recorded on the invites with its reason, and not tried again.
    let listed = env.client(&owner.auth()).invites("").await.body;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        listed.as_array().unwrap().iter().all(|i| i["delivery"] == "failed"
            && i["state"] == "pending"
            && i["deliveryError"].as_str().unwrap_or_default().contains("not verified")),
        "{listed}"
    );
    assert!(env.mail_queue_is_empty().await, "nothing was left in the queue, not even waiting to be tried again");
    assert!(env.mail_queue().dead_letters().await.unwrap().is_empty());
    // Resent through a working SES, it is delivered.
    let id = response.body["recipients"][0]["inviteId"].as_str().unwrap();
    let resent = env.client(&owner.auth()).resend_invite(id).await;
    assert_eq!((resent.body["mailed"].as_bool(), resent.body["delivery"].as_str()), (Some(true), Some("queued")));
    let listed = env.client(&owner.auth()).invites("").await.body;
    assert!(listed.as_array().unwrap().iter().any(|i| i["id"] == id && i["delivery"] == "sent"), "{listed}");
    let token = invite_token(&mails_to(&first).await.pop().unwrap());
    assert_eq!(env.client(&Auth::None).register(register_form(&first, &token)).await.status, 200);
    server.abort();
}

#[tokio::test]
async fn the_daily_job_deletes_an_expired_invite_whose_address_was_invited_again() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let email = address("again");
    invite(&env, &owner.auth(), &email, json!({})).await;
    let old = env.scan().await.into_iter().find(|i| text(i, "entity") == "Invite").unwrap();
    expire(&env, &text(&old, "PK"), &text(&old, "SK"), &email).await;
    invite(&env, &owner.auth(), &email, json!({})).await;
    // The guard is the new invite's now; the old one still goes when its retention has passed.
    let report =
        accounts::domain::daily::maintain(&env.app, accounts::ids::now_millis() + 8 * 24 * 3600 * 1000).await.unwrap();
    assert_eq!(report.deleted, 1);
    let scan = env.scan().await;
    let invites: Vec<String> = scan.iter().filter(|i| text(i, "entity") == "Invite").map(|i| text(i, "id")).collect();
    assert_eq!(invites.len(), 1);
    assert_ne!(invites[0], text(&old, "id"));
    let guard = scan.iter().find(|i| text(i, "entity") == "InviteEmailGuard").unwrap();
    assert_eq!(text(guard, "inviteId"), invites[0]);
}

/// The invite indexes' partition is sharded by invite id, so the instance's invite writes do not share one
/// partition; the daily job reads every shard (in parallel, page by page: some shard holds more than a page)
/// and so reaches every invite, the ones in shard 0 (the name of the one partition before) included.
#[tokio::test]
async fn invites_spread_over_the_index_shards_and_the_daily_job_reaches_every_one() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Busy Lab")).await;
    for batch in 0..2 {
        let recipients: Vec<String> = (0..100).map(|n| address(&format!("many{batch}x{n}"))).collect();
        let body = json!({"recipients": recipients, "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []});
        let response = send(&env, &owner.auth(), body).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
    }
    let mut per_shard = std::collections::BTreeMap::<String, usize>::new();
    for invite in env.scan().await.iter().filter(|i| text(i, "entity") == "Invite") {
        assert_eq!(text(invite, "remindPartition"), text(invite, "cleanupPartition"));
        assert_eq!(text(invite, "cleanupPartition"), accounts::model::invite_schedule_partition(&text(invite, "id")));
        *per_shard.entry(text(invite, "cleanupPartition")).or_default() += 1;
    }
    assert_eq!(per_shard.values().sum::<usize>(), 200);
    let shards: Vec<&String> = per_shard.keys().collect();
    assert_eq!(shards.len(), accounts::model::INVITE_SCHEDULE_SHARDS as usize, "every shard is used: {per_shard:?}");
    assert!(shards.contains(&&accounts::model::INVITE_SCHEDULE_PARTITION.to_owned()), "{per_shard:?}");
    let page = accounts::store::maintenance::SWEEP_PAGE_ITEMS / accounts::model::INVITE_SCHEDULE_SHARDS as usize;
    assert!(per_shard.values().any(|&count| count > page), "a shard holds more than one page: {per_shard:?}");
    let day = 24 * 3600 * 1000;
    let now = accounts::ids::now_millis();
    let report = accounts::domain::daily::maintain(&env.app, now + 12 * day + day / 2).await.unwrap();
    assert_eq!((report.reminded, report.reminders_failed, report.finished), (200, 0, true));
    let report = accounts::domain::daily::maintain(&env.app, now + 22 * day).await.unwrap();
    assert_eq!((report.deleted, report.finished), (200, true));
    assert!(env.scan().await.iter().all(|i| !text(i, "entity").starts_with("Invite")));
}

/// The SQS event of one queued `mail` with the message id `id`, as the event source mapping delivers it.
fn queued(id: &str, mail: &accounts::mail::Mail) -> aws_lambda_events::event::sqs::SqsEvent {
    serde_json::from_value(json!({"Records": [{
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": serde_json::to_string(mail).unwrap(),
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:local-mail",
        "awsRegion": "us-east-1",
    }]}))
    .unwrap()
}

/// SQS delivers a message at least once, and a batch cut short by a timeout comes again whole: the drainer
/// claims each mail's sending by the message's id before asking SES, so a message delivered again is not
/// mailed again; a mail SES did not take (unreachable) is released and goes out on the next delivery; a
/// claim left by a drainer that stopped before SES answered is not sent again either (SES may have it).
#[tokio::test]
async fn a_queued_mail_delivered_twice_is_sent_once() {
    let env = TestEnv::new().await;
    let to = address("once");
    let mail = accounts::mail::Mail::new(vec![to.clone()], "Once only", &["Hello.".into()], None);
    for _ in 0..2 {
        let response = accounts::mail_drain::drain(&env.app, queued("message-once", &mail)).await;
        assert!(response.batch_item_failures.is_empty(), "taken: {response:?}");
    }
    assert_eq!(mails_to(&to).await.len(), 1, "sent once");
    let claim = env
        .mail_sending_claims()
        .await
        .into_iter()
        .find(|i| text(i, "PK") == "MAILSEND#message-once")
        .expect("claimed");
    assert_eq!(text(&claim, "sendingState"), "sent");

    // SES away: not sent, the claim given up, the message kept; SES back: the next delivery sends it.
    let later = address("later");
    let mail = accounts::mail::Mail::new(vec![later.clone()], "Later", &["Hello.".into()], None);
    let ses = TestEnv::unreachable_ses().await;
    let broken = env.sharing_table(&ses.endpoint()).await;
    let response = accounts::mail_drain::drain(&broken.app, queued("message-later", &mail)).await;
    assert_eq!(response.batch_item_failures.len(), 1, "kept for another try");
    let claims = env.mail_sending_claims().await;
    assert!(!claims.iter().any(|i| text(i, "PK") == "MAILSEND#message-later"), "the claim was given up");
    let response = accounts::mail_drain::drain(&env.app, queued("message-later", &mail)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(mails_to(&later).await.len(), 1);

    // A drainer stopped between claiming and SES's answer: the message comes again and is not sent.
    let cut = address("cut");
    let mail = accounts::mail::Mail::new(vec![cut.clone()], "Cut short", &["Hello.".into()], None);
    let now = accounts::ids::now_millis();
    let stale = accounts::model::MailSending {
        message_id: "message-cut".into(),
        sending_state: accounts::model::MailSending::SENDING.into(),
        claimed_at: now - 120_000,
        expires_at: now / 1000 + accounts::model::MailSending::LIFETIME_SECONDS,
    };
    env.put_item(accounts::store::to_item(&stale)).await;
    let response = accounts::mail_drain::drain(&env.app, queued("message-cut", &mail)).await;
    assert!(response.batch_item_failures.is_empty(), "not kept either: it would only come back");
    assert!(mails_to(&cut).await.is_empty(), "not sent twice");
}
