//! The rules of invites, as pure functions: when an invite can be used, who manages it, what its sender
//! may still grant, when it may be mailed again and when it is cleaned up.

use super::InviteError;
use crate::domain::invites::MAX_RECIPIENTS;
use crate::domain::invites::SendInvites;
use crate::error::DomainError;
use crate::model::{DeliveryState, Invite, InviteState, Team, User};
use std::collections::{BTreeMap, HashMap};

pub(super) fn cleanup_at(valid_until_millis: i64, retention: std::time::Duration) -> i64 {
    valid_until_millis / 1000 + retention.as_secs() as i64
}

/// Why an invite that exists cannot be used.
pub(super) fn unusable(invite: &Invite, now: i64) -> Option<DomainError> {
    let refusal = match invite.shown_state(now) {
        "pending" => return None,
        "accepted" => InviteError::Used,
        "revoked" => InviteError::Revoked,
        _ => InviteError::Expired,
    };
    Some(refusal.into())
}

/// Whether `sender` may (still) give what `invite` grants: an active admin anything; an active team
/// manager memberships of the teams it manages, without admin or dataset manager rights.
pub(crate) fn sender_may_grant(sender: &User, invite: &Invite) -> bool {
    if sender.is_deactivated || !sender.is_team_manager_or_admin() {
        return false;
    }
    if sender.is_admin {
        return true;
    }
    !invite.is_admin && !invite.is_dataset_manager && invite.teams.keys().all(|team| sender.is_team_manager_of(team))
}

pub(super) fn accepted(invite: &Invite, user: &User, now: i64, retention: std::time::Duration) -> Invite {
    Invite {
        state: InviteState::Accepted,
        accepted_by_user: Some(user.id.clone()),
        accepted_by_email: Some(user.email.clone()),
        ended: Some(now),
        cleanup_at: cleanup_at(now, retention),
        ..invite.clone()
    }
}

/// Only admins and the team managers who sent it manage an invite.
pub(super) fn may_manage(caller: &User, invite: &Invite) -> bool {
    caller.is_admin || (invite.sent_by == caller.id && caller.is_team_manager_or_admin())
}

/// Seconds until a queued or delivered invite may be mailed again (none: now). It was last (re)sent when
/// its validity began; one whose mail failed may be resent at once.
pub(crate) fn resend_wait(
    invite: &Invite,
    lifetime: std::time::Duration,
    cooldown: std::time::Duration,
    now_millis: i64,
) -> Option<u64> {
    if !matches!(invite.delivery, DeliveryState::Sent | DeliveryState::Queued) {
        return None;
    }
    let sent_at = invite.valid_until - lifetime.as_millis() as i64;
    let ready_at = sent_at + cooldown.as_millis() as i64;
    (now_millis < ready_at).then(|| ((ready_at - now_millis) as u64).div_ceil(1000))
}

