//! Teams: listing, creating and deleting (admins), and a team's members.

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::{self, Auditor};
use crate::domain::retry::{self, Attempt};
use crate::error::{DomainError, refusals};
use crate::ids;
use crate::model::{AuditTarget, InviteState, Membership, Team, User};
use crate::paging::{Page, PageRequest};
use crate::store::org::{UserWrite, UserWriteError, UserWriteExtras};
use crate::validate;
use serde_json::json;

/// How many members one transaction of a team deletion updates (2 items each).
const DELETION_BATCH: usize = 40;

/// A team and the role in it, as requests name them (`{"id", "isTeamManager"}`): a user's teams, an invite's.
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamMembershipInput {
    pub id: String,
    #[serde(default)]
    pub is_team_manager: bool,
}

refusals! {
    /// Why a team request was refused.
    pub(crate) enum TeamError {
        NotFound => NotFound, "team.notFound", "There is no such team in your organization";
        OrganizationTeam => Forbidden, "team.organizationTeam", "The organization's Default team cannot be deleted";
        /// A deletion that lost to concurrent changes of an invite too often: the team is marked deleting,
        /// and deleting it again finishes the job.
        InvitesChangedMeanwhile => Conflict, "request.conflict",
            "The team's invites changed while it was deleted; please delete it again";
        MembersNotAllowed => Forbidden, "team.members.notAllowed",
            "Only admins and the team's managers list its members";
    }
}

/// The teams the caller sees, by name: all for admins, else the caller's own; with `editable_only`, the
/// teams the caller may manage (all for admins, else those they manage).
pub async fn list(app: &App, caller: &Caller, editable_only: bool) -> Result<Vec<Team>, DomainError> {
    let user = &caller.user;
    let mut teams: Vec<Team> = caller
        .store(app)
        .teams()
        .await?
        .into_iter()
        .filter(|team| !team.deleting)
        .filter(|team| {
            user.is_admin
                || if editable_only { user.is_team_manager_of(&team.id) } else { user.teams.contains_key(&team.id) }
        })
        .collect();
    teams.sort_by_key(|a| a.name.to_lowercase());
    Ok(teams)
}

pub async fn create(app: &App, caller: &Caller, name: &str) -> Result<Team, DomainError> {
    let team = Team {
        id: ids::new_object_id(),
        organization: caller.organization.id.clone(),
        name: validate::team_name(name)?,
        is_organization_team: false,
        deleting: false,
        created: ids::now_millis(),
    };
    let entry =
        Auditor::caller(app, caller).entry(&team.organization, "team.created", vec![team_target(&team)], json!({}));
    caller.store(app).create_team(&team, &entry).await?;
    Ok(team)
}

fn team_target(team: &Team) -> AuditTarget {
    AuditTarget::team(&team.id, &team.name)
}

/// Any team but the organization's Default team (which every member is in) may be deleted.
pub(crate) fn may_delete(team: &Team) -> Result<(), DomainError> {
    if team.is_organization_team {
        return Err(TeamError::OrganizationTeam.into());
    }
    Ok(())
}

