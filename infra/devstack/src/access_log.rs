//! The HTTP API's access log: one JSON line per request, which API Gateway writes from the format made
//! here (template.yaml). It records the route key, never the path: paths carry live secrets
//! (`/invite/{token}`, `/api/auth/joinOrganization/{token}`, `/api/organizations/byInvite/{token}`,
//! `/verifyEmail/{key}`, `/api/verifyEmail/{key}`), the route key only the route's template (`$default` for
//! the pages). [`render`] fills the format in as API Gateway would, so the secrets test searches the lines
//! a run would have logged.

use accounts::operations::DEFAULT_ROUTE;

/// Each field and the API Gateway variable that fills it.
const FIELDS: &[(&str, &str)] = &[
    ("requestId", "$context.requestId"),
    ("time", "$context.requestTimeEpoch"),
    ("ip", "$context.identity.sourceIp"),
    ("userAgent", "$context.identity.userAgent"),
    ("routeKey", "$context.routeKey"),
    ("status", "$context.status"),
    ("responseLength", "$context.responseLength"),
    ("latencyMs", "$context.responseLatency"),
    ("integrationLatencyMs", "$context.integrationLatency"),
    ("integrationError", "$context.integrationErrorMessage"),
];

/// The format, as template.yaml's `AccessLogSettings.Format`.
pub fn format() -> String {
    let mut fields: Vec<String> = FIELDS.iter().map(|(name, value)| format!("\"{name}\":\"{value}\"")).collect();
    // API Gateway's own error ("Too Many Requests" when throttled), which it quotes itself.
    fields.push("\"error\":$context.error.messageString".to_owned());
    format!("{{{}}}", fields.join(","))
}

/// What API Gateway knows of a request when it writes its line.
pub struct Request<'a> {
    pub method: &'a str,
    /// With the query string, as the client sent it.
    pub path_and_query: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub status: u16,
}

/// The line API Gateway writes for `request` with `format`. Each variable gets the value API Gateway gives
/// it; one this function does not know panics, so a field added to the format is given its value here
/// (and searched by the secrets test) before it can be deployed.
pub fn render(format: &str, request: &Request) -> String {
    let path = request.path_and_query.split('?').next().unwrap_or_default();
    let (operation, _) = crate::gateway::route(request.method, path);
    let route_key = if operation.path == DEFAULT_ROUTE {
        DEFAULT_ROUTE.to_owned()
    } else {
        let segments = path.split('/').count();
        let template = operation.route_paths().into_iter().find(|t| t.split('/').count() == segments);
        format!("{} {}", request.method, template.unwrap_or_default())
    };
    let value = |variable: &str| -> String {
        match variable {
            "$context.requestId" => "Ab1cDeFgHiJkLmN=".to_owned(),
            "$context.requestTimeEpoch" => accounts::ids::now_millis().to_string(),
            "$context.identity.sourceIp" => request.source_ip.to_owned(),
            "$context.identity.userAgent" => request.user_agent.to_owned(),
            "$context.routeKey" => route_key.clone(),
            "$context.status" => request.status.to_string(),
            "$context.responseLength" | "$context.responseLatency" | "$context.integrationLatency" => "1".into(),
            "$context.integrationErrorMessage" => "-".to_owned(),
            "$context.error.messageString" => "\"-\"".to_owned(),
            // Everything that names what was asked for beyond the route.
            "$context.path" | "$context.requestOverride.path" | "$request.path" => path.to_owned(),
            "$context.domainName" | "$context.domainPrefix" => "api.example.org".to_owned(),
            other => panic!("the access log's variable {other} has no value in devstack::access_log::render"),
        }
    };
    let mut line = String::with_capacity(format.len() * 2);
    let mut rest = format;
    while let Some(start) = rest.find('$') {
        line.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).map_or(after.len(), |e| e + 1);
        line.push_str(&value(&after[..end]));
        rest = &after[end..];
    }
    line.push_str(rest);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_route_never_the_path_and_are_json() {
        fn request<'a>(method: &'a str, path_and_query: &'a str) -> Request<'a> {
            Request { method, path_and_query, source_ip: "203.0.113.9", user_agent: "curl/8", status: 200 }
        }
        let secret = "5f0c2a.s3cr3tS3cr3tS3cr3t";
        for (method, path, route_key) in [
            ("GET", format!("/invite/{secret}"), "$default"),
            ("POST", format!("/api/verifyEmail/{secret}"), "POST /api/verifyEmail/{key}"),
            (
                "POST",
                format!("/api/v9/auth/joinOrganization/{secret}"),
                "POST /api/{apiVersion}/auth/joinOrganization/{token}",
            ),
            ("GET", format!("/api/organizations/byInvite/{secret}?x=1"), "GET /api/organizations/byInvite/{token}"),
        ] {
            let line = render(&format(), &request(method, &path));
            let parsed: serde_json::Value = serde_json::from_str(&line).expect(&line);
            assert_eq!(parsed["routeKey"], route_key, "{line}");
            assert!(!line.contains("s3cr3t"), "{line}");
        }
        // A format naming the path shows the secret: what the secrets test looks for.
        let leaky = format().replace("$context.routeKey", "$context.path");
        assert!(render(&leaky, &request("GET", &format!("/invite/{secret}"))).contains(secret));
    }
}
