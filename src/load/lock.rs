//! `aim.lock.yaml`: facts only a cluster or a registry knows (offline.md "Inputs"). A user
//! fills it from a live cluster or by hand; aimc never fetches anything.

use super::index::path_segments;
use crate::api::aim::{ImageMetadata, ModelSource};
use crate::diag::{Diagnostic, Diagnostics, Location};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    /// Image metadata (the AIM labels of an image), by image reference as written in
    /// `spec.image` / `model.image`.
    #[serde(default)]
    pub images: BTreeMap<String, ImageMetadata>,
    /// Template discovery results, for templates without `spec.modelSources`.
    #[serde(default)]
    pub discovery: Vec<Discovery>,
    /// Model sizes by source URI, for sources without `size`.
    #[serde(default)]
    pub sizes: BTreeMap<String, crate::api::quantity::Quantity>,
    /// Registry listings for AIMClusterModelSources with wildcard or semver filters, by
    /// source name, in the order the registry returns them.
    #[serde(default)]
    pub registry_listings: BTreeMap<String, Vec<ListedImage>>,
    /// Object UIDs by `<Kind>/<namespace>/<name>` (`<Kind>/<name>` for cluster objects).
    #[serde(default)]
    pub uids: BTreeMap<String, String>,
    /// Where each discovery entry is written (line, column), for stale-entry warnings.
    #[serde(skip)]
    pub discovery_positions: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedImage {
    #[serde(default)]
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

/// What the discovery dry-run of one template reported.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Discovery {
    /// Template name; with `namespace` for an AIMServiceTemplate, without for a cluster one.
    pub template: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// [`spec_hash`] of the template spec the entry was taken from; a mismatch is stale.
    #[serde(default)]
    pub spec_hash: Option<String>,
    #[serde(default)]
    pub model_sources: Vec<ModelSource>,
    /// Required: discovery always reports a profile, and the GPU count comes from it.
    pub profile: DiscoveredProfile,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoveredProfile {
    #[serde(default)]
    pub metadata: ProfileMetadata,
    /// Kept for completeness; the operator never injects these into the InferenceService.
    #[serde(default)]
    pub engine_args: Option<serde_json::Value>,
    #[serde(default)]
    pub env_vars: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileMetadata {
    #[serde(default)]
    pub engine: String,
    #[serde(default)]
    pub gpu: String,
    #[serde(default)]
    pub gpu_count: i32,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub precision: String,
    #[serde(default)]
    pub r#type: String,
}

/// The discovery spec hash (cache-model.md §4.6): first 8 bytes of
/// `sha256(modelName + image + metric + precision + gpuModel + gpuRequests + profileId)`, hex.
pub fn spec_hash(
    model_name: &str,
    image: &str,
    metric: &str,
    precision: &str,
    gpu_model: &str,
    gpu_requests: i32,
    profile_id: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        model_name,
        image,
        metric,
        precision,
        gpu_model,
        &gpu_requests.to_string(),
        profile_id,
    ] {
        h.update(part.as_bytes());
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Lock {
    pub fn parse(rel: &Path, text: &str, diags: &mut Diagnostics) -> Lock {
        let docs = super::parse_documents(rel, text, diags);
        let Some(doc) = docs.first() else {
            return Lock::default();
        };
        let json = match doc.to_json() {
            Ok(j) => j,
            Err((line, col, msg)) => {
                diags.push(
                    Diagnostic::error("InvalidLockFile", msg)
                        .at(Some(Location::new(rel, line, col))),
                );
                return Lock::default();
            }
        };
        match serde_path_to_error::deserialize::<_, Lock>(&json) {
            Ok(mut l) => {
                l.discovery_positions = (0..l.discovery.len())
                    .map(|i| {
                        let n = doc.locate(&["discovery".into(), super::yaml::Seg::Index(i)]);
                        (n.line, n.col)
                    })
                    .collect();
                l
            }
            Err(e) => {
                let path = path_segments(e.path());
                let node = doc.locate(&path);
                diags.push(
                    Diagnostic::error("InvalidLockFile", format!("aim.lock.yaml: {}: {}", e.path(), e.inner()))
                        .at(Some(Location::new(rel, node.line, node.col)))
                        .help("known keys: images, discovery, sizes, registryListings, uids (see the README)"),
                );
                Lock::default()
            }
        }
    }

    pub fn discovery_for(&self, namespace: Option<&str>, template: &str) -> Option<&Discovery> {
        self.discovery
            .iter()
            .find(|d| d.template == template && d.namespace.as_deref() == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section_and_rejects_unknown_keys() {
        let text = "images:\n  ghcr.io/a/b:1:\n    model:\n      recommendedDeployments: [{gpuModel: MI300X, gpuCount: 1}]\n\
discovery:\n  - template: t\n    namespace: ns\n    specHash: abc\n    modelSources: [{modelId: a/b, sourceUri: hf://a/b, size: 2Gi}]\n    profile: {metadata: {gpu: MI300X, gpuCount: 1, type: optimized}}\n\
sizes:\n  hf://a/b: 1073741824\nregistryListings:\n  src: [{registry: docker.io, repository: amdenterpriseai/aim-x, tag: 0.1.0}]\n\
uids:\n  AIMService/ns/s: 5f0c9a3e-1111-2222-3333-444455556666\n";
        let mut d = Diagnostics::default();
        let lock = Lock::parse(Path::new("aim.lock.yaml"), text, &mut d);
        assert!(d.is_empty(), "{:?}", d.iter().collect::<Vec<_>>());
        assert_eq!(
            lock.discovery_for(Some("ns"), "t")
                .map(|d| d.model_sources.len()),
            Some(1)
        );
        assert!(lock.discovery_for(None, "t").is_none());
        assert_eq!(lock.uids.len(), 1);
        assert_eq!(lock.registry_listings["src"][0].tag, "0.1.0");

        let mut d = Diagnostics::default();
        Lock::parse(Path::new("aim.lock.yaml"), "images: {}\nsize: {}\n", &mut d);
        let diag = d.iter().next().expect("unknown key is an error");
        assert_eq!(
            (diag.code, diag.location.as_ref().map(|l| l.line)),
            ("InvalidLockFile", Some(2))
        );
    }

    #[test]
    fn spec_hash_is_stable_and_sensitive() {
        let a = spec_hash("m", "img:1", "latency", "fp8", "MI300X", 1, "");
        assert_eq!(a.len(), 16);
        assert_eq!(
            a,
            spec_hash("m", "img:1", "latency", "fp8", "MI300X", 1, "")
        );
        assert_ne!(
            a,
            spec_hash("m", "img:1", "latency", "fp8", "MI300X", 2, "")
        );
    }
}