/// What an invite request may give: rights only admins give, and team roles only in existing teams the
/// sender manages (admins: any), to 1 to [`MAX_RECIPIENTS`] recipients. Returns the teams and roles.
pub(super) fn check_request(
    sender: &User,
    request: &SendInvites,
    existing: &HashMap<String, Team>,
) -> Result<BTreeMap<String, bool>, DomainError> {
    if (request.is_admin || request.is_dataset_manager) && !sender.is_admin {
        return Err(InviteError::RightsNotAllowed.into());
    }
    if request.recipients.is_empty() {
        return Err(InviteError::NoRecipients.into());
    }
    if request.recipients.len() > MAX_RECIPIENTS {
        return Err(InviteError::TooManyRecipients { given: request.recipients.len() }.into());
    }
    let mut teams = BTreeMap::new();
    for membership in &request.team_memberships {
        let Some(team) = existing.get(&membership.id) else {
            return Err(InviteError::NoSuchTeam { team: membership.id.clone() }.into());
        };
        if !sender.is_admin && !sender.is_team_manager_of(&membership.id) {
            return Err(InviteError::TeamNotManaged { team: team.name.clone() }.into());
        }
        teams.insert(membership.id.clone(), membership.is_team_manager);
    }
    Ok(teams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::teams::TeamMembershipInput;
    use crate::model::TeamRole;

    fn sample_invite() -> Invite {
        Invite {
            id: "i".into(),
            organization: "lab".into(),
            email: "a@x.org".into(),
            nonce: String::new(),
            token_hash: String::new(),
            state: InviteState::Pending,
            auto_activate: true,
            is_admin: false,
            is_dataset_manager: false,
            teams: BTreeMap::new(),
            makes_owner: false,
            sent_by: "s".into(),
            sent_by_name: "S".into(),
            created: 0,
            valid_until: 0,
            delivery: DeliveryState::Sending,
            delivery_error: None,
            reminded: false,
            accepted_by_user: None,
            accepted_by_email: None,
            ended: None,
            cleanup_at: 0,
        }
    }

    #[test]
    fn a_delivered_invite_waits_for_its_cooldown_before_a_resend() {
        let lifetime = std::time::Duration::from_secs(14 * 86_400);
        let cooldown = std::time::Duration::from_secs(600);
        let sent_at = 1_000_000_000_000;
        let invite =
            |delivery| Invite { delivery, valid_until: sent_at + lifetime.as_millis() as i64, ..sample_invite() };
        assert_eq!(resend_wait(&invite(DeliveryState::Sent), lifetime, cooldown, sent_at + 1_000), Some(599));
        assert_eq!(resend_wait(&invite(DeliveryState::Sent), lifetime, cooldown, sent_at + 600_000), None);
        assert_eq!(
            resend_wait(&invite(DeliveryState::Failed), lifetime, cooldown, sent_at + 1_000),
            None,
            "a failed mail may be resent at once"
        );
        assert_eq!(resend_wait(&invite(DeliveryState::Sent), lifetime, std::time::Duration::ZERO, sent_at), None);
        // A queued mail counts as sent: no second mail moments after the first.
        assert_eq!(resend_wait(&invite(DeliveryState::Queued), lifetime, cooldown, sent_at + 1_000), Some(599));
        assert_eq!(resend_wait(&invite(DeliveryState::Undeliverable), lifetime, cooldown, sent_at + 1_000), None);
    }

    #[test]
    fn only_senders_who_still_may_grant_an_invite_keep_it_working() {
        let team =
            |id: &str, manager: bool| (id.to_owned(), TeamRole { name: id.to_uppercase(), is_team_manager: manager });
        let manager = crate::fixtures::user("m", &[("red", true), ("blue", false)]);
        let into = |teams: &[&str]| Invite {
            teams: teams.iter().map(|t| (t.to_string(), false)).collect(),
            ..sample_invite()
        };
        assert!(sender_may_grant(&manager, &into(&["red"])));
        assert!(sender_may_grant(&manager, &into(&[])));
        assert!(!sender_may_grant(&manager, &into(&["blue"])), "not a manager of blue");
        assert!(!sender_may_grant(&manager, &Invite { is_dataset_manager: true, ..into(&["red"]) }));
        assert!(
            !sender_may_grant(
                &User { teams: BTreeMap::from([team("red", false)]), ..manager.clone() },
                &into(&["red"])
            ),
            "demoted"
        );
        assert!(!sender_may_grant(&User { is_deactivated: true, ..manager.clone() }, &into(&["red"])), "deactivated");
        let admin = User { is_admin: true, teams: BTreeMap::new(), ..manager };
        assert!(sender_may_grant(&admin, &Invite { is_admin: true, ..into(&["blue"]) }));
    }

    #[test]
    fn an_invite_works_while_pending_and_unexpired_and_says_why_not_otherwise() {
        let now = 1_000_000;
        let pending = Invite { valid_until: now + 1, ..sample_invite() };
        assert!(unusable(&pending, now).is_none());
        let expired = Invite { valid_until: now, ..sample_invite() };
        let used = Invite { state: InviteState::Accepted, valid_until: now + 1, ..sample_invite() };
        let revoked = Invite { state: InviteState::Revoked, valid_until: now + 1, ..sample_invite() };
        for (invite, code) in [(expired, "invite.expired"), (used, "invite.used"), (revoked, "invite.revoked")] {
            let error = unusable(&invite, now).unwrap();
            assert_eq!((error.kind, error.code), (crate::ErrorKind::Gone, code));
        }
    }

    #[test]
    fn admins_manage_every_invite_and_team_managers_those_they_sent() {
        let admin = User { is_admin: true, ..crate::fixtures::user("admin", &[]) };
        let manager = crate::fixtures::user("m", &[("red", true)]);
        let theirs = Invite { sent_by: "m".into(), ..sample_invite() };
        let others = Invite { sent_by: "someone".into(), ..sample_invite() };
        assert!(may_manage(&admin, &theirs) && may_manage(&admin, &others));
        assert!(may_manage(&manager, &theirs) && !may_manage(&manager, &others));
        let demoted = crate::fixtures::user("m", &[("red", false)]);
        assert!(!may_manage(&demoted, &theirs), "a sender who manages no team any more");
    }

    #[test]
    fn an_accepted_invite_records_who_took_it_and_is_cleaned_up_after_the_retention() {
        let retention = std::time::Duration::from_secs(30 * 86_400);
        let user = crate::fixtures::user("u", &[]);
        let invite = Invite { valid_until: 5_000_000, ..sample_invite() };
        let taken = accepted(&invite, &user, 2_000_000, retention);
        assert_eq!(taken.state, InviteState::Accepted);
        assert_eq!((taken.accepted_by_user.as_deref(), taken.ended), (Some("u"), Some(2_000_000)));
        assert_eq!(taken.cleanup_at, 2_000 + 30 * 86_400, "counted from the acceptance, in seconds");
        assert_eq!(cleanup_at(5_000_000, retention), 5_000 + 30 * 86_400);
    }

    #[test]
    fn team_managers_invite_into_their_teams_without_rights_and_admins_give_anything() {
        let team = |id: &str| {
            (
                id.to_owned(),
                Team {
                    id: id.into(),
                    organization: "lab".into(),
                    name: id.to_uppercase(),
                    is_organization_team: false,
                    deleting: false,
                    created: 0,
                },
            )
        };
        let existing: HashMap<String, Team> = [team("red"), team("blue")].into_iter().collect();
        let request = |teams: &[(&str, bool)], is_admin: bool| SendInvites {
            recipients: vec!["a@x.org".into()],
            auto_activate: true,
            is_admin,
            is_dataset_manager: false,
            team_memberships: teams
                .iter()
                .map(|(id, m)| TeamMembershipInput { id: id.to_string(), is_team_manager: *m })
                .collect(),
        };
        let manager = crate::fixtures::user("m", &[("red", true)]);
        let admin = User { is_admin: true, ..crate::fixtures::user("admin", &[]) };
        let granted = check_request(&manager, &request(&[("red", true)], false), &existing).unwrap();
        assert_eq!(granted, BTreeMap::from([("red".to_owned(), true)]));
        let code = |sender: &User, r: &SendInvites| check_request(sender, r, &existing).unwrap_err().code;
        assert_eq!(code(&manager, &request(&[("blue", false)], false)), "invite.team.notAllowed");
        assert_eq!(code(&manager, &request(&[], true)), "invite.rights.notAllowed");
        assert_eq!(code(&admin, &request(&[("green", false)], false)), "team.notFound");
        assert!(check_request(&admin, &request(&[("blue", true)], true), &existing).is_ok());
        let none = SendInvites { recipients: vec![], ..request(&[], false) };
        assert_eq!(code(&admin, &none), "invite.recipients.empty");
        let many = SendInvites { recipients: vec!["a@x.org".into(); MAX_RECIPIENTS + 1], ..request(&[], false) };
        assert_eq!(code(&admin, &many), "invite.recipients.tooMany");
    }
}
