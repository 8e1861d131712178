//! Behind the edge (template parameter `EdgeProtection`): a request that went around CloudFront to the API's
//! own address is refused, and the client each per-client limit and audit entry sees is the viewer
//! CloudFront saw, never an address the client wrote into `X-Forwarded-For`.

use serde_json::{Value, json};
use tests::{Auth, PASSWORD, TestEnv};

const EDGE_SECRET: &str = "0f6b5c2e-edge-origin-secret";

async fn behind_the_edge() -> TestEnv {
    TestEnv::with_config(|config| config.edge_origin_verify = Some(EDGE_SECRET.into())).await
}

#[tokio::test]
async fn a_request_that_went_around_the_edge_is_refused() {
    let env = behind_the_edge().await;
    for presented in ["", "0f6b5c2e-edge-origin-secreT", "0f6b5c2e"] {
        let answer = env
            .request_with_headers("GET", "/api/buildinfo", vec![], &Auth::None, &[("x-origin-verify", presented)])
            .await;
        assert_eq!((answer.status, answer.error_code()), (403, "request.edge.bypassed"), "{presented:?}");
    }
    let around = env
        .request_with_headers("POST", "/api/auth/login", b"{}".to_vec(), &Auth::None, &[("x-origin-verify", "")])
        .await;
    assert_eq!((around.status, around.error_code()), (403, "request.edge.bypassed"));
    // As CloudFront forwards it.
    assert_eq!(env.client(&Auth::None).buildinfo().await.status, 200);
}

#[tokio::test]
async fn behind_the_edge_the_client_is_the_viewer_cloudfront_saw() {
    let env = behind_the_edge().await;
    let owner = env.create_organization("Edge").await;
    let wrong = serde_json::to_vec(&json!({"email": owner.email, "password": "not the password"})).unwrap();
    // The attacker's viewer address is 198.51.100.7; it claims another in X-Forwarded-For each time.
    let mut locked = false;
    for attempt in 0..12 {
        let claimed = format!("203.0.113.{attempt}");
        let headers = [("cloudfront-viewer-address", "198.51.100.7:50412"), ("x-forwarded-for", claimed.as_str())];
        let answer = env.request_with_headers("POST", "/api/auth/login", wrong.clone(), &Auth::None, &headers).await;
        if answer.status == 429 {
            locked = true;
            break;
        }
        assert_eq!(answer.status, 401, "{:?}", answer.body);
    }
    assert!(locked, "the viewer's failures count together, whatever it claims to be");

    // The owner, at another viewer address, is not locked out by the attacker's failures.
    let right = serde_json::to_vec(&json!({"email": owner.email, "password": PASSWORD})).unwrap();
    let headers = [("cloudfront-viewer-address", "192.0.2.44:61001"), ("x-forwarded-for", "198.51.100.7")];
    let own = env.request_with_headers("POST", "/api/auth/login", right, &Auth::None, &headers).await;
    assert_eq!(own.status, 200, "{:?}", own.body);

    let entries = env.client(&owner.auth()).audit_log("limit=1000").await;
    assert_eq!(entries.status, 200);
    let failed: Vec<&Value> =
        entries.body.as_array().unwrap().iter().filter(|e| e["action"] == "auth.loginFailed").collect();
    assert!(!failed.is_empty());
    for entry in failed {
        assert_eq!(entry["context"]["sourceIp"], "198.51.100.7", "{entry}");
    }
}
