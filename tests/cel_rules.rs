//! The CRDs' CEL rules, each broken once. The rules come from the CRD files in
//! `schemas/crds/` at test time, not from a list kept here: every distinct rule that is not a
//! transition rule must have an entry in [`BREAKS`], a merge patch that breaks exactly that
//! rule on a valid object, so a rule a new CRD version adds fails this test until it is
//! given one. Also: every example input and every golden output breaks no rule.

use aimc::check::cel;
use aimc::diag::Diagnostic;
use aimc::load::{self, yaml::Seg, LoadOptions, ObjKey, Object, SourceFile};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `x-kubernetes-validations` entry of a CRD version.
#[derive(Debug, Clone)]
struct Attachment {
    group: String,
    kind: String,
    version: String,
    /// `spec.rules[].matches[].path`: `[]` is every item of a list.
    path: String,
    rule: String,
    message: String,
}

impl Attachment {
    fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }
    /// The field the patch breaks: the first item of every list on the way.
    fn field(&self) -> String {
        self.path.replace("[]", "[0]")
    }
}

fn walk(node: &Value, path: &str, at: &Attachment, out: &mut Vec<Attachment>) {
    for v in node["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out.push(Attachment {
            path: path.to_owned(),
            rule: v["rule"].as_str().expect("rule").to_owned(),
            message: v["message"].as_str().unwrap_or_default().to_owned(),
            ..at.clone()
        });
    }
    for (key, child) in node["properties"].as_object().into_iter().flatten() {
        let p = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        walk(child, &p, at, out);
    }
    if node.get("items").is_some() {
        walk(&node["items"], &format!("{path}[]"), at, out);
    }
    if node["additionalProperties"].is_object() {
        walk(&node["additionalProperties"], &format!("{path}.*"), at, out);
    }
    for junctor in ["allOf", "anyOf", "oneOf"] {
        for branch in node[junctor].as_array().into_iter().flatten() {
            walk(branch, path, at, out);
        }
    }
}

/// Every rule of every served version of every CRD in `schemas/crds/`, in file order.
fn attachments() -> Vec<Attachment> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/crds");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .map(|e| e.expect("readable").into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable CRD");
        let docs = load::yaml::parse_values(&text).expect("CRD is YAML");
        let crd = &docs[0].2;
        for version in crd["spec"]["versions"].as_array().expect("versions") {
            if version["served"] != true {
                continue;
            }
            let at = Attachment {
                group: crd["spec"]["group"].as_str().expect("group").to_owned(),
                kind: crd["spec"]["names"]["kind"]
                    .as_str()
                    .expect("kind")
                    .to_owned(),
                version: version["name"].as_str().expect("name").to_owned(),
                path: String::new(),
                rule: String::new(),
                message: String::new(),
            };
            walk(&version["schema"]["openAPIV3Schema"], "", &at, &mut out);
        }
    }
    out
}

/// aimc has no old object: rules that read `oldSelf` are not evaluated.
fn is_transition(rule: &str) -> bool {
    rule.contains("oldSelf")
}

/// A valid object of each kind a rule is first attached to, which the patches change.
fn base(kind: &str, api_version: &str) -> Option<Value> {
    let mut v = match kind {
        "AIMClusterModel" => json!({
            "metadata": {"name": "m"},
            "spec": {"image": "ghcr.io/amd/m:1"},
        }),
        "AIMService" => json!({
            "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"model": {"name": "m"}},
        }),
        "HTTPRoute" => json!({
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {
                "parentRefs": [{"name": "gw"}],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": "svc", "port": 8000}],
                }],
            },
        }),
        _ => return None,
    };
    let obj = v.as_object_mut()?;
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    Some(v)
}

/// RFC 7386 merge patch: objects merge, anything else replaces, null removes.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// A route whose one rule is `rule` (no matches or backends unless it says so).
fn route_rule(rule: Value) -> Value {
    json!({"spec": {"rules": [rule]}})
}

