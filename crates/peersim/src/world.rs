//! The simulated ledger: committed world state per channel and chaincode
//! namespace (public state, private data collections with their hashes,
//! state metadata, key history), shared by every session that uses it, and
//! the chaincodes running on it (reachable by INVOKE_CHAINCODE).
//!
//! A commit applies a transaction's write set as the peer's validator does
//! (`core/ledger/kvledger/txmgmt/validation/tx_ops.go`): per key, the last
//! write of the transaction wins; a delete removes the value and its
//! metadata; a value write without a metadata write keeps the key's
//! metadata; a metadata write replaces the key's whole metadata, and is
//! dropped when the key does not exist. The history records every
//! committed value write of a public key with the transaction's ID and
//! timestamp, as the history database does.

use crate::handler::Command;
use ccaas_proto::queryresult::KeyModification;
use ccaas_proto::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// One namespace's (or collection's) committed state: key to value, in key
/// order.
pub type Namespace = BTreeMap<String, Vec<u8>>;

/// A key's state metadata: metakey (`VALIDATION_PARAMETER`, ...) to value.
pub type Metadata = BTreeMap<String, Vec<u8>>;

/// The metadata key of key-level endorsement policies.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

/// Where a collection lives: channel, chaincode namespace, collection.
type CollectionKey = (String, String, String);

#[derive(Debug, Default, Clone)]
pub(crate) struct Ledger {
    pub(crate) public: BTreeMap<(String, String), Namespace>,
    pub(crate) private: BTreeMap<CollectionKey, Namespace>,
    /// Keyed by channel, namespace, collection (empty: public), key.
    pub(crate) metadata: BTreeMap<(String, String, String, String), Metadata>,
    /// Keyed by channel, namespace, key; oldest first.
    pub(crate) history: BTreeMap<(String, String, String), Vec<KeyModification>>,
    /// No history kept ([`WorldState::without_history`]).
    history_off: bool,
}

/// Committed world state, keyed by channel, then chaincode namespace, and
/// the chaincodes running on this ledger. Cloning shares it: sessions
/// given the same world state are one peer, and each is reachable from
/// the others' chaincode by its chaincode name.
#[derive(Debug, Clone, Default)]
pub struct WorldState {
    inner: Arc<Mutex<Ledger>>,
    chaincodes: Arc<Mutex<HashMap<String, mpsc::WeakUnboundedSender<Command>>>>,
}

/// A value write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueWrite {
    /// PUT_STATE with a non-empty value.
    Put(Vec<u8>),
    /// DEL_STATE, or PUT_STATE with an empty value (Go's nil).
    Delete,
    /// PURGE_PRIVATE_DATA: a delete that also removes old versions.
    Purge,
}

/// What one transaction wrote to one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyWrite {
    pub(crate) value: Option<ValueWrite>,
    /// `Some(empty)` deletes the key's metadata.
    pub(crate) metadata: Option<Metadata>,
}

/// A transaction's write set, keyed by namespace, collection (empty:
/// public) and key: one entry per key, the last write winning, as the
/// peer's read-write set builder keeps it.
pub(crate) type WriteSet = BTreeMap<(String, String, String), KeyWrite>;

/// What a commit records in the history.
#[derive(Debug, Clone)]
pub(crate) struct CommitInfo<'a> {
    pub(crate) txid: &'a str,
    pub(crate) timestamp: Timestamp,
}

/// SHA-256 of a private value, as the peer's hashed private state keeps it.
pub fn private_data_hash(value: &[u8]) -> Vec<u8> {
    Sha256::digest(value).to_vec()
}

impl WorldState {
    /// An empty world state.
    pub fn new() -> Self {
        WorldState::default()
    }

