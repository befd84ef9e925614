//! What the decisions controller shows and writes, as pure functions of a
//! decision: the `placements` view object, and a `WorkloadPlacement`'s status.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{
    set_condition, CandidateVerdict as ViewVerdict, Condition, ConditionStatus, PlacedCluster, PlacementSpec,
    PlacementStatus, WorkloadReference, READY,
};
use crate::index::CLUSTER_ANNOTATION;
use crate::placement::record::outcome_word;
use crate::placement::{conflict_reason, Decision, VerdictResult, POLICY_CONFLICT};
use crate::sync::controller::ClusterSync;
use crate::sync::state::CopyState;

/// The workload a view is about, as kcp serves it.
pub struct WorkloadObject<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub object: &'a Value,
}

/// Name of the view object of a workload: `<kind>-<name>`, lowercase kind, so a
/// Deployment and a Service of the same name do not collide.
pub fn view_name(kind: &str, name: &str) -> String {
    format!("{}-{name}", kind.to_lowercase())
}

/// The `Placement` view object for `decision`, without a resourceVersion
/// (the caller sets one when the content changes).
pub fn placement_view(
    w: &WorkloadObject<'_>,
    decision: &Decision,
    recorded: bool,
    sync: Option<&[ClusterSync]>,
) -> Value {
    let meta = &w.object["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    let namespace = meta["namespace"].as_str().unwrap_or_default();
    let spec = PlacementSpec {
        workload: WorkloadReference {
            api_version: w.api_version.to_owned(),
            kind: w.kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            reference: format!("{}/{name}", w.kind),
        },
        policy: decision.policy.clone(),
        strategy: decision.strategy.as_str().to_owned(),
        wanted: i32::try_from(decision.wanted).unwrap_or(i32::MAX),
        conflicting_policies: decision.conflicts.clone(),
    };
    let condition = decision.placed_condition();
    let status = PlacementStatus {
        outcome: outcome_word(&decision.outcome).to_owned(),
        message: condition.message.unwrap_or_default(),
        cluster_names: decision
            .selected
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(","),
        clusters: decision
            .selected
            .iter()
            .map(|c| {
                let synced = sync.and_then(|s| s.iter().find(|s| s.cluster == *c));
                PlacedCluster {
                    name: c.name.clone(),
                    workspace: c.logical_cluster.clone(),
                    state: synced.map_or(CopyState::Pending, |s| s.state).as_str().into(),
                    message: synced.map(|s| s.message.clone()).unwrap_or_default(),
                }
            })
            .collect(),
        candidates: decision
            .verdicts
            .iter()
            .map(|v| match &v.result {
                VerdictResult::Rejected { rule, message } => ViewVerdict {
                    cluster: v.cluster.name.clone(),
                    workspace: v.cluster.logical_cluster.clone(),
                    verdict: "Rejected".into(),
                    rule: Some(rule_name(rule).into()),
                    reason: message.clone(),
                    score: None,
                },
                VerdictResult::Eligible {
                    score,
                    selected,
                    rank,
                    ..
                } => ViewVerdict {
                    cluster: v.cluster.name.clone(),
                    workspace: v.cluster.logical_cluster.clone(),
                    verdict: if *selected { "Selected" } else { "Eligible" }.into(),
                    rule: None,
                    reason: format!(
                        "rank {rank}: score {} (strategy {}, headroom {}, preferred {}, sticky {})",
                        score.total, score.strategy, score.headroom, score.preferred, score.stickiness
                    ),
                    score: Some(i64::from(score.total)),
                },
            })
            .collect(),
        recorded,
        sync: sync_summary(decision, sync).into(),
    };
    json!({
        "apiVersion": crate::api::API_VERSION,
        "kind": "Placement",
        "metadata": {
            "name": view_name(w.kind, name),
            "namespace": namespace,
            "uid": meta["uid"],
            "creationTimestamp": meta["creationTimestamp"],
            "labels": meta["labels"],
            "annotations": {CLUSTER_ANNOTATION: meta["annotations"][CLUSTER_ANNOTATION]},
        },
        "spec": spec,
        "status": status,
    })
}

/// The copies' state in one word: the worst over the chosen clusters, and
/// clusters still holding a copy it no longer should (Deleting).
fn sync_summary(decision: &Decision, sync: Option<&[ClusterSync]>) -> &'static str {
    let states: Vec<CopyState> = match sync {
        Some(s) => {
            let mut states: Vec<CopyState> = s.iter().map(|c| c.state).collect();
            if decision
                .selected
                .iter()
                .any(|c| !s.iter().any(|s| s.cluster == *c))
            {
                states.push(CopyState::Pending);
            }
            states
        }
        None => decision.selected.iter().map(|_| CopyState::Pending).collect(),
    };
    crate::sync::state::summary(&states)
}

/// The rule's name as the view shows it (a stable word, not prose).
pub fn rule_name(rule: &crate::placement::FilterRule) -> &'static str {
    use crate::placement::FilterRule as R;
    match rule {
        R::NotReady => "NotReady",
        R::Cordoned => "Cordoned",
        R::LocationMismatch => "LocationMismatch",
        R::MissingCapability(_) => "MissingCapability",
        R::ApiNotServed => "APINotServed",
        R::InsufficientCapacity => "InsufficientCapacity",
        R::NotRegistered => "NotRegistered",
    }
}

