//! `paths` of a group-version document: the operations of one resource, shaped exactly as
//! kube-apiserver publishes them for a CRD (operation ids, descriptions, parameters, media
//! types, responses and the `x-kubernetes-action` / `x-kubernetes-group-version-kind`
//! extensions), but only for the verbs tmc-server serves.

use serde_json::{json, Map, Value};

use super::params;
use super::schemas::{self, meta, reference, schema_name};
use crate::resources::ServedResource;

/// Media types of request and response bodies (CRDs have no protobuf).
const BODY_TYPES: [&str; 2] = ["application/json", "application/yaml"];
/// Patch types a CRD accepts (no strategic merge patch: there are no Go struct tags).
const PATCH_TYPES: [&str; 3] = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
];

/// The operations of `r`, keyed by path, to be merged into the document's `paths`.
///
/// A write operation appears only when `r.verbs` has its verb (`create`, `update`, `patch`,
/// `delete`, `deletecollection`), so clients never discover writes a read-only view rejects;
/// a path without any operation is left out.
pub fn resource_paths(r: &ServedResource) -> Map<String, Value> {
    let ops = Ops::new(r);
    let mut out = Map::new();
    let base = match r.group.as_str() {
        "" => format!("/api/{}", r.version),
        g => format!("/apis/{g}/{}", r.version),
    };
    let scope = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    let scope_params = || {
        let mut p = Vec::new();
        if r.namespaced {
            p.push(params::namespace());
        }
        p.push(params::pretty());
        p
    };
    let item_params = || [vec![params::name(&r.kind)], scope_params()].concat();

    let collection = [
        ops.when("list", "get", || ops.list("", params::list())),
        ops.when("create", "post", || ops.create()),
        ops.when("deletecollection", "delete", || ops.delete_collection()),
    ];
    insert(&mut out, scope.clone(), collection, scope_params());

    let item = [
        ops.when("get", "get", || ops.read("")),
        ops.when("update", "put", || ops.replace("")),
        ops.when("patch", "patch", || ops.patch("")),
        ops.when("delete", "delete", || ops.delete()),
    ];
    insert(&mut out, format!("{scope}/{{name}}"), item, item_params());

    if r.stored_in_kcp && schemas::has_status(r) {
        let status = [
            ops.when("get", "get", || ops.read("Status")),
            ops.when("update", "put", || ops.replace("Status")),
            ops.when("patch", "patch", || ops.patch("Status")),
        ];
        insert(
            &mut out,
            format!("{scope}/{{name}}/status"),
            status,
            item_params(),
        );
    }

    if r.namespaced {
        // The cross-namespace list: kube-apiserver puts its query parameters on the path.
        let mut path_params = params::list();
        path_params.push(params::pretty());
        path_params.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        let all = [ops.when("list", "get", || ops.list("ForAllNamespaces", Vec::new()))];
        insert(&mut out, format!("{base}/{}", r.plural), all, path_params);
    }
    out
}

/// Adds the path item `path` with `ops` (method → operation) and path-level `parameters`,
/// unless no operation is served there.
fn insert<const N: usize>(
    out: &mut Map<String, Value>,
    path: String,
    ops: [Option<(&str, Value)>; N],
    parameters: Vec<Value>,
) {
    let mut item: Map<String, Value> = ops
        .into_iter()
        .flatten()
        .map(|(method, op)| (method.to_owned(), op))
        .collect();
    if item.is_empty() {
        return;
    }
    item.insert("parameters".into(), Value::Array(parameters));
    out.insert(path, Value::Object(item));
}

/// Builds the operations of one resource.
struct Ops<'a> {
    r: &'a ServedResource,
    /// `tmcKcpIo_v1alpha1`: the tag kube-apiserver groups a group-version's operations under.
    tag: String,
    /// `TmcKcpIoV1alpha1`: the group-version part of every operation id.
    id_gv: String,
    /// `Namespaced` for namespaced resources (part of the operation ids).
    namespaced: &'static str,
    object: String,
    list: String,
}

impl<'a> Ops<'a> {
    fn new(r: &'a ServedResource) -> Self {
        let group = group_camel(&r.group);
        Self {
            r,
            tag: format!("{group}_{}", r.version),
            id_gv: format!("{}{}", upper_first(&group), upper_first(&r.version)),
            namespaced: if r.namespaced { "Namespaced" } else { "" },
            object: schema_name(&r.group, &r.version, &r.kind),
            list: schema_name(&r.group, &r.version, &r.list_kind),
        }
    }

