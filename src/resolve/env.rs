//! Env-list merging with provenance (service.md §3.2) — every entry remembers which layer
//! supplied it and what it shadowed, for `explain` and for secret-scope diagnostics.

use crate::api::core::EnvVar;
use crate::load::SrcRef;
use crate::naming::merge_json;
use std::sync::Arc;

pub const ENGINE_ARGS: &str = "AIM_ENGINE_ARGS";

/// Which layer of the merge an entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
/// Names are shared (`Arc<str>`): every entry of a layer, in every service, points at them.
pub enum Layer {
    SystemDefault,
    ClusterRuntimeConfig(Arc<str>),
    RuntimeConfig(Arc<str>, Arc<str>),
    Template(Arc<str>),
    Service(Arc<str>, Arc<str>),
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::SystemDefault => f.write_str("operator default"),
            Layer::ClusterRuntimeConfig(n) => write!(f, "AIMClusterRuntimeConfig/{n}"),
            Layer::RuntimeConfig(ns, n) => write!(f, "AIMRuntimeConfig/{ns}/{n}"),
            Layer::Template(t) => write!(f, "template {t}"),
            Layer::Service(ns, n) => write!(f, "AIMService/{ns}/{n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub layer: Layer,
    /// Where the entry is written; `None` for operator defaults and derived values.
    pub location: Option<SrcRef>,
}

/// One env entry of a merged list plus its history.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvEntry {
    pub var: EnvVar,
    pub origin: Origin,
    /// Lower layers' entries this one replaced, lowest first.
    pub shadowed: Vec<(EnvVar, Origin)>,
}

impl EnvEntry {
    pub fn new(var: EnvVar, origin: Origin) -> Self {
        EnvEntry {
            var,
            origin,
            shadowed: Vec::new(),
        }
    }
}

/// Result of merging: entries plus the JSON-merge failures the operator would panic on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merged {
    pub entries: Vec<EnvEntry>,
    pub errors: Vec<String>,
}

/// `MergeEnvVars(defaults, overrides, "AIM_ENGINE_ARGS")`, exactly as the operator: defaults
/// keep their order with overrides replacing in place (only the first occurrence), remaining
/// overrides appended in order, `AIM_ENGINE_ARGS` JSON-deep-merged (valueFrom dropped).
pub fn merge_env(
    defaults: Vec<EnvEntry>,
    overrides: &[EnvEntry],
    errors: &mut Vec<String>,
) -> Vec<EnvEntry> {
    merge_env_with(defaults, overrides, true, errors)
}

/// `MergeEnvVars` without JSON keys, as the cache and download paths call it.
pub fn merge_env_plain(defaults: &[EnvVar], overrides: &[EnvVar]) -> Vec<EnvVar> {
    // Most layers are empty (no runtime-config or artifact env): nothing to merge.
    if overrides.is_empty() {
        return defaults.to_vec();
    }
    let wrap = |v: &[EnvVar]| layer_entries(v, &Layer::SystemDefault, |_| None);
    let mut errors = Vec::new();
    merge_env_with(wrap(defaults), &wrap(overrides), false, &mut errors)
        .into_iter()
        .map(|e| e.var)
        .collect()
}

fn merge_env_with(
    defaults: Vec<EnvEntry>,
    overrides: &[EnvEntry],
    json_engine_args: bool,
    errors: &mut Vec<String>,
) -> Vec<EnvEntry> {
    use std::collections::HashMap;
    if overrides.is_empty() {
        return defaults;
    }
    // Later duplicates in `overrides` win, like the Go map built from the list.
    let mut pending: HashMap<&str, &EnvEntry> = HashMap::new();
    for o in overrides {
        pending.insert(o.var.name.as_str(), o);
    }
    let mut out = Vec::with_capacity(defaults.len() + overrides.len());
    for d in defaults {
        match pending.remove(d.var.name.as_str()) {
            Some(o) => {
                let mut shadowed = d.shadowed.clone();
                shadowed.push((d.var.clone(), d.origin.clone()));
                shadowed.extend(o.shadowed.iter().cloned());
                let var = if json_engine_args && d.var.name == ENGINE_ARGS {
                    let value = match merge_json(d.var.value_str(), o.var.value_str()) {
                        Ok(v) => v,
                        Err(e) => {
                            errors.push(e.to_string());
                            o.var.value_str().to_owned()
                        }
                    };
                    EnvVar::plain(ENGINE_ARGS, value)
                } else {
                    o.var.clone()
                };
                out.push(EnvEntry {
                    var,
                    origin: o.origin.clone(),
                    shadowed,
                });
            }
            None => out.push(d),
        }
    }
    for o in overrides {
        if pending.contains_key(o.var.name.as_str()) {
            out.push(o.clone());
        }
    }
    out
}

