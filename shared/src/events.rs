//! Events for other systems (docs/audit.md): the table's stream delivers every new audit entry and
//! organization tombstone to the `publish_audit_events` function, which publishes each as a CloudEvents
//! envelope to the EventBridge bus, in stream order. On the first record it cannot publish it stops and
//! names that record as the batch's first failure, so Lambda retries from there: nothing after it is
//! published before it, and nothing before it twice.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::ConfigError;
use crate::declared_actions::Declaration;
use crate::model::AuditEntry;
use crate::store::stream::NewItem;

/// The EventBridge `Source` of every event (rules match on it).
pub const EVENT_SOURCE: &str = "webknossos.accounts";
/// The environment variable naming the bus (the template sets it).
pub const BUS_VARIABLE: &str = "AUDIT_EVENT_BUS";
/// Points the client at a local stand-in for EventBridge; empty means AWS (like `DYNAMODB_ENDPOINT`).
pub const ENDPOINT_VARIABLE: &str = "EVENTBRIDGE_ENDPOINT";
/// The type of the event a finished purge publishes.
pub const PURGED: &str = "organization.purged";

/// PutEvents takes at most 10 entries and 256 KiB per call.
const MAX_ENTRIES_PER_CALL: usize = 10;
const MAX_BYTES_PER_CALL: usize = 256 * 1024;

/// A CloudEvents 1.0 envelope (structured mode), the `Detail` of the EventBridge event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub specversion: String,
    /// The audit entry's id (time-ordered); consumers de-duplicate by it (delivery is at least once).
    pub id: String,
    pub source: String,
    /// The entry's action (`category.operation`), or [`PURGED`].
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339.
    pub time: String,
    /// The organization's id.
    pub subject: String,
    /// CloudEvents' `sequence` extension: the stream's sequence number of the change, 40 digits with leading
    /// zeros so that it orders as a string. Within one organization it is the order its entries were written
    /// in (one partition, whose changes DynamoDB Streams numbers in write order); EventBridge may deliver
    /// them in another order, and numbers of different organizations are not comparable.
    pub sequence: String,
    pub datacontenttype: String,
    pub data: Value,
}

impl Envelope {
    fn new(
        public_uri: &str,
        organization: &str,
        (id, sequence): (String, String),
        kind: &str,
        millis: i64,
        data: Value,
    ) -> Self {
        Envelope {
            specversion: "1.0".into(),
            id,
            source: format!("{}/organizations/{organization}", public_uri.trim_end_matches('/')),
            kind: kind.to_owned(),
            time: crate::ids::iso8601(millis),
            subject: organization.to_owned(),
            sequence,
            datacontenttype: "application/json".into(),
            data,
        }
    }

    /// The entry's time in epoch milliseconds (EventBridge's `Time`).
    fn millis(&self) -> Option<i64> {
        aws_smithy_types::DateTime::from_str(&self.time, aws_smithy_types::date_time::Format::DateTime)
            .ok()
            .and_then(|time| time.to_millis().ok())
    }
}

/// The envelope a stream record publishes: `Ok(None)` for records that publish nothing (changes and
/// removals, items of other kinds), an error for a new entry or tombstone that does not decode.
pub(crate) fn envelope(record: &EventRecord, public_uri: &str) -> Result<Option<Envelope>, String> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
    let sequence = format!("{:0>40}", record.change.sequence_number.as_deref().unwrap_or_default());
    match crate::store::stream::new_item(&record.change.new_image)? {
        NewItem::AuditEntry(entry) => {
            let data = entry_data(&entry);
            let (organization, kind) = (entry.organization.clone(), entry.action.clone());
            Ok(Some(Envelope::new(public_uri, &organization, (entry.id, sequence), &kind, entry.occurred_at, data)))
        }
        NewItem::OrganizationTombstone(tombstone) => {
            // The same id on every delivery (consumers de-duplicate by it), shaped and ordered like entry ids.
            let id = format!("{:012x}{}", tombstone.deleted, &crate::ids::sha256_hex(&tombstone.id)[..16]);
            let data = json!({ "organization": tombstone.id, "purgedAt": tombstone.deleted });
            Ok(Some(Envelope::new(public_uri, &tombstone.id, (id, sequence), PURGED, tombstone.deleted, data)))
        }
        NewItem::Other => Ok(None),
    }
}

/// An entry as the audit log shows it: `change` as JSON (`{}` when empty), without the table's TTL.
pub(crate) fn entry_data(entry: &AuditEntry) -> Value {
    let mut data = serde_json::to_value(entry).expect("entries serialize");
    if let Some(fields) = data.as_object_mut() {
        fields.remove("expiresAt");
        let change = if entry.change.is_empty() {
            json!({})
        } else {
            serde_json::from_str(&entry.change).unwrap_or_else(|_| Value::String(entry.change.clone()))
        };
        fields.insert("change".into(), change);
    }
    data
}

