//! The `kv` example's `bench` function, and the load driver
//! (`ccaas_peersim::load`) run against `kv` and the `echo` wire floor over
//! real sockets. Functional only: no timing is asserted.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use ccaas_peersim::load::{self, LoadConfig, Server, Stop, Workload};
use ccaas_peersim::{DialOptions, Simulator};
use common::*;
use std::ffi::OsString;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

fn echo_binary() -> PathBuf {
    kv_binary().with_file_name("echo")
}

/// A loopback port free a moment ago (for a server the driver starts).
fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `program` started by the driver through env(1), with the server's
/// variables (the driver passes its own environment on).
fn spawned(program: PathBuf, address: SocketAddr, extra: &[(&str, String)]) -> Server {
    let mut args: Vec<OsString> = vec![
        format!("CHAINCODE_ID={ID}").into(),
        format!("CHAINCODE_SERVER_ADDRESS={address}").into(),
    ];
    args.extend(
        extra
            .iter()
            .map(|(k, v)| OsString::from(format!("{k}={v}"))),
    );
    args.push(program.into());
    Server::Spawn {
        program: "env".into(),
        args,
        log: None,
    }
}

#[tokio::test]
async fn bench_reads_in_order_then_writes_the_txid_repeated() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    session.put_state(CHANNEL, "t:r0", "abc");
    session.put_state(CHANNEL, "t:r1", "defgh");
    let pending = session
        .invoke(CHANNEL, ["bench", "3", "2", "70", "t"])
        .start()
        .unwrap();
    let txid = pending.txid().to_owned();
    let outcome = pending.await.unwrap();
    // t:r2 is absent: it counts 0.
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.payload(), b"8");
    let mut want = txid.clone().into_bytes();
    want.extend_from_slice(&txid.as_bytes()[..70 - txid.len()]);
    for key in ["t:w0", "t:w1"] {
        assert_eq!(session.get_state(CHANNEL, key), Some(want.clone()), "{key}");
    }
    assert_eq!(session.get_state(CHANNEL, "t:w2"), None);
    assert_eq!(session.received(ccaas_proto::MessageType::GetState), 3);
    assert_eq!(session.received(ccaas_proto::MessageType::PutState), 2);
}

#[tokio::test]
async fn bench_defaults_its_key_and_moves_100_kib_values() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    session.put_state(CHANNEL, "bench:r0", vec![7u8; 102_400]);
    assert_eq!(
        call(&session, &["bench", "1", "1", "102400"]).await,
        "102400"
    );
    assert_eq!(
        session.get_state(CHANNEL, "bench:w0").map(|v| v.len()),
        Some(102_400)
    );
    assert_eq!(call(&session, &["bench", "0", "0", "0"]).await, "0");
}

#[tokio::test]
async fn bench_refuses_what_it_cannot_run() {
    let kv = Kv::plain(&[]);
    let session = session(kv.addr()).await;
    let usage = "usage: bench R W V [KEY] (R and W up to 10000, V up to 16777216)";
    for args in [
        &["bench", "1", "1"][..],
        &["bench", "1", "1", "+5"],
        &["bench", "-1", "1", "5"],
        &["bench", "10001", "0", "0"],
        &["bench", "0", "1", "16777217"],
        &["bench", "1", "1", "1", "k", "extra"],
    ] {
        assert_eq!(call_err(&session, args).await, usage, "{args:?}");
    }
}

