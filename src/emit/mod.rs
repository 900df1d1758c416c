//! Canonical ordering and serialisation of the output (offline.md "Output").

use crate::load::Index;
use crate::render::Rendered;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EmitMode {
    /// Passthrough objects plus what the operator would create in the cluster.
    #[default]
    Concrete,
    /// The input AIM objects with CRD defaults applied, for clusters that run the operator.
    Aim,
    /// Everything aimc derives: concrete objects plus derived AIM objects.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

/// Kinds that are facts about the cluster, never emitted.
fn is_fact(api_version: &str, kind: &str) -> bool {
    api_version == "v1" && kind == "Node"
}

fn rank(api_version: &str, kind: &str, derived_aim: bool) -> u8 {
    match (api_version, kind) {
        ("v1", "Namespace") => 0,
        ("v1", "ServiceAccount") => 1,
        ("v1", "Secret") => 2,
        ("v1", "ConfigMap") => 3,
        ("v1", "PersistentVolumeClaim") => 6,
        ("batch/v1", "Job") => 7,
        (crate::render::isvc::API_VERSION, "InferenceService") => 8,
        (crate::render::route::API_VERSION, "HTTPRoute") => 9,
        _ if derived_aim => 5,
        _ => 4,
    }
}

fn field<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The objects to emit for `mode`, in canonical order: kind order, then namespace, then name.
/// Consumes the index and the rendered objects so nothing is copied.
pub fn collect(index: Index, rendered: Rendered, mode: EmitMode) -> Vec<Value> {
    let mut out: Vec<(bool, Value)> = Vec::new();
    for o in index.into_objects() {
        if is_fact(&o.key.api_version, &o.key.kind) {
            continue;
        }
        // Objects aimc derived itself (a model source's models) are output of `all` only.
        let wanted = match mode {
            _ if o.derived => mode == EmitMode::All,
            EmitMode::Concrete | EmitMode::All => o.aim.is_none(),
            EmitMode::Aim => true,
        };
        if wanted {
            out.push((o.derived, o.value));
        }
    }
    if mode != EmitMode::Aim {
        out.extend(rendered.concrete.into_iter().map(|v| (false, v)));
    }
    if mode == EmitMode::All {
        out.extend(rendered.derived.into_iter().map(|v| (true, v)));
    }
    // Keys are computed once: JSON-pointer lookups in the comparator dominate otherwise.
    let mut keyed: Vec<(SortKey, Value)> = out
        .into_iter()
        .map(|(derived, v)| (sort_key(&v, derived), v))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, v)| v).collect()
}

type SortKey = (u8, String, String, String, String);

fn sort_key(v: &Value, derived: bool) -> SortKey {
    let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let meta = |k: &str| {
        v.get("metadata")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let (api, kind) = (get("apiVersion"), get("kind"));
    (
        rank(api, kind, derived),
        kind.to_owned(),
        api.to_owned(),
        meta("namespace").to_owned(),
        meta("name").to_owned(),
    )
}

#[derive(Debug)]
pub struct EmitError(pub String);

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One object as a YAML document (without the `---` separator).
pub fn yaml_document(v: &Value) -> Result<String, EmitError> {
    serde_saphyr::to_string(v).map_err(|e| EmitError(format!("cannot serialise object: {e}")))
}

/// One object in `format`, ending with a newline.
pub fn document(v: &Value, format: Format) -> Result<String, EmitError> {
    match format {
        Format::Yaml => yaml_document(v),
        Format::Json => serde_json::to_string_pretty(v)
            .map(|s| s + "\n")
            .map_err(|e| EmitError(e.to_string())),
    }
}

/// The whole stream, built in memory so that a failure never leaves a partial stream.
/// Documents are serialised in parallel and joined in order.
pub fn stream(objects: &[Value], format: Format) -> Result<String, EmitError> {
    let chunks: Vec<&[Value]> = objects.chunks(256).collect();
    let parts = crate::load::parallel_map(chunks, |chunk| {
        let mut out = String::new();
        for v in chunk {
            if format == Format::Yaml {
                out.push_str("---\n");
            }
            out.push_str(&document(v, format)?);
        }
        Ok::<String, EmitError>(out)
    });
    let mut out = String::new();
    for p in parts {
        out.push_str(&p?);
    }
    Ok(out)
}

/// One object's file in the `-o` layout: `<namespace or _cluster>/<kind>-<name>.<ext>`, kind
/// lower-cased.
pub fn layout_path(v: &Value, format: Format) -> PathBuf {
    let ext = match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
    };
    let ns = field(v, "/metadata/namespace");
    let dir = if ns.is_empty() { "_cluster" } else { ns };
    let file = format!(
        "{}-{}.{ext}",
        field(v, "/kind").to_ascii_lowercase(),
        field(v, "/metadata/name")
    );
    PathBuf::from(dir).join(file)
}

/// The `-o` layout: every object at its [`layout_path`].
pub fn layout(objects: &[Value], format: Format) -> Result<BTreeMap<PathBuf, String>, EmitError> {
    let mut files = BTreeMap::new();
    for v in objects {
        let path = layout_path(v, format);
        if files.insert(path.clone(), document(v, format)?).is_some() {
            return Err(EmitError(format!(
                "two objects map to the output file {}; they differ only in apiVersion",
                path.display()
            )));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_ambiguous_strings_are_quoted() {
        let v = json!({"env": [{"name": "A", "value": "yes"}, {"name": "B", "value": "1.10"}, {"name": "C", "value": "0755"},
            {"name": "D", "value": "on"}, {"name": "E", "value": "~"}, {"name": "F", "value": "null"}, {"name": "G", "value": "2024-01-01"},
            {"name": "n", "value": "N"}]});
        let y = yaml_document(&v).unwrap();
        for s in [
            "\"yes\"",
            "\"1.10\"",
            "\"0755\"",
            "\"on\"",
            "\"~\"",
            "\"null\"",
            "\"2024-01-01\"",
            "\"n\"",
            "\"N\"",
        ] {
            assert!(y.contains(s), "{s} not quoted in:\n{y}");
        }
    }

    #[test]
    fn stream_separates_documents() {
        let s = stream(&[json!({"a": 1}), json!({"b": 2})], Format::Yaml).unwrap();
        assert_eq!(s, "---\na: 1\n---\nb: 2\n");
    }
}
