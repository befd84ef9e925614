//! Crash safety of sync, end to end with a real kcp and two real
//! kube-apiservers (each with a real kube-controller-manager writing
//! Deployment status): tmc-server is killed with SIGKILL in the middle of
//! creating 200 Deployments and started again. Afterwards exactly 200 copies
//! exist, each on the cluster its recorded decision names and nowhere else;
//! no decision made before the kill moved; every kcp object has status; and
//! deleting them all leaves no orphan on either cluster.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tmc_harness::kubectl::{register_cluster, wait_clusters_ready};
use tmc_harness::{
    components, physical, wait_for, Etcd, KcpServer, Kubectl, PhysicalCluster, StackDir, TmcServer,
};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";
const MANAGED: &str = "tmc.kcp.io/managed-by=tmc-server";
const COUNT: usize = 200;
const BATCH: usize = 20;

#[test]
fn a_kill_during_a_rollout_of_200_loses_duplicates_and_moves_nothing() {
    let dir = StackDir::new("sync-crash").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn batch(from: usize) -> String {
    let items: Vec<Value> = (from..from + BATCH)
        .map(|i| {
            let name = format!("load-{i:03}");
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": "load", "labels": {"app": name}},
                // No Pods (no kubelet runs); the deployment controller still writes status.
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}}})
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// Name → recorded cluster of every Deployment in kcp that has a decision.
fn decisions(k: &Kubectl) -> anyhow::Result<BTreeMap<String, String>> {
    let list = k.get_json(&["deployments", "-n", "load"])?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let text = d["metadata"]["annotations"]["tmc.kcp.io/placement"].as_str()?;
            let r: Value = serde_json::from_str(text).ok()?;
            Some((
                d["metadata"]["name"].as_str()?.to_owned(),
                r["clusters"][0]["name"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// Names of the Deployments TMC made on a cluster (any namespace).
fn copies(c: &PhysicalCluster) -> anyhow::Result<Vec<String>> {
    let list = c.kubectl.get_json(&["deployments", "-A", "-l", MANAGED])?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_owned))
        .collect())
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let (clusters, managers) = physical::start_with_controllers(&bins, &etcd, dir.path(), &["a", "b"])?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    let tenant_kubeconfig = kcp.kubeconfig_at(TENANT, &dir.path().join("team-a.kubeconfig"))?;
    let mut tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &["--probe-interval=1s", "--placement-interval=1s"],
    )?;
    for c in &clusters {
        register_cluster(
            &bins.kubectl,
            env!("CARGO_BIN_EXE_kubectl-tmc").as_ref(),
            &tenant_kubeconfig,
            &c.name,
            &c.kubeconfig,
            "lab",
            &[],
        )?;
    }
    let k = kcp.kubectl_at(TENANT);
    wait_clusters_ready(&k, 2, Duration::from_secs(90))?;
    k.apply(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"load"}}"#)?;

    // The rollout runs in the background; tmc-server is killed once it has
    // made some copies but not all, so it dies in the middle of the work.
    let started = Instant::now();
    let (before_kill, synced_before) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let creator = scope.spawn(|| -> anyhow::Result<()> {
            for from in (0..COUNT).step_by(BATCH) {
                k.ok_stdin(&["create", "-f", "-"], Some(&batch(from)))?;
            }
            Ok(())
        });
        let synced = wait_for("the first 50 copies", Duration::from_secs(120), || {
            let n: usize = clusters
                .iter()
                .map(|c| copies(c).map(|v| v.len()).unwrap_or(0))
                .sum();
            (n >= 50).then_some(n)
        })?;
        let decided = decisions(&k)?;
        tmc.kill();
        println!(
            "killed tmc-server {:?} into the rollout: {} decisions recorded, {synced} copies made",
            started.elapsed(),
            decided.len()
        );
        creator.join().expect("the creating thread")?;
        Ok((decided, synced))
    })?;
    anyhow::ensure!(synced_before < COUNT, "the kill came after the rollout");
    let restarted = Instant::now();
    tmc.restart()?;

    // Converged: every Deployment decided, copied exactly once where decided, with status.
    let converged = wait_for(
        "200 copies where decided, with status",
        Duration::from_secs(240),
        || {
            let decided = decisions(&k).ok()?;
            if decided.len() != COUNT {
                return None;
            }
            let on: Vec<Vec<String>> = clusters.iter().map(copies).collect::<Result<_, _>>().ok()?;
            if on.iter().map(Vec::len).sum::<usize>() != COUNT {
                return None;
            }
            let list = k.get_json(&["deployments", "-n", "load"]).ok()?;
            let with_status = list["items"]
                .as_array()?
                .iter()
                .filter(|d| d["status"]["observedGeneration"].is_i64())
                .count();
            (with_status == COUNT).then_some((decided, on))
        },
    )?;
    let (decided, on) = converged;
    println!(
        "converged {:?} after the restart: {} on {}, {} on {}",
        restarted.elapsed(),
        on[0].len(),
        clusters[0].name,
        on[1].len(),
        clusters[1].name
    );
    for (i, c) in clusters.iter().enumerate() {
        let mut names = on[i].clone();
        names.sort();
        names.dedup();
        anyhow::ensure!(names.len() == on[i].len(), "duplicate copies on {}", c.name);
        for name in &on[i] {
            anyhow::ensure!(
                decided.get(name) == Some(&c.name),
                "{name} is on {} but decided for {:?}",
                c.name,
                decided.get(name)
            );
        }
    }
    let moved: Vec<&String> = before_kill
        .iter()
        .filter(|(n, c)| decided.get(*n) != Some(*c))
        .map(|(n, _)| n)
        .collect();
    anyhow::ensure!(moved.is_empty(), "decisions moved across the restart: {moved:?}");
    anyhow::ensure!(
        !on[0].is_empty() && !on[1].is_empty(),
        "the rollout did not use both clusters"
    );

    // Delete them all: kcp releases every object, and no copy is left behind.
    let deleting = Instant::now();
    k.ok(&["delete", "deployments", "--all", "-n", "load", "--wait=false"])?;
    wait_for("every kcp Deployment released", Duration::from_secs(240), || {
        let list = k.get_json(&["deployments", "-n", "load"]).ok()?;
        list["items"].as_array()?.is_empty().then_some(())
    })?;
    for c in &clusters {
        let left = copies(c)?;
        anyhow::ensure!(left.is_empty(), "orphans on {}: {left:?}", c.name);
    }
    wait_for("the physical namespaces gone", Duration::from_secs(120), || {
        clusters
            .iter()
            .all(|c| {
                c.kubectl
                    .ok(&["get", "namespaces", "-l", MANAGED, "-o", "name"])
                    .is_ok_and(|out| out.trim().is_empty())
            })
            .then_some(())
    })?;
    println!(
        "deleted all {COUNT} in {:?}: no orphans on either cluster",
        deleting.elapsed()
    );
    tmc.assert_log_free_of(&kcp, &[&clusters[0].token(), &clusters[1].token()])?;
    drop(managers);
    Ok(())
}
