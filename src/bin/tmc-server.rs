//! tmc-server: see `kcp_tmc::runtime` for the wiring and `--help` for usage.
#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = kcp_tmc::runtime::Args::parse();
    kcp_tmc::runtime::init_logging(&args);
    match kcp_tmc::runtime::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("tmc-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
