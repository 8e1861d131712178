//! Mail through SES v2: each mail in HTML and plain text. Notifications are best effort: a mail that cannot
//! be sent is logged and never undoes the change it reports. No mail goes to an address SES reported as
//! undeliverable (`record_mail_events`); mail is sent with the configured SES configuration set, whose
//! bounce and complaint events report those addresses, and tagged with the invite it carries, if any.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::app::App;
use crate::error::{ApiError, sdk_error};

/// The SES message tags that name the invite a mail carries, so its bounce can be recorded on it.
pub const INVITE_TAG: &str = "invite";
pub const ORGANIZATION_TAG: &str = "organization";

#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// SES message tags (names and values of letters, digits, `_` and `-`).
    pub tags: Vec<(String, String)>,
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Mail {
    /// A mail whose HTML is the text's paragraphs, escaped; `link` (if any) becomes a button-like link.
    pub fn new(to: Vec<String>, subject: impl Into<String>, paragraphs: &[String], link: Option<(&str, &str)>) -> Self {
        let mut text = paragraphs.join("\n\n");
        let mut html: String = paragraphs.iter().map(|p| format!("<p>{}</p>", escape_html(p))).collect();
        if let Some((label, url)) = link {
            text.push_str(&format!("\n\n{label}: {url}"));
            html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape_html(url), escape_html(label)));
        }
        Mail { to, subject: subject.into(), text, html: format!("<html><body>{html}</body></html>"), tags: Vec::new() }
    }

    /// The mail tagged with the invite it carries (the organization's id is base64url-encoded: tag values
    /// allow no spaces or dots).
    pub fn for_invite(mut self, organization: &str, invite_id: &str) -> Self {
        use base64::Engine;
        let organization = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(organization);
        self.tags = vec![(ORGANIZATION_TAG.to_owned(), organization), (INVITE_TAG.to_owned(), invite_id.to_owned())];
        self
    }
}

/// Sends one mail to those of its recipients not marked undeliverable (one BatchGetItem first). SES refusing
/// or being unreachable, or every recipient being undeliverable (`mail.undeliverable`), is an error the
/// caller decides about.
pub async fn send(app: &App, mail: &Mail) -> Result<(), ApiError> {
    let marks = crate::store::mail::undeliverable(&app.db, &mail.to).await?;
    let to: Vec<String> = mail.to.iter().filter(|a| !marks.iter().any(|m| &m.email == *a)).cloned().collect();
    if to.is_empty() {
        let explanation = marks.first().map(|m| m.explanation()).unwrap_or_default();
        return Err(ApiError::new(422, "mail.undeliverable", explanation));
    }
    let content = |data: &str| Content::builder().data(data).charset("UTF-8").build().expect("data is set");
    let tags = mail
        .tags
        .iter()
        .map(|(name, value)| MessageTag::builder().name(name).value(value).build().expect("name and value are set"))
        .collect();
    app.mail
        .send_email()
        .from_email_address(&app.config.mail_sender)
        .set_configuration_set_name(app.config.mail_configuration_set.clone())
        .set_email_tags(Some(tags).filter(|t: &Vec<MessageTag>| !t.is_empty()))
        .destination(Destination::builder().set_to_addresses(Some(to)).build())
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
        .await
        .map_err(|e| sdk_error("SendEmail", e))?;
    Ok(())
}

/// Sends notifications, logging (not returning) failures.
pub async fn notify(app: &App, mails: Vec<Mail>) {
    for mail in mails {
        if let Err(err) = send(app, &mail).await {
            tracing::warn!(subject = %mail.subject, error = %err, "a notification mail was not sent");
        }
    }
}

/// A UTC date and time for mails (`2026-11-22 15:53 UTC`).
pub fn utc_time_text(millis: i64) -> String {
    let time = crate::ids::iso8601(millis);
    let (date, clock) = time.split_once('T').unwrap_or((time.as_str(), ""));
    format!("{date} {} UTC", clock.get(..5).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_as_utc_dates() {
        assert_eq!(super::utc_time_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc_time_text(1_795_362_781_461), "2026-11-22 15:53 UTC");
        assert_eq!(super::utc_time_text(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
