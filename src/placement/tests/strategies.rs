//! RoundRobin, Affinity, Spread, headroom and preferred capabilities; batches.

use std::collections::BTreeMap;

use super::*;
use crate::api::PlacementStrategy;

#[test]
fn round_robin_prefers_the_least_loaded() {
    let mut a = cluster("a", "x");
    a.placed_workloads = 3;
    let mut b = cluster("b", "x");
    b.placed_workloads = 1;
    let mut c = cluster("c", "x");
    c.placed_workloads = 2;
    let d = run(&workload("ns", "w"), &default_policy(), &[a, b, c]);
    assert_eq!(names(&d.selected), ["b"]);
    let VerdictResult::Eligible { score, rank, .. } = verdict(&d, "c").result else {
        panic!()
    };
    assert_eq!((score.strategy, rank), (30, 2));
}

#[test]
fn round_robin_rotates_over_equal_clusters() {
    let clusters: Vec<Cluster> = (0..4).map(|i| cluster(&format!("c{i}"), "x")).collect();
    let chosen: std::collections::BTreeSet<String> = (0..40)
        .map(|i| {
            run(&workload("ns", &format!("w{i}")), &default_policy(), &clusters).selected[0]
                .name
                .clone()
        })
        .collect();
    assert_eq!(chosen.len(), 4, "equal clusters take turns: {chosen:?}");
}

#[test]
fn a_batch_balances_round_robin_exactly() {
    let clusters: Vec<Cluster> = (0..3).map(|i| cluster(&format!("c{i}"), "x")).collect();
    let workloads: Vec<Workload> = (0..30).map(|i| workload("ns", &format!("w{i}"))).collect();
    let decisions = place_all(&workloads, &[], &clusters, &settings());
    let mut per_cluster: BTreeMap<String, usize> = BTreeMap::new();
    for d in &decisions {
        assert_eq!(d.policy, DEFAULT_POLICY_NAME);
        *per_cluster.entry(d.selected[0].name.clone()).or_default() += 1;
    }
    assert_eq!(per_cluster.values().copied().collect::<Vec<_>>(), [10, 10, 10]);
}

#[test]
fn affinity_follows_the_namespace() {
    let mut busy = cluster("busy", "x");
    busy.placed_workloads = 10;
    let clusters = [busy, cluster("idle", "x")];
    let p = policy("p", PlacementStrategy::Affinity, 1);
    // Without peers, the least loaded cluster.
    let first = run(&workload("shop", "api"), &p, &clusters);
    assert_eq!(names(&first.selected), ["idle"]);

    let mut peer = workload("shop", "db");
    peer.current = vec![id("busy")];
    let state = PlacementState::from_current(&[peer], std::slice::from_ref(&p));
    let d = decide(&workload("shop", "api"), &p, &clusters, &settings(), &state);
    assert_eq!(names(&d.selected), ["busy"]);
    // Another namespace is not attracted.
    let d = decide(&workload("blog", "api"), &p, &clusters, &settings(), &state);
    assert_eq!(names(&d.selected), ["idle"]);
}

#[test]
fn spread_takes_distinct_locations_first() {
    let clusters = [
        cluster("east-1", "east"),
        cluster("east-2", "east"),
        cluster("west-1", "west"),
    ];
    let d = run(
        &workload("ns", "w"),
        &policy("p", PlacementStrategy::Spread, 2),
        &clusters,
    );
    let locations: Vec<&str> = d
        .verdicts
        .iter()
        .filter(|v| v.is_selected())
        .map(|v| v.location.as_str())
        .collect();
    assert_eq!(locations, ["east", "west"]);
    let d = run(
        &workload("ns", "w"),
        &policy("p", PlacementStrategy::Spread, 3),
        &clusters,
    );
    assert_eq!(d.selected.len(), 3);
}

#[test]
fn spread_prefers_the_least_used_location_of_its_policy() {
    let clusters = [cluster("east-1", "east"), cluster("west-1", "west")];
    let p = policy("p", PlacementStrategy::Spread, 1);
    let mut other = workload("ns", "other");
    other.current = vec![id("east-1")];
    let state = PlacementState::from_current(std::slice::from_ref(&other), std::slice::from_ref(&p));
    let d = decide(&workload("ns", "w"), &p, &clusters, &settings(), &state);
    assert_eq!(names(&d.selected), ["west-1"]);
    // Placements of another policy do not count.
    let q = policy("q", PlacementStrategy::Spread, 1);
    let state = PlacementState::from_current(&[other], &[q]);
    let d1 = decide(&workload("ns", "w"), &p, &clusters, &settings(), &state);
    let d2 = decide(
        &workload("ns", "w"),
        &p,
        &clusters,
        &settings(),
        &PlacementState::new(),
    );
    assert_eq!(d1.selected, d2.selected);
}

