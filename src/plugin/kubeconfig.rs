//! Flattening and minifying a physical cluster's kubeconfig for storage in a Secret.
//!
//! tmc-server reads the kubeconfig from kcp, on another machine than the one the user ran
//! `register` on, so the stored copy must be self-contained: file references
//! (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`) are inlined, and
//! only the chosen context with its cluster and user is kept, as
//! `kubectl config view --flatten --minify` does. Relative paths are resolved against the
//! kubeconfig file's directory, like kubectl.
//!
//! The work is done on `serde_yaml` values rather than kube-rs' typed `Kubeconfig` so fields this
//! code does not know (extensions, `proxy-url`, `tls-server-name`, exec settings) survive
//! untouched. Errors name the file, context, cluster, user and field, never a value: the values
//! are credentials.

use std::io;
use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use serde_yaml::{Mapping, Value};

/// Why a kubeconfig cannot be registered. Messages never contain credential bytes.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The kubeconfig file itself cannot be read.
    #[error("cannot read {file}: {source}")]
    Open { file: String, source: io::Error },
    /// The file is not YAML. Only the position is reported: serde_yaml's message could quote
    /// the offending (secret) text.
    #[error("{file} is not valid YAML{position}")]
    Syntax { file: String, position: String },
    /// The YAML does not have a kubeconfig's shape.
    #[error("{file} is not a kubeconfig: {what}")]
    Shape { file: String, what: String },
    /// `--context` names a context the file does not have.
    #[error("{file} has no context {context:?}; contexts: {available}")]
    NoSuchContext {
        file: String,
        context: String,
        available: String,
    },
    /// No `--context` and the file has no `current-context` (and several contexts).
    #[error("{file} has no current-context; choose one with --context (contexts: {available})")]
    NoCurrentContext { file: String, available: String },
    /// The context names a cluster or user missing from the file (or names none).
    #[error("context {context:?} in {file} {problem}")]
    Dangling {
        file: String,
        context: String,
        problem: String,
    },
    /// A file the kubeconfig references cannot be read.
    #[error("{file}: {owner} {field} file {path}: {source}")]
    Read {
        file: String,
        owner: String,
        field: &'static str,
        path: String,
        source: io::Error,
    },
    /// The chosen cluster or user is incomplete or contradictory.
    #[error("{owner} in {file} {problem}")]
    Invalid {
        file: String,
        owner: String,
        problem: String,
    },
}

/// The result of [`flatten`]: a self-contained single-context kubeconfig and what was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Flattened {
    /// The kubeconfig to store: one cluster, one user, one context, no file references.
    pub kubeconfig: Value,
    pub context: String,
    pub cluster: String,
    pub user: String,
    /// Things that will work here but may not work from tmc-server (loopback servers, exec
    /// plugins); the caller prints them to stderr.
    pub warnings: Vec<String>,
}

impl Flattened {
    /// The kubeconfig as YAML text, the form kubectl and kube-rs read from the Secret.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(&self.kubeconfig).expect("a YAML value serializes")
    }
}

/// Reads `path` and flattens it; see [`flatten`].
pub fn flatten_file(path: &Path, context: Option<&str>) -> Result<Flattened, KubeconfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KubeconfigError::Open { file, source })?;
    flatten(&text, path, context, &|p| std::fs::read(p))
}

