//! `kubectl tmc explain` rendering, from constructed engine inputs: no kcp, no clock.
//!
//! The snapshots here are what the plugin builds from kcp's JSON; the expected texts are what a
//! tenant reads. Logical-cluster names (`lc-team-a`, `lc-tmc`) key the engine inputs as the
//! controller keys them; the text shows workspace paths.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use kcp_tmc::api::PlacementStrategy;
use kcp_tmc::placement::record::{RecordedCluster, RecordedDecision, PLACEMENT_ANNOTATION};
use kcp_tmc::placement::{
    Cluster, ClusterId, GroupResource, Policy, Readiness, Resources, Settings, Workload, WorkloadKey,
    DEFAULT_POLICY_NAME,
};
use kcp_tmc::plugin::explain::render::change_line;
use kcp_tmc::plugin::explain::{
    parse_placement, parse_target, placement_policy, provider_url, render_explanation, render_what_if,
    what_if, workspace_path, Heading, Objects, Recorded, Snapshot, Workspace,
};
use kcp_tmc::selectors::LabelSelector;

const TEAM: &str = "lc-team-a";
const POOL: &str = "lc-tmc";

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 0).unwrap()
}

fn settings() -> Settings {
    Settings::new(at(0))
}

fn deployments() -> GroupResource {
    GroupResource::new("apps", "deployments")
}

/// A Ready shared cluster in `location` serving deployments and services.
fn shared(name: &str, location: &str) -> Cluster {
    let mut c = Cluster::new(ClusterId::new(POOL, name), location);
    c.apis.insert(deployments());
    c.apis.insert(GroupResource::new("", "services"));
    c
}

/// A deployment whose namespace has only the label kube-apiserver always sets.
fn deployment(namespace: &str, name: &str) -> Workload {
    let mut w = Workload::new(WorkloadKey {
        logical_cluster: TEAM.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        resource: deployments(),
    });
    w.namespace_labels
        .insert("kubernetes.io/metadata.name".to_owned(), namespace.to_owned());
    w
}

fn on(mut w: Workload, clusters: &[&str]) -> Workload {
    w.current = clusters.iter().map(|c| ClusterId::new(POOL, *c)).collect();
    w
}

fn policy(name: &str, strategy: PlacementStrategy, n: usize, created: i64) -> Policy {
    Policy {
        name: name.to_owned(),
        strategy,
        number_of_clusters: n,
        created: Some(at(created)),
        ..Policy::default_policy(TEAM)
    }
}

fn snapshot(workloads: Vec<Workload>, policies: Vec<Policy>, clusters: Vec<Cluster>) -> Snapshot {
    Snapshot::new(
        Workspace::new(TEAM, "root:team-a"),
        Some(Workspace::new(POOL, "root:tmc")),
        workloads,
        policies,
        clusters,
    )
}

/// The recorded decision a controller would have written for `clusters` under `policy`.
fn recorded(policy: &str, clusters: &[&str], reason: &str, message: &str) -> Recorded {
    Recorded::Decision(RecordedDecision {
        policy: policy.to_owned(),
        clusters: clusters
            .iter()
            .map(|c| RecordedCluster {
                workspace: POOL.to_owned(),
                name: (*c).to_owned(),
            })
            .collect(),
        reason: reason.to_owned(),
        message: message.to_owned(),
    })
}

fn explain(s: &Snapshot, namespace: &str, name: &str, recorded: &Recorded) -> String {
    let key = s.workload(&deployments(), namespace, name).unwrap().key.clone();
    let decision = s.decide(&key, &settings()).unwrap();
    let text = render_explanation(s, &key, recorded, &decision, Heading::Now);
    println!("{text}");
    text
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
    }
}

