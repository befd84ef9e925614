//! The registration controller: one probe loop per ClusterRegistration in
//! every bound workspace. Each loop reads the kubeconfig Secret through the
//! tmc.kcp.io export's virtual workspace (the export claims Secrets), probes
//! the physical cluster, keeps the live status for the views, and writes the
//! status to kcp only when it changed (heartbeats are coalesced).
//!
//! Level-triggered: the set of loops follows the index; a loop reads the
//! current object on every round, so edits and deletions take effect at the
//! next probe. Killing the process loses nothing: the next start probes again.

pub mod live;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use serde_json::{json, Value};

use crate::api::{ClusterRegistration, ClusterRegistrationStatus};
use crate::health::{self, ClusterHealth, CredentialsProblem, HealthPolicy, ProbeOutcome, ProbeReport};
use crate::index::{GroupResource, Index, ObjectKey};
use crate::physical::probe::{probe, RequiredApi};
use live::LiveStatus;

/// Timing of the probe loops.
#[derive(Clone, Debug)]
pub struct ProbeSettings {
    pub interval: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
    pub policy: HealthPolicy,
}

/// Runs the controller until the process ends.
pub async fn run(
    index: Index,
    vw: kube::Client,
    live: LiveStatus,
    settings: ProbeSettings,
    required: Vec<RequiredApi>,
) {
    let gr = GroupResource::new(crate::api::GROUP, "clusterregistrations");
    let required = Arc::new(required);
    let settings = Arc::new(settings);
    let mut loops: HashMap<ObjectKey, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut changed = index.subscribe(std::slice::from_ref(&gr));
    loop {
        let present: Vec<ObjectKey> = index
            .list(&gr, &crate::index::Scope::AllClusters, None)
            .map(|l| {
                l.items
                    .iter()
                    .filter_map(|o| crate::index::object_key(o).ok())
                    .collect()
            })
            .unwrap_or_default();
        loops.retain(|key, handle| {
            let keep = present.contains(key) && !handle.is_finished();
            if !keep {
                handle.abort();
                live.remove(key);
            }
            keep
        });
        for key in present {
            loops.entry(key.clone()).or_insert_with(|| {
                tracing::info!(cluster = %key.0, registration = %key.2, "probing a registered cluster");
                // Everything a probe logs names the workspace and the cluster.
                let span = tracing::info_span!("probe", workspace = %key.0, cluster = %key.2);
                tokio::spawn(
                    probe_loop(
                        index.clone(),
                        gr.clone(),
                        key,
                        vw.clone(),
                        live.clone(),
                        settings.clone(),
                        required.clone(),
                    )
                    .instrument(span),
                )
            });
        }
        if changed.changed().await.is_err() {
            return;
        }
    }
}

async fn probe_loop(
    index: Index,
    gr: GroupResource,
    key: ObjectKey,
    vw: kube::Client,
    live: LiveStatus,
    settings: Arc<ProbeSettings>,
    required: Arc<Vec<RequiredApi>>,
) {
    let mut health = ClusterHealth::default();
    let (cluster, _, name) = key.clone();
    loop {
        let Some(obj) = index.get(&gr, &key) else { return };
        let registration: ClusterRegistration = match serde_json::from_value((*obj).clone()) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%cluster, registration = %name, error = %e, "registration does not parse; skipping");
                tokio::time::sleep(settings.interval).await;
                continue;
            }
        };
        let outcome = match read_kubeconfig(&vw, &cluster.0, &registration).await {
            Ok(bytes) => probe(&bytes, settings.timeout, &required).await,
            Err(Some(problem)) => problem,
            Err(None) => {
                // kcp did not answer: that says nothing about the cluster, so
                // no verdict this round; try again shortly.
                tokio::time::sleep(settings.interval).await;
                continue;
            }
        };
        let now = chrono::Utc::now();
        health.observe(ProbeReport { at: now, outcome });
        let stored = registration.status.as_ref();
        let desired = health.desired_status(stored, now, &settings.policy);
        live.set(key.clone(), &desired);
        if health::should_write(stored, &desired, &settings.policy) {
            match write_status(&vw, &cluster.0, &name, &desired).await {
                Ok(()) => tracing::debug!(%cluster, registration = %name, "status written"),
                Err(e) => tracing::warn!(%cluster, registration = %name, error = %e, "writing status failed"),
            }
        }
        let jitter = rand_unit(&name, health.consecutive_failures());
        let mut delay = health::next_probe_delay(
            settings.interval,
            settings.max_backoff,
            health.consecutive_failures(),
            jitter,
        );
        // Never sleep past half the threshold: a silent cluster must turn
        // NotReady on time even while backing off.
        delay = delay.min(settings.policy.heartbeat_threshold / 2);
        tokio::time::sleep(delay).await;
    }
}

/// The registration's kubeconfig bytes, or the credentials problem (`None`
/// when kcp itself could not be read).
pub(crate) async fn read_kubeconfig(
    vw: &kube::Client,
    cluster: &str,
    r: &ClusterRegistration,
) -> Result<Vec<u8>, Option<ProbeOutcome>> {
    let Some(sref) = r.spec.kubeconfig_secret_ref.as_ref() else {
        return Err(Some(ProbeOutcome::Credentials(CredentialsProblem::NoSecretRef)));
    };
    let path = format!(
        "/clusters/{cluster}/api/v1/namespaces/{}/secrets/{}",
        sref.namespace, sref.name
    );
    let req = http::Request::get(path).body(Vec::new()).expect("static request");
    let secret: Value = match vw.request(req).await {
        Ok(s) => s,
        Err(kube::Error::Api(s)) if s.code == 404 => {
            return Err(Some(ProbeOutcome::Credentials(
                CredentialsProblem::SecretNotFound,
            )))
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the kubeconfig Secret from kcp failed");
            return Err(None);
        }
    };
    let key = sref.key.clone();
    let Some(encoded) = secret["data"][&key].as_str() else {
        return Err(Some(ProbeOutcome::Credentials(CredentialsProblem::KeyMissing {
            key,
        })));
    };
    decode_base64(encoded).ok_or(Some(ProbeOutcome::Credentials(
        CredentialsProblem::KubeconfigInvalid {
            fault: health::KubeconfigFault::NotYaml,
        },
    )))
}

async fn write_status(
    vw: &kube::Client,
    cluster: &str,
    name: &str,
    status: &ClusterRegistrationStatus,
) -> Result<(), kube::Error> {
    let path = format!("/clusters/{cluster}/apis/tmc.kcp.io/v1alpha1/clusterregistrations/{name}/status");
    let body = serde_json::to_vec(&json!({ "status": status })).expect("status serializes");
    let req = http::Request::patch(path)
        .header("Content-Type", "application/merge-patch+json")
        .body(body)
        .expect("static request");
    vw.request::<Value>(req).await.map(|_| ())
}

/// Standard base64 (Secrets' `data`), without a dependency for it.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = if i >= 4 - pad { 0 } else { val(*c)? };
            n = (n << 6) | v;
        }
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

/// A deterministic value in [0,1) per cluster and attempt, so probe loops of
/// many clusters spread out instead of firing together.
fn rand_unit(name: &str, attempt: u32) -> f64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (name, attempt, std::process::id()).hash(&mut h);
    (h.finish() % 10_000) as f64 / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8h").unwrap(), b"hello!");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("a$==").is_none());
    }

    #[test]
    fn jitter_is_in_range() {
        for i in 0..100 {
            let j = rand_unit("east", i);
            assert!((0.0..1.0).contains(&j));
        }
    }
}
