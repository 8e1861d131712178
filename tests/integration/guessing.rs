//! Login resists guessing without letting anyone lock others out: failures of one e-mail address from
//! one client lock that pair (5 in 15 minutes, then 15 minutes, doubling with each further lock up to a
//! day), and failures from one client lock that client (100, configurable for an institute behind one NAT
//! address), with 429 and Retry-After, the right password included; the same address from another client
//! is not affected; afterwards the right password works and clears the pair's count. Time is moved by
//! ending a lock in the table.

use accounts::config::LoginLimits;
use aws_sdk_dynamodb::types::AttributeValue;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tests::{PASSWORD, TestEnv, organization_name, text};

fn limits() -> LoginLimits {
    LoginLimits::default()
}

struct Answer {
    status: u16,
    code: String,
    message: String,
    retry_after: Option<u64>,
}

/// `POST /api/auth/login` from `client` (its address, as API Gateway reports the source IP).
async fn login(env: &TestEnv, client: &str, email: &str, password: &str) -> Answer {
    login_with_device(env, client, None, email, password).await.0
}

/// [`login`] by a browser with the device cookie `device`; also returns the device cookie the answer sets.
async fn login_with_device(
    env: &TestEnv,
    client: &str,
    device: Option<&str>,
    email: &str,
    password: &str,
) -> (Answer, Option<String>) {
    let http: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let body = serde_json::to_vec(&json!({"email": email, "password": password})).unwrap();
    let mut request = hyper::Request::post(format!("{}/api/auth/login", env.base_url))
        .header("content-type", "application/json")
        .header("x-forwarded-for", client);
    if let Some(device) = device {
        request = request.header("cookie", format!("device={device}"));
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = http.request(request).await.unwrap();
    let status = response.status().as_u16();
    let set_device = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("device="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next();
    let retry_after =
        response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().expect("Retry-After is seconds"));
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).expect("JSON");
    assert!(status < 500, "{status} {body}");
    let answer = Answer {
        status,
        code: body["messages"][0]["code"].as_str().unwrap_or_default().to_owned(),
        message: body["messages"][0]["error"].as_str().unwrap_or_default().to_owned(),
        retry_after,
    };
    (answer, set_device)
}

fn assert_locked(answer: &Answer, what: &str) {
    assert_eq!((answer.status, answer.code.as_str()), (429, "auth.login.locked"), "{what}: {}", answer.message);
    assert!(answer.message.starts_with("Too many failed logins"), "{what}: {}", answer.message);
    let seconds = answer.retry_after.unwrap_or_else(|| panic!("{what}: no Retry-After"));
    assert!((1..=24 * 3600).contains(&seconds), "{what}: Retry-After {seconds}");
}

fn assert_wrong(answer: &Answer, what: &str) {
    assert_eq!((answer.status, answer.code.as_str()), (401, "auth.invalidCredentials"), "{what}: {}", answer.message);
    assert!(answer.retry_after.is_none(), "{what}");
}

/// The throttle item of `pk` (`LOGIN#PAIR#...`, `LOGIN#CLIENT#...`), if any.
async fn throttle(env: &TestEnv, pk: &str) -> Option<tests::Item> {
    env.scan().await.into_iter().find(|i| text(i, "PK") == pk)
}

/// Moves time past the lock of `pk`: its end is set to a second ago.
async fn end_lock(env: &TestEnv, pk: &str) {
    let past = (accounts::ids::now_seconds() - 1).to_string();
    env.set_attribute(pk, "LOGIN", "lockedUntil", AttributeValue::N(past)).await;
}

