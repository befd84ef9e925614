//! The authenticated user, as Kubernetes names its parts.

use std::collections::BTreeMap;

/// A user as kube-apiserver's `user.Info`: name, uid, groups and extra.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub fn named(name: impl Into<String>, groups: impl IntoIterator<Item = String>) -> Self {
        Self {
            name: name.into(),
            groups: groups.into_iter().collect(),
            ..Default::default()
        }
    }

    /// Adds `system:authenticated`, as every Kubernetes authenticator does for
    /// an authenticated user (RBAC bindings to it must apply).
    pub fn with_authenticated_group(mut self) -> Self {
        const AUTHENTICATED: &str = "system:authenticated";
        if !self.groups.iter().any(|g| g == AUTHENTICATED) {
            self.groups.push(AUTHENTICATED.to_owned());
        }
        self
    }

    /// The user in a SubjectAccessReview spec (`user`, `uid`, `groups`, `extra`).
    pub fn review_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("user".into(), self.name.clone().into());
        if !self.uid.is_empty() {
            m.insert("uid".into(), self.uid.clone().into());
        }
        m.insert("groups".into(), self.groups.clone().into());
        if !self.extra.is_empty() {
            m.insert(
                "extra".into(),
                serde_json::to_value(&self.extra).unwrap_or_default(),
            );
        }
        m
    }

    /// Reads a `UserInfo` from a TokenReview's `status.user`.
    pub fn from_review_user(user: &serde_json::Value) -> Option<Self> {
        let name = user["username"].as_str().filter(|n| !n.is_empty())?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let extra = user["extra"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
            .unwrap_or_default();
        Some(Self {
            name: name.to_owned(),
            uid: user["uid"].as_str().unwrap_or_default().to_owned(),
            groups: strings(&user["groups"]),
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn review_user_round_trip() {
        let u = UserInfo::from_review_user(&json!({
            "username": "alice", "uid": "u1", "groups": ["team-a", "system:authenticated"],
            "extra": {"authentication.kcp.io/scopes": ["cluster:abc"]}
        }))
        .unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, vec!["team-a", "system:authenticated"]);
        assert_eq!(u.extra["authentication.kcp.io/scopes"], vec!["cluster:abc"]);
        let f = u.review_fields();
        assert_eq!(f["user"], "alice");
        assert_eq!(f["extra"]["authentication.kcp.io/scopes"][0], "cluster:abc");
    }

    #[test]
    fn a_review_without_a_name_is_no_user() {
        assert_eq!(UserInfo::from_review_user(&json!({"username": ""})), None);
        assert_eq!(UserInfo::from_review_user(&json!({})), None);
    }

    #[test]
    fn authenticated_group_added_once() {
        let u = UserInfo::named("a", ["system:authenticated".to_owned()]).with_authenticated_group();
        assert_eq!(u.groups.len(), 1);
    }
}
