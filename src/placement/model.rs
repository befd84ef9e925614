//! The engine's inputs as plain domain types: clusters, workloads and the clock.
//!
//! They are deliberately not the API objects: an adapter builds them from what the index
//! holds (a `ClusterRegistration`'s status, a workload's labels, the recorded decision), so
//! the engine never parses wire formats on the hot path and tests can build them directly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{find_condition, ClusterRegistration, ConditionStatus, LOCATION_LABEL, READY};

/// Identity of a physical cluster: the `ClusterRegistration` named `name` in the logical
/// cluster (workspace) `logical_cluster`. Two workspaces may both register an `east`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterId {
    /// Logical cluster holding the registration, e.g. `root:tmc` or its logical-cluster name.
    pub logical_cluster: String,
    /// Name of the `ClusterRegistration`.
    pub name: String,
}

impl ClusterId {
    /// The registration `name` in `logical_cluster`.
    pub fn new(logical_cluster: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            logical_cluster: logical_cluster.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ClusterId {
    /// `logical-cluster/name`, or just `name` when the logical cluster is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.logical_cluster.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.logical_cluster, self.name)
        }
    }
}

/// An API resource by group and plural name, as discovery lists it; the core group is `""`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupResource {
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name, e.g. `deployments`.
    pub resource: String,
}

impl GroupResource {
    /// `resource` in `group` (`""` for core).
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

impl fmt::Display for GroupResource {
    /// Kubernetes' spelling: `deployments.apps`, or `services` for the core group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// Whether a cluster can take workloads, as its `Ready` condition says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Readiness {
    /// `Ready=True`.
    Ready,
    /// `Ready` is False or Unknown, and has been since this instant (its
    /// `lastTransitionTime`). Time matters: failover waits for a toleration, so a cluster
    /// that misses one heartbeat does not have its workloads moved.
    NotReadySince(DateTime<Utc>),
    /// No `Ready` condition with a transition time: the cluster was never evaluated (or its
    /// status was lost). New workloads do not go there; workloads already there stay,
    /// because the absence of information is not evidence of failure.
    Unknown,
}

impl Readiness {
    /// Reads a `ClusterRegistration`'s conditions: `Ready=True` is [`Readiness::Ready`];
    /// any other status with a `lastTransitionTime` is not ready since then; anything else
    /// is [`Readiness::Unknown`].
    pub fn from_conditions(conditions: &[crate::api::Condition]) -> Self {
        match find_condition(conditions, READY) {
            Some(c) if c.status == ConditionStatus::True => Self::Ready,
            Some(c) => match c.last_transition_time.as_ref().and_then(from_time) {
                Some(since) => Self::NotReadySince(since),
                None => Self::Unknown,
            },
            None => Self::Unknown,
        }
    }

    /// True for [`Readiness::Ready`].
    pub fn is_ready(self) -> bool {
        self == Self::Ready
    }
}

/// A `metav1.Time` as a chrono instant (whole seconds: the wire format keeps no more).
fn from_time(time: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.0.as_second(), 0)
}

/// Amounts of the resources placement accounts for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// CPU in millicores.
    pub cpu_millis: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

impl Resources {
    /// `self + other`, saturating.
    pub fn saturating_add(self, other: Self) -> Self {
        Self {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
        }
    }

    /// `self - other`, saturating at zero.
    pub fn saturating_sub(self, other: Self) -> Self {
        Self {
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_sub(other.memory_bytes),
        }
    }

    /// True when both amounts are zero.
    pub fn is_zero(self) -> bool {
        self.cpu_millis == 0 && self.memory_bytes == 0
    }
}

/// A physical cluster as placement sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Which registration this is.
    pub id: ClusterId,
    /// `spec.location`; matched by location selectors as the label
    /// [`LOCATION_LABEL`], and the unit Spread balances over.
    pub location: String,
    /// The registration's labels. [`Cluster::new`] adds [`LOCATION_LABEL`]; when it is
    /// missing or different, matching still sees `location` under that key (the location
    /// wins, as the API documents).
    pub labels: BTreeMap<String, String>,
    /// Health, from the `Ready` condition.
    pub ready: Readiness,
    /// Cordoned (`spec.unschedulable`): nothing new goes there and workloads leave.
    pub unschedulable: bool,
    /// Capabilities currently available (unavailable ones are left out).
    pub capabilities: BTreeSet<String>,
    /// APIs the cluster serves and TMC can sync (`status.connectedAPIs` with `connected`).
    /// Empty means none: an unprobed cluster is not Ready anyway.
    pub apis: BTreeSet<GroupResource>,
    /// Allocatable CPU and memory over the cluster's nodes; `None` when not reported, in
    /// which case the capacity rule cannot reject and headroom scores neutral.
    pub allocatable: Option<Resources>,
    /// Requests of the workloads TMC already placed here (including the one being decided,
    /// if it is placed here), which allocatable must also cover.
    pub committed: Resources,
    /// Number of workloads TMC placed here (RoundRobin balances this).
    pub placed_workloads: u32,
}

