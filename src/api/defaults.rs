//! CRD OpenAPI defaulting (service.md §1.7, cache-model.md §0.1), applied to the raw object
//! before anything reads it, exactly as the API server would.

use super::AimKind;
use serde_json::{Map, Value};

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
const DOWNLOADER_IMAGE: &str = "ghcr.io/silogen/aim-artifact-downloader:0.2.0";

/// Visits every object reached by `path` ("[]" descends into each list item).
fn each(v: &mut Value, path: &[&str], f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match path.split_first() {
        None => {
            if let Value::Object(m) = v {
                f(m)
            }
        }
        Some((&"[]", rest)) => {
            if let Value::Array(items) = v {
                for item in items {
                    each(item, rest, f);
                }
            }
        }
        Some((key, rest)) => {
            if let Some(child) = v.as_object_mut().and_then(|m| m.get_mut(*key)) {
                each(child, rest, f);
            }
        }
    }
}

fn default(v: &mut Value, path: &[&str], key: &str, value: Value) {
    each(v, path, &mut |m| {
        if !m.contains_key(key) {
            m.insert(key.to_owned(), value.clone());
        }
    });
}

fn env_lists(v: &mut Value, path: &[&str]) {
    let mut p: Vec<&str> = path.to_vec();
    p.extend(["env", "[]", "valueFrom", "fileKeyRef"]);
    default(v, &p, "optional", Value::Bool(false));
}

fn gpu(v: &mut Value, hardware: &[&str]) {
    let mut p = hardware.to_vec();
    p.push("gpu");
    default(v, &p, "resourceName", Value::from("amd.com/gpu"));
}

fn routing_and_storage(spec: &mut Value) {
    default(
        spec,
        &["routing", "gatewayRef"],
        "group",
        Value::from(GATEWAY_GROUP),
    );
    default(
        spec,
        &["routing", "gatewayRef"],
        "kind",
        Value::from("Gateway"),
    );
    default(spec, &["storage"], "pvcHeadroomPercent", Value::from(10));
}

fn pull_secrets(spec: &mut Value) {
    default(spec, &["imagePullSecrets", "[]"], "name", Value::from(""));
}

fn model_sources(spec: &mut Value, path: &[&str]) {
    let mut p = path.to_vec();
    p.extend(["modelSources", "[]"]);
    env_lists(spec, &p);
}

/// The API server drops `null` fields of non-nullable schemas before defaulting, so
/// `group: null` still gets the default. List items stay: a null item is an error the schema
/// should report.
pub(crate) fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Whether [`prune_nulls`] would change `v`: most documents have no null field, and
/// checking is cheaper than copying them to prune.
pub(crate) fn has_prunable_null(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().any(|v| v.is_null() || has_prunable_null(v)),
        Value::Array(items) => items.iter().any(has_prunable_null),
        _ => false,
    }
}

