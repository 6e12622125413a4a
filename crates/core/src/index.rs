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

/// Why a file under `statedb/` is not an index the peer will create.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        IndexError::NotJson {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: text
                .rsplit_once(" at line ")
                .map_or(text.clone(), |(m, _)| m.to_owned()),
        }
    })?;
    check_definition(&value).map_err(|reason| IndexError::Shape {
        path: path.to_owned(),
        reason,
    })?;
    Ok(scope)
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
