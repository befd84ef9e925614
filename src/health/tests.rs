//! Unit tests of the health rules, by example. Properties over all inputs live in
//! `tests/health_properties.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::cluster::to_time;
use super::*;
use crate::api::{
    find_condition, ClusterRegistrationStatus, Condition, ConditionStatus, ConnectedAPI, READY,
};

const T0: i64 = 1_750_000_000;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + secs, 0).unwrap()
}

fn policy() -> HealthPolicy {
    HealthPolicy {
        heartbeat_threshold: Duration::from_secs(40),
        heartbeat_write_interval: Duration::from_secs(20),
        required_apis: vec![
            ("apps".into(), "deployments".into()),
            (String::new(), "services".into()),
        ],
    }
}

fn api(group: &str, version: &str, resource: &str, served: bool) -> ApiPresence {
    ApiPresence {
        group: group.into(),
        version: version.into(),
        resource: resource.into(),
        served,
    }
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
        .collect()
}

fn answered(ready: bool) -> ProbeOutcome {
    ProbeOutcome::Answered {
        ready,
        version: "v1.34.1".into(),
        apis: vec![
            api("apps", "v1", "deployments", true),
            api("", "v1", "services", true),
        ],
        capacity: quantities(&[("cpu", "8"), ("memory", "32Gi")]),
        allocatable: quantities(&[("cpu", "7500m"), ("memory", "32893752Ki")]),
        nodes: 2,
    }
}

fn unreachable(message: &str) -> ProbeOutcome {
    ProbeOutcome::Unreachable {
        message: message.into(),
    }
}

fn health(reports: impl IntoIterator<Item = (i64, ProbeOutcome)>) -> ClusterHealth {
    let mut h = ClusterHealth::default();
    for (secs, outcome) in reports {
        h.observe(ProbeReport {
            at: at(secs),
            outcome,
        });
    }
    h
}

fn cond<'a>(status: &'a ClusterRegistrationStatus, type_: &str) -> &'a Condition {
    find_condition(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"))
}

/// `(status, reason)` of a condition, for compact assertions.
fn sr(status: &ClusterRegistrationStatus, type_: &str) -> (ConditionStatus, String) {
    let c = cond(status, type_);
    (c.status, c.reason.clone().unwrap_or_default())
}

fn s(status: ConditionStatus, reason: &str) -> (ConditionStatus, String) {
    (status, reason.to_owned())
}

use ConditionStatus::{False, True, Unknown};

#[test]
fn before_any_probe_everything_is_unknown_and_not_ready() {
    let st = ClusterHealth::default().desired_status(None, at(0), &policy());
    assert_eq!(sr(&st, READY), s(False, reason::AWAITING_FIRST_PROBE));
    assert_eq!(
        sr(&st, CREDENTIALS_VALID),
        s(Unknown, reason::AWAITING_FIRST_PROBE)
    );
    assert_eq!(
        sr(&st, HEARTBEAT_HEALTHY),
        s(Unknown, reason::AWAITING_FIRST_PROBE)
    );
    assert_eq!(sr(&st, APIS_COMPATIBLE), s(Unknown, reason::AWAITING_FIRST_PROBE));
    let types: Vec<_> = st.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(
        types,
        [READY, CREDENTIALS_VALID, HEARTBEAT_HEALTHY, APIS_COMPATIBLE]
    );
    assert!(st.last_heartbeat.is_none() && st.connected_apis.is_empty() && st.capacity.is_empty());
    assert!(st
        .conditions
        .iter()
        .all(|c| c.last_transition_time == Some(to_time(at(0)))));
}

