//! The simulator's protocol rules, one test per row of the protocol page's
//! tables, against a chaincode played by hand over the message pair.
#![allow(clippy::unwrap_used)]

mod common;

use ccaas_peersim::proposal::compute_txid;
use ccaas_peersim::{
    Profile, Registration, SessionError, StreamEnd, Transport, TxOutcome, DEFAULT_READY_PARAMS,
};
use ccaas_proto::common::{ChannelHeader, Header, SignatureHeader};
use ccaas_proto::queryresult::Kv;
use ccaas_proto::{
    ChaincodeAdditionalParams, ChaincodeInput, ChaincodeMessage, ChaincodeProposalPayload,
    DelState, GetState, GetStateByRange, GetStateMultiple, GetStateMultipleResult, Message,
    MessageType, Proposal, PutState, QueryResponse, QueryStateClose, QueryStateNext,
    WriteBatchState, WriteRecord, WriteRecordType,
};
use common::{ready, simulator, Chaincode, CHANNEL, PACKAGE_ID};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(300);

fn get(key: &str) -> Vec<u8> {
    GetState {
        key: key.into(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn put(key: &str, value: &[u8]) -> Vec<u8> {
    PutState {
        key: key.into(),
        value: value.to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn range(start: &str, end: &str) -> Vec<u8> {
    GetStateByRange {
        start_key: start.into(),
        end_key: end.into(),
        ..Default::default()
    }
    .encode_to_vec()
}

fn keys_of(response: &QueryResponse) -> Vec<String> {
    response
        .results
        .iter()
        .map(|r| Kv::decode(r.result_bytes.as_slice()).unwrap().key)
        .collect()
}

// ---- Registration (protocol page, section 2) ----

#[tokio::test]
async fn register_with_the_package_id_gets_registered_then_empty_ready_under_v2_5() {
    let (_session, _cc, ready) = ready(simulator(Profile::V2_5)).await;
    assert!(ready.payload.is_empty());
}

#[tokio::test]
async fn ready_carries_additional_params_under_v3_1() {
    let (_session, _cc, ready) = ready(simulator(Profile::V3_1)).await;
    let params = ChaincodeAdditionalParams::decode(ready.payload.as_slice()).unwrap();
    assert_eq!(params, DEFAULT_READY_PARAMS);
    assert_eq!(
        (
            params.use_write_batch,
            params.max_size_write_batch,
            params.use_get_multiple_keys,
            params.max_size_get_multiple_keys
        ),
        (true, 1000, true, 1000)
    );
}

#[tokio::test]
async fn ready_params_are_configurable() {
    let custom = ChaincodeAdditionalParams {
        use_write_batch: false,
        max_size_write_batch: 7,
        use_get_multiple_keys: true,
        max_size_get_multiple_keys: 9,
    };
    let (_s, _cc, ready) = ready(simulator(Profile::V3_1).ready_params(custom)).await;
    assert_eq!(
        ChaincodeAdditionalParams::decode(ready.payload.as_slice()).unwrap(),
        custom
    );
}

#[tokio::test]
async fn a_wrong_package_id_is_refused_with_nothing_sent_and_the_stream_open() {
    let (transport, end) = Transport::pair(16);
    let mut cc = Chaincode { end };
    cc.register("kv_1.0").await; // the label alone
    let session = simulator(Profile::V2_5).attach(transport).await.unwrap();
    assert_eq!(
        session.registration(),
        Some(Registration::Refused {
            registered_as: "kv_1.0".into()
        })
    );
    assert_eq!(session.registered_as().as_deref(), Some("kv_1.0"));
    cc.expect_silence(SHORT).await;
    assert_eq!(session.ended(), None);
    // The peer sends no transaction to a handler that is not ready.
    let err = session.invoke(CHANNEL, ["ping"]).await.unwrap_err();
    assert!(matches!(err, SessionError::NotRegistered { .. }), "{err}");
}

#[tokio::test]
async fn after_a_refusal_the_handler_is_still_waiting_for_register() {
    let (transport, end) = Transport::pair(16);
    let mut cc = Chaincode { end };
    cc.register("old:id").await;
    let session = simulator(Profile::V2_5).attach(transport).await.unwrap();
    cc.register(PACKAGE_ID).await;
    assert_eq!(cc.recv().await.kind(), Some(MessageType::Registered));
    assert_eq!(cc.recv().await.kind(), Some(MessageType::Ready));
    assert!(session.is_registered());
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    let (transport, end) = Transport::pair(16);
    let mut cc = Chaincode { end };
    cc.register("").await;
    let session = simulator(Profile::V2_5).attach(transport).await.unwrap();
    assert_eq!(
        session.registration(),
        Some(Registration::Refused {
            registered_as: String::new()
        })
    );
    cc.expect_silence(SHORT).await;
}

#[tokio::test]
async fn an_unreadable_register_is_logged_and_answered_with_nothing() {
    let (transport, end) = Transport::pair(16);
    let mut cc = Chaincode { end };
    cc.send(ChaincodeMessage::new(
        MessageType::Register,
        vec![0xff, 0xff, 0xff],
    ))
    .await;
    let session = simulator(Profile::V2_5).attach(transport).await.unwrap();
    assert!(matches!(
        session.registration(),
        Some(Registration::Unreadable { .. })
    ));
    cc.expect_silence(SHORT).await;
}

#[tokio::test]
async fn before_registration_any_other_message_ends_the_stream() {
    let (transport, end) = Transport::pair(16);
    let mut cc = Chaincode { end };
    cc.send(ChaincodeMessage::for_tx(
        MessageType::GetState,
        get("k"),
        CHANNEL,
        "t1",
    ))
    .await;
    let err = simulator(Profile::V2_5)
        .attach(transport)
        .await
        .unwrap_err();
    match err {
        SessionError::EndedBeforeRegistration {
            end: StreamEnd::Protocol { message },
        } => {
            assert_eq!(
                message,
                "[t1] Fabric side handler cannot handle message (GET_STATE) while in created state"
            )
        }
        other => panic!("{other}"),
    }
    cc.expect_end().await;
}

#[tokio::test]
async fn before_registration_keepalive_is_ignored() {
    let (transport, end) = Transport::pair(16);
    let cc = Chaincode { end };
    cc.send(ChaincodeMessage::new(MessageType::Keepalive, Vec::new()))
        .await;
    cc.register(PACKAGE_ID).await;
    let session = simulator(Profile::V2_5).attach(transport).await.unwrap();
    assert!(session.is_registered());
    assert_eq!(session.received(MessageType::Keepalive), 1);
}

#[tokio::test]
async fn no_register_within_the_startup_timeout_fails_the_launch() {
    let (transport, _end) = Transport::pair(16);
    let err = simulator(Profile::V2_5)
        .startup_timeout(Duration::from_millis(100))
        .attach(transport)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("timeout expired while starting chaincode"),
        "{err}"
    );
}

// ---- Transactions (section 3) ----

#[tokio::test]
async fn a_transaction_carries_txid_channel_input_and_a_signed_proposal() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session
        .invoke(CHANNEL, ["put", "k", "v"])
        .transient("secret", "s3cret")
        .start()
        .unwrap();
    let tx = cc.recv().await;
    assert_eq!(tx.kind(), Some(MessageType::Transaction));
    assert_eq!(
        (tx.channel_id.as_str(), tx.txid.as_str()),
        (CHANNEL, pending.txid())
    );
    let input = ChaincodeInput::decode(tx.payload.as_slice()).unwrap();
    assert_eq!(
        input.args,
        vec![b"put".to_vec(), b"k".to_vec(), b"v".to_vec()]
    );
    assert!(!input.is_init);
    let signed = tx.proposal.clone().unwrap();
    let proposal = Proposal::decode(signed.proposal_bytes.as_slice()).unwrap();
    let header = Header::decode(proposal.header.as_slice()).unwrap();
    let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    let sh = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
    assert_eq!(
        (ch.r#type, ch.channel_id.as_str(), ch.tx_id.as_str()),
        (3, CHANNEL, tx.txid.as_str())
    );
    assert!(ch.timestamp.is_some());
    assert_eq!(tx.txid, compute_txid(&sh.nonce, &sh.creator));
    let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
    assert_eq!(
        payload.transient_map.get("secret").map(Vec::as_slice),
        Some(&b"s3cret"[..])
    );
    cc.complete(&tx, 200, b"OK").await;
    let outcome = pending.await.unwrap();
    assert!(outcome.is_success());
    assert_eq!(outcome.payload(), b"OK");
}

#[tokio::test]
async fn init_is_sent_as_init_with_is_init() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session
        .invoke(CHANNEL, ["init"])
        .init(true)
        .start()
        .unwrap();
    let tx = cc.recv().await;
    assert_eq!(tx.kind(), Some(MessageType::Init));
    assert!(
        ChaincodeInput::decode(tx.payload.as_slice())
            .unwrap()
            .is_init
    );
    cc.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
}

#[tokio::test]
async fn an_error_answer_is_the_transactions_error() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["boom"]).start().unwrap();
    let tx = cc.recv().await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::Error,
        b"it broke".to_vec(),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    assert_eq!(
        pending.await.unwrap(),
        TxOutcome::Error {
            message: "it broke".into()
        }
    );
}

#[tokio::test]
async fn a_completed_that_is_not_a_response_fails_the_transaction() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["x"]).start().unwrap();
    let tx = cc.recv().await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::Completed,
        vec![0xff; 3],
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    assert!(matches!(
        pending.await.unwrap(),
        TxOutcome::Unreadable { .. }
    ));
}

