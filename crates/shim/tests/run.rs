//! `ccaas_shim::run`: a chaincode binary that cannot serve says why, cause
//! and all, in one line on stderr, and exits 1 (2 for its configuration).
//! The `kv` example run as an operator runs it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fixture, Kv, ID};
use std::time::Duration;

/// Starts kv with `vars`, waits for it to exit, and returns its exit code
/// and the `kv: error:` line.
fn fails(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut kv = Kv::start(vars);
    let status = kv.wait_exit(Duration::from_secs(10)).unwrap();
    let line = kv
        .find("kv: error: ")
        .unwrap_or_else(|| panic!("no error line: {:?}", kv.lines()));
    (status.code(), line)
}

// Regression: the guide's `main` printed `{e}`, "cannot listen on ..."
// without the reason.
#[test]
fn a_port_in_use_says_address_already_in_use_and_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, line) = fails(&[("CHAINCODE_ID", ID), ("CHAINCODE_SERVER_ADDRESS", &address)]);
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(
        line,
        format!("kv: error: cannot listen on {address}: Address already in use (os error 98)")
    );
}

// Regression: "cannot open CHAINCODE_PACKAGE" without why.
#[test]
fn a_missing_package_file_says_why_and_exits_2() {
    let (code, line) = fails(&[
        ("CHAINCODE_PACKAGE", "/nonexistent/mycc.tgz"),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
    ]);
    assert_eq!(code, Some(2), "{line}");
    assert!(
        line.starts_with("kv: error: cannot open CHAINCODE_PACKAGE `/nonexistent/mycc.tgz`"),
        "{line}"
    );
    assert!(
        line.ends_with(": No such file or directory (os error 2)"),
        "{line}"
    );
}

// Regression: "cannot read the TLS private key" without why.
#[test]
fn an_unreadable_private_key_says_why_and_exits_2() {
    // A directory where the key belongs: unreadable even for root.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().display().to_string();
    let cert = fixture("tls/server.pem").display().to_string();
    let (code, line) = fails(&[
        ("CHAINCODE_ID", ID),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
        ("CHAINCODE_TLS_CERT", &cert),
        ("CHAINCODE_TLS_KEY", &key),
    ]);
    assert_eq!(code, Some(2), "{line}");
    assert_eq!(
        line,
        format!("kv: error: cannot read the TLS private key `{key}`: Is a directory (os error 21)")
    );
}

#[test]
fn a_setting_of_the_chaincode_s_own_exits_2() {
    let (code, line) = fails(&[
        ("CHAINCODE_ID", ID),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
        ("KV_WORKER_THREADS", "many"),
    ]);
    assert_eq!(code, Some(2), "{line}");
    assert_eq!(
        line,
        "kv: error: KV_WORKER_THREADS: expected a number of threads from 1, found `many`"
    );
}
