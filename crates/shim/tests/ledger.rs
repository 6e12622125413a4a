//! Every stub method end to end: a chaincode of the test's own, served on a
//! real socket, driven by the peer simulator under the v2.5 and the v3.1
//! profiles. Batches and multiple gets under v3.1 and their fallbacks under
//! v2.5 must leave identical world states.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use ccaas_peersim::{DialOptions, Profile, Session, Simulator, TxOutcome};
use ccaas_proto::MessageType;
use ccaas_shim::composite::{create_composite_key, split_composite_key};
use ccaas_shim::{Chaincode, ChaincodeServer, Response, ServerConfig, Stub, StubError};
use common::{plain_connection, CHANNEL, ID};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// A chaincode with one function per stub method; every answer is JSON.
struct Ledger;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(bytes: Option<Vec<u8>>) -> Value {
    bytes.map_or(Value::Null, |b| {
        Value::String(String::from_utf8_lossy(&b).into_owned())
    })
}

fn keys(records: &[ccaas_proto::queryresult::Kv]) -> Value {
    records
        .iter()
        .map(|r| Value::String(r.key.clone()))
        .collect()
}

fn page(page: &ccaas_shim::Page) -> Value {
    json!({"keys": keys(&page.records), "count": page.fetched_records_count, "bookmark": page.bookmark})
}

impl Ledger {
    async fn run(&self, stub: &Stub) -> Result<Value, StubError> {
        let (function, args) = stub.function_and_parameters();
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let size = |s: &str| s.parse::<i32>().unwrap_or(0);
        Ok(match (function.as_str(), a.as_slice()) {
            ("put", [k, v]) => json!(stub.put_state(k, v.as_bytes().to_vec()).await?),
            ("get", [k]) => text(stub.get_state(k).await?),
            ("del", [k]) => json!(stub.del_state(k).await?),
            ("range", [s, e]) => keys(&stub.get_state_by_range(s, e).await?.collect_all().await?),
            ("page", [s, e, n, b]) => page(
                &stub
                    .get_state_by_range_with_pagination(s, e, size(n), b)
                    .await?,
            ),
            ("ck", [t, attrs @ ..]) => {
                let key = create_composite_key(t, attrs)?;
                stub.put_state(&key, b"1".to_vec()).await?;
                json!(hex(key.as_bytes()))
            }
            ("partial", [t, attrs @ ..]) => {
                let records = stub
                    .get_state_by_partial_composite_key(t, attrs)
                    .await?
                    .collect_all()
                    .await?;
                let mut split = Vec::new();
                for record in &records {
                    split.push(json!(split_composite_key(&record.key)?));
                }
                Value::Array(split)
            }
            ("cpage", [t, n, b]) => page(
                &stub
                    .get_state_by_partial_composite_key_with_pagination(t, &[], size(n), b)
                    .await?,
            ),
            ("allck", [n, b]) => page(
                &stub
                    .get_all_states_composite_key_with_pagination(size(n), b)
                    .await?,
            ),
            ("query", [q]) => keys(&stub.get_query_result(q).await?.collect_all().await?),
            ("qpage", [q, n, b]) => {
                page(&stub.get_query_result_with_pagination(q, size(n), b).await?)
            }
            ("history", [k]) => {
                let entries = stub.get_history_for_key(k).await?.collect_all().await?;
                entries
                    .iter()
                    .map(|m| json!({"txid": m.tx_id, "value": String::from_utf8_lossy(&m.value), "delete": m.is_delete}))
                    .collect()
            }
            ("meta_put", [k, mk, v]) => json!(
                stub.put_state_metadata(k, mk, v.as_bytes().to_vec())
                    .await?
            ),
            ("meta_get", [k]) => {
                let mut entries: Vec<(String, Vec<u8>)> =
                    stub.get_state_metadata(k).await?.into_iter().collect();
                entries.sort();
                entries
                    .into_iter()
                    .map(|(mk, v)| json!([mk, String::from_utf8_lossy(&v)]))
                    .collect()
            }
            ("vp_set", [k, v]) => json!(
                stub.set_state_validation_parameter(k, v.as_bytes().to_vec())
                    .await?
            ),
            ("vp_get", [k]) => text(stub.get_state_validation_parameter(k).await?),
            ("pd_put", [c, k, v]) => {
                json!(stub.put_private_data(c, k, v.as_bytes().to_vec()).await?)
            }
            ("pd_get", [c, k]) => text(stub.get_private_data(c, k).await?),
            ("pd_del", [c, k]) => json!(stub.del_private_data(c, k).await?),
            ("pd_purge", [c, k]) => json!(stub.purge_private_data(c, k).await?),
            ("pd_hash", [c, k]) => stub
                .get_private_data_hash(c, k)
                .await?
                .map_or(Value::Null, |h| json!(hex(&h))),
            ("pd_range", [c, s, e]) => keys(
                &stub
                    .get_private_data_by_range(c, s, e)
                    .await?
                    .collect_all()
                    .await?,
            ),
            ("pd_partial", [c, t, attrs @ ..]) => keys(
                &stub
                    .get_private_data_by_partial_composite_key(c, t, attrs)
                    .await?
                    .collect_all()
                    .await?,
            ),
            ("pd_ck", [c, t, attrs @ ..]) => {
                let key = create_composite_key(t, attrs)?;
                json!(stub.put_private_data(c, &key, b"1".to_vec()).await?)
            }
            ("pd_query", [c, q]) => keys(
                &stub
                    .get_private_data_query_result(c, q)
                    .await?
                    .collect_all()
                    .await?,
            ),
            ("pd_vp_set", [c, k, v]) => json!(
                stub.set_private_data_validation_parameter(c, k, v.as_bytes().to_vec())
                    .await?
            ),
            ("pd_vp_get", [c, k]) => text(stub.get_private_data_validation_parameter(c, k).await?),
            ("multi", ks) => stub
                .get_multiple_states(ks)
                .await?
                .into_iter()
                .map(text)
                .collect(),
            ("pd_multi", [c, ks @ ..]) => stub
                .get_multiple_private_data(c, ks)
                .await?
                .into_iter()
                .map(text)
                .collect(),
            ("batch", [prefix, n]) => {
                stub.start_write_batch();
                for i in 0..size(n) {
                    stub.put_state(&format!("{prefix}{i:04}"), format!("v{i}").into_bytes())
                        .await?;
                }
                // Overwrites and deletes inside one batch: the last write wins.
                stub.put_state(&format!("{prefix}0000"), b"again".to_vec())
                    .await?;
                stub.del_state(&format!("{prefix}0001")).await?;
                stub.set_state_validation_parameter(&format!("{prefix}0002"), b"policy".to_vec())
                    .await?;
                stub.put_private_data("secret", &format!("{prefix}p"), b"private".to_vec())
                    .await?;
                // Finished at the end of the transaction.
                json!(null)
            }
            ("batch_explicit", [k, v]) => {
                stub.start_write_batch();
                stub.put_state(k, v.as_bytes().to_vec()).await?;
                stub.finish_write_batch().await?;
                json!(null)
            }
            ("call", [cc, rest @ ..]) => {
                let response = stub.invoke_chaincode(cc, rest, None).await?;
                json!({"status": response.status, "message": response.message, "payload": String::from_utf8_lossy(&response.payload)})
            }
            ("args_slice", _) => json!(String::from_utf8_lossy(&stub.args_slice())),
            _ => return Ok(json!({"unknown": function})),
        })
    }
}

