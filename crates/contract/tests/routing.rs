//! Routing, hooks, parameters and results through the peer simulator, with
//! contract-api-go's behaviour and texts (read from its
//! `contractapi/contract_chaincode.go`, `internal/contract_function.go`,
//! `internal/transaction_handler.go`, `internal/types/types.go` and
//! `serializer/json_transaction_serializer.go`).

use ccaas_contract::{contract, Bytes, Context, ContractChaincode, Error, Object, Returned};
use ccaas_peersim::{Creator, Session, Simulator, TxOutcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

const ID: &str = "contract_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
struct Item {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Count")]
    count: u32,
    #[serde(rename = "Tags", default, skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
}

/// The default contract: every parameter type.
struct Types;

#[contract]
impl Types {
    #[transaction(evaluate)]
    async fn echo(&self, text: String) -> String {
        text
    }

    #[transaction(evaluate)]
    async fn signed(&self, a: i8, b: i16, c: i32, d: i64, e: isize) -> String {
        format!("{a} {b} {c} {d} {e}")
    }

    #[transaction(evaluate)]
    async fn unsigned(&self, a: u8, b: u16, c: u32, d: u64, e: usize) -> String {
        format!("{a} {b} {c} {d} {e}")
    }

    #[transaction(evaluate)]
    async fn float64(&self, v: f64) -> f64 {
        v
    }

    #[transaction(evaluate)]
    async fn float32(&self, v: f32) -> f32 {
        v
    }

    #[transaction(evaluate)]
    async fn boolean(&self, v: bool) -> bool {
        v
    }

    #[transaction(evaluate)]
    async fn int8(&self, v: i8) -> i8 {
        v
    }

    #[transaction(evaluate)]
    async fn uint64(&self, v: u64) -> u64 {
        v
    }

    #[transaction(evaluate)]
    async fn bytes(&self, v: Bytes) -> Bytes {
        v
    }

    #[transaction(evaluate)]
    async fn item(&self, item: Item) -> Item {
        item
    }

    #[transaction(evaluate)]
    async fn items(&self, items: Vec<Item>) -> Vec<Item> {
        items
    }

    #[transaction(evaluate)]
    async fn counts(&self, counts: HashMap<String, i64>) -> BTreeMap<String, i64> {
        counts.into_iter().collect()
    }

    #[transaction(evaluate)]
    async fn maybe(&self, present: bool) -> Option<Item> {
        present.then(|| Item {
            name: "x".into(),
            count: 1,
            tags: None,
        })
    }

    #[transaction]
    async fn nothing(&self) {}

    #[transaction]
    async fn fail(&self, message: String) -> Result<String, Error> {
        Err(Error::new(message))
    }

    #[transaction(evaluate)]
    async fn identity(&self, ctx: &Context<'_>) -> Result<String, Error> {
        let id = ctx.client_identity()?;
        let pem = ctx
            .creator()
            .map(|c| c.id_bytes.starts_with(b"-----BEGIN CERTIFICATE-----"));
        Ok(format!("{} {} {:?}", id.mspid(), id.id()?, pem))
    }

    #[transaction(evaluate)]
    async fn transient(&self, ctx: &Context<'_>, key: String) -> Result<Bytes, Error> {
        ctx.transient()
            .get(&key)
            .cloned()
            .map(Bytes)
            .ok_or_else(|| Error::new(format!("no transient {key}")))
    }

    #[transaction(name = "RenamedOne")]
    async fn renamed(&self) -> String {
        "renamed".into()
    }
}

/// A named contract with every hook; each records what it saw.
struct Hooked {
    log: Arc<Mutex<Vec<String>>>,
}

impl Hooked {
    fn record(&self, line: String) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }
}

#[contract(name = "hooked", title = "Hooked contract", version = "2.0")]
impl Hooked {
    #[before]
    async fn check(&self, ctx: &Context<'_>) -> Result<(), Error> {
        self.record(format!("before {}", ctx.function()));
        ctx.insert(format!("from before: {}", ctx.function()));
        if ctx.function() == "forbidden" {
            return Err(Error::new("refused by before"));
        }
        Ok(())
    }

    #[transaction]
    async fn work(&self, ctx: &Context<'_>, fail: bool) -> Result<String, Error> {
        self.record("work".into());
        if fail {
            return Err(Error::new("work failed"));
        }
        Ok(ctx.get::<String>().unwrap_or_default())
    }

