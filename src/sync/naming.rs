//! Names and owner marks on physical clusters (design brief §3).
//!
//! Every (logical cluster, namespace) of kcp maps to one physical namespace
//! `kcp-<16 hex digits of SHA-256("<logical cluster>/<namespace>")>`: short,
//! deterministic, a valid DNS label, and the same on every cluster. Because a
//! hash can collide and a namespace of that name may exist already, the
//! namespace carries its origin in annotations, and TMC refuses to use one
//! whose origin is not exactly the expected one ([`namespace_conflict`]).
//!
//! Everything TMC creates carries the label `tmc.kcp.io/managed-by=tmc-server`
//! (TMC selects and deletes only what carries it) and the logical cluster it
//! came from.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Label on everything TMC creates on a physical cluster; its value is [`MANAGER`].
pub const MANAGED_BY_LABEL: &str = "tmc.kcp.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`], and TMC's server-side-apply field manager.
pub const MANAGER: &str = "tmc-server";
/// Label: the logical cluster (kcp workspace) a copy came from.
pub const WORKSPACE_LABEL: &str = "tmc.kcp.io/workspace";
/// Annotation: the kcp namespace a physical namespace or copy came from.
pub const ORIGIN_NAMESPACE_ANNOTATION: &str = "tmc.kcp.io/origin-namespace";
/// Annotation: the logical cluster a physical namespace or copy came from.
pub const ORIGIN_WORKSPACE_ANNOTATION: &str = "tmc.kcp.io/origin-workspace";
/// Annotation on a physical namespace: the ClusterRegistration (`<logical cluster>/<name>`)
/// through which TMC created it.
pub const REGISTRATION_ANNOTATION: &str = "tmc.kcp.io/registration";
/// Annotation on a copy: the kcp object's `metadata.generation` it was made from.
pub const ORIGIN_GENERATION_ANNOTATION: &str = "tmc.kcp.io/origin-generation";
/// Finalizer TMC puts on a placed kcp object; removed once every copy is gone.
pub const FINALIZER: &str = "tmc.kcp.io/sync";

/// The physical namespace holding the copies of kcp namespace `namespace` of
/// logical cluster `workspace`.
pub fn physical_namespace(workspace: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{workspace}/{namespace}").as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("kcp-{hex}")
}

/// Why an existing physical namespace cannot hold the copies of
/// (`workspace`, `namespace`): it was not made by TMC, or it was made for
/// another origin (a hash collision). `None` when it is ours.
pub fn namespace_conflict(existing: &Value, workspace: &str, namespace: &str) -> Option<String> {
    let meta = &existing["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    if meta["labels"][MANAGED_BY_LABEL].as_str() != Some(MANAGER) {
        return Some(format!(
            "namespace {name} exists on the cluster and was not created by TMC; it is left alone"
        ));
    }
    let ws = meta["annotations"][ORIGIN_WORKSPACE_ANNOTATION].as_str();
    let ns = meta["annotations"][ORIGIN_NAMESPACE_ANNOTATION].as_str();
    if ws != Some(workspace) || ns != Some(namespace) {
        return Some(format!(
            "namespace {name} holds the copies of {}/{} (a name collision); {workspace}/{namespace} cannot use it",
            ws.unwrap_or("?"),
            ns.unwrap_or("?")
        ));
    }
    None
}

/// Whether TMC created `object` (it carries the managed-by label).
pub fn is_managed(object: &Value) -> bool {
    object["metadata"]["labels"][MANAGED_BY_LABEL].as_str() == Some(MANAGER)
}

/// The label selector that finds everything TMC created on a cluster.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGER}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespaces_are_deterministic_short_dns_labels() {
        let a = physical_namespace("2x8w9q3c1ldhxc8m", "default");
        assert_eq!(a, physical_namespace("2x8w9q3c1ldhxc8m", "default"));
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("kcp-"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_ne!(a, physical_namespace("2x8w9q3c1ldhxc8m", "other"));
        assert_ne!(a, physical_namespace("other", "default"));
        // The separator keeps ("a/b", "c") and ("a", "b/c") apart in spirit;
        // kcp names cannot contain '/', so the input is unambiguous.
        assert_ne!(physical_namespace("ab", "c"), physical_namespace("a", "bc"));
    }

    #[test]
    fn a_namespace_is_used_only_when_it_is_ours_and_for_the_same_origin() {
        let ours = json!({"metadata": {"name": "kcp-x",
            "labels": {MANAGED_BY_LABEL: MANAGER},
            "annotations": {ORIGIN_WORKSPACE_ANNOTATION: "ws", ORIGIN_NAMESPACE_ANNOTATION: "default"}}});
        assert_eq!(namespace_conflict(&ours, "ws", "default"), None);
        let collision = namespace_conflict(&ours, "ws", "prod").unwrap();
        assert!(
            collision.contains("collision") && collision.contains("ws/default"),
            "{collision}"
        );
        let foreign = json!({"metadata": {"name": "kcp-x"}});
        assert!(namespace_conflict(&foreign, "ws", "default")
            .unwrap()
            .contains("not created by TMC"));
        assert!(is_managed(&ours) && !is_managed(&foreign));
    }
}
