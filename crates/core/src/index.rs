//! CouchDB index definitions: where the peer looks for them and the shape it
//! accepts (the rules of Fabric's `ccmetadata` validator, which refuses
//! anything else).
//!
//! Paths here are relative to the metadata folder (`META-INF/` or the seed's
//! `metadata/`), and to `RELEASE/` after release:
//! `statedb/couchdb/indexes/<name>.json` and
//! `statedb/couchdb/collections/<collection>/indexes/<name>.json`.
//!
//! ```
//! use ccaas_core::index::{validate, IndexScope};
//!
//! let json = br#"{"index": {"fields": ["owner", {"size": "desc"}]}, "ddoc": "d", "name": "n", "type": "json"}"#;
//! assert_eq!(validate("statedb/couchdb/indexes/owner.json", json)?, IndexScope::State);
//! assert!(validate("statedb/couchdb/indexes/owner.json", br#"{"fields": ["owner"]}"#).is_err());
//! assert!(validate("statedb/couchdb/owner.json", json).is_err());
//! # Ok::<(), ccaas_core::index::IndexError>(())
//! ```

use crate::gojson::kind_of;
use serde_json::Value;
use std::fmt;

/// The largest index file we read.
pub const MAX_INDEX_BYTES: u64 = 1024 * 1024;

crate::report::debug_as_chain!(IndexError);

/// Why a file under `statedb/` is not an index the peer will create.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// A path the peer does not read indexes from.
    #[error("`{path}` is not where the peer reads CouchDB indexes (expected `statedb/couchdb/indexes/<name>.json` or `statedb/couchdb/collections/<collection>/indexes/<name>.json`, collection names of `[A-Za-z0-9_-]+`)")]
    Location {
        /// The path.
        path: String,
    },
    /// Not JSON.
    #[error("`{path}` is not valid JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// The path.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// JSON, but not an index definition.
    #[error("`{path}` is not a CouchDB index definition: {reason}")]
    Shape {
        /// The path.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// Which database an index is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexScope {
    /// The chaincode's state database.
    State,
    /// A private data collection's database.
    Collection(String),
}

impl fmt::Display for IndexScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexScope::State => f.write_str("state"),
            IndexScope::Collection(c) => write!(f, "collection `{c}`"),
        }
    }
}

/// Where `path` (relative to the metadata folder, `/`-separated) puts an
/// index, or an error when the peer does not read indexes there.
pub fn locate(path: &str) -> Result<IndexScope, IndexError> {
    let parts: Vec<&str> = path.split('/').collect();
    let file_ok = |name: &str| {
        name.len() > ".json".len() && name.ends_with(".json") && !name.starts_with('.')
    };
    match parts[..] {
        ["statedb", "couchdb", "indexes", name] if file_ok(name) => Ok(IndexScope::State),
        ["statedb", "couchdb", "collections", collection, "indexes", name]
            if file_ok(name) && valid_collection(collection) =>
        {
            Ok(IndexScope::Collection(collection.to_owned()))
        }
        _ => Err(IndexError::Location {
            path: path.to_owned(),
        }),
    }
}

fn valid_collection(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks that `bytes` at `path` is an index the peer will create.
pub fn validate(path: &str, bytes: &[u8]) -> Result<IndexScope, IndexError> {
    let scope = locate(path)?;
    if plain::accepts(bytes) {
        // Under the fuzzer (fuzz/fuzz_targets/index.rs), every acceptance
        // is held against the full check.
        #[cfg(fuzzing)]
        assert!(
            check_fully(path, bytes).is_ok(),
            "the typed pass accepted what the full check refuses"
        );
    } else {
        check_fully(path, bytes)?;
    }
    Ok(scope)
}

/// The check of [`validate`], on a `Value` tree: decides every file and
/// explains what is wrong.
fn check_fully(path: &str, bytes: &[u8]) -> Result<(), IndexError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        IndexError::NotJson {
            path: path.to_owned(),
            // serde_json says column 0 at the end of the input (an empty
            // file); we count from 1, as editors do.
            line: e.line().max(1),
            column: e.column().max(1),
            message: text
                .rsplit_once(" at line ")
                .map_or(text.clone(), |(m, _)| m.to_owned()),
        }
    })?;
    check_definition(&value).map_err(|reason| IndexError::Shape {
        path: path.to_owned(),
        reason,
    })
}

