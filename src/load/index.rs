//! Objects of the tree, indexed by (apiVersion, kind, namespace, name).

use super::yaml::{Node, Seg, Yaml};
use super::LoadOptions;
use crate::api::core::ObjectMeta;
use crate::api::{self, AimKind, AimSpec};
use crate::diag::{Diagnostic, Diagnostics, Location};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub file: PathBuf,
    pub doc: usize,
    pub node: Node,
    /// The object as JSON, namespace and CRD defaults applied.
    pub value: Value,
    pub key: ObjKey,
    pub aim: Option<AimObject>,
}

impl Object {
    /// Where the node at `path` starts (or its deepest existing ancestor).
    pub fn loc(&self, path: &[Seg]) -> Location {
        let n = self.node.locate(path);
        Location::new(&self.file, n.line, n.col)
    }
    pub fn loc_of(&self, path: &[&str]) -> Location {
        let segs: Vec<Seg> = path.iter().map(|s| Seg::from(*s)).collect();
        self.loc(&segs)
    }
    pub fn labels(&self) -> BTreeMap<String, String> {
        string_map(self.value.pointer("/metadata/labels"))
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
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

    pub(super) fn add_document(
        &mut self,
        file: &Path,
        doc: usize,
        node: Node,
        opts: &LoadOptions,
        diags: &mut Diagnostics,
    ) {
        let at = |n: &Node| Some(Location::new(file, n.line, n.col));
        if matches!(node.value, Yaml::Null) {
            return;
        }
        if !matches!(node.value, Yaml::Map(_)) {
            diags.push(
                Diagnostic::error("NotAnObject", "document is not a mapping")
                    .at(at(&node))
                    .help("every YAML document must be one Kubernetes object (a mapping with apiVersion, kind and metadata)"),
            );
            return;
        }
        let mut value = match node.to_json() {
            Ok(v) => v,
            Err((line, col, msg)) => {
                diags.push(
                    Diagnostic::error("InvalidValue", msg).at(Some(Location::new(file, line, col))),
                );
                return;
            }
        };
        let mut field = |path: &[&str], what: &str| -> Option<String> {
            let ptr: String = path.iter().map(|p| format!("/{p}")).collect();
            match value.pointer(&ptr) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                other => {
                    let segs: Vec<Seg> = path.iter().map(|s| Seg::from(*s)).collect();
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
                    diags.push(
                        Diagnostic::error("MissingField", msg)
                            .at(at(node.locate(&segs)))
                            .help(help),
                    );
                    None
                }
            }
        };
        let api_version = field(
            &["apiVersion"],
            "apiVersion, e.g. `aim.eai.amd.com/v1alpha1` or `v1`",
        );
        let kind = field(&["kind"], "kind, e.g. `AIMService`");
        let name = field(&["metadata", "name"], "metadata.name");
        let (Some(api_version), Some(kind), Some(name)) = (api_version, kind, name) else {
            return;
        };

        let aim_kind = if api_version.split('/').next() == Some(api::AIM_GROUP) {
            if api_version != api::AIM_API_VERSION {
                diags.push(
                    Diagnostic::error(
                        "UnsupportedApiVersion",
                        format!("unsupported AIM apiVersion {api_version:?}"),
                    )
                    .at(at(node.locate(&["apiVersion".into()])))
                    .help(format!("aimc supports {}", api::AIM_API_VERSION)),
                );
                return;
            }
            match AimKind::from_name(&kind) {
                Some(k) => Some(k),
                None => {
                    let known: Vec<&str> = AimKind::ALL.iter().map(|k| k.name()).collect();
                    diags.push(
                        Diagnostic::error("UnknownKind", format!("unknown AIM kind {kind:?}"))
                            .at(at(node.locate(&["kind".into()])))
                            .help(format!("known kinds: {}", known.join(", "))),
                    );
                    return;
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
                Some(Value::String(_)) | None | Some(Value::Null) => {
                    match &opts.default_namespace {
                        Some(ns) => {
                            if let Some(meta) =
                                value.get_mut("metadata").and_then(Value::as_object_mut)
                            {
                                meta.insert("namespace".to_owned(), Value::String(ns.clone()));
                            }
                            Some(ns.clone())
                        }
                        None => {
                            diags.push(
                            Diagnostic::error("MissingNamespace", format!("{kind} {name:?} has no metadata.namespace"))
                                .at(at(node.locate(&["metadata".into()])))
                                .help("set metadata.namespace, or pass --namespace NS (Argo CD sets ARGOCD_APP_NAMESPACE)"),
                        );
                            return;
                        }
                    }
                }
                Some(_) => {
                    diags.push(
                        Diagnostic::error("WrongType", "metadata.namespace must be a string")
                            .at(at(node.locate(&["metadata".into(), "namespace".into()]))),
                    );
                    return;
                }
            }
        };

        for field in ["labels", "annotations"] {
            if let Some(Value::Object(m)) = value.pointer(&format!("/metadata/{field}")) {
                if let Some((k, _)) = m.iter().find(|(_, v)| !v.is_string()) {
                    diags.push(
                        Diagnostic::error("WrongType", format!("metadata.{field}.{k} must be a string"))
                            .at(at(node.locate(&["metadata".into(), field.into(), k.as_str().into()])))
                            .help("quote the value: YAML reads 0x74a1, 1.10, yes and on as numbers or booleans"),
                    );
                    return;
                }
            } else if value
                .pointer(&format!("/metadata/{field}"))
                .is_some_and(|v| !v.is_null())
            {
                diags.push(
                    Diagnostic::error(
                        "WrongType",
                        format!("metadata.{field} must be a map of strings"),
                    )
                    .at(at(node.locate(&["metadata".into(), field.into()]))),
                );
                return;
            }
        }
        let aim = match aim_kind {
            Some(k) => match parse_aim(k, &mut value, &node, file, diags) {
                Some(a) => Some(a),
                None => return,
            },
            None => None,
        };
        let key = ObjKey {
            api_version,
            kind,
            namespace,
            name,
        };
        self.objects.push(Object {
            file: file.to_path_buf(),
            doc,
            node,
            value,
            key,
            aim,
        });
    }

    /// Builds the key index; a second definition of the same object is an error.
    pub(super) fn finish(&mut self, diags: &mut Diagnostics) {
        self.objects
            .sort_by(|a, b| (&a.file, a.doc).cmp(&(&b.file, b.doc)));
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

fn parse_aim(
    kind: AimKind,
    value: &mut Value,
    node: &Node,
    file: &Path,
    diags: &mut Diagnostics,
) -> Option<AimObject> {
    let at = |path: &[Seg]| {
        let n = node.locate(path);
        Some(Location::new(file, n.line, n.col))
    };
    let obj = value.as_object_mut()?;
    let unknown: Vec<String> = obj
        .keys()
        .filter(|k| !AIM_TOP_LEVEL.contains(&k.as_str()))
        .cloned()
        .collect();
    if let Some(k) = unknown.first() {
        diags.push(
            Diagnostic::error(
                "UnknownField",
                format!("unknown field {k:?} in {}", kind.name()),
            )
            .at(key_location(node, file, &[], k))
            .help("an AIM object has only apiVersion, kind, metadata, spec and status"),
        );
        return None;
    }
    let meta: ObjectMeta = match serde_path_to_error::deserialize(
        obj.get("metadata").cloned().unwrap_or(Value::Null),
    ) {
        Ok(m) => m,
        Err(e) => {
            let mut path = vec![Seg::from("metadata")];
            path.extend(path_segments(e.path()));
            diags.push(
                Diagnostic::error("WrongType", format!("metadata.{}: {}", e.path(), e.inner()))
                    .at(at(&path))
                    .help("labels and annotations are maps of strings; quote values such as \"true\" or \"1\""),
            );
            return None;
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
        Ok(spec) => Some(AimObject { kind, meta, spec }),
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
            let shown = path
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => format!(".{k}"),
                    Seg::Index(i) => format!("[{i}]"),
                })
                .collect::<String>();
            let location = if code == "UnknownField" {
                match path.split_last() {
                    Some((Seg::Key(k), parent)) => key_location(node, file, parent, k),
                    _ => at(&path),
                }
            } else {
                at(&path)
            };
            diags.push(
                Diagnostic::error(
                    code,
                    format!(
                        "{} {}: {}",
                        kind.name(),
                        shown.trim_start_matches('.'),
                        inner
                    ),
                )
                .at(location)
                .help(help),
            );
            None
        }
    }
}

/// The position of the key `key` inside the mapping at `parent` (for unknown-field errors).
fn key_location(node: &Node, file: &Path, parent: &[Seg], key: &str) -> Option<Location> {
    let p = node.locate(parent);
    if let Yaml::Map(entries) = &p.value {
        if let Some((k, _)) = entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
        {
            return Some(Location::new(file, k.line, k.col));
        }
    }
    Some(Location::new(file, p.line, p.col))
}
