//! `--from-cluster FILE|-`: the facts of a `kubectl get … -A -o yaml` List (lock.md). Only a
//! cluster knows discovery results and UIDs; its image metadata and sizes beat a registry's,
//! since the operator never refreshes `status.imageMetadata` once written.

use crate::api::aim::{ImageMetadata, ModelSource};
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::load::lock::{DiscoveredProfile, Discovery};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What an export holds, by the lock file's keys.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Export {
    /// `spec.image` → `status.imageMetadata`, of AIMModels and AIMClusterModels.
    pub images: BTreeMap<String, ImageMetadata>,
    /// `spec.sourceUri` → `status.discoveredSizeBytes`, of AIMArtifacts.
    pub sizes: BTreeMap<String, i64>,
    /// (namespace, template) → discovery result, with `status.discovery.specHash`.
    pub discovery: BTreeMap<(Option<String>, String), Discovery>,
    /// `<Kind>/<namespace>/<name>` → `metadata.uid`, of every item.
    pub uids: BTreeMap<String, String>,
    /// Facts not taken, and why (a status a newer operator writes differently): a warning
    /// each, not an error for the whole export.
    pub skipped: Vec<String>,
}

/// Reads an export. `name` is what diagnostics call it (`-` is stdin). An export that is not
/// a List, or whose items are not objects, is an error: a wrong file must not pass as "no
/// facts".
pub fn parse(name: &Path, text: &str) -> Result<Export, Vec<Diagnostic>> {
    let mut diags = Diagnostics::default();
    let docs = crate::load::parse_documents(name, text, &mut diags);
    if diags.has_errors() {
        return Err(diags.finish());
    }
    let err = |line, col, msg: String| {
        vec![Diagnostic::error("InvalidExport", msg)
            .at(Some(Location::new(name, line, col)))
            .help("export with `kubectl get aimservicetemplates,aimclusterservicetemplates,aimmodels,aimclustermodels,aimartifacts,aimservices -A -o yaml`")]
    };
    let [doc] = docs.as_slice() else {
        return Err(err(
            1,
            1,
            format!(
                "{} holds {} YAML documents; a cluster export is one List",
                name.display(),
                docs.len()
            ),
        ));
    };
    let json = doc.to_json().map_err(|(l, c, m)| err(l, c, m))?;
    let kind = json.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.ends_with("List") {
        return Err(err(
            1,
            1,
            format!(
                "{} is not a List (kind {kind:?}): expected the output of `kubectl get … -A -o yaml`",
                name.display()
            ),
        ));
    }
    let Some(items) = json.get("items").and_then(Value::as_array) else {
        let at = doc.locate(&["items".into()]);
        return Err(err(
            at.line,
            at.col,
            format!("{}: `items` is not a list of objects", name.display()),
        ));
    };
    let mut export = Export::default();
    for (i, item) in items.iter().enumerate() {
        let at = doc.locate(&["items".into(), crate::load::yaml::Seg::Index(i)]);
        export
            .add(item)
            .map_err(|m| err(at.line, at.col, format!("items[{i}]: {m}")))?;
    }
    Ok(export)
}

impl Export {
    fn add(&mut self, item: &Value) -> Result<(), String> {
        let kind = item
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("an item without a kind")?;
        let meta = item.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .ok_or("an item without metadata.name")?;
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(uid) = meta.and_then(|m| m.get("uid")).and_then(Value::as_str) {
            let key = crate::resolve::uid::lock_key(kind, namespace.as_deref(), name);
            self.uids.insert(key, uid.to_owned());
        }
        let is_aim = item
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("aim.eai.amd.com/"));
        if !is_aim {
            return Ok(());
        }
        let status = item.get("status");
        let field =
            |path: &[&str]| -> Option<&Value> { path.iter().try_fold(item, |v, k| v.get(*k)) };
        match kind {
            "AIMModel" | "AIMClusterModel" => {
                if let (Some(image), Some(meta)) = (
                    field(&["spec", "image"]).and_then(Value::as_str),
                    status.and_then(|s| s.get("imageMetadata")),
                ) {
                    match serde_json::from_value::<ImageMetadata>(meta.clone()) {
                        Ok(meta) => {
                            self.images.insert(image.to_owned(), meta);
                        }
                        Err(e) => self
                            .skipped
                            .push(format!("{kind} {name}: status.imageMetadata: {e}")),
                    }
                }
            }
            "AIMArtifact" => {
                if let (Some(uri), Some(size)) = (
                    field(&["spec", "sourceUri"]).and_then(Value::as_str),
                    status
                        .and_then(|s| s.get("discoveredSizeBytes"))
                        .and_then(Value::as_i64),
                ) {
                    self.sizes.insert(uri.to_owned(), size);
                }
            }
            "AIMServiceTemplate" | "AIMClusterServiceTemplate" => {
                match discovery(name, namespace.clone(), status) {
                    Ok(Some(d)) => {
                        self.discovery.insert((namespace, name.to_owned()), d);
                    }
                    Ok(None) => {}
                    Err(e) => self.skipped.push(format!("{kind} {name}: {e}")),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A template's discovery result, when its status has a profile (discovery ran).
fn discovery(
    name: &str,
    namespace: Option<String>,
    status: Option<&Value>,
) -> Result<Option<Discovery>, String> {
    let Some(profile) = status
        .and_then(|s| s.get("profile"))
        .filter(|p| !p.is_null())
    else {
        return Ok(None);
    };
    // A newer operator may report more than aimc reads: only the known fields are taken.
    let mut profile = pick(profile, &["metadata", "engineArgs", "envVars"]);
    // The lock never holds a credential, whatever discovery reported.
    if let Some(Value::Object(env)) = profile.get_mut("envVars") {
        env.retain(|name, _| !crate::diag::credential::is_credential_name(name));
    }
    if let Some(m) = profile.get("metadata") {
        let m = pick(
            m,
            &["engine", "gpu", "gpuCount", "metric", "precision", "type"],
        );
        profile["metadata"] = m;
    }
    let profile: DiscoveredProfile =
        serde_json::from_value(profile).map_err(|e| format!("status.profile: {e}"))?;
    let model_sources: Vec<ModelSource> = match status.and_then(|s| s.get("modelSources")) {
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| format!("status.modelSources: {e}"))?
        }
        None => Vec::new(),
    };
    // The CRD types specHash as a string; an unquoted all-digit hash reads as a number,
    // which the API server would refuse, and whose spelling YAML may not keep (leading zeros).
    let spec_hash = match status
        .and_then(|s| s.get("discovery"))
        .and_then(|d| d.get("specHash"))
    {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
            "status.discovery.specHash is {}, not a string: quote it (kubectl writes it quoted)",
            json_type(other)
        ))
        }
    };
    Ok(Some(Discovery {
        template: name.to_owned(),
        namespace,
        spec_hash,
        model_sources,
        profile,
    }))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn pick(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
