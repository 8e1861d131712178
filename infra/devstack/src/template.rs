//! template.yaml: the per-function section is generated from the route table (`accounts::operations::ALL`),
//! so each operation has exactly one function, its two HTTP API routes, and a policy granting exactly its
//! declared DynamoDB actions. `cargo run -p devstack --bin sync-template` rewrites it; a test fails when it
//! is out of date.

use std::fmt::Write;

use accounts::background::{BACKGROUND, BackgroundFunction, MissedRunAlarm, Trigger};
use accounts::operations::{ALL, Access, DEFAULT_ROUTE, Operation};

pub const BEGIN_MARKER: &str =
    "  # BEGIN GENERATED FUNCTIONS: `cargo run -p devstack --bin sync-template` writes this part";
pub const END_MARKER: &str = "  # END GENERATED FUNCTIONS";

pub fn template_path() -> std::path::PathBuf {
    crate::repo_root().join("template.yaml")
}

/// `current_user` -> `CurrentUserFunction`
pub fn logical_id(operation_name: &str) -> String {
    let mut id: String = operation_name
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    id.push_str("Function");
    id
}

/// The stream's read actions: Lambda's event source mapping reads the stream with the function's role.
/// ListStreams has no resource type in IAM (it lists a region's streams), so it is granted on `*`.
pub const STREAM_READ_ACTIONS: &[&str] =
    &["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"];

/// The mail queue's read actions: Lambda's event source mapping receives and deletes with the function's role.
pub const QUEUE_READ_ACTIONS: &[&str] =
    &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"];

/// The parameter naming the secret a key use reads (`accounts::keys`), for the secrets the operator makes.
pub fn secret_parameter(key_use: &str) -> Option<&'static str> {
    match key_use {
        accounts::keys::SIGNS_SESSIONS => Some("SessionKeySecretName"),
        accounts::keys::DERIVES_TOKENS => Some("TokenSecretName"),
        _ => None,
    }
}

/// The IAM resource of the secret a key use reads: an operator's secret by its name's parameter (Secrets
/// Manager appends six random characters to the name in the ARN), or the sealing key the template makes.
pub fn secret_resource(key_use: &str) -> Option<String> {
    if key_use == accounts::keys::SEALS_CLIENT_SECRETS {
        return Some("!Ref SsoSealingKey".to_owned());
    }
    secret_parameter(key_use).map(|parameter| {
        format!(
            "!Sub \"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{{parameter}}}-??????\""
        )
    })
}

/// The function's policy: exactly its declared actions, on their resources. A function that needs none
/// (the pages, `buildinfo`, the catch-all) gets no policy at all.
fn policies(out: &mut String, actions: &[&str], trigger: &Trigger) {
    let mut statements = String::new();
    statements_of(&mut statements, actions, trigger);
    if !statements.is_empty() {
        let _ = writeln!(out, "      Policies:");
        let _ = writeln!(out, "        - Statement:");
        out.push_str(&statements);
    }
}

