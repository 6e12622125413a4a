//! The ledger requests of the protocol page's table (section 4) beyond
//! public GET/PUT/DEL and ranges: private data, hashes, purge, history,
//! state metadata, pagination, rich queries, chaincode-to-chaincode
//! invocation, and the v3.1 batches on private data. One test per
//! behaviour, against a chaincode played by hand over the message pair;
//! error texts are the peer's (`core/chaincode/handler.go`,
//! `core/ledger/kvledger/txmgmt/txmgr/tx_simulator.go`, v2.5).
#![allow(clippy::unwrap_used)]

mod common;

use ccaas_peersim::{
    Creator, Profile, Session, Simulator, StateDatabase, Transport, WorldState,
    VALIDATION_PARAMETER,
};
use ccaas_proto::queryresult::{KeyModification, Kv};
use ccaas_proto::{
    ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeSpec, DelState, GetHistoryForKey,
    GetQueryResult, GetState, GetStateByRange, GetStateMetadata, GetStateMultiple,
    GetStateMultipleResult, Message, MessageType, PutState, PutStateMetadata, QueryMetadata,
    QueryResponse, QueryResponseMetadata, QueryStateNext, Response, StateMetadata,
    StateMetadataResult, WriteBatchState, WriteRecord, WriteRecordType,
};
use common::{ready, ready_as, simulator, Chaincode, CHANNEL};
use sha2::{Digest, Sha256};
use std::time::Duration;

const COLL: &str = "secret";

// ---- Payload builders ----

fn get(collection: &str, key: &str) -> Vec<u8> {
    GetState {
        key: key.into(),
        collection: collection.into(),
    }
    .encode_to_vec()
}

fn put(collection: &str, key: &str, value: &[u8]) -> Vec<u8> {
    PutState {
        key: key.into(),
        value: value.to_vec(),
        collection: collection.into(),
    }
    .encode_to_vec()
}

fn del(collection: &str, key: &str) -> Vec<u8> {
    DelState {
        key: key.into(),
        collection: collection.into(),
    }
    .encode_to_vec()
}

fn range(collection: &str, start: &str, end: &str, page: Option<(i32, &str)>) -> Vec<u8> {
    GetStateByRange {
        start_key: start.into(),
        end_key: end.into(),
        collection: collection.into(),
        metadata: page.map(paging).unwrap_or_default(),
    }
    .encode_to_vec()
}

fn rich(collection: &str, query: &str, page: Option<(i32, &str)>) -> Vec<u8> {
    GetQueryResult {
        query: query.into(),
        collection: collection.into(),
        metadata: page.map(paging).unwrap_or_default(),
    }
    .encode_to_vec()
}

fn paging((page_size, bookmark): (i32, &str)) -> Vec<u8> {
    QueryMetadata {
        page_size,
        bookmark: bookmark.into(),
    }
    .encode_to_vec()
}

fn put_meta(collection: &str, key: &str, metakey: &str, value: &[u8]) -> Vec<u8> {
    PutStateMetadata {
        key: key.into(),
        collection: collection.into(),
        metadata: Some(StateMetadata {
            metakey: metakey.into(),
            value: value.to_vec(),
        }),
    }
    .encode_to_vec()
}

fn get_meta(collection: &str, key: &str) -> Vec<u8> {
    GetStateMetadata {
        key: key.into(),
        collection: collection.into(),
    }
    .encode_to_vec()
}

fn history(key: &str) -> Vec<u8> {
    GetHistoryForKey { key: key.into() }.encode_to_vec()
}

fn invoke_spec(name: &str, args: &[&str]) -> Vec<u8> {
    ChaincodeSpec {
        chaincode_id: Some(ChaincodeId {
            name: name.into(),
            ..Default::default()
        }),
        input: Some(ChaincodeInput {
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            decorations: Default::default(),
            is_init: false,
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

// ---- Answer readers ----

fn ok(answer: &ChaincodeMessage) -> &[u8] {
    assert_eq!(
        answer.kind(),
        Some(MessageType::Response),
        "{}",
        String::from_utf8_lossy(&answer.payload)
    );
    &answer.payload
}

fn error_text(answer: &ChaincodeMessage) -> String {
    assert_eq!(answer.kind(), Some(MessageType::Error), "{answer:?}");
    String::from_utf8(answer.payload.clone()).unwrap()
}

fn query(answer: &ChaincodeMessage) -> QueryResponse {
    QueryResponse::decode(ok(answer)).unwrap()
}

fn kvs(response: &QueryResponse) -> Vec<(String, String)> {
    response
        .results
        .iter()
        .map(|r| {
            let kv = Kv::decode(r.result_bytes.as_slice()).unwrap();
            (kv.key, String::from_utf8(kv.value).unwrap())
        })
        .collect()
}

fn keys(response: &QueryResponse) -> Vec<String> {
    kvs(response).into_iter().map(|(k, _)| k).collect()
}

fn page_meta(response: &QueryResponse) -> (i32, String) {
    let m = QueryResponseMetadata::decode(response.metadata.as_slice()).unwrap();
    (m.fetched_records_count, m.bookmark)
}

/// A transaction started and its TRANSACTION received.
async fn begin(
    session: &Session,
    cc: &mut Chaincode,
) -> (ccaas_peersim::PendingTx, ChaincodeMessage) {
    let pending = session.invoke(CHANNEL, ["f"]).start().unwrap();
    let tx = cc.recv().await;
    (pending, tx)
}

// ---- Private data ----

#[tokio::test]
async fn a_private_put_commits_to_its_collection_and_not_to_public_state() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(&tx, MessageType::PutState, put(COLL, "k", b"p"))
        .await;
    assert!(ok(&answer).is_empty());
    assert_eq!(session.get_private_data(CHANNEL, COLL, "k"), None);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(
        session.get_private_data(CHANNEL, COLL, "k"),
        Some(b"p".to_vec())
    );
    assert_eq!(session.get_state(CHANNEL, "k"), None);
    assert_eq!(session.get_private_data(CHANNEL, "other", "k"), None);
}

#[tokio::test]
async fn a_private_get_reads_the_committed_collection_and_absent_is_empty() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_private_data(CHANNEL, COLL, "k", "p");
    session.put_state(CHANNEL, "k", "public");
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc.request(&tx, MessageType::GetState, get(COLL, "k")).await;
    assert_eq!(ok(&answer), b"p");
    let absent = cc
        .request(&tx, MessageType::GetState, get(COLL, "nope"))
        .await;
    assert!(ok(&absent).is_empty());
}

#[tokio::test]
async fn a_private_delete_removes_the_value_and_its_hash() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_private_data(CHANNEL, COLL, "k", "p");
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc.request(&tx, MessageType::DelState, del(COLL, "k")).await);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(session.get_private_data(CHANNEL, COLL, "k"), None);
    assert_eq!(session.private_hash(CHANNEL, COLL, "k"), None);
}

