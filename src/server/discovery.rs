//! Discovery documents, derived from the served resources: the legacy per-path documents
//! (`/api`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`) and aggregated discovery
//! (`apidiscovery.k8s.io/v2`), which kubectl ≥ 1.26 asks for first so that one request to
//! `/api` and one to `/apis` replace a request per group-version.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::openapi;
use crate::resources::ServedResource;

/// A subresource as discovery publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subresource {
    /// `status`.
    pub name: &'static str,
    /// The verbs served on it, in kube-apiserver's order.
    pub verbs: Vec<String>,
}

/// The subresources of `r`: `status` when its type has a status subresource, with `get` and
/// whichever of `patch`/`update` the resource itself serves. Discovery and the OpenAPI
/// document both use this, so they list the same operations.
pub fn subresources(r: &ServedResource) -> Vec<Subresource> {
    // Views are whole objects computed on read: no subresources.
    if !r.stored_in_kcp || !openapi::has_status(r) {
        return Vec::new();
    }
    let verbs = ["get", "patch", "update"]
        .into_iter()
        .filter(|v| *v == "get" || r.verbs.iter().any(|rv| rv == v))
        .map(String::from)
        .collect();
    vec![Subresource {
        name: "status",
        verbs,
    }]
}

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
    let mut list: Vec<Value> = Vec::new();
    for r in in_version(resources, group, version) {
        list.push(json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": r.verbs, "shortNames": r.short_names, "categories": r.categories,
        }));
        // Subresources follow their resource, named `plural/sub`, as kube-apiserver lists them.
        for sub in subresources(r) {
            list.push(json!({
                "name": format!("{}/{}", r.plural, sub.name), "singularName": "",
                "namespaced": r.namespaced, "kind": r.kind, "verbs": sub.verbs,
            }));
        }
    }
    if list.is_empty() {
        return None;
    }
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": format!("{group}/{version}"), "resources": list}))
}

/// The served resources of one group-version, in served order.
fn in_version<'a>(
    resources: &'a [ServedResource],
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ServedResource> {
    resources
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// Which discovery document a client asked for (see [`negotiate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// `APIVersions` / `APIGroupList` / `APIGroup` / `APIResourceList`.
    Legacy,
    /// `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList` (kubectl ≥ 1.30 asks for it first).
    AggregatedV2,
    /// `apidiscovery.k8s.io/v2beta1`, for clients from 1.26 to 1.29 (the same shape as v2;
    /// kube-apiserver 1.34 no longer serves it, but serving it costs nothing).
    AggregatedV2Beta1,
}

/// Group of the aggregated discovery kinds.
const DISCOVERY_GROUP: &str = "apidiscovery.k8s.io";
/// Kind the aggregated `Accept` clauses ask for (`as=`).
const DISCOVERY_LIST_KIND: &str = "APIGroupDiscoveryList";

/// Picks the discovery format for an `Accept` header the way kube-apiserver 1.34 does.
///
/// kube-apiserver's aggregated handler first looks for *any* acceptable aggregated clause
/// (`application/json` with `g=apidiscovery.k8s.io`, `as=APIGroupDiscoveryList` and a served
/// `v=`) and only otherwise falls back to legacy discovery. So clause order and `q` do not
/// matter (`application/json, <aggregated>` still gets aggregated, as checked against a live
/// kube-apiserver); among aggregated clauses the first listed wins. Parameter order, spaces
/// and extra parameters are ignored; protobuf clauses are skipped (tmc-server serves JSON
/// only), as is anything else, which leaves [`DiscoveryFormat::Legacy`].
pub fn negotiate(accept: Option<&str>) -> DiscoveryFormat {
    accept
        .unwrap_or_default()
        .split(',')
        .find_map(aggregated_clause)
        .unwrap_or(DiscoveryFormat::Legacy)
}

/// The aggregated format one `Accept` clause asks for, if any.
fn aggregated_clause(clause: &str) -> Option<DiscoveryFormat> {
    let mut parts = clause.split(';').map(str::trim);
    if parts.next()? != "application/json" {
        return None;
    }
    let (mut group, mut version, mut kind) = (None, None, None);
    for param in parts {
        match param.split_once('=') {
            Some(("g", v)) => group = Some(v),
            Some(("v", v)) => version = Some(v),
            Some(("as", v)) => kind = Some(v),
            _ => {}
        }
    }
    if group != Some(DISCOVERY_GROUP) || kind != Some(DISCOVERY_LIST_KIND) {
        return None;
    }
    match version? {
        "v2" => Some(DiscoveryFormat::AggregatedV2),
        "v2beta1" => Some(DiscoveryFormat::AggregatedV2Beta1),
        _ => None,
    }
}

