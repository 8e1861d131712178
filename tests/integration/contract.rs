//! The contract files agree with the route table: template.yaml (functions, routes, policies), the
//! local gateway, the Lambda binaries in functions/, and openapi.yaml. And `sam validate --lint` passes.

use std::collections::BTreeSet;

use accounts::background::{BACKGROUND, Trigger};
use accounts::operations::{ALL, DEFAULT_ROUTE};
use serde_norway::Value;

pub(crate) fn read(path: &str) -> String {
    let full = devstack::repo_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

pub(crate) fn yaml(path: &str) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (binary, METHOD, path) for every route an operation should have, and (binary, SCHEDULE, expression)
/// for every scheduled function.
fn expected_events() -> BTreeSet<(String, String, String)> {
    let mut events = expected_routes();
    events.extend(BACKGROUND.iter().filter_map(|f| match f.trigger {
        Trigger::Schedule { default, .. } => Some((f.name.to_owned(), "SCHEDULE".to_owned(), default.to_owned())),
        Trigger::MailEvents => Some((f.name.to_owned(), "SNS".to_owned(), "MailEventsTopic".to_owned())),
        Trigger::Invoke | Trigger::TableStream { .. } | Trigger::MailQueue { .. } => None,
    }));
    events
}

fn expected_routes() -> BTreeSet<(String, String, String)> {
    ALL.iter()
        .flat_map(|op| {
            op.route_paths().into_iter().map(|path| {
                let method = if op.path == DEFAULT_ROUTE { "ANY" } else { op.method };
                (op.name.to_owned(), method.to_owned(), path)
            })
        })
        .collect()
}

#[test]
fn template_functions_are_generated_from_the_route_table() {
    let template = read("template.yaml");
    let synced = devstack::template::synced(&template).unwrap();
    assert!(synced == template, "template.yaml is out of date: run `cargo run -p devstack --bin sync-template`");
    let makefile = std::fs::read_to_string(devstack::template::makefile_path()).unwrap_or_default();
    assert!(
        makefile == devstack::template::makefile(),
        "infra/build/Makefile is out of date: run `cargo run -p devstack --bin sync-template`"
    );
    // Every function of the template has its target.
    for id in template.lines().filter_map(|l| l.strip_prefix("  ").and_then(|l| l.strip_suffix(":"))) {
        if template.contains(&format!("  {id}:\n    Type: AWS::Serverless::Function")) {
            assert!(makefile.contains(&format!("\nbuild-{id}:\n")), "no Makefile target for {id}");
        }
    }
}

#[test]
fn permissions_doc_is_generated_from_the_route_table() {
    let stored = std::fs::read_to_string(devstack::docs::permissions_path()).unwrap_or_default();
    assert!(
        stored == devstack::docs::permissions(),
        "docs/permissions.md is out of date: run `cargo run -p devstack --bin sync-docs`"
    );
}

#[test]
fn the_audit_catalogue_in_docs_is_the_codes_catalogue() {
    let doc = read("docs/audit.md");
    let listed: Vec<&str> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once("` |").map(|(action, _)| action))
        .filter(|action| action.contains('.'))
        .collect();
    let catalogue: Vec<&str> = accounts::domain::audit::CATALOGUE.iter().map(|(action, _)| *action).collect();
    assert_eq!(listed, catalogue, "docs/audit.md's catalogue table lists the actions of the code, in its order");
}

