//! The score: how much an eligible cluster is preferred, in parts a person can read.
//!
//! Points: **strategy 0–60**, **headroom 0–30**, **preferred capabilities 0–10**, so a
//! cluster new to the workload scores at most 100; **stickiness is 100** for a cluster the
//! workload is already on, so every current cluster outranks every other. Ranking sorts by
//! (current first, Ready first — a current cluster kept within its NotReady toleration
//! never displaces a healthy one —, total descending, the strategy's exact figure, fewest placed workloads,
//! a rotation hash, cluster id): the integer points are for people, the exact figures
//! behind them keep ranking fine-grained, and the last two keys make it a total order, so
//! the result never depends on the order clusters were listed in.
//!
//! Strategy points are relative to the eligible candidates (best 60, worst 0, linear in
//! between), so the strategy always dominates headroom when candidates are within one of
//! each other: that is what keeps RoundRobin and Spread balanced exactly.

use std::collections::BTreeMap;

use super::filter::free;
use super::model::{Cluster, ClusterId, Resources, WorkloadKey};
use super::policy::Policy;
use super::state::PlacementState;
use crate::api::PlacementStrategy;

/// Maximum strategy points.
pub const STRATEGY_POINTS: u32 = 60;
/// Maximum headroom points (half of them when capacity is unknown).
pub const HEADROOM_POINTS: u32 = 30;
/// Maximum preferred-capability points.
pub const PREFERRED_POINTS: u32 = 10;
/// Points for being on the workload's current decision.
pub const STICKY_POINTS: u32 = 100;

/// An eligible cluster's score, part by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScoreParts {
    /// The strategy's preference (0–60): RoundRobin fewest placed workloads, Affinity most
    /// workloads of the same namespace, Spread least used location.
    pub strategy: u32,
    /// Free capacity left after placing the workload (0–30), of its scarcer resource.
    pub headroom: u32,
    /// Share of the policy's preferred capabilities available (0–10).
    pub preferred: u32,
    /// [`STICKY_POINTS`] when the workload is already there, else 0.
    pub stickiness: u32,
    /// Sum of the parts.
    pub total: u32,
}

/// One eligible candidate during ranking.
pub(crate) struct Candidate<'c> {
    pub cluster: &'c Cluster,
    pub current: bool,
    /// The strategy's exact figure, lower is better.
    pub fine: i64,
    pub hash: u64,
    pub score: ScoreParts,
}

impl Candidate<'_> {
    /// The ranking order described in the module docs.
    pub fn rank_key(&self) -> (bool, bool, std::cmp::Reverse<u32>, i64, u32, u64, &ClusterId) {
        (
            !self.current,
            !self.cluster.ready.is_ready(),
            std::cmp::Reverse(self.score.total),
            self.fine,
            self.cluster.placed_workloads,
            self.hash,
            &self.cluster.id,
        )
    }
}