    #[transaction]
    async fn poison_after(&self) -> String {
        "result the after hook refuses".into()
    }

    #[after]
    async fn done(&self, ctx: &Context<'_>, result: &Returned) -> Result<(), Error> {
        let value = result
            .value::<String>()
            .cloned()
            .unwrap_or_else(|| "<not a String>".into());
        self.record(format!("after {} {value}", ctx.function()));
        if ctx.function() == "poisonAfter" || ctx.function() == "PoisonAfter" {
            return Err(Error::new("refused by after"));
        }
        Ok(())
    }

    #[unknown]
    async fn fallback(&self, ctx: &Context<'_>) -> Result<String, Error> {
        self.record(format!("unknown {}", ctx.function()));
        if ctx.function() == "failUnknown" {
            return Err(Error::new("unknown failed"));
        }
        Ok(format!(
            "nobody handles {} {:?}",
            ctx.function(),
            ctx.parameters()
        ))
    }
}

/// A contract named with `:`, reachable as `a:b:Fn` (split at the last `:`).
struct Colon;

#[contract(name = "a:b")]
impl Colon {
    #[transaction]
    async fn ping(&self) -> String {
        "pong from a:b".into()
    }
}

async fn session() -> (Session, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let chaincode = ContractChaincode::builder()
        .contract(Types)
        .contract(Hooked {
            log: Arc::clone(&log),
        })
        .contract(Colon)
        .build()
        .expect("contracts");
    let peer = Simulator::new(ID)
        .in_process(Arc::new(chaincode))
        .await
        .expect("session");
    (peer, log)
}

fn ok(outcome: &TxOutcome) -> String {
    match outcome.response() {
        Some(r) if r.status == 200 => String::from_utf8_lossy(&r.payload).into_owned(),
        _ => panic!("expected status 200, got {outcome:?}"),
    }
}

fn err(outcome: &TxOutcome) -> String {
    match outcome.response() {
        Some(r) if r.status == 500 && r.payload.is_empty() => r.message.clone(),
        _ => panic!("expected an error answer (COMPLETED, status 500), got {outcome:?}"),
    }
}

async fn call(peer: &Session, args: &[&str]) -> TxOutcome {
    peer.invoke("mychannel", args.iter().copied())
        .await
        .expect("transaction")
}

#[tokio::test]
async fn no_colon_is_the_default_contract_named_is_the_named_one() {
    let (peer, _) = session().await;
    assert_eq!(ok(&call(&peer, &["Echo", "hi"]).await), "hi");
    assert_eq!(ok(&call(&peer, &["Types:Echo", "hi"]).await), "hi");
    assert_eq!(ok(&call(&peer, &["a:b:Ping"]).await), "pong from a:b");
    assert_eq!(
        err(&call(&peer, &["a:Ping"]).await),
        "Contract not found with name a"
    );
    assert_eq!(
        err(&call(&peer, &["nope:Echo", "x"]).await),
        "Contract not found with name nope"
    );
    // ":Echo" names the contract "" (Go's LastIndex split), which is none.
    assert_eq!(
        err(&call(&peer, &[":Echo", "x"]).await),
        "Contract not found with name "
    );
}

#[tokio::test]
async fn function_names_match_as_go_first_letter_either_case() {
    let (peer, _) = session().await;
    assert_eq!(ok(&call(&peer, &["echo", "a"]).await), "a");
    assert_eq!(ok(&call(&peer, &["Echo", "a"]).await), "a");
    assert_eq!(ok(&call(&peer, &["renamedOne"]).await), "renamed");
    for wrong in ["ECHO", "eCHO", "echO", "e_cho"] {
        assert_eq!(
            err(&call(&peer, &[wrong, "a"]).await),
            format!("Function {wrong} not found in contract Types")
        );
    }
    // The method's own name is not the transaction's.
    assert_eq!(
        err(&call(&peer, &["renamed"]).await),
        "Function renamed not found in contract Types"
    );
}

#[tokio::test]
async fn blank_and_missing_functions() {
    let (peer, _) = session().await;
    assert_eq!(err(&call(&peer, &[""]).await), "Blank function name passed");
    assert_eq!(err(&call(&peer, &[]).await), "Blank function name passed");
    assert_eq!(
        err(&call(&peer, &["Types:"]).await),
        "Blank function name passed"
    );
    assert_eq!(
        err(&call(&peer, &["Missing"]).await),
        "Function Missing not found in contract Types"
    );
}

