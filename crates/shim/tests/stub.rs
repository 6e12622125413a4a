//! The stub and the stream engine with chaincode of the tests' own, served
//! in this process on a real socket and driven by the peer simulator.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use ccaas_peersim::{Creator, DialOptions, Profile, Session, Simulator, TxOutcome};
use ccaas_proto::MessageType;
use ccaas_shim::{Chaincode, ChaincodeServer, Response, ServerConfig, Stub, StubError};
use common::{fixture_text, plain_connection, CHANNEL, ID};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How many `counted` transactions ran, in any test of this file.
static COUNTED: AtomicUsize = AtomicUsize::new(0);

/// A chaincode whose functions show what the stub sees.
#[derive(Default)]
struct Probe {
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Probe {
    async fn run(&self, stub: &Stub) -> Result<Vec<u8>, StubError> {
        let (function, args) = stub.function_and_parameters();
        Ok(match function.as_str() {
            // Two gets at once: they must queue, not pipeline.
            "join" => {
                let (a, b) = tokio::join!(stub.get_state(&args[0]), stub.get_state(&args[1]));
                format!("{}+{}", text(&a?.unwrap_or_default()), text(&b?.unwrap_or_default())).into_bytes()
            }
            "context" => serde_json::json!({
                "txid": stub.tx_id(),
                "channel": stub.channel_id(),
                "args": stub.string_args(),
                "params": stub.parameters().len(),
                "mspid": stub.creator().map(|c| c.mspid.clone()),
                "creator_is_pem": stub.creator().is_some_and(|c| c.id_bytes.starts_with(b"-----BEGIN CERTIFICATE-----")),
                "transient": stub.transient().get("secret").map(|v| text(v)),
                "decoration": stub.decorations().get("deco").map(|v| text(v)),
                "has_timestamp": stub.tx_timestamp().is_some_and(|t| t.seconds > 1_700_000_000),
                "binding_len": stub.binding().map(<[u8]>::len),
                "has_proposal": stub.signed_proposal().is_some(),
                "is_init": stub.is_init(),
            })
            .to_string()
            .into_bytes(),
            "capabilities" => {
                let c = stub.peer_capabilities();
                format!("{:?}/{:?}", c.write_batch(), c.get_multiple()).into_bytes()
            }
            "event" => {
                stub.set_event(&args[0], args[1].as_bytes())?;
                b"evented".to_vec()
            }
            "status" => {
                stub.set_event("dropped", b"x".to_vec())?;
                return Err(StubError::EmptyEventName);
            }
            "badkeys" => {
                let mut errors = Vec::new();
                errors.push(stub.put_state("", b"v".to_vec()).await.err().map(|e| e.to_string()));
                errors.push(stub.put_private_data("", "k", b"v".to_vec()).await.err().map(|e| e.to_string()));
                errors.push(stub.get_state_by_range("\u{0}a", "").await.err().map(|e| e.to_string()));
                errors.push(stub.set_event("", b"v".to_vec()).err().map(|e| e.to_string()));
                serde_json::to_vec(&errors).unwrap_or_default()
            }
            "firstof" => {
                // Read one record and drop the iterator: it is closed at the
                // peer before the next request.
                let mut range = stub.get_state_by_range(&args[0], "").await?;
                let first = range.next().await.transpose()?.map(|kv| kv.key).unwrap_or_default();
                drop(range);
                let _ = stub.get_state("after").await?;
                first.into_bytes()
            }
            "busy" => {
                let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_at_once.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                self.most_at_once.load(Ordering::SeqCst).to_string().into_bytes()
            }
            "twice" => {
                let first = stub.get_state("a").await.err().map(|e| e.to_string());
                let second = stub.get_state("b").await.err().map(|e| e.to_string());
                serde_json::to_vec(&(first, second)).unwrap_or_default()
            }
            "counted" => {
                COUNTED.fetch_add(1, Ordering::SeqCst);
                b"counted".to_vec()
            }
            "wait" => {
                let _ = stub.get_state("k").await?;
                b"done".to_vec()
            }
            other => format!("unknown {other}").into_bytes(),
        })
    }
}

impl Chaincode for Probe {
    async fn init(&self, stub: &Stub) -> Response {
        Response::success(format!("init {}", stub.is_init()))
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        match self.run(stub).await {
            Ok(payload) => Response::success(payload),
            Err(StubError::EmptyEventName) => Response {
                status: 400,
                message: "refused".into(),
                payload: Vec::new(),
            },
            Err(e) => Response::error(e.to_string()),
        }
    }
}

struct Served {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), ccaas_shim::ServerError>>,
}

