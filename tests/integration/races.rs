//! Races against DynamoDB Local: many concurrent requests, then exactly one winner and a table whose every
//! invariant holds (each test also ends with the invariant checker, when its env is dropped). The other
//! races of the hardening list live with their areas: 20 accepts of one invite
//! (`invites::twenty_concurrent_accepts_of_one_invite_make_one_user`), two admins demoting each other
//! (`users::the_last_admin_cannot_lose_admin_even_when_two_admins_demote_each_other_at_once`), two team
//! managers changing different teams of one user (`users::concurrent_changes_of_different_teams_by_two_managers_both_survive`),
//! a bulk edit and a rename of one of its users (`user_bulk_edits.rs`). The forced ones here hold both
//! writes at the write barrier until each side has read, assert that it was met, and print so: a revoke and
//! an accept of one invite, two admins renaming one member, a team's deletion and an add to it, a switch
//! into an organization and a deactivation there, a resend and an accept of one invite, a login with the
//! old password and a reset, a bulk edit and the organization's deletion.

use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{Auth, PASSWORD, TestEnv, invite_token, mails_to, organization_name, signup_form, text};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

const DAY: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn fifty_concurrent_registrations_with_one_email_make_exactly_one_account() {
    let env = TestEnv::new().await;
    env.create_home_organization().await;
    let email = address("crowd");
    let attempts = (0..50).map(|i| {
        let mut form = signup_form(&email, "ignored");
        form["firstName"] = json!(format!("Racer{i}"));
        env.client(&Auth::None).register(form)
    });
    let responses = futures_util::future::join_all(attempts).await;
    let mut answers: Vec<(u16, String)> = responses.iter().map(|r| (r.status, r.error_code().to_owned())).collect();
    // On a heavily loaded machine DynamoDB Local may answer some of the 50 too slowly for the SDK's
    // timeouts: those get the retryable 503, and do what its message says (retry) until they get an answer.
    let mut lost_answers = 0;
    for (i, answer) in answers.iter_mut().enumerate() {
        if answer.0 == 503 {
            assert_eq!(answer.1, "service.unavailable", "a 503 is only ever the retryable one");
            lost_answers += 1;
            let mut form = signup_form(&email, "ignored");
            form["firstName"] = json!(format!("Racer{i}"));
            let retried = tests::until_answered(|| env.client(&Auth::None).register(form.clone())).await;
            *answer = (retried.status, retried.error_code().to_owned());
        }
    }
    // Exactly one registration wins; every other is told the address is taken. (A 503 whose write
    // committed nonetheless makes its retry a 409 and leaves no 200: only then may none be seen.)
    let winners = answers.iter().filter(|(status, _)| *status == 200).count();
    assert!(winners == 1 || (winners == 0 && lost_answers > 0), "{answers:?}");
    assert!(
        answers.iter().all(|(s, c)| *s == 200 || (*s, c.as_str()) == (409, "user.email.alreadyInUse")),
        "{answers:?}"
    );
    let scan = env.scan().await;
    assert_eq!(scan.iter().filter(|i| text(i, "entity") == "Account" && text(i, "email") == email).count(), 1);
    assert_eq!(scan.iter().filter(|i| text(i, "entity") == "User" && text(i, "email") == email).count(), 1);
    let home = scan.iter().find(|i| text(i, "PK") == "ORG#home" && text(i, "SK") == "ORG").unwrap();
    assert_eq!(text(home, "memberCount"), "2", "the owner and exactly one registered user");
    env.check_invariants().await;
}

async fn invite(env: &TestEnv, auth: &Auth, email: &str) -> String {
    let body = json!({"recipients": [email], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []});
    let response = env.client(auth).send_invites(body).await;
    assert_eq!(response.json::<SentInvites>().recipients[0].status, "invited", "{:?}", response.body);
    invite_token(&mails_to(email).await.pop().unwrap())
}

/// The id of the invite to `email` in the organization `auth` administers.
async fn invite_id_of(env: &TestEnv, auth: &Auth, email: &str) -> String {
    let listed = env.client(auth).invites("").await.body;
    let invite = listed.as_array().unwrap().iter().find(|i| i["email"] == email).expect("the invite is listed");
    invite["id"].as_str().unwrap().to_owned()
}

