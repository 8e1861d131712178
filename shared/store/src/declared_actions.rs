//! Least privilege, checked where the calls are made. Each operation declares the AWS actions it uses
//! (`operations.rs`, `background.rs`), template.yaml grants exactly those, and this SDK interceptor refuses any call outside
//! the running operation's declaration, locally exactly as IAM would on AWS. So a code path that needs
//! an action its function is not granted fails in the tests, not after deployment.
//!
//! With `ACTIONS_USED_LOG` set to a file, every (operation, action) pair used is appended to it once per
//! process, and every refused one too (marked `refused`, since a best-effort path may swallow the error);
//! `tests/least_privilege.rs` reads it to find declared actions no test ever needed and refused calls.
//!
//! The guard fails closed: a call made outside any declaration is refused too, since on AWS it would run
//! with some function's grants that nobody checked. Work that is not a function (the local stack creating
//! its table, the invariant checker, tests preparing data) says so with [`unchecked`].

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// The environment variable naming the file that collects the actions used.
pub const ACTIONS_USED_LOG: &str = "ACTIONS_USED_LOG";

/// What the running operation may call.
#[derive(Clone, Copy)]
pub struct Declaration {
    pub operation: &'static str,
    pub actions: &'static [&'static str],
}

impl From<&crate::operations::Operation> for Declaration {
    fn from(operation: &crate::operations::Operation) -> Self {
        Declaration { operation: operation.name, actions: operation.actions }
    }
}

impl From<&crate::background::BackgroundFunction> for Declaration {
    fn from(function: &crate::background::BackgroundFunction) -> Self {
        Declaration { operation: function.name, actions: function.actions }
    }
}

/// What the running task's AWS calls are checked against.
#[derive(Clone, Copy)]
enum Scope {
    Declared(Declaration),
    /// Not a function's work: tools and test set-up, which no deployed function runs.
    Unchecked,
}

tokio::task_local! {
    static CURRENT: Scope;
    /// The name a refused call outside any declaration is recorded under inside [`probing`].
    static PROBE: &'static str;
}

/// What a refused call outside any declaration is recorded as (its operation): the least-privilege check
/// fails on it, since a deployed function would make that call with grants nobody checked.
pub const OUTSIDE_ANY_DECLARATION: &str = "outside_any_declaration";

/// Runs `work` (the guard's own tests, which make calls outside any declaration on purpose) with such calls
/// recorded under `name`, a `declared_actions_probe...` name the least-privilege check expects refused,
/// instead of [`OUTSIDE_ANY_DECLARATION`]. The calls are refused all the same.
#[cfg(test)]
pub(crate) async fn probing<F: std::future::Future>(name: &'static str, work: F) -> F::Output {
    PROBE.scope(name, work).await
}

/// Runs `work` as `declaration`'s operation: its AWS calls are checked against the declared actions.
pub async fn scope<F: std::future::Future>(declaration: Declaration, work: F) -> F::Output {
    CURRENT.scope(Scope::Declared(declaration), work).await
}

/// Runs `work` with its AWS calls unchecked and unrecorded: for what no deployed function runs (the local
/// stack's table set-up, the invariant checker, tests preparing and reading data). An operation's
/// declaration entered inside it is checked as usual.
pub async fn unchecked<F: std::future::Future>(work: F) -> F::Output {
    CURRENT.scope(Scope::Unchecked, work).await
}

/// Runs `work` as `declaration`'s function unless an operation's declaration is active already (which then
/// stays in force). For functions that run on their own (background functions, and tests that call them
/// directly) but may also be called inside an operation.
pub async fn scope_unless_scoped<F: std::future::Future>(declaration: Declaration, work: F) -> F::Output {
    match CURRENT.try_with(|scope| *scope) {
        Ok(Scope::Declared(_)) => work.await,
        _ => scope(declaration, work).await,
    }
}

/// Checks a use of key material (`key:signSessions`, `key:deriveTokens`: `accounts_core::keys`) against the
/// running operation's declaration, as the interceptor checks AWS calls: its function reads that secret
/// only when it declares the use, so an undeclared use is refused (and recorded) here, in the tests, rather
/// than failing for want of the key after deployment. Outside any declaration (unit tests, tools) nothing
/// is checked: a function without the secret has no key to use anyway.
pub fn use_key(action: &'static str) -> Result<(), String> {
    let Ok(Scope::Declared(declaration)) = CURRENT.try_with(|scope| *scope) else { return Ok(()) };
    let declared = declaration.actions.contains(&action);
    record(declaration.operation, action, !declared);
    if declared {
        Ok(())
    } else {
        tracing::error!(operation = declaration.operation, action, "key use outside the operation's declared actions");
        Err(format!(
            "{action} is not declared for operation {} (operations.rs, background.rs), so its function has no such key",
            declaration.operation
        ))
    }
}

