//! The sync controller: from the index (what kcp holds) it computes what each
//! physical cluster should hold and hands it to that cluster's worker; from
//! the workers' board it writes each workload's aggregated `.status` to kcp,
//! releases TMC's finalizer once every copy of a deleted workload is gone,
//! and publishes each workload's per-cluster state for the `placements` view.
//!
//! Level-triggered: every round starts from the index and the board, so a
//! restart, a missed event or a failed write is repaired by a later round.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::discovery::ApiResource;
use serde_json::{json, Value};
use tokio::sync::watch;
use tracing::Instrument;

use super::board::{Board, ClusterReport};
use super::desired::{self, copy_key, decided_clusters, has_finalizer, DesiredSet, ObjectRef, WorkloadInput};
use super::naming::FINALIZER;
use super::state::{copy_state, CopyState};
use super::status::{aggregate, CopyStatus};
use super::synced_condition::synced_condition;
use super::worker::{self, WorkerSettings};
use crate::api::ClusterRegistration;
use crate::decisions::{workload_kinds, WorkloadKind};
use crate::index::{cluster_of, object_key, GroupResource, Index, ObjectKey};
use crate::metrics::Metrics;
use crate::placement::ClusterId;

/// How the controller works.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Write aggregated status to kcp (feature gate TMCStatusAggregation).
    pub aggregate_status: bool,
    /// Timeout of each request to a physical cluster.
    pub cluster_timeout: Duration,
    /// Longest time between two rounds.
    pub interval: Duration,
}

/// Clients rooted at kcp's virtual workspaces (paths start with `/clusters/{logical cluster}`).
#[derive(Clone)]
pub struct Clients {
    /// The workload export's: workload status and finalizers.
    pub workloads: kube::Client,
    /// The tmc.kcp.io export's: the clusters' kubeconfig Secrets.
    pub tmc: kube::Client,
}

/// One cluster's part in a workload, for the `placements` view.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSync {
    pub cluster: ClusterId,
    pub state: CopyState,
    pub message: String,
}

/// A workload's identity: its resource and its kcp key.
type WorkloadId = (GroupResource, ObjectKey);

/// Each workload's per-cluster state, keyed by resource and kcp identity.
#[derive(Clone)]
pub struct SyncStates {
    inner: Arc<RwLock<HashMap<WorkloadId, Vec<ClusterSync>>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Default for SyncStates {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        }
    }
}

impl SyncStates {
    pub fn get(&self, resource: &GroupResource, key: &ObjectKey) -> Option<Vec<ClusterSync>> {
        self.inner
            .read()
            .expect("sync states lock")
            .get(&(resource.clone(), key.clone()))
            .cloned()
    }

