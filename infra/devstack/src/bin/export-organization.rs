//! Writes one organization (every item of it, and its people's accounts' parts about it) as JSON Lines to
//! standard output or `--file`: see `devstack::organization_export`.
//! Options: --organization ID (required), --table NAME (default webknossos-accounts-local),
//! --dynamodb-endpoint URL (default the local stack's; `aws` for AWS with the environment's credentials),
//! --file PATH, --include password-hashes,credentials (secrets left out otherwise: the accounts' password
//! hashes are emptied, sessions and personal API tokens stay behind).

use std::process::ExitCode;

use devstack::organization_export;
use devstack::table_tool::{TableTool, exit};

#[tokio::main]
async fn main() -> ExitCode {
    exit("export-organization", run().await)
}

async fn run() -> Result<ExitCode, String> {
    let usage = "--organization ID [--table NAME] [--dynamodb-endpoint URL|aws] [--file PATH] \
                 [--include password-hashes|credentials|password-hashes,credentials]";
    let tool = TableTool::from_args(&["--organization", "--file", "--include"], usage).await?;
    let organization = tool.required("--organization", "ID")?;
    let mut options = organization_export::ExportOptions::default();
    for what in tool.option("--include").unwrap_or_default().split(',').filter(|w| !w.is_empty()) {
        match what {
            "password-hashes" => options.password_hashes = true,
            "credentials" => options.credentials = true,
            other => return Err(format!("--include {other:?}: password-hashes or credentials (use {usage})")),
        }
    }
    let items = organization_export::export(&tool.client, &tool.table, organization, options).await?;
    let lines = organization_export::to_json_lines(&items);
    match tool.option("--file") {
        Some(path) => std::fs::write(path, lines).map_err(|e| format!("{path}: {e}"))?,
        None => print!("{lines}"),
    }
    eprintln!("export-organization: {organization}: {} items from {}", items.len(), tool.table);
    Ok(ExitCode::SUCCESS)
}
