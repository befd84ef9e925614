use std::collections::HashMap;

use super::*;

const TOKEN: &str = "s3cr3t-token-value";

/// A kubeconfig with two contexts; `east` uses files (relative and absolute), `west` inline data.
const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: east
preferences: {colors: true}
clusters:
- name: east-cluster
  cluster:
    server: https://east.example.com:6443
    certificate-authority: pki/ca.crt
    tls-server-name: api.east
- name: west-cluster
  cluster:
    server: https://west.example.com
    certificate-authority-data: V0VTVC1DQQ==
contexts:
- name: east
  context: {cluster: east-cluster, user: east-admin, namespace: apps}
- name: west
  context: {cluster: west-cluster, user: west-admin}
users:
- name: east-admin
  user:
    client-certificate: /etc/east/admin.crt
    client-key: admin.key
- name: west-admin
  user:
    token: s3cr3t-token-value
"#;

fn files() -> HashMap<PathBuf, Vec<u8>> {
    HashMap::from([
        (PathBuf::from("/home/me/kube/pki/ca.crt"), b"CA-PEM".to_vec()),
        (PathBuf::from("/etc/east/admin.crt"), b"CERT-PEM".to_vec()),
        (PathBuf::from("/home/me/kube/admin.key"), b"KEY-PEM".to_vec()),
        (PathBuf::from("/home/me/kube/token"), b"  file-token\n".to_vec()),
    ])
}

fn run(text: &str, context: Option<&str>) -> Result<Flattened, KubeconfigError> {
    let files = files();
    let read = move |p: &Path| {
        files
            .get(p)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    };
    flatten(text, Path::new("/home/me/kube/config.yaml"), context, &read)
}

fn err(text: &str, context: Option<&str>) -> String {
    run(text, context).expect_err("flatten must fail").to_string()
}

/// A kubeconfig with one cluster, one context and the given user body (YAML flow mapping).
fn with_user(user: &str) -> String {
    format!(
        "clusters: [{{name: c, cluster: {{server: 'https://10.0.0.1'}}}}]\n\
         contexts: [{{name: x, context: {{cluster: c, user: u}}}}]\n\
         users: [{{name: u, user: {user}}}]\n"
    )
}

#[test]
fn the_current_context_is_inlined_and_minified() {
    let f = run(TWO_CONTEXTS, None).unwrap();
    assert_eq!(
        (f.context.as_str(), f.cluster.as_str(), f.user.as_str()),
        ("east", "east-cluster", "east-admin")
    );
    let k = &f.kubeconfig;
    assert_eq!(k["apiVersion"], "v1");
    assert_eq!(k["kind"], "Config");
    assert_eq!(k["current-context"], "east");
    assert_eq!(
        k["preferences"],
        Value::Mapping(Mapping::new()),
        "preferences are the user's, not the cluster's"
    );
    for list in ["clusters", "contexts", "users"] {
        assert_eq!(k[list].as_sequence().unwrap().len(), 1, "{list}");
    }
    let cluster = &k["clusters"][0];
    assert_eq!(cluster["name"], "east-cluster");
    assert_eq!(cluster["cluster"]["server"], "https://east.example.com:6443");
    // Paths relative to the kubeconfig's directory, not the working directory.
    assert_eq!(
        cluster["cluster"]["certificate-authority-data"],
        base64(b"CA-PEM".to_vec())
    );
    assert!(cluster["cluster"].get("certificate-authority").is_none());
    assert_eq!(
        cluster["cluster"]["tls-server-name"], "api.east",
        "unknown fields survive"
    );
    let user = &k["users"][0]["user"];
    assert_eq!(user["client-certificate-data"], base64(b"CERT-PEM".to_vec()));
    assert_eq!(user["client-key-data"], base64(b"KEY-PEM".to_vec()));
    assert!(user.get("client-certificate").is_none() && user.get("client-key").is_none());
    assert_eq!(k["contexts"][0]["context"]["namespace"], "apps");
    assert!(!f.to_yaml().contains("west"), "{}", f.to_yaml());
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
}

