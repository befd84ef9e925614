//! Tests of `plan` and of `desired`: the two pure halves of a sync round.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::index::GroupResource;
use crate::placement::record::{RecordedCluster, RecordedDecision, PLACEMENT_ANNOTATION};
use crate::placement::ClusterId;
use crate::sync::desired::{desired_sets, Inputs, ObjectRef, WorkloadInput};
use crate::sync::naming::{physical_namespace, FINALIZER, MANAGED_BY_LABEL};

fn deployments() -> GroupResource {
    GroupResource::new("apps", "deployments")
}

fn decision(clusters: &[&str]) -> String {
    RecordedDecision {
        policy: "(default)".into(),
        clusters: clusters
            .iter()
            .map(|c| RecordedCluster {
                workspace: "prov".into(),
                name: (*c).into(),
            })
            .collect(),
        reason: "Placed".into(),
        message: String::new(),
    }
    .to_annotation()
}

fn deployment(name: &str, clusters: &[&str], finalized: bool) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "generation": 1,
            "annotations": {PLACEMENT_ANNOTATION: decision(clusters), "kcp.io/cluster": "ws"},
            "finalizers": if finalized { json!([FINALIZER]) } else { json!([]) }},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx",
            "envFrom": [{"configMapRef": {"name": "conf"}}, {"secretRef": {"name": "token"}}]}]}}}})
}

fn registered() -> BTreeSet<ClusterId> {
    [ClusterId::new("prov", "east"), ClusterId::new("prov", "west")]
        .into_iter()
        .collect()
}

fn config() -> (HashMap<ObjectRef, Arc<Value>>, HashMap<ObjectRef, Arc<Value>>) {
    let key = |n: &str| ("ws".to_owned(), "default".to_owned(), n.to_owned());
    let cms = [(
        key("conf"),
        Arc::new(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "conf", "namespace": "default"}, "data": {"a": "1"}})),
    )]
    .into_iter()
    .collect();
    let secrets = [
        (
            key("token"),
            Arc::new(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "token", "namespace": "default"}, "data": {"t": "eA=="}})),
        ),
        (
            key("unused"),
            Arc::new(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "unused", "namespace": "default"}})),
        ),
    ]
    .into_iter()
    .collect();
    (cms, secrets)
}

fn sets_for(objects: &[Value]) -> BTreeMap<ClusterId, DesiredSet> {
    let (cms, secrets) = config();
    let gr = deployments();
    let reg = registered();
    let inputs = Inputs {
        workloads: objects
            .iter()
            .map(|o| WorkloadInput {
                resource: &gr,
                object: o,
                workspace: "ws",
            })
            .collect(),
        config_maps: &cms,
        secrets: &secrets,
        registered: &reg,
    };
    desired_sets(&inputs)
}

/// East's desired set when Deployment web is placed there.
fn web_on_east() -> DesiredSet {
    sets_for(&[deployment("web", &["east"], true)])
        .remove(&ClusterId::new("prov", "east"))
        .unwrap()
}

fn web_key(set: &DesiredSet) -> CopyKey {
    set.copies
        .keys()
        .find(|k| k.resource == deployments())
        .unwrap()
        .clone()
}

fn keys(set: &DesiredSet) -> Vec<String> {
    set.copies.keys().map(ToString::to_string).collect()
}

#[test]
fn a_placed_workload_brings_its_namespace_and_references_to_its_cluster_only() {
    let sets = sets_for(&[deployment("web", &["east"], true)]);
    let ns = physical_namespace("ws", "default");
    let east = &sets[&ClusterId::new("prov", "east")];
    assert_eq!(
        keys(east),
        [
            format!("configmaps/{ns}/conf"),
            format!("namespaces/{ns}"),
            format!("secrets/{ns}/token"),
            format!("deployments/{ns}/web"),
        ]
    );
    assert!(
        sets[&ClusterId::new("prov", "west")].copies.is_empty(),
        "west holds nothing"
    );
    let copy = &east
        .copies
        .values()
        .find(|c| c.object["kind"] == "Deployment")
        .unwrap()
        .object;
    assert_eq!(copy["metadata"]["namespace"], ns.as_str());
    assert_eq!(copy["metadata"]["labels"][MANAGED_BY_LABEL], "tmc-server");
}

