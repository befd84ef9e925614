//! The workload kinds the `kubernetes` export serves: kcp has no Deployments or Services of
//! its own, so their schemas come from the Kubernetes OpenAPI types in k8s-openapi.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinitionNames, CustomResourceSubresourceScale,
    CustomResourceSubresourceStatus, CustomResourceSubresources,
};
use k8s_openapi::Resource;

use super::structural::object_schema;
use super::ResourceDefinition;
use crate::api::WORKLOAD_EXPORT;

/// `apps/v1 deployments`, with the columns `kubectl get deployments` shows.
pub fn deployments() -> ResourceDefinition {
    ResourceDefinition {
        export: WORKLOAD_EXPORT,
        group: Deployment::GROUP.to_owned(),
        version: Deployment::VERSION.to_owned(),
        scope: "Namespaced".to_owned(),
        names: names::<Deployment>("deployment", &["deploy"]),
        schema: object_schema::<Deployment>(),
        subresources: Some(CustomResourceSubresources {
            status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
            // `kubectl scale` works as on a real cluster. No labelSelectorPath: Deployment has
            // no string selector in status, so HPA cannot target the kcp object (it targets
            // the physical copies anyway).
            scale: Some(CustomResourceSubresourceScale {
                spec_replicas_path: ".spec.replicas".to_owned(),
                status_replicas_path: ".status.replicas".to_owned(),
                label_selector_path: None,
            }),
        }),
        printer_columns: vec![
            // kube-apiserver prints READY as "ready/desired"; a JSONPath column cannot
            // compute that, so the desired count is its own (wide) column.
            column(
                "Ready",
                "integer",
                ".status.readyReplicas",
                0,
                "Number of ready pods",
            ),
            column(
                "Up-to-date",
                "integer",
                ".status.updatedReplicas",
                0,
                "Number of pods running the current template",
            ),
            column(
                "Available",
                "integer",
                ".status.availableReplicas",
                0,
                "Number of pods available to serve",
            ),
            column("Age", "date", ".metadata.creationTimestamp", 0, ""),
            column("Desired", "integer", ".spec.replicas", 1, "Number of pods wanted"),
            column(
                "Containers",
                "string",
                ".spec.template.spec.containers[*].name",
                1,
                "Names of the containers",
            ),
            column(
                "Images",
                "string",
                ".spec.template.spec.containers[*].image",
                1,
                "Images of the containers",
            ),
            column(
                "Selector",
                "string",
                ".spec.selector",
                1,
                "Label selector of the pods",
            ),
        ],
    }
}

/// Core `v1 services`, with the columns `kubectl get services` shows.
pub fn services() -> ResourceDefinition {
    ResourceDefinition {
        export: WORKLOAD_EXPORT,
        group: Service::GROUP.to_owned(),
        version: Service::VERSION.to_owned(),
        scope: "Namespaced".to_owned(),
        names: names::<Service>("service", &["svc"]),
        schema: object_schema::<Service>(),
        subresources: Some(CustomResourceSubresources {
            status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
            scale: None,
        }),
        printer_columns: vec![
            column("Type", "string", ".spec.type", 0, "How the service is exposed"),
            column(
                "Cluster-IP",
                "string",
                ".spec.clusterIP",
                0,
                "Cluster IP of the service",
            ),
            column(
                "External-IP",
                "string",
                ".status.loadBalancer.ingress[*].ip",
                0,
                "Load balancer address",
            ),
            column(
                "Port(s)",
                "string",
                ".spec.ports[*].port",
                0,
                "Ports the service exposes",
            ),
            column("Age", "date", ".metadata.creationTimestamp", 0, ""),
            column(
                "Selector",
                "string",
                ".spec.selector",
                1,
                "Labels of the pods the service routes to",
            ),
        ],
    }
}

fn names<K: Resource>(singular: &str, short_names: &[&str]) -> CustomResourceDefinitionNames {
    CustomResourceDefinitionNames {
        kind: K::KIND.to_owned(),
        list_kind: Some(format!("{}List", K::KIND)),
        plural: K::URL_PATH_SEGMENT.to_owned(),
        singular: Some(singular.to_owned()),
        short_names: Some(short_names.iter().map(|s| (*s).to_owned()).collect()),
        categories: Some(vec!["all".to_owned()]),
    }
}

fn column(
    name: &str,
    type_: &str,
    json_path: &str,
    priority: i32,
    description: &str,
) -> CustomResourceColumnDefinition {
    CustomResourceColumnDefinition {
        name: name.to_owned(),
        type_: type_.to_owned(),
        json_path: json_path.to_owned(),
        priority: (priority != 0).then_some(priority),
        description: (!description.is_empty()).then(|| description.to_owned()),
        format: None,
    }
}
