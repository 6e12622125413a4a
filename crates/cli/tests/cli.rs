//! `ccaas`, every subcommand, success and failure, as an operator runs it.
#![allow(clippy::unwrap_used)]

use ccaas_testkit::{assert_no_key, fixture, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CCAAS: &str = env!("CARGO_BIN_EXE_ccaas");
const INDEX: &str =
    r#"{"index":{"fields":["owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ccaas(args: &[&str]) -> Run {
    ccaas_in(Command::new(CCAAS).args(args))
}

fn ccaas_in(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .env_remove("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG")
        .output()
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[track_caller]
fn expect(run: &Run, code: i32, stdout_has: &[&str], stderr_has: &[&str]) {
    let ok = run.code == code
        && stdout_has.iter().all(|s| run.stdout.contains(s))
        && stderr_has.iter().all(|s| run.stderr.contains(s));
    assert!(
        ok,
        "\nexpected exit {code}, stdout containing {stdout_has:?}, stderr containing {stderr_has:?}\ngot exit {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the system `tar` in `dir`, as the Fabric v2.0 docs package.
fn tar_in(dir: &Path, args: &[&str]) {
    let ok = Command::new("tar")
        .current_dir(dir)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar {args:?} failed");
}

/// A package made as the Fabric v2.0 docs make one, from files in `dir`:
/// `tar cfz code.tar.gz CODE...` then `tar cfz NAME metadata.json code.tar.gz`.
fn seed_package(dir: &Path, name: &str, code: &[&str]) -> PathBuf {
    let mut args = vec!["cfz", "code.tar.gz"];
    args.extend_from_slice(code);
    tar_in(dir, &args);
    tar_in(dir, &["cfz", name, "metadata.json", "code.tar.gz"]);
    dir.join(name)
}

/// A package made by `ccaas package --address ...`.
fn make_package(dir: &Path, label: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{label}.tgz"));
    let mut args = vec!["package", "--label", label, "-o", s(&out)];
    args.extend_from_slice(extra);
    if !extra.contains(&"--connection") && !extra.contains(&"--address") {
        args.extend_from_slice(&["--address", "127.0.0.1:9999"]);
    }
    expect(&ccaas(&args), 0, &[], &[]);
    out
}

// ---- package ----

#[test]
fn package_prints_the_id_of_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cc.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "cc_1.0",
        "--address",
        "cc.example.com:9999",
        "--dial-timeout",
        "10s",
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        0,
        &[],
        &[
            "wrote `",
            "type ccaas, address cc.example.com:9999, TLS off, 0 CouchDB indexes",
        ],
    );
    assert_eq!(run.stdout.trim(), format!("cc_1.0:{}", sha256_hex(&out)));
    assert_eq!(ccaas_testkit::mode(&out), 0o644);
}

#[test]
fn package_inlines_pem_files_and_protects_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let tls = repo_root().join("fixtures/tls");
    let out = make_package(
        dir.path(),
        "mtls",
        &[
            "--address",
            "cc:9999",
            "--tls-root-cert",
            s(&tls.join("ca.pem")),
            "--client-cert",
            s(&tls.join("client.pem")),
            "--client-key",
            s(&tls.join("client.key")),
            "--domain",
            "cc.example.com",
        ],
    );
    assert_eq!(ccaas_testkit::mode(&out), 0o600);
    let inspect = ccaas(&["inspect", s(&out), "--json"]);
    expect(&inspect, 0, &[], &[]);
    let v = json(&inspect);
    assert_eq!(v["connection"]["tls"], "mutual");
    assert_eq!(v["connection"]["json"]["client_key"], "<redacted>");
    assert_eq!(v["connection"]["json"]["root_cert"], fixture("tls/ca.pem"));
    assert_eq!(v["connection"]["json"]["domain"], "cc.example.com");
    assert_no_key(&inspect.stdout);
}

#[test]
fn package_refuses_a_bad_connection_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "bad",
        "--address",
        "cc",
        "--dial-timeout",
        "10",
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        1,
        &[],
        &[
            "ccaas: error: --address: `cc` has no port",
            "ccaas: error: --dial-timeout: `10` has no unit",
            "no package written",
        ],
    );
    assert!(!out.exists());
    assert_eq!(run.stdout, "");
}

#[test]
fn package_refuses_a_bad_label() {
    let dir = tempfile::tempdir().unwrap();
    let run = ccaas(&[
        "package",
        "--label",
        "my cc",
        "--address",
        "cc:1",
        "-o",
        s(&dir.path().join("x.tgz")),
    ]);
    expect(&run, 1, &[], &["--label: label `my cc` is invalid"]);
}

#[test]
fn package_needs_a_connection_source() {
    let dir = tempfile::tempdir().unwrap();
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "-o",
        s(&dir.path().join("x.tgz")),
    ]);
    expect(&run, 2, &[], &["--connection", "--address"]);
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--connection",
        "c.json",
        "--address",
        "a:1",
        "-o",
        "x.tgz",
    ]);
    expect(&run, 2, &[], &["cannot be used with"]);
}

#[test]
fn package_from_a_connection_file_normalises_it() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc:1", "dial_timeout": "10s", "tls_required": "false"}"#,
    );
    let out = dir.path().join("x.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--connection",
        s(&conn),
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        0,
        &["x:"],
        &["warning: connection.json: key `tls_required` is the string"],
    );
    let v = json(&ccaas(&["inspect", s(&out), "--json"]));
    assert_eq!(v["connection"]["json"]["tls_required"], false);
}