#[test]
fn nothing_is_wanted_without_the_finalizer_or_while_deleting_or_off_the_registered_clusters() {
    let mut deleting = deployment("web", &["east"], true);
    deleting["metadata"]["deletionTimestamp"] = json!("2026-11-22T00:00:00Z");
    for obj in [
        deployment("web", &["east"], false),
        deleting,
        deployment("web", &["gone"], true),
        deployment("web", &[], true),
    ] {
        let sets = sets_for(&[obj]);
        assert_eq!(sets.len(), 2, "every registered cluster gets a set");
        assert!(sets.values().all(|s| s.copies.is_empty()));
    }
}

#[test]
fn shared_config_is_one_copy_per_cluster() {
    let sets = sets_for(&[
        deployment("a", &["east", "west"], true),
        deployment("b", &["east"], true),
    ]);
    assert_eq!(sets[&ClusterId::new("prov", "east")].copies.len(), 5);
    assert_eq!(sets[&ClusterId::new("prov", "west")].copies.len(), 4);
}

fn actual_of(set: &DesiredSet) -> BTreeMap<CopyKey, Arc<Value>> {
    set.copies
        .iter()
        .map(|(k, c)| {
            let mut served = (*c.object).clone();
            served["metadata"]["resourceVersion"] = json!("7");
            served["status"] = json!({"replicas": 1});
            (k.clone(), Arc::new(served))
        })
        .collect()
}

