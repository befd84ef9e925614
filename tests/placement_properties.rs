//! Properties of the placement engine that must hold for every inventory, workload and
//! policy, not only the unit tests' examples: it never selects a cluster a rule excludes,
//! it is deterministic (whatever order clusters are listed in), it is sticky, Spread keeps
//! locations balanced, every rejection has a reason, and it selects as many clusters as it
//! can up to the number wanted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use kcp_tmc::api::{PlacementStrategy, LOCATION_LABEL};
use kcp_tmc::placement::{
    decide, place_all, Cluster, ClusterId, Decision, GroupResource, Outcome, PlacementState, Policy,
    Readiness, Resources, Settings, VerdictResult, Workload, WorkloadKey,
};
use kcp_tmc::selectors::LabelSelector;
use proptest::prelude::*;

const T0: i64 = 1_750_000_000;
const LOCATIONS: [&str; 4] = ["east", "west", "north", "south"];
const CAPABILITIES: [&str; 3] = ["gpu", "ssd", "arm"];

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + secs, 0).unwrap()
}

fn apis() -> [GroupResource; 2] {
    [
        GroupResource::new("apps", "deployments"),
        GroupResource::new("", "services"),
    ]
}

fn id(i: usize) -> ClusterId {
    ClusterId::new("root:tmc", format!("c{i:02}"))
}

fn readiness() -> impl Strategy<Value = Readiness> {
    prop_oneof![
        6 => Just(Readiness::Ready),
        3 => (0i64..900).prop_map(|s| Readiness::NotReadySince(at(-s))),
        1 => Just(Readiness::Unknown),
    ]
}

fn subset<T: Clone + std::fmt::Debug + 'static>(all: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    let n = all.len();
    proptest::sample::subsequence(all, 0..=n)
}

/// One cluster (its id is assigned by [`clusters`]).
fn cluster() -> impl Strategy<Value = Cluster> {
    (
        0..LOCATIONS.len(),
        any::<bool>(),
        readiness(),
        prop::bool::weighted(0.2),
        subset(CAPABILITIES.to_vec()),
        subset(apis().to_vec()),
        prop::option::of((1_000u64..8_000, 1u64..16)),
        (0u64..6_000, 0u32..20),
    )
        .prop_map(|(loc, prod, ready, cordoned, caps, apis, alloc, (used, load))| {
            let mut c = Cluster::new(ClusterId::default(), LOCATIONS[loc]);
            c.labels
                .insert("tier".into(), if prod { "prod" } else { "dev" }.into());
            c.ready = ready;
            c.unschedulable = cordoned;
            c.capabilities = caps.into_iter().map(String::from).collect();
            c.apis = apis.into_iter().collect();
            c.allocatable = alloc.map(|(cpu, gib)| Resources {
                cpu_millis: cpu,
                memory_bytes: gib << 30,
            });
            c.committed = Resources {
                cpu_millis: used,
                memory_bytes: 0,
            };
            c.placed_workloads = load;
            c
        })
}