#[test]
fn package_places_indexes_for_each_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat");
    write(&flat, "owner.json", INDEX);
    let tree = dir.path().join("tree");
    write(&tree, "indexes/owner.json", INDEX);
    write(&tree, "collections/private_1/indexes/size.json", INDEX);
    let ccaas_pkg = make_package(dir.path(), "a", &["--indexes", s(&flat)]);
    let external_pkg = make_package(
        dir.path(),
        "b",
        &["--indexes", s(&tree), "--type", "external"],
    );
    let paths = |pkg: &Path| -> Vec<String> {
        json(&ccaas(&["inspect", s(pkg), "--json"]))["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(paths(&ccaas_pkg), ["statedb/couchdb/indexes/owner.json"]);
    assert_eq!(
        paths(&external_pkg),
        [
            "statedb/couchdb/collections/private_1/indexes/size.json",
            "statedb/couchdb/indexes/owner.json"
        ]
    );
    let entries =
        json(&ccaas(&["inspect", s(&external_pkg), "--json"]))["code"]["entries"].to_string();
    assert!(
        entries.contains("metadata/statedb/couchdb/indexes/owner.json"),
        "{entries}"
    );
}

#[test]
fn package_refuses_a_bad_index() {
    let dir = tempfile::tempdir().unwrap();
    let idx = write(dir.path(), "idx/bad.json", r#"{"fields": ["a"]}"#);
    let out = dir.path().join("x.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--address",
        "a:1",
        "--indexes",
        s(idx.parent().unwrap()),
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        1,
        &[],
        &["bad.json`: `statedb/couchdb/indexes/bad.json` is not a CouchDB index definition"],
    );
    assert!(!out.exists());
}

/// A connection.json naming the mutual-TLS files `tls/ca.pem`,
/// `tls/client.pem` and `tls/client.key`, for `--tls-dir`.
fn files_connection(dir: &Path) -> PathBuf {
    write(
        dir,
        "connection.json",
        r#"{"address": "mycc.example.com:9999", "tls_required": true, "client_auth_required": true,
            "root_cert_file": "tls/ca.pem", "client_cert_file": "tls/client.pem", "client_key_file": "tls/client.key"}"#,
    )
}

// Regression: `--tls-dir` packed every file of the directory, CA keys and
// old packages included, into a package shared with other organisations.
#[test]
fn package_ships_only_the_tls_files_connection_json_names() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    write(&tls, "ca.pem", &fixture("tls/ca.pem"));
    write(&tls, "client.pem", &fixture("tls/client.pem"));
    write(&tls, "client.key", &fixture("tls/client.key"));
    write(&tls, "ca.key", &fixture("tls/ca.key"));
    write(&tls, "old.tgz", "an old package");
    let conn = files_connection(dir.path());
    let out = dir.path().join("t.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "t",
        "--connection",
        s(&conn),
        "--tls-dir",
        s(&tls),
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        0,
        &[],
        &[
            "3 TLS files: tls/ca.pem (root_cert_file), tls/client.key (client_key_file), tls/client.pem (client_cert_file)",
            "not packed `ca.key`: a private key that no `client_key_file` names",
            "not packed `old.tgz`: no `*_file` key names it",
        ],
    );
    assert_eq!(
        json(&ccaas(&["inspect", s(&out), "--json"]))["tls_files"],
        serde_json::json!(["ca.pem", "client.key", "client.pem"])
    );
    // A private key named by a key other than `client_key_file` is refused.
    let named_wrong = write(
        dir.path(),
        "wrong.json",
        r#"{"address": "mycc.example.com:9999", "tls_required": true, "root_cert_file": "tls/ca.key"}"#,
    );
    std::fs::remove_file(&out).unwrap();
    let run = ccaas(&[
        "package",
        "--label",
        "t",
        "--connection",
        s(&named_wrong),
        "--tls-dir",
        s(&tls),
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        1,
        &[],
        &[
            "ca.key` holds a private key, but `root_cert_file` names it",
            "no package written to",
        ],
    );
    assert_no_key(&run.stderr);
    assert!(!out.exists());
}

// Regression: `--client-key` embedded the key in a shared package silently.
#[test]
fn package_says_when_it_embeds_a_client_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", &fixture("tls/ca.pem"));
    let cert = write(dir.path(), "client.pem", &fixture("tls/client.pem"));
    let key = write(dir.path(), "client.key", &fixture("tls/client.key"));
    let run = ccaas(&[
        "package",
        "--label",
        "k",
        "--address",
        "mycc.example.com:9999",
        "--tls-root-cert",
        s(&ca),
        "--client-cert",
        s(&cert),
        "--client-key",
        s(&key),
        "-o",
        s(&dir.path().join("k.tgz")),
    ]);
    expect(
        &run,
        0,
        &[],
        &[
            "note: --client-key: the client's private key is embedded in the package",
            "`client_key_file`",
            "`CCAAS_TLS_DIR`",
        ],
    );
    let run = ccaas(&[
        "package",
        "--label",
        "k",
        "--address",
        "mycc.example.com:9999",
        "--tls-root-cert",
        s(&ca),
        "-o",
        s(&dir.path().join("k2.tgz")),
    ]);
    assert!(!run.stderr.contains("--client-key"), "{}", run.stderr);
}

