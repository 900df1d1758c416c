//! Validation against the JSON Schemas in `schemas/`: AIM inputs against the CRDs' schemas,
//! rendered objects, and the same kinds written in the tree, against KServe's, Gateway API's
//! and Kubernetes' own.
//!
//! The schemas are compiled into the binary (`include_str!`), so validation reads no file at
//! run time, and each set is compiled once, on first use.

use crate::api;
use crate::diag::Diagnostic;
use crate::load::{yaml::Seg, Object};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, PatternOptions, ValidationError, Validator};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Diagnostic code of a schema violation in an input.
pub const SCHEMA_VIOLATION: &str = "SchemaViolation";

/// The input schema of every AIM kind, by kind name.
const INPUT: [(&str, &str); 10] = [
    (
        "AIMArtifact",
        include_str!("../../schemas/aim/aimartifact.json"),
    ),
    (
        "AIMClusterModel",
        include_str!("../../schemas/aim/aimclustermodel.json"),
    ),
    (
        "AIMClusterModelSource",
        include_str!("../../schemas/aim/aimclustermodelsource.json"),
    ),
    (
        "AIMClusterRuntimeConfig",
        include_str!("../../schemas/aim/aimclusterruntimeconfig.json"),
    ),
    (
        "AIMClusterServiceTemplate",
        include_str!("../../schemas/aim/aimclusterservicetemplate.json"),
    ),
    ("AIMModel", include_str!("../../schemas/aim/aimmodel.json")),
    (
        "AIMRuntimeConfig",
        include_str!("../../schemas/aim/aimruntimeconfig.json"),
    ),
    (
        "AIMService",
        include_str!("../../schemas/aim/aimservice.json"),
    ),
    (
        "AIMServiceTemplate",
        include_str!("../../schemas/aim/aimservicetemplate.json"),
    ),
    (
        "AIMTemplateCache",
        include_str!("../../schemas/aim/aimtemplatecache.json"),
    ),
];

/// The schema of every kind aimc renders, by (apiVersion, kind).
const OUTPUT: [(&str, &str, &str); 4] = [
    (
        "serving.kserve.io/v1beta1",
        "InferenceService",
        include_str!("../../schemas/out/inferenceservice-serving.kserve.io-v1beta1.json"),
    ),
    (
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        include_str!("../../schemas/out/httproute-gateway.networking.k8s.io-v1.json"),
    ),
    (
        "v1",
        "PersistentVolumeClaim",
        include_str!("../../schemas/out/persistentvolumeclaim-v1.json"),
    ),
    (
        "batch/v1",
        "Job",
        include_str!("../../schemas/out/job-batch-v1.json"),
    ),
];

/// A compiled schema, or why it could not be compiled (a broken checked-in schema; the
/// tests compile every one, so this is reported rather than panicking in a user's run).
type Compiled = Result<Validator, String>;

fn compile(name: &str, text: &str) -> Compiled {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("schema of {name} is not JSON: {e}"))?;
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        // Kubernetes evaluates `pattern` with Go's RE2; the `regex` crate has the same syntax
        // family and the same linear-time guarantee.
        .with_pattern_options(PatternOptions::regex())
        // Draft 2020-12 treats `format` as an annotation; the API server checks the formats
        // the generator keeps (date-time and the like).
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("schema of {name} does not compile: {e}"))
}

fn input_validators() -> &'static BTreeMap<&'static str, Compiled> {
    static CELL: OnceLock<BTreeMap<&'static str, Compiled>> = OnceLock::new();
    CELL.get_or_init(|| {
        INPUT
            .iter()
            .map(|(kind, text)| (*kind, compile(kind, text)))
            .collect()
    })
}

fn output_validators() -> &'static BTreeMap<(&'static str, &'static str), Compiled> {
    static CELL: OnceLock<BTreeMap<(&'static str, &'static str), Compiled>> = OnceLock::new();
    CELL.get_or_init(|| {
        OUTPUT
            .iter()
            .map(|(api_version, kind, text)| ((*api_version, *kind), compile(kind, text)))
            .collect()
    })
}

