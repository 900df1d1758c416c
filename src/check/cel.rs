//! The AIM CRDs' CEL rules (`x-kubernetes-validations`), re-implemented by hand.
//!
//! aimc has no CEL interpreter; the CRDs carry five distinct rules, attached at 24 places,
//! and each is a few field-presence tests. [`check`] evaluates them on the object as the API
//! server does: after CRD defaulting (the loader applies the defaults) and with null fields
//! absent. A test reads the CRDs in `schemas/crds/aim/` and fails when a rule or an
//! attachment point appears that this table does not know, so a new operator version cannot
//! add a rule unnoticed.
//!
//! Intentionally not checked: the transition rules `self == oldSelf`, which compare an update
//! with the stored object and mean nothing offline, where there is no old object:
//!
//! | Kind | Field | Message |
//! |---|---|---|
//! | AIMArtifact | `spec.sourceUri` | sourceUri is immutable |
//! | AIMService, AIMServiceTemplate, AIMClusterServiceTemplate | `spec.overrides.hardware` / `spec.hardware` | hardware is immutable |
//! | AIMService, AIMServiceTemplate, AIMClusterServiceTemplate | `spec.overrides.metric` / `spec.metric` | metric is immutable |
//! | AIMService, AIMServiceTemplate, AIMClusterServiceTemplate | `spec.overrides.precision` / `spec.precision` | precision is immutable |
//! | AIMServiceTemplate, AIMClusterServiceTemplate | `spec.modelName` | model name is immutable |
//! | AIMService | `spec.caching` | caching mode is immutable after creation |
//! | AIMService | `spec.model` | model selection is immutable after creation |
//! | AIMService | `spec.template` | template selection is immutable after creation |

use crate::api::{self, AimKind};
use crate::diag::Diagnostic;
use crate::load::{yaml::Seg, Object};
use serde_json::{Map, Value};

/// Diagnostic code of a broken CEL rule.
pub const CEL_VIOLATION: &str = "CelViolation";

/// One CEL rule of the CRDs: its expression and message as written there, and its
/// hand-written equivalent, which is given the object the rule is attached to (`self`).
pub struct Rule {
    pub rule: &'static str,
    pub message: &'static str,
    /// How to fix a violation (the help line).
    pub fix: &'static str,
    holds: fn(&Map<String, Value>) -> bool,
}

/// `has(self.f)`: the API server drops null fields, so a null counts as absent.
fn has(m: &Map<String, Value>, field: &str) -> bool {
    m.get(field).is_some_and(|v| !v.is_null())
}

/// CEL `size()` of a string, list or map field; 0 when absent.
fn size(m: &Map<String, Value>, field: &str) -> usize {
    match m.get(field) {
        Some(Value::String(s)) => s.chars().count(),
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(o)) => o.len(),
        _ => 0,
    }
}

/// `has(self.custom) && has(self.custom.hardware)`
fn has_custom_hardware(m: &Map<String, Value>) -> bool {
    m.get("custom")
        .and_then(Value::as_object)
        .is_some_and(|c| has(c, "hardware"))
}

pub const GPU_OR_CPU: Rule = Rule {
    rule: "has(self.gpu) || has(self.cpu)",
    message: "at least one of gpu or cpu must be specified",
    fix: "add `gpu` (e.g. `gpu: {requests: 1}`) or `cpu` to the hardware",
    holds: |m| has(m, "gpu") || has(m, "cpu"),
};

pub const GPU_MODEL_OR_MIN_VRAM: Rule = Rule {
    rule: "!(has(self.model) && size(self.model) > 0 && has(self.minVram))",
    message: "model and minVram are mutually exclusive; specify either a specific GPU model OR a minimum VRAM requirement, not both",
    fix: "remove either `model` or `minVram` from the gpu requirements",
    holds: |m| !(has(m, "model") && size(m, "model") > 0 && has(m, "minVram")),
};

pub const MODEL_SOURCES_NEED_HARDWARE: Rule = Rule {
    rule: "!has(self.modelSources) || size(self.modelSources) == 0 || (has(self.custom) && has(self.custom.hardware)) || !has(self.customTemplates) || size(self.customTemplates) == 0 || self.customTemplates.all(t, has(t.hardware) || (has(self.custom) && has(self.custom.hardware)))",
    message: "when using modelSources, hardware must be specified: set custom.hardware (inherited by all templates) or set hardware on each template individually",
    fix: "set `spec.custom.hardware`, or `hardware` on every entry of `spec.customTemplates`",
    holds: |m| {
        !has(m, "modelSources")
            || size(m, "modelSources") == 0
            || has_custom_hardware(m)
            || !has(m, "customTemplates")
            || size(m, "customTemplates") == 0
            || m.get("customTemplates")
                .and_then(Value::as_array)
                .is_none_or(|ts| {
                    ts.iter().all(|t| {
                        t.as_object().is_some_and(|t| has(t, "hardware")) || has_custom_hardware(m)
                    })
                })
    },
};

