//! Forcing a race: a DynamoDB proxy hook that holds writes (transactions, or another operation) until all
//! parties of the race have sent theirs, then lets them go together. Every request in the race has done its reads before any
//! of them writes, so what decides the race is DynamoDB's conditions, never the order the requests
//! happened to run in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Barrier;

use crate::DynamoDbHook;

/// How long a held transaction waits for the others before it goes alone (and the race counts as not met).
const WAIT_FOR_THE_OTHERS: Duration = Duration::from_secs(10);

/// The barrier the next parties wait at, the operation they send, and what marks their requests.
type Armed = Option<(Arc<Barrier>, &'static str, &'static str)>;

#[derive(Clone, Default)]
pub struct WriteBarrier {
    armed: Arc<Mutex<Armed>>,
    met: Arc<AtomicUsize>,
}

impl WriteBarrier {
    /// The hook for [`crate::TestEnv::with_dynamodb_hook`].
    pub fn hook(&self) -> DynamoDbHook {
        let barrier = self.clone();
        Arc::new(move |operation, body| {
            let barrier = barrier.clone();
            Box::pin(async move { barrier.hold(&operation, &body).await })
        })
    }

    /// Holds the next `parties` write transactions whose request contains `marker`, until all have arrived.
    pub fn arm(&self, parties: usize, marker: &'static str) {
        self.arm_on("TransactWriteItems", parties, marker);
    }

    /// Holds the next `parties` requests of `operation` (e.g. `PutItem`) that contain `marker`.
    pub fn arm_on(&self, operation: &'static str, parties: usize, marker: &'static str) {
        self.met.store(0, Ordering::SeqCst);
        *self.armed.lock().unwrap() = Some((Arc::new(Barrier::new(parties)), operation, marker));
    }

    /// How many transactions were held and released together since [`WriteBarrier::arm`] (all parties when
    /// the race was forced; fewer if some never came and the rest went alone after the wait).
    pub fn met(&self) -> usize {
        self.met.load(Ordering::SeqCst)
    }

    async fn hold(&self, operation: &str, body: &str) {
        let barrier = match self.armed.lock().unwrap().as_ref() {
            Some((barrier, held, marker)) if operation == *held && body.contains(marker) => barrier.clone(),
            _ => return,
        };
        if tokio::time::timeout(WAIT_FOR_THE_OTHERS, barrier.wait()).await.is_ok() {
            self.met.fetch_add(1, Ordering::SeqCst);
        }
        // Once the parties went, later transactions (a retry, the next step) pass freely.
        self.armed.lock().unwrap().take();
    }
}
