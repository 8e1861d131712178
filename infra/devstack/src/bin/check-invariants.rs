//! Checks every cross-item invariant of a table (see `devstack::invariants`): one Scan, then a report.
//! Options: --table NAME (default webknossos-accounts-local), --dynamodb-endpoint URL (default the local
//! stack's; `aws` for AWS with the environment's credentials and region). Exit status 1 on violations.

use std::process::ExitCode;

use devstack::invariants;
use devstack::table_tool::{TableTool, exit};

#[tokio::main]
async fn main() -> ExitCode {
    exit("check-invariants", run().await)
}

async fn run() -> Result<ExitCode, String> {
    let tool = TableTool::from_args(&[], "--table NAME [--dynamodb-endpoint URL|aws]").await?;
    let items = invariants::scan_table(&tool.client, &tool.table).await?;
    let count = items.len();
    let problems = invariants::check_items(items, accounts::ids::now_millis());
    for problem in &problems {
        println!("{problem}");
    }
    println!("{}: {count} items, {} invariant violation(s)", tool.table, problems.len());
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
