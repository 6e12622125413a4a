//! The `kv` example as a peer sees it: a process configured by its
//! environment, dialled over TCP (and TLS) by the peer simulator.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use ccaas_peersim::{DialOptions, Profile, Registration, Simulator, TxOutcome};
use ccaas_proto::{ChaincodeMessage, MessageType};
use common::*;
use std::future::IntoFuture;
use std::time::Duration;

#[tokio::test]
async fn handshake_registers_with_the_package_id_under_both_profiles() {
    let kv = Kv::plain(&[]);
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = Simulator::new(ID)
            .profile(profile)
            .connect(&plain_connection(kv.addr()), &DialOptions::default())
            .await
            .unwrap();
        assert_eq!(session.registration(), Some(Registration::Accepted));
        assert_eq!(session.registered_as().as_deref(), Some(ID));
        assert_eq!(call(&session, &["ping"]).await, "pong");
        session.close().await;
    }
    let registered = kv.wait_for_line("registered with the peer", Duration::from_secs(5));
    assert!(registered.is_some(), "{:?}", kv.lines());
    let v31 = kv.wait_for_line(
        "the peer is ready (Fabric v3.1+ parameters)",
        Duration::from_secs(5),
    );
    assert!(
        v31.unwrap().contains("max_write_batch=1000"),
        "{:?}",
        kv.lines()
    );
}

#[tokio::test]
async fn every_kv_function() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    assert_eq!(call(&session, &["ping"]).await, "pong");
    assert_eq!(call(&session, &["put", "k", "v"]).await, "OK");
    assert_eq!(session.get_state(CHANNEL, "k").as_deref(), Some(&b"v"[..]));
    assert_eq!(call(&session, &["get", "k"]).await, "v");
    assert_eq!(call_err(&session, &["get", "missing"]).await, "no such key");
    assert_eq!(call(&session, &["del", "k"]).await, "OK");
    assert_eq!(session.get_state(CHANNEL, "k"), None);
    assert_eq!(call_err(&session, &["get", "k"]).await, "no such key");
    assert_eq!(call(&session, &["fill", "p", "12"]).await, "OK");
    assert_eq!(
        session.get_state(CHANNEL, "p0011").as_deref(),
        Some(&b"p0011"[..])
    );
    assert_eq!(
        call(&session, &["range", "p0003", "p0006"]).await,
        r#"["p0003","p0004","p0005"]"#
    );
    assert_eq!(call(&session, &["sleep", "20"]).await, "slept");
    assert_eq!(
        call_err(&session, &["nosuch"]).await,
        "unknown function `nosuch`: expected put, get, del, ping, fill, range, sleep, panic, bench, ckey, whoami or sbe"
    );
    assert_eq!(
        call_err(&session, &["put", "k"]).await,
        "usage: put KEY VALUE"
    );
}

