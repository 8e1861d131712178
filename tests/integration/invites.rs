use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{Auth, PASSWORD, TestEnv, invite_token, mails_to, organization_name, signup_form, text};

/// An address nobody else uses.
pub(crate) fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

pub(crate) async fn send(env: &TestEnv, auth: &Auth, body: Value) -> tests::TestResponse {
    env.client(auth).send_invites(body).await
}

/// Invites `email` as `auth` and returns the token from the mail.
pub(crate) async fn invite(env: &TestEnv, auth: &Auth, email: &str, extra: Value) -> String {
    let mut body = json!({"recipients": [email], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let response = send(env, auth, body).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.json::<SentInvites>().recipients[0].status, "invited", "{:?}", response.body);
    let mail = mails_to(email).await.pop().expect("an invite mail");
    invite_token(&mail)
}

pub(crate) fn register_form(email: &str, token: &str) -> Value {
    let mut form = signup_form(email, "ignored");
    form["inviteToken"] = json!(token);
    form["firstName"] = json!("Ivy");
    form["lastName"] = json!("Invited");
    form
}

#[tokio::test]
async fn an_invite_is_mailed_shows_its_organization_and_makes_exactly_its_user_once() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Inviting Lab")).await;
    let red = env.team(&owner.auth(), "Red").await;
    let invited = address("ivy");
    let token = invite(
        &env,
        &owner.auth(),
        &invited,
        json!({"isDatasetManager": true, "teamMemberships": [{"id": red, "isTeamManager": true}]}),
    )
    .await;
    let mail = mails_to(&invited).await.pop().unwrap();
    // The sender's and the organization's names are the sender's choice: quoted in the text, never in the subject.
    assert_eq!(mail.subject, "You are invited to an organization on WEBKNOSSOS");
    assert!(
        mail.text.contains("\u{201c}Ada Lovelace\u{201d} invited you") && mail.text.contains("\u{201c}Inviting Lab"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains(&format!("http://localhost:3000/invite/{token}")));
    assert!(mail.html.contains(&format!("href=\"http://localhost:3000/invite/{token}\"")));
    assert!(!format!("{:?}", env.scan().await).contains(&token), "the token is stored only as a hash");

    let shown = env.client(&Auth::None).organization_by_invite(&token).await;
    assert_eq!(shown.status, 200);
    assert_eq!(
        (shown.body["id"].as_str(), shown.body["invitedBy"].as_str()),
        (Some(owner.organization.as_str()), Some("Ada Lovelace"))
    );

    // Whoever holds the link may accept it, for the invited address only (`an_invite_registers_only_...`).
    let accepting = invited.clone();
    let registered = env.client(&Auth::None).register(register_form(&accepting, &token)).await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    let user = &registered.body;
    assert_eq!(
        (user["isActive"].as_bool(), user["isDatasetManager"].as_bool(), user["isAdmin"].as_bool()),
        (Some(true), Some(true), Some(false))
    );
    let mut teams: Vec<(String, bool)> = user["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["isTeamManager"].as_bool().unwrap()))
        .collect();
    teams.sort();
    assert_eq!(teams, [("Default".to_owned(), false), ("Red".to_owned(), true)]);
    assert_eq!(env.client(&Auth::None).login(&accepting, PASSWORD).await.status, 200);
    // The owner is told, with both addresses.
    let notice = mails_to(&owner.email).await.into_iter().find(|m| m.text.contains(&accepting)).expect("join notice");
    assert!(notice.text.contains(&invited), "{}", notice.text);

    // The token worked once.
    let again = env.client(&Auth::None).register(register_form(&address("late"), &token)).await;
    assert_eq!((again.status, again.error_code()), (410, "invite.used"));
    assert_eq!(env.client(&Auth::None).organization_by_invite(&token).await.error_code(), "invite.used");
    let listed = env.client(&owner.auth()).invites("").await.body;
    assert_eq!(
        (listed[0]["state"].as_str(), listed[0]["acceptedByEmail"].as_str(), listed[0]["email"].as_str()),
        (Some("accepted"), Some(accepting.as_str()), Some(invited.as_str()))
    );
    for bad in ["nonsense", "a.b.c", &format!("{token}x")] {
        assert_eq!(env.client(&Auth::None).organization_by_invite(bad).await.status, 404, "{bad}");
    }
}

#[tokio::test]
async fn sending_follows_webknossos_rules_and_answers_per_recipient() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let member = env.member(&owner, "Max", "Member", &[(&red, false)]).await;
    let body = |extra: Value| {
        let mut b = json!({"recipients": [address("x")], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let before = env.scan().await;
    for (auth, extra, status, code) in [
        (member.auth(), json!({}), 403, "invite.notAllowed"),
        (manager.auth(), json!({"isAdmin": true}), 403, "invite.rights.notAllowed"),
        (
            manager.auth(),
            json!({"teamMemberships": [{"id": blue, "isTeamManager": false}]}),
            403,
            "invite.team.notAllowed",
        ),
        (owner.auth(), json!({"teamMemberships": [{"id": "0123456789abcdef01234567"}]}), 400, "team.notFound"),
        (owner.auth(), json!({"recipients": []}), 400, "invite.recipients.empty"),
        (
            owner.auth(),
            json!({"recipients": (0..101).map(|i| format!("r{i}@example.org")).collect::<Vec<_>>()}),
            400,
            "invite.recipients.tooMany",
        ),
    ] {
        let response = send(&env, &auth, body(extra.clone())).await;
        assert_eq!((response.status, response.error_code()), (status, code), "{extra}");
    }
    assert_eq!(env.scan().await, before, "refused requests write nothing");

    let fresh = address("fresh");
    let recipients = json!([fresh, "not an address", fresh.to_uppercase(), member.email, owner.email]);
    let response = send(
        &env,
        &manager.auth(),
        body(json!({"recipients": recipients, "teamMemberships": [{"id": red, "isTeamManager": false}]})),
    )
    .await;
    let statuses: Vec<&str> =
        response.body["recipients"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["invited", "invalid", "duplicate", "alreadyMember", "alreadyMember"]);
    let again = send(&env, &owner.auth(), body(json!({"recipients": [fresh]}))).await;
    assert_eq!(again.json::<SentInvites>().recipients[0].status, "alreadyInvited");
}

/// Forced: all twenty have read the invite pending and the address free before any of them writes.
#[tokio::test]
async fn twenty_concurrent_accepts_of_one_invite_make_one_user() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_organization(&organization_name("Race Lab")).await;
    let racer = address("race");
    let token = invite(&env, &owner.auth(), &racer, json!({})).await;
    barrier.arm(20, Box::leak(racer.clone().into_boxed_str()));
    let forms: Vec<Value> = (0..20).map(|_| register_form(&racer, &token)).collect();
    let attempts = forms.into_iter().map(|form| {
        let env = &env;
        async move { tests::until_answered(|| env.client(&Auth::None).register(form.clone())).await }
    });
    let responses = futures_util::future::join_all(attempts).await;
    assert_eq!(barrier.met(), 20, "the twenty accepts did not write at the same moment");
    println!("the barrier was met: 20 accepts wrote at once");
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    // The losers get a clear answer (the invite used, or the address taken meanwhile), never a 5xx from the
    // transaction conflict.
    assert!(
        responses.iter().all(|r| r.status == 200
            || (r.status, r.error_code()) == (410, "invite.used")
            || (r.status, r.error_code()) == (409, "user.email.alreadyInUse")),
        "{statuses:?}"
    );
    let users = env.scan().await.iter().filter(|i| text(i, "entity") == "User").count();
    let accounts = env.scan().await.iter().filter(|i| text(i, "entity") == "Account").count();
    assert_eq!((users, accounts), (2, 2), "the owner and exactly one invited user");
}

/// Forced: all eight have read the invite pending before any of them writes.
#[tokio::test]
async fn concurrent_joins_of_one_invite_by_different_accounts_make_one_member() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let host = env.create_organization(&organization_name("Race Host")).await;
    let token = invite(&env, &host.auth(), &address("contested"), json!({})).await;
    let mut guests = Vec::new();
    for i in 0..8 {
        guests.push(env.create_organization(&organization_name(&format!("Guest {i}"))).await);
    }
    barrier.arm(8, Box::leak(format!("ORG#{}", host.organization).into_boxed_str()));
    let attempts = guests.iter().map(|guest| {
        let (env, token) = (&env, &token);
        async move { tests::until_answered(|| env.client(&guest.auth()).join_organization(token)).await }
    });
    let responses = futures_util::future::join_all(attempts).await;
    assert_eq!(barrier.met(), 8, "the eight joins did not write at the same moment");
    println!("the barrier was met: 8 joins wrote at once");
    let answers: Vec<(u16, String)> = responses.iter().map(|r| (r.status, r.error_code().to_owned())).collect();
    assert_eq!(answers.iter().filter(|(status, _)| *status == 200).count(), 1, "{answers:?}");
    assert!(
        answers.iter().all(|(status, code)| *status == 200 || (*status, code.as_str()) == (410, "invite.used")),
        "{answers:?}"
    );
    let scan = env.scan().await;
    let members = scan
        .iter()
        .filter(|i| text(i, "entity") == "User" && text(i, "PK") == format!("ORG#{}", host.organization))
        .count();
    assert_eq!(members, 2, "the host's owner and exactly one guest");
    let organization =
        scan.iter().find(|i| text(i, "PK") == format!("ORG#{}", host.organization) && text(i, "SK") == "ORG").unwrap();
    assert_eq!(text(organization, "memberCount"), "2", "the counter moved once");
    let with_two = scan.iter().filter(|i| text(i, "entity") == "Account").filter(|i| match i.get("identities") {
        Some(aws_sdk_dynamodb::types::AttributeValue::M(identities)) => identities.len() == 2,
        _ => false,
    });
    assert_eq!(with_two.count(), 1, "exactly one account gained the identity");
}

#[tokio::test]
async fn a_logged_in_account_joins_a_second_organization_once() {
    let env = TestEnv::new().await;
    let host = env.create_organization(&organization_name("Host Lab")).await;
    let guest = env.create_organization(&organization_name("Guest Lab")).await;
    let token = invite(&env, &host.auth(), &guest.email, json!({"autoActivate": true})).await;
    let joined = env.client(&guest.auth()).join_organization(&token).await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["organization"], host.organization.as_str());
    assert_eq!(joined.body["email"], guest.email.as_str());
    let account = env
        .scan()
        .await
        .into_iter()
        .find(|i| text(i, "entity") == "Account" && text(i, "email") == guest.email)
        .unwrap();
    match account.get("identities") {
        Some(aws_sdk_dynamodb::types::AttributeValue::M(identities)) => assert_eq!(identities.len(), 2),
        other => panic!("{other:?}"),
    }
    // A second invite for a member is refused at sending; an invite sent before joining cannot be used twice.
    let second = send(&env, &host.auth(), json!({"recipients": [guest.email], "autoActivate": true, "isAdmin": false, "isDatasetManager": false, "teamMemberships": []})).await;
    assert_eq!(second.json::<SentInvites>().recipients[0].status, "alreadyMember");
    let again = env.client(&guest.auth()).join_organization(&token).await;
    assert_eq!(again.status, 410);
    // Joining by an address with no account is not possible without logging in.
    assert_eq!(env.client(&Auth::None).join_organization(&token).await.status, 401);
}

#[tokio::test]
async fn joining_an_organization_you_belong_to_is_refused_clearly() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    // An invite sent to a new address, used by the owner, who is a member already.
    let token = invite(&env, &owner.auth(), &address("someone"), json!({})).await;
    let before = env.scan().await;
    let response = env.client(&owner.auth()).join_organization(&token).await;
    assert_eq!((response.status, response.error_code()), (409, "organization.alreadyMember"));
    assert_eq!(env.scan().await, before);
}