impl Chaincode for Ledger {
    async fn invoke(&self, stub: &Stub) -> Response {
        match self.run(stub).await {
            Ok(value) => Response::success(value.to_string()),
            Err(e) => Response::error(e.to_string()),
        }
    }
}

async fn serve() -> SocketAddr {
    let config = ServerConfig::new(ID, "127.0.0.1:0".parse().unwrap());
    let bound = ChaincodeServer::new(config, Ledger).bind().await.unwrap();
    let address = bound.local_addr();
    tokio::spawn(bound.serve_with_shutdown(std::future::pending()));
    address
}

async fn peer(address: SocketAddr, profile: Profile) -> Session {
    Simulator::new(ID)
        .profile(profile)
        .connect(&plain_connection(address), &DialOptions::default())
        .await
        .unwrap()
}

async fn ok(session: &Session, args: &[&str]) -> Value {
    let outcome = session.invoke(CHANNEL, args.iter().copied()).await.unwrap();
    match outcome {
        TxOutcome::Completed { response, .. } if response.status < 400 => {
            serde_json::from_slice(&response.payload).unwrap()
        }
        other => panic!("{args:?}: {other:?}"),
    }
}

async fn err(session: &Session, args: &[&str]) -> String {
    match session.invoke(CHANNEL, args.iter().copied()).await.unwrap() {
        TxOutcome::Completed { response, .. } if response.status >= 400 => response.message,
        other => panic!("{args:?} did not fail: {other:?}"),
    }
}

