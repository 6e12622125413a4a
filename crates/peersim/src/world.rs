//! The simulated ledger: committed world state per channel and chaincode
//! namespace, shared by every session that uses it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// One namespace's committed state: key to value, in key order.
pub type Namespace = BTreeMap<String, Vec<u8>>;

/// Committed world state, keyed by channel, then chaincode namespace.
/// Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct WorldState {
    inner: Arc<Mutex<BTreeMap<(String, String), Namespace>>>,
}

/// One write of a transaction's write set: `None` deletes.
pub(crate) type Write = (String, Option<Vec<u8>>);

impl WorldState {
    /// An empty world state.
    pub fn new() -> Self {
        WorldState::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, String), Namespace>> {
        // A panic elsewhere leaves the map consistent (every change is one
        // insert or remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The committed value of `key`, if any.
    pub fn get(&self, channel: &str, namespace: &str, key: &str) -> Option<Vec<u8>> {
        self.lock()
            .get(&(channel.to_owned(), namespace.to_owned()))
            .and_then(|ns| ns.get(key).cloned())
    }

    /// Commits `value` under `key` (outside any transaction).
    pub fn put(&self, channel: &str, namespace: &str, key: &str, value: impl Into<Vec<u8>>) {
        self.lock()
            .entry((channel.to_owned(), namespace.to_owned()))
            .or_default()
            .insert(key.to_owned(), value.into());
    }

    /// Deletes `key` (outside any transaction); true when it existed.
    pub fn delete(&self, channel: &str, namespace: &str, key: &str) -> bool {
        self.lock()
            .get_mut(&(channel.to_owned(), namespace.to_owned()))
            .map(|ns| ns.remove(key).is_some())
            .unwrap_or(false)
    }

    /// A copy of one namespace's committed state.
    pub fn namespace(&self, channel: &str, namespace: &str) -> Namespace {
        self.lock()
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
        let guard = self.lock();
        let Some(ns) = guard.get(&(channel.to_owned(), namespace.to_owned())) else {
            return Vec::new();
        };
        ns.range(start.to_owned()..)
            .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Applies a write set in order, as a commit.
    pub(crate) fn commit(&self, channel: &str, namespace: &str, writes: Vec<Write>) {
        if writes.is_empty() {
            return;
        }
        let mut guard = self.lock();
        let ns = guard
            .entry((channel.to_owned(), namespace.to_owned()))
            .or_default();
        for (key, value) in writes {
            match value {
                Some(value) => {
                    ns.insert(key, value);
                }
                None => {
                    ns.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn commit_applies_in_order() {
        let w = WorldState::new();
        w.commit(
            "ch",
            "cc",
            vec![
                ("k".into(), Some(b"1".to_vec())),
                ("k".into(), None),
                ("j".into(), Some(b"2".to_vec())),
            ],
        );
        assert_eq!(w.get("ch", "cc", "k"), None);
        assert_eq!(w.get("ch", "cc", "j"), Some(b"2".to_vec()));
    }
}
