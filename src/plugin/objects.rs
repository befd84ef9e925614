//! The objects `register` applies, and how the plugin prints objects.
//!
//! Pure: building a registration from the parsed flags and the flattened kubeconfig, the
//! server-side-apply bodies, redaction of Secret data, and kubectl-style YAML/JSON rendering.
//! Whatever is printed passes through [`redact`] first, so printing can never leak credentials.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde_json::{json, Value};

use super::cli::{OutputFormat, RegisterArgs};
use super::kubeconfig::Flattened;
use super::{args, secret_name, CLUSTER_LABEL};
use crate::api::{
    ClusterCapability, ClusterRegistration, ClusterRegistrationSpec, SecretRef, DEFAULT_KUBECONFIG_KEY,
};
use crate::selectors::validation::label_value_errors;

/// What the flags of `register` ask for, validated; everything but the kubeconfig itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub name: String,
    pub location: String,
    pub labels: BTreeMap<String, String>,
    pub capabilities: Vec<ClusterCapability>,
    /// Namespace of the kubeconfig Secret.
    pub namespace: String,
}

impl Registration {
    /// Validates the flags of `register`. The location must be a label value because placements
    /// select on it through the `tmc.kcp.io/location` label.
    pub fn from_args(a: &RegisterArgs) -> Result<Self, String> {
        args::validate_cluster_name(&a.name)?;
        args::validate_namespace(&a.namespace)?;
        if a.location.is_empty() {
            return Err("--location must not be empty (e.g. us-east)".into());
        }
        if let Some(err) = label_value_errors(&a.location).first() {
            return Err(format!("--location {:?} is invalid: {err}", a.location));
        }
        Ok(Self {
            name: a.name.clone(),
            location: a.location.clone(),
            labels: args::parse_labels(&a.labels)?,
            capabilities: args::parse_capabilities(&a.capabilities)?,
            namespace: a.namespace.clone(),
        })
    }

    /// Where the kubeconfig Secret lives; also what the ClusterRegistration points at.
    pub fn secret_ref(&self) -> SecretRef {
        SecretRef {
            name: secret_name(&self.name),
            namespace: self.namespace.clone(),
            key: DEFAULT_KUBECONFIG_KEY.to_owned(),
        }
    }
}

/// The three objects of one registration, as they will be applied.
#[derive(Debug, Clone)]
pub struct RegisterPlan {
    pub namespace: Namespace,
    pub secret: Secret,
    pub registration: ClusterRegistration,
}

impl RegisterPlan {
    pub fn new(reg: &Registration, kubeconfig: &Flattened) -> Self {
        Self {
            namespace: namespace(&reg.namespace),
            secret: kubeconfig_secret(reg, kubeconfig.to_yaml().into_bytes()),
            registration: cluster_registration(reg),
        }
    }

    /// The objects for `--dry-run` output: the apply bodies, Secret data redacted.
    pub fn printable(&self) -> Vec<Value> {
        vec![
            to_json(&self.namespace),
            redact(&to_json(&self.secret)),
            registration_apply_body(&self.registration),
        ]
    }
}

fn to_json(object: &impl serde::Serialize) -> Value {
    serde_json::to_value(object).expect("Kubernetes objects serialize to JSON")
}

