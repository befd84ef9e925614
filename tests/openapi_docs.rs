//! Whole-document checks of the OpenAPI v3 and aggregated discovery documents tmc-server
//! serves: that they are internally consistent (every `$ref` and GVK resolves), list exactly
//! the operations the served verbs allow (kubectl enables server-side field validation only
//! when it finds `fieldValidation` on them), and render identically every time (their hashes
//! are cache keys and ETags).

use std::collections::BTreeSet;

use kcp_tmc::resources::{served, ServedResource};
use kcp_tmc::server::discovery::{self, DiscoveryFormat};
use kcp_tmc::server::openapi;
use serde_json::Value;

const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];
const METHODS: [&str; 4] = ["post", "put", "patch", "delete"];

/// The served resources with every verb, as they will be once writes are served.
fn writable() -> Vec<ServedResource> {
    let mut rs = served();
    for r in &mut rs {
        r.verbs = kcp_tmc::resources::KCP_STORED_VERBS
            .iter()
            .map(|v| v.to_string())
            .collect();
    }
    rs
}

/// Read-only views: no write verb at all.
fn read_only() -> Vec<ServedResource> {
    let mut rs = served();
    for r in &mut rs {
        r.verbs.retain(|v| !WRITE_VERBS.contains(&v.as_str()));
    }
    rs
}

/// Every group-version document of `resources`, with its root key.
fn documents(resources: &[ServedResource]) -> Vec<(String, Value)> {
    let gvs: BTreeSet<(String, String)> = resources
        .iter()
        .map(|r| (r.group.clone(), r.version.clone()))
        .collect();
    gvs.into_iter()
        .map(|(g, v)| {
            let doc =
                openapi::group_version(resources, &g, &v).expect("served group-versions have a document");
            (format!("apis/{g}/{v}"), doc)
        })
        .collect()
}

/// Every operation of a document: (path, method, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method != "parameters" {
                out.push((path.as_str(), method.as_str(), op));
            }
        }
    }
    out
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn param_names(op: &Value) -> Vec<&str> {
    op["parameters"]
        .as_array()
        .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn every_served_resource_is_in_root_and_its_group_version_document() {
    for resources in [served(), read_only(), writable()] {
        let root = openapi::root(&resources);
        for r in &resources {
            let key = format!("apis/{}/{}", r.group, r.version);
            let url = root["paths"][&key]["serverRelativeURL"].as_str().unwrap();
            assert!(url.starts_with(&format!("/openapi/v3/{key}?hash=")), "{url}");
            assert!(
                !url.contains("/services/"),
                "serverRelativeURL must be relative to the base path"
            );

            let doc = openapi::group_version(&resources, &r.group, &r.version).unwrap();
            let schemas = doc["components"]["schemas"].as_object().unwrap();
            assert!(schemas.contains_key(&openapi::schema_name(&r.group, &r.version, &r.kind)));
            assert!(schemas.contains_key(&openapi::schema_name(&r.group, &r.version, &r.list_kind)));
            let collection = if r.namespaced {
                format!(
                    "/apis/{}/{}/namespaces/{{namespace}}/{}",
                    r.group, r.version, r.plural
                )
            } else {
                format!("/apis/{}/{}/{}", r.group, r.version, r.plural)
            };
            assert_eq!(doc["paths"][&collection]["get"]["x-kubernetes-action"], "list");
            assert_eq!(
                doc["paths"][format!("{collection}/{{name}}")]["get"]["x-kubernetes-action"],
                "get"
            );
            // Views have no subresources; stored kinds have status.
            let status = &doc["paths"][format!("{collection}/{{name}}/status")];
            if r.stored_in_kcp {
                assert_eq!(status["get"]["x-kubernetes-action"], "get");
            } else {
                assert!(status.is_null(), "{}: {status}", r.plural);
            }
        }
    }
}

#[test]
fn every_reference_resolves() {
    for resources in [served(), read_only(), writable()] {
        for (key, doc) in documents(&resources) {
            let schemas = doc["components"]["schemas"].as_object().unwrap();
            let mut refs = Vec::new();
            collect_refs(&doc, &mut refs);
            assert!(!refs.is_empty());
            for r in refs {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("{key}: {r}"));
                assert!(schemas.contains_key(name), "{key}: $ref {r} has no schema");
            }
        }
    }
}

