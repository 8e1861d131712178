//! The local mail queue: a queue and its dead-letter queue in the local SQS (moto's server, the one that
//! also holds the signing secret), and what Lambda's event source mapping does with them on AWS: receive a
//! batch, hand it to `send_mail`'s code (`accounts::mail_drain::drain`, which enters its declaration), delete what it
//! took and leave what it reports as failed, which SQS shows again after the visibility timeout and moves
//! to the dead-letter queue after `max_receives` receives.

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

fn failed<E: std::error::Error>(what: &str, err: E) -> String {
    format!("{what}: {}", DisplayErrorContext(err))
}

/// Counts the requests an app's SQS client sends (an app sends only mail there): a tests' gateway looks at
/// the mail queues after a request only when the count moved. Looking after every request that may mail
/// (two ReceiveMessage calls) was most of the local SQS's work in the tests.
#[derive(Debug, Clone, Default)]
pub struct QueuedMailCount(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl QueuedMailCount {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `config` with this count's interceptor.
    pub fn counting(&self, config: aws_sdk_sqs::config::Builder) -> aws_sdk_sqs::config::Builder {
        config.interceptor(self.clone())
    }
}

impl aws_sdk_sqs::config::Intercept for QueuedMailCount {
    fn name(&self) -> &'static str {
        "QueuedMailCount"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_sqs::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _config: &mut aws_sdk_sqs::config::ConfigBag,
    ) -> Result<(), aws_sdk_sqs::error::BoxError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Clone)]
pub struct MailQueue {
    client: Client,
    pub url: String,
    pub dead_letter_url: String,
}