async fn serve(configure: impl FnOnce(&mut ServerConfig)) -> Served {
    let mut config = ServerConfig::new(ID, "127.0.0.1:0".parse().unwrap());
    configure(&mut config);
    let bound = ChaincodeServer::new(config, Probe::default())
        .bind()
        .await
        .unwrap();
    let address = bound.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    Served {
        address,
        stop: Some(stop),
        done,
    }
}

impl Served {
    async fn session(&self, simulator: Simulator) -> Session {
        simulator
            .connect(&plain_connection(self.address), &DialOptions::default())
            .await
            .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), self.done).await;
        assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
    }
}

async fn payload(session: &Session, args: &[&str]) -> String {
    let outcome = session.invoke(CHANNEL, args.iter().copied()).await.unwrap();
    assert!(outcome.is_success(), "{args:?}: {outcome:?}");
    text(outcome.payload())
}

#[tokio::test]
async fn requests_made_at_once_queue_instead_of_being_dropped() {
    let served = serve(|_| {}).await;
    // The simulated peer holds each request 50 ms: a second one sent while
    // the first is pending would be dropped, as the peer does.
    let session = served
        .session(Simulator::new(ID).request_delay(Duration::from_millis(50)))
        .await;
    session.put_state(CHANNEL, "a", "1");
    session.put_state(CHANNEL, "b", "2");
    assert_eq!(payload(&session, &["join", "a", "b"]).await, "1+2");
    assert_eq!(session.dropped_requests(), 0);
    served.stop().await;
}

#[tokio::test]
async fn the_stub_sees_the_proposal() {
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    let creator = Creator::new("Org2MSP", fixture_text("tls/client.pem"));
    let outcome = session
        .invoke(CHANNEL, ["context", "p1", "p2"])
        .creator(creator)
        .transient("secret", "s3cr3t")
        .decoration("deco", "rated")
        .await
        .unwrap();
    let seen: serde_json::Value = serde_json::from_slice(outcome.payload()).unwrap();
    assert_eq!(seen["channel"], CHANNEL);
    assert_eq!(seen["args"], serde_json::json!(["context", "p1", "p2"]));
    assert_eq!(seen["params"], 2);
    assert_eq!(seen["mspid"], "Org2MSP");
    assert_eq!(seen["creator_is_pem"], true);
    assert_eq!(seen["transient"], "s3cr3t");
    assert_eq!(seen["decoration"], "rated");
    assert_eq!(seen["has_timestamp"], true);
    assert_eq!(seen["binding_len"], 32);
    assert_eq!(seen["has_proposal"], true);
    assert_eq!(seen["is_init"], false);
    assert_eq!(seen["txid"].as_str().map(str::len), Some(64));

    let bare = session
        .invoke(CHANNEL, ["context"])
        .without_proposal()
        .await
        .unwrap();
    let seen: serde_json::Value = serde_json::from_slice(bare.payload()).unwrap();
    assert_eq!(seen["has_proposal"], false);
    assert_eq!(seen["mspid"], serde_json::Value::Null);
    served.stop().await;
}

