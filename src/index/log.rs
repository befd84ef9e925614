//! The change log of one resource: every add, modify and delete the index
//! applied, in order, with the object before the change. Watches resume from
//! it (`resourceVersion=N`), and it can roll the current state back to an
//! older resourceVersion so that paged lists stay consistent.
//!
//! Bounded: the oldest entries are dropped beyond `capacity`; asking for a
//! resourceVersion older than what the log still covers is `Expired` (410),
//! as kube-apiserver answers after etcd compaction.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::ObjectKey;

/// Watch event types, as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change.
#[derive(Clone, Debug)]
pub struct Change {
    /// Position in the log; strictly increasing (resourceVersions may repeat
    /// within one relist, positions never do).
    pub seq: u64,
    /// kcp's resourceVersion of the change.
    pub rv: u64,
    pub kind: EventType,
    pub key: ObjectKey,
    /// The object after the change (for deletes: its last state).
    pub object: Arc<Value>,
    /// The object before the change (`None` for adds).
    pub previous: Option<Arc<Value>>,
}

/// Asking for history the log no longer has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct Expired {
    pub requested: u64,
    pub oldest: u64,
}

pub struct ChangeLog {
    changes: VecDeque<Change>,
    capacity: usize,
    next_seq: u64,
    /// The resourceVersion from which the log is complete: every change after
    /// it is in `changes`.
    complete_from: u64,
}

impl ChangeLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            changes: VecDeque::new(),
            capacity: capacity.max(1),
            next_seq: 1,
            complete_from: 0,
        }
    }

    /// Forgets all history: the state is now known only as of `rv` (a fresh
    /// list after a gap, when nothing before it can be replayed).
    pub fn reset(&mut self, rv: u64) {
        self.changes.clear();
        self.complete_from = rv;
    }

    pub fn push(
        &mut self,
        rv: u64,
        kind: EventType,
        key: ObjectKey,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.changes.push_back(Change {
            seq,
            rv,
            kind,
            key,
            object,
            previous,
        });
        while self.changes.len() > self.capacity {
            if let Some(dropped) = self.changes.pop_front() {
                self.complete_from = self.complete_from.max(dropped.rv);
            }
        }
    }

    /// The position after the newest change (a watcher starting "now" resumes here).
    pub fn head(&self) -> u64 {
        self.next_seq
    }

    /// Where a watch from resourceVersion `rv` starts: the position of the
    /// first change newer than `rv`.
    pub fn position_after(&self, rv: u64) -> Result<u64, Expired> {
        if rv < self.complete_from {
            return Err(Expired {
                requested: rv,
                oldest: self.complete_from,
            });
        }
        Ok(self
            .changes
            .iter()
            .find(|c| c.rv > rv)
            .map(|c| c.seq)
            .unwrap_or(self.next_seq))
    }

    /// Changes at or after position `from`. `Err` when some were dropped.
    pub fn since(&self, from: u64) -> Result<Vec<Change>, Expired> {
        match self.changes.front() {
            Some(first) if from < first.seq => Err(Expired {
                requested: from,
                oldest: self.complete_from,
            }),
            _ => Ok(self.changes.iter().filter(|c| c.seq >= from).cloned().collect()),
        }
    }

    /// Rolls `current` back to its state at resourceVersion `rv`.
    pub fn rewind(
        &self,
        current: &BTreeMap<ObjectKey, Arc<Value>>,
        rv: u64,
    ) -> Result<BTreeMap<ObjectKey, Arc<Value>>, Expired> {
        if rv < self.complete_from {
            return Err(Expired {
                requested: rv,
                oldest: self.complete_from,
            });
        }
        let mut state = current.clone();
        for c in self.changes.iter().rev().take_while(|c| c.rv > rv) {
            match &c.previous {
                Some(prev) => {
                    state.insert(c.key.clone(), prev.clone());
                }
                None => {
                    state.remove(&c.key);
                }
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::LogicalCluster;
    use serde_json::json;

    fn key(n: &str) -> ObjectKey {
        (LogicalCluster("c".into()), None, n.to_owned())
    }

    fn obj(n: &str, v: u64) -> Arc<Value> {
        Arc::new(json!({"metadata": {"name": n, "resourceVersion": v.to_string()}}))
    }

    #[test]
    fn resumes_after_a_resource_version() {
        let mut log = ChangeLog::new(10);
        log.reset(5);
        log.push(6, EventType::Added, key("a"), obj("a", 6), None);
        log.push(8, EventType::Modified, key("a"), obj("a", 8), Some(obj("a", 6)));
        let from = log.position_after(6).unwrap();
        let changes = log.since(from).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].rv, 8);
        assert_eq!(log.since(log.position_after(8).unwrap()).unwrap().len(), 0);
        assert_eq!(
            log.position_after(4),
            Err(Expired {
                requested: 4,
                oldest: 5
            })
        );
    }

    #[test]
    fn dropping_history_expires_old_versions() {
        let mut log = ChangeLog::new(2);
        for (i, rv) in [10u64, 11, 12].into_iter().enumerate() {
            log.push(rv, EventType::Added, key(&i.to_string()), obj("x", rv), None);
        }
        assert!(log.position_after(9).is_err());
        assert!(log.position_after(10).is_ok());
        assert!(log.since(1).is_err());
    }

    #[test]
    fn rewinds_to_an_older_state() {
        let mut log = ChangeLog::new(10);
        let mut current = BTreeMap::new();
        log.reset(1);
        current.insert(key("a"), obj("a", 2));
        log.push(2, EventType::Added, key("a"), obj("a", 2), None);
        current.insert(key("b"), obj("b", 3));
        log.push(3, EventType::Added, key("b"), obj("b", 3), None);
        current.insert(key("a"), obj("a", 4));
        log.push(4, EventType::Modified, key("a"), obj("a", 4), Some(obj("a", 2)));
        current.remove(&key("b"));
        log.push(5, EventType::Deleted, key("b"), obj("b", 3), Some(obj("b", 3)));

        let at3 = log.rewind(&current, 3).unwrap();
        assert_eq!(at3.len(), 2);
        assert_eq!(at3[&key("a")]["metadata"]["resourceVersion"], "2");
        let at1 = log.rewind(&current, 1).unwrap();
        assert!(at1.is_empty());
        assert_eq!(log.rewind(&current, 5).unwrap().len(), 1);
        assert!(log.rewind(&current, 0).is_err());
    }
}
