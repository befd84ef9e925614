//! The `kubectl tmc cluster` command line: clap definitions and the help that teaches them.
//!
//! They live in the library rather than the binary so the command implementations in
//! [`super::commands`] take the parsed arguments directly and unit tests can build them.
//! Flag values stay strings here and are validated in [`super::args`], so a bad `--label` is a
//! runtime error (exit 1) naming the flag, like kubectl's, instead of a clap usage error.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::DEFAULT_NAMESPACE;

/// `kubectl tmc cluster --help`.
pub const CLUSTER_LONG_ABOUT: &str = "\
Register physical Kubernetes clusters with TMC, and take them out of service.

A registered cluster is a ClusterRegistration (tmc.kcp.io/v1alpha1) in the
current kcp workspace plus a Secret holding the cluster's kubeconfig. tmc-server
probes each registration and places workloads on the Ready ones. List them with
plain kubectl: `kubectl get clusterregistrations -o wide`.

The kcp workspace is the current context of your kubeconfig ($KUBECONFIG, else
~/.kube/config), or --kcp-kubeconfig/--kcp-context. kubectl does not pass its own
--kubeconfig/--context/--server flags to plugins, so use those instead. The
workspace must bind the tmc.kcp.io APIExport (see the README).";

pub const CLUSTER_EXAMPLES: &str = "\
Examples:
  # Register the cluster in east.yaml, at location us-east, labelled tier=prod
  kubectl tmc cluster register east --kubeconfig east.yaml --location us-east --label tier=prod

  # Stop placing new workloads on it, and allow it again
  kubectl tmc cluster cordon east
  kubectl tmc cluster uncordon east

  # Remove it, with the Secret that register created
  kubectl tmc cluster deregister east";

pub const REGISTER_LONG_ABOUT: &str = "\
Register a physical cluster in the current kcp workspace.

