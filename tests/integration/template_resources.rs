//! template.yaml's production settings, beyond the routes (`contract.rs`): throttles, alarms, backups,
//! the mail's bounces and queue, the edge, a first deploy on a new account, and resource names that fit
//! their limits for the longest stack name.

use accounts::background::{BACKGROUND, Trigger};
use serde_norway::Value;

use crate::contract::{read, reference, yaml};
use accounts::operations::{ALL, DEFAULT_ROUTE};

/// The seconds between runs of a `rate(N unit)` schedule.
fn rate_seconds(expression: &str) -> u64 {
    let inner = expression.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')).expect("a rate expression");
    let (count, unit) = inner.split_once(' ').expect("rate(N unit)");
    let unit = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        other => panic!("unit {other}"),
    };
    count.parse::<u64>().unwrap() * unit
}

/// The production guards, in the template itself: a throttle on every route and a tighter one on each
/// credential route; a JSON access log line per request; the password-hashing functions' concurrency
/// capped; every background function invoked asynchronously sends what fails for good to the failures
/// queue, a scheduled one without a retry that could overlap its next run; each scheduled function is
/// alarmed when it stops running and times out before its next run starts; Lambda's REPORT lines kept.
#[test]
fn the_template_throttles_the_edge_and_watches_every_background_function() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let parameter_exists = |name: &str| template["Parameters"][name].is_mapping();

    let api = &resources["HttpApi"]["Properties"];
    assert_eq!(reference(&api["DefaultRouteSettings"]["ThrottlingRateLimit"]), Some("ApiThrottlingRateLimit"));
    assert_eq!(reference(&api["DefaultRouteSettings"]["ThrottlingBurstLimit"]), Some("ApiThrottlingBurstLimit"));
    let credential_routes = devstack::template::credential_routes();
    for route in ["POST /api/auth/login", "POST /api/{apiVersion}/auth/register", "POST /api/auth/resetPassword"] {
        assert!(credential_routes.iter().any(|r| r == route), "{route} is a credential route");
    }
    assert!(!credential_routes.iter().any(|r| r.contains("buildinfo")), "buildinfo is not");
    let settings = api["RouteSettings"].as_mapping().expect("route settings");
    assert_eq!(settings.len(), credential_routes.len(), "only the credential routes have their own throttle");
    for route in &credential_routes {
        let throttle = settings.get(route.as_str()).unwrap_or_else(|| panic!("{route} has no throttle of its own"));
        assert_eq!(reference(&throttle["ThrottlingRateLimit"]), Some("AuthThrottlingRateLimit"), "{route}");
        assert_eq!(reference(&throttle["ThrottlingBurstLimit"]), Some("AuthThrottlingBurstLimit"), "{route}");
    }
    // The access log format is JSON once API Gateway fills it in (the quoted error aside).
    let format = api["AccessLogSettings"]["Format"].as_str().expect("an access log format");
    let filled = format.replace("$context.error.messageString", "\"Too Many Requests\"");
    let line: serde_json::Value = serde_json::from_str(&filled).expect("the access log format is JSON");
    for field in ["requestId", "ip", "routeKey", "status", "latencyMs", "error"] {
        assert!(line.get(field).is_some(), "the access log has {field}: {format}");
    }
    for parameter in ["ApiThrottlingRateLimit", "AuthThrottlingRateLimit", "PasswordHashingConcurrency"] {
        assert!(parameter_exists(parameter), "{parameter}");
    }

    for name in devstack::template::PASSWORD_HASHING_FUNCTIONS {
        let properties = &resources[devstack::template::logical_id(name)]["Properties"];
        assert!(!properties["ReservedConcurrentExecutions"].is_null(), "{name}'s concurrency is capped");
    }
    for function in BACKGROUND {
        let id = devstack::template::logical_id(function.name);
        let properties = &resources[&id]["Properties"];
        let invoke = &properties["EventInvokeConfig"];
        match &function.trigger {
            Trigger::TableStream { .. } | Trigger::MailQueue { .. } => {
                assert!(invoke.is_null(), "{id}: its event source mapping retries")
            }
            trigger => {
                let retries = if matches!(trigger, Trigger::Schedule { .. }) { 0 } else { 2 };
                assert_eq!(invoke["MaximumRetryAttempts"].as_u64(), Some(retries), "{id}");
                let destination = &invoke["DestinationConfig"]["OnFailure"];
                assert_eq!(destination["Type"].as_str(), Some("SQS"), "{id}");
                assert!(format!("{:?}", destination["Destination"]).contains("BackgroundFailuresQueue"), "{id}");
            }
        }
        if let Trigger::Schedule { parameter, missed, .. } = &function.trigger {
            let alarm = &resources[format!("{id}MissedRunAlarm")]["Properties"];
            assert_eq!(alarm["MetricName"].as_str(), Some("Invocations"), "{id}");
            assert_eq!(alarm["TreatMissingData"].as_str(), Some("breaching"), "{id}: no data is a missed run");
            assert_eq!(reference(&alarm["EvaluationPeriods"]), Some(missed.parameter), "{id}");
            assert!(parameter_exists(missed.parameter), "{}", missed.parameter);
            let every = rate_seconds(template["Parameters"][*parameter]["Default"].as_str().unwrap());
            assert!(u64::from(function.timeout_seconds) < every, "{id} would still run when the next run starts");
        }
    }
    let logging = &template["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(logging["SystemLogLevel"].as_str(), Some("INFO"), "Lambda's REPORT lines are INFO");
}

