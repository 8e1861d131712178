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
    assert_eq!(env.patch_user(&dataset_manager.user_id, json!({"isDatasetManager": true}), &owner.auth()).await.status, 200);
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
            assert_eq!(response.status, status, "{who}: {} {} {:?} -> {:?}", case.method, case.path, case.body, response.body);
            if status != 200 {
                assert_eq!(env.scan().await, before, "{who}: a refused {} {} changed the table", case.method, case.path);
            }
        }
        // Undo what the allowed changes did, so every caller meets the same state.
        let reset = json!({"lastName": "Target", "experiences": {}, "isDatasetManager": false});
        assert_eq!(env.patch_user(&target.user_id, reset, &owner.auth()).await.status, 200);
        let teams = env.get("/api/teams", &owner.auth()).await.body;
        if let Some(new_team) = teams.as_array().unwrap().iter().find(|t| t["name"] == "New Team") {
            let id = new_team["id"].as_str().unwrap();
            assert_eq!(env.request("DELETE", &format!("/api/teams/{id}"), None, &owner.auth()).await.status, 200);
        }
    }
}
