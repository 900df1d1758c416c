//! The network clients of `aimc lock` (feature `online`): one HTTP layer ([`http`]) under a
//! registry v2 client, an S3 ListObjectsV2 client and a Hugging Face Hub client, joined in
//! [`Online`], the real [`Fetch`].

mod auth;
mod hf;
mod http;
mod keychain;
mod registry;
mod s3;
mod sigv4;

use crate::lock::{Fetch, FetchError, ImageConfig, S3Usage};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The environment variables the clients read; [`OnlineOptions::from_process_env`] snapshots
/// them so that tests can pass their own.
pub const ENV_KEYS: &[&str] = &[
    "DOCKER_CONFIG",
    "HOME",
    // Where `docker-credential-*` helpers are found.
    "PATH",
    "REGISTRY_AUTH_FILE",
    "XDG_RUNTIME_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "HF_TOKEN",
    "HF_ENDPOINT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Registry listings ask for this many entries a page (distribution rejects more than 1000).
const PAGE_SIZE: usize = 1000;

#[derive(Clone)]
pub struct OnlineOptions {
    /// Hosts (`host` or `host:port`) reached over plain http (`--insecure-registry`).
    pub insecure_registries: Vec<String>,
    /// `--s3-endpoint`: replaces every source's `AWS_ENDPOINT_URL`.
    pub s3_endpoint: Option<String>,
    /// The whole of one request, connection included.
    pub timeout: Duration,
    /// The variables of [`ENV_KEYS`] that are set.
    pub env: BTreeMap<String, String>,
}

// By hand: the env snapshot holds secrets (AWS_SECRET_ACCESS_KEY, HF_TOKEN).
impl std::fmt::Debug for OnlineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineOptions")
            .field("insecure_registries", &self.insecure_registries)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("timeout", &self.timeout)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl OnlineOptions {
    pub fn from_process_env() -> Self {
        let env = ENV_KEYS
            .iter()
            .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
            .collect();
        OnlineOptions {
            insecure_registries: Vec::new(),
            s3_endpoint: None,
            timeout: Duration::from_secs(60),
            env,
        }
    }
}

/// The real [`Fetch`]: `Sync`, so `aimc lock` can call it from several threads; registry
/// tokens are shared between them.
pub struct Online {
    http: http::Http,
    env: BTreeMap<String, String>,
    insecure_registries: Vec<String>,
    s3_endpoint: Option<String>,
    page_size: usize,
    tokens: Mutex<BTreeMap<(String, String), auth::CachedAuth>>,
}

impl Online {
    /// Fails only on a malformed proxy variable.
    pub fn new(options: OnlineOptions) -> Result<Online, String> {
        let http = http::Http::new(&http::HttpConfig {
            timeout: options.timeout,
            insecure_hosts: &options.insecure_registries,
            env: &options.env,
        })?;
        Ok(Online {
            http,
            env: options.env,
            insecure_registries: options.insecure_registries,
            s3_endpoint: options.s3_endpoint,
            page_size: PAGE_SIZE,
            tokens: Mutex::new(BTreeMap::new()),
        })
    }

    /// Listing page size (`n`), for tests that want to see many pages.
    #[doc(hidden)]
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }
}

impl Fetch for Online {
    fn image(&self, reference: &str) -> Result<ImageConfig, FetchError> {
        self.registry_image(reference)
    }
    fn catalog(&self, registry: &str) -> Result<Vec<String>, FetchError> {
        self.registry_catalog(registry)
    }
    fn tags(&self, registry: &str, repository: &str) -> Result<Vec<String>, FetchError> {
        self.registry_tags(registry, repository)
    }
    fn s3_usage(&self, uri: &str, endpoint: Option<&str>) -> Result<S3Usage, FetchError> {
        self.s3_list_usage(uri, endpoint)
    }
    fn hf_size(&self, uri: &str) -> Result<u64, FetchError> {
        self.hf_model_size(uri)
    }
}

/// A transport failure (or a refused plain-http URL) as a fetch error about `subject`.
fn transport_error(subject: &str, e: &http::HttpError, credential: Option<String>) -> FetchError {
    FetchError::new(subject, e.message())
        .credential(credential)
        .transient(e.transient())
}
