//! Reading the log: filters checked into a key range, one page newest first, and its CSV form.

use crate::app::App;
use crate::caller::Caller;
use crate::error::{DomainError, refusals};
use crate::model::AuditEntry;
use crate::paging::{Page, PageRequest, QueryError};
use crate::store::org::AuditQuery;

refusals! {
    /// Why an audit log query was refused.
    pub(crate) enum AuditLogError {
        FromInvalid => Invalid, "auditLog.from.invalid", "from must be a time in milliseconds since 1970";
        ToInvalid => Invalid, "auditLog.to.invalid", "to must be a time in milliseconds since 1970";
        ActionInvalid => Invalid, "auditLog.action.invalid", "action must be an action of the catalogue or its start";
        ActorInvalid => Invalid, "auditLog.actor.invalid", "actor must be a user id";
        TargetInvalid => Invalid, "auditLog.target.invalid", "target must be the id of a user, team, invite or organization";
        RangeInvalid => Invalid, "auditLog.range.invalid", "to must not be before from";
    }
}

/// The filters of `GET /api/auditLog`, as given in the query.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// An action or its start (`user.` finds every user action).
    pub action: Option<String>,
    /// A user id: entries of what this user did.
    pub actor: Option<String>,
    /// An id: entries whose subject (first target) it is.
    pub target: Option<String>,
    /// Epoch milliseconds, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
}

fn millis(text: Option<&str>, refusal: AuditLogError) -> Result<Option<i64>, AuditLogError> {
    text.map(|t| t.parse::<i64>().ok().filter(|ms| (0..=0xffff_ffff_ffff).contains(ms)).ok_or(refusal)).transpose()
}

/// Whether `id` could be a target id: object ids and organization ids (letters, digits, `-` and `_`).
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_audit_id(id: &str) -> bool {
    id.len() == 28 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl AuditFilter {
    /// The key range and filters to read, or a 400 naming the bad filter.
    fn query(&self, page: &PageRequest) -> Result<AuditQuery<'_>, DomainError> {
        if let Some(action) = &self.action
            && (action.is_empty()
                || action.len() > 64
                || !action.bytes().all(|b| b.is_ascii_alphabetic() || b == b'.')
                || !super::CATALOGUE.iter().any(|(name, _)| name.starts_with(action.as_str())))
        {
            return Err(AuditLogError::ActionInvalid.into());
        }
        if let Some(actor) = &self.actor
            && !crate::ids::is_object_id(actor)
        {
            return Err(AuditLogError::ActorInvalid.into());
        }
        if let Some(target) = &self.target
            && !plausible_id(target)
        {
            return Err(AuditLogError::TargetInvalid.into());
        }
        let from = millis(self.from.as_deref(), AuditLogError::FromInvalid)?.unwrap_or(0);
        let to = millis(self.to.as_deref(), AuditLogError::ToInvalid)?;
        if to.is_some_and(|to| to < from) {
            return Err(AuditLogError::RangeInvalid.into());
        }
        // The range's ends as ids: every id of a millisecond starts with its 12 hex digits.
        let from_id = format!("{from:012x}");
        let to_id = to.map_or_else(|| "g".to_owned(), |to| format!("{to:012x}g"));
        let (to_id, exclude_to) = match page.after.as_deref() {
            Some(after) if !is_audit_id(after) => return Err(QueryError::CursorInvalid.into()),
            Some(after) if after < to_id.as_str() => (after.to_owned(), true),
            _ => (to_id, false),
        };
        Ok(AuditQuery {
            actor: self.actor.as_deref(),
            target: self.target.as_deref(),
            action_prefix: self.action.as_deref(),
            from_id,
            to_id,
            exclude_to,
            limit: page.limit,
        })
    }
}

