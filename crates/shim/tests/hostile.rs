//! The chaincode server against hostile clients (issue 22), over plain
//! TCP, TLS and mutual TLS: a stream that hoards transactions, silent
//! connections, too many connections, server-provoked resets
//! (MadeYouReset, CVE-2025-8671), rapid reset (CVE-2023-44487), too many
//! streams, oversized messages.
//!
//! The server runs in this process, so that memory, fds and threads are
//! read from /proc/self after each attack; the tests take turns (one lock)
//! so that each reads only its own. Every attack is bounded by a count and
//! a time and targets 127.0.0.1 only; every time below is a failure guard,
//! never a speed assertion. After each attack a well-behaved peer
//! completes a transaction (and during the attacks that do not shut it out
//! by design).
#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

mod common;
mod framer;

use bytes::Bytes;
use ccaas_peersim::{DialOptions, Simulator};
use ccaas_proto::MessageType;
use ccaas_shim::server::{DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_LOCAL_ERROR_RESETS};
use ccaas_shim::stream::DEFAULT_MAX_TRANSACTIONS_PER_STREAM;
use ccaas_shim::{
    Chaincode, ChaincodeServer, Response, ServerConfig, ServerError, Stub, TlsConfig,
};
use common::{fixture, plain_connection, tls_connection, CHANNEL, ID};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The failure guard of one step that should take milliseconds.
const GUARD: Duration = Duration::from_secs(15);

/// How far above the baseline fds, threads and memory may stay once an
/// attack is over and its sockets are closed.
const FD_MARGIN: usize = 16;
const THREAD_MARGIN: usize = 8;
const RSS_MARGIN_KIB: u64 = 64 * 1024;

/// One test at a time: they read this process's /proc.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Plain,
    Tls,
    Mutual,
}

const TRANSPORTS: [Transport; 3] = [Transport::Plain, Transport::Tls, Transport::Mutual];

fn connection(transport: Transport, address: SocketAddr) -> ccaas_core::Connection {
    match transport {
        Transport::Plain => plain_connection(address),
        Transport::Tls => tls_connection(address, false),
        Transport::Mutual => tls_connection(address, true),
    }
}

/// The rustls client of the peer for `transport` (`None`: plain).
fn client_tls(transport: Transport, address: SocketAddr) -> Option<Arc<rustls::ClientConfig>> {
    match transport {
        Transport::Plain => None,
        _ => Some(Arc::new(
            ccaas_peersim::dial::tls_config(&connection(transport, address)).unwrap(),
        )),
    }
}

/// `put K V` writes through the peer (a ledger request that a stalled peer
/// never answers); anything else answers at once.
struct Ledger;

impl Chaincode for Ledger {
    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, args) = stub.function_and_parameters();
        match (function.as_str(), args.as_slice()) {
            ("put", [key, value]) => match stub.put_state(key, value.as_bytes()).await {
                Ok(()) => Response::success("OK"),
                Err(e) => Response::error(e.to_string()),
            },
            _ => Response::success("pong"),
        }
    }
}

struct Server {
    address: SocketAddr,
    transport: Transport,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

async fn start(transport: Transport, tweak: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig::new(ID, "127.0.0.1:0".parse().unwrap());
    let tls = TlsConfig::new(fixture("tls/server.pem"), fixture("tls/server.key"));
    config.tls = match transport {
        Transport::Plain => None,
        Transport::Tls => Some(tls),
        Transport::Mutual => Some(tls.with_client_ca(fixture("tls/ca.pem"))),
    };
    config.shutdown_grace = Duration::from_secs(2);
    tweak(&mut config);
    let bound = ChaincodeServer::new(config, Ledger).bind().await.unwrap();
    let address = bound.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve_with_shutdown(async move {
        let _ = stopped.await;
    }));
    Server {
        address,
        transport,
        stop: Some(stop),
        task,
    }
}