/// Flattens and minifies kubeconfig `text` read from `file`, keeping `context` (default: the
/// file's current context, or its only context). `read_file` reads referenced files; relative
/// references are joined to `file`'s directory first.
pub fn flatten(
    text: &str,
    file: &Path,
    context: Option<&str>,
    read_file: &dyn Fn(&Path) -> io::Result<Vec<u8>>,
) -> Result<Flattened, KubeconfigError> {
    let name = file.display().to_string();
    let doc: Value = serde_yaml::from_str(text).map_err(|e| KubeconfigError::Syntax {
        file: name.clone(),
        position: e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
            .unwrap_or_default(),
    })?;
    let shape = |what: &str| KubeconfigError::Shape {
        file: name.clone(),
        what: what.to_owned(),
    };
    if !doc.is_mapping() {
        return Err(shape("the document is not a mapping"));
    }
    let contexts = named_entries(&doc, "contexts", "context").map_err(|w| shape(&w))?;
    let available = if contexts.is_empty() {
        "(none)".to_owned()
    } else {
        contexts
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let current = doc
        .get("current-context")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty());
    let context_name = match (context, current, contexts.as_slice()) {
        (Some(c), _, _) => c.to_owned(),
        (None, Some(c), _) => c.to_owned(),
        (None, None, [(only, _)]) => only.clone(),
        (None, None, _) => {
            return Err(KubeconfigError::NoCurrentContext {
                file: name,
                available,
            });
        }
    };
    let Some((_, ctx)) = contexts.iter().find(|(n, _)| *n == context_name) else {
        return Err(KubeconfigError::NoSuchContext {
            file: name,
            context: context_name,
            available,
        });
    };
    let dangling = |problem: String| KubeconfigError::Dangling {
        file: name.clone(),
        context: context_name.clone(),
        problem,
    };
    let cluster_name = ref_name(ctx, "cluster").ok_or_else(|| dangling("names no cluster".into()))?;
    let user_name = ref_name(ctx, "user").ok_or_else(|| {
        dangling("names no user, so tmc-server would have no credentials for the cluster".into())
    })?;
    let clusters = named_entries(&doc, "clusters", "cluster").map_err(|w| shape(&w))?;
    let users = named_entries(&doc, "users", "user").map_err(|w| shape(&w))?;
    let find = |entries: &[(String, Mapping)], kind: &str, wanted: &str| {
        entries
            .iter()
            .find(|(n, _)| n == wanted)
            .map(|(_, m)| m.clone())
            .ok_or_else(|| {
                dangling(format!(
                    "refers to {kind} {wanted:?}, which {name} does not define"
                ))
            })
    };
    let mut cluster = find(&clusters, "cluster", &cluster_name)?;
    let mut user = find(&users, "user", &user_name)?;

    let base_dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    let inliner = Inliner {
        file: &name,
        base_dir: &base_dir,
        read_file,
    };
    let cluster_owner = format!("cluster {cluster_name:?}");
    let user_owner = format!("user {user_name:?}");
    inliner.inline(
        &mut cluster,
        &cluster_owner,
        "certificate-authority",
        "certificate-authority-data",
    )?;
    inliner.inline(
        &mut user,
        &user_owner,
        "client-certificate",
        "client-certificate-data",
    )?;
    inliner.inline(&mut user, &user_owner, "client-key", "client-key-data")?;
    inliner.inline_token_file(&mut user, &user_owner)?;

    let invalid = |owner: &str, problem: &str| KubeconfigError::Invalid {
        file: name.clone(),
        owner: owner.to_owned(),
        problem: problem.to_owned(),
    };
    let mut warnings = check_server(&cluster, &cluster_owner).map_err(|p| invalid(&cluster_owner, &p))?;
    warnings.extend(check_credentials(&user, &user_owner).map_err(|p| invalid(&user_owner, &p))?);

    let entry = |n: &str, key: &str, body: Mapping| {
        let mut m = Mapping::new();
        m.insert("name".into(), n.into());
        m.insert(key.into(), Value::Mapping(body));
        Value::Sequence(vec![Value::Mapping(m)])
    };
    let mut out = Mapping::new();
    out.insert("apiVersion".into(), "v1".into());
    out.insert("kind".into(), "Config".into());
    out.insert("clusters".into(), entry(&cluster_name, "cluster", cluster));
    out.insert("contexts".into(), entry(&context_name, "context", ctx.clone()));
    out.insert("users".into(), entry(&user_name, "user", user));
    out.insert("current-context".into(), context_name.as_str().into());
    out.insert("preferences".into(), Value::Mapping(Mapping::new()));
    Ok(Flattened {
        kubeconfig: Value::Mapping(out),
        context: context_name,
        cluster: cluster_name,
        user: user_name,
        warnings,
    })
}

/// `(name, body)` of each entry of the list `list` (`clusters`, `users`, `contexts`), whose
/// body sits under `body_key`. A missing list is empty, as in kubectl.
fn named_entries(doc: &Value, list: &str, body_key: &str) -> Result<Vec<(String, Mapping)>, String> {
    let Some(items) = doc.get(list).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = items
        .as_sequence()
        .ok_or_else(|| format!("{list} is not a list"))?;
    items
        .iter()
        .map(|item| {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("an entry of {list} has no name"))?;
            let body = match item.get(body_key) {
                None | Some(Value::Null) => Mapping::new(),
                Some(Value::Mapping(m)) => m.clone(),
                Some(_) => return Err(format!("{list} entry {name:?}: {body_key} is not a mapping")),
            };
            Ok((name.to_owned(), body))
        })
        .collect()
}

fn ref_name(ctx: &Mapping, key: &str) -> Option<String> {
    ctx.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn non_empty_str<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Base64, as kubeconfig `*-data` fields hold it. k8s-openapi's `ByteString` already encodes
/// Kubernetes' base64 on serialization, which spares a dependency for one function.
fn base64(bytes: Vec<u8>) -> String {
    match serde_json::to_value(ByteString(bytes)) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("ByteString serializes to a string, not {other:?}"),
    }
}

/// Replaces file references with their contents.
struct Inliner<'a> {
    file: &'a str,
    base_dir: &'a Path,
    read_file: &'a dyn Fn(&Path) -> io::Result<Vec<u8>>,
}

