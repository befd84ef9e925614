//! Status of placed workloads: whether one physical copy is ready, and the `.status` the kcp
//! object gets, aggregated from all its copies.
//!
//! Pure: the caller reads the copies from their clusters and writes the result to kcp. The
//! copies are JSON from other apiservers, so every field may be absent or malformed; such a field
//! reads as absent, never as an error.
//!
//! # Readiness of one copy
//!
//! - **Deployment**: the checks of `kubectl rollout status`, the first failing one giving the reason.
//!   1. The deployment controller has seen the current spec: `status.observedGeneration >=
//!      metadata.generation`, else "rollout not observed yet (generation 3, observed 2)".
//!   2. `status.updatedReplicas >= spec.replicas`, else "1/3 replicas updated".
//!   3. No pod of an older ReplicaSet is left: `status.replicas <= status.updatedReplicas`, else
//!      "2 old replicas pending termination".
//!   4. `status.availableReplicas >= spec.replicas`, else "1/3 replicas available".
//!   5. `status.readyReplicas >= spec.replicas`, else "1/3 replicas ready".
//!   6. `status.unavailableReplicas` is not above 0, else "2 replicas unavailable".
//!
//!   Absent counts read 0; an absent `spec.replicas` reads 1, the API default. When the copy's
//!   `Progressing` condition has reason `ProgressDeadlineExceeded`, the reason starts with
//!   "progress deadline exceeded: ", since the rollout will not finish without help.
//! - **Service**: ready, except that `spec.type: LoadBalancer` needs at least one
//!   `status.loadBalancer.ingress` entry ("waiting for a load balancer").
//! - **Any other kind**: ready, since the copy exists.
//!
//! A `null` copy is not ready ("no copy").
//!
//! # Aggregated status
//!
//! Copies are taken in cluster-name order whatever order they are passed in, so the result depends
//! only on the set of copies. With no copies there is nothing to say: `None`.
//!
//! - **Deployment**: `replicas`, `updatedReplicas`, `readyReplicas`, `availableReplicas`,
//!   `unavailableReplicas` and `terminatingReplicas` are sums over the copies; a field appears when
//!   at least one copy has it. `observedGeneration` is the kcp object's `metadata.generation`, and
//!   appears only when every selected cluster holds a copy of the current spec and every copy's
//!   deployment controller has observed that copy's generation: only then do the sums describe the
//!   current spec, which is what clients such as `kubectl rollout status` read the field to mean.
//!   `conditions` are combined as below. `collisionCount` is per cluster and not carried over.
//! - **Service**: `loadBalancer.ingress` lists the copies' entries in cluster order, each entry
//!   once; `conditions` are combined as below. Empty fields are left out, so the result may be `{}`.
//! - **Other kinds**: the `.status` of the only copy, verbatim. With several copies it is the status
//!   of the first copy by cluster name: one cluster's view, not a merge, because the meaning of an
//!   unknown kind's status fields is unknown. `None` when that copy has no `.status`.
//!
//! ## Conditions
//!
//! Every condition type reported by some copy becomes one condition; a copy without it counts as
//! Unknown, and a status other than `True`/`False` reads `Unknown`.
//! - Positive types (all but `ReplicaFailure`): `False` when any copy says False, else `Unknown`
//!   when any copy says Unknown or lacks the type, else `True`.
//! - Negative types (`ReplicaFailure`): `True` when any copy says True, else `Unknown` likewise,
//!   else `False`.
//!
//! The *deciding* clusters are those whose copy reports the resulting status. `reason`,
//! `lastUpdateTime` and `lastTransitionTime` come from the first of them by name, and the message
//! is that copy's message (its reason if it has none) prefixed with all deciding clusters:
//! "east-1, west-1: Deployment does not have minimum availability.". For an `Unknown` result,
//! copies that say Unknown decide before copies that lack the type, whose clusters are appended
//! as "; south-1: condition not reported". When no copy says Unknown, the reason is
//! `NotReported`, the message is "south-1: condition not reported" and the times are left to the
//! writer. A condition's own `observedGeneration` is dropped: it counts the copy's generations,
//! not the kcp object's. Messages are cut to 32768 bytes, the limit of `metav1.Condition`.
//!
//! Conditions are ordered as Kubernetes lists them: `Available`, `Progressing`, then the others
//! alphabetically.

