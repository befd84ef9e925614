//! Benchmark: the latency authentication and authorization add to a request,
//! cached and uncached, measured in one run on one machine. A tenant (a
//! static kcp token) GETs one ClusterRegistration from two tmc-servers over
//! the same kcp: one with the default caches, one with every cache off (a
//! TokenReview and a SubjectAccessReview per request). The floor is the
//! public `/version` of the same server on the same connection: TLS,
//! HTTP and routing with no authentication at all.
//!
//! Usage: cargo build --workspace --bins && target/debug/tmc-bench-authz [--rounds 500]
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use tmc_harness::credentials::{client_from, random_token, workspace_rbac, write_kubeconfig};
use tmc_harness::{components, Credential, KcpServer, StackDir, TmcServer};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn get(client: &kube::Client, path: &str) -> anyhow::Result<Duration> {
    let req = http::Request::get(path).body(Vec::new())?;
    let t = Instant::now();
    let resp = client.send(req.map(kube::client::Body::from)).await?;
    let code = resp.status();
    http_body_util::BodyExt::collect(resp.into_body()).await?;
    let d = t.elapsed();
    anyhow::ensure!(code == 200, "GET {path}: {code}");
    Ok(d)
}

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("tmc-bench-authz [--rounds R]: p50/p99 of a GET with authorization cached, uncached, and the public floor");
        return Ok(());
    }
    let rounds: usize = tmc_harness::flag_value("--rounds", 500);
    tokio::runtime::Runtime::new()?.block_on(run(rounds))
}

async fn run(rounds: usize) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let dir = StackDir::new("bench-authz")?;
    let token = random_token("alice");
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, format!("{token},alice,alice-uid,\"team-a\"\n"))?;
    eprintln!("[bench] starting kcp");
    let kcp = KcpServer::start_with(
        &bins,
        dir.path(),
        &[format!("--token-auth-file={}", tokens.display())],
    )?;
    kcp.setup_provider_and_tenants("root:tmc", &["root:bench"])?;
    let k = kcp.kubectl_at("root:bench");
    k.apply("apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: east\nspec:\n  location: us-east\n")?;
    k.apply(&workspace_rbac(
        "alice",
        r#"{"apiGroups":["tmc.kcp.io"],"resources":["*"],"verbs":["get","list"]}"#,
    ))?;
    let tmc_bin = std::env::current_exe()?.with_file_name("tmc-server");
    let cached_dir = dir.path().join("cached");
    let uncached_dir = dir.path().join("uncached");
    std::fs::create_dir_all(&cached_dir)?;
    std::fs::create_dir_all(&uncached_dir)?;
    let cached = TmcServer::start(&tmc_bin, &kcp, &bins.kubectl, &cached_dir, &["--log-level=warn"])?;
    let uncached = TmcServer::start(
        &tmc_bin,
        &kcp,
        &bins.kubectl,
        &uncached_dir,
        &[
            "--log-level=warn",
            "--authentication-token-cache-ttl=0",
            "--authorization-cache-ttl=0",
            "--authorization-denied-cache-ttl=0",
        ],
    )?;
    let client_for = |tmc: &TmcServer, name: &str| {
        let path = dir.path().join(format!("{name}.kubeconfig"));
        write_kubeconfig(
            &path,
            &format!("https://127.0.0.1:{}", tmc.port),
            &tmc.ca_file(),
            &Credential::Token(token.clone()),
        )
        .map(|_| path)
    };
    let c_cached = client_from(&client_for(&cached, "cached")?).await?;
    let c_uncached = client_from(&client_for(&uncached, "uncached")?).await?;
    let object = "/services/tmc/clusters/root:bench/apis/tmc.kcp.io/v1alpha1/clusterregistrations/east";
    // Warm: connections, the index, the caches.
    for _ in 0..20 {
        get(&c_cached, object).await?;
        get(&c_uncached, object).await?;
        get(&c_cached, "/version").await?;
    }
    let (mut floor, mut hit, mut miss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Interleaved so machine noise hits all three alike.
        floor.push(get(&c_cached, "/version").await?);
        hit.push(get(&c_cached, object).await?);
        miss.push(get(&c_uncached, object).await?);
    }
    for v in [&mut floor, &mut hit, &mut miss] {
        v.sort();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = |name: &str, v: &[Duration]| {
        let (p50, p99) = (percentile(v, 0.5), percentile(v, 0.99));
        let (f50, f99) = (percentile(&floor, 0.5), percentile(&floor, 0.99));
        println!(
            "  {name:<34} p50 {:6.2} ms  p99 {:6.2} ms   (+{:5.2} / +{:5.2} ms over the floor)",
            ms(p50),
            ms(p99),
            ms(p50.saturating_sub(f50)),
            ms(p99.saturating_sub(f99)),
        );
    };
    println!("GET one ClusterRegistration as a token user, {rounds} rounds each, interleaved, keep-alive:");
    println!(
        "  {:<34} p50 {:6.2} ms  p99 {:6.2} ms",
        "floor: public /version",
        ms(percentile(&floor, 0.5)),
        ms(percentile(&floor, 0.99))
    );
    line("authorized, caches warm", &hit);
    line("authorized, no cache (2 reviews)", &miss);
    Ok(())
}
