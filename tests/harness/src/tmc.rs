//! tmc-server as its own process (so tests can kill -9 it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::pki::TestCa;
use crate::process::Process;
use crate::{free_port, KcpServer, Kubectl};

/// A running tmc-server with a kubeconfig whose server is its virtual workspace.
pub struct TmcServer {
    pub process: Process,
    pub port: u16,
    binary: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    /// Kubeconfig for kubectl against tmc-server (CA-verified TLS).
    pub kubeconfig: PathBuf,
    pub kubectl: Kubectl,
}

/// A serving certificate made elsewhere (e.g. by `tmc-certs init`).
pub struct ServingFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TmcServer {
    /// Starts `binary` against `kcp` and waits until it is ready (initial lists done).
    pub fn start(
        binary: &Path,
        kcp: &KcpServer,
        kubectl_binary: &Path,
        dir: &Path,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        Self::start_with_cert(binary, kcp, kubectl_binary, dir, extra_args, None)
    }

    /// As `start`, serving `serving` instead of a certificate from a fresh test CA.
    pub fn start_with_cert(
        binary: &Path,
        kcp: &KcpServer,
        kubectl_binary: &Path,
        dir: &Path,
        extra_args: &[&str],
        serving: Option<ServingFiles>,
    ) -> anyhow::Result<Self> {
        let tdir = dir.join("tmc");
        std::fs::create_dir_all(&tdir)?;
        let serving = match serving {
            Some(s) => {
                std::fs::copy(&s.ca, tdir.join("ca.crt"))?;
                crate::pki::CertFiles {
                    cert: s.cert,
                    key: s.key,
                }
            }
            None => {
                let ca = TestCa::new("kcp-tmc test CA")?;
                ca.write_ca(&tdir.join("ca.crt"))?;
                ca.serving(&["localhost", "127.0.0.1"], &tdir, "serving")?
            }
        };
        let port = free_port();
        let mut args = vec![
            format!("--listen=127.0.0.1:{port}"),
            format!("--tls-cert-file={}", serving.cert.display()),
            format!("--tls-private-key-file={}", serving.key.display()),
        ];
        // kcp's admin unless the test gives tmc-server an identity of its own.
        if !extra_args.iter().any(|a| a.starts_with("--kcp-kubeconfig")) {
            args.push(format!("--kcp-kubeconfig={}", kcp.admin_kubeconfig.display()));
        }
        if !extra_args.iter().any(|a| a.starts_with("--log-level")) {
            args.push("--log-level=info,kcp_tmc=debug".to_owned());
        }
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let process = Process::start("tmc-server", binary, &args, dir, &[])?;
        let (binary, dir) = (binary.to_owned(), dir.to_owned());
        let kubeconfig = tdir.join("tmc.kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: tmc\n  cluster:\n    server: https://127.0.0.1:{port}/services/tmc/clusters/root\n    certificate-authority: {}\nusers:\n- name: user\n  user:\n    token: {token}\ncontexts:\n- name: tmc\n  context:\n    cluster: tmc\n    user: user\ncurrent-context: tmc\n",
                tdir.join("ca.crt").display(),
                // The user's kcp credentials: tmc-server acts for kcp users.
                token = kcp.admin_token()?,
            ),
        )?;
        let kubectl = Kubectl {
            binary: kubectl_binary.to_owned(),
            kubeconfig: kubeconfig.clone(),
            server: None,
        };
        let mut tmc = Self {
            process,
            port,
            binary,
            args,
            dir,
            kubeconfig,
            kubectl,
        };
        tmc.wait_ready(Duration::from_secs(90))?;
        Ok(tmc)
    }

    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            self.process.check_running()?;
            if self.kubectl.run(&["get", "--raw", "/readyz"], None).success {
                return Ok(());
            }
            if start.elapsed() > timeout {
                anyhow::bail!(
                    "tmc-server not ready after {timeout:?}; see {}",
                    self.process.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// kill -9, as a crash would.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts tmc-server again with the same flags (same port and certificate).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process.kill();
        self.process = Process::start("tmc-server-restarted", &self.binary, &self.args, &self.dir, &[])?;
        self.wait_ready(Duration::from_secs(90))
    }

    /// A kube-rs client for `cluster` through tmc-server, with the same
    /// credentials and CA as kubectl's.
    pub async fn kube_client(&self, cluster: &str) -> anyhow::Result<kube::Client> {
        self.kube_client_at(&self.url(cluster)).await
    }

    /// A kube-rs client rooted at the server's origin (no path), for raw requests.
    pub async fn kube_client_at_origin(&self) -> anyhow::Result<kube::Client> {
        self.kube_client_at(&format!("https://127.0.0.1:{}", self.port))
            .await
    }

    async fn kube_client_at(&self, url: &str) -> anyhow::Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                .await?;
        config.cluster_url = url.parse()?;
        Ok(kube::Client::try_from(config)?)
    }

    /// The CA file clients verify the serving certificate with.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tmc").join("ca.crt")
    }

    /// Fails when the server's log holds any of `secrets`, or any PEM private
    /// key, token-like Authorization header or the kcp admin token: nothing
    /// secret may reach the logs.
    pub fn assert_log_free_of(&self, kcp: &KcpServer, secrets: &[&str]) -> anyhow::Result<()> {
        // Every log this server wrote, restarts included.
        let mut log = String::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with("tmc-server") && name.ends_with(".log") {
                log.push_str(&std::fs::read_to_string(&path)?);
            }
        }
        let admin = kcp.admin_token()?;
        let mut found: Vec<String> = secrets
            .iter()
            .chain(std::iter::once(&admin.as_str()))
            .filter(|s| !s.is_empty() && log.contains(*s))
            .map(|s| format!("a secret of {} bytes", s.len()))
            .collect();
        for marker in ["PRIVATE KEY", "Bearer ", "client-key-data", "\"token\":"] {
            if log.contains(marker) {
                found.push(format!("{marker:?}"));
            }
        }
        anyhow::ensure!(
            found.is_empty(),
            "the tmc-server logs in {} contain {}",
            self.dir.display(),
            found.join(", ")
        );
        Ok(())
    }

    /// `https://127.0.0.1:<port>/services/tmc/clusters/<cluster>`
    pub fn url(&self, cluster: &str) -> String {
        format!("https://127.0.0.1:{}/services/tmc/clusters/{cluster}", self.port)
    }

    /// kubectl pointed at tmc-server for `cluster` (path, logical-cluster name or `*`).
    pub fn kubectl_at(&self, cluster: &str) -> Kubectl {
        self.kubectl.at(self.url(cluster))
    }
}

/// The samples of an OpenMetrics text (`/metrics`) whose line starts with
/// `prefix` (a name, or a name and the start of its labels), as the whole
/// line and its value.
pub fn metric_samples<'a>(metrics: &'a str, prefix: &'a str) -> impl Iterator<Item = (&'a str, f64)> + 'a {
    metrics
        .lines()
        .filter(move |l| l.starts_with(prefix))
        .filter_map(|l| Some((l, l.rsplit(' ').next()?.parse().ok()?)))
}
