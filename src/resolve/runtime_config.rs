//! Runtime-config lookup and merge (service.md §2): mergo "override" semantics, including
//! the defects where a namespace `false`/`0`/`""` cannot override the cluster value.

use super::env::{layer_entries, merge_env, EnvEntry, Layer};
use crate::api::aim::{
    GatewayRef, LabelPropagation, RoutingConfig, RuntimeConfigSpec, StorageConfig,
};
use crate::api::{AimKind, AimSpec};
use crate::diag::{Diagnostic, Location};
use crate::load::yaml::Seg;
use crate::load::{Index, Object};

/// The merged runtime config of one object, with env provenance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergedConfig {
    pub spec: RuntimeConfigSpec,
    pub env: Vec<EnvEntry>,
    /// The configs that contributed, cluster first.
    pub sources: Vec<Layer>,
}

/// Looks up `name` for an object in `namespace` (None for cluster-scoped objects).
/// `Ok(None)` is "no config" (only for `default`).
pub fn resolve(
    index: &Index,
    namespace: Option<&str>,
    name: &str,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Option<MergedConfig>, String> {
    let ns_obj = namespace.and_then(|ns| index.aim(AimKind::RuntimeConfig, Some(ns), name));
    let cl_obj = index.aim(AimKind::ClusterRuntimeConfig, None, name);
    if ns_obj.is_none() && cl_obj.is_none() {
        if name == "default" {
            return Ok(None);
        }
        return Err(format!("RuntimeConfig {name} not found"));
    }
    let mut merged = MergedConfig::default();
    let mut errors = Vec::new();
    for (obj, layer) in [
        (cl_obj, Layer::ClusterRuntimeConfig(name.into())),
        (
            ns_obj,
            Layer::RuntimeConfig(namespace.unwrap_or_default().into(), name.into()),
        ),
    ] {
        let Some(obj) = obj else { continue };
        let Some(spec) = spec_of(obj) else { continue };
        let spec = migrate(spec.clone());
        if !merged.sources.is_empty() {
            warn_defects(&merged.spec, &spec, obj, warnings);
        }
        let entries = layer_entries(&spec.env, &layer, |i| {
            Some(obj.src(&["spec".into(), "env".into(), Seg::Index(i)]))
        });
        merged.env = if merged.env.is_empty() {
            entries
        } else {
            merge_env(std::mem::take(&mut merged.env), &entries, &mut errors)
        };
        merge_spec(&mut merged.spec, spec);
        merged.sources.push(layer);
    }
    merged.spec.env = merged.env.iter().map(|e| e.var.clone()).collect();
    if let Some(e) = errors.into_iter().next() {
        return Err(format!("AIM_ENGINE_ARGS cannot be merged: {e}"));
    }
    Ok(Some(merged))
}

fn spec_of(obj: &Object) -> Option<&RuntimeConfigSpec> {
    match obj.aim.as_ref().map(|a| &a.spec) {
        Some(AimSpec::RuntimeConfig(s)) => Some(s),
        _ => None,
    }
}

/// Deprecated top-level fields move into `storage` unless already set there (§2.3).
pub fn migrate(mut spec: RuntimeConfigSpec) -> RuntimeConfigSpec {
    if let Some(sc) = spec
        .default_storage_class_name
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        let storage = spec.storage.get_or_insert_with(StorageConfig::default);
        if storage.default_storage_class_name.is_none() {
            storage.default_storage_class_name = Some(sc.clone());
        }
    }
    if let Some(h) = spec.pvc_headroom_percent {
        let storage = spec.storage.get_or_insert_with(StorageConfig::default);
        if storage.pvc_headroom_percent.is_none() {
            storage.pvc_headroom_percent = Some(h);
        }
    }
    spec
}

fn nonempty(s: &Option<String>) -> Option<&String> {
    s.as_ref().filter(|s| !s.is_empty())
}

fn merge_str(dst: &mut Option<String>, src: Option<String>) {
    match (dst.as_mut(), src) {
        (_, None) => {}
        (None, Some(s)) => *dst = Some(s),
        (Some(d), Some(s)) => {
            if !s.is_empty() {
                *d = s
            }
        }
    }
}

fn merge_int(dst: &mut Option<i32>, src: Option<i32>) {
    match (dst.as_mut(), src) {
        (_, None) => {}
        (None, Some(s)) => *dst = Some(s),
        (Some(d), Some(s)) => {
            if s != 0 {
                *d = s
            }
        }
    }
}

