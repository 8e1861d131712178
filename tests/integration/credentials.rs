//! Account recovery and proven e-mail addresses: password reset, password change, e-mail verification
//! (operator rights, which no address grants, are in `operators.rs`).

use accounts::domain::credentials::{MAIL_REQUESTS_PER_EMAIL, MAIL_REQUESTS_PER_EMAIL_AND_CLIENT, RESET_REQUESTED};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use tests::answers::Token;
use tests::{Auth, PASSWORD, TestEnv, link_token, mails_to, organization_name, signup_form};

const NEW_PASSWORD: &str = "a brand new horse battery";

/// Ends a link's validity now (with the TTL the model derives from it).
async fn expire(env: &TestEnv, pk: &str, sk: &str) {
    let now = accounts::ids::now_millis();
    env.set_attribute(pk, sk, "validUntil", AttributeValue::N(now.to_string())).await;
    env.set_attribute(pk, sk, "expiresAt", AttributeValue::N((now / 1000 + 24 * 3600).to_string())).await;
}

#[tokio::test]
async fn an_operator_creating_an_organization_for_an_unproven_account_invites_the_mailbox_instead() {
    let env = TestEnv::new().await;
    let operator = env.operator().await;
    let claimant = env.create_organization(&organization_name("Claimant")).await;
    let created = env
        .client(&operator.auth())
        .create_organization(
            json!({"ownerEmail": claimant.email, "organizationName": "Big Lab", "organization": "big"}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["owner"], json!(null), "nobody owns it yet: {:?}", created.body);
    let listed = env.client(&claimant.auth()).organizations().await;
    assert!(!listed.body.to_string().contains("\"big\""), "the claimant is not a member: {}", listed.body);
    assert!(
        mails_to(&claimant.email).await.iter().any(|m| m.text.contains("/invite/")),
        "the address got the owner invite"
    );
}

#[tokio::test]
async fn a_password_reset_sets_the_password_ends_every_credential_and_proves_the_address() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Forgetful")).await;
    let other_session = Auth::Bearer(env.login(&owner.email, PASSWORD).await);
    let api_token = Auth::Token(env.client(&owner.auth()).token().await.json::<Token>().token);
    let account_id = env.account_id(&owner.email).await;

    // The same answer for an address with and without an account; only the account's gets mail.
    let stranger = format!("nobody-{}@example.org", &account_id[..8]);
    let known = env.client(&Auth::None).start_reset_password(&owner.email).await;
    let unknown = env.client(&Auth::None).start_reset_password(&stranger).await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(known.body["messages"][0]["success"], RESET_REQUESTED);
    assert!(mails_to(&stranger).await.is_empty());
    let first = link_token(&owner.email, "finishResetPassword?token=", &account_id).await.expect("the reset mail");
    assert!(mails_to(&owner.email).await.iter().any(|m| m.subject == "WEBKNOSSOS | Password Reset"));
    // Only the newest link works.
    env.client(&Auth::None).start_reset_password(&owner.email).await;
    let newest = link_token(&owner.email, "finishResetPassword?token=", &account_id).await.unwrap();
    assert_ne!(first, newest);
    let before = env.scan().await;
    for (token, password, code) in [
        (first.as_str(), NEW_PASSWORD, "auth.resetPassword.tokenInvalid"),
        ("garbage", NEW_PASSWORD, "auth.resetPassword.tokenInvalid"),
        (
            &format!("{account_id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            NEW_PASSWORD,
            "auth.resetPassword.tokenInvalid",
        ),
        (newest.as_str(), "short", "user.password.tooShort"),
    ] {
        let refused = env.client(&Auth::None).reset_password(token, password).await;
        assert_eq!((refused.status, refused.error_code()), (400, code), "{token}: {:?}", refused.body);
    }
    let mismatched = env
        .post(
            "/api/auth/resetPassword",
            json!({"token": newest, "password": {"password1": NEW_PASSWORD, "password2": "something else entirely"}}),
            &Auth::None,
        )
        .await;
    assert_eq!(mismatched.status, 400);
    assert_eq!(env.scan().await, before, "refused resets changed nothing");

    let reset = env.client(&Auth::None).reset_password(&newest, NEW_PASSWORD).await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    for (name, auth) in [("session", owner.auth()), ("other session", other_session), ("API token", api_token)] {
        assert_eq!(env.client(&auth).current_user().await.status, 401, "the {name} ended");
    }
    let old = env.client(&Auth::None).login(&owner.email, PASSWORD).await;
    assert_eq!(old.status, 401);
    let session = Auth::Bearer(env.login(&owner.email, NEW_PASSWORD).await);
    assert_eq!(
        env.client(&session).current_user().await.body["isEmailVerified"],
        true,
        "following the link proved the address"
    );
    assert!(mails_to(&owner.email).await.iter().any(|m| m.subject == "WEBKNOSSOS | Password changed"));
    let again = env.client(&Auth::None).reset_password(&newest, PASSWORD).await;
    assert_eq!((again.status, again.error_code()), (400, "auth.resetPassword.tokenInvalid"), "single use");

    // An expired link.
    env.client(&Auth::None).start_reset_password(&owner.email).await;
    let expiring = link_token(&owner.email, "finishResetPassword?token=", &account_id).await.unwrap();
    expire(&env, &format!("ACCOUNT#{account_id}"), "RESET").await;
    let expired = env.client(&Auth::None).reset_password(&expiring, PASSWORD).await;
    assert_eq!((expired.status, expired.error_code()), (400, "auth.resetPassword.tokenExpired"));
}

/// Forced: all six have read the reset token unused before any of them writes.
#[tokio::test]
async fn of_concurrent_resets_with_one_token_exactly_one_succeeds() {
    let barrier = tests::barrier::WriteBarrier::default();
    let env = TestEnv::with_dynamodb_hook(barrier.hook()).await;
    let owner = env.create_organization(&organization_name("Racing")).await;
    let token = env.seed_password_reset(&owner.email).await;
    let account_id = token.split('.').next().unwrap().to_owned();
    barrier.arm(6, Box::leak(format!("ACCOUNT#{account_id}").into_boxed_str()));
    let attempts = (0..6).map(|i| {
        let env = &env;
        let token = token.clone();
        async move {
            let password = format!("{NEW_PASSWORD} {i}");
            tests::until_answered(|| env.client(&Auth::None).reset_password(&token, &password)).await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(barrier.met(), 6, "the six resets did not write at the same moment");
    println!("the barrier was met: 6 resets wrote at once");
    let statuses: Vec<(u16, String)> = answers.iter().map(|a| (a.status, a.error_code().to_owned())).collect();
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 200).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|(s, code)| *s == 200 || (*s, code.as_str()) == (400, "auth.resetPassword.tokenInvalid")),
        "{statuses:?}"
    );
    let winner = answers.iter().position(|a| a.status == 200).unwrap();
    env.login(&owner.email, &format!("{NEW_PASSWORD} {winner}")).await;
}

/// `POST /api/auth/startResetPassword` for `email` from `client` (as API Gateway reports the source IP).
async fn ask_reset(env: &TestEnv, client: &str, email: &str) -> (u16, String, Option<String>) {
    use http_body_util::{BodyExt, Full};
    let http: hyper_util::client::legacy::Client<_, Full<hyper::body::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let body = serde_json::to_vec(&json!({ "email": email })).unwrap();
    let request = hyper::Request::post(format!("{}/api/auth/startResetPassword", env.base_url))
        .header("content-type", "application/json")
        .header("x-forwarded-for", client)
        .body(Full::new(hyper::body::Bytes::from(body)))
        .unwrap();
    let response = http.request(request).await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    (status, body["messages"][0]["code"].as_str().unwrap_or_default().to_owned(), retry_after)
}

async fn reset_mails(email: &str) -> usize {
    mails_to(email).await.iter().filter(|m| m.subject == "WEBKNOSSOS | Password Reset").count()
}

/// The third security round's recovery lockout: three anonymous requests for an address from one client
/// made the owner's own request from another client answer 429 for an hour, doubling up to a day. Now a
/// client is refused only for itself, and the address as a whole has a ceiling that only suppresses mail.
#[tokio::test]
async fn reset_requests_from_one_client_never_refuse_the_owner_elsewhere_and_the_address_has_a_mail_ceiling() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Flooded")).await;
    let stranger = format!("stranger-{}@example.org", &accounts::ids::new_object_id()[..8]);
    for email in [owner.email.as_str(), stranger.as_str()] {
        // One client: its limit, then 429 for it alone, the same whether or not an account has the address.
        for _ in 0..MAIL_REQUESTS_PER_EMAIL_AND_CLIENT {
            assert_eq!(ask_reset(&env, "198.51.100.7", email).await.0, 200);
        }
        let (status, code, retry_after) = ask_reset(&env, "198.51.100.7", email).await;
        assert_eq!((status, code.as_str()), (429, "auth.mail.tooManyRequests"), "{email}");
        assert!(retry_after.is_some());
        // The owner, from elsewhere, is served.
        assert_eq!(ask_reset(&env, "203.0.113.5", email).await.0, 200, "{email}");
    }
    assert_eq!(
        reset_mails(&owner.email).await,
        MAIL_REQUESTS_PER_EMAIL_AND_CLIENT as usize + 1,
        "the owner's link too"
    );
    // Many clients together reach the address's ceiling: every request is still answered 200, and mail
    // stops at the ceiling.
    let mut client = 0;
    while reset_mails(&owner.email).await < MAIL_REQUESTS_PER_EMAIL as usize {
        client += 1;
        assert_eq!(ask_reset(&env, &format!("192.0.2.{client}"), &owner.email).await.0, 200);
        assert!(client < 20, "the ceiling is reached");
    }
    for more in 0..3 {
        assert_eq!(ask_reset(&env, &format!("192.0.2.{}", 100 + more), &owner.email).await.0, 200);
    }
    assert_eq!(reset_mails(&owner.email).await, MAIL_REQUESTS_PER_EMAIL as usize, "no mail past the ceiling");
    let invalid = env.client(&Auth::None).start_reset_password("not an address").await;
    assert_eq!(invalid.status, 400);
}

