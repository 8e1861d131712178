//! The Invites, Teams, Organization and Audit log pages in headless Chromium: each flow done on the page
//! and then checked through the API (the helpers are admin_pages.rs').

use fantoccini::Locator;
use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{Auth, PASSWORD, TestEnv, mails_to};

use crate::admin_pages::{
    choose, click, dialog_click, dialog_closed, dialog_shows, dialog_type, find, sign_in, wait_for,
};
use crate::browser::{DESKTOP, PHONE, Page, address};

#[tokio::test]
async fn on_the_invites_page_an_admin_resends_and_revokes_invitations() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let (kept, revoked) = (address("resent"), address("revoked"));
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [kept, revoked]})).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let id_of = |email: &str| {
        sent.body["recipients"].as_array().unwrap().iter().find(|r| r["email"] == email).unwrap()["inviteId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (kept_id, revoked_id) = (id_of(&kept), id_of(&revoked));
    // A third invite's mail bounced (SES's event, as record_mail_events gets it): the list says so.
    let bounced = address("bounced");
    let third = env.client(&owner.auth()).send_invites(json!({"recipients": [bounced]})).await;
    let bounced_id = third.json::<SentInvites>().recipients[0].invite_id.clone().unwrap();
    let tags = accounts::mail::Mail::new(vec![], "", &[], None).for_invite(&owner.organization, &bounced_id).tags;
    let mut tags: serde_json::Map<_, _> = tags.into_iter().map(|(name, value)| (name, json!([value]))).collect();
    tags.insert("ses:configuration-set".into(), json!([tests::MAIL_CONFIGURATION_SET]));
    let event = json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": bounced, "diagnosticCode": "550 user unknown"}]},
        "mail": {"tags": tags, "destination": [bounced], "sendingAccountId": tests::MAIL_ACCOUNT}
    });
    tests::as_function(
        &accounts::background::RECORD_MAIL_EVENTS,
        accounts::domain::mail_events::record(&env.app, tests::MAIL_EVENTS_TOPIC, &event.to_string()),
    )
    .await
    .unwrap();

    let page = Page::open(&env, "invites", DESKTOP).await;
    sign_in(&page, &owner.email, "/invites", "Invites").await;
    page.shows(&kept).await;
    page.shows("Undeliverable: Mail to this address bounced (550 user unknown); it is not mailed again").await;
    page.accessible().await;
    page.screenshot("list").await;
    click(&page, &format!("//tr[td[normalize-space()='{kept}']]//button[normalize-space()='Resend']")).await;
    page.shows(&format!("The invitation to {kept} was sent again.")).await;
    assert_eq!(mails_to(&kept).await.len(), 2, "a second mail");
    click(&page, &format!("//tr[td[normalize-space()='{revoked}']]//button[normalize-space()='Revoke']")).await;
    page.shows(&format!("The invitation to {revoked} is revoked.")).await;
    let state = |id: String| {
        let env = &env;
        let auth = owner.auth();
        async move {
            env.client(&auth)
                .invites("")
                .await
                .body
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == id.as_str())
                .unwrap()["state"]
                .clone()
        }
    };
    assert_eq!((state(kept_id).await, state(revoked_id).await), (json!("pending"), json!("revoked")));
    // A revoked invitation offers nothing more; the filter shows one state.
    wait_for(&page, "the revoked row losing its buttons", || async {
        page.client.find(Locator::XPath(&format!("//tr[td[normalize-space()='{revoked}']]//button"))).await.is_err()
    })
    .await;
    choose(&page, "State", "Revoked").await;
    wait_for(&page, "only the revoked invitation", || async {
        let text = page.text().await;
        text.contains(&revoked) && !text.contains(&kept)
    })
    .await;
    page.screenshot("revoked").await;
    page.close().await;
    // On a phone, the long reason of the bounced invite still fits the screen.
    let phone = Page::open(&env, "invites-phone", PHONE).await;
    sign_in(&phone, &owner.email, "/invites", "Invites").await;
    phone.shows("Undeliverable: Mail to this address bounced (550 user unknown); it is not mailed again").await;
    phone.accessible().await;
    phone.fits_width().await;
    phone.screenshot("list").await;
    phone.close().await;
}

