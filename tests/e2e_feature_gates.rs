//! Feature gates switch real capabilities off, end to end: TMC=false leaves
//! kcp untouched and serves nothing; TMCViews=false serves no views while
//! decisions are still recorded; TMCStatusAggregation=false syncs the workload
//! but writes no status to kcp; TMCPlacementStrategies=false places every
//! policy RoundRobin; TMCFailover=false keeps workloads on a cluster NotReady
//! past the toleration.

use std::path::Path;
use std::time::{Duration, Instant};

use tmc_harness::kubectl::run_plugin;
use tmc_harness::{components, wait_for, Etcd, KcpServer, Kubectl, PhysicalCluster, StackDir, TmcServer};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";
const ANNOTATION: &str = "tmc.kcp.io/placement";

#[test]
fn disabled_gates_disable_their_capability() {
    let dir = StackDir::new("gates").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn start(
    kcp: &KcpServer,
    kubectl: &Path,
    dir: &Path,
    name: &str,
    args: &[&str],
) -> anyhow::Result<TmcServer> {
    let d = dir.join(name);
    std::fs::create_dir_all(&d)?;
    TmcServer::start(env!("CARGO_BIN_EXE_tmc-server").as_ref(), kcp, kubectl, &d, args)
}

fn recorded(k: &Kubectl) -> Option<String> {
    let d = k.get_json(&["deployment", "web", "-n", "default"]).ok()?;
    d["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .map(str::to_owned)
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let mut east = PhysicalCluster::start(&bins, &etcd, dir.path(), "east")?;
    east.add_node("east-node", "8", "32Gi")?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    let tenant = kcp.kubeconfig_at(TENANT, &dir.path().join("team-a.kubeconfig"))?;
    let plugin = Path::new(env!("CARGO_BIN_EXE_kubectl-tmc"));
    let (ok, out) = run_plugin(
        &bins.kubectl,
        plugin,
        &tenant,
        &[
            "cluster",
            "register",
            "east",
            "--kubeconfig",
            east.kubeconfig.to_str().unwrap(),
            "--location",
            "us-east",
        ],
    );
    anyhow::ensure!(ok, "register: {out}");
    let k = kcp.kubectl_at(TENANT);
    k.apply(r#"{"apiVersion":"tmc.kcp.io/v1alpha1","kind":"WorkloadPlacement","metadata":{"name":"spread"},"spec":{"strategy":"Spread","workloadSelector":{"matchLabels":{"app":"web"}}}}"#)?;
    k.apply(r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default","labels":{"app":"web"}},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10"}]}}}}"#)?;

    // TMC=false: nothing served, nothing written to kcp.
    let mut off = start(
        &kcp,
        &bins.kubectl,
        dir.path(),
        "tmc-off",
        &["--feature-gates=TMC=false", "--probe-interval=1s"],
    )?;
    let out = off.kubectl_at(TENANT).run(&["get", "clusterregistrations"], None);
    anyhow::ensure!(
        !out.success,
        "TMC=false still serves clusterregistrations: {}",
        out.stdout
    );
    std::thread::sleep(Duration::from_secs(5));
    anyhow::ensure!(recorded(&k).is_none(), "TMC=false wrote a placement decision");
    let reg = k.get_json(&["clusterregistration", "east"])?;
    anyhow::ensure!(
        reg["status"].is_null(),
        "TMC=false wrote a status: {}",
        reg["status"]
    );
    println!("TMC=false: no API served, no status or decision written in 5s");
    off.kill();

    // TMCViews=false: decisions recorded, no views served.
    // TMCStatusAggregation=false: the copy is made, kcp's .status is left alone.
    let mut no_views = start(
        &kcp,
        &bins.kubectl,
        dir.path(),
        "tmc-no-views",
        &[
            "--feature-gates=TMCViews=false,TMCStatusAggregation=false",
            "--probe-interval=1s",
            "--placement-interval=1s",
        ],
    )?;
    wait_for(
        "the decision recorded without views",
        Duration::from_secs(60),
        || recorded(&k),
    )?;
    for view in ["placements", "sharedclusters"] {
        let out = no_views.kubectl_at(TENANT).run(&["get", view, "-A"], None);
        anyhow::ensure!(
            !out.success && out.stderr.contains("doesn't have a resource type"),
            "TMCViews=false still serves {view}: {} {}",
            out.stdout,
            out.stderr
        );
    }
    println!(
        "TMCViews=false: decision recorded ({}), placements and sharedclusters not served",
        recorded(&k).unwrap_or_default()
    );
    let workspace = k.get_json(&["deployment", "web", "-n", "default"])?["metadata"]["annotations"]
        ["kcp.io/cluster"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pns = kcp_tmc::sync::naming::physical_namespace(&workspace, "default");
    wait_for("the copy on east", Duration::from_secs(60), || {
        east.kubectl.get_json(&["deployment", "web", "-n", &pns]).ok()
    })?;
    std::thread::sleep(Duration::from_secs(5));
    let status = &k.get_json(&["deployment", "web", "-n", "default"])?["status"];
    anyhow::ensure!(
        status.is_null() || status == &serde_json::json!({}),
        "TMCStatusAggregation=false wrote a status: {status}"
    );
    println!("TMCStatusAggregation=false: copy made in {pns} on east, kcp .status untouched for 5s");
    no_views.kill();

    // TMCPlacementStrategies=false and TMCFailover=false.
    let tmc = start(
        &kcp,
        &bins.kubectl,
        dir.path(),
        "tmc-no-failover",
        &[
            "--feature-gates=TMCPlacementStrategies=false,TMCFailover=false",
            "--probe-interval=1s",
            "--heartbeat-threshold=3s",
            "--probe-timeout=1s",
            "--not-ready-toleration=2s",
            "--placement-interval=1s",
        ],
    )?;
    let view = tmc.kubectl_at(TENANT);
    let strategy = wait_for("the placement view", Duration::from_secs(30), || {
        let p = view
            .get_json(&["placement", "deployment-web", "-n", "default"])
            .ok()?;
        p["spec"]["strategy"].as_str().map(str::to_owned)
    })?;
    anyhow::ensure!(
        strategy == "RoundRobin",
        "policy 'spread' placed with {strategy} although strategies are off"
    );
    // With aggregation on again, the kcp object gets its status.
    wait_for(
        "kcp .status with the Synced condition",
        Duration::from_secs(60),
        || {
            let d = k.get_json(&["deployment", "web", "-n", "default"]).ok()?;
            let conditions = d["status"]["conditions"].as_array()?.clone();
            conditions.iter().any(|c| c["type"] == "Synced").then_some(())
        },
    )?;
    let before = recorded(&k);
    let stopped = Instant::now();
    east.stop();
    wait_for("east NotReady", Duration::from_secs(30), || {
        let o = view.get_json(&["clusterregistration", "east"]).ok()?;
        let not_ready = o["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] != "True");
        not_ready.then_some(())
    })?;
    // Well past threshold + toleration: failover would have emptied the decision by now.
    std::thread::sleep(Duration::from_secs(6));
    let after = recorded(&k);
    anyhow::ensure!(
        before == after,
        "TMCFailover=false moved the workload: {before:?} -> {after:?}"
    );
    println!(
        "TMCPlacementStrategies=false: Spread policy placed RoundRobin; TMCFailover=false: {:.0}s after east died the decision is unchanged",
        stopped.elapsed().as_secs_f64()
    );
    tmc.assert_log_free_of(&kcp, &[&east.token()])?;
    Ok(())
}
