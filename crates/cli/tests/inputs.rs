//! Inputs as operators really give them: sizes with units, blank
//! variables, standard input and output, packages half broken, JSON for
//! scripts even on errors.
#![allow(clippy::unwrap_used)]

use ccaas_testkit::repo_root;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `ccaas` in `dir` with `stdin` on standard input.
fn ccaas(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(CCAAS)
        .current_dir(dir)
        .args(args)
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .env_remove("CCAAS_TLS_DIR")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command that does not read stdin may close it first.
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn expect(run: &Run, code: i32, stdout_has: &[&str], stderr_has: &[&str]) {
    let stdout = run.stdout();
    let ok = run.code == code
        && stdout_has.iter().all(|s| stdout.contains(s))
        && stderr_has.iter().all(|s| run.stderr.contains(s));
    assert!(
        ok,
        "\nexpected exit {code}, stdout containing {stdout_has:?}, stderr containing {stderr_has:?}\ngot exit {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        run.code, run.stderr
    );
}

fn sample() -> PathBuf {
    repo_root().join("fixtures/sample/basic_1.0.tgz")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tar_in(dir: &Path, args: &[&str]) {
    let ok = Command::new("tar")
        .current_dir(dir)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar {args:?} failed");
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

// ---- (i) sizes, blank variables, broken code, JSON errors ----

#[test]
fn limits_accept_sizes_with_units() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, says) in [
        ("--max-package-bytes", "1K", "more than 1024 expanded bytes"),
        (
            "--max-package-bytes",
            "1KiB",
            "more than 1024 expanded bytes",
        ),
        (
            "--max-package-bytes",
            "1KB",
            "more than 1000 expanded bytes",
        ),
        ("--max-code-bytes", "1k", "more than 1024 expanded bytes"),
    ] {
        let run = ccaas(
            dir.path(),
            &["validate", flag, value, s(&sample())],
            b"",
            &[],
        );
        expect(&run, 1, &[says], &[]);
    }
    for value in ["1G", "512M", "64MiB", "2GB", "1073741824"] {
        let run = ccaas(
            dir.path(),
            &[
                "validate",
                "--max-package-bytes",
                value,
                "--max-code-bytes",
                value,
                s(&sample()),
            ],
            b"",
            &[],
        );
        expect(&run, 0, &["installs with this builder"], &[]);
    }
    let run = ccaas(
        dir.path(),
        &["id", "--max-package-bytes", "1X", s(&sample())],
        b"",
        &[],
    );
    expect(&run, 2, &[], &["`1X` has an unknown unit `X`"]);
}

#[test]
fn a_blank_ccaas_tls_dir_counts_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    // A package whose `*_file` keys name files it does not hold.
    let pkg = dir.path().join("nf.tgz");
    let conn = repo_root().join("fixtures/sample/connection.json");
    let run = ccaas(
        dir.path(),
        &[
            "package",
            "--label",
            "basic_1.0",
            "--connection",
            s(&conn),
            "-o",
            s(&pkg),
        ],
        b"",
        &[],
    );
    expect(&run, 0, &[], &[]);
    for blank in ["", " "] {
        let run = ccaas(
            dir.path(),
            &["simulate", s(&pkg), "--config", r#"{"peername":"peer0"}"#],
            b"",
            &[("CCAAS_TLS_DIR", blank)],
        );
        expect(&run, 1, &["and `CCAAS_TLS_DIR` is not set"], &[]);
    }
}

/// A package made with `tar`, its code.tar.gz cut short.
fn package_with_broken_code(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("metadata.json"),
        r#"{"type":"ccaas","label":"broken_1.0"}"#,
    )
    .unwrap();
    let good = std::fs::read(sample()).unwrap();
    std::fs::write(dir.join("code.tar.gz"), &good[..40]).unwrap();
    tar_in(dir, &["cfz", "broken.tgz", "metadata.json", "code.tar.gz"]);
    dir.join("broken.tgz")
}