/// Moves a pending invite's validity into the past, with what derives from it (the reminder and cleanup
/// times, the TTL, the guard's validity and TTL) in step.
pub(crate) async fn expire(env: &TestEnv, pk: &str, sk: &str, email: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::N;
    let past = accounts::ids::now_millis() - 1;
    env.set_attribute(pk, sk, "validUntil", N(past.to_string())).await;
    env.set_attribute(pk, sk, "remindAt", N((past / 1000 - 2 * 24 * 3600).to_string())).await;
    let cleanup_at = past / 1000 + accounts::config::DEFAULT_INVITE_RETENTION.as_secs() as i64;
    env.set_attribute(pk, sk, "cleanupAt", N(cleanup_at.to_string())).await;
    env.set_attribute(pk, sk, "expiresAt", N((cleanup_at + 24 * 3600).to_string())).await;
    let guard = format!("INVITEEMAIL#{email}");
    env.set_attribute(pk, &guard, "validUntil", N(past.to_string())).await;
    env.set_attribute(pk, &guard, "expiresAt", N((past / 1000 + 24 * 3600).to_string())).await;
}

#[tokio::test]
async fn expired_and_revoked_invites_are_refused_at_once_and_can_be_renewed() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let email = address("late");
    let token = invite(&env, &owner.auth(), &email, json!({})).await;
    let invite_item = env.scan().await.into_iter().find(|i| text(i, "entity") == "Invite").unwrap();
    let (pk, sk) = (text(&invite_item, "PK"), text(&invite_item, "SK"));
    // Let it expire: the invite and its e-mail guard carry the same validity.
    expire(&env, &pk, &sk, &email).await;
    let expired = env.client(&Auth::None).organization_by_invite(&token).await;
    assert_eq!((expired.status, expired.error_code()), (410, "invite.expired"));
    assert_eq!(
        env.client(&Auth::None).register(register_form(&address("x"), &token)).await.error_code(),
        "invite.expired"
    );
    assert_eq!(env.client(&owner.auth()).invites("state=expired").await.body.as_array().unwrap().len(), 1);
    // Resend an expired invite: new link and expiry; the old link is dead.
    let id = text(&invite_item, "id");
    let resent = env.client(&owner.auth()).resend_invite(&id).await;
    assert_eq!((resent.status, resent.body["state"].as_str()), (200, Some("pending")), "{:?}", resent.body);
    let renewed = invite_token(&mails_to(&email).await.pop().unwrap());
    assert_eq!(env.client(&Auth::None).organization_by_invite(&token).await.status, 404);
    assert_eq!(env.client(&Auth::None).organization_by_invite(&renewed).await.status, 200);
    // Revoked: refused at once, listed as revoked, and the address can be invited again.
    let revoked = env.client(&owner.auth()).revoke_invite(&id).await;
    assert_eq!(revoked.body["state"], "revoked");
    assert_eq!(env.client(&Auth::None).organization_by_invite(&renewed).await.error_code(), "invite.revoked");
    assert_eq!(env.client(&owner.auth()).revoke_invite(&id).await.error_code(), "invite.ended");
    assert_eq!(env.client(&owner.auth()).invites("state=revoked").await.body.as_array().unwrap().len(), 1);
    let after_revocation = invite(&env, &owner.auth(), &email, json!({})).await;
    assert_eq!(env.client(&Auth::None).organization_by_invite(&after_revocation).await.status, 200);

    // Another address: invited again after its invite expired, without resending.
    let other = address("other");
    invite(&env, &owner.auth(), &other, json!({})).await;
    let other_invite =
        env.scan().await.into_iter().find(|i| text(i, "entity") == "Invite" && text(i, "email") == other).unwrap();
    expire(&env, &pk, &text(&other_invite, "SK"), &other).await;
    let fresh = invite(&env, &owner.auth(), &other, json!({})).await;
    assert_eq!(env.client(&Auth::None).organization_by_invite(&fresh).await.status, 200);
    assert_eq!(env.client(&owner.auth()).invites("state=nonsense").await.status, 400);
}