fn register_form(email: &str, token: &str) -> Value {
    let mut form = signup_form(email, "ignored");
    form["inviteToken"] = json!(token);
    form
}

/// The daily job runs "in the future" (after the invite's expiry and retention, so it deletes the invite)
/// while the invite is accepted, the job starting at different moments of the accept: whoever wins, the
/// result is whole. Either the accept won (the user exists, the invite is accepted or, by the job,
/// deleted) or the job did (the accept is refused with a 4xx and nothing of the user exists); never a user
/// without the counter, an accepted invite with its guard, or a 5xx.
#[tokio::test]
async fn an_invite_accept_racing_the_daily_cleanup_ends_consistent_either_way() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Race Lab")).await;
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 20, 60, 120, 250, 500] {
        let email = address("accepting");
        let token = invite(&env, &owner.auth(), &email).await;
        let later = accounts::ids::now_millis() + 22 * DAY;
        let (accepted, cleaned) =
            tokio::join!(env.client(&Auth::None).register(register_form(&email, &token)), async {
                tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                accounts::domain::daily::maintain(&env.app, later).await
            });
        cleaned.expect("the daily job does not fail");
        let scan = env.scan().await;
        let users = scan.iter().filter(|i| text(i, "entity") == "User" && text(i, "email") == email).count();
        let accounts = scan.iter().filter(|i| text(i, "entity") == "Account" && text(i, "email") == email).count();
        let invites: Vec<String> = scan
            .iter()
            .filter(|i| text(i, "entity") == "Invite" && text(i, "email") == email)
            .map(|i| text(i, "state"))
            .collect();
        let guards =
            scan.iter().filter(|i| text(i, "entity") == "InviteEmailGuard" && text(i, "email") == email).count();
        assert_eq!(guards, 0, "the guard goes with the accept or with the cleanup");
        if accepted.status == 200 {
            assert_eq!((users, accounts), (1, 1), "delay {delay_ms} ms");
            assert!(invites.is_empty() || invites == ["accepted"], "{invites:?}");
            outcomes.push("accepted");
        } else {
            assert!(
                matches!(accepted.status, 404 | 410),
                "delay {delay_ms} ms: {} {:?}",
                accepted.status,
                accepted.body
            );
            assert_eq!((users, accounts), (0, 0), "delay {delay_ms} ms: a refused accept leaves nothing");
            assert!(invites.is_empty(), "the job deleted the invite: {invites:?}");
            outcomes.push("cleaned");
        }
        env.check_invariants().await;
    }
    eprintln!("accept vs. cleanup outcomes by delay: {outcomes:?}");
}

/// The daily job at a time before expiry (reminders due, nothing to delete) racing accepts: every accept
/// succeeds, and a reminder that lands after an accept leaves the invite accepted and out of the reminder
/// index.
#[tokio::test]
async fn an_invite_accept_racing_the_daily_reminders_succeeds_and_ends_consistent() {
    // Used invites are kept 30 days here, so the job at day 12.5 reminds but deletes nothing.
    let env =
        TestEnv::with_config(|config| config.invite_retention = std::time::Duration::from_secs(30 * 24 * 3600)).await;
    let owner = env.create_organization(&organization_name("Reminded Lab")).await;
    for delay_ms in [0u64, 50, 150, 400] {
        let email = address("reminded");
        let token = invite(&env, &owner.auth(), &email).await;
        let reminder_time = accounts::ids::now_millis() + 12 * DAY + DAY / 2;
        let (accepted, job) = tokio::join!(env.client(&Auth::None).register(register_form(&email, &token)), async {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            accounts::domain::daily::maintain(&env.app, reminder_time).await
        });
        assert_eq!(accepted.status, 200, "delay {delay_ms} ms: {:?}", accepted.body);
        assert_eq!(job.expect("the daily job does not fail").deleted, 0);
        let scan = env.scan().await;
        let invite = scan.iter().find(|i| text(i, "entity") == "Invite" && text(i, "email") == email).unwrap();
        assert_eq!(text(invite, "state"), "accepted");
        assert!(
            !invite.contains_key("remindPartition") && !invite.contains_key("remindAt"),
            "an accepted invite is never reminded again"
        );
        env.check_invariants().await;
    }
}

