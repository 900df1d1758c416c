//! `aimc render`.

use super::exit;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::emit::{self, Doc, EmitError, EmitMode, Emitted, Format};
use crate::load::{self, LoadOptions};
use crate::render::{self, Ctx, Gitops};
use crate::resolve;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GitopsArg {
    Argocd,
    None,
}

/// The flags that decide what a render produces, shared by `render` and `diff` so both read
/// the same environment as the Argo CD plugin.
#[derive(Debug, Clone, Default, Args)]
pub struct RenderFlags {
    /// What to emit.
    #[arg(long, value_enum, env = "ARGOCD_ENV_AIMC_EMIT")]
    pub emit: Option<EmitMode>,
    /// GitOps adaptations: Argo CD sync waves, or the operator's objects exactly.
    #[arg(long, value_enum, env = "ARGOCD_ENV_AIMC_GITOPS")]
    pub gitops: Option<GitopsArg>,
    /// Namespace for namespaced objects that set none.
    #[arg(long, short = 'n', env = "ARGOCD_APP_NAMESPACE")]
    pub namespace: Option<String>,
    /// Treat warnings as errors. A plain flag; its env twin takes true/false, yes/no, 1/0.
    #[arg(long, env = "ARGOCD_ENV_AIMC_STRICT", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub strict: bool,
    /// Leave out YAML files that mention no AIM apiVersion and are not Kubernetes objects (CI
    /// configs, Helm values and templates, kustomization.yaml), with an info each, instead of
    /// rejecting them: for hooks that read a whole repository.
    #[arg(long)]
    pub skip_foreign: bool,
    /// Do not read files below this path (relative to DIR, or absolute; repeatable), e.g. a
    /// golden directory of rendered output kept inside the tree.
    #[arg(long, value_name = "PATH")]
    pub exclude: Vec<PathBuf>,
    /// APIs the destination cluster serves, comma-separated `group/version` and
    /// `group/version/Kind` (as Argo CD passes them). Rendering an InferenceService or HTTPRoute
    /// whose API is missing is an error. Unset or empty: not checked.
    #[arg(long, env = "KUBE_API_VERSIONS", value_delimiter = ',')]
    pub api_versions: Option<Vec<String>>,
    /// Kubernetes version of the destination cluster (`v1.33.0`, `1.33`). Validated only: the
    /// output does not depend on it.
    #[arg(long, env = "KUBE_VERSION", value_parser = parse_kube_version)]
    pub kube_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to read (every *.yaml / *.yml below it).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub flags: RenderFlags,
    /// Write one file per object below this directory instead of a stream on stdout. The
    /// directory is replaced atomically with exactly this run's objects and a `.aimc-output`
    /// marker; a non-empty directory without that marker is refused.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
}

/// The result of a render: diagnostics, and the objects when there was no error.
pub struct Outcome<T = serde_json::Value> {
    pub diagnostics: Vec<Diagnostic>,
    pub objects: Option<Vec<T>>,
}

/// Loads, resolves and renders `args.dir`. `Err` is an I/O failure reading the tree.
pub fn render_dir(args: &RenderArgs) -> Result<Outcome, load::IoError> {
    render_tree(&args.dir, &args.flags)
}

fn load_options(flags: &RenderFlags) -> LoadOptions {
    LoadOptions {
        default_namespace: flags.namespace.clone().filter(|n| !n.is_empty()),
        skip_foreign: flags.skip_foreign,
        exclude: flags.exclude.clone(),
    }
}

/// Loads, resolves and renders `dir`. `Err` is an I/O failure reading the tree.
pub fn render_tree(dir: &std::path::Path, flags: &RenderFlags) -> Result<Outcome, load::IoError> {
    let loaded = load::load_dir(dir, &load_options(flags))?;
    Ok(render_loaded(loaded, flags))
}

/// The objects as JSON values, in output order.
pub fn render_loaded(loaded: load::Loaded, args: &RenderFlags) -> Outcome {
    pipeline(loaded, args, |o, _| o.to_value(), emit::collect)
}

/// The objects serialised in `format`, in output order. Each rendered object is serialised
/// on the thread that built it, straight from its typed form, and dropped at once, which is
/// what keeps a monorepo's render within a small, flat memory budget.
pub fn render_documents(loaded: load::Loaded, args: &RenderFlags, format: Format) -> Outcome<Doc> {
    pipeline(
        loaded,
        args,
        |o, derived| Doc::typed(&o, derived, format),
        |index, rendered, mode| emit::collect_docs(index, rendered, mode, format),
    )
}