#[tokio::test]
async fn private_writes_are_dropped_when_the_transaction_fails() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put(COLL, "k", b"p"))
        .await);
    cc.complete(&tx, 500, b"").await;
    pending.await.unwrap();
    assert_eq!(session.get_private_data(CHANNEL, COLL, "k"), None);
}

#[tokio::test]
async fn the_private_data_hash_is_sha256_of_the_value_and_empty_when_absent() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_private_data(CHANNEL, COLL, "k", "p");
    let (_pending, tx) = begin(&session, &mut cc).await;
    let hash = cc
        .request(&tx, MessageType::GetPrivateDataHash, get(COLL, "k"))
        .await;
    assert_eq!(ok(&hash), Sha256::digest(b"p").as_slice());
    assert_eq!(session.private_hash(CHANNEL, COLL, "k").unwrap(), ok(&hash));
    let absent = cc
        .request(&tx, MessageType::GetPrivateDataHash, get(COLL, "nope"))
        .await;
    assert!(ok(&absent).is_empty());
}

#[tokio::test]
async fn the_private_data_hash_needs_a_collection() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(&tx, MessageType::GetPrivateDataHash, get("", "k"))
        .await;
    assert_eq!(
        error_text(&answer),
        format!("GET_PRIVATE_DATA_HASH failed: transaction ID: {}: collection [] not defined in the collection config for chaincode [kv_1.0]", tx.txid)
    );
}

#[tokio::test]
async fn purge_removes_the_private_value_on_commit() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_private_data(CHANNEL, COLL, "k", "p");
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PurgePrivateData, del(COLL, "k"))
        .await);
    assert!(session.get_private_data(CHANNEL, COLL, "k").is_some());
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(session.get_private_data(CHANNEL, COLL, "k"), None);
    assert_eq!(session.private_hash(CHANNEL, COLL, "k"), None);
}

#[tokio::test]
async fn purge_of_public_state_is_only_applicable_for_private_data() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(&tx, MessageType::PurgePrivateData, del("", "k"))
        .await;
    assert_eq!(
        error_text(&answer),
        format!(
            "PURGE_PRIVATE_DATA failed: transaction ID: {}: only applicable for private data",
            tx.txid
        )
    );
}

#[tokio::test]
async fn private_data_apis_are_refused_in_init() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let _pending = session
        .invoke(CHANNEL, ["init"])
        .init(true)
        .start()
        .unwrap();
    let tx = cc.recv().await;
    for (kind, payload) in [
        (MessageType::GetState, get(COLL, "k")),
        (MessageType::PutState, put(COLL, "k", b"v")),
        (MessageType::DelState, del(COLL, "k")),
        (MessageType::GetPrivateDataHash, get(COLL, "k")),
        (MessageType::PurgePrivateData, del(COLL, "k")),
        (MessageType::GetStateByRange, range(COLL, "", "", None)),
        (
            MessageType::GetQueryResult,
            rich(COLL, r#"{"selector":{}}"#, None),
        ),
    ] {
        let answer = cc.request(&tx, kind, payload).await;
        assert!(
            error_text(&answer)
                .ends_with(": private data APIs are not allowed in chaincode Init()"),
            "{kind:?}"
        );
    }
    // Public state is fine in Init.
    ok(&cc
        .request(&tx, MessageType::PutState, put("", "k", b"v"))
        .await);
}

#[tokio::test]
async fn a_collection_not_defined_for_the_chaincode_is_refused() {
    let sim = simulator(Profile::V2_5).collections([COLL]);
    let (session, mut cc, _) = ready(sim).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put(COLL, "k", b"v"))
        .await);
    let answer = cc
        .request(&tx, MessageType::PutState, put("typo", "k", b"v"))
        .await;
    assert_eq!(
        error_text(&answer),
        format!(
            "PUT_STATE failed: transaction ID: {}: collection mychannel/kv_1.0/typo could not be found",
            tx.txid
        )
    );
    // The hash has no permission check: the ledger's own words.
    let answer = cc
        .request(&tx, MessageType::GetPrivateDataHash, get("typo", "k"))
        .await;
    assert!(error_text(&answer).ends_with(
        ": collection [typo] not defined in the collection config for chaincode [kv_1.0]"
    ));
}

#[tokio::test]
async fn a_member_only_collection_refuses_creators_of_other_organisations() {
    let sim = simulator(Profile::V2_5).member_only_collection(COLL, ["Org1MSP"]);
    let (session, mut cc, _) = ready(sim).await;
    session.put_private_data(CHANNEL, COLL, "k", "p");
    let outsider = Creator::new("Org2MSP", Creator::default().id_bytes);
    let _pending = session
        .invoke(CHANNEL, ["f"])
        .creator(outsider)
        .start()
        .unwrap();
    let tx = cc.recv().await;
    let read = cc.request(&tx, MessageType::GetState, get(COLL, "k")).await;
    assert!(error_text(&read).ends_with(": tx creator does not have read access permission on privatedata in chaincodeName:kv_1.0 collectionName: secret"));
    let write = cc
        .request(&tx, MessageType::PutState, put(COLL, "k", b"x"))
        .await;
    assert!(error_text(&write).ends_with(": tx creator does not have write access permission on privatedata in chaincodeName:kv_1.0 collectionName: secret"));
    // Every channel member may read the hash.
    let hash = cc
        .request(&tx, MessageType::GetPrivateDataHash, get(COLL, "k"))
        .await;
    assert_eq!(ok(&hash), Sha256::digest(b"p").as_slice());
    // A member (the default creator, Org1MSP) reads and writes.
    let (_p, tx) = begin(&session, &mut cc).await;
    assert_eq!(
        ok(&cc.request(&tx, MessageType::GetState, get(COLL, "k")).await),
        b"p"
    );
    ok(&cc
        .request(&tx, MessageType::PutState, put(COLL, "k", b"x"))
        .await);
}

