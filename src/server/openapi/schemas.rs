//! `components.schemas` of a group-version document: the served kinds (from the same
//! [`ResourceDefinition`]s that generate `apis/`) and the `meta/v1` types their operations
//! reference (from k8s-openapi's schemars impls).

use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    DeleteOptions, ListMeta, ObjectMeta, Patch, Status, WatchEvent,
};
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use crate::apis_gen::{self, ResourceDefinition};
use crate::resources::ServedResource;

/// Prefix of every `$ref` in an OpenAPI v3 document.
pub const REF_PREFIX: &str = "#/components/schemas/";

/// Name of a `meta/v1` schema, as k8s-openapi (and kube-apiserver) call it.
pub fn meta(kind: &str) -> String {
    format!("io.k8s.apimachinery.pkg.apis.meta.v1.{kind}")
}

/// A `$ref` to the schema named `name`.
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

/// The schema name kube-apiserver gives a CRD kind (`util.ToRESTFriendlyName` of
/// `group/version/kind`): the group's DNS labels reversed, then version and kind, e.g.
/// `io.kcp.tmc.v1alpha1.ClusterRegistration`. Matching it keeps `kubectl explain` output and
/// client caches keyed by schema name identical to what kcp serves for the same resource.
pub fn schema_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).rev().collect();
    parts.push(version);
    parts.push(kind);
    parts.join(".")
}

/// The [`ResourceDefinition`] a served resource was derived from, if any.
///
/// [`apis_gen::definitions`] regenerates every schema (the Deployment one is large), so it is
/// computed once per process; it is a pure function of the compiled-in types.
pub fn definition(r: &ServedResource) -> Option<&'static ResourceDefinition> {
    static DEFINITIONS: OnceLock<Vec<ResourceDefinition>> = OnceLock::new();
    DEFINITIONS
        .get_or_init(|| {
            let mut all = apis_gen::definitions();
            all.extend(apis_gen::view_definitions());
            all
        })
        .iter()
        .find(|d| d.group == r.group && d.version == r.version && d.names.plural == r.plural)
}

/// Whether the resource has a `status` subresource.
pub fn has_status(r: &ServedResource) -> bool {
    definition(r)
        .and_then(|d| d.subresources.as_ref())
        .is_some_and(|s| s.status.is_some())
}

/// `x-kubernetes-group-version-kind` of one kind.
pub fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DOC: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The object schema of `r`, shaped like kube-apiserver's CRD OpenAPI builder shapes it: the
/// structural schema with `metadata` pointing at ObjectMeta (a structural schema may only say
/// `type: object` there, but clients want the real fields for `kubectl explain`) and the GVK.
///
/// A resource without a definition gets a schema that accepts any fields, so the document
/// stays valid (every `$ref` resolves) even before its types exist.
pub fn object(r: &ServedResource) -> Value {
    let mut schema = match definition(r) {
        Some(d) => d.schema.clone(),
        None => json!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "apiVersion": {"description": API_VERSION_DOC, "type": "string"},
                "kind": {"description": KIND_DOC, "type": "string"},
            },
        }),
    };
    schema["properties"]["metadata"] = json!({
        "description": METADATA_DOC,
        "allOf": [reference(&meta("ObjectMeta"))],
    });
    schema["x-kubernetes-group-version-kind"] = json!([gvk(&r.group, &r.version, &r.kind)]);
    schema
}

/// The list schema of `r`, as kube-apiserver builds it for a CRD.
pub fn list(r: &ServedResource) -> Value {
    json!({
        "description": format!("{} is a list of {}", r.list_kind, r.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DOC, "type": "string"},
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", r.plural),
                "type": "array",
                "items": reference(&schema_name(&r.group, &r.version, &r.kind)),
            },
            "kind": {"description": KIND_DOC, "type": "string"},
            "metadata": {"description": LIST_METADATA_DOC, "allOf": [reference(&meta("ListMeta"))]},
        },
        "x-kubernetes-group-version-kind": [gvk(&r.group, &r.version, &r.list_kind)],
    })
}

/// The `meta/v1` schemas the operations of `group/version` reference (ObjectMeta, ListMeta,
/// Status, DeleteOptions, Patch, WatchEvent and everything they reference), from
/// k8s-openapi's schemars impls rather than hand-written copies.
///
/// schemars' OpenAPI 3 settings already name definitions `#/components/schemas/…` and move a
/// `$ref`'s sibling description into `allOf`, which is exactly kube-apiserver's shape.
/// k8s-openapi omits the list/map-type extensions, which server-side apply and client-side
/// merge logic read, so [`add_list_extensions`] restores kube-apiserver's.
pub fn meta_schemas(group: &str, version: &str) -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| s.meta_schema = None)
        .into_generator();
    generator.subschema_for::<ObjectMeta>();
    generator.subschema_for::<ListMeta>();
    generator.subschema_for::<Status>();
    generator.subschema_for::<DeleteOptions>();
    generator.subschema_for::<Patch>();
    generator.subschema_for::<WatchEvent<Value>>();
    let mut schemas = generator.take_definitions(true);
    add_list_extensions(&mut schemas);
    // k8s-openapi requires `Status.metadata` (a non-`Option` Rust field); the API does not.
    if let Some(Value::Object(status)) = schemas.get_mut(&meta("Status")) {
        if let Some(Value::Array(required)) = status.get_mut("required") {
            required.retain(|r| r != "metadata");
            if required.is_empty() {
                status.remove("required");
            }
        }
    }
    // Kinds clients may send or receive in this group-version: Status always as core v1 (what
    // the apiserver returns), the option/event kinds also under the served group-version.
    let core_and_served = |kind: &str| json!([gvk("", "v1", kind), gvk(group, version, kind)]);
    let kinds = [
        ("Status", json!([gvk("", "v1", "Status")])),
        ("DeleteOptions", core_and_served("DeleteOptions")),
        ("WatchEvent", core_and_served("WatchEvent")),
    ];
    for (kind, gvks) in kinds {
        if let Some(Value::Object(schema)) = schemas.get_mut(&meta(kind)) {
            schema.insert("x-kubernetes-group-version-kind".into(), gvks);
        }
    }
    schemas
}

