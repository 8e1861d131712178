//! Who is calling. A request carries a session JWT (`Authorization: Bearer` or the `id` cookie) or a
//! personal API token (`X-Auth-Token`, or as bearer). Either way the caller is checked against the table on
//! every request, in one BatchGetItem of three items in the organization's partition (user, organization,
//! session or token), so logout, logoutEverywhere and deactivation take effect on the very next request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::App;
use crate::caller::{Caller, Credential};
use crate::error::ApiError;
use crate::http::{self, Request};
use crate::ids::sha256_hex;
use crate::store::reads::{self, CredentialKey, StoredCredential};
use crate::tokens::{API_TOKEN_PREFIX, Keys};

/// A personal API token's parts: `wkt.{organization, base64url}.{user id}.{HMAC-SHA256, base64url}`. A MAC
/// that is not 32 bytes is refused here, before any read; a well-formed one is checked against the stored
/// token (whose SHA-256 covers it) in [`read_caller`].
fn parse_api_token(token: &str) -> Result<Credential, ApiError> {
    let mut parts = token.split('.');
    let (Some(API_TOKEN_PREFIX), Some(org), Some(user_id), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::invalid_credential());
    };
    if URL_SAFE_NO_PAD.decode(mac).map_or(true, |mac| mac.len() != 32) {
        return Err(ApiError::invalid_credential());
    }
    let organization = URL_SAFE_NO_PAD
        .decode(org)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|o| !o.is_empty() && !o.contains('#'))
        .ok_or_else(ApiError::invalid_credential)?;
    if !crate::ids::is_object_id(user_id) {
        return Err(ApiError::invalid_credential());
    }
    Ok(Credential::ApiToken { organization, user_id: user_id.to_owned(), token: token.to_owned() })
}

/// What the request presents, if anything: `X-Auth-Token`, then `Authorization: Bearer`, then the cookie;
/// and whether it is the cookie (which the browser adds by itself, so it needs the CSRF checks).
fn presented(req: &Request) -> Option<(&str, bool)> {
    http::header(req, "x-auth-token")
        .or_else(|| http::header(req, "authorization").and_then(|v| v.strip_prefix("Bearer ")))
        .map(|v| (v, false))
        .or_else(|| http::cookie(req, http::SESSION_COOKIE).filter(|v| !v.is_empty()).map(|v| (v, true)))
}

/// A request authenticated by the session cookie that may change something must come from the site's own
/// pages: `Content-Type: application/json` (which a cross-site form cannot send without a CORS preflight)
/// and an `Origin` equal to the public URI's.
pub(crate) fn check_cookie_request(public_uri: &str, req: &Request) -> Result<(), ApiError> {
    if matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS") {
        return Ok(());
    }
    let refused = || {
        ApiError::forbidden(
            "auth.cookie.crossSite",
            "A request authenticated by the session cookie must come from this site's pages as JSON",
        )
    };
    let json = is_json(req);
    let own_origin = http::header(req, "origin").is_some_and(|origin| origin == site_origin(public_uri));
    if json && own_origin { Ok(()) } else { Err(refused()) }
}

/// Whether the request's body is declared JSON (`application/json`, with parameters or not).
fn is_json(req: &Request) -> bool {
    http::header(req, "content-type")
        .is_some_and(|c| c.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")))
}

/// Login cross-site request forgery: a public request that changes something must be JSON (or empty), which a
/// cross-site form cannot send without the browser asking first (415 otherwise); one whose answer sets the
/// session cookie (`sets_cookie`) must not come from another site's page (a browser's `Origin` other than
/// the public URI's or one of `allowed` (the CORS origins): 403), or a stranger's page could sign the visitor
/// in to the stranger's account. Clients that are no browser send no `Origin`.
pub(crate) fn check_public_request(
    public_uri: &str,
    allowed: &[String],
    req: &Request,
    sets_cookie: bool,
) -> Result<(), ApiError> {
    if matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS") {
        return Ok(());
    }
    // No body needs no type (the handler says what is missing); any body, or any other declared type, must be JSON.
    let typed = http::header(req, "content-type").is_some();
    if (typed || !http::body_bytes(req).is_empty()) && !is_json(req) {
        return Err(ApiError::new(
            415,
            "request.contentType.unsupported",
            "Send the body as JSON, with Content-Type: application/json",
        ));
    }
    let foreign = |origin: &str| origin != site_origin(public_uri) && !allowed.iter().any(|a| a == origin);
    if sets_cookie && http::header(req, "origin").is_some_and(foreign) {
        return Err(ApiError::forbidden("auth.login.crossSite", "Log in from this site's own pages"));
    }
    Ok(())
}

/// `scheme://host[:port]` of a URI (what browsers send as `Origin`).
fn site_origin(uri: &str) -> &str {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    match uri[after_scheme..].find('/') {
        Some(path) => &uri[..after_scheme + path],
        None => uri,
    }
}

/// The credential in the request, if any: `X-Auth-Token`, then `Authorization: Bearer`, then the cookie.
pub(crate) fn credential(keys: &Keys, req: &Request) -> Result<Option<Credential>, ApiError> {
    let Some(presented) = presented(req).map(|(value, _)| value.trim()) else {
        return Ok(None);
    };
    if presented.starts_with("wkt.") {
        return parse_api_token(presented).map(Some);
    }
    let claims = keys.verify_session(presented)?;
    if claims.org.contains('#') || !crate::ids::is_object_id(&claims.sub) {
        return Err(ApiError::invalid_credential());
    }
    Ok(Some(Credential::Session {
        organization: claims.org,
        user_id: claims.sub,
        session_id: claims.sid,
        session_epoch: claims.epc,
    }))
}