impl Server {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(GUARD, &mut self.task).await;
        assert!(
            matches!(result, Ok(Ok(Ok(())))),
            "the server did not stop cleanly: {result:?}"
        );
    }

    fn tls(&self) -> Option<Arc<rustls::ClientConfig>> {
        client_tls(self.transport, self.address)
    }
}

/// A well-behaved peer dials, registers and completes one transaction.
async fn good_peer(server: &Server) -> Result<(), String> {
    let connection = connection(server.transport, server.address);
    let run = async {
        let session = Simulator::new(ID)
            .connect(&connection, &DialOptions::default())
            .await
            .map_err(|e| format!("dialling: {e}"))?;
        let outcome = session
            .invoke(CHANNEL, ["put", "good", "v"])
            .await
            .map_err(|e| format!("invoking: {e}"))?;
        session.close().await;
        if outcome.is_success() {
            Ok(())
        } else {
            Err(format!("the transaction failed: {outcome:?}"))
        }
    };
    tokio::time::timeout(GUARD, run)
        .await
        .unwrap_or_else(|_| Err(format!("no transaction within {GUARD:?}")))
}

async fn assert_good_peer(server: &Server, when: &str) {
    if let Err(e) = good_peer(server).await {
        panic!(
            "{:?}: a well-behaved peer could not transact {when}: {e}",
            server.transport
        );
    }
}

#[derive(Debug, Clone, Copy)]
struct Resources {
    rss_kib: u64,
    fds: usize,
    threads: usize,
}

/// The resources once the fd count has held still for 100 ms (or after
/// `GUARD`): what a baseline should be when connections may still be
/// closing.
async fn settled_resources() -> Resources {
    let deadline = tokio::time::Instant::now() + GUARD;
    let mut last = resources();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = resources();
        if now.fds == last.fds || tokio::time::Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn resources() -> Resources {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap()
    };
    Resources {
        rss_kib: field("VmRSS:"),
        threads: usize::try_from(field("Threads:")).unwrap(),
        fds: std::fs::read_dir("/proc/self/fd").unwrap().count(),
    }
}