impl MailQueue {
    /// Creates (or finds: creating is idempotent) the queue `name` and its dead-letter queue `{name}-dead`
    /// at `endpoint`: a message received `max_receives` times without being deleted goes there.
    pub async fn create(
        endpoint: &str,
        name: &str,
        max_receives: u32,
        visibility_seconds: u32,
    ) -> Result<Self, String> {
        let client = Client::new(&crate::local_sdk_config(endpoint));
        let dead_letter_url = client
            .create_queue()
            .queue_name(format!("{name}-dead"))
            .send()
            .await
            .map_err(|e| failed("creating the mail dead-letter queue", e))?
            .queue_url
            .unwrap_or_default();
        let dead_letter_arn = client
            .get_queue_attributes()
            .queue_url(&dead_letter_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| failed("reading the dead-letter queue's ARN", e))?
            .attributes
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        let redrive = serde_json::json!({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receives});
        let url = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::VisibilityTimeout, visibility_seconds.to_string())
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(|e| failed("creating the mail queue", e))?
            .queue_url
            .unwrap_or_default();
        Ok(MailQueue { client, url, dead_letter_url })
    }

    /// The local stack's mail queue for `table` (`{table}-mail`): a mail not taken is tried again after 10 s,
    /// 5 times.
    pub async fn local_stack(endpoint: &str, table: &str) -> Result<Self, String> {
        Self::create(endpoint, &format!("{table}-mail"), 5, 10).await
    }

    /// The local stack's security lane for `table` (`{table}-security-mail`), tried as the mail queue is.
    pub async fn local_security_lane(endpoint: &str, table: &str) -> Result<Self, String> {
        Self::create(endpoint, &format!("{table}-security-mail"), 5, 10).await
    }

    /// Lambda's event source mapping of the queue: one batch at a time, waiting up to a second for one, for
    /// as long as the task runs.
    pub fn drain_in_background(self, app: std::sync::Arc<accounts::App>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.deliver_batch(&app, 1).await {
                    eprintln!("devstack: sending the mail queue: {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        })
    }

    /// One batch as the event source mapping makes it: up to 10 visible messages (waiting up to
    /// `wait_seconds` for one), handed to the drainer; the ones it took are deleted. Returns how many were
    /// received and how many of them the drainer left for another try.
    pub async fn deliver_batch(&self, app: &accounts::App, wait_seconds: i32) -> Result<(usize, usize), String> {
        let received = self.receive(&self.url, wait_seconds, None).await?;
        if received.is_empty() {
            return Ok((0, 0));
        }
        let records: Vec<serde_json::Value> = received
            .iter()
            .map(|message| {
                serde_json::json!({
                    "messageId": message.message_id,
                    "receiptHandle": message.receipt_handle,
                    "body": message.body,
                    "md5OfBody": message.md5_of_body,
                    "attributes": message.attributes.as_ref().map(|attributes| attributes
                        .iter()
                        .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                        .collect::<std::collections::BTreeMap<_, _>>()),
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:local-mail",
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let event: SqsEvent =
            serde_json::from_value(serde_json::json!({ "Records": records })).map_err(|e| format!("the batch: {e}"))?;
        let response = accounts::mail_drain::drain(app, event).await;
        let kept: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for message in &received {
            if kept.contains(&message.message_id.as_deref().unwrap_or_default()) {
                continue;
            }
            self.client
                .delete_message()
                .queue_url(&self.url)
                .receipt_handle(message.receipt_handle.as_deref().unwrap_or_default())
                .send()
                .await
                .map_err(|e| failed("deleting a sent mail from the queue", e))?;
        }
        Ok((received.len(), kept.len()))
    }

    /// Drops the queue's visible messages unsent: the benchmark keeps the queue as short as a drainer would,
    /// since the local SQS (moto) takes longer per SendMessage the more a queue holds (PurgeQueue would do,
    /// but SQS allows one a minute). Returns how many were dropped.
    pub async fn discard_visible(&self) -> Result<usize, String> {
        let mut discarded = 0;
        loop {
            let received = self.receive(&self.url, 0, None).await?;
            if received.is_empty() {
                return Ok(discarded);
            }
            let mut batch = self.client.delete_message_batch().queue_url(&self.url);
            for (index, message) in received.iter().enumerate() {
                let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle.as_deref().unwrap_or_default())
                    .build()
                    .map_err(|e| format!("a delete entry: {e}"))?;
                batch = batch.entries(entry);
            }
            batch.send().await.map_err(|e| failed("deleting from the mail queue", e))?;
            discarded += received.len();
        }
    }

    /// Delivers batches until none is visible: what the queue held is sent, or left for another try.
    pub async fn deliver_visible(&self, app: &accounts::App) -> Result<usize, String> {
        let mut delivered = 0;
        loop {
            let (received, kept) = self.deliver_batch(app, 0).await?;
            if received == 0 {
                return Ok(delivered);
            }
            delivered += received - kept;
            if kept == received {
                // Nothing was taken: the rest are invisible until their timeout; no point in asking again now.
                return Ok(delivered);
            }
        }
    }

    /// How many messages the queue holds: visible ones, and ones a receiver holds until their visibility
    /// timeout (SQS's approximate counts, exact on the local SQS).
    pub async fn counts(&self) -> Result<(usize, usize), String> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| failed("reading the mail queue's counts", e))?
            .attributes
            .unwrap_or_default();
        let count = |name: &QueueAttributeName| attributes.get(name).and_then(|n| n.parse().ok()).unwrap_or(0);
        Ok((
            count(&QueueAttributeName::ApproximateNumberOfMessages),
            count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        ))
    }

    /// The bodies of the messages in the dead-letter queue (read without taking them: made visible again at once).
    pub async fn dead_letters(&self) -> Result<Vec<String>, String> {
        let messages = self.receive(&self.dead_letter_url, 0, Some(0)).await?;
        Ok(messages.into_iter().filter_map(|m| m.body).collect())
    }

    /// Up to 10 visible messages of `url` with their attributes, waiting up to `wait_seconds` for one; with
    /// `visibility`, hidden that long (0: visible again at once) instead of the queue's timeout.
    async fn receive(
        &self,
        url: &str,
        wait_seconds: i32,
        visibility: Option<i32>,
    ) -> Result<Vec<aws_sdk_sqs::types::Message>, String> {
        Ok(self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .set_visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| failed(&format!("receiving from {url}"), e))?
            .messages
            .unwrap_or_default())
    }
}
