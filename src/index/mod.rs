//! The in-memory index: every object TMC watches in kcp, per resource and per
//! logical cluster. It is fed only by watch events (see `kcp::watch`) and read
//! by the API server's views; it does no I/O.
//!
//! Objects are kept as the JSON kcp sent, so a `get -o yaml` through tmc-server
//! returns exactly what kcp stored, including fields this version of TMC does
//! not know about. Every change also goes to a bounded change log (`log`), from
//! which watches resume and paged lists are served consistently.

pub mod log;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::watch;

use log::ChangeLog;
pub use log::{Change, EventType, Expired};

/// How many changes per resource the index remembers for watch resumption.
pub const CHANGE_LOG_CAPACITY: usize = 10_000;

/// Annotation kcp puts on every object served through a wildcard request: the
/// logical cluster the object lives in.
pub const CLUSTER_ANNOTATION: &str = "kcp.io/cluster";

/// A logical-cluster name (the stable id kcp gives a workspace), not a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogicalCluster(pub String);

impl std::fmt::Display for LogicalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `group/resource`, the key of one kind of object in the index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
        }
    }
}

/// Which part of the index a read covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One logical cluster.
    Cluster(LogicalCluster),
    /// Every logical cluster (the admin wildcard `clusters/*`).
    AllClusters,
}

/// `(logical cluster, namespace, name)`: the identity of an object in kcp.
pub type ObjectKey = (LogicalCluster, Option<String>, String);

struct ResourceObjects {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    /// True once the first complete list from kcp has been applied.
    synced: bool,
    /// kcp's resourceVersion of the newest change applied.
    resource_version: u64,
    log: ChangeLog,
}

impl Default for ResourceObjects {
    fn default() -> Self {
        Self {
            objects: BTreeMap::new(),
            synced: false,
            resource_version: 0,
            log: ChangeLog::new(CHANGE_LOG_CAPACITY),
        }
    }
}

/// A change computed from a relist, before it gets its log position:
/// (resourceVersion, type, key, object, previous object).
type PendingChange = (u64, EventType, ObjectKey, Arc<Value>, Option<Arc<Value>>);

/// A snapshot answer to a list.
#[derive(Debug, Clone)]
pub struct Listing {
    pub items: Vec<Arc<Value>>,
    pub resource_version: String,
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchStart {
    /// Unset or "0": the current state as synthetic ADDED events, then changes.
    Snapshot,
    /// Changes after this resourceVersion.
    After(u64),
}

/// The beginning of a watch: initial objects (for `Snapshot`), and the log
/// position to read changes from.
#[derive(Debug)]
pub struct WatchOpening {
    pub initial: Vec<Arc<Value>>,
    pub position: u64,
    pub resource_version: u64,
}

/// The index. Cheap to clone; every clone sees the same data.
#[derive(Clone, Default)]
pub struct Index {
    inner: Arc<RwLock<HashMap<GroupResource, ResourceObjects>>>,
    changed: Arc<ChangeSignals>,
}

/// Who is told of changes: each subscriber names the resources it reads, so
/// a controller is not woken by the views it publishes itself, nor a watch
/// stream by other resources' traffic.
#[derive(Default)]
struct ChangeSignals {
    subscribers: std::sync::Mutex<Vec<(Vec<GroupResource>, watch::Sender<u64>)>>,
}

/// Why an object from a watch could not be indexed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IndexError {
    #[error("object has no metadata.name")]
    MissingName,
    #[error(
        "object {0:?} carries no {CLUSTER_ANNOTATION} annotation; was it read through a wildcard request?"
    )]
    MissingCluster(String),
}

/// The identity of a kcp object as served through a wildcard request.
pub fn object_key(obj: &Value) -> Result<ObjectKey, IndexError> {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().ok_or(IndexError::MissingName)?;
    let cluster = meta["annotations"][CLUSTER_ANNOTATION]
        .as_str()
        .ok_or_else(|| IndexError::MissingCluster(name.to_owned()))?;
    let namespace = meta["namespace"].as_str().map(str::to_owned);
    Ok((LogicalCluster(cluster.to_owned()), namespace, name.to_owned()))
}

