//! Single sign-on with the instance's OpenID provider, against a real one (npm `oidc-provider`, through its
//! own sign-in and consent forms): WEBKNOSSOS's two routes, with PKCE, a state bound to the browser and
//! used once, a nonce, and accounts found by the provider's (issuer, subject), never by an address the
//! provider has not verified.

use aws_sdk_dynamodb::types::AttributeValue;
use tests::answers::User;
use tests::sso::{session_of, trusted};
use tests::{Auth, PASSWORD, TestEnv, TestResponse, text};

/// The self-registration organization, with auto-verify on: new people are active at once.
async fn open_home(env: &TestEnv) -> tests::Owner {
    let owner = env.create_home_organization().await;
    let organization = accounts::model::Key::organization(tests::HOME_ORGANIZATION);
    env.set_attribute(&organization.pk, &organization.sk, "enableAutoVerify", AttributeValue::Bool(true)).await;
    owner
}

fn assert_refused(answer: &TestResponse, status: u16, code: &str) {
    assert!(answer.body.is_string(), "a page, not {}", answer.body);
    assert_eq!((answer.status, answer.error_code()), (status, code), "{:?}", answer.body);
    let cookies: Vec<&str> = answer.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(!cookies.iter().any(|c| c.starts_with("id=") && !c.starts_with("id=;")), "no session: {cookies:?}");
    assert_eq!(answer.header("content-security-policy").map(|p| p.contains("default-src 'none'")), Some(true));
}