/// The `Content-Type` of a discovery response in `format`. Clients check that an aggregated
/// response echoes the media type they asked for; otherwise they parse it as legacy.
pub fn content_type(format: DiscoveryFormat) -> &'static str {
    match format {
        DiscoveryFormat::Legacy => "application/json",
        DiscoveryFormat::AggregatedV2 => {
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        }
        DiscoveryFormat::AggregatedV2Beta1 => {
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        }
    }
}

/// Aggregated discovery for `/apis`: every served group (the core group excluded), in the
/// order of [`group_list`], as an `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`. Use
/// [`in_format`] to answer a v2beta1 client.
pub fn aggregated(resources: &[ServedResource]) -> Value {
    let items: Vec<Value> = groups(resources)
        .iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| aggregated_version(resources, group, v))
                .collect();
            json!({"metadata": {"name": group}, "versions": versions})
        })
        .collect();
    discovery_list(items)
}

/// Aggregated discovery for `/api`: the core group, with no name (as kube-apiserver writes
/// it), when tmc-server serves core resources; an empty list until then.
pub fn aggregated_core(resources: &[ServedResource]) -> Value {
    let mut versions: Vec<&str> = Vec::new();
    for r in resources.iter().filter(|r| r.group.is_empty()) {
        if !versions.contains(&r.version.as_str()) {
            versions.push(&r.version);
        }
    }
    let items: Vec<Value> = if versions.is_empty() {
        Vec::new()
    } else {
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| aggregated_version(resources, "", v))
            .collect();
        vec![json!({"metadata": {}, "versions": versions})]
    };
    discovery_list(items)
}

/// `doc` (from [`aggregated`] or [`aggregated_core`]) as a response in `format`: v2 and
/// v2beta1 have the same fields and differ only in `apiVersion`. Legacy leaves it unchanged.
pub fn in_format(mut doc: Value, format: DiscoveryFormat) -> Value {
    let api_version = match format {
        DiscoveryFormat::Legacy => return doc,
        DiscoveryFormat::AggregatedV2 => "apidiscovery.k8s.io/v2",
        DiscoveryFormat::AggregatedV2Beta1 => "apidiscovery.k8s.io/v2beta1",
    };
    doc["apiVersion"] = json!(api_version);
    doc
}

fn discovery_list(items: Vec<Value>) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
           "metadata": {}, "items": items})
}

/// One `APIVersionDiscovery`. Every resource and subresource has a `responseKind`: client-go
/// (kubectl 1.34, checked) silently drops a resource without one from discovery.
fn aggregated_version(resources: &[ServedResource], group: &str, version: &str) -> Value {
    let list: Vec<Value> = in_version(resources, group, version)
        .map(|r| {
            let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
            let mut doc = json!({
                "resource": r.plural,
                "responseKind": kind,
                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": r.singular,
                "verbs": r.verbs,
            });
            if !r.short_names.is_empty() {
                doc["shortNames"] = json!(r.short_names);
            }
            if !r.categories.is_empty() {
                doc["categories"] = json!(r.categories);
            }
            let subs: Vec<Value> = subresources(r)
                .into_iter()
                .map(|s| json!({"subresource": s.name, "responseKind": kind, "verbs": s.verbs}))
                .collect();
            if !subs.is_empty() {
                doc["subresources"] = json!(subs);
            }
            doc
        })
        .collect();
    json!({"version": version, "resources": list, "freshness": "Current"})
}

