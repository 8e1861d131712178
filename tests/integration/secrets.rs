//! No secret in a response or a log line: a full run (sign-up, login, personal token, invites sent, shown
//! and accepted, a password change, logout) with the code's logs captured, then every response and every
//! captured line is searched for every password, password hash, session token, personal token, invite
//! token and their nonces, in their obvious encodings. A response may carry only the one token it exists to
//! hand to its owner (login and switchOrganization: the session; GET /auth/token: the personal token).

use std::io::Write;
use std::sync::{Arc, Mutex};
use tests::answers::Token;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tests::{Auth, PASSWORD, TestEnv, TestResponse, invite_token, mails_to, organization_name, signup_form, text};

/// Log lines written by the subscriber of this test's thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A response and the secret it exists to return, if any.
struct Seen {
    what: String,
    /// The request line, for the access log.
    method: String,
    path: String,
    response: TestResponse,
    returns: Option<String>,
}

struct Run<'a> {
    env: &'a TestEnv,
    seen: Vec<Seen>,
}

impl Run<'_> {
    async fn call(&mut self, what: &str, method: &str, path: &str, body: Option<Value>, auth: &Auth) -> &TestResponse {
        let response = self.env.request(method, path, body, auth).await;
        assert!(response.status < 500, "{what}: {} {:?}", response.status, response.body);
        let (method, path) = (method.to_owned(), path.to_owned());
        self.seen.push(Seen { what: what.to_owned(), method, path, response, returns: None });
        &self.seen.last().unwrap().response
    }

    /// A call whose answer is the token at `field` (checked against the other secrets, not itself).
    async fn call_returning(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: &Auth,
    ) -> String {
        let response = self.env.request(method, path, body, auth).await;
        assert_eq!(response.status, 200, "{what}: {:?}", response.body);
        let token = response.json::<Token>().token;
        let (method, path) = (method.to_owned(), path.to_owned());
        self.seen.push(Seen { what: what.to_owned(), method, path, response, returns: Some(token.clone()) });
        token
    }

    async fn login(&mut self, email: &str, password: &str) -> String {
        self.call_returning(
            "login",
            "POST",
            "/api/auth/login",
            Some(json!({"email": email, "password": password})),
            &Auth::None,
        )
        .await
    }
}

/// The access log line of each request seen, as API Gateway writes it with template.yaml's format.
fn access_log_lines(seen: &[Seen]) -> Vec<String> {
    let template = std::fs::read_to_string(devstack::repo_root().join("template.yaml")).unwrap();
    let settings = template.find("      AccessLogSettings:").expect("the HTTP API has an access log");
    let format = template[settings..]
        .lines()
        .find_map(|line| line.trim().strip_prefix("Format: '")?.strip_suffix('\''))
        .expect("the access log's format");
    seen.iter()
        .map(|seen| {
            let request = devstack::access_log::Request {
                method: &seen.method,
                path_and_query: &seen.path,
                source_ip: "127.0.0.1",
                user_agent: "tests",
                status: seen.response.status,
            };
            devstack::access_log::render(format, &request)
        })
        .collect()
}

/// Runs test code that is no part of the run (reading the table) without capturing its logs.
async fn unlogged<T>(work: impl std::future::Future<Output = T>) -> T {
    let _quiet = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
    work.await
}

/// The forms a secret could be written in.
fn encodings(secret: &str) -> Vec<String> {
    let mut forms = vec![
        secret.to_owned(),
        STANDARD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        serde_json::to_string(secret).unwrap().trim_matches('"').to_owned(),
        secret
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect(),
        secret.bytes().map(|b| format!("{b:02x}")).collect(),
    ];
    forms.retain(|f| f.len() >= 8);
    forms.sort();
    forms.dedup();
    forms
}

/// The secret parts of a token: the whole and its last dot-separated part (the MAC or JWT signature;
/// the other parts name the organization, the user or the invite and are no secret).
fn token_secrets(token: &str) -> Vec<String> {
    vec![token.to_owned(), token.rsplit('.').next().unwrap().to_owned()]
}

