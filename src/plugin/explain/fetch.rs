//! Running `kubectl tmc explain`: reads the workspace (and the shared pool) from kcp, then hands
//! the objects to the pure parts. Reads only: nothing here writes to kcp.

use std::io::{Read as _, Write};
use std::path::Path;

use chrono::Utc;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::Client;
use serde_json::Value;

use super::render::{render_explanation, render_what_if, Heading};
use super::{
    parse_placement, parse_target, placement_policy, provider_url, settings, what_if, workspace_path,
    Objects, Recorded, Snapshot, Target, WORKLOAD_KINDS,
};
use crate::api::{ClusterRegistration, WorkloadPlacement, WORKLOAD_EXPORT};
use crate::placement::{GroupResource, Policy};
use crate::plugin::args;
use crate::plugin::cli::ExplainArgs;
use crate::plugin::commands::{get_opt, is_404, kcp_error, Error, Kcp};

/// Runs `kubectl tmc explain`, writing the explanation to `out` and notes to `err`.
pub async fn run(a: &ExplainArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    // Everything that can be checked without kcp is checked first.
    let toleration =
        args::parse_duration("--not-ready-toleration", &a.not_ready_toleration).map_err(Error::Invalid)?;
    let target = match a.workload.as_slice() {
        [] => None,
        words => Some(parse_target(words).map_err(Error::Invalid)?),
    };
    if let Some(ns) = &a.namespace {
        args::validate_namespace(ns).map_err(Error::Invalid)?;
    }
    validate_workspace_path(&a.provider_workspace)?;
    let tried = match (&a.what_if, &a.filename) {
        (true, Some(file)) => Some(read_placement(file)?),
        _ => None,
    };

    let kcp = Kcp::connect(&a.kcp).await?;
    let namespace = a
        .namespace
        .clone()
        .unwrap_or_else(|| kcp.config.default_namespace.clone());
    let target_object = match &target {
        Some(t) => Some(get_workload(&kcp, t, &namespace).await?),
        None => None,
    };
    let mut objects = read_workspace(&kcp).await?;
    match read_provider(&kcp, &a.provider_workspace, err).await? {
        Ok(pool) => objects.provider = pool,
        Err(()) => objects.provider_unread = Some(a.provider_workspace.clone()),
    }
    if let (Some(t), Some(object)) = (&target, &target_object) {
        // The listing may predate the object: make sure it is there, once (Snapshot dedups).
        objects.workloads.insert(0, (t.resource.clone(), object.clone()));
    }
    let (snapshot, warnings) = Snapshot::from_objects(&objects);
    for w in warnings {
        writeln!(err, "warning: {w}")?;
    }
    let settings = settings(Utc::now(), toleration);

    let target = target.zip(target_object);
    // Where the target sits among the snapshot's workloads (it was added above).
    let position = |t: &Target| {
        snapshot
            .workloads
            .iter()
            .position(|w| {
                w.key.resource == t.resource && w.key.namespace == namespace && w.key.name == t.name
            })
            .ok_or_else(|| Error::Invalid(format!("{}/{} is missing from the workspace", t.resource, t.name)))
    };
    let text = match (tried, target) {
        (None, Some((t, object))) => {
            let key = snapshot.workloads[position(&t)?].key.clone();
            let decision = snapshot
                .decide(&key, &settings)
                .ok_or_else(|| Error::Invalid(format!("{key} is missing from the workspace")))?;
            render_explanation(
                &snapshot,
                &key,
                &Recorded::from_object(&object),
                &decision,
                Heading::Now,
            )
        }
        (Some((_, policy)), None) => render_what_if(&snapshot, &what_if(&snapshot, policy, &settings)),
        (Some((file, policy)), Some((t, object))) => {
            let i = position(&t)?;
            let result = what_if(&snapshot, policy, &settings);
            let mut text = render_explanation(
                &snapshot,
                &snapshot.workloads[i].key,
                &Recorded::from_object(&object),
                &result.decisions[i],
                Heading::WhatIf(&file),
            );
            text.push_str("\nnothing was changed\n");
            text
        }
        (None, None) => {
            return Err(Error::Invalid(
                "name a workload (TYPE/NAME), or try a policy with --what-if -f FILE".to_owned(),
            ))
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// Reads and checks the WorkloadPlacement of `-f FILE` (`-`: stdin); returns how to name its
/// source in the text, and the policy.
fn read_placement(file: &Path) -> Result<(String, Policy), Error> {
    let (name, text) = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::Invalid(format!("reading the WorkloadPlacement from stdin: {e}")))?;
        ("the WorkloadPlacement from stdin".to_owned(), text)
    } else {
        let name = file.display().to_string();
        let text =
            std::fs::read_to_string(file).map_err(|e| Error::Invalid(format!("cannot read {name}: {e}")))?;
        (name, text)
    };
    let label = if file == Path::new("-") { "stdin" } else { &name };
    let placement = parse_placement(&text).map_err(|e| Error::Invalid(format!("{label}: {e}")))?;
    let policy = placement_policy(&placement)
        .map_err(|e| Error::Invalid(format!("{label}: the WorkloadPlacement is invalid: {e}")))?;
    Ok((name, policy))
}

fn validate_workspace_path(path: &str) -> Result<(), Error> {
    let ok = !path.is_empty()
        && path.split(':').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "--provider-workspace {path:?} is not a workspace path (e.g. root:tmc)"
        )))
    }
}

/// The API resource of a workload kind.
fn api_resource(resource: &GroupResource) -> ApiResource {
    let (kind, version) = match resource.resource.as_str() {
        "deployments" => ("Deployment", "v1"),
        _ => ("Service", "v1"),
    };
    let api_version = if resource.group.is_empty() {
        version.to_owned()
    } else {
        format!("{}/{version}", resource.group)
    };
    ApiResource {
        group: resource.group.clone(),
        version: version.to_owned(),
        api_version,
        kind: kind.to_owned(),
        plural: resource.resource.clone(),
    }
}

