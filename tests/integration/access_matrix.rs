//! The authorization matrix: every route (`operations::ALL`) x every kind of caller -> the expected status,
//! written out per route below (from WEBKNOSSOS's rules in the reference and this API's documented
//! behaviour, not computed from the route table's access rules, so a wrong rule fails here).
//!
//! One prepared pair of organizations: A (the home organization, every target lives there) and B (the
//! callers "from another organization"). Each request is the route's sample from `devstack::events::SAMPLES`
//! with its placeholders filled from A's data (fresh teams, invites and tokens for calls that use them up).
//! Every refused call leaves the table unchanged: no record in the table's stream (a few stream reads per
//! call, where comparing scans of the table took 130 s of the test's 256). Every allowed change changes it
//! (the API ignores unknown fields, so a 200 alone would not show the change was made). Every answer to a
//! caller of B on a route that acts in its own organization leaves A's items unchanged and names none of
//! them (tenant isolation).
//!
//! Tenant isolation by id: every route with an id in its path (organizations, users, teams, invites) is
//! called by each kind of caller of B with A's ids and must answer 403 (class excluded) or 404 (target
//! not found) and change nothing; the super users' cross-organization routes are the designed exception.
//! Invite tokens are the one capability meant to cross organizations: B's callers may read and accept
//! A's invite (`organization_by_invite`, `join_organization`).

use std::collections::BTreeSet;
use tests::answers::{SentInvites, Token};

use accounts::operations::ALL;
use accounts::operations::Access;
use devstack::events::{SAMPLES, fill};
use serde_json::{Value, json};
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, invite_token, mails_to, organization_name, signup_form};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Anonymous,
    Deactivated,
    Member,
    DatasetManager,
    /// In A: manages the target user's team; in B: manages a team of B.
    TeamManager,
    OtherTeamManager,
    Admin,
    Owner,
    /// An account granted the operator role; otherwise a plain member.
    SuperUser,
}

const KINDS: [Kind; 8] = [
    Kind::Deactivated,
    Kind::Member,
    Kind::DatasetManager,
    Kind::TeamManager,
    Kind::OtherTeamManager,
    Kind::Admin,
    Kind::Owner,
    Kind::SuperUser,
];

struct Caller {
    kind: Kind,
    /// From organization B (every target is in A).
    foreign: bool,
    email: String,
    organization: String,
    session: Option<String>,
}

impl Caller {
    fn label(&self) -> String {
        if self.kind == Kind::Anonymous {
            return "anonymous".into();
        }
        format!("{:?}{}", self.kind, if self.foreign { " of another organization" } else { "" })
    }
    fn auth(&self) -> Auth {
        self.session.clone().map(Auth::Bearer).unwrap_or(Auth::None)
    }
}

