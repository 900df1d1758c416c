//! The lock driver (lock.md, style.md §1): resolve with a recording lock, fetch what is
//! missing, resolve again until no new need appears, then keep exactly what was needed.

use super::cluster::Export;
use super::{Fetch, FetchError};
use crate::diag::Diagnostic;
use crate::load::lock::{Discovery, Endpoint, ListedImage, Lock, LockedImage, Need};
use crate::load::{self, LoadOptions};
use crate::render::{self, Ctx, Gitops};
use crate::resolve;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// lock.md: "Accept 0 < size ≤ 2^50 bytes, as the operator does".
pub const MAX_SIZE: u64 = 1 << 50;
/// A listing yields images, their labels templates, the templates' sources sizes: a few
/// rounds. More means a loop, which is a bug, not a reason to spin.
const MAX_ROUNDS: usize = 16;

/// What to fetch again although the lock has it (`--refresh [KIND|KEY]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    Nothing,
    All,
    Kind(Kind),
    /// One key: an image reference, a source URI, a model source's name, a UID key.
    Key(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Images,
    Sizes,
    Listings,
}

pub struct Options<'a> {
    pub load: LoadOptions,
    /// `None`: offline; only the export and what the file already holds.
    pub fetch: Option<&'a dyn Fetch>,
    pub export: Option<&'a Export>,
    pub refresh: Refresh,
    /// `--s3-endpoint`: used for every `s3://` source instead of its own `AWS_ENDPOINT_URL`.
    pub s3_endpoint: Option<String>,
    /// Every failed fetch is an error, even where an old entry could stand in: an online
    /// `--check` must not call a lock current that it could not compare.
    pub strict: bool,
    /// Parallel requests at most.
    pub jobs: usize,
    /// One line per fetched fact (stderr in the CLI).
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// A computed lock and what was said on the way. `Err`: the tree has errors or a fact could
/// not be had; the old file must stay as it is.
pub struct Locked {
    pub lock: Lock,
    pub diagnostics: Vec<Diagnostic>,
    /// Needs nothing covers (discovery without an export, a fetch offline): `--check`
    /// reports the lock as not current.
    pub uncovered: Vec<Need>,
    /// `(namespace, template)` → the spec hash an export's result must carry.
    pub discovery_hashes: BTreeMap<(Option<String>, String), String>,
}

/// One resolution's view: what it asked for, and what it said about the lock.
struct Round {
    needs: BTreeSet<Need>,
    /// The needs without which the tree does not render.
    required: BTreeSet<Need>,
    stale_discovery: BTreeSet<usize>,
    discovery_hashes: BTreeMap<(Option<String>, String), String>,
    index: load::Index,
}

/// Computes the lock for a tree read into `sources` (relative path, bytes) whose current
/// lock file parsed to `old`.
pub fn lock(
    sources: &[(PathBuf, Vec<u8>)],
    old: &Lock,
    opts: &Options,
) -> Result<Locked, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut lock = old.clone();
    lock.ledger = Default::default();
    let refreshed = Taken::take(&mut lock, &opts.refresh);
    if let (Refresh::Key(key), true) = (&opts.refresh, refreshed.is_empty()) {
        return Err(vec![Diagnostic::error(
            "LockFetchFailed",
            format!("--refresh {key}: aim.lock.yaml has no image, size or listing of that key"),
        )
        .help("name an image reference, a source URI or a model source as the file spells it, or one of: images, sizes, listings")]);
    }
    // The tree without its lock file: each round resolves against `lock` instead.
    let sources: Vec<_> = sources
        .iter()
        .filter(|(p, _)| p.as_path() != std::path::Path::new(load::LOCK_FILE))
        .cloned()
        .collect();
    let sources = sources.as_slice();
    let mut failed: BTreeSet<Need> = BTreeSet::new();
    let mut round = resolve_round(sources, &opts.load, &lock)?;
    let mut settled = false;
    for _ in 0..MAX_ROUNDS {
        // A discovery entry of another spec would drive the needs (its model sources) and
        // still be pruned: it goes first, and the tree is resolved without it.
        let mut changed = drop_stale_discovery(&mut lock, &round, &mut diags);
        if let Some(e) = opts.export {
            changed |= apply_export(&mut lock, e, &round, &mut diags);
        }
        if let Some(fetch) = opts.fetch.filter(|_| !changed) {
            let wanted: Vec<Need> = round
                .needs
                .iter()
                .filter(|n| !has(&lock, n) && !failed.contains(*n))
                .cloned()
                .collect();
            for (need, result) in fetch_all(fetch, &round, &wanted, opts) {
                match result {
                    Ok((fact, notes)) => {
                        diags.extend(notes);
                        changed |= store(&mut lock, &need, fact);
                    }
                    Err(e) => {
                        let kept = refreshed.restore(&mut lock, &need);
                        changed |= kept;
                        let required = opts.strict || round.required.contains(&need);
                        diags.push(fetch_failed(&e, &need, kept && !opts.strict, required));
                        failed.insert(need);
                    }
                }
            }
        }
        // What a refresh took out and nothing replaced goes back, and counts as a change:
        // the facts it leads to (templates, sizes) are needed again.
        if !changed && refreshed.restore_missing(&mut lock) {
            changed = true;
        }
        if !changed {
            settled = true;
            break;
        }
        round = resolve_round(sources, &opts.load, &lock)?;
    }
    if !settled {
        diags.push(
            Diagnostic::error(
                "LockFetchFailed",
                format!("the lock did not settle in {MAX_ROUNDS} rounds of fetching: each round found new needs"),
            )
            .help("this is a bug in aimc; please report it with the tree"),
        );
    }
    let uncovered = round
        .required
        .iter()
        .filter(|n| !has(&lock, n) && !matches!(n, Need::Uid { .. }))
        .cloned()
        .collect();
    let lock = prune(&lock, &round);
    // Each round applies the export again: its warnings are said once.
    let mut said = Vec::with_capacity(diags.len());
    diags.retain(|d| {
        let new = !said.contains(d);
        if new {
            said.push(d.clone());
        }
        new
    });
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(Locked {
        lock,
        diagnostics: diags,
        uncovered,
        discovery_hashes: round.discovery_hashes,
    })
}

