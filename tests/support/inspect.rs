//! The table as it is, and the checks that another organization's caller changes and learns nothing.

use crate::{Auth, Item, TestEnv, TestResponse, text};
use accounts::declared_actions::unchecked;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

impl TestEnv {
    /// Every item of the table, sorted by key: a snapshot to compare before and after a request. The mail
    /// drainer's claims of each mail's sending are left out ([`TestEnv::mail_sending_claims`] has them):
    /// they are the mail's delivery records, written by the drainer for every mail that goes out, as the
    /// queue's messages are, not a change the request made.
    pub async fn scan(&self) -> Vec<Item> {
        let mut items = self.scan_everything().await;
        items.retain(|item| text(item, "entity") != "MailSending");
        items
    }

    /// The items of the partition `pk`, sorted by sort key (one Query where a scan reads the whole table).
    pub async fn partition(&self, pk: &str) -> Vec<Item> {
        let client = self.direct_dynamodb();
        let query = devstack::organization_export::query_all(&client, &self.table, pk, None);
        unchecked(query).await.expect("the partition is read")
    }

    /// The mail drainer's claims of each mail's sending (`MAILSEND#{message id}`).
    pub async fn mail_sending_claims(&self) -> Vec<Item> {
        let mut items = self.scan_everything().await;
        items.retain(|item| text(item, "entity") == "MailSending");
        items
    }

    async fn scan_everything(&self) -> Vec<Item> {
        let mut items = devstack::invariants::scan_table(&self.direct_dynamodb(), &self.table).await.unwrap();
        items.sort_by_key(|item| (text(item, "PK"), text(item, "SK")));
        items
    }

    /// Sets attributes of an item directly in the table (for states no route of this slice produces).
    pub async fn set_attribute(&self, pk: &str, sk: &str, name: &str, value: AttributeValue) {
        self.update_attribute(pk, sk, "SET #n = :v", name, value).await;
    }

    /// Adds `delta` to a number attribute of an item directly in the table (keeps counters in step with
    /// items a test writes directly).
    pub async fn add_to_number(&self, pk: &str, sk: &str, name: &str, delta: i64) {
        self.update_attribute(pk, sk, "ADD #n :v", name, AttributeValue::N(delta.to_string())).await;
    }

    /// Writes an item directly in the table (a state no route produces, such as a drainer stopped while
    /// it sent a mail).
    pub async fn put_item(&self, item: Item) {
        let put = self.direct_dynamodb().put_item().table_name(&self.table).set_item(Some(item)).send();
        unchecked(put).await.unwrap();
    }

    /// Applies `expression` (naming the attribute `#n` and the value `:v`) to an item directly in the table.
    async fn update_attribute(&self, pk: &str, sk: &str, expression: &str, name: &str, value: AttributeValue) {
        let update = self
            .direct_dynamodb()
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .update_expression(expression)
            .expression_attribute_names("#n", name)
            .expression_attribute_values(":v", value)
            .send();
        unchecked(update).await.unwrap();
    }

    /// Checks that `method path` by `foreign` (a caller from another organization) is refused with 403 or
    /// 404 and changes nothing in the table. Every route that takes an id or a token uses this.
    pub async fn check_foreign_caller_refused(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        foreign: &Auth,
    ) -> Result<(), String> {
        let before = self.scan().await;
        let response = self.request(method, path, body, foreign).await;
        let after = self.scan().await;
        if response.status != 403 && response.status != 404 {
            return Err(format!(
                "{method} {path} by another organization's caller: {} {:?}",
                response.status, response.body
            ));
        }
        if before != after {
            return Err(format!("{method} {path} by another organization's caller changed the table"));
        }
        Ok(())
    }

    /// For routes that act in the caller's own organization (creating, listing): checks that `method path`
    /// by `foreign` (a caller from another organization) leaves `organization`'s partition unchanged and
    /// that the answer names none of its items (no id, e-mail or name of them appears). Returns the answer.
    pub async fn check_foreign_caller_isolated(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        foreign: &Auth,
        organization: &str,
    ) -> Result<TestResponse, String> {
        let partition = format!("ORG#{organization}");
        let before = self.partition(&partition).await;
        let response = self.request(method, path, body, foreign).await;
        if self.partition(&partition).await != before {
            return Err(format!("{method} {path} by another organization's caller changed {organization}'s items"));
        }
        let answer = response.body.to_string();
        for item in &before {
            for name in ["id", "email"] {
                let value = text(item, name);
                if !value.is_empty() && answer.contains(&value) {
                    return Err(format!(
                        "{method} {path} by another organization's caller shows {name} {value} of {organization}"
                    ));
                }
            }
        }
        if answer.contains(&format!("\"organization\":\"{organization}\"")) {
            return Err(format!("{method} {path} by another organization's caller shows an item of {organization}"));
        }
        Ok(response)
    }

    pub async fn assert_foreign_caller_isolated(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        foreign: &Auth,
        organization: &str,
    ) -> TestResponse {
        self.check_foreign_caller_isolated(method, path, body, foreign, organization)
            .await
            .unwrap_or_else(|problem| panic!("{problem}"))
    }

    pub async fn assert_foreign_caller_refused(&self, method: &str, path: &str, body: Option<Value>, foreign: &Auth) {
        if let Err(problem) = self.check_foreign_caller_refused(method, path, body, foreign).await {
            panic!("{problem}");
        }
    }
}

/// The table's writes as its stream tells them (as Lambda's event source mapping reads it): whether a
/// request wrote anything costs a few stream reads, where comparing scans of the whole table costs two
/// scans. As with comparing scans, a write that leaves an item as it was makes no record.
pub struct Writes(devstack::stream::StreamMapping);

/// One written item: how (`INSERT`, `MODIFY`, `REMOVE`) and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub event: String,
    pub pk: String,
    pub sk: String,
}

impl std::fmt::Display for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.event, self.pk, self.sk)
    }
}

impl TestEnv {
    /// The table's writes from now on ([`Writes::since_last`]).
    pub async fn writes(&self) -> Writes {
        let mapping = devstack::stream::StreamMapping::for_table(&self.dynamodb_endpoint, &self.table, 1000)
            .await
            .expect("the table has a stream");
        let mut writes = Writes(mapping);
        writes.since_last().await;
        writes
    }
}

impl Writes {
    /// The items written since the last call, without the mail drainer's claims of each mail's sending
    /// (left out for the reason [`TestEnv::scan`] leaves them out).
    pub async fn since_last(&mut self) -> Vec<Write> {
        let written = std::sync::Mutex::new(Vec::new());
        let collect = |event: Value| {
            let records = event["Records"].as_array().cloned().unwrap_or_default();
            written.lock().expect("not poisoned").extend(records.iter().map(|record| {
                let key = |name: &str| record["dynamodb"]["Keys"][name]["S"].as_str().unwrap_or_default().to_owned();
                Write {
                    event: record["eventName"].as_str().unwrap_or_default().to_owned(),
                    pk: key("PK"),
                    sk: key("SK"),
                }
            }));
            async { Ok(serde_json::json!({})) }
        };
        self.0.deliver_all(collect, u32::MAX).await.expect("the stream is read");
        let mut written = written.into_inner().expect("not poisoned");
        let claims = accounts::model::Key::mail_sending("").pk;
        written.retain(|write| !write.pk.starts_with(&claims));
        written
    }
}
