//! Drift: someone changed a field TMC manages on a physical copy.
//!
//! After each apply TMC keeps the *projection* of the server's answer onto
//! the fields it applied (the desired copy's shape): the values as the
//! server stores them, normalization and defaults included. Later, the copy
//! has drifted exactly when its projection differs from that one. Fields TMC
//! does not set (status, defaults, other managers' labels) are never
//! compared, so controllers updating status or a kubelet are not drift.
//! Pure.

use serde_json::{Map, Value};

/// `actual` restricted to the shape of `desired`: objects keep only the keys
/// `desired` has (missing ones stay missing), arrays of equal length are
/// projected element by element, anything else is taken whole.
pub fn project(actual: &Value, desired: &Value) -> Value {
    match (actual, desired) {
        (Value::Object(a), Value::Object(d)) => {
            let mut out = Map::new();
            for (k, dv) in d {
                if let Some(av) = a.get(k) {
                    out.insert(k.clone(), project(av, dv));
                }
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(d)) if a.len() == d.len() => {
            Value::Array(a.iter().zip(d).map(|(av, dv)| project(av, dv)).collect())
        }
        _ => actual.clone(),
    }
}

/// The first path at which `now` differs from `before` (both projections),
/// in kubectl's style: `spec.template.spec.containers[0].image`.
pub fn first_difference(before: &Value, now: &Value) -> Option<String> {
    fn walk(before: &Value, now: &Value, path: &mut String) -> bool {
        match (before, now) {
            (Value::Object(b), Value::Object(n)) => {
                let mut keys: Vec<&String> = b.keys().chain(n.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    if walk(
                        b.get(k).unwrap_or(&Value::Null),
                        n.get(k).unwrap_or(&Value::Null),
                        path,
                    ) {
                        return true;
                    }
                    path.truncate(len);
                }
                false
            }
            (Value::Array(b), Value::Array(n)) if b.len() == n.len() => {
                for (i, (bv, nv)) in b.iter().zip(n).enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    if walk(bv, nv, path) {
                        return true;
                    }
                    path.truncate(len);
                }
                false
            }
            _ => before != now,
        }
    }
    let mut path = String::new();
    walk(before, now, &mut path).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Value {
        json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}})
    }

    fn served() -> Value {
        json!({"metadata": {"labels": {"app": "web", "extra": "x"}, "resourceVersion": "5"},
            "spec": {"replicas": 2, "strategy": {"type": "RollingUpdate"},
                "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1",
                    "imagePullPolicy": "IfNotPresent"}]}}},
            "status": {"replicas": 2}})
    }

    #[test]
    fn defaults_status_and_other_fields_are_not_drift() {
        let applied = project(&served(), &desired());
        let mut later = served();
        later["status"]["readyReplicas"] = json!(2);
        later["metadata"]["resourceVersion"] = json!("6");
        later["metadata"]["labels"]["added-by-someone"] = json!("y");
        later["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
        assert_eq!(project(&later, &desired()), applied);
        assert_eq!(first_difference(&applied, &project(&later, &desired())), None);
    }

    #[test]
    fn an_edit_of_a_managed_field_is_drift_and_names_its_path() {
        let applied = project(&served(), &desired());
        let mut edited = served();
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:latest");
        let now = project(&edited, &desired());
        assert_ne!(now, applied);
        assert_eq!(
            first_difference(&applied, &now).as_deref(),
            Some("spec.template.spec.containers[0].image")
        );
        let mut removed = served();
        removed["metadata"]["labels"]
            .as_object_mut()
            .unwrap()
            .remove("app");
        assert_eq!(
            first_difference(&applied, &project(&removed, &desired())).as_deref(),
            Some("metadata.labels.app")
        );
        let mut longer = served();
        longer["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar"}));
        assert_eq!(
            first_difference(&applied, &project(&longer, &desired())).as_deref(),
            Some("spec.template.spec.containers")
        );
    }
}
