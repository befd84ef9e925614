//! Benchmark: latency of `kubectl get` listing N ClusterRegistrations from
//! tmc-server, next to the same list from kcp itself, measured in one run on
//! one machine (the baseline is kcp, not a fixed number).
//!
//! Usage: cargo build --workspace --bins && target/debug/tmc-bench-list [--objects 1000] [--rounds 40]
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use tmc_harness::{components, KcpServer, Kubectl, StackDir, TmcServer};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn time_list(k: &Kubectl, args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = k.run(args, None);
    let d = t.elapsed();
    assert!(out.success, "{}", out.stderr);
    d
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("tmc-bench-list [--objects N] [--rounds R]: p50/p99 of `kubectl get clusterregistrations` from tmc-server vs kcp");
        return Ok(());
    }
    let objects = tmc_harness::flag_value("--objects", 1000);
    let rounds = tmc_harness::flag_value("--rounds", 40);
    let bins = components::ensure()?;
    let dir = StackDir::new("bench-list")?;
    eprintln!("[bench] starting kcp");
    let kcp = KcpServer::start(&bins, dir.path())?;
    kcp.setup_provider_and_tenants("root:tmc", &["root:bench"])?;
    eprintln!("[bench] creating {objects} ClusterRegistrations in kcp");
    let in_kcp = kcp.kubectl_at("root:bench");
    let mut docs = String::new();
    for i in 0..objects {
        docs.push_str(&format!(
            "---\napiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: cluster-{i:05}\n  labels:\n    tier: t{}\nspec:\n  location: loc-{}\n",
            i % 3,
            i % 7
        ));
    }
    in_kcp.ok_stdin(&["create", "-f", "-"], Some(&docs))?;
    let tmc_bin = std::env::current_exe()?.with_file_name("tmc-server");
    let tmc = TmcServer::start(&tmc_bin, &kcp, &bins.kubectl, dir.path(), &["--log-level=warn"])?;
    let via_tmc = tmc.kubectl_at("root:bench");
    // Warm both (discovery caches, connection setup is per kubectl process anyway).
    for k in [&via_tmc, &in_kcp] {
        let n = k
            .ok(&["get", "clusterregistrations", "--no-headers"])?
            .lines()
            .count();
        anyhow::ensure!(n == objects, "expected {objects} rows, got {n}");
    }
    let (mut t_tmc, mut t_kcp) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Interleaved so machine noise hits both alike.
        t_tmc.push(time_list(&via_tmc, &["get", "clusterregistrations"]));
        t_kcp.push(time_list(&in_kcp, &["get", "clusterregistrations"]));
    }
    t_tmc.sort();
    t_kcp.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("kubectl get clusterregistrations, {objects} objects, {rounds} rounds each, interleaved:");
    println!(
        "  tmc-server: p50 {:7.1} ms  p99 {:7.1} ms",
        ms(percentile(&t_tmc, 0.5)),
        ms(percentile(&t_tmc, 0.99))
    );
    println!(
        "  kcp:        p50 {:7.1} ms  p99 {:7.1} ms",
        ms(percentile(&t_kcp, 0.5)),
        ms(percentile(&t_kcp, 0.99))
    );
    if let Some(pid) = tmc.process.pid() {
        println!(
            "  tmc-server RSS with {objects} objects indexed: {} MiB",
            rss_kib(pid) / 1024
        );
    }
    Ok(())
}