// Regression: `package` wrote packages `validate` fails (a key that is not
// the certificate's, an expired certificate, a server name the certificate
// does not cover), and stopped at the first problem.
#[test]
fn package_checks_what_validate_checks_and_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let f = |name: &str| repo_root().join("fixtures/tls").join(name);
    let out = dir.path().join("v.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "v",
        "--address",
        "elsewhere.org:9999",
        "--tls-root-cert",
        s(&f("expired.pem")),
        "--client-cert",
        s(&f("client.pem")),
        "--client-key",
        s(&f("other.key")),
        "--server-cert",
        s(&f("server.pem")),
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        1,
        &[],
        &[
            "key `client_key`: the private key does not belong to `client_cert`",
            "key `root_cert`: the certificate (`CN=ccaas expired test cert`) expired on",
            "the server certificate does not cover `elsewhere.org`",
            "no package written to",
        ],
    );
    assert!(!out.exists());
    // The same inputs in a package: validate says the same words.
    let conn = serde_json::json!({
        "address": "elsewhere.org:9999", "tls_required": true, "client_auth_required": true,
        "root_cert": fixture("tls/expired.pem"), "client_cert": fixture("tls/client.pem"),
        "client_key": fixture("tls/other.key"),
    });
    let conn_path = write(dir.path(), "connection.json", &conn.to_string());
    let validate = ccaas(&[
        "validate",
        s(&conn_path),
        "--server-cert",
        s(&f("server.pem")),
    ]);
    for line in run
        .stderr
        .lines()
        .filter(|l| l.contains("key `") || l.contains("server certificate"))
    {
        let message = line
            .split_once(": key ")
            .map(|(_, m)| format!("key {m}"))
            .or_else(|| {
                line.split_once(": the server")
                    .map(|(_, m)| format!("the server{m}"))
            })
            .unwrap();
        assert!(
            validate.stdout.contains(&message),
            "validate lacks {message}\n{}",
            validate.stdout
        );
    }
    // Problems of different inputs, all at once.
    let bad_index = write(dir.path(), "indexes/bad.json", "{}");
    let run = ccaas(&[
        "package",
        "--label",
        "v",
        "--address",
        "nohost",
        "--dial-timeout",
        "10",
        "--indexes",
        s(bad_index.parent().unwrap()),
        "-o",
        s(&out),
    ]);
    expect(
        &run,
        1,
        &[],
        &[
            "--address: `nohost` has no port",
            "--dial-timeout: `10` has no unit",
            "--indexes: `",
            "bad.json`",
            "no package written",
        ],
    );
}

/// Two packages from the same inputs, under different umasks, input mtimes
/// and users, are byte-identical; so is the committed sample, made on
/// another day.
#[test]
fn packages_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let sample = repo_root().join("fixtures/sample");
    let make = |name: &str, umask: &str, user: Option<&str>| -> PathBuf {
        let out = dir.path().join(name);
        let script = format!(
            "umask {umask}; exec \"$0\" package --label basic_1.0 --connection {conn} --indexes {idx} --tls-dir {tls} -o {out}",
            conn = s(&sample.join("connection.json")),
            idx = s(&sample.join("indexes")),
            tls = s(&sample.join("tls")),
            out = s(&out)
        );
        let mut cmd = match user {
            Some(uid) => {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    uid,
                    "--regid",
                    uid,
                    "--clear-groups",
                    "sh",
                    "-c",
                    &script,
                    CCAAS,
                ]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", &script, CCAAS]);
                c
            }
        };
        expect(&ccaas_in(&mut cmd), 0, &["basic_1.0:"], &[]);
        out
    };
    let first = make("a.tgz", "022", None);
    // Touch the inputs to a different time between runs.
    for f in ["connection.json", "indexes/indexOwner.json", "tls/ca.pem"] {
        let file = std::fs::File::options()
            .append(true)
            .open(sample.join(f))
            .unwrap();
        file.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
        )
        .unwrap();
    }
    let second = make("b.tgz", "077", None);
    let as_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let readable = std::fs::metadata(&sample)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o005 == 0o005)
        .unwrap_or(false);
    let third = if as_root && readable {
        Some(make("c.tgz", "002", Some("65534")))
    } else {
        None
    };
    let bytes = std::fs::read(&first).unwrap();
    assert_eq!(bytes, std::fs::read(&second).unwrap());
    if let Some(third) = third {
        assert_eq!(bytes, std::fs::read(third).unwrap());
    }
    assert_eq!(
        bytes,
        std::fs::read(sample.join("basic_1.0.tgz")).unwrap(),
        "fixtures/sample/basic_1.0.tgz differs from a fresh `ccaas package` of fixtures/sample"
    );
}

// ---- id ----

#[test]
fn id_matches_sha256sum_for_our_packages() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_package(dir.path(), "a_1", &[]);
    let b = make_package(dir.path(), "b_1", &["--address", "b:2"]);
    let run = ccaas(&["id", s(&a), s(&b)]);
    expect(&run, 0, &[], &[]);
    assert_eq!(
        run.stdout,
        format!("a_1:{}\nb_1:{}\n", sha256_hex(&a), sha256_hex(&b))
    );
}