/// One page of the caller's organization's log, newest first (the dispatch admits admins only).
pub async fn read_log(
    app: &App,
    caller: &Caller,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, DomainError> {
    let query = filter.query(page)?;
    let read = caller.store(app).audit_entries(&query).await?;
    Ok(Page::new(read.entries, read.continue_after.as_deref()))
}

/// The CSV export's columns.
pub const CSV_HEADER: &str =
    "id,occurredAt,action,actorType,actorId,actorName,actorEmail,targets,sourceIp,userAgent,requestId,group,change\r\n";

/// One entry as a CSV line (RFC 4180). Fields that a spreadsheet would run as a formula are prefixed with
/// `'` (OWASP's CSV injection advice): the names come from users.
pub fn csv_line(entry: &AuditEntry) -> String {
    let targets =
        entry.targets.iter().map(|t| format!("{}:{}:{}", t.kind, t.id, t.name)).collect::<Vec<_>>().join("; ");
    let occurred = crate::ids::iso8601(entry.occurred_at);
    let fields = [
        entry.id.as_str(),
        occurred.as_str(),
        entry.action.as_str(),
        entry.actor.kind.as_str(),
        entry.actor.id.as_deref().unwrap_or_default(),
        entry.actor.name.as_deref().unwrap_or_default(),
        entry.actor.email.as_deref().unwrap_or_default(),
        targets.as_str(),
        entry.context.source_ip.as_deref().unwrap_or_default(),
        entry.context.user_agent.as_deref().unwrap_or_default(),
        entry.context.request_id.as_deref().unwrap_or_default(),
        entry.group.as_deref().unwrap_or_default(),
        entry.change.as_str(),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// One cell: a formula start is defused with `'`; a cell with a separator (`,`, or `;`, the list separator
/// spreadsheets use in many locales, where an unquoted `a;=cmd()` would become a second cell holding a
/// formula), a quote or a line break is quoted.
fn csv_field(field: &str) -> String {
    let defused =
        if field.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{field}") } else { field.to_owned() };
    if defused.contains([',', ';', '"', '\n', '\r']) || defused != field {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditActor, AuditContext, AuditTarget};

    fn page(after: Option<&str>) -> PageRequest {
        PageRequest { limit: 10, after: after.map(str::to_owned) }
    }

    #[test]
    fn filters_become_a_key_range_or_a_coded_refusal() {
        let query = AuditFilter { from: Some("16".into()), to: Some("255".into()), ..Default::default() };
        let range = query.query(&page(None)).unwrap();
        assert_eq!(
            (range.from_id.as_str(), range.to_id.as_str(), range.exclude_to),
            ("000000000010", "0000000000ffg", false)
        );
        let after = "0000000000800000000000000000";
        let continued = query.query(&page(Some(after))).unwrap();
        assert_eq!((continued.to_id.as_str(), continued.exclude_to), (after, true));
        for (filter, code) in [
            (AuditFilter { action: Some("user.nope".into()), ..Default::default() }, "auditLog.action.invalid"),
            (AuditFilter { action: Some("user;".into()), ..Default::default() }, "auditLog.action.invalid"),
            (AuditFilter { actor: Some("x".into()), ..Default::default() }, "auditLog.actor.invalid"),
            (AuditFilter { target: Some("a#b".into()), ..Default::default() }, "auditLog.target.invalid"),
            (AuditFilter { from: Some("yesterday".into()), ..Default::default() }, "auditLog.from.invalid"),
            (AuditFilter { to: Some("-1".into()), ..Default::default() }, "auditLog.to.invalid"),
            (
                AuditFilter { from: Some("5".into()), to: Some("4".into()), ..Default::default() },
                "auditLog.range.invalid",
            ),
        ] {
            assert_eq!(filter.query(&page(None)).err().map(|e| e.code), Some(code), "{filter:?}");
        }
        assert!(AuditFilter { action: Some("user.".into()), ..Default::default() }.query(&page(None)).is_ok());
        assert_eq!(
            AuditFilter::default().query(&page(Some("SESSION#x"))).err().map(|e| e.code),
            Some("request.cursor.invalid")
        );
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let entry = AuditEntry {
            organization: "lab".into(),
            id: "0000000000010000000000000000".into(),
            action: "user.changed".into(),
            occurred_at: 1_700_000_000_123,
            actor: AuditActor {
                kind: "user".into(),
                id: Some("a".into()),
                name: Some("=HYPERLINK(\"x\")".into()),
                email: None,
            },
            targets: vec![AuditTarget { kind: "user".into(), id: "b".into(), name: "B, Jr.".into() }],
            context: AuditContext::default(),
            change: "{\"firstName\":{\"old\":\"a\",\"new\":\"b\"}}".into(),
            group: None,
            expires_at: 0,
        };
        let line = csv_line(&entry);
        assert!(
            line.starts_with("0000000000010000000000000000,2023-11-14T22:13:20.123Z,user.changed,user,a,"),
            "{line}"
        );
        assert!(line.contains(",\"'=HYPERLINK(\"\"x\"\")\","), "{line}");
        assert!(line.contains(",\"user:b:B, Jr.\","), "{line}");
        // With `;` as the list separator, a name holding `;=...` stays one quoted cell.
        assert_eq!(csv_field("Eve;=cmd|' /C calc'!A0"), "\"Eve;=cmd|' /C calc'!A0\"");
        assert_eq!(csv_field("plain"), "plain");
        assert!(line.ends_with("\"{\"\"firstName\"\":{\"\"old\"\":\"\"a\"\",\"\"new\"\":\"\"b\"\"}}\"\r\n"), "{line}");
    }
}
