//! Byte-exact port of the AIM operator's name derivation and `AIM_ENGINE_ARGS`
//! JSON merge. Every generated object name, hash suffix and merged engine-args
//! string flows through here, so a single-byte drift renames objects: the Go
//! semantics (rune-wise regexes, `encoding/json` escaping and float formatting)
//! are mirrored deliberately rather than approximated with Rust idioms.

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};
use std::fmt;

const MAX_NAME_LEN: usize = 63;
/// encoding/json's scanner rejects deeper nesting; serde_json's default (128)
/// would reject inputs the operator accepts.
const GO_MAX_JSON_DEPTH: usize = 10_000;
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Go's `strings.ToLower` uses simple case mapping. Only these two non-ASCII
/// runes lower-case into ASCII; every other non-ASCII rune is replaced by the
/// sanitisers anyway, so no Unicode-table version skew can leak through.
fn go_lower(c: char) -> char {
    match c {
        '\u{130}' => 'i',
        '\u{212A}' => 'k',
        _ => c.to_ascii_lowercase(),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// Sanitised strings are pure ASCII, so byte truncation never splits a char;
/// `get` keeps that guarantee from turning into a panic if it ever breaks.
fn truncate_ascii(s: &str, max: usize) -> &str {
    s.get(..max.min(s.len())).unwrap_or(s)
}

/// §6.1
pub fn rfc1123(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            let c = go_lower(c);
            if is_name_char(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    truncate_ascii(trimmed, MAX_NAME_LEN)
        .trim_end_matches('-')
        .to_string()
}

/// §6.2; returns "" where Go returns an error
pub fn sanitize_label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars().map(go_lower) {
        if is_name_char(c) || c == '.' || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    let junk: &[char] = &['_', '.', '-'];
    let trimmed = out.trim_matches(junk);
    truncate_ascii(trimmed, MAX_NAME_LEN)
        .trim_end_matches(junk)
        .to_string()
}

/// Image name/tag sanitiser: unlike `rfc1123`, dash runs collapse.
fn sanitize_name_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(go_lower) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn push_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Go >= 1.22 (the operator builds with 1.24) uses the short forms.
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{1f}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str("\\u");
                let n = u32::from(c);
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX[((n >> shift) & 0xF) as usize]));
                }
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// Go encoding/json string encoding incl. quotes (HTML-escaping on, as with
/// `json.Marshal`; `\b`/`\f` short forms as in Go >= 1.22).
pub fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_go_json_string(&mut out, s);
    out
}

/// One hash input, already normalised per §6.3
#[derive(Debug, Clone, PartialEq)]
pub enum HashInput {
    Str(String),
    Int(i64),
    Null,
    /// pre-serialised Go JSON text
    Json(String),
}

impl From<&str> for HashInput {
    fn from(s: &str) -> Self {
        HashInput::Str(s.to_string())
    }
}