/// Wraps a plain list from one layer; `loc(i)` gives the location of entry `i`.
pub fn layer_entries(
    vars: &[EnvVar],
    layer: &Layer,
    loc: impl Fn(usize) -> Option<SrcRef>,
) -> Vec<EnvEntry> {
    vars.iter()
        .enumerate()
        .map(|(i, v)| {
            EnvEntry::new(
                v.clone(),
                Origin {
                    layer: layer.clone(),
                    location: loc(i),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)], layer: Layer) -> Vec<EnvEntry> {
        let vars: Vec<EnvVar> = pairs.iter().map(|(n, v)| EnvVar::plain(*n, *v)).collect();
        layer_entries(&vars, &layer, |_| None)
    }

    fn names_values(e: &[EnvEntry]) -> Vec<(String, String)> {
        e.iter()
            .map(|e| (e.var.name.clone(), e.var.value_str().to_owned()))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn merge_env_vars_vectors() {
        let mut errs = Vec::new();
        assert!(merge_env(vec![], &[], &mut errs).is_empty());
        let d = entries(&[("FOO", "bar"), ("BAZ", "qux")], Layer::SystemDefault);
        assert_eq!(
            names_values(&merge_env(d, &[], &mut errs)),
            pairs(&[("FOO", "bar"), ("BAZ", "qux")])
        );
        let d = entries(&[("FOO", "original")], Layer::SystemDefault);
        let o = entries(&[("FOO", "override")], Layer::Template("t".into()));
        assert_eq!(
            names_values(&merge_env(d, &o, &mut errs)),
            pairs(&[("FOO", "override")])
        );
        let d = entries(
            &[("KEEP", "kept"), ("OVERRIDE", "old")],
            Layer::SystemDefault,
        );
        let o = entries(
            &[("OVERRIDE", "new"), ("NEW", "added")],
            Layer::Template("t".into()),
        );
        let m = merge_env(d, &o, &mut errs);
        assert_eq!(
            names_values(&m),
            pairs(&[("KEEP", "kept"), ("OVERRIDE", "new"), ("NEW", "added")])
        );
        assert_eq!(m[1].origin.layer, Layer::Template("t".into()));
        assert_eq!(m[1].shadowed[0].0.value_str(), "old");
        assert!(errs.is_empty());
    }

    #[test]
    fn plain_merge_replaces_engine_args_whole() {
        let d = [
            EnvVar::plain(ENGINE_ARGS, r#"{"a":1}"#),
            EnvVar::plain("K", "1"),
        ];
        let o = [
            EnvVar::plain(ENGINE_ARGS, r#"{"b":2}"#),
            EnvVar::plain("N", "2"),
        ];
        let m = merge_env_plain(&d, &o);
        assert_eq!(
            m,
            vec![
                EnvVar::plain(ENGINE_ARGS, r#"{"b":2}"#),
                EnvVar::plain("K", "1"),
                EnvVar::plain("N", "2")
            ]
        );
    }

    #[test]
    fn engine_args_are_json_merged() {
        let mut errs = Vec::new();
        let d = entries(
            &[(ENGINE_ARGS, r#"{"max-model-len":4096}"#)],
            Layer::SystemDefault,
        );
        let o = entries(
            &[(ENGINE_ARGS, r#"{"kv-transfer-config":"value"}"#)],
            Layer::Template("t".into()),
        );
        let m = merge_env(d, &o, &mut errs);
        assert_eq!(
            m[0].var.value_str(),
            r#"{"kv-transfer-config":"value","max-model-len":4096}"#
        );
    }

    #[test]
    fn null_engine_args_base_is_an_error_not_a_panic() {
        let mut errs = Vec::new();
        let d = entries(&[(ENGINE_ARGS, "null")], Layer::SystemDefault);
        let o = entries(&[(ENGINE_ARGS, r#"{"a":1}"#)], Layer::Template("t".into()));
        merge_env(d, &o, &mut errs);
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn duplicate_defaults_only_first_replaced_and_later_override_duplicates_win() {
        let mut errs = Vec::new();
        let d = entries(&[("A", "1"), ("A", "2")], Layer::SystemDefault);
        let o = entries(
            &[("A", "x"), ("A", "y"), ("B", "1"), ("B", "2")],
            Layer::Template("t".into()),
        );
        let m = merge_env(d, &o, &mut errs);
        assert_eq!(
            names_values(&m),
            pairs(&[("A", "y"), ("A", "2"), ("B", "1"), ("B", "2")])
        );
    }
}
