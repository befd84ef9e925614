//! One test per filter rule, and the rule order.

use super::*;
use crate::api::LOCATION_LABEL;
use crate::selectors::LabelSelector;

#[test]
fn not_ready_and_unknown_clusters_are_rejected_for_new_placements() {
    let mut down = cluster("down", "x");
    down.ready = Readiness::NotReadySince(at(-10));
    let mut unknown = cluster("unknown", "x");
    unknown.ready = Readiness::Unknown;
    let d = run(
        &workload("ns", "w"),
        &default_policy(),
        &[down, unknown, cluster("up", "x")],
    );
    assert_eq!(names(&d.selected), ["up"]);
    assert_eq!(rule(&d, "down"), Some(&FilterRule::NotReady));
    assert_eq!(rule(&d, "unknown"), Some(&FilterRule::NotReady));
    let VerdictResult::Rejected { message, .. } = &verdict(&d, "down").result else {
        panic!()
    };
    assert!(message.starts_with("not Ready since"), "{message}");
}

#[test]
fn cordoned_cluster_is_rejected() {
    let mut c = cluster("east", "x");
    c.unschedulable = true;
    let d = run(&workload("ns", "w"), &default_policy(), &[c]);
    assert_eq!(rule(&d, "east"), Some(&FilterRule::Cordoned));
    assert!(d
        .explain()
        .contains("east: rejected — cordoned (spec.unschedulable=true)"));
}

#[test]
fn location_selector_sees_the_location_as_a_label() {
    let mut p = default_policy();
    p.location_selector = LabelSelector::parse(&format!("{LOCATION_LABEL}=us-east")).unwrap();
    let mut spoofed = cluster("spoofed", "us-west");
    // The location wins over a label of the same key.
    spoofed
        .labels
        .insert(LOCATION_LABEL.to_owned(), "us-east".to_owned());
    let mut bare = cluster("bare", "us-east");
    bare.labels.clear();
    let d = run(
        &workload("ns", "w"),
        &p,
        &[cluster("east", "us-east"), spoofed, bare],
    );
    assert_eq!(rule(&d, "spoofed"), Some(&FilterRule::LocationMismatch));
    assert_eq!(rule(&d, "east"), None);
    assert_eq!(rule(&d, "bare"), None);
}

#[test]
fn location_selector_matches_other_labels_too() {
    let mut p = default_policy();
    p.location_selector = LabelSelector::parse("tier=prod").unwrap();
    let mut prod = cluster("prod", "x");
    prod.labels.insert("tier".to_owned(), "prod".to_owned());
    let d = run(&workload("ns", "w"), &p, &[prod, cluster("dev", "x")]);
    assert_eq!(names(&d.selected), ["prod"]);
    let VerdictResult::Rejected { rule, message } = &verdict(&d, "dev").result else {
        panic!()
    };
    assert_eq!(rule, &FilterRule::LocationMismatch);
    assert!(message.contains("tier=prod"), "{message}");
}

#[test]
fn missing_capability_names_the_first_missing_one() {
    let mut p = default_policy();
    p.required_capabilities = ["gpu".to_owned(), "storage".to_owned()].into();
    let mut gpu_only = cluster("gpu-only", "x");
    gpu_only.capabilities.insert("gpu".to_owned());
    let mut both = cluster("both", "x");
    both.capabilities = ["gpu".to_owned(), "storage".to_owned()].into();
    let d = run(&workload("ns", "w"), &p, &[cluster("none", "x"), gpu_only, both]);
    assert_eq!(
        rule(&d, "none"),
        Some(&FilterRule::MissingCapability("gpu".to_owned()))
    );
    assert_eq!(
        rule(&d, "gpu-only"),
        Some(&FilterRule::MissingCapability("storage".to_owned()))
    );
    assert_eq!(names(&d.selected), ["both"]);
}

#[test]
fn cluster_must_serve_the_workloads_api() {
    let mut services_only = cluster("svc", "x");
    services_only.apis = [GroupResource::new("", "services")].into();
    let d = run(&workload("ns", "w"), &default_policy(), &[services_only]);
    let VerdictResult::Rejected { rule, message } = &verdict(&d, "svc").result else {
        panic!()
    };
    assert_eq!(rule, &FilterRule::ApiNotServed);
    assert_eq!(message, "does not serve deployments.apps");
}

