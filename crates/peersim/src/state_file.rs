//! A ledger that outlives one run: the `ccaas-peersim --state FILE` file.
//!
//! The file is JSON, versioned (`"format": "ccaas-peersim-state"`,
//! `"version": 1`), and holds every committed thing of a [`WorldState`]:
//! public state, private data, state metadata and key history. Values are
//! written as text when they are UTF-8 (`"value"`), else as base64
//! (`"value_base64"`). [`save`] writes it atomically (a temporary file in
//! the same directory, renamed over the old one), so a run that is killed
//! leaves the previous ledger whole.
//!
//! ```
//! use ccaas_peersim::{state_file, WorldState};
//!
//! let world = WorldState::new();
//! world.put("mychannel", "kv", "greeting", "hello");
//! world.put_private("mychannel", "kv", "secrets", "pin", [0xff, 0x00]);
//! let json = state_file::to_json(&world);
//! assert_eq!(json["version"], 1);
//! assert_eq!(json["public"][0]["value"], "hello");
//! assert_eq!(json["private"][0]["value_base64"], "/wA=");
//!
//! let back = state_file::from_json(&json)?;
//! assert_eq!(back.get("mychannel", "kv", "greeting"), Some(b"hello".to_vec()));
//! assert_eq!(back.get_private("mychannel", "kv", "secrets", "pin"), Some(vec![0xff, 0x00]));
//! # Ok::<(), state_file::StateFileError>(())
//! ```

use crate::world::WorldState;
use base64::Engine;
use ccaas_proto::queryresult::KeyModification;
use ccaas_proto::Timestamp;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The `format` field of a state file.
pub const FORMAT: &str = "ccaas-peersim-state";

/// The version this crate writes, and the only one it reads.
pub const VERSION: u64 = 1;

/// The largest state file read (64 MiB): a ledger for tests and demos.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Why a state file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file cannot be read.
    #[error("--state `{path}`: cannot read it")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ccaas_core::fs::FsError,
    },
    /// The file is not JSON.
    #[error("--state `{path}`: not JSON ({source}); is it a state file written by ccaas-peersim? (remove it to start from an empty ledger)")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is not a state file of a version this crate reads.
    #[error("{}not a ccaas-peersim state file of version {VERSION}: {what}", at(.path.as_deref()))]
    Shape {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What is wrong, naming the field.
        what: String,
    },
    /// The file cannot be written.
    #[error("--state `{path}`: cannot write the ledger back")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ccaas_core::fs::FsError,
    },
}

fn at(path: Option<&Path>) -> String {
    path.map(|p| format!("--state `{}`: ", p.display()))
        .unwrap_or_default()
}

fn shape(what: impl Into<String>) -> StateFileError {
    StateFileError::Shape {
        path: None,
        what: what.into(),
    }
}

/// Reads the ledger at `path`; a file that does not exist is an empty
/// ledger (the first run).
pub fn load(path: &Path) -> Result<WorldState, StateFileError> {
    let bytes = match ccaas_core::fs::read_limited(path, MAX_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok(WorldState::new()),
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|source| StateFileError::Json {
        path: path.to_owned(),
        source,
    })?;
    from_json(&value).map_err(|e| match e {
        StateFileError::Shape { what, .. } => StateFileError::Shape {
            path: Some(path.to_owned()),
            what,
        },
        other => other,
    })
}

/// Writes `world` to `path` atomically, mode 0600 (private data may be in
/// it).
pub fn save(world: &WorldState, path: &Path) -> Result<(), StateFileError> {
    let mut text = serde_json::to_string_pretty(&to_json(world)).unwrap_or_default();
    text.push('\n');
    ccaas_core::fs::write_atomic(path, text.as_bytes(), 0o600).map_err(|source| {
        StateFileError::Write {
            path: path.to_owned(),
            source,
        }
    })
}

