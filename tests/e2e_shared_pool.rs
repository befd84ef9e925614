//! Where clusters live, end to end: a cluster registered in the provider
//! workspace is the shared pool every bound tenant sees (name, location,
//! health — `kubectl get sharedclusters`) and places onto, never with its
//! Secret; a cluster registered in a tenant workspace is private to it, both
//! through tmc-server and through kcp, and other tenants' workloads never
//! land on it or even see its name.
//!
//! tmc-server runs here with its own kcp identity (user `tmc-server`) holding
//! only the rights of `deploy/kubernetes/kcp-rbac-shard.yaml` and
//! `kcp-rbac.yaml`, never a kcp admin group: registration health, reviews,
//! forwarded writes, placement and sync all work with those, and the identity
//! cannot read tenants' objects in kcp directly.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tmc_harness::credentials::{random_token, workspace_rbac, write_kubeconfig};
use tmc_harness::kubectl::run_plugin;
use tmc_harness::{
    components, wait_for, Credential, Etcd, KcpServer, Kubectl, PhysicalCluster, StackDir, TmcServer,
};

const PROVIDER: &str = "root:tmc";
const TEAM_A: &str = "root:team-a";
const TEAM_B: &str = "root:team-b";

#[test]
fn the_shared_pool_is_visible_to_every_tenant_and_private_clusters_to_none() {
    let dir = StackDir::new("shared-pool").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

/// `kubectl tmc ...` with the built plugin; an error when it fails.
fn plugin(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> anyhow::Result<String> {
    let (ok, text) = run_plugin(
        kubectl,
        Path::new(env!("CARGO_BIN_EXE_kubectl-tmc")),
        kubeconfig,
        args,
    );
    anyhow::ensure!(ok, "kubectl tmc {args:?}: {text}");
    Ok(text)
}

/// RBAC letting `user` into the workspace with every right on TMC's
/// resources and on Deployments.
fn tenant_rbac(user: &str) -> String {
    workspace_rbac(
        user,
        r#"{"apiGroups":["tmc.kcp.io"],"resources":["*"],"verbs":["*"]},{"apiGroups":["apps"],"resources":["deployments"],"verbs":["*"]}"#,
    )
}

fn deployment(name: &str) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}","namespace":"default"}},
"spec":{{"replicas":1,"selector":{{"matchLabels":{{"app":"{name}"}}}},"template":{{"metadata":{{"labels":{{"app":"{name}"}}}},
"spec":{{"containers":[{{"name":"c","image":"registry.k8s.io/pause:3.10"}}]}}}}}}}}"#
    )
    .replace('\n', "")
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let (alice_token, bob_token) = (random_token("alice"), random_token("bob"));
    let tmc_token = random_token("tmc-server");
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(
        &tokens,
        format!(
            "{alice_token},alice,alice,\"\"\n{bob_token},bob,bob,\"\"\n{tmc_token},tmc-server,tmc-server,\"\"\n"
        ),
    )?;
    let kcp = KcpServer::start_with(
        &bins,
        dir.path(),
        &[format!("--token-auth-file={}", tokens.display())],
    )?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let pool = PhysicalCluster::start(&bins, &etcd, dir.path(), "pool-east")?;
    let private = PhysicalCluster::start(&bins, &etcd, dir.path(), "a-private")?;
    pool.add_node("pool-node", "8", "32Gi")?;
    private.add_node("private-node", "8", "32Gi")?;
    // tmc-server's rights, exactly as deploy/ gives them: shard-wide in
    // system:admin (kcp's bootstrap policy), and in the provider workspace.
    let shard_rbac = tmc_harness::repo_root().join("deploy/kubernetes/kcp-rbac-shard.yaml");
    kcp.kubectl.ok(&[
        "--context=system:admin",
        "apply",
        "-f",
        shard_rbac.to_str().expect("utf-8 path"),
    ])?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TEAM_A, TEAM_B])?;
    let provider_rbac = tmc_harness::repo_root().join("deploy/kubernetes/kcp-rbac.yaml");
    kcp.kubectl_at(PROVIDER)
        .ok(&["apply", "-f", provider_rbac.to_str().expect("utf-8 path")])?;
    // The provider binds its own export to register clusters there.
    kcp.bind(PROVIDER, kcp_tmc::api::TMC_EXPORT, PROVIDER)?;
    kcp.kubectl_at(TEAM_A).apply(&tenant_rbac("alice"))?;
    kcp.kubectl_at(TEAM_B).apply(&tenant_rbac("bob"))?;

    let provider_admin = kcp.kubeconfig_at(PROVIDER, &dir.path().join("admin-provider.kubeconfig"))?;
    plugin(
        &bins.kubectl,
        &provider_admin,
        &[
            "cluster",
            "register",
            "pool-east",
            "--kubeconfig",
            pool.kubeconfig.to_str().unwrap(),
            "--location",
            "us-east",
        ],
    )?;
    let team_a_admin = kcp.kubeconfig_at(TEAM_A, &dir.path().join("admin-team-a.kubeconfig"))?;
    plugin(
        &bins.kubectl,
        &team_a_admin,
        &[
            "cluster",
            "register",
            "a-private",
            "--kubeconfig",
            private.kubeconfig.to_str().unwrap(),
            "--location",
            "us-west",
        ],
    )?;
    let kcp_ca = kcp.root_dir.join("apiserver.crt");
    let tmc_identity = dir.path().join("tmc-kcp.kubeconfig");
    write_kubeconfig(
        &tmc_identity,
        &kcp.url("root"),
        &kcp_ca,
        &Credential::Token(tmc_token.clone()),
    )?;
    let tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[
            "--probe-interval=1s",
            "--placement-interval=1s",
            &format!("--kcp-kubeconfig={}", tmc_identity.display()),
        ],
    )?;

    // Tenants with their own tokens, through tmc-server and through kcp.
    let user = |name: &str, token: &str, server: String, ca: &Path| -> anyhow::Result<Kubectl> {
        let path = dir.path().join(format!("{name}.kubeconfig"));
        write_kubeconfig(&path, &server, ca, &Credential::Token(token.to_owned()))?;
        Ok(Kubectl {
            binary: bins.kubectl.clone(),
            kubeconfig: path,
            server: None,
        })
    };
    let alice_tmc = user("alice-tmc", &alice_token, tmc.url(TEAM_A), &tmc.ca_file())?;
    let bob_tmc = user("bob-tmc", &bob_token, tmc.url(TEAM_B), &tmc.ca_file())?;
    let alice_kcp = user("alice-kcp", &alice_token, kcp.url(TEAM_A), &kcp_ca)?;
    let bob_kcp = user("bob-kcp", &bob_token, kcp.url(TEAM_B), &kcp_ca)?;

    // Every tenant sees the shared pool: name, location, health.
    for (who, k) in [("alice", &alice_tmc), ("bob", &bob_tmc)] {
        wait_for(
            &format!("{who} sees pool-east Ready"),
            Duration::from_secs(60),
            || {
                let l = k.get_json(&["sharedclusters"]).ok()?;
                let ready = l["items"].as_array()?.iter().any(|c| {
                    c["metadata"]["name"] == "pool-east"
                        && c["spec"]["location"] == "us-east"
                        && c["status"]["conditions"].as_array().is_some_and(|cs| {
                            cs.iter().any(|x| x["type"] == "Ready" && x["status"] == "True")
                        })
                });
                ready.then_some(())
            },
        )?;
        println!(
            "{who}: kubectl get sharedclusters →\n{}",
            k.ok(&["get", "sharedclusters"])?
        );
        let yaml = k.ok(&["get", "sharedclusters", "-o", "yaml"])?;
        anyhow::ensure!(
            !yaml.contains("kubeconfigSecretRef")
                && !yaml.contains("pool-east-kubeconfig")
                && !yaml.contains(&pool.token()),
            "the pool's credentials leak: {yaml}"
        );
    }

    // ... never its Secret, neither through kcp nor through tmc-server.
    for (who, k) in [("alice", &alice_kcp), ("bob", &bob_kcp)] {
        let out = k.at(kcp.url(PROVIDER)).run(
            &["get", "secrets", "-n", "tmc-system", "pool-east-kubeconfig"],
            None,
        );
        anyhow::ensure!(
            !out.success && out.stderr.contains("Forbidden"),
            "{who} read the pool's Secret: {}",
            out.stdout
        );
    }
    let out = alice_tmc
        .at(tmc.url(PROVIDER))
        .run(&["get", "clusterregistrations"], None);
    anyhow::ensure!(
        !out.success && out.stderr.contains("Forbidden"),
        "alice listed the provider's registrations"
    );

    // A private cluster is its tenant's alone.
    let a = names(&alice_tmc.get_json(&["clusterregistrations"])?);
    anyhow::ensure!(a == ["a-private"], "alice's clusterregistrations: {a:?}");
    let b = names(&bob_tmc.get_json(&["clusterregistrations"])?);
    anyhow::ensure!(b.is_empty(), "bob's clusterregistrations: {b:?}");
    let b_shared = names(&bob_tmc.get_json(&["sharedclusters"])?);
    anyhow::ensure!(b_shared == ["pool-east"], "bob's shared pool: {b_shared:?}");
    for (route, k) in [
        ("tmc-server", bob_tmc.at(tmc.url(TEAM_A))),
        ("kcp", bob_kcp.at(kcp.url(TEAM_A))),
    ] {
        let out = k.run(&["get", "clusterregistration", "a-private"], None);
        anyhow::ensure!(
            !out.success && out.stderr.contains("Forbidden"),
            "bob read alice's private cluster through {route}: {} {}",
            out.stdout,
            out.stderr
        );
        println!("bob → alice's a-private through {route}: {}", out.stderr.trim());
    }

    // Bob's workload goes to the shared pool, the only cluster he may use;
    // his placement never names alice's cluster.
    bob_kcp.apply(&deployment("web"))?;
    let recorded = wait_for("bob's web placed", Duration::from_secs(60), || {
        let d = bob_kcp.get_json(&["deployment", "web", "-n", "default"]).ok()?;
        d["metadata"]["annotations"]["tmc.kcp.io/placement"]
            .as_str()
            .map(str::to_owned)
    })?;
    let r: Value = serde_json::from_str(&recorded)?;
    anyhow::ensure!(
        r["clusters"][0]["name"] == "pool-east" && r["clusters"].as_array().map(Vec::len) == Some(1),
        "{r}"
    );
    let view = bob_tmc.ok(&[
        "get",
        "placement",
        "deployment-web",
        "-n",
        "default",
        "-o",
        "yaml",
    ])?;
    anyhow::ensure!(
        !view.contains("a-private"),
        "bob's placement names alice's private cluster:\n{view}"
    );
    wait_for(
        "bob's shared-pool workload count",
        Duration::from_secs(30),
        || {
            let l = bob_tmc.get_json(&["sharedclusters"]).ok()?;
            (l["items"][0]["status"]["workloadCount"] == 1).then_some(())
        },
    )?;
    let alice_count = alice_tmc.get_json(&["sharedclusters"])?["items"][0]["status"]["workloadCount"].clone();
    anyhow::ensure!(alice_count == 0, "alice sees bob's workload count: {alice_count}");
    println!(
        "bob's web → {}; alice's view of pool-east counts {alice_count} of her workloads",
        r["clusters"]
    );
    least_privilege(&kcp, &tmc, &pool, &alice_tmc, &bob_kcp, &tmc_identity)?;
    tmc.assert_log_free_of(
        &kcp,
        &[
            &alice_token,
            &bob_token,
            &tmc_token,
            &pool.token(),
            &private.token(),
        ],
    )?;
    Ok(())
}

