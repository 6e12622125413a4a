//! `bin/build SRC METADATA BLD`, run as the peer runs it: peer-style
//! scratch dirs, the peer's filtered environment, stderr captured.
#![allow(clippy::unwrap_used)]

use ccaas_core::peer::CommandRun;
use ccaas_testkit::{
    assert_no_key, assert_run, assert_stderr_has, fixture, json_string, mode, mtls_connection,
    peer_env, run, same_file, tree, PeerDirs,
};

const BUILD: &str = env!("CARGO_BIN_EXE_ccaas-build");
const INDEX: &str =
    r#"{"index":{"fields":["owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;

fn build(dirs: &PeerDirs, extra_env: &[(&str, &str)]) -> CommandRun {
    run(
        BUILD,
        &[dirs.src(), dirs.metadata(), dirs.bld()],
        &peer_env(extra_env),
    )
}

fn bld_file(dirs: &PeerDirs, relative: &str) -> String {
    std::fs::read_to_string(dirs.bld().join(relative)).unwrap()
}

/// A build that fails must leave BLD as it was: empty here.
fn assert_bld_empty(dirs: &PeerDirs) {
    assert_eq!(tree(dirs.bld()), Vec::<String>::new());
}

fn conn_path(dirs: &PeerDirs) -> String {
    format!("`{}`", dirs.src().join("connection.json").display())
}

#[test]
fn ccaas_with_mutual_tls_and_indexes() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", &mtls_connection("127.0.0.1:9999"));
    dirs.write_src("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    dirs.write_src(
        "META-INF/statedb/couchdb/collections/private_1/indexes/size.json",
        INDEX,
    );
    let out = build(&dirs, &[]);
    assert_run(&out, 0, &[concat!("build: `test_1.0` (ccaas): address 127.0.0.1:9999, TLS mutual, dial timeout 10s, 2 CouchDB indexes", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))]);
    assert_eq!(
        tree(dirs.bld()),
        [
            "META-INF/",
            "META-INF/statedb/",
            "META-INF/statedb/couchdb/",
            "META-INF/statedb/couchdb/collections/",
            "META-INF/statedb/couchdb/collections/private_1/",
            "META-INF/statedb/couchdb/collections/private_1/indexes/",
            "META-INF/statedb/couchdb/collections/private_1/indexes/size.json",
            "META-INF/statedb/couchdb/indexes/",
            "META-INF/statedb/couchdb/indexes/owner.json",
            "connection.json",
        ]
    );
    // The key is inside: 0600. Directories 0750.
    assert_eq!(mode(&dirs.bld().join("connection.json")), 0o600);
    assert_eq!(mode(&dirs.bld().join("META-INF/statedb")), 0o750);
    assert_eq!(
        mode(
            &dirs
                .bld()
                .join("META-INF/statedb/couchdb/indexes/owner.json")
        ),
        0o640
    );
    let json: serde_json::Value =
        serde_json::from_str(&bld_file(&dirs, "connection.json")).unwrap();
    assert_eq!(json["client_key"], fixture("tls/client.key"));
    assert_eq!(json["tls_required"], true);
    assert_no_key(&out.stderr.join("\n"));
}

#[test]
fn external_dialect_with_seed_layout() {
    let dirs = PeerDirs::external();
    dirs.write_src(
        "connection.json",
        r#"{"address": "mycc.example.com:7052", "dial_timeout": "10s", "tls_required": false}"#,
    );
    dirs.write_src("metadata/statedb/couchdb/indexes/owner.json", INDEX);
    assert_run(&build(&dirs, &[]), 0, &[concat!("build: `test_1.0` (external): address mycc.example.com:7052, TLS off, dial timeout 10s, 1 CouchDB index", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))]);
    assert_eq!(
        bld_file(&dirs, "metadata/statedb/couchdb/indexes/owner.json"),
        INDEX
    );
    assert_eq!(mode(&dirs.bld().join("connection.json")), 0o640);
    assert_eq!(
        bld_file(&dirs, "connection.json"),
        "{\n  \"address\": \"mycc.example.com:7052\",\n  \"dial_timeout\": \"10s\",\n  \"tls_required\": false,\n  \"client_auth_required\": false\n}\n"
    );
}

#[test]
fn a_package_without_indexes_is_normal() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
    assert_run(&build(&dirs, &[]), 0, &[concat!("build: `test_1.0` (ccaas): address cc:9999, TLS off, dial timeout 3s, 0 CouchDB indexes", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))]);
    assert_eq!(tree(dirs.bld()), ["connection.json"]);
}

