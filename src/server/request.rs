//! Parsing an HTTP request into a typed API request. Pure: no lookups, no I/O;
//! everything a handler needs is decided here, and anything malformed is
//! rejected here with the Status a kube-apiserver would give.

use crate::kcp::workspaces::{parse_cluster_target, ClusterTarget};

use super::status::ApiError;

/// The path prefix kcp-front-proxy routes to tmc-server.
pub const PATH_PREFIX: &str = "/services/tmc";

/// What the client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiRequest {
    Livez,
    Readyz,
    Version,
    /// `/metrics` (authenticated; authorized in the provider workspace).
    Metrics,
    /// A request under `/services/tmc/clusters/{cluster}`.
    Cluster {
        target: ClusterTarget,
        op: ClusterOp,
    },
}

/// A request inside one `{cluster}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterOp {
    /// `/api`
    CoreVersions,
    /// `/api/v1`
    CoreResources,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group { group: String },
    /// `/apis/{group}/{version}`
    Resources { group: String, version: String },
    /// `/version` under a cluster (kubectl asks for it there too).
    Version,
    /// `/openapi/v3`
    OpenApiRoot,
    /// `/openapi/v3/apis/{group}/{version}`
    OpenApiGroupVersion { group: String, version: String },
    /// A collection: list, watch, create (POST) or deletecollection (DELETE).
    Collection {
        resource: ResourceRef,
        method: http::Method,
    },
    /// One object (or its subresource): get, update, patch, delete.
    Object {
        resource: ResourceRef,
        name: String,
        subresource: Option<String>,
        method: http::Method,
    },
}

impl ClusterOp {
    /// True for requests that only read.
    pub fn is_read(&self) -> bool {
        match self {
            Self::Collection { method, .. } | Self::Object { method, .. } => {
                method == http::Method::GET || method == http::Method::HEAD
            }
            _ => true,
        }
    }
}

/// A resource addressed by a request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRef {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub namespace: Option<String>,
}

/// Parses method + path. Query parameters and headers are read by handlers.
pub fn parse(method: &http::Method, path: &str) -> Result<ApiRequest, ApiError> {
    match path {
        "/livez" => return only_get(method, ApiRequest::Livez),
        "/readyz" => return only_get(method, ApiRequest::Readyz),
        "/version" => return only_get(method, ApiRequest::Version),
        "/metrics" => return only_get(method, ApiRequest::Metrics),
        _ => {}
    }
    let rest = path
        .strip_prefix(PATH_PREFIX)
        .and_then(|r| r.strip_prefix("/clusters/"))
        .ok_or_else(|| ApiError::not_found_path(path))?;
    let (cluster, api_path) = match rest.split_once('/') {
        Some((c, p)) => (c, p),
        None => (rest, ""),
    };
    // Clients percent-encode the segment (Go's URL writes `*` as `%2A`).
    let cluster = percent_decode(cluster)
        .ok_or_else(|| ApiError::bad_request("malformed percent-encoding in the cluster name"))?;
    let target = parse_cluster_target(&cluster).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let segments: Vec<&str> = if api_path.is_empty() {
        Vec::new()
    } else {
        api_path.trim_end_matches('/').split('/').collect()
    };
    if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(ApiError::not_found_path(path));
    }
    let op = match segments.as_slice() {
        // Health endpoints answer under a cluster path too: kubectl's
        // `get --raw /readyz` resolves against its server URL's path.
        ["livez"] => return only_get(method, ApiRequest::Livez),
        ["readyz"] => return only_get(method, ApiRequest::Readyz),
        ["metrics"] => return only_get(method, ApiRequest::Metrics),
        ["version"] => ClusterOp::Version,
        ["api"] => ClusterOp::CoreVersions,
        ["api", "v1"] => ClusterOp::CoreResources,
        ["apis"] => ClusterOp::Groups,
        ["apis", g] => ClusterOp::Group { group: g.to_string() },
        ["apis", g, v] => ClusterOp::Resources {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["openapi", "v3"] => ClusterOp::OpenApiRoot,
        ["openapi", "v3", "apis", g, v] => ClusterOp::OpenApiGroupVersion {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["apis", g, v, rest @ ..] => {
            resource_op(g, v, rest, method).ok_or_else(|| ApiError::not_found_path(path))?
        }
        ["api", "v1", rest @ ..] => {
            resource_op("", "v1", rest, method).ok_or_else(|| ApiError::not_found_path(path))?
        }
        _ => return Err(ApiError::not_found_path(path)),
    };
    let allowed = match &op {
        ClusterOp::Collection { .. } => [
            http::Method::GET,
            http::Method::HEAD,
            http::Method::POST,
            http::Method::DELETE,
        ]
        .contains(method),
        ClusterOp::Object { .. } => [
            http::Method::GET,
            http::Method::HEAD,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
        ]
        .contains(method),
        _ => method == http::Method::GET || method == http::Method::HEAD,
    };
    if !allowed {
        return Err(ApiError::method_not_allowed(method.as_str()));
    }
    Ok(ApiRequest::Cluster { target, op })
}

/// Decodes `%XX` escapes; `None` for a bad escape or a result that is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `{resource}`, `{resource}/{name}[/{subresource}]`,
/// `namespaces/{ns}/{resource}[/{name}[/{subresource}]]`.
fn resource_op(group: &str, version: &str, rest: &[&str], method: &http::Method) -> Option<ClusterOp> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(ns.to_string()), tail),
        _ => (None, rest),
    };
    let r = |resource: &str| ResourceRef {
        group: group.to_owned(),
        version: version.to_owned(),
        resource: resource.to_owned(),
        namespace: namespace.clone(),
    };
    let object = |resource: &str, name: &str, sub: Option<&str>| ClusterOp::Object {
        resource: r(resource),
        name: name.to_owned(),
        subresource: sub.map(str::to_owned),
        method: method.clone(),
    };
    Some(match rest {
        [resource] => ClusterOp::Collection {
            resource: r(resource),
            method: method.clone(),
        },
        [resource, name] => object(resource, name, None),
        [resource, name, sub] => object(resource, name, Some(sub)),
        _ => return None,
    })
}

