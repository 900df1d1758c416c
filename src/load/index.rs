//! Objects of the tree, indexed by (apiVersion, kind, namespace, name).

use super::yaml::{Node, Seg, Yaml};
use super::LoadOptions;
use crate::api::core::ObjectMeta;
use crate::api::{self, AimKind, AimSpec};
use crate::diag::{Diagnostic, Diagnostics, Location};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AimObject {
    pub kind: AimKind,
    pub meta: ObjectMeta,
    pub spec: AimSpec,
}

/// One input file. Its span tree is built only when a diagnostic needs a position inside a
/// document: most objects never need one, and the tree costs several times the text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    text: String,
    nodes: OnceLock<Vec<Node>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path,
            text,
            nodes: OnceLock::new(),
        })
    }

    fn doc(&self, doc: usize) -> Option<&Node> {
        self.nodes
            .get_or_init(|| super::yaml::parse_multi(&self.text).unwrap_or_default())
            .get(doc)
    }

    /// Position of the node at `path` in document `doc` (or its deepest existing ancestor).
    pub fn position(&self, doc: usize, path: &[Seg]) -> Option<(u32, u32)> {
        self.doc(doc).map(|n| {
            let n = n.locate(path);
            (n.line, n.col)
        })
    }

    /// Whether the author wrote the node at `path` (before any CRD default was applied).
    pub fn is_written(&self, doc: usize, path: &[Seg]) -> bool {
        self.doc(doc).is_some_and(|n| n.get(path).is_some())
    }

    /// Position of the key `key` in the mapping at `parent` (for unknown-field errors).
    pub fn key_position(&self, doc: usize, parent: &[Seg], key: &str) -> Option<(u32, u32)> {
        let p = self.doc(doc)?.locate(parent);
        if let Yaml::Map(entries) = &p.value {
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
            {
                return Some((k.line, k.col));
            }
        }
        Some((p.line, p.col))
    }
}

/// A document of a source file: where diagnostics about it point.
#[derive(Debug, Clone)]
pub struct DocRef {
    pub source: Arc<SourceFile>,
    pub doc: usize,
    pub line: u32,
    pub col: u32,
}

impl DocRef {
    pub fn loc(&self, path: &[Seg]) -> Location {
        let (line, col) = self
            .source
            .position(self.doc, path)
            .unwrap_or((self.line, self.col));
        Location::new(&self.source.path, line, col)
    }
    pub fn key_loc(&self, parent: &[Seg], key: &str) -> Location {
        let (line, col) = self
            .source
            .key_position(self.doc, parent, key)
            .unwrap_or((self.line, self.col));
        Location::new(&self.source.path, line, col)
    }
}

#[derive(Debug, Clone)]
pub struct Object {
    pub source: Arc<SourceFile>,
    pub doc: usize,
    /// Where the document starts.
    pub line: u32,
    pub col: u32,
    /// The object as JSON, namespace and CRD defaults applied.
    pub value: Value,
    pub key: ObjKey,
    pub aim: Option<AimObject>,
    /// Created by aimc's expansion of another object (e.g. a model source's models), not
    /// written in the tree.
    pub derived: bool,
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.source.path == other.source.path && self.doc == other.doc && self.value == other.value
    }
}

/// A lazily resolved source position: a document and a path inside it. Cheap to keep per
/// env entry; turned into a [`Location`] only when a diagnostic or `explain` prints it.
#[derive(Debug, Clone)]
pub struct SrcRef {
    doc: DocRef,
    path: Arc<[Seg]>,
}

impl SrcRef {
    pub fn location(&self) -> Location {
        self.doc.loc(&self.path)
    }
}

impl PartialEq for SrcRef {
    fn eq(&self, other: &Self) -> bool {
        self.doc.source.path == other.doc.source.path
            && self.doc.doc == other.doc.doc
            && self.path == other.path
    }
}

impl Eq for SrcRef {}

