//! The KServe InferenceService of a service (service.md §7).

use super::object::{
    self, Affinity, Container, ContainerPort, EmptyDir, InferenceServiceSpec, Manifest, Metadata,
    Metric, MetricTarget, Object, PodMetric, PodMetricSource, Predictor, Resources, Volume,
    VolumeMount,
};
use super::{owner_refs, Ctx};
use crate::api::aim::{AutoScaling, ServiceSpec};
use crate::api::quantity::{Format, Quantity};
use crate::naming;
use crate::resolve::template::{Status, Template};
use crate::resolve::ServicePlan;
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
) -> Object {
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

    // Cache volumes (§7.7) after dshm, sorted by volume name (the operator iterates a map).
    let mut cache_volumes: Vec<&CacheVolume> = volumes.iter().collect();
    cache_volumes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut mounts = vec![VolumeMount {
        name: "dshm".into(),
        mount_path: "/dev/shm".into(),
    }];
    let mut vols = vec![Volume {
        name: "dshm".into(),
        empty_dir: Some(EmptyDir {
            medium: "Memory",
            size_limit: "8Gi",
        }),
        persistent_volume_claim: None,
    }];
    for v in cache_volumes {
        mounts.push(VolumeMount {
            name: v.name.clone(),
            mount_path: v.mount_path.clone(),
        });
        vols.push(Volume::claim(v.name.clone(), v.claim.clone()));
    }
    let container = Container {
        name: "kserve-container",
        image: image.to_owned(),
        env: plan.env.iter().map(|e| e.var.clone()).collect(),
        resources: Some(resources(st, t, spec)),
        ports: vec![ContainerPort {
            container_port: 8000,
            name: "http",
            protocol: "TCP",
        }],
        volume_mounts: mounts,
        ..Container::default()
    };
    let predictor = Predictor {
        min_replicas: min,
        max_replicas: (max != 0).then_some(max),
        auto_scaling: spec.auto_scaling.as_ref().map(kserve_autoscaling),
        image_pull_secrets: spec.image_pull_secrets.clone(),
        service_account_name: spec.service_account_name.clone().filter(|s| !s.is_empty()),
        affinity: st
            .affinity
            .as_ref()
            .map(|ids| Affinity::required("amd.com/gpu.device-id", ids.clone())),
        containers: vec![container],
        volumes: vols,
    };
    Object::InferenceService(Manifest {
        api_version: API_VERSION,
        kind: "InferenceService",
        metadata: Metadata {
            name: isvc_name.to_owned(),
            namespace: Some(plan.namespace.to_owned()),
            labels,
            annotations: Some(annotations),
            owner_references: owner_refs(plan),
        },
        spec: InferenceServiceSpec { predictor },
    })
}

/// §7.4: GPU-derived defaults, then template, then service resources (per key, last wins).
fn resources(st: &Status, t: &Template, spec: &ServiceSpec) -> Resources {
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
    Resources { limits, requests }
}

/// §7.5 `convert`: the AIM autoscaling block in KServe's shape.
fn kserve_autoscaling(a: &AutoScaling) -> object::AutoScaling {
    let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    // A target value that is not a quantity is dropped, as the operator's parse does.
    let quantity = |v: &Option<String>| text(v).filter(|v| v.parse::<Quantity>().is_ok());
    let metrics = a
        .metrics
        .iter()
        .map(|m| Metric {
            r#type: m.r#type.clone(),
            podmetric: m
                .podmetric
                .as_ref()
                .filter(|_| m.r#type == "PodMetric")
                .map(|pm| PodMetric {
                    metric: PodMetricSource {
                        backend: pm.metric.backend.clone().unwrap_or_default(),
                        server_address: text(&pm.metric.server_address),
                        metric_names: pm.metric.metric_names.clone().filter(|n| !n.is_empty()),
                        query: text(&pm.metric.query),
                        operation_over_time: text(&pm.metric.operation_over_time),
                    },
                    target: MetricTarget {
                        r#type: pm.target.r#type.clone(),
                        value: quantity(&pm.target.value),
                        average_value: quantity(&pm.target.average_value),
                        average_utilization: pm.target.average_utilization,
                    },
                }),
        })
        .collect();
    object::AutoScaling { metrics }
}
