use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tests::answers::Token;
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, invite_token, mails_to, organization_name, signup_form, text};

/// Whether any attribute of `item`, at any depth, is the string `organization` or a map key equal to it.
pub(crate) fn names_organization(item: &tests::Item, organization: &str) -> bool {
    fn names(value: &AttributeValue, organization: &str) -> bool {
        match value {
            AttributeValue::S(text) => text == organization || text.starts_with(&format!("ORG#{organization}")),
            AttributeValue::M(map) => map.iter().any(|(key, value)| key == organization || names(value, organization)),
            AttributeValue::L(list) => list.iter().any(|value| names(value, organization)),
            AttributeValue::Ss(set) => set.iter().any(|text| text == organization),
            _ => false,
        }
    }
    // The tombstone that keeps the id from being taken again names it on purpose (and nothing else).
    if text(item, "entity") == "OrganizationTombstone" {
        assert_eq!(text(item, "PK"), format!("ORGID#{}", text(item, "id")));
        return false;
    }
    item.values().any(|value| names(value, organization))
}

/// Invites `email` into `host`'s organization and lets the account with the session `guest` join it.
#[tokio::test]
async fn the_overview_shows_plan_storage_members_and_credits_to_whom_it_should() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    env.register("Dora", "Deactivated").await;
    let path = format!("/api/organizations/{HOME_ORGANIZATION}");
    let seen = env.get(&path, &owner.auth()).await.body;
    assert_eq!(seen["name"], "Home Lab");
    assert_eq!(seen["ownerName"], "Ada Lovelace");
    assert_eq!((seen["memberCount"].as_u64(), seen["activeUserCount"].as_u64()), (Some(3), Some(2)));
    assert_eq!((seen["pricingPlan"].as_str(), seen["includedUsers"].as_u64()), (Some("Custom"), None));
    assert_eq!((seen["usedStorageBytes"].as_u64(), seen["milliCreditBalance"].as_i64()), (Some(0), Some(0)));
    assert_eq!(
        (seen["newUserMailingList"].as_str(), seen["aiJobNotifications"].as_str()),
        (Some(""), Some("jobOwner"))
    );
    let by_member = env.get(&format!("/api/v16/organizations/{HOME_ORGANIZATION}"), &member.auth()).await.body;
    assert_eq!(by_member["milliCreditBalance"], 0, "credits for members");
    assert!(
        by_member.get("newUserMailingList").is_none() && by_member.get("planSubscriptionEmail").is_none(),
        "settings for admins only"
    );
    // Members get WEBKNOSSOS's public fields, exactly.
    let mut fields: Vec<&str> = by_member.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "created",
            "enableAutoVerify",
            "id",
            "includedStorageBytes",
            "includedUsers",
            "milliCreditBalance",
            "name",
            "ownerName",
            "paidUntil",
            "pricingPlan",
            "usedStorageBytes"
        ]
    );
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    env.assert_foreign_caller_refused("GET", &path, None, &stranger.auth()).await;
    env.assert_foreign_caller_refused("PATCH", &path, Some(json!({"name": "Taken over"})), &stranger.auth()).await;
    env.assert_foreign_caller_refused("DELETE", &path, Some(json!({"confirmation": "Home Lab"})), &stranger.auth())
        .await;
}

