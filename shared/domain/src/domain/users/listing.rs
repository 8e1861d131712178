//! `GET /users` and `GET /users/{id}`: the users a caller may see, filtered, searched and paged by name.

use std::collections::BTreeSet;

use super::UserError;
use crate::app::App;
use crate::caller::Caller;
use crate::error::DomainError;
use crate::model::User;
use crate::paging::{MAX_PAGE_SIZE, Page, PageRequest};
use crate::policy::may_edit_user;

use super::rules::may_see_user;

/// `GET /users` filters (WEBKNOSSOS's, plus `isActive` for the Status column and `search` for the Users
/// page's search box).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub is_editable: Option<bool>,
    pub is_team_manager_or_admin: Option<bool>,
    pub is_admin: Option<bool>,
    pub is_active: Option<bool>,
    /// Whether the user's address is verified (beyond WEBKNOSSOS).
    pub is_email_verified: Option<bool>,
    /// Lowercased text that the name ("first last") or the e-mail address must contain.
    pub search: Option<String>,
}

pub(crate) const MAX_SEARCH_LENGTH: usize = 100;

/// The search text as the filter keeps it: trimmed and lowercased; empty means no search.
pub fn search_text(text: &str) -> Result<Option<String>, DomainError> {
    let text = text.trim();
    if text.chars().count() > MAX_SEARCH_LENGTH {
        return Err(UserError::SearchTooLong.into());
    }
    Ok((!text.is_empty()).then(|| text.to_lowercase()))
}

impl UserFilter {
    fn accepts(&self, viewer: &User, user: &User) -> bool {
        self.is_editable.is_none_or(|v| may_edit_user(viewer, user) == v)
            && self.is_team_manager_or_admin.is_none_or(|v| user.is_team_manager_or_admin() == v)
            && self.is_admin.is_none_or(|v| user.is_admin == v)
            && self.is_active.is_none_or(|v| user.is_active() == v)
            && self.is_email_verified.is_none_or(|v| user.is_email_verified == v)
            && self.search.as_deref().is_none_or(|text| {
                format!("{} {}", user.first_name, user.last_name).to_lowercase().contains(text)
                    || user.email.to_lowercase().contains(text)
            })
    }
}

/// The users the caller may see (yourself, members of teams you manage, everyone for admins) that pass
/// `filter`. For admins a page reads only that page from the `UsersByName` index (per status); team
/// managers' lists read their managed teams' whole member ranges and those users for every page, since
/// memberships are ordered by user id, not name (docs/data-model.md, "Team managers' user list").
pub async fn list_users(
    app: &App,
    caller: &Caller,
    filter: UserFilter,
    request: &PageRequest,
) -> Result<Page<User>, DomainError> {
    let after = request.after.clone();
    let viewer = &caller.user;
    let store = caller.store(app);
    let wanted = request.limit;
    let mut users: Vec<User> = Vec::new();
    let mut more = false;
    if viewer.is_admin {
        let statuses: &[bool] = match filter.is_active {
            Some(true) => &[true],
            Some(false) => &[false],
            None => &[true, false],
        };
        for &active in statuses {
            // Read this status's users in name order until the page is full (filters drop some).
            let mut position = after.clone();
            let mut found = Vec::new();
            loop {
                // A search drops most users: read in the largest pages then.
                let read = if filter.search.is_some() { MAX_PAGE_SIZE } else { wanted.clamp(25, MAX_PAGE_SIZE) };
                let page = store.users_by_name(active, position.as_deref(), read).await?;
                position = page.items.last().map(User::name_key);
                found.extend(page.items.into_iter().filter(|u| filter.accepts(viewer, u)));
                if !page.more {
                    break;
                }
                if found.len() >= wanted {
                    more = true;
                    break;
                }
            }
            users.extend(found);
        }
    } else {
        let mut ids: BTreeSet<String> = BTreeSet::from([viewer.id.clone()]);
        for team_id in viewer.teams.iter().filter(|(_, role)| role.is_team_manager).map(|(id, _)| id) {
            let mut position: Option<String> = None;
            loop {
                let page = store.team_members(team_id, position.as_deref(), MAX_PAGE_SIZE).await?;
                position = page.items.last().map(|m| m.user_id.clone());
                ids.extend(page.items.into_iter().map(|m| m.user_id));
                if !page.more {
                    break;
                }
            }
        }
        let ids: Vec<String> = ids.into_iter().collect();
        users = store
            .users(&ids)
            .await?
            .into_iter()
            .filter(|u| may_see_user(viewer, u) && filter.accepts(viewer, u))
            .filter(|u| after.as_deref().is_none_or(|a| u.name_key().as_str() > a))
            .collect();
    }
    // Each key is built once (three strings): a comparison would build two.
    users.sort_by_cached_key(User::name_key);
    if users.len() > wanted {
        users.truncate(wanted);
        more = true;
    }
    let next = if more { users.last().map(User::name_key) } else { None };
    Ok(Page::new(users, next.as_deref()))
}

/// `GET /users/{id}`: a user the caller may see.
pub async fn get_user(app: &App, caller: &Caller, user_id: &str) -> Result<User, DomainError> {
    caller.store(app).user(user_id).await?.filter(|u| may_see_user(&caller.user, u)).ok_or(UserError::NotFound.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::user;

    #[test]
    fn search_matches_the_full_name_or_the_address_whatever_the_case() {
        let viewer = User { is_admin: true, ..user("admin", &[]) };
        let mut target = user("ada", &[]);
        target.first_name = "Ada".into();
        target.last_name = "Lovelace".into();
        target.email = "Countess@Example.org".into();
        let search = |text: &str| UserFilter { search: search_text(text).unwrap(), ..UserFilter::default() };
        for text in ["ada", "LOVE", "ada lovelace", " countess@ ", "example.ORG", ""] {
            assert!(search(text).accepts(&viewer, &target), "{text:?}");
        }
        for text in ["lovelace ada", "babbage", "ada@"] {
            assert!(!search(text).accepts(&viewer, &target), "{text:?}");
        }
        assert_eq!(search_text("   ").unwrap(), None);
        assert!(search_text(&"x".repeat(MAX_SEARCH_LENGTH + 1)).is_err());
    }
}
