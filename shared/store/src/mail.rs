//! Undeliverable addresses (SES's bounces and complaints), instance-wide like the e-mail guards.

use super::{Db, n, s};
use crate::StoreError;
use crate::model::InviteDelivery;
use crate::model::{Key, MailSending, UndeliverableAddress};

/// Marks an address (one conditional PutItem); a report older than the stored one changes nothing.
pub async fn mark_undeliverable(db: &Db, mark: &UndeliverableAddress) -> Result<(), StoreError> {
    db.put_if(mark, "attribute_not_exists(PK) OR reported <= :reported", vec![(":reported", n(mark.reported))])
        .await
        .map(|_| ())
}

/// Records on an invite that its address is undeliverable (one conditional UpdateItem): `false` when the
/// invite is gone (ended and cleaned up, or its organization deleted).
pub async fn mark_invite_undeliverable(
    db: &Db,
    organization: &str,
    invite_id: &str,
    explanation: &str,
) -> Result<bool, StoreError> {
    db.update_if(
        &Key::invite(organization, invite_id),
        "SET delivery = :undeliverable, deliveryError = :explanation",
        "attribute_exists(PK)",
        vec![(":undeliverable", s("undeliverable")), (":explanation", s(explanation))],
    )
    .await
}

/// Records what SES did with an invite's queued mail (one conditional UpdateItem): sent (`refused: None`)
/// or refused for good. Nothing changes when the invite is gone, was resent meanwhile (another nonce) or
/// is no longer waiting for this mail.
pub async fn record_delivery(db: &Db, delivery: &InviteDelivery, refused: Option<&str>) -> Result<(), StoreError> {
    let key = Key::invite(&delivery.organization, &delivery.invite_id);
    let condition = "attribute_exists(PK) AND nonce = :nonce AND delivery = :queued";
    let mut values = vec![(":nonce", s(&delivery.nonce)), (":queued", s("queued"))];
    let update = match refused {
        None => {
            values.push((":sent", s("sent")));
            "SET delivery = :sent REMOVE deliveryError"
        }
        Some(reason) => {
            values.push((":failed", s("failed")));
            values.push((":reason", s(reason)));
            "SET delivery = :failed, deliveryError = :reason"
        }
    };
    db.update_if(&key, update, condition, values).await.map(|_| ())
}

/// Claims the sending of a queued message's mail (one conditional PutItem): `None` when this call claimed
/// it, else the state an earlier delivery of the message left (`sending`, `sent`, `refused`; one GetItem).
pub async fn claim_sending(db: &Db, message_id: &str, now_millis: i64) -> Result<Option<String>, StoreError> {
    if db.put_if(&sending_claim(message_id, now_millis), "attribute_not_exists(PK)", vec![]).await? {
        return Ok(None);
    }
    sending_state(db, message_id).await
}

/// The claim of a message's sending ([`claim_sending`]; [`crate::quotas::admit_mail`] writes it with a
/// mail's admission).
pub fn sending_claim(message_id: &str, now_millis: i64) -> MailSending {
    MailSending {
        message_id: message_id.to_owned(),
        sending_state: MailSending::SENDING.to_owned(),
        claimed_at: now_millis,
        expires_at: now_millis / 1000 + MailSending::LIFETIME_SECONDS,
    }
}

/// The state an earlier delivery of a message left (`sending`, `sent`, `refused`), after its claim failed
/// (one GetItem).
pub async fn sending_state(db: &Db, message_id: &str) -> Result<Option<String>, StoreError> {
    let earlier: Option<MailSending> = db.get(&Key::mail_sending(message_id)).await?;
    // Gone between the two requests (its TTL): nothing was sent within the claim's lifetime, so sending is
    // as safe as it was for the first claim.
    Ok(earlier.map(|e| e.sending_state))
}

/// Records how a claimed sending ended: `sent` or `refused` (one UpdateItem).
pub async fn finish_sending(db: &Db, message_id: &str, state: &str) -> Result<(), StoreError> {
    db.update_if(
        &Key::mail_sending(message_id),
        "SET sendingState = :state",
        "attribute_exists(PK)",
        vec![(":state", s(state))],
    )
    .await
    .map(|_| ())
}

/// Gives a claim up after SES said "not now" for sure, so the message's next delivery sends it (one
/// conditional DeleteItem).
pub async fn release_sending(db: &Db, message_id: &str) -> Result<(), StoreError> {
    db.delete_if(&Key::mail_sending(message_id), "sendingState = :sending", vec![(":sending", s(MailSending::SENDING))])
        .await
        .map(|_| ())
}
