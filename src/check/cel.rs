//! The CRDs' CEL rules (`x-kubernetes-validations`), evaluated by kube-cel.
//!
//! Every rule of every CRD in `schemas/crds/` that carries rules is evaluated, on inputs and
//! on rendered objects, as the API server evaluates them on a create:
//!
//! - after defaulting: kube-cel applies the schema's `default`s first (the loader has applied
//!   the AIM ones already; applying them twice changes nothing);
//! - with null fields dropped ([`api::prune_nulls`]): the API server prunes them before CEL
//!   runs, so `image: null` is not `has(self.image)`, while kube-cel alone would count it;
//! - without transition rules (those that read `oldSelf`, all `self == oldSelf` in these
//!   CRDs): they compare an update with the stored object, and aimc validates a create, as
//!   `kubectl apply` of a new object, so there is no old object to compare with. kube-cel
//!   skips them when given none; [`Compiled::transition`] counts them.
//!
//! Each CRD version is compiled once, on the first object of its kind, and kept for the
//! process: compiling takes milliseconds per CRD. Evaluating takes 10–140 µs per AIM object
//! and about 300 µs per HTTPRoute (`cargo bench --bench cel`): the `cel` crate under kube-cel
//! copies a value deeply each time a rule reads `self`, and HTTPRoute's match-count rule
//! reads it 48 times.

use crate::api;
use crate::diag::Diagnostic;
use crate::load::{yaml::Seg, Object};
use kube_cel::{CompiledSchema, ErrorKind, ValidationError};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Diagnostic code of a broken CEL rule.
pub const CEL_VIOLATION: &str = "CelViolation";

/// The CRDs that carry `x-kubernetes-validations`, with their group and kind (a test holds
/// this list to the files: every CRD with a rule is here, and only those). KServe's
/// InferenceService CRD has none, so it is not embedded.
const CRDS: [(&str, &str, &str); 7] = [
    (
        "aim.eai.amd.com",
        "AIMArtifact",
        include_str!("../../schemas/crds/aim/aim.eai.amd.com_aimartifacts.yaml"),
    ),
    (
        "aim.eai.amd.com",
        "AIMClusterModel",
        include_str!("../../schemas/crds/aim/aim.eai.amd.com_aimclustermodels.yaml"),
    ),
    (
        "aim.eai.amd.com",
        "AIMClusterServiceTemplate",
        include_str!("../../schemas/crds/aim/aim.eai.amd.com_aimclusterservicetemplates.yaml"),
    ),
    (
        "aim.eai.amd.com",
        "AIMModel",
        include_str!("../../schemas/crds/aim/aim.eai.amd.com_aimmodels.yaml"),
    ),
    (
        "aim.eai.amd.com",
        "AIMService",
        include_str!("../../schemas/crds/aim/aim.eai.amd.com_aimservices.yaml"),
    ),
    (
        "aim.eai.amd.com",
        "AIMServiceTemplate",
        include_str!("../../schemas/crds/aim/aim.eai.amd.com_aimservicetemplates.yaml"),
    ),
    (
        "gateway.networking.k8s.io",
        "HTTPRoute",
        include_str!("../../schemas/crds/gateway-api/gateway.networking.k8s.io_httproutes.yaml"),
    ),
];

/// The served versions of [`CRDS`], one lazily compiled cell each: (CRD index, version).
const VERSIONS: [(usize, &str); 8] = [
    (0, "v1alpha1"),
    (1, "v1alpha1"),
    (2, "v1alpha1"),
    (3, "v1alpha1"),
    (4, "v1alpha1"),
    (5, "v1alpha1"),
    (6, "v1"),
    (6, "v1beta1"),
];

/// How to fix a broken rule, for the rules whose message does not say it (the help line).
const HINTS: [(&str, &str); 5] = [
    (
        "has(self.gpu) || has(self.cpu)",
        "add `gpu` (e.g. `gpu: {requests: 1}`) or `cpu` to the hardware",
    ),
    (
        "!(has(self.model) && size(self.model) > 0 && has(self.minVram))",
        "remove either `model` or `minVram` from the gpu requirements",
    ),
    (
        "!has(self.modelSources) || size(self.modelSources) == 0 || (has(self.custom) && has(self.custom.hardware)) || !has(self.customTemplates) || size(self.customTemplates) == 0 || self.customTemplates.all(t, has(t.hardware) || (has(self.custom) && has(self.custom.hardware)))",
        "set `spec.custom.hardware`, or `hardware` on every entry of `spec.customTemplates`",
    ),
    (
        "(has(self.name) ? 1 : 0) + (has(self.image) ? 1 : 0) + (has(self.custom) ? 1 : 0) == 1",
        "keep exactly one of `name`, `image` and `custom` under `spec.model`",
    ),
    (
        "size(self.modelSources) >= 1",
        "list the model's weights under `modelSources`, e.g. `- {modelId: org/name, sourceUri: hf://org/name}`",
    ),
];