#[tokio::test]
async fn team_managers_manage_the_invites_they_sent() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    invite(&env, &owner.auth(), &address("by-owner"), json!({})).await;
    invite(&env, &manager.auth(), &address("by-manager"), json!({})).await;
    assert_eq!(env.client(&owner.auth()).invites("").await.body.as_array().unwrap().len(), 2);
    let mine = env.client(&manager.auth()).invites("").await.body;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let owners_invite = env
        .client(&owner.auth())
        .invites("")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sentBy"] == owner.user_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(env.client(&manager.auth()).revoke_invite(&owners_invite).await.status, 404);
    // Pages, newest first.
    let first = env.client(&owner.auth()).invites("limit=1").await;
    let cursor = first.header("x-next-cursor").unwrap().to_owned();
    let second = env.client(&owner.auth()).invites(&format!("limit=1&cursor={cursor}")).await;
    assert_ne!(first.body[0]["id"], second.body[0]["id"]);
    assert!(first.body[0]["id"].as_str() > second.body[0]["id"].as_str());
}

#[tokio::test]
async fn another_organizations_admin_gets_nothing_from_any_invite_route() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    invite(&env, &owner.auth(), &address("private"), json!({})).await;
    let id = env.client(&owner.auth()).invites("").await.body[0]["id"].as_str().unwrap().to_owned();
    env.assert_foreign_caller_refused("DELETE", &format!("/api/invites/{id}"), None, &stranger.auth()).await;
    env.assert_foreign_caller_refused("POST", &format!("/api/invites/{id}/resend"), Some(json!({})), &stranger.auth())
        .await;
    assert_eq!(env.client(&stranger.auth()).invites("").await.body, json!([]));
    let foreign_team = json!({"recipients": [address("y")], "autoActivate": true, "isAdmin": false, "isDatasetManager": false,
        "teamMemberships": [{"id": env.client(&owner.auth()).teams("").await.body[0]["id"], "isTeamManager": false}]});
    let before = env.scan().await;
    assert_eq!(send(&env, &stranger.auth(), foreign_team).await.error_code(), "team.notFound");
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn the_invite_email_guard_carries_a_ttl_that_never_outlives_its_invite() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let email = address("guarded");
    invite(&env, &owner.auth(), &email, json!({})).await;
    let check = |scan: Vec<tests::Item>| {
        let invite = scan.iter().find(|i| text(i, "entity") == "Invite").unwrap().clone();
        let guard = scan.iter().find(|i| text(i, "entity") == "InviteEmailGuard").unwrap().clone();
        let number = |item: &tests::Item, name: &str| {
            text(item, name).parse::<i64>().unwrap_or_else(|_| panic!("{name} is set"))
        };
        assert_eq!(number(&guard, "validUntil"), number(&invite, "validUntil"));
        assert_eq!(number(&guard, "expiresAt"), number(&guard, "validUntil") / 1000 + 24 * 3600);
        assert!(number(&guard, "expiresAt") <= number(&invite, "expiresAt"));
        assert!(
            matches!(guard.get("expiresAt"), Some(aws_sdk_dynamodb::types::AttributeValue::N(_))),
            "TTL needs a number"
        );
        (text(&invite, "id"), number(&guard, "expiresAt"))
    };
    let (id, first) = check(env.scan().await);
    // Resending moves the guard along with the new validity, TTL included.
    env.set_attribute(
        &format!("ORG#{}", owner.organization),
        &format!("INVITEEMAIL#{email}"),
        "validUntil",
        aws_sdk_dynamodb::types::AttributeValue::N("1000".into()),
    )
    .await;
    let resent = env.client(&owner.auth()).resend_invite(&id).await;
    assert_eq!(resent.status, 200, "{:?}", resent.body);
    let (_, second) = check(env.scan().await);
    assert!(second >= first);
}