impl Object {
    /// A reference to the node at `path`, resolved only when printed.
    pub fn src(&self, path: &[Seg]) -> SrcRef {
        SrcRef {
            doc: self.doc_ref(),
            path: path.into(),
        }
    }
    fn doc_ref(&self) -> DocRef {
        DocRef {
            source: self.source.clone(),
            doc: self.doc,
            line: self.line,
            col: self.col,
        }
    }
    /// Where the node at `path` starts (or its deepest existing ancestor).
    pub fn loc(&self, path: &[Seg]) -> Location {
        self.doc_ref().loc(path)
    }
    pub fn loc_of(&self, path: &[&str]) -> Location {
        let segs: Vec<Seg> = path.iter().map(|s| Seg::from(*s)).collect();
        self.loc(&segs)
    }
    /// Where the document starts; needs no span tree, for diagnostics that may be many.
    pub fn doc_loc(&self) -> Location {
        Location::new(&self.source.path, self.line, self.col)
    }

    /// Whether its controller skips it: the operator's `reconciliation-paused` annotation is
    /// `"true"` (its generic pipeline returns before any work, for every AIM controller).
    pub fn is_paused(&self) -> bool {
        self.value["metadata"]["annotations"][api::RECONCILIATION_PAUSED] == "true"
    }

    /// Whether the node at `path` is written in the input (as opposed to defaulted).
    pub fn is_written(&self, path: &[&str]) -> bool {
        let segs: Vec<Seg> = path.iter().map(|s| Seg::from(*s)).collect();
        self.source.is_written(self.doc, &segs)
    }
    pub fn file(&self) -> &Path {
        &self.source.path
    }
    pub fn labels(&self) -> BTreeMap<String, String> {
        string_map(self.value.pointer("/metadata/labels"))
    }
}

/// Turns one parsed document into an object, or the diagnostics that reject it.
pub fn build_object(d: DocRef, mut value: Value, opts: &LoadOptions) -> Result<Object, Diagnostic> {
    let at = |path: &[&str]| {
        let segs: Vec<Seg> = path.iter().map(|s| Seg::from(*s)).collect();
        Some(d.loc(&segs))
    };
    if !value.is_object() {
        return Err(Diagnostic::error("NotAnObject", "document is not a mapping")
            .at(at(&[]))
            .help("every YAML document must be one Kubernetes object (a mapping with apiVersion, kind and metadata)"));
    }
    let field = |path: &[&str], what: &str| -> Result<String, Diagnostic> {
        let ptr: String = path.iter().map(|p| format!("/{p}")).collect();
        match value.pointer(&ptr) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            other => {
                let (msg, help) = match other {
                    None | Some(Value::Null) => (
                        format!("object has no {}", path.join(".")),
                        format!("add {what}"),
                    ),
                    Some(Value::String(_)) => (
                        format!("{} is empty", path.join(".")),
                        format!("set {what}"),
                    ),
                    Some(_) => (
                        format!("{} must be a string", path.join(".")),
                        format!("set {what} as a string"),
                    ),
                };
                Err(Diagnostic::error("MissingField", msg)
                    .at(at(path))
                    .help(help))
            }
        }
    };
    let api_version = field(
        &["apiVersion"],
        "apiVersion, e.g. `aim.eai.amd.com/v1alpha1` or `v1`",
    )?;
    let kind = field(&["kind"], "kind, e.g. `AIMService`")?;
    let name = field(&["metadata", "name"], "metadata.name")?;

    let aim_kind = if api_version.split('/').next() == Some(api::AIM_GROUP) {
        if api_version != api::AIM_API_VERSION {
            return Err(Diagnostic::error(
                "UnsupportedApiVersion",
                format!("unsupported AIM apiVersion {api_version:?}"),
            )
            .at(at(&["apiVersion"]))
            .help(format!("aimc supports {}", api::AIM_API_VERSION)));
        }
        match AimKind::from_name(&kind) {
            Some(k) => Some(k),
            None => {
                let known: Vec<&str> = AimKind::ALL.iter().map(|k| k.name()).collect();
                return Err(
                    Diagnostic::error("UnknownKind", format!("unknown AIM kind {kind:?}"))
                        .at(at(&["kind"]))
                        .help(format!("known kinds: {}", known.join(", "))),
                );
            }
        }
    } else {
        None
    };

    let namespace = if api::is_cluster_scoped_kind(&api_version, &kind) {
        None
    } else {
        match value.pointer("/metadata/namespace") {
            Some(Value::String(ns)) if !ns.is_empty() => Some(ns.clone()),
            Some(Value::String(_)) | None | Some(Value::Null) => match &opts.default_namespace {
                Some(ns) => {
                    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.insert("namespace".to_owned(), Value::String(ns.clone()));
                    }
                    Some(ns.clone())
                }
                None => {
                    return Err(Diagnostic::error("MissingNamespace", format!("{kind} {name:?} has no metadata.namespace"))
                        .at(at(&["metadata"]))
                        .help("set metadata.namespace, or pass --namespace NS (Argo CD sets ARGOCD_APP_NAMESPACE)"));
                }
            },
            Some(_) => {
                return Err(
                    Diagnostic::error("WrongType", "metadata.namespace must be a string")
                        .at(at(&["metadata", "namespace"])),
                );
            }
        }
    };

    for field in ["labels", "annotations"] {
        match value.pointer(&format!("/metadata/{field}")) {
            Some(Value::Object(m)) => {
                if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return Err(Diagnostic::error("WrongType", format!("metadata.{field}.{k} must be a string"))
                        .at(at(&["metadata", field, k.as_str()]))
                        .help("quote the value: YAML reads 0x74a1, 1.10, yes and on as numbers or booleans"));
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => {
                return Err(Diagnostic::error(
                    "WrongType",
                    format!("metadata.{field} must be a map of strings"),
                )
                .at(at(&["metadata", field])));
            }
        }
    }
    let aim = match aim_kind {
        Some(k) => Some(parse_aim(k, &mut value, &d)?),
        None => None,
    };
    Ok(Object {
        source: d.source,
        doc: d.doc,
        line: d.line,
        col: d.col,
        value,
        key: ObjKey {
            api_version,
            kind,
            namespace,
            name,
        },
        aim,
        derived: false,
    })
}

