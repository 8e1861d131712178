//! Lambda's event source mapping on a table's stream, played locally against DynamoDB Local's streams:
//! reads each shard from its oldest record (TRIM_HORIZON), parents before children, hands batches to a
//! handler as the DynamoDB event Lambda sends, and, when the handler names a failed record
//! (`ReportBatchItemFailures`), delivers again from that record; when the handler fails, the whole batch.
//!
//! GetRecords is read as plain JSON rather than through the SDK: DynamoDB Local writes an empty map
//! attribute as `{}` instead of `{"M": {}}` in stream records (an audit entry of a job has an empty
//! `context`), which the SDK refuses to parse. Lambda's records are the API's records with the stream's
//! ARN added, so the JSON passes through with that one repair.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{Shard, ShardIteratorType};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where a shard's delivery resumes.
#[derive(Debug, Clone, PartialEq)]
enum Checkpoint {
    At(String),
    After(String),
    Done,
}

pub struct StreamMapping {
    client: aws_sdk_dynamodbstreams::Client,
    endpoint: String,
    http: Client<HttpConnector, Full<Bytes>>,
    pub stream_arn: String,
    batch_size: i32,
    checkpoints: HashMap<String, Checkpoint>,
    /// Each shard's next iterator, from its last GetRecords, while it reads on from that shard's checkpoint:
    /// the next read then needs no GetShardIterator.
    next_iterators: HashMap<String, String>,
    /// The stream's shards as last described; described again when one closes (a shard's children appear
    /// only when it closes).
    shards: Option<Vec<Shard>>,
    /// Handler calls so far.
    pub invocations: u32,
}

/// One GetRecords answer: the records, and the shard's next iterator (none once the shard is closed and read).
struct Batch {
    records: Vec<Value>,
    next_iterator: Option<String>,
}

fn error(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{context}: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e))
}

/// Repairs DynamoDB Local's empty maps (`{}`) in an attribute value, recursively.
fn repair_attribute(value: &mut Value) {
    let Some(fields) = value.as_object_mut() else { return };
    if fields.is_empty() {
        fields.insert("M".into(), json!({}));
        return;
    }
    if let Some(Value::Object(map)) = fields.get_mut("M") {
        map.values_mut().for_each(repair_attribute);
    }
    if let Some(Value::Array(list)) = fields.get_mut("L") {
        list.iter_mut().for_each(repair_attribute);
    }
}

/// A record of GetRecords as a record of Lambda's DynamoDB event.
pub fn lambda_record(mut record: Value, stream_arn: &str) -> Value {
    for image in ["Keys", "NewImage", "OldImage"] {
        if let Some(Value::Object(item)) = record["dynamodb"].get_mut(image) {
            item.values_mut().for_each(repair_attribute);
        }
    }
    record["eventSourceARN"] = json!(stream_arn);
    record
}

fn sequence(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_owned()
}

/// The sequence number a handler's answer asks to resume from (`batchItemFailures`), if any.
fn first_failure(answer: &Value) -> Option<String> {
    answer["batchItemFailures"]
        .as_array()?
        .iter()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .next()
        .map(str::to_owned)
}

impl StreamMapping {
    /// The mapping of `table`'s (latest) stream on the DynamoDB at `endpoint`.
    pub async fn for_table(endpoint: &str, table: &str, batch_size: i32) -> Result<Self, String> {
        let client = aws_sdk_dynamodbstreams::Client::new(&crate::local_sdk_config(endpoint));
        let streams = client.list_streams().table_name(table).send().await.map_err(|e| error("ListStreams", e))?;
        let stream_arn = streams
            .streams()
            .last()
            .and_then(|stream| stream.stream_arn.clone())
            .ok_or_else(|| format!("table {table} has no stream"))?;
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Ok(StreamMapping {
            client,
            endpoint: endpoint.to_owned(),
            http,
            stream_arn,
            batch_size,
            checkpoints: HashMap::new(),
            next_iterators: HashMap::new(),
            shards: None,
            invocations: 0,
        })
    }

