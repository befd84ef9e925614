//! Unit tests of the placement engine, one file per concern; shared builders here.

mod api_types;
mod filter;
mod policies;
mod stickiness;
mod strategies;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

const T0: i64 = 1_750_000_000;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + secs, 0).unwrap()
}

fn settings() -> Settings {
    Settings::new(at(0))
}

fn deployments() -> GroupResource {
    GroupResource::new("apps", "deployments")
}

fn id(name: &str) -> ClusterId {
    ClusterId::new("root:tmc", name)
}

/// A Ready cluster in `location` serving deployments.
fn cluster(name: &str, location: &str) -> Cluster {
    let mut c = Cluster::new(id(name), location);
    c.apis.insert(deployments());
    c
}

fn workload(namespace: &str, name: &str) -> Workload {
    Workload::new(WorkloadKey {
        logical_cluster: "root:team-a".to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        resource: deployments(),
    })
}

fn policy(name: &str, strategy: crate::api::PlacementStrategy, n: usize) -> Policy {
    Policy {
        name: name.to_owned(),
        strategy,
        number_of_clusters: n,
        ..Policy::default_policy("root:team-a")
    }
}

fn default_policy() -> Policy {
    Policy::default_policy("root:team-a")
}

fn run(w: &Workload, p: &Policy, clusters: &[Cluster]) -> Decision {
    decide(w, p, clusters, &settings(), &PlacementState::new())
}

fn names(ids: &[ClusterId]) -> Vec<&str> {
    ids.iter().map(|c| c.name.as_str()).collect()
}

fn verdict<'a>(d: &'a Decision, name: &str) -> &'a CandidateVerdict {
    d.verdicts.iter().find(|v| v.cluster.name == name).unwrap()
}

fn rule<'a>(d: &'a Decision, name: &str) -> Option<&'a FilterRule> {
    verdict(d, name).rejected_by()
}
