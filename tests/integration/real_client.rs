//! The `webknossos` Python package, a client nobody on this project wrote, against the local gateway.

use tests::answers::Token;
use tests::{TestEnv, organization_name};

/// Runs a script of tests/client/ with the venv's Python; fails the test with its output if it fails.
async fn run_client(script: &str, env: &TestEnv, token: &str, extra: &[(&str, &str)]) {
    let python = devstack::repo_root().join("infra/.venv-client/bin/python");
    assert!(python.is_file(), "{} is missing: run the README's test command, which installs it", python.display());
    let output = tokio::process::Command::new(python)
        .arg(devstack::repo_root().join("tests/client").join(script))
        .env("WK_URL", &env.base_url)
        .env("WK_TOKEN", token)
        .envs(extra.iter().copied())
        .output()
        .await
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the webknossos client failed ({script}):\n{printed}");
}

async fn token(env: &TestEnv, auth: &tests::Auth) -> String {
    env.client(auth).token().await.json::<Token>().token
}

#[tokio::test]
async fn the_webknossos_python_client_gets_the_current_user() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Client Lab")).await;
    let token = token(&env, &owner.auth()).await;
    let expected = [("EXPECT_EMAIL", owner.email.as_str()), ("EXPECT_ORGANIZATION", owner.organization.as_str())];
    run_client("check_current_user.py", &env, &token, &expected).await;
}

#[tokio::test]
async fn the_webknossos_python_client_manages_users_and_teams() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let token = token(&env, &owner.auth()).await;
    run_client("check_users_and_teams.py", &env, &token, &[("MEMBER_ID", member.user_id.as_str())]).await;
    let stored = env.client(&owner.auth()).user(&member.user_id).await.body;
    let team = stored["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Client Team")
        .expect("assigned by the client");
    assert_eq!(team["isTeamManager"], true);
}