Reads the cluster's kubeconfig from --kubeconfig FILE, keeps only the chosen
context (--context, default the file's current context) with its cluster and
user, and inlines every file it references (certificate-authority,
client-certificate, client-key, tokenFile; relative paths are resolved against
FILE's directory), as `kubectl config view --flatten --minify` does:
tmc-server reads the copy from kcp, on another machine. The result must name a
server URL and carry credentials.

Then, with server-side apply (field manager kubectl-tmc), it creates or updates:
  - the namespace (--namespace, default tmc-system) if it is missing,
  - Secret <NAME>-kubeconfig (key `kubeconfig`, label tmc.kcp.io/cluster=<NAME>),
  - ClusterRegistration <NAME> with spec.location, spec.capabilities,
    spec.kubeconfigSecretRef and metadata.labels from --label.
Running it again updates the registration (e.g. new labels or rotated
credentials); labels and capabilities it set before and no longer gets are
removed; a cordon (spec.unschedulable) is kept.

--dry-run prints the objects instead (YAML unless -o json), with the Secret's
data shown as <redacted N bytes>, and contacts nothing. Credentials are never
printed, not even in errors.";

pub const REGISTER_EXAMPLES: &str = "\
Examples:
  # Register the current context of east.yaml at location us-east
  kubectl tmc cluster register east --kubeconfig east.yaml --location us-east

  # With placement labels and capabilities (a capability may carry properties)
  kubectl tmc cluster register east --kubeconfig east.yaml --location us-east \\
      --label tier=prod --label team=payments \\
      --capability storage --capability gpu=model=a100,count=4

  # Use another context of a kubeconfig with several, e.g. from kind
  kubectl tmc cluster register west --kubeconfig ~/.kube/config --context kind-west --location us-west

  # See what would be created, without touching kcp
  kubectl tmc cluster register east --kubeconfig east.yaml --location us-east --dry-run

  # Register into a workspace other than the current one
  kubectl tmc cluster register east --kubeconfig east.yaml --location us-east \\
      --kcp-kubeconfig team-a.kubeconfig

  # Then watch tmc-server probe it
  kubectl get clusterregistrations -o wide";

pub const CORDON_LONG_ABOUT: &str = "\
Mark a registered cluster unschedulable (spec.unschedulable=true).

TMC places no new workloads on a cordoned cluster; workloads already there are
moved away according to their placement policy. Undo with `uncordon`.";

pub const CORDON_EXAMPLES: &str = "\
Examples:
  # Cordon cluster east before maintenance
  kubectl tmc cluster cordon east

  # Check
  kubectl get clusterregistration east -o jsonpath='{.spec.unschedulable}'";

pub const UNCORDON_LONG_ABOUT: &str = "\
Mark a registered cluster schedulable again (spec.unschedulable=false).";

pub const UNCORDON_EXAMPLES: &str = "\
Examples:
  # Allow placement on cluster east again after maintenance
  kubectl tmc cluster uncordon east";

pub const DEREGISTER_LONG_ABOUT: &str = "\
Remove a cluster from TMC: delete its ClusterRegistration, then the Secret it
references.

The Secret is deleted only if it carries the label tmc.kcp.io/cluster=<NAME>,
i.e. `register` created it; a Secret you made yourself is kept. --keep-secret
keeps it in any case.

Once workload sync exists, tmc-server moves the cluster's workloads away
before the ClusterRegistration disappears (its finalizer); that is the
server's job. This command waits for the deletion to finish (--timeout) before
deleting the Secret, because tmc-server needs the credentials until then. If
the registration is already gone, a leftover labelled <NAME>-kubeconfig Secret
in --namespace is deleted, so running the command again finishes the job.";

pub const DEREGISTER_EXAMPLES: &str = "\
Examples:
  # Remove cluster east and the Secret register created for it
  kubectl tmc cluster deregister east

  # Remove the registration but keep the credentials for later
  kubectl tmc cluster deregister east --keep-secret

  # Give tmc-server up to 15 minutes to move workloads off the cluster
  kubectl tmc cluster deregister east --timeout 15m";

/// `kubectl tmc cluster <command>`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a physical cluster: store its kubeconfig in a Secret, create a ClusterRegistration
    #[command(long_about = REGISTER_LONG_ABOUT, after_help = REGISTER_EXAMPLES)]
    Register(RegisterArgs),
    /// Stop placing new workloads on a cluster (spec.unschedulable=true)
    #[command(long_about = CORDON_LONG_ABOUT, after_help = CORDON_EXAMPLES)]
    Cordon(CordonArgs),
    /// Allow placing workloads on a cordoned cluster again
    #[command(long_about = UNCORDON_LONG_ABOUT, after_help = UNCORDON_EXAMPLES)]
    Uncordon(CordonArgs),
    /// Delete a cluster's ClusterRegistration and the Secret register created for it
    #[command(long_about = DEREGISTER_LONG_ABOUT, after_help = DEREGISTER_EXAMPLES)]
    Deregister(DeregisterArgs),
}

/// Which kcp workspace to talk to. Named `--kcp-*` because `register --kubeconfig` is the
/// physical cluster's kubeconfig.
#[derive(Debug, Clone, Default, Args)]
pub struct KcpArgs {
    /// Kubeconfig for kcp; its current context selects the workspace [default: $KUBECONFIG, else
    /// ~/.kube/config]
    #[arg(long, value_name = "PATH")]
    pub kcp_kubeconfig: Option<PathBuf>,

    /// Context of the kcp kubeconfig to use [default: its current context]
    #[arg(long, value_name = "CONTEXT")]
    pub kcp_context: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// Name of the ClusterRegistration (lowercase, at most 63 characters)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Kubeconfig of the physical cluster (not of kcp)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: PathBuf,

    /// Logical location of the cluster (e.g. us-east), selected and spread over by placements
    #[arg(long, value_name = "LOCATION")]
    pub location: String,

    /// Label for the ClusterRegistration, which placements select on; repeatable
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Capability the cluster offers, with optional properties; repeatable
    #[arg(long = "capability", value_name = "TYPE[=PROP=VALUE,...]")]
    pub capabilities: Vec<String>,

    /// Context of --kubeconfig FILE to register [default: the file's current context]
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Namespace (in the kcp workspace) of the kubeconfig Secret
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// Print the objects instead of applying them; contacts nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the applied (or, with --dry-run, the planned) objects in this format instead of
    /// progress lines; Secret data is redacted
    #[arg(short = 'o', long = "output", value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub kcp: KcpArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CordonArgs {
    /// Name of the ClusterRegistration
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub kcp: KcpArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DeregisterArgs {
    /// Name of the ClusterRegistration
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Keep the kubeconfig Secret; delete only the ClusterRegistration
    #[arg(long)]
    pub keep_secret: bool,

    /// Where to look for a leftover <NAME>-kubeconfig Secret when the registration is already
    /// gone (otherwise the registration's secret reference says where it is)
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// How long to wait for the ClusterRegistration to disappear (tmc-server may first move
    /// workloads away) before deleting the Secret; 0 does not wait
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,

    #[command(flatten)]
    pub kcp: KcpArgs,
}

/// Output formats for printed objects, spelled as kubectl spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// YAML documents separated by `---`
    Yaml,
    /// One JSON object, a `List` when there are several
    Json,
}

/// `kubectl tmc explain`'s usage line: its two forms.
pub const EXPLAIN_USAGE: &str = "\
kubectl tmc explain TYPE/NAME [-n NAMESPACE] [OPTIONS]
       kubectl tmc explain --what-if -f FILE [TYPE/NAME] [OPTIONS]";

/// `kubectl tmc explain --help`.
pub const EXPLAIN_LONG_ABOUT: &str = "\
Explain where TMC places a workload, and why.

For a Deployment or Service of the current kcp workspace it prints:
  1. what is recorded in kcp: the decision tmc-server wrote in the workload's
     tmc.kcp.io/placement annotation (policy, clusters, status), or that the
     workload is not placed yet;
  2. the decision TMC makes now from the current objects: the governing
     policy (the oldest matching WorkloadPlacement, else the default placement:
     one Ready cluster, RoundRobin), then every candidate cluster, either
     selected with its score or rejected with the rule that excluded it (not
     Ready, cordoned, location not selected, missing capability, API not
     served, insufficient capacity, no longer registered);
  3. what TMC will change when the two differ: clusters added or released.

Candidate clusters are the workspace's own ClusterRegistrations and the shared
pool registered in the provider workspace (--provider-workspace); if you may
not read that pool, a note says so and only the workspace's own clusters are
used. A cluster a workload runs on keeps it while it passes every rule: new
clusters and better scores never move a workload.

--what-if -f FILE tries a WorkloadPlacement without applying it. The policy is
put among the workspace's policies (replacing one of the same name) and every
workload of the workspace is placed as tmc-server would place it. For each
workload the policy would govern, the command prints where it would go and
why, and points out workloads it would take from another policy or from the
default placement. Add a workload (TYPE/NAME) to see its full explanation
under the tried policy. Nothing is written to kcp.

The kcp workspace is the current context of your kubeconfig ($KUBECONFIG, else
~/.kube/config), or --kcp-kubeconfig/--kcp-context: kubectl does not pass its
own --kubeconfig/--context flags to plugins. Exit status: 0 when explained,
1 on an error.";

pub const EXPLAIN_EXAMPLES: &str = "\
Examples:
  # Why does deployment web of namespace shop run where it runs?
  kubectl tmc explain deployment/web -n shop

  # The same for a Service, in the namespace of the kubeconfig's context
  kubectl tmc explain svc/web

  # What would this WorkloadPlacement govern, and where would those workloads go?
  kubectl tmc explain --what-if -f placement.yaml

  # The full reasons for one workload under the tried policy
  kubectl tmc explain --what-if -f placement.yaml deployment/web -n shop

  # Try a change to an existing policy, read from stdin
  kubectl get workloadplacement web -o yaml | sed 's/numberOfClusters: 1/numberOfClusters: 2/' \\
      | kubectl tmc explain --what-if -f -

  # Clusters shared from another provider workspace; a longer NotReady toleration
  kubectl tmc explain deploy/web --provider-workspace root:infra:tmc --not-ready-toleration 10m";

/// Workspace whose ClusterRegistrations form the shared pool, unless `--provider-workspace`.
pub const DEFAULT_PROVIDER_WORKSPACE: &str = "root:tmc";

/// `kubectl tmc explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The workload, as TYPE/NAME or TYPE NAME; TYPE is deployment (deploy, deployments.apps) or
    /// service (svc)
    #[arg(value_name = "TYPE/NAME", num_args = 1..=2, required_unless_present = "what_if")]
    pub workload: Vec<String>,

    /// Namespace of the workload [default: the namespace of the kubeconfig's context, else
    /// default]
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Try the WorkloadPlacement of -f FILE: what it would govern and where those workloads would
    /// go. Changes nothing
    #[arg(long, requires = "filename")]
    pub what_if: bool,

    /// The WorkloadPlacement to try (YAML or JSON); - reads standard input
    #[arg(short = 'f', long = "filename", value_name = "FILE", requires = "what_if")]
    pub filename: Option<PathBuf>,

    /// Workspace whose ClusterRegistrations are the shared pool of clusters
    #[arg(long, value_name = "PATH", default_value = DEFAULT_PROVIDER_WORKSPACE)]
    pub provider_workspace: String,

    /// How long a NotReady cluster keeps the workloads it runs before they move; use tmc-server's
    /// setting
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub not_ready_toleration: String,

    #[command(flatten)]
    pub kcp: KcpArgs,
}