fn statements_of(out: &mut String, actions: &[&str], trigger: &Trigger) {
    // DynamoDB's actions on the table; its indexes' Queries (`Query/{index}`) on each index's ARN.
    let dynamodb: Vec<&&str> = actions.iter().filter(|a| !a.contains(':') && !a.contains('/')).collect();
    let indexes: Vec<&str> = actions.iter().filter_map(|a| accounts::declared_actions::queried_index(a)).collect();
    let mails = actions.contains(&"ses:SendEmail");
    let queues_mail = actions.contains(&"sqs:SendMessage");
    let drains_mail = matches!(trigger, Trigger::MailQueue { .. });
    let events = actions.contains(&"events:PutEvents");
    let stream = matches!(trigger, Trigger::TableStream { .. });
    // A function reads a secret when it starts (accounts::signing::START_UP) only if it declares its use,
    // and that secret only.
    for resource in actions.iter().filter_map(|action| secret_resource(action)) {
        for action in accounts::signing::START_UP.actions {
            let _ = writeln!(out, "            - Effect: Allow");
            let _ = writeln!(out, "              Action: {action}");
            let _ = writeln!(out, "              Resource: {resource}");
        }
    }
    if !dynamodb.is_empty() {
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action:");
        for action in &dynamodb {
            let _ = writeln!(out, "                - dynamodb:{action}");
        }
        let _ = writeln!(out, "              Resource: !GetAtt AccountsTable.Arn");
    }
    if !indexes.is_empty() {
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action: dynamodb:Query");
        let _ = writeln!(out, "              Resource:");
        for index in indexes {
            let _ = writeln!(out, "                - !Sub \"${{AccountsTable.Arn}}/index/{index}\"");
        }
    }
    if mails {
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action: ses:SendEmail");
        // SES checks the sending identity and the configuration set the mail is sent with.
        let _ = writeln!(out, "              Resource:");
        let _ = writeln!(
            out,
            "                - !Sub \"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/*\""
        );
        let _ = writeln!(
            out,
            "                - !Sub \"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/${{MailConfigurationSet}}\""
        );
        let _ = writeln!(out, "              Condition:");
        let _ = writeln!(out, "                StringEquals:");
        let _ = writeln!(out, "                  ses:FromAddress: !Ref MailSender");
    }
    if queues_mail {
        // Both lanes: which one a mail takes depends on the mail (security mail has its own).
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action: sqs:SendMessage");
        let _ = writeln!(out, "              Resource:");
        for queue in MAIL_LANES {
            let _ = writeln!(out, "                - !GetAtt {queue}.Arn");
        }
    }
    if drains_mail {
        // The queue's event source mapping reads and deletes the messages with the function's role.
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action:");
        for action in QUEUE_READ_ACTIONS {
            let _ = writeln!(out, "                - {action}");
        }
        let _ = writeln!(out, "              Resource:");
        for queue in MAIL_LANES {
            let _ = writeln!(out, "                - !GetAtt {queue}.Arn");
        }
    }
    if events {
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action: events:PutEvents");
        let _ = writeln!(out, "              Resource: !GetAtt AuditEventBus.Arn");
    }
    if stream {
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action:");
        for action in STREAM_READ_ACTIONS {
            let _ = writeln!(out, "                - {action}");
        }
        let _ = writeln!(out, "              Resource: !GetAtt AccountsTable.StreamArn");
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action: dynamodb:ListStreams");
        let _ = writeln!(out, "              Resource: \"*\"");
        // The mapping sends what it gives up on to the dead-letter queue with the function's role.
        let _ = writeln!(out, "            - Effect: Allow");
        let _ = writeln!(out, "              Action: sqs:SendMessage");
        let _ = writeln!(out, "              Resource: !GetAtt AuditEventsDeadLetterQueue.Arn");
    }
}

/// How long the stream's event source mapping retries a record before it gives up and sends the batch's
/// description to the dead-letter queue: 23 hours, an hour before the stream drops the record (it keeps
/// records 24 hours), so a record is never dropped without reaching the queue (docs/audit.md).
pub const STREAM_MAXIMUM_RECORD_AGE_SECONDS: u32 = 23 * 3600;

/// The event source mapping of a stream-triggered function: a plain `AWS::Lambda::EventSourceMapping`
/// rather than SAM's `DynamoDB` event, which would attach AWS's managed policy for every stream in the
/// account. One batch per shard at a time (order), from the oldest record (nothing missed at creation),
/// retried from the first failed record; only new audit entries and tombstones invoke the function.
fn stream_mapping(out: &mut String, function: &BackgroundFunction, batch_size: u32) {
    let id = logical_id(function.name);
    let _ = writeln!(out, "  {id}StreamMapping:");
    let _ = writeln!(out, "    Type: AWS::Lambda::EventSourceMapping");
    let _ = writeln!(out, "    Properties:");
    let _ = writeln!(out, "      FunctionName: !Ref {id}");
    let _ = writeln!(out, "      EventSourceArn: !GetAtt AccountsTable.StreamArn");
    let _ = writeln!(out, "      StartingPosition: TRIM_HORIZON");
    let _ = writeln!(out, "      BatchSize: {batch_size}");
    let _ = writeln!(out, "      ParallelizationFactor: 1");
    let _ = writeln!(out, "      FunctionResponseTypes: [ReportBatchItemFailures]");
    let _ = writeln!(out, "      BisectBatchOnFunctionError: false");
    let _ = writeln!(out, "      MaximumRetryAttempts: -1");
    let _ = writeln!(out, "      MaximumRecordAgeInSeconds: {STREAM_MAXIMUM_RECORD_AGE_SECONDS}");
    let _ = writeln!(out, "      DestinationConfig:");
    let _ = writeln!(out, "        OnFailure:");
    let _ = writeln!(out, "          Destination: !GetAtt AuditEventsDeadLetterQueue.Arn");
    let _ = writeln!(out, "      FilterCriteria:");
    let _ = writeln!(out, "        Filters:");
    let _ = writeln!(
        out,
        "          - Pattern: '{{\"eventName\": [\"INSERT\"], \"dynamodb\": {{\"NewImage\": {{\"entity\": {{\"S\": [\"{}\", \"{}\"]}}}}}}}}'",
        <accounts::model::AuditEntry as accounts::model::Entity>::KIND,
        <accounts::model::OrganizationTombstone as accounts::model::Entity>::KIND
    );
    out.push('\n');
}