#[test]
fn record_counts_added_and_released_clusters() {
    let p = policy("p", PlacementStrategy::Spread, 1);
    let mut cordoned = cluster("old", "east");
    cordoned.unschedulable = true;
    let mut w = workload("ns", "w");
    w.current = vec![id("old")];
    let mut state = PlacementState::from_current(std::slice::from_ref(&w), std::slice::from_ref(&p));
    assert_eq!(state.policy_counts("root:team-a", "p").unwrap()[&id("old")], 1);
    let d = decide(&w, &p, &[cordoned, cluster("new", "west")], &settings(), &state);
    state.record(&d);
    let counts = state.policy_counts("root:team-a", "p").unwrap();
    assert_eq!(counts.get(&id("old")), None);
    assert_eq!(counts[&id("new")], 1);
    assert_eq!(
        state.namespace_counts("root:team-a", "ns").unwrap()[&id("new")],
        1
    );
}

#[test]
fn headroom_favours_free_capacity_and_is_neutral_when_unknown() {
    let mut roomy = cluster("roomy", "x");
    roomy.allocatable = Some(Resources {
        cpu_millis: 10_000,
        memory_bytes: 10 << 30,
    });
    let mut tight = cluster("tight", "x");
    tight.allocatable = Some(Resources {
        cpu_millis: 10_000,
        memory_bytes: 10 << 30,
    });
    tight.committed = Resources {
        cpu_millis: 9_000,
        memory_bytes: 0,
    };
    let unknown = cluster("unknown", "x");
    let mut w = workload("ns", "w");
    w.requests = Resources {
        cpu_millis: 1_000,
        memory_bytes: 0,
    };
    let d = run(
        &w,
        &policy("p", PlacementStrategy::RoundRobin, 3),
        &[roomy, tight, unknown],
    );
    let headroom = |name| match verdict(&d, name).result {
        VerdictResult::Eligible { score, .. } => score.headroom,
        _ => panic!(),
    };
    assert_eq!(headroom("roomy"), 27);
    assert_eq!(headroom("tight"), 0);
    assert_eq!(headroom("unknown"), HEADROOM_POINTS / 2);
    assert!(d
        .explain()
        .lines()
        .nth(2)
        .unwrap()
        .starts_with("roomy: selected (score 87"));
}

#[test]
fn preferred_capabilities_add_points() {
    let mut p = default_policy();
    p.preferred_capabilities = ["ssd".to_owned(), "gpu".to_owned()].into();
    let mut ssd = cluster("ssd", "x");
    ssd.capabilities.insert("ssd".to_owned());
    ssd.placed_workloads = 1;
    let mut both = cluster("both", "x");
    both.capabilities = ["ssd".to_owned(), "gpu".to_owned()].into();
    both.placed_workloads = 1;
    let d = run(&workload("ns", "w"), &p, &[ssd, both]);
    assert_eq!(names(&d.selected), ["both"]);
    let VerdictResult::Eligible { score, .. } = verdict(&d, "ssd").result else {
        panic!()
    };
    assert_eq!(score.preferred, PREFERRED_POINTS / 2);
}

#[test]
fn explain_lists_selected_then_eligible_then_rejected() {
    let mut cordoned = cluster("a-cordoned", "x");
    cordoned.unschedulable = true;
    let mut busy = cluster("b-busy", "x");
    busy.placed_workloads = 2;
    let d = run(
        &workload("ns", "w"),
        &default_policy(),
        &[cordoned, busy, cluster("c-idle", "x")],
    );
    let text = d.explain();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "deployments.apps ns/w in root:team-a: the default placement (RoundRobin, 1 cluster)"
    );
    assert_eq!(lines[1], "placed on 1 of 1 wanted clusters");
    assert_eq!(
        lines[2],
        "c-idle: selected (score 75: strategy 60, headroom 15, preferred 0, sticky 0)"
    );
    assert_eq!(
        lines[3],
        "b-busy: eligible, not selected (rank 2) (score 15: strategy 0, headroom 15, preferred 0, sticky 0)"
    );
    assert_eq!(
        lines[4],
        "a-cordoned: rejected — cordoned (spec.unschedulable=true)"
    );
    assert_eq!(d.placed_condition().status, crate::api::ConditionStatus::True);
}

#[test]
fn explain_qualifies_ambiguous_names() {
    let a = Cluster {
        apis: [deployments()].into(),
        ..Cluster::new(ClusterId::new("root:one", "east"), "x")
    };
    let b = Cluster {
        apis: [deployments()].into(),
        ..Cluster::new(ClusterId::new("root:two", "east"), "x")
    };
    let text = run(&workload("ns", "w"), &default_policy(), &[a, b]).explain();
    assert!(text.contains("root:one/east: "), "{text}");
    assert!(text.contains("root:two/east: "), "{text}");
}