/// The compiled rules of one CRD version.
pub struct Compiled {
    schema: CompiledSchema,
    /// Rules compiled (every `x-kubernetes-validations` entry of the version).
    pub rules: usize,
    /// Of those, transition rules, which are not evaluated (see the module documentation).
    pub transition: usize,
}

impl Compiled {
    /// Rules evaluated on each object of the kind.
    pub fn evaluated(&self) -> usize {
        self.rules - self.transition
    }
}

fn count(schema: &CompiledSchema, rules: &mut usize, transition: &mut usize) {
    walk(schema, &mut |s| {
        for rule in s.validations.iter().flatten() {
            *rules += 1;
            // kube-cel, as the API server on a create, runs an `optionalOldSelf` rule with a
            // null `oldSelf`; only the others are skipped.
            if rule.is_transition_rule && rule.rule.optional_old_self != Some(true) {
                *transition += 1;
            }
        }
    });
}

/// Calls `f` on `schema` and every schema below it.
fn walk(schema: &CompiledSchema, f: &mut impl FnMut(&CompiledSchema)) {
    f(schema);
    let children = schema
        .properties
        .values()
        .chain(schema.items.as_deref())
        .chain(schema.additional_properties.as_deref())
        .chain(&schema.all_of)
        .chain(&schema.one_of)
        .chain(&schema.any_of);
    for child in children {
        walk(child, f);
    }
}

/// Every compilation error in the tree, as text.
fn errors(schema: &CompiledSchema, out: &mut Vec<String>) {
    walk(schema, &mut |s| {
        out.extend(s.compilation_errors().iter().map(|e| e.to_string()))
    });
}

/// The `openAPIV3Schema` of one version of an embedded CRD.
fn raw_schema(crd: usize, version: &str) -> Result<Value, String> {
    let (_, kind, text) = CRDS[crd];
    let docs = crate::load::yaml::parse_values(text)
        .map_err(|e| format!("the CRD of {kind} is not YAML: {}", e.message))?;
    docs.into_iter()
        .filter_map(|(_, _, mut v)| match v.pointer_mut("/spec/versions") {
            Some(Value::Array(versions)) => Some(std::mem::take(versions)),
            _ => None,
        })
        .flatten()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
        .and_then(|mut v| v.pointer_mut("/schema/openAPIV3Schema").map(Value::take))
        .ok_or_else(|| format!("the CRD of {kind} has no schema for {version}"))
}

fn compile(crd: usize, version: &str) -> Result<Compiled, String> {
    let schema = kube_cel::compile_schema(&raw_schema(crd, version)?);
    let mut broken = Vec::new();
    errors(&schema, &mut broken);
    if !broken.is_empty() {
        return Err(format!(
            "the CEL rules of {} {version} do not compile: {}",
            CRDS[crd].1,
            broken.join("; ")
        ));
    }
    let (mut rules, mut transition) = (0, 0);
    count(&schema, &mut rules, &mut transition);
    Ok(Compiled {
        schema,
        rules,
        transition,
    })
}

fn cells() -> &'static [OnceLock<Result<Compiled, String>>; VERSIONS.len()] {
    static CELLS: [OnceLock<Result<Compiled, String>>; VERSIONS.len()] =
        [const { OnceLock::new() }; VERSIONS.len()];
    &CELLS
}

/// The compiled rules of `apiVersion`/`kind`, compiling them on first use; `None` for a kind
/// whose CRD carries no rule, or that aimc has no CRD for.
pub fn compiled(api_version: &str, kind: &str) -> Option<&'static Result<Compiled, String>> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let at = VERSIONS
        .iter()
        .position(|(crd, v)| *v == version && CRDS[*crd].0 == group && CRDS[*crd].1 == kind)?;
    let (crd, version) = VERSIONS[at];
    Some(cells()[at].get_or_init(|| compile(crd, version)))
}

/// Every served version of every embedded CRD: (apiVersion, kind, its compiled rules).
/// Compiles all of them; for tests and reports.
pub fn all() -> Vec<(String, &'static str, &'static Result<Compiled, String>)> {
    VERSIONS
        .iter()
        .filter_map(|(crd, version)| {
            let (group, kind, _) = CRDS[*crd];
            let api_version = format!("{group}/{version}");
            compiled(&api_version, kind).map(|c| (api_version, kind, c))
        })
        .collect()
}