#[tokio::test]
async fn on_the_teams_page_an_admin_creates_a_team_sees_its_members_and_deletes_it() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let page = Page::open(&env, "teams", DESKTOP).await;
    sign_in(&page, &owner.email, "/teams", "Teams").await;
    page.shows("Default").await;
    page.fill(1, "Team name", "Optics").await;
    page.click("Create team").await;
    page.shows("The team Optics is created.").await;
    let teams = env.client(&owner.auth()).teams("").await.body;
    let optics = teams.as_array().unwrap().iter().find(|t| t["name"] == "Optics").expect("the new team")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let olga = env.member(&owner, "Olga", "Optic", &[(&optics, true)]).await;
    let lena = env.member(&owner, "Lena", "Lens", &[]).await;

    let team_row = |id: &str| format!("//li[@data-team='{id}']");
    click(&page, &format!("{}//button[normalize-space()='Members']", team_row(&optics))).await;
    page.shows("Optic, Olga").await;
    assert!(page.text().await.contains("Team Manager"));
    page.accessible().await;
    page.screenshot("members").await;
    // Adding a member: found by name, added with a role; her other teams stay.
    click(&page, &format!("{}//button[normalize-space()='Add members']", team_row(&optics))).await;
    dialog_type(&page, "Name or e-mail address", "Lens").await;
    dialog_shows(&page, &lena.email).await;
    page.accessible().await;
    page.screenshot("add-member").await;
    click(&page, "//dialog[@open]//button[normalize-space()='Add Lena Lens']").await;
    dialog_shows(&page, "Added").await;
    dialog_click(&page, "Cancel").await;
    dialog_closed(&page).await;
    page.shows("Lens, Lena").await;
    let added = env.client(&owner.auth()).user(&lena.user_id).await.body;
    let in_optics = added["teams"].as_array().unwrap().iter().find(|t| t["id"] == optics.as_str()).cloned();
    assert_eq!(in_optics.map(|t| t["isTeamManager"].clone()), Some(json!(false)), "{added}");
    // Removing one: she leaves Optics only.
    page.click("Remove Olga Optic").await;
    page.shows("Olga Optic left Optics.").await;
    let left = env.client(&owner.auth()).user(&olga.user_id).await.body;
    let team_names: Vec<&str> = left["teams"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(team_names, ["Default"], "{left}");
    // The Default team has no Delete button; Optics has.
    let default_id = teams.as_array().unwrap().iter().find(|t| t["isOrganizationTeam"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page.client
            .find(Locator::XPath(&format!("{}//button[normalize-space()='Delete']", team_row(&default_id))))
            .await
            .is_err()
    );
    click(&page, &format!("{}//button[normalize-space()='Delete']", team_row(&optics))).await;
    dialog_shows(&page, "Delete the team Optics?").await;
    page.accessible().await;
    dialog_click(&page, "Delete team").await;
    dialog_closed(&page).await;
    page.shows("The team Optics is deleted.").await;
    let names: Vec<Value> =
        env.client(&owner.auth()).teams("").await.body.as_array().unwrap().iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, [json!("Default")]);
    page.close().await;
}