impl Inliner<'_> {
    /// kubectl resolves a relative reference against the kubeconfig's own directory, not the
    /// working directory; so does this.
    fn resolve(&self, reference: &str) -> PathBuf {
        let path = Path::new(reference);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    fn read(&self, owner: &str, field: &'static str, reference: &str) -> Result<Vec<u8>, KubeconfigError> {
        let path = self.resolve(reference);
        (self.read_file)(&path).map_err(|source| KubeconfigError::Read {
            file: self.file.to_owned(),
            owner: owner.to_owned(),
            field,
            path: path.display().to_string(),
            source,
        })
    }

    /// Moves the file named by `path_key` into `data_key`. Both set is an error, as kubectl's
    /// validation makes it: which one wins would be a guess.
    fn inline(
        &self,
        m: &mut Mapping,
        owner: &str,
        path_key: &'static str,
        data_key: &str,
    ) -> Result<(), KubeconfigError> {
        let Some(reference) = m.remove(path_key) else {
            return Ok(());
        };
        let Some(reference) = reference.as_str().filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        if non_empty_str(m, data_key).is_some() {
            return Err(KubeconfigError::Invalid {
                file: self.file.to_owned(),
                owner: owner.to_owned(),
                problem: format!("sets both {path_key} and {data_key}; keep one"),
            });
        }
        let bytes = self.read(owner, path_key, reference)?;
        m.insert(data_key.into(), base64(bytes).into());
        Ok(())
    }

    /// `tokenFile` becomes `token`. kubectl's flatten leaves it as a path, but a path on the
    /// user's machine means nothing to tmc-server. client-go prefers the file over `token` and
    /// trims surrounding whitespace; so does this.
    fn inline_token_file(&self, m: &mut Mapping, owner: &str) -> Result<(), KubeconfigError> {
        let Some(reference) = m.remove("tokenFile") else {
            return Ok(());
        };
        let Some(reference) = reference.as_str().filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        let bytes = self.read(owner, "tokenFile", reference)?;
        let token = String::from_utf8(bytes)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| KubeconfigError::Invalid {
                file: self.file.to_owned(),
                owner: owner.to_owned(),
                problem: format!(
                    "has a tokenFile ({}) that is empty or not text",
                    self.resolve(reference).display()
                ),
            })?;
        m.insert("token".into(), token.into());
        Ok(())
    }
}

/// Checks the cluster's server URL; returns warnings. The URL is not echoed in errors: it may
/// carry `user:password@`.
fn check_server(cluster: &Mapping, owner: &str) -> Result<Vec<String>, String> {
    let server = non_empty_str(cluster, "server").ok_or("has no server URL")?;
    let url = url::Url::parse(server)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .ok_or("has an invalid server URL: it must look like https://host[:port][/path]")?;
    let mut warnings = Vec::new();
    if url.scheme() == "http" {
        warnings.push(format!(
            "{owner} is reached over plain http: credentials travel unencrypted"
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback {
        warnings.push(format!(
            "{owner} has a loopback server address ({}): only a tmc-server on this machine can reach it",
            url.host_str().unwrap_or_default()
        ));
    }
    Ok(warnings)
}

/// Checks that the user carries some credentials; returns warnings for kinds tmc-server may not
/// be able to use.
fn check_credentials(user: &Mapping, owner: &str) -> Result<Vec<String>, String> {
    let cert = non_empty_str(user, "client-certificate-data").is_some();
    let key = non_empty_str(user, "client-key-data").is_some();
    if cert != key {
        return Err(format!(
            "has a client {} but no client {}",
            if cert { "certificate" } else { "key" },
            if cert { "key" } else { "certificate" }
        ));
    }
    let token = non_empty_str(user, "token").is_some();
    let basic = non_empty_str(user, "username").is_some();
    let exec = user
        .get("exec")
        .and_then(|e| e.get("command"))
        .and_then(Value::as_str);
    let auth_provider = user.get("auth-provider").is_some_and(|a| !a.is_null());
    let mut warnings = Vec::new();
    if let Some(command) = exec {
        warnings.push(format!(
            "{owner} authenticates by running {command:?} (exec plugin): tmc-server must be able to run it too"
        ));
    }
    if auth_provider {
        warnings.push(format!(
            "{owner} uses an auth-provider plugin, which tmc-server may not support; prefer a token or \
             client certificate"
        ));
    }
    if cert || token || basic || exec.is_some() || auth_provider {
        Ok(warnings)
    } else {
        Err(
            "has no credentials: it needs a token, a client certificate and key, a username and \
             password, or an exec plugin"
                .into(),
        )
    }
}

#[cfg(test)]
#[path = "kubeconfig_tests.rs"]
mod tests;