#[tokio::test]
async fn many_transactions_run_at_once_keyed_by_channel_and_txid() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let a = session.invoke("ch1", ["a"]).start().unwrap();
    let b = session.invoke("ch2", ["b"]).start().unwrap();
    let c = session.invoke("ch1", ["c"]).start().unwrap();
    let (ta, tb, tc) = (cc.recv().await, cc.recv().await, cc.recv().await);
    cc.complete(&tc, 200, b"c").await;
    cc.complete(&tb, 200, b"b").await;
    cc.complete(&ta, 200, b"a").await;
    assert_eq!(a.await.unwrap().payload(), b"a");
    assert_eq!(b.await.unwrap().payload(), b"b");
    assert_eq!(c.await.unwrap().payload(), b"c");
}

#[tokio::test]
async fn a_completed_for_an_unknown_txid_is_ignored() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let stray = ChaincodeMessage::for_tx(MessageType::Completed, Vec::new(), CHANNEL, "nobody");
    cc.send(stray.clone()).await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::Error,
        b"x".to_vec(),
        CHANNEL,
        "nobody2",
    ))
    .await;
    assert!(
        session
            .wait_until(Duration::from_secs(2), |s| s.ignored().len() == 2)
            .await
    );
    assert_eq!(session.ignored()[0], stray);
    // The stream carries on.
    let pending = session.invoke(CHANNEL, ["ping"]).start().unwrap();
    let tx = cc.recv().await;
    cc.complete(&tx, 200, b"pong").await;
    assert_eq!(pending.await.unwrap().payload(), b"pong");
}