/// The rules `value` breaks, or cannot evaluate.
fn evaluate(compiled: &Compiled, value: &Value) -> Vec<ValidationError> {
    if compiled.evaluated() == 0 {
        return Vec::new();
    }
    let value = if api::has_prunable_null(value) {
        let mut copy = value.clone();
        api::prune_nulls(&mut copy);
        Cow::Owned(copy)
    } else {
        Cow::Borrowed(value)
    };
    let Err(errors) = kube_cel::validate_compiled(&compiled.schema, &value, None) else {
        return Vec::new();
    };
    // Gateway API v1.3 lists one filter rule twice at the same field; one report is enough.
    let mut errors = errors.into_vec();
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert((e.field_path.clone(), e.rule.clone())));
    errors
}

/// The CEL diagnostics of one input object: (rules it breaks, rules that could not be
/// evaluated). A rule fails to evaluate when a field it reads is missing or of the wrong
/// type, which the schema check reports better; the caller keeps those only when the
/// schema check found nothing.
pub fn check_input(obj: &Object) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let Some(compiled) = compiled(&obj.key.api_version, &obj.key.kind) else {
        return (Vec::new(), Vec::new());
    };
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => {
            let d = Diagnostic::error("InternalError", e.clone())
                .at(Some(obj.doc_loc()))
                .help("this is a bug in aimc: its embedded CRDs are broken; please report it");
            return (vec![d], Vec::new());
        }
    };
    let (mut broken, mut unevaluated) = (Vec::new(), Vec::new());
    for e in evaluate(compiled, &obj.value) {
        let path = segments(&obj.value, &e.field_path);
        let subject = match e.field_path.as_str() {
            "" => obj.key.kind.clone(),
            field => format!("{} {field}", obj.key.kind),
        };
        let at = Some(obj.loc(&path));
        match e.kind {
            ErrorKind::ValidationFailure => broken.push(
                Diagnostic::error(CEL_VIOLATION, format!("{subject}: {}", message(&e)))
                    .at(at)
                    .help(help(&e.rule)),
            ),
            _ => unevaluated.push(
                Diagnostic::error(
                    CEL_VIOLATION,
                    format!("{subject}: a CRD rule cannot be evaluated: {}", e.message),
                )
                .at(at)
                .help(format!(
                    "the API server rejects an object whose rule fails to evaluate; the rule is `{}`",
                    brief(&e.rule)
                )),
            ),
        }
    }
    (broken, unevaluated)
}

/// [`check_input`]'s broken and unevaluated rules together.
pub fn check(obj: &Object) -> Vec<Diagnostic> {
    let (mut broken, unevaluated) = check_input(obj);
    broken.extend(unevaluated);
    broken
}

/// The CEL rules a rendered object breaks, as `field.path: message`; kinds without rules
/// pass.
pub fn check_output(v: &Value) -> Vec<String> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    match compiled(text("apiVersion"), text("kind")) {
        None => Vec::new(),
        Some(Err(e)) => vec![e.clone()],
        Some(Ok(compiled)) => evaluate(compiled, v)
            .into_iter()
            .map(|e| {
                let what = match e.kind {
                    ErrorKind::ValidationFailure => message(&e),
                    _ => format!("a CRD rule cannot be evaluated: {}", e.message),
                };
                match e.field_path.as_str() {
                    "" => format!("{what} (CRD rule `{}`)", brief(&e.rule)),
                    field => format!("{field}: {what} (CRD rule `{}`)", brief(&e.rule)),
                }
            })
            .collect(),
    }
}

/// The rule's message, or the rule itself when it has none (kube-cel's stand-in names it).
fn message(e: &ValidationError) -> String {
    if e.message == format!("failed rule: {}", e.rule) {
        format!("the CRD rule `{}` does not hold", brief(&e.rule))
    } else {
        e.message.clone()
    }
}

fn help(rule: &str) -> String {
    match HINTS.iter().find(|(r, _)| *r == rule) {
        Some((_, fix)) => format!("{fix} (CRD rule `{}`)", brief(rule)),
        None => format!("the CRD requires `{}` to hold here", brief(rule)),
    }
}

/// A rule as it appears in a help line: some are a thousand characters long.
fn brief(rule: &str) -> Cow<'_, str> {
    const MAX: usize = 160;
    if rule.chars().count() <= MAX {
        return Cow::Borrowed(rule);
    }
    let cut: String = rule.chars().take(MAX - 1).collect();
    Cow::Owned(format!("{cut}…"))
}

