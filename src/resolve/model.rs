//! Which model a service uses (service.md §4), and the models a service would create.

use crate::api::aim::{CustomModelSpec, ModelSpec, ServiceSpec};
use crate::api::core::EnvVar;
use crate::api::{AimKind, AimSpec};
use crate::load::{Index, Object};
use crate::naming::{self, CustomSourceKey};

/// Where the resolved model lives.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelRef<'a> {
    /// An AIMModel or AIMClusterModel written in the repository.
    Existing {
        kind: AimKind,
        obj: &'a Object,
        spec: &'a ModelSpec,
    },
    /// A namespaced AIMModel the service controller creates (unowned).
    Created(Box<CreatedModel>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreatedModel {
    pub name: String,
    pub namespace: String,
    pub spec: ModelSpec,
    /// `aim.eai.amd.com/custom-model: "true"` and friends, before propagation.
    pub custom: bool,
}

impl ModelRef<'_> {
    pub fn name(&self) -> &str {
        match self {
            ModelRef::Existing { obj, .. } => &obj.key.name,
            ModelRef::Created(c) => &c.name,
        }
    }
    pub fn spec(&self) -> &ModelSpec {
        match self {
            ModelRef::Existing { spec, .. } => spec,
            ModelRef::Created(c) => &c.spec,
        }
    }
    pub fn kind(&self) -> AimKind {
        match self {
            ModelRef::Existing { kind, .. } => *kind,
            ModelRef::Created(_) => AimKind::Model,
        }
    }
    pub fn is_cluster(&self) -> bool {
        self.kind() == AimKind::ClusterModel
    }
}

/// A failure with the operator's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub code: &'static str,
    pub message: String,
    /// JSON path under the service where the problem is written.
    pub path: &'static [&'static str],
}

pub fn model_spec(obj: &Object) -> Option<&ModelSpec> {
    match obj.aim.as_ref().map(|a| &a.spec) {
        Some(AimSpec::Model(m)) => Some(m),
        _ => None,
    }
}

/// `custom_models` are the models other services create from `model.custom`; an image service
/// finds them like models written in the repository.
pub fn resolve<'a>(
    index: &'a Index,
    namespace: &str,
    svc: &ServiceSpec,
    custom_models: &[CreatedModel],
) -> Result<ModelRef<'a>, ModelError> {
    let m = &svc.model;
    if let Some(name) = m.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        for kind in [AimKind::Model, AimKind::ClusterModel] {
            if let Some(obj) = index.aim(kind, Some(namespace), name) {
                if let Some(spec) = model_spec(obj) {
                    return Ok(ModelRef::Existing { kind, obj, spec });
                }
            }
        }
        return Err(ModelError {
            code: "ModelNotFound",
            message: format!(
                "model \"{name}\" not found in namespace {namespace} or cluster scope"
            ),
            path: &["spec", "model", "name"],
        });
    }
    if let Some(image) = m.image.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        return resolve_image(index, namespace, svc, custom_models, image);
    }
    if let Some(custom) = &m.custom {
        return resolve_custom(index, namespace, svc, custom);
    }
    Err(ModelError {
        code: "ModelNotFound",
        message: "no model specified in service spec".into(),
        path: &["spec", "model"],
    })
}