#[tokio::test]
async fn keepalive_from_the_chaincode_is_ignored() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    cc.send(ChaincodeMessage::new(MessageType::Keepalive, Vec::new()))
        .await;
    cc.expect_silence(SHORT).await;
    assert_eq!(session.received(MessageType::Keepalive), 1);
    assert_eq!(session.ended(), None);
}

#[tokio::test]
async fn an_unknown_type_ends_the_stream_failing_every_transaction() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let a = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let b = session.invoke(CHANNEL, ["b"]).start().unwrap();
    let _ = (cc.recv().await, cc.recv().await);
    cc.send(ChaincodeMessage {
        r#type: 99,
        txid: "t".into(),
        ..Default::default()
    })
    .await;
    cc.expect_end().await;
    assert!(matches!(a.await, Err(SessionError::StreamTerminated)));
    assert!(matches!(b.await, Err(SessionError::StreamTerminated)));
    assert_eq!(
        session.ended(),
        Some(StreamEnd::Protocol {
            message: "[t] Fabric side handler cannot handle message (99) while in ready state"
                .into()
        })
    );
}

#[tokio::test]
async fn write_batch_state_ends_the_stream_under_v2_5() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::WriteBatchState,
        Vec::new(),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    cc.expect_end().await;
    assert!(matches!(pending.await, Err(SessionError::StreamTerminated)));
}

