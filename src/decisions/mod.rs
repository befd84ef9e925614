//! The decisions controller: places every workload of every bound workspace
//! with the pure engine (`placement`), records each decision in kcp on the
//! workload (annotation `tmc.kcp.io/placement`) before anything may be synced,
//! keeps each `WorkloadPlacement`'s status, and publishes the `placements`
//! view into the index.
//!
//! Level-triggered: every round recomputes from the index (what kcp holds,
//! with live cluster health), so a restart, a missed event or a failed write
//! is repaired by the next round. Decisions are sticky because the recorded
//! clusters are an input: a healthy cluster is never reshuffled away.

pub mod publish;
pub mod view;

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use serde_json::Value;

use crate::index::{cluster_of, object_key, GroupResource, Index, LogicalCluster, ObjectKey};
use crate::kcp::workspaces::WorkspaceResolver;
use crate::metrics::{ClusterLabels, Metrics};
use crate::placement::inputs;
use crate::placement::record::RecordedDecision;
use crate::placement::{self, place_all, Decision, Policy, Workload};
use crate::registration::live::LiveStatus;
use crate::sync::controller::SyncStates;
use crate::sync::desired::has_finalizer;
use crate::sync::naming::FINALIZER;
use publish::{ViewClock, ViewPublisher};

/// The index's name for the `placements` view.
pub fn placements_resource() -> GroupResource {
    GroupResource::new(crate::api::GROUP, "placements")
}

/// The index's name for the `sharedclusters` view.
pub fn shared_clusters_resource() -> GroupResource {
    GroupResource::new(crate::api::GROUP, "sharedclusters")
}

/// A kind of workload TMC places (the workload export's resources).
#[derive(Clone, Debug)]
pub struct WorkloadKind {
    pub resource: GroupResource,
    pub api_version: String,
    pub kind: String,
    /// The collection's path below `/clusters/{cluster}`, before `/namespaces/...`:
    /// `/apis/apps/v1` or `/api/v1`.
    pub api_prefix: String,
}

/// The workload export's kinds, from the same definitions as `apis/`.
pub fn workload_kinds() -> Vec<WorkloadKind> {
    crate::apis_gen::definitions()
        .into_iter()
        .filter(|d| d.export == crate::api::WORKLOAD_EXPORT)
        .map(|d| WorkloadKind {
            resource: GroupResource::new(&d.group, &d.names.plural),
            api_version: if d.group.is_empty() {
                d.version.clone()
            } else {
                format!("{}/{}", d.group, d.version)
            },
            kind: d.names.kind.clone(),
            api_prefix: if d.group.is_empty() {
                format!("/api/{}", d.version)
            } else {
                format!("/apis/{}/{}", d.group, d.version)
            },
        })
        .collect()
}

/// How the controller decides.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Workspace path whose clusters form the shared pool.
    pub provider_workspace: String,
    /// How long a NotReady cluster keeps its workloads.
    pub not_ready_toleration: Duration,
    /// Longest time between two rounds (toleration ends are noticed by then).
    pub interval: Duration,
    /// Affinity and Spread honoured (feature gate TMCPlacementStrategies);
    /// when false every policy places RoundRobin.
    pub strategies: bool,
}

/// Clients for kcp's virtual workspaces (rooted at the export's URL; paths
/// start with `/clusters/{logical cluster}`).
#[derive(Clone)]
pub struct Writers {
    /// The workload export's virtual workspace (annotations on workloads).
    pub workloads: kube::Client,
    /// The tmc.kcp.io export's virtual workspace (WorkloadPlacement status).
    pub tmc: kube::Client,
}

