//! The kcp adapter: the only place that talks to kcp. It finds the APIExport
//! virtual workspaces, watches them into the index (`watch`), and resolves
//! workspace paths to logical clusters (`workspaces`).

pub mod endpoints;
pub mod forward;
pub mod reviews;
pub mod watch;
pub mod workspaces;

use std::path::PathBuf;

use http::Uri;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Errors talking to kcp, as shown to operators.
#[derive(Debug, thiserror::Error)]
pub enum KcpError {
    #[error("cannot read the kcp kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("the kcp kubeconfig's server URL {0:?} is not a valid URL")]
    BadServerUrl(String),
    #[error("kcp request failed: {0}")]
    Request(#[from] kube::Error),
    #[error("{0}")]
    Unexpected(String),
}

/// A connection to kcp: credentials from a kubeconfig, and clients scoped to
/// a workspace or to a virtual-workspace URL.
#[derive(Clone)]
pub struct Kcp {
    pub(crate) config: kube::Config,
    /// `https://host:port` of the kcp server (front-proxy or shard), no path.
    pub(crate) origin: String,
}

impl Kcp {
    /// Loads a kubeconfig pointing at kcp (any workspace: the path is replaced
    /// per request).
    pub async fn from_kubeconfig(path: &PathBuf, context: Option<&str>) -> Result<Self, KcpError> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|source| KcpError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })?;
        let options = KubeConfigOptions {
            context: context.map(str::to_owned),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KcpError::Kubeconfig {
                path: path.display().to_string(),
                source,
            })?;
        let url = config.cluster_url.clone();
        let origin = match (url.scheme_str(), url.authority()) {
            (Some(s), Some(a)) => format!("{s}://{a}"),
            _ => return Err(KcpError::BadServerUrl(url.to_string())),
        };
        Ok(Self { config, origin })
    }

    /// A client whose requests go to `/clusters/{workspace}` (a path such as
    /// `root:tmc` or a logical-cluster name).
    pub fn workspace_client(&self, workspace: &str) -> Result<kube::Client, KcpError> {
        self.client_at(&format!("{}/clusters/{}", self.origin, workspace))
    }

    /// A client rooted at an absolute URL on the same kcp (e.g. a virtual workspace).
    pub fn client_at(&self, url: &str) -> Result<kube::Client, KcpError> {
        let uri: Uri = url.parse().map_err(|_| KcpError::BadServerUrl(url.to_owned()))?;
        let mut config = self.config.clone();
        config.cluster_url = uri;
        kube::Client::try_from(config).map_err(KcpError::Request)
    }
}