fn put_bytes(object: &mut Map<String, Value>, field: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => object.insert(field.to_owned(), Value::from(text)),
        Err(_) => object.insert(
            format!("{field}_base64"),
            Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    };
}

fn get_bytes(
    object: &Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<Vec<u8>, StateFileError> {
    if let Some(text) = object.get(field) {
        return text
            .as_str()
            .map(|t| t.as_bytes().to_vec())
            .ok_or_else(|| shape(format!("{at}: `{field}` is not a string")));
    }
    let encoded = format!("{field}_base64");
    match object.get(&encoded).and_then(Value::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| shape(format!("{at}: `{encoded}` is not base64: {e}"))),
        None => Err(shape(format!(
            "{at}: neither `{field}` (text) nor `{encoded}` is a string"
        ))),
    }
}

fn get_str<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<&'a str, StateFileError> {
    object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| shape(format!("{at}: `{field}` is missing or not a string")))
}

/// An object of an array field, with where it is (`` `public[3]` ``).
type Entry<'a> = (String, &'a Map<String, Value>);

fn entries<'a>(
    root: &'a Map<String, Value>,
    field: &str,
) -> Result<Vec<Entry<'a>>, StateFileError> {
    match root.get(field) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("`{field}[{i}]`");
                item.as_object()
                    .map(|o| (at.clone(), o))
                    .ok_or_else(|| shape(format!("{at} is not an object")))
            })
            .collect(),
        Some(_) => Err(shape(format!("`{field}` is not an array"))),
    }
}

/// The ledger as a version-1 state file.
pub fn to_json(world: &WorldState) -> Value {
    let dump = world.dump();
    let public: Vec<Value> = dump
        .public
        .iter()
        .flat_map(|((channel, namespace), state)| {
            state.iter().map(move |(key, value)| {
                let mut o = Map::new();
                o.insert("channel".into(), channel.as_str().into());
                o.insert("namespace".into(), namespace.as_str().into());
                o.insert("key".into(), key.as_str().into());
                put_bytes(&mut o, "value", value);
                Value::Object(o)
            })
        })
        .collect();
    let private: Vec<Value> = dump
        .private
        .iter()
        .flat_map(|((channel, namespace, collection), state)| {
            state.iter().map(move |(key, value)| {
                let mut o = Map::new();
                o.insert("channel".into(), channel.as_str().into());
                o.insert("namespace".into(), namespace.as_str().into());
                o.insert("collection".into(), collection.as_str().into());
                o.insert("key".into(), key.as_str().into());
                put_bytes(&mut o, "value", value);
                Value::Object(o)
            })
        })
        .collect();
    let metadata: Vec<Value> = dump
        .metadata
        .iter()
        .map(|((channel, namespace, collection, key), entries)| {
            let entries: Vec<Value> = entries
                .iter()
                .map(|(metakey, value)| {
                    let mut o = Map::new();
                    o.insert("metakey".into(), metakey.as_str().into());
                    put_bytes(&mut o, "value", value);
                    Value::Object(o)
                })
                .collect();
            json!({
                "channel": channel,
                "namespace": namespace,
                "collection": collection,
                "key": key,
                "entries": entries,
            })
        })
        .collect();
    let history: Vec<Value> = dump
        .history
        .iter()
        .map(|((channel, namespace, key), writes)| {
            let writes: Vec<Value> = writes
                .iter()
                .map(|w| {
                    let mut o = Map::new();
                    o.insert("tx_id".into(), w.tx_id.as_str().into());
                    put_bytes(&mut o, "value", &w.value);
                    o.insert("is_delete".into(), w.is_delete.into());
                    let ts = w.timestamp.unwrap_or_default();
                    o.insert(
                        "timestamp".into(),
                        json!({"seconds": ts.seconds, "nanos": ts.nanos}),
                    );
                    Value::Object(o)
                })
                .collect();
            json!({"channel": channel, "namespace": namespace, "key": key, "writes": writes})
        })
        .collect();
    json!({
        "format": FORMAT,
        "version": VERSION,
        "public": public,
        "private": private,
        "metadata": metadata,
        "history": history,
    })
}

