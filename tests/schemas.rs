//! Schema validation of what aimc reads and writes: every rendered object of every example
//! against its output schema, every AIM input against its CRD's schema, and hand-written
//! invalid inputs located at the offending line.

use aimc::check::schema::{validate_input, validate_output, SCHEMA_VIOLATION};
use aimc::cli::render::{render_dir, GitopsArg, RenderArgs, RenderFlags};
use aimc::diag::Diagnostic;
use aimc::emit::{EmitMode, Format};
use aimc::load::{self, LoadOptions, ObjKey, Object, SourceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "ci"))
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 9,
        "expected the nine examples, found {dirs:?}"
    );
    dirs
}

fn args(dir: &Path, emit: EmitMode) -> RenderArgs {
    args_gitops(dir, emit, None)
}

fn args_gitops(dir: &Path, emit: EmitMode, gitops: Option<GitopsArg>) -> RenderArgs {
    RenderArgs {
        dir: dir.to_path_buf(),
        flags: RenderFlags {
            emit: Some(emit),
            gitops,
            ..RenderFlags::default()
        },
        output: None,
        format: Format::Yaml,
    }
}

#[test]
fn every_rendered_object_matches_its_output_schema() {
    let mut failures = Vec::new();
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    for ex in examples() {
        // `--gitops none` keeps what Argo CD mode drops (the Jobs' ttlSecondsAfterFinished).
        for (mode, gitops, mode_name) in [
            (EmitMode::All, None, "all"),
            (EmitMode::Concrete, None, "concrete"),
            (
                EmitMode::Concrete,
                Some(GitopsArg::None),
                "concrete --gitops none",
            ),
        ] {
            let outcome = render_dir(&args_gitops(&ex, mode, gitops)).expect("example readable");
            let objects = outcome.objects.unwrap_or_else(|| {
                panic!(
                    "{} --emit {mode_name} does not render: {:?}",
                    ex.display(),
                    outcome.diagnostics
                )
            });
            for obj in &objects {
                let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
                *checked.entry(kind).or_default() += 1;
                for e in validate_output(obj) {
                    failures.push(format!("{} --emit {mode_name}: {e}", ex.display()));
                }
            }
        }
    }
    for kind in [
        "InferenceService",
        "HTTPRoute",
        "PersistentVolumeClaim",
        "Job",
    ] {
        assert!(
            checked.get(kind).is_some_and(|n| *n > 0),
            "no {kind} rendered by any example: {checked:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} rendered object(s) violate their schema:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_aim_input_of_the_examples_matches_its_schema() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for ex in examples() {
        let loaded = load::load_dir(&ex, &LoadOptions::default()).expect("example readable");
        for obj in loaded.index.objects() {
            if obj.aim.is_none() {
                continue;
            }
            checked += 1;
            failures.extend(validate_input(obj).iter().map(Diagnostic::to_string));
        }
    }
    assert!(checked >= 20, "only {checked} AIM objects in the examples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The output schemas are strict where the API server is: an unknown field deep inside each
/// rendered kind is reported, so the test above cannot pass by accepting anything.
#[test]
fn output_schemas_reject_an_unknown_field_in_each_rendered_kind() {
    let objects: Vec<serde_json::Value> = examples()
        .iter()
        .flat_map(|ex| {
            render_dir(&args(ex, EmitMode::All))
                .expect("example readable")
                .objects
                .expect("renders")
        })
        .collect();
    let cases = [
        ("InferenceService", "/spec/predictor"),
        ("HTTPRoute", "/spec/rules/0"),
        ("PersistentVolumeClaim", "/spec"),
        ("Job", "/spec/template/spec/containers/0"),
        ("AIMTemplateCache", "/spec"),
        ("AIMArtifact", "/spec"),
    ];
    for (kind, pointer) in cases {
        let mut obj = objects
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no example renders a {kind}"))
            .clone();
        assert_eq!(validate_output(&obj), Vec::<String>::new(), "{kind}");
        obj.pointer_mut(pointer)
            .and_then(|v| v.as_object_mut())
            .unwrap_or_else(|| panic!("{kind} has no object at {pointer}"))
            .insert("bogusField".to_owned(), serde_json::json!(1));
        let errors = validate_output(&obj);
        assert_eq!(errors.len(), 1, "{kind}: {errors:?}");
        assert!(
            errors[0].contains(&format!(" {pointer}: unknown field(s) bogusField")),
            "{kind}: {errors:?}"
        );
    }
}

/// Loads one file through the real loader (typed parse and CRD defaults included).
fn load_one(text: &str) -> Vec<Object> {
    let loaded = load::load_sources(
        vec![(PathBuf::from("bad.yaml"), text.as_bytes().to_vec())],
        &LoadOptions::default(),
    );
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "the loader rejects the fixture: {errors:?}"
    );
    loaded.index.into_objects()
}

/// The one schema violation of `text`, with its line.
fn violation(text: &str) -> (u32, Diagnostic) {
    let objects = load_one(text);
    let diags: Vec<Diagnostic> = objects.iter().flat_map(validate_input).collect();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = diags.into_iter().next().unwrap();
    assert_eq!(d.code, SCHEMA_VIOLATION);
    assert!(d.is_error());
    let loc = d.location.clone().expect("located");
    assert_eq!(loc.file, PathBuf::from("bad.yaml"));
    (loc.line, d)
}

const SERVICE_HEAD: &str = "\
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: chat
  namespace: ml
spec:
  model:
    name: llama
";

#[test]
fn enum_violation_points_at_the_value() {
    let text = format!("{SERVICE_HEAD}  caching:\n    mode: Sometimes\n");
    let (line, d) = violation(&text);
    assert_eq!(line, 10);
    assert_eq!(
        d.message,
        "AIMService spec.caching.mode: \"Sometimes\" is not one of the allowed values Dedicated, Shared, Auto, Always, Never"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("use one of: Dedicated, Shared, Auto, Always, Never")
    );
}

#[test]
fn minimum_violation_points_at_the_value() {
    let text = format!("{SERVICE_HEAD}  minReplicas: 0\n  maxReplicas: 2\n");
    let (line, d) = violation(&text);
    assert_eq!(line, 9);
    assert_eq!(
        d.message,
        "AIMService spec.minReplicas: 0 is less than the minimum 1"
    );
    assert_eq!(d.help.as_deref(), Some("use a value of at least 1"));
}

const MODEL: &str = "\
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMModel
metadata:
  name: phi
  namespace: ml
spec:
  image: amdenterpriseai/aim-base:0.9
  custom:
    hardware:
      gpu: {requests: 1}
  modelSources:
";

#[test]
fn pattern_violation_points_at_the_value() {
    let text = format!("{MODEL}    - modelId: microsoft/phi-4\n      sourceUri: ftp://x\n");
    let (line, d) = violation(&text);
    assert_eq!(line, 13);
    assert_eq!(
        d.message,
        "AIMModel spec.modelSources[0].sourceUri: \"ftp://x\" does not match the pattern `^(hf|s3)://[^ \\t\\r\\n]+$`"
    );
    assert!(d
        .help
        .as_deref()
        .is_some_and(|h| h.starts_with("write a value that matches")));
}

/// An object as the loader builds it, for a document its typed parse rejects (a missing
/// `modelId` is a `MissingField` there): the schema check must still locate the problem.
fn untyped_object(text: &str) -> Object {
    let docs = load::yaml::parse_values(text).expect("valid YAML");
    let (line, col, mut value) = docs.into_iter().next().expect("one document");
    let kind = aimc::api::AimKind::from_name(value["kind"].as_str().unwrap()).unwrap();
    aimc::api::apply_defaults(kind, &mut value["spec"]);
    let text_of = |p: &str| value.pointer(p).and_then(|v| v.as_str()).map(str::to_owned);
    Object {
        source: SourceFile::new(PathBuf::from("bad.yaml"), text.to_owned()),
        doc: 0,
        line,
        col,
        key: ObjKey {
            api_version: text_of("/apiVersion").unwrap(),
            kind: text_of("/kind").unwrap(),
            namespace: text_of("/metadata/namespace"),
            name: text_of("/metadata/name").unwrap(),
        },
        value,
        aim: None,
        derived: false,
    }
}

#[test]
fn missing_required_field_points_at_the_list_item() {
    let text = format!("{MODEL}    - sourceUri: hf://microsoft/phi-4\n      size: 30Gi\n");
    let diags = validate_input(&untyped_object(&text));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d.code, SCHEMA_VIOLATION);
    assert_eq!(d.location.as_ref().map(|l| l.line), Some(12));
    assert_eq!(
        d.message,
        "AIMModel spec.modelSources[0]: missing required field `modelId`"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("add `modelId`; the CRD requires it")
    );
}

#[test]
fn unknown_field_points_at_the_field() {
    let text = format!(
        "{MODEL}    - modelId: microsoft/phi-4\n      sourceUri: hf://x\n      sizeGi: 30\n"
    );
    let diags = validate_input(&untyped_object(&text));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].location.as_ref().map(|l| l.line), Some(14));
    assert_eq!(
        diags[0].message,
        "AIMModel spec.modelSources[0].sizeGi: unknown field `sizeGi`"
    );
}