/// Waits (bounded) until fds, threads and memory are back within the
/// margins of `baseline`, and says what they were.
async fn assert_settles(baseline: Resources, after: &str) -> Resources {
    let deadline = tokio::time::Instant::now() + GUARD;
    loop {
        let now = resources();
        if now.fds <= baseline.fds + FD_MARGIN
            && now.threads <= baseline.threads + THREAD_MARGIN
            && now.rss_kib <= baseline.rss_kib + RSS_MARGIN_KIB
        {
            eprintln!("{after}: baseline {baseline:?}, now {now:?}");
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{after}: resources did not come back (margins: {FD_MARGIN} fds, {THREAD_MARGIN} threads, \
             {RSS_MARGIN_KIB} KiB): baseline {baseline:?}, now {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's log lines, captured for every test of this binary (they
/// take turns, so each clears and reads its own).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    Arc::clone(LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(Arc::clone(&sink)))
            .try_init();
        buffer
    }))
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn clear_logs() {
    logs().lock().unwrap().clear();
}

fn count_lines(needle: &str) -> usize {
    let text = String::from_utf8_lossy(&logs().lock().unwrap()).into_owned();
    text.lines().filter(|l| l.contains(needle)).count()
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------
// 1. One stream must not starve the others.

/// Waits until `count` stops growing for a while (bounded), and returns it.
async fn settled_count(count: impl Fn() -> u64) -> u64 {
    let deadline = tokio::time::Instant::now() + GUARD;
    let mut last = count();
    let mut quiet_since = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = count();
        if now != last {
            last = now;
            quiet_since = tokio::time::Instant::now();
        } else if last > 0 && quiet_since.elapsed() >= Duration::from_millis(500) {
            return last;
        }
        if tokio::time::Instant::now() >= deadline {
            return last;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_requests_go_unanswered_does_not_starve_another() {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let baseline = resources();
        // 3,000 transactions, each waiting on a PUT_STATE the peer never
        // answers: more than the server-wide bound of 2,500.
        let hoarder = Simulator::new(ID)
            .stalled(true)
            .connect(
                &connection(transport, server.address),
                &DialOptions::default(),
            )
            .await
            .unwrap();
        let mut pending = Vec::new();
        for i in 0..3000 {
            let key = format!("h{i}");
            pending.push(
                hoarder
                    .invoke(CHANNEL, ["put", key.as_str(), "v"])
                    .start()
                    .unwrap(),
            );
        }
        let held = settled_count(|| hoarder.received(MessageType::PutState)).await;
        assert!(
            held >= 100,
            "{transport:?}: the attack did not take hold ({held} requests)"
        );
        // The second stream gets its turn while the first still holds its
        // share.
        assert_good_peer(&server, "while another stream hoards transactions").await;
        assert!(
            hoarder.received(MessageType::PutState) <= DEFAULT_MAX_TRANSACTIONS_PER_STREAM as u64,
            "{transport:?}: one stream ran {held} transactions at once, past its share of {DEFAULT_MAX_TRANSACTIONS_PER_STREAM}"
        );
        drop(pending);
        hoarder.close().await;
        assert_settles(baseline, &format!("{transport:?} hoarding stream")).await;
        assert_good_peer(&server, "after a stream hoarded transactions").await;
        server.stop().await;
    }
}

/// The profile a real peer drives (4 streams x 64 transactions in flight)
/// is never held back: every transaction of every stream runs at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_streams_of_64_transactions_all_run_at_once() {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let mut sessions = Vec::new();
        for _ in 0..4 {
            sessions.push(
                Simulator::new(ID)
                    .stalled(true)
                    .connect(
                        &connection(transport, server.address),
                        &DialOptions::default(),
                    )
                    .await
                    .unwrap(),
            );
        }
        let mut pending = Vec::new();
        for (s, session) in sessions.iter().enumerate() {
            for i in 0..64 {
                let key = format!("s{s}-{i}");
                pending.push(
                    session
                        .invoke(CHANNEL, ["put", key.as_str(), "v"])
                        .start()
                        .unwrap(),
                );
            }
        }
        for session in &sessions {
            // Each stalled PUT_STATE is a transaction running.
            let all = session
                .wait_until(GUARD, |s| s.received(MessageType::PutState) == 64)
                .await;
            assert!(
                all,
                "{transport:?}: {} of 64 transactions ran at once on a stream",
                session.received(MessageType::PutState)
            );
        }
        drop(pending);
        for session in sessions {
            session.close().await;
        }
        server.stop().await;
    }
}

// ---------------------------------------------------------------------
// 2. Idle connections, and the connection limit.

/// Whether the server closes `io` within the guard (EOF or an error).
async fn closed_by_server<R: tokio::io::AsyncRead + Unpin>(io: &mut R) -> bool {
    closed_before(io, tokio::time::Instant::now() + GUARD).await
}

/// Whether the server closes `io` before `deadline`.
async fn closed_before<R: tokio::io::AsyncRead + Unpin>(
    io: &mut R,
    deadline: tokio::time::Instant,
) -> bool {
    let mut byte = [0u8; 64];
    loop {
        match tokio::time::timeout_at(deadline, io.read(&mut byte)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // The server's SETTINGS, if it ever sends any: keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_do_not_start_http2_are_closed_after_the_deadline() {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |c| {
            c.handshake_timeout = Duration::from_secs(2);
        })
        .await;
        let baseline = resources();
        // 40 silent connections (TLS: handshake finished, then nothing),
        // and 10 that send half the preface and stall.
        let mut idle: Vec<Box<dyn framer::Io>> = Vec::new();
        for i in 0..50 {
            let mut io = framer::dial(server.address, server.tls()).await.unwrap();
            if i >= 40 {
                io.write_all(&framer::PREFACE[..10]).await.unwrap();
                io.flush().await.unwrap();
            }
            idle.push(io);
        }
        assert_good_peer(&server, "beside silent connections").await;
        let deadline = tokio::time::Instant::now() + GUARD;
        let closed =
            futures_util::future::join_all(idle.iter_mut().map(|io| closed_before(io, deadline)))
                .await
                .into_iter()
                .filter(|closed| *closed)
                .count();
        assert_eq!(
            closed, 50,
            "{transport:?}: only {closed} of 50 connections that never started HTTP/2 were closed"
        );
        drop(idle);
        assert_settles(baseline, &format!("{transport:?} silent connections")).await;
        assert_good_peer(&server, "after silent connections").await;
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_and_a_peer_gets_in_after() {
    let _serial = SERIAL.lock().await;
    clear_logs();
    for transport in TRANSPORTS {
        let server = start(transport, |c| {
            c.max_connections = 20;
            c.handshake_timeout = Duration::from_secs(60);
        })
        .await;
        // Settled first: the fds of the previous server may still be
        // closing, and the count below waits for exactly 40 more.
        let baseline = settled_resources().await;
        let mut held = Vec::new();
        for _ in 0..20 {
            held.push(framer::dial(server.address, server.tls()).await.unwrap());
        }
        // Wait until the server has taken all 20 in: their server ends are
        // fds of this process too.
        let deadline = tokio::time::Instant::now() + GUARD;
        while resources().fds < baseline.fds + 40 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{transport:?}: the server did not accept 20 connections: {:?}",
                resources()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Past the limit: closed at once (TLS: the handshake fails).
        for _ in 0..10 {
            match tokio::time::timeout(GUARD, framer::dial(server.address, server.tls())).await {
                Err(_) => panic!("{transport:?}: dialling past the limit hung"),
                Ok(Err(_)) => {}
                Ok(Ok(mut io)) => assert!(
                    closed_by_server(&mut io).await,
                    "{transport:?}: a connection past the limit of 20 was kept open"
                ),
            }
        }
        // The ones held were not touched.
        for io in &mut held {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_millis(20), io.read(&mut byte)).await;
            assert!(
                read.is_err(),
                "{transport:?}: a connection within the limit was closed"
            );
        }
        drop(held);
        assert_settles(baseline, &format!("{transport:?} connection limit")).await;
        assert_good_peer(&server, "after the connection limit was reached").await;
        server.stop().await;
    }
    let refusals = count_lines("connections are open");
    assert!(refusals >= 1, "no log line said the limit was reached");
    assert!(
        refusals <= 3,
        "the limit's line is not rate-limited: {refusals} lines for 30 refusals"
    );
}

// ---------------------------------------------------------------------
// 3. Server-provoked resets (MadeYouReset) and rapid reset.

/// What a raw attack connection saw.
#[derive(Debug, Default)]
struct Seen {
    goaway: Option<u32>,
    resets: usize,
    settings: Vec<(u16, u32)>,
}

/// Opens a raw HTTP/2 connection and sends `per_stream(id)` for up to
/// `streams` streams, in batches, until the server says GOAWAY or closes
/// the connection. Returns what it saw and how many streams it sent.
async fn attack(server: &Server, streams: u32, per_stream: impl Fn(u32) -> Vec<u8>) -> (Seen, u32) {
    let io = framer::dial(server.address, server.tls()).await.unwrap();
    let (read, mut write) = tokio::io::split(io);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&stop);
    let reader = tokio::spawn(async move {
        let mut reader = framer::Reader::new(read);
        let mut seen = Seen::default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, reader.next()).await {
            match frame.kind {
                framer::GOAWAY => {
                    seen.goaway = frame.error_code();
                    done.store(true, Ordering::SeqCst);
                }
                framer::RST_STREAM => seen.resets += 1,
                framer::SETTINGS if frame.flags & framer::ACK == 0 => {
                    seen.settings = frame.settings()
                }
                _ => {}
            }
        }
        done.store(true, Ordering::SeqCst);
        seen
    });
    let mut sent = 0u32;
    let mut batch = framer::client_start();
    batch.extend_from_slice(&framer::settings_ack());
    while sent < streams && !stop.load(Ordering::SeqCst) {
        for _ in 0..50 {
            if sent < streams {
                batch.extend_from_slice(&per_stream(2 * sent + 1));
                sent += 1;
            }
        }
        if !framer::send(&mut write, &batch).await {
            break;
        }
        batch.clear();
        tokio::task::yield_now().await;
    }
    // Then stay until the server closes (bounded by the reader's deadline).
    let seen = reader.await.unwrap();
    drop(write);
    (seen, sent)
}

