//! The one way lists page: `?limit=` (1 to 1,000) and `?cursor=` in, the items as a JSON array and the next
//! page's cursor in the `X-Next-Cursor` header out (the body stays the array WEBKNOSSOS clients expect).
//! A cursor is the position the next page starts after (a sort key or an id), base64url-encoded: opaque to
//! clients, and checked by the list that reads it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{DomainError, refusals};

refusals! {
    /// Why a list's paging parameters were refused.
    pub(crate) enum QueryError {
        LimitInvalid => Invalid, "request.limit.invalid", "limit must be a whole number between 1 and {MAX_PAGE_SIZE}";
        CursorInvalid => Invalid, "request.cursor.invalid", "The cursor is not one this API returned";
    }
}

/// Response header that carries the cursor of the next page.
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";
/// The largest page any list answers.
pub const MAX_PAGE_SIZE: usize = 1000;
/// The page size of lists that are not WEBKNOSSOS's (WEBKNOSSOS's `GET /users` answers everyone: a full page).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// What a list request asks for: at most `limit` items after the position `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageRequest {
    /// From the query's `limit` (`default` when absent) and `cursor`.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>, default: usize) -> Result<Self, DomainError> {
        let limit = match limit {
            None => default,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_PAGE_SIZE).contains(l))
                .ok_or(QueryError::LimitInvalid)?,
        };
        let after = cursor.map(decode).transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// The first page of `limit` items.
    #[cfg(test)]
    fn first(limit: usize) -> Self {
        PageRequest { limit, after: None }
    }

    /// The position, for lists whose positions are object ids.
    pub(crate) fn after_id(&self) -> Result<Option<&str>, DomainError> {
        match self.after.as_deref() {
            Some(id) if !crate::ids::is_object_id(id) => Err(QueryError::CursorInvalid.into()),
            after => Ok(after),
        }
    }
}

/// A page of a list: its items in order, and the cursor of the next page if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `items`, continued after `next_position` when there is more.
    pub fn new(items: Vec<T>, next_position: Option<&str>) -> Self {
        Page { items, next_cursor: next_position.map(|position| URL_SAFE_NO_PAD.encode(position)) }
    }

    /// A page read as up to `request.limit` items in key order: continued after its last item (its
    /// `position`) when the read says more may follow or the page is full.
    pub(crate) fn of_read(items: Vec<T>, more: bool, request: &PageRequest, position: impl Fn(&T) -> &str) -> Self {
        let next = if more || items.len() == request.limit {
            items.last().map(|item| position(item).to_owned())
        } else {
            None
        };
        Page::new(items, next.as_deref())
    }
}

fn decode(cursor: &str) -> Result<String, DomainError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|position| !position.is_empty())
        .ok_or(QueryError::CursorInvalid.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_brings_back_the_position_it_was_made_from() {
        let page = Page::new(vec![1], Some("lovelace\u{1}ada\u{1}0123"));
        let cursor = page.next_cursor.unwrap();
        let request = PageRequest::parse(Some("2"), Some(&cursor), 100).unwrap();
        assert_eq!(request, PageRequest { limit: 2, after: Some("lovelace\u{1}ada\u{1}0123".into()) });
        assert_eq!(Page::<i32>::new(vec![], None).next_cursor, None);
    }

    #[test]
    fn limits_and_cursors_that_no_page_could_have_are_refused() {
        assert_eq!(PageRequest::parse(None, None, 100).unwrap(), PageRequest::first(100));
        for limit in ["0", "1001", "x", "-1", ""] {
            assert_eq!(
                PageRequest::parse(Some(limit), None, 100).unwrap_err().code,
                "request.limit.invalid",
                "{limit}"
            );
        }
        for cursor in ["%%%", "", "not base64!"] {
            assert_eq!(PageRequest::parse(None, Some(cursor), 100).unwrap_err().code, "request.cursor.invalid");
        }
        let not_an_id = PageRequest::parse(None, Some(&URL_SAFE_NO_PAD.encode("x")), 100).unwrap();
        assert!(not_an_id.after_id().is_err());
        let id = crate::ids::new_object_id();
        let by_id = PageRequest::parse(None, Some(&URL_SAFE_NO_PAD.encode(&id)), 100).unwrap();
        assert_eq!(by_id.after_id().unwrap(), Some(id.as_str()));
    }
}
