//! The KServe InferenceService of a service (service.md §7).

use super::{owner_refs, Ctx};
use crate::api::aim::{AutoScaling, ServiceSpec};
use crate::api::quantity::{Format, Quantity};
use crate::naming;
use crate::resolve::template::{Status, Template};
use crate::resolve::ServicePlan;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "serving.kserve.io/v1beta1";

/// A mounted artifact PVC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheVolume {
    pub name: String,
    pub claim: String,
    pub mount_path: String,
}

#[allow(clippy::too_many_arguments)]
pub fn render(
    plan: &ServicePlan,
    t: &Template,
    st: &Status,
    image: &str,
    isvc_name: &str,
    volumes: &[CacheVolume],
    ctx: &Ctx,
) -> Value {
    let spec = plan.spec;
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/component".to_owned(),
        "inference".to_owned(),
    );
    labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        "aim-engine".to_owned(),
    );
    labels.insert(
        "aim.eai.amd.com/template".to_owned(),
        naming::sanitize_label_value(&t.name),
    );
    labels.insert(
        "aim.eai.amd.com/service".to_owned(),
        naming::sanitize_label_value(plan.name),
    );
    if !t.spec.model_name.is_empty() {
        labels.insert(
            "aim.eai.amd.com/model".to_owned(),
            naming::sanitize_label_value(&t.spec.model_name),
        );
    }
    if !st.profile_metric.is_empty() {
        labels.insert(
            "aim.eai.amd.com/metric".to_owned(),
            naming::sanitize_label_value(&st.profile_metric),
        );
    }
    if !st.profile_precision.is_empty() {
        labels.insert(
            "aim.eai.amd.com/precision".to_owned(),
            naming::sanitize_label_value(&st.profile_precision),
        );
    }
    super::stamp_service_child(&mut labels, plan);

    let autoscaling =
        spec.auto_scaling.is_some() || spec.min_replicas.is_some() || spec.max_replicas.is_some();
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    let (min, max) = if autoscaling {
        annotations.insert("serving.kserve.io/autoscalerClass".into(), "keda".into());
        annotations.insert(
            "sidecar.opentelemetry.io/inject".into(),
            format!("{isvc_name}-predictor"),
        );
        annotations.insert("prometheus.kserve.io/port".into(), "8000".into());
        let min = spec.min_replicas.unwrap_or(1);
        (min, spec.max_replicas.or(spec.min_replicas).unwrap_or(1))
    } else {
        annotations.insert("serving.kserve.io/autoscalerClass".into(), "none".into());
        let r = spec.replicas.unwrap_or(1);
        (r, r)
    };
    if let Some(wave) = ctx.wave("InferenceService") {
        annotations.insert("argocd.argoproj.io/sync-wave".into(), wave.into());
    }

    let mut predictor = Map::new();
    predictor.insert("minReplicas".into(), min.into());
    if max != 0 {
        predictor.insert("maxReplicas".into(), max.into());
    }
    if let Some(a) = &spec.auto_scaling {
        predictor.insert("autoScaling".into(), autoscaling_json(a));
    }
    if !spec.image_pull_secrets.is_empty() {
        predictor.insert(
            "imagePullSecrets".into(),
            serde_json::to_value(&spec.image_pull_secrets).unwrap_or_default(),
        );
    }
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        predictor.insert("serviceAccountName".into(), sa.into());
    }
    if let Some(ids) = &st.affinity {
        predictor.insert(
            "affinity".into(),
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "amd.com/gpu.device-id", "operator": "In", "values": ids}]}
            ]}}}),
        );
    }
    let env: Vec<Value> = plan
        .env
        .iter()
        .map(|e| serde_json::to_value(&e.var).unwrap_or_default())
        .collect();
    let mut container = Map::new();
    container.insert("name".into(), "kserve-container".into());
    container.insert("image".into(), image.into());
    container.insert("env".into(), Value::Array(env));
    container.insert("resources".into(), resources(st, t, spec));
    container.insert(
        "ports".into(),
        json!([{"containerPort": 8000, "name": "http", "protocol": "TCP"}]),
    );
    // Cache volumes (§7.7) after dshm, sorted by volume name (the operator iterates a map).
    let mut cache_volumes: Vec<&CacheVolume> = volumes.iter().collect();
    cache_volumes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut mounts = vec![json!({"name": "dshm", "mountPath": "/dev/shm"})];
    let mut vols =
        vec![json!({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}})];
    for v in cache_volumes {
        mounts.push(json!({"name": v.name, "mountPath": v.mount_path}));
        vols.push(json!({"name": v.name, "persistentVolumeClaim": {"claimName": v.claim}}));
    }
    container.insert("volumeMounts".into(), Value::Array(mounts));
    predictor.insert(
        "containers".into(),
        Value::Array(vec![Value::Object(container)]),
    );
    predictor.insert("volumes".into(), Value::Array(vols));

    let mut metadata = Map::new();
    metadata.insert("name".into(), isvc_name.into());
    metadata.insert("namespace".into(), plan.namespace.into());
    metadata.insert("labels".into(), super::string_map_value(labels));
    metadata.insert("annotations".into(), super::string_map_value(annotations));
    if let Some(refs) = owner_refs(plan) {
        metadata.insert("ownerReferences".into(), refs);
    }
    let mut spec = Map::new();
    spec.insert("predictor".into(), Value::Object(predictor));
    super::object(
        API_VERSION,
        "InferenceService",
        metadata,
        Value::Object(spec),
    )
}