#[tokio::test]
async fn failures_of_one_address_from_one_client_lock_that_pair_only_and_locks_grow() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let other = env.create_organization(&organization_name("Other")).await;
    let (guesser, colleague) = ("198.51.100.7", "192.0.2.200");
    let pk = format!("LOGIN#PAIR#{}#{guesser}", owner.email);
    let per_pair = limits().failures_per_address_and_client;
    for i in 1..per_pair {
        assert_wrong(&login(&env, guesser, &owner.email, "wrong guess").await, &format!("failure {i}"));
    }
    let item = throttle(&env, &pk).await.expect("the failures are counted");
    assert_eq!(text(&item, "failures"), (per_pair - 1).to_string());
    assert_eq!(text(&item, "entity"), "LoginThrottle");
    assert!(text(&item, "expiresAt").parse::<i64>().unwrap() > accounts::ids::now_seconds(), "TTL set");
    // The failure that reaches the limit answers with the lock (the e-mail in capitals is the same address).
    let locking = login(&env, guesser, &owner.email.to_uppercase(), "wrong guess").await;
    assert_locked(&locking, "the 5th failure");
    assert!(locking.message.contains("this e-mail address"), "{}", locking.message);
    let first_lock = limits().lock.as_secs();
    assert!((first_lock - 10..=first_lock).contains(&locking.retry_after.unwrap()));
    // Locked: that client, the right password too. The same address from another client (the owner at
    // home, or colleagues behind another address) is not affected, nor are other accounts.
    assert_locked(&login(&env, guesser, &owner.email, PASSWORD).await, "right password from the guessing client");
    assert_eq!(login(&env, colleague, &owner.email, PASSWORD).await.status, 200, "the owner from elsewhere");
    assert_eq!(login(&env, guesser, &other.email, PASSWORD).await.status, 200, "another account from the same client");
    assert_eq!(env.client(&owner.auth()).current_user().await.status, 200, "existing sessions are not affected");
    // Refusals during the lock do not count and do not extend it.
    let locked_until = text(&throttle(&env, &pk).await.unwrap(), "lockedUntil");
    assert_locked(&login(&env, guesser, &owner.email, "wrong guess").await, "another guess while locked");
    assert_eq!(text(&throttle(&env, &pk).await.unwrap(), "lockedUntil"), locked_until);

    // The lock ends; guessing on locks again, for twice as long.
    end_lock(&env, &pk).await;
    for i in 1..per_pair {
        assert_wrong(&login(&env, guesser, &owner.email, "wrong guess").await, &format!("after the lock: failure {i}"));
    }
    let second = login(&env, guesser, &owner.email, "wrong guess").await;
    assert_locked(&second, "the second lock");
    assert!(second.retry_after.unwrap() > 2 * first_lock - 10, "the second lock is longer: {:?}", second.retry_after);
    // After it, the right password works and clears the pair's count (the growth stays until the TTL).
    end_lock(&env, &pk).await;
    let after = login(&env, guesser, &owner.email, PASSWORD).await;
    assert_eq!(after.status, 200, "{}", after.message);
    let cleared = throttle(&env, &pk).await;
    assert!(
        cleared.is_none() || text(cleared.as_ref().unwrap(), "failures") == "0",
        "a success clears the failures: {cleared:?}"
    );
    for i in 1..per_pair {
        assert_wrong(
            &login(&env, guesser, &owner.email, "wrong guess").await,
            &format!("counting afresh: failure {i}"),
        );
    }
    assert_eq!(login(&env, guesser, &owner.email, PASSWORD).await.status, 200, "4 failures and a success: no lock");
}

#[tokio::test]
async fn an_unknown_email_locks_like_a_known_one() {
    let env = TestEnv::new().await;
    let unknown = "nobody-here@example.org";
    for i in 1..limits().failures_per_address_and_client {
        assert_wrong(&login(&env, "198.51.100.9", unknown, PASSWORD).await, &format!("failure {i}"));
    }
    assert_locked(&login(&env, "198.51.100.9", unknown, PASSWORD).await, "unknown e-mail");
    let item = throttle(&env, &format!("LOGIN#PAIR#{unknown}#198.51.100.9")).await.unwrap();
    assert!(!text(&item, "lockedUntil").is_empty());
}

