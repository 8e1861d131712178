use serde_json::json;
use tests::TestResponse;
use tests::answers::Team;
use tests::{TestEnv, organization_name, text};

fn names(teams: &TestResponse) -> Vec<String> {
    teams.json::<Vec<Team>>().into_iter().map(|t| t.name).collect()
}

#[tokio::test]
async fn admins_create_teams_with_unique_valid_names() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let created = env.client(&owner.auth()).create_team(" Tracing Team ").await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["name"], "Tracing Team");
    assert_eq!(created.body["organization"], "home");
    let duplicate = env.client(&owner.auth()).create_team("tracing team").await;
    assert_eq!((duplicate.status, duplicate.error_code()), (409, "team.name.alreadyInUse"));
    for (name, code) in [("", "team.name.empty"), ("a/b", "team.name.invalid")] {
        assert_eq!(env.client(&owner.auth()).create_team(name).await.error_code(), code);
    }
    assert_eq!(env.post("/api/teams", json!({"title": "x"}), &owner.auth()).await.error_code(), "request.body.invalid");
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let before = env.scan().await;
    let refused = env.client(&member.auth()).create_team("Mine").await;
    assert_eq!((refused.status, refused.error_code()), (403, "team.notAllowed"));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn team_lists_show_your_teams_and_admins_all() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    env.team(&owner.auth(), "blue").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let member = env.member(&owner, "Max", "Member", &[(&red, false)]).await;
    let teams = env.client(&owner.auth()).teams("").await;
    assert_eq!(names(&teams), ["blue", "Default", "Red"]);
    let marked: Vec<bool> = teams.json::<Vec<Team>>().iter().map(|t| t.is_organization_team).collect();
    assert_eq!(marked, [false, true, false], "only the Default team is the organization's");
    assert_eq!(names(&env.get("/api/v16/teams", &member.auth()).await), ["Default", "Red"]);
    assert_eq!(names(&env.client(&member.auth()).teams("isEditable=true").await), Vec::<String>::new());
    assert_eq!(names(&env.client(&manager.auth()).teams("isEditable=true").await), ["Red"]);
    assert_eq!(names(&env.client(&owner.auth()).teams("isEditable=true").await), ["blue", "Default", "Red"]);
}

#[tokio::test]
async fn deleting_a_team_removes_it_from_every_member_and_leaves_nothing_behind() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(env.member(&owner, "Red", &format!("Member{i}"), &[(&red, i == 0)]).await);
    }
    let refused = env.client(&members[0].auth()).delete_team(&red).await;
    assert_eq!((refused.status, refused.error_code()), (403, "team.notAllowed"));
    let deleted = env.client(&owner.auth()).delete_team(&red).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    for member in &members {
        let user = env.client(&owner.auth()).user(&member.user_id).await.body;
        assert!(!user["teams"].as_array().unwrap().iter().any(|t| t["id"] == red.as_str()), "{user}");
    }
    let leftovers: Vec<String> = env
        .scan()
        .await
        .iter()
        .map(|i| format!("{} {}", text(i, "SK"), text(i, "teamId")))
        .filter(|k| k.contains(&red))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!names(&env.client(&owner.auth()).teams("").await).contains(&"Red".to_owned()));
    // The name is free again; deleting again finds nothing; the Default team cannot be deleted.
    env.team(&owner.auth(), "Red").await;
    assert_eq!(env.client(&owner.auth()).delete_team(&red).await.status, 404);
    let default_team = env
        .client(&owner.auth())
        .teams("")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Default")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let protected = env.client(&owner.auth()).delete_team(&default_team).await;
    assert_eq!((protected.status, protected.error_code()), (403, "team.organizationTeam"));
    assert_eq!(env.client(&owner.auth()).delete_team("not-an-id").await.status, 404);
}

