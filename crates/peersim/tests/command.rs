//! The `ccaas-peersim` command for people (issue 20): `--package` instead
//! of `--id`, `--creator` and `--transient`, a ledger kept with `--state`,
//! and dial failures in words, against a `ccaas-shim` server on 127.0.0.1
//! in this process.
#![allow(clippy::unwrap_used)]

mod common;

use ccaas_shim::{Chaincode, ChaincodeServer, Response, ServerConfig, Stub, TlsConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The ID of fixtures/sample/basic_1.0.tgz (as `ccaas id` prints it).
const SAMPLE_ID: &str =
    "basic_1.0:cf0a37553875d25febecb7d772bb661e0645f6c5817f5c39d63bf7a0dd4c3bef";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

/// put K V, get K, whoami (the creator's MSP ID), transient K.
struct Kv;

impl Chaincode for Kv {
    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, args) = stub.function_and_parameters();
        let done = match (function.as_str(), args.as_slice()) {
            ("put", [k, v]) => stub.put_state(k, v.clone()).await.map(|()| b"OK".to_vec()),
            ("get", [k]) => stub.get_state(k).await.map(Option::unwrap_or_default),
            ("whoami", []) => Ok(stub
                .creator()
                .map(|c| c.mspid.clone().into_bytes())
                .unwrap_or_default()),
            ("transient", [k]) => Ok(stub.transient().get(k).cloned().unwrap_or_default()),
            _ => return Response::error(format!("unknown function `{function}`")),
        };
        match done {
            Ok(payload) => Response::success(payload),
            Err(e) => Response::error(e.to_string()),
        }
    }
}

/// Serves `Kv` as `id` on 127.0.0.1 (TLS with the fixtures' server
/// certificate when `tls`, requiring a client certificate when `mutual`)
/// for the rest of the test.
fn serve(id: &str, tls: bool, mutual: bool) -> SocketAddr {
    let mut config = ServerConfig::new(id, "127.0.0.1:0".parse().unwrap());
    if tls {
        let mut t = TlsConfig::new(fixture("tls/server.pem"), fixture("tls/server.key"));
        if mutual {
            t = t.with_client_ca(fixture("tls/ca.pem"));
        }
        config.tls = Some(t);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let bound = ChaincodeServer::new(config, Kv).bind().await.unwrap();
            tx.send(bound.local_addr()).unwrap();
            let _ = bound.serve().await;
        });
    });
    rx.recv().unwrap()
}

fn peersim(args: &[&str]) -> (i32, String, String) {
    common::run(env!("CARGO_BIN_EXE_ccaas-peersim"), args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_package_gives_the_id_and_the_state_file_keeps_the_ledger() {
    let addr = serve(SAMPLE_ID, false, false).to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("ledger.json");
    let package = fixture("sample/basic_1.0.tgz");
    let base = [
        "--address",
        &addr,
        "--package",
        s(&package),
        "--state",
        s(&state),
    ];

    let (code, stdout, stderr) = peersim(&[&base[..], &["invoke", "put", "k", "v"]].concat());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["format"], "ccaas-peersim-state");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["public"][0]["key"], "k");

    // A second run, a new process: the value is still there.
    let (code, stdout, stderr) = peersim(&[&base[..], &["invoke", "get", "k"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "COMPLETED status=200 message=\"\" payload=\"v\"\n");

    // A state file of another version is refused in words, and kept.
    std::fs::write(&state, r#"{"format": "ccaas-peersim-state", "version": 9}"#).unwrap();
    let (code, _, stderr) = peersim(&[&base[..], &["invoke", "get", "k"]].concat());
    assert_eq!(code, 1);
    assert!(stderr.contains("`version` is 9"), "{stderr}");
    assert!(std::fs::read_to_string(&state)
        .unwrap()
        .contains("\"version\": 9"));
}

#[test]
fn id_and_package_are_one_or_the_other() {
    let (code, _, stderr) = peersim(&["--address", "127.0.0.1:1", "invoke", "ping"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = peersim(&[
        "--address",
        "127.0.0.1:1",
        "--id",
        "x",
        "--package",
        "p.tgz",
        "invoke",
        "ping",
    ]);
    assert_eq!(code, 2);
    let (code, _, stderr) = peersim(&[
        "--address",
        "127.0.0.1:1",
        "--package",
        s(&fixture("sample/connection.json")),
        "invoke",
        "ping",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("not a chaincode package the peer would install"),
        "{stderr}"
    );
}

#[test]
fn creator_and_transient_reach_the_chaincode() {
    let addr = serve("kv_1.0:ab12", false, false).to_string();
    let cert = fixture("tls/server.pem");
    let creator = format!("Org2MSP={}", s(&cert));
    let (code, stdout, stderr) = peersim(&[
        "--address",
        &addr,
        "--id",
        "kv_1.0:ab12",
        "--creator",
        &creator,
        "--transient",
        "price=100",
        "invoke",
        "whoami",
        "--",
        "transient",
        "price",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "COMPLETED status=200 message=\"\" payload=\"Org2MSP\"\nCOMPLETED status=200 message=\"\" payload=\"100\"\n"
    );
    // A private key for a certificate: refused, not shown.
    let key = format!("Org2MSP={}", s(&fixture("tls/client.key")));
    let (code, _, stderr) = peersim(&[
        "--address",
        &addr,
        "--id",
        "kv_1.0:ab12",
        "--creator",
        &key,
        "invoke",
        "whoami",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("found a private key (not shown)"),
        "{stderr}"
    );
    assert!(!stderr.contains("BEGIN"), "{stderr}");
}

#[test]
fn a_missing_client_certificate_is_said_in_words() {
    let addr = serve("kv_1.0:ab12", true, true).to_string();
    let (code, _, stderr) = peersim(&[
        "--address",
        &addr,
        "--id",
        "kv_1.0:ab12",
        "--tls-root-cert",
        s(&fixture("tls/ca.pem")),
        "invoke",
        "ping",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("ccaas-peersim: error: the server requires a client certificate"),
        "{stderr}"
    );
    assert!(stderr.contains("--client-cert"), "{stderr}");
    for dump in ["tonic::transport::Error", "code: '", "Unknown error"] {
        assert!(!stderr.contains(dump), "{stderr}");
    }
}

#[test]
fn plain_text_to_a_tls_server_is_said_in_words() {
    let addr = serve("kv_1.0:ab12", true, false).to_string();
    let (code, _, stderr) = peersim(&["--address", &addr, "--id", "kv_1.0:ab12", "invoke", "ping"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("ccaas-peersim: error: TLS is on in the server and off"),
        "{stderr}"
    );
    assert!(stderr.contains("--tls-root-cert"), "{stderr}");
    assert!(!stderr.contains("GoAway"), "{stderr}");
}

#[test]
fn a_wrong_id_is_refused_with_the_fix() {
    let addr = serve("kv_1.0:ab12", false, false).to_string();
    let (code, stdout, stderr) =
        peersim(&["--address", &addr, "--id", "kv_1.0:cd34", "invoke", "ping"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "REFUSED registered_as=\"kv_1.0:ab12\"\n");
    assert!(stderr.contains("CHAINCODE_ID=kv_1.0:cd34"), "{stderr}");
}