/// The three functions that show the composite key, client identity and
/// key-level endorsement surfaces from outside; their expected values are
/// the golden vectors of `composite.rs`, `cid/tests.rs` and `statebased.rs`.
#[tokio::test]
async fn ckey_whoami_and_sbe() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    // "\0asset\0blue\0\0" (an empty attribute kept), hex-encoded.
    let key = call(&session, &["ckey", "asset", "blue", ""]).await;
    assert_eq!(key, "00617373657400626c75650000");
    assert_eq!(
        session
            .get_state(CHANNEL, "\u{0}asset\u{0}blue\u{0}\u{0}")
            .as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        call_err(&session, &["ckey", "a\u{0}b"]).await,
        "the composite key's object type \"a\\0b\" contains U+0000 at byte 1: \
         U+0000 and U+10FFFF are not allowed in a composite key's object type or attributes"
    );

    let pem = std::fs::read(fixture("cid/user1.pem")).unwrap();
    let outcome = session
        .invoke(CHANNEL, ["whoami"])
        .creator(ccaas_peersim::Creator::new("Org1MSP", pem))
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    let whoami: serde_json::Value = serde_json::from_slice(outcome.payload()).unwrap();
    assert_eq!(
        whoami,
        serde_json::json!({
            // base64("x509::CN=user1,OU=client+OU=org1+OU=department1,O=Hyperledger,
            // ST=North Carolina,C=US::CN=ca.org1.example.com,...").
            "id": "eDUwOTo6Q049dXNlcjEsT1U9Y2xpZW50K09VPW9yZzErT1U9ZGVwYXJ0bWVudDEsTz1IeXBlcmxlZGdlcixTVD1Ob3J0aCBDYXJvbGluYSxDPVVTOjpDTj1jYS5vcmcxLmV4YW1wbGUuY29tLE89b3JnMS5leGFtcGxlLmNvbSxMPUR1cmhhbSxTVD1Ob3J0aCBDYXJvbGluYSxDPVVT",
            "mspid": "Org1MSP",
            "attrs": {
                "hf.Affiliation": "org1.department1",
                "hf.EnrollmentID": "user1",
                "hf.Type": "client",
                "role": "auditor",
            },
        })
    );

    // Org2MSP and Org1MSP, sorted, each MEMBER, 2 out of 2: the bytes Go's
    // statebased writes (derivation in statebased.rs's tests).
    // An Idemix creator has no X.509 ID (Go: "cannot determine identity").
    use ccaas_proto::msp::{MspRole, OrganizationUnit, SerializedIdemixIdentity};
    use ccaas_proto::Message;
    let idemix = SerializedIdemixIdentity {
        ou: OrganizationUnit {
            organizational_unit_identifier: "org1".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        role: MspRole::default().encode_to_vec(),
        ..Default::default()
    };
    let outcome = session
        .invoke(CHANNEL, ["whoami"])
        .creator(ccaas_peersim::Creator::new(
            "IdemixOrg",
            idemix.encode_to_vec(),
        ))
        .await
        .unwrap();
    assert_eq!(
        outcome.response().map(|r| r.message.as_str()),
        Some("the creator (MSP `IdemixOrg`) is an Idemix identity, without an X.509 certificate: an ID needs one")
    );

    // The peer keeps metadata only of a key that exists.
    assert_eq!(call(&session, &["put", "sbe", "guarded"]).await, "OK");
    let policy = call(&session, &["sbe", "Org2MSP", "Org1MSP"]).await;
    assert_eq!(
        policy,
        concat!(
            "120c120a08021202080012020801", // rule: 2 out of [signed_by 0, 1]
            "1a0b12090a074f7267314d5350",   // ROLE MSPRole{"Org1MSP"}
            "1a0b12090a074f7267324d5350",   // ROLE MSPRole{"Org2MSP"}
        )
    );
    let stored = session.state_metadata(CHANNEL, "sbe");
    assert_eq!(
        stored
            .get(ccaas_peersim::VALIDATION_PARAMETER)
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Some(policy.clone())
    );
    assert_eq!(call_err(&session, &["sbe"]).await, "usage: sbe MSPID...");
}

#[tokio::test]
async fn range_over_250_keys_pulls_the_peers_batches_of_100() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    assert_eq!(call(&session, &["fill", "r", "250"]).await, "OK");
    let keys: Vec<String> =
        serde_json::from_str(&call(&session, &["range", "r0000", "r0250"]).await).unwrap();
    assert_eq!(keys.len(), 250);
    assert_eq!(keys.first().map(String::as_str), Some("r0000"));
    assert_eq!(keys.last().map(String::as_str), Some("r0249"));
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    // 250 records: the first batch with GET_STATE_BY_RANGE, two more pulled.
    assert_eq!(session.received(MessageType::GetStateByRange), 1);
    assert_eq!(session.received(MessageType::QueryStateNext), 2);
    // An unbounded range from "" starts at "\x01" and sees every simple key.
    let all: Vec<String> = serde_json::from_str(&call(&session, &["range", "", ""]).await).unwrap();
    assert_eq!(all.len(), 250);
}

#[tokio::test]
async fn a_thousand_concurrent_transactions_on_one_stream() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    let mut pending = Vec::new();
    for i in 0..1000 {
        let key = format!("c{i:04}");
        pending.push(
            session
                .invoke(CHANNEL, ["put", key.as_str(), key.as_str()])
                .start()
                .unwrap(),
        );
    }
    let outcomes =
        futures_util::future::join_all(pending.into_iter().map(|p| p.into_future())).await;
    assert_eq!(outcomes.len(), 1000);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        assert!(outcome.is_success(), "{outcome:?}");
    }
    assert_eq!(session.world().namespace(CHANNEL, "kv_1.0").len(), 1000);
    assert_eq!(session.dropped_requests(), 0);
}

