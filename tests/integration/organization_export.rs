//! Exporting one organization and importing it into another table: exact round trips, and what an export
//! leaves out and an import refuses (the devstack's export-organization and import-organization).

use serde_json::json;
use tests::answers::Token;
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, organization_name, signup_form, text};

/// One organization exported (every item of it, and its people's accounts with only its identity),
/// imported into an empty table where the invariant checker finds it whole and its people log in, and
/// exported from there as the same bytes. Imported again: nothing to do. Into a table where an address of
/// it belongs to another account: refused, with nothing written.
#[tokio::test]
async fn an_organization_exported_and_imported_into_an_empty_table_round_trips_exactly() {
    use devstack::organization_export::{ExportOptions, export, from_json_lines, import, to_json_lines};
    use std::collections::BTreeSet;
    // The password hashes go with it here, so people log in on the other side.
    let with_hashes = ExportOptions { password_hashes: true, credentials: false };
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let team = env.team(&home.auth(), "Tracers").await;
    let member = env.member(&home, "Grace", "Hopper", &[(&team, true)]).await;
    // Someone of another organization who joined home too: only home's identity goes with the export.
    let elsewhere = env.create_organization(&organization_name("Elsewhere")).await;
    env.join_by_invite(&home, &elsewhere.email, &elsewhere.auth()).await;
    let pending = format!("pending-{}@example.org", &accounts::ids::new_object_id()[..8]);
    env.client(&home.auth()).send_invites(json!({"recipients": [pending]})).await;
    let asked = env.client(&home.auth()).request_plan_change("requestExtension", "").await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let source = env.direct_dynamodb();

    let items = export(&source, &env.table, HOME_ORGANIZATION, with_hashes).await.unwrap();
    let lines = to_json_lines(&items);
    let kinds: BTreeSet<String> = items.iter().map(|i| text(i, "entity")).collect();
    for kind in ["Organization", "User", "Team", "Membership", "Invite", "AuditEntry", "Account", "EmailGuard"] {
        assert!(kinds.contains(kind), "the export holds {kind}s: {kinds:?}");
    }
    assert!(kinds.contains("PlanRequest"), "and the organization's plan requests: {kinds:?}");
    assert!(!lines.contains(&elsewhere.organization), "nothing of the other organization");

    // Into an empty table: whole (the target env checks its invariants when it goes, and now), and live.
    let target = TestEnv::new().await;
    let written = import(&target.direct_dynamodb(), &target.table, &from_json_lines(&lines).unwrap()).await.unwrap();
    assert_eq!(written, items.len());
    target.check_invariants().await;
    let again = export(&target.direct_dynamodb(), &target.table, HOME_ORGANIZATION, with_hashes).await.unwrap();
    assert_eq!(to_json_lines(&again), lines, "exported from the import: the same bytes");
    let session = target.login(&home.email, PASSWORD).await;
    let users = target.get("/api/users", &Auth::Bearer(session)).await;
    assert_eq!(users.body.as_array().map(Vec::len), Some(3), "the owner, the member, the guest: {:?}", users.body);
    target.login(&member.email, PASSWORD).await;
    let guest = target.login(&elsewhere.email, PASSWORD).await;
    let organizations = target.get("/api/organizations", &Auth::Bearer(guest)).await;
    assert_eq!(organizations.body.as_array().map(Vec::len), Some(1), "only home: {:?}", organizations.body);

    // Again: everything is there as the file has it, so nothing is in the way.
    let before = target.scan().await;
    import(&target.direct_dynamodb(), &target.table, &items).await.unwrap();
    assert_eq!(target.scan().await, before);

    // A table where the member's address is someone else's account: refused, nothing written.
    let occupied = TestEnv::new().await;
    let mut form = signup_form(&member.email, &organization_name("Other"));
    form["organization"] = json!(format!("other_{}", &accounts::ids::new_object_id()[..8]));
    assert_eq!(occupied.post("/api/auth/createOrganizationWithAdmin", form, &Auth::None).await.status, 200);
    let before = occupied.scan().await;
    let refused = import(&occupied.direct_dynamodb(), &occupied.table, &items).await.unwrap_err();
    assert!(refused.contains("nothing imported") && refused.contains(&format!("EMAIL#{}", member.email)), "{refused}");
    assert_eq!(occupied.scan().await, before);
}