/// Expected statuses in the order: anonymous; A's deactivated, member, dataset manager, team manager of
/// the target's team, team manager of another team, admin, owner, super user; then the same eight of B.
fn expected(function: &str) -> [u16; 17] {
    const ANY_MEMBER: [u16; 17] = [401, 401, 200, 200, 200, 200, 200, 200, 200, 401, 200, 200, 200, 200, 200, 200, 200];
    const OWN_ORGANIZATION_ONLY: [u16; 17] =
        [401, 401, 200, 200, 200, 200, 200, 200, 200, 401, 404, 404, 404, 404, 404, 404, 404];
    const SUPER_USERS: [u16; 17] =
        [401, 401, 403, 403, 403, 403, 403, 403, 200, 401, 403, 403, 403, 403, 403, 403, 200];
    const MANAGED_INVITE: [u16; 17] =
        [401, 401, 403, 403, 404, 404, 200, 200, 403, 401, 403, 403, 404, 404, 404, 404, 403];
    match function {
        "buildinfo" | "create_organization_with_admin" | "login" | "register" | "organization_by_invite" => [200; 17],
        // Public: the token or key names the account, whoever sends it (each call gets a fresh one).
        "start_reset_password" | "reset_password" => [200; 17],
        // The link's token is all it takes; confirming again answers the same.
        "confirm_notification_address" => [200; 17],
        // The key belongs to another account than every caller's: only its own account presents it (a
        // deactivated identity's session is refused as such).
        "verify_email" => [401, 401, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403, 403, 403, 403, 403],
        "change_password" | "request_verification" | "pricing_status" => ANY_MEMBER,
        "web" => [404; 17],
        // Public, and this instance has no identity provider: everyone is told so, and a callback this
        // browser did not start is refused (sso.rs and sso_organizations.rs have the flows).
        "oidc_login" | "oidc_callback" => [400; 17],
        "provider_links" => ANY_MEMBER,
        // The caller's own links only: none is called so.
        "unlink_provider" => [401, 401, 404, 404, 404, 404, 404, 404, 404, 401, 404, 404, 404, 404, 404, 404, 404],
        // Passkeys are the caller's own account's: any member starts a registration and lists its own; the
        // sample's empty answer is refused as malformed, by anyone; no passkey is called so.
        "passkey_register_start" | "passkeys" => ANY_MEMBER,
        "passkey_register_finalize" => {
            [401, 401, 400, 400, 400, 400, 400, 400, 400, 401, 400, 400, 400, 400, 400, 400, 400]
        }
        "passkey_auth_start" => [200; 17],
        "passkey_auth_finalize" => [400; 17],
        "remove_passkey" | "rename_passkey" => {
            [401, 401, 404, 404, 404, 404, 404, 404, 404, 401, 404, 404, 404, 404, 404, 404, 404]
        }
        // An organization's single sign-on: its admins (B's: their own organization only).
        "sso_settings" | "put_sso_connection" | "claim_domain" => {
            [401, 401, 403, 403, 403, 403, 200, 200, 403, 401, 403, 403, 403, 403, 404, 404, 403]
        }
        // Each call names a new domain that nobody claimed.
        "verify_domain" | "update_domain" | "remove_domain" => {
            [401, 401, 403, 403, 403, 403, 404, 404, 403, 401, 403, 403, 403, 403, 404, 404, 403]
        }
        // A's admin removes the connection; then A's owner finds none.
        "delete_sso_connection" => {
            [401, 401, 403, 403, 403, 403, 200, 404, 403, 401, 403, 403, 403, 403, 404, 404, 403]
        }
        "get_token" | "revoke_token" | "logout" | "logout_everywhere" | "current_user" | "list_users"
        | "list_organizations" | "experience_domains" | "list_teams" => ANY_MEMBER,
        // Team roles in the target's team: its manager and admins; B's managers name a team B lacks (400).
        "send_invites" => [401, 401, 403, 403, 200, 403, 200, 200, 403, 401, 403, 403, 400, 400, 400, 400, 403],
        "switch_organization" | "get_organization" => OWN_ORGANIZATION_ONLY,
        // Anyone of A but its owner leaves A (and is activated again for the routes after); B's callers have
        // no identity in A.
        "leave_organization" => [401, 401, 200, 200, 200, 200, 200, 403, 200, 401, 404, 404, 404, 404, 404, 404, 404],
        // The owner only; the sample offers A to a member who is no admin (400); B's owner names A (404).
        "transfer_ownership" => [401, 401, 403, 403, 403, 403, 403, 400, 403, 401, 403, 403, 403, 403, 403, 404, 403],
        // Nobody holds an offer called so.
        "accept_ownership" => [401, 401, 404, 404, 404, 404, 404, 404, 404, 401, 404, 404, 404, 404, 404, 404, 404],
        "update_organization" => [401, 401, 403, 403, 403, 403, 200, 200, 403, 401, 403, 403, 403, 403, 404, 404, 403],
        "create_organization" | "change_plan" | "add_credits" | "list_plan_requests" => SUPER_USERS,
        // One candidate for every caller: A's operator grants it the role, B's finds it granted (409).
        "grant_operator" => [401, 401, 403, 403, 403, 403, 403, 403, 200, 401, 403, 403, 403, 403, 403, 403, 409],
        // The owner only (A's and B's).
        "request_credits" => [401, 401, 403, 403, 403, 403, 403, 200, 403, 401, 403, 403, 403, 403, 403, 200, 403],
        "list_invites" => [401, 401, 403, 403, 200, 200, 200, 200, 403, 401, 403, 403, 200, 200, 200, 200, 403],
        // The invite was sent by A's owner: team managers manage only their own.
        "resend_invite" | "revoke_invite" => MANAGED_INVITE,
        "get_user" => [401, 401, 404, 404, 200, 404, 200, 200, 404, 401, 404, 404, 404, 404, 404, 404, 404],
        // A new first name for someone else: admins only (the team manager: 403).
        "update_user" => [401, 401, 404, 404, 403, 404, 200, 200, 404, 401, 404, 404, 404, 404, 404, 404, 404],
        // Dataset manager rights: admins only.
        "bulk_edit_teams_and_permissions" => {
            [401, 401, 403, 403, 403, 404, 200, 200, 403, 401, 403, 403, 404, 404, 404, 404, 403]
        }
        "bulk_change_experiences" => {
            [401, 401, 403, 403, 200, 404, 200, 200, 403, 401, 403, 403, 404, 404, 404, 404, 403]
        }
        "users_by_experience"
        | "create_team"
        | "list_credit_transactions"
        | "audit_log"
        | "request_extension"
        | "request_upgrade"
        | "request_users"
        | "request_storage"
        | "list_plan_updates" => [401, 401, 403, 403, 403, 403, 200, 200, 403, 401, 403, 403, 403, 403, 200, 200, 403],
        "list_team_members" => [401, 401, 403, 403, 200, 403, 200, 200, 403, 401, 403, 403, 404, 404, 404, 404, 403],
        "delete_team" => [401, 401, 403, 403, 403, 403, 200, 200, 403, 401, 403, 403, 403, 403, 404, 404, 403],
        // A's identities are members already (409); B's join A with A's invite: what an invite is for.
        "join_organization" => [401, 401, 409, 409, 409, 409, 409, 409, 409, 401, 200, 200, 200, 200, 200, 200, 200],
        // Owner only (no admin here holds the deletion right); A's owner goes last.
        "delete_organization" => [401, 401, 403, 403, 403, 403, 403, 200, 403, 401, 403, 403, 403, 403, 403, 404, 403],
        other => panic!("no expectations for {other}: add them to the matrix"),
    }
}

