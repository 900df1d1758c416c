//! `aim.lock.yaml`: facts only a cluster or a registry knows (offline.md "Inputs"). `aimc lock`
//! fills it (src/lock); every other command only reads it.
//!
//! Every lookup the resolver makes goes through a method here that names the fact as a
//! [`Need`]. With a [`Ledger`] switched on (`aimc lock`), those needs are recorded, hit or
//! miss: the misses are what to fetch, the hits what to keep, everything else is pruned.

use super::index::path_segments;
use crate::api::aim::{ImageMetadata, ModelSource};
use crate::diag::{Diagnostic, Diagnostics, Location};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

/// The only `lockVersion` this aimc reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// One fact the tree needs from outside it, named by its lock-file key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// `registryListings.<source>`: every image of an AIMClusterModelSource's wildcard or
    /// untagged filters.
    Listing { source: String },
    /// `images.<reference>`: a model's image labels.
    Image { reference: String },
    /// `sizes.<uri>`: a source's size, with the S3 endpoint the operator's check-size Job
    /// would use.
    Size { uri: String, endpoint: Endpoint },
    /// `discovery[namespace, template]`: a template's discovery result.
    Discovery {
        namespace: Option<String>,
        template: String,
    },
    /// `uids.<key>`: an object's UID (`<Kind>/<namespace>/<name>`).
    Uid { key: String },
}

/// Where an `s3://` source is listed: the source's `AWS_ENDPOINT_URL`, as the check-size Job
/// would see it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// Not set (or not an `s3://` source): AWS itself.
    Default,
    /// Set as a plain value.
    Url(String),
    /// Set from a Secret or ConfigMap, whose value aimc does not know.
    Unknown,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Listing { source } => {
                write!(f, "the registry listing of AIMClusterModelSource {source}")
            }
            Need::Image { reference } => write!(f, "the labels of image {reference}"),
            Need::Size { uri, .. } => write!(f, "the size of {uri}"),
            Need::Discovery {
                namespace,
                template,
            } => match namespace {
                Some(ns) => write!(f, "the discovery result of template {ns}/{template}"),
                None => write!(f, "the discovery result of cluster template {template}"),
            },
            Need::Uid { key } => write!(f, "the UID of {key}"),
        }
    }
}

/// The needs a resolution asked the lock for, when recording (`aimc lock`); nothing and no
/// cost otherwise. Lookups happen on several threads, hence the mutex.
/// Each need maps to whether the output cannot be rendered without it (required) or is only
/// less complete (optional: an image whose labels would add generated templates beside the
/// ones in use).
#[derive(Debug, Default)]
pub struct Ledger(Option<Mutex<BTreeMap<Need, bool>>>);

impl Ledger {
    pub fn recording() -> Self {
        Ledger(Some(Mutex::new(BTreeMap::new())))
    }
    fn record(&self, required: bool, need: impl FnOnce() -> Need) {
        if let Some(m) = &self.0 {
            let need = need();
            let mut map = m.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *map.entry(need).or_default() |= required;
        }
    }
    /// Every need recorded so far, sorted.
    pub fn needs(&self) -> BTreeSet<Need> {
        self.snapshot().into_keys().collect()
    }
    /// The needs without which the output cannot be rendered.
    pub fn required(&self) -> BTreeSet<Need> {
        self.snapshot()
            .into_iter()
            .filter_map(|(n, required)| required.then_some(n))
            .collect()
    }
    fn snapshot(&self) -> BTreeMap<Need, bool> {
        match &self.0 {
            Some(m) => m.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            None => BTreeMap::new(),
        }
    }
}

/// A copy records into a ledger of its own: two resolutions never share one.
impl Clone for Ledger {
    fn clone(&self) -> Self {
        match self.0 {
            Some(_) => Ledger::recording(),
            None => Ledger::default(),
        }
    }
}

/// Whether a lookup was recorded says nothing about the facts: locks compare by content.
impl PartialEq for Ledger {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// An `images` entry: the `status.imageMetadata` the operator would write, plus the manifest
/// digest it was read from (absent when the entry came from a cluster export or by hand).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockedImage {
    pub digest: Option<String>,
    pub metadata: ImageMetadata,
}