use serde_json::{json, Map, Value};

use crate::api::ConditionStatus;

/// One physical copy's state as read from its cluster.
pub struct CopyStatus<'a> {
    /// Registration name of the cluster (for messages), e.g. "east-1".
    pub cluster: &'a str,
    /// The copy as the physical apiserver returns it (metadata, spec, status).
    pub object: &'a Value,
}

/// Whether a copy is ready, with a short reason when it is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The copy does what its spec asks.
    Ready,
    /// The copy is not there yet; the reason is for people, e.g. "1/3 replicas available".
    NotReady(String),
}

/// Condition types whose `True` is bad news; for them one `True` copy decides.
const NEGATIVE_CONDITION_TYPES: &[&str] = &["ReplicaFailure"];

/// The Deployment status counts that are summed over copies.
const DEPLOYMENT_COUNTS: &[&str] = &[
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
    "terminatingReplicas",
];

/// `metav1.Condition` rejects longer messages, and prefixes make ours longer than the copies'.
const MAX_MESSAGE_BYTES: usize = 32768;

/// Reason of an `Unknown` condition that some copies lack and none reports as Unknown.
const NOT_REPORTED: &str = "NotReported";

/// Readiness of one copy of a workload of `kind` (e.g. "Deployment", "Service", anything else).
pub fn copy_readiness(kind: &str, copy: &Value) -> Readiness {
    if copy.is_null() {
        return Readiness::NotReady("no copy".to_owned());
    }
    match kind {
        "Deployment" => deployment_readiness(copy),
        "Service" => service_readiness(copy),
        _ => Readiness::Ready,
    }
}

/// The `.status` the kcp object should have, aggregated from its copies (in any order: they are
/// sorted by cluster name here). `kcp_object` is the kcp object (for its `metadata.generation`).
/// `all_current` is true when every selected cluster holds a copy applied from the kcp object's
/// current spec; it only gates `observedGeneration`. Returns None when there is nothing to say
/// (no copies; for kinds other than Deployment and Service, also when the chosen copy has no
/// status).
pub fn aggregate(
    kind: &str,
    kcp_object: &Value,
    copies: &[CopyStatus<'_>],
    all_current: bool,
) -> Option<Value> {
    let mut sorted: Vec<&CopyStatus<'_>> = copies.iter().collect();
    // Cluster names are unique in practice; the content tie-break only keeps the output
    // independent of input order should a caller pass one cluster twice.
    sorted.sort_by(|a, b| {
        a.cluster
            .cmp(b.cluster)
            .then_with(|| a.object.to_string().cmp(&b.object.to_string()))
    });
    let first = sorted.first()?;
    match kind {
        "Deployment" => Some(Value::Object(deployment_status(kcp_object, &sorted, all_current))),
        "Service" => Some(Value::Object(service_status(&sorted))),
        _ => first.object.get("status").filter(|s| !s.is_null()).cloned(),
    }
}

/// The integer at a JSON pointer; anything else (absent, string, float) reads as absent.
fn int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// Whether the copy's controller has acted on the copy's current spec. A copy without a
/// generation has nothing to observe beyond generation 0; one without `observedGeneration` has
/// not been seen at all.
fn has_observed(copy: &Value) -> bool {
    let generation = int(copy, "/metadata/generation").unwrap_or(0);
    int(copy, "/status/observedGeneration").is_some_and(|observed| observed >= generation)
}

fn deployment_readiness(copy: &Value) -> Readiness {
    if !has_observed(copy) {
        let generation = int(copy, "/metadata/generation").unwrap_or(0);
        let observed = int(copy, "/status/observedGeneration")
            .map_or_else(|| "none".to_owned(), |observed| observed.to_string());
        return Readiness::NotReady(format!(
            "rollout not observed yet (generation {generation}, observed {observed})"
        ));
    }
    let wanted = int(copy, "/spec/replicas").unwrap_or(1);
    let count = |field: &str| int(copy, &format!("/status/{field}")).unwrap_or(0);
    let (total, updated) = (count("replicas"), count("updatedReplicas"));
    let (available, ready) = (count("availableReplicas"), count("readyReplicas"));
    let unavailable = count("unavailableReplicas");
    let reason = if updated < wanted {
        format!("{updated}/{wanted} replicas updated")
    } else if total > updated {
        let old = total.saturating_sub(updated);
        format!("{old} old {} pending termination", replicas_word(old))
    } else if available < wanted {
        format!("{available}/{wanted} replicas available")
    } else if ready < wanted {
        format!("{ready}/{wanted} replicas ready")
    } else if unavailable > 0 {
        format!("{unavailable} {} unavailable", replicas_word(unavailable))
    } else {
        return Readiness::Ready;
    };
    let stuck = find_condition(copy, "Progressing")
        .and_then(|c| c.get("reason"))
        .and_then(Value::as_str)
        == Some("ProgressDeadlineExceeded");
    if stuck {
        Readiness::NotReady(format!("progress deadline exceeded: {reason}"))
    } else {
        Readiness::NotReady(reason)
    }
}

fn replicas_word(n: i64) -> &'static str {
    match n {
        1 => "replica",
        _ => "replicas",
    }
}

