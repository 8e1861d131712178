//! What a request costs in AWS calls, measured where the calls are made: DynamoDB round trips and mail
//! requests (SQS's, queueing a mail, or SES's, sending one; each attempt that went over the network), the time spent waiting for them, and DynamoDB's consumed capacity (every
//! DynamoDB request asks for `ReturnConsumedCapacity: TOTAL`). `dispatch::dispatch` logs the figures with
//! every request, so CloudWatch shows them, and the benchmark reads them to separate the bundle's own
//! time from DynamoDB's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextRef,
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_get_item::*, batch_write_item::*, delete_item::*, get_item::*, put_item::*, query::*, transact_get_items::*,
    transact_write_items::*, update_item::*,
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// The AWS cost of one request so far.
#[derive(Default, Debug)]
pub struct RequestMetrics {
    dynamodb_round_trips: AtomicU32,
    mail_requests: AtomicU32,
    /// When each request was on the wire, and whether it was a mail request (SQS's or SES's): concurrent
    /// requests overlap, and a wait is their union.
    waits: std::sync::Mutex<Vec<Wait>>,
    /// Consumed read and write capacity units, in thousandths (priced differently).
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    /// The part of the write capacity that audit entries took (see [`record_audit_writes`]).
    audit_write_milli: AtomicU64,
    /// Mails the request's change caused that a mail budget skipped (see [`record_mail_skipped`]).
    mails_skipped: AtomicU32,
}

