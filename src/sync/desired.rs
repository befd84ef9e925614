//! What each physical cluster should hold, as a pure function of what kcp
//! holds: for every workload whose recorded decision names the cluster (and
//! that carries TMC's finalizer, so no copy can outlive its kcp object
//! unnoticed), its copy, the copies of the ConfigMaps and Secrets it
//! references, and their physical namespace. A workload being deleted in kcp
//! is wanted nowhere, which is how its copies get removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::Value;

use super::naming::{physical_namespace, FINALIZER};
use super::references::references;
use super::transform::{self, Target};
use crate::index::GroupResource;
use crate::placement::record::RecordedDecision;
use crate::placement::ClusterId;

/// The identity of a copy on one physical cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CopyKey {
    pub resource: GroupResource,
    /// The physical namespace (`None` for namespaces themselves).
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for CopyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.resource.resource, self.name),
            None => write!(f, "{}/{}", self.resource.resource, self.name),
        }
    }
}

/// One object a cluster should hold.
#[derive(Clone, Debug)]
pub struct DesiredCopy {
    /// Shared: the same copy goes to every chosen cluster, and desired sets
    /// are handed to workers every round.
    pub object: Arc<Value>,
    /// Hash of `object`: a changed hash means the copy must be applied again.
    pub hash: u64,
}

/// Everything one cluster should hold (and nothing else TMC made may stay).
#[derive(Clone, Debug, Default)]
pub struct DesiredSet {
    pub copies: BTreeMap<CopyKey, DesiredCopy>,
}

impl PartialEq for DesiredSet {
    fn eq(&self, other: &Self) -> bool {
        self.copies.len() == other.copies.len()
            && self
                .copies
                .iter()
                .zip(&other.copies)
                .all(|((ka, a), (kb, b))| ka == kb && a.hash == b.hash)
    }
}

/// A placed workload in kcp.
pub struct WorkloadInput<'a> {
    pub resource: &'a GroupResource,
    pub object: &'a Value,
    /// Its logical cluster.
    pub workspace: &'a str,
}

/// `(logical cluster, namespace, name)` of a ConfigMap or Secret in kcp.
pub type ObjectRef = (String, String, String);

/// What kcp holds, as the computation needs it.
pub struct Inputs<'a> {
    pub workloads: Vec<WorkloadInput<'a>>,
    pub config_maps: &'a HashMap<ObjectRef, Arc<Value>>,
    pub secrets: &'a HashMap<ObjectRef, Arc<Value>>,
    /// The registered clusters; a decision naming another one syncs nothing.
    pub registered: &'a BTreeSet<ClusterId>,
}

pub fn config_maps() -> GroupResource {
    GroupResource::new("", "configmaps")
}
pub fn secrets() -> GroupResource {
    GroupResource::new("", "secrets")
}
pub fn namespaces() -> GroupResource {
    GroupResource::new("", "namespaces")
}

/// Whether TMC may sync `object`: it carries the finalizer and is not being deleted.
pub fn is_syncable(object: &Value) -> bool {
    object["metadata"]["deletionTimestamp"].is_null() && has_finalizer(object)
}

pub fn has_finalizer(object: &Value) -> bool {
    object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|v| v == FINALIZER))
}

/// The clusters `object`'s recorded decision names.
pub fn decided_clusters(object: &Value) -> Vec<ClusterId> {
    RecordedDecision::from_object(object)
        .map(|d| d.cluster_ids())
        .unwrap_or_default()
}

