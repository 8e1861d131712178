//! The sample events in `events/`: one per function, as API Gateway (HTTP API, payload 2.0) or
//! EventBridge and direct invocations deliver them. `cargo run -p devstack --bin sync-events` writes
//! them from [`SAMPLES`]; a contract test keeps the files and the route table in step, and the
//! binary-level tests feed them to the real function binaries.
//!
//! Values that only exist once data does (sessions, ids, tokens) are `${PLACEHOLDER}`s, listed in
//! `events/README.md`; [`fill`] replaces them.

use accounts::background::BACKGROUND;
use accounts::operations::{ALL, DEFAULT_ROUTE, Operation};
use serde_json::{Value, json};

/// How a sample request authenticates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Caller {
    Anonymous,
    /// The owner of `${ORGANIZATION}`.
    Owner,
    /// A second session of the owner (for logging one session out).
    OwnerSpareSession,
    /// The owner of `${GUEST_ORGANIZATION}`, who holds the invite `${INVITE_TOKEN}`.
    Guest,
    /// An instance operator (super user).
    Operator,
    /// A member of `${ORGANIZATION}` (whose password is changed).
    Member,
}

impl Caller {
    fn placeholder(self) -> Option<&'static str> {
        match self {
            Caller::Anonymous => None,
            Caller::Owner => Some("${SESSION}"),
            Caller::OwnerSpareSession => Some("${SPARE_SESSION}"),
            Caller::Guest => Some("${GUEST_SESSION}"),
            Caller::Operator => Some("${OPERATOR_SESSION}"),
            Caller::Member => Some("${MEMBER_SESSION}"),
        }
    }
}

/// One function's sample: a request for an HTTP operation, or the event of a background function.
pub struct Sample {
    pub function: &'static str,
    /// Path below `/api` (with placeholders) and query string, for HTTP operations.
    pub path: &'static str,
    pub query: &'static str,
    pub body: Option<&'static str>,
    pub caller: Caller,
    /// Serve it under `/api/v{N}`, as the `webknossos` client does.
    pub versioned: bool,
    /// The status the sample gets against the data the binary-level test prepares.
    pub expected_status: u16,
}

const fn http(
    function: &'static str,
    path: &'static str,
    query: &'static str,
    body: Option<&'static str>,
    caller: Caller,
) -> Sample {
    Sample { function, path, query, body, caller, versioned: false, expected_status: 200 }
}

const fn versioned(sample: Sample) -> Sample {
    Sample { versioned: true, ..sample }
}

use Caller::*;

