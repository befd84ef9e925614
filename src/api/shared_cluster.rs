//! `SharedCluster`: the read-only view every bound workspace gets of the
//! provider workspace's clusters (the shared pool its workloads may be placed
//! on). It shows names, location, capabilities and health, never how the
//! cluster is reached: there is no kubeconfig reference in it.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cluster_registration::{ClusterCapability, ClusterRegistrationStatus};

/// A cluster of the shared pool, as a tenant may see it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "tmc.kcp.io",
    version = "v1alpha1",
    kind = "SharedCluster",
    plural = "sharedclusters",
    singular = "sharedcluster",
    shortname = "sc",
    category = "kcp",
    status = "ClusterRegistrationStatus",
    derive = "PartialEq",
    doc = "SharedCluster is a read-only view of a cluster registered in TMC's provider workspace: the shared pool every bound workspace may place onto. tmc-server computes it from the ClusterRegistration and its live health; credentials are never part of it.",
    printcolumn = r#"{"name":"Location","type":"string","jsonPath":".spec.location","description":"Logical location of the cluster"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the cluster answered its last probe"}"#,
    printcolumn = r#"{"name":"Heartbeat","type":"date","jsonPath":".status.lastHeartbeat","description":"Time of the last successful probe"}"#,
    printcolumn = r#"{"name":"Capacity","type":"string","jsonPath":".status.capacitySummary","description":"Allocatable CPU and memory summed over the cluster's nodes"}"#,
    printcolumn = r#"{"name":"Workloads","type":"integer","jsonPath":".status.workloadCount","description":"Workloads of this workspace placed on the cluster"}"#,
    printcolumn = r#"{"name":"Cordoned","type":"boolean","jsonPath":".spec.unschedulable","priority":1,"description":"Whether new workloads are kept off the cluster"}"#,
    printcolumn = r#"{"name":"Labels","type":"string","jsonPath":".metadata.labels","priority":1,"description":"Labels placement policies select on"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SharedClusterSpec {
    /// Logical location of the cluster (matched as the label `tmc.kcp.io/location`).
    pub location: String,
    /// Capabilities the cluster offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<ClusterCapability>,
    /// Cordoned: no new workloads go there.
    #[serde(default)]
    pub unschedulable: bool,
}
