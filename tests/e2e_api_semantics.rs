//! kubectl against tmc-server behaves as against kube-apiserver: the command
//! matrix of the API-semantics issue, run with the real kubectl against
//! tmc-server backed by a real kcp, plus a kube-rs watcher that survives a
//! burst of changes and a forced 410 and ends equal to what kcp holds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use serde_json::Value;
use tmc_harness::{components, KcpServer, Kubectl, StackDir, TmcServer};

const PROVIDER: &str = "root:tmc";
const TENANT: &str = "root:team-a";

fn registration(name: &str, location: &str, tier: &str) -> String {
    format!(
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: {name}\n  labels:\n    tier: {tier}\nspec:\n  location: {location}\n"
    )
}

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

/// One row of the command matrix: what was run and whether it behaved.
struct Matrix(Vec<(String, bool)>);

impl Matrix {
    fn check(&mut self, what: &str, ok: bool) {
        eprintln!("[matrix] {} {what}", if ok { "ok  " } else { "FAIL" });
        self.0.push((what.to_owned(), ok));
    }
}

#[test]
fn kubectl_behaves_as_against_kube_apiserver() {
    let dir = StackDir::new("api-semantics").expect("temp dir");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Err(e) = rt.block_on(scenario(&dir)) {
        panic!("{e:#}");
    }
}

async fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let kcp = KcpServer::start(&bins, dir.path())?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TENANT])?;
    let in_kcp = kcp.kubectl_at(TENANT);
    in_kcp.apply(&registration("east", "us-east", "prod"))?;
    in_kcp.apply(&registration("west", "us-west", "dev"))?;
    in_kcp.apply(&registration("north", "eu-north", "prod"))?;
    in_kcp.ok(&["label", "cr", "north", "legacy=true"])?;

    let mut tmc = TmcServer::start(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[],
    )?;
    let k = tmc.kubectl_at(TENANT);
    let mut m = Matrix(Vec::new());

    // get, in every output format.
    let table = k.ok(&["get", "clusterregistrations"])?;
    m.check(
        "get (table)",
        table.lines().count() == 4 && table.contains("LOCATION"),
    );
    let wide = k.ok(&["get", "cr", "-o", "wide"])?;
    m.check(
        "get -o wide",
        wide.lines().next().unwrap_or_default().contains("VERSION"),
    );
    let yaml = k.ok(&["get", "cr", "east", "-o", "yaml"])?;
    m.check("get -o yaml", yaml.contains("location: us-east"));
    let json: Value = serde_json::from_str(&k.ok(&["get", "cr", "-o", "json"])?)?;
    m.check("get -o json", names(&json) == ["east", "north", "west"]);
    for (selector, want) in [
        ("tier in (prod)", vec!["east", "north"]),
        ("tier notin (prod)", vec!["west"]),
        ("!legacy", vec!["east", "west"]),
        ("tier=prod,legacy", vec!["north"]),
    ] {
        let got = names(&k.get_json(&["cr", "-l", selector])?);
        m.check(&format!("get -l '{selector}'"), got == want);
    }
    let by_name = names(&k.get_json(&["cr", "--field-selector", "metadata.name=west"])?);
    m.check("get --field-selector metadata.name=west", by_name == ["west"]);
    let bad_field = k.run(&["get", "cr", "--field-selector", "spec.location=x"], None);
    m.check(
        "get --field-selector spec.location (400)",
        !bad_field.success && bad_field.stderr.contains("BadRequest"),
    );
    let chunked = k.ok(&["get", "cr", "--chunk-size=1", "-o", "name"])?;
    m.check(
        "get --chunk-size=1 (limit/continue)",
        chunked.lines().count() == 3,
    );
    let missing = k.run(&["get", "cr", "nope"], None);
    m.check(
        "get missing name (NotFound)",
        missing
            .stderr
            .contains(r#"Error from server (NotFound): clusterregistrations.tmc.kcp.io "nope" not found"#),
    );

    // get -w sees create, update and delete made through kcp.
    let watch_out = watch_lines(&k, &["get", "cr", "-w", "--output-watch-events", "--no-headers"]);
    std::thread::sleep(Duration::from_secs(2));
    in_kcp.apply(&registration("south", "eu-south", "dev"))?;
    in_kcp.ok(&["label", "cr", "south", "seen=yes"])?;
    in_kcp.ok(&["delete", "cr", "south"])?;
    let lines = collect_until(&watch_out.1, Duration::from_secs(20), |ls| {
        ls.iter().any(|l| l.starts_with("DELETED") && l.contains("south"))
    });
    drop(watch_out.0);
    let has = |ev: &str| lines.iter().any(|l| l.starts_with(ev) && l.contains("south"));
    m.check(
        "get -w: ADDED, MODIFIED, DELETED from kcp",
        has("ADDED") && has("MODIFIED") && has("DELETED"),
    );

    // Writes through tmc-server are forwarded to kcp.
    let doc = registration("apply-me", "ap-south", "dev");
    m.check("apply (client-side, create)", k.apply(&doc).is_ok());
    m.check("apply (client-side, unchanged)", k.apply(&doc).is_ok());
    let ssa = k.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        Some(&doc.replace("ap-south", "ap-east")),
    );
    m.check("apply --server-side", ssa.is_ok());
    let in_kcp_now = in_kcp.get_json(&["cr", "apply-me"])?;
    m.check("  …stored in kcp", in_kcp_now["spec"]["location"] == "ap-east");
    let dry = k.ok_stdin(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&registration("dry", "x", "dev")),
    );
    m.check(
        "apply --dry-run=server (nothing stored)",
        dry.is_ok() && !in_kcp.run(&["get", "cr", "dry"], None).success,
    );
    let diff = k.run(&["diff", "-f", "-"], Some(&doc.replace("ap-south", "ap-west")));
    m.check(
        "diff (shows the change)",
        diff.stdout.contains("ap-west") && !diff.stderr.contains("error"),
    );
    m.check("label", k.ok(&["label", "cr", "apply-me", "team=a"]).is_ok());
    m.check(
        "patch --type=merge",
        k.ok(&[
            "patch",
            "cr",
            "apply-me",
            "--type=merge",
            "-p",
            r#"{"spec":{"location":"patched"}}"#,
        ])
        .is_ok()
            && in_kcp.get_json(&["cr", "apply-me"])?["spec"]["location"] == "patched",
    );
    let explain = k.run(&["explain", "workloadplacement.spec.strategy"], None);
    m.check(
        "explain workloadplacement.spec.strategy",
        explain.success && explain.stdout.contains("strategy"),
    );
    m.check(
        "delete --wait",
        k.ok(&["delete", "cr", "apply-me", "--wait"]).is_ok(),
    );
    m.check(
        "  …gone from kcp",
        !in_kcp.run(&["get", "cr", "apply-me"], None).success,
    );

    // A kube-rs watcher through a burst of changes and a forced 410.
    let client = tmc.kube_client(TENANT).await?;
    let ar = kcp_tmc::resources::served()[0].api_resource();
    let api: Api<DynamicObject> = Api::all_with(client, &ar);
    let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    let reader = writer.as_reader();
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let watching = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    reader.wait_until_ready().await?;
    for i in 0..20 {
        in_kcp.apply(&registration(&format!("burst-{i}"), "burst", "dev"))?;
    }
    for i in 0..5 {
        in_kcp.ok(&["delete", "cr", &format!("burst-{i}")])?;
    }
    // Kill tmc-server, change kcp while it is down, start it again: the
    // watcher's resourceVersion predates the new server's history (410).
    tmc.kill();
    for i in 5..10 {
        in_kcp.ok(&["delete", "cr", &format!("burst-{i}")])?;
    }
    in_kcp.apply(&registration("after-restart", "x", "dev"))?;
    tmc.restart()?;
    let want: BTreeMap<String, String> = in_kcp.get_json(&["cr"])?["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_owned(),
                i["metadata"]["resourceVersion"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let converged = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let got: BTreeMap<String, String> = reader
                .state()
                .iter()
                .map(|o| {
                    (
                        o.metadata.name.clone().unwrap(),
                        o.metadata.resource_version.clone().unwrap(),
                    )
                })
                .collect();
            if got == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    watching.abort();
    let restarted_log = std::fs::read_to_string(&tmc.process.log)?;
    m.check(
        "kube-rs watcher got 410 (too old resource version) after the restart",
        restarted_log.contains("too old resource version"),
    );
    m.check(
        "kube-rs watcher: burst + forced 410 → store equals kcp",
        converged.is_ok(),
    );

    // Discovery and OpenAPI documents carry ETags; a matching If-None-Match gets 304.
    let raw = tmc.kube_client(TENANT).await?;
    let aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    for (path, accept) in [("/apis", aggregated), ("/openapi/v3", "application/json")] {
        let (code, etag, ctype) = conditional_get(&raw, path, accept, None).await?;
        let (again, _, _) = conditional_get(&raw, path, accept, etag.as_deref()).await?;
        m.check(
            &format!("GET {path}: 200 with ETag ({ctype}), then 304 with If-None-Match"),
            code == 200 && etag.is_some() && again == 304,
        );
    }

    // A streaming-list watcher (sendInitialEvents=true): kube-rs needs the
    // initial-events-end bookmark to finish its initial list.
    let streaming: Api<DynamicObject> = Api::all_with(tmc.kube_client(TENANT).await?, &ar);
    let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    let streamed = writer.as_reader();
    let stream = reflector(
        writer,
        watcher(streaming, watcher::Config::default().streaming_lists()),
    )
    .default_backoff()
    .applied_objects();
    let streaming_task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    let ready = tokio::time::timeout(Duration::from_secs(30), streamed.wait_until_ready()).await;
    let count = streamed.state().len();
    streaming_task.abort();
    m.check(
        &format!("kube-rs streaming-list watcher (sendInitialEvents): {count} objects"),
        ready.is_ok() && count == want.len(),
    );

    let failed: Vec<&str> =
        m.0.iter()
            .filter(|(_, ok)| !ok)
            .map(|(w, _)| w.as_str())
            .collect();
    eprintln!("[matrix] {} checks, {} failed", m.0.len(), failed.len());
    anyhow::ensure!(failed.is_empty(), "kubectl matrix failures: {failed:?}");
    tmc.assert_log_free_of(&kcp, &[])?;
    Ok(())
}

/// GET with an optional If-None-Match; returns (status, ETag, Content-Type).
async fn conditional_get(
    client: &kube::Client,
    path: &str,
    accept: &str,
    if_none_match: Option<&str>,
) -> anyhow::Result<(u16, Option<String>, String)> {
    let mut req = http::Request::get(path).header("Accept", accept);
    if let Some(tag) = if_none_match {
        req = req.header("If-None-Match", tag);
    }
    let resp = client
        .send(req.body(Vec::<u8>::new())?.map(kube::client::Body::from))
        .await?;
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok((
        resp.status().as_u16(),
        header("etag"),
        header("content-type").unwrap_or_default(),
    ))
}

/// Runs a long-lived kubectl (e.g. `get -w`) and streams its stdout lines.
fn watch_lines(k: &Kubectl, args: &[&str]) -> (KillOnDrop, mpsc::Receiver<String>) {
    let mut cmd = Command::new(&k.binary);
    cmd.arg("--kubeconfig").arg(&k.kubeconfig);
    if let Some(s) = &k.server {
        cmd.arg("--server").arg(s);
    }
    let mut child = cmd
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl");
    let out = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (KillOnDrop(child), rx)
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn collect_until(
    rx: &mpsc::Receiver<String>,
    timeout: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let start = std::time::Instant::now();
    let mut lines = Vec::new();
    while start.elapsed() < timeout && !done(&lines) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
        }
    }
    lines
}
