//! One organization out of a table and into another (`export-organization`, `import-organization`).
//!
//! An export is every item of the organization's partition (users, teams, memberships, invites, sessions,
//! tokens, audit log, credits, plan history, counters), its plan requests, and of each of its people's
//! accounts the parts about it: the account with only this organization's identity, and its e-mail guard.
//! (Pending password-reset and verification links stay behind: they are a day's worth of mail.) It is JSON
//! Lines of DynamoDB's attribute-value JSON (what `aws dynamodb put-item --item` takes), one item per line,
//! sorted by key with sorted attributes, so two exports of the same data are the same bytes.
//!
//! Secrets stay behind unless asked for ([`ExportOptions`]): sessions and personal API tokens (live
//! credentials) are left out, and the accounts' password hashes are emptied (people then reset their
//! password), so a file that leaks gives nobody a way in.
//!
//! An import writes such a file into a table only where nothing is in the way: every key of the file must
//! be absent there or hold exactly the file's item (so an import cut short is finished by running it
//! again), and the organization's id must not be a deleted organization's. It refuses what it cannot
//! vouch for ([`vouch`]): credentials (sessions, tokens), and accounts, guards or users that would reach
//! beyond the organization. Otherwise nothing is written.

use std::collections::{BTreeMap, BTreeSet};

use accounts::model::Key;
use accounts::store::{Item, key_attributes};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};

const ORG_PREFIX: &str = "ORG#";

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

/// An item's key: items here always have one (read from a table, or checked by [`from_json_lines`]).
fn key_of(item: &Item) -> Key {
    accounts::store::key_of(item).expect("items here have a string PK and SK")
}

/// What an export carries besides the organization's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    /// The accounts' password hashes (otherwise emptied: logins then need a password reset).
    pub password_hashes: bool,
    /// Sessions and personal API tokens (for inspection only: an import refuses them).
    pub credentials: bool,
}

/// The entities that are live credentials.
const CREDENTIALS: [&str; 2] = ["Session", "ApiToken"];

/// Every item of `organization` and its accounts' parts, sorted by key, with the secrets `options` ask for.
pub async fn export(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    organization: &str,
    options: ExportOptions,
) -> Result<Vec<Item>, String> {
    let partition = format!("{ORG_PREFIX}{organization}");
    let mut items = query_all(client, table, &partition, None).await?;
    if !options.credentials {
        items.retain(|item| !text(item, "entity").is_some_and(|entity| CREDENTIALS.contains(&entity.as_str())));
    }
    if !items.iter().any(|i| key_of(i) == Key::organization(organization)) {
        return Err(format!("{table} has no organization {organization:?}"));
    }
    let account_ids: BTreeSet<String> = items
        .iter()
        .filter(|i| text(i, "entity").as_deref() == Some("User"))
        .filter_map(|i| text(i, "accountId"))
        .collect();
    let account_keys: Vec<Key> = account_ids.iter().map(|id| Key::account(id)).collect();
    let mut accounts = Vec::new();
    for mut account in batch_get(client, table, &account_keys).await?.into_values() {
        // Only this organization's identity goes with it: the others are not in the export.
        if let Some(AttributeValue::M(identities)) = account.get_mut("identities") {
            identities.retain(|id, _| id == organization);
        }
        if text(&account, "lastUsedOrganization").is_some_and(|last| last != organization) {
            account.insert("lastUsedOrganization".into(), AttributeValue::S(organization.to_owned()));
        }
        if !options.password_hashes {
            account.insert("passwordHash".into(), AttributeValue::S(String::new()));
        }
        accounts.push(account);
    }
    let guard_keys: Vec<Key> = accounts.iter().filter_map(|a| text(a, "email")).map(|e| Key::email_guard(&e)).collect();
    let guards = batch_get(client, table, &guard_keys).await?;
    let requests =
        query_all(client, table, accounts::model::PLAN_REQUEST_PARTITION, Some(("organization", organization))).await?;
    items.extend(accounts);
    items.extend(guards.into_values());
    items.extend(requests);
    items.sort_by_key(key_of);
    Ok(items)
}

/// The items as JSON Lines (sorted attributes, so the same items are the same bytes).
pub fn to_json_lines(items: &[Item]) -> String {
    let mut out = String::new();
    for item in items {
        let value = serde_json::to_value(serde_dynamo::Item::from(item.clone())).expect("items serialize");
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out
}

/// Items from JSON Lines (blank lines ignored); the line number of the first that is not an item.
pub fn from_json_lines(text: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let item: serde_dynamo::Item =
            serde_json::from_str(line).map_err(|e| format!("line {}: not a DynamoDB item: {e}", number + 1))?;
        let item: Item = item.into();
        if accounts::store::key_of(&item).is_none() {
            return Err(format!("line {}: an item without a string PK and SK", number + 1));
        }
        items.push(item);
    }
    Ok(items)
}

