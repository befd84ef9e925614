//! Physical clusters: real kube-apiservers over a real etcd. Several clusters
//! share one etcd, each under its own key prefix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::Process;
use crate::{free_port, Binaries, Kubectl};

/// A running etcd.
pub struct Etcd {
    pub process: Process,
    pub client_url: String,
}

impl Etcd {
    pub fn start(bins: &Binaries, dir: &Path) -> anyhow::Result<Self> {
        let (client, peer) = (free_port(), free_port());
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let args = vec![
            "--name=default".to_owned(),
            format!("--data-dir={}", dir.join("etcd-data").display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            // Test data is disposable; fsync only slows the suite down.
            "--unsafe-no-fsync=true".to_owned(),
            "--log-level=warn".to_owned(),
        ];
        let process = Process::start("etcd", &bins.etcd, &args, dir, &[])?;
        Ok(Self { process, client_url })
    }
}

/// A physical cluster: one kube-apiserver.
pub struct PhysicalCluster {
    pub name: String,
    pub process: Process,
    pub port: u16,
    /// Admin kubeconfig (static token, CA of the apiserver's self-signed cert).
    pub kubeconfig: PathBuf,
    pub kubectl: Kubectl,
    args: Vec<String>,
    binary: PathBuf,
    dir: PathBuf,
}

impl PhysicalCluster {
    /// Starts kube-apiserver `name` over `etcd` and waits for `/readyz`.
    pub fn start(bins: &Binaries, etcd: &Etcd, dir: &Path, name: &str) -> anyhow::Result<Self> {
        let cdir = dir.join(format!("cluster-{name}"));
        std::fs::create_dir_all(&cdir)?;
        let port = free_port();
        let token = format!("admin-{name}-{}", std::process::id());
        std::fs::write(
            cdir.join("tokens.csv"),
            format!("{token},admin,admin-uid,system:masters\n"),
        )?;
        // Service-account token keys: kube-apiserver reads the public half
        // from a PUBLIC KEY PEM and signs with the PKCS#8 private key.
        let (sa_key, sa_pub) = (cdir.join("sa.key"), cdir.join("sa.pub"));
        let key = rcgen::KeyPair::generate()?;
        std::fs::write(&sa_key, key.serialize_pem())?;
        std::fs::write(&sa_pub, key.public_key_pem())?;
        let args = vec![
            format!("--etcd-servers={}", etcd.client_url),
            format!("--etcd-prefix=/physical/{name}"),
            "--bind-address=127.0.0.1".to_owned(),
            "--advertise-address=127.0.0.1".to_owned(),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", cdir.join("pki").display()),
            format!("--token-auth-file={}", cdir.join("tokens.csv").display()),
            "--authorization-mode=RBAC".to_owned(),
            "--service-account-issuer=https://kubernetes.default.svc".to_owned(),
            format!("--service-account-key-file={}", sa_pub.display()),
            format!("--service-account-signing-key-file={}", sa_key.display()),
            "--service-cluster-ip-range=10.96.0.0/16".to_owned(),
            "--enable-priority-and-fairness=false".to_owned(),
        ];
        let process = Process::start(
            &format!("kube-apiserver-{name}"),
            &bins.kube_apiserver,
            &args,
            dir,
            &[],
        )?;
        let kubeconfig = cdir.join("admin.kubeconfig");
        let ca = cdir.join("pki/apiserver.crt");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {ca}\nusers:\n- name: admin\n  user:\n    token: {token}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: admin\ncurrent-context: {name}\n",
                ca = ca.display()
            ),
        )?;
        let kubectl = Kubectl {
            binary: bins.kubectl.clone(),
            kubeconfig: kubeconfig.clone(),
            server: None,
        };
        let mut cluster = Self {
            name: name.to_owned(),
            process,
            port,
            kubeconfig,
            kubectl,
            args,
            binary: bins.kube_apiserver.clone(),
            dir: dir.to_owned(),
        };
        cluster.wait_ready(Duration::from_secs(120))?;
        Ok(cluster)
    }

    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            self.process.check_running()?;
            if self.kubeconfig.exists() && self.kubectl.run(&["get", "--raw", "/readyz"], None).success {
                return Ok(());
            }
            if start.elapsed() > timeout {
                anyhow::bail!(
                    "kube-apiserver {} not ready after {timeout:?}; see {}",
                    self.name,
                    self.process.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The static admin token (tests check it never leaks anywhere).
    pub fn token(&self) -> String {
        format!("admin-{}-{}", self.name, std::process::id())
    }

    /// Creates a Node with the given capacity (a real apiserver accepts the
    /// status a kubelet would send at registration).
    pub fn add_node(&self, name: &str, cpu: &str, memory: &str) -> anyhow::Result<()> {
        let node = serde_json::json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}
        });
        self.kubectl
            .ok_stdin(&["create", "-f", "-"], Some(&node.to_string()))?;
        Ok(())
    }

    /// Starts kube-controller-manager with the deployment, replicaset,
    /// garbage-collector and namespace controllers: Deployments get real
    /// status (their Pods stay Pending: no scheduler or kubelet runs), and
    /// deleted Deployments and namespaces really go away (and the
    /// serviceaccount controller, without whose `default` ServiceAccount no
    /// Pod is admitted).
    pub fn start_controller_manager(&self, bins: &Binaries) -> anyhow::Result<Process> {
        let args = vec![
            format!("--kubeconfig={}", self.kubeconfig.display()),
            "--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller"
                .to_owned(),
            "--leader-elect=false".to_owned(),
            "--use-service-account-credentials=false".to_owned(),
            format!("--secure-port={}", free_port()),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--cert-dir={}", self.dir.join(format!("cluster-{}/kcm-pki", self.name)).display()),
            "--concurrent-deployment-syncs=10".to_owned(),
            "--concurrent-replicaset-syncs=10".to_owned(),
        ];
        Process::start(
            &format!("kube-controller-manager-{}", self.name),
            &bins.kube_controller_manager,
            &args,
            &self.dir,
            &[],
        )
    }

    /// Stops the apiserver (the cluster "dies"); its data stays in etcd.
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// Starts the apiserver again on the same port with the same data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process.kill();
        self.process = Process::start(
            &format!("kube-apiserver-{}-restarted", self.name),
            &self.binary,
            &self.args,
            &self.dir,
            &[],
        )?;
        self.wait_ready(Duration::from_secs(120))
    }
}

/// Physical clusters `names` over `etcd`, each with a Node (8 CPUs, 32Gi) and
/// a kube-controller-manager, which run while the returned processes live.
pub fn start_with_controllers(
    bins: &Binaries,
    etcd: &Etcd,
    dir: &Path,
    names: &[&str],
) -> anyhow::Result<(Vec<PhysicalCluster>, Vec<Process>)> {
    let (mut clusters, mut managers) = (Vec::new(), Vec::new());
    for name in names {
        let c = PhysicalCluster::start(bins, etcd, dir, name)?;
        c.add_node(&format!("{name}-node"), "8", "32Gi")?;
        managers.push(c.start_controller_manager(bins)?);
        clusters.push(c);
    }
    Ok((clusters, managers))
}