/// `v1 Namespace` `name`.
pub fn namespace(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

/// The Secret holding the flattened kubeconfig, labelled with the cluster name so `deregister`
/// can tell it created it.
pub fn kubeconfig_secret(reg: &Registration, kubeconfig: Vec<u8>) -> Secret {
    let secret_ref = reg.secret_ref();
    Secret {
        metadata: ObjectMeta {
            name: Some(secret_ref.name),
            namespace: Some(secret_ref.namespace),
            labels: Some(BTreeMap::from([(CLUSTER_LABEL.to_owned(), reg.name.clone())])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([(secret_ref.key, ByteString(kubeconfig))])),
        ..Secret::default()
    }
}

/// The ClusterRegistration for `reg`.
pub fn cluster_registration(reg: &Registration) -> ClusterRegistration {
    let mut cr = ClusterRegistration::new(
        &reg.name,
        ClusterRegistrationSpec {
            location: reg.location.clone(),
            capabilities: reg.capabilities.clone(),
            kubeconfig_secret_ref: Some(reg.secret_ref()),
            ..ClusterRegistrationSpec::default()
        },
    );
    if !reg.labels.is_empty() {
        cr.metadata.labels = Some(reg.labels.clone());
    }
    cr
}

/// The server-side-apply body of a ClusterRegistration: without `spec.unschedulable`, so
/// re-registering never undoes a cordon (a field absent from an apply is not claimed), and
/// without status, which belongs to tmc-server.
pub fn registration_apply_body(cr: &ClusterRegistration) -> Value {
    let mut body = to_json(cr);
    if let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("unschedulable");
    }
    if let Some(object) = body.as_object_mut() {
        object.remove("status");
    }
    body
}

/// `object` with the values of a Secret's `data` and `stringData` replaced by
/// `<redacted N bytes>`, and `metadata.managedFields` dropped (noise kubectl hides too).
/// Objects of other kinds only lose their managed fields.
pub fn redact(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if object.get("kind").and_then(Value::as_str) != Some("Secret") {
        return object;
    }
    for field in ["data", "stringData"] {
        let Some(entries) = object.get_mut(field).and_then(Value::as_object_mut) else {
            continue;
        };
        for value in entries.values_mut() {
            let len = match field {
                // `data` is base64; the size that matters to a reader is the decoded one.
                "data" => serde_json::from_value::<ByteString>(value.clone())
                    .map(|b| b.0.len())
                    .ok(),
                _ => value.as_str().map(str::len),
            };
            *value = match len {
                Some(n) => Value::String(format!("<redacted {n} bytes>")),
                None => Value::String("<redacted>".to_owned()),
            };
        }
    }
    object
}

/// Renders objects as kubectl does: YAML documents separated by `---`, or one JSON object
/// (a `v1 List` when there are several).
pub fn render(objects: &[Value], format: OutputFormat) -> String {
    match format {
        OutputFormat::Yaml => objects
            .iter()
            .map(|o| serde_yaml::to_string(o).expect("JSON values serialize to YAML"))
            .collect::<Vec<_>>()
            .join("---\n"),
        OutputFormat::Json => {
            let value = match objects {
                [one] => one.clone(),
                many => json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": many}),
            };
            let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
            text.push('\n');
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::cli::KcpArgs;

    fn register_args(extra: impl FnOnce(&mut RegisterArgs)) -> RegisterArgs {
        let mut a = RegisterArgs {
            name: "east".into(),
            kubeconfig: "east.yaml".into(),
            location: "us-east".into(),
            labels: vec!["tier=prod".into()],
            capabilities: vec!["gpu=model=a100".into(), "storage".into()],
            context: None,
            namespace: "tmc-system".into(),
            dry_run: true,
            output: None,
            kcp: KcpArgs::default(),
        };
        extra(&mut a);
        a
    }

    fn flattened() -> Flattened {
        let text = "clusters: [{name: c, cluster: {server: 'https://10.0.0.1'}}]\n\
                    contexts: [{name: x, context: {cluster: c, user: u}}]\n\
                    users: [{name: u, user: {token: TOPSECRET}}]\n";
        crate::plugin::kubeconfig::flatten(text, "k.yaml".as_ref(), None, &|_| unreachable!()).unwrap()
    }

    #[test]
    fn flags_become_a_registration() {
        let reg = Registration::from_args(&register_args(|_| {})).unwrap();
        assert_eq!(reg.labels, BTreeMap::from([("tier".into(), "prod".into())]));
        assert_eq!(reg.capabilities.len(), 2);
        assert_eq!(reg.secret_ref().name, "east-kubeconfig");
        for (change, needle) in [
            (
                Box::new(|a: &mut RegisterArgs| a.location = String::new()) as Box<dyn Fn(&mut RegisterArgs)>,
                "--location must not be empty",
            ),
            (
                Box::new(|a| a.location = "us east".into()),
                "--location \"us east\" is invalid",
            ),
            (
                Box::new(|a| a.name = "East".into()),
                "cluster name \"East\" is invalid",
            ),
            (
                Box::new(|a| a.namespace = "a.b".into()),
                "--namespace \"a.b\" is invalid",
            ),
            (
                Box::new(|a| a.labels.push("bad".into())),
                "--label \"bad\" must be key=value",
            ),
            (
                Box::new(|a| a.capabilities.push("gpu".into())),
                "\"gpu\" is given more than once",
            ),
        ] {
            let err = Registration::from_args(&register_args(|a| change(a))).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn the_plan_holds_namespace_secret_and_registration() {
        let reg = Registration::from_args(&register_args(|_| {})).unwrap();
        let plan = RegisterPlan::new(&reg, &flattened());
        assert_eq!(
            to_json(&plan.namespace),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmc-system"}})
        );

        let secret = to_json(&plan.secret);
        assert_eq!(secret["metadata"]["name"], "east-kubeconfig");
        assert_eq!(secret["metadata"]["namespace"], "tmc-system");
        assert_eq!(
            secret["metadata"]["labels"],
            json!({"tmc.kcp.io/cluster": "east"})
        );
        assert_eq!(secret["type"], "Opaque");
        let stored = &plan.secret.data.as_ref().unwrap()["kubeconfig"].0;
        let stored: serde_yaml::Value = serde_yaml::from_slice(stored).unwrap();
        assert_eq!(
            stored,
            flattened().kubeconfig,
            "the Secret holds the flattened kubeconfig"
        );

        let cr = registration_apply_body(&plan.registration);
        assert_eq!(
            cr,
            json!({
                "apiVersion": "tmc.kcp.io/v1alpha1",
                "kind": "ClusterRegistration",
                "metadata": {"name": "east", "labels": {"tier": "prod"}},
                "spec": {
                    "location": "us-east",
                    "capabilities": [
                        {"type": "gpu", "available": true, "properties": {"model": "a100"}},
                        {"type": "storage", "available": true}
                    ],
                    "kubeconfigSecretRef": {"name": "east-kubeconfig", "namespace": "tmc-system", "key": "kubeconfig"}
                }
            })
        );
    }

    #[test]
    fn without_labels_the_registration_has_none() {
        let reg = Registration::from_args(&register_args(|a| a.labels.clear())).unwrap();
        let body = registration_apply_body(&cluster_registration(&reg));
        assert!(body["metadata"].get("labels").is_none(), "{body}");
    }

    #[test]
    fn secret_data_is_redacted_with_its_size() {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "managedFields": [{"manager": "kubectl-tmc"}]},
            "data": {"kubeconfig": "VE9QU0VDUkVU", "bad": "%%%"},
            "stringData": {"token": "abc"}
        });
        let redacted = redact(&secret);
        assert_eq!(redacted["data"]["kubeconfig"], "<redacted 9 bytes>");
        assert_eq!(redacted["data"]["bad"], "<redacted>");
        assert_eq!(redacted["stringData"]["token"], "<redacted 3 bytes>");
        assert!(redacted["metadata"].get("managedFields").is_none());
        let cm = json!({"kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(redact(&cm), cm, "only Secrets are redacted");
    }

    #[test]
    fn printable_objects_never_contain_the_credentials() {
        let reg = Registration::from_args(&register_args(|_| {})).unwrap();
        let plan = RegisterPlan::new(&reg, &flattened());
        let n = plan.secret.data.as_ref().unwrap()["kubeconfig"].0.len();
        for format in [OutputFormat::Yaml, OutputFormat::Json] {
            let text = render(&plan.printable(), format);
            assert!(!text.contains("TOPSECRET"), "{text}");
            let encoded = serde_json::to_value(ByteString(b"TOPSECRET".to_vec())).unwrap();
            assert!(!text.contains(encoded.as_str().unwrap()), "{text}");
            assert!(text.contains(&format!("<redacted {n} bytes>")), "{text}");
        }
    }

    #[test]
    fn rendering_follows_kubectl() {
        let a = json!({"kind": "A", "metadata": {"name": "a"}});
        let b = json!({"kind": "B"});
        assert_eq!(
            render(&[a.clone(), b.clone()], OutputFormat::Yaml),
            "kind: A\nmetadata:\n  name: a\n---\nkind: B\n"
        );
        let list: Value = serde_json::from_str(&render(&[a.clone(), b], OutputFormat::Json)).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][0], a);
        let one: Value = serde_json::from_str(&render(std::slice::from_ref(&a), OutputFormat::Json)).unwrap();
        assert_eq!(one, a);
    }
}