#[test]
fn capacity_rule_checks_free_allocatable() {
    let mut w = workload("ns", "w");
    w.requests = Resources {
        cpu_millis: 500,
        memory_bytes: 1 << 30,
    };
    let mut full = cluster("full", "x");
    full.allocatable = Some(Resources {
        cpu_millis: 4000,
        memory_bytes: 8 << 30,
    });
    full.committed = Resources {
        cpu_millis: 3800,
        memory_bytes: 0,
    };
    let mut no_memory = cluster("no-memory", "x");
    no_memory.allocatable = Some(Resources {
        cpu_millis: 4000,
        memory_bytes: 1 << 29,
    });
    let mut roomy = cluster("roomy", "x");
    roomy.allocatable = Some(Resources {
        cpu_millis: 4000,
        memory_bytes: 8 << 30,
    });
    let unknown = cluster("unknown", "x");
    let d = run(
        &w,
        &policy("p", crate::api::PlacementStrategy::RoundRobin, 4),
        &[full, no_memory, roomy, unknown],
    );
    let VerdictResult::Rejected { rule: full, message } = &verdict(&d, "full").result else {
        panic!()
    };
    assert_eq!(full, &FilterRule::InsufficientCapacity);
    assert_eq!(message, "needs cpu 500m, 200m free");
    assert_eq!(rule(&d, "no-memory"), Some(&FilterRule::InsufficientCapacity));
    assert_eq!(names(&d.selected), ["roomy", "unknown"]);

    // A workload requesting nothing fits even a full cluster, as a BestEffort pod does.
    let mut full = cluster("full", "x");
    full.allocatable = Some(Resources {
        cpu_millis: 1,
        memory_bytes: 1,
    });
    full.committed = Resources {
        cpu_millis: 1,
        memory_bytes: 1,
    };
    let d = run(&workload("ns", "w"), &default_policy(), &[full]);
    assert_eq!(names(&d.selected), ["full"]);
}

#[test]
fn rules_apply_in_a_fixed_order() {
    let mut c = cluster("bad", "x");
    c.ready = Readiness::NotReadySince(at(-1));
    c.unschedulable = true;
    c.apis.clear();
    let d = run(&workload("ns", "w"), &default_policy(), &[c.clone()]);
    assert_eq!(rule(&d, "bad"), Some(&FilterRule::NotReady));
    c.ready = Readiness::Ready;
    let d = run(&workload("ns", "w"), &default_policy(), &[c.clone()]);
    assert_eq!(rule(&d, "bad"), Some(&FilterRule::Cordoned));
    c.unschedulable = false;
    let d = run(&workload("ns", "w"), &default_policy(), &[c]);
    assert_eq!(rule(&d, "bad"), Some(&FilterRule::ApiNotServed));
}

#[test]
fn nothing_fits_reports_unschedulable_with_counts() {
    let mut a = cluster("a", "x");
    a.unschedulable = true;
    let mut b = cluster("b", "x");
    b.ready = Readiness::NotReadySince(at(-5));
    let mut c = cluster("c", "x");
    c.ready = Readiness::NotReadySince(at(-5));
    let d = run(&workload("ns", "w"), &default_policy(), &[a, b, c]);
    assert!(d.selected.is_empty());
    assert_eq!(
        d.outcome,
        Outcome::Unschedulable {
            message: "no cluster fits: 0/3 clusters are available: 1 cordoned, 2 not Ready.".to_owned()
        }
    );
    let cond = d.placed_condition();
    assert_eq!(cond.type_, PLACED);
    assert_eq!(cond.status, crate::api::ConditionStatus::False);
    assert_eq!(cond.reason.as_deref(), Some(placed_reason::UNSCHEDULABLE));

    let d = run(&workload("ns", "w"), &default_policy(), &[]);
    assert_eq!(
        d.outcome,
        Outcome::Unschedulable {
            message: "no cluster fits: 0/0 clusters are available.".to_owned()
        }
    );
}

#[test]
fn fewer_eligible_than_wanted_is_partial() {
    let mut a = cluster("a", "x");
    a.unschedulable = true;
    let p = policy("p", crate::api::PlacementStrategy::RoundRobin, 3);
    let d = run(
        &workload("ns", "w"),
        &p,
        &[a, cluster("b", "x"), cluster("c", "y")],
    );
    assert_eq!(names(&d.selected), ["b", "c"]);
    assert_eq!(
        d.outcome,
        Outcome::PartiallyPlaced {
            wanted: 3,
            got: 2,
            message: "placed on 2 of 3 wanted clusters: 2/3 clusters are available: 1 cordoned.".to_owned()
        }
    );
    assert_eq!(
        d.placed_condition().reason.as_deref(),
        Some(placed_reason::PARTIALLY_PLACED)
    );
}