#[tokio::test]
async fn the_login_route_answers_a_pkce_authorization_url_and_binds_the_state_to_the_browser() {
    let env = TestEnv::for_sso(|_| {}).await;
    let started = env.client(&Auth::None).oidc_login().await;
    assert_eq!(started.status, 200, "{}", started.body);
    let url = started.body["redirect_url"].as_str().unwrap();
    let issuer = env.app.config.oidc.as_ref().unwrap().issuer.clone();
    assert!(url.starts_with(&format!("{issuer}/auth?")), "{url}");
    for part in
        ["response_type=code", "code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "scope=openid"]
    {
        assert!(url.contains(part), "{part} in {url}");
    }
    let cookie = started.header("set-cookie").unwrap();
    for attribute in ["oidc_state=", "HttpOnly", "SameSite=Lax", "Path=/api/auth/oidc/callback", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let state = url.split("state=").nth(1).unwrap().split('&').next().unwrap();
    assert!(cookie.contains(&format!("oidc_state={state};")), "the cookie holds this sign-in's state");
    // Only the state's hash is stored, with its TTL.
    let stored: Vec<_> = env.scan().await.into_iter().filter(|i| text(i, "entity") == "OidcLogin").collect();
    assert_eq!(stored.len(), 1);
    assert!(!format!("{:?}", stored[0]).contains(state), "the state itself is not stored");
    assert!(stored[0].contains_key("expiresAt"));
}

#[tokio::test]
async fn without_a_connection_the_routes_say_single_sign_on_is_off() {
    let env = TestEnv::new().await;
    let refused = env.client(&Auth::None).oidc_login().await;
    assert_eq!((refused.status, refused.error_code()), (400, "sso.disabled"));
    let callback = env.client(&Auth::None).oidc_callback("code=x&state=y").await;
    // Organizations may have their own connections: a stray callback is one this browser did not start.
    assert_refused(&callback, 400, "sso.state.mismatch");
}

#[tokio::test]
async fn a_first_sign_in_creates_the_member_and_the_next_one_signs_the_same_account_in() {
    let env = TestEnv::for_sso(|_| {}).await;
    let owner = open_home(&env).await;
    let (first, _) = env.sign_in_with_provider("ada").await;
    assert_eq!((first.status, first.header("location")), (302, Some("/")), "{:?}", first.body);
    let session = session_of(&first);
    let ada = env.client(&session).current_user().await.json::<User>();
    assert_eq!(
        (ada.email.as_str(), ada.first_name.as_str(), ada.last_name.as_str()),
        ("ada@uni.example", "Ada", "Lovelace")
    );
    assert!(ada.is_email_verified, "the provider verified the address");
    assert_eq!(ada.organization, owner.organization);
    let (second, _) = env.sign_in_with_provider("ada").await;
    assert_eq!(second.status, 302, "{:?}", second.body);
    let again = env.client(&session_of(&second)).current_user().await.json::<User>();
    assert_eq!(again.id, ada.id, "the same account, found by its link");
    let items = env.scan().await;
    let accounts = items.iter().filter(|i| text(i, "entity") == "Account").count();
    assert_eq!(accounts, 2, "the owner's and Ada's");
    // Her sessions know she signed in with her institution (what an organization requiring more than a
    // password of its admins accepts), the owner's that it was a password.
    let methods: Vec<(String, String)> = items
        .iter()
        .filter(|i| text(i, "entity") == "Session")
        .map(|i| (text(i, "userId"), text(i, "signedInWith")))
        .collect();
    assert_eq!(
        methods.iter().filter(|(user, method)| *user == ada.id && method == "singleSignOn").count(),
        2,
        "{methods:?}"
    );
    assert!(methods.iter().any(|(user, method)| *user == owner.user_id && method == "password"), "{methods:?}");
    // No password was set: a password login of the address fails like a wrong one.
    for attempt in ["", "anything at all"] {
        let login = env.client(&Auth::None).login("ada@uni.example", attempt).await;
        assert_eq!((login.status, login.error_code()), (401, "auth.invalidCredentials"), "{attempt:?}");
    }
}

#[tokio::test]
async fn where_admins_activate_new_people_a_first_sign_in_waits_for_them() {
    let env = TestEnv::for_sso(|_| {}).await;
    let owner = env.create_home_organization().await;
    let (pending, _) = env.sign_in_with_provider("ada").await;
    assert_refused(&pending, 403, "user.deactivated");
    let users = env.client(&owner.auth()).users("isActive=false").await.json::<Vec<User>>();
    let ada = users.iter().find(|u| u.email == "ada@uni.example").expect("Ada waits for activation");
    assert!(ada.is_email_verified);
    let activated = env.client(&owner.auth()).update_user(&ada.id, serde_json::json!({"isActive": true})).await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    let (signed_in, _) = env.sign_in_with_provider("ada").await;
    assert_eq!(signed_in.status, 302, "{:?}", signed_in.body);
}

#[tokio::test]
async fn an_address_the_provider_has_not_verified_signs_nobody_in() {
    let env = TestEnv::for_sso(trusted).await;
    env.create_home_organization().await;
    let before = env.scan().await.len();
    let (refused, _) = env.sign_in_with_provider("eve").await;
    assert_refused(&refused, 403, "sso.email.notVerified");
    assert_eq!(env.scan().await.len(), before, "nothing was created");
}

#[tokio::test]
async fn an_existing_account_is_linked_only_when_the_connection_is_trusted() {
    let untrusted = TestEnv::for_sso(|_| {}).await;
    untrusted.home_organization_for("grace@uni.example").await;
    let (refused, _) = untrusted.sign_in_with_provider("grace").await;
    assert_refused(&refused, 403, "sso.link.required");
    let links = untrusted.scan().await.into_iter().filter(|i| text(i, "entity") == "ProviderLink").count();
    assert_eq!(links, 0, "not linked by address");

    let trusted = TestEnv::for_sso(trusted).await;
    let grace = trusted.home_organization_for("grace@uni.example").await;
    let (signed_in, _) = trusted.sign_in_with_provider("grace").await;
    assert_eq!(signed_in.status, 302, "{:?}", signed_in.body);
    let user = trusted.client(&session_of(&signed_in)).current_user().await.json::<User>();
    assert_eq!(user.id, grace.user_id, "the existing account, now linked");
    let (again, _) = trusted.sign_in_with_provider("grace").await;
    assert_eq!(again.status, 302);
    assert_eq!(trusted.client(&Auth::None).login(&grace.email, PASSWORD).await.status, 200, "the password still works");
}

#[tokio::test]
async fn a_signed_in_person_links_the_institution_and_then_signs_in_with_it() {
    let env = TestEnv::for_sso(|_| {}).await;
    let grace = env.home_organization_for("grace@uni.example").await;
    let (refused, _) = env.sign_in_with_provider("grace").await;
    assert_refused(&refused, 403, "sso.link.required");
    // Linking needs a signed-in caller.
    let anonymous = env.client(&Auth::None).link_provider().await;
    assert_eq!((anonymous.status, anonymous.error_code()), (401, "auth.required"));
    let back = env.link_callback(&grace.auth(), "grace").await;
    let linked = env.finish_sign_in(&back.url, Some(&back.state_cookie)).await;
    assert_eq!(linked.status, 302, "{:?}", linked.body);
    let entry = env
        .client(&grace.auth())
        .audit_log("action=auth.login")
        .await
        .json::<Vec<tests::answers::AuditEntry>>()
        .into_iter()
        .find(|e| e.change["linked"] == true)
        .expect("the linking sign-in is in the log");
    assert_eq!(entry.change["provider"], env.app.config.oidc.as_ref().unwrap().issuer.as_str());
    let (signed_in, _) = env.sign_in_with_provider("grace").await;
    assert_eq!(signed_in.status, 302, "{:?}", signed_in.body);
    let user = env.client(&session_of(&signed_in)).current_user().await.json::<User>();
    assert_eq!(user.id, grace.user_id, "the linked account");
    // Linking again changes nothing.
    let again = env.link_callback(&grace.auth(), "grace").await;
    assert_eq!(env.finish_sign_in(&again.url, Some(&again.state_cookie)).await.status, 302);
    let links = env.scan().await.into_iter().filter(|i| text(i, "entity") == "ProviderLink").count();
    assert_eq!(links, 1);
}

#[tokio::test]
async fn a_person_linked_to_one_account_cannot_be_linked_to_another() {
    let env = TestEnv::for_sso(|_| {}).await;
    open_home(&env).await;
    // Ada's first sign-in made her account, linked to the provider's "ada".
    let (first, _) = env.sign_in_with_provider("ada").await;
    assert_eq!(first.status, 302, "{:?}", first.body);
    let other = env.create_organization(&tests::organization_name("Other")).await;
    let back = env.link_callback(&other.auth(), "ada").await;
    let refused = env.finish_sign_in(&back.url, Some(&back.state_cookie)).await;
    assert_refused(&refused, 409, "sso.link.otherAccount");
    let (ada, _) = env.sign_in_with_provider("ada").await;
    let user = env.client(&session_of(&ada)).current_user().await.json::<User>();
    assert_eq!(user.email, "ada@uni.example", "still Ada's own account");
}

#[tokio::test]
async fn forged_replayed_and_foreign_callbacks_sign_nobody_in() {
    let env = TestEnv::for_sso(|_| {}).await;
    open_home(&env).await;
    // Without code and state; with a state this browser did not start.
    assert_refused(&env.client(&Auth::None).oidc_callback("").await, 400, "sso.callback.invalid");
    let back = env.provider_callback("ada").await;
    let foreign = env.finish_sign_in(&back.url, Some("someone-elses-state")).await;
    assert_refused(&foreign, 400, "sso.state.mismatch");
    assert_refused(&env.finish_sign_in(&back.url, None).await, 400, "sso.state.mismatch");
    // The right browser finishes it once; the same answer again is refused.
    let finished = env.finish_sign_in(&back.url, Some(&back.state_cookie)).await;
    assert_eq!(finished.status, 302, "{:?}", finished.body);
    let replayed = env.finish_sign_in(&back.url, Some(&back.state_cookie)).await;
    assert_refused(&replayed, 400, "sso.state.invalid");
    // A code that does not belong to the stored sign-in (another sign-in's verifier) is refused by the
    // provider.
    let first = env.provider_callback("ada").await;
    let second = env.provider_callback("ada").await;
    let code = |url: &str| url.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let state = |url: &str| url.split("state=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let swapped =
        format!("{}/api/auth/oidc/callback?code={}&state={}", env.base_url, code(&first.url), state(&second.url));
    let refused = env.finish_sign_in(&swapped, Some(&second.state_cookie)).await;
    assert_refused(&refused, 400, "sso.provider.refused");
    // The provider's own refusal lands on the page too, and uses the sign-in up.
    let third = env.provider_callback("ada").await;
    let denied = format!("{}/api/auth/oidc/callback?error=access_denied&state={}", env.base_url, state(&third.url));
    assert_refused(&env.finish_sign_in(&denied, Some(&third.state_cookie)).await, 400, "sso.provider.refused");
    // Words put into a callback address are not shown under this site's name.
    let phishing = format!(
        "{}/api/auth/oidc/callback?error=Call%20us%20at%20555&error_description=Your%20account%20is%20locked",
        env.base_url
    );
    let shown = env.finish_sign_in(&phishing, None).await;
    assert_refused(&shown, 400, "sso.provider.refused");
    let page = shown.body.as_str().unwrap();
    assert!(!page.contains("Call us") && !page.contains("locked"), "{page}");
    assert_refused(&env.finish_sign_in(&third.url, Some(&third.state_cookie)).await, 400, "sso.state.invalid");
    // Someone else's forged refusal (without this browser's cookie) does not use up its sign-in.
    let fourth = env.provider_callback("ada").await;
    let forged = format!("{}/api/auth/oidc/callback?error=access_denied&state={}", env.base_url, state(&fourth.url));
    assert_refused(&env.finish_sign_in(&forged, None).await, 400, "sso.provider.refused");
    assert_eq!(env.finish_sign_in(&fourth.url, Some(&fourth.state_cookie)).await.status, 302);
}

#[tokio::test]
async fn without_a_self_registration_organization_new_people_are_told_to_ask_for_an_invite() {
    let closed = TestEnv::for_sso(|config| config.self_registration_organization = None).await;
    let (refused, _) = closed.sign_in_with_provider("mallory").await;
    assert_refused(&refused, 403, "sso.registration.disabled");
}

/// The provider's pages in the browser: its sign-in form (as `login`, any password), then its consent.
pub(crate) async fn provider_forms(page: &crate::browser::Page, login: &str) {
    use fantoccini::Locator;
    let find = |css: &'static str| {
        let client = page.client.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                if let Ok(element) = client.find(Locator::Css(css)).await {
                    return element;
                }
                assert!(std::time::Instant::now() < deadline, "the provider never showed {css}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    find("input[name=login]").await.send_keys(login).await.unwrap();
    find("input[name=password]").await.send_keys("any password").await.unwrap();
    find("button[type=submit]").await.click().await.unwrap();
    find("input[value=consent]").await;
    find("button[type=submit]").await.click().await.unwrap();
}

/// In Chromium: the login page offers the institution's sign-in, the provider's own forms sign Ada in,
/// and the browser comes back signed in (the state cookie survives the round trip, SameSite=Lax).
#[tokio::test]
async fn a_person_signs_in_with_the_institution_in_a_browser() {
    use crate::browser::{PHONE, Page};
    let env = TestEnv::for_sso(|_| {}).await;
    open_home(&env).await;
    let page = Page::open(&env, "sso", PHONE).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("login-with-institution").await;
    page.click("Sign in with your institution").await;
    provider_forms(&page, "ada").await;
    page.heading("Ada Lovelace").await;
    page.screenshot("signed-in").await;
    // A callback address opened without a sign-in: the page says what went wrong, readably on a phone.
    page.goto("/api/auth/oidc/callback?code=stolen&state=guessed").await;
    page.heading("Sign-in did not work").await;
    page.shows("This sign-in did not start in this browser").await;
    page.fits_width().await;
    page.screenshot("failed").await;
    page.close().await;
}

/// In Chromium: Grace signs in with her password, links her institution's sign-in from the home page
/// through the provider's forms, and from then on signs in with it.
#[tokio::test]
async fn a_person_links_the_institution_from_the_home_page_in_a_browser() {
    use crate::browser::{DESKTOP, Page};
    let env = TestEnv::for_sso(|_| {}).await;
    let grace = env.home_organization_for("grace@uni.example").await;
    let page = Page::open(&env, "sso-link", DESKTOP).await;
    page.goto("/auth/login").await;
    page.log_in(&grace.email, PASSWORD).await;
    page.heading("Ada Lovelace").await;
    page.shows("Your institution's sign-in").await;
    page.accessible().await;
    page.screenshot("home-with-link").await;
    page.click("Link your institution").await;
    provider_forms(&page, "grace").await;
    page.heading("Ada Lovelace").await;
    let (signed_in, _) = env.sign_in_with_provider("grace").await;
    assert_eq!(signed_in.status, 302, "linked: {:?}", signed_in.body);
    page.close().await;
}
