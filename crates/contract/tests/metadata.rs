//! `org.hyperledger.fabric:GetMetadata` against the rules of Fabric's
//! contract metadata schema (fabric-contract-api-go's
//! `metadata/schema/schema.json`, draft-07 since its #158, draft-04
//! before). The file is not copied here: [`check_metadata`] restates its
//! rules in code, one by one, and the negative tests show that each rule
//! catches what it should. Nothing here fetches anything.

// One match arm per schema keyword, each with its own check, reads as the schema does.
#![allow(clippy::collapsible_match)]

use ccaas_contract::{contract, Bytes, Context, ContractChaincode, Error, Object};
use ccaas_peersim::Simulator;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

const ID: &str = "meta_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[derive(Serialize, Deserialize, Object)]
struct Inner {
    #[serde(rename = "Level")]
    level: u8,
}

#[derive(Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
struct Outer {
    display_name: String,
    inner: Inner,
    inners: Vec<Inner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip)]
    hidden: bool,
}

/// Refers to itself (Go locks the component's slot for cycles too).
#[derive(Serialize, Deserialize, Object)]
struct Node {
    #[serde(rename = "Children")]
    children: Vec<Node>,
}

struct Shop;

#[contract(
    name = "shop",
    title = "The shop",
    version = "1.2.3",
    description = "Sells things"
)]
impl Shop {
    #[transaction]
    async fn put(&self, ctx: &Context<'_>, outer: Outer, when: i64) -> Result<(), Error> {
        let _ = (ctx, outer.hidden, when);
        Ok(())
    }

    #[transaction(evaluate)]
    async fn get(&self, name: String) -> Result<Outer, Error> {
        Err(Error::new(name))
    }

    #[transaction(evaluate)]
    #[allow(clippy::too_many_arguments)]
    async fn numbers(
        &self,
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: usize,
        f: f32,
        g: f64,
        h: i8,
    ) -> bool {
        let _ = (a, b, c, d, e, f, g, h);
        true
    }

    #[transaction(evaluate)]
    async fn tree(&self, node: Node, raw: Bytes, map: HashMap<String, Inner>) -> Vec<Node> {
        let _ = (raw, map);
        vec![node]
    }
}

struct Second;

#[contract]
impl Second {
    #[transaction]
    async fn a_thing(&self) {}
}

async fn metadata() -> Value {
    let chaincode = ContractChaincode::builder()
        .contract(Shop)
        .contract(Second)
        .build()
        .expect("chaincode");
    let peer = Simulator::new(ID)
        .in_process(Arc::new(chaincode))
        .await
        .expect("session");
    let outcome = peer
        .invoke("mychannel", ["org.hyperledger.fabric:GetMetadata"])
        .await
        .expect("transaction");
    assert!(outcome.is_success(), "{outcome:?}");
    serde_json::from_slice(outcome.payload()).expect("metadata is JSON")
}

// ---- The schema's rules, restated. Each returns the problems it finds. ----

fn object<'a>(
    value: &'a Value,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<&'a Map<String, Value>> {
    match value.as_object() {
        Some(map) => Some(map),
        None => {
            problems.push(format!("{at}: must be an object"));
            None
        }
    }
}

fn require(map: &Map<String, Value>, keys: &[&str], at: &str, problems: &mut Vec<String>) {
    for key in keys {
        if !map.contains_key(*key) {
            problems.push(format!("{at}: `{key}` is required"));
        }
    }
}

fn string(map: &Map<String, Value>, key: &str, at: &str, problems: &mut Vec<String>) {
    if let Some(v) = map.get(key) {
        if !v.is_string() {
            problems.push(format!("{at}.{key}: must be a string"));
        }
    }
}

fn string_array(value: &Value, at: &str, problems: &mut Vec<String>) {
    match value.as_array() {
        Some(items) => {
            if items.iter().any(|i| !i.is_string()) {
                problems.push(format!("{at}: must hold strings only"));
            }
            let mut seen = std::collections::HashSet::new();
            if !items.iter().all(|i| seen.insert(i.to_string())) {
                problems.push(format!("{at}: items must be unique"));
            }
        }
        None => problems.push(format!("{at}: must be an array")),
    }
}

/// `definitions.info`: an object; `title` and `version` required strings;
/// `description`, `termsOfService` strings.
fn check_info(value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(map) = object(value, at, problems) else {
        return;
    };
    require(map, &["version", "title"], at, problems);
    for key in ["title", "version", "description", "termsOfService"] {
        string(map, key, at, problems);
    }
}