#[tokio::test]
async fn get_state_multiple_ends_the_stream_under_v2_5() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::GetStateMultiple,
        Vec::new(),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    cc.expect_end().await;
    assert!(matches!(pending.await, Err(SessionError::StreamTerminated)));
}

#[tokio::test]
async fn a_response_from_the_chaincode_ends_the_stream() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::Response,
        Vec::new(),
        CHANNEL,
        "t",
    ))
    .await;
    cc.expect_end().await;
    assert!(matches!(session.ended(), Some(StreamEnd::Protocol { .. })));
}

#[tokio::test]
async fn a_duplicate_txid_is_refused_locally() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let first = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    let again = session.transact_raw(tx.clone()).unwrap();
    assert!(matches!(
        again.await,
        Err(SessionError::DuplicateTxid { .. })
    ));
    cc.complete(&tx, 200, b"").await;
    assert!(first.await.unwrap().is_success());
}

#[tokio::test]
async fn the_execute_timeout_drops_the_context_and_ignores_a_late_completed() {
    let sim = simulator(Profile::V2_5).execute_timeout(Duration::from_millis(100));
    let (session, mut cc, _) = ready(sim).await;
    let pending = session.invoke(CHANNEL, ["slow"]).start().unwrap();
    let tx = cc.recv().await;
    assert!(matches!(
        pending.await,
        Err(SessionError::ExecuteTimeout { .. })
    ));
    let answer = cc.request(&tx, MessageType::GetState, get("k")).await;
    assert_eq!(answer.kind(), Some(MessageType::Error));
    cc.complete(&tx, 200, b"late").await;
    assert!(
        session
            .wait_until(Duration::from_secs(2), |s| s.ignored().len() == 1)
            .await
    );
}

#[tokio::test]
async fn the_stream_ending_fails_running_transactions() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let _ = cc.recv().await;
    drop(cc);
    let err = pending.await.unwrap_err();
    assert_eq!(err.to_string(), "chaincode stream terminated");
    assert_eq!(
        session.wait_ended(SHORT).await,
        Some(StreamEnd::ChaincodeClosed)
    );
}

// ---- Requests (section 4) ----

#[tokio::test]
async fn get_state_of_an_absent_key_is_an_empty_response() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "present", "v");
    let _pending = session.invoke(CHANNEL, ["get"]).start().unwrap();
    let tx = cc.recv().await;
    let absent = cc.request(&tx, MessageType::GetState, get("absent")).await;
    assert_eq!(absent.kind(), Some(MessageType::Response));
    assert!(absent.payload.is_empty());
    let present = cc.request(&tx, MessageType::GetState, get("present")).await;
    assert_eq!(present.payload, b"v");
}

#[tokio::test]
async fn writes_apply_on_completion_below_400_and_are_not_read_back_before() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "gone", "x");
    let pending = session.invoke(CHANNEL, ["put"]).start().unwrap();
    let tx = cc.recv().await;
    let ok = cc.request(&tx, MessageType::PutState, put("k", b"v")).await;
    assert_eq!(
        (ok.kind(), ok.payload.len()),
        (Some(MessageType::Response), 0)
    );
    let del = DelState {
        key: "gone".into(),
        ..Default::default()
    }
    .encode_to_vec();
    assert_eq!(
        cc.request(&tx, MessageType::DelState, del).await.kind(),
        Some(MessageType::Response)
    );
    // Fabric does not read a transaction's own writes.
    assert!(cc
        .request(&tx, MessageType::GetState, get("k"))
        .await
        .payload
        .is_empty());
    assert_eq!(
        cc.request(&tx, MessageType::GetState, get("gone"))
            .await
            .payload,
        b"x"
    );
    assert_eq!(session.get_state(CHANNEL, "k"), None);
    cc.complete(&tx, 200, b"OK").await;
    assert!(pending.await.unwrap().is_success());
    assert_eq!(session.get_state(CHANNEL, "k").as_deref(), Some(&b"v"[..]));
    assert_eq!(session.get_state(CHANNEL, "gone"), None);
}

