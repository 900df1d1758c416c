//! A small distribution v2 client (lock.md "Image labels", "Listings"): a manifest (an index
//! resolves to linux/amd64), its config blob's labels, the catalog and tag lists with `Link`
//! paging.

use super::auth::{Authed, Target};
use super::http::{is_loopback, resolve_url};
use super::Online;
use crate::lock::{FetchError, ImageConfig};
use crate::resolve::model_source::parse_image_reference;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Every manifest GET sends all four: distribution 2.8.2 answers an OCI manifest asked
/// without its type with 404, a Docker one with a schema-1 conversion (tests/rig/README.md).
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// A registry that pages forever is cut here.
const MAX_PAGES: usize = 100_000;

/// ggcr's Docker Hub spellings: the name in references and the host that serves the API.
const DOCKER_HUB: &str = "index.docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

impl Online {
    pub(super) fn registry_image(&self, reference: &str) -> Result<ImageConfig, FetchError> {
        let (registry, repository, id) =
            parse_image_reference(reference.trim()).ok_or_else(|| {
                FetchError::new(format!("image {reference}"), "not an image reference")
            })?;
        let subject = format!("registry {registry}: image {reference}");
        let target = Target {
            registry: &registry,
            repository: Some(&repository),
            subject: &subject,
        };
        let base = self.api_base(&registry, &repository);
        let (digest, manifest, credential) = self.manifest(&target, &base, &id)?;
        let (digest, manifest) = match child_for_amd64(&manifest) {
            Some(Ok(child)) => {
                let (d, m, _) = self.manifest(&target, &base, &child)?;
                (d, m)
            }
            Some(Err(why)) => {
                return Err(FetchError::new(&subject, why).credential(credential));
            }
            None => (digest, manifest),
        };
        let config = manifest
            .pointer("/config/digest")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FetchError::new(&subject, format!("manifest {digest} has no config digest"))
                    .credential(credential.clone())
            })?;
        let blob = self.blob(&target, &base, config)?;
        let labels = labels_of(&blob).map_err(|why| {
            FetchError::new(&subject, format!("config {config}: {why}")).credential(credential)
        })?;
        Ok(ImageConfig { digest, labels })
    }

    pub(super) fn registry_catalog(&self, registry: &str) -> Result<Vec<String>, FetchError> {
        let registry = registry_name(registry);
        let subject = format!("registry {registry}: catalog");
        let target = Target {
            registry: &registry,
            repository: None,
            subject: &subject,
        };
        let url = format!(
            "{}/_catalog?n={}",
            self.api_base(&registry, ""),
            self.page_size
        );
        self.paged(&target, url, "repositories")
    }

    pub(super) fn registry_tags(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Vec<String>, FetchError> {
        let registry = registry_name(registry);
        let repository = match repository.contains('/') || registry != DOCKER_HUB {
            true => repository.to_string(),
            false => format!("library/{repository}"),
        };
        let subject = format!("registry {registry}: tags of {repository}");
        let target = Target {
            registry: &registry,
            repository: Some(&repository),
            subject: &subject,
        };
        let base = self.api_base(&registry, &repository);
        let url = format!("{base}/tags/list?n={}", self.page_size);
        self.paged(&target, url, "tags")
    }

    /// `http(s)://host/v2` (with `/<repository>` when given): plain http for loopback and
    /// `--insecure-registry` hosts, as ggcr does for them.
    fn api_base(&self, registry: &str, repository: &str) -> String {
        let host = if registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            registry
        };
        let bare = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let insecure = is_loopback(bare)
            || self
                .insecure_registries
                .iter()
                .any(|h| h.eq_ignore_ascii_case(registry) || h.eq_ignore_ascii_case(bare));
        let scheme = if insecure { "http" } else { "https" };
        match repository {
            "" => format!("{scheme}://{host}/v2"),
            repo => format!("{scheme}://{host}/v2/{repo}"),
        }
    }

    /// A manifest by tag or digest: (digest, JSON, credential source). The digest is the
    /// sha256 of the body, which must match `Docker-Content-Digest` and a requested digest.
    fn manifest(
        &self,
        target: &Target<'_>,
        base: &str,
        id: &str,
    ) -> Result<(String, Value, Option<String>), FetchError> {
        let url = format!("{base}/manifests/{id}");
        let Authed { resp, credential } = self.registry_get(target, &url, Some(MANIFEST_ACCEPT))?;
        let fail =
            |why: String| FetchError::new(target.subject, why).credential(credential.clone());
        if resp.status != 200 {
            return Err(status_error(
                target,
                &resp,
                credential.clone(),
                &format!("manifest {id}"),
            ));
        }
        let digest = sha256_digest(&resp.body);
        if let Some(said) = resp.header("docker-content-digest") {
            if said.starts_with("sha256:") && said != digest {
                return Err(fail(format!(
                    "manifest {id}: Docker-Content-Digest {said} is not the body's {digest}"
                )));
            }
        }
        if id.starts_with("sha256:") && id != digest {
            return Err(fail(format!(
                "manifest {id}: the body's digest is {digest}"
            )));
        }
        let json = serde_json::from_slice(&resp.body)
            .map_err(|e| fail(format!("manifest {id} is not JSON: {e}")))?;
        Ok((digest, json, credential))
    }

    fn blob(&self, target: &Target<'_>, base: &str, digest: &str) -> Result<Vec<u8>, FetchError> {
        let url = format!("{base}/blobs/{digest}");
        let Authed { resp, credential } = self.registry_get(target, &url, None)?;
        if resp.status != 200 {
            return Err(status_error(
                target,
                &resp,
                credential,
                &format!("config blob {digest}"),
            ));
        }
        if digest.starts_with("sha256:") && sha256_digest(&resp.body) != digest {
            return Err(FetchError::new(
                target.subject,
                format!("config blob {digest}: the body does not have that digest"),
            )
            .credential(credential));
        }
        Ok(resp.body)
    }

    /// Every page of a listing: `n` passed, `Link: <…>; rel="next"` followed (relative to the
    /// answering URL), items in registry order.
    fn paged(
        &self,
        target: &Target<'_>,
        first: String,
        key: &str,
    ) -> Result<Vec<String>, FetchError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(FetchError::new(target.subject, "the listing does not end"));
            }
            let Authed { resp, credential } = self.registry_get(target, &url, None)?;
            if resp.status != 200 {
                return Err(status_error(target, &resp, credential, "listing"));
            }
            let page: Value = serde_json::from_slice(&resp.body).map_err(|e| {
                FetchError::new(target.subject, format!("the listing is not JSON: {e}"))
                    .credential(credential.clone())
            })?;
            let list = page.get(key).and_then(Value::as_array);
            items.extend(
                list.into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(String::from),
            );
            next = resp
                .header("link")
                .and_then(next_link)
                .map(|l| resolve_url(&resp.url, &l))
                .filter(|n| *n != url);
        }
        Ok(items)
    }
}

