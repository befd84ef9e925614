//! The state of a workload on one cluster, in one word and a sentence, as the
//! `placements` view shows it. Pure.
//!
//! - `Pending`: decided, the copy is not (yet) on the cluster as desired.
//! - `Progressing`: the copy is there and current; the cluster's controllers
//!   have not made it ready yet (e.g. replicas still starting).
//! - `Ready`: the copy is current and ready (`status::copy_readiness`).
//! - `Error`: the last attempt failed; the message says why. TMC retries.
//! - `Deleting`: the kcp object is being deleted (or the workload moved) and
//!   the copy is still there.

use super::board::{ClusterReport, CopyReport};
use super::status::{copy_readiness, Readiness};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CopyState {
    Ready,
    Progressing,
    Pending,
    Deleting,
    Error,
}

impl CopyState {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Ready => "Ready",
            CopyState::Progressing => "Progressing",
            CopyState::Pending => "Pending",
            CopyState::Deleting => "Deleting",
            CopyState::Error => "Error",
        }
    }
}

/// The state of the copy of a workload of `kind` on a cluster whose worker
/// reported `cluster` (`None`: no worker yet), given the hash of the desired
/// copy (`None` when the cluster should not hold it: the kcp object is
/// being deleted).
pub fn copy_state(
    kind: &str,
    cluster: Option<&ClusterReport>,
    copy: Option<&CopyReport>,
    desired_hash: Option<u64>,
) -> (CopyState, String) {
    let Some(cluster) = cluster else {
        return (CopyState::Pending, "the cluster's sync worker is starting".into());
    };
    if let Some(p) = &cluster.problem {
        return (CopyState::Error, p.clone());
    }
    if let Some(e) = copy.and_then(|c| c.error.as_ref()) {
        return (CopyState::Error, e.clone());
    }
    let object = copy.and_then(|c| c.object.as_ref());
    let Some(want) = desired_hash else {
        return match object {
            Some(_) => (CopyState::Deleting, "removing the copy".into()),
            None => (CopyState::Deleting, "the copy is gone".into()),
        };
    };
    let Some(object) = object else {
        return (CopyState::Pending, "waiting to be created on the cluster".into());
    };
    if copy.and_then(|c| c.applied_hash) != Some(want) {
        return (CopyState::Pending, "applying the current spec".into());
    }
    match copy_readiness(kind, object) {
        Readiness::Ready => (CopyState::Ready, String::new()),
        Readiness::NotReady(why) => (CopyState::Progressing, why),
    }
}

/// One word for a workload over all its clusters: the worst state
/// (Error > Deleting > Pending > Progressing > Ready); empty when it is on
/// no cluster.
pub fn summary(states: &[CopyState]) -> &'static str {
    states.iter().max().map(|s| s.as_str()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn listed() -> ClusterReport {
        ClusterReport {
            listed: true,
            ..Default::default()
        }
    }

    #[test]
    fn states_follow_the_copy_through_its_life() {
        let c = listed();
        assert_eq!(copy_state("Service", None, None, Some(1)).0, CopyState::Pending);
        assert_eq!(
            copy_state("Service", Some(&c), None, Some(1)).0,
            CopyState::Pending
        );
        let there = CopyReport {
            object: Some(Arc::new(json!({"spec": {}}))),
            applied_hash: Some(1),
            ..Default::default()
        };
        assert_eq!(
            copy_state("Service", Some(&c), Some(&there), Some(1)).0,
            CopyState::Ready
        );
        assert_eq!(
            copy_state("Service", Some(&c), Some(&there), Some(2)).0,
            CopyState::Pending
        );
        assert_eq!(
            copy_state("Service", Some(&c), Some(&there), None).0,
            CopyState::Deleting
        );
        let failing = CopyReport {
            error: Some("forbidden".into()),
            ..there.clone()
        };
        assert_eq!(
            copy_state("Service", Some(&c), Some(&failing), Some(1)),
            (CopyState::Error, "forbidden".into())
        );
        let unreachable = ClusterReport {
            problem: Some("connection refused".into()),
            ..listed()
        };
        assert_eq!(
            copy_state("Service", Some(&unreachable), Some(&there), Some(1)).0,
            CopyState::Error
        );
    }

    #[test]
    fn the_summary_is_the_worst_state() {
        assert_eq!(summary(&[]), "");
        assert_eq!(summary(&[CopyState::Ready, CopyState::Ready]), "Ready");
        assert_eq!(
            summary(&[CopyState::Ready, CopyState::Progressing]),
            "Progressing"
        );
        assert_eq!(summary(&[CopyState::Pending, CopyState::Error]), "Error");
    }
}