/// The caller, or 401 when no valid, unrevoked credential of an active identity is presented.
pub async fn read_caller(app: &App, req: &Request) -> Result<Caller, ApiError> {
    let credential = credential(&app.keys, req)?.ok_or_else(ApiError::not_authenticated)?;
    if presented(req).is_some_and(|(_, by_cookie)| by_cookie) {
        check_cookie_request(&app.config.public_uri, req)?;
    }
    let which = match &credential {
        Credential::Session { session_id, .. } => CredentialKey::Session { session_id },
        Credential::ApiToken { .. } => CredentialKey::ApiToken,
    };
    let (user, organization, stored) =
        reads::identity_with_credential(&app.db, credential.organization(), credential.user_id(), which)
            .await?
            .ok_or_else(ApiError::invalid_credential)?;
    // The credential is the stored one (`genuine`), and not ended by a newer session epoch (`current`).
    let signed_in_with = match &stored {
        StoredCredential::Session(session) => session.signed_in_with,
        StoredCredential::ApiToken(token) => token.signed_in_with,
    };
    let (genuine, current) = match (&credential, stored) {
        (Credential::Session { session_epoch, user_id, .. }, StoredCredential::Session(session)) => (
            session.user_id == *user_id && session.expires_at > crate::ids::now_seconds(),
            *session_epoch == user.session_epoch,
        ),
        (Credential::ApiToken { token, .. }, StoredCredential::ApiToken(stored)) => {
            let presented_hash = sha256_hex(token);
            let genuine = aws_lc_rs::constant_time::verify_slices_are_equal(
                presented_hash.as_bytes(),
                stored.token_hash.as_bytes(),
            )
            .is_ok();
            (genuine, stored.session_epoch == user.session_epoch)
        }
        _ => (false, false),
    };
    if !genuine {
        return Err(ApiError::invalid_credential());
    }
    // A deactivated identity is told so (deactivation also ended its credentials' epoch); everyone else
    // with an ended credential gets the generic refusal.
    if !current && !user.is_deactivated {
        return Err(ApiError::invalid_credential());
    }
    if organization.is_being_deleted() {
        return Err(ApiError::unauthorized("organization.deleted", "This organization has been deleted"));
    }
    if user.is_deactivated {
        return Err(ApiError::unauthorized("user.deactivated", "Your account has been deactivated by an admin"));
    }
    let context = crate::http::audit_context(req);
    Ok(Caller { user, organization, credential, context, is_operator: false, signed_in_with })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_secret(&[7u8; 32], "http://localhost:3000")
    }

    #[test]
    fn unsafe_cookie_requests_need_json_and_the_sites_origin() {
        let request = |method: &str, headers: &[(&str, &str)]| {
            let mut builder = lambda_http::http::Request::builder().method(method);
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            builder.body(lambda_http::Body::Empty).unwrap()
        };
        let site = "https://lab.example.org/webknossos";
        let ok = [("content-type", "application/json; charset=utf-8"), ("origin", "https://lab.example.org")];
        assert!(check_cookie_request(site, &request("POST", &ok)).is_ok());
        assert!(check_cookie_request(site, &request("GET", &[])).is_ok(), "reads need neither");
        for bad in [
            vec![("content-type", "text/plain"), ("origin", "https://lab.example.org")],
            vec![("content-type", "application/x-www-form-urlencoded"), ("origin", "https://lab.example.org")],
            vec![("content-type", "application/json")],
            vec![("content-type", "application/json"), ("origin", "https://evil.example")],
            vec![("content-type", "application/json"), ("origin", "https://lab.example.org.evil.example")],
        ] {
            assert_eq!(
                check_cookie_request(site, &request("DELETE", &bad)).unwrap_err().code,
                "auth.cookie.crossSite",
                "{bad:?}"
            );
        }
        assert_eq!(site_origin("http://localhost:3000"), "http://localhost:3000");
    }
    #[test]
    fn api_tokens_are_deterministic_per_nonce_and_parse_back() {
        let keys = keys();
        let token = keys.api_token("Sample Lab", "0123456789abcdef01234567", "nonce-1").unwrap();
        assert_eq!(token, keys.api_token("Sample Lab", "0123456789abcdef01234567", "nonce-1").unwrap());
        assert_ne!(token, keys.api_token("Sample Lab", "0123456789abcdef01234567", "nonce-2").unwrap());
        assert_ne!(
            token,
            Keys::from_secret(&[8u8; 32], "x").api_token("Sample Lab", "0123456789abcdef01234567", "nonce-1").unwrap()
        );
        match parse_api_token(&token).unwrap() {
            Credential::ApiToken { organization, user_id, .. } => {
                assert_eq!(organization, "Sample Lab");
                assert_eq!(user_id, "0123456789abcdef01234567");
            }
            other => panic!("unexpected {other:?}"),
        }
        // The MAC part must be an HMAC-SHA256: a token with another one, cut short or extended, is refused
        // before any read.
        let (named, mac) = token.rsplit_once('.').unwrap();
        let short = format!("{named}.{}", &mac[..mac.len() - 2]);
        let long = format!("{token}AA");
        let blank = format!("{named}.");
        for bad in [short.as_str(), long.as_str(), blank.as_str()] {
            assert!(parse_api_token(bad).is_err(), "{bad}");
        }
        for bad in [
            "wkt",
            "wkt.a.b",
            "wkt.U2FtcGxl.notanid.mac",
            "wkt.!!!.0123456789abcdef01234567.mac",
            "wkt.a.0123456789abcdef01234567.m.x",
        ] {
            assert!(parse_api_token(bad).is_err(), "{bad}");
        }
    }
}