/// Checks an input object against its kind's schema: an AIM object (with CRD defaults
/// applied, as the API server validates it) against its CRD's, an InferenceService,
/// HTTPRoute, PersistentVolumeClaim or Job written in the tree against the schema its
/// rendered twins answer to. Objects of other kinds pass.
pub fn validate_input(obj: &Object) -> Vec<Diagnostic> {
    let (api_version, kind) = (obj.key.api_version.as_str(), obj.key.kind.as_str());
    let compiled = if api_version == api::AIM_API_VERSION {
        input_validators().get(kind)
    } else {
        output_validators().get(&(api_version, kind))
    };
    let validator = match compiled {
        Some(Ok(v)) => v,
        Some(Err(e)) => return vec![internal_error(e).at(Some(obj.doc_loc()))],
        None => return Vec::new(),
    };
    // The API server drops a null field that its schema does not declare nullable before it
    // validates (none of the CRDs in schemas/ declares one nullable, and a built-in kind
    // decodes null as absent): `caching:` with no value is an absent field, not a type error.
    let pruned;
    let instance = if api::has_prunable_null(&obj.value) {
        let mut copy = obj.value.clone();
        api::prune_nulls(&mut copy);
        pruned = copy;
        &pruned
    } else {
        &obj.value
    };
    // Nearly every object is valid: the yes-or-no check is much cheaper than collecting errors.
    if validator.is_valid(instance) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for error in validator.iter_errors(instance) {
        let path = segments(error.instance_path().as_str());
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for field in unexpected {
                    let mut at = path.clone();
                    at.push(Seg::Key(field.clone()));
                    out.push(
                        Diagnostic::error(
                            SCHEMA_VIOLATION,
                            format!("{kind} {}: unknown field `{field}`", super::dotted(&at)),
                        )
                        .at(Some(obj.loc(&at)))
                        .help(
                            "remove the field or fix its spelling; its schema does not define it",
                        ),
                    );
                }
            }
            _ => {
                let (what, help) = describe(&error);
                let subject = if path.is_empty() {
                    kind.to_owned()
                } else {
                    format!("{kind} {}", super::dotted(&path))
                };
                out.push(
                    Diagnostic::error(SCHEMA_VIOLATION, format!("{subject}: {what}"))
                        .at(Some(obj.loc(&path)))
                        .help(help),
                );
            }
        }
    }
    out
}

/// Checks a rendered object against the schema of its apiVersion and kind (InferenceService,
/// HTTPRoute, PersistentVolumeClaim, Job and the AIM kinds); other kinds pass. Each problem is `Kind/namespace/name /json/pointer: message`.
pub fn validate_output(v: &Value) -> Vec<String> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    // `--emit all` and `--emit aim` write AIM objects too: they answer to the CRDs' schemas.
    let compiled = if api_version == api::AIM_API_VERSION {
        input_validators().get(kind)
    } else {
        output_validators().get(&(api_version, kind))
    };
    let Some(compiled) = compiled else {
        return Vec::new();
    };
    // Nearly every object is valid: the yes-or-no check is much cheaper than collecting errors.
    if compiled
        .as_ref()
        .is_ok_and(|validator| validator.is_valid(v))
    {
        return Vec::new();
    }
    let meta = |k: &str| {
        v.pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let who = match meta("namespace") {
        "" => format!("{kind}/{}", meta("name")),
        ns => format!("{kind}/{ns}/{}", meta("name")),
    };
    match compiled {
        Err(e) => vec![format!("{who}: {e}")],
        Ok(validator) => validator
            .iter_errors(v)
            .map(|e| {
                let at = match e.instance_path().as_str() {
                    "" => "/".to_owned(),
                    p => p.to_owned(),
                };
                format!("{who} {at}: {}", describe(&e).0)
            })
            .collect(),
    }
}

