//! The in-memory index: every object TMC watches in kcp, per resource and per
//! logical cluster. It is fed only by watch events (see `kcp::watch`) and read
//! by the API server's views; it does no I/O.
//!
//! Objects are kept as the JSON kcp sent, so a `get -o yaml` through tmc-server
//! returns exactly what kcp stored, including fields this version of TMC does
//! not know about.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::watch;

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

#[derive(Default)]
struct ResourceObjects {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    /// True once the first complete list from kcp has been applied.
    synced: bool,
    /// kcp's resourceVersion of the newest event applied (opaque; echoed to clients).
    resource_version: String,
}

/// A snapshot answer to a list.
#[derive(Debug, Clone)]
pub struct Listing {
    pub items: Vec<Arc<Value>>,
    pub resource_version: String,
}

/// The index. Cheap to clone; every clone sees the same data.
#[derive(Clone, Default)]
pub struct Index {
    inner: Arc<RwLock<HashMap<GroupResource, ResourceObjects>>>,
    changed: Arc<ChangeSignal>,
}

struct ChangeSignal(watch::Sender<u64>);

impl Default for ChangeSignal {
    fn default() -> Self {
        Self(watch::channel(0).0)
    }
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

fn resource_version_of(obj: &Value) -> Option<&str> {
    obj["metadata"]["resourceVersion"].as_str()
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
    /// initial list or relist), atomically.
    pub fn replace(&self, gr: &GroupResource, objects: Vec<Value>) -> Vec<IndexError> {
        let mut errors = Vec::new();
        let mut fresh = BTreeMap::new();
        let mut newest = String::new();
        for obj in objects {
            match object_key(&obj) {
                Ok(key) => {
                    if let Some(rv) = resource_version_of(&obj) {
                        newest = max_resource_version(&newest, rv).to_owned();
                    }
                    fresh.insert(key, Arc::new(obj));
                }
                Err(e) => errors.push(e),
            }
        }
        {
            let mut inner = self.inner.write().expect("index lock");
            let entry = inner.entry(gr.clone()).or_default();
            entry.objects = fresh;
            entry.synced = true;
            if !newest.is_empty() {
                entry.resource_version = max_resource_version(&entry.resource_version, &newest).to_owned();
            }
        }
        self.notify();
        errors
    }

    /// Applies an added or modified object.
    pub fn apply(&self, gr: &GroupResource, obj: Value) -> Result<(), IndexError> {
        let key = object_key(&obj)?;
        {
            let mut inner = self.inner.write().expect("index lock");
            let entry = inner.entry(gr.clone()).or_default();
            if let Some(rv) = resource_version_of(&obj) {
                entry.resource_version = max_resource_version(&entry.resource_version, rv).to_owned();
            }
            entry.objects.insert(key, Arc::new(obj));
        }
        self.notify();
        Ok(())
    }

    /// Removes a deleted object.
    pub fn delete(&self, gr: &GroupResource, obj: &Value) -> Result<(), IndexError> {
        let key = object_key(obj)?;
        {
            let mut inner = self.inner.write().expect("index lock");
            let entry = inner.entry(gr.clone()).or_default();
            if let Some(rv) = resource_version_of(obj) {
                entry.resource_version = max_resource_version(&entry.resource_version, rv).to_owned();
            }
            entry.objects.remove(&key);
        }
        self.notify();
        Ok(())
    }

    /// Every object of `gr` in `scope` (optionally one namespace), in a stable
    /// order: by logical cluster, namespace, name.
    pub fn list(&self, gr: &GroupResource, scope: &Scope, namespace: Option<&str>) -> Option<Listing> {
        let inner = self.inner.read().expect("index lock");
        let entry = inner.get(gr)?;
        let in_namespace = |ns: &Option<String>| namespace.is_none() || ns.as_deref() == namespace;
        let items = match scope {
            Scope::AllClusters => entry
                .objects
                .iter()
                .filter(|((_, ns, _), _)| in_namespace(ns))
                .map(|(_, v)| v.clone())
                .collect(),
            Scope::Cluster(cluster) => entry
                .objects
                .range((cluster.clone(), None, String::new())..)
                .take_while(|((c, _, _), _)| c == cluster)
                .filter(|((_, ns, _), _)| in_namespace(ns))
                .map(|(_, v)| v.clone())
                .collect(),
        };
        Some(Listing {
            items,
            resource_version: entry.resource_version.clone(),
        })
    }

    /// One object, by its identity.
    pub fn get(&self, gr: &GroupResource, key: &ObjectKey) -> Option<Arc<Value>> {
        let inner = self.inner.read().expect("index lock");
        inner.get(gr)?.objects.get(key).cloned()
    }

    /// True when every registered resource has had its first complete list.
    pub fn synced(&self) -> bool {
        let inner = self.inner.read().expect("index lock");
        !inner.is_empty() && inner.values().all(|r| r.synced)
    }

    /// A receiver that changes whenever the index does (for readiness waits and watches).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.0.subscribe()
    }

    fn notify(&self) {
        self.changed.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// kcp's resourceVersions are decimal etcd revisions (shard-local); compare
/// them numerically, falling back to the newest seen when one is not numeric.
fn max_resource_version<'a>(a: &'a str, b: &'a str) -> &'a str {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => {
            if x >= y {
                a
            } else {
                b
            }
        }
        _ => b,
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
}
