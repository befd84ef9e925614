//! The resources tmc-server serves, described once and derived from the Rust
//! API types (through the CustomResourceDefinition kube-derive generates), so
//! discovery, the kcp watchers and Table columns can never disagree.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition,
};
use kube::CustomResourceExt;

use crate::api::{ClusterRegistration, Placement, SharedCluster, WorkloadPlacement};
use crate::index::GroupResource;

/// One column of `kubectl get` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintColumn {
    pub name: String,
    /// OpenAPI type of the cell: string, integer, number, boolean or date.
    pub type_: String,
    pub format: String,
    pub description: String,
    /// 0 = shown by default, >0 = only with `-o wide`.
    pub priority: i32,
    /// A kubectl-style JSONPath, e.g. `.spec.location`.
    pub json_path: String,
}

/// A resource tmc-server serves, with everything discovery and Tables need.
#[derive(Clone, Debug)]
pub struct ServedResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub print_columns: Vec<PrintColumn>,
    /// Stored in kcp (watched, writes forwarded); false for views tmc-server
    /// synthesizes.
    pub stored_in_kcp: bool,
}

impl ServedResource {
    /// Describes the storage version of a CRD.
    pub fn from_crd(crd: &CustomResourceDefinition, verbs: &[&str]) -> Self {
        let spec = &crd.spec;
        let version = spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| spec.versions.first())
            .expect("a CRD has at least one version");
        let names = &spec.names;
        let mut print_columns: Vec<PrintColumn> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(column)
            .collect();
        // kube-apiserver puts NAME first for every resource; custom columns follow.
        print_columns.insert(
            0,
            PrintColumn {
                name: "Name".into(),
                type_: "string".into(),
                format: "name".into(),
                description: "Name must be unique within a namespace.".into(),
                priority: 0,
                json_path: ".metadata.name".into(),
            },
        );
        if !print_columns.iter().any(|c| c.name.eq_ignore_ascii_case("age")) {
            print_columns.push(PrintColumn {
                name: "Age".into(),
                type_: "date".into(),
                format: String::new(),
                description: "Time since the object was created.".into(),
                priority: 0,
                json_path: ".metadata.creationTimestamp".into(),
            });
        }
        Self {
            group: spec.group.clone(),
            version: version.name.clone(),
            kind: names.kind.clone(),
            list_kind: names
                .list_kind
                .clone()
                .unwrap_or_else(|| format!("{}List", names.kind)),
            plural: names.plural.clone(),
            singular: names
                .singular
                .clone()
                .unwrap_or_else(|| names.kind.to_lowercase()),
            short_names: names.short_names.clone().unwrap_or_default(),
            categories: names.categories.clone().unwrap_or_default(),
            namespaced: spec.scope == "Namespaced",
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            print_columns,
            // Anything writable is kcp's: tmc-server stores nothing.
            stored_in_kcp: verbs.contains(&"create"),
        }
    }

    pub fn group_resource(&self) -> GroupResource {
        GroupResource::new(&self.group, &self.plural)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kube-rs description used to watch this resource in kcp.
    pub fn api_resource(&self) -> kube::discovery::ApiResource {
        kube::discovery::ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }
}

fn column(c: &CustomResourceColumnDefinition) -> PrintColumn {
    PrintColumn {
        name: c.name.clone(),
        type_: c.type_.clone(),
        format: c.format.clone().unwrap_or_default(),
        description: c.description.clone().unwrap_or_default(),
        priority: c.priority.unwrap_or(0),
        json_path: c.json_path.clone(),
    }
}

/// Verbs of a tmc.kcp.io resource as clients see them through tmc-server:
/// reads are served from the index, writes are forwarded to kcp.
pub const KCP_STORED_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

/// The verbs of a view tmc-server synthesizes: read-only (writes get 405).
pub const VIEW_VERBS: &[&str] = &["get", "list", "watch"];

/// Every resource tmc-server serves, in discovery order: the kinds stored in
/// kcp, then the views.
pub fn served() -> Vec<ServedResource> {
    vec![
        ServedResource::from_crd(&ClusterRegistration::crd(), KCP_STORED_VERBS),
        ServedResource::from_crd(&WorkloadPlacement::crd(), KCP_STORED_VERBS),
        ServedResource::from_crd(&Placement::crd(), VIEW_VERBS),
        ServedResource::from_crd(&SharedCluster::crd(), VIEW_VERBS),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_registrations_are_described_from_the_types() {
        let all = served();
        let cr = all.iter().find(|r| r.plural == "clusterregistrations").unwrap();
        assert_eq!(cr.group, "tmc.kcp.io");
        assert_eq!(cr.version, "v1alpha1");
        assert_eq!(cr.kind, "ClusterRegistration");
        assert_eq!(cr.list_kind, "ClusterRegistrationList");
        assert_eq!(cr.short_names, ["cr"]);
        assert!(cr.categories.contains(&"kcp".to_owned()));
        assert!(!cr.namespaced);
        assert_eq!(cr.print_columns[0].json_path, ".metadata.name");
        assert!(cr.print_columns.iter().any(|c| c.json_path == ".spec.location"));
        let wp = all.iter().find(|r| r.plural == "workloadplacements").unwrap();
        assert_eq!(wp.short_names, ["wp"]);
    }
}
