//! One health probe of a physical cluster: readiness, version, discovery of
//! the workload APIs TMC syncs, and capacity summed over its Nodes.
//!
//! Credentials come in as the kubeconfig bytes from the registration's Secret
//! and never leave this function: errors are reduced to a category and a
//! short, credential-free message.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::health::{sum_quantities, ApiPresence, CredentialsProblem, KubeconfigFault, ProbeOutcome};

/// An API TMC needs on every cluster: (group, version, resource).
pub type RequiredApi = (String, String, String);

/// Probes the cluster the kubeconfig points at. Never panics, never returns
/// an error: every failure is a `ProbeOutcome`.
pub async fn probe(kubeconfig: &[u8], timeout: Duration, required: &[RequiredApi]) -> ProbeOutcome {
    let client = match client_from(kubeconfig, timeout).await {
        Ok(c) => c,
        Err(fault) => return ProbeOutcome::Credentials(CredentialsProblem::KubeconfigInvalid { fault }),
    };
    match tokio::time::timeout(timeout * 3, answer(&client, required)).await {
        Ok(outcome) => outcome,
        Err(_) => ProbeOutcome::Unreachable {
            message: format!("no answer within {}s", (timeout * 3).as_secs()),
        },
    }
}

async fn client_from(kubeconfig: &[u8], timeout: Duration) -> Result<kube::Client, KubeconfigFault> {
    let mut config = config_from(kubeconfig).await?;
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);
    kube::Client::try_from(config).map_err(|_| KubeconfigFault::Unusable)
}

/// The client configuration of a tenant's kubeconfig, refusing any that
/// would run a command or read a local file.
pub(crate) async fn config_from(kubeconfig: &[u8]) -> Result<kube::Config, KubeconfigFault> {
    let text = std::str::from_utf8(kubeconfig).map_err(|_| KubeconfigFault::NotYaml)?;
    let parsed = Kubeconfig::from_yaml(text).map_err(|_| KubeconfigFault::NotYaml)?;
    check_tenant_kubeconfig(&parsed)?;
    kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default())
        .await
        .map_err(|_| KubeconfigFault::Unusable)
}

/// A kubeconfig comes from a tenant's Secret: tmc-server must never run a
/// command it names (`exec`, `auth-provider`) or read a file on its own disk
/// (`tokenFile`, certificate and key paths). Only embedded credentials pass.
fn check_tenant_kubeconfig(k: &Kubeconfig) -> Result<(), KubeconfigFault> {
    let current = k
        .current_context
        .as_deref()
        .ok_or(KubeconfigFault::NoCurrentContext)?;
    let ctx = k
        .contexts
        .iter()
        .find(|c| c.name == current)
        .and_then(|c| c.context.as_ref())
        .ok_or(KubeconfigFault::NoCurrentContext)?;
    let cluster = k
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or(KubeconfigFault::MissingCluster)?;
    if cluster.certificate_authority.is_some() {
        return Err(KubeconfigFault::UnsupportedAuth);
    }
    if cluster
        .server
        .as_deref()
        .is_none_or(|s| s.parse::<http::Uri>().is_err())
    {
        return Err(KubeconfigFault::InvalidServer);
    }
    if let Some(user_name) = ctx.user.as_deref() {
        let user = k
            .auth_infos
            .iter()
            .find(|u| u.name == user_name)
            .and_then(|u| u.auth_info.as_ref())
            .ok_or(KubeconfigFault::MissingUser)?;
        if user.exec.is_some()
            || user.auth_provider.is_some()
            || user.token_file.is_some()
            || user.client_certificate.is_some()
            || user.client_key.is_some()
        {
            return Err(KubeconfigFault::UnsupportedAuth);
        }
    }
    Ok(())
}

