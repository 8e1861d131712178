//! Mail: each mail in HTML and plain text, queued (the [`crate::app::MailQueue`] port: SQS) by the function that makes it and sent through
//! SES v2 by the queue's drainer (`send_mail`) at the configured rate, so no request waits for SES or
//! outruns its sending rate. A mail SES does not take for the moment (throttled, unreachable) stays in the
//! queue and is tried again; after `MailMaxAttempts` tries it goes to the dead-letter queue, which has an
//! alarm. Notifications are best effort: a mail that cannot be queued is logged and never undoes the
//! change it reports. No mail but security mail goes to an address SES reported as undeliverable (`record_mail_events`);
//! mail is sent with the configured SES configuration set, whose bounce and complaint events report those
//! addresses, and tagged with the invite it carries, if any.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::DomainError;
use crate::model::InviteDelivery;

/// The SES message tags that name the invite a mail carries, so its bounce can be recorded on it.
pub(crate) const INVITE_TAG: &str = "invite";
pub(crate) const ORGANIZATION_TAG: &str = "organization";

/// Why a mail was not queued (see [`send`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MailError {
    /// None of its recipients may be mailed: SES reported them undeliverable. Said to callers only as "not
    /// mailed", since the mark may come from another organization's mail.
    #[error("every recipient is undeliverable")]
    Undeliverable,
    /// A daily mail budget (`whose`: the account's, the organization's, a recipient's) is used up until the
    /// day ends, `retry_after` seconds from now.
    #[error("the {whose}'s mail budget for today is used up")]
    OverBudget { whose: &'static str, retry_after: u64 },
    /// The store or the queue failed, or the mail was refused for another reason.
    #[error(transparent)]
    NotSent(#[from] DomainError),
}

impl From<MailError> for DomainError {
    fn from(err: MailError) -> Self {
        match err {
            MailError::Undeliverable => {
                DomainError::unprocessable("mail.undeliverable", crate::model::UndeliverableAddress::NOT_MAILED)
            }
            MailError::OverBudget { whose, retry_after } => DomainError::too_many_requests(
                "mail.budget.exceeded",
                format!("Not mailed: the {whose}'s mail budget for today is used up; try again tomorrow"),
                retry_after,
            ),
            MailError::NotSent(err) => err,
        }
    }
}

impl From<accounts_store::StoreError> for MailError {
    fn from(err: accounts_store::StoreError) -> Self {
        MailError::NotSent(err.into())
    }
}

/// How many drainers run at once at most (the queue's event source mapping: `MaximumConcurrency`, whose
/// least is 2); each paces itself to its share of the sending rate.
pub const DRAINERS: u32 = 2;

/// A mail, as it is queued (the SQS message's body is its JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// SES message tags (names and values of letters, digits, `_` and `-`).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The invite whose delivery state the drainer records (its first mail or a resend; not a reminder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_of: Option<InviteDelivery>,
    /// A security mail (a reset or verification link, "password changed", "address changed"): sent even
    /// to an address marked undeliverable, where SES's own suppression list decides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub security: bool,
    /// A notice whose payer's budgets were counted with the change it reports ([`queue_paid`]): the
    /// drainer admits its recipients (undeliverable marks, their budgets) when it sends it
    /// ([`claim_sending`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recipients_admitted_when_sent: bool,
    /// Whose budget the mail is counted on (see [`send`]); not queued.
    #[serde(skip)]
    pub payer: Payer,
}

/// The account whose action causes a mail and its organization: their daily mail budgets pay for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payer {
    pub account: Option<String>,
    pub organization: Option<String>,
}

/// `text` as HTML text (in an element, or a double-quoted attribute): what markup would read, escaped.
pub fn escape_html(text: &str) -> String {
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
        Mail {
            to,
            subject: subject.into(),
            text,
            html: format!("<html><body>{html}</body></html>"),
            tags: Vec::new(),
            delivery_of: None,
            security: false,
            recipients_admitted_when_sent: false,
            payer: Payer::default(),
        }
    }

    /// The mail counted on the budgets of `account` and `organization` (whose action causes it).
    pub(crate) fn paid_by(mut self, account: Option<&str>, organization: Option<&str>) -> Self {
        self.payer = Payer { account: account.map(str::to_owned), organization: organization.map(str::to_owned) };
        self
    }

    /// The mail as a security mail (see [`Mail::security`]).
    pub(crate) fn security(mut self) -> Self {
        self.security = true;
        self
    }

    /// The mail tagged with the invite it carries (the organization's id is base64url-encoded: tag values
    /// allow no spaces or dots).
    pub fn for_invite(mut self, organization: &str, invite_id: &str) -> Self {
        use base64::Engine;
        let organization = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(organization);
        self.tags = vec![(ORGANIZATION_TAG.to_owned(), organization), (INVITE_TAG.to_owned(), invite_id.to_owned())];
        self
    }

    /// The mail records its outcome on the invite it was made for (`nonce`: the invite as it was then).
    pub(crate) fn recording_delivery_of(mut self, organization: &str, invite_id: &str, nonce: &str) -> Self {
        self.delivery_of = Some(InviteDelivery {
            organization: organization.to_owned(),
            invite_id: invite_id.to_owned(),
            nonce: nonce.to_owned(),
        });
        self
    }
}