/// Runs rounds forever: after each change in the index (batched), and at
/// least every `settings.interval`.
pub async fn run(
    index: Index,
    live: LiveStatus,
    resolver: Arc<WorkspaceResolver>,
    writers: Writers,
    settings: Settings,
    metrics: Arc<Metrics>,
    sync_states: SyncStates,
) {
    let provider = loop {
        match resolver.resolve(&settings.provider_workspace).await {
            Ok(lc) => break lc.0,
            Err(e) => {
                tracing::warn!(error = %e, "resolving the provider workspace; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let mut inputs: Vec<GroupResource> = workload_kinds().into_iter().map(|k| k.resource).collect();
    inputs.extend([
        GroupResource::new("", "namespaces"),
        GroupResource::new(crate::api::GROUP, "clusterregistrations"),
        GroupResource::new(crate::api::GROUP, "workloadplacements"),
    ]);
    // Its inputs only: the views it publishes must not trigger rounds of their own.
    let mut changes = index.subscribe(&inputs);
    while !index.synced_all(&inputs) {
        if changes.changed().await.is_err() {
            return;
        }
    }
    let mut controller = Controller {
        index: index.clone(),
        live,
        writers,
        settings,
        provider,
        kinds: workload_kinds(),
        placements: ViewPublisher::new(placements_resource()),
        shared: ViewPublisher::new(shared_clusters_resource()),
        clock: ViewClock::default(),
        written: HashMap::new(),
        metrics,
        sync_states: sync_states.clone(),
        view_inputs: HashMap::new(),
    };
    let mut sync_changes = sync_states.subscribe();
    loop {
        let started = std::time::Instant::now();
        controller
            .round()
            .instrument(tracing::debug_span!("placement_round"))
            .await;
        controller
            .metrics
            .placement_round_duration
            .observe(started.elapsed().as_secs_f64());
        tokio::select! {
            // No debounce: a new workload is decided at once. Events that
            // arrive during a round are coalesced into the next one.
            _ = changes.changed() => {}
            // A copy's state changed: only the view needs refreshing, but a
            // round is cheap enough to do it the one way.
            _ = sync_changes.changed() => {}
            _ = tokio::time::sleep(controller.settings.interval) => {}
        }
    }
}

struct Controller {
    index: Index,
    live: LiveStatus,
    writers: Writers,
    settings: Settings,
    /// Logical-cluster name of the provider workspace.
    provider: String,
    kinds: Vec<WorkloadKind>,
    placements: ViewPublisher,
    shared: ViewPublisher,
    clock: ViewClock,
    /// Decisions this process wrote, until the index shows them.
    written: HashMap<ObjectKey, RecordedDecision>,
    metrics: Arc<Metrics>,
    /// Each workload's state on its clusters, from sync.
    sync_states: SyncStates,
    /// Per workload, what its published view was built from, and the view's key.
    view_inputs: HashMap<ObjectKey, (ViewInputs, ObjectKey)>,
}

/// Everything a workload's placement view is built from besides the
/// workload's kind: equal inputs give an equal view.
struct ViewInputs {
    /// The workload object's resourceVersion (its name, labels, uid...).
    resource_version: Value,
    decision: Decision,
    recorded: bool,
    sync: Option<Vec<crate::sync::controller::ClusterSync>>,
}

/// What recording one decision takes.
enum RecordStep {
    /// Nothing to write; whether kcp holds the decision.
    Done(bool),
    Write(Box<PendingRecord>),
}

/// A decision to write to kcp.
struct PendingRecord {
    key: ObjectKey,
    workload: String,
    want: RecordedDecision,
    path: String,
    patch: Value,
}

impl PendingRecord {
    /// Writes it: `Ok(true)` when kcp took it, `Ok(false)` when the workload
    /// changed meanwhile (the next round retries), `Err` when the write failed.
    async fn send(&self, client: &kube::Client) -> Result<bool, ()> {
        let body = serde_json::to_vec(&self.patch).expect("a patch serializes");
        let req = http::Request::patch(self.path.as_str())
            .header("Content-Type", "application/merge-patch+json")
            .body(body)
            .expect("static request");
        let w = &self.workload;
        match client.request::<Value>(req).await {
            Ok(_) => {
                let clusters: Vec<&String> = self.want.clusters.iter().map(|c| &c.name).collect();
                tracing::info!(workload = %w, policy = self.want.policy, ?clusters,
                    reason = self.want.reason, "placement decision recorded");
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(workload = %w, "the workload changed meanwhile; recording next round");
                Ok(false)
            }
            Err(e) => {
                tracing::warn!(workload = %w, error = %e, "recording the placement decision failed; retrying next round");
                Err(())
            }
        }
    }
}

/// A workload with its kcp object.
struct Placed {
    kind: usize,
    object: Arc<Value>,
    workload: Workload,
}

impl Controller {
    fn list(&self, gr: &GroupResource) -> Vec<Arc<Value>> {
        self.index.list_all(gr)
    }

    async fn round(&mut self) {
        let kinds = self.kinds.clone();
        let now = chrono::Utc::now();
        let mut settings = placement::Settings::new(now);
        settings.not_ready_toleration = self.settings.not_ready_toleration;

        let mut clusters = Vec::new();
        let mut pool = Vec::new();
        for reg in self.list(&GroupResource::new(crate::api::GROUP, "clusterregistrations")) {
            let mut obj = (*reg).clone();
            if let Ok(key) = object_key(&obj) {
                self.live.overlay(&key, &mut obj);
            }
            clusters.extend(inputs::cluster(&cluster_of(&obj), &obj));
            if cluster_of(&obj) == self.provider {
                pool.push(obj);
            }
        }
        let placements = self.list(&GroupResource::new(crate::api::GROUP, "workloadplacements"));
        let mut policies: HashMap<String, Vec<Policy>> = HashMap::new();
        let mut invalid: HashMap<(String, String), String> = HashMap::new();
        for wp in &placements {
            let lc = cluster_of(wp);
            match inputs::policy(&lc, wp) {
                Ok(mut p) => {
                    if !self.settings.strategies {
                        p.strategy = crate::api::PlacementStrategy::RoundRobin;
                    }
                    policies.entry(lc).or_default().push(p)
                }
                Err(e) => {
                    let name = wp["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                    invalid.insert((lc, name), e);
                }
            }
        }
        let namespaces: HashMap<(String, String), Arc<Value>> = self
            .list(&GroupResource::new("", "namespaces"))
            .into_iter()
            .map(|ns| {
                let name = ns["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                ((cluster_of(&ns), name), ns)
            })
            .collect();
        let mut all: Vec<Placed> = Vec::new();
        for (i, k) in kinds.iter().enumerate() {
            for obj in self.list(&k.resource) {
                let lc = cluster_of(&obj);
                let ns = obj["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let ns_labels =
                    inputs::namespace_labels(&ns, namespaces.get(&(lc.clone(), ns.clone())).map(|v| &**v));
                let gr = placement::GroupResource::new(k.resource.group.clone(), k.resource.resource.clone());
                let workload = inputs::workload(&lc, gr, &obj, ns_labels);
                all.push(Placed {
                    kind: i,
                    object: obj,
                    workload,
                });
            }
        }
        self.metrics.cluster_ready.clear();
        for c in &clusters {
            self.metrics
                .cluster_ready
                .get_or_create(&ClusterLabels {
                    workspace: c.id.logical_cluster.clone(),
                    cluster: c.id.name.clone(),
                })
                .set(i64::from(c.ready.is_ready()));
        }
        let workloads: Vec<Workload> = all.iter().map(|p| p.workload.clone()).collect();
        inputs::count_load(&mut clusters, &workloads);
        // Only the counts of the recorded decisions; the overlay must not feed
        // back into the next round's inputs (count_load resets them anyway).
        self.live.set_workload_counts(
            clusters
                .iter()
                .map(|c| {
                    let key = (
                        LogicalCluster(c.id.logical_cluster.clone()),
                        None,
                        c.id.name.clone(),
                    );
                    (key, c.placed_workloads)
                })
                .collect(),
        );

        // Decide per workspace, over the clusters it may use.
        let mut by_workspace: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, p) in all.iter().enumerate() {
            by_workspace
                .entry(p.workload.key.logical_cluster.clone())
                .or_default()
                .push(i);
        }
        let mut decisions: Vec<Option<Decision>> = vec![None; all.len()];
        for (lc, members) in &by_workspace {
            let visible: Vec<_> = inputs::visible_clusters(&clusters, lc, &self.provider)
                .cloned()
                .collect();
            let ws_workloads: Vec<Workload> = members.iter().map(|&i| all[i].workload.clone()).collect();
            let empty = Vec::new();
            let ws_policies = policies.get(lc).unwrap_or(&empty);
            for (&i, d) in members
                .iter()
                .zip(place_all(&ws_workloads, ws_policies, &visible, &settings))
            {
                decisions[i] = Some(d);
            }
        }

        // Decisions to record are written concurrently: a burst of new
        // workloads costs a few round trips, not one per workload.
        let mut recorded = vec![false; all.len()];
        let mut writes = Vec::new();
        for (i, (p, decision)) in all.iter().zip(&decisions).enumerate() {
            let Some(decision) = decision else { continue };
            match self.record_step(p, &kinds[p.kind].api_prefix, decision) {
                RecordStep::Done(r) => recorded[i] = r,
                RecordStep::Write(w) => writes.push((i, w)),
            }
        }
        let client = self.writers.workloads.clone();
        let results: Vec<(usize, Box<PendingRecord>, Result<bool, ()>)> = futures::stream::iter(writes)
            .map(|(i, w)| {
                let client = client.clone();
                async move {
                    let ok = w.send(&client).await;
                    (i, w, ok)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for (i, w, outcome) in results {
            match outcome {
                Ok(true) => {
                    self.metrics.decisions_recorded.inc();
                    self.written.insert(w.key, w.want);
                    recorded[i] = true;
                }
                Ok(false) => {}
                Err(()) => self.metrics.reconcile_error("decisions"),
            }
        }
        // Views are rebuilt only for workloads whose view inputs changed: with
        // hundreds of workloads, building and comparing every view each round
        // was most of a round's time.
        let mut present = std::collections::HashSet::new();
        let mut changed: HashMap<ObjectKey, Value> = HashMap::new();
        let mut built = HashMap::with_capacity(all.len());
        for ((p, decision), recorded) in all.iter().zip(&decisions).zip(recorded) {
            let Some(decision) = decision else { continue };
            let Ok(workload_key) = object_key(&p.object) else {
                continue;
            };
            let kind = &kinds[p.kind];
            let resource_version = &p.object["metadata"]["resourceVersion"];
            let sync = self.sync_states.get(&kind.resource, &workload_key);
            if let Some((previous, view_key)) = self.view_inputs.remove(&workload_key) {
                if previous.resource_version == *resource_version
                    && previous.decision == *decision
                    && previous.recorded == recorded
                    && previous.sync == sync
                {
                    present.insert(view_key.clone());
                    built.insert(workload_key, (previous, view_key));
                    continue;
                }
            }
            let inputs = ViewInputs {
                resource_version: resource_version.clone(),
                decision: decision.clone(),
                recorded,
                sync,
            };
            let view = view::placement_view(
                &view::WorkloadObject {
                    api_version: &kind.api_version,
                    kind: &kind.kind,
                    object: &p.object,
                },
                decision,
                recorded,
                inputs.sync.as_deref(),
            );
            if let Ok(view_key) = object_key(&view) {
                present.insert(view_key.clone());
                changed.insert(view_key.clone(), view);
                built.insert(workload_key, (inputs, view_key));
            }
        }
        self.view_inputs = built;
        self.policy_statuses(&placements, &all, &decisions, &invalid)
            .await;
        self.placements
            .publish_changes(&self.index, &mut self.clock, &present, changed);

        // Every workspace that binds the workload export (it has namespaces
        // there) sees the shared pool, with its own workload counts.
        let tenants: std::collections::BTreeSet<&str> = namespaces
            .keys()
            .map(|(lc, _)| lc.as_str())
            .filter(|lc| *lc != self.provider)
            .collect();
        // Each tenant's workloads per shared cluster, counted in one pass.
        let mut on_pool: HashMap<(&str, &str), usize> = HashMap::new();
        for p in &all {
            for c in p
                .workload
                .current
                .iter()
                .filter(|c| c.logical_cluster == self.provider)
            {
                *on_pool
                    .entry((p.workload.key.logical_cluster.as_str(), c.name.as_str()))
                    .or_default() += 1;
            }
        }
        let mut shared = HashMap::new();
        for tenant in tenants {
            for reg in &pool {
                let name = reg["metadata"]["name"].as_str().unwrap_or_default();
                let on_it = on_pool.get(&(tenant, name)).copied().unwrap_or(0);
                let view = view::shared_cluster_view(reg, tenant, &self.settings.provider_workspace, on_it);
                if let Ok(key) = object_key(&view) {
                    shared.insert(key, view);
                }
            }
        }
        self.shared.publish(&self.index, &mut self.clock, shared);
    }

    /// What recording `decision` on the workload takes: nothing (whether kcp
    /// holds it), or a write of the decision together with sync's finalizer
    /// (so no copy can exist without it).
    fn record_step(&mut self, p: &Placed, api_prefix: &str, decision: &Decision) -> RecordStep {
        let want = RecordedDecision::of(decision);
        let Ok(key) = object_key(&p.object) else {
            return RecordStep::Done(false);
        };
        let stored = RecordedDecision::from_object(&p.object);
        if !p.object["metadata"]["deletionTimestamp"].is_null() {
            // Being deleted: sync removes the copies; nothing may be added now.
            return RecordStep::Done(stored.is_some());
        }
        let needs_finalizer = !has_finalizer(&p.object);
        if stored.as_ref() == Some(&want) && !needs_finalizer {
            self.written.remove(&key);
            return RecordStep::Done(true);
        }
        if self.written.get(&key) == Some(&want) {
            return RecordStep::Done(true);
        }
        let w = &p.workload.key;
        let path = format!(
            "/clusters/{}{api_prefix}/namespaces/{}/{}/{}",
            w.logical_cluster, w.namespace, w.resource.resource, w.name
        );
        let mut patch = want.merge_patch();
        if needs_finalizer {
            let mut finalizers = p.object["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            finalizers.push(FINALIZER.into());
            patch["metadata"]["finalizers"] = finalizers.into();
            // Fails (409) rather than drop a finalizer someone added meanwhile.
            patch["metadata"]["resourceVersion"] = p.object["metadata"]["resourceVersion"].clone();
        }
        RecordStep::Write(Box::new(PendingRecord {
            key,
            workload: w.to_string(),
            want,
            path,
            patch,
        }))
    }

    async fn policy_statuses(
        &self,
        placements: &[Arc<Value>],
        all: &[Placed],
        decisions: &[Option<Decision>],
        invalid: &HashMap<(String, String), String>,
    ) {
        for wp in placements {
            let lc = cluster_of(wp);
            let name = wp["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let in_workspace = || {
                all.iter()
                    .zip(decisions)
                    .filter(|(p, _)| p.workload.key.logical_cluster == lc)
                    .filter_map(|(_, d)| d.as_ref())
            };
            let governed: Vec<&Decision> = in_workspace().filter(|d| d.policy == name).collect();
            let overridden: Vec<&Decision> = in_workspace().filter(|d| d.conflicts.contains(&name)).collect();
            let Some(patch) = view::policy_status(
                wp,
                &lc,
                &governed,
                &overridden,
                invalid.get(&(lc.clone(), name.clone())).map(String::as_str),
            ) else {
                continue;
            };
            let path = format!("/clusters/{lc}/apis/tmc.kcp.io/v1alpha1/workloadplacements/{name}/status");
            let req = http::Request::patch(path)
                .header("Content-Type", "application/merge-patch+json")
                .body(serde_json::to_vec(&patch).expect("a patch serializes"))
                .expect("static request");
            if let Err(e) = self.writers.tmc.request::<Value>(req).await {
                tracing::warn!(policy = name, cluster = lc, error = %e, "writing WorkloadPlacement status failed");
                self.metrics.reconcile_error("decisions");
            }
        }
    }
}