#[tokio::test]
async fn argument_count_fewer_fails_more_are_ignored() {
    let (peer, _) = session().await;
    assert_eq!(
        err(&call(&peer, &["Signed", "1", "2"]).await),
        "incorrect number of params. Expected 5, received 2"
    );
    assert_eq!(
        err(&call(&peer, &["Echo"]).await),
        "incorrect number of params. Expected 1, received 0"
    );
    assert_eq!(ok(&call(&peer, &["Echo", "a", "extra", "more"]).await), "a");
}

#[tokio::test]
async fn every_basic_type_parses_as_go() {
    let (peer, _) = session().await;
    assert_eq!(
        ok(&call(
            &peer,
            &[
                "Signed",
                "-128",
                "+32767",
                "-2147483648",
                "9223372036854775807",
                "007"
            ]
        )
        .await),
        "-128 32767 -2147483648 9223372036854775807 7"
    );
    assert_eq!(
        ok(&call(
            &peer,
            &[
                "Unsigned",
                "255",
                "65535",
                "4294967295",
                "18446744073709551615",
                "0"
            ]
        )
        .await),
        "255 65535 4294967295 18446744073709551615 0"
    );
    // An empty argument is the zero value.
    assert_eq!(
        ok(&call(&peer, &["Signed", "", "", "", "", ""]).await),
        "0 0 0 0 0"
    );
    assert_eq!(ok(&call(&peer, &["Boolean", ""]).await), "false");
    assert_eq!(ok(&call(&peer, &["Boolean", "T"]).await), "true");
    assert_eq!(ok(&call(&peer, &["Boolean", "0"]).await), "false");
    assert_eq!(ok(&call(&peer, &["Float64", "2.50"]).await), "2.5");
    assert_eq!(ok(&call(&peer, &["Float64", "1000000"]).await), "1e+06");
    assert_eq!(ok(&call(&peer, &["Float64", "-Inf"]).await), "-Inf");
    assert_eq!(ok(&call(&peer, &["Float32", "0.1"]).await), "0.1");
    assert_eq!(ok(&call(&peer, &["Uint64", ""]).await), "0");
    assert_eq!(
        ok(&call(&peer, &["Bytes", "raw <bytes>"]).await),
        "raw <bytes>"
    );
    // Bytes that are not UTF-8 reach a Bytes parameter as sent (Go's []byte).
    let binary: Vec<Vec<u8>> = vec![b"Bytes".to_vec(), vec![0xff, 0x00, 0xfe]];
    let outcome = peer.invoke("mychannel", binary).await.expect("transaction");
    assert_eq!(outcome.payload(), [0xff, 0x00, 0xfe]);
}

