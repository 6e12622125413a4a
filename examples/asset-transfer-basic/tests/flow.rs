//! asset-transfer-basic through the peer simulator. Every expected output
//! here was written by reading fabric-samples'
//! `asset-transfer-basic/chaincode-go/chaincode/smartcontract.go` and
//! fabric-contract-api-go's serializer, not by running this chaincode:
//!
//! - results: `error` only → empty payload; `bool` → `true`/`false`;
//!   `string` → as is (TransferAsset's old owner); `*Asset`, `[]*Asset` →
//!   `json.Marshal`, fields in the struct's (alphabetical) order; a nil
//!   `[]*Asset` (no asset at all) → empty payload;
//! - errors: `shim.Error(err.Error())`, status 500, the sample's texts;
//! - the ledger: `json.Marshal(asset)` under the asset's ID.
//!
//! The one deliberate difference: parameter errors name the Rust
//! parameter (`size`) where contract-api-go, which cannot see Go's names,
//! writes `param2`.

use asset_transfer_basic::chaincode;
use ccaas_peersim::{Session, Simulator, TxOutcome};
use std::sync::Arc;

const ID: &str = "basic_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CHANNEL: &str = "mychannel";

fn asset(id: &str, color: &str, size: i64, owner: &str, value: i64) -> String {
    format!(
        r#"{{"AppraisedValue":{value},"Color":"{color}","ID":"{id}","Owner":"{owner}","Size":{size}}}"#
    )
}

fn initial() -> Vec<String> {
    vec![
        asset("asset1", "blue", 5, "Tomoko", 300),
        asset("asset2", "red", 5, "Brad", 400),
        asset("asset3", "green", 10, "Jin Soo", 500),
        asset("asset4", "yellow", 10, "Max", 600),
        asset("asset5", "black", 15, "Adriana", 700),
        asset("asset6", "white", 15, "Michel", 800),
    ]
}

async fn session() -> Session {
    let chaincode = chaincode().expect("chaincode");
    Simulator::new(ID)
        .in_process(Arc::new(chaincode))
        .await
        .expect("session")
}

async fn call(peer: &Session, args: &[&str]) -> TxOutcome {
    peer.invoke(CHANNEL, args.iter().copied())
        .await
        .expect("transaction")
}

fn ok(outcome: &TxOutcome) -> String {
    match outcome.response() {
        Some(r) if r.status == 200 => String::from_utf8_lossy(&r.payload).into_owned(),
        _ => panic!("expected status 200, got {outcome:?}"),
    }
}

fn err(outcome: &TxOutcome) -> String {
    match outcome.response() {
        Some(r) if r.status == 500 => r.message.clone(),
        _ => panic!("expected status 500, got {outcome:?}"),
    }
}

#[tokio::test]
async fn the_gateway_applications_sequence_gives_the_go_samples_outputs() {
    let peer = session().await;

    // Before InitLedger: Go's nil slice, an empty payload.
    assert_eq!(ok(&call(&peer, &["GetAllAssets"]).await), "");

    assert_eq!(ok(&call(&peer, &["InitLedger"]).await), "");
    assert_eq!(
        ok(&call(&peer, &["GetAllAssets"]).await),
        format!("[{}]", initial().join(","))
    );
    // The ledger holds json.Marshal's bytes.
    assert_eq!(
        peer.get_state(CHANNEL, "asset3"),
        Some(asset("asset3", "green", 10, "Jin Soo", 500).into_bytes())
    );

    // CreateAsset(assetId, "yellow", "5", "Tom", "1300"), as the application.
    let id = "asset1733000000000";
    assert_eq!(
        ok(&call(&peer, &["CreateAsset", id, "yellow", "5", "Tom", "1300"]).await),
        ""
    );
    assert_eq!(
        ok(&call(&peer, &["ReadAsset", id]).await),
        asset(id, "yellow", 5, "Tom", 1300)
    );

    // TransferAsset returns the old owner, as is.
    assert_eq!(
        ok(&call(&peer, &["TransferAsset", id, "Mark"]).await),
        "Tom"
    );
    assert_eq!(
        ok(&call(&peer, &["ReadAsset", id]).await),
        asset(id, "yellow", 5, "Mark", 1300)
    );

    // UpdateAsset of a missing asset: the error the application prints.
    assert_eq!(
        err(&call(
            &peer,
            &["UpdateAsset", "asset70", "blue", "5", "Tomoko", "300"]
        )
        .await),
        "the asset asset70 does not exist"
    );
}

