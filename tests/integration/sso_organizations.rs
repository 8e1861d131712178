//! Organizations' own single sign-on, against the local OpenID provider: connections their admins
//! configure (a confidential client whose secret is sealed and never shown), domains proven by a DNS TXT
//! record (the tests' resolver), home-realm discovery, just-in-time membership, "require single sign-on"
//! with the admins' password fallback, and an account's links listed and removed.

use serde_json::json;
use tests::answers::{AuditEntry, User};
use tests::sso::session_of;
use tests::{Auth, PASSWORD, TestEnv, TestResponse, text};

/// A test env whose only connections are organizations' own.
async fn env() -> TestEnv {
    TestEnv::for_sso(|config| config.oidc = None).await
}

fn assert_refused(answer: &TestResponse, status: u16, code: &str) {
    assert_eq!((answer.status, answer.error_code()), (status, code), "{:?}", answer.body);
    let cookies: Vec<&str> = answer.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(!cookies.iter().any(|c| c.starts_with("id=") && !c.starts_with("id=;")), "no session: {cookies:?}");
}

fn entities(items: &[tests::Item], entity: &str) -> usize {
    items.iter().filter(|i| text(i, "entity") == entity).count()
}

#[tokio::test]
async fn an_admin_configures_a_connection_whose_secret_is_neither_shown_nor_stored_in_plain_text() {
    let env = env().await;
    let owner = env.create_organization(&tests::organization_name("Lab")).await;
    let admin = || env.client(&owner.auth());
    let empty = admin().sso_settings(&owner.organization).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["connection"], json!(null));
    assert_eq!(empty.body["callbackUrl"], format!("{}/api/auth/oidc/callback", env.app.config.public_uri));
    let secret = env.organization_connection(&owner, "pending", None).await;
    let settings = admin().sso_settings(&owner.organization).await.body;
    assert_eq!(settings["connection"]["hasClientSecret"], true);
    assert_eq!(settings["connection"]["joinPolicy"], "pending");
    assert!(!settings.to_string().contains("Secret\":\""), "{settings}");
    let items = env.scan().await;
    let stored = items.iter().find(|i| text(i, "entity") == "SsoConnection").expect("stored");
    let sealed = text(stored, "sealedClientSecret");
    assert!(sealed.len() > 40, "sealed: {sealed}");
    // The provider's secret appears nowhere in the table (the audit entry included), nor in the answers.
    assert!(!format!("{items:?}").contains(&secret));
    assert!(!settings.to_string().contains(&secret));
    let entry =
        admin().audit_log("action=sso.connectionChanged").await.json::<Vec<AuditEntry>>().pop().expect("audited");
    assert_eq!(entry.change["clientSecret"], "set");
    // Without clientSecret the secret is kept; null removes it.
    let issuer = settings["connection"]["issuer"].as_str().unwrap().to_owned();
    let client_id = settings["connection"]["clientId"].as_str().unwrap().to_owned();
    let kept = admin()
        .put_sso_connection(
            &owner.organization,
            json!({"issuer": issuer, "clientId": client_id, "joinPolicy": "active"}),
        )
        .await;
    assert_eq!((kept.status, &kept.body["hasClientSecret"]), (200, &json!(true)), "{}", kept.body);
    let removed = admin()
        .put_sso_connection(
            &owner.organization,
            json!({"issuer": issuer, "clientId": client_id, "clientSecret": null, "joinPolicy": "active"}),
        )
        .await;
    assert_eq!(removed.body["hasClientSecret"], false, "{}", removed.body);
    // Bad input, a provider that does not answer, and other callers.
    let put = |body| admin().put_sso_connection(&owner.organization, body);
    for (body, code) in [
        (json!({"issuer": "http://idp.example", "clientId": "c", "joinPolicy": "closed"}), "sso.issuer.invalid"),
        (json!({"issuer": "https://idp.example?x=1", "clientId": "c", "joinPolicy": "closed"}), "sso.issuer.invalid"),
        (json!({"issuer": issuer, "clientId": " ", "joinPolicy": "closed"}), "sso.clientId.invalid"),
        (json!({"issuer": issuer, "clientId": "c", "joinPolicy": "sometimes"}), "request.body.invalid"),
        (json!({"issuer": "http://127.0.0.1:9", "clientId": "c", "joinPolicy": "closed"}), "sso.provider.unusable"),
    ] {
        let refused = put(body.clone()).await;
        assert_eq!((refused.status, refused.error_code()), (400, code), "{body}: {}", refused.body);
    }
    let member = env.member_of(&owner).await;
    let forbidden = env.client(&member).sso_settings(&owner.organization).await;
    assert_eq!((forbidden.status, forbidden.error_code()), (403, "sso.notAllowed"));
    let other = env.create_organization(&tests::organization_name("Other")).await;
    let hidden = env.client(&other.auth()).sso_settings(&owner.organization).await;
    assert_eq!((hidden.status, hidden.error_code()), (404, "organization.notFound"));
    // Removing the connection.
    assert_eq!(admin().delete_sso_connection(&owner.organization).await.status, 200);
    let gone = admin().delete_sso_connection(&owner.organization).await;
    assert_eq!((gone.status, gone.error_code()), (404, "sso.connection.notFound"));
    assert_eq!(entities(&env.scan().await, "SsoConnection"), 0);
}

