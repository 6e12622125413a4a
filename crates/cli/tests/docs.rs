//! Every `console` block of docs/cli.md is run, in order, in one working
//! directory holding the walk-through's inputs, and its output must be
//! what the binaries print: a message change not reflected in the docs
//! fails here.
//!
//! How a block is read (documented at the top of docs/cli.md):
//! - `$ ccaas ...` lines (with `\` continuations) run through `sh`, with
//!   this `ccaas` first on `PATH`; stdout and stderr together.
//! - `$ cat FILE` with the lines after it: FILE is written with them.
//! - In expected lines `…` matches any text (shortened IDs, scratch paths,
//!   PEM), a line starting with `…` stands for one or more lines, and times
//!   (`1.3 ms`) match any time.
//! - A block after `<!-- docs-check: skip: REASON -->` is not run (it needs
//!   a peer or a chaincode server); so is a block with a command other
//!   than `ccaas` and `cat` (e.g. `peer lifecycle`), which has no marker.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use ccaas_testkit::repo_root;
use std::path::Path;
use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");
const SKIP: &str = "<!-- docs-check: skip";

struct Block {
    line: usize,
    text: Vec<String>,
    skipped: bool,
}

fn console_blocks(doc: &str) -> Vec<Block> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() == "```console" {
            let skipped = lines[..i]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with(SKIP));
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim_end() != "```" {
                end += 1;
            }
            blocks.push(Block {
                line: start,
                text: lines[start..end].iter().map(|s| s.to_string()).collect(),
                skipped,
            });
            i = end;
        }
        i += 1;
    }
    blocks
}

/// A block's commands, each with its expected output lines.
fn commands(block: &Block) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut lines = block.text.iter().peekable();
    while let Some(line) = lines.next() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            let mut cmd = cmd.to_owned();
            while cmd.ends_with('\\') {
                cmd.pop();
                cmd.push_str(lines.next().map(String::as_str).unwrap_or("").trim_start());
                cmd.insert(cmd.len() - cmd.trim_start().len(), ' ');
            }
            out.push((cmd, Vec::new()));
        } else if let Some((_, expected)) = out.last_mut() {
            expected.push(line.clone());
        }
    }
    out
}

/// `1.3 ms` -> `N ms`: times vary from run to run.
fn timeless(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::new();
    for (k, w) in words.iter().enumerate() {
        let number = w.trim_end_matches(',').parse::<f64>().is_ok();
        if number && words.get(k + 1).is_some_and(|n| n.starts_with("ms")) {
            out.push("N".to_owned());
        } else {
            out.push((*w).to_owned());
        }
    }
    out.join(" ")
}

/// Whether `actual` is `documented`, `…` standing for any text.
fn line_matches(documented: &str, actual: &str) -> bool {
    let (documented, actual) = (timeless(documented), timeless(actual));
    let parts: Vec<&str> = documented.split('…').collect();
    if parts.len() == 1 {
        return documented.trim_end() == actual.trim_end();
    }
    let Some(rest) = actual.strip_prefix(parts[0]) else {
        return false;
    };
    let mut rest = rest;
    for (k, part) in parts[1..].iter().enumerate() {
        let last = k + 2 == parts.len();
        if last {
            return rest.trim_end().ends_with(part.trim_end());
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether the lines match, a documented line starting with `…` standing
/// for one or more actual lines.
fn lines_match(documented: &[String], actual: &[&str]) -> bool {
    match documented.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim_start().starts_with('…') => {
            (1..=actual.len()).any(|n| lines_match(rest, &actual[n..]))
        }
        Some((first, rest)) => {
            !actual.is_empty() && line_matches(first, actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

/// The walk-through's inputs: the test TLS material, the sample indexes,
/// and `fixtures/` for the commands that name it.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["ca.pem", "client.pem", "client.key", "server.pem"] {
        std::fs::copy(repo_root().join("fixtures/tls").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir(dir.path().join("indexes")).unwrap();
    for entry in std::fs::read_dir(repo_root().join("fixtures/sample/indexes")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("indexes").join(entry.file_name()),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink(
        std::fs::canonicalize(repo_root().join("fixtures")).unwrap(),
        dir.path().join("fixtures"),
    )
    .unwrap();
    dir
}

fn run(dir: &Path, command: &str) -> String {
    let bin = Path::new(CCAAS).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{{ {command}\n}} 2>&1"))
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
        .env_remove("CCAAS_DETECT_TYPES")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docs_cli_console_blocks_are_what_ccaas_prints() {
    let doc = std::fs::read_to_string(repo_root().join("docs/cli.md")).unwrap();
    let dir = workdir();
    let mut failures = Vec::new();
    let mut checked = 0;
    for block in console_blocks(&doc) {
        let commands = commands(&block);
        let ours = commands.iter().all(|(c, _)| {
            let c = c.trim_start();
            c.starts_with("ccaas ") || c.starts_with("cat ")
        });
        let needs_server = commands
            .iter()
            .any(|(c, _)| c.contains("ccaas probe") || c.contains("--launch"));
        if block.skipped || !ours {
            continue;
        }
        if needs_server {
            failures.push(format!(
                "docs/cli.md:{}: a block that needs a chaincode server has no `{SKIP}: ... -->` line before it",
                block.line
            ));
            continue;
        }
        for (command, expected) in commands {
            if let Some(file) = command.trim().strip_prefix("cat ") {
                let mut text = expected.join("\n");
                text.push('\n');
                std::fs::write(dir.path().join(file.trim()), text).unwrap();
                continue;
            }
            checked += 1;
            let got = run(dir.path(), &command);
            let got: Vec<&str> = got.lines().collect();
            if !lines_match(&expected, &got) {
                failures.push(format!(
                    "docs/cli.md:{}: `$ {command}`\n--- documented\n{}\n--- ccaas prints\n{}",
                    block.line,
                    expected.join("\n"),
                    got.join("\n")
                ));
            }
        }
    }
    assert!(checked >= 10, "only {checked} commands checked");
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}

#[test]
fn the_matcher_reads_the_docs_conventions() {
    assert!(line_matches(
        "basic_1.0:45d16375…56f6",
        "basic_1.0:45d1637512345678deadbeef56f6"
    ));
    assert!(!line_matches(
        "basic_1.0:45d16375…56f6",
        "basic_1.0:45d16375aaaa"
    ));
    assert!(line_matches(
        "detect    ccaas      exit 0, 1.3 ms",
        "detect    ccaas      exit 0, 22.9 ms"
    ));
    assert!(line_matches(
        "`/tmp/…/src/connection.json`: x",
        "`/tmp/abc/def/src/connection.json`: x"
    ));
    let doc: Vec<String> = ["a", "… (more)", "z"].map(String::from).to_vec();
    assert!(lines_match(&doc, &["a", "b", "c", "z"]));
    assert!(!lines_match(&doc, &["a", "z"]));
    assert!(!lines_match(&doc, &["a", "b", "y"]));
}