/// §7.4: GPU-derived defaults, then template, then service resources (per key, last wins).
fn resources(st: &Status, t: &Template, spec: &ServiceSpec) -> Value {
    let n = i64::from(st.gpu_requests);
    let gpu = if st.gpu_resource.is_empty() {
        "amd.com/gpu"
    } else {
        st.gpu_resource.as_str()
    };
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    if n > 0 {
        // n is an int32, so these products fit in i64; the byte counts may not, which is why
        // the operator (and aimc) go through "<n>Gi" strings.
        let q = |s: String| s.parse::<Quantity>().ok();
        for (key, value) in [
            ("cpu", q((4 * n).to_string())),
            ("memory", q(format!("{}Gi", 32 * n))),
        ] {
            if let Some(v) = value {
                requests.insert(key.into(), v);
            }
        }
        if let Some(v) = q(format!("{}Gi", 48 * n)) {
            limits.insert("memory".into(), v);
        }
        requests.insert(gpu.into(), Quantity::from_int(n, Format::DecimalSI));
        limits.insert(gpu.into(), Quantity::from_int(n, Format::DecimalSI));
    }
    for r in [t.spec.resources.as_ref(), spec.resources.as_ref()]
        .into_iter()
        .flatten()
    {
        requests.extend(r.requests.iter().map(|(k, v)| (k.clone(), v.clone())));
        limits.extend(r.limits.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut out = Map::new();
    if !limits.is_empty() {
        out.insert(
            "limits".into(),
            serde_json::to_value(&limits).unwrap_or_default(),
        );
    }
    if !requests.is_empty() {
        out.insert(
            "requests".into(),
            serde_json::to_value(&requests).unwrap_or_default(),
        );
    }
    Value::Object(out)
}

/// §7.5 `convert`: the AIM autoscaling block in KServe's shape.
fn autoscaling_json(a: &AutoScaling) -> Value {
    let mut out = Map::new();
    if !a.metrics.is_empty() {
        let metrics: Vec<Value> = a
            .metrics
            .iter()
            .map(|m| {
                let mut o = Map::new();
                o.insert("type".into(), m.r#type.clone().into());
                if m.r#type == "PodMetric" {
                    if let Some(pm) = &m.podmetric {
                        let mut metric = Map::new();
                        metric.insert(
                            "backend".into(),
                            pm.metric.backend.clone().unwrap_or_default().into(),
                        );
                        let opt = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
                            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                                m.insert(k.into(), v.clone().into());
                            }
                        };
                        opt(&mut metric, "serverAddress", &pm.metric.server_address);
                        if let Some(names) =
                            pm.metric.metric_names.as_ref().filter(|n| !n.is_empty())
                        {
                            metric.insert("metricNames".into(), names.clone().into());
                        }
                        opt(&mut metric, "query", &pm.metric.query);
                        opt(
                            &mut metric,
                            "operationOverTime",
                            &pm.metric.operation_over_time,
                        );
                        let mut target = Map::new();
                        target.insert("type".into(), pm.target.r#type.clone().into());
                        let quantity = |v: &Option<String>| {
                            v.as_ref()
                                .filter(|v| !v.is_empty() && v.parse::<Quantity>().is_ok())
                                .cloned()
                        };
                        if let Some(v) = quantity(&pm.target.value) {
                            target.insert("value".into(), v.into());
                        }
                        if let Some(v) = quantity(&pm.target.average_value) {
                            target.insert("averageValue".into(), v.into());
                        }
                        if let Some(u) = pm.target.average_utilization {
                            target.insert("averageUtilization".into(), u.into());
                        }
                        o.insert(
                            "podmetric".into(),
                            json!({"metric": metric, "target": target}),
                        );
                    }
                }
                Value::Object(o)
            })
            .collect();
        out.insert("metrics".into(), Value::Array(metrics));
    }
    Value::Object(out)
}