/// Routes on which a caller of B acts in its own organization (checked to leave A alone and name none of
/// A's items). Not: public routes, the super users' cross-organization routes, and joining A.
fn acts_in_own_organization(function: &str) -> bool {
    let op = ALL.iter().find(|op| op.name == function).unwrap();
    !matches!(op.access, Access::Public | Access::SuperUser(_)) && function != "join_organization"
}

struct World {
    env: TestEnv,
    /// Owner A's e-mail (the samples log in with it).
    owner_a_email: String,
    /// An admin of A outside the matrix (never logged out): prepares fresh targets.
    setup: Auth,
    organization_a_name: String,
    red: String,
    target_id: String,
    /// A member of A whose password is reset and whose address is verified by the public routes.
    recovering_email: String,
    /// A member of A with a verified address, whom the operators grant the role.
    operator_candidate: String,
    /// The token of a link confirming notices to an address named in A's mailing list.
    notify_token: String,
    callers: Vec<Caller>,
}

fn unique() -> String {
    accounts::ids::new_object_id()[..10].to_owned()
}

/// Whether a call of `function` by `kind` is prepared by a write: a fresh target (an invite, a team, a
/// reset or verification token) or a fresh session.
fn prepares_target(function: &str, kind: Kind) -> bool {
    let fresh_target = matches!(
        function,
        "join_organization" | "revoke_invite" | "resend_invite" | "delete_team" | "reset_password" | "verify_email"
    );
    let fresh_session =
        matches!(function, "logout" | "logout_everywhere") && !matches!(kind, Kind::Anonymous | Kind::Deactivated);
    fresh_target || fresh_session
}