#[tokio::test]
async fn changing_the_password_checks_the_old_one_and_ends_every_other_credential() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Careful")).await;
    let other_session = Auth::Bearer(env.login(&owner.email, PASSWORD).await);
    let api_token = Auth::Token(env.client(&owner.auth()).token().await.json::<Token>().token);

    let before = env.scan().await;
    let short = env.client(&owner.auth()).change_password(PASSWORD, "short").await;
    assert_eq!(short.status, 400);
    let anonymous = env.client(&Auth::None).change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(env.scan().await, before);
    let wrong = env.client(&owner.auth()).change_password("not my password", NEW_PASSWORD).await;
    assert_eq!((wrong.status, wrong.error_code()), (403, "user.currentPassword.wrong"));

    let changed = env.client(&owner.auth()).change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert!(changed.header("set-cookie").is_some_and(|c| c.starts_with("id=")));
    let renewed = Auth::Bearer(changed.json::<Token>().token);
    assert_eq!(env.client(&renewed).current_user().await.status, 200, "the caller goes on with the new session");
    for (name, auth) in
        [("presented session", owner.auth()), ("other session", other_session), ("API token", api_token)]
    {
        assert_eq!(env.client(&auth).current_user().await.status, 401, "the {name} ended");
    }
    env.login(&owner.email, NEW_PASSWORD).await;
    assert!(mails_to(&owner.email).await.iter().any(|m| m.subject == "WEBKNOSSOS | Password changed"));
}