/// One cluster per filter rule, and two that pass: the text names each rule in words.
#[test]
fn each_rejected_cluster_names_the_rule_that_excluded_it() {
    let mut p = policy("web", PlacementStrategy::Spread, 2, -100);
    p.location_selector = LabelSelector::parse("region=us").unwrap();
    p.required_capabilities.insert("gpu".to_owned());
    let ok = |name: &str, location: &str| {
        let mut c = shared(name, location);
        c.labels.insert("region".to_owned(), "us".to_owned());
        c.capabilities.insert("gpu".to_owned());
        c
    };
    let mut down = ok("down", "us-east");
    down.ready = Readiness::NotReadySince(at(-600));
    let mut cordoned = ok("cordoned", "us-east");
    cordoned.unschedulable = true;
    let eu = shared("eu", "eu-west");
    let mut no_gpu = ok("no-gpu", "us-east");
    no_gpu.capabilities.clear();
    let mut no_api = ok("no-api", "us-east");
    no_api.apis.clear();
    let mut full = ok("full", "us-east");
    full.allocatable = Some(Resources {
        cpu_millis: 1000,
        memory_bytes: 1 << 30,
    });
    let mut w = on(deployment("shop", "web"), &["east", "gone"]);
    w.requests.cpu_millis = 2000;
    let s = snapshot(
        vec![w],
        vec![p],
        vec![
            down,
            cordoned,
            eu,
            no_gpu,
            no_api,
            full,
            ok("east", "us-east"),
            ok("west", "us-west"),
        ],
    );
    let text = explain(
        &s,
        "shop",
        "web",
        &recorded(
            "web",
            &["east", "gone"],
            "Placed",
            "placed on 2 of 2 wanted clusters",
        ),
    );
    assert_contains(
        &text,
        &[
            "deployment web in namespace shop, workspace root:team-a\n",
            "Recorded in kcp (annotation tmc.kcp.io/placement):\n  policy:   WorkloadPlacement \"web\"\n  \
             clusters: east, gone\n  status:   Placed: placed on 2 of 2 wanted clusters\n",
            "Decided now, from the current clusters and policies:\n  deployments.apps shop/web in root:team-a: \
             policy \"web\" (Spread, 2 clusters)\n  placed on 2 of 2 wanted clusters\n",
            "  east: selected, already placed here (score ",
            "  west: selected (score ",
            "  down: rejected — not Ready since ",
            "  cordoned: rejected — cordoned (spec.unschedulable=true)\n",
            "  eu: rejected — location \"eu-west\" and labels do not match the location selector \"region=us\"\n",
            "  no-gpu: rejected — required capability \"gpu\" is not available\n",
            "  no-api: rejected — does not serve deployments.apps\n",
            "  full: rejected — needs cpu 2000m, 1000m free\n",
            "  gone: released — the recorded cluster is no longer registered; the workload moves away\n",
            "\nChange: TMC will place it on west and remove it from gone.\n",
        ],
    );
    assert!(!text.contains("note:"), "west was the only choice left: {text}");
}

#[test]
fn an_unschedulable_workload_says_why_with_counts_per_rule() {
    let mut down = shared("east", "us-east");
    down.ready = Readiness::NotReadySince(at(-60));
    let mut cordoned = shared("west", "us-west");
    cordoned.unschedulable = true;
    let s = snapshot(vec![deployment("shop", "web")], vec![], vec![down, cordoned]);
    let text = explain(&s, "shop", "web", &Recorded::Missing);
    assert_contains(
        &text,
        &[
            "Recorded in kcp: not placed yet (no tmc.kcp.io/placement annotation on the workload)\n",
            "deployments.apps shop/web in root:team-a: the default placement (RoundRobin, 1 cluster)\n",
            "  unschedulable: no cluster fits: 0/2 clusters are available: 1 cordoned, 1 not Ready.\n",
            "\nChange: TMC will record that the workload cannot be placed: no cluster fits: 0/2 clusters are \
             available: 1 cordoned, 1 not Ready.\n",
        ],
    );
    assert!(!text.contains("note:"), "nothing is added: {text}");
}

