//! Engine inputs from kcp objects as JSON (what the index holds and what
//! `kubectl tmc` reads): clusters, policies and workloads. Pure.
//!
//! Which clusters a workspace may place onto: its own registrations (private
//! to it) and those of the provider workspace (the shared pool every bound
//! tenant places onto, see `docs/placement.md`).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::model::{Cluster, ClusterId, GroupResource, Resources, Workload, WorkloadKey};
use super::policy::Policy;
use super::record::RecordedDecision;
use crate::api::{ClusterRegistration, WorkloadPlacement};

/// A registration as the engine sees it; `None` when the object cannot be read.
pub fn cluster(logical_cluster: &str, registration: &Value) -> Option<Cluster> {
    let reg: ClusterRegistration = serde_json::from_value(registration.clone()).ok()?;
    Some(Cluster::from_registration(logical_cluster, &reg))
}

/// A `WorkloadPlacement` as a policy, or why it cannot be one (reported on
/// the policy; the policy is then left out).
pub fn policy(logical_cluster: &str, placement: &Value) -> Result<Policy, String> {
    let wp: WorkloadPlacement = serde_json::from_value(placement.clone()).map_err(|e| e.to_string())?;
    Policy::from_placement(logical_cluster, &wp).map_err(|e| e.to_string())
}

/// The labels of an object.
pub fn labels(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A namespace's labels as selectors see them: with
/// `kubernetes.io/metadata.name`, which kube-apiserver always sets.
pub fn namespace_labels(namespace: &str, namespace_object: Option<&Value>) -> BTreeMap<String, String> {
    let mut l = namespace_object.map(labels).unwrap_or_default();
    l.insert("kubernetes.io/metadata.name".into(), namespace.to_owned());
    l
}

/// A workload of `resource` in `logical_cluster`, with its recorded decision.
pub fn workload(
    logical_cluster: &str,
    resource: GroupResource,
    object: &Value,
    namespace_labels: BTreeMap<String, String>,
) -> Workload {
    let meta = &object["metadata"];
    Workload {
        key: WorkloadKey {
            logical_cluster: logical_cluster.to_owned(),
            namespace: meta["namespace"].as_str().unwrap_or_default().to_owned(),
            name: meta["name"].as_str().unwrap_or_default().to_owned(),
            resource,
        },
        labels: labels(object),
        namespace_labels,
        requests: requests(object),
        current: RecordedDecision::from_object(object)
            .map(|r| r.cluster_ids())
            .unwrap_or_default(),
    }
}

/// What a workload asks of one cluster: replicas (1 when unset) × the sum of
/// its pod template's container requests. Objects without a pod template
/// (Services) ask nothing.
pub fn requests(object: &Value) -> Resources {
    let containers = &object["spec"]["template"]["spec"]["containers"];
    let Some(containers) = containers.as_array() else {
        return Resources::default();
    };
    let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1);
    let mut one = Resources::default();
    for c in containers {
        let req = &c["resources"]["requests"];
        let q = |k: &str| {
            req[k]
                .as_str()
                .and_then(crate::health::quantity_millis)
                .unwrap_or(0)
        };
        one = one.saturating_add(Resources {
            cpu_millis: u64::try_from(q("cpu")).unwrap_or(u64::MAX),
            memory_bytes: u64::try_from(q("memory").div_ceil(1000)).unwrap_or(u64::MAX),
        });
    }
    Resources {
        cpu_millis: one.cpu_millis.saturating_mul(replicas),
        memory_bytes: one.memory_bytes.saturating_mul(replicas),
    }
}

/// Sets each cluster's load from the recorded decisions of every workload
/// (all workspaces): how many are placed there and what they request.
pub fn count_load(clusters: &mut [Cluster], workloads: &[Workload]) {
    let index: HashMap<ClusterId, usize> = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    for c in clusters.iter_mut() {
        c.placed_workloads = 0;
        c.committed = Resources::default();
    }
    for w in workloads {
        for id in &w.current {
            if let Some(&i) = index.get(id) {
                clusters[i].placed_workloads = clusters[i].placed_workloads.saturating_add(1);
                clusters[i].committed = clusters[i].committed.saturating_add(w.requests);
            }
        }
    }
}

/// The clusters `logical_cluster` may place onto: its own and the shared
/// pool (`provider`'s); the provider workspace sees its own once.
pub fn visible_clusters<'a>(
    all: &'a [Cluster],
    logical_cluster: &'a str,
    provider: &'a str,
) -> impl Iterator<Item = &'a Cluster> + 'a {
    all.iter()
        .filter(move |c| c.id.logical_cluster == logical_cluster || c.id.logical_cluster == provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_requests_are_replicas_times_containers() {
        let d = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
            {"resources": {"requests": {"cpu": "0.5"}}},
            {"name": "no-requests"},
        ]}}}});
        let r = requests(&d);
        assert_eq!(r.cpu_millis, 3 * 600);
        assert_eq!(r.memory_bytes, 3 * 64 * 1024 * 1024);
        assert_eq!(requests(&json!({"spec": {"ports": []}})), Resources::default());
        let one = json!({"spec": {"template": {"spec": {"containers": [
            {"resources": {"requests": {"cpu": "1"}}}]}}}});
        assert_eq!(requests(&one).cpu_millis, 1000, "replicas default to 1");
    }

    #[test]
    fn namespace_name_label_is_always_there() {
        let l = namespace_labels("web", Some(&json!({"metadata": {"labels": {"tier": "prod"}}})));
        assert_eq!(l["kubernetes.io/metadata.name"], "web");
        assert_eq!(l["tier"], "prod");
        assert_eq!(namespace_labels("x", None).len(), 1);
    }

    #[test]
    fn load_counts_recorded_decisions() {
        let mut clusters = vec![
            Cluster::new(ClusterId::new("p", "east"), "us-east"),
            Cluster::new(ClusterId::new("p", "west"), "us-west"),
        ];
        let mut w = Workload::new(WorkloadKey::default());
        w.current = vec![ClusterId::new("p", "east")];
        w.requests.cpu_millis = 200;
        count_load(&mut clusters, &[w.clone(), w]);
        assert_eq!(clusters[0].placed_workloads, 2);
        assert_eq!(clusters[0].committed.cpu_millis, 400);
        assert_eq!(clusters[1].placed_workloads, 0);
    }

    #[test]
    fn a_workspace_sees_its_own_clusters_and_the_shared_pool() {
        let all = vec![
            Cluster::new(ClusterId::new("team-a", "private"), "x"),
            Cluster::new(ClusterId::new("team-b", "theirs"), "x"),
            Cluster::new(ClusterId::new("tmc", "shared"), "x"),
        ];
        let names: Vec<_> = visible_clusters(&all, "team-a", "tmc")
            .map(|c| c.id.name.as_str())
            .collect();
        assert_eq!(names, ["private", "shared"]);
    }
}
