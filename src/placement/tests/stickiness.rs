//! Durable decisions and failover.

use std::time::Duration;

use super::*;
use crate::api::PlacementStrategy;

#[test]
fn healthy_current_cluster_is_kept_over_a_better_one() {
    let mut busy = cluster("busy", "x");
    busy.placed_workloads = 100;
    let mut w = workload("ns", "w");
    w.current = vec![id("busy")];
    let d = run(&w, &default_policy(), &[busy, cluster("idle", "x")]);
    assert_eq!(names(&d.selected), ["busy"]);
    assert_eq!(d.outcome, Outcome::Placed);
    assert_eq!(d.added().count(), 0);
    assert_eq!(d.released().count(), 0);
    let VerdictResult::Eligible { score, .. } = verdict(&d, "busy").result else {
        panic!()
    };
    assert_eq!(score.stickiness, STICKY_POINTS);
}

#[test]
fn adding_a_cluster_moves_nothing() {
    let w = workload("ns", "w");
    let clusters = vec![cluster("a", "x"), cluster("b", "y")];
    let first = run(&w, &policy("p", PlacementStrategy::Spread, 2), &clusters);
    let mut placed = w.clone();
    placed.current = first.selected.clone();
    let mut more = clusters.clone();
    more.push(cluster("c", "z"));
    let again = run(&placed, &policy("p", PlacementStrategy::Spread, 2), &more);
    assert_eq!(again.selected, first.selected);
}

#[test]
fn not_ready_current_cluster_is_tolerated_then_replaced() {
    let mut down = cluster("down", "x");
    down.ready = Readiness::NotReadySince(at(-60));
    let mut w = workload("ns", "w");
    w.current = vec![id("down")];
    let clusters = [down, cluster("spare", "x")];

    let d = run(&w, &default_policy(), &clusters);
    assert_eq!(names(&d.selected), ["down"], "within the 5m toleration");
    assert_eq!(d.revisit_at, Some(at(240)));
    let VerdictResult::Eligible { tolerated_until, .. } = verdict(&d, "down").result else {
        panic!()
    };
    assert_eq!(tolerated_until, Some(at(240)));
    assert!(d.explain().contains("NotReady but tolerated until"));

    let later = Settings {
        now: at(240),
        ..settings()
    };
    let d = decide(&w, &default_policy(), &clusters, &later, &PlacementState::new());
    assert_eq!(names(&d.selected), ["spare"]);
    assert_eq!(rule(&d, "down"), Some(&FilterRule::NotReady));
    assert_eq!(
        d.released().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["down"]
    );
    assert_eq!(d.added().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["spare"]);
    assert_eq!(d.revisit_at, None);
    assert!(
        d.explain().contains("down: released — not Ready since"),
        "{}",
        d.explain()
    );

    let strict = Settings {
        not_ready_toleration: Duration::ZERO,
        now: at(0),
    };
    let d = decide(&w, &default_policy(), &clusters, &strict, &PlacementState::new());
    assert_eq!(names(&d.selected), ["spare"]);
}

#[test]
fn failover_without_a_spare_says_so() {
    let mut down = cluster("down", "x");
    down.ready = Readiness::NotReadySince(at(-600));
    let mut w = workload("ns", "w");
    w.current = vec![id("down")];
    let d = run(&w, &default_policy(), &[down]);
    assert!(d.selected.is_empty());
    assert!(matches!(d.outcome, Outcome::Unschedulable { .. }));
}

#[test]
fn cordoned_current_cluster_is_replaced() {
    let mut cordoned = cluster("cordoned", "x");
    cordoned.unschedulable = true;
    let mut w = workload("ns", "w");
    w.current = vec![id("cordoned")];
    let d = run(&w, &default_policy(), &[cordoned, cluster("spare", "x")]);
    assert_eq!(names(&d.selected), ["spare"]);
    let VerdictResult::Rejected { message, .. } = &verdict(&d, "cordoned").result else {
        panic!()
    };
    assert!(message.contains("moves away"), "{message}");
}

#[test]
fn unknown_current_cluster_is_kept() {
    let mut unknown = cluster("unknown", "x");
    unknown.ready = Readiness::Unknown;
    let mut w = workload("ns", "w");
    w.current = vec![id("unknown")];
    let d = run(&w, &default_policy(), &[unknown, cluster("spare", "x")]);
    assert_eq!(names(&d.selected), ["unknown"]);
    assert_eq!(d.revisit_at, None);
}

#[test]
fn deregistered_current_cluster_gets_a_verdict_and_is_replaced() {
    let mut w = workload("ns", "w");
    w.current = vec![id("gone"), id("gone")];
    let d = run(&w, &default_policy(), &[cluster("spare", "x")]);
    assert_eq!(names(&d.selected), ["spare"]);
    assert_eq!(d.verdicts.len(), 2);
    assert_eq!(rule(&d, "gone"), Some(&FilterRule::NotRegistered));
    assert!(verdict(&d, "gone").current);
    // Deregistered clusters are not counted as candidates.
    assert_eq!(d.outcome, Outcome::Placed);
}

#[test]
fn current_clusters_beyond_the_wanted_number_keep_the_best_ranked() {
    let mut a = cluster("a", "x");
    a.placed_workloads = 5;
    let b = cluster("b", "x");
    let mut w = workload("ns", "w");
    w.current = vec![id("a"), id("b")];
    let d = run(&w, &default_policy(), &[a, b]);
    assert_eq!(names(&d.selected), ["b"]);
    assert!(d.explain().contains("a: released, rank 2"), "{}", d.explain());
}

#[test]
fn capacity_is_not_rechecked_on_a_current_cluster() {
    let mut full = cluster("full", "x");
    full.allocatable = Some(Resources {
        cpu_millis: 1000,
        memory_bytes: 1 << 30,
    });
    full.committed = full.allocatable.unwrap();
    let mut w = workload("ns", "w");
    w.requests = Resources {
        cpu_millis: 1000,
        memory_bytes: 1 << 30,
    };
    w.current = vec![id("full")];
    let d = run(&w, &default_policy(), &[full]);
    assert_eq!(names(&d.selected), ["full"]);
}

#[test]
fn a_policy_change_that_excludes_a_current_cluster_moves_the_workload() {
    let mut p = default_policy();
    p.required_capabilities.insert("gpu".to_owned());
    let mut gpu = cluster("gpu", "x");
    gpu.capabilities.insert("gpu".to_owned());
    let mut w = workload("ns", "w");
    w.current = vec![id("plain")];
    let d = run(&w, &p, &[cluster("plain", "x"), gpu]);
    assert_eq!(names(&d.selected), ["gpu"]);
}

#[test]
fn same_input_in_any_order_gives_the_same_decision() {
    let mut clusters: Vec<Cluster> = (0..12)
        .map(|i| cluster(&format!("c{i:02}"), ["x", "y", "z"][i % 3]))
        .collect();
    for (i, c) in clusters.iter_mut().enumerate() {
        c.placed_workloads = (i % 4) as u32;
    }
    let p = policy("p", PlacementStrategy::Spread, 3);
    let w = workload("ns", "w");
    let d1 = run(&w, &p, &clusters);
    clusters.reverse();
    let d2 = run(&w, &p, &clusters);
    assert_eq!(d1, d2);
}