    fn replace(&self, states: HashMap<WorkloadId, Vec<ClusterSync>>) {
        let mut inner = self.inner.write().expect("sync states lock");
        if *inner != states {
            *inner = states;
            self.changed.send_modify(|n| *n += 1);
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// The kinds a worker watches and applies: namespaces, ConfigMaps, Secrets
/// and the workload export's kinds.
pub fn synced_kinds() -> Vec<ApiResource> {
    let core = ["namespaces:Namespace", "configmaps:ConfigMap", "secrets:Secret"]
        .into_iter()
        .filter_map(|k| k.split_once(':'))
        .map(|(plural, kind)| ("v1".to_owned(), kind.to_owned(), plural.to_owned()));
    let workloads = workload_kinds()
        .into_iter()
        .map(|k| (k.api_version, k.kind, k.resource.resource));
    core.chain(workloads)
        .map(|(api_version, kind, plural)| {
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g.to_owned(), v.to_owned()),
                None => (String::new(), api_version.clone()),
            };
            ApiResource {
                group,
                version,
                api_version,
                kind,
                plural,
            }
        })
        .collect()
}

struct WorkerHandle {
    desired: watch::Sender<Arc<DesiredSet>>,
    task: tokio::task::JoinHandle<()>,
    /// The registration's generation the worker was started for (a spec change restarts it).
    generation: i64,
}

struct Controller {
    index: Index,
    board: Board,
    states: SyncStates,
    clients: Clients,
    settings: Settings,
    metrics: Arc<Metrics>,
    kinds: Vec<WorkloadKind>,
    synced: Arc<Vec<ApiResource>>,
    workers: HashMap<ClusterId, WorkerHandle>,
    /// The batch of kcp writes in flight.
    writes: Option<tokio::task::JoinHandle<()>>,
    /// Each workload's copies, kept while their inputs are unchanged.
    copy_cache: desired::CopyCache,
}

/// Runs rounds forever: on every change in kcp or on a cluster, and at least every `settings.interval`.
pub async fn run(
    index: Index,
    board: Board,
    states: SyncStates,
    clients: Clients,
    settings: Settings,
    metrics: Arc<Metrics>,
) {
    let mut inputs: Vec<GroupResource> = workload_kinds().into_iter().map(|k| k.resource).collect();
    inputs.extend([
        desired::namespaces(),
        desired::config_maps(),
        desired::secrets(),
        GroupResource::new(crate::api::GROUP, "clusterregistrations"),
    ]);
    // What kcp holds, not the views: publishing a view must not cost a round.
    let mut index_changes = index.subscribe(&inputs);
    // Never act on a partial view of kcp: "not listed yet" must not read as "not wanted".
    while !index.synced_all(&inputs) {
        if index_changes.changed().await.is_err() {
            return;
        }
    }
    let mut board_changes = board.subscribe();
    let mut c = Controller {
        index,
        board,
        states,
        clients,
        settings,
        metrics,
        kinds: workload_kinds(),
        synced: Arc::new(synced_kinds()),
        workers: HashMap::new(),
        writes: None,
        copy_cache: desired::CopyCache::default(),
    };
    loop {
        c.round().instrument(tracing::debug_span!("sync_round")).await;
        tokio::select! {
            _ = index_changes.changed() => {}
            _ = board_changes.changed() => {}
            _ = tokio::time::sleep(c.settings.interval) => {}
        }
    }
}

impl Controller {
    fn list(&self, gr: &GroupResource) -> Vec<Arc<Value>> {
        self.index.list_all(gr)
    }

