//! `kubectl tmc explain`: why a workload runs where it runs, and what a policy would do.
//!
//! Pure, like the placement engine it drives: [`Snapshot::from_objects`] turns what the plugin
//! read from kcp (JSON, as kcp serves it) into engine inputs, [`Snapshot::decide`] and
//! [`what_if`] run the engine exactly as tmc-server's controller does (same inputs, same clock
//! argument), and [`render`] turns the results into text. Only [`fetch`] talks to kcp.
//!
//! Engine inputs are keyed by **logical-cluster names** (the `kcp.io/cluster` annotation kcp puts
//! on every object), because that is how the controller keys them and how recorded decisions
//! name clusters; a decision depends on those names (RoundRobin's tie-break hashes them). Only
//! the text shows workspace paths (`root:tmc`) instead, through [`Workspace`].

pub mod fetch;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::placement::inputs;
use crate::placement::record::{RecordedDecision, PLACEMENT_ANNOTATION};
use crate::placement::{
    decide_for, place_all, select_policy, Cluster, ClusterId, Decision, GroupResource, PlacementState,
    Policy, Settings, Workload, WorkloadKey,
};

pub use render::{render_explanation, render_what_if, Heading};

/// The workload kinds TMC places, as `(group, resource, singular)`.
pub const WORKLOAD_KINDS: [(&str, &str, &str); 2] =
    [("apps", "deployments", "deployment"), ("", "services", "service")];

/// The annotation kcp sets on every object it serves: the object's logical cluster.
pub const LOGICAL_CLUSTER_ANNOTATION: &str = crate::index::CLUSTER_ANNOTATION;

/// The workload named on the command line: `deployment/web`, `svc web`, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `deployments.apps` or `services`.
    pub resource: GroupResource,
    /// Object name.
    pub name: String,
}

/// Parses `TYPE/NAME` or `TYPE NAME` as kubectl does, for the kinds TMC places:
/// `deployment` (`deploy`, `deployments`, `deployments.apps`) and `service` (`svc`, `services`).
pub fn parse_target(words: &[String]) -> Result<Target, String> {
    let usage = "name the workload as TYPE/NAME, e.g. deployment/web or svc/web";
    let (kind, name) = match words {
        [one] => one.split_once('/').ok_or_else(|| format!("{one:?}: {usage}"))?,
        [kind, name] if !kind.contains('/') => (kind.as_str(), name.as_str()),
        [] => return Err(usage.to_owned()),
        _ => return Err(format!("{}: {usage}", words.join(" "))),
    };
    let resource = workload_resource(kind).ok_or_else(|| {
        format!(
            "TMC places deployments and services: the type must be deployment (deploy, deployments.apps) \
             or service (svc), not {kind:?}"
        )
    })?;
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid {
        return Err(format!(
            "{name:?} is not a valid object name: use lowercase letters, digits, '-' and '.'"
        ));
    }
    Ok(Target {
        resource,
        name: name.to_owned(),
    })
}

/// The workload resource a kubectl type word names, if TMC places it.
pub fn workload_resource(kind: &str) -> Option<GroupResource> {
    let kind = kind.to_ascii_lowercase();
    let (group, resource) = match kind.as_str() {
        "deployment"
        | "deployments"
        | "deploy"
        | "deployment.apps"
        | "deployments.apps"
        | "deployment.v1.apps"
        | "deployments.v1.apps" => ("apps", "deployments"),
        "service" | "services" | "svc" | "service.v1" | "services.v1" => ("", "services"),
        _ => return None,
    };
    Some(GroupResource::new(group, resource))
}

/// The singular word for a workload resource (`deployment`, `service`), for headings.
pub fn singular(resource: &GroupResource) -> &str {
    WORKLOAD_KINDS
        .iter()
        .find(|(g, r, _)| *g == resource.group && *r == resource.resource)
        .map_or(resource.resource.as_str(), |(_, _, s)| s)
}

/// What the workload's `tmc.kcp.io/placement` annotation holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// No annotation: TMC has not decided yet.
    Missing,
    /// An annotation that cannot be read; TMC decides afresh, as for a new workload.
    Unreadable,
    /// The durable decision.
    Decision(RecordedDecision),
}

impl Recorded {
    /// Reads the annotation of `object` (a workload as kcp serves it).
    pub fn from_object(object: &Value) -> Self {
        if object["metadata"]["annotations"][PLACEMENT_ANNOTATION].is_null() {
            return Self::Missing;
        }
        RecordedDecision::from_object(object).map_or(Self::Unreadable, Self::Decision)
    }