/// The race above, forced at its two exact moments with a DynamoDB proxy hook, so both outcomes happen
/// and each is asserted. 1. The daily job deletes the (expired) invite just before the accept's
/// transaction is sent: the accept is refused with 404 and leaves nothing. 2. The accept commits just
/// before the job's deletion is sent: the person is a member and the job then deletes the used invite,
/// as it deletes every ended invite past its retention; the user stays.
#[tokio::test]
async fn an_accept_and_the_cleanup_at_the_same_moment_each_win_whole_when_they_commit_first() {
    use std::sync::{Arc, Mutex};
    type Armed = Arc<Mutex<Option<(Arc<accounts::App>, &'static str, String, i64)>>>;
    let armed: Armed = Arc::default();
    let trigger = armed.clone();
    let hook: tests::DynamoDbHook = Arc::new(move |operation, body| {
        let trigger = trigger.clone();
        Box::pin(async move {
            if operation != "TransactWriteItems" {
                return;
            }
            // The accept's transaction puts the new user; the job's deletes the invite when it is due.
            let accepting = body.contains(r#""entity":{"S":"User"}"#);
            let cleaning = body.contains("cleanupAt <= :now");
            let ready = {
                let mut slot = trigger.lock().unwrap();
                match slot.as_ref() {
                    Some((_, "job first", _, _)) if accepting => slot.take(),
                    Some((_, "accept first", _, _)) if cleaning => slot.take(),
                    _ => None,
                }
            };
            match ready {
                Some((app, "job first", _, later)) => {
                    accounts::domain::daily::maintain(&app, later).await.expect("the job runs");
                }
                Some((app, _, form, _)) => {
                    let form: Value = serde_json::from_str(&form).unwrap();
                    let register = accounts::domain::signup::register(
                        &app,
                        serde_json::from_value(form).unwrap(),
                        Default::default(),
                    );
                    let registered = tests::as_function(&accounts::operations::REGISTER, register).await;
                    assert!(registered.is_ok(), "the accept commits first: {:?}", registered.err());
                }
                None => {}
            }
        })
    });
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_organization(&organization_name("Race Lab")).await;
    let later = accounts::ids::now_millis() + 22 * DAY;
    let count = |scan: &[tests::Item], entity: &str, email: &str| {
        scan.iter().filter(|i| text(i, "entity") == entity && text(i, "email") == email).count()
    };

    // 1. The job commits first.
    let email = address("late");
    let token = invite(&env, &owner.auth(), &email).await;
    *armed.lock().unwrap() = Some((env.app.clone(), "job first", String::new(), later));
    let refused = env.client(&Auth::None).register(register_form(&email, &token)).await;
    assert!(armed.lock().unwrap().is_none(), "the job ran inside the accept");
    assert_eq!(refused.status, 404, "{:?}", refused.body);
    let scan = env.scan().await;
    assert_eq!((count(&scan, "User", &email), count(&scan, "Account", &email)), (0, 0), "nothing of the person");
    assert_eq!((count(&scan, "Invite", &email), count(&scan, "InviteEmailGuard", &email)), (0, 0));
    env.check_invariants().await;

    // 2. The accept commits first.
    let email = address("early");
    let token = invite(&env, &owner.auth(), &email).await;
    let form = register_form(&email, &token).to_string();
    *armed.lock().unwrap() = Some((env.app.clone(), "accept first", form, later));
    let report = accounts::domain::daily::maintain(&env.app, later).await.unwrap();
    assert!(armed.lock().unwrap().is_none(), "the accept ran inside the job");
    let scan = env.scan().await;
    assert_eq!((count(&scan, "User", &email), count(&scan, "Account", &email)), (1, 1), "a member");
    // The job read a pending invite and finds an accepted one: it leaves it (its entry would have called
    // it expired); the next run deletes it as the used invite it is.
    let accepted = scan.iter().find(|i| text(i, "entity") == "Invite" && text(i, "email") == email).unwrap();
    assert_eq!((text(accepted, "state"), count(&scan, "InviteEmailGuard", &email)), ("accepted".to_owned(), 0));
    assert_eq!(report.deleted, 0, "{report:?}");
    env.check_invariants().await;
    let next = accounts::domain::daily::maintain(&env.app, later).await.unwrap();
    assert_eq!(next.deleted, 1);
    let deleted = env.client(&owner.auth()).audit_log("action=invite.deleted").await.body;
    assert_eq!(deleted.as_array().unwrap().len(), 1, "logged as the used invite it was");
}

/// Forced: a revoke and an accept of one invite have both read it pending before either writes. Exactly
/// one wins, whole: the accept makes the member and the revoke is told the invite changed meanwhile, or the
/// revoke ends the invite and the accept is told it was revoked, with nothing of the person written.
#[tokio::test]
async fn a_revoke_and_an_accept_of_one_invite_at_the_same_moment_end_with_exactly_one_winner() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_organization(&organization_name("Race Lab")).await;
    let mut winners = std::collections::BTreeSet::new();
    for round in 0..4 {
        let email = address(&format!("contested{round}"));
        let token = invite(&env, &owner.auth(), &email).await;
        let invite_id = invite_id_of(&env, &owner.auth(), &email).await;
        barrier.arm(2, Box::leak(invite_id.clone().into_boxed_str()));
        let (revoked, accepted) = tokio::join!(
            env.client(&owner.auth()).revoke_invite(&invite_id),
            env.client(&Auth::None).register(register_form(&email, &token)),
        );
        assert_eq!(barrier.met(), 2, "round {round}: the revoke and the accept did not write at the same moment");
        let outcome =
            (revoked.status, accepted.status, revoked.error_code().to_owned(), accepted.error_code().to_owned());
        let scan = env.scan().await;
        let users = scan.iter().filter(|i| text(i, "entity") == "User" && text(i, "email") == email).count();
        let state = scan
            .iter()
            .find(|i| text(i, "entity") == "Invite" && text(i, "email") == email)
            .map(|i| text(i, "state"))
            .unwrap_or_default();
        match outcome {
            (409, 200, ref code, _) if code == "request.conflict" => {
                assert_eq!((users, state.as_str()), (1, "accepted"), "round {round}: the accept won");
                winners.insert("accept");
            }
            (200, 410, _, ref code) if code == "invite.revoked" => {
                assert_eq!((users, state.as_str()), (0, "revoked"), "round {round}: the revoke won");
                winners.insert("revoke");
            }
            other => panic!("round {round}: not one whole winner: {other:?} {:?} {:?}", revoked.body, accepted.body),
        }
        env.check_invariants().await;
    }
    println!("the barrier was met in every round; winners: {winners:?}");
}

/// Forced: two admins rename one member at the same moment, both having read the member first. Both
/// succeed: the one that commits second re-reads and renames from what the first wrote, so the audit log
/// is one unbroken chain (the second entry's old name is the first's new one) ending in the stored name.
#[tokio::test]
async fn two_admins_renaming_one_member_at_once_both_succeed_and_the_audit_chain_is_unbroken() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_home_organization().await;
    let admin = env.member(&owner, "Second", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let member = env.member(&owner, "Nora", "Named", &[]).await;
    let (owner_auth, admin_auth) = (owner.auth(), admin.auth());
    barrier.arm(2, Box::leak(format!("USER#{}", member.user_id).into_boxed_str()));
    let (a, b) = tokio::join!(
        env.patch_user(&member.user_id, json!({"firstName": "Olivia"}), &owner_auth),
        env.patch_user(&member.user_id, json!({"firstName": "Alma"}), &admin_auth),
    );
    assert_eq!((a.status, b.status), (200, 200), "{:?} {:?}", a.body, b.body);
    assert_eq!(barrier.met(), 2, "the two renames did not write at the same moment");
    println!("the barrier was met by both renames");
    let stored = env.client(&owner.auth()).user(&member.user_id).await.body["firstName"].clone();
    let entries =
        env.client(&owner.auth()).audit_log(&format!("action=user.changed&target={}", member.user_id)).await.body;
    // Newest first: [second, first].
    let names: Vec<(Value, Value)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["change"]["firstName"]["old"].clone(), e["change"]["firstName"]["new"].clone()))
        .collect();
    assert_eq!(names.len(), 2, "{entries}");
    let (second, first) = (&names[0], &names[1]);
    assert_eq!(first.0, json!("Nora"), "{names:?}");
    assert_eq!(second.0, first.1, "the second rename starts from the first's name: {names:?}");
    assert_eq!(second.1, stored, "the stored name is the last one: {names:?}");
    env.check_invariants().await;
}

