//! SES's bounce and complaint events, as the configuration set's topic hands them to
//! `record_mail_events`: the address is marked undeliverable, the invite the mail carried shows it, and
//! nothing but security mail is mailed to that address again, while what the mail was about still
//! happens. Only this stack's events are believed, and marks expire and are lifted by a verification.

use accounts::background::RECORD_MAIL_EVENTS;
use accounts::domain::mail_events::Recorded;
use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{
    Auth, MAIL_ACCOUNT, MAIL_CONFIGURATION_SET, MAIL_EVENTS_TOPIC, PASSWORD, TestEnv, as_function, mails_to,
    organization_name,
};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

/// The tags SES echoes in an event: those the invite's mail was sent with (`Mail::for_invite`).
fn invite_tags(organization: &str, invite_id: &str) -> Value {
    let mail = accounts::mail::Mail::new(vec![], "", &[], None).for_invite(organization, invite_id);
    let mut tags: serde_json::Map<String, Value> =
        mail.tags.into_iter().map(|(name, value)| (name, json!([value]))).collect();
    tags.insert("ses:configuration-set".into(), json!([MAIL_CONFIGURATION_SET]));
    Value::Object(tags)
}

fn bounce(email: &str, bounce_type: &str, tags: Value) -> String {
    json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bounceSubType": "General", "bouncedRecipients": [
            {"emailAddress": email.to_uppercase(), "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
        ]},
        "mail": {"destination": [email], "tags": tags, "sendingAccountId": MAIL_ACCOUNT}
    })
    .to_string()
}

/// The tags of a mail that carried no invite.
fn plain_tags() -> Value {
    json!({"ses:configuration-set": [MAIL_CONFIGURATION_SET]})
}

/// The event as this stack's topic delivers it.
async fn record(env: &TestEnv, message: &str) -> Result<Recorded, accounts::DomainError> {
    record_from(env, MAIL_EVENTS_TOPIC, message).await
}

async fn record_from(env: &TestEnv, topic: &str, message: &str) -> Result<Recorded, accounts::DomainError> {
    as_function(&RECORD_MAIL_EVENTS, accounts::domain::mail_events::record(&env.app, topic, message)).await
}

#[tokio::test]
async fn a_permanent_bounce_marks_the_invite_and_the_address_is_never_mailed_again() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Bouncing")).await;
    let gone = address("gone");
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [gone]})).await;
    assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
    let invite_id = sent.json::<SentInvites>().recipients[0].invite_id.clone().unwrap();
    assert_eq!(mails_to(&gone).await.len(), 1);

    // A transient bounce (a full mailbox) changes nothing.
    let before = env.scan().await;
    let transient = record(&env, &bounce(&gone, "Transient", invite_tags(&owner.organization, &invite_id))).await;
    assert_eq!(transient.unwrap(), Default::default());
    assert_eq!(env.scan().await, before);

    // The permanent bounce: the address is marked, and the invite shows why its mail did not arrive.
    let recorded = record(&env, &bounce(&gone, "Permanent", invite_tags(&owner.organization, &invite_id))).await;
    assert_eq!(recorded.unwrap(), Recorded { addresses: 1, invites: 1, foreign: 0 });
    let listed = env.client(&owner.auth()).invites("").await.body;
    let invite = listed.as_array().unwrap().iter().find(|i| i["id"] == invite_id.as_str()).unwrap();
    assert_eq!((invite["delivery"].as_str(), invite["state"].as_str()), (Some("undeliverable"), Some("pending")));
    let explanation = invite["deliveryError"].as_str().unwrap();
    assert!(explanation.contains("bounced") && explanation.contains("550 5.1.1"), "{explanation}");

    // Resending it, or inviting the address anew, mails nothing and says why.
    let resent = env.client(&owner.auth()).resend_invite(&invite_id).await;
    assert_eq!(
        (resent.status, resent.body["mailed"].as_bool(), resent.body["delivery"].as_str()),
        (200, Some(false), Some("undeliverable")),
        "{:?}",
        resent.body
    );
    let revoked = env.client(&owner.auth()).revoke_invite(&invite_id).await;
    assert!(revoked.status < 300, "{:?}", revoked.body);
    // In capitals too: addresses are compared without case.
    let again = env.client(&owner.auth()).send_invites(json!({"recipients": [gone.to_uppercase()]})).await;
    assert_eq!(again.json::<SentInvites>().recipients[0].status, "notMailed", "{:?}", again.body);
    let said = again.body["recipients"][0]["error"].as_str().unwrap();
    assert!(said.contains("refused before") && !said.contains("550"), "only \"not mailed\", no reason: {said}");
    // Another organization inviting the address learns no more than that either.
    let other = env.create_organization(&organization_name("Other")).await;
    let theirs = env.client(&other.auth()).send_invites(json!({"recipients": [gone]})).await;
    assert_eq!(theirs.json::<SentInvites>().recipients[0].status, "notMailed", "{:?}", theirs.body);
    let said = theirs.body["recipients"][0]["error"].as_str().unwrap();
    assert!(!said.contains("550") && !said.contains("bounced"), "{said}");
    let listed = env.client(&other.auth()).invites("").await.body;
    // (Its explanation, not the whole listing: an id or a timestamp may hold the digits 550.)
    for invite in listed.as_array().unwrap() {
        let explanation = invite["deliveryError"].as_str().unwrap_or_default();
        assert!(!explanation.contains("550") && !explanation.contains("bounced"), "{listed}");
    }
    assert_eq!(mails_to(&gone).await.len(), 1, "nothing more was mailed to the address");
    // Another address in the same request is mailed as usual.
    let fine = address("fine");
    let mixed = env.client(&owner.auth()).send_invites(json!({"recipients": [fine]})).await;
    assert_eq!(mixed.json::<SentInvites>().recipients[0].status, "invited");
    assert_eq!(mails_to(&fine).await.len(), 1);
}

