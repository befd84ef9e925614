//! `tmc-certs` as a user runs it: the built binary, a temporary directory, and
//! the files and output it leaves.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use kcp_tmc::pki::{check_pair, verify_client_cert, verify_server_cert};

const FILES: [&str; 6] = [
    "serving-ca",
    "serving",
    "client-ca",
    "admin",
    "requestheader-ca",
    "front-proxy-client",
];

fn tmc_certs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tmc-certs"))
        .args(args)
        .output()
        .expect("running tmc-certs")
}

/// Runs tmc-certs, checks its exit status, and returns (stdout, stderr); key
/// material must never appear in either.
fn run(args: &[&str], success: bool) -> (String, String) {
    let out = tmc_certs(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.success(),
        success,
        "tmc-certs {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains("PRIVATE KEY"), "key material printed:\n{text}");
        assert!(!text.contains("-----BEGIN"), "PEM printed:\n{text}");
    }
    (stdout, stderr)
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn help_teaches_the_subcommands_with_examples() {
    let (stdout, _) = run(&["--help"], true);
    for needle in [
        "init",
        "user",
        "rotate-serving",
        "Examples:",
        "tmc-certs init --dir",
        "never commit",
    ] {
        assert!(
            stdout.to_lowercase().contains(&needle.to_lowercase()),
            "{needle} missing:\n{stdout}"
        );
    }
    let (stdout, _) = run(&["init", "--help"], true);
    for needle in [
        "--name",
        "--ip",
        "--front-proxy-name",
        "--days",
        "--force",
        "Examples:",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
    let (stdout, _) = run(&["user", "--help"], true);
    assert!(
        stdout.contains("--group") && stdout.contains("Examples:"),
        "{stdout}"
    );
    let (stdout, _) = run(&["rotate-serving", "--help"], true);
    assert!(stdout.contains("Examples:"), "{stdout}");
}

#[test]
fn init_user_and_rotate_serving_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("certs");
    let d = dir.to_str().unwrap();

    let (stdout, stderr) = run(
        &[
            "init",
            "--dir",
            d,
            "--name",
            "tmc.example.com",
            "--ip",
            "10.9.8.7",
            "--days",
            "30",
        ],
        true,
    );
    assert!(stderr.is_empty(), "{stderr}");
    // One progress line per file written.
    for stem in FILES {
        for ext in ["crt", "key"] {
            let path = dir.join(format!("{stem}.{ext}"));
            assert!(path.is_file(), "{} missing", path.display());
            let line = format!("{}\n", path.display());
            let lines = stdout
                .lines()
                .filter(|l| l.contains(&format!("{}  ", path.display())))
                .count();
            assert_eq!(lines, 1, "progress line for {line} in:\n{stdout}");
            assert_eq!(
                mode(&path),
                if ext == "key" { 0o600 } else { 0o644 },
                "{}",
                path.display()
            );
        }
        check_pair(
            &read(&dir.join(format!("{stem}.crt"))),
            &read(&dir.join(format!("{stem}.key"))),
        )
        .unwrap();
    }
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("created ")).count(),
        12,
        "{stdout}"
    );
    // The flags and the front-proxy mapping, with the files' paths.
    for needle in [
        format!("--tls-cert-file={d}/serving.crt"),
        format!("--tls-private-key-file={d}/serving.key"),
        format!("--client-ca-file={d}/client-ca.crt"),
        format!("--requestheader-client-ca-file={d}/requestheader-ca.crt"),
        "--requestheader-allowed-names=kcp-front-proxy".to_owned(),
        format!("backend_server_ca: {d}/serving-ca.crt"),
        format!("proxy_client_cert: {d}/front-proxy-client.crt"),
        format!("proxy_client_key: {d}/front-proxy-client.key"),
    ] {
        assert!(stdout.contains(&needle), "{needle} missing:\n{stdout}");
    }
    let serving_ca = read(&dir.join("serving-ca.crt"));
    for name in ["localhost", "127.0.0.1", "::1", "tmc.example.com", "10.9.8.7"] {
        verify_server_cert(&serving_ca, &read(&dir.join("serving.crt")), name).unwrap();
    }

    // A second init reuses the CAs; the serving certificate gets the names given, again.
    let client_ca = read(&dir.join("client-ca.crt"));
    let (stdout, _) = run(
        &[
            "init",
            "--dir",
            d,
            "--name",
            "tmc.example.com",
            "--ip",
            "10.9.8.7",
        ],
        true,
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("reused ")).count(),
        6,
        "{stdout}"
    );
    assert_eq!(read(&dir.join("client-ca.crt")), client_ca);
    assert_eq!(read(&dir.join("serving-ca.crt")), serving_ca);

    // A user certificate.
    let (stdout, _) = run(
        &[
            "user", "--dir", d, "--name", "alice", "--group", "team-a", "--group", "team-b",
        ],
        true,
    );
    assert!(stdout.contains("CN=alice, O=team-a, O=team-b"), "{stdout}");
    assert!(
        stdout.contains("kubectl config set-credentials alice"),
        "{stdout}"
    );
    let alice = read(&dir.join("alice.crt"));
    verify_client_cert(&client_ca, &alice).unwrap();
    assert!(verify_client_cert(&read(&dir.join("requestheader-ca.crt")), &alice).is_err());
    assert_eq!(mode(&dir.join("alice.key")), 0o600);

    // Rotation: a new pair from the same CA, for the same names.
    let old = read(&dir.join("serving.crt"));
    let (stdout, _) = run(&["rotate-serving", "--dir", d], true);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("replaced")).count(),
        2,
        "{stdout}"
    );
    let new = read(&dir.join("serving.crt"));
    assert_ne!(old, new);
    assert_eq!(read(&dir.join("serving-ca.crt")), serving_ca);
    verify_server_cert(&serving_ca, &new, "tmc.example.com").unwrap();
    verify_server_cert(&serving_ca, &new, "10.9.8.7").unwrap();
    check_pair(&new, &read(&dir.join("serving.key"))).unwrap();

    // Rotation with other names.
    run(
        &["rotate-serving", "--dir", d, "--name", "other.example.com"],
        true,
    );
    let renamed = read(&dir.join("serving.crt"));
    verify_server_cert(&serving_ca, &renamed, "other.example.com").unwrap();
    assert!(verify_server_cert(&serving_ca, &renamed, "tmc.example.com").is_err());

    // Nothing but the certificates and keys in the directory.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 14, "{names:?}");
}

