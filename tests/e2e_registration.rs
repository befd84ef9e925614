//! Cluster registration, health and capacity against two real kube-apiservers:
//! register with `kubectl tmc cluster register`, both become Ready with
//! capacity from their Nodes; a stopped apiserver turns NotReady within the
//! heartbeat threshold and Ready again when it returns; a bad kubeconfig
//! gives CredentialsValid=False with a clear message, and no credential byte
//! appears in status or in tmc-server's log.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tmc_harness::kubectl::run_plugin;
use tmc_harness::{components, wait_for, Etcd, KcpServer, PhysicalCluster, StackDir, TmcServer};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";
const THRESHOLD_SECS: u64 = 8;

#[test]
fn registered_clusters_report_health_and_capacity() {
    let dir = StackDir::new("registration").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn is(obj: &Value, kind: &str, status: &str) -> bool {
    condition(obj, kind).is_some_and(|c| c["status"] == status)
}

/// `kubectl tmc ...` with the built plugin (see `tmc_harness::kubectl::run_plugin`).
fn plugin(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    run_plugin(
        kubectl,
        Path::new(env!("CARGO_BIN_EXE_kubectl-tmc")),
        kubeconfig,
        args,
    )
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let east = PhysicalCluster::start(&bins, &etcd, dir.path(), "east")?;
    let mut west = PhysicalCluster::start(&bins, &etcd, dir.path(), "west")?;
    east.add_node("east-1", "4", "16Gi")?;
    east.add_node("east-2", "4", "16Gi")?;
    west.add_node("west-1", "2", "8Gi")?;

    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    // A kubeconfig whose current context is the tenant workspace, as a user has.
    let tenant_kubeconfig = kcp.kubeconfig_at(TENANT, &dir.path().join("team-a.kubeconfig"))?;

    let tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[
            "--probe-interval=1s",
            &format!("--heartbeat-threshold={THRESHOLD_SECS}s"),
            "--probe-timeout=2s",
        ],
    )?;

    for (c, loc) in [(&east, "us-east"), (&west, "us-west")] {
        let (ok, out) = plugin(
            &bins.kubectl,
            &tenant_kubeconfig,
            &[
                "cluster",
                "register",
                &c.name,
                "--kubeconfig",
                c.kubeconfig.to_str().unwrap(),
                "--location",
                loc,
                "--label",
                "tier=prod",
            ],
        );
        anyhow::ensure!(ok, "register {}: {out}", c.name);
        anyhow::ensure!(!out.contains(&c.token()), "register printed a token");
    }
    let in_kcp = kcp.kubectl_at(TENANT);
    let view = tmc.kubectl_at(TENANT);

    // Both become Ready, in kcp and in the view, with capacity from their Nodes.
    for name in ["east", "west"] {
        wait_for(&format!("{name} Ready in kcp"), Duration::from_secs(60), || {
            let o = in_kcp.get_json(&["clusterregistration", name]).ok()?;
            (is(&o, "Ready", "True")
                && is(&o, "CredentialsValid", "True")
                && is(&o, "APIsCompatible", "True"))
            .then_some(())
        })?;
    }
    let east_obj = in_kcp.get_json(&["clusterregistration", "east"])?;
    anyhow::ensure!(
        east_obj["status"]["allocatable"]["cpu"] == "8",
        "east cpu: {}",
        east_obj["status"]
    );
    anyhow::ensure!(
        east_obj["status"]["kubernetesVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1.34")),
        "{}",
        east_obj["status"]
    );
    let table = view.ok(&["get", "clusterregistrations"])?;
    eprintln!("{table}");
    let header = table.lines().next().unwrap_or_default();
    for col in ["LOCATION", "READY", "HEARTBEAT", "CAPACITY", "WORKLOADS"] {
        anyhow::ensure!(header.contains(col), "missing {col}: {table}");
    }
    anyhow::ensure!(table.contains("cpu 8"), "capacity not shown: {table}");
    let wide = view.ok(&["get", "clusterregistrations", "-o", "wide"])?;
    anyhow::ensure!(wide.contains("v1.34") && wide.contains("tier"), "wide: {wide}");

    // Stop west: NotReady within the threshold (+ one probe round).
    west.stop();
    let stopped = Instant::now();
    wait_for(
        "west NotReady in the view",
        Duration::from_secs(THRESHOLD_SECS * 4),
        || {
            let o = view.get_json(&["clusterregistration", "west"]).ok()?;
            is(&o, "Ready", "False").then_some(())
        },
    )?;
    let detected = stopped.elapsed();
    eprintln!(
        "[registration] dead cluster detected NotReady after {:.1}s (threshold {THRESHOLD_SECS}s)",
        detected.as_secs_f64()
    );
    wait_for("west NotReady in kcp", Duration::from_secs(20), || {
        let o = in_kcp.get_json(&["clusterregistration", "west"]).ok()?;
        (is(&o, "Ready", "False") && is(&o, "HeartbeatHealthy", "False")).then_some(())
    })?;
    anyhow::ensure!(
        is(
            &in_kcp.get_json(&["clusterregistration", "east"])?,
            "Ready",
            "True"
        ),
        "east must stay Ready"
    );

    // Start it again: Ready.
    west.restart()?;
    wait_for("west Ready again", Duration::from_secs(60), || {
        let o = in_kcp.get_json(&["clusterregistration", "west"]).ok()?;
        is(&o, "Ready", "True").then_some(())
    })?;

    // A bad kubeconfig: CredentialsValid=False with a clear message, no bytes.
    let bad = dir.path().join("bad.kubeconfig");
    let secret_token = "sEcReT-tOkEn-1234567890";
    std::fs::write(
        &bad,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: {secret_token}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n", east.port),
    )?;
    let (ok, out) = plugin(
        &bins.kubectl,
        &tenant_kubeconfig,
        &[
            "cluster",
            "register",
            "broken",
            "--kubeconfig",
            bad.to_str().unwrap(),
            "--location",
            "nowhere",
        ],
    );
    anyhow::ensure!(ok, "register broken: {out}");
    anyhow::ensure!(!out.contains(secret_token), "the plugin printed the token");
    let broken = wait_for("broken CredentialsValid=False", Duration::from_secs(60), || {
        let o = in_kcp.get_json(&["clusterregistration", "broken"]).ok()?;
        is(&o, "CredentialsValid", "False").then_some(o)
    })?;
    let cond = condition(&broken, "CredentialsValid")
        .cloned()
        .unwrap_or_default();
    eprintln!(
        "[registration] bad kubeconfig: {} — {}",
        cond["reason"], cond["message"]
    );
    anyhow::ensure!(cond["reason"] == "Unauthorized", "{cond}");
    anyhow::ensure!(!broken.to_string().contains(secret_token), "token in status");

    // No credential in tmc-server's log, in status, or in the view.
    let all_view = view.ok(&["get", "clusterregistrations", "-o", "yaml"])?;
    let tokens = [east.token(), west.token(), secret_token.to_owned()];
    for t in &tokens {
        anyhow::ensure!(!all_view.contains(t), "a token is in the view");
    }
    tmc.assert_log_free_of(&kcp, &tokens.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(())
}
