//! A user's way in: a kubeconfig for a server with a token, a client
//! certificate or nothing, usable by the real kubectl and by kube-rs alike;
//! and a look at the certificate a server presents.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a user presents.
#[derive(Clone, Debug)]
pub enum Credential {
    Anonymous,
    Token(String),
    Cert { cert: PathBuf, key: PathBuf },
}

/// Writes a kubeconfig for `server` (verified against `ca`) with `credential`.
pub fn write_kubeconfig(path: &Path, server: &str, ca: &Path, credential: &Credential) -> anyhow::Result<()> {
    let user = match credential {
        Credential::Anonymous => "{}".to_owned(),
        Credential::Token(t) => format!("\n    token: {t}"),
        Credential::Cert { cert, key } => format!(
            "\n    client-certificate: {}\n    client-key: {}",
            cert.display(),
            key.display()
        ),
    };
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: u\n  user: {user}\ncontexts:\n- name: c\n  context:\n    cluster: s\n    user: u\ncurrent-context: c\n",
            ca = ca.display()
        ),
    )?;
    Ok(())
}

/// A kube-rs client from a kubeconfig file.
pub async fn client_from(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// SHA-256 (hex) of the leaf certificate `127.0.0.1:port` presents, verified
/// against `ca`. A fresh TLS connection each call.
pub fn served_certificate_sha256(port: u16, ca: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut std::fs::read(ca)?.as_slice()) {
        roots.add(c?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?.to_owned();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    anyhow::ensure!(
        answer.starts_with(b"HTTP/1.1 200"),
        "unexpected answer: {}",
        String::from_utf8_lossy(&answer)
    );
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| anyhow::anyhow!("no server certificate"))?;
    Ok(sha2::Sha256::digest(leaf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A fresh static token for `user`: the name and 16 random bytes from the kernel.
pub fn random_token(user: &str) -> String {
    let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid").unwrap_or_default();
    format!("{user}-{}", uuid.trim().replace('-', ""))
}

/// RBAC (a ClusterRole and its binding, both named after `user`) letting
/// `user` into a kcp workspace — kcp's `access` verb on `/` — plus `rules`
/// (JSON PolicyRule objects, comma-separated).
pub fn workspace_rbac(user: &str, rules: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[
{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{{"name":"{user}"}},
 "rules":[{{"nonResourceURLs":["/"],"verbs":["access"]}},{rules}]}},
{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{{"name":"{user}"}},
 "roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{user}"}},
 "subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}]}}"#
    )
    .replace('\n', "")
}