#[tokio::test]
async fn a_domain_is_verified_by_its_txt_record_and_belongs_to_one_organization() {
    let env = env().await;
    let lab = env.create_organization(&tests::organization_name("Lab")).await;
    let rival = env.create_organization(&tests::organization_name("Rival")).await;
    let domain = format!("lab-{}.example", tests::unique_suffix());
    let claimed =
        env.client(&lab.auth()).claim_domain(&lab.organization, &format!(" {} ", domain.to_uppercase())).await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    assert_eq!((claimed.body["domain"].as_str(), &claimed.body["verified"]), (Some(domain.as_str()), &json!(false)));
    let record = claimed.body["dnsRecord"].clone();
    assert_eq!(record["name"], format!("_webknossos-verification.{domain}"));
    assert!(record["value"].as_str().unwrap().starts_with("webknossos-verification="));
    // Not published yet; published with another value; then published.
    let missing = env.client(&lab.auth()).verify_domain(&lab.organization, &domain).await;
    assert_eq!((missing.status, missing.error_code()), (400, "sso.domain.recordMissing"), "{}", missing.body);
    tests::dns::publish(record["name"].as_str().unwrap(), "webknossos-verification=someone-elses");
    let wrong = env.client(&lab.auth()).verify_domain(&lab.organization, &domain).await;
    assert_eq!(wrong.error_code(), "sso.domain.recordMissing");
    // Both organizations may claim it while it is pending; the rival's record never appears.
    let rival_claim = env.client(&rival.auth()).claim_domain(&rival.organization, &domain).await;
    assert_eq!(rival_claim.status, 200, "{}", rival_claim.body);
    tests::dns::publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
    let verified = env.client(&lab.auth()).verify_domain(&lab.organization, &domain).await;
    assert_eq!((verified.status, &verified.body["verified"]), (200, &json!(true)), "{}", verified.body);
    assert!(verified.body["verifiedAt"].is_i64());
    // Once verified it is the lab's: the rival can neither verify nor claim it.
    tests::dns::publish(
        rival_claim.body["dnsRecord"]["name"].as_str().unwrap(),
        rival_claim.body["dnsRecord"]["value"].as_str().unwrap(),
    );
    let taken = env.client(&rival.auth()).verify_domain(&rival.organization, &domain).await;
    assert_eq!((taken.status, taken.error_code()), (409, "sso.domain.taken"), "{}", taken.body);
    let again = env.client(&lab.auth()).claim_domain(&lab.organization, &domain).await;
    assert_eq!((again.status, again.error_code()), (409, "sso.domain.claimed"));
    assert_eq!(env.client(&rival.auth()).remove_domain(&rival.organization, &domain).await.status, 200);
    let refused = env.client(&rival.auth()).claim_domain(&rival.organization, &domain).await;
    assert_eq!((refused.status, refused.error_code()), (409, "sso.domain.taken"));
    // Bad names; a domain not claimed.
    for bad in ["localhost", "uni..example", "-x.example", "a b.example", "1.2.3.4"] {
        let refused = env.client(&lab.auth()).claim_domain(&lab.organization, bad).await;
        assert_eq!((refused.status, refused.error_code()), (400, "sso.domain.invalid"), "{bad}");
    }
    let unknown = env.client(&lab.auth()).verify_domain(&lab.organization, "nowhere.example").await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "sso.domain.notFound"));
    // Removed, the domain is free again, and each step is in the log.
    assert_eq!(env.client(&lab.auth()).remove_domain(&lab.organization, &domain).await.status, 200);
    assert_eq!(env.client(&rival.auth()).claim_domain(&rival.organization, &domain).await.status, 200);
    let log = env.client(&lab.auth()).audit_log("action=sso.").await.json::<Vec<AuditEntry>>();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["sso.domainRemoved", "sso.domainVerified", "sso.domainClaimed"]);
}

