//! `bin/release BLD RELEASE`, run as the peer runs it.
#![allow(clippy::unwrap_used)]

use ccaas_core::peer::CommandRun;
use ccaas_testkit::{
    assert_no_key, assert_run, assert_stderr_has, fixture, mode, mtls_connection, peer_env, run,
    same_file, tree, PeerDirs,
};

const RELEASE: &str = env!("CARGO_BIN_EXE_release");
const INDEX: &str =
    r#"{"index":{"fields":["owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;

fn release(dirs: &PeerDirs) -> CommandRun {
    run(RELEASE, &[dirs.bld(), dirs.release()], &peer_env(&[]))
}

fn released(dirs: &PeerDirs, relative: &str) -> String {
    std::fs::read_to_string(dirs.release().join(relative)).unwrap()
}

#[test]
fn releases_connection_indexes_and_tls() {
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", &mtls_connection("127.0.0.1:9999"));
    dirs.write_bld("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    dirs.write_bld(
        "META-INF/statedb/couchdb/collections/private_1/indexes/size.json",
        INDEX,
    );
    dirs.write_bld("tls/client.key", &fixture("tls/client.key"));
    dirs.write_bld("tls/ca.pem", &fixture("tls/ca.pem"));
    let out = release(&dirs);
    assert_run(&out, 0, &["release: address 127.0.0.1:9999, TLS mutual, dial timeout 10s, 2 CouchDB indexes, 2 TLS files"]);
    assert_eq!(
        tree(dirs.release()),
        [
            "chaincode/",
            "chaincode/server/",
            "chaincode/server/connection.json",
            "chaincode/server/tls/",
            "chaincode/server/tls/ca.pem",
            "chaincode/server/tls/client.key",
            "statedb/",
            "statedb/couchdb/",
            "statedb/couchdb/collections/",
            "statedb/couchdb/collections/private_1/",
            "statedb/couchdb/collections/private_1/indexes/",
            "statedb/couchdb/collections/private_1/indexes/size.json",
            "statedb/couchdb/indexes/",
            "statedb/couchdb/indexes/owner.json",
        ]
    );
    assert_eq!(
        mode(&dirs.release().join("chaincode/server/connection.json")),
        0o600
    );
    assert_eq!(
        mode(&dirs.release().join("chaincode/server/tls/client.key")),
        0o600
    );
    assert_eq!(
        mode(&dirs.release().join("chaincode/server/tls/ca.pem")),
        0o640
    );
    assert_eq!(mode(&dirs.release().join("chaincode")), 0o750);
    assert_eq!(mode(&dirs.release().join("statedb/couchdb/indexes")), 0o750);
    assert_eq!(released(&dirs, "statedb/couchdb/indexes/owner.json"), INDEX);
    let json: serde_json::Value =
        serde_json::from_str(&released(&dirs, "chaincode/server/connection.json")).unwrap();
    assert_eq!(json["address"], "127.0.0.1:9999");
    assert_eq!(json["dial_timeout"], "10s");
    assert_no_key(&out.stderr.join("\n"));
}

#[test]
fn files_of_this_builders_bld_are_hard_linked_not_copied() {
    // BLD and RELEASE are siblings in the peer's scratch dir. A BLD written
    // by this builder's build step: its connection.json is already in the
    // released form, so it too is linked.
    let dirs = PeerDirs::ccaas();
    dirs.write_src("connection.json", &mtls_connection("127.0.0.1:9999"));
    dirs.write_src("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    dirs.write_src("tls/ca.pem", &fixture("tls/ca.pem"));
    let settings = ccaas_core::steps::BuildSettings::default();
    ccaas_core::steps::build(dirs.src(), dirs.metadata(), dirs.bld(), &settings).unwrap();
    let out = release(&dirs);
    assert_eq!(out.code, Some(0), "{:?}", out.stderr);
    for (built, released, want) in [
        (
            "META-INF/statedb/couchdb/indexes/owner.json",
            "statedb/couchdb/indexes/owner.json",
            0o640,
        ),
        ("tls/ca.pem", "chaincode/server/tls/ca.pem", 0o640),
        ("connection.json", "chaincode/server/connection.json", 0o600),
    ] {
        let released = dirs.release().join(released);
        assert!(
            same_file(&dirs.bld().join(built), &released),
            "{built} was copied, not linked"
        );
        assert_eq!(mode(&released), want, "{built}");
    }
    assert_eq!(released(&dirs, "statedb/couchdb/indexes/owner.json"), INDEX);
}

#[test]
fn a_hand_written_connection_json_is_released_in_canonical_form() {
    // Not as this builder writes it (keys out of order, spaces): released
    // re-serialised, so written, not linked.
    let dirs = PeerDirs::ccaas();
    dirs.write_bld(
        "connection.json",
        r#"{ "dial_timeout": "10s", "address": "127.0.0.1:9999" }"#,
    );
    let out = release(&dirs);
    assert_eq!(out.code, Some(0), "{:?}", out.stderr);
    let released = dirs.release().join("chaincode/server/connection.json");
    assert!(!same_file(&dirs.bld().join("connection.json"), &released));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&released).unwrap()).unwrap();
    assert_eq!(json["address"], "127.0.0.1:9999");
    assert_eq!(json["tls_required"], false, "the defaults are written out");
}