/// A route whose one backend carries `filters`.
fn backend_filters(filters: Value) -> Value {
    route_rule(json!({"backendRefs": [{"name": "svc", "port": 8000, "filters": filters}]}))
}

fn backend_filter(filter: Value) -> Value {
    backend_filters(json!([filter]))
}

fn path_match(kind: &str, value: &str) -> Value {
    route_rule(json!({
        "matches": [{"path": {"type": kind, "value": value}}],
        "backendRefs": [{"name": "svc", "port": 8000}],
    }))
}

/// A filter of `type` with its own field set, and `extra` fields besides.
fn filter(kind: &str, extra: Value) -> Value {
    let field = match kind {
        "URLRewrite" => "urlRewrite".to_owned(),
        other => {
            let mut c = other.chars();
            let first = c.next().map(|f| f.to_ascii_lowercase()).unwrap_or_default();
            format!("{first}{}", c.as_str())
        }
    };
    let own = match kind {
        "RequestMirror" => json!({"backendRef": {"name": "mirror", "port": 8000}}),
        "ExtensionRef" => json!({"group": "example.com", "kind": "Filter", "name": "f"}),
        _ => json!({}),
    };
    let mut f = json!({"type": kind, field: own});
    merge(&mut f, &extra);
    f
}

fn redirect_path(path: Value) -> Value {
    backend_filter(json!({"type": "RequestRedirect", "requestRedirect": {"path": path}}))
}