#[tokio::test]
async fn every_transaction_and_error_text_of_the_sample() {
    let peer = session().await;
    ok(&call(&peer, &["InitLedger"]).await);

    assert_eq!(ok(&call(&peer, &["AssetExists", "asset1"]).await), "true");
    assert_eq!(ok(&call(&peer, &["AssetExists", "asset99"]).await), "false");
    assert_eq!(
        ok(&call(&peer, &["ReadAsset", "asset1"]).await),
        asset("asset1", "blue", 5, "Tomoko", 300)
    );
    assert_eq!(
        err(&call(&peer, &["ReadAsset", "asset99"]).await),
        "the asset asset99 does not exist"
    );

    assert_eq!(
        err(&call(&peer, &["CreateAsset", "asset1", "red", "1", "Ann", "10"]).await),
        "the asset asset1 already exists"
    );
    assert_eq!(
        ok(&call(
            &peer,
            &["UpdateAsset", "asset1", "purple", "6", "Ann", "301"]
        )
        .await),
        ""
    );
    assert_eq!(
        peer.get_state(CHANNEL, "asset1"),
        Some(asset("asset1", "purple", 6, "Ann", 301).into_bytes())
    );

    assert_eq!(ok(&call(&peer, &["DeleteAsset", "asset2"]).await), "");
    assert_eq!(peer.get_state(CHANNEL, "asset2"), None);
    assert_eq!(
        err(&call(&peer, &["DeleteAsset", "asset2"]).await),
        "the asset asset2 does not exist"
    );
    assert_eq!(
        err(&call(&peer, &["TransferAsset", "asset2", "Bob"]).await),
        "the asset asset2 does not exist"
    );

    // Key order in GetAllAssets: asset1, asset3, ... (asset2 deleted).
    let mut expected = initial();
    expected[0] = asset("asset1", "purple", 6, "Ann", 301);
    expected.remove(1);
    assert_eq!(
        ok(&call(&peer, &["GetAllAssets"]).await),
        format!("[{}]", expected.join(","))
    );

    // Go's ints: an empty argument is 0, a wrong one names the type.
    assert_eq!(
        ok(&call(&peer, &["CreateAsset", "asset8", "", "", "", ""]).await),
        ""
    );
    assert_eq!(
        ok(&call(&peer, &["ReadAsset", "asset8"]).await),
        asset("asset8", "", 0, "", 0)
    );
    assert_eq!(
        err(&call(&peer, &["CreateAsset", "asset9", "red", "big", "Ann", "1"]).await),
        "error managing parameter size. conversion error. cannot convert passed value big to int"
    );
    assert_eq!(
        err(&call(&peer, &["CreateAsset", "asset9", "red"]).await),
        "incorrect number of params. Expected 5, received 2"
    );
    assert_eq!(
        err(&call(&peer, &["DeleteAllAssets"]).await),
        "Function DeleteAllAssets not found in contract SmartContract"
    );
    // Characters Go's encoder escapes, in the ledger too.
    ok(&call(
        &peer,
        &["CreateAsset", "asset10", "<b>", "1", "Smith & Sons", "1"],
    )
    .await);
    assert_eq!(
        peer.get_state(CHANNEL, "asset10"),
        Some(br#"{"AppraisedValue":1,"Color":"\u003cb\u003e","ID":"asset10","Owner":"Smith \u0026 Sons","Size":1}"#.to_vec())
    );
    // The contract's name and the lower-case first letter route as in Go.
    assert_eq!(
        ok(&call(&peer, &["SmartContract:assetExists", "asset10"]).await),
        "true"
    );
}

#[tokio::test]
async fn get_all_assets_reads_past_the_peers_batches_of_100() {
    let peer = session().await;
    for i in 0..150 {
        peer.put_state(
            CHANNEL,
            &format!("k{i:03}"),
            asset(&format!("k{i:03}"), "c", 1, "o", i).into_bytes(),
        );
    }
    let all = ok(&call(&peer, &["GetAllAssets"]).await);
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&all).expect("JSON");
    assert_eq!(parsed.len(), 150);
    assert_eq!(parsed[149]["ID"], "k149");
    assert_eq!(parsed[100]["AppraisedValue"], 100);
}

#[tokio::test]
async fn metadata_describes_the_samples_transactions() {
    let chaincode = chaincode().expect("chaincode");
    let metadata = serde_json::to_value(chaincode.metadata()).expect("metadata");
    let contract = &metadata["contracts"]["SmartContract"];
    assert_eq!(contract["default"], true);
    let summary: Vec<(String, String, usize, bool)> = contract["transactions"]
        .as_array()
        .map(|txs| {
            txs.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap_or_default().to_owned(),
                        t["tag"][0].as_str().unwrap_or_default().to_owned(),
                        t["parameters"].as_array().map_or(0, Vec::len),
                        t.get("returns").is_some(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected = [
        ("AssetExists", "evaluate", 1, true),
        ("CreateAsset", "submit", 5, false),
        ("DeleteAsset", "submit", 1, false),
        ("GetAllAssets", "evaluate", 0, true),
        ("InitLedger", "submit", 0, false),
        ("ReadAsset", "evaluate", 1, true),
        ("TransferAsset", "submit", 2, true),
        ("UpdateAsset", "submit", 5, false),
    ];
    let expected: Vec<(String, String, usize, bool)> = expected
        .iter()
        .map(|(n, t, p, r)| ((*n).to_owned(), (*t).to_owned(), *p, *r))
        .collect();
    assert_eq!(summary, expected);
    // Go's component for Asset: every field required, Go int as int64.
    assert_eq!(
        metadata["components"]["schemas"]["Asset"],
        serde_json::json!({
            "$id": "Asset",
            "properties": {
                "AppraisedValue": {"type": "integer", "format": "int64"},
                "Color": {"type": "string"},
                "ID": {"type": "string"},
                "Owner": {"type": "string"},
                "Size": {"type": "integer", "format": "int64"}
            },
            "required": ["AppraisedValue", "Color", "ID", "Owner", "Size"],
            "additionalProperties": false
        })
    );
    assert_eq!(
        contract["transactions"][3]["returns"],
        serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/Asset"}})
    );
}
