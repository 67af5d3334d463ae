//! The shared crate's layers point one way: no two top-level modules of `lib/src` reach each
//! other through `crate::` paths, the domain reaches nothing outside itself but `money`, and
//! telemetry knows no app module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use ticketing_tests::samples::root;

/// Top-level module → the top-level modules its code (tests and comments left out) names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("lib/src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module = top_module(&src, &path);
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = code_of(&text);
        let named = graph.entry(module.clone()).or_default();
        for target in crate_paths(&code) {
            if target != module {
                named.insert(target);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for named in graph.values_mut() {
        named.retain(|m| modules.contains(m));
    }
    graph
}

fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The file without line comments and without its `#[cfg(test)]` tail.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every `crate::` path, including each item of `use crate::{a, b::c}`;
/// the crate root's re-exports (`AppError`, `AppState`, `Config`) count as their modules.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let root_item = |name: String| match name.as_str() {
        "AppError" => "error".to_owned(),
        "AppState" => "state".to_owned(),
        "Config" => "config".to_owned(),
        _ => name,
    };
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        found.push(root_item(ident(&group[i..])));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(root_item(ident(rest)));
        }
    }
    found
}

#[test]
fn the_parser_sees_plain_grouped_and_root_imports() {
    let code = code_of(
        "use crate::domain::Event;\nuse crate::{cache::{Cache, X}, AppError};\n// crate::http\nfn f() { crate::store::n(); }\n#[cfg(test)]\nuse crate::tokens;",
    );
    assert_eq!(crate_paths(&code), ["domain", "cache", "error", "store"]);
}

#[test]
fn no_two_modules_import_each_other_through_any_path() {
    let graph = imports();
    assert!(graph.contains_key("domain") && graph.contains_key("http"));
    // Depth-first search for a cycle, reporting the first one found.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for next in &graph[node] {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle in lib/src: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_domain_and_telemetry_know_no_outer_layer() {
    let graph = imports();
    let allowed = BTreeSet::from(["money".to_owned()]);
    assert!(
        graph["domain"].is_subset(&allowed),
        "domain imports {:?}",
        graph["domain"]
    );
    assert!(
        graph["telemetry"].is_empty(),
        "telemetry imports {:?}",
        graph["telemetry"]
    );
}
