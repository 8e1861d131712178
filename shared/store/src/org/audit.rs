//! The audit log: reading one organization's entries newest first, by time range, actor or subject. The
//! entries themselves are written by the other store methods, in the transactions of their changes.

use crate::StoreError;
use crate::model::{AUDIT_PREFIX, audit_actor_partition, audit_category_partition, audit_target_partition};
use crate::model::{AuditEntry, org_partition};
use crate::org::OrgStore;
use crate::{from_item, s};
use aws_sdk_dynamodb::types::AttributeValue;

/// Name of the index of an organization's entries by actor.
pub(crate) const AUDIT_BY_ACTOR_INDEX: &str = "AuditByActor";
/// Name of the index of an organization's entries by subject (first target).
pub(crate) const AUDIT_BY_TARGET_INDEX: &str = "AuditByTarget";
/// Name of the index of an organization's entries by category (the action before its dot).
pub(crate) const AUDIT_BY_CATEGORY_INDEX: &str = "AuditByCategory";

/// Most entries one DynamoDB page reads.
const READ_PAGE: i32 = 1000;
/// Most Queries one page of the log makes: with an action filter that matches rarely, a page may come back
/// short (with a cursor) rather than read the whole log.
pub(crate) const MAX_READS_PER_PAGE: usize = 4;

/// Which entries to read: ids in `[from_id, to_id]` (time-ordered ids, so a time range), newest first.
pub struct AuditQuery<'q> {
    pub actor: Option<&'q str>,
    pub target: Option<&'q str>,
    pub action_prefix: Option<&'q str>,
    pub from_id: String,
    /// Inclusive upper bound, or the id the previous page ended with (excluded).
    pub to_id: String,
    pub exclude_to: bool,
    pub limit: usize,
}

/// A page of entries and, when more may follow, the id to continue after.
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub continue_after: Option<String>,
}

impl OrgStore<'_> {
    /// One page of the log. The key range is the partition (or the actor's, subject's or category's index
    /// partition) between the two ids, so a page costs the same however long the log is; what the range
    /// does not select (an action within a category, a start shorter than a category, an action with an
    /// actor or subject filter) is filtered from what it reads, at most [`MAX_READS_PER_PAGE`] Queries.
    pub async fn audit_entries(&self, query: &AuditQuery<'_>) -> Result<AuditPage, StoreError> {
        // An action filter of a whole category (`team.`) or one action reads that category's range; only
        // a shorter start (`te`) is a filter on the whole log's range.
        let category = query.action_prefix.and_then(|prefix| prefix.split_once('.')).map(|(category, _)| category);
        let (index, partition_attribute, partition) = match (query.actor, query.target, category) {
            (Some(actor), _, _) => {
                (Some(AUDIT_BY_ACTOR_INDEX), "auditActor", audit_actor_partition(&self.organization, actor))
            }
            (None, Some(target), _) => {
                (Some(AUDIT_BY_TARGET_INDEX), "auditTarget", audit_target_partition(&self.organization, target))
            }
            (None, None, Some(category)) => {
                (Some(AUDIT_BY_CATEGORY_INDEX), "auditCategory", audit_category_partition(&self.organization, category))
            }
            (None, None, None) => (None, "PK", org_partition(&self.organization)),
        };
        let whole_category =
            index == Some(AUDIT_BY_CATEGORY_INDEX) && query.action_prefix.is_some_and(|prefix| prefix.ends_with('.'));
        let action_filter = query.action_prefix.filter(|_| !whole_category);
        let mut filters = Vec::new();
        if action_filter.is_some() {
            filters.push("begins_with(#action, :action)");
        }
        if query.actor.is_some() && query.target.is_some() {
            filters.push("auditTarget = :target");
        }
        let mut entries = Vec::new();
        let mut start = None;
        for _ in 0..MAX_READS_PER_PAGE {
            let mut request = self
                .db
                .client
                .query()
                .table_name(&self.db.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#pk = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_names("#pk", partition_attribute)
                .expression_attribute_values(":pk", s(&partition))
                .expression_attribute_values(":from", s(format!("{AUDIT_PREFIX}{}", query.from_id)))
                .expression_attribute_values(":to", s(format!("{AUDIT_PREFIX}{}", query.to_id)))
                .scan_index_forward(false)
                // Indexes cannot be read strongly consistently; the partition is.
                .consistent_read(index.is_none())
                // Unfiltered, a page reads its own entries; filtered, whole pages of the range, so a rare
                // action costs few round trips.
                .limit(if filters.is_empty() {
                    READ_PAGE.min(query.limit as i32 + 1 + i32::from(query.exclude_to))
                } else {
                    READ_PAGE
                })
                .set_exclusive_start_key(start.take());
            if let Some(prefix) = action_filter {
                request = request
                    .expression_attribute_names("#action", "action")
                    .expression_attribute_values(":action", s(prefix));
            }
            if let (Some(_), Some(target)) = (query.actor, query.target) {
                request = request
                    .expression_attribute_values(":target", s(audit_target_partition(&self.organization, target)));
            }
            if !filters.is_empty() {
                request = request.filter_expression(filters.join(" AND "));
            }
            let output = request.send().await.map_err(|e| StoreError::sdk("Query", e))?;
            for item in output.items.unwrap_or_default() {
                let entry: AuditEntry = from_item(item)?;
                if query.exclude_to && entry.id == query.to_id {
                    continue;
                }
                entries.push(entry);
                if entries.len() == query.limit {
                    let last = entries.last().map(|e| e.id.clone());
                    return Ok(AuditPage { entries, continue_after: last });
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(AuditPage { entries, continue_after: None });
            }
        }
        // The read budget ran out before the page filled: continue after the last entry read.
        let continue_after = start.as_ref().and_then(|key| match key.get("SK") {
            Some(AttributeValue::S(sk)) => sk.strip_prefix(AUDIT_PREFIX).map(str::to_owned),
            _ => None,
        });
        Ok(AuditPage { entries, continue_after })
    }
}