#[tokio::test]
async fn home_realm_discovery_sends_the_domain_to_its_organization_and_new_people_join_it() {
    let env = env().await;
    let lab = env.create_organization(&tests::organization_name("Uni Lab")).await;
    env.organization_connection(&lab, "active", Some("uni.example")).await;
    // An address of another domain has no provider here.
    let unknown = env.client(&Auth::None).oidc_login_with("email=someone@elsewhere.example").await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "sso.domain.unknown"), "{}", unknown.body);
    let no_connection = env.client(&Auth::None).oidc_login_with("organization=no-such-lab").await;
    assert_eq!((no_connection.status, no_connection.error_code()), (404, "sso.connection.notFound"));
    // Grace has no account: her first sign-in makes her an active member of the lab, in its Default team.
    let first = env.sign_in_via("email=Grace%40Uni.Example", "grace").await;
    assert_eq!((first.status, first.header("location")), (302, Some("/")), "{:?}", first.body);
    let grace = env.client(&session_of(&first)).current_user().await.json::<User>();
    assert_eq!((grace.email.as_str(), grace.organization.as_str()), ("grace@uni.example", lab.organization.as_str()));
    assert!(grace.is_active && grace.is_email_verified && !grace.is_admin);
    assert_eq!(grace.teams.len(), 1, "the Default team");
    let again = env.sign_in_via(&format!("organization={}", lab.organization), "grace").await;
    assert_eq!(again.status, 302, "{:?}", again.body);
    let same = env.client(&session_of(&again)).current_user().await.json::<User>();
    assert_eq!(same.id, grace.id, "found by her link");
    let log = env.client(&lab.auth()).audit_log("action=auth.login").await.json::<Vec<AuditEntry>>();
    assert_eq!(log[0].change["organizationConnection"], lab.organization.as_str());
}