impl RequestMetrics {
    pub fn dynamodb_round_trips(&self) -> u32 {
        self.dynamodb_round_trips.load(Ordering::Relaxed)
    }
    pub fn mail_requests(&self) -> u32 {
        self.mail_requests.load(Ordering::Relaxed)
    }
    /// The time at least one AWS request was on the wire (requests sent at once count once).
    pub fn wait_micros(&self) -> u64 {
        self.union_micros(|_| true)
    }
    /// The time at least one DynamoDB request was on the wire.
    pub fn dynamodb_wait_micros(&self) -> u64 {
        self.union_micros(|wait| !wait.is_mail)
    }
    /// The time at least one mail request (queueing or sending a mail) was on the wire.
    pub fn mail_wait_micros(&self) -> u64 {
        self.union_micros(|wait| wait.is_mail)
    }
    fn union_micros(&self, counted: impl Fn(&Wait) -> bool) -> u64 {
        let waits = self.waits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut waits: Vec<(Instant, Instant)> =
            waits.iter().filter(|wait| counted(wait)).map(|wait| (wait.started, wait.ended)).collect();
        waits.sort();
        let mut total = std::time::Duration::ZERO;
        let mut current: Option<(Instant, Instant)> = None;
        for (start, end) in waits {
            current = match current {
                Some((from, to)) if start <= to => Some((from, to.max(end))),
                Some((from, to)) => {
                    total += to - from;
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        if let Some((from, to)) = current {
            total += to - from;
        }
        total.as_micros() as u64
    }
    pub fn read_capacity_units(&self) -> f64 {
        self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn write_capacity_units(&self) -> f64 {
        self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn audit_write_capacity_units(&self) -> f64 {
        self.audit_write_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn mails_skipped(&self) -> u32 {
        self.mails_skipped.load(Ordering::Relaxed)
    }
}

/// Counts a mail the request caused that was skipped over its budget: the change happened, and the answer
/// says the mail was not sent (`dispatch`, header [`crate::http::MAILS_SKIPPED_HEADER`]).
pub fn record_mail_skipped() {
    with_current(|metrics| {
        metrics.mails_skipped.fetch_add(1, Ordering::Relaxed);
    });
}

/// Counts the write capacity that committed audit entries took, by DynamoDB's rules (the consumed capacity
/// DynamoDB reports is per request, not per item): what the audit log adds to each operation.
pub(crate) fn record_audit_writes(units: f64) {
    with_current(|metrics| {
        metrics.audit_write_milli.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    });
}

tokio::task_local! {
    static CURRENT: Arc<RequestMetrics>;
}

/// Runs `work`, counting its AWS calls into `metrics`.
pub async fn measure<F: std::future::Future>(metrics: Arc<RequestMetrics>, work: F) -> F::Output {
    CURRENT.scope(metrics, work).await
}

fn with_current(f: impl FnOnce(&RequestMetrics)) {
    let _ = CURRENT.try_with(|metrics| f(metrics));
}

#[derive(Debug, Clone, Copy)]
struct Wait {
    started: Instant,
    ended: Instant,
    is_mail: bool,
}

#[derive(Debug)]
struct TransmitStarted(Instant);

impl Storable for TransmitStarted {
    type Storer = StoreReplace<Self>;
}

/// The SDK interceptor (added to both clients in [`crate::App::new`]).
#[derive(Debug)]
pub struct AwsCallMetrics;

macro_rules! ask_for_capacity {
    ($input:expr, $($kind:ty),*) => {
        $(if let Some(input) = $input.downcast_mut::<$kind>() {
            input.return_consumed_capacity = Some(ReturnConsumedCapacity::Total);
        })*
    };
}

fn units(capacity: &ConsumedCapacity) -> f64 {
    capacity.capacity_units.unwrap_or_default()
}

/// The (read, write) capacity units a DynamoDB answer reports: reads for the reading operations, writes
/// for the writing ones.
fn consumed(output: &aws_smithy_runtime_api::client::interceptors::context::Output) -> (f64, f64) {
    macro_rules! one {
        ($kind:ty, $as:expr) => {
            if let Some(output) = output.downcast_ref::<$kind>() {
                return $as(output.consumed_capacity.as_ref().map(units).unwrap_or_default());
            }
        };
    }
    macro_rules! many {
        ($kind:ty, $as:expr) => {
            if let Some(output) = output.downcast_ref::<$kind>() {
                return $as(output.consumed_capacity.iter().flatten().map(units).sum());
            }
        };
    }
    let read = |units: f64| (units, 0.0);
    let write = |units: f64| (0.0, units);
    one!(GetItemOutput, read);
    one!(QueryOutput, read);
    many!(BatchGetItemOutput, read);
    many!(TransactGetItemsOutput, read);
    one!(PutItemOutput, write);
    one!(UpdateItemOutput, write);
    one!(DeleteItemOutput, write);
    many!(BatchWriteItemOutput, write);
    many!(TransactWriteItemsOutput, write);
    (0.0, 0.0)
}

impl Intercept for AwsCallMetrics {
    fn name(&self) -> &'static str {
        "AwsCallMetrics"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ask_for_capacity!(
            context.input_mut(),
            GetItemInput,
            PutItemInput,
            UpdateItemInput,
            DeleteItemInput,
            QueryInput,
            BatchGetItemInput,
            BatchWriteItemInput,
            TransactWriteItemsInput,
            TransactGetItemsInput
        );
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(TransmitStarted(Instant::now()));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(TransmitStarted(started)) = cfg.load::<TransmitStarted>() {
            let (started, ended) = (*started, Instant::now());
            let is_mail = cfg.load::<Metadata>().is_some_and(|metadata| matches!(metadata.service(), "SESv2" | "SQS"));
            with_current(|metrics| {
                let counter = if is_mail { &metrics.mail_requests } else { &metrics.dynamodb_round_trips };
                counter.fetch_add(1, Ordering::Relaxed);
                let wait = Wait { started, ended, is_mail };
                metrics.waits.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(wait);
            });
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(output) = context.output_or_error() {
            let (read, write) = consumed(output);
            with_current(|metrics| {
                metrics.read_milli.fetch_add((read * 1000.0).round() as u64, Ordering::Relaxed);
                metrics.write_milli.fetch_add((write * 1000.0).round() as u64, Ordering::Relaxed);
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn requests_on_the_wire_at_once_count_once_in_the_wait() {
        let metrics = RequestMetrics::default();
        let t = Instant::now();
        let ms = |n: u64| t + Duration::from_millis(n);
        // Two at once (0–10, 5–12), then one alone (20–25), and one inside the first two (6–8); the
        // mail requests among them (5–12, 20–25) are also counted apart, as are DynamoDB's.
        for (started, ended, is_mail) in
            [(ms(20), ms(25), true), (ms(0), ms(10), false), (ms(5), ms(12), true), (ms(6), ms(8), false)]
        {
            metrics.waits.lock().unwrap().push(Wait { started, ended, is_mail });
        }
        assert_eq!(metrics.wait_micros(), 17_000);
        assert_eq!(metrics.dynamodb_wait_micros(), 10_000);
        assert_eq!(metrics.mail_wait_micros(), 12_000);
        assert_eq!(RequestMetrics::default().wait_micros(), 0);
    }
}
