//! [`ClusterHealth`]: what TMC knows about one cluster's health, folded from probe reports.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::quantity::capacity_summary;
use super::redact::scrub;
use super::verdicts::{self, Verdict};
use super::{
    reason, ApiPresence, CredentialsProblem, HealthPolicy, ProbeOutcome, ProbeReport, APIS_COMPATIBLE,
    CREDENTIALS_VALID, HEARTBEAT_HEALTHY,
};
use crate::api::{find_condition, set_condition, ClusterRegistrationStatus, Condition, READY};

/// The health of one cluster as TMC sees it, updated by each probe.
///
/// In memory only: after a restart it starts empty, and [`ClusterHealth::desired_status`]
/// falls back on the stored status (its `lastHeartbeat`, capacity, APIs and credentials
/// verdict) until the first answer, so a restart neither blanks the status nor flaps
/// `Ready`.
#[derive(Clone, Debug, Default)]
pub struct ClusterHealth {
    /// Completion time of the newest report folded in; older reports are ignored.
    last_probe_at: Option<DateTime<Utc>>,
    /// The last probe the cluster answered.
    last_answer: Option<Answer>,
    /// The newest word on the credentials (unreachable probes say nothing about them).
    credentials: CredentialsState,
    /// The newest failed probe since `last_answer`, for "last error: …".
    last_failure: Option<Failure>,
    consecutive_failures: u32,
}

/// What the cluster said the last time it answered.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Answer {
    pub(super) at: DateTime<Utc>,
    pub(super) ready: bool,
    /// Scrubbed: it comes from the cluster and ends up in status.
    pub(super) version: String,
    pub(super) apis: Vec<ApiPresence>,
    pub(super) capacity: BTreeMap<String, Quantity>,
    pub(super) allocatable: BTreeMap<String, Quantity>,
}

/// The newest verdict on the cluster's credentials.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) enum CredentialsState {
    /// Nothing has tested them yet.
    #[default]
    Unknown,
    /// The cluster answered with them.
    Accepted,
    /// They could not be built from the Secret.
    Problem(CredentialsProblem),
    /// The cluster rejected them with this HTTP code.
    Rejected(u16),
}

/// A failed probe, for messages.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Failure {
    Credentials(CredentialsProblem),
    Rejected(u16),
    /// Scrubbed message.
    Unreachable(String),
}

impl ClusterHealth {
    /// Folds one probe report in. Reports older than one already folded in are ignored, so
    /// a slow probe finishing late cannot move `lastHeartbeat` backwards.
    pub fn observe(&mut self, report: ProbeReport) {
        if self.last_probe_at.is_some_and(|last| report.at < last) {
            return;
        }
        self.last_probe_at = Some(report.at);
        let failure = match report.outcome {
            ProbeOutcome::Answered {
                ready,
                version,
                apis,
                capacity,
                allocatable,
                nodes: _,
            } => {
                self.last_answer = Some(Answer {
                    at: report.at,
                    ready,
                    version: scrub(&version),
                    apis,
                    capacity,
                    allocatable,
                });
                self.credentials = CredentialsState::Accepted;
                self.last_failure = None;
                self.consecutive_failures = 0;
                return;
            }
            ProbeOutcome::Credentials(problem) => {
                self.credentials = CredentialsState::Problem(problem.clone());
                Failure::Credentials(problem)
            }
            ProbeOutcome::Rejected { code } => {
                self.credentials = CredentialsState::Rejected(code);
                Failure::Rejected(code)
            }
            ProbeOutcome::Unreachable { message } => {
                // Says nothing about the credentials. A Secret problem recorded earlier may
                // be fixed by now (this probe may have got as far as the network), so it is
                // no longer asserted; a verdict of the cluster's own stands until the next.
                if matches!(self.credentials, CredentialsState::Problem(_)) {
                    self.credentials = CredentialsState::Unknown;
                }
                Failure::Unreachable(scrub(&message))
            }
        };
        self.last_failure = Some(failure);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
    }