/// The status a `WorkloadPlacement` should have: the clusters its workloads
/// are placed on (`workspace/name` for shared clusters, `name` for the
/// workspace's own), and `Ready` saying whether it applies (an invalid
/// selector makes it False). `None` when the stored status already says so.
///
/// `overridden` are the decisions of workloads this policy also selects but
/// an older policy governs: they make `PolicyConflict` True, so the author
/// of the younger policy learns it does not apply to them.
pub fn policy_status(
    stored: &Value,
    own_workspace: &str,
    governed: &[&Decision],
    overridden: &[&Decision],
    invalid: Option<&str>,
) -> Option<Value> {
    let selected: Vec<String> = governed
        .iter()
        .flat_map(|d| d.selected.iter())
        .map(|c| {
            if c.logical_cluster == own_workspace {
                c.name.clone()
            } else {
                c.to_string()
            }
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (status, reason, message) = match invalid {
        Some(e) => (ConditionStatus::False, "InvalidPolicy", e.to_owned()),
        None => (
            ConditionStatus::True,
            "Applied",
            format!("governs {} workload(s)", governed.len()),
        ),
    };
    let mut conditions: Vec<Condition> =
        serde_json::from_value(stored["status"]["conditions"].clone()).unwrap_or_default();
    let stored_selected: Vec<String> =
        serde_json::from_value(stored["status"]["selectedClusters"].clone()).unwrap_or_default();
    let generation = stored["metadata"]["generation"].as_i64();
    let ready = Condition {
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
        ..Condition::new(READY, status)
    };
    let conflict = if overridden.is_empty() {
        Condition {
            reason: Some(conflict_reason::ONE_POLICY_MATCHES.to_owned()),
            message: Some("no workload it selects is governed by another policy".to_owned()),
            last_transition_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
            ..Condition::new(POLICY_CONFLICT, ConditionStatus::False)
        }
    } else {
        let winners: BTreeSet<&str> = overridden.iter().map(|d| d.policy.as_str()).collect();
        let first = &overridden[0].workload;
        Condition {
            reason: Some(conflict_reason::MULTIPLE_POLICIES_MATCH.to_owned()),
            message: Some(format!(
                "{} workload(s) it selects (e.g. {first}) are governed by the older {}: the oldest matching policy applies",
                overridden.len(),
                winners
                    .iter()
                    .map(|w| format!("WorkloadPlacement {w:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            last_transition_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
            ..Condition::new(POLICY_CONFLICT, ConditionStatus::True)
        }
    };
    let condition_changed = set_condition(&mut conditions, conflict) | set_condition(&mut conditions, ready);
    if !condition_changed
        && stored_selected == selected
        && stored["status"]["observedGeneration"].as_i64() == generation
    {
        return None;
    }
    Some(json!({"status": {
        "selectedClusters": selected,
        "conditions": conditions,
        "observedGeneration": generation,
    }}))
}

/// The `SharedCluster` view of a shared-pool `registration` (live status
/// applied) for workspace `tenant`: location, capabilities, cordon, labels
/// and health — and nothing about how the cluster is reached.
pub fn shared_cluster_view(
    registration: &Value,
    tenant: &str,
    provider_path: &str,
    workloads: usize,
) -> Value {
    let meta = &registration["metadata"];
    let spec = &registration["spec"];
    let mut status = registration["status"].clone();
    if status.is_object() {
        status["workloadCount"] = json!(workloads);
    }
    json!({
        "apiVersion": crate::api::API_VERSION,
        "kind": "SharedCluster",
        "metadata": {
            "name": meta["name"],
            "uid": meta["uid"],
            "creationTimestamp": meta["creationTimestamp"],
            "labels": meta["labels"],
            "annotations": {
                CLUSTER_ANNOTATION: tenant,
                "tmc.kcp.io/shared-from": provider_path,
            },
        },
        "spec": {
            "location": spec["location"],
            "capabilities": spec["capabilities"],
            "unschedulable": spec["unschedulable"].as_bool().unwrap_or(false),
        },
        "status": status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_cluster_never_shows_how_it_is_reached() {
        let reg = json!({
            "metadata": {"name": "east", "uid": "u", "labels": {"tier": "prod"},
                "annotations": {CLUSTER_ANNOTATION: "provider", "secret-ish": "x"}},
            "spec": {"location": "us-east", "unschedulable": true,
                "kubeconfigSecretRef": {"name": "east-kubeconfig", "namespace": "tmc-system"},
                "apiBindings": [{"name": "kubernetes"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "workloadCount": 40},
        });
        let v = shared_cluster_view(&reg, "tenant-a", "root:tmc", 2);
        let text = v.to_string();
        assert!(!text.contains("kubeconfig"), "{text}");
        assert!(!text.contains("secret-ish"), "{text}");
        assert_eq!(v["metadata"]["annotations"][CLUSTER_ANNOTATION], "tenant-a");
        assert_eq!(v["spec"]["location"], "us-east");
        assert_eq!(v["spec"]["unschedulable"], true);
        assert_eq!(v["status"]["workloadCount"], 2, "the tenant's own count");
        assert_eq!(v["status"]["conditions"][0]["type"], "Ready");
    }
}
