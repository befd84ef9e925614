//! The board: what each cluster's worker last saw and did, for the
//! controller (status, finalizers) and the `placements` view to read. In
//! memory only; rebuilt by the workers after a restart.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tokio::sync::watch;

use super::desired::CopyKey;
use crate::placement::ClusterId;

/// A revert of an edit made on the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftNote {
    /// The first field found changed, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One copy as its worker knows it.
#[derive(Clone, Debug, Default)]
pub struct CopyReport {
    /// The copy as last read from the cluster (`None`: not there).
    pub object: Option<Arc<Value>>,
    /// Hash of the desired copy last applied successfully.
    pub applied_hash: Option<u64>,
    /// Why the last attempt to apply or delete it failed.
    pub error: Option<String>,
    /// The last edit on the cluster TMC reverted.
    pub drift: Option<DriftNote>,
}

/// One cluster's worker's report.
#[derive(Clone, Debug, Default)]
pub struct ClusterReport {
    /// The worker has listed everything TMC made on the cluster: until then
    /// nothing can be said to be gone.
    pub listed: bool,
    /// Why the cluster cannot be synced right now (credentials, connection).
    pub problem: Option<String>,
    pub copies: HashMap<CopyKey, CopyReport>,
}

/// Shared between the workers (writers) and the controller and views (readers).
#[derive(Clone)]
pub struct Board {
    clusters: Arc<RwLock<HashMap<ClusterId, Arc<ClusterReport>>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Default for Board {
    fn default() -> Self {
        Self {
            clusters: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        }
    }
}

impl Board {
    pub fn publish(&self, cluster: &ClusterId, report: ClusterReport) {
        self.clusters
            .write()
            .expect("board lock")
            .insert(cluster.clone(), Arc::new(report));
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn remove(&self, cluster: &ClusterId) {
        self.clusters.write().expect("board lock").remove(cluster);
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn cluster(&self, cluster: &ClusterId) -> Option<Arc<ClusterReport>> {
        self.clusters.read().expect("board lock").get(cluster).cloned()
    }

    /// Every cluster's report.
    pub fn snapshot(&self) -> HashMap<ClusterId, Arc<ClusterReport>> {
        self.clusters.read().expect("board lock").clone()
    }

    /// Wakes on every publish.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
