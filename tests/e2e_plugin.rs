//! `kubectl tmc cluster ...` end to end: the built plugin run by the real kubectl (found on PATH,
//! as users install it) against a real kcp, registering a real kube-apiserver.
//!
//! Registering stores a flattened kubeconfig that works on its own against the physical
//! cluster; re-registering is idempotent and keeps a cordon; cordon/uncordon flip
//! `spec.unschedulable`; deregister removes the registration and only the Secret register
//! made, waiting for finalizers first. Failures (unknown context, unbound workspace, missing
//! registration) exit 1 with a clear message, and no output ever contains the cluster's token.

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::ByteString;
use serde_json::Value;
use tmc_harness::{components, Etcd, KcpServer, Kubectl, PhysicalCluster, StackDir};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";
const UNBOUND: &str = "root:team-b";

#[test]
fn kubectl_tmc_cluster_manages_registrations_in_kcp() {
    let dir = StackDir::new("plugin").expect("temp dir");
    // Panicking while `dir` is alive keeps every process's log for diagnosis.
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

/// What one plugin run printed.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> anyhow::Result<Self> {
        anyhow::ensure!(self.code == Some(0), "kubectl tmc failed: {self:?}");
        Ok(self)
    }
}

/// Runs `kubectl tmc ...` through the real kubectl with only the plugin's directory added to
/// PATH and KUBECONFIG naming the kcp workspace, exactly as a user would.
struct Plugin {
    kubectl: PathBuf,
    path: String,
    /// The physical cluster's bearer token: no run may print it.
    token: String,
}

impl Plugin {
    fn run(&self, kubeconfig: &Path, args: &[&str]) -> Run {
        let out = Command::new(&self.kubectl)
            .arg("tmc")
            .args(args)
            .env("PATH", &self.path)
            .env("KUBECONFIG", kubeconfig)
            .output()
            .expect("kubectl runs");
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains(&self.token) && !run.stderr.contains(&self.token),
            "kubectl tmc {args:?} printed the physical cluster's token: {run:?}"
        );
        run
    }
}

/// A kubeconfig whose current context points at `workspace`: a copy of kcp's admin kubeconfig
/// with the current context's cluster moved there (kubectl does not pass `--server` to plugins).
fn workspace_kubeconfig(kcp: &KcpServer, dir: &Path, workspace: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{}.kubeconfig", workspace.replace(':', "_")));
    std::fs::copy(&kcp.admin_kubeconfig, &path)?;
    let k = Kubectl {
        kubeconfig: path.clone(),
        ..kcp.kubectl.clone()
    };
    let cluster = k.ok(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.contexts[0].context.cluster}",
    ])?;
    k.ok(&[
        "config",
        "set-cluster",
        cluster.trim(),
        "--server",
        &kcp.url(workspace),
    ])?;
    Ok(path)
}

