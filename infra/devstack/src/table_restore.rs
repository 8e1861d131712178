//! A table restored from a backup, copied into a new stack's table (`restore-table`; docs/deploy.md,
//! "Restoring into a new stack").
//!
//! AWS restores a backup (point-in-time recovery, or AWS Backup) into a new table outside any stack. A new
//! stack's table is created by CloudFormation, empty; this copies every item of the restored table into it,
//! as it is. It refuses a target that holds anything (a copy never merges into live data), and a copy cut
//! short is finished by running it again with `--resume` (the target then holds a part of the source
//! exactly: what is there is checked, what is missing is written).

use std::collections::BTreeMap;

use accounts::store::Item;

use crate::organization_export::put_all;

/// Items scanned per page (and written before the next page is read).
const PAGE: i32 = 500;

/// What a restore did: the items it read and the ones it wrote.
#[derive(Debug, PartialEq)]
pub struct Restored {
    pub read: usize,
    pub written: usize,
}

/// Copies every item of `from` into `to`, which must be empty; with `resume`, `to` may hold items already
/// copied from `from` (identical), and only the missing ones are written.
pub async fn restore(
    client: &aws_sdk_dynamodb::Client,
    from: &str,
    to: &str,
    resume: bool,
) -> Result<Restored, String> {
    if from == to {
        return Err(format!("--from and --table are both {from}: the restored table is copied into another"));
    }
    let already = if resume { keyed(crate::invariants::scan_table(client, to).await?) } else { BTreeMap::new() };
    if !resume && !is_empty(client, to).await? {
        return Err(format!(
            "{to} is not empty: a restore copies into a new stack's empty table (--resume finishes a copy cut short)"
        ));
    }
    let mut restored = Restored { read: 0, written: 0 };
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(from)
            .consistent_read(true)
            .limit(PAGE)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan of {from}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        let items = page.items.unwrap_or_default();
        restored.read += items.len();
        let mut missing = Vec::new();
        for item in items {
            match already.get(&key(&item)?) {
                None => missing.push(item),
                Some(there) if *there == item => {}
                Some(_) => {
                    let (pk, sk) = key(&item)?;
                    return Err(format!("{pk}/{sk} is in {to} with other contents: not a part of this restore"));
                }
            }
        }
        put_all(client, to, &missing).await?;
        restored.written += missing.len();
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(restored);
        }
    }
}

async fn is_empty(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<bool, String> {
    let page = client
        .scan()
        .table_name(table)
        .limit(1)
        .send()
        .await
        .map_err(|e| format!("Scan of {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    Ok(page.items.unwrap_or_default().is_empty() && page.last_evaluated_key.is_none())
}

fn key(item: &Item) -> Result<(String, String), String> {
    accounts::store::key_of(item).map(|key| (key.pk, key.sk)).ok_or_else(|| "an item without a PK and SK".to_owned())
}

fn keyed(items: Vec<Item>) -> BTreeMap<(String, String), Item> {
    items.into_iter().filter_map(|item| Some((key(&item).ok()?, item))).collect()
}