#[tokio::test]
async fn writes_are_dropped_when_the_status_is_400_or_more() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["put"]).start().unwrap();
    let tx = cc.recv().await;
    cc.request(&tx, MessageType::PutState, put("k", b"v")).await;
    cc.complete(&tx, 400, b"").await;
    assert!(!pending.await.unwrap().is_success());
    assert_eq!(session.get_state(CHANNEL, "k"), None);
}

#[tokio::test]
async fn writes_are_dropped_when_the_chaincode_answers_error() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["put"]).start().unwrap();
    let tx = cc.recv().await;
    cc.request(&tx, MessageType::PutState, put("k", b"v")).await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::Error,
        b"no".to_vec(),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    assert!(matches!(pending.await.unwrap(), TxOutcome::Error { .. }));
    assert_eq!(session.get_state(CHANNEL, "k"), None);
}

#[tokio::test]
async fn writes_are_dropped_when_the_stream_ends() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let pending = session.invoke(CHANNEL, ["put"]).start().unwrap();
    let tx = cc.recv().await;
    cc.request(&tx, MessageType::PutState, put("k", b"v")).await;
    session.end_stream();
    assert!(pending.await.is_err());
    assert_eq!(session.get_state(CHANNEL, "k"), None);
}

#[tokio::test]
async fn a_request_of_no_running_transaction_gets_no_ledger_context() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let stray = ChaincodeMessage::for_tx(MessageType::Transaction, Vec::new(), CHANNEL, "nope");
    let answer = cc.request(&stray, MessageType::GetState, get("k")).await;
    assert_eq!(answer.kind(), Some(MessageType::Error));
    assert_eq!(
        String::from_utf8(answer.payload).unwrap(),
        "GET_STATE failed: transaction ID: nope: no ledger context"
    );
    // The right txid on the wrong channel is no better.
    let _pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    let wrong = ChaincodeMessage {
        channel_id: "other".into(),
        ..tx
    };
    let answer = cc
        .request(&wrong, MessageType::PutState, put("k", b"v"))
        .await;
    assert!(String::from_utf8(answer.payload)
        .unwrap()
        .ends_with(": no ledger context"));
}

#[tokio::test]
async fn a_second_request_while_one_is_pending_is_dropped() {
    let sim = simulator(Profile::V2_5).request_delay(Duration::from_millis(300));
    let (session, mut cc, _) = ready(sim).await;
    let _pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::GetState,
        get("a"),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::GetState,
        get("b"),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let first = cc.recv().await;
    assert_eq!(first.kind(), Some(MessageType::Response));
    cc.expect_silence(Duration::from_millis(600)).await;
    assert_eq!(session.dropped_requests(), 1);
    assert_eq!(session.received(MessageType::GetState), 2);
    // Once answered, the next request is served again.
    assert_eq!(
        cc.request(&tx, MessageType::GetState, get("c"))
            .await
            .kind(),
        Some(MessageType::Response)
    );
}

#[tokio::test]
async fn a_stalled_peer_answers_no_request() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.set_stalled(true);
    let _pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::GetState,
        get("a"),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    cc.expect_silence(SHORT).await;
    assert!(
        session
            .wait_until(SHORT, |s| s.received(MessageType::GetState) == 1)
            .await
    );
    // Ending the stream with the request pending.
    session.end_stream();
    cc.expect_end().await;
}

