//! The composition root: command-line settings → kcp clients → index and
//! watchers → HTTPS server. Nothing else in the crate wires components.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use tokio::net::TcpListener;

use crate::auth::authz::CacheTtls;
use crate::auth::{Authenticator, Authorizer, ClientCertAuthority, Gate as AccessGate};
use crate::feature_gates::{self, FeatureGates, Gate};
use crate::health::HealthPolicy;
use crate::index::{GroupResource, Index};
use crate::kcp::reviews::KcpReviews;
use crate::kcp::{endpoints, forward::Forwarder, watch, workspaces::WorkspaceResolver, Kcp};
use crate::registration::{self, live::LiveStatus, ProbeSettings};
use crate::resources::{self, ServedResource};
use crate::server::{self, handlers::ApiState};
use crate::tls::{CertSource, ServingCert};

/// tmc-server: transparent multi-cluster for kcp.
///
/// Watches kcp through the `tmc.kcp.io` APIExport's virtual workspace and serves
/// Kubernetes-style views of it at /services/tmc/clusters/{workspace}/..., for
/// kubectl through kcp-front-proxy (or directly).
#[derive(Parser, Debug)]
#[command(name = "tmc-server", version, about, long_about = None,
    after_help = "EXAMPLE:\n  tmc-server --kcp-kubeconfig .kcp/admin.kubeconfig --provider-workspace root:tmc \\\n             --listen 127.0.0.1:6444\n\n  kubectl --server https://127.0.0.1:6444/services/tmc/clusters/root:team-a \\\n          --insecure-skip-tls-verify get clusterregistrations")]
pub struct Args {
    /// Kubeconfig with credentials for kcp (any workspace; TMC addresses workspaces by path).
    #[arg(long, env = "KCP_KUBECONFIG", value_name = "FILE")]
    pub kcp_kubeconfig: PathBuf,

    /// Context in the kcp kubeconfig to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub kcp_context: Option<String>,

    /// Workspace that holds TMC's APIExports (the provider workspace).
    #[arg(long, default_value = "root:tmc", value_name = "PATH")]
    pub provider_workspace: String,

    /// Name of the APIExport serving tmc.kcp.io (ClusterRegistration, WorkloadPlacement).
    #[arg(long, default_value = crate::api::TMC_EXPORT, value_name = "NAME")]
    pub tmc_export: String,

    /// Name of the APIExport serving the workload types (Deployments, Services).
    #[arg(long, default_value = crate::api::WORKLOAD_EXPORT, value_name = "NAME")]
    pub workload_export: String,

    /// Address to serve HTTPS on.
    #[arg(long, default_value = "127.0.0.1:6444", value_name = "HOST:PORT")]
    pub listen: SocketAddr,

    /// PEM serving certificate (chain). Without it, a self-signed certificate
    /// for localhost is generated at start (for local use only).
    #[arg(long, value_name = "FILE", requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key of --tls-cert-file.
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,

    /// PEM bundle of the CA that signs users' client certificates (common
    /// name = user, organizations = groups). Without it, client certificates
    /// do not authenticate anyone.
    #[arg(long, value_name = "FILE")]
    pub client_ca_file: Option<PathBuf>,

    /// PEM bundle of the CA that signs kcp-front-proxy's client certificate.
    /// Only connections with such a certificate may name the user in
    /// X-Remote-User / X-Remote-Group / X-Remote-Extra-* headers; on any
    /// other connection those headers are ignored.
    #[arg(long, value_name = "FILE")]
    pub requestheader_client_ca_file: Option<PathBuf>,

    /// Common names allowed to act as the front proxy (comma-separated).
    /// Empty allows any certificate signed by --requestheader-client-ca-file.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub requestheader_allowed_names: Vec<String>,

    /// How long a TokenReview answer from kcp is reused (0 disables the cache).
    #[arg(long, default_value = "10s", value_parser = parse_ttl, value_name = "DURATION")]
    pub authentication_token_cache_ttl: std::time::Duration,

