//! `bin/detect SRC METADATA`, run as the peer runs it.
#![allow(clippy::unwrap_used)]

use ccaas_testkit::{assert_run, assert_stderr_has, peer_env, run, PeerDirs};
use std::path::Path;

const DETECT: &str = env!("CARGO_BIN_EXE_detect");

fn detect(dirs: &PeerDirs, extra_env: &[(&str, &str)]) -> ccaas_core::peer::CommandRun {
    run(DETECT, &[dirs.src(), dirs.metadata()], &peer_env(extra_env))
}

#[test]
fn claims_ccaas() {
    assert_run(
        &detect(&PeerDirs::ccaas(), &[]),
        0,
        &["detect: claimed `test_1.0` (type ccaas)"],
    );
}

#[test]
fn claims_type_case_insensitively() {
    let dirs = PeerDirs::new(r#"{"type":"CCaaS","label":"x"}"#);
    assert_run(
        &detect(&dirs, &[]),
        0,
        &["detect: claimed `x` (type ccaas)"],
    );
}

#[test]
fn claims_external() {
    assert_run(
        &detect(&PeerDirs::external(), &[]),
        0,
        &["detect: claimed `test_1.0` (type external)"],
    );
}

#[test]
fn declines_other_types_without_a_word() {
    for t in ["golang", "node", "java", "k8s", ""] {
        let dirs = PeerDirs::new(&format!(r#"{{"type":"{t}","label":"x"}}"#));
        assert_run(&detect(&dirs, &[]), 1, &[]);
    }
}

#[test]
fn detect_types_narrow_the_claim() {
    assert_run(
        &detect(&PeerDirs::external(), &[("CCAAS_DETECT_TYPES", "ccaas")]),
        1,
        &[],
    );
    assert_run(
        &detect(&PeerDirs::ccaas(), &[("CCAAS_DETECT_TYPES", "ccaas")]),
        0,
        &["detect: claimed `test_1.0` (type ccaas)"],
    );
    assert_run(
        &detect(
            &PeerDirs::external(),
            &[("CCAAS_DETECT_TYPES", " external , ccaas")],
        ),
        0,
        &["detect: claimed `test_1.0` (type external)"],
    );
}

#[test]
fn bad_detect_types_is_one_line() {
    assert_run(
        &detect(&PeerDirs::ccaas(), &[("CCAAS_DETECT_TYPES", "ccaas,golang")]),
        1,
        &["detect: declined: `CCAAS_DETECT_TYPES`: `golang` is not a chaincode-as-a-service type (expected `ccaas` or `external`)"],
    );
}

#[test]
fn missing_metadata_json_is_one_line() {
    let dirs = PeerDirs::ccaas();
    std::fs::remove_file(dirs.metadata().join("metadata.json")).unwrap();
    let out = detect(&dirs, &[]);
    assert_eq!(out.stderr.len(), 1, "{:?}", out.stderr);
    assert_stderr_has(
        &out,
        1,
        &[
            "detect: declined: cannot read `",
            "metadata.json`",
            "No such file",
        ],
    );
}

#[test]
fn empty_metadata_json_is_one_line() {
    let out = detect(&PeerDirs::new(""), &[]);
    assert_eq!(out.stderr.len(), 1);
    assert_stderr_has(
        &out,
        1,
        &["metadata.json` is invalid: `metadata.json`: the file is empty"],
    );
}

#[test]
fn invalid_metadata_json_is_one_line_with_position() {
    let out = detect(&PeerDirs::new("{\"type\": \"ccaas\",\n}"), &[]);
    assert_eq!(out.stderr.len(), 1);
    assert_stderr_has(&out, 1, &["invalid JSON at line 2, column 1"]);
}

#[test]
fn metadata_of_wrong_shape_is_one_line() {
    let out = detect(&PeerDirs::new(r#"{"type": ["ccaas"]}"#), &[]);
    assert_stderr_has(&out, 1, &["key `type` must be a string, found an array"]);
}

#[test]
fn claims_a_package_without_connection_json() {
    // build explains the problem; declining would hide it behind "no builder".
    let dirs = PeerDirs::ccaas();
    assert!(!dirs.src().join("connection.json").exists());
    assert_eq!(detect(&dirs, &[]).code, Some(0));
}

#[test]
fn wrong_argument_count_is_usage() {
    let dirs = PeerDirs::ccaas();
    let usage =
        "detect: usage: detect SRC METADATA (run by the Fabric peer; see docs/peer-setup.md)";
    assert_run(&run(DETECT, &[], &peer_env(&[])), 2, &[usage]);
    assert_run(
        &run(DETECT, &[dirs.metadata()], &peer_env(&[])),
        2,
        &[usage],
    );
    assert_run(
        &run(
            DETECT,
            &[dirs.src(), dirs.metadata(), dirs.bld()],
            &peer_env(&[]),
        ),
        2,
        &[usage],
    );
}

#[test]
fn runs_with_an_empty_environment() {
    let dirs = PeerDirs::ccaas();
    assert_run(
        &run(DETECT, &[dirs.src(), dirs.metadata()], &[]),
        0,
        &["detect: claimed `test_1.0` (type ccaas)"],
    );
}

#[test]
fn writes_nothing() {
    let dirs = PeerDirs::ccaas();
    let before = ccaas_testkit::tree(dirs.scratch.root());
    detect(&dirs, &[]);
    assert_eq!(ccaas_testkit::tree(dirs.scratch.root()), before);
    assert!(Path::new(DETECT).exists());
}

// `--version` alone prints the builder's name and version, so that an
// operator can tell which builder a peer image holds; it is never taken
// for a path, and any other single argument is still a usage error.
#[test]
fn detect_answers_version_alone() {
    ccaas_testkit::assert_answers_version_alone(DETECT, "detect");
}
