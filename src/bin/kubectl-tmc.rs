#![forbid(unsafe_code)]
//! `kubectl-tmc`: the kubectl plugin for kcp-tmc, run as `kubectl tmc ...`.
//!
//! kubectl turns `kubectl tmc <args>` into `kubectl-tmc <args>` for any executable of that name
//! on PATH, so this binary is an ordinary CLI; `bin_name` makes its usage lines read the way the
//! user typed them. It parses arguments and prints; what `cluster` does lives in
//! [`kcp_tmc::plugin`], where it is unit-tested. Commands are added as variants of [`Command`]
//! only when they work end to end; a subcommand that does nothing would only teach users that
//! the help lies.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kcp_tmc::plugin::{self, cli, ClusterCommand, ExplainArgs};
use serde::Serialize;

/// Printed by `-h` (short) and `--help` (long, followed by `LONG_ABOUT`).
const ABOUT: &str = "Operate kcp-tmc (transparent multi-cluster for kcp) from kubectl";

const LONG_ABOUT: &str = "\
Operate kcp-tmc (transparent multi-cluster for kcp) from kubectl.

kcp-tmc places the workloads that tenants create in kcp workspaces (ordinary
Deployments and the ConfigMaps and Secrets they reference) onto physical
Kubernetes clusters, keeps those copies in sync, and reports their status back
into kcp. It runs as tmc-server beside kcp; kcp stays the only source of truth.
Placement is steered with ClusterRegistration and WorkloadPlacement objects, and
tmc-server serves read-only views such as `placements` to plain kubectl.

This plugin is the command-line companion for TMC operators and tenants;
the command list below is what this build supports.

Installing: kubectl runs any executable named kubectl-<name> that it finds on
your PATH when you type `kubectl <name>`. Copy the kubectl-tmc binary into a
directory on your PATH (for example ~/.local/bin), make it executable, and run
`kubectl plugin list` to confirm kubectl sees it. Calling kubectl-tmc directly
works too.";

const EXAMPLES: &str = "\
Examples:
  # Register a physical cluster in the current kcp workspace
  kubectl tmc cluster register east --kubeconfig east.yaml --location us-east --label tier=prod

  # Cordon it, uncordon it, remove it
  kubectl tmc cluster cordon east
  kubectl tmc cluster uncordon east
  kubectl tmc cluster deregister east

  # Why does deployment web run where it runs?
  kubectl tmc explain deployment/web -n shop

  # What would this WorkloadPlacement do? (changes nothing)
  kubectl tmc explain --what-if -f placement.yaml

  # Show the plugin version and the git commit it was built from
  kubectl tmc version

  # The same, as JSON for scripts and bug reports
  kubectl tmc version -o json

  # Check that kubectl finds the plugin on PATH
  kubectl plugin list";

const VERSION_LONG_ABOUT: &str = "\
Print the plugin version and the git commit it was built from.

Include this output in bug reports. The commit is known when the binary was
built with KCP_TMC_GIT_COMMIT set (for example
`KCP_TMC_GIT_COMMIT=$(git rev-parse HEAD) cargo build`); otherwise it is
reported as unknown, and as null in JSON.";

/// Command line of the plugin.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-tmc",
    bin_name = "kubectl tmc",
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Subcommands. Each variant is a working command; new ones land here as they become real.
#[derive(Debug, Subcommand)]
enum Command {
    /// Register, cordon, uncordon and deregister physical clusters
    #[command(
        subcommand,
        long_about = cli::CLUSTER_LONG_ABOUT,
        after_help = cli::CLUSTER_EXAMPLES,
        arg_required_else_help = true
    )]
    Cluster(Box<ClusterCommand>),
    /// Explain where a workload is placed and why; try a WorkloadPlacement with --what-if
    #[command(
        long_about = cli::EXPLAIN_LONG_ABOUT,
        after_help = cli::EXPLAIN_EXAMPLES,
        override_usage = cli::EXPLAIN_USAGE
    )]
    Explain(Box<ExplainArgs>),
    /// Print the plugin version and the git commit it was built from
    #[command(
        long_about = VERSION_LONG_ABOUT,
        after_help = "Examples:\n  kubectl tmc version\n  kubectl tmc version -o json"
    )]
    Version(VersionArgs),
}

#[derive(Debug, Args)]
struct VersionArgs {
    /// Output format; omit for human-readable text
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<OutputFormat>,
}

/// Machine-readable output formats, spelled as kubectl spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// A single JSON object
    Json,
}

/// What `version` reports. Field names follow Kubernetes' `version.Info` (`gitCommit`) so
/// scripts that read `kubectl version -o json` feel at home.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    plugin: &'static str,
    version: &'static str,
    /// `None` (JSON `null`) when the build did not record a commit: an explicit "unknown" is
    /// easier to check in scripts than a missing key or a placeholder string.
    git_commit: Option<&'static str>,
}

impl VersionInfo {
    /// The commit comes from the build environment (`KCP_TMC_GIT_COMMIT=$(git rev-parse HEAD)
    /// cargo build`) rather than a build script, so builds from a tarball without `.git` work.
    fn current() -> Self {
        VersionInfo {
            plugin: "kubectl-tmc",
            version: env!("CARGO_PKG_VERSION"),
            git_commit: option_env!("KCP_TMC_GIT_COMMIT").filter(|commit| !commit.is_empty()),
        }
    }
}

fn print_version(args: &VersionArgs, out: &mut impl Write) -> io::Result<()> {
    let info = VersionInfo::current();
    match args.output {
        Some(OutputFormat::Json) => {
            serde_json::to_writer_pretty(&mut *out, &info)?;
            writeln!(out)
        }
        None => {
            writeln!(out, "Plugin Version: {}", info.version)?;
            writeln!(out, "Git Commit: {}", info.git_commit.unwrap_or("unknown"))
        }
    }
}

/// A command that talks to kcp.
enum KcpCommand<'a> {
    Cluster(&'a ClusterCommand),
    Explain(&'a ExplainArgs),
}

/// Runs a command that talks to kcp on a single-threaded runtime: the plugin makes a handful
/// of sequential requests, so worker threads would only add start-up time.
fn run_kcp(command: KcpCommand<'_>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let result = runtime.block_on(async {
        match command {
            KcpCommand::Cluster(c) => plugin::run(c, &mut out, &mut err).await,
            KcpCommand::Explain(a) => plugin::explain::fetch::run(a, &mut out, &mut err).await,
        }
    });
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(plugin::Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::stdout().lock();
    let result = match &cli.command {
        Command::Cluster(command) => {
            drop(out);
            return run_kcp(KcpCommand::Cluster(command));
        }
        Command::Explain(args) => {
            drop(out);
            return run_kcp(KcpCommand::Explain(args));
        }
        Command::Version(args) => print_version(args, &mut out),
    }
    .and_then(|()| out.flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`kubectl tmc version | head -1`); nothing useful to say.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: writing output: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn text_version_names_version_and_commit() {
        let mut out = Vec::new();
        print_version(&VersionArgs { output: None }, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(&format!("Plugin Version: {}\n", env!("CARGO_PKG_VERSION"))));
        assert!(text.contains("Git Commit: "));
    }
}
