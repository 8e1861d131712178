//! What the table tools (`check-invariants`, `export-organization`, `import-organization`) share: the
//! options `--table NAME` (default the local stack's table) and `--dynamodb-endpoint URL` (or `--dynamodb`;
//! default the local stack's DynamoDB, `aws` for AWS with the environment's credentials and region), each
//! tool's own `--name value` options, and how a tool that cannot run ends (status 2, the reason on
//! standard error).

use std::collections::BTreeMap;
use std::process::ExitCode;

pub const LOCAL_DYNAMODB: &str = "http://127.0.0.1:8000";
pub const LOCAL_TABLE: &str = "webknossos-accounts-local";

pub struct TableTool {
    pub table: String,
    pub client: aws_sdk_dynamodb::Client,
    options: BTreeMap<String, String>,
}

impl TableTool {
    /// Reads the command line: the shared options and the tool's `own` ones; `usage` is shown with an
    /// unknown argument.
    pub async fn from_args(own: &[&str], usage: &str) -> Result<TableTool, String> {
        let (mut endpoint, mut table) = (LOCAL_DYNAMODB.to_owned(), LOCAL_TABLE.to_owned());
        let mut options = BTreeMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--dynamodb-endpoint" | "--dynamodb" => endpoint = value,
                "--table" => table = value,
                name if own.contains(&name) => {
                    options.insert(flag, value);
                }
                other => return Err(format!("unknown argument {other:?} (use {usage})")),
            }
        }
        Ok(TableTool { table, client: crate::tool_dynamodb(&endpoint).await, options })
    }

    /// The value of the tool's own option `name`, if given.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// The value of the tool's own option `name` (`--name WHAT`), which must be given.
    pub fn required(&self, name: &str, what: &str) -> Result<&str, String> {
        self.option(name).ok_or_else(|| format!("{name} {what} is required"))
    }
}

/// How the tool `name` ends: its own exit status, or status 2 with the reason it could not run.
pub fn exit(name: &str, outcome: Result<ExitCode, String>) -> ExitCode {
    outcome.unwrap_or_else(|problem| {
        eprintln!("{name}: {problem}");
        ExitCode::from(2)
    })
}