#[tokio::test]
async fn admins_change_the_name_and_notification_settings() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let path = format!("/api/organizations/{HOME_ORGANIZATION}");
    let patch = json!({"name": "  Renamed   Lab ", "newUserMailingList": "Signups@Example.org", "planSubscriptionEmail": "billing@example.org", "aiJobNotifications": "jobOwnerAndAdmins"});
    let changed = env.request("PATCH", &path, Some(patch), &owner.auth()).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["name"], "Renamed Lab");
    assert_eq!(changed.body["newUserMailingList"], "signups@example.org");
    assert_eq!(changed.body["planSubscriptionEmail"], "billing@example.org");
    assert_eq!(changed.body["aiJobNotifications"], "jobOwnerAndAdmins");
    assert_eq!(
        env.request("PATCH", &path, Some(json!({"newUserMailingList": ""})), &owner.auth()).await.body["newUserMailingList"],
        ""
    );
    // Several new-user recipients, each checked (and, once its mailbox confirmed, told); auto-verification
    // switched by admins.
    let unique = &accounts::ids::new_object_id()[..8];
    let (a, b) = (format!("a-{unique}@example.org"), format!("b-{unique}@example.org"));
    let list = env
        .request(
            "PATCH",
            &path,
            Some(json!({"newUserMailingList": format!("{}, {b}", a.to_uppercase()), "enableAutoVerify": true})),
            &owner.auth(),
        )
        .await;
    assert_eq!(
        (list.body["newUserMailingList"].as_str(), list.body["enableAutoVerify"].as_bool()),
        (Some(format!("{a}, {b}").as_str()), Some(true))
    );
    for address in [&a, &b] {
        env.confirm_notifications(&tests::confirmation_token(address).await.expect("the confirmation link")).await;
    }
    let (email, registered) = env.register("Auto", "Verified").await;
    assert_eq!(registered["isActive"], true, "auto-verified on sign-up");
    for address in [&a, &b] {
        assert!(tests::mails_to(address).await.iter().any(|m| m.text.contains(&email)), "{address} was told");
    }
    let before = env.scan().await;
    for (patch, code) in [
        (json!({"name": " "}), "organization.name.empty"),
        (json!({"newUserMailingList": "nope"}), "user.email.invalid"),
        (json!({"newUserMailingList": "ok@example.org, nope"}), "user.email.invalid"),
        (json!({"enableAutoVerify": "yes"}), "request.body.invalid"),
        (json!({"aiJobNotifications": "everyone"}), "organization.aiJobNotifications.invalid"),
        (json!({"name": 5}), "request.body.invalid"),
    ] {
        let response = env.request("PATCH", &path, Some(patch.clone()), &owner.auth()).await;
        assert_eq!((response.status, response.error_code()), (400, code), "{patch}");
    }
    let refused = env.request("PATCH", &path, Some(json!({"name": "Mine"})), &member.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "organization.notAllowed"));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn a_person_in_two_organizations_switches_and_sees_only_each_ones_data() {
    let env = TestEnv::new().await;
    let home = env.create_home_organization().await;
    let colleague = env.member(&home, "Col", "League", &[]).await;
    let other = env.create_organization(&organization_name("Other Lab")).await;
    let other_member_email = format!("peer-{}", &other.email);
    // Ada (home's owner) joins the other organization with the same login.
    env.join_by_invite(&other, &home.email, &home.auth()).await;
    let mine = env.get("/api/organizations?compact", &home.auth()).await.body;
    let mut ids: Vec<&str> = mine.as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![HOME_ORGANIZATION, other.organization.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(mine[0].get("pricingPlan").is_none(), "compact");

    let switched = env.client(&home.auth()).switch_organization(&other.organization).await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);
    assert!(switched.header("set-cookie").unwrap().contains("HttpOnly"));
    let there = Auth::Bearer(switched.json::<Token>().token);
    let me = env.client(&there).current_user().await.body;
    assert_eq!(
        (me["organization"].as_str(), me["isAdmin"].as_bool()),
        (Some(other.organization.as_str()), Some(false))
    );
    let users: Vec<String> = env
        .client(&there)
        .users("")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, vec![home.email.clone()], "a plain member sees only themselves there");
    assert_eq!(env.client(&there).user(&colleague.user_id).await.status, 404, "home's users are invisible there");
    assert_eq!(env.client(&there).organization(HOME_ORGANIZATION).await.status, 404);
    // The home session still works at home; login now picks the organization used last.
    assert_eq!(env.client(&home.auth()).current_user().await.body["organization"], HOME_ORGANIZATION);
    let login = env.client(&Auth::None).login(&home.email, PASSWORD).await;
    assert_eq!(login.body["user"]["organization"], other.organization.as_str());
    // Switching to an organization you are not in, or are deactivated in, is refused.
    let stranger_org = env.create_organization(&organization_name("Stranger Lab")).await;
    assert_eq!(env.client(&home.auth()).switch_organization(&stranger_org.organization).await.status, 404);
    let my_id_there = me["id"].as_str().unwrap().to_owned();
    assert_eq!(env.patch_user(&my_id_there, json!({"isActive": false}), &other.auth()).await.status, 200);
    let deactivated = env.client(&home.auth()).switch_organization(&other.organization).await;
    assert_eq!((deactivated.status, deactivated.error_code()), (403, "user.deactivated"));
    let _ = other_member_email;
}

