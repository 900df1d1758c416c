//! Deterministic synthetic repositories for the render benchmark.
//!
//! `generate(n, seed)` returns `(relative path, YAML bytes)` for a tree with `n` AIMServices
//! spread over `max(1, n / 50)` namespaces, plus the cluster facts and defaults they need
//! to render without errors: Node objects (MI300X `74a1`, MI325X `74a5`), AIMClusterModels
//! with recommended deployments (so templates are generated), explicit
//! AIMClusterServiceTemplates, an AIMClusterRuntimeConfig `default` with routing, and per
//! namespace a Namespace, an AIMRuntimeConfig `default` and the Secrets services refer to.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Documents per generated file.
const DOCS_PER_FILE: usize = 50;
/// Services per namespace.
const SERVICES_PER_NAMESPACE: usize = 50;

/// xorshift64*: tiny, deterministic, good enough to shuffle features.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero: xorshift would stay at zero forever.
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

struct Model {
    name: &'static str,
    image: &'static str,
    canonical: &'static str,
}

const MODELS: &[Model] = &[
    Model {
        name: "llama-3-1-8b",
        image: "amdenterpriseai/aim-meta-llama-llama-3-1-8b-instruct:0.8.5",
        canonical: "meta-llama/Llama-3.1-8B-Instruct",
    },
    Model {
        name: "llama-3-1-70b",
        image: "amdenterpriseai/aim-meta-llama-llama-3-1-70b-instruct:0.8.5",
        canonical: "meta-llama/Llama-3.1-70B-Instruct",
    },
    Model {
        name: "qwen3-32b",
        image: "amdenterpriseai/aim-qwen-qwen3-32b:0.8.5",
        canonical: "Qwen/Qwen3-32B",
    },
    Model {
        name: "mixtral-8x7b",
        image: "amdenterpriseai/aim-mistralai-mixtral-8x7b-instruct:0.8.5",
        canonical: "mistralai/Mixtral-8x7B-Instruct-v0.1",
    },
    Model {
        name: "gemma-2-27b",
        image: "amdenterpriseai/aim-google-gemma-2-27b-it:0.8.5",
        canonical: "google/gemma-2-27b-it",
    },
    Model {
        name: "phi-4",
        image: "amdenterpriseai/aim-microsoft-phi-4:0.8.5",
        canonical: "microsoft/phi-4",
    },
];

/// Recommended deployments of every model: (gpu, metric, precision). Each combination is
/// unique, and distinct from the explicit templates below, so auto-selection never ties.
const RECOMMENDED: &[(&str, &str, &str)] = &[
    ("MI300X", "latency", "fp8"),
    ("MI300X", "throughput", "fp8"),
    ("MI325X", "latency", "fp16"),
    ("MI325X", "throughput", "fp8"),
];

/// Explicit cluster templates per model: (suffix, gpu, metric, precision).
const EXPLICIT: &[(&str, &str, &str, &str)] = &[
    ("mi300x-lat-bf16", "MI300X", "latency", "bf16"),
    ("mi325x-thr-fp16", "MI325X", "throughput", "fp16"),
];

fn ns_name(i: usize) -> String {
    format!("team-{i:04}")
}