/// Source expansion, resolution, rendering (each object through `sink`) and collection in
/// output order; nothing is collected once an error is known.
fn pipeline<R: Send, T: Emitted>(
    mut loaded: load::Loaded,
    args: &RenderFlags,
    sink: impl Fn(render::object::Object, bool) -> R + Sync,
    collect: impl FnOnce(load::Index, render::Rendered<R>, EmitMode) -> Result<Vec<T>, EmitError>,
) -> Outcome<T> {
    let mut diags: Diagnostics = std::mem::take(&mut loaded.diagnostics);
    if !diags.has_errors() {
        diags.extend(resolve::sources::expand(&mut loaded.index, &loaded.lock));
    }
    let config = loaded.config;
    let strict = args.strict;
    let finish = |mut diags: Diagnostics, objects| {
        if strict {
            diags.escalate_warnings();
        }
        let objects = if diags.has_errors() { None } else { objects };
        Outcome {
            diagnostics: diags.finish(),
            objects,
        }
    };
    if diags.has_errors() {
        return finish(diags, None);
    }
    let mode = args
        .emit
        .or_else(|| {
            config
                .emit
                .as_deref()
                .and_then(|e| EmitMode::from_str(e, true).ok())
        })
        .unwrap_or_default();
    let gitops = match args.gitops.or_else(|| {
        config
            .gitops
            .as_deref()
            .and_then(|g| GitopsArg::from_str(g, true).ok())
    }) {
        Some(GitopsArg::None) => Gitops::None,
        _ => Gitops::Argocd,
    };
    let mut plan = resolve::resolve(&loaded.index, &config, &loaded.lock);
    diags.extend(std::mem::take(&mut plan.diagnostics));
    let mut rendered = render::render_with(
        plan,
        &loaded.lock,
        &Ctx {
            gitops,
            concrete: mode != EmitMode::Aim,
            derived: mode == EmitMode::All,
        },
        sink,
    );
    diags.extend(std::mem::take(&mut rendered.diagnostics));
    if mode == EmitMode::Aim {
        diags.relax_missing_facts();
    }
    if diags.has_errors() {
        return finish(diags, None);
    }
    let objects = match collect(loaded.index, rendered, mode) {
        Ok(o) => o,
        Err(e) => {
            diags.push(e.diagnostic());
            return finish(diags, None);
        }
    };
    if let Some(apis) = args.api_versions.as_deref() {
        diags.extend(missing_apis(&objects, apis));
    }
    finish(diags, Some(objects))
}

/// The kinds aimc creates from AIM resources, by the API that must serve them, and what makes
/// that API available.
const REQUIRED_APIS: [(&str, &str, &str); 2] = [
    (
        "serving.kserve.io/v1beta1",
        "InferenceService",
        "install KServe in the destination cluster",
    ),
    (
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "install the Gateway API CRDs (standard channel) in the destination cluster, or switch routing off (`spec.routing.enabled: false` in the runtime config)",
    ),
];

/// `ApiNotAvailable` for every InferenceService or HTTPRoute API the destination cluster does
/// not serve. Leaving such objects out, as Helm charts do with `.Capabilities`, would make
/// Argo CD prune a service's routes without a word; an error keeps the last good sync.
/// An empty list is Argo CD's "not known yet", not "nothing is served".
fn missing_apis<T: Emitted>(objects: &[T], apis: &[String]) -> Vec<Diagnostic> {
    let served: Vec<&str> = apis
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    if served.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (api, kind, help) in REQUIRED_APIS {
        let with_kind = format!("{api}/{kind}");
        if served.iter().any(|s| *s == api || *s == with_kind) {
            continue;
        }
        let needing: Vec<String> = objects
            .iter()
            .map(Emitted::ident)
            .filter(|(a, k, ..)| *a == api && *k == kind)
            .map(|(_, _, ns, name)| match ns {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_owned(),
            })
            .collect();
        let Some(first) = needing.first() else {
            continue;
        };
        let more = match needing.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        out.push(
            Diagnostic::error(
                "ApiNotAvailable",
                format!(
                    "{kind} {first}{more} needs {api}, which the destination cluster does not serve (KUBE_API_VERSIONS / --api-versions)"
                ),
            )
            .help(help),
        );
    }
    out
}

pub fn run(args: &RenderArgs) -> u8 {
    crate::process::leak_at_exit();
    if let Err(e) = super::tree_dir(&args.dir) {
        super::io::error(e);
        return exit::USAGE_OR_IO;
    }
    let loaded = match load::load_dir(&args.dir, &load_options(&args.flags)) {
        Ok(l) => l,
        Err(e) => {
            super::io::error(format_args!("cannot read {e}"));
            return exit::USAGE_OR_IO;
        }
    };
    let outcome = render_documents(loaded, &args.flags, args.format);
    let root = Some(args.dir.as_path());
    super::io::stderr(&diag::render_text(&outcome.diagnostics, root));
    let Some(docs) = outcome.objects else {
        let n = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
        super::io::error(format_args!("{n} error(s); nothing rendered"));
        return exit::INPUT_ERROR;
    };
    let code = match &args.output {
        Some(dir) => write_layout(dir, &docs, args.format),
        None => write_stdout(&docs, args.format),
    };
    crate::process::dispose(docs);
    code
}

