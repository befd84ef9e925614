//! `tmc-up`: the whole of kcp-tmc on this machine, for trying it out. Starts a
//! real kcp, one physical cluster (kube-apiserver and kube-controller-manager
//! over etcd) and tmc-server on
//! loopback, sets up the provider workspace `root:tmc` and a tenant workspace
//! `root:team-a`, writes a kubeconfig, prints what to try, and stops
//! everything on Ctrl-C.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use tmc_harness::{components, Etcd, KcpServer, PhysicalCluster, StackDir, TmcServer};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";

fn step(started: Instant, what: &str) {
    eprintln!("[tmc-up {:>5.1}s] {what}", started.elapsed().as_secs_f64());
}

fn main() {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!(
            "tmc-up: run kcp + one physical cluster + tmc-server locally.\n\n\
             Usage: make up   (or: cargo build --workspace --bins && target/debug/tmc-up)\n\n\
             Everything listens on 127.0.0.1 only. State and logs go to ./.tmc-up/ (recreated on\n\
             every start). Ctrl-C stops every process. The real binaries are built on first use\n\
             into ~/.cache/kcp-tmc (set KCP_TMC_CACHE to move it); that takes 10+ minutes once."
        );
        return;
    }
    if let Err(e) = run() {
        eprintln!("tmc-up: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let t = Instant::now();
    step(
        t,
        "checking the real kcp, kube-apiserver, etcd and kubectl binaries (building any that are missing)",
    );
    let bins = components::ensure()?;
    let tmc_binary = std::env::current_exe()?.with_file_name("tmc-server");
    anyhow::ensure!(
        tmc_binary.exists(),
        "{} is missing: build it with `cargo build --workspace --bins` (or use `make up`)",
        tmc_binary.display()
    );
    let state = PathBuf::from(".tmc-up");
    let _ = std::fs::remove_dir_all(&state);
    std::fs::create_dir_all(&state)?;
    let dir = StackDir::new("up")?;
    let path = dir.path().to_owned();
    // The stack lives in a temp dir; ./.tmc-up holds the user-facing files.
    std::os::unix::fs::symlink(&path, state.join("stack")).ok();

    step(t, "starting kcp");
    let kcp = KcpServer::start(&bins, &path)?;
    step(
        t,
        "starting the physical cluster \"east\" (etcd + kube-apiserver + kube-controller-manager)",
    );
    let etcd = Etcd::start(&bins, &path)?;
    let east = PhysicalCluster::start(&bins, &etcd, &path, "east")?;
    east.add_node("east-node", "8", "32Gi")?;
    // Its deployment controller gives synced Deployments real status.
    let controller_manager = east.start_controller_manager(&bins)?;

    step(
        t,
        &format!("creating {PROVIDER} (installing apis/) and {TENANT} (binding the exports)"),
    );
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;

    step(
        t,
        "registering the physical cluster \"east\" in the tenant workspace",
    );
    let tenant = kcp.kubectl_at(TENANT);
    // tmc-server reads the kubeconfig from kcp, so it must carry its CA inline
    // (what `kubectl tmc cluster register` does for users).
    let flat = east.kubectl.ok(&["config", "view", "--raw", "--flatten"])?;
    let flat_path = path.join("east-flat.kubeconfig");
    std::fs::write(&flat_path, flat)?;
    let kubeconfig_path = flat_path.to_str().expect("utf-8 path").to_owned();
    let secret = tenant.ok(&[
        "create",
        "secret",
        "generic",
        "east-kubeconfig",
        "-n",
        "default",
        &format!("--from-file=kubeconfig={kubeconfig_path}"),
        "--dry-run=client",
        "-o",
        "yaml",
    ])?;
    tenant.apply(&secret)?;
    tenant.apply(
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: east\n  labels:\n    tier: prod\nspec:\n  location: us-east\n  kubeconfigSecretRef:\n    name: east-kubeconfig\n    namespace: default\n",
    )?;

    step(t, "starting tmc-server");
    let tmc = TmcServer::start(&tmc_binary, &kcp, &bins.kubectl, &path, &[])?;

    step(t, "waiting for tmc-server to find \"east\" Ready");
    tmc_harness::wait_for("east Ready", std::time::Duration::from_secs(120), || {
        let r = tenant.get_json(&["clusterregistration", "east"]).ok()?;
        let ready = r["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        ready.then_some(())
    })?;

    let kubeconfig = std::fs::canonicalize(&state)?.join("kubeconfig");
    write_kubeconfig(&kubeconfig, &kcp, &tmc, &east)?;
    let kc = kubeconfig.display();
    let kubectl = bins.kubectl.display();
    step(t, "ready");
    println!(
        "\nkcp-tmc is running. Logs: {logs}\n\n\
         export KUBECONFIG={kc}\n\
         alias kubectl={kubectl}   # the kubectl built for the tests (any recent kubectl works)\n\n\
         # tmc-server's view of the tenant workspace {TENANT} (context \"tmc\"):\n\
         kubectl get clusterregistrations\n\
         kubectl get cr east -o yaml\n\n\
         # every workspace at once (admin wildcard):\n\
         kubectl --context tmc-all get clusterregistrations\n\n\
         # kcp itself, the same workspace (context \"kcp\"), and the physical cluster (\"east\"):\n\
         kubectl --context kcp get clusterregistrations\n\
         kubectl --context east get namespaces\n\n\
         # a workload in kcp, synced to east (docs/getting-started.md):\n\
         kubectl --context kcp apply --server-side -f docs/examples/hello.yaml\n\
         kubectl get placements\n\n\
         Press Ctrl-C to stop everything.",
        logs = state.join("stack").display()
    );

    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })?;
    let _ = rx.recv();
    eprintln!("\n[tmc-up] stopping tmc-server, kcp, kube-apiserver and etcd");
    drop(tmc);
    drop(controller_manager);
    drop(east);
    drop(etcd);
    drop(kcp);
    drop(dir);
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

fn write_kubeconfig(
    path: &std::path::Path,
    kcp: &KcpServer,
    tmc: &TmcServer,
    east: &PhysicalCluster,
) -> anyhow::Result<()> {
    // Start from kcp's admin kubeconfig and add contexts, using kubectl itself.
    std::fs::copy(&kcp.admin_kubeconfig, path)?;
    let k = tmc_harness::Kubectl {
        binary: tmc.kubectl.binary.clone(),
        kubeconfig: path.to_owned(),
        server: None,
    };
    let tmc_ca = tmc.kubeconfig.with_file_name("ca.crt");
    let ca = tmc_ca.to_str().expect("utf-8 path");
    k.ok(&[
        "config",
        "set-cluster",
        "tmc",
        &format!("--server={}", tmc.url(TENANT)),
        &format!("--certificate-authority={ca}"),
        "--embed-certs",
    ])?;
    k.ok(&[
        "config",
        "set-cluster",
        "tmc-all",
        &format!("--server={}", tmc.url("*")),
        &format!("--certificate-authority={ca}"),
        "--embed-certs",
    ])?;
    // tmc-server acts for kcp users: the same kcp token serves both.
    k.ok(&[
        "config",
        "set-credentials",
        "tmc-user",
        &format!("--token={}", kcp.admin_token()?),
    ])?;
    k.ok(&["config", "set-context", "tmc", "--cluster=tmc", "--user=tmc-user"])?;
    k.ok(&[
        "config",
        "set-context",
        "tmc-all",
        "--cluster=tmc-all",
        "--user=tmc-user",
    ])?;
    k.ok(&[
        "config",
        "set-cluster",
        "kcp-team-a",
        &format!("--server={}", kcp.url(TENANT)),
    ])?;
    // kcp's admin kubeconfig embeds its CA under the "root" cluster; reuse it.
    let root_ca = k.ok(&[
        "config",
        "view",
        "--raw",
        "-o",
        "jsonpath={.clusters[?(@.name==\"root\")].cluster.certificate-authority-data}",
    ])?;
    k.ok(&[
        "config",
        "set",
        "clusters.kcp-team-a.certificate-authority-data",
        root_ca.trim(),
    ])?;
    k.ok(&[
        "config",
        "set-context",
        "kcp",
        "--cluster=kcp-team-a",
        "--user=kcp-admin",
    ])?;
    let east_k = tmc_harness::Kubectl {
        binary: tmc.kubectl.binary.clone(),
        kubeconfig: east.kubeconfig.clone(),
        server: None,
    };
    let flat = east_k.ok(&["config", "view", "--raw", "--flatten"])?;
    let east_flat = path.with_file_name("east.kubeconfig");
    std::fs::write(&east_flat, flat)?;
    let env_merge = std::process::Command::new(&tmc.kubectl.binary)
        .args(["config", "view", "--raw", "--flatten"])
        .env(
            "KUBECONFIG",
            format!("{}:{}", path.display(), east_flat.display()),
        )
        .output()?;
    anyhow::ensure!(env_merge.status.success(), "merging kubeconfigs failed");
    std::fs::write(path, env_merge.stdout)?;
    k.ok(&["config", "use-context", "tmc"])?;
    Ok(())
}