    /// How long an allowing SubjectAccessReview answer is reused (0 disables).
    #[arg(long, default_value = "10s", value_parser = parse_ttl, value_name = "DURATION")]
    pub authorization_cache_ttl: std::time::Duration,

    /// How long a denying SubjectAccessReview answer is reused (0 disables).
    #[arg(long, default_value = "5s", value_parser = parse_ttl, value_name = "DURATION")]
    pub authorization_denied_cache_ttl: std::time::Duration,

    /// How often the serving certificate files are checked for changes.
    #[arg(long, default_value = "2s", value_parser = parse_duration, value_name = "DURATION")]
    pub tls_reload_interval: std::time::Duration,

    /// Open client connections at most; more wait until one closes.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,

    /// Feature gates, Kubernetes style: Name=bool,... (TMC=false turns every TMC capability off).
    #[arg(long, default_value = "", value_parser = feature_gates::parse_flag, value_name = "GATES")]
    pub feature_gates: FeatureGates,

    /// How often each registered cluster is probed while healthy.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub probe_interval: std::time::Duration,

    /// How long a cluster may go without a successful probe before it is NotReady.
    #[arg(long, default_value = "40s", value_parser = parse_duration, value_name = "DURATION")]
    pub heartbeat_threshold: std::time::Duration,

    /// How often an unchanged healthy status refreshes lastHeartbeat in kcp
    /// (the tmc-server view always shows the live heartbeat).
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub heartbeat_write_interval: std::time::Duration,

    /// How long a cluster may stay NotReady before its workloads are placed
    /// elsewhere (failover); shorter outages are waited out.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub not_ready_toleration: std::time::Duration,

    /// Longest time between two placement rounds (they also run on every change).
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub placement_interval: std::time::Duration,

    /// Timeout of each request of a probe.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub probe_timeout: std::time::Duration,

    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter (tracing EnvFilter syntax), e.g. info or kcp_tmc=debug.
    #[arg(long, env = "TMC_LOG", default_value = "info", value_name = "FILTER")]
    pub log_level: String,
}