#[test]
fn a_healthy_answer_fills_the_status() {
    let h = health([(0, answered(true))]);
    let st = h.desired_status(None, at(5), &policy());
    assert_eq!(sr(&st, READY), s(True, reason::CLUSTER_READY));
    assert_eq!(sr(&st, CREDENTIALS_VALID), s(True, reason::CREDENTIALS_ACCEPTED));
    assert_eq!(sr(&st, HEARTBEAT_HEALTHY), s(True, reason::HEARTBEAT_RECEIVED));
    assert_eq!(sr(&st, APIS_COMPATIBLE), s(True, reason::ALL_APIS_SERVED));
    assert_eq!(st.last_heartbeat, Some(to_time(at(0))));
    assert_eq!(st.kubernetes_version.as_deref(), Some("v1.34.1"));
    assert_eq!(st.capacity, quantities(&[("cpu", "8"), ("memory", "32Gi")]));
    assert_eq!(st.allocatable["cpu"], Quantity("7500m".into()));
    assert_eq!(st.capacity_summary.as_deref(), Some("cpu 7.5, memory 31Gi"));
    assert_eq!(
        st.connected_apis,
        [
            ConnectedAPI {
                group: "apps".into(),
                version: Some("v1".into()),
                resource: "deployments".into(),
                connected: true,
                ..ConnectedAPI::default()
            },
            ConnectedAPI {
                group: String::new(),
                version: Some("v1".into()),
                resource: "services".into(),
                connected: true,
                ..ConnectedAPI::default()
            },
        ]
    );
    assert_eq!(h.last_heartbeat(), Some(at(0)));
    assert_eq!(h.consecutive_failures(), 0);
}

#[test]
fn failing_readyz_is_not_ready_but_healthy_otherwise() {
    let st = health([(0, answered(false))]).desired_status(None, at(1), &policy());
    assert_eq!(sr(&st, READY), s(False, reason::NOT_READY));
    for t in [CREDENTIALS_VALID, HEARTBEAT_HEALTHY, APIS_COMPATIBLE] {
        assert_eq!(cond(&st, t).status, True, "{t}");
    }
    assert!(cond(&st, READY).message.as_deref().unwrap().contains("/readyz"));
}