#[tokio::test]
async fn instance_operators_create_organizations_change_plans_and_add_credits() {
    let env = TestEnv::new().await;
    let operator = env.operator().await.auth();
    let owner = env.create_organization(&organization_name("Customer")).await;
    // An account becomes owner at once only with a proven address (see security.rs for the other case).
    env.verify_email(&owner.email, &owner.auth()).await;

    let created = env
        .client(&operator)
        .create_organization(
            json!({"ownerEmail": owner.email, "organizationName": "Second Lab", "organization": "second"}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["owner"]["isOrganizationOwner"], true);
    let switched = env.client(&owner.auth()).switch_organization("second").await;
    assert_eq!(switched.status, 200, "the owner uses the same login there");
    // An e-mail without an account: the organization waits for its owner, who is invited.
    let newcomer = format!("new-owner-{}", &owner.email);
    let awaiting = env
        .client(&operator)
        .create_organization(json!({"ownerEmail": newcomer, "organizationName": "Fresh Lab", "organization": "fresh"}))
        .await;
    assert_eq!(awaiting.status, 200, "{:?}", awaiting.body);
    assert!(awaiting.body["owner"].is_null());
    assert_eq!(
        (
            awaiting.body["ownerInvite"]["email"].as_str(),
            awaiting.body["ownerInvite"]["isAdmin"].as_bool(),
            awaiting.body["mailed"].as_bool()
        ),
        (Some(newcomer.as_str()), Some(true), Some(true))
    );
    let token = invite_token(&mails_to(&newcomer).await.pop().unwrap());
    let mut form = signup_form(&newcomer, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.client(&Auth::None).register(form).await;
    assert_eq!(registered.status, 200, "{:?}", registered.body);
    assert_eq!(
        (
            registered.body["isOrganizationOwner"].as_bool(),
            registered.body["isAdmin"].as_bool(),
            registered.body["isActive"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    let new_owner = Auth::Bearer(env.login(&newcomer, PASSWORD).await);
    let fresh = env.client(&new_owner).organization("fresh").await.body;
    assert_eq!(
        (fresh["ownerName"].as_str(), fresh["memberCount"].as_u64()),
        (Some("Ada Lovelace"), Some(1)),
        "{fresh}"
    );
    let stored = env.scan().await.into_iter().find(|i| text(i, "PK") == "ORG#fresh" && text(i, "SK") == "ORG").unwrap();
    assert_eq!(text(&stored, "ownerUserId"), registered.body["id"].as_str().unwrap());
    assert_eq!(
        env.client(&operator)
            .create_organization(
                json!({"ownerEmail": "someone-else@example.org", "organizationName": "Fresh", "organization": "fresh"})
            )
            .await
            .error_code(),
        "organization.id.alreadyInUse"
    );
    let taken = env
        .client(&operator)
        .create_organization(json!({"ownerEmail": owner.email, "organizationName": "Again", "organization": "second"}))
        .await;
    assert_eq!(taken.error_code(), "organization.id.alreadyInUse");

    let plan = json!({"pricingPlan": "Team", "includedUsers": 10, "includedStorageBytes": 1_000_000, "paidUntil": 1_900_000_000_000_i64});
    let planned = env.client(&operator).change_plan(&owner.organization, plan).await;
    assert_eq!(planned.status, 200, "{:?}", planned.body);
    let overview = env.client(&owner.auth()).organization(&owner.organization).await.body;
    assert_eq!((overview["pricingPlan"].as_str(), overview["includedUsers"].as_u64()), (Some("Team"), Some(10)));
    let unlimited = env.client(&operator).change_plan(&owner.organization, json!({"includedUsers": null})).await;
    assert!(unlimited.body["includedUsers"].is_null());
    // An empty change writes nothing and answers the organization as stored.
    let before_empty = env.scan().await;
    let unchanged = env.client(&operator).change_plan(&owner.organization, json!({})).await;
    assert_eq!(unchanged.status, 200, "{:?}", unchanged.body);
    assert_eq!(
        (unchanged.body["pricingPlan"].as_str(), unchanged.body["includedStorageBytes"].as_u64()),
        (Some("Team"), Some(1_000_000)),
        "{:?}",
        unchanged.body
    );
    assert!(unchanged.body["includedUsers"].is_null());
    assert_eq!(env.scan().await, before_empty);
    assert_eq!(
        env.client(&operator).change_plan(&owner.organization, json!({"pricingPlan": "Gold"})).await.error_code(),
        "organization.plan.invalid"
    );

    let credits = format!("/api/organizations/{}/credits", owner.organization);
    let added = env.post(&credits, json!({"milliCredits": 5000, "comment": "welcome"}), &operator).await;
    assert_eq!((added.status, added.body["milliCreditBalance"].as_i64()), (200, Some(5000)), "{:?}", added.body);
    let spent = env.post(&credits, json!({"milliCredits": -3000, "comment": "job"}), &operator).await;
    assert_eq!(spent.body["milliCreditBalance"], 2000);
    let overdrawn = env.post(&credits, json!({"milliCredits": -3000}), &operator).await;
    assert_eq!((overdrawn.status, overdrawn.error_code()), (409, "credits.insufficient"));
    assert_eq!(env.post(&credits, json!({"milliCredits": 0}), &operator).await.error_code(), "credits.amount.invalid");
    assert_eq!(env.client(&owner.auth()).organization(&owner.organization).await.body["milliCreditBalance"], 2000);
    let transactions = env.scan().await.into_iter().filter(|i| text(i, "entity") == "CreditTransaction").count();
    assert_eq!(transactions, 2, "the failed debit left no transaction");

    // Nobody else does any of this.
    let before = env.scan().await;
    for (method, path, body) in [
        ("POST", "/api/organizations".to_owned(), json!({"ownerEmail": owner.email, "organizationName": "Mine"})),
        ("PATCH", format!("/api/organizations/{}/plan", owner.organization), json!({"pricingPlan": "Power"})),
        ("POST", credits.clone(), json!({"milliCredits": 1})),
    ] {
        let response = env.request(method, &path, Some(body), &owner.auth()).await;
        assert_eq!((response.status, response.error_code()), (403, "superUser.required"), "{method} {path}");
    }
    assert_eq!(env.scan().await, before);
}