const SCHEMA_KEYS: &[&str] = &[
    "$ref",
    "format",
    "title",
    "description",
    "default",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "additionalProperties",
    "type",
    "items",
    "allOf",
    "properties",
    "discriminator",
    "readOnly",
    "example",
];

const SIMPLE_TYPES: &[&str] = &[
    "array", "boolean", "integer", "null", "number", "object", "string",
];

/// `definitions.schema`: an object with only the listed keys
/// (`additionalProperties: false`), each of its type.
fn check_schema(value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(map) = object(value, at, problems) else {
        return;
    };
    for (key, v) in map {
        let here = format!("{at}.{key}");
        match key.as_str() {
            k if !SCHEMA_KEYS.contains(&k) => {
                problems.push(format!("{at}: `{key}` is not allowed in a schema"))
            }
            "$ref" | "format" | "title" | "description" | "pattern" | "discriminator" => {
                if !v.is_string() {
                    problems.push(format!("{here}: must be a string"));
                }
            }
            "multipleOf" => {
                if !v.as_f64().is_some_and(|n| n > 0.0) {
                    problems.push(format!("{here}: must be a number above 0"));
                }
            }
            "maximum" | "minimum" => {
                if !v.is_number() {
                    problems.push(format!("{here}: must be a number"));
                }
            }
            "uniqueItems" | "readOnly" => {
                if !v.is_boolean() {
                    problems.push(format!("{here}: must be a boolean"));
                }
            }
            "required" => string_array(v, &here, problems),
            "type" => {
                let ok = match v {
                    Value::String(t) => SIMPLE_TYPES.contains(&t.as_str()),
                    Value::Array(ts) => ts
                        .iter()
                        .all(|t| t.as_str().is_some_and(|t| SIMPLE_TYPES.contains(&t))),
                    _ => false,
                };
                if !ok {
                    problems.push(format!("{here}: must be a simple type or an array of them"));
                }
            }
            "items" => match v {
                Value::Array(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        check_schema(item, &format!("{here}.{i}"), problems);
                    }
                }
                _ => check_schema(v, &here, problems),
            },
            "additionalProperties" => {
                if !v.is_boolean() {
                    check_schema(v, &here, problems);
                }
            }
            "properties" => {
                if let Some(props) = object(v, &here, problems) {
                    for (name, prop) in props {
                        check_schema(prop, &format!("{here}.{name}"), problems);
                    }
                }
            }
            "allOf" => match v.as_array() {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        check_schema(item, &format!("{here}.{i}"), problems);
                    }
                }
                _ => problems.push(format!("{here}: must be a non-empty array")),
            },
            _ => {}
        }
    }
}

/// `definitions.parameter`: `name` and `schema` required, only
/// `description`, `name`, `required`, `schema`.
fn check_parameter(value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(map) = object(value, at, problems) else {
        return;
    };
    require(map, &["name", "schema"], at, problems);
    for key in map.keys() {
        if !["description", "name", "required", "schema"].contains(&key.as_str()) {
            problems.push(format!("{at}: `{key}` is not allowed in a parameter"));
        }
    }
    string(map, "name", at, problems);
    string(map, "description", at, problems);
    if map.get("required").is_some_and(|r| !r.is_boolean()) {
        problems.push(format!("{at}.required: must be a boolean"));
    }
    if let Some(schema) = map.get("schema") {
        check_schema(schema, &format!("{at}.schema"), problems);
    }
}

/// `definitions.transaction`: `name` required; `tag` an array of strings;
/// `parameters` a `parametersList` (unique items, each a parameter);
/// `returns` a schema.
fn check_transaction(value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(map) = object(value, at, problems) else {
        return;
    };
    require(map, &["name"], at, problems);
    string(map, "name", at, problems);
    if let Some(tag) = map.get("tag") {
        if !tag
            .as_array()
            .is_some_and(|t| t.iter().all(Value::is_string))
        {
            problems.push(format!("{at}.tag: must be an array of strings"));
        }
    }
    if let Some(params) = map.get("parameters") {
        match params.as_array() {
            Some(items) => {
                let mut seen = std::collections::HashSet::new();
                if !items.iter().all(|i| seen.insert(i.to_string())) {
                    problems.push(format!("{at}.parameters: items must be unique"));
                }
                for (i, item) in items.iter().enumerate() {
                    check_parameter(item, &format!("{at}.parameters.{i}"), problems);
                }
            }
            None => problems.push(format!("{at}.parameters: must be an array")),
        }
    }
    if let Some(returns) = map.get("returns") {
        check_schema(returns, &format!("{at}.returns"), problems);
    }
}

