//! Placement policies and which one governs a workload.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::model::Workload;
use crate::api::{Condition, ConditionStatus, PlacementStrategy, WorkloadPlacement};
use crate::selectors::{from_optional_label_selector, LabelSelector, NilMeans, SelectorError};

/// Name the built-in default policy reports. Parenthesised so it can never be the name of
/// a `WorkloadPlacement` (object names are DNS subdomains) and so never collides with one.
pub const DEFAULT_POLICY_NAME: &str = "(default)";

/// Condition type telling whether more than one `WorkloadPlacement` matches a workload.
/// Its status is True while there is a conflict, like Gateway API's `Conflicted`.
pub const POLICY_CONFLICT: &str = "PolicyConflict";

/// `reason`s of the [`POLICY_CONFLICT`] condition.
pub mod conflict_reason {
    /// Several policies match; the oldest governs.
    pub const MULTIPLE_POLICIES_MATCH: &str = "MultiplePoliciesMatch";
    /// Exactly one policy matches.
    pub const ONE_POLICY_MATCHES: &str = "OnePolicyMatches";
    /// No policy matches; the default placement applies.
    pub const DEFAULT_PLACEMENT: &str = "DefaultPlacement";
}

/// A `WorkloadPlacement`, resolved for matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Logical cluster (workspace) the policy lives in; it governs only workloads there.
    pub logical_cluster: String,
    /// Object name ([`DEFAULT_POLICY_NAME`] for the default policy).
    pub name: String,
    /// `metadata.creationTimestamp`; the oldest matching policy wins a conflict. `None`
    /// (not yet known) ranks after every dated policy.
    pub created: Option<DateTime<Utc>>,
    /// Workloads (by their labels) the policy applies to.
    pub workload_selector: LabelSelector,
    /// Namespaces (by their labels) whose workloads the policy applies to.
    pub namespace_selector: LabelSelector,
    /// Eligible clusters by label, the location visible as `tmc.kcp.io/location`.
    pub location_selector: LabelSelector,
    /// Capabilities a cluster must have available to be eligible.
    pub required_capabilities: BTreeSet<String>,
    /// Capabilities that make a cluster score higher.
    pub preferred_capabilities: BTreeSet<String>,
    /// Clusters per workload, at least 1.
    pub number_of_clusters: usize,
    /// How eligible clusters are ranked.
    pub strategy: PlacementStrategy,
}

impl Policy {
    /// The placement for workloads no `WorkloadPlacement` selects: **one Ready,
    /// schedulable cluster that serves the workload's API, chosen RoundRobin** (fewest
    /// placed workloads), with no location or capability constraint. One cluster because a
    /// tenant who wrote no policy asked for no replication; RoundRobin because without a
    /// stated preference the fair choice is to balance load.
    pub fn default_policy(logical_cluster: impl Into<String>) -> Self {
        Self {
            logical_cluster: logical_cluster.into(),
            name: DEFAULT_POLICY_NAME.to_owned(),
            created: None,
            workload_selector: LabelSelector::everything(),
            namespace_selector: LabelSelector::everything(),
            location_selector: LabelSelector::everything(),
            required_capabilities: BTreeSet::new(),
            preferred_capabilities: BTreeSet::new(),
            number_of_clusters: 1,
            strategy: PlacementStrategy::RoundRobin,
        }
    }

