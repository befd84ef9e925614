//! Tests of the generated kcp objects: structural schemas, naming, determinism.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::{json, Value};

use super::*;
use crate::api::{GROUP, VERSION};

fn def(plural: &str) -> ResourceDefinition {
    definitions()
        .into_iter()
        .chain(view_definitions())
        .find(|d| d.names.plural == plural)
        .unwrap()
}

/// The schema node at `path` (dot-separated property names, `[]` for array items).
fn at<'a>(schema: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(schema, |node, segment| {
        let (name, items) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let node = &node["properties"][name];
        let node = if items { &node["items"] } else { node };
        assert!(!node.is_null(), "no schema at {path} (segment {segment})");
        node
    })
}

#[test]
fn every_schema_is_structural() {
    for d in definitions() {
        let violations = lint::violations(&d.schema);
        assert!(violations.is_empty(), "{}: {violations:#?}", d.names.plural);
    }
}

#[test]
fn every_schema_is_a_valid_json_schema_props() {
    // What kcp decodes the raw schema into; an unknown or mistyped field fails here.
    for d in definitions() {
        let props: Result<JSONSchemaProps, _> = serde_json::from_value(d.schema.clone());
        assert!(props.is_ok(), "{}: {:?}", d.names.plural, props.err());
    }
}

#[test]
fn no_refs_anywhere() {
    for d in definitions() {
        let text = serde_json::to_string(&d.schema).unwrap();
        assert!(!text.contains("\"$ref\""), "{} has a $ref", d.names.plural);
        for key in ["components", "$defs", "definitions", "title", "$schema"] {
            assert!(d.schema.get(key).is_none(), "{} kept {key}", d.names.plural);
        }
    }
}

#[test]
fn int_or_string_and_quantity_are_structural() {
    let deploy = def("deployments").schema;
    let max_surge = at(&deploy, "spec.strategy.rollingUpdate.maxSurge");
    assert_eq!(max_surge["x-kubernetes-int-or-string"], true);
    assert_eq!(
        max_surge["anyOf"],
        json!([{"type": "integer"}, {"type": "string"}])
    );
    assert!(max_surge.get("pattern").is_none());
    let limits = at(&deploy, "spec.template.spec.containers[].resources.limits");
    let quantity = &limits["additionalProperties"];
    assert_eq!(quantity["x-kubernetes-int-or-string"], true);
    assert_eq!(
        quantity["anyOf"],
        json!([{"type": "integer"}, {"type": "string"}])
    );
    assert!(quantity["pattern"].as_str().unwrap().starts_with("^(\\+|-)?"));

    let svc = def("services").schema;
    let target_port = at(&svc, "spec.ports[].targetPort");
    assert_eq!(target_port["x-kubernetes-int-or-string"], true);

    let cr = def("clusterregistrations").schema;
    assert_eq!(
        at(&cr, "status.capacity")["additionalProperties"]["x-kubernetes-int-or-string"],
        true
    );
}

#[test]
fn root_metadata_is_bare_and_nested_metadata_is_typed() {
    for d in definitions() {
        assert_eq!(d.schema["properties"]["metadata"], json!({"type": "object"}));
        assert_eq!(d.schema["properties"]["apiVersion"]["type"], "string");
        assert_eq!(d.schema["properties"]["kind"]["type"], "string");
        let required = d.schema["required"].as_array().cloned().unwrap_or_default();
        assert!(!required.contains(&json!("metadata")), "{}", d.names.plural);
    }
    let deploy = def("deployments").schema;
    let labels = at(&deploy, "spec.template.metadata.labels");
    assert_eq!(labels["type"], "object");
    assert_eq!(labels["additionalProperties"]["type"], "string");
    // FieldsV1 is free-form JSON: kept, not pruned.
    let fields = at(&deploy, "spec.template.metadata.managedFields[].fieldsV1");
    assert_eq!(fields["x-kubernetes-preserve-unknown-fields"], true);
}