#[tokio::test]
async fn a_private_range_returns_the_collections_records() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for k in ["a", "b", "c"] {
        session.put_private_data(CHANNEL, COLL, k, format!("p{k}"));
    }
    session.put_state(CHANNEL, "a", "public");
    let (_pending, tx) = begin(&session, &mut cc).await;
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range(COLL, "a", "c", None),
        )
        .await,
    );
    assert_eq!(
        kvs(&r),
        [("a".into(), "pa".into()), ("b".into(), "pb".into())]
    );
    let kv = Kv::decode(r.results[0].result_bytes.as_slice()).unwrap();
    assert_eq!(kv.namespace, "kv_1.0");
}

#[tokio::test]
async fn a_private_query_after_a_write_is_refused() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put("", "k", b"v"))
        .await);
    let answer = cc
        .request(&tx, MessageType::GetStateByRange, range(COLL, "", "", None))
        .await;
    assert_eq!(
        error_text(&answer),
        format!("GET_STATE_BY_RANGE failed: transaction ID: {0}: txid [{0}]: unsuppored transaction. Queries on pvt data is supported only in a read-only transaction", tx.txid)
    );
}

#[tokio::test]
async fn a_write_after_a_private_query_is_refused() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    query(
        &cc.request(
            &tx,
            MessageType::GetQueryResult,
            rich(COLL, r#"{"selector":{}}"#, None),
        )
        .await,
    );
    let answer = cc
        .request(&tx, MessageType::PutState, put("", "k", b"v"))
        .await;
    assert_eq!(
        error_text(&answer),
        format!("PUT_STATE failed: transaction ID: {0}: txid [{0}]: unsuppored transaction. Transaction has already performed queries on pvt data. Writes are not allowed", tx.txid)
    );
    // Reads are still fine.
    ok(&cc.request(&tx, MessageType::GetState, get("", "k")).await);
}

#[tokio::test]
async fn a_private_rich_query_matches_the_collections_json() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_private_data(CHANNEL, COLL, "a", r#"{"price":10}"#);
    session.put_private_data(CHANNEL, COLL, "b", r#"{"price":30}"#);
    session.put_state(CHANNEL, "c", r#"{"price":50}"#);
    let (_pending, tx) = begin(&session, &mut cc).await;
    let q = r#"{"selector":{"price":{"$gt":5}}}"#;
    let r = query(
        &cc.request(&tx, MessageType::GetQueryResult, rich(COLL, q, None))
            .await,
    );
    assert_eq!(keys(&r), ["a", "b"]);
}

// ---- History ----

async fn commit_writes(
    session: &Session,
    cc: &mut Chaincode,
    writes: &[(&str, Option<&[u8]>)],
) -> String {
    let (pending, tx) = begin(session, cc).await;
    for (key, value) in writes {
        let answer = match value {
            Some(v) => {
                cc.request(&tx, MessageType::PutState, put("", key, v))
                    .await
            }
            None => cc.request(&tx, MessageType::DelState, del("", key)).await,
        };
        ok(&answer);
    }
    cc.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
    tx.txid
}

fn modifications(response: &QueryResponse) -> Vec<KeyModification> {
    response
        .results
        .iter()
        .map(|r| KeyModification::decode(r.result_bytes.as_slice()).unwrap())
        .collect()
}

#[tokio::test]
async fn history_lists_every_committed_write_newest_first_with_txid_and_timestamp() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let t1 = commit_writes(&session, &mut cc, &[("k", Some(b"1"))]).await;
    // Two writes in one transaction are one history entry: the last.
    let t2 = commit_writes(&session, &mut cc, &[("k", Some(b"2")), ("k", Some(b"3"))]).await;
    let t3 = commit_writes(&session, &mut cc, &[("k", None)]).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let r = query(
        &cc.request(&tx, MessageType::GetHistoryForKey, history("k"))
            .await,
    );
    let h = modifications(&r);
    let rows: Vec<_> = h
        .iter()
        .map(|m| (m.tx_id.as_str(), m.value.as_slice(), m.is_delete))
        .collect();
    assert_eq!(
        rows,
        [
            (t3.as_str(), &b""[..], true),
            (t2.as_str(), b"3", false),
            (t1.as_str(), b"1", false)
        ]
    );
    assert!(h.iter().all(|m| m.timestamp.is_some_and(|t| t.seconds > 0)));
    assert!(h[0].timestamp >= h[2].timestamp);
    assert_eq!(session.history(CHANNEL, "k"), h);
}

#[tokio::test]
async fn history_has_no_entry_for_an_uncommitted_or_failed_write() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put("", "k", b"1"))
        .await);
    let r = query(
        &cc.request(&tx, MessageType::GetHistoryForKey, history("k"))
            .await,
    );
    assert!(r.results.is_empty());
    cc.complete(&tx, 500, b"").await;
    pending.await.unwrap();
    assert!(session.history(CHANNEL, "k").is_empty());
}

#[tokio::test]
async fn history_comes_in_batches_of_100() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5).batch_size(2)).await;
    for i in 0..5 {
        commit_writes(&session, &mut cc, &[("k", Some(format!("{i}").as_bytes()))]).await;
    }
    let (_pending, tx) = begin(&session, &mut cc).await;
    let first = query(
        &cc.request(&tx, MessageType::GetHistoryForKey, history("k"))
            .await,
    );
    assert_eq!((first.results.len(), first.has_more), (2, true));
    assert_eq!(modifications(&first)[0].value, b"4");
    let next = QueryStateNext {
        id: first.id.clone(),
    }
    .encode_to_vec();
    let second = query(
        &cc.request(&tx, MessageType::QueryStateNext, next.clone())
            .await,
    );
    assert_eq!((second.results.len(), second.has_more), (2, true));
    let third = query(&cc.request(&tx, MessageType::QueryStateNext, next).await);
    assert_eq!((third.results.len(), third.has_more), (1, false));
    assert_eq!(modifications(&third)[0].value, b"0");
}

#[tokio::test]
async fn history_is_for_public_keys_only() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put(COLL, "k", b"p"))
        .await);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert!(session.history(CHANNEL, "k").is_empty());
}

// ---- State metadata ----

fn entries(answer: &ChaincodeMessage) -> Vec<(String, Vec<u8>)> {
    StateMetadataResult::decode(ok(answer))
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.metakey, e.value))
        .collect()
}