/// `definitions.contract`: `name` and `transactions` required; `default`
/// a boolean; `info` an info; `transactions` an array of transactions.
fn check_contract(value: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(map) = object(value, at, problems) else {
        return;
    };
    require(map, &["name", "transactions"], at, problems);
    string(map, "name", at, problems);
    if map.get("default").is_some_and(|d| !d.is_boolean()) {
        problems.push(format!("{at}.default: must be a boolean"));
    }
    if let Some(info) = map.get("info") {
        check_info(info, &format!("{at}.info"), problems);
    }
    if let Some(txs) = map.get("transactions") {
        match txs.as_array() {
            Some(items) => {
                for (i, tx) in items.iter().enumerate() {
                    check_transaction(tx, &format!("{at}.transactions.{i}"), problems);
                }
            }
            None => problems.push(format!("{at}.transactions: must be an array")),
        }
    }
}

/// The root: an object, `info` and `contracts` required; `contracts` an
/// object of contracts; `components.schemas` an object of object types
/// (`$id` and `properties` required, `required` a string array).
fn check_metadata(value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(root) = object(value, "(root)", &mut problems) else {
        return problems;
    };
    require(root, &["info", "contracts"], "(root)", &mut problems);
    if let Some(info) = root.get("info") {
        check_info(info, "info", &mut problems);
    }
    if let Some(contracts) = root.get("contracts") {
        if let Some(map) = object(contracts, "contracts", &mut problems) {
            for (name, contract) in map {
                check_contract(contract, &format!("contracts.{name}"), &mut problems);
            }
        }
    }
    if let Some(components) = root.get("components") {
        if let Some(map) = object(components, "components", &mut problems) {
            if let Some(schemas) = map.get("schemas") {
                if let Some(schemas) = object(schemas, "components.schemas", &mut problems) {
                    for (name, component) in schemas {
                        let at = format!("components.schemas.{name}");
                        let Some(c) = object(component, &at, &mut problems) else {
                            continue;
                        };
                        require(c, &["$id", "properties"], &at, &mut problems);
                        if let Some(required) = c.get("required") {
                            string_array(required, &format!("{at}.required"), &mut problems);
                        }
                        if let Some(props) = c.get("properties").and_then(Value::as_object) {
                            for (p, schema) in props {
                                check_schema(
                                    schema,
                                    &format!("{at}.properties.{p}"),
                                    &mut problems,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    problems
}

/// Every `$ref` names a component (`#/components/schemas/X` or, inside a
/// component, `X` as contract-api-go writes it).
fn dangling_refs(value: &Value, components: &Map<String, Value>, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
                if !components.contains_key(name) {
                    out.push(r.clone());
                }
            }
            map.values().for_each(|v| dangling_refs(v, components, out));
        }
        Value::Array(items) => items.iter().for_each(|v| dangling_refs(v, components, out)),
        _ => {}
    }
}

#[tokio::test]
async fn get_metadata_follows_every_rule_of_the_schema() {
    let metadata = metadata().await;
    assert_eq!(
        check_metadata(&metadata),
        Vec::<String>::new(),
        "{metadata:#}"
    );
    let components = metadata["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut dangling = Vec::new();
    dangling_refs(&metadata, &components, &mut dangling);
    assert_eq!(dangling, Vec::<String>::new());
}

#[tokio::test]
async fn get_metadata_describes_contracts_as_contract_api_go() {
    let m = metadata().await;
    assert_eq!(
        m["info"],
        json!({"title": "undefined", "version": "latest"})
    );
    let names: Vec<&String> = m["contracts"]
        .as_object()
        .map(|c| c.keys().collect())
        .unwrap_or_default();
    assert_eq!(names, ["Second", "org.hyperledger.fabric", "shop"]);

    let shop = &m["contracts"]["shop"];
    assert_eq!(shop["name"], "shop");
    assert_eq!(shop["default"], true, "the first contract is the default");
    assert_eq!(
        shop["info"],
        json!({"title": "The shop", "version": "1.2.3", "description": "Sells things"})
    );
    assert_eq!(m["contracts"]["Second"]["default"], false);
    assert_eq!(
        m["contracts"]["Second"]["info"],
        json!({"title": "Second", "version": "latest"})
    );

    // Transactions sorted by name; tags as Go writes them.
    let txs = shop["transactions"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = txs.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["Get", "Numbers", "Put", "Tree"]);
    assert_eq!(txs[0]["tag"], json!(["evaluate", "EVALUATE"]));
    assert_eq!(txs[2]["tag"], json!(["submit", "SUBMIT"]));
    // No returns for a transaction that returns nothing; no parameters key without any.
    assert_eq!(
        m["contracts"]["Second"]["transactions"],
        json!([{"name": "AThing", "tag": ["submit", "SUBMIT"]}])
    );

    // Parameters in order, with their Rust names (the context is none of them).
    assert_eq!(
        txs[2]["parameters"],
        json!([
            {"name": "outer", "schema": {"$ref": "#/components/schemas/Outer"}},
            {"name": "when", "schema": {"type": "integer", "format": "int64"}}
        ])
    );
    assert_eq!(
        txs[0]["returns"],
        json!({"$ref": "#/components/schemas/Outer"})
    );

    // Go's schemas for every basic type (internal/types/types.go).
    let numbers: Vec<Value> = txs[1]["parameters"]
        .as_array()
        .map(|p| p.iter().map(|p| p["schema"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        numbers,
        [
            json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": 255}),
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 65535}),
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295u64}),
            json!({"type": "number", "format": "double", "multipleOf": 1, "minimum": 0, "maximum": 18446744073709551615u64}),
            json!({"type": "number", "format": "double", "multipleOf": 1, "minimum": 0, "maximum": 18446744073709551615u64}),
            json!({"type": "number", "format": "float"}),
            json!({"type": "number", "format": "double"}),
            json!({"type": "integer", "format": "int8"}),
        ]
    );
    assert_eq!(txs[1]["returns"], json!({"type": "boolean"}));
    assert_eq!(
        txs[3]["parameters"],
        json!([
            {"name": "node", "schema": {"$ref": "#/components/schemas/Node"}},
            {"name": "raw", "schema": {"type": "string", "format": "byte"}},
            {"name": "map", "schema": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Inner"}}}
        ])
    );
    assert_eq!(
        txs[3]["returns"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Node"}})
    );

    // The system contract.
    assert_eq!(
        m["contracts"]["org.hyperledger.fabric"],
        json!({
            "info": {"title": "org.hyperledger.fabric", "version": "latest"},
            "name": "org.hyperledger.fabric",
            "transactions": [{"name": "GetMetadata", "tag": ["evaluate", "EVALUATE"], "returns": {"type": "string"}}],
            "default": false
        })
    );

    // Components: serde's names, required unless optional, nothing else
    // allowed, nested structures by bare name (as Go).
    assert_eq!(
        m["components"]["schemas"],
        json!({
            "Inner": {
                "$id": "Inner",
                "properties": {"Level": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 255}},
                "required": ["Level"],
                "additionalProperties": false
            },
            "Node": {
                "$id": "Node",
                "properties": {"Children": {"type": "array", "items": {"$ref": "Node"}}},
                "required": ["Children"],
                "additionalProperties": false
            },
            "Outer": {
                "$id": "Outer",
                "properties": {
                    "displayName": {"type": "string"},
                    "inner": {"$ref": "Inner"},
                    "inners": {"type": "array", "items": {"$ref": "Inner"}},
                    "note": {"type": "string"}
                },
                "required": ["displayName", "inner", "inners"],
                "additionalProperties": false
            }
        })
    );
}

#[tokio::test]
async fn get_metadata_is_an_evaluate_answer_reached_in_either_case() {
    let chaincode = ContractChaincode::new(Second).expect("chaincode");
    let expected = serde_json::to_value(chaincode.metadata()).expect("metadata");
    let peer = Simulator::new(ID)
        .in_process(Arc::new(chaincode))
        .await
        .expect("session");
    for function in [
        "org.hyperledger.fabric:GetMetadata",
        "org.hyperledger.fabric:getMetadata",
    ] {
        let outcome = peer
            .invoke("mychannel", [function])
            .await
            .expect("transaction");
        let got: Value = serde_json::from_slice(outcome.payload()).expect("JSON");
        assert_eq!(got, expected, "{function}");
    }
    let outcome = peer
        .invoke("mychannel", ["org.hyperledger.fabric:Other"])
        .await
        .expect("transaction");
    assert_eq!(
        outcome.response().map(|r| r.message.as_str()),
        Some("Function Other not found in contract org.hyperledger.fabric")
    );
}

/// The checker is not a rubber stamp: each rule rejects a document that
/// breaks it.
#[test]
fn each_rule_catches_what_breaks_it() {
    let good = json!({
        "info": {"title": "t", "version": "1"},
        "contracts": {"c": {"name": "c", "transactions": [
            {"name": "T", "tag": ["submit"], "parameters": [{"name": "p", "schema": {"type": "string"}}], "returns": {"type": "string"}}
        ]}},
        "components": {"schemas": {"X": {"$id": "X", "properties": {}, "required": ["a"]}}}
    });
    assert_eq!(check_metadata(&good), Vec::<String>::new());

    let broken = |path: &[&str], value: Option<Value>| {
        let mut doc = good.clone();
        let (last, parents) = path.split_last().expect("path");
        let mut at = &mut doc;
        for p in parents {
            at = match p.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*p],
            };
        }
        match (value, at.as_object_mut()) {
            (Some(v), Some(map)) => {
                map.insert((*last).to_owned(), v);
            }
            (None, Some(map)) => {
                map.remove(*last);
            }
            _ => panic!("bad path {path:?}"),
        }
        check_metadata(&doc)
    };
    let tx = ["contracts", "c", "transactions", "0"];
    let cases: Vec<(Vec<&str>, Option<Value>, &str)> = vec![
        (vec!["info"], None, "(root): `info` is required"),
        (vec!["contracts"], None, "(root): `contracts` is required"),
        (vec!["info", "version"], None, "info: `version` is required"),
        (
            vec!["info", "title"],
            Some(json!(1)),
            "info.title: must be a string",
        ),
        (
            vec!["contracts", "c", "transactions"],
            None,
            "contracts.c: `transactions` is required",
        ),
        (
            vec!["contracts", "c", "name"],
            None,
            "contracts.c: `name` is required",
        ),
        (
            vec!["contracts", "c", "default"],
            Some(json!("yes")),
            "contracts.c.default: must be a boolean",
        ),
        (
            vec!["contracts", "c", "transactions"],
            Some(json!({})),
            "contracts.c.transactions: must be an array",
        ),
        (
            [&tx[..], &["name"]].concat(),
            None,
            "contracts.c.transactions.0: `name` is required",
        ),
        (
            [&tx[..], &["tag"]].concat(),
            Some(json!([1])),
            "contracts.c.transactions.0.tag: must be an array of strings",
        ),
        (
            [&tx[..], &["parameters"]].concat(),
            Some(json!([{"name": "p"}])),
            "contracts.c.transactions.0.parameters.0: `schema` is required",
        ),
        (
            [&tx[..], &["parameters"]].concat(),
            Some(json!([{"name": "p", "schema": {}, "type": "string"}])),
            "contracts.c.transactions.0.parameters.0: `type` is not allowed in a parameter",
        ),
        (
            [&tx[..], &["parameters"]].concat(),
            Some(json!([{"name": "p", "schema": {}}, {"name": "p", "schema": {}}])),
            "contracts.c.transactions.0.parameters: items must be unique",
        ),
        (
            [&tx[..], &["returns"]].concat(),
            Some(json!({"$schema": "http://json-schema.org/draft-07/schema#"})),
            "contracts.c.transactions.0.returns: `$schema` is not allowed in a schema",
        ),
        (
            [&tx[..], &["returns"]].concat(),
            Some(json!({"oneOf": []})),
            "contracts.c.transactions.0.returns: `oneOf` is not allowed in a schema",
        ),
        (
            [&tx[..], &["returns"]].concat(),
            Some(json!({"type": "date"})),
            "contracts.c.transactions.0.returns.type: must be a simple type or an array of them",
        ),
        (
            [&tx[..], &["returns"]].concat(),
            Some(json!({"type": "array", "items": {"nullable": true}})),
            "contracts.c.transactions.0.returns.items: `nullable` is not allowed in a schema",
        ),
        (
            [&tx[..], &["returns"]].concat(),
            Some(json!({"multipleOf": 0})),
            "contracts.c.transactions.0.returns.multipleOf: must be a number above 0",
        ),
        (
            [&tx[..], &["returns"]].concat(),
            Some(json!({"required": ["a", "a"]})),
            "contracts.c.transactions.0.returns.required: items must be unique",
        ),
        (
            vec!["components", "schemas", "X", "$id"],
            None,
            "components.schemas.X: `$id` is required",
        ),
        (
            vec!["components", "schemas", "X", "properties"],
            None,
            "components.schemas.X: `properties` is required",
        ),
        (
            vec!["components", "schemas", "X", "required"],
            Some(json!("a")),
            "components.schemas.X.required: must be an array",
        ),
    ];
    for (path, value, expected) in cases {
        let problems = broken(&path, value);
        assert_eq!(problems, [expected.to_owned()], "{path:?}");
    }
}
