//! Image labels → the `status.imageMetadata` the operator writes (lock.md "Image labels").
//!
//! Each AIM key is read as `com.amd.aim.<key>`, else `org.amd.silogen.<key>` when the first
//! is empty. Go's `omitempty` decides what is written: empty strings, empty lists and a
//! `false` hfTokenRequired are left out; `model` and `oci` are always there.

use crate::api::aim::{ImageMetadata, ImageModelMetadata, OciMetadata, RecommendedDeployment};
use std::collections::BTreeMap;

const PREFIXES: [&str; 2] = ["com.amd.aim.", "org.amd.silogen."];

/// The metadata of an image with these config labels, or why extraction fails (only a
/// malformed `recommendedDeployments` does, as in the operator).
pub fn image_metadata(labels: &BTreeMap<String, String>) -> Result<ImageMetadata, String> {
    let aim = |key: &str| -> Option<String> {
        PREFIXES
            .iter()
            .filter_map(|p| labels.get(&format!("{p}{key}")))
            .find(|v| !v.is_empty())
            .cloned()
    };
    let oci = |key: &str| {
        labels
            .get(&format!("org.opencontainers.image.{key}"))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let list = |key: &str| aim(key).map(|v| comma_list(&v)).filter(|l| !l.is_empty());
    let recommended_deployments = match aim("model.recommendedDeployments") {
        Some(v) => recommended_deployments(&v)
            .map_err(|e| format!("failed to parse recommended deployments: {e}"))?,
        None => Vec::new(),
    };
    Ok(ImageMetadata {
        model: Some(ImageModelMetadata {
            canonical_name: aim("model.canonicalName"),
            source: aim("model.source"),
            tags: list("model.tags"),
            versions: list("model.versions"),
            variants: list("model.variants"),
            hf_token_required: aim("hfToken.required")
                .and_then(|v| go_parse_bool(&v))
                .filter(|b| *b),
            title: aim("title"),
            description_full: aim("description.full"),
            release_notes: aim("release.notes"),
            recommended_deployments,
        }),
        oci: Some(OciMetadata {
            title: oci("title"),
            description: oci("description"),
            licenses: oci("licenses"),
            vendor: oci("vendor"),
            authors: oci("authors"),
            source: oci("source"),
            documentation: oci("documentation"),
            created: oci("created"),
            revision: oci("revision"),
            version: oci("version"),
        }),
        original_labels: labels.clone(),
    })
}

/// Split at commas, trimmed, empty parts dropped.
fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The operator's normalisation: trim, `'` → `"`, wrap in `[` `]` unless it starts with `[`,
/// then a JSON array. Keys match case-insensitively and unknown keys are ignored, as in Go's
/// `encoding/json`.
fn recommended_deployments(raw: &str) -> Result<Vec<RecommendedDeployment>, String> {
    let mut normalized = raw.trim().replace('\'', "\"");
    if !normalized.starts_with('[') {
        normalized = format!("[{normalized}]");
    }
    let items: Vec<BTreeMap<String, serde_json::Value>> =
        serde_json::from_str(&normalized).map_err(|e| e.to_string())?;
    items.iter().map(deployment).collect()
}

fn deployment(
    fields: &BTreeMap<String, serde_json::Value>,
) -> Result<RecommendedDeployment, String> {
    let mut d = RecommendedDeployment::default();
    for (key, value) in fields {
        let string = || match value {
            serde_json::Value::String(s) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
            serde_json::Value::Null => Ok(None),
            other => Err(format!("{key}: expected a string, found {other}")),
        };
        match key.to_ascii_lowercase().as_str() {
            "gpumodel" => d.gpu_model = string()?,
            "precision" => d.precision = string()?,
            "metric" => d.metric = string()?,
            "profileid" => d.profile_id = string()?,
            "description" => d.description = string()?,
            "gpucount" => {
                d.gpu_count =
                    match value {
                        serde_json::Value::Null => None,
                        v => Some(v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(
                            || format!("{key}: expected a 32-bit integer, found {v}"),
                        )?)
                        .filter(|n| *n != 0),
                    }
            }
            _ => {}
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn com_amd_aim_first_then_silogen_when_empty() {
        let m = image_metadata(&labels(&[
            ("com.amd.aim.model.canonicalName", "amd/new"),
            ("org.amd.silogen.model.canonicalName", "amd/old"),
            ("com.amd.aim.title", ""),
            ("org.amd.silogen.title", "Silogen title"),
            ("org.amd.silogen.model.tags", " chat, ,text-generation "),
        ]))
        .unwrap();
        let model = m.model.unwrap();
        assert_eq!(model.canonical_name.as_deref(), Some("amd/new"));
        assert_eq!(model.title.as_deref(), Some("Silogen title"));
        assert_eq!(
            model.tags,
            Some(vec!["chat".to_owned(), "text-generation".to_owned()])
        );
        assert_eq!(m.original_labels.len(), 5);
    }

    #[test]
    fn hf_token_required_is_go_parse_bool_and_a_bad_value_is_ignored() {
        let get = |v: &str| {
            image_metadata(&labels(&[("com.amd.aim.hfToken.required", v)]))
                .unwrap()
                .model
                .unwrap()
                .hf_token_required
        };
        assert_eq!(get("True"), Some(true));
        assert_eq!(get("T"), Some(true));
        assert_eq!(get("False"), None, "false is omitempty");
        assert_eq!(get("yes"), None);
        // The first non-empty value is the one parsed: a bad com.amd.aim value is not
        // replaced by silogen's.
        let m = image_metadata(&labels(&[
            ("com.amd.aim.hfToken.required", "yes"),
            ("org.amd.silogen.hfToken.required", "true"),
        ]))
        .unwrap();
        assert_eq!(m.model.unwrap().hf_token_required, None);
    }

    #[test]
    fn python_quoted_unbracketed_deployments_parse() {
        let m = image_metadata(&labels(&[(
            "com.amd.aim.model.recommendedDeployments",
            "  {'gpuModel': 'MI300X', 'gpuCount': 1, 'precision': 'fp8', 'metric': 'latency', 'extra': 'x'}, {'GPUMODEL': 'MI325X', 'gpuCount': 8}\n",
        )]))
        .unwrap();
        let d = m.model.unwrap().recommended_deployments;
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].gpu_model.as_deref(), Some("MI300X"));
        assert_eq!(d[0].gpu_count, Some(1));
        assert_eq!(d[0].precision.as_deref(), Some("fp8"));
        assert_eq!(d[1].gpu_model.as_deref(), Some("MI325X"));
        assert_eq!(d[1].gpu_count, Some(8));
    }

    #[test]
    fn malformed_deployments_fail_extraction() {
        let e = image_metadata(&labels(&[(
            "org.amd.silogen.model.recommendedDeployments",
            r#"[{"gpuModel": "MI300X", "gpuCount": }"#,
        )]))
        .unwrap_err();
        assert!(
            e.starts_with("failed to parse recommended deployments"),
            "{e}"
        );
    }

    #[test]
    fn oci_labels_and_no_labels() {
        let m = image_metadata(&labels(&[
            ("org.opencontainers.image.vendor", "AMD"),
            ("org.opencontainers.image.version", "0.8.5"),
        ]))
        .unwrap();
        let oci = m.oci.unwrap();
        assert_eq!(
            (oci.vendor.as_deref(), oci.version.as_deref()),
            (Some("AMD"), Some("0.8.5"))
        );
        let empty = image_metadata(&BTreeMap::new()).unwrap();
        assert_eq!(empty.model, Some(ImageModelMetadata::default()));
        assert_eq!(empty.oci, Some(OciMetadata::default()));
    }
}
