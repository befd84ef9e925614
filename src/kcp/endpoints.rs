//! Finding an APIExport's virtual workspace: kcp publishes one URL per shard in
//! the `APIExportEndpointSlice` of the same name as the export, and only once
//! at least one APIBinding to the export exists on that shard.

use std::time::Duration;

use serde_json::Value;

use super::{Kcp, KcpError};

/// The virtual-workspace URLs listed in an endpoint slice's status.
pub fn endpoint_urls(slice: &Value) -> Vec<String> {
    slice["status"]["endpoints"]
        .as_array()
        .map(|eps| {
            eps.iter()
                .filter_map(|e| e["url"].as_str())
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the endpoint slice once.
pub async fn read_endpoints(
    kcp: &Kcp,
    provider_workspace: &str,
    export: &str,
) -> Result<Vec<String>, KcpError> {
    let client = kcp.workspace_client(provider_workspace)?;
    let req = http::Request::get(format!(
        "/apis/apis.kcp.io/v1alpha1/apiexportendpointslices/{export}"
    ))
    .body(Vec::new())
    .map_err(|e| KcpError::Unexpected(e.to_string()))?;
    match client.request::<Value>(req).await {
        Ok(slice) => Ok(endpoint_urls(&slice)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Waits until the export has a virtual workspace, logging why it waits.
pub async fn wait_for_endpoints(kcp: &Kcp, provider_workspace: &str, export: &str) -> Vec<String> {
    let mut logged = false;
    loop {
        match read_endpoints(kcp, provider_workspace, export).await {
            Ok(urls) if !urls.is_empty() => {
                tracing::info!(export, ?urls, "found the APIExport's virtual workspace");
                return urls;
            }
            Ok(_) => {
                if !logged {
                    tracing::info!(
                        export,
                        workspace = provider_workspace,
                        "waiting for the APIExport's virtual workspace: kcp publishes it once a workspace binds the export"
                    );
                    logged = true;
                }
            }
            Err(e) => {
                tracing::warn!(export, error = %e, "reading the APIExportEndpointSlice failed; retrying")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_urls_from_status() {
        let slice = json!({"status": {"endpoints": [
            {"url": "https://127.0.0.1:6443/services/apiexport/abc/tmc.kcp.io/"},
            {"url": "https://10.0.0.2:6443/services/apiexport/abc/tmc.kcp.io"}]}});
        assert_eq!(
            endpoint_urls(&slice),
            [
                "https://127.0.0.1:6443/services/apiexport/abc/tmc.kcp.io",
                "https://10.0.0.2:6443/services/apiexport/abc/tmc.kcp.io"
            ]
        );
        assert!(endpoint_urls(&json!({"status": {}})).is_empty());
        assert!(endpoint_urls(&json!({})).is_empty());
    }
}
