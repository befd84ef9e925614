//! Running `kubectl tmc cluster ...`: the only part of the plugin that talks to kcp.
//!
//! Each command validates and plans with the pure modules first, so a bad flag or kubeconfig
//! fails before any connection is made, and `register --dry-run` needs no kcp at all.
//! Errors from kcp are rendered as kubectl renders them (`Error from server (Reason): message`);
//! none of them carries Secret data, because nothing here formats a Secret's contents.

use std::fmt::Debug;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError as KubeRsConfigError};
use kube::{Client, Config, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::cli::{ClusterCommand, CordonArgs, DeregisterArgs, KcpArgs, OutputFormat, RegisterArgs};
use super::kubeconfig::{flatten_file, KubeconfigError};
use super::objects::{redact, registration_apply_body, render, RegisterPlan, Registration};
use super::{args, secret_name, CLUSTER_LABEL, FIELD_MANAGER};
use crate::api::{ClusterRegistration, API_VERSION};

/// `kind.group` of ClusterRegistrations, as kubectl prints it.
const RESOURCE: &str = "clusterregistration.tmc.kcp.io";

/// Why a command failed; `main` prints it after `error: ` and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag value is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The physical cluster's kubeconfig cannot be registered.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// The kcp kubeconfig cannot be loaded.
    #[error("cannot use the kcp kubeconfig: {0}")]
    KcpConfig(String),
    /// The workspace does not serve `tmc.kcp.io` (no APIBinding to the export).
    #[error(
        "the workspace has no tmc.kcp.io API: bind the tmc.kcp.io APIExport first (see README); \
         workspace: {server}"
    )]
    NoTmcApi { server: String },
    /// The named workload does not exist (the API does).
    #[error("Error from server (NotFound): {resource} {name:?} not found")]
    WorkloadNotFound { resource: String, name: String },
    /// The workspace does not serve a workload resource (no binding to TMC's workload export).
    #[error(
        "the workspace does not serve {resource}: bind TMC's workload APIExport ({export:?}) first \
         (see README); workspace: {server}"
    )]
    NotServed {
        resource: String,
        export: &'static str,
        server: String,
    },
    /// The named ClusterRegistration does not exist (the API does).
    #[error("Error from server (NotFound): clusterregistrations.tmc.kcp.io {0:?} not found")]
    NotFound(String),
    /// A request to kcp failed.
    #[error("{action}: {message}")]
    Kcp { action: String, message: String },
    /// The registration is still terminating after `--timeout`.
    #[error(
        "{RESOURCE}/{name} is still being deleted after {waited:?} (finalizers: {finalizers}); \
         {secret} is kept because tmc-server still needs it. Run this command again once the \
         registration is gone"
    )]
    StillTerminating {
        name: String,
        waited: Duration,
        finalizers: String,
        secret: String,
    },
    /// Writing to stdout or stderr failed.
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
}

/// Runs one `kubectl tmc cluster` command, writing results to `out` and warnings to `err`.
pub async fn run(command: &ClusterCommand, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    match command {
        ClusterCommand::Register(a) => register(a, out, err).await,
        ClusterCommand::Cordon(a) => set_unschedulable(a, true, out).await,
        ClusterCommand::Uncordon(a) => set_unschedulable(a, false, out).await,
        ClusterCommand::Deregister(a) => deregister(a, out, err).await,
    }
}

/// What an apply did, as kubectl reports it. Decided by content, not resourceVersion: kcp
/// rewrites an object on the first apply after its creation even when nothing visible changes,
/// so a bumped resourceVersion does not mean "configured". Bookkeeping that moves without the
/// user's fields changing (resourceVersion, managedFields timestamps, status written by
/// tmc-server meanwhile) is ignored.
fn outcome(before: Option<&Value>, after: &Value) -> &'static str {
    fn content(object: &Value) -> Value {
        let mut object = object.clone();
        if let Some(o) = object.as_object_mut() {
            o.remove("status");
        }
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        object
    }
    match before {
        None => "created",
        Some(b) if content(b) == content(after) => "unchanged",
        Some(_) => "configured",
    }
}