#[test]
fn id_matches_sha256sum_for_a_seed_style_tar_package() {
    // The Fabric v2.0 docs: `tar cfz code.tar.gz connection.json metadata`
    // then `tar cfz <label>-pkg.tgz metadata.json code.tar.gz`.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc:9999", "dial_timeout": "10s", "tls_required": false}"#,
    );
    write(
        dir.path(),
        "metadata/statedb/couchdb/indexes/owner.json",
        INDEX,
    );
    write(
        dir.path(),
        "metadata.json",
        r#"{"path":"","type":"external","label":"seed_1"}"#,
    );
    seed_package(
        dir.path(),
        "seed_1-pkg.tgz",
        &["connection.json", "metadata"],
    );
    let pkg = dir.path().join("seed_1-pkg.tgz");
    let run = ccaas(&["id", s(&pkg)]);
    assert_eq!(run.stdout, format!("seed_1:{}\n", sha256_hex(&pkg)));
    // And it installs with this builder, external dialect.
    expect(
        &ccaas(&["simulate", s(&pkg)]),
        0,
        &["the peer would dial cc:9999 with TLS off", "OK: installed"],
        &[],
    );
}

#[test]
fn id_of_a_100_mb_package() {
    let dir = tempfile::tempdir().unwrap();
    // 100 MB of incompressible bytes in code.tar.gz.
    let mut data = vec![0u8; 100 * 1024 * 1024];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    write(dir.path(), "big/connection.json", r#"{"address": "cc:1"}"#);
    std::fs::write(dir.path().join("big/blob.bin"), &data).unwrap();
    drop(data);
    write(
        dir.path(),
        "metadata.json",
        r#"{"type":"ccaas","label":"big"}"#,
    );
    let tar = |args: &[&str]| tar_in(dir.path(), args);
    tar(&[
        "cfz",
        "code.tar.gz",
        "-C",
        "big",
        "connection.json",
        "blob.bin",
    ]);
    tar(&["cfz", "big.tgz", "metadata.json", "code.tar.gz"]);
    let pkg = dir.path().join("big.tgz");
    assert!(std::fs::metadata(&pkg).unwrap().len() > 100_000_000);
    let run = ccaas(&["id", s(&pkg)]);
    expect(&run, 0, &[], &[]);
    assert_eq!(run.stdout, format!("big:{}\n", sha256_hex(&pkg)));
}

#[test]
fn id_reads_standard_input_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let a = make_package(dir.path(), "a_1", &[]);
    let run = ccaas_in(
        Command::new(CCAAS)
            .args(["id", "--json", "-"])
            .stdin(std::fs::File::open(&a).unwrap()),
    );
    expect(&run, 0, &[], &[]);
    let hash = sha256_hex(&a);
    assert_eq!(
        json(&run),
        serde_json::json!([{"file": "-", "package_id": format!("a_1:{hash}"), "label": "a_1", "hash": hash}])
    );
}

#[test]
fn id_of_a_broken_package_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.tgz", "not a package");
    let good = make_package(dir.path(), "g", &[]);
    let run = ccaas(&["id", s(&good), s(&junk)]);
    expect(
        &run,
        1,
        &["g:"],
        &[
            "ccaas: error: `",
            "junk.tgz`: the package is not a readable gzip-compressed tar",
        ],
    );
    let run = ccaas(&["id", s(&dir.path().join("missing.tgz"))]);
    expect(&run, 1, &[], &["missing.tgz`: No such file"]);
}

// ---- inspect ----

#[test]
fn inspect_shows_everything_but_the_key() {
    let sample = repo_root().join("fixtures/sample/basic_1.0.tgz");
    let run = ccaas(&["inspect", s(&sample)]);
    expect(
        &run,
        0,
        &[
            "package ID    basic_1.0:",
            "type          ccaas",
            "index         statedb/couchdb/indexes/indexOwner.json (state database)",
            "tls file      tls/client.key",
            "note     connection.json: key `address` is a template",
        ],
        &[],
    );
    assert_no_key(&run.stdout);
    let v = json(&ccaas(&["inspect", s(&sample), "--json"]));
    assert_eq!(v["metadata"]["label"], "basic_1.0");
    assert_eq!(v["metadata"]["dialect"], "ccaas");
    assert_eq!(
        v["package_id"].as_str().unwrap(),
        format!("basic_1.0:{}", sha256_hex(&sample))
    );
    assert_eq!(v["indexes"].as_array().unwrap().len(), 2);
    assert_eq!(v["ok"], true);
    assert_no_key(&v.to_string());
}

#[test]
fn inspect_counts_in_words_that_agree() {
    let dir = tempfile::tempdir().unwrap();
    let one = make_package(dir.path(), "one", &[]);
    expect(
        &ccaas(&["inspect", s(&one)]),
        0,
        &["code.tar.gz   1 file, 0 directories, "],
        &[],
    );
    let sample = repo_root().join("fixtures/sample/basic_1.0.tgz");
    expect(
        &ccaas(&["inspect", s(&sample)]),
        0,
        &["code.tar.gz   6 files, 5 directories, "],
        &[],
    );
}

#[test]
fn inspect_of_a_non_package_fails() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.tgz", "{}");
    expect(
        &ccaas(&["inspect", s(&junk)]),
        1,
        &["error", "not a readable gzip-compressed tar"],
        &[],
    );
}

// ---- validate ----

