//! Building the engine's inputs from the API types.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as ApiSelector, LabelSelectorRequirement, ObjectMeta, Time,
};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::api::{
    CapabilityRequirement, ClusterCapability, ClusterRegistration, ClusterRegistrationSpec,
    ClusterRegistrationStatus, Condition, ConditionStatus, ConnectedAPI, PlacementStrategy,
    WorkloadPlacement, WorkloadPlacementSpec, LOCATION_LABEL, READY,
};
use crate::placement::model::quantity_millis;

fn time(secs: i64) -> Option<Time> {
    Some(Time(Timestamp::from_second(T0 + secs).unwrap()))
}

#[test]
fn quantities() {
    assert_eq!(quantity_millis("8"), Some(8_000));
    assert_eq!(quantity_millis("7500m"), Some(7_500));
    assert_eq!(quantity_millis("1.5"), Some(1_500));
    assert_eq!(quantity_millis("32Gi"), Some(32_000 << 30));
    assert_eq!(quantity_millis("1.5Ki"), Some(1_536_000));
    assert_eq!(quantity_millis("2k"), Some(2_000_000));
    assert_eq!(quantity_millis("1e3"), Some(1_000_000));
    assert_eq!(quantity_millis("1E"), Some(1_000_000_000_000_000_000_000));
    assert_eq!(quantity_millis("0.0001"), Some(1), "rounded up");
    for bad in ["", "-1", "abc", "1.2.3", "5Xi", "."] {
        assert_eq!(quantity_millis(bad), None, "{bad}");
    }
}

#[test]
fn readiness_from_conditions() {
    assert_eq!(Readiness::from_conditions(&[]), Readiness::Unknown);
    let ready = Condition::new(READY, ConditionStatus::True);
    assert_eq!(Readiness::from_conditions(&[ready]), Readiness::Ready);
    let down = Condition {
        last_transition_time: time(-30),
        ..Condition::new(READY, ConditionStatus::False)
    };
    assert_eq!(
        Readiness::from_conditions(&[down]),
        Readiness::NotReadySince(at(-30))
    );
    let unknown = Condition::new(READY, ConditionStatus::Unknown);
    assert_eq!(Readiness::from_conditions(&[unknown]), Readiness::Unknown);
}

#[test]
fn cluster_from_registration() {
    let reg = ClusterRegistration {
        metadata: ObjectMeta {
            name: Some("east".to_owned()),
            labels: Some(
                [
                    ("tier".to_owned(), "prod".to_owned()),
                    (LOCATION_LABEL.to_owned(), "lie".to_owned()),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: ClusterRegistrationSpec {
            location: "us-east".to_owned(),
            capabilities: vec![
                ClusterCapability {
                    type_: "gpu".to_owned(),
                    available: true,
                    ..Default::default()
                },
                ClusterCapability {
                    type_: "ssd".to_owned(),
                    available: false,
                    ..Default::default()
                },
            ],
            unschedulable: true,
            ..Default::default()
        },
        status: Some(ClusterRegistrationStatus {
            conditions: vec![Condition::new(READY, ConditionStatus::True)],
            connected_apis: vec![
                ConnectedAPI {
                    group: "apps".to_owned(),
                    resource: "deployments".to_owned(),
                    connected: true,
                    ..Default::default()
                },
                ConnectedAPI {
                    group: "batch".to_owned(),
                    resource: "jobs".to_owned(),
                    connected: false,
                    ..Default::default()
                },
            ],
            allocatable: [
                ("cpu".to_owned(), Quantity("7500m".to_owned())),
                ("memory".to_owned(), Quantity("1Gi".to_owned())),
            ]
            .into(),
            workload_count: Some(4),
            ..Default::default()
        }),
    };
    let c = Cluster::from_registration("root:tmc", &reg);
    assert_eq!(c.id, id("east"));
    assert_eq!(c.location, "us-east");
    assert_eq!(c.labels[LOCATION_LABEL], "us-east");
    assert_eq!(c.labels["tier"], "prod");
    assert_eq!(c.ready, Readiness::Ready);
    assert!(c.unschedulable);
    assert_eq!(c.capabilities.iter().collect::<Vec<_>>(), ["gpu"]);
    assert_eq!(c.apis.iter().collect::<Vec<_>>(), [&deployments()]);
    assert_eq!(
        c.allocatable,
        Some(Resources {
            cpu_millis: 7_500,
            memory_bytes: 1 << 30
        })
    );
    assert_eq!(c.placed_workloads, 4);

    let bare = ClusterRegistration::new(
        "west",
        ClusterRegistrationSpec {
            location: "w".to_owned(),
            ..Default::default()
        },
    );
    let c = Cluster::from_registration("root:tmc", &bare);
    assert_eq!(c.ready, Readiness::Unknown);
    assert_eq!(c.allocatable, None);
}

#[test]
fn policy_from_placement() {
    let mut wp = WorkloadPlacement::new(
        "gpu",
        WorkloadPlacementSpec {
            strategy: PlacementStrategy::Spread,
            workload_selector: Some(ApiSelector {
                match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
                ..Default::default()
            }),
            capability_requirements: vec![
                CapabilityRequirement {
                    type_: "gpu".to_owned(),
                    required: true,
                },
                CapabilityRequirement {
                    type_: "ssd".to_owned(),
                    required: false,
                },
            ],
            number_of_clusters: Some(3),
            ..Default::default()
        },
    );
    wp.metadata.creation_timestamp = time(5);
    let p = Policy::from_placement("root:team-a", &wp).unwrap();
    assert_eq!(p.name, "gpu");
    assert_eq!(p.created, Some(at(5)));
    assert_eq!(p.strategy, PlacementStrategy::Spread);
    assert_eq!(p.number_of_clusters, 3);
    assert_eq!(p.workload_selector.to_string(), "app=web");
    assert!(
        p.namespace_selector.is_empty() && p.location_selector.is_empty(),
        "unset selects all"
    );
    assert_eq!(p.required_capabilities.iter().collect::<Vec<_>>(), ["gpu"]);
    assert_eq!(p.preferred_capabilities.iter().collect::<Vec<_>>(), ["ssd"]);

    wp.spec.location_selector = Some(ApiSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "x".to_owned(),
            operator: "Near".to_owned(),
            values: None,
        }]),
        ..Default::default()
    });
    assert!(Policy::from_placement("root:team-a", &wp).is_err());
}