#[test]
fn another_context_can_be_chosen() {
    let f = run(TWO_CONTEXTS, Some("west")).unwrap();
    assert_eq!(f.cluster, "west-cluster");
    assert_eq!(f.kubeconfig["users"][0]["user"]["token"], TOKEN);
    assert_eq!(
        f.kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"],
        "V0VTVC1DQQ=="
    );
    assert_eq!(f.kubeconfig["current-context"], "west");
    assert!(!f.to_yaml().contains("east"));
}

#[test]
fn base64_is_standard_padded() {
    assert_eq!(base64(b"CA-PEM".to_vec()), "Q0EtUEVN");
    assert_eq!(base64(b"ab".to_vec()), "YWI=");
}

#[test]
fn a_missing_context_lists_the_available_ones() {
    assert_eq!(
        err(TWO_CONTEXTS, Some("x")),
        "/home/me/kube/config.yaml has no context \"x\"; contexts: east, west"
    );
    let none = "clusters: []\nusers: []\n";
    assert_eq!(
        err(none, None),
        "/home/me/kube/config.yaml has no current-context; choose one with --context (contexts: (none))"
    );
}

#[test]
fn without_current_context_the_only_context_is_used_and_two_are_ambiguous() {
    let single = with_user("{token: t}");
    assert_eq!(run(&single, None).unwrap().context, "x");
    let two = TWO_CONTEXTS.replace("current-context: east\n", "");
    assert_eq!(
        err(&two, None),
        "/home/me/kube/config.yaml has no current-context; choose one with --context (contexts: east, west)"
    );
}

#[test]
fn dangling_references_are_named() {
    let text = TWO_CONTEXTS.replace("cluster: west-cluster, user", "cluster: gone, user");
    assert_eq!(
        err(&text, Some("west")),
        "context \"west\" in /home/me/kube/config.yaml refers to cluster \"gone\", which \
         /home/me/kube/config.yaml does not define"
    );
    let text = TWO_CONTEXTS.replace("user: west-admin}", "user: nobody}");
    assert!(err(&text, Some("west")).contains("refers to user \"nobody\""));
    let text = TWO_CONTEXTS.replace(
        "{cluster: west-cluster, user: west-admin}",
        "{cluster: west-cluster}",
    );
    assert!(err(&text, Some("west")).contains("names no user"));
}

#[test]
fn unreadable_referenced_files_are_reported_with_their_resolved_path() {
    let text = TWO_CONTEXTS.replace("client-key: admin.key", "client-key: missing.key");
    assert_eq!(
        err(&text, None),
        "/home/me/kube/config.yaml: user \"east-admin\" client-key file /home/me/kube/missing.key: \
         No such file or directory"
    );
}

#[test]
fn a_path_and_inline_data_together_are_rejected() {
    let text = with_user(
        "{client-certificate: /etc/east/admin.crt, client-certificate-data: Q0VSVA==, client-key-data: S0VZ}",
    );
    assert_eq!(
        err(&text, None),
        "user \"u\" in /home/me/kube/config.yaml sets both client-certificate and client-certificate-data; \
         keep one"
    );
}

#[test]
fn token_files_become_inline_tokens() {
    let f = run(&with_user("{tokenFile: token, token: old}"), None).unwrap();
    let user = &f.kubeconfig["users"][0]["user"];
    assert_eq!(user["token"], "file-token");
    assert!(user.get("tokenFile").is_none());
}

#[test]
fn the_server_must_be_a_url() {
    let text = with_user("{token: t}");
    assert_eq!(
        err(
            &text.replace("server: 'https://10.0.0.1'", "insecure-skip-tls-verify: true"),
            None
        ),
        "cluster \"c\" in /home/me/kube/config.yaml has no server URL"
    );
    for bad in ["10.0.0.1:6443", "ftp://10.0.0.1", "https://"] {
        let e = err(&text.replace("https://10.0.0.1", bad), None);
        assert!(e.contains("has an invalid server URL"), "{bad}: {e}");
    }
    // A server URL with a password in it is not echoed.
    let e = err(&text.replace("https://10.0.0.1", "ftp://me:pw@10.0.0.1"), None);
    assert!(!e.contains("pw"), "{e}");
}

