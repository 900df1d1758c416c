//! Canonical ordering and serialisation of the output (offline.md "Output").

use crate::load::Index;
use crate::render::Rendered;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

mod yaml;
pub mod yaml_ser;

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
    /// A YAML stream: each object a document after `---`.
    #[default]
    Yaml,
    /// JSON Lines: each object on one line.
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

/// The objects to emit for `mode`, in canonical order: kind order, then namespace, then name.
/// Consumes the index and the rendered objects (each already a JSON tree, or the error of
/// making one) so nothing is copied.
pub fn collect(
    index: Index,
    rendered: Rendered<Result<Value, EmitError>>,
    mode: EmitMode,
) -> Result<Vec<Value>, EmitError> {
    let (passthrough, rendered) = gather(index, rendered, mode);
    let mut keyed: Vec<(SortKey, Value)> = Vec::with_capacity(passthrough.len() + rendered.len());
    for (v, derived) in passthrough
        .into_iter()
        .map(|(v, derived)| (Ok(v), derived))
        .chain(rendered)
    {
        let v = v?;
        keyed.push((SortKey::of(&v, derived), v));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(keyed.into_iter().map(|(_, v)| v).collect())
}

/// The same objects as [`collect`], in the same order, already serialised: the rendered ones
/// by the sink of [`crate::render::render_with`] (see [`Doc::new`]), the passthrough ones
/// here, in parallel.
pub fn collect_docs(
    index: Index,
    rendered: Rendered<Result<Doc, EmitError>>,
    mode: EmitMode,
    format: Format,
) -> Result<Vec<Doc>, EmitError> {
    let (passthrough, rendered) = gather(index, rendered, mode);
    let serialised =
        crate::load::parallel_map(passthrough, |(v, derived)| Doc::new(&v, derived, format));
    let mut docs = Vec::with_capacity(serialised.len() + rendered.len());
    for d in serialised
        .into_iter()
        .chain(rendered.into_iter().map(|(d, _)| d))
    {
        docs.push(d?);
    }
    Ok(sort_stable(docs))
}

/// A stable sort by key on two cores: each half sorted on its own thread, then merged with
/// ties taken from the left, which is exactly the single-threaded stable order.
fn sort_stable(mut docs: Vec<Doc>) -> Vec<Doc> {
    let by_key = |a: &Doc, b: &Doc| a.key.cmp(&b.key);
    if docs.len() < 4096 || crate::load::thread_count() < 2 {
        docs.sort_by(by_key);
        return docs;
    }
    let mut right = docs.split_off(docs.len() / 2);
    let mut left = docs;
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| right.sort_by(by_key));
        left.sort_by(by_key);
        worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
    });
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    loop {
        let take_right = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => r.key < l.key,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let next = if take_right {
            right.next()
        } else {
            left.next()
        };
        match next {
            Some(d) => out.push(d),
            None => break,
        }
    }
    out
}

/// The index objects `mode` emits and the rendered ones it emits, each with whether aimc
/// derived it.
#[allow(clippy::type_complexity)]
fn gather<R>(
    index: Index,
    rendered: Rendered<R>,
    mode: EmitMode,
) -> (Vec<(Value, bool)>, Vec<(R, bool)>) {
    let mut passthrough = Vec::new();
    let mut unwanted = Vec::new();
    for o in index.into_objects() {
        if is_fact(&o.key.api_version, &o.key.kind) {
            unwanted.push(o);
            continue;
        }
        // Objects aimc derived itself (a model source's models) are output of `all` only.
        let wanted = match mode {
            _ if o.derived => mode == EmitMode::All,
            EmitMode::Concrete | EmitMode::All => o.aim.is_none(),
            EmitMode::Aim => true,
        };
        if wanted {
            passthrough.push((o.value, o.derived));
        } else {
            unwanted.push(o);
        }
    }
    crate::process::dispose(unwanted);
    let mut out = Vec::new();
    if mode != EmitMode::Aim {
        out = rendered.concrete.into_iter().map(|r| (r, false)).collect();
    }
    if mode == EmitMode::All {
        out.extend(rendered.derived.into_iter().map(|r| (r, true)));
    }
    (passthrough, out)
}

/// Where an object sorts in the output: kind order, then kind, apiVersion, namespace and
/// name. (Four small strings, not one joined allocation: with glibc's allocator the joined
/// form made a 100,000-service render a third slower.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    rank: u8,
    kind: String,
    api_version: String,
    /// Empty for cluster-scoped objects.
    namespace: String,
    name: String,
}

