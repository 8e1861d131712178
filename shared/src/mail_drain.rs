//! The mail queues' drainer (`send_mail`): takes the queued mails from SQS and sends them through SES at
//! the lane's pace, recording each invite's outcome. The domain queues mail (`accounts_domain::mail`); this
//! is the adapter that delivers it.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::app::App;
use crate::mail::{DRAINERS, Mail, SendingClaim};

/// What SES said to one mail.
#[derive(Debug, PartialEq)]
pub(crate) enum SesOutcome {
    Sent,
    /// Not now (throttled, unreachable, failing): the mail stays queued and is tried again.
    TryAgain(String),
    /// Never (refused, a bad address, a sender not verified): recorded and not tried again.
    Refused(String),
}

/// Whether an SES error is worth another try: throttling and anything SES or the network may get over.
/// Refusals of the mail itself are not.
pub(crate) fn classify(error_code: Option<&str>, message: String) -> SesOutcome {
    match error_code {
        Some(
            "MessageRejected"
            | "BadRequestException"
            | "MailFromDomainNotVerifiedException"
            | "AccountSuspendedException",
        ) => SesOutcome::Refused(message),
        _ => SesOutcome::TryAgain(message),
    }
}

/// The part of the sending rate the security lane has (the other lane has the rest), so that the two lanes
/// together never outrun SES's rate, and security mail moves even while the other lane is full.
pub(crate) const SECURITY_LANE_SHARE: f64 = 0.25;

/// The pause after each mail of one drainer of a lane (`security`: the security lane's; each lane has
/// [`DRAINERS`] drainers at most).
pub fn lane_pace(mail_send_rate: f64, security: bool) -> Duration {
    let share = if security { SECURITY_LANE_SHARE } else { 1.0 - SECURITY_LANE_SHARE };
    Duration::from_secs_f64(f64::from(DRAINERS) / (mail_send_rate * share))
}

/// The drainer (`send_mail`, its declaration entered unless one is in force): sends a batch of queued mails one after another at its pace, records each invite's
/// outcome, and answers which messages SQS keeps for another try (`ReportBatchItemFailures`). A message
/// that is no mail is reported as failed too (it ends in the dead-letter queue, for someone to look at).
pub async fn drain(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let declaration = (&crate::background::SEND_MAIL).into();
    crate::declared_actions::scope_unless_scoped(declaration, drain_batch(app, event)).await
}

/// How long a batch may take: the function's timeout less a margin for the last mail's SES call and the
/// answer. A mail that would start after it is left in the queue for the next batch.
fn batch_budget() -> Duration {
    Duration::from_secs(u64::from(crate::background::SEND_MAIL.timeout_seconds)) - Duration::from_secs(15)
}

/// Whether a mail to `recipients` still fits in the batch's budget, `elapsed` into it: its pause (SES's
/// rate counts recipients, not mails) must end within the budget.
pub(crate) fn fits_in_budget(elapsed: Duration, pace: Duration, recipients: usize, budget: Duration) -> bool {
    elapsed + pace * recipients.max(1) as u32 <= budget
}

async fn drain_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let started = std::time::Instant::now();
    for (index, message) in event.records.iter().enumerate() {
        let id = message.message_id.clone().unwrap_or_default();
        let Some(mail) = message.body.as_deref().and_then(|body| serde_json::from_str::<Mail>(body).ok()) else {
            tracing::error!(message = %id, "a queued message is not a mail");
            response.batch_item_failures.push(failure(id));
            continue;
        };
        let pace = lane_pace(app.config.mail_send_rate, mail.security);
        // The first mail of a batch always goes (a mail to more recipients than a batch's budget allows
        // would otherwise never go); later ones only while they fit.
        if index > 0 && !fits_in_budget(started.elapsed(), pace, mail.to.len(), batch_budget()) {
            tracing::info!(message = %id, "the batch's time is up: the mail waits for the next batch");
            response.batch_item_failures.push(failure(id));
            continue;
        }
        // Claimed first, by the message's id: a message delivered again whose mail was claimed is not sent
        // again. A claim whose drainer stopped before SES answered stays claimed: SES may have taken the
        // mail, and sending it twice is the worse mistake (an invite can be resent by hand). A notice whose
        // recipients are admitted now is admitted with its claim.
        let mail = match crate::mail::claim_sending(app, Some(id.as_str()).filter(|id| !id.is_empty()), &mail).await {
            Ok(SendingClaim::Send(mail)) => *mail,
            Ok(SendingClaim::HandledBefore(state)) => {
                if state.as_deref() == Some(crate::model::MailSending::SENDING) {
                    tracing::error!(message = %id, "a mail whose sending was cut short is not sent again: SES may have taken it");
                } else {
                    tracing::info!(message = %id, state = ?state, "a mail delivered again was handled before");
                }
                continue;
            }
            Ok(SendingClaim::NotAdmitted(why)) => {
                tracing::warn!(message = %id, why, subject = %mail.subject, "a notice was not sent: its recipients may not be mailed now");
                continue;
            }
            Err(err) => {
                tracing::warn!(message = %id, error = %err, "the mail's sending was not claimed; it is tried again");
                response.batch_item_failures.push(failure(id));
                continue;
            }
        };
        let outcome = send_now(app, &mail).await;
        if !id.is_empty() {
            let claim = match &outcome {
                SesOutcome::Sent => {
                    crate::store::mail::finish_sending(&app.db, &id, crate::model::MailSending::SENT).await
                }
                SesOutcome::Refused(_) => {
                    crate::store::mail::finish_sending(&app.db, &id, crate::model::MailSending::REFUSED).await
                }
                SesOutcome::TryAgain(_) => crate::store::mail::release_sending(&app.db, &id).await,
            };
            if let Err(err) = claim {
                tracing::warn!(message = %id, error = %err, "the outcome of a mail's sending was not recorded");
            }
        }
        // After every mail, the last of a batch too: the drainer's next batch may follow at once. Each lane
        // at its share of the rate (a batch comes from one lane), per recipient, as SES counts its rate.
        tokio::time::sleep(pace * mail.to.len().max(1) as u32).await;
        let recorded = match (&outcome, &mail.delivery_of) {
            (SesOutcome::Sent, Some(delivery)) => crate::store::mail::record_delivery(&app.db, delivery, None).await,
            (SesOutcome::Refused(reason), Some(delivery)) => {
                crate::store::mail::record_delivery(&app.db, delivery, Some(reason.as_str())).await
            }
            _ => Ok(()),
        };
        if let Err(err) = recorded {
            tracing::warn!(message = %id, error = %err, "the delivery state of an invite was not recorded");
        }
        match outcome {
            SesOutcome::Sent => {}
            SesOutcome::Refused(reason) => tracing::warn!(message = %id, reason, "SES refused a mail"),
            SesOutcome::TryAgain(reason) => {
                tracing::warn!(message = %id, reason, "SES did not take a mail; it is tried again");
                response.batch_item_failures.push(failure(id));
            }
        }
    }
    response
}

