//! The opt-in of notification addresses (issue "Security, third round"): an address an admin names in
//! `newUserMailingList` or `planSubscriptionEmail` gets only the confirmation link until its mailbox
//! confirms; the notices go to the owner meanwhile. So no admin can make the instance mail strangers.

use serde_json::json;
use tests::{Auth, TestEnv, mails_to};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

#[tokio::test]
async fn a_named_notification_address_gets_nothing_but_the_link_until_its_mailbox_confirms() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let stranger = address("stranger");
    let token = env.notification_token(&owner.auth(), &owner.organization, &stranger).await;
    // Meanwhile the new user's notice goes to the owner, and the stranger got only the link.
    let (first, _) = env.register("Nina", "New").await;
    let notices = |to: String, about: String| async move {
        mails_to(&to).await.iter().filter(|m| m.subject.starts_with("New user in") && m.text.contains(&about)).count()
    };
    assert_eq!(notices(owner.email.clone(), first.clone()).await, 1);
    assert_eq!(mails_to(&stranger).await.len(), 1, "only the confirmation link");
    // Naming it again asks nothing more.
    let path = format!("/api/organizations/{}", owner.organization);
    let again = env.request("PATCH", &path, Some(json!({"newUserMailingList": stranger})), &owner.auth()).await;
    assert_eq!(again.status, 200);
    assert_eq!(mails_to(&stranger).await.len(), 1);
    // Links that are not the one mailed change nothing.
    let before = env.scan().await;
    let (named, _) = token.rsplit_once('.').unwrap();
    for bad in ["nonsense".to_owned(), format!("{named}.{}", "A".repeat(43)), format!("{token}x")] {
        let refused = env.client(&Auth::None).confirm_notification_address(&bad).await;
        assert_eq!((refused.status, refused.error_code()), (400, "notificationAddress.tokenInvalid"), "{bad}");
    }
    assert_eq!(env.scan().await, before, "nothing changed");
    // Confirmed (twice: the same answer), the notices go there instead of to the owner.
    env.confirm_notifications(&token).await;
    env.confirm_notifications(&token).await;
    let (second, _) = env.register("Otto", "Other").await;
    assert_eq!(notices(stranger.clone(), second.clone()).await, 1);
    assert_eq!(notices(owner.email.clone(), second).await, 0);
}
