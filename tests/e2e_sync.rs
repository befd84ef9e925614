//! Sync end to end, with a real kcp and two real kube-apiservers, each with a
//! real kube-controller-manager (deployment, replicaset, garbage-collector and
//! namespace controllers): a Deployment, the ConfigMap and Secret it references,
//! and a Service appear on the chosen cluster in the workspace's physical
//! namespace (the Service with the cluster's own address); an image change
//! in kcp is applied there; the cluster's real status comes back into the kcp
//! object's `.status` and the `placements` view (Ready once the test marks the
//! Pod ready, as a kubelet would); an edit on the cluster is reverted and
//! reported; an object TMC did not create is never overwritten; deleting in
//! kcp removes the copies and then releases the kcp object.

use std::time::Duration;

use serde_json::{json, Value};
use tmc_harness::kubectl::{register_cluster, wait_clusters_ready};
use tmc_harness::{
    components, metric_samples, physical, wait_for, Etcd, KcpServer, Kubectl, StackDir, TmcServer,
};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";
const MANAGED: &str = "tmc.kcp.io/managed-by=tmc-server";
const WAIT: Duration = Duration::from_secs(90);

#[test]
fn workloads_are_synced_down_with_status_up_drift_reverted_and_clean_deletion() {
    let dir = StackDir::new("sync").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn deployment(name: &str, image: &str, config: &str) -> String {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image,
                    "envFrom": [{"configMapRef": {"name": config}},
                        {"secretRef": {"name": "shared-token", "optional": true}}]}]}}}})
    .to_string()
}

fn config_map(name: &str, value: &str) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"}, "data": {"greeting": value}})
    .to_string()
}

/// The one cluster the recorded decision of Deployment `name` names.
fn decided_cluster(k: &Kubectl, name: &str) -> anyhow::Result<String> {
    wait_for(&format!("a recorded decision for {name}"), WAIT, || {
        let d = k.get_json(&["deployment", name, "-n", "shop"]).ok()?;
        let text = d["metadata"]["annotations"]["tmc.kcp.io/placement"].as_str()?;
        let r: Value = serde_json::from_str(text).ok()?;
        r["clusters"][0]["name"].as_str().map(str::to_owned)
    })
}

/// Server-side apply, as a tenant would. (kcp v0.28.1 panics on kubectl's
/// client-side apply that changes a Deployment with `envFrom`: its strategic
/// merge compares list elements that are maps.)
fn apply(k: &Kubectl, doc: &str) -> anyhow::Result<()> {
    k.ok_stdin(
        &["apply", "--server-side", "--field-manager=tenant", "-f", "-"],
        Some(doc),
    )?;
    Ok(())
}

