//! Writes one organization (every item of it, and its people's accounts' parts about it) as JSON Lines to
//! standard output or `--file`: see `devstack::organization_export`.
//! Options: --organization ID (required), --table NAME (default webknossos-accounts-local),
//! --dynamodb-endpoint URL (default the local stack's; `aws` for AWS with the environment's credentials),
//! --file PATH.

use devstack::organization_export;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("export-organization: {problem}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let (mut endpoint, mut table) = ("http://127.0.0.1:8000".to_owned(), "webknossos-accounts-local".to_owned());
    let (mut organization, mut file) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dynamodb-endpoint" | "--dynamodb" => endpoint = value,
            "--table" => table = value,
            "--organization" => organization = Some(value),
            "--file" => file = Some(value),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --organization ID [--table NAME] [--dynamodb-endpoint URL|aws] [--file PATH])"
                ));
            }
        }
    }
    let organization = organization.ok_or("--organization ID is required")?;
    let client = devstack::tool_dynamodb(&endpoint).await;
    let items = organization_export::export(&client, &table, &organization).await?;
    let lines = organization_export::to_json_lines(&items);
    match file {
        Some(path) => std::fs::write(&path, lines).map_err(|e| format!("{path}: {e}"))?,
        None => print!("{lines}"),
    }
    eprintln!("export-organization: {organization}: {} items from {table}", items.len());
    Ok(())
}