/// Durations as Kubernetes flags take them: 500ms, 10s, 5m, 1h (or plain seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let bad = || format!("invalid duration {s:?}: use e.g. 500ms, 10s, 5m, 1h");
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("invalid duration {s:?}: must be positive"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A cache lifetime: a duration, or 0 for no caching.
pub fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    if s.trim().trim_end_matches(['s', 'm', 'h']).trim_end_matches("m") == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    parse_duration(s)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Starts logging as the flags ask.
pub fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    // One process-wide crypto provider for both kube's client and our server.
    let _ = rustls::crypto::ring::default_provider().install_default();
    for line in args.feature_gates.summary().lines() {
        tracing::info!(gate = line, "feature gate");
    }

    let kcp = Kcp::from_kubeconfig(&args.kcp_kubeconfig, args.kcp_context.as_deref()).await?;
    let index = Index::new();
    let gates = &args.feature_gates;
    let served: Vec<ServedResource> = if gates.enabled(Gate::Tmc) {
        resources::served()
            .into_iter()
            .filter(|r| r.stored_in_kcp || gates.enabled(Gate::TmcViews))
            .collect()
    } else {
        tracing::warn!("feature gate TMC=false: serving no TMC resources and not watching kcp");
        Vec::new()
    };
    for r in &served {
        index.register(r.group_resource());
    }
    let live = LiveStatus::default();
    let resolver = Arc::new(WorkspaceResolver::new(kcp.clone()));
    let metrics = crate::metrics::Metrics::new(gates);
    if !served.is_empty() {
        let probes = ProbeSettings {
            interval: args.probe_interval,
            max_backoff: args.heartbeat_threshold.max(args.probe_interval),
            timeout: args.probe_timeout,
            policy: HealthPolicy {
                heartbeat_threshold: args.heartbeat_threshold,
                heartbeat_write_interval: args.heartbeat_write_interval,
                required_apis: required_apis().into_iter().map(|(g, _, r)| (g, r)).collect(),
            },
        };
        tokio::spawn(start_watchers(
            kcp.clone(),
            Watched {
                provider_workspace: args.provider_workspace.clone(),
                export: args.tmc_export.clone(),
                served: served.clone(),
                decisions: Some(crate::decisions::Settings {
                    provider_workspace: args.provider_workspace.clone(),
                    // Without failover a NotReady cluster keeps its workloads.
                    not_ready_toleration: if gates.enabled(Gate::TmcFailover) {
                        args.not_ready_toleration
                    } else {
                        std::time::Duration::from_secs(100 * 365 * 24 * 3600)
                    },
                    interval: args.placement_interval,
                    strategies: gates.enabled(Gate::TmcPlacementStrategies),
                }),
                sync: crate::sync::controller::Settings {
                    aggregate_status: gates.enabled(Gate::TmcStatusAggregation),
                    cluster_timeout: args.probe_timeout,
                    interval: args.placement_interval,
                },
                resolver: resolver.clone(),
                metrics: metrics.clone(),
            },
            index.clone(),
            live.clone(),
            probes,
        ));
    }

    let source = match (&args.tls_cert_file, &args.tls_private_key_file) {
        (Some(c), Some(k)) => CertSource::Files {
            cert: c.clone(),
            key: k.clone(),
        },
        _ => {
            tracing::warn!(
                "no --tls-cert-file: serving a self-signed certificate for localhost (local use only)"
            );
            CertSource::SelfSigned {
                names: vec![args.listen.ip().to_string()],
            }
        }
    };
    let serving = Arc::new(ServingCert::load(&source)?);
    tracing::info!(
        sha256 = crate::tls::fingerprint(&serving.current()),
        "serving certificate"
    );
    tokio::spawn(serving.clone().watch(args.tls_reload_interval));
    let client_certs = client_cert_authority(&args)?;
    let tls = serving.server_config(client_certs.handshake_verifier())?;
    let reviews = Arc::new(KcpReviews::new(&kcp, &args.provider_workspace)?);
    let gate = AccessGate {
        authn: Authenticator::new(reviews.clone(), args.authentication_token_cache_ttl),
        authz: Authorizer::new(
            reviews,
            CacheTtls {
                allowed: args.authorization_cache_ttl,
                denied: args.authorization_denied_cache_ttl,
            },
        ),
        provider_workspace: args.provider_workspace.clone(),
    };
    let listener = TcpListener::bind(args.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "serving HTTPS at /services/tmc/clusters/{{workspace}}");
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(ApiState {
        index,
        resources: served.clone(),
        forwarder: Some(Forwarder::new(&kcp)?),
        resolver,
        shutdown: shutdown_rx,
        documents: server::documents::Documents::render(&served),
        live,
        gate,
        client_certs,
        metrics,
    });
    let shutdown = async move {
        shutdown_signal().await;
        // End open watches first so the connections can drain.
        let _ = shutdown_tx.send(true);
    };
    let limits = server::ConnectionLimits {
        max_connections: args.max_connections,
        ..Default::default()
    };
    server::serve(listener, tls, state, limits, shutdown).await;
    Ok(())
}

/// The CAs client certificates may chain to, from the flags.
fn client_cert_authority(args: &Args) -> anyhow::Result<ClientCertAuthority> {
    let read = |p: &Option<PathBuf>| -> anyhow::Result<Option<(Vec<u8>, String)>> {
        p.as_ref()
            .map(|p| {
                std::fs::read(p)
                    .map(|b| (b, p.display().to_string()))
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))
            })
            .transpose()
    };
    let client = read(&args.client_ca_file)?;
    let proxy = read(&args.requestheader_client_ca_file)?;
    Ok(ClientCertAuthority::new(
        client.as_ref().map(|(b, o)| (b.as_slice(), o.as_str())),
        proxy.as_ref().map(|(b, o)| (b.as_slice(), o.as_str())),
        args.requestheader_allowed_names.clone(),
    )?)
}

