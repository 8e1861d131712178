//! Requests through the edge: with `EdgeProtection` on, CloudFront (and its web ACL's per-client limits)
//! stands in front of the HTTP API and adds a header only it knows to every request it forwards. A
//! request without it went around the edge, and its limits, to the API's own address: 403. Behind
//! CloudFront, API Gateway's source IP is CloudFront's, shared by every client of an edge location, so the
//! client address the throttles, lockouts and audit entries use is the viewer's, as CloudFront saw it.

use crate::error::ApiError;
use crate::http::header;
use lambda_http::Request;
use lambda_http::request::RequestContext;

/// The header CloudFront adds to each origin request (template.yaml, `EdgeDistribution`).
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// `req` as the API should see it: refused unless it carries `expected` (the edge's origin header), and
/// with the viewer's address as its source IP. Without an edge (`None`) unchanged.
pub(crate) fn admit(expected: Option<&str>, mut req: Request) -> Result<Request, ApiError> {
    let Some(expected) = expected else {
        return Ok(req);
    };
    let presented = header(&req, ORIGIN_VERIFY_HEADER).unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes()).is_err() {
        return Err(ApiError::forbidden(
            "request.edge.bypassed",
            "Call this instance at its public address, not at the API's own",
        ));
    }
    let viewer_header = header(&req, "cloudfront-viewer-address").map(str::to_owned);
    let forwarded_for = header(&req, "x-forwarded-for").map(str::to_owned);
    if let Some(RequestContext::ApiGatewayV2(context)) = req.extensions_mut().get_mut::<RequestContext>() {
        let viewer =
            viewer_address(viewer_header.as_deref(), forwarded_for.as_deref(), context.http.source_ip.as_deref());
        if let Some(viewer) = viewer {
            context.http.source_ip = Some(viewer);
        }
    }
    Ok(req)
}

/// The viewer's address: CloudFront's `CloudFront-Viewer-Address` (`ip:port`, the port after the last
/// colon, IPv6 unbracketed), else the rightmost `X-Forwarded-For` entry that is not the proxy API Gateway
/// saw (`proxy`): CloudFront appends the viewer there, after whatever the client itself claimed, and
/// API Gateway may append CloudFront. Entries a client wrote are never taken over the ones appended after.
pub(crate) fn viewer_address(
    viewer_header: Option<&str>,
    forwarded_for: Option<&str>,
    proxy: Option<&str>,
) -> Option<String> {
    let from_viewer_header = viewer_header
        .and_then(|value| value.trim().rsplit_once(':'))
        .map(|(address, _port)| address.trim_start_matches('[').trim_end_matches(']'))
        .filter(|address| address.parse::<std::net::IpAddr>().is_ok());
    if let Some(address) = from_viewer_header {
        return Some(address.to_owned());
    }
    forwarded_for?
        .rsplit(',')
        .map(str::trim)
        .find(|entry| !entry.is_empty() && Some(*entry) != proxy)
        .filter(|entry| entry.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::viewer_address;

    #[test]
    fn the_viewer_address_header_wins_and_loses_its_port() {
        assert_eq!(viewer_address(Some("198.51.100.7:46532"), Some("10.0.0.1"), None).as_deref(), Some("198.51.100.7"));
        assert_eq!(viewer_address(Some("2001:db8::7:443"), None, None).as_deref(), Some("2001:db8::7"));
        assert_eq!(viewer_address(Some("[2001:db8::7]:443"), None, None).as_deref(), Some("2001:db8::7"));
    }

    #[test]
    fn forwarded_for_gives_the_entry_the_edge_appended_never_one_the_client_wrote() {
        // The client claims 203.0.113.1; CloudFront appends the viewer; API Gateway appends CloudFront.
        let chain = Some("203.0.113.1, 198.51.100.7, 130.176.0.5");
        assert_eq!(viewer_address(None, chain, Some("130.176.0.5")).as_deref(), Some("198.51.100.7"));
        // API Gateway did not append: the last entry is the viewer.
        assert_eq!(
            viewer_address(None, Some("203.0.113.1, 198.51.100.7"), Some("130.176.0.5")).as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(viewer_address(Some("garbage"), Some("not-an-ip"), None), None);
        assert_eq!(viewer_address(None, None, Some("130.176.0.5")), None);
    }
}
