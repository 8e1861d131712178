//! Copies a table restored from a backup into a new stack's empty table, then checks every invariant
//! there (see `devstack::table_restore`; docs/deploy.md, "Restoring into a new stack").
//! Options: --from NAME (the restored table, required), --table NAME (the new stack's table; default
//! webknossos-accounts-local), --dynamodb-endpoint URL (default the local stack's; `aws` for AWS with the
//! environment's credentials and region), --resume yes (finish a copy cut short). Exit status 1 when the
//! copy holds invariant violations, 2 when it could not run.

use std::process::ExitCode;

use devstack::table_tool::{TableTool, exit};
use devstack::{invariants, table_restore};

#[tokio::main]
async fn main() -> ExitCode {
    exit("restore-table", run().await)
}

async fn run() -> Result<ExitCode, String> {
    let usage = "--from NAME [--table NAME] [--dynamodb-endpoint URL|aws] [--resume yes]";
    let tool = TableTool::from_args(&["--from", "--resume"], usage).await?;
    let from = tool.required("--from", "NAME")?;
    let resume = match tool.option("--resume") {
        None | Some("no") => false,
        Some("yes") => true,
        Some(other) => return Err(format!("--resume takes yes or no, not {other:?}")),
    };
    let restored = table_restore::restore(&tool.client, from, &tool.table, resume).await?;
    println!(
        "restore-table: {} items read from {from}, {} written into {}",
        restored.read, restored.written, tool.table
    );
    let problems = invariants::check_table(&tool.client, &tool.table, accounts::ids::now_millis()).await?;
    for problem in &problems {
        println!("{problem}");
    }
    println!("{}: {} invariant violation(s)", tool.table, problems.len());
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
