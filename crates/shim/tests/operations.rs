//! The operations endpoint (`CHAINCODE_OPERATIONS_ADDRESS`), certificate
//! rotation, logs and shutdown, as operators meet them: the `kv` example
//! run as a process, its ports reached over real sockets.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use ccaas_peersim::{DialOptions, Profile, Session, Simulator, StreamEnd};
use common::*;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// An HTTP/1.1 answer: status, body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// One request on its own connection (`Connection: close`), read to EOF.
async fn http<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    method: &str,
    path: &str,
    body: &str,
) -> Answer {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    Answer {
        status,
        body: body.to_owned(),
    }
}

async fn plain(address: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    http(tcp, method, path, body).await
}

fn roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(fixture("tls/ca.pem")).unwrap();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    roots
}

/// A TLS client, with the test client certificate when `mutual`.
fn client_config(mutual: bool, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let builder = rustls::ClientConfig::builder_with_provider(ccaas_shim::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots());
    let mut config = if mutual {
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(fixture("tls/client.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key =
            rustls_pki_types::PrivateKeyDer::from_pem_file(fixture("tls/client.key")).unwrap();
        builder.with_client_auth_cert(certs, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

async fn tls_connect(
    address: SocketAddr,
    mutual: bool,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(client_config(mutual, alpn))
        .connect(name, tcp)
        .await
        .unwrap()
}

async fn https(address: SocketAddr, mutual: bool, method: &str, path: &str, body: &str) -> Answer {
    http(
        tls_connect(address, mutual, &[b"http/1.1"]).await,
        method,
        path,
        body,
    )
    .await
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The operations address kv logged.
fn ops_address(kv: &Kv) -> SocketAddr {
    let line = kv
        .wait_for_line("operations endpoint listening", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no operations endpoint: {:?}", kv.lines()));
    line.split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

/// The value of the one sample line named `series` (labels included).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

const OPS: (&str, &str) = ("CHAINCODE_OPERATIONS_ADDRESS", "127.0.0.1:0");

#[tokio::test]
async fn every_endpoint_over_plain_http() {
    let kv = Kv::plain(&[OPS]);
    let ops = ops_address(&kv);

    let health = plain(ops, "GET", "/healthz", "").await;
    assert_eq!(health.status, 200, "{health:?}");
    let json = health.json();
    assert_eq!(json["status"], "OK");
    let time = json["time"].as_str().unwrap();
    assert!(
        time.len() >= 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    assert!(json.get("failed_checks").is_none(), "{json}");
    assert_eq!(plain(ops, "POST", "/healthz", "").await.status, 405);

    let version = plain(ops, "GET", "/version", "").await;
    assert_eq!(version.status, 200);
    assert_eq!(version.json()["PackageID"], ID);
    assert_eq!(version.json()["Version"], env!("CARGO_PKG_VERSION"));

    let metrics = plain(ops, "GET", "/metrics", "").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.ends_with("# EOF\n"), "{}", metrics.body);
    assert_eq!(
        sample(&metrics.body, "chaincode_shim_peer_streams"),
        Some(0.0)
    );

    let spec = plain(ops, "GET", "/logspec", "").await;
    assert_eq!(
        (spec.status, spec.json()["spec"].as_str()),
        (200, Some("info"))
    );
    let bad = plain(ops, "PUT", "/logspec", r#"{"spec":"ccaas_shim=loud"}"#).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("the log spec `ccaas_shim=loud` is not a tracing filter"),
        "{bad:?}"
    );
    let not_json = plain(ops, "PUT", "/logspec", "debug").await;
    assert_eq!(not_json.status, 400, "{not_json:?}");
    assert_eq!(
        plain(ops, "PUT", "/logspec", r#"{"spec":"warn"}"#)
            .await
            .status,
        204
    );
    assert_eq!(
        plain(ops, "GET", "/logspec", "").await.json()["spec"],
        "warn"
    );
    assert_eq!(plain(ops, "DELETE", "/logspec", "").await.status, 400);

    let missing = plain(ops, "GET", "/nosuch", "").await;
    assert_eq!(missing.status, 404);
    // The chaincode port is not the operations port.
    assert_ne!(ops, kv.addr());
}

#[tokio::test]
async fn metrics_count_a_known_run_of_transactions() {
    let kv = Kv::plain(&[OPS]);
    let ops = ops_address(&kv);
    let session = Simulator::new(ID)
        .profile(Profile::V2_5)
        .connect(&plain_connection(kv.addr()), &DialOptions::default())
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(call(&session, &["ping"]).await, "pong");
    }
    assert_eq!(call(&session, &["put", "a", "1"]).await, "OK");
    assert_eq!(call(&session, &["put", "b", "22"]).await, "OK");
    for _ in 0..3 {
        assert_eq!(call_err(&session, &["get", "missing"]).await, "no such key");
    }
    assert_eq!(call(&session, &["get", "b"]).await, "22");
    assert!(call_err(&session, &["panic", "boom"])
        .await
        .contains("boom"));
    let other = Simulator::new(ID)
        .connect(&plain_connection(kv.addr()), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(call(&other, &["ping"]).await, "pong");

    let text = plain(ops, "GET", "/metrics", "").await.body;
    let series = |name: &str, labels: &str| sample(&text, &format!("{name}{{{labels}}}"));
    let tx = |function: &str| format!("channel=\"mychannel\",function=\"{function}\"");
    let done = |function: &str, status: &str| format!("{},status=\"{status}\"", tx(function));
    let received = "chaincode_shim_requests_received_total";
    let completed = "chaincode_shim_requests_completed_total";
    assert_eq!(series(received, &tx("ping")), Some(6.0), "{text}");
    assert_eq!(series(received, &tx("put")), Some(2.0));
    assert_eq!(series(received, &tx("get")), Some(4.0));
    assert_eq!(series(received, &tx("panic")), Some(1.0));
    assert_eq!(series(completed, &done("ping", "2xx")), Some(6.0));
    assert_eq!(series(completed, &done("ping", "5xx")), Some(0.0));
    assert_eq!(series(completed, &done("put", "2xx")), Some(2.0));
    assert_eq!(series(completed, &done("get", "2xx")), Some(1.0));
    assert_eq!(series(completed, &done("get", "5xx")), Some(3.0));
    assert_eq!(series(completed, &done("panic", "error")), Some(1.0));
    assert_eq!(
        series("chaincode_shim_request_duration_count", &done("get", "5xx")),
        Some(3.0)
    );
    assert_eq!(
        series("chaincode_shim_ledger_requests_total", "type=\"GET_STATE\""),
        Some(4.0)
    );
    assert_eq!(
        series("chaincode_shim_ledger_requests_total", "type=\"PUT_STATE\""),
        Some(2.0)
    );
    assert_eq!(
        series(
            "chaincode_shim_ledger_request_duration_count",
            "type=\"PUT_STATE\""
        ),
        Some(2.0)
    );
    assert_eq!(sample(&text, "chaincode_shim_panics_total"), Some(1.0));
    assert_eq!(
        sample(&text, "chaincode_shim_registrations_total"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "chaincode_shim_registration_warnings_total"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "chaincode_shim_peer_streams"), Some(2.0));
    assert_eq!(
        sample(&text, "chaincode_shim_transactions_in_flight"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "chaincode_shim_transactions_waiting"),
        Some(0.0)
    );
    // Bytes depend on every message's encoding: counted, not recomputed here.
    let sent = series(
        "chaincode_shim_message_payload_bytes_total",
        "direction=\"sent\"",
    )
    .unwrap();
    let received_bytes = series(
        "chaincode_shim_message_payload_bytes_total",
        "direction=\"received\"",
    )
    .unwrap();
    assert!(sent > 0.0 && received_bytes > 0.0, "{text}");

    other.close().await;
    session.close().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = plain(ops, "GET", "/metrics", "").await.body;
        if sample(&text, "chaincode_shim_peer_streams") == Some(0.0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn logspec_changes_what_is_logged() {
    let kv = Kv::plain(&[OPS]);
    let ops = ops_address(&kv);
    let session = session(kv.addr()).await;
    let debug_lines = || kv.lines().iter().filter(|l| l.contains(" DEBUG ")).count();
    assert_eq!(call(&session, &["ping"]).await, "pong");
    assert_eq!(debug_lines(), 0);
    let put = plain(
        ops,
        "PUT",
        "/logspec",
        r#"{"spec":"ccaas_shim=debug,warn"}"#,
    )
    .await;
    assert_eq!(put.status, 204, "{put:?}");
    assert!(kv
        .wait_for_line("log spec changed", Duration::from_secs(5))
        .is_some());
    assert_eq!(call(&session, &["ping"]).await, "pong");
    let answered = kv.wait_for_line("answered COMPLETED", Duration::from_secs(5));
    assert!(
        answered.is_some_and(|l| l.contains(" DEBUG ")),
        "{:?}",
        kv.lines()
    );
    // Back to info: nothing at debug any more.
    assert_eq!(
        plain(ops, "PUT", "/logspec", r#"{"spec":"info"}"#)
            .await
            .status,
        204
    );
    // Lines reach the test through a pipe: once the change's own line is
    // read, every line logged before it has been too.
    assert_eq!(
        kv.wait_for_lines("log spec changed", 2, Duration::from_secs(5)),
        2,
        "{:?}",
        kv.lines()
    );
    let before = debug_lines();
    assert_eq!(call(&session, &["ping"]).await, "pong");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(debug_lines(), before, "{:?}", kv.lines());
}

#[tokio::test]
async fn every_endpoint_over_tls_with_and_without_a_client_certificate() {
    let cert = path(&fixture("tls/server.pem"));
    let key = path(&fixture("tls/server.key"));
    let ca = path(&fixture("tls/ca.pem"));
    // TLS without a client CA: every endpoint open.
    let kv = Kv::plain(&[
        OPS,
        ("CHAINCODE_OPERATIONS_TLS_CERT", &cert),
        ("CHAINCODE_OPERATIONS_TLS_KEY", &key),
    ]);
    let ops = ops_address(&kv);
    assert_eq!(
        https(ops, false, "GET", "/healthz", "").await.json()["status"],
        "OK"
    );
    assert_eq!(https(ops, false, "GET", "/metrics", "").await.status, 200);
    // Plain text to the TLS port gets no HTTP answer.
    let tcp = tokio::net::TcpStream::connect(ops).await.unwrap();
    let mut stream = tcp;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    assert!(!String::from_utf8_lossy(&raw).contains("200 OK"));
    drop(kv);

    // With a client CA: /metrics and /logspec need a certificate.
    let kv = Kv::plain(&[
        OPS,
        ("CHAINCODE_OPERATIONS_TLS_CERT", &cert),
        ("CHAINCODE_OPERATIONS_TLS_KEY", &key),
        ("CHAINCODE_OPERATIONS_CLIENT_CA_CERT", &ca),
    ]);
    let ops = ops_address(&kv);
    assert!(kv
        .find("tls=\"mutual\"")
        .is_some_and(|l| l.contains("operations endpoint listening")));
    for mutual in [false, true] {
        let health = https(ops, mutual, "GET", "/healthz", "").await;
        assert_eq!(
            (health.status, health.json()["status"].as_str()),
            (200, Some("OK"))
        );
        assert_eq!(
            https(ops, mutual, "GET", "/version", "").await.json()["PackageID"],
            ID
        );
    }
    for (method, endpoint, body) in [
        ("GET", "/metrics", ""),
        ("GET", "/logspec", ""),
        ("PUT", "/logspec", r#"{"spec":"info"}"#),
    ] {
        let refused = https(ops, false, method, endpoint, body).await;
        assert_eq!(refused.status, 401, "{method} {endpoint}: {refused:?}");
    }
    let metrics = https(ops, true, "GET", "/metrics", "").await;
    assert_eq!(metrics.status, 200);
    // The operations certificate's expiry, by subject and serial.
    assert_eq!(
        sample(
            &metrics.body,
            "chaincode_shim_tls_certificate_expiry_timestamp_seconds{listener=\"operations\",subject=\"CN=ccaas test server\",serial=\"2ce4f116ca7e89d0fc12b10854b8f8709ada1b7d\"}"
        ),
        Some(4_891_363_199.0),
        "{}",
        metrics.body
    );
    assert_eq!(
        https(ops, true, "GET", "/logspec", "").await.json()["spec"],
        "info"
    );
    assert_eq!(
        https(ops, true, "PUT", "/logspec", r#"{"spec":"debug"}"#)
            .await
            .status,
        204
    );
    // h2 over TLS too (ALPN), through the gRPC health probe.
    let status = grpc_health(tls_connect(ops, false, &[b"h2"]).await).await;
    assert_eq!(status, 1);
}

/// `grpc.health.v1.Health/Check` for `""` over `io` (h2), as the kubelet's
/// gRPC probe asks it: the status (1 SERVING, 2 NOT_SERVING).
async fn grpc_health<IO>(io: IO) -> i32
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let io = Some(hyper_util::rt::TokioIo::new(io));
    let io = std::sync::Mutex::new(io);
    let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1")
        .connect_with_connector(tower::service_fn(move |_| {
            let io = io.lock().unwrap().take();
            async move { io.ok_or_else(|| std::io::Error::other("one connection only")) }
        }))
        .await
        .unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test]
async fn the_kubelet_grpc_probe_reaches_the_plain_operations_port_while_the_chaincode_port_is_mutual_tls(
) {
    let kv = Kv::plain(&[
        OPS,
        ("CHAINCODE_TLS_CERT", &path(&fixture("tls/server.pem"))),
        ("CHAINCODE_TLS_KEY", &path(&fixture("tls/server.key"))),
        ("CHAINCODE_CLIENT_CA_CERT", &path(&fixture("tls/ca.pem"))),
    ]);
    let ops = ops_address(&kv);
    // As the kubelet: plain-text h2 (h2c), no TLS, no certificate.
    let tcp = tokio::net::TcpStream::connect(ops).await.unwrap();
    assert_eq!(grpc_health(tcp).await, 1);
    assert_eq!(plain(ops, "GET", "/healthz", "").await.status, 200);
    // ...while the chaincode port still wants a client certificate.
    let session = Simulator::new(ID)
        .connect(&tls_connection(kv.addr(), true), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(call(&session, &["ping"]).await, "pong");
}

/// A peer's dial is refused: the port is closed (or the stream is not
/// accepted) within the simulator's startup timeout.
async fn assert_no_new_streams(address: SocketAddr) {
    let refused = Simulator::new(ID)
        .startup_timeout(Duration::from_secs(2))
        .connect(&plain_connection(address), &DialOptions::default())
        .await;
    assert!(refused.is_err());
}

/// The server ends the stream (not the peer, not a broken connection).
async fn assert_ended_by_the_server(stream: &Session) {
    assert_eq!(
        stream.wait_ended(Duration::from_secs(10)).await,
        Some(StreamEnd::ChaincodeClosed)
    );
}

#[tokio::test]
async fn healthz_turns_503_at_sigterm_while_a_transaction_finishes_and_idle_streams_end() {
    let mut kv = Kv::plain(&[OPS, ("CHAINCODE_SHUTDOWN_GRACE", "10s")]);
    let ops = ops_address(&kv);
    let busy = session(kv.addr()).await;
    let idle = session(kv.addr()).await;
    assert_eq!(call(&idle, &["ping"]).await, "pong");
    let slow = busy.invoke(CHANNEL, ["sleep", "1500"]).start().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(plain(ops, "GET", "/healthz", "").await.status, 200);
    kv.signal(15);
    // Logged once the health checks have turned (the SIGTERM line comes
    // before they do).
    assert!(kv
        .wait_for_line("shutting down: no new streams", Duration::from_secs(5))
        .is_some());
    let draining = plain(ops, "GET", "/healthz", "").await;
    assert_eq!(draining.status, 503, "{draining:?}");
    let json = draining.json();
    assert_eq!(json["status"], "Service Unavailable");
    assert_eq!(json["failed_checks"][0]["component"], "chaincode-server");
    assert_eq!(
        grpc_health(tokio::net::TcpStream::connect(ops).await.unwrap()).await,
        2,
        "NOT_SERVING"
    );
    // The idle stream is ended at once: its peer re-dials elsewhere.
    assert_ended_by_the_server(&idle).await;
    // No new streams.
    assert_no_new_streams(kv.addr()).await;
    // The transaction in flight finishes, and is answered.
    assert_eq!(slow.await.unwrap().payload(), b"slept");
    assert_eq!(
        kv.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
    assert!(
        kv.find("the grace period is over").is_none(),
        "{:?}",
        kv.lines()
    );
}

#[tokio::test]
async fn with_a_drain_delay_a_peer_that_dials_after_sigterm_is_served_until_the_delay_ends() {
    let mut kv = Kv::plain(&[
        OPS,
        ("CHAINCODE_DRAIN_DELAY", "5s"),
        ("CHAINCODE_SHUTDOWN_GRACE", "5s"),
    ]);
    let ops = ops_address(&kv);
    let early = session(kv.addr()).await;
    kv.signal(15);
    assert!(kv
        .wait_for_line("draining: still serving", Duration::from_secs(5))
        .is_some());
    // The kubelet and load balancers are told at once...
    assert_eq!(plain(ops, "GET", "/healthz", "").await.status, 503);
    // ...but a peer that kube-proxy still sends here is served, and so is
    // the stream that was open.
    let late = session(kv.addr()).await;
    assert_eq!(call(&late, &["ping"]).await, "pong");
    assert_eq!(call(&early, &["ping"]).await, "pong");
    // Then the port closes and the streams end, and the process exits 0.
    for stream in [&late, &early] {
        assert_ended_by_the_server(stream).await;
    }
    assert_no_new_streams(kv.addr()).await;
    assert_eq!(
        kv.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()),
        Some(0)
    );
}

#[tokio::test]
async fn a_tcp_probe_logs_nothing_at_warn_and_a_failed_handshake_does() {
    let kv = Kv::plain(&[
        ("CHAINCODE_LOG", "debug"),
        ("CHAINCODE_TLS_CERT", &path(&fixture("tls/server.pem"))),
        ("CHAINCODE_TLS_KEY", &path(&fixture("tls/server.key"))),
    ]);
    for _ in 0..3 {
        // A tcpSocket probe: connect, close.
        drop(tokio::net::TcpStream::connect(kv.addr()).await.unwrap());
    }
    assert_eq!(
        kv.wait_for_lines(
            "a connection closed before its TLS ClientHello",
            3,
            Duration::from_secs(5)
        ),
        3,
        "{:?}",
        kv.lines()
    );
    let warns = |kv: &Kv| kv.lines().iter().filter(|l| l.contains(" WARN ")).count();
    assert_eq!(warns(&kv), 0, "{:?}", kv.lines());
    // Plain text to the TLS port is a real failure: WARN, with the reason and
    // the peer's address.
    let mut tcp = tokio::net::TcpStream::connect(kv.addr()).await.unwrap();
    let local = tcp.local_addr().unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tcp.read_to_end(&mut sink).await;
    let failed = kv
        .wait_for_line("TLS handshake failed", Duration::from_secs(5))
        .unwrap();
    assert!(failed.contains(" WARN "), "{failed}");
    assert!(failed.contains(&format!("peer={local}")), "{failed}");
    assert!(failed.contains("reason="), "{failed}");
    assert_eq!(warns(&kv), 1, "{:?}", kv.lines());
}

#[tokio::test]
async fn json_logs_parse_and_carry_txid_channel_and_function() {
    let kv = Kv::plain(&[("CHAINCODE_LOG_FORMAT", "json")]);
    let session = session(kv.addr()).await;
    assert_eq!(call_err(&session, &["get", "missing"]).await, "no such key");
    let line = kv
        .wait_for_line("the chaincode answered an error", Duration::from_secs(5))
        .unwrap();
    session.close().await;
    for line in kv.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            parsed["time"].is_string() && parsed["level"].is_string(),
            "{line}"
        );
    }
    let answered: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answered["level"], "INFO");
    assert_eq!(answered["message"], "the chaincode answered an error");
    assert_eq!(answered["channel"], CHANNEL);
    assert_eq!(answered["function"], "get");
    assert_eq!(answered["status"], 500);
    assert_eq!(answered["response"], "no such key");
    assert_eq!(answered["txid"].as_str().map(str::len), Some(64), "{line}");
}

#[tokio::test]
async fn the_text_log_of_an_error_answer_shows_each_field() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    assert_eq!(call_err(&session, &["get", "missing"]).await, "no such key");
    let line = kv
        .wait_for_line("the chaincode answered an error", Duration::from_secs(5))
        .unwrap();
    assert!(line.contains(" function=get}"), "{line}");
    assert!(
        line.ends_with("the chaincode answered an error status=500 response=no such key"),
        "{line}"
    );
}

/// A Secret volume as the kubelet writes it: `DIR/..data` a symlink to the
/// current version's directory, each file a symlink through it.
struct SecretVolume {
    dir: tempfile::TempDir,
    version: usize,
}

impl SecretVolume {
    fn new(files: &[(&str, Vec<u8>)]) -> SecretVolume {
        let mut volume = SecretVolume {
            dir: tempfile::tempdir().unwrap(),
            version: 0,
        };
        volume.update(files);
        for (name, _) in files {
            std::os::unix::fs::symlink(format!("..data/{name}"), volume.dir.path().join(name))
                .unwrap();
        }
        volume
    }

    /// The kubelet's atomic update: a new directory, then `..data` renamed
    /// over.
    fn update(&mut self, files: &[(&str, Vec<u8>)]) {
        self.version += 1;
        let version = format!("..v{}", self.version);
        let target = self.dir.path().join(&version);
        std::fs::create_dir(&target).unwrap();
        for (name, bytes) in files {
            std::fs::write(target.join(name), bytes).unwrap();
        }
        let temporary = self.dir.path().join("..data_tmp");
        std::os::unix::fs::symlink(&version, &temporary).unwrap();
        std::fs::rename(&temporary, self.dir.path().join("..data")).unwrap();
    }

    fn file(&self, name: &str) -> String {
        path(&self.dir.path().join(name))
    }
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("tls/{name}"))).unwrap()
}

fn der(name: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(&pem(name))
        .unwrap()
        .to_vec()
}

/// The certificate a new mutual-TLS connection to `address` is shown.
async fn served_certificate(address: SocketAddr) -> Vec<u8> {
    let tls = tls_connect(address, true, &[b"h2"]).await;
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test]
async fn rotated_certificates_are_used_by_new_connections_while_old_streams_go_on() {
    let mut volume = SecretVolume::new(&[
        ("tls.crt", pem("server.pem")),
        ("tls.key", pem("server.key")),
        ("ca.crt", pem("ca.pem")),
    ]);
    let kv = Kv::plain(&[
        OPS,
        ("CHAINCODE_TLS_CERT", &volume.file("tls.crt")),
        ("CHAINCODE_TLS_KEY", &volume.file("tls.key")),
        ("CHAINCODE_CLIENT_CA_CERT", &volume.file("ca.crt")),
    ]);
    let ops = ops_address(&kv);
    let in_use = kv.find("TLS certificate in use").unwrap();
    assert!(in_use.contains("subject=CN=ccaas test server serial=2ce4f116ca7e89d0fc12b10854b8f8709ada1b7d not_after=2124-12-31T23:59:59Z"), "{in_use}");
    assert_eq!(served_certificate(kv.addr()).await, der("server.pem"));
    let old = Simulator::new(ID)
        .connect(&tls_connection(kv.addr(), true), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(call(&old, &["ping"]).await, "pong");

    volume.update(&[
        ("tls.crt", pem("server-rotated.pem")),
        ("tls.key", pem("server-rotated.key")),
        ("ca.crt", pem("ca.pem")),
    ]);
    assert_eq!(
        served_certificate(kv.addr()).await,
        der("server-rotated.pem")
    );
    let changed = kv
        .wait_for_line(
            "TLS material changed on disk: new handshakes use it",
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(changed.contains("subject=CN=ccaas test server (rotated) serial=7b18bf5899e26eb670d3616dbdcf32f1f308d43c"), "{changed}");
    // The stream opened before goes on.
    assert_eq!(call(&old, &["ping"]).await, "pong");
    let fresh = Simulator::new(ID)
        .connect(&tls_connection(kv.addr(), true), &DialOptions::default())
        .await
        .unwrap();
    assert_eq!(call(&fresh, &["ping"]).await, "pong");
    let metrics = plain(ops, "GET", "/metrics", "").await.body;
    let expiry: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("chaincode_shim_tls_certificate_expiry_timestamp_seconds{"))
        .collect();
    assert_eq!(
        expiry,
        ["chaincode_shim_tls_certificate_expiry_timestamp_seconds{listener=\"chaincode\",subject=\"CN=ccaas test server (rotated)\",serial=\"7b18bf5899e26eb670d3616dbdcf32f1f308d43c\"} 4891363199"],
    );

    // A half-written rotation: the certificate cut short, the key of
    // another. The material in use stays.
    let rotated = pem("server.pem");
    volume.update(&[
        ("tls.crt", rotated[..rotated.len() / 2].to_vec()),
        ("tls.key", pem("server.key")),
        ("ca.crt", pem("ca.pem")),
    ]);
    assert_eq!(
        served_certificate(kv.addr()).await,
        der("server-rotated.pem")
    );
    let kept = kv
        .wait_for_line(
            "cannot be used: keeping the previous material",
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(kept.contains(" WARN "), "{kept}");
    assert!(kept.contains(&volume.file("tls.crt")), "{kept}");
    assert!(
        kept.contains("is not valid PEM") || kept.contains("holds no PEM"),
        "{kept}"
    );
    // Logged once, not at every handshake.
    assert_eq!(
        served_certificate(kv.addr()).await,
        der("server-rotated.pem")
    );
    let warned = kv
        .lines()
        .iter()
        .filter(|l| l.contains("keeping the previous material"))
        .count();
    assert_eq!(warned, 1);
    // Completed: used.
    volume.update(&[
        ("tls.crt", pem("server.pem")),
        ("tls.key", pem("server.key")),
        ("ca.crt", pem("ca.pem")),
    ]);
    assert_eq!(served_certificate(kv.addr()).await, der("server.pem"));
    assert_eq!(call(&old, &["ping"]).await, "pong");
}
