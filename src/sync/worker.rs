//! One worker per physical cluster: its own task, its own watches and its own
//! queue (the latest desired set, coalesced), so a slow or dead cluster delays
//! nothing but itself.
//!
//! A round lists what TMC made on the cluster (label
//! `tmc.kcp.io/managed-by=tmc-server`, through kube-runtime watchers), plans
//! the difference to the desired set (`plan`), and carries it out with
//! server-side apply under TMC's field manager. Nothing is done before the
//! first complete list, and the desired set comes from a complete view of kcp,
//! so a restart can never mistake "not known yet" for "not wanted".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::discovery::ApiResource;
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::board::{Board, ClusterReport, CopyReport, DriftNote};
use super::desired::{namespaces, CopyKey, DesiredSet};
use super::drift::project;
use super::naming::{is_managed, managed_selector, namespace_conflict, MANAGER};
use super::naming::{ORIGIN_NAMESPACE_ANNOTATION, ORIGIN_WORKSPACE_ANNOTATION};
use super::plan::{plan, Action, Applied};
use crate::index::GroupResource;
use crate::metrics::{ClusterLabels, Metrics};
use crate::placement::ClusterId;

/// How many requests a worker has in flight on its cluster at once.
const CONCURRENCY: usize = 8;
/// Longest wait for one request to the cluster.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a worker needs besides its cluster's client.
pub struct WorkerSettings {
    pub cluster: ClusterId,
    /// The kinds TMC syncs (the workload export's, plus ConfigMaps, Secrets, Namespaces).
    pub kinds: Arc<Vec<ApiResource>>,
    pub board: Board,
    pub metrics: Arc<Metrics>,
}

/// A change seen by one of the worker's watches.
enum Seen {
    Listed(GroupResource, Vec<Value>),
    Applied(GroupResource, Value),
    Deleted(GroupResource, Value),
}

fn group_resource(ar: &ApiResource) -> GroupResource {
    GroupResource::new(&ar.group, &ar.plural)
}