#[tokio::test]
async fn every_parse_error_names_the_parameter_and_the_go_type() {
    let (peer, _) = session().await;
    let cases: &[(&[&str], &str)] = &[
        (&["Signed", "x", "0", "0", "0", "0"], "error managing parameter a. conversion error. cannot convert passed value x to int8"),
        (&["Signed", "0", "40000", "0", "0", "0"], "error managing parameter b. conversion error. cannot convert passed value 40000 to int16"),
        (&["Signed", "0", "0", "1.5", "0", "0"], "error managing parameter c. conversion error. cannot convert passed value 1.5 to int32"),
        (&["Signed", "0", "0", "0", "0x10", "0"], "error managing parameter d. conversion error. cannot convert passed value 0x10 to int64"),
        (&["Signed", "0", "0", "0", "0", "1_000"], "error managing parameter e. conversion error. cannot convert passed value 1_000 to int"),
        (&["Unsigned", "256", "0", "0", "0", "0"], "error managing parameter a. conversion error. cannot convert passed value 256 to uint8"),
        (&["Unsigned", "0", "-1", "0", "0", "0"], "error managing parameter b. conversion error. cannot convert passed value -1 to uint16"),
        (&["Unsigned", "0", "0", "+1", "0", "0"], "error managing parameter c. conversion error. cannot convert passed value +1 to uint32"),
        (&["Unsigned", "0", "0", "0", "18446744073709551616", "0"], "error managing parameter d. conversion error. cannot convert passed value 18446744073709551616 to uint64"),
        (&["Unsigned", "0", "0", "0", "0", " 1"], "error managing parameter e. conversion error. cannot convert passed value  1 to uint"),
        (&["Float64", "1e400"], "error managing parameter v. conversion error. cannot convert passed value 1e400 to float64"),
        (&["Float32", "abc"], "error managing parameter v. conversion error. cannot convert passed value abc to float32"),
        (&["Boolean", "yes"], "error managing parameter v. conversion error. cannot convert passed value yes to bool"),
        (&["Int8", "-129"], "error managing parameter v. conversion error. cannot convert passed value -129 to int8"),
        (&["Item", "{not json"], "error managing parameter item. conversion error. value {not json was not passed in expected format Item"),
        (&["Item", r#"{"Name":"a","Count":"many"}"#], "error managing parameter item. conversion error. value {\"Name\":\"a\",\"Count\":\"many\"} was not passed in expected format Item"),
        (&["Items", r#"{"Name":"a"}"#], "error managing parameter items. conversion error. value {\"Name\":\"a\"} was not passed in expected format []Item"),
        (&["Counts", "[1]"], "error managing parameter counts. conversion error. value [1] was not passed in expected format map[string]int64"),
    ];
    for (args, expected) in cases {
        assert_eq!(&err(&call(&peer, args).await), expected, "{args:?}");
    }
}

#[tokio::test]
async fn structures_are_json_checked_against_their_schema() {
    let (peer, _) = session().await;
    assert_eq!(
        ok(&call(&peer, &["Item", r#"{"Count":2,"Name":"n"}"#]).await),
        r#"{"Name":"n","Count":2}"#
    );
    assert_eq!(
        ok(&call(&peer, &["Item", r#"{"Name":"<&>","Count":1,"Tags":["t"]}"#]).await),
        r#"{"Name":"\u003c\u0026\u003e","Count":1,"Tags":["t"]}"#
    );
    // gojsonschema's words, sorted and numbered, rooted at the parameter.
    assert_eq!(
        err(&call(&peer, &["Item", r#"{"name":"n"}"#]).await),
        "error managing parameter item. value did not match schema:\n\
         1. item: Additional property name is not allowed\n\
         2. item: Count is required\n\
         3. item: Name is required"
    );
    assert_eq!(
        err(&call(&peer, &["Items", r#"[{"Name":"a","Count":1},{"Name":"b"}]"#]).await),
        "error managing parameter items. value did not match schema:\n1. items.1: Count is required"
    );
    assert_eq!(
        ok(&call(&peer, &["Items", r#"[{"Name":"a","Count":1}]"#]).await),
        r#"[{"Name":"a","Count":1}]"#
    );
    assert_eq!(
        ok(&call(&peer, &["Counts", r#"{"b":2,"a":1}"#]).await),
        r#"{"a":1,"b":2}"#
    );
}

#[tokio::test]
async fn results_are_written_as_contract_api_go_writes_them() {
    let (peer, _) = session().await;
    assert_eq!(
        ok(&call(&peer, &["Maybe", "true"]).await),
        r#"{"Name":"x","Count":1}"#
    );
    // A nil pointer (or slice) is an empty payload.
    assert_eq!(ok(&call(&peer, &["Maybe", "false"]).await), "");
    assert_eq!(ok(&call(&peer, &["Nothing"]).await), "");
    assert_eq!(err(&call(&peer, &["Fail", "it broke"]).await), "it broke");
}

#[tokio::test]
async fn context_has_the_client_identity_and_the_transient_data() {
    let (peer, _) = session().await;
    // The simulator's default creator: an MSP ID and a PEM certificate,
    // whose ID is Go's cid.GetID.
    let default = Creator::default();
    let expected =
        ccaas_contract::ClientIdentity::from_serialized(&default.msp_id, &default.id_bytes)
            .and_then(|id| id.id())
            .expect("the simulator's creator");
    assert_eq!(
        ok(&call(&peer, &["Identity"]).await),
        format!("{} {expected} Some(true)", default.msp_id)
    );
    // A creator that is neither X.509 nor Idemix: the error is the answer.
    let other = Creator::new("Org2MSP", b"not a certificate".to_vec());
    let outcome = peer
        .invoke("mychannel", ["Identity"])
        .creator(other)
        .await
        .expect("transaction");
    assert!(
        err(&outcome).starts_with("the creator's identity (MSP `Org2MSP`) is neither"),
        "{outcome:?}"
    );
    let outcome = peer
        .invoke("mychannel", ["Transient", "secret"])
        .transient("secret", b"s3cr3t".to_vec())
        .await
        .expect("transaction");
    assert_eq!(ok(&outcome), "s3cr3t");
    assert_eq!(
        err(&call(&peer, &["Transient", "secret"]).await),
        "no transient secret"
    );
}

fn take(log: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()))
}

#[tokio::test]
async fn hooks_run_as_contract_api_go_runs_them() {
    let (peer, log) = session().await;

    // before, the transaction (which sees what before left), after with the value.
    assert_eq!(
        ok(&call(&peer, &["hooked:work", "false"]).await),
        "from before: work"
    );
    assert_eq!(
        take(&log),
        ["before work", "work", "after work from before: work"]
    );

    // A failed transaction: no after.
    assert_eq!(
        err(&call(&peer, &["hooked:Work", "true"]).await),
        "work failed"
    );
    assert_eq!(take(&log), ["before Work", "work"]);

    // A failed conversion: the transaction does not run, before did.
    assert_eq!(
        err(&call(&peer, &["hooked:Work", "maybe"]).await),
        "error managing parameter fail. conversion error. cannot convert passed value maybe to bool"
    );
    assert_eq!(take(&log), ["before Work"]);

    // before refuses: nothing else runs, even for an unknown function.
    assert_eq!(
        err(&call(&peer, &["hooked:forbidden"]).await),
        "refused by before"
    );
    assert_eq!(take(&log), ["before forbidden"]);

    // An unknown function: before, unknown (whose result is the answer), after.
    assert_eq!(
        ok(&call(&peer, &["hooked:whatever", "x", "y"]).await),
        r#"nobody handles whatever ["x", "y"]"#
    );
    assert_eq!(
        take(&log),
        [
            "before whatever",
            "unknown whatever",
            r#"after whatever nobody handles whatever ["x", "y"]"#
        ]
    );

    // unknown fails: no after.
    assert_eq!(
        err(&call(&peer, &["hooked:failUnknown"]).await),
        "unknown failed"
    );
    assert_eq!(take(&log), ["before failUnknown", "unknown failUnknown"]);

    // after refuses: its error replaces the result.
    assert_eq!(
        err(&call(&peer, &["hooked:poisonAfter"]).await),
        "refused by after"
    );
    assert_eq!(
        take(&log),
        [
            "before poisonAfter",
            "after poisonAfter result the after hook refuses"
        ]
    );

    // Other contracts have no hooks.
    assert_eq!(ok(&call(&peer, &["Echo", "x"]).await), "x");
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn init_without_a_function_is_the_default_initiator() {
    let (peer, _) = session().await;
    let outcome = peer
        .invoke("mychannel", [""])
        .init(true)
        .await
        .expect("init");
    assert_eq!(ok(&outcome), "Default initiator successful.");
    let outcome = peer
        .invoke("mychannel", ["Echo", "x"])
        .init(true)
        .await
        .expect("init");
    assert_eq!(ok(&outcome), "x");
}

#[tokio::test]
async fn builder_refuses_what_contract_api_go_refuses() {
    let duplicate = ContractChaincode::builder()
        .contract(Types)
        .contract(Types)
        .build();
    assert_eq!(
        duplicate.err().map(|e| e.to_string()),
        Some("two contracts are named `Types`: contract names must be unique (`org.hyperledger.fabric` is the system contract's)".to_owned())
    );
    let unknown = ContractChaincode::builder()
        .contract(Types)
        .default_contract("Other")
        .build();
    assert_eq!(
        unknown.err().map(|e| e.to_string()),
        Some("the default contract `Other` is not one of the contracts (Types)".to_owned())
    );
    let chosen = ContractChaincode::builder()
        .contract(Types)
        .contract(Colon)
        .default_contract("a:b")
        .build()
        .expect("chaincode");
    assert_eq!(chosen.default_contract(), "a:b");
    let peer = Simulator::new(ID)
        .in_process(Arc::new(chosen))
        .await
        .expect("session");
    assert_eq!(ok(&call(&peer, &["ping"]).await), "pong from a:b");
}
