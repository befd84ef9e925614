//! The one transformation from a kcp object to its physical copy. Pure.
//!
//! What travels: `apiVersion`, `kind`, `metadata.name`, the labels, the
//! annotations except kcp's and TMC's own (`*kcp.io/*` keys, such as
//! `kcp.io/cluster` and `tmc.kcp.io/placement`) and
//! `kubectl.kubernetes.io/last-applied-configuration`, and every top-level
//! field other than `metadata` and `status` (`spec`, a ConfigMap's `data`, a
//! Secret's `type`, ...).
//!
//! What does not: `uid`, `resourceVersion`, `generation`,
//! `creationTimestamp`, `deletionTimestamp`, `managedFields`,
//! `ownerReferences` (they name kcp objects), `finalizers` (TMC's finalizer
//! guards the kcp object, not the copy), `status` (the physical cluster's
//! controllers write it), and for Services the fields each cluster allocates
//! itself (`spec.clusterIP`, `spec.clusterIPs`, `spec.healthCheckNodePort`,
//! `spec.ports[].nodePort`).
//!
//! What is added: the copy lives in the physical namespace of its kcp
//! namespace (`naming`), and carries the owner marks: the managed-by and
//! workspace labels, and annotations naming its origin.

use serde_json::{Map, Value};

use super::naming::{
    MANAGED_BY_LABEL, MANAGER, ORIGIN_GENERATION_ANNOTATION, ORIGIN_NAMESPACE_ANNOTATION,
    ORIGIN_WORKSPACE_ANNOTATION, REGISTRATION_ANNOTATION, WORKSPACE_LABEL,
};

/// Where a copy goes.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The logical cluster the kcp object lives in.
    pub workspace: &'a str,
    /// The physical namespace (`naming::physical_namespace`).
    pub physical_namespace: &'a str,
}

/// Whether an annotation stays on kcp's side.
fn annotation_stays(key: &str) -> bool {
    let prefix = key.split_once('/').map(|(p, _)| p).unwrap_or("");
    prefix == "kcp.io"
        || prefix.ends_with(".kcp.io")
        || key == "kubectl.kubernetes.io/last-applied-configuration"
}

/// The physical copy of `object` (a namespaced kcp object).
pub fn downstream(object: &Value, target: Target<'_>) -> Value {
    let mut copy = Map::new();
    if let Some(fields) = object.as_object() {
        for (k, v) in fields {
            if k != "metadata" && k != "status" {
                copy.insert(k.clone(), v.clone());
            }
        }
    }
    let meta = &object["metadata"];
    let mut labels = meta["labels"].as_object().cloned().unwrap_or_default();
    labels.insert(MANAGED_BY_LABEL.into(), MANAGER.into());
    labels.insert(WORKSPACE_LABEL.into(), target.workspace.into());
    let mut annotations: Map<String, Value> = meta["annotations"]
        .as_object()
        .map(|a| {
            a.iter()
                .filter(|(k, _)| !annotation_stays(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    annotations.insert(ORIGIN_WORKSPACE_ANNOTATION.into(), target.workspace.into());
    annotations.insert(ORIGIN_NAMESPACE_ANNOTATION.into(), meta["namespace"].clone());
    if let Some(g) = meta["generation"].as_i64() {
        annotations.insert(ORIGIN_GENERATION_ANNOTATION.into(), g.to_string().into());
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), meta["name"].clone());
    metadata.insert("namespace".into(), target.physical_namespace.into());
    metadata.insert("labels".into(), labels.into());
    metadata.insert("annotations".into(), annotations.into());
    copy.insert("metadata".into(), metadata.into());
    let mut copy = Value::Object(copy);
    if copy["kind"] == "Service" && copy["apiVersion"] == "v1" {
        strip_allocated_service_fields(&mut copy);
    }
    copy
}

/// The physical namespace for the copies of (`workspace`, `namespace`),
/// created through registration `registration` (`<logical cluster>/<name>`).
pub fn namespace(physical_namespace: &str, workspace: &str, namespace: &str, registration: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": physical_namespace,
            "labels": {MANAGED_BY_LABEL: MANAGER, WORKSPACE_LABEL: workspace},
            "annotations": {
                ORIGIN_WORKSPACE_ANNOTATION: workspace,
                ORIGIN_NAMESPACE_ANNOTATION: namespace,
                REGISTRATION_ANNOTATION: registration,
            },
        },
    })
}

fn strip_allocated_service_fields(copy: &mut Value) {
    let Some(spec) = copy["spec"].as_object_mut() else {
        return;
    };
    for f in ["clusterIP", "clusterIPs", "healthCheckNodePort"] {
        spec.remove(f);
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.remove("nodePort");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TARGET: Target<'static> = Target {
        workspace: "2x8w9q",
        physical_namespace: "kcp-0123456789abcdef",
    };

    fn kcp_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "42",
                "generation": 3, "creationTimestamp": "2026-01-01T00:00:00Z",
                "deletionTimestamp": "2026-01-02T00:00:00Z",
                "managedFields": [{"manager": "kubectl"}],
                "ownerReferences": [{"kind": "Thing", "name": "x", "uid": "u-0"}],
                "finalizers": ["tmc.kcp.io/sync"],
                "labels": {"app": "web"},
                "annotations": {"kcp.io/cluster": "2x8w9q", "tmc.kcp.io/placement": "{}",
                    "experimental.tenancy.kcp.io/x": "y", "team": "a",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": {"replicas": 2},
        })
    }

    #[test]
    fn only_what_must_travel_travels() {
        let copy = downstream(&kcp_deployment(), TARGET);
        assert_eq!(
            copy,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {
                    "name": "web", "namespace": "kcp-0123456789abcdef",
                    "labels": {"app": "web", MANAGED_BY_LABEL: MANAGER, WORKSPACE_LABEL: "2x8w9q"},
                    "annotations": {"team": "a", ORIGIN_WORKSPACE_ANNOTATION: "2x8w9q",
                        ORIGIN_NAMESPACE_ANNOTATION: "default", ORIGIN_GENERATION_ANNOTATION: "3"}},
                "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            })
        );
    }

    #[test]
    fn owner_labels_cannot_be_overridden_by_the_tenant() {
        let mut d = kcp_deployment();
        d["metadata"]["labels"][MANAGED_BY_LABEL] = json!("someone-else");
        d["metadata"]["labels"][WORKSPACE_LABEL] = json!("another-workspace");
        let copy = downstream(&d, TARGET);
        assert_eq!(copy["metadata"]["labels"][MANAGED_BY_LABEL], MANAGER);
        assert_eq!(copy["metadata"]["labels"][WORKSPACE_LABEL], "2x8w9q");
    }

    #[test]
    fn services_lose_what_each_cluster_allocates() {
        let svc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "type": "NodePort",
                "healthCheckNodePort": 30001, "selector": {"app": "web"},
                "ports": [{"port": 80, "nodePort": 30080}]}});
        let copy = downstream(&svc, TARGET);
        assert_eq!(
            copy["spec"],
            json!({"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]})
        );
    }

    #[test]
    fn config_data_travels_verbatim() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "conf", "namespace": "default"},
            "data": {"a": "1"}, "binaryData": {"b": "AA=="}, "immutable": true});
        let copy = downstream(&cm, TARGET);
        assert_eq!(copy["data"], json!({"a": "1"}));
        assert_eq!(copy["binaryData"], json!({"b": "AA=="}));
        assert_eq!(copy["immutable"], true);
        assert!(copy["metadata"]["annotations"]
            .get(ORIGIN_GENERATION_ANNOTATION)
            .is_none());
    }
}
