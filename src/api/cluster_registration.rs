//! `ClusterRegistration`: a physical cluster TMC may place workloads on (seed 000).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;

/// Desired state of a ClusterRegistration: where the cluster is, what it can run and how
/// to reach it.
// Printer columns use kube-derive's JSON form: the list form `printcolumn(name = ..)`
// repeated trips clippy's `duplicated_attributes` (it sees `type_ = "string"` twice).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "tmc.kcp.io",
    version = "v1alpha1",
    kind = "ClusterRegistration",
    plural = "clusterregistrations",
    singular = "clusterregistration",
    shortname = "cr",
    category = "kcp",
    status = "ClusterRegistrationStatus",
    derive = "PartialEq",
    doc = "ClusterRegistration represents a physical Kubernetes cluster that TMC can place workloads on. TMC probes the cluster through the kubeconfig referenced by spec.kubeconfigSecretRef and reports its health, version, capacity and served APIs in status.",
    printcolumn = r#"{"name":"Location","type":"string","jsonPath":".spec.location","description":"Logical location of the cluster"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the cluster answered its last probe"}"#,
    printcolumn = r#"{"name":"Heartbeat","type":"date","jsonPath":".status.lastHeartbeat","description":"Time of the last successful probe"}"#,
    printcolumn = r#"{"name":"Capacity","type":"string","jsonPath":".status.capacitySummary","description":"Allocatable CPU and memory summed over the cluster's nodes"}"#,
    printcolumn = r#"{"name":"Workloads","type":"integer","jsonPath":".status.workloadCount","description":"Workloads placed on the cluster"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.kubernetesVersion","priority":1,"description":"Kubernetes version of the cluster"}"#,
    printcolumn = r#"{"name":"Labels","type":"string","jsonPath":".metadata.labels","priority":1,"description":"Labels placement policies select on"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistrationSpec {
    /// Logical location of the cluster (e.g. `us-east`), used by placement policies to
    /// select or spread across clusters.
    pub location: String,

    /// Capabilities the cluster offers (e.g. `gpu`, `storage`), matched against a
    /// WorkloadPlacement's capabilityRequirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub capabilities: Vec<ClusterCapability>,

    /// Secret in this workspace holding the physical cluster's kubeconfig. Without it the
    /// cluster cannot be probed or synced to and stays NotReady.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig_secret_ref: Option<SecretRef>,

    /// Cordon: when true, no new workloads are placed on the cluster; workloads already
    /// there are moved away according to their placement policy.
    #[serde(default)]
    pub unschedulable: bool,

    /// kcp APIBindings whose APIs this cluster should receive (e.g. the `kubernetes`
    /// export for Deployments and Services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub api_bindings: Vec<APIBindingReference>,
}

/// A capability of the physical cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCapability {
    /// Type of capability, e.g. `compute`, `storage`, `networking`, `gpu`. Unique within
    /// the list.
    #[serde(rename = "type")]
    pub type_: String,

    /// Whether the capability is currently available; an unavailable capability does
    /// not satisfy a requirement.
    pub available: bool,

    /// Free-form metadata about the capability (e.g. `model: a100`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// Reference to the Secret holding a kubeconfig.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    pub name: String,

    /// Namespace of the Secret (ClusterRegistration is cluster-scoped, Secrets are not).
    pub namespace: String,

    /// Key in the Secret's data that holds the kubeconfig.
    #[serde(default = "default_kubeconfig_key")]
    pub key: String,
}

/// The Secret data key a kubeconfig is read from when `key` is not set.
pub const DEFAULT_KUBECONFIG_KEY: &str = "kubeconfig";

fn default_kubeconfig_key() -> String {
    DEFAULT_KUBECONFIG_KEY.to_owned()
}

impl Default for SecretRef {
    fn default() -> Self {
        Self {
            name: String::new(),
            namespace: String::new(),
            key: default_kubeconfig_key(),
        }
    }
}