/// Scores the eligible `(cluster, current)` pairs for a workload.
pub(crate) fn score<'c>(
    eligible: &[(&'c Cluster, bool)],
    key: &WorkloadKey,
    requests: Resources,
    policy: &Policy,
    state: &PlacementState,
) -> Vec<Candidate<'c>> {
    // The strategy's raw figure per candidate, and whether higher raw is better.
    let raws: Vec<u64> = match policy.strategy {
        PlacementStrategy::RoundRobin => eligible
            .iter()
            .map(|(c, _)| u64::from(c.placed_workloads))
            .collect(),
        PlacementStrategy::Affinity => {
            let peers = state.namespace_counts(&key.logical_cluster, &key.namespace);
            eligible
                .iter()
                .map(|(c, _)| peers.and_then(|p| p.get(&c.id)).copied().map_or(0, u64::from))
                .collect()
        }
        PlacementStrategy::Spread => {
            let per_cluster = state.policy_counts(&key.logical_cluster, &policy.name);
            let mut per_location: BTreeMap<&str, u64> = BTreeMap::new();
            if let Some(per_cluster) = per_cluster {
                // Locations are summed over the clusters offered now, so a cluster that moved
                // location or was deregistered is accounted where it is (or not at all).
                for (c, _) in eligible {
                    let n = per_cluster.get(&c.id).copied().unwrap_or(0);
                    *per_location.entry(c.location.as_str()).or_default() += u64::from(n);
                }
            }
            eligible
                .iter()
                .map(|(c, _)| per_location.get(c.location.as_str()).copied().unwrap_or(0))
                .collect()
        }
    };
    let higher_is_better = policy.strategy == PlacementStrategy::Affinity;
    let (min, max) = raws
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    eligible
        .iter()
        .zip(raws)
        .map(|(&(cluster, current), raw)| {
            let strategy = if higher_is_better {
                scale(raw, max, STRATEGY_POINTS)
            } else if max == min {
                STRATEGY_POINTS
            } else {
                scale(max - raw, max - min, STRATEGY_POINTS)
            };
            let headroom = headroom(cluster, requests, current);
            let preferred = if policy.preferred_capabilities.is_empty() {
                0
            } else {
                let have = policy
                    .preferred_capabilities
                    .iter()
                    .filter(|c| cluster.capabilities.contains(*c))
                    .count();
                scale(
                    have as u64,
                    policy.preferred_capabilities.len() as u64,
                    PREFERRED_POINTS,
                )
            };
            let stickiness = if current { STICKY_POINTS } else { 0 };
            let fine = i64::try_from(raw).unwrap_or(i64::MAX);
            Candidate {
                cluster,
                current,
                fine: if higher_is_better { -fine } else { fine },
                hash: rotation_hash(key, &cluster.id),
                score: ScoreParts {
                    strategy,
                    headroom,
                    preferred,
                    stickiness,
                    total: strategy + headroom + preferred + stickiness,
                },
            }
        })
        .collect()
}

/// `points * part / whole`, rounded down; 0 when `whole` is 0.
fn scale(part: u64, whole: u64, points: u32) -> u32 {
    if whole == 0 {
        return 0;
    }
    let v = u128::from(part) * u128::from(points) / u128::from(whole);
    u32::try_from(v).unwrap_or(points).min(points)
}

/// Headroom points: the fraction of allocatable still free after the workload lands, for
/// the scarcer of CPU and memory. Unknown capacity scores half, so clusters that report
/// nothing are neither favoured nor shunned. On a current cluster the workload is already
/// in `committed`, so it is not subtracted twice.
fn headroom(cluster: &Cluster, requests: Resources, current: bool) -> u32 {
    let (Some(alloc), Some(free)) = (cluster.allocatable, free(cluster)) else {
        return HEADROOM_POINTS / 2;
    };
    let after = if current {
        free
    } else {
        free.saturating_sub(requests)
    };
    let cpu = scale(after.cpu_millis, alloc.cpu_millis, HEADROOM_POINTS);
    let memory = scale(after.memory_bytes, alloc.memory_bytes, HEADROOM_POINTS);
    match (alloc.cpu_millis, alloc.memory_bytes) {
        (0, 0) => 0,
        (0, _) => memory,
        (_, 0) => cpu,
        _ => cpu.min(memory),
    }
}

/// A stable hash of (workload, cluster) that breaks exact ties, so equal clusters are not
/// always taken in name order: different workloads rotate over them. FNV-1a, not std's
/// hasher, because std's may change between Rust releases and a decision must be the same
/// on every build of TMC.
pub(crate) fn rotation_hash(key: &WorkloadKey, cluster: &ClusterId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let parts = [
        key.logical_cluster.as_str(),
        key.namespace.as_str(),
        key.name.as_str(),
        key.resource.group.as_str(),
        key.resource.resource.as_str(),
        cluster.logical_cluster.as_str(),
        cluster.name.as_str(),
    ];
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}
