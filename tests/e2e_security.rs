//! Security end to end, through a real kcp-front-proxy (same kcp release)
//! configured with tmc-server's entry from `deploy/`, and directly:
//! tenants see only their own workspace, forged identity headers get 401, a
//! client certificate from an unknown CA is refused during the handshake, a
//! users × workspaces × verbs × resources matrix has zero unexpected answers,
//! the serving certificate rotates under load without a failed request, and
//! no secret reaches tmc-server's log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request};
use tmc_harness::credentials::{
    client_from, random_token, served_certificate_sha256, workspace_rbac, write_kubeconfig,
};
use tmc_harness::{
    components, Credential, FrontProxy, FrontProxyConfig, KcpServer, ServingFiles, StackDir, TmcServer,
};

const PROVIDER: &str = "root:tmc";
const TEAM_A: &str = "root:team-a";
const TEAM_B: &str = "root:team-b";
const GROUP_PATH: &str = "/apis/tmc.kcp.io/v1alpha1";

#[test]
fn tenants_see_only_their_workspace_through_the_front_proxy() {
    let dir = StackDir::new("security").expect("temp dir");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Err(e) = rt.block_on(scenario(&dir)) {
        panic!("{e:#}");
    }
}

/// Runs `tmc-certs` (the one command that makes a deployment's PKI).
fn tmc_certs(args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tmc-certs"))
        .args(args)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "tmc-certs {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Everyone the matrix asks as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Alice,
    Bob,
    Carol,
    Anonymous,
}

/// What `who` may do by the RBAC the scenario sets up.
fn expected_allowed(who: Who, workspace: &str, verb: &str) -> bool {
    let read = matches!(verb, "get" | "list" | "watch");
    match who {
        Who::Admin => true,
        Who::Alice => workspace == TEAM_A,
        Who::Bob => workspace == TEAM_B && read,
        Who::Carol | Who::Anonymous => false,
    }
}

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn cert(&self, user: &str) -> Credential {
        Credential::Cert {
            cert: self.file(&format!("{user}.crt")),
            key: self.file(&format!("{user}.key")),
        }
    }
}

