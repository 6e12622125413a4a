//! The binary that cannot serve says why, cause and all, in one line on
//! stderr (`ccaas_shim::run::main_with`), as an operator sees it.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

const ID: &str = "basic_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Runs the binary with only `vars`; its exit code and stderr.
fn run(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_asset-transfer-basic"))
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Regression: main printed `{e}`, "cannot listen on ..." without the reason.
#[test]
fn a_port_in_use_is_reported_with_its_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, stderr) = run(&[("CHAINCODE_ID", ID), ("CHAINCODE_SERVER_ADDRESS", &address)]);
    assert_eq!(code, Some(1), "{stderr}");
    let expected = format!(
        "asset-transfer-basic: error: cannot listen on {address}: Address already in use (os error 98)\n"
    );
    assert!(stderr.ends_with(&expected), "{stderr}");
}

#[test]
fn a_missing_package_file_is_reported_with_its_cause() {
    let (code, stderr) = run(&[
        ("CHAINCODE_PACKAGE", "/nonexistent/basic.tgz"),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "asset-transfer-basic: error: cannot open CHAINCODE_PACKAGE `/nonexistent/basic.tgz`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("No such file or directory (os error 2)"),
        "{stderr}"
    );
}
