//! Registering into the instance's self-registration organization on `/auth/register` (issue "Pages,
//! third round": every seed step on a page), checked through the API.

use serde_json::json;
use tests::{HOME_ORGANIZATION, PASSWORD, TestEnv};

use crate::browser::{DESKTOP, Page, address};

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
