//! Behaviour at the limits: 40 teams per user, a change too large for one transaction, an account in more
//! organizations than one transaction's entries can cover, and an operator whose address leaves the list.

use serde_json::{Value, json};
use tests::{Auth, PASSWORD, TestEnv, organization_name, text};

/// A user is in at most 40 teams (a 41st is refused), and a change too large for one DynamoDB transaction
/// (100 items) is refused whole with `request.tooManyChanges`, changing nothing.
#[tokio::test]
async fn forty_teams_at_most_and_a_change_past_the_transaction_cap_is_refused_whole() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let mut teams = Vec::new();
    for i in 0..79 {
        teams.push(env.team(&owner.auth(), &format!("Team {i:02}")).await);
    }
    let member = env.member(&owner, "Tess", "Teams", &[]).await;
    let default_team =
        env.client(&owner.auth()).user(&member.user_id).await.body["teams"][0]["id"].as_str().unwrap().to_owned();
    let memberships = |ids: &[String]| -> Vec<Value> {
        std::iter::once(&default_team).chain(ids).map(|id| json!({"id": id, "isTeamManager": false})).collect()
    };
    // The Default team and 39 more: 40.
    let forty = env.patch_user(&member.user_id, json!({"teams": memberships(&teams[..39])}), &owner.auth()).await;
    assert_eq!(forty.status, 200, "{:?}", forty.body);
    assert_eq!(forty.body["teams"].as_array().unwrap().len(), 40);
    // One more is refused, and nothing changes.
    let before = env.scan().await;
    let more = env.patch_user(&member.user_id, json!({"teams": memberships(&teams[..40])}), &owner.auth()).await;
    assert_eq!((more.status, more.error_code()), (400, "user.teams.tooMany"), "{:?}", more.body);
    assert_eq!(env.scan().await, before);

    // 39 teams left and 39 others joined (78 membership items), with 30 new experience domains (30
    // experience items and 30 domain items): more than one transaction holds.
    let experiences: serde_json::Map<String, Value> = (0..30).map(|i| (format!("domain{i:02}"), json!(1))).collect();
    let patch = json!({"teams": memberships(&teams[39..78]), "experiences": experiences});
    let too_many = env.patch_user(&member.user_id, patch, &owner.auth()).await;
    assert_eq!((too_many.status, too_many.error_code()), (400, "request.tooManyChanges"), "{:?}", too_many.body);
    assert_eq!(env.scan().await, before, "refused whole: nothing of it was written");
    // The same change in three steps fits: leaving the 39 teams, joining the 39 others (each joined team is
    // also checked to exist in the transaction), the experiences.
    for patch in [
        json!({"teams": memberships(&[])}),
        json!({"teams": memberships(&teams[39..78])}),
        json!({"experiences": experiences}),
    ] {
        let step = env.patch_user(&member.user_id, patch, &owner.auth()).await;
        assert_eq!(step.status, 200, "{:?}", step.body);
    }
    let stored = env.client(&owner.auth()).user(&member.user_id).await.body;
    assert_eq!(stored["teams"].as_array().unwrap().len(), 40);
    assert_eq!(stored["experiences"].as_object().unwrap().len(), 30);
}

/// An account that owns 47 organizations: logging out everywhere and changing the password each write an
/// entry into every organization's log and end every session, across several transactions (one holds at
/// most 100 items: about 45 organizations' identity updates and entries).
#[tokio::test]
async fn an_account_in_forty_seven_organizations_logs_out_everywhere_and_changes_its_password() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let traveller = env.create_organization(&organization_name("Home Base")).await;
    env.verify_email(&traveller.email, &traveller.auth()).await;
    let mut organizations = vec![traveller.organization.clone()];
    for i in 0..46 {
        let name = organization_name(&format!("Outpost {i:02}"));
        let created = env
            .client(&operator)
            .create_organization(json!({"ownerEmail": traveller.email, "organizationName": name}))
            .await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        organizations.push(created.body["organization"]["id"].as_str().unwrap().to_owned());
    }
    let entries_of = |scan: &[tests::Item], action: &str| -> std::collections::BTreeSet<String> {
        scan.iter()
            .filter(|i| text(i, "entity") == "AuditEntry" && text(i, "action") == action)
            .map(|i| text(i, "organization"))
            .collect()
    };
    let everywhere: std::collections::BTreeSet<String> = organizations.iter().cloned().collect();

    // A second session, in the last organization.
    let last = organizations.last().unwrap().clone();
    let switched = env.client(&traveller.auth()).switch_organization(&last).await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);
    let there = Auth::Bearer(switched.body["token"].as_str().unwrap().to_owned());
    let logged_out = env.client(&traveller.auth()).logout_everywhere().await;
    assert_eq!(logged_out.status, 200, "{:?}", logged_out.body);
    for ended in [traveller.auth(), there] {
        assert_eq!(env.client(&ended).current_user().await.status, 401, "every session ended");
    }
    assert_eq!(entries_of(&env.scan().await, "auth.logoutEverywhere"), everywhere, "an entry in each organization");

    let session = Auth::Bearer(env.login(&traveller.email, PASSWORD).await);
    let new_password = "a password for forty-seven labs";
    let changed = env.client(&session).change_password(PASSWORD, new_password).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(entries_of(&env.scan().await, "account.passwordChanged"), everywhere);
    assert_eq!(env.client(&Auth::None).login(&traveller.email, PASSWORD).await.status / 100, 4);
    env.login(&traveller.email, new_password).await;
}

/// The operator role belongs to the account: an operator whose address the deployment takes off its list
/// (`SUPER_USER_EMAILS`) stays one, and the address no longer being listed changes nothing else; a newly
/// listed address is no operator until its account is granted the role.
#[tokio::test]
async fn an_operator_whose_address_leaves_the_list_keeps_the_role_the_account_was_granted() {
    let env = TestEnv::new().await;
    let operator = env.operator().await;
    let newly_listed = env.create_organization(&organization_name("Candidate")).await;
    env.verify_email(&newly_listed.email, &newly_listed.auth()).await;
    let listed = newly_listed.email.clone();
    let relisted = env.sharing_table_with(move |config| config.super_users = vec![listed]).await;
    assert_eq!(relisted.client(&operator.auth()).plan_requests().await.status, 200, "still an operator");
    let candidate = relisted.client(&newly_listed.auth()).plan_requests().await;
    assert_eq!((candidate.status, candidate.error_code()), (403, "superUser.required"), "listed, not granted");
    // Off the list, the operator's address is an ordinary one: another account may not take it (it is in
    // use), and the operator may now change theirs.
    let moved = relisted
        .client(&operator.auth())
        .update_user(&operator.user_id, json!({"email": "ops-moved@instance.test", "currentPassword": PASSWORD}))
        .await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(relisted.client(&operator.auth()).plan_requests().await.status, 200, "the role moved with the account");
}
