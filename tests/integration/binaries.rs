//! The real Lambda binaries: each function's `main` is started under the Lambda runtime API emulator
//! (`devstack::runtime_api`) and fed its sample event from `events/`, against DynamoDB Local and the
//! SES emulator, as `sam local invoke` would. The data the placeholders name is prepared first through
//! the local gateway.

use std::time::Duration;

use devstack::events::{SAMPLES, fill};
use devstack::runtime_api::{FunctionProcess, Outcome};
use serde_json::{Value, json};
use tests::functions::{binary, function_environment, prepare};
use tests::{TestEnv, text};

/// What each function's answer must show besides its status: a JSON pointer and its value, or just
/// that the pointer exists (`Value::Null`).
fn expected_body(function: &str, values: &[(&str, String)]) -> (&'static str, Value) {
    let value = |name: &str| json!(values.iter().find(|(n, _)| *n == name).unwrap().1);
    match function {
        "buildinfo" => ("/webknossos/name", Value::Null),
        "create_organization_with_admin" => ("/organization/id", Value::Null),
        "login" | "get_token" | "switch_organization" | "change_password" => ("/token", Value::Null),
        // WEBKNOSSOS answers an empty body; here an empty object.
        "verify_email" => ("", json!({})),
        "confirm_notification_address" => ("/organization", value("ORGANIZATION")),
        "register" => ("/email", Value::Null),
        "send_invites" => ("/recipients/0/email", Value::Null),
        "organization_by_invite" => ("/id", value("ORGANIZATION")),
        "join_organization" => ("/organization", value("ORGANIZATION")),
        "get_organization" | "update_organization" | "change_plan" => ("/id", value("ORGANIZATION")),
        "list_organizations" => ("/0/id", Value::Null),
        "create_organization" => ("/organization/id", Value::Null),
        "add_credits" => ("/milliCreditBalance", json!(5000)),
        "grant_operator" => ("/email", value("EMAIL")),
        // After change_plan's sample: Power, 50 users, the organization has 3 active.
        "pricing_status" => ("/pricingPlan", json!("Power")),
        "list_credit_transactions" => ("/0/milliCredits", json!(5000)),
        // After the request samples: the credits were asked for last.
        "list_plan_requests" => ("/0/kind", json!("credits")),
        "list_plan_updates" => ("/0/pricingPlan", json!("Power")),
        // After delete_team's sample: the newest team entry is the deletion.
        "audit_log" => ("/0/action", json!("team.deleted")),
        "list_invites" => ("/0/state", json!("pending")),
        "resend_invite" | "revoke_invite" => ("/id", value("INVITE_ID")),
        "current_user" => ("/email", value("EMAIL")),
        "list_users" => ("/0/id", Value::Null),
        "get_user" | "update_user" => ("/id", value("USER_ID")),
        "bulk_edit_teams_and_permissions" | "bulk_change_experiences" => ("/0/id", value("USER_ID")),
        "users_by_experience" => ("/0/id", value("USER_ID")),
        "experience_domains" => ("/0", json!("mito")),
        "list_teams" | "list_team_members" => ("/0/id", Value::Null),
        "create_team" => ("/name", Value::Null),
        "web" => ("/messages/0/code", json!("route.notFound")),
        "oidc_login" => ("/redirect_url", Value::Null),
        // A page (its text).
        "oidc_callback" => ("", Value::Null),
        "sso_settings" => ("/callbackUrl", Value::Null),
        "put_sso_connection" => ("/hasClientSecret", json!(true)),
        "claim_domain" => ("/verified", json!(false)),
        "verify_domain" => ("/messages/0/code", json!("sso.domain.recordMissing")),
        "update_domain" => ("/messages/0/code", json!("sso.domain.notVerified")),
        "provider_links" => ("", json!([])),
        "unlink_provider" => ("/messages/0/code", json!("sso.link.notFound")),
        "passkey_register_start" | "passkey_auth_start" => ("/challenge", Value::Null),
        "passkey_register_finalize" | "passkey_auth_finalize" => ("/messages/0/code", json!("auth.passkey.malformed")),
        "passkeys" => ("", json!([])),
        "remove_passkey" | "rename_passkey" => ("/messages/0/code", json!("auth.passkey.notFound")),
        "leave_organization" => ("/messages/0/code", json!("organization.leave.owner")),
        "transfer_ownership" => ("/messages/0/code", json!("organization.transfer.notAdmin")),
        "accept_ownership" => ("/messages/0/code", json!("organization.transfer.invalid")),
        "delete_organization" => ("/purgeComplete", Value::Null),
        "invite_maintenance" => ("/deleted", Value::Null),
        "organization_purge" => ("/finished", Value::Null),
        "report_storage_usage" => ("/stored", json!(true)),
        "notify_job_finished" => ("/mailed", Value::Null),
        // Published: no record for Lambda to retry.
        "publish_audit_events" => ("/batchItemFailures", json!([])),
        // The sample's permanent bounce marks its one address.
        "record_mail_events" => ("/addresses", json!(1)),
        // Sent: no message for SQS to keep.
        "send_mail" => ("/batchItemFailures", json!([])),
        // Routes that answer with a success message.
        _ => ("/messages/0/success", Value::Null),
    }
}

