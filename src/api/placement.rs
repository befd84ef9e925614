//! `Placement`: the read-only view tmc-server synthesizes for every placed
//! workload — where it runs and why. Never stored in kcp (it is not in
//! `apis/`); discovery, OpenAPI and Table columns come from this type like
//! those of the stored kinds.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The workload a placement is about, and the policy governing it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "tmc.kcp.io",
    version = "v1alpha1",
    kind = "Placement",
    plural = "placements",
    singular = "placement",
    shortname = "pl",
    category = "kcp",
    namespaced,
    status = "PlacementStatus",
    derive = "PartialEq",
    doc = "Placement is a read-only view of where TMC placed one workload of this workspace and why: the governing policy, the chosen clusters, and a verdict for every candidate cluster (the rule that rejected it, or its score). tmc-server computes it; it is not stored.",
    printcolumn = r#"{"name":"Workload","type":"string","jsonPath":".spec.workload.ref","description":"Kind/name of the workload"}"#,
    printcolumn = r#"{"name":"Policy","type":"string","jsonPath":".spec.policy","description":"WorkloadPlacement governing it (default: the default placement)"}"#,
    printcolumn = r#"{"name":"Clusters","type":"string","jsonPath":".status.clusterNames","description":"Clusters it is placed on"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.outcome","description":"Placed, PartiallyPlaced or Unschedulable"}"#,
    printcolumn = r#"{"name":"Sync","type":"string","jsonPath":".status.sync","description":"The copies' state, the worst over the clusters: Ready, Progressing, Pending, Deleting or Error"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Strategy","type":"string","jsonPath":".spec.strategy","priority":1,"description":"How clusters are chosen"}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.message","priority":1,"description":"The outcome in words"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSpec {
    /// The placed workload.
    pub workload: WorkloadReference,
    /// Name of the governing WorkloadPlacement, or `(default)` for the default placement.
    pub policy: String,
    /// The policy's strategy.
    pub strategy: String,
    /// Number of clusters the policy wants.
    pub wanted: i32,
    /// Other policies that also matched the workload (the oldest wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicting_policies: Vec<String>,
}

/// A workload, by kind and name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadReference {
    /// API version of the workload, e.g. `apps/v1`.
    pub api_version: String,
    /// Kind of the workload, e.g. `Deployment`.
    pub kind: String,
    /// Name of the workload.
    pub name: String,
    /// Namespace of the workload (the placement's own).
    pub namespace: String,
    /// `Kind/name`, for tables.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// Where the workload is, and the verdict on every candidate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStatus {
    /// Placed, PartiallyPlaced or Unschedulable.
    pub outcome: String,
    /// The outcome in words (why nothing fits, when nothing does).
    pub message: String,
    /// The chosen clusters, comma-separated registration names (for tables).
    pub cluster_names: String,
    /// The chosen clusters and TMC's state on each.
    #[serde(default)]
    pub clusters: Vec<PlacedCluster>,
    /// One verdict per candidate cluster.
    #[serde(default)]
    pub candidates: Vec<CandidateVerdict>,
    /// Whether the decision is recorded in kcp (on the workload's `tmc.kcp.io/placement`
    /// annotation) yet.
    pub recorded: bool,
    /// The copies' state over all chosen clusters, the worst of them: Ready,
    /// Progressing, Pending, Deleting or Error; empty when placed nowhere.
    #[serde(default)]
    pub sync: String,
}

/// One chosen cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacedCluster {
    /// ClusterRegistration name.
    pub name: String,
    /// Logical cluster holding the registration.
    pub workspace: String,
    /// The copy on this cluster: Pending (decided, not applied yet),
    /// Progressing (applied, not ready yet), Ready, Error (the message says
    /// why; TMC retries) or Deleting.
    pub state: String,
    /// The state in words, when there is more to say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Why a candidate cluster was chosen or not.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CandidateVerdict {
    /// ClusterRegistration name.
    pub cluster: String,
    /// Logical cluster holding the registration.
    pub workspace: String,
    /// Selected, Eligible (passed every rule, not chosen) or Rejected.
    pub verdict: String,
    /// For a rejected cluster, the rule that rejected it (e.g. NotReady, Cordoned,
    /// LocationMismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The verdict in words.
    pub reason: String,
    /// For an eligible cluster, its total score (higher is better).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
}