/// The logical cluster an object served through a wildcard request lives in
/// (empty when it carries no `kcp.io/cluster` annotation).
pub fn cluster_of(obj: &Value) -> String {
    obj["metadata"]["annotations"][CLUSTER_ANNOTATION]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// kcp's resourceVersions are decimal etcd revisions (per shard); anything
/// else reads as 0.
pub fn rv_of(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The entries of `objects` in `scope` (and `namespace`).
fn select<'a>(
    objects: &'a BTreeMap<ObjectKey, Arc<Value>>,
    scope: &'a Scope,
    namespace: Option<&'a str>,
) -> Box<dyn Iterator<Item = (&'a ObjectKey, &'a Arc<Value>)> + 'a> {
    let in_namespace = move |ns: &Option<String>| namespace.is_none() || ns.as_deref() == namespace;
    match scope {
        Scope::AllClusters => Box::new(objects.iter().filter(move |((_, ns, _), _)| in_namespace(ns))),
        Scope::Cluster(cluster) => Box::new(
            objects
                .range((cluster.clone(), None, String::new())..)
                .take_while(move |((c, _, _), _)| c == cluster)
                .filter(move |((_, ns, _), _)| in_namespace(ns)),
        ),
    }
}

impl Index {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a resource so that reads of it answer (empty) even before
    /// the first list from kcp arrives.
    pub fn register(&self, gr: GroupResource) {
        self.inner.write().expect("index lock").entry(gr).or_default();
    }

    /// Replaces everything known of `gr` with a complete list (a watcher's
    /// initial list or relist), atomically. The differences to what was known
    /// become changes in the log, so open watches see them.
    pub fn replace(&self, gr: &GroupResource, objects: Vec<Value>) -> Vec<IndexError> {
        let mut errors = Vec::new();
        let mut fresh = BTreeMap::new();
        for obj in objects {
            match object_key(&obj) {
                Ok(key) => {
                    fresh.insert(key, Arc::new(obj));
                }
                Err(e) => errors.push(e),
            }
        }
        {
            let mut inner = self.inner.write().expect("index lock");
            let entry = inner.entry(gr.clone()).or_default();
            let newest = fresh
                .values()
                .map(|o| rv_of(o))
                .max()
                .unwrap_or(0)
                .max(entry.resource_version);
            if !entry.synced {
                // The first list: nothing before it can be replayed.
                entry.log.reset(newest);
            } else {
                let mut changes: Vec<PendingChange> = Vec::new();
                for (key, obj) in &fresh {
                    match entry.objects.get(key) {
                        None => changes.push((rv_of(obj), EventType::Added, key.clone(), obj.clone(), None)),
                        Some(old) if rv_of(old) != rv_of(obj) => changes.push((
                            rv_of(obj),
                            EventType::Modified,
                            key.clone(),
                            obj.clone(),
                            Some(old.clone()),
                        )),
                        Some(_) => {}
                    }
                }
                for (key, old) in &entry.objects {
                    if !fresh.contains_key(key) {
                        // Deleted while we were not watching: its deletion
                        // revision is unknown; it happened by `newest`.
                        changes.push((
                            newest,
                            EventType::Deleted,
                            key.clone(),
                            old.clone(),
                            Some(old.clone()),
                        ));
                    }
                }
                changes.sort_by_key(|c| c.0);
                for (rv, kind, key, obj, prev) in changes {
                    entry.log.push(rv, kind, key, obj, prev);
                }
            }
            entry.objects = fresh;
            entry.synced = true;
            entry.resource_version = newest;
        }
        self.notify(gr);
        errors
    }

    /// Applies an added or modified object.
    pub fn apply(&self, gr: &GroupResource, obj: Value) -> Result<(), IndexError> {
        let key = object_key(&obj)?;
        let obj = Arc::new(obj);
        let rv = rv_of(&obj);
        {
            let mut inner = self.inner.write().expect("index lock");
            let entry = inner.entry(gr.clone()).or_default();
            entry.resource_version = entry.resource_version.max(rv);
            let previous = entry.objects.insert(key.clone(), obj.clone());
            let kind = if previous.is_some() {
                EventType::Modified
            } else {
                EventType::Added
            };
            entry.log.push(rv, kind, key, obj, previous);
        }
        self.notify(gr);
        Ok(())
    }