fn merge_bool(dst: &mut Option<bool>, src: Option<bool>) {
    match (dst.as_mut(), src) {
        (_, None) => {}
        (None, Some(s)) => *dst = Some(s),
        (Some(d), Some(s)) => {
            if s {
                *d = true
            }
        }
    }
}

fn merge_opt<T>(dst: &mut Option<T>, src: Option<T>, f: impl FnOnce(&mut T, T)) {
    match (dst.as_mut(), src) {
        (_, None) => {}
        (None, Some(s)) => *dst = Some(s),
        (Some(d), Some(s)) => f(d, s),
    }
}

/// One mergo override step (`dst` = lower layer, `src` = higher). Env is merged separately.
pub fn merge_spec(dst: &mut RuntimeConfigSpec, src: RuntimeConfigSpec) {
    merge_opt(&mut dst.storage, src.storage, |d, s| {
        merge_str(
            &mut d.default_storage_class_name,
            s.default_storage_class_name,
        );
        merge_int(&mut d.pvc_headroom_percent, s.pvc_headroom_percent);
    });
    merge_opt(&mut dst.routing, src.routing, merge_routing);
    merge_opt(&mut dst.model, src.model, |d, s| {
        merge_bool(&mut d.auto_discovery, s.auto_discovery)
    });
    merge_opt(
        &mut dst.label_propagation,
        src.label_propagation,
        |d: &mut LabelPropagation, s| {
            d.enabled = d.enabled || s.enabled;
            if !s.r#match.is_empty() {
                d.r#match = s.r#match;
            }
        },
    );
    if !src.env.is_empty() && dst.env.is_empty() {
        dst.env = src.env;
    }
    merge_str(
        &mut dst.default_storage_class_name,
        src.default_storage_class_name,
    );
    merge_int(&mut dst.pvc_headroom_percent, src.pvc_headroom_percent);
}

fn merge_routing(d: &mut RoutingConfig, s: RoutingConfig) {
    merge_bool(&mut d.enabled, s.enabled);
    merge_opt(
        &mut d.gateway_ref,
        s.gateway_ref,
        |d: &mut GatewayRef, s| {
            if !s.name.is_empty() {
                d.name = s.name;
            }
            merge_str(&mut d.group, s.group);
            merge_str(&mut d.kind, s.kind);
            merge_str(&mut d.namespace, s.namespace);
            merge_str(&mut d.section_name, s.section_name);
            merge_int(&mut d.port, s.port);
        },
    );
    merge_str(&mut d.path_template, s.path_template);
    // A zero duration cannot override either; "0s" and friends parse to zero.
    match (d.request_timeout.as_mut(), s.request_timeout) {
        (_, None) => {}
        (None, Some(t)) => d.request_timeout = Some(t),
        (Some(dv), Some(t)) => {
            if !is_zero_duration(&t) {
                *dv = t
            }
        }
    }
    for (k, v) in s.annotations {
        d.annotations.insert(k, v);
    }
}

fn is_zero_duration(s: &str) -> bool {
    super::duration::parse(s)
        .map(|d| d == 0)
        .unwrap_or(s.is_empty())
}

