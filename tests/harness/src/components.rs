//! Locating (and, when missing, building) the real component binaries.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the real binaries.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub kcp: PathBuf,
    pub kcp_front_proxy: PathBuf,
    pub kube_apiserver: PathBuf,
    /// Runs the deployment and replicaset controllers on physical clusters.
    pub kube_controller_manager: PathBuf,
    pub kubectl: PathBuf,
    pub etcd: PathBuf,
    /// From Debian's prometheus package, to check deploy/'s alert rules.
    pub promtool: PathBuf,
    /// From Debian's umoci package, to build the container image (deploy/image/build.sh).
    pub umoci: PathBuf,
}

/// The cache root: `$KCP_TMC_CACHE`, else `$XDG_CACHE_HOME/kcp-tmc`, else `~/.cache/kcp-tmc`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KCP_TMC_CACHE") {
        return d.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into())).join(".cache")
        });
    base.join("kcp-tmc")
}

static BINARIES: OnceLock<Result<Binaries, String>> = OnceLock::new();

/// The binaries, building whatever is missing or stale first (the build
/// script is idempotent and quick when everything is current).
pub fn ensure() -> anyhow::Result<Binaries> {
    BINARIES
        .get_or_init(|| {
            let script = super::repo_root().join("tests/components/build.sh");
            let status = Command::new("bash")
                .arg(&script)
                .status()
                .map_err(|e| format!("running {}: {e}", script.display()))?;
            if !status.success() {
                return Err(format!(
                    "{} failed ({status}); run it by hand to see why",
                    script.display()
                ));
            }
            let bin = cache_dir().join("bin");
            Ok(Binaries {
                kcp: bin.join("kcp"),
                kcp_front_proxy: bin.join("kcp-front-proxy"),
                kube_apiserver: bin.join("kube-apiserver"),
                kube_controller_manager: bin.join("kube-controller-manager"),
                kubectl: bin.join("kubectl"),
                etcd: bin.join("etcd"),
                promtool: bin.join("promtool"),
                umoci: bin.join("umoci"),
            })
        })
        .clone()
        .map_err(anyhow::Error::msg)
}
