//! The audit log: an entry for every action of the catalogue, written in the transaction of its change;
//! reading it with paging, filters and CSV; who may read it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use tests::answers::Organization;
use tests::answers::{SentInvites, Token};

use serde_json::{Value, json};
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, invite_token, mails_to, organization_name, signup_form, text};

/// The log of the organization `auth` administers (all pages of `query`), newest first.
async fn log(env: &TestEnv, auth: &Auth, query: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1.. {
        assert!(pages <= 1000, "the log's pages end");
        let path = match &cursor {
            Some(cursor) => format!("/api/auditLog?{query}&cursor={cursor}"),
            None => format!("/api/auditLog?{query}"),
        };
        let page = env.get(&path, auth).await;
        assert_eq!(page.status, 200, "{path}: {:?}", page.body);
        entries.extend(page.body.as_array().unwrap().iter().cloned());
        match page.header("x-next-cursor") {
            Some(next) => cursor = Some(next.to_owned()),
            None => return entries,
        }
    }
    unreachable!("pages are counted without end")
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

/// The audit entries a recorded `TransactWriteItems` body puts, by action, and whether it writes anything
/// else (the change the entries record).
fn entries_in_transaction(body: &str) -> (Vec<String>, bool) {
    let request: Value = serde_json::from_str(body).unwrap();
    let mut entries = Vec::new();
    let mut changes = false;
    for item in request["TransactItems"].as_array().unwrap() {
        let put_entity = item["Put"]["Item"]["entity"]["S"].as_str();
        if put_entity == Some("AuditEntry") {
            entries.push(item["Put"]["Item"]["action"]["S"].as_str().unwrap().to_owned());
        } else if item.get("ConditionCheck").is_none() {
            changes = true;
        }
    }
    (entries, changes)
}

/// Runs every action of the catalogue through the API (and the two jobs), recording every DynamoDB request.
/// Each entry must come in a `TransactWriteItems` with the change it records, and no other request may
/// write one; the only entries without a change in their transaction are failed logins, which change no
/// organization state (docs/audit.md).
#[tokio::test]
async fn every_action_of_the_catalogue_is_logged_in_the_transaction_of_its_change() {
    let recorded: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = recorded.clone();
    let hook: tests::DynamoDbHook = Arc::new(move |operation, body| {
        sink.lock().unwrap().push((operation, body));
        Box::pin(async {})
    });
    let env = TestEnv::with_dynamodb_hook(hook).await;
    let owner = env.create_home_organization().await;
    let operator = env.operator().await;

    // People, teams, rights and experiences.
    let team = env.team(&owner.auth(), "Tracing").await;
    let doomed_team = env.team(&owner.auth(), "Short-lived").await;
    let member = env.member(&owner, "Mia", "Member", &[(&team, false)]).await;
    assert_eq!(env.client(&member.auth()).current_user().await.status, 200, "the member uses the organization");
    assert_eq!(env.patch_user(&member.user_id, json!({"firstName": "Maria"}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    let member_session = env.login(&member.email, PASSWORD).await;
    let member_auth = Auth::Bearer(member_session);
    let bulk = json!({"userIds": [member.user_id], "teams": [{"id": team, "isTeamManager": true}]});
    assert_eq!(env.client(&owner.auth()).bulk_edit_teams_and_permissions(bulk).await.status, 200);
    let experiences = json!({"userIds": [member.user_id], "set": {"nuclei": 4}});
    assert_eq!(env.client(&owner.auth()).bulk_change_experiences(experiences).await.status, 200);
    assert_eq!(env.client(&owner.auth()).delete_team(&doomed_team).await.status, 200);

    // Tokens and sessions.
    assert_eq!(env.client(&member_auth).token().await.status, 200);
    assert_eq!(env.client(&member_auth).revoke_token().await.status, 200);
    let spare = Auth::Bearer(env.login(&owner.email, PASSWORD).await);
    assert_eq!(env.client(&spare).logout().await.status, 200);
    let wrong = json!({"email": member.email, "password": "not the password"});
    let mut locked = false;
    for _ in 0..10 {
        let body = serde_json::to_vec(&wrong).unwrap();
        let answer = env
            .request_with_headers("POST", "/api/auth/login", body, &Auth::None, &[("x-forwarded-for", "203.0.113.7")])
            .await;
        if answer.status == 429 {
            locked = true;
            break;
        }
        assert_eq!(answer.status, 401);
    }
    assert!(locked, "failed logins from one client lock the address there");

    // Credentials.
    let changed = env
        .patch_user(
            &member.user_id,
            json!({"email": format!("new-{}", member.email), "currentPassword": PASSWORD}),
            &member_auth,
        )
        .await;
    assert_eq!(changed.status, 200);
    let member_email = format!("new-{}", member.email);
    let key = env.seed_email_verification(&member_email).await;
    assert_eq!(env.client(&member_auth).verify_email(&key, json!({})).await.status, 200);
    // A notification address its mailbox confirmed.
    let listed = format!("list-{}@example.org", accounts::ids::new_object_id());
    let notify_token = env.notification_token(&owner.auth(), &owner.organization, &listed).await;
    env.confirm_notifications(&notify_token).await;
    // The operator role, granted by an operator and taken back by the command.
    let granted = env.client(&operator.auth()).grant_operator(&member_email).await;
    assert_eq!(granted.status, 200, "{:?}", granted.body);
    let grantor = accounts::domain::operators::Grantor::Command;
    let revoked =
        accounts::declared_actions::unchecked(accounts::domain::operators::revoke(&env.app, grantor, &member_email));
    revoked.await.unwrap();
    let new_password = json!({"password1": "another long passphrase", "password2": "another long passphrase"});
    let change = json!({"oldPassword": PASSWORD, "password": new_password});
    let changed = env.post("/api/auth/changePassword", change, &member_auth).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let reset_token = env.seed_password_reset(&member_email).await;
    let reset = json!({"token": reset_token, "password": {"password1": PASSWORD, "password2": PASSWORD}});
    assert_eq!(env.post("/api/auth/resetPassword", reset, &Auth::None).await.status, 200);
    let member_auth = Auth::Bearer(env.login(&member_email, PASSWORD).await);

    // Invites: sent, resent, revoked, accepted by a new account and by an existing one, reminded, expired.
    let invitee = format!("invitee-{}@example.org", accounts::ids::new_object_id());
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [invitee]})).await;
    let invite_id = sent.json::<SentInvites>().recipients[0].invite_id.clone().unwrap();
    assert_eq!(env.client(&owner.auth()).resend_invite(&invite_id).await.status, 200);
    let mut form = signup_form(&invitee, "ignored");
    form["inviteToken"] = json!(invite_token(&mails_to(&invitee).await.pop().unwrap()));
    assert_eq!(env.client(&Auth::None).register(form).await.status, 200);
    let revoked_to = format!("revoked-{}@example.org", accounts::ids::new_object_id());
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [revoked_to]})).await;
    let revoked_id = sent.json::<SentInvites>().recipients[0].invite_id.clone().unwrap();
    assert_eq!(env.client(&owner.auth()).revoke_invite(&revoked_id).await.status, 200);
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [operator.email]})).await;
    assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited");
    let token = invite_token(&mails_to(&operator.email).await.pop().unwrap());
    let joined = env.client(&operator.auth()).join_organization(&token).await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    let switched = env.client(&operator.auth()).switch_organization(HOME_ORGANIZATION).await;
    assert_eq!(switched.status, 200);
    let pending = format!("pending-{}@example.org", accounts::ids::new_object_id());
    env.client(&owner.auth()).send_invites(json!({"recipients": [pending]})).await;
    let day = 24 * 3600 * 1000;
    let now = accounts::ids::now_millis();
    accounts::domain::daily::maintain(&env.app, now + env.app.config.invite_lifetime.as_millis() as i64 - day)
        .await
        .unwrap();
    accounts::domain::daily::maintain(&env.app, now + 60 * day).await.unwrap();

    // The organization: settings, plan, credits, storage; created by an operator, owned through an invite.
    let renamed = env.client(&owner.auth()).update_organization("home", json!({"name": "Home Lab 2"})).await;
    assert_eq!(renamed.status, 200);
    let ends = now + 20 * day;
    let plan =
        env.client(&operator.auth()).change_plan("home", json!({"pricingPlan": "Power", "paidUntil": ends})).await;
    assert_eq!(plan.status, 200);
    // The plan's end comes: the daily job tells the organization.
    let report = accounts::domain::daily::maintain(&env.app, ends + day).await.unwrap();
    assert_eq!(report.plan_notices, 1);
    let asked = env.client(&owner.auth()).request_plan_change("requestExtension", "").await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let credits = json!({"milliCredits": 5000, "comment": "welcome"});
    assert_eq!(env.post("/api/organizations/home/credits", credits, &operator.auth()).await.status, 200);
    let report = accounts::domain::organizations::StorageReport {
        organization: HOME_ORGANIZATION.into(),
        used_storage_bytes: 1_000_000,
        reported_at: None,
    };
    assert!(accounts::domain::organizations::report_storage(&env.app, &report).await.unwrap());
    let future_owner = format!("future-owner-{}@example.org", accounts::ids::new_object_id());
    let created = env
        .client(&operator.auth())
        .create_organization(json!({"ownerEmail": future_owner, "organizationName": organization_name("Operated")}))
        .await;
    assert_eq!(created.status, 200);
    let mut form = signup_form(&future_owner, "ignored");
    form["inviteToken"] = json!(invite_token(&mails_to(&future_owner).await.pop().unwrap()));
    assert_eq!(env.client(&Auth::None).register(form).await.status, 200);
    // Single sign-on: the organization's own connection and a domain, each change audited.
    let issuer = tokio::task::spawn_blocking(tests::sso::provider_issuer).await.unwrap();
    let connection = json!({"issuer": issuer, "clientId": "audited", "clientSecret": "s3cret", "joinPolicy": "closed"});
    let configured = env.client(&owner.auth()).put_sso_connection(HOME_ORGANIZATION, connection).await;
    assert_eq!(configured.status, 200, "{:?}", configured.body);
    let domain = format!("audit-{}.example", tests::unique_suffix());
    env.verified_domain(&owner, &domain).await;
    assert_eq!(env.client(&owner.auth()).require_sso(HOME_ORGANIZATION, &domain, true).await.status, 200);
    assert_eq!(env.client(&owner.auth()).remove_domain(HOME_ORGANIZATION, &domain).await.status, 200);
    assert_eq!(env.client(&owner.auth()).delete_sso_connection(HOME_ORGANIZATION).await.status, 200);
    // A passkey added and removed.
    let mut device = tests::authenticator::Authenticator::new(&env.app.config.public_uri);
    let options = env.client(&owner.auth()).passkey_register_start().await.body;
    let added = env.client(&owner.auth()).passkey_register_finalize("Laptop", device.create(&options)).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    let passkey = added.body["id"].as_str().unwrap().to_owned();
    assert_eq!(env.client(&owner.auth()).remove_passkey(&passkey).await.status, 200);
    let doomed = env.create_organization(&organization_name("Doomed")).await;
    let name = env.client(&doomed.auth()).organization(&doomed.organization).await.json::<Organization>().name;
    let deleted = env.client(&doomed.auth()).delete_organization(&doomed.organization, &name).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(env.client(&member_auth).logout_everywhere().await.status, 200);

    // Every action of the catalogue was logged, each entry in the transaction of its change.
    let mut logged = BTreeSet::new();
    for (operation, body) in recorded.lock().unwrap().iter() {
        if operation == "TransactWriteItems" {
            let (entries, changes) = entries_in_transaction(body);
            for action in &entries {
                assert!(
                    changes || action.starts_with("auth.login"),
                    "{action} was written without a change in its transaction"
                );
            }
            logged.extend(entries);
        } else {
            assert!(!body.contains("\"AuditEntry\""), "{operation} wrote an audit entry outside a transaction");
        }
    }
    let catalogue: BTreeSet<String> = accounts::domain::audit::CATALOGUE.iter().map(|(a, _)| a.to_string()).collect();
    // `user.restored` needs a bulk change that fails part-way: users.rs forces one and checks its entries.
    // `auth.providerUnlinked` needs a link made through an identity provider's forms:
    // sso_organizations.rs makes one, removes it and checks its entry.
    // Leaving and handing over end sessions and change owners: ownership.rs makes each and reads its entry.
    let elsewhere = [
        "user.restored",
        "auth.providerUnlinked",
        "user.left",
        "organization.ownershipOffered",
        "organization.ownershipTransferred",
    ];
    let expected: BTreeSet<String> = catalogue.iter().filter(|a| !elsewhere.contains(&a.as_str())).cloned().collect();
    let missing: Vec<_> = expected.difference(&logged).collect();
    assert!(missing.is_empty(), "no entry for {missing:?}");

    // The home organization's log, as its admins read it: who, what, on whom, from where.
    let entries = log(&env, &owner.auth(), "limit=1000").await;
    let times: Vec<i64> = entries.iter().map(|e| e["occurredAt"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let renamed = entries.iter().find(|e| e["action"] == "user.changed").unwrap();
    assert_eq!(renamed["actor"]["id"], owner.user_id);
    assert_eq!(renamed["actor"]["type"], "user");
    assert_eq!(
        renamed["targets"][0],
        json!({"type": "user", "id": member.user_id, "name": format!("Maria Member <{}>", member.email)})
    );
    assert_eq!(renamed["change"], json!({"firstName": {"old": "Mia", "new": "Maria"}}));
    assert!(renamed["context"]["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(renamed["context"]["sourceIp"].as_str().is_some_and(|ip| !ip.is_empty()));
    let failed = entries.iter().find(|e| e["action"] == "auth.loginFailed").unwrap();
    assert_eq!(
        (failed["actor"]["type"].as_str(), failed["context"]["sourceIp"].as_str()),
        (Some("anonymous"), Some("203.0.113.7"))
    );
    let plan = entries.iter().find(|e| e["action"] == "organization.planChanged").unwrap();
    assert_eq!(
        (plan["actor"]["type"].as_str(), plan["actor"]["email"].as_str()),
        (Some("operator"), Some(tests::SUPER_USER))
    );
    assert_eq!(plan["change"]["pricingPlan"], json!({"old": "Custom", "new": "Power"}));
    let expired = entries.iter().find(|e| e["action"] == "invite.expired").unwrap();
    assert_eq!(expired["actor"], json!({"type": "system", "name": "invite_maintenance"}));
    let bulk: Vec<&Value> =
        entries.iter().filter(|e| e["action"] == "user.teamsAndPermissionsChanged" && e["group"].is_string()).collect();
    assert!(!bulk.is_empty(), "a bulk change's entries carry their group");
    // The other organizations' logs hold their own entries: the account changes of the operator, who is in
    // several organizations, are in each of them.
    let operator_log = actions(&log(&env, &operator.auth(), "limit=1000").await);
    assert!(
        operator_log.contains(&"auth.signUp".to_owned()) && operator_log.contains(&"account.emailVerified".to_owned())
    );
}

/// A change that is refused or fails its conditions writes no entry; nothing is half-written.
#[tokio::test]
async fn a_change_that_does_not_happen_leaves_no_entry() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    env.team(&owner.auth(), "Red").await;
    let before = env.scan().await;
    let cases = [
        ("POST", "/api/teams".to_owned(), json!({"name": "red"}), owner.auth(), 409),
        ("POST", "/api/teams".to_owned(), json!({"name": "Blue"}), member.auth(), 403),
        ("PATCH", format!("/api/users/{}", owner.user_id), json!({"isAdmin": false}), member.auth(), 404),
        ("PATCH", "/api/organizations/home".to_owned(), json!({"name": ""}), owner.auth(), 400),
        ("PATCH", format!("/api/users/{}", owner.user_id), json!({"isActive": false}), owner.auth(), 403),
    ];
    for (method, path, body, auth, status) in cases {
        let answer = env.request(method, &path, Some(body.clone()), &auth).await;
        assert_eq!(answer.status, status, "{method} {path} {body}: {:?}", answer.body);
    }
    assert_eq!(env.scan().await, before, "refused changes wrote nothing, no entry either");
    // A change that changes nothing is no change either.
    let same = env.client(&owner.auth()).update_organization("home", json!({"name": "Home Lab"})).await;
    assert_eq!(same.status, 200);
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn the_log_pages_newest_first_and_filters_by_action_actor_subject_and_time() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let admin = env.member(&owner, "Ada", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let start = accounts::ids::now_millis();
    let mut teams = Vec::new();
    for i in 0..12 {
        let by = if i % 3 == 0 { admin.auth() } else { owner.auth() };
        teams.push(env.team(&by, &format!("Team {i:02}")).await);
    }
    let middle = accounts::ids::now_millis();
    assert_eq!(env.client(&owner.auth()).delete_team(&teams[5]).await.status, 200);

    // Pages of 5 through all team entries: newest first, each once, the cursor in the header.
    let first = env.client(&owner.auth()).audit_log("action=team.&limit=5").await;
    assert_eq!(first.body.as_array().unwrap().len(), 5);
    assert!(first.header("x-next-cursor").is_some());
    let all = log(&env, &owner.auth(), "action=team.&limit=5").await;

    assert_eq!(all[0]["action"], "team.deleted");
    let ids: BTreeSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "no entry twice across pages");
    let names: Vec<&str> = all[1..].iter().map(|e| e["targets"][0]["name"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..12).rev().map(|i| format!("Team {i:02}")).collect();
    assert_eq!(names, expected);

    // Exact actions, and the start of an action.
    assert_eq!(log(&env, &owner.auth(), "action=team.deleted").await.len(), 1);
    assert_eq!(log(&env, &owner.auth(), "action=team.created").await.len(), 12);
    // By actor: the admin registered, logged in and created 4 teams (the owner's changes of the admin are
    // the owner's entries).
    let by_admin = log(&env, &owner.auth(), &format!("actor={}", admin.user_id)).await;
    assert!(by_admin.iter().all(|e| e["actor"]["id"] == admin.user_id.as_str()));
    assert_eq!(actions(&by_admin).iter().filter(|a| *a == "team.created").count(), 4);
    assert_eq!(by_admin.len(), 6, "{:?}", actions(&by_admin));
    let by_admin_created =
        log(&env, &owner.auth(), &format!("actor={}&action=team.created&limit=3", admin.user_id)).await;
    assert_eq!(by_admin_created.len(), 4);
    // By subject: the deleted team's whole history.
    let about = log(&env, &owner.auth(), &format!("target={}", teams[5])).await;
    assert_eq!(actions(&about), ["team.deleted", "team.created"]);
    let about_the_admin = log(&env, &owner.auth(), &format!("target={}", admin.user_id)).await;
    assert!(actions(&about_the_admin).contains(&"user.registered".to_owned()));
    assert!(about_the_admin.iter().all(|e| e["targets"][0]["id"] == admin.user_id.as_str()));
    // Actor and subject together.
    let both = log(&env, &owner.auth(), &format!("actor={}&target={}", owner.user_id, teams[5])).await;
    assert_eq!(actions(&both), ["team.deleted", "team.created"]);
    // By time: entries from `from` to `to`, inclusive.
    let early = log(&env, &owner.auth(), &format!("action=team.&from={start}&to={middle}")).await;
    assert_eq!(early.len(), 12);
    let late = log(&env, &owner.auth(), &format!("action=team.&from={}", middle + 1)).await;
    assert_eq!(actions(&late), ["team.deleted"]);

    // The CSV export of a filtered range: a header and one row per entry.
    let csv = env.client(&owner.auth()).audit_log(&format!("format=csv&action=team.&from={start}")).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = csv.body.as_str().unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("id,occurredAt,action,"));
    assert_eq!(lines.len(), 14);
    assert!(lines[1].contains(",team.deleted,user,"));

    // Bad filters are 400s with a code, and change nothing.
    for (query, code) in [
        ("action=nothing", "auditLog.action.invalid"),
        ("action=user%3B", "auditLog.action.invalid"),
        ("actor=someone", "auditLog.actor.invalid"),
        ("target=a%23b", "auditLog.target.invalid"),
        ("from=yesterday", "auditLog.from.invalid"),
        ("to=-5", "auditLog.to.invalid"),
        ("from=10&to=5", "auditLog.range.invalid"),
        ("format=xml", "auditLog.format.invalid"),
        ("limit=0", "request.limit.invalid"),
        ("cursor=bm90IG9ucw", "request.cursor.invalid"),
    ] {
        let answer = env.client(&owner.auth()).audit_log(query).await;
        assert_eq!((answer.status, answer.error_code()), (400, code), "{query}");
    }
    // The valid form of the same filters is answered.
    let valid = format!(
        "action=user.&actor={}&target={}&from=10&to={}",
        owner.user_id,
        admin.user_id,
        accounts::ids::now_millis()
    );
    assert_eq!(env.client(&owner.auth()).audit_log(&valid.to_string()).await.status, 200);
}

#[tokio::test]
async fn only_admins_and_the_owner_read_the_log_and_only_their_organizations() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let team = env.team(&owner.auth(), "Red").await;
    let manager = env.member(&owner, "Tea", "Manager", &[(&team, true)]).await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    for auth in [member.auth(), manager.auth()] {
        let refused = env.client(&auth).audit_log("").await;
        assert_eq!((refused.status, refused.error_code()), (403, "auditLog.notAllowed"));
    }
    assert_eq!(env.client(&Auth::None).audit_log("").await.status, 401);
    // An owner who gave up admin rights (another admin remains) still reads it.
    let admin = env.member(&owner, "Ada", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&owner.user_id, json!({"isAdmin": false}), &owner.auth()).await.status, 200);
    let owners_view = log(&env, &owner.auth(), "").await;
    assert!(actions(&owners_view).contains(&"team.created".to_owned()));
    // Another organization's admin sees its own log only, whatever filter names this one's ids.
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    let theirs = log(&env, &stranger.auth(), "").await;
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|e| !e.to_string().contains(HOME_ORGANIZATION) && !e.to_string().contains(&team)));
    for query in [format!("target={team}"), format!("actor={}", owner.user_id), format!("target={HOME_ORGANIZATION}")] {
        assert_eq!(log(&env, &stranger.auth(), &query).await, Vec::<Value>::new(), "{query}");
    }
    // Entries are kept for the deployment's retention (the table's TTL).
    let entry = env.scan().await.into_iter().find(|i| text(i, "entity") == "AuditEntry").unwrap();
    let expires: i64 = match entry.get("expiresAt") {
        Some(aws_sdk_dynamodb::types::AttributeValue::N(n)) => n.parse().unwrap(),
        other => panic!("expiresAt {other:?}"),
    };
    let retention = env.app.config.audit_retention.as_secs() as i64;
    assert!((expires - accounts::ids::now_seconds() - retention).abs() < 600);
}

