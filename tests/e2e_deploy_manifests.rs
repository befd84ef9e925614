//! The manifests in `deploy/` are accepted by the real servers they are for:
//! `deploy/kubernetes/tmc-server.yaml` by a real kube-apiserver and
//! `deploy/kubernetes/kcp-rbac.yaml` by a real kcp (provider workspace) and
//! `kcp-rbac-shard.yaml` by its `system:admin` logical cluster,
//! both with server-side dry-run (nothing is created but the namespace).

use tmc_harness::{components, repo_root, Etcd, KcpServer, PhysicalCluster, StackDir};

#[test]
fn deploy_manifests_pass_server_side_validation() {
    let dir = StackDir::new("deploy").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let etcd = Etcd::start(&bins, dir.path())?;
    let cluster = PhysicalCluster::start(&bins, &etcd, dir.path(), "deploy")?;
    let manifests = repo_root().join("deploy/kubernetes/tmc-server.yaml");
    // Dry-run cannot create the namespace its other objects go into.
    cluster.kubectl.ok(&["create", "namespace", "kcp-tmc"])?;
    let out = cluster.kubectl.ok(&[
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        manifests.to_str().expect("utf-8 path"),
    ])?;
    println!("kube-apiserver accepts deploy/kubernetes/tmc-server.yaml:\n{out}");
    for kind in [
        "deployment.apps/tmc-server",
        "service/tmc-server",
        "serviceaccount/tmc-server",
    ] {
        anyhow::ensure!(out.contains(kind), "{kind} missing from:\n{out}");
    }

    let kcp = KcpServer::start(&bins, dir.path())?;
    kcp.create_workspace("root:tmc")?;
    let rbac = repo_root().join("deploy/kubernetes/kcp-rbac.yaml");
    let out = kcp.kubectl_at("root:tmc").ok(&[
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        rbac.to_str().expect("utf-8 path"),
    ])?;
    println!("kcp accepts deploy/kubernetes/kcp-rbac.yaml:\n{out}");
    anyhow::ensure!(
        out.contains("clusterrole.rbac.authorization.k8s.io/tmc-server"),
        "{out}"
    );
    let shard = repo_root().join("deploy/kubernetes/kcp-rbac-shard.yaml");
    let out = kcp.kubectl.ok(&[
        "--context=system:admin",
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        shard.to_str().expect("utf-8 path"),
    ])?;
    println!("kcp's system:admin accepts deploy/kubernetes/kcp-rbac-shard.yaml:\n{out}");
    anyhow::ensure!(
        out.contains("clusterrole.rbac.authorization.k8s.io/tmc:server:shard"),
        "{out}"
    );
    Ok(())
}
