//! The HTTPS API server: Kubernetes API semantics over the index.

pub mod discovery;
pub mod documents;
pub mod handlers;
pub mod jsonpath;
pub mod list_options;
pub mod openapi;
pub mod request;
pub mod status;
pub mod table;
pub mod watch;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use tracing::Instrument;

use crate::auth::PeerIdentity;
use crate::metrics::{RequestLabels, RouteLabels, WatchGuard};
use handlers::{ApiState, Reply, RequestMeta};
use status::ApiError;

/// Response bodies: whole documents or watch streams.
pub type Body = BoxBody<Bytes, Infallible>;

/// The largest request body accepted (kube-apiserver's limit for JSON bodies).
pub const MAX_REQUEST_BODY: usize = 3 * 1024 * 1024;

/// Limits that protect the server from slow or greedy clients.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long a client may take to finish the TLS handshake and to send
    /// request headers.
    pub header_read_timeout: Duration,
    /// HTTP/2 connections are pinged this often and closed when a ping goes
    /// unanswered for as long.
    pub keep_alive: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
        }
    }
}

/// Serves until `shutdown` resolves, then stops accepting and lets open
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<ApiState>,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    futures::pin_mut!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            // The client certificate is judged once per connection.
            let identity = Arc::new(state.client_certs.identify(tls.get_ref().1.peer_certificates()));
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let identity = identity.clone();
                // One span per request: everything logged while serving it
                // carries the method, the path (workspace and object) and the peer.
                let span =
                    tracing::debug_span!("request", %peer, method = %req.method(), path = req.uri().path());
                async move { Ok::<_, Infallible>(respond(&state, req, peer, &identity).await) }
                    .instrument(span)
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            builder
                .http2()
                .timer(hyper_util::rt::TokioTimer::new())
                .keep_alive_interval(limits.keep_alive)
                .keep_alive_timeout(limits.keep_alive);
            let conn = builder.serve_connection(TokioIo::new(tls), service).into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down: no new connections; waiting for open requests");
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within 10s; closing them");
    }
}

async fn respond(
    state: &Arc<ApiState>,
    req: Request<Incoming>,
    peer: SocketAddr,
    identity: &PeerIdentity,
) -> Response<Body> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    // Parsed once: the metrics labels and the handler both read it.
    let parsed = request::parse(&method, &path);
    let route = route_labels(&method, &parsed, parts.uri.query());
    let mut user_name = None;
    let response = match read_body(body).await {
        Err(e) => {
            // The body was not read to its end: this connection cannot carry
            // another request, so tell the client not to reuse it.
            let mut r = error_response(&e);
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        Ok(body) => {
            let result = admit_and_handle(state, &parts, parsed, body, identity, &mut user_name).await;
            match result {
                Ok(reply) => {
                    let watch = matches!(reply, Reply::Watch(_))
                        .then(|| WatchGuard::new(&state.metrics, &route.resource));
                    reply_response(reply, watch)
                }
                Err(e) => error_response(&e),
            }
        }
    };
    let code = response.status().as_u16().to_string();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            verb: route.verb.clone(),
            resource: route.resource.clone(),
            code,
        })
        .inc();
    state
        .metrics
        .request_duration
        .get_or_create(&route)
        .observe(started.elapsed().as_secs_f64());
    tracing::debug!(%peer, %method, path, user = user_name.as_deref().unwrap_or(""),
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "request");
    response
}

