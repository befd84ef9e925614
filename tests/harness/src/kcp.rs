//! A real kcp server on loopback, and the workspace plumbing tests need.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::Process;
use crate::{free_port, wait_for, Binaries, Kubectl};

/// A running kcp (one shard, embedded etcd).
pub struct KcpServer {
    pub process: Process,
    pub port: u16,
    /// `admin.kubeconfig` written by kcp (its token changes on every start).
    pub admin_kubeconfig: PathBuf,
    pub kubectl: Kubectl,
    pub root_dir: PathBuf,
}

impl KcpServer {
    /// Starts kcp with a fresh root directory under `dir` and waits for `/readyz`.
    pub fn start(bins: &Binaries, dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(bins, dir, &[])
    }

    /// As `start`, with extra `kcp start` flags (e.g. authentication options).
    pub fn start_with(bins: &Binaries, dir: &Path, extra_args: &[String]) -> anyhow::Result<Self> {
        let root_dir = dir.join("kcp");
        std::fs::create_dir_all(&root_dir)?;
        let port = free_port();
        let args: Vec<String> = vec![
            "start".into(),
            format!("--root-directory={}", root_dir.display()),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
            format!("--embedded-etcd-client-port={}", free_port()),
            format!("--embedded-etcd-peer-port={}", free_port()),
        ];
        let args: Vec<String> = args.into_iter().chain(extra_args.iter().cloned()).collect();
        let process = Process::start("kcp", &bins.kcp, &args, dir, &[])?;
        let admin_kubeconfig = root_dir.join("admin.kubeconfig");
        let kubectl = Kubectl {
            binary: bins.kubectl.clone(),
            kubeconfig: admin_kubeconfig.clone(),
            server: None,
        };
        let mut kcp = Self {
            process,
            port,
            admin_kubeconfig,
            kubectl,
            root_dir,
        };
        kcp.wait_ready(Duration::from_secs(180))?;
        Ok(kcp)
    }

    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            self.process.check_running()?;
            if self.admin_kubeconfig.exists()
                && self.kubectl.run(&["get", "--raw", "/livez"], None).success
                && self.kubectl.run(&["get", "--raw", "/readyz"], None).success
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                anyhow::bail!(
                    "kcp not ready after {timeout:?}; see {}",
                    self.process.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The bearer token of kcp's `kcp-admin` user (changes on every kcp start).
    pub fn admin_token(&self) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(&self.admin_kubeconfig)?;
        let config: serde_json::Value = serde_yaml::from_str(&text)?;
        config["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["name"] == "kcp-admin"))
            .and_then(|u| u["user"]["token"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no kcp-admin token in {}", self.admin_kubeconfig.display()))
    }

    /// `https://127.0.0.1:<port>/clusters/<path>`
    pub fn url(&self, workspace: &str) -> String {
        format!("https://127.0.0.1:{}/clusters/{workspace}", self.port)
    }

    /// A copy of the admin kubeconfig at `path` whose current context points
    /// at `workspace`, as a user's kubeconfig does (what `kubectl tmc` reads).
    pub fn kubeconfig_at(&self, workspace: &str, path: &Path) -> anyhow::Result<PathBuf> {
        std::fs::copy(&self.admin_kubeconfig, path)?;
        Kubectl {
            kubeconfig: path.to_owned(),
            ..self.kubectl.clone()
        }
        .ok(&[
            "config",
            "set-cluster",
            "root",
            &format!("--server={}", self.url(workspace)),
        ])?;
        Ok(path.to_owned())
    }

    /// kubectl pointed at a workspace path.
    pub fn kubectl_at(&self, workspace: &str) -> Kubectl {
        self.kubectl.at(self.url(workspace))
    }

    /// Creates `path` (e.g. `root:team-a`; the parent must exist), waits until
    /// it is Ready, and returns its logical-cluster name.
    pub fn create_workspace(&self, path: &str) -> anyhow::Result<String> {
        let (parent, name) = path
            .rsplit_once(':')
            .ok_or_else(|| anyhow::anyhow!("{path} has no parent"))?;
        let k = self.kubectl_at(parent);
        k.apply(&format!(
            "apiVersion: tenancy.kcp.io/v1alpha1\nkind: Workspace\nmetadata:\n  name: {name}\n"
        ))?;
        wait_for(
            &format!("workspace {path} to be Ready"),
            Duration::from_secs(60),
            || {
                let ws = k.get_json(&["workspace", name]).ok()?;
                (ws["status"]["phase"] == "Ready")
                    .then(|| ws["spec"]["cluster"].as_str().map(str::to_owned))?
            },
        )
    }

    /// The usual stack setup: the provider workspace with `apis/` installed,
    /// and each tenant workspace created with both TMC exports bound.
    /// Returns the tenants' logical-cluster names, in order.
    pub fn setup_provider_and_tenants(
        &self,
        provider: &str,
        tenants: &[&str],
    ) -> anyhow::Result<Vec<String>> {
        self.create_workspace(provider)?;
        self.install_apis(provider)?;
        let mut clusters = Vec::new();
        for tenant in tenants {
            clusters.push(self.create_workspace(tenant)?);
            for export in [kcp_tmc::api::TMC_EXPORT, kcp_tmc::api::WORKLOAD_EXPORT] {
                self.bind(tenant, export, provider)?;
            }
        }
        Ok(clusters)
    }

    /// Applies every file in the repository's `apis/` to `workspace`.
    pub fn install_apis(&self, workspace: &str) -> anyhow::Result<()> {
        let apis = crate::repo_root().join("apis");
        self.kubectl_at(workspace).ok(&[
            "apply",
            "--server-side",
            "--field-manager=kcp-tmc",
            "-f",
            apis.to_str().expect("utf-8 path"),
        ])?;
        Ok(())
    }

    /// Binds `export` (from the provider workspace) in `workspace`, accepting
    /// all its permission claims, and waits until the binding is Bound.
    pub fn bind(&self, workspace: &str, export: &str, provider: &str) -> anyhow::Result<()> {
        let binding = kcp_tmc::apis_gen::binding(export, provider);
        let k = self.kubectl_at(workspace);
        k.apply(&serde_json::to_string(&binding)?)?;
        wait_for(
            &format!("APIBinding {export} in {workspace} to be Bound"),
            Duration::from_secs(60),
            || {
                let b = k.get_json(&["apibindings.apis.kcp.io", export]).ok()?;
                (b["status"]["phase"] == "Bound").then_some(())
            },
        )
    }
}
