//! The OCI image documents (config, manifest, index) and Docker's
//! `manifest.json`, as serde structs whose field order is fixed, with
//! sorted maps and compact output, so the same inputs give the same bytes.

use serde::Serialize;
use std::collections::BTreeMap;

/// Media type of the image manifest.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of the image config.
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of the image index.
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The `oci-layout` file of an image layout.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A content descriptor.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The image manifest.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType")]
    pub media_type: &'static str,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The image index of a layout.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType")]
    pub media_type: &'static str,
    pub manifests: Vec<Descriptor>,
}

/// The image config.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Config {
    pub created: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: &'static str,
    pub config: RunConfig,
    pub rootfs: RootFs,
    pub history: Vec<History>,
}

/// How a container of the image runs.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunConfig {
    #[serde(rename = "User")]
    pub user: String,
    #[serde(rename = "ExposedPorts")]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(rename = "Env")]
    pub env: Vec<String>,
    #[serde(rename = "Entrypoint")]
    pub entrypoint: Vec<String>,
    #[serde(rename = "WorkingDir")]
    pub working_dir: &'static str,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "StopSignal")]
    pub stop_signal: &'static str,
}

/// `{}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Empty {}

/// The layers' uncompressed digests.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RootFs {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub diff_ids: Vec<String>,
}

/// One step of the image's history.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct History {
    pub created: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One image in Docker's `manifest.json` (what `docker load` before 25
/// reads).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DockerManifest {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags")]
    pub repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// `value` as compact JSON. Serialising these structs cannot fail (no map
/// has a non-string key, no value is a float).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// `secs` since the Unix epoch as RFC 3339 in UTC (`1970-01-01T00:00:00Z`).
///
/// ```
/// use ccaas_deploy::image::rfc3339;
///
/// assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
/// assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
/// ```
pub fn rfc3339(secs: u64) -> String {
    ccaas_core::time::rfc3339(i64::try_from(secs).unwrap_or(i64::MAX), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_across_leap_years_and_centuries() {
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
