//! Authorization: every request is checked with a SubjectAccessReview in
//! kcp, in the workspace it targets, so kcp's RBAC (and its workspace access
//! rules) decide, exactly as they would for a request made to kcp itself.
//! Answers are cached briefly per (user, attributes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::attributes::Attributes;
use super::identity::UserInfo;
use super::ttl_cache::TtlCache;

/// kcp's answer to an access review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// kcp's reason, for logs (never shown with credentials).
    pub reason: String,
}

/// Why a review could not be answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    /// The workspace does not exist (or the reviewer may not see it).
    #[error("workspace {0:?} not found")]
    WorkspaceNotFound(String),
    #[error("kcp could not be asked: {0}")]
    Unavailable(String),
}

/// Asks kcp whether a user may do something in a workspace.
pub trait ReviewAccess: Send + Sync {
    /// `spec` is a SubjectAccessReview spec (user fields included).
    fn review<'a>(
        &'a self,
        workspace: &'a str,
        spec: serde_json::Value,
    ) -> BoxFuture<'a, Result<Decision, ReviewError>>;
}

/// How long answers are remembered.
#[derive(Clone, Copy, Debug)]
pub struct CacheTtls {
    pub allowed: Duration,
    pub denied: Duration,
}

pub struct Authorizer {
    reviewer: Arc<dyn ReviewAccess>,
    cache: TtlCache<(UserInfo, Attributes), Decision>,
    ttls: CacheTtls,
}

impl Authorizer {
    pub fn new(reviewer: Arc<dyn ReviewAccess>, ttls: CacheTtls) -> Self {
        Self {
            reviewer,
            cache: TtlCache::new(10_000),
            ttls,
        }
    }

    /// Whether `user` may do `attrs`; a cached answer when one is fresh.
    pub async fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Result<Decision, ReviewError> {
        let key = (user.clone(), attrs.clone());
        if let Some(d) = self.cache.get(&key, Instant::now()) {
            return Ok(d);
        }
        let mut spec = user.review_fields();
        spec.extend(attrs.review_spec());
        let decision = self
            .reviewer
            .review(&attrs.workspace, serde_json::Value::Object(spec))
            .await?;
        let ttl = if decision.allowed {
            self.ttls.allowed
        } else {
            self.ttls.denied
        };
        self.cache.insert(key, decision.clone(), ttl, Instant::now());
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::attributes::Access;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Allows what the spec's user name says, counting reviews.
    struct Reviewer {
        calls: AtomicUsize,
    }

    impl ReviewAccess for Reviewer {
        fn review<'a>(
            &'a self,
            workspace: &'a str,
            spec: serde_json::Value,
        ) -> BoxFuture<'a, Result<Decision, ReviewError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                if workspace == "gone" {
                    return Err(ReviewError::WorkspaceNotFound(workspace.into()));
                }
                Ok(Decision {
                    allowed: spec["user"] == "alice" && workspace == "root:team-a",
                    reason: String::new(),
                })
            })
        }
    }

    fn attrs(workspace: &str) -> Attributes {
        Attributes {
            workspace: workspace.into(),
            access: Access::NonResource {
                verb: "get",
                path: "/apis".into(),
            },
        }
    }

    fn authorizer(ttl: Duration) -> (Arc<Reviewer>, Authorizer) {
        let r = Arc::new(Reviewer {
            calls: AtomicUsize::new(0),
        });
        let a = Authorizer::new(
            r.clone(),
            CacheTtls {
                allowed: ttl,
                denied: ttl,
            },
        );
        (r, a)
    }

    #[tokio::test]
    async fn answers_are_cached_per_user_and_attributes() {
        let (r, a) = authorizer(Duration::from_secs(60));
        let alice = UserInfo::named("alice", []);
        let bob = UserInfo::named("bob", []);
        assert!(a.authorize(&alice, &attrs("root:team-a")).await.unwrap().allowed);
        assert!(a.authorize(&alice, &attrs("root:team-a")).await.unwrap().allowed);
        assert_eq!(r.calls.load(Ordering::SeqCst), 1);
        assert!(!a.authorize(&bob, &attrs("root:team-a")).await.unwrap().allowed);
        assert!(!a.authorize(&alice, &attrs("root:team-b")).await.unwrap().allowed);
        assert_eq!(r.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn zero_ttl_asks_every_time() {
        let (r, a) = authorizer(Duration::ZERO);
        let alice = UserInfo::named("alice", []);
        for _ in 0..3 {
            a.authorize(&alice, &attrs("root:team-a")).await.unwrap();
        }
        assert_eq!(r.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let (r, a) = authorizer(Duration::from_secs(60));
        let alice = UserInfo::named("alice", []);
        for _ in 0..2 {
            assert!(a.authorize(&alice, &attrs("gone")).await.is_err());
        }
        assert_eq!(r.calls.load(Ordering::SeqCst), 2);
    }
}
