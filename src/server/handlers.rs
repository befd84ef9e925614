//! Applies a parsed request to the index and renders the answer.

use std::sync::Arc;

use chrono::Utc;
use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::discovery;
use super::request::{query_param, wants_table, ApiRequest, ClusterOp, ResourceRef};
use super::status::ApiError;
use super::table::{self, IncludeObject};
use crate::index::{Index, LogicalCluster, Scope};
use crate::kcp::workspaces::{ClusterTarget, ResolveError, WorkspaceResolver};
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
}

/// The parts of an HTTP request a handler reads besides the path.
pub struct RequestMeta<'a> {
    pub query: Option<&'a str>,
    pub accept: Option<&'a str>,
}

/// A successful answer: a JSON body.
pub type ApiResult = Result<Value, ApiError>;

pub async fn handle(state: &ApiState, req: ApiRequest, meta: &RequestMeta<'_>) -> ApiResult {
    match req {
        ApiRequest::Livez => Ok(json!("ok")),
        ApiRequest::Readyz => {
            if state.index.synced() {
                Ok(json!("ok"))
            } else {
                Err(ApiError::unavailable(
                    "not ready: the initial lists from kcp have not completed",
                ))
            }
        }
        ApiRequest::Version => Ok(version()),
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
    state: &ApiState,
    target: ClusterTarget,
    op: ClusterOp,
    meta: &RequestMeta<'_>,
) -> ApiResult {
    match op {
        ClusterOp::Version => Ok(version()),
        ClusterOp::CoreVersions => Ok(discovery::core_versions()),
        ClusterOp::CoreResources => Ok(discovery::core_resources()),
        ClusterOp::Groups => Ok(discovery::group_list(&state.resources)),
        ClusterOp::Group { group } => {
            discovery::group(&state.resources, &group).ok_or_else(|| ApiError::not_found_path(&group))
        }
        ClusterOp::Resources { group, version } => {
            discovery::resource_list(&state.resources, &group, &version)
                .ok_or_else(|| ApiError::not_found_path(&group))
        }
        ClusterOp::List(r) => {
            let resource = find(state, &r)?;
            let scope = scope_of(state, target).await?;
            list(state, resource, &r, &scope, meta)
        }
        ClusterOp::Get { resource: r, name } => {
            let resource = find(state, &r)?;
            let cluster = match scope_of(state, target).await? {
                Scope::Cluster(c) => c,
                Scope::AllClusters => {
                    return Err(ApiError::bad_request(
                        "the wildcard cluster \"*\" supports only list and watch; name a workspace to get one object",
                    ))
                }
            };
            let key = (cluster, r.namespace.clone(), name.clone());
            let obj = state
                .index
                .get(&resource.group_resource(), &key)
                .ok_or_else(|| ApiError::not_found(&resource.group, &resource.plural, &name))?;
            if wants_table(meta.accept) {
                let include = IncludeObject::parse(query_param(meta.query, "includeObject").as_deref())
                    .map_err(ApiError::bad_request)?;
                let rv = obj["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                return Ok(table::render(resource, &[&obj], &rv, include, Utc::now()));
            }
            Ok((*obj).clone())
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

async fn scope_of(state: &ApiState, target: ClusterTarget) -> Result<Scope, ApiError> {
    Ok(match target {
        ClusterTarget::Wildcard => Scope::AllClusters,
        ClusterTarget::Name(c) => Scope::Cluster(c),
        ClusterTarget::Path(p) => Scope::Cluster(state.resolver.resolve(&p).await.map_err(|e| match e {
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

fn list(
    state: &ApiState,
    resource: &ServedResource,
    r: &ResourceRef,
    scope: &Scope,
    meta: &RequestMeta<'_>,
) -> ApiResult {
    let listing = state
        .index
        .list(&resource.group_resource(), scope, r.namespace.as_deref())
        .ok_or_else(|| ApiError::unavailable("this resource has not been listed from kcp yet"))?;
    if wants_table(meta.accept) {
        let include = IncludeObject::parse(query_param(meta.query, "includeObject").as_deref())
            .map_err(ApiError::bad_request)?;
        let items: Vec<&Value> = listing.items.iter().map(|v| v.as_ref()).collect();
        return Ok(table::render(
            resource,
            &items,
            &listing.resource_version,
            include,
            Utc::now(),
        ));
    }
    let items: Vec<Value> = listing
        .items
        .iter()
        .map(|o| {
            let mut o = (**o).clone();
            // Items of a List carry their kind, as kube-apiserver's do.
            o["apiVersion"] = json!(resource.api_version());
            o["kind"] = json!(resource.kind);
            o
        })
        .collect();
    Ok(json!({
        "apiVersion": resource.api_version(),
        "kind": resource.list_kind,
        "metadata": {"resourceVersion": listing.resource_version},
        "items": items,
    }))
}
