//! `Idempotency-Key` on the creating requests (sendInvites, register, createOrganizationWithAdmin, the bulk
//! edits, creating organizations and teams, credits, invite resends and joins): a request retried with the
//! same key gets the first response and does nothing twice.
//!
//! One mechanism for every such route: its handler wraps its work in [`once`]. The key is scoped to the
//! caller (organization and user) or, on anonymous routes, to the key alone; the record also holds the
//! operation and a keyed fingerprint of the body without its passwords ([`SECRET_FIELDS`]: an HMAC under a
//! key derived from the server's secret, so the table holds nothing to test password guesses against), so
//! the same key with another request is refused (422
//! `idempotency.key.reused`). Before the work, one conditional PutItem claims the key (so two concurrent
//! identical requests cannot both run it); a concurrent duplicate waits briefly for the first to finish
//! and then answers with its response, or gets 409 `idempotency.inProgress`. A successful response is
//! recorded for 24 hours (TTL) and replayed with the header `idempotent-replayed: true`. A failed request
//! changed nothing (the routes are all-or-nothing), so its claim is released and a retry runs again. A
//! claim whose request died holds for [`LEASE`] and can then be taken over.

use std::future::Future;

use crate::App;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::http::HandlerResult;
use crate::http::{Body, Request, Response, header};
use crate::model::{Entity, IdempotencyRecord, IdempotencyState};
use crate::operations::Operation;
use crate::store::idempotency::{self, Claimed};

pub(crate) const HEADER: &str = "idempotency-key";
/// Set on a replayed response.
pub(crate) const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a response is kept for retries.
pub(crate) const RETENTION_SECONDS: i64 = 24 * 3600;
/// How long an in-progress claim holds (far beyond the functions' timeout).
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a concurrent duplicate waits for the first request to finish.
const WAIT_FOR_FIRST: std::time::Duration = std::time::Duration::from_secs(3);
pub(crate) const MAX_KEY_LENGTH: usize = 255;

/// Who the key belongs to.
pub enum Scope<'a> {
    /// Anonymous routes: the key alone.
    Anonymous,
    Caller(&'a Caller),
}

/// Fields whose values never reach a stored fingerprint (they would let a table reader test password
/// guesses against it): a retry differing only in them counts as the same request.
const SECRET_FIELDS: &[&str] = &["password", "currentPassword", "oldPassword", "token"];

/// The body as the fingerprint sees it: a JSON object without its secret fields (keys sorted), else the
/// bytes as they are.
fn without_secrets(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            for field in SECRET_FIELDS {
                fields.remove(*field);
            }
            serde_json::to_vec(&fields).unwrap_or_default()
        }
        _ => body.to_vec(),
    }
}

fn validated_key(req: &Request) -> Result<Option<&str>, ApiError> {
    if req.headers().get(HEADER).is_some() && header(req, HEADER).is_none() {
        return Err(invalid_key());
    }
    match header(req, HEADER) {
        None => Ok(None),
        Some(key)
            if !key.is_empty() && key.len() <= MAX_KEY_LENGTH && key.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            Ok(Some(key))
        }
        Some(_) => Err(invalid_key()),
    }
}

fn invalid_key() -> ApiError {
    ApiError::bad_request(
        "idempotency.key.invalid",
        format!("The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} visible ASCII characters (e.g. a UUID)"),
    )
}