/// The EventBridge entry of `envelope`.
pub(crate) fn bus_entry(envelope: &Envelope, bus: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(EVENT_SOURCE)
        .detail_type(&envelope.kind)
        .detail(serde_json::to_string(envelope).expect("envelopes serialize"))
        .set_time(envelope.millis().map(aws_smithy_types::DateTime::from_millis))
        .build()
}

/// EventBridge's size of an entry: source, detail type and detail, and 14 bytes for the time.
fn entry_size(entry: &PutEventsRequestEntry) -> usize {
    [entry.source(), entry.detail_type(), entry.detail()].iter().map(|s| s.map_or(0, str::len)).sum::<usize>() + 14
}

/// Consecutive runs of `entries` that fit one PutEvents call each (as `start..end` ranges).
pub(crate) fn calls(entries: &[PutEventsRequestEntry]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, entry) in entries.iter().enumerate() {
        let size = entry_size(entry);
        if index > start && (index - start == MAX_ENTRIES_PER_CALL || bytes + size > MAX_BYTES_PER_CALL) {
            ranges.push(start..index);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < entries.len() {
        ranges.push(start..entries.len());
    }
    ranges
}

/// The first entry of a PutEvents answer that was not accepted, with its error (`None`: all were). A
/// failed count without a marked entry counts as a failure of the first.
pub(crate) fn first_rejected(
    output: &aws_sdk_eventbridge::operation::put_events::PutEventsOutput,
) -> Option<(usize, String)> {
    if output.failed_entry_count() == 0 {
        return None;
    }
    let rejected = output.entries().iter().position(|entry| entry.error_code().is_some()).unwrap_or(0);
    let error = output.entries().get(rejected).map_or_else(
        || "PutEvents reported failed entries".to_owned(),
        |entry| format!("{}: {}", entry.error_code().unwrap_or_default(), entry.error_message().unwrap_or_default()),
    );
    Some((rejected, error))
}

/// The function's answer: Lambda retries the batch from the first record named (or nothing).
pub(crate) fn batch_response(first_unpublished: Option<&str>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = first_unpublished {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number.to_owned());
        response.batch_item_failures.push(failure);
    }
    response
}

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub published: usize,
    /// The sequence number Lambda retries from, and why.
    pub first_unpublished: Option<String>,
    pub error: Option<String>,
}

/// The EventBridge client and where it publishes; built once per process.
pub struct EventPublisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    public_uri: String,
}

impl EventPublisher {
    /// Guarded and measured as the App's clients (`app::guarded_client`).
    pub fn new(client: aws_sdk_eventbridge::Client, bus: &str, public_uri: &str) -> Self {
        let client = crate::app::guarded_client!(aws_sdk_eventbridge, client.config().to_builder());
        EventPublisher { client, bus: bus.to_owned(), public_uri: public_uri.to_owned() }
    }

    /// The bus from [`BUS_VARIABLE`], the endpoint from [`ENDPOINT_VARIABLE`], the rest as the App's clients.
    pub(crate) async fn from_env(public_uri: &str) -> Result<Self, ConfigError> {
        let bus = std::env::var(BUS_VARIABLE)
            .ok()
            .filter(|bus| !bus.trim().is_empty())
            .ok_or(ConfigError::Missing(BUS_VARIABLE))?;
        let sdk = crate::app::sdk_config_from_env();
        let mut config = aws_sdk_eventbridge::config::Builder::from(&sdk);
        if let Some(endpoint) = std::env::var(ENDPOINT_VARIABLE).ok().filter(|e| !e.trim().is_empty()) {
            config = config.endpoint_url(endpoint);
        }
        Ok(EventPublisher::new(aws_sdk_eventbridge::Client::from_conf(config.build()), &bus, public_uri))
    }

    /// Publishes the records of one stream batch in order, stopping at the first it cannot publish.
    pub(crate) async fn publish(&self, event: &Event) -> (Outcome, DynamoDbEventResponse) {
        let declaration = Declaration::from(&crate::background::PUBLISH_AUDIT_EVENTS);
        let outcome = crate::declared_actions::scope_unless_scoped(declaration, self.publish_in_scope(event)).await;
        let response = batch_response(outcome.first_unpublished.as_deref());
        (outcome, response)
    }