/// The one organization `items` are an export of, or why they are not one.
pub fn organization_of(items: &[Item]) -> Result<String, String> {
    let organizations: Vec<String> = items
        .iter()
        .filter(|i| text(i, "SK").as_deref() == Some("ORG"))
        .filter_map(|i| text(i, "PK")?.strip_prefix(ORG_PREFIX).map(str::to_owned))
        .collect();
    let [organization] = organizations.as_slice() else {
        return Err(format!("an export holds exactly one organization item; this one holds {}", organizations.len()));
    };
    let partition = format!("{ORG_PREFIX}{organization}");
    for item in items {
        let Key { pk, sk } = key_of(item);
        let belongs = pk == partition
            || (pk.starts_with("ACCOUNT#") && sk == "ACCOUNT")
            || (pk.starts_with("EMAIL#") && sk == "EMAIL")
            || (pk == accounts::model::PLAN_REQUEST_PARTITION
                && text(item, "organization").as_deref() == Some(organization.as_str()));
        if !belongs {
            return Err(format!("{pk}/{sk} is not an item of organization {organization:?}'s export"));
        }
    }
    Ok(organization.clone())
}

/// What in `items` (an export of `organization`) grants rights the import cannot vouch for: credentials,
/// an account with an identity or last-used organization other than the file's own user, an e-mail guard
/// or a user naming an account the file does not hold with that address.
pub fn vouch(items: &[Item], organization: &str) -> Vec<String> {
    let at = |item: &Item| {
        let Key { pk, sk } = key_of(item);
        format!("{pk}/{sk}")
    };
    let entity = |item: &Item| text(item, "entity").unwrap_or_default();
    let users: BTreeMap<String, String> = items
        .iter()
        .filter(|i| entity(i) == "User")
        .filter_map(|i| Some((text(i, "id")?, text(i, "accountId")?)))
        .collect();
    let accounts: BTreeMap<String, String> = items
        .iter()
        .filter(|i| entity(i) == "Account")
        .filter_map(|i| Some((text(i, "id")?, text(i, "email")?)))
        .collect();
    let mut problems = Vec::new();
    for item in items {
        match entity(item).as_str() {
            kind if CREDENTIALS.contains(&kind) => {
                problems.push(format!("{}: a {kind} is a live credential; export without them", at(item)))
            }
            "Account" => {
                let id = text(item, "id").unwrap_or_default();
                let identities = match item.get("identities") {
                    Some(AttributeValue::M(map)) => map.clone(),
                    _ => Default::default(),
                };
                let own = identities.len() == 1
                    && matches!(identities.get(organization), Some(AttributeValue::S(user))
                        if users.get(user) == Some(&id));
                let last = text(item, "lastUsedOrganization");
                if !own || last.is_some_and(|last| last != organization) {
                    problems.push(format!("{}: an account must name only its user of {organization}", at(item)));
                }
            }
            "EmailGuard" => {
                let named = text(item, "accountId").and_then(|id| accounts.get(&id));
                if named != text(item, "email").as_ref() {
                    problems.push(format!("{}: names no account of the file with its address", at(item)));
                }
            }
            "User" if !text(item, "accountId").is_some_and(|id| accounts.contains_key(&id)) => {
                problems.push(format!("{}: names no account of the file", at(item)));
            }
            _ => {}
        }
    }
    problems
}

/// What importing `items` into `table` would run into: what the import cannot vouch for, keys holding
/// something else, a tombstone of the id.
pub async fn conflicts(client: &aws_sdk_dynamodb::Client, table: &str, items: &[Item]) -> Result<Vec<String>, String> {
    let organization = organization_of(items)?;
    let refused = vouch(items, &organization);
    if !refused.is_empty() {
        return Ok(refused);
    }
    let mut keys: Vec<Key> = items.iter().map(key_of).collect();
    let tombstone = Key::organization_tombstone(&organization);
    keys.push(tombstone.clone());
    let existing = batch_get(client, table, &keys).await?;
    let mut problems = Vec::new();
    if existing.contains_key(&tombstone) {
        problems.push(format!("organization {organization:?} was deleted in {table}; its id is not taken again"));
    }
    for item in items {
        let key = key_of(item);
        if existing.get(&key).is_some_and(|there| there != item) {
            problems.push(format!("{}/{} exists in {table} with other contents", key.pk, key.sk));
        }
    }
    Ok(problems)
}

/// Imports `items` (an export) into `table`: refused, with nothing written, when [`conflicts`] finds any.
/// Returns the number of items written.
pub async fn import(client: &aws_sdk_dynamodb::Client, table: &str, items: &[Item]) -> Result<usize, String> {
    let problems = conflicts(client, table, items).await?;
    if !problems.is_empty() {
        return Err(format!("nothing imported:\n{}", problems.join("\n")));
    }
    put_all(client, table, items).await?;
    Ok(items.len())
}

/// How often a batch is sent before the write gives up (about 20 s of pauses).
const MAX_BATCH_ATTEMPTS: u32 = 40;