fn resolve_image<'a>(
    index: &'a Index,
    namespace: &str,
    svc: &ServiceSpec,
    custom_models: &[CreatedModel],
    image: &str,
) -> Result<ModelRef<'a>, ModelError> {
    let mut matches = Vec::new();
    for kind in [AimKind::Model, AimKind::ClusterModel] {
        let ns = if kind == AimKind::Model {
            Some(namespace)
        } else {
            None
        };
        for obj in index.aim_of_kind(kind, ns) {
            if let Some(spec) = model_spec(obj).filter(|s| s.image == image) {
                matches.push(ModelRef::Existing { kind, obj, spec });
            }
        }
    }
    for c in custom_models
        .iter()
        .filter(|c| c.namespace == namespace && c.spec.image == image)
    {
        matches.push(ModelRef::Created(Box::new(c.clone())));
    }
    if matches.len() > 1 {
        let list: Vec<String> = matches
            .iter()
            .map(|m| match m {
                ModelRef::Existing {
                    kind: AimKind::Model,
                    obj,
                    ..
                } => format!("{namespace}/{} (namespace)", obj.key.name),
                ModelRef::Created(c) => format!("{namespace}/{} (namespace)", c.name),
                other => format!("{} (cluster)", other.name()),
            })
            .collect();
        // Bounded: with thousands of matching models the message would be quadratic output.
        let shown = list.len().min(5);
        let mut list: Vec<String> = list.into_iter().take(shown).collect();
        if matches.len() > shown {
            list.push(format!("and {} more", matches.len() - shown));
        }
        return Err(ModelError {
            code: "MultipleModelsForImage",
            message: format!(
                "multiple models found with the same image with image \"{image}\": {}",
                list.join(", ")
            ),
            path: &["spec", "model", "image"],
        });
    }
    if let Some(m) = matches.pop() {
        return Ok(m);
    }
    let name = naming::image_model_name(image).map_err(|e| ModelError {
        code: "InvalidImageReference",
        message: format!("invalid image URI \"{image}\": {e}"),
        path: &["spec", "model", "image"],
    })?;
    Ok(ModelRef::Created(Box::new(CreatedModel {
        name,
        namespace: namespace.to_owned(),
        spec: ModelSpec {
            image: image.to_owned(),
            runtime_config_name: svc.runtime_config_name.clone(),
            image_pull_secrets: svc.image_pull_secrets.clone(),
            service_account_name: svc.service_account_name.clone(),
            resources: Some(Default::default()),
            ..Default::default()
        },
        custom: false,
    })))
}

fn endpoint(env: &[EnvVar]) -> &str {
    env.iter()
        .find(|e| e.name == "AWS_ENDPOINT_URL")
        .map(EnvVar::value_str)
        .unwrap_or("")
}

fn resolve_custom<'a>(
    index: &'a Index,
    namespace: &str,
    svc: &ServiceSpec,
    custom: &CustomModelSpec,
) -> Result<ModelRef<'a>, ModelError> {
    // First AIMModel in list order (sorted by name here) with the same image and sources.
    for obj in index.aim_of_kind(AimKind::Model, Some(namespace)) {
        let Some(spec) = model_spec(obj) else {
            continue;
        };
        let same = spec.image == custom.base_image
            && spec.model_sources.len() == custom.model_sources.len()
            && spec
                .model_sources
                .iter()
                .zip(&custom.model_sources)
                .all(|(a, b)| {
                    a.model_id == b.model_id
                        && a.source_uri == b.source_uri
                        && endpoint(&a.env) == endpoint(&b.env)
                });
        if same {
            return Ok(ModelRef::Existing {
                kind: AimKind::Model,
                obj,
                spec,
            });
        }
    }
    let keys: Vec<CustomSourceKey> = custom
        .model_sources
        .iter()
        .map(|s| CustomSourceKey {
            model_id: &s.model_id,
            source_uri: s.source_uri.as_deref().unwrap_or(""),
            endpoint: Some(endpoint(&s.env)).filter(|e| !e.is_empty()),
        })
        .collect();
    let name = naming::custom_model_name(&custom.base_image, &keys).map_err(|e| ModelError {
        code: "InvalidCustomModel",
        message: format!("cannot name the custom model: {e}"),
        path: &["spec", "model", "custom"],
    })?;
    Ok(ModelRef::Created(Box::new(CreatedModel {
        name,
        namespace: namespace.to_owned(),
        spec: ModelSpec {
            image: custom.base_image.clone(),
            model_sources: custom.model_sources.clone(),
            custom: Some(crate::api::aim::ModelCustom {
                hardware: Some(custom.hardware.clone()),
                r#type: None,
            }),
            runtime_config_name: svc.runtime_config_name.clone(),
            image_pull_secrets: svc.image_pull_secrets.clone(),
            service_account_name: svc.service_account_name.clone(),
            env: svc.env.clone(),
            ..Default::default()
        },
        custom: true,
    })))
}