/// The IAM actions one SDK call needs. A transaction needs the item actions it contains (IAM has no
/// action of its own for TransactWriteItems or TransactGetItems).
fn needed_actions(metadata: &Metadata, context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<&'static str> {
    let input = context.input();
    match (metadata.service(), metadata.name()) {
        ("SESv2", "SendEmail") => vec!["ses:SendEmail"],
        ("EventBridge", "PutEvents") => vec!["events:PutEvents"],
        (_, "GetSecretValue") => vec!["secretsmanager:GetSecretValue"],
        // IAM authorizes SendMessageBatch as SendMessage.
        (_, "SendMessage" | "SendMessageBatch") => vec!["sqs:SendMessage"],
        ("DynamoDB", "TransactWriteItems") => {
            let mut actions = BTreeSet::new();
            for item in input
                .downcast_ref::<TransactWriteItemsInput>()
                .and_then(|i| i.transact_items.as_deref())
                .unwrap_or_default()
            {
                if item.put.is_some() {
                    actions.insert("PutItem");
                }
                if item.update.is_some() {
                    actions.insert("UpdateItem");
                }
                if item.delete.is_some() {
                    actions.insert("DeleteItem");
                }
                if item.condition_check.is_some() {
                    actions.insert("ConditionCheckItem");
                }
            }
            actions.into_iter().collect()
        }
        ("DynamoDB", "TransactGetItems") => vec!["GetItem"],
        ("DynamoDB", "Query") => {
            vec![index_query(input.downcast_ref::<QueryInput>().and_then(|query| query.index_name.as_deref()))]
        }
        (_, name) => vec![action_name(name)],
    }
}

/// A Query of an index needs `dynamodb:Query` on that index's ARN, not the table's: its action here names
/// the index (`Query/UsersByName`), so the declarations, the template's grants (one resource per index) and
/// the least-privilege check all say which index a function reads. A Query of the table itself is `Query`.
pub const INDEX_QUERIES: &[&str] = &[
    "Query/UsersByName",
    "Query/UsersByExperience",
    "Query/OrganizationsBeingDeleted",
    "Query/InvitesToRemind",
    "Query/InvitesToClean",
    "Query/PlanNotices",
    "Query/AuditByActor",
    "Query/AuditByCategory",
    "Query/AuditByTarget",
];

/// The action of a Query of `index` (the table itself when `None`).
fn index_query(index: Option<&str>) -> &'static str {
    match index {
        None => "Query",
        Some(index) => INDEX_QUERIES
            .iter()
            .find(|query| query.strip_prefix("Query/") == Some(index))
            .copied()
            .unwrap_or("Query/(unknown index)"),
    }
}

/// The index a declared action queries (`Query/UsersByName` -> `UsersByName`); `None` for any other action.
pub fn queried_index(action: &str) -> Option<&str> {
    action.strip_prefix("Query/")
}

/// The SDK's operation names are the IAM action names; intern them as `&'static str`.
fn action_name(name: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "GetItem",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "Query",
        "Scan",
        "ConditionCheckItem",
        "CreateTable",
        "DeleteTable",
        "DescribeTable",
        "UpdateTimeToLive",
        "ListTables",
    ];
    KNOWN.iter().find(|known| **known == name).copied().unwrap_or("(unknown action)")
}

static RECORDED: Mutex<BTreeSet<(&'static str, &'static str, bool)>> = Mutex::new(BTreeSet::new());

/// Remembers (operation, action, refused) in this process ([`recorded`]) and appends `operation action`
/// (with ` refused` when the guard refused it) to the log, once per process.
fn record(operation: &'static str, action: &'static str, refused: bool) {
    let mut recorded = RECORDED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if recorded.insert((operation, action, refused)) {
        let Ok(path) = std::env::var(ACTIONS_USED_LOG) else { return };
        let line = if refused { format!("{operation} {action} refused\n") } else { format!("{operation} {action}\n") };
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            tracing::warn!(path, error = %err, "could not record an action used");
        }
    }
}

/// Every (operation, action, refused) this process's guard has seen, whether or not a log is kept.
pub fn recorded() -> Vec<(&'static str, &'static str, bool)> {
    RECORDED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().copied().collect()
}

/// The SDK interceptor (added to both clients in [`crate::App::new`], and to the event bus's client in
/// [`crate::events::EventPublisher::new`]).
#[derive(Debug)]
pub struct DeclaredActionsGuard;