/// Writes `items` into `table`, 25 to a BatchWriteItem, sending again what DynamoDB leaves for later.
pub async fn put_all(client: &aws_sdk_dynamodb::Client, table: &str, items: &[Item]) -> Result<(), String> {
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item.clone())).build().expect("the item is set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        // DynamoDB may leave some of a batch for later (throttled): send those again, with a growing pause,
        // up to a point: a table that keeps refusing ends the run (running it again finishes the work).
        for attempt in 1u32.. {
            let output = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(|e| format!("BatchWriteItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            match output.unprocessed_items.unwrap_or_default().remove(table) {
                Some(rest) if !rest.is_empty() => requests = rest,
                _ => break,
            }
            if attempt == MAX_BATCH_ATTEMPTS {
                return Err(format!("BatchWriteItem: {table} left items unwritten {MAX_BATCH_ATTEMPTS} times"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(attempt.min(20)))).await;
        }
    }
    Ok(())
}

/// Every item of partition `pk` (strongly consistent), those whose `filter` attribute has the value only.
pub async fn query_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    filter: Option<(&str, &str)>,
) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let mut query = client
            .query()
            .table_name(table)
            .consistent_read(true)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .set_exclusive_start_key(start);
        if let Some((attribute, value)) = filter {
            query = query
                .filter_expression("#filter = :filter")
                .expression_attribute_names("#filter", attribute)
                .expression_attribute_values(":filter", AttributeValue::S(value.to_owned()));
        }
        let output = query
            .send()
            .await
            .map_err(|e| format!("Query of {pk}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// The items at `keys` that exist (strongly consistent BatchGetItem, 100 keys at a time).
async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: &[Key],
) -> Result<BTreeMap<Key, Item>, String> {
    let mut found = BTreeMap::new();
    let unique: BTreeSet<&Key> = keys.iter().collect();
    let unique: Vec<&Key> = unique.into_iter().collect();
    for chunk in unique.chunks(100) {
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for key in chunk {
            request = request.keys(key_attributes(key));
        }
        let mut pending = Some(request.build().expect("keys are set"));
        while let Some(request) = pending.take() {
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| format!("BatchGetItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            for item in output.responses.unwrap_or_default().remove(table).unwrap_or_default() {
                found.insert(key_of(&item), item);
            }
            pending = output.unprocessed_keys.unwrap_or_default().remove(table).filter(|k| !k.keys().is_empty());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pk: &str, sk: &str, extra: &[(&str, &str)]) -> Item {
        let mut item = key_attributes(&Key { pk: pk.to_owned(), sk: sk.to_owned() });
        for (name, value) in extra {
            item.insert((*name).to_owned(), AttributeValue::S((*value).to_owned()));
        }
        item
    }

    #[test]
    fn an_export_is_one_organizations_items_and_nothing_else() {
        let home = [item("ORG#home", "ORG", &[]), item("ORG#home", "USER#1", &[]), item("ACCOUNT#a", "ACCOUNT", &[])];
        assert_eq!(organization_of(&home).unwrap(), "home");
        let mut two = home.to_vec();
        two.push(item("ORG#lab", "ORG", &[]));
        assert!(organization_of(&two).unwrap_err().contains("exactly one organization item"));
        let mut foreign = home.to_vec();
        foreign.push(item("ORG#lab", "USER#2", &[]));
        assert!(organization_of(&foreign).unwrap_err().contains("ORG#lab/USER#2"));
        let mut requests = home.to_vec();
        requests.push(item("PLANREQUESTS", "REQUEST#1", &[("organization", "home")]));
        assert!(organization_of(&requests).is_ok());
        requests.push(item("PLANREQUESTS", "REQUEST#2", &[("organization", "lab")]));
        assert!(organization_of(&requests).is_err(), "another organization's plan request");
    }

    #[test]
    fn json_lines_round_trip_with_sorted_attributes_and_refuse_what_is_not_an_item() {
        let mut nested = item("ORG#home", "USER#1", &[("b", "2"), ("a", "1")]);
        nested.insert("teams".into(), AttributeValue::M([("t2".into(), AttributeValue::Bool(true))].into()));
        nested.insert("count".into(), AttributeValue::N("3".into()));
        let lines = to_json_lines(std::slice::from_ref(&nested));
        assert_eq!(from_json_lines(&lines).unwrap(), vec![nested.clone()]);
        assert!(lines.find("\"a\"").unwrap() < lines.find("\"b\"").unwrap(), "attributes sorted: {lines}");
        assert_eq!(to_json_lines(&from_json_lines(&lines).unwrap()), lines);
        assert!(from_json_lines("{\"PK\": 1}").unwrap_err().starts_with("line 1"));
        assert!(from_json_lines("\n{\"SK\": {\"S\": \"ORG\"}}").unwrap_err().contains("line 2"));
        assert!(from_json_lines("not json").is_err());
    }
}