/// Warns where the namespace config tries something the operator's merge silently ignores.
fn warn_defects(
    cluster: &RuntimeConfigSpec,
    ns: &RuntimeConfigSpec,
    obj: &Object,
    out: &mut Vec<Diagnostic>,
) {
    let loc = |path: &[&str]| -> Option<Location> { Some(obj.loc_of(path)) };
    let mut warn = |path: &[&str], what: String| {
        out.push(
            Diagnostic::warning("MergeDefect", what)
                .at(loc(path))
                .help("the operator's merge only overrides with non-zero values; change the cluster config or use a differently named runtime config"),
        );
    };
    let cr = cluster.routing.as_ref();
    let nr = ns.routing.as_ref();
    if nr.and_then(|r| r.enabled) == Some(false) && cr.and_then(|r| r.enabled) == Some(true) {
        warn(&["spec", "routing", "enabled"], "routing.enabled: false cannot override the cluster config's true; routing stays enabled".into());
    }
    if nr.and_then(|r| r.path_template.as_deref()) == Some("")
        && cr.and_then(|r| nonempty(&r.path_template)).is_some()
    {
        warn(
            &["spec", "routing", "pathTemplate"],
            "an empty pathTemplate cannot clear the cluster config's template".into(),
        );
    }
    if let (Some(n), Some(c)) = (
        nr.and_then(|r| r.gateway_ref.as_ref()),
        cr.and_then(|r| r.gateway_ref.as_ref()),
    ) {
        if n.namespace.is_none() && c.namespace.is_some() && n.name != c.name {
            warn(
                &["spec", "routing", "gatewayRef"],
                format!(
                    "gatewayRef is merged field by field: name {:?} is combined with the cluster config's namespace {:?}",
                    n.name,
                    c.namespace.as_deref().unwrap_or_default()
                ),
            );
        }
    }
    if nr
        .and_then(|r| r.request_timeout.as_deref())
        .is_some_and(is_zero_duration)
        && cr.and_then(|r| r.request_timeout.as_ref()).is_some()
    {
        warn(
            &["spec", "routing", "requestTimeout"],
            "a zero requestTimeout cannot override the cluster config's timeout".into(),
        );
    }
    let (cs, nsst) = (cluster.storage.as_ref(), ns.storage.as_ref());
    if nsst.and_then(|s| s.pvc_headroom_percent) == Some(0)
        && cs
            .and_then(|s| s.pvc_headroom_percent)
            .is_some_and(|h| h != 0)
    {
        warn(
            &["spec", "storage", "pvcHeadroomPercent"],
            "pvcHeadroomPercent: 0 cannot override the cluster config's value".into(),
        );
    }
    if ns.label_propagation.as_ref().is_some_and(|l| !l.enabled)
        && cluster
            .label_propagation
            .as_ref()
            .is_some_and(|l| l.enabled)
    {
        let explicitly = obj.is_written(&["spec", "labelPropagation", "enabled"]);
        if explicitly {
            warn(
                &["spec", "labelPropagation", "enabled"],
                "labelPropagation.enabled: false cannot override the cluster config's true".into(),
            );
        }
    }
    if ns.model.as_ref().and_then(|m| m.auto_discovery) == Some(false)
        && cluster.model.as_ref().and_then(|m| m.auto_discovery) == Some(true)
    {
        warn(
            &["spec", "model", "autoDiscovery"],
            "model.autoDiscovery: false cannot override the cluster config's true".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::EnvVar;
    use std::collections::BTreeMap;

    fn spec(v: serde_json::Value) -> RuntimeConfigSpec {
        let mut v = v;
        crate::api::apply_defaults(AimKind::ClusterRuntimeConfig, &mut v);
        serde_json::from_value(v).unwrap()
    }

    /// service.md §2.4 worked example.
    #[test]
    fn worked_example() {
        let cluster = spec(serde_json::json!({
            "storage": {"defaultStorageClassName": "cluster-sc", "pvcHeadroomPercent": 20},
            "routing": {"enabled": true, "gatewayRef": {"name": "gw-a", "namespace": "infra"},
                "pathTemplate": "/c/{.metadata.name}", "requestTimeout": "60s", "annotations": {"a": "1", "b": "2"}},
            "env": [{"name": "X", "value": "c"}, {"name": "AIM_ENGINE_ARGS", "value": "{\"a\":1}"}],
            "labelPropagation": {"enabled": true, "match": ["org/*", "team"]}}));
        let ns = spec(serde_json::json!({
            "storage": {"pvcHeadroomPercent": 0},
            "routing": {"enabled": false, "gatewayRef": {"name": "gw-b"}, "pathTemplate": "", "requestTimeout": "0s",
                "annotations": {"b": "", "c": "3"}},
            "env": [{"name": "AIM_ENGINE_ARGS", "value": "{\"b\":2}"}, {"name": "Y", "value": "n"}],
            "labelPropagation": {"enabled": false, "match": []}}));
        let mut merged = RuntimeConfigSpec::default();
        merge_spec(&mut merged, cluster.clone());
        merge_spec(&mut merged, ns.clone());
        let st = merged.storage.as_ref().unwrap();
        assert_eq!(st.default_storage_class_name.as_deref(), Some("cluster-sc"));
        assert_eq!(st.pvc_headroom_percent, Some(20));
        let r = merged.routing.as_ref().unwrap();
        assert_eq!(r.enabled, Some(true));
        let gw = r.gateway_ref.as_ref().unwrap();
        assert_eq!(
            (
                gw.group.as_deref(),
                gw.kind.as_deref(),
                gw.namespace.as_deref(),
                gw.name.as_str()
            ),
            (
                Some("gateway.networking.k8s.io"),
                Some("Gateway"),
                Some("infra"),
                "gw-b"
            )
        );
        assert_eq!(r.path_template.as_deref(), Some("/c/{.metadata.name}"));
        assert_eq!(r.request_timeout.as_deref(), Some("60s"));
        let ann: BTreeMap<String, String> = [("a", "1"), ("b", ""), ("c", "3")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(r.annotations, ann);
        let lp = merged.label_propagation.as_ref().unwrap();
        assert!(lp.enabled);
        assert_eq!(lp.r#match, vec!["org/*".to_string(), "team".to_string()]);

        let mut errs = Vec::new();
        let c = layer_entries(
            &cluster.env,
            &Layer::ClusterRuntimeConfig("default".into()),
            |_| None,
        );
        let n = layer_entries(
            &ns.env,
            &Layer::RuntimeConfig("ns".into(), "default".into()),
            |_| None,
        );
        let env: Vec<EnvVar> = merge_env(c, &n, &mut errs)
            .into_iter()
            .map(|e| e.var)
            .collect();
        assert_eq!(
            env,
            vec![
                EnvVar::plain("X", "c"),
                EnvVar::plain("AIM_ENGINE_ARGS", r#"{"a":1,"b":2}"#),
                EnvVar::plain("Y", "n")
            ]
        );
    }

    #[test]
    fn unit_test_facts() {
        let mut m = RuntimeConfigSpec::default();
        merge_spec(
            &mut m,
            spec(
                serde_json::json!({"storage": {"pvcHeadroomPercent": 10, "defaultStorageClassName": "cluster-sc"}}),
            ),
        );
        merge_spec(
            &mut m,
            spec(serde_json::json!({"storage": {"pvcHeadroomPercent": 20}})),
        );
        assert_eq!(m.storage.as_ref().unwrap().pvc_headroom_percent, Some(20));
        assert_eq!(
            m.storage
                .as_ref()
                .unwrap()
                .default_storage_class_name
                .as_deref(),
            Some("cluster-sc")
        );

        let mut m = RuntimeConfigSpec::default();
        merge_spec(
            &mut m,
            spec(
                serde_json::json!({"routing": {"enabled": true, "pathTemplate": "/cluster/{.metadata.name}"}}),
            ),
        );
        merge_spec(
            &mut m,
            spec(serde_json::json!({"routing": {"pathTemplate": "/namespace/{.metadata.name}"}})),
        );
        assert_eq!(
            m.routing.as_ref().unwrap().path_template.as_deref(),
            Some("/namespace/{.metadata.name}")
        );
        assert_eq!(m.routing.as_ref().unwrap().enabled, Some(true));

        let mut m = RuntimeConfigSpec::default();
        merge_spec(
            &mut m,
            spec(serde_json::json!({"storage": {"defaultStorageClassName": "sc"}})),
        );
        merge_spec(&mut m, spec(serde_json::json!({})));
        assert_eq!(
            m.storage
                .as_ref()
                .unwrap()
                .default_storage_class_name
                .as_deref(),
            Some("sc")
        );
    }

    #[test]
    fn migration() {
        let s = migrate(spec(
            serde_json::json!({"defaultStorageClassName": "old-sc"}),
        ));
        assert_eq!(
            s.storage
                .as_ref()
                .unwrap()
                .default_storage_class_name
                .as_deref(),
            Some("old-sc")
        );
        assert_eq!(
            s.default_storage_class_name.as_deref(),
            Some("old-sc"),
            "deprecated field stays set"
        );
        let s = migrate(spec(
            serde_json::json!({"defaultStorageClassName": "old-sc", "storage": {"defaultStorageClassName": "new-sc"}}),
        ));
        assert_eq!(
            s.storage
                .as_ref()
                .unwrap()
                .default_storage_class_name
                .as_deref(),
            Some("new-sc")
        );
        let s = migrate(spec(serde_json::json!({"defaultStorageClassName": ""})));
        assert!(s.storage.is_none());
        // CRD defaulting puts 10 into any storage block, hiding a deprecated headroom.
        let s = migrate(spec(
            serde_json::json!({"pvcHeadroomPercent": 25, "storage": {}}),
        ));
        assert_eq!(s.storage.as_ref().unwrap().pvc_headroom_percent, Some(10));
        let s = migrate(spec(serde_json::json!({"pvcHeadroomPercent": 25})));
        assert_eq!(s.storage.as_ref().unwrap().pvc_headroom_percent, Some(25));
    }
}
