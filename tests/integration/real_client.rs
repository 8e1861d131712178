//! The `webknossos` Python package, a client nobody on this project wrote, against the local gateway.

use tests::{TestEnv, organization_name};

#[tokio::test]
async fn the_webknossos_python_client_gets_the_current_user() {
    let python = devstack::repo_root().join("infra/.venv-client/bin/python");
    assert!(python.is_file(), "{} is missing: run the README's test command, which installs it", python.display());
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Client Lab")).await;
    let token = env.get("/api/auth/token", &owner.auth()).await.body["token"].as_str().unwrap().to_owned();
    let output = tokio::process::Command::new(python)
        .arg(devstack::repo_root().join("tests/client/check_current_user.py"))
        .env("WK_URL", &env.base_url)
        .env("WK_TOKEN", token)
        .env("EXPECT_EMAIL", &owner.email)
        .env("EXPECT_ORGANIZATION", &owner.organization)
        .output()
        .await
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the webknossos client failed:\n{printed}");
}