    /// An empty world state that keeps no key history (GET_HISTORY_FOR_KEY
    /// finds nothing): for load runs, where the history of every write
    /// would grow without bound.
    pub fn without_history() -> Self {
        let world = WorldState::default();
        world.lock().history_off = true;
        world
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        // A panic elsewhere leaves the maps consistent (every change is
        // made under one lock with no fallible step), so a poisoned lock is
        // still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn registry(&self) -> MutexGuard<'_, HashMap<String, mpsc::WeakUnboundedSender<Command>>> {
        self.chaincodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The committed value of `key`, if any.
    pub fn get(&self, channel: &str, namespace: &str, key: &str) -> Option<Vec<u8>> {
        self.lock()
            .public
            .get(&(channel.to_owned(), namespace.to_owned()))
            .and_then(|ns| ns.get(key).cloned())
    }

    /// Commits `value` under `key` (outside any transaction; no history).
    pub fn put(&self, channel: &str, namespace: &str, key: &str, value: impl Into<Vec<u8>>) {
        self.lock()
            .public
            .entry((channel.to_owned(), namespace.to_owned()))
            .or_default()
            .insert(key.to_owned(), value.into());
    }

    /// Deletes `key` and its metadata (outside any transaction); true when
    /// it existed.
    pub fn delete(&self, channel: &str, namespace: &str, key: &str) -> bool {
        let mut ledger = self.lock();
        ledger.metadata.remove(&(
            channel.to_owned(),
            namespace.to_owned(),
            String::new(),
            key.to_owned(),
        ));
        ledger
            .public
            .get_mut(&(channel.to_owned(), namespace.to_owned()))
            .map(|ns| ns.remove(key).is_some())
            .unwrap_or(false)
    }

    /// A copy of one namespace's committed state.
    pub fn namespace(&self, channel: &str, namespace: &str) -> Namespace {
        self.lock()
            .public
            .get(&(channel.to_owned(), namespace.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The committed entries in `[start, end)` (`end` empty = unbounded),
    /// in key order, as the state database iterates them.
    pub fn range(
        &self,
        channel: &str,
        namespace: &str,
        start: &str,
        end: &str,
    ) -> Vec<(String, Vec<u8>)> {
        let ledger = self.lock();
        range_of(
            ledger
                .public
                .get(&(channel.to_owned(), namespace.to_owned())),
            start,
            end,
        )
    }

    /// The committed private value of `key` in `collection`, if any.
    pub fn get_private(
        &self,
        channel: &str,
        namespace: &str,
        collection: &str,
        key: &str,
    ) -> Option<Vec<u8>> {
        self.lock()
            .private
            .get(&collection_key(channel, namespace, collection))
            .and_then(|c| c.get(key).cloned())
    }

    /// The hash the peer keeps of the private value of `key`: SHA-256 of
    /// the value; `None` when the key is absent (the peer then answers an
    /// empty payload).
    pub fn private_hash(
        &self,
        channel: &str,
        namespace: &str,
        collection: &str,
        key: &str,
    ) -> Option<Vec<u8>> {
        self.get_private(channel, namespace, collection, key)
            .map(|v| private_data_hash(&v))
    }

    /// Commits a private `value` under `key` in `collection` (outside any
    /// transaction).
    pub fn put_private(
        &self,
        channel: &str,
        namespace: &str,
        collection: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) {
        self.lock()
            .private
            .entry(collection_key(channel, namespace, collection))
            .or_default()
            .insert(key.to_owned(), value.into());
    }

    /// A copy of one collection's committed private state.
    pub fn collection(&self, channel: &str, namespace: &str, collection: &str) -> Namespace {
        self.lock()
            .private
            .get(&collection_key(channel, namespace, collection))
            .cloned()
            .unwrap_or_default()
    }

    /// The committed private entries of `collection` in `[start, end)`.
    pub fn private_range(
        &self,
        channel: &str,
        namespace: &str,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Vec<(String, Vec<u8>)> {
        let ledger = self.lock();
        range_of(
            ledger
                .private
                .get(&collection_key(channel, namespace, collection)),
            start,
            end,
        )
    }

    /// The committed metadata of `key` (`collection` empty: public state);
    /// empty when it has none.
    pub fn metadata(
        &self,
        channel: &str,
        namespace: &str,
        collection: &str,
        key: &str,
    ) -> Metadata {
        self.lock()
            .metadata
            .get(&(
                channel.to_owned(),
                namespace.to_owned(),
                collection.to_owned(),
                key.to_owned(),
            ))
            .cloned()
            .unwrap_or_default()
    }

    /// Sets one metadata entry of `key` (outside any transaction), keeping
    /// its other entries.
    pub fn put_metadata(
        &self,
        channel: &str,
        namespace: &str,
        collection: &str,
        key: &str,
        metakey: &str,
        value: impl Into<Vec<u8>>,
    ) {
        self.lock()
            .metadata
            .entry((
                channel.to_owned(),
                namespace.to_owned(),
                collection.to_owned(),
                key.to_owned(),
            ))
            .or_default()
            .insert(metakey.to_owned(), value.into());
    }

    /// Every committed write of a public `key`, newest first, as
    /// GET_HISTORY_FOR_KEY returns them.
    pub fn history(&self, channel: &str, namespace: &str, key: &str) -> Vec<KeyModification> {
        self.lock()
            .history
            .get(&(channel.to_owned(), namespace.to_owned(), key.to_owned()))
            .map(|h| h.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// A copy of everything committed (for the state file).
    pub(crate) fn dump(&self) -> Ledger {
        self.lock().clone()
    }

    /// Sets the history of a public `key`, oldest first (for the state file).
    pub(crate) fn restore_history(
        &self,
        channel: &str,
        namespace: &str,
        key: &str,
        writes: Vec<KeyModification>,
    ) {
        self.lock().history.insert(
            (channel.to_owned(), namespace.to_owned(), key.to_owned()),
            writes,
        );
    }

    /// The names of the chaincodes running on this ledger (sessions still
    /// open), sorted.
    pub fn chaincodes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .registry()
            .iter()
            .filter(|(_, handle)| handle.strong_count() > 0)
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Makes a session's handler reachable under its chaincode name (the
    /// latest session of a name wins).
    pub(crate) fn register_chaincode(
        &self,
        name: &str,
        commands: mpsc::WeakUnboundedSender<Command>,
    ) {
        self.registry().insert(name.to_owned(), commands);
    }

    /// The handler of the chaincode `name`, while its session is open.
    pub(crate) fn chaincode(&self, name: &str) -> Option<mpsc::UnboundedSender<Command>> {
        self.registry().get(name).and_then(|h| h.upgrade())
    }

    /// Applies a transaction's write set on `channel`, as a commit.
    pub(crate) fn commit(&self, channel: &str, writes: WriteSet, info: CommitInfo<'_>) {
        if writes.is_empty() {
            return;
        }
        let mut guard = self.lock();
        let ledger = &mut *guard;
        for ((namespace, collection, key), mut write) in writes {
            // The history takes the value below; without it, the state
            // takes it here and nothing is copied.
            let keep_history = collection.is_empty() && !ledger.history_off;
            let meta_key = (
                channel.to_owned(),
                namespace.clone(),
                collection.clone(),
                key.clone(),
            );
            let state = if collection.is_empty() {
                ledger
                    .public
                    .entry((channel.to_owned(), namespace.clone()))
                    .or_default()
            } else {
                ledger
                    .private
                    .entry((channel.to_owned(), namespace.clone(), collection.clone()))
                    .or_default()
            };
            match write.value {
                Some(ValueWrite::Delete | ValueWrite::Purge) => {
                    state.remove(&key);
                    ledger.metadata.remove(&meta_key);
                }
                Some(ValueWrite::Put(ref mut value)) => {
                    let value = if keep_history {
                        value.clone()
                    } else {
                        std::mem::take(value)
                    };
                    state.insert(key.clone(), value);
                    set_metadata(&mut ledger.metadata, meta_key, write.metadata);
                }
                None => {
                    // Metadata alone: applied only to a key that exists.
                    if state.contains_key(&key) {
                        set_metadata(&mut ledger.metadata, meta_key, write.metadata);
                    }
                }
            }
            if keep_history {
                if let Some(value) = write.value {
                    let (value, is_delete) = match value {
                        ValueWrite::Put(v) => (v, false),
                        ValueWrite::Delete | ValueWrite::Purge => (Vec::new(), true),
                    };
                    ledger
                        .history
                        .entry((channel.to_owned(), namespace, key))
                        .or_default()
                        .push(KeyModification {
                            tx_id: info.txid.to_owned(),
                            value,
                            timestamp: Some(info.timestamp),
                            is_delete,
                        });
                }
            }
        }
    }
}

fn collection_key(channel: &str, namespace: &str, collection: &str) -> CollectionKey {
    (
        channel.to_owned(),
        namespace.to_owned(),
        collection.to_owned(),
    )
}

fn range_of(state: Option<&Namespace>, start: &str, end: &str) -> Vec<(String, Vec<u8>)> {
    let Some(state) = state else {
        return Vec::new();
    };
    state
        .range(start.to_owned()..)
        .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `None` keeps the metadata; `Some(empty)` deletes it; otherwise replaces.
fn set_metadata(
    all: &mut BTreeMap<(String, String, String, String), Metadata>,
    key: (String, String, String, String),
    metadata: Option<Metadata>,
) {
    match metadata {
        None => {}
        Some(m) if m.is_empty() => {
            all.remove(&key);
        }
        Some(m) => {
            all.insert(key, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> CommitInfo<'static> {
        CommitInfo {
            txid: "t1",
            timestamp: Timestamp {
                seconds: 7,
                nanos: 0,
            },
        }
    }

    fn write(value: Option<ValueWrite>, metadata: Option<Metadata>) -> KeyWrite {
        KeyWrite { value, metadata }
    }

    fn meta(metakey: &str, value: &str) -> Metadata {
        Metadata::from([(metakey.to_owned(), value.as_bytes().to_vec())])
    }

    fn ws(entries: Vec<(&str, &str, KeyWrite)>) -> WriteSet {
        entries
            .into_iter()
            .map(|(coll, key, w)| (("cc".to_owned(), coll.to_owned(), key.to_owned()), w))
            .collect()
    }

    #[test]
    fn range_end_is_exclusive_and_empty_end_is_unbounded() {
        let w = WorldState::new();
        for k in ["a", "b", "c", "d"] {
            w.put("ch", "cc", k, k);
        }
        let keys = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(w.range("ch", "cc", "b", "d")), ["b", "c"]);
        assert_eq!(keys(w.range("ch", "cc", "b", "")), ["b", "c", "d"]);
        assert!(w.range("ch", "other", "", "").is_empty());
    }

    #[test]
    fn a_value_write_keeps_the_metadata_and_a_delete_drops_it() {
        let w = WorldState::new();
        w.put("ch", "cc", "k", "v0");
        w.put_metadata("ch", "cc", "", "k", VALIDATION_PARAMETER, "p");
        w.commit(
            "ch",
            ws(vec![(
                "",
                "k",
                write(Some(ValueWrite::Put(b"v1".to_vec())), None),
            )]),
            info(),
        );
        assert_eq!(
            w.metadata("ch", "cc", "", "k"),
            meta(VALIDATION_PARAMETER, "p")
        );
        w.commit(
            "ch",
            ws(vec![("", "k", write(Some(ValueWrite::Delete), None))]),
            info(),
        );
        assert!(w.metadata("ch", "cc", "", "k").is_empty());
        assert_eq!(w.get("ch", "cc", "k"), None);
    }

    #[test]
    fn a_metadata_write_replaces_all_entries_and_needs_an_existing_key() {
        let w = WorldState::new();
        w.put("ch", "cc", "k", "v");
        w.put_metadata("ch", "cc", "", "k", "A", "1");
        w.commit(
            "ch",
            ws(vec![("", "k", write(None, Some(meta("B", "2"))))]),
            info(),
        );
        assert_eq!(w.metadata("ch", "cc", "", "k"), meta("B", "2"));
        w.commit(
            "ch",
            ws(vec![("", "absent", write(None, Some(meta("B", "2"))))]),
            info(),
        );
        assert!(w.metadata("ch", "cc", "", "absent").is_empty());
    }

    #[test]
    fn a_world_without_history_commits_values_and_records_no_history() {
        let w = WorldState::without_history();
        w.commit(
            "ch",
            ws(vec![(
                "",
                "k",
                write(Some(ValueWrite::Put(b"1".to_vec())), None),
            )]),
            info(),
        );
        assert_eq!(w.get("ch", "cc", "k"), Some(b"1".to_vec()));
        assert!(w.history("ch", "cc", "k").is_empty());
    }

    #[test]
    fn history_records_public_value_writes_newest_first() {
        let w = WorldState::new();
        w.commit(
            "ch",
            ws(vec![
                ("", "k", write(Some(ValueWrite::Put(b"1".to_vec())), None)),
                (
                    "secret",
                    "k",
                    write(Some(ValueWrite::Put(b"p".to_vec())), None),
                ),
            ]),
            info(),
        );
        w.commit(
            "ch",
            ws(vec![("", "k", write(Some(ValueWrite::Delete), None))]),
            CommitInfo {
                txid: "t2",
                timestamp: Timestamp {
                    seconds: 8,
                    nanos: 0,
                },
            },
        );
        let h = w.history("ch", "cc", "k");
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].tx_id.as_str(), h[0].is_delete, h[0].value.len()),
            ("t2", true, 0)
        );
        assert_eq!(
            (h[1].tx_id.as_str(), h[1].value.as_slice()),
            ("t1", &b"1"[..])
        );
        assert_eq!(
            w.get_private("ch", "cc", "secret", "k"),
            Some(b"p".to_vec())
        );
    }

    #[test]
    fn the_private_hash_is_sha256_of_the_value() {
        let w = WorldState::new();
        w.put_private("ch", "cc", "secret", "k", "abc");
        assert_eq!(
            w.private_hash("ch", "cc", "secret", "k").map(hex),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_owned())
        );
        assert_eq!(w.private_hash("ch", "cc", "secret", "absent"), None);
    }

    fn hex(bytes: Vec<u8>) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