/// RBAC letting `user` enter the workspace and use `verbs` on TMC's resources there.
fn rbac(user: &str, verbs: &[&str]) -> String {
    let verbs = verbs
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(",");
    workspace_rbac(
        user,
        &format!(r#"{{"apiGroups":["tmc.kcp.io"],"resources":["*"],"verbs":[{verbs}]}}"#),
    )
}

async fn scenario(dir: &StackDir) -> anyhow::Result<()> {
    let bins = components::ensure()?;
    let pki = Pki {
        dir: dir.path().join("pki"),
    };
    let pki_dir = pki.dir.to_str().expect("utf-8 path").to_owned();
    let init = tmc_certs(&["init", "--dir", &pki_dir])?;
    anyhow::ensure!(!init.contains("PRIVATE KEY"), "tmc-certs printed a key");
    tmc_certs(&["user", "--dir", &pki_dir, "--name", "alice", "--group", "team-a"])?;
    tmc_certs(&["user", "--dir", &pki_dir, "--name", "carol"])?;
    // A second, unrelated PKI: its certificates must be refused.
    let stranger_dir = dir.path().join("stranger-pki");
    let stranger = stranger_dir.to_str().expect("utf-8 path");
    tmc_certs(&["init", "--dir", stranger])?;
    tmc_certs(&["user", "--dir", stranger, "--name", "alice", "--group", "team-a"])?;

    let (bob_token, carol_token) = (random_token("bob"), random_token("carol"));
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(
        &tokens,
        format!("{bob_token},bob,bob-uid,\"team-b\"\n{carol_token},carol,carol-uid,\"\"\n"),
    )?;
    let kcp = KcpServer::start_with(
        &bins,
        dir.path(),
        &[
            format!("--client-ca-file={}", pki.file("client-ca.crt").display()),
            format!("--token-auth-file={}", tokens.display()),
            format!(
                "--requestheader-client-ca-file={}",
                pki.file("requestheader-ca.crt").display()
            ),
            "--requestheader-allowed-names=kcp-front-proxy".into(),
            "--requestheader-username-headers=X-Remote-User".into(),
            "--requestheader-group-headers=X-Remote-Group".into(),
            "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
        ],
    )?;
    let admin_token = kcp.admin_token()?;
    kcp.setup_provider_and_tenants(PROVIDER, &[TEAM_A, TEAM_B])?;
    for (ws, name) in [(TEAM_A, "east-a"), (TEAM_B, "east-b")] {
        kcp.kubectl_at(ws).apply(&format!(
            "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata:\n  name: {name}\nspec:\n  location: us-east\n"
        ))?;
    }
    kcp.kubectl_at(TEAM_A).apply(&rbac("alice", &["*"]))?;
    kcp.kubectl_at(TEAM_B)
        .apply(&rbac("bob", &["get", "list", "watch"]))?;
    // Carol may enter team-a but holds no right on TMC's resources there.
    kcp.kubectl_at(TEAM_A).apply(&rbac("carol", &["none"]))?;

    let tmc = TmcServer::start_with_cert(
        env!("CARGO_BIN_EXE_tmc-server").as_ref(),
        &kcp,
        &bins.kubectl,
        dir.path(),
        &[
            &format!("--client-ca-file={}", pki.file("client-ca.crt").display()),
            &format!(
                "--requestheader-client-ca-file={}",
                pki.file("requestheader-ca.crt").display()
            ),
            "--requestheader-allowed-names=kcp-front-proxy",
            "--tls-reload-interval=500ms",
        ],
        Some(ServingFiles {
            ca: pki.file("serving-ca.crt"),
            cert: pki.file("serving.crt"),
            key: pki.file("serving.key"),
        }),
    )?;
    // The proxy gets its own copy of a serving certificate (tmc-server's
    // files are rotated below) and knows the admin's token too.
    std::fs::copy(pki.file("serving.crt"), pki.file("proxy-serving.crt"))?;
    std::fs::copy(pki.file("serving.key"), pki.file("proxy-serving.key"))?;
    let proxy_tokens = dir.path().join("proxy-tokens.csv");
    std::fs::write(
        &proxy_tokens,
        format!(
            "{}{admin_token},kcp-admin,kcp-admin,\"system:kcp:admin\"\n",
            std::fs::read_to_string(&tokens)?
        ),
    )?;
    let proxy = FrontProxy::start(
        &bins,
        &kcp,
        dir.path(),
        &FrontProxyConfig {
            tmc_url: format!("https://127.0.0.1:{}", tmc.port),
            tmc_serving_ca: pki.file("serving-ca.crt"),
            proxy_client_cert: pki.file("front-proxy-client.crt"),
            proxy_client_key: pki.file("front-proxy-client.key"),
            serving_cert: pki.file("proxy-serving.crt"),
            serving_key: pki.file("proxy-serving.key"),
            client_ca: pki.file("client-ca.crt"),
            token_file: Some(proxy_tokens),
        },
    )?;

    let mut failures = Vec::new();
    let kubeconfigs = dir.path().join("kubeconfigs");
    std::fs::create_dir_all(&kubeconfigs)?;

    // 1. What a tenant sees with plain kubectl through the front proxy.
    let through_proxy = |who: &str, ws: &str, cred: &Credential| -> anyhow::Result<tmc_harness::Kubectl> {
        let path = kubeconfigs.join(format!("{who}-{}.kubeconfig", ws.replace(':', "_")));
        write_kubeconfig(
            &path,
            &format!("{}/services/tmc/clusters/{ws}", proxy.origin()),
            &pki.file("serving-ca.crt"),
            cred,
        )?;
        Ok(tmc_harness::Kubectl {
            binary: bins.kubectl.clone(),
            kubeconfig: path,
            server: None,
        })
    };
    let alice_cert = pki.cert("alice");
    let bob_cred = Credential::Token(bob_token.clone());
    for (who, cred, own, own_object, other) in [
        ("alice", &alice_cert, TEAM_A, "east-a", TEAM_B),
        ("bob", &bob_cred, TEAM_B, "east-b", TEAM_A),
    ] {
        let k = through_proxy(who, own, cred)?;
        let out = k.run(&["get", "clusterregistrations", "-o", "name"], None);
        println!(
            "{who} via kcp-front-proxy, {own}: kubectl get clusterregistrations -o name → {}",
            out.stdout.trim()
        );
        if !out.success || out.stdout.trim() != format!("clusterregistration.tmc.kcp.io/{own_object}") {
            failures.push(format!("{who} in {own}: {} {}", out.stdout, out.stderr));
        }
        let k = through_proxy(who, other, cred)?;
        let out = k.run(&["get", "clusterregistrations", "-o", "name"], None);
        println!("{who} via kcp-front-proxy, {other}: {}", out.stderr.trim());
        if out.success || !out.stderr.contains("Forbidden") {
            failures.push(format!(
                "{who} in {other} was not forbidden: {} {}",
                out.stdout, out.stderr
            ));
        }
    }

    // 2. Forged identity headers and foreign certificates, directly at tmc-server.
    let direct_origin = format!("https://127.0.0.1:{}", tmc.port);
    let client_as = |name: &str, origin: &str, ca: &Path, cred: &Credential| -> anyhow::Result<PathBuf> {
        let path = kubeconfigs.join(format!("{name}.kubeconfig"));
        write_kubeconfig(&path, origin, ca, cred)?;
        Ok(path)
    };
    let team_a_list = format!("/services/tmc/clusters/{TEAM_A}{GROUP_PATH}/clusterregistrations");
    let anonymous = client_from(&client_as(
        "anonymous-direct",
        &direct_origin,
        &pki.file("serving-ca.crt"),
        &Credential::Anonymous,
    )?)
    .await?;
    let forged = send(
        &anonymous,
        Method::GET,
        &team_a_list,
        &[
            ("X-Remote-User", "kcp-admin"),
            ("X-Remote-Group", "system:kcp:admin"),
        ],
        None,
    )
    .await?;
    println!(
        "forged X-Remote-User without the proxy's certificate → {}",
        forged.0
    );
    if forged.0 != 401 {
        failures.push(format!("forged X-Remote-User got {} {}", forged.0, forged.1));
    }
    let carol_direct = client_from(&client_as(
        "carol-direct",
        &direct_origin,
        &pki.file("serving-ca.crt"),
        &Credential::Token(carol_token.clone()),
    )?)
    .await?;
    let forged = send(
        &carol_direct,
        Method::GET,
        &team_a_list,
        &[("X-Remote-User", "alice"), ("X-Remote-Group", "system:masters")],
        None,
    )
    .await?;
    if forged.0 != 403 {
        failures.push(format!(
            "carol forging alice directly got {} (want 403: she is carol)",
            forged.0
        ));
    }
    // Through the proxy, carol adds privileged groups (kcp-front-proxy v0.28.1
    // passes a client's X-Remote-Group on): tmc-server still refuses.
    let carol_proxy = client_from(&client_as(
        "carol-proxy",
        &proxy.origin(),
        &pki.file("serving-ca.crt"),
        &Credential::Token(carol_token.clone()),
    )?)
    .await?;
    let forged = send(
        &carol_proxy,
        Method::GET,
        &team_a_list,
        &[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "system:masters"),
            ("X-Remote-Group", "system:kcp:admin"),
        ],
        None,
    )
    .await?;
    println!(
        "carol via the proxy forging X-Remote-User: alice and privileged groups → {}",
        forged.0
    );
    if forged.0 != 403 {
        failures.push(format!(
            "carol forging through the proxy got {} {}",
            forged.0, forged.1
        ));
    }
    let stranger_client = client_from(&client_as(
        "stranger-alice",
        &direct_origin,
        &pki.file("serving-ca.crt"),
        &Credential::Cert {
            cert: stranger_dir.join("alice.crt"),
            key: stranger_dir.join("alice.key"),
        },
    )?)
    .await?;
    match send(&stranger_client, Method::GET, &team_a_list, &[], None).await {
        Ok((code, _)) => failures.push(format!("a certificate from an unknown CA got HTTP {code}")),
        Err(e) => println!("client certificate from an unknown CA → refused at the TLS layer ({e})"),
    }

    // 3. The matrix: users × workspaces × verbs × resources, direct and via the proxy.
    let counts = run_matrix(
        &pki,
        &tmc,
        &proxy,
        &kubeconfigs,
        [&admin_token, &bob_token, &carol_token],
        &mut failures,
    )
    .await?;
    println!(
        "matrix: {} requests, {} allowed as expected, {} denied as expected, {} unexpected allows, {} unexpected denies",
        counts.total, counts.allowed, counts.denied, counts.unexpected_allows, counts.unexpected_denies
    );

    // 4. Rotate the serving certificate under load.
    rotate_under_load(&pki, &tmc, &mut failures).await?;

    // 5. Nothing secret in the logs.
    let mut secrets = vec![bob_token.as_str(), carol_token.as_str()];
    let key_texts: Vec<String> = ["alice.key", "serving.key", "front-proxy-client.key"]
        .iter()
        .map(|f| std::fs::read_to_string(pki.file(f)).unwrap_or_default())
        .collect();
    let key_bodies: Vec<&str> = key_texts.iter().filter_map(|k| k.lines().nth(1)).collect();
    secrets.extend(key_bodies);
    if let Err(e) = tmc.assert_log_free_of(&kcp, &secrets) {
        failures.push(e.to_string());
    }
    anyhow::ensure!(failures.is_empty(), "failures:\n  {}", failures.join("\n  "));
    Ok(())
}