#[test]
fn validate_lists_every_problem_with_the_peers_reaction() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc", "tls_required": "true", "tls_requried": 1}"#,
    );
    let run = ccaas(&["validate", s(&conn)]);
    expect(
        &run,
        1,
        &[
            "error    ",
            "key `address`: `cc` has no port",
            "(on its own, the peer would fail at the first invoke)",
            "key `root_cert` is missing",
            "warning  ",
            "key `tls_required` is the string",
            "did you mean `tls_required`? (the peer silently ignores it)",
            "2 errors, 2 warnings: the install would fail with this builder",
        ],
        &[],
    );
}

#[test]
fn validate_passes_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc:9999", "tls_required": "false"}"#,
    );
    expect(
        &ccaas(&["validate", s(&conn)]),
        0,
        &["0 errors, 1 warning: installs with this builder"],
        &[],
    );
}

#[test]
fn validate_renders_templates_with_config() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "{{.peer}}:9999"}"#,
    );
    expect(
        &ccaas(&["validate", s(&conn)]),
        0,
        &["note", "is a template"],
        &[],
    );
    expect(
        &ccaas(&["validate", s(&conn), "--config", r#"{"peer": "p0"}"#]),
        0,
        &["0 errors, 0 warnings"],
        &[],
    );
    expect(
        &ccaas(&["validate", s(&conn), "--config", r#"{"other": 1}"#]),
        1,
        &["template key `.peer` is not in"],
        &[],
    );
    let cfg = write(dir.path(), "cfg.json", r#"{"peer": "p0"}"#);
    expect(
        &ccaas(&["validate", s(&conn), "--config", &format!("@{}", s(&cfg))]),
        0,
        &["0 errors"],
        &[],
    );
}

#[test]
fn validate_metadata_json() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "metadata.json",
        r#"{"type": "ccaas", "label": "x"}"#,
    );
    expect(
        &ccaas(&["validate", s(&good)]),
        0,
        &["metadata.json: 0 errors"],
        &[],
    );
    let bad = write(
        dir.path(),
        "b/metadata.json",
        r#"{"type": "golang", "label": "-x"}"#,
    );
    expect(
        &ccaas(&["validate", s(&bad)]),
        1,
        &["label `-x` is invalid", "(the peer rejects the install)"],
        &[],
    );
}

#[test]
fn validate_a_package_with_a_bad_connection_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc:9999", "dial_timeout": ""}"#,
    );
    let idx = write(dir.path(), "idx/bad.json", INDEX);
    // `ccaas package` refuses these, so make the package as the seed does.
    let _ = (conn, idx);
    write(
        dir.path(),
        "metadata.json",
        r#"{"type":"ccaas","label":"bad"}"#,
    );
    write(
        dir.path(),
        "META-INF/statedb/couchdb/indexes/bad.json",
        "[]",
    );
    seed_package(dir.path(), "bad.tgz", &["connection.json", "META-INF"]);
    let pkg = dir.path().join("bad.tgz");
    let run = ccaas(&["validate", s(&pkg), "--json"]);
    assert_eq!(run.code, 1);
    let v = json(&run);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(findings[0]["peer"], "fails-at-launch");
    assert!(findings[0]["message"]
        .as_str()
        .unwrap()
        .contains("`dial_timeout` is an empty string"));
    assert!(findings[1]["message"].as_str().unwrap().contains(
        "META-INF`: `statedb/couchdb/indexes/bad.json` is not a CouchDB index definition"
    ));
    assert_eq!(v["ok"], false);
}

#[test]
fn validate_a_package_the_peer_rejects() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "metadata.json",
        r#"{"type":"ccaas","label":"x"}"#,
    );
    let tar = |args: &[&str]| tar_in(dir.path(), args);
    tar(&["cfz", "x.tgz", "metadata.json"]);
    expect(
        &ccaas(&["validate", s(&dir.path().join("x.tgz"))]),
        1,
        &[
            "the package has no `code.tar.gz` at its top level",
            "(the peer rejects the install)",
        ],
        &[],
    );
}

// ---- simulate ----

#[test]
fn simulate_the_bundled_sample() {
    let run = ccaas(&["simulate"]);
    expect(&run, 0, &[
        "detect    ccaas      exit 0",
        "build     ccaas      exit 0",
        "release   ccaas      exit 0",
        "release/chaincode/server/connection.json",
        "the peer would dial peer0-basic.example.com:9999 with TLS mutual, server name peer0-basic.example.com (Fabric v2.5 never reads `domain`; v3.0+ checks mycc.example.com), dial timeout 10s",
        "OK: installed; start the chaincode server with CHAINCODE_ID=basic_1.0:",
        // The whole system: the sample chaincode served and answering.
        "serve     asset-transfer-basic (examples/asset-transfer-basic) on 127.0.0.1:",
        "connect   the simulated Fabric v2.5 peer dialled 127.0.0.1:",
        "certificate verified for `peer0-basic.example.com` against `root_cert`, client certificate sent; REGISTER `basic_1.0:",
        "invoke    InitLedger on `mychannel`: status 200, empty payload",
        "invoke    ReadAsset asset1 on `mychannel`: status 200, {\"AppraisedValue\":300,\"Color\":\"blue\",\"ID\":\"asset1\",\"Owner\":\"Tomoko\",\"Size\":5}",
        "OK: packaged, installed through the builder, served, and answered through the simulated peer",
    ], &[]);
    assert_no_key(&run.stdout);
}