#[tokio::test]
async fn range_results_come_in_batches_of_100_pulled_with_query_state_next() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for i in 0..250 {
        session.put_state(CHANNEL, &format!("k{i:04}"), format!("v{i}"));
    }
    session.put_state(CHANNEL, "z", "outside");
    let pending = session.invoke(CHANNEL, ["range"]).start().unwrap();
    let tx = cc.recv().await;
    let first = cc
        .request(&tx, MessageType::GetStateByRange, range("k0000", "k9999"))
        .await;
    let first = QueryResponse::decode(first.payload.as_slice()).unwrap();
    assert_eq!((first.results.len(), first.has_more), (100, true));
    assert!(!first.id.is_empty());
    let kv = Kv::decode(first.results[0].result_bytes.as_slice()).unwrap();
    assert_eq!(
        (kv.namespace.as_str(), kv.key.as_str(), kv.value.as_slice()),
        ("kv_1.0", "k0000", &b"v0"[..])
    );
    let next = QueryStateNext {
        id: first.id.clone(),
    }
    .encode_to_vec();
    let second = cc
        .request(&tx, MessageType::QueryStateNext, next.clone())
        .await;
    let second = QueryResponse::decode(second.payload.as_slice()).unwrap();
    assert_eq!(
        (second.results.len(), second.has_more, second.id.as_str()),
        (100, true, first.id.as_str())
    );
    assert_eq!(keys_of(&second)[0], "k0100");
    let third = cc
        .request(&tx, MessageType::QueryStateNext, next.clone())
        .await;
    let third = QueryResponse::decode(third.payload.as_slice()).unwrap();
    assert_eq!((third.results.len(), third.has_more), (50, false));
    assert_eq!(keys_of(&third).last().map(String::as_str), Some("k0249"));
    // Exhausted iterators are closed, as the peer closes them.
    let gone = cc.request(&tx, MessageType::QueryStateNext, next).await;
    assert_eq!(gone.kind(), Some(MessageType::Error));
    assert!(String::from_utf8(gone.payload)
        .unwrap()
        .ends_with("query iterator not found"));
    cc.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
}

#[tokio::test]
async fn exactly_100_results_are_one_batch_without_more() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for i in 0..100 {
        session.put_state(CHANNEL, &format!("k{i:04}"), "v");
    }
    let _pending = session.invoke(CHANNEL, ["range"]).start().unwrap();
    let tx = cc.recv().await;
    let r = cc
        .request(&tx, MessageType::GetStateByRange, range("", ""))
        .await;
    let r = QueryResponse::decode(r.payload.as_slice()).unwrap();
    assert_eq!((r.results.len(), r.has_more), (100, false));
}

#[tokio::test]
async fn range_end_is_exclusive_and_an_empty_end_is_unbounded() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for k in ["a", "b", "c"] {
        session.put_state(CHANNEL, k, k);
    }
    let _pending = session.invoke(CHANNEL, ["range"]).start().unwrap();
    let tx = cc.recv().await;
    let r = cc
        .request(&tx, MessageType::GetStateByRange, range("a", "c"))
        .await;
    assert_eq!(
        keys_of(&QueryResponse::decode(r.payload.as_slice()).unwrap()),
        ["a", "b"]
    );
    let r = cc
        .request(&tx, MessageType::GetStateByRange, range("b", ""))
        .await;
    assert_eq!(
        keys_of(&QueryResponse::decode(r.payload.as_slice()).unwrap()),
        ["b", "c"]
    );
}

#[tokio::test]
async fn query_state_close_closes_the_iterator() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for i in 0..150 {
        session.put_state(CHANNEL, &format!("k{i:04}"), "v");
    }
    let _pending = session.invoke(CHANNEL, ["range"]).start().unwrap();
    let tx = cc.recv().await;
    let r = cc
        .request(&tx, MessageType::GetStateByRange, range("", ""))
        .await;
    let id = QueryResponse::decode(r.payload.as_slice()).unwrap().id;
    let closed = cc
        .request(
            &tx,
            MessageType::QueryStateClose,
            QueryStateClose { id: id.clone() }.encode_to_vec(),
        )
        .await;
    let closed = QueryResponse::decode(closed.payload.as_slice()).unwrap();
    assert_eq!(
        (closed.has_more, closed.id.as_str(), closed.results.len()),
        (false, id.as_str(), 0)
    );
    let next = cc
        .request(
            &tx,
            MessageType::QueryStateNext,
            QueryStateNext { id }.encode_to_vec(),
        )
        .await;
    assert_eq!(next.kind(), Some(MessageType::Error));
}

