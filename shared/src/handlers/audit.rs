use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::audit::{self, AuditFilter};
use crate::error::ApiError;
use crate::http::{self, Request};
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest};

/// Most rows one CSV export answers (Lambda answers at most 6 MB); `X-Next-Cursor` continues it.
pub(crate) const CSV_MAX_ROWS: usize = 5 * MAX_PAGE_SIZE;

/// `GET /api/auditLog`: a page of the organization's log, newest first; `format=csv` for a CSV export of
/// the filtered range.
pub(crate) async fn audit_log(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let text = |name: &str| http::query_text(&req, name).map(str::to_owned);
    let filter = AuditFilter {
        action: text("action"),
        actor: text("actor"),
        target: text("target"),
        from: text("from"),
        to: text("to"),
    };
    match http::query_text(&req, "format") {
        None | Some("json") => {
            let request = http::page_request(&req, DEFAULT_PAGE_SIZE)?;
            let page = audit::read_log(app, &caller, &filter, &request).await?;
            Ok(http::paged(&page.items.iter().map(json::audit_entry).collect::<Vec<_>>(), page.next_cursor))
        }
        Some("csv") => {
            let mut request = http::page_request(&req, MAX_PAGE_SIZE)?;
            let mut body = String::from(audit::CSV_HEADER);
            let mut rows = 0;
            let next = loop {
                let page = audit::read_log(app, &caller, &filter, &request).await?;
                rows += page.items.len();
                page.items.iter().for_each(|entry| body.push_str(&audit::csv_line(entry)));
                match page.next_cursor {
                    Some(cursor) if rows < CSV_MAX_ROWS => {
                        request = PageRequest::parse(Some(&MAX_PAGE_SIZE.to_string()), Some(&cursor), MAX_PAGE_SIZE)?
                    }
                    next => break next,
                }
            };
            let response = lambda_http::Response::builder()
                .status(200)
                .header("content-type", "text/csv; charset=utf-8")
                .header(
                    "content-disposition",
                    format!("attachment; filename=\"audit-log-{}.csv\"", caller.organization.id),
                )
                .header("cache-control", "no-store")
                .header("x-content-type-options", "nosniff")
                .body(lambda_http::Body::Text(body))
                .map_err(|_| ApiError::internal())?;
            Ok(match next {
                Some(cursor) => http::with_header(response, crate::paging::NEXT_CURSOR_HEADER, cursor),
                None => response,
            })
        }
        Some(_) => Err(ApiError::bad_request("auditLog.format.invalid", "format must be json or csv")),
    }
}
