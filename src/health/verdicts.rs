//! The four conditions TMC sets on a ClusterRegistration, and their messages.
//!
//! Each message says what is wrong and what to do about it, in plain English, and is
//! stable while the situation is (no "47s ago"): a message that changed with every
//! evaluation would be a status change and cost a kcp write per cluster per probe. Messages
//! are built from fixed text, HTTP codes, [`super::KubeconfigFault`] categories, durations
//! from the policy, and scrubbed error text only — never from Secret contents.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::cluster::{Answer, CredentialsState, Failure};
use super::redact::scrub;
use super::{reason, CredentialsProblem, HealthPolicy};
use crate::api::{ClusterRegistrationStatus, Condition, ConditionStatus, ConnectedAPI};

/// A condition's status, reason and message, before it is stamped with a time.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Verdict {
    pub(super) status: ConditionStatus,
    pub(super) reason: String,
    pub(super) message: String,
}

impl Verdict {
    fn new(status: ConditionStatus, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// Reasons that record the cluster's own verdict on the credentials. Only these are carried
/// over from the stored status once this process has probed without a verdict: a stored
/// Secret problem (SecretNotFound, …) may have been fixed since, and claiming it still holds
/// would send users looking for a problem that is gone.
const CLUSTER_VERDICTS: [&str; 3] = [
    reason::CREDENTIALS_ACCEPTED,
    reason::UNAUTHORIZED,
    reason::FORBIDDEN,
];

/// `CredentialsValid`: the newest verdict on the credentials; Unknown until one exists.
pub(super) fn credentials(
    state: &CredentialsState,
    last_failure: Option<&Failure>,
    probed: bool,
    previous: Option<&Condition>,
) -> Verdict {
    use ConditionStatus::{False, True, Unknown};
    match state {
        CredentialsState::Accepted => Verdict::new(
            True,
            reason::CREDENTIALS_ACCEPTED,
            "the cluster accepted the credentials in the kubeconfig Secret",
        ),
        CredentialsState::Problem(problem) => credentials_problem(problem),
        CredentialsState::Rejected(403) => Verdict::new(
            False,
            reason::FORBIDDEN,
            "the cluster accepted the kubeconfig's identity but denied it access (HTTP 403); grant that \
             user read access to /readyz, /version, API discovery and Nodes, and the rights TMC needs to \
             sync workloads",
        ),
        CredentialsState::Rejected(code) => Verdict::new(
            False,
            reason::UNAUTHORIZED,
            format!(
                "the cluster rejected the credentials in the kubeconfig (HTTP {code}); the token or client \
                 certificate is invalid or expired: update the Secret named by spec.kubeconfigSecretRef"
            ),
        ),
        CredentialsState::Unknown => {
            let carried = previous.filter(|c| {
                c.status != Unknown
                    && (!probed || CLUSTER_VERDICTS.contains(&c.reason.as_deref().unwrap_or_default()))
            });
            if let Some(c) = carried {
                return Verdict {
                    status: c.status,
                    reason: c.reason.clone().unwrap_or_default(),
                    message: c.message.clone().unwrap_or_default(),
                };
            }
            match last_failure {
                Some(failure) => Verdict::new(
                    Unknown,
                    reason::CLUSTER_UNREACHABLE,
                    format!(
                        "TMC could not reach the cluster to verify its credentials; last error: {failure}. \
                         Check the server URL in the kubeconfig and that the cluster's API server is \
                         reachable from TMC"
                    ),
                ),
                None => Verdict::new(
                    Unknown,
                    reason::AWAITING_FIRST_PROBE,
                    "TMC has not probed the cluster yet",
                ),
            }
        }
    }
}

fn credentials_problem(problem: &CredentialsProblem) -> Verdict {
    let (reason, message) = match problem {
        CredentialsProblem::SecretNotFound => (
            reason::SECRET_NOT_FOUND,
            "the Secret named by spec.kubeconfigSecretRef was not found; create it with the cluster's \
             kubeconfig or correct the reference"
                .to_owned(),
        ),
        CredentialsProblem::KeyMissing { key } => (
            reason::KUBECONFIG_KEY_MISSING,
            format!(
                "the Secret named by spec.kubeconfigSecretRef has no key \"{}\"; store the kubeconfig \
                 under that key or set spec.kubeconfigSecretRef.key to the key that holds it",
                scrub(key)
            ),
        ),
        CredentialsProblem::KubeconfigInvalid { fault } => (
            reason::KUBECONFIG_INVALID,
            format!(
                "the kubeconfig in the Secret named by spec.kubeconfigSecretRef is not valid: {fault}; \
                 replace it with a working kubeconfig for the cluster"
            ),
        ),
        CredentialsProblem::NoSecretRef => (
            reason::NO_KUBECONFIG_SECRET_REF,
            "spec.kubeconfigSecretRef is not set, so TMC has no credentials for the cluster; set it to a \
             Secret that holds the cluster's kubeconfig"
                .to_owned(),
        ),
    };
    Verdict::new(ConditionStatus::False, reason, message)
}

/// `HeartbeatHealthy` at `now`: True while the last answer is younger than `threshold`.
/// Evaluated against `now`, not at probe time, so a cluster whose prober went silent
/// still turns False.
pub(super) fn heartbeat(
    answered_at: Option<DateTime<Utc>>,
    last_failure: Option<&Failure>,
    probed: bool,
    now: DateTime<Utc>,
    threshold: Duration,
) -> Verdict {
    use ConditionStatus::{False, True, Unknown};
    let Some(at) = answered_at else {
        let message = match last_failure {
            Some(failure) => format!("the cluster has not answered a probe yet; last error: {failure}"),
            None if probed => "the cluster has not answered a probe yet".to_owned(),
            None => "TMC has not probed the cluster yet".to_owned(),
        };
        return Verdict::new(Unknown, reason::AWAITING_FIRST_PROBE, message);
    };
    let expires = chrono::Duration::from_std(threshold)
        .ok()
        .and_then(|t| at.checked_add_signed(t));
    if expires.is_none_or(|expires| now < expires) {
        return Verdict::new(
            True,
            reason::HEARTBEAT_RECEIVED,
            format!(
                "the cluster answered a probe within the heartbeat threshold ({})",
                Human(threshold)
            ),
        );
    }
    let since = at.format("%Y-%m-%dT%H:%M:%SZ");
    let cause = match last_failure {
        Some(failure @ Failure::Unreachable(_)) => format!(
            "last error: {failure}. Check that the cluster's API server is running and reachable from TMC"
        ),
        Some(failure) => format!("last error: {failure}. See the CredentialsValid condition"),
        None => "no probe has completed since. Check that tmc-server is running and can reach the cluster"
            .to_owned(),
    };
    Verdict::new(
        False,
        reason::HEARTBEAT_EXPIRED,
        format!(
            "no successful probe since {since} (heartbeat threshold {}); {cause}",
            Human(threshold)
        ),
    )
}

/// `APIsCompatible` and `connectedAPIs` (one entry per required API, in policy order) from
/// the last answer's discovery. The `apiBinding` of a stored entry is kept: it is not
/// derived here.
pub(super) fn apis(
    answer: Option<&Answer>,
    policy: &HealthPolicy,
    previous: Option<&ClusterRegistrationStatus>,
) -> (Verdict, Vec<ConnectedAPI>) {
    let Some(answer) = answer else {
        return (
            Verdict::new(
                ConditionStatus::Unknown,
                reason::AWAITING_FIRST_PROBE,
                "TMC has not read the cluster's API discovery yet",
            ),
            Vec::new(),
        );
    };
    let mut required: Vec<&(String, String)> = Vec::new();
    for api in &policy.required_apis {
        if !required.contains(&api) {
            required.push(api);
        }
    }
    let mut connected = Vec::with_capacity(required.len());
    let mut missing = Vec::new();
    for (group, resource) in required {
        let listed = || {
            answer
                .apis
                .iter()
                .filter(|a| a.group == *group && a.resource == *resource)
        };
        let served = listed().find(|a| a.served);
        let version = served
            .or_else(|| listed().next())
            .map(|a| scrub(&a.version))
            .filter(|v| !v.is_empty());
        let name = api_name(group, resource);
        let error = served
            .is_none()
            .then(|| format!("the cluster does not serve {name}"));
        if served.is_none() {
            missing.push(name);
        }
        let api_binding = previous
            .and_then(|p| {
                p.connected_apis
                    .iter()
                    .find(|c| c.group == *group && c.resource == *resource)
            })
            .and_then(|c| c.api_binding.clone());
        connected.push(ConnectedAPI {
            api_binding,
            group: group.clone(),
            version,
            resource: resource.clone(),
            connected: served.is_some(),
            error,
        });
    }
    let verdict = if missing.is_empty() {
        let message = match connected.len() {
            0 => "no APIs are required".to_owned(),
            1 => "the cluster serves the 1 required API".to_owned(),
            n => format!("the cluster serves all {n} required APIs"),
        };
        Verdict::new(ConditionStatus::True, reason::ALL_APIS_SERVED, message)
    } else {
        Verdict::new(
            ConditionStatus::False,
            reason::MISSING_APIS,
            format!(
                "the cluster does not serve {}, which TMC syncs; install or enable them on the cluster \
                 (it is not Ready until it serves them)",
                missing.join(", ")
            ),
        )
    };
    (verdict, connected)
}

/// `apps/deployments`; the core group's resources are bare (`services`).
fn api_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{group}/{resource}")
    }
}

