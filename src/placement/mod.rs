//! Placement: which physical clusters a workload runs on, and why.
//!
//! A pure engine — no I/O, no async, no clock, no clients. An adapter builds the inputs
//! ([`Cluster`] from a `ClusterRegistration`, [`Policy`] from a `WorkloadPlacement`,
//! [`Workload`] with its recorded decision) and writes the [`Decision`] to kcp before
//! anything is synced. Being a function of its arguments is what makes decisions
//! reproducible after a restart and testable without a cluster.
//!
//! # A decision
//!
//! 1. **Which policy** ([`select_policy`]). A `WorkloadPlacement` governs the workloads of
//!    its own workspace that both its `workloadSelector` and `namespaceSelector` match.
//!    When several match, **the oldest (`creationTimestamp`, then name) wins**, and the
//!    others are reported as a [`POLICY_CONFLICT`] condition: creating a policy then never
//!    takes over workloads an older one already governs. When none matches, the **default
//!    placement** applies ([`Policy::default_policy`]): one Ready cluster, RoundRobin, no
//!    location or capability constraint.
//! 2. **Filter** ([`FilterRule`], first failure recorded): NotReady, cordoned, location
//!    selector (the location is matched as label `tmc.kcp.io/location`), required
//!    capabilities, the workload's API, free capacity.
//! 3. **Keep** the recorded clusters that pass. Stickiness is absolute for healthy
//!    clusters: neither a restart, nor a new cluster, nor a better score moves a workload.
//!    A recorded cluster is left only when it fails a rule — **failover**: NotReady for at
//!    least [`Settings::not_ready_toleration`] (shorter outages are waited out; the
//!    decision's [`Decision::revisit_at`] says when to look again), cordoned, deregistered,
//!    or no longer matching the policy or serving the API.
//! 4. **Score** the other eligible clusters ([`ScoreParts`]: strategy, headroom, preferred
//!    capabilities, stickiness) and fill the remaining slots in rank order:
//!    - **RoundRobin** prefers the fewest placed workloads; exact ties rotate by a stable
//!      hash of (workload, cluster), so equal clusters take turns.
//!    - **Affinity** prefers clusters already running workloads of the **same namespace**
//!      (in the same workspace). The namespace, because it is the unit TMC syncs: one
//!      physical namespace per (workspace, namespace), with the ConfigMaps and Secrets its
//!      workloads reference, so keeping a namespace together keeps those copies on few
//!      clusters and lets its workloads talk to each other locally. Without peers anywhere
//!      it falls back to the least loaded cluster.
//!    - **Spread** prefers the location with the fewest placements of this policy and
//!      takes at most one cluster per location per round, so a workload's clusters are in
//!      distinct locations first, and over a batch the per-location counts of the policy
//!      stay within one of each other.
//! 5. **Outcome**: placed, partially placed, or unschedulable with a kube-scheduler-style
//!    summary (`0/5 clusters are available: 2 cordoned, 3 not Ready.`). A workload that
//!    fits nowhere stays in kcp and says so ([`PLACED`] condition); it does not vanish.
//!
//! Every candidate gets a [`CandidateVerdict`]: the rule that rejected it, or its score
//! parts and rank. [`Decision::explain`] renders them for `kubectl tmc explain`.
//!
//! # Batches and state
//!
//! Spread and Affinity depend on other workloads' placements; that is an explicit
//! [`PlacementState`] (rebuilt from recorded decisions with
//! [`PlacementState::from_current`], updated with [`PlacementState::record`]).
//! [`place_all`] decides a batch in order, threading load and state through.

mod decide;
mod explain;
mod filter;
pub mod inputs;
mod model;
mod policy;
pub mod record;
mod score;
mod state;

#[cfg(test)]
mod tests;

pub use decide::{decide, decide_for, CandidateVerdict, Decision, Outcome, VerdictResult};
pub use explain::{placed_reason, PLACED};
pub use filter::FilterRule;
pub use model::{
    Cluster, ClusterId, GroupResource, Readiness, Resources, Settings, Workload, WorkloadKey,
    DEFAULT_NOT_READY_TOLERATION,
};
pub use policy::{
    conflict_reason, select_policy, Policy, PolicyChoice, DEFAULT_POLICY_NAME, POLICY_CONFLICT,
};
pub use score::{ScoreParts, HEADROOM_POINTS, PREFERRED_POINTS, STICKY_POINTS, STRATEGY_POINTS};
pub use state::{place_all, PlacementState};
