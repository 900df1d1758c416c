//! Edge cases of the caching chain, one fixture tree each under tests/fixtures/.

use aimc::cli::render::{render_dir, Outcome, RenderArgs};
use aimc::emit::{EmitMode, Format};
use serde_json::Value;
use std::path::Path;

fn run(fixture: &str, emit: EmitMode) -> Outcome {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let args = RenderArgs {
        dir,
        emit: Some(emit),
        gitops: None,
        namespace: None,
        strict: None,
        output: None,
        format: Format::Yaml,
        skip_foreign: false,
        exclude: Vec::new(),
        api_versions: None,
        kube_version: None,
    };
    render_dir(&args).expect("fixture readable")
}

fn codes(o: &Outcome) -> Vec<&'static str> {
    o.diagnostics.iter().map(|d| d.code).collect()
}

fn objects(o: Outcome) -> Vec<Value> {
    let errors: Vec<String> = o
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    o.objects.expect("objects")
}

fn of_kind<'a>(objs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| o["kind"] == kind).collect()
}

fn fails_with(fixture: &str, code: &str) {
    let o = run(fixture, EmitMode::Concrete);
    assert!(o.objects.is_none(), "{fixture} must not render");
    assert!(
        o.diagnostics.iter().any(|d| d.is_error() && d.code == code),
        "{fixture}: {:?}",
        codes(&o)
    );
}

/// service.md §7.7: a Shared service mounts the first of its template's Shared caches; the
/// template-owned cache (§4.7) is one of them, with the template's propagated labels.
#[test]
fn shared_service_mounts_the_first_shared_cache() {
    let o = run("cache-choice", EmitMode::All);
    assert!(
        codes(&o).contains(&"CacheChoiceAmbiguous"),
        "{:?}",
        codes(&o)
    );
    let objs = objects(o);
    let owned = of_kind(&objs, "AIMTemplateCache")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "tpl")
        .expect("template-owned cache");
    assert_eq!(owned["spec"]["mode"], "Shared");
    assert_eq!(
        owned["metadata"]["labels"]["org.example/team"], "red",
        "propagated by the template's runtime config"
    );
    let isvc = of_kind(&objs, "InferenceService")[0];
    let volume = &isvc["spec"]["predictor"]["volumes"][1]["name"];
    assert_eq!(
        volume,
        &Value::from(aimc::resolve::cache::artifact_name(
            "hf://a/b",
            &[],
            "",
            None
        )),
        "tpl's artifact, not the service cache's"
    );
}

/// §5.1/§7.1: no model sources, no template cache, no InferenceService ever.
#[test]
fn template_without_model_sources_never_serves() {
    fails_with("no-model-sources", "NoModelSources");
}

/// §1.3: a missing non-default runtime config blocks the object's children.
#[test]
fn missing_runtime_configs_block_templates_and_artifacts() {
    fails_with("template-config-missing", "ConfigNotFound");
    fails_with("artifact-config-missing", "ConfigNotFound");
}

/// §4.3: nothing is planned for a template whose GPU the cluster lacks, not even its cache.
#[test]
fn unavailable_template_owns_no_cache() {
    let objs = objects(run("template-cache-gpu-unavailable", EmitMode::All));
    assert!(of_kind(&objs, "AIMTemplateCache").is_empty());
    assert!(of_kind(&objs, "PersistentVolumeClaim").is_empty());
}

/// §5.2 note: services sharing a cache name overwrite its spec; aimc says so.
#[test]
fn shared_cache_spec_conflict_warns() {
    let o = run("shared-cache-conflict", EmitMode::Concrete);
    assert!(
        codes(&o).contains(&"SharedCacheConflict"),
        "{:?}",
        codes(&o)
    );
}

/// §5.4: env is not compared on reuse, so credentials of the reusing cache are dropped.
#[test]
fn reusing_an_artifact_with_other_env_warns() {
    let o = run("shared-artifact-env", EmitMode::Concrete);
    assert!(codes(&o).contains(&"SharedArtifactEnv"), "{:?}", codes(&o));
}

/// §7.7: status.artifacts is a map: a source listed twice is one artifact, one mount.
#[test]
fn duplicate_sources_mount_once() {
    let o = run("duplicate-source", EmitMode::Concrete);
    assert!(
        codes(&o).contains(&"DuplicateModelSource"),
        "{:?}",
        codes(&o)
    );
    let objs = objects(o);
    let volumes = of_kind(&objs, "InferenceService")[0]["spec"]["predictor"]["volumes"]
        .as_array()
        .expect("volumes")
        .clone();
    let mut names: Vec<&str> = volumes.iter().filter_map(|v| v["name"].as_str()).collect();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "volume names are unique");
}

/// §2.6: a custom template's env is a plain merge over the model env (no JSON merge).
#[test]
fn custom_template_env_is_a_plain_merge() {
    let objs = objects(run("custom-template-env", EmitMode::All));
    let t = of_kind(&objs, "AIMServiceTemplate")[0];
    let env = t["spec"]["env"].as_array().expect("env");
    let args = env
        .iter()
        .find(|e| e["name"] == "AIM_ENGINE_ARGS")
        .expect("AIM_ENGINE_ARGS");
    assert_eq!(args["value"], r#"{"b":2}"#);
}

/// §2.3: with extraction off the registry is not read, so the lock's image labels are not.
#[test]
fn extraction_off_ignores_lock_image_metadata() {
    let objs = objects(run("extraction-off", EmitMode::All));
    assert!(of_kind(&objs, "AIMServiceTemplate").is_empty());
}

/// §1.4: a source's user labels propagate to its models when the runtime config matches.
#[test]
fn model_source_labels_propagate() {
    let objs = objects(run("source-label-propagation", EmitMode::All));
    let m = of_kind(&objs, "AIMClusterModel")[0];
    assert_eq!(m["metadata"]["labels"]["team"], "x");
    assert_eq!(m["metadata"]["labels"]["aim.eai.amd.com/a"], "b");
}

/// §5.4: a Dedicated cache reuses only artifacts owned by its UID and of its storage class.
#[test]
fn dedicated_cache_does_not_reuse_a_namesakes_artifact() {
    let objs = objects(run("dedicated-reuse", EmitMode::All));
    let created: Vec<&str> = of_kind(&objs, "AIMArtifact")
        .iter()
        .filter_map(|a| a["metadata"]["name"].as_str())
        .collect();
    assert_eq!(created.len(), 1);
    assert_ne!(created[0], "old");
    let pvcs: Vec<&str> = of_kind(&objs, "PersistentVolumeClaim")
        .iter()
        .filter_map(|p| p["metadata"]["labels"]["aim.eai.amd.com/cache.name"].as_str())
        .collect();
    assert!(
        pvcs.contains(&created[0]) && pvcs.contains(&"old"),
        "both artifacts get a PVC: {pvcs:?}"
    );
}
