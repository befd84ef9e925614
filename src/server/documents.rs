//! Discovery and OpenAPI documents, rendered once at start: they depend only
//! on the served resources, never on the workspace asked about. Each keeps the
//! exact bytes its ETag and hash name, so conditional requests (If-None-Match
//! → 304) and `?hash=` URLs are cheap and stable.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{discovery, openapi};
use crate::resources::ServedResource;

/// One rendered document.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub bytes: Bytes,
    /// Quoted strong ETag of `bytes`.
    pub etag: String,
    /// Uppercase hex hash (for OpenAPI `?hash=` URLs).
    pub hash: String,
}

impl Rendered {
    fn of(doc: &serde_json::Value) -> Self {
        let bytes = serde_json::to_vec(doc).expect("JSON values always serialize");
        Self {
            etag: discovery::etag(&bytes),
            hash: openapi::hash(doc),
            bytes: Bytes::from(bytes),
        }
    }
}

/// Every pre-rendered document.
pub struct Documents {
    pub openapi_root: Rendered,
    /// By path below `/openapi/v3/`, e.g. `apis/tmc.kcp.io/v1alpha1`.
    pub openapi: BTreeMap<String, Rendered>,
    /// Aggregated discovery for `/apis` (v2 and v2beta1) and `/api`.
    pub aggregated: Rendered,
    pub aggregated_v2beta1: Rendered,
    pub aggregated_core: Rendered,
    pub aggregated_core_v2beta1: Rendered,
}

impl Documents {
    pub fn render(resources: &[ServedResource]) -> Self {
        let mut docs = BTreeMap::new();
        let mut gvs: Vec<(String, String)> = resources
            .iter()
            .map(|r| (r.group.clone(), r.version.clone()))
            .collect();
        gvs.dedup();
        for (g, v) in gvs {
            let path = if g.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{g}/{v}")
            };
            if let Some(doc) = openapi::document(resources, &path) {
                docs.insert(path, Rendered::of(&doc));
            }
        }
        let agg = discovery::aggregated(resources);
        let core = discovery::aggregated_core(resources);
        Self {
            openapi_root: Rendered::of(&openapi::root(resources)),
            openapi: docs,
            aggregated_v2beta1: Rendered::of(&discovery::in_format(
                agg.clone(),
                discovery::DiscoveryFormat::AggregatedV2Beta1,
            )),
            aggregated: Rendered::of(&agg),
            aggregated_core_v2beta1: Rendered::of(&discovery::in_format(
                core.clone(),
                discovery::DiscoveryFormat::AggregatedV2Beta1,
            )),
            aggregated_core: Rendered::of(&core),
        }
    }

    /// The aggregated document for `/apis` (`core` = false) or `/api`.
    pub fn aggregated(&self, core: bool, format: discovery::DiscoveryFormat) -> Option<&Rendered> {
        use discovery::DiscoveryFormat::*;
        match (core, format) {
            (_, Legacy) => None,
            (false, AggregatedV2) => Some(&self.aggregated),
            (false, AggregatedV2Beta1) => Some(&self.aggregated_v2beta1),
            (true, AggregatedV2) => Some(&self.aggregated_core),
            (true, AggregatedV2Beta1) => Some(&self.aggregated_core_v2beta1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_group_version_once() {
        let d = Documents::render(&crate::resources::served());
        assert_eq!(d.openapi.keys().collect::<Vec<_>>(), ["apis/tmc.kcp.io/v1alpha1"]);
        let root: serde_json::Value = serde_json::from_slice(&d.openapi_root.bytes).unwrap();
        let url = root["paths"]["apis/tmc.kcp.io/v1alpha1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(
            url.ends_with(&d.openapi["apis/tmc.kcp.io/v1alpha1"].hash),
            "{url}"
        );
        assert!(d.aggregated.etag.starts_with('"'));
    }
}