/// An account-level entry (password, address, logout everywhere) goes to every organization of the account,
/// but only the organization the request acted in learns where it came from: the others see what changed,
/// never the person's address or browser.
#[tokio::test]
async fn an_account_change_shows_its_address_and_browser_only_in_the_organization_it_was_made_in() {
    let env = TestEnv::new().await;
    let home = env.create_organization(&organization_name("Home")).await;
    let other = env.create_organization(&organization_name("Other")).await;
    env.join_by_invite(&other, &home.email, &home.auth()).await;
    let new_password = "another long passphrase";
    let change = json!({"oldPassword": PASSWORD, "password": {"password1": new_password, "password2": new_password}});
    let changed = env.post("/api/auth/changePassword", change, &home.auth()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let home_entry = log(&env, &Auth::Bearer(changed.json::<Token>().token), "action=account.passwordChanged").await;
    assert!(home_entry[0]["context"]["sourceIp"].as_str().is_some_and(|ip| !ip.is_empty()), "{home_entry:?}");
    let other_entry = log(&env, &other.auth(), "action=account.passwordChanged").await;
    assert_eq!(other_entry.len(), 1, "{other_entry:?}");
    assert_eq!(other_entry[0]["context"].get("sourceIp"), None, "{other_entry:?}");
    assert_eq!(other_entry[0]["context"].get("userAgent"), None, "{other_entry:?}");
}
