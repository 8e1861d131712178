//! Imports an organization exported by `export-organization` into a table: refused, with nothing written,
//! if anything in the table is in the way (see `devstack::organization_export`). Run the invariant checker
//! on the table afterwards.
//! Options: --file PATH (required), --table NAME (default webknossos-accounts-local), --dynamodb-endpoint URL
//! (default the local stack's; `aws` for AWS with the environment's credentials).

use std::process::ExitCode;

use devstack::organization_export;
use devstack::table_tool::{TableTool, exit};

#[tokio::main]
async fn main() -> ExitCode {
    exit("import-organization", run().await)
}

async fn run() -> Result<ExitCode, String> {
    let tool = TableTool::from_args(&["--file"], "--file PATH [--table NAME] [--dynamodb-endpoint URL|aws]").await?;
    let path = tool.required("--file", "PATH")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let items = organization_export::from_json_lines(&text).map_err(|e| format!("{path}: {e}"))?;
    let organization = organization_export::organization_of(&items).map_err(|e| format!("{path}: {e}"))?;
    let written = organization_export::import(&tool.client, &tool.table, &items).await?;
    eprintln!("import-organization: {organization}: {written} items into {}", tool.table);
    Ok(ExitCode::SUCCESS)
}
