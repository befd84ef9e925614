//! Watch streams: `?watch=true` on a collection. Events come from the
//! index's change log, filtered by workspace, namespace and selectors, with
//! kube-apiserver's semantics: synthetic ADDED events from "0"/unset, resume
//! after a resourceVersion, ERROR 410 when history is gone, BOOKMARKs, the
//! initial-events-end bookmark for `sendInitialEvents`, `timeoutSeconds`, and
//! a clean end when the server shuts down.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::handlers::ApiState;
use super::list_options::ListOptions;
use super::status::ApiError;
use super::table;
use crate::index::{Change, EventType, Scope, WatchOpening};
use crate::resources::ServedResource;

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(15);
/// A watch without timeoutSeconds ends after this long (clients re-watch).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Everything one watch needs.
pub struct WatchRequest {
    pub resource: ServedResource,
    pub scope: Scope,
    pub namespace: Option<String>,
    pub options: ListOptions,
    pub table: bool,
}

/// Starts the watch; its events arrive on the returned channel as JSON lines.
pub fn start(
    state: Arc<ApiState>,
    req: WatchRequest,
    opening: Result<WatchOpening, ApiError>,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut w = Watcher {
            tx,
            req,
            sent_columns: false,
        };
        match opening {
            Ok(opening) => w.run(&state, opening).await,
            Err(e) => {
                tracing::info!(resource = %w.req.resource.plural, error = %e.message, "watch refused");
                let _ = w.send("ERROR", e.to_status()).await;
            }
        }
    });
    rx
}

struct Watcher {
    tx: mpsc::Sender<Bytes>,
    req: WatchRequest,
    sent_columns: bool,
}

impl Watcher {
    async fn run(&mut self, state: &ApiState, opening: WatchOpening) {
        let gr = self.req.resource.group_resource();
        let mut changed = state.index.subscribe(std::slice::from_ref(&gr));
        let mut shutdown = state.shutdown.clone();
        let deadline = tokio::time::sleep(self.req.options.timeout.unwrap_or(DEFAULT_WATCH_TIMEOUT));
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval(BOOKMARK_INTERVAL);
        bookmarks.tick().await;

        for obj in &opening.initial {
            if self.req.options.selects(obj) && self.send_object("ADDED", obj).await.is_err() {
                return;
            }
        }
        let mut rv = opening.resource_version;
        if self.req.options.send_initial_events && self.send_bookmark(rv, true).await.is_err() {
            return;
        }
        let mut position = opening.position;
        loop {
            // Drain what is there before waiting.
            match state.index.changes(&gr, position) {
                Ok((changes, next, current_rv)) => {
                    let events: Vec<_> = changes
                        .iter()
                        .filter(|c| self.in_scope(c))
                        .filter_map(|c| self.event_for(c))
                        .collect();
                    for (kind, obj) in events {
                        if self.send_object(kind, &obj).await.is_err() {
                            return;
                        }
                    }
                    position = next;
                    rv = rv.max(current_rv);
                }
                Err(expired) => {
                    let _ = self
                        .send("ERROR", ApiError::expired(expired.to_string()).to_status())
                        .await;
                    return;
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                _ = bookmarks.tick(), if self.req.options.allow_watch_bookmarks => {
                    if self.send_bookmark(rv, false).await.is_err() { return }
                }
                _ = &mut deadline => return,
                _ = shutdown.changed() => return,
                _ = self.tx.closed() => return,
            }
        }
    }

    fn in_scope(&self, c: &Change) -> bool {
        let (cluster, ns, _) = &c.key;
        let cluster_ok = match &self.req.scope {
            Scope::AllClusters => true,
            Scope::Cluster(want) => want == cluster,
        };
        cluster_ok && (self.req.namespace.is_none() || ns.as_deref() == self.req.namespace.as_deref())
    }

    /// kube-apiserver's rule for filtered watches: an object that starts
    /// matching is ADDED, one that stops matching is DELETED.
    fn event_for(&self, c: &Change) -> Option<(&'static str, Arc<Value>)> {
        let now = self.req.options.selects(&c.object);
        let before = c.previous.as_deref().is_some_and(|p| self.req.options.selects(p));
        let kind = match (c.kind, before, now) {
            (EventType::Added, _, true) => "ADDED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            (EventType::Deleted, true, _) => "DELETED",
            _ => return None,
        };
        Some((kind, c.object.clone()))
    }

    async fn send_object(&mut self, kind: &str, obj: &Value) -> Result<(), ()> {
        let r = &self.req.resource;
        let payload = if self.req.table {
            let mut t = table::render(
                r,
                &[obj],
                obj["metadata"]["resourceVersion"].as_str().unwrap_or_default(),
                self.req.options.include_object,
                chrono::Utc::now(),
            );
            if self.sent_columns {
                // Like kube-apiserver: column definitions only on the first event.
                t["columnDefinitions"] = json!([]);
            }
            self.sent_columns = true;
            t
        } else {
            let mut o = obj.clone();
            o["apiVersion"] = json!(r.api_version());
            o["kind"] = json!(r.kind);
            o
        };
        self.send(kind, payload).await
    }

    async fn send_bookmark(&mut self, rv: u64, initial_events_end: bool) -> Result<(), ()> {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let r = &self.req.resource;
        self.send(
            "BOOKMARK",
            json!({"apiVersion": r.api_version(), "kind": r.kind, "metadata": meta}),
        )
        .await
    }

    async fn send(&mut self, kind: &str, object: Value) -> Result<(), ()> {
        let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).expect("JSON serializes");
        line.push(b'\n');
        self.tx.send(Bytes::from(line)).await.map_err(|_| ())
    }
}
