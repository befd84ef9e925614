//! One decision: filter, score, select — with a verdict recorded for every candidate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::filter::{Filter, FilterRule};
use super::model::{Cluster, ClusterId, Settings, Workload, WorkloadKey};
use super::policy::{select_policy, Policy};
use super::score::{score, Candidate, ScoreParts};
use super::state::PlacementState;
use crate::api::PlacementStrategy;

/// What became of one candidate cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerdictResult {
    /// Filtered out by `rule`; `message` says why in words.
    Rejected {
        /// The first rule the cluster failed.
        rule: FilterRule,
        /// Details for people, e.g. `cordoned (spec.unschedulable=true)`.
        message: String,
    },
    /// Passed every rule and was scored.
    Eligible {
        /// The score, part by part.
        score: ScoreParts,
        /// Whether the cluster was chosen.
        selected: bool,
        /// Position in the selection order, from 1: the first `wanted` ranks are selected.
        rank: usize,
        /// For a current cluster that is NotReady within the toleration: when the
        /// toleration ends (the workload leaves then unless it recovers).
        tolerated_until: Option<DateTime<Utc>>,
    },
}

/// The verdict on one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateVerdict {
    /// The cluster.
    pub cluster: ClusterId,
    /// Its location (empty for a recorded cluster that is no longer registered).
    pub location: String,
    /// Whether the workload's recorded decision includes it.
    pub current: bool,
    /// Rejected or eligible.
    pub result: VerdictResult,
}

impl CandidateVerdict {
    /// Whether the cluster is in the decision.
    pub fn is_selected(&self) -> bool {
        matches!(self.result, VerdictResult::Eligible { selected: true, .. })
    }

    /// The rule that rejected the cluster, if one did.
    pub fn rejected_by(&self) -> Option<&FilterRule> {
        match &self.result {
            VerdictResult::Rejected { rule, .. } => Some(rule),
            VerdictResult::Eligible { .. } => None,
        }
    }
}

/// How completely the workload could be placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// On as many clusters as the policy wants.
    Placed,
    /// On fewer clusters than wanted (but at least one).
    PartiallyPlaced {
        /// Clusters the policy wants.
        wanted: usize,
        /// Clusters selected.
        got: usize,
        /// Why, with rejections counted by rule.
        message: String,
    },
    /// On no cluster. The workload stays in kcp and reports this, rather than vanishing.
    Unschedulable {
        /// Why, with rejections counted by rule.
        message: String,
    },
}

/// A placement decision and its reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The workload decided for.
    pub workload: WorkloadKey,
    /// Name of the governing policy ([`DEFAULT_POLICY_NAME`](super::DEFAULT_POLICY_NAME)
    /// for the default placement).
    pub policy: String,
    /// The policy's strategy.
    pub strategy: PlacementStrategy,
    /// Clusters the policy wants.
    pub wanted: usize,
    /// Other policies that matched the workload (see [`select_policy`]); filled by
    /// [`decide_for`] and [`place_all`](super::place_all), empty from [`decide`].
    pub conflicts: Vec<String>,
    /// The chosen clusters, sorted: a set, so equal decisions compare (and are stored)
    /// equal whatever order they were found in.
    pub selected: Vec<ClusterId>,
    /// One verdict per candidate cluster, plus one per recorded cluster that is no longer
    /// registered; sorted by cluster.
    pub verdicts: Vec<CandidateVerdict>,
    /// Placed, partially placed or unschedulable.
    pub outcome: Outcome,
    /// When the decision should be made again even if nothing changes: the end of the
    /// earliest NotReady toleration it relies on.
    pub revisit_at: Option<DateTime<Utc>>,
}

impl Decision {
    /// Clusters selected that the workload was not on.
    pub fn added(&self) -> impl Iterator<Item = &ClusterId> {
        self.verdicts
            .iter()
            .filter(|v| v.is_selected() && !v.current)
            .map(|v| &v.cluster)
    }

    /// Clusters the workload was on that are no longer selected.
    pub fn released(&self) -> impl Iterator<Item = &ClusterId> {
        self.verdicts
            .iter()
            .filter(|v| v.current && !v.is_selected())
            .map(|v| &v.cluster)
    }
}

/// [`select_policy`] then [`decide`], with the policy conflicts recorded in the decision.
pub fn decide_for(
    workload: &Workload,
    policies: &[Policy],
    clusters: &[Cluster],
    settings: &Settings,
    state: &PlacementState,
) -> Decision {
    let choice = select_policy(workload, policies);
    let mut decision = decide(workload, &choice.policy, clusters, settings, state);
    decision.conflicts = choice.conflicts;
    decision
}

