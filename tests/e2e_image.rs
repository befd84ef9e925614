//! The container image `deploy/image/build.sh` makes is complete and runs:
//! built (with umoci, no container engine) from the tmc-server this test run
//! compiled, read back as an OCI image (entrypoint, user, port, labels),
//! unpacked, and its entrypoint started from the image's own filesystem as
//! the image's user against a real kcp, where it gets ready and serves
//! `kubectl get` through its virtual workspace.
//!
//! No container runtime works in this sandbox (crun: "cgroups in hybrid mode
//! not supported"), so the unpacked root filesystem is entered with chroot;
//! that proves the image carries everything the binary needs (a missing
//! library or file fails here) but not the runtime's isolation. chroot needs
//! root, as CI has.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tmc_harness::credentials::{write_kubeconfig, Credential};
use tmc_harness::pki::TestCa;
use tmc_harness::process::Process;
use tmc_harness::{components, free_port, repo_root, wait_for, KcpServer, Kubectl, StackDir};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";

#[test]
fn the_image_carries_everything_tmc_server_needs_and_runs_against_kcp() {
    let dir = StackDir::new("image").expect("temp dir");
    if let Err(e) = scenario(&dir) {
        panic!("{e:#}");
    }
}

fn run(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program).args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    anyhow::ensure!(
        run(Path::new("id"), &["-u"])?.trim() == "0",
        "entering the unpacked image with chroot needs root"
    );
    let bins = components::ensure()?;
    let archive = dir.path().join("tmc-server.oci.tar");
    let out = Command::new(repo_root().join("deploy/image/build.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_tmc-server"), "--tag", "e2e"])
        .arg("--out")
        .arg(&archive)
        .env("UMOCI", &bins.umoci)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "deploy/image/build.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stderr).trim());

    // Read it back as an OCI image layout: index → manifest → config.
    let layout = dir.path().join("layout");
    std::fs::create_dir_all(&layout)?;
    run(
        Path::new("tar"),
        &["-C", layout.to_str().unwrap(), "-xf", archive.to_str().unwrap()],
    )?;
    let blob = |digest: &str| -> anyhow::Result<Value> {
        let hex = digest.trim_start_matches("sha256:");
        Ok(serde_json::from_slice(&std::fs::read(
            layout.join("blobs/sha256").join(hex),
        )?)?)
    };
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let entry = &index["manifests"][0];
    anyhow::ensure!(
        entry["annotations"]["org.opencontainers.image.ref.name"] == "e2e",
        "index: {index}"
    );
    let manifest = blob(entry["digest"].as_str().unwrap_or_default())?;
    let config = blob(manifest["config"]["digest"].as_str().unwrap_or_default())?;
    let c = &config["config"];
    anyhow::ensure!(
        c["Entrypoint"] == serde_json::json!(["/usr/local/bin/tmc-server"])
            && c["User"] == "65532:65532"
            && c["ExposedPorts"].get("6444/tcp").is_some()
            && c["Labels"]["org.opencontainers.image.version"] == "e2e"
            && config["os"] == "linux"
            && config["architecture"] == "amd64",
        "image config: {config}"
    );
    println!(
        "image: {} layer(s), entrypoint {}, user {}",
        manifest["layers"].as_array().map_or(0, Vec::len),
        c["Entrypoint"],
        c["User"]
    );

    // Unpack it as a runtime would and start its entrypoint against kcp.
    let bundle = dir.path().join("bundle");
    run(
        &bins.umoci,
        &[
            "unpack",
            "--image",
            &format!("{}:e2e", layout.display()),
            bundle.to_str().unwrap(),
        ],
    )?;
    let rootfs = bundle.join("rootfs");
    let files: Vec<String> = walk(&rootfs, &rootfs)?;
    println!("image files: {}", files.join(" "));
    anyhow::ensure!(
        !files.iter().any(|f| f.ends_with("/sh") || f.ends_with("/bash")),
        "the image has a shell: {files:?}"
    );

    let kcp = KcpServer::start(&bins, dir.path())?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    // Files a Deployment would mount, inside the image's filesystem.
    let etc = rootfs.join("etc/tmc");
    std::fs::create_dir_all(&etc)?;
    std::fs::copy(&kcp.admin_kubeconfig, etc.join("kcp.kubeconfig"))?;
    let ca = TestCa::new("image test CA")?;
    ca.write_ca(&dir.path().join("ca.crt"))?;
    let serving = ca.serving(&["localhost", "127.0.0.1"], &etc, "serving")?;
    for f in std::fs::read_dir(&etc)? {
        let f = f?.path();
        run(Path::new("chmod"), &["0644", f.to_str().unwrap()])?;
    }
    let inside = |p: &Path| format!("/{}", p.strip_prefix(&rootfs).expect("inside").display());
    let port = free_port();
    let args = vec![
        "--userspec=65532:65532".to_owned(),
        rootfs.display().to_string(),
        "/usr/local/bin/tmc-server".to_owned(),
        "--kcp-kubeconfig=/etc/tmc/kcp.kubeconfig".to_owned(),
        format!("--listen=127.0.0.1:{port}"),
        format!("--tls-cert-file={}", inside(&serving.cert)),
        format!("--tls-private-key-file={}", inside(&serving.key)),
        format!("--provider-workspace={PROVIDER}"),
    ];
    let mut process = Process::start(
        "tmc-server-image",
        Path::new("/usr/sbin/chroot"),
        &args,
        dir.path(),
        &[],
    )?;
    let kubeconfig = dir.path().join("tmc.kubeconfig");
    write_kubeconfig(
        &kubeconfig,
        &format!("https://127.0.0.1:{port}/services/tmc/clusters/{TENANT}"),
        &dir.path().join("ca.crt"),
        &Credential::Token(kcp.admin_token()?),
    )?;
    let k = Kubectl {
        binary: bins.kubectl.clone(),
        kubeconfig,
        server: None,
    };
    wait_for("tmc-server from the image ready", Duration::from_secs(90), || {
        process.check_running().ok()?;
        k.run(&["get", "--raw", "/readyz"], None).success.then_some(())
    })?;
    let pid = process.pid().map(|p| p.to_string()).unwrap_or_default();
    let ps = run(Path::new("ps"), &["-o", "user=,args=", "-p", &pid])?;
    anyhow::ensure!(ps.starts_with("65532"), "tmc-server runs as: {ps}");
    println!("running from the image as uid 65532: {}", ps.trim());
    let discovery = k.ok(&["api-resources", "--api-group=tmc.kcp.io"])?;
    anyhow::ensure!(discovery.contains("placements"), "{discovery}");
    println!("kubectl api-resources through the image's tmc-server:\n{discovery}");
    k.ok(&["get", "placements", "-A"])?;
    Ok(())
}

/// Paths of the regular files under `dir`, relative to `root`, sorted.
fn walk(root: &Path, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(root, &path)?);
        } else {
            out.push(format!("/{}", path.strip_prefix(root)?.display()));
        }
    }
    out.sort();
    Ok(out)
}
