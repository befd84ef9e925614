//! Health of physical clusters: what a probe saw, and the `ClusterRegistration` status TMC
//! derives from it.
//!
//! Everything here is pure — no I/O, no async, no clock. The prober (an adapter at the edge)
//! turns each probe of a kube-apiserver into a [`ProbeReport`], [`ClusterHealth::observe`]
//! folds it in, and the status controller asks [`ClusterHealth::desired_status`] for the
//! status at `now`. Keeping time an argument is what lets a silent cluster turn NotReady
//! without a new probe (the controller re-evaluates at [`ClusterHealth::heartbeat_expiry`]),
//! and what lets the tests drive every rule with fixed instants.
//!
//! Writes to kcp are the expensive part at scale, so [`should_write`] coalesces them: a
//! status that differs from the stored one only by a fresher `lastHeartbeat` is written at
//! most once per [`HealthPolicy::heartbeat_write_interval`]; anything users act on (a
//! condition, capacity, version, APIs) is written at once.
//!
//! Credentials never reach a status: messages are built only from fixed text, HTTP codes,
//! categories ([`KubeconfigFault`]) and caller-scrubbed error messages, which are scrubbed
//! again here (long base64-like runs are redacted) as a second line of defence.

mod backoff;
mod cluster;
mod quantity;
mod redact;
mod verdicts;
mod writes;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

pub use backoff::next_probe_delay;
pub use cluster::ClusterHealth;
pub use quantity::{capacity_summary, quantity_millis, sum_quantities};
pub use writes::should_write;

/// Condition type: whether TMC could build credentials and the cluster accepted them.
pub const CREDENTIALS_VALID: &str = "CredentialsValid";
/// Condition type: whether the cluster answered a probe within the heartbeat threshold.
pub const HEARTBEAT_HEALTHY: &str = "HeartbeatHealthy";
/// Condition type: whether the cluster serves every API workloads need.
pub const APIS_COMPATIBLE: &str = "APIsCompatible";

/// The `reason`s TMC sets on a ClusterRegistration's conditions. They are API: users and
/// alerts match on them, so they only ever gain members.
pub mod reason {
    /// No probe (or no answer) yet; the condition is Unknown.
    pub const AWAITING_FIRST_PROBE: &str = "AwaitingFirstProbe";
    /// Probes failed to reach the cluster before it ever answered, so the credentials are
    /// unverified (CredentialsValid Unknown).
    pub const CLUSTER_UNREACHABLE: &str = "ClusterUnreachable";
    /// The Secret named by `spec.kubeconfigSecretRef` does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// The Secret exists but lacks the kubeconfig key.
    pub const KUBECONFIG_KEY_MISSING: &str = "KubeconfigKeyMissing";
    /// The kubeconfig could not be turned into a client configuration.
    pub const KUBECONFIG_INVALID: &str = "KubeconfigInvalid";
    /// `spec.kubeconfigSecretRef` is not set.
    pub const NO_KUBECONFIG_SECRET_REF: &str = "NoKubeconfigSecretRef";
    /// The cluster answered 401 (or another rejection that is not 403).
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// The cluster answered 403.
    pub const FORBIDDEN: &str = "Forbidden";
    /// The cluster answered with our credentials.
    pub const CREDENTIALS_ACCEPTED: &str = "CredentialsAccepted";
    /// The last answer is within the heartbeat threshold.
    pub const HEARTBEAT_RECEIVED: &str = "HeartbeatReceived";
    /// No answer within the heartbeat threshold.
    pub const HEARTBEAT_EXPIRED: &str = "HeartbeatExpired";
    /// Every required API is served.
    pub const ALL_APIS_SERVED: &str = "AllAPIsServed";
    /// Some required APIs are not served.
    pub const MISSING_APIS: &str = "MissingAPIs";
    /// The cluster's `/readyz` did not report ok.
    pub const NOT_READY: &str = "NotReady";
    /// Ready: everything holds.
    pub const CLUSTER_READY: &str = "ClusterReady";
}

/// Whether the cluster's discovery lists one API, as the probe read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiPresence {
    /// API group; empty for the core group.
    pub group: String,
    /// Version the resource is listed under, e.g. `v1`.
    pub version: String,
    /// Plural resource name, e.g. `deployments`.
    pub resource: String,
    /// Whether discovery lists it as served (a listed but unserved version is `false`).
    pub served: bool,
}

/// Why TMC could not build credentials for a cluster from its Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialsProblem {
    /// The Secret named by `spec.kubeconfigSecretRef` does not exist (or is not visible).
    SecretNotFound,
    /// The Secret has no data under `key`.
    KeyMissing {
        /// The key TMC looked for (`spec.kubeconfigSecretRef.key`).
        key: String,
    },
    /// The kubeconfig is not usable. Only a category is carried, never the parser's text:
    /// parse errors quote their input, and the input is a credential.
    KubeconfigInvalid {
        /// What is wrong with it.
        fault: KubeconfigFault,
    },
    /// `spec.kubeconfigSecretRef` is not set.
    NoSecretRef,
}

