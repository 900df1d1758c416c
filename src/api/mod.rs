//! Typed AIM resources, the core/v1 types they embed, and CRD defaulting.

pub mod aim;
pub mod core;
mod defaults;
pub(crate) use defaults::{has_prunable_null, prune_nulls};
pub mod quantity;
mod quantity_serde;

pub use defaults::apply_defaults;

use aim::*;
use serde_json::Value;

pub const AIM_API_VERSION: &str = "aim.eai.amd.com/v1alpha1";
pub const AIM_GROUP: &str = "aim.eai.amd.com";
/// The annotation that stops an AIM object's controller (`"true"`).
pub const RECONCILIATION_PAUSED: &str = "aim.eai.amd.com/reconciliation-paused";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AimKind {
    Service,
    Model,
    ClusterModel,
    ServiceTemplate,
    ClusterServiceTemplate,
    RuntimeConfig,
    ClusterRuntimeConfig,
    TemplateCache,
    Artifact,
    ClusterModelSource,
}

impl AimKind {
    pub const ALL: [AimKind; 10] = [
        AimKind::Service,
        AimKind::Model,
        AimKind::ClusterModel,
        AimKind::ServiceTemplate,
        AimKind::ClusterServiceTemplate,
        AimKind::RuntimeConfig,
        AimKind::ClusterRuntimeConfig,
        AimKind::TemplateCache,
        AimKind::Artifact,
        AimKind::ClusterModelSource,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AimKind::Service => "AIMService",
            AimKind::Model => "AIMModel",
            AimKind::ClusterModel => "AIMClusterModel",
            AimKind::ServiceTemplate => "AIMServiceTemplate",
            AimKind::ClusterServiceTemplate => "AIMClusterServiceTemplate",
            AimKind::RuntimeConfig => "AIMRuntimeConfig",
            AimKind::ClusterRuntimeConfig => "AIMClusterRuntimeConfig",
            AimKind::TemplateCache => "AIMTemplateCache",
            AimKind::Artifact => "AIMArtifact",
            AimKind::ClusterModelSource => "AIMClusterModelSource",
        }
    }

    pub fn from_name(kind: &str) -> Option<AimKind> {
        AimKind::ALL.into_iter().find(|k| k.name() == kind)
    }

    pub fn is_cluster_scoped(self) -> bool {
        matches!(
            self,
            AimKind::ClusterModel
                | AimKind::ClusterServiceTemplate
                | AimKind::ClusterRuntimeConfig
                | AimKind::ClusterModelSource
        )
    }
}

/// The typed spec of one AIM object.
#[derive(Debug, Clone, PartialEq)]
pub enum AimSpec {
    Service(Box<ServiceSpec>),
    Model(Box<ModelSpec>),
    Template(Box<TemplateSpec>),
    RuntimeConfig(Box<RuntimeConfigSpec>),
    TemplateCache(Box<TemplateCacheSpec>),
    Artifact(Box<ArtifactSpec>),
    ClusterModelSource(Box<ClusterModelSourceSpec>),
}

/// Deserialises `spec` strictly; the error carries the JSON path of the offending field.
pub fn parse_spec(
    kind: AimKind,
    spec: &Value,
) -> Result<AimSpec, serde_path_to_error::Error<serde_json::Error>> {
    fn de<T: serde::de::DeserializeOwned>(
        v: &Value,
    ) -> Result<Box<T>, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(v).map(Box::new)
    }
    Ok(match kind {
        AimKind::Service => AimSpec::Service(de(spec)?),
        AimKind::Model | AimKind::ClusterModel => AimSpec::Model(de(spec)?),
        AimKind::ServiceTemplate | AimKind::ClusterServiceTemplate => AimSpec::Template(de(spec)?),
        AimKind::RuntimeConfig | AimKind::ClusterRuntimeConfig => AimSpec::RuntimeConfig(de(spec)?),
        AimKind::TemplateCache => AimSpec::TemplateCache(de(spec)?),
        AimKind::Artifact => AimSpec::Artifact(de(spec)?),
        AimKind::ClusterModelSource => AimSpec::ClusterModelSource(de(spec)?),
    })
}

/// Kinds that live outside namespaces. Anything unknown is assumed namespaced, as
/// `kubectl apply` and Argo CD would assume when they set the destination namespace.
pub fn is_cluster_scoped_kind(api_version: &str, kind: &str) -> bool {
    if api_version == AIM_API_VERSION {
        return AimKind::from_name(kind).is_some_and(AimKind::is_cluster_scoped);
    }
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "StorageClass"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PriorityClass"
            | "IngressClass"
            | "RuntimeClass"
            | "CSIDriver"
            | "CSINode"
            | "VolumeSnapshotClass"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "APIService"
            | "GatewayClass"
            | "ClusterIssuer"
            | "ClusterSecretStore"
            | "ClusterExternalSecret"
    )
}
