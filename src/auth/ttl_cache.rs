//! A small map whose entries expire: token reviews and access reviews are
//! remembered for seconds, so a burst of requests costs one round trip to kcp.
//! Bounded: when full, expired entries are dropped, and if none were, the map
//! is cleared (a cache miss costs one review; memory must not grow with
//! the number of distinct callers).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The value stored for `key`, if it has not expired at `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(expires, _)| *expires > now)
            .map(|(_, v)| v.clone())
    }

    /// Stores `value` until `now + ttl`; a zero `ttl` stores nothing.
    pub fn insert(&self, key: K, value: V, ttl: Duration, now: Instant) {
        if ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (now + ttl, value));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let c = TtlCache::new(10);
        let t0 = Instant::now();
        c.insert("a", 1, Duration::from_secs(5), t0);
        assert_eq!(c.get(&"a", t0), Some(1));
        assert_eq!(c.get(&"a", t0 + Duration::from_secs(4)), Some(1));
        assert_eq!(c.get(&"a", t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let c = TtlCache::new(10);
        c.insert("a", 1, Duration::ZERO, Instant::now());
        assert!(c.is_empty());
    }

    #[test]
    fn never_grows_past_capacity() {
        let c = TtlCache::new(3);
        let t0 = Instant::now();
        for i in 0..100 {
            c.insert(i, i, Duration::from_secs(60), t0);
            assert!(c.len() <= 3, "{} entries", c.len());
        }
        assert_eq!(c.get(&99, t0), Some(99));
    }

    #[test]
    fn expired_entries_make_room_first() {
        let c = TtlCache::new(2);
        let t0 = Instant::now();
        c.insert("old", 0, Duration::from_secs(1), t0);
        c.insert("live", 1, Duration::from_secs(60), t0);
        c.insert("new", 2, Duration::from_secs(60), t0 + Duration::from_secs(2));
        let t = t0 + Duration::from_secs(2);
        assert_eq!(c.get(&"live", t), Some(1));
        assert_eq!(c.get(&"new", t), Some(2));
    }
}