    /// `(method, build())` when the resource serves `verb`.
    fn when(&self, verb: &str, method: &'static str, build: impl FnOnce() -> Value) -> Option<(&str, Value)> {
        self.r.verbs.iter().any(|v| v == verb).then(|| (method, build()))
    }

    /// One operation; `responses` maps status codes to the schema of their body.
    fn operation(
        &self,
        action: &str,
        id: String,
        description: String,
        parameters: Vec<Value>,
        request: Option<Value>,
        responses: &[(&str, &str)],
    ) -> Value {
        let mut responses: Map<String, Value> = responses
            .iter()
            .map(|(code, schema)| {
                let body = json!({"description": reason(code), "content": content(&BODY_TYPES, schema)});
                (code.to_string(), body)
            })
            .collect();
        responses.insert("401".into(), json!({"description": "Unauthorized"}));
        let mut op = json!({
            "tags": [self.tag],
            "description": description,
            "operationId": id,
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": schemas::gvk(&self.r.group, &self.r.version, &self.r.kind),
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(request) = request {
            op["requestBody"] = request;
        }
        op
    }

    fn id(&self, verb: &str, infix: &str, suffix: &str) -> String {
        let (gv, ns, kind) = (&self.id_gv, self.namespaced, &self.r.kind);
        if suffix == "ForAllNamespaces" {
            format!("{verb}{gv}{infix}{kind}{suffix}")
        } else {
            format!("{verb}{gv}{infix}{ns}{kind}{suffix}")
        }
    }

    fn list(&self, suffix: &str, parameters: Vec<Value>) -> Value {
        let description = format!("list objects of kind {}", self.r.kind);
        let id = self.id("list", "", suffix);
        self.operation("list", id, description, parameters, None, &[("200", &self.list)])
    }

    fn create(&self) -> Value {
        let description = format!("create a {}", self.r.kind);
        let codes = [
            ("200", &*self.object),
            ("201", &self.object),
            ("202", &self.object),
        ];
        let body = Some(body(&BODY_TYPES, &self.object, true));
        self.operation(
            "post",
            self.id("create", "", ""),
            description,
            params::write(),
            body,
            &codes,
        )
    }

    fn delete_collection(&self) -> Value {
        let description = format!("delete collection of {}", self.r.kind);
        let id = self.id("delete", "Collection", "");
        let status = meta("Status");
        self.operation(
            "deletecollection",
            id,
            description,
            params::list(),
            None,
            &[("200", &status)],
        )
    }

    fn read(&self, sub: &str) -> Value {
        let description = format!("read {}the specified {}", of(sub), self.r.kind);
        let id = self.id("read", "", sub);
        let codes = [("200", &*self.object)];
        self.operation(
            "get",
            id,
            description,
            vec![params::resource_version()],
            None,
            &codes,
        )
    }

    fn replace(&self, sub: &str) -> Value {
        let description = format!("replace {}the specified {}", of(sub), self.r.kind);
        let id = self.id("replace", "", sub);
        let codes = [("200", &*self.object), ("201", &self.object)];
        let body = Some(body(&BODY_TYPES, &self.object, true));
        self.operation("put", id, description, params::write(), body, &codes)
    }

    fn patch(&self, sub: &str) -> Value {
        let description = format!("partially update {}the specified {}", of(sub), self.r.kind);
        let id = self.id("patch", "", sub);
        let body = Some(body(&PATCH_TYPES, &meta("Patch"), true));
        self.operation(
            "patch",
            id,
            description,
            params::patch(),
            body,
            &[("200", &self.object)],
        )
    }

    fn delete(&self) -> Value {
        let description = format!("delete a {}", self.r.kind);
        let status = meta("Status");
        let body = Some(body(&BODY_TYPES, &meta("DeleteOptions"), false));
        let codes = [("200", &*status), ("202", &status)];
        self.operation(
            "delete",
            self.id("delete", "", ""),
            description,
            params::delete(),
            body,
            &codes,
        )
    }
}

/// `status ` in `read status of the specified …` for the status subresource.
fn of(sub: &str) -> String {
    if sub.is_empty() {
        String::new()
    } else {
        format!("{} of ", sub.to_lowercase())
    }
}

fn reason(code: &str) -> &'static str {
    match code {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        _ => "Unauthorized",
    }
}

/// `{media type: {schema: $ref}}` for each of `types`.
fn content(types: &[&str], schema: &str) -> Value {
    let content: Map<String, Value> = types
        .iter()
        .map(|t| (t.to_string(), json!({ "schema": reference(schema) })))
        .collect();
    Value::Object(content)
}

/// A request body of `schema`; kube-apiserver marks it required except for delete's options.
fn body(types: &[&str], schema: &str, required: bool) -> Value {
    let mut body = json!({ "content": content(types, schema) });
    if required {
        body["required"] = true.into();
    }
    body
}

/// `tmc.kcp.io` → `tmcKcpIo`; the core group is `core`, as in kube-apiserver's tags.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "core".into();
    }
    let mut out = String::new();
    for (i, part) in group.split(['.', '-']).filter(|p| !p.is_empty()).enumerate() {
        if i == 0 {
            out.push_str(part);
        } else {
            out.push_str(&upper_first(part));
        }
    }
    out
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::served;

    fn resource(verbs: &[&str], namespaced: bool) -> ServedResource {
        let mut r = served().remove(0);
        r.verbs = verbs.iter().map(|v| v.to_string()).collect();
        r.namespaced = namespaced;
        r
    }

    #[test]
    fn cluster_scoped_paths_and_operation_ids_match_kube_apiserver() {
        let paths = resource_paths(&resource(crate::resources::KCP_STORED_VERBS, false));
        let base = "/apis/tmc.kcp.io/v1alpha1/clusterregistrations";
        let keys: Vec<&String> = paths.keys().collect();
        assert_eq!(
            keys,
            [
                base,
                &format!("{base}/{{name}}"),
                &format!("{base}/{{name}}/status")
            ]
        );
        let ids = |path: &str| -> Vec<(String, String)> {
            let item = paths[path].as_object().unwrap();
            item.iter()
                .filter(|(k, _)| *k != "parameters")
                .map(|(m, op)| (m.clone(), op["operationId"].as_str().unwrap().to_owned()))
                .collect()
        };
        let gv = "TmcKcpIoV1alpha1";
        assert_eq!(
            ids(base),
            [
                (
                    "delete".into(),
                    format!("delete{gv}CollectionClusterRegistration")
                ),
                ("get".into(), format!("list{gv}ClusterRegistration")),
                ("post".into(), format!("create{gv}ClusterRegistration")),
            ]
        );
        assert_eq!(
            paths[&format!("{base}/{{name}}/status")]["patch"]["operationId"],
            format!("patch{gv}ClusterRegistrationStatus")
        );
        let get = &paths[base]["get"];
        assert_eq!(get["tags"][0], "tmcKcpIo_v1alpha1");
        assert_eq!(get["x-kubernetes-action"], "list");
        assert_eq!(get["description"], "list objects of kind ClusterRegistration");
        let patch = &paths[&format!("{base}/{{name}}")]["patch"];
        assert_eq!(
            patch["description"],
            "partially update the specified ClusterRegistration"
        );
        let content = patch["requestBody"]["content"].as_object().unwrap();
        assert_eq!(content.keys().collect::<Vec<_>>(), PATCH_TYPES);
        let status_get = &paths[&format!("{base}/{{name}}/status")]["get"];
        assert_eq!(
            status_get["description"],
            "read status of the specified ClusterRegistration"
        );
    }

    #[test]
    fn read_only_resources_get_only_reads() {
        let paths = resource_paths(&resource(&["get", "list"], false));
        for item in paths.values() {
            let methods: Vec<&String> = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .collect();
            assert_eq!(methods, ["get"]);
        }
        assert!(resource_paths(&resource(&[], false)).is_empty());
    }

    #[test]
    fn namespaced_resources_get_namespace_paths_and_a_cross_namespace_list() {
        let paths = resource_paths(&resource(crate::resources::KCP_STORED_VERBS, true));
        let base = "/apis/tmc.kcp.io/v1alpha1";
        assert!(paths.contains_key(&format!(
            "{base}/namespaces/{{namespace}}/clusterregistrations/{{name}}"
        )));
        let all = &paths[&format!("{base}/clusterregistrations")];
        assert_eq!(
            all["get"]["operationId"],
            "listTmcKcpIoV1alpha1ClusterRegistrationForAllNamespaces"
        );
        assert!(all["get"].get("parameters").is_none());
        assert_eq!(all["parameters"].as_array().unwrap().len(), 11);
        let ns = &paths[&format!("{base}/namespaces/{{namespace}}/clusterregistrations")];
        assert_eq!(
            ns["get"]["operationId"],
            "listTmcKcpIoV1alpha1NamespacedClusterRegistration"
        );
        assert_eq!(ns["parameters"][0]["name"], "namespace");
    }

    #[test]
    fn group_names_are_camel_cased_like_kube_tags() {
        assert_eq!(group_camel("tmc.kcp.io"), "tmcKcpIo");
        assert_eq!(group_camel("apps"), "apps");
        assert_eq!(group_camel(""), "core");
        assert_eq!(upper_first("v1alpha1"), "V1alpha1");
    }
}
