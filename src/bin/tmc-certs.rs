#![forbid(unsafe_code)]
//! `tmc-certs`: one command for the whole local PKI of tmc-server and the
//! kcp-front-proxy in front of it. It parses arguments and prints; the work is
//! done (and unit-tested) in [`kcp_tmc::pki`].

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kcp_tmc::pki::{
    self, InitOptions, Pki, Report, ServingNames, DEFAULT_CA_DAYS, DEFAULT_FRONT_PROXY_NAME,
    DEFAULT_LEAF_DAYS,
};

const LONG_ABOUT: &str = "\
Generate the certificates tmc-server and the kcp-front-proxy in front of it need:
a local PKI in one directory.

`init` creates three CAs and the certificates signed by them:
  serving-ca.crt/.key          CA of tmc-server's serving certificate
  serving.crt/.key             tmc-server's TLS certificate (localhost, 127.0.0.1, ::1 and --name/--ip)
  client-ca.crt/.key           CA of users' client certificates
  admin.crt/.key               client certificate CN=tmc-admin, O=system:masters
  requestheader-ca.crt/.key    CA of the front-proxy's client certificate
  front-proxy-client.crt/.key  what kcp-front-proxy presents to tmc-server (CN=kcp-front-proxy)
and prints the tmc-server flags and the kcp-front-proxy mapping that use them.

Existing CAs are reused (so certificates issued earlier stay valid); --force
regenerates them. Private keys are written with mode 0600 and never printed.
Every file is replaced atomically. Never commit the generated files.";

const EXAMPLES: &str = "\
Examples:
  # Everything for local use, in ./certs
  tmc-certs init --dir certs

  # tmc-server reachable as tmc.example.com and 10.0.0.5 too; certificates valid 90 days
  tmc-certs init --dir certs --name tmc.example.com --ip 10.0.0.5 --days 90

  # A client certificate for alice in groups team-a and team-b
  tmc-certs user --dir certs --name alice --group team-a --group team-b

  # A new serving certificate from the same CA (same names), e.g. before it expires
  tmc-certs rotate-serving --dir certs

  # Start over with new CAs (clients must then trust the new serving-ca.crt)
  tmc-certs init --dir certs --force";

/// Command line of tmc-certs.
#[derive(Debug, Parser)]
#[command(
    name = "tmc-certs",
    version,
    about = "Generate the local PKI of tmc-server and kcp-front-proxy",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the CAs (or reuse them) and the serving, front-proxy and admin certificates
    #[command(after_help = "\
The serving certificate is issued for localhost, 127.0.0.1, ::1 and exactly the
--name/--ip given on this run (rotate-serving, by contrast, keeps the current names).

Examples:
  tmc-certs init --dir certs
  tmc-certs init --dir certs --name tmc.example.com --ip 10.0.0.5
  tmc-certs init --dir certs --front-proxy-name my-front-proxy --days 30")]
    Init(InitArgs),
    /// Issue a client certificate for a user (CN=user, O=each group), as <user>.crt/.key
    #[command(after_help = "\
Examples:
  tmc-certs user --dir certs --name alice --group team-a
  kubectl config set-credentials alice --client-certificate=certs/alice.crt \\
      --client-key=certs/alice.key --embed-certs")]
    User(UserArgs),
    /// Issue a new serving certificate and key from the existing serving CA
    #[command(after_help = "\
Without --name or --ip the new certificate has the names of the current one.
serving.key is replaced first, then serving.crt; a server that reloads should
swap in the pair only once the two match.

Examples:
  tmc-certs rotate-serving --dir certs
  tmc-certs rotate-serving --dir certs --name tmc.example.com --ip 10.0.0.5")]
    RotateServing(RotateArgs),
}

#[derive(Debug, Args)]
struct DirArg {
    /// Directory of the PKI (created with mode 0700 if missing)
    #[arg(long, value_name = "DIR", default_value = "certs")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
struct NameArgs {
    /// Extra DNS name of tmc-server's serving certificate (repeatable); localhost is always included
    #[arg(long = "name", value_name = "DNS")]
    names: Vec<String>,

    /// Extra IP address of the serving certificate (repeatable); 127.0.0.1 and ::1 are always included
    #[arg(long = "ip", value_name = "IP")]
    ips: Vec<IpAddr>,
}

impl NameArgs {
    fn serving_names(&self) -> ServingNames {
        ServingNames {
            dns: self.names.clone(),
            ips: self.ips.clone(),
        }
    }
}

#[derive(Debug, Args)]
struct DaysArg {
    /// Validity of the certificates issued, in days (never beyond their CA's)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LEAF_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(pki::MAX_DAYS)))]
    days: u32,
}

#[derive(Debug, Args)]
struct InitArgs {
    #[command(flatten)]
    dir: DirArg,

    #[command(flatten)]
    names: NameArgs,

