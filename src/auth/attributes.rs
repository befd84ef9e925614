//! What a request does, in the terms of a SubjectAccessReview: the verb and
//! resource (or non-resource path), and the workspace where the right must be
//! held. Pure: derived from the parsed request alone, as kube-apiserver's
//! request-info resolver derives it from the URL.

use serde_json::{json, Value};

use crate::kcp::workspaces::ClusterTarget;
use crate::server::request::{query_param, ClusterOp};

/// The access a request needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// The workspace (path or logical-cluster name) the review is asked in.
    pub workspace: String,
    pub access: Access,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Resource {
        verb: &'static str,
        group: String,
        version: String,
        resource: String,
        subresource: String,
        namespace: String,
        name: String,
    },
    NonResource {
        verb: &'static str,
        path: String,
    },
}

impl Attributes {
    /// The access `op` on `target` needs. The wildcard `*` is authorized in
    /// the provider workspace: listing every workspace is an operator's right,
    /// granted where TMC itself lives.
    pub fn of(target: &ClusterTarget, op: &ClusterOp, query: Option<&str>, provider_workspace: &str) -> Self {
        let workspace = match target {
            ClusterTarget::Wildcard => provider_workspace.to_owned(),
            ClusterTarget::Name(c) => c.0.clone(),
            ClusterTarget::Path(p) => p.clone(),
        };
        Self {
            workspace,
            access: Access::of(op, query),
        }
    }

    /// The `spec` of a SubjectAccessReview for these attributes, without the user.
    pub fn review_spec(&self) -> serde_json::Map<String, Value> {
        let mut spec = serde_json::Map::new();
        match &self.access {
            Access::Resource {
                verb,
                group,
                version,
                resource,
                subresource,
                namespace,
                name,
            } => {
                spec.insert(
                    "resourceAttributes".into(),
                    json!({
                        "verb": verb, "group": group, "version": version, "resource": resource,
                        "subresource": subresource, "namespace": namespace, "name": name,
                    }),
                );
            }
            Access::NonResource { verb, path } => {
                spec.insert(
                    "nonResourceAttributes".into(),
                    json!({"verb": verb, "path": path}),
                );
            }
        }
        spec
    }

    /// How a denial reads, worded as kube-apiserver words it.
    pub fn forbidden_message(&self, user: &str) -> String {
        match &self.access {
            Access::Resource {
                verb,
                group,
                resource,
                subresource,
                namespace,
                name,
                ..
            } => {
                let gr = if group.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}.{group}")
                };
                let mut m = if name.is_empty() {
                    format!("{gr} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\"")
                } else {
                    format!(
                        "{gr} \"{name}\" is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\""
                    )
                };
                if !subresource.is_empty() {
                    m.push_str(&format!(" subresource \"{subresource}\""));
                }
                m.push_str(&format!(" in API group \"{group}\""));
                if !namespace.is_empty() {
                    m.push_str(&format!(" in the namespace \"{namespace}\""));
                }
                m.push_str(&format!(" in workspace \"{}\"", self.workspace));
                m
            }
            Access::NonResource { verb, path } => format!(
                "forbidden: User \"{user}\" cannot {verb} path \"{path}\" in workspace \"{}\"",
                self.workspace
            ),
        }
    }
}

impl Access {
    fn of(op: &ClusterOp, query: Option<&str>) -> Self {
        let non_resource = |path: String| Access::NonResource { verb: "get", path };
        match op {
            ClusterOp::CoreVersions => non_resource("/api".into()),
            ClusterOp::CoreResources => non_resource("/api/v1".into()),
            ClusterOp::Groups => non_resource("/apis".into()),
            ClusterOp::Group { group } => non_resource(format!("/apis/{group}")),
            ClusterOp::Resources { group, version } => non_resource(format!("/apis/{group}/{version}")),
            ClusterOp::Version => non_resource("/version".into()),
            ClusterOp::OpenApiRoot => non_resource("/openapi/v3".into()),
            ClusterOp::OpenApiGroupVersion { group, version } => {
                non_resource(format!("/openapi/v3/apis/{group}/{version}"))
            }
            ClusterOp::Collection { resource, method } => {
                let watching = matches!(query_param(query, "watch").as_deref(), Some("true" | "1"));
                let verb = match *method {
                    http::Method::POST => "create",
                    http::Method::DELETE => "deletecollection",
                    _ if watching => "watch",
                    _ => "list",
                };
                Self::resource(verb, resource, "", "")
            }
            ClusterOp::Object {
                resource,
                name,
                subresource,
                method,
            } => {
                let verb = match *method {
                    http::Method::PUT => "update",
                    http::Method::PATCH => "patch",
                    http::Method::DELETE => "delete",
                    _ => "get",
                };
                Self::resource(verb, resource, name, subresource.as_deref().unwrap_or_default())
            }
        }
    }