#[test]
fn simulate_each_dialect() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "idx/owner.json", INDEX);
    for dialect in ["ccaas", "external"] {
        let pkg = make_package(
            dir.path(),
            dialect,
            &["--type", dialect, "--indexes", s(&dir.path().join("idx"))],
        );
        let v = json(&ccaas(&["simulate", s(&pkg), "--json"]));
        assert_eq!(v["verdict"], "launches", "{v}");
        assert_eq!(v["type"], dialect);
        assert_eq!(v["launch"]["address"], "127.0.0.1:9999");
        assert_eq!(v["launch"]["dial_timeout"], "3s");
        let steps: Vec<&str> = v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["detect", "build", "release"]);
        assert!(
            v["durable_files"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(
                    "release/statedb/couchdb/indexes/owner.json"
                )),
            "{v}"
        );
    }
}

#[test]
fn simulate_fails_a_bad_connection_at_build() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc:9999", "tls_required": true}"#,
    );
    write(
        dir.path(),
        "metadata.json",
        r#"{"type":"ccaas","label":"bad"}"#,
    );
    seed_package(dir.path(), "bad.tgz", &["connection.json"]);
    let run = ccaas(&["simulate", s(&dir.path().join("bad.tgz"))]);
    expect(
        &run,
        1,
        &[
            "build     ccaas      exit 1",
            "| build: error: `",
            "key `root_cert` is missing",
            "FAIL: build exited non-zero",
        ],
        &[],
    );
    let v = json(&ccaas(&[
        "simulate",
        s(&dir.path().join("bad.tgz")),
        "--json",
    ]));
    assert_eq!(v["verdict"], "build-failed");
    assert_eq!(v["steps"][1]["exit_code"], 1);
}

#[test]
fn simulate_reports_a_package_no_builder_claims() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "metadata.json",
        r#"{"type":"golang","label":"go_1"}"#,
    );
    write(dir.path(), "main.go", "package main");
    seed_package(dir.path(), "go.tgz", &["main.go"]);
    let run = ccaas(&["simulate", s(&dir.path().join("go.tgz"))]);
    expect(
        &run,
        1,
        &[
            "detect    ccaas      exit 1",
            "FAIL: no external builder claimed the package; the peer would hand it to its built-in Docker build",
        ],
        &[],
    );
}

#[test]
fn simulate_with_builder_directories_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(CCAAS).parent().unwrap();
    // A builder that claims nothing, then ours laid out as a peer expects.
    let never = dir.path().join("never");
    std::fs::create_dir_all(never.join("bin")).unwrap();
    for step in ["detect", "build"] {
        let path = never.join("bin").join(step);
        std::fs::write(&path, "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let ours = dir.path().join("ours");
    std::fs::create_dir_all(ours.join("bin")).unwrap();
    for (from, to) in [
        ("detect", "detect"),
        ("ccaas-build", "build"),
        ("release", "release"),
    ] {
        std::os::unix::fs::symlink(bin_dir.join(from), ours.join("bin").join(to)).unwrap();
    }
    let pkg = make_package(dir.path(), "p", &[]);
    let v = json(&ccaas(&[
        "simulate",
        s(&pkg),
        "--builder",
        s(&never),
        "--builder",
        s(&ours),
        "--json",
    ]));
    assert_eq!(v["builder"], "ours");
    let steps: Vec<String> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["builder"].as_str().unwrap(),
                s["step"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        steps,
        ["never:detect", "ours:detect", "ours:build", "ours:release"]
    );
    let run = ccaas(&["simulate", s(&pkg), "--builder", s(dir.path())]);
    expect(&run, 1, &[], &["has no `bin/detect`"]);
    // The name is core.yaml's `name`, given as NAME=DIR, as the peer shows it.
    let named = format!("ccaas_builder={}", s(&ours));
    let v = json(&ccaas(&[
        "simulate",
        s(&pkg),
        "--builder",
        &named,
        "--json",
    ]));
    assert_eq!(v["builder"], "ccaas_builder");
    assert_eq!(v["steps"][0]["builder"], "ccaas_builder");
    expect(
        &ccaas(&["simulate", s(&pkg), "--builder", &named]),
        0,
        &[
            &format!("builder   ccaas_builder {}; the peer logs its lines as `[chaincode.externalbuilder.ccaas_builder] … command=detect|build|release`", s(&ours)),
            "detect    ccaas_builder exit 0",
        ],
        &[],
    );
}

#[test]
fn simulate_a_template_without_config_fails_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = make_package(dir.path(), "t", &["--address", "{{.peername}}-cc:9999"]);
    expect(
        &ccaas(&["simulate", s(&pkg)]),
        1,
        &["is a template but `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` is not set"],
        &[],
    );
    expect(
        &ccaas(&["simulate", s(&pkg), "--config", r#"{"peername":"peer1"}"#]),
        0,
        &["dial peer1-cc:9999"],
        &[],
    );
}

#[test]
fn help_has_examples_and_exit_codes() {
    for sub in ["package", "id", "inspect", "validate", "simulate"] {
        expect(&ccaas(&[sub, "--help"]), 0, &["Example", "Exit codes"], &[]);
    }
    expect(
        &ccaas(&["frobnicate"]),
        2,
        &[],
        &["unrecognized subcommand"],
    );
}

#[test]
fn simulate_reports_a_ccaas_package_no_builder_claims() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = make_package(dir.path(), "p", &["--type", "external"]);
    let run = ccaas_in(
        Command::new(CCAAS)
            .args(["simulate", s(&pkg)])
            .env("CCAAS_DETECT_TYPES", "ccaas"),
    );
    expect(
        &run,
        1,
        &[
            "detect    ccaas      exit 1",
            "FAIL: no builder claimed the package; the peer would fail the install",
        ],
        &[],
    );
}

#[test]
fn package_flags_conflict_with_a_connection_file() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(dir.path(), "connection.json", r#"{"address": "cc:1"}"#);
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--connection",
        s(&conn),
        "--dial-timeout",
        "5s",
        "-o",
        s(&dir.path().join("x.tgz")),
    ]);
    expect(&run, 2, &[], &["cannot be used with"]);
}