#[test]
fn every_kind_in_paths_has_a_schema_declaring_it() {
    for (key, doc) in documents(&writable()) {
        let declared: BTreeSet<String> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|gvk| gvk.to_string())
            .collect();
        let mut ids = BTreeSet::new();
        for (path, method, op) in operations(&doc) {
            let gvk = &op["x-kubernetes-group-version-kind"];
            assert!(
                declared.contains(&gvk.to_string()),
                "{key} {method} {path}: no schema for {gvk}"
            );
            assert!(op["x-kubernetes-action"].is_string(), "{path} {method}");
            assert!(
                ids.insert(op["operationId"].as_str().unwrap()),
                "duplicate operationId"
            );
        }
    }
}

#[test]
fn writable_resources_advertise_field_validation() {
    let resources = writable();
    for (_, doc) in documents(&resources) {
        let ops = operations(&doc);
        for method in ["post", "put", "patch"] {
            let with_method: Vec<_> = ops.iter().filter(|(_, m, _)| *m == method).collect();
            assert!(!with_method.is_empty(), "no {method} operation");
            for (path, _, op) in with_method {
                assert!(param_names(op).contains(&"fieldValidation"), "{method} {path}");
                assert!(param_names(op).contains(&"fieldManager"), "{method} {path}");
            }
        }
        let patch_types: Vec<&String> = ops
            .iter()
            .find(|(_, m, _)| *m == "patch")
            .map(|(_, _, op)| op["requestBody"]["content"].as_object().unwrap().keys().collect())
            .unwrap();
        assert_eq!(
            patch_types,
            [
                "application/apply-patch+yaml",
                "application/json-patch+json",
                "application/merge-patch+json"
            ]
        );
        let actions: BTreeSet<&str> = ops
            .iter()
            .map(|(_, _, op)| op["x-kubernetes-action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            BTreeSet::from([
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "post",
                "put"
            ])
        );
    }
}

#[test]
fn read_only_resources_have_no_write_operations() {
    for (_, doc) in documents(&read_only()) {
        let ops = operations(&doc);
        assert!(!ops.is_empty());
        for (path, method, op) in ops {
            assert!(
                !METHODS.contains(&method),
                "{method} {path} on a read-only resource"
            );
            assert!(!param_names(op).contains(&"fieldValidation"), "{path}");
        }
    }
}

#[test]
fn renders_and_hashes_are_stable() {
    for resources in [served(), read_only(), writable()] {
        assert_eq!(openapi::root(&resources), openapi::root(&resources));
        for (key, doc) in documents(&resources) {
            let again = openapi::document(&resources, &key).unwrap();
            assert_eq!(
                serde_json::to_vec(&doc).unwrap(),
                serde_json::to_vec(&again).unwrap()
            );
            assert_eq!(openapi::hash(&doc), openapi::hash(&again));
        }
        let a = serde_json::to_vec(&discovery::aggregated(&resources)).unwrap();
        let b = serde_json::to_vec(&discovery::aggregated(&resources)).unwrap();
        assert_eq!(discovery::etag(&a), discovery::etag(&b));
    }
    // A change in the served operations changes the document, so cached copies are dropped.
    assert_ne!(openapi::root(&read_only()), openapi::root(&writable()));
}

#[test]
fn aggregated_discovery_has_a_response_kind_everywhere() {
    for resources in [served(), read_only(), writable()] {
        let doc = discovery::aggregated(&resources);
        let mut seen = 0;
        for group in doc["items"].as_array().unwrap() {
            for version in group["versions"].as_array().unwrap() {
                assert_eq!(version["freshness"], "Current");
                for resource in version["resources"].as_array().unwrap() {
                    seen += 1;
                    let kind = &resource["responseKind"];
                    assert!(
                        kind["kind"].is_string() && kind["group"].is_string() && kind["version"].is_string()
                    );
                    for sub in resource["subresources"].as_array().into_iter().flatten() {
                        assert!(sub["responseKind"]["kind"].is_string(), "{sub}");
                    }
                }
            }
        }
        assert_eq!(seen, resources.len());
        assert_eq!(
            discovery::aggregated_core(&resources)["items"],
            serde_json::json!([])
        );
    }
}

#[test]
fn kubectl_gets_aggregated_discovery() {
    let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    assert_eq!(discovery::negotiate(Some(kubectl)), DiscoveryFormat::AggregatedV2);
    assert_eq!(
        discovery::negotiate(Some("application/json")),
        DiscoveryFormat::Legacy
    );
    assert_eq!(
        discovery::content_type(DiscoveryFormat::AggregatedV2),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
}