#[test]
fn templates_are_rendered_from_the_config_env() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src(
        "connection.json",
        r#"{"address": "{{.peername}}-mycc:{{ .port }}", "dial_timeout": "{{.timeout}}"}"#,
    );
    let config = r#"{"peername": "peer0", "port": 9999, "timeout": "5s"}"#;
    assert_run(
        &build(&dirs, &[("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG", config)]),
        0,
        &[concat!("build: `test_1.0` (ccaas): address peer0-mycc:9999, TLS off, dial timeout 5s, 0 CouchDB indexes", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))],
    );
    assert!(bld_file(&dirs, "connection.json").contains("\"address\": \"peer0-mycc:9999\""));
}

#[test]
fn template_naming_a_missing_key_fails() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "{{.peer}}-mycc:9999"}"#);
    let out = build(
        &dirs,
        &[(
            "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
            r#"{"peername": "peer0"}"#,
        )],
    );
    assert_run(&out, 1, &[&format!(
        "build: error: {}: key `address`: template key `.peer` is not in `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` (it has: `peername`)",
        conn_path(&dirs)
    )]);
    assert_bld_empty(&dirs);
}

#[test]
fn template_without_config_env_fails() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "{{.peername}}:9999"}"#);
    assert_stderr_has(
        &build(&dirs, &[]),
        1,
        &[
            "key `address`",
            "is a template but `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` is not set",
        ],
    );
    assert_bld_empty(&dirs);
}

#[test]
fn config_env_that_is_not_json_fails() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
    assert_run(
        &build(&dirs, &[("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG", "peername=peer0")]),
        1,
        &["build: error: `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` is not valid JSON (line 1, column 1): expected a JSON object such as {\"peername\": \"peer0\"}"],
    );
    assert_run(
        &build(&dirs, &[("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG", "[1]")]),
        1,
        &["build: error: `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` must be a JSON object, found an array"],
    );
    assert_bld_empty(&dirs);
}

#[test]
fn seed_string_booleans_are_normalised_with_a_warning() {
    let dirs = PeerDirs::external();
    dirs.write_src(
        "connection.json",
        r#"{"address": "cc:9999", "dial_timeout": "10s", "tls_required": "false"}"#,
    );
    let out = build(&dirs, &[]);
    assert_run(&out, 0, &[
        &format!("build: warning: {}: key `tls_required` is the string `\"false\"`; written as the boolean false, but the peer itself rejects a string here (fails at the first invoke), so fix the source", conn_path(&dirs)),
        concat!("build: `test_1.0` (external): address cc:9999, TLS off, dial timeout 10s, 0 CouchDB indexes", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION")),
    ]);
    assert!(bld_file(&dirs, "connection.json").contains("\"tls_required\": false"));
}

#[test]
fn near_miss_key_gets_did_you_mean() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src(
        "connection.json",
        r#"{"address": "cc:9999", "tls_requried": true}"#,
    );
    assert_stderr_has(&build(&dirs, &[]), 0, &["key `tls_requried` is not a key the peer reads and is ignored; did you mean `tls_required`?"]);
}

