//! AIMClusterModelSources → the AIMClusterModels they create (cache-model.md §3), added to
//! the index before resolution so services find them like written models.

use super::model_source::{self, CatalogError, ImageRef, SourceInput};
use super::uid::uid;
use crate::api::core::ObjectMeta;
use crate::api::{self, AimKind, AimSpec, AIM_API_VERSION};
use crate::diag::Diagnostic;
use crate::load::{AimObject, Index, Lock, ObjKey, Object};
use serde_json::{Map, Value};

const SOURCE_LABEL: &str = "aim.eai.amd.com/model-source";

/// Plans every model source and adds the models it creates to `index`.
pub fn expand(index: &mut Index, lock: &Lock) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let sources: Vec<Object> = index
        .reconciled_of_kind(AimKind::ClusterModelSource, None)
        .cloned()
        .collect();
    let mut created = Vec::new();
    // Sources have no runtimeConfigName: the cluster's `default` config decides which user
    // labels propagate (§1.4).
    let mut ignored = Vec::new();
    let default_config = super::runtime_config::resolve(index, None, "default", &mut ignored)
        .ok()
        .flatten();
    let patterns: Option<Vec<String>> = default_config
        .and_then(|c| c.spec.label_propagation)
        .filter(|l| l.enabled && !l.r#match.is_empty())
        .map(|l| l.r#match);
    let propagate =
        patterns.map(|p| move |key: &str| p.iter().any(|pat| super::labels::glob_match(pat, key)));
    for src in &sources {
        let Some(AimSpec::ClusterModelSource(spec)) = src.aim.as_ref().map(|a| &a.spec) else {
            continue;
        };
        let name = src.key.name.as_str();
        let registry = spec.registry.clone().unwrap_or_else(|| "docker.io".into());
        let filters: Vec<(String, Vec<String>, Vec<String>)> = spec
            .filters
            .iter()
            .map(|f| (f.image.clone(), f.exclude.clone(), f.versions.clone()))
            .collect();
        let secrets: Vec<String> = spec
            .image_pull_secrets
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let labels = src.labels();
        let input = SourceInput {
            name,
            labels: &labels,
            registry: &registry,
            filters: &filters,
            versions: &spec.versions,
            max_models: usize::try_from(spec.max_models.unwrap_or(100)).unwrap_or(0),
            image_pull_secrets: &secrets,
            propagate_label: propagate.as_ref().map(|f| f as &dyn Fn(&str) -> bool),
        };
        let existing: Vec<String> = index
            .aim_of_kind(AimKind::ClusterModel, None)
            .filter(|m| m.labels().get(SOURCE_LABEL).map(String::as_str) == Some(name))
            .filter_map(|m| super::model::model_spec(m).map(|s| s.image.clone()))
            .collect();
        // Only wildcard and untagged filters are listed: a source of pinned images needs none.
        let listed = spec
            .filters
            .iter()
            .any(|f| model_source::parse_filter(&f.image, &registry).is_ok_and(|f| !f.is_static()));
        let listing: Option<Vec<ImageRef>> =
            listed.then(|| lock.listing(name)).flatten().map(|l| {
                l.iter()
                    .map(|i| {
                        ImageRef::new(
                            if i.registry.is_empty() {
                                &registry
                            } else {
                                &i.registry
                            },
                            &i.repository,
                            &i.tag,
                        )
                    })
                    .collect()
            });
        let plan = match model_source::plan_source(&input, &existing, listing.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                let filter = match &e {
                    CatalogError::NeedsRegistryListing { filter }
                    | CatalogError::InvalidFilter { filter, .. } => filter.clone(),
                };
                let index_of = spec
                    .filters
                    .iter()
                    .position(|f| f.image == filter)
                    .unwrap_or(0);
                diags.push(
                    Diagnostic::error(
                        "NeedsRegistryListing",
                        format!("AIMClusterModelSource {name}: filter {filter:?} needs registry listing: which images match is only known to the registry"),
                    )
                    .at(Some(src.loc(&["spec".into(), "filters".into(), index_of.into(), "image".into()])))
                    .help("run `aimc lock` (it lists the registry), or use static repo:tag filters"),
                );
                continue;
            }
        };
        for e in &plan.filter_errors {
            diags.push(
                Diagnostic::warning(
                    "ModelSourceFilterFailed",
                    format!("AIMClusterModelSource {name}: {e}"),
                )
                .at(Some(src.loc_of(&["spec", "filters"])))
                .help("the operator reports the filter as failed and creates no models from it"),
            );
        }
        if plan.models_limit_reached {
            diags.push(
                Diagnostic::info(
                    "ModelSourceLimitReached",
                    format!(
                        "AIMClusterModelSource {name}: {} images match but maxModels allows {}",
                        plan.available_models, input.max_models
                    ),
                )
                .at(Some(src.loc_of(&["spec"]))),
            );
        }
        let source_uid = uid(
            lock,
            AIM_API_VERSION,
            "AIMClusterModelSource",
            None,
            name,
            src.aim.as_ref().and_then(|a| a.meta.uid.as_deref()),
        );
        for m in plan.models {
            let mut meta = Map::new();
            meta.insert("name".into(), m.name.clone().into());
            meta.insert(
                "labels".into(),
                serde_json::to_value(&m.labels).unwrap_or_default(),
            );
            meta.insert(
                "annotations".into(),
                serde_json::to_value(&m.annotations).unwrap_or_default(),
            );
            if source_uid.real {
                meta.insert(
                    "ownerReferences".into(),
                    Value::Array(vec![model_source::owner_reference(name, &source_uid.value)]),
                );
            }
            let mut spec_value = m.spec.clone();
            api::apply_defaults(AimKind::ClusterModel, &mut spec_value);
            let Ok(parsed) = api::parse_spec(AimKind::ClusterModel, &spec_value) else {
                continue;
            };
            let mut root = Map::new();
            root.insert("apiVersion".into(), AIM_API_VERSION.into());
            root.insert("kind".into(), "AIMClusterModel".into());
            root.insert("metadata".into(), Value::Object(meta));
            root.insert("spec".into(), spec_value);
            let meta = ObjectMeta {
                name: m.name.clone(),
                labels: m.labels.clone(),
                annotations: m.annotations.clone(),
                ..Default::default()
            };
            created.push(Object {
                source: src.source.clone(),
                doc: src.doc,
                line: src.line,
                col: src.col,
                value: Value::Object(root),
                key: ObjKey {
                    api_version: AIM_API_VERSION.into(),
                    kind: "AIMClusterModel".into(),
                    namespace: None,
                    name: m.name,
                },
                aim: Some(AimObject {
                    kind: AimKind::ClusterModel,
                    meta,
                    spec: parsed,
                }),
                derived: true,
            });
        }
    }
    for obj in created {
        index.insert_derived(obj);
    }
    diags
}