/// Logs `email` in and makes sure the session is in `organization` (login picks the last-used identity).
async fn session_in(env: &TestEnv, email: &str, organization: &str) -> String {
    let response = env.client(&Auth::None).login(email, PASSWORD).await;
    assert_eq!(response.status, 200, "login {email}: {:?}", response.body);
    let session = response.json::<Token>().token;
    if response.body["user"]["organization"] == organization {
        return session;
    }
    let switched = env
        .request("POST", &format!("/api/auth/switchOrganization/{organization}"), None, &Auth::Bearer(session))
        .await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);
    switched.json::<Token>().token
}

/// Sends an invite from `sender` to a new address and returns (address, invite id, token).
async fn invite(env: &TestEnv, sender: &Auth, extra: Value) -> (String, String, String) {
    let email = format!("invitee-{}@example.org", unique());
    let mut body = json!({"recipients": [email], "autoActivate": true});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let sent = env.client(sender).send_invites(body).await;
    assert_eq!((sent.status, &sent.body["recipients"][0]["status"]), (200, &json!("invited")), "{:?}", sent.body);
    let id = sent.json::<SentInvites>().recipients[0].invite_id.clone().unwrap();
    let token = invite_token(mails_to(&email).await.last().expect("the invite was mailed"));
    (email, id, token)
}

