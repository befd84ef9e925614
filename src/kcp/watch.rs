//! Reflects kcp objects into the index: one kube-rs watcher per served
//! resource over `/clusters/*` of the export's virtual workspace, so a single
//! stream covers every workspace that binds the export.
//!
//! kube-runtime's watcher owns the list/watch state machine (relist on 410,
//! backoff); this module only turns its events into index updates, buffering
//! a relist so the index swaps to the new list atomically.

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use serde_json::Value;

use super::{Kcp, KcpError};
use crate::index::{GroupResource, Index};
use kube::discovery::ApiResource;

/// The wildcard client of one virtual workspace.
pub fn wildcard_client(kcp: &Kcp, virtual_workspace_url: &str) -> Result<kube::Client, KcpError> {
    kcp.client_at(&format!("{virtual_workspace_url}/clusters/*"))
}

/// Runs until the stream ends (never, in practice: the watcher retries with
/// backoff). Errors are logged, not fatal: kcp restarts must not stop TMC.
pub async fn reflect(client: kube::Client, resource: ApiResource, index: Index) {
    let gr = GroupResource::new(&resource.group, &resource.plural);
    index.register(gr.clone());
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut relist: Option<Vec<Value>> = None;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(resource = %resource.plural, error = %e, "watching kcp failed; retrying with backoff");
                continue;
            }
        };
        match event {
            Event::Init => relist = Some(Vec::new()),
            Event::InitApply(obj) => {
                if let Some(buf) = relist.as_mut() {
                    buf.push(to_json(obj));
                }
            }
            Event::InitDone => {
                let objects = relist.take().unwrap_or_default();
                let count = objects.len();
                for e in index.replace(&gr, objects) {
                    tracing::warn!(resource = %resource.plural, error = %e, "object skipped");
                }
                tracing::info!(resource = %resource.plural, count, "listed from kcp");
            }
            Event::Apply(obj) => {
                if let Err(e) = index.apply(&gr, to_json(obj)) {
                    tracing::warn!(resource = %resource.plural, error = %e, "object skipped");
                }
            }
            Event::Delete(obj) => {
                if let Err(e) = index.delete(&gr, &to_json(obj)) {
                    tracing::warn!(resource = %resource.plural, error = %e, "delete skipped");
                }
            }
        }
    }
}

fn to_json(obj: DynamicObject) -> Value {
    serde_json::to_value(obj).expect("a DynamicObject always serializes")
}