#[tokio::test]
async fn the_driver_runs_its_count_on_every_stream_and_reads_the_servers_proc() {
    let kv = Kv::plain(&[]);
    let mut config = LoadConfig::new(ID, plain_connection(kv.addr()));
    config.streams = 2;
    config.in_flight = 4;
    config.workload = Workload {
        reads: 2,
        writes: 1,
        value_bytes: 300,
        key: "d".into(),
    };
    config.stop = Stop::Count(200);
    config.server = Server::Pid(kv.child.id());
    let report = load::run(&config).await.unwrap();
    assert_eq!((report.transactions, report.failures), (200, 0), "{report}");
    assert!(report.latency.p50 > std::time::Duration::ZERO);
    assert!(report.latency.p50 <= report.latency.p99);
    assert!(report.latency.p99 <= report.latency.max);
    let server = report.server.unwrap();
    assert_eq!(server.pid, kv.child.id());
    assert!(server.rss_idle_bytes > 0 && server.rss_peak_bytes >= server.rss_idle_bytes);
    assert!(report.startup.is_none());
    let line = report.line();
    assert!(
        line.starts_with(
            "streams=2 in_flight=4 reads=2 writes=1 value_bytes=300 tx=200 failures=0 "
        ),
        "{line}"
    );
    // The server saw every transaction's requests: a stream of our own
    // afterwards still works (the server is fine).
    let check = session(kv.addr()).await;
    assert_eq!(call(&check, &["ping"]).await, "pong");
}

#[tokio::test]
async fn the_driver_starts_the_server_times_its_registration_and_stops_it() {
    let address = free_address();
    let server = fixture("tls/server.pem").display().to_string();
    let key = fixture("tls/server.key").display().to_string();
    let ca = fixture("tls/ca.pem").display().to_string();
    let mut config = LoadConfig::new(ID, tls_connection(address, true));
    config.in_flight = 3;
    config.stop = Stop::Count(30);
    config.server = spawned(
        kv_binary(),
        address,
        &[
            ("CHAINCODE_TLS_CERT", server),
            ("CHAINCODE_TLS_KEY", key),
            ("CHAINCODE_CLIENT_CA_CERT", ca),
        ],
    );
    let report = load::run(&config).await.unwrap();
    assert_eq!((report.transactions, report.failures), (30, 0), "{report}");
    assert!(report.startup.is_some());
    assert!(report.server.is_some());
    // Killed at the end of the run: nothing answers any more.
    let dialled = Simulator::new(ID)
        .connect(&tls_connection(address, true), &DialOptions::default())
        .await;
    assert!(dialled.is_err(), "the server still answers");
}

#[tokio::test]
async fn the_driver_counts_failures_and_keeps_the_first() {
    let kv = Kv::plain(&[]);
    let mut config = LoadConfig::new(ID, plain_connection(kv.addr()));
    config.in_flight = 2;
    // Past bench's largest value: kv answers a usage error.
    config.workload.value_bytes = 16_777_217;
    config.stop = Stop::Count(10);
    let report = load::run(&config).await.unwrap();
    assert_eq!((report.transactions, report.failures), (0, 10));
    let first = report.first_failure.unwrap();
    assert!(
        first.starts_with("COMPLETED status 500: usage: bench R W V"),
        "{first}"
    );
}

#[tokio::test]
async fn the_driver_against_the_echo_wire_floor() {
    let address = free_address();
    let mut config = LoadConfig::new(ID, plain_connection(address));
    config.streams = 2;
    config.in_flight = 8;
    config.stop = Stop::Count(500);
    config.server = spawned(echo_binary(), address, &[]);
    // echo runs no chaincode: its payloads are empty.
    config.verify = true;
    let report = load::run(&config).await.unwrap();
    assert_eq!((report.transactions, report.failures), (0, 500));
    config.verify = false;
    let report = load::run(&config).await.unwrap();
    assert_eq!((report.transactions, report.failures), (500, 0), "{report}");
    assert!(report.startup.is_some() && report.server.is_some());
}

#[tokio::test]
async fn a_server_that_exits_at_once_is_reported_with_its_status() {
    let mut config = LoadConfig::new(ID, plain_connection(free_address()));
    // No CHAINCODE_ID: kv refuses to start.
    config.server = Server::Spawn {
        program: kv_binary().into(),
        args: Vec::new(),
        log: None,
    };
    let err = load::run(&config).await.map(|_| ()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the server exited before it registered"),
        "{err}"
    );
}
