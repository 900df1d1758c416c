//! Every env variable of the inference container knows which layer won and what it shadowed.

use aimc::load::{load_sources, LoadOptions, ProjectConfig};
use aimc::resolve::env::Layer;
use std::path::PathBuf;

const CLUSTER: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterRuntimeConfig
metadata:
  name: default
spec:
  env:
    - name: LOG_LEVEL
      value: WARNING
    - name: AIM_ENGINE_ARGS
      value: '{\"a\":1}'
";

const NAMESPACE: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMRuntimeConfig
metadata:
  name: default
  namespace: ns
spec:
  env:
    - name: LOG_LEVEL
      value: INFO
    - name: HF_TOKEN
      valueFrom:
        secretKeyRef: {name: hf, key: token}
";

const REST: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMModel
metadata:
  name: m
  namespace: ns
spec:
  image: ghcr.io/amd/m:1
  discovery: {createServiceTemplates: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMServiceTemplate
metadata:
  name: t
  namespace: ns
spec:
  modelName: m
  type: optimized
  modelSources: [{modelId: a/b, sourceUri: hf://a/b, size: 1Gi}]
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: s
  namespace: ns
spec:
  model: {name: m}
  env:
    - name: LOG_LEVEL
      value: DEBUG
    - name: AIM_ENGINE_ARGS
      value: '{\"b\":2}'
";

#[test]
fn winning_layer_and_shadowed_layers() {
    let sources = vec![
        (PathBuf::from("cluster.yaml"), CLUSTER.as_bytes().to_vec()),
        (PathBuf::from("ns.yaml"), NAMESPACE.as_bytes().to_vec()),
        (PathBuf::from("rest.yaml"), REST.as_bytes().to_vec()),
    ];
    let loaded = load_sources(sources, &LoadOptions::default());
    assert!(!loaded.diagnostics.has_errors());
    let plan = aimc::resolve::resolve(&loaded.index, &ProjectConfig::default(), &loaded.lock);
    let env = &plan.services[0].env;
    let get = |n: &str| {
        env.iter()
            .find(|e| e.var.name == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };

    let log = get("LOG_LEVEL");
    assert_eq!(log.var.value.as_deref(), Some("DEBUG"));
    assert_eq!(log.origin.layer, Layer::Service("ns".into(), "s".into()));
    let loc = log
        .origin
        .location
        .as_ref()
        .expect("written in the service")
        .location();
    assert_eq!((loc.file.to_str(), loc.line), (Some("rest.yaml"), 28));
    let shadowed: Vec<(&str, &Layer, u32)> = log
        .shadowed
        .iter()
        .map(|(v, o)| {
            (
                v.value_str(),
                &o.layer,
                o.location.as_ref().map_or(0, |l| l.location().line),
            )
        })
        .collect();
    assert_eq!(
        shadowed,
        [
            ("WARNING", &Layer::ClusterRuntimeConfig("default".into()), 7),
            (
                "INFO",
                &Layer::RuntimeConfig("ns".into(), "default".into()),
                8
            ),
        ]
    );

    let args = get("AIM_ENGINE_ARGS");
    assert_eq!(args.var.value.as_deref(), Some(r#"{"a":1,"b":2}"#));
    assert_eq!(args.shadowed.len(), 1);

    let token = get("HF_TOKEN");
    assert_eq!(
        token.origin.layer,
        Layer::RuntimeConfig("ns".into(), "default".into())
    );
    assert!(token.shadowed.is_empty());

    let cache = get("AIM_CACHE_PATH");
    assert_eq!(cache.origin.layer, Layer::SystemDefault);
    assert!(cache.origin.location.is_none());

    // The secret the winning entry needs is attributed to the namespace config's line.
    let needs = aimc::resolve::secrets::needs(&plan.services[0]);
    assert_eq!(needs.len(), 1);
    assert_eq!(
        (needs[0].name.as_str(), needs[0].namespace.as_str()),
        ("hf", "ns")
    );
    assert_eq!(
        needs[0].location.as_ref().map(|l| l.location().line),
        Some(10)
    );
}