/// The bearer token in the physical cluster's kubeconfig.
fn physical_token(kubeconfig: &Path) -> anyhow::Result<String> {
    let config: Value = serde_yaml::from_str(&std::fs::read_to_string(kubeconfig)?)?;
    config["users"][0]["user"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no token in {}", kubeconfig.display()))
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let east = PhysicalCluster::start(&bins, &etcd, dir.path(), "east")?;

    kcp.create_workspace(PROVIDER)?;
    kcp.install_apis(PROVIDER)?;
    kcp.create_workspace(TENANT)?;
    kcp.create_workspace(UNBOUND)?;
    kcp.bind(TENANT, kcp_tmc::api::TMC_EXPORT, PROVIDER)?;
    let team_a = kcp.kubectl_at(TENANT);
    let team_a_config = workspace_kubeconfig(&kcp, dir.path(), TENANT)?;
    let team_b_config = workspace_kubeconfig(&kcp, dir.path(), UNBOUND)?;

    // kubectl finds plugins on PATH; a directory holding only ours keeps the test hermetic.
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir(&plugin_dir)?;
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-tmc"), plugin_dir.join("kubectl-tmc"))?;
    let plugin = Plugin {
        kubectl: bins.kubectl.clone(),
        path: format!(
            "{}:{}",
            plugin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        token: physical_token(&east.kubeconfig)?,
    };
    let physical = east.kubeconfig.to_str().expect("UTF-8 path");
    let register = |config: &Path, extra: &[&str]| {
        let args = [
            &[
                "cluster",
                "register",
                "east",
                "--kubeconfig",
                physical,
                "--location",
                "us-east",
            ][..],
            extra,
        ]
        .concat();
        plugin.run(config, &args)
    };

    // Register: progress lines like kubectl's, objects in kcp as asked.
    let run = register(
        &team_a_config,
        &["--label", "tier=prod", "--capability", "gpu=model=a100"],
    )
    .ok()?;
    assert_eq!(
        run.stdout,
        "namespace/tmc-system created\nsecret tmc-system/east-kubeconfig created\n\
         clusterregistration.tmc.kcp.io/east created\n"
    );
    assert!(
        run.stderr.contains("loopback server address (127.0.0.1)"),
        "{}",
        run.stderr
    );
    let cr = team_a.get_json(&["clusterregistration", "east"])?;
    assert_eq!(cr["spec"]["location"], "us-east");
    assert_eq!(cr["metadata"]["labels"]["tier"], "prod");
    assert_eq!(cr["spec"]["capabilities"][0]["type"], "gpu");
    assert_eq!(cr["spec"]["capabilities"][0]["available"], true);
    assert_eq!(cr["spec"]["capabilities"][0]["properties"]["model"], "a100");
    assert_eq!(
        cr["spec"]["kubeconfigSecretRef"],
        serde_json::json!({"name": "east-kubeconfig", "namespace": "tmc-system", "key": "kubeconfig"})
    );
    assert_eq!(cr["spec"]["unschedulable"], false);
    let managed = team_a.get_json(&["clusterregistration", "east", "--show-managed-fields"])?;
    assert!(
        managed["metadata"]["managedFields"].as_array().is_some_and(|m| m
            .iter()
            .any(|f| f["manager"] == "kubectl-tmc" && f["operation"] == "Apply")),
        "registered by server-side apply as kubectl-tmc: {managed}"
    );

    // The Secret holds a self-contained kubeconfig that works against the physical cluster.
    let secret = team_a.get_json(&["secret", "-n", "tmc-system", "east-kubeconfig"])?;
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["metadata"]["labels"]["tmc.kcp.io/cluster"], "east");
    let stored: ByteString = serde_json::from_value(secret["data"]["kubeconfig"].clone())?;
    let stored = String::from_utf8(stored.0)?;
    let parsed: Value = serde_yaml::from_str(&stored)?;
    assert!(
        parsed["clusters"][0]["cluster"]["certificate-authority-data"].is_string(),
        "{parsed}"
    );
    assert!(
        parsed["clusters"][0]["cluster"]
            .get("certificate-authority")
            .is_none(),
        "inlined: {parsed}"
    );
    let decoded = dir.path().join("decoded.kubeconfig");
    std::fs::write(&decoded, &stored)?;
    let direct = Kubectl {
        kubeconfig: decoded,
        ..east.kubectl.clone()
    };
    assert!(direct
        .ok(&["get", "ns", "-o", "name"])?
        .contains("namespace/default"));

    // Registering again with the same flags changes nothing; a new label reconfigures.
    let run = register(
        &team_a_config,
        &["--label", "tier=prod", "--capability", "gpu=model=a100"],
    )
    .ok()?;
    assert_eq!(
        run.stdout,
        "secret tmc-system/east-kubeconfig unchanged\nclusterregistration.tmc.kcp.io/east unchanged\n"
    );
    let run = register(&team_a_config, &["--label", "tier=dev"]).ok()?;
    assert!(
        run.stdout
            .ends_with("clusterregistration.tmc.kcp.io/east configured\n"),
        "{run:?}"
    );
    let cr = team_a.get_json(&["clusterregistration", "east"])?;
    assert_eq!(cr["metadata"]["labels"]["tier"], "dev");
    assert!(
        cr["spec"].get("capabilities").is_none(),
        "dropped capabilities are removed: {cr}"
    );

    // Cordon and uncordon; a cordon survives re-registration.
    let run = plugin.run(&team_a_config, &["cluster", "cordon", "east"]).ok()?;
    assert_eq!(run.stdout, "clusterregistration.tmc.kcp.io/east cordoned\n");
    let unschedulable = || -> anyhow::Result<Value> {
        Ok(team_a.get_json(&["clusterregistration", "east"])?["spec"]["unschedulable"].clone())
    };
    assert_eq!(unschedulable()?, true);
    let run = plugin.run(&team_a_config, &["cluster", "cordon", "east"]).ok()?;
    assert_eq!(
        run.stdout,
        "clusterregistration.tmc.kcp.io/east already cordoned\n"
    );
    // -o prints what kcp stored instead of progress lines, the Secret's data redacted.
    let run = register(&team_a_config, &["--label", "tier=dev", "-o", "json"]).ok()?;
    let list: Value = serde_json::from_str(&run.stdout)?;
    assert_eq!(list["kind"], "List", "{list}");
    let secret = &list["items"][0];
    assert_eq!(secret["kind"], "Secret");
    let redacted = secret["data"]["kubeconfig"].as_str().unwrap_or_default();
    assert!(
        redacted.starts_with("<redacted ") && redacted.ends_with(" bytes>"),
        "{list}"
    );
    assert_eq!(list["items"][1]["spec"]["unschedulable"], true, "{list}");
    assert_eq!(unschedulable()?, true, "re-registering keeps the cordon");
    // --kcp-kubeconfig wins over KUBECONFIG (here: the unbound workspace).
    let team_a_flag = team_a_config.to_str().expect("UTF-8 path");
    let run = plugin
        .run(
            &team_b_config,
            &["cluster", "uncordon", "east", "--kcp-kubeconfig", team_a_flag],
        )
        .ok()?;
    assert_eq!(run.stdout, "clusterregistration.tmc.kcp.io/east uncordoned\n");
    assert_eq!(unschedulable()?, false);

    // Failures: exit 1, a message that says what to do, nothing written.
    let run = register(&team_a_config, &["--context", "nope"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr,
        format!("error: {physical} has no context \"nope\"; contexts: east\n")
    );
    let run = register(&team_b_config, &[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(
            "error: the workspace has no tmc.kcp.io API: bind the tmc.kcp.io APIExport first (see README)"
        ),
        "{run:?}"
    );
    let team_b = kcp.kubectl_at(UNBOUND);
    assert!(
        !team_b.run(&["get", "namespace", "tmc-system"], None).success,
        "nothing is written"
    );
    let run = plugin.run(&team_b_config, &["cluster", "cordon", "east"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("the workspace has no tmc.kcp.io API"),
        "{run:?}"
    );
    let run = plugin.run(&team_a_config, &["cluster", "cordon", "west"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr,
        "error: Error from server (NotFound): clusterregistrations.tmc.kcp.io \"west\" not found\n"
    );

    // Deregister keeps a Secret that register did not create.
    team_a.apply(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: handmade\n  namespace: tmc-system\n\
         stringData:\n  kubeconfig: x\n",
    )?;
    team_a.apply(
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: north\n\
         spec:\n  location: eu-north\n  kubeconfigSecretRef: {name: handmade, namespace: tmc-system}\n",
    )?;
    let run = plugin
        .run(&team_a_config, &["cluster", "deregister", "north"])
        .ok()?;
    assert_eq!(
        run.stdout,
        "clusterregistration.tmc.kcp.io/north deleted\nsecret tmc-system/handmade kept: it lacks label \
         tmc.kcp.io/cluster=north, so kubectl tmc did not create it\n"
    );
    team_a.ok(&["get", "secret", "-n", "tmc-system", "handmade"])?;

    // Deregister waits for finalizers and keeps the Secret until the registration is gone;
    // running it again afterwards finishes the job.
    team_a.ok(&[
        "patch",
        "clusterregistration",
        "east",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["tmc.kcp.io/test-hold"]}}"#,
    ])?;
    let run = plugin.run(
        &team_a_config,
        &["cluster", "deregister", "east", "--timeout", "2s"],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("is still being deleted after 2s (finalizers: tmc.kcp.io/test-hold)")
            && run.stderr.contains("secret tmc-system/east-kubeconfig is kept"),
        "{run:?}"
    );
    team_a.ok(&["get", "secret", "-n", "tmc-system", "east-kubeconfig"])?;
    team_a.ok(&[
        "patch",
        "clusterregistration",
        "east",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])?;
    let run = plugin
        .run(&team_a_config, &["cluster", "deregister", "east"])
        .ok()?;
    assert_eq!(
        run.stdout,
        "clusterregistration.tmc.kcp.io/east already gone\nsecret tmc-system/east-kubeconfig deleted\n"
    );

    // A full deregister removes both, and a second one reports NotFound.
    register(&team_a_config, &[]).ok()?;
    let run = plugin
        .run(&team_a_config, &["cluster", "deregister", "east"])
        .ok()?;
    assert_eq!(
        run.stdout,
        "clusterregistration.tmc.kcp.io/east deleted\nsecret tmc-system/east-kubeconfig deleted\n"
    );
    let gone = |args: &[&str]| {
        let out = team_a.run(args, None);
        !out.success && out.stderr.contains("NotFound")
    };
    assert!(gone(&["get", "clusterregistration", "east"]));
    assert!(gone(&["get", "secret", "-n", "tmc-system", "east-kubeconfig"]));
    let run = plugin.run(&team_a_config, &["cluster", "deregister", "east"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("clusterregistrations.tmc.kcp.io \"east\" not found"),
        "{run:?}"
    );
    Ok(())
}