fn parse_aim(kind: AimKind, value: &mut Value, d: &DocRef) -> Result<AimObject, Diagnostic> {
    let Some(obj) = value.as_object_mut() else {
        return Err(
            Diagnostic::error("NotAnObject", "document is not a mapping").at(Some(d.loc(&[]))),
        );
    };
    if let Some(k) = obj.keys().find(|k| !AIM_TOP_LEVEL.contains(&k.as_str())) {
        return Err(Diagnostic::error(
            "UnknownField",
            format!("unknown field {k:?} in {}", kind.name()),
        )
        .at(Some(d.key_loc(&[], k)))
        .help("an AIM object has only apiVersion, kind, metadata, spec and status"));
    }
    let meta: ObjectMeta = match obj
        .get("metadata")
        .map(serde_path_to_error::deserialize)
        .transpose()
    {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => {
            let mut path = vec![Seg::from("metadata")];
            path.extend(path_segments(e.path()));
            return Err(Diagnostic::error("WrongType", format!("metadata.{}: {}", e.path(), e.inner()))
                .at(Some(d.loc(&path)))
                .help("labels and annotations are maps of strings; quote values such as \"true\" or \"1\""));
        }
    };
    let spec = obj
        .entry("spec")
        .or_insert_with(|| Value::Object(Default::default()));
    if spec.is_null() {
        *spec = Value::Object(Default::default());
    }
    api::apply_defaults(kind, spec);
    match api::parse_spec(kind, spec) {
        Ok(spec) => Ok(AimObject { kind, meta, spec }),
        Err(e) => {
            let mut path = vec![Seg::from("spec")];
            path.extend(path_segments(e.path()));
            let inner = e.inner().to_string();
            let (code, help) = if inner.starts_with("unknown field") {
                (
                    "UnknownField",
                    "remove the field or fix its spelling; the CRD does not define it",
                )
            } else if inner.starts_with("missing field") {
                ("MissingField", "add the required field")
            } else {
                ("WrongType", "give the field a value of the type the CRD declares (quote strings such as \"yes\" or \"1.10\")")
            };
            let shown: String = path
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => format!(".{k}"),
                    Seg::Index(i) => format!("[{i}]"),
                })
                .collect();
            let location = match (code, path.split_last()) {
                ("UnknownField", Some((Seg::Key(k), parent))) => d.key_loc(parent, k),
                _ => d.loc(&path),
            };
            Err(Diagnostic::error(
                code,
                format!(
                    "{} {}: {}",
                    kind.name(),
                    shown.trim_start_matches('.'),
                    inner
                ),
            )
            .at(Some(location))
            .help(help))
        }
    }
}