#[tokio::test]
async fn a_complaint_stops_the_notices_to_that_address_but_not_what_they_report_nor_security_mail() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Cal", "Complainer", &[]).await;
    let complaint = json!({
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": member.email}], "complaintFeedbackType": "abuse"},
        "mail": {"destination": [member.email], "tags": plain_tags(), "sendingAccountId": MAIL_ACCOUNT}
    });
    let recorded = record(&env, &complaint.to_string()).await.unwrap();
    assert_eq!(recorded, Recorded { addresses: 1, invites: 0, foreign: 0 });
    let mark = env.scan().await.into_iter().find(|i| tests::text(i, "entity") == "UndeliverableAddress").unwrap();
    let expires: i64 = tests::text(&mark, "expiresAt").parse().expect("the mark expires");
    assert!(expires > accounts::ids::now_seconds() + 100 * 24 * 3600, "{expires}");
    let mailed_before = mails_to(&member.email).await.len();
    // A notice: what it reports happens, the mail does not go.
    let renamed = env.patch_user(&member.user_id, json!({"isActive": false}), &owner.auth()).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    assert_eq!(mails_to(&member.email).await.len(), mailed_before, "no notice to an address that complained");
    // Security mail is still attempted (SES's own suppression list decides): the reset link goes.
    let reset = env.client(&Auth::None).start_reset_password(&member.email).await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    let mails = mails_to(&member.email).await;
    assert!(mails[mailed_before..].iter().any(|m| m.subject == "WEBKNOSSOS | Password Reset"), "the reset link went");
    // Following it proves the address takes mail: the mark goes.
    let token = tests::link_token(&member.email, "finishResetPassword?token=", &env.account_id(&member.email).await)
        .await
        .unwrap();
    let body = json!({"token": token, "password": {"password1": PASSWORD, "password2": PASSWORD}});
    assert_eq!(env.post("/api/auth/resetPassword", body, &Auth::None).await.status, 200);
    assert!(!env.scan().await.iter().any(|i| tests::text(i, "entity") == "UndeliverableAddress"), "the mark is gone");
}

