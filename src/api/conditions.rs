//! Kubernetes-style status conditions shared by the `tmc.kcp.io` kinds.
//!
//! A local type rather than `metav1.Condition`: the upstream type makes `reason`,
//! `message` and `lastTransitionTime` required, which forces every writer (and every
//! hand-written manifest in tests) to invent values. kcp's own conditions are similarly
//! relaxed. The wire shape is still the familiar one, so `kubectl wait --for=condition=Ready`
//! and the `READY` printer column work unchanged.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The condition type every `tmc.kcp.io` kind reports as its summary.
pub const READY: &str = "Ready";

/// Status of a condition, as in Kubernetes: `True`, `False` or `Unknown`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The controller cannot tell (yet) whether the condition holds.
    #[default]
    Unknown,
}

impl ConditionStatus {
    /// The wire spelling (`"True"`, `"False"`, `"Unknown"`), e.g. for Table cells.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }
}

/// One observation of an aspect of the object's state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of the condition in CamelCase, e.g. `Ready`. Unique within the list.
    #[serde(rename = "type")]
    pub type_: String,
    /// Status of the condition: `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// Last time the status changed (not merely the last time it was written), so
    /// "NotReady for 5m" can be computed without a history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable CamelCase reason for the last transition, e.g. `HeartbeatTimeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail about the last transition. Never contains credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `metadata.generation` the controller had seen when it set this condition; a
    /// lower value than the object's generation means the condition may be stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// A condition of `type_` with `status` and no other fields set.
    pub fn new(type_: impl Into<String>, status: ConditionStatus) -> Self {
        Self {
            type_: type_.into(),
            status,
            ..Self::default()
        }
    }
}

/// The condition of `type_` in `conditions`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// The status of the condition of `type_`; a missing condition reads as `Unknown`,
/// which is what a client that has not heard from the controller yet should assume.
pub fn condition_status(conditions: &[Condition], type_: &str) -> ConditionStatus {
    find_condition(conditions, type_).map_or(ConditionStatus::Unknown, |c| c.status)
}

/// Whether the condition of `type_` is present and `True`.
pub fn is_condition_true(conditions: &[Condition], type_: &str) -> bool {
    condition_status(conditions, type_) == ConditionStatus::True
}

/// Inserts or replaces the condition with `new.type_`, keeping the previous
/// `lastTransitionTime` when the status did not change (so the time records the
/// transition, not the write). Returns whether anything changed, so callers can skip
/// no-op status updates.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            if *old == new {
                return false;
            }
            *old = new;
            true
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Option<Time> {
        Some(Time(Timestamp::from_second(secs).unwrap()))
    }

    #[test]
    fn missing_condition_reads_unknown() {
        assert_eq!(condition_status(&[], READY), ConditionStatus::Unknown);
        assert!(!is_condition_true(&[], READY));
    }

    #[test]
    fn find_by_type() {
        let conds = vec![
            Condition::new("Other", ConditionStatus::False),
            Condition::new(READY, ConditionStatus::True),
        ];
        assert_eq!(
            find_condition(&conds, READY).unwrap().status,
            ConditionStatus::True
        );
        assert!(is_condition_true(&conds, READY));
        assert!(find_condition(&conds, "Nope").is_none());
    }

    #[test]
    fn set_keeps_transition_time_when_status_unchanged() {
        let mut conds = vec![Condition {
            last_transition_time: at(100),
            ..Condition::new(READY, ConditionStatus::True)
        }];
        let changed = set_condition(
            &mut conds,
            Condition {
                last_transition_time: at(200),
                message: Some("still fine".into()),
                ..Condition::new(READY, ConditionStatus::True)
            },
        );
        assert!(changed);
        assert_eq!(conds[0].last_transition_time, at(100));
        assert_eq!(conds[0].message.as_deref(), Some("still fine"));
    }

    #[test]
    fn set_records_transition_and_reports_noop() {
        let mut conds = vec![Condition {
            last_transition_time: at(100),
            ..Condition::new(READY, ConditionStatus::True)
        }];
        let flip = Condition {
            last_transition_time: at(300),
            ..Condition::new(READY, ConditionStatus::False)
        };
        assert!(set_condition(&mut conds, flip.clone()));
        assert_eq!(conds[0].last_transition_time, at(300));
        assert!(!set_condition(&mut conds, flip));
        assert!(set_condition(
            &mut conds,
            Condition::new("Synced", ConditionStatus::True)
        ));
        assert_eq!(conds.len(), 2);
    }

    #[test]
    fn wire_shape() {
        let c = Condition {
            reason: Some("Probed".into()),
            last_transition_time: at(0),
            observed_generation: Some(3),
            ..Condition::new(READY, ConditionStatus::True)
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "Ready",
                "status": "True",
                "reason": "Probed",
                "lastTransitionTime": "1970-01-01T00:00:00Z",
                "observedGeneration": 3,
            })
        );
        assert_eq!(serde_json::from_value::<Condition>(v).unwrap(), c);
    }
}