fn check_definition(value: &Value) -> Result<(), String> {
    let Value::Object(top) = value else {
        return Err(format!("expected a JSON object, found {}", kind_of(value)));
    };
    let mut has_index = false;
    for (key, value) in top {
        match (key.as_str(), value) {
            ("index", Value::Object(index)) => {
                check_index(index)?;
                has_index = true;
            }
            ("index", other) => {
                return Err(format!(
                    "`index` must be an object, found {}",
                    kind_of(other)
                ))
            }
            ("ddoc" | "name", Value::String(_)) => {}
            ("ddoc" | "name", other) => {
                return Err(format!(
                    "`{key}` must be a string, found {}",
                    kind_of(other)
                ))
            }
            ("type", Value::String(t)) if t == "json" => {}
            ("type", other) => return Err(format!("`type` must be \"json\", found {other}")),
            (other, _) => {
                return Err(format!(
                    "unexpected key `{other}` (allowed: `index`, `ddoc`, `name`, `type`)"
                ))
            }
        }
    }
    if !has_index {
        return Err(
            "the `index` object is missing (e.g. `\"index\": {\"fields\": [\"owner\"]}`)".into(),
        );
    }
    Ok(())
}

fn check_index(index: &serde_json::Map<String, Value>) -> Result<(), String> {
    for (key, value) in index {
        match (key.as_str(), value) {
            ("fields", Value::Array(fields)) => {
                for field in fields {
                    check_field(field)?;
                }
            }
            ("fields", other) => {
                return Err(format!(
                    "`index.fields` must be an array, found {}",
                    kind_of(other)
                ))
            }
            ("partial_filter_selector", _) => {}
            (other, _) => {
                return Err(format!(
                    "unexpected key `index.{other}` (allowed: `fields`, `partial_filter_selector`)"
                ))
            }
        }
    }
    Ok(())
}

fn check_field(field: &Value) -> Result<(), String> {
    match field {
        Value::String(_) => Ok(()),
        Value::Object(sorts) => {
            for (name, order) in sorts {
                match order {
                    Value::String(o) if o.eq_ignore_ascii_case("asc") || o.eq_ignore_ascii_case("desc") => {}
                    other => {
                        return Err(format!(
                            "field `{name}` has sort {other}; expected \"asc\" or \"desc\""
                        ))
                    }
                }
            }
            Ok(())
        }
        other => Err(format!(
            "each of `index.fields` must be a field name or {{\"<field>\": \"asc\"|\"desc\"}}, found {}",
            kind_of(other)
        )),
    }
}

/// A typed pass that accepts a valid index definition without building a
/// `serde_json::Value` tree (which was a sixth of build's instructions). It
/// accepts only what [`check_fully`] accepts (a test holds it to that);
/// whatever it declines, the full check decides and explains.
mod plain {
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    /// Whether `bytes` is a plain, valid index definition.
    pub(super) fn accepts(bytes: &[u8]) -> bool {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        Check(Shape::Definition).deserialize(&mut de).is_ok() && de.end().is_ok()
    }

    /// What is expected at a place in the document.
    #[derive(Clone, Copy)]
    enum Shape {
        Definition,
        Index,
        Fields,
        Field,
        Text,
        Json,
        SortOrder,
        /// Any JSON value (`partial_filter_selector`), read in full so its
        /// strings are checked as the full parse checks them.
        Anything,
        /// The text of a number, in serde_json's `arbitrary_precision` form.
        NumberText,
    }

    /// With serde_json's `arbitrary_precision`, a number reaches a visitor
    /// as a map of this one key to the number's text, and the full parse
    /// reads any object whose first key is this as a number too.
    const NUMBER_TOKEN: &str = "$serde_json::private::Number";

    /// The known keys of an object, each with the shape of its value.
    const DEFINITION_KEYS: &[(&str, Shape)] = &[
        ("index", Shape::Index),
        ("ddoc", Shape::Text),
        ("name", Shape::Text),
        ("type", Shape::Json),
    ];
    const INDEX_KEYS: &[(&str, Shape)] = &[
        ("fields", Shape::Fields),
        ("partial_filter_selector", Shape::Anything),
    ];

    fn decline<E: de::Error>() -> E {
        E::custom("not a plain index definition")
    }

    struct Check(Shape);

