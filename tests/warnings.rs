//! Inputs that render but hit an operator defect or an offline unknown: each gets its
//! diagnostic, and the output is what the operator would produce.

mod common;

use aimc::cli::render::{Outcome, RenderFlags};

fn run(files: &[(&str, &str)]) -> Outcome {
    common::render_files(files, &RenderFlags::default())
}

fn codes(o: &Outcome) -> Vec<(&'static str, String)> {
    o.diagnostics
        .iter()
        .map(|d| {
            (
                d.code,
                d.location
                    .as_ref()
                    .map(|l| format!("{}:{}", l.file.display(), l.line))
                    .unwrap_or_default(),
            )
        })
        .collect()
}

const CLUSTER_TEMPLATE: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata:
  name: m
spec:
  image: ghcr.io/amd/m:1
  discovery: {createServiceTemplates: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata:
  name: ct
spec:
  modelName: m
  type: optimized
  metric: latency
  modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]
";

#[test]
fn overrides_on_an_explicit_cluster_template_are_ignored() {
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: m}
  template: {name: ct}
  overrides: {metric: throughput}
";
    let o = run(&[("m.yaml", CLUSTER_TEMPLATE), ("s.yaml", svc)]);
    assert!(
        codes(&o).contains(&("OverridesIgnored", "s.yaml:7".into())),
        "{:?}",
        codes(&o)
    );
    let objs = o.objects.expect("renders");
    let isvc = objs
        .iter()
        .find(|v| v["kind"] == "InferenceService")
        .expect("isvc");
    assert_eq!(
        isvc["metadata"]["labels"]["aim.eai.amd.com/metric"], "latency",
        "the base template is used unchanged"
    );
}

#[test]
fn path_template_reading_cluster_only_fields_warns() {
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: m}
  routing:
    enabled: true
    gatewayRef: {name: gw}
    pathTemplate: /{.metadata.namespace}/{.metadata.uid}
";
    let o = run(&[("m.yaml", CLUSTER_TEMPLATE), ("s.yaml", svc)]);
    assert!(
        codes(&o).iter().any(|(c, _)| *c == "PathUsesUnknownField"),
        "{:?}",
        codes(&o)
    );
}

#[test]
fn a_custom_model_of_one_service_is_found_by_another_services_image() {
    let custom = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: a, namespace: ns}
spec:
  model:
    custom:
      baseImage: ghcr.io/silogen/aim-base:0.7.0
      modelSources: [{modelId: my-org/my-model, sourceUri: s3://bucket/model, size: 2Gi}]
      hardware: {gpu: {requests: 1, model: MI300X}}
  template: {allowUnoptimized: true}
";
    let image = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: b, namespace: ns}
spec:
  model: {image: ghcr.io/silogen/aim-base:0.7.0}
  template: {allowUnoptimized: true}
";
    let o = run(&[("a.yaml", custom), ("b.yaml", image)]);
    let errors: Vec<String> = o
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(codes(&o)
        .iter()
        .any(|(c, f)| *c == "ModelCreated" && f.starts_with("a.yaml")));
    let objs = o.objects.expect("renders");
    let models: Vec<&str> = objs
        .iter()
        .filter(|v| v["kind"] == "InferenceService")
        .filter_map(|v| v["metadata"]["labels"]["aim.eai.amd.com/model"].as_str())
        .collect();
    assert_eq!(
        models,
        ["my-org-my-model-770ab756", "my-org-my-model-770ab756"]
    );
}

#[test]
fn namespace_false_cannot_disable_cluster_label_propagation_but_only_warns_when_written() {
    let cluster = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterRuntimeConfig
metadata: {name: default}
spec:
  labelPropagation: {enabled: true, match: [\"team\"]}
";
    let quiet = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMRuntimeConfig
metadata: {name: default, namespace: ns}
spec:
  labelPropagation: {match: [\"org/*\"]}
";
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns, labels: {org/x: v}}
spec:
  model: {name: m}
";
    let o = run(&[
        ("c.yaml", cluster),
        ("n.yaml", quiet),
        ("m.yaml", CLUSTER_TEMPLATE),
        ("s.yaml", svc),
    ]);
    assert!(
        !codes(&o).iter().any(|(c, _)| *c == "MergeDefect"),
        "{:?}",
        codes(&o)
    );
    let objs = o.objects.expect("renders");
    let isvc = objs
        .iter()
        .find(|v| v["kind"] == "InferenceService")
        .expect("isvc");
    assert_eq!(
        isvc["metadata"]["labels"]["org/x"], "v",
        "namespace match list with the cluster's enabled: true"
    );

    let loud = quiet.replace("{match:", "{enabled: false, match:");
    let o = run(&[
        ("c.yaml", cluster),
        ("n.yaml", &loud),
        ("m.yaml", CLUSTER_TEMPLATE),
        ("s.yaml", svc),
    ]);
    assert!(
        codes(&o).contains(&("MergeDefect", "n.yaml:5".into())),
        "{:?}",
        codes(&o)
    );
}

#[test]
fn cluster_model_pull_secrets_live_in_the_operator_namespace() {
    let model = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata: {name: m}
spec:
  image: registry.example.com/m:1
  imagePullSecrets: [{name: regcred}]
";
    let in_app_ns = "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: apps}\n";
    let o = run(&[("m.yaml", model), ("s.yaml", in_app_ns)]);
    let msgs: Vec<String> = o
        .diagnostics
        .iter()
        .filter(|d| d.code == "SecretNotFound")
        .map(|d| d.to_string())
        .collect();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].starts_with("m.yaml:6:29") && msgs[0].contains("\"aim-system\""),
        "{}",
        msgs[0]
    );

    let cfg = "operatorNamespace: platform\n";
    let in_operator_ns =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: platform}\n";
    let o = run(&[
        ("m.yaml", model),
        ("s.yaml", in_operator_ns),
        ("aimc.yaml", cfg),
    ]);
    assert!(
        !o.diagnostics.iter().any(|d| d.code == "SecretNotFound"),
        "{:?}",
        codes(&o)
    );
}
