//! What an invite carries reaches the person who accepts it (issue 36, item 4): whether they start active,
//! admin and dataset manager rights, team roles; for a new person and for an account joining from another
//! organization. Each is checked through the API as the organization's admins see it.

use serde_json::{Value, json};
use tests::answers::SentInvites;
use tests::{Auth, TestEnv, invite_token, mails_to, organization_name, signup_form};

fn address(name: &str) -> String {
    format!("{name}-{}@example.org", &accounts::ids::new_object_id()[..10])
}

/// Sends `invite` (its recipient `email`) as `auth` and returns the token its mail carries.
async fn invited(env: &TestEnv, auth: &Auth, email: &str, invite: Value) -> String {
    let mut body = invite;
    body["recipients"] = json!([email]);
    let sent = env.client(auth).send_invites(body).await;
    assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
    invite_token(&mails_to(email).await.pop().unwrap())
}

/// A person's identity in the organization `auth` administers, as its admins see it.
async fn identity(env: &TestEnv, auth: &Auth, email: &str) -> Value {
    let listed = env.client(auth).users("").await.body;
    listed.as_array().unwrap().iter().find(|u| u["email"] == email).cloned().expect("a member of the organization")
}

fn role_in(user: &Value, team: &str) -> Option<bool> {
    user["teams"].as_array().unwrap().iter().find(|t| t["id"] == team).map(|t| t["isTeamManager"] == true)
}

#[tokio::test]
async fn an_invite_without_auto_activation_makes_a_deactivated_member_whom_an_admin_activates() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Careful Lab")).await;
    let email = address("careful");
    let token = invited(&env, &owner.auth(), &email, json!({"autoActivate": false})).await;
    let mut form = signup_form(&email, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.client(&Auth::None).register(form).await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    let member = identity(&env, &owner.auth(), &email).await;
    assert_eq!(
        (member["isActive"].as_bool(), member["organization"].as_str()),
        (Some(false), Some(owner.organization.as_str()))
    );
    let counts = env.client(&owner.auth()).organization(&owner.organization).await.body;
    assert_eq!((counts["memberCount"].as_u64(), counts["activeUserCount"].as_u64()), (Some(2), Some(1)), "{counts}");
    // Deactivated, the person cannot log in yet; an admin activates them.
    assert_ne!(env.client(&Auth::None).login(&email, tests::PASSWORD).await.status, 200);
    let id = member["id"].as_str().unwrap();
    assert_eq!(env.patch_user(id, json!({"isActive": true}), &owner.auth()).await.status, 200);
    assert_eq!(env.client(&Auth::None).login(&email, tests::PASSWORD).await.status, 200);
}

#[tokio::test]
async fn an_invite_granting_admin_dataset_manager_and_a_team_role_gives_them_to_a_new_person() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Granting Lab")).await;
    let lab = env.team(&owner.auth(), "Lab").await;
    let email = address("granted");
    let grants = json!({"autoActivate": true, "isAdmin": true, "isDatasetManager": true,
        "teamMemberships": [{"id": lab, "isTeamManager": true}]});
    let token = invited(&env, &owner.auth(), &email, grants).await;
    let mut form = signup_form(&email, "ignored");
    form["inviteToken"] = json!(token);
    assert_eq!(env.client(&Auth::None).register(form).await.status, 200);
    let member = identity(&env, &owner.auth(), &email).await;
    assert_eq!(
        (
            member["isActive"].as_bool(),
            member["isAdmin"].as_bool(),
            member["isDatasetManager"].as_bool(),
            role_in(&member, &lab)
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "{member}"
    );
}

#[tokio::test]
async fn an_account_of_another_organization_joins_with_the_invites_teams_and_rights() {
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let guest = env.member(&home, "Gus", "Guest", &[]).await;
    let other = env.create_organization(&organization_name("Hosting Lab")).await;
    let optics = env.team(&other.auth(), "Optics").await;
    let grants = json!({"autoActivate": true, "isAdmin": false, "isDatasetManager": true,
        "teamMemberships": [{"id": optics, "isTeamManager": false}]});
    let token = invited(&env, &other.auth(), &guest.email, grants).await;
    let joined = env.client(&guest.auth()).join_organization(&token).await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    let there = identity(&env, &other.auth(), &guest.email).await;
    assert_eq!(
        (
            there["isActive"].as_bool(),
            there["isAdmin"].as_bool(),
            there["isDatasetManager"].as_bool(),
            role_in(&there, &optics)
        ),
        (Some(true), Some(false), Some(true), Some(false)),
        "{there}"
    );
    // At home nothing changed: the invite's rights are the new organization's only.
    let home_identity = env.client(&home.auth()).user(&guest.user_id).await.body;
    assert_eq!((home_identity["isDatasetManager"].as_bool(), role_in(&home_identity, &optics)), (Some(false), None));
}