/// By hand: `ImageMetadata` denies unknown fields (it is also a CRD field, where `digest`
/// is unknown), so `digest` is taken out before the rest is read.
impl<'de> Deserialize<'de> for LockedImage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let digest = match map.remove("digest") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "digest: expected a string like sha256:<64 hex>, found {other}"
                )))
            }
        };
        let metadata =
            serde_json::from_value(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(LockedImage { digest, metadata })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    /// The file format's version: [`LOCK_VERSION`]. Hand-written files may leave it out.
    #[serde(default)]
    pub lock_version: Option<u32>,
    /// Image metadata (the AIM labels of an image), by image reference as written in
    /// `spec.image` / `model.image`.
    #[serde(default)]
    pub images: BTreeMap<String, LockedImage>,
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
    /// What the resolver asked for (`aimc lock` only).
    #[serde(skip)]
    pub ledger: Ledger,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListedImage {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

/// What the discovery dry-run of one template reported.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Discovery {
    /// Template name; with `namespace` for an AIMServiceTemplate, without for a cluster one.
    pub template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// [`spec_hash`] of the template spec the entry was taken from; a mismatch is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_sources: Vec<ModelSource>,
    /// Required: discovery always reports a profile, and the GPU count comes from it.
    pub profile: DiscoveredProfile,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoveredProfile {
    #[serde(default)]
    pub metadata: ProfileMetadata,
    /// Kept for completeness; the operator never injects these into the InferenceService.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_args: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileMetadata {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub engine: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gpu: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gpu_count: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub precision: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
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
    /// Whether it holds no fact at all.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
            && self.discovery.is_empty()
            && self.sizes.is_empty()
            && self.registry_listings.is_empty()
            && self.uids.is_empty()
    }

    /// A model image's metadata, recorded as needed: `required` when the model's templates
    /// cannot be chosen without it.
    pub fn image(&self, reference: &str, required: bool) -> Option<&ImageMetadata> {
        self.ledger.record(required, || Need::Image {
            reference: reference.to_owned(),
        });
        self.images.get(reference).map(|i| &i.metadata)
    }

    /// A source's size in bytes (zero counts as unknown), recorded as needed.
    pub fn size(&self, uri: &str, endpoint: impl FnOnce() -> Endpoint) -> Option<i64> {
        self.ledger.record(true, || Need::Size {
            uri: uri.to_owned(),
            endpoint: endpoint(),
        });
        self.sizes
            .get(uri)
            .map(crate::api::quantity::Quantity::value)
            .filter(|v| *v != 0)
    }

    /// A model source's registry listing, recorded as needed.
    pub fn listing(&self, source: &str) -> Option<&[ListedImage]> {
        self.ledger.record(true, || Need::Listing {
            source: source.to_owned(),
        });
        self.registry_listings.get(source).map(Vec::as_slice)
    }

    /// An object's UID by lock key, recorded as needed.
    pub fn uid(&self, key: &str) -> Option<&str> {
        self.ledger.record(true, || Need::Uid {
            key: key.to_owned(),
        });
        self.uids.get(key).map(String::as_str)
    }

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
                if let Some(v) = l.lock_version.filter(|v| *v != LOCK_VERSION) {
                    let node = doc.locate(&["lockVersion".into()]);
                    diags.push(
                        Diagnostic::error(
                            "InvalidLockFile",
                            format!("aim.lock.yaml: lockVersion {v} is not one this aimc reads (it reads {LOCK_VERSION})"),
                        )
                        .at(Some(Location::new(rel, node.line, node.col)))
                        .help("use the aimc that wrote the file, or rewrite it with `aimc lock`"),
                    );
                    return Lock::default();
                }
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
                        .help("known keys: lockVersion, images, discovery, sizes, registryListings, uids (see the README)"),
                );
                Lock::default()
            }
        }
    }

    /// The discovery result of a template, recorded as needed (`required` unless the
    /// template is unavailable anyway, which no export will ever have a result for).
    pub fn discovery_for(
        &self,
        namespace: Option<&str>,
        template: &str,
        required: bool,
    ) -> Option<&Discovery> {
        self.ledger.record(required, || Need::Discovery {
            namespace: namespace.map(str::to_owned),
            template: template.to_owned(),
        });
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
            lock.discovery_for(Some("ns"), "t", true)
                .map(|d| d.model_sources.len()),
            Some(1)
        );
        assert!(lock.discovery_for(None, "t", true).is_none());
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
