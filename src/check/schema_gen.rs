//! CustomResourceDefinition → JSON Schema (draft 2020-12).
//!
//! A CRD's `openAPIV3Schema` is OpenAPI 3.0 with Kubernetes extensions, which a JSON Schema
//! validator reads differently from the API server. [`generate`] rewrites it so that a plain
//! validator accepts and rejects what the API server would (short of CEL, which
//! `check::cel` evaluates with kube-cel):
//!
//! - `nullable: true` adds `null` to the allowed types (and to `enum`);
//! - `x-kubernetes-int-or-string: true` becomes `anyOf: [integer, string]`;
//! - an object that declares `properties` gets `additionalProperties: false` (the API server
//!   rejects unknown fields under strict field validation), unless it carries
//!   `x-kubernetes-preserve-unknown-fields: true`;
//! - OpenAPI 3.0's boolean `exclusiveMinimum`/`exclusiveMaximum` become 2020-12's numbers;
//! - formats the validator cannot check the way Kubernetes does (`int32`, `int64`, `byte`,
//!   Go `duration`, …) are dropped;
//! - every other `x-kubernetes-*` extension, `example` and `externalDocs` are dropped;
//!   `description` and `default` stay, for editors (a default is only an annotation);
//! - the top level pins `apiVersion` and `kind` and types `metadata` loosely.
//!
//! Anything else the generator does not know is an error, so a new OpenAPI construct in a
//! future CRD cannot be silently mistranslated.

use serde_json::{json, Map, Value};

/// The `$schema` of every generated schema.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Formats whose JSON Schema meaning matches Kubernetes' and that `jsonschema` checks without
/// optional features. Kubernetes' `duration` is a Go duration (`5m`), not ISO 8601, and its
/// `uri` is Go's `url.ParseRequestURI`: both would reject values the API server accepts.
const CHECKED_FORMATS: [&str; 7] = [
    "date",
    "date-time",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Keywords copied unchanged.
const KEPT: [&str; 14] = [
    "description",
    "title",
    "required",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "uniqueItems",
];

/// The output schemas generated from CRDs: (CRD, version, schema), paths under `schemas/`.
/// The PVC and Job schemas are Kubernetes' own JSON Schemas, copied as they are.
pub const OUTPUT_CRDS: [(&str, &str, &str); 2] = [
    (
        "crds/kserve/serving.kserve.io_inferenceservices.yaml",
        "v1beta1",
        "out/inferenceservice-serving.kserve.io-v1beta1.json",
    ),
    (
        "crds/gateway-api/gateway.networking.k8s.io_httproutes.yaml",
        "v1",
        "out/httproute-gateway.networking.k8s.io-v1.json",
    ),
];

/// The JSON Schema of the CRD's storage version (its only version, for most CRDs).
pub fn generate(crd_yaml: &str) -> Result<Value, String> {
    generate_version(crd_yaml, None)
}

/// The JSON Schema of version `version` of the CRD, or of its storage version when `None`.
pub fn generate_version(crd_yaml: &str, version: Option<&str>) -> Result<Value, String> {
    let docs = crate::load::yaml::parse_values(crd_yaml)
        .map_err(|e| format!("{}:{}: {}", e.line, e.col, e.message))?;
    let mut docs = docs.into_iter().map(|(_, _, v)| v).filter(|v| !v.is_null());
    let crd = match (docs.next(), docs.next()) {
        (Some(crd), None) => crd,
        _ => return Err("expected exactly one YAML document".to_owned()),
    };
    if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Err("not a CustomResourceDefinition".to_owned());
    }
    let text = |ptr: &str| {
        crd.pointer(ptr)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("CRD has no {ptr}"))
    };
    let group = text("/spec/group")?;
    let kind = text("/spec/names/kind")?;
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .ok_or("CRD has no /spec/versions")?;
    let chosen = match version {
        Some(name) => versions
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| format!("CRD {kind} has no version {name}"))?,
        None => match versions.as_slice() {
            [only] => only,
            _ => versions
                .iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .ok_or_else(|| format!("CRD {kind} has no storage version"))?,
        },
    };
    let version_name = chosen
        .get("name")
        .and_then(Value::as_str)
        .ok_or("version without a name")?;
    let root = chosen
        .pointer("/schema/openAPIV3Schema")
        .ok_or_else(|| format!("version {version_name} has no schema.openAPIV3Schema"))?;
    let api_version = format!("{group}/{version_name}");
    let converted = convert(root, "", false)?;
    Ok(top_level(converted, &api_version, kind))
}