/// Forced: a team's deletion and a bulk edit putting a member into it have both read the team before either
/// writes. The deletion always finishes; the member ends outside the team either way: added first and then
/// taken out by the deletion, or refused (400 team.notFound) when the deletion marked the team first.
#[tokio::test]
async fn a_team_deleted_while_a_member_is_added_to_it_ends_with_the_team_gone_and_nobody_in_it() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Tess", "Teamless", &[]).await;
    let mut outcomes = std::collections::BTreeSet::new();
    for round in 0..4 {
        let team = env.team(&owner.auth(), &format!("Doomed {round}")).await;
        barrier.arm(2, Box::leak(team.clone().into_boxed_str()));
        let add = json!({"userIds": [member.user_id], "setTeams": [{"id": team, "isTeamManager": false}]});
        let auth = owner.auth();
        let (deleted, added) =
            tokio::join!(env.client(&auth).delete_team(&team), env.client(&auth).bulk_edit_teams_and_permissions(add),);
        assert_eq!(barrier.met(), 2, "round {round}: the deletion and the add did not write at the same moment");
        assert_eq!(deleted.status, 200, "round {round}: {:?}", deleted.body);
        match (added.status, added.error_code()) {
            (200, _) => outcomes.insert("added, then taken out"),
            (400, "team.notFound") => outcomes.insert("refused"),
            other => panic!("round {round}: {other:?} {:?}", added.body),
        };
        let teams = env.client(&owner.auth()).user(&member.user_id).await.body["teams"].clone();
        assert!(!teams.to_string().contains(&team), "round {round}: still in the deleted team: {teams}");
        let listed = env.client(&owner.auth()).teams("").await.body;
        assert!(!listed.to_string().contains(&team), "round {round}: the team is listed: {listed}");
        env.check_invariants().await;
    }
    println!("the barrier was met in every round; outcomes: {outcomes:?}");
}