/// Functions that hash or verify a password (argon2id, OWASP's 19 MiB and 2 passes). Lambda gives CPU
/// in proportion to memory (one vCPU at 1,769 MB), and the hash is pure CPU work, so these get more
/// memory: see docs/deploy.md for the measurement behind it. The others wait on DynamoDB and use little
/// CPU or memory, and get the Globals' size.
pub const PASSWORD_HASHING_FUNCTIONS: &[&str] = &["create_organization_with_admin", "register", "login", "update_user"];
pub const PASSWORD_HASHING_MEMORY_MB: u32 = 1024;

fn header(out: &mut String, name: &str, description: &str) {
    let id = logical_id(name);
    // Each function logs to its own group, so its retention is set here and the group goes with the stack.
    let _ = writeln!(out, "  {id}LogGroup:");
    let _ = writeln!(out, "    Type: AWS::Logs::LogGroup");
    let _ = writeln!(out, "    Properties:");
    let _ = writeln!(out, "      LogGroupName: !Sub \"/aws/lambda/${{AWS::StackName}}/{name}\"");
    let _ = writeln!(out, "      RetentionInDays: !Ref LogRetentionDays");
    out.push('\n');
    // No alarm per function: the stack's alarms watch rates over all of them (template.yaml's
    // FunctionErrorRateAlarm, ApiServerErrorRateAlarm), and the dashboard shows each function's errors.
    let _ = writeln!(out, "  {id}:");
    let _ = writeln!(out, "    Type: AWS::Serverless::Function");
    let _ = writeln!(out, "    Metadata:");
    let _ = writeln!(out, "      BuildMethod: makefile");
    let _ = writeln!(out, "    Properties:");
    let _ = writeln!(out, "      Description: !Sub \"${{AWS::StackName}} {description}\"");
    let _ = writeln!(out, "      LoggingConfig:");
    let _ = writeln!(out, "        LogGroup: !Ref {id}LogGroup");
    if PASSWORD_HASHING_FUNCTIONS.contains(&name) {
        let _ = writeln!(out, "      MemorySize: {PASSWORD_HASHING_MEMORY_MB}");
        // A flood of sign-ups or logins takes at most this many of the account's concurrent executions,
        // never all of them (every other function would be throttled).
        let _ = writeln!(
            out,
            "      ReservedConcurrentExecutions: !If [HasPasswordHashingConcurrency, !Ref PasswordHashingConcurrency, !Ref AWS::NoValue]"
        );
    }
}

/// The routes anyone may call that check or set a password, mail a link or redeem one: the HTTP API
/// throttles them tighter than the rest (parameters `AuthThrottling*`). Pages and buildinfo are not among them.
pub fn credential_routes() -> Vec<String> {
    ALL.iter()
        .filter(|op| is_credential_operation(op))
        .flat_map(|op| op.route_paths().into_iter().map(move |path| format!("{} {path}", op.method)))
        .collect()
}

/// Whether `op` is one of the credential operations ([`credential_routes`]; the edge's tighter limit too).
pub fn is_credential_operation(op: &Operation) -> bool {
    op.access == Access::Public && op.path != DEFAULT_ROUTE && op.name != "buildinfo"
}

