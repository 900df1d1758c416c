//! Worked examples of service.md that span the whole pipeline (§3.4, §3.5, §10.1).
//! Naming (§6.8), path templates (§8.3) and merges (§2.4, §3.3) are unit-tested in their modules.

mod common;

use aimc::emit::EmitMode;
use common::render_ok as render;
use serde_json::Value;

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in output"))
}

fn yaml(s: &str) -> Value {
    serde_saphyr::from_str(s).expect("valid expected YAML")
}

fn env_pairs(isvc: &Value) -> Vec<String> {
    isvc["spec"]["predictor"]["containers"][0]["env"]
        .as_array()
        .expect("env list")
        .iter()
        .map(|e| {
            format!(
                "{}={}",
                e["name"].as_str().unwrap_or(""),
                e["value"].as_str().unwrap_or("<valueFrom>")
            )
        })
        .collect()
}

const NODE: &str = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    amd.com/gpu.device-id: \"74a1\"\n";

fn model_and_template(template_extra: &str) -> String {
    format!(
        "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMModel
metadata:
  name: m
  namespace: ns
spec:
  image: ghcr.io/amd/m:1
  discovery: {{createServiceTemplates: false}}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMServiceTemplate
metadata:
  name: t
  namespace: ns
spec:
  modelName: m
  type: optimized
{template_extra}{sources}",
        sources = if template_extra.contains("modelSources") {
            {
                ""
            }
        } else {
            {
                "  modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]\n"
            }
        }
    )
}

