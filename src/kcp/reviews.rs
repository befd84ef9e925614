//! Token and access reviews asked of kcp with TMC's own credentials: the kcp
//! side of `auth::ReviewTokens` and `auth::ReviewAccess`.

use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::{Kcp, KcpError};
use crate::auth::authn::ReviewTokens;
use crate::auth::authz::{Decision, ReviewAccess, ReviewError};
use crate::auth::UserInfo;

/// One client at kcp's origin; each review names its workspace in the path.
#[derive(Clone)]
pub struct KcpReviews {
    client: kube::Client,
    /// Where TokenReviews are sent (the provider workspace).
    token_workspace: String,
}

impl KcpReviews {
    pub fn new(kcp: &Kcp, token_workspace: &str) -> Result<Self, KcpError> {
        Ok(Self {
            client: kcp.client_at(&kcp.origin)?,
            token_workspace: token_workspace.to_owned(),
        })
    }

    async fn post(&self, path: String, body: &Value) -> Result<Value, kube::Error> {
        let req = http::Request::post(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .map_err(kube::Error::HttpError)?;
        self.client.request::<Value>(req).await
    }
}

impl ReviewTokens for KcpReviews {
    fn review<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<UserInfo>, String>> {
        Box::pin(async move {
            let review = json!({
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token},
            });
            let path = format!(
                "/clusters/{}/apis/authentication.k8s.io/v1/tokenreviews",
                self.token_workspace
            );
            // Errors are described without the request: it holds the token.
            let answer = self.post(path, &review).await.map_err(describe)?;
            let status = &answer["status"];
            if status["authenticated"].as_bool() != Some(true) {
                return Ok(None);
            }
            Ok(UserInfo::from_review_user(&status["user"]))
        })
    }
}

impl ReviewAccess for KcpReviews {
    fn review<'a>(&'a self, workspace: &'a str, spec: Value) -> BoxFuture<'a, Result<Decision, ReviewError>> {
        Box::pin(async move {
            let review = json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": spec,
            });
            let path = format!("/clusters/{workspace}/apis/authorization.k8s.io/v1/subjectaccessreviews");
            match self.post(path, &review).await {
                Ok(answer) => Ok(Decision {
                    allowed: answer["status"]["allowed"].as_bool() == Some(true)
                        && answer["status"]["denied"].as_bool() != Some(true),
                    reason: answer["status"]["reason"].as_str().unwrap_or_default().to_owned(),
                }),
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 403 => {
                    Err(ReviewError::WorkspaceNotFound(workspace.to_owned()))
                }
                Err(e) => Err(ReviewError::Unavailable(describe(e))),
            }
        })
    }
}

fn describe(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("kcp answered {} {}: {}", s.code, s.reason, s.message),
        other => other.to_string(),
    }
}