    async fn publish_in_scope(&self, event: &Event) -> Outcome {
        let sequence_number = |record: &EventRecord| record.change.sequence_number.clone().unwrap_or_default();
        // The records to publish (their sequence numbers and entries), up to the first that cannot be
        // (which stops the batch there).
        let (mut sequence_numbers, mut entries) = (Vec::new(), Vec::new());
        let mut undecodable = None;
        for record in &event.records {
            match envelope(record, &self.public_uri) {
                Ok(Some(envelope)) => {
                    sequence_numbers.push(sequence_number(record));
                    entries.push(bus_entry(&envelope, &self.bus));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(sequence_number = sequence_number(record), %error, "a stream record does not decode");
                    undecodable = Some((sequence_number(record), error));
                    break;
                }
            }
        }
        let mut outcome = Outcome::default();
        for range in calls(&entries) {
            let sent = self.client.put_events().set_entries(Some(entries[range.clone()].to_vec())).send().await;
            let rejected = match sent {
                Ok(output) => first_rejected(&output),
                Err(e) => Some((0, aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())),
            };
            match rejected {
                None => outcome.published += range.len(),
                Some((index, error)) => {
                    outcome.published += index;
                    tracing::error!(bus = self.bus, %error, "publishing audit events failed; Lambda retries the rest");
                    outcome.first_unpublished = Some(sequence_numbers[range.start + index].clone());
                    outcome.error = Some(error);
                    return outcome;
                }
            }
        }
        if let Some((sequence_number, error)) = undecodable {
            outcome.first_unpublished = Some(sequence_number);
            outcome.error = Some(error);
        }
        outcome
    }
}

