//! Benchmark: sync latency against its floor, and whether a hung cluster
//! slows the others, measured in one run on one machine with a real kcp, two
//! real kube-apiservers and tmc-server.
//!
//! - floor: a ConfigMap written to kcp, seen through a kcp watch, and one
//!   Deployment created on a physical cluster in reaction (what any syncer
//!   must at least do);
//! - TMC: a Deployment written to kcp until its copy is seen on the physical
//!   cluster (placement decided and recorded in kcp first, then applied);
//! - a Spread workload's copy on cluster a, with b healthy and then with b's
//!   apiserver frozen (SIGSTOP: connections hang rather than fail).
//!
//! Rounds are sequential and interleaved (floor, TMC) so machine noise hits
//! both alike.
//!
//! Usage: cargo build --workspace --bins && target/debug/tmc-bench-sync [--rounds 200]
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DynamicObject, PostParams, WatchEvent, WatchParams};
use kube::discovery::ApiResource;
use serde_json::json;
use tmc_harness::credentials::client_from;
use tmc_harness::kubectl::{register_cluster, wait_clusters_ready};
use tmc_harness::{components, Etcd, KcpServer, PhysicalCluster, StackDir, TmcServer};

const MANAGED: &str = "tmc.kcp.io/managed-by=tmc-server";

/// When each name was first seen.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

fn deployments() -> ApiResource {
    ApiResource {
        group: "apps".into(),
        version: "v1".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        plural: "deployments".into(),
    }
}

fn config_maps() -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        plural: "configmaps".into(),
    }
}

fn deployment(name: &str, namespace: &str, app: &str) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"name": name}},
            "template": {"metadata": {"labels": {"name": name}},
                "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}}))
    .expect("a valid Deployment")
}

/// Calls `on_added` with each added object's name, re-watching as watches end.
async fn watch_added(api: Api<DynamicObject>, params: WatchParams, on_added: impl Fn(String) + Send) {
    watch_objects(api, params, move |o, added| {
        if added {
            on_added(o.metadata.name.clone().unwrap_or_default());
        }
    })
    .await
}

