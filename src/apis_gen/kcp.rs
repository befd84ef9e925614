//! kcp `apis.kcp.io` objects: APIResourceSchema (v1alpha1), APIExport and APIBinding
//! (v1alpha2), with the fields of kcp v0.28's sdk types.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ResourceDefinition;
use crate::api::{TMC_EXPORT, WORKLOAD_EXPORT};

/// `apiVersion` of APIResourceSchema (kcp serves it only as v1alpha1).
pub const SCHEMA_API_VERSION: &str = "apis.kcp.io/v1alpha1";
/// `apiVersion` of APIExport and APIBinding.
pub const EXPORT_API_VERSION: &str = "apis.kcp.io/v1alpha2";

/// Read-only access: enough to watch a resource through the export's virtual workspace.
const READ: [&str; 3] = ["get", "list", "watch"];
/// Full access: sync creates and cleans up what a workload references.
const READ_WRITE: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];

/// A resource an APIExport asks bound workspaces to share with its provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionClaim {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// Resource (plural).
    pub resource: &'static str,
    /// Verbs the provider needs.
    pub verbs: &'static [&'static str],
}

impl PermissionClaim {
    /// The claim as it appears in `APIExport.spec.permissionClaims`.
    pub fn to_json(&self) -> Value {
        json!({"group": self.group, "resource": self.resource, "verbs": self.verbs})
    }
}

/// The permission claims of the export named `export`; empty for an unknown export.
///
/// Each claim sits on the export whose virtual workspace needs it: an APIExport's virtual
/// workspace serves only what that export exports or claims.
pub fn permission_claims(export: &str) -> Vec<PermissionClaim> {
    let core = |resource, verbs| PermissionClaim {
        group: "",
        resource,
        verbs,
    };
    match export {
        // Registration reads the physical clusters' kubeconfig Secrets.
        TMC_EXPORT => vec![core("secrets", &READ)],
        // Sync reads and writes what a workload references.
        WORKLOAD_EXPORT => vec![
            core("configmaps", &READ_WRITE),
            core("namespaces", &READ_WRITE),
            core("secrets", &READ_WRITE),
        ],
        _ => Vec::new(),
    }
}

/// The `spec` of the APIResourceSchema for `def` (everything kcp treats as immutable).
pub fn schema_spec(def: &ResourceDefinition) -> Value {
    let mut version = json!({
        "name": def.version,
        "served": true,
        "storage": true,
        "schema": def.schema,
    });
    if let Some(subresources) = &def.subresources {
        version["subresources"] = to_json(subresources);
    }
    if !def.printer_columns.is_empty() {
        version["additionalPrinterColumns"] = to_json(&def.printer_columns);
    }
    json!({
        "group": def.group,
        "names": to_json(&def.names),
        "scope": def.scope,
        "versions": [version],
    })
}

/// Name of the APIResourceSchema for `def`: `v<hash>.<plural>.<group>` (group `core` for
/// the core group, as kcp requires).
///
/// APIResourceSchemas are immutable, so the prefix is derived from the content: any change
/// to the schema, names or columns yields a new object instead of a rejected update, and
/// the APIExport switches to it.
pub fn schema_name(def: &ResourceDefinition) -> String {
    let spec = serde_json::to_vec(&schema_spec(def)).expect("JSON values serialize");
    let digest = Sha256::digest(&spec);
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let group = if def.group.is_empty() { "core" } else { &def.group };
    format!("v{hex}.{}.{group}", def.names.plural)
}

/// The APIResourceSchema object for `def`.
pub fn api_resource_schema(def: &ResourceDefinition) -> Value {
    json!({
        "apiVersion": SCHEMA_API_VERSION,
        "kind": "APIResourceSchema",
        "metadata": {"name": schema_name(def)},
        "spec": schema_spec(def),
    })
}

/// The APIExport named `export`, serving `defs` (those whose `export` is `export`) with
/// CRD storage and carrying the export's permission claims.
pub fn api_export(export: &str, defs: &[ResourceDefinition]) -> Value {
    let resources: Vec<Value> = defs
        .iter()
        .filter(|d| d.export == export)
        .map(|d| {
            json!({
                "name": d.names.plural,
                "group": d.group,
                "schema": schema_name(d),
                "storage": {"crd": {}},
            })
        })
        .collect();
    let claims: Vec<Value> = permission_claims(export)
        .iter()
        .map(PermissionClaim::to_json)
        .collect();
    let mut spec = json!({"resources": resources});
    if !claims.is_empty() {
        spec["permissionClaims"] = Value::Array(claims);
    }
    json!({
        "apiVersion": EXPORT_API_VERSION,
        "kind": "APIExport",
        "metadata": {"name": export},
        "spec": spec,
    })
}

/// An APIBinding named `export_name` that binds the APIExport `export_name` in the
/// workspace `export_path` (e.g. `root:tmc`) and accepts every permission claim of that
/// export exactly (same group, resource and verbs, `selector: {matchAll: true}`).
///
/// A claim that is not accepted verbatim stays pending and the provider's virtual workspace
/// would not see the claimed objects, so the binding is generated from the same table as the
/// export. An unknown export yields a binding without claims.
pub fn binding(export_name: &str, export_path: &str) -> Value {
    let claims: Vec<Value> = permission_claims(export_name)
        .iter()
        .map(|c| {
            let mut claim = c.to_json();
            claim["selector"] = json!({"matchAll": true});
            claim["state"] = json!("Accepted");
            claim
        })
        .collect();
    let mut spec = json!({
        "reference": {"export": {"path": export_path, "name": export_name}},
    });
    if !claims.is_empty() {
        spec["permissionClaims"] = Value::Array(claims);
    }
    json!({
        "apiVersion": EXPORT_API_VERSION,
        "kind": "APIBinding",
        "metadata": {"name": export_name},
        "spec": spec,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("k8s-openapi types serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_accepts_every_claim_of_its_export() {
        let b = binding(WORKLOAD_EXPORT, "root:tmc");
        assert_eq!(b["apiVersion"], EXPORT_API_VERSION);
        assert_eq!(b["kind"], "APIBinding");
        assert_eq!(b["metadata"]["name"], WORKLOAD_EXPORT);
        assert_eq!(
            b["spec"]["reference"],
            json!({"export": {"path": "root:tmc", "name": "kubernetes"}})
        );
        let claims = b["spec"]["permissionClaims"].as_array().unwrap();
        let expected = permission_claims(WORKLOAD_EXPORT);
        assert_eq!(claims.len(), expected.len());
        for (claim, want) in claims.iter().zip(&expected) {
            assert_eq!(claim["group"], want.group);
            assert_eq!(claim["resource"], want.resource);
            assert_eq!(claim["verbs"], json!(want.verbs));
            assert_eq!(claim["selector"], json!({"matchAll": true}));
            assert_eq!(claim["state"], "Accepted");
        }
    }

    #[test]
    fn tmc_binding_claims_secrets_read_only() {
        let b = binding(TMC_EXPORT, "root:tmc");
        assert_eq!(
            b["spec"]["permissionClaims"],
            json!([{"group": "", "resource": "secrets", "verbs": ["get", "list", "watch"],
                    "selector": {"matchAll": true}, "state": "Accepted"}])
        );
    }

    #[test]
    fn unknown_export_binds_without_claims() {
        let b = binding("other", "root:x");
        assert!(b["spec"].get("permissionClaims").is_none());
        assert_eq!(b["spec"]["reference"]["export"]["name"], "other");
    }
}