/// The same scenario under a profile; returns what the chaincode read back.
async fn scenario(profile: Profile) -> (Vec<Value>, Session) {
    let address = serve().await;
    let session = peer(address, profile).await;
    let mut seen = Vec::new();
    ok(&session, &["batch", "b", "120"]).await;
    seen.push(ok(&session, &["range", "b", "c"]).await);
    seen.push(ok(&session, &["get", "b0000"]).await);
    seen.push(ok(&session, &["vp_get", "b0002"]).await);
    seen.push(ok(&session, &["pd_get", "secret", "bp"]).await);
    ok(&session, &["batch_explicit", "solo", "x"]).await;
    seen.push(ok(&session, &["get", "solo"]).await);
    let many: Vec<String> = (0..1500).map(|i| format!("b{i:04}")).collect();
    let mut args = vec!["multi"];
    args.extend(many.iter().map(String::as_str));
    seen.push(ok(&session, &args).await);
    seen.push(ok(&session, &["pd_multi", "secret", "bp", "nope"]).await);
    (seen, session)
}

#[tokio::test]
async fn batches_and_multiple_gets_leave_the_same_world_under_both_profiles() {
    let (v25, old) = scenario(Profile::V2_5).await;
    let (v31, new) = scenario(Profile::V3_1).await;
    assert_eq!(v25, v31);
    // The same ledger, key for key.
    let namespace = "kv_1.0";
    assert_eq!(
        old.world().namespace(CHANNEL, namespace),
        new.world().namespace(CHANNEL, namespace)
    );
    // Under v2.5 not one batch or multiple get was sent; under v3.1 they were.
    assert_eq!(old.received(MessageType::WriteBatchState), 0);
    assert_eq!(old.received(MessageType::GetStateMultiple), 0);
    assert!(new.received(MessageType::WriteBatchState) >= 2);
    // 1500 keys in requests of at most 1000.
    assert_eq!(new.received(MessageType::GetStateMultiple), 3);
    assert_eq!(v25[0].as_array().map(Vec::len), Some(119)); // b0001 deleted
    assert_eq!(v25[1], json!("again"));
    assert_eq!(v25[2], json!("policy"));
    assert_eq!(v25[3], json!("private"));
    assert_eq!(v25[4], json!("x"));
    assert_eq!(v25[5][0], json!("again"));
    assert_eq!(v25[5][1], Value::Null);
    assert_eq!(v25[5][1499], Value::Null);
    assert_eq!(v25[6], json!(["private", null]));
}

#[tokio::test]
async fn composite_keys_byte_for_byte_and_partial_queries() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = peer(serve().await, profile).await;
        // "\x00" "color~name" "\x00" "blue" "\x00" "a1" "\x00", hex.
        assert_eq!(
            ok(&session, &["ck", "color~name", "blue", "a1"]).await,
            json!(
                "00636f6c6f727e6e616d6500626c75650061310000"
                    .trim_end_matches("00")
                    .to_owned()
                    + "00"
            )
        );
        ok(&session, &["ck", "color~name", "blue", "a2"]).await;
        ok(&session, &["ck", "color~name", "red", "a3"]).await;
        ok(&session, &["ck", "other", "blue", "a4"]).await;
        ok(&session, &["put", "plain", "v"]).await;
        assert_eq!(
            ok(&session, &["partial", "color~name", "blue"]).await,
            json!([
                ["color~name", ["blue", "a1"]],
                ["color~name", ["blue", "a2"]]
            ])
        );
        assert_eq!(
            ok(&session, &["partial", "color~name"])
                .await
                .as_array()
                .map(Vec::len),
            Some(3)
        );
        // An unbounded simple range skips the composite keys.
        assert_eq!(ok(&session, &["range", "", ""]).await, json!(["plain"]));
        let all = ok(&session, &["allck", "10", ""]).await;
        assert_eq!(all["count"], 4);
        assert!(err(&session, &["ck", "bad\u{0}type"])
            .await
            .contains("U+0000"));
    }
}

#[tokio::test]
async fn pagination_pages_and_bookmarks() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = peer(serve().await, profile).await;
        for i in 0..25 {
            session.put_state(CHANNEL, &format!("p{i:02}"), "v");
        }
        let first = ok(&session, &["page", "p00", "p99", "10", ""]).await;
        assert_eq!(first["count"], 10);
        assert_eq!(first["keys"][0], "p00");
        let bookmark = first["bookmark"].as_str().unwrap().to_owned();
        let second = ok(&session, &["page", "p00", "p99", "10", &bookmark]).await;
        assert_eq!(second["keys"][0], "p10");
        let third = ok(
            &session,
            &[
                "page",
                "p00",
                "p99",
                "10",
                second["bookmark"].as_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(third["count"], 5);
        assert_eq!(
            err(&session, &["page", "p00", "p99", "0", ""]).await,
            "page size must be greater than 0, found 0"
        );
    }
}

