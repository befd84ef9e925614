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

// --- `kubectl tmc cluster ...` --------------------------------------------------------------

const TOKEN: &str = "tok-3f9a1c-never-print-me";
const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nS3CR3T-KEY-BYTES\n-----END PRIVATE KEY-----\n";

/// A physical cluster's kubeconfig in a temp dir, with a relative CA file and two contexts:
/// `east` (token) and `east-cert` (client certificate and key files).
fn physical_kubeconfig() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("pki")).unwrap();
    std::fs::write(dir.path().join("pki/ca.crt"), "CA-CERT").unwrap();
    std::fs::write(dir.path().join("pki/admin.crt"), "ADMIN-CERT").unwrap();
    std::fs::write(dir.path().join("pki/admin.key"), KEY_PEM).unwrap();
    let path = dir.path().join("east.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: east\n\
             clusters:\n- name: east\n  cluster:\n    server: https://10.1.2.3:6443\n    certificate-authority: pki/ca.crt\n\
             users:\n- name: admin\n  user:\n    token: {TOKEN}\n\
             - name: cert\n  user:\n    client-certificate: pki/admin.crt\n    client-key: pki/admin.key\n\
             contexts:\n- name: east\n  context: {{cluster: east, user: admin}}\n\
             - name: east-cert\n  context: {{cluster: east, user: cert}}\n"
        ),
    )
    .unwrap();
    (dir, path)
}

/// Runs the plugin with no usable kcp kubeconfig at all: HOME is empty and KUBECONFIG points
/// nowhere, so anything that needs kcp fails and anything that works provably did not use it.
fn kubectl_tmc_offline(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_kubectl-tmc"))
        .args(args)
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("run kubectl-tmc")
}