fn applied_of(set: &DesiredSet, actual: &BTreeMap<CopyKey, Arc<Value>>) -> HashMap<CopyKey, Applied> {
    set.copies
        .iter()
        .map(|(k, c)| {
            let a = Applied {
                hash: c.hash,
                projection: crate::sync::drift::project(&actual[k], &c.object),
                resource_version: actual[k]["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            (k.clone(), a)
        })
        .collect()
}

#[test]
fn an_empty_cluster_gets_everything_created_namespace_first_config_before_workloads() {
    let set = web_on_east();
    let actions = plan(&set, &BTreeMap::new(), &HashMap::new());
    let kinds: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| {
            let verb = match a {
                Action::Create(_) => "create",
                _ => "other",
            };
            (verb, a.key().resource.resource.as_str())
        })
        .collect();
    assert_eq!(kinds[0], ("create", "namespaces"));
    assert_eq!(kinds[3], ("create", "deployments"));
    assert!(kinds[1..3]
        .iter()
        .all(|(v, r)| *v == "create" && (*r == "configmaps" || *r == "secrets")));
}

#[test]
fn a_converged_cluster_needs_nothing_and_a_restart_reapplies_once() {
    let set = web_on_east();
    let actual = actual_of(&set);
    let applied = applied_of(&set, &actual);
    assert_eq!(plan(&set, &actual, &applied), vec![]);
    // After a restart nothing is remembered: each copy is applied again (a no-op server-side).
    let after_restart = plan(&set, &actual, &HashMap::new());
    assert_eq!(after_restart.len(), 4);
    assert!(after_restart.iter().all(|a| matches!(a, Action::Update(_))));
}

#[test]
fn edits_on_the_cluster_are_reverted_and_changes_in_kcp_are_updates() {
    let set = web_on_east();
    let mut actual = actual_of(&set);
    let applied = applied_of(&set, &actual);
    let key = web_key(&set);
    let mut edited = (*actual[&key]).clone();
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil");
    // An edit always gets a new resourceVersion; one that does not is the
    // object TMC last saw, not projected again.
    let unchanged_rv: BTreeMap<CopyKey, Arc<Value>> = [(key.clone(), Arc::new(edited.clone()))].into();
    let mut set_web_only = set.clone();
    set_web_only.copies.retain(|k, _| *k == key);
    assert_eq!(plan(&set_web_only, &unchanged_rv, &applied), vec![]);
    edited["metadata"]["resourceVersion"] = json!("8");
    actual.insert(key.clone(), Arc::new(edited));
    assert_eq!(
        plan(&set, &actual, &applied),
        vec![Action::Revert(
            key.clone(),
            "spec.template.spec.containers[0].image".into()
        )]
    );

    let mut changed = deployment("web", &["east"], true);
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let set2 = sets_for(&[changed])
        .remove(&ClusterId::new("prov", "east"))
        .unwrap();
    assert_eq!(plan(&set2, &actual_of(&set), &applied), vec![Action::Update(key)]);
}

#[test]
fn copies_no_longer_wanted_are_deleted_namespace_last_and_terminating_ones_are_left_to_finish() {
    let set = web_on_east();
    let mut actual = actual_of(&set);
    let actions = plan(&DesiredSet::default(), &actual, &HashMap::new());
    assert_eq!(actions.len(), 4);
    assert!(actions.iter().all(|a| matches!(a, Action::Delete(_))));
    assert_eq!(
        actions.last().unwrap().key().resource,
        crate::sync::desired::namespaces()
    );
    for v in actual.values_mut() {
        Arc::make_mut(v)["metadata"]["deletionTimestamp"] = json!("2026-11-22T00:00:00Z");
    }
    assert_eq!(plan(&DesiredSet::default(), &actual, &HashMap::new()), vec![]);
}

#[test]
fn a_copy_deleted_on_the_cluster_is_created_again() {
    let set = web_on_east();
    let mut actual = actual_of(&set);
    let applied = applied_of(&set, &actual);
    let key = web_key(&set);
    actual.remove(&key);
    assert_eq!(plan(&set, &actual, &applied), vec![Action::Create(key)]);
}

/// The cache reuses a workload's copies only while nothing they come from
/// changed: a new version of the workload or of a ConfigMap it references
/// (or one appearing) gives exactly what a fresh computation gives.
#[test]
fn cached_desired_sets_equal_fresh_ones_as_inputs_change() {
    use crate::sync::desired::{desired_sets_cached, CopyCache};
    let (mut cms, secrets) = config();
    let gr = deployments();
    let reg = registered();
    let mut cache = CopyCache::default();
    let mut web = deployment("web", &["east"], true);
    web["metadata"]["resourceVersion"] = json!("1");
    let conf = ("ws".to_owned(), "default".to_owned(), "conf".to_owned());
    let mut check = |web: &Value, cms: &HashMap<ObjectRef, Arc<Value>>| {
        let inputs = Inputs {
            workloads: vec![WorkloadInput {
                resource: &gr,
                object: web,
                workspace: "ws",
            }],
            config_maps: cms,
            secrets: &secrets,
            registered: &reg,
        };
        let cached = desired_sets_cached(&inputs, &mut cache);
        assert_eq!(cached, desired_sets(&inputs));
        cached
    };
    let first = check(&web, &cms);
    assert_eq!(check(&web, &cms), first, "unchanged inputs, unchanged sets");

    // The ConfigMap changes (new resourceVersion): its copy changes.
    let mut conf_v2 = (*cms[&conf]).clone();
    conf_v2["data"]["a"] = json!("2");
    conf_v2["metadata"]["resourceVersion"] = json!("5");
    cms.insert(conf.clone(), Arc::new(conf_v2));
    let second = check(&web, &cms);
    assert_ne!(second, first);

    // The ConfigMap disappears, then the workload moves to west.
    cms.remove(&conf);
    let third = check(&web, &cms);
    assert_ne!(third, second);
    web = deployment("web", &["west"], true);
    web["metadata"]["resourceVersion"] = json!("2");
    let moved = check(&web, &cms);
    assert!(moved[&ClusterId::new("prov", "east")].copies.is_empty());
    assert!(!moved[&ClusterId::new("prov", "west")].copies.is_empty());
}
