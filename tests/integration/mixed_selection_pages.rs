//! Edit Teams & Permissions and Change Experience on a selection whose users differ (issue "Pages, third
//! round", the defect that lost data): each team and right shows how the selection stands, only what the
//! person changed is sent, and what nobody touched stays as each user had it, checked through the API.

use serde_json::json;
use tests::TestEnv;

use crate::admin_pages::{
    choose, click_in_row, dialog_choose, dialog_click, dialog_closed, dialog_control, dialog_shows, dialog_text,
    dialog_type, role_in, select_rows, sign_in, user, wait_for,
};
use crate::browser::{DESKTOP, PHONE, Page};

#[tokio::test]
async fn a_mixed_selection_changes_only_what_was_touched() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let (alpha, beta) = (env.team(&owner.auth(), "Alpha").await, env.team(&owner.auth(), "Beta").await);
    // An admin who is also in Beta (as Team Manager) and a dataset manager, and two plain members.
    let ada = env.member(&owner, "Ada", "Admin", &[(&beta, true)]).await;
    let granted = env.patch_user(&ada.user_id, json!({"isAdmin": true, "isDatasetManager": true}), &owner.auth()).await;
    assert_eq!(granted.status, 200, "{:?}", granted.body);
    let bob = env.member(&owner, "Bob", "Brown", &[]).await;
    let cleo = env.member(&owner, "Cleo", "Carter", &[(&beta, false)]).await;
    env.client(&owner.auth())
        .bulk_change_experiences(json!({"userIds": [ada.user_id, bob.user_id], "set": {"nuclei": 3}}))
        .await;
    env.client(&owner.auth())
        .bulk_change_experiences(json!({"userIds": [cleo.user_id], "set": {"nuclei": 5, "mito": 2}}))
        .await;

    env.verify_email(&bob.email, &bob.auth()).await;

    let page = Page::open(&env, "mixed-selection", DESKTOP).await;
    sign_in(&page, &owner.email, "/users", "Users").await;
    page.shows("Admin, Ada").await;
    // The filter by verified address (Bob's alone is).
    choose(&page, "E-mail address", "Verified").await;
    wait_for(&page, "only verified addresses", || async { !page.text().await.contains("Carter, Cleo") }).await;
    page.shows("Brown, Bob").await;
    choose(&page, "E-mail address", "All").await;
    page.shows("Carter, Cleo").await;
    select_rows(&page, &["Admin, Ada", "Brown, Bob", "Carter, Cleo"]).await;
    page.click("Edit Teams & Permissions").await;
    dialog_shows(&page, "Teams").await;
    // Beta: Ada manages it, Cleo is a member, Bob is not in it: mixed. Alpha: none of them.
    let beta_role = dialog_control(&page, "Beta").await;
    assert_eq!(beta_role.prop("value").await.unwrap().as_deref(), Some("mixed"));
    assert_eq!(dialog_control(&page, "Alpha").await.prop("value").await.unwrap().as_deref(), Some(""));
    let admin = dialog_control(&page, "Admin").await;
    assert_eq!(admin.prop("indeterminate").await.unwrap().as_deref(), Some("true"), "some of them are admins");
    assert!(dialog_text(&page).await.contains("1 of 3 have it"));
    page.accessible().await;
    page.screenshot("teams-mixed").await;
    // Saving with nothing changed sends nothing.
    dialog_click(&page, "Set Teams & Permissions").await;
    dialog_shows(&page, "Nothing was changed.").await;
    // Alpha as Member, nothing else touched.
    dialog_choose(&page, "Alpha", "Member").await;
    dialog_click(&page, "Set Teams & Permissions").await;
    dialog_closed(&page).await;
    page.shows("Teams and permissions set for 3 users.").await;
    let ada_after = user(&env, &owner.auth(), &ada.user_id).await;
    assert_eq!(
        (
            ada_after["isAdmin"].as_bool(),
            ada_after["isDatasetManager"].as_bool(),
            role_in(&ada_after, &beta),
            role_in(&ada_after, &alpha)
        ),
        (Some(true), Some(true), Some(true), Some(false)),
        "the admin keeps her rights and her team: {ada_after}"
    );
    let bob_after = user(&env, &owner.auth(), &bob.user_id).await;
    assert_eq!((role_in(&bob_after, &beta), role_in(&bob_after, &alpha)), (None, Some(false)), "{bob_after}");
    let cleo_after = user(&env, &owner.auth(), &cleo.user_id).await;
    assert_eq!((role_in(&cleo_after, &beta), role_in(&cleo_after, &alpha)), (Some(false), Some(false)), "{cleo_after}");
    assert_eq!((bob_after["isAdmin"].as_bool(), cleo_after["isDatasetManager"].as_bool()), (Some(false), Some(false)));

    // A mixed right clicked goes to all of them; a mixed team taken out of the selection's teams.
    select_rows(&page, &["Admin, Ada", "Brown, Bob", "Carter, Cleo"]).await;
    page.click("Edit Teams & Permissions").await;
    dialog_shows(&page, "Teams").await;
    assert_eq!(dialog_control(&page, "Alpha").await.prop("value").await.unwrap().as_deref(), Some("member"));
    dialog_control(&page, "Dataset manager").await.click().await.unwrap();
    dialog_choose(&page, "Beta", "Not a member").await;
    dialog_click(&page, "Set Teams & Permissions").await;
    dialog_closed(&page).await;
    page.shows("Teams and permissions set for 3 users.").await;
    for member in [&ada, &bob, &cleo] {
        let after = user(&env, &owner.auth(), &member.user_id).await;
        assert_eq!(
            (after["isDatasetManager"].as_bool(), role_in(&after, &beta), role_in(&after, &alpha)),
            (Some(true), None, Some(false)),
            "{after}"
        );
    }
    assert_eq!(user(&env, &owner.auth(), &ada.user_id).await["isAdmin"], true, "the admin right nobody touched");

    // Change Experience shows what they have now and changes only the domain named.
    select_rows(&page, &["Brown, Bob", "Carter, Cleo"]).await;
    page.click("Change Experience").await;
    dialog_shows(&page, "They have now:").await;
    let shown = dialog_text(&page).await;
    assert!(shown.contains("nuclei: 3–5 (all of them)") && shown.contains("mito: 2 (1 of 2)"), "{shown}");
    page.accessible().await;
    page.screenshot("experience-current").await;
    dialog_type(&page, "Domain (pick one or type a new one)", "nuclei").await;
    dialog_type(&page, "Value", "6").await;
    dialog_click(&page, "Apply").await;
    dialog_closed(&page).await;
    assert_eq!(user(&env, &owner.auth(), &bob.user_id).await["experiences"], json!({"nuclei": 6}));
    assert_eq!(user(&env, &owner.auth(), &cleo.user_id).await["experiences"], json!({"nuclei": 6, "mito": 2}));

    // The owner lets an admin delete the organization; a member's Edit dialog does not offer it.
    click_in_row(&page, "Brown, Bob", "Edit").await;
    dialog_shows(&page, "First name").await;
    assert!(!dialog_text(&page).await.contains("May delete the organization"));
    dialog_click(&page, "Cancel").await;
    dialog_closed(&page).await;
    click_in_row(&page, "Admin, Ada", "Edit").await;
    dialog_control(&page, "May delete the organization").await.click().await.unwrap();
    page.accessible().await;
    dialog_click(&page, "Save").await;
    dialog_closed(&page).await;
    assert_eq!(user(&env, &owner.auth(), &ada.user_id).await["mayDeleteOrganization"], true);
    page.close().await;

    // At phone width the mixed dialog fits.
    let phone = Page::open(&env, "mixed-selection-phone", PHONE).await;
    sign_in(&phone, &owner.email, "/users", "Users").await;
    phone.shows("Admin, Ada").await;
    select_rows(&phone, &["Admin, Ada", "Brown, Bob"]).await;
    phone.click("Edit Teams & Permissions").await;
    dialog_shows(&phone, "Teams").await;
    phone.fits_width().await;
    phone.screenshot("teams-mixed").await;
    phone.close().await;
}
