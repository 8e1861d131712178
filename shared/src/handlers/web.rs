//! The `web` function: every path outside `/api` (API Gateway's `$default` route). It serves the pages'
//! one HTML document for each page address (the pages render in the browser from the JSON API: see
//! docs/web.md), and the pages' ES modules and stylesheet under content-hashed names; `/api` paths that no
//! route matches get the API's JSON 404. It makes no AWS call.

use std::sync::OnceLock;

use super::HandlerResult;
use crate::error::ApiError;
use crate::http::{Body, Request, Response};

/// The pages' modules (`shared/web/{name}.js`), each after the modules it imports: a module's imports
/// (`from "./{name}.js"`) are rewritten to the hashed names of those before it, so a change of any module
/// renames every module that depends on it. `app` is the entry.
const MODULES: &[(&str, &str)] = &[
    ("rules", include_str!("../../web/rules.js")),
    ("dom", include_str!("../../web/dom.js")),
    ("auth", include_str!("../../web/auth.js")),
    ("home", include_str!("../../web/home.js")),
    ("users", include_str!("../../web/users.js")),
    ("invites", include_str!("../../web/invites.js")),
    ("teams", include_str!("../../web/teams.js")),
    ("organization", include_str!("../../web/organization.js")),
    ("audit", include_str!("../../web/audit.js")),
    ("app", include_str!("../../web/app.js")),
];
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
    "/acceptOwnership/*/*",
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
    /// In [`MODULES`]' order: the entry (`app`) last.
    modules: Vec<Asset>,
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
        let mut modules: Vec<Asset> = Vec::with_capacity(MODULES.len());
        for (name, source) in MODULES {
            let body = MODULES.iter().zip(&modules).fold(source.to_string(), |body, ((imported, _), asset)| {
                body.replace(&format!("from \"./{imported}.js\""), &format!("from \"{}\"", asset.path))
            });
            modules.push(hashed(name, "js", body, "text/javascript; charset=utf-8"));
        }
        let style = hashed("app", "css", STYLE.to_owned(), "text/css; charset=utf-8");
        let (entry, imported) = modules.split_last().expect("the entry module is last");
        // Every module is asked for at once, instead of one level of imports after another.
        let preloads: String =
            imported.iter().map(|module| format!("<link rel=\"modulepreload\" href=\"{}\">\n", module.path)).collect();
        let document = format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>WEBKNOSSOS</title>\n\
             <link rel=\"stylesheet\" href=\"{}\">\n{preloads}\
             <script type=\"module\" src=\"{}\"></script>\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to the content</a>\n\
             <header class=\"bar\"><a href=\"/\">WEBKNOSSOS</a></header>\n\
             <main id=\"main\" tabindex=\"-1\"><noscript>These pages need JavaScript.</noscript></main>\n</body>\n</html>\n",
            style.path, entry.path
        );
        let documents = [0, 1, 2, 3].map(|index| {
            let metas: String = [(1, "single-sign-on"), (2, "self-registration")]
                .iter()
                .filter(|(bit, _)| index & bit != 0)
                .map(|(_, name)| format!("<meta name=\"{name}\" content=\"on\">\n"))
                .collect();
            document.replacen("<title>", &format!("{metas}<title>"), 1)
        });
        Site { modules, style, documents }
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
    for asset in site.modules.iter().chain([&site.style]) {
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
            "/acceptOwnership/home/token",
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
        let entry = site.modules.last().unwrap();
        assert!(entry.path.starts_with("/assets/app.") && entry.path.ends_with(".js"));
        let rules = &site.modules[0];
        assert!(rules.path.starts_with("/assets/rules."));
        assert!(
            site.modules.iter().any(|m| m.body.contains(&format!("from \"{}\"", rules.path))),
            "an import names the hashed rules"
        );
        for module in &site.modules {
            assert!(!module.body.contains("from \"./"), "{}: every import is rewritten to a hashed name", module.path);
        }
        for document in &site.documents {
            assert!(document.contains(&format!("<script type=\"module\" src=\"{}\">", entry.path)));
            assert!(site.modules.iter().all(|m| document.contains(&m.path)) && document.contains(&site.style.path));
            assert!(!document.contains("<script>") && !document.contains("style="), "nothing inline");
        }
        let both = &site.documents[features_index(true, true)];
        assert!(both.contains("name=\"single-sign-on\"") && both.contains("name=\"self-registration\""));
        assert!(!site.documents[features_index(false, false)].contains("<meta name=\"s"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }
}
