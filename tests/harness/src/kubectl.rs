//! Running the real kubectl.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// kubectl bound to one kubeconfig (and optionally a server URL override).
#[derive(Clone, Debug)]
pub struct Kubectl {
    pub binary: PathBuf,
    pub kubeconfig: PathBuf,
    pub server: Option<String>,
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Kubectl {
    /// The same credentials, another server URL (e.g. a workspace path).
    pub fn at(&self, server: impl Into<String>) -> Self {
        Self {
            server: Some(server.into()),
            ..self.clone()
        }
    }

    /// Runs kubectl; never fails by itself (check `success`).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        if let Some(s) = &self.server {
            cmd.arg("--server").arg(s);
        }
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl starts");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())
                .expect("writing kubectl stdin");
        }
        let out = child.wait_with_output().expect("kubectl runs");
        Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs kubectl and fails with its stderr unless it succeeded.
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        self.ok_stdin(args, None)
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let out = self.run(args, stdin);
        if out.success {
            Ok(out.stdout)
        } else {
            anyhow::bail!(
                "kubectl {} (server {:?}) failed:\n{}{}",
                args.join(" "),
                self.server,
                out.stdout,
                out.stderr
            )
        }
    }

    /// `kubectl apply -f -` of a JSON or YAML document, for setting up a
    /// test. kubectl's client-side validation is off: it downloads the
    /// server's OpenAPI for every apply, and kcp v0.28.1 can crash building
    /// OpenAPI documents concurrently (kcp-dev/kcp#3820, fixed in later
    /// releases); the objects are the tests' own.
    pub fn apply(&self, doc: &str) -> anyhow::Result<String> {
        self.ok_stdin(&["apply", "--validate=false", "-f", "-"], Some(doc))
    }

    /// `kubectl get ... -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-o", "json"]);
        Ok(serde_json::from_str(&self.ok(&a)?)?)
    }
}

/// `kubectl tmc ARGS` through the real kubectl, as a user runs the plugin:
/// the directory of `plugin` (the built `kubectl-tmc`) first on PATH and
/// KUBECONFIG set. Returns whether it succeeded and stdout+stderr.
pub fn run_plugin(
    kubectl: &std::path::Path,
    plugin: &std::path::Path,
    kubeconfig: &std::path::Path,
    args: &[&str],
) -> (bool, String) {
    let dir = plugin.parent().expect("the plugin binary has a directory");
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(kubectl)
        .arg("tmc")
        .args(args)
        .env("PATH", path)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Registers a physical cluster in the workspace `kubeconfig` points at, as a
/// user does: `kubectl tmc cluster register NAME --kubeconfig FILE --location
/// LOCATION [extra...]`.
pub fn register_cluster(
    kubectl: &std::path::Path,
    plugin: &std::path::Path,
    kubeconfig: &std::path::Path,
    name: &str,
    cluster_kubeconfig: &std::path::Path,
    location: &str,
    extra: &[&str],
) -> anyhow::Result<()> {
    let file = cluster_kubeconfig.to_str().expect("utf-8 path");
    let mut args = vec![
        "cluster",
        "register",
        name,
        "--kubeconfig",
        file,
        "--location",
        location,
    ];
    args.extend_from_slice(extra);
    let (ok, out) = run_plugin(kubectl, plugin, kubeconfig, &args);
    anyhow::ensure!(ok, "kubectl tmc cluster register {name}: {out}");
    Ok(())
}

/// Waits until `count` ClusterRegistrations of the workspace `k` addresses are Ready.
pub fn wait_clusters_ready(k: &Kubectl, count: usize, timeout: std::time::Duration) -> anyhow::Result<()> {
    crate::wait_for(&format!("{count} clusters Ready"), timeout, || {
        let list = k.get_json(&["clusterregistrations"]).ok()?;
        let ready = list["items"]
            .as_array()?
            .iter()
            .filter(|r| {
                r["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
            .count();
        (ready >= count).then_some(())
    })
}
