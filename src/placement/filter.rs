//! The filter: hard rules a cluster must pass to be eligible for a workload.
//!
//! Rules are checked in a fixed order — health first (NotReady, Cordoned), then the
//! policy's constraints (location, capabilities), then what the workload needs (its API,
//! capacity) — and the first failing rule is the recorded reason. A fixed order keeps
//! reasons deterministic and puts the one an operator most likely needs to act on first.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::model::{Cluster, Readiness, Resources, Settings, Workload};
use super::policy::Policy;
use crate::api::LOCATION_LABEL;

/// Why a cluster was filtered out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterRule {
    /// Not Ready (for a cluster the workload is on: NotReady for at least the toleration).
    NotReady,
    /// Cordoned (`spec.unschedulable`).
    Cordoned,
    /// Neither its labels nor its location match the policy's location selector.
    LocationMismatch,
    /// A required capability is not available (the first missing one, by name).
    MissingCapability(String),
    /// It does not serve (or TMC cannot sync) the workload's API.
    ApiNotServed,
    /// Its free allocatable CPU or memory cannot hold the workload's requests.
    InsufficientCapacity,
    /// The workload's recorded decision names a cluster that is no longer registered.
    NotRegistered,
}

impl fmt::Display for FilterRule {
    /// A short label, also used to count rejections in outcome messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotReady => f.write_str("not Ready"),
            Self::Cordoned => f.write_str("cordoned"),
            Self::LocationMismatch => f.write_str("location not selected"),
            Self::MissingCapability(c) => write!(f, "missing capability {c}"),
            Self::ApiNotServed => f.write_str("API not served"),
            Self::InsufficientCapacity => f.write_str("insufficient capacity"),
            Self::NotRegistered => f.write_str("no longer registered"),
        }
    }
}

/// A cluster that passed: whether it is only kept because a NotReady spell is within the
/// toleration, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pass {
    /// For a current cluster that is NotReady within the toleration: the instant it stops
    /// being tolerated (the caller re-decides then).
    pub tolerated_until: Option<DateTime<Utc>>,
}

/// The rules for one workload under one policy, applied to each candidate in turn.
pub(crate) struct Filter<'a> {
    workload: &'a Workload,
    policy: &'a Policy,
    settings: &'a Settings,
    /// The location selector's text, rendered once per decision (and only if a cluster
    /// fails it): a decision over 1,000 clusters would otherwise render it 1,000 times.
    selector_text: OnceCell<String>,
}

impl<'a> Filter<'a> {
    pub fn new(workload: &'a Workload, policy: &'a Policy, settings: &'a Settings) -> Self {
        Self {
            workload,
            policy,
            settings,
            selector_text: OnceCell::new(),
        }
    }

    /// Checks `cluster`. `current` says the workload is already placed there: NotReady is
    /// then tolerated for `settings.not_ready_toleration`, and capacity is not re-checked
    /// (the cluster's `committed` already includes the workload, and evicting a running
    /// workload for a capacity estimate would be a reshuffle).
    pub fn check(&self, cluster: &Cluster, current: bool) -> Result<Pass, (FilterRule, String)> {
        let (workload, policy) = (self.workload, self.policy);
        let tolerated_until = readiness(cluster.ready, self.settings, current)?;
        if cluster.unschedulable {
            let msg = if current {
                "cordoned (spec.unschedulable=true); the workload moves away"
            } else {
                "cordoned (spec.unschedulable=true)"
            };
            return Err((FilterRule::Cordoned, msg.to_owned()));
        }
        let selector = &policy.location_selector;
        if !selector.is_empty() && !selector.matches(&labels_of(cluster)) {
            let msg = format!(
                "location {:?} and labels do not match the location selector {:?}",
                cluster.location,
                self.selector_text.get_or_init(|| selector.to_string())
            );
            return Err((FilterRule::LocationMismatch, msg));
        }
        if let Some(missing) = policy
            .required_capabilities
            .iter()
            .find(|c| !cluster.capabilities.contains(*c))
        {
            let msg = format!("required capability {missing:?} is not available");
            return Err((FilterRule::MissingCapability(missing.clone()), msg));
        }
        if !cluster.apis.contains(&workload.key.resource) {
            let msg = format!("does not serve {}", workload.key.resource);
            return Err((FilterRule::ApiNotServed, msg));
        }
        if !current {
            if let Some(msg) = capacity_shortfall(cluster, workload.requests) {
                return Err((FilterRule::InsufficientCapacity, msg));
            }
        }
        Ok(Pass { tolerated_until })
    }
}

/// The readiness rule; `Ok(Some(t))` for a tolerated NotReady current cluster.
fn readiness(
    ready: Readiness,
    settings: &Settings,
    current: bool,
) -> Result<Option<DateTime<Utc>>, (FilterRule, String)> {
    match (ready, current) {
        (Readiness::Ready, _) => Ok(None),
        (Readiness::Unknown, true) => Ok(None),
        (Readiness::Unknown, false) => Err((
            FilterRule::NotReady,
            "readiness unknown (not evaluated yet)".to_owned(),
        )),
        (Readiness::NotReadySince(since), false) => Err((
            FilterRule::NotReady,
            format!("not Ready since {}", since.to_rfc3339()),
        )),
        (Readiness::NotReadySince(since), true) => {
            let toleration =
                chrono::Duration::from_std(settings.not_ready_toleration).unwrap_or(chrono::Duration::MAX);
            let until = since
                .checked_add_signed(toleration)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if settings.now < until {
                Ok(Some(until))
            } else {
                Err((
                    FilterRule::NotReady,
                    format!(
                        "not Ready since {}, beyond the {}s toleration; the workload moves away",
                        since.to_rfc3339(),
                        settings.not_ready_toleration.as_secs()
                    ),
                ))
            }
        }
    }
}

/// The labels a location selector sees: the cluster's, with its location as
/// [`LOCATION_LABEL`]. Borrowed when the label is already right (as [`Cluster::new`] sets it).
fn labels_of(cluster: &Cluster) -> Cow<'_, BTreeMap<String, String>> {
    if cluster.labels.get(LOCATION_LABEL) == Some(&cluster.location) {
        Cow::Borrowed(&cluster.labels)
    } else {
        let mut labels = cluster.labels.clone();
        labels.insert(LOCATION_LABEL.to_owned(), cluster.location.clone());
        Cow::Owned(labels)
    }
}

/// Free allocatable (allocatable − committed); `None` when allocatable is unknown.
pub(crate) fn free(cluster: &Cluster) -> Option<Resources> {
    cluster.allocatable.map(|a| a.saturating_sub(cluster.committed))
}

/// Why `requests` do not fit, or `None` when they do (or capacity is unknown). A workload
/// requesting nothing fits anywhere, as a BestEffort pod does.
fn capacity_shortfall(cluster: &Cluster, requests: Resources) -> Option<String> {
    let free = free(cluster)?;
    if requests.cpu_millis > free.cpu_millis {
        return Some(format!(
            "needs cpu {}m, {}m free",
            requests.cpu_millis, free.cpu_millis
        ));
    }
    if requests.memory_bytes > free.memory_bytes {
        return Some(format!(
            "needs memory {} bytes, {} bytes free",
            requests.memory_bytes, free.memory_bytes
        ));
    }
    None
}