#[tokio::test]
async fn failures_from_one_client_lock_that_client_only_at_the_configured_limit() {
    let per_client = 12;
    let env = TestEnv::with_config(move |config| config.login.failures_per_client = per_client).await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let guesser = "203.0.113.7";
    let pk = format!("LOGIN#CLIENT#{guesser}");
    // Spread over e-mail addresses so that no pair reaches its own limit.
    let per_pair = (limits().failures_per_address_and_client - 1) as usize;
    let targets: Vec<String> =
        (0..per_client as usize).map(|i| format!("target{}@example.org", i / per_pair)).collect();
    for (i, target) in targets.iter().enumerate().take(targets.len() - 1) {
        assert_wrong(&login(&env, guesser, target, "guess").await, &format!("client failure {}", i + 1));
    }
    let locking = login(&env, guesser, targets.last().unwrap(), "guess").await;
    assert_locked(&locking, "the last failure from one client");
    assert!(locking.message.contains("from your address"), "{}", locking.message);
    // That client is refused even with a right password; everyone else is not.
    assert_locked(&login(&env, guesser, &owner.email, PASSWORD).await, "right password from the locked client");
    assert_eq!(login(&env, "192.0.2.1", &owner.email, PASSWORD).await.status, 200, "another client");

    end_lock(&env, &pk).await;
    assert_eq!(login(&env, guesser, &owner.email, PASSWORD).await.status, 200, "the lock has ended");
    // The lock started a new window: the client counts from zero again.
    assert_wrong(&login(&env, guesser, "fresh@example.org", "guess").await, "counting afresh");
    assert_eq!(text(&throttle(&env, &pk).await.unwrap(), "failures"), "1");
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let env = TestEnv::new().await;
    let owner = env.create_organization(&organization_name("Lab")).await;
    let guesser = "198.51.100.3";
    let concurrent = (limits().failures_per_address_and_client - 1) as usize;
    let guesses = (0..concurrent).map(|_| {
        let (env, email) = (&env, owner.email.clone());
        async move { login(env, guesser, &email, "wrong guess").await }
    });
    for answer in futures_util::future::join_all(guesses).await {
        assert_wrong(&answer, "concurrent failure");
    }
    let item = throttle(&env, &format!("LOGIN#PAIR#{}#{guesser}", owner.email)).await.unwrap();
    assert_eq!(text(&item, "failures"), concurrent.to_string(), "no failure lost");
    // Many more at once: none is a 5xx, the limit is hit, and exactly one lock is set.
    let guesses = (0..8).map(|_| {
        let (env, email) = (&env, owner.email.clone());
        async move { login(env, guesser, &email, "wrong guess").await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    assert!(answers.iter().all(|a| a.status == 429), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert_locked(&login(&env, guesser, &owner.email, PASSWORD).await, "locked");
    let item = throttle(&env, &format!("LOGIN#PAIR#{}#{guesser}", owner.email)).await.unwrap();
    assert_eq!(text(&item, "lockCount"), "1", "one lock");
}

/// OWASP's device cookies: 100 failures behind one NAT address lock that client, but a browser that logged
/// in to its address there before keeps logging in; the cookie is bound to the address and signed.
#[tokio::test]
async fn a_browser_that_logged_in_before_keeps_logging_in_while_its_network_is_locked() {
    let per_client = 8;
    let env = TestEnv::with_config(move |config| config.login.failures_per_client = per_client).await;
    let owner = env.create_organization(&organization_name("Behind NAT")).await;
    let colleague = env.create_organization(&organization_name("Also behind NAT")).await;
    let nat = "198.51.100.44";
    let (first, device) = login_with_device(&env, nat, None, &owner.email, PASSWORD).await;
    assert_eq!(first.status, 200);
    let device = device.expect("a successful login sets the device cookie");
    // Someone behind the same address guesses at other addresses until the client is locked.
    let per_pair = (limits().failures_per_address_and_client - 1) as usize;
    for i in 0..per_client as usize {
        login(&env, nat, &format!("target{}@example.org", i / per_pair), "guess").await;
    }
    assert_locked(&login(&env, nat, &colleague.email, PASSWORD).await, "a browser without a device cookie");
    // The owner's browser is not held, and its failures do not count against the client.
    let (wrong, _) = login_with_device(&env, nat, Some(&device), &owner.email, "typo").await;
    assert_wrong(&wrong, "a typo from the trusted browser");
    let (again, renewed) = login_with_device(&env, nat, Some(&device), &owner.email, PASSWORD).await;
    assert_eq!(again.status, 200, "{}", again.message);
    assert!(renewed.is_some(), "the cookie is renewed");
    // Bound to its address, and signed: it opens no other address, and a changed one opens nothing.
    let (other, _) = login_with_device(&env, nat, Some(&device), &colleague.email, PASSWORD).await;
    assert_locked(&other, "the owner's device cookie for the colleague's address");
    let (expires, mac) = device.split_once('.').unwrap();
    let extended = format!("{}.{mac}", expires.parse::<i64>().unwrap() + 1);
    let (forged, _) = login_with_device(&env, nat, Some(&extended), &owner.email, PASSWORD).await;
    assert_locked(&forged, "a device cookie with another expiry");
}
