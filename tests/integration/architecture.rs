//! The layers as facts: the crates form a one-way chain (Cargo refuses a cycle between crates), and inside
//! each crate no module reaches a module that reaches back (a cycle the compiler would accept). Read from
//! the sources: every `crate::` path outside comments and tests, at the granularity docs/architecture.md
//! names (a top-level module; an area inside `domain/`, `handlers/`, `org/`, `accounts/`, `model/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &["shared/core/src", "shared/store/src", "shared/domain/src", "shared/src"];
/// Modules whose sub-modules are areas of their own.
const AREAS: &[&str] = &["domain", "handlers", "org", "accounts", "model"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A module path, cut to the node it belongs to (`domain::users::rules` -> `domain/users`).
fn node(parts: &[String]) -> String {
    match parts {
        [] => "lib".to_owned(),
        [area, sub, ..] if AREAS.contains(&area.as_str()) => format!("{area}/{sub}"),
        [first, ..] => first.clone(),
    }
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().map(|line| line.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// The module path of `crate::a::b::Item` that exists as a file or folder under `src`.
fn module_of(src: &Path, path: &str) -> Vec<String> {
    let mut module = Vec::new();
    for part in path.split("::") {
        let candidate: PathBuf = module.iter().chain([&part.to_owned()]).collect();
        if src.join(&candidate).with_extension("rs").exists() || src.join(&candidate).is_dir() {
            module.push(part.to_owned());
        } else {
            break;
        }
    }
    module
}

fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
            parts.pop();
        }
        let from = node(&parts);
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for (start, _) in text.match_indices("crate::") {
            let path: String =
                text[start + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let to = node(&module_of(src, path.trim_end_matches(':')));
            if to != from && to != "lib" {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

/// One cycle through `start`, if any (depth-first).
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn no_module_reaches_back_to_a_module_that_uses_it() {
    let root = devstack::repo_root();
    let mut cycles = Vec::new();
    for krate in CRATES {
        let graph = edges(&root.join(krate));
        assert!(graph.len() > 3, "{krate}: the modules were read");
        for start in graph.keys() {
            if let Some(cycle) = cycle_from(&graph, start) {
                cycles.push(format!("{krate}: {}", cycle.join(" -> ")));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(cycle_from(&graph, "a"), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    assert_eq!(cycle_from(&BTreeMap::from([("a".to_owned(), BTreeSet::from(["b".to_owned()]))]), "a"), None);
}

/// The identifiers in `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|word| !word.is_empty())
}

const KINDS: &[&str] = &["fn", "struct", "enum", "trait", "type", "const", "static"];

/// The kind and name of a plain `pub` item (`pub fn`, `pub struct`, ...; not `pub(crate)`) declared at
/// the start of `text`, and what follows its name.
fn public_item(text: &str) -> Option<(&str, &str, &str)> {
    let mut rest = text.strip_prefix("pub ")?;
    for qualifier in ["async fn ", "const fn ", "unsafe fn "] {
        rest = rest.strip_prefix(qualifier).map_or(rest, |_| &rest[qualifier.len() - 3..]);
    }
    let (kind, rest) = rest.split_once(' ')?;
    let name = words(rest).next().filter(|_| KINDS.contains(&kind))?;
    Some((kind, name, &rest[rest.find(name)? + name.len()..]))
}

/// The names of the plain `pub` items a file declares.
fn public_items(code: &str) -> Vec<String> {
    code.lines().filter_map(|line| public_item(line.trim_start()).map(|(_, name, _)| name.to_owned())).collect()
}

/// The public signatures of a crate's code, without the names they declare: each `pub fn`'s parameters
/// and result, a `pub` constant's, static's or alias's type, every other line that starts with `pub ` (a
/// field, a re-export). A type named there must be `pub`.
fn public_signatures(code: &str) -> String {
    let mut signatures = String::new();
    for (start, _) in code.match_indices("pub ") {
        let rest = &code[start..];
        let signature = match public_item(rest) {
            Some(("fn", _, after)) => &after[..after.find(['{', ';']).unwrap_or(after.len())],
            Some(("struct" | "enum" | "trait", ..)) => "",
            Some((_, _, after)) => &after[..after.find(['\n', ';']).unwrap_or(after.len())],
            None => &rest[..rest.find(['\n', ';']).unwrap_or(rest.len())],
        };
        signatures.push_str(signature);
        signatures.push('\n');
    }
    signatures
}

#[test]
fn a_shared_crate_makes_public_only_what_another_crate_or_its_own_public_signatures_name() {
    let root = devstack::repo_root();
    // Another crate's tests count (they may build a lower crate's values), comments do not.
    let read_all = |dirs: &[&str]| -> String {
        let mut files = Vec::new();
        for dir in dirs {
            rust_files(&root.join(dir), &mut files);
        }
        let without_comments = |text: String| {
            text.lines().map(|line| line.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
        };
        files.iter().map(|file| without_comments(std::fs::read_to_string(file).unwrap())).collect::<Vec<_>>().join("\n")
    };
    let mut needless = Vec::new();
    let mut checked = 0;
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root.join(krate), &mut files);
        let own = read_all(&[krate]);
        let others: Vec<&str> = CRATES.iter().copied().filter(|other| other != krate).collect();
        let elsewhere = read_all(&[&others[..], &["functions/src", "infra/devstack/src", "tests"]].concat());
        let named_elsewhere: BTreeSet<&str> = words(&elsewhere).collect();
        // An exported macro's `$crate::` paths are used where the macro is.
        let exported: String = own.match_indices("$crate::").map(|(at, _)| &own[at..own.len().min(at + 80)]).collect();
        let signatures = public_signatures(&own) + &exported;
        let in_signatures: BTreeSet<&str> = words(&signatures).collect();
        for file in &files {
            for name in public_items(&code(&std::fs::read_to_string(file).unwrap())) {
                checked += 1;
                if !named_elsewhere.contains(name.as_str()) && !in_signatures.contains(name.as_str()) {
                    needless.push(format!("{}: pub {name}", file.strip_prefix(&root).unwrap().display()));
                }
            }
        }
    }
    assert!(checked > 300, "the public items were read: {checked}");
    assert!(
        needless.is_empty(),
        "public, yet no other crate needs them (make them pub(crate)):\n{}",
        needless.join("\n")
    );
}
