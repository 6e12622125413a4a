//! The `asset-transfer-basic` binary as a peer finds it: a process
//! configured by its environment, served by `ChaincodeServer::from_env`,
//! dialled over TCP (and mutual TLS) by the peer simulator.
#![allow(clippy::unwrap_used)]

use ccaas_core::Connection;
use ccaas_peersim::{DialOptions, Simulator};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ID: &str = "basic_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(relative)
}

/// The binary, killed when dropped.
struct Served {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Starts the binary with only `vars` and waits for its address.
    fn start(vars: &[(&str, &str)]) -> (Served, SocketAddr) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_asset-transfer-basic"));
        command
            .env_clear()
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let served = Served { child, lines };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let address = served.lines.lock().unwrap().iter().find_map(|l| {
                l.split("address=")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|a| a.parse().ok())
            });
            if let Some(address) = address {
                return (served, address);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "the server did not start: {:?}",
            served.lines.lock().unwrap()
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn round_trip(connection: &Connection) {
    let peer = Simulator::new(ID)
        .connect(connection, &DialOptions::default())
        .await
        .unwrap();
    assert!(peer
        .invoke("mychannel", ["InitLedger"])
        .await
        .unwrap()
        .is_success());
    let transfer = peer
        .invoke("mychannel", ["TransferAsset", "asset6", "Christopher"])
        .await
        .unwrap();
    assert_eq!(transfer.payload(), b"Michel");
    let read = peer
        .invoke("mychannel", ["ReadAsset", "asset6"])
        .await
        .unwrap();
    assert_eq!(
        read.payload(),
        br#"{"AppraisedValue":800,"Color":"white","ID":"asset6","Owner":"Christopher","Size":15}"#
    );
    let missing = peer
        .invoke("mychannel", ["ReadAsset", "asset7"])
        .await
        .unwrap();
    assert_eq!(
        missing.response().map(|r| (r.status, r.message.as_str())),
        Some((500, "the asset asset7 does not exist"))
    );
    let metadata = peer
        .invoke("mychannel", ["org.hyperledger.fabric:GetMetadata"])
        .await
        .unwrap();
    let metadata: serde_json::Value = serde_json::from_slice(metadata.payload()).unwrap();
    assert_eq!(metadata["contracts"]["SmartContract"]["default"], true);
}

#[tokio::test]
async fn served_over_tcp_from_the_environment() {
    let (_served, address) = Served::start(&[
        ("CHAINCODE_ID", ID),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
    ]);
    let connection = Connection {
        address: address.to_string(),
        ..Default::default()
    };
    round_trip(&connection).await;
}

#[tokio::test]
async fn served_over_mutual_tls_with_contract_api_gos_variables() {
    let text = |f: &str| std::fs::read_to_string(fixture(f)).unwrap();
    let path = |f: &str| fixture(f).display().to_string();
    // The variables a fabric-contract-api-go chaincode reads.
    let (_served, address) = Served::start(&[
        ("CORE_CHAINCODE_ID_NAME", ID),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
        ("CORE_PEER_TLS_ENABLED", "true"),
        ("CORE_TLS_CLIENT_CERT_FILE", &path("tls/server.pem")),
        ("CORE_TLS_CLIENT_KEY_FILE", &path("tls/server.key")),
        ("CORE_PEER_TLS_ROOTCERT_FILE", &path("tls/ca.pem")),
    ]);
    let connection = Connection {
        address: address.to_string(),
        tls_required: true,
        client_auth_required: true,
        root_cert: Some(text("tls/ca.pem")),
        client_cert: Some(text("tls/client.pem")),
        client_key: Some(ccaas_core::connection::Secret(text("tls/client.key"))),
        ..Default::default()
    };
    round_trip(&connection).await;
}