#[tokio::test]
async fn init_runs_the_chaincodes_init() {
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    let outcome = session
        .invoke(CHANNEL, ["anything"])
        .init(true)
        .await
        .unwrap();
    assert_eq!(text(outcome.payload()), "init true");
    served.stop().await;
}

#[tokio::test]
async fn ready_parameters_are_kept_per_profile() {
    let served = serve(|_| {}).await;
    let v25 = served.session(Simulator::new(ID)).await;
    assert_eq!(payload(&v25, &["capabilities"]).await, "None/None");
    let v31 = served
        .session(Simulator::new(ID).profile(Profile::V3_1))
        .await;
    assert_eq!(
        payload(&v31, &["capabilities"]).await,
        "Some(1000)/Some(1000)"
    );
    served.stop().await;
}

#[tokio::test]
async fn events_go_with_a_successful_answer() {
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    let outcome = session
        .invoke(CHANNEL, ["event", "Moved", "{}"])
        .await
        .unwrap();
    match outcome {
        TxOutcome::Completed {
            event: Some(event), ..
        } => {
            assert_eq!(event.event_name, "Moved");
            assert_eq!(event.payload, b"{}");
        }
        other => panic!("{other:?}"),
    }
    served.stop().await;
}

#[tokio::test]
async fn status_400_and_above_is_not_endorsable() {
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    let outcome = session.invoke(CHANNEL, ["status"]).await.unwrap();
    assert!(!outcome.is_success());
    assert_eq!(outcome.response().map(|r| r.status), Some(400));
    served.stop().await;
}

