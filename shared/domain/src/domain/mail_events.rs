//! SES's reports about sent mail (the configuration set's event destination, through SNS): a permanent
//! bounce or a complaint marks the address undeliverable, so nothing but security mail is sent to it again
//! until the mark expires or the address is verified, and the invite the mail carried (its tags) shows it
//! in the invites list. Transient bounces and other events (sends, deliveries) change nothing.
//!
//! Only this stack's reports count ([`MailEventsSource`]): from its topic, about mail sent with its
//! configuration set from its account, and only for addresses that were recipients of that mail. Anything
//! else is dropped and logged, never retried.

use std::collections::BTreeMap;

use base64::Engine;

use crate::config::MailEventsSource;
use serde::Deserialize;

use crate::app::App;
use crate::error::{DomainError, refusals};
use crate::mail::{INVITE_TAG, ORGANIZATION_TAG};
use crate::model::{UndeliverableAddress, UndeliverableReason};
use crate::store::mail as store;

refusals! {
    /// Why a message of the mail events topic was refused.
    pub(crate) enum MailEventError {
        NotAnSesEvent { detail: String } => Invalid, "request.body.invalid", "Not an SES event: {detail}";
    }
}

/// One SES event as its event publishing writes it (the parts used; `notificationType` is the name of
/// the same field in SES's older notifications).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SesEvent {
    #[serde(alias = "notificationType")]
    event_type: String,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    #[serde(default)]
    mail: MailInfo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
    complaint_feedback_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    diagnostic_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MailInfo {
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
    /// The mail's recipients.
    #[serde(default)]
    destination: Vec<String>,
    #[serde(default)]
    sending_account_id: String,
}

/// Why an event delivered by `topic_arn` is not this stack's (`source`), if it is not (pure).
pub(crate) fn foreign(source: &MailEventsSource, topic_arn: &str, event: &SesEvent) -> Option<&'static str> {
    let configuration_set = event.mail.tags.get("ses:configuration-set").and_then(|values| values.first());
    if topic_arn != source.topic_arn {
        Some("another topic")
    } else if configuration_set != Some(&source.configuration_set) {
        Some("another configuration set")
    } else if source.account().is_empty() || event.mail.sending_account_id != source.account() {
        Some("another account")
    } else {
        None
    }
}

/// What one event changes: the addresses to mark, and the invite (organization, id) its mail carried.
#[derive(Debug, PartialEq)]
pub(crate) struct Consequences {
    pub marks: Vec<UndeliverableAddress>,
    pub invite: Option<(String, String)>,
}

/// The consequences of `event`, reported at `now` (ms): marks only for the mail's own recipients. Pure.
pub(crate) fn consequences(event: &SesEvent, now: i64) -> Consequences {
    let mark = |recipient: &Recipient, reason, detail: String| UndeliverableAddress {
        email: recipient.email_address.trim().to_lowercase(),
        reason,
        detail,
        reported: now,
        expires_at: now / 1000 + UndeliverableAddress::LIFETIME_SECONDS,
    };
    let recipients: Vec<String> = event.mail.destination.iter().map(|a| a.trim().to_lowercase()).collect();
    let marks: Vec<UndeliverableAddress> = match (event.event_type.as_str(), &event.bounce, &event.complaint) {
        ("Bounce", Some(bounce), _) if bounce.bounce_type == "Permanent" => bounce
            .bounced_recipients
            .iter()
            .map(|r| {
                let detail = r.diagnostic_code.clone().unwrap_or_else(|| bounce.bounce_sub_type.clone());
                mark(r, UndeliverableReason::Bounce, detail)
            })
            .collect(),
        ("Complaint", _, Some(complaint)) => complaint
            .complained_recipients
            .iter()
            .map(|r| {
                mark(r, UndeliverableReason::Complaint, complaint.complaint_feedback_type.clone().unwrap_or_default())
            })
            .collect(),
        _ => Vec::new(),
    };
    let marks: Vec<UndeliverableAddress> =
        marks.into_iter().filter(|m| m.email.contains('@') && recipients.contains(&m.email)).collect();
    let tag = |name: &str| event.mail.tags.get(name).and_then(|values| values.first());
    let invite = match (tag(ORGANIZATION_TAG), tag(INVITE_TAG)) {
        (Some(organization), Some(invite)) if !marks.is_empty() => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(organization)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|organization| !organization.is_empty() && crate::ids::is_object_id(invite))
            .map(|organization| (organization, invite.clone())),
        _ => None,
    };
    Consequences { marks, invite }
}

/// What recording one SNS message did.
#[derive(Debug, Default, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    pub addresses: usize,
    pub invites: usize,
    /// Events dropped as not this stack's.
    pub foreign: usize,
}

