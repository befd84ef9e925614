//! Placement end to end, with three real kube-apiservers in two locations:
//! WorkloadPlacements with each strategy place real Deployments where
//! expected (checked in kcp, where the decision is recorded on the workload,
//! and through `kubectl get placements`); cordoning a cluster moves its
//! workloads; killing a cluster's apiserver moves them after the toleration;
//! a workload nothing fits says so; a tmc-server restart moves nothing; the
//! view is read-only.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tmc_harness::credentials::{client_from, write_kubeconfig};
use tmc_harness::kubectl::run_plugin;
use tmc_harness::{
    components, metric_samples, wait_for, Credential, Etcd, KcpServer, Kubectl, PhysicalCluster, StackDir,
    TmcServer,
};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";
const ANNOTATION: &str = "tmc.kcp.io/placement";

#[test]
fn workloads_are_placed_by_policy_and_moved_on_cordon_and_failure() {
    let dir = StackDir::new("placement").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
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

fn deployment(ns: &str, name: &str, app: &str) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}","namespace":"{ns}","labels":{{"app":"{app}"}}}},
"spec":{{"replicas":1,"selector":{{"matchLabels":{{"app":"{app}","name":"{name}"}}}},
"template":{{"metadata":{{"labels":{{"app":"{app}","name":"{name}"}}}},
"spec":{{"containers":[{{"name":"c","image":"registry.k8s.io/pause:3.10","resources":{{"requests":{{"cpu":"100m","memory":"64Mi"}}}}}}]}}}}}}}}"#
    )
    .replace('\n', "")
}

fn policy(name: &str, app: &str, strategy: &str, clusters: u32, extra: &str) -> String {
    format!(
        r#"{{"apiVersion":"tmc.kcp.io/v1alpha1","kind":"WorkloadPlacement","metadata":{{"name":"{name}"}},
"spec":{{"strategy":"{strategy}","numberOfClusters":{clusters},"workloadSelector":{{"matchLabels":{{"app":"{app}"}}}}{extra}}}}}"#
    )
    .replace('\n', "")
}

const US_EAST: &str = r#","locationSelector":{"matchLabels":{"tmc.kcp.io/location":"us-east"}}"#;

/// The recorded decision of a Deployment in kcp: (reason, clusters).
fn recorded(k: &Kubectl, ns: &str, name: &str) -> Option<(String, Vec<String>)> {
    let d = k.get_json(&["deployment", name, "-n", ns]).ok()?;
    let text = d["metadata"]["annotations"][ANNOTATION].as_str()?;
    let r: Value = serde_json::from_str(text).ok()?;
    let mut clusters: Vec<String> = r["clusters"]
        .as_array()?
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    clusters.sort();
    Some((r["reason"].as_str()?.to_owned(), clusters))
}

fn wait_recorded(
    k: &Kubectl,
    ns: &str,
    name: &str,
    what: &str,
    ok: impl Fn(&str, &[String]) -> bool,
) -> anyhow::Result<Vec<String>> {
    wait_for(&format!("{ns}/{name}: {what}"), Duration::from_secs(90), || {
        let (reason, clusters) = recorded(k, ns, name)?;
        ok(&reason, &clusters).then_some(clusters)
    })
}

/// The recorded decisions of the placed Deployments, in a fixed order.
fn all_recorded(k: &Kubectl) -> Vec<Option<(String, Vec<String>)>> {
    [
        ("rr", "rr-1"),
        ("rr", "rr-2"),
        ("aff", "aff-1"),
        ("spread", "spread-1"),
        ("plain", "plain-1"),
    ]
    .iter()
    .map(|(ns, n)| recorded(k, ns, n))
    .collect()
}