#[tokio::test]
async fn wrong_current_passwords_count_like_failed_logins_on_both_routes() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Guessed")).await;
    let body = json!({"oldPassword": "guess", "password": {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}});
    for attempt in 1..accounts::config::LoginLimits::default().failures_per_address_and_client {
        let answer = if attempt % 2 == 0 {
            env.post("/api/auth/changePassword", body.clone(), &owner.auth()).await
        } else {
            env.patch_user(
                &owner.user_id,
                json!({"email": "new@example.org", "currentPassword": "guess"}),
                &owner.auth(),
            )
            .await
        };
        assert_eq!((answer.status, answer.error_code()), (403, "user.currentPassword.wrong"), "attempt {attempt}");
    }
    let locking = env.post("/api/auth/changePassword", body.clone(), &owner.auth()).await;
    assert_eq!((locking.status, locking.error_code()), (429, "auth.login.locked"));
    // Locked: the right password is refused too, on both routes; logins are not locked by it (the owner
    // is not locked out by whoever holds a stolen session).
    let right = json!({"oldPassword": PASSWORD, "password": {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}});
    assert_eq!(env.post("/api/auth/changePassword", right, &owner.auth()).await.status, 429);
    assert_eq!(
        env.patch_user(&owner.user_id, json!({"email": "new@example.org", "currentPassword": PASSWORD}), &owner.auth())
            .await
            .status,
        429
    );
    assert_eq!(env.client(&Auth::None).login(&owner.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_right_current_password_after_wrong_ones_clears_the_count() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Recovered")).await;
    let wrong = json!({"oldPassword": "guess", "password": {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}});
    assert_eq!(env.post("/api/auth/changePassword", wrong, &owner.auth()).await.status, 403);
    assert!(env.scan().await.iter().any(|i| tests::text(i, "PK") == format!("LOGIN#EMAIL#{}", owner.email)));
    let right = json!({"oldPassword": PASSWORD, "password": {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}});
    assert_eq!(env.post("/api/auth/changePassword", right, &owner.auth()).await.status, 200);
    assert!(
        !env.scan().await.iter().any(|i| tests::text(i, "PK") == format!("LOGIN#EMAIL#{}", owner.email)),
        "the count was cleared"
    );
}

#[tokio::test]
async fn verification_links_prove_the_current_address_once() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Verifying")).await;
    let account_id = env.account_id(&owner.email).await;
    assert_eq!(env.client(&owner.auth()).current_user().await.body["isEmailVerified"], false);
    let asked = env.client(&owner.auth()).request_verification().await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    assert!(mails_to(&owner.email).await.iter().any(|m| m.subject == "Verify Your Email at WEBKNOSSOS"));
    let key = link_token(&owner.email, "/verifyEmail/", &account_id).await.unwrap();

    let before = env.scan().await;
    for bad in ["garbage", &format!("{account_id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
        let refused = env.client(&owner.auth()).verify_email(bad, json!({})).await;
        assert_eq!((refused.status, refused.error_code()), (400, "user.email.verification.keyInvalid"));
    }
    assert_eq!(env.scan().await, before);
    // The key alone (a mail scanner, a forwarded mail, a stranger's mailbox) and another account's session
    // change nothing: the key's account presents it.
    let path = format!("/api/verifyEmail/{key}");
    let unproven = env.post(&path, json!({}), &Auth::None).await;
    assert_eq!((unproven.status, unproven.error_code()), (401, "user.email.verification.loginRequired"));
    let stranger = env.create_organization(&organization_name("Stranger")).await;
    let before = env.scan().await;
    let foreign = env.post(&path, json!({}), &stranger.auth()).await;
    assert_eq!((foreign.status, foreign.error_code()), (403, "user.email.verification.otherAccount"));
    assert_eq!(env.scan().await, before, "the refusals changed nothing");
    let guessed = env.post(&path, json!({"password": "not the password"}), &Auth::None).await;
    assert_eq!((guessed.status, guessed.error_code()), (403, "user.currentPassword.wrong"));
    assert_eq!(env.client(&owner.auth()).current_user().await.body["isEmailVerified"], false);
    let verified = env.post(&path, json!({}), &owner.auth()).await;
    assert_eq!((verified.status, &verified.body), (200, &json!({})));
    assert_eq!(env.client(&owner.auth()).current_user().await.body["isEmailVerified"], true);
    let used = env.post(&path, json!({}), &owner.auth()).await;
    assert_eq!((used.status, used.error_code()), (400, "user.email.verification.keyUsed"));
    let already = env.client(&owner.auth()).request_verification().await;
    assert_eq!(already.body["messages"][0]["success"], "Your e-mail address is verified already");

    // A link for the address before a change is refused as such; the new address is unverified.
    let spare = env.seed_email_verification(&owner.email).await;
    let new_email = format!("moved-{}@example.org", &account_id[..8]);
    assert_eq!(
        env.patch_user(&owner.user_id, json!({"email": new_email, "currentPassword": PASSWORD}), &owner.auth())
            .await
            .status,
        200
    );
    let stale = env.client(&owner.auth()).verify_email(&spare, json!({})).await;
    assert_eq!((stale.status, stale.error_code()), (400, "user.email.verification.emailDoesNotMatch"));
    assert_eq!(env.client(&owner.auth()).current_user().await.body["isEmailVerified"], false);
    let fresh = link_token(&new_email, "/verifyEmail/", &account_id).await.expect("the new address got a link");
    // An expired link.
    let hash = accounts::ids::sha256_hex(&fresh);
    expire(&env, &format!("ACCOUNT#{account_id}"), &format!("VERIFY#{hash}")).await;
    let expired = env.client(&owner.auth()).verify_email(&fresh, json!({})).await;
    assert_eq!((expired.status, expired.error_code()), (400, "user.email.verification.linkExpired"));
}

#[tokio::test]
async fn activated_verification_mails_links_at_sign_up_and_required_verification_holds_logins() {
    let env = TestEnv::with_config(|config| {
        config.email_verification.activated = true;
        config.email_verification.required = true;
        config.email_verification.grace_period = std::time::Duration::ZERO;
    })
    .await;
    let email = format!("strict-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let signed_up =
        env.client(&Auth::None).create_organization_with_admin(signup_form(&email, &organization_name("Strict"))).await;
    assert_eq!(signed_up.status, 200);
    let account_id = env.account_id(&email).await;
    let first = link_token(&email, "/verifyEmail/", &account_id).await.expect("sign-up mailed a link");
    let refused = env.client(&Auth::None).login(&email, PASSWORD).await;
    assert_eq!((refused.status, refused.error_code()), (403, "auth.emailNotVerified"));
    let second = link_token(&email, "/verifyEmail/", &account_id).await.unwrap();
    assert_ne!(first, second, "the refused login mailed a fresh link");
    // Logins are held, so the account presents its password with the key (a stale session beside it, as a
    // browser may still hold one, is ignored).
    let path = format!("/api/verifyEmail/{second}");
    let stale = Auth::Bearer("an.expired.session".into());
    assert_eq!(env.post(&path, json!({"password": PASSWORD}), &stale).await.status, 200);
    let session = Auth::Bearer(env.login(&email, PASSWORD).await);

    // An invite sign-up with the invited address is proven by the invite: no link, and logins work.
    let invited = format!("invited-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let sent = env.client(&session).send_invites(json!({"recipients": [invited], "autoActivate": true})).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let token = tests::invite_token(mails_to(&invited).await.last().unwrap());
    let mut form = signup_form(&invited, "ignored");
    form["inviteToken"] = json!(token);
    let registered = env.client(&Auth::None).register(form).await;
    assert_eq!((registered.status, &registered.body["isEmailVerified"]), (200, &json!(true)), "{:?}", registered.body);
    assert!(!mails_to(&invited).await.iter().any(|m| m.text.contains("/verifyEmail/")));
    env.login(&invited, PASSWORD).await;
}

#[tokio::test]
async fn a_reset_racing_a_login_and_an_address_change_racing_a_verification_stay_consistent() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Racing")).await;
    for round in 0..3 {
        let token = env.seed_password_reset(&owner.email).await;
        let password = format!("{NEW_PASSWORD} {round}");
        let previous = if round == 0 { PASSWORD.to_owned() } else { format!("{NEW_PASSWORD} {}", round - 1) };
        let (reset, login) = tokio::join!(
            env.client(&Auth::None).reset_password(&token, &password),
            env.client(&Auth::None).login(&owner.email, &previous),
        );
        assert_eq!(reset.status, 200, "{:?}", reset.body);
        assert!(matches!(login.status, 200 | 401), "{:?}", login.body);
        if login.status == 200 {
            // A login with the old password that won the race: its session began before the reset, which
            // ended it (a session made after the reset from a password checked before it is refused).
            let session = Auth::Bearer(login.json::<Token>().token);
            assert_eq!(
                env.client(&session).current_user().await.status,
                401,
                "round {round}: the old password's session outlived the reset"
            );
        }
        env.check_invariants().await;
    }
    let session = Auth::Bearer(env.login(&owner.email, &format!("{NEW_PASSWORD} 2")).await);
    let user_id = env.client(&session).current_user().await.body["id"].as_str().unwrap().to_owned();
    let current_password = format!("{NEW_PASSWORD} 2");
    for round in 0..3 {
        let current = env.client(&session).current_user().await.body["email"].as_str().unwrap().to_owned();
        let key = env.seed_email_verification(&current).await;
        let moved = format!("moved-{round}-{}@example.org", &user_id[..6]);
        let path = format!("/api/verifyEmail/{key}");
        let (verified, changed) = tokio::join!(
            env.post(&path, json!({}), &session),
            env.patch_user(&user_id, json!({"email": moved, "currentPassword": current_password}), &session),
        );
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        assert!(
            verified.status == 200
                || (verified.status, verified.error_code()) == (400, "user.email.verification.emailDoesNotMatch"),
            "{:?}",
            verified.body
        );
        // Whatever the order, the new address is unproven afterwards, on the account and every identity.
        assert_eq!(env.client(&session).current_user().await.body["isEmailVerified"], false);
        env.check_invariants().await;
    }
}

/// Whether an address has an account shows in no timing: a reset request and a failed login answer no
/// sooner than the configured floor either way (an account's path does more reads and writes). Checked as
/// a lower bound, which the floor guarantees.
#[tokio::test]
async fn reset_requests_and_failed_logins_take_the_floor_whether_or_not_the_account_exists() {
    let floor = std::time::Duration::from_millis(300);
    let env = TestEnv::with_config(move |config| config.login.response_floor = floor).await;
    let owner = env.create_organization(&organization_name("Timed")).await;
    let nobody = format!("nobody-{}@example.org", &accounts::ids::new_object_id()[..8]);
    for email in [owner.email.as_str(), nobody.as_str()] {
        let started = std::time::Instant::now();
        let asked = env.client(&Auth::None).start_reset_password(email).await;
        assert_eq!(asked.status, 200);
        assert!(started.elapsed() >= floor, "reset for {email}: {:?}", started.elapsed());
        let started = std::time::Instant::now();
        let failed = env.client(&Auth::None).login(email, "wrong guess").await;
        assert_eq!(failed.status, 401);
        assert!(started.elapsed() >= floor, "failed login for {email}: {:?}", started.elapsed());
    }
}
