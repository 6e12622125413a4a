//! The `private-asset` example as a peer sees it: a process configured by
//! its environment, dialled over TCP by the peer simulator, with the
//! private data collection `assetPrices` defined.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use ccaas_peersim::{Creator, DialOptions, Session, Simulator, TxOutcome};
use common::{fixture, plain_connection, CHANNEL, ID};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The example, started as the peer's builder would leave it running.
struct Served {
    child: Child,
    address: Option<SocketAddr>,
}

impl Served {
    fn start() -> Served {
        let exe = std::env::current_exe().unwrap();
        let binary = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples")
            .join("private-asset");
        let mut child = Command::new(&binary)
            .env_clear()
            .env("CHAINCODE_ID", ID)
            .env("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let pipe = child.stderr.take().unwrap();
        // Dropped (so killed and waited for) on every path from here.
        let mut served = Served {
            child,
            address: None,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("private-asset did not say where it listens");
            let address = line
                .split("address=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok());
            if line.contains("chaincode server listening") && address.is_some() {
                served.address = address;
                return served;
            }
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PRICES: &str = "assetPrices";

fn alice() -> Creator {
    Creator::new("Org1MSP", std::fs::read(fixture("cid/user1.pem")).unwrap())
}

fn bob() -> Creator {
    Creator::new(
        "Org2MSP",
        std::fs::read(fixture("cid/escaping.pem")).unwrap(),
    )
}

/// user1.pem's ID in Go's format (the golden vector of cid's tests).
const ALICE_ID: &str = "eDUwOTo6Q049dXNlcjEsT1U9Y2xpZW50K09VPW9yZzErT1U9ZGVwYXJ0bWVudDEsTz1IeXBlcmxlZGdlcixTVD1Ob3J0aCBDYXJvbGluYSxDPVVTOjpDTj1jYS5vcmcxLmV4YW1wbGUuY29tLE89b3JnMS5leGFtcGxlLmNvbSxMPUR1cmhhbSxTVD1Ob3J0aCBDYXJvbGluYSxDPVVT";
/// escaping.pem's.
const BOB_ID: &str = "eDUwOTo6Q049c2F5IFwiaGlcIiBcXCBcPGJcPlw7LE9VPVJcK0QrT1U9XCN0YWcrT1U9eC95L3osTz1BY21lXCwgSW5jLixMPVwgc3BhY2VkXCAsU1Q9YT1iLEM9VVM6OkNOPWNhLm9yZzEuZXhhbXBsZS5jb20sTz1vcmcxLmV4YW1wbGUuY29tLEw9RHVyaGFtLFNUPU5vcnRoIENhcm9saW5hLEM9VVM=";

async fn run(
    session: &Session,
    who: Creator,
    args: &[&str],
    transient: Option<&str>,
) -> Result<String, String> {
    let mut invocation = session.invoke(CHANNEL, args.iter().copied()).creator(who);
    if let Some(price) = transient {
        invocation = invocation.transient("price", price);
    }
    match invocation.await.unwrap() {
        outcome if outcome.is_success() => {
            Ok(String::from_utf8(outcome.payload().to_vec()).unwrap())
        }
        TxOutcome::Completed { response, .. } => Err(response.message),
        other => panic!("{args:?}: {other:?}"),
    }
}

#[tokio::test]
async fn an_asset_with_a_private_price_from_creation_to_purge() {
    let served = Served::start();
    let session = Simulator::new(ID)
        .collections([PRICES])
        .connect(
            &plain_connection(served.address.unwrap()),
            &DialOptions::default(),
        )
        .await
        .unwrap();

    // The price comes from the transient map, never from the arguments.
    assert_eq!(
        run(&session, alice(), &["create", "asset1", "blue"], None).await,
        Err("the price must be in the transient map under `price`, as a decimal number".into())
    );
    assert_eq!(
        run(
            &session,
            alice(),
            &["create", "asset1", "blue"],
            Some("1500")
        )
        .await,
        Ok("OK".into())
    );
    let public: serde_json::Value =
        serde_json::from_slice(&session.get_state(CHANNEL, "asset1").unwrap()).unwrap();
    assert_eq!(
        public,
        serde_json::json!({"id": "asset1", "color": "blue", "owner": ALICE_ID})
    );
    assert_eq!(
        session
            .get_private_data(CHANNEL, PRICES, "asset1")
            .as_deref(),
        Some(&b"1500"[..])
    );
    // The ledger's hash of the private value is SHA-256 of its bytes.
    let hash = Sha256::digest(b"1500").to_vec();
    assert_eq!(session.private_hash(CHANNEL, PRICES, "asset1"), Some(hash));
    assert_eq!(
        run(&session, alice(), &["create", "asset1", "red"], Some("1")).await,
        Err("asset `asset1` already exists".into())
    );

    assert_eq!(
        run(&session, bob(), &["price", "asset1"], None).await,
        Ok("1500".into())
    );
    assert_eq!(
        run(&session, bob(), &["verify", "asset1", "1500"], None).await,
        Ok("true".into())
    );
    assert_eq!(
        run(&session, bob(), &["verify", "asset1", "1499"], None).await,
        Ok("false".into())
    );

    // Only the owner transfers and deletes.
    assert_eq!(
        run(&session, bob(), &["transfer", "asset1", BOB_ID], None).await,
        Err("only the owner of asset `asset1` may do that".into())
    );
    assert_eq!(
        run(&session, alice(), &["transfer", "asset1", BOB_ID], None).await,
        Ok("OK".into())
    );
    let record = run(&session, alice(), &["read", "asset1"], None)
        .await
        .unwrap();
    assert!(record.contains(BOB_ID), "{record}");
    assert_eq!(
        run(&session, alice(), &["delete", "asset1"], None).await,
        Err("only the owner of asset `asset1` may do that".into())
    );
    assert_eq!(
        run(&session, bob(), &["delete", "asset1"], None).await,
        Ok("OK".into())
    );
    assert_eq!(session.get_state(CHANNEL, "asset1"), None);
    assert_eq!(session.get_private_data(CHANNEL, PRICES, "asset1"), None);
    assert_eq!(session.private_hash(CHANNEL, PRICES, "asset1"), None);
    assert_eq!(
        run(&session, bob(), &["read", "asset1"], None).await,
        Err("asset `asset1` does not exist".into())
    );
    assert_eq!(
        run(&session, bob(), &["nosuch"], None).await,
        Err(
            "unknown function `nosuch`: expected create, read, price, verify, transfer or delete"
                .into()
        )
    );
}