/// Forced: a person switches into an organization while its owner deactivates them there, both having read
/// the identity before either writes. Either the switch is refused, or it succeeds and its session is
/// refused at once after: no working session of a deactivated identity either way.
#[tokio::test]
async fn a_switch_into_an_organization_racing_a_deactivation_there_leaves_no_working_session() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let home = env.create_home_organization().await;
    let other = env.create_organization(&organization_name("Other Lab")).await;
    env.join_by_invite(&other, &home.email, &home.auth()).await;
    let there = env.client(&other.auth()).users("").await.body;
    let identity = there.as_array().unwrap().iter().find(|u| u["email"] == home.email.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    barrier.arm(2, Box::leak(identity.clone().into_boxed_str()));
    let (home_auth, other_auth) = (home.auth(), other.auth());
    let (switched, deactivated) = tokio::join!(
        env.client(&home_auth).switch_organization(&other.organization),
        env.patch_user(&identity, json!({"isActive": false}), &other_auth),
    );
    assert_eq!(barrier.met(), 2, "the switch and the deactivation did not write at the same moment");
    println!("the barrier was met; the switch answered {}", switched.status);
    assert_eq!(deactivated.status, 200, "{:?}", deactivated.body);
    if switched.status == 200 {
        let session = Auth::Bearer(switched.json::<tests::answers::Token>().token);
        assert_eq!(env.client(&session).current_user().await.status, 401, "the new session is refused at once");
    } else {
        assert!((400..500).contains(&switched.status) && !switched.error_code().is_empty(), "{:?}", switched.body);
    }
    let stored = env.client(&other.auth()).user(&identity).await.body;
    assert_eq!(stored["isActive"], false, "{stored}");
    env.check_invariants().await;
}