pub const ONE_MODEL_SELECTOR: Rule = Rule {
    rule: "(has(self.name) ? 1 : 0) + (has(self.image) ? 1 : 0) + (has(self.custom) ? 1 : 0) == 1",
    message: "exactly one of name, image, or custom must be specified",
    fix: "keep exactly one of `name`, `image` and `custom` under `spec.model`",
    holds: |m| {
        ["name", "image", "custom"]
            .iter()
            .filter(|f| has(m, f))
            .count()
            == 1
    },
};

pub const CUSTOM_MODEL_NEEDS_SOURCES: Rule = Rule {
    rule: "size(self.modelSources) >= 1",
    message: "at least one model source must be specified",
    fix: "list the model's weights under `modelSources`, e.g. `- {modelId: org/name, sourceUri: hf://org/name}`",
    holds: |m| size(m, "modelSources") >= 1,
};

/// Where each rule is attached: kind, path (`[]` = every list item), rule.
pub const ATTACHED: [(AimKind, &str, &Rule); 24] = [
    (AimKind::Model, "spec", &MODEL_SOURCES_NEED_HARDWARE),
    (AimKind::Model, "spec.custom.hardware", &GPU_OR_CPU),
    (
        AimKind::Model,
        "spec.custom.hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (
        AimKind::Model,
        "spec.customTemplates[].hardware",
        &GPU_OR_CPU,
    ),
    (
        AimKind::Model,
        "spec.customTemplates[].hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (AimKind::ClusterModel, "spec", &MODEL_SOURCES_NEED_HARDWARE),
    (AimKind::ClusterModel, "spec.custom.hardware", &GPU_OR_CPU),
    (
        AimKind::ClusterModel,
        "spec.custom.hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (
        AimKind::ClusterModel,
        "spec.customTemplates[].hardware",
        &GPU_OR_CPU,
    ),
    (
        AimKind::ClusterModel,
        "spec.customTemplates[].hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (AimKind::ServiceTemplate, "spec.hardware", &GPU_OR_CPU),
    (
        AimKind::ServiceTemplate,
        "spec.hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (
        AimKind::ServiceTemplate,
        "status.resolvedHardware",
        &GPU_OR_CPU,
    ),
    (
        AimKind::ServiceTemplate,
        "status.resolvedHardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (
        AimKind::ClusterServiceTemplate,
        "spec.hardware",
        &GPU_OR_CPU,
    ),
    (
        AimKind::ClusterServiceTemplate,
        "spec.hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (
        AimKind::ClusterServiceTemplate,
        "status.resolvedHardware",
        &GPU_OR_CPU,
    ),
    (
        AimKind::ClusterServiceTemplate,
        "status.resolvedHardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (AimKind::Service, "spec.model", &ONE_MODEL_SELECTOR),
    (
        AimKind::Service,
        "spec.model.custom",
        &CUSTOM_MODEL_NEEDS_SOURCES,
    ),
    (AimKind::Service, "spec.model.custom.hardware", &GPU_OR_CPU),
    (
        AimKind::Service,
        "spec.model.custom.hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
    (AimKind::Service, "spec.overrides.hardware", &GPU_OR_CPU),
    (
        AimKind::Service,
        "spec.overrides.hardware.gpu",
        &GPU_MODEL_OR_MIN_VRAM,
    ),
];

/// The transition rules (`self == oldSelf`) that are intentionally not checked; see the
/// module documentation.
pub const NOT_CHECKED: [(AimKind, &str); 15] = [
    (AimKind::Artifact, "spec.sourceUri"),
    (AimKind::ClusterServiceTemplate, "spec.hardware"),
    (AimKind::ClusterServiceTemplate, "spec.metric"),
    (AimKind::ClusterServiceTemplate, "spec.modelName"),
    (AimKind::ClusterServiceTemplate, "spec.precision"),
    (AimKind::Service, "spec.caching"),
    (AimKind::Service, "spec.model"),
    (AimKind::Service, "spec.overrides.hardware"),
    (AimKind::Service, "spec.overrides.metric"),
    (AimKind::Service, "spec.overrides.precision"),
    (AimKind::Service, "spec.template"),
    (AimKind::ServiceTemplate, "spec.hardware"),
    (AimKind::ServiceTemplate, "spec.metric"),
    (AimKind::ServiceTemplate, "spec.modelName"),
    (AimKind::ServiceTemplate, "spec.precision"),
];

/// Every object reached by `pattern` (`a.b[].c`), with its path.
fn reached<'a>(v: &'a Value, pattern: &str) -> Vec<(Vec<Seg>, &'a Map<String, Value>)> {
    let mut found: Vec<(Vec<Seg>, &Value)> = vec![(Vec::new(), v)];
    for part in pattern.split('.') {
        let (key, each) = match part.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for (path, node) in found {
            let Some(child) = node.get(key) else { continue };
            let mut path = path;
            path.push(Seg::Key(key.to_owned()));
            if each {
                for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                    let mut p = path.clone();
                    p.push(Seg::Index(i));
                    next.push((p, item));
                }
            } else {
                next.push((path, child));
            }
        }
        found = next;
    }
    found
        .into_iter()
        .filter_map(|(p, v)| v.as_object().map(|m| (p, m)))
        .collect()
}

/// The CEL rules of the object's CRD that it breaks. Objects of other groups pass; a field of
/// the wrong type is the schema check's to report, not this one's.
pub fn check(obj: &Object) -> Vec<Diagnostic> {
    if obj.key.api_version != api::AIM_API_VERSION {
        return Vec::new();
    }
    let Some(kind) = AimKind::from_name(&obj.key.kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (_, pattern, rule) in ATTACHED.iter().filter(|(k, _, _)| *k == kind) {
        for (path, node) in reached(&obj.value, pattern) {
            if (rule.holds)(node) {
                continue;
            }
            let field = super::dotted(&path);
            out.push(
                Diagnostic::error(CEL_VIOLATION, rule.message)
                    .at(Some(obj.loc(&path)))
                    .help(format!(
                        "{} {field} breaks the CRD rule `{}`: {}",
                        kind.name(),
                        rule.rule,
                        rule.fix
                    )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{self, LoadOptions, ObjKey, SourceFile};
    use serde_json::json;
    use std::path::PathBuf;

    /// The objects of one in-memory file, through the real loader (defaults applied).
    fn load_one(text: &str) -> Vec<Object> {
        let loaded = load::load_sources(
            vec![(PathBuf::from("cel.yaml"), text.as_bytes().to_vec())],
            &LoadOptions::default(),
        );
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "loader rejects the fixture: {errors:?}");
        loaded.index.into_objects()
    }

    /// The rule violations of a one-object file, as (line, message).
    fn violations(text: &str) -> Vec<(u32, String)> {
        load_one(text)
            .iter()
            .flat_map(check)
            .map(|d| {
                assert_eq!(d.code, CEL_VIOLATION);
                assert!(d.is_error());
                (d.location.map_or(0, |l| l.line), d.message)
            })
            .collect()
    }

    const TEMPLATE: &str = "\
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMServiceTemplate
metadata: {name: t, namespace: ml}
spec:
  modelName: m
";

    /// `has(self.gpu) || has(self.cpu)`
    #[test]
    fn hardware_needs_gpu_or_cpu() {
        let bad = format!("{TEMPLATE}  hardware: {{}}\n");
        assert_eq!(violations(&bad), vec![(6, GPU_OR_CPU.message.to_owned())]);
        let gpu = format!("{TEMPLATE}  hardware:\n    gpu: {{requests: 1}}\n");
        assert_eq!(violations(&gpu), vec![]);
        let cpu = format!("{TEMPLATE}  hardware:\n    cpu: {{requests: 4}}\n");
        assert_eq!(violations(&cpu), vec![]);
    }

    /// `!(has(self.model) && size(self.model) > 0 && has(self.minVram))`
    #[test]
    fn gpu_model_and_min_vram_are_exclusive() {
        let bad =
            format!("{TEMPLATE}  hardware:\n    gpu:\n      model: MI300X\n      minVram: 128Gi\n");
        assert_eq!(
            violations(&bad),
            vec![(8, GPU_MODEL_OR_MIN_VRAM.message.to_owned())]
        );
        // An empty model does not count as one.
        let empty =
            format!("{TEMPLATE}  hardware:\n    gpu:\n      model: \"\"\n      minVram: 128Gi\n");
        assert_eq!(violations(&empty), vec![]);
        let one = format!("{TEMPLATE}  hardware:\n    gpu:\n      minVram: 128Gi\n");
        assert_eq!(violations(&one), vec![]);
    }

    const MODEL: &str = "\
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata: {name: phi}
spec:
  image: amdenterpriseai/aim-base:0.9
  modelSources:
    - {modelId: microsoft/phi-4, sourceUri: hf://microsoft/phi-4}
";

    /// `!has(self.modelSources) || size(self.modelSources) == 0 || (has(self.custom) &&
    /// has(self.custom.hardware)) || !has(self.customTemplates) || size(self.customTemplates)
    /// == 0 || self.customTemplates.all(t, has(t.hardware) || (has(self.custom) &&
    /// has(self.custom.hardware)))`
    #[test]
    fn model_sources_need_hardware() {
        let bad = format!("{MODEL}  customTemplates:\n    - name: a\n      hardware: {{gpu: {{requests: 1}}}}\n    - name: b\n");
        assert_eq!(
            violations(&bad),
            vec![(5, MODEL_SOURCES_NEED_HARDWARE.message.to_owned())]
        );
        // Hardware on every template, or once for all in custom.hardware.
        let each = format!(
            "{MODEL}  customTemplates:\n    - name: a\n      hardware: {{cpu: {{requests: 1}}}}\n"
        );
        assert_eq!(violations(&each), vec![]);
        let inherited = format!("{MODEL}  custom:\n    hardware: {{gpu: {{requests: 1}}}}\n  customTemplates:\n    - name: b\n");
        assert_eq!(violations(&inherited), vec![]);
        // As written, the rule lets model sources without any template pass.
        assert_eq!(violations(MODEL), vec![]);
    }

    const SERVICE: &str = "\
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: chat, namespace: ml}
spec:
  model:
";

    /// `(has(self.name) ? 1 : 0) + (has(self.image) ? 1 : 0) + (has(self.custom) ? 1 : 0) == 1`
    #[test]
    fn exactly_one_model_selector() {
        let two = format!("{SERVICE}    name: llama\n    image: ghcr.io/x/llama:1\n");
        assert_eq!(
            violations(&two),
            vec![(6, ONE_MODEL_SELECTOR.message.to_owned())]
        );
        let none = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata: {name: chat, namespace: ml}\nspec:\n  model: {}\n";
        assert_eq!(
            violations(none),
            vec![(5, ONE_MODEL_SELECTOR.message.to_owned())]
        );
        assert_eq!(violations(&format!("{SERVICE}    name: llama\n")), vec![]);
    }

    /// `size(self.modelSources) >= 1`
    #[test]
    fn custom_model_needs_a_source() {
        let bad = format!("{SERVICE}    custom:\n      baseImage: amdenterpriseai/aim-base:0.9\n      hardware: {{gpu: {{requests: 1}}}}\n      modelSources: []\n");
        assert_eq!(
            violations(&bad),
            vec![(7, CUSTOM_MODEL_NEEDS_SOURCES.message.to_owned())]
        );
    }

    #[test]
    fn help_names_the_field_and_the_rule() {
        let text = format!("{TEMPLATE}  hardware: {{}}\n");
        let d = check(&load_one(&text)[0]);
        assert_eq!(
            d[0].help.as_deref(),
            Some("AIMServiceTemplate spec.hardware breaks the CRD rule `has(self.gpu) || has(self.cpu)`: add `gpu` (e.g. `gpu: {requests: 1}`) or `cpu` to the hardware")
        );
    }

    /// An object whose only content is `node` at `pattern` (`[]` = a one-item list), written
    /// as JSON text so that positions resolve.
    fn object_with(kind: AimKind, pattern: &str, node: Value) -> Object {
        let mut value = node;
        for part in pattern.rsplit('.') {
            let (key, each) = match part.strip_suffix("[]") {
                Some(k) => (k, true),
                None => (part, false),
            };
            let inner = if each { json!([value]) } else { value };
            value = json!({ key: inner });
        }
        let obj = value.as_object_mut().unwrap();
        obj.insert("apiVersion".into(), json!(api::AIM_API_VERSION));
        obj.insert("kind".into(), json!(kind.name()));
        obj.insert("metadata".into(), json!({"name": "x", "namespace": "ns"}));
        let text = serde_json::to_string_pretty(&value).unwrap();
        Object {
            source: SourceFile::new(PathBuf::from("x.json.yaml"), text),
            doc: 0,
            line: 1,
            col: 1,
            value,
            key: ObjKey {
                api_version: api::AIM_API_VERSION.into(),
                kind: kind.name().into(),
                namespace: Some("ns".into()),
                name: "x".into(),
            },
            aim: None,
            derived: false,
        }
    }

    /// Every attachment point in the table is evaluated, and reported at its own field.
    #[test]
    fn every_attachment_point_is_checked_at_its_field() {
        for (kind, pattern, rule) in &ATTACHED {
            let node = match rule.rule {
                r if r == GPU_OR_CPU.rule => json!({}),
                r if r == GPU_MODEL_OR_MIN_VRAM.rule => {
                    json!({"model": "MI300X", "minVram": "1Gi"})
                }
                r if r == MODEL_SOURCES_NEED_HARDWARE.rule => json!({
                    "modelSources": [{"modelId": "a/b", "sourceUri": "hf://a/b"}],
                    "customTemplates": [{"name": "t"}],
                }),
                r if r == ONE_MODEL_SELECTOR.rule => json!({"name": "a", "image": "b"}),
                r if r == CUSTOM_MODEL_NEEDS_SOURCES.rule => json!({"modelSources": []}),
                r => panic!("no fixture for rule {r}"),
            };
            let obj = object_with(*kind, pattern, node);
            let want_path: String = pattern.replace("[]", "[0]");
            let found: Vec<Diagnostic> = check(&obj)
                .into_iter()
                .filter(|d| d.message == rule.message)
                .collect();
            assert_eq!(found.len(), 1, "{} {pattern}: {found:#?}", kind.name());
            let help = found[0].help.clone().unwrap_or_default();
            assert!(
                help.starts_with(&format!("{} {want_path} breaks", kind.name())),
                "{help}"
            );
            // Located at the field: the JSON text puts it on a line of its own, after line 1.
            assert!(found[0].location.as_ref().is_some_and(|l| l.line > 1));
        }
    }

    #[test]
    fn objects_of_other_groups_and_kinds_pass() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ml}\nspec:\n  model: {}\n";
        assert_eq!(violations(cm), vec![]);
    }

    #[test]
    fn the_examples_break_no_rule() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "ci"))
            .collect();
        dirs.sort();
        let mut found = Vec::new();
        for dir in dirs {
            let loaded = load::load_dir(&dir, &LoadOptions::default()).unwrap();
            for obj in loaded.index.objects() {
                found.extend(check(obj).iter().map(Diagnostic::to_string));
            }
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    /// Walks an OpenAPI schema for `x-kubernetes-validations`: (path pattern, rule, message).
    fn crd_rules(node: &Value, path: &str, out: &mut Vec<(String, String, String)>) {
        for v in node["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.push((
                path.to_owned(),
                v["rule"].as_str().unwrap_or_default().to_owned(),
                v["message"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        for (key, child) in node["properties"].as_object().into_iter().flatten() {
            let p = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            crd_rules(child, &p, out);
        }
        if node.get("items").is_some() {
            crd_rules(&node["items"], &format!("{path}[]"), out);
        }
    }

    /// Every `x-kubernetes-validations` rule of the checked-in AIM CRDs is either implemented
    /// here (same expression, same message, same place) or a transition rule listed as not
    /// checked; and nothing here is missing from the CRDs.
    #[test]
    fn table_matches_the_crds() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/crds/aim");
        let mut implemented: Vec<(String, String, String)> = Vec::new();
        let mut transitions: Vec<(String, String)> = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = load::yaml::parse_values(&text).unwrap();
            let crd = &docs[0].2;
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
            for version in crd["spec"]["versions"].as_array().unwrap() {
                let mut rules = Vec::new();
                crd_rules(&version["schema"]["openAPIV3Schema"], "", &mut rules);
                for (at, rule, message) in rules {
                    if rule == "self == oldSelf" {
                        transitions.push((kind.clone(), at));
                    } else {
                        implemented.push((kind.clone(), at, format!("{rule} => {message}")));
                    }
                }
            }
        }
        implemented.sort();
        transitions.sort();
        let mut table: Vec<(String, String, String)> = ATTACHED
            .iter()
            .map(|(k, at, r)| {
                (
                    k.name().to_owned(),
                    (*at).to_owned(),
                    format!("{} => {}", r.rule, r.message),
                )
            })
            .collect();
        table.sort();
        assert_eq!(table, implemented);
        let mut skipped: Vec<(String, String)> = NOT_CHECKED
            .iter()
            .map(|(k, at)| (k.name().to_owned(), (*at).to_owned()))
            .collect();
        skipped.sort();
        assert_eq!(skipped, transitions);
    }
}
