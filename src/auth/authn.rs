//! Authentication: who is calling. Tried in this order, first match wins:
//!
//! 1. kcp-front-proxy: a connection whose certificate chains to the
//!    request-header CA with an allowed name; the user is read from
//!    `X-Remote-User`, `X-Remote-Group` and `X-Remote-Extra-*`. On any other
//!    connection those headers are ignored (never read, never forwarded).
//! 2. A client certificate signed by the client CA: common name and
//!    organizations.
//! 3. A bearer token, checked with a TokenReview against kcp (cached briefly,
//!    keyed by the token's SHA-256, never by the token itself).
//!
//! Anything else is anonymous and gets 401.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::client_cert::PeerIdentity;
use super::identity::UserInfo;
use super::ttl_cache::TtlCache;

pub const REMOTE_USER: &str = "x-remote-user";
pub const REMOTE_GROUP: &str = "x-remote-group";
pub const REMOTE_EXTRA_PREFIX: &str = "x-remote-extra-";

/// Why a request is not authenticated (401), or could not be (503).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthnError {
    #[error("Unauthorized")]
    Anonymous,
    #[error("Unauthorized: the front proxy did not name a user")]
    NoProxiedUser,
    #[error("Unauthorized: {0}")]
    RefusedCertificate(String),
    #[error("Unauthorized: the bearer token was not accepted")]
    InvalidToken,
    #[error("cannot reach kcp to review the token; retry shortly")]
    Unavailable,
}

/// Asks kcp who a bearer token belongs to.
pub trait ReviewTokens: Send + Sync {
    /// `Ok(None)`: kcp does not accept the token.
    fn review<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<UserInfo>, String>>;
}

pub struct Authenticator {
    tokens: Arc<dyn ReviewTokens>,
    cache: TtlCache<[u8; 32], Option<UserInfo>>,
    token_ttl: Duration,
}

impl Authenticator {
    pub fn new(tokens: Arc<dyn ReviewTokens>, token_ttl: Duration) -> Self {
        Self {
            tokens,
            cache: TtlCache::new(10_000),
            token_ttl,
        }
    }

    pub async fn authenticate(
        &self,
        peer: &PeerIdentity,
        headers: &HeaderMap,
    ) -> Result<UserInfo, AuthnError> {
        match peer {
            PeerIdentity::FrontProxy(_) => proxied_user(headers),
            PeerIdentity::User(u) => Ok(u.clone()),
            PeerIdentity::Refused(why) => Err(AuthnError::RefusedCertificate(why.clone())),
            PeerIdentity::Anonymous => match bearer_token(headers) {
                Some(token) => self.review(token).await,
                None => Err(AuthnError::Anonymous),
            },
        }
    }

    async fn review(&self, token: &str) -> Result<UserInfo, AuthnError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cached = self.cache.get(&key, Instant::now());
        let user = match cached {
            Some(u) => u,
            None => {
                let reviewed = self.tokens.review(token).await.map_err(|e| {
                    tracing::warn!(error = %e, "token review failed");
                    AuthnError::Unavailable
                })?;
                // Refusals are remembered for less time: a token just issued
                // should work within a second or two.
                let ttl = if reviewed.is_some() {
                    self.token_ttl
                } else {
                    self.token_ttl.min(Duration::from_secs(2))
                };
                self.cache.insert(key, reviewed.clone(), ttl, Instant::now());
                reviewed
            }
        };
        user.map(UserInfo::with_authenticated_group)
            .ok_or(AuthnError::InvalidToken)
    }
}

/// The token of an `Authorization: Bearer ...` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The user kcp-front-proxy names in its headers.
fn proxied_user(headers: &HeaderMap) -> Result<UserInfo, AuthnError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    };
    let name = values(REMOTE_USER)
        .into_iter()
        .find(|n| !n.is_empty())
        .ok_or(AuthnError::NoProxiedUser)?;
    let mut extra = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (header, value) in headers {
        let Some(key) = header.as_str().strip_prefix(REMOTE_EXTRA_PREFIX) else {
            continue;
        };
        // Keys are percent-encoded by the proxy (they may contain '/').
        let Some(key) = crate::server::request::percent_decode(key) else {
            continue;
        };
        let key = key.to_lowercase();
        if let Ok(v) = value.to_str() {
            extra.entry(key).or_default().push(v.to_owned());
        }
    }
    let groups = values(REMOTE_GROUP)
        .into_iter()
        .filter(|g| {
            let keep = !is_privileged_group(g);
            if !keep {
                tracing::debug!(
                    user = name,
                    group = g,
                    "privileged group from the front proxy dropped"
                );
            }
            keep
        })
        .collect();
    Ok(UserInfo {
        name,
        uid: String::new(),
        groups,
        extra,
    }
    .with_authenticated_group())
}