/// What tmc-server's own, narrow kcp identity can and cannot do: the copy of
/// bob's workload reached the pool and his deletion cleaned it up (virtual
/// workspace reads and writes), alice's write through tmc-server landed in kcp
/// as hers (impersonation), a kcp admin's write through tmc-server is refused
/// with a way out, and the identity reads nothing of a tenant's in kcp itself.
fn least_privilege(
    kcp: &KcpServer,
    tmc: &TmcServer,
    pool: &PhysicalCluster,
    alice_tmc: &Kubectl,
    bob_kcp: &Kubectl,
    tmc_identity: &Path,
) -> anyhow::Result<()> {
    let managed = ["deployments", "-A", "-l", "tmc.kcp.io/managed-by=tmc-server"];
    wait_for("bob's web copied to pool-east", Duration::from_secs(60), || {
        let l = pool.kubectl.get_json(&managed).ok()?;
        names(&l).contains(&"web".to_owned()).then_some(())
    })?;
    let web = bob_kcp.get_json(&["deployment", "web", "-n", "default"])?;
    anyhow::ensure!(
        web["metadata"]["finalizers"]
            .to_string()
            .contains("tmc.kcp.io/sync"),
        "no sync finalizer on bob's web: {}",
        web["metadata"]
    );
    println!("bob's web runs on pool-east, synced by the narrow identity");

    let placement = r#"{"apiVersion":"tmc.kcp.io/v1alpha1","kind":"WorkloadPlacement","metadata":{"name":"alice-policy"},"spec":{"strategy":"RoundRobin"}}"#;
    alice_tmc.ok_stdin(&["create", "-f", "-"], Some(placement))?;
    kcp.kubectl_at(TEAM_A)
        .ok(&["get", "workloadplacements", "alice-policy"])?;
    println!("alice's WorkloadPlacement, written through tmc-server as alice, is in kcp");

    // kcp-admin is in system:kcp:admin, which tmc-server may not act for.
    let out = tmc.kubectl.at(tmc.url(TEAM_A)).run(
        &["create", "-f", "-"],
        Some(&placement.replace("alice-policy", "admin-policy")),
    );
    anyhow::ensure!(
        !out.success && out.stderr.contains("send it to kcp directly"),
        "a kcp admin's write through tmc-server: {} {}",
        out.stdout,
        out.stderr
    );
    println!("kcp admin → tmc-server write: {}", out.stderr.trim());

    let identity = Kubectl {
        binary: bob_kcp.binary.clone(),
        kubeconfig: tmc_identity.to_owned(),
        server: Some(kcp.url(TEAM_A)),
    };
    for args in [
        &["get", "secrets", "-A"][..],
        &["get", "deployments", "-A"][..],
        &["get", "workloadplacements"][..],
    ] {
        let out = identity.run(args, None);
        anyhow::ensure!(
            !out.success && out.stderr.contains("Forbidden"),
            "tmc-server's identity could run kubectl {args:?} in {TEAM_A}: {}",
            out.stdout
        );
    }
    println!("tmc-server's identity in kcp itself: Forbidden for secrets, deployments, workloadplacements");

    bob_kcp.ok(&["delete", "deployment", "web", "-n", "default", "--wait=false"])?;
    wait_for(
        "bob's web gone from kcp and pool-east",
        Duration::from_secs(60),
        || {
            let copies = names(&pool.kubectl.get_json(&managed).ok()?);
            let gone = !bob_kcp
                .run(&["get", "deployment", "web", "-n", "default"], None)
                .success;
            (gone && !copies.contains(&"web".to_owned())).then_some(())
        },
    )?;
    println!("bob deleted web: copy removed, finalizer released");
    Ok(())
}
