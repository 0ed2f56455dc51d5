//! The shape every subgraph keeps (architecture.md, issue 12), checked on the
//! source so that it cannot erode unnoticed: small `lib.rs` files and schema
//! files, dependencies that run one way (schema and consumers → service →
//! domain, store, publish), no detached tasks in subgraphs, and event
//! envelopes made only by the events crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SUBGRAPHS: [&str; 6] = [
    "users",
    "catalog",
    "prescriptions",
    "orders",
    "payments",
    "notifications",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The module a source file belongs to, for the dependency rules: its
/// top-level module, except that `events` counts as `events::publish` and
/// `events::consume` (they sit on opposite sides of the service layer).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [only] if only == "lib" || only == "main" => None,
        [first, second, ..] if first == "events" => Some(format!("events::{second}")),
        [first, ..] => Some(first.clone()),
        [] => None,
    }
}

/// The modules a file names through `crate::…` paths.
fn referenced_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let preceded_by_ident = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded_by_ident {
            continue; // janta_platform::…, $crate::…
        }
        let rest = &text[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments = path.split("::").filter(|s| !s.is_empty());
        let Some(first) = segments.next() else {
            continue;
        };
        if first == "events" {
            match segments.next() {
                Some(second @ ("publish" | "consume")) => {
                    found.insert(format!("events::{second}"));
                }
                _ => {
                    found.insert("events".to_string());
                }
            }
        } else {
            found.insert(first.to_string());
        }
    }
    found
}

/// Module → the modules it names, for one subgraph.
fn dependencies(subgraph: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("subgraphs").join(subgraph).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = read(&file);
        // Unit tests may reach anywhere; comments name modules freely.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or(&text)
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let refs = referenced_modules(&code);
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(refs.into_iter().filter(|r| *r != module));
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_subgraph_has_a_module_import_cycle() {
    for subgraph in SUBGRAPHS {
        let graph = dependencies(subgraph);
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{subgraph}: modules import each other: {}",
                cycle.join(" -> ")
            );
        }
    }
}

#[test]
fn dependencies_run_from_schema_and_consumers_to_service_to_domain_store_and_publish() {
    let forbidden: [(&str, &[&str]); 4] = [
        (
            "domain",
            &[
                "store",
                "service",
                "schema",
                "events::publish",
                "events::consume",
                "events",
            ],
        ),
        ("store", &["service", "schema", "events::consume"]),
        ("service", &["schema", "events::consume"]),
        ("events::publish", &["service", "schema", "events::consume"]),
    ];
    let mut violations = Vec::new();
    for subgraph in SUBGRAPHS {
        let graph = dependencies(subgraph);
        for (module, not_allowed) in forbidden {
            for used in graph.get(module).into_iter().flatten() {
                if not_allowed.contains(&used.as_str()) {
                    violations.push(format!("{subgraph}: {module} uses {used}"));
                }
            }
        }
        for layer in ["schema", "service", "store", "domain"] {
            assert!(
                graph.contains_key(layer),
                "{subgraph} has no `{layer}` module"
            );
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn subgraph_lib_files_stay_small_and_schema_files_under_600_lines() {
    let mut too_long = Vec::new();
    for subgraph in SUBGRAPHS {
        let src = root().join("subgraphs").join(subgraph).join("src");
        let lib = read(&src.join("lib.rs")).lines().count();
        if lib >= 100 {
            too_long.push(format!("{subgraph}/src/lib.rs: {lib} lines"));
        }
        let schema_files = rust_files(&src.join("schema"))
            .into_iter()
            .chain([src.join("schema.rs")].into_iter().filter(|p| p.exists()));
        for file in schema_files {
            let lines = read(&file).lines().count();
            if lines > 600 {
                too_long.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(too_long.is_empty(), "{too_long:#?}");
}

#[test]
fn subgraphs_start_no_detached_tasks_and_make_no_envelopes_by_hand() {
    let mut found = Vec::new();
    for file in rust_files(&root().join("subgraphs")) {
        let text = read(&file);
        for needle in ["tokio::spawn", "Envelope::new", "tasks::background"] {
            if text.contains(needle) {
                found.push(format!("{}: {needle}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_dependency_reader_sees_crate_paths_and_cycles() {
    let refs = referenced_modules(
        "use crate::store::{self, Row};\nuse crate::events::publish;\nuse janta_platform::x;\ncrate::service::pay(",
    );
    let expected: BTreeSet<String> = ["store", "events::publish", "service"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refs, expected);
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&graph).unwrap(), vec!["a", "b", "a"]);
}
