//! AIMClusterModelSource planning (cache-model.md §3, offline.md): which AIMClusterModels the
//! operator's `cluster-model-source` controller creates, byte for byte.
//!
//! The operator enumerates images per filter against a live registry (§3.4). aimc never does:
//!
//! * a filter with an explicit tag (`repo:tag`, no `*`) is a *static* image and needs nothing;
//! * every other filter (a `*` pattern, or a bare repository whose tags the operator would list
//!   and match against `versions`) needs the source's registry listing from the lock file, and
//!   fails with [`CatalogError::NeedsRegistryListing`] without one.
//!
//! # Lock shape (one source)
//!
//! ```yaml
//! registryListings:
//!   <AIMClusterModelSource name>:
//!     - {registry: docker.io, repository: amdenterpriseai/aim-qwen-qwen3-32b, tag: 0.8.5}
//!     - {registry: ghcr.io,   repository: silogen/aim-llama,                  tag: 1.0.0}
//! ```
//!
//! One flat list per source, in the order the registry returns the images (repositories, then
//! the tags of each). Every non-static filter takes, in list order, the entries its own
//! enumeration would have returned ([`filter_listing`]: same registry, same Docker Hub
//! namespace / GitHub org, and §3.3 matching with that filter's `exclude` and `versions`), so a
//! raw dump of the registry works as well as a hand-picked list. An entry whose `registry` is
//! empty or omitted is taken to come from the source's `spec.registry`. Docker Hub entries are
//! spelled `docker.io`, as the operator's Docker Hub client does.

use crate::naming::{derived_name, HashInput};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Default registry of the CRD (`spec.registry`) and of §3.4's enumeration.
pub const DOCKER_HUB: &str = "docker.io";
/// Label carried by every generated model; the operator finds "existing" models through it.
pub const LABEL_MODEL_SOURCE: &str = "aim.eai.amd.com/model-source";
pub const LABEL_ORIGIN: &str = "aim.eai.amd.com/origin";
pub const ORIGIN_AUTO_GENERATED: &str = "auto-generated";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "aim-cluster-model-source-controller";
pub const LABEL_OWNER_NAME: &str = "aim.eai.amd.com/cluster-model-source.name";
pub const ANNOTATION_REGISTRY: &str = "aim.eai.amd.com/source-registry";
pub const ANNOTATION_REPOSITORY: &str = "aim.eai.amd.com/source-repository";
pub const ANNOTATION_TAG: &str = "aim.eai.amd.com/source-tag";
const AIM_LABEL_PREFIX: &str = "aim.eai.amd.com/";
/// CRD `maxLength` of `filters[].image`.
const MAX_FILTER_LEN: usize = 512;

/// One registry image as a listing (lock file) gives it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: String,
}

impl ImageRef {
    pub fn new(registry: &str, repository: &str, tag: &str) -> Self {
        ImageRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.to_string(),
        }
    }

    /// §3.5 image URI (the generated model's `spec.image`): `repository:tag` for `docker.io`
    /// or an empty registry, else `registry/repository:tag`.
    pub fn uri(&self) -> String {
        if self.registry.is_empty() || self.registry == DOCKER_HUB {
            format!("{}:{}", self.repository, self.tag)
        } else {
            format!("{}/{}:{}", self.registry, self.repository, self.tag)
        }
    }
}

/// A parsed `filters[].image` (§3.2), plus the registry §3.4 enumerates it against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The filter string as written.
    pub image: String,
    /// Registry named by the filter; `""` when none (Docker Hub names are dropped unless the
    /// filter has a `*`, as the operator does).
    pub registry: String,
    /// Repository pattern (`*` = any run of characters, `/` included).
    pub repository: String,
    /// Explicit tag; `""` when none. Wildcard filters never have one.
    pub tag: String,
    pub has_wildcard: bool,
    /// §3.4 registry: the filter's, else the source's `spec.registry`, else `docker.io`.
    pub source_registry: String,
}

impl Filter {
    /// `repo:tag` without `*`: one image, no registry call, `exclude`/`versions` not applied.
    pub fn is_static(&self) -> bool {
        !self.tag.is_empty()
    }
}

/// Why a source cannot be planned (offline) or one of its filters cannot be enumerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogError {
    /// A wildcard or tag-listing filter and no lock listing for the source.
    NeedsRegistryListing { filter: String },
    /// The filter can never be enumerated (the operator reports it as a failed filter), or a
    /// version constraint would crash the operator.
    InvalidFilter { filter: String, reason: String },
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::NeedsRegistryListing { filter } => write!(
                f,
                "filter {filter:?} needs registry listing: the operator lists the registry for \
                 wildcard and untagged filters; add the images to `registryListings` in \
                 aim.lock.yaml, or pin the filter to `repository:tag`"
            ),
            CatalogError::InvalidFilter { filter, reason } => {
                write!(f, "filter {filter:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for CatalogError {}

/// What a source needs to be planned offline (CRD defaults already applied).
pub struct SourceInput<'a> {
    /// `metadata.name` of the AIMClusterModelSource.
    pub name: &'a str,
    /// The source's labels (§1.4 propagation).
    pub labels: &'a BTreeMap<String, String>,
    /// `spec.registry` after the CRD default `docker.io`.
    pub registry: &'a str,
    /// `spec.filters[]` as `(image, exclude, versions)`.
    pub filters: &'a [(String, Vec<String>, Vec<String>)],
    /// `spec.versions` (global constraints).
    pub versions: &'a [String],
    /// `spec.maxModels` after the CRD default 100.
    pub max_models: usize,
    /// `spec.imagePullSecrets[].name`, in order.
    pub image_pull_secrets: &'a [String],
    /// §1.4 runtime-config rule: a non-`aim.eai.amd.com/` label key of the source is also copied
    /// when this returns true (pass the `labelPropagation.match` test of the merged runtime
    /// config when it is enabled). `None` copies only `aim.eai.amd.com/*` labels, which is all
    /// §3.5 lists.
    pub propagate_label: Option<&'a dyn Fn(&str) -> bool>,
}

/// One AIMClusterModel the source creates.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedModel {
    /// `metadata.name`: `derivedName([repository, tag], [registry, repository, tag], 6)`.
    pub name: String,
    /// The exact `spec.image` string the operator writes.
    pub image: String,
    /// The registry image it was generated from.
    pub image_ref: ImageRef,
    /// Final labels incl. §1.4 stamping.
    pub labels: BTreeMap<String, String>,
    /// `aim.eai.amd.com/source-{registry,repository,tag}` (always all three, even if empty).
    pub annotations: BTreeMap<String, String>,
    /// `spec` in the operator's field order: `image`, then `imagePullSecrets` (omitted when
    /// empty; an empty secret name serialises as `{}`, Go's `omitempty`). No `discovery`, no
    /// `runtimeConfigName`. The owner is the source: see [`owner_reference`].
    pub spec: Value,
}

/// A source's plan plus the status counters the operator derives from it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePlan {
    /// Models to create, in plan order (filters in order, images in listing order), one per
    /// distinct image.
    pub models: Vec<GeneratedModel>,
    /// `status.discoveredModels`: existing + planned (a duplicate image counts twice, as it
    /// does in the operator).
    pub discovered_models: usize,
    /// `status.availableModels`: images returned by all filters, duplicates counted.
    pub available_models: usize,
    /// `status.modelsLimitReached`.
    pub models_limit_reached: bool,
    /// Filters the operator would report as failed (`SomeFiltersFailed` / `AllFiltersFailed`);
    /// the other filters still produce models.
    pub filter_errors: Vec<CatalogError>,
}

/// §3.2 `parseFilter`. `default_registry` is the source's `spec.registry` (only used for
/// [`Filter::source_registry`]). Errors for an empty filter or one longer than the CRD's 512
/// characters; every other string parses (the operator falls back to the raw string as the
/// repository pattern).
pub fn parse_filter(image: &str, default_registry: &str) -> Result<Filter, String> {
    if image.is_empty() {
        return Err("empty image filter".to_string());
    }
    if image.chars().count() > MAX_FILTER_LEN {
        return Err(format!(
            "image filter is longer than {MAX_FILTER_LEN} characters"
        ));
    }
    let has_wildcard = image.contains('*');
    let (registry, repository, tag) = if has_wildcard {
        match image.split_once('/') {
            Some((first, rest)) if !first.is_empty() && first.contains('.') => {
                (first.to_string(), rest.to_string(), String::new())
            }
            _ => (String::new(), image.to_string(), String::new()),
        }
    } else {
        match parse_reference(image) {
            None => (String::new(), image.to_string(), String::new()),
            Some(r) => {
                let registry = if r.registry == GO_DEFAULT_REGISTRY || r.registry == DOCKER_HUB {
                    String::new()
                } else {
                    r.registry
                };
                let mut repository = r.repository;
                if !registry.is_empty() {
                    if let Some(rest) = repository.strip_prefix(&format!("{registry}/")) {
                        repository = rest.to_string();
                    }
                }
                let tag = match r.tag {
                    Some(t) if image.contains(':') => t,
                    _ => String::new(),
                };
                (registry, repository, tag)
            }
        }
    };
    let source_registry = if !registry.is_empty() {
        registry.clone()
    } else if !default_registry.is_empty() {
        default_registry.to_string()
    } else {
        DOCKER_HUB.to_string()
    };
    Ok(Filter {
        image: image.to_string(),
        registry,
        repository,
        tag,
        has_wildcard,
        source_registry,
    })
}

