//! Lambda's event source mapping on a table's stream, played locally against DynamoDB Local's streams:
//! reads each shard from its oldest record (TRIM_HORIZON), parents before children, hands batches to a
//! handler as the DynamoDB event Lambda sends, and, when the handler names a failed record
//! (`ReportBatchItemFailures`), delivers again from that record; when the handler fails, the whole batch.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{Record, Shard, ShardIteratorType};
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
    pub stream_arn: String,
    batch_size: i32,
    checkpoints: HashMap<String, Checkpoint>,
    /// Handler calls so far.
    pub invocations: u32,
}

fn error(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> String {
    format!("{context}: {}", aws_sdk_dynamodbstreams::error::DisplayErrorContext(e))
}

/// A DynamoDB-JSON image (`{"PK": {"S": ..}}`), as Lambda's event carries it.
fn image(item: &HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>) -> Value {
    serde_json::to_value(serde_dynamo::Item::from(item.clone())).expect("items serialize")
}

/// A stream record as a record of Lambda's DynamoDB event.
pub fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let change =
        record.dynamodb.clone().unwrap_or_else(|| aws_sdk_dynamodbstreams::types::StreamRecord::builder().build());
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change.approximate_creation_date_time.map_or(0.0, |t| t.as_secs_f64()),
        "Keys": change.keys.as_ref().map(image).unwrap_or_else(|| json!({})),
        "SequenceNumber": change.sequence_number,
        "SizeBytes": change.size_bytes.unwrap_or_default(),
        "StreamViewType": change.stream_view_type.as_ref().map(|t| t.as_str().to_owned()),
    });
    if let Some(new_image) = &change.new_image {
        dynamodb["NewImage"] = image(new_image);
    }
    if let Some(old_image) = &change.old_image {
        dynamodb["OldImage"] = image(old_image);
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|name| name.as_str().to_owned()),
        "eventVersion": record.event_version,
        "eventSource": record.event_source.clone().unwrap_or_else(|| "aws:dynamodb".into()),
        "awsRegion": record.aws_region.clone().unwrap_or_else(|| "us-east-1".into()),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
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
        use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
        let client = aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("local", "local", None, None, "devstack"))
                .endpoint_url(endpoint)
                .build(),
        );
        let streams = client.list_streams().table_name(table).send().await.map_err(|e| error("ListStreams", e))?;
        let stream_arn = streams
            .streams()
            .last()
            .and_then(|stream| stream.stream_arn.clone())
            .ok_or_else(|| format!("table {table} has no stream"))?;
        Ok(StreamMapping { client, stream_arn, batch_size, checkpoints: HashMap::new(), invocations: 0 })
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

    /// One batch of `shard` from its checkpoint: the records and whether the shard is closed and read.
    async fn batch(&self, shard: &Shard) -> Result<(Vec<Record>, bool), String> {
        let shard_id = shard.shard_id.clone().unwrap_or_default();
        let request = self.client.get_shard_iterator().stream_arn(&self.stream_arn).shard_id(&shard_id);
        let request = match self.checkpoints.get(&shard_id) {
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Some(Checkpoint::At(sequence)) => {
                request.shard_iterator_type(ShardIteratorType::AtSequenceNumber).sequence_number(sequence)
            }
            Some(Checkpoint::After(sequence)) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(sequence)
            }
            Some(Checkpoint::Done) => return Ok((Vec::new(), true)),
        };
        let iterator = request.send().await.map_err(|e| error("GetShardIterator", e))?.shard_iterator;
        let Some(iterator) = iterator else { return Ok((Vec::new(), true)) };
        let read = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(self.batch_size)
            .send()
            .await
            .map_err(|e| error("GetRecords", e))?;
        let closed = read.next_shard_iterator.is_none();
        Ok((read.records.unwrap_or_default(), closed))
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
            let shards = self.shards().await?;
            let mut delivered = false;
            for shard in &shards {
                let shard_id = shard.shard_id.clone().unwrap_or_default();
                let parent_pending = shard.parent_shard_id.as_ref().is_some_and(|parent| {
                    shards.iter().any(|s| s.shard_id.as_ref() == Some(parent))
                        && self.checkpoints.get(parent) != Some(&Checkpoint::Done)
                });
                if parent_pending || self.checkpoints.get(&shard_id) == Some(&Checkpoint::Done) {
                    continue;
                }
                let (records, closed) = self.batch(shard).await?;
                if records.is_empty() {
                    if closed {
                        self.checkpoints.insert(shard_id, Checkpoint::Done);
                        delivered = true;
                    }
                    continue;
                }
                if self.invocations >= max_invocations {
                    return Err(format!("the handler did not take the stream's records in {max_invocations} calls"));
                }
                self.invocations += 1;
                let sequence = |record: &Record| {
                    record.dynamodb.as_ref().and_then(|d| d.sequence_number.clone()).unwrap_or_default()
                };
                let event = json!({
                    "Records": records.iter().map(|r| lambda_record(r, &self.stream_arn)).collect::<Vec<_>>()
                });
                let resume = match handler(event).await {
                    Ok(answer) => match first_failure(&answer) {
                        None => Checkpoint::After(sequence(records.last().expect("not empty"))),
                        Some(failed) if records.iter().any(|r| sequence(r) == failed) => Checkpoint::At(failed),
                        // Lambda treats an identifier that is not in the batch as the whole batch failing.
                        Some(_) => Checkpoint::At(sequence(&records[0])),
                    },
                    Err(_) => Checkpoint::At(sequence(&records[0])),
                };
                self.checkpoints.insert(shard_id, resume);
                delivered = true;
            }
            if !delivered {
                return Ok(());
            }
        }
    }
}