fn failure(item_identifier: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = item_identifier;
    failure
}

/// Sends one mail through SES.
async fn send_now(app: &App, mail: &Mail) -> SesOutcome {
    let content = |data: &str| Content::builder().data(data).charset("UTF-8").build().expect("data is set");
    let tags = mail
        .tags
        .iter()
        .map(|(name, value)| MessageTag::builder().name(name).value(value).build().expect("name and value are set"))
        .collect();
    let sent = app
        .mail
        .send_email()
        .from_email_address(&app.config.mail_sender)
        .set_configuration_set_name(app.config.mail_configuration_set.clone())
        .set_email_tags(Some(tags).filter(|t: &Vec<MessageTag>| !t.is_empty()))
        .destination(Destination::builder().set_to_addresses(Some(mail.to.clone())).build())
        .content(
            EmailContent::builder()
                .simple(
                    Message::builder()
                        .subject(content(&mail.subject))
                        .body(Body::builder().text(content(&mail.text)).html(content(&mail.html)).build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await;
    match sent {
        Ok(_) => SesOutcome::Sent,
        Err(err) => {
            let code = err
                .as_service_error()
                .and_then(|e| aws_sdk_sesv2::error::ProvideErrorMetadata::code(e))
                .map(str::to_owned);
            let message = aws_sdk_sesv2::error::DisplayErrorContext(&err).to_string();
            classify(code.as_deref(), message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_not_tried_again_and_everything_else_is() {
        for code in [
            "MessageRejected",
            "BadRequestException",
            "MailFromDomainNotVerifiedException",
            "AccountSuspendedException",
        ] {
            assert_eq!(classify(Some(code), "x".into()), SesOutcome::Refused("x".into()), "{code}");
        }
        for code in [Some("TooManyRequestsException"), Some("LimitExceededException"), Some("InternalFailure"), None] {
            assert_eq!(classify(code, "x".into()), SesOutcome::TryAgain("x".into()), "{code:?}");
        }
    }

    #[test]
    fn a_batch_starts_a_mail_only_while_its_pause_per_recipient_ends_within_the_budget() {
        let budget = batch_budget();
        assert_eq!(budget, Duration::from_secs(45), "60 s less the margin");
        let pace = Duration::from_secs(2);
        assert!(fits_in_budget(Duration::ZERO, pace, 1, budget));
        assert!(fits_in_budget(Duration::from_secs(43), pace, 1, budget));
        assert!(!fits_in_budget(Duration::from_secs(44), pace, 1, budget));
        // Fifty admins told at once: fifty pauses.
        assert!(!fits_in_budget(Duration::ZERO, pace, 50, budget));
        assert!(fits_in_budget(Duration::ZERO, pace, 22, budget));
        assert!(fits_in_budget(Duration::ZERO, pace, 0, budget), "a mail to nobody counts as one");
    }

    #[test]
    fn each_drainer_waits_its_share_of_its_lanes_share_of_the_sending_rate() {
        // Two drainers a lane; the security lane a quarter of the rate, the other three quarters.
        assert_eq!(lane_pace(1.0, true), Duration::from_secs(8));
        assert_eq!(lane_pace(1.0, false), Duration::from_secs_f64(8.0 / 3.0));
        assert_eq!(lane_pace(14.0, false), Duration::from_secs_f64(2.0 / 10.5));
        // Both lanes busy, all four drainers together send at the rate, never faster.
        let per_second =
            |rate: f64| 2.0 / lane_pace(rate, true).as_secs_f64() + 2.0 / lane_pace(rate, false).as_secs_f64();
        assert!((per_second(14.0) - 14.0).abs() < 1e-6, "{}", per_second(14.0));
    }
}
