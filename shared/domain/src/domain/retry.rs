//! The one retry loop of read-plan-write changes: a write is conditioned on what was read, so when someone
//! changed it meanwhile the change is read and planned again; when DynamoDB is briefly unavailable (503),
//! it is tried again after a short wait.

use std::future::Future;
use std::time::Duration;

use crate::error::DomainError;

/// How often a change is tried before it gives up.
pub(crate) const ATTEMPTS: usize = 4;

/// What one attempt came to.
pub(crate) enum Attempt<T> {
    Done(T),
    /// What the attempt read changed before it wrote: read and plan again.
    Conflict,
}

/// Runs `attempt(n)` (n from 0) until it is done or fails: again at once after a conflict, after a short
/// jittered wait after a 503, at most [`ATTEMPTS`] times; then `exhausted`.
pub(crate) async fn until_settled<T, F, Fut>(mut attempt: F, exhausted: DomainError) -> Result<T, DomainError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<Attempt<T>, DomainError>>,
{
    for n in 0..ATTEMPTS {
        match attempt(n).await {
            Ok(Attempt::Done(value)) => return Ok(value),
            Ok(Attempt::Conflict) => {}
            Err(err) if err.kind == crate::ErrorKind::Unavailable && n + 1 < ATTEMPTS => {
                tokio::time::sleep(delay(n)).await
            }
            Err(err) => return Err(err),
        }
    }
    Err(exhausted)
}

fn delay(attempt: usize) -> Duration {
    let jitter = u64::from(crate::ids::random_bytes::<1>()[0]) % 20;
    Duration::from_millis(20 * (attempt as u64 + 1) + jitter)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test]
    async fn conflicts_and_unavailability_are_retried_and_other_errors_are_not() {
        let calls = Cell::new(0);
        let settled = until_settled(
            |n| {
                calls.set(calls.get() + 1);
                async move {
                    match n {
                        0 => Ok(Attempt::Conflict),
                        1 => Err(DomainError::new(crate::ErrorKind::Unavailable, "dynamodb.unavailable", "busy")),
                        _ => Ok(Attempt::Done(n)),
                    }
                }
            },
            DomainError::conflict("request.conflict", "gave up"),
        )
        .await;
        assert_eq!((settled.unwrap(), calls.get()), (2, 3));

        let refused = until_settled(
            |_| async { Err::<Attempt<()>, _>(DomainError::forbidden("x.notAllowed", "no")) },
            DomainError::conflict("request.conflict", "gave up"),
        )
        .await;
        assert_eq!(refused.unwrap_err().code, "x.notAllowed");

        let calls = Cell::new(0);
        let exhausted = until_settled(
            |_| {
                calls.set(calls.get() + 1);
                async { Ok::<Attempt<()>, DomainError>(Attempt::Conflict) }
            },
            DomainError::conflict("request.conflict", "gave up"),
        )
        .await;
        assert_eq!((exhausted.unwrap_err().code, calls.get()), ("request.conflict", ATTEMPTS));
    }
}