    /// The decision, when there is a readable one.
    pub fn decision(&self) -> Option<&RecordedDecision> {
        match self {
            Self::Decision(r) => Some(r),
            Self::Missing | Self::Unreadable => None,
        }
    }
}

/// A workspace as the engine keys it (logical-cluster name) and as people know it (path).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workspace {
    /// Logical-cluster name, from the `kcp.io/cluster` annotation.
    pub logical_cluster: String,
    /// Workspace path, e.g. `root:team-a`.
    pub path: String,
}

impl Workspace {
    /// A workspace whose logical-cluster name and path are known.
    pub fn new(logical_cluster: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            logical_cluster: logical_cluster.into(),
            path: path.into(),
        }
    }
}

/// Everything a decision about the workspace's workloads depends on, as engine inputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The tenant workspace.
    pub workspace: Workspace,
    /// The provider workspace whose clusters form the shared pool, when they could be read.
    pub provider: Option<Workspace>,
    /// Every workload of the workspace, with its recorded decision as `current`; sorted.
    pub workloads: Vec<Workload>,
    /// The workspace's policies (invalid ones are left out, as the controller leaves them out).
    pub policies: Vec<Policy>,
    /// The clusters the workspace may place onto, load counted from the recorded decisions.
    pub clusters: Vec<Cluster>,
    /// The provider workspace whose shared clusters could not be read (and are left out).
    pub provider_unread: Option<String>,
}

/// The objects the plugin read from kcp, as JSON.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    /// Path (or name) of the workspace, from the kubeconfig's server URL.
    pub workspace_path: String,
    /// Every workload of the workspace, with its resource.
    pub workloads: Vec<(GroupResource, Value)>,
    /// The workspace's namespaces (their labels feed namespace selectors).
    pub namespaces: Vec<Value>,
    /// `WorkloadPlacement`s of the workspace.
    pub policies: Vec<Value>,
    /// `ClusterRegistration`s of the workspace.
    pub clusters: Vec<Value>,
    /// The provider workspace's path and `ClusterRegistration`s, when they could be read.
    pub provider: Option<(String, Vec<Value>)>,
    /// The provider workspace, when its `ClusterRegistration`s could not be read.
    pub provider_unread: Option<String>,
}

/// The `kcp.io/cluster` annotation of `object`.
pub fn logical_cluster_of(object: &Value) -> Option<&str> {
    object["metadata"]["annotations"][LOGICAL_CLUSTER_ANNOTATION]
        .as_str()
        .filter(|s| !s.is_empty())
}

impl Snapshot {
    /// A snapshot of `workspace` from engine inputs: keeps the clusters visible to it (its own
    /// and the provider's), once each, and counts their load from the workloads' recorded
    /// decisions.
    pub fn new(
        workspace: Workspace,
        provider: Option<Workspace>,
        mut workloads: Vec<Workload>,
        policies: Vec<Policy>,
        clusters: Vec<Cluster>,
    ) -> Self {
        workloads.sort_by(|a, b| a.key.cmp(&b.key));
        workloads.dedup_by(|a, b| a.key == b.key);
        let provider_lc = provider.as_ref().map_or("", |p| p.logical_cluster.as_str());
        let mut visible: Vec<Cluster> =
            inputs::visible_clusters(&clusters, &workspace.logical_cluster, provider_lc)
                .cloned()
                .collect();
        visible.sort_by(|a, b| a.id.cmp(&b.id));
        visible.dedup_by(|a, b| a.id == b.id);
        inputs::count_load(&mut visible, &workloads);
        Self {
            workspace,
            provider,
            workloads,
            policies,
            clusters: visible,
            provider_unread: None,
        }
    }