/// Per rule message: a merge patch onto [`base`] of the rule's first attachment that breaks
/// that rule there, and the messages of rules the patch cannot help breaking too.
type Break = (&'static str, fn() -> Value, &'static [&'static str]);

const BREAKS: &[Break] = &[
    // AIM
    (
        "when using modelSources, hardware must be specified: set custom.hardware (inherited by all templates) or set hardware on each template individually",
        || json!({"spec": {
            "modelSources": [{"modelId": "org/m", "sourceUri": "hf://org/m"}],
            "customTemplates": [{"name": "t"}],
        }}),
        &[],
    ),
    (
        "at least one of gpu or cpu must be specified",
        || json!({"spec": {"custom": {"hardware": {}}}}),
        &[],
    ),
    (
        "model and minVram are mutually exclusive; specify either a specific GPU model OR a minimum VRAM requirement, not both",
        || json!({"spec": {"custom": {"hardware": {"gpu": {"model": "MI300X", "minVram": "128Gi"}}}}}),
        &[],
    ),
    (
        "exactly one of name, image, or custom must be specified",
        || json!({"spec": {"model": {"image": "ghcr.io/amd/m:1"}}}),
        &[],
    ),
    (
        "at least one model source must be specified",
        || json!({"spec": {"model": {"name": null, "custom": {
            "baseImage": "ghcr.io/amd/aim-base:1",
            "hardware": {"gpu": {"requests": 1}},
            "modelSources": [],
        }}}}),
        &[],
    ),
    // HTTPRoute: parent references
    (
        "sectionName must be specified when parentRefs includes 2 or more references to the same parent",
        || json!({"spec": {"parentRefs": [{"name": "gw"}, {"name": "gw", "sectionName": "http"}]}}),
        &[],
    ),
    (
        "sectionName must be unique when parentRefs includes 2 or more references to the same parent",
        || json!({"spec": {"parentRefs": [{"name": "gw"}, {"name": "gw"}]}}),
        &[],
    ),
    // HTTPRoute: rules
    (
        "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128",
        || {
            let matches = vec![json!({"path": {"type": "PathPrefix", "value": "/"}}); 9];
            json!({"spec": {"rules": vec![json!({"matches": matches}); 16]}})
        },
        &[],
    ),
    (
        "RequestRedirect filter must not be used together with backendRefs",
        || route_rule(json!({
            "backendRefs": [{"name": "svc", "port": 8000}],
            "filters": [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 302}}],
        })),
        &[],
    ),
    (
        "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        || route_rule(json!({
            "matches": [{"path": {"type": "Exact", "value": "/a"}}],
            "filters": [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}],
        })),
        &[],
    ),
    (
        "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        || route_rule(json!({
            "matches": [{"path": {"type": "Exact", "value": "/a"}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}}],
            "backendRefs": [{"name": "svc", "port": 8000}],
        })),
        &[],
    ),
    (
        "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        || route_rule(json!({
            "matches": [{"path": {"type": "Exact", "value": "/a"}}],
            "backendRefs": [{"name": "svc", "port": 8000, "filters": [
                {"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}},
            ]}],
        })),
        &[],
    ),
    (
        "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        || route_rule(json!({
            "matches": [{"path": {"type": "Exact", "value": "/a"}}],
            "backendRefs": [{"name": "svc", "port": 8000, "filters": [
                {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/b"}}},
            ]}],
        })),
        &[],
    ),
    (
        "Must have port for Service reference",
        || route_rule(json!({"backendRefs": [{"name": "svc"}]})),
        &[],
    ),
    // HTTPRoute: filter lists
    (
        "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
        || backend_filters(json!([filter("RequestRedirect", json!({})), filter("URLRewrite", json!({}))])),
        &[],
    ),
    (
        "RequestHeaderModifier filter cannot be repeated",
        || backend_filters(json!([filter("RequestHeaderModifier", json!({})), filter("RequestHeaderModifier", json!({}))])),
        &[],
    ),
    (
        "ResponseHeaderModifier filter cannot be repeated",
        || backend_filters(json!([filter("ResponseHeaderModifier", json!({})), filter("ResponseHeaderModifier", json!({}))])),
        &[],
    ),
    (
        "RequestRedirect filter cannot be repeated",
        || backend_filters(json!([filter("RequestRedirect", json!({})), filter("RequestRedirect", json!({}))])),
        &[],
    ),
    (
        "URLRewrite filter cannot be repeated",
        || backend_filters(json!([filter("URLRewrite", json!({})), filter("URLRewrite", json!({}))])),
        &[],
    ),
    // HTTPRoute: one filter, its type and its field
    (
        "filter.requestHeaderModifier must be nil if the filter.type is not RequestHeaderModifier",
        || backend_filter(filter("ResponseHeaderModifier", json!({"requestHeaderModifier": {}}))),
        &[],
    ),
    (
        "filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type",
        || backend_filter(json!({"type": "RequestHeaderModifier"})),
        &[],
    ),
    (
        "filter.responseHeaderModifier must be nil if the filter.type is not ResponseHeaderModifier",
        || backend_filter(filter("RequestHeaderModifier", json!({"responseHeaderModifier": {}}))),
        &[],
    ),
    (
        "filter.responseHeaderModifier must be specified for ResponseHeaderModifier filter.type",
        || backend_filter(json!({"type": "ResponseHeaderModifier"})),
        &[],
    ),
    (
        "filter.requestMirror must be nil if the filter.type is not RequestMirror",
        || backend_filter(filter("RequestHeaderModifier", json!({"requestMirror": {"backendRef": {"name": "mirror", "port": 8000}}}))),
        &[],
    ),
    (
        "filter.requestMirror must be specified for RequestMirror filter.type",
        || backend_filter(json!({"type": "RequestMirror"})),
        &[],
    ),
    (
        "filter.requestRedirect must be nil if the filter.type is not RequestRedirect",
        || backend_filter(filter("RequestHeaderModifier", json!({"requestRedirect": {}}))),
        &[],
    ),
    (
        "filter.requestRedirect must be specified for RequestRedirect filter.type",
        || backend_filter(json!({"type": "RequestRedirect"})),
        &[],
    ),
    (
        "filter.urlRewrite must be nil if the filter.type is not URLRewrite",
        || backend_filter(filter("RequestHeaderModifier", json!({"urlRewrite": {}}))),
        &[],
    ),
    (
        "filter.urlRewrite must be specified for URLRewrite filter.type",
        || backend_filter(json!({"type": "URLRewrite"})),
        &[],
    ),
    (
        "filter.extensionRef must be nil if the filter.type is not ExtensionRef",
        || backend_filter(filter("RequestHeaderModifier", json!({"extensionRef": {"group": "example.com", "kind": "Filter", "name": "f"}}))),
        &[],
    ),
    (
        "filter.extensionRef must be specified for ExtensionRef filter.type",
        || backend_filter(json!({"type": "ExtensionRef"})),
        &[],
    ),
    // HTTPRoute: mirror and redirect details
    (
        "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter",
        || backend_filter(filter("RequestMirror", json!({"requestMirror": {"percent": 10, "fraction": {"numerator": 1, "denominator": 10}}}))),
        &[],
    ),
    (
        "numerator must be less than or equal to denominator",
        || backend_filter(filter("RequestMirror", json!({"requestMirror": {"fraction": {"numerator": 5, "denominator": 2}}}))),
        &[],
    ),
    (
        "replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
        || redirect_path(json!({"type": "ReplaceFullPath"})),
        &[],
    ),
    (
        "type must be 'ReplaceFullPath' when replaceFullPath is set",
        || redirect_path(json!({"type": "ReplacePrefixMatch", "replacePrefixMatch": "/a", "replaceFullPath": "/b"})),
        &[],
    ),
    (
        "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'",
        || redirect_path(json!({"type": "ReplacePrefixMatch"})),
        &[],
    ),
    (
        "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
        || redirect_path(json!({"type": "ReplaceFullPath", "replaceFullPath": "/a", "replacePrefixMatch": "/b"})),
        &[],
    ),
    // HTTPRoute: path matches
    (
        "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "v1"),
        &[],
    ),
    (
        "must not contain '//' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "/a//b"),
        &[],
    ),
    (
        "must not contain '/./' when type one of ['Exact', 'PathPrefix']",
        || path_match("Exact", "/a/./b"),
        &[],
    ),
    (
        "must not contain '/../' when type one of ['Exact', 'PathPrefix']",
        || path_match("Exact", "/a/../b"),
        &[],
    ),
    (
        "must not contain '%2f' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "/a%2fb"),
        &[],
    ),
    (
        "must not contain '%2F' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "/a%2Fb"),
        &[],
    ),
    (
        "must not contain '#' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "/a#b"),
        // `#` is also outside the allowed characters.
        &["must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']"],
    ),
    (
        "must not end with '/..' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "/a/.."),
        &[],
    ),
    (
        "must not end with '/.' when type one of ['Exact', 'PathPrefix']",
        || path_match("PathPrefix", "/a/."),
        &[],
    ),
    (
        "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
        // The schema's enum rejects it too; the rule holds on its own.
        || path_match("Regex", "/a"),
        &[],
    ),
    (
        "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
        || path_match("Exact", "/a b"),
        &[],
    ),
    // HTTPRoute: timeouts
    (
        "backendRequest timeout cannot be longer than request timeout",
        || route_rule(json!({
            "backendRefs": [{"name": "svc", "port": 8000}],
            "timeouts": {"request": "1s", "backendRequest": "2s"},
        })),
        &[],
    ),
];

