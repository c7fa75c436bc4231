//! A read cache for the rows every request reads (access keys, queues),
//! for the SQLite engine, where this process is the only writer of
//! existing rows (the CLI's `--data-dir` commands only add accounts and
//! keys, and only positive answers are cached). Every committed write that
//! could change a cached row bumps the generation, which empties the cache
//! in effect: a change made through this process is seen by the next call,
//! as without the cache. Postgres stores do not cache: other processes
//! write there.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ferry_store::{AccessKey, KeyIndex, Queue, Write};
use ferry_types::AccountId;

/// Entries per map; past it the map starts over (the rows are tiny).
const MAX_ENTRIES: usize = 10_000;

struct Map<K, V>(Mutex<HashMap<K, (u64, V)>>);

impl<K: Hash + Eq, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map(Mutex::new(HashMap::new()))
    }

    fn get(&self, k: &K, generation: u64) -> Option<V> {
        let m = self.0.lock().ok()?;
        m.get(k)
            .filter(|(g, _)| *g == generation)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, k: K, generation: u64, v: V) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(k, (generation, v));
        }
    }
}

pub(crate) struct ReadCache {
    enabled: bool,
    generation: AtomicU64,
    key_index: Map<String, KeyIndex>,
    access_keys: Map<(AccountId, String), AccessKey>,
    queues: Map<(AccountId, String), Queue>,
}

impl ReadCache {
    pub(crate) fn new(enabled: bool) -> Self {
        ReadCache {
            enabled,
            generation: AtomicU64::new(0),
            key_index: Map::new(),
            access_keys: Map::new(),
            queues: Map::new(),
        }
    }

    /// The generation to tag a read with; take it before reading.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether any of `writes` could change a cached row.
    pub(crate) fn changes(writes: &[Write]) -> bool {
        writes.iter().any(changes_cached_rows)
    }

    /// After such a commit: forget everything.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn key_index(&self, id: &str) -> Option<KeyIndex> {
        self.enabled
            .then(|| self.key_index.get(&id.to_string(), self.generation()))
            .flatten()
    }

    pub(crate) fn put_key_index(&self, generation: u64, v: &KeyIndex) {
        if self.enabled {
            self.key_index
                .put(v.access_key_id.clone(), generation, v.clone());
        }
    }

    pub(crate) fn access_key(&self, account: AccountId, id: &str) -> Option<AccessKey> {
        self.enabled
            .then(|| {
                self.access_keys
                    .get(&(account, id.to_string()), self.generation())
            })
            .flatten()
    }

    pub(crate) fn put_access_key(&self, generation: u64, v: &AccessKey) {
        if self.enabled {
            self.access_keys.put(
                (v.account_id, v.access_key_id.clone()),
                generation,
                v.clone(),
            );
        }
    }

    pub(crate) fn queue(&self, account: AccountId, name: &str) -> Option<Queue> {
        self.enabled
            .then(|| {
                self.queues
                    .get(&(account, name.to_string()), self.generation())
            })
            .flatten()
    }

    pub(crate) fn put_queue(&self, generation: u64, v: &Queue) {
        if self.enabled {
            self.queues
                .put((v.account_id, v.name.clone()), generation, v.clone());
        }
    }
}

/// Whether a write may change a row the cache holds. Data-plane writes
/// (messages, objects, audit, outbox) do not; anything else, including
/// writes added later, is assumed to.
fn changes_cached_rows(w: &Write) -> bool {
    !matches!(
        w,
        Write::PutMessage(_)
            | Write::DeleteMessage { .. }
            | Write::PurgeQueue { .. }
            | Write::PutDedup { .. }
            | Write::ExpireMessages { .. }
            | Write::AppendAudit(_)
            | Write::Enqueue(_)
            | Write::OutboxDone(_)
            | Write::OutboxRetry { .. }
            | Write::OutboxDead { .. }
            | Write::PutObject(_)
            | Write::DeleteObject { .. }
            | Write::PutBlobSweep(_)
            | Write::DeleteBlobSweep { .. }
            | Write::PutUpload(_)
            | Write::PutPart(_)
            | Write::DeleteUpload { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn queue(attrs: &str) -> Queue {
        Queue {
            account_id: "123456789012".parse().expect("id"),
            name: "q".into(),
            attributes: vec![("VisibilityTimeout".into(), attrs.into())],
            tags: Vec::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_shaping_write_invalidates_and_data_writes_do_not() {
        let c = ReadCache::new(true);
        let q = queue("30");
        let g = c.generation();
        c.put_queue(g, &q);
        assert_eq!(c.queue(q.account_id, "q"), Some(q.clone()));
        assert!(!ReadCache::changes(&[Write::PurgeQueue {
            account: q.account_id,
            name: "q".into(),
        }]));
        assert!(ReadCache::changes(&[Write::UpdateQueue(queue("60"))]));
        c.invalidate();
        assert_eq!(
            c.queue(q.account_id, "q"),
            None,
            "a changed queue is read again"
        );
        // A read that started before the change must not be cached as new.
        c.put_queue(g, &q);
        assert_eq!(c.queue(q.account_id, "q"), None);
    }

    #[test]
    fn disabled_caches_nothing() {
        let c = ReadCache::new(false);
        let q = queue("30");
        c.put_queue(c.generation(), &q);
        assert_eq!(c.queue(q.account_id, "q"), None);
    }
}