/// Reference to a kcp APIBinding.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct APIBindingReference {
    /// Name of the APIBinding.
    pub name: String,

    /// Workspace path containing the APIBinding; the registration's own workspace when
    /// unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// Observed state of a ClusterRegistration, written by TMC's prober.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRegistrationStatus {
    /// Latest observations; `Ready` summarizes whether the cluster can take workloads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Which APIs (from the bound exports) the physical cluster serves, so placement never
    /// picks a cluster that cannot run the workload's kind.
    #[serde(default, rename = "connectedAPIs", skip_serializing_if = "Vec::is_empty")]
    pub connected_apis: Vec<ConnectedAPI>,

    /// Time of the last successful probe; a stale heartbeat turns Ready to False.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<Time>,

    /// Kubernetes version the cluster reported (`gitVersion`, e.g. `v1.34.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,

    /// Total resources of the cluster's nodes (e.g. `cpu`, `memory`, `pods`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,

    /// Resources of the cluster's nodes available for workloads.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,

    /// Allocatable CPU and memory over the cluster's nodes, for people
    /// (`cpu 8, memory 31Gi`); the exact figures are in `allocatable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_summary: Option<String>,

    /// How many workloads TMC has placed on this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_count: Option<i32>,

    /// `metadata.generation` of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Whether one API is served by the physical cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedAPI {
    /// Name of the APIBinding (or APIExport) the API comes from, e.g. `kubernetes`.
    #[serde(default, rename = "apiBinding", skip_serializing_if = "Option::is_none")]
    pub api_binding: Option<String>,

    /// API group of the resource; empty for the core group.
    #[serde(default)]
    pub group: String,

    /// API version the cluster serves the resource at, e.g. `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,

    /// Resource name (plural, lowercase), e.g. `deployments`.
    pub resource: String,

    /// Whether the cluster serves the resource and TMC can sync it there.
    pub connected: bool,

    /// Why the API is not connected, if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{ConditionStatus, READY};
    use kube::core::{CustomResourceExt, Resource};
    use serde_json::json;

    #[test]
    fn minimal_object_gets_defaults() {
        let cr: ClusterRegistration = serde_json::from_value(json!({
            "apiVersion": "tmc.kcp.io/v1alpha1",
            "kind": "ClusterRegistration",
            "metadata": {"name": "east"},
            "spec": {"location": "us-east"},
        }))
        .unwrap();
        assert_eq!(cr.spec.location, "us-east");
        assert!(!cr.spec.unschedulable);
        assert!(cr.spec.capabilities.is_empty());
        assert!(cr.spec.kubeconfig_secret_ref.is_none());
        assert!(cr.status.is_none());
    }

    #[test]
    fn secret_ref_key_defaults_to_kubeconfig() {
        let r: SecretRef = serde_json::from_value(json!({"name": "east", "namespace": "tmc"})).unwrap();
        assert_eq!(r.key, DEFAULT_KUBECONFIG_KEY);
        assert_eq!(SecretRef::default().key, DEFAULT_KUBECONFIG_KEY);
    }

    #[test]
    fn full_round_trip_keeps_wire_names() {
        let wire = json!({
            "apiVersion": "tmc.kcp.io/v1alpha1",
            "kind": "ClusterRegistration",
            "metadata": {"name": "east", "labels": {"tier": "prod"}},
            "spec": {
                "location": "us-east",
                "capabilities": [{"type": "gpu", "available": true, "properties": {"model": "a100"}}],
                "kubeconfigSecretRef": {"name": "east", "namespace": "tmc", "key": "config"},
                "unschedulable": true,
                "apiBindings": [{"name": "kubernetes", "workspace": "root:tmc"}],
            },
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "Probed"}],
                "connectedAPIs": [{"apiBinding": "kubernetes", "group": "apps", "version": "v1",
                                   "resource": "deployments", "connected": true}],
                "lastHeartbeat": "2025-01-02T03:04:05Z",
                "kubernetesVersion": "v1.34.1",
                "capacity": {"cpu": "8", "memory": "32Gi"},
                "allocatable": {"cpu": "7500m"},
                "observedGeneration": 2,
            },
        });
        let cr: ClusterRegistration = serde_json::from_value(wire.clone()).unwrap();
        let status = cr.status.as_ref().unwrap();
        assert_eq!(status.conditions[0].status, ConditionStatus::True);
        assert_eq!(status.conditions[0].type_, READY);
        assert_eq!(status.connected_apis[0].group, "apps");
        assert_eq!(status.capacity["memory"], Quantity("32Gi".into()));
        assert_eq!(serde_json::to_value(&cr).unwrap(), wire);
    }

    #[test]
    fn resource_identity() {
        assert_eq!(ClusterRegistration::group(&()), crate::api::GROUP);
        assert_eq!(ClusterRegistration::version(&()), crate::api::VERSION);
        assert_eq!(ClusterRegistration::plural(&()), "clusterregistrations");
        let crd = ClusterRegistration::crd();
        assert_eq!(crd.spec.scope, "Cluster");
        assert_eq!(crd.spec.names.short_names, Some(vec!["cr".to_owned()]));
        assert_eq!(crd.spec.names.categories, Some(vec!["kcp".to_owned()]));
        let version = &crd.spec.versions[0];
        assert!(version.subresources.as_ref().unwrap().status.is_some());
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.priority.unwrap_or(0)))
            .collect();
        assert_eq!(
            columns,
            [
                ("Location", 0),
                ("Ready", 0),
                ("Heartbeat", 0),
                ("Capacity", 0),
                ("Workloads", 0),
                ("Version", 1),
                ("Labels", 1),
                ("Age", 0)
            ]
        );
    }
}