/// `value` as the loader reads it from a file, written as JSON (which is YAML) so that every
/// field is on a line of its own.
fn load_value(value: &Value) -> Object {
    let text = serde_json::to_string_pretty(value).expect("JSON");
    let loaded = load::load_sources(
        vec![(PathBuf::from("broken.yaml"), text.into_bytes())],
        &LoadOptions::default(),
    );
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(Diagnostic::to_string)
        .collect();
    assert!(errors.is_empty(), "the loader rejects {value}: {errors:?}");
    let mut objects = loaded.index.into_objects();
    assert_eq!(objects.len(), 1);
    objects.remove(0)
}

/// `spec.rules[0].matches` as segments.
fn segs(field: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in field.split('.').filter(|p| !p.is_empty()) {
        let (key, indices) = part.split_once('[').unwrap_or((part, ""));
        out.push(Seg::from(key));
        for i in indices.split('[') {
            if let Some(i) = i.strip_suffix(']') {
                out.push(Seg::Index(i.parse().expect("index")));
            }
        }
    }
    out
}

/// The distinct rules that are evaluated, each with the attachments that carry it.
fn distinct_rules() -> BTreeMap<String, Vec<Attachment>> {
    let mut by_rule: BTreeMap<String, Vec<Attachment>> = BTreeMap::new();
    for a in attachments() {
        if !is_transition(&a.rule) {
            by_rule.entry(a.rule.clone()).or_default().push(a);
        }
    }
    by_rule
}