async fn answer(client: &kube::Client, required: &[RequiredApi]) -> ProbeOutcome {
    // /readyz: 200 ready; 500 not ready but answering; anything else as classified.
    let ready = match client.request_text(get("/readyz")).await {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 500 => false,
        Err(e) => return classify(&e),
    };
    let version = match client.apiserver_version().await {
        Ok(v) => v.git_version,
        Err(e) => return classify(&e),
    };
    let mut apis = Vec::new();
    let mut served: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (group, version, resource) in required {
        let key = (group.clone(), version.clone());
        if !served.contains_key(&key) {
            let path = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{group}/{version}")
            };
            let names = match client.request::<serde_json::Value>(get(&path)).await {
                Ok(list) => list["resources"]
                    .as_array()
                    .map(|rs| {
                        rs.iter()
                            .filter_map(|r| r["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
                Err(e) => return classify(&e),
            };
            served.insert(key.clone(), names);
        }
        apis.push(ApiPresence {
            group: group.clone(),
            version: version.clone(),
            resource: resource.clone(),
            served: served[&key].iter().any(|n| n == resource),
        });
    }
    let nodes: Api<Node> = Api::all(client.clone());
    let list = match nodes.list(&ListParams::default()).await {
        Ok(l) => l,
        Err(e) => return classify(&e),
    };
    let per_node = |f: fn(
        &Node,
    ) -> Option<
        &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| { list.items.iter().filter_map(f).cloned().collect::<Vec<_>>() };
    let capacity = sum_quantities(&per_node(|n| n.status.as_ref()?.capacity.as_ref()));
    let allocatable = sum_quantities(&per_node(|n| n.status.as_ref()?.allocatable.as_ref()));
    ProbeOutcome::Answered {
        ready,
        version,
        apis,
        capacity,
        allocatable,
        nodes: list.items.len() as u32,
    }
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path)
        .body(Vec::new())
        .expect("a static request is valid")
}

/// Reduces a client error to what may be shown: the HTTP code, or a short
/// transport description (no URLs with credentials, no bodies).
fn classify(e: &kube::Error) -> ProbeOutcome {
    match e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => ProbeOutcome::Rejected { code: s.code },
        kube::Error::Api(s) => ProbeOutcome::Unreachable {
            message: format!("the API server answered {} {}", s.code, s.reason),
        },
        other => {
            // The cause is deep in the chain (kube → hyper → io); read it all.
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(e) = source {
                text.push_str(": ");
                text.push_str(&e.to_string());
                source = e.source();
            }
            ProbeOutcome::Unreachable {
                message: transport_message(&text),
            }
        }
    }
}

/// The transport failure in a few words, chosen from known phrases so no
/// server-provided text (or anything else) leaks into status.
fn transport_message(text: &str) -> String {
    let t = text.to_ascii_lowercase();
    let known = [
        ("connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("certificate", "TLS certificate not trusted"),
        ("tls", "TLS handshake failed"),
        ("dns", "host name did not resolve"),
        ("no route", "no route to host"),
        ("reset", "connection reset"),
        ("closed", "connection closed"),
    ];
    known
        .iter()
        .find(|(needle, _)| t.contains(needle))
        .map(|(_, said)| (*said).to_owned())
        .unwrap_or_else(|| "the API server could not be reached".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_messages_are_fixed_phrases() {
        assert_eq!(
            transport_message(
                "error trying to connect: tcp connect error: Connection refused (os error 111)"
            ),
            "connection refused"
        );
        assert_eq!(
            transport_message("Bearer abc.def leaked?"),
            "the API server could not be reached"
        );
    }

    #[tokio::test]
    async fn garbage_kubeconfig_is_a_credentials_problem_without_its_bytes() {
        let secretish = b"apiVersion: v1\nclusters: [ {{{ token: s3cr3t-t0ken";
        let out = probe(secretish, Duration::from_secs(1), &[]).await;
        let text = format!("{out:?}");
        assert!(
            matches!(
                out,
                ProbeOutcome::Credentials(CredentialsProblem::KubeconfigInvalid { .. })
            ),
            "{text}"
        );
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[tokio::test]
    async fn exec_and_file_credentials_are_refused_without_running_anything() {
        let marker = std::env::temp_dir().join(format!("tmc-exec-marker-{}", std::process::id()));
        let exec = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: touch\n      args: [\"{}\"]\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n",
            marker.display()
        );
        let out = probe(exec.as_bytes(), Duration::from_secs(1), &[]).await;
        assert!(
            matches!(
                out,
                ProbeOutcome::Credentials(CredentialsProblem::KubeconfigInvalid {
                    fault: KubeconfigFault::UnsupportedAuth
                })
            ),
            "{out:?}"
        );
        assert!(!marker.exists(), "the exec command ran");
        let file_ca = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\n    certificate-authority: /etc/passwd\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n";
        let out = probe(file_ca.as_bytes(), Duration::from_secs(1), &[]).await;
        assert!(
            matches!(
                out,
                ProbeOutcome::Credentials(CredentialsProblem::KubeconfigInvalid {
                    fault: KubeconfigFault::UnsupportedAuth
                })
            ),
            "{out:?}"
        );
    }

    #[tokio::test]
    async fn unreachable_server_is_reported_as_such() {
        let kc = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: s3cr3t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n";
        let out = probe(kc.as_bytes(), Duration::from_secs(2), &[]).await;
        match out {
            ProbeOutcome::Unreachable { message } => assert_eq!(message, "connection refused"),
            other => panic!("{other:?}"),
        }
    }
}
