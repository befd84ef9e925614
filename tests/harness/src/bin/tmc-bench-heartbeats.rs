//! Benchmark: kcp writes caused by healthy clusters. Registers N clusters
//! (alternating between two real kube-apiservers, so every probe is real),
//! waits until all are Ready, then counts tmc-server's status writes to kcp
//! over a window. With write coalescing, a healthy cluster costs one write
//! per --heartbeat-write-interval instead of one per probe.
//!
//! Usage: cargo build --workspace --bins && target/debug/tmc-bench-heartbeats [--clusters 50] [--minutes 3]
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use tmc_harness::{components, wait_for, Etcd, KcpServer, PhysicalCluster, StackDir, TmcServer};

fn writes(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("status written")
        .count()
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("tmc-bench-heartbeats [--clusters N] [--minutes M]: kcp status writes per minute from N healthy clusters");
        return Ok(());
    }
    let n = tmc_harness::flag_value("--clusters", 50);
    let minutes = tmc_harness::flag_value("--minutes", 3);
    let bins = components::ensure()?;
    let dir = StackDir::new("bench-heartbeats")?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let physical = [
        PhysicalCluster::start(&bins, &etcd, dir.path(), "east")?,
        PhysicalCluster::start(&bins, &etcd, dir.path(), "west")?,
    ];
    kcp.setup_provider_and_tenants("root:tmc", &["root:fleet"])?;
    let k = kcp.kubectl_at("root:fleet");
    let mut docs = String::new();
    for c in &physical {
        let secret = c
            .kubectl
            .ok(&["config", "view", "--raw", "--flatten", "--minify"])?;
        let created = k.ok_stdin(
            &[
                "create",
                "secret",
                "generic",
                &format!("{}-kubeconfig", c.name),
                "-n",
                "default",
                "--from-file=kubeconfig=/dev/stdin",
                "--dry-run=client",
                "-o",
                "yaml",
            ],
            Some(&secret),
        )?;
        docs.push_str("---\n");
        docs.push_str(&created);
    }
    for i in 0..n {
        let target = &physical[(i % 2) as usize].name;
        docs.push_str(&format!(
            "---\napiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: c{i:03}\nspec:\n  location: {target}\n  kubeconfigSecretRef:\n    name: {target}-kubeconfig\n    namespace: default\n"
        ));
    }
    k.ok_stdin(&["create", "-f", "-"], Some(&docs))?;
    let tmc_bin = std::env::current_exe()?.with_file_name("tmc-server");
    let started = Instant::now();
    let tmc = TmcServer::start(&tmc_bin, &kcp, &bins.kubectl, dir.path(), &[])?;
    wait_for("every registration Ready", Duration::from_secs(300), || {
        let list = k.get_json(&["clusterregistrations"]).ok()?;
        let ready = list["items"]
            .as_array()?
            .iter()
            .filter(|o| {
                o["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
            .count();
        (ready as u64 == n).then_some(())
    })?;
    let to_ready = started.elapsed();
    let before = writes(&tmc.process.log);
    std::thread::sleep(Duration::from_secs(minutes * 60));
    let during = writes(&tmc.process.log) - before;
    println!("{n} healthy clusters, probe interval 10s, heartbeat write interval 5m (defaults):");
    println!(
        "  all Ready {:.1}s after tmc-server started; {before} status writes to get there",
        to_ready.as_secs_f64()
    );
    println!(
        "  steady state: {during} status writes in {minutes} min = {:.1} writes/min (probes: {} per min)",
        during as f64 / minutes as f64,
        n * 6
    );
    Ok(())
}
