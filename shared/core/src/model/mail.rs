//! What SES reported about the mail sent.

use serde::{Deserialize, Serialize};

use super::{Entity, Key};

/// Why an address gets no more mail.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum UndeliverableReason {
    /// A permanent bounce: the address does not exist or refuses mail for good.
    Bounce,
    /// The recipient marked a mail as spam.
    Complaint,
}

/// An address SES reported as undeliverable (a permanent bounce) or whose recipient complained: no mail is
/// sent to it again (`mail::send`). Not an organization's: the address itself bounced, whoever wrote to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UndeliverableAddress {
    /// Lowercased.
    pub email: String,
    pub reason: UndeliverableReason,
    /// What the receiving server or SES said (a bounce's diagnostic, or the complaint's feedback type).
    pub detail: String,
    /// Epoch ms of the report.
    pub reported: i64,
    /// Epoch seconds when the table's TTL removes the mark ([`UndeliverableAddress::LIFETIME_SECONDS`]
    /// after the report): an address may take mail again some day. A verified or reset address loses it at
    /// once.
    pub expires_at: i64,
}

impl UndeliverableAddress {
    /// How long a mark lasts.
    pub const LIFETIME_SECONDS: i64 = 180 * 24 * 3600;

    /// The sentence anyone whose mail the mark stops is shown: never the reason, which another
    /// organization's mail caused.
    pub const NOT_MAILED: &'static str =
        "Not mailed: mail to this address was refused before; it is tried again once the address is verified";

    /// The sentence the organization whose own mail bounced is shown (its invites list).
    pub fn explanation(&self) -> String {
        match self.reason {
            UndeliverableReason::Bounce => {
                format!("Mail to this address bounced ({}); it is not mailed again", self.detail)
            }
            UndeliverableReason::Complaint => {
                "The recipient marked a mail from us as spam; this address is not mailed again".to_owned()
            }
        }
    }
}

impl Entity for UndeliverableAddress {
    const KIND: &'static str = "UndeliverableAddress";
    fn key(&self) -> Key {
        Key::undeliverable_address(&self.email)
    }
}

/// A queued mail's sending, claimed before SES is asked, keyed by the queue message's id (the same on every
/// delivery of that message): a message delivered again (a batch retried after a timeout, or SQS's
/// at-least-once delivery) whose mail was claimed is not sent again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MailSending {
    pub message_id: String,
    /// `sending` (claimed: SES is being asked, or the drainer stopped while it was), `sent` or `refused`.
    pub sending_state: String,
    /// Epoch ms.
    pub claimed_at: i64,
    /// Epoch seconds when the table's TTL removes the claim ([`MailSending::LIFETIME_SECONDS`]: longer
    /// than the mail queue keeps a message).
    pub expires_at: i64,
}

impl MailSending {
    pub const LIFETIME_SECONDS: i64 = 15 * 24 * 3600;
    pub const SENDING: &'static str = "sending";
    pub const SENT: &'static str = "sent";
    pub const REFUSED: &'static str = "refused";
}

impl Entity for MailSending {
    const KIND: &'static str = "MailSending";
    fn key(&self) -> Key {
        Key::mail_sending(&self.message_id)
    }
}