#[tokio::test]
async fn keys_the_go_shim_refuses_are_refused_before_any_request() {
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    let errors: Vec<Option<String>> =
        serde_json::from_str(&payload(&session, &["badkeys"]).await).unwrap();
    assert_eq!(
        errors,
        vec![
            Some(r#"invalid key "": a key must not be empty"#.to_owned()),
            Some("collection must not be an empty string".to_owned()),
            Some(r#"invalid key "\0a": a simple key must not start with U+0000, which marks composite keys"#.to_owned()),
            Some("an event name must not be empty".to_owned()),
        ]
    );
    assert_eq!(session.received(MessageType::PutState), 0);
    assert_eq!(session.received(MessageType::GetStateByRange), 0);
    served.stop().await;
}

#[tokio::test]
async fn a_dropped_iterator_is_closed_before_the_next_request() {
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    for i in 0..150 {
        session.put_state(CHANNEL, &format!("i{i:03}"), "v");
    }
    assert_eq!(payload(&session, &["firstof", "i"]).await, "i000");
    assert_eq!(session.received(MessageType::QueryStateClose), 1);
    assert_eq!(session.received(MessageType::QueryStateNext), 0);
    served.stop().await;
}

#[tokio::test]
async fn past_the_bound_transactions_wait_and_none_is_dropped() {
    let served = serve(|c| c.max_concurrent_transactions = 3).await;
    let session = served.session(Simulator::new(ID)).await;
    let mut pending = Vec::new();
    for _ in 0..30 {
        pending.push(session.invoke(CHANNEL, ["busy"]).start().unwrap());
    }
    let mut most = 0;
    for p in pending {
        let outcome = p.await.unwrap();
        assert!(outcome.is_success());
        most = most.max(text(outcome.payload()).parse::<usize>().unwrap());
    }
    assert_eq!(most, 3);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_that_come_and_go_leave_no_task_behind() {
    let served = serve(|_| {}).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    // Warm up, then count.
    served.session(Simulator::new(ID)).await.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = metrics.num_alive_tasks();
    for _ in 0..25 {
        let session = served.session(Simulator::new(ID).stalled(true)).await;
        let mut pending = Vec::new();
        for _ in 0..8 {
            pending.push(session.invoke(CHANNEL, ["wait"]).start().unwrap());
        }
        assert!(
            session
                .wait_until(Duration::from_secs(5), |s| s
                    .received(MessageType::GetState)
                    == 8)
                .await
        );
        session.close().await;
        for p in pending {
            assert!(p.await.is_err());
        }
    }
    let mut after = metrics.num_alive_tasks();
    for _ in 0..100 {
        if after <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = metrics.num_alive_tasks();
    }
    assert!(after <= before, "{before} tasks before, {after} after");
    served.stop().await;
}

#[tokio::test]
async fn shutdown_closes_every_stream_and_returns_ok() {
    let served = serve(|_| {}).await;
    let first = served.session(Simulator::new(ID)).await;
    let second = served.session(Simulator::new(ID)).await;
    served.stop().await;
    assert!(first.wait_ended(Duration::from_secs(5)).await.is_some());
    assert!(second.wait_ended(Duration::from_secs(5)).await.is_some());
}

#[tokio::test]
async fn in_process_streams_need_no_socket() {
    let ccaas_shim::InProcess {
        to_chaincode,
        mut from_chaincode,
    } = ccaas_shim::in_process(
        Arc::new(Probe::default()),
        ccaas_shim::StreamConfig::new(ID),
    );
    let register = from_chaincode.recv().await.unwrap();
    assert_eq!(register.kind(), Some(MessageType::Register));
    drop(to_chaincode);
    // The peer went away: the chaincode's side ends too.
    assert!(
        tokio::time::timeout(Duration::from_secs(5), from_chaincode.recv())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn after_a_request_without_answer_no_other_request_of_the_transaction_is_sent() {
    let served = serve(|c| c.request_timeout = Duration::from_millis(200)).await;
    let session = served.session(Simulator::new(ID).stalled(true)).await;
    let answer = payload(&session, &["twice"]).await;
    let (first, second): (Option<String>, Option<String>) = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        first.as_deref(),
        Some("the peer did not answer GET_STATE within 200ms")
    );
    assert_eq!(
        second.as_deref(),
        Some("GET_STATE was not sent: the peer never answered this transaction's earlier GET_STATE, and it takes one request per transaction at a time")
    );
    // The second was never sent: the peer (which might have answered the
    // first late, or dropped the second) saw one request.
    assert_eq!(session.received(MessageType::GetState), 1);
    served.stop().await;
}

#[tokio::test]
async fn a_transaction_sent_again_after_it_finished_runs_again() {
    use ccaas_proto::{ChaincodeInput, ChaincodeMessage, Message};
    let served = serve(|_| {}).await;
    let session = served.session(Simulator::new(ID)).await;
    let input = ChaincodeInput {
        args: vec![b"busy".to_vec()],
        ..Default::default()
    };
    for _ in 0..2 {
        let message = ChaincodeMessage::for_tx(
            MessageType::Transaction,
            input.encode_to_vec(),
            CHANNEL,
            "retried",
        );
        let outcome = session.transact_raw(message).unwrap().await.unwrap();
        assert!(outcome.is_success(), "{outcome:?}");
    }
    served.stop().await;
}

#[tokio::test]
async fn transactions_queued_behind_the_bound_do_not_run_once_their_stream_is_gone() {
    let served = serve(|c| c.max_concurrent_transactions = 1).await;
    let session = served.session(Simulator::new(ID).stalled(true)).await;
    let before = COUNTED.load(Ordering::SeqCst);
    let blocking = session.invoke(CHANNEL, ["wait"]).start().unwrap();
    assert!(
        session
            .wait_until(Duration::from_secs(5), |s| s
                .received(MessageType::GetState)
                == 1)
            .await
    );
    let mut queued = Vec::new();
    for _ in 0..5 {
        queued.push(session.invoke(CHANNEL, ["counted"]).start().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    session.end_stream();
    assert!(blocking.await.is_err());
    for q in queued {
        assert!(q.await.is_err());
    }
    // The blocking transaction failed at once and freed the permit; the
    // queued ones found their stream gone and did not run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(COUNTED.load(Ordering::SeqCst), before);
    served.stop().await;
}