/// The HTTP API: a throttle for every route and a tighter one for the credential routes, and a JSON access
/// log line per request.
fn http_api(out: &mut String) {
    let _ = writeln!(out, "  HttpApi:");
    let _ = writeln!(out, "    Type: AWS::Serverless::HttpApi");
    let _ = writeln!(out, "    Properties:");
    let _ = writeln!(out, "      StageName: $default");
    // Behind the edge with a domain, the API is reached only through CloudFront (template.yaml, EdgeDistribution).
    let _ = writeln!(out, "      DisableExecuteApiEndpoint: !If [HasEdgeDomain, true, false]");
    let _ = writeln!(out, "      CorsConfiguration: !If");
    let _ = writeln!(out, "        - HasCorsOrigins");
    let _ = writeln!(out, "        - AllowOrigins: !Ref CorsAllowedOrigins");
    let _ = writeln!(out, "          AllowMethods: [GET, POST, PATCH, DELETE]");
    let _ = writeln!(out, "          AllowHeaders: [Authorization, Content-Type, X-Auth-Token, Idempotency-Key]");
    let _ = writeln!(out, "          AllowCredentials: true");
    let _ = writeln!(out, "          MaxAge: 600");
    let _ = writeln!(out, "        - !Ref AWS::NoValue");
    let _ = writeln!(out, "      DefaultRouteSettings:");
    let _ = writeln!(out, "        ThrottlingRateLimit: !Ref ApiThrottlingRateLimit");
    let _ = writeln!(out, "        ThrottlingBurstLimit: !Ref ApiThrottlingBurstLimit");
    let _ = writeln!(out, "      RouteSettings:");
    for route in credential_routes() {
        let _ = writeln!(out, "        \"{route}\":");
        let _ = writeln!(out, "          ThrottlingRateLimit: !Ref AuthThrottlingRateLimit");
        let _ = writeln!(out, "          ThrottlingBurstLimit: !Ref AuthThrottlingBurstLimit");
    }
    let _ = writeln!(out, "      AccessLogSettings:");
    let _ = writeln!(out, "        DestinationArn: !GetAtt ApiAccessLogGroup.Arn");
    // The route key, never the path, which may carry a token (crate::access_log).
    let _ = writeln!(out, "        Format: '{}'", crate::access_log::format());
    out.push('\n');
}

/// Retries and the failure destination of a background function invoked asynchronously (a schedule, or
/// another service's asynchronous invoke): a scheduled run is not retried (the next run does its work,
/// and a retry could overlap it); an invoked one is retried twice, as Lambda does by default. What still
/// fails goes to the background failures queue, which alarms.
fn invoke_config(out: &mut String, function: &BackgroundFunction) {
    let retries = if matches!(function.trigger, Trigger::Schedule { .. }) { 0 } else { 2 };
    let _ = writeln!(out, "      EventInvokeConfig:");
    let _ = writeln!(out, "        MaximumRetryAttempts: {retries}");
    let _ = writeln!(out, "        DestinationConfig:");
    let _ = writeln!(out, "          OnFailure:");
    let _ = writeln!(out, "            Type: SQS");
    let _ = writeln!(out, "            Destination: !GetAtt BackgroundFailuresQueue.Arn");
}

/// The mail lanes' event source mappings: batches of `batch_size`, at most `mail::DRAINERS` invocations at
/// once per lane (each paces itself to its share of its lane's share of the sending rate), keeping the messages the function reports as
/// failed for another try (the queue's redrive policy moves a message tried too often to its dead-letter queue).
fn queue_mapping(out: &mut String, function: &BackgroundFunction, batch_size: u32) {
    let id = logical_id(function.name);
    for queue in MAIL_LANES {
        // `MailQueue` keeps its mapping's name from before the lanes.
        let lane = queue.strip_suffix("MailQueue").unwrap_or_default();
        let _ = writeln!(out, "  {id}{lane}QueueMapping:");
        let _ = writeln!(out, "    Type: AWS::Lambda::EventSourceMapping");
        let _ = writeln!(out, "    Properties:");
        let _ = writeln!(out, "      FunctionName: !Ref {id}");
        let _ = writeln!(out, "      EventSourceArn: !GetAtt {queue}.Arn");
        let _ = writeln!(out, "      BatchSize: {batch_size}");
        let _ = writeln!(out, "      FunctionResponseTypes: [ReportBatchItemFailures]");
        let _ = writeln!(out, "      ScalingConfig:");
        let _ = writeln!(out, "        MaximumConcurrency: {}", accounts::mail::DRAINERS);
        out.push('\n');
    }
}

/// The mail lanes' queues (template.yaml's static part defines them): the other mail's and the security lane's.
pub const MAIL_LANES: [&str; 2] = ["MailQueue", "SecurityMailQueue"];