/// Runs `work` (the route's handler body) once per `Idempotency-Key`; without the header it just runs it.
pub(crate) async fn once(
    app: &App,
    req: &Request,
    operation: &Operation,
    scope: Scope<'_>,
    work: impl Future<Output = HandlerResult>,
) -> HandlerResult {
    let Some(key) = validated_key(req)? else { return work.await };
    // The path too: the same key on another invite, organization or token is another request.
    let mut request = req.uri().path().as_bytes().to_vec();
    request.push(0);
    request.extend(without_secrets(req.body().as_ref()));
    let request_hash = app.keys.request_fingerprint(operation.name, &request)?;
    let (organization, user_id) = match scope {
        Scope::Anonymous => (None, None),
        Scope::Caller(caller) => (Some(caller.organization.id.clone()), Some(caller.user.id.clone())),
    };
    let now = crate::ids::now_millis();
    let claimed = IdempotencyRecord {
        organization,
        user_id,
        key_hash: crate::ids::sha256_hex(key),
        operation: operation.name.to_owned(),
        request_hash,
        state: IdempotencyState::InProgress,
        claim: crate::ids::new_secret(),
        lease_until: now + LEASE.as_millis() as i64,
        status: None,
        body: None,
        created: now,
        expires_at: now / 1000 + RETENTION_SECONDS,
    };
    let waited_since = std::time::Instant::now();
    let mut existing = match idempotency::claim(&app.db, &claimed, now).await? {
        Claimed::Ours => return run_claimed(app, claimed, work).await,
        Claimed::Taken(existing) => existing,
    };
    loop {
        let same_request = existing.operation == claimed.operation
            && app.keys.fingerprint_matches(&existing.request_hash, operation.name, &request)?;
        if !same_request {
            return Err(ApiError::new(
                422,
                "idempotency.key.reused",
                "This Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        match existing.state {
            IdempotencyState::Completed => return Ok(replay(&existing)),
            // The first request failed meanwhile: this one may run.
            IdempotencyState::Released => {
                let now = crate::ids::now_millis();
                let retry =
                    IdempotencyRecord { created: now, lease_until: now + LEASE.as_millis() as i64, ..claimed.clone() };
                match idempotency::claim(&app.db, &retry, now).await? {
                    Claimed::Ours => return run_claimed(app, retry, work).await,
                    Claimed::Taken(again) => existing = again,
                }
                continue;
            }
            IdempotencyState::InProgress => {}
        }
        if waited_since.elapsed() >= WAIT_FOR_FIRST {
            return Err(ApiError::conflict(
                "idempotency.inProgress",
                "A request with this Idempotency-Key is still being processed; retry it in a moment",
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        existing = match idempotency::read(&app.db, &Entity::key(&claimed)).await? {
            Some(record) => record,
            // Expired and removed: start over as a new request.
            None => match idempotency::claim(&app.db, &claimed, crate::ids::now_millis()).await? {
                Claimed::Ours => return run_claimed(app, claimed, work).await,
                Claimed::Taken(record) => record,
            },
        };
    }
}

async fn run_claimed(
    app: &App,
    claimed: IdempotencyRecord,
    work: impl Future<Output = HandlerResult>,
) -> HandlerResult {
    let outcome = work.await;
    let settled = match &outcome {
        Ok(response) if response.status().is_success() => IdempotencyRecord {
            state: IdempotencyState::Completed,
            status: Some(response.status().as_u16()),
            body: Some(body_text(response.body())),
            ..claimed
        },
        _ => IdempotencyRecord { state: IdempotencyState::Released, ..claimed },
    };
    match idempotency::settle(&app.db, &settled).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::error!(operation = settled.operation, "idempotency claim was taken over before the work finished")
        }
        // The work is done; a retry after the lease would run it again, which is logged here.
        Err(err) => {
            tracing::error!(operation = settled.operation, error = %err, "could not record the idempotent response")
        }
    }
    outcome
}

fn body_text(body: &Body) -> String {
    match body {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

fn replay(record: &IdempotencyRecord) -> Response<Body> {
    Response::builder()
        .status(record.status.unwrap_or(200))
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header(REPLAYED_HEADER, "true")
        .body(Body::Text(record.body.clone().unwrap_or_default()))
        .expect("a response from a recorded status and static headers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_leave_out_passwords_and_need_the_server_key() {
        let a =
            br#"{"email":"a@x.org","password":{"password1":"secret one","password2":"secret one"},"firstName":"A"}"#;
        let b = br#"{"firstName":"A","password":{"password1":"other","password2":"other"},"email":"a@x.org"}"#;
        assert_eq!(without_secrets(a), without_secrets(b), "same request but for the password, keys in any order");
        assert!(!String::from_utf8(without_secrets(a)).unwrap().contains("secret"));
        let keys = crate::tokens::Keys::from_secret(&[7u8; 32], "http://localhost");
        let other = crate::tokens::Keys::from_secret(&[8u8; 32], "http://localhost");
        let fingerprint = keys.request_fingerprint("register", &without_secrets(a)).unwrap();
        assert_ne!(fingerprint, other.request_fingerprint("register", &without_secrets(a)).unwrap());
        assert_ne!(
            fingerprint,
            keys.request_fingerprint("create_organization_with_admin", &without_secrets(a)).unwrap()
        );
        assert_ne!(fingerprint, crate::ids::sha256_hex(std::str::from_utf8(a).unwrap()));
        assert_eq!(without_secrets(b"not json"), b"not json");
    }
}