    fn by_ref(&self, gr: &GroupResource) -> HashMap<ObjectRef, Arc<Value>> {
        self.list(gr)
            .into_iter()
            .map(|o| {
                let ns = o["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
                let name = o["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                ((cluster_of(&o), ns, name), o)
            })
            .collect()
    }

    async fn round(&mut self) {
        let registrations: BTreeMap<ClusterId, Arc<Value>> = self
            .list(&GroupResource::new(crate::api::GROUP, "clusterregistrations"))
            .into_iter()
            .map(|r| {
                let name = r["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                (ClusterId::new(cluster_of(&r), name), r)
            })
            .collect();
        let registered: BTreeSet<ClusterId> = registrations.keys().cloned().collect();
        let config_maps = self.by_ref(&desired::config_maps());
        let secrets = self.by_ref(&desired::secrets());
        let workloads: Vec<(usize, Arc<Value>)> = self
            .kinds
            .iter()
            .enumerate()
            .flat_map(|(i, k)| self.list(&k.resource).into_iter().map(move |o| (i, o)))
            .collect();
        let workspaces: Vec<String> = workloads.iter().map(|(_, o)| cluster_of(o)).collect();
        let sets = desired::desired_sets_cached(
            &desired::Inputs {
                workloads: workloads
                    .iter()
                    .zip(&workspaces)
                    .map(|((i, o), ws)| WorkloadInput {
                        resource: &self.kinds[*i].resource,
                        object: o,
                        workspace: ws,
                    })
                    .collect(),
                config_maps: &config_maps,
                secrets: &secrets,
                registered: &registered,
            },
            &mut self.copy_cache,
        );
        self.steer_workers(&registrations, &sets);

        let reports = self.board.snapshot();
        let mut states = HashMap::new();
        let mut status_writes = Vec::new();
        let mut releases = Vec::new();
        for ((i, obj), ws) in workloads.iter().zip(&workspaces) {
            let kind = &self.kinds[*i];
            let Ok(key) = object_key(obj) else { continue };
            let copy = copy_key(&kind.resource, ws, obj);
            let deleting = !obj["metadata"]["deletionTimestamp"].is_null();
            let mut per_cluster = Vec::new();
            if deleting {
                // Every cluster that still holds a copy, or cannot tell yet.
                let mut all_gone = true;
                for c in &registered {
                    let report = reports.get(c);
                    let holds = report
                        .and_then(|r| r.copies.get(&copy))
                        .and_then(|r| r.object.as_ref());
                    if holds.is_some() || !report.is_some_and(|r| r.listed) {
                        all_gone = false;
                        let (state, message) = copy_state(
                            &kind.kind,
                            report.map(|r| &**r),
                            report.and_then(|r| r.copies.get(&copy)),
                            None,
                        );
                        per_cluster.push(ClusterSync {
                            cluster: c.clone(),
                            state,
                            message,
                        });
                    }
                }
                if all_gone && has_finalizer(obj) {
                    releases.push((kind.clone(), obj.clone()));
                }
            } else {
                let mut copies = Vec::new();
                let mut all_current = true;
                for c in decided_clusters(obj) {
                    let report = reports.get(&c).map(|r| &**r);
                    let copy_report = report.and_then(|r| r.copies.get(&copy));
                    let want = sets.get(&c).and_then(|s| s.copies.get(&copy)).map(|d| d.hash);
                    let (mut state, mut message) = copy_state(&kind.kind, report, copy_report, want);
                    if state != CopyState::Error {
                        // A ConfigMap, Secret or namespace it needs that cannot be synced makes it fail too.
                        if let Some(e) = dependency_error(report, &copy, obj) {
                            (state, message) = (CopyState::Error, e);
                        }
                    }
                    all_current &= want.is_some() && copy_report.and_then(|r| r.applied_hash) == want;
                    if let Some(o) = copy_report.and_then(|r| r.object.as_ref()) {
                        copies.push((c.name.clone(), o.clone()));
                    }
                    per_cluster.push(ClusterSync {
                        cluster: c.clone(),
                        state,
                        message,
                    });
                }
                if self.settings.aggregate_status && has_finalizer(obj) {
                    if let Some(patch) = status_patch(
                        kind,
                        obj,
                        &copies,
                        all_current,
                        &per_cluster,
                        report_drift(&reports, &per_cluster, &copy),
                    ) {
                        status_writes.push((kind.clone(), obj.clone(), patch));
                    }
                }
            }
            states.insert((kind.resource.clone(), key), per_cluster);
        }
        tracing::debug!(
            clusters = registered.len(),
            workloads = workloads.len(),
            status_writes = status_writes.len(),
            releases = releases.len(),
            "sync round"
        );
        self.states.replace(states);
        // kcp writes run beside the rounds, so handing desired sets to the
        // workers never waits for them. One batch at a time: while one runs,
        // later rounds skip theirs and the round after it recomputes.
        let busy = self.writes.as_ref().is_some_and(|h| !h.is_finished());
        let nothing = status_writes.is_empty() && releases.is_empty();
        if !busy && !nothing {
            let (client, metrics) = (self.clients.workloads.clone(), self.metrics.clone());
            self.writes = Some(tokio::spawn(
                async move {
                    write_statuses(&client, &metrics, status_writes).await;
                    release(&client, &metrics, releases).await;
                }
                .in_current_span(),
            ));
        }
    }

    /// Starts, restarts and stops workers to match the registrations, and
    /// hands each its desired set.
    fn steer_workers(
        &mut self,
        registrations: &BTreeMap<ClusterId, Arc<Value>>,
        sets: &BTreeMap<ClusterId, DesiredSet>,
    ) {
        self.workers.retain(|id, w| {
            let generation = registrations
                .get(id)
                .and_then(|r| r["metadata"]["generation"].as_i64());
            let keep = generation == Some(w.generation) && !w.task.is_finished();
            if !keep {
                w.task.abort();
                self.board.remove(id);
                self.metrics
                    .sync_queue_depth
                    .remove(&crate::metrics::ClusterLabels {
                        workspace: id.logical_cluster.clone(),
                        cluster: id.name.clone(),
                    });
            }
            keep
        });
        for (id, reg) in registrations {
            let set = Arc::new(sets.get(id).cloned().unwrap_or_default());
            if let Some(w) = self.workers.get(id) {
                w.desired.send_if_modified(|cur| {
                    let changed = **cur != *set;
                    if changed {
                        *cur = set.clone();
                    }
                    changed
                });
                continue;
            }
            let (tx, rx) = watch::channel(set);
            let span = tracing::info_span!(parent: None, "sync", workspace = %id.logical_cluster, cluster = %id.name);
            let task = tokio::spawn(
                start_worker(
                    id.clone(),
                    reg.clone(),
                    self.clients.tmc.clone(),
                    WorkerSettings {
                        cluster: id.clone(),
                        kinds: self.synced.clone(),
                        board: self.board.clone(),
                        metrics: self.metrics.clone(),
                    },
                    self.settings.cluster_timeout,
                    rx,
                )
                .instrument(span),
            );
            self.workers.insert(
                id.clone(),
                WorkerHandle {
                    desired: tx,
                    task,
                    generation: reg["metadata"]["generation"].as_i64().unwrap_or(0),
                },
            );
        }
    }
}

/// Writes aggregated statuses to kcp.
async fn write_statuses(
    client: &kube::Client,
    metrics: &Metrics,
    writes: Vec<(WorkloadKind, Arc<Value>, Value)>,
) {
    futures::stream::iter(writes)
            .for_each_concurrent(8, |(kind, obj, patch)| async move {
                let path = format!("{}/status", object_path(&kind, &obj));
                let req = http::Request::patch(path)
                    .header("Content-Type", "application/merge-patch+json")
                    .body(serde_json::to_vec(&patch).expect("a patch serializes"))
                    .expect("static request");
                match timeout(client.request::<Value>(req)).await {
                    Ok(_) => tracing::debug!(workload = %object_path(&kind, &obj), "status written to kcp"),
                    Err(e) => {
                        tracing::warn!(workload = %object_path(&kind, &obj), error = %e, "writing status to kcp failed; retrying next round");
                        metrics.reconcile_error("sync");
                    }
                }
            })
            .await;
}

/// Removes TMC's finalizer from deleted workloads none of whose copies is left.
async fn release(client: &kube::Client, metrics: &Metrics, releases: Vec<(WorkloadKind, Arc<Value>)>) {
    futures::stream::iter(releases)
            .for_each_concurrent(8, |(kind, obj)| async move {
                let rest: Vec<&Value> = obj["metadata"]["finalizers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|f| *f != FINALIZER)
                    .collect();
                // The resourceVersion makes this fail rather than drop a finalizer added meanwhile.
                let patch = json!({"metadata": {"finalizers": rest, "resourceVersion": obj["metadata"]["resourceVersion"]}});
                let req = http::Request::patch(object_path(&kind, &obj))
                    .header("Content-Type", "application/merge-patch+json")
                    .body(serde_json::to_vec(&patch).expect("a patch serializes"))
                    .expect("static request");
                match timeout(client.request::<Value>(req)).await {
                    Ok(_) => tracing::info!(workload = %object_path(&kind, &obj), "every copy is gone; finalizer removed"),
                    Err(KcpWriteError::Kube(kube::Error::Api(s))) if s.code == 404 || s.code == 409 => {}
                    Err(e) => {
                        tracing::warn!(workload = %object_path(&kind, &obj), error = %e, "removing the finalizer failed; retrying next round");
                        metrics.reconcile_error("sync");
                    }
                }
            })
            .await;
}

/// The error of a copy `obj` needs on the cluster (its namespace, or a
/// ConfigMap or Secret it references), if one failed.
fn dependency_error(report: Option<&ClusterReport>, copy: &desired::CopyKey, obj: &Value) -> Option<String> {
    let report = report?;
    let ns = copy.namespace.clone()?;
    let refs = super::references::references(obj);
    let needed = std::iter::once(desired::CopyKey {
        resource: desired::namespaces(),
        namespace: None,
        name: ns.clone(),
    })
    .chain(
        refs.config_maps
            .iter()
            .map(|n| (desired::config_maps(), n))
            .chain(refs.secrets.iter().map(|n| (desired::secrets(), n)))
            .map(|(resource, name)| desired::CopyKey {
                resource,
                namespace: Some(ns.clone()),
                name: name.clone(),
            }),
    );
    needed
        .into_iter()
        .find_map(|k| report.copies.get(&k)?.error.clone())
}

/// The drift notes of a workload's copies on its clusters, by cluster name.
fn report_drift(
    reports: &HashMap<ClusterId, Arc<ClusterReport>>,
    clusters: &[ClusterSync],
    copy: &desired::CopyKey,
) -> Vec<(String, super::board::DriftNote)> {
    clusters
        .iter()
        .filter_map(|c| {
            let note = reports.get(&c.cluster)?.copies.get(copy)?.drift.clone()?;
            Some((c.cluster.name.clone(), note))
        })
        .collect()
}

/// The merge patch that gives `obj` its aggregated status, or `None` when it has it already.
fn status_patch(
    kind: &WorkloadKind,
    obj: &Value,
    copies: &[(String, Arc<Value>)],
    all_current: bool,
    clusters: &[ClusterSync],
    drift: Vec<(String, super::board::DriftNote)>,
) -> Option<Value> {
    let views: Vec<CopyStatus<'_>> = copies
        .iter()
        .map(|(c, o)| CopyStatus {
            cluster: c,
            object: o,
        })
        .collect();
    let mut status = aggregate(&kind.kind, obj, &views, all_current)?;
    let stored = &obj["status"];
    if (stored.is_object() || status.is_object()) && matches!(kind.kind.as_str(), "Deployment" | "Service") {
        let synced = synced_condition(clusters, &drift, stored);
        let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
        let mut conditions: Vec<Value> = conditions.into_iter().filter(|c| c["type"] != "Synced").collect();
        conditions.push(synced);
        status["conditions"] = Value::Array(conditions);
    }
    if *stored == status {
        return None;
    }
    // Fields the new status lacks must be removed, not kept from before.
    let mut patch = status.clone();
    if let (Some(old), Some(new)) = (stored.as_object(), patch.as_object_mut()) {
        for k in old.keys() {
            new.entry(k.clone()).or_insert(Value::Null);
        }
    }
    Some(json!({ "status": patch }))
}

/// Why a write to kcp failed.
#[derive(Debug, thiserror::Error)]
enum KcpWriteError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("kcp did not answer within {0:?}")]
    Timeout(Duration),
}

/// Bounds a kcp request, so one that hangs cannot stall every later round.
async fn timeout<T>(
    request: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, KcpWriteError> {
    const LIMIT: Duration = Duration::from_secs(10);
    match tokio::time::timeout(LIMIT, request).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(KcpWriteError::Timeout(LIMIT)),
    }
}

fn object_path(kind: &WorkloadKind, obj: &Value) -> String {
    let meta = &obj["metadata"];
    format!(
        "/clusters/{}{}/namespaces/{}/{}/{}",
        cluster_of(obj),
        kind.api_prefix,
        meta["namespace"].as_str().unwrap_or_default(),
        kind.resource.resource,
        meta["name"].as_str().unwrap_or_default()
    )
}

/// A client for syncing: a dead cluster is noticed within `timeout` when
/// connecting or sending, but reads have no short timeout, because watches
/// stay quiet for minutes.
async fn sync_client(kubeconfig: &[u8], timeout: Duration) -> Result<kube::Client, ()> {
    let mut config = crate::physical::probe::config_from(kubeconfig)
        .await
        .map_err(|_| ())?;
    config.connect_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    kube::Client::try_from(config).map_err(|_| ())
}

/// Reads the cluster's credentials and runs its worker; retries while they are unusable.
async fn start_worker(
    id: ClusterId,
    registration: Arc<Value>,
    tmc: kube::Client,
    settings: WorkerSettings,
    timeout: Duration,
    desired: watch::Receiver<Arc<DesiredSet>>,
) {
    let reg: ClusterRegistration = match serde_json::from_value((*registration).clone()) {
        Ok(r) => r,
        Err(e) => {
            worker::report_problem(
                &settings.board,
                &id,
                format!("the ClusterRegistration does not parse: {e}"),
            );
            return;
        }
    };
    loop {
        let problem = match crate::registration::read_kubeconfig(&tmc, &id.logical_cluster, &reg).await {
            Ok(bytes) => match sync_client(&bytes, timeout).await {
                Ok(client) => {
                    tracing::info!("syncing to the cluster");
                    return worker::run(client, settings, desired).await;
                }
                Err(_) => {
                    "the cluster's kubeconfig is not usable (see the ClusterRegistration's status)".to_owned()
                }
            },
            Err(Some(_)) => {
                "the cluster's kubeconfig Secret cannot be used (see the ClusterRegistration's status)"
                    .to_owned()
            }
            Err(None) => "reading the cluster's kubeconfig Secret from kcp failed".to_owned(),
        };
        worker::report_problem(&settings.board, &id, problem);
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
