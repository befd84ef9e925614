//! Which policy governs a workload.

use super::*;
use crate::api::{ConditionStatus, PlacementStrategy};
use crate::selectors::LabelSelector;

fn dated(name: &str, created: Option<i64>) -> Policy {
    Policy {
        created: created.map(at),
        ..policy(name, PlacementStrategy::Spread, 2)
    }
}

#[test]
fn no_match_means_the_default_placement() {
    let mut only_web = dated("web", Some(0));
    only_web.workload_selector = LabelSelector::parse("app=web").unwrap();
    let policies = [only_web];
    let choice = select_policy(&workload("ns", "w"), &policies);
    assert!(choice.policy.is_default());
    assert_eq!(choice.policy.number_of_clusters, 1);
    assert_eq!(choice.policy.strategy, PlacementStrategy::RoundRobin);
    let cond = choice.conflict_condition();
    assert_eq!(cond.type_, POLICY_CONFLICT);
    assert_eq!(cond.status, ConditionStatus::False);
    assert_eq!(cond.reason.as_deref(), Some(conflict_reason::DEFAULT_PLACEMENT));
}

#[test]
fn selectors_match_workload_and_namespace_labels() {
    let mut p = dated("prod-web", Some(0));
    p.workload_selector = LabelSelector::parse("app=web").unwrap();
    p.namespace_selector = LabelSelector::parse("env=prod").unwrap();
    let policies = [p];
    let mut w = workload("ns", "w");
    w.labels.insert("app".to_owned(), "web".to_owned());
    assert!(select_policy(&w, &policies).policy.is_default());
    w.namespace_labels.insert("env".to_owned(), "prod".to_owned());
    let choice = select_policy(&w, &policies);
    assert_eq!(choice.policy.name, "prod-web");
    assert!(choice.conflicts.is_empty());
    assert_eq!(
        choice.conflict_condition().reason.as_deref(),
        Some(conflict_reason::ONE_POLICY_MATCHES)
    );
}

#[test]
fn the_oldest_matching_policy_wins_and_the_rest_are_conflicts() {
    let policies = [
        dated("b-new", Some(100)),
        dated("undated", None),
        dated("z-old", Some(-100)),
        dated("a-new", Some(100)),
    ];
    let choice = select_policy(&workload("ns", "w"), &policies);
    assert_eq!(choice.policy.name, "z-old");
    assert_eq!(choice.conflicts, ["a-new", "b-new", "undated"]);
    let cond = choice.conflict_condition();
    assert_eq!(cond.status, ConditionStatus::True);
    assert_eq!(
        cond.reason.as_deref(),
        Some(conflict_reason::MULTIPLE_POLICIES_MATCH)
    );
    assert_eq!(
        cond.message.as_deref(),
        Some("4 WorkloadPlacements match; \"z-old\" applies (the oldest wins), ignoring \"a-new\", \"b-new\", \"undated\"")
    );
    // Listing order does not matter.
    let mut reversed = policies.clone();
    reversed.reverse();
    assert_eq!(select_policy(&workload("ns", "w"), &reversed), choice);
}

#[test]
fn policies_of_other_workspaces_never_match() {
    let mut elsewhere = dated("elsewhere", Some(0));
    elsewhere.logical_cluster = "root:team-b".to_owned();
    assert!(select_policy(&workload("ns", "w"), &[elsewhere])
        .policy
        .is_default());
}

#[test]
fn decide_for_records_conflicts() {
    let policies = [dated("a", Some(0)), dated("b", Some(1))];
    let d = decide_for(
        &workload("ns", "w"),
        &policies,
        &[cluster("c", "x")],
        &settings(),
        &PlacementState::new(),
    );
    assert_eq!(d.policy, "a");
    assert_eq!(d.conflicts, ["b"]);
    assert!(d
        .explain()
        .contains("also matched: \"b\" (the oldest matching policy applies)"));
}
