//! README command 1 (`make up` → `tmc-up`), run as a new user would: wait for
//! the printed instructions, run the printed kubectl command with the printed
//! KUBECONFIG, press Ctrl-C, and check that nothing is left running.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn tmc_up_prints_commands_that_work_and_stops_cleanly() {
    let bins = tmc_harness::components::ensure().expect("real binaries");
    let up = env!("CARGO_BIN_EXE_tmc-up");
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(up)
        .current_dir(cwd.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tmc-up starts");

    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(300)) {
            Ok(line) => {
                let done = line.contains("Press Ctrl-C");
                printed.push(line);
                if done {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "tmc-up printed no instructions within 5 minutes; got:\n{}",
                    printed.join("\n")
                );
            }
        }
    }
    let text = printed.join("\n");
    let kubeconfig = printed
        .iter()
        .find_map(|l| l.strip_prefix("export KUBECONFIG="))
        .unwrap_or_else(|| panic!("no `export KUBECONFIG=` line in:\n{text}"))
        .to_owned();
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
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("tmc-up did not stop within 60s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
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