#[test]
fn workload_schemas_come_from_the_kubernetes_types() {
    let deploy = def("deployments").schema;
    assert!(deploy["description"]
        .as_str()
        .unwrap()
        .starts_with("Deployment enables declarative updates"));
    let containers = at(&deploy, "spec.template.spec.containers");
    assert_eq!(containers["type"], "array");
    assert!(containers["items"]["required"]
        .as_array()
        .unwrap()
        .contains(&json!("name")));
    assert_eq!(at(&deploy, "spec.replicas")["format"], "int32");
    assert_eq!(
        at(&deploy, "status.conditions[].lastUpdateTime")["format"],
        "date-time"
    );
    assert_eq!(at(&deploy, "spec.selector")["type"], "object");
    let svc = def("services").schema;
    assert_eq!(
        at(&svc, "spec.selector")["additionalProperties"]["type"],
        "string"
    );
}

#[test]
fn tmc_schemas_keep_docs_defaults_and_list_types() {
    let cr = def("clusterregistrations");
    assert_eq!(cr.scope, "Cluster");
    assert_eq!(cr.names.list_kind.as_deref(), Some("ClusterRegistrationList"));
    let s = &cr.schema;
    assert_eq!(s["required"], json!(["spec"]));
    assert!(at(s, "spec.location")["description"]
        .as_str()
        .unwrap()
        .contains("location"));
    assert_eq!(at(s, "spec.unschedulable")["default"], false);
    assert_eq!(at(s, "spec.kubeconfigSecretRef.key")["default"], "kubeconfig");
    assert_eq!(
        at(s, "status.conditions")["x-kubernetes-list-map-keys"],
        json!(["type"])
    );
    assert_eq!(
        at(s, "status.conditions[].status")["enum"],
        json!(["True", "False", "Unknown"])
    );
    assert_eq!(at(s, "status.lastHeartbeat")["format"], "date-time");
    assert!(at(s, "status.connectedAPIs[].resource").is_object());

    let wp = def("workloadplacements");
    let s = &wp.schema;
    assert_eq!(
        at(s, "spec.strategy")["enum"],
        json!(["RoundRobin", "Affinity", "Spread"])
    );
    assert_eq!(at(s, "spec.strategy")["default"], "RoundRobin");
    assert_eq!(at(s, "spec.numberOfClusters")["default"], 1);
    assert_eq!(at(s, "spec.numberOfClusters")["minimum"], 1);
    assert_eq!(at(s, "spec.locationSelector.matchLabels")["type"], "object");
    assert_eq!(at(s, "status.selectedClusters")["x-kubernetes-list-type"], "set");
}

#[test]
fn every_field_is_documented() {
    fn walk(node: &Value, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = node["properties"].as_object() {
            for (name, prop) in props {
                let p = format!("{path}.{name}");
                if name != "metadata" && prop.get("description").is_none() {
                    missing.push(p.clone());
                }
                walk(prop, &p, missing);
                walk(&prop["items"], &format!("{p}[]"), missing);
            }
        }
    }
    // The views too: the API reference (docs/reference/) shows every description.
    for plural in [
        "clusterregistrations",
        "workloadplacements",
        "placements",
        "sharedclusters",
    ] {
        let mut missing = Vec::new();
        walk(&def(plural).schema, plural, &mut missing);
        assert!(missing.is_empty(), "undocumented fields: {missing:#?}");
    }
}

