//! Applies a parsed request: reads are answered from the index, writes of
//! writable resources are forwarded to kcp.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use futures::future::BoxFuture;
use http::HeaderMap;
use serde_json::{json, Value};

use super::discovery;
use super::documents::{Documents, Rendered};
use super::list_options::{self, ContinueToken, ListOptions};
use super::request::{wants_table, ApiRequest, ClusterOp, ResourceRef};
use super::status::ApiError;
use super::table::{self, IncludeObject};
use super::watch::{self, WatchRequest};
use crate::auth::{ClientCertAuthority, Gate, UserInfo};
use crate::index::{object_key, Index, LogicalCluster, Scope, WatchStart};
use crate::kcp::forward::{Forwarded, Forwarder};
use crate::kcp::workspaces::{ClusterTarget, ResolveError, WorkspaceResolver};
use crate::registration::live::LiveStatus;
use crate::resources::ServedResource;

/// Resolves workspace paths; a trait so the handlers can be tested without kcp.
pub trait ResolveWorkspace: Send + Sync {
    fn resolve<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<LogicalCluster, ResolveError>>;
}

impl ResolveWorkspace for WorkspaceResolver {
    fn resolve<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<LogicalCluster, ResolveError>> {
        Box::pin(WorkspaceResolver::resolve(self, path))
    }
}

/// What every request handler reads.
pub struct ApiState {
    pub index: Index,
    pub resources: Vec<ServedResource>,
    pub resolver: Arc<dyn ResolveWorkspace>,
    /// Sends writes to kcp; `None` serves everything read-only.
    pub forwarder: Option<Forwarder>,
    /// Flips to true when the server shuts down (ends open watches).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Discovery and OpenAPI documents, rendered once.
    pub documents: Documents,
    /// Live cluster status from the probe loops, shown instead of the stored one.
    pub live: LiveStatus,
    /// Authentication and authorization of every request.
    pub gate: Gate,
    /// What a connection's client certificate proves.
    pub client_certs: ClientCertAuthority,
    /// What `/metrics` exports.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl ApiState {
    /// The object as a view shows it: with live status where TMC has one.
    fn present(&self, resource: &ServedResource, obj: &Value) -> Value {
        let mut o = with_type(resource, obj);
        if resource.group == crate::api::GROUP && resource.plural == "clusterregistrations" {
            if let Ok(key) = object_key(obj) {
                self.live.overlay(&key, &mut o);
            }
        }
        o
    }
}

/// The parts of an HTTP request a handler reads besides the path.
pub struct RequestMeta<'a> {
    pub method: &'a http::Method,
    /// The path below `/services/tmc/clusters/{cluster}` (for forwarding).
    pub api_path: &'a str,
    /// The whole request path (for redirects).
    pub full_path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
    /// The authenticated, authorized caller (`None` on public endpoints).
    pub user: Option<&'a UserInfo>,
}

