//! A real kcp-front-proxy (built from the same kcp release) in front of kcp
//! and tmc-server, with tmc-server's entry taken from
//! `deploy/kcp-front-proxy/tmc-mapping.yaml`, as an operator would use it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::Process;
use crate::{free_port, repo_root, wait_for, Binaries, KcpServer};

/// Files and addresses the proxy is configured with.
pub struct FrontProxyConfig {
    /// `https://127.0.0.1:<port>` of tmc-server.
    pub tmc_url: String,
    /// CA that signed tmc-server's serving certificate.
    pub tmc_serving_ca: PathBuf,
    /// The proxy's client certificate towards kcp and tmc-server (request-header CA).
    pub proxy_client_cert: PathBuf,
    pub proxy_client_key: PathBuf,
    /// The proxy's own serving certificate.
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    /// CA of users' client certificates.
    pub client_ca: PathBuf,
    /// Static tokens (`token,user,uid,"group1,group2"`); with it every request
    /// must authenticate at the proxy.
    pub token_file: Option<PathBuf>,
}

pub struct FrontProxy {
    pub process: Process,
    pub port: u16,
}

impl FrontProxy {
    pub fn start(
        bins: &Binaries,
        kcp: &KcpServer,
        dir: &Path,
        config: &FrontProxyConfig,
    ) -> anyhow::Result<Self> {
        let pdir = dir.join("front-proxy");
        std::fs::create_dir_all(&pdir)?;
        // Root kubeconfig: watches Shards in root. Shards kubeconfig:
        // credentials for every shard (the URL comes from each Shard object).
        let root_kubeconfig = pdir.join("root.kubeconfig");
        let flattened = kcp.kubectl.ok(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "--flatten",
            "--context=shard-base",
        ])?;
        std::fs::write(&root_kubeconfig, &flattened)?;
        let shard_token = kcp.kubectl.ok(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.users[?(@.name==\"shard-admin\")].user.token}",
        ])?;
        let kcp_ca = kcp.root_dir.join("apiserver.crt");
        let shards_kubeconfig = pdir.join("shards.kubeconfig");
        std::fs::write(
            &shards_kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: base\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {ca}\nusers:\n- name: shard-admin\n  user:\n    token: {token}\ncontexts:\n- name: base\n  context:\n    cluster: base\n    user: shard-admin\ncurrent-context: base\n",
                port = kcp.port,
                ca = kcp_ca.display(),
                token = shard_token.trim(),
            ),
        )?;
        let template = std::fs::read_to_string(repo_root().join("deploy/kcp-front-proxy/tmc-mapping.yaml"))?;
        let tmc_entry = template
            .replace("${TMC_SERVER_URL}", &config.tmc_url)
            .replace(
                "${TMC_SERVING_CA_FILE}",
                &config.tmc_serving_ca.display().to_string(),
            )
            .replace(
                "${FRONT_PROXY_CLIENT_CERT_FILE}",
                &config.proxy_client_cert.display().to_string(),
            )
            .replace(
                "${FRONT_PROXY_CLIENT_KEY_FILE}",
                &config.proxy_client_key.display().to_string(),
            );
        anyhow::ensure!(
            !tmc_entry.contains("${"),
            "unreplaced placeholder in the mapping template"
        );
        let mapping = pdir.join("mapping.yaml");
        std::fs::write(
            &mapping,
            format!(
                "{tmc_entry}- path: /clusters/\n  backend: https://127.0.0.1:{port}\n  backend_server_ca: {ca}\n  proxy_client_cert: {cert}\n  proxy_client_key: {key}\n",
                port = kcp.port,
                ca = kcp_ca.display(),
                cert = config.proxy_client_cert.display(),
                key = config.proxy_client_key.display(),
            ),
        )?;
        let port = free_port();
        let mut args = vec![
            "--bind-address=127.0.0.1".to_owned(),
            format!("--secure-port={port}"),
            format!("--root-directory={}", pdir.display()),
            format!("--mapping-file={}", mapping.display()),
            format!("--root-kubeconfig={}", root_kubeconfig.display()),
            format!("--shards-kubeconfig={}", shards_kubeconfig.display()),
            format!("--tls-cert-file={}", config.serving_cert.display()),
            format!("--tls-private-key-file={}", config.serving_key.display()),
            format!("--client-ca-file={}", config.client_ca.display()),
        ];
        if let Some(t) = &config.token_file {
            args.push(format!("--token-auth-file={}", t.display()));
        }
        let mut process = Process::start("kcp-front-proxy", &bins.kcp_front_proxy, &args, dir, &[])?;
        wait_for("kcp-front-proxy to listen", Duration::from_secs(60), || {
            if process.check_running().is_err() {
                return Some(false);
            }
            std::net::TcpStream::connect(("127.0.0.1", port))
                .ok()
                .map(|_| true)
        })
        .and_then(|up| {
            if up {
                Ok(())
            } else {
                anyhow::bail!("kcp-front-proxy exited; see {}", process.log.display())
            }
        })?;
        Ok(Self { process, port })
    }

    /// `https://127.0.0.1:<port>`
    pub fn origin(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}