#[tokio::test]
async fn an_organizations_provider_signs_in_only_addresses_of_domains_the_organization_verified() {
    let env = env().await;
    let lab = env.create_organization(&tests::organization_name("Lab")).await;
    env.organization_connection(&lab, "active", Some("uni.example")).await;
    let organization = format!("organization={}", lab.organization);
    // Mallory's address is at elsewhere.example, which the lab did not verify: no account is made.
    let before = env.scan().await.len();
    assert_refused(&env.sign_in_via(&organization, "mallory").await, 403, "sso.domain.notVerified");
    // Eve's address is at the verified domain, but the provider has not verified it.
    assert_refused(&env.sign_in_via(&organization, "eve").await, 403, "sso.email.notVerified");
    assert_eq!(env.scan().await.len(), before, "nothing was made");
    // An account of an unverified domain is not taken over by the address the provider asserts.
    let mallory = env.home_organization_for("mallory@elsewhere.example").await;
    assert_refused(&env.sign_in_via(&organization, "mallory").await, 403, "sso.link.required");
    // An account at the verified domain is linked and signed in, wherever it is a member.
    let ada = env.create_organization_for_email("ada@uni.example").await;
    let signed_in = env.sign_in_via(&organization, "ada").await;
    assert_eq!(signed_in.status, 302, "{:?}", signed_in.body);
    let user = env.client(&session_of(&signed_in)).current_user().await.json::<User>();
    assert_eq!(user.id, ada.user_id, "her existing account");
    assert_eq!(env.client(&Auth::None).login(&mallory.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_closed_organization_admits_nobody_new_and_a_pending_one_waits_for_its_admins() {
    let env = env().await;
    let closed = env.create_organization(&tests::organization_name("Closed")).await;
    env.organization_connection(&closed, "closed", Some("uni.example")).await;
    let refused = env.sign_in_via("email=ada@uni.example", "ada").await;
    assert_refused(&refused, 403, "sso.registration.closed");
    let pending_env = self::env().await;
    let pending = pending_env.create_organization(&tests::organization_name("Pending")).await;
    pending_env.organization_connection(&pending, "pending", Some("uni.example")).await;
    let waiting = pending_env.sign_in_via("email=ada@uni.example", "ada").await;
    assert_refused(&waiting, 403, "user.deactivated");
    let users = pending_env.client(&pending.auth()).users("isActive=false").await.json::<Vec<User>>();
    assert!(users.iter().any(|u| u.email == "ada@uni.example"), "Ada waits for activation");
}

/// A sign-in with the first passkey of `device`: the answer of auth/finalize.
async fn passkey_sign_in(env: &TestEnv, device: &mut tests::authenticator::Authenticator) -> TestResponse {
    let options = env.client(&Auth::None).passkey_auth_start().await.body;
    env.client(&Auth::None).passkey_auth_finalize(device.get(&options, 0)).await
}

#[tokio::test]
async fn required_single_sign_on_refuses_passwords_of_the_domain_but_not_the_admins() {
    let env = env().await;
    let lab = env.create_organization_for_email("owner@uni.example").await;
    env.organization_connection(&lab, "active", Some("uni.example")).await;
    let grace = env.invited_member(&lab, "grace@uni.example").await;
    let outsider = env.create_organization_for_email("ada@uni.example").await;
    assert_eq!(env.client(&Auth::None).login("grace@uni.example", PASSWORD).await.status, 200);
    // Grace and the lab's admin each hold a passkey from before.
    let mut devices = Vec::new();
    for auth in [Auth::Bearer(env.login("grace@uni.example", PASSWORD).await), lab.auth()] {
        let mut device = tests::authenticator::Authenticator::new(&env.app.config.public_uri);
        let options = env.client(&auth).passkey_register_start().await.body;
        let added = env.client(&auth).passkey_register_finalize("Laptop", device.create(&options)).await;
        assert_eq!(added.status, 200, "{}", added.body);
        devices.push(device);
    }

    // Only a verified domain can require it.
    let unverified = env.client(&lab.auth()).claim_domain(&lab.organization, "pending.example").await;
    assert_eq!(unverified.status, 200);
    let refused = env.client(&lab.auth()).require_sso(&lab.organization, "pending.example", true).await;
    assert_eq!((refused.status, refused.error_code()), (400, "sso.domain.notVerified"));
    let required = env.client(&lab.auth()).require_sso(&lab.organization, "uni.example", true).await;
    assert_eq!((required.status, &required.body["requireSso"]), (200, &json!(true)), "{}", required.body);
    // Grace (a member) and Ada (of another organization) are sent to the provider; a wrong password
    // still answers as a wrong password.
    for email in ["grace@uni.example", "ada@uni.example"] {
        let login = env.client(&Auth::None).login(email, PASSWORD).await;
        assert_eq!((login.status, login.error_code()), (403, "auth.sso.required"), "{email}: {}", login.body);
        assert!(login.body.to_string().contains("uni.example"));
        let wrong = env.client(&Auth::None).login(email, "not the password").await;
        assert_eq!(wrong.error_code(), "auth.invalidCredentials");
    }
    // Nor does a passkey sign Grace in around the provider.
    let passkey = passkey_sign_in(&env, &mut devices[0]).await;
    assert_eq!((passkey.status, passkey.error_code()), (403, "auth.sso.required"), "{}", passkey.body);
    // The lab's admin keeps the password and passkeys, so a broken provider cannot lock the lab out.
    assert_eq!(env.client(&Auth::None).login(&lab.email, PASSWORD).await.status, 200);
    assert_eq!(passkey_sign_in(&env, &mut devices[1]).await.status, 200);
    // Grace signs in with the provider instead.
    let signed_in = env.sign_in_via("email=grace@uni.example", "grace").await;
    assert_eq!(signed_in.status, 302, "{:?}", signed_in.body);
    assert_eq!(env.client(&session_of(&signed_in)).current_user().await.json::<User>().id, grace);
    // Lifted, passwords work again.
    assert_eq!(env.client(&lab.auth()).require_sso(&lab.organization, "uni.example", false).await.status, 200);
    assert_eq!(env.client(&Auth::None).login(&outsider.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_account_lists_its_links_and_removes_one() {
    let env = env().await;
    let lab = env.create_organization_for_email("owner@uni.example").await;
    env.organization_connection(&lab, "active", None).await;
    let empty = env.client(&lab.auth()).provider_links().await;
    assert_eq!((empty.status, &empty.body), (200, &json!([])));
    // The admin links the lab's provider (the tab's test button does this).
    let started =
        env.client(&lab.auth()).oidc_login_with(&format!("organization={}&link=true", lab.organization)).await;
    let back = env.through_provider(started, "ada").await;
    assert_eq!(env.finish_sign_in(&back.url, Some(&back.state_cookie)).await.status, 302);
    let links = env.client(&lab.auth()).provider_links().await.body;
    assert_eq!(links.as_array().unwrap().len(), 1, "{links}");
    assert_eq!(links[0]["email"], "ada@uni.example");
    let link_id = links[0]["id"].as_str().unwrap().to_owned();
    // Another account cannot remove it.
    let other = env.create_organization(&tests::organization_name("Other")).await;
    let foreign = env.client(&other.auth()).unlink_provider(&link_id).await;
    assert_eq!((foreign.status, foreign.error_code()), (404, "sso.link.notFound"));
    let removed = env.client(&lab.auth()).unlink_provider(&link_id).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(env.client(&lab.auth()).provider_links().await.body, json!([]));
    let items = env.scan().await;
    assert_eq!((entities(&items, "ProviderLink"), entities(&items, "AccountLink")), (0, 0));
    let log = env.client(&lab.auth()).audit_log("action=auth.providerUnlinked").await.json::<Vec<AuditEntry>>();
    assert_eq!(log.len(), 1);
    // Unlinked, the provider's Ada no longer signs the owner in (no verified domain: she must link again).
    let refused = env.sign_in_via(&format!("organization={}", lab.organization), "ada").await;
    assert_refused(&refused, 403, "sso.domain.notVerified");
}

#[tokio::test]
async fn a_deleted_organization_gives_its_domains_up_and_its_members_links_go_with_their_accounts() {
    let env = env().await;
    let lab = env.create_organization(&tests::organization_name("Doomed")).await;
    env.organization_connection(&lab, "active", Some("uni.example")).await;
    let signed_in = env.sign_in_via("email=grace@uni.example", "grace").await;
    assert_eq!(signed_in.status, 302, "{:?}", signed_in.body);
    let name = env.client(&lab.auth()).organization(&lab.organization).await.body["name"].as_str().unwrap().to_owned();
    let deleted = env.client(&lab.auth()).delete_organization(&lab.organization, &name).await;
    assert_eq!((deleted.status, &deleted.body["purgeComplete"]), (200, &json!(true)), "{}", deleted.body);
    let items = env.scan().await;
    for entity in ["VerifiedDomain", "DomainClaim", "SsoConnection", "ProviderLink", "AccountLink"] {
        assert_eq!(entities(&items, entity), 0, "{entity}");
    }
    let next = env.create_organization(&tests::organization_name("Next")).await;
    env.verified_domain(&next, "uni.example").await;
}

/// In Chromium: an admin sets the organization's provider and domain up on the Organization page's
/// Single sign-on tab; a person of the domain then types only her address on the login page, signs in at
/// the provider's own forms, comes back as a new member, and unlinks the provider on her home page.
#[tokio::test]
async fn an_admin_sets_single_sign_on_up_and_a_person_of_the_domain_signs_in_by_her_address_in_a_browser() {
    use crate::browser::{DESKTOP, PHONE, Page};
    let env = env().await;
    let lab = env.create_organization(&tests::organization_name("Uni Lab")).await;
    let issuer = tokio::task::spawn_blocking(tests::sso::provider_issuer).await.unwrap();
    let redirect_uri = accounts::domain::sso::redirect_uri(&env.app.config.public_uri);
    let (client_id, secret) = devstack::oidc::register_confidential_client(&issuer, &redirect_uri).await.unwrap();
    let page = Page::open(&env, "sso-organization", DESKTOP).await;
    page.goto("/auth/login").await;
    page.log_in(&lab.email, PASSWORD).await;
    page.heading("Ada Lovelace").await;
    page.goto("/organization").await;
    page.heading("Organization").await;
    page.click("Single sign-on").await;
    page.shows(&redirect_uri).await;
    page.fill(4, "Issuer (https://…)", &issuer).await;
    page.fill(4, "Client id", &client_id).await;
    page.fill(4, "Client secret (none for a public client)", &secret).await;
    page.client
        .execute("const s = document.querySelector('select[name=joinPolicy]'); s.value = 'active';", vec![])
        .await
        .unwrap();
    page.click("Save connection").await;
    page.shows("The connection is saved").await;
    page.fill(5, "Domain (like uni.example)", "uni.example").await;
    page.click("Add domain").await;
    page.shows("Publish the TXT record for uni.example").await;
    let settings = env.client(&lab.auth()).sso_settings(&lab.organization).await.body;
    let record = &settings["domains"][0]["dnsRecord"];
    page.shows(record["value"].as_str().unwrap()).await;
    tests::dns::publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
    page.click("Verify uni.example").await;
    page.shows("uni.example is verified.").await;
    page.accessible().await;
    page.screenshot("organization-sso-tab").await;
    assert!(!page.text().await.contains(&secret), "the secret is never shown");
    page.close().await;

    // Grace, on a phone, types only her address.
    let page = Page::open(&env, "sso-by-address", PHONE).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.fill(1, "E-mail address", "grace@uni.example").await;
    page.click("Continue").await;
    crate::sso::provider_forms(&page, "grace").await;
    page.heading("Grace Hopper").await;
    page.shows("Uni Lab").await;
    page.shows(&format!("{issuer} (as grace@uni.example")).await;
    page.fits_width().await;
    page.accessible().await;
    page.screenshot("home-linked").await;
    page.click("Unlink").await;
    page.shows("The link was removed").await;
    page.shows("None yet.").await;
    page.close().await;
}

/// In Chromium: where a verified domain requires single sign-on, "Use my password" with the right
/// password is refused with a message that points to the provider; an address the provider has not
/// verified comes back to a page that says so; and a second sign-in through the provider's forms finds the
/// same account.
#[tokio::test]
async fn required_single_sign_on_and_an_unverified_address_in_a_browser() {
    use crate::browser::{DESKTOP, Page};
    let env = env().await;
    let lab = env.create_organization(&tests::organization_name("Uni Lab")).await;
    env.organization_connection(&lab, "active", Some("uni.example")).await;
    env.invited_member(&lab, "grace@uni.example").await;
    let required = env.client(&lab.auth()).require_sso(&lab.organization, "uni.example", true).await;
    assert_eq!(required.status, 200, "{}", required.body);
    let page = Page::open(&env, "sso-required", DESKTOP).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.fill(1, "E-mail address", "grace@uni.example").await;
    page.click("Use my password").await;
    page.password_asked().await;
    page.fill(1, "Password", PASSWORD).await;
    page.click("Log in").await;
    page.shows("Addresses at uni.example sign in with their institution's identity provider").await;
    page.accessible().await;
    page.screenshot("password-refused").await;
    page.close().await;
    // Her address alone takes her to the provider, twice (each in a fresh browser, with no session at the
    // provider): the same account both times.
    let mut accounts = Vec::new();
    for attempt in ["first", "second"] {
        let page = Page::open(&env, attempt, DESKTOP).await;
        page.goto("/auth/login").await;
        page.heading("Log in").await;
        page.fill(1, "E-mail address", "grace@uni.example").await;
        page.click("Continue").await;
        crate::sso::provider_forms(&page, "grace").await;
        page.heading("Ada Lovelace").await;
        page.shows("grace@uni.example").await;
        page.shows("Uni Lab").await;
        page.close().await;
        accounts.push(env.account_id("grace@uni.example").await);
    }
    assert_eq!(accounts[0], accounts[1]);
    let items = env.scan().await;
    assert_eq!(items.iter().filter(|i| tests::text(i, "entity") == "ProviderLink").count(), 1, "linked once");
    // Eve's address is at the domain, but the provider has not verified it.
    let page = Page::open(&env, "sso-unverified", DESKTOP).await;
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.fill(1, "E-mail address", "eve@uni.example").await;
    page.click("Continue").await;
    crate::sso::provider_forms(&page, "eve").await;
    page.heading("Sign-in did not work").await;
    page.shows("Your identity provider has not verified your address eve@uni.example").await;
    page.screenshot("unverified").await;
    page.close().await;
}

#[tokio::test]
async fn the_login_route_and_a_verification_refuse_what_they_cannot_use_clearly() {
    // A resolver that does not answer: the verification says so (503) and changes nothing.
    let env = TestEnv::with_config(|config| config.dns_over_https_url = "http://127.0.0.1:9/dns-query".into()).await;
    let lab = env.create_organization(&tests::organization_name("Lab")).await;
    let claimed = env.client(&lab.auth()).claim_domain(&lab.organization, "uni.example").await;
    assert_eq!(claimed.status, 200, "{}", claimed.body);
    let before = env.scan().await;
    let unreachable = env.client(&lab.auth()).verify_domain(&lab.organization, "uni.example").await;
    assert_eq!(
        (unreachable.status, unreachable.error_code()),
        (503, "sso.domain.dnsUnavailable"),
        "{}",
        unreachable.body
    );
    assert_eq!(env.scan().await, before);
    // The login route: one way to choose the connection at a time, and an address that is one.
    for (query, status, code) in [
        ("email=ada@uni.example&organization=lab", 400, "sso.login.ambiguous"),
        ("email=not-an-address", 400, "user.email.invalid"),
        ("organization=", 404, "sso.connection.notFound"),
    ] {
        let refused = env.client(&Auth::None).oidc_login_with(query).await;
        assert_eq!((refused.status, refused.error_code()), (status, code), "{query}: {}", refused.body);
    }
    assert_eq!(env.scan().await, before, "no sign-in was stored");
}