    /// Builds the engine inputs from kcp's JSON, keyed by logical-cluster names (from the
    /// `kcp.io/cluster` annotations, else the paths). Returns the snapshot and warnings about
    /// objects left out (an invalid policy, an unreadable registration).
    pub fn from_objects(objects: &Objects) -> (Self, Vec<String>) {
        let tenant = objects
            .workloads
            .iter()
            .map(|(_, o)| o)
            .chain(&objects.policies)
            .chain(&objects.clusters)
            .chain(&objects.namespaces)
            .find_map(logical_cluster_of)
            .unwrap_or(&objects.workspace_path);
        let workspace = Workspace::new(tenant, objects.workspace_path.clone());
        let provider = objects.provider.as_ref().map(|(path, clusters)| {
            let lc = clusters.iter().find_map(logical_cluster_of).unwrap_or(path);
            Workspace::new(lc, path.clone())
        });

        let mut warnings = Vec::new();
        let namespaces: BTreeMap<&str, &Value> = objects
            .namespaces
            .iter()
            .filter_map(|n| Some((n["metadata"]["name"].as_str()?, n)))
            .collect();
        let workloads = objects
            .workloads
            .iter()
            .map(|(resource, object)| {
                let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
                let labels = inputs::namespace_labels(ns, namespaces.get(ns).copied());
                inputs::workload(&workspace.logical_cluster, resource.clone(), object, labels)
            })
            .collect();
        let mut policies = Vec::new();
        for p in &objects.policies {
            match inputs::policy(&workspace.logical_cluster, p) {
                Ok(policy) => policies.push(policy),
                Err(e) => warnings.push(format!(
                    "WorkloadPlacement {:?} is left out, as TMC leaves it out: {e}",
                    p["metadata"]["name"].as_str().unwrap_or_default()
                )),
            }
        }
        let mut clusters = Vec::new();
        let mut read_clusters = |lc: &str, list: &[Value]| {
            for c in list {
                match inputs::cluster(lc, c) {
                    Some(cluster) => clusters.push(cluster),
                    None => warnings.push(format!(
                        "ClusterRegistration {:?} cannot be read and is left out",
                        c["metadata"]["name"].as_str().unwrap_or_default()
                    )),
                }
            }
        };
        read_clusters(&workspace.logical_cluster, &objects.clusters);
        if let (Some(p), Some((_, list))) = (&provider, &objects.provider) {
            read_clusters(&p.logical_cluster, list);
        }
        let mut snapshot = Self::new(workspace, provider, workloads, policies, clusters);
        snapshot.provider_unread = objects.provider_unread.clone();
        (snapshot, warnings)
    }

    /// The workload `namespace/name` of `resource`, if the workspace has it.
    pub fn workload(&self, resource: &GroupResource, namespace: &str, name: &str) -> Option<&Workload> {
        self.workloads
            .iter()
            .find(|w| &w.key.resource == resource && w.key.namespace == namespace && w.key.name == name)
    }

    /// The decision the engine makes for `key` now, as the controller would: the governing
    /// policy, the visible clusters with their load, the state rebuilt from recorded decisions.
    pub fn decide(&self, key: &WorkloadKey, settings: &Settings) -> Option<Decision> {
        let workload = self.workloads.iter().find(|w| &w.key == key)?;
        let state = PlacementState::from_current(&self.workloads, &self.policies);
        Some(decide_for(
            workload,
            &self.policies,
            &self.clusters,
            settings,
            &state,
        ))
    }

    /// Display names: logical-cluster name → workspace path.
    pub fn names(&self) -> Names {
        let mut workspaces = BTreeMap::new();
        for w in self.provider.iter().chain([&self.workspace]) {
            workspaces.insert(w.logical_cluster.clone(), w.path.clone());
        }
        // Recorded clusters that are no longer visible are named too (as no longer registered).
        let ids: BTreeSet<&ClusterId> = self
            .clusters
            .iter()
            .map(|c| &c.id)
            .chain(self.workloads.iter().flat_map(|w| &w.current))
            .collect();
        let mut seen = BTreeSet::new();
        let mut ambiguous = BTreeSet::new();
        for id in ids {
            if !seen.insert(&id.name) {
                ambiguous.insert(id.name.clone());
            }
        }
        Names {
            workspaces,
            ambiguous,
        }
    }
}

/// How clusters and workspaces are named in the text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    workspaces: BTreeMap<String, String>,
    ambiguous: BTreeSet<String>,
}

impl Names {
    /// The path of logical cluster `lc`, or `lc` itself when unknown.
    pub fn workspace<'a>(&'a self, lc: &'a str) -> &'a str {
        self.workspaces.get(lc).map_or(lc, String::as_str)
    }

    /// A cluster by registration name, or `path/name` when two visible clusters share the name.
    pub fn cluster(&self, id: &ClusterId) -> String {
        if self.ambiguous.contains(&id.name) {
            format!("{}/{}", self.workspace(&id.logical_cluster), id.name)
        } else {
            id.name.clone()
        }
    }

    /// Clusters as a comma-separated list, or `none`.
    pub fn clusters<'a>(&self, ids: impl IntoIterator<Item = &'a ClusterId>) -> String {
        let names: Vec<String> = ids.into_iter().map(|id| self.cluster(id)).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// `decision` with workspace paths in place of logical-cluster names, for
    /// [`Decision::explain`].
    pub fn for_display(&self, decision: &Decision) -> Decision {
        let mut d = decision.clone();
        let rename = |id: &mut ClusterId| id.logical_cluster = self.workspace(&id.logical_cluster).to_owned();
        d.workload.logical_cluster = self.workspace(&d.workload.logical_cluster).to_owned();
        d.selected.iter_mut().for_each(rename);
        d.verdicts.iter_mut().for_each(|v| rename(&mut v.cluster));
        d
    }
}