/// Calls `seen` with each added (`true`) or modified object, re-watching as watches end.
async fn watch_objects(
    api: Api<DynamicObject>,
    params: WatchParams,
    seen: impl Fn(&DynamicObject, bool) + Send,
) {
    let mut version = "0".to_owned();
    loop {
        let Ok(stream) = api.watch(&params, &version).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        futures::pin_mut!(stream);
        while let Some(Ok(event)) = stream.next().await {
            match event {
                WatchEvent::Added(o) => {
                    version = o.metadata.resource_version.clone().unwrap_or(version);
                    seen(&o, true);
                }
                WatchEvent::Modified(o) => {
                    version = o.metadata.resource_version.clone().unwrap_or(version);
                    seen(&o, false);
                }
                WatchEvent::Deleted(o) => {
                    version = o.metadata.resource_version.unwrap_or(version);
                }
                WatchEvent::Bookmark(b) => version = b.metadata.resource_version,
                WatchEvent::Error(_) => break,
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut v: Vec<Duration>, floor: Option<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
    let ratio = floor.map(|f| format!("   ({:.2}x the floor's p50)", p50.as_secs_f64() / f.as_secs_f64()));
    println!(
        "  {name:<46} p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms{}",
        ms(p50),
        ms(p99),
        ms(*v.last().unwrap_or(&Duration::ZERO)),
        ratio.unwrap_or_default()
    );
}

/// Waits until `name` has arrived, returning the time from `since`.
async fn arrival(arrivals: &Arrivals, name: &str, since: Instant) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(t) = arrivals.lock().expect("arrivals").get(name) {
            return Ok(t.saturating_duration_since(since));
        }
        anyhow::ensure!(Instant::now() < deadline, "{name} did not arrive within 60s");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!(
            "tmc-bench-sync [--rounds R]: sync latency p50/p99 next to its floor, and with a frozen cluster"
        );
        return Ok(());
    }
    let rounds: usize = tmc_harness::flag_value("--rounds", 200);
    tokio::runtime::Runtime::new()?.block_on(run(rounds))
}

async fn run(rounds: usize) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let dir = StackDir::new("bench-sync")?;
    eprintln!("[bench] starting kcp and two kube-apiservers");
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let a = PhysicalCluster::start(&bins, &etcd, dir.path(), "a")?;
    let b = PhysicalCluster::start(&bins, &etcd, dir.path(), "b")?;
    kcp.setup_provider_and_tenants("root:tmc", &["root:bench"])?;
    let tenant_kubeconfig = kcp.kubeconfig_at("root:bench", &dir.path().join("bench.kubeconfig"))?;
    let tmc_bin = std::env::current_exe()?.with_file_name("tmc-server");
    // A long heartbeat threshold keeps the frozen cluster in Spread decisions:
    // the point is to see whether syncing to it slows syncing to the other.
    let tmc_server = TmcServer::start(
        &tmc_bin,
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[
            "--log-level=warn",
            "--probe-interval=1s",
            "--heartbeat-threshold=10m",
        ],
    )?;
    let plugin = std::env::current_exe()?.with_file_name("kubectl-tmc");
    for (c, location) in [(&a, "lab-a"), (&b, "lab-b")] {
        register_cluster(
            &bins.kubectl,
            &plugin,
            &tenant_kubeconfig,
            &c.name,
            &c.kubeconfig,
            location,
            &[],
        )?;
    }
    let k = kcp.kubectl_at("root:bench");
    for ns in ["floor", "one", "spread"] {
        k.apply(&format!(
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{ns}"}}}}"#
        ))?;
    }
    k.apply(
        r#"{"apiVersion":"tmc.kcp.io/v1alpha1","kind":"WorkloadPlacement","metadata":{"name":"spread"},
            "spec":{"strategy":"Spread","numberOfClusters":2,"workloadSelector":{"matchLabels":{"app":"spread"}}}}"#,
    )?;
    wait_clusters_ready(&k, 2, Duration::from_secs(60))?;
    a.kubectl
        .apply(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench-floor"}}"#)?;

    let kcp_client = client_from(&tenant_kubeconfig).await?;
    let a_client = client_from(&a.kubeconfig).await?;
    let b_client = client_from(&b.kubeconfig).await?;
    let arrivals: HashMap<&str, Arrivals> = [
        ("a", Arrivals::default()),
        ("b", Arrivals::default()),
        ("floor", Arrivals::default()),
        ("decided", Arrivals::default()),
    ]
    .into();
    // When each decision shows up in kcp (the annotation TMC writes before syncing).
    {
        let seen = arrivals["decided"].clone();
        let api: Api<DynamicObject> = Api::namespaced_with(kcp_client.clone(), "one", &deployments());
        tokio::spawn(watch_objects(api, WatchParams::default(), move |o, _| {
            let decided = o
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("tmc.kcp.io/placement"));
            if decided {
                let name = o.metadata.name.clone().unwrap_or_default();
                seen.lock()
                    .expect("arrivals")
                    .entry(name)
                    .or_insert_with(Instant::now);
            }
        }));
    }
    for (name, client) in [("a", &a_client), ("b", &b_client)] {
        let seen = arrivals[name].clone();
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &deployments());
        tokio::spawn(watch_added(
            api,
            WatchParams::default().labels(MANAGED),
            move |n| {
                seen.lock()
                    .expect("arrivals")
                    .entry(n)
                    .or_insert_with(Instant::now);
            },
        ));
    }
    // The floor: kcp watch delivery, then one create on cluster a.
    {
        let seen = arrivals["floor"].clone();
        let create_on_a: Api<DynamicObject> =
            Api::namespaced_with(a_client.clone(), "bench-floor", &deployments());
        let api: Api<DynamicObject> = Api::namespaced_with(kcp_client.clone(), "floor", &config_maps());
        tokio::spawn(watch_added(api, WatchParams::default(), move |n| {
            let (seen, create_on_a) = (seen.clone(), create_on_a.clone());
            tokio::spawn(async move {
                if create_on_a
                    .create(&PostParams::default(), &deployment(&n, "bench-floor", "floor"))
                    .await
                    .is_ok()
                {
                    seen.lock().expect("arrivals").insert(n, Instant::now());
                }
            });
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kcp_cms: Api<DynamicObject> = Api::namespaced_with(kcp_client.clone(), "floor", &config_maps());
    let kcp_one: Api<DynamicObject> = Api::namespaced_with(kcp_client.clone(), "one", &deployments());
    let kcp_spread: Api<DynamicObject> = Api::namespaced_with(kcp_client.clone(), "spread", &deployments());

    eprintln!("[bench] {rounds} rounds: floor and TMC, interleaved");
    let (mut floor, mut tmc, mut decided, mut applied) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds + 5 {
        let name = format!("f-{i}");
        let cm: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "floor"}}))?;
        let t0 = Instant::now();
        kcp_cms.create(&PostParams::default(), &cm).await?;
        let f = arrival(&arrivals["floor"], &name, t0).await?;
        let name = format!("d-{i}");
        let t0 = Instant::now();
        kcp_one
            .create(&PostParams::default(), &deployment(&name, "one", "one"))
            .await?;
        let at = tokio::select! {
            r = arrival(&arrivals["a"], &name, t0) => r?,
            r = arrival(&arrivals["b"], &name, t0) => r?,
        };
        // The first rounds warm connections and caches.
        if i >= 5 {
            let d = arrival(&arrivals["decided"], &name, t0).await?;
            floor.push(f);
            tmc.push(at);
            decided.push(d);
            applied.push(at.saturating_sub(d));
        }
    }
    let spread_rounds = (rounds / 4).max(10);
    eprintln!("[bench] {spread_rounds} Spread rounds with both clusters healthy");
    let mut healthy = Vec::new();
    for i in 0..spread_rounds {
        let name = format!("s-{i}");
        let t0 = Instant::now();
        kcp_spread
            .create(&PostParams::default(), &deployment(&name, "spread", "spread"))
            .await?;
        healthy.push(arrival(&arrivals["a"], &name, t0).await?);
        arrival(&arrivals["b"], &name, t0).await?;
    }
    let pid = b
        .process
        .pid()
        .ok_or_else(|| anyhow::anyhow!("b's apiserver has no pid"))?;
    std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()?;
    eprintln!("[bench] b's apiserver frozen (SIGSTOP); {spread_rounds} Spread rounds");
    let mut frozen = Vec::new();
    for i in 0..spread_rounds {
        let name = format!("z-{i}");
        let t0 = Instant::now();
        kcp_spread
            .create(&PostParams::default(), &deployment(&name, "spread", "spread"))
            .await?;
        frozen.push(arrival(&arrivals["a"], &name, t0).await?);
    }
    std::process::Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status()?;

    let mut sorted = floor.clone();
    sorted.sort();
    let f50 = percentile(&sorted, 0.5);
    println!("Sync latency, {rounds} sequential rounds each (one run, one machine):");
    report("floor: kcp watch delivery + one physical create", floor, None);
    report("TMC: kcp write → copy on the chosen cluster", tmc, Some(f50));
    report("  of which: kcp write → decision seen in kcp", decided, None);
    report("  of which: decision seen → copy on the cluster", applied, None);
    println!("A Spread workload's copy on cluster a, {spread_rounds} rounds each:");
    report("b healthy", healthy, Some(f50));
    report("b frozen (SIGSTOP)", frozen, Some(f50));
    // How much of the latency is the decisions controller's own work.
    let metrics = tmc_server.kubectl.ok(&["get", "--raw", "/metrics"])?;
    let value = |name: &str| {
        tmc_harness::metric_samples(&metrics, name)
            .next()
            .map_or(0.0, |(_, v)| v)
    };
    let (count, sum) = (
        value("tmc_placement_round_duration_seconds_count"),
        value("tmc_placement_round_duration_seconds_sum"),
    );
    println!(
        "Placement rounds: {count} in the run, mean {:.2} ms each (tmc_placement_round_duration_seconds)",
        if count > 0.0 { sum / count * 1000.0 } else { 0.0 }
    );
    Ok(())
}