    /// True for [`Policy::default_policy`].
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_POLICY_NAME
    }

    /// Resolves a `WorkloadPlacement` of `logical_cluster`. Unset selectors select
    /// everything, as the API documents. A malformed selector is an error: the caller
    /// reports it on the policy's `Ready` condition and leaves the policy out, so a typo
    /// never widens a policy to every workload.
    pub fn from_placement(logical_cluster: &str, wp: &WorkloadPlacement) -> Result<Self, SelectorError> {
        let spec = &wp.spec;
        let sel = |s| from_optional_label_selector(s, NilMeans::Everything);
        let (required, preferred): (Vec<_>, Vec<_>) =
            spec.capability_requirements.iter().partition(|c| c.required);
        Ok(Self {
            logical_cluster: logical_cluster.to_owned(),
            name: wp.metadata.name.clone().unwrap_or_default(),
            created: wp
                .metadata
                .creation_timestamp
                .as_ref()
                .and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0)),
            workload_selector: sel(spec.workload_selector.as_ref())?,
            namespace_selector: sel(spec.namespace_selector.as_ref())?,
            location_selector: sel(spec.location_selector.as_ref())?,
            required_capabilities: required.into_iter().map(|c| c.type_.clone()).collect(),
            preferred_capabilities: preferred.into_iter().map(|c| c.type_.clone()).collect(),
            number_of_clusters: spec.clusters_wanted(),
            strategy: spec.strategy,
        })
    }

    /// Whether the policy governs `workload`: same logical cluster, and both selectors
    /// match.
    pub fn selects(&self, workload: &Workload) -> bool {
        self.logical_cluster == workload.key.logical_cluster
            && self.workload_selector.matches(&workload.labels)
            && self.namespace_selector.matches(&workload.namespace_labels)
    }

    /// Precedence among matching policies: oldest first, then by name.
    fn precedence(&self) -> (bool, Option<DateTime<Utc>>, &str) {
        (self.created.is_none(), self.created, &self.name)
    }
}

/// The policy governing a workload, and the other policies that also matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyChoice<'a> {
    /// The governing policy (borrowed, or the owned default).
    pub policy: Cow<'a, Policy>,
    /// Names of the other matching policies, in precedence order; empty without conflict.
    pub conflicts: Vec<String>,
}

impl PolicyChoice<'_> {
    /// The [`POLICY_CONFLICT`] condition for the workload's placement: True with the
    /// losers named while several policies match, False otherwise (so a resolved conflict
    /// clears). `lastTransitionTime` is left to the writer (`set_condition`).
    pub fn conflict_condition(&self) -> Condition {
        let (status, reason, message) = if !self.conflicts.is_empty() {
            let others: Vec<String> = self.conflicts.iter().map(|n| format!("{n:?}")).collect();
            (
                ConditionStatus::True,
                conflict_reason::MULTIPLE_POLICIES_MATCH,
                format!(
                    "{} WorkloadPlacements match; {:?} applies (the oldest wins), ignoring {}",
                    self.conflicts.len() + 1,
                    self.policy.name,
                    others.join(", ")
                ),
            )
        } else if self.policy.is_default() {
            (
                ConditionStatus::False,
                conflict_reason::DEFAULT_PLACEMENT,
                "no WorkloadPlacement matches; the default placement applies (1 cluster, RoundRobin)"
                    .to_owned(),
            )
        } else {
            (
                ConditionStatus::False,
                conflict_reason::ONE_POLICY_MATCHES,
                format!("WorkloadPlacement {:?} applies", self.policy.name),
            )
        };
        Condition {
            reason: Some(reason.to_owned()),
            message: Some(message),
            ..Condition::new(POLICY_CONFLICT, status)
        }
    }
}

/// The policy that governs `workload`.
///
/// **Rule when several match: the oldest policy (`creationTimestamp`) wins; equal or
/// unknown ages are broken by name.** This is Gateway API's rule for conflicting routes,
/// and it has the property placement needs: creating a new policy never changes which
/// policy governs workloads an older one already places, so adding a policy cannot move
/// anything by surprise. The losers are reported in [`PolicyChoice::conflicts`] for the
/// [`POLICY_CONFLICT`] condition. Policies of other logical clusters never match. Without
/// any match, [`Policy::default_policy`] applies.
pub fn select_policy<'a>(workload: &Workload, policies: &'a [Policy]) -> PolicyChoice<'a> {
    let mut matching: Vec<&Policy> = policies.iter().filter(|p| p.selects(workload)).collect();
    matching.sort_by(|a, b| a.precedence().cmp(&b.precedence()));
    match matching.split_first() {
        Some((first, rest)) => PolicyChoice {
            policy: Cow::Borrowed(first),
            conflicts: rest.iter().map(|p| p.name.clone()).collect(),
        },
        None => PolicyChoice {
            policy: Cow::Owned(Policy::default_policy(workload.key.logical_cluster.clone())),
            conflicts: Vec::new(),
        },
    }
}