/// A fetch that failed: a warning when the old entry is kept or the tree renders without the
/// fact, else an error.
fn fetch_failed(e: &FetchError, need: &Need, kept: bool, required: bool) -> Diagnostic {
    if kept {
        Diagnostic::warning("LockFetchFailed", e.to_string())
            .help("the entry already in aim.lock.yaml is kept")
    } else if !required {
        Diagnostic::warning("LockFetchFailed", e.to_string()).help(
            "the tree renders without it: only the templates its labels would generate are missing",
        )
    } else {
        Diagnostic::error("LockFetchFailed", e.to_string()).help(fetch_help(need))
    }
}

fn fetch_help(need: &Need) -> &'static str {
    match need {
        Need::Image { .. } | Need::Listing { .. } => "check the reference and your registry login (`docker login`, DOCKER_CONFIG, REGISTRY_AUTH_FILE); or take the facts from a cluster with --from-cluster",
        Need::Size { .. } => "check the URI and the credentials (AWS_* or HF_TOKEN in the environment, --s3-endpoint for a cluster-internal endpoint); or set size on the model source",
        _ => "take the facts from a cluster with --from-cluster",
    }
}

/// Loads the tree (without its lock file) with `lock`, and runs it as `render --emit all`
/// would, recording every lookup.
fn resolve_round(
    sources: &[(PathBuf, Vec<u8>)],
    opts: &LoadOptions,
    lock: &Lock,
) -> Result<Round, Vec<Diagnostic>> {
    let mut loaded = load::load_sources(sources.to_vec(), opts);
    if loaded.diagnostics.has_errors() {
        return Err(loaded.diagnostics.finish());
    }
    let mut lock = lock.clone();
    lock.ledger = crate::load::lock::Ledger::recording();
    // Source expansion's own errors (a listing not there yet) are what this run fetches.
    let _ = resolve::sources::expand(&mut loaded.index, &lock);
    let mut plan = resolve::resolve(&loaded.index, &loaded.config, &lock);
    let stale_discovery = std::mem::take(&mut plan.stale_discovery)
        .into_iter()
        .collect();
    let discovery_hashes = std::mem::take(&mut plan.discovery_hashes);
    let ctx = Ctx {
        gitops: Gitops::Argocd,
        concrete: true,
        derived: true,
    };
    drop(render::render_with(plan, &lock, &ctx, |_, _| ()));
    Ok(Round {
        needs: lock.ledger.needs(),
        required: lock.ledger.required(),
        stale_discovery,
        discovery_hashes,
        index: loaded.index,
    })
}

/// Whether the lock holds the fact.
fn has(lock: &Lock, need: &Need) -> bool {
    match need {
        Need::Listing { source } => lock.registry_listings.contains_key(source),
        Need::Image { reference } => lock.images.contains_key(reference),
        Need::Size { uri, .. } => lock.sizes.get(uri).is_some_and(|q| q.value() != 0),
        Need::Discovery {
            namespace,
            template,
        } => lock
            .discovery
            .iter()
            .any(|d| &d.namespace == namespace && &d.template == template),
        Need::Uid { key } => lock.uids.contains_key(key),
    }
}

/// The entries a refresh took out of the lock, so that a failed fetch can put them back.
#[derive(Default)]
struct Taken {
    images: BTreeMap<String, LockedImage>,
    sizes: BTreeMap<String, crate::api::quantity::Quantity>,
    listings: BTreeMap<String, Vec<ListedImage>>,
}

impl Taken {
    /// Takes what `refresh` names out of `lock`.
    fn take(lock: &mut Lock, refresh: &Refresh) -> Taken {
        let pick = |kind: Kind, key: &str| match refresh {
            Refresh::Nothing => false,
            Refresh::All => true,
            Refresh::Kind(k) => *k == kind,
            Refresh::Key(k) => k == key,
        };
        Taken {
            images: drain(&mut lock.images, |k| pick(Kind::Images, k)),
            sizes: drain(&mut lock.sizes, |k| pick(Kind::Sizes, k)),
            listings: drain(&mut lock.registry_listings, |k| pick(Kind::Listings, k)),
        }
    }

    /// Puts the entry for `need` back, if one was taken; whether there was one.
    fn restore(&self, lock: &mut Lock, need: &Need) -> bool {
        fn put<V: Clone>(
            from: &BTreeMap<String, V>,
            to: &mut BTreeMap<String, V>,
            key: &str,
        ) -> bool {
            from.get(key)
                .map(|v| to.insert(key.to_owned(), v.clone()))
                .is_some()
        }
        match need {
            Need::Image { reference } => put(&self.images, &mut lock.images, reference),
            Need::Size { uri, .. } => put(&self.sizes, &mut lock.sizes, uri),
            Need::Listing { source } => put(&self.listings, &mut lock.registry_listings, source),
            Need::Discovery { .. } | Need::Uid { .. } => false,
        }
    }