#[test]
fn a_silent_cluster_expires_at_now_without_a_new_probe() {
    let h = health([(0, answered(true))]);
    let p = policy();
    let fresh = h.desired_status(None, at(39), &p);
    assert_eq!(sr(&fresh, READY), s(True, reason::CLUSTER_READY));
    let stale = h.desired_status(Some(&fresh), at(40), &p);
    assert_eq!(sr(&stale, HEARTBEAT_HEALTHY), s(False, reason::HEARTBEAT_EXPIRED));
    assert_eq!(sr(&stale, READY), s(False, reason::HEARTBEAT_EXPIRED));
    let msg = cond(&stale, HEARTBEAT_HEALTHY).message.clone().unwrap();
    assert!(msg.contains("threshold 40s"), "{msg}");
    assert!(msg.contains("no probe has completed since"), "{msg}");
    assert!(
        msg.contains(&at(0).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        "{msg}"
    );
    assert_eq!(cond(&stale, READY).message.as_ref(), Some(&msg));
    // The flip is a transition: new lastTransitionTime; unchanged conditions keep theirs.
    assert_eq!(cond(&stale, READY).last_transition_time, Some(to_time(at(40))));
    assert_eq!(
        cond(&stale, CREDENTIALS_VALID).last_transition_time,
        Some(to_time(at(39)))
    );
    // Credentials and APIs are still as last seen; lastHeartbeat does not move.
    assert_eq!(cond(&stale, CREDENTIALS_VALID).status, True);
    assert_eq!(stale.last_heartbeat, Some(to_time(at(0))));
    assert_eq!(h.heartbeat_expiry(None, &p), Some(at(40)));
}

#[test]
fn failed_probes_do_not_move_the_heartbeat_and_name_the_last_error() {
    let h = health([
        (0, answered(true)),
        (10, unreachable("timed out")),
        (20, unreachable("connection refused")),
    ]);
    assert_eq!(h.consecutive_failures(), 2);
    assert_eq!(h.last_heartbeat(), Some(at(0)));
    let p = policy();
    // Within the threshold one lost probe does not flap Ready.
    assert_eq!(cond(&h.desired_status(None, at(25), &p), READY).status, True);
    let st = h.desired_status(None, at(47), &p);
    assert_eq!(sr(&st, READY), s(False, reason::HEARTBEAT_EXPIRED));
    let msg = cond(&st, HEARTBEAT_HEALTHY).message.clone().unwrap();
    assert!(msg.contains("last error: connection refused"), "{msg}");
    assert!(msg.contains("reachable from TMC"), "{msg}");
    // An answer resets the count.
    let mut h = h;
    h.observe(ProbeReport {
        at: at(50),
        outcome: answered(true),
    });
    assert_eq!(h.consecutive_failures(), 0);
    assert_eq!(cond(&h.desired_status(None, at(50), &p), READY).status, True);
}

#[test]
fn credentials_problems_have_actionable_reasons() {
    let cases = [
        (
            CredentialsProblem::SecretNotFound,
            reason::SECRET_NOT_FOUND,
            "was not found",
        ),
        (
            CredentialsProblem::KeyMissing { key: "config".into() },
            reason::KUBECONFIG_KEY_MISSING,
            "has no key \"config\"",
        ),
        (
            CredentialsProblem::KubeconfigInvalid {
                fault: KubeconfigFault::NoCurrentContext,
            },
            reason::KUBECONFIG_INVALID,
            "current-context",
        ),
        (
            CredentialsProblem::NoSecretRef,
            reason::NO_KUBECONFIG_SECRET_REF,
            "is not set",
        ),
    ];
    for (problem, want_reason, phrase) in cases {
        let st =
            health([(0, ProbeOutcome::Credentials(problem.clone()))]).desired_status(None, at(1), &policy());
        assert_eq!(sr(&st, CREDENTIALS_VALID), s(False, want_reason), "{problem:?}");
        assert_eq!(sr(&st, READY), s(False, want_reason), "{problem:?}");
        let msg = cond(&st, CREDENTIALS_VALID).message.clone().unwrap();
        assert!(
            msg.contains(phrase) && msg.contains("spec.kubeconfigSecretRef"),
            "{msg}"
        );
    }
    for (code, want) in [
        (401, reason::UNAUTHORIZED),
        (403, reason::FORBIDDEN),
        (407, reason::UNAUTHORIZED),
    ] {
        let st = health([(0, ProbeOutcome::Rejected { code })]).desired_status(None, at(1), &policy());
        assert_eq!(sr(&st, CREDENTIALS_VALID), s(False, want));
        assert!(cond(&st, CREDENTIALS_VALID)
            .message
            .as_deref()
            .unwrap()
            .contains(&format!("HTTP {code}")));
    }
}

#[test]
fn rejection_after_an_answer_is_not_ready_at_once() {
    let h = health([(0, answered(true)), (5, ProbeOutcome::Rejected { code: 401 })]);
    let st = h.desired_status(None, at(6), &policy());
    assert_eq!(sr(&st, READY), s(False, reason::UNAUTHORIZED));
    assert_eq!(cond(&st, HEARTBEAT_HEALTHY).status, True);
    // Credentials come first in Ready's order, even once the heartbeat has expired too.
    let st = h.desired_status(None, at(100), &policy());
    assert_eq!(sr(&st, HEARTBEAT_HEALTHY), s(False, reason::HEARTBEAT_EXPIRED));
    assert_eq!(sr(&st, READY), s(False, reason::UNAUTHORIZED));
    let msg = cond(&st, HEARTBEAT_HEALTHY).message.clone().unwrap();
    assert!(msg.contains("See the CredentialsValid condition"), "{msg}");
}

#[test]
fn never_reached_cluster_says_so() {
    let h = health([(0, unreachable("connection refused"))]);
    let st = h.desired_status(None, at(1), &policy());
    assert_eq!(
        sr(&st, CREDENTIALS_VALID),
        s(Unknown, reason::CLUSTER_UNREACHABLE)
    );
    assert_eq!(sr(&st, READY), s(False, reason::CLUSTER_UNREACHABLE));
    assert_eq!(
        sr(&st, HEARTBEAT_HEALTHY),
        s(Unknown, reason::AWAITING_FIRST_PROBE)
    );
    for t in [READY, HEARTBEAT_HEALTHY] {
        let msg = cond(&st, t).message.clone().unwrap();
        assert!(msg.contains("last error: connection refused"), "{msg}");
    }
    assert_eq!(h.heartbeat_expiry(None, &policy()), None);
}

#[test]
fn an_unreachable_probe_withdraws_a_secret_problem_but_not_a_rejection() {
    let h = health([
        (0, ProbeOutcome::Credentials(CredentialsProblem::SecretNotFound)),
        (5, unreachable("x")),
    ]);
    let st = h.desired_status(None, at(6), &policy());
    assert_eq!(
        sr(&st, CREDENTIALS_VALID),
        s(Unknown, reason::CLUSTER_UNREACHABLE)
    );
    let h = health([(0, ProbeOutcome::Rejected { code: 403 }), (5, unreachable("x"))]);
    let st = h.desired_status(None, at(6), &policy());
    assert_eq!(sr(&st, CREDENTIALS_VALID), s(False, reason::FORBIDDEN));
}

#[test]
fn missing_apis_are_listed_and_connected_apis_explain() {
    let outcome = ProbeOutcome::Answered {
        ready: true,
        version: "v1.30.0".into(),
        apis: vec![
            api("apps", "v1beta1", "deployments", false),
            api("batch", "v1", "jobs", true),
            api("", "v1", "services", false),
        ],
        capacity: BTreeMap::new(),
        allocatable: BTreeMap::new(),
        nodes: 0,
    };
    let mut p = policy();
    p.required_apis.push(("batch".into(), "jobs".into()));
    p.required_apis.push(("apps".into(), "deployments".into()));
    let st = health([(0, outcome)]).desired_status(None, at(1), &p);
    assert_eq!(sr(&st, APIS_COMPATIBLE), s(False, reason::MISSING_APIS));
    assert_eq!(sr(&st, READY), s(False, reason::MISSING_APIS));
    let msg = cond(&st, APIS_COMPATIBLE).message.clone().unwrap();
    assert!(
        msg.contains("does not serve apps/deployments, services,"),
        "{msg}"
    );
    // One entry per distinct required API, in policy order.
    let summary: Vec<_> = st
        .connected_apis
        .iter()
        .map(|c| {
            (
                c.group.as_str(),
                c.resource.as_str(),
                c.version.as_deref(),
                c.connected,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("apps", "deployments", Some("v1beta1"), false),
            ("", "services", Some("v1"), false),
            ("batch", "jobs", Some("v1"), true),
        ]
    );
    assert_eq!(
        st.connected_apis[0].error.as_deref(),
        Some("the cluster does not serve apps/deployments")
    );
    assert_eq!(st.connected_apis[2].error, None);
    assert_eq!(st.capacity_summary, None);
    // No required APIs: trivially compatible.
    let p = HealthPolicy::default();
    let st = health([(0, answered(true))]).desired_status(None, at(1), &p);
    assert_eq!(sr(&st, APIS_COMPATIBLE), s(True, reason::ALL_APIS_SERVED));
    assert!(st.connected_apis.is_empty());
}

#[test]
fn fields_owned_elsewhere_survive() {
    let mut previous = ClusterRegistrationStatus {
        workload_count: Some(7),
        observed_generation: Some(3),
        conditions: vec![Condition {
            reason: Some("Synced".into()),
            ..Condition::new("SyncerHealthy", True)
        }],
        connected_apis: vec![ConnectedAPI {
            api_binding: Some("kubernetes".into()),
            group: "apps".into(),
            resource: "deployments".into(),
            ..ConnectedAPI::default()
        }],
        ..ClusterRegistrationStatus::default()
    };
    let h = health([(0, answered(true))]);
    let first = h.desired_status(Some(&previous), at(1), &policy());
    assert_eq!(first.workload_count, Some(7));
    assert_eq!(first.observed_generation, Some(3));
    assert_eq!(first.conditions[0].type_, "SyncerHealthy");
    assert_eq!(first.conditions.len(), 5);
    assert_eq!(first.connected_apis[0].api_binding.as_deref(), Some("kubernetes"));
    // A condition's observedGeneration (set by the controller) is kept.
    previous = first.clone();
    previous
        .conditions
        .iter_mut()
        .for_each(|c| c.observed_generation = Some(3));
    let second = h.desired_status(Some(&previous), at(9), &policy());
    assert!(second.conditions.iter().all(|c| c.observed_generation == Some(3)));
    assert!(!should_write(Some(&previous), &second, &policy()));
}

#[test]
fn reevaluating_without_news_is_not_a_write() {
    let p = policy();
    for h in [
        health([(0, answered(true))]),
        health([(0, answered(true)), (30, unreachable("connection refused"))]),
        health([(0, unreachable("connection refused"))]),
        health([(0, ProbeOutcome::Rejected { code: 401 })]),
    ] {
        let mut stored = h.desired_status(None, at(1), &p);
        for now in [2, 15, 39] {
            let desired = h.desired_status(Some(&stored), at(now), &p);
            assert!(!should_write(Some(&stored), &desired, &p), "{h:?} at {now}");
        }
        // Once expired, the flip is one write and then quiet again.
        let expired = h.desired_status(Some(&stored), at(60), &p);
        stored = expired.clone();
        let later = h.desired_status(Some(&stored), at(600), &p);
        assert!(!should_write(Some(&stored), &later, &p), "{h:?}");
    }
}

#[test]
fn should_write_coalesces_heartbeats_only() {
    let p = policy();
    let base = health([(0, answered(true))]).desired_status(None, at(0), &p);
    assert!(should_write(None, &base, &p));
    assert!(!should_write(Some(&base), &base, &p));
    let heartbeat = |secs| ClusterRegistrationStatus {
        last_heartbeat: Some(to_time(at(secs))),
        ..base.clone()
    };
    assert!(!should_write(Some(&base), &heartbeat(19), &p));
    assert!(should_write(Some(&base), &heartbeat(20), &p));
    assert!(
        !should_write(Some(&heartbeat(20)), &base, &p),
        "backwards alone is not written"
    );
    let no_heartbeat = ClusterRegistrationStatus {
        last_heartbeat: None,
        ..base.clone()
    };
    assert!(should_write(Some(&no_heartbeat), &base, &p));
    assert!(!should_write(Some(&base), &no_heartbeat, &p));

    // Transition-time churn and condition order are not changes.
    let mut churned = base.clone();
    churned.conditions.reverse();
    churned.conditions[0].last_transition_time = Some(to_time(at(99)));
    assert!(!should_write(Some(&base), &churned, &p));

    // Anything else is.
    let mut flipped = base.clone();
    flipped.conditions[0].status = False;
    assert!(should_write(Some(&base), &flipped, &p));
    let mut reworded = base.clone();
    reworded.conditions[1].message = Some("other".into());
    assert!(should_write(Some(&base), &reworded, &p));
    let mut grown = base.clone();
    grown.capacity.insert("pods".into(), Quantity("110".into()));
    assert!(should_write(Some(&base), &grown, &p));
    let mut upgraded = base.clone();
    upgraded.kubernetes_version = Some("v1.35.0".into());
    assert!(should_write(Some(&base), &upgraded, &p));
}

#[test]
fn a_restart_carries_on_from_the_stored_status() {
    let p = policy();
    let stored = health([(0, answered(true))]).desired_status(None, at(0), &p);
    let fresh = ClusterHealth::default();
    let resumed = fresh.desired_status(Some(&stored), at(10), &p);
    assert_eq!(resumed, stored, "nothing blanked, nothing flapped");
    assert!(!should_write(Some(&stored), &resumed, &p));
    assert_eq!(fresh.heartbeat_expiry(Some(&stored), &p), Some(at(40)));
    assert_eq!(fresh.last_heartbeat(), None);
    // The stored heartbeat still expires.
    let expired = fresh.desired_status(Some(&stored), at(40), &p);
    assert_eq!(sr(&expired, READY), s(False, reason::HEARTBEAT_EXPIRED));
    // An unreachable first probe keeps the cluster's credential verdict and the heartbeat.
    let h = health([(5, unreachable("connection refused"))]);
    let st = h.desired_status(Some(&stored), at(6), &p);
    assert_eq!(sr(&st, READY), s(True, reason::CLUSTER_READY));
    assert_eq!(st.capacity_summary, stored.capacity_summary);
    // A stored NotReady is remembered as a failing /readyz.
    let not_ready = health([(0, answered(false))]).desired_status(None, at(0), &p);
    let st = fresh.desired_status(Some(&not_ready), at(1), &p);
    assert_eq!(sr(&st, READY), s(False, reason::NOT_READY));
}

#[test]
fn a_stored_secret_problem_is_not_asserted_after_a_new_probe() {
    let p = policy();
    let stored = health([(0, ProbeOutcome::Credentials(CredentialsProblem::SecretNotFound))]).desired_status(
        None,
        at(0),
        &p,
    );
    let st = ClusterHealth::default().desired_status(Some(&stored), at(1), &p);
    assert_eq!(sr(&st, CREDENTIALS_VALID), s(False, reason::SECRET_NOT_FOUND));
    let st = health([(2, unreachable("timed out"))]).desired_status(Some(&stored), at(3), &p);
    assert_eq!(
        sr(&st, CREDENTIALS_VALID),
        s(Unknown, reason::CLUSTER_UNREACHABLE)
    );
}

#[test]
fn late_reports_are_ignored() {
    let h = health([
        (10, answered(true)),
        (5, unreachable("late")),
        (3, answered(false)),
    ]);
    assert_eq!(h.last_heartbeat(), Some(at(10)));
    assert_eq!(h.consecutive_failures(), 0);
    assert_eq!(
        cond(&h.desired_status(None, at(11), &policy()), READY).status,
        True
    );
}

#[test]
fn nothing_secret_reaches_the_status() {
    let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik5vdEFSZWFsS2V5In0.eyJzdWIiOiJ0bWMifQ";
    let h = health([
        (0, answered(true)),
        (
            50,
            unreachable(&format!("request with Authorization: Bearer {token} failed\n")),
        ),
    ]);
    let st = h.desired_status(None, at(60), &policy());
    let text = serde_json::to_string(&st).unwrap();
    assert!(!text.contains("eyJhbGci"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    // Kubeconfig faults carry a category only.
    for fault in [
        KubeconfigFault::NotYaml,
        KubeconfigFault::NoCurrentContext,
        KubeconfigFault::MissingCluster,
        KubeconfigFault::MissingUser,
        KubeconfigFault::InvalidServer,
        KubeconfigFault::InvalidCertificate,
        KubeconfigFault::UnsupportedAuth,
        KubeconfigFault::Unusable,
    ] {
        assert!(!fault.describe().is_empty() && fault.to_string() == fault.describe());
    }
}

#[test]
fn status_round_trips_through_the_wire() {
    let p = policy();
    let h = health([(0, answered(true))]);
    // Sub-second instants are stored as whole seconds, as kcp would.
    let now = at(3) + chrono::Duration::milliseconds(750);
    let desired = h.desired_status(None, now, &p);
    let stored: ClusterRegistrationStatus =
        serde_json::from_value(serde_json::to_value(&desired).unwrap()).unwrap();
    assert_eq!(stored, desired);
    assert!(!should_write(
        Some(&stored),
        &h.desired_status(Some(&stored), now, &p),
        &p
    ));
}

#[test]
fn durations_read_naturally() {
    use super::verdicts::Human;
    let fmt = |d| Human(d).to_string();
    assert_eq!(fmt(Duration::from_secs(40)), "40s");
    assert_eq!(fmt(Duration::from_secs(150)), "2m30s");
    assert_eq!(fmt(Duration::from_secs(3600)), "1h");
    assert_eq!(fmt(Duration::from_millis(500)), "500ms");
}
