//! One test per kind of caller, over the user and team routes: the expected status for each, and an
//! unchanged table for every refusal.

use serde_json::{Value, json};
use tests::{Auth, TestEnv};

struct Case {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

#[tokio::test]
async fn each_role_gets_exactly_its_rights() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let admin = env.member(&owner, "Ann", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let red_manager = env.member(&owner, "Rita", "Redmanager", &[(&red, true)]).await;
    let blue_manager = env.member(&owner, "Bert", "Bluemanager", &[(&blue, true)]).await;
    let dataset_manager = env.member(&owner, "Dan", "Datasets", &[(&red, false)]).await;
    assert_eq!(
        env.patch_user(&dataset_manager.user_id, json!({"isDatasetManager": true}), &owner.auth()).await.status,
        200
    );
    let member = env.member(&owner, "Max", "Member", &[(&red, false)]).await;
    let deactivated = env.member(&owner, "Dee", "Deactivated", &[(&red, true)]).await;
    let target = env.member(&owner, "Tia", "Target", &[(&red, false)]).await;
    assert_eq!(env.patch_user(&deactivated.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);

    let user_path = format!("/api/users/{}", target.user_id);
    let cases = [
        Case { method: "GET", path: user_path.clone(), body: None },
        Case { method: "PATCH", path: user_path.clone(), body: Some(json!({"lastName": "Renamed"})) },
        Case { method: "PATCH", path: user_path.clone(), body: Some(json!({"experiences": {"nuclei": 3}})) },
        Case { method: "PATCH", path: user_path.clone(), body: Some(json!({"isDatasetManager": true})) },
        Case { method: "POST", path: "/api/teams".into(), body: Some(json!({"name": "New Team"})) },
        Case { method: "GET", path: format!("/api/teams/{red}/users"), body: None },
    ];
    // Expected status per case, for each caller.
    let callers: Vec<(&str, Auth, [u16; 6])> = vec![
        ("owner", owner.auth(), [200, 200, 200, 200, 200, 200]),
        ("admin", admin.auth(), [200, 200, 200, 200, 200, 200]),
        ("team manager of the user's team", red_manager.auth(), [200, 403, 200, 403, 403, 200]),
        ("team manager of another team", blue_manager.auth(), [404, 404, 404, 404, 403, 403]),
        ("dataset manager", dataset_manager.auth(), [404, 404, 404, 404, 403, 403]),
        ("member", member.auth(), [404, 404, 404, 404, 403, 403]),
        ("deactivated", deactivated.auth(), [401, 401, 401, 401, 401, 401]),
    ];
    for (who, auth, expected) in callers {
        for (case, status) in cases.iter().zip(expected) {
            let before = env.scan().await;
            let response = env.request(case.method, &case.path, case.body.clone(), &auth).await;
            assert_eq!(
                response.status, status,
                "{who}: {} {} {:?} -> {:?}",
                case.method, case.path, case.body, response.body
            );
            if status != 200 {
                assert_eq!(
                    env.scan().await,
                    before,
                    "{who}: a refused {} {} changed the table",
                    case.method,
                    case.path
                );
                continue;
            }
            // Allowed: the answer is what was asked for, and a change is made (read back by the owner).
            let what = format!("{who}: {} {}", case.method, case.path);
            match (case.method, &case.body) {
                ("PATCH", Some(body)) => {
                    let stored = env.client(&owner.auth()).user(&target.user_id).await.body;
                    for (field, value) in body.as_object().unwrap() {
                        assert_eq!(&stored[field], value, "{what}: {field} was not changed");
                    }
                }
                ("POST", _) => {
                    let teams = env.client(&owner.auth()).teams("").await.body;
                    assert!(teams.as_array().unwrap().iter().any(|t| t["name"] == "New Team"), "{what}: no team made");
                }
                _ if case.path == user_path => assert_eq!(response.body["id"], target.user_id.as_str(), "{what}"),
                _ => {
                    let members = response.body.as_array().expect("the team's members");
                    assert!(members.iter().any(|u| u["id"] == target.user_id.as_str()), "{what}: the target is listed");
                }
            }
        }
        // Undo what the allowed changes did, so every caller meets the same state.
        let reset = json!({"lastName": "Target", "experiences": {}, "isDatasetManager": false});
        assert_eq!(env.patch_user(&target.user_id, reset, &owner.auth()).await.status, 200);
        let teams = env.client(&owner.auth()).teams("").await.body;
        if let Some(new_team) = teams.as_array().unwrap().iter().find(|t| t["name"] == "New Team") {
            let id = new_team["id"].as_str().unwrap();
            assert_eq!(env.client(&owner.auth()).delete_team(id).await.status, 200);
        }
    }
}

/// The user-administration actions of issue 3, per role: activation, deactivation, admin rights, the
/// deletion right (owner only), teams, bulk edit, team deletion, and what `GET /users` and `GET /teams`
/// show. Each refusal leaves the table unchanged; the owner resets the state after each caller.
#[tokio::test]
async fn each_role_gets_exactly_its_user_administration_rights() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let admin = env.member(&owner, "Ann", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let other_admin = env.member(&owner, "Otto", "Otheradmin", &[]).await;
    assert_eq!(env.patch_user(&other_admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let red_manager = env.member(&owner, "Rita", "Redmanager", &[(&red, true)]).await;
    let blue_manager = env.member(&owner, "Bert", "Bluemanager", &[(&blue, true)]).await;
    let dataset_manager = env.member(&owner, "Dan", "Datasets", &[(&red, false)]).await;
    assert_eq!(
        env.patch_user(&dataset_manager.user_id, json!({"isDatasetManager": true}), &owner.auth()).await.status,
        200
    );
    let member = env.member(&owner, "Max", "Member", &[(&red, false)]).await;
    let deactivated = env.member(&owner, "Dee", "Deactivated", &[(&red, true)]).await;
    let to_deactivate = env.member(&owner, "Tod", "Todeactivate", &[(&red, false)]).await;
    let target = env.member(&owner, "Tia", "Target", &[(&red, false)]).await;
    let (_, pending) = env.register("Pia", "Pending").await;
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    let default_team = pending["teams"][0]["id"].as_str().unwrap().to_owned();
    let red_member_teams = json!([{"id": default_team}, {"id": red, "isTeamManager": false}]);
    assert_eq!(env.patch_user(&pending_id, json!({"teams": red_member_teams}), &owner.auth()).await.status, 200);
    assert_eq!(env.patch_user(&deactivated.user_id, json!({"isActive": false}), &owner.auth()).await.status, 200);

    let everyone: Vec<&str> = vec![
        &owner.user_id,
        &admin.user_id,
        &other_admin.user_id,
        &red_manager.user_id,
        &blue_manager.user_id,
        &dataset_manager.user_id,
        &member.user_id,
        &deactivated.user_id,
        &to_deactivate.user_id,
        &target.user_id,
        &pending_id,
    ];
    let red_members: Vec<&str> = vec![
        &red_manager.user_id,
        &dataset_manager.user_id,
        &member.user_id,
        &deactivated.user_id,
        &to_deactivate.user_id,
        &target.user_id,
        &pending_id,
    ];
    let manager_of_red = json!([{"id": default_team}, {"id": red, "isTeamManager": true}]);
    // (who, auth, expected statuses in the order of `actions` below, users seen, teams seen)
    type Expectation<'a> = (&'a str, Auth, [u16; 9], Vec<&'a str>, Vec<&'a str>);
    let callers: Vec<Expectation> = vec![
        (
            "owner",
            owner.auth(),
            [200, 200, 200, 200, 200, 200, 200, 200, 200],
            everyone.clone(),
            vec!["Blue", "Default", "Red", "Throwaway"],
        ),
        // Admins differ from the owner in one rule: only the owner grants the right to delete the organization.
        (
            "admin",
            admin.auth(),
            [200, 200, 200, 403, 200, 200, 200, 200, 200],
            everyone.clone(),
            vec!["Blue", "Default", "Red", "Throwaway"],
        ),
        (
            "team manager of the user's team",
            red_manager.auth(),
            [200, 403, 403, 404, 200, 200, 403, 200, 200],
            red_members.clone(),
            vec!["Default", "Red"],
        ),
        (
            "team manager of another team",
            blue_manager.auth(),
            [404, 404, 404, 404, 404, 404, 403, 200, 200],
            vec![&blue_manager.user_id],
            vec!["Blue", "Default"],
        ),
        // Bulk edits are for admins and team managers: others are refused whatever the target (403).
        (
            "dataset manager",
            dataset_manager.auth(),
            [404, 404, 404, 404, 404, 403, 403, 200, 200],
            vec![&dataset_manager.user_id],
            vec!["Default", "Red"],
        ),
        (
            "member",
            member.auth(),
            [404, 404, 404, 404, 404, 403, 403, 200, 200],
            vec![&member.user_id],
            vec!["Default", "Red"],
        ),
        ("deactivated", deactivated.auth(), [401; 9], vec![], vec![]),
    ];
    for (who, auth, expected, users_seen, teams_seen) in callers {
        let throwaway = env.team(&owner.auth(), "Throwaway").await;
        let actions: [(&str, String, Option<Value>); 9] = [
            ("PATCH", format!("/api/users/{pending_id}"), Some(json!({"isActive": true}))),
            ("PATCH", format!("/api/users/{}", to_deactivate.user_id), Some(json!({"isActive": false}))),
            ("PATCH", format!("/api/users/{}", target.user_id), Some(json!({"isAdmin": true}))),
            ("PATCH", format!("/api/users/{}", other_admin.user_id), Some(json!({"mayDeleteOrganization": true}))),
            ("PATCH", format!("/api/users/{}", target.user_id), Some(json!({"teams": manager_of_red}))),
            (
                "PATCH",
                "/api/users/teamsAndPermissions".into(),
                Some(json!({"userIds": [to_deactivate.user_id], "teams": manager_of_red})),
            ),
            ("DELETE", format!("/api/teams/{throwaway}"), None),
            ("GET", "/api/users".into(), None),
            ("GET", "/api/teams".into(), None),
        ];
        for ((method, path, body), status) in actions.iter().zip(expected) {
            let before = env.scan().await;
            let response = env.request(method, path, body.clone(), &auth).await;
            assert_eq!(response.status, status, "{who}: {method} {path} {body:?} -> {:?}", response.body);
            if status != 200 {
                assert!(!response.error_code().is_empty(), "{who}: {method} {path}: a clear error code");
                assert_eq!(env.scan().await, before, "{who}: a refused {method} {path} changed the table");
            } else if path == "/api/users" {
                let mut seen: Vec<&str> =
                    response.body.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
                seen.sort();
                let mut wanted = users_seen.clone();
                wanted.sort();
                assert_eq!(seen, wanted, "{who}: GET /api/users");
            } else if path == "/api/teams" {
                let seen: Vec<&str> =
                    response.body.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
                let wanted: Vec<&str> = teams_seen
                    .iter()
                    .copied()
                    .filter(|t| *t != "Throwaway" || status != 200 || expected[6] != 200)
                    .collect();
                assert_eq!(seen, wanted, "{who}: GET /api/teams");
            }
        }
        if who == "deactivated" {
            assert!(users_seen.is_empty() && teams_seen.is_empty());
        }
        // Back to the same state for the next caller.
        let resets = [
            (pending_id.clone(), json!({"isActive": false})),
            (to_deactivate.user_id.clone(), json!({"isActive": true, "teams": red_member_teams})),
            (target.user_id.clone(), json!({"isAdmin": false, "teams": red_member_teams})),
            (other_admin.user_id.clone(), json!({"mayDeleteOrganization": false})),
        ];
        for (id, body) in resets {
            let reset = env.patch_user(&id, body, &owner.auth()).await;
            assert_eq!(reset.status, 200, "reset after {who}: {:?}", reset.body);
        }
        if expected[6] != 200 {
            assert_eq!(env.client(&owner.auth()).delete_team(&throwaway).await.status, 200);
        }
    }
}