/// Forced: a resend (a new link, the old one void) and an accept with the old link have both read the
/// invite pending before either writes. Exactly one wins, whole: the accept makes the member and the resend
/// is told the invite was used meanwhile, or the resend replaces the link and the accept with the old one
/// is refused, with nothing of the person written.
#[tokio::test]
async fn a_resend_and_an_accept_of_one_invite_at_the_same_moment_end_with_exactly_one_winner() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_organization(&organization_name("Resend Lab")).await;
    let mut winners = std::collections::BTreeSet::new();
    for round in 0..4 {
        let email = address(&format!("resent{round}"));
        let token = invite(&env, &owner.auth(), &email).await;
        let invite_id = invite_id_of(&env, &owner.auth(), &email).await;
        barrier.arm(2, Box::leak(invite_id.clone().into_boxed_str()));
        let (resent, accepted) = tokio::join!(
            env.client(&owner.auth()).resend_invite(&invite_id),
            env.client(&Auth::None).register(register_form(&email, &token)),
        );
        assert_eq!(barrier.met(), 2, "round {round}: the resend and the accept did not write at the same moment");
        let users =
            env.scan().await.iter().filter(|i| text(i, "entity") == "User" && text(i, "email") == email).count();
        match (resent.status, accepted.status) {
            (status, 200) if status >= 400 => {
                assert_eq!(users, 1, "round {round}: the accept won: {:?}", resent.body);
                winners.insert(format!("accept (the resend: {status} {})", resent.error_code()));
            }
            (200, status) if status >= 400 => {
                assert_eq!(users, 0, "round {round}: the resend won: {:?}", accepted.body);
                // The new link works; the old one never will.
                let new_token = invite_token(&mails_to(&email).await.pop().unwrap());
                assert_ne!(new_token, token);
                assert_eq!(env.client(&Auth::None).register(register_form(&email, &new_token)).await.status, 200);
                winners.insert(format!("resend (the accept: {status} {})", accepted.error_code()));
            }
            other => panic!("round {round}: not one whole winner: {other:?} {:?} {:?}", resent.body, accepted.body),
        }
        env.check_invariants().await;
    }
    println!("the barrier was met in every round; winners: {winners:?}");
}

/// Forced: a login that checked the old password and a reset that replaces it write at the same moment
/// (the login's session is conditioned on the password it checked). Whichever commits first, no session
/// made with the old password outlives the reset, and the new password works.
#[tokio::test]
async fn a_login_with_the_old_password_racing_a_reset_leaves_no_session_of_the_old_password() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_organization(&organization_name("Reset Lab")).await;
    let mut outcomes = std::collections::BTreeSet::new();
    let mut old = PASSWORD.to_owned();
    for round in 0..4 {
        let token = env.seed_password_reset(&owner.email).await;
        let account_id = token.split('.').next().unwrap().to_owned();
        let new = format!("a new horse battery {round}");
        barrier.arm(2, Box::leak(format!("ACCOUNT#{account_id}").into_boxed_str()));
        let (login, reset) = tokio::join!(
            env.client(&Auth::None).login(&owner.email, &old),
            env.client(&Auth::None).reset_password(&token, &new),
        );
        assert_eq!(barrier.met(), 2, "round {round}: the login and the reset did not write at the same moment");
        assert_eq!(reset.status, 200, "round {round}: {:?}", reset.body);
        if login.status == 200 {
            // The login committed first: the reset ended its session.
            let session = Auth::Bearer(login.body["token"].as_str().unwrap().to_owned());
            assert_eq!(env.client(&session).current_user().await.status, 401, "round {round}: the old session lives");
            outcomes.insert("the login first; its session ended with the reset".to_owned());
        } else {
            assert!(login.status == 401 || login.status == 400, "round {round}: {} {:?}", login.status, login.body);
            outcomes.insert(format!("the reset first; the login refused ({} {})", login.status, login.error_code()));
        }
        assert_eq!(env.client(&Auth::None).login(&owner.email, &old).await.status / 100, 4, "the old password is gone");
        env.login(&owner.email, &new).await;
        old = new;
    }
    println!("the barrier was met in every round; outcomes: {outcomes:?}");
}