/// lowercase hex sha256 of inputs joined by "|" (§6.3)
pub fn hash_hex(inputs: &[HashInput]) -> String {
    let mut joined = String::new();
    for (i, input) in inputs.iter().enumerate() {
        if i > 0 {
            joined.push('|');
        }
        match input {
            HashInput::Str(s) => push_go_json_string(&mut joined, s),
            HashInput::Int(n) => joined.push_str(&n.to_string()),
            HashInput::Null => joined.push_str("null"),
            HashInput::Json(j) => joined.push_str(j),
        }
    }
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(joined.as_bytes()) {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    hex
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    EmptyParts,
    BadMaxLength(usize),
    /// Go would panic slicing the 64-char digest.
    BadHashLength(usize),
    NamespaceTooLong {
        namespace: String,
        len: usize,
    },
    EmptyImage,
    RegistryEmpty,
    ImageNameEmpty,
    ImageTagEmpty,
    /// Carries the image reference, as the operator's message does.
    EmptyTagReference(String),
    /// Carries the operator's full message (its wording depends on the fault).
    InvalidDigest(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::EmptyParts => f.write_str("nameParts cannot be empty"),
            NameError::BadMaxLength(n) => write!(
                f,
                "maxLength must be between 1 and {MAX_NAME_LEN}, got {n}"
            ),
            NameError::BadHashLength(n) => {
                write!(f, "hashLength must be at most 64, got {n}")
            }
            // Namespaces are DNS labels, so Go's %q is plain double quoting.
            NameError::NamespaceTooLong { namespace, len } => write!(
                f,
                "namespace \"{namespace}\" is too long ({len} chars); InferenceService hostname would exceed 63 characters"
            ),
            NameError::EmptyImage => f.write_str("image reference is empty"),
            NameError::RegistryEmpty => f.write_str("registry is empty after sanitization"),
            NameError::ImageNameEmpty => f.write_str("image name is empty after sanitization"),
            NameError::ImageTagEmpty => f.write_str("image tag is empty after sanitization"),
            NameError::EmptyTagReference(image) => {
                write!(f, "malformed tag reference (empty tag): {image}")
            }
            NameError::InvalidDigest(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for NameError {}

/// Infallible core; callers guarantee non-empty parts, `1..=63` and `<= 64`.
fn derive(parts: &[&str], hash_inputs: &[HashInput], hash_len: usize, max_len: usize) -> String {
    let mut sp: Vec<String> = parts
        .iter()
        .map(|p| {
            let s = rfc1123(p);
            if s.is_empty() {
                "part".to_string()
            } else {
                s
            }
        })
        .collect();
    let suffix = if hash_len > 0 && !hash_inputs.is_empty() {
        let mut h = hash_hex(hash_inputs);
        h.truncate(hash_len);
        h
    } else {
        String::new()
    };
    let total = |sp: &[String]| {
        (sp.iter().map(|p| p.len() + 1).sum::<usize>() + suffix.len())
            .saturating_sub(usize::from(suffix.is_empty()))
    };
    while total(&sp) > max_len {
        // First longest wins ties, as Go's strict `>` scan does.
        let (mut k, mut longest) = (0, 0);
        for (i, p) in sp.iter().enumerate() {
            if p.len() > longest {
                (k, longest) = (i, p.len());
            }
        }
        if longest <= 1 {
            break;
        }
        if let Some(p) = sp.get_mut(k) {
            p.truncate(longest - 1);
            let keep = p.trim_end_matches('-').len();
            p.truncate(keep);
        }
    }
    let mut name = sp.join("-");
    if !suffix.is_empty() {
        name.push('-');
        name.push_str(&suffix);
    }
    name
}

/// §6.4
pub fn derived_name(
    parts: &[&str],
    hash_inputs: &[HashInput],
    hash_len: usize,
    max_len: usize,
) -> Result<String, NameError> {
    if parts.is_empty() {
        return Err(NameError::EmptyParts);
    }
    if max_len == 0 || max_len > MAX_NAME_LEN {
        return Err(NameError::BadMaxLength(max_len));
    }
    if hash_len > 64 {
        return Err(NameError::BadHashLength(hash_len));
    }
    Ok(derive(parts, hash_inputs, hash_len, max_len))
}

fn str_inputs(values: &[&str]) -> Vec<HashInput> {
    values.iter().map(|v| HashInput::from(*v)).collect()
}

/// §6.5 InferenceService name: KServe's `<isvc>-predictor-<ns>` hostname label
/// must fit in 63 characters, hence the namespace-dependent budget.
pub fn isvc_name(service: &str, namespace: &str) -> Result<String, NameError> {
    let budget = (MAX_NAME_LEN - "-predictor-".len())
        .checked_sub(namespace.len())
        .filter(|m| *m >= 10)
        .ok_or_else(|| NameError::NamespaceTooLong {
            namespace: namespace.to_string(),
            len: namespace.len(),
        })?;
    Ok(derive(&[service], &str_inputs(&[namespace]), 8, budget))
}

pub fn http_route_name(service: &str, namespace: &str) -> String {
    derive(&[service], &str_inputs(&[namespace]), 8, MAX_NAME_LEN)
}

/// §6.7 -> (name, tag) sanitised
pub fn image_parts(image: &str) -> Result<(String, String), NameError> {
    if image.is_empty() {
        return Err(NameError::EmptyImage);
    }
    let (registry, repository) = match image.split_once('/') {
        Some((first, rest))
            if !first.is_empty()
                && (first.contains('.') || first.contains(':') || first == "localhost") =>
        {
            (first, rest)
        }
        _ => ("docker.io", image),
    };
    let last = repository.rsplit('/').next().unwrap_or(repository);
    let (name, tag): (&str, String) = if let Some((name, digest)) = last.split_once('@') {
        if digest.is_empty() {
            return Err(NameError::InvalidDigest(format!(
                "malformed digest reference: {image}"
            )));
        }
        let Some((_, hash)) = digest.split_once(':') else {
            return Err(NameError::InvalidDigest(format!(
                "malformed digest (missing colon): {digest}"
            )));
        };
        let hash = hash.as_bytes();
        if hash.is_empty() {
            return Err(NameError::InvalidDigest(format!(
                "malformed digest (no hash after colon): {digest}"
            )));
        }
        // Go slices 6 bytes, possibly mid-rune; the lossy decode yields a
        // non-name char exactly where Go's regexp sees RuneError.
        let cut = hash.get(..6).unwrap_or(hash);
        (name, String::from_utf8_lossy(cut).into_owned())
    } else if let Some((name, tag)) = last.split_once(':') {
        if tag.is_empty() {
            return Err(NameError::EmptyTagReference(image.to_string()));
        }
        (name, tag.to_string())
    } else {
        (last, "latest".to_string())
    };
    if sanitize_name_component(registry).is_empty() {
        return Err(NameError::RegistryEmpty);
    }
    let name = sanitize_name_component(name);
    if name.is_empty() {
        return Err(NameError::ImageNameEmpty);
    }
    let tag = sanitize_name_component(&tag);
    if tag.is_empty() {
        return Err(NameError::ImageTagEmpty);
    }
    Ok((name, tag))
}

/// AIMModel auto-created from model.image. The operator trims the service's
/// image before both parsing and hashing, so this does too.
pub fn image_model_name(image: &str) -> Result<String, NameError> {
    let image = image.trim();
    let (name, tag) = image_parts(image)?;
    Ok(derive(
        &[&name, &tag],
        &str_inputs(&[image]),
        8,
        MAX_NAME_LEN,
    ))
}

pub struct CustomSourceKey<'a> {
    pub model_id: &'a str,
    pub source_uri: &'a str,
    /// Literal `AWS_ENDPOINT_URL` value from the source env; the operator
    /// hashes it only when non-empty, so `Some("")` names like `None`.
    pub endpoint: Option<&'a str>,
}

pub fn custom_model_name(
    base_image: &str,
    sources: &[CustomSourceKey],
) -> Result<String, NameError> {
    let mut inputs = vec![HashInput::from(base_image)];
    for s in sources {
        inputs.push(s.model_id.into());
        inputs.push(s.source_uri.into());
        if let Some(ep) = s.endpoint.filter(|e| !e.is_empty()) {
            inputs.push(ep.into());
        }
    }
    let first = sources.first().map_or("custom-model", |s| s.model_id);
    derived_name(&[first], &inputs, 8, MAX_NAME_LEN)
}

/// §6.6
pub fn derived_template_name(
    base: &str,
    gpu_model: Option<&str>,
    gpu_requests: i32,
    precision: Option<&str>,
    metric: Option<&str>,
) -> Result<String, NameError> {
    let mut parts: Vec<String> = Vec::new();
    let mut inputs: Vec<HashInput> = Vec::new();
    if let Some(model) = gpu_model.filter(|m| !m.is_empty()) {
        parts.push(model.chars().map(go_lower).collect());
        inputs.extend(["gpu".into(), model.into()]);
    }
    if gpu_requests > 0 {
        parts.push(format!("{gpu_requests}gpu"));
        inputs.extend(["count".into(), HashInput::Int(i64::from(gpu_requests))]);
    }
    if let Some(p) = precision {
        parts.push(p.to_string());
        inputs.extend(["precision".into(), p.into()]);
    }
    if let Some(m) = metric {
        parts.push(m.to_string());
        inputs.extend(["metric".into(), m.into()]);
    }
    if parts.is_empty() {
        return Ok(base.to_string());
    }
    let mut all: Vec<&str> = vec![base, "ovr"];
    all.extend(parts.iter().map(String::as_str));
    derived_name(&all, &inputs, 4, MAX_NAME_LEN)
}

/// cache-model.md §2.5. `image_ref` is the model's full `spec.image`.
pub fn deployment_template_name(
    model_name: &str,
    image_ref: &str,
    gpu_model: &str,
    gpu_count: i32,
    metric: &str,
    precision: &str,
) -> Result<String, NameError> {
    let mut suffix: Vec<String> = Vec::new();
    match (gpu_count > 0, gpu_model.is_empty()) {
        (true, false) => suffix.push(format!("{gpu_count}x-{gpu_model}")),
        (false, false) => suffix.push(gpu_model.to_string()),
        (true, true) => suffix.push(format!("x{gpu_count}")),
        (false, true) => {}
    }
    if !metric.is_empty() {
        suffix.push(
            match metric {
                "latency" => "lat",
                "throughput" => "thr",
                other => other,
            }
            .to_string(),
        );
    }
    if !precision.is_empty() {
        suffix.push(precision.to_string());
    }
    let mut h = format!("{model_name}-{image_ref}");
    if !gpu_model.is_empty() {
        h.push('-');
        h.push_str(gpu_model);
    }
    if gpu_count > 0 {
        h.push_str(&format!("-x{gpu_count}"));
    }
    for v in [metric, precision] {
        if !v.is_empty() {
            h.push('-');
            h.push_str(v);
        }
    }
    let joined = suffix.join("-");
    derived_name(&[image_ref, &joined], &[HashInput::Str(h)], 4, MAX_NAME_LEN)
}

/// cache-model.md §2.6: one `customTemplates[]` entry; only its own fields
/// count, not the hardware merged from `custom.hardware`.
pub struct CustomTemplateKey<'a> {
    pub name: Option<&'a str>,
    /// (precision, metric)
    pub profile: Option<(&'a str, &'a str)>,
    /// (requests, model)
    pub gpu: Option<(i32, &'a str)>,
}

/// `entry` None for the auto template
pub fn custom_template_name(
    model_name: &str,
    entry: Option<&CustomTemplateKey>,
    index: i64,
) -> Result<String, NameError> {
    let mut parts: Vec<&str> = vec![model_name, "custom"];
    let mut inputs = vec![HashInput::from(model_name), HashInput::Int(index)];
    if let Some(ct) = entry {
        let set = |v: &&str| !v.is_empty();
        parts.extend(ct.name.filter(set));
        parts.extend(ct.profile.map(|(p, _)| p).filter(set));
        parts.extend(ct.gpu.map(|(_, m)| m).filter(set));
        inputs.push(ct.name.unwrap_or("").into());
        if let Some((precision, metric)) = ct.profile {
            inputs.extend([precision.into(), metric.into()]);
        }
        if let Some((requests, model)) = ct.gpu {
            inputs.extend([HashInput::Int(i64::from(requests)), model.into()]);
        }
    }
    derived_name(&parts, &inputs, 8, MAX_NAME_LEN)
}

/// Shared template cache name (§6.5)
pub fn shared_cache_name(template: &str, namespace: &str) -> Result<String, NameError> {
    derived_name(&[template], &str_inputs(&[namespace]), 8, MAX_NAME_LEN)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeJsonError {
    /// Base is JSON `null` and the override has keys: the operator writes into
    /// a nil Go map and panics, so there is no output to reproduce.
    NilBaseMap,
}

impl fmt::Display for MergeJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("assignment to entry in nil map (AIM_ENGINE_ARGS base is JSON null)")
    }
}

impl std::error::Error for MergeJsonError {}

/// serde_json drops trees recursively; Go accepts 10 000-deep documents, which
/// would overflow a 2 MiB thread stack, so every parsed tree is torn down here.
fn dismantle(root: Value) {
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn dismantle_map(map: Option<Map<String, Value>>) {
    if let Some(m) = map {
        dismantle(Value::Object(m));
    }
}

/// What `json.Unmarshal` into `map[string]any` yields: `None` for `null`
/// (a nil map), `Err` when Go would report an error.
fn parse_go_object(text: &str) -> Result<Option<Map<String, Value>>, ()> {
    match GoJsonParser::parse(text)? {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        other => {
            dismantle(other);
            Err(())
        }
    }
}

/// Iterative so that two deeply nested documents cannot overflow the stack.
fn deep_merge(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    let mut work = vec![(dst, src)];
    while let Some((d, s)) = work.pop() {
        let mut nested: Vec<(String, Map<String, Value>)> = Vec::new();
        for (k, v) in s {
            match (d.get(&k), v) {
                (Some(Value::Object(_)), Value::Object(sm)) => nested.push((k, sm)),
                (_, v) => {
                    if let Some(old) = d.insert(k, v) {
                        dismantle(old);
                    }
                }
            }
        }
        if nested.is_empty() {
            continue;
        }
        let mut nested: std::collections::HashMap<String, Map<String, Value>> =
            nested.into_iter().collect();
        for (k, dv) in d.iter_mut() {
            if let (Value::Object(dm), Some(sm)) = (dv, nested.remove(k)) {
                work.push((dm, sm));
            }
        }
    }
}

/// §3.3 MergeJSON for AIM_ENGINE_ARGS. Err only for the case where Go panics (base "null" with object higher).
pub fn merge_json(base: &str, higher: &str) -> Result<String, MergeJsonError> {
    if base.is_empty() || higher.is_empty() {
        return Ok(if base.is_empty() { higher } else { base }.to_string());
    }
    let Ok(base_map) = parse_go_object(base) else {
        return Ok(higher.to_string());
    };
    let Ok(higher_map) = parse_go_object(higher) else {
        dismantle_map(base_map);
        return Ok(higher.to_string());
    };
    match (base_map, higher_map) {
        (None, h) => {
            let panics = h.as_ref().is_some_and(|h| !h.is_empty());
            dismantle_map(h);
            if panics {
                Err(MergeJsonError::NilBaseMap)
            } else {
                Ok("null".to_string())
            }
        }
        (Some(mut b), h) => {
            if let Some(h) = h {
                deep_merge(&mut b, h);
            }
            let merged = Value::Object(b);
            let out = go_json_value(&merged);
            dismantle(merged);
            Ok(out)
        }
    }
}

/// Go's float64 encoder: shortest round-trip digits, `%f` style inside
/// [1e-6, 1e21), otherwise `%e` with Go's "e-07" → "e-7" clean-up.
fn push_go_float(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
        out.push_str(mant);
        out.push('e');
        if !exp.starts_with('-') {
            out.push('+');
        }
        out.push_str(exp);
    } else {
        out.push_str(&f.to_string());
    }
}

fn push_number(out: &mut String, n: &Number) {
    // encoding/json decodes every number into float64.
    push_go_float(out, n.as_f64().unwrap_or(f64::NAN));
}

enum Piece<'a> {
    Val(&'a Value),
    Key(&'a str),
    Lit(char),
}

/// Go encoding/json re-serialisation of a serde_json::Value: compact, keys
/// sorted bytewise at every level (explicitly, so a `preserve_order` build of
/// serde_json elsewhere in the graph cannot change output), numbers as Go
/// float64, HTML escaping. Iterative so Go-legal 10 000-deep input cannot
/// overflow the stack.
pub fn go_json_value(v: &Value) -> String {
    let mut out = String::new();
    let mut work = vec![Piece::Val(v)];
    while let Some(piece) = work.pop() {
        match piece {
            Piece::Lit(c) => out.push(c),
            Piece::Key(k) => {
                push_go_json_string(&mut out, k);
                out.push(':');
            }
            Piece::Val(v) => match v {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => push_number(&mut out, n),
                Value::String(s) => push_go_json_string(&mut out, s),
                Value::Array(items) => {
                    out.push('[');
                    work.push(Piece::Lit(']'));
                    for (i, item) in items.iter().enumerate().rev() {
                        work.push(Piece::Val(item));
                        if i > 0 {
                            work.push(Piece::Lit(','));
                        }
                    }
                }
                Value::Object(map) => {
                    out.push('{');
                    work.push(Piece::Lit('}'));
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                    for (i, (k, v)) in entries.into_iter().enumerate().rev() {
                        work.push(Piece::Val(v));
                        work.push(Piece::Key(k));
                        if i > 0 {
                            work.push(Piece::Lit(','));
                        }
                    }
                }
            },
        }
    }
    out
}

enum Frame {
    Arr(Vec<Value>),
    Obj(Map<String, Value>, String),
}

/// Decoder with `json.Unmarshal(&any)` semantics: numbers as correctly
/// rounded float64 (overflow is an error, underflow is 0), lone surrogate
/// escapes become U+FFFD, last duplicate key wins, nesting up to 10 000.
/// serde_json's defaults mis-round many 17-digit floats, reject lone
/// surrogates and stop at depth 128, hence a dedicated parser.
struct GoJsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> GoJsonParser<'a> {
    fn parse(text: &'a str) -> Result<Value, ()> {
        let mut p = GoJsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let mut stack: Vec<Frame> = Vec::new();
        let result = p.run(&mut stack);
        for frame in stack {
            match frame {
                Frame::Arr(items) => dismantle(Value::Array(items)),
                Frame::Obj(map, _) => dismantle(Value::Object(map)),
            }
        }
        result
    }

    fn run(&mut self, stack: &mut Vec<Frame>) -> Result<Value, ()> {
        let p = self;
        loop {
            p.ws();
            let mut v = match p.peek()? {
                open @ (b'{' | b'[') => {
                    p.i += 1;
                    if stack.len() + 1 > GO_MAX_JSON_DEPTH {
                        return Err(());
                    }
                    p.ws();
                    if open == b'{' {
                        if p.eat(b'}') {
                            Value::Object(Map::new())
                        } else {
                            let key = p.key()?;
                            stack.push(Frame::Obj(Map::new(), key));
                            continue;
                        }
                    } else if p.eat(b']') {
                        Value::Array(Vec::new())
                    } else {
                        stack.push(Frame::Arr(Vec::new()));
                        continue;
                    }
                }
                b'"' => Value::String(p.string()?),
                b't' => p.literal("true", Value::Bool(true))?,
                b'f' => p.literal("false", Value::Bool(false))?,
                b'n' => p.literal("null", Value::Null)?,
                _ => p.number()?,
            };
            // Attach the finished value, closing every container it completes.
            loop {
                let Some(frame) = stack.last_mut() else {
                    p.ws();
                    if p.i == p.s.len() {
                        return Ok(v);
                    }
                    dismantle(v);
                    return Err(());
                };
                p.ws();
                let closed = match frame {
                    Frame::Arr(items) => {
                        items.push(v);
                        match p.next()? {
                            b',' => None,
                            b']' => Some(Value::Array(std::mem::take(items))),
                            _ => return Err(()),
                        }
                    }
                    Frame::Obj(map, key) => {
                        if let Some(old) = map.insert(std::mem::take(key), v) {
                            dismantle(old);
                        }
                        match p.next()? {
                            b',' => {
                                p.ws();
                                *key = p.key()?;
                                None
                            }
                            b'}' => Some(Value::Object(std::mem::take(map))),
                            _ => return Err(()),
                        }
                    }
                };
                match closed {
                    Some(done) => {
                        stack.pop();
                        v = done;
                    }
                    None => break,
                }
            }
        }
    }

    fn peek(&self) -> Result<u8, ()> {
        self.s.get(self.i).copied().ok_or(())
    }

    fn next(&mut self) -> Result<u8, ()> {
        let b = self.peek()?;
        self.i += 1;
        Ok(b)
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&b);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, ()> {
        if self.s.get(self.i..self.i + word.len()) == Some(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(())
        }
    }

    fn key(&mut self) -> Result<String, ()> {
        if self.peek()? != b'"' {
            return Err(());
        }
        let k = self.string()?;
        self.ws();
        if self.next()? != b':' {
            return Err(());
        }
        Ok(k)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, ()> {
        let start = self.i;
        self.eat(b'-');
        if !self.eat(b'0') && (!matches!(self.peek()?, b'1'..=b'9') || self.digits() == 0) {
            return Err(());
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(());
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(());
            }
        }
        let text = std::str::from_utf8(self.s.get(start..self.i).ok_or(())?).map_err(|_| ())?;
        let f: f64 = text.parse().map_err(|_| ())?;
        Number::from_f64(f).map(Value::Number).ok_or(())
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        let h = std::str::from_utf8(h).ok()?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    }

    fn string(&mut self) -> Result<String, ()> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.next()? {
                b'"' => break,
                b'\\' => match self.next()? {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let r = self.hex4(self.i).ok_or(())?;
                        self.i += 4;
                        let c = if (0xD800..0xE000).contains(&r) {
                            // Go pairs only high+low; anything else is U+FFFD
                            // and the following escape is decoded on its own.
                            let low = (r < 0xDC00
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u"))
                            .then(|| self.hex4(self.i + 2))
                            .flatten()
                            .filter(|l| (0xDC00..0xE000).contains(l));
                            match low {
                                Some(l) => {
                                    self.i += 6;
                                    char::from_u32(0x10000 + ((r - 0xD800) << 10) + (l - 0xDC00))
                                }
                                None => None,
                            }
                        } else {
                            char::from_u32(r)
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(
                            c.unwrap_or('\u{FFFD}').encode_utf8(&mut buf).as_bytes(),
                        );
                    }
                    _ => return Err(()),
                },
                b if b < 0x20 => return Err(()),
                b => out.push(b),
            }
        }
        // Input was a &str and escapes emit whole chars, so this cannot fail.
        String::from_utf8(out).map_err(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> HashInput {
        HashInput::Str(v.to_string())
    }

    fn ok<E: fmt::Debug>(r: Result<String, E>) -> String {
        r.unwrap()
    }

    /// §6.5 AIMArtifact naming, expressed through the public primitives.
    fn artifact(uri: &str, env: Option<&str>, sc: &str, dedicated: Option<&str>) -> String {
        let mut h = vec![
            s(uri),
            env.map_or(HashInput::Null, |e| HashInput::Json(e.to_string())),
            s(sc),
        ];
        if let Some(cache) = dedicated {
            h.extend([s("dedicated"), s(cache)]);
        }
        ok(derived_name(&[&uri.replace('.', "-")], &h, 10, 63))
    }

    fn uid_child(parent: &str, what: &str, uid: &str) -> String {
        ok(derived_name(&[parent, what], &[s(uid)], 8, 63))
    }

    // ---- §6.1 / cache-model §1.5.1 ----
    #[test]
    fn rfc1123_vectors() {
        assert_eq!(rfc1123("Hello__World..X"), "hello--world--x");
        assert_eq!(rfc1123("ÄÖ-x"), "x");
        assert_eq!(rfc1123("My_Service.V2"), "my-service-v2");
        assert_eq!(rfc1123("hf://Qwen/Qwen3-32B"), "hf---qwen-qwen3-32b");
        assert_eq!(rfc1123("hf://Qwen/Qwen2-0-5B"), "hf---qwen-qwen2-0-5b");
        assert_eq!(
            rfc1123("Meta-Llama/Llama-3.1-70B"),
            "meta-llama-llama-3-1-70b"
        );
    }

    #[test]
    fn rfc1123_edges() {
        // Go's simple case mapping: İ -> i, Kelvin sign -> k.
        assert_eq!(rfc1123("\u{130}X\u{212A}"), "ixk");
        assert_eq!(rfc1123(&format!("{}--b", "a".repeat(62))), "a".repeat(62));
        assert_eq!(rfc1123("é"), "");
        assert_eq!(rfc1123(""), "");
    }

    // ---- §6.2 / cache-model §1.5.2 ----
    #[test]
    fn label_value_vectors() {
        assert_eq!(sanitize_label_value("My_Service.V2"), "my_service.v2");
        assert_eq!(
            sanitize_label_value("meta/llama-3-8b:1.1+20240915"),
            "meta_llama-3-8b_1.1_20240915"
        );
        assert_eq!(sanitize_label_value("Qwen/Qwen3-32B"), "qwen_qwen3-32b");
        assert_eq!(sanitize_label_value("--x--"), "x");
        assert_eq!(
            sanitize_label_value("sshleifer/tiny-gpt2"),
            "sshleifer_tiny-gpt2"
        );
        assert_eq!(sanitize_label_value("Qwen/Qwen2-0.5B"), "qwen_qwen2-0.5b");
        assert_eq!(
            sanitize_label_value("meta-llama/Llama-3.1-8B-Instruct"),
            "meta-llama_llama-3.1-8b-instruct"
        );
    }

    #[test]
    fn label_value_edges() {
        assert_eq!(sanitize_label_value("a_@b"), "a__b");
        assert_eq!(sanitize_label_value("a@@éb"), "a_b");
        assert_eq!(sanitize_label_value("///"), "");
        assert_eq!(
            sanitize_label_value(&format!("{}._x", "a".repeat(62))),
            "a".repeat(62)
        );
    }

    // ---- §6.3 ----
    #[test]
    fn hash_vectors() {
        assert!(hash_hex(&[s("my-namespace")]).starts_with("783d2dc18e5a1bf4"));
        assert!(hash_hex(&[s("default")]).starts_with("1080a608"));
        assert!(hash_hex(&[s("ns")]).starts_with("e2c6bafc"));
        assert!(hash_hex(&[s("Testing")]).starts_with("523bb582"));
        assert_eq!(hash_hex(&[s("x")]).len(), 64);
        // Each kind serialises as Go would before joining with "|".
        assert_eq!(
            hash_hex(&[
                s("a"),
                HashInput::Int(-3),
                HashInput::Null,
                HashInput::Json("[1]".into())
            ]),
            hash_hex(&[HashInput::Json(r#""a"|-3|null|[1]"#.into())])
        );
    }

    #[test]
    fn go_json_string_escapes() {
        assert_eq!(go_json_string("plain"), r#""plain""#);
        assert_eq!(go_json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_json_string("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(go_json_string("\n\r\t"), r#""\n\r\t""#);
        assert_eq!(go_json_string("\u{8}\u{c}"), r#""\b\f""#);
        assert_eq!(
            go_json_string("\u{0}\u{1f}\u{7f}"),
            "\"\\u0000\\u001f\u{7f}\""
        );
        assert_eq!(go_json_string("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        assert_eq!(go_json_string("é/ü"), "\"é/ü\"");
    }

    // ---- §6.4 ----
    #[test]
    fn derived_name_vectors() {
        let a = "a".repeat(40);
        let b = "b".repeat(30);
        let got = ok(derived_name(&[&a, &b], &[s("x")], 8, 63));
        assert_eq!(
            got,
            format!("{}-{}-ba2df490", "a".repeat(26), "b".repeat(27))
        );
        assert_eq!(got.len(), 63);
    }

    #[test]
    fn derived_name_edges() {
        assert_eq!(derived_name(&[], &[], 8, 63), Err(NameError::EmptyParts));
        assert_eq!(
            derived_name(&["a"], &[], 8, 0),
            Err(NameError::BadMaxLength(0))
        );
        assert_eq!(
            derived_name(&["a"], &[], 8, 64),
            Err(NameError::BadMaxLength(64))
        );
        assert_eq!(
            derived_name(&["a"], &[s("x")], 65, 63),
            Err(NameError::BadHashLength(65))
        );
        assert_eq!(ok(derived_name(&["My", "Svc"], &[], 8, 63)), "my-svc");
        assert_eq!(ok(derived_name(&["x"], &[s("x")], 0, 63)), "x");
        assert_eq!(ok(derived_name(&["abc-def"], &[], 8, 4)), "abc");
        // Single-char parts cannot shrink further, so the limit is exceeded.
        assert_eq!(
            ok(derived_name(&["a", "b"], &[s("x")], 8, 5)),
            "a-b-ba2df490"
        );
        assert_eq!(
            NameError::BadMaxLength(0).to_string(),
            "maxLength must be between 1 and 63, got 0"
        );
    }

    // ---- §6.8 ----
    #[test]
    fn isvc_and_route_vectors() {
        assert_eq!(
            ok(isvc_name("my-service", "my-namespace")),
            "my-service-783d2dc1"
        );
        let long = "very-long-service-name-that-might-exceed-kubernetes-limits";
        assert_eq!(
            ok(isvc_name(long, "default")),
            "very-long-service-name-that-might-ex-1080a608"
        );
        assert_eq!(
            http_route_name(long, "default"),
            "very-long-service-name-that-might-exceed-kubernetes-li-1080a608"
        );
        assert_eq!(ok(isvc_name("svc", "ns")), "svc-e2c6bafc");
        assert_eq!(http_route_name("svc", "ns"), "svc-e2c6bafc");
        assert_eq!(ok(isvc_name("demo", "Testing")), "demo-523bb582");
        let qc = ok(isvc_name("qwen-chat", "ml-team"));
        assert_eq!(qc, "qwen-chat-a04542d9");
        assert_eq!(format!("{qc}-predictor"), "qwen-chat-a04542d9-predictor");
        assert_eq!(
            http_route_name("qwen-chat", "ml-team"),
            "qwen-chat-a04542d9"
        );
        assert_eq!(
            ok(isvc_name("llama-chat", "default")),
            "llama-chat-1080a608"
        );
        let q = "qwen3-32b-instruct-production-deployment-long-name";
        let ns = "ml-inference-production-namespace";
        assert_eq!(ok(isvc_name(q, ns)), "qwen3-32b-6425f23c");
        assert_eq!(
            http_route_name(q, ns),
            "qwen3-32b-instruct-production-deployment-long-name-6425f23c"
        );
        assert_eq!(
            ok(isvc_name("My_Service.V2", "prod")),
            "my-service-v2-4120bf0e"
        );
        assert_eq!(ok(isvc_name("---", "ns")), "part-e2c6bafc");
    }

    #[test]
    fn isvc_namespace_limit() {
        let ns42 = "a2345678901234567890123456789012345678901 2".replace(' ', "");
        assert_eq!(ns42.len(), 42);
        assert_eq!(ok(isvc_name("a", &ns42)), "a-1b112a0b");
        let ns43 = format!("{ns42}3");
        let err = isvc_name("a", &ns43).unwrap_err();
        assert_eq!(
            err,
            NameError::NamespaceTooLong {
                namespace: ns43.clone(),
                len: 43
            }
        );
        assert_eq!(
            err.to_string(),
            format!("namespace \"{ns43}\" is too long (43 chars); InferenceService hostname would exceed 63 characters")
        );
        assert_eq!(http_route_name("a", &ns43), "a-5b9b8827");
    }

    #[test]
    fn image_model_vectors() {
        assert_eq!(
            ok(image_model_name("ghcr.io/amd/llama-3-8b:v1.0.0")),
            "llama-3-8b-v1-0-0-f15afcca"
        );
        assert_eq!(
            ok(image_model_name(
                "registry.example.com:5000/models/mistral:latest"
            )),
            "mistral-latest-cc9c0d55"
        );
        assert_eq!(
            ok(image_model_name("ghcr.io/amd/model@sha256:abc123")),
            "model-abc123-58c6ba56"
        );
        assert_eq!(
            ok(image_model_name("ghcr.io/amd/model")),
            "model-latest-962085c9"
        );
        assert_eq!(
            ok(image_model_name("amdenterpriseai/aim-qwen-qwen3-32b:0.8.5")),
            "aim-qwen-qwen3-32b-0-8-5-cdc1fb22"
        );
        let err = image_model_name(":::invalid").unwrap_err();
        assert_eq!(err, NameError::ImageNameEmpty);
        assert_eq!(err.to_string(), "image name is empty after sanitization");
        // cache-model §2.7
        assert_eq!(
            ok(image_model_name("ghcr.io/silogen/aim-dummy:0.1.10")),
            "aim-dummy-0-1-10-9bf80281"
        );
        // The operator trims before parsing and hashing.
        assert_eq!(
            ok(image_model_name("  ghcr.io/amd/model \n")),
            "model-latest-962085c9"
        );
    }

    #[test]
    fn image_parts_vectors() {
        let p = |i: &str| image_parts(i).unwrap();
        assert_eq!(
            p("ghcr.io/amd/llama-3-8b:v1.0.0"),
            ("llama-3-8b".into(), "v1-0-0".into())
        );
        assert_eq!(
            p("registry.example.com:5000/models/mistral:latest"),
            ("mistral".into(), "latest".into())
        );
        assert_eq!(p("ghcr.io/amd/model"), ("model".into(), "latest".into()));
        assert_eq!(
            p("ghcr.io/amd/model@sha256:abc123def"),
            ("model".into(), "abc123".into())
        );
        assert_eq!(p("localhost/My__Img:V--1"), ("my-img".into(), "v-1".into()));
        assert_eq!(p("nginx"), ("nginx".into(), "latest".into()));
        // Go cuts the digest at 6 bytes, even mid-rune.
        assert_eq!(p("img@x:aaaaaé"), ("img".into(), "aaaaa".into()));
        assert_eq!(image_parts("img@x:ééé"), Err(NameError::ImageTagEmpty));
    }

    #[test]
    fn image_parts_errors() {
        assert_eq!(image_parts(""), Err(NameError::EmptyImage));
        assert_eq!(
            NameError::EmptyImage.to_string(),
            "image reference is empty"
        );
        assert_eq!(image_parts(":::invalid"), Err(NameError::ImageNameEmpty));
        assert_eq!(
            image_parts("a/b:"),
            Err(NameError::EmptyTagReference("a/b:".into()))
        );
        assert_eq!(
            image_parts("a/b:").unwrap_err().to_string(),
            "malformed tag reference (empty tag): a/b:"
        );
        assert_eq!(image_parts("a/b:__"), Err(NameError::ImageTagEmpty));
        assert_eq!(
            NameError::ImageTagEmpty.to_string(),
            "image tag is empty after sanitization"
        );
        assert_eq!(image_parts("..:/b"), Err(NameError::RegistryEmpty));
        let d = |i: &str| image_parts(i).unwrap_err().to_string();
        assert_eq!(d("a/b@"), "malformed digest reference: a/b@");
        assert_eq!(d("a/b@sha256"), "malformed digest (missing colon): sha256");
        assert_eq!(
            d("a/b@sha256:"),
            "malformed digest (no hash after colon): sha256:"
        );
    }

    #[test]
    fn custom_model_vectors() {
        let base = "ghcr.io/silogen/aim-base:0.7.0";
        let src = |id, uri, ep| CustomSourceKey {
            model_id: id,
            source_uri: uri,
            endpoint: ep,
        };
        assert_eq!(
            ok(custom_model_name(
                base,
                &[src("my-org/my-model", "s3://bucket/model", None)]
            )),
            "my-org-my-model-770ab756"
        );
        assert_eq!(
            ok(custom_model_name(
                base,
                &[src(
                    "Meta-Llama/Llama-3.1-70B",
                    "hf://Meta-Llama/Llama-3.1-70B",
                    None
                )]
            )),
            "meta-llama-llama-3-1-70b-f10237e2"
        );
        assert_eq!(
            ok(custom_model_name(
                base,
                &[src(
                    "my-org/my-model",
                    "s3://bucket/model",
                    Some("https://minio-1.local")
                )]
            )),
            "my-org-my-model-4089a3ad"
        );
        // An empty endpoint is not hashed.
        assert_eq!(
            ok(custom_model_name(
                base,
                &[src("my-org/my-model", "s3://bucket/model", Some(""))]
            )),
            "my-org-my-model-770ab756"
        );
        assert_eq!(
            ok(custom_model_name(base, &[])),
            ok(derived_name(&["custom-model"], &[s(base)], 8, 63))
        );
    }

    #[test]
    fn derived_template_vectors() {
        let d = |g, n, p, m| ok(derived_template_name("my-template", g, n, p, m));
        assert_eq!(
            d(Some("MI325X"), 0, Some("fp16"), None),
            "my-template-ovr-mi325x-fp16-ac2b"
        );
        assert_eq!(
            d(None, 0, None, Some("latency")),
            "my-template-ovr-latency-817c"
        );
        assert_eq!(
            d(Some("MI300X"), 4, None, None),
            "my-template-ovr-mi300x-4gpu-6a48"
        );
        assert!(d(Some("MI300X"), 4, Some("fp8"), Some("throughput"))
            .starts_with("my-template-ovr-mi300x-4gpu-fp8-throughput-"));
        let b = |g, n, p, m| ok(derived_template_name("base", g, n, p, m));
        assert!(b(Some("MI300X"), 0, None, None).starts_with("base-ovr-mi300x-"));
        assert!(b(None, 4, None, None).starts_with("base-ovr-4gpu-"));
        assert!(b(Some("MI325X"), 8, None, None).starts_with("base-ovr-mi325x-8gpu-"));
        assert!(b(None, 0, Some("fp16"), None).starts_with("base-ovr-fp16-"));
        assert!(b(None, 0, None, Some("latency")).starts_with("base-ovr-latency-"));
        assert_eq!(b(None, 0, None, None), "base");
        assert_eq!(b(Some(""), 0, None, None), "base");
    }

    #[test]
    fn shared_cache_vectors() {
        assert_eq!(
            ok(shared_cache_name("qwen3-32b-mi300x", "ml-team")),
            "qwen3-32b-mi300x-a04542d9"
        );
        // cache-model §5.2
        assert_eq!(
            ok(shared_cache_name("llama-template", "my-namespace")),
            "llama-template-783d2dc1"
        );
        assert_eq!(
            ok(shared_cache_name("test-template", "default")),
            "test-template-1080a608"
        );
        assert_eq!(
            uid_child("llama-template", "my-svc", "service-uid-a"),
            "llama-template-my-svc-dc5ac241"
        );
        assert_eq!(
            uid_child("llama-template", "my-svc", "service-uid-b"),
            "llama-template-my-svc-7ac737af"
        );
    }

    #[test]
    fn artifact_vectors() {
        assert_eq!(
            artifact("hf://Qwen/Qwen3-32B", None, "", None),
            "hf---qwen-qwen3-32b-c00b812b59"
        );
        assert_eq!(
            artifact(
                "hf://Qwen/Qwen3-32B",
                Some(r#"[{"name":"HF_TOKEN","value":"x"}]"#),
                "",
                None
            ),
            "hf---qwen-qwen3-32b-fe9a71eebd"
        );
        assert_eq!(
            artifact(
                "hf://meta-llama/Llama-3.1-8B-Instruct",
                None,
                "fast-nvme",
                None
            ),
            "hf---meta-llama-llama-3-1-8b-instruct-596848aa68"
        );
    }

    // ---- cache-model §2.5 ----
    #[test]
    fn deployment_template_vectors() {
        let t = |m, i, g, n, me, p| ok(deployment_template_name(m, i, g, n, me, p));
        assert_eq!(
            t(
                "test-model-auto-templates",
                "ghcr.io/silogen/aim-dummy:0.1.10",
                "MI300X",
                1,
                "throughput",
                "fp16"
            ),
            "ghcr-io-silogen-aim-dummy-0-1-10-1x-mi300x-thr-fp16-c900"
        );
        assert_eq!(
            t(
                "qwen-qwen3-32b",
                "amdenterpriseai/aim-qwen-qwen3-32b:0.8.5",
                "MI300X",
                1,
                "latency",
                "fp8"
            ),
            "amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-c381"
        );
        assert_eq!(
            t(
                "test-spec-provided-metadata",
                "this-registry-does-not-exist-12345.invalid/fake-model:v1",
                "MI300X",
                1,
                "throughput",
                "fp16"
            ),
            "this-registry-does-not-exist-12345-inva-1x-mi300x-thr-fp16-7a87"
        );
        assert_eq!(
            t("my-model", "test-model", "", 0, "", ""),
            "test-model-part-452c"
        );
        assert_eq!(
            t(
                "my-model",
                "llama-3-1-70b-instruct",
                "mi300x",
                2,
                "latency",
                "fp8"
            ),
            "llama-3-1-70b-instruct-2x-mi300x-lat-fp8-27aa"
        );
        // service.md §10.1: same image under the service-created model name.
        assert_eq!(
            t(
                "aim-qwen-qwen3-32b-0-8-5-cdc1fb22",
                "amdenterpriseai/aim-qwen-qwen3-32b:0.8.5",
                "MI300X",
                1,
                "latency",
                "fp8"
            ),
            "amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d"
        );
        // [T] shapes
        assert!(
            t("m", "llama-3-1-70b-instruct", "MI300X", 2, "latency", "fp8").contains("2x-mi300x")
        );
        assert!(t("m", "llama-3-1-70b-instruct", "MI300X", 2, "latency", "fp8").contains("lat"));
        assert!(t("m", "llama-3-1-70b-instruct", "MI300X", 2, "latency", "fp8").contains("fp8"));
        assert!(t("m", "img", "", 0, "throughput", "").contains("thr"));
        assert!(t("m", "img", "", 4, "", "").contains("-x4-"));
        assert!(t("m", "img", "MI300X", 0, "", "").contains("-mi300x-"));
        assert!(
            t(
                "m",
                &"very-long-image/".repeat(10),
                "MI300X",
                8,
                "latency",
                "fp16"
            )
            .len()
                <= 63
        );
    }

    // ---- cache-model §2.6 ----
    #[test]
    fn custom_template_vectors() {
        let key = |name, profile, gpu| CustomTemplateKey {
            name: Some(name),
            profile,
            gpu,
        };
        let c = |m, e: Option<&CustomTemplateKey>, i| ok(custom_template_name(m, e, i));
        let m = "custom-model-test";
        assert_eq!(
            c(m, Some(&key("default-hardware", None, None)), 0),
            "custom-model-test-custom-default-hardware-7689ffdb"
        );
        assert_eq!(
            c(m, Some(&key("multi-gpu", None, Some((2, "MI300X")))), 1),
            "custom-model-test-custom-multi-gpu-mi300x-e999d587"
        );
        assert_eq!(
            hash_hex(&[
                s(m),
                HashInput::Int(1),
                s("multi-gpu"),
                HashInput::Int(2),
                s("MI300X")
            ])[..8],
            *"e999d587"
        );
        assert_eq!(
            c(m, Some(&key("different-gpu", None, Some((1, "MI250X")))), 2),
            "custom-model-test-custom-different-gpu-mi250x-0edbfc23"
        );
        assert_eq!(
            c(
                m,
                Some(&key("latency-optimized", Some(("fp16", "latency")), None)),
                3
            ),
            "custom-model-test-custom-latency-optimized-fp16-480af67c"
        );
        assert_eq!(
            c(
                m,
                Some(&key(
                    "throughput-optimized",
                    Some(("fp8", "throughput")),
                    None
                )),
                4
            ),
            "custom-model-test-custom-throughput-optimized-fp8-01a3e255"
        );
        assert_eq!(
            c(m, Some(&key("minimal", None, None)), 5),
            "custom-model-test-custom-minimal-4302f81e"
        );
        assert_eq!(
            c("cpu-only-model-test", None, 0),
            "cpu-only-model-test-custom-2624cf57"
        );
        assert_eq!(
            c("auto-gen-template-test", None, 0),
            "auto-gen-template-test-custom-60ba3f14"
        );
        assert_eq!(
            c(
                "custom-model-nonexistent",
                Some(&key("default", None, None)),
                0
            ),
            "custom-model-nonexistent-custom-default-81ebda53"
        );
        assert_eq!(
            c(
                "test-env-propagation-model",
                Some(&key("env-test", Some(("fp16", "latency")), Some((1, "")))),
                0
            ),
            "test-env-propagation-model-custom-env-test-fp16-0f712591"
        );
    }

    /// §2.6 additive-custom-templates: the spec omits the entries' fields; these
    /// are the only ones (searched over plausible values) that reproduce both names.
    #[test]
    fn custom_template_additive_reconstructed() {
        let m = "additive-templates-test";
        let high = CustomTemplateKey {
            name: Some("custom-high-memory"),
            profile: None,
            gpu: Some((2, "MI300X")),
        };
        assert_eq!(
            ok(custom_template_name(m, Some(&high), 0)),
            "additive-templates-te-custom-custom-high-memory-mi300x-37b021af"
        );
        let low = CustomTemplateKey {
            name: Some("custom-low-latency"),
            profile: Some(("fp16", "latency")),
            gpu: Some((1, "MI300X")),
        };
        assert_eq!(
            ok(custom_template_name(m, Some(&low), 1)),
            "additive-template-custom-custom-low-latenc-fp16-mi300x-6509a03e"
        );
    }

    // ---- cache-model §8 chain ----
    #[test]
    fn end_to_end_chain() {
        let model = ok(custom_model_name(
            "amdenterpriseai/aim-base:0.9",
            &[CustomSourceKey {
                model_id: "Qwen/Qwen3-32B",
                source_uri: "hf://Qwen/Qwen3-32B",
                endpoint: None,
            }],
        ));
        assert_eq!(model, "qwen-qwen3-32b-09aad560");
        let tmpl = ok(custom_template_name(&model, None, 0));
        assert_eq!(tmpl, "qwen-qwen3-32b-09aad560-custom-6a0c669f");
        assert_eq!(
            ok(shared_cache_name(&tmpl, "ml-team")),
            "qwen-qwen3-32b-09aad560-custom-6a0c669f-a04542d9"
        );
        let dedicated = uid_child(&tmpl, "qwen-custom", "5f0c9a3e-1111-2222-3333-444455556666");
        assert_eq!(
            dedicated,
            "qwen-qwen3-32b-09aad560-custom-6a0c669f-qwen-custom-02611087"
        );
        let art = artifact("hf://Qwen/Qwen3-32B", None, "", None);
        assert_eq!(art, "hf---qwen-qwen3-32b-c00b812b59");
        assert_eq!(
            artifact("hf://Qwen/Qwen3-32B", None, "", Some(&dedicated)),
            "hf---qwen-qwen3-32b-68e0b27042"
        );
        let uid = "3c7f4a52-9d2e-4a51-8b57-0f6c2d8e9a10";
        assert_eq!(
            uid_child(&art, "cache", uid),
            "hf---qwen-qwen3-32b-c00b812b59-cache-8d051949"
        );
        assert_eq!(
            uid_child(&art, "download", uid),
            "hf---qwen-qwen3-32b-c00b812b59-download-8d051949"
        );
        assert_eq!(
            uid_child(&art, "check-size", uid),
            "hf---qwen-qwen3-32b-c00b812b59-check-size-8d051949"
        );
        assert_eq!(
            uid_child(
                "hf---meta-llama-llama-3-3-70b-instruct-with-a-very-l-19ab7aa229",
                "check-size",
                uid
            ),
            "hf---meta-llama-llama-3-3-70b-instruct-with-check-size-8d051949"
        );
        assert_eq!(
            c0("model-source-env-test"),
            "model-source-env-test-custom-4994dae2"
        );
        assert_eq!(c0("test-gpu-s3-model"), "test-gpu-s3-model-custom-45050470");
        // Base image not stated in the spec; the chain's base reproduces it.
        assert_eq!(
            ok(custom_model_name(
                "amdenterpriseai/aim-base:0.9",
                &[CustomSourceKey {
                    model_id: "Qwen/Qwen2-0.5B",
                    source_uri: "hf://Qwen/Qwen2-0.5B",
                    endpoint: None
                }],
            )),
            "qwen-qwen2-0-5b-8cd3ca3d"
        );
    }

    fn c0(model: &str) -> String {
        ok(custom_template_name(model, None, 0))
    }

    // ---- service.md §10.1 ----
    #[test]
    fn service_worked_example() {
        assert_eq!(
            ok(shared_cache_name(
                "amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-fp8-fb4d",
                "ml-team"
            )),
            "amdenterpriseai-aim-qwen-qwen3-32b-0-8-5-1x-mi300x-lat-a04542d9"
        );
    }

    // ---- cache-model §3.5, §5.4, §5.5 (beyond the required sections) ----
    #[test]
    fn extra_cache_model_vectors() {
        let cm = |reg, repo, tag| {
            ok(derived_name(
                &[repo, tag],
                &[s(reg), s(repo), s(tag)],
                6,
                63,
            ))
        };
        assert_eq!(
            cm("ghcr.io", "silogen/aim-llama", "1.0.0"),
            "silogen-aim-llama-1-0-0-201bdd"
        );
        assert_eq!(
            cm("docker.io", "library/ubuntu", "22.04"),
            "library-ubuntu-22-04-7a45e5"
        );
        assert_eq!(
            cm(
                "ghcr.io",
                "silogen/aim-mistralai-mistral-small-3.2-24b-instruct-2506",
                "0.8.5"
            ),
            "silogen-aim-mistralai-mistral-small-3-2-24b-instru-0-8-5-c6da71"
        );
        assert_eq!(
            cm("ghcr.io", "org/model", "1.0.0"),
            "org-model-1-0-0-178b40"
        );
        assert_eq!(
            cm("docker.io", "amdenterpriseai/aim-qwen-qwen3-32b", "0.8.4"),
            "amdenterpriseai-aim-qwen-qwen3-32b-0-8-4-c3c81a"
        );

        let tok = r#"[{"name":"HF_TOKEN","value":"my-token"}]"#;
        assert_eq!(
            artifact("hf://sshleifer/tiny-gpt2", Some(tok), "", None),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16"
        );
        assert_eq!(
            artifact("hf://HuggingFaceTB/SmolLM-135M", Some(tok), "", None),
            "hf---huggingfacetb-smollm-135m-58fde67862"
        );
        assert_eq!(
            artifact("hf://sshleifer/tiny-gpt2", None, "", None),
            "hf---sshleifer-tiny-gpt2-fc6a9647bb"
        );
        assert_eq!(
            artifact("hf://Qwen/Qwen2-0.5B", None, "", None),
            "hf---qwen-qwen2-0-5b-f71e8faae6"
        );
        assert_eq!(
            artifact("hf://Qwen/Qwen2-0.5B", None, "longhorn", None),
            "hf---qwen-qwen2-0-5b-b78ec19d0e"
        );
        assert_eq!(
            artifact("hf://Qwen/Qwen2-0.5B", None, "", Some("my-tc")),
            "hf---qwen-qwen2-0-5b-372e84ba0d"
        );
        let secret = r#"[{"name":"HF_TOKEN","valueFrom":{"secretKeyRef":{"name":"hf-creds","key":"token"}}}]"#;
        assert_eq!(
            artifact(
                "hf://meta-llama/Llama-3.1-8B-Instruct",
                Some(secret),
                "",
                None
            ),
            "hf---meta-llama-llama-3-1-8b-instruct-a5c6dd7d14"
        );
        let s3 = r#"[{"name":"AWS_ACCESS_KEY_ID","value":"minioadmin"},{"name":"AWS_SECRET_ACCESS_KEY","value":"minioadmin"},{"name":"AWS_ENDPOINT_URL","value":"http://minio:9000"}]"#;
        assert_eq!(
            artifact("s3://models/Qwen2-0.5B", Some(s3), "", None),
            "s3---models-qwen2-0-5b-e846d4fc4f"
        );
        assert_eq!(
            artifact(
                "hf://meta-llama/Llama-3.3-70B-Instruct-with-a-very-long-suffix-for-testing",
                None,
                "",
                None
            ),
            "hf---meta-llama-llama-3-3-70b-instruct-with-a-very-l-19ab7aa229"
        );

        let uid = "0b9ec3a4-6c43-4d8e-9a3f-2f2f1b7f0c11";
        let a = "hf---sshleifer-tiny-gpt2-8b6a4bfd16";
        assert_eq!(
            uid_child(a, "cache", uid),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16-cache-077b9aeb"
        );
        assert_eq!(
            uid_child(a, "download", uid),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16-download-077b9aeb"
        );
        assert_eq!(
            uid_child(a, "check-size", uid),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16-check-size-077b9aeb"
        );
        assert_eq!(
            uid_child("basic-lifecycle-hf", "cache", uid),
            "basic-lifecycle-hf-cache-077b9aeb"
        );
        assert_eq!(
            uid_child("basic-lifecycle-hf", "download", uid),
            "basic-lifecycle-hf-download-077b9aeb"
        );
        assert_eq!(
            uid_child("basic-lifecycle-hf", "check-size", uid),
            "basic-lifecycle-hf-check-size-077b9aeb"
        );
    }

    // ---- service.md §3.3 ----
    fn m(base: &str, higher: &str) -> String {
        ok(merge_json(base, higher))
    }

    #[test]
    fn merge_json_table() {
        assert_eq!(
            m(
                r#"{"max-model-len":4096}"#,
                r#"{"kv-transfer-config":"value"}"#
            ),
            r#"{"kv-transfer-config":"value","max-model-len":4096}"#
        );
        assert_eq!(
            m(r#"{"key":"base-value"}"#, r#"{"key":"override-value"}"#),
            r#"{"key":"override-value"}"#
        );
        assert_eq!(
            m(r#"{"outer":{"inner1":"a"}}"#, r#"{"outer":{"inner2":"b"}}"#),
            r#"{"outer":{"inner1":"a","inner2":"b"}}"#
        );
        assert_eq!(
            m("not-valid-json", r#"{"valid":"json"}"#),
            r#"{"valid":"json"}"#
        );
        assert_eq!(m(r#"{"valid":"json"}"#, "not-valid-json"), "not-valid-json");
        assert_eq!(m("", r#"{"key":"value"}"#), r#"{"key":"value"}"#);
        assert_eq!(m(r#"{"key":"value"}"#, ""), r#"{"key":"value"}"#);
        assert_eq!(m(r#"{"a":"1"}"#, r#"{"b":"2"}"#), r#"{"a":"1","b":"2"}"#);
    }

    #[test]
    fn merge_json_additional_verified() {
        assert_eq!(
            m(r#"{"a":1e21,"b":1.50,"c":[1,2]}"#, r#"{"c":{"d":null}}"#),
            r#"{"a":1e+21,"b":1.5,"c":{"d":null}}"#
        );
        assert_eq!(m(r#"{"a":1}"#, "[1,2]"), "[1,2]");
        assert_eq!(m("[1]", r#"{"a":1}"#), r#"{"a":1}"#);
        assert_eq!(m(r#"{ "b": 1,  "a": 2 }"#, "null"), r#"{"a":2,"b":1}"#);
        assert_eq!(
            merge_json("null", r#"{"a":1}"#),
            Err(MergeJsonError::NilBaseMap)
        );
    }

    #[test]
    fn merge_json_semantics() {
        // Verbatim passthrough on empties, even when unparsable.
        assert_eq!(m("", "  junk "), "  junk ");
        assert_eq!(m(" {\"b\":1} ", ""), " {\"b\":1} ");
        // nil-map corner cases.
        assert_eq!(m("null", "{}"), "null");
        assert_eq!(m("null", "null"), "null");
        assert_eq!(m("null", "junk"), "junk");
        assert_eq!(m("{}", "{}"), "{}");
        // Whitespace is accepted around and inside both documents.
        assert_eq!(
            m(" \t{ \"a\" : [ 1 , {} ] }\r\n", "\n{}\n"),
            r#"{"a":[1,{}]}"#
        );
        assert_eq!(m("   ", r#"{"a":1}"#), r#"{"a":1}"#);
        // Duplicate keys: the last wins, wholesale (no merge of the duplicates).
        assert_eq!(
            m(r#"{"a":{"x":1},"a":{"y":2}}"#, r#"{"b":1,"b":2}"#),
            r#"{"a":{"y":2},"b":2}"#
        );
        // Deep merge only where both sides are objects; arrays and null replace.
        assert_eq!(
            m(
                r#"{"a":{"b":{"c":1,"d":2}},"e":[1],"f":null}"#,
                r#"{"a":{"b":{"c":3}},"e":[],"f":{"g":1}}"#
            ),
            r#"{"a":{"b":{"c":3,"d":2}},"e":[],"f":{"g":1}}"#
        );
        assert_eq!(m(r#"{"a":{"b":1}}"#, r#"{"a":null}"#), r#"{"a":null}"#);
        // Non-object top levels and trailing garbage are rejected.
        assert_eq!(m(r#""s""#, r#"{"a":1}"#), r#"{"a":1}"#);
        assert_eq!(m(r#"{"a":1}"#, "3"), "3");
        assert_eq!(m(r#"{"a":1} x"#, r#"{"b":1}"#), r#"{"b":1}"#);
        assert_eq!(m(r#"{"a":1,}"#, r#"{"b":1}"#), r#"{"b":1}"#);
        assert_eq!(m(r#"{"a":01}"#, r#"{"b":1}"#), r#"{"b":1}"#);
        assert_eq!(m(r#"{"a":1e400}"#, r#"{"b":1}"#), r#"{"b":1}"#);
        assert_eq!(m("{\"a\":\"\t\"}", r#"{"b":1}"#), r#"{"b":1}"#);
        assert_eq!(m(r#"{'a':1}"#, r#"{"b":1}"#), r#"{"b":1}"#);
        // Strings are re-escaped the Go way.
        assert_eq!(
            m(
                r#"{"k":"<a>&\u00e9\/\ud83d\ude00\ud800x\u2028"}"#,
                r#"{"z":true}"#
            ),
            "{\"k\":\"\\u003ca\\u003e\\u0026é/😀\u{FFFD}x\\u2028\",\"z\":true}"
        );
        // Keys sort bytewise, including non-ASCII and escaped keys.
        assert_eq!(
            m(r#"{"é":1,"Z":2,"a":3,"_":4}"#, "{}"),
            r#"{"Z":2,"_":4,"a":3,"é":1}"#
        );
    }

    #[test]
    fn merge_json_numbers_as_float64() {
        let n = |x: &str| m(&format!("{{\"n\":{x}}}"), "{}");
        assert_eq!(n("4096"), r#"{"n":4096}"#);
        assert_eq!(n("1.50"), r#"{"n":1.5}"#);
        assert_eq!(n("1e21"), r#"{"n":1e+21}"#);
        assert_eq!(n("1E+21"), r#"{"n":1e+21}"#);
        assert_eq!(n("999999999999999999999"), r#"{"n":1e+21}"#);
        assert_eq!(n("100000000000000000000"), r#"{"n":100000000000000000000}"#);
        assert_eq!(n("12345678901234567890"), r#"{"n":12345678901234567000}"#);
        assert_eq!(n("-9223372036854775809"), r#"{"n":-9223372036854776000}"#);
        assert_eq!(n("0.000001"), r#"{"n":0.000001}"#);
        assert_eq!(n("0.0000001"), r#"{"n":1e-7}"#);
        assert_eq!(n("1.5e-10"), r#"{"n":1.5e-10}"#);
        assert_eq!(n("-2.5e-8"), r#"{"n":-2.5e-8}"#);
        assert_eq!(
            n("1.7976931348623157e308"),
            r#"{"n":1.7976931348623157e+308}"#
        );
        assert_eq!(n("5e-324"), r#"{"n":5e-324}"#);
        assert_eq!(n("1e-400"), r#"{"n":0}"#);
        assert_eq!(n("-0"), r#"{"n":-0}"#);
        assert_eq!(n("-0.0"), r#"{"n":-0}"#);
        assert_eq!(n("0.1"), r#"{"n":0.1}"#);
        assert_eq!(n("123.456e5"), r#"{"n":12345600}"#);
        // Correct rounding (serde_json's fast path is not always exact).
        assert_eq!(
            n("2.2250738585072011e-308"),
            r#"{"n":2.225073858507201e-308}"#
        );
        assert_eq!(n("9007199254740993"), r#"{"n":9007199254740992}"#);
        assert_eq!(
            n("5.3578301957329129e-76"),
            r#"{"n":5.357830195732913e-76}"#
        );
        assert_eq!(
            n("9.6439157120605518e-234"),
            r#"{"n":9.643915712060552e-234}"#
        );
    }

    #[test]
    fn go_json_value_from_serde_numbers() {
        let v = serde_json::json!({"b": u64::MAX, "a": -5, "c": [true, null, 0.5]});
        assert_eq!(
            go_json_value(&v),
            r#"{"a":-5,"b":18446744073709552000,"c":[true,null,0.5]}"#
        );
        assert_eq!(go_json_value(&Value::Array(vec![])), "[]");
        assert_eq!(go_json_value(&Value::Object(Map::new())), "{}");
    }

    #[test]
    fn merge_json_go_depth_limit() {
        let deep = |d: usize| format!("{{\"a\":{}1{}}}", "[".repeat(d - 1), "]".repeat(d - 1));
        let ok10k = deep(GO_MAX_JSON_DEPTH);
        let out = m(&ok10k, "{}");
        assert_eq!(out, ok10k);
        let too_deep = deep(GO_MAX_JSON_DEPTH + 1);
        assert_eq!(m(&too_deep, r#"{"x":1}"#), r#"{"x":1}"#);
        // Deep object trees must also be merged and torn down without
        // recursion (the test thread has a 2 MiB stack).
        let objs = |d: usize| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d));
        let both = objs(GO_MAX_JSON_DEPTH);
        assert_eq!(m(&both, &both), both);
        let inner = objs(GO_MAX_JSON_DEPTH - 1);
        assert_eq!(m(&format!("{{\"k\":{inner}}}"), r#"{"k":1}"#), r#"{"k":1}"#);
        assert_eq!(m(&format!("{{\"k\":{inner},\"k\":2}}"), "{}"), r#"{"k":2}"#);
        assert_eq!(m(&format!("{both} x"), "{}"), "{}");
        assert_eq!(m(&format!("[{inner}]"), "{}"), "{}");
        assert_eq!(m(&format!("{{\"k\":[{}, x", objs(9_000)), "{}"), "{}");
    }
}
