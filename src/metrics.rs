//! What tmc-server exports at `/metrics` (OpenMetrics text, Kubernetes
//! naming: `tmc_<subsystem>_<name>_<unit>`). One registry for the process;
//! components get the families they update. Label values never carry
//! credentials: they are verbs, resources, codes, workspace and cluster names.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::feature_gates::FeatureGates;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub verb: String,
    pub resource: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub verb: String,
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    /// Logical cluster of the registration.
    pub workspace: String,
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureLabels {
    pub name: String,
    pub stage: String,
}

/// Every metric family tmc-server updates.
pub struct Metrics {
    registry: Registry,
    /// API requests served, by verb, resource and HTTP code.
    pub requests: Family<RequestLabels, Counter>,
    /// API request latency, by verb and resource.
    pub request_duration: Family<RouteLabels, Histogram>,
    /// Watches open now, by resource.
    pub watches: Family<ResourceLabels, Gauge>,
    /// Duration of one placement round (every workload of every workspace).
    pub placement_round_duration: Histogram,
    /// Placement decisions written to kcp.
    pub decisions_recorded: Counter,
    /// Failed writes or reads of a controller, by controller.
    pub reconcile_errors: Family<ControllerLabels, Counter>,
    /// 1 when a registered cluster is Ready, else 0.
    pub cluster_ready: Family<ClusterLabels, Gauge>,
    /// Sync actions a cluster's worker still has to carry out in its current round.
    pub sync_queue_depth: Family<ClusterLabels, Gauge>,
    /// Latency of one sync request (apply, delete) to a physical cluster.
    pub sync_request_duration: Family<ClusterLabels, Histogram>,
    /// Edits on a physical copy that TMC reverted.
    pub sync_drift_reverts: Family<ClusterLabels, Counter>,
    /// Time from a change of what a cluster should hold to the copy being applied.
    pub sync_latency: Family<ClusterLabels, Histogram>,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    // 0.5 ms … ~8 s.
    exponential_buckets(0.0005, 2.0, 15)
}

impl Metrics {
    /// The registry with every family, and the feature gates' states.
    pub fn new(gates: &FeatureGates) -> Arc<Self> {
        let mut registry = Registry::with_prefix("tmc");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "apiserver_request",
            "API requests served, by verb, resource and HTTP code",
            requests.clone(),
        );
        let request_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        registry.register(
            "apiserver_request_duration_seconds",
            "API request latency until the response head, by verb and resource",
            request_duration.clone(),
        );
        let watches = Family::<ResourceLabels, Gauge>::default();
        registry.register(
            "apiserver_watches",
            "Watches open now, by resource",
            watches.clone(),
        );
        let placement_round_duration = Histogram::new(latency_buckets());
        registry.register(
            "placement_round_duration_seconds",
            "Time to place every workload of every workspace once",
            placement_round_duration.clone(),
        );
        let decisions_recorded = Counter::default();
        registry.register(
            "placement_decisions_recorded",
            "Placement decisions written to kcp",
            decisions_recorded.clone(),
        );
        let reconcile_errors = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Failed reads or writes of a controller, by controller",
            reconcile_errors.clone(),
        );
        let cluster_ready = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "cluster_ready",
            "1 when a registered physical cluster is Ready, else 0",
            cluster_ready.clone(),
        );
        let sync_queue_depth = Family::<ClusterLabels, Gauge>::default();
        registry.register(
            "sync_queue_depth",
            "Sync actions a physical cluster's worker still has to carry out",
            sync_queue_depth.clone(),
        );
        let sync_request_duration =
            Family::<ClusterLabels, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        registry.register(
            "sync_request_duration_seconds",
            "Latency of one sync request (apply or delete) to a physical cluster",
            sync_request_duration.clone(),
        );
        let sync_latency =
            Family::<ClusterLabels, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        registry.register(
            "sync_latency_seconds",
            "Time from a change of what a physical cluster should hold to the copy being applied there",
            sync_latency.clone(),
        );
        let sync_drift_reverts = Family::<ClusterLabels, Counter>::default();
        registry.register(
            "sync_drift_reverts",
            "Edits of a physical copy that TMC reverted",
            sync_drift_reverts.clone(),
        );
        let features = Family::<FeatureLabels, Gauge>::default();
        for state in gates.states() {
            features
                .get_or_create(&FeatureLabels {
                    name: state.spec.name.to_owned(),
                    stage: state.spec.maturity.to_string(),
                })
                .set(i64::from(state.enabled));
        }
        registry.register(
            "feature_enabled",
            "1 when the feature gate is enabled, else 0",
            features,
        );
        Arc::new(Self {
            registry,
            requests,
            request_duration,
            watches,
            placement_round_duration,
            decisions_recorded,
            reconcile_errors,
            cluster_ready,
            sync_queue_depth,
            sync_request_duration,
            sync_drift_reverts,
            sync_latency,
        })
    }

    /// The OpenMetrics text of every family.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// Counts a failure of `controller`.
    pub fn reconcile_error(&self, controller: &str) {
        self.reconcile_errors
            .get_or_create(&ControllerLabels {
                controller: controller.to_owned(),
            })
            .inc();
    }
}

/// Keeps a watch counted while it is open.
pub struct WatchGuard {
    gauge: Gauge,
}

impl WatchGuard {
    pub fn new(metrics: &Metrics, resource: &str) -> Self {
        let gauge = metrics
            .watches
            .get_or_create(&ResourceLabels {
                resource: resource.to_owned(),
            })
            .clone();
        gauge.inc();
        Self { gauge }
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_rendered_with_its_prefix() {
        let m = Metrics::new(&FeatureGates::default());
        m.requests
            .get_or_create(&RequestLabels {
                verb: "list".into(),
                resource: "placements".into(),
                code: "200".into(),
            })
            .inc();
        m.request_duration
            .get_or_create(&RouteLabels {
                verb: "list".into(),
                resource: "placements".into(),
            })
            .observe(0.002);
        m.cluster_ready
            .get_or_create(&ClusterLabels {
                workspace: "abc".into(),
                cluster: "east".into(),
            })
            .set(1);
        m.placement_round_duration.observe(0.01);
        m.decisions_recorded.inc();
        m.reconcile_error("decisions");
        let _w = WatchGuard::new(&m, "placements");
        let text = m.render();
        for name in [
            "tmc_apiserver_request_total{verb=\"list\",resource=\"placements\",code=\"200\"} 1",
            "# TYPE tmc_apiserver_request_duration_seconds histogram",
            "tmc_apiserver_watches{resource=\"placements\"} 1",
            "# TYPE tmc_placement_round_duration_seconds histogram",
            "tmc_placement_decisions_recorded_total 1",
            "tmc_reconcile_errors_total{controller=\"decisions\"} 1",
            "tmc_cluster_ready{workspace=\"abc\",cluster=\"east\"} 1",
            "tmc_feature_enabled{name=\"TMC\",stage=\"Alpha\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        drop(_w);
        assert!(m
            .render()
            .contains("tmc_apiserver_watches{resource=\"placements\"} 0"));
    }
}
