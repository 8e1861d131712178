//! The `web` function: every path outside `/api` (API Gateway's `$default` route). It serves the pages'
//! one HTML document for each page address (the pages render in the browser from the JSON API: see
//! docs/web.md), and the script and stylesheet under content-hashed names; `/api` paths that no route
//! matches get the API's JSON 404. It makes no AWS call.

use std::sync::OnceLock;

use super::HandlerResult;
use crate::error::ApiError;
use crate::http::{Body, Request, Response};

const SCRIPT: &str = include_str!("../../web/app.js");
/// The pages' pure rules, a module app.js imports (`./rules.js`, rewritten to its hashed name).
const RULES: &str = include_str!("../../web/rules.js");
const STYLE: &str = include_str!("../../web/app.css");

/// Every page: no inline script or style, nothing from another origin, no framing, no referrer (tokens
/// travel in these addresses).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Page addresses, as path patterns (`*` stands for one segment).
const PAGES: &[&str] = &[
    "/",
    "/auth/login",
    "/auth/signup",
    "/auth/register",
    "/auth/resetPassword",
    "/auth/finishResetPassword",
    "/invite/*",
    "/verifyEmail/*",
    "/confirmNotifications/*",
    "/users",
    "/invites",
    "/teams",
    "/organization",
    "/audit",
];

struct Asset {
    path: String,
    content_type: &'static str,
    body: String,
}

struct Site {
    script: Asset,
    rules: Asset,
    style: Asset,
    /// The document for each combination of what an instance offers, which the pages show (single sign-on
    /// on the login page, registering into the self-registration organization): indexed by
    /// [`features_index`].
    documents: [String; 4],
}

/// Which of [`Site::documents`] an instance serves.
fn features_index(single_sign_on: bool, self_registration: bool) -> usize {
    usize::from(single_sign_on) | usize::from(self_registration) << 1
}

/// The assets under names carrying their content's hash (so they can be cached for a year), and the
/// document that names them. Made once per process.
fn site() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| {
        let hashed = |name: &str, extension: &str, body: String, content_type| Asset {
            path: format!("/assets/{name}.{}.{extension}", &crate::ids::sha256_hex(&body)[..12]),
            content_type,
            body,
        };
        let rules = hashed("rules", "js", RULES.to_owned(), "text/javascript; charset=utf-8");
        // The import names the rules' hashed file, so a change of either changes the script's name too.
        let script = SCRIPT.replacen("from \"./rules.js\"", &format!("from \"{}\"", rules.path), 1);
        let script = hashed("app", "js", script, "text/javascript; charset=utf-8");
        let style = hashed("app", "css", STYLE.to_owned(), "text/css; charset=utf-8");
        let document = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>WEBKNOSSOS</title>\n\
             <link rel=\"stylesheet\" href=\"{}\">\n<link rel=\"modulepreload\" href=\"{}\">\n\
             <script type=\"module\" src=\"{}\"></script>\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to the content</a>\n\
             <header class=\"bar\"><a href=\"/\">WEBKNOSSOS</a></header>\n\
             <main id=\"main\" tabindex=\"-1\"><noscript>These pages need JavaScript.</noscript></main>\n</body>\n</html>\n",
            style.path, rules.path, script.path
        );
        let documents = [0, 1, 2, 3].map(|index| {
            let metas: String = [(1, "single-sign-on"), (2, "self-registration")]
                .iter()
                .filter(|(bit, _)| index & bit != 0)
                .map(|(_, name)| format!("<meta name=\"{name}\" content=\"on\">\n"))
                .collect();
            document.replacen("<title>", &format!("{metas}<title>"), 1)
        });
        Site { script, rules, style, documents }
    })
}

fn is_page(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    PAGES.iter().any(|pattern| {
        let expected: Vec<&str> = pattern.split('/').collect();
        expected.len() == segments.len()
            && expected.iter().zip(&segments).all(|(e, s)| *e == *s || (*e == "*" && !s.is_empty()))
    })
}

pub(crate) fn respond(status: u16, content_type: &str, cache: &str, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", cache)
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header("cross-origin-opener-policy", "same-origin")
        .body(Body::Text(body.to_owned()))
        .expect("a response from a valid status and static headers")
}

/// `ANY $default`
pub(crate) async fn serve(app: &crate::App, req: Request) -> HandlerResult {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return Err(ApiError::not_found("route.notFound", format!("There is no route {} {path}", req.method())));
    }
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        return Err(ApiError::new(405, "request.method.notAllowed", format!("{path} only answers GET")));
    }
    let site = site();
    for asset in [&site.script, &site.rules, &site.style] {
        if path == asset.path {
            return Ok(respond(200, asset.content_type, "public, max-age=31536000, immutable", &asset.body));
        }
    }
    // Unknown addresses get the document too, which shows "page not found", with status 404.
    let status = if is_page(path) { 200 } else { 404 };
    let document =
        &site.documents[features_index(app.config.oidc.is_some(), app.config.self_registration_organization.is_some())];
    Ok(respond(status, "text/html; charset=utf-8", "no-store", document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_addresses_are_known_and_assets_are_named_by_their_content() {
        for page in [
            "/",
            "/auth/login",
            "/invite/abc.def",
            "/verifyEmail/x.y",
            "/auth/finishResetPassword",
            "/users",
            "/organization",
        ] {
            assert!(is_page(page), "{page}");
        }
        for other in ["/invite", "/invite/", "/invite/a/b", "/auth", "/nothing", "/verifyEmail/"] {
            assert!(!is_page(other), "{other}");
        }
        let site = site();
        assert!(site.script.path.starts_with("/assets/app.") && site.script.path.ends_with(".js"));
        assert!(
            site.script.body.contains(&format!("from \"{}\"", site.rules.path)),
            "the import names the hashed rules"
        );
        assert!(!site.script.body.contains("./rules.js\""));
        for document in &site.documents {
            assert!(document.contains(&site.script.path) && document.contains(&site.style.path));
            assert!(!document.contains("<script>") && !document.contains("style="), "nothing inline");
        }
        let both = &site.documents[features_index(true, true)];
        assert!(both.contains("name=\"single-sign-on\"") && both.contains("name=\"self-registration\""));
        assert!(!site.documents[features_index(false, false)].contains("<meta name=\"s"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }
}