#[tokio::test]
async fn no_password_hash_or_token_appears_in_a_response_or_a_log_line() {
    let captured = Captured::default();
    // The functions' own log setup at the most verbose level an operator could choose, on this thread
    // only: the test's current-thread runtime and the gateway it serves run here; other tests are untouched.
    let guard = tracing::subscriber::set_default(accounts::logging::subscriber("trace", captured.clone()));
    // A second live dispatcher for the whole test. With only one, tracing decides whether a callsite is
    // enabled by asking the default of whichever thread reaches it first, and caches that for every
    // thread: a line first reached by a parallel test (no subscriber) would be lost here.
    let keeper = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let env = TestEnv::new().await;
    let mut run = Run { env: &env, seen: Vec::new() };
    let new_password = "a brand new password for Ivy";
    let wrong_password = "a wrong guess at the password";

    // Sign-up of the home organization (people may register into it) and of another one.
    let owner_email = format!("owner-{}@example.org", &accounts::ids::new_object_id()[..10]);
    env.home_organization_for(&owner_email).await;
    let other_email = format!("other-{}@example.org", &accounts::ids::new_object_id()[..10]);
    let signed_up = run
        .call(
            "sign-up",
            "POST",
            "/api/auth/createOrganizationWithAdmin",
            Some(signup_form(&other_email, &organization_name("Other"))),
            &Auth::None,
        )
        .await;
    let _other_organization = signed_up.body["organization"]["id"].as_str().unwrap().to_owned();

    let owner_session = run.login(&owner_email, PASSWORD).await;
    let owner = Auth::Bearer(owner_session.clone());
    let owner_token = run.call_returning("token", "GET", "/api/auth/token", None, &owner).await;
    run.call("user by token", "GET", "/api/user", None, &Auth::Token(owner_token.clone())).await;
    run.call("user by cookie", "GET", "/api/user", None, &Auth::Cookie(owner_session.clone())).await;

    // Invites: one for a new person (accepted by registering), one for the other organization's owner
    // (accepted by joining), one resent, one left pending.
    let newcomer = format!("ivy-{}@example.org", &accounts::ids::new_object_id()[..10]);
    let pending = format!("pat-{}@example.org", &accounts::ids::new_object_id()[..10]);
    let sent = run
        .call(
            "invites",
            "POST",
            "/api/auth/sendInvites",
            Some(json!({"recipients": [newcomer, other_email, pending], "autoActivate": true})),
            &owner,
        )
        .await;
    let recipients = sent.body["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 3, "{:?}", sent.body);
    assert!(recipients.iter().all(|r| r["status"] == "invited"), "{:?}", sent.body);
    let listed = run.call("invite list", "GET", "/api/invites", None, &owner).await;
    let pending_id = listed.body.as_array().unwrap().iter().find(|i| i["email"] == pending.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run.call("resend", "POST", &format!("/api/invites/{pending_id}/resend"), Some(json!({})), &owner).await;
    // The table while the invites and the owner's personal token are all there (their nonces).
    let mut table = unlogged(env.scan()).await;
    let mut invite_tokens = Vec::new();
    for address in [&newcomer, &other_email, &pending] {
        for mail in unlogged(mails_to(address)).await {
            if mail.text.contains("/invite/") {
                invite_tokens.push(invite_token(&mail));
            }
        }
    }
    assert_eq!(invite_tokens.len(), 4, "three invites and a resend");
    let newcomer_invite = invite_token(&unlogged(mails_to(&newcomer)).await.pop().unwrap());
    let other_invite = invite_token(
        &unlogged(mails_to(&other_email)).await.into_iter().rfind(|m| m.text.contains("/invite/")).unwrap(),
    );
    run.call("invite shown", "GET", &format!("/api/organizations/byInvite/{newcomer_invite}"), None, &Auth::None).await;
    let mut register = signup_form(&newcomer, "ignored");
    register["inviteToken"] = json!(newcomer_invite);
    let registered = run.call("register by invite", "POST", "/api/auth/register", Some(register), &Auth::None).await;
    let newcomer_id = registered.body["id"].as_str().unwrap().to_owned();
    let used = run
        .call("used invite", "GET", &format!("/api/organizations/byInvite/{newcomer_invite}"), None, &Auth::None)
        .await;
    assert_eq!(used.status, 410);
    let other_session = run.login(&other_email, PASSWORD).await;
    let other = Auth::Bearer(other_session.clone());
    run.call("join", "POST", &format!("/api/auth/joinOrganization/{other_invite}"), Some(json!({})), &other).await;
    let switched = run
        .call_returning(
            "switch",
            "POST",
            &format!("/api/auth/switchOrganization/{}", tests::HOME_ORGANIZATION),
            Some(json!({})),
            &other,
        )
        .await;

    // Self-registration, users, a password change, a failed login, logouts.
    let mut self_registered =
        signup_form(&format!("sam-{}@example.org", &accounts::ids::new_object_id()[..10]), "ignored");
    self_registered["firstName"] = json!("Sam");
    run.call("register", "POST", "/api/auth/register", Some(self_registered), &Auth::None).await;
    run.call("users", "GET", "/api/users", None, &owner).await;
    run.call("user", "GET", &format!("/api/users/{newcomer_id}"), None, &owner).await;
    let newcomer_session = run.login(&newcomer, PASSWORD).await;
    let newcomer_auth = Auth::Bearer(newcomer_session.clone());
    let newcomer_token = run.call_returning("token", "GET", "/api/auth/token", None, &newcomer_auth).await;
    let change = json!({"password": new_password, "currentPassword": PASSWORD});
    let changed =
        run.call("password change", "PATCH", &format!("/api/users/{newcomer_id}"), Some(change), &newcomer_auth).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let wrong = json!({"password": "short", "currentPassword": wrong_password});
    run.call(
        "password change, wrong current",
        "PATCH",
        &format!("/api/users/{newcomer_id}"),
        Some(wrong),
        &Auth::Bearer(switched.clone()),
    )
    .await;
    run.call("old session", "GET", "/api/user", None, &newcomer_auth).await;
    let failed = run
        .call(
            "failed login",
            "POST",
            "/api/auth/login",
            Some(json!({"email": newcomer, "password": wrong_password})),
            &Auth::None,
        )
        .await;
    assert_eq!(failed.status, 401);
    let newcomer_again = run.login(&newcomer, new_password).await;
    // Recovery: a reset requested and followed, a verification link asked for and followed, a password
    // change. The reset and verification items are in the table only until used: snapshot it first.
    let reset_password = "a reset password for the owner";
    let changed_password = "a changed password for the owner";
    run.call(
        "reset requested",
        "POST",
        "/api/auth/startResetPassword",
        Some(json!({"email": owner_email})),
        &Auth::None,
    )
    .await;
    let owner_account = unlogged(env.account_id(&owner_email)).await;
    let reset_token = unlogged(tests::link_token(&owner_email, "finishResetPassword?token=", &owner_account))
        .await
        .expect("the reset mail");
    run.call("verification asked", "POST", "/api/verifyEmail", Some(json!({})), &other).await;
    let other_account = unlogged(env.account_id(&other_email)).await;
    let verify_key = unlogged(tests::link_token(&other_email, "/verifyEmail/", &other_account))
        .await
        .expect("the verification mail");
    table.extend(unlogged(env.scan()).await);
    let reset = json!({"token": reset_token, "password": {"password1": reset_password, "password2": reset_password}});
    assert_eq!(run.call("reset", "POST", "/api/auth/resetPassword", Some(reset), &Auth::None).await.status, 200);
    assert_eq!(
        run.call("verify", "POST", &format!("/api/verifyEmail/{verify_key}"), Some(json!({})), &other).await.status,
        200
    );
    let owner_after_reset = run.login(&owner_email, reset_password).await;
    let change = json!({"oldPassword": reset_password, "password": {"password1": changed_password, "password2": changed_password}});
    let owner_after_change = run
        .call_returning(
            "change password",
            "POST",
            "/api/auth/changePassword",
            Some(change),
            &Auth::Bearer(owner_after_reset.clone()),
        )
        .await;
    run.call("logout", "POST", "/api/auth/logout", Some(json!({})), &Auth::Bearer(newcomer_again.clone())).await;
    run.call("logout everywhere", "POST", "/api/auth/logoutEverywhere", Some(json!({})), &other).await;
    run.call("revoke token", "DELETE", "/api/auth/token", None, &Auth::Token(owner_token.clone())).await;
    // The audit log of everything above, as admins read it and export it (its responses are searched like
    // every other), and as stored.
    let owner_now = Auth::Bearer(owner_after_change.clone());
    let logged = run.call("audit log", "GET", "/api/auditLog?limit=1000", None, &owner_now).await;
    assert!(logged.body.as_array().is_some_and(|entries| entries.len() > 10), "{:?}", logged.body);
    run.call("audit log export", "GET", "/api/auditLog?format=csv", None, &owner_now).await;

    drop(guard);
    drop(keeper);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    // The lines API Gateway's access log would hold for the run, from template.yaml's format: with a path
    // in it, the invite, join and verification requests would log their tokens.
    let access_log = access_log_lines(&run.seen);
    assert!(access_log.iter().any(|line| line.contains("/verifyEmail/{key}")), "{access_log:?}");
    lines.extend(access_log.iter().map(String::as_str));
    // The capture works: every request logged its `request` line here.
    let request_lines = lines.iter().filter(|l| l.contains("\"message\":\"request\"")).count();
    assert!(request_lines >= run.seen.len(), "captured {request_lines} request lines for {} requests", run.seen.len());

    // Every secret of the run: passwords, what the table holds (hashes, nonces), and every token.
    table.extend(env.scan().await);
    let mut secrets: Vec<(String, String)> = vec![
        ("password", PASSWORD),
        ("new password", new_password),
        ("wrong password", wrong_password),
        ("reset password", reset_password),
        ("changed password", changed_password),
    ]
    .into_iter()
    .map(|(what, s)| (what.to_owned(), s.to_owned()))
    .collect();
    for item in &table {
        for attribute in ["passwordHash", "nonce", "tokenHash", "keyHash"] {
            let value = text(item, attribute);
            if !value.is_empty() {
                secrets.push((format!("{attribute} of {}", text(item, "entity")), value.clone()));
                // The hash and salt parts of a PHC string on their own.
                for part in value.split('$').filter(|p| p.len() >= 16) {
                    secrets.push((format!("part of {attribute}"), part.to_owned()));
                }
            }
        }
    }
    assert!(secrets.iter().any(|(what, _)| what.starts_with("passwordHash")), "the table has password hashes");
    assert!(
        secrets.iter().filter(|(what, _)| what.starts_with("nonce")).count() >= 4,
        "personal token and invite nonces"
    );
    assert!(
        secrets.iter().any(|(what, _)| what.starts_with("keyHash"))
            && secrets.iter().any(|(what, _)| what == "tokenHash of PasswordReset"),
        "reset and verification hashes"
    );
    let sessions = [
        &owner_session,
        &other_session,
        &switched,
        &newcomer_session,
        &newcomer_again,
        &owner_after_reset,
        &owner_after_change,
    ];
    for token in sessions
        .iter()
        .copied()
        .chain([&owner_token, &newcomer_token, &reset_token, &verify_key])
        .chain(invite_tokens.iter())
    {
        for part in token_secrets(token) {
            secrets.push((format!("token {}", &token[..10]), part));
        }
    }
    secrets.push(("session secret".into(), tests::TEST_SESSION_SECRET.to_owned()));
    secrets.push(("token secret".into(), tests::TEST_TOKEN_SECRET.to_owned()));

    let entries: Vec<String> =
        table.iter().filter(|item| text(item, "entity") == "AuditEntry").map(|item| format!("{item:?}")).collect();
    assert!(!entries.is_empty(), "the table's audit entries are searched too");
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for form in encodings(secret) {
            for entry in entries.iter().filter(|entry| entry.contains(&form)) {
                leaks.push(format!("{what} in the audit entry {entry}"));
            }
            for (index, line) in lines.iter().enumerate() {
                if line.contains(&form) {
                    leaks.push(format!("{what} in log line {index}: {line}"));
                }
            }
            for seen in &run.seen {
                if seen.returns.as_deref().is_some_and(|own| token_secrets(own).contains(secret)) {
                    continue;
                }
                let headers = format!("{:?}", seen.response.headers);
                if seen.response.body.to_string().contains(&form) || headers.contains(&form) {
                    leaks.push(format!("{what} in the response to {}: {headers} {}", seen.what, seen.response.body));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
}