#[test]
fn loopback_and_plain_http_servers_are_warned_about() {
    let text = with_user("{token: t}");
    let f = run(&text.replace("https://10.0.0.1", "http://127.0.0.1:8080"), None).unwrap();
    assert_eq!(f.warnings.len(), 2, "{:?}", f.warnings);
    assert!(f.warnings[0].contains("plain http"));
    assert!(f.warnings[1].contains("loopback server address (127.0.0.1)"));
    let f = run(&text.replace("https://10.0.0.1", "https://localhost:6443"), None).unwrap();
    assert!(f.warnings[0].contains("loopback"), "{:?}", f.warnings);
    let f = run(&text.replace("https://10.0.0.1", "https://[::1]:6443"), None).unwrap();
    assert!(f.warnings[0].contains("loopback"), "{:?}", f.warnings);
}

#[test]
fn credentials_are_required_and_complete() {
    let e = err(&with_user("{}"), None);
    assert_eq!(
        e,
        "user \"u\" in /home/me/kube/config.yaml has no credentials: it needs a token, a client \
         certificate and key, a username and password, or an exec plugin"
    );
    let e = err(&with_user("{client-certificate-data: Q0VSVA==}"), None);
    assert!(e.ends_with("has a client certificate but no client key"), "{e}");
    let e = err(&with_user("{client-key: admin.key}"), None);
    assert!(e.ends_with("has a client key but no client certificate"), "{e}");
    run(&with_user("{username: admin, password: pw}"), None).unwrap();
}

#[test]
fn exec_plugins_are_kept_with_a_warning() {
    let f = run(
        &with_user("{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}"),
        None,
    )
    .unwrap();
    assert_eq!(f.kubeconfig["users"][0]["user"]["exec"]["command"], "aws");
    assert!(
        f.warnings[0].contains("running \"aws\" (exec plugin)"),
        "{:?}",
        f.warnings
    );
}

#[test]
fn errors_never_quote_the_document() {
    // A YAML syntax error right after a secret: the message has only a position.
    let text = format!("users:\n- name: u\n  user:\n    token: {TOKEN}\n   bad: [\n");
    let e = err(&text, None);
    assert!(
        e.starts_with("/home/me/kube/config.yaml is not valid YAML (line "),
        "{e}"
    );
    assert!(!e.contains(TOKEN), "{e}");
    // Wrong shapes name the list, not its contents.
    assert_eq!(
        err(&format!("users: {TOKEN}\n"), Some("x")),
        "/home/me/kube/config.yaml has no context \"x\"; contexts: (none)"
    );
    let e = err(
        &format!("contexts: [{{name: x, context: {{cluster: c, user: u}}}}]\nusers: {TOKEN}\n"),
        None,
    );
    assert_eq!(
        e,
        "/home/me/kube/config.yaml is not a kubeconfig: users is not a list"
    );
    assert_eq!(
        err(TOKEN, None),
        "/home/me/kube/config.yaml is not a kubeconfig: the document is not a mapping"
    );
}

#[test]
fn flatten_file_reads_relative_references_next_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pki")).unwrap();
    std::fs::write(dir.path().join("pki/ca.crt"), "REAL-CA").unwrap();
    let path = dir.path().join("east.yaml");
    std::fs::write(
        &path,
        "clusters: [{name: c, cluster: {server: 'https://10.0.0.1', certificate-authority: pki/ca.crt}}]\n\
         contexts: [{name: x, context: {cluster: c, user: u}}]\n\
         users: [{name: u, user: {token: t}}]\n",
    )
    .unwrap();
    let f = flatten_file(&path, None).unwrap();
    assert_eq!(
        f.kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"],
        base64(b"REAL-CA".to_vec())
    );
    let missing = flatten_file(&dir.path().join("nope.yaml"), None)
        .unwrap_err()
        .to_string();
    assert!(missing.starts_with("cannot read "), "{missing}");
}
