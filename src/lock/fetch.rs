//! The one seam between `aimc lock` and the network (style.md §2): a trait with one method per
//! kind of fact. `lock::run` is the only caller; unit tests implement it with maps, the
//! loopback rig tests the real clients (`online`).

use super::FetchError;
use std::collections::BTreeMap;

/// What a registry holds for one image reference, after the operator's resolution: an index
/// resolves to its linux/amd64 child (a child without `platform` counts as linux/amd64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConfig {
    /// `sha256:…` of the manifest whose config was read (the linux/amd64 child of an index).
    pub digest: String,
    /// The config blob's `config.Labels`; `None` when the config has no `Labels` key.
    pub labels: Option<BTreeMap<String, String>>,
}

/// The bytes below an `s3://bucket/key` prefix, summed over every ListObjectsV2 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Usage {
    /// Keys starting with `key` as written: what `s3cmd du s3://bucket/key` counts.
    pub bytes: u64,
    /// Keys starting with `key/` only, so that a sibling prefix (`llama-v2/` beside `llama/`)
    /// can be reported.
    pub bytes_below_slash: u64,
    pub objects: u64,
}

/// One method per kind of need. Every error names the server and the reference, and the
/// credential's source, never its value.
pub trait Fetch: Sync {
    /// The manifest digest and config labels of `reference` (as written in `spec.image`,
    /// parsed as ggcr's `name.ParseReference`: default registry `index.docker.io`, default
    /// tag `latest`).
    fn image(&self, reference: &str) -> Result<ImageConfig, FetchError>;
    /// Every repository of `registry` (`/v2/_catalog`, `Link` paging followed), in registry
    /// order.
    fn catalog(&self, registry: &str) -> Result<Vec<String>, FetchError>;
    /// Every tag of `registry/repository` (`/v2/<repo>/tags/list`, `n`/`last` passed, `Link`
    /// followed), in registry order.
    fn tags(&self, registry: &str, repository: &str) -> Result<Vec<String>, FetchError>;
    /// The bytes below an `s3://bucket/key` URI. `endpoint` is the source's
    /// `AWS_ENDPOINT_URL` (`--s3-endpoint` overrides it inside the client); `None`: AWS.
    fn s3_usage(&self, uri: &str, endpoint: Option<&str>) -> Result<S3Usage, FetchError>;
    /// The sum of `siblings[].size` of an `hf://org/name` model (a missing size counts 0).
    fn hf_size(&self, uri: &str) -> Result<u64, FetchError>;
}
