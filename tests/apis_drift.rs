//! The committed generated files must be exactly what the Rust types generate: no missing,
//! changed or stale files. kcp serves what is applied from `apis/`, so a drift there means
//! the server and kcp disagree about the API; a drift in `docs/reference/` means the API
//! reference no longer says what the server serves.

use std::path::Path;

use kcp_tmc::apis_gen::{self, GeneratedFile};

fn assert_current(dir: &str, files: &[GeneratedFile]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let drift = apis_gen::check(&path, files).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let listing: Vec<String> = drift.iter().map(|d| format!("  {d}")).collect();
    assert!(
        drift.is_empty(),
        "{dir}/ is out of date with the Rust types:\n{}\nrun `cargo run --bin tmc-gen-apis` and commit the result",
        listing.join("\n")
    );
}

#[test]
fn committed_apis_match_the_rust_types() {
    assert_current(apis_gen::DEFAULT_DIR, &apis_gen::render());
}

#[test]
fn committed_api_reference_matches_the_rust_types() {
    assert_current(apis_gen::REFERENCE_DIR, &apis_gen::render_reference());
}
