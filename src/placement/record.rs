//! The durable form of a decision: an annotation on the workload in kcp. It is
//! written before anything is synced, and read back as the workload's current
//! placement ([`Workload::current`](super::Workload)), which is what makes
//! decisions sticky across restarts. Pure: parsing and rendering only.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::decide::{Decision, Outcome};
use super::model::ClusterId;

/// Annotation on a placed workload holding its [`RecordedDecision`] as JSON.
pub const PLACEMENT_ANNOTATION: &str = "tmc.kcp.io/placement";

/// One chosen cluster: the `ClusterRegistration` `name` in logical cluster `workspace`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCluster {
    pub workspace: String,
    pub name: String,
}

/// What the annotation holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedDecision {
    /// The governing `WorkloadPlacement`, or `(default)` for the default placement.
    pub policy: String,
    /// The chosen clusters, sorted.
    pub clusters: Vec<RecordedCluster>,
    /// `Placed`, `PartiallyPlaced` or `Unschedulable` (the `Placed` condition's reason).
    pub reason: String,
    /// The `Placed` condition's message, e.g. why nothing fits.
    pub message: String,
}

impl RecordedDecision {
    pub fn of(decision: &Decision) -> Self {
        let condition = decision.placed_condition();
        Self {
            policy: decision.policy.clone(),
            clusters: decision
                .selected
                .iter()
                .map(|c| RecordedCluster {
                    workspace: c.logical_cluster.clone(),
                    name: c.name.clone(),
                })
                .collect(),
            reason: condition.reason.unwrap_or_default(),
            message: condition.message.unwrap_or_default(),
        }
    }

    /// The chosen clusters as engine ids.
    pub fn cluster_ids(&self) -> Vec<ClusterId> {
        self.clusters
            .iter()
            .map(|c| ClusterId::new(c.workspace.clone(), c.name.clone()))
            .collect()
    }

    /// The decision recorded on `object` (a workload as kcp serves it); `None`
    /// when there is none or it cannot be read (then the workload is placed
    /// afresh, which is the safe reading of a damaged annotation).
    pub fn from_object(object: &Value) -> Option<Self> {
        let text = object["metadata"]["annotations"][PLACEMENT_ANNOTATION].as_str()?;
        serde_json::from_str(text).ok()
    }

    /// The annotation value.
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("a recorded decision always serializes")
    }

    /// A JSON merge patch that records this decision on the workload.
    pub fn merge_patch(&self) -> Value {
        json!({"metadata": {"annotations": {PLACEMENT_ANNOTATION: self.to_annotation()}}})
    }

    /// Whether the workload runs anywhere.
    pub fn is_placed(&self) -> bool {
        !self.clusters.is_empty()
    }
}

/// Whether `decision` differs from what is recorded (a write to kcp is due).
pub fn needs_write(recorded: Option<&RecordedDecision>, decision: &Decision) -> bool {
    recorded != Some(&RecordedDecision::of(decision))
}

/// Short words for an outcome, for tables.
pub fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Placed => "Placed",
        Outcome::PartiallyPlaced { .. } => "PartiallyPlaced",
        Outcome::Unschedulable { .. } => "Unschedulable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_annotation() {
        let r = RecordedDecision {
            policy: "web".into(),
            clusters: vec![RecordedCluster {
                workspace: "abc".into(),
                name: "east".into(),
            }],
            reason: "Placed".into(),
            message: "placed on 1 of 1 wanted clusters".into(),
        };
        let obj = json!({"metadata": {"annotations": {PLACEMENT_ANNOTATION: r.to_annotation()}}});
        assert_eq!(RecordedDecision::from_object(&obj), Some(r.clone()));
        assert_eq!(r.cluster_ids(), vec![ClusterId::new("abc", "east")]);
        assert_eq!(
            r.merge_patch()["metadata"]["annotations"][PLACEMENT_ANNOTATION],
            r.to_annotation()
        );
    }

    #[test]
    fn a_damaged_annotation_reads_as_none() {
        for v in [json!("{"), json!(""), json!("[]"), json!(5)] {
            let obj = json!({"metadata": {"annotations": {PLACEMENT_ANNOTATION: v}}});
            assert_eq!(RecordedDecision::from_object(&obj), None);
        }
        assert_eq!(RecordedDecision::from_object(&json!({})), None);
    }
}