#[tokio::test]
async fn two_peers_at_once() {
    let kv = Kv::plain(&[]);
    let first = session(kv.addr()).await;
    let second = session(kv.addr()).await;
    let (a, b) = tokio::join!(
        first.invoke(CHANNEL, ["put", "who", "first"]),
        second.invoke(CHANNEL, ["put", "who", "second"])
    );
    assert!(a.unwrap().is_success());
    assert!(b.unwrap().is_success());
    // Each peer has its own ledger: each reads its own write.
    assert_eq!(call(&first, &["get", "who"]).await, "first");
    assert_eq!(call(&second, &["get", "who"]).await, "second");
}

#[tokio::test]
async fn unknown_unmatched_and_malformed_messages_are_survived() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    // A message type nobody knows.
    session
        .send_raw(ChaincodeMessage {
            r#type: 99,
            ..Default::default()
        })
        .unwrap();
    // A RESPONSE no request waits for.
    session
        .send_raw(ChaincodeMessage::for_tx(
            MessageType::Response,
            b"late".to_vec(),
            CHANNEL,
            "nobody",
        ))
        .unwrap();
    // A TRANSACTION whose payload is not a ChaincodeInput: that one fails.
    let garbled = ChaincodeMessage::for_tx(
        MessageType::Transaction,
        vec![0xff, 0xff, 0xff],
        CHANNEL,
        "garbled",
    );
    let outcome = session.transact_raw(garbled).unwrap().await.unwrap();
    match outcome {
        TxOutcome::Error { message } => assert!(
            message.starts_with("the transaction's payload is not a valid `ChaincodeInput`"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // The stream and the server go on.
    assert_eq!(call(&session, &["ping"]).await, "pong");
    assert!(kv
        .wait_for_line(
            "ignoring a message the shim does not expect here",
            Duration::from_secs(5)
        )
        .is_some());
    assert!(kv
        .wait_for_line(
            "ignoring an answer from the peer that no request is waiting for",
            Duration::from_secs(5)
        )
        .is_some());
}

#[tokio::test]
async fn keepalive_from_the_peer_is_echoed() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    session
        .send_raw(ChaincodeMessage::new(MessageType::Keepalive, Vec::new()))
        .unwrap();
    assert!(
        session
            .wait_until(Duration::from_secs(5), |s| s
                .received(MessageType::Keepalive)
                == 1)
            .await
    );
}

#[tokio::test]
async fn a_panicking_transaction_fails_alone() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    let slow = session.invoke(CHANNEL, ["sleep", "300"]).start().unwrap();
    let outcome = session.invoke(CHANNEL, ["panic", "boom"]).await.unwrap();
    assert_eq!(
        outcome,
        TxOutcome::Error {
            message: "chaincode panicked: boom".into()
        }
    );
    // The transaction beside it, the stream and the server go on.
    assert!(slow.await.unwrap().is_success());
    assert_eq!(call(&session, &["ping"]).await, "pong");
    let logged = kv.wait_for_line("the chaincode panicked: boom", Duration::from_secs(5));
    assert!(
        logged.is_some_and(|l| l.contains("txid=")),
        "{:?}",
        kv.lines()
    );
}

#[tokio::test]
async fn a_20_mib_value_goes_both_ways() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    let value: String = (0..20 * 1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    assert_eq!(call(&session, &["put", "big", &value]).await, "OK");
    assert_eq!(
        session.get_state(CHANNEL, "big").map(|v| v.len()),
        Some(value.len())
    );
    let back = call(&session, &["get", "big"]).await;
    assert!(back == value, "the value came back changed");
}