    /// Puts back whatever nothing replaced (offline, or a fetch not tried); whether
    /// anything was.
    fn restore_missing(&self, lock: &mut Lock) -> bool {
        fn fill<V: Clone>(from: &BTreeMap<String, V>, to: &mut BTreeMap<String, V>) -> bool {
            let mut any = false;
            for (k, v) in from {
                if !to.contains_key(k) {
                    to.insert(k.clone(), v.clone());
                    any = true;
                }
            }
            any
        }
        let images = fill(&self.images, &mut lock.images);
        let sizes = fill(&self.sizes, &mut lock.sizes);
        let listings = fill(&self.listings, &mut lock.registry_listings);
        images || sizes || listings
    }

    fn is_empty(&self) -> bool {
        self.images.is_empty() && self.sizes.is_empty() && self.listings.is_empty()
    }
}

fn drain<V>(map: &mut BTreeMap<String, V>, pick: impl Fn(&str) -> bool) -> BTreeMap<String, V> {
    let keys: Vec<String> = map.keys().filter(|k| pick(k)).cloned().collect();
    keys.into_iter()
        .filter_map(|k| map.remove(&k).map(|v| (k, v)))
        .collect()
}

/// Removes the discovery entries this round found stale, with a warning each; whether any.
fn drop_stale_discovery(lock: &mut Lock, round: &Round, diags: &mut Vec<Diagnostic>) -> bool {
    if round.stale_discovery.is_empty() {
        return false;
    }
    let mut i = 0;
    lock.discovery.retain(|d| {
        let stale = round.stale_discovery.contains(&i);
        i += 1;
        if stale {
            diags.push(
                Diagnostic::warning(
                    "StaleLockEntry",
                    format!(
                        "the discovery entry of template {}{} was taken from another spec of the template: dropped",
                        d.namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default(),
                        d.template
                    ),
                )
                .help("export the template's current discovery result from the cluster (--from-cluster)"),
            );
        }
        !stale
    });
    true
}

/// Takes the export's facts for the needs of this round; a cluster value replaces a
/// registry's. Whether anything changed.
fn apply_export(
    lock: &mut Lock,
    export: &Export,
    round: &Round,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let mut changed = false;
    for need in &round.needs {
        match need {
            Need::Image { reference } => {
                if let Some(meta) = export.images.get(reference) {
                    // The registry's digest stays only while it read the same labels.
                    let digest = lock
                        .images
                        .get(reference)
                        .filter(|i| &i.metadata == meta)
                        .and_then(|i| i.digest.clone());
                    let entry = LockedImage {
                        digest,
                        metadata: meta.clone(),
                    };
                    changed |= lock
                        .images
                        .insert(reference.clone(), entry.clone())
                        .as_ref()
                        != Some(&entry);
                }
            }
            Need::Size { uri, .. } => {
                if let Some(size) = export
                    .sizes
                    .get(uri)
                    .filter(|s| u64::try_from(**s).is_ok_and(|s| s > 0 && s <= MAX_SIZE))
                {
                    let q = bytes(*size);
                    changed |= lock.sizes.insert(uri.clone(), q.clone()).as_ref() != Some(&q);
                }
            }
            Need::Uid { key } => {
                if let Some(uid) = export.uids.get(key) {
                    changed |=
                        lock.uids.insert(key.clone(), uid.clone()).as_deref() != Some(uid.as_str());
                }
            }
            Need::Discovery {
                namespace,
                template,
            } => {
                let key = (namespace.clone(), template.clone());
                let Some(d) = export.discovery.get(&key) else {
                    continue;
                };
                let want = round.discovery_hashes.get(&key);
                if want.is_some() && d.spec_hash.as_ref() != want {
                    diags.push(Diagnostic::warning(
                        "ExportSkipped",
                        format!(
                            "the export's discovery result for template {}{template} was taken from a different spec (specHash {}, the tree's {}): not used",
                            namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default(),
                            d.spec_hash.as_deref().unwrap_or("none"),
                            want.map(String::as_str).unwrap_or("unknown"),
                        ),
                    ).help("apply the tree to the cluster, wait for discovery, and export again"));
                    continue;
                }
                changed |= replace_discovery(lock, d);
            }
            Need::Listing { .. } => {}
        }
    }
    changed
}

fn replace_discovery(lock: &mut Lock, d: &Discovery) -> bool {
    let at = lock
        .discovery
        .iter()
        .position(|e| e.namespace == d.namespace && e.template == d.template);
    match at {
        Some(i) if lock.discovery[i] == *d => false,
        Some(i) => {
            lock.discovery[i] = d.clone();
            true
        }
        None => {
            lock.discovery.push(d.clone());
            true
        }
    }
}

/// A fetched fact with the warnings that came with it, or why it could not be had.
type Fetched = Result<(Fact, Vec<Diagnostic>), FetchError>;

/// A fetched fact.
enum Fact {
    Image(Box<LockedImage>),
    Size(u64),
    Listing(Vec<ListedImage>),
}

