//! The functions that are not HTTP routes, as plain data: what starts each and the AWS actions its code
//! performs (template.yaml grants exactly these; the body runs in a [`crate::declared_actions`] scope of them).
//! Like [`crate::operations`], a leaf: it imports nothing of the crate.

/// What starts a background function.
pub enum Trigger {
    /// An EventBridge schedule: the template parameter that sets its expression, and the parameter's default.
    Schedule { parameter: &'static str, default: &'static str, missed: MissedRunAlarm },
    /// Invoked directly with IAM by another service (no public route).
    Invoke,
    /// Lambda's event source mapping on the table's stream, one batch of records at a time, in order per
    /// shard. The mapping reads the stream with the function's role, so the template grants the stream's
    /// read actions from this trigger; the function's own code does not call them (not in `actions`).
    TableStream { batch_size: u32 },
    /// The SNS topic of the SES configuration set's bounce and complaint events (template.yaml's
    /// `MailEventsTopic`); SNS retries a failed delivery, then Lambda's own retries apply.
    MailEvents,
    /// Lambda's event source mapping on the mail queue (template.yaml's `MailQueue`): batches of up to
    /// `batch_size` messages, at most `mail::DRAINERS` invocations at once, reporting which messages to keep.
    /// The mapping reads and deletes the messages with the function's role, so the template grants those
    /// actions from this trigger; the function's own code does not call them (not in `actions`).
    MailQueue { batch_size: u32 },
}

/// The alarm of a scheduled function that stopped running: no invocation in `parameter` consecutive periods
/// of `period_seconds` (the template parameter's default allows for one late run).
pub struct MissedRunAlarm {
    pub parameter: &'static str,
    pub period_seconds: u32,
}

/// A function that is not an HTTP route.
pub struct BackgroundFunction {
    /// Binary name in `functions/src/bin/{name}.rs` (whose main calls `accounts::lambda::run_{name}`) and
    /// SAM function `{Name}Function`.
    pub name: &'static str,
    pub trigger: Trigger,
    pub timeout_seconds: u32,
    pub actions: &'static [&'static str],
}

/// The daily invite job: reminders and cleanup (`domain::daily::maintain`).
pub static INVITE_MAINTENANCE: BackgroundFunction = BackgroundFunction {
    name: "invite_maintenance",
    trigger: Trigger::Schedule {
        parameter: "InviteMaintenanceSchedule",
        default: "rate(1 day)",
        missed: MissedRunAlarm { parameter: "InviteMaintenanceMissedAfterHours", period_seconds: 3600 },
    },
    timeout_seconds: 300,
    actions: &[
        "key:deriveTokens",
        "Query/InvitesToClean",
        "Query/InvitesToRemind",
        "Query/PlanNotices",
        "GetItem",
        "BatchGetItem",
        "UpdateItem",
        "DeleteItem",
        "PutItem",
        "ConditionCheckItem",
        "sqs:SendMessage",
    ],
};

/// Finishes the purge of organizations whose deletion was accepted (`domain::organizations::purge_pending`).
pub static ORGANIZATION_PURGE: BackgroundFunction = BackgroundFunction {
    name: "organization_purge",
    trigger: Trigger::Schedule {
        parameter: "OrganizationPurgeSchedule",
        default: "rate(5 minutes)",
        missed: MissedRunAlarm { parameter: "OrganizationPurgeMissedAfterMinutes", period_seconds: 60 },
    },
    // Below the schedule's 5 minutes, so runs do not overlap on their own; the purge's lease keeps a retried
    // invocation or a shorter schedule from running two at once.
    timeout_seconds: 240,
    actions: &["Query", "Query/OrganizationsBeingDeleted", "UpdateItem", "DeleteItem", "PutItem", "BatchWriteItem"],
};

/// Storage usage reported by the dataset side (`domain::organizations::report_storage`).
pub static REPORT_STORAGE_USAGE: BackgroundFunction = BackgroundFunction {
    name: "report_storage_usage",
    trigger: Trigger::Invoke,
    timeout_seconds: 10,
    actions: &["GetItem", "BatchGetItem", "UpdateItem", "PutItem", "ConditionCheckItem", "sqs:SendMessage"],
};

/// A finished AI job reported by the platform's job system: mails its notice
/// (`domain::organizations::notify_job_finished`).
pub static NOTIFY_JOB_FINISHED: BackgroundFunction = BackgroundFunction {
    name: "notify_job_finished",
    trigger: Trigger::Invoke,
    timeout_seconds: 30,
    actions: &["BatchGetItem", "Query/UsersByName", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
};

/// Publishes new audit entries and organization tombstones to the event bus (`events::EventPublisher`).
pub static PUBLISH_AUDIT_EVENTS: BackgroundFunction = BackgroundFunction {
    name: "publish_audit_events",
    trigger: Trigger::TableStream { batch_size: 100 },
    // Ten PutEvents calls of a full batch, each bounded at 8 s (`aws_calls::OPERATION_TIMEOUT` in the store), fit: a timeout
    // would retry the whole batch, resending what was already accepted.
    timeout_seconds: 120,
    actions: &["events:PutEvents"],
};

/// Records SES's bounces and complaints: marks the addresses undeliverable and the invites they were for
/// (`domain::mail_events::record`).
pub static RECORD_MAIL_EVENTS: BackgroundFunction = BackgroundFunction {
    name: "record_mail_events",
    trigger: Trigger::MailEvents,
    timeout_seconds: 30,
    actions: &["PutItem", "UpdateItem"],
};

/// Sends the queued mail through SES at the configured rate (`mail_drain::drain`).
pub static SEND_MAIL: BackgroundFunction = BackgroundFunction {
    name: "send_mail",
    trigger: Trigger::MailQueue { batch_size: 10 },
    // Ten mails at the slowest pace (2 s each at 1 mail per second) and SES's time, with room to spare;
    // the queue's visibility timeout is six times this (template.yaml).
    timeout_seconds: 60,
    // The claim of each mail's sending (PutItem; GetItem for a message delivered again; UpdateItem when
    // done; DeleteItem when SES said "not now"), a notice's recipients admitted with it (their undeliverable
    // marks checked, their budgets counted: ConditionCheckItem, UpdateItem) and the invite's delivery
    // state (UpdateItem).
    actions: &["PutItem", "GetItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "ses:SendEmail"],
};

pub static BACKGROUND: &[&BackgroundFunction] = &[
    &INVITE_MAINTENANCE,
    &ORGANIZATION_PURGE,
    &REPORT_STORAGE_USAGE,
    &NOTIFY_JOB_FINISHED,
    &PUBLISH_AUDIT_EVENTS,
    &RECORD_MAIL_EVENTS,
    &SEND_MAIL,
];