#[tokio::test]
async fn put_state_metadata_commits_and_get_state_metadata_returns_the_entries() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "k", "v");
    let (pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(
            &tx,
            MessageType::PutStateMetadata,
            put_meta("", "k", VALIDATION_PARAMETER, b"policy"),
        )
        .await;
    assert!(ok(&answer).is_empty());
    // Not visible before the commit.
    assert!(entries(
        &cc.request(&tx, MessageType::GetStateMetadata, get_meta("", "k"))
            .await
    )
    .is_empty());
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    let (_p, tx) = begin(&session, &mut cc).await;
    let got = entries(
        &cc.request(&tx, MessageType::GetStateMetadata, get_meta("", "k"))
            .await,
    );
    assert_eq!(got, [(VALIDATION_PARAMETER.to_owned(), b"policy".to_vec())]);
    assert_eq!(
        session
            .state_metadata(CHANNEL, "k")
            .get(VALIDATION_PARAMETER)
            .map(Vec::as_slice),
        Some(&b"policy"[..])
    );
}

#[tokio::test]
async fn metadata_survives_a_value_update_and_goes_with_a_delete() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "k", "v");
    session
        .world()
        .put_metadata(CHANNEL, "kv_1.0", "", "k", VALIDATION_PARAMETER, "policy");
    commit_writes(&session, &mut cc, &[("k", Some(b"v2"))]).await;
    assert_eq!(session.state_metadata(CHANNEL, "k").len(), 1);
    commit_writes(&session, &mut cc, &[("k", None)]).await;
    assert!(session.state_metadata(CHANNEL, "k").is_empty());
    // A new value under the key starts without metadata.
    commit_writes(&session, &mut cc, &[("k", Some(b"v3"))]).await;
    assert!(session.state_metadata(CHANNEL, "k").is_empty());
}

#[tokio::test]
async fn a_metadata_write_replaces_the_keys_whole_metadata() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "k", "v");
    session
        .world()
        .put_metadata(CHANNEL, "kv_1.0", "", "k", "A", "1");
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(
            &tx,
            MessageType::PutStateMetadata,
            put_meta("", "k", "B", b"2"),
        )
        .await);
    ok(&cc
        .request(
            &tx,
            MessageType::PutStateMetadata,
            put_meta("", "k", "C", b"3"),
        )
        .await);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    let m = session.state_metadata(CHANNEL, "k");
    assert_eq!(
        m.into_iter().collect::<Vec<_>>(),
        [("C".to_owned(), b"3".to_vec())]
    );
}

#[tokio::test]
async fn metadata_for_an_absent_key_is_not_kept() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(
            &tx,
            MessageType::PutStateMetadata,
            put_meta("", "ghost", "A", b"1"),
        )
        .await);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert!(session.state_metadata(CHANNEL, "ghost").is_empty());
}

#[tokio::test]
async fn private_metadata_is_per_collection() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_private_data(CHANNEL, COLL, "k", "p");
    let (pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(
            &tx,
            MessageType::PutStateMetadata,
            put_meta(COLL, "k", VALIDATION_PARAMETER, b"pp"),
        )
        .await);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(session.private_metadata(CHANNEL, COLL, "k").len(), 1);
    assert!(session.state_metadata(CHANNEL, "k").is_empty());
    let (_p, tx) = begin(&session, &mut cc).await;
    let got = entries(
        &cc.request(&tx, MessageType::GetStateMetadata, get_meta(COLL, "k"))
            .await,
    );
    assert_eq!(got, [(VALIDATION_PARAMETER.to_owned(), b"pp".to_vec())]);
}

// ---- Pagination ----

#[tokio::test]
async fn a_paginated_range_is_one_page_whose_bookmark_is_the_next_key() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for k in ["a", "b", "c", "d", "e"] {
        session.put_state(CHANNEL, k, k);
    }
    let (_pending, tx) = begin(&session, &mut cc).await;
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range("", "a", "e", Some((2, ""))),
        )
        .await,
    );
    assert_eq!(
        (keys(&r), r.has_more),
        (vec!["a".into(), "b".into()], false)
    );
    assert_eq!(page_meta(&r), (2, "c".into()));
    // The iterator is closed at once.
    let next = cc
        .request(
            &tx,
            MessageType::QueryStateNext,
            QueryStateNext { id: r.id }.encode_to_vec(),
        )
        .await;
    assert!(error_text(&next).ends_with("query iterator not found"));
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range("", "a", "e", Some((2, "c"))),
        )
        .await,
    );
    assert_eq!(keys(&r), ["c", "d"]);
    // The end key still bounds the last page, whose bookmark is empty.
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range("", "a", "e", Some((2, "e"))),
        )
        .await,
    );
    assert_eq!((keys(&r).len(), page_meta(&r)), (0, (0, String::new())));
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range("", "a", "", Some((2, "e"))),
        )
        .await,
    );
    assert_eq!(
        (keys(&r), page_meta(&r)),
        (vec!["e".into()], (1, String::new()))
    );
}

#[tokio::test]
async fn a_paginated_query_after_a_write_is_refused() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put("", "k", b"v"))
        .await);
    let answer = cc
        .request(
            &tx,
            MessageType::GetStateByRange,
            range("", "", "", Some((10, ""))),
        )
        .await;
    assert_eq!(
        error_text(&answer),
        format!("GET_STATE_BY_RANGE failed: transaction ID: {0}: txid [{0}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction", tx.txid)
    );
}

#[tokio::test]
async fn a_write_after_a_paginated_query_is_refused() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    query(
        &cc.request(
            &tx,
            MessageType::GetQueryResult,
            rich("", r#"{"selector":{}}"#, Some((10, ""))),
        )
        .await,
    );
    let answer = cc.request(&tx, MessageType::DelState, del("", "k")).await;
    assert_eq!(
        error_text(&answer),
        format!("DEL_STATE failed: transaction ID: {0}: txid [{0}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed", tx.txid)
    );
}

#[tokio::test]
async fn an_empty_query_metadata_is_no_pagination() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "a", "a");
    let (_pending, tx) = begin(&session, &mut cc).await;
    ok(&cc
        .request(&tx, MessageType::PutState, put("", "k", b"v"))
        .await);
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range("", "", "", Some((0, ""))),
        )
        .await,
    );
    assert_eq!((keys(&r), r.metadata.is_empty()), (vec!["a".into()], true));
}

