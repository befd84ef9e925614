//! `kubectl tmc cluster ...`: registering physical clusters into a kcp workspace;
//! `kubectl tmc explain`: why a workload is placed where it is, and what a policy would do.
//!
//! The plugin binary (`src/bin/kubectl-tmc.rs`) is a thin shell; everything it does lives here so
//! it can be unit-tested. The module follows the project's "pure core, I/O at the edge" shape:
//!
//! - [`args`]: parsing of `--label k=v`, `--capability type[=prop=value,...]`, names, durations.
//! - [`kubeconfig`]: flattening and minifying the physical cluster's kubeconfig (what
//!   `kubectl config view --flatten --minify` does), from `serde_yaml` values, with validation.
//! - [`objects`]: the Namespace, Secret and ClusterRegistration that `register` applies, the
//!   redaction of Secret data for printing, and kubectl-style rendering.
//! - [`cli`]: the clap definitions of `kubectl tmc cluster`, with help that teaches.
//! - [`commands`]: the only part that talks to kcp (kube-rs client calls).
//! - [`explain`]: `kubectl tmc explain`, pure (engine inputs from kcp JSON, rendering) except
//!   for [`explain::fetch`], which reads the workspace through the same kcp client.
//!
//! Credentials never reach stdout or stderr: the kubeconfig's bytes travel only inside the
//! Secret sent to kcp, printed objects carry `<redacted N bytes>` instead, and every error
//! names files, contexts and fields, never their values.

pub mod args;
pub mod cli;
pub mod commands;
pub mod explain;
pub mod kubeconfig;
pub mod objects;

pub use cli::{ClusterCommand, CordonArgs, DeregisterArgs, ExplainArgs, KcpArgs, OutputFormat, RegisterArgs};
pub use commands::{run, Error};

/// Field manager of every write the plugin makes, so `metadata.managedFields` shows which fields
/// `kubectl tmc cluster register` owns (and re-registering can drop fields it set before).
pub const FIELD_MANAGER: &str = "kubectl-tmc";

/// Label on the Secrets `register` creates, valued with the cluster's name. `deregister` deletes
/// a referenced Secret only when it carries this label, so a Secret a user made by hand and
/// pointed a registration at is never deleted behind their back.
pub const CLUSTER_LABEL: &str = "tmc.kcp.io/cluster";

/// Namespace the kubeconfig Secrets go to unless `--namespace` says otherwise.
/// ClusterRegistrations are cluster-scoped but Secrets are not, so some namespace is needed.
pub const DEFAULT_NAMESPACE: &str = "tmc-system";

/// Name of the Secret holding cluster `cluster`'s kubeconfig: `<cluster>-kubeconfig`.
pub fn secret_name(cluster: &str) -> String {
    format!("{cluster}-kubeconfig")
}