#[tokio::test]
async fn private_data_get_put_delete_purge_hash_range_query() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = peer(serve().await, profile).await;
        ok(&session, &["pd_put", "secret", "k1", r#"{"price":10}"#]).await;
        ok(&session, &["pd_put", "secret", "k2", r#"{"price":20}"#]).await;
        assert_eq!(
            ok(&session, &["pd_get", "secret", "k1"]).await,
            json!(r#"{"price":10}"#)
        );
        // Private data is not public state.
        assert_eq!(ok(&session, &["get", "k1"]).await, Value::Null);
        // The hash is SHA-256 of the value.
        let expected = {
            use sha2::Digest;
            hex(&sha2::Sha256::digest(br#"{"price":10}"#))
        };
        assert_eq!(
            ok(&session, &["pd_hash", "secret", "k1"]).await,
            json!(expected)
        );
        assert_eq!(
            ok(&session, &["pd_range", "secret", "", ""]).await,
            json!(["k1", "k2"])
        );
        assert_eq!(
            ok(
                &session,
                &["pd_query", "secret", r#"{"selector":{"price":{"$gt":15}}}"#]
            )
            .await,
            json!(["k2"])
        );
        ok(&session, &["pd_ck", "secret", "idx", "a"]).await;
        assert_eq!(
            ok(&session, &["pd_partial", "secret", "idx"])
                .await
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        ok(&session, &["pd_vp_set", "secret", "k1", "policy"]).await;
        assert_eq!(
            ok(&session, &["pd_vp_get", "secret", "k1"]).await,
            json!("policy")
        );
        ok(&session, &["pd_del", "secret", "k1"]).await;
        assert_eq!(ok(&session, &["pd_get", "secret", "k1"]).await, Value::Null);
        ok(&session, &["pd_purge", "secret", "k2"]).await;
        assert_eq!(ok(&session, &["pd_get", "secret", "k2"]).await, Value::Null);
        assert_eq!(
            err(&session, &["pd_get", "", "k"]).await,
            "collection must not be an empty string"
        );
    }
}

#[tokio::test]
async fn rich_queries_and_their_pages() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = peer(serve().await, profile).await;
        for (k, color, size) in [("a", "blue", 1), ("b", "red", 5), ("c", "blue", 9)] {
            ok(
                &session,
                &["put", k, &json!({"color": color, "size": size}).to_string()],
            )
            .await;
        }
        assert_eq!(
            ok(&session, &["query", r#"{"selector":{"color":"blue"}}"#]).await,
            json!(["a", "c"])
        );
        let first = ok(
            &session,
            &["qpage", r#"{"selector":{"size":{"$gt":0}}}"#, "2", ""],
        )
        .await;
        assert_eq!(first["count"], 2);
        let rest = ok(
            &session,
            &[
                "qpage",
                r#"{"selector":{"size":{"$gt":0}}}"#,
                "2",
                first["bookmark"].as_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(rest["count"], 1);
    }
}

#[tokio::test]
async fn history_metadata_and_validation_parameters() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = peer(serve().await, profile).await;
        ok(&session, &["put", "h", "one"]).await;
        ok(&session, &["put", "h", "two"]).await;
        ok(&session, &["del", "h"]).await;
        let history = ok(&session, &["history", "h"]).await;
        let values: Vec<(String, bool)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["value"].as_str().unwrap().to_owned(),
                    e["delete"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(values.len(), 3);
        assert!(values.contains(&("one".to_owned(), false)));
        assert!(values.iter().any(|(_, delete)| *delete));
        ok(&session, &["put", "m", "v"]).await;
        ok(&session, &["meta_put", "m", "owner", "alice"]).await;
        assert_eq!(
            ok(&session, &["meta_get", "m"]).await,
            json!([["owner", "alice"]])
        );
        // A metadata write carries the key's whole metadata (the peer's
        // SetStateMetadata gets a one-entry map and the ledger replaces what
        // was there), so a later write of another entry replaces the first.
        ok(&session, &["vp_set", "m", "policy"]).await;
        assert_eq!(
            ok(&session, &["meta_get", "m"]).await,
            json!([["VALIDATION_PARAMETER", "policy"]])
        );
        assert_eq!(ok(&session, &["vp_get", "m"]).await, json!("policy"));
        assert_eq!(ok(&session, &["vp_get", "nokey"]).await, Value::Null);
    }
}

#[tokio::test]
async fn args_slice_concatenates_the_arguments() {
    for profile in [Profile::V2_5, Profile::V3_1] {
        let session = peer(serve().await, profile).await;
        assert_eq!(
            ok(&session, &["args_slice", "ab", "c"]).await,
            json!("args_sliceabc")
        );
    }
}