#[test]
fn inspect_of_a_broken_code_tar_gz_still_shows_its_id_and_label() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package_with_broken_code(dir.path());
    let id = format!("broken_1.0:{}", sha256_hex(&pkg));
    let run = ccaas(dir.path(), &["inspect", "broken.tgz"], b"", &[]);
    expect(
        &run,
        1,
        &[
            &format!("package ID    {id}\n"),
            "label         broken_1.0\n",
            "code.tar.gz   unreadable (see findings)\n",
            "error    broken.tgz: `code.tar.gz` is not a readable gzip-compressed tar",
        ],
        &[],
    );
    let run = ccaas(dir.path(), &["inspect", "broken.tgz", "--json"], b"", &[]);
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["package_id"], id.as_str());
    assert_eq!(json["metadata"]["label"], "broken_1.0");
    assert_eq!(json["code"], serde_json::Value::Null);
    assert_eq!(json["ok"], false);
    // validate says which package it is too.
    let run = ccaas(dir.path(), &["validate", "broken.tgz"], b"", &[]);
    expect(
        &run,
        1,
        &[&format!("package (package ID {id}): 1 error")],
        &[],
    );
}

#[test]
fn validate_json_prints_json_also_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["validate", "missing.tgz", "--json"][..],
        &["validate", s(&sample()), "--json", "--config", "{bad"],
        &[
            "validate",
            s(&sample()),
            "--json",
            "--server-cert",
            "missing.pem",
        ],
        &["inspect", "missing.tgz", "--json"],
        &["simulate", "missing.tgz", "--json"],
    ] {
        let run = ccaas(dir.path(), args, b"", &[]);
        let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "ccaas {args:?}: stdout is not JSON ({e}):\n{}\n{}",
                run.stdout(),
                run.stderr
            )
        });
        assert_eq!(run.code, 1, "{args:?}");
        assert_eq!(json["ok"], false, "{args:?}");
        let errors = json["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{args:?}");
        // The same words on stderr, for a person.
        let first = errors[0].as_str().unwrap();
        assert!(run.stderr.contains(first), "{args:?}: {}", run.stderr);
    }
}

// ---- (h) `-` is standard input for every file argument, `-o -` stdout ----

const CONFIG: &str = r#"{"peername":"peer0"}"#;

fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("fixtures").join(rel)).unwrap()
}

fn sample_id() -> String {
    format!("basic_1.0:{}", sha256_hex(&sample()))
}

#[test]
fn every_command_reads_a_package_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = fixture_bytes("sample/basic_1.0.tgz");
    let id = sample_id();
    let run = ccaas(dir.path(), &["id", "-"], &pkg, &[]);
    expect(&run, 0, &[&id], &[]);
    let run = ccaas(dir.path(), &["inspect", "-"], &pkg, &[]);
    expect(
        &run,
        0,
        &["file          -\n", &format!("package ID    {id}\n")],
        &[],
    );
    let run = ccaas(
        dir.path(),
        &["validate", "-", "--config", CONFIG],
        &pkg,
        &[],
    );
    expect(
        &run,
        0,
        &[&format!(
            "-: package (package ID {id}): 0 errors, 0 warnings: installs with this builder"
        )],
        &[],
    );
    let run = ccaas(
        dir.path(),
        &["simulate", "-", "--config", CONFIG],
        &pkg,
        &[],
    );
    expect(
        &run,
        0,
        &[&format!(
            "OK: installed; start the chaincode server with CHAINCODE_ID={id}"
        )],
        &[],
    );
    // A connection.json and a metadata.json on stdin are told apart by content.
    let run = ccaas(
        dir.path(),
        &["validate", "-"],
        br#"{"address": "cc:9999"}"#,
        &[],
    );
    expect(&run, 0, &["-: connection.json: 0 errors"], &[]);
    let run = ccaas(
        dir.path(),
        &["validate", "-"],
        br#"{"type": "ccaas", "label": "cc_1.0"}"#,
        &[],
    );
    expect(&run, 0, &["metadata.json: 0 errors"], &[]);
}

