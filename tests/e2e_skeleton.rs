//! End to end, against a real kcp and the real kubectl: ClusterRegistrations
//! created through kcp in two tenant workspaces are served by tmc-server per
//! workspace (by path and by logical-cluster name) and across all of them
//! (`*`), exactly as kcp stores them, and new ones appear without a restart.

use std::time::Duration;

use serde_json::Value;
use tmc_harness::{components, wait_for, Etcd, KcpServer, PhysicalCluster, StackDir, TmcServer};

const PROVIDER: &str = "root:tmc";

fn registration(name: &str, location: &str) -> String {
    format!(
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: {name}\n  labels:\n    location: {location}\nspec:\n  location: {location}\n"
    )
}

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list["items"]
        .as_array()
        .expect("a list has items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().expect("named").to_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn tmc_server_serves_cluster_registrations_per_workspace() {
    let dir = StackDir::new("skeleton").expect("temp dir");
    // Panicking while `dir` is alive keeps every process's log for diagnosis.
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;

    // The harness also runs physical clusters: one here proves it works.
    let etcd = Etcd::start(&bins, dir.path())?;
    let east = PhysicalCluster::start(&bins, &etcd, dir.path(), "east")?;
    assert!(east
        .kubectl
        .ok(&["get", "namespaces", "-o", "name"])?
        .contains("namespace/default"));

    let clusters = kcp.setup_provider_and_tenants(PROVIDER, &["root:team-a", "root:team-b"])?;
    let cluster_a = clusters[0].clone();
    let team_a = kcp.kubectl_at("root:team-a");
    let team_b = kcp.kubectl_at("root:team-b");
    team_a.apply(&registration("east", "us-east"))?;
    team_a.apply(&registration("west", "us-west"))?;
    team_b.apply(&registration("north", "eu-north"))?;

    let tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[],
    )?;

    // Workspace A by path and by logical-cluster name: exactly A's.
    for target in ["root:team-a", cluster_a.as_str()] {
        let list = tmc.kubectl_at(target).get_json(&["clusterregistrations"])?;
        assert_eq!(names(&list), ["east", "west"], "through {target}");
        assert_eq!(list["kind"], "List");
    }
    let b = tmc.kubectl_at("root:team-b").get_json(&["cr"])?;
    assert_eq!(names(&b), ["north"]);

    // The wildcard sees both workspaces.
    let all = tmc.kubectl_at("*").get_json(&["clusterregistrations"])?;
    assert_eq!(names(&all), ["east", "north", "west"]);

    // Default table output comes from the types' print columns.
    let table = tmc
        .kubectl_at("root:team-a")
        .ok(&["get", "clusterregistrations"])?;
    let header = table.lines().next().unwrap_or_default();
    for col in ["NAME", "LOCATION", "READY", "AGE"] {
        assert!(header.contains(col), "missing column {col} in:\n{table}");
    }
    assert!(table.contains("us-west"), "{table}");

    // `get -o yaml` returns the object kcp stored, with the live workload
    // count of the decisions controller (kcp's copy has none).
    let mut via_tmc: Value = serde_yaml::from_str(
        &tmc.kubectl_at("root:team-a")
            .ok(&["get", "cr", "east", "-o", "yaml"])?,
    )?;
    assert_eq!(via_tmc["status"]["workloadCount"], 0, "no workload is placed");
    if let Some(status) = via_tmc["status"].as_object_mut() {
        status.remove("workloadCount");
    }
    let via_kcp = team_a.get_json(&["clusterregistrations", "east"])?;
    for field in ["spec", "status"] {
        assert_eq!(via_tmc[field], via_kcp[field], "{field}");
    }
    for field in ["uid", "resourceVersion", "name", "labels", "creationTimestamp"] {
        assert_eq!(
            via_tmc["metadata"][field], via_kcp["metadata"][field],
            "metadata.{field}"
        );
    }

    // A missing name reads as kube-apiserver's NotFound.
    let missing = tmc.kubectl_at("root:team-a").run(&["get", "cr", "nope"], None);
    assert!(!missing.success);
    assert!(
        missing
            .stderr
            .contains(r#"Error from server (NotFound): clusterregistrations.tmc.kcp.io "nope" not found"#),
        "{}",
        missing.stderr
    );
    // Team B's object is not visible through team A.
    assert!(
        !tmc.kubectl_at("root:team-a")
            .run(&["get", "cr", "north"], None)
            .success
    );

    // A new registration appears without restarting tmc-server.
    team_b.apply(&registration("south", "eu-south"))?;
    let k = tmc.kubectl_at("root:team-b");
    wait_for(
        "the new registration to be served",
        Duration::from_secs(30),
        || {
            let l = k.get_json(&["clusterregistrations"]).ok()?;
            (names(&l) == ["north", "south"]).then_some(())
        },
    )?;
    // And a deletion disappears.
    team_b.ok(&["delete", "clusterregistration", "north"])?;
    wait_for(
        "the deleted registration to disappear",
        Duration::from_secs(30),
        || {
            let l = k.get_json(&["clusterregistrations"]).ok()?;
            (names(&l) == ["south"]).then_some(())
        },
    )?;
    tmc.assert_log_free_of(&kcp, &[])?;
    Ok(())
}
