//! Provenance reports: for a rendered object, where every env var, secret reference, pull
//! secret and runtime-config setting came from, and which operator defects applied.

use crate::api::aim::RuntimeConfigSpec;
use crate::api::core::EnvVar;
use crate::api::{AimKind, AimSpec};
use crate::diag::Diagnostic;
use crate::load::{Index, Object, ProjectConfig};
use crate::naming;
use crate::render::storage;
use crate::resolve::cache::{self, Artifact};
use crate::resolve::env::{EnvEntry, Origin};
use crate::resolve::secrets::{self, Declared, SecretNeed};
use crate::resolve::{Plan, ServicePlan};
use std::fmt::Write as _;

/// Names whose literal values are credentials: never printed.
fn is_credential(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"].contains(&n.as_str())
        || ["_TOKEN", "_PASSWORD", "_SECRET", "_KEY"]
            .iter()
            .any(|s| n.ends_with(s))
}

fn show_value(v: &EnvVar) -> String {
    if let Some(from) = &v.value_from {
        if let Some(r) = &from.secret_key_ref {
            return format!("<secret {}/{}>", r.name, r.key);
        }
        if let Some(r) = &from.config_map_key_ref {
            return format!("<configmap {}/{}>", r.name, r.key);
        }
        if let Some(r) = &from.field_ref {
            return format!("<field {}>", r.field_path);
        }
        if let Some(r) = &from.resource_field_ref {
            return format!("<resource {}>", r.resource);
        }
        return "<valueFrom>".into();
    }
    if is_credential(&v.name) && !v.value_str().is_empty() {
        return "<redacted>".into();
    }
    v.value_str().to_owned()
}

fn origin(o: &Origin) -> String {
    match &o.location {
        Some(l) => format!("{} ({})", o.layer, l.location()),
        None => o.layer.to_string(),
    }
}

fn env_lines(out: &mut String, entries: &[EnvEntry], only: Option<&str>) {
    for e in entries
        .iter()
        .filter(|e| only.is_none_or(|n| n == e.var.name))
    {
        let _ = writeln!(out, "    {}={}", e.var.name, show_value(&e.var));
        let _ = writeln!(out, "      from {}", origin(&e.origin));
        for (v, o) in e.shadowed.iter().rev() {
            let _ = writeln!(
                out,
                "      shadows {}={} from {}",
                v.name,
                show_value(v),
                origin(o)
            );
        }
    }
}