fn internal_error(e: &str) -> Diagnostic {
    Diagnostic::error("InternalError", e.to_owned())
        .help("this is a bug in aimc: its embedded schemas are broken; please report it")
}

/// A JSON pointer (`/spec/foo/0/bar`) as path segments. Numeric tokens are list indices:
/// the pointer comes from the instance, and no AIM field is a map with numeric keys (in a
/// hand-written object, a numeric label key is then located at its map instead).
fn segments(pointer: &str) -> Vec<Seg> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| {
            let token = token.replace("~1", "/").replace("~0", "~");
            match token.parse::<usize>() {
                Ok(i) if !token.starts_with('+') => Seg::Index(i),
                _ => Seg::Key(token),
            }
        })
        .collect()
}

/// A value as it appears in a message: JSON, cut short when long.
fn brief(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 80 {
        return text;
    }
    let cut: String = text.chars().take(77).collect();
    format!("{cut}...")
}

fn list(options: &Value) -> String {
    match options.as_array() {
        Some(values) => values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        None => options.to_string(),
    }
}

fn type_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// What is wrong (for the message) and how to fix it (for the help line).
fn describe(e: &ValidationError<'_>) -> (String, String) {
    let value = brief(e.instance());
    match e.kind() {
        ValidationErrorKind::Enum { options } => (
            format!("{value} is not one of the allowed values {}", list(options)),
            format!("use one of: {}", list(options)),
        ),
        ValidationErrorKind::Constant { expected_value } => (
            format!("{value} must be {expected_value}"),
            format!("set it to {expected_value}"),
        ),
        ValidationErrorKind::Pattern { pattern } => (
            format!("{value} does not match the pattern `{pattern}`"),
            format!("write a value that matches `{pattern}`"),
        ),
        ValidationErrorKind::Minimum { limit } => (
            format!("{value} is less than the minimum {limit}"),
            format!("use a value of at least {limit}"),
        ),
        ValidationErrorKind::Maximum { limit } => (
            format!("{value} is greater than the maximum {limit}"),
            format!("use a value of at most {limit}"),
        ),
        ValidationErrorKind::ExclusiveMinimum { limit } => (
            format!("{value} is not greater than {limit}"),
            format!("use a value greater than {limit}"),
        ),
        ValidationErrorKind::ExclusiveMaximum { limit } => (
            format!("{value} is not less than {limit}"),
            format!("use a value less than {limit}"),
        ),
        ValidationErrorKind::MinLength { limit } => (
            format!("{value} is shorter than {limit} character(s)"),
            format!("write at least {limit} character(s)"),
        ),
        ValidationErrorKind::MaxLength { limit } => (
            format!("{value} is longer than {limit} character(s)"),
            format!("shorten it to at most {limit} character(s)"),
        ),
        ValidationErrorKind::MinItems { limit } => (
            format!("has fewer than {limit} item(s)"),
            format!("list at least {limit} item(s)"),
        ),
        ValidationErrorKind::MaxItems { limit } => (
            format!("has more than {limit} item(s)"),
            format!("list at most {limit} item(s)"),
        ),
        ValidationErrorKind::MinProperties { limit } => (
            format!("has fewer than {limit} field(s)"),
            format!("set at least {limit} field(s)"),
        ),
        ValidationErrorKind::MaxProperties { limit } => (
            format!("has more than {limit} field(s)"),
            format!("set at most {limit} field(s)"),
        ),
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            (
                format!("missing required field `{name}`"),
                format!("add `{name}`; the CRD requires it"),
            )
        }
        ValidationErrorKind::Type { kind } => {
            let want = type_name(kind);
            let hint = if want.contains("string") {
                " (quote strings such as \"yes\" or \"1.10\", which YAML reads otherwise)"
            } else {
                ""
            };
            (
                format!("{value} is not of type {want}"),
                format!("give the field a value of type {want}{hint}"),
            )
        }
        ValidationErrorKind::Format { format } => (
            format!("{value} is not a valid {format}"),
            format!("write a valid {format}"),
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => (
            format!("unknown field(s) {}", unexpected.join(", ")),
            "remove the field or fix its spelling; the schema does not define it".to_owned(),
        ),
        ValidationErrorKind::AnyOf { .. }
        | ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => (
            format!("{value} matches none of the allowed forms"),
            "see the field's description in the CRD for the forms it accepts".to_owned(),
        ),
        _ => (
            e.to_string(),
            "see the CRD for what the field accepts".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles() {
        for (kind, compiled) in input_validators() {
            assert!(compiled.is_ok(), "{kind}: {:?}", compiled.as_ref().err());
        }
        for (key, compiled) in output_validators() {
            assert!(compiled.is_ok(), "{key:?}: {:?}", compiled.as_ref().err());
        }
        assert_eq!(input_validators().len(), api::AimKind::ALL.len());
    }

    #[test]
    fn embedded_input_schemas_match_their_kinds() {
        for (kind, text) in INPUT {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(v["properties"]["kind"]["const"], kind);
        }
        for (api_version, kind, text) in OUTPUT {
            let v: Value = serde_json::from_str(text).unwrap();
            let kinds = &v["properties"]["kind"];
            assert!(
                kinds["const"] == kind || kinds["enum"] == serde_json::json!([kind]),
                "{kind}"
            );
            let versions = &v["properties"]["apiVersion"];
            assert!(
                versions["const"] == api_version
                    || versions["enum"] == serde_json::json!([api_version]),
                "{api_version}"
            );
        }
    }

    /// `validate_input` drops null fields as the API server does for non-nullable ones; that
    /// is right only while no AIM field is nullable.
    #[test]
    fn no_aim_field_is_nullable() {
        fn walk(v: &Value) -> bool {
            match v {
                Value::Object(m) => {
                    m.get("type").is_some_and(Value::is_array)
                        || m.get("anyOf")
                            .is_some_and(|a| a.to_string().contains("\"null\""))
                        || m.values().any(walk)
                }
                Value::Array(items) => items.iter().any(walk),
                _ => false,
            }
        }
        for (kind, text) in INPUT {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(!walk(&v), "{kind} has a nullable field");
        }
    }

    #[test]
    fn pointers_become_segments() {
        assert_eq!(
            segments("/spec/foo/0/bar~1baz~0"),
            vec![
                Seg::from("spec"),
                Seg::from("foo"),
                Seg::Index(0),
                Seg::from("bar/baz~"),
            ]
        );
        assert!(segments("").is_empty());
        assert_eq!(
            crate::check::dotted(&segments("/spec/modelSources/0/modelId")),
            "spec.modelSources[0].modelId"
        );
    }

    #[test]
    fn nulls_in_objects_are_pruned_but_not_in_lists() {
        let mut v = serde_json::json!({"a": null, "b": {"c": null, "d": 1}, "e": [null]});
        api::prune_nulls(&mut v);
        assert_eq!(v, serde_json::json!({"b": {"d": 1}, "e": [null]}));
    }

    #[test]
    fn output_of_unknown_kind_passes_and_known_kind_is_checked() {
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "bogus": 1});
        assert!(validate_output(&cm).is_empty());
        let route = serde_json::json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"parentRefs": [{"name": "gw"}], "bogus": true},
        });
        let errors = validate_output(&route);
        assert_eq!(
            errors,
            vec!["HTTPRoute/ns/r /spec: unknown field(s) bogus".to_owned()]
        );
    }

    #[test]
    fn output_pvc_schema_rejects_a_bad_quantity_type() {
        let pvc = serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": true}}},
        });
        let errors = validate_output(&pvc);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("PersistentVolumeClaim/ns/p /spec/resources/requests/storage:"),
            "{errors:?}"
        );
    }
}