#[tokio::test]
async fn pagination_on_private_data_is_ignored_but_its_page_size_caps_the_records() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for k in ["a", "b", "c"] {
        session.put_private_data(CHANNEL, COLL, k, k);
    }
    let (_pending, tx) = begin(&session, &mut cc).await;
    let r = query(
        &cc.request(
            &tx,
            MessageType::GetStateByRange,
            range(COLL, "", "", Some((2, "b"))),
        )
        .await,
    );
    // The bookmark is not used and there is no page metadata: the peer
    // takes the private path first, with the page size as total limit.
    assert_eq!(
        (keys(&r), r.has_more, r.metadata.is_empty()),
        (vec!["a".into(), "b".into()], false, true)
    );
}

#[tokio::test]
async fn a_paginated_rich_query_resumes_from_its_bookmark() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    for (k, size) in [("a", 3), ("b", 1), ("c", 4), ("d", 2), ("e", 5)] {
        session.put_state(CHANNEL, k, format!(r#"{{"size":{size}}}"#));
    }
    let q = r#"{"selector":{"size":{"$gte":2}},"sort":[{"size":"asc"}]}"#;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let first = query(
        &cc.request(&tx, MessageType::GetQueryResult, rich("", q, Some((2, ""))))
            .await,
    );
    assert_eq!(keys(&first), ["d", "a"]);
    let (count, bookmark) = page_meta(&first);
    assert_eq!((count, first.has_more), (2, false));
    let second = query(
        &cc.request(
            &tx,
            MessageType::GetQueryResult,
            rich("", q, Some((2, &bookmark))),
        )
        .await,
    );
    assert_eq!(keys(&second), ["c", "e"]);
    let (_, bookmark) = page_meta(&second);
    let third = query(
        &cc.request(
            &tx,
            MessageType::GetQueryResult,
            rich("", q, Some((2, &bookmark))),
        )
        .await,
    );
    assert_eq!(page_meta(&third).0, 0);
}

// ---- Rich queries ----