/// Wraps the converted root: pins apiVersion and kind, loosens metadata, requires the three
/// fields every object has.
fn top_level(converted: Value, api_version: &str, kind: &str) -> Value {
    let Value::Object(mut root) = converted else {
        return converted;
    };
    let mut out = Map::new();
    out.insert("$schema".to_owned(), json!(DRAFT_2020_12));
    out.insert("title".to_owned(), json!(format!("{kind} ({api_version})")));
    if let Some(d) = root.remove("description") {
        out.insert("description".to_owned(), d);
    }
    out.insert("type".to_owned(), json!("object"));
    let mut required = vec![json!("apiVersion"), json!("kind"), json!("metadata")];
    if let Some(Value::Array(r)) = root.remove("required") {
        for field in r {
            if !required.contains(&field) {
                required.push(field);
            }
        }
    }
    out.insert("required".to_owned(), Value::Array(required));
    let mut props = match root.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    props.insert(
        "apiVersion".to_owned(),
        json!({"type": "string", "const": api_version}),
    );
    props.insert("kind".to_owned(), json!({"type": "string", "const": kind}));
    props.insert("metadata".to_owned(), metadata_schema());
    // apiVersion, kind and metadata first, then the CRD's own order (spec, status).
    let mut ordered = Map::new();
    for key in ["apiVersion", "kind", "metadata"] {
        if let Some(v) = props.remove(key) {
            ordered.insert(key.to_owned(), v);
        }
    }
    ordered.extend(props);
    out.insert("properties".to_owned(), Value::Object(ordered));
    out.insert("additionalProperties".to_owned(), json!(false));
    Value::Object(out)
}

/// ObjectMeta as far as a manifest in Git needs it: the API server fills in the rest, and a
/// manifest exported from a cluster (uid, resourceVersion, managedFields) must still pass.
fn metadata_schema() -> Value {
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "labels": string_map,
            "annotations": string_map,
        },
    })
}

/// Converts one OpenAPI schema node. `in_junctor`: the node is a branch of allOf/anyOf/oneOf/
/// not, where `properties` constrain only what they name and must not forbid the rest.
fn convert(node: &Value, path: &str, in_junctor: bool) -> Result<Value, String> {
    let Some(src) = node.as_object() else {
        return Err(format!("{path}: schema is not an object"));
    };
    let flag = |key: &str| src.get(key).and_then(Value::as_bool) == Some(true);
    let nullable = flag("nullable");
    let preserve_unknown = flag("x-kubernetes-preserve-unknown-fields");
    let mut out = Map::new();
    for (key, value) in src {
        let here = format!("{path}/{key}");
        match key.as_str() {
            k if KEPT.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            "default" => {
                out.insert(key.clone(), value.clone());
            }
            "type" => {
                let t = if nullable && value.as_str().is_some_and(|t| t != "null") {
                    json!([value, "null"])
                } else {
                    value.clone()
                };
                out.insert(key.clone(), t);
            }
            "enum" => {
                let mut values = value
                    .as_array()
                    .ok_or_else(|| format!("{here}: enum is not a list"))?
                    .clone();
                if nullable && !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
                out.insert(key.clone(), Value::Array(values));
            }
            "format" => {
                if value.as_str().is_some_and(|f| CHECKED_FORMATS.contains(&f)) {
                    out.insert(key.clone(), value.clone());
                }
            }
            "properties" => {
                let props = value
                    .as_object()
                    .ok_or_else(|| format!("{here}: properties is not a mapping"))?;
                let mut converted = Map::new();
                for (name, schema) in props {
                    converted.insert(
                        name.clone(),
                        convert(schema, &format!("{here}/{name}"), false)?,
                    );
                }
                out.insert(key.clone(), Value::Object(converted));
            }
            "items" => {
                out.insert(key.clone(), convert(value, &here, false)?);
            }
            "additionalProperties" => {
                let v = match value {
                    Value::Bool(_) => value.clone(),
                    _ => convert(value, &here, false)?,
                };
                out.insert(key.clone(), v);
            }
            "allOf" | "anyOf" | "oneOf" => {
                let branches = value
                    .as_array()
                    .ok_or_else(|| format!("{here}: {key} is not a list"))?;
                let converted = branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| convert(b, &format!("{here}/{i}"), true))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert(key.clone(), Value::Array(converted));
            }
            "not" => {
                out.insert(key.clone(), convert(value, &here, true)?);
            }
            "exclusiveMinimum" | "exclusiveMaximum" => {
                // OpenAPI 3.0: a boolean that makes minimum/maximum exclusive; handled below.
                if !value.is_boolean() {
                    out.insert(key.clone(), value.clone());
                }
            }
            "nullable" | "example" | "externalDocs" => {}
            "x-kubernetes-int-or-string" => {
                if value.as_bool() == Some(true)
                    && !src.contains_key("anyOf")
                    && !src.contains_key("oneOf")
                {
                    out.insert(
                        "anyOf".to_owned(),
                        json!([{"type": "integer"}, {"type": "string"}]),
                    );
                }
            }
            k if k.starts_with("x-kubernetes-") => {}
            _ => return Err(format!("{here}: keyword `{key}` is not supported")),
        }
    }
    for (flag_key, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if flag(flag_key) {
            if let Some(limit) = out.remove(bound) {
                out.insert(flag_key.to_owned(), limit);
            }
        }
    }
    if nullable && !out.contains_key("type") {
        // int-or-string and other typeless nodes: null is one more alternative.
        if let Some(Value::Array(branches)) = out.get_mut("anyOf") {
            branches.push(json!({"type": "null"}));
        }
    }
    if flag("x-kubernetes-embedded-resource") {
        // An embedded object always has these, whether or not its schema lists them.
        if let Some(Value::Object(props)) = out.get_mut("properties") {
            for field in ["apiVersion", "kind"] {
                props
                    .entry(field.to_owned())
                    .or_insert_with(|| json!({"type": "string"}));
            }
            props
                .entry("metadata".to_owned())
                .or_insert_with(|| json!({"type": "object"}));
        }
    }
    if out.contains_key("properties")
        && !preserve_unknown
        && !in_junctor
        && !out.contains_key("additionalProperties")
    {
        out.insert("additionalProperties".to_owned(), json!(false));
    }
    Ok(Value::Object(out))
}

