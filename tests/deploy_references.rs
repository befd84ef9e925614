//! The Prometheus alert rules and the Grafana dashboard in `deploy/` refer
//! only to metrics tmc-server really exports, with the suffixes their types
//! have (`_total` for counters, `_bucket`/`_count`/`_sum` for histograms).

use std::collections::BTreeSet;

use kcp_tmc::feature_gates::FeatureGates;
use kcp_tmc::metrics::{ClusterLabels, Metrics, RequestLabels, RouteLabels, WatchGuard};

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

/// Every sample name `/metrics` can carry, from the families' declared types.
fn exported() -> BTreeSet<String> {
    let m = Metrics::new(&FeatureGates::default());
    // One sample in each labelled family, so every family is rendered.
    m.requests
        .get_or_create(&RequestLabels {
            verb: "get".into(),
            resource: "placements".into(),
            code: "200".into(),
        })
        .inc();
    m.request_duration
        .get_or_create(&RouteLabels {
            verb: "get".into(),
            resource: "placements".into(),
        })
        .observe(0.001);
    m.cluster_ready
        .get_or_create(&ClusterLabels {
            workspace: "w".into(),
            cluster: "c".into(),
        })
        .set(1);
    let cluster = ClusterLabels {
        workspace: "w".into(),
        cluster: "c".into(),
    };
    m.sync_queue_depth.get_or_create(&cluster).set(0);
    m.sync_request_duration.get_or_create(&cluster).observe(0.01);
    m.sync_latency.get_or_create(&cluster).observe(0.05);
    m.sync_drift_reverts.get_or_create(&cluster).inc();
    m.reconcile_error("decisions");
    m.placement_round_duration.observe(0.1);
    let _watch = WatchGuard::new(&m, "placements");
    let mut names = BTreeSet::new();
    for line in m.render().lines() {
        let mut parts = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            match kind {
                "counter" => {
                    names.insert(format!("{name}_total"));
                }
                "histogram" => {
                    for suffix in ["_bucket", "_count", "_sum"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                _ => {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

/// The `tmc_...` identifiers of a PromQL expression.
fn referenced(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("tmc_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

fn alert_exprs() -> Vec<String> {
    let rules: serde_yaml::Value = serde_yaml::from_str(&repo("deploy/prometheus/tmc-alerts.yaml")).unwrap();
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .map(|r| r["expr"].as_str().expect("every rule has an expr").to_owned())
        .collect()
}

fn dashboard_exprs() -> Vec<String> {
    let d: serde_json::Value = serde_json::from_str(&repo("deploy/grafana/tmc-dashboard.json")).unwrap();
    d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().expect("every target has an expr").to_owned())
        .collect()
}

#[test]
fn alerts_and_dashboard_use_only_exported_metrics() {
    let exported = exported();
    let mut used = BTreeSet::new();
    for (file, exprs) in [("alerts", alert_exprs()), ("dashboard", dashboard_exprs())] {
        assert!(!exprs.is_empty(), "{file} has no expressions");
        for expr in exprs {
            let names = referenced(&expr);
            assert!(!names.is_empty(), "{file}: {expr} uses no tmc metric");
            for n in names {
                assert!(
                    exported.contains(&n),
                    "{file}: {n} is not exported (exported: {exported:?})"
                );
                used.insert(n);
            }
        }
    }
    // And the operator sees every family somewhere.
    for family in [
        "tmc_apiserver_request_total",
        "tmc_apiserver_request_duration_seconds_bucket",
        "tmc_apiserver_watches",
        "tmc_placement_round_duration_seconds_bucket",
        "tmc_placement_decisions_recorded_total",
        "tmc_reconcile_errors_total",
        "tmc_cluster_ready",
        "tmc_feature_enabled",
        "tmc_sync_queue_depth",
        "tmc_sync_request_duration_seconds_bucket",
        "tmc_sync_latency_seconds_bucket",
        "tmc_sync_drift_reverts_total",
    ] {
        assert!(
            used.contains(family),
            "{family} is in neither the alerts nor the dashboard"
        );
    }
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let bins = tmc_harness::components::ensure().expect("components");
    let rules = format!("{}/deploy/prometheus/tmc-alerts.yaml", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(&bins.promtool)
        .args(["check", "rules", &rules])
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check rules: {text}");
    assert!(text.contains("SUCCESS: 6 rules found"), "{text}");
}

#[test]
fn the_reference_finder_reads_promql() {
    assert_eq!(
        referenced("histogram_quantile(0.99, sum by (le) (rate(tmc_a_bucket[5m]))) > tmc_b"),
        ["tmc_a_bucket", "tmc_b"]
    );
}