/// The key of `object`'s copy (a kcp object of `resource` in `workspace`).
pub fn copy_key(resource: &GroupResource, workspace: &str, object: &Value) -> CopyKey {
    let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
    CopyKey {
        resource: resource.clone(),
        namespace: Some(physical_namespace(workspace, ns)),
        name: object["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The desired set of every registered cluster (empty sets included: a
/// cluster with nothing wanted must remove what TMC left there).
pub fn desired_sets(inputs: &Inputs<'_>) -> BTreeMap<ClusterId, DesiredSet> {
    desired_sets_cached(inputs, &mut CopyCache::default())
}

/// A workload's copies as last computed, reused while the workload and the
/// ConfigMaps and Secrets it references keep their resourceVersions: the
/// transformations and hashes are most of a sync round's work, and almost
/// every round changes one workload at most.
#[derive(Default)]
pub struct CopyCache {
    entries: HashMap<(GroupResource, String, String, String), CachedCopies>,
}

struct CachedCopies {
    /// The workload's resourceVersion and, per referenced object, its own
    /// (`None`: absent) when the copies were computed.
    fingerprint: (Value, Vec<Option<Value>>),
    /// The ConfigMaps, then the Secrets, the workload references (fixed by its resourceVersion).
    references: Vec<(bool, String)>,
    physical_namespace: String,
    clusters: Vec<ClusterId>,
    copies: Vec<(CopyKey, DesiredCopy)>,
}

/// As [`desired_sets`], reusing (and refreshing) `cache`; the result is the same.
pub fn desired_sets_cached(inputs: &Inputs<'_>, cache: &mut CopyCache) -> BTreeMap<ClusterId, DesiredSet> {
    let mut sets: BTreeMap<ClusterId, DesiredSet> = inputs
        .registered
        .iter()
        .map(|c| (c.clone(), DesiredSet::default()))
        .collect();
    let mut fresh: HashMap<(GroupResource, String, String, String), CachedCopies> = HashMap::new();
    for w in &inputs.workloads {
        if !is_syncable(w.object) {
            continue;
        }
        let ns = w.object["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = w.object["metadata"]["name"].as_str().unwrap_or_default();
        let id = (
            w.resource.clone(),
            w.workspace.to_owned(),
            ns.to_owned(),
            name.to_owned(),
        );
        let lookup = |map: &HashMap<ObjectRef, Arc<Value>>, name: &str| find(map, w.workspace, ns, name);
        let rv = w.object["metadata"]["resourceVersion"].clone();
        let cached = cache.entries.remove(&id).filter(|c| {
            // Same workload version, so the same references, in the same order.
            c.fingerprint.0 == rv && {
                let now = c.references.iter().map(|(is_secret, n)| {
                    let map = if *is_secret {
                        inputs.secrets
                    } else {
                        inputs.config_maps
                    };
                    lookup(map, n).map(|o| o["metadata"]["resourceVersion"].clone())
                });
                now.eq(c.fingerprint.1.iter().cloned())
            }
        });
        let entry = match cached {
            Some(c) => c,
            None => compute_copies(w, rv, ns, inputs),
        };
        for cluster in &entry.clusters {
            let Some(set) = sets.get_mut(cluster) else {
                continue;
            };
            let pns = &entry.physical_namespace;
            let registration = format!("{}/{}", cluster.logical_cluster, cluster.name);
            let ns_key = CopyKey {
                resource: namespaces(),
                namespace: None,
                name: pns.clone(),
            };
            set.copies
                .entry(ns_key)
                .or_insert_with(|| desired(transform::namespace(pns, w.workspace, ns, &registration)));
            for (key, copy) in &entry.copies {
                set.copies.entry(key.clone()).or_insert_with(|| copy.clone());
            }
        }
        fresh.insert(id, entry);
    }
    // Workloads gone (or no longer syncable) leave the cache.
    cache.entries = fresh;
    sets
}

/// The ConfigMap or Secret `name` of `workspace`/`namespace`, if kcp holds it.
fn find(
    map: &HashMap<ObjectRef, Arc<Value>>,
    workspace: &str,
    namespace: &str,
    name: &str,
) -> Option<Arc<Value>> {
    map.get(&(workspace.to_owned(), namespace.to_owned(), name.to_owned()))
        .cloned()
}

/// One workload's copies (itself and the ConfigMaps and Secrets it
/// references), transformed and hashed, with what they were computed from.
fn compute_copies(w: &WorkloadInput<'_>, rv: Value, ns: &str, inputs: &Inputs<'_>) -> CachedCopies {
    let pns = physical_namespace(w.workspace, ns);
    let target = Target {
        workspace: w.workspace,
        physical_namespace: &pns,
    };
    let refs = references(w.object);
    let mut versions = Vec::new();
    let mut copies = vec![(
        copy_key(w.resource, w.workspace, w.object),
        desired(transform::downstream(w.object, target)),
    )];
    for name in &refs.config_maps {
        let cm = find(inputs.config_maps, w.workspace, ns, name);
        versions.push(cm.as_ref().map(|o| o["metadata"]["resourceVersion"].clone()));
        if let Some(cm) = cm {
            copies.push((
                copy_key(&config_maps(), w.workspace, &cm),
                desired(transform::downstream(&cm, target)),
            ));
        }
    }
    for name in &refs.secrets {
        let secret = find(inputs.secrets, w.workspace, ns, name);
        versions.push(secret.as_ref().map(|o| o["metadata"]["resourceVersion"].clone()));
        // A service-account token is bound to kcp's service account; a copy would be useless.
        if let Some(s) = secret.filter(|s| s["type"] != "kubernetes.io/service-account-token") {
            copies.push((
                copy_key(&secrets(), w.workspace, &s),
                desired(transform::downstream(&s, target)),
            ));
        }
    }
    let references = refs
        .config_maps
        .iter()
        .map(|n| (false, n.clone()))
        .chain(refs.secrets.iter().map(|n| (true, n.clone())))
        .collect();
    CachedCopies {
        fingerprint: (rv, versions),
        references,
        physical_namespace: pns,
        clusters: decided_clusters(w.object),
        copies,
    }
}

fn desired(object: Value) -> DesiredCopy {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    object.to_string().hash(&mut h);
    DesiredCopy {
        hash: h.finish(),
        object: Arc::new(object),
    }
}