    /// Common name of the front-proxy's client certificate (tmc-server's --requestheader-allowed-names)
    #[arg(long, value_name = "CN", default_value = DEFAULT_FRONT_PROXY_NAME)]
    front_proxy_name: String,

    #[command(flatten)]
    days: DaysArg,

    /// Validity of newly generated CAs, in days
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CA_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(pki::MAX_DAYS)))]
    ca_days: u32,

    /// Regenerate the CAs even if they exist (invalidates every certificate they signed)
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct UserArgs {
    #[command(flatten)]
    dir: DirArg,

    /// User name: the certificate's common name and the files' name
    #[arg(long, value_name = "USER")]
    name: String,

    /// Group of the user: one organization each (repeatable)
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,

    #[command(flatten)]
    days: DaysArg,
}

#[derive(Debug, Args)]
struct RotateArgs {
    #[command(flatten)]
    dir: DirArg,

    #[command(flatten)]
    names: NameArgs,

    #[command(flatten)]
    days: DaysArg,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = String::new();
    let result = run(cli.command, &mut out);
    // Everything is written by now; a reader that went away (`| head`) is not an error.
    let _ = io::stdout().lock().write_all(out.as_bytes());
    match result {
        Ok(warnings) => {
            for warning in warnings {
                let _ = writeln!(io::stderr(), "warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(io::stderr(), "tmc-certs: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command, appending what it has to say to `out`; returns the warnings.
fn run(command: Command, out: &mut String) -> Result<Vec<String>, pki::PkiError> {
    let report = match command {
        Command::Init(args) => {
            let pki = Pki::new(&args.dir.dir)
                .with_leaf_days(args.days.days)
                .with_ca_days(args.ca_days);
            let options = InitOptions {
                serving: args.names.serving_names(),
                front_proxy_name: args.front_proxy_name.clone(),
                force: args.force,
            };
            let report = pki.init(&options)?;
            print_files(&report, out);
            print_usage(&pki, &args.front_proxy_name, out);
            report
        }
        Command::User(args) => {
            let pki = Pki::new(&args.dir.dir).with_leaf_days(args.days.days);
            let report = pki.issue_user(&args.name, &args.groups)?;
            print_files(&report, out);
            let cert = absolute(&pki.cert_path(&args.name));
            let key = absolute(&pki.key_path(&args.name));
            let _ = write!(
                out,
                "\nTo use it with kubectl:\n  kubectl config set-credentials {} --client-certificate={} \
                 --client-key={} --embed-certs\n",
                args.name,
                cert.display(),
                key.display()
            );
            report
        }
        Command::RotateServing(args) => {
            let pki = Pki::new(&args.dir.dir).with_leaf_days(args.days.days);
            let given = args.names.serving_names();
            let names = (given != ServingNames::default()).then_some(&given);
            let report = pki.rotate_serving(names)?;
            print_files(&report, out);
            out.push_str(
                "\ntmc-server serves the new pair once it reloads it (or is restarted); the serving CA \
                 is unchanged,\nso clients need nothing new.\n",
            );
            report
        }
    };
    Ok(report.warnings)
}

/// One line per file written or reused.
fn print_files(report: &Report, out: &mut String) {
    for file in &report.files {
        let _ = writeln!(out, "{file}");
    }
}

/// `path` made absolute (without resolving symlinks), for flags that other
/// programs read from their own working directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn print_usage(pki: &Pki, front_proxy_name: &str, out: &mut String) {
    let cert = |stem| absolute(&pki.cert_path(stem)).display().to_string();
    let key = |stem| absolute(&pki.key_path(stem)).display().to_string();
    let _ = write!(
        out,
        "
tmc-server flags:
  --tls-cert-file={serving_crt} \\
  --tls-private-key-file={serving_key} \\
  --client-ca-file={client_ca} \\
  --requestheader-client-ca-file={requestheader_ca} \\
  --requestheader-allowed-names={front_proxy_name}

kcp-front-proxy path mapping (--mapping-file; backend is tmc-server's --listen address):
  - path: /services/tmc/
    backend: https://127.0.0.1:6444
    backend_server_ca: {serving_ca}
    proxy_client_cert: {proxy_crt}
    proxy_client_key: {proxy_key}

Clients of tmc-server trust {serving_ca}; the administrator's client certificate is
{admin_crt} (key {admin_key}).
These files are secrets or trust roots: never commit them.
",
        serving_crt = cert(pki::SERVING),
        serving_key = key(pki::SERVING),
        client_ca = cert(pki::CLIENT_CA),
        requestheader_ca = cert(pki::REQUESTHEADER_CA),
        serving_ca = cert(pki::SERVING_CA),
        proxy_crt = cert(pki::FRONT_PROXY_CLIENT),
        proxy_key = key(pki::FRONT_PROXY_CLIENT),
        admin_crt = cert(pki::ADMIN),
        admin_key = key(pki::ADMIN),
    );
}