/// A Connect stream opened, then a WINDOW_UPDATE that overflows its send
/// window: a stream error the server must answer with RST_STREAM
/// (FLOW_CONTROL_ERROR), the MadeYouReset primitive.
fn made_you_reset(id: u32) -> Vec<u8> {
    let mut out = framer::connect_headers(id);
    out.extend_from_slice(&framer::window_update(id, 0x7fff_ffff));
    out
}

/// A reset attack on each transport, `streams` streams of `per_stream`,
/// while a well-behaved peer transacts: the connection ends with GOAWAY
/// `ENHANCE_YOUR_CALM` (then `check` looks at what the attacker saw), the
/// good peer is served during and after, the streams' log lines are
/// rate-limited, and the server's resources settle back.
async fn assert_reset_attack_ends_with_goaway(
    attack_name: &str,
    streams: u32,
    per_stream: fn(u32) -> Vec<u8>,
    check: impl Fn(Transport, &Seen),
) {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let baseline = resources();
        clear_logs();
        let (attacked, good) = tokio::join!(attack(&server, streams, per_stream), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            good_peer(&server).await
        });
        let (seen, sent) = attacked;
        eprintln!(
            "{transport:?} {attack_name}: {sent} streams sent, {seen:?}, during: {:?}",
            resources()
        );
        assert_eq!(
            seen.goaway,
            Some(framer::ENHANCE_YOUR_CALM),
            "{transport:?} {attack_name}: {sent} streams sent, and no GOAWAY: {seen:?}"
        );
        check(transport, &seen);
        if let Err(e) = good {
            panic!("{transport:?}: a well-behaved peer could not transact during the attack: {e}");
        }
        let opened = count_lines("opened a stream");
        assert!(
            opened <= 40,
            "{transport:?}: {opened} log lines for the streams of one attack: not rate-limited"
        );
        assert_settles(baseline, &format!("{transport:?} {attack_name}")).await;
        assert_good_peer(&server, &format!("after a {attack_name} attack")).await;
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_provoked_resets_end_the_connection_with_goaway() {
    assert_reset_attack_ends_with_goaway("MadeYouReset", 20_000, made_you_reset, |transport, seen| {
        assert!(
            seen.resets <= DEFAULT_MAX_LOCAL_ERROR_RESETS + 1,
            "{transport:?}: the server reset {} streams before GOAWAY, past its bound of {DEFAULT_MAX_LOCAL_ERROR_RESETS}",
            seen.resets
        );
    })
    .await;
}