/// The template's alarms, each with its resource id.
fn alarms(template: &Value) -> Vec<(&str, &Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(id, alarm)| (id.as_str().unwrap(), &alarm["Properties"]))
        .collect()
}

/// The metrics an alarm reads (CloudWatch bills each): its one metric, or its metric math's metrics.
fn metrics_read(alarm: &Value) -> Vec<&Value> {
    match alarm["Metrics"].as_sequence() {
        Some(queries) => queries.iter().filter(|query| query["MetricStat"].is_mapping()).collect(),
        None => vec![alarm],
    }
}

/// Every alarm tells the alarm topic when it fires and when it resolves (OK), so whoever is paged also learns
/// that the trouble is over.
#[test]
fn every_alarm_notifies_when_it_fires_and_when_it_resolves() {
    let template = yaml("template.yaml");
    let alarms = alarms(&template);
    assert!(alarms.len() > 10, "the alarms were read: {}", alarms.len());
    for (id, properties) in alarms {
        assert_eq!(reference(&properties["AlarmActions"][0]), Some("AlarmTopic"), "{id}");
        assert_eq!(properties["OKActions"], properties["AlarmActions"], "{id} resolves where it fires");
    }
}

/// Alarms people can act on: rates over every route and every function (metric math), not one alarm per
/// function firing on its first error; the API's 5xx and 4xx shares, its p99 latency, failed and throttled
/// invocations, concurrency near the quota, SES's bounce and complaint rates, mail waiting, throttles at the
/// API. Each metric math alarm returns one series from at most 10 metrics (CloudWatch's limit), and the
/// dashboard shows what each watches.
#[test]
fn the_alarms_watch_rates_over_every_route_and_function() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let alarms = alarms(&template);
    let per_function: Vec<&str> = alarms
        .iter()
        .filter(|(_, alarm)| {
            format!("{alarm:?}").contains("FunctionName") && !format!("{alarm:?}").contains("Invocations")
        })
        .map(|(id, _)| *id)
        .filter(|id| *id != "AuditEventsIteratorAgeAlarm")
        .collect();
    assert!(per_function.is_empty(), "alarms on one function's errors: {per_function:?}");
    for (id, alarm) in &alarms {
        if let Some(queries) = alarm["Metrics"].as_sequence() {
            // ReturnData defaults to true.
            let returned = queries.iter().filter(|q| q["ReturnData"].as_bool() != Some(false)).count();
            assert_eq!(returned, 1, "{id}: one series to watch");
            assert!(metrics_read(alarm).len() <= 10, "{id}: metric math alarms read 10 metrics at most");
            for query in queries {
                let query_id = query["Id"].as_str().unwrap();
                assert!(query_id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}: {query_id}");
            }
        }
    }
    let expression = |id: &str| -> String {
        let queries =
            resources[id]["Properties"]["Metrics"].as_sequence().unwrap_or_else(|| panic!("{id}: metric math"));
        let watched = queries.iter().find(|q| q["ReturnData"].as_bool() == Some(true)).unwrap();
        format!("{:?}", watched["Expression"])
    };
    let metric_names = |id: &str| -> Vec<String> {
        metrics_read(&resources[id]["Properties"])
            .iter()
            .map(|m| m["MetricStat"]["Metric"]["MetricName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(expression("ApiServerErrorRateAlarm").contains("100 * errors / requests"));
    assert_eq!(metric_names("ApiServerErrorRateAlarm"), ["5xx", "Count"]);
    assert_eq!(
        reference(&resources["ApiServerErrorRateAlarm"]["Properties"]["Threshold"]),
        Some("ApiServerErrorRatePercent")
    );
    assert!(expression("ApiClientErrorRateAlarm").contains("100 * refused / requests"));
    assert_eq!(metric_names("ApiClientErrorRateAlarm"), ["4xx", "Count"]);
    assert!(expression("FunctionErrorRateAlarm").contains("(errors + throttles) / (invocations + throttles)"));
    assert_eq!(metric_names("FunctionErrorRateAlarm"), ["Errors", "Throttles", "Invocations"]);
    for metric in metrics_read(&resources["FunctionErrorRateAlarm"]["Properties"]) {
        assert!(metric["MetricStat"]["Metric"]["Dimensions"].is_null(), "every function's: {metric:?}");
    }
    assert!(expression("ConcurrencyNearQuotaAlarm").contains("LambdaConcurrencyQuota"));
    assert_eq!(metric_names("ConcurrencyNearQuotaAlarm"), ["ConcurrentExecutions"]);
    let latency = &resources["ApiLatencyAlarm"]["Properties"];
    assert_eq!((latency["MetricName"].as_str(), latency["ExtendedStatistic"].as_str()), (Some("Latency"), Some("p99")));
    for (id, metric, threshold) in [
        ("MailBounceRateAlarm", "Reputation.BounceRate", 0.04),
        ("MailComplaintRateAlarm", "Reputation.ComplaintRate", 0.0008),
    ] {
        let alarm = &resources[id]["Properties"];
        assert_eq!((alarm["Namespace"].as_str(), alarm["MetricName"].as_str()), (Some("AWS/SES"), Some(metric)));
        assert_eq!(alarm["Threshold"].as_f64(), Some(threshold), "{id}: below the rate at which SES reviews");
    }
    for (id, queue) in [("MailQueueDelayAlarm", "MailQueue"), ("SecurityMailQueueDelayAlarm", "SecurityMailQueue")] {
        let alarm = &resources[id]["Properties"];
        assert_eq!(alarm["MetricName"].as_str(), Some("ApproximateAgeOfOldestMessage"), "{id}");
        assert!(format!("{:?}", alarm["Dimensions"]).contains(queue), "{id}");
    }
    assert!(resources["ApiThrottledAlarm"].is_mapping());
    let dashboard = format!("{:?}", resources["Dashboard"]["Properties"]["DashboardBody"]);
    for shown in [
        "100 * errors / requests",
        "100 * refused / requests",
        "(errors + throttles) / (invocations + throttles)",
        "100 * concurrency / ${LambdaConcurrencyQuota}",
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
        "ApproximateAgeOfOldestMessage",
        "p99",
    ] {
        assert!(dashboard.contains(shown), "the dashboard shows {shown}");
    }
}

/// docs/deploy.md's monthly alarm cost is the template's: CloudWatch bills $0.10 a month for each metric an
/// alarm reads (a metric math alarm, each of its metrics).
#[test]
fn the_alarm_cost_in_the_deploy_guide_is_the_templates() {
    let template = yaml("template.yaml");
    let alarms = alarms(&template);
    let metrics: usize = alarms.iter().map(|(_, alarm)| metrics_read(alarm).len()).sum();
    let stated =
        format!("{} alarms reading {metrics} metrics at $0.10 each: ${:.2}", alarms.len(), metrics as f64 * 0.10);
    let guide = read("docs/deploy.md").replace('\n', " ");
    assert!(guide.contains(&stated), "docs/deploy.md should say \"{stated}\"");
}

/// The table is backed up beyond point-in-time recovery: a daily plan kept as the parameter says,
/// selecting the table, into a vault that stays when the stack goes.
#[test]
fn the_template_backs_the_table_up() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let rule = &resources["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"][0];
    assert_eq!(reference(&rule["Lifecycle"]["DeleteAfterDays"]), Some("BackupRetentionDays"));
    assert_eq!(reference(&rule["ScheduleExpression"]), Some("BackupSchedule"));
    assert_eq!(reference(&rule["TargetBackupVault"]), Some("BackupVault"));
    assert_eq!(resources["BackupVault"]["DeletionPolicy"].as_str(), Some("RetainExceptOnCreate"));
    let selected = format!("{:?}", resources["BackupSelection"]["Properties"]["BackupSelection"]["Resources"]);
    assert!(selected.contains("AccountsTable"), "{selected}");
    // Dailies for two weeks, monthlies for a year in cold storage after a month (AWS Backup keeps a cold
    // backup 90 days at least: the monthly retention's minimum allows for it).
    assert_eq!(number_default(&template, "BackupRetentionDays"), 14);
    let monthly = &resources["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"][1];
    assert_eq!(monthly["RuleName"].as_str(), Some("monthly"));
    assert_eq!(monthly["ScheduleExpression"].as_str(), Some("cron(0 4 1 * ? *)"));
    assert_eq!(monthly["Lifecycle"]["MoveToColdStorageAfterDays"].as_u64(), Some(30));
    assert_eq!(reference(&monthly["Lifecycle"]["DeleteAfterDays"]), Some("MonthlyBackupRetentionDays"));
    assert_eq!(number_default(&template, "MonthlyBackupRetentionDays"), 365);
    assert_eq!(template["Parameters"]["MonthlyBackupRetentionDays"]["MinValue"].as_u64(), Some(30 + 90));
    // The vault lock is there to turn on, and off by default.
    assert_eq!(number_default(&template, "BackupVaultLockDays"), 0);
    let lock = format!("{:?}", resources["BackupVault"]["Properties"]["LockConfiguration"]);
    assert!(lock.contains("HasBackupVaultLock") && lock.contains("BackupVaultLockDays"), "{lock}");
}

/// The audit events are archived for replay (docs/audit.md, "Replay").
#[test]
fn the_audit_events_are_archived_for_replay() {
    let template = yaml("template.yaml");
    let archive = &template["Resources"]["AuditEventArchive"];
    assert_eq!(archive["Type"].as_str(), Some("AWS::Events::Archive"));
    let source = format!("{:?}", archive["Properties"]["SourceArn"]);
    assert!(source.contains("AuditEventBus"), "the archive keeps the audit bus's events: {source}");
    assert_eq!(reference(&archive["Properties"]["RetentionDays"]), Some("AuditArchiveRetentionDays"));
    assert_eq!(number_default(&template, "AuditArchiveRetentionDays"), 90);
}

/// Every mail goes out with the configuration set, whose bounce and complaint events reach the function
/// that records them; each function that mails may use that configuration set (SES checks it as well as
/// the sending identity).
#[test]
fn the_template_reports_every_mails_bounces_and_complaints() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let environment = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(reference(&environment["MAIL_CONFIGURATION_SET"]), Some("MailConfigurationSet"));
    assert_eq!(resources["MailConfigurationSet"]["Type"].as_str(), Some("AWS::SES::ConfigurationSet"));
    let destination = &resources["MailConfigurationSetEvents"]["Properties"];
    assert_eq!(reference(&destination["ConfigurationSetName"]), Some("MailConfigurationSet"));
    let matching: Vec<&str> = destination["EventDestination"]["MatchingEventTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert_eq!(matching, ["bounce", "complaint"]);
    assert_eq!(destination["EventDestination"]["Enabled"].as_bool(), Some(true));
    assert_eq!(reference(&destination["EventDestination"]["SnsDestination"]["TopicARN"]), Some("MailEventsTopic"));
    let statement = &resources["MailEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"].as_str(), Some("ses.amazonaws.com"));
    assert_eq!(statement["Action"].as_str(), Some("sns:Publish"));
    assert_eq!(reference(&statement["Condition"]["StringEquals"]["AWS:SourceAccount"]), Some("AWS::AccountId"));
    // Only the configuration set's events: not any SES identity's of the account.
    let source = format!("{:?}", statement["Condition"]["ArnEquals"]["AWS:SourceArn"]);
    assert!(source.contains("configuration-set/${MailConfigurationSet}"), "{source}");
    assert_eq!(reference(&environment["MAIL_EVENTS_TOPIC_ARN"]), Some("MailEventsTopic"));
    let record = &resources["RecordMailEventsFunction"]["Properties"]["Events"]["MailEvents"];
    assert_eq!(
        (record["Type"].as_str(), reference(&record["Properties"]["Topic"])),
        (Some("SNS"), Some("MailEventsTopic"))
    );
    // Only the queue's drainer sends through SES; every other function that mails queues it.
    let (mut sending, mut queueing) = (Vec::new(), 0);
    for (id, resource) in resources.as_mapping().unwrap() {
        let policies = format!("{:?}", resource["Properties"]["Policies"]);
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        if policies.contains("ses:SendEmail") {
            sending.push(id.as_str().unwrap().to_owned());
            assert!(policies.contains("configuration-set/${MailConfigurationSet}"), "{id:?}: {policies}");
        }
        let name = id.as_str().unwrap();
        let declared = ALL
            .iter()
            .map(|op| (op.name, op.actions))
            .chain(BACKGROUND.iter().map(|f| (f.name, f.actions)))
            .find(|(function, _)| devstack::template::logical_id(function) == name);
        if declared.is_some_and(|(_, actions)| actions.contains(&"sqs:SendMessage")) {
            queueing += 1;
            assert!(policies.contains("MailQueue.Arn"), "{id:?}: {policies}");
        }
    }
    assert_eq!(sending, ["SendMailFunction"]);
    assert!(queueing > 10, "{queueing} functions queue mail");
}