#[test]
fn package_warns_about_tls_files_it_does_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "cc:1", "tls_required": true, "root_cert_file": "tls/ca.pem"}"#,
    );
    let out = dir.path().join("x.tgz");
    let run = ccaas(&[
        "package",
        "--label",
        "x",
        "--connection",
        s(&conn),
        "-o",
        s(&out),
    ]);
    expect(&run, 0, &[], &["warning: connection.json: key `root_cert_file` names `tls/ca.pem`, which is not in the package: the build fails unless the peer's `CCAAS_TLS_DIR` holds it"]);
    let run = ccaas(&["validate", s(&out)]);
    expect(&run, 0, &["warning  connection.json: key `root_cert_file` names `tls/ca.pem`, which is not in the package"], &[]);
}

#[test]
fn validate_checks_tls_material_against_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let tls = repo_root().join("fixtures/tls");
    let conn = write(
        dir.path(),
        "connection.json",
        &format!(
            r#"{{"address": "mycc.example.com:9999", "tls_required": true, "client_auth_required": true, "root_cert_file": {ca}, "client_cert_file": {cert}, "client_key_file": {key}}}"#,
            ca = ccaas_testkit::json_string("ca.pem"),
            cert = ccaas_testkit::json_string("client.pem"),
            key = ccaas_testkit::json_string("other.key"),
        ),
    );
    let run = ccaas(&[
        "validate",
        s(&conn),
        "--tls-dir",
        s(&tls),
        "--server-cert",
        s(&tls.join("server.pem")),
    ]);
    expect(
        &run,
        1,
        &[
            "key `client_key`: the private key does not belong to `client_cert`",
            "1 error",
        ],
        &[],
    );
    let conn = write(
        dir.path(),
        "c2/connection.json",
        r#"{"address": "elsewhere.org:9999", "tls_required": true, "root_cert_file": "expired.pem"}"#,
    );
    let run = ccaas(&[
        "validate",
        s(&conn),
        "--tls-dir",
        s(&tls),
        "--server-cert",
        s(&tls.join("server.pem")),
    ]);
    expect(
        &run,
        1,
        &[
            "key `root_cert`: the certificate",
            "expired on",
            "the server certificate does not cover `elsewhere.org`",
        ],
        &[],
    );
    assert_no_key(&run.stdout);
}

#[test]
fn limits_can_be_changed_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    write(&tls, "ca.pem", &fixture("tls/ca.pem"));
    write(&tls, "client.pem", &fixture("tls/client.pem"));
    let conn = write(
        dir.path(),
        "connection.json",
        r#"{"address": "127.0.0.1:9999", "tls_required": true, "root_cert_file": "tls/ca.pem", "client_cert_file": "tls/client.pem"}"#,
    );
    let pkg = make_package(
        dir.path(),
        "l",
        &["--connection", s(&conn), "--tls-dir", s(&tls)],
    );
    expect(&ccaas(&["inspect", s(&pkg)]), 0, &[], &[]);
    let run = ccaas(&["inspect", s(&pkg), "--max-entries", "2"]);
    expect(
        &run,
        1,
        &["`code.tar.gz` has more than 2 entries (the limit, reached at entry `tls/ca.pem`)"],
        &[],
    );
    let run = ccaas(&["validate", s(&pkg), "--max-code-bytes", "100"]);
    // A bound of ours, not a rule of the peer's: it would read on.
    expect(
        &run,
        1,
        &[
            "has more than 100 expanded bytes",
            "(the peer sets no such limit and would read on)",
        ],
        &[],
    );
    let v = json(&ccaas(&[
        "validate",
        s(&pkg),
        "--max-code-bytes",
        "100",
        "--json",
    ]));
    assert_eq!(v["findings"][0]["peer"], "no-limit");
}