fn only_get(method: &http::Method, req: ApiRequest) -> Result<ApiRequest, ApiError> {
    if method == http::Method::GET || method == http::Method::HEAD {
        Ok(req)
    } else {
        Err(ApiError::method_not_allowed(method.as_str()))
    }
}

/// The value of one query parameter (first occurrence), percent-decoded.
pub fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// True when the Accept header admits a JSON answer (the only encoding
/// tmc-server produces); kube-apiserver answers 406 otherwise.
pub fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    if accept.trim().is_empty() {
        return true;
    }
    accept.split(',').any(|media| {
        let ty = media.split(';').next().unwrap_or_default().trim();
        matches!(
            ty,
            "application/json" | "application/*" | "*/*" | "application/json-seq"
        )
    })
}

/// True when the client's Accept header asks for a `meta.k8s.io/v1` Table
/// (kubectl get does, with JSON as a fallback).
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|media| {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            params.contains(&"as=Table")
                && params.contains(&"g=meta.k8s.io")
                && params.iter().any(|p| *p == "v=v1" || *p == "v=v1beta1")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::LogicalCluster;
    use http::Method;

    fn cluster(path: &str) -> ClusterOp {
        match parse(&Method::GET, path).unwrap() {
            ApiRequest::Cluster { op, .. } => op,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_discovery_and_resources() {
        let base = "/services/tmc/clusters/root:team-a";
        assert_eq!(cluster(&format!("{base}/api")), ClusterOp::CoreVersions);
        assert_eq!(cluster(&format!("{base}/apis")), ClusterOp::Groups);
        assert_eq!(
            cluster(&format!("{base}/apis/tmc.kcp.io")),
            ClusterOp::Group {
                group: "tmc.kcp.io".into()
            }
        );
        assert_eq!(
            cluster(&format!("{base}/apis/tmc.kcp.io/v1alpha1/clusterregistrations")),
            ClusterOp::Collection {
                resource: ResourceRef {
                    group: "tmc.kcp.io".into(),
                    version: "v1alpha1".into(),
                    resource: "clusterregistrations".into(),
                    namespace: None
                },
                method: Method::GET
            }
        );
        match cluster(&format!(
            "{base}/apis/apps/v1/namespaces/default/deployments/web/status"
        )) {
            ClusterOp::Object {
                resource,
                name,
                subresource,
                ..
            } => {
                assert_eq!(name, "web");
                assert_eq!(subresource.as_deref(), Some("status"));
                assert_eq!(resource.namespace.as_deref(), Some("default"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cluster(&format!("{base}/openapi/v3")), ClusterOp::OpenApiRoot);
    }

    #[test]
    fn parses_cluster_targets() {
        match parse(&Method::GET, "/services/tmc/clusters/*/apis").unwrap() {
            ApiRequest::Cluster { target, .. } => assert_eq!(target, ClusterTarget::Wildcard),
            other => panic!("{other:?}"),
        }
        match parse(&Method::GET, "/services/tmc/clusters/abc123/apis").unwrap() {
            ApiRequest::Cluster { target, .. } => {
                assert_eq!(target, ClusterTarget::Name(LogicalCluster("abc123".into())))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decodes_percent_encoded_cluster_names() {
        for path in [
            "/services/tmc/clusters/%2A/apis",
            "/services/tmc/clusters/%2a/apis",
        ] {
            match parse(&Method::GET, path).unwrap() {
                ApiRequest::Cluster { target, .. } => assert_eq!(target, ClusterTarget::Wildcard),
                other => panic!("{other:?}"),
            }
        }
        match parse(&Method::GET, "/services/tmc/clusters/root%3Ateam-a/apis").unwrap() {
            ApiRequest::Cluster { target, .. } => {
                assert_eq!(target, ClusterTarget::Path("root:team-a".into()))
            }
            other => panic!("{other:?}"),
        }
        for bad in ["%", "%2", "%zz", "%ff", "%2e%2e"] {
            let path = format!("/services/tmc/clusters/{bad}/apis");
            assert_eq!(parse(&Method::GET, &path).unwrap_err().code, 400, "{bad}");
        }
    }

    #[test]
    fn rejects_bad_paths_with_kube_codes() {
        assert_eq!(parse(&Method::GET, "/nope").unwrap_err().code, 404);
        assert_eq!(
            parse(&Method::GET, "/services/tmc/clusters/Root/apis")
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            parse(&Method::GET, "/services/tmc/clusters/root/apis/../x")
                .unwrap_err()
                .code,
            404
        );
        assert_eq!(
            parse(&Method::GET, "/services/tmc/clusters/root//apis")
                .unwrap_err()
                .code,
            404
        );
        assert_eq!(
            parse(
                &Method::GET,
                "/services/tmc/clusters/root/apis/g/v/r/n/extra/more"
            )
            .unwrap_err()
            .code,
            404
        );
        assert!(parse(&Method::POST, "/services/tmc/clusters/root/apis/g/v/r").is_ok());
        assert_eq!(
            parse(&Method::PUT, "/services/tmc/clusters/root/apis/g/v/r")
                .unwrap_err()
                .code,
            405
        );
        assert_eq!(
            parse(&Method::POST, "/services/tmc/clusters/root/apis/g/v/r/n")
                .unwrap_err()
                .code,
            405
        );
        assert_eq!(
            parse(&Method::POST, "/services/tmc/clusters/root/apis")
                .unwrap_err()
                .code,
            405
        );
    }

    #[test]
    fn json_acceptance() {
        assert!(accepts_json(None));
        assert!(accepts_json(Some(
            "application/vnd.kubernetes.protobuf, application/json"
        )));
        assert!(accepts_json(Some("*/*")));
        assert!(!accepts_json(Some("application/vnd.kubernetes.protobuf")));
        assert!(!accepts_json(Some("text/html")));
    }

    #[test]
    fn table_accept_header() {
        assert!(wants_table(Some(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        )));
        assert!(!wants_table(Some("application/json")));
        assert!(!wants_table(None));
    }

    #[test]
    fn query_params_are_decoded() {
        assert_eq!(
            query_param(Some("a=1&labelSelector=x%3Dy"), "labelSelector").as_deref(),
            Some("x=y")
        );
        assert_eq!(query_param(None, "a"), None);
    }
}