/// §3.5: the full worked env example.
#[test]
fn env_worked_example() {
    let rc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMRuntimeConfig
metadata:
  name: default
  namespace: ns
spec:
  env:
    - {name: HF_TOKEN, value: from-rc}
    - {name: AIM_ENGINE_ARGS, value: '{\"max-model-len\":32768}'}
    - {name: VLLM_ENABLE_METRICS, value: 'false'}
";
    let tmpl = model_and_template(
        "  profileId: p-123
  metric: latency
  precision: fp8
  env:
    - {name: AIM_ENGINE_ARGS, value: '{\"tensor-parallel-size\":1}'}
    - {name: EXTRA, value: '1'}
  modelSources:
    - {modelId: Qwen/Qwen3-32B, sourceUri: hf://Qwen/Qwen3-32B, size: 60Gi}
",
    );
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: s
  namespace: ns
spec:
  model: {name: m}
  template: {name: t}
  env:
    - {name: AIM_ENGINE_ARGS, value: '{\"max-model-len\":8192}'}
    - {name: EXTRA, value: '2'}
";
    let objs = render(
        &[("rc.yaml", rc), ("t.yaml", &tmpl), ("s.yaml", svc)],
        EmitMode::Concrete,
    );
    assert_eq!(
        env_pairs(find(&objs, "InferenceService")),
        [
            "AIM_CACHE_PATH=/workspace/cache",
            r#"AIM_ENGINE_ARGS={"max-model-len":8192,"tensor-parallel-size":1}"#,
            "AIM_METRIC=latency",
            "AIM_MODEL_ID=Qwen/Qwen3-32B",
            "AIM_PRECISION=fp8",
            "AIM_PROFILE_ID=p-123",
            "EXTRA=2",
            "HF_TOKEN=from-rc",
            "VLLM_ENABLE_METRICS=false",
        ]
    );
}

/// §3.4: appended variables are not merged, so duplicates survive in their order.
#[test]
fn appended_variables_duplicate() {
    let rc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterRuntimeConfig
metadata:
  name: default
spec:
  env:
    - {name: AIM_METRIC, value: throughput}
";
    let tmpl = model_and_template(
        "  metric: latency
  env:
    - {name: AIM_MODEL_ID, value: tmpl/x}
  modelSources:
    - {modelId: org/m, sourceUri: hf://org/m, size: 1Gi}
",
    );
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: s
  namespace: ns
spec:
  model: {name: m}
  template: {name: t}
  env:
    - {name: AIM_METRIC, value: svc}
    - {name: AIM_MODEL_ID, value: svc/y}
";
    let objs = render(
        &[("rc.yaml", rc), ("t.yaml", &tmpl), ("s.yaml", svc)],
        EmitMode::Concrete,
    );
    let env = env_pairs(find(&objs, "InferenceService"));
    let dupes: Vec<&String> = env
        .iter()
        .filter(|e| e.starts_with("AIM_METRIC=") || e.starts_with("AIM_MODEL_ID="))
        .collect();
    assert_eq!(
        dupes,
        [
            "AIM_METRIC=svc",
            "AIM_METRIC=latency",
            "AIM_MODEL_ID=svc/y",
            "AIM_MODEL_ID=org/m"
        ]
    );
}

/// §3.5 "other test facts": nothing configured gives just the two system defaults, and
/// template env comes out sorted.
#[test]
fn env_defaults_and_sorting() {
    let tmpl = model_and_template(
        "  env:
    - {name: ZEBRA, value: z}
    - {name: APPLE, value: a}
    - {name: MANGO, value: m}
",
    );
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: ns\nspec:\n  model: {name: m}\n";
    let objs = render(&[("t.yaml", &tmpl), ("s.yaml", svc)], EmitMode::Concrete);
    assert_eq!(
        env_pairs(find(&objs, "InferenceService")),
        [
            "AIM_CACHE_PATH=/workspace/cache",
            "AIM_MODEL_ID=org/m",
            "APPLE=a",
            "MANGO=m",
            "VLLM_ENABLE_METRICS=true",
            "ZEBRA=z"
        ]
    );
}

const E2E_RC: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMRuntimeConfig
metadata:
  name: default
  namespace: ml-team
spec:
  routing:
    enabled: true
    gatewayRef: {name: inference-gateway, namespace: kgateway-system}
    pathTemplate: \"/{.metadata.namespace}/{.metadata.name}\"
    requestTimeout: 120s
    annotations: {example.com/rate-limit: \"100\"}
  labelPropagation:
    enabled: true
    match: [\"org.example/*\"]
";

const E2E_TEMPLATE: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMServiceTemplate
metadata:
  name: amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d
  namespace: ml-team
spec:
  modelName: aim-qwen-qwen3-32b-0-8-5-cdc1fb22
  metric: latency
  precision: fp8
  type: optimized
  hardware:
    gpu: {requests: 1, model: MI300X}
";

/// The facts of §10.1 a cluster knows: the template's discovery result and the artifact UID
/// of cache-model.md §8.
const E2E_LOCK: &str = "discovery:
  - template: amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d
    namespace: ml-team
    modelSources: [{modelId: Qwen/Qwen3-32B, sourceUri: hf://Qwen/Qwen3-32B, size: 61Gi}]
    profile:
      metadata: {engine: vllm, gpu: MI300X, gpuCount: 1, metric: latency, precision: fp8, type: optimized}
uids:
  AIMArtifact/ml-team/hf---qwen-qwen3-32b-c00b812b59: 3c7f4a52-9d2e-4a51-8b57-0f6c2d8e9a10
";

const E2E_SERVICE: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: qwen-chat
  namespace: ml-team
  labels: {org.example/cost-center: eng-ml}
spec:
  model:
    image: amdenterpriseai/aim-qwen-qwen3-32b:0.8.5
  # Offline, the templates an image's labels create are unknown until the image metadata is
  # supplied, so the example names the one the operator selects.
  template:
    name: amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d
";

/// §10.1 end to end, cache volume included. The template the image labels would create is
/// written out
/// (its name is the template controller's, checked here too); the cache volume arrives with
/// model caching, and owner references need the real UID (offline.md).
#[test]
fn end_to_end_worked_example() {
    assert_eq!(
        aimc::naming::deployment_template_name(
            "aim-qwen-qwen3-32b-0-8-5-cdc1fb22",
            "amdenterpriseai/aim-qwen-qwen3-32b:0.8.5",
            "MI300X",
            1,
            "latency",
            "fp8"
        )
        .expect("name"),
        "amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d"
    );
    let files = [
        ("node.yaml", NODE),
        ("rc.yaml", E2E_RC),
        ("t.yaml", E2E_TEMPLATE),
        ("s.yaml", E2E_SERVICE),
        ("aim.lock.yaml", E2E_LOCK),
    ];
    let objs = render(&files, EmitMode::All);
    let isvc = find(&objs, "InferenceService");
    let expected_isvc = yaml(
        r#"
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: qwen-chat-a04542d9
  namespace: ml-team
  labels:
    app.kubernetes.io/component: inference
    app.kubernetes.io/managed-by: aim-engine
    aim.eai.amd.com/metric: latency
    aim.eai.amd.com/model: aim-qwen-qwen3-32b-0-8-5-cdc1fb22
    aim.eai.amd.com/precision: fp8
    aim.eai.amd.com/service: qwen-chat
    aim.eai.amd.com/service.name: qwen-chat
    aim.eai.amd.com/template: amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d
    org.example/cost-center: eng-ml
  annotations:
    serving.kserve.io/autoscalerClass: none
spec:
  predictor:
    minReplicas: 1
    maxReplicas: 1
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions:
            - {key: amd.com/gpu.device-id, operator: In, values: ["74a1", "74a9", "74b5", "74bd"]}
    containers:
    - name: kserve-container
      image: amdenterpriseai/aim-qwen-qwen3-32b:0.8.5
      env:
      - {name: AIM_CACHE_PATH, value: /workspace/cache}
      - {name: AIM_METRIC, value: latency}
      - {name: AIM_PRECISION, value: fp8}
      - {name: VLLM_ENABLE_METRICS, value: "true"}
      ports:
      - {containerPort: 8000, name: http, protocol: TCP}
      resources:
        requests: {amd.com/gpu: "1", cpu: "4", memory: 32Gi}
        limits: {amd.com/gpu: "1", memory: 48Gi}
      volumeMounts:
      - {name: dshm, mountPath: /dev/shm}
      - {name: hf---qwen-qwen3-32b-c00b812b59, mountPath: /workspace/cache/Qwen/Qwen3-32B}
    volumes:
    - {name: dshm, emptyDir: {medium: Memory, sizeLimit: 8Gi}}
    - name: hf---qwen-qwen3-32b-c00b812b59
      persistentVolumeClaim: {claimName: hf---qwen-qwen3-32b-c00b812b59-cache-8d051949}
"#,
    );
    assert_eq!(isvc, &expected_isvc);

    let expected_route = yaml(
        r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: qwen-chat-a04542d9
  namespace: ml-team
  labels:
    app.kubernetes.io/component: routing
    app.kubernetes.io/managed-by: aim-engine
    aim.eai.amd.com/service: qwen-chat
    aim.eai.amd.com/service.name: qwen-chat
    org.example/cost-center: eng-ml
  annotations: {example.com/rate-limit: "100"}
spec:
  parentRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: inference-gateway, namespace: kgateway-system}
  rules:
  - matches: [{path: {type: PathPrefix, value: /ml-team/qwen-chat}}]
    filters:
    - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}
    backendRefs:
    - {kind: Service, name: qwen-chat-a04542d9-predictor, namespace: ml-team, port: 80}
    timeouts: {request: 2m0s}
"#,
    );
    assert_eq!(find(&objs, "HTTPRoute"), &expected_route);

    assert_eq!(
        find(&objs, "AIMTemplateCache")["metadata"]["name"],
        "amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-a04542d9"
    );
    assert_eq!(
        find(&objs, "AIMArtifact")["metadata"]["name"],
        "hf---qwen-qwen3-32b-c00b812b59"
    );
    let pvc = find(&objs, "PersistentVolumeClaim");
    assert_eq!(
        pvc["metadata"]["name"],
        "hf---qwen-qwen3-32b-c00b812b59-cache-8d051949"
    );
    assert_eq!(
        pvc["spec"]["resources"]["requests"]["storage"], "68Gi",
        "61Gi + 10 % headroom, rounded up"
    );
    let job = find(&objs, "Job");
    assert_eq!(
        job["metadata"]["name"],
        "hf---qwen-qwen3-32b-c00b812b59-download-8d051949"
    );
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["uid"], "3c7f4a52-9d2e-4a51-8b57-0f6c2d8e9a10",
        "the real artifact UID from the lock file makes the owner reference safe"
    );
    let model = find(&objs, "AIMModel");
    let expected_model = yaml(
        r#"
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMModel
metadata:
  name: aim-qwen-qwen3-32b-0-8-5-cdc1fb22
  namespace: ml-team
  labels:
    aim.eai.amd.com/origin: auto-generated
    org.example/cost-center: eng-ml
    app.kubernetes.io/managed-by: aim-service-controller
    aim.eai.amd.com/service.name: qwen-chat
spec: {image: "amdenterpriseai/aim-qwen-qwen3-32b:0.8.5", resources: {}}
"#,
    );
    assert_eq!(model, &expected_model);
}

/// §10.1's autoscaling variant: min 1 / max 4 switches to KEDA.
#[test]
fn end_to_end_autoscaling_variant() {
    let svc = format!("{E2E_SERVICE}  minReplicas: 1\n  maxReplicas: 4\n");
    let files = [
        ("node.yaml", NODE),
        ("rc.yaml", E2E_RC),
        ("t.yaml", E2E_TEMPLATE),
        ("s.yaml", svc.as_str()),
        ("aim.lock.yaml", E2E_LOCK),
    ];
    let objs = render(&files, EmitMode::Concrete);
    let isvc = find(&objs, "InferenceService");
    assert_eq!(
        isvc["metadata"]["annotations"],
        yaml("{serving.kserve.io/autoscalerClass: keda, sidecar.opentelemetry.io/inject: qwen-chat-a04542d9-predictor, prometheus.kserve.io/port: \"8000\"}")
    );
    assert_eq!(isvc["spec"]["predictor"]["minReplicas"], 1);
    assert_eq!(isvc["spec"]["predictor"]["maxReplicas"], 4);
}

/// §7.5 test facts: min/max combinations.
#[test]
fn replica_vectors() {
    for (extra, min, max) in [
        ("  minReplicas: 2\n  maxReplicas: 5\n", 2, Some(5)),
        ("  minReplicas: 1\n  maxReplicas: 10\n", 1, Some(10)),
        ("  minReplicas: 3\n", 3, Some(3)),
        ("  replicas: 4\n", 4, Some(4)),
        ("  replicas: 0\n", 0, None),
    ] {
        let tmpl = model_and_template("");
        let svc = format!("apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: ns\nspec:\n  model: {{name: m}}\n{extra}");
        let objs = render(&[("t.yaml", &tmpl), ("s.yaml", &svc)], EmitMode::Concrete);
        let p = &find(&objs, "InferenceService")["spec"]["predictor"];
        assert_eq!(p["minReplicas"], min, "{extra}");
        assert_eq!(p.get("maxReplicas").and_then(Value::as_i64), max, "{extra}");
    }
}

/// §7.4 test facts: GPU-derived defaults and per-key overrides.
#[test]
fn resource_vectors() {
    for (gpus, tmpl_res, svc_res, want) in [
        (0, "", "", "{}"),
        (4, "", "", "{limits: {amd.com/gpu: \"4\", memory: 192Gi}, requests: {amd.com/gpu: \"4\", cpu: \"16\", memory: 128Gi}}"),
        (8, "", "", "{limits: {amd.com/gpu: \"8\", memory: 384Gi}, requests: {amd.com/gpu: \"8\", cpu: \"32\", memory: 256Gi}}"),
        (4, "", "  resources: {requests: {memory: 64Gi}}\n", "{limits: {amd.com/gpu: \"4\", memory: 192Gi}, requests: {amd.com/gpu: \"4\", cpu: \"16\", memory: 64Gi}}"),
        (1, "", "  resources: {requests: {amd.com/gpu: 8}, limits: {amd.com/gpu: 8}}\n", "{limits: {amd.com/gpu: \"8\", memory: 48Gi}, requests: {amd.com/gpu: \"8\", cpu: \"4\", memory: 32Gi}}"),
        (1, "  resources: {requests: {memory: 256Gi, cpu: 2000m}}\n", "", "{limits: {amd.com/gpu: \"1\", memory: 48Gi}, requests: {amd.com/gpu: \"1\", cpu: \"2\", memory: 256Gi}}"),
        (1, "", "  resources: {requests: {memory: 1024Mi, cpu: \"0.5\"}}\n", "{limits: {amd.com/gpu: \"1\", memory: 48Gi}, requests: {amd.com/gpu: \"1\", cpu: 500m, memory: 1Gi}}"),
    ] {
        let hw = if gpus > 0 { format!("  hardware:\n    gpu: {{requests: {gpus}}}\n") } else { String::new() };
        let tmpl = model_and_template(&format!("{hw}{tmpl_res}"));
        let svc = format!("apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: ns\nspec:\n  model: {{name: m}}\n{svc_res}");
        let objs = render(&[("t.yaml", &tmpl), ("s.yaml", &svc)], EmitMode::Concrete);
        let got = &find(&objs, "InferenceService")["spec"]["predictor"]["containers"][0]["resources"];
        assert_eq!(got, &yaml(want), "gpus {gpus} {tmpl_res} {svc_res}");
    }
}

/// Go's `omitempty`: empty env values and pull-secret names are not written.
#[test]
fn empty_strings_are_omitted_like_go() {
    let tmpl = model_and_template("  metric: \"\"\n");
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: ns\nspec:\n  model: {name: m}\n  imagePullSecrets: [{}]\n  env:\n    - {name: EMPTY, value: \"\"}\n";
    let objs = render(&[("t.yaml", &tmpl), ("s.yaml", svc)], EmitMode::Concrete);
    let p = &find(&objs, "InferenceService")["spec"]["predictor"];
    let env = p["containers"][0]["env"].as_array().expect("env");
    let empty = env.iter().find(|e| e["name"] == "EMPTY").expect("EMPTY");
    assert_eq!(empty, &yaml("{name: EMPTY}"));
    let metric = env
        .iter()
        .find(|e| e["name"] == "AIM_METRIC")
        .expect("AIM_METRIC appended even when empty");
    assert_eq!(metric, &yaml("{name: AIM_METRIC}"));
    assert_eq!(p["imagePullSecrets"], yaml("[{}]"));
}

/// A GPU count whose memory default overflows 64-bit bytes renders like Go's "<n>Gi" strings.
#[test]
fn huge_gpu_counts_do_not_overflow() {
    let tmpl = model_and_template("  hardware:\n    gpu: {requests: 200000000}\n");
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: s\n  namespace: ns\nspec:\n  model: {name: m}\n";
    let objs = render(&[("t.yaml", &tmpl), ("s.yaml", svc)], EmitMode::Concrete);
    let r = &find(&objs, "InferenceService")["spec"]["predictor"]["containers"][0]["resources"];
    assert_eq!(r["requests"]["cpu"], "800M");
    assert_eq!(r["requests"]["memory"], "6250000Ti");
    assert!(r["limits"]["memory"].is_string());
}
