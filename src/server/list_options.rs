//! The query parameters of list and watch requests, parsed and validated in
//! one pure step, with kube-apiserver's errors for bad values.

use std::time::Duration;

use super::request::query_param;
use super::status::ApiError;
use super::table::IncludeObject;
use crate::index::{LogicalCluster, ObjectKey};
use crate::selectors::{FieldSelector, LabelSelector};

/// Field selectors every resource supports (as kube-apiserver for CRDs).
pub const SUPPORTED_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// The longest watch kube-apiserver allows by default (min-request-timeout × 2).
pub const MAX_WATCH_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct ListOptions {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<ContinueToken>,
    /// `None` when unset or "0" ("any version": the current state).
    pub resource_version: Option<u64>,
    pub watch: bool,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
    pub include_object: IncludeObject,
}

/// Where the next page of a paged list starts: the list's resourceVersion (so
/// every page shows the same snapshot) and the last key already returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueToken {
    pub resource_version: u64,
    pub after: ObjectKey,
}

impl ContinueToken {
    /// Opaque to clients: hex of a small JSON document.
    pub fn encode(&self) -> String {
        let (c, ns, n) = &self.after;
        let doc = serde_json::json!({"rv": self.resource_version, "c": c.0, "ns": ns, "n": n});
        doc.to_string().bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(s: &str) -> Option<Self> {
        if s.len() % 2 != 0 || s.len() > 4096 {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect();
        let doc: serde_json::Value = serde_json::from_slice(&bytes?).ok()?;
        Some(Self {
            resource_version: doc["rv"].as_u64()?,
            after: (
                LogicalCluster(doc["c"].as_str()?.to_owned()),
                doc["ns"].as_str().map(str::to_owned),
                doc["n"].as_str()?.to_owned(),
            ),
        })
    }
}

fn parse_bool(name: &str, v: Option<String>) -> Result<bool, ApiError> {
    match v.as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}: Invalid value: \"{other}\": must be true or false"
        ))),
    }
}

/// Parses a list/watch query string.
pub fn parse(query: Option<&str>) -> Result<ListOptions, ApiError> {
    let q = |k: &str| query_param(query, k);
    let label_selector = LabelSelector::parse(&q("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let field_selector = FieldSelector::parse(&q("fieldSelector").unwrap_or_default(), SUPPORTED_FIELDS)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let limit = match q("limit") {
        None => None,
        Some(l) => {
            let n: i64 = l.parse().map_err(|_| {
                ApiError::bad_request(format!("limit: Invalid value: \"{l}\": must be an integer"))
            })?;
            (n > 0).then_some(n as usize)
        }
    };
    let continue_token = match q("continue") {
        None => None,
        Some(c) if c.is_empty() => None,
        Some(c) => Some(ContinueToken::decode(&c).ok_or_else(|| {
            ApiError::bad_request("continue key is not valid: the continue token is malformed")
        })?),
    };
    let resource_version = match q("resourceVersion").as_deref() {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{rv}\": must be a number"
            ))
        })?),
    };
    let watch = parse_bool("watch", q("watch"))?;
    let allow_watch_bookmarks = parse_bool("allowWatchBookmarks", q("allowWatchBookmarks"))?;
    let send_initial_events = parse_bool("sendInitialEvents", q("sendInitialEvents"))?;
    let timeout = match q("timeoutSeconds") {
        None => None,
        Some(t) => {
            let secs: i64 = t.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "timeoutSeconds: Invalid value: \"{t}\": must be an integer"
                ))
            })?;
            (secs > 0).then(|| Duration::from_secs(secs as u64).min(MAX_WATCH_TIMEOUT))
        }
    };
    let include_object =
        IncludeObject::parse(q("includeObject").as_deref()).map_err(ApiError::bad_request)?;
    let rv_match = q("resourceVersionMatch");
    if send_initial_events {
        // kube-apiserver's rules for streaming lists.
        if !watch {
            return Err(ApiError::invalid("sendInitialEvents is forbidden for list"));
        }
        if rv_match.as_deref() != Some("NotOlderThan") {
            return Err(ApiError::invalid(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !allow_watch_bookmarks {
            return Err(ApiError::invalid(
                "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
    } else if let Some(m) = rv_match.as_deref() {
        if watch {
            return Err(ApiError::invalid(format!(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided (got {m:?})"
            )));
        }
        if !["", "NotOlderThan", "Exact"].contains(&m) {
            return Err(ApiError::invalid(format!(
                "resourceVersionMatch: Unsupported value: \"{m}\": supported values: \"Exact\", \"NotOlderThan\""
            )));
        }
    }
    Ok(ListOptions {
        label_selector,
        field_selector,
        limit,
        continue_token,
        resource_version,
        watch,
        allow_watch_bookmarks,
        send_initial_events,
        timeout,
        include_object,
    })
}

impl ListOptions {
    /// True when `obj` passes both selectors.
    pub fn selects(&self, obj: &serde_json::Value) -> bool {
        self.label_selector
            .matches_json(obj.get("metadata").and_then(|m| m.get("labels")))
            && self.field_selector.matches(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = ContinueToken {
            resource_version: 42,
            after: (LogicalCluster("abc".into()), Some("ns".into()), "x".into()),
        };
        assert_eq!(ContinueToken::decode(&t.encode()), Some(t));
        for bad in ["", "zz", "abc", "7b7d", &"00".repeat(3000)] {
            assert!(ContinueToken::decode(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parses_and_validates() {
        let o = parse(Some(
            "labelSelector=a%3Db&limit=2&resourceVersion=7&watch=true&timeoutSeconds=5",
        ))
        .unwrap();
        assert_eq!(o.limit, Some(2));
        assert_eq!(o.resource_version, Some(7));
        assert!(o.watch);
        assert_eq!(o.timeout, Some(Duration::from_secs(5)));
        assert!(parse(Some("resourceVersion=0"))
            .unwrap()
            .resource_version
            .is_none());
        assert_eq!(parse(Some("resourceVersion=abc")).unwrap_err().code, 400);
        assert_eq!(parse(Some("limit=x")).unwrap_err().code, 400);
        assert_eq!(parse(Some("watch=maybe")).unwrap_err().code, 400);
        assert_eq!(
            parse(Some("fieldSelector=spec.location%3Dx")).unwrap_err().code,
            400
        );
        assert_eq!(parse(Some("labelSelector=a%20in%20(b")).unwrap_err().code, 400);
        assert_eq!(parse(Some("continue=nothex")).unwrap_err().code, 400);
        // sendInitialEvents is implemented, with kube's preconditions (422 otherwise).
        assert_eq!(
            parse(Some("watch=1&sendInitialEvents=true")).unwrap_err().code,
            422
        );
        assert_eq!(parse(Some("sendInitialEvents=true")).unwrap_err().code, 422);
        let ok = parse(Some(
            "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        ))
        .unwrap();
        assert!(ok.send_initial_events);
    }
}