/// A Connect stream opened and cancelled at once (CVE-2023-44487).
fn rapid_reset(id: u32) -> Vec<u8> {
    let mut out = framer::connect_headers(id);
    out.extend_from_slice(&framer::rst_stream(id, framer::CANCEL));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_ends_the_connection_with_goaway() {
    assert_reset_attack_ends_with_goaway("rapid reset", 100_000, rapid_reset, |_, _| {}).await;
}

// ---------------------------------------------------------------------
// 4. SETTINGS_MAX_CONCURRENT_STREAMS.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_advertises_its_stream_limit_and_refuses_streams_past_it() {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let baseline = resources();
        let limit = DEFAULT_MAX_CONCURRENT_STREAMS;
        let extra = 4;
        let io = framer::dial(server.address, server.tls()).await.unwrap();
        let (read, mut write) = tokio::io::split(io);
        let mut reader = framer::Reader::new(read);
        assert!(framer::send(&mut write, &framer::client_start()).await);
        let settings = loop {
            let frame = tokio::time::timeout(GUARD, reader.next())
                .await
                .unwrap()
                .unwrap();
            if frame.kind == framer::SETTINGS && frame.flags & framer::ACK == 0 {
                break frame.settings();
            }
        };
        assert!(
            settings.contains(&(framer::SETTINGS_MAX_CONCURRENT_STREAMS, limit)),
            "{transport:?}: the server's SETTINGS do not limit streams to {limit}: {settings:?}"
        );
        let mut out = framer::settings_ack();
        for n in 0..limit + extra {
            out.extend_from_slice(&framer::connect_headers(2 * n + 1));
        }
        assert!(framer::send(&mut write, &out).await);
        let mut refused = Vec::new();
        let deadline = tokio::time::Instant::now() + GUARD;
        while refused.len() < extra as usize {
            match tokio::time::timeout_at(deadline, reader.next()).await {
                Ok(Some(frame)) => {
                    if frame.kind == framer::RST_STREAM
                        && frame.error_code() == Some(framer::REFUSED_STREAM)
                    {
                        refused.push(frame.stream);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        let past: Vec<u32> = (limit..limit + extra).map(|n| 2 * n + 1).collect();
        assert_eq!(
            refused, past,
            "{transport:?}: the streams past the limit of {limit} were not refused"
        );
        assert_good_peer(&server, "while a connection holds every stream it may").await;
        drop((reader, write));
        assert_settles(baseline, &format!("{transport:?} streams past the limit")).await;
        server.stop().await;
    }
}

// ---------------------------------------------------------------------
// 5. Oversized messages.

/// Opens a Connect call with a raw HTTP/2 client, sends a gRPC length
/// prefix of `length` and then up to `body` bytes of it, and returns the
/// call's `grpc-status` and `grpc-message`.
async fn oversized(server: &Server, length: u32, body: usize) -> (String, String) {
    let io = framer::dial(server.address, server.tls()).await.unwrap();
    let (mut client, connection) = h2::client::handshake(io).await.unwrap();
    let driver = tokio::spawn(connection);
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://127.0.0.1{}", ccaas_proto::CONNECT_PATH))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    let mut prefix = vec![0u8];
    prefix.extend_from_slice(&length.to_be_bytes());
    send.send_data(Bytes::from(prefix), false).unwrap();
    // The body, a MiB at a time as the flow control allows, until the
    // server stops taking it.
    let sender = tokio::spawn(async move {
        let chunk = Bytes::from(vec![0x5a; 1 << 20]);
        let mut left = body;
        while left > 0 {
            let n = left.min(chunk.len());
            send.reserve_capacity(n);
            let granted = std::future::poll_fn(|cx| send.poll_capacity(cx)).await;
            let Some(Ok(granted)) = granted else { break };
            let n = n.min(granted);
            if send.send_data(chunk.slice(..n), false).is_err() {
                break;
            }
            left -= n;
        }
    });
    let run = async {
        let response = response.await.unwrap();
        let (head, mut body) = response.into_parts();
        let mut status = head.headers.get("grpc-status").cloned();
        let mut message = head.headers.get("grpc-message").cloned();
        if status.is_none() {
            while let Some(data) = body.data().await {
                let Ok(data) = data else { break };
                let _ = body.flow_control().release_capacity(data.len());
            }
            if let Ok(Some(trailers)) = body.trailers().await {
                status = trailers.get("grpc-status").cloned();
                message = trailers.get("grpc-message").cloned();
            }
        }
        let text = |v: Option<http::HeaderValue>| {
            v.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default()
        };
        (text(status), text(message))
    };
    let result = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("no grpc-status within 60 s");
    sender.abort();
    driver.abort();
    result
}

/// grpc-message is percent-encoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_ends_the_stream_with_resource_exhausted() {
    let _serial = SERIAL.lock().await;
    clear_logs();
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let baseline = resources();
        for (length, body, shown) in [
            (u32::MAX, 0usize, "4294967295"),
            (120 << 20, 120 << 20, "125829120"),
        ] {
            let (status, message) = oversized(&server, length, body).await;
            let message = percent_decoded(&message);
            assert_eq!(
                status, "8",
                "{transport:?}: a {shown}-byte message ended the stream with status {status:?} ({message:?}), not RESOURCE_EXHAUSTED"
            );
            assert!(
                message
                    == format!("grpc: received message larger than max ({shown} vs. 104857600)"),
                "{transport:?}: {message}"
            );
            assert_good_peer(&server, "after an oversized message").await;
        }
        assert_settles(baseline, &format!("{transport:?} oversized messages")).await;
        server.stop().await;
    }
    let logged = log_text();
    let warned: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("CHAINCODE_MAX_MESSAGE_SIZE"))
        .collect();
    assert_eq!(
        warned.len(),
        6,
        "one WARN line per oversized message: {logged}"
    );
    assert!(
        warned
            .iter()
            .any(|l| l.contains("4294967295") && l.contains("104857600")),
        "{warned:?}"
    );
}