#[test]
fn every_distinct_rule_is_broken_once_with_its_message_at_its_field() {
    let all = attachments();
    let by_rule = distinct_rules();
    let transition = all.iter().filter(|a| is_transition(&a.rule)).count();
    eprintln!(
        "{} attachments, {} transition (not evaluated), {} distinct rules evaluated",
        all.len(),
        transition,
        by_rule.len()
    );
    // Messages name the rules in the table, so each must name one rule.
    let mut by_message: BTreeMap<&str, &str> = BTreeMap::new();
    for (rule, at) in &by_rule {
        let previous = by_message.insert(&at[0].message, rule);
        assert!(
            previous.is_none_or(|p| p == rule),
            "two rules share the message {:?}",
            at[0].message
        );
    }
    let mut problems = Vec::new();
    for (rule, attached) in &by_rule {
        let first = &attached[0];
        let Some((_, patch, also)) = BREAKS.iter().find(|(m, _, _)| *m == first.message) else {
            problems.push(format!(
                "no entry in BREAKS for the rule {:?} (message {:?}), first attached to {} {} at {}",
                rule,
                first.message,
                first.kind,
                first.api_version(),
                first.path
            ));
            continue;
        };
        // The first attachment, and every other version of the kind that carries the rule at
        // the same field (Gateway API's v1 and v1beta1).
        // (Gateway API lists one rule twice at the same field: it is reported once.)
        let mut targets: Vec<&Attachment> = attached
            .iter()
            .filter(|a| a.kind == first.kind && a.path == first.path)
            .collect();
        targets.dedup_by_key(|a| a.version.clone());
        for at in targets {
            let Some(mut value) = base(&at.kind, &at.api_version()) else {
                problems.push(format!("no base object of kind {}", at.kind));
                continue;
            };
            merge(&mut value, &patch());
            let obj = load_value(&value);
            let diags = cel::check(&obj);
            let label = format!("{} {} {}: {:?}", at.kind, at.version, at.path, at.message);
            let field = at.field();
            let want = format!("{} {field}: {}", at.kind, at.message);
            let (hits, others): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
                diags.iter().partition(|d| d.message == want);
            if hits.len() != 1 {
                problems.push(format!(
                    "{label}: want one `{want}`, got {:#?}",
                    diags.iter().map(|d| &d.message).collect::<Vec<_>>()
                ));
                continue;
            }
            let unexpected: Vec<&String> = others
                .iter()
                .map(|d| &d.message)
                .filter(|m| !also.iter().any(|a| m.ends_with(a)))
                .collect();
            if !unexpected.is_empty() {
                problems.push(format!("{label}: also broke {unexpected:#?}"));
            }
            let d = hits[0];
            assert_eq!(d.code, cel::CEL_VIOLATION);
            assert!(d.is_error());
            let loc = d.location.clone().expect("located");
            if loc != obj.loc(&segs(&field)) || loc.line <= 1 {
                problems.push(format!(
                    "{label}: located at {}:{}, not at {field} ({:?})",
                    loc.line,
                    loc.col,
                    obj.loc(&segs(&field))
                ));
            }
        }
    }
    // A table entry whose rule is gone from the CRDs is stale.
    for (message, _, _) in BREAKS {
        if !by_message.contains_key(message) {
            problems.push(format!("BREAKS names no rule of the CRDs: {message:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// What kube-cel compiles is what the CRD files hold: the same count, per kind and version.
#[test]
fn the_evaluator_compiles_every_rule_of_the_crds() {
    let mut want: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for a in attachments() {
        let e = want.entry((a.api_version(), a.kind.clone())).or_default();
        e.0 += 1;
        e.1 += usize::from(is_transition(&a.rule));
    }
    let mut got = BTreeMap::new();
    for (api_version, kind, compiled) in cel::all() {
        let c = compiled.as_ref().expect("compiles");
        got.insert((api_version, kind.to_owned()), (c.rules, c.transition));
    }
    assert_eq!(got, want);
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "ci"))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn the_examples_break_no_rule() {
    let mut found = Vec::new();
    let mut checked = 0;
    for dir in examples() {
        let loaded = load::load_dir(&dir, &LoadOptions::default()).expect("readable");
        for obj in loaded.index.objects() {
            if cel::compiled(&obj.key.api_version, &obj.key.kind).is_some() {
                checked += 1;
            }
            found.extend(cel::check(obj).iter().map(Diagnostic::to_string));
        }
    }
    assert!(checked >= 20, "only {checked} objects with rules");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_golden_object_breaks_no_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&root) {
        let path = entry.expect("readable").into_path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        for (_, _, v) in load::yaml::parse_values(&text).expect("golden YAML") {
            let kind = v["kind"].as_str().unwrap_or_default().to_owned();
            let api_version = v["apiVersion"].as_str().unwrap_or_default();
            if cel::compiled(api_version, &kind).is_some() {
                *checked.entry(kind).or_default() += 1;
            }
            found.extend(
                cel::check_output(&v)
                    .into_iter()
                    .map(|e| format!("{}: {e}", path.display())),
            );
        }
    }
    assert!(
        checked.get("HTTPRoute").is_some_and(|n| *n >= 22),
        "{checked:?}"
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The API server prunes null fields before CEL runs: `image: null` is absent. (The loader
/// prunes nulls under `spec` itself; this object is built as it would be without that.)
#[test]
fn a_null_field_is_absent() {
    let text = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata: {name: s, namespace: ns}\nspec:\n  model: {name: m, image: null}\n";
    let docs = load::yaml::parse_values(text).expect("YAML");
    let (line, col, value) = docs.into_iter().next().expect("one document");
    assert!(value["spec"]["model"]["image"].is_null());
    let obj = Object {
        source: SourceFile::new(PathBuf::from("s.yaml"), text.to_owned()),
        doc: 0,
        line,
        col,
        value,
        key: ObjKey {
            api_version: "aim.eai.amd.com/v1alpha1".into(),
            kind: "AIMService".into(),
            namespace: Some("ns".into()),
            name: "s".into(),
        },
        aim: None,
        derived: false,
    };
    assert_eq!(cel::check(&obj), Vec::<Diagnostic>::new());
    // Through the loader, too.
    let loaded = load::load_sources(
        vec![(PathBuf::from("s.yaml"), text.as_bytes().to_vec())],
        &LoadOptions::default(),
    );
    for obj in loaded.index.objects() {
        assert_eq!(cel::check(obj), Vec::<Diagnostic>::new());
    }
}

/// A rule's help line carries aimc's fix where it has one, and the rule itself.
#[test]
fn help_gives_the_fix_and_the_rule() {
    let obj = load_value(&json!({
        "apiVersion": "aim.eai.amd.com/v1alpha1", "kind": "AIMServiceTemplate",
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {"modelName": "m", "hardware": {}},
    }));
    let d = cel::check(&obj);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        d[0].message,
        "AIMServiceTemplate spec.hardware: at least one of gpu or cpu must be specified"
    );
    assert_eq!(
        d[0].help.as_deref(),
        Some("add `gpu` (e.g. `gpu: {requests: 1}`) or `cpu` to the hardware (CRD rule `has(self.gpu) || has(self.cpu)`)")
    );
}