#[test]
fn the_full_text_of_a_placement_that_is_up_to_date() {
    let s = snapshot(
        vec![on(deployment("shop", "web"), &["east"])],
        vec![],
        vec![shared("east", "us-east"), shared("west", "us-west")],
    );
    let text = explain(
        &s,
        "shop",
        "web",
        &recorded(
            DEFAULT_POLICY_NAME,
            &["east"],
            "Placed",
            "placed on 1 of 1 wanted clusters",
        ),
    );
    assert_eq!(
        text,
        "deployment web in namespace shop, workspace root:team-a\n\
         \n\
         Recorded in kcp (annotation tmc.kcp.io/placement):\n  \
         policy:   the default placement\n  \
         clusters: east\n  \
         status:   Placed: placed on 1 of 1 wanted clusters\n\
         \n\
         Decided now, from the current clusters and policies:\n  \
         deployments.apps shop/web in root:team-a: the default placement (RoundRobin, 1 cluster)\n  \
         placed on 1 of 1 wanted clusters\n  \
         east: selected, already placed here (score 115: strategy 0, headroom 15, preferred 0, sticky 100)\n  \
         west: eligible, not selected (rank 2) (score 75: strategy 60, headroom 15, preferred 0, sticky 0)\n\
         \n\
         No change: the recorded placement is what TMC decides now.\n"
    );
}

#[test]
fn a_difference_between_record_and_now_is_one_line() {
    // Recorded on east, which has since been cordoned: the workload moves to west.
    let mut east = shared("east", "us-east");
    east.unschedulable = true;
    let s = snapshot(
        vec![on(deployment("shop", "web"), &["east"])],
        vec![],
        vec![east, shared("west", "us-west")],
    );
    let rec = recorded(
        DEFAULT_POLICY_NAME,
        &["east"],
        "Placed",
        "placed on 1 of 1 wanted clusters",
    );
    let text = explain(&s, "shop", "web", &rec);
    assert_contains(
        &text,
        &[
            "  east: released — cordoned (spec.unschedulable=true); the workload moves away\n",
            "\nChange: TMC will place it on west and remove it from east.\n",
        ],
    );
    assert!(!text.contains("note:"), "west was the only choice left: {text}");

    // Only the policy changed: the workload stays, the record is updated.
    let s = snapshot(
        vec![on(deployment("shop", "web"), &["east"])],
        vec![policy("web", PlacementStrategy::Affinity, 1, 0)],
        vec![shared("east", "us-east")],
    );
    let key = s.workloads[0].key.clone();
    let decision = s.decide(&key, &settings()).unwrap();
    assert_eq!(
        change_line(&s.names(), rec.decision(), &decision, "will"),
        "Change: TMC will update the record (governed by WorkloadPlacement \"web\" (was the default \
         placement)); the workload stays on the same clusters."
    );

    // Not placed yet: placing it is the change.
    let s = snapshot(
        vec![deployment("shop", "web")],
        vec![],
        vec![shared("east", "us-east")],
    );
    let text = explain(&s, "shop", "web", &Recorded::Unreadable);
    assert_contains(
        &text,
        &[
            "Recorded in kcp: the tmc.kcp.io/placement annotation cannot be read; TMC places the workload afresh\n",
            "Change: TMC will place it on east.\n",
        ],
    );
}

#[test]
fn a_tolerated_not_ready_cluster_keeps_the_workload_and_says_until_when() {
    let mut east = shared("east", "us-east");
    east.ready = Readiness::NotReadySince(at(-60));
    let s = snapshot(
        vec![on(deployment("shop", "web"), &["east"])],
        vec![],
        vec![east, shared("west", "us-west")],
    );
    let rec = recorded(
        DEFAULT_POLICY_NAME,
        &["east"],
        "Placed",
        "placed on 1 of 1 wanted clusters",
    );
    let text = explain(&s, "shop", "web", &rec);
    assert_contains(
        &text,
        &[
            "east: selected, already placed here, NotReady but tolerated until 2025-06-15T15:10:40+00:00",
            "No change",
        ],
    );
}