/// The string values of a JSON object (labels, annotations); other values are skipped.
pub(crate) fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Default, Clone)]
pub struct Index {
    objects: Vec<Object>,
    by_key: BTreeMap<ObjKey, usize>,
}

pub(crate) fn path_segments(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

const AIM_TOP_LEVEL: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

impl Index {
    pub fn into_objects(self) -> Vec<Object> {
        self.objects
    }

    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    pub fn get(&self, key: &ObjKey) -> Option<&Object> {
        self.by_key.get(key).and_then(|&i| self.objects.get(i))
    }

    /// The AIM object of `kind` with this namespace and name.
    pub fn aim(&self, kind: AimKind, namespace: Option<&str>, name: &str) -> Option<&Object> {
        let key = ObjKey {
            api_version: api::AIM_API_VERSION.to_owned(),
            kind: kind.name().to_owned(),
            namespace: if kind.is_cluster_scoped() {
                None
            } else {
                namespace.map(str::to_owned)
            },
            name: name.to_owned(),
        };
        self.get(&key)
    }

    /// All AIM objects of `kind` (in `namespace` when given), ordered by namespace and name.
    /// [`Index::aim_of_kind`] without the paused objects: what the operator's controllers act
    /// on. Paused objects still count as existing (a reference to one resolves).
    pub fn reconciled_of_kind<'a>(
        &'a self,
        kind: AimKind,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = &'a Object> + 'a {
        self.aim_of_kind(kind, namespace).filter(|o| !o.is_paused())
    }

    pub fn aim_of_kind<'a>(
        &'a self,
        kind: AimKind,
        namespace: Option<&str>,
    ) -> impl Iterator<Item = &'a Object> + 'a {
        let kind_name = kind.name();
        let namespace = namespace.map(str::to_owned);
        self.by_key
            .range(
                ObjKey {
                    api_version: api::AIM_API_VERSION.to_owned(),
                    kind: kind_name.to_owned(),
                    namespace: None,
                    name: String::new(),
                }..,
            )
            .take_while(move |(k, _)| k.api_version == api::AIM_API_VERSION && k.kind == kind_name)
            .filter(move |(k, _)| namespace.is_none() || k.namespace == namespace)
            .filter_map(|(_, &i)| self.objects.get(i))
    }

    /// Objects of a non-AIM (apiVersion, kind), e.g. `v1` `Secret`.
    pub fn of_kind<'a>(
        &'a self,
        api_version: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects
            .iter()
            .filter(move |o| o.key.api_version == api_version && o.key.kind == kind)
    }

    /// Adds an object aimc derives, unless one with its key exists (the written one wins).
    /// Returns whether it was added.
    pub fn insert_derived(&mut self, obj: Object) -> bool {
        if self.by_key.contains_key(&obj.key) {
            return false;
        }
        self.by_key.insert(obj.key.clone(), self.objects.len());
        self.objects.push(obj);
        true
    }

    pub(super) fn push(&mut self, obj: Object) {
        self.objects.push(obj);
    }

    /// Builds the key index; a second definition of the same object is an error.
    pub(super) fn finish(&mut self, diags: &mut Diagnostics) {
        self.objects
            .sort_by(|a, b| (&a.source.path, a.doc).cmp(&(&b.source.path, b.doc)));
        let mut keep = Vec::with_capacity(self.objects.len());
        let mut by_key: BTreeMap<ObjKey, usize> = BTreeMap::new();
        for obj in std::mem::take(&mut self.objects) {
            if let Some(&first) = by_key.get(&obj.key) {
                let first: &Object = &keep[first];
                diags.push(
                    Diagnostic::error("DuplicateObject", format!("{} is defined twice", obj.key))
                        .at(Some(obj.loc(&[])))
                        .help(format!(
                            "first defined at {}; remove one of the two definitions",
                            first.loc(&[])
                        )),
                );
                continue;
            }
            by_key.insert(obj.key.clone(), keep.len());
            keep.push(obj);
        }
        self.objects = keep;
        self.by_key = by_key;
    }
}