/// Fails if any credential of [`physical_kubeconfig`], raw or base64-encoded, was printed.
fn assert_no_credentials(output: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let encoded = |s: &str| {
        serde_json::to_value(k8s_openapi::ByteString(s.as_bytes().to_vec()))
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    for secret in [
        TOKEN,
        "S3CR3T-KEY-BYTES",
        KEY_PEM,
        &encoded(TOKEN),
        &encoded(KEY_PEM),
        "ADMIN-CERT",
    ] {
        assert!(
            !all.contains(secret),
            "output contains a credential ({secret:?}):\n{all}"
        );
    }
}

#[test]
fn top_level_help_lists_the_cluster_commands() {
    let help = stdout(&kubectl_tmc(&["--help"]));
    for needle in [
        "cluster",
        "kubectl tmc cluster register east --kubeconfig east.yaml",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn every_cluster_subcommand_has_help_with_examples() {
    for (args, needles) in [
        (
            &["cluster", "--help"][..],
            &["Usage: kubectl tmc cluster <COMMAND>", "register", "cordon", "uncordon", "deregister", "--kcp-kubeconfig", "Examples:"][..],
        ),
        (
            &["cluster", "register", "--help"],
            &[
                "Usage: kubectl tmc cluster register [OPTIONS] --kubeconfig <FILE> --location <LOCATION> <NAME>",
                "--label <KEY=VALUE>",
                "--capability <TYPE[=PROP=VALUE,...]>",
                "--context <CONTEXT>",
                "--dry-run",
                "[default: tmc-system]",
                "<redacted N bytes>",
                "--flatten --minify",
                "kubectl tmc cluster register east --kubeconfig east.yaml --location us-east",
                "--capability storage --capability gpu=model=a100,count=4",
            ],
        ),
        (
            &["cluster", "cordon", "--help"],
            &["Usage: kubectl tmc cluster cordon [OPTIONS] <NAME>", "spec.unschedulable=true", "kubectl tmc cluster cordon east"],
        ),
        (
            &["cluster", "uncordon", "--help"],
            &["Usage: kubectl tmc cluster uncordon [OPTIONS] <NAME>", "kubectl tmc cluster uncordon east"],
        ),
        (
            &["cluster", "deregister", "--help"],
            &[
                "Usage: kubectl tmc cluster deregister [OPTIONS] <NAME>",
                "--keep-secret",
                "tmc.kcp.io/cluster=<NAME>",
                "moves the cluster's workloads away",
                "kubectl tmc cluster deregister east --keep-secret",
            ],
        ),
    ] {
        let output = kubectl_tmc(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        let help = stdout(&output);
        for needle in needles {
            assert!(help.contains(needle), "{args:?} help lacks {needle:?}:\n{help}");
        }
    }
}

#[test]
fn cluster_without_a_subcommand_prints_help_and_fails() {
    let output = kubectl_tmc(&["cluster"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage: kubectl tmc cluster <COMMAND>"));
}

#[test]
fn register_dry_run_prints_the_objects_without_kcp_or_credentials() {
    let (_dir, path) = physical_kubeconfig();
    let file = path.to_str().unwrap();
    let base = [
        "cluster",
        "register",
        "east",
        "--kubeconfig",
        file,
        "--location",
        "us-east",
    ];
    let args = [
        &base[..],
        &[
            "--label",
            "tier=prod",
            "--capability",
            "gpu=model=a100",
            "--dry-run",
        ],
    ]
    .concat();
    let output = kubectl_tmc_offline(&args);
    assert!(output.status.success(), "{output:?}");
    assert_no_credentials(&output);
    let text = stdout(&output);
    let docs: Vec<serde_json::Value> = text
        .split("---\n")
        .map(|d| serde_yaml::from_str(d).expect("each document is YAML"))
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Namespace", "Secret", "ClusterRegistration"], "{text}");
    let secret = &docs[1];
    assert_eq!(secret["metadata"]["name"], "east-kubeconfig");
    assert_eq!(secret["metadata"]["labels"]["tmc.kcp.io/cluster"], "east");
    let data = secret["data"]["kubeconfig"].as_str().unwrap();
    assert!(
        data.starts_with("<redacted ") && data.ends_with(" bytes>"),
        "{data}"
    );
    let cr = &docs[2];
    assert_eq!(cr["spec"]["location"], "us-east");
    assert_eq!(cr["metadata"]["labels"]["tier"], "prod");
    assert_eq!(cr["spec"]["capabilities"][0]["properties"]["model"], "a100");
    assert_eq!(cr["spec"]["kubeconfigSecretRef"]["namespace"], "tmc-system");

    // The certificate context inlines key files; still nothing leaks, and JSON is one List.
    let args = [
        &base[..],
        &["--context", "east-cert", "--dry-run", "-o", "json", "-n", "infra"],
    ]
    .concat();
    let output = kubectl_tmc_offline(&args);
    assert!(output.status.success(), "{output:?}");
    assert_no_credentials(&output);
    let list: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][1]["metadata"]["namespace"], "infra");
}

#[test]
fn register_with_an_unknown_context_names_the_available_ones() {
    let (_dir, path) = physical_kubeconfig();
    let file = path.to_str().unwrap();
    let output = kubectl_tmc_offline(&[
        "cluster",
        "register",
        "east",
        "--kubeconfig",
        file,
        "--location",
        "us-east",
        "--context",
        "x",
        "--dry-run",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_no_credentials(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {file} has no context \"x\"; contexts: east, east-cert"
        )),
        "{stderr}"
    );
}

#[test]
fn register_rejects_bad_flags_before_reading_anything() {
    for (extra, needle) in [
        (&["--label", "tier"][..], "--label \"tier\" must be key=value"),
        (
            &["--capability", "gpu=model"],
            "property \"model\" must be name=value",
        ),
        (&["--namespace", "Bad"], "--namespace \"Bad\" is invalid"),
    ] {
        let args = [
            &[
                "cluster",
                "register",
                "east",
                "--kubeconfig",
                "/nonexistent",
                "--location",
                "x",
            ][..],
            extra,
        ]
        .concat();
        let output = kubectl_tmc_offline(&args);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
    }
}

#[test]
fn commands_that_need_kcp_say_how_to_point_at_it() {
    let (_dir, path) = physical_kubeconfig();
    let file = path.to_str().unwrap();
    for args in [
        &[
            "cluster",
            "register",
            "east",
            "--kubeconfig",
            file,
            "--location",
            "us-east",
        ][..],
        &["cluster", "cordon", "east"],
        &["cluster", "deregister", "east"],
    ] {
        let output = kubectl_tmc_offline(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        assert_no_credentials(&output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("error: cannot use the kcp kubeconfig") && stderr.contains("--kcp-kubeconfig"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn an_unreachable_kcp_is_an_error_without_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let kcp = dir.path().join("kcp.kubeconfig");
    let kcp_token = "kcp-token-do-not-print";
    std::fs::write(
        &kcp,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: team-a\n\
             clusters: [{{name: kcp, cluster: {{server: 'https://127.0.0.1:1/clusters/root:team-a', insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: admin, user: {{token: {kcp_token}}}}}]\n\
             contexts: [{{name: team-a, context: {{cluster: kcp, user: admin}}}}]\n"
        ),
    )
    .unwrap();
    let output = kubectl_tmc_offline(&[
        "cluster",
        "uncordon",
        "east",
        "--kcp-kubeconfig",
        kcp.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: reading clusterregistration.tmc.kcp.io/east: "),
        "{stderr}"
    );
    assert!(!stderr.contains(kcp_token), "{stderr}");
    let output = kubectl_tmc_offline(&[
        "cluster",
        "cordon",
        "east",
        "--kcp-kubeconfig",
        kcp.to_str().unwrap(),
        "--kcp-context",
        "nope",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("error: cannot use the kcp kubeconfig"),
        "{output:?}"
    );
}

// --- `kubectl tmc explain` --------------------------------------------------------------------

#[test]
fn explain_is_listed_and_its_help_teaches_both_forms() {
    let top = stdout(&kubectl_tmc(&["--help"]));
    for needle in ["explain", "kubectl tmc explain deployment/web -n shop"] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let output = kubectl_tmc(&["explain", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = stdout(&output);
    for needle in [
        "Usage: kubectl tmc explain TYPE/NAME [-n NAMESPACE] [OPTIONS]",
        "kubectl tmc explain --what-if -f FILE [TYPE/NAME] [OPTIONS]",
        "tmc.kcp.io/placement",
        "the rule that excluded it",
        "--what-if",
        "-f, --filename <FILE>",
        "--provider-workspace <PATH>",
        "[default: root:tmc]",
        "--not-ready-toleration <DURATION>",
        "[default: 5m]",
        "--kcp-kubeconfig",
        "Nothing is written to kcp",
        "Examples:",
        "kubectl tmc explain svc/web",
        "kubectl tmc explain --what-if -f placement.yaml",
        "| kubectl tmc explain --what-if -f -",
    ] {
        assert!(help.contains(needle), "explain --help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn explain_usage_errors_exit_2() {
    for (args, needle) in [
        (&["explain"][..], "<TYPE/NAME>"),
        (&["explain", "-f", "p.yaml"], "--what-if"),
        (&["explain", "--what-if"], "--filename <FILE>"),
        (&["explain", "a", "b", "c"], "unexpected value 'c'"),
    ] {
        let output = kubectl_tmc_offline(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            stderr.contains("Usage: kubectl tmc explain"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn explain_rejects_bad_input_before_contacting_kcp() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_placement = dir.path().join("deploy.yaml");
    std::fs::write(
        &not_a_placement,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
    )
    .unwrap();
    let file = not_a_placement.to_str().unwrap();
    let missing = dir.path().join("missing.yaml");
    let missing = missing.to_str().unwrap();
    for (args, needle) in [
        (
            &["explain", "pod/web"][..],
            "error: TMC places deployments and services: the type must be deployment",
        ),
        (
            &["explain", "web"],
            "error: \"web\": name the workload as TYPE/NAME",
        ),
        (
            &["explain", "deploy/web", "--not-ready-toleration", "5x"],
            "error: --not-ready-toleration \"5x\" must be a number with unit s, m or h",
        ),
        (
            &["explain", "deploy/web", "-n", "Bad"],
            "error: --namespace \"Bad\" is invalid",
        ),
        (
            &["explain", "deploy/web", "--provider-workspace", "root/tmc"],
            "error: --provider-workspace \"root/tmc\" is not a workspace path",
        ),
        (
            &["explain", "--what-if", "-f", file],
            "expected apiVersion tmc.kcp.io/v1alpha1 and kind WorkloadPlacement, found apps/v1 Deployment",
        ),
        (&["explain", "--what-if", "-f", missing], "error: cannot read"),
    ] {
        let output = kubectl_tmc_offline(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("kcp kubeconfig"), "failed before kcp: {stderr}");
    }
}

#[test]
fn explain_reads_a_placement_from_stdin_then_needs_kcp() {
    use std::io::Write as _;
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-tmc"))
        .args(["explain", "--what-if", "-f", "-"])
        .env("HOME", home.path())
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: p}\nspec: {}\n",
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: cannot use the kcp kubeconfig") && stderr.contains("--kcp-kubeconfig"),
        "the placement was accepted, then kcp was needed: {stderr}"
    );
}

#[test]
fn explain_against_an_unreachable_kcp_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let kcp = dir.path().join("kcp.kubeconfig");
    std::fs::write(
        &kcp,
        "apiVersion: v1\nkind: Config\ncurrent-context: team-a\n\
         clusters: [{name: kcp, cluster: {server: 'https://127.0.0.1:1/clusters/root:team-a', insecure-skip-tls-verify: true}}]\n\
         users: [{name: admin, user: {token: kcp-token-do-not-print}}]\n\
         contexts: [{name: team-a, context: {cluster: kcp, user: admin, namespace: shop}}]\n",
    )
    .unwrap();
    let output = kubectl_tmc_offline(&["explain", "deploy/web", "--kcp-kubeconfig", kcp.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: reading deployments.apps/web in namespace shop: "),
        "the context's namespace is the default: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("kcp-token-do-not-print"), "{stderr}");
}