/// The mail queue: drained by send_mail at the configured rate, a mail not taken tried again after six
/// times the drainer's timeout and `MailMaxAttempts` times in all, then kept in the dead-letter queue,
/// which has an alarm, as has mail waiting too long.
#[test]
fn the_template_queues_every_mail_and_watches_the_queue() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    let environment = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(reference(&environment["MAIL_QUEUE_URL"]), Some("MailQueue"));
    assert_eq!(reference(&environment["MAIL_SECURITY_QUEUE_URL"]), Some("SecurityMailQueue"));
    assert_eq!(reference(&environment["MAIL_SEND_RATE"]), Some("MailSendRatePerSecond"));
    // Two lanes, each tried as often, given up into the one dead-letter queue, drained by send_mail.
    for (queue, mapping) in
        [("MailQueue", "SendMailFunctionQueueMapping"), ("SecurityMailQueue", "SendMailFunctionSecurityQueueMapping")]
    {
        let properties = &resources[queue]["Properties"];
        let timeout = u64::from(accounts::background::SEND_MAIL.timeout_seconds);
        assert_eq!(properties["VisibilityTimeout"].as_u64(), Some(6 * timeout), "{queue}");
        assert_eq!(reference(&properties["RedrivePolicy"]["maxReceiveCount"]), Some("MailMaxAttempts"), "{queue}");
        assert!(format!("{:?}", properties["RedrivePolicy"]["deadLetterTargetArn"]).contains("MailDeadLetterQueue"));
        let mapping = &resources[mapping]["Properties"];
        assert!(format!("{:?}", mapping["EventSourceArn"]).contains(&format!("\"{queue}.Arn\"")), "{queue}");
        let drainers = Some(u64::from(accounts::mail::DRAINERS));
        assert_eq!(mapping["ScalingConfig"]["MaximumConcurrency"].as_u64(), drainers, "{queue}");
        assert_eq!(mapping["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
    }
    // Every function that queues mail may queue it on both lanes.
    for (id, resource) in resources.as_mapping().unwrap() {
        let policies = format!("{:?}", resource["Properties"]["Policies"]);
        if policies.contains("sqs:SendMessage") && policies.contains("MailQueue.Arn") {
            assert!(policies.contains("SecurityMailQueue") && policies.contains("\"MailQueue"), "{id:?}: {policies}");
        }
    }
    for (alarm, metric, queue) in [
        ("MailDeadLetterAlarm", "ApproximateNumberOfMessagesVisible", "MailDeadLetterQueue"),
        ("MailQueueDelayAlarm", "ApproximateAgeOfOldestMessage", "MailQueue"),
        ("SecurityMailQueueDelayAlarm", "ApproximateAgeOfOldestMessage", "SecurityMailQueue"),
    ] {
        let properties = &resources[alarm]["Properties"];
        assert_eq!(properties["MetricName"].as_str(), Some(metric), "{alarm}");
        assert!(format!("{:?}", properties["Dimensions"]).contains(queue), "{alarm}");
        assert_eq!(reference(&properties["AlarmActions"][0]), Some("AlarmTopic"), "{alarm}");
    }
    let policies = format!("{:?}", resources["SendMailFunction"]["Properties"]["Policies"]);
    for action in devstack::template::QUEUE_READ_ACTIONS {
        assert!(policies.contains(action), "send_mail may {action}");
    }
}

#[test]
fn sam_validate_lint_passes() {
    let sam = devstack::repo_root().join("infra/.venv-tools/bin/sam");
    assert!(sam.is_file(), "{} is missing: run the README's test command, which installs it", sam.display());
    let output = std::process::Command::new(sam)
        .args(["validate", "--lint"])
        .current_dir(devstack::repo_root())
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && printed.contains("is a valid SAM Template"), "{printed}");
}