    fn resource(
        verb: &'static str,
        r: &crate::server::request::ResourceRef,
        name: &str,
        subresource: &str,
    ) -> Self {
        Access::Resource {
            verb,
            group: r.group.clone(),
            version: r.version.clone(),
            resource: r.resource.clone(),
            subresource: subresource.to_owned(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: name.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::request::{parse, ApiRequest};

    fn attrs(method: http::Method, path: &str, query: Option<&str>) -> Attributes {
        match parse(&method, path).unwrap() {
            ApiRequest::Cluster { target, op } => Attributes::of(&target, &op, query, "root:tmc"),
            other => panic!("not a cluster request: {other:?}"),
        }
    }

    fn verb(a: &Attributes) -> &'static str {
        match a.access {
            Access::Resource { verb, .. } | Access::NonResource { verb, .. } => verb,
        }
    }

    const CRS: &str = "/services/tmc/clusters/root:team-a/apis/tmc.kcp.io/v1alpha1/clusterregistrations";

    #[test]
    fn verbs_follow_kube_apiserver() {
        use http::Method as M;
        let cases = [
            (M::GET, CRS.to_owned(), None, "list"),
            (M::GET, CRS.to_owned(), Some("watch=true"), "watch"),
            (M::GET, CRS.to_owned(), Some("watch=1&resourceVersion=0"), "watch"),
            (M::GET, CRS.to_owned(), Some("watch=false"), "list"),
            (M::POST, CRS.to_owned(), None, "create"),
            (M::DELETE, CRS.to_owned(), None, "deletecollection"),
            (M::GET, format!("{CRS}/east"), None, "get"),
            (M::HEAD, format!("{CRS}/east"), None, "get"),
            (M::PUT, format!("{CRS}/east"), None, "update"),
            (M::PATCH, format!("{CRS}/east"), None, "patch"),
            (M::DELETE, format!("{CRS}/east"), None, "delete"),
            (M::PUT, format!("{CRS}/east/status"), None, "update"),
        ];
        for (method, path, query, want) in cases {
            assert_eq!(
                verb(&attrs(method.clone(), &path, query)),
                want,
                "{method} {path} {query:?}"
            );
        }
    }

    #[test]
    fn resource_fields_are_complete() {
        let a = attrs(
            http::Method::PATCH,
            "/services/tmc/clusters/root:team-a/apis/tmc.kcp.io/v1alpha1/namespaces/ns1/workloadplacements/p/status",
            None,
        );
        assert_eq!(a.workspace, "root:team-a");
        let spec = a.review_spec();
        assert_eq!(
            spec["resourceAttributes"],
            json!({"verb": "patch", "group": "tmc.kcp.io", "version": "v1alpha1",
                "resource": "workloadplacements", "subresource": "status", "namespace": "ns1", "name": "p"})
        );
    }

    #[test]
    fn wildcard_is_authorized_in_the_provider_workspace() {
        let a = attrs(
            http::Method::GET,
            "/services/tmc/clusters/*/apis/tmc.kcp.io/v1alpha1/clusterregistrations",
            None,
        );
        assert_eq!(a.workspace, "root:tmc");
        assert_eq!(verb(&a), "list");
    }

    #[test]
    fn discovery_is_a_non_resource_get() {
        for (path, want) in [
            ("/api", "/api"),
            ("/api/v1", "/api/v1"),
            ("/apis", "/apis"),
            ("/apis/tmc.kcp.io", "/apis/tmc.kcp.io"),
            ("/apis/tmc.kcp.io/v1alpha1", "/apis/tmc.kcp.io/v1alpha1"),
            ("/openapi/v3", "/openapi/v3"),
            (
                "/openapi/v3/apis/tmc.kcp.io/v1alpha1",
                "/openapi/v3/apis/tmc.kcp.io/v1alpha1",
            ),
            ("/version", "/version"),
        ] {
            let a = attrs(
                http::Method::GET,
                &format!("/services/tmc/clusters/root{path}"),
                None,
            );
            assert_eq!(
                a.access,
                Access::NonResource {
                    verb: "get",
                    path: want.into()
                }
            );
            assert_eq!(a.workspace, "root");
        }
    }

    #[test]
    fn denial_reads_like_kube_apiserver() {
        let a = attrs(http::Method::GET, &format!("{CRS}/east"), None);
        assert_eq!(
            a.forbidden_message("bob"),
            "clusterregistrations.tmc.kcp.io \"east\" is forbidden: User \"bob\" cannot get resource \
             \"clusterregistrations\" in API group \"tmc.kcp.io\" in workspace \"root:team-a\""
        );
    }
}