fn service_readiness(copy: &Value) -> Readiness {
    if copy.pointer("/spec/type").and_then(Value::as_str) != Some("LoadBalancer") {
        return Readiness::Ready;
    }
    match copy
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
    {
        Some(ingress) if !ingress.is_empty() => Readiness::Ready,
        _ => Readiness::NotReady("waiting for a load balancer".to_owned()),
    }
}

fn deployment_status(
    kcp_object: &Value,
    copies: &[&CopyStatus<'_>],
    all_current: bool,
) -> Map<String, Value> {
    let mut status = Map::new();
    for field in DEPLOYMENT_COUNTS {
        let pointer = format!("/status/{field}");
        let sum = copies
            .iter()
            .filter_map(|c| int(c.object, &pointer))
            .reduce(i64::saturating_add);
        if let Some(sum) = sum {
            status.insert((*field).to_owned(), sum.into());
        }
    }
    if all_current && copies.iter().all(|c| has_observed(c.object)) {
        if let Some(generation) = int(kcp_object, "/metadata/generation") {
            status.insert("observedGeneration".to_owned(), generation.into());
        }
    }
    insert_conditions(&mut status, copies);
    status
}

fn service_status(copies: &[&CopyStatus<'_>]) -> Map<String, Value> {
    let mut status = Map::new();
    let mut ingress: Vec<Value> = Vec::new();
    for copy in copies {
        let entries = copy
            .object
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array);
        for entry in entries.into_iter().flatten() {
            // Lists are a handful of entries, so a linear search beats hashing JSON.
            if !ingress.contains(entry) {
                ingress.push(entry.clone());
            }
        }
    }
    if !ingress.is_empty() {
        status.insert("loadBalancer".to_owned(), json!({ "ingress": ingress }));
    }
    insert_conditions(&mut status, copies);
    status
}

fn conditions_of(object: &Value) -> &[Value] {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn condition_type(condition: &Value) -> Option<&str> {
    condition.get("type").and_then(Value::as_str)
}

/// The first condition of `type_`: a list with duplicates is malformed, and the first entry is
/// the one `kubectl` shows.
fn find_condition<'v>(object: &'v Value, type_: &str) -> Option<&'v Value> {
    conditions_of(object)
        .iter()
        .find(|c| condition_type(c) == Some(type_))
}

fn condition_status(condition: &Value) -> ConditionStatus {
    match condition.get("status").and_then(Value::as_str) {
        Some("True") => ConditionStatus::True,
        Some("False") => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    }
}

/// Kubernetes' usual order: Available, Progressing, then alphabetical.
fn type_rank(type_: &str) -> u8 {
    match type_ {
        "Available" => 0,
        "Progressing" => 1,
        _ => 2,
    }
}

