//! The `Synced` condition TMC adds to a Deployment's or Service's status in
//! kcp: whether every chosen cluster holds the current copy, and the last
//! edit on a cluster that TMC reverted (drift made visible where the tenant
//! looks). Pure.
//!
//! - `False`, reason `SyncError`: a copy could not be applied (the message
//!   names the cluster and the error).
//! - `False`, reason `Pending`: a copy is not applied yet.
//! - `True`, reason `DriftReverted`: every copy is current, and someone had
//!   changed one on its cluster; the message names cluster, field and time.
//! - `True`, reason `Synced`: every copy is current.

use serde_json::{json, Value};

use super::board::DriftNote;
use super::controller::ClusterSync;
use super::state::CopyState;

pub const SYNCED: &str = "Synced";

/// The condition for a workload placed on `clusters`, keeping the stored
/// condition's `lastTransitionTime` while its status does not change.
pub fn synced_condition(
    clusters: &[ClusterSync],
    drift: &[(String, DriftNote)],
    stored_status: &Value,
) -> Value {
    let with =
        |state: CopyState| -> Vec<&ClusterSync> { clusters.iter().filter(|c| c.state == state).collect() };
    let describe = |cs: &[&ClusterSync]| {
        cs.iter()
            .map(|c| format!("{}: {}", c.cluster.name, c.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (status, reason, message) = if let errors @ [_, ..] = &with(CopyState::Error)[..] {
        ("False", "SyncError", describe(errors))
    } else if let pending @ [_, ..] = &with(CopyState::Pending)[..] {
        ("False", "Pending", describe(pending))
    } else if let Some((cluster, note)) = drift.iter().max_by_key(|(_, n)| n.at) {
        (
            "True",
            "DriftReverted",
            format!(
                "{cluster}: {} was changed on the cluster; TMC reverted it at {}",
                note.path,
                note.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        )
    } else {
        let names: Vec<&str> = clusters.iter().map(|c| c.cluster.name.as_str()).collect();
        (
            "True",
            "Synced",
            format!("the copies on {} match the kcp object", names.join(", ")),
        )
    };
    let previous = stored_status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == SYNCED));
    let since = match previous {
        Some(p) if p["status"] == status && p["lastTransitionTime"].is_string() => {
            p["lastTransitionTime"].clone()
        }
        _ => json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    json!({
        "type": SYNCED,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::ClusterId;

    fn on(name: &str, state: CopyState, message: &str) -> ClusterSync {
        ClusterSync {
            cluster: ClusterId::new("p", name),
            state,
            message: message.into(),
        }
    }

    #[test]
    fn errors_then_pending_then_drift_then_synced() {
        let none = json!({});
        let c = synced_condition(
            &[
                on("east", CopyState::Error, "forbidden"),
                on("west", CopyState::Pending, "waiting"),
            ],
            &[],
            &none,
        );
        assert_eq!(
            (c["status"].as_str(), c["reason"].as_str()),
            (Some("False"), Some("SyncError"))
        );
        assert_eq!(c["message"], "east: forbidden");
        let c = synced_condition(&[on("west", CopyState::Pending, "waiting")], &[], &none);
        assert_eq!(c["reason"], "Pending");
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-22T07:00:00Z")
            .unwrap()
            .to_utc();
        let drift = [(
            "east".to_owned(),
            DriftNote {
                path: "spec.replicas".into(),
                at,
            },
        )];
        let c = synced_condition(&[on("east", CopyState::Ready, "")], &drift, &none);
        assert_eq!(
            (c["status"].as_str(), c["reason"].as_str()),
            (Some("True"), Some("DriftReverted"))
        );
        assert_eq!(
            c["message"],
            "east: spec.replicas was changed on the cluster; TMC reverted it at 2026-11-22T07:00:00Z"
        );
        let c = synced_condition(&[on("east", CopyState::Progressing, "0/1 available")], &[], &none);
        assert_eq!(c["reason"], "Synced");
        assert_eq!(c["message"], "the copies on east match the kcp object");
    }

    #[test]
    fn the_transition_time_is_kept_while_the_status_holds() {
        let stored = json!({"conditions": [{"type": SYNCED, "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}]});
        let c = synced_condition(&[on("east", CopyState::Ready, "")], &[], &stored);
        assert_eq!(c["lastTransitionTime"], "2020-01-01T00:00:00Z");
        let c = synced_condition(&[on("east", CopyState::Pending, "x")], &[], &stored);
        assert_ne!(c["lastTransitionTime"], "2020-01-01T00:00:00Z");
    }
}