fn write_stdout(docs: &[Doc], format: Format) -> u8 {
    let written = emit::write_stream(docs, format, &mut std::io::stdout().lock());
    match super::io::ignore_broken_pipe(written) {
        Ok(()) => exit::OK,
        Err(e) => {
            super::io::error(format_args!("cannot write output: {e}"));
            exit::USAGE_OR_IO
        }
    }
}

/// `-o DIR`: DIR becomes exactly this run's objects, atomically (see
/// [`crate::golden::replace_dir`]).
fn write_layout(dir: &std::path::Path, docs: &[Doc], format: Format) -> u8 {
    // Two objects for one file is something `-o` cannot represent, like a bad flag.
    let written = emit::layout_docs(docs, format)
        .map_err(|e| e.to_string())
        .and_then(|files| {
            crate::golden::replace_dir(dir, &files)
                .map_err(|e| format!("cannot write {}: {e}", dir.display()))
        });
    match written {
        Ok(()) => exit::OK,
        Err(e) => {
            super::io::error(e);
            exit::USAGE_OR_IO
        }
    }
}

/// `v1.33.0`, `1.33`, and the forms clusters report (`v1.29.3+k3s1`, `v1.27.8-gke.1067004`,
/// `1.27+` for EKS's minor version).
fn parse_kube_version(s: &str) -> Result<String, String> {
    // Argo CD always sets KUBE_VERSION, empty when it does not know the cluster's version.
    if s.is_empty() {
        return Ok(String::new());
    }
    let rest = s.strip_prefix('v').unwrap_or(s);
    // Everything after a `-` or `+` past the numbers is a pre-release or build suffix.
    let (numbers, suffix) = match rest.find(['-', '+']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let suffix_ok = suffix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'+');
    if (2..=3).contains(&parts.len()) && parts.iter().all(numeric) && suffix_ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not a Kubernetes version: expected MAJOR.MINOR[.PATCH] with an optional `v`, e.g. v1.33.0 or 1.33"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
            json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                   "metadata": {"name": "s", "namespace": "a"}}),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                   "metadata": {"name": "s", "namespace": "a"}}),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                   "metadata": {"name": "t", "namespace": "b"}}),
        ]
    }

    fn apis(list: &str) -> Vec<String> {
        list.split(',').map(str::to_owned).collect()
    }

    fn messages(list: &str) -> Vec<String> {
        missing_apis(&objects(), &apis(list))
            .into_iter()
            .map(|d| {
                assert_eq!(
                    (d.code, d.severity),
                    ("ApiNotAvailable", diag::Severity::Error)
                );
                d.message
            })
            .collect()
    }

    #[test]
    fn group_version_or_group_version_kind_serves_the_kind() {
        assert!(messages("v1,serving.kserve.io/v1beta1,gateway.networking.k8s.io/v1").is_empty());
        assert!(messages(
            "serving.kserve.io/v1beta1/InferenceService, gateway.networking.k8s.io/v1/HTTPRoute"
        )
        .is_empty());
    }

    #[test]
    fn a_missing_api_names_the_first_object_and_counts_the_rest() {
        let m = messages("v1,serving.kserve.io/v1beta1,gateway.networking.k8s.io/v1beta1");
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("HTTPRoute a/s (and 1 more) needs gateway.networking.k8s.io/v1,"),
            "{}",
            m[0]
        );
        // Another kind of the same group does not serve HTTPRoute.
        let m = messages("serving.kserve.io/v1beta1,gateway.networking.k8s.io/v1/GRPCRoute");
        assert_eq!(m.len(), 1, "{m:?}");
    }

    #[test]
    fn both_apis_missing_are_both_reported() {
        let m = messages("v1,apps/v1");
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("InferenceService a/s needs serving.kserve.io/v1beta1"));
    }

    #[test]
    fn no_object_of_the_kind_needs_no_api() {
        let only_ns = &objects()[..1];
        assert!(missing_apis(only_ns, &apis("v1")).is_empty());
    }

    #[test]
    fn an_empty_list_means_unknown() {
        assert!(messages("").is_empty());
        assert!(messages(" , ").is_empty());
    }

    #[test]
    fn kube_versions_clusters_report_are_accepted() {
        for v in [
            "v1.33.0",
            "1.33",
            "v1.33",
            "1.33.2",
            "v1.29.3+k3s1",
            "v1.27.8-gke.1067004",
            "1.27+",
            "",
        ] {
            assert_eq!(parse_kube_version(v).as_deref(), Ok(v), "{v}");
        }
        for v in [
            "1", "v", "one.two", "1.33.0.1", "v1..3", "1.33 ", "1.33-ä", "V1.33",
        ] {
            assert!(parse_kube_version(v).is_err(), "{v}");
        }
    }
}