/// A schema as checked in: two-space JSON and a final newline.
pub fn to_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn crd(version_schema: &str) -> String {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: ex.io\n  names: {{kind: Thing}}\n  versions:\n  - name: v1\n    storage: true\n    schema:\n      openAPIV3Schema:\n{}",
            version_schema
                .lines()
                .map(|l| format!("        {l}\n"))
                .collect::<String>()
        )
    }

    fn spec_of(schema: &str) -> Value {
        let v = generate(&crd(&format!(
            "type: object\nproperties:\n  spec:\n{}",
            schema
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        )))
        .unwrap();
        v["properties"]["spec"].clone()
    }

    #[test]
    fn nullable_allows_null() {
        let s = spec_of("type: string\nnullable: true\nenum: [a, b]");
        assert_eq!(
            s,
            json!({"type": ["string", "null"], "enum": ["a", "b", null]})
        );
    }

    #[test]
    fn int_or_string_becomes_any_of() {
        let s = spec_of("x-kubernetes-int-or-string: true");
        assert_eq!(
            s,
            json!({"anyOf": [{"type": "integer"}, {"type": "string"}]})
        );
        // controller-gen writes the anyOf itself; it is kept, not doubled.
        let s = spec_of(
            "anyOf:\n- type: integer\n- type: string\npattern: ^[0-9]+$\nx-kubernetes-int-or-string: true",
        );
        assert_eq!(
            s,
            json!({"anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": "^[0-9]+$"})
        );
    }

    #[test]
    fn objects_with_properties_are_strict_unless_preserving_unknown_fields() {
        let s = spec_of("type: object\nproperties:\n  a: {type: string}");
        assert_eq!(s["additionalProperties"], json!(false));
        let s = spec_of(
            "type: object\nx-kubernetes-preserve-unknown-fields: true\nproperties:\n  a: {type: string}",
        );
        assert!(s.get("additionalProperties").is_none());
        // A map keeps its value schema; a bare object is left open.
        let s = spec_of("type: object\nadditionalProperties: {type: string}");
        assert_eq!(s["additionalProperties"], json!({"type": "string"}));
        let s = spec_of("type: object");
        assert!(s.get("additionalProperties").is_none());
        // A junctor branch constrains only what it names.
        let s = spec_of("type: object\nproperties:\n  a: {type: string}\nanyOf:\n- properties:\n    a: {minLength: 1}");
        assert!(s["anyOf"][0].get("additionalProperties").is_none());
    }

    #[test]
    fn keeps_constraints_and_drops_unknown_formats_and_extensions() {
        let s = spec_of(
            "type: object\nrequired: [count]\nproperties:\n  count: {type: integer, format: int32, minimum: 1, maximum: 9, default: 1}\n  t: {type: string, format: date-time, pattern: ^x, minLength: 1, maxLength: 3}\n  l: {type: array, items: {type: string}, minItems: 1, maxItems: 2, x-kubernetes-list-type: set}\nx-kubernetes-validations:\n- rule: has(self.count)",
        );
        assert_eq!(
            s,
            json!({
                "type": "object",
                "required": ["count"],
                    "properties": {
                    "count": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1},
                    "t": {"type": "string", "format": "date-time", "pattern": "^x", "minLength": 1, "maxLength": 3},
                    "l": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                },
                "additionalProperties": false,
            })
        );
    }

    #[test]
    fn openapi_exclusive_bounds_become_numbers() {
        let s = spec_of("type: number\nminimum: 0\nexclusiveMinimum: true\nmaximum: 1");
        assert_eq!(
            s,
            json!({"type": "number", "exclusiveMinimum": 0, "maximum": 1})
        );
    }

    #[test]
    fn unknown_keywords_are_errors() {
        let e = generate(&crd("type: object\n$ref: '#/x'")).unwrap_err();
        assert!(e.contains("`$ref` is not supported"), "{e}");
    }

    #[test]
    fn top_level_pins_api_version_and_kind_and_loosens_metadata() {
        let v = generate(&crd(
            "type: object\nproperties:\n  apiVersion: {type: string}\n  kind: {type: string}\n  metadata: {type: object}\n  spec: {type: object}",
        ))
        .unwrap();
        assert_eq!(v["$schema"], DRAFT_2020_12);
        assert_eq!(v["properties"]["apiVersion"]["const"], "ex.io/v1");
        assert_eq!(v["properties"]["kind"]["const"], "Thing");
        assert_eq!(v["required"], json!(["apiVersion", "kind", "metadata"]));
        assert_eq!(v["additionalProperties"], json!(false));
        let meta = &v["properties"]["metadata"];
        assert_eq!(
            meta["properties"]["labels"]["additionalProperties"]["type"],
            "string"
        );
        assert!(meta.get("additionalProperties").is_none());
    }

    #[test]
    fn picks_the_requested_or_the_storage_version() {
        let two = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: ex.io\n  names: {kind: Thing}\n  versions:\n  - name: v1\n    storage: true\n    schema: {openAPIV3Schema: {type: object, description: one}}\n  - name: v1beta1\n    storage: false\n    schema: {openAPIV3Schema: {type: object, description: beta}}\n";
        assert_eq!(generate(two).unwrap()["description"], "one");
        let beta = generate_version(two, Some("v1beta1")).unwrap();
        assert_eq!(beta["description"], "beta");
        assert_eq!(beta["properties"]["apiVersion"]["const"], "ex.io/v1beta1");
        assert!(generate_version(two, Some("v2")).is_err());
    }

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
    }

    /// Every generated schema, as (path under schemas/ → text), from the checked-in CRDs.
    fn regenerate() -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        let aim = root().join("crds/aim");
        let mut crds: Vec<PathBuf> = std::fs::read_dir(&aim)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        crds.sort();
        assert_eq!(crds.len(), 10, "the ten AIM CRDs");
        for path in crds {
            let schema = generate(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let kind = schema["properties"]["kind"]["const"]
                .as_str()
                .unwrap()
                .to_lowercase();
            out.insert(PathBuf::from(format!("aim/{kind}.json")), to_text(&schema));
        }
        for (crd, version, target) in OUTPUT_CRDS {
            let text = std::fs::read_to_string(root().join(crd)).unwrap();
            let schema =
                generate_version(&text, Some(version)).unwrap_or_else(|e| panic!("{crd}: {e}"));
            out.insert(PathBuf::from(target), to_text(&schema));
        }
        out
    }

    fn checked_in(generated: &BTreeMap<PathBuf, String>) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        // Every file in schemas/aim/, so a stale schema of a removed CRD shows up too.
        for (rel, text) in crate::golden::read_dir(&root().join("aim")).unwrap_or_default() {
            out.insert(Path::new("aim").join(rel), text);
        }
        for path in generated.keys().filter(|p| p.starts_with("out")) {
            if let Ok(text) = std::fs::read_to_string(root().join(path)) {
                out.insert(path.clone(), text);
            }
        }
        out
    }

    /// `AIMC_UPDATE_SCHEMAS=1 cargo test --lib schema_gen` rewrites them (refused under CI).
    #[test]
    fn checked_in_schemas_are_current() {
        let generated = regenerate();
        let update = std::env::var_os("AIMC_UPDATE_SCHEMAS").is_some_and(|v| v == "1");
        if update {
            assert!(
                std::env::var_os("CI").is_none(),
                "refusing to update schemas when CI is set"
            );
            for (rel, text) in &generated {
                let path = root().join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, text).unwrap();
            }
            // Schemas of CRDs that are gone.
            for rel in checked_in(&generated).keys() {
                if !generated.contains_key(rel) {
                    std::fs::remove_file(root().join(rel)).unwrap();
                }
            }
        }
        if let Some(diff) = crate::golden::compare(&checked_in(&generated), &generated) {
            panic!(
                "schemas/ differs from what the generator makes of schemas/crds/; review, then \
                 run `AIMC_UPDATE_SCHEMAS=1 cargo test --lib schema_gen`:\n{diff}"
            );
        }
    }
}