    impl<'de> DeserializeSeed<'de> for Check {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            match self.0 {
                Shape::Definition | Shape::Index => d.deserialize_map(self),
                Shape::Fields => d.deserialize_seq(self),
                Shape::Text | Shape::Json | Shape::SortOrder | Shape::NumberText => {
                    d.deserialize_str(self)
                }
                Shape::Field | Shape::Anything => d.deserialize_any(self),
            }
        }
    }

    impl<'de> Visitor<'de> for Check {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a plain index definition")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
            let ok = match self.0 {
                Shape::Text | Shape::Field | Shape::Anything => true,
                Shape::NumberText => v.parse::<serde_json::Number>().is_ok(),
                Shape::Json => v == "json",
                Shape::SortOrder => v.eq_ignore_ascii_case("asc") || v.eq_ignore_ascii_case("desc"),
                _ => false,
            };
            ok.then_some(()).ok_or_else(decline)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let element = match self.0 {
                Shape::Fields => Shape::Field,
                Shape::Anything => Shape::Anything,
                _ => return Err(decline()),
            };
            while seq.next_element_seed(Check(element))?.is_some() {}
            Ok(())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let (keys, value) = match self.0 {
                Shape::Definition => (DEFINITION_KEYS, None),
                Shape::Index => (INDEX_KEYS, None),
                Shape::Field => (&[][..], Some(Shape::SortOrder)),
                Shape::Anything => (&[][..], Some(Shape::Anything)),
                _ => return Err(decline()),
            };
            if let Some(value) = value {
                // Any keys, every value of one shape; or a number.
                let mut first = true;
                while let Some(key) = map.next_key_seed(FREE_KEY)? {
                    if key.is_some() {
                        // A number where any value may be (as the full
                        // parse reads it: this key first, its text, alone).
                        if !first || !matches!(self.0, Shape::Anything) {
                            return Err(decline());
                        }
                        map.next_value_seed(Check(Shape::NumberText))?;
                        return match map.next_key_seed(FREE_KEY)? {
                            None => Ok(()),
                            Some(_) => Err(decline()),
                        };
                    }
                    first = false;
                    map.next_value_seed(Check(value))?;
                }
                return Ok(());
            }
            // Every value must be right, so a repeated key is too (the full
            // check takes the last).
            let mut has_index = false;
            let known = Key {
                known: keys,
                others: false,
            };
            while let Some(slot) = map.next_key_seed(known)? {
                let slot = slot.ok_or_else(decline)?;
                map.next_value_seed(Check(keys[slot].1))?;
                has_index |= slot == 0;
            }
            // A definition needs its `index`.
            if matches!(self.0, Shape::Definition) && !has_index {
                return Err(decline());
            }
            Ok(())
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.scalar()
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.scalar()
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.scalar()
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.scalar()
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.scalar()
        }
    }

    impl Check {
        /// A number, boolean or null: only inside `partial_filter_selector`.
        fn scalar<E: de::Error>(self) -> Result<(), E> {
            match self.0 {
                Shape::Anything => Ok(()),
                _ => Err(decline()),
            }
        }
    }

    /// A key: its position among `known`, or `None` for any other key if
    /// `others` may be there (else the document is declined).
    #[derive(Clone, Copy)]
    struct Key {
        known: &'static [(&'static str, Shape)],
        others: bool,
    }

    /// A key of an object whose keys are free: `Some` for [`NUMBER_TOKEN`].
    const FREE_KEY: Key = Key {
        known: &[(NUMBER_TOKEN, Shape::NumberText)],
        others: true,
    };

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
            match self.known.iter().position(|(k, _)| *k == v) {
                None if !self.others => Err(decline()),
                found => Ok(found),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::accepts;
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;

        #[test]
        fn serde_jsons_number_token_is_read_as_the_full_parse_reads_it() {
            // With `arbitrary_precision` the full parse reads an object whose
            // first key is the token as a number: refused unless it is one.
            for json in [
                r#"{"index":{"fields":[{"$serde_json::private::Number":"asc"}]}}"#,
                r#"{"index":{"fields":[{"$serde_json::private::Number":"1"}]}}"#,
                r#"{"index":{"partial_filter_selector":{"$serde_json::private::Number":"x"}}}"#,
                r#"{"index":{"partial_filter_selector":{"$serde_json::private::Number":"1","a":2}}}"#,
            ] {
                let full = super::super::check_fully("a.json", json.as_bytes());
                assert!(full.is_err(), "{json}");
                assert!(!accepts(json.as_bytes()), "{json}");
            }
            // Where any value may be, the full parse takes this as the
            // number 1, and so does this pass.
            let number =
                r#"{"index":{"partial_filter_selector":{"$serde_json::private::Number":"1"}}}"#;
            assert!(super::super::check_fully("a.json", number.as_bytes()).is_ok());
            assert!(accepts(number.as_bytes()));
            // Not first, it is a plain key to the full parse; this pass
            // declines it (and the full check then accepts).
            let key = r#"{"index":{"partial_filter_selector":{"a":2,"$serde_json::private::Number":"1"}}}"#;
            assert!(super::super::check_fully("a.json", key.as_bytes()).is_ok());
            assert!(!accepts(key.as_bytes()));
        }

        #[test]
        fn plain_definitions_are_accepted_here() {
            for json in [
                r#"{"index":{"fields":["docType","owner"]},"ddoc":"d","name":"n","type":"json"}"#,
                r#"{"index": {"fields": ["a", {"b": "DESC"}], "partial_filter_selector": {"x": [1, -2.5e3, null, true, "\u00e9"]}}}"#,
                r#"  {"index": {}}  "#,
            ] {
                assert!(accepts(json.as_bytes()), "{json}");
            }
        }

        /// JSON texts shaped like index definitions, right and wrong.
        fn documents() -> impl Strategy<Value = String> {
            let scalar = prop::sample::select(vec![
                "\"json\"",
                "\"text\"",
                "\"asc\"",
                "\"DeSc\"",
                "\"up\"",
                "\"a\\\"b\"",
                "\"\\ud800\"",
                "\"\\u00e9\"",
                "1",
                "-0",
                "1e999",
                "true",
                "null",
                "[]",
                "{}",
            ]);
            let key = prop::sample::select(vec![
                "index",
                "ddoc",
                "name",
                "type",
                "fields",
                "partial_filter_selector",
                "extra",
                "\\u0069ndex",
                "",
                "$serde_json::private::Number",
            ]);
            let leaf = scalar.prop_map(str::to_owned);
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5)
                        .prop_map(|items| format!("[{}]", items.join(","))),
                    prop::collection::vec((key.clone(), inner), 0..5).prop_map(|members| {
                        let members: Vec<String> = members
                            .into_iter()
                            .map(|(k, v)| format!("\"{k}\": {v}"))
                            .collect();
                        format!("{{{}}}", members.join(", "))
                    }),
                ]
            })
        }

        #[test]
        fn accepts_only_what_the_full_check_accepts() {
            // A fixed seed: the same 3,000 documents every run.
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let strategy = documents();
            let mut accepted = 0;
            for _ in 0..1000 {
                let doc = strategy
                    .new_tree(&mut runner)
                    .map(|t| t.current())
                    .unwrap_or_default();
                // Bare, and inside an index, so deeper shapes are reached.
                for text in [
                    doc.clone(),
                    format!(r#"{{"index": {doc}}}"#),
                    format!(r#"{{"index": {{"fields": {doc}}}, "type": "json"}}"#),
                ] {
                    if accepts(text.as_bytes()) {
                        accepted += 1;
                        let full = super::super::check_fully("a.json", text.as_bytes());
                        assert!(
                            full.is_ok(),
                            "accepted here, refused by the full check: {text} ({full:?})"
                        );
                    }
                }
            }
            // The fast path is taken often enough for this to mean something.
            assert!(accepted > 100, "only {accepted} of 3000 accepted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = br#"{"index": {"fields": ["a"]}}"#;

    #[test]
    fn locations() {
        assert_eq!(
            locate("statedb/couchdb/indexes/a.json"),
            Ok(IndexScope::State)
        );
        assert_eq!(
            locate("statedb/couchdb/collections/c_1-x/indexes/a.json"),
            Ok(IndexScope::Collection("c_1-x".into()))
        );
        for bad in [
            "statedb/couchdb/indexes/a.txt",
            "statedb/couchdb/indexes/.json",
            "statedb/couchdb/indexes/sub/a.json",
            "statedb/couchdb/a.json",
            "statedb/couchdb/collections/c.d/indexes/a.json",
            "statedb/couchdb/collections//indexes/a.json",
            "statedb/leveldb/indexes/a.json",
            "couchdb/indexes/a.json",
        ] {
            assert!(locate(bad).is_err(), "{bad}");
        }
    }

    // serde_json reports column 0 at the end of the input; we count from 1.
    #[test]
    fn json_error_columns_count_from_1() {
        for (text, at) in [("", (1, 1)), ("{", (1, 1)), ("{\"index\": x}", (1, 11))] {
            match validate("statedb/couchdb/indexes/a.json", text.as_bytes()) {
                Err(IndexError::NotJson { line, column, .. }) => {
                    assert_eq!((line, column), at, "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn shapes() {
        let ok = |j: &str| validate("statedb/couchdb/indexes/a.json", j.as_bytes());
        assert!(ok(r#"{"index": {"fields": ["a", {"b": "DESC"}], "partial_filter_selector": {"x": 1}}, "ddoc": "d", "name": "n", "type": "json"}"#).is_ok());
        assert!(ok(r#"{"index": {}}"#).is_ok());
        for bad in [
            "[]",
            "{}",
            r#"{"index": []}"#,
            r#"{"index": null}"#,
            r#"{"index": {"fields": "a"}}"#,
            r#"{"index": {"fields": [{"a": "up"}]}}"#,
            r#"{"index": {"fields": [null]}}"#,
            r#"{"index": {"fields": ["a"]}, "type": "text"}"#,
            r#"{"index": {"fields": ["a"]}, "ddoc": 1}"#,
            r#"{"index": {"fields": ["a"]}, "extra": 1}"#,
            r#"{"index": {"fields": ["a"], "sort": 1}}"#,
        ] {
            assert!(matches!(ok(bad), Err(IndexError::Shape { .. })), "{bad}");
        }
        assert!(matches!(ok("{"), Err(IndexError::NotJson { .. })));
        assert!(validate("statedb/couchdb/indexes/a.json", GOOD).is_ok());
    }
}