// Regression: `validate` failed packages whose TLS material does not fit
// together while `simulate` said "OK: installed", and validate's verdict
// ("the install would fail") contradicted what happens (the install works,
// the first invoke fails).
#[test]
fn validate_and_simulate_give_one_verdict_in_the_same_words() {
    let dir = tempfile::tempdir().unwrap();
    let f = |name: &str| repo_root().join("fixtures/tls").join(name);
    let cases = [
        (
            "mismatch",
            "mycc.example.com:9999",
            "ca.pem",
            "other.key",
            None,
        ),
        (
            "expired",
            "mycc.example.com:9999",
            "expired.pem",
            "client.key",
            None,
        ),
        (
            "name",
            "elsewhere.org:9999",
            "ca.pem",
            "client.key",
            Some("server.pem"),
        ),
    ];
    for (label, address, root, key, server) in cases {
        let conn = serde_json::json!({
            "address": address, "tls_required": true, "client_auth_required": true,
            "root_cert": fixture(&format!("tls/{root}")), "client_cert": fixture("tls/client.pem"),
            "client_key": fixture(&format!("tls/{key}")),
        });
        let src = dir.path().join(label);
        write(&src, "connection.json", &conn.to_string());
        write(
            &src,
            "metadata.json",
            &format!(r#"{{"type":"ccaas","label":"{label}"}}"#),
        );
        tar_in(&src, &["cfz", "code.tar.gz", "connection.json"]);
        tar_in(&src, &["cfz", "p.tgz", "metadata.json", "code.tar.gz"]);
        let pkg = src.join("p.tgz");
        let mut v = vec!["validate", s(&pkg)];
        let mut sim = vec!["simulate", s(&pkg)];
        let server_path = server.map(f);
        if let Some(p) = &server_path {
            v.extend(["--server-cert", s(p)]);
            sim.extend(["--server-cert", s(p)]);
        }
        let validate = ccaas(&v);
        expect(
            &validate,
            1,
            &["installs with this builder, but the first invoke would fail"],
            &[],
        );
        let simulate = ccaas(&sim);
        expect(
            &simulate,
            1,
            &["FAIL: installed, but the first invoke would fail: "],
            &[],
        );
        for line in validate.stdout.lines().filter(|l| l.starts_with("error")) {
            let message = line
                .trim_start_matches("error    connection.json: ")
                .trim_end_matches(
                    " (the install succeeds and the first invoke would fail, whatever the builder)",
                );
            assert!(
                simulate.stdout.contains(message),
                "{label}: simulate lacks {message}\n{}",
                simulate.stdout
            );
        }
        assert!(
            !validate.stdout.contains("the install would fail"),
            "{}",
            validate.stdout
        );
    }
}

// Regression: the bundled sample's `domain` (basic.example.com) was not a
// name of the bundled server certificate, so the sample failed its own
// `validate --server-cert`.
#[test]
fn the_sample_fits_the_bundled_server_certificate() {
    let sample = repo_root().join("fixtures/sample/basic_1.0.tgz");
    let server = repo_root().join("fixtures/tls/server.pem");
    let args = [
        "--config",
        r#"{"peername":"peer0"}"#,
        "--server-cert",
        s(&server),
    ];
    // A Fabric v3.0+ peer checks `domain` (with client auth), which the
    // certificate names.
    let mut v = vec!["validate", s(&sample), "--profile", "v3.1"];
    v.extend(args);
    expect(
        &ccaas(&v),
        0,
        &["0 errors, 0 warnings: installs with this builder"],
        &[],
    );
    let mut sim = vec!["simulate", "--profile", "v3.1"];
    sim.extend(args);
    expect(
        &ccaas(&sim),
        0,
        &["server name mycc.example.com", "OK: installed"],
        &[],
    );
    // A v2.5 peer (the default) never reads `domain`: it checks the
    // address host, which the certificate names too.
    let mut v = vec!["validate", s(&sample)];
    v.extend(args);
    expect(
        &ccaas(&v),
        0,
        &["0 errors, 0 warnings: installs with this builder"],
        &[],
    );
}

/// `text` as the docs show output: package IDs shortened to 8…5 hex
/// digits, step times as `N ms` (they vary from run to run).
fn as_documented(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut out = String::new();
            for word in line.split(' ') {
                let word = match word.split_once(':') {
                    Some((label, hash))
                        if hash.len() >= 64
                            && hash[..64].bytes().all(|b| b.is_ascii_hexdigit()) =>
                    {
                        format!("{label}:{}…{}{}", &hash[..8], &hash[59..64], &hash[64..])
                    }
                    _ => word.to_owned(),
                };
                out.push_str(&word);
                out.push(' ');
            }
            out.pop();
            // 127.0.0.1:41234 -> 127.0.0.1:PORT (the system picks it).
            while let Some(i) = out.find("127.0.0.1:") {
                let digits = out[i + 10..].bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    break;
                }
                out.replace_range(i + 10..i + 10 + digits, "PORT");
            }
            // "exit 0, 3.6 ms" -> "exit 0, N ms"
            match out.rfind(", ") {
                Some(i)
                    if out.ends_with(" ms") && out[i + 2..out.len() - 3].parse::<f64>().is_ok() =>
                {
                    format!("{}, N ms", &out[..i])
                }
                _ => out,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// The README shows `ccaas simulate`'s output: it must be what ccaas prints,
// so a message change not reflected there fails.
#[test]
fn readme_simulate_output_is_what_ccaas_prints() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme.find("Simulating the bundled sample").unwrap();
    let end = start + readme[start..].find("\n```").unwrap();
    let documented = as_documented(&readme[start..end]);
    let run = ccaas(&["simulate"]);
    expect(&run, 0, &[], &[]);
    let got = as_documented(run.stdout.trim_end());
    assert!(
        got == documented,
        "README.md's simulate output differs from ccaas's:\n--- README\n{documented}\n--- ccaas\n{got}"
    );
}