/// The alarm of a scheduled function that has not run: fewer than one invocation in each of the last
/// `alarm.parameter` periods (missing data, when nothing ran, counts as breaching).
fn missed_run_alarm(out: &mut String, function: &BackgroundFunction, alarm: &MissedRunAlarm) {
    let id = logical_id(function.name);
    let name = function.name;
    let _ = writeln!(out, "  {id}MissedRunAlarm:");
    let _ = writeln!(out, "    Type: AWS::CloudWatch::Alarm");
    let _ = writeln!(out, "    Properties:");
    let _ = writeln!(
        out,
        "      AlarmDescription: !Sub \"${{AWS::StackName}} {name}: has not run on schedule (no invocation for ${{{}}} periods of {} s)\"",
        alarm.parameter, alarm.period_seconds
    );
    let _ = writeln!(out, "      AlarmActions: [!Ref AlarmTopic]");
    let _ = writeln!(out, "      OKActions: [!Ref AlarmTopic]");
    let _ = writeln!(out, "      Namespace: AWS/Lambda");
    let _ = writeln!(out, "      MetricName: Invocations");
    let _ = writeln!(out, "      Dimensions:");
    let _ = writeln!(out, "        - Name: FunctionName");
    let _ = writeln!(out, "          Value: !Ref {id}");
    let _ = writeln!(out, "      Statistic: Sum");
    let _ = writeln!(out, "      Period: {}", alarm.period_seconds);
    let _ = writeln!(out, "      EvaluationPeriods: !Ref {}", alarm.parameter);
    let _ = writeln!(out, "      DatapointsToAlarm: !Ref {}", alarm.parameter);
    let _ = writeln!(out, "      ComparisonOperator: LessThanThreshold");
    let _ = writeln!(out, "      Threshold: 1");
    let _ = writeln!(out, "      TreatMissingData: breaching");
    out.push('\n');
}

fn function(out: &mut String, op: &Operation) {
    let route =
        if op.path == DEFAULT_ROUTE { DEFAULT_ROUTE.to_owned() } else { format!("{} /api{}", op.method, op.path) };
    header(out, op.name, &route);
    policies(out, op.actions, &Trigger::Invoke);
    let _ = writeln!(out, "      Events:");
    for (index, path) in op.route_paths().iter().enumerate() {
        let method = if op.path == DEFAULT_ROUTE { "ANY" } else { op.method };
        let _ = writeln!(out, "        {}:", if index == 0 { "Api" } else { "ApiVersioned" });
        let _ = writeln!(out, "          Type: HttpApi");
        let _ = writeln!(out, "          Properties:");
        let _ = writeln!(out, "            ApiId: !Ref HttpApi");
        let _ = writeln!(out, "            Method: {method}");
        let _ = writeln!(out, "            Path: {path}");
        let _ = writeln!(out, "            PayloadFormatVersion: \"2.0\"");
    }
    out.push('\n');
}

fn background(out: &mut String, function: &BackgroundFunction) {
    let description = match function.trigger {
        Trigger::Schedule { parameter, .. } => format!("scheduled (parameter {parameter})"),
        Trigger::Invoke => "internal, invoked with IAM".to_owned(),
        Trigger::TableStream { .. } => "the table's stream (audit events to the event bus)".to_owned(),
        Trigger::MailEvents => "SES's bounce and complaint events (SNS)".to_owned(),
        Trigger::MailQueue { .. } => "the mail queue (sends its mail through SES)".to_owned(),
    };
    header(out, function.name, &description);
    let _ = writeln!(out, "      Timeout: {}", function.timeout_seconds);
    if function.actions.contains(&"events:PutEvents") {
        let _ = writeln!(out, "      Environment:");
        let _ = writeln!(out, "        Variables:");
        let _ = writeln!(out, "          {}: !Ref AuditEventBus", accounts::events::BUS_VARIABLE);
        // Empty on AWS; declared so that `sam local invoke` can point it at a local stand-in.
        let _ = writeln!(out, "          {}: \"\"", accounts::events::ENDPOINT_VARIABLE);
    }
    policies(out, function.actions, &function.trigger);
    if !matches!(function.trigger, Trigger::TableStream { .. } | Trigger::MailQueue { .. }) {
        invoke_config(out, function);
    }
    if let Trigger::Schedule { parameter, .. } = function.trigger {
        let _ = writeln!(out, "      Events:");
        let _ = writeln!(out, "        Schedule:");
        let _ = writeln!(out, "          Type: Schedule");
        let _ = writeln!(out, "          Properties:");
        let _ = writeln!(out, "            Schedule: !Ref {parameter}");
    }
    if let Trigger::MailEvents = function.trigger {
        let _ = writeln!(out, "      Events:");
        let _ = writeln!(out, "        MailEvents:");
        let _ = writeln!(out, "          Type: SNS");
        let _ = writeln!(out, "          Properties:");
        let _ = writeln!(out, "            Topic: !Ref MailEventsTopic");
    }
    out.push('\n');
    match &function.trigger {
        Trigger::TableStream { batch_size } => stream_mapping(out, function, *batch_size),
        Trigger::Schedule { missed, .. } => missed_run_alarm(out, function, missed),
        Trigger::MailQueue { batch_size } => queue_mapping(out, function, *batch_size),
        Trigger::Invoke | Trigger::MailEvents => {}
    }
}

