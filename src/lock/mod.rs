//! `aimc lock`: the one command that goes online (lock.md). It fills `aim.lock.yaml` with the
//! facts the resolver reports as needs, and writes nothing else.
//!
//! Everything but the clients is always built: needs, merge, prune, the file's one writer,
//! the cluster-export import and `--check --offline`. The clients (HTTP, registry, S3, Hub)
//! sit behind the default-on `online` feature, so a render-only build (the Argo CD sidecar
//! image) leaves the network out.

pub mod cluster;
pub mod error;
pub mod fetch;
pub mod labels;
pub mod run;
pub mod write;

pub use error::FetchError;
pub use fetch::{Fetch, ImageConfig, S3Usage};

#[cfg(feature = "online")]
pub mod online;