/// Exports leave the secrets behind unless asked: no sessions or personal tokens, emptied password hashes.
/// An import refuses what it cannot vouch for: credentials, and accounts, guards or users reaching beyond
/// the organization (an identity elsewhere would make someone a member there; a guard would take an
/// address).
#[tokio::test]
async fn exports_leave_secrets_behind_and_imports_refuse_what_they_cannot_vouch_for() {
    use accounts::store::Item;
    use aws_sdk_dynamodb::types::AttributeValue;
    use devstack::organization_export::{ExportOptions, export, import, to_json_lines};
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let token = env.client(&home.auth()).token().await.json::<Token>().token;
    let source = env.direct_dynamodb();
    let entity = |item: &Item| text(item, "entity");

    let plain = export(&source, &env.table, HOME_ORGANIZATION, ExportOptions::default()).await.unwrap();
    assert!(!plain.iter().any(|i| matches!(entity(i).as_str(), "Session" | "ApiToken")), "no credentials");
    let accounts: Vec<&Item> = plain.iter().filter(|i| entity(i) == "Account").collect();
    assert!(!accounts.is_empty() && accounts.iter().all(|a| text(a, "passwordHash").is_empty()), "hashes emptied");
    let lines = to_json_lines(&plain);
    assert!(!lines.contains(&home.session) && !lines.contains("$argon2"), "no secret in the file");
    // Imported, the organization is whole, and its people reset their passwords to log in.
    let target = TestEnv::new().await;
    import(&target.direct_dynamodb(), &target.table, &plain).await.unwrap();
    let refused = target.post("/api/auth/login", json!({"email": home.email, "password": PASSWORD}), &Auth::None).await;
    assert_eq!(refused.status, 401, "{:?}", refused.body);
    let reset = target.seed_password_reset(&home.email).await;
    let body = json!({"token": reset, "password": {"password1": PASSWORD, "password2": PASSWORD}});
    assert_eq!(target.post("/api/auth/resetPassword", body, &Auth::None).await.status, 200);
    target.login(&home.email, PASSWORD).await;

    // Asked for, the credentials come along, and an import refuses them.
    let full = ExportOptions { password_hashes: true, credentials: true };
    let with_credentials = export(&source, &env.table, HOME_ORGANIZATION, full).await.unwrap();
    assert!(with_credentials.iter().any(|i| entity(i) == "ApiToken") && !token.is_empty());
    let empty = TestEnv::new().await;
    let refused = import(&empty.direct_dynamodb(), &empty.table, &with_credentials).await.unwrap_err();
    assert!(refused.contains("live credential"), "{refused}");
    // An account that names an identity in another organization, or a guard for another account's address.
    let mut reaching = plain.clone();
    let account = reaching.iter_mut().find(|i| entity(i) == "Account").unwrap();
    if let Some(AttributeValue::M(identities)) = account.get_mut("identities") {
        identities.insert("elsewhere".into(), AttributeValue::S(accounts::ids::new_object_id()));
    }
    let refused = import(&empty.direct_dynamodb(), &empty.table, &reaching).await.unwrap_err();
    assert!(refused.contains("must name only its user of home"), "{refused}");
    let mut taking = plain.clone();
    let guard = taking.iter_mut().find(|i| entity(i) == "EmailGuard").unwrap();
    guard.insert("email".into(), AttributeValue::S("someone-else@example.org".into()));
    let refused = import(&empty.direct_dynamodb(), &empty.table, &taking).await.unwrap_err();
    assert!(refused.contains("names no account of the file with its address"), "{refused}");
    assert!(empty.scan().await.is_empty(), "nothing written");
}
