//! SES's bounce and complaint events, as the configuration set's topic hands them to
//! `record_mail_events`: the address is marked undeliverable, the invite the mail carried shows it, and
//! nothing is mailed to that address again, while what the mail was about still happens.

use accounts::background::RECORD_MAIL_EVENTS;
use serde_json::{Value, json};
use tests::{Auth, PASSWORD, TestEnv, as_function, mails_to, organization_name};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

/// The tags SES echoes in an event: those the invite's mail was sent with (`Mail::for_invite`).
fn invite_tags(organization: &str, invite_id: &str) -> Value {
    let mail = accounts::mail::Mail::new(vec![], "", &[], None).for_invite(organization, invite_id);
    let mut tags: serde_json::Map<String, Value> =
        mail.tags.into_iter().map(|(name, value)| (name, json!([value]))).collect();
    tags.insert("ses:configuration-set".into(), json!(["webknossos-accounts-mail"]));
    Value::Object(tags)
}

fn bounce(email: &str, bounce_type: &str, tags: Value) -> String {
    json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bounceSubType": "General", "bouncedRecipients": [
            {"emailAddress": email.to_uppercase(), "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
        ]},
        "mail": {"destination": [email], "tags": tags}
    })
    .to_string()
}

async fn record(env: &TestEnv, message: &str) -> Result<accounts::domain::mail_events::Recorded, accounts::ApiError> {
    as_function(&RECORD_MAIL_EVENTS, accounts::domain::mail_events::record(&env.app, message)).await
}

#[tokio::test]
async fn a_permanent_bounce_marks_the_invite_and_the_address_is_never_mailed_again() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Bouncing")).await;
    let gone = address("gone");
    let sent = env.post("/api/auth/sendInvites", json!({"recipients": [gone]}), &owner.auth()).await;
    assert_eq!(sent.body["recipients"][0]["status"], "invited", "{:?}", sent.body);
    let invite_id = sent.body["recipients"][0]["inviteId"].as_str().unwrap().to_owned();
    assert_eq!(mails_to(&gone).await.len(), 1);

    // A transient bounce (a full mailbox) changes nothing.
    let before = env.scan().await;
    let transient = record(&env, &bounce(&gone, "Transient", invite_tags(&owner.organization, &invite_id))).await;
    assert_eq!(transient.unwrap(), Default::default());
    assert_eq!(env.scan().await, before);

    // The permanent bounce: the address is marked, and the invite shows why its mail did not arrive.
    let recorded = record(&env, &bounce(&gone, "Permanent", invite_tags(&owner.organization, &invite_id))).await;
    assert_eq!(recorded.unwrap(), accounts::domain::mail_events::Recorded { addresses: 1, invites: 1 });
    let listed = env.get("/api/invites", &owner.auth()).await.body;
    let invite = listed.as_array().unwrap().iter().find(|i| i["id"] == invite_id.as_str()).unwrap();
    assert_eq!((invite["delivery"].as_str(), invite["state"].as_str()), (Some("undeliverable"), Some("pending")));
    let explanation = invite["deliveryError"].as_str().unwrap();
    assert!(explanation.contains("bounced") && explanation.contains("550 5.1.1"), "{explanation}");

    // Resending it, or inviting the address anew, mails nothing and says why.
    let resent = env.post(&format!("/api/invites/{invite_id}/resend"), json!({}), &owner.auth()).await;
    assert_eq!(
        (resent.status, resent.body["mailed"].as_bool(), resent.body["delivery"].as_str()),
        (200, Some(false), Some("undeliverable")),
        "{:?}",
        resent.body
    );
    let revoked = env.request("DELETE", &format!("/api/invites/{invite_id}"), None, &owner.auth()).await;
    assert!(revoked.status < 300, "{:?}", revoked.body);
    // In capitals too: addresses are compared without case.
    let again = env.post("/api/auth/sendInvites", json!({"recipients": [gone.to_uppercase()]}), &owner.auth()).await;
    assert_eq!(again.body["recipients"][0]["status"], "notMailed", "{:?}", again.body);
    assert!(again.body["recipients"][0]["error"].as_str().unwrap().contains("bounced"), "{:?}", again.body);
    assert_eq!(mails_to(&gone).await.len(), 1, "nothing more was mailed to the address");
    // Another address in the same request is mailed as usual.
    let fine = address("fine");
    let mixed = env.post("/api/auth/sendInvites", json!({"recipients": [fine]}), &owner.auth()).await;
    assert_eq!(mixed.body["recipients"][0]["status"], "invited");
    assert_eq!(mails_to(&fine).await.len(), 1);
}

#[tokio::test]
async fn a_complaint_stops_the_notices_to_that_address_but_not_what_they_report() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Complaining")).await;
    let complaint = json!({
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": owner.email}], "complaintFeedbackType": "abuse"},
        "mail": {"destination": [owner.email]}
    });
    let recorded = record(&env, &complaint.to_string()).await.unwrap();
    assert_eq!(recorded, accounts::domain::mail_events::Recorded { addresses: 1, invites: 0 });
    let mailed_before = mails_to(&owner.email).await.len();
    let new = "another-long-password";
    let body = json!({"oldPassword": PASSWORD, "password": {"password1": new, "password2": new}});
    let changed = env.post("/api/auth/changePassword", body, &owner.auth()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    env.login(&owner.email, new).await;
    assert_eq!(mails_to(&owner.email).await.len(), mailed_before, "no notice to an address that complained");
    // Asking for a reset link now answers as usual (nothing tells whether the address has an account).
    let reset = env.post("/api/auth/startResetPassword", json!({"email": owner.email}), &Auth::None).await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    assert_eq!(mails_to(&owner.email).await.len(), mailed_before);
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
