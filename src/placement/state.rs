//! What one decision needs to know about the others, and the batch that threads it.
//!
//! Spread balances a policy's placements over locations and Affinity pulls a namespace's
//! workloads together; both depend on where *other* workloads are. That knowledge is a
//! value, [`PlacementState`], built from the recorded decisions and updated with each new
//! one, so [`decide`](super::decide) stays a pure function of its arguments.

use std::collections::{BTreeMap, HashMap};

use super::decide::{decide, Decision};
use super::model::{Cluster, ClusterId, Settings, Workload};
use super::policy::{select_policy, Policy};

/// Placements per cluster, per group.
type Counts = BTreeMap<(String, String), BTreeMap<ClusterId, u32>>;

/// Where workloads are placed, counted per cluster for each (logical cluster, policy) — for
/// Spread — and for each (logical cluster, namespace) — for Affinity. Counting per cluster
/// rather than per location lets a location be summed from the clusters that exist now, so
/// a cluster that changes location or disappears needs no bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementState {
    by_policy: Counts,
    by_namespace: Counts,
}

impl PlacementState {
    /// An empty state: no workload placed anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state implied by the recorded decisions (`Workload::current`), each workload
    /// counted under the policy [`select_policy`] picks for it. This is how a restarted TMC
    /// rebuilds it: from what kcp stores, not from memory.
    pub fn from_current(workloads: &[Workload], policies: &[Policy]) -> Self {
        let mut state = Self::new();
        for w in workloads {
            let choice = select_policy(w, policies);
            state.add_current(w, &choice.policy.name);
        }
        state
    }

    /// Counts `workload`'s recorded decision under `policy_name`.
    pub fn add_current(&mut self, workload: &Workload, policy_name: &str) {
        let mut seen: Vec<&ClusterId> = Vec::with_capacity(workload.current.len());
        for id in &workload.current {
            if !seen.contains(&id) {
                seen.push(id);
                self.bump(
                    &workload.key.logical_cluster,
                    policy_name,
                    &workload.key.namespace,
                    id,
                    true,
                );
            }
        }
    }

    /// Applies a decision: clusters it adds count up, clusters it releases count down.
    pub fn record(&mut self, decision: &Decision) {
        let key = &decision.workload;
        for v in &decision.verdicts {
            let selected = v.is_selected();
            if selected != v.current {
                self.bump(
                    &key.logical_cluster,
                    &decision.policy,
                    &key.namespace,
                    &v.cluster,
                    selected,
                );
            }
        }
    }

    /// Placements of the policy `policy_name` of `logical_cluster`, per cluster.
    pub fn policy_counts(
        &self,
        logical_cluster: &str,
        policy_name: &str,
    ) -> Option<&BTreeMap<ClusterId, u32>> {
        self.by_policy
            .get(&(logical_cluster.to_owned(), policy_name.to_owned()))
    }

    /// Workloads of the namespace `namespace` of `logical_cluster`, per cluster.
    pub fn namespace_counts(
        &self,
        logical_cluster: &str,
        namespace: &str,
    ) -> Option<&BTreeMap<ClusterId, u32>> {
        self.by_namespace
            .get(&(logical_cluster.to_owned(), namespace.to_owned()))
    }

    fn bump(&mut self, lc: &str, policy: &str, namespace: &str, cluster: &ClusterId, up: bool) {
        for (map, group) in [(&mut self.by_policy, policy), (&mut self.by_namespace, namespace)] {
            let per_cluster = map.entry((lc.to_owned(), group.to_owned())).or_default();
            if up {
                *per_cluster.entry(cluster.clone()).or_default() += 1;
            } else if let Some(n) = per_cluster.get_mut(cluster) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_cluster.remove(cluster);
                }
            }
        }
    }
}

/// Decides every workload in turn, as a controller's full resync would: each decision sees
/// the load (`placed_workloads`, `committed`) and the [`PlacementState`] left by the ones
/// before it, so a batch balances as if the workloads had arrived one by one in this order.
///
/// `clusters` must already count the workloads' recorded decisions in `placed_workloads`
/// and `committed` (as a registration's status does); the state is rebuilt from them with
/// [`PlacementState::from_current`]. Decisions come back in the order of `workloads`, each
/// with its policy conflicts filled in.
pub fn place_all(
    workloads: &[Workload],
    policies: &[Policy],
    clusters: &[Cluster],
    settings: &Settings,
) -> Vec<Decision> {
    let mut clusters = clusters.to_vec();
    let index: HashMap<ClusterId, usize> = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let choices: Vec<_> = workloads.iter().map(|w| select_policy(w, policies)).collect();
    let mut state = PlacementState::new();
    for (w, choice) in workloads.iter().zip(&choices) {
        state.add_current(w, &choice.policy.name);
    }
    let mut out = Vec::with_capacity(workloads.len());
    for (w, choice) in workloads.iter().zip(choices) {
        let mut decision = decide(w, &choice.policy, &clusters, settings, &state);
        decision.conflicts = choice.conflicts;
        for v in &decision.verdicts {
            let selected = v.is_selected();
            if selected == v.current {
                continue;
            }
            if let Some(c) = index.get(&v.cluster).map(|&i| &mut clusters[i]) {
                if selected {
                    c.placed_workloads = c.placed_workloads.saturating_add(1);
                    c.committed = c.committed.saturating_add(w.requests);
                } else {
                    c.placed_workloads = c.placed_workloads.saturating_sub(1);
                    c.committed = c.committed.saturating_sub(w.requests);
                }
            }
        }
        state.record(&decision);
        out.push(decision);
    }
    out
}