/// Where SAM's makefile build finds the build (template.yaml's `CodeUri`).
pub fn makefile_path() -> std::path::PathBuf {
    crate::repo_root().join("infra/build/Makefile")
}

/// The flags of the deployed build, for arm64 Lambda (Graviton 2 and later): code for the Neoverse N1, and
/// a fixed load address (no position-independent code), whose relocation tables would add about 1 MiB to
/// each binary. Cargo.toml's release profile has the rest.
pub const LAMBDA_RUSTFLAGS: &str = "-C relocation-model=static -C target-cpu=neoverse-n1";

/// The Makefile of SAM's makefile build: a target per function, and `functions`, which builds them all in
/// one cargo invocation. Each function's target runs that same invocation (the first builds, cargo finds
/// the rest up to date) and copies its binary; with `FUNCTIONS_BUILT` set (by `infra/sam-build.sh`, which
/// runs `functions` first) it only copies: 80 cargo runs that find everything up to date took 2 minutes.
pub fn makefile() -> String {
    let mut out = String::new();
    out.push_str("# Generated by `cargo run -p devstack --bin sync-template` from the route table: do not edit.\n");
    out.push_str(
        "# SAM's makefile build (`bash infra/sam-build.sh`: `sam build --build-in-source`) runs one target per\n",
    );
    out.push_str(
        "# function. Each runs the one cargo invocation that builds every function (cargo-lambda, release, arm64):\n",
    );
    out.push_str("# the first builds, cargo finds the rest up to date; then it copies its function's binary. infra/sam-build.sh\n");
    out.push_str(
        "# runs `make -f infra/build/Makefile functions` first and sets FUNCTIONS_BUILT, so the targets only copy.\n",
    );
    out.push_str("REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../..)\n");
    let _ = writeln!(
        out,
        "BUILD_FUNCTIONS := cd \"$(REPO)\" && CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS=\"{LAMBDA_RUSTFLAGS}\" cargo lambda build --release --arm64 --disable-optimizations --package functions"
    );
    out.push_str("\n.PHONY: functions\nfunctions:\n\t$(BUILD_FUNCTIONS)\n\n");
    out.push_str("define function\n");
    out.push_str("\t$(if $(FUNCTIONS_BUILT),,$(BUILD_FUNCTIONS))\n");
    out.push_str("\tcp \"$(REPO)/target/lambda/$(1)/bootstrap\" \"$(ARTIFACTS_DIR)/bootstrap\"\n");
    out.push_str("endef\n");
    for name in ALL.iter().map(|op| op.name).chain(BACKGROUND.iter().map(|f| f.name)) {
        let _ = write!(out, "\nbuild-{}:\n\t$(call function,{name})\n", logical_id(name));
    }
    out
}

/// The generated section, markers included.
pub fn functions_section() -> String {
    let mut out = format!("{BEGIN_MARKER}\n");
    http_api(&mut out);
    for op in ALL {
        function(&mut out, op);
    }
    for function in BACKGROUND {
        background(&mut out, function);
    }
    out.push_str(END_MARKER);
    out
}

/// `template` with its generated section replaced by the current one.
pub fn synced(template: &str) -> Result<String, String> {
    let start = template.find(BEGIN_MARKER).ok_or("template.yaml has no BEGIN GENERATED FUNCTIONS marker")?;
    let end = template[start..].find(END_MARKER).ok_or("template.yaml has no END GENERATED FUNCTIONS marker")? + start;
    Ok(format!("{}{}{}", &template[..start], functions_section(), &template[end + END_MARKER.len()..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn logical_ids_are_pascal_case() {
        assert_eq!(super::logical_id("current_user"), "CurrentUserFunction");
        assert_eq!(super::logical_id("buildinfo"), "BuildinfoFunction");
    }
}
