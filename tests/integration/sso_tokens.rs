//! The identity provider adapter's checks of an ID token (`accounts::oidc`), against a scripted provider
//! that answers discovery, its keys and the token endpoint with whatever each test signs: an expired
//! token, another issuer or audience, another sign-in's nonce, a symmetric algorithm, a rotated key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use accounts::domain::sso::{Connection, IdentityProvider, ProviderError, Redemption};
use accounts::oidc::HttpIdentityProvider;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::Full;
use hyper::body::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const CLIENT: &str = "client-of-the-test";
const NONCE: &str = "the-sign-ins-nonce";

/// A change of a token's claims, named by what the refusal says.
type ClaimsChange = (&'static str, Box<dyn FnOnce(&mut Value)>);

/// An Ed25519 key of the scripted provider: its JWK and a signer.
struct SigningKey {
    kid: String,
    jwk: Value,
    encoding: EncodingKey,
}

fn new_key(kid: &str) -> SigningKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    SigningKey {
        kid: kid.to_owned(),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}),
        encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
    }
}

/// A provider on a free port whose token endpoint answers `token` and whose keys are `keys`.
struct ScriptedProvider {
    issuer: String,
    token: Arc<Mutex<(u16, Value)>>,
    keys: Arc<Mutex<Vec<Value>>>,
    key_fetches: Arc<AtomicUsize>,
    /// The discovery document's `token_endpoint_auth_methods_supported` (none: the field is absent).
    auth_methods: Arc<Mutex<Option<Vec<&'static str>>>>,
    /// The last token request's `authorization` header and form.
    token_request: Arc<Mutex<(Option<String>, String)>>,
    /// The adapter under test, as an App holds one: its cached discovery and keys outlive a redemption.
    adapter: HttpIdentityProvider,
}

impl ScriptedProvider {
    async fn start() -> ScriptedProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let provider = ScriptedProvider {
            issuer: issuer.clone(),
            token: Arc::new(Mutex::new((500, json!({})))),
            keys: Arc::new(Mutex::new(Vec::new())),
            key_fetches: Arc::new(AtomicUsize::new(0)),
            auth_methods: Arc::new(Mutex::new(None)),
            token_request: Arc::new(Mutex::new((None, String::new()))),
            adapter: HttpIdentityProvider::default(),
        };
        let shared = (
            provider.token.clone(),
            provider.keys.clone(),
            provider.key_fetches.clone(),
            provider.auth_methods.clone(),
            provider.token_request.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (issuer, shared) = (issuer.clone(), shared.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let (issuer, (token, keys, fetches, methods, recorded)) = (issuer.clone(), shared.clone());
                        async move {
                            use http_body_util::BodyExt;
                            let path = request.uri().path().to_owned();
                            let authorization =
                                request.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned());
                            let form = request.into_body().collect().await?.to_bytes();
                            let (status, body) = match path.as_str() {
                                "/.well-known/openid-configuration" => {
                                    let mut document = json!({
                                        "issuer": issuer,
                                        "authorization_endpoint": format!("{issuer}/auth"),
                                        "token_endpoint": format!("{issuer}/token"),
                                        "jwks_uri": format!("{issuer}/jwks"),
                                    });
                                    if let Some(methods) = methods.lock().unwrap().clone() {
                                        document["token_endpoint_auth_methods_supported"] = json!(methods);
                                    }
                                    (200, document)
                                }
                                "/jwks" => {
                                    fetches.fetch_add(1, Ordering::SeqCst);
                                    (200, json!({ "keys": *keys.lock().unwrap() }))
                                }
                                "/token" => {
                                    *recorded.lock().unwrap() =
                                        (authorization, String::from_utf8_lossy(&form).into_owned());
                                    token.lock().unwrap().clone()
                                }
                                _ => (404, json!({})),
                            };
                            let response = hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body.to_string())))
                                .unwrap();
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        provider
    }

    fn connection(&self) -> Connection {
        Connection {
            issuer: self.issuer.clone(),
            client_id: CLIENT.into(),
            client_secret: None,
            organization: None,
            trusted: false,
        }
    }

    /// Claims as a correct ID token of this provider carries them, changed by `change`.
    fn claims(&self, change: impl FnOnce(&mut Value)) -> Value {
        let now = accounts::ids::now_seconds();
        let mut claims = json!({
            "iss": self.issuer, "aud": CLIENT, "sub": "person-1", "iat": now, "exp": now + 300, "nonce": NONCE,
            "email": "ada@uni.example", "email_verified": true, "given_name": "Ada", "family_name": "Lovelace",
        });
        change(&mut claims);
        claims
    }

    /// The token endpoint answers an ID token of `claims` signed by `key`.
    fn answers(&self, key: &SigningKey, claims: &Value) {
        let header = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::EdDSA) };
        let id_token = jsonwebtoken::encode(&header, claims, &key.encoding).unwrap();
        *self.token.lock().unwrap() = (200, json!({ "id_token": id_token, "token_type": "Bearer" }));
    }

    async fn redeem(&self) -> Result<accounts::domain::sso::IdClaims, ProviderError> {
        self.redeem_with(&self.connection()).await
    }

    async fn redeem_with(&self, connection: &Connection) -> Result<accounts::domain::sso::IdClaims, ProviderError> {
        let redemption = Redemption {
            code: "a-code",
            code_verifier: "a-verifier",
            redirect_uri: "http://localhost/cb",
            nonce: NONCE,
        };
        self.adapter.redeem(connection, redemption).await
    }
}