impl SortKey {
    fn of(v: &impl Emitted, derived: bool) -> SortKey {
        let (api, kind, namespace, name) = v.ident();
        SortKey {
            rank: rank(api, kind, derived),
            kind: kind.to_owned(),
            api_version: api.to_owned(),
            namespace: namespace.unwrap_or_default().to_owned(),
            name: name.to_owned(),
        }
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// Empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One serialised output object and where it sorts.
#[derive(Debug)]
pub struct Doc {
    pub key: SortKey,
    /// The document in its format, ending with a newline (no `---`).
    pub text: String,
}

impl Doc {
    /// `v` in `format`; `derived`: aimc derived it (it sorts with the derived AIM objects).
    pub fn new(v: &Value, derived: bool, format: Format) -> Result<Doc, EmitError> {
        Ok(Doc {
            key: SortKey::of(v, derived),
            text: document(v, format)?,
        })
    }

    /// A typed object (a rendered one) in `format`, written as it serialises: no JSON tree.
    pub fn typed<T: Serialize + Emitted>(
        v: &T,
        derived: bool,
        format: Format,
    ) -> Result<Doc, EmitError> {
        let text = match format {
            Format::Yaml => yaml_ser::document(v)?,
            Format::Json => json_line(v)?,
        };
        Ok(Doc {
            key: SortKey::of(v, derived),
            text,
        })
    }
}

/// What the output layout and the API check need from an output object: apiVersion, kind,
/// namespace, name.
pub trait Emitted {
    fn ident(&self) -> (&str, &str, Option<&str>, &str);
}

impl Emitted for Value {
    fn ident(&self) -> (&str, &str, Option<&str>, &str) {
        fn s(v: &Value) -> &str {
            v.as_str().unwrap_or("")
        }
        let meta = &self["metadata"];
        (
            s(&self["apiVersion"]),
            s(&self["kind"]),
            meta["namespace"].as_str(),
            s(&meta["name"]),
        )
    }
}

impl Emitted for Doc {
    fn ident(&self) -> (&str, &str, Option<&str>, &str) {
        let k = &self.key;
        let ns = Some(k.namespace()).filter(|ns| !ns.is_empty());
        (k.api_version(), k.kind(), ns, k.name())
    }
}

#[derive(Debug)]
pub struct EmitError(pub String);

impl EmitError {
    /// What a run reports when its output cannot be serialised: always an aimc bug.
    pub fn diagnostic(&self) -> crate::diag::Diagnostic {
        crate::diag::Diagnostic::error("EmitFailed", format!("cannot serialise the output: {self}"))
            .help("this is a bug in aimc; please report it with the input that caused it")
    }
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One object as a YAML document (without the `---` separator).
pub fn yaml_document(v: &Value) -> Result<String, EmitError> {
    yaml::document(v).map_err(|e| EmitError(format!("cannot serialise object: {e}")))
}

/// One object in `format`, ending with a newline.
pub fn document(v: &Value, format: Format) -> Result<String, EmitError> {
    match format {
        Format::Yaml => yaml_document(v),
        Format::Json => json_line(v),
    }
}

/// JSON Lines: one object per line, which jq, `kubectl apply -f` and Argo CD (a JSON
/// stream after a leading `{`) all read. Pretty-printed objects one after another read the
/// same in jq but are no format any YAML or line-oriented reader knows.
fn json_line<T: Serialize + ?Sized>(v: &T) -> Result<String, EmitError> {
    serde_json::to_string(v)
        .map(|s| s + "\n")
        .map_err(|e| EmitError(e.to_string()))
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
pub fn layout_path(v: &impl Emitted, format: Format) -> PathBuf {
    let ext = match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
    };
    let (_, kind, ns, name) = v.ident();
    let dir = ns.filter(|ns| !ns.is_empty()).unwrap_or("_cluster");
    let file = format!("{}-{name}.{ext}", kind.to_ascii_lowercase());
    PathBuf::from(dir).join(file)
}

/// The `-o` layout: every object at its [`layout_path`].
pub fn layout(objects: &[Value], format: Format) -> Result<BTreeMap<PathBuf, String>, EmitError> {
    layout_with(objects, format, |v| document(v, format))
}

/// The `-o` layout of serialised documents.
pub fn layout_docs(docs: &[Doc], format: Format) -> Result<BTreeMap<PathBuf, &str>, EmitError> {
    layout_with(docs, format, |d| Ok(d.text.as_str()))
}

fn layout_with<'a, T: Emitted, S>(
    objects: &'a [T],
    format: Format,
    text: impl Fn(&'a T) -> Result<S, EmitError>,
) -> Result<BTreeMap<PathBuf, S>, EmitError> {
    let mut files = BTreeMap::new();
    for v in objects {
        let path = layout_path(v, format);
        if files.insert(path.clone(), text(v)?).is_some() {
            return Err(EmitError(format!(
                "two objects map to the output file {}; they differ only in apiVersion",
                path.display()
            )));
        }
    }
    Ok(files)
}

/// Writes the documents as one stream (`---` before each YAML document, one JSON object per
/// line) through a buffer: the caller has checked everything that can fail, so the
/// stream is never partial except for a failing writer.
pub fn write_stream(
    docs: &[Doc],
    format: Format,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    for d in docs {
        if format == Format::Yaml {
            out.write_all(b"---\n")?;
        }
        out.write_all(d.text.as_bytes())?;
    }
    out.flush()
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
    fn the_two_core_sort_is_the_stable_sort() {
        // Enough documents for the parallel path, with many equal keys whose input order
        // (kept in the text) a stable sort must preserve.
        let docs: Vec<Doc> = (0..10_000)
            .map(|i| {
                let v = json!({"apiVersion": "v1", "kind": if i % 3 == 0 { "Secret" } else { "ConfigMap" },
                               "metadata": {"namespace": format!("ns{}", (i * 7919) % 13), "name": format!("n{}", i % 50)}});
                Doc {
                    key: SortKey::of(&v, false),
                    text: i.to_string(),
                }
            })
            .collect();
        let order = |docs: &[Doc]| docs.iter().map(|d| d.text.clone()).collect::<Vec<_>>();
        let mut expected: Vec<&Doc> = docs.iter().collect();
        expected.sort_by(|a, b| a.key.cmp(&b.key));
        let expected: Vec<String> = expected.iter().map(|d| d.text.clone()).collect();
        assert_eq!(order(&sort_stable(docs)), expected);
    }

    #[test]
    fn stream_separates_documents() {
        let s = stream(&[json!({"a": 1}), json!({"b": 2})], Format::Yaml).unwrap();
        assert_eq!(s, "---\na: 1\n---\nb: 2\n");
    }
}
