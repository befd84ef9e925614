//! `WorkloadPlacement`: a policy steering which clusters workloads land on (seed 000).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;

/// Desired placement policy: which workloads it applies to and how to choose clusters
/// for them.
// Printer columns use kube-derive's JSON form: the list form `printcolumn(name = ..)`
// repeated trips clippy's `duplicated_attributes` (it sees `type_ = "string"` twice).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "tmc.kcp.io",
    version = "v1alpha1",
    kind = "WorkloadPlacement",
    plural = "workloadplacements",
    singular = "workloadplacement",
    shortname = "wp",
    category = "kcp",
    status = "WorkloadPlacementStatus",
    derive = "PartialEq",
    doc = "WorkloadPlacement steers where TMC places the workloads of this workspace: it selects workloads and namespaces, filters clusters by location and capabilities, and chooses among them with a strategy. Workloads no policy selects get the default placement.",
    printcolumn = r#"{"name":"Strategy","type":"string","jsonPath":".spec.strategy","description":"How clusters are chosen"}"#,
    printcolumn = r#"{"name":"Clusters","type":"integer","jsonPath":".spec.numberOfClusters","description":"Number of clusters each workload is placed on"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the policy is valid and applied"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Selected","type":"string","jsonPath":".status.selectedClusters","priority":1,"description":"Clusters the policy currently selects"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPlacementSpec {
    /// How to choose among the eligible clusters: RoundRobin (balance by load), Affinity
    /// (keep a workload's replicas together, preferring clusters it already runs on) or
    /// Spread (one cluster per distinct location first).
    #[serde(default)]
    pub strategy: PlacementStrategy,

    /// Selects the workloads (by their labels) this policy applies to; all workloads
    /// in the selected namespaces when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_selector: Option<LabelSelector>,

    /// Selects the namespaces (by their labels) whose workloads this policy applies to;
    /// all namespaces when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,

    /// Selects eligible ClusterRegistrations by their labels; a cluster's spec.location
    /// is also matched as the label `tmc.kcp.io/location`. All clusters when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_selector: Option<LabelSelector>,

    /// Capabilities a cluster must (required) or should (preferred) offer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub capability_requirements: Vec<CapabilityRequirement>,

    /// Number of clusters each selected workload is placed on.
    #[serde(
        default = "default_number_of_clusters",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub number_of_clusters: Option<i32>,
}

/// Number of clusters a workload is placed on when the policy does not say.
pub const DEFAULT_NUMBER_OF_CLUSTERS: i32 = 1;

fn default_number_of_clusters() -> Option<i32> {
    Some(DEFAULT_NUMBER_OF_CLUSTERS)
}

impl WorkloadPlacementSpec {
    /// `numberOfClusters`, defaulted and clamped to at least 1 (the schema forbids
    /// smaller values, but objects built in Rust bypass it).
    pub fn clusters_wanted(&self) -> usize {
        let n = self
            .number_of_clusters
            .unwrap_or(DEFAULT_NUMBER_OF_CLUSTERS)
            .max(1);
        usize::try_from(n).unwrap_or(1)
    }
}

/// How a WorkloadPlacement chooses among eligible clusters.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum PlacementStrategy {
    /// Balance workloads across eligible clusters by load.
    #[default]
    RoundRobin,
    /// Prefer clusters the workload (or its namespace) already runs on.
    Affinity,
    /// Prefer distinct locations, then distinct clusters.
    Spread,
}

impl PlacementStrategy {
    /// The wire spelling, e.g. for Table cells and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "RoundRobin",
            Self::Affinity => "Affinity",
            Self::Spread => "Spread",
        }
    }
}

/// A capability a cluster must or should offer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityRequirement {
    /// Capability type, matched against ClusterRegistration spec.capabilities[].type.
    #[serde(rename = "type")]
    pub type_: String,

    /// If true, clusters without the available capability are not eligible; if false,
    /// clusters with it are preferred.
    #[serde(default)]
    pub required: bool,
}

/// Observed state of a WorkloadPlacement.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPlacementStatus {
    /// Latest observations; `Ready` tells whether the policy is valid and applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Names of the ClusterRegistrations the policy currently selects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub selected_clusters: Vec<String>,

    /// `metadata.generation` of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::CustomResourceExt;
    use serde_json::json;

    #[test]
    fn empty_spec_gets_defaults() {
        let wp: WorkloadPlacement = serde_json::from_value(json!({
            "apiVersion": "tmc.kcp.io/v1alpha1",
            "kind": "WorkloadPlacement",
            "metadata": {"name": "default"},
            "spec": {},
        }))
        .unwrap();
        assert_eq!(wp.spec.strategy, PlacementStrategy::RoundRobin);
        assert_eq!(wp.spec.number_of_clusters, Some(1));
        assert_eq!(wp.spec.clusters_wanted(), 1);
        assert!(wp.spec.location_selector.is_none());
    }

    #[test]
    fn clusters_wanted_clamps() {
        let spec = WorkloadPlacementSpec {
            number_of_clusters: Some(0),
            ..Default::default()
        };
        assert_eq!(spec.clusters_wanted(), 1);
        let spec = WorkloadPlacementSpec {
            number_of_clusters: None,
            ..Default::default()
        };
        assert_eq!(spec.clusters_wanted(), 1);
    }

    #[test]
    fn full_round_trip_keeps_wire_names() {
        let wire = json!({
            "apiVersion": "tmc.kcp.io/v1alpha1",
            "kind": "WorkloadPlacement",
            "metadata": {"name": "gpu"},
            "spec": {
                "strategy": "Spread",
                "workloadSelector": {"matchLabels": {"app": "web"}},
                "namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
                "locationSelector": {"matchLabels": {"tmc.kcp.io/location": "us-east"}},
                "capabilityRequirements": [{"type": "gpu", "required": true}],
                "numberOfClusters": 2,
            },
            "status": {
                "conditions": [{"type": "Ready", "status": "False", "message": "no cluster has gpu"}],
                "selectedClusters": ["east", "west"],
                "observedGeneration": 4,
            },
        });
        let wp: WorkloadPlacement = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(wp.spec.strategy, PlacementStrategy::Spread);
        assert_eq!(wp.spec.clusters_wanted(), 2);
        assert!(wp.spec.capability_requirements[0].required);
        assert_eq!(serde_json::to_value(&wp).unwrap(), wire);
    }

    #[test]
    fn unknown_strategy_is_rejected() {
        let err = serde_json::from_value::<WorkloadPlacementSpec>(json!({"strategy": "Random"}));
        assert!(err.is_err());
    }

    #[test]
    fn crd_names_and_columns() {
        let crd = WorkloadPlacement::crd();
        assert_eq!(crd.spec.scope, "Cluster");
        assert_eq!(crd.spec.names.short_names, Some(vec!["wp".to_owned()]));
        let columns: Vec<_> = crd.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.priority.unwrap_or(0)))
            .collect();
        assert_eq!(
            columns,
            [
                ("Strategy", 0),
                ("Clusters", 0),
                ("Ready", 0),
                ("Age", 0),
                ("Selected", 1)
            ]
        );
    }
}
