//! Discovery documents, derived from the served resources.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::resources::ServedResource;

/// `/api`: tmc-server serves no core-group resources yet.
pub fn core_versions() -> Value {
    json!({"kind": "APIVersions", "versions": [], "serverAddressByClientCIDRs": []})
}

/// `/api/v1`
pub fn core_resources() -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": []})
}

fn groups(resources: &[ServedResource]) -> BTreeMap<&str, Vec<&str>> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        let versions = groups.entry(&r.group).or_default();
        if !versions.contains(&r.version.as_str()) {
            versions.push(&r.version);
        }
    }
    groups
}

fn group_doc(name: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs[0]})
}

/// `/apis`
pub fn group_list(resources: &[ServedResource]) -> Value {
    let groups: Vec<Value> = groups(resources).iter().map(|(g, vs)| group_doc(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`
pub fn group(resources: &[ServedResource], name: &str) -> Option<Value> {
    let groups = groups(resources);
    let versions = groups.get(name)?;
    let mut doc = group_doc(name, versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `/apis/{group}/{version}`
pub fn resource_list(resources: &[ServedResource], group: &str, version: &str) -> Option<Value> {
    let list: Vec<Value> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                   "kind": r.kind, "verbs": r.verbs, "shortNames": r.short_names, "categories": r.categories})
        })
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": format!("{group}/{version}"), "resources": list}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::served;

    #[test]
    fn documents_list_the_served_resources() {
        let rs = served();
        let gl = group_list(&rs);
        assert_eq!(gl["groups"][0]["name"], "tmc.kcp.io");
        assert_eq!(
            gl["groups"][0]["preferredVersion"]["groupVersion"],
            "tmc.kcp.io/v1alpha1"
        );
        assert_eq!(group(&rs, "tmc.kcp.io").unwrap()["kind"], "APIGroup");
        assert!(group(&rs, "apps").is_none());
        let rl = resource_list(&rs, "tmc.kcp.io", "v1alpha1").unwrap();
        let names: Vec<&str> = rl["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["clusterregistrations", "workloadplacements"]);
        assert_eq!(rl["resources"][0]["shortNames"][0], "cr");
        assert!(resource_list(&rs, "tmc.kcp.io", "v9").is_none());
    }
}