/// §3.3 one filter against one image: registry, repository pattern, `exclude` (exact
/// repository), explicit tag, then semver `versions` (the filter's, else `global_versions`).
/// A constraint that would crash the operator (an empty `||` alternative that gets evaluated)
/// counts as no match here; [`plan`] reports it as an error instead.
pub fn filter_matches(
    f: &Filter,
    exclude: &[String],
    versions: &[String],
    global_versions: &[String],
    img: &ImageRef,
) -> bool {
    filter_matches_checked(f, exclude, versions, global_versions, img).unwrap_or(false)
}

fn filter_matches_checked(
    f: &Filter,
    exclude: &[String],
    versions: &[String],
    global_versions: &[String],
    img: &ImageRef,
) -> Result<bool, String> {
    if !f.registry.is_empty() && f.registry != img.registry {
        return Ok(false);
    }
    if !wildcard_match(&f.repository, &img.repository) {
        return Ok(false);
    }
    if exclude.contains(&img.repository) {
        return Ok(false);
    }
    if !f.tag.is_empty() {
        return Ok(img.tag == f.tag);
    }
    let constraints = if versions.is_empty() {
        global_versions
    } else {
        versions
    };
    if constraints.is_empty() {
        return Ok(true);
    }
    matches_semver_checked(&img.tag, constraints)
}

/// §3.3 step 2: `*` matches any run of characters (including `/` and nothing); no `*` means
/// equality. Prefix and suffix are anchored, middle pieces are found greedily left to right.
pub fn wildcard_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return pattern == s;
    };
    if parts.len() == 1 {
        return pattern == s;
    }
    let Some(rest) = s.strip_prefix(first) else {
        return false;
    };
    let Some(mut rest) = rest.strip_suffix(last) else {
        return false;
    };
    for mid in parts.iter().skip(1).take(parts.len().saturating_sub(2)) {
        match rest.find(mid).and_then(|i| rest.get(i + mid.len()..)) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    true
}

/// §3.3 step 6: the tag (one leading `v` stripped) must be strict semver and satisfy every
/// constraint that parses; unparsable constraints (`~`, `^`, hyphen ranges, `>=1.0 <2.0`, …)
/// are skipped. Empty `constraints` match any tag, even a non-semver one.
pub fn matches_semver(tag: &str, constraints: &[String]) -> bool {
    matches_semver_checked(tag, constraints).unwrap_or(false)
}

fn matches_semver_checked(tag: &str, constraints: &[String]) -> Result<bool, String> {
    let Some(version) = Version::parse(tag.strip_prefix('v').unwrap_or(tag)) else {
        return Ok(false);
    };
    for c in constraints {
        let Some(range) = parse_range(&normalize_constraint(c)) else {
            continue;
        };
        if !range.satisfied_by(&version).map_err(|()| {
            format!(
                "version constraint {c:?} has an empty `||` alternative: the operator's semver \
                 library calls a nil function for {tag:?} and the reconcile panics"
            )
        })? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// §3.3 `normalizeConstraint`: from the first ASCII digit on, trailing whitespace is trimmed
/// and `.0` appended when that text has exactly one dot (`>=0.9` → `>=0.9.0`).
pub fn normalize_constraint(constraint: &str) -> String {
    for (i, c) in constraint.char_indices() {
        if c.is_ascii_digit() {
            let Some((op, rest)) = constraint.split_at_checked(i) else {
                break;
            };
            let mut version = rest.trim().to_string();
            if version.matches('.').count() == 1 {
                version.push_str(".0");
            }
            return format!("{op}{version}");
        }
    }
    constraint.to_string()
}

/// The listing entries one non-static filter's enumeration returns (§3.4), in listing order.
/// `listing` registries must already be resolved (see the module docs).
pub fn filter_listing(
    f: &Filter,
    exclude: &[String],
    versions: &[String],
    global_versions: &[String],
    image_pull_secrets: &[String],
    listing: &[ImageRef],
) -> Result<Vec<ImageRef>, CatalogError> {
    let invalid = |reason: String| CatalogError::InvalidFilter {
        filter: f.image.clone(),
        reason,
    };
    let reg = f.source_registry.as_str();
    // (registry the returned images carry, required first repository segment)
    let (image_registry, owner): (&str, Option<String>) = if !f.has_wildcard {
        (reg, None)
    } else if reg == DOCKER_HUB || reg.contains("hub.docker.com") {
        let ns = first_segment(&f.repository);
        if ns.is_empty() {
            return Err(invalid(
                "a Docker Hub wildcard filter needs a namespace before the first `*` (the \
                 operator lists repositories per namespace)"
                    .to_string(),
            ));
        }
        (DOCKER_HUB, Some(ns))
    } else if reg == "ghcr.io" {
        let org = first_segment(&f.repository);
        if org.is_empty() || org.contains('.') {
            return Err(invalid(format!(
                "a ghcr.io wildcard filter needs a GitHub organisation before the first `*`, \
                 got {org:?}"
            )));
        }
        if image_pull_secrets.is_empty() {
            return Err(invalid(
                "a ghcr.io wildcard filter needs a GitHub token: the operator reads it from an \
                 `imagePullSecrets` entry with `ghcr.io` credentials and fails without one"
                    .to_string(),
            ));
        }
        ("ghcr.io", Some(org))
    } else {
        (reg, None)
    };
    let mut out = Vec::new();
    for img in listing {
        if img.registry != image_registry {
            continue;
        }
        if let Some(owner) = &owner {
            match img.repository.split_once('/') {
                Some((first, _)) if first == owner => {}
                _ => continue,
            }
        }
        if filter_matches_checked(f, exclude, versions, global_versions, img).map_err(invalid)? {
            out.push(img.clone());
        }
    }
    Ok(out)
}

/// Plans a source like the operator does (§3.5). `existing_images`: `spec.image` of the
/// AIMClusterModels that already carry `aim.eai.amd.com/model-source: <source>` (written in
/// the repo); they count toward `maxModels` and are not regenerated (append-only). `listing`:
/// the lock file's images for this source in registry order, or `None` when the lock has none.
///
/// Strict: the first filter error (in filter order) fails the whole source, so aimc never
/// renders a source the operator would report as degraded. [`plan_source`] is the lenient
/// variant that, like the operator, plans the good filters and reports the failed ones.
pub fn plan(
    src: &SourceInput,
    existing_images: &[String],
    listing: Option<&[ImageRef]>,
) -> Result<Vec<GeneratedModel>, CatalogError> {
    let walked = walk_filters(src, listing);
    for r in &walked {
        if let Err(e) = r {
            return Err(e.clone());
        }
    }
    plan_walked(src, existing_images, walked).map(|p| p.models)
}

/// Like [`plan`], but a filter the operator would report as failed only lands in
/// [`SourcePlan::filter_errors`]; a missing listing is still an error (aimc cannot know what
/// the registry holds).
pub fn plan_source(
    src: &SourceInput,
    existing_images: &[String],
    listing: Option<&[ImageRef]>,
) -> Result<SourcePlan, CatalogError> {
    let walked = walk_filters(src, listing);
    for r in &walked {
        if let Err(e @ CatalogError::NeedsRegistryListing { .. }) = r {
            return Err(e.clone());
        }
    }
    plan_walked(src, existing_images, walked)
}

/// `metadata.name` of the model generated for `img` (§3.5).
pub fn model_name(img: &ImageRef) -> Result<String, CatalogError> {
    derived_name(
        &[&img.repository, &img.tag],
        &[
            HashInput::from(img.registry.as_str()),
            HashInput::from(img.repository.as_str()),
            HashInput::from(img.tag.as_str()),
        ],
        6,
        63,
    )
    .map_err(|e| CatalogError::InvalidFilter {
        filter: img.uri(),
        reason: e.to_string(),
    })
}

/// The owner reference the operator sets on every generated model (§1.4 step 3), keys in
/// Go's field order. offline.md: emit it only with the source's real UID.
pub fn owner_reference(source_name: &str, uid: &str) -> Value {
    let mut m = Map::new();
    m.insert("apiVersion".into(), "aim.eai.amd.com/v1alpha1".into());
    m.insert("kind".into(), "AIMClusterModelSource".into());
    m.insert("name".into(), source_name.into());
    m.insert("uid".into(), uid.into());
    m.insert("controller".into(), Value::Bool(true));
    Value::Object(m)
}

fn walk_filters(
    src: &SourceInput,
    listing: Option<&[ImageRef]>,
) -> Vec<Result<Vec<ImageRef>, CatalogError>> {
    let default_registry = if src.registry.is_empty() {
        DOCKER_HUB
    } else {
        src.registry
    };
    let resolved: Option<Vec<ImageRef>> = listing.map(|l| {
        l.iter()
            .map(|i| ImageRef {
                registry: if i.registry.is_empty() {
                    default_registry.to_string()
                } else {
                    i.registry.clone()
                },
                repository: i.repository.clone(),
                tag: i.tag.clone(),
            })
            .collect()
    });
    src.filters
        .iter()
        .map(|(image, exclude, versions)| {
            let f = parse_filter(image, src.registry).map_err(|reason| {
                CatalogError::InvalidFilter {
                    filter: image.clone(),
                    reason,
                }
            })?;
            if f.is_static() {
                return Ok(vec![ImageRef {
                    registry: f.source_registry.clone(),
                    repository: f.repository.clone(),
                    tag: f.tag.clone(),
                }]);
            }
            let listing =
                resolved
                    .as_deref()
                    .ok_or_else(|| CatalogError::NeedsRegistryListing {
                        filter: image.clone(),
                    })?;
            filter_listing(
                &f,
                exclude,
                versions,
                src.versions,
                src.image_pull_secrets,
                listing,
            )
        })
        .collect()
}

fn plan_walked(
    src: &SourceInput,
    existing_images: &[String],
    walked: Vec<Result<Vec<ImageRef>, CatalogError>>,
) -> Result<SourcePlan, CatalogError> {
    let existing: BTreeSet<&str> = existing_images.iter().map(String::as_str).collect();
    let mut planned: Vec<ImageRef> = Vec::new();
    let mut available = 0usize;
    let mut filter_errors = Vec::new();
    for r in walked {
        match r {
            Ok(images) => {
                for img in images {
                    available += 1;
                    if !existing.contains(img.uri().as_str())
                        && existing.len() + planned.len() < src.max_models
                    {
                        planned.push(img);
                    }
                }
            }
            Err(e) => filter_errors.push(e),
        }
    }
    let discovered = existing.len() + planned.len();
    let mut seen = BTreeSet::new();
    let mut models = Vec::new();
    for img in planned {
        if seen.insert(img.clone()) {
            models.push(build_model(src, img)?);
        }
    }
    Ok(SourcePlan {
        models,
        discovered_models: discovered,
        available_models: available,
        models_limit_reached: available > discovered,
        filter_errors,
    })
}

fn build_model(src: &SourceInput, img: ImageRef) -> Result<GeneratedModel, CatalogError> {
    let name = model_name(&img)?;
    let image = img.uri();
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_MODEL_SOURCE.to_string(), src.name.to_string());
    labels.insert(LABEL_ORIGIN.to_string(), ORIGIN_AUTO_GENERATED.to_string());
    for (k, v) in src.labels {
        if labels.contains_key(k) {
            continue;
        }
        let copy = k.starts_with(AIM_LABEL_PREFIX) || src.propagate_label.is_some_and(|p| p(k));
        if copy {
            labels.insert(k.clone(), v.clone());
        }
    }
    labels
        .entry(LABEL_MANAGED_BY.to_string())
        .or_insert_with(|| MANAGED_BY.to_string());
    labels
        .entry(LABEL_OWNER_NAME.to_string())
        .or_insert_with(|| src.name.to_string());
    let annotations = BTreeMap::from([
        (ANNOTATION_REGISTRY.to_string(), img.registry.clone()),
        (ANNOTATION_REPOSITORY.to_string(), img.repository.clone()),
        (ANNOTATION_TAG.to_string(), img.tag.clone()),
    ]);
    let mut spec = Map::new();
    spec.insert("image".into(), Value::String(image.clone()));
    if !src.image_pull_secrets.is_empty() {
        let secrets = src
            .image_pull_secrets
            .iter()
            .map(|s| {
                let mut m = Map::new();
                if !s.is_empty() {
                    m.insert("name".into(), Value::String(s.clone()));
                }
                Value::Object(m)
            })
            .collect();
        spec.insert("imagePullSecrets".into(), Value::Array(secrets));
    }
    Ok(GeneratedModel {
        name,
        image,
        image_ref: img,
        labels,
        annotations,
        spec: Value::Object(spec),
    })
}

fn first_segment(pattern: &str) -> String {
    pattern
        .split('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches('*')
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// go-containerregistry `name.ParseReference` (non-strict, default registry index.docker.io)
// ---------------------------------------------------------------------------------------------

const GO_DEFAULT_REGISTRY: &str = "index.docker.io";

struct ParsedRef {
    /// Never empty: `index.docker.io` when the reference names no registry.
    registry: String,
    /// `RepositoryStr()`: Docker Hub single names get `library/`.
    repository: String,
    /// `Some` for tag references (`latest` when none was written), `None` for digests.
    tag: Option<String>,
}

fn parse_reference(s: &str) -> Option<ParsedRef> {
    if s.starts_with("http://") || s.starts_with("https://") {
        return None;
    }
    new_tag(s).or_else(|| new_digest(s))
}

/// `name.ParseReference` for `aimc lock`'s registry client: (registry, repository, tag or
/// `sha256:…` digest), Docker Hub as `index.docker.io` with `library/`.
pub fn parse_image_reference(s: &str) -> Option<(String, String, String)> {
    let r = parse_reference(s)?;
    let id = match r.tag {
        Some(tag) => tag,
        None => s.rsplit_once('@')?.1.to_string(),
    };
    Some((r.registry, r.repository, id))
}

fn check_element(s: &str, allowed: fn(char) -> bool, min: usize, max: usize) -> bool {
    let n = s.chars().count();
    n >= min && n <= max && s.chars().all(allowed)
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn is_repository_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.' | '/')
}

fn new_tag(name: &str) -> Option<ParsedRef> {
    let (base, tag) = match name.rsplit_once(':') {
        Some((b, t)) if !t.contains('/') => (b, t),
        _ => (name, ""),
    };
    if !tag.is_empty() && !check_element(tag, is_tag_char, 1, 128) {
        return None;
    }
    let (registry, repository) = new_repository(base)?;
    Some(ParsedRef {
        registry,
        repository,
        tag: Some(if tag.is_empty() { "latest" } else { tag }.to_string()),
    })
}

fn new_digest(name: &str) -> Option<ParsedRef> {
    let mut parts = name.split('@');
    let (base, digest) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let base = match new_tag(base) {
        Some(t) => format!("{}/{}", t.registry, t.repository),
        None => base.to_string(),
    };
    let (registry, repository) = new_repository(&base)?;
    Some(ParsedRef {
        registry,
        repository,
        tag: None,
    })
}

/// `name.NewRepository` → (`RegistryStr()`, `RepositoryStr()`).
fn new_repository(name: &str) -> Option<(String, String)> {
    if name.is_empty() {
        return None;
    }
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') => (first, rest),
        _ => ("", name),
    };
    if !check_element(repo, is_repository_char, 2, 255) {
        return None;
    }
    let registry = new_registry(registry)?;
    if !repo.contains('/') && registry == GO_DEFAULT_REGISTRY {
        let full = format!("library/{repo}");
        if !check_element(&full, is_repository_char, 2, 255) {
            return None;
        }
        return Some((registry, full));
    }
    Some((registry, repo.to_string()))
}

fn new_registry(name: &str) -> Option<String> {
    if !is_uri_authority(name) {
        return None;
    }
    Some(match name {
        "" | DOCKER_HUB => GO_DEFAULT_REGISTRY.to_string(),
        _ => name.to_string(),
    })
}

/// `url.Parse("//" + name).Host == name` (Go net/url). Bracketed IPv6 hosts are only checked
/// for the closing bracket and the port.
fn is_uri_authority(name: &str) -> bool {
    if name
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || matches!(b, b'#' | b'?' | b'/' | b'@' | b'%'))
    {
        return false;
    }
    let valid_port = |p: &str| {
        p.is_empty()
            || p.strip_prefix(':')
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
    };
    if name.starts_with('[') {
        match name.rfind(']').and_then(|i| name.get(i + 1..)) {
            Some(port) if valid_port(port) => {}
            _ => return false,
        }
    } else if let Some(i) = name.rfind(':') {
        if !name.get(i..).is_some_and(valid_port) {
            return false;
        }
    }
    name.bytes()
        .all(|b| b >= 0x80 || b.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&b))
}

