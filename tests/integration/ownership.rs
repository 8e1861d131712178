//! Leaving an organization and handing it over (beyond WEBKNOSSOS): who may, what ends, who is told, and that
//! there is always exactly one owner, also when two acceptances race.

use serde_json::json;
use tests::answers::Token;
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, mails_to, organization_name, ownership_token};

/// The audit log's actions of `organization`, newest first, as `auth` reads them.
async fn actions(env: &TestEnv, auth: &Auth) -> Vec<String> {
    let log = env.client(auth).audit_log("limit=50").await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    log.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_member_leaves_their_sessions_and_token_end_the_record_stays_and_the_admins_are_told() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let admin = env.member(&owner, "Alan", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let member = env.member(&owner, "Lea", "Leaving", &[]).await;
    let token = env.client(&member.auth()).token().await.json::<Token>().token;
    let second_session = env.login(&member.email, PASSWORD).await;

    let left = env.client(&member.auth()).leave_organization(HOME_ORGANIZATION).await;
    assert_eq!(left.status, 200, "{:?}", left.body);
    assert_eq!(
        (left.body["user"]["isActive"].as_bool(), left.body["sessionEnded"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(left.header("set-cookie").unwrap().contains("Max-Age=0"), "the cookie goes with the session");
    for ended in [member.auth(), Auth::Bearer(second_session), Auth::Token(token)] {
        assert_eq!(env.client(&ended).current_user().await.status, 401, "every session and token there ended");
    }
    // The record stays, deactivated, for an admin to activate again; a login finds no active identity.
    let seen = env.client(&owner.auth()).user(&member.user_id).await.body;
    assert_eq!((seen["isActive"].as_bool(), seen["email"].as_str()), (Some(false), Some(member.email.as_str())));
    assert_eq!(env.client(&Auth::None).login(&member.email, PASSWORD).await.status, 403);
    for admin_email in [&owner.email, &admin.email] {
        assert!(
            mails_to(admin_email).await.iter().any(|m| m.subject.contains("left") && m.text.contains(&member.email)),
            "{admin_email} is told"
        );
    }
    assert!(actions(&env, &owner.auth()).await.contains(&"user.left".to_owned()));
    // Leaving again, or an organization one is not in, finds nothing.
    let stranger = env.create_organization(&organization_name("Stranger Lab")).await;
    let elsewhere = env.client(&admin.auth()).leave_organization(&stranger.organization).await;
    assert_eq!((elsewhere.status, elsewhere.error_code()), (404, "organization.notFound"));
    // An admin activates them again: they are back, with new sessions only.
    assert_eq!(env.patch_user(&member.user_id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.client(&Auth::None).login(&member.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_owner_cannot_leave_and_the_last_admin_cannot_either() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let refused = env.client(&owner.auth()).leave_organization(HOME_ORGANIZATION).await;
    assert_eq!((refused.status, refused.error_code()), (403, "organization.leave.owner"));
    let admin = env.member(&owner, "Solo", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    // The owner gives up admin rights: the one admin left cannot leave.
    assert_eq!(env.patch_user(&owner.user_id, json!({"isAdmin": false}), &owner.auth()).await.status, 200);
    let before = env.scan().await;
    let last = env.client(&admin.auth()).leave_organization(HOME_ORGANIZATION).await;
    assert_eq!((last.status, last.error_code()), (409, "user.lastAdmin"));
    assert_eq!(env.scan().await, before, "a refusal changes nothing");
    assert_eq!(env.client(&admin.auth()).current_user().await.status, 200, "and ends no session");
    // With another admin, they may.
    assert_eq!(env.patch_user(&owner.user_id, json!({"isAdmin": true}), &admin.auth()).await.status, 200);
    assert_eq!(env.client(&admin.auth()).leave_organization(HOME_ORGANIZATION).await.status, 200);
}

#[tokio::test]
async fn leaving_another_organization_keeps_this_session_and_a_token_stays_in_its_own() {
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let other = env.create_organization(&organization_name("Other Lab")).await;
    env.join_by_invite(&other, &home.email, &home.auth()).await;
    let token = env.client(&home.auth()).token().await.json::<Token>().token;
    let with_token = env.client(&Auth::Token(token)).leave_organization(&other.organization).await;
    assert_eq!((with_token.status, with_token.error_code()), (403, "auth.token.otherOrganization"));

    let left = env.client(&home.auth()).leave_organization(&other.organization).await;
    assert_eq!(left.status, 200, "{:?}", left.body);
    assert_eq!(left.body["sessionEnded"], false);
    assert!(left.header("set-cookie").is_none(), "this session's cookie stays");
    assert_eq!(env.client(&home.auth()).current_user().await.body["organization"], HOME_ORGANIZATION);
    let mine = env.client(&home.auth()).organizations().await.body;
    let ids: Vec<&str> = mine.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [HOME_ORGANIZATION], "the organization left is no longer listed");
    let back = env.client(&home.auth()).switch_organization(&other.organization).await;
    assert_eq!((back.status, back.error_code()), (403, "user.deactivated"));
    assert!(mails_to(&other.email).await.iter().any(|m| m.subject.contains("left") && m.text.contains(&home.email)));
}

#[tokio::test]
async fn the_owner_hands_the_organization_to_an_admin_who_accepts_with_the_mailed_link_once() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let heir = env.member(&owner, "Hedy", "Heir", &[]).await;
    let bystander = env.member(&owner, "Ben", "Bystander", &[]).await;
    for admin in [&heir, &bystander] {
        assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    }
    let plain = env.member(&owner, "Paul", "Plain", &[]).await;

    // Only the owner offers, only to another active admin.
    let by_admin = env.client(&heir.auth()).transfer_ownership(HOME_ORGANIZATION, &heir.user_id).await;
    assert_eq!((by_admin.status, by_admin.error_code()), (403, "organization.transfer.ownerOnly"));
    let to_plain = env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, &plain.user_id).await;
    assert_eq!((to_plain.status, to_plain.error_code()), (400, "organization.transfer.notAdmin"));
    let to_self = env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, &owner.user_id).await;
    assert_eq!((to_self.status, to_self.error_code()), (400, "organization.transfer.self"));
    let unknown = env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, "0123456789abcdef01234567").await;
    assert_eq!((unknown.status, unknown.error_code()), (404, "user.notFound"));
    let elsewhere = env.client(&owner.auth()).transfer_ownership("elsewhere", &heir.user_id).await;
    assert_eq!(elsewhere.status, 404);

    // An earlier offer to the bystander is replaced by the one to the heir: its link no longer works.
    let first = env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, &bystander.user_id).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let replaced = ownership_token(&bystander.email, HOME_ORGANIZATION).await.expect("the bystander got a link");
    let offered = env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, &heir.user_id).await;
    assert_eq!((offered.status, offered.body["toUserId"].as_str()), (200, Some(heir.user_id.as_str())));
    let token = ownership_token(&heir.email, HOME_ORGANIZATION).await.expect("the heir got a link");
    let stale = env.client(&bystander.auth()).accept_ownership(HOME_ORGANIZATION, &replaced).await;
    assert_eq!((stale.status, stale.error_code()), (404, "organization.transfer.invalid"));
    // Nothing changed yet; the link is the heir's alone, and only with its token.
    let someone_else = env.client(&bystander.auth()).accept_ownership(HOME_ORGANIZATION, &token).await;
    assert_eq!((someone_else.status, someone_else.error_code()), (403, "organization.transfer.otherUser"));
    let wrong = env.client(&heir.auth()).accept_ownership(HOME_ORGANIZATION, &format!("{token}x")).await;
    assert_eq!((wrong.status, wrong.error_code()), (404, "organization.transfer.invalid"));
    assert_eq!(env.client(&Auth::None).accept_ownership(HOME_ORGANIZATION, &token).await.status, 401);

    // Accepted twice at once: one succeeds, the other finds the offer used.
    let (a, b) = tokio::join!(
        env.client(&heir.auth()).accept_ownership(HOME_ORGANIZATION, &token),
        env.client(&heir.auth()).accept_ownership(HOME_ORGANIZATION, &token)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 404], "{:?} / {:?}", a.body, b.body);
    let overview = env.client(&heir.auth()).organization(HOME_ORGANIZATION).await.body;
    assert_eq!(overview["ownerName"], "Hedy Heir");
    let former = env.client(&heir.auth()).user(&owner.user_id).await.body;
    assert_eq!((former["isOrganizationOwner"].as_bool(), former["isAdmin"].as_bool()), (Some(false), Some(true)));
    let new_owner = env.client(&heir.auth()).current_user().await.body;
    assert_eq!(new_owner["isOrganizationOwner"], true);
    for told in [&owner.email, &heir.email] {
        assert!(
            mails_to(told).await.iter().any(|m| m.subject.contains("ownership of your organization")),
            "{told} is told"
        );
    }
    let log = actions(&env, &heir.auth()).await;
    assert!(log.contains(&"organization.ownershipOffered".to_owned()));
    assert!(log.contains(&"organization.ownershipTransferred".to_owned()));
    // The former owner may now leave; the new owner may not, and the owner's routes are theirs now.
    assert_eq!(env.client(&heir.auth()).leave_organization(HOME_ORGANIZATION).await.status, 403);
    let former_offers = env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, &bystander.user_id).await;
    assert_eq!(former_offers.status, 403);
    assert_eq!(env.client(&owner.auth()).leave_organization(HOME_ORGANIZATION).await.status, 200);
}

#[tokio::test]
async fn an_offer_lapses_when_its_admin_loses_admin_rights_or_the_owner_changes() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let heir = env.member(&owner, "Hedy", "Heir", &[]).await;
    assert_eq!(env.patch_user(&heir.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.client(&owner.auth()).transfer_ownership(HOME_ORGANIZATION, &heir.user_id).await.status, 200);
    let token = ownership_token(&heir.email, HOME_ORGANIZATION).await.unwrap();
    assert_eq!(env.patch_user(&heir.user_id, json!({"isAdmin": false}), &owner.auth()).await.status, 200);
    let before = env.scan().await;
    let refused = env.client(&heir.auth()).accept_ownership(HOME_ORGANIZATION, &token).await;
    assert_eq!((refused.status, refused.error_code()), (400, "organization.transfer.notAdmin"));
    assert_eq!(env.scan().await, before, "nothing changes");
    // Admin again: the offer still stands (a week), and is accepted.
    assert_eq!(env.patch_user(&heir.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.client(&heir.auth()).accept_ownership(HOME_ORGANIZATION, &token).await.status, 200);
}