#[tokio::test]
async fn joining_by_invite_notifies_the_new_user_mailing_list_when_set() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Listed Lab")).await;
    let list = address("signups");
    // The list's address gets the notices once its mailbox confirmed them (the opt-in).
    let token = env.notification_token(&owner.auth(), &owner.organization, &list).await;
    env.confirm_notifications(&token).await;
    let notices_to_owner =
        || async { mails_to(&owner.email).await.into_iter().filter(|m| m.subject.starts_with("New user in")).count() };
    // Register with an invite.
    let newcomer = address("newcomer");
    let token = invite(&env, &owner.auth(), &newcomer, json!({})).await;
    assert_eq!(env.client(&Auth::None).register(register_form(&newcomer, &token)).await.status, 200);
    // Join with an existing account.
    let guest = env.create_organization(&organization_name("Guest Lab")).await;
    let token = invite(&env, &owner.auth(), &guest.email, json!({})).await;
    assert_eq!(env.client(&guest.auth()).join_organization(&token).await.status, 200);
    let notices: Vec<_> = mails_to(&list).await.into_iter().filter(|m| m.subject.starts_with("New user in")).collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices.iter().any(|m| m.text.contains(&newcomer)));
    assert!(notices.iter().any(|m| m.text.contains(&guest.email)));
    assert!(notices.iter().all(|m| m.subject.starts_with("New user in") && m.text.contains("invitation")));
    assert_eq!(notices_to_owner().await, 0, "the list, not the owner");
}