async fn register(a: &RegisterArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    let reg = Registration::from_args(a).map_err(Error::Invalid)?;
    let kubeconfig = flatten_file(&a.kubeconfig, a.context.as_deref())?;
    for warning in &kubeconfig.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    let plan = RegisterPlan::new(&reg, &kubeconfig);
    if a.dry_run {
        out.write_all(render(&plan.printable(), a.output.unwrap_or(OutputFormat::Yaml)).as_bytes())?;
        return Ok(());
    }

    let kcp = Kcp::connect(&a.kcp).await?;
    // Checked first so a workspace without the API gets no namespace or Secret either.
    kcp.require_tmc_api().await?;
    // Progress lines go out as each step lands, so a failure midway shows what was done.
    let mut printed = Vec::new();
    let mut progress = |line: String| -> io::Result<()> {
        match a.output {
            Some(_) => Ok(()),
            None => writeln!(out, "{line}"),
        }
    };

    let namespaces: Api<Namespace> = Api::all(kcp.client.clone());
    let ns_name = &reg.namespace;
    // An existing namespace is left alone: applying it would make kubectl-tmc a co-owner.
    if namespaces
        .get_metadata_opt(ns_name)
        .await
        .map_err(kcp.err(format!("reading namespace {ns_name}")))?
        .is_none()
    {
        let created = namespaces
            .patch(ns_name, &apply_params(), &Patch::Apply(&plan.namespace))
            .await
            .map_err(kcp.err(format!("creating namespace {ns_name}")))?;
        progress(format!("namespace/{ns_name} created"))?;
        printed.push(to_json(&created));
    }

    let secret_ref = reg.secret_ref();
    let secret_id = format!("{}/{}", secret_ref.namespace, secret_ref.name);
    let secrets: Api<Secret> = Api::namespaced(kcp.client.clone(), &secret_ref.namespace);
    let (secret, how, _) = apply(
        &kcp,
        &secrets,
        &secret_ref.name,
        &to_json(&plan.secret),
        &format!("secret {secret_id}"),
    )
    .await?;
    progress(format!("secret {secret_id} {how}"))?;
    printed.push(redact(&to_json(&secret)));

    let registrations: Api<ClusterRegistration> = Api::all(kcp.client.clone());
    let body = registration_apply_body(&plan.registration);
    let (cr, how, previous) = apply(
        &kcp,
        &registrations,
        &reg.name,
        &body,
        &format!("{RESOURCE}/{}", reg.name),
    )
    .await?;
    progress(format!("{RESOURCE}/{} {how}", reg.name))?;
    let previous_ref = previous.and_then(|p| p.spec.kubeconfig_secret_ref);
    printed.push(redact(&to_json(&cr)));

    if let Some(format) = a.output {
        out.write_all(render(&printed, format).as_bytes())?;
    }
    if let Some(old) =
        previous_ref.filter(|old| (&old.namespace, &old.name) != (&secret_ref.namespace, &secret_ref.name))
    {
        writeln!(
            err,
            "note: {RESOURCE}/{} referenced secret {ns}/{n} before; delete it if nothing else uses it: \
             kubectl delete secret -n {ns} {n}",
            reg.name,
            ns = old.namespace,
            n = old.name
        )?;
    }
    Ok(())
}

async fn set_unschedulable(a: &CordonArgs, unschedulable: bool, out: &mut dyn Write) -> Result<(), Error> {
    let verb = if unschedulable { "cordoned" } else { "uncordoned" };
    let kcp = Kcp::connect(&a.kcp).await?;
    let api: Api<ClusterRegistration> = Api::all(kcp.client.clone());
    let action = format!("reading {RESOURCE}/{}", a.name);
    let Some(current) = get_opt(&api, &a.name).await.map_err(kcp.err(action))? else {
        return Err(kcp.missing(&a.name).await);
    };
    // Like `kubectl cordon`: no write when there is nothing to change.
    if current.spec.unschedulable == unschedulable {
        writeln!(out, "{RESOURCE}/{} already {verb}", a.name)?;
        return Ok(());
    }
    let patch = json!({"spec": {"unschedulable": unschedulable}});
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    match api.patch(&a.name, &params, &Patch::Merge(&patch)).await {
        Ok(_) => {}
        Err(e) if is_404(&e) => return Err(kcp.missing(&a.name).await),
        Err(e) => return Err(kcp.err(format!("patching {RESOURCE}/{}", a.name))(e)),
    }
    writeln!(out, "{RESOURCE}/{} {verb}", a.name)?;
    Ok(())
}