impl Intercept for DeclaredActionsGuard {
    fn name(&self) -> &'static str {
        "DeclaredActionsGuard"
    }

    // Not `read_before_execution`: a client interceptor runs that before the operation's metadata is set.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Err("an AWS call without operation metadata cannot be checked against a declaration".into());
        };
        let declaration = match CURRENT.try_with(|scope| *scope) {
            Ok(Scope::Declared(declaration)) => declaration,
            Ok(Scope::Unchecked) => return Ok(()),
            // Fail closed: a call nobody declared would run with grants nobody checked.
            Err(_) => {
                tracing::error!(call = metadata.name(), "AWS call outside any operation's declaration");
                // Recorded, as a refusal inside a declaration is: a caller that swallows the error must still
                // fail the tests.
                let operation = PROBE.try_with(|name| *name).unwrap_or(OUTSIDE_ANY_DECLARATION);
                for action in needed_actions(metadata, context) {
                    record(operation, action, true);
                }
                return Err(format!(
                    "{} {} was called outside any operation's declaration (declared_actions::scope), so it is refused",
                    metadata.service(),
                    metadata.name()
                )
                .into());
            }
        };
        for action in needed_actions(metadata, context) {
            if !declaration.actions.contains(&action) {
                tracing::error!(
                    operation = declaration.operation,
                    action,
                    "call outside the operation's declared actions"
                );
                // Recorded too: a caller that swallows the error (a best-effort mail) must still fail the tests.
                record(declaration.operation, action, true);
                return Err(format!(
                    "{} is not declared for operation {} (operations.rs, background.rs), so IAM would deny it",
                    action, declaration.operation
                )
                .into());
            }
            record(declaration.operation, action, false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::error::DisplayErrorContext;

    /// A guarded client aimed at a closed port: a call the guard lets through fails to connect instead.
    fn guarded_client() -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("unit", "unit", None, None, "unit"))
            .endpoint_url("http://127.0.0.1:1")
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .interceptor(DeclaredActionsGuard)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    async fn get_item(client: &aws_sdk_dynamodb::Client) -> String {
        let key = aws_sdk_dynamodb::types::AttributeValue::S("k".into());
        let error = client.get_item().table_name("t").key("PK", key).send().await.expect_err("nothing listens");
        DisplayErrorContext(error).to_string()
    }

    const REFUSED_OUTSIDE: &str = "outside any operation's declaration";
    const NOT_DECLARED: &str = "is not declared for operation";

    #[tokio::test]
    async fn a_call_outside_any_declaration_is_refused_and_recorded() {
        let error = probing("declared_actions_probe_outside", get_item(&guarded_client())).await;
        assert!(error.contains(REFUSED_OUTSIDE), "{error}");
        assert!(recorded().contains(&("declared_actions_probe_outside", "GetItem", true)), "{:?}", recorded());
    }

    #[tokio::test]
    async fn a_call_its_operation_did_not_declare_is_refused() {
        let declaration = Declaration { operation: "declared_actions_probe_unit", actions: &["Query", "PutItem"] };
        let error = scope(declaration, get_item(&guarded_client())).await;
        assert!(error.contains(NOT_DECLARED) && error.contains("GetItem"), "{error}");
    }

    async fn query(client: &aws_sdk_dynamodb::Client, index: Option<&str>) -> String {
        let query =
            client.query().table_name("t").set_index_name(index.map(str::to_owned)).key_condition_expression("PK = :p");
        let error = query.expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::S("p".into()));
        DisplayErrorContext(error.send().await.expect_err("nothing listens")).to_string()
    }

    /// A Query of an index needs that index declared (`Query/{index}`), as IAM needs a grant on the index's
    /// ARN; a Query of the table (`Query`) allows no index, and an index allows no other.
    #[tokio::test]
    async fn a_query_of_an_index_needs_that_index_declared() {
        let client = guarded_client();
        let table_only = Declaration { operation: "declared_actions_probe_unit", actions: &["Query"] };
        let error = scope(table_only, query(&client, Some("UsersByName"))).await;
        assert!(error.contains(NOT_DECLARED) && error.contains("Query/UsersByName"), "{error}");
        let index = Declaration { operation: "declared_actions_probe_unit", actions: &["Query/UsersByName"] };
        let error = scope(index, query(&client, Some("UsersByName"))).await;
        assert!(error.contains("dispatch failure"), "declared: it reached the (closed) endpoint: {error}");
        let error = scope(index, query(&client, Some("AuditByActor"))).await;
        assert!(error.contains(NOT_DECLARED) && error.contains("Query/AuditByActor"), "{error}");
        let error = scope(index, query(&client, None)).await;
        assert!(error.contains(NOT_DECLARED), "the table itself is not the index: {error}");
        assert_eq!(index_query(Some("NoSuchIndex")), "Query/(unknown index)");
    }

    #[tokio::test]
    async fn declared_and_unchecked_calls_go_through_to_the_endpoint() {
        let declaration = Declaration { operation: "declared_actions_probe_unit", actions: &["GetItem"] };
        for error in
            [scope(declaration, get_item(&guarded_client())).await, unchecked(get_item(&guarded_client())).await]
        {
            assert!(!error.contains(REFUSED_OUTSIDE) && !error.contains(NOT_DECLARED), "{error}");
            assert!(error.contains("dispatch failure"), "it reached the (closed) endpoint: {error}");
        }
        // A declaration entered inside unchecked work is checked as usual.
        let undeclared = Declaration { operation: "declared_actions_probe_unit", actions: &["Query"] };
        let error = unchecked(scope_unless_scoped(undeclared, get_item(&guarded_client()))).await;
        assert!(error.contains(NOT_DECLARED), "{error}");
    }
}
