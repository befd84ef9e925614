//! OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/apis/{group}/{version}`), derived
//! from the served resources and the Rust types behind them.
//!
//! kubectl reads these for `explain`, for client-side validation and, crucially, to decide
//! whether the server supports server-side field validation (it looks for the
//! `fieldValidation` query parameter on the write operations). The documents therefore follow
//! what kube-apiserver 1.34 publishes for a cluster-scoped (or namespaced) CRD, as compared
//! against a live kube-apiserver: schema names, paths, operation ids, parameters, media types
//! and extensions; only operations for verbs tmc-server serves are listed.
//!
//! Everything here is a pure function of the resources, so a handler can render the documents
//! once at startup and serve the bytes with [`hash`] as their ETag.

mod params;
mod paths;
mod schemas;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

use crate::resources::ServedResource;

pub use schemas::{definition, has_status, schema_name};

/// Path of the discovery document, relative to the client's base URL.
pub const ROOT_PATH: &str = "/openapi/v3";

/// The `/openapi/v3` discovery document: one entry per served group-version, pointing at
/// its document with the document's [`hash`] in the query, as kube-apiserver does (clients
/// cache a group-version document by that URL, so the hash must change when the document
/// does).
///
/// `serverRelativeURL` is relative to the server's *base path* (client-go resolves it against
/// the client's configured URL), so it must not include `/services/tmc/clusters/{cluster}`.
pub fn root(resources: &[ServedResource]) -> Value {
    let paths: Map<String, Value> = group_versions(resources)
        .into_iter()
        .filter_map(|(group, version)| {
            let doc = group_version(resources, &group, &version)?;
            let key = key(&group, &version);
            let url = format!("{ROOT_PATH}/{key}?hash={}", hash(&doc));
            Some((key, json!({ "serverRelativeURL": url })))
        })
        .collect();
    json!({ "paths": paths })
}

/// The OpenAPI v3 document of one group-version (`""` is the core group), or `None` when no
/// served resource belongs to it.
///
/// Components hold each kind, its list kind (named as kube-apiserver names CRD schemas, e.g.
/// `io.kcp.tmc.v1alpha1.ClusterRegistration`) and the `meta/v1` types the operations use.
/// JSON object keys are sorted, so the rendering, and thus [`hash`], is stable.
pub fn group_version(resources: &[ServedResource], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&ServedResource> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut components = schemas::meta_schemas(group, version);
    let mut all_paths = Map::new();
    for r in served {
        components.insert(schema_name(group, version, &r.kind), schemas::object(r));
        components.insert(schema_name(group, version, &r.list_kind), schemas::list(r));
        all_paths.extend(paths::resource_paths(r));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "kcp-tmc", "version": env!("CARGO_PKG_VERSION")},
        "paths": all_paths,
        "components": {"schemas": components},
    }))
}

/// The document at `path` below [`ROOT_PATH`] (`apis/{group}/{version}` or `api/v1`,
/// without query), for routing `/openapi/v3/...`; `None` for anything not served.
pub fn document(resources: &[ServedResource], path: &str) -> Option<Value> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["apis", group, version] => group_version(resources, group, version),
        ["api", version] => group_version(resources, "", version),
        _ => None,
    }
}

/// The hash kube-apiserver puts in `serverRelativeURL` and the ETag of a group-version
/// document: uppercase hex SHA-512 of the document's compact JSON bytes (what
/// `serde_json::to_vec` produces, and what a handler must serve for the hash to name them).
pub fn hash(doc: &Value) -> String {
    let bytes = serde_json::to_vec(doc).expect("JSON values always serialize");
    hex_sha512(&bytes)
}

/// Uppercase hex SHA-512, kube-apiserver's digest for OpenAPI and discovery ETags.
pub(crate) fn hex_sha512(bytes: &[u8]) -> String {
    Sha512::digest(bytes).iter().map(|b| format!("{b:02X}")).collect()
}

/// `apis/{group}/{version}`, or `api/{version}` for the core group.
fn key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The served group-versions, in first-seen order.
fn group_versions(resources: &[ServedResource]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in resources {
        let gv = (r.group.clone(), r.version.clone());
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::served;

    #[test]
    fn root_points_at_each_group_version_with_its_hash() {
        let rs = served();
        let root = root(&rs);
        let doc = group_version(&rs, "tmc.kcp.io", "v1alpha1").unwrap();
        assert_eq!(
            root["paths"]["apis/tmc.kcp.io/v1alpha1"]["serverRelativeURL"],
            format!("/openapi/v3/apis/tmc.kcp.io/v1alpha1?hash={}", hash(&doc))
        );
        assert_eq!(root["paths"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn group_version_documents_have_kinds_and_paths() {
        let rs = served();
        let doc = group_version(&rs, "tmc.kcp.io", "v1alpha1").unwrap();
        assert_eq!(doc["openapi"], "3.0.0");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(schemas.contains_key("io.kcp.tmc.v1alpha1.WorkloadPlacementList"));
        assert!(doc["paths"]
            .as_object()
            .unwrap()
            .contains_key("/apis/tmc.kcp.io/v1alpha1/workloadplacements/{name}"));
        assert!(group_version(&rs, "tmc.kcp.io", "v1").is_none());
        assert!(group_version(&rs, "", "v1").is_none());
    }

    #[test]
    fn documents_are_found_by_path() {
        let rs = served();
        assert!(document(&rs, "apis/tmc.kcp.io/v1alpha1").is_some());
        assert!(document(&rs, "/apis/tmc.kcp.io/v1alpha1/").is_some());
        assert!(document(&rs, "apis/tmc.kcp.io").is_none());
        assert!(document(&rs, "api/v1").is_none());
    }

    #[test]
    fn hash_is_uppercase_sha512_of_the_compact_json() {
        let h = hash(&json!({"a": 1}));
        assert_eq!(h.len(), 128);
        assert!(h.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_eq!(h, hex_sha512(br#"{"a":1}"#));
        assert_ne!(h, hash(&json!({"a": 2})));
    }
}