    async fn shards(&self) -> Result<Vec<Shard>, String> {
        let mut shards = Vec::new();
        let mut start = None;
        loop {
            let described = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start)
                .send()
                .await
                .map_err(|e| error("DescribeStream", e))?;
            let description = described
                .stream_description
                .unwrap_or_else(|| aws_sdk_dynamodbstreams::types::StreamDescription::builder().build());
            shards.extend(description.shards.unwrap_or_default());
            start = description.last_evaluated_shard_id;
            if start.is_none() {
                return Ok(shards);
            }
        }
    }

    /// One batch of `shard` from its checkpoint: through the iterator the last read returned when there is
    /// one (iterators expire: a refused one is replaced), otherwise a new one at the checkpoint.
    async fn batch(&mut self, shard_id: &str) -> Result<Batch, String> {
        if let Some(iterator) = self.next_iterators.remove(shard_id)
            && let Ok(batch) = self.get_records(&iterator).await
        {
            return Ok(batch);
        }
        let request = self.client.get_shard_iterator().stream_arn(&self.stream_arn).shard_id(shard_id);
        let request = match self.checkpoints.get(shard_id) {
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Some(Checkpoint::At(sequence)) => {
                request.shard_iterator_type(ShardIteratorType::AtSequenceNumber).sequence_number(sequence)
            }
            Some(Checkpoint::After(sequence)) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(sequence)
            }
            Some(Checkpoint::Done) => return Ok(Batch { records: Vec::new(), next_iterator: None }),
        };
        let iterator = request.send().await.map_err(|e| error("GetShardIterator", e))?.shard_iterator;
        let Some(iterator) = iterator else { return Ok(Batch { records: Vec::new(), next_iterator: None }) };
        self.get_records(&iterator).await
    }

    async fn get_records(&self, iterator: &str) -> Result<Batch, String> {
        // DynamoDB Local runs with -sharedDb: it reads the credential's region but checks no signature.
        let request = hyper::Request::post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "DynamoDBStreams_20120810.GetRecords")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(Full::new(Bytes::from(json!({"ShardIterator": iterator, "Limit": self.batch_size}).to_string())))
            .expect("a valid request");
        let response = self.http.request(request).await.map_err(|e| format!("GetRecords: {e}"))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| format!("GetRecords: {e}"))?.to_bytes();
        let read: Value = serde_json::from_slice(&body).map_err(|e| format!("GetRecords: {e}"))?;
        if !status.is_success() {
            return Err(format!("GetRecords: {status} {read}"));
        }
        Ok(Batch {
            records: read["Records"].as_array().cloned().unwrap_or_default(),
            next_iterator: read["NextShardIterator"].as_str().map(str::to_owned),
        })
    }

    /// Delivers every record the stream holds now to `handler` (a Lambda handler: the event JSON in, its
    /// answer out), batch after batch, each shard in order, until every record was delivered successfully.
    /// Fails after `max_invocations` handler calls (a handler that never succeeds).
    pub async fn deliver_all<F, Fut>(&mut self, mut handler: F, max_invocations: u32) -> Result<(), String>
    where
        F: FnMut(Value) -> Fut,
        Fut: std::future::Future<Output = Result<Value, String>>,
    {
        loop {
            let shards = match self.shards.take() {
                Some(shards) => shards,
                None => self.shards().await?,
            };
            let mut delivered = false;
            let mut closed_one = false;
            for shard in &shards {
                let shard_id = shard.shard_id.clone().unwrap_or_default();
                let parent_pending = shard.parent_shard_id.as_ref().is_some_and(|parent| {
                    shards.iter().any(|s| s.shard_id.as_ref() == Some(parent))
                        && self.checkpoints.get(parent) != Some(&Checkpoint::Done)
                });
                if parent_pending || self.checkpoints.get(&shard_id) == Some(&Checkpoint::Done) {
                    continue;
                }
                let Batch { records, next_iterator } = self.batch(&shard_id).await?;
                if records.is_empty() {
                    match next_iterator {
                        Some(iterator) => {
                            self.next_iterators.insert(shard_id, iterator);
                        }
                        None => {
                            self.checkpoints.insert(shard_id, Checkpoint::Done);
                            (delivered, closed_one) = (true, true);
                        }
                    }
                    continue;
                }
                if self.invocations >= max_invocations {
                    return Err(format!("the handler did not take the stream's records in {max_invocations} calls"));
                }
                self.invocations += 1;
                let event = json!({
                    "Records": records.iter().map(|r| lambda_record(r.clone(), &self.stream_arn)).collect::<Vec<_>>()
                });
                let resume = match handler(event).await {
                    Ok(answer) => match first_failure(&answer) {
                        None => {
                            // Read on where this batch ended (a closed shard's last batch has no next iterator).
                            if let Some(iterator) = next_iterator {
                                self.next_iterators.insert(shard_id.clone(), iterator);
                            }
                            Checkpoint::After(sequence(records.last().expect("not empty")))
                        }
                        Some(failed) if records.iter().any(|r| sequence(r) == failed) => Checkpoint::At(failed),
                        // Lambda treats an identifier that is not in the batch as the whole batch failing.
                        Some(_) => Checkpoint::At(sequence(&records[0])),
                    },
                    Err(_) => Checkpoint::At(sequence(&records[0])),
                };
                self.checkpoints.insert(shard_id, resume);
                delivered = true;
            }
            // A closed shard's children appear in the next description; until one closes, these are all.
            self.shards = (!closed_one).then_some(shards);
            if !delivered {
                return Ok(());
            }
        }
    }
}