fn insert_conditions(status: &mut Map<String, Value>, copies: &[&CopyStatus<'_>]) {
    let mut types: Vec<&str> = copies
        .iter()
        .flat_map(|c| conditions_of(c.object))
        .filter_map(condition_type)
        .collect();
    types.sort_by(|a, b| type_rank(a).cmp(&type_rank(b)).then_with(|| a.cmp(b)));
    types.dedup();
    if types.is_empty() {
        return;
    }
    let conditions: Vec<Value> = types.into_iter().map(|t| combine(t, copies)).collect();
    status.insert("conditions".to_owned(), Value::Array(conditions));
}

/// One condition type over all copies (see the module documentation for the rule).
fn combine(type_: &str, copies: &[&CopyStatus<'_>]) -> Value {
    let reports: Vec<(&str, Option<&Value>)> = copies
        .iter()
        .map(|c| (c.cluster, find_condition(c.object, type_)))
        .collect();
    let any = |wanted: ConditionStatus| {
        reports
            .iter()
            .any(|(_, c)| c.is_some_and(|c| condition_status(c) == wanted))
    };
    let missing: Vec<&str> = reports
        .iter()
        .filter(|(_, c)| c.is_none())
        .map(|(cluster, _)| *cluster)
        .collect();
    let (bad, good) = if NEGATIVE_CONDITION_TYPES.contains(&type_) {
        (ConditionStatus::True, ConditionStatus::False)
    } else {
        (ConditionStatus::False, ConditionStatus::True)
    };
    let result = if any(bad) {
        bad
    } else if any(ConditionStatus::Unknown) || !missing.is_empty() {
        ConditionStatus::Unknown
    } else {
        good
    };
    let deciding: Vec<(&str, &Value)> = reports
        .iter()
        .filter_map(|(cluster, c)| c.filter(|c| condition_status(c) == result).map(|c| (*cluster, c)))
        .collect();

    let mut out = Map::new();
    out.insert("type".to_owned(), type_.into());
    out.insert("status".to_owned(), result.as_str().into());
    let not_reported = format!("{}: condition not reported", missing.join(", "));
    let message = match deciding.first() {
        Some((_, source)) => {
            for key in ["reason", "lastUpdateTime", "lastTransitionTime"] {
                if let Some(value) = source.get(key).filter(|v| !v.is_null()) {
                    out.insert(key.to_owned(), value.clone());
                }
            }
            let names: Vec<&str> = deciding.iter().map(|(cluster, _)| *cluster).collect();
            let names = names.join(", ");
            let text = ["message", "reason"]
                .into_iter()
                .find_map(|key| source.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()));
            let mut message = match text {
                Some(text) => format!("{names}: {text}"),
                None => names,
            };
            // A False (or True) result says all there is to say; for Unknown, silent clusters
            // are part of the answer.
            if result == ConditionStatus::Unknown && !missing.is_empty() {
                message.push_str("; ");
                message.push_str(&not_reported);
            }
            message
        }
        // No copy reports the result: it is Unknown because some copies lack the type.
        None => {
            out.insert("reason".to_owned(), NOT_REPORTED.into());
            not_reported
        }
    };
    out.insert("message".to_owned(), cap_message(message).into());
    Value::Object(out)
}

fn cap_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIME: &str = "2025-01-01T00:00:00Z";

    fn deployment(generation: i64, replicas: i64, status: Value) -> Value {
        json!({ "metadata": { "generation": generation }, "spec": { "replicas": replicas }, "status": status })
    }

    fn cond(type_: &str, status: &str, reason: &str, message: &str) -> Value {
        json!({ "type": type_, "status": status, "reason": reason, "message": message,
                "lastUpdateTime": TIME, "lastTransitionTime": TIME })
    }

    fn copies<'a>(items: &'a [(&'a str, Value)]) -> Vec<CopyStatus<'a>> {
        items
            .iter()
            .map(|(cluster, object)| CopyStatus { cluster, object })
            .collect()
    }

    fn kcp(generation: i64) -> Value {
        json!({ "metadata": { "generation": generation } })
    }

    /// Aggregate for a kcp object at generation 1 whose clusters all hold the current spec.
    fn agg(kind: &str, items: &[(&str, Value)]) -> Value {
        aggregate(kind, &kcp(1), &copies(items), true).unwrap_or(Value::Null)
    }

    fn condition<'v>(status: &'v Value, type_: &str) -> &'v Value {
        let found = status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == type_));
        found.unwrap_or(&Value::Null)
    }

    /// The readiness of a Deployment copy in words, "Ready" when ready.
    fn readiness(copy: &Value) -> String {
        match copy_readiness("Deployment", copy) {
            Readiness::Ready => "Ready".to_owned(),
            Readiness::NotReady(reason) => reason,
        }
    }

    fn healthy(generation: i64, replicas: i64) -> Value {
        let n = replicas;
        deployment(
            generation,
            n,
            json!({
                "observedGeneration": generation, "replicas": n, "updatedReplicas": n, "readyReplicas": n,
                "availableReplicas": n,
                "conditions": [
                    cond("Progressing", "True", "NewReplicaSetAvailable", "ReplicaSet \"web-1\" has progressed."),
                    cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                ],
            }),
        )
    }

    #[test]
    fn single_copy_round_trips() {
        let items = [("east-1", healthy(2, 3))];
        let status = aggregate("Deployment", &kcp(7), &copies(&items), true);
        let expected = json!({
            "observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
            "availableReplicas": 3,
            "conditions": [
                { "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                  "message": "east-1: Deployment has minimum availability.",
                  "lastUpdateTime": TIME, "lastTransitionTime": TIME },
                { "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                  "message": "east-1: ReplicaSet \"web-1\" has progressed.",
                  "lastUpdateTime": TIME, "lastTransitionTime": TIME },
            ],
        });
        assert_eq!(status, Some(expected));

        let pvc = json!({ "status": { "phase": "Bound", "capacity": { "storage": "1Gi" } } });
        let status = agg("PersistentVolumeClaim", &[("east-1", pvc.clone())]);
        assert_eq!(status, pvc["status"]);
        let lb = json!({ "status": { "loadBalancer": { "ingress": [{ "ip": "10.0.0.1" }] } } });
        assert_eq!(agg("Service", &[("east-1", lb.clone())]), lb["status"]);
    }

    #[test]
    fn two_deployment_copies_sum_counts() {
        let mut west = healthy(1, 2);
        west["status"]["terminatingReplicas"] = json!(1);
        let items = [("west-1", west), ("east-1", healthy(4, 3))];
        let status = aggregate("Deployment", &kcp(5), &copies(&items), true).unwrap_or_default();
        for field in &DEPLOYMENT_COUNTS[..4] {
            assert_eq!(status[field], 5, "{field}");
        }
        assert_eq!(status["terminatingReplicas"], 1, "on one copy only, still there");
        assert!(status.get("unavailableReplicas").is_none(), "no copy has it");
        assert_eq!(status["observedGeneration"], 5);
        let available = condition(&status, "Available");
        assert_eq!(available["status"], "True");
        let want = "east-1, west-1: Deployment has minimum availability.";
        assert_eq!(available["message"], want);
    }

    #[test]
    fn available_false_on_one_cluster_decides_and_is_named() {
        let mut west = healthy(1, 3);
        west["status"]["availableReplicas"] = json!(1);
        west["status"]["conditions"][1] = json!({
            "type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not have minimum availability.", "lastTransitionTime": "2025-02-02",
        });
        let h = healthy(1, 3);
        let items = [("east-1", h.clone()), ("west-1", west), ("north-1", h)];
        let status = agg("Deployment", &items);
        let available = condition(&status, "Available");
        assert_eq!(available["status"], "False");
        assert_eq!(available["reason"], "MinimumReplicasUnavailable");
        let want = "west-1: Deployment does not have minimum availability.";
        assert_eq!(available["message"], want);
        assert_eq!(available["lastTransitionTime"], "2025-02-02");
        assert!(available.get("lastUpdateTime").is_none(), "times of west-1");
        let progressing = condition(&status, "Progressing")["message"].to_string();
        assert!(
            progressing.starts_with("\"east-1, north-1, west-1: "),
            "{progressing}"
        );
    }

    #[test]
    fn type_missing_on_one_copy_reads_unknown_not_reported() {
        let mut bare = healthy(1, 1);
        bare["status"]["conditions"] = json!([cond("Available", "True", "MinimumReplicasAvailable", "ok")]);
        let items = [
            ("west-1", healthy(1, 1)),
            ("east-1", bare),
            ("south-1", json!({})),
        ];
        let status = agg("Deployment", &items);
        let progressing = condition(&status, "Progressing");
        assert_eq!(progressing["status"], "Unknown");
        assert_eq!(progressing["reason"], NOT_REPORTED);
        assert_eq!(progressing["message"], "east-1, south-1: condition not reported");
        assert!(progressing.get("lastTransitionTime").is_none());

        // A copy that says Unknown decides before a silent one; the silent one is still named.
        let mut unsure = healthy(1, 1);
        unsure["status"]["conditions"][0] = cond("Progressing", "Unknown", "Checking", "not sure");
        let status = agg("Deployment", &[("west-1", unsure), ("east-1", json!({}))]);
        let progressing = condition(&status, "Progressing");
        assert_eq!(progressing["status"], "Unknown");
        assert_eq!(progressing["reason"], "Checking");
        let want = "west-1: not sure; east-1: condition not reported";
        assert_eq!(progressing["message"], want);
    }

    #[test]
    fn negative_type_is_true_when_any_copy_says_true() {
        let with = |failure: Value| {
            let mut copy = healthy(1, 2);
            if let Some(conditions) = copy["status"]["conditions"].as_array_mut() {
                conditions.push(failure);
            }
            copy
        };
        let failing = with(cond("ReplicaFailure", "True", "FailedCreate", "forbidden: quota"));
        let fine = with(json!({ "type": "ReplicaFailure", "status": "False" }));
        let status = agg("Deployment", &[("b", fine.clone()), ("a", failing)]);
        let failure = condition(&status, "ReplicaFailure");
        assert_eq!(failure["status"], "True");
        assert_eq!(failure["message"], "a: forbidden: quota");

        let status = agg("Deployment", &[("b", fine.clone()), ("a", fine)]);
        let failure = condition(&status, "ReplicaFailure");
        assert_eq!(failure["status"], "False");
        assert_eq!(failure["message"], "a, b", "no message nor reason");
    }

    #[test]
    fn conditions_keep_kubernetes_order() {
        let mut copy = healthy(1, 1);
        copy["status"]["conditions"] = json!([
            { "type": "Zeta", "status": "True" }, { "type": "Progressing", "status": "True" },
            { "type": "Alpha", "status": "True" }, { "type": "Available", "status": "True" },
        ]);
        let status = agg("Deployment", &[("east-1", copy)]);
        let types: Vec<&str> = status["conditions"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["type"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(types, ["Available", "Progressing", "Alpha", "Zeta"]);
    }

    #[test]
    fn observed_generation_only_when_current_and_observed() {
        let mut lagging = healthy(3, 2);
        lagging["status"]["observedGeneration"] = json!(2);
        let observed = |items: &[(&str, Value)], all_current| {
            let status = aggregate("Deployment", &kcp(9), &copies(items), all_current);
            status.and_then(|s| s.get("observedGeneration").cloned())
        };
        let both = [("east-1", healthy(3, 2)), ("west-1", healthy(1, 2))];
        assert_eq!(observed(&both, true), Some(json!(9)));
        assert_eq!(observed(&both, false), None, "a cluster lacks the current spec");
        let one_lagging = [("east-1", healthy(3, 2)), ("west-1", lagging)];
        assert_eq!(observed(&one_lagging, true), None, "west-1 lags");
        let unseen = [("east-1", json!({ "metadata": { "generation": 1 } }))];
        assert_eq!(observed(&unseen, true), None, "no observedGeneration at all");
        let items = [("east-1", healthy(1, 1))];
        let no_generation = aggregate("Deployment", &json!({}), &copies(&items), true);
        assert!(no_generation.is_some_and(|s| s.get("observedGeneration").is_none()));
    }

    #[test]
    fn readiness_of_deployment_copies() {
        assert_eq!(copy_readiness("Deployment", &healthy(2, 3)), Readiness::Ready);

        // Scaled from 1 to 3: the new pods exist but are not available yet.
        let mut scaled = healthy(2, 3);
        scaled["status"]["availableReplicas"] = json!(1);
        scaled["status"]["readyReplicas"] = json!(1);
        scaled["status"]["unavailableReplicas"] = json!(2);
        assert_eq!(readiness(&scaled), "1/3 replicas available");

        let mut unobserved = healthy(3, 3);
        unobserved["status"]["observedGeneration"] = json!(2);
        let want = "rollout not observed yet (generation 3, observed 2)";
        assert_eq!(readiness(&unobserved), want);
        let fresh = json!({ "metadata": { "generation": 1 }, "spec": {} });
        let want = "rollout not observed yet (generation 1, observed none)";
        assert_eq!(readiness(&fresh), want);

        let mut rolling = healthy(1, 3);
        rolling["status"]["replicas"] = json!(4);
        assert_eq!(readiness(&rolling), "1 old replica pending termination");

        let mut stuck = healthy(1, 3);
        stuck["status"]["updatedReplicas"] = json!(1);
        stuck["status"]["conditions"][0]["reason"] = json!("ProgressDeadlineExceeded");
        let want = "progress deadline exceeded: 1/3 replicas updated";
        assert_eq!(readiness(&stuck), want);

        let mut flapping = healthy(1, 3);
        flapping["status"]["unavailableReplicas"] = json!(1);
        assert_eq!(readiness(&flapping), "1 replica unavailable");

        // Absent spec.replicas means 1.
        let defaulted = json!({ "metadata": { "generation": 1 }, "spec": {},
                                "status": { "observedGeneration": 1, "updatedReplicas": 1 } });
        assert_eq!(readiness(&defaulted), "0/1 replicas available");
        assert_eq!(readiness(&Value::Null), "no copy");
    }

    #[test]
    fn service_load_balancer_readiness_and_ingress_dedup() {
        let pending = json!({ "spec": { "type": "LoadBalancer" }, "status": { "loadBalancer": {} } });
        let waiting = Readiness::NotReady("waiting for a load balancer".to_owned());
        assert_eq!(copy_readiness("Service", &pending), waiting);
        let cluster_ip = json!({ "spec": { "type": "ClusterIP" } });
        assert_eq!(copy_readiness("Service", &cluster_ip), Readiness::Ready);
        assert_eq!(copy_readiness("ConfigMap", &json!({})), Readiness::Ready);

        let with = |ingress: Value| json!({ "spec": { "type": "LoadBalancer" }, "status": { "loadBalancer": { "ingress": ingress } } });
        let shared = json!({ "hostname": "lb.example.com" });
        let west = with(json!([{ "ip": "10.0.0.2" }, shared]));
        let east = with(json!([{ "ip": "10.0.0.1" }, shared]));
        assert_eq!(copy_readiness("Service", &east), Readiness::Ready);
        let items = [("west-1", west), ("east-1", east), ("north-1", pending)];
        let status = agg("Service", &items);
        let ingress = json!([{ "ip": "10.0.0.1" }, { "hostname": "lb.example.com" }, { "ip": "10.0.0.2" }]);
        assert_eq!(status, json!({ "loadBalancer": { "ingress": ingress } }));
        assert_eq!(agg("Service", &[("east-1", cluster_ip)]), json!({}));
    }

    #[test]
    fn generic_kind_picks_first_by_name_regardless_of_order() {
        let a = json!({ "status": { "phase": "A" } });
        let b = json!({ "status": { "phase": "B" } });
        let forward = [("alpha", a.clone()), ("beta", b.clone())];
        assert_eq!(agg("Widget", &forward), a["status"]);
        assert_eq!(agg("Widget", &[("beta", b), ("alpha", a.clone())]), a["status"]);
        let statusless = [("alpha", json!({ "data": {} }))];
        assert_eq!(aggregate("ConfigMap", &kcp(1), &copies(&statusless), true), None);
    }

    #[test]
    fn no_copies_is_nothing_to_say() {
        for kind in ["Deployment", "Service", "Widget"] {
            assert_eq!(aggregate(kind, &kcp(1), &[], true), None);
        }
    }

    #[test]
    fn malformed_copies_do_not_panic() {
        let a = json!({ "metadata": { "generation": "1" }, "spec": { "replicas": -5 },
            "status": { "observedGeneration": i64::MIN, "replicas": i64::MAX, "updatedReplicas": i64::MIN,
                        "conditions": { "type": "Available" } } });
        let b =
            json!({ "status": { "replicas": i64::MAX, "conditions": [7, { "type": 3 }, { "type": "X" }] } });
        let (c, d) = (json!("not an object"), json!({ "status": null }));
        let weird = [("a", a), ("b", b), ("c", c), ("d", d)];
        let status = aggregate("Deployment", &json!([]), &copies(&weird), true).unwrap_or_default();
        assert_eq!(status["replicas"], i64::MAX, "sums saturate");
        // b reports X without a status, which reads Unknown and has no words of its own.
        assert_eq!(condition(&status, "X")["status"], "Unknown");
        let want = "b; a, c, d: condition not reported";
        assert_eq!(condition(&status, "X")["message"], want);
        for (_, copy) in &weird {
            let _ = copy_readiness("Deployment", copy);
            let _ = copy_readiness("Service", copy);
        }
        let long = cond("Ready", "True", "R", &"é".repeat(MAX_MESSAGE_BYTES));
        let status = agg("Service", &[("a", json!({ "status": { "conditions": [long] } }))]);
        let message = condition(&status, "Ready")["message"].as_str();
        assert!(message.is_some_and(|m| m.len() <= MAX_MESSAGE_BYTES && m.starts_with("a: é")));
    }

    #[test]
    fn property_sums_and_order_independence() {
        const NAMES: [&str; 6] = ["east-1", "west-1", "north-2", "south-3", "central-0", "eu-9"];
        const STATUSES: [&str; 4] = ["True", "False", "Unknown", "Maybe"];
        // xorshift64, seeded: deterministic, so the test needs no new crate and never flakes.
        let mut state = 42u64;
        let mut below = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..400 {
            let mut names = NAMES.to_vec();
            for i in (1..names.len()).rev() {
                names.swap(i, below(i as u64 + 1) as usize);
            }
            let n = 1 + below(NAMES.len() as u64) as usize;
            let mut items: Vec<(&str, Value)> = Vec::new();
            for name in names.into_iter().take(n) {
                let generation = 1 + below(3) as i64;
                let mut status = Map::new();
                status.insert("observedGeneration".to_owned(), below(4).into());
                for field in DEPLOYMENT_COUNTS {
                    if below(3) > 0 {
                        status.insert((*field).to_owned(), below(10).into());
                    }
                }
                let mut conditions = Vec::new();
                for t in ["Available", "Progressing", "ReplicaFailure", "Custom"] {
                    if below(3) > 0 {
                        let s = STATUSES[below(4) as usize];
                        conditions.push(cond(t, s, "R", &format!("{name} {t}")));
                    }
                }
                status.insert("conditions".to_owned(), conditions.into());
                items.push((name, deployment(generation, 3, Value::Object(status))));
            }
            let all_current = below(2) == 0;
            let result = aggregate("Deployment", &kcp(5), &copies(&items), all_current).unwrap_or_default();

            for field in DEPLOYMENT_COUNTS {
                // None when no copy has the field: the result must then lack it too.
                let values = items.iter().map(|(_, o)| &o["status"][field]);
                let expected = values.filter_map(Value::as_i64).reduce(|a, b| a + b);
                assert_eq!(
                    result.get(*field).and_then(Value::as_i64),
                    expected,
                    "{field}: {items:?}"
                );
            }
            let available = condition(&result, "Available");
            if !available.is_null() {
                let reported: Vec<Option<&str>> = items
                    .iter()
                    .map(|(_, o)| find_condition(o, "Available").and_then(|c| c["status"].as_str()))
                    .collect();
                let expected = if reported.contains(&Some("False")) {
                    "False"
                } else if reported.iter().all(|s| *s == Some("True")) {
                    "True"
                } else {
                    "Unknown"
                };
                assert_eq!(available["status"], expected, "{reported:?}");
            }

            let mut reordered: Vec<(&str, Value)> = items.iter().rev().cloned().collect();
            reordered.rotate_left(below(n as u64) as usize);
            for kind in ["Deployment", "Service", "Widget"] {
                assert_eq!(
                    aggregate(kind, &kcp(5), &copies(&items), all_current),
                    aggregate(kind, &kcp(5), &copies(&reordered), all_current),
                    "{kind} depends on input order"
                );
            }
        }
    }
}