/// Authenticates (before anything about the request is disclosed, even
/// whether its path is valid), authorizes, then handles.
async fn admit_and_handle(
    state: &Arc<ApiState>,
    parts: &http::request::Parts,
    parsed: Result<request::ApiRequest, ApiError>,
    body: Bytes,
    identity: &PeerIdentity,
    user_name: &mut Option<String>,
) -> Result<Reply, ApiError> {
    let path = parts.uri.path();
    let public = matches!(
        parsed,
        Ok(request::ApiRequest::Livez | request::ApiRequest::Readyz | request::ApiRequest::Version)
    );
    let user = if public {
        None
    } else {
        let user = state.gate.authenticate(identity, &parts.headers).await?;
        *user_name = Some(user.name.clone());
        Some(user)
    };
    let parsed = parsed?;
    if let Some(user) = &user {
        state.gate.authorize(user, &parsed, parts.uri.query()).await?;
    }
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if let request::ApiRequest::Cluster { ref op, .. } = parsed {
        // Writes go to kcp, which negotiates for itself.
        if op.is_read() && !request::accepts_json(accept) {
            return Err(ApiError::new(
                406,
                "NotAcceptable",
                "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io",
            ));
        }
    }
    let api_path = api_path_of(path);
    let meta = RequestMeta {
        method: &parts.method,
        api_path: &api_path,
        full_path: path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body,
        user: user.as_ref(),
    };
    handlers::handle(state, parsed, meta).await
}

/// The request path below `/services/tmc/clusters/{cluster}`, as sent (still
/// percent-encoded), for forwarding to kcp.
fn api_path_of(path: &str) -> String {
    path.strip_prefix(request::PATH_PREFIX)
        .and_then(|r| r.strip_prefix("/clusters/"))
        .and_then(|r| r.find('/').map(|i| r[i..].to_owned()))
        .unwrap_or_default()
}

async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is larger than {MAX_REQUEST_BODY} bytes"),
        )),
        Err(_) => Err(ApiError::bad_request("the request body could not be read")),
    }
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// The verb and resource a request is counted under: kube-apiserver's verb
/// (`list`, `watch`, `get`, `create`, …) and the resource's plural, or for
/// everything else the lowercased method and the kind of endpoint.
fn route_labels(
    method: &http::Method,
    parsed: &Result<request::ApiRequest, ApiError>,
    query: Option<&str>,
) -> RouteLabels {
    use crate::auth::attributes::{Access, Attributes};
    let other = |resource: &str| RouteLabels {
        verb: method.as_str().to_lowercase(),
        resource: resource.to_owned(),
    };
    match parsed {
        Ok(request::ApiRequest::Cluster { target, op }) => {
            match Attributes::of(target, op, query, "").access {
                Access::Resource { verb, resource, .. } => RouteLabels {
                    verb: verb.to_owned(),
                    resource,
                },
                Access::NonResource { .. } => other("discovery"),
            }
        }
        Ok(request::ApiRequest::Metrics) => other("metrics"),
        Ok(_) => other("health"),
        Err(_) => other("invalid"),
    }
}

fn reply_response(reply: Reply, watch: Option<WatchGuard>) -> Response<Body> {
    match reply {
        Reply::Json(v) => json_response(StatusCode::OK, &v, "application/json"),
        Reply::Typed(v, media_type) => json_response(StatusCode::OK, &v, media_type),
        Reply::Forwarded(resp) => resp.map(full),
        Reply::Document {
            doc,
            media_type,
            cache_control,
            if_none_match,
        } => {
            let mut resp = if if_none_match.as_deref() == Some(doc.etag.as_str()) {
                let mut r = Response::new(full(Bytes::new()));
                *r.status_mut() = StatusCode::NOT_MODIFIED;
                r
            } else {
                let mut r = Response::new(full(doc.bytes.clone()));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
                r
            };
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&doc.etag) {
                h.insert(header::ETAG, v);
            }
            h.insert(header::VARY, HeaderValue::from_static("Accept"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
            resp
        }
        Reply::Redirect(location) => {
            let mut r = Response::new(full(Bytes::new()));
            *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Reply::Text(text, media_type) => {
            let mut r = Response::new(full(Bytes::from(text)));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
            r
        }
        Reply::Watch(rx) => {
            // The guard lives as long as the stream: the watch is counted while open.
            let stream = futures::stream::unfold((rx, watch), |(mut rx, watch)| async move {
                rx.recv()
                    .await
                    .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), (rx, watch)))
            });
            let mut resp = Response::new(StreamBody::new(stream).boxed());
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value, media_type: &'static str) -> Response<Body> {
    let bytes = serde_json::to_vec(body).expect("JSON values always serialize");
    let mut resp = Response::new(full(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    resp
}

fn error_response(e: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &e.to_status(), "application/json")
}