/// Waits until the registration `name` is Ready in kcp.
fn wait_ready(k: &Kubectl, name: &str) -> anyhow::Result<()> {
    wait_for(&format!("{name} Ready"), Duration::from_secs(60), || {
        let o = k.get_json(&["clusterregistration", name]).ok()?;
        let ready = o["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        ready.then_some(())
    })
}

fn east(c: &str) -> bool {
    c.starts_with("east-")
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let mut clusters = BTreeMap::new();
    for (name, loc) in [
        ("east-1", "us-east"),
        ("east-2", "us-east"),
        ("west-1", "us-west"),
    ] {
        let c = PhysicalCluster::start(&bins, &etcd, dir.path(), name)?;
        c.add_node(&format!("{name}-node"), "8", "32Gi")?;
        clusters.insert(name, (c, loc));
    }
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    // A kubeconfig whose current context is the tenant workspace, as a user has.
    let tenant_kubeconfig = kcp.kubeconfig_at(TENANT, &dir.path().join("team-a.kubeconfig"))?;
    let mut tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[
            "--probe-interval=1s",
            "--heartbeat-threshold=4s",
            "--probe-timeout=1s",
            "--not-ready-toleration=3s",
            "--placement-interval=1s",
        ],
    )?;
    for (name, (c, loc)) in &clusters {
        let (ok, out) = plugin(
            &bins.kubectl,
            &tenant_kubeconfig,
            &[
                "cluster",
                "register",
                name,
                "--kubeconfig",
                c.kubeconfig.to_str().unwrap(),
                "--location",
                loc,
            ],
        );
        anyhow::ensure!(ok, "register {name}: {out}");
    }
    let k = kcp.kubectl_at(TENANT);
    for name in clusters.keys() {
        wait_ready(&k, name)?;
    }

    for ns in ["rr", "aff", "spread", "plain", "gpu"] {
        k.apply(&format!(
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{ns}"}}}}"#
        ))?;
    }
    k.apply(&policy("rr", "rr", "RoundRobin", 1, US_EAST))?;
    k.apply(&policy("aff", "aff", "Affinity", 1, US_EAST))?;
    k.apply(&policy("spread", "spread", "Spread", 2, ""))?;
    k.apply(&policy(
        "gpu",
        "gpu",
        "RoundRobin",
        1,
        r#","capabilityRequirements":[{"type":"gpu","required":true}]"#,
    ))?;

    // RoundRobin: two workloads, one after the other, on the two east clusters.
    k.apply(&deployment("rr", "rr-1", "rr"))?;
    let rr1 = wait_recorded(&k, "rr", "rr-1", "placed in us-east", |r, c| {
        r == "Placed" && c.len() == 1 && east(&c[0])
    })?;
    k.apply(&deployment("rr", "rr-2", "rr"))?;
    let rr2 = wait_recorded(&k, "rr", "rr-2", "placed in us-east", |r, c| {
        r == "Placed" && c.len() == 1 && east(&c[0])
    })?;
    anyhow::ensure!(rr1 != rr2, "RoundRobin put rr-1 and rr-2 both on {rr1:?}");
    println!("RoundRobin: rr-1 → {rr1:?}, rr-2 → {rr2:?}");

    // Affinity: a namespace's workloads together, in us-east.
    k.apply(&deployment("aff", "aff-1", "aff"))?;
    let aff1 = wait_recorded(&k, "aff", "aff-1", "placed in us-east", |r, c| {
        r == "Placed" && c.len() == 1 && east(&c[0])
    })?;
    k.apply(&deployment("aff", "aff-2", "aff"))?;
    let aff2 = wait_recorded(&k, "aff", "aff-2", "placed", |r, c| r == "Placed" && c.len() == 1)?;
    anyhow::ensure!(aff1 == aff2, "Affinity split the namespace: {aff1:?} vs {aff2:?}");
    println!("Affinity: aff-1 and aff-2 → {aff1:?}");

    // Spread: two clusters in distinct locations.
    k.apply(&deployment("spread", "spread-1", "spread"))?;
    let spread = wait_recorded(&k, "spread", "spread-1", "on 2 clusters", |r, c| {
        r == "Placed" && c.len() == 2
    })?;
    anyhow::ensure!(
        spread.iter().filter(|c| east(c)).count() == 1 && spread.contains(&"west-1".to_owned()),
        "Spread chose {spread:?}"
    );
    println!("Spread: spread-1 → {spread:?}");

    // No policy: the default placement, one cluster.
    k.apply(&deployment("plain", "plain-1", "plain"))?;
    let plain = wait_recorded(&k, "plain", "plain-1", "placed", |r, c| {
        r == "Placed" && c.len() == 1
    })?;
    println!("default placement: plain-1 → {plain:?}");

    // Nothing fits: the workload stays in kcp and says why.
    k.apply(&deployment("gpu", "gpu-1", "gpu"))?;
    wait_recorded(&k, "gpu", "gpu-1", "Unschedulable", |r, c| {
        r == "Unschedulable" && c.is_empty()
    })?;
    let gpu = k.get_json(&["deployment", "gpu-1", "-n", "gpu"])?;
    println!(
        "unschedulable: {}",
        gpu["metadata"]["annotations"][ANNOTATION]
            .as_str()
            .unwrap_or_default()
    );

    // The placements view through tmc-server.
    let view = tmc.kubectl_at(TENANT);
    let table = view.ok(&["get", "placements", "-A"])?;
    println!("kubectl get placements -A (through tmc-server):\n{table}");
    for row in [
        "deployment-rr-1",
        "deployment-aff-2",
        "deployment-spread-1",
        "deployment-plain-1",
        "deployment-gpu-1",
    ] {
        anyhow::ensure!(
            table.contains(row),
            "{row} missing from the placements view:\n{table}"
        );
    }
    let pl = view.get_json(&["placement", "deployment-spread-1", "-n", "spread"])?;
    let names = pl["status"]["clusterNames"].as_str().unwrap_or_default();
    anyhow::ensure!(names.split(',').count() == 2, "view clusters {names}");
    let verdicts = pl["status"]["candidates"].as_array().map(Vec::len).unwrap_or(0);
    anyhow::ensure!(verdicts == 3, "every candidate has a verdict: {}", pl["status"]);
    let crs = view.ok(&["get", "clusterregistrations"])?;
    println!("kubectl get clusterregistrations (through tmc-server):\n{crs}");
    let listed = view.get_json(&["clusterregistrations"])?;
    let placed: u64 = listed["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["status"]["workloadCount"].as_u64())
                .sum()
        })
        .unwrap_or(0);
    // rr-1, rr-2, aff-1, aff-2, plain-1 on one cluster each, spread-1 on two.
    anyhow::ensure!(placed == 7, "WORKLOADS over all clusters: {placed}, want 7");
    // /metrics: every family with sane values (kubectl get --raw, as an operator would).
    let metrics = view.ok(&["get", "--raw", "/metrics"])?;
    let value = |sample: &str| metric_samples(&metrics, sample).next().map(|(_, v)| v);
    for (sample, at_least) in [
        (
            "tmc_apiserver_request_total{verb=\"list\",resource=\"placements\",code=\"200\"}",
            1.0,
        ),
        (
            "tmc_apiserver_request_duration_seconds_count{verb=\"list\",resource=\"placements\"}",
            1.0,
        ),
        ("tmc_placement_decisions_recorded_total", 7.0),
        ("tmc_placement_round_duration_seconds_count", 1.0),
        ("tmc_cluster_ready{workspace=", 1.0),
        ("tmc_feature_enabled{name=\"TMC\",stage=\"Alpha\"}", 1.0),
    ] {
        let v = value(sample).unwrap_or(-1.0);
        anyhow::ensure!(v >= at_least, "{sample} = {v}, want >= {at_least}:\n{metrics}");
    }
    // kubectl itself would prompt for a password without credentials: ask raw.
    let anonymous_kubeconfig = dir.path().join("anonymous.kubeconfig");
    let origin = format!("https://127.0.0.1:{}", tmc.port);
    write_kubeconfig(
        &anonymous_kubeconfig,
        &origin,
        &tmc.ca_file(),
        &Credential::Anonymous,
    )?;
    let code = tokio::runtime::Runtime::new()?.block_on(async {
        let client = client_from(&anonymous_kubeconfig).await?;
        let req = http::Request::get("/metrics").body(Vec::new())?;
        let resp = client.send(req.map(kube::client::Body::from)).await?;
        anyhow::Ok(resp.status().as_u16())
    })?;
    anyhow::ensure!(code == 401, "anonymous /metrics got {code}, want 401");
    let wp = k.get_json(&["workloadplacement", "rr"])?;
    let selected: Vec<&str> = wp["status"]["selectedClusters"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    anyhow::ensure!(selected == ["east-1", "east-2"], "rr selects {selected:?}");
    let del = view.run(&["delete", "placement", "deployment-rr-1", "-n", "rr"], None);
    anyhow::ensure!(
        !del.success && del.stderr.contains("MethodNotAllowed"),
        "the view must be read-only: {} {}",
        del.stdout,
        del.stderr
    );

    // What if plain-1's workloads had a policy asking for two clusters?
    // Answered without changing anything.
    let try_file = dir.path().join("plain-two.json");
    std::fs::write(&try_file, policy("plain-two", "plain", "Spread", 2, ""))?;
    let plain_before = recorded(&k, "plain", "plain-1");
    let (ok, what_if) = plugin(
        &bins.kubectl,
        &tenant_kubeconfig,
        &["explain", "--what-if", "-f", try_file.to_str().unwrap()],
    );
    println!("kubectl tmc explain --what-if -f plain-two.json:\n{what_if}");
    anyhow::ensure!(
        ok && what_if.contains("plain-1") && what_if.contains("nothing was changed"),
        "what-if output"
    );
    anyhow::ensure!(
        k.run(&["get", "workloadplacement", "plain-two"], None)
            .stderr
            .contains("NotFound"),
        "what-if created the policy"
    );
    anyhow::ensure!(
        recorded(&k, "plain", "plain-1") == plain_before,
        "what-if moved plain-1"
    );

    // A younger policy selecting rr's workloads does not take them; it says so.
    k.apply(&policy("rr-young", "rr", "Spread", 2, ""))?;
    let conflict = wait_for("rr-young's PolicyConflict", Duration::from_secs(30), || {
        let wp = k.get_json(&["workloadplacement", "rr-young"]).ok()?;
        wp["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "PolicyConflict" && c["status"] == "True")
            .and_then(|c| c["message"].as_str().map(str::to_owned))
    })?;
    println!("rr-young: PolicyConflict=True: {conflict}");
    k.ok(&["delete", "workloadplacement", "rr-young"])?;

    // A restart decides nothing new: every decision stays.
    let before = all_recorded(&k);
    tmc.kill();
    tmc.restart()?;
    std::thread::sleep(Duration::from_secs(5));
    let after = all_recorded(&k);
    anyhow::ensure!(
        before == after,
        "a restart moved workloads: {before:?} → {after:?}"
    );
    println!("after kill -9 and restart: every decision unchanged");

    // A new cluster arrives (a second registration of east-2's apiserver):
    // nothing moves to it, no decision changes.
    let (ok, out) = plugin(
        &bins.kubectl,
        &tenant_kubeconfig,
        &[
            "cluster",
            "register",
            "east-3",
            "--kubeconfig",
            clusters["east-2"].0.kubeconfig.to_str().unwrap(),
            "--location",
            "us-east",
        ],
    );
    anyhow::ensure!(ok, "register east-3: {out}");
    wait_ready(&k, "east-3")?;
    std::thread::sleep(Duration::from_secs(3));
    let with_new = all_recorded(&k);
    anyhow::ensure!(
        before == with_new,
        "a new cluster moved workloads: {before:?} → {with_new:?}"
    );
    println!("east-3 registered and Ready: every decision unchanged");

    // Cordon rr-1's cluster: rr-1 moves to another east cluster.
    let cordoned = rr1[0].clone();
    let (ok, out) = plugin(
        &bins.kubectl,
        &tenant_kubeconfig,
        &["cluster", "cordon", &cordoned],
    );
    anyhow::ensure!(ok, "cordon: {out}");
    let moved = wait_recorded(&k, "rr", "rr-1", "moved off the cordoned cluster", |r, c| {
        r == "Placed" && c.len() == 1 && east(&c[0]) && c[0] != cordoned
    })?;
    println!("cordon {cordoned}: rr-1 → {moved:?}");
    let (ok, explained) = plugin(
        &bins.kubectl,
        &tenant_kubeconfig,
        &["explain", "deployment/rr-1", "-n", "rr"],
    );
    println!("kubectl tmc explain deployment/rr-1 -n rr:\n{explained}");
    anyhow::ensure!(
        ok && explained.contains("cordoned") && explained.contains("location"),
        "explain must name the rules that excluded {cordoned} and west-1"
    );

    // Kill west-1's apiserver: spread-1 leaves it after the toleration, for
    // the east clusters that are left (Spread fills with a second location
    // first, and there is none).
    let killed_at = Instant::now();
    clusters.get_mut("west-1").expect("west-1").0.stop();
    let now = wait_recorded(&k, "spread", "spread-1", "off west-1", |_, c| {
        !c.contains(&"west-1".to_owned())
    })?;
    let took = killed_at.elapsed();
    let (reason, _) = recorded(&k, "spread", "spread-1").unwrap_or_default();
    println!(
        "west-1 killed: spread-1 re-placed on {now:?} ({reason}) {:.1}s later (heartbeat threshold 4s + toleration 3s)",
        took.as_secs_f64()
    );
    anyhow::ensure!(
        reason == "Placed" && now.len() == 2 && now.iter().all(|c| east(c) && *c != cordoned),
        "spread-1 after failover: {reason} {now:?}"
    );
    tmc.assert_log_free_of(&kcp, &[])?;
    Ok(())
}