    /// Removes a deleted object.
    pub fn delete(&self, gr: &GroupResource, obj: &Value) -> Result<(), IndexError> {
        let key = object_key(obj)?;
        let rv = rv_of(obj);
        {
            let mut inner = self.inner.write().expect("index lock");
            let entry = inner.entry(gr.clone()).or_default();
            entry.resource_version = entry.resource_version.max(rv);
            if let Some(previous) = entry.objects.remove(&key) {
                let last = Arc::new(obj.clone());
                entry.log.push(
                    rv.max(rv_of(&previous)),
                    EventType::Deleted,
                    key,
                    last,
                    Some(previous),
                );
            }
        }
        self.notify(gr);
        Ok(())
    }

    /// The objects of `gr` in `scope` as of resourceVersion `at` (or now), in a
    /// stable order: by logical cluster, namespace, name. `Err` when `at` is
    /// older than the change log remembers.
    pub fn list_at(
        &self,
        gr: &GroupResource,
        scope: &Scope,
        namespace: Option<&str>,
        at: Option<u64>,
    ) -> Option<Result<Listing, Expired>> {
        let inner = self.inner.read().expect("index lock");
        let entry = inner.get(gr)?;
        let (state, rv) = match at {
            Some(rv) if rv < entry.resource_version => match entry.log.rewind(&entry.objects, rv) {
                Ok(state) => (std::borrow::Cow::Owned(state), rv),
                Err(e) => return Some(Err(e)),
            },
            _ => (std::borrow::Cow::Borrowed(&entry.objects), entry.resource_version),
        };
        let items = select(&state, scope, namespace).map(|(_, v)| v.clone()).collect();
        Some(Ok(Listing {
            items,
            resource_version: rv.to_string(),
        }))
    }

    /// Opens a watch on `gr`; read changes with [`Index::changes`].
    pub fn watch(
        &self,
        gr: &GroupResource,
        scope: &Scope,
        namespace: Option<&str>,
        start: WatchStart,
    ) -> Option<Result<WatchOpening, Expired>> {
        let inner = self.inner.read().expect("index lock");
        let entry = inner.get(gr)?;
        Some(match start {
            WatchStart::Snapshot => Ok(WatchOpening {
                initial: select(&entry.objects, scope, namespace)
                    .map(|(_, v)| v.clone())
                    .collect(),
                position: entry.log.head(),
                resource_version: entry.resource_version,
            }),
            WatchStart::After(rv) => entry.log.position_after(rv).map(|position| WatchOpening {
                initial: Vec::new(),
                position,
                resource_version: entry.resource_version.max(rv),
            }),
        })
    }

    /// Changes of `gr` from log position `from`, and the position to continue at.
    pub fn changes(&self, gr: &GroupResource, from: u64) -> Result<(Vec<Change>, u64, u64), Expired> {
        let inner = self.inner.read().expect("index lock");
        let Some(entry) = inner.get(gr) else {
            return Ok((Vec::new(), from, 0));
        };
        let changes = entry.log.since(from)?;
        Ok((changes, entry.log.head(), entry.resource_version))
    }

    /// Every object of `gr` in `scope` (optionally one namespace), now.
    pub fn list(&self, gr: &GroupResource, scope: &Scope, namespace: Option<&str>) -> Option<Listing> {
        self.list_at(gr, scope, namespace, None)
            .map(|r| r.expect("the current state never expires"))
    }

    /// One object, by its identity.
    /// Every object of `gr` in every logical cluster (empty when unknown).
    pub fn list_all(&self, gr: &GroupResource) -> Vec<Arc<Value>> {
        self.list(gr, &Scope::AllClusters, None)
            .map(|l| l.items)
            .unwrap_or_default()
    }