#[test]
fn clusters_with_the_same_name_are_told_apart_by_workspace() {
    let mut own = Cluster::new(ClusterId::new(TEAM, "east"), "us-east");
    own.apis.insert(deployments());
    own.unschedulable = true;
    let s = snapshot(
        vec![deployment("shop", "web")],
        vec![],
        vec![own, shared("east", "us-east")],
    );
    let text = explain(&s, "shop", "web", &Recorded::Missing);
    assert_contains(
        &text,
        &[
            "  root:tmc/east: selected (score",
            "  root:team-a/east: rejected — cordoned",
            "Change: TMC will place it on root:tmc/east.\n",
        ],
    );
    assert!(
        !text.contains("lc-"),
        "logical-cluster names stay out of the text: {text}"
    );
}

fn labelled(mut w: Workload, key: &str, value: &str) -> Workload {
    w.labels.insert(key.to_owned(), value.to_owned());
    w
}

#[test]
fn what_if_shows_what_the_policy_would_govern_and_take_over() {
    // "base" (oldest) governs app=db; "front" (newer) governs tier=front; the rest is default.
    let mut base = policy("base", PlacementStrategy::RoundRobin, 1, -200);
    base.workload_selector = LabelSelector::parse("app=db").unwrap();
    let mut front = policy("front", PlacementStrategy::RoundRobin, 1, -100);
    front.workload_selector = LabelSelector::parse("tier=front").unwrap();
    let web = on(labelled(deployment("shop", "web"), "tier", "front"), &["east"]);
    let api = on(deployment("shop", "api"), &["west"]);
    let db = on(labelled(deployment("shop", "db"), "app", "db"), &["east"]);
    let mut down = shared("down", "eu");
    down.ready = Readiness::NotReadySince(at(-60));
    let s = snapshot(
        vec![web, api, db],
        vec![base, front],
        vec![shared("east", "us-east"), shared("west", "us-west"), down],
    );

    // A new policy for the whole namespace, two clusters spread over locations.
    let mut tried = policy("spread", PlacementStrategy::Spread, 2, 0);
    tried.created = None;
    tried.namespace_selector = LabelSelector::parse("kubernetes.io/metadata.name=shop").unwrap();
    let result = what_if(&s, tried.clone(), &settings());
    assert!(!result.replaces);
    let text = render_what_if(&s, &result);
    println!("{text}");
    assert_eq!(
        text,
        "What if WorkloadPlacement \"spread\" (Spread, 2 clusters) were applied in workspace root:team-a:\n\
         \n\
         It would govern 1 workload:\n  \
         deployment shop/api → east, west\n      \
         placed on 2 of 2 wanted clusters; now on west; would add east; taken from the default placement\n\
         \n\
         It also matches 2 workloads that an older policy keeps (the oldest matching policy applies):\n  \
         deployment shop/db stays with WorkloadPlacement \"base\"\n  \
         deployment shop/web stays with WorkloadPlacement \"front\"\n\
         \n\
         nothing was changed\n"
    );

    // Updating "front" (it keeps its age) to match everything takes api from the default
    // placement, but not db from the older "base"; web stays where it is.
    let mut wider = policy("front", PlacementStrategy::RoundRobin, 1, 0);
    wider.created = None;
    let result = what_if(&s, wider, &settings());
    assert!(result.replaces);
    assert_eq!(
        result.policy.created,
        Some(at(-100)),
        "an update keeps the policy's age"
    );
    let text = render_what_if(&s, &result);
    println!("{text}");
    assert_contains(
        &text,
        &[
            "were applied in workspace root:team-a, replacing the existing one:\n",
            "It would govern 2 workloads:\n",
            "  deployment shop/api → west\n      placed on 1 of 1 wanted clusters; stays where it is; taken \
             from the default placement\n",
            "  deployment shop/web → east\n      placed on 1 of 1 wanted clusters; stays where it is\n",
            "  deployment shop/db stays with WorkloadPlacement \"base\"\n",
        ],
    );

    // Narrowing "front" to nothing gives web back to the default placement.
    let mut narrow = policy("front", PlacementStrategy::RoundRobin, 1, 0);
    narrow.workload_selector = LabelSelector::parse("tier=none").unwrap();
    let text = render_what_if(&s, &what_if(&s, narrow, &settings()));
    println!("{text}");
    assert_contains(
        &text,
        &[
            "It would govern no workload of this workspace.\n",
            "It would no longer govern 1 workload:\n  deployment shop/web → east under the default placement\n",
            "\nnothing was changed\n",
        ],
    );
}