    /// The status TMC wants on the ClusterRegistration at `now` (conditions, lastHeartbeat,
    /// kubernetesVersion, capacity, allocatable, capacitySummary, connectedAPIs). `previous`
    /// is the status currently stored (to keep lastTransitionTime and workloadCount etc. —
    /// never drop fields you don't own: copy workloadCount and observedGeneration from
    /// previous).
    ///
    /// Conditions of other types in `previous` are kept as they are; each of the four owned
    /// here keeps its `lastTransitionTime` while its status is unchanged and its
    /// `observedGeneration` always (the controller that knows the generation sets it).
    /// Times are whole seconds, as `metav1.Time` stores them, so a status read back from
    /// kcp compares equal to the one written.
    pub fn desired_status(
        &self,
        previous: Option<&ClusterRegistrationStatus>,
        now: DateTime<Utc>,
        policy: &HealthPolicy,
    ) -> ClusterRegistrationStatus {
        let resumed = match (&self.last_answer, previous) {
            (None, Some(previous)) => Answer::resume(previous),
            _ => None,
        };
        let answer = self.last_answer.as_ref().or(resumed.as_ref());

        let credentials = verdicts::credentials(
            &self.credentials,
            self.last_failure.as_ref(),
            self.last_probe_at.is_some(),
            previous.and_then(|p| find_condition(&p.conditions, CREDENTIALS_VALID)),
        );
        let heartbeat = verdicts::heartbeat(
            answer.map(|a| a.at),
            self.last_failure.as_ref(),
            self.last_probe_at.is_some(),
            now,
            policy.heartbeat_threshold,
        );
        let (apis, connected_apis) = verdicts::apis(answer, policy, previous);
        let ready = verdicts::ready(&credentials, &heartbeat, &apis, answer.map(|a| a.ready));

        let mut conditions = previous.map(|p| p.conditions.clone()).unwrap_or_default();
        for (type_, verdict) in [
            (READY, ready),
            (CREDENTIALS_VALID, credentials),
            (HEARTBEAT_HEALTHY, heartbeat),
            (APIS_COMPATIBLE, apis),
        ] {
            let condition = to_condition(type_, verdict, &conditions, now);
            set_condition(&mut conditions, condition);
        }

        ClusterRegistrationStatus {
            conditions,
            connected_apis,
            last_heartbeat: answer.map(|a| to_time(a.at)),
            kubernetes_version: answer.map(|a| a.version.clone()).filter(|v| !v.is_empty()),
            capacity: answer.map(|a| a.capacity.clone()).unwrap_or_default(),
            allocatable: answer.map(|a| a.allocatable.clone()).unwrap_or_default(),
            capacity_summary: answer.and_then(|a| capacity_summary(&a.allocatable)),
            workload_count: previous.and_then(|p| p.workload_count),
            observed_generation: previous.and_then(|p| p.observed_generation),
        }
    }

    /// Failed probes since the last answer (or since the start); drives the backoff of
    /// [`super::next_probe_delay`]. An answer with a failing `/readyz` is not a failure:
    /// the cluster is reachable and should be watched at the normal pace to see it recover.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// When the cluster last answered a probe (this process's observations only).
    pub fn last_heartbeat(&self) -> Option<DateTime<Utc>> {
        self.last_answer.as_ref().map(|a| a.at)
    }

    /// The instant at which `HeartbeatHealthy` turns False if no answer arrives first, so
    /// the controller can re-evaluate a silent cluster then (computed as
    /// [`ClusterHealth::desired_status`] does, including the fallback on `previous`).
    /// `None` before any answer is known.
    pub fn heartbeat_expiry(
        &self,
        previous: Option<&ClusterRegistrationStatus>,
        policy: &HealthPolicy,
    ) -> Option<DateTime<Utc>> {
        let at = self
            .last_heartbeat()
            .or_else(|| previous.and_then(|p| p.last_heartbeat.as_ref()).map(from_time))?;
        let threshold = chrono::Duration::from_std(policy.heartbeat_threshold).ok();
        Some(
            threshold
                .and_then(|t| at.checked_add_signed(t))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }
}

impl Answer {
    /// The answer a stored status records, so a restarted TMC carries on from it: taken
    /// at its `lastHeartbeat`, `/readyz` ok unless `Ready` says NotReady, and serving what
    /// `connectedAPIs` says is connected.
    fn resume(status: &ClusterRegistrationStatus) -> Option<Self> {
        let at = from_time(status.last_heartbeat.as_ref()?);
        let ready = find_condition(&status.conditions, READY)
            .is_none_or(|c| c.reason.as_deref() != Some(reason::NOT_READY));
        let apis = status
            .connected_apis
            .iter()
            .map(|api| ApiPresence {
                group: api.group.clone(),
                version: api.version.clone().unwrap_or_default(),
                resource: api.resource.clone(),
                served: api.connected,
            })
            .collect();
        Some(Self {
            at,
            ready,
            version: status.kubernetes_version.clone().unwrap_or_default(),
            apis,
            capacity: status.capacity.clone(),
            allocatable: status.allocatable.clone(),
        })
    }
}

/// The condition for `verdict`, stamped `now` (kept by `set_condition` if the status did not
/// change) and keeping the `observedGeneration` of the condition it replaces.
fn to_condition(type_: &str, verdict: Verdict, existing: &[Condition], now: DateTime<Utc>) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: verdict.status,
        last_transition_time: Some(to_time(now)),
        reason: Some(verdict.reason),
        message: Some(verdict.message),
        observed_generation: find_condition(existing, type_).and_then(|c| c.observed_generation),
    }
}

/// `at` as a `metav1.Time`, truncated to the whole second the wire format keeps.
pub(super) fn to_time(at: DateTime<Utc>) -> Time {
    let ts = Timestamp::new(at.timestamp(), 0).unwrap_or(if at.timestamp() < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    Time(ts)
}

/// A `metav1.Time` as a chrono instant.
pub(super) fn from_time(time: &Time) -> DateTime<Utc> {
    let nanos = u32::try_from(time.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(time.0.as_second(), nanos).unwrap_or(DateTime::<Utc>::MIN_UTC)
}
