//! Passkeys in the pages, in headless Chromium with WebDriver's virtual authenticator: a person adds a
//! passkey on the home page, signs in with it on the login page without typing an address, renames and
//! removes it; the device refuses a second passkey of the same account; a copy of the authenticator (its
//! counter behind) and a removed passkey are refused with a message that says why.

use tests::browser::VirtualAuthenticator;
use tests::{PASSWORD, TestEnv};

use crate::browser::{DESKTOP, PHONE, Page};

/// Adds a passkey named `name` on the home page, with the browser's virtual authenticator.
async fn add_passkey(page: &Page, name: &str) {
    page.fill(1, "Name of the new passkey", name).await;
    page.click("Add a passkey").await;
    page.shows(&format!("The passkey {name} was added")).await;
}

/// From the login page: logs in with the password and adds a passkey named `name`.
async fn log_in_and_add_passkey(page: &Page, email: &str, name: &str) {
    page.goto("/auth/login").await;
    page.heading("Log in").await;
    page.log_in(email, PASSWORD).await;
    page.heading("Ada Lovelace").await;
    add_passkey(page, name).await;
}

/// Logs out from the home page and presses "Sign in with a passkey" on the login page.
async fn log_out_and_use_a_passkey(page: &Page) {
    page.click("Log out").await;
    page.heading("Log in").await;
    page.click("Sign in with a passkey").await;
}

#[tokio::test]
async fn a_person_adds_a_passkey_signs_in_with_it_renames_and_removes_it() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let page = Page::open(&env, "passkeys", DESKTOP).await;
    let device = VirtualAuthenticator::add(&page.client).await;
    log_in_and_add_passkey(&page, &owner.email, "Laptop").await;
    page.shows("Laptop (added").await;
    page.accessible().await;
    page.screenshot("added").await;
    // The device holds one of this account's passkeys already: it refuses a second, and the page says so.
    page.fill(1, "Name of the new passkey", "Laptop again").await;
    page.click("Add a passkey").await;
    page.shows("holds a passkey of your account already").await;

    // Signed out, the passkey signs in without an address.
    log_out_and_use_a_passkey(&page).await;
    page.heading("Ada Lovelace").await;
    page.shows("last used").await;
    assert!(!page.text().await.contains("last used never"), "{}", page.text().await);

    page.click("Rename").await;
    page.fill(1, "New name for Laptop", "Work laptop").await;
    page.click("Save").await;
    page.shows("The passkey is now called Work laptop.").await;
    page.shows("Work laptop (added").await;

    page.click("Remove").await;
    page.shows("The passkey Work laptop was removed").await;
    page.shows("None yet.").await;
    log_out_and_use_a_passkey(&page).await;
    page.shows("not registered here").await;
    page.screenshot("removed").await;
    assert_eq!(device.credentials().await.len(), 1, "the device still holds the removed passkey");
    page.close().await;
}

#[tokio::test]
async fn a_second_device_adds_a_second_passkey_and_either_signs_in() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let page = Page::open(&env, "passkey-second", DESKTOP).await;
    let laptop = VirtualAuthenticator::add(&page.client).await;
    log_in_and_add_passkey(&page, &owner.email, "Laptop").await;
    // Another device: the laptop's authenticator goes, a phone's comes.
    let laptop_key = laptop.credentials().await.pop().expect("the laptop's passkey");
    laptop.remove().await;
    let phone = VirtualAuthenticator::add(&page.client).await;
    add_passkey(&page, "Phone").await;
    page.shows("Laptop (added").await;
    page.shows("Phone (added").await;
    log_out_and_use_a_passkey(&page).await;
    page.heading("Ada Lovelace").await;
    // The laptop again: its passkey signs in too.
    phone.remove().await;
    let laptop = VirtualAuthenticator::add(&page.client).await;
    laptop.add_credential(laptop_key).await;
    log_out_and_use_a_passkey(&page).await;
    page.heading("Ada Lovelace").await;
    assert!(!page.text().await.contains("last used never"), "both were used: {}", page.text().await);
    page.close().await;
}

#[tokio::test]
async fn a_copied_authenticator_whose_counter_is_behind_is_refused() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let page = Page::open(&env, "passkey-copy", PHONE).await;
    let device = VirtualAuthenticator::add(&page.client).await;
    log_in_and_add_passkey(&page, &owner.email, "Phone").await;
    page.fits_width().await;
    log_out_and_use_a_passkey(&page).await;
    page.heading("Ada Lovelace").await;
    // A copy made before that sign-in: the same key, the counter it had then.
    let mut credential = device.credentials().await.pop().expect("the passkey");
    assert!(credential["signCount"].as_u64().unwrap_or(0) > 0, "the sign-in counted: {credential}");
    credential["signCount"] = 0.into();
    device.remove_credentials().await;
    device.add_credential(credential).await;
    log_out_and_use_a_passkey(&page).await;
    page.shows("signature counter went back").await;
    page.heading("Log in").await;
    page.close().await;
}

#[tokio::test]
async fn an_organization_that_requires_passkeys_of_its_admins_end_to_end() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let page = Page::open(&env, "passkey-rule", DESKTOP).await;
    VirtualAuthenticator::add(&page.client).await;
    log_in_and_add_passkey(&page, &owner.email, "Laptop").await;
    // Turning the rule on takes a passkey sign-in first.
    page.goto("/organization").await;
    page.heading("Organization").await;
    page.click("Admin sign-in").await;
    let rule = "//main//label[normalize-space()='Admins must sign in with a passkey or single sign-on']";
    page.client.find(fantoccini::Locator::XPath(rule)).await.unwrap().click().await.unwrap();
    page.click("Save sign-in rule").await;
    page.shows("Sign in with a passkey or single sign-on yourself").await;
    page.goto("/").await;
    page.heading("Ada Lovelace").await;
    log_out_and_use_a_passkey(&page).await;
    page.heading("Ada Lovelace").await;
    page.goto("/organization").await;
    page.heading("Organization").await;
    page.click("Admin sign-in").await;
    page.client.find(fantoccini::Locator::XPath(rule)).await.unwrap().click().await.unwrap();
    page.click("Save sign-in rule").await;
    page.shows("Admins now sign in with a passkey or single sign-on.").await;
    page.accessible().await;

    // A password login now gets a session that can only add and use a passkey; the pages say so.
    page.goto("/").await;
    page.heading("Ada Lovelace").await;
    page.click("Log out").await;
    page.heading("Log in").await;
    page.log_in(&owner.email, PASSWORD).await;
    page.heading("Ada Lovelace").await;
    page.shows("Your organization requires its admins to sign in with a passkey").await;
    page.screenshot("password-session").await;
    page.goto("/users").await;
    page.shows("add a passkey on your home page, then log out and sign in with it").await;
    // The passkey opens everything again.
    page.goto("/").await;
    page.heading("Ada Lovelace").await;
    log_out_and_use_a_passkey(&page).await;
    page.heading("Ada Lovelace").await;
    assert!(!page.text().await.contains("requires its admins"), "{}", page.text().await);
    page.goto("/users").await;
    page.heading("Users").await;
    page.shows(&owner.email).await;
    page.close().await;
}
