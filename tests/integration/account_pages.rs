//! Registering into the instance's self-registration organization on `/auth/register` (issue "Pages,
//! third round": every seed step on a page), checked through the API.

use serde_json::json;
use tests::{HOME_ORGANIZATION, PASSWORD, TestEnv};

use crate::admin_pages::{choose, sign_in};
use crate::browser::{DESKTOP, PHONE, Page, address};

async fn register(page: &Page, first: &str, last: &str, email: &str) {
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.client
        .find(fantoccini::Locator::XPath("//main//a[normalize-space()='Create an account']"))
        .await
        .expect("the login page offers registering")
        .click()
        .await
        .unwrap();
    page.heading("Create an account").await;
    page.fill(1, "First name", first).await;
    page.fill(1, "Last name", last).await;
    page.fill(1, "E-mail address", email).await;
    page.fill(1, "Password (8 characters or more)", PASSWORD).await;
    page.fill(1, "Password again", PASSWORD).await;
    page.click("Create account").await;
}

#[tokio::test]
async fn a_person_registers_and_waits_for_activation_unless_the_organization_verifies_automatically() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let page = Page::open(&env, "register", DESKTOP).await;

    let waiting = address("waiting");
    register(&page, "Wanda", "Waiting", &waiting).await;
    page.heading("Waiting for activation").await;
    page.shows(&format!("Your account {waiting} is created. An admin of the organization activates it")).await;
    page.accessible().await;
    page.screenshot("waiting").await;
    let listed = env.client(&owner.auth()).users("isActive=false").await.body;
    let wanda = listed.as_array().unwrap().iter().find(|u| u["email"] == waiting.as_str()).expect("registered");
    assert_eq!((wanda["isActive"].as_bool(), wanda["organization"].as_str()), (Some(false), Some(HOME_ORGANIZATION)));

    // Where the organization verifies new people automatically, the person arrives signed in.
    let patch = json!({"enableAutoVerify": true});
    let enabled = env.client(&owner.auth()).update_organization(HOME_ORGANIZATION, patch).await;
    assert_eq!(enabled.status, 200, "{:?}", enabled.body);
    register(&page, "Arne", "Active", &address("active")).await;
    page.heading("Arne Active").await;
    page.shows("Home Lab (current)").await;
    page.close().await;
}

/// The owner offers the organization on the Organization page's Ownership tab; the heir opens the mailed
/// link (signed in to another organization, so the page switches first) and accepts; the former owner then
/// leaves from the home page's list, at phone width. Each step is checked through the API.
#[tokio::test]
async fn the_owner_hands_over_on_the_organization_page_and_then_leaves_from_the_home_page() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let heir = env.member(&owner, "Hedy", "Heir", &[]).await;
    assert_eq!(env.patch_user(&heir.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    // The heir's last-used organization is another one: the link's page switches to this one.
    let elsewhere = env.create_organization(&tests::organization_name("Elsewhere")).await;
    env.join_by_invite(&elsewhere, &heir.email, &heir.auth()).await;
    let switched = env.client(&heir.auth()).switch_organization(&elsewhere.organization).await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);

    let page = Page::open(&env, "ownership", DESKTOP).await;
    sign_in(&page, &owner.email, "/organization", "Organization").await;
    page.click("Ownership").await;
    choose(&page, "New owner (an active admin)", &format!("Hedy Heir <{}>", heir.email)).await;
    page.accessible().await;
    page.screenshot("offer").await;
    page.click("Offer the ownership").await;
    page.shows("Hedy Heir was mailed a link to accept the ownership").await;
    let token = tests::ownership_token(&heir.email, HOME_ORGANIZATION).await.expect("the heir got the link");
    page.close().await;

    let page = Page::open(&env, "ownership-accept", PHONE).await;
    sign_in(&page, &heir.email, &format!("/acceptOwnership/{HOME_ORGANIZATION}/{token}"), "Accept the ownership").await;
    page.shows("Home Lab").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("accept").await;
    page.click("Become the owner").await;
    page.heading("You are the owner").await;
    let overview = env.client(&heir.auth()).organization(HOME_ORGANIZATION).await;
    assert_eq!(overview.status, 200, "the heir's session is in the organization now: {:?}", overview.body);
    assert_eq!(overview.body["ownerName"], "Hedy Heir");
    page.close().await;

    // The former owner leaves the organization of their session: it ends, and they are at the login.
    let page = Page::open(&env, "leave", PHONE).await;
    sign_in(&page, &owner.email, "/", "Ada Lovelace").await;
    page.fits_width().await;
    page.screenshot("home").await;
    page.click("Leave Home Lab").await;
    crate::admin_pages::dialog_shows(&page, "Your account there is deactivated").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("leave-dialog").await;
    crate::admin_pages::dialog_click(&page, "Leave organization").await;
    page.heading("Log in").await;
    page.shows("You left the organization Home Lab; this session ended with it.").await;
    page.screenshot("left").await;
    let former = env.client(&heir.auth()).user(&owner.user_id).await.body;
    assert_eq!((former["isActive"].as_bool(), former["isOrganizationOwner"].as_bool()), (Some(false), Some(false)));
    page.close().await;
}