/// Records one SNS message holding an SES event, delivered by `topic_arn`, as `record_mail_events` (its
/// declaration entered unless one is in force). A message that is not such an event is refused (so the
/// invocation fails and is kept by the function's failure destination, not lost); one that is not this
/// stack's is dropped (counted as `foreign`).
pub async fn record(app: &App, topic_arn: &str, message: &str) -> Result<Recorded, DomainError> {
    let declaration = (&crate::background::RECORD_MAIL_EVENTS).into();
    crate::declared_actions::scope_unless_scoped(declaration, async {
        let event: SesEvent =
            serde_json::from_str(message).map_err(|e| MailEventError::NotAnSesEvent { detail: e.to_string() })?;
        let why = match &app.config.mail_events {
            Some(source) => foreign(source, topic_arn, &event),
            None => Some("no MAIL_EVENTS_TOPIC_ARN is configured"),
        };
        if let Some(why) = why {
            tracing::warn!(topic = topic_arn, why, "a mail event that is not this stack's was dropped");
            return Ok(Recorded { foreign: 1, ..Default::default() });
        }
        let Consequences { marks, invite } = consequences(&event, crate::ids::now_millis());
        for mark in &marks {
            store::mark_undeliverable(&app.db, mark).await?;
            tracing::info!(reason = ?mark.reason, "an address was marked undeliverable");
        }
        let mut recorded = Recorded { addresses: marks.len(), ..Default::default() };
        if let (Some((organization, invite_id)), Some(mark)) = (invite, marks.first())
            && store::mark_invite_undeliverable(&app.db, &organization, &invite_id, &mark.explanation()).await?
        {
            recorded.invites = 1;
        }
        Ok(recorded)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> SesEvent {
        serde_json::from_value(json).unwrap()
    }

    const ORGANIZATION: &str = "Sample Lab";
    const INVITE: &str = "0123456789abcdef01234567";

    fn tags() -> serde_json::Value {
        let organization = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ORGANIZATION);
        serde_json::json!({"ses:configuration-set": ["accounts"], "organization": [organization], "invite": [INVITE]})
    }

    fn mail(recipients: &[&str]) -> serde_json::Value {
        serde_json::json!({"tags": tags(), "destination": recipients, "sendingAccountId": "123456789012"})
    }

    #[test]
    fn a_permanent_bounce_marks_each_recipient_and_names_the_invite() {
        let bounce = event(serde_json::json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [
                {"emailAddress": "Gone@Example.org", "diagnosticCode": "smtp; 550 5.1.1 user unknown"},
                {"emailAddress": "other@example.org"},
                {"emailAddress": "not-a-recipient@example.org"}
            ]},
            "mail": mail(&["gone@example.org", "Other@example.org"])
        }));
        let found = consequences(&bounce, 7);
        assert_eq!(found.marks.len(), 2, "the mail's recipients only");
        assert_eq!(
            (found.marks[0].email.as_str(), found.marks[0].detail.as_str(), found.marks[0].reported),
            ("gone@example.org", "smtp; 550 5.1.1 user unknown", 7)
        );
        assert_eq!(found.marks[1].detail, "General");
        assert_eq!(found.invite, Some((ORGANIZATION.to_owned(), INVITE.to_owned())));
    }

    #[test]
    fn a_complaint_marks_its_recipient_and_transient_bounces_and_other_events_change_nothing() {
        let complaint = event(serde_json::json!({
            "notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.org"}], "complaintFeedbackType": "abuse"},
            "mail": {"destination": ["angry@example.org"]}
        }));
        let found = consequences(&complaint, 1);
        assert_eq!(found.marks.len(), 1);
        assert_eq!((found.marks[0].reason, found.invite), (UndeliverableReason::Complaint, None));
        for nothing in [
            serde_json::json!({"eventType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "full@example.org"}]}, "mail": {"tags": tags()}}),
            serde_json::json!({"eventType": "Delivery", "mail": {"tags": tags()}}),
            serde_json::json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "no-at-sign"}]}, "mail": {"tags": tags()}}),
        ] {
            assert_eq!(consequences(&event(nothing), 1), Consequences { marks: Vec::new(), invite: None });
        }
        // Tags that do not name an invite properly name none.
        let bad_tags = serde_json::json!({"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "a@b.org"}]}, "mail": {"destination": ["a@b.org"], "tags": {"organization": ["%%%"], "invite": [INVITE]}}});
        assert_eq!(consequences(&event(bad_tags), 1).invite, None);
    }

    #[test]
    fn only_this_stacks_topic_configuration_set_and_account_are_believed() {
        let source = MailEventsSource {
            topic_arn: "arn:aws:sns:eu-central-1:123456789012:accounts-mail-events".into(),
            configuration_set: "accounts".into(),
        };
        let ours = event(serde_json::json!({"eventType": "Delivery", "mail": mail(&["a@b.org"])}));
        assert_eq!(foreign(&source, &source.topic_arn, &ours), None);
        assert_eq!(foreign(&source, "arn:aws:sns:eu-central-1:123456789012:other", &ours), Some("another topic"));
        let mut other_set = mail(&["a@b.org"]);
        other_set["tags"]["ses:configuration-set"] = serde_json::json!(["someone-elses"]);
        let other_set = event(serde_json::json!({"eventType": "Delivery", "mail": other_set}));
        assert_eq!(foreign(&source, &source.topic_arn, &other_set), Some("another configuration set"));
        let mut other_account = mail(&["a@b.org"]);
        other_account["sendingAccountId"] = serde_json::json!("999999999999");
        let other_account = event(serde_json::json!({"eventType": "Delivery", "mail": other_account}));
        assert_eq!(foreign(&source, &source.topic_arn, &other_account), Some("another account"));
    }
}