/// An SES endpoint that answers every request as SES does when it refuses a message (400 MessageRejected).
pub(crate) async fn refusing_ses() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request: hyper::Request<hyper::body::Incoming>| async {
                    let body = r#"{"message":"Email address is not verified. The following identities failed the check: no-reply@webknossos.test"}"#;
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .status(400)
                            .header("content-type", "application/json")
                            .header("x-amzn-errortype", "MessageRejected")
                            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{address}"), task)
}

#[tokio::test]
async fn when_dynamodb_fails_part_way_each_recipient_is_answered_and_nothing_is_half_written() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    // Transactions allowed before DynamoDB "fails" (the proxy drops the connection, every retry too).
    let allowed = Arc::new(AtomicI64::new(i64::MAX));
    let hook: tests::DynamoDbHook = {
        let allowed = allowed.clone();
        Arc::new(move |operation: String, body: String| {
            let allowed = allowed.clone();
            Box::pin(async move {
                // Storing invites fails; counting their mails against the daily quota does not.
                if operation == "TransactWriteItems"
                    && !body.contains("MAILQUOTA")
                    && allowed.fetch_sub(1, Ordering::SeqCst) <= 0
                {
                    panic!("injected failure: DynamoDB does not answer");
                }
            })
        })
    };
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_organization(&organization_name("Flaky Lab")).await;
    let (one, two, three, four) = (address("one"), address("two"), address("three"), address("four"));
    // Two invites are stored, then storing fails; the delivery states of the two mailed ones are not recorded.
    allowed.store(2, Ordering::SeqCst);
    let response =
        send(&env, &owner.auth(), json!({"recipients": [one, two, three, four], "autoActivate": true})).await;
    allowed.store(i64::MAX, Ordering::SeqCst);
    assert_eq!(response.status, 200, "{:?}", response.body);
    let statuses: Vec<&str> =
        response.body["recipients"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["invited", "invited", "notStored", "notStored"], "{:?}", response.body);
    assert!(response.body["recipients"][2]["error"].as_str().unwrap().contains("Not invited"));
    // What was answered is what is stored: two pending invites (with their guards), mailed, their delivery
    // state still "sending" (not recorded) so they can be resent; nothing for the other two.
    let scan = env.scan().await;
    let invites: Vec<_> = scan.iter().filter(|i| text(i, "entity") == "Invite").collect();
    let mut emails: Vec<String> = invites.iter().map(|i| text(i, "email")).collect();
    emails.sort();
    let mut expected = vec![one.clone(), two.clone()];
    expected.sort();
    assert_eq!(emails, expected);
    assert!(invites.iter().all(|i| text(i, "delivery") == "sending" && text(i, "state") == "pending"));
    assert_eq!(scan.iter().filter(|i| text(i, "entity") == "InviteEmailGuard").count(), 2);
    assert_eq!((mails_to(&one).await.len(), mails_to(&two).await.len(), mails_to(&three).await.len()), (1, 1, 0));
    // Resending one records its delivery; sending again to the others just works.
    let id = text(invites[0], "id");
    let resent = env.client(&owner.auth()).resend_invite(&id).await;
    assert_eq!((resent.status, resent.body["delivery"].as_str()), (200, Some("queued")), "{:?}", resent.body);
    let retried = send(&env, &owner.auth(), json!({"recipients": [three, four], "autoActivate": true})).await;
    assert_eq!(retried.body["recipients"].as_array().unwrap().len(), 2, "{:?}", retried.body);
    assert!(
        retried.body["recipients"].as_array().unwrap().iter().all(|r| r["status"] == "invited"),
        "{:?}",
        retried.body
    );
}