fn secret_lines(
    out: &mut String,
    needs: &[SecretNeed],
    declared: &Declared,
    config: &ProjectConfig,
) {
    if needs.is_empty() {
        return;
    }
    let _ = writeln!(out, "  secrets:");
    for n in needs {
        let status = if declared.contains(config, &n.namespace, &n.name) {
            "declared"
        } else {
            "NOT declared in the repository"
        };
        let at = n
            .location
            .as_ref()
            .map(|l| format!(" ({})", l.location()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {} in {}: {} — from {}{at}; {status}",
            n.name, n.namespace, n.usage, n.layer
        );
    }
}

/// Reads one runtime-config field as text, when set.
type FieldGetter = dyn Fn(&RuntimeConfigSpec) -> Option<String>;

/// Which runtime configs set a field, and which one wins (mergo: namespace when non-zero).
fn config_field(
    index: &Index,
    sp: &ServicePlan,
    field: &str,
    get: &dyn Fn(&RuntimeConfigSpec) -> Option<String>,
) -> Option<String> {
    let name = sp.spec.runtime_config_name();
    let mut setters = Vec::new();
    for (kind, ns) in [
        (AimKind::RuntimeConfig, Some(sp.namespace)),
        (AimKind::ClusterRuntimeConfig, None),
    ] {
        let Some(obj) = ns.map_or_else(
            || index.aim(kind, None, name),
            |ns| index.aim(kind, Some(ns), name),
        ) else {
            continue;
        };
        if let Some(AimSpec::RuntimeConfig(spec)) = obj.aim.as_ref().map(|a| &a.spec) {
            if let Some(v) = get(spec) {
                setters.push(format!("{v} in {} ({})", obj.key, obj.loc_of(&["spec"])));
            }
        }
    }
    (!setters.is_empty()).then(|| format!("    {field}: {}", setters.join("; then ")))
}

fn service_report(
    index: &Index,
    config: &ProjectConfig,
    plan: &Plan,
    sp: &ServicePlan,
    only_env: Option<&str>,
    diags: &[Diagnostic],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "AIMService {}/{} ({})",
        sp.namespace,
        sp.name,
        sp.obj.loc(&[])
    );
    if let Some(m) = &sp.model {
        let _ = writeln!(out, "  model: {} {}", m.kind().name(), m.name());
    }
    if let Some((t, st)) = &sp.template {
        let how = if sp
            .spec
            .template
            .as_ref()
            .and_then(|t| t.name.as_deref())
            .is_some_and(|n| !n.trim().is_empty())
        {
            "named"
        } else {
            "selected automatically"
        };
        let whence = match (&t.location, &t.generated_by) {
            (Some(l), _) => format!(" ({})", l.location()),
            (None, Some(m)) => format!(" (generated by model {m})"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "  template: {} {} — {how}{whence}",
            t.kind().name(),
            t.name
        );
        let _ = writeln!(
            out,
            "    profile: metric {:?}, precision {:?}, type {:?}, {} GPU(s)",
            st.profile_metric, st.profile_precision, st.profile_type, st.gpu_requests
        );
    }
    match &sp.config {
        Some(c) => {
            let layers: Vec<String> = c.sources.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "  runtime config {:?}: {}",
                sp.spec.runtime_config_name(),
                layers.join(" merged with ")
            );
            let fields: [(&str, &FieldGetter); 5] = [
                ("routing.enabled", &|s| {
                    s.routing.as_ref()?.enabled.map(|b| b.to_string())
                }),
                ("routing.gatewayRef.name", &|s| {
                    Some(s.routing.as_ref()?.gateway_ref.as_ref()?.name.clone())
                }),
                ("routing.pathTemplate", &|s| {
                    s.routing.as_ref()?.path_template.clone()
                }),
                ("storage.defaultStorageClassName", &|s| {
                    s.storage.as_ref()?.default_storage_class_name.clone()
                }),
                ("labelPropagation.enabled", &|s| {
                    s.label_propagation.as_ref().map(|l| l.enabled.to_string())
                }),
            ];
            for (field, get) in fields {
                if let Some(line) = config_field(index, sp, field, get) {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        None => {
            let _ = writeln!(
                out,
                "  runtime config {:?}: none found (operator defaults)",
                sp.spec.runtime_config_name()
            );
        }
    }
    if let Some(r) = &sp.spec.routing {
        let set: Vec<&str> = [
            r.enabled.map(|_| "enabled"),
            r.gateway_ref.as_ref().map(|_| "gatewayRef"),
            r.path_template.as_ref().map(|_| "pathTemplate"),
            r.request_timeout.as_ref().map(|_| "requestTimeout"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !set.is_empty() {
            let _ = writeln!(
                out,
                "    the service overrides routing {} ({})",
                set.join(", "),
                sp.obj.loc_of(&["spec", "routing"])
            );
        }
    }
    let _ = writeln!(
        out,
        "  inference env (sorted; the last of a repeated name wins in Kubernetes):"
    );
    env_lines(&mut out, &sp.env, only_env);
    let declared = Declared::from_index(index);
    secret_lines(&mut out, &secrets::needs(sp), &declared, config);
    if let Some(i) = plan
        .services
        .iter()
        .position(|p| std::ptr::eq(p.obj, sp.obj))
    {
        if let Some(Some((cache_name, mounts))) = plan.caching.service_mounts.get(i) {
            let _ = writeln!(
                out,
                "  cache: AIMTemplateCache {}/{cache_name}",
                sp.namespace
            );
            for m in mounts {
                let _ = writeln!(out, "    {} mounted at {}", m.artifact, m.mount_path);
            }
        }
    }
    notes(&mut out, index, sp, diags);
    out
}

fn artifact_report(
    index: &Index,
    config: &ProjectConfig,
    lock: &crate::load::Lock,
    a: &Artifact,
    only_env: Option<&str>,
) -> String {
    let mut out = String::new();
    let whence = a
        .written
        .as_ref()
        .map(|l| format!(" ({})", l.location()))
        .unwrap_or_else(|| " (created by a template cache)".into());
    let _ = writeln!(out, "AIMArtifact {}/{}{whence}", a.namespace, a.name);
    let _ = writeln!(out, "  source: {}", a.spec.source_uri);
    let _ = writeln!(
        out,
        "  PVC {} and download Job {}",
        storage::pvc_name(a),
        storage::download_job_name(a)
    );
    let uid = if a.uid.real {
        "real"
    } else {
        "stable substitute (no real UID in the input or aim.lock.yaml)"
    };
    let _ = writeln!(out, "  UID {} — {uid}", a.uid.value);
    match a.effective_size(lock) {
        Some(s) => {
            let _ = writeln!(out, "  size: {s} bytes");
        }
        None => {
            let _ = writeln!(out, "  size: unknown");
        }
    }
    let rc_env: &[EnvEntry] = a.config.as_ref().map(|c| c.env.as_slice()).unwrap_or(&[]);
    let _ = writeln!(out, "  download env:");
    for v in cache::download_env(a, a.effective_size(lock))
        .iter()
        .filter(|v| only_env.is_none_or(|n| n == v.name))
    {
        let from = if a.spec.env.iter().any(|x| x.name == v.name) {
            "the artifact env (template env, template caching env, service env, model source env)"
                .to_owned()
        } else if let Some(e) = rc_env.iter().find(|e| e.var.name == v.name) {
            origin(&e.origin)
        } else {
            "operator default".to_owned()
        };
        let _ = writeln!(out, "    {}={}\n      from {from}", v.name, show_value(v));
    }
    secret_lines(
        &mut out,
        &secrets::artifact_needs(a),
        &Declared::from_index(index),
        config,
    );
    out
}

/// The lines of `obj`'s document: from its start to the next document of the same file.
fn doc_range(index: &Index, obj: &Object) -> (std::path::PathBuf, u32, u32) {
    let next = index
        .objects()
        .iter()
        .filter(|o| o.file() == obj.file() && o.doc > obj.doc)
        .map(|o| o.line)
        .min()
        .unwrap_or(u32::MAX);
    (obj.file().to_path_buf(), obj.line, next)
}

/// Diagnostics inside the service's document or in the runtime configs it merges: the
/// defects and deviations that applied to it.
fn notes(out: &mut String, index: &Index, sp: &ServicePlan, diags: &[Diagnostic]) {
    let mut ranges = vec![doc_range(index, sp.obj)];
    let name = sp.spec.runtime_config_name();
    for obj in [
        index.aim(AimKind::RuntimeConfig, Some(sp.namespace), name),
        index.aim(AimKind::ClusterRuntimeConfig, None, name),
    ]
    .into_iter()
    .flatten()
    {
        ranges.push(doc_range(index, obj));
    }
    let mine: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| {
            d.location.as_ref().is_some_and(|l| {
                ranges
                    .iter()
                    .any(|(f, a, b)| &l.file == f && l.line >= *a && l.line < *b)
            })
        })
        .collect();
    if mine.is_empty() {
        return;
    }
    let _ = writeln!(out, "  diagnostics that apply:");
    for d in mine {
        for line in d.to_string().lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// The report for `target` (`KIND/NAMESPACE/NAME` or `KIND/NAME`), or why there is none.
pub fn explain(
    index: &Index,
    config: &ProjectConfig,
    lock: &crate::load::Lock,
    plan: &Plan,
    target: &str,
    only_env: Option<&str>,
    diags: &[Diagnostic],
) -> Result<String, String> {
    let parts: Vec<&str> = target.split('/').collect();
    let (kind, ns, name) = match parts.as_slice() {
        [k, ns, n] => (*k, Some(*ns), *n),
        [k, n] => (*k, None, *n),
        _ => return Err(format!("{target:?} is not KIND/NAMESPACE/NAME")),
    };
    let kind_lc = kind.to_ascii_lowercase();
    let service = |pred: &dyn Fn(&ServicePlan) -> bool| {
        plan.services
            .iter()
            .find(|sp| ns.is_none_or(|n| n == sp.namespace) && pred(sp))
    };
    let found = match kind_lc.as_str() {
        "aimservice" => service(&|sp| sp.name == name),
        "inferenceservice" => {
            service(&|sp| naming::isvc_name(sp.name, sp.namespace).is_ok_and(|n| n == name))
        }
        "httproute" => service(&|sp| naming::http_route_name(sp.name, sp.namespace) == name),
        _ => None,
    };
    if let Some(sp) = found {
        return Ok(service_report(index, config, plan, sp, only_env, diags));
    }
    let artifact = plan.caching.artifacts.iter().find(|a| {
        ns.is_none_or(|n| n == a.namespace)
            && match kind_lc.as_str() {
                "aimartifact" => a.name == name,
                "persistentvolumeclaim" => storage::pvc_name(a) == name,
                "job" => storage::download_job_name(a) == name,
                _ => false,
            }
    });
    if let Some(a) = artifact {
        return Ok(artifact_report(index, config, lock, a, only_env));
    }
    Err(format!(
        "no rendered {kind} {target:?}: explain knows AIMService, InferenceService, HTTPRoute, AIMArtifact, PersistentVolumeClaim and Job (list names with `aimc render -o DIR`)"
    ))
}