#[test]
fn schema_names_are_content_addressed() {
    let cr = def("clusterregistrations");
    let name = schema_name(&cr);
    let (prefix, rest) = name.split_once('.').unwrap();
    assert_eq!(rest, "clusterregistrations.tmc.kcp.io");
    assert_eq!(prefix.len(), 9);
    assert!(prefix.starts_with('v'));
    assert!(prefix[1..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert!(schema_name(&def("services")).ends_with(".services.core"));
    assert!(schema_name(&def("deployments")).ends_with(".deployments.apps"));

    let mut changed = cr.clone();
    changed.printer_columns.pop();
    assert_ne!(
        schema_name(&changed),
        name,
        "any spec change must rename the schema"
    );
}

#[test]
fn exports_reference_the_generated_schemas() {
    let defs = definitions();
    let tmc = api_export(TMC_EXPORT, &defs);
    assert_eq!(tmc["apiVersion"], "apis.kcp.io/v1alpha2");
    assert_eq!(tmc["metadata"]["name"], "tmc.kcp.io");
    let resources = tmc["spec"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    assert_eq!(resources[0]["name"], "clusterregistrations");
    assert_eq!(resources[0]["group"], GROUP);
    assert_eq!(resources[0]["schema"], schema_name(&defs[0]));
    assert_eq!(resources[0]["storage"], json!({"crd": {}}));
    assert_eq!(
        tmc["spec"]["permissionClaims"],
        json!([{"group": "", "resource": "secrets", "verbs": ["get", "list", "watch"]}])
    );

    let kube = api_export(WORKLOAD_EXPORT, &defs);
    let resources: Vec<(&str, &str)> = kube["spec"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["group"].as_str().unwrap(), r["name"].as_str().unwrap()))
        .collect();
    assert_eq!(resources, [("apps", "deployments"), ("", "services")]);
    let claimed: Vec<&str> = kube["spec"]["permissionClaims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resource"].as_str().unwrap())
        .collect();
    assert_eq!(claimed, ["configmaps", "namespaces", "secrets"]);
}

#[test]
fn api_resource_schema_shape() {
    let d = def("deployments");
    let obj = api_resource_schema(&d);
    assert_eq!(obj["apiVersion"], "apis.kcp.io/v1alpha1");
    assert_eq!(obj["kind"], "APIResourceSchema");
    let spec = &obj["spec"];
    assert_eq!(spec["group"], "apps");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["shortNames"], json!(["deploy"]));
    assert_eq!(spec["names"]["categories"], json!(["all"]));
    assert_eq!(spec["names"]["listKind"], "DeploymentList");
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1");
    assert_eq!(version["served"], true);
    assert_eq!(version["storage"], true);
    assert_eq!(version["subresources"]["status"], json!({}));
    assert_eq!(
        version["subresources"]["scale"]["specReplicasPath"],
        ".spec.replicas"
    );
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(&columns[..4], ["Ready", "Up-to-date", "Available", "Age"]);
    assert_eq!(d.api_version(), "apps/v1");
    assert_eq!(def("services").api_version(), "v1");
    assert_eq!(
        def("workloadplacements").api_version(),
        format!("{GROUP}/{VERSION}")
    );
}

#[test]
fn render_is_deterministic_sorted_and_headed() {
    let files = render();
    assert_eq!(files, render());
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "apiexport-kubernetes.yaml",
            "apiexport-tmc.kcp.io.yaml",
            "apiresourceschema-clusterregistrations.tmc.kcp.io.yaml",
            "apiresourceschema-deployments.apps.yaml",
            "apiresourceschema-services.core.yaml",
            "apiresourceschema-workloadplacements.tmc.kcp.io.yaml",
        ]
    );
    for f in &files {
        assert!(f.contents.starts_with(HEADER), "{}", f.path);
        let parsed: Value = serde_yaml::from_str(&f.contents).unwrap();
        assert!(objects().contains(&parsed), "{} does not round-trip", f.path);
    }
}

#[test]
fn tmc_schemas_equal_kube_derive_crds_plus_documented_additions() {
    // Our pipeline must produce kube-derive's schema, plus only: apiVersion/kind/metadata at
    // the root, the anyOf (and Quantity pattern) on int-or-string nodes, and joined doc lines.
    fn strip_additions(node: &mut Value) {
        let Value::Object(obj) = node else { return };
        if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            obj.remove("anyOf");
            obj.remove("pattern");
        }
        structural::for_each_subschema(obj, strip_additions);
    }
    use kube::core::CustomResourceExt;
    let crds = [
        crate::api::ClusterRegistration::crd(),
        crate::api::WorkloadPlacement::crd(),
    ];
    for crd in crds {
        let version = &crd.spec.versions[0];
        let mut theirs = serde_json::to_value(&version.schema.as_ref().unwrap().open_api_v3_schema).unwrap();
        theirs.as_object_mut().unwrap().remove("title");
        structural::unwrap_doc_lines(&mut theirs);
        let mut ours = def(&crd.spec.names.plural).schema;
        let props = ours["properties"].as_object_mut().unwrap();
        for key in ["apiVersion", "kind", "metadata"] {
            props.remove(key);
        }
        strip_additions(&mut ours);
        // Compared as JSONSchemaProps: kube-derive's numbers went through f64 (`1.0`).
        let ours: JSONSchemaProps = serde_json::from_value(ours).unwrap();
        let theirs: JSONSchemaProps = serde_json::from_value(theirs).unwrap();
        assert!(
            ours == theirs,
            "{} differs from kube-derive's CRD schema",
            crd.spec.names.plural
        );
    }
}