/// Queues one mail for those of its recipients not marked undeliverable (a security mail: for all of them),
/// within the one mail budget in front of every mail (`config.mail_limits`): the paying account's and
/// organization's daily budgets, and each recipient's (not for security mail, which nobody may use up
/// against its recipient; its requests have their own throttles). One transaction checks the marks and
/// counts the budgets (one round trip; another only when a recipient is marked), then one SQS SendMessage.
/// The queue refusing or being unreachable, every recipient being undeliverable, or a budget used up is a
/// [`MailError`] the caller decides about: notices log it, producers that exist only to mail answer it.
pub(crate) async fn send(app: &App, mail: &Mail) -> Result<(), MailError> {
    use crate::store::quotas::{self, MailAdmission};
    let now = crate::ids::now_seconds();
    let mut to = distinct_recipients(mail);
    loop {
        if to.is_empty() {
            return Err(MailError::Undeliverable);
        }
        let admission = admission_of(app, mail, &to, now);
        if admission.budgets.is_empty() {
            break;
        }
        match quotas::admit_mail(&app.db, None, &admission.checked, &admission.budgets, now).await? {
            // No claim is made here, so none was made before.
            MailAdmission::Admitted | MailAdmission::ClaimedBefore => break,
            MailAdmission::Undeliverable(marked) => {
                to = leave_out(&to, &marked);
            }
            MailAdmission::OverBudget(whose) => {
                tracing::warn!(budget = whose, subject = %mail.subject, "a mail over its daily budget was not sent");
                crate::request_metrics::record_mail_skipped();
                return Err(MailError::OverBudget { whose, retry_after: (86_400 - now.rem_euclid(86_400)) as u64 });
            }
        }
    }
    let queued = Mail { to, ..mail.clone() };
    Ok(app.mail_queue.enqueue(lane_of(app, mail), serde_json::to_string(&queued).expect("a mail serializes")).await?)
}

/// The daily budgets of the accounts and organizations paying for `mails` (each budget once, with the
/// number of its mails), to count with the change the mails report ([`queue_paid`] then queues them); `None`
/// when they are more than a budget's whole day ([`notify`] then admits what fits).
pub(crate) fn payer_budgets(app: &App, mails: &[Mail]) -> Option<Vec<(crate::store::quotas::Budget, u32)>> {
    let day = crate::ids::now_seconds().div_euclid(86_400);
    let mut counts: Vec<(crate::store::quotas::Budget, u32)> = Vec::new();
    for mail in mails {
        for budget in payer_budgets_of(app, mail, day) {
            match counts.iter_mut().find(|(counted, _)| counted.key == budget.key) {
                Some((_, count)) => *count += 1,
                None => counts.push((budget, 1)),
            }
        }
    }
    counts.iter().all(|(budget, count)| *count <= budget.limit).then_some(counts)
}

/// Queues notices whose payers' budgets were counted with the change they report ([`payer_budgets`]),
/// ten to an SQS request per lane, all at once: no transaction before them. The drainer admits their
/// recipients when it sends them ([`claim_sending`]). Failures are logged, as [`notify`]'s.
pub(crate) async fn queue_paid(app: &App, mails: Vec<Mail>) {
    let mut queued: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for mail in mails {
        // A security mail's recipients are never checked or counted (see [`send`]).
        let mail = Mail { to: distinct_recipients(&mail), recipients_admitted_when_sent: !mail.security, ..mail };
        if mail.to.is_empty() {
            tracing::warn!(subject = %mail.subject, "a notification mail to nobody was not queued");
            continue;
        }
        queued.entry(lane_of(app, &mail)).or_default().push(serde_json::to_string(&mail).expect("a mail serializes"));
    }
    queue_notices(app, queued).await;
}