impl RequestMeta<'_> {
    fn accept(&self) -> Option<&str> {
        self.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
    }

    fn if_none_match(&self) -> Option<String> {
        self.headers
            .get(http::header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// A successful answer.
pub enum Reply {
    /// A JSON document.
    Json(Value),
    /// A JSON document with a specific media type (Tables, aggregated discovery).
    Typed(Value, &'static str),
    /// A stream of watch events.
    Watch(tokio::sync::mpsc::Receiver<Bytes>),
    /// A text document with its media type (`/metrics`).
    Text(String, &'static str),
    /// kcp's answer to a forwarded write, passed back unchanged.
    Forwarded(http::Response<Bytes>),
    /// A pre-rendered document with ETag (304 when the client has it).
    Document {
        doc: Rendered,
        media_type: &'static str,
        cache_control: &'static str,
        if_none_match: Option<String>,
    },
    /// 301 to a current URL (a stale OpenAPI `?hash=`).
    Redirect(String),
}

pub type ApiResult = Result<Reply, ApiError>;

const TABLE_MEDIA_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

pub async fn handle(state: &Arc<ApiState>, req: ApiRequest, meta: RequestMeta<'_>) -> ApiResult {
    match req {
        ApiRequest::Livez => Ok(Reply::Json(json!("ok"))),
        ApiRequest::Readyz => {
            if state.resources.is_empty() || state.index.synced() {
                Ok(Reply::Json(json!("ok")))
            } else {
                Err(ApiError::unavailable(
                    "not ready: the initial lists from kcp have not completed",
                ))
            }
        }
        ApiRequest::Version => Ok(Reply::Json(version())),
        ApiRequest::Metrics => Ok(Reply::Text(
            state.metrics.render(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )),
        ApiRequest::Cluster { target, op } => cluster_op(state, target, op, meta).await,
    }
}

fn version() -> Value {
    json!({
        "major": "1", "minor": "34",
        "gitVersion": concat!("v", env!("CARGO_PKG_VERSION"), "+kcp-tmc"),
        "gitCommit": option_env!("KCP_TMC_GIT_COMMIT").unwrap_or("unknown"),
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}

async fn cluster_op(
    state: &Arc<ApiState>,
    target: ClusterTarget,
    op: ClusterOp,
    meta: RequestMeta<'_>,
) -> ApiResult {
    let rs = &state.resources;
    match op {
        ClusterOp::Version => Ok(Reply::Json(version())),
        ClusterOp::CoreVersions | ClusterOp::Groups => {
            let core = matches!(op, ClusterOp::CoreVersions);
            let format = discovery::negotiate(meta.accept());
            match state.documents.aggregated(core, format) {
                Some(doc) => Ok(Reply::Document {
                    doc: doc.clone(),
                    media_type: discovery::content_type(format),
                    cache_control: "no-cache, private",
                    if_none_match: meta.if_none_match(),
                }),
                None if core => Ok(Reply::Json(discovery::core_versions())),
                None => Ok(Reply::Json(discovery::group_list(rs))),
            }
        }
        ClusterOp::CoreResources => Ok(Reply::Json(discovery::core_resources())),
        ClusterOp::Group { group } => discovery::group(rs, &group)
            .map(Reply::Json)
            .ok_or_else(|| ApiError::not_found_path(&group)),
        ClusterOp::Resources { group, version } => discovery::resource_list(rs, &group, &version)
            .map(Reply::Json)
            .ok_or_else(|| ApiError::not_found_path(&group)),
        ClusterOp::OpenApiRoot => Ok(Reply::Document {
            doc: state.documents.openapi_root.clone(),
            media_type: "application/json",
            cache_control: "no-cache, private",
            if_none_match: meta.if_none_match(),
        }),
        ClusterOp::OpenApiGroupVersion { group, version } => {
            let doc = state
                .documents
                .openapi
                .get(&format!("apis/{group}/{version}"))
                .ok_or_else(|| ApiError::not_found_path(&group))?;
            match super::request::query_param(meta.query, "hash") {
                Some(h) if h != doc.hash => {
                    // kube-apiserver redirects a stale hash to the current document.
                    let base = meta.full_path.split('?').next().unwrap_or_default();
                    Ok(Reply::Redirect(format!("{base}?hash={}", doc.hash)))
                }
                hash => Ok(Reply::Document {
                    doc: doc.clone(),
                    media_type: "application/json",
                    cache_control: if hash.is_some() {
                        "public, immutable"
                    } else {
                        "no-cache, private"
                    },
                    if_none_match: meta.if_none_match(),
                }),
            }
        }
        ClusterOp::Collection { resource: r, method } => {
            let resource = find(state, &r)?;
            if method == http::Method::GET || method == http::Method::HEAD {
                let scope = scope_of(state, &target).await?;
                let options = list_options::parse(meta.query)?;
                if options.watch {
                    return watch(state, resource, &r, scope, options, &meta);
                }
                list(state, resource, &r, &scope, &options, &meta)
            } else {
                let verb = if method == http::Method::POST {
                    "create"
                } else {
                    "deletecollection"
                };
                forward(state, resource, &target, verb, meta).await
            }
        }
        ClusterOp::Object {
            resource: r,
            name,
            subresource,
            method,
        } => {
            let resource = find(state, &r)?;
            if method == http::Method::GET || method == http::Method::HEAD {
                if subresource.is_some() {
                    if !resource.stored_in_kcp {
                        return Err(ApiError::not_found_path(&r.resource));
                    }
                    // Subresources are kcp's to serve; reads of them go there too.
                    return forward(state, resource, &target, "get", meta).await;
                }
                return get(state, resource, &r, &target, &name, &meta).await;
            }
            let verb = match method {
                http::Method::PUT => "update",
                http::Method::PATCH => "patch",
                _ => "delete",
            };
            forward(state, resource, &target, verb, meta).await
        }
    }
}

fn find<'a>(state: &'a ApiState, r: &ResourceRef) -> Result<&'a ServedResource, ApiError> {
    let resource = state
        .resources
        .iter()
        .find(|s| s.group == r.group && s.version == r.version && s.plural == r.resource)
        .ok_or_else(|| ApiError::not_found_path(&r.resource))?;
    if r.namespace.is_some() && !resource.namespaced {
        return Err(ApiError::not_found_path(&r.resource));
    }
    Ok(resource)
}

async fn scope_of(state: &ApiState, target: &ClusterTarget) -> Result<Scope, ApiError> {
    Ok(match target {
        ClusterTarget::Wildcard => Scope::AllClusters,
        ClusterTarget::Name(c) => Scope::Cluster(c.clone()),
        ClusterTarget::Path(p) => Scope::Cluster(state.resolver.resolve(p).await.map_err(|e| match e {
            ResolveError::NotFound(_) | ResolveError::NotReady(_) => {
                ApiError::new(404, "NotFound", e.to_string())
            }
            ResolveError::Kcp { .. } => {
                tracing::warn!(error = %e, "workspace resolution failed");
                ApiError::unavailable("cannot reach kcp to resolve the workspace; retry shortly")
            }
        })?),
    })
}

async fn get(
    state: &ApiState,
    resource: &ServedResource,
    r: &ResourceRef,
    target: &ClusterTarget,
    name: &str,
    meta: &RequestMeta<'_>,
) -> ApiResult {
    let cluster =
        match scope_of(state, target).await? {
            Scope::Cluster(c) => c,
            Scope::AllClusters => return Err(ApiError::bad_request(
                "the wildcard cluster \"*\" supports only list and watch; name a workspace to get one object",
            )),
        };
    let key = (cluster, r.namespace.clone(), name.to_owned());
    let obj = state
        .index
        .get(&resource.group_resource(), &key)
        .ok_or_else(|| ApiError::not_found(&resource.group, &resource.plural, name))?;
    let obj = state.present(resource, &obj);
    if wants_table(meta.accept()) {
        let include =
            IncludeObject::parse(super::request::query_param(meta.query, "includeObject").as_deref())
                .map_err(ApiError::bad_request)?;
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        return Ok(Reply::Typed(
            table::render(resource, &[&obj], &rv, include, Utc::now()),
            TABLE_MEDIA_TYPE,
        ));
    }
    Ok(Reply::Json(obj))
}

/// Objects carry their apiVersion and kind, as kube-apiserver's do.
fn with_type(resource: &ServedResource, obj: &Value) -> Value {
    let mut o = obj.clone();
    o["apiVersion"] = json!(resource.api_version());
    o["kind"] = json!(resource.kind);
    o
}

fn list(
    state: &ApiState,
    resource: &ServedResource,
    r: &ResourceRef,
    scope: &Scope,
    options: &ListOptions,
    meta: &RequestMeta<'_>,
) -> ApiResult {
    // A continuation reads the snapshot its first page was served from.
    let at = options
        .continue_token
        .as_ref()
        .map(|t| t.resource_version)
        .or(options.resource_version);
    let listing = state
        .index
        .list_at(&resource.group_resource(), scope, r.namespace.as_deref(), at)
        .ok_or_else(|| ApiError::unavailable("this resource has not been listed from kcp yet"))?
        .map_err(|e| {
            if options.continue_token.is_some() {
                ApiError::expired(format!(
                    "The provided continue parameter is too old to display a consistent list result ({e}). \
                     You can start a new list without the continue parameter."
                ))
            } else {
                ApiError::expired(e.to_string())
            }
        })?;
    let rv: u64 = listing.resource_version.parse().unwrap_or(0);
    let after = options.continue_token.as_ref().map(|t| &t.after);
    let selected = listing
        .items
        .iter()
        .filter(|o| after.is_none_or(|a| object_key(o).is_ok_and(|k| &k > a)))
        .filter(|o| options.selects(o));
    let mut page: Vec<&Value> = Vec::new();
    let mut continue_token = None;
    for obj in selected {
        if options.limit.is_some_and(|l| page.len() >= l) {
            let last = page.last().and_then(|o| object_key(o).ok());
            continue_token = last.map(|after| {
                ContinueToken {
                    resource_version: rv,
                    after,
                }
                .encode()
            });
            break;
        }
        page.push(obj);
    }
    let mut list_meta = json!({"resourceVersion": listing.resource_version});
    if let Some(c) = continue_token {
        list_meta["continue"] = json!(c);
    }
    let items: Vec<Value> = page.iter().map(|o| state.present(resource, o)).collect();
    if wants_table(meta.accept()) {
        let rows: Vec<&Value> = items.iter().collect();
        let mut t = table::render(
            resource,
            &rows,
            &listing.resource_version,
            options.include_object,
            Utc::now(),
        );
        t["metadata"] = list_meta;
        return Ok(Reply::Typed(t, TABLE_MEDIA_TYPE));
    }
    Ok(Reply::Json(json!({
        "apiVersion": resource.api_version(),
        "kind": resource.list_kind,
        "metadata": list_meta,
        "items": items,
    })))
}

fn watch(
    state: &Arc<ApiState>,
    resource: &ServedResource,
    r: &ResourceRef,
    scope: Scope,
    options: ListOptions,
    meta: &RequestMeta<'_>,
) -> ApiResult {
    let start = match (options.resource_version, options.send_initial_events) {
        (Some(rv), false) => WatchStart::After(rv),
        _ => WatchStart::Snapshot,
    };
    let opening = state
        .index
        .watch(&resource.group_resource(), &scope, r.namespace.as_deref(), start)
        .ok_or_else(|| ApiError::unavailable("this resource has not been listed from kcp yet"))?
        .map_err(|e| ApiError::expired(e.to_string()));
    let req = WatchRequest {
        resource: resource.clone(),
        scope,
        namespace: r.namespace.clone(),
        options,
        table: wants_table(meta.accept()),
    };
    Ok(Reply::Watch(watch::start(state.clone(), req, opening)))
}

async fn forward(
    state: &ApiState,
    resource: &ServedResource,
    target: &ClusterTarget,
    verb: &str,
    meta: RequestMeta<'_>,
) -> ApiResult {
    if !resource.verbs.iter().any(|v| v == verb) {
        return Err(ApiError::method_not_allowed(meta.method.as_str()));
    }
    let cluster = match target {
        ClusterTarget::Wildcard => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the wildcard cluster \"*\" supports only list and watch; name a workspace to write",
            ))
        }
        ClusterTarget::Name(c) => c.0.as_str(),
        ClusterTarget::Path(p) => p.as_str(),
    };
    let forwarder = state
        .forwarder
        .as_ref()
        .ok_or_else(|| ApiError::method_not_allowed(meta.method.as_str()))?;
    let response = forwarder
        .forward(Forwarded {
            method: meta.method.clone(),
            cluster,
            api_path: meta.api_path,
            query: meta.query,
            headers: meta.headers,
            body: meta.body,
            user: meta
                .user
                .ok_or_else(|| ApiError::new(401, "Unauthorized", "Unauthorized"))?,
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, verb, resource = %resource.plural, "forwarding to kcp failed");
            ApiError::unavailable("kcp did not accept the forwarded request; retry shortly")
        })?;
    Ok(Reply::Forwarded(response))
}
