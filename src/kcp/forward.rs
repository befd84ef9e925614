//! Forwarding writes to kcp. tmc-server stores nothing: a create, update,
//! patch or delete of a tmc.kcp.io object is sent to kcp's workspace endpoint
//! with TMC's own credentials impersonating the authenticated caller (who
//! was already authorized by tmc-server), so kcp authorizes again as that
//! user, validates, defaults and stores it (server-side apply, dry-run and
//! field validation included), and kcp's answer goes back unchanged. The
//! caller's own credentials never travel: behind kcp-front-proxy there are
//! none, and a token given to tmc-server is not passed on.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

use super::{Kcp, KcpError};
use crate::auth::UserInfo;

/// Request headers that travel to kcp. Everything else (Authorization,
/// cookies, proxies' X-Remote-* identity headers) stays behind.
const FORWARDED_REQUEST_HEADERS: &[&str] = &["content-type", "accept", "user-agent"];

/// Response headers that travel back.
const FORWARDED_RESPONSE_HEADERS: &[&str] = &["content-type", "warning", "audit-id"];

/// How long kcp may take to answer a write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// A client for kcp with TMC's credentials, used only to impersonate
/// authorized callers.
#[derive(Clone)]
pub struct Forwarder {
    client: kube::Client,
}

/// A forwarded request.
pub struct Forwarded<'a> {
    pub method: Method,
    /// Workspace path or logical-cluster name.
    pub cluster: &'a str,
    /// The API path below the cluster, e.g. `/apis/tmc.kcp.io/v1alpha1/clusterregistrations`.
    pub api_path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
    /// The authorized caller kcp is told the request is from.
    pub user: &'a UserInfo,
}

/// The `Impersonate-*` headers naming `user` (extra keys percent-encoded, as
/// client-go writes them).
pub fn impersonation_headers(user: &UserInfo) -> Result<Vec<(HeaderName, HeaderValue)>, KcpError> {
    let value = |v: &str| {
        HeaderValue::from_str(v)
            .map_err(|_| KcpError::Unexpected("the user's name cannot travel in a header".into()))
    };
    let mut out = vec![(HeaderName::from_static("impersonate-user"), value(&user.name)?)];
    if !user.uid.is_empty() {
        out.push((HeaderName::from_static("impersonate-uid"), value(&user.uid)?));
    }
    // kcp adds system:authenticated to every impersonated user itself, and
    // refuses special groups the impersonator lacks: it is not sent.
    for g in user.groups.iter().filter(|g| *g != "system:authenticated") {
        out.push((HeaderName::from_static("impersonate-group"), value(g)?));
    }
    for (k, vs) in &user.extra {
        let encoded: String = k
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let name = HeaderName::from_bytes(format!("impersonate-extra-{encoded}").as_bytes())
            .map_err(|_| KcpError::Unexpected("an extra key of the user cannot travel in a header".into()))?;
        for v in vs {
            out.push((name.clone(), value(v)?));
        }
    }
    Ok(out)
}

impl Forwarder {
    pub fn new(kcp: &Kcp) -> Result<Self, KcpError> {
        Ok(Self {
            client: kcp.client_at(&kcp.origin)?,
        })
    }

    /// Sends the request to kcp as the caller and returns kcp's response as it came.
    pub async fn forward(&self, req: Forwarded<'_>) -> Result<Response<Bytes>, KcpError> {
        let mut uri = format!("/clusters/{}{}", req.cluster, req.api_path);
        if let Some(q) = req.query {
            uri.push('?');
            uri.push_str(q);
        }
        let mut builder = http::Request::builder().method(req.method).uri(uri);
        for name in FORWARDED_REQUEST_HEADERS {
            for value in req.headers.get_all(*name) {
                builder = builder.header(HeaderName::from_static(name), value);
            }
        }
        for (name, value) in impersonation_headers(req.user)? {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(kube::client::Body::from(req.body))
            .map_err(|e| KcpError::Unexpected(format!("building the forwarded request: {e}")))?;
        let response = tokio::time::timeout(WRITE_TIMEOUT, self.client.send(request))
            .await
            .map_err(|_| KcpError::Unexpected("kcp did not answer within 60s".into()))?
            .map_err(|e| KcpError::Unexpected(format!("forwarding to kcp: {e}")))?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect_bytes()
            .await
            .map_err(|e| KcpError::Unexpected(format!("reading kcp's answer: {e}")))?;
        let bytes =
            explain_refused_impersonation(parts.status.as_u16(), &req.user.name, &bytes).unwrap_or(bytes);
        let mut out = Response::new(bytes);
        *out.status_mut() = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        for name in FORWARDED_RESPONSE_HEADERS {
            for value in parts.headers.get_all(*name) {
                out.headers_mut()
                    .append(HeaderName::from_static(name), value.clone());
            }
        }
        Ok(out)
    }
}

/// What kcp says when it refuses to let tmc-server's identity impersonate a
/// member of a privileged group (system:kcp:admin, system:masters).
const IMPERSONATION_REFUSED: &str = "impersonation is not allowed for the requestor";

/// kcp's 403 for a refused impersonation names neither the caller nor a way
/// out; the same Status, with a message that says both. `None` for any other
/// answer, which goes back as kcp sent it.
fn explain_refused_impersonation(status: u16, user: &str, body: &[u8]) -> Option<Bytes> {
    if status != 403 {
        return None;
    }
    let mut answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    if answer["kind"] != "Status" || !answer["message"].as_str()?.contains(IMPERSONATION_REFUSED) {
        return None;
    }
    answer["message"] = format!(
        "tmc-server cannot forward this write for {user:?}: kcp does not let tmc-server act for members of \
         privileged groups (system:kcp:admin, system:masters); send it to kcp directly (kcp said: {})",
        answer["message"].as_str().unwrap_or_default()
    )
    .into();
    serde_json::to_vec(&answer).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_impersonation_is_explained_and_other_answers_are_not_touched() {
        let refused = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"forbidden: impersonation is not allowed for the requestor","reason":"Forbidden","code":403}"#;
        let explained = explain_refused_impersonation(403, "kcp-admin", refused).expect("rewritten");
        let v: serde_json::Value = serde_json::from_slice(&explained).unwrap();
        assert_eq!(v["reason"], "Forbidden");
        assert_eq!(v["code"], 403);
        let message = v["message"].as_str().unwrap();
        assert!(message.contains("\"kcp-admin\"") && message.contains("send it to kcp directly"));
        assert!(
            message.contains(IMPERSONATION_REFUSED),
            "kcp's words are kept: {message}"
        );

        let other = br#"{"kind":"Status","message":"configmaps is forbidden: User \"alice\" cannot create","code":403}"#;
        assert_eq!(explain_refused_impersonation(403, "alice", other), None);
        assert_eq!(explain_refused_impersonation(201, "alice", refused), None);
        assert_eq!(explain_refused_impersonation(403, "alice", b"not json"), None);
    }

    #[test]
    fn impersonation_names_the_whole_user() {
        let mut u = UserInfo::named("alice", ["team-a".to_owned(), "system:authenticated".to_owned()]);
        u.extra
            .insert("authentication.kcp.io/scopes".into(), vec!["cluster:abc".into()]);
        let h = impersonation_headers(&u).unwrap();
        let pairs: Vec<(String, String)> = h
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("impersonate-user".into(), "alice".into()),
                ("impersonate-group".into(), "team-a".into()),
                // Header names are lowercase on the wire; Go unescapes either case.
                (
                    "impersonate-extra-authentication.kcp.io%2fscopes".into(),
                    "cluster:abc".into()
                ),
            ]
        );
    }
}
