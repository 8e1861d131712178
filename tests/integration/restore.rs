//! The restore procedure of docs/deploy.md ("Restoring into a new stack"), rehearsed: a table restored
//! from a backup (AWS's restore makes an identical table outside any stack; here the table the data was
//! made in stands for it) copied by `restore-table` into a new stack's empty table, where everything
//! works as before.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tests::answers::Token;
use tests::{Auth, PASSWORD, TestEnv, text};

fn restore_table(from: &str, to: &str, extra: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(tests::functions::binary("debug", "restore-table"))
        .args(["--from", from, "--table", to, "--dynamodb-endpoint", &tests::services().dynamodb_endpoint])
        .args(extra)
        .output()
        .expect("restore-table runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code(), printed)
}

#[tokio::test]
async fn a_restored_table_copied_into_a_new_stack_works_as_before_and_is_never_merged_into_live_data() {
    let restored = TestEnv::new().await;
    // The home organization: its people register themselves (`member`), as in the export test.
    let owner = restored.create_home_organization().await;
    let team = restored.team(&owner.auth(), "Tracers").await;
    let member = restored.member(&owner, "Grace", "Hopper", &[(&team, true)]).await;
    let token = restored.client(&owner.auth()).token().await.json::<Token>().token;
    let pending = format!("pending-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let invited = restored.client(&owner.auth()).send_invites(json!({"recipients": [pending]})).await;
    assert_eq!(invited.status, 200, "{:?}", invited.body);
    let source = restored.scan().await;
    // The table holds the mail drainer's sending claims too, which snapshots leave out (`TestEnv::scan`).
    let claims = restored.mail_sending_claims().await;
    let everything = source.len() + claims.len();

    // The new stack's table, empty: the copy is item for item, and the checker finds it whole.
    let stack = TestEnv::new().await;
    let (status, printed) = restore_table(&restored.table, &stack.table, &[]);
    assert_eq!(status, Some(0), "{printed}");
    assert!(printed.contains(&format!("{everything} items read")), "{printed}");
    assert!(printed.contains(&format!("{}: 0 invariant violation(s)", stack.table)), "{printed}");
    assert_eq!((stack.scan().await, stack.mail_sending_claims().await), (source.clone(), claims.clone()));

    // It works as before: people log in with their passwords, sessions and tokens made before still work
    // (the new stack is given the same two secrets), the invite link is still pending.
    let session = stack.login(&member.email, PASSWORD).await;
    let me = stack.get("/api/user", &Auth::Bearer(session)).await;
    assert_eq!((me.status, me.body["email"].as_str()), (200, Some(member.email.as_str())), "{:?}", me.body);
    let users = stack.get("/api/users", &owner.auth()).await;
    assert_eq!(users.body.as_array().map(Vec::len), Some(2), "{:?}", users.body);
    assert_eq!(stack.get("/api/user", &Auth::Token(token)).await.status, 200);
    let teams = stack.get("/api/teams", &owner.auth()).await;
    assert!(format!("{:?}", teams.body).contains("Tracers"), "{:?}", teams.body);
    let link = tests::invite_token(&tests::mails_to(&pending).await.pop().expect("the invite mail"));
    assert_eq!(stack.client(&Auth::None).organization_by_invite(&link).await.status, 200, "the link still works");

    // Never into a table that holds anything: refused, nothing written.
    let before = stack.scan().await;
    let (status, printed) = restore_table(&restored.table, &stack.table, &[]);
    assert_eq!(status, Some(2), "{printed}");
    assert!(printed.contains("is not empty"), "{printed}");
    assert_eq!(stack.scan().await, before);
    // A copy cut short (a part of the items there, exactly) is finished with --resume, writing the rest.
    let cut_short = TestEnv::new().await;
    for item in source.iter().step_by(2) {
        cut_short.put_item(item.clone()).await;
    }
    let (status, printed) = restore_table(&restored.table, &cut_short.table, &["--resume", "yes"]);
    assert_eq!(status, Some(0), "{printed}");
    let rest = everything - source.len().div_ceil(2);
    assert!(printed.contains(&format!("{rest} written")), "{printed}");
    assert_eq!((cut_short.scan().await, cut_short.mail_sending_claims().await), (source.clone(), claims.clone()));
    // Again: nothing missing, nothing written.
    let (status, printed) = restore_table(&restored.table, &cut_short.table, &["--resume", "yes"]);
    assert_eq!(status, Some(0), "{printed}");
    assert!(printed.contains(" 0 written"), "{printed}");
    // But never over an item that differs from the restored table's (live data, not this restore's): the
    // new stack's table once it is used (a login writes the user's last activity), or one changed by hand.
    let (status, printed) = restore_table(&restored.table, &stack.table, &["--resume", "yes"]);
    assert_eq!(status, Some(2), "{printed}");
    assert!(printed.contains("with other contents"), "{printed}");
    let invite = source.iter().find(|i| text(i, "entity") == "Invite").expect("the invite");
    let changed = AttributeValue::S("someone-else@example.org".into());
    cut_short.set_attribute(&text(invite, "PK"), &text(invite, "SK"), "email", changed).await;
    let before = cut_short.scan().await;
    let (status, printed) = restore_table(&restored.table, &cut_short.table, &["--resume", "yes"]);
    assert_eq!(status, Some(2), "{printed}");
    assert!(printed.contains(&format!("{}/{} is in", text(invite, "PK"), text(invite, "SK"))), "{printed}");
    assert_eq!(cut_short.scan().await, before, "nothing written");
    cut_short.put_item(invite.clone()).await;
}