#[test]
fn file_flags_read_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let conn = fixture_bytes("sample/connection.json");
    let tls = repo_root().join("fixtures/sample/tls");
    let indexes = repo_root().join("fixtures/sample/indexes");
    // --connection -: the committed sample, byte for byte.
    let out = dir.path().join("sample.tgz");
    let run = ccaas(
        dir.path(),
        &[
            "package",
            "--label",
            "basic_1.0",
            "--connection",
            "-",
            "--indexes",
            s(&indexes),
            "--tls-dir",
            s(&tls),
            "-o",
            s(&out),
        ],
        &conn,
        &[],
    );
    expect(&run, 0, &[&sample_id()], &[]);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        fixture_bytes("sample/basic_1.0.tgz")
    );
    // --tls-root-cert -.
    let run = ccaas(
        dir.path(),
        &[
            "package",
            "--label",
            "cc_1.0",
            "--address",
            "cc:9999",
            "--tls-root-cert",
            "-",
            "-o",
            "cc.tgz",
        ],
        &fixture_bytes("tls/ca.pem"),
        &[],
    );
    expect(&run, 0, &["cc_1.0:"], &["TLS on"]);
    // A key on stdin for --tls-root-cert is named after the flag and `-`.
    let run = ccaas(
        dir.path(),
        &[
            "package",
            "--label",
            "cc_1.0",
            "--address",
            "cc:9999",
            "--tls-root-cert",
            "-",
            "-o",
            "k.tgz",
        ],
        &fixture_bytes("tls/client.key"),
        &[],
    );
    expect(
        &run,
        1,
        &[],
        &[
            "--tls-root-cert `-`: found a private key",
            "no package written to `k.tgz`",
        ],
    );
    // --server-cert - and --config @-.
    let run = ccaas(
        dir.path(),
        &[
            "validate",
            s(&sample()),
            "--config",
            CONFIG,
            "--server-cert",
            "-",
        ],
        &fixture_bytes("tls/server.pem"),
        &[],
    );
    expect(
        &run,
        0,
        &["0 errors, 0 warnings: installs with this builder"],
        &[],
    );
    let run = ccaas(
        dir.path(),
        &["validate", s(&sample()), "--config", "@-"],
        CONFIG.as_bytes(),
        &[],
    );
    expect(&run, 0, &["0 errors, 0 warnings"], &[]);
    // Standard input can be read once.
    let run = ccaas(
        dir.path(),
        &["validate", "-", "--config", "@-"],
        CONFIG.as_bytes(),
        &[],
    );
    expect(
        &run,
        1,
        &[],
        &["standard input is already read for another argument"],
    );
    let run = ccaas(
        dir.path(),
        &[
            "package",
            "--label",
            "cc_1.0",
            "--address",
            "cc:9999",
            "--tls-root-cert",
            "-",
            "--server-cert",
            "-",
            "-o",
            "two.tgz",
        ],
        b"",
        &[],
    );
    expect(
        &run,
        1,
        &[],
        &["`-` (standard input) is given to --tls-root-cert and --server-cert; only one of them can read it", "no package written"],
    );
    assert!(!dir.path().join("two.tgz").exists());
}

// `-o -` writes the package to standard output and never a file named `-`.
#[test]
fn dash_output_is_standard_output_and_never_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = ccaas(
        dir.path(),
        &[
            "package",
            "--label",
            "cc_1.0",
            "--address",
            "cc:9999",
            "-o",
            "-",
        ],
        b"",
        &[],
    );
    expect(
        &run,
        0,
        &[],
        &[
            "wrote the package to standard output",
            "ccaas: package ID cc_1.0:",
        ],
    );
    assert!(!dir.path().join("-").exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // What went to stdout is the package: its ID is the one printed.
    std::fs::write(dir.path().join("cc.tgz"), &run.stdout).unwrap();
    let id = format!("cc_1.0:{}", sha256_hex(&dir.path().join("cc.tgz")));
    assert!(
        run.stderr.contains(&format!("ccaas: package ID {id}\n")),
        "{}",
        run.stderr
    );
    // And it reads back through `-`.
    let again = ccaas(dir.path(), &["id", "-"], &run.stdout, &[]);
    expect(&again, 0, &[&id], &[]);
}
