//! The ConfigMaps and Secrets a workload needs on the cluster it runs on: the
//! ones its pod template names (volumes, projected volumes, `envFrom`,
//! `env[].valueFrom`, `imagePullSecrets`). They are synced with the workload
//! into the same physical namespace. Pure.

use std::collections::BTreeSet;

use serde_json::Value;

/// What a workload references, by name (in its own namespace).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    pub config_maps: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
}

/// The pod spec of a workload object, wherever its kind keeps it: Deployments,
/// ReplicaSets, StatefulSets, DaemonSets and Jobs under `spec.template.spec`,
/// CronJobs under `spec.jobTemplate.spec.template.spec`, Pods under `spec`.
fn pod_spec(object: &Value) -> Option<&Value> {
    let spec = &object["spec"];
    [
        &spec["template"]["spec"],
        &spec["jobTemplate"]["spec"]["template"]["spec"],
    ]
    .into_iter()
    .find(|s| s.is_object())
    .or_else(|| (object["kind"] == "Pod").then_some(spec))
}

/// The ConfigMaps and Secrets `object` references (empty for kinds without a pod template).
pub fn references(object: &Value) -> References {
    let mut refs = References::default();
    let Some(pod) = pod_spec(object) else { return refs };
    // `true` adds to the Secrets, `false` to the ConfigMaps.
    let (cms, secrets) = (false, true);
    let mut add = |secret: bool, name: &Value| {
        if let Some(n) = name.as_str().filter(|n| !n.is_empty()) {
            let set = if secret {
                &mut refs.secrets
            } else {
                &mut refs.config_maps
            };
            set.insert(n.to_owned());
        }
    };
    for v in items(&pod["volumes"]) {
        add(cms, &v["configMap"]["name"]);
        add(secrets, &v["secret"]["secretName"]);
        for s in items(&v["projected"]["sources"]) {
            add(cms, &s["configMap"]["name"]);
            add(secrets, &s["secret"]["name"]);
        }
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in items(&pod[list]) {
            for e in items(&c["envFrom"]) {
                add(cms, &e["configMapRef"]["name"]);
                add(secrets, &e["secretRef"]["name"]);
            }
            for e in items(&c["env"]) {
                add(cms, &e["valueFrom"]["configMapKeyRef"]["name"]);
                add(secrets, &e["valueFrom"]["secretKeyRef"]["name"]);
            }
        }
    }
    for s in items(&pod["imagePullSecrets"]) {
        add(secrets, &s["name"]);
    }
    refs
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn finds_every_kind_of_reference_in_a_deployment() {
        let d = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "volumes": [
                {"name": "a", "configMap": {"name": "cm-vol"}},
                {"name": "b", "secret": {"secretName": "s-vol"}},
                {"name": "c", "projected": {"sources": [
                    {"configMap": {"name": "cm-proj"}}, {"secret": {"name": "s-proj"}},
                    {"serviceAccountToken": {"path": "t"}}]}},
                {"name": "d", "emptyDir": {}}],
            "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
            "containers": [{"name": "c",
                "envFrom": [{"secretRef": {"name": "s-envfrom"}}],
                "env": [
                    {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "k"}}},
                    {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s-key", "key": "k"}}},
                    {"name": "Z", "value": "plain"},
                    {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
            "imagePullSecrets": [{"name": "pull"}, {"name": ""}]}}}});
        let r = references(&d);
        assert_eq!(names(&r.config_maps), ["cm-init", "cm-key", "cm-proj", "cm-vol"]);
        assert_eq!(
            names(&r.secrets),
            ["pull", "s-envfrom", "s-key", "s-proj", "s-vol"]
        );
    }

    #[test]
    fn kinds_without_a_pod_template_reference_nothing() {
        let svc = json!({"kind": "Service", "spec": {"ports": [{"port": 80}]}});
        assert_eq!(references(&svc), References::default());
        assert_eq!(references(&json!({})), References::default());
        assert_eq!(
            references(&json!({"spec": {"template": "garbage"}})),
            References::default()
        );
    }

    #[test]
    fn cronjobs_and_pods_are_read_where_they_keep_their_pod_spec() {
        let cj = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "volumes": [{"name": "a", "configMap": {"name": "cj"}}]}}}}}});
        assert_eq!(names(&references(&cj).config_maps), ["cj"]);
        let pod = json!({"kind": "Pod", "spec": {"imagePullSecrets": [{"name": "p"}]}});
        assert_eq!(names(&references(&pod).secrets), ["p"]);
    }
}