/// Fetches every wanted fact a client can give (images, sizes, listings), at most
/// `opts.jobs` at a time, and returns the results in `wanted`'s order.
fn fetch_all(
    fetch: &dyn Fetch,
    round: &Round,
    wanted: &[Need],
    opts: &Options,
) -> Vec<(Need, Fetched)> {
    let work: Vec<&Need> = wanted
        .iter()
        .filter(|n| match n {
            Need::Image { .. } | Need::Listing { .. } => true,
            // Other schemes have no API aimc measures: they stay uncovered, not an error
            // that would block the rest of the lock.
            Need::Size { uri, .. } => uri.starts_with("s3://") || uri.starts_with("hf://"),
            Need::Discovery { .. } | Need::Uid { .. } => false,
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, work.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(need) = work.get(i) else { break };
                let result = fetch_one(fetch, round, need, opts.s3_endpoint.as_deref());
                (opts.progress)(&progress_line(need, &result));
                if let Ok(mut r) = results.lock() {
                    r.push((i, (*need).clone(), result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, n, r)| (n, r)).collect()
}

fn progress_line(need: &Need, result: &Fetched) -> String {
    let what = match need {
        Need::Image { reference } => format!("image {reference}"),
        Need::Size { uri, .. } => format!("size of {uri}"),
        Need::Listing { source } => format!("listing of AIMClusterModelSource {source}"),
        Need::Discovery { template, .. } => format!("discovery of {template}"),
        Need::Uid { key } => format!("uid of {key}"),
    };
    match result {
        Ok((Fact::Image(i), _)) => {
            format!("fetched {what}: {}", i.digest.as_deref().unwrap_or(""))
        }
        Ok((Fact::Size(n), _)) => format!("fetched {what}: {n} bytes"),
        Ok((Fact::Listing(l), _)) => format!("fetched {what}: {} images", l.len()),
        Err(_) => format!("failed {what}"),
    }
}

/// One fact, with the warnings that came with it.
fn fetch_one(fetch: &dyn Fetch, round: &Round, need: &Need, s3_endpoint: Option<&str>) -> Fetched {
    match need {
        Need::Image { reference } => {
            let config = fetch.image(reference)?;
            let labels = config.labels.unwrap_or_default();
            let metadata = super::labels::image_metadata(&labels).map_err(|e| {
                FetchError::new(
                    format!("image {reference}"),
                    format!("its labels cannot be read as the operator reads them: {e}"),
                )
            })?;
            let image = LockedImage {
                digest: Some(config.digest),
                metadata,
            };
            Ok((Fact::Image(Box::new(image)), Vec::new()))
        }
        Need::Size { uri, endpoint } => size(fetch, uri, endpoint, s3_endpoint),
        Need::Listing { source } => {
            let (images, notes) = listing(fetch, round, source)?;
            Ok((Fact::Listing(images), notes))
        }
        _ => Err(FetchError::new(
            "cluster",
            "only a cluster export has this fact",
        )),
    }
}

fn size(fetch: &dyn Fetch, uri: &str, endpoint: &Endpoint, s3_endpoint: Option<&str>) -> Fetched {
    let mut notes = Vec::new();
    let bytes = if uri.starts_with("s3://") {
        let endpoint = match (s3_endpoint, endpoint) {
            (Some(url), _) => Some(url),
            (None, Endpoint::Url(url)) => Some(url.as_str()),
            (None, Endpoint::Default) => None,
            (None, Endpoint::Unknown) => {
                return Err(FetchError::new(
                    format!("source {uri}"),
                    "its AWS_ENDPOINT_URL comes from a Secret or ConfigMap, whose value aimc does not read: pass the endpoint with --s3-endpoint",
                ))
            }
        };
        let usage = fetch.s3_usage(uri, endpoint)?;
        if usage.bytes != usage.bytes_below_slash && !uri.ends_with('/') {
            notes.push(
                Diagnostic::warning(
                    "SiblingPrefix",
                    format!(
                        "{uri}: {} bytes under the prefix as written, {} under `{}/`: keys of a sibling prefix are counted",
                        usage.bytes,
                        usage.bytes_below_slash,
                        uri.trim_end_matches('/')
                    ),
                )
                .help("the operator counts as `s3cmd du` does, so aimc locks the first figure; if the sibling prefix is not part of the model, rename it or point the source at `KEY/`"),
            );
        }
        usage.bytes
    } else {
        fetch.hf_size(uri)?
    };
    if bytes == 0 || bytes > MAX_SIZE {
        return Err(FetchError::new(
            format!("source {uri}"),
            format!("its size is {bytes} bytes; the operator accepts 1 to 2^50 bytes: check the URI (an empty prefix?), or set size on the model source"),
        ));
    }
    Ok((Fact::Size(bytes), notes))
}

/// The filters of a model source that need a listing, each with its registry.
fn listing_filters(index: &load::Index, source: &str) -> Vec<resolve::model_source::Filter> {
    use crate::api::{AimKind, AimSpec};
    let Some(obj) = index.aim(AimKind::ClusterModelSource, None, source) else {
        return Vec::new();
    };
    let Some(AimSpec::ClusterModelSource(spec)) = obj.aim.as_ref().map(|a| &a.spec) else {
        return Vec::new();
    };
    let registry = spec.registry.clone().unwrap_or_default();
    spec.filters
        .iter()
        .filter_map(|f| resolve::model_source::parse_filter(&f.image, &registry).ok())
        .filter(|f| !f.is_static())
        .collect()
}

/// Docker Hub and GHCR serve no `/v2/_catalog` to users: the operator lists them through
/// their own APIs, which aimc does not call.
fn has_no_catalog(registry: &str) -> bool {
    matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "hub.docker.com" | "ghcr.io"
    )
}

/// Every tag of every repository a source's listed filters name, in registry order:
/// repositories as the filters and the catalog give them, then each one's tags. A repository
/// a wildcard found whose tags cannot be listed is skipped with a warning, as the operator
/// does; one a filter names is an error.
fn listing(
    fetch: &dyn Fetch,
    round: &Round,
    source: &str,
) -> Result<(Vec<ListedImage>, Vec<Diagnostic>), FetchError> {
    // (registry, repository, found by a wildcard)
    let mut repos: Vec<(String, String, bool)> = Vec::new();
    for f in listing_filters(&round.index, source) {
        let registry = f.source_registry.clone();
        if !f.has_wildcard {
            repos.push((registry, f.repository.clone(), false));
            continue;
        }
        if has_no_catalog(&registry) {
            return Err(FetchError::new(
                format!("registry {registry}"),
                format!("filter {:?}: aimc lists wildcard repositories through /v2/_catalog, which {registry} does not serve; name each repository in its own filter (e.g. `amdenterpriseai/aim-x`), whose tags aimc lists", f.image),
            ));
        }
        for repo in fetch.catalog(&registry)? {
            if resolve::model_source::wildcard_match(&f.repository, &repo) {
                repos.push((registry.clone(), repo, true));
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for (registry, repo, wildcard) in repos {
        if !seen.insert((registry.clone(), repo.clone())) {
            continue;
        }
        let tags = match fetch.tags(&registry, &repo) {
            Ok(tags) => tags,
            Err(e) if wildcard => {
                notes.push(
                    Diagnostic::warning("LockFetchFailed", format!("AIMClusterModelSource {source}: {e}"))
                        .help("the operator skips a repository it cannot list, so the listing leaves it out"),
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        out.extend(tags.into_iter().map(|tag| ListedImage {
            registry: registry.clone(),
            repository: repo.clone(),
            tag,
        }));
    }
    Ok((out, notes))
}

fn bytes(n: i64) -> crate::api::quantity::Quantity {
    crate::api::quantity::Quantity::from_int(n, crate::api::quantity::Format::DecimalSI)
}

/// Stores a fetched fact; whether it is new.
fn store(lock: &mut Lock, need: &Need, fact: Fact) -> bool {
    match (need, fact) {
        (Need::Image { reference }, Fact::Image(i)) => {
            lock.images.insert(reference.clone(), (*i).clone()).as_ref() != Some(&*i)
        }
        (Need::Size { uri, .. }, Fact::Size(n)) => {
            let q = bytes(i64::try_from(n).unwrap_or(i64::MAX));
            lock.sizes.insert(uri.clone(), q.clone()).as_ref() != Some(&q)
        }
        (Need::Listing { source }, Fact::Listing(l)) => {
            lock.registry_listings
                .insert(source.clone(), l.clone())
                .as_ref()
                != Some(&l)
        }
        _ => false,
    }
}

/// Exactly the entries the last round asked for; discovery entries that are stale go too.
fn prune(lock: &Lock, round: &Round) -> Lock {
    let needs = &round.needs;
    let mut out = Lock {
        lock_version: Some(crate::load::lock::LOCK_VERSION),
        ..Lock::default()
    };
    for need in needs {
        match need {
            Need::Image { reference } => {
                if let Some(v) = lock.images.get(reference) {
                    out.images.insert(reference.clone(), v.clone());
                }
            }
            Need::Size { uri, .. } => {
                if let Some(v) = lock.sizes.get(uri) {
                    out.sizes.insert(uri.clone(), v.clone());
                }
            }
            Need::Listing { source } => {
                if let Some(v) = lock.registry_listings.get(source) {
                    out.registry_listings.insert(source.clone(), v.clone());
                }
            }
            Need::Uid { key } => {
                if let Some(v) = lock.uids.get(key) {
                    out.uids.insert(key.clone(), v.clone());
                }
            }
            Need::Discovery { .. } => {}
        }
    }
    let mut seen = BTreeSet::new();
    out.discovery = lock
        .discovery
        .iter()
        .enumerate()
        .filter(|(i, d)| {
            let need = Need::Discovery {
                namespace: d.namespace.clone(),
                template: d.template.clone(),
            };
            !round.stale_discovery.contains(i) && needs.contains(&need) && seen.insert(need)
        })
        .map(|(_, d)| d.clone())
        .collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::{ImageConfig, S3Usage};
    use std::sync::Mutex;

    /// A registry, a bucket and a Hub in maps; every call is logged.
    #[derive(Default)]
    struct MapFetch {
        images: BTreeMap<String, ImageConfig>,
        catalogs: BTreeMap<String, Vec<String>>,
        tags: BTreeMap<(String, String), Vec<String>>,
        s3: BTreeMap<String, S3Usage>,
        calls: Mutex<Vec<String>>,
    }

    impl MapFetch {
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
        fn calls(&self) -> Vec<String> {
            let mut c = self.calls.lock().unwrap().clone();
            c.sort();
            c
        }
    }

    fn missing(what: &str) -> FetchError {
        FetchError::new(what, "404 not found")
    }

    impl Fetch for MapFetch {
        fn image(&self, reference: &str) -> Result<ImageConfig, FetchError> {
            self.log(format!("image {reference}"));
            self.images
                .get(reference)
                .cloned()
                .ok_or_else(|| missing(reference))
        }
        fn catalog(&self, registry: &str) -> Result<Vec<String>, FetchError> {
            self.log(format!("catalog {registry}"));
            self.catalogs
                .get(registry)
                .cloned()
                .ok_or_else(|| missing(registry))
        }
        fn tags(&self, registry: &str, repository: &str) -> Result<Vec<String>, FetchError> {
            self.log(format!("tags {registry}/{repository}"));
            self.tags
                .get(&(registry.to_owned(), repository.to_owned()))
                .cloned()
                .ok_or_else(|| missing(repository))
        }
        fn s3_usage(&self, uri: &str, endpoint: Option<&str>) -> Result<S3Usage, FetchError> {
            self.log(format!("s3 {uri} via {}", endpoint.unwrap_or("AWS")));
            self.s3.get(uri).copied().ok_or_else(|| missing(uri))
        }
        fn hf_size(&self, uri: &str) -> Result<u64, FetchError> {
            Err(missing(uri))
        }
    }

    fn tree(files: &[(&str, &str)]) -> Vec<(PathBuf, Vec<u8>)> {
        files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.as_bytes().to_vec()))
            .collect()
    }

    fn opts<'a>(fetch: &'a MapFetch, refresh: Refresh) -> Options<'a> {
        Options {
            load: LoadOptions::default(),
            fetch: Some(fetch),
            export: None,
            refresh,
            strict: false,
            s3_endpoint: None,
            jobs: 4,
            progress: &|_| {},
        }
    }

    fn labels(canonical: &str) -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([
            (
                "com.amd.aim.model.canonicalName".to_owned(),
                canonical.to_owned(),
            ),
            (
                "com.amd.aim.model.recommendedDeployments".to_owned(),
                "{'gpuModel': 'MI300X', 'gpuCount': 1, 'precision': 'fp8', 'metric': 'latency'}"
                    .to_owned(),
            ),
        ]))
    }

    const SOURCE: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModelSource
metadata: {name: catalog}
spec:
  registry: reg.test
  filters:
    - image: team/aim-*
";

    /// A listing yields models, whose images are then fetched: two rounds, one run.
    #[test]
    fn a_listing_leads_to_the_images_it_names() {
        let mut f = MapFetch::default();
        f.catalogs.insert(
            "reg.test".into(),
            vec![
                "team/aim-a".into(),
                "team/other".into(),
                "team/aim-b".into(),
            ],
        );
        f.tags.insert(
            ("reg.test".into(), "team/aim-a".into()),
            vec!["2.0.0".into(), "1.0.0".into()],
        );
        f.tags.insert(
            ("reg.test".into(), "team/aim-b".into()),
            vec!["0.1.0".into()],
        );
        for (r, c) in [
            ("team/aim-a:2.0.0", "a/A"),
            ("team/aim-a:1.0.0", "a/A"),
            ("team/aim-b:0.1.0", "b/B"),
        ] {
            f.images.insert(
                format!("reg.test/{r}"),
                ImageConfig {
                    digest: format!("sha256:{c}"),
                    labels: labels(c),
                },
            );
        }
        let locked = lock(
            &tree(&[("s.yaml", SOURCE)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        let listing: Vec<String> = locked.lock.registry_listings["catalog"]
            .iter()
            .map(|l| format!("{}/{}:{}", l.registry, l.repository, l.tag))
            .collect();
        // Registry order, not sorted: it decides maxModels.
        assert_eq!(
            listing,
            [
                "reg.test/team/aim-a:2.0.0",
                "reg.test/team/aim-a:1.0.0",
                "reg.test/team/aim-b:0.1.0"
            ]
        );
        assert_eq!(
            locked.lock.images.keys().cloned().collect::<Vec<_>>(),
            [
                "reg.test/team/aim-a:1.0.0",
                "reg.test/team/aim-a:2.0.0",
                "reg.test/team/aim-b:0.1.0"
            ]
        );
        assert_eq!(
            locked.lock.images["reg.test/team/aim-b:0.1.0"]
                .digest
                .as_deref(),
            Some("sha256:b/B")
        );
        // team/other is never asked for; nothing is fetched twice.
        assert_eq!(f.calls().iter().filter(|c| c.contains("other")).count(), 0);
        let calls = f.calls();
        let unique: BTreeSet<_> = calls.iter().collect();
        assert_eq!(calls.len(), unique.len(), "{calls:?}");
    }

    const IMAGE_SERVICE: &str = "apiVersion: v1
kind: Namespace
metadata: {name: ns}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {image: reg.test/team/aim-a:1.0.0}
";

    #[test]
    fn a_required_fact_that_cannot_be_fetched_is_an_error() {
        let f = MapFetch::default();
        let Err(diags) = lock(
            &tree(&[("s.yaml", IMAGE_SERVICE)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        ) else {
            panic!("a missing image must fail the lock");
        };
        assert!(
            diags
                .iter()
                .any(|d| d.code == "LockFetchFailed" && d.is_error()),
            "{diags:?}"
        );
    }

    #[test]
    fn a_refresh_that_fails_keeps_the_old_entry_with_a_warning() {
        let f = MapFetch::default();
        let mut old = Lock::default();
        let kept = LockedImage {
            digest: Some("sha256:old".into()),
            metadata: Default::default(),
        };
        old.images
            .insert("reg.test/team/aim-a:1.0.0".into(), kept.clone());
        let locked = lock(
            &tree(&[("s.yaml", IMAGE_SERVICE)]),
            &old,
            &opts(&f, Refresh::Kind(Kind::Images)),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(locked.lock.images["reg.test/team/aim-a:1.0.0"], kept);
        assert!(locked
            .diagnostics
            .iter()
            .any(|d| d.code == "LockFetchFailed" && !d.is_error()));
        assert_eq!(f.calls(), ["image reg.test/team/aim-a:1.0.0"]);
    }

    #[test]
    fn what_the_lock_has_is_not_fetched_again_and_what_is_unused_is_pruned() {
        let f = MapFetch::default();
        let mut old = Lock::default();
        old.images
            .insert("reg.test/team/aim-a:1.0.0".into(), LockedImage::default());
        old.images
            .insert("reg.test/unused:1".into(), LockedImage::default());
        old.uids.insert("AIMService/gone/x".into(), "u".into());
        old.sizes.insert("s3://b/unused".into(), bytes(5));
        let locked = lock(
            &tree(&[("s.yaml", IMAGE_SERVICE)]),
            &old,
            &opts(&f, Refresh::Nothing),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert!(f.calls().is_empty(), "{:?}", f.calls());
        assert_eq!(
            locked.lock.images.keys().collect::<Vec<_>>(),
            ["reg.test/team/aim-a:1.0.0"]
        );
        assert!(locked.lock.uids.is_empty() && locked.lock.sizes.is_empty());
    }

    const S3_ARTIFACT: &str = "apiVersion: v1
kind: Namespace
metadata: {name: ns}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMArtifact
metadata: {name: art, namespace: ns}
spec:
  sourceUri: s3://models/llama
  env:
    - {name: AWS_ENDPOINT_URL, value: 'http://minio.storage.svc:9000'}
";

    #[test]
    fn an_s3_size_goes_through_the_sources_endpoint_and_a_sibling_prefix_is_reported() {
        let mut f = MapFetch::default();
        f.s3.insert(
            "s3://models/llama".into(),
            S3Usage {
                bytes: 718732,
                bytes_below_slash: 667534,
                objects: 1107,
            },
        );
        let locked = lock(
            &tree(&[("a.yaml", S3_ARTIFACT)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(
            f.calls(),
            ["s3 s3://models/llama via http://minio.storage.svc:9000"]
        );
        assert_eq!(locked.lock.sizes["s3://models/llama"].value(), 718732);
        assert!(locked.diagnostics.iter().any(|d| d.code == "SiblingPrefix"));
    }

    #[test]
    fn a_size_outside_what_the_operator_accepts_is_an_error() {
        for size in [0, MAX_SIZE + 1] {
            let mut f = MapFetch::default();
            f.s3.insert(
                "s3://models/llama".into(),
                S3Usage {
                    bytes: size,
                    bytes_below_slash: size,
                    objects: 1,
                },
            );
            let Err(diags) = lock(
                &tree(&[("a.yaml", S3_ARTIFACT)]),
                &Lock::default(),
                &opts(&f, Refresh::Nothing),
            ) else {
                panic!("size {size} must be refused");
            };
            assert!(
                diags.iter().any(|d| d.message.contains("2^50")),
                "{diags:?}"
            );
        }
    }

    #[test]
    fn offline_nothing_is_fetched_and_what_is_missing_is_uncovered() {
        let unused = MapFetch::default();
        let o = Options {
            fetch: None,
            ..opts(&unused, Refresh::All)
        };
        let locked = lock(&tree(&[("s.yaml", IMAGE_SERVICE)]), &Lock::default(), &o)
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(
            locked.uncovered,
            [Need::Image {
                reference: "reg.test/team/aim-a:1.0.0".into()
            }]
        );
    }

    #[test]
    fn a_docker_hub_wildcard_says_to_name_the_repositories() {
        let f = MapFetch::default();
        let src = SOURCE.replace("  registry: reg.test\n", "");
        let Err(diags) = lock(
            &tree(&[("s.yaml", &src)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        ) else {
            panic!("a docker.io wildcard cannot be listed");
        };
        assert!(
            diags
                .iter()
                .any(|d| d.message.contains("name each repository")),
            "{diags:?}"
        );
        assert!(f.calls().is_empty());
    }

    /// A refresh whose fetch fails puts the image back, and what its labels lead to (the
    /// templates' discovery results) stays: nothing is pruned for a failed refresh.
    #[test]
    fn a_failed_refresh_keeps_what_the_old_entry_leads_to() {
        let mut f = MapFetch::default();
        f.images.insert(
            "reg.test/team/aim-a:1.0.0".into(),
            ImageConfig {
                digest: "sha256:a".into(),
                labels: labels("a/A"),
            },
        );
        let first = lock(
            &tree(&[("s.yaml", IMAGE_SERVICE)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        let Some(Need::Discovery {
            namespace,
            template,
        }) = first.uncovered.first().cloned()
        else {
            panic!(
                "the template's discovery is uncovered: {:?}",
                first.uncovered
            );
        };
        let mut old = first.lock.clone();
        old.discovery.push(Discovery {
            template,
            namespace,
            spec_hash: None,
            model_sources: Vec::new(),
            profile: Default::default(),
        });
        let broken = MapFetch::default();
        let again = lock(
            &tree(&[("s.yaml", IMAGE_SERVICE)]),
            &old,
            &opts(&broken, Refresh::All),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(again.lock.images, old.images);
        assert_eq!(
            again.lock.discovery, old.discovery,
            "the discovery entry survives: {:?}",
            again.diagnostics
        );
    }

    /// An online `--check` that cannot reach the registry cannot say the lock is current.
    #[test]
    fn a_strict_run_fails_where_an_old_entry_would_stand_in() {
        let f = MapFetch::default();
        let mut old = Lock::default();
        old.images
            .insert("reg.test/team/aim-a:1.0.0".into(), LockedImage::default());
        let o = Options {
            strict: true,
            ..opts(&f, Refresh::All)
        };
        let Err(diags) = lock(&tree(&[("s.yaml", IMAGE_SERVICE)]), &old, &o) else {
            panic!("a failed fetch must fail a strict run");
        };
        assert!(diags
            .iter()
            .any(|d| d.code == "LockFetchFailed" && d.is_error()));
    }

    #[test]
    fn a_refresh_of_a_key_the_file_lacks_is_an_error() {
        let f = MapFetch::default();
        let Err(diags) = lock(
            &tree(&[("s.yaml", IMAGE_SERVICE)]),
            &Lock::default(),
            &opts(&f, Refresh::Key("reg.test/typo:1".into())),
        ) else {
            panic!("an unknown key must not pass silently");
        };
        assert!(diags[0].message.contains("reg.test/typo:1"), "{diags:?}");
    }

    #[test]
    fn an_endpoint_from_a_secret_needs_s3_endpoint() {
        let art = S3_ARTIFACT.replace(
            "{name: AWS_ENDPOINT_URL, value: 'http://minio.storage.svc:9000'}",
            "{name: AWS_ENDPOINT_URL, valueFrom: {secretKeyRef: {name: s3, key: endpoint}}}",
        );
        let mut f = MapFetch::default();
        f.s3.insert(
            "s3://models/llama".into(),
            S3Usage {
                bytes: 5,
                bytes_below_slash: 5,
                objects: 1,
            },
        );
        let Err(diags) = lock(
            &tree(&[("a.yaml", &art)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        ) else {
            panic!("AWS itself must not be asked instead");
        };
        assert!(
            diags.iter().any(|d| d.message.contains("--s3-endpoint")),
            "{diags:?}"
        );
        assert!(f.calls().is_empty());
        let o = Options {
            s3_endpoint: Some("http://127.0.0.1:9000".into()),
            ..opts(&f, Refresh::Nothing)
        };
        let locked = lock(&tree(&[("a.yaml", &art)]), &Lock::default(), &o)
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(locked.lock.sizes["s3://models/llama"].value(), 5);
        assert_eq!(
            f.calls(),
            ["s3 s3://models/llama via http://127.0.0.1:9000"]
        );
    }

    /// As the operator: a repository the catalog names but whose tags fail is left out.
    #[test]
    fn a_wildcard_repository_that_cannot_be_listed_is_skipped_with_a_warning() {
        let mut f = MapFetch::default();
        f.catalogs.insert(
            "reg.test".into(),
            vec!["team/aim-a".into(), "team/aim-gone".into()],
        );
        f.tags.insert(
            ("reg.test".into(), "team/aim-a".into()),
            vec!["1.0.0".into()],
        );
        f.images.insert(
            "reg.test/team/aim-a:1.0.0".into(),
            ImageConfig {
                digest: "sha256:a".into(),
                labels: labels("a/A"),
            },
        );
        let locked = lock(
            &tree(&[("s.yaml", SOURCE)]),
            &Lock::default(),
            &opts(&f, Refresh::Nothing),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(locked.lock.registry_listings["catalog"].len(), 1);
        assert!(locked
            .diagnostics
            .iter()
            .any(|d| d.message.contains("team/aim-gone")));
    }

    const WRITTEN_TEMPLATE: &str = "apiVersion: v1
kind: Namespace
metadata: {name: ns}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMModel
metadata: {name: m, namespace: ns}
spec:
  image: reg.test/team/aim-a:1.0.0
  discovery: {extractMetadata: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMServiceTemplate
metadata: {name: t, namespace: ns}
spec:
  modelName: m
  precision: fp8
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: m}
  template: {name: t}
";

    /// A discovery entry of another spec does not drive the needs: its sources are not
    /// measured, it is dropped with a warning, and the template's need is uncovered.
    #[test]
    fn a_stale_discovery_entry_is_dropped_before_anything_is_fetched() {
        let mut old = Lock::default();
        old.discovery.push(Discovery {
            template: "t".into(),
            namespace: Some("ns".into()),
            spec_hash: Some("0000000000000000".into()),
            model_sources: vec![serde_json::from_str(
                r#"{"modelId": "x/y", "sourceUri": "s3://b/m"}"#,
            )
            .unwrap()],
            profile: Default::default(),
        });
        let f = MapFetch::default();
        let locked = lock(
            &tree(&[("t.yaml", WRITTEN_TEMPLATE)]),
            &old,
            &opts(&f, Refresh::Nothing),
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        assert!(f.calls().is_empty(), "{:?}", f.calls());
        assert!(locked.lock.discovery.is_empty() && locked.lock.sizes.is_empty());
        assert!(locked
            .diagnostics
            .iter()
            .any(|d| d.code == "StaleLockEntry"));
        assert!(locked
            .uncovered
            .iter()
            .any(|n| matches!(n, Need::Discovery { template, .. } if template == "t")));
    }
}