/// A plain-text client on a TLS port, or garbage for a preface: closed,
/// and the server goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_a_preface_is_closed() {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let baseline = resources();
        for _ in 0..20 {
            let mut io = framer::dial(server.address, server.tls()).await.unwrap();
            let _ = io
                .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .await;
            assert!(
                closed_by_server(&mut io).await,
                "{transport:?}: an HTTP/1.1 request was kept open"
            );
        }
        let mut tcp = TcpStream::connect(server.address).await.unwrap();
        let _ = tcp.write_all(&[0x16; 512]).await;
        assert!(closed_by_server(&mut tcp).await);
        drop(tcp);
        assert_settles(baseline, &format!("{transport:?} garbage")).await;
        assert_good_peer(&server, "after garbage").await;
        server.stop().await;
    }
}

// ---------------------------------------------------------------------
// 6. Log lines a flood can trigger.

/// A registered stream that sends thousands of answers no request waits
/// for (each one a WARN line before) writes a few lines a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unexpected_messages_writes_a_few_lines() {
    let _serial = SERIAL.lock().await;
    for transport in TRANSPORTS {
        let server = start(transport, |_| {}).await;
        let baseline = resources();
        clear_logs();
        let started = std::time::Instant::now();
        let session = Simulator::new(ID)
            .connect(
                &connection(transport, server.address),
                &DialOptions::default(),
            )
            .await
            .unwrap();
        for i in 0..2000 {
            let txid = format!("nobody-waits-{i}");
            session
                .send_raw(ccaas_proto::ChaincodeMessage::for_tx(
                    MessageType::Response,
                    Vec::new(),
                    CHANNEL,
                    &txid,
                ))
                .unwrap();
        }
        // The stream handles its messages in order: once this transaction
        // is answered, every answer before it has been handled.
        let outcome = tokio::time::timeout(GUARD, session.invoke(CHANNEL, ["ping"]))
            .await
            .unwrap()
            .unwrap();
        assert!(outcome.is_success(), "{outcome:?}");
        let seconds = started.elapsed().as_secs() as usize;
        let lines = count_lines("ignoring an answer from the peer");
        assert!(
            (1..=10 * (seconds + 1)).contains(&lines),
            "{transport:?}: {lines} lines for 2000 unexpected messages in {seconds} s"
        );
        session.close().await;
        assert_settles(baseline, &format!("{transport:?} message flood")).await;
        server.stop().await;
    }
}
