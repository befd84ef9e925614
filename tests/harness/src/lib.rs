//! The end-to-end harness: real kcp, real kube-apiservers over etcd, the real
//! kubectl and tmc-server, all on loopback. Binaries are built once per
//! machine by `tests/components/build.sh` into a cache outside the repo.
//!
//! Every process is started under `setpriv --pdeathsig KILL`, so it dies with
//! the test even when the test process is killed, and is killed on drop. When
//! a test fails (drop while panicking) the stack's directory with every
//! process's log is kept and its path printed.
#![forbid(unsafe_code)]

pub mod components;
pub mod credentials;
pub mod front_proxy;
pub mod kcp;
pub mod kubectl;
pub mod physical;
pub mod pki;
pub mod process;
pub mod tmc;
pub mod up;

use std::path::Path;
use std::time::{Duration, Instant};

pub use components::Binaries;
pub use credentials::Credential;
pub use front_proxy::{FrontProxy, FrontProxyConfig};
pub use kcp::KcpServer;
pub use kubectl::Kubectl;
pub use physical::{Etcd, PhysicalCluster};
pub use tmc::{metric_samples, ServingFiles, TmcServer};

/// A free TCP port on 127.0.0.1 (the OS picks; the listener is closed at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding an ephemeral port on 127.0.0.1")
        .port()
}

/// Polls `check` until it returns `Some`, or fails with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if start.elapsed() > timeout {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The value after `--name` on the command line, parsed, or `default`
/// (the benchmark binaries' only kind of option).
pub fn flag_value<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The repository root (for `apis/`).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The directory every process of one test writes its data and logs into.
/// Removed when dropped, unless the test is failing: then it is kept and the
/// tail of every log is printed, so a failure can be diagnosed.
pub struct StackDir {
    dir: Option<tempfile::TempDir>,
}

impl StackDir {
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("kcp-tmc-{name}-"))
            .tempdir()?;
        Ok(Self { dir: Some(dir) })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("live stack dir").path()
    }

    /// Keeps the directory after drop (e.g. for `tmc-up`).
    pub fn keep(mut self) -> std::path::PathBuf {
        self.dir.take().expect("live stack dir").keep()
    }
}

impl Drop for StackDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let path = dir.keep();
                eprintln!("\n=== test failed: logs kept in {} ===", path.display());
                if let Ok(entries) = std::fs::read_dir(&path) {
                    for e in entries.flatten() {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "log") {
                            eprintln!(
                                "--- {} (last 40 lines) ---\n{}",
                                p.display(),
                                process::tail(&p, 40)
                            );
                        }
                    }
                }
            }
        }
    }
}