#[tokio::test]
async fn a_teams_members_are_listed_with_roles_in_pages() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    for i in 0..4 {
        env.member(&owner, "Red", &format!("Member{i}"), &[(&red, false)]).await;
    }
    let outsider = env.member(&owner, "Otto", "Outside", &[]).await;
    let mut seen = Vec::new();
    let mut path = format!("/api/teams/{red}/users?limit=2");
    loop {
        let page = env.get(&path, &manager.auth()).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        seen.extend(
            page.body
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["email"].as_str().unwrap().to_owned(), m["isTeamManager"].as_bool().unwrap())),
        );
        match page.header("x-next-cursor") {
            Some(cursor) => path = format!("/api/teams/{red}/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.contains(&(manager.email.clone(), true)));
    let refused = env.client(&outsider.auth()).team_members(&red, "").await;
    assert_eq!((refused.status, refused.error_code()), (403, "team.members.notAllowed"));
    assert_eq!(env.client(&owner.auth()).team_members(&red, "cursor=x").await.status, 400);
}

#[tokio::test]
async fn another_organizations_admin_gets_nothing_from_any_team_route() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    env.member(&owner, "Rita", "Red", &[(&red, true)]).await;
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    env.assert_foreign_caller_refused("DELETE", &format!("/api/teams/{red}"), None, &stranger.auth()).await;
    env.assert_foreign_caller_refused("GET", &format!("/api/teams/{red}/users"), None, &stranger.auth()).await;
    let teams = names(&env.client(&stranger.auth()).teams("").await);
    assert_eq!(teams, ["Default"], "only the stranger's own team");
    // Routes acting in the caller's own organization never touch or show another organization's items.
    let home = &owner.organization;
    for path in ["/api/teams", "/api/teams?isEditable=true", "/api/v16/teams"] {
        let listed = env.assert_foreign_caller_isolated("GET", path, None, &stranger.auth(), home).await;
        assert_eq!(names(&listed), ["Default"], "{path}");
    }
    // Creating a team (even one named like a team of the other organization, and naming that
    // organization) creates it in the caller's own organization only.
    let body = json!({"name": "Red", "organization": home});
    let created = env.assert_foreign_caller_isolated("POST", "/api/teams", Some(body), &stranger.auth(), home).await;
    assert_eq!((created.status, created.body["organization"].as_str()), (200, Some(stranger.organization.as_str())));
    assert_eq!(names(&env.client(&owner.auth()).teams("").await), ["Default", "Red"]);
    // A team of another organization cannot be joined.
    let before = env.scan().await;
    let join = env.patch_user(&stranger.user_id, json!({"teams": [{"id": red}]}), &stranger.auth()).await;
    assert_eq!((join.status, join.error_code()), (400, "team.notFound"));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn deleting_a_team_takes_it_out_of_pending_invites() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let suffix = &accounts::ids::new_object_id()[..10];
    let recipients: Vec<String> = (0..3).map(|i| format!("invited{i}-{suffix}@example.org")).collect();
    let body = json!({"recipients": recipients, "autoActivate": true, "isAdmin": false, "isDatasetManager": false,
        "teamMemberships": [{"id": red, "isTeamManager": true}, {"id": blue, "isTeamManager": false}]});
    let sent = env.client(&owner.auth()).send_invites(body).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let invites = |scan: Vec<tests::Item>| -> Vec<tests::Item> {
        scan.into_iter().filter(|i| text(i, "entity") == "Invite").collect()
    };
    let team_ids = |invite: &tests::Item| -> Vec<String> {
        match invite.get("teams") {
            Some(aws_sdk_dynamodb::types::AttributeValue::M(teams)) => {
                let mut ids: Vec<String> = teams.keys().cloned().collect();
                ids.sort();
                ids
            }
            _ => Vec::new(),
        }
    };
    let stored = invites(env.scan().await);
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|i| team_ids(i).contains(&red)), "{stored:?}");

    assert_eq!(env.client(&owner.auth()).delete_team(&red).await.status, 200);
    let stored = invites(env.scan().await);
    assert_eq!(stored.len(), 3);
    for invite in &stored {
        assert_eq!(team_ids(invite), vec![blue.clone()], "no invite keeps the deleted team: {invite:?}");
    }
    // The invites still work, with the teams that are left.
    let listed = env.client(&owner.auth()).invites("").await;
    assert_eq!(listed.status, 200);
    assert!(!listed.body.to_string().contains(&red));
}