// ---------------------------------------------------------------------------------------------
// blang/semver v4.0.0: Parse, Compare, ParseRange
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum PreRelease {
    Num(u64),
    Alpha(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<PreRelease>,
}

fn is_alphanum(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// Digits only, no leading zero, fits u64 (`containsOnly` + `hasLeadingZeroes` + `ParseUint`).
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
        let mut parts = s.splitn(3, '.');
        let (major, minor, rest) = (parts.next()?, parts.next()?, parts.next()?);
        let major = parse_number(major)?;
        let minor = parse_number(minor)?;
        let (rest, build) = match rest.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (rest, None),
        };
        let (patch, pre) = match rest.split_once('-') {
            Some((p, pre)) => (p, Some(pre)),
            None => (rest, None),
        };
        let patch = parse_number(patch)?;
        let mut pres = Vec::new();
        for p in pre
            .map(|p| p.split('.').collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if p.is_empty() {
                return None;
            }
            if p.bytes().all(|b| b.is_ascii_digit()) {
                pres.push(PreRelease::Num(parse_number(p)?));
            } else if p.chars().all(is_alphanum) {
                pres.push(PreRelease::Alpha(p.to_string()));
            } else {
                return None;
            }
        }
        for b in build
            .map(|b| b.split('.').collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if b.is_empty() || !b.chars().all(is_alphanum) {
                return None;
            }
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: pres,
        })
    }

    fn compare(&self, o: &Version) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let core = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if core != Ordering::Equal {
            return core;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        for (a, b) in self.pre.iter().zip(&o.pre) {
            let c = match (a, b) {
                (PreRelease::Num(_), PreRelease::Alpha(_)) => Ordering::Less,
                (PreRelease::Alpha(_), PreRelease::Num(_)) => Ordering::Greater,
                (PreRelease::Num(x), PreRelease::Num(y)) => x.cmp(y),
                (PreRelease::Alpha(x), PreRelease::Alpha(y)) => x.as_bytes().cmp(y.as_bytes()),
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        self.pre.len().cmp(&o.pre.len())
    }
}

#[derive(Debug, Clone, Copy)]
enum Comparator {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

fn parse_comparator(s: &str) -> Option<Comparator> {
    Some(match s {
        "==" | "" | "=" => Comparator::Eq,
        ">" => Comparator::Gt,
        ">=" => Comparator::Ge,
        "<" => Comparator::Lt,
        "<=" => Comparator::Le,
        "!" | "!=" => Comparator::Ne,
        _ => return None,
    })
}

/// OR of AND groups. An empty AND group is a nil Go function: calling it panics.
struct VersionRange(Vec<Vec<(Comparator, Version)>>);

impl VersionRange {
    fn satisfied_by(&self, v: &Version) -> Result<bool, ()> {
        for group in &self.0 {
            if group.is_empty() {
                return Err(());
            }
            let all = group.iter().all(|(c, bound)| {
                let o = v.compare(bound);
                match c {
                    Comparator::Eq => o.is_eq(),
                    Comparator::Ne => o.is_ne(),
                    Comparator::Gt => o.is_gt(),
                    Comparator::Ge => o.is_ge(),
                    Comparator::Lt => o.is_lt(),
                    Comparator::Le => o.is_le(),
                }
            });
            if all {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn parse_range(s: &str) -> Option<VersionRange> {
    let parts = split_and_trim(s);
    let or_parts = split_or_parts(&parts)?;
    let expanded = expand_wildcard_version(&or_parts)?;
    let mut groups = Vec::with_capacity(expanded.len());
    for p in expanded {
        let mut group = Vec::with_capacity(p.len());
        for ap in p {
            let (op, v) = split_comparator_version(&ap)?;
            group.push((parse_comparator(op)?, Version::parse(v)?));
        }
        groups.push(group);
    }
    Some(VersionRange(groups))
}

/// `splitAndTrim`: split on spaces not preceded (ignoring spaces) by `>`, `<` or `=`; pieces
/// shorter than two bytes are dropped; remaining spaces are removed.
fn split_and_trim(s: &str) -> Vec<String> {
    let bytes = s.as_bytes();
    let mut result = Vec::new();
    let mut last = 0usize;
    let mut last_char = 0u8;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b' ' && !matches!(last_char, b'>' | b'<' | b'=') {
            if last + 1 < i {
                if let Some(piece) = s.get(last..i) {
                    result.push(piece.replace(' ', ""));
                }
            }
            last = i + 1;
        } else if b != b' ' {
            last_char = b;
        }
    }
    if last + 1 < s.len() {
        if let Some(piece) = s.get(last..) {
            result.push(piece.replace(' ', ""));
        }
    }
    result
}

fn split_or_parts(parts: &[String]) -> Option<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let mut last = 0usize;
    for (i, p) in parts.iter().enumerate() {
        if p == "||" {
            if i == 0 {
                return None;
            }
            out.push(parts.get(last..i)?.to_vec());
            last = i + 1;
        }
    }
    if last == parts.len() {
        return None;
    }
    out.push(parts.get(last..)?.to_vec());
    Some(out)
}

/// Go `unicode.IsDigit` (category Nd, Unicode 15.0 as in Go 1.21+).
fn is_go_digit(c: char) -> bool {
    const ND: &[(u32, u32)] = &[
        (0x30, 0x39),
        (0x660, 0x669),
        (0x6F0, 0x6F9),
        (0x7C0, 0x7C9),
        (0x966, 0x96F),
        (0x9E6, 0x9EF),
        (0xA66, 0xA6F),
        (0xAE6, 0xAEF),
        (0xB66, 0xB6F),
        (0xBE6, 0xBEF),
        (0xC66, 0xC6F),
        (0xCE6, 0xCEF),
        (0xD66, 0xD6F),
        (0xDE6, 0xDEF),
        (0xE50, 0xE59),
        (0xED0, 0xED9),
        (0xF20, 0xF29),
        (0x1040, 0x1049),
        (0x1090, 0x1099),
        (0x17E0, 0x17E9),
        (0x1810, 0x1819),
        (0x1946, 0x194F),
        (0x19D0, 0x19D9),
        (0x1A80, 0x1A89),
        (0x1A90, 0x1A99),
        (0x1B50, 0x1B59),
        (0x1BB0, 0x1BB9),
        (0x1C40, 0x1C49),
        (0x1C50, 0x1C59),
        (0xA620, 0xA629),
        (0xA8D0, 0xA8D9),
        (0xA900, 0xA909),
        (0xA9D0, 0xA9D9),
        (0xA9F0, 0xA9F9),
        (0xAA50, 0xAA59),
        (0xABF0, 0xABF9),
        (0xFF10, 0xFF19),
        (0x104A0, 0x104A9),
        (0x10D30, 0x10D39),
        (0x11066, 0x1106F),
        (0x110F0, 0x110F9),
        (0x11136, 0x1113F),
        (0x111D0, 0x111D9),
        (0x112F0, 0x112F9),
        (0x11450, 0x11459),
        (0x114D0, 0x114D9),
        (0x11650, 0x11659),
        (0x116C0, 0x116C9),
        (0x11730, 0x11739),
        (0x118E0, 0x118E9),
        (0x11950, 0x11959),
        (0x11C50, 0x11C59),
        (0x11D50, 0x11D59),
        (0x11DA0, 0x11DA9),
        (0x11F50, 0x11F59),
        (0x16A60, 0x16A69),
        (0x16AC0, 0x16AC9),
        (0x16B50, 0x16B59),
        (0x1D7CE, 0x1D7FF),
        (0x1E140, 0x1E149),
        (0x1E2F0, 0x1E2F9),
        (0x1E4F0, 0x1E4F9),
        (0x1E950, 0x1E959),
        (0x1FBF0, 0x1FBF9),
    ];
    let c = u32::from(c);
    ND.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

/// `splitComparatorVersion`: (trimmed text before the first digit, text from it).
fn split_comparator_version(s: &str) -> Option<(&str, &str)> {
    let i = s.char_indices().find(|&(_, c)| is_go_digit(c))?.0;
    let (op, v) = s.split_at_checked(i)?;
    Some((op.trim(), v))
}

/// Go `strconv.Atoi` (64-bit int).
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `incrementMajorVersion` (index 0) / `incrementMinorVersion` (index 1); `""` on error.
fn increment_part(v: &str, index: usize) -> String {
    let mut parts: Vec<String> = v.split('.').map(str::to_string).collect();
    let Some(n) = parts.get(index).and_then(|p| go_atoi(p)) else {
        return String::new();
    };
    if let Some(p) = parts.get_mut(index) {
        *p = n.wrapping_add(1).to_string();
    }
    parts.join(".")
}

/// `createVersionFromWildcard`.
fn version_from_wildcard(v: &str) -> String {
    let v2 = v.replacen(".x.x", ".x", 1).replacen(".x", ".0", 1);
    if v2.split('.').count() == 2 {
        format!("{v2}.0")
    } else {
        v2
    }
}

/// `expandWildcardVersion`: every part containing an `x` is rewritten (faithfully, including
/// the odd results for parts whose `x` is not a wildcard).
fn expand_wildcard_version(parts: &[Vec<String>]) -> Option<Vec<Vec<String>>> {
    let mut expanded = Vec::with_capacity(parts.len());
    for p in parts {
        let mut new_parts = Vec::with_capacity(p.len());
        for ap in p {
            if !ap.contains('x') {
                new_parts.push(ap.clone());
                continue;
            }
            let (op, v) = split_comparator_version(ap)?;
            let pieces: Vec<&str> = v.split('.').collect();
            // 2 pieces ending in "x": minor wildcard; 3: patch wildcard; else none
            let wildcard = if pieces.last() == Some(&"x") {
                pieces.len()
            } else {
                0
            };
            let flat = version_from_wildcard(v);
            let (result_op, increment) = match op {
                ">" => (">=", true),
                ">=" => (">=", false),
                "<" => ("<", false),
                "<=" => ("<", true),
                "" | "=" | "==" => {
                    new_parts.push(format!(">={flat}"));
                    ("<", true)
                }
                "!=" | "!" => {
                    new_parts.push(format!("<{flat}"));
                    (">=", true)
                }
                _ => ("", false),
            };
            let result_version = if increment {
                match wildcard {
                    3 => increment_part(&flat, 1),
                    2 => increment_part(&flat, 0),
                    _ => String::new(),
                }
            } else {
                flat
            };
            new_parts.push(format!("{result_op}{result_version}"));
        }
        expanded.push(new_parts);
    }
    Some(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn img(registry: &str, repository: &str, tag: &str) -> ImageRef {
        ImageRef::new(registry, repository, tag)
    }

    fn pf(image: &str) -> Filter {
        match parse_filter(image, DOCKER_HUB) {
            Ok(f) => f,
            Err(e) => panic!("parse_filter({image:?}): {e}"),
        }
    }

    fn parsed(image: &str) -> (String, String, String, bool) {
        let f = pf(image);
        (f.registry, f.repository, f.tag, f.has_wildcard)
    }

    fn t(r: &str, repo: &str, tag: &str, w: bool) -> (String, String, String, bool) {
        (r.to_string(), repo.to_string(), tag.to_string(), w)
    }

    struct Src {
        name: String,
        labels: BTreeMap<String, String>,
        registry: String,
        filters: Vec<(String, Vec<String>, Vec<String>)>,
        versions: Vec<String>,
        max_models: usize,
        secrets: Vec<String>,
    }

    impl Src {
        fn new(filters: &[(&str, &[&str], &[&str])]) -> Src {
            Src {
                name: "amd-models".to_string(),
                labels: BTreeMap::new(),
                registry: DOCKER_HUB.to_string(),
                filters: filters
                    .iter()
                    .map(|(i, e, v)| (i.to_string(), s(e), s(v)))
                    .collect(),
                versions: Vec::new(),
                max_models: 100,
                secrets: Vec::new(),
            }
        }

        fn input(&self) -> SourceInput<'_> {
            SourceInput {
                name: &self.name,
                labels: &self.labels,
                registry: &self.registry,
                filters: &self.filters,
                versions: &self.versions,
                max_models: self.max_models,
                image_pull_secrets: &self.secrets,
                propagate_label: None,
            }
        }
    }

    fn names(models: &[GeneratedModel]) -> Vec<String> {
        models.iter().map(|m| m.image.clone()).collect()
    }

    // ---- §3.2 parseFilter -------------------------------------------------------------------

    #[test]
    fn parse_filter_spec_vectors() {
        assert_eq!(
            parsed("silogen/aim-llama"),
            t("", "silogen/aim-llama", "", false)
        );
        assert_eq!(parsed("silogen/aim-*"), t("", "silogen/aim-*", "", true));
        assert_eq!(
            parsed("silogen/aim-llama:1.0.0"),
            t("", "silogen/aim-llama", "1.0.0", false)
        );
        assert_eq!(
            parsed("ghcr.io/silogen/aim-llama"),
            t("ghcr.io", "silogen/aim-llama", "", false)
        );
        assert_eq!(
            parsed("ghcr.io/silogen/aim-google-gemma-3-1b-it:0.8.1-rc1"),
            t(
                "ghcr.io",
                "silogen/aim-google-gemma-3-1b-it",
                "0.8.1-rc1",
                false
            )
        );
        assert_eq!(
            parsed("docker.io/library/ubuntu:latest"),
            t("", "library/ubuntu", "latest", false)
        );
        assert_eq!(
            parsed("ghcr.io/silogen/aim-*"),
            t("ghcr.io", "silogen/aim-*", "", true)
        );
    }

    #[test]
    fn parse_filter_documented_quirks() {
        // wildcard filters: no tag parsing, the tag stays in the pattern
        assert_eq!(
            parsed("silogen/aim-*:1.0.0"),
            t("", "silogen/aim-*:1.0.0", "", true)
        );
        // wildcard registry only when the first segment has a dot; docker.io is kept
        assert_eq!(
            parsed("docker.io/amdenterpriseai/aim-*"),
            t("docker.io", "amdenterpriseai/aim-*", "", true)
        );
        assert_eq!(
            parsed("localhost:5000/aim-*"),
            t("", "localhost:5000/aim-*", "", true)
        );
        // a registry port counts as an explicit tag: `latest`
        assert_eq!(
            parsed("localhost:5000/team/app"),
            t("localhost:5000", "team/app", "latest", false)
        );
        // Docker Hub single names get library/
        assert_eq!(parsed("ubuntu"), t("", "library/ubuntu", "", false));
        assert_eq!(
            parsed("ubuntu:22.04"),
            t("", "library/ubuntu", "22.04", false)
        );
        assert_eq!(
            parsed("index.docker.io/org/app:1"),
            t("", "org/app", "1", false)
        );
        // digests give no tag
        let digest = format!("ghcr.io/org/model@sha256:{}", "a".repeat(64));
        assert_eq!(parsed(&digest), t("ghcr.io", "org/model", "", false));
        let tagged_digest = format!("org/model:1.0@sha256:{}", "0".repeat(64));
        assert_eq!(parsed(&tagged_digest), t("", "org/model", "", false));
        // unparsable (uppercase) → raw string as the repository pattern
        assert_eq!(
            parsed("Silogen/Aim-Llama:1.0.0"),
            t("", "Silogen/Aim-Llama:1.0.0", "", false)
        );
        // a trailing colon: empty tag → `latest` (the raw string contains `:`)
        assert_eq!(parsed("org/app:"), t("", "org/app", "latest", false));
        // URL schemes are rejected by the parser
        assert_eq!(
            parsed("https://ghcr.io/org/app"),
            t("", "https://ghcr.io/org/app", "", false)
        );
        // one-character repositories are invalid references
        assert_eq!(parsed("ghcr.io/a:1"), t("", "ghcr.io/a:1", "", false));
        // registry prefix repeated in the path is stripped once more
        assert_eq!(
            parsed("ghcr.io/ghcr.io/app:1"),
            t("ghcr.io", "app", "1", false)
        );
    }

    #[test]
    fn parse_filter_source_registry_and_errors() {
        assert_eq!(pf("org/app").source_registry, "docker.io");
        assert_eq!(
            parse_filter("org/app", "ghcr.io").map(|f| f.source_registry),
            Ok("ghcr.io".to_string())
        );
        assert_eq!(
            parse_filter("quay.io/org/app", "ghcr.io").map(|f| f.source_registry),
            Ok("quay.io".to_string())
        );
        assert_eq!(
            parse_filter("org/app", "").map(|f| f.source_registry),
            Ok("docker.io".to_string())
        );
        assert!(parse_filter("", DOCKER_HUB).is_err());
        assert!(parse_filter(&"a".repeat(513), DOCKER_HUB).is_err());
        assert!(parse_filter(&"a".repeat(512), DOCKER_HUB).is_ok());
    }

    // ---- §3.3 matching --------------------------------------------------------------------

    #[test]
    fn matches_semver_spec_vectors() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("1.0.0", &[">=1.0.0"], true),
            ("v1.0.0", &[">=1.0.0"], true),
            ("2.0.0", &[">=1.0.0"], true),
            ("1.0.0", &["<2.0.0"], true),
            ("1.5.0", &[">=1.0.0", "<2.0.0"], true),
            ("2.5.0", &[">=1.0.0", "<2.0.0"], false),
            ("1.2.3", &["~1.2.0"], true),
            ("1.3.0", &["~1.2.0"], true),
            ("1.5.0", &["^1.2.0"], true),
            ("2.0.0", &["^1.2.0"], true),
            ("latest", &[">=1.0.0"], false),
            ("dev", &[">=1.0.0"], false),
            ("stable", &[">=1.0.0"], false),
            ("latest", &["~1.2.0"], false),
            ("1.0.0", &["invalid", ">=1.0.0"], true),
            ("1.0.0", &["invalid", "also-invalid"], true),
            ("1.0.0", &[], true),
            ("0.8.1-rc1", &[">=0.8.0"], true),
            ("0.8.1-rc1", &[">=0.8.1-rc1"], true),
            ("1.0.0-alpha.1", &[">=1.0.0-alpha"], true),
            ("0.8.1-rc1", &[], true),
            ("0.8.4", &[">=0.9"], false),
            ("0.8.4", &[">=0.9.0"], false),
        ];
        for (tag, constraints, want) in cases {
            assert_eq!(
                matches_semver(tag, &s(constraints)),
                *want,
                "{tag} {constraints:?}"
            );
        }
    }

    #[test]
    fn matches_semver_documented_quirks() {
        // compound string with two dots is not normalised, fails to parse, is ignored
        assert!(matches_semver("5.0.0", &s(&[">=1.0 <2.0"])));
        // with full versions the same compound string is an AND
        assert!(!matches_semver("5.0.0", &s(&[">=1.0.0 <2.0.0"])));
        assert!(matches_semver("1.5.0", &s(&[">=1.0.0 <2.0.0"])));
        // hyphen ranges are NOT no-ops (cache-model.md §3.3 says they are): the one-byte `-`
        // is dropped by the splitter, leaving `1.0.0 AND 2.0.0` (two equalities), which no
        // tag satisfies; without spaces it is one prerelease version
        for tag in ["0.5.0", "1.0.0", "1.5.0", "2.0.0", "9.0.0"] {
            assert!(!matches_semver(tag, &s(&["1.0.0 - 2.0.0"])), "{tag}");
        }
        assert!(!matches_semver("1.5.0", &s(&["1.0.0-2.0.0"])));
        assert!(matches_semver("1.0.0-2.0.0", &s(&["1.0.0-2.0.0"])));
        // OR, NE, EQ forms
        assert!(matches_semver("3.1.0", &s(&["<2.0.0 || >=3.0.0"])));
        assert!(!matches_semver("2.1.0", &s(&["<2.0.0 || >=3.0.0"])));
        assert!(!matches_semver("1.0.0", &s(&["!1.0.0"])));
        assert!(matches_semver("1.0.1", &s(&["!=1.0.0"])));
        assert!(matches_semver("1.0.0", &s(&["==1.0.0"])));
        assert!(matches_semver("0.8.4", &s(&["0.8.4"])));
        assert!(!matches_semver("0.8.5", &s(&["0.8.4"])));
        // `>= 1.0.0`: no split after an operator
        assert!(matches_semver("1.0.0", &s(&[">= 1.0.0"])));
        // x wildcards (after normalisation `>=1.x` becomes `>=1.x.0`)
        assert!(matches_semver("1.2.9", &s(&["1.2.x"])));
        assert!(!matches_semver("1.3.0", &s(&["1.2.x"])));
        assert!(matches_semver("1.0.0", &s(&[">=1.x"])));
        assert!(!matches_semver("0.9.0", &s(&[">=1.x"])));
        // `1.x.x` is a patch wildcard over 1.0: only 1.0.*
        assert!(matches_semver("1.0.5", &s(&["1.x.x"])));
        assert!(!matches_semver("1.1.0", &s(&["1.x.x"])));
        // `~1.x` loses its operator: == 1.0.0
        assert!(matches_semver("1.0.0", &s(&["~1.x"])));
        assert!(!matches_semver("1.0.1", &s(&["~1.x"])));
        // an `x` anywhere triggers wildcard expansion: harmless behind `>=`, but an operator-less
        // `1.0.0-xyz` expands to `>=1.0.0-xyz <` (empty version), fails, and is ignored
        assert!(!matches_semver("0.1.0", &s(&[">=1.0.0-xyz"])));
        assert!(matches_semver("0.1.0", &s(&["1.0.0-xyz"])));
        assert!(matches_semver("7.0.0", &s(&["!=1.0.0-xyz"])));
        // one leading v only; build metadata ignored in comparisons
        assert!(!matches_semver("vv1.0.0", &s(&[">=0.0.0"])));
        assert!(matches_semver("1.0.0+build.7", &s(&["1.0.0"])));
        // leading zeros are not semver
        assert!(!matches_semver("01.0.0", &s(&[">=0.0.0"])));
        assert!(!matches_semver("1.0", &s(&[">=0.0.0"])));
        // prerelease ordering: numeric < alpha, shorter < longer
        assert!(matches_semver("1.0.0-alpha.beta", &s(&[">1.0.0-alpha.1"])));
        assert!(matches_semver("1.0.0-alpha.1", &s(&[">1.0.0-alpha"])));
        assert!(matches_semver("1.0.0-rc.11", &s(&[">1.0.0-rc.2"])));
        assert!(!matches_semver("1.0.0-rc.1", &s(&[">=1.0.0"])));
        // a single character is dropped by the splitter → empty range → ignored
        assert!(matches_semver("0.0.1", &s(&["1"])));
    }

    #[test]
    fn normalize_constraint_spec_vectors() {
        assert_eq!(normalize_constraint(">=0.9"), ">=0.9.0");
        assert_eq!(normalize_constraint("<2.0"), "<2.0.0");
        assert_eq!(normalize_constraint("1.0.0"), "1.0.0");
        assert_eq!(normalize_constraint(">=1.0 <2.0"), ">=1.0 <2.0");
        assert_eq!(normalize_constraint("~1.2"), "~1.2.0");
        assert_eq!(normalize_constraint("invalid"), "invalid");
        assert_eq!(normalize_constraint(">= 1.0.0  "), ">= 1.0.0");
    }

    #[test]
    fn empty_or_alternative_is_an_operator_crash() {
        let c = s(&[">=1.0.0 || || <0.5.0"]);
        // short-circuit: the first alternative matches, the nil one is never called
        assert_eq!(matches_semver_checked("1.2.0", &c), Ok(true));
        assert!(matches_semver_checked("0.7.0", &c).is_err());
        assert!(!matches_semver("0.7.0", &c));
        // `a` is dropped by the splitter, leaving `|| ||`
        assert!(matches_semver_checked("0.7.0", &s(&[">=1.0.0 || a || <0.5.0"])).is_err());
    }

    #[test]
    fn wildcard_spec_vectors() {
        for p in [
            "*/aim-llama",
            "silogen/*-llama",
            "*/aim-*",
            "*",
            "silogen/aim-llama",
        ] {
            assert!(wildcard_match(p, "silogen/aim-llama"), "{p}");
        }
        assert!(wildcard_match("silogen/aim-*", "silogen/aim-"));
        assert!(!wildcard_match("silogen/aim-*", "otherorg/aim-llama"));
        assert!(!wildcard_match("a*a", "a"));
        assert!(wildcard_match("a*a", "aa"));
        assert!(wildcard_match("a**b", "ab"));
        assert!(wildcard_match("a*b*c", "a-c-b-c"));
        assert!(!wildcard_match("a*c*b", "a-b-c"));
        assert!(!wildcard_match("silogen/aim-llama", "silogen/aim-llama2"));
    }

    /// One §3.3 case: image `registry|repository|tag`, filter, exclude, versions, global.
    fn check(image: &str, filter: &str, ex: &[&str], ver: &[&str], global: &[&str], want: bool) {
        let mut it = image.split('|');
        let (r, repo, tag) = (it.next(), it.next(), it.next());
        let i = img(r.unwrap_or(""), repo.unwrap_or(""), tag.unwrap_or(""));
        let got = filter_matches(&pf(filter), &s(ex), &s(ver), &s(global), &i);
        assert_eq!(got, want, "{filter} vs {image}");
    }

    #[test]
    fn filter_spec_vectors() {
        let llama3 = "docker.io|amdenterpriseai/aim-llama3|1.0.0";
        let aim = "amdenterpriseai/aim-*";
        check(llama3, "amdenterpriseai/aim-llama3", &[], &[], &[], true);
        check(llama3, aim, &[], &[], &[], true);
        check(llama3, "*/aim-llama3", &[], &[], &[], true);
        check("docker.io|otherorg/model|1.0.0", aim, &[], &[], &[], false);
        let base = ["amdenterpriseai/aim-base"];
        check(
            "docker.io|amdenterpriseai/aim-base|1.0.0",
            aim,
            &base,
            &[],
            &[],
            false,
        );
        check(llama3, aim, &base, &[], &[], true);
        let range = [">=1.0.0", "<2.0.0"];
        check(
            "docker.io|amdenterpriseai/aim-llama3|1.5.0",
            aim,
            &[],
            &range,
            &[],
            true,
        );
        check(
            "docker.io|amdenterpriseai/aim-llama3|2.5.0",
            aim,
            &[],
            &range,
            &[],
            false,
        );
        let v1 = [">=1.0.0"];
        check(
            "docker.io|amdenterpriseai/aim-llama3|1.5.0",
            aim,
            &[],
            &[],
            &v1,
            true,
        );
        let v09 = "docker.io|amdenterpriseai/aim-llama3|0.9.0";
        check(v09, aim, &[], &[">=0.8.0"], &v1, true);
        check(v09, aim, &[], &[], &v1, false);
        check(
            "docker.io|amdenterpriseai/aim-llama3|latest",
            aim,
            &[],
            &v1,
            &[],
            false,
        );
        // full URI support
        let gemma = "ghcr.io/silogen/aim-google-gemma-3-1b-it:0.8.1-rc1";
        check(
            "ghcr.io|silogen/aim-google-gemma-3-1b-it|0.8.1-rc1",
            gemma,
            &[],
            &[],
            &[],
            true,
        );
        check(
            "ghcr.io|silogen/aim-google-gemma-3-1b-it|0.8.2",
            gemma,
            &[],
            &[],
            &[],
            false,
        );
        let hub_llama = "docker.io|silogen/aim-llama|1.0.0";
        let ghcr_llama = "ghcr.io|silogen/aim-llama|1.0.0";
        check(
            hub_llama,
            "ghcr.io/silogen/aim-llama:1.0.0",
            &[],
            &[],
            &[],
            false,
        );
        check(ghcr_llama, "ghcr.io/silogen/aim-llama", &[], &[], &[], true);
        check(hub_llama, "silogen/aim-llama:1.0.0", &[], &[], &[], true);
        let ghcr_aim = "ghcr.io/silogen/aim-*";
        check(
            "ghcr.io|silogen/aim-llama3|1.0.0",
            ghcr_aim,
            &[],
            &[],
            &[],
            true,
        );
        check(
            "docker.io|silogen/aim-llama3|1.0.0",
            ghcr_aim,
            &[],
            &[],
            &[],
            false,
        );
        let sbase = ["silogen/aim-base"];
        check(
            "ghcr.io|silogen/aim-base|1.0.0",
            ghcr_aim,
            &sbase,
            &[],
            &[],
            false,
        );
        check(ghcr_llama, ghcr_aim, &sbase, &[], &[], true);
        // explicit tag: versions ignored; exclusion ignores the registry
        let latest = "docker.io|silogen/aim-llama|latest";
        check(latest, "silogen/aim-llama:latest", &[], &v1, &[], true);
        check(
            "ghcr.io|silogen/aim-base|1.0.0",
            "silogen/aim-*",
            &sbase,
            &[],
            &[],
            false,
        );
    }

    #[test]
    fn filters_are_or_combined_in_the_operator_sense() {
        // two filters, different constraints: the image is returned by the second
        let mut src = Src::new(&[
            ("amdenterpriseai/aim-*", &[], &[">=1.0.0"]),
            ("amdenterpriseai/aim-*", &[], &[">=0.8.0", "<1.0.0"]),
        ]);
        src.max_models = 10;
        let listing = [img("docker.io", "amdenterpriseai/aim-llama3", "0.9.0")];
        let p = plan_source(&src.input(), &[], Some(&listing));
        let p = p.expect("plan");
        assert_eq!(names(&p.models), ["amdenterpriseai/aim-llama3:0.9.0"]);
        assert_eq!(p.available_models, 1);
    }

    // ---- §3.5 generated objects -----------------------------------------------------------

    #[test]
    fn image_uri_spec_vectors() {
        assert_eq!(
            img("docker.io", "library/ubuntu", "22.04").uri(),
            "library/ubuntu:22.04"
        );
        assert_eq!(
            img("ghcr.io", "org/model", "1.0.0").uri(),
            "ghcr.io/org/model:1.0.0"
        );
        assert_eq!(img("", "org/model", "1.0.0").uri(), "org/model:1.0.0");
        assert_eq!(
            img("my-registry.example.com", "team/app", "latest").uri(),
            "my-registry.example.com/team/app:latest"
        );
    }

    #[test]
    fn model_name_spec_vectors() {
        let full = [
            (
                img("ghcr.io", "silogen/aim-llama", "1.0.0"),
                "silogen-aim-llama-1-0-0-201bdd",
            ),
            (
                img("docker.io", "library/ubuntu", "22.04"),
                "library-ubuntu-22-04-7a45e5",
            ),
            (
                img(
                    "ghcr.io",
                    "silogen/aim-mistralai-mistral-small-3.2-24b-instruct-2506",
                    "0.8.5",
                ),
                "silogen-aim-mistralai-mistral-small-3-2-24b-instru-0-8-5-c6da71",
            ),
            (
                img("ghcr.io", "org/model", "1.0.0"),
                "org-model-1-0-0-178b40",
            ),
            (
                img("docker.io", "amdenterpriseai/aim-qwen-qwen3-32b", "0.8.4"),
                "amdenterpriseai-aim-qwen-qwen3-32b-0-8-4-c3c81a",
            ),
        ];
        for (image, want) in &full {
            assert_eq!(model_name(image).as_deref(), Ok(*want), "{image:?}");
        }
        let prefixes = [
            (
                img("ghcr.io", "silogen/aim-llama", "1.0.0"),
                "silogen-aim-llama-",
            ),
            (
                img("docker.io", "library/ubuntu", "22.04"),
                "library-ubuntu-",
            ),
            (
                img(
                    "ghcr.io",
                    "silogen/aim-mistralai-mistral-small-3.2-24b-instruct-2506",
                    "0.8.5",
                ),
                "silogen-aim-mistralai-mistral-small-3-2-24b-instru-",
            ),
            (
                img("ghcr.io", "org/My_Model.Name", "v1.0.0"),
                "org-my-model-name-",
            ),
            (img("docker.io", "org/model", "latest"), "org-model-latest-"),
            (img("ghcr.io", "org/model", "abc123"), "org-model-abc123-"),
        ];
        for (image, prefix) in &prefixes {
            let name = model_name(image).expect("name");
            assert!(name.starts_with(prefix), "{name} !~ {prefix}");
            assert!(name.len() <= 63);
            let hash = name.rsplit('-').next().unwrap_or_default();
            assert_eq!(hash.len(), 6, "{name}");
            assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        }
        // the registry is part of the hash
        assert_ne!(
            model_name(&img("ghcr.io", "org/model", "1.0.0")),
            model_name(&img("docker.io", "org/model", "1.0.0"))
        );
    }

    #[test]
    fn generated_object_exact() {
        let mut src = Src::new(&[("ghcr.io/silogen/aim-llama:1.0.0", &[], &[])]);
        src.secrets = s(&["ghcr-creds", ""]);
        src.labels = BTreeMap::from([
            ("aim.eai.amd.com/team".to_string(), "ml".to_string()),
            ("aim.eai.amd.com/origin".to_string(), "manual".to_string()),
            ("app".to_string(), "catalog".to_string()),
        ]);
        let models = plan(&src.input(), &[], None).expect("plan");
        assert_eq!(models.len(), 1);
        let m = &models[0];
        assert_eq!(m.name, "silogen-aim-llama-1-0-0-201bdd");
        assert_eq!(m.image, "ghcr.io/silogen/aim-llama:1.0.0");
        assert_eq!(m.image_ref, img("ghcr.io", "silogen/aim-llama", "1.0.0"));
        assert_eq!(
            serde_json::to_string(&m.spec).expect("json"),
            r#"{"image":"ghcr.io/silogen/aim-llama:1.0.0","imagePullSecrets":[{"name":"ghcr-creds"},{}]}"#
        );
        let labels: Vec<(&str, &str)> = m
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("aim.eai.amd.com/cluster-model-source.name", "amd-models"),
                ("aim.eai.amd.com/model-source", "amd-models"),
                ("aim.eai.amd.com/origin", "auto-generated"),
                ("aim.eai.amd.com/team", "ml"),
                (
                    "app.kubernetes.io/managed-by",
                    "aim-cluster-model-source-controller"
                ),
            ]
        );
        let ann: Vec<(&str, &str)> = m
            .annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            ann,
            [
                ("aim.eai.amd.com/source-registry", "ghcr.io"),
                ("aim.eai.amd.com/source-repository", "silogen/aim-llama"),
                ("aim.eai.amd.com/source-tag", "1.0.0"),
            ]
        );
        assert_eq!(
            serde_json::to_string(&owner_reference("amd-models", "u-1")).expect("json"),
            r#"{"apiVersion":"aim.eai.amd.com/v1alpha1","kind":"AIMClusterModelSource","name":"amd-models","uid":"u-1","controller":true}"#
        );
    }

    #[test]
    fn label_propagation_hook_and_precedence() {
        let mut src = Src::new(&[("org/app:1.0.0", &[], &[])]);
        src.labels = BTreeMap::from([
            ("team".to_string(), "ml".to_string()),
            ("other".to_string(), "x".to_string()),
            (LABEL_OWNER_NAME.to_string(), "upstream".to_string()),
            (LABEL_MANAGED_BY.to_string(), "someone".to_string()),
        ]);
        let hook = |k: &str| k == "team";
        let mut input = src.input();
        input.propagate_label = Some(&hook);
        let m = plan(&input, &[], None).expect("plan");
        let l = &m[0].labels;
        assert_eq!(l.get("team").map(String::as_str), Some("ml"));
        assert_eq!(l.get("other"), None);
        // aim.eai.amd.com/* labels of the parent win over the controller label
        assert_eq!(
            l.get(LABEL_OWNER_NAME).map(String::as_str),
            Some("upstream")
        );
        // managed-by is not an aim label and the hook rejects it
        assert_eq!(
            l.get(LABEL_MANAGED_BY).map(String::as_str),
            Some(MANAGED_BY)
        );
        // docker.io static image: no registry prefix; no secrets → no imagePullSecrets
        assert_eq!(m[0].image, "org/app:1.0.0");
        assert_eq!(
            serde_json::to_string(&m[0].spec).expect("json"),
            r#"{"image":"org/app:1.0.0"}"#
        );
        assert_eq!(
            m[0].annotations
                .get(ANNOTATION_REGISTRY)
                .map(String::as_str),
            Some("docker.io")
        );
    }

    #[test]
    fn max_models_with_existing_spec_vector() {
        // [T] maxModels=2, 1 existing, 3 new images → exactly 1 planned, available 3
        let mut src = Src::new(&[
            ("org/a:1.0.0", &[], &[]),
            ("org/b:1.0.0", &[], &[]),
            ("org/c:1.0.0", &[], &[]),
        ]);
        src.max_models = 2;
        let p = plan_source(&src.input(), &s(&["org/old:0.1.0"]), None).expect("plan");
        assert_eq!(names(&p.models), ["org/a:1.0.0"]);
        assert_eq!(p.available_models, 3);
        assert_eq!(p.discovered_models, 2);
        assert!(p.models_limit_reached);
        assert!(p.filter_errors.is_empty());
    }

    #[test]
    fn existing_models_are_not_regenerated() {
        let src = Src::new(&[("org/a:1.0.0", &[], &[]), ("org/b:1.0.0", &[], &[])]);
        let existing = s(&["org/a:1.0.0", "org/a:1.0.0"]);
        let p = plan_source(&src.input(), &existing, None).expect("plan");
        assert_eq!(names(&p.models), ["org/b:1.0.0"]);
        assert_eq!(p.discovered_models, 2);
        assert_eq!(p.available_models, 2);
        assert!(!p.models_limit_reached);
    }

    #[test]
    fn duplicates_across_filters_count_but_apply_once() {
        let mut src = Src::new(&[("org/a:1.0.0", &[], &[]), ("org/a:1.0.0", &[], &[])]);
        src.max_models = 10;
        let p = plan_source(&src.input(), &[], None).expect("plan");
        assert_eq!(names(&p.models), ["org/a:1.0.0"]);
        assert_eq!(p.available_models, 2);
        assert_eq!(p.discovered_models, 2);
        assert!(!p.models_limit_reached);
        // the duplicate consumes the cap
        src.filters
            .push(("org/b:1.0.0".to_string(), vec![], vec![]));
        src.max_models = 2;
        let p = plan_source(&src.input(), &[], None).expect("plan");
        assert_eq!(names(&p.models), ["org/a:1.0.0"]);
        assert!(p.models_limit_reached);
    }

    #[test]
    fn wildcard_e2e_vector() {
        // [E wildcard]: amdenterpriseai/aim-*, exclude aim-base, versions ["0.8.4"], maxModels 5
        let mut src = Src::new(&[(
            "amdenterpriseai/aim-*",
            &["amdenterpriseai/aim-base"],
            &["0.8.4"],
        )]);
        src.max_models = 5;
        let mut listing = vec![
            img("docker.io", "amdenterpriseai/aim-base", "0.8.4"),
            img("docker.io", "amdenterpriseai/other", "0.8.4"),
            img("docker.io", "someoneelse/aim-x", "0.8.4"),
            img("ghcr.io", "amdenterpriseai/aim-y", "0.8.4"),
        ];
        for m in ["a", "b", "c", "d", "e", "f", "g"] {
            listing.push(img("", &format!("amdenterpriseai/aim-{m}"), "0.8.3"));
            listing.push(img("", &format!("amdenterpriseai/aim-{m}"), "0.8.4"));
            listing.push(img("", &format!("amdenterpriseai/aim-{m}"), "latest"));
        }
        let p = plan_source(&src.input(), &[], Some(&listing)).expect("plan");
        assert_eq!(
            names(&p.models),
            [
                "amdenterpriseai/aim-a:0.8.4",
                "amdenterpriseai/aim-b:0.8.4",
                "amdenterpriseai/aim-c:0.8.4",
                "amdenterpriseai/aim-d:0.8.4",
                "amdenterpriseai/aim-e:0.8.4",
            ]
        );
        assert_eq!(p.discovered_models, 5);
        assert_eq!(p.available_models, 7);
        assert!(p.models_limit_reached);
        assert_eq!(p.models[0].image_ref.registry, "docker.io");
    }

    #[test]
    fn untagged_filter_lists_tags_with_global_versions() {
        let mut src = Src::new(&[("ghcr.io/silogen/aim-llama", &[], &[])]);
        src.versions = s(&[">=0.8.0"]);
        let listing = [
            img("ghcr.io", "silogen/aim-llama", "0.7.0"),
            img("ghcr.io", "silogen/aim-llama", "0.8.1-rc1"),
            img("ghcr.io", "silogen/aim-llama", "latest"),
            img("ghcr.io", "silogen/aim-llama2", "0.9.0"),
            img("docker.io", "silogen/aim-llama", "0.9.0"),
        ];
        let m = plan(&src.input(), &[], Some(&listing)).expect("plan");
        assert_eq!(names(&m), ["ghcr.io/silogen/aim-llama:0.8.1-rc1"]);
        // a filter without a registry is enumerated against spec.registry
        let mut src = Src::new(&[("silogen/aim-llama", &[], &[])]);
        src.registry = "ghcr.io".to_string();
        let m = plan(&src.input(), &[], Some(&listing)).expect("plan");
        assert_eq!(
            names(&m),
            [
                "ghcr.io/silogen/aim-llama:0.7.0",
                "ghcr.io/silogen/aim-llama:0.8.1-rc1",
                "ghcr.io/silogen/aim-llama:latest",
            ]
        );
    }

    #[test]
    fn ghcr_and_docker_hub_wildcard_rules() {
        let listing = [
            img("ghcr.io", "silogen/aim-llama", "1.0.0"),
            img("ghcr.io", "silogenx/aim-llama", "1.0.0"),
        ];
        let src = Src::new(&[("ghcr.io/silogen/aim-*", &[], &[])]);
        // [E auth-failure]: no credentials → the filter fails, no models
        let p = plan_source(&src.input(), &[], Some(&listing)).expect("plan");
        assert!(p.models.is_empty());
        assert_eq!(p.filter_errors.len(), 1);
        assert!(matches!(
            plan(&src.input(), &[], Some(&listing)),
            Err(CatalogError::InvalidFilter { .. })
        ));
        let mut src = Src::new(&[("ghcr.io/silogen*/aim-*", &[], &[])]);
        src.secrets = s(&["ghcr-creds"]);
        let m = plan(&src.input(), &[], Some(&listing)).expect("plan");
        // the org is `silogen`: silogenx is another org the operator never lists
        assert_eq!(names(&m), ["ghcr.io/silogen/aim-llama:1.0.0"]);
        // Docker Hub: a pattern starting with `*` has no namespace
        let src = Src::new(&[("*/aim-*", &[], &[]), ("org/app:1.0.0", &[], &[])]);
        let p = plan_source(&src.input(), &[], Some(&[])).expect("plan");
        assert_eq!(names(&p.models), ["org/app:1.0.0"]);
        assert_eq!(p.filter_errors.len(), 1);
        assert!(plan(&src.input(), &[], Some(&[])).is_err());
        // other registries: catalog of spec.registry
        let mut src = Src::new(&[("team/*", &[], &[])]);
        src.registry = "registry.example.com:5000".to_string();
        let listing = [
            img("registry.example.com:5000", "team/app", "1"),
            img("", "team/tool", "2"),
            img("other.example.com", "team/app", "1"),
        ];
        let m = plan(&src.input(), &[], Some(&listing)).expect("plan");
        assert_eq!(
            names(&m),
            [
                "registry.example.com:5000/team/app:1",
                "registry.example.com:5000/team/tool:2",
            ]
        );
    }

    // ---- offline.md -----------------------------------------------------------------------

    #[test]
    fn offline_listing_requirements() {
        // a static repo:tag filter needs nothing
        let src = Src::new(&[("ghcr.io/silogen/aim-llama:1.0.0", &[], &[])]);
        assert_eq!(plan(&src.input(), &[], None).map(|m| m.len()), Ok(1));
        // wildcard and untagged (semver) filters need a listing
        for f in ["amdenterpriseai/aim-*", "amdenterpriseai/aim-llama"] {
            let src = Src::new(&[("org/app:1.0.0", &[], &[]), (f, &[], &[">=1.0.0"])]);
            let err = plan(&src.input(), &[], None).expect_err("needs listing");
            assert_eq!(
                err,
                CatalogError::NeedsRegistryListing {
                    filter: f.to_string()
                }
            );
            assert!(err.to_string().contains("needs registry listing"));
            assert_eq!(
                plan_source(&src.input(), &[], None).map(|p| p.models.len()),
                Err(err)
            );
            // an empty listing is a listing: the registry returned nothing
            assert_eq!(plan(&src.input(), &[], Some(&[])).map(|m| m.len()), Ok(1));
        }
        // the first error in filter order wins in `plan`
        let src = Src::new(&[("", &[], &[]), ("org/*", &[], &[])]);
        assert!(matches!(
            plan(&src.input(), &[], None),
            Err(CatalogError::InvalidFilter { .. })
        ));
        assert!(matches!(
            plan_source(&src.input(), &[], None),
            Err(CatalogError::NeedsRegistryListing { .. })
        ));
    }

    #[test]
    fn crashing_constraint_is_an_error_in_plan() {
        let src = Src::new(&[("org/*", &[], &[">=1.0.0 || || <0.5.0"])]);
        let listing = [img("", "org/app", "1.2.0"), img("", "org/app", "0.7.0")];
        assert!(matches!(
            plan(&src.input(), &[], Some(&listing)),
            Err(CatalogError::InvalidFilter { .. })
        ));
        let p = plan_source(&src.input(), &[], Some(&listing)).expect("plan");
        assert!(p.models.is_empty());
        assert_eq!(p.filter_errors.len(), 1);
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let mut weird: Vec<String> = s(&[
            "",
            "*",
            "**",
            "/",
            "//",
            ":",
            "::",
            "@",
            "@@",
            "a@b",
            "a:b@c",
            "*:*",
            "*/",
            "/*",
            ".",
            "..",
            ".*",
            "*.",
            "a/*",
            "a.b/*",
            "a.b:/*",
            "[",
            "]",
            "[::1]/x",
            "[::1]:5000/xy",
            "[::1/xy",
            "localhost:/xy",
            "h:p/xy",
            "h:5000:1/xy",
            "x:",
            "x:y:z",
            "x@sha256:",
            "x@sha256:zz",
            "ghcr.io/",
            "ghcr.io/*",
            "ghcr.io//*",
            "docker.io/*",
            "https://",
            "http://x/*",
            "%41.io/xy",
            "a%zz.io/xy",
            "a b/cd",
            "a\tb.io/cd",
            "a\u{0}.io/cd",
            "ÄÖ.io/xy",
            "é/*",
            "ü*",
            "🦀/🦀:🦀",
            "x\u{2028}/y",
            "||",
            "-",
            "v",
            "vv",
            "v1",
            "1.x",
            "x.x.x",
            ">=x",
            "<=1.x.x",
            "!1.x",
            "~1.x",
            "^1",
            ">=1.0.0 || ",
            "|| >=1.0.0",
            ">=1.0.0 || || <2.0.0",
            "= = =",
            ">= >= 1.0.0",
            "٣.٣.٣",
            ">=٣",
            "²x1.0.0",
            "1.+2.x",
            "99999999999999999999.0.0",
            "9223372036854775807.x",
            "1.9223372036854775807.x",
            ">=1.0.0-",
            "1.0.0+",
            "1.0.0-.",
            "1.0.0-01",
            "1.0.0-a..b",
            "   ",
            " >=1.0.0 ",
            "\u{feff}1.0.0",
            "1.0.0\u{a0}",
        ]);
        weird.push("a".repeat(600));
        weird.push("*".repeat(513));
        weird.push(format!("{}:{}", "a".repeat(300), "t".repeat(200)));
        weird.push(format!("x@sha256:{}", "f".repeat(64)));
        weird.push(format!("{}/{}", "é".repeat(100), "é".repeat(100)));
        for w in &weird {
            let _ = normalize_constraint(w);
            let _ = parse_range(w);
            let _ = Version::parse(w);
            for tag in ["1.0.0", "0.0.1-rc.1", "v2.3.4", "latest", w.as_str()] {
                let _ = matches_semver(tag, std::slice::from_ref(w));
                let _ = matches_semver_checked(tag, &[w.clone(), ">=0.0.0".to_string()]);
            }
            for p in ["*", "a*", w.as_str()] {
                let _ = wildcard_match(p, w);
                let _ = wildcard_match(w, p);
            }
            let image = img(w, w, w);
            let _ = image.uri();
            let _ = model_name(&image);
            if let Ok(f) = parse_filter(w, w) {
                let one = std::slice::from_ref(w);
                let _ = filter_matches(&f, one, one, one, &image);
                let _ = f.is_static();
            }
            let mut src = Src::new(&[]);
            src.filters = vec![(w.clone(), vec![w.clone()], vec![w.clone()])];
            src.versions = vec![w.clone()];
            src.registry = w.clone();
            src.secrets = vec![w.clone()];
            src.name = w.clone();
            src.max_models = 3;
            let listing = [
                image.clone(),
                img("", w, "1.0.0"),
                img("docker.io", "a/b", w),
            ];
            let _ = plan(&src.input(), std::slice::from_ref(w), Some(&listing));
            let _ = plan_source(&src.input(), std::slice::from_ref(w), Some(&listing));
            let _ = plan_source(&src.input(), &[], None);
        }
    }
}
