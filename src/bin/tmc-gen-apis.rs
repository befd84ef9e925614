//! `tmc-gen-apis`: writes the kcp APIResourceSchemas and APIExports (`apis/`) generated from
//! the Rust API types, or checks that the committed files are current.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kcp_tmc::apis_gen::{self, Drift};

/// Generate the kcp API files in `apis/` from the Rust types.
///
/// Produces one APIResourceSchema per resource (ClusterRegistration, WorkloadPlacement,
/// Deployment, Service; named `v<hash>.<plural>.<group>` because kcp schemas are immutable)
/// and the APIExports `tmc.kcp.io` and `kubernetes`. Apply them to the provider workspace
/// with `kubectl apply --server-side -f apis/` (the Deployment schema is too large for
/// client-side apply's last-applied annotation).
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Output directory.
    #[arg(default_value = apis_gen::DEFAULT_DIR)]
    dir: PathBuf,

    /// Do not write; exit with status 1 and list the files that are missing, differ or are
    /// stale (no longer generated). For CI.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let files = apis_gen::render();
    let result = if args.check {
        apis_gen::check(&args.dir, &files)
    } else {
        apis_gen::write(&args.dir, &files)
    };
    let drift = match result {
        Ok(drift) => drift,
        Err(err) => {
            eprintln!("tmc-gen-apis: {}: {err}", args.dir.display());
            return ExitCode::from(2);
        }
    };
    let dir = &args.dir;
    if args.check {
        if drift.is_empty() {
            println!("{}: {} files up to date", dir.display(), files.len());
            return ExitCode::SUCCESS;
        }
        for d in &drift {
            eprintln!("{:<8} {}", d.kind(), dir.join(d.path()).display());
        }
        eprintln!(
            "{} is out of date with the Rust types; run `cargo run --bin tmc-gen-apis`",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    for d in &drift {
        let action = match d {
            Drift::Missing(_) => "created",
            Drift::Differs(_) => "updated",
            Drift::Stale(_) => "stale",
        };
        println!("{action:<8} {}", dir.join(d.path()).display());
    }
    println!(
        "{}: {} files, {} changed",
        dir.display(),
        files.len(),
        drift.len()
    );
    if drift.iter().any(|d| matches!(d, Drift::Stale(_))) {
        eprintln!("note: stale generated files were removed; others (no generated header) were kept");
    }
    ExitCode::SUCCESS
}
