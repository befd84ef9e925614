//! README command 1 (`make up` → `tmc-up`), run as a new user would: wait for
//! the printed instructions, run the printed kubectl command with the printed
//! KUBECONFIG, press Ctrl-C, and check that nothing is left running.

use std::process::Command;

#[test]
fn tmc_up_prints_commands_that_work_and_stops_cleanly() {
    let bins = tmc_harness::components::ensure().expect("real binaries");
    let up = env!("CARGO_BIN_EXE_tmc-up");
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut up = tmc_harness::up::Up::start(up.as_ref(), cwd.path()).expect("tmc-up");
    let text = up.printed.join("\n");
    let kubeconfig = up.kubeconfig.clone();
    assert!(text.contains("kubectl get clusterregistrations"), "{text}");

    // The printed command, as printed, with the printed KUBECONFIG.
    let out = Command::new(&bins.kubectl)
        .args(["get", "clusterregistrations"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("kubectl runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{}",
        table,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.contains("east") && table.contains("us-east"), "{table}");
    let physical = Command::new(&bins.kubectl)
        .args(["--context", "east", "get", "namespaces"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("kubectl runs");
    assert!(
        physical.status.success(),
        "{}",
        String::from_utf8_lossy(&physical.stderr)
    );

    // Every process of the stack carries the stack directory in its arguments.
    let stack = std::fs::read_link(cwd.path().join(".tmc-up/stack")).expect("stack link");
    let running = |pattern: &str| {
        Command::new("pgrep")
            .args(["-f", pattern])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    assert!(
        running(stack.to_str().unwrap()),
        "the stack's processes should be running"
    );

    // Ctrl-C.
    let status = up.interrupt().expect("tmc-up stops");
    assert!(status.success(), "tmc-up exited with {status}");
    assert!(
        !running(stack.to_str().unwrap()),
        "processes left behind after Ctrl-C"
    );
    assert!(
        !cwd.path().join(".tmc-up").exists(),
        "state directory left behind"
    );
}