fn invalid(outcome: Result<accounts::domain::sso::IdClaims, ProviderError>) -> String {
    match outcome {
        Err(ProviderError::InvalidToken(detail)) => detail,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[tokio::test]
async fn a_correct_id_token_answers_its_claims() {
    let provider = ScriptedProvider::start().await;
    let key = new_key("k1");
    provider.keys.lock().unwrap().push(key.jwk.clone());
    // Some providers send email_verified as a string.
    provider.answers(&key, &provider.claims(|c| c["email_verified"] = json!("true")));
    let claims = provider.redeem().await.unwrap();
    assert_eq!((claims.subject.as_str(), claims.email.as_deref()), ("person-1", Some("ada@uni.example")));
    assert!(claims.email_verified);
    assert_eq!(claims.given_name.as_deref(), Some("Ada"));
}

#[tokio::test]
async fn expired_misaddressed_foreign_and_future_tokens_are_refused() {
    let provider = ScriptedProvider::start().await;
    let key = new_key("k1");
    provider.keys.lock().unwrap().push(key.jwk.clone());
    let now = accounts::ids::now_seconds();
    let cases: Vec<ClaimsChange> = vec![
        ("ExpiredSignature", Box::new(move |c| c["exp"] = json!(now - 120))),
        ("InvalidIssuer", Box::new(|c| c["iss"] = json!("https://another.example"))),
        ("InvalidAudience", Box::new(|c| c["aud"] = json!("another-client"))),
        ("nonce", Box::new(|c| c["nonce"] = json!("another-sign-ins-nonce"))),
        ("nonce", Box::new(|c| c.as_object_mut().unwrap().remove("nonce").map(drop).unwrap_or(()))),
        ("future", Box::new(move |c| c["iat"] = json!(now + 3600))),
        ("azp", Box::new(|c| c["aud"] = json!([CLIENT, "another-client"]))),
        ("sub", Box::new(|c| c.as_object_mut().unwrap().remove("sub").map(drop).unwrap_or(()))),
    ];
    for (expected, change) in cases {
        provider.answers(&key, &provider.claims(change));
        let detail = invalid(provider.redeem().await);
        assert!(detail.contains(expected), "{expected}: {detail}");
    }
}

#[tokio::test]
async fn a_token_signed_with_a_secret_or_an_unknown_key_is_refused() {
    let provider = ScriptedProvider::start().await;
    let key = new_key("k1");
    provider.keys.lock().unwrap().push(key.jwk.clone());
    let hmac = Header { kid: Some("k1".into()), ..Header::new(Algorithm::HS256) };
    let forged = jsonwebtoken::encode(&hmac, &provider.claims(|_| {}), &EncodingKey::from_secret(b"guessed")).unwrap();
    *provider.token.lock().unwrap() = (200, json!({ "id_token": forged }));
    assert!(invalid(provider.redeem().await).contains("not accepted"));
    let stranger = new_key("k9");
    provider.answers(&stranger, &provider.claims(|_| {}));
    assert!(invalid(provider.redeem().await).contains("unknown key"));
    // A key the provider does publish, with another key's id: the signature fails.
    let impostor = SigningKey { kid: "k1".into(), ..new_key("k1") };
    provider.answers(&impostor, &provider.claims(|_| {}));
    assert!(invalid(provider.redeem().await).contains("InvalidSignature"));
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again_once() {
    let provider = ScriptedProvider::start().await;
    let old = new_key("old");
    provider.keys.lock().unwrap().push(old.jwk.clone());
    provider.answers(&old, &provider.claims(|_| {}));
    provider.redeem().await.unwrap();
    provider.redeem().await.unwrap();
    assert_eq!(provider.key_fetches.load(Ordering::SeqCst), 1, "the keys are cached");
    let new = new_key("new");
    provider.keys.lock().unwrap().push(new.jwk.clone());
    provider.answers(&new, &provider.claims(|_| {}));
    provider.redeem().await.unwrap();
    assert_eq!(provider.key_fetches.load(Ordering::SeqCst), 2, "fetched again for the unknown kid");
}

#[tokio::test]
async fn the_providers_refusal_and_absence_are_told_apart() {
    let provider = ScriptedProvider::start().await;
    *provider.token.lock().unwrap() =
        (400, json!({ "error": "invalid_grant", "error_description": "the code was used already" }));
    match provider.redeem().await {
        Err(ProviderError::Refused(detail)) => assert!(detail.contains("invalid_grant"), "{detail}"),
        other => panic!("{other:?}"),
    }
    *provider.token.lock().unwrap() = (503, json!({}));
    assert!(matches!(provider.redeem().await, Err(ProviderError::Unavailable(_))));
    let gone = Connection {
        issuer: "http://localhost:9".into(),
        client_id: CLIENT.into(),
        client_secret: None,
        organization: None,
        trusted: false,
    };
    let redemption = Redemption { code: "c", code_verifier: "v", redirect_uri: "http://localhost/cb", nonce: NONCE };
    let unreachable = HttpIdentityProvider::default().redeem(&gone, redemption).await;
    assert!(matches!(unreachable, Err(ProviderError::Unavailable(_))), "{unreachable:?}");
}

#[tokio::test]
async fn a_confidential_client_authenticates_with_http_basic_or_in_the_form_as_the_provider_takes_it() {
    let key = new_key("k1");
    // No methods listed: OpenID's default, HTTP Basic, with both parts form-encoded.
    let provider = ScriptedProvider::start().await;
    provider.keys.lock().unwrap().push(key.jwk.clone());
    provider.answers(&key, &provider.claims(|_| {}));
    let confidential = Connection { client_secret: Some("s3cret:+/".into()), ..provider.connection() };
    provider.redeem_with(&confidential).await.expect("signed in");
    let (authorization, form) = provider.token_request.lock().unwrap().clone();
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:s3cret%3A%2B%2F"));
    assert_eq!(authorization, Some(format!("Basic {expected}")));
    assert!(!form.contains("client_secret"), "{form}");
    // A provider that takes the secret only in the form.
    let provider = ScriptedProvider::start().await;
    *provider.auth_methods.lock().unwrap() = Some(vec!["client_secret_post"]);
    provider.keys.lock().unwrap().push(key.jwk.clone());
    provider.answers(&key, &provider.claims(|_| {}));
    let confidential = Connection { client_secret: Some("s3cret".into()), ..provider.connection() };
    provider.redeem_with(&confidential).await.expect("signed in");
    let (authorization, form) = provider.token_request.lock().unwrap().clone();
    assert_eq!(authorization, None);
    assert!(form.contains("client_secret=s3cret") && form.contains("code_verifier=a-verifier"), "{form}");
    // A public client sends no secret at all.
    provider.redeem().await.expect("signed in");
    let (authorization, form) = provider.token_request.lock().unwrap().clone();
    assert_eq!(authorization, None);
    assert!(!form.contains("client_secret"), "{form}");
}
