//! The `Cargo.toml` blocks of the docs are what a reader copies into a
//! new crate: each must list every crate the Rust blocks of its section
//! use, and name this repository's crates in a way that works (a path on a
//! checkout; nothing is published, and there is no git URL to give).
//! Regression: the contract section's block lacked `ccaas-peersim`, which
//! its own "Testing a contract" uses, and said `git = "<this repository>"`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The crates a reader can depend on: this workspace's packages and the
/// keys of `[workspace.dependencies]`, as Rust names them (`ccaas_shim`).
fn known_crates() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let mut known = BTreeSet::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_deps = line.trim() == "[workspace.dependencies]";
            continue;
        }
        if in_deps {
            if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                if !key.is_empty() && !key.starts_with('#') {
                    known.insert(key.replace('-', "_"));
                }
            }
        }
    }
    known
}

/// One section (up to the next `## ` heading) of a Markdown file: its
/// `toml` blocks with `[dependencies]` and its Rust blocks.
struct Section {
    heading: String,
    tomls: Vec<(usize, String)>,
    rust: Vec<String>,
}

fn sections(doc: &str) -> Vec<Section> {
    let mut out = vec![Section {
        heading: String::from("(top)"),
        tomls: Vec::new(),
        rust: Vec::new(),
    }];
    let lines: Vec<&str> = doc.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("## ") {
            out.push(Section {
                heading: line.to_owned(),
                tomls: Vec::new(),
                rust: Vec::new(),
            });
        }
        if let Some(info) = line.strip_prefix("```") {
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.starts_with("```"))
                .map_or(lines.len(), |p| i + 1 + p);
            let body = lines[i + 1..end].join("\n");
            let section = out.last_mut().unwrap();
            if info == "toml" && body.contains("[dependencies]") {
                section.tomls.push((i + 1, body));
            } else if info.starts_with("rust") {
                section.rust.push(body);
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// The known crates a Rust block names as a path's first segment
/// (`ccaas_shim::run`, `use serde::{...}`, `#[tokio::main]`).
fn crates_used(rust: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let bytes = rust.as_bytes();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        let ident = b.is_ascii_alphanumeric() || b == b'_';
        match (ident, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let preceded_by_path = s >= 2 && &bytes[s - 2..s] == b"::";
                if !preceded_by_path && rust[i..].starts_with("::") {
                    let name = &rust[s..i];
                    if known.contains(name) {
                        used.insert(name.to_owned());
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
    used
}

/// The dependencies a block declares (`ccaas-shim = ...`), as Rust names
/// them, and the problems of the ways it names this repository's crates.
fn declared(toml: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut names = BTreeSet::new();
    let mut problems = Vec::new();
    for line in toml.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.starts_with('#') || key.starts_with('[') {
            continue;
        }
        names.insert(key.replace('-', "_"));
        if value.contains("git =") || value.contains("git=") {
            problems.push(format!(
                "`{key}` names a git repository: nothing is published, and the workspace's `repository` is a placeholder; use a path on a checkout"
            ));
        }
        if let Some(dir) = key.strip_prefix("ccaas-") {
            let wanted = format!("crates/{dir}\"");
            if !value.contains("path =") || !value.contains(&wanted) {
                problems.push(format!(
                    "`{key}` should be a path dependency on a checkout's `crates/{dir}`, found `{}`",
                    value.trim()
                ));
            }
            if !repo().join("crates").join(dir).join("Cargo.toml").is_file() {
                problems.push(format!(
                    "`{key}`: there is no `crates/{dir}` in this repository"
                ));
            }
        }
    }
    (names, problems)
}

#[test]
fn every_cargo_toml_block_lists_the_crates_its_section_uses() {
    let known = known_crates();
    assert!(
        known.contains("ccaas_peersim") && known.contains("tokio"),
        "{known:?}"
    );
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.push(repo().join("README.md"));
    docs.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for section in sections(&text) {
            for (line, toml) in &section.tomls {
                checked += 1;
                let (names, mut found) = declared(toml);
                let used: BTreeSet<String> = section
                    .rust
                    .iter()
                    .flat_map(|r| crates_used(r, &known))
                    .collect();
                for name in used.difference(&names) {
                    found.push(format!(
                        "the section's Rust uses `{name}`, which the block does not list"
                    ));
                }
                for problem in found {
                    problems.push(format!(
                        "{}:{line} ({}): {problem}",
                        doc.display(),
                        section.heading
                    ));
                }
            }
        }
    }
    assert!(checked >= 2, "no Cargo.toml block found in the docs");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_what_it_must() {
    let known = known_crates();
    let used = crates_used(
        "use ccaas_contract::{json, Context};\n#[tokio::main]\nlet x = serde_json::from_slice(b)?; json::to_vec(&a); std::io::stdin();",
        &known,
    );
    let used: Vec<&str> = used.iter().map(String::as_str).collect();
    assert_eq!(used, ["ccaas_contract", "serde_json", "tokio"]);
    let (names, problems) =
        declared("[dependencies]\nccaas-shim = { git = \"<this repository>\" }\ntokio = \"1\"");
    assert!(names.contains("ccaas_shim") && names.contains("tokio"));
    assert_eq!(problems.len(), 2, "{problems:?}");
    let (_, problems) = declared(
        "[dev-dependencies]\nccaas-peersim = { path = \"/home/me/ccaas/crates/peersim\" }",
    );
    assert!(problems.is_empty(), "{problems:?}");
}