async fn deregister(a: &DeregisterArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    args::validate_cluster_name(&a.name).map_err(Error::Invalid)?;
    args::validate_namespace(&a.namespace).map_err(Error::Invalid)?;
    let timeout = args::parse_timeout(&a.timeout).map_err(Error::Invalid)?;
    let kcp = Kcp::connect(&a.kcp).await?;
    let api: Api<ClusterRegistration> = Api::all(kcp.client.clone());
    let name = &a.name;
    let current = get_opt(&api, name)
        .await
        .map_err(kcp.err(format!("reading {RESOURCE}/{name}")))?;
    let Some(current) = current else {
        // A previous run may have deleted the registration but not (yet) the Secret.
        kcp.require_tmc_api().await?;
        let leftover = (a.namespace.clone(), secret_name(name));
        let secrets: Api<Secret> = Api::namespaced(kcp.client.clone(), &leftover.0);
        let labelled = secrets
            .get_metadata_opt(&leftover.1)
            .await
            .map_err(kcp.err(format!("reading secret {}/{}", leftover.0, leftover.1)))?
            .is_some_and(|m| m.labels().get(CLUSTER_LABEL) == Some(name));
        if !labelled || a.keep_secret {
            return Err(Error::NotFound(name.clone()));
        }
        writeln!(out, "{RESOURCE}/{name} already gone")?;
        return delete_secret(&kcp, name, &leftover.0, &leftover.1, out).await;
    };
    let uid = current.uid();
    let secret_ref = current.spec.kubeconfig_secret_ref.clone();

    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(e) if is_404(&e) => {}
        Err(e) => return Err(kcp.err(format!("deleting {RESOURCE}/{name}"))(e)),
    }
    // With finalizers (tmc-server draining the cluster) the object lingers; the Secret must
    // outlive it, since tmc-server reaches the cluster through it while draining.
    let start = Instant::now();
    let mut announced = false;
    loop {
        let still = get_opt(&api, name)
            .await
            .map_err(kcp.err(format!("reading {RESOURCE}/{name}")))?
            .filter(|cr| cr.uid() == uid);
        let Some(still) = still else { break };
        if start.elapsed() >= timeout {
            return Err(Error::StillTerminating {
                name: name.clone(),
                waited: timeout,
                finalizers: still.finalizers().join(", "),
                secret: secret_ref
                    .as_ref()
                    .map(|r| format!("secret {}/{}", r.namespace, r.name))
                    .unwrap_or_else(|| "its secret".into()),
            });
        }
        if !announced {
            writeln!(
                err,
                "waiting up to {timeout:?} for tmc-server to release {RESOURCE}/{name} (finalizers: {})",
                still.finalizers().join(", ")
            )?;
            announced = true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    writeln!(out, "{RESOURCE}/{name} deleted")?;

    match secret_ref {
        None => Ok(()),
        Some(r) if a.keep_secret => {
            writeln!(out, "secret {}/{} kept (--keep-secret)", r.namespace, r.name)?;
            Ok(())
        }
        Some(r) => delete_secret(&kcp, name, &r.namespace, &r.name, out).await,
    }
}

/// Deletes Secret `namespace/secret` if `register` created it for cluster `name`.
async fn delete_secret(
    kcp: &Kcp,
    name: &str,
    namespace: &str,
    secret: &str,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let id = format!("{namespace}/{secret}");
    let secrets: Api<Secret> = Api::namespaced(kcp.client.clone(), namespace);
    let meta = secrets
        .get_metadata_opt(secret)
        .await
        .map_err(kcp.err(format!("reading secret {id}")))?;
    let Some(meta) = meta else {
        writeln!(out, "secret {id} already gone")?;
        return Ok(());
    };
    if meta.labels().get(CLUSTER_LABEL).map(String::as_str) != Some(name) {
        writeln!(
            out,
            "secret {id} kept: it lacks label {CLUSTER_LABEL}={name}, so kubectl tmc did not create it"
        )?;
        return Ok(());
    }
    match secrets.delete(secret, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(e) if is_404(&e) => {}
        Err(e) => return Err(kcp.err(format!("deleting secret {id}"))(e)),
    }
    writeln!(out, "secret {id} deleted")?;
    Ok(())
}

/// A 404, whatever its body. kcp answers requests for a resource the workspace does not serve
/// with a plain-text "404 page not found", which kube-rs cannot read as a NotFound Status.
pub(crate) fn is_404(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404 || status.is_not_found())
}

