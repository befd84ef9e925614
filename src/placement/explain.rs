//! Decisions in words: `kubectl tmc explain` output and the `Placed` condition.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::decide::{CandidateVerdict, Decision, Outcome, VerdictResult};
use super::policy::DEFAULT_POLICY_NAME;
use crate::api::{Condition, ConditionStatus};

/// Condition type on a workload's placement: whether it is on as many clusters as wanted.
pub const PLACED: &str = "Placed";

/// `reason`s of the [`PLACED`] condition.
pub mod placed_reason {
    /// On as many clusters as the policy wants.
    pub const PLACED: &str = "Placed";
    /// On fewer clusters than wanted.
    pub const PARTIALLY_PLACED: &str = "PartiallyPlaced";
    /// On no cluster.
    pub const UNSCHEDULABLE: &str = "Unschedulable";
}

impl Decision {
    /// The [`PLACED`] condition: True when fully placed; False with reason
    /// `PartiallyPlaced` or `Unschedulable` and the rejection summary otherwise.
    /// `lastTransitionTime` is left to the writer (`set_condition`).
    pub fn placed_condition(&self) -> Condition {
        let (status, reason, message) = match &self.outcome {
            Outcome::Placed => (
                ConditionStatus::True,
                placed_reason::PLACED,
                format!(
                    "placed on {} of {} wanted clusters",
                    self.selected.len(),
                    self.wanted
                ),
            ),
            Outcome::PartiallyPlaced { message, .. } => (
                ConditionStatus::False,
                placed_reason::PARTIALLY_PLACED,
                message.clone(),
            ),
            Outcome::Unschedulable { message } => (
                ConditionStatus::False,
                placed_reason::UNSCHEDULABLE,
                message.clone(),
            ),
        };
        Condition {
            reason: Some(reason.to_owned()),
            message: Some(message),
            ..Condition::new(PLACED, status)
        }
    }

    /// A multi-line explanation: the workload and policy, the outcome, then one line per
    /// candidate — selected ones in rank order, then the other eligible ones, then the
    /// rejected ones by name:
    ///
    /// ```text
    /// east: selected (score 87: strategy 60, headroom 17, preferred 10, sticky 0)
    /// west: rejected — cordoned (spec.unschedulable=true)
    /// ```
    ///
    /// Clusters are named by registration name alone when that is unambiguous.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let policy = if self.policy == DEFAULT_POLICY_NAME {
            "the default placement".to_owned()
        } else {
            format!("policy {:?}", self.policy)
        };
        let _ = writeln!(
            out,
            "{}: {policy} ({}, {} cluster{})",
            self.workload,
            self.strategy.as_str(),
            self.wanted,
            if self.wanted == 1 { "" } else { "s" }
        );
        if !self.conflicts.is_empty() {
            let others: Vec<String> = self.conflicts.iter().map(|n| format!("{n:?}")).collect();
            let _ = writeln!(
                out,
                "also matched: {} (the oldest matching policy applies)",
                others.join(", ")
            );
        }
        let outcome = match &self.outcome {
            Outcome::Placed => format!(
                "placed on {} of {} wanted clusters",
                self.selected.len(),
                self.wanted
            ),
            Outcome::PartiallyPlaced { message, .. } => format!("partially placed: {message}"),
            Outcome::Unschedulable { message } => format!("unschedulable: {message}"),
        };
        let _ = writeln!(out, "{outcome}");

        let names: BTreeSet<&str> = self.verdicts.iter().map(|v| v.cluster.name.as_str()).collect();
        let short = names.len() == self.verdicts.len();
        let mut lines: Vec<(u8, usize, &CandidateVerdict)> = self
            .verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| match &v.result {
                VerdictResult::Eligible {
                    selected: true, rank, ..
                } => (0, *rank, v),
                VerdictResult::Eligible { rank, .. } => (1, *rank, v),
                VerdictResult::Rejected { .. } => (2, i, v),
            })
            .collect();
        lines.sort_by_key(|&(group, pos, _)| (group, pos));
        for (_, _, v) in lines {
            let name = if short {
                v.cluster.name.clone()
            } else {
                v.cluster.to_string()
            };
            let _ = writeln!(out, "{name}: {}", verdict_text(v));
        }
        out
    }
}

fn verdict_text(v: &CandidateVerdict) -> String {
    match &v.result {
        VerdictResult::Rejected { message, .. } if v.current => format!("released — {message}"),
        VerdictResult::Rejected { message, .. } => format!("rejected — {message}"),
        VerdictResult::Eligible {
            score,
            selected,
            rank,
            tolerated_until,
        } => {
            let mut what = if *selected {
                "selected".to_owned()
            } else if v.current {
                format!("released, rank {rank} beyond the number of clusters wanted")
            } else {
                format!("eligible, not selected (rank {rank})")
            };
            if v.current && *selected {
                what.push_str(", already placed here");
            }
            if let Some(t) = tolerated_until {
                let _ = write!(what, ", NotReady but tolerated until {}", t.to_rfc3339());
            }
            format!(
                "{what} (score {}: strategy {}, headroom {}, preferred {}, sticky {})",
                score.total, score.strategy, score.headroom, score.preferred, score.stickiness
            )
        }
    }
}
