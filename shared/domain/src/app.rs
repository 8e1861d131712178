//! What the domain's functions need, built once per process: the configuration, the store, the keys, and
//! the port through which mail leaves (the API crate plugs SQS into it; tests and the local stack the same
//! adapter over the local SQS).

use std::future::Future;
use std::pin::Pin;

use crate::config::Config;
use crate::error::DomainError;
use crate::store::Db;
use crate::tokens::Keys;

/// Where a queued mail goes: one message with the mail's JSON on the queue at `queue_url` (SQS's
/// SendMessage on AWS). A failure is [`DomainError::unavailable`] (a retry may work) or internal.
pub trait MailQueue: Send + Sync {
    fn enqueue<'a>(
        &'a self,
        queue_url: &'a str,
        body: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), DomainError>> + Send + 'a>>;

    /// Many mails, one message each, in as few requests as the queue takes them (SQS: ten at once, the
    /// requests sent together). An error when any was not queued.
    fn enqueue_batch<'a>(
        &'a self,
        queue_url: &'a str,
        bodies: Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<(), DomainError>> + Send + 'a>>;
}

pub struct App {
    pub config: Config,
    pub db: Db,
    pub keys: Keys,
    pub mail_queue: Box<dyn MailQueue>,
}

impl App {
    /// The keys are derived from the configuration's signing secrets.
    pub fn new(config: Config, db: Db, mail_queue: Box<dyn MailQueue>) -> Self {
        let keys = Keys::new(&config.keys, &config.public_uri);
        App { config, db, keys, mail_queue }
    }
}
