//! The Private Registries guide as rules: credentials as literals, plain Secrets in Git, and
//! images whose registry no available pull secret serves. Values never reach a message.

use crate::api::core::EnvVar;
use crate::api::AIM_GROUP;
use crate::diag::Diagnostic;
use crate::load::yaml::Seg;
use crate::load::{Index, Object};
use crate::resolve::{Plan, ServicePlan};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An annotation on a Secret, SealedSecret or ExternalSecret listing the registry hosts it
/// holds credentials for, when its data cannot say (sealed or external).
pub const REGISTRIES_ANNOTATION: &str = "aimc.eai.amd.com/registries";

/// Every env list of an AIM object, with its JSON path.
fn env_lists(v: &Value) -> Vec<(Vec<Seg>, &Vec<Value>)> {
    let mut out = Vec::new();
    fn walk<'a>(v: &'a Value, path: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, &'a Vec<Value>)>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(Seg::Key(k.clone()));
                    if k == "env" {
                        if let Value::Array(items) = child {
                            out.push((path.clone(), items));
                        }
                    }
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    if let Some(spec) = v.get("spec") {
        let mut path = vec![Seg::Key("spec".into())];
        walk(spec, &mut path, &mut out);
    }
    out
}

/// A credential written as a literal `value` in an AIM object: an error.
pub fn literal_credentials(obj: &Object) -> Vec<Diagnostic> {
    if obj.aim.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (path, items) in env_lists(&obj.value) {
        for (i, item) in items.iter().enumerate() {
            let Ok(e) = serde_json::from_value::<EnvVar>(item.clone()) else {
                continue;
            };
            if crate::diag::credential::is_credential_name(&e.name) && !e.value_str().is_empty() {
                let mut p = path.clone();
                p.push(Seg::Index(i));
                p.push(Seg::Key("value".into()));
                out.push(
                    Diagnostic::error("LiteralCredential", format!("{} is written as a literal value in {}; anyone who can read the repository can read it", e.name, obj.key))
                        .at(Some(obj.loc(&p)))
                        .help(format!("put it in a Secret (SealedSecret or ExternalSecret in Git) and use `valueFrom: {{secretKeyRef: {{name: <secret>, key: <key>}}}}` for {}", e.name)),
                );
            }
        }
    }
    out
}

/// A plain Secret with data checked into the repository: a warning.
pub fn plain_secret(obj: &Object) -> Option<Diagnostic> {
    if obj.key.api_version != "v1" || obj.key.kind != "Secret" {
        return None;
    }
    let has = |k: &str| {
        obj.value
            .get(k)
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
    };
    (has("data") || has("stringData")).then(|| {
        Diagnostic::warning("PlainSecret", format!("Secret {} carries its data in the repository", obj.key))
            .at(Some(obj.doc_loc()))
            .help("commit a SealedSecret (bitnami.com) or an ExternalSecret (external-secrets.io) instead, or create the Secret outside Git and list it under externalSecrets in aimc.yaml")
    })
}

/// The registry host of an image reference, as the operator's image parser reads it.
pub fn registry_host(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_owned()
        }
        _ => "docker.io".to_owned(),
    }
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Registry hosts a secret serves, when the repository shows it: the annotation, or the
/// `auths` keys of a plain dockerconfigjson Secret. `None` when unknown.
fn served_registries(obj: &Object) -> Option<BTreeSet<String>> {
    if let Some(list) = obj
        .value
        .pointer(&format!(
            "/metadata/annotations/{}",
            REGISTRIES_ANNOTATION.replace('/', "~1")
        ))
        .and_then(Value::as_str)
    {
        return Some(
            list.split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
        );
    }
    let data = obj
        .value
        .pointer("/data/.dockerconfigjson")
        .and_then(Value::as_str)
        .and_then(b64_decode);
    let text = data.and_then(|d| String::from_utf8(d).ok()).or_else(|| {
        obj.value
            .pointer("/stringData/.dockerconfigjson")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let auths = v.get("auths")?.as_object()?;
    Some(
        auths
            .keys()
            .map(|k| {
                k.trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect(),
    )
}

fn secret_registries(index: &Index) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for o in index.objects() {
        let Some(ns) = o.key.namespace.clone() else {
            continue;
        };
        let group = o.key.api_version.split('/').next().unwrap_or("");
        let name = match (group, o.key.kind.as_str()) {
            ("v1", "Secret") => o.key.name.clone(),
            ("bitnami.com", "SealedSecret") => o
                .value
                .pointer("/spec/template/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(&o.key.name)
                .to_owned(),
            ("external-secrets.io", "ExternalSecret") => o
                .value
                .pointer("/spec/target/name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(&o.key.name)
                .to_owned(),
            _ => continue,
        };
        if let Some(hosts) = served_registries(o) {
            out.insert((ns, name), hosts);
        }
    }
    out
}

/// The guide's third cause: an image whose registry no pull secret of the workload serves,
/// when the repository says what each of its pull secrets serves.
fn registry_coverage(
    sp: &ServicePlan,
    known: &BTreeMap<(String, String), BTreeSet<String>>,
) -> Option<Diagnostic> {
    let image = &sp.model.as_ref()?.spec().image;
    let host = registry_host(image);
    let secrets: Vec<&str> = sp
        .spec
        .image_pull_secrets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let mut served = BTreeSet::new();
    for s in &secrets {
        served.extend(
            known
                .get(&(sp.namespace.to_owned(), (*s).to_owned()))?
                .iter()
                .cloned(),
        );
    }
    if secrets.is_empty() || served.contains(&host) {
        return None;
    }
    Some(
        Diagnostic::info("RegistryNotCovered", format!("image {image} comes from {host}, but the pull secrets of AIMService {}/{} serve {}", sp.namespace, sp.name, served.into_iter().collect::<Vec<_>>().join(", ")))
            .at(Some(sp.obj.loc_of(&["spec", "imagePullSecrets"])))
            .help(format!("add a pull secret for {host} to spec.imagePullSecrets, or annotate the secret with {REGISTRIES_ANNOTATION}")),
    )
}

/// All policy checks over a resolved tree.
pub fn check(index: &Index, plan: &Plan) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for obj in index.objects().iter().filter(|o| !o.derived) {
        if obj.key.api_version.starts_with(AIM_GROUP) {
            out.extend(literal_credentials(obj));
        }
        out.extend(plain_secret(obj));
    }
    let known = secret_registries(index);
    out.extend(
        plan.services
            .iter()
            .filter_map(|sp| registry_coverage(sp, &known)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("amdenterpriseai/aim-x:1"), "docker.io");
        assert_eq!(
            registry_host("registry.example.com/aim/x:1"),
            "registry.example.com"
        );
        assert_eq!(registry_host("localhost:5000/x"), "localhost:5000");
        assert_eq!(registry_host("ubuntu"), "docker.io");
    }

    #[test]
    fn base64() {
        assert_eq!(
            b64_decode("eyJhdXRocyI6e319").as_deref(),
            Some(b"{\"auths\":{}}".as_slice())
        );
        assert_eq!(b64_decode("not*base64"), None);
    }
}