#[tokio::test]
async fn streams_dropped_with_requests_pending_leave_nothing_behind() {
    let kv = Kv::plain(&[]);
    // Warm up: the first stream allocates what the runtime keeps.
    session(kv.addr()).await.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds = kv.open_fds();
    for _ in 0..20 {
        let session = Simulator::new(ID)
            .stalled(true)
            .connect(&plain_connection(kv.addr()), &DialOptions::default())
            .await
            .unwrap();
        let mut pending = Vec::new();
        for i in 0..10 {
            pending.push(
                session
                    .invoke(CHANNEL, ["get", &format!("k{i}")])
                    .start()
                    .unwrap(),
            );
        }
        assert!(
            session
                .wait_until(Duration::from_secs(5), |s| s
                    .received(MessageType::GetState)
                    == 10)
                .await
        );
        session.end_stream();
        for p in pending {
            assert!(p.await.is_err());
        }
    }
    // Every request failed at once on the server, its transaction ended, its
    // socket closed.
    let settled = {
        let mut settled = false;
        for _ in 0..100 {
            if kv.open_fds() <= fds {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        settled
    };
    assert!(settled, "fds: {} before, {} after", fds, kv.open_fds());
    assert!(kv
        .find("the stream ended with requests waiting for the peer; they fail now")
        .is_some());
    // And the server still serves.
    assert_eq!(call(&session(kv.addr()).await, &["ping"]).await, "pong");
}

#[tokio::test]
async fn a_peer_that_never_answers_register_gets_one_diagnostic_line() {
    let kv = Kv::plain(&[("CHAINCODE_REGISTRATION_WARNING", "200ms")]);
    let other = ID.replace("kv_1.0", "kv_2.0");
    let session = Simulator::new(other.as_str())
        .connect(&plain_connection(kv.addr()), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(
        session.registration(),
        Some(Registration::Refused {
            registered_as: ID.to_owned()
        })
    );
    let line = kv
        .wait_for_line("has not answered REGISTER", Duration::from_secs(5))
        .unwrap();
    assert!(line.contains(&format!("`{ID}`")), "{line}");
    assert!(line.contains("`label:sha256`"), "{line}");
    assert!(line.contains("ccaas id PACKAGE.tgz"), "{line}");
    assert!(
        line.contains("peer lifecycle chaincode queryinstalled"),
        "{line}"
    );
    // One line, and the stream stays open: the peer may just be slow.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        kv.lines()
            .iter()
            .filter(|l| l.contains("has not answered REGISTER"))
            .count(),
        1
    );
    assert_eq!(session.ended(), None);
}

#[tokio::test]
async fn requests_have_a_deadline() {
    let kv = Kv::plain(&[("CHAINCODE_REQUEST_TIMEOUT", "300ms")]);
    let session = Simulator::new(ID)
        .stalled(true)
        .connect(&plain_connection(kv.addr()), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(
        call_err(&session, &["get", "k"]).await,
        "the peer did not answer GET_STATE within 300ms"
    );
}

#[tokio::test]
async fn sigterm_lets_the_transaction_in_flight_finish_then_exits_0() {
    let mut kv = Kv::plain(&[("CHAINCODE_SHUTDOWN_GRACE", "10s")]);
    let session = session(kv.addr()).await;
    let slow = session.invoke(CHANNEL, ["sleep", "1000"]).start().unwrap();
    assert!(kv
        .wait_for_line("sleep", Duration::from_millis(1))
        .is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    kv.signal(15);
    assert!(kv
        .wait_for_line("shutting down: no new streams", Duration::from_secs(5))
        .is_some());
    // A transaction arriving now is refused at once, not left to time out.
    assert_eq!(
        call_err(&session, &["ping"]).await,
        "the chaincode server is shutting down"
    );
    assert_eq!(slow.await.unwrap().payload(), b"slept");
    let status = kv.wait_exit(Duration::from_secs(10)).unwrap();
    assert_eq!(status.code(), Some(0), "{:?}", kv.lines());
    assert!(kv.find("chaincode server stopped").is_some());
}

#[tokio::test]
async fn sigterm_with_a_transaction_past_the_grace_period_still_exits_0() {
    let mut kv = Kv::plain(&[("CHAINCODE_SHUTDOWN_GRACE", "200ms")]);
    let session = session(kv.addr()).await;
    let _slow = session.invoke(CHANNEL, ["sleep", "20000"]).start().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    kv.signal(2);
    let status = kv.wait_exit(Duration::from_secs(10)).unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        kv.find("the grace period is over").is_some(),
        "{:?}",
        kv.lines()
    );
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let server = fixture("tls/server.pem").display().to_string();
    let key = fixture("tls/server.key").display().to_string();
    let ca = fixture("tls/ca.pem").display().to_string();
    // Server TLS.
    let kv = Kv::plain(&[("CHAINCODE_TLS_CERT", &server), ("CHAINCODE_TLS_KEY", &key)]);
    let session = Simulator::new(ID)
        .connect(&tls_connection(kv.addr(), false), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(call(&session, &["ping"]).await, "pong");
    // A plain-text peer gets nothing.
    let plain = Simulator::new(ID)
        .startup_timeout(Duration::from_secs(2))
        .connect(&plain_connection(kv.addr()), &DialOptions::default())
        .await;
    assert!(plain.is_err());
    drop(kv);

    // Mutual TLS: the Node shim's variable names.
    let kv = Kv::start(&[
        ("CORE_CHAINCODE_ID", ID),
        ("CORE_CHAINCODE_ADDRESS", "127.0.0.1:0"),
        ("CORE_CHAINCODE_TLS_CERT_FILE", &server),
        ("CORE_CHAINCODE_TLS_KEY_FILE", &key),
        ("CORE_CHAINCODE_TLS_CLIENT_CACERT_FILE", &ca),
    ]);
    let session = Simulator::new(ID)
        .connect(&tls_connection(kv.addr(), true), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(call(&session, &["ping"]).await, "pong");
    // A peer without a client certificate is refused.
    let refused = Simulator::new(ID)
        .startup_timeout(Duration::from_secs(2))
        .connect(&tls_connection(kv.addr(), false), &DialOptions::default())
        .await;
    assert!(refused.is_err());
    let logged = kv.wait_for_line("TLS handshake failed", Duration::from_secs(5));
    assert!(
        logged.is_some_and(|l| l.contains("peer=127.0.0.1:")),
        "{:?}",
        kv.lines()
    );
}

#[tokio::test]
async fn tls_negotiates_alpn_h2() {
    use std::sync::Arc;
    let server = fixture("tls/server.pem").display().to_string();
    let key = fixture("tls/server.key").display().to_string();
    let kv = Kv::plain(&[("CHAINCODE_TLS_CERT", &server), ("CHAINCODE_TLS_KEY", &key)]);
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(fixture("tls/ca.pem")).unwrap();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = ccaas_shim::tls::crypto_provider();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(kv.addr()).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
}

#[tokio::test]
async fn the_health_service_answers_on_the_same_port() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let kv = Kv::plain(&[]);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", kv.addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    for service in ["", "protos.Chaincode"] {
        let answer = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status, 1, "{service:?} is not SERVING");
    }
}

#[test]
fn from_env_errors_reach_stderr_and_exit_1() {
    for (vars, expected) in [
        (
            vec![("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0")],
            "CHAINCODE_ID, CORE_CHAINCODE_ID, CORE_CHAINCODE_ID_NAME or CHAINCODE_PACKAGE is not set",
        ),
        (vec![("CHAINCODE_ID", ID)], "CHAINCODE_SERVER_ADDRESS or CORE_CHAINCODE_ADDRESS is not set"),
        (
            vec![("CHAINCODE_ID", "kv_1.0"), ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0")],
            "CHAINCODE_ID is `kv_1.0`: expected the installed package ID",
        ),
        (
            vec![
                ("CHAINCODE_ID", ID),
                ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
                ("CHAINCODE_TLS_CERT", "/nonexistent/server.pem"),
                ("CHAINCODE_TLS_KEY", "/nonexistent/server.key"),
            ],
            "cannot read the TLS certificate `/nonexistent/server.pem`: No such file or directory",
        ),
    ] {
        let mut kv = Kv::start(&vars);
        let status = kv.wait_exit(Duration::from_secs(10)).unwrap();
        assert_eq!(status.code(), Some(1), "{vars:?}");
        let lines = kv.lines();
        assert!(lines.iter().any(|l| l.contains(expected)), "{vars:?}: {lines:?}");
    }
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_refused_at_start() {
    let server = fixture("tls/server.pem").display().to_string();
    let other = fixture("tls/other.key").display().to_string();
    let mut kv = Kv::start(&[
        ("CHAINCODE_ID", ID),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
        ("CHAINCODE_TLS_CERT", &server),
        ("CHAINCODE_TLS_KEY", &other),
    ]);
    assert_eq!(
        kv.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(1)
    );
    let expected =
        format!("the TLS private key `{other}` does not match the certificate `{server}`");
    assert!(kv.find(&expected).is_some(), "{:?}", kv.lines());
}

#[test]
fn the_package_file_gives_the_id_to_register_with() {
    let package = fixture("sample/basic_1.0.tgz").display().to_string();
    let kv = Kv::start(&[
        ("CHAINCODE_PACKAGE", &package),
        ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:0"),
    ]);
    let line = kv.find("chaincode server listening").unwrap_or_default();
    assert!(line.contains("package_id=basic_1.0:"), "{:?}", kv.lines());
}