fn cluster_docs(n_services: usize, rng: &mut Rng, lock: &mut String) -> Vec<String> {
    let mut docs = Vec::new();
    docs.push(
        r#"apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterRuntimeConfig
metadata:
  name: default
spec:
  routing:
    enabled: true
    gatewayRef:
      name: inference-gateway
      namespace: kgateway-system
    pathTemplate: "/{.metadata.namespace}/{.metadata.name}"
    requestTimeout: 120s
    annotations:
      example.com/rate-limit: "100"
  labelPropagation:
    enabled: true
    match: ["org.example/*"]
  env:
    - name: VLLM_LOGGING_LEVEL
      value: INFO
    - name: AIM_ENGINE_ARGS
      value: '{"max-model-len":8192,"enable-prefix-caching":true}'
"#
        .to_owned(),
    );

    // GPU nodes: a few per hundred services, alternating MI300X and MI325X.
    let n_nodes = 4 + n_services / 100;
    for i in 0..n_nodes {
        let (dev, vram) = if i % 2 == 0 {
            ("74a1", "192G")
        } else {
            ("74a5", "256G")
        };
        docs.push(format!(
            r#"apiVersion: v1
kind: Node
metadata:
  name: gpu-node-{i:04}
  labels:
    amd.com/gpu.device-id: "{dev}"
    amd.com/gpu.vram: {vram}
    amd.com/gpu.count: "8"
    kubernetes.io/os: linux
"#
        ));
    }

    for m in MODELS {
        let mut deployments = String::new();
        for (gpu, metric, precision) in RECOMMENDED {
            let count = 1 << rng.below(3);
            // What discovery would report for the template this deployment creates.
            let template = aimc::naming::deployment_template_name(
                m.name, m.image, gpu, count, metric, precision,
            )
            .unwrap_or_default();
            let _ = write!(
                lock,
                "  - template: {template}\n    modelSources: [{{modelId: {c}, sourceUri: hf://{c}, size: {size}Gi}}]\n    profile:\n      metadata: {{engine: vllm, gpu: {gpu}, gpuCount: {count}, metric: {metric}, precision: {precision}, type: optimized}}\n",
                c = m.canonical,
                size = 16 + 8 * (count as usize),
            );
            let _ = writeln!(
                deployments,
                "        - {{gpuModel: {gpu}, gpuCount: {count}, metric: {metric}, precision: {precision}, profileId: vllm-{}-{precision}-tp{count}-{metric}}}",
                gpu.to_ascii_lowercase()
            );
        }
        docs.push(format!(
            r#"apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata:
  name: {name}
spec:
  image: {image}
  imageMetadata:
    model:
      canonicalName: {canonical}
      recommendedDeployments:
{deployments}"#,
            name = m.name,
            image = m.image,
            canonical = m.canonical,
        ));
        for (suffix, gpu, metric, precision) in EXPLICIT {
            let requests = 1 << rng.below(3);
            docs.push(format!(
                r#"apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata:
  name: {model}-{suffix}
spec:
  modelName: {model}
  type: optimized
  metric: {metric}
  precision: {precision}
  hardware:
    gpu:
      requests: {requests}
      model: {gpu}
  modelSources:
    - {{modelId: {canonical}, sourceUri: hf://{canonical}, size: {size}Gi}}
"#,
                model = m.name,
                canonical = m.canonical,
                size = 16 + 8 * rng.below(8),
            ));
        }
    }
    docs
}

fn namespace_doc(ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    org.example/team: {ns}
"#
    )
}

fn namespace_defaults(ns: &str, rng: &mut Rng) -> Vec<String> {
    let util = 80 + rng.below(15);
    vec![
        format!(
            r#"apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMRuntimeConfig
metadata:
  name: default
  namespace: {ns}
spec:
  env:
    - name: HF_TOKEN
      valueFrom:
        secretKeyRef:
          name: hf-token
          key: token
    - name: AIM_ENGINE_ARGS
      value: '{{"gpu-memory-utilization":0.{util},"max-num-seqs":256}}'
"#
        ),
        format!(
            r#"apiVersion: v1
kind: Secret
metadata:
  name: hf-token
  namespace: {ns}
type: Opaque
"#
        ),
        format!(
            r#"apiVersion: v1
kind: Secret
metadata:
  name: registry-creds
  namespace: {ns}
type: Opaque
"#
        ),
    ]
}

fn service_doc(i: usize, ns: &str, rng: &mut Rng) -> String {
    let model = &MODELS[rng.below(MODELS.len())];
    let mut s = format!(
        r#"apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata:
  name: svc-{i:06}
  namespace: {ns}
  labels:
    org.example/cost-center: cc-{cc}
    internal/owner: user-{owner}
spec:
  model:
    name: {model}
"#,
        cc = rng.below(20),
        owner = rng.below(100),
        model = model.name,
    );
    // One in four services names an explicit template; the rest are auto-selected, and
    // some of those narrow the choice by metric (overrides and template.name do not mix:
    // the operator would look up a derived template that does not exist).
    if rng.chance(25) {
        let (suffix, ..) = EXPLICIT[rng.below(EXPLICIT.len())];
        let _ = write!(s, "  template:\n    name: {}-{suffix}\n", model.name);
    } else if rng.chance(40) {
        let metric = if rng.chance(50) {
            "latency"
        } else {
            "throughput"
        };
        let _ = write!(s, "  overrides:\n    metric: {metric}\n");
    }
    // A service's env reaches the cache it downloads through, so services that tune their
    // engine use Dedicated caching: Shared caches of one template keep one env (a clean tree,
    // as a platform team's would be; conflicting shares are warnings).
    let tuned = rng.chance(30);
    if tuned {
        let _ = write!(
            s,
            "  env:\n    - name: AIM_ENGINE_ARGS\n      value: '{{\"max-model-len\":{}}}'\n    - name: LOG_PREFIX\n      value: svc-{i}\n",
            1024 << rng.below(5)
        );
    }
    if rng.chance(20) {
        let min = 1 + rng.below(2);
        let max = min + 1 + rng.below(4);
        let _ = write!(
            s,
            r#"  minReplicas: {min}
  maxReplicas: {max}
  autoScaling:
    metrics:
      - type: PodMetric
        podmetric:
          metric:
            serverAddress: http://prometheus.monitoring.svc:9090
            query: sum(vllm:num_requests_running)
          target:
            type: AverageValue
            averageValue: "8"
"#
        );
    } else if rng.chance(20) {
        let _ = writeln!(s, "  replicas: {}", 1 + rng.below(3));
    }
    if rng.chance(20) {
        s.push_str("  imagePullSecrets:\n    - name: registry-creds\n");
    }
    if tuned || rng.chance(10) {
        s.push_str("  caching:\n    mode: Dedicated\n");
    }
    s
}

/// Joins documents into files of `DOCS_PER_FILE` each, named `<dir>/<stem>-NNN.yaml`.
fn files(out: &mut Vec<(PathBuf, Vec<u8>)>, dir: &str, stem: &str, docs: Vec<String>) {
    for (k, chunk) in docs.chunks(DOCS_PER_FILE).enumerate() {
        let mut text = String::new();
        for d in chunk {
            text.push_str("---\n");
            text.push_str(d);
        }
        out.push((
            PathBuf::from(dir).join(format!("{stem}-{k:03}.yaml")),
            text.into_bytes(),
        ));
    }
}

/// A repository with `n_services` AIMServices; the same `(n_services, seed)` always gives
/// the same bytes.
pub fn generate(n_services: usize, seed: u64) -> Vec<(PathBuf, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    let n_ns = (n_services / SERVICES_PER_NAMESPACE).max(1);
    let mut out = Vec::new();

    let mut lock = String::from("discovery:\n");
    let cluster = cluster_docs(n_services, &mut rng, &mut lock);
    files(&mut out, "cluster", "platform", cluster);
    out.push((PathBuf::from("aim.lock.yaml"), lock.into_bytes()));
    files(
        &mut out,
        "cluster",
        "namespaces",
        (0..n_ns).map(|k| namespace_doc(&ns_name(k))).collect(),
    );

    let mut per_ns: Vec<Vec<String>> = (0..n_ns)
        .map(|k| namespace_defaults(&ns_name(k), &mut rng))
        .collect();
    for i in 0..n_services {
        let k = i % n_ns;
        let doc = service_doc(i, &ns_name(k), &mut rng);
        per_ns[k].push(doc);
    }
    for (k, docs) in per_ns.into_iter().enumerate() {
        files(
            &mut out,
            &format!("namespaces/{}", ns_name(k)),
            "part",
            docs,
        );
    }
    out
}