/// The third security round's address squatting: an invite token registered another address than the
/// one it was mailed to, with the registrant's password, and the address's real owner could not sign up.
#[tokio::test]
async fn an_invite_registers_only_the_address_it_was_mailed_to() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Inviting Lab")).await;
    let invited = address("invited");
    let token = invite(&env, &owner.auth(), &invited, json!({})).await;
    let victim = address("victim");
    let before = env.scan().await;
    let squatting = env.client(&Auth::None).register(register_form(&victim, &token)).await;
    assert_eq!((squatting.status, squatting.error_code()), (400, "auth.register.inviteEmailMismatch"));
    assert!(squatting.body["messages"][0]["error"].as_str().unwrap().contains(&invited), "{:?}", squatting.body);
    assert_eq!(env.scan().await, before, "no account, no member, no mail");
    assert!(mails_to(&victim).await.is_empty());
    // The address's owner signs up as usual; the invite still works for its own address.
    let signed_up = env
        .client(&Auth::None)
        .create_organization_with_admin(signup_form(&victim, &organization_name("Own Lab")))
        .await;
    assert_eq!(signed_up.status, 200, "{:?}", signed_up.body);
    let registered = env.client(&Auth::None).register(register_form(&invited, &token)).await;
    assert_eq!((registered.status, &registered.body["isEmailVerified"]), (200, &json!(true)), "{:?}", registered.body);
}