/// GETs the workload; a 404 is the object missing or, when discovery lacks the resource, the
/// workspace not binding TMC's workload export.
async fn get_workload(kcp: &Kcp, t: &Target, namespace: &str) -> Result<Value, Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(kcp.client.clone(), namespace, &api_resource(&t.resource));
    let action = format!("reading {}/{} in namespace {namespace}", t.resource, t.name);
    if let Some(object) = get_opt(&api, &t.name).await.map_err(kcp.err(action))? {
        return Ok(to_json(&object));
    }
    if serves(kcp, &t.resource).await? {
        Err(Error::WorkloadNotFound {
            resource: t.resource.to_string(),
            name: t.name.clone(),
        })
    } else {
        Err(Error::NotServed {
            resource: t.resource.to_string(),
            export: WORKLOAD_EXPORT,
            server: kcp.server.clone(),
        })
    }
}

/// Whether discovery lists `resource` in the workspace.
async fn serves(kcp: &Kcp, resource: &GroupResource) -> Result<bool, Error> {
    let (group_version, listed) = if resource.group.is_empty() {
        let gv = "v1".to_owned();
        (gv.clone(), kcp.client.list_core_api_resources(&gv).await)
    } else {
        let gv = format!("{}/v1", resource.group);
        (gv.clone(), kcp.client.list_api_group_resources(&gv).await)
    };
    match listed {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == resource.resource)),
        Err(e) if is_404(&e) => Ok(false),
        Err(e) => Err(kcp.err(format!("discovering {group_version}"))(e)),
    }
}

/// Lists `ar` in the whole workspace; a resource the workspace does not serve lists empty.
async fn list(client: &Client, server: &str, ar: &ApiResource, what: &str) -> Result<Vec<Value>, Error> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(list.items.iter().map(to_json).collect()),
        Err(e) if is_404(&e) => Ok(Vec::new()),
        Err(e) => Err(kcp_error(format!("listing {what}"), server, e)),
    }
}

/// The workspace's workloads, namespaces, policies and clusters.
async fn read_workspace(kcp: &Kcp) -> Result<Objects, Error> {
    let mut objects = Objects {
        workspace_path: workspace_path(&kcp.server).unwrap_or_else(|| kcp.server.clone()),
        ..Objects::default()
    };
    for (group, resource, _) in WORKLOAD_KINDS {
        let gr = GroupResource::new(group, resource);
        let items = list(&kcp.client, &kcp.server, &api_resource(&gr), &gr.to_string()).await?;
        objects
            .workloads
            .extend(items.into_iter().map(|o| (gr.clone(), o)));
    }
    let namespaces: Api<Namespace> = Api::all(kcp.client.clone());
    objects.namespaces = namespaces
        .list(&ListParams::default())
        .await
        .map_err(kcp.err("listing namespaces".to_owned()))?
        .items
        .iter()
        .map(to_json)
        .collect();
    let placements = ApiResource::erase::<WorkloadPlacement>(&());
    objects.policies = list(
        &kcp.client,
        &kcp.server,
        &placements,
        "workloadplacements.tmc.kcp.io",
    )
    .await?;
    let registrations = ApiResource::erase::<ClusterRegistration>(&());
    objects.clusters = list(
        &kcp.client,
        &kcp.server,
        &registrations,
        "clusterregistrations.tmc.kcp.io",
    )
    .await?;
    Ok(objects)
}

/// What reading the shared pool gave: its path and registrations; `None` when the current
/// workspace is the provider (its clusters are already read); `Err(())` when it could not be
/// read and a note said so.
type Pool = Result<Option<(String, Vec<Value>)>, ()>;

/// The provider workspace's ClusterRegistrations, addressed by replacing the workspace in the
/// kubeconfig's server URL. Not readable (403) or not addressable: one note on `err`; no
/// ClusterRegistration API there (404): no shared pool.
async fn read_provider(kcp: &Kcp, provider: &str, err: &mut dyn Write) -> Result<Pool, Error> {
    let own_only = "using this workspace's own clusters only";
    if workspace_path(&kcp.server).as_deref() == Some(provider) {
        return Ok(Ok(None));
    }
    let Some(url) = provider_url(&kcp.server, provider) else {
        writeln!(
            err,
            "note: the kubeconfig's server URL names no /clusters/<workspace>, so the shared clusters of \
             {provider} cannot be addressed; {own_only}"
        )?;
        return Ok(Err(()));
    };
    let mut config = kcp.config.clone();
    config.cluster_url = url
        .parse()
        .map_err(|e| Error::KcpConfig(format!("provider workspace URL: {e}")))?;
    let client = Client::try_from(config).map_err(|e| Error::KcpConfig(e.to_string()))?;
    let api: Api<DynamicObject> = Api::all_with(client, &ApiResource::erase::<ClusterRegistration>(&()));
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(Ok(Some((
            provider.to_owned(),
            list.items.iter().map(to_json).collect(),
        )))),
        // The provider workspace serves no ClusterRegistrations: there is no shared pool.
        Err(kube::Error::Api(status)) if status.code == 404 => {
            Ok(Ok(Some((provider.to_owned(), Vec::new()))))
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            writeln!(
                err,
                "note: the shared clusters of {provider} cannot be read: you may not read them (Forbidden); {own_only}"
            )?;
            Ok(Err(()))
        }
        Err(e) => Err(kcp_error(
            format!("listing the shared clusters of {provider}"),
            &url,
            e,
        )),
    }
}

fn to_json(object: &impl serde::Serialize) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}
