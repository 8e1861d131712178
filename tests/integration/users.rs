use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use tests::TestResponse;
use tests::answers::User;
use tests::barrier::WriteBarrier;
use tests::{Auth, HOME_ORGANIZATION, PASSWORD, TestEnv, mails_to, organization_name, text};

pub(crate) fn team_ids(user: &Value) -> Vec<(String, bool)> {
    let mut teams: Vec<(String, bool)> = user["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap().to_owned(), t["isTeamManager"].as_bool().unwrap()))
        .collect();
    teams.sort();
    teams
}

fn emails(users: &TestResponse) -> Vec<String> {
    users.json::<Vec<User>>().into_iter().map(|u| u.email).collect()
}

async fn organization_counter(env: &TestEnv, name: &str) -> i64 {
    let organization = env
        .scan()
        .await
        .into_iter()
        .find(|i| text(i, "PK") == format!("ORG#{HOME_ORGANIZATION}") && text(i, "SK") == "ORG")
        .unwrap();
    text(&organization, name).parse().unwrap()
}

#[tokio::test]
async fn registering_without_an_invite_needs_the_instance_to_allow_it() {
    let env = TestEnv::new().await;
    // The configured organization does not exist yet: registering is refused.
    let form = tests::signup_form("early@example.org", "x");
    let refused = env.client(&Auth::None).register(form).await;
    assert_eq!((refused.status, refused.error_code()), (403, "registration.disabled"));
    let owner = env.create_home_organization().await;
    let mut elsewhere = tests::signup_form("elsewhere@example.org", "x");
    elsewhere["organization"] = json!("another");
    assert_eq!(env.client(&Auth::None).register(elsewhere).await.error_code(), "registration.disabled");
    let mut with_token = tests::signup_form("token@example.org", "x");
    with_token["inviteToken"] = json!("made-up");
    assert_eq!(env.client(&Auth::None).register(with_token).await.error_code(), "invite.notFound");

    let (email, user) = env.register("Grace", "Hopper").await;
    assert_eq!(user["isActive"], false, "deactivated until an admin activates it");
    assert_eq!(user["organization"], HOME_ORGANIZATION);
    assert_eq!(user["teams"][0]["name"], "Default");
    let login = env.client(&Auth::None).login(&email, PASSWORD).await;
    assert_eq!((login.status, login.error_code()), (403, "user.deactivated"));
    let again = env.client(&Auth::None).register(tests::signup_form(&email, "x")).await;
    assert_eq!((again.status, again.error_code()), (409, "user.email.alreadyInUse"));
    // Mails: welcome to the user, notice to the owner (the mailing list is empty).
    assert!(mails_to(&email).await.iter().any(|m| m.subject == "Welcome to WEBKNOSSOS" && m.text.contains("Home Lab")));
    let notice = mails_to(&owner.email).await.into_iter().find(|m| m.text.contains(&email)).expect("the owner is told");
    assert!(notice.text.contains("activates it") && notice.html.contains("<p>"));
    assert_eq!(
        (organization_counter(&env, "memberCount").await, organization_counter(&env, "activeUserCount").await),
        (2, 1)
    );
}

#[tokio::test]
async fn auto_verify_and_the_mailing_list_are_respected() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let organization = accounts::model::Key::organization(HOME_ORGANIZATION);
    env.set_attribute(&organization.pk, &organization.sk, "enableAutoVerify", AttributeValue::Bool(true)).await;
    // The list's address, confirmed by its mailbox (the opt-in).
    let list = format!("signups-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let token = env.notification_token(&owner.auth(), HOME_ORGANIZATION, &list).await;
    env.confirm_notifications(&token).await;
    let (email, user) = env.register("Alan", "Turing").await;
    assert_eq!(user["isActive"], true);
    assert_eq!(env.client(&Auth::None).login(&email, PASSWORD).await.status, 200);
    assert!(mails_to(&list).await.iter().any(|m| m.text.contains(&email)));
    assert!(!mails_to(&owner.email).await.iter().any(|m| m.text.contains(&email)), "the list replaces the owner");
    // When the plan's users are all taken, auto-verification leaves the new user deactivated.
    env.set_attribute(&organization.pk, &organization.sk, "includedUsers", AttributeValue::N("2".into())).await;
    let (_, third) = env.register("Third", "User").await;
    assert_eq!(third["isActive"], false);
}

#[tokio::test]
async fn activation_carries_teams_mails_the_user_and_respects_included_users() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let team = env.team(&owner.auth(), "Tracers").await;
    let (email, user) = env.register("Ada", "Byron").await;
    let id = user["id"].as_str().unwrap();
    let default_team = user["teams"][0]["id"].as_str().unwrap().to_owned();
    let activated = env
        .patch_user(
            id,
            json!({"isActive": true, "teams": [{"id": default_team}, {"id": team, "isTeamManager": true}]}),
            &owner.auth(),
        )
        .await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    assert_eq!(activated.body["isActive"], true);
    assert_eq!(team_ids(&activated.body), {
        let mut t = vec![(default_team.clone(), false), (team.clone(), true)];
        t.sort();
        t
    });
    assert!(mails_to(&email).await.iter().any(|m| m.subject.contains("activated")));
    assert!(
        mails_to(&email)
            .await
            .iter()
            .any(|m| m.subject.contains("access") && m.text.contains("Tracers (team manager)"))
    );
    assert_eq!(organization_counter(&env, "activeUserCount").await, 2);
    // Membership items follow the user's teams.
    let memberships =
        env.scan().await.into_iter().filter(|i| text(i, "entity") == "Membership" && text(i, "userId") == id).count();
    assert_eq!(memberships, 2);

    let organization = accounts::model::Key::organization(HOME_ORGANIZATION);
    env.set_attribute(&organization.pk, &organization.sk, "includedUsers", AttributeValue::N("2".into())).await;
    let (_, second) = env.register("Over", "Limit").await;
    let before = env.scan().await;
    let refused = env.patch_user(second["id"].as_str().unwrap(), json!({"isActive": true}), &owner.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "organization.includedUsers.exceeded"));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn deactivation_is_for_admins_keeps_the_record_and_can_be_undone() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let team = env.team(&owner.auth(), "Lab").await;
    let manager = env.member(&owner, "Tom", "Manager", &[(&team, true)]).await;
    let member = env.member(&owner, "Mia", "Member", &[(&team, false)]).await;

    let by_manager = env.patch_user(&member.user_id, json!({"isActive": false}), &manager.auth()).await;
    assert_eq!((by_manager.status, by_manager.error_code()), (403, "user.deactivate.notAllowed"));
    let self_deactivation = env.patch_user(&owner.user_id, json!({"isActive": false}), &owner.auth()).await;
    assert_eq!(self_deactivation.error_code(), "user.deactivate.self");
    let admin = env.member(&owner, "Ann", "Admin", &[]).await;
    assert_eq!(env.patch_user(&admin.user_id, json!({"isAdmin": true}), &owner.auth()).await.status, 200);
    let owner_deactivation = env.patch_user(&owner.user_id, json!({"isActive": false}), &admin.auth()).await;
    assert_eq!(owner_deactivation.error_code(), "user.deactivate.owner");

    let deactivated = env.patch_user(&member.user_id, json!({"isActive": false}), &owner.auth()).await;
    assert_eq!(deactivated.body["isActive"], false);
    assert_eq!(env.client(&member.auth()).current_user().await.status, 401, "refused on the very next request");
    let login = env.client(&Auth::None).login(&member.email, PASSWORD).await;
    assert_eq!(login.status, 403);
    // The record stays, with its teams, and a team manager of its team can activate it again.
    let kept = env.client(&owner.auth()).user(&member.user_id).await;
    assert_eq!(kept.body["email"], member.email.as_str());
    let reactivated = env.patch_user(&member.user_id, json!({"isActive": true}), &manager.auth()).await;
    assert_eq!(reactivated.body["isActive"], true, "{:?}", reactivated.body);
    assert_eq!(env.client(&Auth::None).login(&member.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_last_admin_cannot_lose_admin_even_when_two_admins_demote_each_other_at_once() {
    // Forced: both demotions have read the two admins before either writes.
    let barrier = WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_home_organization().await;
    let only_admin = env.patch_user(&owner.user_id, json!({"isAdmin": false}), &owner.auth()).await;
    assert_eq!((only_admin.status, only_admin.error_code()), (409, "user.lastAdmin"));
    for round in 0..3 {
        let other = env.member(&owner, "Other", &format!("Admin{round}"), &[]).await;
        let promoted = env.patch_user(&other.user_id, json!({"isAdmin": true}), &owner.auth()).await;
        assert_eq!(promoted.body["isAdmin"], true);
        let (owner_auth, other_auth) = (owner.auth(), other.auth());
        // Each gives up its own admin rights at once (nobody else may take the owner's).
        barrier.arm(2, "USER#");
        let (a, b) = tokio::join!(
            env.patch_user(&other.user_id, json!({"isAdmin": false}), &other_auth),
            env.patch_user(&owner.user_id, json!({"isAdmin": false}), &owner_auth),
        );
        let admins: Vec<String> = env
            .scan()
            .await
            .into_iter()
            .filter(|i| text(i, "entity") == "User" && i.get("isAdmin") == Some(&AttributeValue::Bool(true)))
            .map(|i| text(&i, "id"))
            .collect();
        assert_eq!(barrier.met(), 2, "round {round}: the two demotions did not write at the same moment");
        assert!(!admins.is_empty(), "round {round}: no admin left after {} / {}", a.status, b.status);
        // One succeeds, the other is refused as the last admin: never a server error.
        let mut outcomes = [(a.status, a.error_code().to_owned()), (b.status, b.error_code().to_owned())];
        outcomes.sort();
        assert_eq!(outcomes, [(200, String::new()), (409, "user.lastAdmin".to_owned())], "round {round}");
        // Back to the owner as the only admin for the next round.
        if !admins.contains(&owner.user_id) {
            assert_eq!(env.patch_user(&owner.user_id, json!({"isAdmin": true}), &other_auth).await.status, 200);
        }
        if admins.contains(&other.user_id) {
            let demoted = env.patch_user(&other.user_id, json!({"isAdmin": false}), &owner_auth).await;
            assert_eq!(demoted.status, 200, "{:?}", demoted.body);
        }
    }
}

#[tokio::test]
async fn who_sees_whom_follows_webknossos() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let blue = env.team(&owner.auth(), "Blue").await;
    let manager = env.member(&owner, "Rita", "Redmanager", &[(&red, true)]).await;
    let red_member = env.member(&owner, "Rob", "Redmember", &[(&red, false)]).await;
    let blue_member = env.member(&owner, "Bea", "Bluemember", &[(&blue, false)]).await;
    let dataset_manager = env.member(&owner, "Dan", "Datasets", &[(&red, false)]).await;
    env.patch_user(&dataset_manager.user_id, json!({"isDatasetManager": true}), &owner.auth()).await;

    let all = env.client(&owner.auth()).users("").await;
    assert_eq!(all.body.as_array().unwrap().len(), 5);
    let seen_by_manager = emails(&env.client(&manager.auth()).users("").await);
    assert_eq!(seen_by_manager.len(), 3, "self and the two other Red members: {seen_by_manager:?}");
    assert!(seen_by_manager.contains(&red_member.email) && !seen_by_manager.contains(&blue_member.email));
    for plain in [&red_member, &dataset_manager] {
        assert_eq!(emails(&env.client(&plain.auth()).users("").await), vec![plain.email.clone()]);
    }
    let hidden = env.client(&manager.auth()).user(&blue_member.user_id).await;
    assert_eq!((hidden.status, hidden.error_code()), (404, "user.notFound"));
    let visible = env.client(&manager.auth()).user(&red_member.user_id).await;
    assert_eq!((visible.status, visible.body["isEditable"].as_bool()), (200, Some(true)));
    let own = env.client(&red_member.auth()).user(&red_member.user_id).await;
    assert_eq!((own.status, own.body["isEditable"].as_bool()), (200, Some(false)));
    // A dataset manager has no user-administration rights: refused, and nothing changes.
    let before = env.scan().await;
    let refused = env.patch_user(&red_member.user_id, json!({"firstName": "X"}), &dataset_manager.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (404, "user.notFound"));
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn the_user_list_filters_sorts_by_last_name_and_pages() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await; // Ada Lovelace
    let team = env.team(&owner.auth(), "Managers").await;
    for (first, last) in [("Zed", "adams"), ("Amy", "Zimmer"), ("Bob", "Brown")] {
        env.member(&owner, first, last, &[]).await;
    }
    let manager = env.member(&owner, "Carl", "carlson", &[(&team, true)]).await;
    env.register("Dora", "Deactivated").await;

    let names = |users: &TestResponse| users.json::<Vec<User>>().into_iter().map(|u| u.last_name).collect::<Vec<_>>();
    let all = env.client(&owner.auth()).users("").await;
    assert_eq!(names(&all), ["adams", "Brown", "carlson", "Deactivated", "Lovelace", "Zimmer"]);
    assert!(all.header("x-next-cursor").is_none());
    assert_eq!(names(&env.client(&owner.auth()).users("isActive=false").await), ["Deactivated"]);
    assert_eq!(names(&env.client(&owner.auth()).users("isActive=true&isAdmin=true").await), ["Lovelace"]);
    assert_eq!(names(&env.client(&owner.auth()).users("isTeamManagerOrAdmin").await), ["carlson", "Lovelace"]);
    assert_eq!(
        names(&env.client(&owner.auth()).users("isAdmin=false&isActive=true").await),
        ["adams", "Brown", "carlson", "Zimmer"]
    );
    assert_eq!(env.client(&owner.auth()).users("isEditable=false").await.body.as_array().unwrap().len(), 0);
    // A team manager edits the members of their team, themselves included.
    assert_eq!(names(&env.client(&manager.auth()).users("isEditable=true").await), ["carlson"]);

    // Pages of two, following the cursor, give every user once.
    let mut seen = Vec::new();
    let mut path = "/api/users?limit=2".to_owned();
    for _ in 0..4 {
        let page = env.get(&path, &owner.auth()).await;
        assert!(page.body.as_array().unwrap().len() <= 2);
        seen.extend(names(&page));
        match page.header("x-next-cursor") {
            Some(cursor) => path = format!("/api/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, names(&all));

    // The search box: name or address, any case, combined with the other filters and paged.
    assert_eq!(names(&env.client(&owner.auth()).users("search=ZIM").await), ["Zimmer"]);
    assert_eq!(names(&env.client(&owner.auth()).users("search=amy%20zim").await), ["Zimmer"]);
    assert_eq!(
        names(&env.client(&owner.auth()).users(&format!("search={}", owner.email.to_uppercase())).await),
        ["Lovelace"]
    );
    // (Letters outside the hex ids and "example.org" of the generated addresses.)
    assert_eq!(
        names(&env.client(&owner.auth()).users("search=n&isActive=true").await),
        ["Brown", "carlson", "Lovelace"]
    );
    assert_eq!(names(&env.client(&owner.auth()).users("search=t").await), ["Deactivated"]);
    assert_eq!(names(&env.client(&owner.auth()).users("search=t&isActive=true").await), Vec::<String>::new());
    let first = env.client(&owner.auth()).users("search=n&limit=1").await;
    assert_eq!(names(&first), ["Brown"]);
    let cursor = first.header("x-next-cursor").expect("more matches").to_owned();
    assert_eq!(
        names(&env.client(&owner.auth()).users(&format!("search=n&limit=1&cursor={cursor}")).await),
        ["carlson"]
    );
    assert_eq!(names(&env.client(&manager.auth()).users("search=carl").await), ["carlson"]);
    assert_eq!(
        env.client(&manager.auth()).users("search=zimmer").await.body,
        json!([]),
        "only what the manager may see"
    );
    let long = env.get(&format!("/api/users?search={}", "x".repeat(101)), &owner.auth()).await;
    assert_eq!((long.status, long.error_code()), (400, "request.search.invalid"));
    for bad in [
        "/api/users?limit=0",
        "/api/users?limit=x",
        "/api/users?cursor=%%%",
        "/api/users?isAdmin=maybe",
        "/api/users?limit=1001",
    ] {
        assert_eq!(env.get(bad, &owner.auth()).await.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn names_email_and_password_changes_follow_the_rules() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let team = env.team(&owner.auth(), "Lab").await;
    let manager = env.member(&owner, "Tom", "Manager", &[(&team, true)]).await;
    let member = env.member(&owner, "Mia", "Member", &[(&team, false)]).await;

    let renamed = env.patch_user(&member.user_id, json!({"firstName": "  Míà "}), &member.auth()).await;
    assert_eq!(renamed.body["firstName"], "Mia");
    assert_eq!(
        env.patch_user(&member.user_id, json!({"lastName": "Other"}), &owner.auth()).await.body["lastName"],
        "Other"
    );
    let by_manager = env.patch_user(&member.user_id, json!({"lastName": "Nope"}), &manager.auth()).await;
    assert_eq!((by_manager.status, by_manager.error_code()), (403, "user.name.notAllowed"));
    assert_eq!(
        env.patch_user(&member.user_id, json!({"lastName": " "}), &member.auth()).await.error_code(),
        "user.name.empty"
    );

    // E-mail: only your own, with the current password, and the new one must be free.
    let new_email = format!("new-{}", member.email);
    let others =
        env.patch_user(&member.user_id, json!({"email": new_email, "currentPassword": PASSWORD}), &owner.auth()).await;
    assert_eq!(others.error_code(), "user.credentials.notAllowed");
    let missing = env.patch_user(&member.user_id, json!({"email": new_email}), &member.auth()).await;
    assert_eq!(missing.error_code(), "user.currentPassword.missing");
    let wrong = env
        .patch_user(&member.user_id, json!({"email": new_email, "currentPassword": "wrong password"}), &member.auth())
        .await;
    assert_eq!(wrong.error_code(), "user.currentPassword.wrong");
    let taken = env
        .patch_user(&member.user_id, json!({"email": owner.email, "currentPassword": PASSWORD}), &member.auth())
        .await;
    assert_eq!((taken.status, taken.error_code()), (409, "user.email.alreadyInUse"));
    let changed = env
        .patch_user(
            &member.user_id,
            json!({"email": new_email.to_uppercase(), "currentPassword": PASSWORD}),
            &member.auth(),
        )
        .await;
    assert_eq!(changed.body["email"], new_email.as_str(), "{:?}", changed.body);
    assert_eq!(env.client(&Auth::None).login(&member.email, PASSWORD).await.status, 401);
    let session = env.login(&new_email, PASSWORD).await;
    assert!(
        !env.scan().await.iter().any(|i| text(i, "PK") == format!("EMAIL#{}", member.email)),
        "the old e-mail is free again"
    );

    // A new password ends every session; the new one works.
    let new_password = json!({"password": "a brand new password", "currentPassword": PASSWORD});
    assert_eq!(env.patch_user(&member.user_id, new_password, &Auth::Bearer(session.clone())).await.status, 200);
    assert_eq!(env.client(&Auth::Bearer(session)).current_user().await.status, 401);
    assert_eq!(env.client(&Auth::None).login(&new_email, "a brand new password").await.status, 200);
    let short = env
        .patch_user(
            &member.user_id,
            json!({"password": "short", "currentPassword": "a brand new password"}),
            &Auth::Bearer(env.login(&new_email, "a brand new password").await),
        )
        .await;
    assert_eq!(short.error_code(), "user.password.tooShort");
}

#[tokio::test]
async fn experiences_are_validated_and_join_the_domain_list() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let changed =
        env.patch_user(&member.user_id, json!({"experiences": {" nuclei ": 10, "mito": 0}}), &owner.auth()).await;
    assert_eq!(changed.body["experiences"], json!({"mito": 0, "nuclei": 10}));
    let domains: Vec<String> = env
        .scan()
        .await
        .iter()
        .filter(|i| text(i, "entity") == "ExperienceDomain")
        .map(|i| text(i, "domain"))
        .collect();
    assert_eq!(domains, ["mito", "nuclei"]);
    for (experiences, code) in [
        (json!({"x": -1}), "experience.value.outOfRange"),
        (json!({"": 1}), "experience.domain.empty"),
        (json!({"x": 1.5}), "request.body.invalid"),
    ] {
        let response = env.patch_user(&member.user_id, json!({"experiences": experiences}), &owner.auth()).await;
        assert_eq!((response.status, response.error_code()), (400, code), "{experiences}");
    }
    let own = env.patch_user(&member.user_id, json!({"experiences": {"nuclei": 99}}), &member.auth()).await;
    assert_eq!(own.error_code(), "user.experiences.notAllowed");
}

#[tokio::test]
async fn another_organizations_caller_gets_nothing_from_any_user_route() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Max", "Member", &[]).await;
    let stranger = env.create_organization(&organization_name("Elsewhere")).await;
    let path = format!("/api/users/{}", member.user_id);
    env.assert_foreign_caller_refused("GET", &path, None, &stranger.auth()).await;
    env.assert_foreign_caller_refused(
        "PATCH",
        &path,
        Some(json!({"isActive": false, "firstName": "Hacked"})),
        &stranger.auth(),
    )
    .await;
    let bulk = json!({"userIds": [member.user_id], "teams": [], "isAdmin": true});
    env.assert_foreign_caller_refused("PATCH", "/api/users/teamsAndPermissions", Some(bulk), &stranger.auth()).await;
    let listed = emails(&env.client(&stranger.auth()).users("").await);
    assert_eq!(listed, vec![stranger.email.clone()], "lists never show another organization's users");
    for path in [
        "/api/users",
        "/api/users?isEditable=true",
        "/api/users?isActive=true&limit=1",
        "/api/users?isAdmin=true",
        "/api/v16/users",
    ] {
        let listed = env.assert_foreign_caller_isolated("GET", path, None, &stranger.auth(), &owner.organization).await;
        assert_eq!((listed.status, emails(&listed)), (200, vec![stranger.email.clone()]), "{path}");
    }
}

#[tokio::test]
async fn a_user_change_is_checked_completely_before_anything_is_written() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let member = env.member(&owner, "Mia", "Member", &[]).await;
    let new_email = format!("new-{}", member.email);

    // A valid e-mail change with an admin-only field: refused, and the e-mail is not changed either.
    let before = env.scan().await;
    let body = json!({"email": new_email, "currentPassword": PASSWORD, "isAdmin": true});
    let refused = env.patch_user(&member.user_id, body, &member.auth()).await;
    assert_eq!((refused.status, refused.error_code()), (403, "user.admin.notAllowed"));
    assert_eq!(env.scan().await, before, "a refused change writes nothing");
    let body = json!({"password": "a brand new password", "currentPassword": PASSWORD, "teams": [{"id": "0123456789abcdef01234567"}]});
    let allowed = env.patch_user(&member.user_id, body, &member.auth()).await;
    assert_eq!(
        allowed.status, 200,
        "a member's submitted teams are ignored, so this one is allowed: {:?}",
        allowed.body
    );
    // (The password changed: log in again.)
    let session = tests::Auth::Bearer(env.login(&member.email, "a brand new password").await);
    let before = env.scan().await;
    let body = json!({"email": owner.email, "currentPassword": "a brand new password", "firstName": "Renamed"});
    let taken = env.patch_user(&member.user_id, body, &session).await;
    assert_eq!((taken.status, taken.error_code()), (409, "user.email.alreadyInUse"));
    assert_eq!(env.scan().await, before, "the name is not changed when the e-mail is taken");
    let body = json!({"email": new_email, "currentPassword": "wrong password", "firstName": "Renamed"});
    assert_eq!(env.patch_user(&member.user_id, body, &session).await.error_code(), "user.currentPassword.wrong");
    // Only the failure is counted (like a failed login); the user and the account are untouched.
    let not_throttle = |items: Vec<tests::Item>| {
        items.into_iter().filter(|i| !tests::text(i, "PK").starts_with("LOGIN#")).collect::<Vec<_>>()
    };
    assert_eq!(not_throttle(env.scan().await), not_throttle(before.clone()));

    // Allowed together: the name and the e-mail change in one write.
    let body = json!({"email": new_email, "currentPassword": "a brand new password", "firstName": "Renamed"});
    let changed = env.patch_user(&member.user_id, body, &session).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(
        (changed.body["email"].as_str(), changed.body["firstName"].as_str()),
        (Some(new_email.as_str()), Some("Renamed"))
    );
    let stored = env.client(&owner.auth()).user(&member.user_id).await.body;
    assert_eq!((stored["email"].as_str(), stored["firstName"].as_str()), (Some(new_email.as_str()), Some("Renamed")));
    assert!(!env.login(&new_email, "a brand new password").await.is_empty());
}

#[tokio::test]
async fn an_instance_without_self_registration_answers_with_a_clear_error() {
    let env = TestEnv::with_config(|config| config.self_registration_organization = None).await;
    // Even with an organization of the name other instances register into.
    env.create_home_organization().await;
    for organization in [None, Some(HOME_ORGANIZATION)] {
        let mut form =
            tests::signup_form(&format!("walk-in-{}@example.org", &accounts::ids::new_object_id()[..10]), "x");
        if let Some(organization) = organization {
            form["organization"] = json!(organization);
        }
        let before = env.scan().await;
        let refused = env.client(&Auth::None).register(form).await;
        assert_eq!((refused.status, refused.error_code()), (403, "registration.disabled"), "{:?}", refused.body);
        assert!(
            refused.body["messages"][0]["error"].as_str().is_some_and(|m| m.contains("invite")),
            "{:?}",
            refused.body
        );
        assert_eq!(env.scan().await, before, "nothing is written");
    }
}

#[tokio::test]
async fn activation_may_carry_admin_and_dataset_manager_rights_for_admins_only() {
    let env = TestEnv::new().await;
    let owner = env.create_home_organization().await;
    let red = env.team(&owner.auth(), "Red").await;
    let manager = env.member(&owner, "Rita", "Red", &[(&red, true)]).await;

    // A team manager may activate, but not grant admin or dataset-manager rights with it: nothing changes.
    let (_, pending) = env.register("Pat", "Pending").await;
    let id = pending["id"].as_str().unwrap();
    let default_team = pending["teams"][0]["id"].as_str().unwrap().to_owned();
    let teams = json!([{"id": default_team}, {"id": red}]);
    // Making them a Red member first (as an admin would) lets the team manager see them.
    assert_eq!(env.patch_user(id, json!({"teams": teams}), &owner.auth()).await.status, 200);
    for rights in [json!({"isAdmin": true}), json!({"isDatasetManager": true})] {
        let mut body = json!({"isActive": true});
        body.as_object_mut().unwrap().extend(rights.as_object().unwrap().clone());
        let before = env.scan().await;
        let refused = env.patch_user(id, body, &manager.auth()).await;
        assert_eq!(refused.status, 403, "{:?}", refused.body);
        assert!(refused.error_code().ends_with(".notAllowed"), "{:?}", refused.body);
        assert_eq!(env.scan().await, before, "still deactivated, no rights");
    }

    // An admin activates with teams and both rights in one request.
    let (email, user) = env.register("Ada", "Activated").await;
    let id = user["id"].as_str().unwrap();
    let default_team = user["teams"][0]["id"].as_str().unwrap().to_owned();
    let body = json!({"isActive": true, "isAdmin": true, "isDatasetManager": true,
        "teams": [{"id": default_team}, {"id": red, "isTeamManager": true}]});
    let activated = env.patch_user(id, body, &owner.auth()).await;
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    assert_eq!(
        (
            activated.body["isActive"].as_bool(),
            activated.body["isAdmin"].as_bool(),
            activated.body["isDatasetManager"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    let stored = env.client(&owner.auth()).user(id).await.body;
    assert_eq!(
        (stored["isActive"].as_bool(), stored["isAdmin"].as_bool(), stored["isDatasetManager"].as_bool()),
        (Some(true), Some(true), Some(true))
    );
    assert!(team_ids(&stored).contains(&(red.clone(), true)));
    let mails = mails_to(&email).await;
    assert!(mails.iter().any(|m| m.subject.contains("activated")));
    assert!(mails.iter().any(|m| m.subject.contains("access")
        && m.text.contains("You are now an admin")
        && m.text.contains("You are now a dataset manager")));
    // The new admin can act as one right away.
    let session = Auth::Bearer(env.login(&email, PASSWORD).await);
    assert_eq!(env.client(&session).users("").await.body.as_array().unwrap().len(), 4);
}
