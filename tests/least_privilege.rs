//! Least privilege, the other direction. The SDK interceptor in `accounts::declared_actions` already
//! refuses any AWS call an operation has not declared (template.yaml grants exactly the declarations),
//! so a function can never need more than it is granted. This test finds grants that are more than
//! needed: it reads the actions the integration tests actually used (`ACTIONS_USED_LOG`, written by
//! `cargo test --test integration` as the README's test command runs it) and fails for every declared
//! action that no test used: drop the grant, or test the path that needs it.

use std::collections::{BTreeMap, BTreeSet};

use accounts::background::BACKGROUND;
use accounts::operations::ALL;

/// Operation names of the guard's own test, which makes refused calls on purpose.
const PROBE: &str = "declared_actions_probe";

#[test]
fn every_declared_action_is_used_by_some_tested_path() {
    let path = std::env::var(accounts::declared_actions::ACTIONS_USED_LOG).expect(
        "ACTIONS_USED_LOG names the log the integration tests wrote: run the README's test command (infra/test.sh)",
    );
    let log = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}: run the integration tests first (infra/test.sh does)"));
    let start_up = accounts::signing::START_UP;
    let declared: Vec<(&str, &[&str])> = ALL
        .iter()
        .map(|op| (op.name, op.actions))
        .chain(BACKGROUND.iter().map(|f| (f.name, f.actions)))
        .chain([(start_up.operation, start_up.actions)])
        .collect();
    let problems = problems(&log, &declared).unwrap_or_else(|line| panic!("{path}: malformed line {line:?}"));
    assert!(problems.is_empty(), "template.yaml grants do not match what the code needs:\n{}", problems.join("\n"));
}

/// What is wrong between the log of actions used (`function action` and `function action refused` lines)
/// and the declarations (function, actions); Err(line) for a line that is neither.
fn problems<'a>(log: &'a str, declared: &[(&'a str, &'a [&'a str])]) -> Result<Vec<String>, &'a str> {
    let mut used: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut problems = Vec::new();
    for line in log.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            [function, action] => {
                used.entry(function).or_default().insert(action);
            }
            // The guard's own tests (`declared_actions_probe*`) are refused on purpose; anything else refused
            // means a path needs an action its function is not granted, even if it swallowed the error.
            [function, _, "refused"] if function.starts_with(PROBE) => {}
            [function, action, "refused"] if *function == accounts::declared_actions::OUTSIDE_ANY_DECLARATION => {
                problems
                    .push(format!("{action} was called outside any operation's declaration (a path runs undeclared)"))
            }
            [function, action, "refused"] => {
                problems.push(format!("{function}: refused (not declared, so not granted) but needed: {action}"))
            }
            _ => return Err(line),
        }
    }
    for (function, actions) in declared {
        let used_here = used.remove(function).unwrap_or_default();
        let unused: Vec<&str> = actions.iter().copied().filter(|a| !used_here.contains(a)).collect();
        let undeclared: Vec<&str> = used_here.iter().copied().filter(|a| !actions.contains(a)).collect();
        if !unused.is_empty() {
            problems.push(format!("{function}: declared (so granted) but used by no test: {unused:?}"));
        }
        if !undeclared.is_empty() {
            problems.push(format!("{function}: used but not declared: {undeclared:?}"));
        }
    }
    for function in used.keys().filter(|f| !f.starts_with(PROBE)) {
        problems.push(format!(
            "{function}: in the log but not an operation (operations.rs) or a background function (background.rs)"
        ));
    }
    Ok(problems)
}

/// Each way the grants and the log can disagree is reported (the check itself, on made-up logs).
#[test]
fn the_check_reports_each_kind_of_mismatch_and_passes_a_matching_log() {
    let declared: &[(&str, &[&str])] = &[("login", &["GetItem", "PutItem"]), ("logout", &["DeleteItem"])];
    let matching = "login GetItem\nlogin PutItem\nlogout DeleteItem\ndeclared_actions_probe_x Query refused\n";
    assert_eq!(problems(matching, declared), Ok(vec![]));
    let cases = [
        ("login GetItem\nlogout DeleteItem\n", "login: declared (so granted) but used by no test: [\"PutItem\"]"),
        ("login GetItem\nlogin PutItem\nlogin Query\nlogout DeleteItem\n", "login: used but not declared: [\"Query\"]"),
        (
            "login GetItem\nlogin PutItem\nlogout DeleteItem\nlogout ses:SendEmail refused\n",
            "logout: refused (not declared, so not granted) but needed: ses:SendEmail",
        ),
        (
            "login GetItem\nlogin PutItem\nlogout DeleteItem\noutside_any_declaration Query refused\n",
            "Query was called outside any operation's declaration (a path runs undeclared)",
        ),
        (
            "login GetItem\nlogin PutItem\nlogout DeleteItem\nsomething GetItem\n",
            "something: in the log but not an operation (operations.rs) or a background function (background.rs)",
        ),
    ];
    for (log, expected) in cases {
        assert_eq!(problems(log, declared), Ok(vec![expected.to_owned()]), "{log}");
    }
    assert_eq!(problems("login GetItem extra words\n", declared), Err("login GetItem extra words"));
}