    pub fn get(&self, gr: &GroupResource, key: &ObjectKey) -> Option<Arc<Value>> {
        let inner = self.inner.read().expect("index lock");
        inner.get(gr)?.objects.get(key).cloned()
    }

    /// True when every registered resource has had its first complete list.
    pub fn synced(&self) -> bool {
        let inner = self.inner.read().expect("index lock");
        !inner.is_empty() && inner.values().all(|r| r.synced)
    }

    /// True when each of `grs` is registered and has had its first complete list.
    pub fn synced_all(&self, grs: &[GroupResource]) -> bool {
        let inner = self.inner.read().expect("index lock");
        grs.iter().all(|gr| inner.get(gr).is_some_and(|r| r.synced))
    }

    /// A receiver that changes whenever the index does (for readiness waits and watches).
    /// A receiver that is marked changed whenever an object of one of
    /// `resources` is added, modified or deleted, or the resource is relisted.
    pub fn subscribe(&self, resources: &[GroupResource]) -> watch::Receiver<u64> {
        let (tx, rx) = watch::channel(0);
        self.changed
            .subscribers
            .lock()
            .expect("subscribers lock")
            .push((resources.to_vec(), tx));
        rx
    }

    fn notify(&self, gr: &GroupResource) {
        let mut subscribers = self.changed.subscribers.lock().expect("subscribers lock");
        // Dropped receivers unsubscribe.
        subscribers.retain(|(_, tx)| !tx.is_closed());
        for (resources, tx) in subscribers.iter() {
            if resources.contains(gr) {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(cluster: &str, name: &str, rv: &str) -> Value {
        json!({"metadata": {"name": name, "resourceVersion": rv,
            "annotations": {CLUSTER_ANNOTATION: cluster}}})
    }

    #[test]
    fn subscribers_hear_only_of_the_resources_they_named() {
        let index = Index::new();
        let (a, b) = (GroupResource::new("", "a"), GroupResource::new("", "b"));
        let mut only_a = index.subscribe(std::slice::from_ref(&a));
        let mut both = index.subscribe(&[a.clone(), b.clone()]);
        index.apply(&b, obj("c", "x", "1")).unwrap();
        assert!(!only_a.has_changed().unwrap());
        assert!(both.has_changed().unwrap());
        both.mark_unchanged();
        index.replace(&a, vec![obj("c", "y", "2")]);
        assert!(only_a.has_changed().unwrap() && both.has_changed().unwrap());
        only_a.mark_unchanged();
        both.mark_unchanged();
        index.delete(&a, &obj("c", "y", "3")).unwrap();
        assert!(only_a.has_changed().unwrap() && both.has_changed().unwrap());
        // A dropped receiver unsubscribes.
        drop(only_a);
        index.apply(&b, obj("c", "z", "4")).unwrap();
        assert_eq!(index.changed.subscribers.lock().unwrap().len(), 1);
    }

    fn names(l: &Listing) -> Vec<String> {
        l.items
            .iter()
            .map(|v| v["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn lists_only_the_requested_cluster() {
        let idx = Index::new();
        let gr = GroupResource::new("tmc.kcp.io", "clusterregistrations");
        idx.replace(
            &gr,
            vec![
                obj("a", "east", "5"),
                obj("b", "west", "7"),
                obj("a", "north", "6"),
            ],
        );
        let a = idx
            .list(&gr, &Scope::Cluster(LogicalCluster("a".into())), None)
            .unwrap();
        assert_eq!(names(&a), ["east", "north"]);
        let all = idx.list(&gr, &Scope::AllClusters, None).unwrap();
        assert_eq!(names(&all), ["east", "north", "west"]);
        assert_eq!(all.resource_version, "7");
        let c = idx
            .list(&gr, &Scope::Cluster(LogicalCluster("c".into())), None)
            .unwrap();
        assert!(c.items.is_empty());
    }

    #[test]
    fn cluster_prefix_does_not_leak_into_neighbours() {
        // "a" must not see "ab"'s objects even though "ab" sorts right after "a".
        let idx = Index::new();
        let gr = GroupResource::new("g", "r");
        idx.replace(&gr, vec![obj("a", "x", "1"), obj("ab", "y", "2")]);
        let a = idx
            .list(&gr, &Scope::Cluster(LogicalCluster("a".into())), None)
            .unwrap();
        assert_eq!(names(&a), ["x"]);
    }

    #[test]
    fn apply_delete_and_replace() {
        let idx = Index::new();
        let gr = GroupResource::new("g", "r");
        assert!(!idx.synced());
        idx.register(gr.clone());
        assert!(!idx.synced());
        assert!(idx.replace(&gr, vec![obj("a", "x", "1")]).is_empty());
        assert!(idx.synced());
        idx.apply(&gr, obj("a", "y", "3")).unwrap();
        idx.delete(&gr, &obj("a", "x", "4")).unwrap();
        let l = idx.list(&gr, &Scope::AllClusters, None).unwrap();
        assert_eq!(names(&l), ["y"]);
        assert_eq!(l.resource_version, "4");
        // A relist drops what is gone.
        idx.replace(&gr, vec![obj("a", "z", "9")]);
        let l = idx.list(&gr, &Scope::AllClusters, None).unwrap();
        assert_eq!(names(&l), ["z"]);
        let key = (LogicalCluster("a".into()), None, "z".to_owned());
        assert!(idx.get(&gr, &key).is_some());
    }

    #[test]
    fn objects_without_cluster_are_rejected_not_lost_silently() {
        let idx = Index::new();
        let gr = GroupResource::new("g", "r");
        let errs = idx.replace(&gr, vec![json!({"metadata": {"name": "x"}})]);
        assert_eq!(errs, vec![IndexError::MissingCluster("x".into())]);
        assert_eq!(idx.apply(&gr, json!({})), Err(IndexError::MissingName));
    }

    #[test]
    fn namespace_filter() {
        let idx = Index::new();
        let gr = GroupResource::new("apps", "deployments");
        let mut a = obj("c", "web", "1");
        a["metadata"]["namespace"] = json!("default");
        let mut b = obj("c", "db", "2");
        b["metadata"]["namespace"] = json!("prod");
        idx.replace(&gr, vec![a, b]);
        let l = idx
            .list(&gr, &Scope::Cluster(LogicalCluster("c".into())), Some("prod"))
            .unwrap();
        assert_eq!(names(&l), ["db"]);
    }

    #[test]
    fn relists_become_changes_for_open_watches() {
        let idx = Index::new();
        let gr = GroupResource::new("g", "r");
        idx.replace(&gr, vec![obj("a", "x", "1"), obj("a", "y", "2")]);
        let scope = Scope::Cluster(LogicalCluster("a".into()));
        let opening = idx
            .watch(&gr, &scope, None, WatchStart::Snapshot)
            .unwrap()
            .unwrap();
        assert_eq!(opening.initial.len(), 2);
        // A relist (after a gap): y changed, x vanished, z appeared.
        idx.replace(&gr, vec![obj("a", "y", "5"), obj("a", "z", "4")]);
        let (changes, _, rv) = idx.changes(&gr, opening.position).unwrap();
        let seen: Vec<(EventType, String)> = changes.iter().map(|c| (c.kind, c.key.2.clone())).collect();
        assert_eq!(
            seen,
            [
                (EventType::Added, "z".to_owned()),
                (EventType::Modified, "y".to_owned()),
                (EventType::Deleted, "x".to_owned())
            ]
        );
        assert_eq!(rv, 5);
        // Resuming from an old version replays; from before the first list is gone.
        assert!(idx
            .watch(&gr, &scope, None, WatchStart::After(2))
            .unwrap()
            .is_ok());
        assert!(idx
            .watch(&gr, &scope, None, WatchStart::After(1))
            .unwrap()
            .is_err());
        // Paged lists read a consistent older snapshot.
        let at2 = idx.list_at(&gr, &scope, None, Some(2)).unwrap().unwrap();
        assert_eq!(names(&at2), ["x", "y"]);
    }
}
