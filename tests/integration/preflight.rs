//! `infra/preflight.sh`, the checks before a first deploy (docs/deploy.md, step 0), run against a stand-in
//! `aws` command that answers as an account would: one ready for the stack, and a new one that is not.

use std::path::Path;
use std::process::Command;

/// A stand-in for the AWS CLI: answers the four reads the script makes from the `FAKE_*` variables.
const FAKE_AWS: &str = r#"#!/usr/bin/env bash
args=" $* "
case "$args" in
  *" lambda get-account-settings "*)
    echo "{\"AccountLimit\": {\"ConcurrentExecutions\": $FAKE_CONCURRENCY}}" ;;
  *" sesv2 get-account "*)
    echo "{\"ProductionAccessEnabled\": $FAKE_PRODUCTION, \"SendingEnabled\": true, \"SendQuota\": {\"MaxSendRate\": 14.0}}" ;;
  *" sesv2 get-email-identity "*)
    if [[ "$args" == *" --email-identity $FAKE_VERIFIED "* ]]; then echo '{"VerifiedForSendingStatus": true}'
    else echo "NotFoundException" >&2; exit 254; fi ;;
  *" cloudformation describe-type "*)
    if [ -n "$FAKE_MISSING_TYPE" ] && [[ "$args" == *" --type-name $FAKE_MISSING_TYPE "* ]]; then
      echo "TypeNotFoundException" >&2; exit 254
    fi
    echo '{}' ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"#;

/// Runs the script as `stack_name` with `sender`, the stand-in answering per `fake`; its status and output.
fn preflight(dir: &Path, stack_name: &str, sender: &str, fake: &[(&str, &str)]) -> (i32, String) {
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .arg(devstack::repo_root().join("infra/preflight.sh"))
        .args(["--stack-name", stack_name, "--sender", sender, "--region", "eu-central-1"])
        .env("PATH", path)
        .envs(fake.iter().copied())
        .output()
        .expect("bash runs the script");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn the_preflight_passes_a_ready_account_and_says_what_to_change_in_a_new_one() {
    let dir = std::env::temp_dir().join(format!("preflight-{}", accounts::ids::new_object_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let aws = dir.join("aws");
    std::fs::write(&aws, FAKE_AWS).unwrap();
    std::process::Command::new("chmod").args(["+x", aws.to_str().unwrap()]).status().unwrap();

    let ready = [
        ("FAKE_CONCURRENCY", "1000"),
        ("FAKE_PRODUCTION", "true"),
        ("FAKE_VERIFIED", "lab.example.org"),
        ("FAKE_MISSING_TYPE", ""),
    ];
    let (status, text) = preflight(&dir, "webknossos-accounts", "no-reply@lab.example.org", &ready);
    assert_eq!(status, 0, "{text}");
    for line in [
        "ok    stack name webknossos-accounts",
        "ok    Lambda concurrency quota 1000 (deploy with LambdaConcurrencyQuota=1000",
        "ok    SES production access (sending rate 14.0 per second",
        "ok    sender no-reply@lab.example.org may send (verified identity lab.example.org)",
        "ok    every resource type of template.yaml is offered in eu-central-1",
        "Ready: nothing blocks sam deploy",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }

    let new_account = [
        ("FAKE_CONCURRENCY", "10"),
        ("FAKE_PRODUCTION", "false"),
        ("FAKE_VERIFIED", "someone-else.example.org"),
        ("FAKE_MISSING_TYPE", "AWS::Events::Archive"),
    ];
    let (status, text) = preflight(&dir, "9-accounts_stack", "no-reply@lab.example.org", &new_account);
    assert_eq!(status, 1, "{text}");
    for line in [
        "FAIL  stack name 9-accounts_stack: CloudFormation takes a letter",
        "FAIL  Lambda concurrency quota is 10: ask for at least 100",
        "note  SES is in the sandbox",
        "FAIL  sender no-reply@lab.example.org is not verified for sending",
        "FAIL  not offered in eu-central-1 (or not readable: cloudformation:DescribeType): AWS::Events::Archive",
        "Not ready: change what FAIL says",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
