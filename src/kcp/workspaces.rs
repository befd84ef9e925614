//! Resolving the `{cluster}` segment of a request path. Users write workspace
//! paths (`root:team-a`); kcp's virtual workspaces and TMC's index speak
//! logical-cluster names. A path is resolved through its parent's `Workspace`
//! object (`spec.cluster`), and the answer is cached briefly: a workspace can be
//! deleted and re-created under the same path with a new logical cluster.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Kcp, KcpError};
use crate::index::LogicalCluster;

/// What the `{cluster}` segment of a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterTarget {
    /// A logical-cluster name, used as is.
    Name(LogicalCluster),
    /// A workspace path such as `root:team-a`, resolved through kcp.
    Path(String),
    /// `*`: every logical cluster (list and watch only).
    Wildcard,
}

/// Why a `{cluster}` segment is not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClusterTargetError {
    #[error("cluster name {0:?} is not a valid logical-cluster name or workspace path: use lowercase letters, digits and '-', with ':' between workspace names")]
    Invalid(String),
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Parses the `{cluster}` segment. Pure; no lookups.
pub fn parse_cluster_target(segment: &str) -> Result<ClusterTarget, ClusterTargetError> {
    if segment == "*" {
        return Ok(ClusterTarget::Wildcard);
    }
    let invalid = || ClusterTargetError::Invalid(segment.to_owned());
    if segment.contains(':') {
        if segment.split(':').all(is_label) {
            Ok(ClusterTarget::Path(segment.to_owned()))
        } else {
            Err(invalid())
        }
    } else if is_label(segment) {
        // `root` is both the root workspace's path and its logical-cluster name.
        Ok(ClusterTarget::Name(LogicalCluster(segment.to_owned())))
    } else {
        Err(invalid())
    }
}

/// Why a workspace path could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("workspace {0:?} not found")]
    NotFound(String),
    #[error("workspace {0:?} is not ready yet (it has no logical cluster)")]
    NotReady(String),
    #[error("resolving workspace {path:?}: {source}")]
    Kcp {
        path: String,
        #[source]
        source: KcpError,
    },
}

const CACHE_TTL: Duration = Duration::from_secs(30);

/// Resolves workspace paths to logical clusters, with a short-lived cache.
#[derive(Clone)]
pub struct WorkspaceResolver {
    kcp: Kcp,
    cache: Arc<Mutex<HashMap<String, (LogicalCluster, Instant)>>>,
}

impl WorkspaceResolver {
    pub fn new(kcp: Kcp) -> Self {
        Self {
            kcp,
            cache: Default::default(),
        }
    }

    /// The logical cluster of a workspace path (`root:team-a`).
    pub async fn resolve(&self, path: &str) -> Result<LogicalCluster, ResolveError> {
        if let Some((cluster, at)) = self.cache.lock().expect("cache lock").get(path) {
            if at.elapsed() < CACHE_TTL {
                return Ok(cluster.clone());
            }
        }
        let cluster = self.lookup(path).await?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(path.to_owned(), (cluster.clone(), Instant::now()));
        Ok(cluster)
    }

    async fn lookup(&self, path: &str) -> Result<LogicalCluster, ResolveError> {
        let Some((parent, name)) = path.rsplit_once(':') else {
            return Ok(LogicalCluster(path.to_owned()));
        };
        let kcp_err = |source| ResolveError::Kcp {
            path: path.to_owned(),
            source,
        };
        let client = self.kcp.workspace_client(parent).map_err(kcp_err)?;
        let req = http::Request::get(format!("/apis/tenancy.kcp.io/v1alpha1/workspaces/{name}"))
            .body(Vec::new())
            .map_err(|e| kcp_err(KcpError::Unexpected(e.to_string())))?;
        let ws: Value = match client.request(req).await {
            Ok(ws) => ws,
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 403 => {
                // 403 too: kcp answers Forbidden for workspaces that do not exist
                // in parents the caller cannot see; never reveal which.
                return Err(ResolveError::NotFound(path.to_owned()));
            }
            Err(e) => return Err(kcp_err(e.into())),
        };
        match ws["spec"]["cluster"].as_str() {
            Some(c) if !c.is_empty() => Ok(LogicalCluster(c.to_owned())),
            _ => Err(ResolveError::NotReady(path.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_paths_and_wildcard() {
        assert_eq!(parse_cluster_target("*"), Ok(ClusterTarget::Wildcard));
        assert_eq!(
            parse_cluster_target("root:team-a"),
            Ok(ClusterTarget::Path("root:team-a".into()))
        );
        assert_eq!(
            parse_cluster_target("2x8sd7k1"),
            Ok(ClusterTarget::Name(LogicalCluster("2x8sd7k1".into())))
        );
        assert_eq!(
            parse_cluster_target("root"),
            Ok(ClusterTarget::Name(LogicalCluster("root".into())))
        );
    }

    #[test]
    fn rejects_path_tricks() {
        for bad in [
            "",
            "..",
            "root:",
            ":root",
            "root::a",
            "root:../x",
            "Root",
            "a/b",
            "root:a b",
            "-a",
            "a-",
            "**",
            "root:*",
            "%2e%2e",
        ] {
            assert!(parse_cluster_target(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(parse_cluster_target(&"a".repeat(64)).is_err());
    }
}
