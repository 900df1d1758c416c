//! Object-level comparison of two sets of Kubernetes objects (gitops.md "Exit codes and diff
//! conventions"): matched by (apiVersion, kind, namespace, name), renames detected, Secret
//! values redacted, one unified diff per changed object.

use crate::diag::{Diagnostic, Location};
use crate::emit::{self, EmitError, Format};
use crate::load::yaml;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

/// The identity Kubernetes gives an object; file names are not trusted for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// `None` when apiVersion, kind or metadata.name is missing or not a string.
    pub fn of(v: &Value) -> Option<ObjectKey> {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str);
        Some(ObjectKey {
            api_version: s("/apiVersion")?.to_owned(),
            kind: s("/kind")?.to_owned(),
            namespace: s("/metadata/namespace").unwrap_or("").to_owned(),
            name: s("/metadata/name")?.to_owned(),
        })
    }

    /// `namespace/name`, or `name` for cluster-scoped objects.
    pub fn qualified_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.qualified_name())
    }
}

/// One object and the file it lives in (relative to its directory).
#[derive(Debug, Clone)]
pub struct Object {
    pub key: ObjectKey,
    pub path: PathBuf,
    pub value: Value,
}

pub type Objects = BTreeMap<ObjectKey, Object>;

/// The objects of a directory in the `-o` layout (from [`super::read_dir`]). Every
/// `*.yaml`/`*.yml`/`*.json` file is read, whatever its name; each document is one object.
/// Returns the objects of the valid documents and an error diagnostic for each invalid one,
/// located at `origin.join(file)`.
pub fn parse_files(files: &BTreeMap<PathBuf, String>, origin: &Path) -> (Objects, Vec<Diagnostic>) {
    let mut objects = Objects::new();
    let mut diags = Vec::new();
    for (rel, text) in files {
        let is_manifest = rel
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if !is_manifest {
            continue;
        }
        let file = origin.join(rel);
        let docs = match yaml::parse_values(text) {
            Ok(d) => d,
            Err(e) => {
                diags.push(
                    Diagnostic::error(e.code, e.message)
                        .at(Some(Location::new(&file, e.line, e.col)))
                        .help(e.help),
                );
                continue;
            }
        };
        for (line, col, value) in docs {
            let at = Some(Location::new(&file, line, col));
            if value.is_null() {
                continue; // an empty document, e.g. a trailing `---`
            }
            if !value.is_object() {
                diags.push(Diagnostic::error("NotAnObject", "document is not a mapping").at(at));
                continue;
            }
            let Some(key) = ObjectKey::of(&value) else {
                diags.push(
                    Diagnostic::error(
                        "MissingField",
                        "object without apiVersion, kind or metadata.name",
                    )
                    .at(at)
                    .help("a golden file holds a Kubernetes object as aimc renders it"),
                );
                continue;
            };
            if let Some(first) = objects.get(&key) {
                diags.push(
                    Diagnostic::error(
                        "DuplicateObject",
                        format!("{key} is also in {}", origin.join(&first.path).display()),
                    )
                    .at(at),
                );
                continue;
            }
            objects.insert(
                key.clone(),
                Object {
                    key,
                    path: rel.clone(),
                    value,
                },
            );
        }
    }
    (objects, diags)
}

/// Rendered objects, each at its `-o` layout path.
pub fn from_rendered(values: Vec<Value>) -> Objects {
    values
        .into_iter()
        .map(|value| {
            let key = ObjectKey::of(&value).unwrap_or_else(|| ObjectKey {
                api_version: String::new(),
                kind: String::new(),
                namespace: String::new(),
                name: String::new(),
            });
            let path = emit::layout_path(&value, Format::Yaml);
            (key.clone(), Object { key, path, value })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
    Renamed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
            ChangeKind::Renamed => "renamed",
        }
    }
}

/// Where one side of a change lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub key: ObjectKey,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// The rendered side, or the golden (base) side of a removed object.
    pub object: Side,
    /// The golden (base) side of a renamed object.
    pub renamed_from: Option<Side>,
    /// The unified diff of a changed object, Secret values redacted.
    pub diff: Option<String>,
}

/// The prefixes of the unified-diff headers, e.g. `golden` and `rendered`.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub old: &'a str,
    pub new: &'a str,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub renamed: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Ordered by the current side's path, then change kind: grouped by namespace.
    pub changes: Vec<Change>,
}