fn key_of(gr: &GroupResource, obj: &Value) -> CopyKey {
    CopyKey {
        resource: gr.clone(),
        namespace: obj["metadata"]["namespace"].as_str().map(str::to_owned),
        name: obj["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
    }
}

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Watches everything TMC made of kind `ar` on the cluster.
async fn watch_kind(client: kube::Client, ar: ApiResource, tx: mpsc::UnboundedSender<Seen>) {
    let gr = group_resource(&ar);
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let config = watcher::Config::default().labels(&managed_selector());
    let stream = watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    let mut relist: Option<Vec<Value>> = None;
    while let Some(event) = stream.next().await {
        let to_json = |o: DynamicObject| serde_json::to_value(o).unwrap_or_default();
        let seen = match event {
            Ok(Event::Init) => {
                relist = Some(Vec::new());
                continue;
            }
            Ok(Event::InitApply(o)) => {
                relist.get_or_insert_with(Vec::new).push(to_json(o));
                continue;
            }
            Ok(Event::InitDone) => Seen::Listed(gr.clone(), relist.take().unwrap_or_default()),
            Ok(Event::Apply(o)) => Seen::Applied(gr.clone(), to_json(o)),
            Ok(Event::Delete(o)) => Seen::Deleted(gr.clone(), to_json(o)),
            Err(e) => {
                tracing::debug!(resource = %ar.plural, error = %e, "watching the cluster failed; retrying");
                continue;
            }
        };
        if tx.send(seen).is_err() {
            return;
        }
    }
}

/// What the worker knows between rounds.
struct Worker {
    client: kube::Client,
    settings: WorkerSettings,
    apis: HashMap<GroupResource, ApiResource>,
    /// Everything TMC made on the cluster, as last seen.
    actual: BTreeMap<CopyKey, Arc<Value>>,
    listed: HashSet<GroupResource>,
    applied: HashMap<CopyKey, Applied>,
    errors: HashMap<CopyKey, String>,
    drift: HashMap<CopyKey, DriftNote>,
    labels: ClusterLabels,
    /// When the current desired set arrived (sync latency is measured from it).
    desired_since: Instant,
}

/// Runs the worker of one cluster until the desired-set channel closes.
pub async fn run(
    client: kube::Client,
    settings: WorkerSettings,
    mut desired: watch::Receiver<Arc<DesiredSet>>,
) {
    let (tx, mut seen) = mpsc::unbounded_channel();
    // A JoinSet: the watches end with the worker, even when it is aborted.
    let mut watches = tokio::task::JoinSet::new();
    for ar in settings.kinds.iter() {
        watches.spawn(watch_kind(client.clone(), ar.clone(), tx.clone()));
    }
    drop(tx);
    let labels = ClusterLabels {
        workspace: settings.cluster.logical_cluster.clone(),
        cluster: settings.cluster.name.clone(),
    };
    let mut w = Worker {
        client,
        apis: settings
            .kinds
            .iter()
            .map(|a| (group_resource(a), a.clone()))
            .collect(),
        settings,
        actual: BTreeMap::new(),
        listed: HashSet::new(),
        applied: HashMap::new(),
        errors: HashMap::new(),
        drift: HashMap::new(),
        labels,
        desired_since: Instant::now(),
    };
    let mut retry = Duration::from_millis(500);
    let mut next_retry: Option<Instant> = None;
    loop {
        let deadline = next_retry.map(tokio::time::Instant::from_std);
        tokio::select! {
            changed = desired.changed() => {
                if changed.is_err() {
                    break;
                }
                w.desired_since = Instant::now();
            }
            Some(s) = seen.recv() => {
                w.see(s);
                while let Ok(s) = seen.try_recv() {
                    w.see(s);
                }
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await },
                if deadline.is_some() => {}
        }
        if w.listed.len() < w.apis.len() {
            w.publish();
            continue;
        }
        let want = desired.borrow_and_update().clone();
        let failed = w.round(&want).await;
        w.publish();
        if failed {
            next_retry = Some(Instant::now() + retry);
            retry = (retry * 2).min(Duration::from_secs(30));
        } else {
            next_retry = None;
            retry = Duration::from_millis(500);
        }
    }
    watches.abort_all();
}

impl Worker {
    fn see(&mut self, seen: Seen) {
        match seen {
            Seen::Listed(gr, objects) => {
                self.actual.retain(|k, _| k.resource != gr);
                for o in objects {
                    self.actual.insert(key_of(&gr, &o), Arc::new(o));
                }
                self.listed.insert(gr);
            }
            Seen::Applied(gr, o) => self.remember(key_of(&gr, &o), o),
            Seen::Deleted(gr, o) => {
                self.actual.remove(&key_of(&gr, &o));
            }
        }
    }

    /// Keeps `o` unless a newer version is known already (our own apply's
    /// answer may arrive before or after its watch event).
    fn remember(&mut self, key: CopyKey, o: Value) {
        if self.actual.get(&key).is_none_or(|have| rv(have) <= rv(&o)) {
            self.actual.insert(key, Arc::new(o));
        }
    }

    fn publish(&self) {
        let mut copies: HashMap<CopyKey, CopyReport> = HashMap::new();
        for (k, o) in &self.actual {
            copies.entry(k.clone()).or_default().object = Some(o.clone());
        }
        for (k, a) in &self.applied {
            copies.entry(k.clone()).or_default().applied_hash = Some(a.hash);
        }
        for (k, e) in &self.errors {
            copies.entry(k.clone()).or_default().error = Some(e.clone());
        }
        for (k, d) in &self.drift {
            copies.entry(k.clone()).or_default().drift = Some(d.clone());
        }
        let report = ClusterReport {
            listed: self.listed.len() == self.apis.len(),
            problem: None,
            copies,
        };
        self.settings.board.publish(&self.settings.cluster, report);
    }

    /// One pass over the plan; whether anything failed (then a retry is due).
    async fn round(&mut self, want: &DesiredSet) -> bool {
        let actions = plan(want, &self.actual, &self.applied);
        // Forget what no longer concerns the cluster.
        self.applied.retain(|k, _| want.copies.contains_key(k));
        self.errors
            .retain(|k, _| want.copies.contains_key(k) || self.actual.contains_key(k));
        self.drift.retain(|k, _| want.copies.contains_key(k));
        let depth = self
            .settings
            .metrics
            .sync_queue_depth
            .get_or_create(&self.labels)
            .clone();
        depth.set(actions.len() as i64);
        if actions.is_empty() {
            return false;
        }
        let mut failed = false;
        let mut remaining = actions.len();
        for phase in 0..=4u8 {
            let batch: Vec<Action> = actions.iter().filter(|a| a.phase() == phase).cloned().collect();
            if batch.is_empty() {
                continue;
            }
            let this = &*self;
            let results: Vec<(Action, Result<Option<Value>, String>)> = futures::stream::iter(batch)
                .map(|a| async move {
                    let started = Instant::now();
                    // Reads have no client timeout (watches are long): bound each request here.
                    let r = match tokio::time::timeout(REQUEST_TIMEOUT, this.execute(&a, want)).await {
                        Ok(r) => r,
                        Err(_) => Err(format!("the cluster did not answer within {REQUEST_TIMEOUT:?}")),
                    };
                    this.settings
                        .metrics
                        .sync_request_duration
                        .get_or_create(&this.labels)
                        .observe(started.elapsed().as_secs_f64());
                    (a, r)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for (action, result) in results {
                remaining -= 1;
                failed |= self.record(action, result, want);
            }
            depth.set(remaining as i64);
        }
        failed
    }

    /// Books the outcome of one action; whether it failed.
    fn record(&mut self, action: Action, result: Result<Option<Value>, String>, want: &DesiredSet) -> bool {
        let key = action.key().clone();
        let c = &self.settings.cluster;
        match result {
            Err(e) => {
                tracing::warn!(cluster = %c, copy = %key, error = %e, "sync failed; retrying");
                self.settings.metrics.reconcile_error("sync");
                self.errors.insert(key, e);
                true
            }
            Ok(answer) => {
                self.errors.remove(&key);
                match (&action, answer) {
                    (Action::Delete(_), _) => {
                        tracing::info!(cluster = %c, copy = %key, "copy deleted");
                        self.applied.remove(&key);
                    }
                    (_, Some(served)) => {
                        if let Some(d) = want.copies.get(&key) {
                            let projection = project(&served, &d.object);
                            self.applied.insert(
                                key.clone(),
                                Applied {
                                    hash: d.hash,
                                    projection,
                                    resource_version: served["metadata"]["resourceVersion"]
                                        .as_str()
                                        .unwrap_or_default()
                                        .to_owned(),
                                },
                            );
                        }
                        if let Action::Revert(_, path) = &action {
                            tracing::info!(cluster = %c, copy = %key, field = %path,
                                "the copy was edited on the cluster; reverted");
                            self.settings
                                .metrics
                                .sync_drift_reverts
                                .get_or_create(&self.labels)
                                .inc();
                            self.drift.insert(
                                key.clone(),
                                DriftNote {
                                    path: path.clone(),
                                    at: chrono::Utc::now(),
                                },
                            );
                        } else {
                            tracing::debug!(cluster = %c, copy = %key, "copy applied");
                            // A new spec supersedes the note of an earlier revert.
                            self.drift.remove(&key);
                            self.settings
                                .metrics
                                .sync_latency
                                .get_or_create(&self.labels)
                                .observe(self.desired_since.elapsed().as_secs_f64());
                        }
                        self.remember(key, served);
                    }
                    (_, None) => {}
                }
                false
            }
        }
    }

    fn api(&self, key: &CopyKey) -> Result<Api<DynamicObject>, String> {
        let ar = self
            .apis
            .get(&key.resource)
            .ok_or_else(|| format!("TMC does not sync {}", key.resource.resource))?;
        Ok(match &key.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, ar),
            None => Api::all_with(self.client.clone(), ar),
        })
    }

    /// Carries out one action; the object as the cluster answered (for applies).
    async fn execute(&self, action: &Action, want: &DesiredSet) -> Result<Option<Value>, String> {
        let key = action.key();
        let api = self.api(key)?;
        let explain = |e: kube::Error| match e {
            kube::Error::Api(s) => format!("{} ({})", s.message, s.reason),
            other => other.to_string(),
        };
        if let Action::Delete(_) = action {
            let uid = self
                .actual
                .get(key)
                .and_then(|o| o["metadata"]["uid"].as_str().map(str::to_owned));
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                preconditions: uid.map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..Default::default()
            };
            return match api.delete(&key.name, &params).await {
                Ok(_) => Ok(None),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
                Err(e) => Err(explain(e)),
            };
        }
        let desired = want
            .copies
            .get(key)
            .ok_or_else(|| format!("{key} is no longer wanted"))?;
        if let Action::Create(_) = action {
            // Only what TMC made may be changed: look before taking the name.
            if let Some(existing) = api.get_opt(&key.name).await.map_err(explain)? {
                let existing = serde_json::to_value(existing).unwrap_or_default();
                let conflict = if key.resource == namespaces() {
                    let a = &desired.object["metadata"]["annotations"];
                    namespace_conflict(
                        &existing,
                        a[ORIGIN_WORKSPACE_ANNOTATION].as_str().unwrap_or_default(),
                        a[ORIGIN_NAMESPACE_ANNOTATION].as_str().unwrap_or_default(),
                    )
                } else {
                    (!is_managed(&existing)).then(|| {
                        format!("{key} exists on the cluster and was not created by TMC; it is left alone")
                    })
                };
                if let Some(c) = conflict {
                    return Err(c);
                }
            }
        }
        let params = PatchParams::apply(MANAGER).force();
        let served = api
            .patch(&key.name, &params, &Patch::Apply(&*desired.object))
            .await
            .map_err(explain)?;
        Ok(Some(serde_json::to_value(served).unwrap_or_default()))
    }
}

/// Publishes that the worker of `cluster` cannot start (credentials, client).
pub fn report_problem(board: &Board, cluster: &ClusterId, problem: String) {
    board.publish(
        cluster,
        ClusterReport {
            listed: false,
            problem: Some(problem),
            copies: HashMap::new(),
        },
    );
}