/// The ledger a version-1 state file holds.
pub fn from_json(value: &Value) -> Result<WorldState, StateFileError> {
    let root = value
        .as_object()
        .ok_or_else(|| shape("the file is not a JSON object"))?;
    match root.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        Some(other) => return Err(shape(format!("`format` is `{other}`, not `{FORMAT}`"))),
        None => return Err(shape(format!("no `format` field (expected `{FORMAT}`)"))),
    }
    match root.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(shape(format!(
                "`version` is {other}; this ccaas-peersim reads version {VERSION} only (use the ccaas-peersim that wrote it, or remove the file)"
            )))
        }
        None => return Err(shape("`version` is missing or not a number")),
    }
    let world = WorldState::new();
    for (at, o) in entries(root, "public")? {
        world.put(
            get_str(o, "channel", &at)?,
            get_str(o, "namespace", &at)?,
            get_str(o, "key", &at)?,
            get_bytes(o, "value", &at)?,
        );
    }
    for (at, o) in entries(root, "private")? {
        world.put_private(
            get_str(o, "channel", &at)?,
            get_str(o, "namespace", &at)?,
            get_str(o, "collection", &at)?,
            get_str(o, "key", &at)?,
            get_bytes(o, "value", &at)?,
        );
    }
    for (at, o) in entries(root, "metadata")? {
        let (channel, namespace) = (get_str(o, "channel", &at)?, get_str(o, "namespace", &at)?);
        let (collection, key) = (get_str(o, "collection", &at)?, get_str(o, "key", &at)?);
        for (inner, e) in entries(o, "entries")? {
            let at = format!("{at}.{}", inner.trim_matches('`'));
            world.put_metadata(
                channel,
                namespace,
                collection,
                key,
                get_str(e, "metakey", &at)?,
                get_bytes(e, "value", &at)?,
            );
        }
    }
    for (at, o) in entries(root, "history")? {
        let (channel, namespace, key) = (
            get_str(o, "channel", &at)?,
            get_str(o, "namespace", &at)?,
            get_str(o, "key", &at)?,
        );
        let mut writes = Vec::new();
        for (inner, w) in entries(o, "writes")? {
            let at = format!("{at}.{}", inner.trim_matches('`'));
            let ts = w.get("timestamp").and_then(Value::as_object);
            let seconds = ts.and_then(|t| t.get("seconds")).and_then(Value::as_i64);
            let nanos = ts
                .and_then(|t| t.get("nanos"))
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok());
            let (Some(seconds), Some(nanos)) = (seconds, nanos) else {
                return Err(shape(format!(
                    "{at}: `timestamp` needs integer `seconds` and `nanos`"
                )));
            };
            writes.push(KeyModification {
                tx_id: get_str(w, "tx_id", &at)?.to_owned(),
                value: get_bytes(w, "value", &at)?,
                timestamp: Some(Timestamp { seconds, nanos }),
                is_delete: w.get("is_delete").and_then(Value::as_bool).unwrap_or(false),
            });
        }
        world.restore_history(channel, namespace, key, writes);
    }
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_version_is_refused_in_words() {
        let err = from_json(&json!({"format": FORMAT, "version": 2}))
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`version` is 2; this ccaas-peersim reads version 1"),
            "{err}"
        );
        let err = from_json(&json!({"version": 1})).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("no `format` field"), "{err}");
    }

    #[test]
    fn a_bad_entry_names_its_field() {
        let bad = json!({"format": FORMAT, "version": 1, "public": [{"channel": "c", "namespace": "n", "key": "k", "value_base64": "!!"}]});
        let err = from_json(&bad).map(|_| ()).unwrap_err();
        assert!(
            err.to_string()
                .contains("`public[0]`: `value_base64` is not base64"),
            "{err}"
        );
    }
}