/// A member of `owner`'s organization registered through an invite with `roles` (isAdmin, teams...).
async fn invited_member(env: &TestEnv, owner: &Caller, roles: Value) -> (String, String) {
    let (email, _, token) = invite(env, &owner.auth(), roles).await;
    let mut form = signup_form(&email, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.client(&Auth::None).register(form).await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    (email, registered.body["id"].as_str().unwrap().to_owned())
}

async fn prepare() -> World {
    let super_a = format!("ops-a-{}@instance.test", unique());
    let env = TestEnv::with_stream().await;

    // Organization A (home): every target.
    let owner = env.create_home_organization().await;
    let setup_admin = env.member(&owner, "Setup", "Admin", &[]).await;
    assert_eq!(env.patch_user(&setup_admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let target = env.member(&owner, "Tia", "Target", &[(&red, false)]).await;
    let recovering = env.member(&owner, "Rico", "Recovering", &[]).await;
    let candidate = env.member(&owner, "Otto", "Candidate", &[]).await;
    env.verify_email(&candidate.email, &candidate.auth()).await;
    let listed = format!("list-{}@example.org", unique());
    let notify_token = env.notification_token(&owner.auth(), HOME_ORGANIZATION, &listed).await;
    let mut callers = vec![Caller {
        kind: Kind::Anonymous,
        foreign: false,
        email: String::new(),
        organization: String::new(),
        session: None,
    }];
    for kind in KINDS {
        let (email, session) = match kind {
            Kind::Owner => (owner.email.clone(), owner.session.clone()),
            Kind::SuperUser => {
                let registered = env.client(&Auth::None).register(signup_form(&super_a, "ignored")).await;
                assert_eq!(registered.status, 200, "{:?}", registered.body);
                let id = registered.body["id"].as_str().unwrap();
                assert_eq!(env.patch_user(id, json!({"isActive": true}), &owner.auth()).await.status, 200);
                let session = env.login(&super_a, PASSWORD).await;
                env.verify_email(&super_a, &Auth::Bearer(session.clone())).await;
                env.grant_operator(&super_a).await;
                (super_a.clone(), session)
            }
            _ => {
                let teams: Vec<(&str, bool)> = match kind {
                    Kind::TeamManager => vec![(&red, true)],
                    Kind::OtherTeamManager => vec![(&blue, true)],
                    _ => vec![(&red, false)],
                };
                let member = env.member(&owner, &format!("{kind:?}"), "Alab", &teams).await;
                let patch = match kind {
                    Kind::Admin => Some(json!({"isAdmin": true})),
                    Kind::DatasetManager => Some(json!({"isDatasetManager": true})),
                    Kind::Deactivated => Some(json!({"isActive": false})),
                    _ => None,
                };
                if let Some(patch) = patch {
                    assert_eq!(env.patch_user(&member.user_id, patch, &owner.auth()).await.status, 200);
                }
                (member.email, member.session)
            }
        };
        callers.push(Caller {
            kind,
            foreign: false,
            email,
            organization: HOME_ORGANIZATION.into(),
            session: Some(session),
        });
    }

    // Organization B: the same kinds of caller, from another organization.
    let owner_b = env.create_organization(&organization_name("Other Lab")).await;
    let owner_b_caller = Caller {
        kind: Kind::Owner,
        foreign: true,
        email: owner_b.email.clone(),
        organization: owner_b.organization.clone(),
        session: Some(owner_b.session.clone()),
    };
    let red_b = env.team(&owner_b.auth(), "Red").await;
    let blue_b = env.team(&owner_b.auth(), "Blue").await;
    for kind in KINDS {
        let (email, session) = if kind == Kind::Owner {
            (owner_b.email.clone(), owner_b.session.clone())
        } else {
            let roles = match kind {
                Kind::Admin => json!({"isAdmin": true}),
                Kind::DatasetManager => json!({"isDatasetManager": true}),
                Kind::TeamManager => json!({"teamMemberships": [{"id": red_b, "isTeamManager": true}]}),
                Kind::OtherTeamManager => json!({"teamMemberships": [{"id": blue_b, "isTeamManager": true}]}),
                _ => json!({"teamMemberships": [{"id": red_b, "isTeamManager": false}]}),
            };
            let (email, user_id) = invited_member(&env, &owner_b_caller, roles).await;
            let session = session_in(&env, &email, &owner_b.organization).await;
            if kind == Kind::Deactivated {
                assert_eq!(env.patch_user(&user_id, json!({"isActive": false}), &owner_b.auth()).await.status, 200);
            }
            if kind == Kind::SuperUser {
                // Registered with the invited address, which the invite proved.
                env.grant_operator(&email).await;
            }
            (email, session)
        };
        callers.push(Caller {
            kind,
            foreign: true,
            email,
            organization: owner_b.organization.clone(),
            session: Some(session),
        });
    }
    World {
        env,
        owner_a_email: owner.email.clone(),
        setup: setup_admin.auth(),
        organization_a_name: "Home Lab".into(),
        red,
        target_id: target.user_id,
        recovering_email: recovering.email,
        operator_candidate: candidate.email,
        notify_token,
        callers,
    }
}

/// The routes in the order they run: the samples' order (what ends a session or resource comes late),
/// except that joining A comes just before deleting A (after it, B's callers are also A's members).
fn route_order() -> Vec<&'static devstack::events::Sample> {
    let mut samples: Vec<_> = SAMPLES.iter().filter(|s| ALL.iter().any(|op| op.name == s.function)).collect();
    let join = samples.iter().position(|s| s.function == "join_organization").unwrap();
    let join = samples.remove(join);
    let delete = samples.iter().position(|s| s.function == "delete_organization").unwrap();
    samples.insert(delete, join);
    samples
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_expected_and_refusals_change_nothing() {
    let World {
        env,
        owner_a_email,
        setup,
        organization_a_name,
        red,
        target_id,
        recovering_email,
        operator_candidate,
        notify_token,
        mut callers,
    } = prepare().await;
    let env = &env;
    let covered: BTreeSet<&str> = route_order().iter().map(|s| s.function).collect();
    let routes: BTreeSet<&str> = ALL.iter().map(|op| op.name).collect();
    assert_eq!(covered, routes, "every route has a sample in the matrix");

    let shared_invite = invite(env, &setup, json!({})).await;
    let issuer = tokio::task::spawn_blocking(tests::sso::provider_issuer).await.unwrap();
    let mut failures: Vec<String> = Vec::new();
    // Routes whose change a call was seen to make.
    let mut shown_to_change: BTreeSet<&str> = BTreeSet::new();
    let mut calls = 0;
    let mut writes = env.writes().await;
    // Whether the stream was read since the last write: then a call's writes start there.
    let mut drained = true;
    for sample in route_order() {
        let op = ALL.iter().find(|op| op.name == sample.function).unwrap();
        let statuses = expected(sample.function);
        let mut order: Vec<usize> = (0..callers.len()).collect();
        if sample.function == "delete_organization" {
            // A's owner deletes A last.
            let owner_a = order.iter().position(|&i| callers[i].kind == Kind::Owner && !callers[i].foreign).unwrap();
            let owner_a = order.remove(owner_a);
            order.push(owner_a);
        }
        for index in order {
            let mut renewed: Option<String> = None;
            let caller = &callers[index];
            let expected_status = statuses[index];
            // Fresh targets for calls that use them up.
            let token = if sample.function == "join_organization" {
                invite(env, &setup, json!({})).await.2
            } else {
                shared_invite.2.clone()
            };
            let invite_id = if matches!(sample.function, "revoke_invite" | "resend_invite") {
                invite(env, &setup, json!({})).await.1
            } else {
                shared_invite.1.clone()
            };
            let spare_team = if sample.function == "delete_team" {
                env.team(&setup, &format!("Spare {}", unique())).await
            } else {
                String::new()
            };
            // A new address each: mail requests are throttled per address.
            let email = if matches!(sample.function, "create_organization" | "start_reset_password") {
                format!("new-owner-{}@example.org", unique())
            } else if sample.function == "grant_operator" {
                operator_candidate.clone()
            } else {
                owner_a_email.clone()
            };
            let reset_token = if sample.function == "reset_password" {
                env.seed_password_reset(&recovering_email).await
            } else {
                String::new()
            };
            let verify_key = if sample.function == "verify_email" {
                env.seed_email_verification(&recovering_email).await
            } else {
                String::new()
            };
            let auth = match (sample.function, caller.kind) {
                // Logging out ends the presented session: a fresh one (a deactivated identity cannot log in).
                ("logout" | "logout_everywhere", kind) if !matches!(kind, Kind::Anonymous | Kind::Deactivated) => {
                    Auth::Bearer(session_in(env, &caller.email, &caller.organization).await)
                }
                _ => caller.auth(),
            };
            let values = [
                ("EMAIL", email),
                ("ORGANIZATION", HOME_ORGANIZATION.to_owned()),
                ("GUEST_ORGANIZATION", HOME_ORGANIZATION.to_owned()),
                ("GUEST_ORGANIZATION_NAME", organization_a_name.clone()),
                ("USER_ID", target_id.clone()),
                ("TEAM_ID", red.clone()),
                ("SPARE_TEAM_ID", spare_team),
                ("INVITE_TOKEN", token),
                ("INVITE_ID", invite_id),
                ("RESET_TOKEN", reset_token),
                // The callers log in again later with the same password.
                ("NEW_PASSWORD", PASSWORD.to_owned()),
                ("VERIFY_KEY", verify_key),
                ("NOTIFY_TOKEN", notify_token.clone()),
                ("UNIQUE", unique()),
                ("OIDC_ISSUER", issuer.clone()),
            ];
            let mut path = format!("/api{}", fill(sample.path, &values));
            if !sample.query.is_empty() {
                path = format!("{path}?{}", fill(sample.query, &values));
            }
            let method = if op.method == "ANY" { "GET" } else { op.method };
            let body: Option<Value> =
                sample.body.map(|b| serde_json::from_str(&fill(b, &values)).expect("sample bodies are JSON"));
            let sent = body.clone();
            let what = format!("{}: {method} {path}", caller.label());

            calls += 1;
            let refused = !(200..300).contains(&expected_status);
            let isolated = caller.foreign && !refused && acts_in_own_organization(sample.function);
            // An allowed change leaves at least its audit entry: the first caller allowed a route must change
            // the table (the samples make the same change each time, so the later ones may find it made).
            // Asking for a verification link is the exception: the matrix's accounts have verified already.
            let changes = !refused
                && method != "GET"
                && !shown_to_change.contains(sample.function)
                && sample.function != "request_verification";
            if (refused || changes) && (!drained || prepares_target(sample.function, caller.kind)) {
                // What was written before the call (fresh targets, a new session) is not the call's.
                writes.since_last().await;
            }
            drained = false;
            let response = if isolated {
                match env.check_foreign_caller_isolated(method, &path, body, &auth, HOME_ORGANIZATION).await {
                    Ok(response) => response,
                    Err(problem) => {
                        failures.push(format!("{what}: {problem}"));
                        continue;
                    }
                }
            } else {
                env.request(method, &path, body, &auth).await
            };
            if response.status != expected_status {
                failures.push(format!("{what}: expected {expected_status}, got {} {}", response.status, response.body));
                continue;
            }
            if refused || changes {
                let written = writes.since_last().await;
                if refused && response.error_code().is_empty() {
                    failures.push(format!("{what}: a refusal without an error code: {}", response.body));
                }
                if refused && !written.is_empty() {
                    let items: Vec<String> = written.iter().map(ToString::to_string).collect();
                    failures.push(format!("{what}: refused with {expected_status}, but wrote {}", items.join(", ")));
                }
                if changes && written.is_empty() {
                    failures.push(format!("{what}: allowed with {expected_status}, but the table is unchanged"));
                }
                if changes {
                    shown_to_change.insert(sample.function);
                }
            }
            drained = refused || changes;
            // A changed object answers with the values it was sent (a field the API dropped would not be).
            if method == "PATCH" && !refused {
                for (field, value) in sent.as_ref().and_then(Value::as_object).into_iter().flatten() {
                    let answered = &response.body[field];
                    if !value.is_object() && !value.is_array() && !answered.is_null() && answered != value {
                        failures.push(format!("{what}: sent {field} = {value}, answered {answered}"));
                    }
                }
            }
            if sample.function == "logout_everywhere" && response.status == 200 {
                // Every session of the account ended: a new one for the routes after this.
                let session = session_in(env, &caller.email, &caller.organization).await;
                renewed = Some(session);
            }
            if sample.function == "leave_organization" && response.status == 200 {
                // Left A: an admin of A activates them again, with a new session for the routes after this.
                let user_id = response.body["user"]["id"].as_str().expect("the answer names who left");
                let reactivated = env.client(&setup).update_user(user_id, json!({"isActive": true})).await;
                assert_eq!(reactivated.status, 200, "{:?}", reactivated.body);
                renewed = Some(session_in(env, &caller.email, &caller.organization).await);
            }
            if sample.function == "change_password" && response.status == 200 {
                // The other sessions ended; the answer carries the caller's new one.
                renewed = Some(response.json::<Token>().token);
            }
            if let Some(session) = renewed.take() {
                callers[index].session = Some(session);
                drained = false;
            }
        }
    }
    assert_eq!(calls, ALL.len() * 17, "every route, every kind of caller");
    assert!(failures.is_empty(), "{} of the matrix's calls went wrong:\n{}", failures.len(), failures.join("\n"));
}