/// `Ready`: True only when the other three are True and the last answer's `/readyz` was
/// ok; otherwise False with the reason and message of the first failing one (in the order
/// a user should fix them: credentials, heartbeat, APIs, then the cluster itself).
pub(super) fn ready(
    credentials: &Verdict,
    heartbeat: &Verdict,
    apis: &Verdict,
    readyz: Option<bool>,
) -> Verdict {
    if let Some(failing) = [credentials, heartbeat, apis].into_iter().find(|v| !v.is_true()) {
        return Verdict {
            status: ConditionStatus::False,
            ..failing.clone()
        };
    }
    if readyz != Some(true) {
        return Verdict::new(
            ConditionStatus::False,
            reason::NOT_READY,
            "the cluster's API server reports it is not ready (/readyz); check the health of its control \
             plane",
        );
    }
    Verdict::new(
        ConditionStatus::True,
        reason::CLUSTER_READY,
        "the cluster answers probes, accepts TMC's credentials and serves every required API",
    )
}

impl fmt::Display for Failure {
    /// A short account of a failed probe, for "last error: …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials(CredentialsProblem::SecretNotFound) => {
                f.write_str("the kubeconfig Secret was not found")
            }
            Self::Credentials(CredentialsProblem::KeyMissing { key }) => {
                write!(f, "the kubeconfig Secret has no key \"{}\"", scrub(key))
            }
            Self::Credentials(CredentialsProblem::KubeconfigInvalid { .. }) => {
                f.write_str("the kubeconfig is not valid")
            }
            Self::Credentials(CredentialsProblem::NoSecretRef) => {
                f.write_str("spec.kubeconfigSecretRef is not set")
            }
            Self::Rejected(code) => write!(f, "the cluster rejected the credentials (HTTP {code})"),
            Self::Unreachable(message) if message.is_empty() => {
                f.write_str("the cluster could not be reached")
            }
            Self::Unreachable(message) => f.write_str(message),
        }
    }
}

/// A duration for people: `40s`, `2m30s`, `1h`, `500ms`.
pub(super) struct Human(pub(super) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs == 0 {
            return write!(f, "{}ms", self.0.as_millis());
        }
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}
