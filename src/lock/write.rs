//! The lock file's one writer (lock.md "The file"): `lockVersion` first, the header comment,
//! then each non-empty section in a fixed order, maps sorted by key, `discovery` sorted by
//! (namespace, template), listings in registry order. No timestamps, no host names, no
//! credentials: only what [`Lock`] holds.

use crate::emit::EmitError;
use crate::load::lock::{Lock, LOCK_VERSION};
use serde_json::{Map, Value};

/// Written under `lockVersion`. Comments are not kept because the file is rewritten whole.
pub const HEADER: &str =
    "# written by aimc lock; hand edits to values are kept, comments are not\n";

/// The canonical bytes of `lock`.
pub fn to_string(lock: &Lock) -> Result<String, EmitError> {
    let mut out = format!("lockVersion: {LOCK_VERSION}\n{HEADER}");
    let body = body(lock)?;
    if !body.is_empty() {
        out.push_str(&crate::emit::yaml_document(&Value::Object(body))?);
    }
    Ok(out)
}

fn body(lock: &Lock) -> Result<Map<String, Value>, EmitError> {
    let mut m = Map::new();
    if !lock.images.is_empty() {
        let mut images = Map::new();
        for (reference, image) in &lock.images {
            let mut entry = Map::new();
            if let Some(d) = &image.digest {
                entry.insert("digest".into(), Value::String(d.clone()));
            }
            if let Value::Object(meta) = json(&image.metadata)? {
                entry.extend(meta);
            }
            images.insert(reference.clone(), Value::Object(entry));
        }
        m.insert("images".into(), Value::Object(images));
    }
    if !lock.discovery.is_empty() {
        let mut discovery: Vec<_> = lock.discovery.iter().collect();
        discovery.sort_by(|a, b| (&a.namespace, &a.template).cmp(&(&b.namespace, &b.template)));
        let items = discovery
            .into_iter()
            .map(json)
            .collect::<Result<Vec<_>, _>>()?;
        m.insert("discovery".into(), Value::Array(items));
    }
    if !lock.sizes.is_empty() {
        let sizes = lock
            .sizes
            .iter()
            .map(|(uri, q)| (uri.clone(), Value::from(q.value())))
            .collect();
        m.insert("sizes".into(), Value::Object(sizes));
    }
    if !lock.registry_listings.is_empty() {
        let mut listings = Map::new();
        for (source, images) in &lock.registry_listings {
            listings.insert(source.clone(), json(images)?);
        }
        m.insert("registryListings".into(), Value::Object(listings));
    }
    if !lock.uids.is_empty() {
        let uids = lock
            .uids
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("uids".into(), Value::Object(uids));
    }
    Ok(m)
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<Value, EmitError> {
    serde_json::to_value(v).map_err(|e| EmitError(e.to_string()))
}
