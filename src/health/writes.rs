//! Write coalescing: whether a desired status is worth a write to kcp.
//!
//! With a probe every few seconds per cluster, writing every fresh `lastHeartbeat` would be
//! a kcp write per cluster per probe — the load grows with the fleet while telling users
//! nothing new. What users and placement act on (conditions, capacity, APIs, version) is
//! written as soon as it changes; a heartbeat alone only once per write interval.

use super::cluster::from_time;
use super::HealthPolicy;
use crate::api::ClusterRegistrationStatus;

/// Whether to write `desired` to kcp given what is `stored`: true when anything but
/// lastHeartbeat differs (ignore lastTransitionTime churn), or when lastHeartbeat advanced
/// by at least `policy.heartbeat_write_interval` since the stored one. This is the write
/// coalescing.
///
/// Conditions are compared by type, regardless of order. A `lastHeartbeat` that appears
/// (none stored) is an advance; one that moves backwards or disappears is not written on
/// its own.
pub fn should_write(
    stored: Option<&ClusterRegistrationStatus>,
    desired: &ClusterRegistrationStatus,
    policy: &HealthPolicy,
) -> bool {
    let Some(stored) = stored else {
        return true;
    };
    if without_heartbeat(stored) != without_heartbeat(desired) {
        return true;
    }
    match (&stored.last_heartbeat, &desired.last_heartbeat) {
        (None, Some(_)) => true,
        (Some(stored), Some(desired)) => {
            let advance = from_time(desired).signed_duration_since(from_time(stored));
            advance > chrono::Duration::zero()
                && advance
                    .to_std()
                    .is_ok_and(|advance| advance >= policy.heartbeat_write_interval)
        }
        (_, None) => false,
    }
}

/// `status` with `lastHeartbeat` and every `lastTransitionTime` cleared and conditions in
/// type order: what must match for a write to be skippable.
fn without_heartbeat(status: &ClusterRegistrationStatus) -> ClusterRegistrationStatus {
    let mut status = status.clone();
    status.last_heartbeat = None;
    for condition in &mut status.conditions {
        condition.last_transition_time = None;
    }
    status.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    status
}
