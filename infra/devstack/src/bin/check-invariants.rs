//! Checks every cross-item invariant of a table (see `devstack::invariants`): one Scan, then a report.
//! Options: --table NAME (default webknossos-accounts-local), --dynamodb-endpoint URL (default the local
//! stack's; `aws` for AWS with the environment's credentials and region). Exit status 1 on violations.

use devstack::invariants;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::from(1),
        Err(problem) => {
            eprintln!("check-invariants: {problem}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> Result<usize, String> {
    let mut endpoint = "http://127.0.0.1:8000".to_owned();
    let mut table = "webknossos-accounts-local".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dynamodb-endpoint" | "--dynamodb" => endpoint = value,
            "--table" => table = value,
            other => {
                return Err(format!("unknown argument {other:?} (use --table NAME [--dynamodb-endpoint URL|aws])"));
            }
        }
    }
    let client = devstack::tool_dynamodb(&endpoint).await;
    let items = invariants::scan_table(&client, &table).await?;
    let count = items.len();
    let problems = invariants::check_items(items, accounts::ids::now_millis());
    for problem in &problems {
        println!("{problem}");
    }
    println!("{table}: {count} items, {} invariant violation(s)", problems.len());
    Ok(problems.len())
}