/// `Api::get_opt`, with [`is_404`] deciding what "not found" is.
pub(crate) async fn get_opt<K>(api: &Api<K>, name: &str) -> Result<Option<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.get(name).await {
        Ok(object) => Ok(Some(object)),
        Err(e) if is_404(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn apply_params() -> PatchParams {
    // Forced: the flags of `register` are the operator's declared intent for these fields, so a
    // re-registration takes them over from whoever edited them last instead of failing.
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Server-side applies `body` as `name`; returns the result, created/configured/unchanged, and
/// the object as it was before (for a Secret that includes its data: it is compared, never
/// printed).
async fn apply<K>(
    kcp: &Kcp,
    api: &Api<K>,
    name: &str,
    body: &Value,
    what: &str,
) -> Result<(K, &'static str, Option<K>), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug + serde::Serialize,
{
    let before = get_opt(api, name)
        .await
        .map_err(kcp.err(format!("reading {what}")))?;
    let after = api
        .patch(name, &apply_params(), &Patch::Apply(body))
        .await
        .map_err(kcp.err(format!("applying {what}")))?;
    let how = outcome(before.as_ref().map(to_json).as_ref(), &to_json(&after));
    Ok((after, how, before))
}

fn to_json(object: &impl serde::Serialize) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// Wraps a kube error as kubectl words it. Only the Status message is used: kube's own Display
/// of an API error repeats the whole Status in Debug form. Transport errors get their whole
/// source chain, since the outermost one ("client error (Connect)") says nothing useful.
pub(crate) fn kcp_error(action: String, server: &str, e: kube::Error) -> Error {
    Error::Kcp {
        action,
        message: match e {
            // kube-rs' placeholder reason for a body that was not a Status (e.g. plain text).
            kube::Error::Api(status) if status.reason == "Failed to parse error data" => {
                format!(
                    "Error from server (HTTP {}): {}",
                    status.code,
                    status.message.trim()
                )
            }
            kube::Error::Api(status) if !status.reason.is_empty() => {
                format!("Error from server ({}): {}", status.reason, status.message)
            }
            kube::Error::Api(status) => format!("Error from server: {}", status.message),
            other => format!("{} (kcp at {server})", error_chain(&other)),
        },
    }
}

/// `err: source: source ...`, skipping sources whose text their parent already includes.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Describes a kube-rs kubeconfig error without its parser's message, which may quote the
/// file's text (tokens included).
fn describe_kube_config_error(e: &KubeRsConfigError) -> String {
    match e {
        KubeRsConfigError::LoadContext(context) => format!("it has no context {context:?}"),
        KubeRsConfigError::Parse(_) => "it is not a valid kubeconfig (YAML); check it with \
                                        `kubectl config view`"
            .to_owned(),
        other => other.to_string(),
    }
}

/// A client for the user's current kcp workspace.
pub(crate) struct Kcp {
    pub(crate) client: Client,
    /// The workspace URL, for messages.
    pub(crate) server: String,
    /// The configuration the client was made from (to address another workspace alike).
    pub(crate) config: Config,
}

impl Kcp {
    /// Honours `--kcp-kubeconfig` and `--kcp-context`, else `$KUBECONFIG`/`~/.kube/config` (and
    /// in-cluster config, as kubectl would) like any kube client.
    pub(crate) async fn connect(a: &KcpArgs) -> Result<Self, Error> {
        // kube's rustls needs a process-wide provider; a second install fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let options = KubeConfigOptions {
            context: a.kcp_context.clone(),
            ..KubeConfigOptions::default()
        };
        let config_err = |e: &KubeRsConfigError| Error::KcpConfig(describe_kube_config_error(e));
        let config = match &a.kcp_kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
                    Error::KcpConfig(format!("{}: {}", path.display(), describe_kube_config_error(&e)))
                })?;
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| config_err(&e))?
            }
            None if a.kcp_context.is_some() => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| config_err(&e))?,
            None => Config::infer().await.map_err(|e| {
                let kubeconfig = std::error::Error::source(&e)
                    .and_then(|s| s.downcast_ref::<KubeRsConfigError>())
                    .map(describe_kube_config_error)
                    .unwrap_or_else(|| "no kubeconfig found".into());
                Error::KcpConfig(format!(
                    "{kubeconfig}; set KUBECONFIG or pass --kcp-kubeconfig to choose the kcp workspace"
                ))
            })?,
        };
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config.clone()).map_err(|e| Error::KcpConfig(e.to_string()))?;
        Ok(Self {
            client,
            server,
            config,
        })
    }

    /// Whether the workspace serves ClusterRegistrations. A missing binding makes every request
    /// a bare 404, indistinguishable from a missing object, so discovery decides.
    async fn has_tmc_api(&self) -> Result<bool, Error> {
        match self.client.list_api_group_resources(API_VERSION).await {
            Ok(list) => Ok(list.resources.iter().any(|r| r.name == "clusterregistrations")),
            Err(e) if is_404(&e) => Ok(false),
            Err(e) => Err(self.err(format!("discovering {API_VERSION}"))(e)),
        }
    }

    /// Wraps a failed request's error, naming what was being done.
    pub(crate) fn err(&self, action: String) -> impl FnOnce(kube::Error) -> Error + '_ {
        move |e| kcp_error(action, &self.server, e)
    }

    async fn require_tmc_api(&self) -> Result<(), Error> {
        if self.has_tmc_api().await? {
            Ok(())
        } else {
            Err(Error::NoTmcApi {
                server: self.server.clone(),
            })
        }
    }

    /// The error for a 404 on ClusterRegistration `name`: no such object, or no such API.
    async fn missing(&self, name: &str) -> Error {
        match self.require_tmc_api().await {
            Ok(()) => Error::NotFound(name.to_owned()),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_content_not_resource_versions() {
        let v1 = json!({"metadata": {"name": "s", "resourceVersion": "1", "managedFields": [{"time": "a"}]},
                        "data": {"k": "YQ=="}});
        let v2 = json!({"metadata": {"name": "s", "resourceVersion": "2", "managedFields": [{"time": "b"}]},
                        "data": {"k": "YQ=="}, "status": {"ready": true}});
        let changed = json!({"metadata": {"name": "s", "resourceVersion": "3"}, "data": {"k": "Yg=="}});
        assert_eq!(outcome(None, &v1), "created");
        assert_eq!(outcome(Some(&v1), &v2), "unchanged");
        assert_eq!(outcome(Some(&v1), &changed), "configured");
    }

    #[test]
    fn kcp_errors_read_like_kubectl() {
        let status = kube::core::Status::failure("secrets \"x\" is forbidden", "Forbidden").with_code(403);
        let e = kcp_error(
            "applying secret a/x".into(),
            "https://kcp",
            kube::Error::Api(Box::new(status)),
        );
        assert_eq!(
            e.to_string(),
            "applying secret a/x: Error from server (Forbidden): secrets \"x\" is forbidden"
        );
    }

    #[test]
    fn messages_name_the_fix() {
        let e = Error::NoTmcApi {
            server: "https://kcp/clusters/root:team-a".into(),
        };
        assert!(e.to_string().starts_with(
            "the workspace has no tmc.kcp.io API: bind the tmc.kcp.io APIExport first (see README)"
        ));
        assert_eq!(
            Error::NotFound("east".into()).to_string(),
            "Error from server (NotFound): clusterregistrations.tmc.kcp.io \"east\" not found"
        );
    }
}