/// Every function's sample, in an order the binary-level test can run them one after another on one
/// set of data: what uses a session or resource comes before what ends it.
pub const SAMPLES: &[Sample] = &[
    http("buildinfo", "/buildinfo", "", None, Anonymous),
    http(
        "create_organization_with_admin",
        "/auth/createOrganizationWithAdmin",
        "",
        Some(
            r#"{"email":"ada-${UNIQUE}@example.org","password":{"password1":"correct horse battery","password2":"correct horse battery"},"firstName":"Ada","lastName":"Lovelace","organizationName":"Sample Lab ${UNIQUE}"}"#,
        ),
        Anonymous,
    ),
    http("login", "/auth/login", "", Some(r#"{"email":"${EMAIL}","password":"correct horse battery"}"#), Anonymous),
    http("get_token", "/auth/token", "", None, Owner),
    http(
        "register",
        "/auth/register",
        "",
        Some(
            r#"{"email":"grace-${UNIQUE}@example.org","password":{"password1":"correct horse battery","password2":"correct horse battery"},"firstName":"Grace","lastName":"Hopper"}"#,
        ),
        Anonymous,
    ),
    http("start_reset_password", "/auth/startResetPassword", "", Some(r#"{"email":"${EMAIL}"}"#), Anonymous),
    http(
        "reset_password",
        "/auth/resetPassword",
        "",
        Some(
            r#"{"token":"${RESET_TOKEN}","password":{"password1":"a new horse battery","password2":"a new horse battery"}}"#,
        ),
        Anonymous,
    ),
    http("request_verification", "/verifyEmail", "", None, Owner),
    // The key's account presents it (the guest asked for it).
    http("verify_email", "/verifyEmail/${VERIFY_KEY}", "", None, Guest),
    http(
        "send_invites",
        "/auth/sendInvites",
        "",
        Some(
            r#"{"recipients":["new-${UNIQUE}@example.org"],"autoActivate":true,"isAdmin":false,"isDatasetManager":false,"teamMemberships":[{"id":"${TEAM_ID}","isTeamManager":false}]}"#,
        ),
        Owner,
    ),
    http("organization_by_invite", "/organizations/byInvite/${INVITE_TOKEN}", "", None, Anonymous),
    http("join_organization", "/auth/joinOrganization/${INVITE_TOKEN}", "", None, Guest),
    http("switch_organization", "/auth/switchOrganization/${ORGANIZATION}", "", None, Guest),
    // The owner cannot leave (403), offers the organization to a member who is no admin (400) and finds no
    // offer behind a made-up token (404); tests/integration/ownership.rs has the flows.
    Sample {
        expected_status: 403,
        ..http("leave_organization", "/organizations/${ORGANIZATION}/leave", "", None, Owner)
    },
    Sample {
        expected_status: 400,
        ..http(
            "transfer_ownership",
            "/organizations/${ORGANIZATION}/transferOwnership",
            "",
            Some(r#"{"userId":"${USER_ID}"}"#),
            Owner,
        )
    },
    Sample {
        expected_status: 404,
        ..http("accept_ownership", "/organizations/${ORGANIZATION}/transferOwnership/no-such-offer", "", None, Owner)
    },
    http("get_organization", "/organizations/${ORGANIZATION}", "", None, Owner),
    http(
        "update_organization",
        "/organizations/${ORGANIZATION}",
        "",
        Some(r#"{"newUserMailingList":"lab-admins@example.org"}"#),
        Owner,
    ),
    http("list_organizations", "/organizations", "compact=true", None, Owner),
    http(
        "create_organization",
        "/organizations",
        "",
        Some(r#"{"ownerEmail":"${EMAIL}","organizationName":"Second Lab ${UNIQUE}"}"#),
        Operator,
    ),
    http(
        "change_plan",
        "/organizations/${ORGANIZATION}/plan",
        "",
        Some(r#"{"pricingPlan":"Power","includedUsers":50}"#),
        Operator,
    ),
    http(
        "add_credits",
        "/organizations/${ORGANIZATION}/credits",
        "",
        Some(r#"{"milliCredits":5000,"comment":"welcome"}"#),
        Operator,
    ),
    http("confirm_notification_address", "/notificationAddresses/${NOTIFY_TOKEN}", "", None, Anonymous),
    // The owner's address is verified by then (tests/support/functions.rs prepares it).
    http("grant_operator", "/operators", "", Some(r#"{"email":"${EMAIL}"}"#), Operator),
    http("pricing_status", "/pricing/status", "", None, Owner),
    http("request_extension", "/pricing/requestExtension", "", None, Owner),
    http("request_upgrade", "/pricing/requestUpgrade", "requestedPlan=Power", None, Owner),
    http("request_users", "/pricing/requestUsers", "requestedUsers=25", None, Owner),
    http("request_storage", "/pricing/requestStorage", "requestedStorage=500000", None, Owner),
    http("request_credits", "/pricing/requestCredits", "requestedCredits=100", None, Owner),
    http("list_plan_requests", "/pricing/requests", "limit=10", None, Operator),
    http("list_plan_updates", "/pricing/planUpdates", "", None, Owner),
    http("list_credit_transactions", "/creditTransactions", "limit=10", None, Owner),
    http("list_invites", "/invites", "state=pending", None, Owner),
    http("resend_invite", "/invites/${INVITE_ID}/resend", "", None, Owner),
    http("revoke_invite", "/invites/${INVITE_ID}", "", None, Owner),
    versioned(http("current_user", "/user", "", None, Owner)),
    versioned(http("list_users", "/users", "isActive=true&limit=50", None, Owner)),
    versioned(http("get_user", "/users/${USER_ID}", "", None, Owner)),
    versioned(http(
        "update_user",
        "/users/${USER_ID}",
        "",
        Some(r#"{"firstName":"Rosalind","experiences":{"nuclei":5,"mito":2}}"#),
        Owner,
    )),
    http(
        "bulk_edit_teams_and_permissions",
        "/users/teamsAndPermissions",
        "",
        Some(
            r#"{"userIds":["${USER_ID}"],"teams":[{"id":"${TEAM_ID}","isTeamManager":true}],"isDatasetManager":true}"#,
        ),
        Owner,
    ),
    http(
        "bulk_change_experiences",
        "/users/experiences",
        "",
        Some(r#"{"userIds":["${USER_ID}"],"set":{"nuclei":7},"remove":["mito"]}"#),
        Owner,
    ),
    http("users_by_experience", "/users/byExperience", "domain=nuclei&minValue=3", None, Owner),
    versioned(http("experience_domains", "/tasks/experienceDomains", "", None, Owner)),
    versioned(http("list_teams", "/teams", "isEditable=true", None, Owner)),
    versioned(http("create_team", "/teams", "", Some(r#"{"name":"Tracing ${UNIQUE}"}"#), Owner)),
    http("list_team_members", "/teams/${TEAM_ID}/users", "", None, Owner),
    versioned(http("delete_team", "/teams/${SPARE_TEAM_ID}", "", None, Owner)),
    http(
        "change_password",
        "/auth/changePassword",
        "",
        Some(
            r#"{"oldPassword":"correct horse battery","password":{"password1":"${NEW_PASSWORD}","password2":"${NEW_PASSWORD}"}}"#,
        ),
        Member,
    ),
    http("audit_log", "/auditLog", "action=team.&limit=20", None, Owner),
    http("revoke_token", "/auth/token", "", None, Owner),
    http("logout", "/auth/logout", "", None, OwnerSpareSession),
    http("oidc_login", "/auth/oidc/login", "", None, Anonymous),
    // A callback this browser did not start: the page that says so.
    Sample {
        expected_status: 400,
        ..http("oidc_callback", "/auth/oidc/callback", "code=sample-code&state=sample-state", None, Anonymous)
    },
    // An organization's own single sign-on: its connection (to the local provider) and a domain whose TXT
    // record nobody published.
    http("sso_settings", "/organizations/${ORGANIZATION}/sso", "", None, Owner),
    http(
        "put_sso_connection",
        "/organizations/${ORGANIZATION}/sso",
        "",
        Some(
            r#"{"issuer":"${OIDC_ISSUER}","clientId":"sample-client","clientSecret":"sample-secret","joinPolicy":"pending"}"#,
        ),
        Owner,
    ),
    http(
        "claim_domain",
        "/organizations/${ORGANIZATION}/domains",
        "",
        Some(r#"{"domain":"lab-${UNIQUE}.example"}"#),
        Owner,
    ),
    Sample {
        expected_status: 400,
        ..http(
            "verify_domain",
            "/organizations/${ORGANIZATION}/domains/lab-${UNIQUE}.example/verify",
            "",
            Some("{}"),
            Owner,
        )
    },
    Sample {
        expected_status: 400,
        ..http(
            "update_domain",
            "/organizations/${ORGANIZATION}/domains/lab-${UNIQUE}.example",
            "",
            Some(r#"{"requireSso":true}"#),
            Owner,
        )
    },
    http("remove_domain", "/organizations/${ORGANIZATION}/domains/lab-${UNIQUE}.example", "", None, Owner),
    http("delete_sso_connection", "/organizations/${ORGANIZATION}/sso", "", None, Owner),
    http("provider_links", "/auth/oidc/links", "", None, Owner),
    Sample { expected_status: 404, ..http("unlink_provider", "/auth/oidc/links/no-such-link", "", None, Owner) },
    http("passkey_register_start", "/auth/webauthn/register/start", "", None, Owner),
    Sample {
        expected_status: 400,
        ..http(
            "passkey_register_finalize",
            "/auth/webauthn/register/finalize",
            "",
            Some(r#"{"name":"Laptop","key":{}}"#),
            Owner,
        )
    },
    http("passkey_auth_start", "/auth/webauthn/auth/start", "", None, Anonymous),
    Sample {
        expected_status: 400,
        ..http("passkey_auth_finalize", "/auth/webauthn/auth/finalize", "", Some(r#"{"key":{}}"#), Anonymous)
    },
    http("passkeys", "/auth/webauthn/keys", "", None, Owner),
    Sample {
        expected_status: 404,
        ..http("rename_passkey", "/auth/webauthn/keys/0123456789abcdef01234567", "", Some(r#"{"name":"Phone"}"#), Owner)
    },
    Sample {
        expected_status: 404,
        ..http("remove_passkey", "/auth/webauthn/keys/0123456789abcdef01234567", "", None, Owner)
    },
    Sample { expected_status: 404, ..http("web", "/no/such/route", "", None, Anonymous) },
    http("logout_everywhere", "/auth/logoutEverywhere", "", None, Owner),
    http(
        "delete_organization",
        "/organizations/${GUEST_ORGANIZATION}",
        "",
        Some(r#"{"confirmation":"${GUEST_ORGANIZATION_NAME}"}"#),
        Guest,
    ),
    Sample { path: "", ..http("invite_maintenance", "", "", None, Anonymous) },
    Sample { path: "", ..http("organization_purge", "", "", None, Anonymous) },
    Sample { path: "", ..http("report_storage_usage", "", "", None, Anonymous) },
    Sample { path: "", ..http("notify_job_finished", "", "", None, Anonymous) },
    Sample { path: "", ..http("publish_audit_events", "", "", None, Anonymous) },
    Sample { path: "", ..http("record_mail_events", "", "", None, Anonymous) },
    Sample { path: "", ..http("send_mail", "", "", None, Anonymous) },
];

const API_ID: &str = "a1b2c3d4e5";
const DOMAIN: &str = "a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com";
const SOURCE_IP: &str = "203.0.113.7";
const USER_AGENT: &str = "webknossos-libs/4.3.3";
const TIME: &str = "25/Nov/2026:10:00:00 +0000";
const TIME_EPOCH: u64 = 1_795_600_800_000;

fn operation(name: &str) -> Option<&'static Operation> {
    ALL.iter().copied().find(|op| op.name == name)
}

/// The event file's content for `sample`.
pub fn event(sample: &Sample) -> Value {
    match sample.function {
        "invite_maintenance" | "organization_purge" => scheduled_event(sample.function),
        "report_storage_usage" => json!({
            "organization": "${ORGANIZATION}",
            "usedStorageBytes": 1_234_567_890u64,
            "reportedAt": TIME_EPOCH,
        }),
        "notify_job_finished" => json!({
            "organization": "${ORGANIZATION}",
            "jobId": "6571a3c2e4b0f1a2b3c4d5e6",
            "jobType": "infer_neurons",
            "ownerUserId": "${USER_ID}",
            "state": "SUCCESS",
            "resultLink": "https://webknossos.example.org/datasets/sample_organization/l4_sample",
        }),
        "publish_audit_events" => stream_event(),
        "record_mail_events" => mail_event(),
        "send_mail" => queue_event(),
        name => http_event(operation(name).unwrap_or_else(|| panic!("{name} is not an operation")), sample),
    }
}

fn scheduled_event(function: &str) -> Value {
    let rule = function.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect::<String>();
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-25T03:00:00Z",
        "region": "eu-central-1",
        "resources": [format!("arn:aws:events:eu-central-1:123456789012:rule/webknossos-accounts-{rule}FunctionSchedule")],
        "detail": {}
    })
}

/// SQS's event with one queued mail (a notice to `${EMAIL}`).
fn queue_event() -> Value {
    let mail = accounts::mail::Mail::new(
        vec!["${EMAIL}".into()],
        "WEBKNOSSOS | Your account was activated",
        &["Hello,".into(), "your account in the organization \u{201c}Sample Lab\u{201d} was activated.".into()],
        Some(("Sign in", "http://localhost:3000/auth/login")),
    );
    json!({
        "Records": [{
            "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
            "body": serde_json::to_string(&mail).expect("a mail serializes"),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": TIME_EPOCH.to_string(),
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": (TIME_EPOCH + 5).to_string()
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:webknossos-accounts-MailQueue-1A2B3C4D5E6F",
            "awsRegion": "eu-central-1"
        }]
    })
}

/// SNS's event with one SES event of the configuration set: a permanent bounce.
fn mail_event() -> Value {
    let ses_event = json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{
                "emailAddress": "no-such-person@example.org",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown"
            }],
            "timestamp": "2026-11-25T10:00:01.000Z",
            "feedbackId": "0102017f3c6e3b7a-6b2c1d4e-0000-0000-0000-000000000000-000000"
        },
        "mail": {
            "timestamp": "2026-11-25T10:00:00.000Z",
            "source": "no-reply@example.org",
            "messageId": "0102017f3c6e3a11-4f5e6d7c-0000-0000-0000-000000000000-000000",
            "sendingAccountId": "123456789012",
            "destination": ["no-such-person@example.org"],
            "tags": {"ses:configuration-set": ["webknossos-accounts-mail"]}
        }
    });
    json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:eu-central-1:123456789012:webknossos-accounts-mail-events:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": "arn:aws:sns:eu-central-1:123456789012:webknossos-accounts-mail-events",
                "Subject": null,
                "Message": ses_event.to_string(),
                "Timestamp": "2026-11-25T10:00:02.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
                "UnsubscribeUrl": "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}
            }
        }]
    })
}

/// Lambda's event of the table's stream: one new audit entry of `${ORGANIZATION}`.
fn stream_event() -> Value {
    let entry = accounts::model::AuditEntry {
        organization: "${ORGANIZATION}".into(),
        id: format!("{TIME_EPOCH:012x}9f3c2a1b4d5e6f70"),
        action: "team.created".into(),
        occurred_at: TIME_EPOCH as i64,
        actor: accounts::model::AuditActor {
            kind: "user".into(),
            id: Some("${USER_ID}".into()),
            name: Some("Ada Lovelace".into()),
            email: Some("${EMAIL}".into()),
        },
        targets: vec![accounts::model::AuditTarget::team("5f0c1c0de0000000000000aa", "Red")],
        context: accounts::model::AuditContext {
            source_ip: Some(SOURCE_IP.into()),
            user_agent: Some(USER_AGENT.into()),
            request_id: Some("Yb3Xxg3vFiAEMHQ=".into()),
        },
        change: r#"{"name":"Red"}"#.into(),
        group: None,
        expires_at: (TIME_EPOCH / 1000 + 400 * 86_400) as i64,
    };
    let image =
        serde_json::to_value(serde_dynamo::Item::from(accounts::store::to_item(&entry))).expect("items serialize");
    let stream_arn =
        "arn:aws:dynamodb:eu-central-1:123456789012:table/webknossos-accounts/stream/2026-11-25T00:00:00.000";
    json!({
        "Records": [{
            "eventID": "c81e728d9d4c2f636f067f89cc14862c",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "eu-central-1",
            "dynamodb": {
                "ApproximateCreationDateTime": TIME_EPOCH / 1000,
                "Keys": { "PK": image["PK"], "SK": image["SK"] },
                "NewImage": image,
                "SequenceNumber": "4421584500000000017450439091",
                "SizeBytes": 412,
                "StreamViewType": "NEW_IMAGE",
            },
            "eventSourceARN": stream_arn,
        }]
    })
}

fn http_event(op: &Operation, sample: &Sample) -> Value {
    let default_route = op.path == DEFAULT_ROUTE;
    let prefix = if sample.versioned {
        format!("/api/v{}", accounts::operations::CURRENT_API_VERSION)
    } else {
        "/api".to_owned()
    };
    let raw_path = format!("{prefix}{}", sample.path);
    let route_key = if default_route {
        DEFAULT_ROUTE.to_owned()
    } else if sample.versioned {
        format!("{} /api/{{{}}}{}", op.method, accounts::operations::VERSION_PARAMETER, op.path)
    } else {
        format!("{} /api{}", op.method, op.path)
    };
    let method = if default_route { "GET" } else { op.method };

    let mut headers = json!({
        "accept": "application/json",
        "host": DOMAIN,
        "user-agent": USER_AGENT,
        "x-amzn-trace-id": "Root=1-67444b40-0123456789abcdef01234567",
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    if let Some(session) = sample.caller.placeholder() {
        headers["authorization"] = json!(format!("Bearer {session}"));
    }
    if sample.body.is_some() {
        headers["content-type"] = json!("application/json");
    }

    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": sample.query,
        "headers": headers,
    });
    if !sample.query.is_empty() {
        let parameters: serde_json::Map<String, Value> =
            form_urlencoded::parse(sample.query.as_bytes()).map(|(k, v)| (k.into_owned(), json!(v))).collect();
        event["queryStringParameters"] = Value::Object(parameters);
    }
    let mut parameters = serde_json::Map::new();
    if sample.versioned {
        parameters.insert(
            accounts::operations::VERSION_PARAMETER.to_owned(),
            json!(format!("v{}", accounts::operations::CURRENT_API_VERSION)),
        );
    }
    if !default_route {
        for (template, concrete) in op.path.split('/').zip(sample.path.split('/')) {
            if let Some(name) = template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                parameters.insert(name.to_owned(), json!(concrete));
            }
        }
    }
    if !parameters.is_empty() {
        event["pathParameters"] = Value::Object(parameters);
    }
    event["requestContext"] = json!({
        "accountId": "123456789012",
        "apiId": API_ID,
        "domainName": DOMAIN,
        "domainPrefix": API_ID,
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": SOURCE_IP,
            "userAgent": USER_AGENT,
        },
        "requestId": "Yb3Xxg3vFiAEMHQ=",
        "routeKey": route_key,
        "stage": "$default",
        "time": TIME,
        "timeEpoch": TIME_EPOCH,
    });
    if let Some(body) = sample.body {
        event["body"] = json!(body);
    }
    event["isBase64Encoded"] = json!(false);
    event
}

/// `events/{function}.json` for every function, as written to disk.
pub fn files() -> Vec<(String, String)> {
    SAMPLES
        .iter()
        .map(|sample| {
            let text = serde_json::to_string_pretty(&event(sample)).expect("events serialize") + "\n";
            (format!("{}.json", sample.function), text)
        })
        .collect()
}

/// Every function, HTTP or background, by name.
pub fn function_names() -> Vec<&'static str> {
    ALL.iter().map(|op| op.name).chain(BACKGROUND.iter().map(|f| f.name)).collect()
}

/// Replaces each `${NAME}` in `text` by its value.
pub fn fill(text: &str, values: &[(&str, String)]) -> String {
    let mut filled = text.to_owned();
    for (name, value) in values {
        filled = filled.replace(&format!("${{{name}}}"), value);
    }
    filled
}
