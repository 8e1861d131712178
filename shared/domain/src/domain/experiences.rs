//! Experience levels: the organization's domain list, "Change Experience" for many users at once, and the
//! query task distribution needs: active users with at least N in a domain, highest first.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::app::App;
use crate::caller::Caller;
use crate::domain::users::{UserPatch, bulk_write};
use crate::error::{DomainError, refusals};
use crate::model::User;
use crate::paging::{Page, PageRequest, QueryError};
use crate::store::org::OrgStore;
use crate::validate;

refusals! {
    /// Why a change of experiences was refused.
    pub(crate) enum ExperienceError {
        SetAndRemoved { domain: String } => Invalid, "experience.domain.setAndRemoved",
            "Experience domain {domain:?} is both set and removed";
        NothingToChange => Invalid, "experience.change.empty", "Name experiences to set or to remove";
    }
}

/// The organization's experience domains, sorted (for the "Change Experience" dropdown; a new domain
/// joins the list when it is first saved with a user).
pub async fn domains(app: &App, caller: &Caller) -> Result<Vec<String>, DomainError> {
    caller.store(app).experience_domains().await.map_err(Into::into)
}

/// "Change Experience" for many selected users (beyond WEBKNOSSOS): set some domains to values and remove
/// others, for all selected users at once, all or nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkExperiences {
    pub user_ids: Vec<String>,
    #[serde(default)]
    pub set: BTreeMap<String, i64>,
    #[serde(default)]
    pub remove: Vec<String>,
}

pub async fn bulk_change(app: &App, caller: &Caller, request: BulkExperiences) -> Result<Vec<User>, DomainError> {
    let set = validate::experiences(&request.set)?;
    let mut remove = Vec::with_capacity(request.remove.len());
    for domain in &request.remove {
        let domain = validate::experience_domain(domain)?;
        if set.contains_key(&domain) {
            return Err(ExperienceError::SetAndRemoved { domain }.into());
        }
        remove.push(domain);
    }
    if set.is_empty() && remove.is_empty() {
        return Err(ExperienceError::NothingToChange.into());
    }
    bulk_write(app, caller, &request.user_ids, &[], |target| UserPatch {
        experiences: Some({
            let mut experiences = target.experiences.clone();
            experiences.extend(set.clone());
            for domain in &remove {
                experiences.remove(domain);
            }
            experiences
        }),
        ..UserPatch::default()
    })
    .await
}

/// A position in the distribution query: the value, then the user id (`{value}:{userId}`).
fn position(value: i64, user_id: &str) -> String {
    format!("{value}:{user_id}")
}

fn parse_position(text: &str) -> Result<(i64, &str), DomainError> {
    let (value, user_id) = text.split_once(':').ok_or(QueryError::CursorInvalid)?;
    let value = value.parse().map_err(|_| QueryError::CursorInvalid)?;
    if !crate::ids::is_object_id(user_id) {
        return Err(QueryError::CursorInvalid.into());
    }
    Ok((value, user_id))
}

/// Active users of the store's organization with at least `min_value` in `domain` (0: any level), highest
/// first, `limit` per page. Answered from the `UsersByExperience` index: the cost follows the number of
/// matching users, not the organization's size. For the API route and for internal services (task
/// distribution), which get their `OrgStore` with `OrgStore::for_internal_service`.
pub async fn users_with_experience(
    store: &OrgStore<'_>,
    domain: &str,
    min_value: i64,
    request: &PageRequest,
) -> Result<Page<(User, i64)>, DomainError> {
    let domain = validate::experience_domain(domain)?;
    let min_value = validate::experience_value(&domain, min_value)?;
    let after = request.after.as_deref().map(parse_position).transpose()?;
    let page = store.users_with_experience(&domain, min_value, after, request.limit).await?;
    let ids: Vec<String> = page.items.iter().map(|(id, _)| id.clone()).collect();
    let users = store.users(&ids).await?;
    let found: Vec<(User, i64)> = page
        .items
        .iter()
        .filter_map(|(id, value)| users.iter().find(|u| &u.id == id && u.is_active()).map(|u| (u.clone(), *value)))
        .collect();
    let next = if page.more { page.items.last().map(|(id, value)| position(*value, id)) } else { None };
    Ok(Page::new(found, next.as_deref()))
}
