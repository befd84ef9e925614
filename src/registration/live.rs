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
}

impl LiveStatus {
    pub fn set(&self, key: ObjectKey, status: &ClusterRegistrationStatus) {
        let v = serde_json::to_value(status).expect("status serializes");
        self.inner.write().expect("live lock").insert(key, v);
    }

    pub fn remove(&self, key: &ObjectKey) {
        self.inner.write().expect("live lock").remove(key);
    }

    /// Replaces `obj.status` with the live status, when there is one.
    pub fn overlay(&self, key: &ObjectKey, obj: &mut Value) {
        if let Some(s) = self.inner.read().expect("live lock").get(key) {
            obj["status"] = s.clone();
        }
    }
}