/// A strong ETag for a response body: the quoted uppercase hex SHA-512 of the bytes, as
/// kube-apiserver sends on discovery and OpenAPI documents, so clients can revalidate with
/// `If-None-Match` and get a 304 instead of the document.
pub fn etag(body: &[u8]) -> String {
    format!("\"{}\"", openapi::hex_sha512(body))
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
        assert_eq!(
            names,
            [
                "clusterregistrations",
                "clusterregistrations/status",
                "workloadplacements",
                "workloadplacements/status",
                "placements",
                "sharedclusters"
            ]
        );
        assert_eq!(rl["resources"][0]["shortNames"][0], "cr");
        assert_eq!(rl["resources"][1]["kind"], "ClusterRegistration");
        assert!(resource_list(&rs, "tmc.kcp.io", "v9").is_none());
    }

    /// What kubectl 1.34 sends for `/api` and `/apis`.
    const KUBECTL_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn negotiation_follows_kube_apiserver() {
        use DiscoveryFormat::*;
        let v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
        let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
        let cases: &[(Option<&str>, DiscoveryFormat)] = &[
            (Some(KUBECTL_ACCEPT), AggregatedV2),
            (Some("application/json"), Legacy),
            (None, Legacy),
            (Some(""), Legacy),
            (Some("*/*"), Legacy),
            (Some(v2), AggregatedV2),
            (Some(v2beta1), AggregatedV2Beta1),
            (Some(&format!("{v2beta1},{v2}")), AggregatedV2Beta1),
            // kube-apiserver prefers aggregated wherever and at whatever q it is listed.
            (Some(&format!("application/json, {v2}")), AggregatedV2),
            (Some(&format!("{v2};q=0.5, application/json")), AggregatedV2),
            (
                Some("application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io"),
                AggregatedV2,
            ),
            (Some(&format!("{v2};profile=x")), AggregatedV2),
            (
                Some("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"),
                Legacy,
            ),
            (Some("application/json;g=apidiscovery.k8s.io;v=v2"), Legacy),
            (
                Some(
                    "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                ),
                Legacy,
            ),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(*accept), *want, "Accept: {accept:?}");
        }
        assert_eq!(content_type(AggregatedV2), v2);
        assert_eq!(content_type(AggregatedV2Beta1), v2beta1);
        assert_eq!(content_type(Legacy), "application/json");
    }

    #[test]
    fn aggregated_discovery_lists_every_resource_with_its_kind() {
        let rs = served();
        let doc = aggregated(&rs);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(doc["kind"], "APIGroupDiscoveryList");
        let group = &doc["items"][0];
        assert_eq!(group["metadata"]["name"], "tmc.kcp.io");
        let version = &group["versions"][0];
        assert_eq!(version["version"], "v1alpha1");
        assert_eq!(version["freshness"], "Current");
        let cr = &version["resources"][0];
        assert_eq!(
            cr["responseKind"],
            json!({"group": "tmc.kcp.io", "version": "v1alpha1", "kind": "ClusterRegistration"})
        );
        assert_eq!(cr["resource"], "clusterregistrations");
        assert_eq!(cr["scope"], "Cluster");
        assert_eq!(cr["singularResource"], "clusterregistration");
        assert_eq!(cr["shortNames"], json!(["cr"]));
        assert_eq!(cr["categories"], json!(["kcp"]));
        assert_eq!(cr["verbs"], json!(rs[0].verbs));
        assert_eq!(cr["subresources"][0]["subresource"], "status");
        assert_eq!(cr["subresources"][0]["responseKind"], cr["responseKind"]);
        assert_eq!(version["resources"].as_array().unwrap().len(), rs.len());
        assert_eq!(
            in_format(doc.clone(), DiscoveryFormat::AggregatedV2Beta1)["apiVersion"],
            "apidiscovery.k8s.io/v2beta1"
        );
        assert_eq!(in_format(doc.clone(), DiscoveryFormat::Legacy), doc);
    }

    #[test]
    fn aggregated_core_is_empty_without_core_resources() {
        let doc = aggregated_core(&served());
        assert_eq!(doc["items"], json!([]));
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        let mut rs = served();
        rs[0].group = String::new();
        rs[0].version = "v1".into();
        let doc = aggregated_core(&rs);
        assert_eq!(doc["items"][0]["metadata"], json!({}));
        assert_eq!(
            doc["items"][0]["versions"][0]["resources"][0]["responseKind"]["group"],
            ""
        );
    }

    #[test]
    fn status_verbs_follow_the_resource_verbs() {
        let mut r = served().remove(0);
        r.verbs = ["get", "list"].map(String::from).to_vec();
        assert_eq!(subresources(&r)[0].verbs, ["get"]);
        r.verbs = ["get", "list", "update", "patch"].map(String::from).to_vec();
        assert_eq!(subresources(&r)[0].verbs, ["get", "patch", "update"]);
        r.plural = "widgets".into();
        assert!(subresources(&r).is_empty());
    }

    #[test]
    fn etags_are_quoted_and_change_with_the_body() {
        let a = etag(b"{}");
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert_eq!(a.len(), 130);
        assert_eq!(a, etag(b"{}"));
        assert_ne!(a, etag(b"[]"));
    }
}