/// Compares `old` (golden or base) with `new` (rendered). Objects differ when their
/// canonical YAML differs, which is exactly when rewriting the goldens would change them.
pub fn compare(old: &Objects, new: &Objects, labels: Labels) -> Result<Comparison, EmitError> {
    let mut changes = Vec::new();
    for (key, o) in old {
        let Some(n) = new.get(key) else { continue };
        let (old_text, new_text) = (
            emit::yaml_document(&o.value)?,
            emit::yaml_document(&n.value)?,
        );
        if old_text == new_text {
            continue;
        }
        let (old_text, new_text) = if is_secret(key) {
            let (mut a, mut b) = (o.value.clone(), n.value.clone());
            redact(&mut a, &mut b);
            (emit::yaml_document(&a)?, emit::yaml_document(&b)?)
        } else {
            (old_text, new_text)
        };
        let diff = similar::TextDiff::from_lines(&old_text, &new_text)
            .unified_diff()
            .context_radius(3)
            .header(&header(labels.old, &o.path), &header(labels.new, &n.path))
            .to_string();
        changes.push(Change {
            kind: ChangeKind::Changed,
            object: side(n),
            renamed_from: None,
            diff: Some(diff),
        });
    }
    let removed: Vec<&Object> = old.values().filter(|o| !new.contains_key(&o.key)).collect();
    let added: Vec<&Object> = new.values().filter(|n| !old.contains_key(&n.key)).collect();
    // A rename is an added and a removed object of the same kind and namespace that are
    // identical apart from the name. The serialisation is order-sensitive, which is cheap and
    // enough for objects that aimc wrote; anything else is reported as added and removed.
    let mut candidates: HashMap<(String, String, String, String), Vec<&Object>> = HashMap::new();
    for n in added.iter().rev() {
        candidates.entry(rename_key(n)).or_default().push(n);
    }
    let mut renamed_to = BTreeSet::new();
    for o in &removed {
        match candidates.get_mut(&rename_key(o)).and_then(Vec::pop) {
            Some(n) => {
                renamed_to.insert(&n.key);
                changes.push(Change {
                    kind: ChangeKind::Renamed,
                    object: side(n),
                    renamed_from: Some(side(o)),
                    diff: None,
                });
            }
            None => changes.push(Change {
                kind: ChangeKind::Removed,
                object: side(o),
                renamed_from: None,
                diff: None,
            }),
        }
    }
    for n in added {
        if !renamed_to.contains(&n.key) {
            changes.push(Change {
                kind: ChangeKind::Added,
                object: side(n),
                renamed_from: None,
                diff: None,
            });
        }
    }
    changes.sort_by(|a, b| {
        (&a.object.path, &a.object.key, a.kind).cmp(&(&b.object.path, &b.object.key, b.kind))
    });
    Ok(Comparison { changes })
}

fn side(o: &Object) -> Side {
    Side {
        key: o.key.clone(),
        path: o.path.clone(),
    }
}

fn header(label: &str, path: &Path) -> String {
    format!("{label}/{}", path.display())
}

fn rename_key(o: &Object) -> (String, String, String, String) {
    let mut v = o.value.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("name");
    }
    (
        o.key.api_version.clone(),
        o.key.kind.clone(),
        o.key.namespace.clone(),
        v.to_string(),
    )
}

fn is_secret(key: &ObjectKey) -> bool {
    key.kind == "Secret"
}

pub const REDACTED: &str = "<redacted>";
/// Marks a redacted value that differs from the old side's, so the diff still shows that it
/// changed without showing either value.
pub const REDACTED_CHANGED: &str = "<redacted, changed>";
/// kubectl copies the whole object, values included, into this annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Replaces every value of a Secret pair's `data` and `stringData` (and kubectl's
/// last-applied annotation) by a placeholder, in both objects.
pub fn redact(old: &mut Value, new: &mut Value) {
    for field in ["data", "stringData"] {
        redact_map(old.get_mut(field), new.get_mut(field));
    }
    redact_slot(last_applied(old), last_applied(new));
}

fn last_applied(v: &mut Value) -> Option<&mut Value> {
    v.get_mut("metadata")?
        .get_mut("annotations")?
        .get_mut(LAST_APPLIED)
}

fn redact_map(old: Option<&mut Value>, new: Option<&mut Value>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, v) in b.iter_mut() {
                let changed = a.get(k).is_some_and(|was| was != v);
                *v = placeholder(changed);
            }
            a.values_mut().for_each(|v| *v = placeholder(false));
        }
        (a, b) => {
            // A map on one side only, or a value that is not a map at all: nothing to pair up.
            for slot in [a, b].into_iter().flatten() {
                match slot {
                    Value::Object(m) => m.values_mut().for_each(|v| *v = placeholder(false)),
                    v => *v = placeholder(false),
                }
            }
        }
    }
}

