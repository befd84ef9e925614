//! docs/getting-started.md, followed word for word: `make up`'s program
//! (`tmc-up`) runs as `make up` runs it, then every `sh` block of the page runs
//! in order, in one bash in the same directory, with the kubectl the harness
//! built first on PATH (the page says any recent kubectl works). The
//! directory is a scratch copy of the repository root (its `docs/` linked), so
//! a `make up` of the developer's own is not disturbed. The
//! walkthrough must end with a Ready workload in `kubectl get placements` and
//! nothing of TMC's left on the physical cluster after the clean-up.

use std::path::Path;
use std::process::Command;

/// The `sh` code blocks of a Markdown page, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), l) => lines.push(l),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_getting_started_page_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let page = std::fs::read_to_string(root.join("docs/getting-started.md")).expect("the page");
    let blocks = sh_blocks(&page);
    assert!(
        blocks.len() >= 5,
        "expected the page's sh blocks, found {}",
        blocks.len()
    );
    let bins = tmc_harness::components::ensure().expect("real binaries");

    let work = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(root.join("docs"), work.path().join("docs")).expect("link docs/");
    // `make up` = build, then run tmc-up in the directory the user is in.
    let mut up =
        tmc_harness::up::Up::start(env!("CARGO_BIN_EXE_tmc-up").as_ref(), work.path()).expect("tmc-up");
    let script = format!("set -euo pipefail\n{}\n", blocks.join("\n"));
    let path = format!(
        "{}:{}",
        bins.kubectl.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the page's commands failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("east") && l.contains("us-east")),
        "clusterregistrations did not show east:\n{stdout}"
    );
    let ready = stdout
        .lines()
        .find(|l| l.starts_with("service-hello"))
        .unwrap_or_else(|| panic!("no service-hello in kubectl get placements:\n{stdout}"));
    assert!(ready.contains("east") && ready.contains("Ready"), "{ready}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("deployment-hello") && l.contains("east")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Available=") && stdout.contains("Synced=True"),
        "the kcp Deployment's conditions:\n{stdout}"
    );
    // The clean-up's last command lists what TMC left on east: nothing.
    assert!(
        stderr.trim_end().ends_with("No resources found"),
        "copies left on east after the clean-up:\n{stdout}\n{stderr}"
    );
    let status = up.interrupt().expect("tmc-up stops");
    assert!(status.success(), "tmc-up exited with {status}");
}

#[test]
fn sh_blocks_are_read_in_order() {
    let md = "text\n```sh\na\nb\n```\n```console\nno\n```\n```sh\nc\n```\n";
    assert_eq!(sh_blocks(md), ["a\nb", "c"]);
}