#[tokio::test]
async fn on_the_organization_page_an_admin_renames_it_sets_notifications_and_the_owner_deletes_it() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    // The owner is also in a second organization, where the next login takes them after the deletion.
    let other = env.create_organization("Second Lab").await;
    let sent = env.client(&other.auth()).send_invites(json!({"recipients": [owner.email]})).await;
    assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
    let token = tests::invite_token(&mails_to(&owner.email).await.pop().unwrap());
    assert_eq!(env.client(&owner.auth()).join_organization(&token).await.status, 200);

    let page = Page::open(&env, "organization", DESKTOP).await;
    sign_in(&page, &owner.email, "/organization", "Organization").await;
    page.shows("Owner").await;
    page.accessible().await;
    page.screenshot("overview").await;
    page.fill(1, "Organization name", "Renamed Lab").await;
    page.click("Save name").await;
    page.shows("The name is saved.").await;
    let organization_path = format!("/api/organizations/{}", owner.organization);
    assert_eq!(env.get(&organization_path, &owner.auth()).await.body["name"], "Renamed Lab");
    // Whether people who sign up wait for an admin.
    let auto_verify = env.get(&organization_path, &owner.auth()).await.body["enableAutoVerify"].as_bool().unwrap();
    click(&page, "//main//label[normalize-space()='People who sign up start active, without waiting for an admin']")
        .await;
    page.click("Save joining rule").await;
    page.shows(if auto_verify { "now wait for an admin" } else { "now start active" }).await;
    assert_eq!(env.get(&organization_path, &owner.auth()).await.body["enableAutoVerify"], !auto_verify);

    // The Plan tab: a request to the operators, and the plan's history.
    page.click("Plan").await;
    page.shows("The operators have not changed the plan yet.").await;
    choose(&page, "What do you need?", "More users").await;
    page.fill(2, "How many users", "30").await;
    page.accessible().await;
    page.screenshot("plan").await;
    page.click("Send request").await;
    page.shows("Your request went to the instance's operators").await;
    let asked = env.client(&owner.auth()).audit_log("action=organization.planRequested").await.body;
    assert_eq!((&asked[0]["change"]["kind"], &asked[0]["change"]["requested"]), (&json!("users"), &json!("30")));
    choose(&page, "What do you need?", "More storage").await;
    page.fill(2, "How much storage in total (GB)", "1500").await;
    page.click("Send request").await;
    wait_for(&page, "the storage request", || async {
        env.client(&owner.auth()).audit_log("action=organization.planRequested").await.body[0]["change"]["requested"]
            == json!("1500000")
    })
    .await;

    page.click("Notifications").await;
    page.fill(3, "WEBKNOSSOS Plan & Subscription (e-mail; empty: the owner)", "billing@example.org").await;
    page.fill(3, "New User Signup (e-mail addresses, separated by commas)", "a@example.org, b@example.org").await;
    choose(&page, "AI Job Completion", "That person and the admins").await;
    page.accessible().await;
    page.screenshot("notifications").await;
    page.click("Save notifications").await;
    page.shows("The notification settings are saved.").await;
    let saved = env.get(&organization_path, &owner.auth()).await.body;
    assert_eq!(
        (
            saved["planSubscriptionEmail"].clone(),
            saved["newUserMailingList"].clone(),
            saved["aiJobNotifications"].clone()
        ),
        (json!("billing@example.org"), json!("a@example.org, b@example.org"), json!("jobOwnerAndAdmins"))
    );
    // A bad address is refused with the API's message.
    page.fill(3, "New User Signup (e-mail addresses, separated by commas)", "not an address").await;
    page.click("Save notifications").await;
    page.shows("newUserMailingList").await;

    page.click("Delete").await;
    let delete = find(&page, "//main//button[normalize-space()='Delete organization']").await;
    assert!(!delete.is_enabled().await.unwrap(), "disabled until the name is typed");
    page.fill_field("Type the name of the organization (Renamed Lab) to confirm", "Renamed Lab").await;
    page.accessible().await;
    page.screenshot("delete").await;
    page.click("Delete organization").await;
    page.heading("Log in").await;
    page.shows("Renamed Lab is deleted, and you are signed out. Log in again to continue in Second Lab.").await;
    page.screenshot("deleted").await;
    page.log_in(&owner.email, PASSWORD).await;
    page.heading("Ada Lovelace").await;
    page.shows("Second Lab (current)").await;
    assert_eq!(env.get(&organization_path, &other.auth()).await.status, 404);
    let session = Auth::Bearer(env.login(&owner.email, PASSWORD).await);
    let now_in = env.get("/api/organizations?compact=true", &session).await.body;
    assert_eq!(now_in.as_array().unwrap().iter().map(|o| o["name"].clone()).collect::<Vec<_>>(), [json!("Second Lab")]);
    page.close().await;
}

#[tokio::test]
async fn an_owner_with_no_other_organization_is_signed_out_after_deleting_it() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_organization("Only Lab").await;
    let page = Page::open(&env, "deleted-alone", PHONE).await;
    sign_in(&page, &owner.email, "/organization", "Organization").await;
    page.fits_width().await;
    page.click("Delete").await;
    page.fill_field("Type the name of the organization (Only Lab) to confirm", "Only Lab").await;
    page.click("Delete organization").await;
    page.heading("Log in").await;
    page.shows("Only Lab is deleted, and you are signed out.").await;
    page.screenshot("signed-out").await;
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 401);
    page.close().await;
}

