//! The committed `apis/` must be exactly what the Rust types generate: no missing, changed
//! or stale files. kcp serves what is applied from `apis/`, so a drift here means the server
//! and kcp disagree about the API.

use std::path::Path;

#[test]
fn committed_apis_match_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kcp_tmc::apis_gen::DEFAULT_DIR);
    let drift = kcp_tmc::apis_gen::check(&dir, &kcp_tmc::apis_gen::render())
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let listing: Vec<String> = drift.iter().map(|d| format!("  {d}")).collect();
    assert!(
        drift.is_empty(),
        "apis/ is out of date with the Rust types:\n{}\nrun `cargo run --bin tmc-gen-apis` and commit the result",
        listing.join("\n")
    );
}

/// The API reference in `docs/reference/` is what the Rust types generate, so the
/// documentation says what the server serves.
#[test]
fn committed_api_reference_matches_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kcp_tmc::apis_gen::REFERENCE_DIR);
    let drift = kcp_tmc::apis_gen::check(&dir, &kcp_tmc::apis_gen::render_reference())
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let listing: Vec<String> = drift.iter().map(|d| format!("  {d}")).collect();
    assert!(
        drift.is_empty(),
        "docs/reference/ is out of date with the Rust types:\n{}\nrun `cargo run --bin tmc-gen-apis` and commit the result",
        listing.join("\n")
    );
}