fn number_default(template: &Value, parameter: &str) -> u64 {
    let default = &template["Parameters"][parameter]["Default"];
    default.as_u64().or_else(|| default.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("{parameter}"))
}

/// The edge is on by default: CloudFront with infra/edge.yaml's web ACL in front of the API, adding the
/// origin header the functions require (the same value the functions are given), the execute-api endpoint
/// off when a domain serves the API. The route throttles are a backstop above ten clients at their edge
/// limits, and alarm when reached. infra/edge.yaml is generated, lints, and its credential patterns match
/// every credential route and nothing else.
#[test]
fn the_template_puts_the_edge_in_front_by_default() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    assert_eq!(template["Parameters"]["EdgeProtection"]["Default"].as_str(), Some("true"));
    assert!(template["Rules"]["EdgeProtectionNeedsItsWebAcl"].is_mapping(), "a deploy without the web ACL stops early");

    let distribution = &resources["EdgeDistribution"];
    assert_eq!(distribution["Condition"].as_str(), Some("HasEdge"));
    let config = &distribution["Properties"]["DistributionConfig"];
    assert_eq!(reference(&config["WebACLId"]), Some("EdgeWebAclArn"));
    assert_eq!(
        config["DefaultCacheBehavior"]["CachePolicyId"].as_str(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad"),
        "nothing is cached (CachingDisabled)"
    );
    let origin = &config["Origins"][0];
    let header = &origin["OriginCustomHeaders"][0];
    assert!(header["HeaderName"].as_str().unwrap().eq_ignore_ascii_case(accounts::edge::ORIGIN_VERIFY_HEADER));
    let verify = &template["Globals"]["Function"]["Environment"]["Variables"]["EDGE_ORIGIN_VERIFY"];
    let Value::Tagged(verify) = verify else { panic!("EDGE_ORIGIN_VERIFY is !If: {verify:?}") };
    assert_eq!(verify.tag, "!If");
    assert_eq!(verify.value[0].as_str(), Some("HasEdge"));
    assert_eq!(verify.value[1], header["HeaderValue"], "the functions require the header CloudFront adds");
    assert_eq!(verify.value[2].as_str(), Some(""), "without the edge, no header is required");

    let disabled = format!("{:?}", resources["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"]);
    assert!(disabled.contains("HasEdgeDomain") && disabled.contains("Bool(true)"), "{disabled}");

    let edge = yaml("infra/edge.yaml");
    assert_eq!(read("infra/edge.yaml"), devstack::edge_template::edge_template(), "run sync-template");
    for (throttle, per_client) in
        [("AuthThrottlingRateLimit", "CredentialRequestsPerClient"), ("ApiThrottlingRateLimit", "RequestsPerClient")]
    {
        let backstop = number_default(&template, throttle) * 300;
        let client = number_default(&edge, per_client);
        assert!(backstop >= 10 * client, "{throttle} ({backstop} per 5 minutes) is below ten clients at {per_client}");
    }
    let filter = &resources["ApiThrottledRequests"]["Properties"];
    assert!(filter["FilterPattern"].as_str().unwrap().contains("$.error = \"Too Many Requests\""));
    assert!(devstack::access_log::format().contains("\"error\":$context.error.messageString"), "the field it reads");
    let alarm = &resources["ApiThrottledAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], filter["MetricTransformations"][0]["MetricName"]);
    assert_eq!(alarm["Namespace"], filter["MetricTransformations"][0]["MetricNamespace"]);

    let acl = &edge["Resources"]["WebAcl"]["Properties"];
    assert_eq!(acl["Scope"].as_str(), Some("CLOUDFRONT"));
    let rules = acl["Rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), 2);
    for rule in rules {
        assert_eq!(rule["Action"]["Block"]["CustomResponse"]["ResponseCode"].as_u64(), Some(429));
        assert_eq!(rule["Statement"]["RateBasedStatement"]["AggregateKeyType"].as_str(), Some("IP"));
    }
    let body = acl["CustomResponseBodies"]["rateLimited"]["Content"].as_str().unwrap();
    let body: serde_json::Value = serde_json::from_str(body).expect("the refusal is JSON");
    assert_eq!(body["messages"][0]["code"], "request.rateLimited");

    // The patterns, as WAF would run them (Python's re, close enough for these expressions).
    let patterns: Vec<&str> = edge["Resources"]["CredentialRoutes"]["Properties"]["RegularExpressionList"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let sample = |route: &str| -> String {
        let path = route.split_once(' ').unwrap().1;
        path.split('/')
            .map(|s| {
                if s == "{apiVersion}" {
                    "v9"
                } else if s.starts_with('{') {
                    "a1B2"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    let credential: Vec<String> = devstack::template::credential_routes().iter().map(|r| sample(r)).collect();
    let others: Vec<String> = ALL
        .iter()
        .flat_map(|op| op.route_paths().into_iter().map(move |p| format!("{} {p}", op.method)))
        .filter(|route| !devstack::template::credential_routes().contains(route))
        .filter(|route| !route.ends_with(DEFAULT_ROUTE))
        .map(|r| sample(&r))
        .collect();
    let script = "import json,re,sys\np,c,o=json.load(sys.stdin)\nprint(json.dumps([[any(re.search(x,s) for x in p) for s in c],[any(re.search(x,s) for x in p) for s in o]]))";
    let mut python = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    python
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&(&patterns, &credential, &others)).unwrap().as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    let (matched, matched_others): (Vec<bool>, Vec<bool>) =
        serde_json::from_slice(&output.stdout).expect("python's answer");
    for (path, matched) in credential.iter().zip(matched) {
        assert!(matched, "{path} is a credential route the edge does not limit tighter");
    }
    for (path, matched) in others.iter().zip(matched_others) {
        assert!(!matched, "{path} is no credential route");
    }

    let lint = devstack::repo_root().join("infra/.venv-tools/bin/cfn-lint");
    let output =
        std::process::Command::new(lint).arg("infra/edge.yaml").current_dir(devstack::repo_root()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}

/// What a first deploy on a new AWS account needs (issue 35): no concurrency reserved by default (a new
/// account's quota leaves none to reserve), a table and a backup vault that a failed first deploy does not
/// leave behind (so the retry can create them) but any later deletion keeps, and the access log under
/// `/aws/vendedlogs/`.
#[test]
fn the_template_can_be_deployed_first_on_a_new_account() {
    let template = yaml("template.yaml");
    let parameters = &template["Parameters"];
    assert_eq!(parameters["PasswordHashingConcurrency"]["Default"].as_u64(), Some(0), "no reservation by default");
    let resources = &template["Resources"];
    for (logical_id, resource) in resources.as_mapping().unwrap() {
        let properties = &resource["Properties"];
        if !properties["ReservedConcurrentExecutions"].is_null() {
            let reserved = format!("{:?}", properties["ReservedConcurrentExecutions"]);
            assert!(reserved.contains("HasPasswordHashingConcurrency"), "{logical_id:?} reserves {reserved}");
        }
    }
    for kept in ["AccountsTable", "BackupVault"] {
        assert_eq!(resources[kept]["DeletionPolicy"].as_str(), Some("RetainExceptOnCreate"), "{kept}");
        assert_eq!(resources[kept]["UpdateReplacePolicy"].as_str(), Some("Retain"), "{kept}");
    }
    let log_group = format!("{:?}", resources["ApiAccessLogGroup"]["Properties"]["LogGroupName"]);
    assert!(log_group.contains("/aws/vendedlogs/"), "{log_group}");
}

/// The longest stack name CloudFormation allows.
const LONGEST_STACK_NAME: usize = 128;

/// What a name in the template comes to for the longest stack name (`None`: not something this knows how
/// to evaluate): `!Sub` with pseudo parameters and parameters' defaults, `!Ref`, `!Join`, `!Select`,
/// `!Split`.
fn evaluated(value: &Value, template: &Value) -> Option<Vec<String>> {
    let stack = "s".repeat(LONGEST_STACK_NAME);
    let reference = |name: &str| -> Option<String> {
        match name {
            "AWS::StackName" => Some(stack.clone()),
            "AWS::StackId" => Some(format!(
                "arn:aws:cloudformation:ap-southeast-4:123456789012:stack/{stack}/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
            )),
            "AWS::Region" => Some("ap-southeast-4".into()),
            "AWS::AccountId" => Some("123456789012".into()),
            "AWS::Partition" => Some("aws".into()),
            parameter => template["Parameters"][parameter]["Default"].as_str().map(str::to_owned),
        }
    };
    match value {
        Value::String(text) => Some(vec![text.clone()]),
        Value::Number(number) => Some(vec![number.to_string()]),
        Value::Sequence(items) => {
            items.iter().map(|item| evaluated(item, template).map(|v| v.join(""))).collect::<Option<Vec<_>>>()
        }
        Value::Tagged(tagged) if tagged.tag == "!Ref" => Some(vec![reference(tagged.value.as_str()?)?]),
        Value::Tagged(tagged) if tagged.tag == "!Sub" => {
            let mut text = tagged.value.as_str()?.to_owned();
            while let Some(start) = text.find("${") {
                let end = start + text[start..].find('}')?;
                text.replace_range(start..=end, &reference(&text[start + 2..end])?);
            }
            Some(vec![text])
        }
        Value::Tagged(tagged) if tagged.tag == "!Join" => {
            let separator = tagged.value[0].as_str()?;
            Some(vec![evaluated(&tagged.value[1], template)?.join(separator)])
        }
        Value::Tagged(tagged) if tagged.tag == "!Split" => {
            let separator = tagged.value[0].as_str()?;
            let whole = evaluated(&tagged.value[1], template)?.join("");
            Some(whole.split(separator).map(str::to_owned).collect())
        }
        Value::Tagged(tagged) if tagged.tag == "!Select" => {
            let index = tagged.value[0].as_u64()? as usize;
            Some(vec![evaluated(&tagged.value[1], template)?.get(index)?.clone()])
        }
        _ => None,
    }
}

/// Every name the template gives a resource fits the resource type's limit for any stack name
/// CloudFormation allows (up to 128 characters): a backup vault's name, say, has at most 50.
#[test]
fn every_resource_name_fits_its_limit_for_the_longest_stack_name() {
    let template = yaml("template.yaml");
    // (resource type, the name's property path, the longest name it takes)
    let limits: &[(&str, &[&str], usize)] = &[
        ("AWS::SES::ConfigurationSet", &["Name"], 64),
        ("AWS::Backup::BackupVault", &["BackupVaultName"], 50),
        ("AWS::Backup::BackupPlan", &["BackupPlan", "BackupPlanName"], 50),
        ("AWS::Backup::BackupSelection", &["BackupSelection", "SelectionName"], 50),
        ("AWS::SNS::Topic", &["TopicName"], 256),
        ("AWS::SQS::Queue", &["QueueName"], 80),
        ("AWS::Events::EventBus", &["Name"], 256),
        ("AWS::Events::Rule", &["Name"], 64),
        ("AWS::Events::Archive", &["ArchiveName"], 48),
        ("AWS::CloudWatch::Dashboard", &["DashboardName"], 255),
        ("AWS::CloudWatch::Alarm", &["AlarmName"], 255),
        ("AWS::Logs::LogGroup", &["LogGroupName"], 512),
        ("AWS::IAM::Role", &["RoleName"], 64),
        ("AWS::Serverless::Function", &["FunctionName"], 64),
        ("AWS::SecretsManager::Secret", &["Name"], 512),
    ];
    let mut checked = 0;
    for (logical_id, resource) in template["Resources"].as_mapping().unwrap() {
        let kind = resource["Type"].as_str().unwrap();
        let Some((_, path, limit)) = limits.iter().find(|(t, ..)| *t == kind) else { continue };
        let name = path.iter().fold(&resource["Properties"], |value, key| &value[*key]);
        if name.is_null() {
            continue; // CloudFormation makes one that fits.
        }
        let value = evaluated(name, &template).unwrap_or_else(|| panic!("{logical_id:?}: cannot evaluate {name:?}"));
        let value = value.join("");
        assert!(
            value.len() <= *limit,
            "{logical_id:?} ({kind}): {} characters for the longest stack name, at most {limit}: {value}",
            value.len()
        );
        checked += 1;
    }
    assert!(checked > 70, "{checked} names checked");
}

/// Index grants name each index's ARN, never `index/*`: a function may Query exactly the indexes its
/// operation declares (`Query/{index}`), and those grants allow nothing but `dynamodb:Query`. Every index of
/// the table is one the guard knows (`declared_actions::INDEX_QUERIES`), so a Query of it is checked.
#[test]
fn each_function_may_query_exactly_the_indexes_it_declares() {
    use accounts::declared_actions::{INDEX_QUERIES, queried_index};
    use std::collections::BTreeSet;
    let template = yaml("template.yaml");
    assert!(!read("template.yaml").contains("/index/*"), "no grant on every index");
    let declared = ALL.iter().map(|op| (op.name, op.actions)).chain(BACKGROUND.iter().map(|f| (f.name, f.actions)));
    let mut querying = 0;
    for (name, actions) in declared {
        let id = devstack::template::logical_id(name);
        let statements = template["Resources"][&id]["Properties"]["Policies"][0]["Statement"].as_sequence();
        let mut granted = BTreeSet::new();
        for statement in statements.into_iter().flatten() {
            let resources = format!("{:?}", statement["Resource"]);
            for (_, rest) in resources.match_indices("/index/").map(|(at, _)| resources.split_at(at + "/index/".len()))
            {
                let index: String = rest.chars().take_while(char::is_ascii_alphanumeric).collect();
                assert_eq!(statement["Action"].as_str(), Some("dynamodb:Query"), "{id}: only Query on an index");
                granted.insert(index);
            }
        }
        let wanted: BTreeSet<String> = actions.iter().filter_map(|a| queried_index(a)).map(str::to_owned).collect();
        assert_eq!(granted, wanted, "{id}");
        querying += usize::from(!wanted.is_empty());
    }
    assert!(querying >= 5, "the functions that read indexes were found: {querying}");
    let indexes: BTreeSet<String> = template["Resources"]["AccountsTable"]["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|index| index["IndexName"].as_str().unwrap().to_owned())
        .collect();
    let known: BTreeSet<String> = INDEX_QUERIES.iter().filter_map(|q| queried_index(q)).map(str::to_owned).collect();
    assert_eq!(indexes, known, "every index of the table is known to the guard");
}

/// The invite indexes' partition keys are sharded: the template's key attributes are the ones the model
/// writes, and the values it writes spread over every shard (`model::invite_schedule_partition`), so the
/// whole instance's invite writes do not share one index partition. (The daily job reading every shard:
/// `invite_delivery.rs::invites_spread_over_the_index_shards_and_the_daily_job_reaches_every_one`.)
#[test]
fn the_invite_indexes_partition_keys_are_sharded() {
    use accounts::model::{INVITE_SCHEDULE_SHARDS, invite_schedule_partition, invite_schedule_partitions};
    let template = yaml("template.yaml");
    let indexes = template["Resources"]["AccountsTable"]["Properties"]["GlobalSecondaryIndexes"].as_sequence().unwrap();
    for (index, attribute) in [("InvitesToRemind", "remindPartition"), ("InvitesToClean", "cleanupPartition")] {
        let definition = indexes.iter().find(|i| i["IndexName"].as_str() == Some(index)).expect(index);
        let hash =
            definition["KeySchema"].as_sequence().unwrap().iter().find(|k| k["KeyType"].as_str() == Some("HASH"));
        assert_eq!(hash.and_then(|k| k["AttributeName"].as_str()), Some(attribute), "{index}");
    }
    const { assert!(INVITE_SCHEDULE_SHARDS >= 8) };
    let written: std::collections::BTreeSet<String> =
        (0..1000).map(|_| invite_schedule_partition(&accounts::ids::new_object_id())).collect();
    let shards: std::collections::BTreeSet<String> = invite_schedule_partitions().into_iter().collect();
    assert_eq!(written, shards, "a thousand invites use every shard and nothing else");
}