/// Only this stack's events are believed: from its topic, about mail sent with its configuration set from
/// its account, and for the mail's own recipients. Anything else is dropped (not retried), changing nothing.
#[tokio::test]
async fn events_from_another_topic_configuration_set_or_account_or_for_strangers_change_nothing() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Targeted")).await;
    let event = |configuration_set: &str, account: &str, destination: &str| {
        json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": owner.email}]},
            "mail": {
                "destination": [destination],
                "tags": {"ses:configuration-set": [configuration_set]},
                "sendingAccountId": account
            }
        })
        .to_string()
    };
    let before = env.scan().await;
    let other_topic = "arn:aws:sns:eu-central-1:123456789012:someone-elses-topic";
    let dropped = record_from(&env, other_topic, &event(MAIL_CONFIGURATION_SET, MAIL_ACCOUNT, &owner.email)).await;
    assert_eq!(dropped.unwrap(), Recorded { foreign: 1, ..Default::default() });
    for message in [
        event("someone-elses-set", MAIL_ACCOUNT, &owner.email),
        event(MAIL_CONFIGURATION_SET, "999999999999", &owner.email),
    ] {
        assert_eq!(record(&env, &message).await.unwrap(), Recorded { foreign: 1, ..Default::default() });
    }
    // This stack's mail, but to someone else: the owner was no recipient of it.
    let stranger = record(&env, &event(MAIL_CONFIGURATION_SET, MAIL_ACCOUNT, "someone@example.org")).await;
    assert_eq!(stranger.unwrap(), Recorded::default());
    assert_eq!(env.scan().await, before, "nothing marked");
    // A verified address loses its mark: the link arrived.
    assert_eq!(record(&env, &event(MAIL_CONFIGURATION_SET, MAIL_ACCOUNT, &owner.email)).await.unwrap().addresses, 1);
    env.verify_email(&owner.email, &owner.auth()).await;
    assert!(!env.scan().await.iter().any(|i| tests::text(i, "entity") == "UndeliverableAddress"));
}

#[tokio::test]
async fn a_message_that_is_not_an_ses_event_is_refused_and_changes_nothing() {
    let env = TestEnv::new().await;
    let before = env.scan().await;
    for message in ["not json", "{}", r#"{"eventType": 7}"#] {
        let refused = record(&env, message).await.unwrap_err();
        assert_eq!(refused.code, "request.body.invalid", "{message}");
    }
    assert_eq!(env.scan().await, before);
}

/// A permanent bounce of a reset link or a verification link (security mail, sent without an invite's
/// tags) marks the address like any other bounce: notices stop, but the next security mail is still tried
/// (SES's own suppression list decides), and following its link clears the mark.
#[tokio::test]
async fn a_bounced_reset_or_verification_mail_marks_the_address_yet_the_next_link_still_goes() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Bo", "Bounced", &[]).await;
    let security_mails = |subject: &'static str| {
        let email = member.email.clone();
        async move { mails_to(&email).await.into_iter().filter(|m| m.subject == subject).count() }
    };
    // The reset link's mail bounced for good.
    assert_eq!(env.client(&Auth::None).start_reset_password(&member.email).await.status, 200);
    assert_eq!(security_mails("WEBKNOSSOS | Password Reset").await, 1);
    let recorded = record(&env, &bounce(&member.email, "Permanent", plain_tags())).await.unwrap();
    assert_eq!(recorded, Recorded { addresses: 1, invites: 0, foreign: 0 });
    let marked = |scan: Vec<tests::Item>| scan.iter().any(|i| tests::text(i, "entity") == "UndeliverableAddress");
    assert!(marked(env.scan().await));
    // A notice is not sent to it; the verification link (security mail) still is.
    let mailed_before = mails_to(&member.email).await.len();
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    assert_eq!(mails_to(&member.email).await.len(), mailed_before, "no notice to a bounced address");
    // The verification mail bounces too: still marked, and the next link still goes; following it proves
    // the address takes mail, and the mark goes.
    let member_auth = Auth::Bearer(env.login(&member.email, PASSWORD).await);
    assert_eq!(env.client(&member_auth).request_verification().await.status, 200);
    let recorded = record(&env, &bounce(&member.email, "Permanent", plain_tags())).await.unwrap();
    assert_eq!(recorded.addresses, 1);
    assert!(marked(env.scan().await));
    env.verify_email(&member.email, &member_auth).await;
    assert!(!marked(env.scan().await), "the verified address lost its mark");
}