fn redact_slot(old: Option<&mut Value>, new: Option<&mut Value>) {
    let changed = matches!((&old, &new), (Some(a), Some(b)) if a != b);
    if let Some(a) = old {
        *a = placeholder(false);
    }
    if let Some(b) = new {
        *b = placeholder(changed);
    }
}

fn placeholder(changed: bool) -> Value {
    Value::from(if changed { REDACTED_CHANGED } else { REDACTED })
}

impl Comparison {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for ch in &self.changes {
            match ch.kind {
                ChangeKind::Added => c.added += 1,
                ChangeKind::Changed => c.changed += 1,
                ChangeKind::Removed => c.removed += 1,
                ChangeKind::Renamed => c.renamed += 1,
            }
        }
        c
    }

    /// `N added, N changed, N removed`, plus `, N renamed` when there are renames.
    pub fn summary(&self) -> String {
        let c = self.counts();
        let mut s = format!(
            "{} added, {} changed, {} removed",
            c.added, c.changed, c.removed
        );
        if c.renamed > 0 {
            let _ = write!(s, ", {} renamed", c.renamed);
        }
        s
    }

    /// What a change touches, for a pull request: `this change alters 14 InferenceServices
    /// and 2 HTTPRoutes in 3 namespaces`. Kinds by count, most first.
    pub fn scope(&self) -> String {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        let mut namespaces = BTreeSet::new();
        for ch in &self.changes {
            let key = &ch.object.key;
            *kinds.entry(key.kind.as_str()).or_default() += 1;
            if !key.namespace.is_empty() {
                namespaces.insert(key.namespace.as_str());
            }
        }
        if kinds.is_empty() {
            return "this change alters no objects".to_owned();
        }
        let mut kinds: Vec<(&str, usize)> = kinds.into_iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{n} {}", plural(k, *n)))
            .collect();
        let mut s = format!("this change alters {}", join_and(&parts));
        if !namespaces.is_empty() {
            let n = namespaces.len();
            let _ = write!(s, " in {n} {}", plural("namespace", n));
        }
        s
    }

    /// The plain-text report: summary, one line per change, then the unified diffs.
    pub fn text(&self, with_scope: bool) -> String {
        let mut out = String::new();
        if with_scope {
            out.push_str(&self.scope());
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        for ch in &self.changes {
            let key = &ch.object.key;
            let _ = match &ch.renamed_from {
                Some(old) => writeln!(out, "renamed  {} -> {}", old.key, key.qualified_name()),
                None => writeln!(out, "{:<8} {key}", ch.kind.as_str()),
            };
        }
        for diff in self.changes.iter().filter_map(|c| c.diff.as_deref()) {
            out.push('\n');
            out.push_str(diff);
        }
        out
    }
}