fn get(k: &Kubectl, args: &[&str]) -> Option<Value> {
    k.get_json(args).ok()
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let (clusters, managers) = physical::start_with_controllers(&bins, &etcd, dir.path(), &["east", "west"])?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    let tenant_kubeconfig = kcp.kubeconfig_at(TENANT, &dir.path().join("team-a.kubeconfig"))?;
    let tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[
            "--probe-interval=1s",
            "--placement-interval=1s",
            "--log-level=info,kcp_tmc::sync=debug",
        ],
    )?;
    for c in &clusters {
        register_cluster(
            &bins.kubectl,
            env!("CARGO_BIN_EXE_kubectl-tmc").as_ref(),
            &tenant_kubeconfig,
            &c.name,
            &c.kubeconfig,
            &format!("us-{}", c.name),
            &[],
        )?;
    }
    let k = kcp.kubectl_at(TENANT);
    wait_clusters_ready(&k, 2, WAIT)?;

    // Create: the Deployment and its ConfigMap appear on the decided cluster only.
    k.apply(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}"#)?;
    apply(&k, &config_map("web-config", "hello"))?;
    apply(
        &k,
        &json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "shared-token", "namespace": "shop"}, "data": {"token": "czNjcjN0"}})
        .to_string(),
    )?;
    apply(&k, &deployment("web", "nginx:1.27", "web-config"))?;
    let chosen = decided_cluster(&k, "web")?;
    let (on, off) = match clusters.iter().position(|c| c.name == chosen) {
        Some(0) => (&clusters[0], &clusters[1]),
        _ => (&clusters[1], &clusters[0]),
    };
    let workspace = get(&k, &["deployment", "web", "-n", "shop"]).unwrap()["metadata"]["annotations"]
        ["kcp.io/cluster"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pns = kcp_tmc::sync::naming::physical_namespace(&workspace, "shop");
    let copy = wait_for(&format!("web on {chosen} in {pns}"), WAIT, || {
        get(&on.kubectl, &["deployment", "web", "-n", &pns])
    })?;
    let cm = wait_for("web-config copied", WAIT, || {
        get(&on.kubectl, &["configmap", "web-config", "-n", &pns])
    })?;
    anyhow::ensure!(cm["data"]["greeting"] == "hello", "ConfigMap copy: {cm}");
    let secret = wait_for("shared-token copied", WAIT, || {
        get(&on.kubectl, &["secret", "shared-token", "-n", &pns])
    })?;
    anyhow::ensure!(
        secret["data"]["token"] == "czNjcjN0" && secret["type"] == "Opaque",
        "Secret copy: type {} keys {:?}",
        secret["type"],
        secret["data"].as_object().map(|d| d.keys().collect::<Vec<_>>())
    );
    let labels = &copy["metadata"]["labels"];
    anyhow::ensure!(
        labels["tmc.kcp.io/managed-by"] == "tmc-server"
            && labels["tmc.kcp.io/workspace"] == workspace.as_str(),
        "owner labels: {labels}"
    );
    let annotations = copy["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    anyhow::ensure!(
        !annotations
            .keys()
            .any(|a| a.starts_with("kcp.io/") || a == "tmc.kcp.io/placement"),
        "kcp annotations travelled: {annotations:?}"
    );
    anyhow::ensure!(
        copy["metadata"]["finalizers"].is_null() && copy["metadata"]["ownerReferences"].is_null(),
        "finalizers/ownerReferences travelled: {copy}"
    );
    let ns = get(&on.kubectl, &["namespace", &pns]).unwrap();
    anyhow::ensure!(
        ns["metadata"]["annotations"]["tmc.kcp.io/origin-namespace"] == "shop",
        "physical namespace origin: {ns}"
    );
    anyhow::ensure!(
        get(&off.kubectl, &["deployment", "web", "-n", &pns]).is_none(),
        "web must not be on {}",
        off.name
    );
    println!(
        "created: web, web-config and shared-token on {chosen} in {pns}, not on {}",
        off.name
    );

    // A Service travels too, without the addresses each cluster allocates.
    apply(
        &k,
        &json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
        .to_string(),
    )?;
    let svc_cluster = wait_for("a decision for Service web", WAIT, || {
        let s = get(&k, &["service", "web", "-n", "shop"])?;
        let text = s["metadata"]["annotations"]["tmc.kcp.io/placement"]
            .as_str()?
            .to_owned();
        let r: Value = serde_json::from_str(&text).ok()?;
        r["clusters"][0]["name"].as_str().map(str::to_owned)
    })?;
    let svc_on = clusters.iter().find(|c| c.name == svc_cluster).unwrap();
    let svc = wait_for("Service web downstream", WAIT, || {
        get(&svc_on.kubectl, &["service", "web", "-n", &pns])
    })?;
    anyhow::ensure!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96.")),
        "the physical cluster allocates the Service's address: {}",
        svc["spec"]
    );
    wait_for("service-web Ready in the placements view", WAIT, || {
        let v = tmc
            .kubectl_at(TENANT)
            .get_json(&["placement", "service-web", "-n", "shop"])
            .ok()?;
        (v["status"]["sync"] == "Ready").then_some(())
    })?;
    println!(
        "service web on {svc_cluster} with clusterIP {}",
        svc["spec"]["clusterIP"]
    );

    // Update: a new image in kcp reaches the copy.
    apply(&k, &deployment("web", "nginx:1.28", "web-config"))?;
    wait_for("the new image downstream", WAIT, || {
        let d = get(&on.kubectl, &["deployment", "web", "-n", &pns])?;
        (d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28").then_some(())
    })?;
    println!("updated: nginx:1.28 on {chosen}");

    // Status up: the deployment controller's status, then Ready once the Pod is.
    wait_for("kcp .status from the cluster", WAIT, || {
        let d = get(&k, &["deployment", "web", "-n", "shop"])?;
        // The rollout of nginx:1.28 may still hold the old Pod: replicas can be 2.
        (d["status"]["updatedReplicas"] == 1 && condition(&d, "Available").is_some()).then_some(())
    })
    .map_err(|e| {
        let kcp_side = get(&k, &["deployment", "web", "-n", "shop"]).unwrap_or_default();
        let copy = get(&on.kubectl, &["deployment", "web", "-n", &pns]).unwrap_or_default();
        e.context(format!(
            "kcp status: {}\ncopy status: {}",
            kcp_side["status"], copy["status"]
        ))
    })?;
    let pods = wait_for("the copy's new Pod", WAIT, || {
        let list = get(&on.kubectl, &["pods", "-n", &pns, "-l", "app=web"])?;
        let names: Vec<String> = list["items"]
            .as_array()?
            .iter()
            .filter(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28")
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        (!names.is_empty()).then_some(names)
    })?;
    for pod in &pods {
        // What a kubelet reports once the container runs and passes readiness.
        on.kubectl.ok(&[
            "patch", "pod", pod, "-n", &pns, "--subresource=status", "--type=merge", "-p",
            r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}]}}"#,
        ])?;
    }
    let status = wait_for("kcp .status Available", WAIT, || {
        let d = get(&k, &["deployment", "web", "-n", "shop"])?;
        let available = condition(&d, "Available")?["status"] == "True";
        let done = d["status"]["availableReplicas"] == 1 && d["status"]["replicas"] == 1;
        (available && done).then(|| d["status"].clone())
    })?;
    println!("status in kcp: {status}");
    let table = wait_for("the placements view says Ready", WAIT, || {
        let out = tmc
            .kubectl_at(TENANT)
            .ok(&["get", "placements", "-n", "shop"])
            .ok()?;
        out.lines()
            .any(|l| l.contains("deployment-web") && l.contains("Ready"))
            .then_some(out)
    })?;
    println!("{table}");
    let view = tmc
        .kubectl_at(TENANT)
        .get_json(&["placement", "deployment-web", "-n", "shop"])?;
    anyhow::ensure!(
        view["status"]["clusters"][0]["state"] == "Ready" && view["status"]["sync"] == "Ready",
        "view: {}",
        view["status"]
    );

    // Drift: an edit on the cluster is reverted, and kcp says so.
    on.kubectl
        .ok(&["set", "image", "deployment/web", "-n", &pns, "c=evil:latest"])?;
    wait_for("the edit reverted", WAIT, || {
        let d = get(&on.kubectl, &["deployment", "web", "-n", &pns])?;
        (d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28").then_some(())
    })?;
    let synced = wait_for("Synced/DriftReverted in kcp", WAIT, || {
        let d = get(&k, &["deployment", "web", "-n", "shop"])?;
        let c = condition(&d, "Synced")?.clone();
        (c["reason"] == "DriftReverted").then_some(c)
    })?;
    anyhow::ensure!(
        synced["message"]
            .as_str()
            .unwrap_or_default()
            .contains("spec.template.spec.containers[0].image"),
        "{synced}"
    );
    println!("drift reverted: {}", synced["message"]);

    // /metrics shows sync per cluster, as an operator reads it.
    let metrics = tmc.kubectl.ok(&["get", "--raw", "/metrics"])?;
    let value = |prefix: &str| -> f64 {
        metric_samples(&metrics, prefix)
            .filter(|(l, _)| l.contains(&format!("cluster=\"{chosen}\"")))
            .map(|(_, v)| v)
            .sum()
    };
    for (sample, at_least) in [
        ("tmc_sync_latency_seconds_count", 2.0),
        ("tmc_sync_request_duration_seconds_count", 4.0),
        ("tmc_sync_drift_reverts_total", 1.0),
    ] {
        let v = value(sample);
        anyhow::ensure!(
            v >= at_least,
            "{sample} on {chosen} = {v}, want >= {at_least}:\n{metrics}"
        );
    }
    anyhow::ensure!(
        metrics.lines().any(|l| l.starts_with("tmc_sync_queue_depth{")),
        "no tmc_sync_queue_depth:\n{metrics}"
    );

    // A foreign object holding a name TMC needs is never overwritten.
    on.kubectl.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "api-config", "namespace": pns}, "data": {"owner": "someone else"}})
        .to_string(),
    )?;
    apply(&k, &config_map("api-config", "from kcp"))?;
    // A policy puts api next to web, where the foreign ConfigMap is in its way.
    k.apply(
        &json!({"apiVersion": "tmc.kcp.io/v1alpha1", "kind": "WorkloadPlacement",
            "metadata": {"name": "api"},
            "spec": {"numberOfClusters": 1, "workloadSelector": {"matchLabels": {"app": "api"}},
                "locationSelector": {"matchLabels": {"tmc.kcp.io/location": format!("us-{chosen}")}}}})
        .to_string(),
    )?;
    apply(&k, &deployment("api", "nginx:1.27", "api-config"))?;
    anyhow::ensure!(decided_cluster(&k, "api")? == chosen, "the policy did not apply");
    let message = wait_for("the api placement reports the conflict", WAIT, || {
        let v = tmc
            .kubectl_at(TENANT)
            .get_json(&["placement", "deployment-api", "-n", "shop"])
            .ok()?;
        let m = v["status"]["clusters"][0]["message"].as_str()?.to_owned();
        (v["status"]["sync"] == "Error" && m.contains("not created by TMC")).then_some(m)
    })?;
    println!("conflict reported: {message}");
    let foreign = get(&on.kubectl, &["configmap", "api-config", "-n", &pns]).unwrap();
    anyhow::ensure!(
        foreign["data"]["owner"] == "someone else",
        "foreign object changed: {foreign}"
    );
    // Once its owner removes it, TMC's copy takes the name.
    on.kubectl
        .ok(&["delete", "configmap", "api-config", "-n", &pns])?;
    wait_for("TMC's api-config copy", WAIT, || {
        let cm = get(&on.kubectl, &["configmap", "api-config", "-n", &pns])?;
        (cm["data"]["greeting"] == "from kcp").then_some(())
    })?;

    // Delete: the copies go, then kcp releases the object.
    k.ok(&["delete", "deployment", "web", "api", "-n", "shop", "--wait=false"])?;
    k.ok(&["delete", "service", "web", "-n", "shop", "--wait=false"])?;
    wait_for("web gone downstream", WAIT, || {
        get(&on.kubectl, &["deployment", "web", "-n", &pns])
            .is_none()
            .then_some(())
    })?;
    wait_for("web released in kcp", WAIT, || {
        get(&k, &["deployment", "web", "-n", "shop"])
            .is_none()
            .then_some(())
    })?;
    wait_for("api released in kcp", WAIT, || {
        get(&k, &["deployment", "api", "-n", "shop"])
            .is_none()
            .then_some(())
    })?;
    wait_for("web-config gone downstream", WAIT, || {
        get(&on.kubectl, &["configmap", "web-config", "-n", &pns])
            .is_none()
            .then_some(())
    })?;
    for c in &clusters {
        let left = c.kubectl.ok(&[
            "get",
            "deployments,configmaps,secrets",
            "-A",
            "-l",
            MANAGED,
            "-o",
            "name",
        ])?;
        anyhow::ensure!(left.trim().is_empty(), "left on {}: {left}", c.name);
    }
    println!("deleted: copies gone from both clusters, kcp objects released");

    // Deleting the namespace in kcp cleans the physical namespace.
    apply(&k, &deployment("again", "nginx:1.27", "web-config"))?;
    let again = decided_cluster(&k, "again")?;
    let target = clusters.iter().find(|c| c.name == again).unwrap();
    wait_for("again synced", WAIT, || {
        get(&target.kubectl, &["deployment", "again", "-n", &pns])
    })?;
    k.ok(&["delete", "namespace", "shop", "--wait=false"])?;
    wait_for("the kcp namespace gone", Duration::from_secs(120), || {
        get(&k, &["namespace", "shop"]).is_none().then_some(())
    })?;
    wait_for("the physical copies gone", WAIT, || {
        let left = target
            .kubectl
            .ok(&["get", "deployments,configmaps", "-A", "-l", MANAGED, "-o", "name"])
            .ok()?;
        left.trim().is_empty().then_some(())
    })?;
    println!("namespace deleted in kcp: copies on {again} gone");

    tmc.assert_log_free_of(&kcp, &[&clusters[0].token(), &clusters[1].token()])?;
    drop(managers);
    Ok(())
}