/// Groups tmc-server never accepts from request headers. kcp-front-proxy
/// v0.28.1 appends its own `X-Remote-Group` values to any the client sent
/// (fixed in later kcp releases), so a header group may be forged by the
/// caller; the groups that grant cluster-wide power (`system:masters`,
/// `system:kcp:*`, and any other `system:` group but the authenticated and
/// service-account ones) must come from a client certificate or a token.
pub fn is_privileged_group(group: &str) -> bool {
    group.starts_with("system:")
        && group != "system:authenticated"
        && group != "system:serviceaccounts"
        && !group.starts_with("system:serviceaccounts:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Tokens(AtomicUsize);

    impl ReviewTokens for Tokens {
        fn review<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<UserInfo>, String>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match token {
                    "alice-token" => Ok(Some(UserInfo::named("alice", ["team-a".to_owned()]))),
                    "broken" => Err("connection refused".into()),
                    _ => Ok(None),
                }
            })
        }
    }

    fn authn() -> (Arc<Tokens>, Authenticator) {
        let t = Arc::new(Tokens(AtomicUsize::new(0)));
        (t.clone(), Authenticator::new(t, Duration::from_secs(10)))
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[tokio::test]
    async fn forged_remote_headers_are_ignored_without_the_proxy_certificate() {
        let (_, a) = authn();
        let forged = headers(&[("X-Remote-User", "admin"), ("X-Remote-Group", "system:masters")]);
        assert_eq!(
            a.authenticate(&PeerIdentity::Anonymous, &forged).await,
            Err(AuthnError::Anonymous)
        );
        let alice = PeerIdentity::User(UserInfo::named("alice", []));
        assert_eq!(a.authenticate(&alice, &forged).await.unwrap().name, "alice");
    }

    #[tokio::test]
    async fn the_proxy_names_the_user() {
        let (_, a) = authn();
        let h = headers(&[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "team-a"),
            ("X-Remote-Group", "devs"),
            ("X-Remote-Extra-Authentication.kcp.io%2fScopes", "cluster:abc"),
        ]);
        let u = a
            .authenticate(&PeerIdentity::FrontProxy("kcp-front-proxy".into()), &h)
            .await
            .unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, vec!["team-a", "devs", "system:authenticated"]);
        assert_eq!(u.extra["authentication.kcp.io/scopes"], vec!["cluster:abc"]);
        assert_eq!(
            a.authenticate(&PeerIdentity::FrontProxy("p".into()), &HeaderMap::new())
                .await,
            Err(AuthnError::NoProxiedUser)
        );
    }

    #[tokio::test]
    async fn privileged_groups_are_never_taken_from_headers() {
        let (_, a) = authn();
        let h = headers(&[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "system:masters"),
            ("X-Remote-Group", "system:kcp:admin"),
            ("X-Remote-Group", "system:serviceaccounts:default"),
            ("X-Remote-Group", "team-a"),
        ]);
        let u = a
            .authenticate(&PeerIdentity::FrontProxy("kcp-front-proxy".into()), &h)
            .await
            .unwrap();
        assert_eq!(
            u.groups,
            vec!["system:serviceaccounts:default", "team-a", "system:authenticated"]
        );
    }

    #[tokio::test]
    async fn tokens_are_reviewed_once_and_cached() {
        let (t, a) = authn();
        let h = headers(&[("Authorization", "Bearer alice-token")]);
        for _ in 0..3 {
            let u = a.authenticate(&PeerIdentity::Anonymous, &h).await.unwrap();
            assert_eq!(u.name, "alice");
            assert!(u.groups.contains(&"system:authenticated".to_owned()));
        }
        assert_eq!(t.0.load(Ordering::SeqCst), 1);
        let bad = headers(&[("Authorization", "Bearer nope")]);
        assert_eq!(
            a.authenticate(&PeerIdentity::Anonymous, &bad).await,
            Err(AuthnError::InvalidToken)
        );
        let broken = headers(&[("Authorization", "Bearer broken")]);
        assert_eq!(
            a.authenticate(&PeerIdentity::Anonymous, &broken).await,
            Err(AuthnError::Unavailable)
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(
            bearer_token(&headers(&[("Authorization", "bearer  t ")])),
            Some("t")
        );
        assert_eq!(bearer_token(&headers(&[("Authorization", "Basic dTpw")])), None);
        assert_eq!(bearer_token(&headers(&[("Authorization", "Bearer ")])), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn refused_certificates_are_401() {
        let (_, a) = authn();
        let r = a
            .authenticate(&PeerIdentity::Refused("x".into()), &HeaderMap::new())
            .await;
        assert!(matches!(r, Err(AuthnError::RefusedCertificate(_))));
    }
}