/// What claiming a queued mail's sending found ([`claim_sending`]).
#[derive(Debug, PartialEq)]
pub enum SendingClaim {
    /// Claimed: send this mail (to the recipients that may be mailed).
    Send(Box<Mail>),
    /// An earlier delivery of the message claimed it and left this state (`sending`, `sent`, `refused`).
    HandledBefore(Option<String>),
    /// A notice whose recipients may not be mailed now (why: `undeliverable`, or the budget used up); nothing
    /// was claimed or counted, and it is not sent.
    NotAdmitted(&'static str),
}

/// The drainer's claim of a queued mail's sending (`message_id`, the queue message's; none: nothing to
/// claim). A notice queued by [`queue_paid`] is admitted in the claim's transaction: recipients marked
/// undeliverable are left out, and each remaining one's daily budget is counted (one round trip; another
/// when some recipient is marked). Any other mail was admitted when it was queued: the claim alone.
pub async fn claim_sending(app: &App, message_id: Option<&str>, mail: &Mail) -> Result<SendingClaim, DomainError> {
    use crate::store::quotas::{self, MailAdmission};
    let now_millis = crate::ids::now_millis();
    if !mail.recipients_admitted_when_sent {
        let Some(id) = message_id else { return Ok(SendingClaim::Send(Box::new(mail.clone()))) };
        return Ok(match crate::store::mail::claim_sending(&app.db, id, now_millis).await? {
            None => SendingClaim::Send(Box::new(mail.clone())),
            Some(state) => SendingClaim::HandledBefore(Some(state)),
        });
    }
    let claim = message_id.map(|id| crate::store::mail::sending_claim(id, now_millis));
    let now = now_millis.div_euclid(1000);
    let day = now.div_euclid(86_400);
    let mut to = distinct_recipients(mail);
    loop {
        if to.is_empty() {
            return Ok(SendingClaim::NotAdmitted("undeliverable"));
        }
        let budgets = recipient_budgets(app, &to, day);
        match quotas::admit_mail(&app.db, claim.as_ref(), &to, &budgets, now).await? {
            MailAdmission::Admitted => return Ok(SendingClaim::Send(Box::new(Mail { to, ..mail.clone() }))),
            MailAdmission::ClaimedBefore => {
                let id = message_id.expect("only a claim is claimed before");
                return Ok(SendingClaim::HandledBefore(crate::store::mail::sending_state(&app.db, id).await?));
            }
            MailAdmission::Undeliverable(marked) => {
                to = leave_out(&to, &marked);
            }
            MailAdmission::OverBudget(whose) => return Ok(SendingClaim::NotAdmitted(whose)),
        }
    }
}

/// Each address once (a transaction takes each item once).
fn distinct_recipients(mail: &Mail) -> Vec<String> {
    let mut to: Vec<String> = Vec::with_capacity(mail.to.len());
    for address in &mail.to {
        if !to.iter().any(|a| a.trim().eq_ignore_ascii_case(address.trim())) {
            to.push(address.clone());
        }
    }
    to
}

/// What admitting `mail` to `to` checks and counts (see [`send`]).
fn admission_of(app: &App, mail: &Mail, to: &[String], now: i64) -> crate::store::quotas::MailToAdmit {
    let day = now.div_euclid(86_400);
    let mut budgets = payer_budgets_of(app, mail, day);
    let checked: Vec<String> = if mail.security { Vec::new() } else { to.to_vec() };
    budgets.extend(recipient_budgets(app, &checked, day));
    crate::store::quotas::MailToAdmit { checked, budgets }
}

/// The daily budgets of `day` of the account and the organization paying for `mail`.
fn payer_budgets_of(app: &App, mail: &Mail, day: i64) -> Vec<crate::store::quotas::Budget> {
    use crate::store::quotas;
    let limits = &app.config.mail_limits;
    let account = mail.payer.account.iter().map(|a| quotas::account_budget(a, day, limits.per_account_all_per_day));
    let organization = (mail.payer.organization.iter())
        .map(|o| quotas::organization_budget(o, day, limits.per_organization_all_per_day));
    account.chain(organization).collect()
}

/// The daily budgets of `day` of each of `recipients`.
fn recipient_budgets(app: &App, recipients: &[String], day: i64) -> Vec<crate::store::quotas::Budget> {
    let limit = app.config.mail_limits.per_recipient_all_per_day;
    recipients.iter().map(|recipient| crate::store::quotas::recipient_budget(recipient, day, limit)).collect()
}

/// `to` without the recipients at the indexes `marked` (an admission found them undeliverable).
fn leave_out(to: &[String], marked: &[usize]) -> Vec<String> {
    to.iter().enumerate().filter(|(i, _)| !marked.contains(i)).map(|(_, a)| a.clone()).collect()
}

/// Queues each lane's mail bodies, ten to an SQS request, all at once; failures are logged (notices).
async fn queue_notices(app: &App, queued: std::collections::BTreeMap<&str, Vec<String>>) {
    let sends = queued.into_iter().map(|(lane, bodies)| async move {
        let count = bodies.len();
        if let Err(err) = app.mail_queue.enqueue_batch(lane, bodies).await {
            tracing::warn!(mails = count, error = %err, "notification mails were not all queued");
        }
    });
    futures_util::future::join_all(sends).await;
}

/// The queue `mail` goes into: security mail takes its own lane, which a backlog of other mail never delays.
fn lane_of<'a>(app: &'a App, mail: &Mail) -> &'a str {
    match &app.config.mail_security_queue_url {
        security if mail.security && !security.is_empty() => security,
        _ => &app.config.mail_queue_url,
    }
}

