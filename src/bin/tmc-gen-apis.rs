//! `tmc-gen-apis`: writes the kcp APIResourceSchemas and APIExports (`apis/`) and the API
//! reference (`docs/reference/`) generated from the Rust API types, or checks that the
//! committed files are current.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use kcp_tmc::apis_gen::{self, Drift, GeneratedFile};

/// Generate the kcp API files in `apis/` and the API reference in `docs/reference/` from
/// the Rust types.
///
/// `apis/` gets one APIResourceSchema per resource (ClusterRegistration, WorkloadPlacement,
/// Deployment, Service; named `v<hash>.<plural>.<group>` because kcp schemas are immutable)
/// and the APIExports `tmc.kcp.io` and `kubernetes`. Apply them to the provider workspace
/// with `kubectl apply --server-side -f apis/` (the Deployment schema is too large for
/// client-side apply's last-applied annotation).
///
/// `docs/reference/` gets `tmc.kcp.io-v1alpha1.md`, the field-by-field Markdown reference
/// of the tmc.kcp.io kinds (ClusterRegistration and WorkloadPlacement, stored in kcp, and
/// the Placement and SharedCluster views tmc-server computes). It holds only generated
/// files.
///
/// One run writes both directories; `--check` checks both.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Output directory of the kcp files.
    #[arg(default_value = apis_gen::DEFAULT_DIR)]
    dir: PathBuf,

    /// Output directory of the API reference.
    #[arg(long, default_value = apis_gen::REFERENCE_DIR)]
    reference_dir: PathBuf,

    /// Do not write; exit with status 1 and list the files that are missing, differ or are
    /// stale (no longer generated). For CI.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outputs = [
        (args.dir.as_path(), apis_gen::render()),
        (args.reference_dir.as_path(), apis_gen::render_reference()),
    ];
    let mut out_of_date = false;
    for (dir, files) in &outputs {
        match generate(dir, files, args.check) {
            Ok(current) => out_of_date |= !current,
            Err(code) => return code,
        }
    }
    if out_of_date {
        eprintln!("generated files are out of date with the Rust types; run `cargo run --bin tmc-gen-apis`");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Checks or writes one directory; `Ok(false)` when a check found drift.
fn generate(dir: &Path, files: &[GeneratedFile], check: bool) -> Result<bool, ExitCode> {
    let result = if check {
        apis_gen::check(dir, files)
    } else {
        apis_gen::write(dir, files)
    };
    let drift = result.map_err(|err| {
        eprintln!("tmc-gen-apis: {}: {err}", dir.display());
        ExitCode::from(2)
    })?;
    if check {
        if drift.is_empty() {
            println!("{}: {} files up to date", dir.display(), files.len());
        }
        for d in &drift {
            eprintln!("{:<8} {}", d.kind(), dir.join(d.path()).display());
        }
        return Ok(drift.is_empty());
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
    Ok(true)
}
