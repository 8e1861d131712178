//! Imports an organization exported by `export-organization` into a table: refused, with nothing written,
//! if anything in the table is in the way (see `devstack::organization_export`). Run the invariant checker
//! on the table afterwards.
//! Options: --file PATH (required), --table NAME (default webknossos-accounts-local), --dynamodb-endpoint URL
//! (default the local stack's; `aws` for AWS with the environment's credentials).

use devstack::organization_export;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("import-organization: {problem}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let (mut endpoint, mut table) = ("http://127.0.0.1:8000".to_owned(), "webknossos-accounts-local".to_owned());
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dynamodb-endpoint" | "--dynamodb" => endpoint = value,
            "--table" => table = value,
            "--file" => file = Some(value),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --file PATH [--table NAME] [--dynamodb-endpoint URL|aws])"
                ));
            }
        }
    }
    let path = file.ok_or("--file PATH is required")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let items = organization_export::from_json_lines(&text).map_err(|e| format!("{path}: {e}"))?;
    let organization = organization_export::organization_of(&items).map_err(|e| format!("{path}: {e}"))?;
    let client = devstack::tool_dynamodb(&endpoint).await;
    let written = organization_export::import(&client, &table, &items).await?;
    eprintln!("import-organization: {organization}: {written} items into {table}");
    Ok(())
}