fn clusters(max: usize) -> impl Strategy<Value = Vec<Cluster>> {
    prop::collection::vec(cluster(), 0..max).prop_map(|mut cs| {
        for (i, c) in cs.iter_mut().enumerate() {
            c.id = id(i);
        }
        cs
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(vec![
            PlacementStrategy::RoundRobin,
            PlacementStrategy::Affinity,
            PlacementStrategy::Spread,
        ]),
        1usize..5,
        prop::sample::select(vec![
            "",
            "tier=prod",
            "tmc.kcp.io/location in (east,west)",
            "tier!=prod",
        ]),
        subset(CAPABILITIES.to_vec()).prop_map(|v| v.into_iter().take(2).collect::<Vec<_>>()),
        subset(CAPABILITIES.to_vec()),
    )
        .prop_map(|(strategy, n, location, required, preferred)| Policy {
            name: "p".into(),
            strategy,
            number_of_clusters: n,
            location_selector: LabelSelector::parse(location).unwrap(),
            required_capabilities: required.into_iter().map(String::from).collect(),
            preferred_capabilities: preferred.into_iter().map(String::from).collect(),
            ..Policy::default_policy("root:team-a")
        })
}

/// A workload whose recorded decision names some of `n` clusters (and maybe a gone one).
fn workload(n: usize) -> impl Strategy<Value = Workload> {
    (
        0usize..3,
        0usize..2,
        0u64..2_000,
        prop::collection::vec(0..n.max(1) + 1, 0..3),
    )
        .prop_map(move |(ns, api, cpu, current)| {
            let mut w = Workload::new(WorkloadKey {
                logical_cluster: "root:team-a".into(),
                namespace: format!("ns{ns}"),
                name: "w".into(),
                resource: apis()[api].clone(),
            });
            w.requests = Resources {
                cpu_millis: cpu,
                memory_bytes: 1 << 20,
            };
            // Index n is a cluster that is not (or no longer) registered.
            w.current = current.into_iter().map(id).collect();
            w
        })
}

fn settings() -> impl Strategy<Value = Settings> {
    (0u64..600).prop_map(|s| Settings {
        not_ready_toleration: Duration::from_secs(s),
        now: at(0),
    })
}

/// A full decision input, with the clusters also in a shuffled order.
fn input() -> impl Strategy<Value = (Vec<Cluster>, Vec<Cluster>, Workload, Policy, Settings)> {
    clusters(14).prop_flat_map(|cs| {
        let n = cs.len();
        (
            Just(cs.clone()),
            Just(cs).prop_shuffle(),
            workload(n),
            policy(),
            settings(),
        )
    })
}

/// Whether `c` may carry `w` under `p`, by the rules stated independently of the engine.
fn allowed(c: &Cluster, w: &Workload, p: &Policy, s: &Settings) -> bool {
    let current = w.current.contains(&c.id);
    let ready = match c.ready {
        Readiness::Ready => true,
        Readiness::Unknown => current,
        Readiness::NotReadySince(t) => {
            current && s.now < t + chrono::Duration::from_std(s.not_ready_toleration).unwrap()
        }
    };
    let mut labels = c.labels.clone();
    labels.insert(LOCATION_LABEL.into(), c.location.clone());
    let fits = current
        || c.allocatable.is_none_or(|a| {
            w.requests.cpu_millis <= a.cpu_millis.saturating_sub(c.committed.cpu_millis)
                && w.requests.memory_bytes <= a.memory_bytes.saturating_sub(c.committed.memory_bytes)
        });
    ready
        && !c.unschedulable
        && p.location_selector.matches(&labels)
        && p.required_capabilities
            .iter()
            .all(|cap| c.capabilities.contains(cap))
        && c.apis.contains(&w.key.resource)
        && fits
}

fn eligible(d: &Decision) -> usize {
    d.verdicts.iter().filter(|v| v.rejected_by().is_none()).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_selects_an_excluded_cluster((cs, _, w, p, s) in input()) {
        let d = decide(&w, &p, &cs, &s, &PlacementState::new());
        for sel in &d.selected {
            let c = cs.iter().find(|c| &c.id == sel).expect("only registered clusters are selected");
            prop_assert!(allowed(c, &w, &p, &s), "selected {} which the rules exclude: {c:?}", sel);
        }
        // And the engine's eligibility is exactly the rules'.
        for c in &cs {
            let v = d.verdicts.iter().find(|v| v.cluster == c.id).unwrap();
            prop_assert_eq!(v.rejected_by().is_none(), allowed(c, &w, &p, &s), "{:?}", v);
        }
    }

    #[test]
    fn deterministic_whatever_the_cluster_order((cs, shuffled, w, p, s) in input()) {
        let state = PlacementState::new();
        let d = decide(&w, &p, &cs, &s, &state);
        prop_assert_eq!(&d, &decide(&w, &p, &cs, &s, &state));
        prop_assert_eq!(&d, &decide(&w, &p, &shuffled, &s, &state));
        prop_assert_eq!(d.explain(), decide(&w, &p, &shuffled, &s, &state).explain());
    }

    #[test]
    fn healthy_current_clusters_are_kept((cs, _, w, p, s) in input()) {
        let d = decide(&w, &p, &cs, &s, &PlacementState::new());
        let healthy: BTreeSet<&ClusterId> = cs
            .iter()
            .filter(|c| w.current.contains(&c.id) && c.ready == Readiness::Ready && allowed(c, &w, &p, &s))
            .map(|c| &c.id)
            .collect();
        if healthy.len() <= p.number_of_clusters {
            for id in healthy {
                prop_assert!(d.selected.contains(id), "healthy current cluster {} was dropped", id);
            }
        } else {
            prop_assert!(d.selected.iter().all(|id| healthy.contains(id)), "healthy current clusters first");
        }
    }

    #[test]
    fn adding_a_cluster_never_moves_a_placed_workload(
        (cs, _, w, p, s) in input(),
        mut extra in cluster(),
    ) {
        let mut fresh = w.clone();
        fresh.current.clear();
        let first = decide(&fresh, &p, &cs, &s, &PlacementState::new());
        let mut placed = fresh;
        placed.current = first.selected.clone();
        let mut more = cs.clone();
        extra.id = ClusterId::new("root:tmc", "new");
        more.push(extra);
        let again = decide(&placed, &p, &more, &s, &PlacementState::new());
        if first.outcome == Outcome::Placed {
            prop_assert_eq!(&again.selected, &first.selected);
        } else {
            // A partial placement may grow onto the new cluster, never away from the old.
            prop_assert!(first.selected.iter().all(|c| again.selected.contains(c)));
        }
        // Deciding again (a restart) changes nothing.
        let restart = decide(&placed, &p, &cs, &s, &PlacementState::new());
        prop_assert_eq!(&restart.selected, &first.selected);
    }

    #[test]
    fn every_candidate_has_a_verdict_and_every_rejection_a_reason((cs, _, w, p, s) in input()) {
        let d = decide(&w, &p, &cs, &s, &PlacementState::new());
        let mut expected: BTreeSet<&ClusterId> = cs.iter().map(|c| &c.id).collect();
        expected.extend(w.current.iter());
        let got: Vec<&ClusterId> = d.verdicts.iter().map(|v| &v.cluster).collect();
        prop_assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "one verdict each, sorted");
        for v in &d.verdicts {
            match &v.result {
                VerdictResult::Rejected { message, .. } => prop_assert!(!message.is_empty()),
                VerdictResult::Eligible { score, .. } => prop_assert_eq!(
                    score.total,
                    score.strategy + score.headroom + score.preferred + score.stickiness
                ),
            }
        }
        prop_assert_eq!(d.explain().lines().count(), d.verdicts.len() + 2 + usize::from(!d.conflicts.is_empty()));
    }

    #[test]
    fn selects_as_many_as_it_can_up_to_wanted((cs, _, w, p, s) in input()) {
        let d = decide(&w, &p, &cs, &s, &PlacementState::new());
        prop_assert_eq!(d.selected.len(), p.number_of_clusters.min(eligible(&d)));
        let sorted = d.selected.windows(2).all(|pair| pair[0] < pair[1]);
        prop_assert!(sorted, "selected is a sorted set");
        match &d.outcome {
            Outcome::Placed => prop_assert_eq!(d.selected.len(), p.number_of_clusters),
            Outcome::PartiallyPlaced { wanted, got, .. } => {
                prop_assert_eq!((*wanted, *got), (p.number_of_clusters, d.selected.len()));
                prop_assert!(*got > 0 && got < wanted);
            }
            Outcome::Unschedulable { message } => {
                prop_assert!(d.selected.is_empty());
                prop_assert!(message.contains("clusters are available"));
            }
        }
    }

    #[test]
    fn spread_keeps_locations_within_one(
        per_location in prop::collection::vec(1usize..4, 1..=LOCATIONS.len()),
        n in 1usize..=LOCATIONS.len(),
        workloads in 1usize..60,
        loads in prop::collection::vec(0u32..10, 16),
    ) {
        let mut cs = Vec::new();
        for (l, count) in per_location.iter().enumerate() {
            for _ in 0..*count {
                let mut c = Cluster::new(id(cs.len()), LOCATIONS[l]);
                c.apis = apis().into_iter().collect();
                c.placed_workloads = loads[cs.len() % loads.len()];
                cs.push(c);
            }
        }
        let n = n.min(per_location.len());
        let p = Policy { name: "spread".into(), strategy: PlacementStrategy::Spread, number_of_clusters: n, ..Policy::default_policy("root:team-a") };
        let ws: Vec<Workload> = (0..workloads)
            .map(|i| Workload::new(WorkloadKey {
                logical_cluster: "root:team-a".into(),
                namespace: format!("ns{}", i % 3),
                name: format!("w{i}"),
                resource: apis()[0].clone(),
            }))
            .collect();
        let decisions = place_all(&ws, std::slice::from_ref(&p), &cs, &Settings::new(at(0)));
        let mut counts: BTreeMap<&str, usize> = per_location.iter().enumerate().map(|(l, _)| (LOCATIONS[l], 0)).collect();
        for d in &decisions {
            prop_assert_eq!(d.selected.len(), n);
            let locations: BTreeSet<&str> = d.verdicts.iter().filter(|v| v.is_selected()).map(|v| v.location.as_str()).collect();
            prop_assert_eq!(locations.len(), n, "distinct locations first");
            for l in locations {
                *counts.get_mut(l).unwrap() += 1;
            }
        }
        let (min, max) = (counts.values().min().unwrap(), counts.values().max().unwrap());
        prop_assert!(max - min <= 1, "per-location counts {:?}", counts);
    }

    #[test]
    fn batches_are_deterministic_and_round_robin_balances(
        n_clusters in 1usize..8,
        workloads in 0usize..80,
    ) {
        let cs: Vec<Cluster> = (0..n_clusters)
            .map(|i| {
                let mut c = Cluster::new(id(i), LOCATIONS[i % LOCATIONS.len()]);
                c.apis = apis().into_iter().collect();
                c
            })
            .collect();
        let ws: Vec<Workload> = (0..workloads)
            .map(|i| Workload::new(WorkloadKey { logical_cluster: "root:team-a".into(), namespace: "ns".into(), name: format!("w{i}"), resource: apis()[1].clone() }))
            .collect();
        let s = Settings::new(at(0));
        let decisions = place_all(&ws, &[], &cs, &s);
        prop_assert_eq!(&decisions, &place_all(&ws, &[], &cs, &s));
        let mut per: BTreeMap<&ClusterId, usize> = cs.iter().map(|c| (&c.id, 0)).collect();
        for d in &decisions {
            *per.get_mut(&d.selected[0]).unwrap() += 1;
        }
        let (min, max) = (per.values().min().unwrap(), per.values().max().unwrap());
        prop_assert!(max - min <= 1, "{:?}", per);
    }
}