/// Forced: a bulk edit of members and the organization's deletion write at the same moment. Whichever
/// commits first, the organization ends deleted and purged completely, with nothing of the bulk edit left.
#[tokio::test]
async fn a_bulk_edit_racing_the_organizations_deletion_leaves_nothing_behind() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_home_organization().await;
    let team = env.team(&owner.auth(), "Doomed Team").await;
    let mut members = Vec::new();
    for name in ["Ann", "Ben", "Cid"] {
        members.push(env.member(&owner, name, "Member", &[]).await.user_id);
    }
    let name =
        env.client(&owner.auth()).organization(&owner.organization).await.body["name"].as_str().unwrap().to_owned();
    barrier.arm(2, Box::leak(format!("ORG#{}", owner.organization).into_boxed_str()));
    let (edited, deleted) = tokio::join!(
        env.client(&owner.auth()).bulk_edit_teams_and_permissions(
            json!({"userIds": members, "setTeams": [{"id": team, "isTeamManager": false}]})
        ),
        env.client(&owner.auth()).delete_organization(&owner.organization, &name),
    );
    assert_eq!(barrier.met(), 2, "the bulk edit and the deletion did not write at the same moment");
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert!(edited.status == 200 || edited.status / 100 == 4, "{} {:?}", edited.status, edited.body);
    // Whatever the purge the request began left, the scheduled purge finishes; then nothing remains.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    accounts::domain::organizations::purge_pending(&env.app, deadline).await.unwrap();
    let partition = format!("ORG#{}", owner.organization);
    let left: Vec<String> =
        env.scan().await.iter().filter(|i| text(i, "PK") == partition).map(|i| text(i, "SK")).collect();
    assert!(left.is_empty(), "items of the deleted organization remain: {left:?}");
    println!("the barrier was met; the bulk edit answered {}, the deletion 200", edited.status);
}

/// Forced: a team's deletion and the accept of an invite that puts the person into it have both read the
/// team before either writes. The deletion always finishes; the person ends outside the team either way
/// (joined and then taken out by the deletion, or joined without the team, or refused whole), and every
/// invariant holds.
#[tokio::test]
async fn a_team_deleted_while_an_invite_naming_it_is_accepted_ends_with_nobody_in_it() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_organization(&organization_name("Team Race Lab")).await;
    let mut outcomes = std::collections::BTreeSet::new();
    for round in 0..4 {
        let team = env.team(&owner.auth(), &format!("Vanishing {round}")).await;
        let email = address(&format!("joiner{round}"));
        let body = json!({"recipients": [email], "autoActivate": true, "teamMemberships": [{"id": team, "isTeamManager": false}]});
        let sent = env.client(&owner.auth()).send_invites(body).await;
        assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
        let token = invite_token(&mails_to(&email).await.pop().unwrap());
        barrier.arm(2, Box::leak(team.clone().into_boxed_str()));
        let (deleted, accepted) = tokio::join!(
            env.client(&owner.auth()).delete_team(&team),
            env.client(&Auth::None).register(register_form(&email, &token)),
        );
        assert_eq!(barrier.met(), 2, "round {round}: the deletion and the accept did not write at the same moment");
        assert_eq!(deleted.status, 200, "round {round}: {:?}", deleted.body);
        let scan = env.scan().await;
        let user = scan.iter().find(|i| text(i, "entity") == "User" && text(i, "email") == email);
        match accepted.status {
            200 => {
                let user = user.expect("the accept made the member");
                assert!(!format!("{:?}", user.get("teams")).contains(&team), "round {round}: in the deleted team");
                outcomes.insert("joined; not in the team");
            }
            status if (400..500).contains(&status) => {
                assert!(user.is_none(), "round {round}: a refused accept leaves nothing");
                outcomes.insert("refused whole");
            }
            other => panic!("round {round}: {other} {:?}", accepted.body),
        }
        let memberships =
            scan.iter().filter(|i| text(i, "entity") == "Membership" && text(i, "SK").contains(&team)).count();
        assert_eq!(memberships, 0, "round {round}: nobody is in the deleted team");
        env.check_invariants().await;
    }
    println!("the barrier was met in every round; outcomes: {outcomes:?}");
}