/// English plural of a kind name (`InferenceService` → `InferenceServices`, `Policy` →
/// `Policies`).
pub fn plural(word: &str, n: usize) -> String {
    if n == 1 {
        return word.to_owned();
    }
    let sibilant = ["s", "x", "z", "sh", "ch"]
        .iter()
        .any(|e| word.ends_with(e));
    let consonant_y =
        word.ends_with('y') && !["ay", "ey", "oy", "uy"].iter().any(|e| word.ends_with(e));
    match word.strip_suffix('y') {
        Some(stem) if consonant_y => format!("{stem}ies"),
        _ if sibilant => format!("{word}es"),
        _ => format!("{word}s"),
    }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objs(values: &[Value]) -> Objects {
        from_rendered(values.to_vec())
    }

    const L: Labels = Labels {
        old: "golden",
        new: "rendered",
    };

    fn cm(ns: &str, name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
    }

    #[test]
    fn matches_by_identity_not_by_file_name() {
        let golden: BTreeMap<PathBuf, String> = [(
            PathBuf::from("odd/name.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ns\ndata:\n  k: v\n".to_owned(),
        )]
        .into();
        let (old, diags) = parse_files(&golden, Path::new("g"));
        assert_eq!(diags, []);
        let new = objs(&[cm("ns", "a", json!({"k": "v"}))]);
        assert!(compare(&old, &new, L).unwrap().is_empty());
    }

    #[test]
    fn reports_added_changed_removed_with_a_unified_diff() {
        let old = objs(&[
            cm("ns", "a", json!({"k": "1"})),
            cm("ns", "gone", json!({"x": "1"})),
        ]);
        let new = objs(&[
            cm("ns", "a", json!({"k": "2"})),
            cm("ns", "new", json!({"y": "1"})),
        ]);
        let c = compare(&old, &new, L).unwrap();
        assert_eq!(c.summary(), "1 added, 1 changed, 1 removed");
        let t = c.text(false);
        assert!(
            t.contains("--- golden/ns/configmap-a.yaml\n+++ rendered/ns/configmap-a.yaml"),
            "{t}"
        );
        assert!(t.contains("-  k: '1'") || t.contains("-  k: \"1\""), "{t}");
        assert!(t.contains("added    ConfigMap ns/new"), "{t}");
        assert!(t.contains("removed  ConfigMap ns/gone"), "{t}");
    }

    #[test]
    fn identical_content_under_another_name_is_a_rename() {
        let old = objs(&[cm("ns", "a", json!({"k": "1"}))]);
        let new = objs(&[cm("ns", "b", json!({"k": "1"}))]);
        let c = compare(&old, &new, L).unwrap();
        assert_eq!(c.summary(), "0 added, 0 changed, 0 removed, 1 renamed");
        assert!(c.text(false).contains("renamed  ConfigMap ns/a -> ns/b"));
        // Another namespace is not a rename.
        let new = objs(&[cm("other", "b", json!({"k": "1"}))]);
        assert_eq!(
            compare(&old, &new, L).unwrap().summary(),
            "1 added, 0 changed, 1 removed"
        );
    }

    #[test]
    fn secret_values_are_redacted_but_changes_still_show() {
        let secret = |v: &str| {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns",
                "annotations": {LAST_APPLIED: format!("{{\"data\":{{\"token\":\"{v}\"}}}}")}},
                "data": {"token": v, "same": "c2FtZQ=="}, "stringData": {"plain": v}})
        };
        let c = compare(&objs(&[secret("b2xk")]), &objs(&[secret("bmV3")]), L).unwrap();
        let t = c.text(false);
        assert!(
            !t.contains("b2xk") && !t.contains("bmV3") && !t.contains("c2FtZQ=="),
            "{t}"
        );
        assert!(
            t.contains("-  token: <redacted>") && t.contains("+  token: <redacted, changed>"),
            "{t}"
        );
        assert!(t.contains("  same: <redacted>"), "{t}");
    }

    #[test]
    fn scope_names_kinds_and_namespaces() {
        let isvc = |ns: &str, n: &str| json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": n, "namespace": ns}});
        let new = objs(&[
            isvc("a", "x"),
            isvc("b", "x"),
            isvc("b", "y"),
            cm("c", "p", json!({})),
        ]);
        let c = compare(&Objects::new(), &new, L).unwrap();
        assert_eq!(
            c.scope(),
            "this change alters 3 InferenceServices and 1 ConfigMap in 3 namespaces"
        );
        assert_eq!(
            Comparison::default().scope(),
            "this change alters no objects"
        );
    }

    #[test]
    fn plurals() {
        assert_eq!(plural("HTTPRoute", 2), "HTTPRoutes");
        assert_eq!(plural("Ingress", 2), "Ingresses");
        assert_eq!(plural("NetworkPolicy", 2), "NetworkPolicies");
        assert_eq!(plural("Gateway", 2), "Gateways");
        assert_eq!(plural("Job", 1), "Job");
    }

    #[test]
    fn invalid_golden_files_are_diagnostics() {
        let files: BTreeMap<PathBuf, String> = [
            (PathBuf::from("a.yaml"), "a: [\n".to_owned()),
            (PathBuf::from("b.yaml"), "kind: ConfigMap\n".to_owned()),
            (PathBuf::from("c.yaml"), "- 1\n".to_owned()),
            (PathBuf::from("README.md"), "not yaml: [".to_owned()),
        ]
        .into();
        let (objects, diags) = parse_files(&files, Path::new("g"));
        assert!(objects.is_empty());
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["YamlSyntax", "MissingField", "NotAnObject"]);
        assert_eq!(
            diags[1].location.as_ref().map(|l| l.file.clone()),
            Some(PathBuf::from("g/b.yaml"))
        );
    }

    #[test]
    fn the_same_object_in_two_golden_files_is_an_error() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n";
        let files: BTreeMap<PathBuf, String> = [
            (PathBuf::from("a.yaml"), doc.to_owned()),
            (PathBuf::from("b.yaml"), doc.to_owned()),
        ]
        .into();
        let (objects, diags) = parse_files(&files, Path::new("g"));
        assert_eq!(objects.len(), 1);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "DuplicateObject");
    }
}