#[test]
fn errors_are_explained_and_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("empty");
    let d = d.to_str().unwrap();
    let (_, stderr) = run(&["user", "--dir", d, "--name", "alice"], false);
    assert!(stderr.contains("tmc-certs init"), "{stderr}");
    let (_, stderr) = run(&["rotate-serving", "--dir", d], false);
    assert!(stderr.contains("tmc-certs init"), "{stderr}");

    run(&["init", "--dir", d], true);
    let (_, stderr) = run(&["user", "--dir", d, "--name", "../escape"], false);
    assert!(stderr.contains("invalid name"), "{stderr}");
    let (_, stderr) = run(&["user", "--dir", d, "--name", "serving"], false);
    assert!(stderr.contains("invalid name"), "{stderr}");
    run(&["init", "--dir", d, "--days", "0"], false);
    run(&["init", "--dir", d, "--ip", "not-an-ip"], false);
    let (_, stderr) = run(&["init", "--dir", d, "--name", "bad_name!"], false);
    assert!(stderr.contains("invalid name"), "{stderr}");

    // Half a CA is refused, and --force starts over.
    fs::remove_file(Path::new(d).join("serving-ca.key")).unwrap();
    let (_, stderr) = run(&["init", "--dir", d], false);
    assert!(stderr.contains("--force"), "{stderr}");
    let (stdout, stderr) = run(&["init", "--dir", d, "--force"], true);
    assert!(
        stdout.contains("created  ") && stdout.contains("replaced"),
        "{stdout}"
    );
    assert!(stderr.contains("warning:"), "{stderr}");
}