#[tokio::test]
async fn a_transactions_iterators_close_when_it_completes() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for i in 0..150 {
        session.put_state(CHANNEL, &format!("k{i:04}"), "v");
    }
    let pending = session.invoke(CHANNEL, ["range"]).start().unwrap();
    let tx = cc.recv().await;
    let r = cc
        .request(&tx, MessageType::GetStateByRange, range("", ""))
        .await;
    let id = QueryResponse::decode(r.payload.as_slice()).unwrap().id;
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    let next = cc
        .request(
            &tx,
            MessageType::QueryStateNext,
            QueryStateNext { id }.encode_to_vec(),
        )
        .await;
    assert!(String::from_utf8(next.payload)
        .unwrap()
        .ends_with("no ledger context"));
}

#[tokio::test]
async fn a_malformed_request_payload_is_an_error_answer() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let _pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    let answer = cc
        .request(&tx, MessageType::PutState, vec![0xff, 0xff])
        .await;
    assert_eq!(answer.kind(), Some(MessageType::Error));
    assert!(String::from_utf8(answer.payload)
        .unwrap()
        .starts_with("PUT_STATE failed: transaction ID: "));
}

#[tokio::test]
async fn write_batch_state_applies_each_record_under_v3_1() {
    let (session, mut cc, _) = ready(simulator(Profile::V3_1)).await;
    session.put_state(CHANNEL, "old", "x");
    let pending = session.invoke(CHANNEL, ["batch"]).start().unwrap();
    let tx = cc.recv().await;
    let rec = |key: &str, value: &[u8], kind: WriteRecordType| WriteRecord {
        key: key.into(),
        value: value.to_vec(),
        r#type: kind as i32,
        ..Default::default()
    };
    let batch = WriteBatchState {
        rec: vec![
            rec("a", b"1", WriteRecordType::PutState),
            rec("b", b"2", WriteRecordType::PutState),
            rec("old", b"", WriteRecordType::DelState),
        ],
    };
    let answer = cc
        .request(&tx, MessageType::WriteBatchState, batch.encode_to_vec())
        .await;
    assert_eq!(
        (answer.kind(), answer.payload.len()),
        (Some(MessageType::Response), 0)
    );
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(session.get_state(CHANNEL, "a").as_deref(), Some(&b"1"[..]));
    assert_eq!(session.get_state(CHANNEL, "b").as_deref(), Some(&b"2"[..]));
    assert_eq!(session.get_state(CHANNEL, "old"), None);
}

#[tokio::test]
async fn get_state_multiple_answers_in_key_order_under_v3_1() {
    let (session, mut cc, _) = ready(simulator(Profile::V3_1)).await;
    session.put_state(CHANNEL, "a", "1");
    session.put_state(CHANNEL, "c", "3");
    let _pending = session.invoke(CHANNEL, ["multi"]).start().unwrap();
    let tx = cc.recv().await;
    let req = GetStateMultiple {
        keys: vec!["c".into(), "b".into(), "a".into()],
        ..Default::default()
    };
    let answer = cc
        .request(&tx, MessageType::GetStateMultiple, req.encode_to_vec())
        .await;
    let result = GetStateMultipleResult::decode(answer.payload.as_slice()).unwrap();
    assert_eq!(
        result.values,
        vec![b"3".to_vec(), Vec::new(), b"1".to_vec()]
    );
}

// ---- Test hooks ----

#[tokio::test]
async fn raw_messages_reach_the_chaincode_as_given() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let odd = ChaincodeMessage {
        r#type: 42,
        payload: vec![1, 2, 3],
        txid: "t".into(),
        ..Default::default()
    };
    session.send_raw(odd.clone()).unwrap();
    assert_eq!(cc.recv().await, odd);
}

#[tokio::test]
async fn requests_are_counted_per_type() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let _pending = session.invoke(CHANNEL, ["a"]).start().unwrap();
    let tx = cc.recv().await;
    cc.request(&tx, MessageType::GetState, get("a")).await;
    cc.request(&tx, MessageType::GetState, get("b")).await;
    cc.request(&tx, MessageType::PutState, put("a", b"1")).await;
    assert_eq!(session.received(MessageType::GetState), 2);
    assert_eq!(session.received(MessageType::PutState), 1);
    assert_eq!(session.received(MessageType::Register), 1);
}
