//! Placement engine benchmark (DESIGN.md §8): a benchmark, not a timed test.
//!
//! - p50/p99 time of one decision over 1,000 clusters (bar: p99 < 1 ms);
//! - time to place 10,000 workloads over 100 clusters with `place_all` (bar: < 1 s).
//!
//! Run with `cargo bench --bench placement`. Inputs are generated from a fixed seed so runs
//! compare; the inventory mixes healthy, NotReady and cordoned clusters, locations,
//! capabilities and capacities so every filter and strategy is exercised.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use kcp_tmc::api::PlacementStrategy;
use kcp_tmc::placement::{
    decide_for, place_all, Cluster, ClusterId, GroupResource, PlacementState, Policy, Readiness, Resources,
    Settings, Workload, WorkloadKey,
};
use kcp_tmc::selectors::LabelSelector;

const DECISION_CLUSTERS: usize = 1_000;
const DECISIONS: usize = 2_000;
const BATCH_CLUSTERS: usize = 100;
const BATCH_WORKLOADS: usize = 10_000;
const BATCH_RUNS: usize = 5;

/// A small deterministic generator (SplitMix64): the benchmark needs repeatable inputs, not
/// statistical quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn deployments() -> GroupResource {
    GroupResource::new("apps", "deployments")
}

fn clusters(n: usize, rng: &mut Rng, now: chrono::DateTime<Utc>) -> Vec<Cluster> {
    (0..n)
        .map(|i| {
            let mut c = Cluster::new(
                ClusterId::new("root:tmc", format!("cluster-{i:04}")),
                format!("loc-{}", i % 10),
            );
            c.labels
                .insert("tier".into(), if i % 3 == 0 { "prod" } else { "dev" }.into());
            match rng.below(100) {
                0..=2 => c.ready = Readiness::NotReadySince(now - chrono::Duration::seconds(600)),
                3..=4 => c.unschedulable = true,
                _ => {}
            }
            if i % 4 == 0 {
                c.capabilities.insert("gpu".into());
            }
            if i % 2 == 0 {
                c.capabilities.insert("ssd".into());
            }
            c.apis.insert(deployments());
            c.apis.insert(GroupResource::new("", "services"));
            c.allocatable = Some(Resources {
                cpu_millis: 64_000,
                memory_bytes: 256 << 30,
            });
            c.committed = Resources {
                cpu_millis: rng.below(32_000),
                memory_bytes: rng.below(128) << 30,
            };
            c.placed_workloads = rng.below(50) as u32;
            c
        })
        .collect()
}

fn policies() -> Vec<Policy> {
    let sel = |s: &str| LabelSelector::parse(s).unwrap();
    let base = Policy::default_policy("root:team-a");
    vec![
        Policy {
            name: "spread-web".into(),
            created: Some(Utc.timestamp_opt(1, 0).unwrap()),
            workload_selector: sel("app=web"),
            strategy: PlacementStrategy::Spread,
            number_of_clusters: 3,
            ..base.clone()
        },
        Policy {
            name: "gpu-jobs".into(),
            created: Some(Utc.timestamp_opt(2, 0).unwrap()),
            workload_selector: sel("app=train"),
            required_capabilities: ["gpu".to_owned()].into(),
            preferred_capabilities: ["ssd".to_owned()].into(),
            number_of_clusters: 1,
            ..base.clone()
        },
        Policy {
            name: "prod-affinity".into(),
            created: Some(Utc.timestamp_opt(3, 0).unwrap()),
            namespace_selector: sel("env=prod"),
            location_selector: sel("tier=prod"),
            strategy: PlacementStrategy::Affinity,
            number_of_clusters: 2,
            ..base.clone()
        },
        // Overlaps with spread-web for app=web in prod namespaces: a conflict to resolve.
        Policy {
            name: "web-rr".into(),
            created: Some(Utc.timestamp_opt(4, 0).unwrap()),
            workload_selector: sel("app in (web,api)"),
            number_of_clusters: 2,
            ..base
        },
    ]
}

fn workloads(n: usize, rng: &mut Rng) -> Vec<Workload> {
    (0..n)
        .map(|i| {
            let ns = rng.below(200);
            let mut w = Workload::new(WorkloadKey {
                logical_cluster: "root:team-a".into(),
                namespace: format!("ns-{ns}"),
                name: format!("w-{i}"),
                resource: deployments(),
            });
            let app = ["web", "api", "train", "batch", "cache"][rng.below(5) as usize];
            w.labels.insert("app".into(), app.into());
            let env = if ns % 2 == 0 { "prod" } else { "dev" };
            w.namespace_labels.insert("env".into(), env.into());
            w.requests = Resources {
                cpu_millis: 50 + rng.below(200),
                memory_bytes: (32 + rng.below(128)) << 20,
            };
            w
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn main() {
    let now = Utc.timestamp_opt(1_750_000_000, 0).unwrap();
    let settings = Settings::new(now);
    let policies = policies();

    // 1. One decision over 1,000 clusters, state threaded as a controller would.
    let mut rng = Rng(42);
    let inventory = clusters(DECISION_CLUSTERS, &mut rng, now);
    let ws = workloads(DECISIONS, &mut rng);
    let mut state = PlacementState::new();
    for w in ws.iter().take(200) {
        black_box(decide_for(w, &policies, &inventory, &settings, &state)); // warm-up
    }
    let mut times = Vec::with_capacity(DECISIONS);
    let mut placed = 0usize;
    for w in &ws {
        let start = Instant::now();
        let d = decide_for(w, &policies, &inventory, &settings, &state);
        times.push(start.elapsed());
        placed += d.selected.len();
        state.record(&d);
        black_box(d);
    }
    times.sort();
    let p50 = percentile(&times, 0.50);
    let p99 = percentile(&times, 0.99);
    println!(
        "decision over {DECISION_CLUSTERS} clusters ({DECISIONS} decisions, {placed} placements): \
         p50 {p50:?}, p99 {p99:?}, max {:?}",
        times[times.len() - 1]
    );
    println!("  bar: p99 < 1ms — {}", verdict(p99 < Duration::from_millis(1)));

    // 2. A batch: 10,000 workloads over 100 clusters.
    let mut rng = Rng(7);
    let inventory = clusters(BATCH_CLUSTERS, &mut rng, now);
    let ws = workloads(BATCH_WORKLOADS, &mut rng);
    let mut runs = Vec::with_capacity(BATCH_RUNS);
    let mut placements = 0;
    for _ in 0..BATCH_RUNS {
        let start = Instant::now();
        let decisions = place_all(&ws, &policies, &inventory, &settings);
        runs.push(start.elapsed());
        placements = decisions.iter().map(|d| d.selected.len()).sum();
        black_box(decisions);
    }
    runs.sort();
    let median = runs[runs.len() / 2];
    println!(
        "place_all: {BATCH_WORKLOADS} workloads over {BATCH_CLUSTERS} clusters ({placements} placements): \
         median {median:?} of {BATCH_RUNS} runs (min {:?}, max {:?})",
        runs[0],
        runs[runs.len() - 1]
    );
    println!(
        "  bar: < 1s — {}",
        verdict(runs[runs.len() - 1] < Duration::from_secs(1))
    );
}
