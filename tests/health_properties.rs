//! Properties of cluster health evaluation that must hold for every probe history, not just
//! the examples in the module's unit tests: Ready's meaning, heartbeat expiry, write
//! coalescing, backoff bounds and that no secret reaches a status.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kcp_tmc::api::{condition_status, ClusterRegistrationStatus, ConditionStatus, READY};
use kcp_tmc::health::{
    capacity_summary, next_probe_delay, should_write, sum_quantities, ApiPresence, ClusterHealth,
    CredentialsProblem, HealthPolicy, KubeconfigFault, ProbeOutcome, ProbeReport, APIS_COMPATIBLE,
    CREDENTIALS_VALID, HEARTBEAT_HEALTHY,
};
use proptest::prelude::*;

const T0: i64 = 1_750_000_000;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + secs, 0).unwrap()
}

/// The APIs a cluster may serve and a policy may require.
const UNIVERSE: [(&str, &str); 4] = [
    ("apps", "deployments"),
    ("", "services"),
    ("batch", "jobs"),
    ("", "configmaps"),
];

fn policy() -> impl Strategy<Value = HealthPolicy> {
    (
        1u64..120,
        0u64..90,
        proptest::sample::subsequence(UNIVERSE.to_vec(), 0..=UNIVERSE.len()),
    )
        .prop_map(|(threshold, write, required)| HealthPolicy {
            heartbeat_threshold: Duration::from_secs(threshold),
            heartbeat_write_interval: Duration::from_secs(write),
            required_apis: required
                .into_iter()
                .map(|(g, r)| (g.to_owned(), r.to_owned()))
                .collect(),
        })
}

fn fault() -> impl Strategy<Value = KubeconfigFault> {
    prop::sample::select(vec![
        KubeconfigFault::NotYaml,
        KubeconfigFault::NoCurrentContext,
        KubeconfigFault::MissingCluster,
        KubeconfigFault::MissingUser,
        KubeconfigFault::InvalidServer,
        KubeconfigFault::InvalidCertificate,
        KubeconfigFault::UnsupportedAuth,
        KubeconfigFault::Unusable,
    ])
}

/// Any probe outcome; `noise` is text the cluster or the caller might put in messages.
fn outcome_with(noise: impl Strategy<Value = String> + Clone) -> impl Strategy<Value = ProbeOutcome> {
    let apis = proptest::collection::vec((0..UNIVERSE.len(), any::<bool>()), 0..6).prop_map(|picks| {
        picks
            .into_iter()
            .map(|(i, served)| ApiPresence {
                group: UNIVERSE[i].0.to_owned(),
                version: "v1".to_owned(),
                resource: UNIVERSE[i].1.to_owned(),
                served,
            })
            .collect::<Vec<_>>()
    });
    let answered = (any::<bool>(), noise.clone(), apis, 0u32..64).prop_map(|(ready, version, apis, cpus)| {
        let q = |text: String| BTreeMap::from([("cpu".to_owned(), Quantity(text))]);
        ProbeOutcome::Answered {
            ready,
            version,
            apis,
            capacity: q(cpus.to_string()),
            allocatable: q(format!("{}m", cpus * 900)),
            nodes: cpus / 8,
        }
    });
    let credentials = prop_oneof![
        Just(CredentialsProblem::SecretNotFound),
        Just(CredentialsProblem::NoSecretRef),
        "[-._a-zA-Z0-9]{1,20}".prop_map(|key| CredentialsProblem::KeyMissing { key }),
        fault().prop_map(|fault| CredentialsProblem::KubeconfigInvalid { fault }),
    ]
    .prop_map(ProbeOutcome::Credentials);
    let rejected =
        prop_oneof![Just(401u16), Just(403u16), 400u16..600].prop_map(|code| ProbeOutcome::Rejected { code });
    let unreachable = noise.prop_map(|message| ProbeOutcome::Unreachable { message });
    prop_oneof![3 => answered, 1 => credentials, 1 => rejected, 2 => unreachable]
}

fn outcome() -> impl Strategy<Value = ProbeOutcome> {
    outcome_with(prop::sample::select(vec![
        "connection refused".to_owned(),
        "timed out".to_owned(),
        String::new(),
        "v1.34.1".to_owned(),
    ]))
}

/// Probe reports at non-decreasing times from `at(0)`, as one probe loop produces them.
fn history(outcome: impl Strategy<Value = ProbeOutcome>) -> impl Strategy<Value = Vec<ProbeReport>> {
    proptest::collection::vec((0i64..40, outcome), 0..12).prop_map(|steps| {
        let mut t = 0;
        steps
            .into_iter()
            .map(|(gap, outcome)| {
                t += gap;
                ProbeReport { at: at(t), outcome }
            })
            .collect()
    })
}