#[test]
fn a_valid_object_and_non_aim_objects_pass() {
    let text = format!(
        "{SERVICE_HEAD}  caching:\n    mode: Dedicated\n  minReplicas: 1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: ml}}\nbogus: 1\n"
    );
    let objects = load_one(&text);
    assert_eq!(objects.len(), 2);
    for obj in &objects {
        assert_eq!(validate_input(obj), Vec::<Diagnostic>::new(), "{}", obj.key);
    }
}

/// Kubernetes drops a null field of a non-nullable schema before it validates. (The loader
/// drops nulls inside `spec` when it applies defaults and rejects them in metadata; a status
/// exported from a cluster keeps them.)
#[test]
fn null_fields_are_absent_not_type_errors() {
    let text = format!("{SERVICE_HEAD}status:\n  resolvedModel:\n");
    let objects = load_one(&text);
    assert!(objects[0].value["status"]["resolvedModel"].is_null());
    assert_eq!(validate_input(&objects[0]), Vec::<Diagnostic>::new());
}

/// Formats the CRDs declare and jsonschema checks the Kubernetes way are asserted, not just
/// annotations (draft 2020-12's default).
#[test]
fn date_time_format_is_checked() {
    let condition = |time: &str| {
        format!(
            "{SERVICE_HEAD}status:\n  conditions:\n    - type: Ready\n      status: \"True\"\n      reason: Ok\n      message: ok\n      lastTransitionTime: \"{time}\"\n"
        )
    };
    let objects = load_one(&condition("2026-02-01T10:00:00Z"));
    assert_eq!(validate_input(&objects[0]), Vec::<Diagnostic>::new());
    let (line, d) = violation(&condition("yesterday"));
    assert_eq!(line, 15);
    assert_eq!(
        d.message,
        "AIMService status.conditions[0].lastTransitionTime: \"yesterday\" is not a valid date-time"
    );
}