/// Applies the CRD defaults of `kind` to `spec` in place.
pub fn apply_defaults(kind: AimKind, spec: &mut Value) {
    prune_nulls(spec);
    match kind {
        AimKind::Service => {
            default(spec, &[], "replicas", Value::from(1));
            default(spec, &["caching"], "mode", Value::from("Shared"));
            gpu(spec, &["model", "custom", "hardware"]);
            gpu(spec, &["overrides", "hardware"]);
            routing_and_storage(spec);
            default(
                spec,
                &["autoScaling", "metrics", "[]", "podmetric", "metric"],
                "backend",
                Value::from("opentelemetry"),
            );
            pull_secrets(spec);
            env_lists(spec, &[]);
            model_sources(spec, &["model", "custom"]);
        }
        AimKind::RuntimeConfig | AimKind::ClusterRuntimeConfig => {
            routing_and_storage(spec);
            default(spec, &["labelPropagation"], "enabled", Value::Bool(false));
            env_lists(spec, &[]);
        }
        AimKind::ServiceTemplate | AimKind::ClusterServiceTemplate => {
            gpu(spec, &["hardware"]);
            if kind == AimKind::ServiceTemplate {
                default(spec, &["caching"], "enabled", Value::Bool(false));
                env_lists(spec, &["caching"]);
            }
            pull_secrets(spec);
            env_lists(spec, &[]);
            model_sources(spec, &[]);
        }
        AimKind::Model | AimKind::ClusterModel => {
            default(spec, &["discovery"], "extractMetadata", Value::Bool(true));
            default(
                spec,
                &["discovery"],
                "createServiceTemplates",
                Value::Bool(true),
            );
            default(
                spec,
                &["customTemplates", "[]"],
                "type",
                Value::from("unoptimized"),
            );
            gpu(spec, &["custom", "hardware"]);
            gpu(spec, &["customTemplates", "[]", "hardware"]);
            pull_secrets(spec);
            env_lists(spec, &[]);
            env_lists(spec, &["customTemplates", "[]"]);
            model_sources(spec, &[]);
        }
        AimKind::TemplateCache => {
            default(spec, &[], "mode", Value::from("Shared"));
            pull_secrets(spec);
            env_lists(spec, &[]);
            model_sources(spec, &[]);
        }
        AimKind::Artifact => {
            default(
                spec,
                &[],
                "modelDownloadImage",
                Value::from(DOWNLOADER_IMAGE),
            );
            pull_secrets(spec);
            env_lists(spec, &[]);
        }
        AimKind::ClusterModelSource => {
            default(spec, &[], "registry", Value::from("docker.io"));
            default(spec, &[], "syncInterval", Value::from("1h"));
            default(spec, &[], "maxModels", Value::from(100));
            pull_secrets(spec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_defaults() {
        let mut s = json!({"model": {"name": "m"}, "caching": {}, "storage": {"defaultStorageClassName": "x"},
            "routing": {"gatewayRef": {"name": "gw"}},
            "overrides": {"hardware": {"gpu": {"requests": 1}}},
            "autoScaling": {"metrics": [{"type": "PodMetric", "podmetric": {"metric": {}, "target": {"type": "Value"}}}]}});
        apply_defaults(AimKind::Service, &mut s);
        assert_eq!(s["replicas"], 1);
        assert_eq!(s["caching"]["mode"], "Shared");
        assert_eq!(s["storage"]["pvcHeadroomPercent"], 10);
        assert_eq!(s["routing"]["gatewayRef"]["group"], GATEWAY_GROUP);
        assert_eq!(s["routing"]["gatewayRef"]["kind"], "Gateway");
        assert_eq!(
            s["overrides"]["hardware"]["gpu"]["resourceName"],
            "amd.com/gpu"
        );
        assert_eq!(
            s["autoScaling"]["metrics"][0]["podmetric"]["metric"]["backend"],
            "opentelemetry"
        );
    }

    #[test]
    fn nulls_are_pruned_then_defaulted() {
        let mut s = json!({"model": {"name": "m"}, "replicas": null, "routing": {"gatewayRef": {"name": "gw", "group": null, "kind": null}}});
        apply_defaults(AimKind::Service, &mut s);
        assert_eq!(s["replicas"], 1);
        assert_eq!(
            s["routing"]["gatewayRef"],
            json!({"name": "gw", "group": GATEWAY_GROUP, "kind": "Gateway"})
        );
    }

    #[test]
    fn absent_blocks_stay_absent() {
        let mut s = json!({"model": {"name": "m"}, "replicas": 3});
        apply_defaults(AimKind::Service, &mut s);
        assert_eq!(s, json!({"model": {"name": "m"}, "replicas": 3}));
        let mut rc = json!({"env": []});
        apply_defaults(AimKind::RuntimeConfig, &mut rc);
        assert_eq!(rc, json!({"env": []}));
    }

    #[test]
    fn model_and_other_defaults() {
        let mut m = json!({"image": "i", "discovery": {}, "customTemplates": [{"hardware": {"gpu": {"requests": 1}}}]});
        apply_defaults(AimKind::Model, &mut m);
        assert_eq!(
            m["discovery"],
            json!({"extractMetadata": true, "createServiceTemplates": true})
        );
        assert_eq!(m["customTemplates"][0]["type"], "unoptimized");
        assert_eq!(
            m["customTemplates"][0]["hardware"]["gpu"]["resourceName"],
            "amd.com/gpu"
        );
        let mut tc = json!({"templateName": "t"});
        apply_defaults(AimKind::TemplateCache, &mut tc);
        assert_eq!(tc["mode"], "Shared");
        let mut a = json!({"sourceUri": "hf://a/b"});
        apply_defaults(AimKind::Artifact, &mut a);
        assert_eq!(a["modelDownloadImage"], DOWNLOADER_IMAGE);
        let mut src = json!({"filters": []});
        apply_defaults(AimKind::ClusterModelSource, &mut src);
        assert_eq!(
            src,
            json!({"filters": [], "registry": "docker.io", "syncInterval": "1h", "maxModels": 100})
        );
        let mut t = json!({"modelName": "m", "caching": {}, "hardware": {"gpu": {}}});
        apply_defaults(AimKind::ServiceTemplate, &mut t);
        assert_eq!(t["caching"]["enabled"], false);
        assert_eq!(t["hardware"]["gpu"]["resourceName"], "amd.com/gpu");
        let mut rc = json!({"labelPropagation": {}});
        apply_defaults(AimKind::ClusterRuntimeConfig, &mut rc);
        assert_eq!(rc["labelPropagation"]["enabled"], false);
    }
}
