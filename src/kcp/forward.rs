//! Forwarding writes to kcp. tmc-server stores nothing: a create, update,
//! patch or delete of a tmc.kcp.io object is sent to kcp's workspace endpoint
//! with the caller's own credentials, so kcp authenticates, authorizes,
//! validates, defaults and stores it (server-side apply, dry-run and field
//! validation included), and kcp's answer goes back to the caller unchanged.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use super::{Kcp, KcpError};

/// Request headers that travel to kcp. Everything else (cookies, proxies'
/// X-Remote-* identity headers) stays behind.
const FORWARDED_REQUEST_HEADERS: &[&str] = &["authorization", "content-type", "accept", "user-agent"];

/// Response headers that travel back.
const FORWARDED_RESPONSE_HEADERS: &[&str] = &["content-type", "warning", "audit-id"];

/// How long kcp may take to answer a write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// An HTTP client for kcp that carries no credentials of its own.
#[derive(Clone)]
pub struct Forwarder {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    origin: String,
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
}

impl Forwarder {
    pub fn new(kcp: &Kcp) -> Result<Self, KcpError> {
        let mut roots = rustls::RootCertStore::empty();
        for der in kcp.config.root_cert.iter().flatten() {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|e| KcpError::Unexpected(format!("kcp's CA certificate: {e}")))?;
        }
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            origin: kcp.origin.clone(),
        })
    }

    /// Sends the request to kcp and returns kcp's response as it came.
    pub async fn forward(&self, req: Forwarded<'_>) -> Result<Response<Bytes>, KcpError> {
        let mut uri = format!("{}/clusters/{}{}", self.origin, req.cluster, req.api_path);
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
        let request = builder
            .body(Full::new(req.body))
            .map_err(|e| KcpError::Unexpected(format!("building the forwarded request: {e}")))?;
        let response = tokio::time::timeout(WRITE_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| KcpError::Unexpected("kcp did not answer within 60s".into()))?
            .map_err(|e| KcpError::Unexpected(format!("forwarding to kcp: {e}")))?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| KcpError::Unexpected(format!("reading kcp's answer: {e}")))?
            .to_bytes();
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