#[test]
fn template_routes_match_the_route_table() {
    let template = yaml("template.yaml");
    let mut found = BTreeSet::new();
    let mut functions = BTreeSet::new();
    // Each function's binary is the one its target in the Makefile of SAM's makefile build copies.
    let makefile = std::fs::read_to_string(devstack::template::makefile_path()).unwrap();
    let binary_of = |id: &str| -> String {
        let target = format!("\nbuild-{id}:\n\t$(call function,");
        let start = makefile.find(&target).unwrap_or_else(|| panic!("{id} has no target in infra/build/Makefile"));
        let rest = &makefile[start + target.len()..];
        rest[..rest.find(')').expect("the call ends")].to_owned()
    };
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        assert_eq!(resource["Metadata"]["BuildMethod"].as_str(), Some("makefile"));
        let binary = binary_of(id.as_str().unwrap());
        let binary = binary.as_str();
        functions.insert(binary.to_owned());
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for (_, event) in events {
            if event["Type"].as_str() == Some("Schedule") {
                // `Schedule: !Ref <Parameter>`: the expression is the parameter's default.
                let parameter = reference(&event["Properties"]["Schedule"])
                    .unwrap_or_else(|| panic!("{binary}: the schedule is a parameter"));
                let schedule = template["Parameters"][parameter]["Default"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no parameter {parameter}"))
                    .to_owned();
                found.insert((binary.to_owned(), "SCHEDULE".to_owned(), schedule));
                continue;
            }
            if event["Type"].as_str() == Some("SNS") {
                let topic = reference(&event["Properties"]["Topic"]).expect("the topic is a resource of the stack");
                found.insert((binary.to_owned(), "SNS".to_owned(), topic.to_owned()));
                continue;
            }
            assert_eq!(event["Type"].as_str(), Some("HttpApi"));
            let properties = &event["Properties"];
            found.insert((
                binary.to_owned(),
                properties["Method"].as_str().unwrap().to_uppercase(),
                properties["Path"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(found, expected_events());
    let expected_functions: BTreeSet<String> =
        ALL.iter().map(|op| op.name.to_owned()).chain(BACKGROUND.iter().map(|f| f.name.to_owned())).collect();
    assert_eq!(functions, expected_functions);
}

#[test]
fn every_operation_has_its_binary_and_no_binary_is_extra() {
    let dir = devstack::repo_root().join("functions/src/bin");
    let mut binaries = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let call = if BACKGROUND.iter().any(|f| f.name == name) {
            format!("accounts::lambda::run_{name}()")
        } else {
            format!("accounts::lambda::run(&accounts::dispatch::{})", name.to_uppercase())
        };
        assert!(source.contains(&call), "{} must run its own operation: {call}", path.display());
        binaries.insert(name);
    }
    let operations: BTreeSet<String> =
        ALL.iter().map(|op| op.name.to_owned()).chain(BACKGROUND.iter().map(|f| f.name.to_owned())).collect();
    assert_eq!(binaries, operations);
}

#[test]
fn the_local_gateway_routes_every_template_route_to_its_operation() {
    for (binary, method, path) in expected_routes() {
        let concrete = path.replace("{apiVersion}", "v16").replace(['{', '}'], "");
        let (operation, _) = if path == DEFAULT_ROUTE {
            devstack::gateway::route("GET", "/no/such/route")
        } else {
            devstack::gateway::route(&method, &concrete)
        };
        assert_eq!(operation.name, binary, "{method} {path}");
    }
}

#[test]
fn openapi_describes_every_route_and_nothing_else() {
    let document = yaml("openapi.yaml");
    assert_eq!(document["openapi"].as_str(), Some("3.1.0"));
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if method == "parameters" {
                continue;
            }
            let id =
                operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path:?} has no operationId"));
            assert!(operation["responses"].as_mapping().is_some_and(|r| !r.is_empty()), "{id} has no responses");
            found.insert((id.to_owned(), method.to_uppercase(), path.as_str().unwrap().to_owned()));
        }
    }
    let expected: BTreeSet<_> = ALL
        .iter()
        .filter(|op| op.path != DEFAULT_ROUTE)
        .map(|op| (op.name.to_owned(), op.method.to_owned(), format!("/api{}", op.path)))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn openapi_documents_the_refusals_of_each_routes_access_rule() {
    let document = yaml("openapi.yaml");
    for op in ALL.iter().filter(|op| op.path != DEFAULT_ROUTE) {
        let responses =
            &document["paths"][format!("/api{}", op.path).as_str()][op.method.to_lowercase().as_str()]["responses"];
        if op.access.needs_caller() {
            assert!(responses.get("401").is_some(), "{}: openapi.yaml lacks its 401", op.name);
        }
        if op.access.refusal_code().is_some() {
            assert!(responses.get("403").is_some(), "{}: openapi.yaml lacks the 403 of its access rule", op.name);
        }
    }
}

/// `!Ref Name`'s name, or None.
pub(crate) fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str(),
        _ => None,
    }
}