#[test]
fn what_if_reports_workloads_that_would_fit_nowhere() {
    let mut p = policy("gpu", PlacementStrategy::RoundRobin, 1, 0);
    p.required_capabilities.insert("gpu".to_owned());
    let s = snapshot(
        vec![deployment("ml", "train")],
        vec![],
        vec![shared("east", "us-east")],
    );
    let text = render_what_if(&s, &what_if(&s, p, &settings()));
    println!("{text}");
    assert_contains(
        &text,
        &[
            "  deployment ml/train → nowhere\n      no cluster fits: 0/1 clusters are available: 1 missing \
             capability gpu; taken from the default placement\n",
        ],
    );
}

#[test]
fn snapshots_from_kcp_json_are_keyed_by_logical_cluster_names() {
    let annotated = |lc: &str, extra: serde_json::Value| {
        let mut v = extra;
        v["metadata"]["annotations"]["kcp.io/cluster"] = json!(lc);
        v
    };
    let record = RecordedDecision {
        policy: DEFAULT_POLICY_NAME.to_owned(),
        clusters: vec![RecordedCluster {
            workspace: POOL.to_owned(),
            name: "east".to_owned(),
        }],
        reason: "Placed".to_owned(),
        message: "placed on 1 of 1 wanted clusters".to_owned(),
    };
    let web = annotated(
        TEAM,
        json!({"metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                "annotations": {PLACEMENT_ANNOTATION: record.to_annotation()}},
               "spec": {"replicas": 2, "template": {"spec": {"containers": [
                   {"resources": {"requests": {"cpu": "100m"}}}]}}}}),
    );
    let registration = |name: &str| {
        annotated(
            POOL,
            json!({"metadata": {"name": name}, "spec": {"location": "us-east"},
                   "status": {"conditions": [{"type": "Ready", "status": "True"}],
                              "connectedAPIs": [{"group": "apps", "resource": "deployments", "connected": true}]}}),
        )
    };
    let objects = Objects {
        workspace_path: "root:team-a".to_owned(),
        workloads: vec![(deployments(), web.clone())],
        namespaces: vec![annotated(
            TEAM,
            json!({"metadata": {"name": "shop", "labels": {"env": "prod"}}}),
        )],
        policies: vec![
            annotated(
                TEAM,
                json!({"metadata": {"name": "prod", "creationTimestamp": "2025-01-01T00:00:00Z"},
                       "spec": {"namespaceSelector": {"matchLabels": {"env": "prod"}}}}),
            ),
            annotated(
                TEAM,
                json!({"metadata": {"name": "broken"},
                       "spec": {"workloadSelector": {"matchExpressions": [{"key": "a", "operator": "Nope"}]}}}),
            ),
        ],
        clusters: vec![],
        provider: Some((
            "root:tmc".to_owned(),
            vec![registration("east"), registration("west")],
        )),
        provider_unread: None,
    };
    let (s, warnings) = Snapshot::from_objects(&objects);
    assert_eq!(s.workspace, Workspace::new(TEAM, "root:team-a"));
    assert_eq!(s.provider, Some(Workspace::new(POOL, "root:tmc")));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("WorkloadPlacement \"broken\" is left out"),
        "{warnings:?}"
    );
    let w = &s.workloads[0];
    assert_eq!(w.key.logical_cluster, TEAM);
    assert_eq!(w.current, [ClusterId::new(POOL, "east")]);
    assert_eq!(w.requests.cpu_millis, 200);
    assert_eq!(w.namespace_labels["env"], "prod");
    let east = s.clusters.iter().find(|c| c.id.name == "east").unwrap();
    assert_eq!(
        (east.placed_workloads, east.committed.cpu_millis),
        (1, 200),
        "load counted"
    );

    let key = w.key.clone();
    let decision = s.decide(&key, &settings()).unwrap();
    assert_eq!(decision.policy, "prod", "the namespace selector matched");
    let text = render_explanation(&s, &key, &Recorded::from_object(&web), &decision, Heading::Now);
    println!("{text}");
    assert_contains(
        &text,
        &[
            "policy:   the default placement",
            "east: selected, already placed here",
            "Change: TMC will update the record (governed by WorkloadPlacement \"prod\" (was the default \
             placement)); the workload stays on the same clusters.",
        ],
    );
    assert_eq!(Recorded::from_object(&json!({"metadata": {}})), Recorded::Missing);
}

