//! Runs the built `kubectl-tmc` binary the way kubectl does (same arguments, no kubectl needed:
//! kubectl only execs the binary) and checks what a user sees.

use std::process::{Command, Output};

fn kubectl_tmc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-tmc"))
        .args(args)
        .output()
        .expect("run kubectl-tmc")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

#[test]
fn help_explains_the_plugin_and_how_kubectl_finds_it() {
    let output = kubectl_tmc(&["--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = stdout(&output);
    for needle in [
        "Usage: kubectl tmc <COMMAND>",
        "transparent multi-cluster for kcp",
        "PATH",
        "kubectl plugin list",
        "version",
        "kubectl tmc version -o json",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn no_arguments_prints_help_and_fails() {
    let output = kubectl_tmc(&[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Usage: kubectl tmc"), "{stderr}");
}

#[test]
fn version_prints_the_package_version() {
    let output = kubectl_tmc(&["version"]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.contains(&format!("Plugin Version: {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("Git Commit: "), "{text}");
}

#[test]
fn version_json_is_one_object_with_version_and_commit() {
    let output = kubectl_tmc(&["version", "-o", "json"]);
    assert!(output.status.success(), "{output:?}");
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    let object = value.as_object().expect("a JSON object");
    assert_eq!(object["plugin"], "kubectl-tmc");
    assert_eq!(object["version"], env!("CARGO_PKG_VERSION"));
    let commit = &object["gitCommit"];
    assert!(
        commit.is_null() || commit.as_str().is_some_and(|c| !c.is_empty()),
        "gitCommit must be null or a non-empty string: {commit}"
    );
}

#[test]
fn unsupported_output_format_is_rejected_with_the_choices() {
    let output = kubectl_tmc(&["version", "--output", "xml"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("possible values: json"), "{stderr}");
}
