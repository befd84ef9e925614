//! The `tmc.kcp.io/v1alpha1` API: `ClusterRegistration` and `WorkloadPlacement`.
//!
//! These Rust types are the single source of truth for the API: `apis_gen` turns them into
//! the kcp APIResourceSchemas/APIExport in `apis/`, and the server derives discovery, Table
//! columns and OpenAPI from the same definitions. Field names and semantics follow seed 000.
//! Both kinds are cluster-scoped: one logical cluster (workspace) is the unit of tenancy.

mod cluster_registration;
mod conditions;
mod placement;
mod shared_cluster;
mod workload_placement;

pub use cluster_registration::{
    APIBindingReference, ClusterCapability, ClusterRegistration, ClusterRegistrationSpec,
    ClusterRegistrationStatus, ConnectedAPI, SecretRef, DEFAULT_KUBECONFIG_KEY,
};
pub use conditions::{
    condition_status, find_condition, is_condition_true, set_condition, Condition, ConditionStatus, READY,
};
pub use placement::{
    CandidateVerdict, PlacedCluster, Placement, PlacementSpec, PlacementStatus, WorkloadReference,
};
pub use shared_cluster::{SharedCluster, SharedClusterSpec};
pub use workload_placement::{
    CapabilityRequirement, PlacementStrategy, WorkloadPlacement, WorkloadPlacementSpec,
    WorkloadPlacementStatus, DEFAULT_NUMBER_OF_CLUSTERS,
};

/// API group of the TMC kinds.
pub const GROUP: &str = "tmc.kcp.io";

/// API version of the TMC kinds.
pub const VERSION: &str = "v1alpha1";

/// `apiVersion` of the TMC kinds, `GROUP/VERSION`.
pub const API_VERSION: &str = "tmc.kcp.io/v1alpha1";

/// Name of the APIExport serving `ClusterRegistration` and `WorkloadPlacement`.
pub const TMC_EXPORT: &str = "tmc.kcp.io";

/// Name of the APIExport serving the workload kinds (Deployments, Services) in tenant
/// workspaces; old TMC called it `kubernetes` too, so existing bindings keep working.
pub const WORKLOAD_EXPORT: &str = "kubernetes";

/// Label under which a cluster's `spec.location` is visible to a WorkloadPlacement's
/// `locationSelector`, so one selector grammar covers labels and locations.
pub const LOCATION_LABEL: &str = "tmc.kcp.io/location";

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Resource;

    #[test]
    fn api_version_matches_group_and_version() {
        assert_eq!(API_VERSION, format!("{GROUP}/{VERSION}"));
        assert_eq!(ClusterRegistration::api_version(&()), API_VERSION);
        assert_eq!(WorkloadPlacement::api_version(&()), API_VERSION);
    }
}