/// Decides where `workload` runs under `policy`, among `clusters` (ids must be unique).
///
/// 1. **Filter** every cluster (see [`FilterRule`] for the rules and their order).
/// 2. **Keep** the recorded clusters that pass: a healthy current cluster is never given
///    up for a better-scoring one, which is what makes restarts and new clusters move
///    nothing. A current cluster leaves only when it fails a rule: NotReady for at least
///    the toleration, cordoned, or no longer matching the policy or serving the API. If
///    more current clusters pass than the policy now wants, the best-ranked are kept,
///    healthy ones before those only kept within their NotReady toleration.
/// 3. **Score** the rest and fill the remaining slots in rank order. Spread takes at most
///    one cluster per location per round (kept clusters occupy their locations first), so
///    a workload's clusters are in distinct locations whenever enough locations qualify.
pub fn decide(
    workload: &Workload,
    policy: &Policy,
    clusters: &[Cluster],
    settings: &Settings,
    state: &PlacementState,
) -> Decision {
    let mut current: Vec<&ClusterId> = Vec::with_capacity(workload.current.len());
    for id in &workload.current {
        if !current.contains(&id) {
            current.push(id);
        }
    }
    let mut sorted: Vec<&Cluster> = clusters.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted.dedup_by(|a, b| a.id == b.id);

    let mut results: Vec<Option<VerdictResult>> = Vec::with_capacity(sorted.len());
    let mut eligible: Vec<(&Cluster, bool)> = Vec::new();
    let mut tolerations: Vec<Option<DateTime<Utc>>> = Vec::new();
    let mut slot_of: Vec<usize> = Vec::new();
    let filter = Filter::new(workload, policy, settings);
    for (i, cluster) in sorted.iter().enumerate() {
        let is_current = current.contains(&&cluster.id);
        match filter.check(cluster, is_current) {
            Ok(pass) => {
                results.push(None);
                eligible.push((cluster, is_current));
                tolerations.push(pass.tolerated_until);
                slot_of.push(i);
            }
            Err((rule, message)) => results.push(Some(VerdictResult::Rejected { rule, message })),
        }
    }

    let candidates = score(&eligible, &workload.key, workload.requests, policy, state);
    let order = selection_order(&candidates, policy.strategy);
    let wanted = policy.number_of_clusters.max(1);
    let mut revisit_at: Option<DateTime<Utc>> = None;
    for (rank, &e) in order.iter().enumerate() {
        let selected = rank < wanted;
        let tolerated_until = tolerations[e];
        if selected {
            if let Some(t) = tolerated_until {
                revisit_at = Some(revisit_at.map_or(t, |r| r.min(t)));
            }
        }
        results[slot_of[e]] = Some(VerdictResult::Eligible {
            score: candidates[e].score,
            selected,
            rank: rank + 1,
            tolerated_until,
        });
    }

    let mut verdicts: Vec<CandidateVerdict> = sorted
        .iter()
        .zip(results)
        .map(|(cluster, result)| CandidateVerdict {
            cluster: cluster.id.clone(),
            location: cluster.location.clone(),
            current: current.contains(&&cluster.id),
            result: result.expect("every cluster is either rejected or ranked"),
        })
        .collect();
    let registered = verdicts.len();
    for id in current {
        if sorted.binary_search_by(|c| c.id.cmp(id)).is_err() {
            verdicts.push(CandidateVerdict {
                cluster: id.clone(),
                location: String::new(),
                current: true,
                result: VerdictResult::Rejected {
                    rule: FilterRule::NotRegistered,
                    message: "the recorded cluster is no longer registered; the workload moves away"
                        .to_owned(),
                },
            });
        }
    }
    if verdicts.len() > registered {
        verdicts.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    }

    let selected: Vec<ClusterId> = verdicts
        .iter()
        .filter(|v| v.is_selected())
        .map(|v| v.cluster.clone())
        .collect();
    let outcome = outcome(wanted, selected.len(), &verdicts);
    Decision {
        workload: workload.key.clone(),
        policy: policy.name.clone(),
        strategy: policy.strategy,
        wanted,
        conflicts: Vec::new(),
        selected,
        verdicts,
        outcome,
        revisit_at,
    }
}

/// Indices of `candidates` in selection order: by rank, and for Spread round by round,
/// each round taking at most one cluster per location.
fn selection_order(candidates: &[Candidate<'_>], strategy: PlacementStrategy) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| candidates[a].rank_key().cmp(&candidates[b].rank_key()));
    if strategy == PlacementStrategy::Spread {
        // The round a candidate falls in is how many better-ranked candidates share its
        // location. Current clusters rank first, so they claim their locations first.
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut rounds = vec![0; candidates.len()];
        for &i in &order {
            let n = seen.entry(candidates[i].cluster.location.as_str()).or_default();
            rounds[i] = *n;
            *n += 1;
        }
        // Stable: within a round, rank order stays. Current clusters stay ahead of all,
        // healthy ones first.
        order.sort_by_key(|&i| {
            let c = &candidates[i];
            (!c.current, !c.cluster.ready.is_ready(), rounds[i])
        });
    }
    order
}

/// The outcome, with a kube-scheduler-style summary of the rejections
/// (`0/5 clusters are available: 2 cordoned, 3 not Ready.`).
fn outcome(wanted: usize, got: usize, verdicts: &[CandidateVerdict]) -> Outcome {
    if got >= wanted {
        return Outcome::Placed;
    }
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    let mut available = 0;
    for v in verdicts {
        match v.rejected_by() {
            Some(FilterRule::NotRegistered) => {}
            Some(rule) => {
                total += 1;
                *by_rule.entry(rule.to_string()).or_default() += 1;
            }
            None => {
                total += 1;
                available += 1;
            }
        }
    }
    let mut summary = format!("{available}/{total} clusters are available");
    if !by_rule.is_empty() {
        let parts: Vec<String> = by_rule.iter().map(|(rule, n)| format!("{n} {rule}")).collect();
        summary.push_str(": ");
        summary.push_str(&parts.join(", "));
    }
    summary.push('.');
    if got == 0 {
        Outcome::Unschedulable {
            message: format!("no cluster fits: {summary}"),
        }
    } else {
        Outcome::PartiallyPlaced {
            wanted,
            got,
            message: format!("placed on {got} of {wanted} wanted clusters: {summary}"),
        }
    }
}