/// kube-cel's field path (`spec.rules[0].matches[1].path`) as segments. A key may itself
/// hold `.` or `[` (a map key such as `example.com/x`), so keys are matched against the
/// object's own keys, longest first; a key the object lacks (a field only a default
/// created) ends at the next `.` or `[`.
pub(crate) fn segments(value: &Value, path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut node = Some(value);
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix('[') {
            let Some((index, tail)) = tail.split_once(']') else {
                break;
            };
            let Ok(i) = index.parse::<usize>() else { break };
            out.push(Seg::Index(i));
            node = node.and_then(|n| n.get(i));
            rest = tail.strip_prefix('.').unwrap_or(tail);
            continue;
        }
        let boundary = |k: &str| {
            rest.strip_prefix(k)
                .is_some_and(|t| t.is_empty() || t.starts_with('.') || t.starts_with('['))
        };
        let key = node
            .and_then(Value::as_object)
            .and_then(|m| {
                m.keys()
                    .filter(|k| !k.is_empty() && boundary(k))
                    .max_by_key(|k| k.len())
            })
            .cloned()
            .unwrap_or_else(|| {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                rest[..end].to_owned()
            });
        rest = &rest[key.len()..];
        rest = rest.strip_prefix('.').unwrap_or(rest);
        node = node.and_then(|n| n.get(&key));
        out.push(Seg::Key(key));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_rule_of_every_embedded_crd_compiles() {
        let mut total = (0, 0);
        for (api_version, kind, compiled) in all() {
            let c = compiled
                .as_ref()
                .unwrap_or_else(|e| panic!("{kind} {api_version}: {e}"));
            assert!(c.rules > 0, "{kind} {api_version} carries no rule");
            total.0 += c.rules;
            total.1 += c.transition;
        }
        // The README's numbers: 195 rules, of which 15 transition rules are not evaluated.
        assert_eq!(total, (195, 15));
    }

    #[test]
    fn the_crd_table_names_each_file() {
        for (group, kind, text) in CRDS {
            let docs = crate::load::yaml::parse_values(text).unwrap();
            let crd = &docs[0].2;
            assert_eq!(crd["spec"]["group"], group);
            assert_eq!(crd["spec"]["names"]["kind"], kind);
        }
        for (crd, version) in VERSIONS {
            let docs = crate::load::yaml::parse_values(CRDS[crd].2).unwrap();
            let served: Vec<&str> = docs[0]
                .2
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .filter(|v| v["served"] == true)
                .filter_map(|v| v["name"].as_str())
                .collect();
            assert!(served.contains(&version), "{} {version}", CRDS[crd].1);
        }
    }

    fn rule_texts(schema: &CompiledSchema, out: &mut Vec<String>) {
        out.extend(
            schema
                .validations
                .iter()
                .flatten()
                .map(|r| r.rule.rule.clone()),
        );
        let children = schema
            .properties
            .values()
            .chain(schema.items.as_deref())
            .chain(schema.additional_properties.as_deref());
        for child in children {
            rule_texts(child, out);
        }
    }

    /// Every hint is for a rule some CRD carries, so a changed rule cannot lose its hint
    /// silently.
    #[test]
    fn every_hint_names_a_rule_of_the_crds() {
        let mut rules = Vec::new();
        for (_, _, compiled) in all() {
            rule_texts(&compiled.as_ref().unwrap().schema, &mut rules);
        }
        for (rule, _) in HINTS {
            assert!(rules.iter().any(|r| r == rule), "{rule}");
        }
    }

    #[test]
    fn field_paths_become_segments() {
        let v = json!({"spec": {"rules": [{"matches": [{}, {"path": {}}]}]},
                       "metadata": {"annotations": {"example.com/a.b": "x"}}});
        assert_eq!(
            segments(&v, "spec.rules[0].matches[1].path"),
            vec![
                Seg::from("spec"),
                Seg::from("rules"),
                Seg::Index(0),
                Seg::from("matches"),
                Seg::Index(1),
                Seg::from("path"),
            ]
        );
        assert_eq!(
            segments(&v, "metadata.annotations.example.com/a.b"),
            vec![
                Seg::from("metadata"),
                Seg::from("annotations"),
                Seg::from("example.com/a.b"),
            ]
        );
        // A field the object does not have (a default kube-cel filled in).
        assert_eq!(
            segments(&v, "spec.hostnames[0]"),
            vec![Seg::from("spec"), Seg::from("hostnames"), Seg::Index(0)]
        );
        assert!(segments(&v, "").is_empty());
    }

    #[test]
    fn long_rules_are_cut_in_help() {
        let long = "x".repeat(500);
        let cut = brief(&long);
        assert_eq!(cut.chars().count(), 160);
        assert!(cut.ends_with('…'));
        assert_eq!(brief("self.a"), "self.a");
    }

    #[test]
    fn output_violations_name_the_field_and_rule() {
        let route = json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "v1"}}]}]},
        });
        let errors = check_output(&route);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "spec.rules[0].matches[0].path: value must be an absolute path and start with '/'"
            ),
            "{errors:?}"
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(check_output(&cm).is_empty());
    }
}