/// Each validation rule of the library, as one line on stderr and exit 1.
#[test]
fn each_validation_rule_is_one_line() {
    let ca = json_string(&fixture("tls/ca.pem"));
    let cert = json_string(&fixture("tls/client.pem"));
    let key = json_string(&fixture("tls/client.key"));
    let cases: Vec<(String, &str)> = vec![
        ("{}".into(), "key `address` is missing; the peer needs the chaincode server's `host:port` (e.g. `mycc.example.com:9999`)"),
        (r#"{"address": ""}"#.into(), "key `address` is empty"),
        (r#"{"address": "mycc"}"#.into(), "key `address`: `mycc` has no port (expected `host:port`, e.g. `mycc:9999`)"),
        (r#"{"address": "mycc:99999"}"#.into(), "key `address`: `mycc:99999` has port `99999`, expected a number from 1 to 65535"),
        (r#"{"address": "::1:9999"}"#.into(), "key `address`: `::1:9999` looks like an IPv6 address without brackets"),
        (r#"{"address": "grpc://cc:1"}"#.into(), "key `address`: `grpc://cc:1` is a URL"),
        (r#"{"address": "cc:1", "dial_timeout": "10"}"#.into(), "key `dial_timeout`: `10` has no unit"),
        (r#"{"address": "cc:1", "dial_timeout": "1d"}"#.into(), "key `dial_timeout`: `1d` has unknown unit `d`"),
        (r#"{"address": "cc:1", "dial_timeout": ""}"#.into(), "key `dial_timeout` is an empty string"),
        (r#"{"address": "cc:1", "dial_timeout": null}"#.into(), "key `dial_timeout` is null"),
        (r#"{"address": "cc:1", "tls_required": "yes"}"#.into(), "key `tls_required` must be a boolean"),
        (r#"{"address": "cc:1", "tls_required": true}"#.into(), "key `root_cert` is missing, but `tls_required` is true"),
        (format!(r#"{{"address": "cc:1", "tls_required": true, "client_auth_required": true, "root_cert": {ca}, "client_cert": {cert}}}"#), "key `client_key` is missing, but `client_auth_required` is true"),
        (format!(r#"{{"address": "cc:1", "tls_required": true, "client_auth_required": true, "root_cert": {ca}, "client_key": {key}}}"#), "key `client_cert` is missing"),
        (format!(r#"{{"address": "cc:1", "tls_required": true, "client_auth_required": true, "root_cert": {ca}, "client_cert": {cert}, "client_key": {cert}}}"#), "key `client_key`: expected a `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block, found a `CERTIFICATE` block"),
        (r#"{"address": "cc:1", "tls_required": true, "root_cert": "/etc/ca.pem"}"#.into(), "key `root_cert`: expected one or more `CERTIFICATE` blocks, found text with no `-----BEGIN` line"),
        ("[]".into(), "expected a JSON object at the top level, found an array"),
        ("".into(), "the file is empty (expected a JSON object)"),
        ("{\"address\": \"cc:1\",}".into(), "invalid JSON at line 1, column"),
        ("\u{feff}{\"address\": \"cc:1\"}".into(), "byte order mark"),
    ];
    for (json, line) in cases {
        let dirs = PeerDirs::ccaas();
        dirs.write_src("connection.json", &json);
        let out = build(&dirs, &[]);
        let prefix = format!("build: error: {}: ", conn_path(&dirs));
        let problem_lines: Vec<&String> = out
            .stderr
            .iter()
            .filter(|l| l.starts_with("build: error:"))
            .collect();
        assert!(
            out.code == Some(1)
                && problem_lines.len() == 1
                && problem_lines[0].starts_with(&prefix)
                && problem_lines[0].contains(line),
            "\nconnection.json: {json}\nexpected one line containing: {line}\ngot exit {:?}:\n{}",
            out.code,
            out.stderr.join("\n")
        );
        assert_bld_empty(&dirs);
    }
}

#[test]
fn every_problem_is_listed_at_once() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src(
        "connection.json",
        r#"{"address": "cc", "dial_timeout": "5", "tls_required": true}"#,
    );
    let out = build(&dirs, &[]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr.len(), 3, "{:?}", out.stderr);
}

#[test]
fn missing_connection_json_fails() {
    let dirs = PeerDirs::ccaas();
    assert_run(&build(&dirs, &[]), 1, &[&format!(
        "build: error: {} does not exist: a chaincode-as-a-service package must carry `connection.json` at the top of its code.tar.gz (package it with `ccaas package`)",
        conn_path(&dirs)
    )]);
}

#[test]
fn missing_empty_and_invalid_metadata_json_fail() {
    for (meta, needle) in [
        (None, "No such file or directory"),
        (Some(""), "the file is empty"),
        (Some("{"), "invalid JSON at line 1"),
        (
            Some(r#"{"type": "golang", "label": "x"}"#),
            "has type `golang`, which is not a chaincode-as-a-service package",
        ),
    ] {
        let dirs = PeerDirs::ccaas();
        dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
        let path = dirs.metadata().join("metadata.json");
        match meta {
            None => std::fs::remove_file(&path).unwrap(),
            Some(text) => std::fs::write(&path, text).unwrap(),
        }
        let out = build(&dirs, &[]);
        assert_eq!(out.stderr.len(), 1, "{:?}", out.stderr);
        assert_stderr_has(&out, 1, &["build: error: ", "metadata.json`", needle]);
        assert_bld_empty(&dirs);
    }
}

#[test]
fn missing_directories_fail() {
    let dirs = PeerDirs::ccaas();
    let gone = dirs.scratch.root().join("nowhere");
    let out = run(BUILD, &[&gone, dirs.metadata(), dirs.bld()], &peer_env(&[]));
    assert_run(
        &out,
        1,
        &[&format!(
            "build: error: `{}` is not a directory (the source (SRC) directory argument)",
            gone.display()
        )],
    );
    let out = run(BUILD, &[dirs.src(), dirs.metadata(), &gone], &peer_env(&[]));
    assert_stderr_has(&out, 1, &["(the build output (BLD) directory argument)"]);
}

#[test]
fn bad_index_file_fails_naming_it() {
    for (path, content, needle) in [
        ("META-INF/statedb/couchdb/indexes/bad.json", "{\"index\": ", "statedb/couchdb/indexes/bad.json` is not valid JSON"),
        ("META-INF/statedb/couchdb/indexes/bad.json", r#"{"fields": ["a"]}"#, "statedb/couchdb/indexes/bad.json` is not a CouchDB index definition: unexpected key `fields`"),
        ("META-INF/statedb/couchdb/indexes/notes.txt", "x", "statedb/couchdb/indexes/notes.txt` is not where the peer reads CouchDB indexes"),
        ("metadata/statedb/couchdb/collections/bad.name/indexes/a.json", INDEX, "collections/bad.name/indexes/a.json` is not where the peer reads"),
    ] {
        let dirs = PeerDirs::ccaas();
        dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
        dirs.write_src(path, content);
        let out = build(&dirs, &[]);
        assert_eq!(out.stderr.len(), 1, "{:?}", out.stderr);
        assert_stderr_has(&out, 1, &["build: error: `", needle]);
        assert_bld_empty(&dirs);
    }
}

#[test]
fn same_index_in_both_folders_fails() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
    dirs.write_src("META-INF/statedb/couchdb/indexes/a.json", INDEX);
    dirs.write_src("metadata/statedb/couchdb/indexes/a.json", INDEX);
    assert_run(&build(&dirs, &[]), 1, &["build: error: index `statedb/couchdb/indexes/a.json` is defined in both `META-INF/` and `metadata/`; keep one"]);
}

#[test]
fn other_metadata_files_are_not_released() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
    dirs.write_src("META-INF/README.md", "notes");
    assert_eq!(build(&dirs, &[]).code, Some(0));
    assert_eq!(tree(dirs.bld()), ["connection.json"]);
}

#[test]
fn symlinks_in_src_are_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("ca.pem"), fixture("tls/ca.pem")).unwrap();
    std::fs::create_dir_all(outside.path().join("statedb/couchdb/indexes")).unwrap();
    std::fs::write(outside.path().join("statedb/couchdb/indexes/a.json"), INDEX).unwrap();
    let cases: Vec<(&str, std::path::PathBuf, &str)> = vec![
        ("connection.json", outside.path().join("ca.pem"), "connection.json` is a symbolic link; refusing to follow it"),
        ("tls", outside.path().to_owned(), "tls` is a symbolic link; refusing to follow it"),
        ("META-INF", outside.path().to_owned(), "META-INF` is a symbolic link"),
        ("ca.pem", outside.path().join("ca.pem"), "key `root_cert_file`: `ca.pem` is a symbolic link inside the package; refusing to follow it"),
    ];
    for (name, target, needle) in cases {
        let dirs = PeerDirs::ccaas();
        if name != "connection.json" {
            dirs.write_src(
                "connection.json",
                r#"{"address": "cc:9999", "tls_required": true, "root_cert_file": "ca.pem"}"#,
            );
        }
        if name != "ca.pem" {
            dirs.write_src("ca.pem", &fixture("tls/ca.pem"));
        }
        std::os::unix::fs::symlink(&target, dirs.src().join(name)).unwrap();
        let out = build(&dirs, &[]);
        assert_stderr_has(&out, 1, &[needle]);
        assert_bld_empty(&dirs);
    }
}

/// A connection.json with mutual TLS naming the three files it ships in
/// `tls/`.
fn ship_tls_files(dirs: &PeerDirs) {
    dirs.write_src("connection.json", r#"{"address": "cc:9999", "tls_required": true, "client_auth_required": true, "root_cert_file": "tls/ca.pem", "client_cert_file": "tls/client.pem", "client_key_file": "tls/client.key"}"#);
    for f in ["ca.pem", "client.pem", "client.key"] {
        dirs.write_src(&format!("tls/{f}"), &fixture(&format!("tls/{f}")));
    }
}

#[test]
fn tls_files_are_inlined_from_the_package() {
    let dirs = PeerDirs::ccaas();
    ship_tls_files(&dirs);
    let out = build(&dirs, &[]);
    assert_run(&out, 0, &[concat!("build: `test_1.0` (ccaas): address cc:9999, TLS mutual, dial timeout 3s, 0 CouchDB indexes, 3 TLS files", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))]);
    let json: serde_json::Value =
        serde_json::from_str(&bld_file(&dirs, "connection.json")).unwrap();
    assert_eq!(json["root_cert"], fixture("tls/ca.pem"));
    assert!(json.get("root_cert_file").is_none());
    // The shipped tls/ folder travels too; the key file stays private.
    assert_eq!(mode(&dirs.bld().join("tls/client.key")), 0o600);
    assert_eq!(mode(&dirs.bld().join("tls/ca.pem")), 0o640);
}

#[test]
fn checked_files_are_hard_linked_from_src_not_copied() {
    // SRC and BLD are siblings in the peer's scratch dir: the index and TLS
    // files build has read and checked become BLD's without a data copy,
    // with BLD's modes (the peer extracted them 0644).
    let dirs = PeerDirs::ccaas();
    ship_tls_files(&dirs);
    let index = "META-INF/statedb/couchdb/indexes/owner.json";
    dirs.write_src(index, INDEX);
    let out = build(&dirs, &[]);
    assert_eq!(out.code, Some(0), "{:?}", out.stderr);
    for (relative, want) in [
        (index, 0o640),
        ("tls/ca.pem", 0o640),
        ("tls/client.key", 0o600),
    ] {
        let (src, bld) = (dirs.src().join(relative), dirs.bld().join(relative));
        assert!(same_file(&src, &bld), "{relative} was copied, not linked");
        assert_eq!(mode(&bld), want, "{relative}");
    }
    assert_eq!(bld_file(&dirs, index), INDEX);
    // connection.json is rendered (PEMs inlined): written, not linked.
    assert!(!same_file(
        &dirs.src().join("connection.json"),
        &dirs.bld().join("connection.json")
    ));
}

#[test]
fn tls_files_come_from_the_operators_tls_dir() {
    let ops = tempfile::tempdir().unwrap();
    std::fs::write(ops.path().join("ca.pem"), fixture("tls/ca.pem")).unwrap();
    let dirs = PeerDirs::ccaas();
    dirs.write_src(
        "connection.json",
        r#"{"address": "cc:9999", "tls_required": true, "root_cert_file": "ca.pem"}"#,
    );
    let tls_dir = ops.path().to_str().unwrap();
    assert_eq!(build(&dirs, &[("CCAAS_TLS_DIR", tls_dir)]).code, Some(0));
    assert!(bld_file(&dirs, "connection.json").contains("BEGIN CERTIFICATE"));
    // Without the variable, the same package fails and says where it looked.
    let dirs = PeerDirs::ccaas();
    dirs.write_src(
        "connection.json",
        r#"{"address": "cc:9999", "tls_required": true, "root_cert_file": "ca.pem"}"#,
    );
    assert_stderr_has(
        &build(&dirs, &[]),
        1,
        &[
            "key `root_cert_file`: `ca.pem` was not found in the package",
            "`CCAAS_TLS_DIR` is not set",
        ],
    );
}

#[test]
fn tls_files_outside_are_refused() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999", "tls_required": true, "root_cert_file": "/etc/ssl/certs/ca-certificates.crt"}"#);
    assert_stderr_has(
        &build(&dirs, &[]),
        1,
        &["key `root_cert_file`: `/etc/ssl/certs/ca-certificates.crt` is outside the package"],
    );
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999", "tls_required": true, "root_cert_file": "../metadata/metadata.json"}"#);
    assert_stderr_has(&build(&dirs, &[]), 1, &["`..` is not allowed"]);
}

#[test]
fn rerun_on_a_populated_bld_gives_the_same_result() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", &mtls_connection("127.0.0.1:9999"));
    dirs.write_src("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    assert_eq!(build(&dirs, &[]).code, Some(0));
    let first = tree(dirs.bld());
    let first_json = bld_file(&dirs, "connection.json");
    // A leftover from a killed run and a stale index are cleaned away.
    std::fs::create_dir(dirs.bld().join(".ccaas-build-stale")).unwrap();
    std::fs::write(
        dirs.bld().join("META-INF/statedb/couchdb/indexes/old.json"),
        INDEX,
    )
    .unwrap();
    assert_eq!(build(&dirs, &[]).code, Some(0));
    assert_eq!(tree(dirs.bld()), first);
    assert_eq!(bld_file(&dirs, "connection.json"), first_json);
}

#[test]
fn unwritable_bld_fails_cleanly() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
    // Root ignores permission bits, so use a directory no one can write to.
    let ro = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        ro.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o500),
    )
    .unwrap();
    let writable = std::fs::write(ro.path().join("probe"), b"").is_ok();
    let bld = if writable {
        std::path::PathBuf::from("/sys")
    } else {
        ro.path().to_owned()
    };
    let out = run(BUILD, &[dirs.src(), dirs.metadata(), &bld], &peer_env(&[]));
    assert_eq!(out.stderr.len(), 1, "{:?}", out.stderr);
    assert_stderr_has(
        &out,
        1,
        &[&format!(
            "build: error: cannot create a staging directory in `{}`: ",
            bld.display()
        )],
    );
}

#[test]
fn wrong_argument_count_is_usage() {
    let dirs = PeerDirs::ccaas();
    let usage =
        "build: usage: build SRC METADATA BLD (run by the Fabric peer; see docs/peer-setup.md)";
    assert_run(&run(BUILD, &[], &peer_env(&[])), 2, &[usage]);
    assert_run(
        &run(BUILD, &[dirs.src(), dirs.metadata()], &peer_env(&[])),
        2,
        &[usage],
    );
    assert_run(
        &run(
            BUILD,
            &[dirs.src(), dirs.metadata(), dirs.bld(), dirs.release()],
            &peer_env(&[]),
        ),
        2,
        &[usage],
    );
}

#[test]
fn runs_with_an_empty_environment() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc:9999"}"#);
    let out = run(BUILD, &[dirs.src(), dirs.metadata(), dirs.bld()], &[]);
    assert_run(&out, 0, &[concat!("build: `test_1.0` (ccaas): address cc:9999, TLS off, dial timeout 3s, 0 CouchDB indexes", "; built by ccaas-builder ", env!("CARGO_PKG_VERSION"))]);
}

#[test]
fn nothing_is_written_outside_bld() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", &mtls_connection("127.0.0.1:9999"));
    dirs.write_src("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    let src_before = tree(dirs.src());
    let tmp_before = tree(dirs.tmp.path())
        .into_iter()
        .filter(|p| !p.contains("/bld/"))
        .collect::<Vec<_>>();
    assert_eq!(
        build(&dirs, &[("TMPDIR", dirs.tmp.path().to_str().unwrap())]).code,
        Some(0)
    );
    assert_eq!(tree(dirs.src()), src_before);
    let tmp_after = tree(dirs.tmp.path())
        .into_iter()
        .filter(|p| !p.contains("/bld/"))
        .collect::<Vec<_>>();
    assert_eq!(tmp_after, tmp_before);
}

#[test]
fn every_bad_file_is_listed_at_once() {
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", r#"{"address": "cc"}"#);
    dirs.write_src("META-INF/statedb/couchdb/indexes/a.json", "[]");
    dirs.write_src("META-INF/statedb/couchdb/indexes/b.json", "{");
    let out = build(&dirs, &[]);
    assert_eq!(out.stderr.len(), 3, "{:?}", out.stderr);
    assert_stderr_has(
        &out,
        1,
        &[
            "key `address`: `cc` has no port",
            "indexes/a.json` is not a CouchDB index",
            "indexes/b.json` is not valid JSON",
        ],
    );
    assert_bld_empty(&dirs);
}

// Regression: a PEM key whose newlines became spaces was echoed in full,
// twice, into the peer's log at INFO. Every shape, in every field.
#[test]
fn no_key_shape_in_any_field_reaches_the_peer_log() {
    for (shape, key) in ccaas_testkit::key_shapes() {
        for field in [
            "client_key",
            "client_cert",
            "root_cert",
            "address",
            "domain",
            "dial_timeout",
            "notes",
        ] {
            let dirs = PeerDirs::ccaas();
            let mut conn: serde_json::Value =
                serde_json::from_str(&mtls_connection("cc.example.com:9999")).unwrap();
            conn[field] = serde_json::Value::from(key.as_str());
            dirs.write_src("connection.json", &conn.to_string());
            let result = build(&dirs, &[]);
            let text = result.stderr.join("\n");
            std::panic::catch_unwind(|| assert_no_key(&text))
                .unwrap_or_else(|_| panic!("{shape} in `{field}` leaked into the peer log"));
        }
    }
}

// `--version` alone prints the builder's name and version, so that an
// operator can tell which builder a peer image holds; it is never taken
// for a path, and any other single argument is still a usage error.
#[test]
fn build_answers_version_alone() {
    ccaas_testkit::assert_answers_version_alone(BUILD, "build");
}