/// The result of trying a `WorkloadPlacement` without applying it.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIf {
    /// The policy tried, as the engine sees it.
    pub policy: Policy,
    /// Whether it replaces an existing policy of the same name (else it is new).
    pub replaces: bool,
    /// Per workload of the snapshot (same order): the governing policy before.
    pub before: Vec<String>,
    /// Per workload of the snapshot (same order): the decision with the policy applied.
    pub decisions: Vec<Decision>,
}

/// Puts `policy` among the workspace's policies (replacing one of the same name, whose
/// creation time it keeps, as an update in kcp would; a new one is created `now`) and places
/// every workload as a full resync of the controller would. Nothing is written anywhere.
pub fn what_if(snapshot: &Snapshot, mut policy: Policy, settings: &Settings) -> WhatIf {
    policy.logical_cluster = snapshot.workspace.logical_cluster.clone();
    let existing = snapshot.policies.iter().find(|p| p.name == policy.name);
    policy.created = Some(existing.and_then(|p| p.created).unwrap_or(settings.now));
    let replaces = existing.is_some();
    let mut policies: Vec<Policy> = snapshot
        .policies
        .iter()
        .filter(|p| p.name != policy.name)
        .cloned()
        .collect();
    policies.push(policy.clone());
    let before = snapshot
        .workloads
        .iter()
        .map(|w| select_policy(w, &snapshot.policies).policy.name.clone())
        .collect();
    let decisions = place_all(&snapshot.workloads, &policies, &snapshot.clusters, settings);
    WhatIf {
        policy,
        replaces,
        before,
        decisions,
    }
}

/// The `WorkloadPlacement` in `text` (YAML or JSON, one document), checked to be one.
pub fn parse_placement(text: &str) -> Result<Value, String> {
    use serde::Deserialize as _;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| format!("not valid YAML or JSON: {e}"))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    let doc = match docs.as_slice() {
        [one] => one.clone(),
        [] => return Err("it holds no object; expected one WorkloadPlacement".to_owned()),
        more => {
            return Err(format!(
                "it holds {} objects; expected one WorkloadPlacement",
                more.len()
            ))
        }
    };
    let (api_version, kind) = (doc["apiVersion"].as_str(), doc["kind"].as_str());
    if api_version != Some(crate::api::API_VERSION) || kind != Some("WorkloadPlacement") {
        return Err(format!(
            "expected apiVersion {} and kind WorkloadPlacement, found {} {}",
            crate::api::API_VERSION,
            api_version.unwrap_or("(no apiVersion)"),
            kind.unwrap_or("(no kind)")
        ));
    }
    if doc["metadata"]["name"].as_str().is_none_or(str::is_empty) {
        return Err("the WorkloadPlacement has no metadata.name".to_owned());
    }
    Ok(doc)
}

/// The policy of a parsed `WorkloadPlacement` (its selectors checked, as TMC checks them).
pub fn placement_policy(placement: &Value) -> Result<Policy, String> {
    inputs::policy("", placement)
}

/// `now` with the given toleration: the settings a decision is made with.
pub fn settings(now: DateTime<Utc>, not_ready_toleration: std::time::Duration) -> Settings {
    Settings {
        not_ready_toleration,
        now,
    }
}

/// The workspace a kcp server URL addresses: what follows `/clusters/`, e.g. `root:team-a`.
pub fn workspace_path(server: &str) -> Option<String> {
    let url = url::Url::parse(server).ok()?;
    let (_, rest) = url.path().split_once("/clusters/")?;
    let ws = rest.split('/').next().filter(|w| !w.is_empty())?;
    Some(ws.to_owned())
}

/// `server` with its workspace replaced by `workspace`: how the plugin addresses the provider
/// workspace with the credentials of the current one. `None` without a `/clusters/<ws>` path.
pub fn provider_url(server: &str, workspace: &str) -> Option<String> {
    let mut url = url::Url::parse(server).ok()?;
    let path = url.path().to_owned();
    let (before, rest) = path.split_once("/clusters/")?;
    let current = rest.split('/').next().filter(|w| !w.is_empty())?;
    url.set_path(&format!(
        "{before}/clusters/{workspace}{}",
        &rest[current.len()..]
    ));
    Some(url.to_string())
}