/// Queues notifications, logging (not returning) failures. Several at once (a bulk change's notices) are
/// admitted in as few transactions as their items allow, and queued ten to an SQS request, all at once: a
/// batch whose admission fails (a mark, a budget) is sent one by one through [`send`], which finds out
/// which of its mails cannot go.
pub(crate) async fn notify(app: &App, mails: Vec<Mail>) {
    use crate::store::quotas;
    if mails.len() < 2 {
        return notify_one_by_one(app, mails).await;
    }
    let now = crate::ids::now_seconds();
    // A mail to nobody goes through `send`, which answers why.
    let (mails, nobody): (Vec<Mail>, Vec<Mail>) =
        mails.into_iter().map(|mail| Mail { to: distinct_recipients(&mail), ..mail }).partition(|m| !m.to.is_empty());
    let admissions: Vec<quotas::MailToAdmit> =
        mails.iter().map(|mail| admission_of(app, mail, &mail.to, now)).collect();
    // Consecutive mails, as many as fit in one transaction (each distinct item once).
    let mut batches: Vec<(Vec<usize>, std::collections::BTreeSet<crate::model::Key>)> = Vec::new();
    for (index, admission) in admissions.iter().enumerate() {
        let keys = admission.item_keys();
        match batches.last_mut() {
            Some((batch, items))
                if items.len() + keys.iter().filter(|k| !items.contains(*k)).count()
                    <= crate::store::TRANSACTION_LIMIT =>
            {
                batch.push(index);
                items.extend(keys);
            }
            _ => batches.push((vec![index], keys.into_iter().collect())),
        }
    }
    // One after another: the batches share the payer's budget items, and transactions touching one item at
    // once would cancel each other. A single mail too large for one transaction goes through `send`, which
    // says why.
    let mut admitted = Vec::with_capacity(batches.len());
    for (batch, items) in &batches {
        let batch_admissions: Vec<&quotas::MailToAdmit> = batch.iter().map(|&i| &admissions[i]).collect();
        let fits = items.len() <= crate::store::TRANSACTION_LIMIT;
        admitted.push(if fits { quotas::admit_mails(&app.db, &batch_admissions, now).await } else { Ok(false) });
    }
    // Per lane, the admitted mails' bodies.
    let mut queued: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut one_by_one = nobody;
    for ((batch, _), admitted) in batches.iter().zip(admitted) {
        match admitted {
            Ok(true) => {
                for &i in batch {
                    let body = serde_json::to_string(&mails[i]).expect("a mail serializes");
                    queued.entry(lane_of(app, &mails[i])).or_default().push(body);
                }
            }
            Ok(false) => one_by_one.extend(batch.iter().map(|&i| mails[i].clone())),
            Err(err) => {
                tracing::warn!(mails = batch.len(), error = %err, "notification mails were not queued");
            }
        }
    }
    queue_notices(app, queued).await;
    notify_one_by_one(app, one_by_one).await;
}

async fn notify_one_by_one(app: &App, mails: Vec<Mail>) {
    for mail in mails {
        if let Err(err) = send(app, &mail).await {
            tracing::warn!(subject = %mail.subject, error = %err, "a notification mail was not queued");
        }
    }
}

/// A UTC date and time for mails (`2026-11-22 15:53 UTC`).
pub(crate) fn utc_time_text(millis: i64) -> String {
    let time = crate::ids::iso8601(millis);
    let (date, clock) = time.split_once('T').unwrap_or((time.as_str(), ""));
    format!("{date} {} UTC", clock.get(..5).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_mail_reads_back_as_it_was_written() {
        let mail =
            Mail::new(vec!["a@example.org".into()], "Hi", &["Hello".into()], Some(("Go", "https://x.org/?a=1&b=<2>")))
                .for_invite("Sample Lab", "0123456789abcdef01234567")
                .recording_delivery_of("Sample Lab", "0123456789abcdef01234567", "nonce");
        let read: Mail = serde_json::from_str(&serde_json::to_string(&mail).unwrap()).unwrap();
        assert_eq!(read, mail);
        assert!(mail.html.contains("a=1&amp;b=&lt;2&gt;"));
    }

    #[test]
    fn times_are_written_as_utc_dates() {
        assert_eq!(super::utc_time_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc_time_text(1_795_362_781_461), "2026-11-22 15:53 UTC");
        assert_eq!(super::utc_time_text(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
