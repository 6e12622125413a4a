//! What an operator ran into (issue 20): certificates in `inspect`,
//! `package --json`, the `domain` hint by Fabric release, and `--tls-dir`
//! with a `*_file` key that names a file without `tls/`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ccaas(args: &[&str]) -> Run {
    let out = Command::new(CCAAS).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn fixture(path: &str) -> PathBuf {
    ccaas_testkit::repo_root().join("fixtures").join(path)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A mutual-TLS package with `root_cert` and `client_cert` from `root` and
/// `client`, address `peer0-basic:9999`, `domain` mycc.example.com.
fn package(dir: &Path, root: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join("basic.tgz");
    let ca = fixture(root);
    let (cert, key) = (fixture("tls/client.pem"), fixture("tls/client.key"));
    let mut args = vec![
        "package",
        "--label",
        "basic_1.0",
        "--address",
        "peer0-basic:9999",
        "--tls-root-cert",
        s(&ca),
        "--client-cert",
        s(&cert),
        "--client-key",
        s(&key),
        "--domain",
        "mycc.example.com",
        "-o",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let run = ccaas(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    out
}

#[test]
fn inspect_shows_each_certificate_by_its_facts_not_its_pem() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path(), "tls/ca.pem", &[]);
    let run = ccaas(&["inspect", s(&pkg)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        "\"root_cert\": \"<1 certificate: see `certificates` below>\"",
        "\"client_cert\": \"<1 certificate: see `certificates` below>\"",
        "certificates  root_cert: subject `CN=ccaas test CA`",
        "              client_cert: subject `CN=peer0 client`",
        "                issuer: `CN=ccaas test CA`",
        "                valid Jan  1 00:00:00 2025 +00:00 to Dec 31 23:59:59 2124 +00:00 (valid)",
    ] {
        assert!(run.stdout.contains(line), "no `{line}` in\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("not shown"), "{}", run.stdout);
    assert!(!run.stdout.contains("BEGIN"), "{}", run.stdout);

    // JSON: the facts beside the public PEM; never a key.
    let run = ccaas(&["inspect", s(&pkg), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["certificates"][0]["key"], "root_cert");
    assert_eq!(v["certificates"][1]["subject"], "CN=peer0 client");
    assert_eq!(v["certificates"][1]["validity"], "valid");
    assert_eq!(v["connection"]["json"]["client_key"], "<redacted>");
    assert!(!run.stdout.contains("PRIVATE KEY"));
}

#[test]
fn inspect_says_a_certificate_expired() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.tgz");
    let ca = fixture("tls/expired.pem");
    // Packaging refuses an expired root_cert; an older tool may not have.
    let json = serde_json::json!({"address": "cc:9999", "tls_required": true, "root_cert": std::fs::read_to_string(&ca).unwrap()});
    let conn = dir.path().join("connection.json");
    std::fs::write(&conn, json.to_string()).unwrap();
    let run = ccaas(&[
        "package",
        "--label",
        "e",
        "--connection",
        s(&conn),
        "-o",
        s(&out),
    ]);
    assert_eq!(
        run.code, 1,
        "expired material is refused at packaging: {}",
        run.stderr
    );
    let tar = dir.path().join("t");
    std::fs::create_dir(&tar).unwrap();
    std::fs::copy(&conn, tar.join("connection.json")).unwrap();
    let code = tar.join("code.tar.gz");
    let ok = Command::new("tar")
        .args(["czf", s(&code), "-C", s(&tar), "connection.json"])
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::write(tar.join("metadata.json"), r#"{"type":"ccaas","label":"e"}"#).unwrap();
    let ok = Command::new("tar")
        .args([
            "czf",
            s(&out),
            "-C",
            s(&tar),
            "metadata.json",
            "code.tar.gz",
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let run = ccaas(&["inspect", s(&out)]);
    assert!(
        run.stdout.contains("certificates  root_cert: subject"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(expired)"), "{}", run.stdout);
}

#[test]
fn package_json_describes_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path(), "tls/ca.pem", &["--json"]);
    // Re-run to read the JSON (the helper checked the exit code).
    let run = ccaas(&[
        "package",
        "--label",
        "basic_1.0",
        "--connection",
        s(&fixture("sample/connection.json")),
        "--indexes",
        s(&fixture("sample/indexes")),
        "--tls-dir",
        s(&fixture("sample/tls")),
        "-o",
        s(&dir.path().join("sample.tgz")),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["package_id"],
        "basic_1.0:cf0a37553875d25febecb7d772bb661e0645f6c5817f5c39d63bf7a0dd4c3bef"
    );
    assert_eq!(v["label"], "basic_1.0");
    assert_eq!(v["type"], "ccaas");
    assert_eq!(v["tls"], "mutual");
    assert_eq!(v["mode"], "0600");
    assert_eq!(v["indexes"].as_array().unwrap().len(), 2);
    assert_eq!(v["tls_files"][0]["path"], "tls/ca.pem");
    assert_eq!(v["tls_files"][0]["key"], "root_cert_file");
    assert!(v["notes"][0]["message"]
        .as_str()
        .unwrap()
        .contains("is a template"));
    assert!(pkg.exists());

    // An invalid input is JSON too, and nothing is written.
    let bad = dir.path().join("bad.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--address",
        "basic",
        "-o",
        s(&bad),
        "--json",
    ]);
    assert_eq!(run.code, 1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(
        v["errors"][0].as_str().unwrap().contains("has no port"),
        "{v}"
    );
    assert!(!bad.exists());
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--address",
        "cc:1",
        "-o",
        "-",
        "--json",
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--json with `-o -`"), "{}", run.stderr);
}

#[test]
fn the_domain_hint_depends_on_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path(), "tls/ca.pem", &[]);
    let server = fixture("tls/server.pem");
    // v2.5 (the default, as for probe): `domain` is never read; the address
    // host is checked, and the certificate lacks it.
    let run = ccaas(&["validate", s(&pkg), "--server-cert", s(&server)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("does not cover `peer0-basic`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("a Fabric v2.5 peer never reads `domain`"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("set `domain`"), "{}", run.stdout);
    // v3.0+: `domain` with client auth, which the certificate covers.
    for release in ["v3.0", "v3.1"] {
        let run = ccaas(&[
            "validate",
            s(&pkg),
            "--server-cert",
            s(&server),
            "--profile",
            release,
        ]);
        assert_eq!(run.code, 0, "{release}: {}", run.stdout);
    }
    // Without client auth, v3.0+ is told about `domain`.
    let conn = dir.path().join("connection.json");
    std::fs::write(
        &conn,
        serde_json::json!({"address": "peer0-basic:9999", "tls_required": true,
            "root_cert": std::fs::read_to_string(fixture("tls/ca.pem")).unwrap()})
        .to_string(),
    )
    .unwrap();
    let run = ccaas(&[
        "validate",
        s(&conn),
        "--server-cert",
        s(&server),
        "--profile",
        "v3.1",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("set `domain` with client auth, which Fabric v3.0+ checks"),
        "{}",
        run.stdout
    );
    let run = ccaas(&["validate", s(&conn), "--server-cert", s(&server)]);
    assert!(!run.stdout.contains("set `domain`"), "{}", run.stdout);
    // package --server-cert and simulate --server-cert follow --profile too.
    let run = ccaas(&[
        "simulate",
        s(&pkg),
        "--config",
        r#"{"peername":"peer0"}"#,
        "--server-cert",
        s(&server),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let run = ccaas(&[
        "simulate",
        s(&pkg),
        "--config",
        r#"{"peername":"peer0"}"#,
        "--server-cert",
        s(&server),
        "--profile",
        "v3.1",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn a_tls_dir_file_named_without_the_folder_is_said_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    std::fs::copy(fixture("tls/ca.pem"), tls.join("ca.crt")).unwrap();
    let conn = dir.path().join("connection.json");
    std::fs::write(
        &conn,
        r#"{"address": "cc.example.com:9999", "tls_required": true, "root_cert_file": "ca.crt"}"#,
    )
    .unwrap();
    let out = dir.path().join("p.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "p",
        "--connection",
        s(&conn),
        "--tls-dir",
        s(&tls),
        "-o",
        s(&out),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("ccaas: note: --tls-dir: not packed `ca.crt`: key `root_cert_file` names `ca.crt`, but files from --tls-dir ship as `tls/<file>`: write `tls/ca.crt` in connection.json"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("no `*_file` key names it"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("key `root_cert_file` names `ca.crt`, which is not in the package: the build fails unless the peer's `CCAAS_TLS_DIR` holds it; --tls-dir has `ca.crt`, but files from --tls-dir ship as `tls/<file>`"),
        "{}",
        run.stderr
    );
}