/// The `x-kubernetes-*` list and map extensions kube-apiserver publishes on the `meta/v1`
/// types (from their Go markers) that k8s-openapi's schemas lack: `(schema, property)` →
/// extensions.
fn add_list_extensions(schemas: &mut Map<String, Value>) {
    let atomic = || json!({"x-kubernetes-list-type": "atomic"});
    let overlays = [
        (
            "ObjectMeta",
            Some("finalizers"),
            json!({"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"}),
        ),
        ("ObjectMeta", Some("managedFields"), atomic()),
        (
            "ObjectMeta",
            Some("ownerReferences"),
            json!({
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge",
            }),
        ),
        ("OwnerReference", None, json!({"x-kubernetes-map-type": "atomic"})),
        ("DeleteOptions", Some("dryRun"), atomic()),
        ("StatusDetails", Some("causes"), atomic()),
    ];
    for (kind, property, extensions) in overlays {
        let Some(schema) = schemas.get_mut(&meta(kind)) else {
            continue;
        };
        let target = match property {
            Some(p) => &mut schema["properties"][p],
            None => schema,
        };
        if let (Value::Object(target), Value::Object(extensions)) = (target, extensions) {
            target.extend(extensions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::served;

    #[test]
    fn schema_names_follow_kube_apiserver() {
        assert_eq!(
            schema_name("tmc.kcp.io", "v1alpha1", "ClusterRegistration"),
            "io.kcp.tmc.v1alpha1.ClusterRegistration"
        );
        assert_eq!(schema_name("apps", "v1", "Deployment"), "apps.v1.Deployment");
        assert_eq!(schema_name("", "v1", "Service"), "v1.Service");
    }

    #[test]
    fn meta_schemas_come_from_k8s_openapi_with_kube_extensions() {
        let schemas = meta_schemas("tmc.kcp.io", "v1alpha1");
        for kind in [
            "ObjectMeta",
            "ListMeta",
            "ManagedFieldsEntry",
            "OwnerReference",
            "Time",
            "Status",
            "StatusDetails",
            "StatusCause",
            "DeleteOptions",
            "Preconditions",
            "Patch",
            "WatchEvent",
        ] {
            assert!(schemas.contains_key(&meta(kind)), "{kind} missing");
        }
        let object_meta = &schemas[&meta("ObjectMeta")];
        assert_eq!(
            object_meta["properties"]["ownerReferences"]["x-kubernetes-list-map-keys"],
            json!(["uid"])
        );
        assert_eq!(
            object_meta["properties"]["creationTimestamp"]["allOf"][0]["$ref"],
            format!("{REF_PREFIX}{}", meta("Time"))
        );
        assert_eq!(
            schemas[&meta("DeleteOptions")]["x-kubernetes-group-version-kind"][1],
            gvk("tmc.kcp.io", "v1alpha1", "DeleteOptions")
        );
    }

    #[test]
    fn object_and_list_schemas_reference_meta_and_carry_their_kind() {
        let rs = served();
        let cr = &rs[0];
        assert!(has_status(cr));
        let object = object(cr);
        assert_eq!(
            object["properties"]["metadata"]["allOf"][0]["$ref"],
            format!("{REF_PREFIX}{}", meta("ObjectMeta"))
        );
        assert_eq!(
            object["properties"]["spec"]["properties"]["location"]["type"],
            "string"
        );
        assert_eq!(
            object["x-kubernetes-group-version-kind"],
            json!([gvk("tmc.kcp.io", "v1alpha1", "ClusterRegistration")])
        );
        let list = list(cr);
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            format!("{REF_PREFIX}io.kcp.tmc.v1alpha1.ClusterRegistration")
        );
        assert_eq!(
            list["x-kubernetes-group-version-kind"][0]["kind"],
            "ClusterRegistrationList"
        );
    }

    #[test]
    fn a_resource_without_definition_gets_an_open_schema() {
        let mut r = served().remove(0);
        r.plural = "widgets".into();
        assert!(definition(&r).is_none());
        assert!(!has_status(&r));
        let object = object(&r);
        assert_eq!(object["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(
            object["properties"]["metadata"]["allOf"][0]["$ref"],
            format!("{REF_PREFIX}{}", meta("ObjectMeta"))
        );
    }
}