/// The workload APIs every physical cluster must serve: the workload export's resources.
fn required_apis() -> Vec<crate::physical::probe::RequiredApi> {
    crate::apis_gen::definitions()
        .iter()
        .filter(|d| d.group != crate::api::GROUP)
        .map(|d| (d.group.clone(), d.version.clone(), d.names.plural.clone()))
        .collect()
}

/// What the kcp watchers cover.
struct Watched {
    provider_workspace: String,
    export: String,
    served: Vec<ServedResource>,
    /// Placement settings; `None` leaves workloads alone.
    decisions: Option<crate::decisions::Settings>,
    /// How placed workloads are synced to their clusters.
    sync: crate::sync::controller::Settings,
    resolver: Arc<WorkspaceResolver>,
    metrics: Arc<crate::metrics::Metrics>,
}

async fn start_watchers(kcp: Kcp, w: Watched, index: Index, live: LiveStatus, probes: ProbeSettings) {
    let Watched {
        provider_workspace,
        export,
        served,
        decisions,
        sync,
        resolver,
        metrics,
    } = w;
    let urls = endpoints::wait_for_endpoints(&kcp, &provider_workspace, &export).await;
    if urls.len() > 1 {
        tracing::warn!(
            count = urls.len(),
            "the export has several shards; this version watches the first only"
        );
    }
    let client = match watch::wildcard_client(&kcp, &urls[0]) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build a client for the virtual workspace");
            return;
        }
    };
    for r in served.iter().filter(|r| r.stored_in_kcp) {
        tokio::spawn(watch::reflect(client.clone(), r.api_resource(), index.clone()));
    }
    let tmc_vw = match kcp.client_at(&urls[0]) {
        Ok(vw) => vw,
        Err(e) => {
            tracing::error!(error = %e, "cannot build a client for the virtual workspace");
            return;
        }
    };
    tokio::spawn(registration::run(
        index.clone(),
        tmc_vw.clone(),
        live.clone(),
        probes,
        required_apis(),
    ));
    let Some(decisions) = decisions else { return };

    // Workloads (and the namespaces they live in) come through the workload export.
    let urls = endpoints::wait_for_endpoints(&kcp, &provider_workspace, crate::api::WORKLOAD_EXPORT).await;
    let (workload_client, workload_vw) =
        match (watch::wildcard_client(&kcp, &urls[0]), kcp.client_at(&urls[0])) {
            (Ok(c), Ok(vw)) => (c, vw),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot build a client for the workload virtual workspace");
                return;
            }
        };
    // The workload kinds, namespaces (their labels select workloads), and the
    // ConfigMaps and Secrets workloads reference (sync copies them), through
    // the export and its claims: the kinds sync works on.
    for api in crate::sync::controller::synced_kinds() {
        index.register(GroupResource::new(&api.group, &api.plural));
        tokio::spawn(watch::reflect(workload_client.clone(), api, index.clone()));
    }
    let sync_states = crate::sync::controller::SyncStates::default();
    tokio::spawn(crate::sync::controller::run(
        index.clone(),
        crate::sync::board::Board::default(),
        sync_states.clone(),
        crate::sync::controller::Clients {
            workloads: workload_vw.clone(),
            tmc: tmc_vw.clone(),
        },
        sync,
        metrics.clone(),
    ));
    let writers = crate::decisions::Writers {
        workloads: workload_vw,
        tmc: tmc_vw,
    };
    tokio::spawn(crate::decisions::run(
        index,
        live,
        resolver,
        writers,
        decisions,
        metrics,
        sync_states,
    ));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("signal received");
}