impl Cluster {
    /// A Ready, schedulable cluster with no capabilities, APIs or load, and the location
    /// label set: a starting point for adapters and tests.
    pub fn new(id: ClusterId, location: impl Into<String>) -> Self {
        let location = location.into();
        let labels = BTreeMap::from([(LOCATION_LABEL.to_owned(), location.clone())]);
        Self {
            id,
            location,
            labels,
            ready: Readiness::Ready,
            unschedulable: false,
            capabilities: BTreeSet::new(),
            apis: BTreeSet::new(),
            allocatable: None,
            committed: Resources::default(),
            placed_workloads: 0,
        }
    }

    /// Builds the placement view of a registration in `logical_cluster`: labels, location,
    /// cordon, available capabilities, connected APIs, allocatable `cpu`/`memory` and
    /// `status.workloadCount`. `committed` is left at zero: only the caller knows the
    /// requests of what it placed there.
    pub fn from_registration(logical_cluster: &str, reg: &ClusterRegistration) -> Self {
        let mut cluster = Self::new(
            ClusterId::new(logical_cluster, reg.metadata.name.clone().unwrap_or_default()),
            reg.spec.location.clone(),
        );
        for (k, v) in reg.metadata.labels.iter().flatten() {
            if k != LOCATION_LABEL {
                cluster.labels.insert(k.clone(), v.clone());
            }
        }
        cluster.unschedulable = reg.spec.unschedulable;
        cluster.capabilities = reg
            .spec
            .capabilities
            .iter()
            .filter(|c| c.available)
            .map(|c| c.type_.clone())
            .collect();
        cluster.ready = Readiness::Unknown;
        if let Some(status) = &reg.status {
            cluster.ready = Readiness::from_conditions(&status.conditions);
            cluster.apis = status
                .connected_apis
                .iter()
                .filter(|a| a.connected)
                .map(|a| GroupResource::new(a.group.clone(), a.resource.clone()))
                .collect();
            let cpu = status.allocatable.get("cpu").and_then(|q| quantity_millis(&q.0));
            let memory = status
                .allocatable
                .get("memory")
                .and_then(|q| quantity_millis(&q.0));
            if cpu.is_some() || memory.is_some() {
                // A resource that is not reported cannot be the one that runs out.
                cluster.allocatable = Some(Resources {
                    cpu_millis: cpu.map_or(u64::MAX, saturate),
                    memory_bytes: memory.map_or(u64::MAX, |m| saturate(m.div_ceil(1000))),
                });
            }
            cluster.placed_workloads = status.workload_count.map_or(0, |n| u32::try_from(n).unwrap_or(0));
        }
        cluster
    }
}

fn saturate(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// A Kubernetes quantity in thousandths of its unit (see [`crate::health::quantity_millis`]).
pub(crate) fn quantity_millis(s: &str) -> Option<u128> {
    crate::health::quantity_millis(s)
}

/// Identity of a workload: the object `namespace/name` of `resource` in `logical_cluster`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    /// Logical cluster (workspace) of the workload.
    pub logical_cluster: String,
    /// Namespace; empty for cluster-scoped kinds.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
    /// Its kind, as an API resource; a cluster must serve it to be eligible.
    pub resource: GroupResource,
}

impl fmt::Display for WorkloadKey {
    /// `deployments.apps default/web in root:team-a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.resource)?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        write!(f, "{} in {}", self.name, self.logical_cluster)
    }
}

/// A workload to place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// Which object this is.
    pub key: WorkloadKey,
    /// The object's labels (policies' `workloadSelector` matches them).
    pub labels: BTreeMap<String, String>,
    /// Its namespace's labels (policies' `namespaceSelector` matches them); adapters should
    /// include `kubernetes.io/metadata.name` as kube-apiserver does.
    pub namespace_labels: BTreeMap<String, String>,
    /// Total requests of the workload on one cluster (replicas × pod requests): what the
    /// capacity rule checks against a cluster's free allocatable.
    pub requests: Resources,
    /// The durable decision recorded earlier (empty for a new workload). Healthy clusters in
    /// it are kept: this is what makes decisions survive restarts.
    pub current: Vec<ClusterId>,
}

impl Workload {
    /// A workload with no labels, requests or current placement.
    pub fn new(key: WorkloadKey) -> Self {
        Self {
            key,
            ..Self::default()
        }
    }
}

/// How long a NotReady cluster keeps its workloads, as Kubernetes' default
/// `node.kubernetes.io/not-ready` toleration for pods: five minutes.
pub const DEFAULT_NOT_READY_TOLERATION: Duration = Duration::from_secs(300);

/// The knobs and the clock: time is an argument so decisions are pure and testable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// A cluster in a workload's current decision that has been NotReady for at least this
    /// long loses the workload (failover); shorter outages are waited out, so a missed
    /// heartbeat does not move anything.
    pub not_ready_toleration: Duration,
    /// The instant the decision is made at.
    pub now: DateTime<Utc>,
}

impl Settings {
    /// The default toleration at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            not_ready_toleration: DEFAULT_NOT_READY_TOLERATION,
            now,
        }
    }
}