#[test]
fn a_what_if_explanation_of_one_workload_says_would() {
    let s = snapshot(
        vec![on(deployment("shop", "web"), &["east"])],
        vec![],
        vec![shared("east", "us-east"), shared("west", "us-west")],
    );
    let p = policy("two", PlacementStrategy::Spread, 2, 0);
    let result = what_if(&s, p, &settings());
    let key = s.workloads[0].key.clone();
    let rec = recorded(
        DEFAULT_POLICY_NAME,
        &["east"],
        "Placed",
        "placed on 1 of 1 wanted clusters",
    );
    let text = render_explanation(&s, &key, &rec, &result.decisions[0], Heading::WhatIf("p.yaml"));
    println!("{text}");
    assert_contains(
        &text,
        &[
            "Decided with p.yaml applied:\n  deployments.apps shop/web in root:team-a: policy \"two\" (Spread, 2 clusters)\n",
            "Change: TMC would place it on west. It is governed by WorkloadPlacement \"two\" (was the default placement).\n",
        ],
    );
    assert!(!text.contains("note:"), "west was the only choice left: {text}");
}

#[test]
fn targets_are_spelled_as_kubectl_spells_them() {
    let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    for spelling in [
        "deployment/web",
        "deploy/web",
        "deployments.apps/web",
        "Deployment/web",
        "deployment web",
    ] {
        let t = parse_target(&words(spelling)).unwrap();
        assert_eq!(
            (t.resource.to_string(), t.name.as_str()),
            ("deployments.apps".to_owned(), "web")
        );
    }
    for spelling in ["service/web", "svc/web", "services web"] {
        assert_eq!(
            parse_target(&words(spelling)).unwrap().resource.to_string(),
            "services"
        );
    }
    for (bad, needle) in [
        ("pod/web", "TMC places deployments and services"),
        ("web", "name the workload as TYPE/NAME"),
        ("deployment/", "is not a valid object name"),
        ("deployment/Web", "is not a valid object name"),
        ("deployment/web extra", "name the workload as TYPE/NAME"),
    ] {
        let err = parse_target(&words(bad)).unwrap_err();
        assert!(err.contains(needle), "{bad}: {err}");
    }
}