/// The function's handler: Lambda's DynamoDB event in, the batch response out (`run_publish_audit_events`
/// runs it; the tests' stream mapping calls it directly).
pub async fn handle(publisher: &EventPublisher, event: Value) -> Result<Value, crate::ApiError> {
    let event: Event = serde_json::from_value(event).map_err(|e| {
        crate::ApiError::bad_request("request.body.invalid", format!("Not a DynamoDB stream event: {e}"))
    })?;
    let (outcome, response) = publisher.publish(&event).await;
    tracing::info!(
        published = outcome.published,
        first_unpublished = outcome.first_unpublished,
        error = outcome.error,
        "audit events"
    );
    Ok(serde_json::to_value(response).expect("the response serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, OrganizationTombstone};

    fn record(event_name: &str, image: Value, sequence_number: &str) -> EventRecord {
        serde_json::from_value(json!({
            "awsRegion": "eu-central-1",
            "eventID": format!("event-{sequence_number}"),
            "eventName": event_name,
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.1",
            "eventSourceARN": "arn:aws:dynamodb:eu-central-1:123456789012:table/t/stream/2026-11-26T00:00:00.000",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_795_600_800.0,
                "Keys": { "PK": image["PK"], "SK": image["SK"] },
                "NewImage": image,
                "SequenceNumber": sequence_number,
                "SizeBytes": 100,
                "StreamViewType": "NEW_IMAGE",
            },
        }))
        .unwrap()
    }

    fn entry() -> AuditEntry {
        AuditEntry {
            organization: "lab".into(),
            id: "019ab1c2d3e40123456789abcdef".into(),
            action: "team.created".into(),
            occurred_at: 1_795_600_800_123,
            actor: crate::model::AuditActor {
                kind: "user".into(),
                id: Some("u1".into()),
                name: Some("Ada Lovelace".into()),
                email: Some("ada@example.org".into()),
            },
            targets: vec![crate::model::AuditTarget::team("t1", "Red")],
            context: crate::model::AuditContext { source_ip: Some("203.0.113.7".into()), ..Default::default() },
            change: r#"{"name":"Red"}"#.into(),
            group: None,
            expires_at: 1_800_000_000,
        }
    }

    fn image<E: Entity>(entity: &E) -> Value {
        crate::store::stream::image_of(entity)
    }

    #[test]
    fn the_sequence_orders_an_organizations_entries_as_strings_in_the_order_they_were_written() {
        let sequence = |number: &str| {
            envelope(&record("INSERT", image(&entry()), number), "https://wk.example.org").unwrap().unwrap().sequence
        };
        let numbers = ["9", "10", "99", "100", "4950000000000000000000012", "49500000000000000000000120"];
        let sequences: Vec<String> = numbers.iter().map(|n| sequence(n)).collect();
        assert!(sequences.iter().all(|s| s.len() == 40), "{sequences:?}");
        assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "{sequences:?}");
    }

    #[test]
    fn a_new_audit_entry_becomes_a_cloudevent_of_its_action() {
        let envelope = envelope(&record("INSERT", image(&entry()), "100"), "https://wk.example.org/").unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(&envelope).unwrap(),
            json!({
                "specversion": "1.0",
                "id": "019ab1c2d3e40123456789abcdef",
                "source": "https://wk.example.org/organizations/lab",
                "type": "team.created",
                "time": "2026-11-25T10:00:00.123Z",
                "subject": "lab",
                "sequence": "0000000000000000000000000000000000000100",
                "datacontenttype": "application/json",
                "data": {
                    "organization": "lab",
                    "id": "019ab1c2d3e40123456789abcdef",
                    "action": "team.created",
                    "occurredAt": 1_795_600_800_123i64,
                    "actor": { "type": "user", "id": "u1", "name": "Ada Lovelace", "email": "ada@example.org" },
                    "targets": [{ "type": "team", "id": "t1", "name": "Red" }],
                    "context": { "sourceIp": "203.0.113.7" },
                    "change": { "name": "Red" },
                },
            })
        );
        let entry = bus_entry(&envelope, "bus");
        assert_eq!(
            (entry.source(), entry.detail_type(), entry.event_bus_name()),
            (Some(EVENT_SOURCE), Some("team.created"), Some("bus"))
        );
        assert_eq!(entry.time().and_then(|t| t.to_millis().ok()), Some(1_795_600_800_123));
        let detail: Envelope = serde_json::from_str(entry.detail().unwrap()).unwrap();
        assert_eq!(detail, envelope);
    }

    #[test]
    fn an_empty_change_is_an_empty_object() {
        let data = entry_data(&AuditEntry { change: String::new(), group: Some("g1".into()), ..entry() });
        assert_eq!((&data["change"], &data["group"]), (&json!({}), &json!("g1")));
        assert!(data.get("expiresAt").is_none());
    }

    #[test]
    fn a_tombstone_becomes_organization_purged_with_the_same_id_each_time() {
        let tombstone = OrganizationTombstone { id: "lab".into(), deleted: 1_795_600_800_000 };
        let first = envelope(&record("INSERT", image(&tombstone), "7"), "http://localhost:3000").unwrap().unwrap();
        let again = envelope(&record("INSERT", image(&tombstone), "8"), "http://localhost:3000").unwrap().unwrap();
        assert_eq!((first.kind.as_str(), first.subject.as_str()), (PURGED, "lab"));
        assert_eq!(first.data, json!({ "organization": "lab", "purgedAt": 1_795_600_800_000i64 }));
        assert_eq!(first.id, again.id);
        assert!(first.id.starts_with(&format!("{:012x}", 1_795_600_800_000i64)) && first.id.len() == 28);
    }

    #[test]
    fn changes_removals_and_other_items_publish_nothing() {
        let team = crate::model::Team {
            id: "t1".into(),
            organization: "lab".into(),
            name: "Red".into(),
            is_organization_team: false,
            deleting: false,
            created: 1,
        };
        for (name, image) in [("MODIFY", image(&entry())), ("REMOVE", image(&entry())), ("INSERT", image(&team))] {
            assert_eq!(envelope(&record(name, image, "1"), "http://x"), Ok(None), "{name}");
        }
    }

    #[test]
    fn an_entry_that_does_not_decode_is_an_error() {
        let mut broken = image(&entry());
        broken["occurredAt"] = json!({ "S": "yesterday" });
        assert!(envelope(&record("INSERT", broken, "1"), "http://x").is_err());
    }

    #[test]
    fn calls_take_ten_entries_or_256_kib_at_most() {
        let small = |n: usize| -> Vec<PutEventsRequestEntry> {
            (0..n).map(|_| PutEventsRequestEntry::builder().source("s").detail("{}").build()).collect()
        };
        assert_eq!(calls(&small(0)), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(calls(&small(10)), vec![0..10]);
        assert_eq!(calls(&small(23)), vec![0..10, 10..20, 20..23]);
        let large = PutEventsRequestEntry::builder().detail("x".repeat(100 * 1024)).build();
        assert_eq!(calls(&[large.clone(), large.clone(), large]), vec![0..2, 2..3]);
    }

    #[test]
    fn the_first_rejected_entry_is_where_publishing_stops() {
        use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
        use aws_sdk_eventbridge::types::PutEventsResultEntry;
        let accepted = PutEventsResultEntry::builder().event_id("e").build();
        let rejected = PutEventsResultEntry::builder().error_code("InternalFailure").error_message("try again").build();
        let all_accepted = PutEventsOutput::builder().failed_entry_count(0).entries(accepted.clone()).build();
        assert_eq!(first_rejected(&all_accepted), None);
        let second_rejected = PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(accepted)
            .entries(rejected.clone())
            .entries(rejected)
            .build();
        assert_eq!(first_rejected(&second_rejected), Some((1, "InternalFailure: try again".into())));
        let unmarked = PutEventsOutput::builder().failed_entry_count(2).build();
        assert_eq!(first_rejected(&unmarked).map(|(index, _)| index), Some(0));
    }

    #[test]
    fn the_response_names_the_first_unpublished_record_or_nothing() {
        assert_eq!(serde_json::to_value(batch_response(None)).unwrap(), json!({ "batchItemFailures": [] }));
        assert_eq!(
            serde_json::to_value(batch_response(Some("300"))).unwrap(),
            json!({ "batchItemFailures": [{ "itemIdentifier": "300" }] })
        );
    }
}
