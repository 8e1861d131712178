//! The administration pages (Users, Invites, Teams, Organization) in headless Chromium: each flow the seed
//! documents walk through, done on the page and then checked through the API. Every page and dialog shown
//! passes axe-core; screenshots go to `target/browser/`.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use serde_json::{Value, json};
use tests::seed::seed_members;
use tests::{Auth, PASSWORD, TestEnv, mails_to};

use crate::browser::{DESKTOP, PHONE, Page, address};

/// Shows `path`, which asks for a login first, and logs in there as `email`; waits for `heading`.
pub(crate) async fn sign_in(page: &Page, email: &str, path: &str, heading: &str) {
    page.goto(path).await;
    page.heading("Log in").await;
    page.log_in(email, PASSWORD).await;
    page.heading(heading).await;
}

pub(crate) async fn wait_for<F, Fut>(page: &Page, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        if Instant::now() > deadline {
            page.screenshot("timeout").await;
            panic!("{}: {what} never happened; the page shows:\n{}", page.name, page.text().await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element at `xpath` once it is there. A list re-rendered after an earlier action may replace
/// the element between finding and clicking it (a stale element): then it is found again.
pub(crate) async fn click(page: &Page, xpath: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match find(page, xpath).await.click().await {
            Ok(_) => return,
            Err(error) if Instant::now() < deadline && error.to_string().contains("stale element") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("{}: clicking {xpath}: {error}", page.name),
        }
    }
}

pub(crate) async fn find(page: &Page, xpath: &str) -> Element {
    let mut last_error = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match page.client.find(Locator::XPath(xpath)).await {
            Ok(element) => return element,
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    page.screenshot("timeout").await;
    panic!("{}: nothing at {xpath}: {last_error:?}\n{}", page.name, page.text().await);
}

/// The users table's row of the person shown as "Last, First".
pub(crate) fn row(name: &str) -> String {
    format!("//tr[td[normalize-space()='{name}']]")
}

pub(crate) async fn click_in_row(page: &Page, name: &str, button: &str) {
    click(page, &format!("{}//button[normalize-space()='{button}']", row(name))).await;
}

pub(crate) async fn select_rows(page: &Page, names: &[&str]) {
    for name in names {
        click(page, &format!("{}//input[@type='checkbox']", row(name))).await;
    }
}

/// The control labelled `label` in the open dialog.
pub(crate) async fn dialog_control(page: &Page, label: &str) -> Element {
    let label = find(page, &format!("//dialog[@open]//label[normalize-space()='{label}']")).await;
    let id = label.attr("for").await.unwrap().unwrap();
    page.client.find(Locator::Id(&id)).await.unwrap()
}

pub(crate) async fn dialog_type(page: &Page, label: &str, value: &str) {
    let input = dialog_control(page, label).await;
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

pub(crate) async fn dialog_choose(page: &Page, label: &str, option: &str) {
    dialog_control(page, label).await.select_by_label(option).await.unwrap();
}

pub(crate) async fn dialog_click(page: &Page, button: &str) {
    click(page, &format!("//dialog[@open]//button[normalize-space()='{button}']")).await;
}

pub(crate) async fn dialog_text(page: &Page) -> String {
    match page.client.find(Locator::Css("dialog[open]")).await {
        Ok(dialog) => dialog.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

pub(crate) async fn dialog_shows(page: &Page, wanted: &str) {
    wait_for(page, &format!("the dialog showing {wanted:?}"), || async { dialog_text(page).await.contains(wanted) })
        .await;
}

pub(crate) async fn dialog_closed(page: &Page) {
    wait_for(page, "the dialog closing", || async { page.client.find(Locator::Css("dialog[open]")).await.is_err() })
        .await;
}

/// Chooses in the select labelled `label` on the page.
pub(crate) async fn choose(page: &Page, label: &str, option: &str) {
    let label = find(page, &format!("//main//label[normalize-space()='{label}']")).await;
    let id = label.attr("for").await.unwrap().unwrap();
    page.client.find(Locator::Id(&id)).await.unwrap().select_by_label(option).await.unwrap();
}

pub(crate) async fn user(env: &TestEnv, auth: &Auth, user_id: &str) -> Value {
    let response = env.client(auth).user(user_id).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body
}

pub(crate) fn role_in(user: &Value, team: &str) -> Option<bool> {
    user["teams"].as_array().unwrap().iter().find(|t| t["id"] == team).map(|t| t["isTeamManager"].as_bool().unwrap())
}

#[tokio::test]
async fn an_admin_invites_activates_edits_in_bulk_changes_experience_and_deactivates_on_the_users_page() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let lab = env.team(&owner.auth(), "Lab").await;
    let bob = env.member(&owner, "Bob", "Brown", &[]).await;
    let cleo = env.member(&owner, "Cleo", "Carter", &[]).await;
    let dan = env.member(&owner, "Dan", "Dorsey", &[]).await;
    let (_, eve) = env.register("Eve", "Evans").await; // self-registered: waits for activation
    let eve_id = eve["id"].as_str().unwrap().to_owned();
    assert_eq!(eve["isActive"], false);

    let page = Page::open(&env, "users", DESKTOP).await;
    sign_in(&page, &owner.email, "/users", "Users").await;
    page.shows("Brown, Bob").await;
    assert!(!page.text().await.contains("Evans, Eve"), "the list starts with the active users");
    page.shows("1 person who signed up waits for activation.").await;
    page.accessible().await;
    page.screenshot("list").await;

    // Invite two people with the Lab team preset.
    let (first, second) = (address("invited-one"), address("invited-two"));
    page.click("Invite Users").await;
    dialog_type(
        &page,
        "E-mail addresses (one per line, or separated by commas)",
        &format!("{first}\n{second}, not-an-address"),
    )
    .await;
    dialog_choose(&page, "Lab", "Member").await;
    page.accessible().await;
    dialog_click(&page, "Send invites").await;
    dialog_shows(&page, "2 invitations sent.").await;
    let shown = dialog_text(&page).await;
    assert!(
        shown.contains(&format!("{first}: Invitation sent"))
            && shown.contains("not-an-address: Not a valid e-mail address"),
        "{shown}"
    );
    page.screenshot("invite-result").await;
    dialog_click(&page, "Cancel").await;
    dialog_closed(&page).await;
    let invites = env.client(&owner.auth()).invites("").await.body;
    for email in [&first, &second] {
        let invite = invites
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == email.as_str())
            .expect("an invite for each address");
        assert_eq!(invite["state"], "pending");
        let teams = invite["teamMemberships"].as_array().unwrap();
        assert!(
            teams.contains(&json!({"id": lab, "isTeamManager": false})) && teams.len() == 2,
            "Lab, and Default as always: {teams:?}"
        );
        assert_eq!(mails_to(email).await.len(), 1);
    }

    // The self-registered user, activated with a team and a right in one step: the notice shows her.
    click(&page, "//main//button[normalize-space()='Show them']").await;
    page.shows("Evans, Eve").await;
    click_in_row(&page, "Evans, Eve", "Activate").await;
    dialog_choose(&page, "Lab", "Team Manager").await;
    click(&page, "//dialog[@open]//label[normalize-space()='Dataset manager']").await;
    page.accessible().await;
    page.screenshot("activate").await;
    dialog_click(&page, "Activate user").await;
    dialog_closed(&page).await;
    page.shows("Eve Evans is active.").await;
    let activated = user(&env, &owner.auth(), &eve_id).await;
    assert_eq!(
        (activated["isActive"].as_bool(), activated["isDatasetManager"].as_bool(), role_in(&activated, &lab)),
        (Some(true), Some(true), Some(true))
    );

    // Three users at once: Lab as Team Manager, all or nothing in one request.
    choose(&page, "Status", "Active").await;
    page.shows("Brown, Bob").await;
    select_rows(&page, &["Brown, Bob", "Carter, Cleo", "Dorsey, Dan"]).await;
    page.shows("3 users selected").await;
    page.click("Edit Teams & Permissions").await;
    dialog_choose(&page, "Lab", "Team Manager").await;
    page.screenshot("bulk-teams").await;
    dialog_click(&page, "Set Teams & Permissions").await;
    dialog_closed(&page).await;
    page.shows("Teams and permissions set for 3 users.").await;
    for member in [&bob, &cleo, &dan] {
        let after = user(&env, &owner.auth(), &member.user_id).await;
        assert_eq!(role_in(&after, &lab), Some(true), "{}", member.email);
        assert_eq!(after["teams"].as_array().unwrap().len(), 2, "Default kept: {after}");
    }
    page.shows("Lab (Team Manager)").await;

    // Two users get a domain that did not exist.
    assert!(!env.client(&owner.auth()).experience_domains().await.body.as_array().unwrap().contains(&json!("nuclei")));
    select_rows(&page, &["Brown, Bob", "Carter, Cleo"]).await;
    page.click("Change Experience").await;
    dialog_type(&page, "Domain (pick one or type a new one)", "nuclei").await;
    dialog_type(&page, "Value", "7").await;
    page.accessible().await;
    dialog_click(&page, "Apply").await;
    dialog_closed(&page).await;
    page.shows("nuclei set to 7 for 2 users.").await;
    for member in [&bob, &cleo] {
        assert_eq!(user(&env, &owner.auth(), &member.user_id).await["experiences"], json!({"nuclei": 7}));
    }
    assert_eq!(user(&env, &owner.auth(), &dan.user_id).await["experiences"], json!({}));
    assert!(env.client(&owner.auth()).experience_domains().await.body.as_array().unwrap().contains(&json!("nuclei")));
    page.shows("nuclei: 7").await;

    // Deactivate, then reactivate from the Deactivated list: the teams are still there.
    click_in_row(&page, "Dorsey, Dan", "Deactivate").await;
    page.shows("Dan Dorsey is deactivated.").await;
    assert_eq!(user(&env, &owner.auth(), &dan.user_id).await["isActive"], false);
    choose(&page, "Status", "Deactivated").await;
    click_in_row(&page, "Dorsey, Dan", "Activate").await;
    dialog_click(&page, "Activate user").await;
    dialog_closed(&page).await;
    page.shows("Dan Dorsey is active.").await;
    let reactivated = user(&env, &owner.auth(), &dan.user_id).await;
    assert_eq!((reactivated["isActive"].as_bool(), role_in(&reactivated, &lab)), (Some(true), Some(true)));

    // Editing one user's name and address.
    choose(&page, "Status", "All").await;
    click_in_row(&page, "Carter, Cleo", "Edit").await;
    assert!(!dialog_text(&page).await.contains("E-mail address"), "another user's address cannot change");
    dialog_type(&page, "Last name", "Curie").await;
    dialog_click(&page, "Save").await;
    dialog_closed(&page).await;
    page.shows("Curie, Cleo").await;
    assert_eq!(user(&env, &owner.auth(), &cleo.user_id).await["lastName"], "Curie");
    // One's own address, with one's current password.
    click_in_row(&page, "Lovelace, Ada", "Edit").await;
    let moved = address("moved-owner");
    dialog_type(&page, "E-mail address", &moved).await;
    dialog_click(&page, "Save").await;
    dialog_shows(&page, "Enter your current password to change your e-mail address.").await;
    dialog_type(&page, "Current password (to change the address)", PASSWORD).await;
    page.accessible().await;
    dialog_click(&page, "Save").await;
    dialog_closed(&page).await;
    assert_eq!(env.client(&owner.auth()).current_user().await.body["email"], moved.as_str());
    page.close().await;
}

pub(crate) async fn active(page: &Page) -> Element {
    page.client.active_element().await.unwrap()
}

async fn press(page: &Page, key: Key) {
    active(page).await.send_keys(&String::from(char::from(key))).await.unwrap();
}

#[tokio::test]
async fn the_dialogs_work_with_the_keyboard_alone_and_the_users_page_fits_a_phone() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    env.member(&owner, "Bob", "Brown", &[]).await;
    let page = Page::open(&env, "keyboard", PHONE).await;
    sign_in(&page, &owner.email, "/users", "Users").await;
    page.shows("Brown, Bob").await;
    page.fits_width().await;
    page.screenshot("phone").await;

    // Tab to "Invite Users" and open it with Enter.
    let mut tabs = 0;
    while active(&page).await.text().await.unwrap_or_default() != "Invite Users" {
        press(&page, Key::Tab).await;
        tabs += 1;
        assert!(tabs < 40, "Invite Users is reachable with Tab");
    }
    press(&page, Key::Enter).await;
    find(&page, "//dialog[@open]").await;
    // The dialog takes the focus (its first field) and keeps it: Tab goes round inside it.
    assert_eq!(active(&page).await.prop("tagName").await.unwrap().as_deref(), Some("TEXTAREA"));
    active(&page).await.send_keys(&address("keyboard")).await.unwrap();
    for _ in 0..12 {
        press(&page, Key::Tab).await;
        let inside = page
            .client
            .execute("return document.activeElement.closest('dialog[open]') !== null;", vec![])
            .await
            .unwrap();
        assert_eq!(inside, json!(true), "the focus stays in the dialog");
    }
    page.fits_width().await;
    page.screenshot("invite-dialog").await;
    // Escape closes it and gives the focus back to the button that opened it.
    press(&page, Key::Escape).await;
    dialog_closed(&page).await;
    assert_eq!(active(&page).await.text().await.unwrap(), "Invite Users");
    assert_eq!(env.client(&owner.auth()).invites("").await.body, json!([]), "nothing was sent");

    // Select a user with Space, open "Change Experience", fill it with the keyboard and send it with Enter.
    let mut tabs = 0;
    while active(&page).await.attr("aria-label").await.unwrap().as_deref() != Some("Select Bob Brown") {
        press(&page, Key::Tab).await;
        tabs += 1;
        assert!(tabs < 60, "Bob Brown's checkbox is reachable with Tab");
    }
    press(&page, Key::Space).await;
    page.shows("1 user selected").await;
    let mut tabs = 0;
    while active(&page).await.text().await.unwrap_or_default() != "Change Experience" {
        press(&page, Key::Tab).await;
        tabs += 1;
        assert!(tabs < 60, "Change Experience is reachable with Tab");
    }
    press(&page, Key::Enter).await;
    find(&page, "//dialog[@open]").await;
    active(&page).await.send_keys("mitochondria").await.unwrap();
    press(&page, Key::Tab).await; // to the value
    let value = active(&page).await;
    value.clear().await.unwrap();
    value.send_keys("3").await.unwrap();
    press(&page, Key::Enter).await;
    dialog_closed(&page).await;
    page.shows("mitochondria set to 3 for Bob Brown.").await;
    page.close().await;
}

#[tokio::test]
async fn a_team_manager_sees_only_their_teams_members_and_cannot_grant_admin_rights() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let manager = env.member(&owner, "Rita", "Redman", &[(&red, true)]).await;
    let red_member = env.member(&owner, "Rob", "Reed", &[(&red, false)]).await;
    env.member(&owner, "Bea", "Blau", &[(&blue, false)]).await;

    let page = Page::open(&env, "team-manager", DESKTOP).await;
    sign_in(&page, &manager.email, "/users", "Users").await;
    page.shows("Reed, Rob").await;
    let shown = page.text().await;
    assert!(shown.contains("Redman, Rita") && !shown.contains("Blau") && !shown.contains("Lovelace"), "{shown}");
    let links = find(&page, "//header//nav").await.text().await.unwrap();
    assert!(links.contains("Users") && !links.contains("Organization"), "{links}");
    assert!(
        page.client.find(Locator::XPath("//main//button[normalize-space()='Deactivate']")).await.is_err(),
        "deactivating is for admins"
    );
    page.accessible().await;
    page.screenshot("users").await;

    // The dialog offers the managed team only, and no admin or dataset manager rights.
    select_rows(&page, &["Reed, Rob"]).await;
    page.click("Edit Teams & Permissions").await;
    dialog_shows(&page, "Teams").await;
    let offered = dialog_text(&page).await;
    assert!(
        offered.contains("Red")
            && !offered.contains("Blue")
            && !offered.contains("Admin")
            && !offered.contains("Dataset manager"),
        "{offered}"
    );
    page.screenshot("dialog").await;
    // Rights taken away meanwhile: the page shows the API's refusal instead of pretending.
    let demoted =
        env.patch_user(&manager.user_id, json!({"teams": [{"id": red, "isTeamManager": false}]}), &owner.auth()).await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.body);
    dialog_choose(&page, "Red", "Team Manager").await;
    dialog_click(&page, "Set Teams & Permissions").await;
    dialog_shows(&page, "Only admins and team managers").await;
    page.screenshot("refused").await;
    assert_eq!(role_in(&user(&env, &owner.auth(), &red_member.user_id).await, &red), Some(false), "nothing changed");

    page.goto("/organization").await;
    page.heading("Organization").await;
    page.shows("The organization's settings are for its admins.").await;
    page.close().await;
}

#[tokio::test]
async fn an_admin_pages_through_a_thousand_users_and_finds_one_by_search() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    seed_members(&env, &owner.organization, 1000, |_| vec![]).await;
    let page = Page::open(&env, "thousand", DESKTOP).await;
    sign_in(&page, &owner.email, "/users", "Users").await;
    let mut seen = std::collections::BTreeSet::new();
    for number in 1..=21 {
        page.shows(&format!("Page {number}")).await;
        // The page's names in one script call (a WebDriver call per row took most of the test's time).
        let names = page
            .client
            .execute("return [...document.querySelectorAll('tbody tr')].map(r => r.cells[1].innerText);", vec![])
            .await
            .unwrap();
        let names: Vec<String> = serde_json::from_value(names).unwrap();
        assert!(!names.is_empty() && names.len() <= 50, "{} rows", names.len());
        for name in names {
            assert!(seen.insert(name.clone()), "{name} shown twice");
        }
        let next = find(&page, "//main//button[normalize-space()='Next page']").await;
        if number < 21 {
            next.click().await.unwrap();
        } else {
            assert!(!next.is_enabled().await.unwrap(), "the last page has no next one");
        }
    }
    assert_eq!(seen.len(), 1001, "every user once: the owner and the 1,000 members");
    page.click("Previous page").await;
    page.shows("Page 20").await;
    let search = find(&page, "//main//input[@type='search']").await;
    search.send_keys("member00999").await.unwrap();
    wait_for(&page, "one match", || async { page.client.find_all(Locator::Css("tbody tr")).await.unwrap().len() == 1 })
        .await;
    page.shows("Member00999, Seed").await;
    page.shows("Page 1").await;
    page.screenshot("search").await;
    page.close().await;
}