/// Deletes a team and removes it from every member. The team is first marked as being deleted (hidden,
/// and no one can join it), then left by its members in batches, then removed; a deletion cut short is
/// finished by deleting again.
pub async fn delete(app: &App, caller: &Caller, team_id: &str) -> Result<(), DomainError> {
    let store = caller.store(app);
    let team = store.team(team_id).await?.ok_or(TeamError::NotFound)?;
    may_delete(&team)?;
    // The members leaving the team are logged as user changes tied to the deletion.
    let auditor = Auditor::caller(app, caller).grouped();
    let deleted = auditor.entry(&team.organization, "team.deleted", vec![team_target(&team)], json!({}));
    // A deletion cut short is finished by deleting again: the team is marked already.
    if !team.deleting && !store.mark_team_deleting(&team.id, &deleted).await? {
        return Err(TeamError::NotFound.into());
    }
    loop {
        let page = store.team_members(&team.id, None, DELETION_BATCH).await?;
        if page.items.is_empty() {
            break;
        }
        let user_ids: Vec<String> = page.items.iter().map(|m| m.user_id.clone()).collect();
        let users = store.users(&user_ids).await?;
        let writes: Vec<UserWrite> = users
            .into_iter()
            .map(|user| {
                let mut after = user.clone();
                after.teams.remove(&team.id);
                UserWrite { before: Some(user), after }
            })
            .collect();
        let audit = writes
            .iter()
            .flat_map(|w| {
                let before = w.before.as_ref().expect("members are existing users");
                audit::user_change_entries(before, &w.after, false).into_iter().map(|(action, facts)| {
                    auditor.entry(&team.organization, action, vec![AuditTarget::user(&w.after)], facts)
                })
            })
            .collect();
        match store.write_users(&writes, &UserWriteExtras { audit, ..UserWriteExtras::default() }).await {
            // A member changed meanwhile: the next round reads it again.
            Ok(()) | Err(UserWriteError::Conflict(_)) => {}
            Err(UserWriteError::Store(err)) => return Err(err.into()),
        }
        // Memberships whose user item is missing cannot be left by a user write; remove them directly.
        let orphans: Vec<&Membership> =
            page.items.iter().filter(|m| !writes.iter().any(|w| w.after.id == m.user_id)).collect();
        for membership in orphans {
            store.delete_membership(&membership.team_id, &membership.user_id).await?;
        }
    }
    remove_from_pending_invites(&store, &team.id).await?;
    store.delete_team_items(&team).await.map_err(Into::into)
}

/// Takes a team out of every pending invite of the organization (reading its invites page by page), so
/// no invite is left pointing at a deleted team. Each invite is replaced conditioned on being unchanged
/// since read; one that changed meanwhile is read again.
async fn remove_from_pending_invites(
    store: &crate::store::org::OrgStore<'_>,
    team_id: &str,
) -> Result<(), DomainError> {
    let mut after: Option<String> = None;
    loop {
        let page = store.invites(after.as_deref(), 100).await?;
        after = page.items.last().map(|i| i.id.clone());
        for invite in &page.items {
            // Read again when the invite changed meanwhile.
            let attempt = |n| async move {
                let read = if n == 0 { Some(invite.clone()) } else { store.invite(&invite.id).await? };
                let Some(before) = read.filter(|i| i.state == InviteState::Pending && i.teams.contains_key(team_id))
                else {
                    return Ok(Attempt::Done(()));
                };
                let mut changed = before.clone();
                changed.teams.remove(team_id);
                let replaced = store.replace_pending_invite(&before, &changed, None).await?;
                Ok(if replaced { Attempt::Done(()) } else { Attempt::Conflict })
            };
            retry::until_settled(attempt, TeamError::InvitesChangedMeanwhile.into()).await?;
        }
        if !page.more {
            return Ok(());
        }
    }
}

/// One page of a team's members with their roles: for admins and the team's managers.
pub async fn members(
    app: &App,
    caller: &Caller,
    team_id: &str,
    request: &PageRequest,
) -> Result<Page<(User, bool)>, DomainError> {
    let store = caller.store(app);
    let team = store.team(team_id).await?.filter(|t| !t.deleting).ok_or(TeamError::NotFound)?;
    if !caller.user.is_admin && !caller.user.is_team_manager_of(&team.id) {
        return Err(TeamError::MembersNotAllowed.into());
    }
    let page = store.team_members(&team.id, request.after_id()?, request.limit).await?;
    let user_ids: Vec<String> = page.items.iter().map(|m| m.user_id.clone()).collect();
    let users = store.users(&user_ids).await?;
    let members = page
        .items
        .iter()
        .filter_map(|m| users.iter().find(|u| u.id == m.user_id))
        .map(|u| (u.clone(), u.is_team_manager_of(&team.id)))
        .collect();
    let next = page.more.then(|| page.items.last().map(|m| m.user_id.clone())).flatten();
    Ok(Page::new(members, next.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_team_cannot_be_deleted_and_others_can() {
        let team = Team {
            id: "t".into(),
            organization: "lab".into(),
            name: "Red".into(),
            is_organization_team: false,
            deleting: false,
            created: 0,
        };
        assert!(may_delete(&team).is_ok());
        let default = Team { is_organization_team: true, ..team };
        assert_eq!(may_delete(&default).unwrap_err().code, "team.organizationTeam");
    }
}
