//! The pages in a real browser: Debian's headless Chromium driven through WebDriver (chromedriver), against
//! the local gateway with DynamoDB Local and the SES emulator. Each test follows a person's path from the
//! mail's link, saves screenshots under `target/browser/`, and runs axe-core on every page it shows (no
//! serious or critical violations).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tests::answers::SentInvites;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tests::{Auth, PASSWORD, TestEnv, invite_token, link_token, mails_to, organization_name};

pub(crate) const DESKTOP: (u32, u32) = (1280, 900);
pub(crate) const PHONE: (u32, u32) = (375, 812);

pub(crate) struct Page {
    pub(crate) client: Client,
    env_base: String,
    pub(crate) name: &'static str,
    shots: std::sync::atomic::AtomicUsize,
}

impl Page {
    pub(crate) async fn open(env: &TestEnv, name: &'static str, size: (u32, u32)) -> Page {
        let client = tests::browser::session(size.0, size.1).await;
        Page { client, env_base: env.base_url.clone(), name, shots: Default::default() }
    }

    pub(crate) async fn goto(&self, path_or_url: &str) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.env_base)
        };
        self.client.goto(&url).await.unwrap();
    }

    /// Waits until the page's first heading is `text` (pages render after their API calls).
    pub(crate) async fn heading(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let current = match self.client.find(Locator::Css("main h1")).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if current == text {
                return;
            }
            if Instant::now() > deadline {
                let body = self.text().await;
                self.screenshot("timeout").await;
                panic!("{}: expected the heading {text:?}, the page shows {current:?}:\n{body}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn text(&self) -> String {
        match self.client.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page's text contains `wanted`.
    pub(crate) async fn shows(&self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.text().await.contains(wanted) {
            if Instant::now() > deadline {
                self.screenshot("timeout").await;
                panic!("{}: the page never showed {wanted:?}; it shows:\n{}", self.name, self.text().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types into the input labelled `label` in the page's `form`-th form (from 1).
    pub(crate) async fn fill(&self, form: usize, label: &str, value: &str) {
        self.fill_labelled(&format!("(//main//form)[{form}]//label[normalize-space()='{label}']"), label, value).await;
    }

    /// Types into the one field of the page labelled `label`.
    pub(crate) async fn fill_field(&self, label: &str, value: &str) {
        self.fill_labelled(&format!("//main//label[normalize-space()='{label}']"), label, value).await;
    }

    async fn fill_labelled(&self, xpath: &str, label: &str, value: &str) {
        let label_element = self
            .client
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("{}: no field {label:?}: {e}", self.name));
        let id = label_element.attr("for").await.unwrap().unwrap();
        let input = self.client.find(Locator::Id(&id)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    /// Logs in on the login page as a person would: the address, "Continue", then (no organization's
    /// provider signs that domain in) the password.
    pub(crate) async fn log_in(&self, email: &str, password: &str) {
        self.fill(1, "E-mail address", email).await;
        self.click("Continue").await;
        self.password_asked().await;
        self.fill(1, "Password", password).await;
        self.click("Log in").await;
    }

    /// Waits until the login page asks for the password.
    pub(crate) async fn password_asked(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(input) = self.client.find(Locator::Css("main input[name=password]")).await
                && input.is_displayed().await.unwrap_or(false)
            {
                return;
            }
            if Instant::now() > deadline {
                self.screenshot("timeout").await;
                panic!("{}: the password was never asked for:\n{}", self.name, self.text().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn click(&self, button: &str) {
        let xpath = format!("//main//button[normalize-space()='{button}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("{}: no button {button:?}: {e}", self.name))
            .click()
            .await
            .unwrap();
    }

    pub(crate) async fn screenshot(&self, what: &str) -> PathBuf {
        let directory = devstack::repo_root().join("target/browser");
        std::fs::create_dir_all(&directory).unwrap();
        let shot = self.shots.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let path = directory.join(format!("{}-{shot:02}-{what}.png", self.name));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// axe-core on the page as it is: no serious or critical violation.
    pub(crate) async fn accessible(&self) {
        static AXE: OnceLock<String> = OnceLock::new();
        let axe = AXE.get_or_init(|| {
            std::fs::read_to_string(devstack::repo_root().join("infra/node_modules/axe-core/axe.min.js"))
                .expect("axe-core is installed (npm ci in infra/)")
        });
        let script = format!(
            "{axe}\nconst done = arguments[arguments.length - 1];\naxe.run(document, {{resultTypes: ['violations']}}).then(r => done(r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html)}}))), e => done([{{id: 'axe-error', impact: 'critical', help: String(e)}}]));"
        );
        let violations = self.client.execute_async(&script, vec![]).await.unwrap();
        let serious: Vec<&Value> = violations
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(serious.is_empty(), "{}: accessibility violations: {serious:#?}", self.name);
    }

    /// The page fits the window's width (no sideways scrolling).
    pub(crate) async fn fits_width(&self) {
        let widths = self
            .client
            .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
            .await
            .unwrap();
        let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(scroll <= inner, "{}: the page is {scroll}px wide in a {inner}px window", self.name);
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Sends an invite to `email` from `auth` and returns the link mailed.
async fn invite_link(env: &TestEnv, auth: &Auth, email: &str) -> String {
    let sent = env.client(auth).send_invites(json!({"recipients": [email], "autoActivate": true})).await;
    assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
    let mail = mails_to(email).await.pop().expect("the invite mail");
    let token = invite_token(&mail);
    assert!(
        mail.text.contains(&format!("{}/invite/{token}", env.base_url)),
        "the mail links to this site: {}",
        mail.text
    );
    format!("{}/invite/{token}", env.base_url)
}

pub(crate) fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

#[tokio::test]
async fn a_new_person_follows_the_invite_link_signs_up_and_arrives_signed_in() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let email = address("ivy");
    let link = invite_link(&env, &owner.auth(), &email).await;
    let page = Page::open(&env, "invite-signup", DESKTOP).await;
    page.goto(&link).await;
    page.heading("Join Home Lab").await;
    page.shows("Ada Lovelace invited you to the organization Home Lab").await;
    page.accessible().await;
    let shot = page.screenshot("invite").await;
    std::fs::copy(&shot, devstack::repo_root().join("target/browser/invite-page.png")).unwrap();
    page.fill(1, "First name", "Ivy").await;
    page.fill(1, "Last name", "Newcomer").await;
    page.fill(1, "Password (8 characters or more)", PASSWORD).await;
    page.fill(1, "Password again", PASSWORD).await;
    page.click("Create account and join").await;
    page.heading("Ivy Newcomer").await;
    page.shows("Home Lab (current)").await;
    page.shows(&email).await;
    page.accessible().await;
    page.screenshot("home").await;
    page.close().await;
    // Signed in by the cookie the login set: the account is in the organization.
    let members = env.client(&owner.auth()).users("").await;
    assert!(members.body.as_array().unwrap().iter().any(|u| u["email"] == email.as_str() && u["isActive"] == true));
}

#[tokio::test]
async fn a_person_with_an_account_logs_in_on_the_invite_page_and_joins() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    let link = invite_link(&env, &owner.auth(), &elsewhere.email).await;
    let page = Page::open(&env, "invite-join", DESKTOP).await;
    page.goto(&link).await;
    page.heading("Join Home Lab").await;
    page.fill(2, "E-mail address", &elsewhere.email).await;
    page.fill(2, "Password", PASSWORD).await;
    page.click("Log in and join").await;
    page.heading("Ada Lovelace").await;
    page.shows("Home Lab (current)").await;
    page.shows("Switch to").await;
    page.screenshot("joined").await;
    page.close().await;
}

#[tokio::test]
async fn an_expired_or_revoked_invite_link_says_what_happened_and_whom_to_ask() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let email = address("late");
    let link = invite_link(&env, &owner.auth(), &email).await;
    let invite = env.scan().await.into_iter().find(|i| tests::text(i, "entity") == "Invite").unwrap();
    crate::invites::expire(&env, &tests::text(&invite, "PK"), &tests::text(&invite, "SK"), &email).await;
    let page = Page::open(&env, "invite-expired", PHONE).await;
    page.goto(&link).await;
    page.heading("This invitation cannot be used").await;
    page.shows("This invite has expired").await;
    page.shows("Ask the person who invited you").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("expired").await;
    page.goto("/invite/not-a-token").await;
    page.heading("This invitation cannot be used").await;
    page.shows("copied completely").await;
    page.close().await;
}

#[tokio::test]
async fn the_reset_flow_goes_from_the_mail_to_a_login_with_the_new_password() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let new_password = "a brand new horse battery";
    let page = Page::open(&env, "reset", PHONE).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.accessible().await;
    page.fits_width().await;
    page.client.find(Locator::LinkText("Forgot your password?")).await.unwrap().click().await.unwrap();
    page.heading("Reset your password").await;
    page.fill(1, "E-mail address", &owner.email).await;
    page.click("Send me a link").await;
    page.shows("a link to reset its password has been sent").await;
    page.accessible().await;
    let account = env.account_id(&owner.email).await;
    let token = link_token(&owner.email, "finishResetPassword?token=", &account).await.expect("the reset mail");
    page.goto(&format!("/auth/finishResetPassword?token={token}")).await;
    page.heading("Choose a new password").await;
    page.fill(1, "New password (8 characters or more)", new_password).await;
    page.fill(1, "New password again", new_password).await;
    page.click("Set password").await;
    page.heading("Password changed").await;
    page.screenshot("changed").await;
    page.client.find(Locator::LinkText("Log in")).await.unwrap().click().await.unwrap();
    page.heading("Log in").await;
    page.log_in(&owner.email, new_password).await;
    page.heading("Ada Lovelace").await;
    page.fits_width().await;
    page.screenshot("home-phone").await;
    page.close().await;
}

#[tokio::test]
async fn the_verification_link_changes_nothing_on_opening_and_verifies_when_its_account_confirms() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    assert_eq!(env.client(&owner.auth()).request_verification().await.status, 200);
    let key = link_token(&owner.email, "/verifyEmail/", &env.account_id(&owner.email).await).await.unwrap();
    let mail = mails_to(&owner.email).await.pop().unwrap();
    assert!(mail.text.contains(&format!("{}/verifyEmail/{key}", env.base_url)));
    // Opened without a session (a mail scanner, or someone else's mailbox): a form, and nothing changed.
    let page = Page::open(&env, "verify", PHONE).await;
    let before = env.scan().await;
    page.goto(&format!("/verifyEmail/{key}")).await;
    page.heading("Verify your e-mail address").await;
    page.shows("Give the password of the account that asked for this link").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("asks").await;
    assert_eq!(env.scan().await, before, "opening the link changed nothing");
    page.fill(1, "Password", "not the password").await;
    page.click("Verify my address").await;
    page.shows("This is not the password of the account the link is for").await;
    page.screenshot("wrong-password").await;
    assert_eq!(env.client(&owner.auth()).current_user().await.body["isEmailVerified"], false);
    page.fill(1, "Password", PASSWORD).await;
    page.click("Verify my address").await;
    page.heading("E-mail address verified").await;
    page.accessible().await;
    page.screenshot("verified").await;
    page.close().await;
    assert_eq!(env.client(&owner.auth()).current_user().await.body["isEmailVerified"], true);
}

/// What proves addresses and grants roles: the accounts, their verification links and the operator grants
/// (a page's reads also note the user's last activity, which is no proof of anything).
async fn proofs(env: &TestEnv) -> Vec<tests::Item> {
    let mut items = env.scan().await;
    items.retain(|item| {
        let entity = item.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str);
        matches!(entity, Some("Account" | "EmailVerification" | "OperatorGrant"))
    });
    items
}

/// The escalation of the third security round, as the mailbox's owner meets it: someone signs up with an
/// address the deployment lists as an operator's (moving an account onto it is refused), and the operator
/// opens the verification mail in a browser. Opening it verifies nothing, the operator's own login there
/// is another account's (refused), and even a verified listed address grants nothing: only a grant does.
#[tokio::test]
async fn opening_a_verification_mail_for_a_listed_operator_address_grants_nobody_anything() {
    let listed = format!("ops-{}@instance.test", &accounts::ids::new_object_id()[..10]);
    let env = TestEnv::for_pages_with({
        let listed = listed.clone();
        move |config| config.super_users.push(listed)
    })
    .await;
    // Moving an existing account onto the listed address is refused outright.
    let schemer = env.create_organization(&organization_name("Schemers")).await;
    let moved =
        env.patch_user(&schemer.user_id, json!({"email": listed, "currentPassword": PASSWORD}), &schemer.auth()).await;
    assert_eq!((moved.status, moved.error_code()), (403, "user.email.reserved"), "{:?}", moved.body);
    // Signing up with it is possible; the link goes to the operator's mailbox.
    let signed_up = env
        .client(&Auth::None)
        .create_organization_with_admin(tests::signup_form(&listed, &organization_name("Squatters")))
        .await;
    assert_eq!(signed_up.status, 200, "{:?}", signed_up.body);
    let squatter = Auth::Bearer(env.login(&listed, PASSWORD).await);
    assert_eq!(env.client(&squatter).request_verification().await.status, 200);
    let key = link_token(&listed, "/verifyEmail/", &env.account_id(&listed).await).await.expect("the mail");
    // The operator opens it, logged in to their own account in this browser.
    let operator = env.operator().await;
    let page = Page::open(&env, "operator-verify", DESKTOP).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.log_in(&operator.email, PASSWORD).await;
    page.heading("Ada Lovelace").await;
    let before = proofs(&env).await;
    page.goto(&format!("/verifyEmail/{key}")).await;
    page.heading("Verify your e-mail address").await;
    page.shows("You are logged in as").await;
    assert_eq!(proofs(&env).await, before, "opening the link changed nothing");
    page.click("Verify my address").await;
    page.shows("This link belongs to another account").await;
    page.accessible().await;
    page.screenshot("another-account").await;
    // Logged out, the page asks for the password of the account the link is for, which the operator
    // does not have (in this test every account's password is the same: the operator's own differs here).
    page.click("Log out and use another account").await;
    page.shows("Give the password of the account that asked for this link").await;
    page.fill(1, "Password", "the operator's own passphrase").await;
    page.click("Verify my address").await;
    page.shows("This is not the password of the account the link is for").await;
    page.screenshot("logged-out").await;
    page.close().await;
    assert_eq!(proofs(&env).await, before, "another account's confirmation changed nothing");
    let create = json!({"ownerEmail": "someone@example.org", "organizationName": organization_name("Grabbed")});
    let refused = env.client(&squatter).create_organization(create.clone()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "superUser.required"));
    // Even verified by its own account, the listed address is no operator's.
    env.verify_email(&listed, &squatter).await;
    let refused = env.client(&squatter).create_organization(create).await;
    assert_eq!((refused.status, refused.error_code()), (403, "superUser.required"));
}

#[tokio::test]
async fn the_home_page_logs_in_with_the_keyboard_alone_switches_organizations_shows_the_token_and_logs_out() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let other = env.create_organization("Second Lab").await;
    let link = invite_link(&env, &other.auth(), &owner.email).await;
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(env.client(&owner.auth()).join_organization(token).await.status, 200);
    let page = Page::open(&env, "home", DESKTOP).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    // The keyboard alone: focus the first field, type, Enter continues to the password (focused), type,
    // Enter submits.
    page.client.execute("document.querySelector('main input').focus()", vec![]).await.unwrap();
    let active = || async { page.client.active_element().await.unwrap() };
    active().await.send_keys(&owner.email).await.unwrap();
    active().await.send_keys(&String::from(char::from(Key::Enter))).await.unwrap();
    page.password_asked().await;
    active().await.send_keys(PASSWORD).await.unwrap();
    active().await.send_keys(&String::from(char::from(Key::Enter))).await.unwrap();
    page.heading("Ada Lovelace").await;
    page.shows("Home Lab (current)").await;
    page.accessible().await;
    page.click("Switch to Second Lab").await;
    page.shows("Second Lab (current)").await;
    let cookie = page.client.get_named_cookie("id").await.expect("the session cookie").value().to_owned();
    let me = env.client(&Auth::Cookie(cookie)).current_user().await.body;
    assert_eq!(me["organization"], other.organization.as_str(), "the page's session is in Second Lab now");
    page.click("Show token").await;
    page.shows("wkt.").await;
    let shown = page.text().await;
    let token = shown.split_whitespace().find(|w| w.starts_with("wkt.")).expect("the token is shown").to_owned();
    assert_eq!(env.client(&Auth::Token(token)).current_user().await.body["organization"], other.organization.as_str());
    page.screenshot("switched").await;
    // The password: a wrong current one is refused; then the new one is the one that logs in.
    let new_password = "a brand new horse battery";
    page.fill_field("Current password", "not the password").await;
    page.fill_field("New password", new_password).await;
    page.fill_field("New password again", new_password).await;
    page.click("Change password").await;
    page.shows("The current password is wrong").await;
    page.fill_field("Current password", PASSWORD).await;
    page.fill_field("New password", new_password).await;
    page.fill_field("New password again", new_password).await;
    page.click("Change password").await;
    page.shows("Your password is changed.").await;
    page.accessible().await;
    // Logging out on the page ends the session on the server, not only in this browser.
    let cookie = page.client.get_named_cookie("id").await.expect("the session cookie").value().to_owned();
    assert_eq!(env.client(&Auth::Cookie(cookie.clone())).current_user().await.status, 200);
    page.click("Log out").await;
    page.heading("Log in").await;
    assert_eq!(env.client(&Auth::Cookie(cookie)).current_user().await.status, 401, "the session ended");
    page.goto("/").await;
    page.heading("Log in").await;
    assert_ne!(env.client(&Auth::None).login(&owner.email, PASSWORD).await.status, 200, "the old password is gone");
    page.log_in(&owner.email, new_password).await;
    page.heading("Ada Lovelace").await;
    page.close().await;
}

#[tokio::test]
async fn names_from_people_are_shown_as_text_never_run() {
    let env = TestEnv::for_pages().await;
    let hostile = "<img src=x onerror=\"document.title='owned'\">";
    let email = address("mallory");
    let mut form = tests::signup_form(&email, hostile);
    form["firstName"] = json!("<b>Mal</b>");
    let created = env.client(&Auth::None).create_organization_with_admin(form).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let session = Auth::Bearer(env.login(&email, PASSWORD).await);
    let link = invite_link(&env, &session, &address("victim")).await;
    let page = Page::open(&env, "xss", DESKTOP).await;
    page.goto(&link).await;
    page.shows(&format!("<b>Mal</b> Lovelace invited you to the organization {hostile}")).await;
    let markup = page
        .client
        .execute("return [document.querySelectorAll('main img, main b').length, document.title];", vec![])
        .await
        .unwrap();
    assert_eq!(markup[0], 0, "no element was made from a name");
    assert_ne!(markup[1], "owned");
    page.screenshot("names-as-text").await;
    page.close().await;
}

#[tokio::test]
async fn every_page_is_served_with_its_security_headers() {
    let env = TestEnv::for_pages().await;
    for path in ["/", "/auth/login", "/invite/abc", "/verifyEmail/x", "/users", "/organization", "/no/such/page"] {
        let response = env.request_raw("GET", path, Vec::new(), &Auth::None).await;
        assert_eq!(response.status, if path == "/no/such/page" { 404 } else { 200 }, "{path}");
        let csp = response.header("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
    // The assets: named by content, cached for a year.
    let document = raw_text(&env, "/auth/login").await;
    let script = document.split("src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let response = env.request_raw("GET", &script, Vec::new(), &Auth::None).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert!(response.header("content-type").unwrap().starts_with("text/javascript"));
    // The API's unknown routes still answer JSON.
    let unknown = env.get("/api/no/such/route", &Auth::None).await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "route.notFound"));
}

async fn raw_text(env: &TestEnv, path: &str) -> String {
    use http_body_util::BodyExt;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<hyper::body::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let response = client.get(format!("{}{path}", env.base_url).parse().unwrap()).await.unwrap();
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn every_page_passes_axe_and_fits_a_phone() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let link = invite_link(&env, &owner.auth(), &address("axe")).await;
    let page = Page::open(&env, "every-page", PHONE).await;
    for (path, heading) in [
        ("/auth/login", "Log in"),
        ("/auth/signup", "Create an organization"),
        ("/auth/register", "Create an account"),
        ("/auth/resetPassword", "Reset your password"),
        ("/auth/finishResetPassword?token=x", "Choose a new password"),
        ("/verifyEmail/not-a-key", "Verify your e-mail address"),
        (link.as_str(), "Join Home Lab"),
        ("/no/such/page", "Page not found"),
    ] {
        page.goto(path).await;
        page.heading(heading).await;
        page.accessible().await;
        page.fits_width().await;
        page.screenshot(&heading.to_lowercase().replace(' ', "-")).await;
    }
    // Signed in (by the login page), the home page too; an error from the API is shown readably.
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.log_in(&owner.email, "not the password").await;
    page.shows("The e-mail address or the password is wrong").await;
    page.accessible().await;
    page.screenshot("login-error").await;
    page.fill(1, "Password", PASSWORD).await;
    page.click("Log in").await;
    page.heading("Ada Lovelace").await;
    page.accessible().await;
    page.fits_width().await;
    page.close().await;
}

/// The confirmation link of a notification address: opening it changes nothing; the mailbox confirms with
/// the button.
#[tokio::test]
async fn the_notification_link_confirms_only_when_its_mailbox_presses_the_button() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let listed = address("listed");
    let token = env.notification_token(&owner.auth(), &owner.organization, &listed).await;
    let mail = mails_to(&listed).await.pop().unwrap();
    assert!(mail.text.contains(&format!("{}/confirmNotifications/{token}", env.base_url)), "{}", mail.text);
    let page = Page::open(&env, "notifications", PHONE).await;
    let before = env.scan().await;
    page.goto(&format!("/confirmNotifications/{token}")).await;
    page.heading("Confirm notices to this address").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("asks").await;
    assert_eq!(env.scan().await, before, "opening the link changed nothing");
    page.click("Yes, send the notices here").await;
    page.heading("Notices confirmed").await;
    page.accessible().await;
    page.screenshot("confirmed").await;
    page.close().await;
    assert_ne!(env.scan().await, before, "confirmed");
}
