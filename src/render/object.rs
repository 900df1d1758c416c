//! The objects aimc renders, as typed values that serialise straight into the YAML or JSON
//! writer (issue 14): no `serde_json::Value` tree is built for an output object.
//!
//! Field order is output order. It is the order the operator's objects have in aimc's golden
//! files, so a field is never moved without a golden changing; `None` and empty fields that
//! the operator leaves out are skipped.

use crate::api::aim::{ArtifactSpec, GatewayRef, ModelSpec, TemplateCacheSpec, TemplateSpec};
use crate::api::core::{EnvVar, LocalObjectReference};
use crate::api::quantity::Quantity;
use serde::Serialize;
use std::collections::BTreeMap;

/// One rendered object. Serialised as the object itself (no tag). The derived AIM objects
/// carry whole AIM specs and are rare (`--emit all`, validation): boxed, so the common
/// objects do not pay for their size.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Object {
    InferenceService(Manifest<InferenceServiceSpec>),
    HttpRoute(Manifest<HttpRouteSpec>),
    PersistentVolumeClaim(Manifest<PvcSpec>),
    Job(Manifest<JobSpec>),
    TemplateCache(Box<Manifest<TemplateCacheSpec>>),
    Artifact(Box<Manifest<ArtifactSpec>>),
    Model(Box<Manifest<ModelSpec>>),
    Template(Box<Manifest<TemplateSpec>>),
}

impl Object {
    fn head(&self) -> (&'static str, &'static str, &Metadata) {
        match self {
            Object::InferenceService(m) => m.head(),
            Object::HttpRoute(m) => m.head(),
            Object::PersistentVolumeClaim(m) => m.head(),
            Object::Job(m) => m.head(),
            Object::TemplateCache(m) => m.head(),
            Object::Artifact(m) => m.head(),
            Object::Model(m) => m.head(),
            Object::Template(m) => m.head(),
        }
    }

    pub fn metadata(&self) -> &Metadata {
        self.head().2
    }

    /// The object as a JSON tree, for what reads objects generically (schema checks, tests).
    pub fn to_value(&self) -> Result<serde_json::Value, crate::emit::EmitError> {
        serde_json::to_value(self).map_err(|e| crate::emit::EmitError(e.to_string()))
    }
}

impl crate::emit::Emitted for Object {
    fn ident(&self) -> (&str, &str, Option<&str>, &str) {
        let (api, kind, meta) = self.head();
        (api, kind, meta.namespace.as_deref(), &meta.name)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: S,
}

impl<S> Manifest<S> {
    fn head(&self) -> (&'static str, &'static str, &Metadata) {
        (self.api_version, self.kind, &self.metadata)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub name: String,
    pub uid: String,
    pub controller: bool,
}

// InferenceService (service.md §7).

#[derive(Debug, Clone, Serialize)]
pub struct InferenceServiceSpec {
    pub predictor: Predictor,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Predictor {
    pub min_replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<AutoScaling>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    pub containers: Vec<Container>,
    pub volumes: Vec<Volume>,
}

/// KServe's autoscaling block (§7.5 `convert`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AutoScaling {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    #[serde(rename = "type")]
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub podmetric: Option<PodMetric>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodMetric {
    pub metric: PodMetricSource,
    pub target: MetricTarget,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricSource {
    pub backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_over_time: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTarget {
    #[serde(rename = "type")]
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i32>,
}

/// Required node affinity to the GPU device IDs of the template's GPU model.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Affinity {
    pub node_affinity: NodeAffinity,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeAffinity {
    #[serde(rename = "requiredDuringSchedulingIgnoredDuringExecution")]
    pub required: NodeSelector,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelector {
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<Requirement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    pub key: &'static str,
    pub operator: &'static str,
    pub values: Vec<&'static str>,
}

impl Affinity {
    /// `key In values`, the only affinity the operator writes.
    pub fn required(key: &'static str, values: Vec<&'static str>) -> Affinity {
        Affinity {
            node_affinity: NodeAffinity {
                required: NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: vec![Requirement {
                            key,
                            operator: "In",
                            values,
                        }],
                    }],
                },
            },
        }
    }
}

/// A container of the InferenceService predictor or of the download Job. The two share one
/// order (the predictor's fields and the Job's interleave without crossing), so one type.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: &'static str,
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    pub container_port: u16,
    pub name: &'static str,
    pub protocol: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDir>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimSource>,
}

impl Volume {
    pub fn claim(name: String, claim_name: String) -> Volume {
        Volume {
            name,
            empty_dir: None,
            persistent_volume_claim: Some(ClaimSource { claim_name }),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDir {
    pub medium: &'static str,
    pub size_limit: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSource {
    pub claim_name: String,
}

/// Pod- and container-level security context: the fields the download Job sets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub run_as_user: i64,
    pub run_as_group: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_non_root: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
}

// HTTPRoute (service.md §8).

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    pub parent_refs: Vec<GatewayRef>,
    pub rules: Vec<RouteRule>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    pub matches: Vec<RouteMatch>,
    pub filters: Vec<RouteFilter>,
    pub backend_refs: Vec<BackendRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<RouteTimeouts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteMatch {
    pub path: PathMatch,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathMatch {
    #[serde(rename = "type")]
    pub r#type: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteFilter {
    #[serde(rename = "type")]
    pub r#type: &'static str,
    pub url_rewrite: UrlRewrite,
}

#[derive(Debug, Clone, Serialize)]
pub struct UrlRewrite {
    pub path: PathModifier,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathModifier {
    #[serde(rename = "type")]
    pub r#type: &'static str,
    pub replace_prefix_match: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendRef {
    pub kind: &'static str,
    pub name: String,
    pub namespace: String,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteTimeouts {
    pub request: String,
}

// Artifact storage (cache-model.md §5.5).

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcSpec {
    pub access_modes: Vec<&'static str>,
    pub resources: StorageRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StorageRequest {
    pub requests: Storage,
}

#[derive(Debug, Clone, Serialize)]
pub struct Storage {
    pub storage: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub backoff_limit: i32,
    pub template: PodTemplate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodTemplate {
    pub metadata: PodMetadata,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodMetadata {
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub volumes: Vec<Volume>,
    pub containers: Vec<Container>,
    pub restart_policy: &'static str,
    pub security_context: SecurityContext,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
}