#[tokio::test]
async fn on_the_audit_log_page_an_admin_sees_who_did_what_narrows_it_and_downloads_it() {
    let env = TestEnv::for_pages().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Mia", "Member", &[]).await;
    // A name that is markup must show as text.
    let renamed = env.patch_user(&member.user_id, json!({"firstName": "<b>Bold</b>"}), &owner.auth()).await;
    assert_eq!(renamed.status, 200);
    let optics = env.team(&owner.auth(), "Optics").await;
    let moved = env
        .client(&owner.auth())
        .bulk_edit_teams_and_permissions(
            json!({"userIds": [member.user_id], "setTeams": [{"id": optics, "isTeamManager": true}]}),
        )
        .await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    let invited = env.client(&owner.auth()).send_invites(json!({"recipients": ["audited@example.org"]})).await;
    assert_eq!(invited.status, 200, "{:?}", invited.body);
    let invites = env.client(&owner.auth()).invites("").await.body;
    let valid_until = invites[0]["validUntil"].as_i64().expect("the invite's validUntil, which its audit entry holds");
    let page = Page::open(&env, "audit", DESKTOP).await;
    sign_in(&page, &owner.email, "/audit", "Audit log").await;
    page.shows("team.created").await;
    page.shows("firstName: Mia → <b>Bold</b>").await;
    // Values for people: teams by name and role, times as dates, "none" for nothing.
    page.shows("Optics (Team Manager)").await;
    let shown = page.text().await;
    assert!(!shown.contains("{}") && !shown.contains("[]") && !shown.contains(&valid_until.to_string()), "{shown}");
    assert!(page.client.find(Locator::Css("main b")).await.is_err(), "no markup from a name is rendered");
    page.accessible().await;
    page.screenshot("all").await;

    // Only team actions.
    choose(&page, "Action", "Teams").await;
    wait_for(&page, "only team entries", || async { !page.text().await.contains("user.changed") }).await;
    page.shows("team: Optics").await;
    // Narrowed to what the member did (registering, logging in): a chip says so, and undoes it.
    choose(&page, "Action", "All actions").await;
    let member_row = "//tr[td/code[normalize-space()='user.registered']]//button[contains(., 'Mia')]";
    click(&page, member_row).await;
    page.shows("By Mia Member ×").await;
    wait_for(&page, "only the member's entries", || async { !page.text().await.contains("team.created") }).await;
    page.accessible().await;
    page.screenshot("narrowed").await;
    let download = find(&page, "//a[normalize-space()='Download CSV']").await;
    let href = download.attr("href").await.unwrap().unwrap();
    assert!(href.contains("format=csv") && href.contains(&format!("actor={}", member.user_id)), "{href}");
    let csv = env.get(&href, &owner.auth()).await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.as_str().unwrap().contains("user.registered"));
    page.click("By Mia Member ×").await;
    page.shows("team.created").await;
    page.close().await;

    // At phone width, with a long name in the log and the API's refusal of a bad day range shown.
    let long = "Maximiliane-Friederike von und zu Langenbruckenhausen-Oberschwaigenfeld";
    assert_eq!(env.patch_user(&member.user_id, json!({"lastName": long}), &owner.auth()).await.status, 200);
    let page = Page::open(&env, "audit-phone", PHONE).await;
    sign_in(&page, &owner.email, "/audit", "Audit log").await;
    page.shows(long).await;
    page.fits_width().await;
    page.client
        .execute(
            "const [from, to] = document.querySelectorAll('main input[type=date]');
             from.value = '2026-11-27'; to.value = '2026-11-20'; to.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .unwrap();
    page.shows("to must not be before from").await;
    page.accessible().await;
    page.fits_width().await;
    page.screenshot("phone-error").await;
    page.close().await;

    // A member is told the page is not for them; at phone width it fits.
    let page = Page::open(&env, "audit-member", PHONE).await;
    sign_in(&page, &member.email, "/audit", "Audit log").await;
    page.shows("The audit log is for the organization's admins and owner.").await;
    page.accessible().await;
    page.fits_width().await;
    page.close().await;
}
