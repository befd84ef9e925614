//! The door every API request passes: authenticate, then authorize in the
//! target workspace. Health and version endpoints are public, as
//! kube-apiserver's are (`system:public-info-viewer`).

use http::HeaderMap;

use super::attributes::{Access, Attributes};
use super::authn::{Authenticator, AuthnError};
use super::authz::{Authorizer, ReviewError};
use super::client_cert::PeerIdentity;
use super::identity::UserInfo;
use crate::server::request::ApiRequest;
use crate::server::status::ApiError;

pub struct Gate {
    pub authn: Authenticator,
    pub authz: Authorizer,
    /// Where the wildcard `clusters/*` is authorized.
    pub provider_workspace: String,
}

impl Gate {
    /// Who is calling (401 when nobody the server trusts).
    pub async fn authenticate(&self, peer: &PeerIdentity, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
        self.authn
            .authenticate(peer, headers)
            .await
            .map_err(|e| unauthenticated(&e))
    }

    /// Whether `user` may make `request` (403 otherwise). Health and version
    /// endpoints are public.
    pub async fn authorize(
        &self,
        user: &UserInfo,
        request: &ApiRequest,
        query: Option<&str>,
    ) -> Result<(), ApiError> {
        let attrs = match request {
            ApiRequest::Cluster { target, op } => Attributes::of(target, op, query, &self.provider_workspace),
            // Operators' right, granted where TMC itself lives.
            ApiRequest::Metrics => Attributes {
                workspace: self.provider_workspace.clone(),
                access: Access::NonResource {
                    verb: "get",
                    path: "/metrics".into(),
                },
            },
            ApiRequest::Livez | ApiRequest::Readyz | ApiRequest::Version => return Ok(()),
        };
        match self.authz.authorize(user, &attrs).await {
            Ok(d) if d.allowed => Ok(()),
            Ok(d) => {
                tracing::debug!(
                    user = user.name,
                    workspace = attrs.workspace,
                    reason = d.reason,
                    "forbidden"
                );
                Err(ApiError::new(
                    403,
                    "Forbidden",
                    attrs.forbidden_message(&user.name),
                ))
            }
            // A workspace that does not exist and one the user may not see
            // answer alike: existence is not disclosed.
            Err(ReviewError::WorkspaceNotFound(_)) => Err(ApiError::new(
                403,
                "Forbidden",
                attrs.forbidden_message(&user.name),
            )),
            Err(e @ ReviewError::Unavailable(_)) => {
                tracing::warn!(error = %e, "access review failed");
                Err(ApiError::unavailable(
                    "cannot reach kcp to authorize the request; retry shortly",
                ))
            }
        }
    }
}

fn unauthenticated(e: &AuthnError) -> ApiError {
    match e {
        AuthnError::Unavailable => ApiError::unavailable(e.to_string()),
        _ => ApiError::new(401, "Unauthorized", e.to_string()),
    }
}