/// The HTTP status and JSON body of an API Gateway (payload 2.0) response; a background function's
/// result counts as 200.
pub fn status_and_body(function: &str, outcome: Outcome) -> Result<(u16, Value), String> {
    match outcome {
        Outcome::Error(error) => Err(format!("{function}: the function failed: {error}")),
        Outcome::Response(response) if response.get("statusCode").is_some() => {
            let status = response["statusCode"].as_u64().unwrap_or_default() as u16;
            let text = response["body"].as_str().unwrap_or_default();
            let page = response["headers"]["content-type"].as_str().is_some_and(|t| t.starts_with("text/html"));
            let body = if text.is_empty() {
                Value::Null
            } else if page {
                Value::String(text.to_owned())
            } else {
                serde_json::from_str(text).map_err(|e| format!("{function}: body is not JSON ({e}): {text}"))?
            };
            Ok((status, body))
        }
        Outcome::Response(result) => Ok((200, result)),
    }
}

/// The environment as template.yaml gives `function`: the name of a secret only when its declaration uses
/// it. A function that uses neither gets a Secrets Manager that refuses connections, so it answers only if
/// it reads no secret when it starts.
fn with_only_its_secrets(function: &str, environment: &[(String, String)]) -> Vec<(String, String)> {
    let actions = accounts::operations::ALL
        .iter()
        .find(|op| op.name == function)
        .map(|op| op.actions)
        .or_else(|| accounts::background::BACKGROUND.iter().find(|f| f.name == function).map(|f| f.actions))
        .unwrap_or_else(|| panic!("{function} is no operation or background function"));
    let reads = accounts::keys::SecretsRead::of(actions);
    let mut environment: Vec<(String, String)> = environment
        .iter()
        .filter(|(name, _)| {
            (name != accounts::signing::SESSION_KEY_SECRET_VARIABLE || reads.session_key)
                && (name != accounts::signing::TOKEN_SECRET_VARIABLE || reads.token_secret)
                && (name != accounts::keys::SEALING_KEY_SECRET_VARIABLE || reads.sealing_key)
        })
        .cloned()
        .collect();
    if reads == accounts::keys::SecretsRead::default() {
        for (name, value) in &mut environment {
            if name == accounts::signing::ENDPOINT_VARIABLE {
                *value = "http://127.0.0.1:9".to_owned();
            }
        }
    }
    environment
}

#[tokio::test]
async fn every_function_binary_answers_its_sample_event() {
    let env = TestEnv::new().await;
    let values = prepare(&env).await;
    let environment = function_environment(&env).await;
    let mut failures = Vec::new();
    for sample in SAMPLES {
        let path = devstack::repo_root().join("events").join(format!("{}.json", sample.function));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let event: Value =
            serde_json::from_str(&fill(&text, &values)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let environment = with_only_its_secrets(sample.function, &environment);
        let mut function = FunctionProcess::start(&binary("debug", sample.function), 256, &environment)
            .await
            .expect("the binary starts");
        let answer = match function.invoke(&event, Duration::from_secs(30)).await {
            Ok(invocation) => {
                println!(
                    "{}: init {:?}, answered in {:?}",
                    sample.function,
                    function.init_duration().unwrap_or_default(),
                    invocation.duration
                );
                status_and_body(sample.function, invocation.outcome)
            }
            Err(reason) => Err(reason),
        };
        let (pointer, expected) = expected_body(sample.function, &values);
        let checked = answer.and_then(|(status, body)| {
            let found = body.pointer(pointer);
            let body_ok = match &expected {
                Value::Null => found.is_some(),
                expected => found == Some(expected),
            };
            if status == sample.expected_status && body_ok {
                Ok(())
            } else {
                Err(format!(
                    "{}: expected {} with {pointer} = {expected}, got {status}: {body}",
                    sample.function, sample.expected_status
                ))
            }
        });
        if let Err(failure) = checked {
            failures.push(format!("{failure}\n  its output:\n{}", function.output()));
        }
    }
    assert!(failures.is_empty(), "{} of {} functions failed:\n{}", failures.len(), SAMPLES.len(), failures.join("\n"));
    // The functions hash at OWASP's cost (the tests' in-process gateway hashes cheaply, by its configuration).
    let hashes: Vec<String> = env
        .scan()
        .await
        .iter()
        .filter(|item| text(item, "entity") == "Account" && text(item, "email").starts_with("grace-"))
        .map(|account| text(account, "passwordHash"))
        .collect();
    assert_eq!(hashes.len(), 1, "the register binary's account");
    assert!(hashes[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hashes[0]);
}

#[test]
fn the_event_files_are_generated_from_the_samples_and_cover_every_function() {
    let mut sampled: Vec<&str> = SAMPLES.iter().map(|s| s.function).collect();
    sampled.sort();
    let mut functions = devstack::events::function_names();
    functions.sort();
    assert_eq!(sampled, functions, "every function has exactly one sample");
    for (file, text) in devstack::events::files() {
        let path = devstack::repo_root().join("events").join(&file);
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(stored == text, "events/{file} is out of date: run `cargo run -p devstack --bin sync-events`");
    }
}