#[test]
fn placements_are_read_from_yaml_or_json_and_checked() {
    let yaml = "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata:\n  name: web\n\
                spec:\n  strategy: Spread\n  numberOfClusters: 2\n  locationSelector:\n    matchLabels: {region: us}\n";
    let p = placement_policy(&parse_placement(yaml).unwrap()).unwrap();
    assert_eq!(
        (p.name.as_str(), p.strategy, p.number_of_clusters),
        ("web", PlacementStrategy::Spread, 2)
    );
    let json = r#"{"apiVersion": "tmc.kcp.io/v1alpha1", "kind": "WorkloadPlacement", "metadata": {"name": "j"}, "spec": {}}"#;
    assert_eq!(
        placement_policy(&parse_placement(json).unwrap()).unwrap().name,
        "j"
    );
    for (bad, needle) in [
        ("", "holds no object"),
        ("{", "not valid YAML or JSON"),
        (
            "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}",
            "found apps/v1 Deployment",
        ),
        (
            "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\n",
            "has no metadata.name",
        ),
        (&format!("{json}\n---\n{json}"), "holds 2 objects"),
    ] {
        let err = parse_placement(bad).unwrap_err();
        assert!(err.contains(needle), "{bad:?}: {err}");
    }
    let invalid = parse_placement(
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: x}\n\
         spec: {workloadSelector: {matchExpressions: [{key: a, operator: Nope}]}}",
    )
    .unwrap();
    assert!(placement_policy(&invalid).is_err());
}

#[test]
fn the_provider_workspace_is_addressed_through_the_same_server() {
    assert_eq!(
        workspace_path("https://127.0.0.1:6443/clusters/root:team-a").as_deref(),
        Some("root:team-a")
    );
    assert_eq!(
        provider_url("https://127.0.0.1:6443/clusters/root:team-a", "root:tmc").as_deref(),
        Some("https://127.0.0.1:6443/clusters/root:tmc")
    );
    assert_eq!(
        provider_url("https://proxy/prefix/clusters/root:team-a/", "root:tmc").as_deref(),
        Some("https://proxy/prefix/clusters/root:tmc/")
    );
    assert_eq!(workspace_path("https://127.0.0.1:6443"), None);
    assert_eq!(provider_url("https://127.0.0.1:6443/", "root:tmc"), None);
}

#[test]
fn choosing_among_shared_clusters_notes_the_load_a_tenant_cannot_see() {
    let s = snapshot(
        vec![deployment("shop", "web")],
        vec![],
        vec![shared("east", "us-east"), shared("west", "us-west")],
    );
    let text = explain(&s, "shop", "web", &Recorded::Missing);
    assert!(
        text.ends_with(
            "note: the shared clusters of root:tmc also run other workspaces' workloads, which this \
             command cannot see; their load may lead TMC to another cluster\n"
        ),
        "{text}"
    );
    // The workspace's own clusters carry only its own workloads: no note.
    let own = |name: &str| {
        let mut c = Cluster::new(ClusterId::new(TEAM, name), "here");
        c.apis.insert(deployments());
        c
    };
    let s = snapshot(vec![deployment("shop", "web")], vec![], vec![own("a"), own("b")]);
    assert!(!explain(&s, "shop", "web", &Recorded::Missing).contains("note:"));
}

#[test]
fn without_the_shared_pool_recorded_shared_clusters_are_not_called_gone() {
    let mut s = Snapshot::new(
        Workspace::new(TEAM, "root:team-a"),
        None,
        vec![on(deployment("shop", "web"), &["east"])],
        vec![],
        vec![],
    );
    s.provider_unread = Some("root:tmc".to_owned());
    let rec = recorded(
        DEFAULT_POLICY_NAME,
        &["east"],
        "Placed",
        "placed on 1 of 1 wanted clusters",
    );
    let text = explain(&s, "shop", "web", &rec);
    assert!(
        text.ends_with(
            "\ncaution: the shared clusters of root:tmc could not be read, so clusters recorded from there \
             look deregistered here; TMC sees them and may keep the workload on them\n\
             Change: TMC will remove it from east.\n"
        ),
        "{text}"
    );
    let tried = policy("p", PlacementStrategy::RoundRobin, 1, 0);
    let text = render_what_if(&s, &what_if(&s, tried, &settings()));
    assert!(
        text.contains("\ncaution: the shared clusters of root:tmc could not be read"),
        "{text}"
    );
}