/// `docker.io` and friends as ggcr names Docker Hub.
fn registry_name(registry: &str) -> String {
    match registry.trim().trim_end_matches('/') {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        r => r.to_string(),
    }
}

pub(super) fn sha256_digest(body: &[u8]) -> String {
    let hash = Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The child of an index that the operator pulls: the first `linux/amd64` one, where a child
/// without `platform` counts as `linux/amd64` (attestations say `unknown/unknown`). `None` when
/// `manifest` is not an index.
fn child_for_amd64(manifest: &Value) -> Option<Result<String, String>> {
    let children = manifest.get("manifests")?.as_array()?;
    let fits = |child: &&Value| match child.get("platform") {
        None | Some(Value::Null) => true,
        Some(p) => {
            p.get("os").and_then(Value::as_str) == Some("linux")
                && p.get("architecture").and_then(Value::as_str) == Some("amd64")
        }
    };
    Some(
        children
            .iter()
            .find(fits)
            .and_then(|c| c.get("digest")?.as_str())
            .map(String::from)
            .ok_or_else(|| "the image index has no linux/amd64 manifest".to_string()),
    )
}

/// `config.Labels` of a config blob; `None` when the key is absent (or null, Go's nil map).
fn labels_of(blob: &[u8]) -> Result<Option<BTreeMap<String, String>>, String> {
    let v: Value = serde_json::from_slice(blob).map_err(|e| format!("not JSON: {e}"))?;
    match v.pointer("/config/Labels") {
        None | Some(Value::Null) => Ok(None),
        Some(labels) => serde_json::from_value(labels.clone())
            .map(Some)
            .map_err(|e| format!("config.Labels is not a map of strings: {e}")),
    }
}

/// The target of `rel="next"` in a `Link` header (RFC 8288; several links may be listed).
pub(super) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
        let next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        next.then(|| target.to_string())
    })
}