#[tokio::test]
async fn a_rich_query_returns_matching_json_in_batches_as_couchdb_gives_it() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5).batch_size(2)).await;
    session.put_state(CHANNEL, "a", r#"{"owner":"tom", "n":1}"#);
    session.put_state(CHANNEL, "b", r#"{"owner":"ann","n":2}"#);
    session.put_state(CHANNEL, "c", r#"{"owner":"tom","n":3}"#);
    session.put_state(CHANNEL, "d", r#"{"owner":"tom","n":4}"#);
    session.put_state(CHANNEL, "e", "tom");
    let (_pending, tx) = begin(&session, &mut cc).await;
    let q = r#"{"selector":{"owner":"tom"}}"#;
    let first = query(
        &cc.request(&tx, MessageType::GetQueryResult, rich("", q, None))
            .await,
    );
    assert_eq!(
        (keys(&first), first.has_more),
        (vec!["a".into(), "c".into()], true)
    );
    // Re-marshalled by the peer: compact, keys sorted.
    assert_eq!(kvs(&first)[0].1, r#"{"n":1,"owner":"tom"}"#);
    let next = QueryStateNext { id: first.id }.encode_to_vec();
    let second = query(&cc.request(&tx, MessageType::QueryStateNext, next).await);
    assert_eq!((keys(&second), second.has_more), (vec!["d".into()], false));
}

#[tokio::test]
async fn a_rich_query_with_sort_and_fields() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "a", r#"{"owner":"tom","n":1,"x":"y"}"#);
    session.put_state(CHANNEL, "b", r#"{"owner":"tom","n":2,"x":"z"}"#);
    let (_pending, tx) = begin(&session, &mut cc).await;
    let q = r#"{"selector":{"owner":"tom"},"sort":[{"n":"desc"}],"fields":["n"]}"#;
    let r = query(
        &cc.request(&tx, MessageType::GetQueryResult, rich("", q, None))
            .await,
    );
    assert_eq!(
        kvs(&r),
        [
            ("b".into(), r#"{"n":2}"#.into()),
            ("a".into(), r#"{"n":1}"#.into())
        ]
    );
}

#[tokio::test]
async fn a_malformed_rich_query_is_an_error_that_says_why() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(
            &tx,
            MessageType::GetQueryResult,
            rich("", r#"{"selector":{"n":{"$regex":"x"}}}"#, None),
        )
        .await;
    let text = error_text(&answer);
    assert!(
        text.starts_with(&format!(
            "GET_QUERY_RESULT failed: transaction ID: {}: ",
            tx.txid
        )),
        "{text}"
    );
    assert!(text.contains("unknown operator `$regex`"), "{text}");
    let answer = cc
        .request(
            &tx,
            MessageType::GetQueryResult,
            rich("", "owner=tom", None),
        )
        .await;
    assert!(error_text(&answer).contains("the query is not valid JSON"));
}

// ---- State databases ----

#[tokio::test]
async fn by_default_values_read_back_byte_for_byte() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state(CHANNEL, "k", r#"{"b": 1, "a": 2}"#);
    let (_pending, tx) = begin(&session, &mut cc).await;
    let got = cc.request(&tx, MessageType::GetState, get("", "k")).await;
    assert_eq!(ok(&got), br#"{"b": 1, "a": 2}"#);
}

#[tokio::test]
async fn couchdb_gives_json_objects_back_re_marshalled_and_other_bytes_as_written() {
    let sim = simulator(Profile::V2_5).state_database(StateDatabase::CouchDb);
    let (session, mut cc, _) = ready(sim).await;
    session.put_state(CHANNEL, "j", r#"{"b": 1, "a": "<2>"}"#);
    session.put_state(CHANNEL, "n", "[3, 1]");
    session.put_private_data(CHANNEL, COLL, "p", r#"{"z":0,"y":1}"#);
    let (_pending, tx) = begin(&session, &mut cc).await;
    let canonical = r#"{"a":"\u003c2\u003e","b":1}"#;
    let got = cc.request(&tx, MessageType::GetState, get("", "j")).await;
    assert_eq!(ok(&got), canonical.as_bytes());
    let got = cc.request(&tx, MessageType::GetState, get("", "n")).await;
    assert_eq!(ok(&got), b"[3, 1]");
    let r = query(
        &cc.request(&tx, MessageType::GetStateByRange, range("", "", "", None))
            .await,
    );
    assert_eq!(
        kvs(&r),
        [
            ("j".into(), canonical.into()),
            ("n".into(), "[3, 1]".into())
        ]
    );
    let got = cc.request(&tx, MessageType::GetState, get(COLL, "p")).await;
    assert_eq!(ok(&got), br#"{"y":1,"z":0}"#);
}

#[tokio::test]
async fn couchdb_refuses_the_keys_and_values_its_validate_key_value_refuses() {
    let sim = simulator(Profile::V2_5).state_database(StateDatabase::CouchDb);
    let (session, mut cc, _) = ready(sim).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    for (key, value, why) in [
        (
            "_design",
            &b"v"[..],
            r#"invalid key [_design], cannot begin with "_""#,
        ),
        (
            "",
            b"v",
            "invalid key. Empty string is not supported as a key by couchdb",
        ),
        (
            "k",
            br#"{"_id":"x"}"#,
            "field [_id] is not valid for the CouchDB state database",
        ),
        (
            "k",
            br#"{"~version":"x"}"#,
            "field [~version] is not valid for the CouchDB state database",
        ),
    ] {
        let answer = cc
            .request(&tx, MessageType::PutState, put("", key, value))
            .await;
        assert_eq!(
            error_text(&answer),
            format!("PUT_STATE failed: transaction ID: {}: {why}", tx.txid)
        );
    }
    ok(&cc
        .request(&tx, MessageType::PutState, put("", "k", br#"{"a_b":1}"#))
        .await);
}

#[tokio::test]
async fn leveldb_refuses_rich_queries_as_the_peer_does() {
    let sim = simulator(Profile::V2_5).state_database(StateDatabase::LevelDb);
    let (session, mut cc, _) = ready(sim).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let q = r#"{"selector":{}}"#;
    let plain = cc
        .request(&tx, MessageType::GetQueryResult, rich("", q, None))
        .await;
    assert!(error_text(&plain).ends_with(": ExecuteQuery not supported for leveldb"));
    let paged = cc
        .request(&tx, MessageType::GetQueryResult, rich("", q, Some((5, ""))))
        .await;
    assert!(error_text(&paged).ends_with(": ExecuteQueryWithMetadata not supported for leveldb"));
    // Ranges are LevelDB's own.
    query(
        &cc.request(&tx, MessageType::GetStateByRange, range("", "", "", None))
            .await,
    );
}

// ---- Chaincode to chaincode ----

const CALLEE_ID: &str = "callee_1.0:feed";

/// A caller (the default package) and a callee (`callee_1.0`) on one ledger.
async fn two_chaincodes(
    world: &WorldState,
    timeout: Duration,
) -> (Session, Chaincode, Session, Chaincode) {
    let (caller, caller_cc, _) = ready(
        simulator(Profile::V2_5)
            .world(world.clone())
            .execute_timeout(timeout),
    )
    .await;
    let callee_sim = Simulator::new(CALLEE_ID)
        .world(world.clone())
        .startup_timeout(Duration::from_secs(5));
    let (callee, callee_cc, _) = ready_as(callee_sim, CALLEE_ID).await;
    (caller, caller_cc, callee, callee_cc)
}

fn completed(tx: &ChaincodeMessage, status: i32, payload: &[u8]) -> ChaincodeMessage {
    ChaincodeMessage::for_tx(
        MessageType::Completed,
        Response {
            status,
            message: String::new(),
            payload: payload.to_vec(),
        }
        .encode_to_vec(),
        &tx.channel_id,
        &tx.txid,
    )
}

#[tokio::test]
async fn invoke_chaincode_runs_the_callee_with_the_callers_txid_and_proposal_and_answers_its_message(
) {
    let world = WorldState::new();
    let (caller, mut a, callee, mut b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    assert_eq!(world.chaincodes(), ["callee_1.0", "kv_1.0"]);
    let pending = caller
        .invoke(CHANNEL, ["call"])
        .decoration("d", "x")
        .start()
        .unwrap();
    let tx = a.recv().await;
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0", &["put", "k"]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let called = b.recv().await;
    assert_eq!(called.kind(), Some(MessageType::Transaction));
    assert_eq!(
        (called.txid.as_str(), called.channel_id.as_str()),
        (tx.txid.as_str(), CHANNEL)
    );
    assert_eq!(called.proposal, tx.proposal);
    let input = ChaincodeInput::decode(called.payload.as_slice()).unwrap();
    assert_eq!(input.args, [b"put".to_vec(), b"k".to_vec()]);
    assert!(
        input.decorations.is_empty(),
        "the peer passes no decorations to a callee"
    );
    ok(&b
        .request(&called, MessageType::PutState, put("", "k", b"from callee"))
        .await);
    let done = completed(&called, 200, b"callee says hi");
    b.send(done.clone()).await;
    let answer = a.recv().await;
    assert_eq!(
        ChaincodeMessage::decode(ok(&answer)).unwrap(),
        done,
        "the RESPONSE carries the callee's COMPLETED as it sent it"
    );
    // The callee's write is in the caller's write set: committed with it.
    assert_eq!(callee.get_state(CHANNEL, "k"), None);
    a.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
    assert_eq!(
        callee.get_state(CHANNEL, "k"),
        Some(b"from callee".to_vec())
    );
    assert_eq!(
        caller.get_state(CHANNEL, "k"),
        None,
        "written in the callee's namespace"
    );
    assert_eq!(callee.history(CHANNEL, "k")[0].tx_id, tx.txid);
}

#[tokio::test]
async fn the_callees_writes_are_dropped_when_the_caller_fails() {
    let world = WorldState::new();
    let (caller, mut a, callee, mut b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    let (pending, tx) = begin(&caller, &mut a).await;
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0", &[]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let called = b.recv().await;
    ok(&b
        .request(&called, MessageType::PutState, put("", "k", b"v"))
        .await);
    b.send(completed(&called, 200, b"")).await;
    ok(&a.recv().await);
    a.complete(&tx, 500, b"").await;
    pending.await.unwrap();
    assert_eq!(callee.get_state(CHANNEL, "k"), None);
}

#[tokio::test]
async fn the_callees_writes_count_as_the_callers_for_pagination() {
    let world = WorldState::new();
    let (caller, mut a, _callee, mut b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    let (_pending, tx) = begin(&caller, &mut a).await;
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0", &[]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let called = b.recv().await;
    ok(&b
        .request(&called, MessageType::PutState, put("", "k", b"v"))
        .await);
    b.send(completed(&called, 200, b"")).await;
    ok(&a.recv().await);
    // One simulator for both: the caller has now written.
    let answer = a
        .request(
            &tx,
            MessageType::GetStateByRange,
            range("", "", "", Some((5, ""))),
        )
        .await;
    assert!(error_text(&answer)
        .ends_with("Paginated queries are supported only in a read-only transaction"));
}

#[tokio::test]
async fn a_callee_error_comes_back_wrapped_in_a_response() {
    let world = WorldState::new();
    let (caller, mut a, _callee, mut b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    let (_pending, tx) = begin(&caller, &mut a).await;
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0", &[]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let called = b.recv().await;
    let error = ChaincodeMessage::for_tx(
        MessageType::Error,
        b"callee broke".to_vec(),
        &called.channel_id,
        &called.txid,
    );
    b.send(error.clone()).await;
    let answer = a.recv().await;
    assert_eq!(ChaincodeMessage::decode(ok(&answer)).unwrap(), error);
}

#[tokio::test]
async fn invoke_on_another_channel_runs_there_and_its_writes_reach_no_ledger() {
    let world = WorldState::new();
    let (caller, mut a, callee, mut b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    let (pending, tx) = begin(&caller, &mut a).await;
    // `name:version/channel`: the version is ignored, as `ParseName` does.
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0:9/otherchannel", &[]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let called = b.recv().await;
    assert_eq!(
        (called.txid.as_str(), called.channel_id.as_str()),
        (tx.txid.as_str(), "otherchannel")
    );
    ok(&b
        .request(&called, MessageType::PutState, put("", "k", b"v"))
        .await);
    b.send(completed(&called, 200, b"")).await;
    // The call succeeds: the peer throws the other channel's simulation away.
    let answer = a.recv().await;
    assert_eq!(
        ChaincodeMessage::decode(ok(&answer)).unwrap().kind(),
        Some(MessageType::Completed)
    );
    a.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
    assert_eq!(callee.get_state("otherchannel", "k"), None);
    assert_eq!(callee.get_state(CHANNEL, "k"), None);
    // And the caller's simulation is untouched: it may still paginate.
}

#[tokio::test]
async fn invoke_of_an_unknown_chaincode_fails_as_the_peer_words_it() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(
            &tx,
            MessageType::InvokeChaincode,
            invoke_spec("nosuch", &[]),
        )
        .await;
    assert_eq!(
        error_text(&answer),
        format!("INVOKE_CHAINCODE failed: transaction ID: {}: execute failed: invalid invocation: [channel mychannel] failed to get chaincode container info for nosuch: chaincode nosuch not found", tx.txid)
    );
}

#[tokio::test]
async fn invoke_of_itself_on_the_same_channel_fails_with_a_duplicate_txid() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(
            &tx,
            MessageType::InvokeChaincode,
            invoke_spec("kv_1.0", &[]),
        )
        .await;
    assert_eq!(
        error_text(&answer),
        format!("INVOKE_CHAINCODE failed: transaction ID: {0}: execute failed: error sending: txid: {0}(mychannel) exists", tx.txid)
    );
}

#[tokio::test]
async fn a_callee_that_does_not_answer_times_out() {
    let world = WorldState::new();
    let (caller, mut a, _callee, mut b) = two_chaincodes(&world, Duration::from_millis(300)).await;
    let pending = caller.invoke(CHANNEL, ["call"]).start().unwrap();
    let tx = a.recv().await;
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0", &[]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let _called = b.recv().await;
    let answer = a.recv().await;
    assert!(error_text(&answer)
        .ends_with(": execute failed: error sending: timeout expired while executing transaction"));
    drop(pending);
}

#[tokio::test]
async fn after_a_callee_timeout_the_caller_keeps_what_both_wrote() {
    let world = WorldState::new();
    let (caller, mut a, callee, mut b) = two_chaincodes(&world, Duration::from_millis(300)).await;
    // Not awaited yet: the caller's own timeout only runs once awaited.
    let pending = caller.invoke(CHANNEL, ["call"]).start().unwrap();
    let tx = a.recv().await;
    ok(&a
        .request(&tx, MessageType::PutState, put("", "mine", b"1"))
        .await);
    a.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("callee_1.0", &[]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    let called = b.recv().await;
    ok(&b
        .request(&called, MessageType::PutState, put("", "theirs", b"2"))
        .await);
    let answer = a.recv().await;
    assert!(error_text(&answer).ends_with("timeout expired while executing transaction"));
    // One simulator for both, as on the peer: a caller that carries on
    // commits what it and the callee wrote.
    a.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
    assert_eq!(caller.get_state(CHANNEL, "mine"), Some(b"1".to_vec()));
    assert_eq!(callee.get_state(CHANNEL, "theirs"), Some(b"2".to_vec()));
    // The callee's late answer is ignored.
    b.send(completed(&called, 200, b"")).await;
    assert!(
        callee
            .wait_until(Duration::from_secs(2), |s| s.ignored().len() == 1)
            .await
    );
}

#[tokio::test]
async fn a_callee_session_that_closed_is_not_found() {
    let world = WorldState::new();
    let (caller, mut a, callee, _b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    callee.close().await;
    assert_eq!(world.chaincodes(), ["kv_1.0"]);
    let (_pending, tx) = begin(&caller, &mut a).await;
    let answer = a
        .request(
            &tx,
            MessageType::InvokeChaincode,
            invoke_spec("callee_1.0", &[]),
        )
        .await;
    assert!(error_text(&answer).ends_with("chaincode callee_1.0 not found"));
}

#[tokio::test]
async fn a_chaincode_may_call_itself_on_another_channel_and_read_that_channels_state() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    session.put_state("otherchannel", "k", "over there");
    let (pending, tx) = begin(&session, &mut cc).await;
    cc.send(ChaincodeMessage::for_tx(
        MessageType::InvokeChaincode,
        invoke_spec("kv_1.0/otherchannel", &["read"]),
        &tx.channel_id,
        &tx.txid,
    ))
    .await;
    // The same stream carries the call: same txid, the other channel.
    let called = cc.recv().await;
    assert_eq!(
        (
            called.kind(),
            called.txid.as_str(),
            called.channel_id.as_str()
        ),
        (
            Some(MessageType::Transaction),
            tx.txid.as_str(),
            "otherchannel"
        )
    );
    let read = cc
        .request(&called, MessageType::GetState, get("", "k"))
        .await;
    assert_eq!(ok(&read), b"over there");
    cc.send(completed(&called, 200, b"read it")).await;
    let answer = cc.recv().await;
    let inner = ChaincodeMessage::decode(ok(&answer)).unwrap();
    assert_eq!(
        Response::decode(inner.payload.as_slice()).unwrap().payload,
        b"read it"
    );
    cc.complete(&tx, 200, b"").await;
    assert!(pending.await.unwrap().is_success());
}

#[tokio::test]
async fn invoke_as_init_is_refused_as_for_a_chaincode_that_needs_no_init() {
    let world = WorldState::new();
    let (caller, mut a, _callee, _b) = two_chaincodes(&world, Duration::from_secs(10)).await;
    let (_pending, tx) = begin(&caller, &mut a).await;
    let spec = ChaincodeSpec {
        chaincode_id: Some(ChaincodeId {
            name: "callee_1.0/".into(),
            ..Default::default()
        }),
        input: Some(ChaincodeInput {
            args: vec![b"init".to_vec()],
            decorations: Default::default(),
            is_init: true,
        }),
        ..Default::default()
    };
    let answer = a
        .request(&tx, MessageType::InvokeChaincode, spec.encode_to_vec())
        .await;
    assert_eq!(
        error_text(&answer),
        format!("INVOKE_CHAINCODE failed: transaction ID: {}: execute failed: invalid invocation: chaincode 'callee_1.0' does not require initialization but called as init", tx.txid)
    );
}

#[tokio::test]
async fn a_malformed_invoke_chaincode_payload_is_an_unmarshal_error() {
    let (session, mut cc, _) = ready(simulator(Profile::V2_5)).await;
    let (_pending, tx) = begin(&session, &mut cc).await;
    let answer = cc
        .request(&tx, MessageType::InvokeChaincode, vec![0xff, 0xff])
        .await;
    assert!(error_text(&answer).starts_with(&format!(
        "INVOKE_CHAINCODE failed: transaction ID: {}: unmarshal failed: ",
        tx.txid
    )));
}

#[tokio::test]
async fn a_chaincode_whose_registration_was_refused_is_not_reachable() {
    let world = WorldState::new();
    let (caller, mut a, _) = ready(simulator(Profile::V2_5).world(world.clone())).await;
    let (transport, end) = Transport::pair(16);
    let b = Chaincode { end };
    b.register("callee_1.0").await; // the label alone: refused
    let refused = Simulator::new(CALLEE_ID)
        .world(world.clone())
        .attach(transport)
        .await
        .unwrap();
    assert!(!refused.is_registered());
    assert_eq!(world.chaincodes(), ["kv_1.0"]);
    let (_pending, tx) = begin(&caller, &mut a).await;
    let answer = a
        .request(
            &tx,
            MessageType::InvokeChaincode,
            invoke_spec("callee_1.0", &[]),
        )
        .await;
    assert!(error_text(&answer).ends_with("chaincode callee_1.0 not found"));
}

// ---- v3.1 batches on private data and metadata ----

fn rec(
    kind: WriteRecordType,
    collection: &str,
    key: &str,
    value: &[u8],
    meta: Option<(&str, &[u8])>,
) -> WriteRecord {
    WriteRecord {
        key: key.into(),
        value: value.to_vec(),
        collection: collection.into(),
        metadata: meta.map(|(k, v)| StateMetadata {
            metakey: k.into(),
            value: v.to_vec(),
        }),
        r#type: kind as i32,
    }
}

#[tokio::test]
async fn write_batch_state_applies_private_metadata_and_purge_records_under_v3_1() {
    let (session, mut cc, _) = ready(simulator(Profile::V3_1)).await;
    session.put_private_data(CHANNEL, COLL, "gone", "x");
    session.put_state(CHANNEL, "pub", "v");
    let (pending, tx) = begin(&session, &mut cc).await;
    let batch = WriteBatchState {
        rec: vec![
            rec(WriteRecordType::PutState, COLL, "a", b"pa", None),
            rec(WriteRecordType::PurgePrivateData, COLL, "gone", b"", None),
            rec(
                WriteRecordType::PutStateMetadata,
                "",
                "pub",
                b"",
                Some((VALIDATION_PARAMETER, b"p")),
            ),
            rec(
                WriteRecordType::PutStateMetadata,
                COLL,
                "a",
                b"",
                Some(("M", b"m")),
            ),
            rec(WriteRecordType::DelState, COLL, "nothing", b"", None),
        ],
    };
    ok(&cc
        .request(&tx, MessageType::WriteBatchState, batch.encode_to_vec())
        .await);
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(
        session.get_private_data(CHANNEL, COLL, "a"),
        Some(b"pa".to_vec())
    );
    assert_eq!(session.get_private_data(CHANNEL, COLL, "gone"), None);
    assert_eq!(session.state_metadata(CHANNEL, "pub").len(), 1);
    assert_eq!(session.private_metadata(CHANNEL, COLL, "a").len(), 1);
}

#[tokio::test]
async fn a_failing_batch_record_answers_error_and_keeps_the_records_before_it() {
    let (session, mut cc, _) = ready(simulator(Profile::V3_1)).await;
    let (pending, tx) = begin(&session, &mut cc).await;
    let batch = WriteBatchState {
        rec: vec![
            rec(WriteRecordType::PutState, "", "a", b"1", None),
            rec(WriteRecordType::PurgePrivateData, "", "a", b"", None),
            rec(WriteRecordType::PutState, "", "b", b"2", None),
        ],
    };
    let answer = cc
        .request(&tx, MessageType::WriteBatchState, batch.encode_to_vec())
        .await;
    assert!(error_text(&answer).ends_with(": only applicable for private data"));
    cc.complete(&tx, 200, b"").await;
    pending.await.unwrap();
    assert_eq!(session.get_state(CHANNEL, "a"), Some(b"1".to_vec()));
    assert_eq!(session.get_state(CHANNEL, "b"), None);
}

#[tokio::test]
async fn get_state_multiple_reads_a_collection_under_v3_1() {
    let (session, mut cc, _) = ready(simulator(Profile::V3_1)).await;
    session.put_private_data(CHANNEL, COLL, "a", "pa");
    session.put_state(CHANNEL, "b", "public");
    let (_pending, tx) = begin(&session, &mut cc).await;
    let req = GetStateMultiple {
        keys: vec!["b".into(), "a".into()],
        collection: COLL.into(),
    };
    let answer = cc
        .request(&tx, MessageType::GetStateMultiple, req.encode_to_vec())
        .await;
    let values = GetStateMultipleResult::decode(ok(&answer)).unwrap().values;
    assert_eq!(values, [Vec::new(), b"pa".to_vec()]);
}