/// What is wrong with a kubeconfig, as a closed set of categories: users get an actionable
/// message and no fragment of the kubeconfig can leak into status through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KubeconfigFault {
    /// Not UTF-8, not base64 in the Secret, or not a kubeconfig document (YAML/JSON parse
    /// failure).
    NotYaml,
    /// No `current-context`, or it names a context that is not defined.
    NoCurrentContext,
    /// The current context names a cluster entry that is not defined.
    MissingCluster,
    /// The current context names a user entry that is not defined.
    MissingUser,
    /// The cluster's `server` is missing or not a valid URL.
    InvalidServer,
    /// A certificate or key (`certificate-authority-data`, `client-certificate-data`,
    /// `client-key-data`) is not valid PEM.
    InvalidCertificate,
    /// Credentials TMC does not use on a server: `exec`, `auth-provider`, or files on disk
    /// (`tokenFile`, `client-certificate` paths). Running commands named by a tenant's
    /// Secret would be a code-execution hole.
    UnsupportedAuth,
    /// Anything else that stops a client configuration (or client) being built.
    Unusable,
}

impl KubeconfigFault {
    /// Plain-English description, completing "the kubeconfig is not valid: …".
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotYaml => "it could not be decoded and parsed as a kubeconfig (YAML or JSON)",
            Self::NoCurrentContext => "it sets no current-context, or the current-context is not defined",
            Self::MissingCluster => "its current context refers to a cluster entry that is not defined",
            Self::MissingUser => "its current context refers to a user entry that is not defined",
            Self::InvalidServer => "the cluster's server URL is missing or not a valid URL",
            Self::InvalidCertificate => {
                "a certificate or key (certificate-authority-data, client-certificate-data or \
                 client-key-data) is not valid PEM"
            }
            Self::UnsupportedAuth => {
                "it uses exec, auth-provider or file-based credentials, which TMC does not run or \
                 read; embed a token or client certificate instead"
            }
            Self::Unusable => "TMC could not build a client configuration from it",
        }
    }
}

impl fmt::Display for KubeconfigFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// What one probe of a cluster found.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeOutcome {
    /// The cluster answered: /readyz ok (or not), version and discovery read, nodes listed.
    Answered {
        /// Whether `/readyz` reported ok.
        ready: bool,
        /// `gitVersion` from `/version`, e.g. `v1.34.1`.
        version: String,
        /// The cluster's discovery, as far as TMC cares.
        apis: Vec<ApiPresence>,
        /// `status.capacity` summed over Nodes ([`sum_quantities`]).
        capacity: BTreeMap<String, Quantity>,
        /// `status.allocatable` summed over Nodes ([`sum_quantities`]).
        allocatable: BTreeMap<String, Quantity>,
        /// How many Nodes were listed.
        nodes: u32,
    },
    /// Credentials could not be built from the Secret.
    Credentials(CredentialsProblem),
    /// The cluster rejected our credentials (HTTP 401/403).
    Rejected {
        /// The HTTP status code.
        code: u16,
    },
    /// Could not reach it / it errored (connect refused, timeout, 5xx). `message` is already
    /// scrubbed by the caller; keep it stable across probes (no durations or request ids),
    /// because a changed message is a changed status and costs a write.
    Unreachable {
        /// What went wrong, for people.
        message: String,
    },
}

/// One probe's outcome and when it completed.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeReport {
    /// When the probe completed.
    pub at: DateTime<Utc>,
    /// What it found.
    pub outcome: ProbeOutcome,
}

/// Knobs of health evaluation, from the server's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// A cluster with no successful answer for this long is HeartbeatHealthy=False and so
    /// not Ready. Make it a few probe intervals, so one lost probe does not flap Ready.
    pub heartbeat_threshold: Duration,
    /// A fresher `lastHeartbeat` alone is written at most this often. Keep it well below
    /// `heartbeat_threshold`: readers of the stored `lastHeartbeat` see it lag by up to this.
    pub heartbeat_write_interval: Duration,
    /// `(group, resource)` of every API a cluster must serve to run workloads (the workload
    /// export's kinds); the core group is `""`. One `connectedAPIs` entry each.
    pub required_apis: Vec<(String, String)>,
}

/// Default heartbeat threshold, as the kubelet's node-monitor grace period: 40s.
pub const DEFAULT_HEARTBEAT_THRESHOLD: Duration = Duration::from_secs(40);
/// Default heartbeat write interval: half the threshold.
pub const DEFAULT_HEARTBEAT_WRITE_INTERVAL: Duration = Duration::from_secs(20);

impl Default for HealthPolicy {
    /// The default thresholds and no required APIs (the server fills those in from the
    /// workload export it serves).
    fn default() -> Self {
        Self {
            heartbeat_threshold: DEFAULT_HEARTBEAT_THRESHOLD,
            heartbeat_write_interval: DEFAULT_HEARTBEAT_WRITE_INTERVAL,
            required_apis: Vec::new(),
        }
    }
}