/// The registry's answer, other than 200 and 401, as an error naming what was asked.
fn status_error(
    target: &Target<'_>,
    resp: &super::http::Response,
    credential: Option<String>,
    what: &str,
) -> FetchError {
    let code = serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| v.pointer("/errors/0/code")?.as_str().map(String::from));
    let reason = match (resp.status, code.as_deref()) {
        (404, Some("MANIFEST_UNKNOWN")) => format!("{what}: not found (MANIFEST_UNKNOWN)"),
        (404, Some("NAME_UNKNOWN")) => {
            format!(
                "repository {} not found (NAME_UNKNOWN)",
                target.repository.unwrap_or("?")
            )
        }
        (404, Some("BLOB_UNKNOWN")) => format!("{what}: not found (BLOB_UNKNOWN)"),
        (403, _) => format!("{what}: access denied (403)"),
        (status, _) => format!(
            "{what}: the registry answered {status}: {}",
            resp.body_snippet()
        ),
    };
    let transient = resp.status == 429 || resp.status >= 500;
    FetchError::new(target.subject, reason)
        .credential(credential)
        .transient(transient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn link_next_relative_and_among_others() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=a%2Fb&n=2>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=a%2Fb&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next_link(r#"<https://x/prev>; rel="prev""#), None);
    }

    #[test]
    fn index_resolves_to_linux_amd64_never_arm64_or_attestations() {
        let buildx = json!({"manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        ]});
        assert_eq!(child_for_amd64(&buildx), Some(Ok("sha256:amd".into())));
        let no_platform = json!({"manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:none"},
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        ]});
        assert_eq!(
            child_for_amd64(&no_platform),
            Some(Ok("sha256:none".into()))
        );
        let arm_only = json!({"manifests": [
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}}]});
        assert!(matches!(child_for_amd64(&arm_only), Some(Err(_))));
        assert_eq!(child_for_amd64(&json!({"config": {}})), None);
    }

    #[test]
    fn labels_absent_null_and_present() {
        assert_eq!(labels_of(br#"{"config":{"Env":[]}}"#), Ok(None));
        assert_eq!(labels_of(br#"{"config":{"Labels":null}}"#), Ok(None));
        let got = labels_of(br#"{"config":{"Labels":{"a":"1"}}}"#).expect("labels");
        assert_eq!(
            got,
            Some(BTreeMap::from([("a".to_string(), "1".to_string())]))
        );
        assert!(labels_of(b"not json").is_err());
    }

    #[test]
    fn docker_hub_names() {
        assert_eq!(registry_name("docker.io"), "index.docker.io");
        assert_eq!(registry_name("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn api_hosts_and_schemes() {
        let online = Online::new(super::super::OnlineOptions {
            insecure_registries: vec!["reg.lan:5000".into()],
            s3_endpoint: None,
            timeout: std::time::Duration::from_secs(1),
            env: BTreeMap::new(),
        })
        .expect("online");
        let (registry, repo, tag) = parse_image_reference("ubuntu").expect("ref");
        assert_eq!((tag.as_str(), repo.as_str()), ("latest", "library/ubuntu"));
        assert_eq!(
            online.api_base(&registry, &repo),
            "https://registry-1.docker.io/v2/library/ubuntu"
        );
        assert_eq!(online.api_base("ghcr.io", "o/r"), "https://ghcr.io/v2/o/r");
        assert_eq!(
            online.api_base("127.0.0.1:5000", ""),
            "http://127.0.0.1:5000/v2"
        );
        assert_eq!(
            online.api_base("reg.lan:5000", "a/b"),
            "http://reg.lan:5000/v2/a/b"
        );
        assert_eq!(online.api_base("reg.lan", "a/b"), "https://reg.lan/v2/a/b");
        let (_, _, digest) =
            parse_image_reference(&format!("r.io/a/b@sha256:{}", "a".repeat(64))).expect("ref");
        assert_eq!(digest, format!("sha256:{}", "a".repeat(64)));
    }
}
