//! Live cluster status, computed by the probe loops, read by the views: the
//! `clusterregistrations` view shows this (fresh heartbeat, current
//! conditions) rather than only what was last written to kcp.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::api::ClusterRegistrationStatus;
use crate::index::ObjectKey;

#[derive(Clone, Default)]
pub struct LiveStatus {
    inner: Arc<RwLock<HashMap<ObjectKey, Value>>>,
    /// Workloads placed on each cluster, from the decisions controller.
    workloads: Arc<RwLock<HashMap<ObjectKey, u32>>>,
}

impl LiveStatus {
    pub fn set(&self, key: ObjectKey, status: &ClusterRegistrationStatus) {
        let v = serde_json::to_value(status).expect("status serializes");
        self.inner.write().expect("live lock").insert(key, v);
    }

    pub fn remove(&self, key: &ObjectKey) {
        self.inner.write().expect("live lock").remove(key);
    }

    /// Replaces the counts of workloads placed on each cluster.
    pub fn set_workload_counts(&self, counts: HashMap<ObjectKey, u32>) {
        *self.workloads.write().expect("live lock") = counts;
    }

    /// Replaces `obj.status` with the live status, when there is one, and
    /// sets `status.workloadCount` when the decisions controller counted.
    pub fn overlay(&self, key: &ObjectKey, obj: &mut Value) {
        if let Some(s) = self.inner.read().expect("live lock").get(key) {
            obj["status"] = s.clone();
        }
        let workloads = self.workloads.read().expect("live lock");
        if !workloads.is_empty() {
            let n = workloads.get(key).copied().unwrap_or(0);
            if obj["status"].is_object() {
                obj["status"]["workloadCount"] = n.into();
            }
        }
    }
}