#[test]
fn releases_a_bld_of_the_v2_0_sample_scripts() {
    // The seed's build copies metadata/ as is; its release would copy
    // metadata/* to the release root.
    let dirs = PeerDirs::external();
    dirs.write_bld(
        "connection.json",
        r#"{"address": "cc:9999", "dial_timeout": "10s", "tls_required": false}"#,
    );
    dirs.write_bld("metadata/statedb/couchdb/indexes/owner.json", INDEX);
    assert_run(
        &release(&dirs),
        0,
        &["release: address cc:9999, TLS off, dial timeout 10s, 1 CouchDB index"],
    );
    assert_eq!(released(&dirs, "statedb/couchdb/indexes/owner.json"), INDEX);
}

// Regression: Fabric's own ccaas builder writes `"dial_timeout": ""` when the
// source has none, which the peer rejects at the first invoke.
#[test]
fn refuses_the_empty_dial_timeout_fabrics_builder_writes() {
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", r#"{"address":"cc:9999","dial_timeout":"","tls_required":false,"client_auth_required":false,"root_cert":"","client_key":"","client_cert":""}"#);
    let out = release(&dirs);
    assert_stderr_has(&out, 1, &["release: error: `", "connection.json`: key `dial_timeout` is an empty string (Fabric's own ccaas builder writes this when `dial_timeout` is absent)"]);
    assert_eq!(tree(dirs.release()), Vec::<String>::new());
}

#[test]
fn a_template_left_in_bld_is_reported_as_unrendered_whatever_the_environment() {
    // A BLD our build did not write: release renders nothing, with or
    // without the config in its environment, and says so.
    for env in [
        vec![],
        vec![(
            "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
            r#"{"peername":"peer0"}"#,
        )],
    ] {
        let dirs = PeerDirs::ccaas();
        dirs.write_bld("connection.json", r#"{"address": "{{.peername}}-cc:9999"}"#);
        let out = run(RELEASE, &[dirs.bld(), dirs.release()], &peer_env(&env));
        assert_run(&out, 1, &[&format!(
            "release: error: `{}`: key `address` is still a template (`{{{{.peername}}}}-cc:9999`): only the build step renders templates (this BLD was not written by it; rebuild)",
            dirs.bld().join("connection.json").display()
        )]);
        assert_eq!(tree(dirs.release()), Vec::<String>::new());
    }
}

#[test]
fn missing_connection_json_fails_with_one_line() {
    let dirs = PeerDirs::ccaas();
    assert_run(&release(&dirs), 1, &[&format!(
        "release: error: `{}` does not exist: the build step did not complete (re-run the install to rebuild)",
        dirs.bld().join("connection.json").display()
    )]);
    assert_eq!(tree(dirs.release()), Vec::<String>::new());
}

#[test]
fn invalid_index_in_bld_fails() {
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", r#"{"address": "cc:9999"}"#);
    dirs.write_bld("META-INF/statedb/couchdb/indexes/bad.json", "[]");
    assert_stderr_has(&release(&dirs), 1, &["statedb/couchdb/indexes/bad.json` is not a CouchDB index definition: expected a JSON object, found an array"]);
    assert_eq!(tree(dirs.release()), Vec::<String>::new());
}

#[test]
fn rerun_gives_the_same_result_and_drops_stale_files() {
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", r#"{"address": "cc:9999"}"#);
    dirs.write_bld("META-INF/statedb/couchdb/indexes/owner.json", INDEX);
    assert_eq!(release(&dirs).code, Some(0));
    let first = tree(dirs.release());
    std::fs::write(
        dirs.release().join("statedb/couchdb/indexes/stale.json"),
        INDEX,
    )
    .unwrap();
    std::fs::create_dir(dirs.release().join(".ccaas-release-killed")).unwrap();
    assert_eq!(release(&dirs).code, Some(0));
    assert_eq!(tree(dirs.release()), first);
}

#[test]
fn wrong_argument_count_is_usage() {
    let dirs = PeerDirs::ccaas();
    let usage =
        "release: usage: release BLD RELEASE (run by the Fabric peer; see docs/peer-setup.md)";
    assert_run(&run(RELEASE, &[], &peer_env(&[])), 2, &[usage]);
    assert_run(&run(RELEASE, &[dirs.bld()], &peer_env(&[])), 2, &[usage]);
    assert_run(
        &run(
            RELEASE,
            &[dirs.bld(), dirs.release(), dirs.src()],
            &peer_env(&[]),
        ),
        2,
        &[usage],
    );
}

#[test]
fn missing_release_dir_fails() {
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", r#"{"address": "cc:9999"}"#);
    let gone = dirs.scratch.root().join("gone");
    assert_run(
        &run(RELEASE, &[dirs.bld(), &gone], &peer_env(&[])),
        1,
        &[&format!(
            "release: error: `{}` is not a directory (the release (RELEASE) directory argument)",
            gone.display()
        )],
    );
}

#[test]
fn runs_with_an_empty_environment() {
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", r#"{"address": "cc:9999"}"#);
    assert_run(
        &run(RELEASE, &[dirs.bld(), dirs.release()], &[]),
        0,
        &["release: address cc:9999, TLS off, dial timeout 3s, 0 CouchDB indexes"],
    );
}

#[test]
fn symlink_in_bld_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let dirs = PeerDirs::ccaas();
    dirs.write_bld("connection.json", r#"{"address": "cc:9999"}"#);
    std::os::unix::fs::symlink(outside.path(), dirs.bld().join("tls")).unwrap();
    assert_stderr_has(
        &release(&dirs),
        1,
        &["tls` is a symbolic link; refusing to follow it"],
    );
    assert_eq!(tree(dirs.release()), Vec::<String>::new());
}

// `--version` alone prints the builder's name and version, so that an
// operator can tell which builder a peer image holds; it is never taken
// for a path, and any other single argument is still a usage error.
#[test]
fn release_answers_version_alone() {
    ccaas_testkit::assert_answers_version_alone(RELEASE, "release");
}