fn fold(reports: &[ProbeReport]) -> ClusterHealth {
    let mut health = ClusterHealth::default();
    for report in reports {
        health.observe(report.clone());
    }
    health
}

fn last_time(reports: &[ProbeReport]) -> i64 {
    reports.last().map_or(0, |r| r.at.timestamp() - T0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Ready=True is a summary: it implies the other three conditions are True.
    #[test]
    fn ready_implies_the_other_three(reports in history(outcome()), extra in 0i64..200, p in policy()) {
        let now = at(last_time(&reports) + extra);
        let status = fold(&reports).desired_status(None, now, &p);
        if condition_status(&status.conditions, READY) == ConditionStatus::True {
            for t in [CREDENTIALS_VALID, HEARTBEAT_HEALTHY, APIS_COMPATIBLE] {
                prop_assert_eq!(condition_status(&status.conditions, t), ConditionStatus::True, "{}", t);
            }
        }
        prop_assert!(status.conditions.iter().all(|c| c.reason.is_some() && c.message.is_some()));
    }

    /// A cluster with no answer within the threshold is never Ready, however the status
    /// was reached (including through a stored status carried across evaluations).
    #[test]
    fn no_recent_answer_is_never_ready(reports in history(outcome()), extra in 0i64..200, p in policy()) {
        let now = at(last_time(&reports) + extra);
        let health = fold(&reports);
        let threshold = chrono::Duration::from_std(p.heartbeat_threshold).unwrap();
        let recent = reports
            .iter()
            .filter(|r| matches!(r.outcome, ProbeOutcome::Answered { .. }))
            .any(|r| now - r.at < threshold);
        let mut previous: Option<ClusterRegistrationStatus> = None;
        for step in [now - threshold, now] {
            let status = health.desired_status(previous.as_ref(), step.max(at(0)), &p);
            previous = Some(status);
        }
        let status = previous.unwrap();
        if !recent {
            prop_assert_ne!(condition_status(&status.conditions, READY), ConditionStatus::True);
            prop_assert_ne!(condition_status(&status.conditions, HEARTBEAT_HEALTHY), ConditionStatus::True);
        }
        // lastHeartbeat is the last answer, never a failed probe.
        let last_answer = reports.iter().filter(|r| matches!(r.outcome, ProbeOutcome::Answered { .. })).map(|r| r.at).max();
        prop_assert_eq!(health.last_heartbeat(), last_answer);
    }

    /// A heartbeat that advanced less than the write interval is not written; any
    /// condition status change is.
    #[test]
    fn writes_are_coalesced(
        reports in history(outcome()),
        extra in 0i64..200,
        p in policy(),
        advance in 0u64..90,
        which in 0usize..4,
        flip in prop::sample::select(vec![ConditionStatus::True, ConditionStatus::False, ConditionStatus::Unknown]),
    ) {
        let now = at(last_time(&reports) + extra);
        let stored = fold(&reports).desired_status(None, now, &p);
        let mut advanced = stored.clone();
        let base = stored.last_heartbeat.as_ref().map_or(at(0), |t| Utc.timestamp_opt(t.0.as_second(), 0).unwrap());
        let moved = base + chrono::Duration::seconds(advance as i64);
        advanced.last_heartbeat = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(moved.timestamp()).unwrap(),
        ));
        if stored.last_heartbeat.is_some() && Duration::from_secs(advance) < p.heartbeat_write_interval {
            prop_assert!(!should_write(Some(&stored), &advanced, &p));
        }
        if stored.last_heartbeat.is_some() && advance > 0 && Duration::from_secs(advance) >= p.heartbeat_write_interval {
            prop_assert!(should_write(Some(&stored), &advanced, &p));
        }
        let mut flipped = advanced.clone();
        let condition = &mut flipped.conditions[which];
        if condition.status != flip {
            condition.status = flip;
            prop_assert!(should_write(Some(&stored), &flipped, &p));
        }
    }

    /// Re-evaluating with no new probe writes exactly when a condition's status changes:
    /// messages are stable, so time passing alone costs no write.
    #[test]
    fn time_alone_writes_only_on_transitions(reports in history(outcome()), a in 0i64..200, b in 0i64..200, p in policy()) {
        let health = fold(&reports);
        let t = last_time(&reports);
        let (early, late) = (at(t + a.min(b)), at(t + a.max(b)));
        let stored = health.desired_status(None, early, &p);
        let desired = health.desired_status(Some(&stored), late, &p);
        let statuses = |s: &ClusterRegistrationStatus| s.conditions.iter().map(|c| c.status).collect::<Vec<_>>();
        prop_assert_eq!(should_write(Some(&stored), &desired, &p), statuses(&stored) != statuses(&desired));
        prop_assert_eq!(&stored.last_heartbeat, &desired.last_heartbeat);
    }

    /// Backoff stays within [interval*0.8, max*1.2] and never shrinks as failures grow.
    #[test]
    fn backoff_is_bounded_and_monotone(
        interval_ms in 1u64..600_000,
        extra_ms in 0u64..3_600_000,
        failures in 0u32..80,
        jitter in 0.0f64..1.0,
    ) {
        let interval = Duration::from_millis(interval_ms);
        let max = interval + Duration::from_millis(extra_ms);
        let delay = next_probe_delay(interval, max, failures, jitter);
        let tolerance = 1e-6;
        prop_assert!(delay.as_secs_f64() >= interval.as_secs_f64() * 0.8 - tolerance, "{delay:?}");
        prop_assert!(delay.as_secs_f64() <= max.as_secs_f64() * 1.2 + tolerance, "{delay:?}");
        prop_assert!(next_probe_delay(interval, max, failures + 1, jitter) >= delay);
        if failures == 0 {
            prop_assert!(delay.as_secs_f64() <= interval.as_secs_f64() * 1.2 + tolerance);
        }
    }

    /// No message, version or any other status text carries a secret fed in anywhere a
    /// probe may carry text (a token in an error, a blob in a version string).
    #[test]
    fn secrets_never_reach_the_status(
        secret in "[A-Za-z0-9+/]{40,120}",
        before in "[ -~]{0,30}",
        after in "[ -~]{0,30}",
        reports in history(outcome_with(prop::sample::select(vec!["connection refused".to_owned()]))),
        extra in 0i64..200,
        p in policy(),
    ) {
        let noisy = format!("{before}{secret}{after}");
        let t = last_time(&reports);
        let mut reports = reports;
        reports.push(ProbeReport {
            at: at(t + 1),
            outcome: ProbeOutcome::Answered {
                ready: true,
                version: noisy.clone(),
                apis: Vec::new(),
                capacity: BTreeMap::new(),
                allocatable: BTreeMap::new(),
                nodes: 0,
            },
        });
        reports.push(ProbeReport { at: at(t + 2), outcome: ProbeOutcome::Unreachable { message: noisy } });
        let status = fold(&reports).desired_status(None, at(t + 2 + extra), &p);
        let text = serde_json::to_string(&status).unwrap();
        for window in secret.as_bytes().windows(16) {
            let window = std::str::from_utf8(window).unwrap();
            prop_assert!(!text.contains(window), "{} leaked in {}", window, text);
        }
    }

    /// Sums are exact and canonical: summing per-node millicores equals the total written
    /// once, and re-summing a sum changes nothing.
    #[test]
    fn sums_are_exact_and_canonical(millis in proptest::collection::vec(0u64..10_000_000, 0..20), kib in proptest::collection::vec(0u64..(1 << 32), 0..20)) {
        let nodes: Vec<BTreeMap<String, Quantity>> = millis
            .iter()
            .map(|m| BTreeMap::from([("cpu".to_owned(), Quantity(format!("{m}m")))]))
            .chain(kib.iter().map(|k| BTreeMap::from([("memory".to_owned(), Quantity(format!("{k}Ki")))])))
            .collect();
        let sum = sum_quantities(&nodes);
        let mut once = BTreeMap::new();
        if !millis.is_empty() {
            once.insert("cpu".to_owned(), Quantity(format!("{}m", millis.iter().sum::<u64>())));
        }
        if !kib.is_empty() {
            once.insert("memory".to_owned(), Quantity(format!("{}Ki", kib.iter().sum::<u64>())));
        }
        prop_assert_eq!(&sum, &sum_quantities(&[once]));
        prop_assert_eq!(&sum, &sum_quantities(std::slice::from_ref(&sum)));
    }

    /// Arbitrary text in a Node's figures never panics the summing or the summary.
    #[test]
    fn any_quantity_text_is_survivable(values in proptest::collection::vec("[-+.0-9eEkKMGTPimnu ]{0,12}", 0..8)) {
        let nodes: Vec<BTreeMap<String, Quantity>> = values
            .iter()
            .map(|v| BTreeMap::from([("cpu".to_owned(), Quantity(v.clone())), ("memory".to_owned(), Quantity(v.clone()))]))
            .collect();
        let sum = sum_quantities(&nodes);
        let _ = capacity_summary(&sum);
    }
}