/// One raw request: status and body text; `Err` when no HTTP answer came.
async fn send(
    client: &kube::Client,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> anyhow::Result<(u16, String)> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.unwrap_or_default().into_bytes())?;
    let resp = client.send(req.map(kube::client::Body::from)).await?;
    let code = resp.status().as_u16();
    if code == 200 && path.contains("watch=true") {
        return Ok((code, String::new()));
    }
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await?
        .to_bytes();
    Ok((code, String::from_utf8_lossy(&bytes).into_owned()))
}

#[derive(Default)]
struct Counts {
    total: usize,
    allowed: usize,
    denied: usize,
    unexpected_allows: usize,
    unexpected_denies: usize,
}

async fn run_matrix(
    pki: &Pki,
    tmc: &TmcServer,
    proxy: &FrontProxy,
    kubeconfigs: &Path,
    [admin_token, bob_token, carol_token]: [&String; 3],
    failures: &mut Vec<String>,
) -> anyhow::Result<Counts> {
    let direct = format!("https://127.0.0.1:{}", tmc.port);
    let identities = [
        (Who::Admin, Credential::Token(admin_token.clone())),
        (Who::Alice, pki.cert("alice")),
        (Who::Bob, Credential::Token(bob_token.clone())),
        (Who::Carol, Credential::Token(carol_token.clone())),
        (Who::Anonymous, Credential::Anonymous),
    ];
    let mut counts = Counts::default();
    let mut n = 0;
    for (route, origin) in [("direct", direct.as_str()), ("proxy", &proxy.origin())] {
        for (who, cred) in &identities {
            let path = kubeconfigs.join(format!("matrix-{route}-{who:?}.kubeconfig"));
            write_kubeconfig(&path, origin, &pki.file("serving-ca.crt"), cred)?;
            let client = client_from(&path).await?;
            for ws in [TEAM_A, TEAM_B, PROVIDER, "*"] {
                for resource in ["clusterregistrations", "workloadplacements"] {
                    for verb in ["list", "get", "watch", "create", "delete"] {
                        n += 1;
                        let base = format!("/services/tmc/clusters/{ws}{GROUP_PATH}/{resource}");
                        let kind = if resource == "clusterregistrations" {
                            "ClusterRegistration"
                        } else {
                            "WorkloadPlacement"
                        };
                        let (method, path, body) = match verb {
                            "list" => (Method::GET, base, None),
                            "watch" => (Method::GET, format!("{base}?watch=true&timeoutSeconds=1"), None),
                            "get" => (Method::GET, format!("{base}/east-a"), None),
                            "delete" => (Method::DELETE, format!("{base}/absent-{n}"), None),
                            _ => (
                                Method::POST,
                                format!("{base}?dryRun=All"),
                                Some(format!(
                                    r#"{{"apiVersion":"tmc.kcp.io/v1alpha1","kind":"{kind}","metadata":{{"name":"m-{n}"}},"spec":{{"location":"x"}}}}"#
                                )),
                            ),
                        };
                        let (code, text) = send(&client, method, &path, &[], body).await?;
                        let allowed = !(code == 401 || code == 403);
                        let want = expected_allowed(*who, ws, verb);
                        counts.total += 1;
                        if who == &Who::Anonymous && code != 401 {
                            failures.push(format!("{route} anonymous {verb} {resource} in {ws}: {code}"));
                        }
                        match (allowed, want) {
                            (true, true) => counts.allowed += 1,
                            (false, false) => counts.denied += 1,
                            (true, false) => {
                                counts.unexpected_allows += 1;
                                failures.push(format!(
                                    "UNEXPECTED ALLOW {route} {who:?} {verb} {resource} in {ws}: {code} {text}"
                                ));
                            }
                            (false, true) => {
                                counts.unexpected_denies += 1;
                                failures.push(format!(
                                    "unexpected deny {route} {who:?} {verb} {resource} in {ws}: {code} {text}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(counts)
}

/// Keeps requests flowing (each on a new connection) while the serving
/// certificate is re-issued three times; every request must succeed and new
/// connections must see each new certificate.
async fn rotate_under_load(pki: &Pki, tmc: &TmcServer, failures: &mut Vec<String>) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let ca = pki.file("serving-ca.crt");
    let port = tmc.port;
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (stop, ok, failed, seen, ca) =
            (stop.clone(), ok.clone(), failed.clone(), seen.clone(), ca.clone());
        workers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match served_certificate_sha256(port, &ca) {
                    Ok(fp) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        let mut s = seen.lock().expect("lock");
                        if s.last() != Some(&fp) {
                            s.push(fp);
                        }
                    }
                    Err(e) => {
                        failed.fetch_add(1, Ordering::SeqCst);
                        eprintln!("request during rotation failed: {e:#}");
                    }
                }
            }
        }));
    }
    let pki_dir = pki.dir.to_str().expect("utf-8 path").to_owned();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tmc_certs(&["rotate-serving", "--dir", &pki_dir])?;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
    let distinct = {
        let mut s = seen.lock().expect("lock").clone();
        s.sort();
        s.dedup();
        s.len()
    };
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    println!(
        "certificate rotation under load: {ok} requests on new connections, {failed} failed, {distinct} distinct certificates served"
    );
    if failed > 0 || distinct < 4 {
        failures.push(format!(
            "rotation: {failed} failed requests, {distinct} distinct certificates (want 0 and 4)"
        ));
    }
    Ok(())
}
