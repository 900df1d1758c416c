//! Route path template rendering for the AIMService HTTPRoute (spec §8.3).
//!
//! The operator evaluates every `{…}` of a path template with client-go JSONPath (v0.34) over the
//! typed Go `AIMService`. aimc only has a JSON "Go view" of that object, so this module ports the
//! client-go parser token for token (so exactly the same expressions are rejected, with the same
//! messages) and walks the view the way Go's reflection walks the struct.
//!
//! Every failure makes the operator silently fall back to the default path, so what has to match
//! byte for byte is whether an expression succeeds and the text it produces. Error texts follow
//! the operator wherever the view carries enough information.
//!
//! Where the view cannot tell us what Go knows (struct vs map, pointer vs value, Go type names),
//! these deliberate approximations apply:
//! * Go field-name fallback (`.metadata.Name`): a JSON key `k` also answers to `k` with its first
//!   letter upper-cased (plus `UID`/`APIVersion`); at the root, `ObjectMeta` and promoted
//!   `ObjectMeta` fields (`.Name`, `.Namespace`, …) resolve too. Objects known to be Go maps
//!   (labels, annotations, resource lists, routing annotations) only match exact keys.
//! * An empty field name (`{.}`) only matches a literal `""` key; Go would return an inlined
//!   struct (e.g. `TypeMeta`), which the view does not model.
//! * Non-scalar results print like Go maps/slices (`map[k:v …]`, `[a b]`, nested nil as `<nil>`,
//!   keys sorted). Go prints structs as `{…}` with pointer addresses, which is not reproducible.
//! * Filters compare values by their JSON type; Go would reject pointer-typed fields.
//! * Recursive descent (`..`) follows the view's shape, so inlined Go structs are not revisited.
//! * Intermediate result lists (`MAX_VALUES`) and total evaluation steps (`MAX_WORK`) are capped
//!   so hostile templates cannot exhaust memory or time; Go has no such caps, but only absurd
//!   templates (long `..*` chains, huge unions over huge inputs) can reach them.
//! * Unicode classification for error texts (`%q`, `%#U`, digits/letters) uses std's tables;
//!   exotic code points may be quoted slightly differently than Go would.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// The operator's `MaxRoutePathLength`; Gateway API implementations reject longer prefixes.
const MAX_ROUTE_PATH_LENGTH: usize = 200;
/// Nested parses (unions, dict keys, filters) are provably shallow; this only guards the stack.
const MAX_NESTING: usize = 16;
/// Bounds memory for pathological `..`/`*` chains, which otherwise grow combinatorially.
const MAX_VALUES: usize = 1 << 20;
/// Bounds time the same way: unions and filters re-walk their whole input per branch/element.
const MAX_WORK: usize = 1 << 25;

/// A template that cannot be rendered; the caller is expected to fall back to [`default_path`]
/// exactly like the operator does, so the message exists for diagnostics only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PathError {}

/// Renders a template against the service view; labels/annotations are the service's metadata
/// maps. Returns the normalised path.
///
/// The maps are passed separately because the operator serves the whole-expression
/// `.metadata.labels['K']` / `.metadata.annotations['K']` forms from them before JSONPath runs.
/// An empty template renders to an error; the operator treats an empty template as "use the
/// default path" before ever calling this, and so should the caller.
pub fn render_path(
    template: &str,
    service: &Value,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Result<String, PathError> {
    let raw = render_template(template, service, labels, annotations)?;
    normalize_path(&raw)
}

/// normalize(raw) from §8.3
///
/// The length limit is checked on the raw text (before segments are shortened), matching the
/// operator, so a path can be rejected even though its normalised form would fit.
pub fn normalize_path(raw: &str) -> Result<String, PathError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(PathError(
            "route template produced an empty path".to_string(),
        ));
    }
    let prefixed = if raw.starts_with('/') {
        raw.to_string()
    } else {
        format!("/{raw}")
    };
    let mut normalized = prefixed.trim_end_matches('/');
    if normalized.is_empty() {
        normalized = "/";
    }
    check_length(normalized)?;
    let segments: Vec<String> = normalized
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(|s| rfc1123(s.trim()))
        .filter(|s| !s.is_empty())
        .collect();
    let path = format!("/{}", segments.join("/"));
    check_length(&path)?;
    Ok(path)
}

/// DefaultRoutePath: normalize("/" + ns + "/" + id), or "/" on failure
///
/// Also the fallback for every template error, because the operator never surfaces those.
pub fn default_path(namespace: &str, id: &str) -> String {
    normalize_path(&format!("/{namespace}/{id}")).unwrap_or_else(|_| "/".to_string())
}

fn check_length(path: &str) -> Result<(), PathError> {
    if path.len() > MAX_ROUTE_PATH_LENGTH {
        return Err(PathError(format!(
            "route path {} exceeds {} characters",
            go_quote(path),
            MAX_ROUTE_PATH_LENGTH
        )));
    }
    Ok(())
}

/// MakeRFC1123Compliant (§6.1). Lower-casing keeps one rune per rune like Go's simple case
/// mapping (std's full mapping would turn `İ` into two runes and an extra `-`).
fn rfc1123(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            let lower = c.to_lowercase().next().unwrap_or(c);
            if lower.is_ascii_lowercase() || lower.is_ascii_digit() || lower == '-' {
                lower
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    // Everything is ASCII by now, so a byte cut is a char cut.
    let cut = trimmed.get(..63).unwrap_or(trimmed);
    cut.trim_end_matches('-').to_string()
}

// ---------------------------------------------------------------------------------------------
// Template scanning
// ---------------------------------------------------------------------------------------------

fn render_template(
    template: &str,
    service: &Value,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Result<String, PathError> {
    let mut out = String::with_capacity(template.len());
    let mut last = 0;
    for (start, end) in find_expressions(template) {
        out.push_str(template.get(last..start).unwrap_or(""));
        // The span includes the braces, which are single bytes.
        let inner = template.get(start + 1..end - 1).unwrap_or("");
        let expr = inner.trim();
        let value = evaluate_expression(expr, service, labels, annotations).map_err(|e| {
            PathError(format!(
                "failed to evaluate route template {}: {e}",
                go_quote(expr)
            ))
        })?;
        out.push_str(&apply_value_modifiers(expr, &value));
        last = end;
    }
    out.push_str(template.get(last..).unwrap_or(""));
    Ok(out)
}

/// Spans of the operator's regex `\{([^{}]+)\}` (leftmost, non-overlapping). Braces that do not
/// form such a pair are left in the text, where normalisation later turns them into `-`.
fn find_expressions(template: &str) -> Vec<(usize, usize)> {
    let bytes = template.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|b| b.iter().position(|&c| c == b'{'))
    {
        let open = i + offset;
        let after = open + 1;
        let stop = bytes
            .get(after..)
            .and_then(|b| b.iter().position(|&c| c == b'{' || c == b'}'))
            .map(|p| after + p);
        match stop {
            Some(close) if bytes.get(close) == Some(&b'}') && close > after => {
                spans.push((open, close + 1));
                i = close + 1;
            }
            Some(close) if bytes.get(close) == Some(&b'{') => i = close,
            Some(close) => i = close + 1,
            None => break,
        }
    }
    spans
}

fn apply_value_modifiers(expr: &str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return String::new();
    }
    // Annotation values go in raw on purpose upstream, so `/` in them creates path segments.
    if special_key(expr, ".metadata.annotations[").is_some() {
        return value.to_string();
    }
    rfc1123(value)
}

/// Matches the operator's `^\.metadata\.(labels|annotations)\[['"]([^'"]+)['"]\]$`; quotes
/// may even be mixed because the regex does not pair them.
fn special_key<'e>(expr: &'e str, prefix: &str) -> Option<&'e str> {
    let rest = expr.strip_prefix(prefix)?;
    let rest = rest.strip_prefix(['\'', '"'])?;
    let rest = rest.strip_suffix(']')?;
    let key = rest.strip_suffix(['\'', '"'])?;
    if key.is_empty() || key.contains(['\'', '"']) {
        return None;
    }
    Some(key)
}

fn evaluate_expression(
    expr: &str,
    service: &Value,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Result<String, String> {
    if expr.is_empty() {
        return Err("jsonpath expression is empty".to_string());
    }
    if let Some(key) = special_key(expr, ".metadata.labels[") {
        return labels.get(key).cloned().ok_or_else(|| {
            format!(
                "jsonpath evaluation error: label {} not found",
                go_quote(key)
            )
        });
    }
    if let Some(key) = special_key(expr, ".metadata.annotations[") {
        return annotations.get(key).cloned().ok_or_else(|| {
            format!(
                "jsonpath evaluation error: annotation {} not found",
                go_quote(key)
            )
        });
    }
    let rewritten = normalize_bracket_keys(expr);
    let nodes =
        parse_action(&rewritten, 0).map_err(|e| format!("invalid jsonpath expression: {e}"))?;
    let mut evaluator = Evaluator { ranges: 0, work: 0 };
    let (results, err) = evaluator.eval_list(vec![Val::Json(service, Pos::Root)], &nodes);
    if let Some(e) = err {
        return Err(format!("jsonpath evaluation error: {e}"));
    }
    // A `range` moves its results into nested blocks that never produce output here.
    if evaluator.ranges > 0 || results.is_empty() {
        return Err("jsonpath returned no results".to_string());
    }
    if results.len() > 1 {
        return Err("jsonpath returned multiple results".to_string());
    }
    match results.first() {
        Some(Val::Json(Value::Null, _)) => Err("jsonpath returned nil value".to_string()),
        Some(v) => Ok(go_sprint(v)),
        None => Err("jsonpath returned no results".to_string()),
    }
}

/// The operator's `['k']` → `["k"]` rewrite. client-go only understands single-quoted dict keys,
/// so this is what makes bracket keys fail in the generic path; it is reproduced for the error
/// text and because unions such as `['a','b']` escape the rewrite and do parse.
fn normalize_bracket_keys(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    loop {
        let Some(i) = rest.find("['") else {
            out.push_str(rest);
            return out;
        };
        out.push_str(rest.get(..i).unwrap_or(""));
        let from = rest.get(i..).unwrap_or("");
        let after = from.get(2..).unwrap_or("");
        let closing = after
            .find('\'')
            .filter(|&j| after.get(j + 1..).is_some_and(|t| t.starts_with(']')));
        match closing {
            Some(j) => {
                let key = after.get(..j).unwrap_or("");
                out.push_str("[\"");
                out.push_str(&key.replace('\\', "\\\\").replace('"', "\\\\\""));
                out.push_str("\"]");
                rest = after.get(j + 2..).unwrap_or("");
            }
            None => {
                out.push('[');
                rest = from.get(1..).unwrap_or("");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// client-go JSONPath parser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct Param {
    value: i64,
    known: bool,
    derived: bool,
}

#[derive(Debug, Clone)]
enum FilterOp {
    Exists,
    Compare(String),
}

#[derive(Debug, Clone)]
struct Filter {
    left: Vec<Node>,
    right: Vec<Node>,
    op: FilterOp,
}

#[derive(Debug, Clone)]
enum Node {
    Text(Rc<[u8]>),
    Field(String),
    Wildcard,
    Recursive,
    Array([Param; 3]),
    Union(Vec<Vec<Node>>),
    Filter(Box<Filter>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Identifier(String),
}

/// Cursor mirroring client-go's `Parser` (`pos`/`start`/`width`), so that the quirks that depend
/// on exactly which bytes a token swallowed carry over.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    width: usize,
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Option<char> {
        match self.input.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
            None => {
                self.width = 0;
                None
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        self.width = 0;
    }

    fn consume(&mut self) -> &'a str {
        let text = self.input.get(self.start..self.pos).unwrap_or("");
        self.start = self.pos;
        text
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    /// Byte two before the cursor: client-go's (imperfect) test for an escaped closing quote.
    fn escaped(&self) -> bool {
        self.pos
            .checked_sub(2)
            .and_then(|i| self.input.as_bytes().get(i))
            == Some(&b'\\')
    }

    fn parse_recursive(&mut self, nodes: &mut Vec<Node>) -> Result<(), String> {
        if matches!(nodes.last(), Some(Node::Recursive)) {
            return Err("invalid multiple recursive descent".to_string());
        }
        self.pos += 2;
        self.consume();
        nodes.push(Node::Recursive);
        if self.peek().is_some_and(is_alpha_numeric) {
            self.parse_field(nodes)?;
        }
        Ok(())
    }

    fn parse_field(&mut self, nodes: &mut Vec<Node>) -> Result<(), String> {
        self.consume();
        loop {
            match self.next() {
                Some('\\') => {
                    if self.next().is_none() {
                        // In client-go the backslash swallows the action's closing `}`.
                        return Err("unclosed action".to_string());
                    }
                }
                Some(c) if is_terminator(c) => {
                    self.backup();
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        let value = self.consume();
        if value == "*" {
            nodes.push(Node::Wildcard);
        } else {
            nodes.push(Node::Field(value.replace('\\', "")));
        }
        Ok(())
    }

    fn parse_identifier(&mut self, nodes: &mut Vec<Node>) {
        loop {
            match self.next() {
                Some(c) if is_terminator(c) => {
                    self.backup();
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        let value = self.consume();
        match value {
            "true" => nodes.push(Node::Bool(true)),
            "false" => nodes.push(Node::Bool(false)),
            _ => nodes.push(Node::Identifier(value.to_string())),
        }
    }

    fn parse_number(&mut self, nodes: &mut Vec<Node>) -> Result<(), String> {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        loop {
            match self.next() {
                Some(c) if c == '.' || is_go_digit(c) => {}
                Some(_) => {
                    self.backup();
                    break;
                }
                None => break,
            }
        }
        let value = self.consume();
        if let Ok(i) = value.parse::<i64>() {
            nodes.push(Node::Int(i));
            return Ok(());
        }
        // Go's ParseFloat reports overflow as an error; Rust silently returns infinity.
        match value.parse::<f64>() {
            Ok(f) if f.is_finite() => {
                nodes.push(Node::Float(f));
                Ok(())
            }
            _ => Err(format!("cannot parse number {value}")),
        }
    }

    fn parse_array(&mut self, nodes: &mut Vec<Node>, depth: usize) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".to_string()),
                Some(']') => break,
                Some(_) => {}
            }
        }
        let full = self.consume();
        let inner = full
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or("");
        let text = if inner == "*" { ":" } else { inner };

        if text.contains(',') {
            let mut union = Vec::new();
            for part in text.split(',') {
                union.push(parse_action(
                    &format!("[{}]", part.trim_matches(' ')),
                    depth + 1,
                )?);
            }
            nodes.push(Node::Union(union));
            return Ok(());
        }

        if let Some(key) = dict_key(text) {
            nodes.extend(parse_action(&format!(".{key}"), depth + 1)?);
            return Ok(());
        }

        let [g0, g1, g2] =
            slice_groups(text).ok_or_else(|| format!("invalid array index {text}"))?;
        let mut params = [Param::default(); 3];
        if !g0.is_empty() {
            params[0] = Param {
                value: atoi_index(g0)?,
                known: true,
                derived: false,
            };
        }
        let g1 = g1.strip_prefix(':');
        params[1] = match g1 {
            None => Param {
                value: params[0].value.wrapping_add(1),
                known: true,
                derived: true,
            },
            Some("") => Param::default(),
            Some(v) => Param {
                value: atoi_index(v)?,
                known: true,
                derived: false,
            },
        };
        params[2] = match g2.strip_prefix(':') {
            None | Some("") => Param::default(),
            Some(v) => Param {
                value: atoi_index(v)?,
                known: true,
                derived: false,
            },
        };
        nodes.push(Node::Array(params));
        Ok(())
    }

    fn parse_filter(&mut self, nodes: &mut Vec<Node>, depth: usize) -> Result<(), String> {
        self.pos += 3;
        self.consume();
        let mut begin = false;
        let mut end = false;
        let mut pair = '\0';
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated filter".to_string()),
                Some(q @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = q;
                        continue;
                    }
                    if !self.escaped() && q == pair {
                        end = true;
                    }
                }
                Some(')') => {
                    if begin == end {
                        break;
                    }
                }
                Some(_) => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".to_string());
        }
        let consumed = self.consume();
        let text = consumed.strip_suffix(")]").unwrap_or("");
        let filter = match split_filter(text) {
            None => Filter {
                left: parse_action(text, depth + 1)?,
                right: Vec::new(),
                op: FilterOp::Exists,
            },
            Some((left, op, right)) => Filter {
                left: parse_action(left, depth + 1)?,
                right: parse_action(right, depth + 1)?,
                op: FilterOp::Compare(op.to_string()),
            },
        };
        nodes.push(Node::Filter(Box::new(filter)));
        Ok(())
    }

    fn parse_quote(&mut self, nodes: &mut Vec<Node>, quote: char) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".to_string()),
                Some(c) if c == quote && !self.escaped() => break,
                Some(_) => {}
            }
        }
        let value = self.consume();
        let text = unquote_extend(value)
            .ok_or_else(|| format!("unquote string {value} error invalid syntax"))?;
        nodes.push(Node::Text(text.into()));
        Ok(())
    }
}

/// client-go's `parseAction`: parses the inside of one `{…}`. The end of `text` stands for the
/// closing `}`, which is why reaching it between tokens is success rather than "unclosed action".
/// Written as a loop (client-go recurses once per token) so long expressions cannot overflow.
fn parse_action(text: &str, depth: usize) -> Result<Vec<Node>, String> {
    if depth > MAX_NESTING {
        return Err("jsonpath expression nested too deeply".to_string());
    }
    let mut p = Parser {
        input: text,
        pos: 0,
        start: 0,
        width: 0,
    };
    let mut nodes = Vec::new();
    loop {
        let rest = p.rest();
        if rest.is_empty() {
            return Ok(nodes);
        }
        if rest.starts_with("[?(") {
            p.parse_filter(&mut nodes, depth)?;
            continue;
        }
        if rest.starts_with("..") {
            p.parse_recursive(&mut nodes)?;
            continue;
        }
        match p.next() {
            None => return Ok(nodes),
            Some('\r' | '\n') => return Err("unclosed action".to_string()),
            Some(' ' | '@' | '$') => {
                p.consume();
            }
            Some('[') => p.parse_array(&mut nodes, depth)?,
            Some(q @ ('"' | '\'')) => p.parse_quote(&mut nodes, q)?,
            Some('.') => p.parse_field(&mut nodes)?,
            Some(c) if c == '+' || c == '-' || is_go_digit(c) => {
                p.backup();
                p.parse_number(&mut nodes)?;
            }
            Some(c) if is_alpha_numeric(c) => {
                p.backup();
                p.parse_identifier(&mut nodes);
            }
            Some(c) => {
                return Err(format!(
                    "unrecognized character in action: {}",
                    go_sharp_u(c)
                ))
            }
        }
    }
}

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
    )
}

/// Approximates Go's `unicode.IsDigit` (category Nd); only error texts depend on the difference.
fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

fn is_alpha_numeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || is_go_digit(c)
}

/// `^'([^']*)'$` — a single-quoted dict key, which client-go turns into `.key`.
fn dict_key(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.contains('\'') {
        None
    } else {
        Some(inner)
    }
}

/// `^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$`; absent groups come back empty like Go's submatches.
fn slice_groups(text: &str) -> Option<[&str; 3]> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let scan_number = |mut i: usize| {
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let end0 = scan_number(i);
    let mut groups = [text.get(..end0).unwrap_or(""), "", ""];
    i = end0;
    for group in groups.iter_mut().skip(1) {
        if bytes.get(i) == Some(&b':') {
            let end = scan_number(i + 1);
            *group = text.get(i..end).unwrap_or("");
            i = end;
        }
    }
    (i == bytes.len()).then_some(groups)
}

fn atoi_index(s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .map_err(|_| format!("array index {s} is not a number"))
}

/// `^([^!<>=]+)([!<>=]+)(.+?)$` with Go's leftmost-first backtracking preferences, in linear
/// time: group 1 is as long as possible, the operator as long as it can be while leaving text.
///
/// `~` is not an operator character upstream (client-go v0.34 `parser.go`): `@.a=~'x'` splits
/// as `=` and `~'x'`, and the right side then fails to parse on the `~`. Copies of client-go
/// with a `=~` regex operator are forks.
fn split_filter(text: &str) -> Option<(&str, &str, &str)> {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let is_op = |c: &u8| matches!(c, b'!' | b'<' | b'>' | b'=');
    let first_bad = bytes
        .iter()
        .position(|c| matches!(c, b'!' | b'<' | b'>' | b'='))
        .unwrap_or(n);
    for left_end in (1..=first_bad).rev() {
        let run = bytes
            .get(left_end..)
            .map_or(0, |b| b.iter().take_while(|c| is_op(c)).count());
        if run == 0 {
            continue;
        }
        let op_end = (left_end + run).min(n - 1);
        if op_end > left_end {
            return Some((
                text.get(..left_end)?,
                text.get(left_end..op_end)?,
                text.get(op_end..)?,
            ));
        }
    }
    None
}

/// client-go's `UnquoteExtend`: `strconv.Unquote` that also accepts single quotes. Returns
/// bytes because `\xNN` and octal escapes may produce invalid UTF-8, as in Go.
fn unquote_extend(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return None;
    }
    let quote = *bytes.first()?;
    if quote != *bytes.last()? {
        return None;
    }
    let inner = s.get(1..s.len() - 1)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    if !inner.contains('\\') && !inner.as_bytes().contains(&quote) {
        return Some(inner.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        let (value, multibyte, consumed) = unquote_char(rest, quote)?;
        rest = rest.get(consumed..)?;
        if value < 0x80 || !multibyte {
            out.push(u8::try_from(value).ok()?);
        } else {
            let c = char::from_u32(value)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Some(out)
}

/// Go's `strconv.UnquoteChar`: (value, multibyte, bytes consumed).
fn unquote_char(s: &str, quote: u8) -> Option<(u32, bool, usize)> {
    let bytes = s.as_bytes();
    let c = *bytes.first()?;
    if c == quote && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if c >= 0x80 {
        let ch = s.chars().next()?;
        return Some((u32::from(ch), true, ch.len_utf8()));
    }
    if c != b'\\' {
        return Some((u32::from(c), false, 1));
    }
    let escape = *bytes.get(1)?;
    let tail = bytes.get(2..)?;
    let simple = |v: u32| Some((v, false, 2));
    match escape {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(10),
        b'r' => simple(13),
        b't' => simple(9),
        b'v' => simple(11),
        b'\\' => simple(u32::from(b'\\')),
        b'\'' | b'"' => {
            if escape != quote {
                return None;
            }
            simple(u32::from(escape))
        }
        b'x' | b'u' | b'U' => {
            let n = match escape {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let mut v: u32 = 0;
            for d in tail.get(..n)? {
                v = (v << 4) | char::from(*d).to_digit(16)?;
            }
            if escape == b'x' {
                return Some((v, false, 2 + n));
            }
            char::from_u32(v)?;
            Some((v, true, 2 + n))
        }
        b'0'..=b'7' => {
            let mut v = u32::from(escape - b'0');
            for d in tail.get(..2)? {
                if !(b'0'..=b'7').contains(d) {
                    return None;
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            if v > 255 {
                return None;
            }
            Some((v, false, 4))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation over the Go view
// ---------------------------------------------------------------------------------------------

/// Where a JSON object sits in the AIMService, to know which objects are Go maps: those match
/// keys exactly, whereas structs also answer to Go field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    Root,
    Metadata,
    Spec,
    SpecRouting,
    SpecResources,
    Map,
    Other,
}

fn child_pos(parent: Pos, key: &str) -> Pos {
    match (parent, key) {
        (Pos::Root, "metadata") => Pos::Metadata,
        (Pos::Root, "spec") => Pos::Spec,
        (Pos::Metadata, "labels" | "annotations") => Pos::Map,
        (Pos::Spec, "routing") => Pos::SpecRouting,
        (Pos::Spec, "resources") => Pos::SpecResources,
        (Pos::SpecRouting, "annotations") => Pos::Map,
        (Pos::SpecResources, "limits" | "requests") => Pos::Map,
        _ => Pos::Other,
    }
}

/// A JSONPath value: either a place in the view or a literal produced by the expression itself
/// (quoted text, numbers, booleans, or bytes from iterating a string, as Go's reflection does).
#[derive(Debug, Clone)]
enum Val<'a> {
    Json(&'a Value, Pos),
    Text(Rc<[u8]>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Byte(u8),
}

/// Like client-go, each step returns the values to continue with *and* an optional error,
/// because filters look at the values even when the step failed.
type Step<'a> = (Vec<Val<'a>>, Option<String>);

fn too_many() -> Option<String> {
    Some(format!(
        "jsonpath evaluation exceeded {MAX_VALUES} intermediate values"
    ))
}

struct Evaluator {
    ranges: usize,
    work: usize,
}

impl Evaluator {
    fn eval_list<'a>(&mut self, input: Vec<Val<'a>>, nodes: &[Node]) -> Step<'a> {
        let mut current = input;
        for node in nodes {
            let (next, err) = self.walk(current, node);
            if err.is_some() {
                return (next, err);
            }
            if next.len() > MAX_VALUES {
                return (Vec::new(), too_many());
            }
            current = next;
        }
        (current, None)
    }

    fn walk<'a>(&mut self, input: Vec<Val<'a>>, node: &Node) -> Step<'a> {
        self.work = self.work.saturating_add(input.len() + 1);
        if self.work > MAX_WORK {
            return (
                Vec::new(),
                Some(format!("jsonpath evaluation exceeded {MAX_WORK} steps")),
            );
        }
        match node {
            Node::Text(t) => (vec![Val::Text(Rc::clone(t))], None),
            Node::Field(name) => eval_field(input, name),
            Node::Array(params) => eval_array(input, params),
            Node::Filter(filter) => self.eval_filter(input, filter),
            Node::Int(i) => (vec![Val::Int(*i); input.len()], None),
            Node::Float(f) => (vec![Val::Float(*f); input.len()], None),
            Node::Bool(b) => (vec![Val::Bool(*b); input.len()], None),
            Node::Wildcard => eval_wildcard(input),
            Node::Recursive => eval_recursive(input),
            Node::Union(lists) => self.eval_union(input, lists),
            Node::Identifier(name) => self.eval_identifier(input, name),
        }
    }

    fn eval_identifier<'a>(&mut self, input: Vec<Val<'a>>, name: &str) -> Step<'a> {
        match name {
            "range" => {
                self.ranges += 1;
                (input, None)
            }
            // Range blocks only start after the whole action is walked, so `end` never has one.
            "end" => (Vec::new(), Some("not in range, nothing to end".to_string())),
            _ => (input, Some(format!("unrecognized identifier {name}"))),
        }
    }

    fn eval_union<'a>(&mut self, input: Vec<Val<'a>>, lists: &[Vec<Node>]) -> Step<'a> {
        let mut result = Vec::new();
        for list in lists {
            let (part, err) = self.eval_list(input.clone(), list);
            if err.is_some() {
                return (input, err);
            }
            result.extend(part);
            if result.len() > MAX_VALUES {
                return (Vec::new(), too_many());
            }
        }
        (result, None)
    }

    fn eval_filter<'a>(&mut self, input: Vec<Val<'a>>, filter: &Filter) -> Step<'a> {
        let mut results = Vec::new();
        for index in 0..input.len() {
            let Some(value) = input.get(index).cloned() else {
                break;
            };
            let items: &'a [Value] = match value {
                Val::Json(Value::Array(items), _) => items,
                other => {
                    let msg = format!(
                        "{} is not array or slice and cannot be filtered",
                        go_sprint(&other)
                    );
                    return (input, Some(msg));
                }
            };
            for item in items {
                let element = Val::Json(item, Pos::Other);
                let (lefts, err) = self.eval_list(vec![element.clone()], &filter.left);
                let op = match &filter.op {
                    FilterOp::Exists => {
                        if !lefts.is_empty() {
                            results.push(element);
                        }
                        continue;
                    }
                    FilterOp::Compare(op) => op,
                };
                if err.is_some() {
                    return (input, err);
                }
                let left = match lefts.as_slice() {
                    [] => continue,
                    [one] => one.clone(),
                    _ => return (input, Some(one_at_a_time())),
                };
                let (rights, err) = self.eval_list(vec![element.clone()], &filter.right);
                if err.is_some() {
                    return (input, err);
                }
                let right = match rights.as_slice() {
                    [] => continue,
                    [one] => one.clone(),
                    _ => return (input, Some(one_at_a_time())),
                };
                match compare(op, &left, &right) {
                    Ok(true) => results.push(element),
                    Ok(false) => {}
                    Err(e) => return (results, Some(e)),
                }
            }
        }
        (results, None)
    }
}

fn one_at_a_time() -> String {
    "can only compare one element at a time".to_string()
}

fn eval_field<'a>(input: Vec<Val<'a>>, name: &str) -> Step<'a> {
    let mut results = Vec::new();
    if input.is_empty() {
        return (results, None);
    }
    for value in &input {
        if let Val::Json(Value::Object(map), pos) = value {
            if let Some(found) = lookup_field(map, *pos, name) {
                results.push(found);
            }
        }
    }
    if results.is_empty() {
        return (results, Some(format!("{name} is not found")));
    }
    (results, None)
}

fn lookup_field<'a>(map: &'a Map<String, Value>, pos: Pos, name: &str) -> Option<Val<'a>> {
    if let Some(v) = map.get(name) {
        return Some(Val::Json(v, child_pos(pos, name)));
    }
    if pos == Pos::Map {
        return None;
    }
    if let Some((key, v)) = map.iter().find(|(k, _)| go_field_name_matches(k, name)) {
        return Some(Val::Json(v, child_pos(pos, key)));
    }
    if pos == Pos::Root {
        // AIMService embeds ObjectMeta, so Go's FieldByName also finds its promoted fields.
        let meta = map.get("metadata")?;
        if name == "ObjectMeta" {
            return Some(Val::Json(meta, Pos::Metadata));
        }
        if let Value::Object(meta) = meta {
            if let Some((key, v)) = meta.iter().find(|(k, _)| go_field_name_matches(k, name)) {
                return Some(Val::Json(v, child_pos(Pos::Metadata, key)));
            }
        }
    }
    None
}

/// Go field names are the JSON names with an upper-case first letter, except for initialisms.
fn go_field_name_matches(json_key: &str, requested: &str) -> bool {
    match json_key {
        "uid" => return requested == "UID",
        "apiVersion" => return requested == "APIVersion",
        _ => {}
    }
    let mut chars = json_key.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let mut req = requested.chars();
    let Some(req_first) = req.next() else {
        return false;
    };
    let mut upper = first.to_uppercase();
    upper.next() == Some(req_first) && upper.next().is_none() && chars.as_str() == req.as_str()
}

/// Direct children as Go's reflection enumerates them: struct fields / map values, slice
/// elements, and the bytes of a string.
fn children<'a>(value: &Val<'a>) -> Vec<Val<'a>> {
    match value {
        Val::Json(json, pos) => {
            let json: &'a Value = json;
            match json {
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| Val::Json(v, child_pos(*pos, k)))
                    .collect(),
                Value::Array(items) => items.iter().map(|v| Val::Json(v, Pos::Other)).collect(),
                Value::String(s) => s.bytes().map(Val::Byte).collect(),
                _ => Vec::new(),
            }
        }
        Val::Text(t) => t.iter().copied().map(Val::Byte).collect(),
        _ => Vec::new(),
    }
}

fn eval_wildcard(input: Vec<Val<'_>>) -> Step<'_> {
    let mut results = Vec::new();
    for value in &input {
        results.extend(children(value));
        if results.len() > MAX_VALUES {
            return (Vec::new(), too_many());
        }
    }
    (results, None)
}

/// Pre-order walk like client-go's `evalRecursive`, but with an explicit stack so deeply nested
/// views cannot overflow ours. Only values that have children are reported, so bytes of strings
/// never need to be materialised here.
fn eval_recursive(input: Vec<Val<'_>>) -> Step<'_> {
    let mut result = Vec::new();
    let mut stack: Vec<Val<'_>> = input.into_iter().rev().collect();
    while let Some(value) = stack.pop() {
        let (has_children, nested): (bool, Vec<Val<'_>>) = match &value {
            Val::Json(Value::String(s), _) => (!s.is_empty(), Vec::new()),
            Val::Text(t) => (!t.is_empty(), Vec::new()),
            other => {
                let kids = children(other);
                (!kids.is_empty(), kids)
            }
        };
        if !has_children {
            continue;
        }
        result.push(value);
        stack.extend(nested.into_iter().rev());
        if result.len() + stack.len() > MAX_VALUES {
            return (Vec::new(), too_many());
        }
    }
    (result, None)
}

fn eval_array<'a>(input: Vec<Val<'a>>, params: &[Param; 3]) -> Step<'a> {
    let mut result = Vec::new();
    for index in 0..input.len() {
        let Some(value) = input.get(index).cloned() else {
            break;
        };
        let items: &'a [Value] = match value {
            Val::Json(Value::Null, _) => continue,
            Val::Json(Value::Array(items), _) => items,
            other => {
                let msg = format!("{} is not array or slice", go_type_name(&other));
                return (input, Some(msg));
            }
        };
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let mut p = *params;
        if !p[0].known {
            p[0].value = 0;
        }
        if p[0].value < 0 {
            p[0].value = p[0].value.wrapping_add(len);
        }
        if !p[1].known {
            p[1].value = len;
        }
        if p[1].value < 0 || (p[1].value == 0 && p[1].derived) {
            p[1].value = p[1].value.wrapping_add(len);
        }
        if p[1].value == p[0].value {
            // client-go returns here, skipping any remaining inputs.
            return (result, None);
        }
        if p[0].value >= len || p[0].value < 0 {
            let msg = format!(
                "array index out of bounds: index {}, length {len}",
                p[0].value
            );
            return (input, Some(msg));
        }
        if p[1].value > len || p[1].value < 0 {
            let msg = format!(
                "array index out of bounds: index {}, length {len}",
                p[1].value.wrapping_sub(1)
            );
            return (input, Some(msg));
        }
        if p[0].value > p[1].value {
            let msg = format!(
                "starting index {} is greater than ending index {}",
                p[0].value, p[1].value
            );
            return (input, Some(msg));
        }
        let mut step = 1usize;
        if p[2].known {
            if p[2].value <= 0 {
                return (input, Some("step must be > 0".to_string()));
            }
            step = usize::try_from(p[2].value).unwrap_or(usize::MAX);
        }
        let from = usize::try_from(p[0].value).unwrap_or(0);
        let to = usize::try_from(p[1].value).unwrap_or(0);
        let selected = items.get(from..to).unwrap_or(&[]);
        result.extend(
            selected
                .iter()
                .step_by(step)
                .map(|v| Val::Json(v, Pos::Other)),
        );
        if result.len() > MAX_VALUES {
            return (Vec::new(), too_many());
        }
    }
    (result, None)
}

/// Only for error texts; the view has no Go types, so JSON kinds map to the closest Go ones.
fn go_type_name(value: &Val<'_>) -> &'static str {
    match value {
        Val::Json(Value::Null, _) => "<nil>",
        Val::Json(Value::Bool(_), _) | Val::Bool(_) => "bool",
        Val::Json(Value::Number(n), _) => {
            if n.is_i64() {
                "int64"
            } else if n.is_u64() {
                "uint64"
            } else {
                "float64"
            }
        }
        Val::Json(Value::String(_), _) | Val::Text(_) => "string",
        Val::Json(Value::Array(_), _) => "[]interface {}",
        Val::Json(Value::Object(_), Pos::Map) => "map[string]string",
        Val::Json(Value::Object(_), _) => "map[string]interface {}",
        Val::Int(_) => "int",
        Val::Float(_) => "float64",
        Val::Byte(_) => "uint8",
    }
}

/// Go text/template's basic kinds, which decide comparability in filters.
enum Basic {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Vec<u8>),
}

fn basic_kind(value: &Val<'_>) -> Result<Basic, String> {
    let invalid = || "invalid type for comparison".to_string();
    Ok(match value {
        Val::Json(Value::Bool(b), _) | Val::Bool(b) => Basic::Bool(*b),
        Val::Json(Value::Number(n), _) => {
            if let Some(i) = n.as_i64() {
                Basic::Int(i)
            } else if let Some(u) = n.as_u64() {
                Basic::Uint(u)
            } else {
                Basic::Float(n.as_f64().ok_or_else(invalid)?)
            }
        }
        Val::Json(Value::String(s), _) => Basic::Str(s.as_bytes().to_vec()),
        Val::Text(t) => Basic::Str(t.to_vec()),
        Val::Int(i) => Basic::Int(*i),
        Val::Float(f) => Basic::Float(*f),
        Val::Byte(b) => Basic::Uint(u64::from(*b)),
        Val::Json(_, _) => return Err(invalid()),
    })
}

fn go_equal(left: &Val<'_>, right: &Val<'_>) -> Result<bool, String> {
    match (basic_kind(left)?, basic_kind(right)?) {
        (Basic::Bool(a), Basic::Bool(b)) => Ok(a == b),
        (Basic::Int(a), Basic::Int(b)) => Ok(a == b),
        (Basic::Uint(a), Basic::Uint(b)) => Ok(a == b),
        (Basic::Float(a), Basic::Float(b)) => Ok(a == b),
        (Basic::Str(a), Basic::Str(b)) => Ok(a == b),
        _ => Err("incompatible types for comparison".to_string()),
    }
}

fn go_less(left: &Val<'_>, right: &Val<'_>) -> Result<bool, String> {
    match (basic_kind(left)?, basic_kind(right)?) {
        (Basic::Bool(_), Basic::Bool(_)) => Err("invalid type for comparison".to_string()),
        (Basic::Int(a), Basic::Int(b)) => Ok(a < b),
        (Basic::Uint(a), Basic::Uint(b)) => Ok(a < b),
        (Basic::Float(a), Basic::Float(b)) => Ok(a < b),
        (Basic::Str(a), Basic::Str(b)) => Ok(a < b),
        _ => Err("incompatible types for comparison".to_string()),
    }
}

fn go_less_equal(left: &Val<'_>, right: &Val<'_>) -> Result<bool, String> {
    if go_less(left, right)? {
        return Ok(true);
    }
    go_equal(left, right)
}

fn compare(op: &str, left: &Val<'_>, right: &Val<'_>) -> Result<bool, String> {
    match op {
        "<" => go_less(left, right),
        ">" => go_less_equal(left, right).map(|le| !le),
        "==" => go_equal(left, right),
        "!=" => go_equal(left, right).map(|eq| !eq),
        "<=" => go_less_equal(left, right),
        ">=" => go_less(left, right).map(|lt| !lt),
        _ => Err(format!("unrecognized filter operator {op}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Go formatting
// ---------------------------------------------------------------------------------------------

/// `fmt.Sprint` of a result. Objects print as Go maps because that is what the view can
/// represent faithfully (see the module docs for structs).
fn go_sprint(value: &Val<'_>) -> String {
    match value {
        Val::Json(json, _) => sprint_json(json),
        Val::Text(t) => decode_go_lossy(t),
        Val::Int(i) => i.to_string(),
        Val::Float(f) => go_float(*f),
        Val::Bool(b) => b.to_string(),
        Val::Byte(b) => b.to_string(),
    }
}

/// Iterative so that deeply nested values cannot overflow the stack.
fn sprint_json(root: &Value) -> String {
    enum Work<'v> {
        Value(&'v Value),
        Lit(&'static str),
        Key(&'v str),
    }
    let mut out = String::new();
    let mut stack = vec![Work::Value(root)];
    while let Some(work) = stack.pop() {
        match work {
            Work::Lit(s) => out.push_str(s),
            Work::Key(k) => out.push_str(k),
            Work::Value(v) => match v {
                Value::Null => out.push_str("<nil>"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => out.push_str(&go_number(n)),
                Value::String(s) => out.push_str(s),
                Value::Array(items) => {
                    out.push('[');
                    stack.push(Work::Lit("]"));
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push(Work::Value(item));
                        if i > 0 {
                            stack.push(Work::Lit(" "));
                        }
                    }
                }
                Value::Object(map) => {
                    out.push_str("map[");
                    stack.push(Work::Lit("]"));
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (i, (key, item)) in entries.into_iter().enumerate().rev() {
                        stack.push(Work::Value(item));
                        stack.push(Work::Lit(":"));
                        stack.push(Work::Key(key));
                        if i > 0 {
                            stack.push(Work::Lit(" "));
                        }
                    }
                }
            },
        }
    }
    out
}

fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        n.as_f64().map_or_else(|| n.to_string(), go_float)
    }
}

/// Go's `%v` for float64. Rust's `Display` never switches to exponent form, whereas Go does for
/// decimal exponents < -4 or >= 6 (`1e+06`), so the digits are laid out by hand.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    let digit = |i: i64| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |d| char::from(*d))
    };
    let nd = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    if !(-4..6).contains(&exp) {
        out.push(digit(0));
        if nd > 1 {
            out.push('.');
            for i in 1..nd {
                out.push(digit(i));
            }
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else {
        let dp = exp + 1;
        if dp > 0 {
            for i in 0..dp {
                out.push(digit(i));
            }
        } else {
            out.push('0');
        }
        let decimals = (nd - dp).max(0);
        if decimals > 0 {
            out.push('.');
            for i in 0..decimals {
                out.push(digit(dp + i));
            }
        }
    }
    out
}

/// Decodes like Go's `range` over a string: each invalid byte becomes one U+FFFD, so that
/// MakeRFC1123Compliant later yields one `-` per byte exactly as Go does.
fn decode_go_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{FFFD}');
        }
    }
    out
}

/// Go's `%q` (strconv.Quote), so messages quote keys and paths like the operator does.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Go's `%#U`.
fn go_sharp_u(c: char) -> String {
    if is_go_print(c) {
        format!("U+{:04X} '{c}'", u32::from(c))
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// Approximates Go's `strconv.IsPrint` (letters, marks, numbers, punctuation, symbols, ASCII
/// space) without Unicode category tables: unassigned code points count as printable here.
fn is_go_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    const NOT_PRINTABLE: &[(u32, u32)] = &[
        (0xAD, 0xAD),
        (0x600, 0x605),
        (0x61C, 0x61C),
        (0x6DD, 0x6DD),
        (0x70F, 0x70F),
        (0x890, 0x891),
        (0x8E2, 0x8E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x206F),
        (0xD800, 0xF8FF),
        (0xFDD0, 0xFDEF),
        (0xFEFF, 0xFEFF),
        (0xFFF0, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
        (0xF0000, 0x10FFFF),
    ];
    let u = u32::from(c);
    if u & 0xFFFE == 0xFFFE {
        return false;
    }
    !NOT_PRINTABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Service `demo` in `Testing` as the spec's tests use it, in Go-view form.
    fn demo_view(
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> Value {
        json!({
            "apiVersion": "aim.eai.amd.com/v1alpha1",
            "kind": "AIMService",
            "metadata": {
                "name": "demo",
                "generateName": "",
                "namespace": "Testing",
                "uid": "12345678-90ab",
                "resourceVersion": "",
                "generation": 0,
                "creationTimestamp": "0001-01-01 00:00:00 +0000 UTC",
                "deletionTimestamp": null,
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [],
                "finalizers": []
            },
            "spec": {
                "model": {"name": "meta-llama", "image": null, "custom": null},
                "template": {"name": "", "allowUnoptimized": false},
                "caching": null,
                "cacheModel": null,
                "replicas": 1,
                "minReplicas": null,
                "maxReplicas": null,
                "autoScaling": null,
                "storage": null,
                "routing": null,
                "env": [
                    {"name": "A", "value": "one", "valueFrom": null},
                    {"name": "B", "value": "Two", "valueFrom": null}
                ],
                "resources": null,
                "overrides": null,
                "imagePullSecrets": [],
                "serviceAccountName": ""
            },
            "status": {
                "observedGeneration": 0,
                "resolvedModel": {"name": "Meta/Llama-3-8B", "namespace": "Testing", "kind": "AIMModel", "scope": "Namespace", "uid": ""},
                "status": "Pending",
                "ratio": 1.5
            }
        })
    }

    fn render(template: &str) -> Result<String, PathError> {
        let labels = map(&[
            ("aim.silogen.ai/workload-id", "Workload-42"),
            ("team", "Blue"),
            ("project", "x"),
        ]);
        let annotations = map(&[("route.suffix", "Team-A/B")]);
        render_path(
            template,
            &demo_view(&labels, &annotations),
            &labels,
            &annotations,
        )
    }

    fn err(template: &str) -> String {
        match render(template) {
            Ok(p) => panic!("expected an error for {template:?}, got {p:?}"),
            Err(e) => e.0,
        }
    }

    // --- §8.3 worked examples -----------------------------------------------------------------

    #[test]
    fn service_template_with_label() {
        assert_eq!(
            render("/{.metadata.namespace}/{.metadata.labels['aim.silogen.ai/workload-id']}/"),
            Ok("/testing/workload-42".to_string())
        );
    }

    #[test]
    fn rc_template_with_status_field() {
        assert_eq!(
            render("/{.metadata.namespace}/{.status.resolvedModel.name}"),
            Ok("/testing/meta-llama-3-8b".to_string())
        );
    }

    #[test]
    fn annotation_inserted_raw() {
        assert_eq!(
            render("/{.metadata.annotations['route.suffix']}"),
            Ok("/team-a/b".to_string())
        );
        assert_eq!(
            render("/{.metadata.annotations[\"route.suffix\"]}"),
            Ok("/team-a/b".to_string())
        );
    }

    #[test]
    fn default_path_from_namespace_and_uid() {
        assert_eq!(
            default_path("Testing", "12345678-90ab"),
            "/testing/12345678-90ab"
        );
        assert_eq!(default_path("", ""), "/");
        assert_eq!(default_path(&"n".repeat(300), "x"), "/");
    }

    #[test]
    fn missing_label() {
        assert_eq!(
            err("/{.metadata.labels['missing']}"),
            "failed to evaluate route template \".metadata.labels['missing']\": \
             jsonpath evaluation error: label \"missing\" not found"
        );
        assert_eq!(
            err("/{.metadata.annotations[\"nope\"]}"),
            "failed to evaluate route template \".metadata.annotations[\\\"nope\\\"]\": \
             jsonpath evaluation error: annotation \"nope\" not found"
        );
    }

    #[test]
    fn four_long_labels_exceed_limit() {
        let long = |c: char| c.to_string().repeat(104);
        let labels = map(&[
            ("a", &long('a')),
            ("b", &long('b')),
            ("c", &long('c')),
            ("d", &long('d')),
        ]);
        let annotations = BTreeMap::new();
        let view = demo_view(&labels, &annotations);
        let template = "/{.metadata.labels['a']}/{.metadata.labels['b']}/{.metadata.labels['c']}/{.metadata.labels['d']}";
        let e = render_path(template, &view, &labels, &annotations)
            .unwrap_err()
            .0;
        let expected_path = format!(
            "/{}/{}/{}/{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63)
        );
        assert_eq!(
            e,
            format!("route path \"{expected_path}\" exceeds 200 characters")
        );
        // Three fit: 3 * 64 = 192.
        let three = "/{.metadata.labels['a']}/{.metadata.labels['b']}/{.metadata.labels['c']}";
        assert!(render_path(three, &view, &labels, &annotations).is_ok());
    }

    #[test]
    fn unterminated_bracket_is_parse_error() {
        assert_eq!(
            err("/{.metadata[}"),
            "failed to evaluate route template \".metadata[\": \
             invalid jsonpath expression: unterminated array"
        );
    }

    #[test]
    fn additional_normalisations() {
        assert_eq!(normalize_path("///"), Ok("/".to_string()));
        assert_eq!(normalize_path("/a b/ c /"), Ok("/a-b/c".to_string()));
        assert_eq!(
            normalize_path("models//Foo.Bar"),
            Ok("/models/foo-bar".to_string())
        );
        assert_eq!(
            normalize_path(""),
            Err(PathError(
                "route template produced an empty path".to_string()
            ))
        );
        assert_eq!(
            normalize_path("  \t "),
            Err(PathError(
                "route template produced an empty path".to_string()
            ))
        );
        assert_eq!(normalize_path("/---/x"), Ok("/x".to_string()));
        let raw = format!("/{}", "a".repeat(200));
        assert!(normalize_path(&raw)
            .unwrap_err()
            .0
            .ends_with("exceeds 200 characters"));
        // Trailing slashes are stripped before the length check.
        assert!(normalize_path(&format!("/{}{}", "a".repeat(199), "/".repeat(50))).is_ok());
    }

    #[test]
    fn docs_examples() {
        let labels = map(&[("project", "conversational-ai")]);
        let annotations = BTreeMap::new();
        let view = json!({
            "metadata": {"name": "qwen-chat", "namespace": "ml-team", "labels": {"project": "conversational-ai"}},
            "spec": {}
        });
        assert_eq!(
            render_path(
                "/ml/{.metadata.namespace}/{.metadata.labels['project']}",
                &view,
                &labels,
                &annotations
            ),
            Ok("/ml/ml-team/conversational-ai".to_string())
        );
        assert_eq!(
            render_path("/custom/{.metadata.name}", &view, &labels, &annotations),
            Ok("/custom/qwen-chat".to_string())
        );
    }

    // --- error bullets ------------------------------------------------------------------------

    #[test]
    fn empty_expression() {
        assert_eq!(
            err("/x/{  }"),
            "failed to evaluate route template \"\": jsonpath expression is empty"
        );
    }

    #[test]
    fn missing_leading_dot() {
        assert_eq!(
            err("/{metadata.name}"),
            "failed to evaluate route template \"metadata.name\": \
             jsonpath evaluation error: unrecognized identifier metadata"
        );
    }

    #[test]
    fn missing_map_key_and_nil_pointers() {
        assert!(err("/{.metadata.labels.nope}")
            .ends_with("jsonpath evaluation error: nope is not found"));
        assert!(err("/{.spec.routing.pathTemplate}")
            .ends_with("jsonpath evaluation error: pathTemplate is not found"));
        assert!(err("/{.spec.routing}").ends_with(": jsonpath returned nil value"));
        assert!(err("/{.spec.runtimeConfigName}")
            .ends_with("jsonpath evaluation error: runtimeConfigName is not found"));
        assert!(err("/{.spec.RuntimeConfigName}").ends_with("RuntimeConfigName is not found"));
    }

    #[test]
    fn zero_values_render() {
        assert_eq!(
            render("/{.spec.template.allowUnoptimized}"),
            Ok("/false".to_string())
        );
        assert_eq!(
            render("/x/{.metadata.generateName}/y"),
            Ok("/x/y".to_string())
        );
        assert_eq!(render("/x/{.spec.template.name}"), Ok("/x".to_string()));
        assert_eq!(render("/{.spec.replicas}"), Ok("/1".to_string()));
        assert_eq!(
            render("/{.metadata.creationTimestamp}"),
            Ok("/0001-01-01-00-00-00--0000-utc".to_string())
        );
    }

    #[test]
    fn bracket_key_in_generic_path_fails_to_parse() {
        assert_eq!(
            err("/{.spec.env['k']}"),
            "failed to evaluate route template \".spec.env['k']\": \
             invalid jsonpath expression: invalid array index \"k\""
        );
        assert!(err("/{.metadata.labels['team'].x}").ends_with("invalid array index \"team\""));
        assert!(err("/{.metadata.labels['']}").ends_with("invalid array index \"\""));
        assert!(err("/{.spec.env[\"k\"]}").ends_with("invalid array index \"k\""));
        // Only the whole-expression form is special, with either quote style.
        assert_eq!(
            render("/{.metadata.labels[\"team\"]}"),
            Ok("/blue".to_string())
        );
    }

    #[test]
    fn multiple_and_no_results() {
        assert!(err("/{.spec.env[*].name}").ends_with(": jsonpath returned multiple results"));
        assert!(err("/{.spec.env[0:0]}").ends_with(": jsonpath returned no results"));
        assert!(err("/{.spec.imagePullSecrets[*]}").ends_with(": jsonpath returned no results"));
        assert!(err("/{range .spec.env}").ends_with(": jsonpath returned no results"));
        assert!(err("/{.spec.env end}").ends_with("not in range, nothing to end"));
    }

    #[test]
    fn unmatched_braces_stay_literal() {
        assert_eq!(
            render("/a{b/{.metadata.name}}"),
            Ok("/a-b/demo".to_string())
        );
        assert_eq!(render("/{}/x"), Ok("/x".to_string()));
        assert_eq!(render("/{{.metadata.name}"), Ok("/demo".to_string()));
        assert_eq!(
            render("/x/{.metadata.name"),
            Ok("/x/metadata-name".to_string())
        );
        assert_eq!(render("no-expressions"), Ok("/no-expressions".to_string()));
    }

    #[test]
    fn label_slash_becomes_dash_but_annotation_slash_splits() {
        let labels = map(&[("p", "A/B")]);
        let annotations = map(&[("p", " A/B ")]);
        let view = demo_view(&labels, &annotations);
        assert_eq!(
            render_path("/{.metadata.labels['p']}", &view, &labels, &annotations),
            Ok("/a-b".to_string())
        );
        assert_eq!(
            render_path(
                "/{.metadata.annotations['p']}",
                &view,
                &labels,
                &annotations
            ),
            Ok("/a/b".to_string())
        );
        // Generic dotted access to an annotation is RFC1123-encoded like everything else.
        assert_eq!(
            render_path("/{.metadata.annotations.p}", &view, &labels, &annotations),
            Ok("/a-b".to_string())
        );
    }

    #[test]
    fn too_long_path() {
        let e = err(&format!("/{}/{{.metadata.name}}", "x".repeat(200)));
        assert!(e.starts_with("route path \"/xxx"));
        assert!(e.ends_with("/demo\" exceeds 200 characters"));
    }

    // --- JSONPath subset ----------------------------------------------------------------------

    #[test]
    fn roots_and_go_field_names() {
        assert_eq!(render("/{$.metadata.name}"), Ok("/demo".to_string()));
        assert_eq!(render("/{@.metadata.name}"), Ok("/demo".to_string()));
        assert_eq!(render("/{ .metadata.name }"), Ok("/demo".to_string()));
        assert_eq!(render("/{.metadata.Name}"), Ok("/demo".to_string()));
        assert_eq!(render("/{.Metadata.Namespace}"), Ok("/testing".to_string()));
        assert_eq!(render("/{.metadata.UID}"), Ok("/12345678-90ab".to_string()));
        assert_eq!(render("/{.Name}"), Ok("/demo".to_string()));
        assert_eq!(render("/{.ObjectMeta.name}"), Ok("/demo".to_string()));
        assert_eq!(
            render("/{.APIVersion}"),
            Ok("/aim-eai-amd-com-v1alpha1".to_string())
        );
        // Go maps have no field-name fallback.
        assert!(err("/{.metadata.labels.Team}").ends_with("Team is not found"));
        assert_eq!(render("/{.metadata.labels.team}"), Ok("/blue".to_string()));
        assert!(err("/{.metadata.NAME}").ends_with("NAME is not found"));
    }

    #[test]
    fn escaped_dots_in_field_names() {
        assert_eq!(
            render("/{.metadata.labels.aim\\.silogen\\.ai/workload-id}"),
            Ok("/workload-42".to_string())
        );
        assert!(
            err("/{.metadata.name\\}").ends_with("invalid jsonpath expression: unclosed action")
        );
    }

    #[test]
    fn array_indices_and_slices() {
        assert_eq!(render("/{.spec.env[0].value}"), Ok("/one".to_string()));
        assert_eq!(render("/{.spec.env[1].value}"), Ok("/two".to_string()));
        assert_eq!(render("/{.spec.env[-1].name}"), Ok("/b".to_string()));
        assert_eq!(render("/{.spec.env[-2].name}"), Ok("/a".to_string()));
        assert_eq!(render("/{.spec.env[1:].name}"), Ok("/b".to_string()));
        assert_eq!(render("/{.spec.env[:1].name}"), Ok("/a".to_string()));
        assert_eq!(render("/{.spec.env[::2].name}"), Ok("/a".to_string()));
        assert_eq!(render("/{.spec.env[].name}"), Ok("/a".to_string()));
        assert!(err("/{.spec.env[2]}").ends_with("array index out of bounds: index 2, length 2"));
        assert!(err("/{.spec.env[-3]}").ends_with("array index out of bounds: index -1, length 2"));
        assert!(err("/{.spec.env[0:5]}").ends_with("array index out of bounds: index 4, length 2"));
        assert!(err("/{.spec.env[::0]}").ends_with("step must be > 0"));
        assert!(
            err("/{.spec.env[1:0]}").ends_with("starting index 1 is greater than ending index 0")
        );
        assert!(err("/{.spec.env[a]}").ends_with("invalid array index a"));
        assert!(err("/{.spec.env[-]}").ends_with("array index - is not a number"));
        assert!(err("/{.spec.env[99999999999999999999]}")
            .ends_with("array index 99999999999999999999 is not a number"));
        assert!(err("/{.metadata.name[0]}").ends_with("string is not array or slice"));
        // A nil slice/pointer is skipped, so nothing comes back.
        assert!(err("/{.spec.routing[0]}").ends_with("jsonpath returned no results"));
    }

    #[test]
    fn wildcards() {
        assert_eq!(render("/{.spec.model.*}"), Err(PathError(
            "failed to evaluate route template \".spec.model.*\": jsonpath returned multiple results".to_string()
        )));
        assert_eq!(render("/{.spec.template.name.*}"), Err(PathError(
            "failed to evaluate route template \".spec.template.name.*\": jsonpath returned no results".to_string()
        )));
        let labels = map(&[("only", "Solo")]);
        let annotations = BTreeMap::new();
        let view = demo_view(&labels, &annotations);
        assert_eq!(
            render_path("/{.metadata.labels.*}", &view, &labels, &annotations),
            Ok("/solo".to_string())
        );
        assert_eq!(
            render_path("/{.metadata.labels[*]}", &view, &labels, &annotations),
            Err(PathError(
                "failed to evaluate route template \".metadata.labels[*]\": \
                 jsonpath evaluation error: map[string]string is not array or slice"
                    .to_string()
            ))
        );
        // Iterating a one-byte string yields the byte, printed as a number like Go's uint8.
        let view = json!({"metadata": {"name": "a"}});
        assert_eq!(
            render_path("/{.metadata.name.*}", &view, &labels, &annotations),
            Ok("/97".to_string())
        );
    }

    #[test]
    fn unions_filters_recursive() {
        assert_eq!(render("/{.metadata['name','namespace']}").unwrap_err().0,
            "failed to evaluate route template \".metadata['name','namespace']\": jsonpath returned multiple results");
        assert_eq!(render("/{.spec.env[0:0,1].name}"), Ok("/b".to_string()));
        assert_eq!(
            render("/{.spec.env[?(@.name==\"B\")].value}"),
            Ok("/two".to_string())
        );
        assert_eq!(
            render("/{.spec.env[?(@.name=='A')].value}"),
            Ok("/one".to_string())
        );
        assert_eq!(
            render("/{.spec.env[?(@.name!='A')].value}"),
            Ok("/two".to_string())
        );
        assert_eq!(
            render("/{.spec.env[?(@.name>'A')].name}"),
            Ok("/b".to_string())
        );
        assert_eq!(render("/{.spec.env[?(@.value)].name}").unwrap_err().0,
            "failed to evaluate route template \".spec.env[?(@.value)].name\": jsonpath returned multiple results");
        assert!(
            err("/{.spec.env[?(@.name==1)].value}").ends_with("incompatible types for comparison")
        );
        assert!(err("/{.spec.env[?(@.name==='A')].value}")
            .ends_with("unrecognized filter operator ==="));
        assert!(err("/{.spec.env[?(@.name=='A']}")
            .ends_with("invalid jsonpath expression: unterminated filter"));
        assert!(err("/{.spec.env[?(@.name=='A')}")
            .ends_with("invalid jsonpath expression: unclosed array expect ]"));
        assert_eq!(render("/{..observedGeneration}"), Ok("/0".to_string()));
        assert_eq!(render("/{..serviceAccountName}"), Ok("/".to_string()));
        assert!(err("/{..name}").ends_with("jsonpath returned multiple results"));
        assert!(err("/{....name}").ends_with("invalid multiple recursive descent"));
    }

    /// client-go has no `=~`: the `~` reaches the lexer of the filter's right side, so the
    /// template is rejected when parsed, before any data is looked at.
    #[test]
    fn regex_match_is_rejected_at_parse_time() {
        let tilde = "unrecognized character in action: U+007E '~'";
        assert_eq!(
            parse_action(".metadata.labels[?(@.x=~\"a\")]", 0)
                .err()
                .as_deref(),
            Some(tilde)
        );
        assert_eq!(
            parse_action(".spec.env[?(@.name!~'A')]", 0)
                .err()
                .as_deref(),
            Some(tilde)
        );
        assert_eq!(
            err("/{.spec.env[?(@.name=~'A')].value}"),
            format!(
                "failed to evaluate route template \".spec.env[?(@.name=~'A')].value\": \
                 invalid jsonpath expression: {tilde}"
            )
        );
        // An empty list never runs the filter; the parse error comes first all the same.
        assert_eq!(
            err("/{.spec.imagePullSecrets[?(@.name=~'A')]}"),
            format!(
                "failed to evaluate route template \".spec.imagePullSecrets[?(@.name=~'A')]\": \
                 invalid jsonpath expression: {tilde}"
            )
        );
    }

    #[test]
    fn literals_and_stringification() {
        assert_eq!(render("/{\"Hello World\"}"), Ok("/hello-world".to_string()));
        assert_eq!(render("/{'x\\x41'}"), Ok("/xa".to_string()));
        assert_eq!(render("/{\"a\\xffb\"}"), Ok("/a-b".to_string()));
        assert_eq!(render("/{\"a\\xe2\\x82b\"}"), Ok("/a--b".to_string()));
        assert_eq!(render("/{42}"), Ok("/42".to_string()));
        assert_eq!(render("/{-1}"), Ok("/1".to_string()));
        assert_eq!(render("/{true}"), Ok("/true".to_string()));
        assert_eq!(render("/{1.0}"), Ok("/1".to_string()));
        assert_eq!(render("/{99999999999999999999}"), Ok("/1e-20".to_string()));
        assert_eq!(render("/{.status.ratio}"), Ok("/1-5".to_string()));
        assert!(err("/{1.2.3}").ends_with("invalid jsonpath expression: cannot parse number 1.2.3"));
        assert!(
            err("/{\"abc}").ends_with("invalid jsonpath expression: unterminated quoted string")
        );
        assert!(err("/{'\\q'}").ends_with("unquote string '\\q' error invalid syntax"));
        assert!(err("/{.a\n.b}").ends_with("invalid jsonpath expression: unclosed action"));
        assert!(err("/{.a\t.b}").ends_with("unrecognized character in action: U+0009"));
        assert!(err("/{*}").ends_with("unrecognized character in action: U+002A '*'"));
        assert_eq!(
            render("/{.spec.model}"),
            Ok("/map-custom--nil--image--nil--name-meta-llama".to_string())
        );
    }

    #[test]
    fn go_formatting_helpers() {
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5), "-2.5");
        assert_eq!(go_float(1e100), "1e+100");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(
            go_quote("a\"b\\c\n\u{7f}é\u{200b}"),
            "\"a\\\"b\\\\c\\n\\x7fé\\u200b\""
        );
        assert_eq!(go_sharp_u('é'), "U+00E9 'é'");
        assert_eq!(
            sprint_json(&json!({"b": [1, "x", null], "a": {"k": true}})),
            "map[a:map[k:true] b:[1 x <nil>]]"
        );
    }

    #[test]
    fn rfc1123_examples() {
        assert_eq!(rfc1123("Hello__World..X"), "hello--world--x");
        assert_eq!(rfc1123("ÄÖ-x"), "x");
        assert_eq!(rfc1123("My_Service.V2"), "my-service-v2");
        assert_eq!(rfc1123("hf://Qwen/Qwen3-32B"), "hf---qwen-qwen3-32b");
        assert_eq!(rfc1123("İx"), "ix");
        assert_eq!(rfc1123("\u{212A}"), "k");
        assert_eq!(rfc1123(&format!("{}-b", "a".repeat(62))), "a".repeat(62));
        assert_eq!(rfc1123(""), "");
    }

    #[test]
    fn parser_helpers() {
        assert_eq!(split_filter("@.a==\"x\""), Some(("@.a", "==", "\"x\"")));
        assert_eq!(split_filter("@.a~~"), None);
        assert_eq!(split_filter("@.a=~'x'"), Some(("@.a", "=", "~'x'")));
        assert_eq!(split_filter("@.a=="), Some(("@.a", "=", "=")));
        assert_eq!(split_filter("@.a"), None);
        assert_eq!(split_filter("=x"), None);
        assert_eq!(slice_groups("1:-2:3"), Some(["1", ":-2", ":3"]));
        assert_eq!(slice_groups(""), Some(["", "", ""]));
        assert_eq!(slice_groups("1:2:3:4"), None);
        assert_eq!(
            normalize_bracket_keys(".a['b\"c']['d'].e['x"),
            ".a[\"b\\\\\"c\"][\"d\"].e['x"
        );
        assert_eq!(find_expressions("{a}{}{{b}x}"), vec![(0, 3), (6, 9)]);
    }

    // --- robustness ---------------------------------------------------------------------------

    #[test]
    fn never_panics_on_weird_input() {
        let labels = map(&[("k", "v"), ("", "empty"), ("ü", "Ü")]);
        let annotations = map(&[("a", "/x/"), ("b", "")]);
        let view = demo_view(&labels, &annotations);
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            "'",
            "\"",
            ".",
            "..",
            "[?(",
            ")",
            "\\",
            "ü",
            "İ",
            "\n",
            "\t",
            " ",
            "*",
            "-1",
            ":",
            ",",
            "$",
            "@",
            "==",
            "<",
            "=~",
            "metadata",
            "labels",
            "name",
            "spec",
            "env",
            "0",
            "9999999999999999999999",
            "x",
            "range",
            "end",
            "true",
            "\\x",
            "\\u12",
            "\u{0}",
            "\u{10FFFF}",
            "🎉",
            "/",
            "['",
            "']",
            "[\"",
            "\"]",
            "annotations",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut template = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 12) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                template.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = render_path(&template, &view, &labels, &annotations);
            let _ = render_path(&format!("/{{{template}}}"), &view, &labels, &annotations);
            let _ = render_path(
                &format!("/{{.metadata{template}}}"),
                &view,
                &labels,
                &annotations,
            );
            let _ = normalize_path(&template);
        }
    }

    #[test]
    fn never_panics_on_huge_or_deep_input() {
        let labels = BTreeMap::new();
        let annotations = BTreeMap::new();
        let view = demo_view(&labels, &annotations);
        let n = 200_000;
        for template in [
            format!("/{{{}}}", ".a".repeat(n)),
            format!("/{{{}}}", "[".repeat(n)),
            format!("/{{.x{}}}", "[0]".repeat(n)),
            format!("/{{{}}}", "..a".repeat(n)),
            format!("/{{{}}}", "~".repeat(n)),
            format!("/{{.spec.env[?({})]}}", "~".repeat(n)),
            format!("/{{.spec.env[{}]}}", ",".repeat(n)),
            format!("/{{.spec.env[{}]}}", "'a',".repeat(n / 4)),
            format!("/{{\"{}\"}}", "\\x41".repeat(n / 4)),
            "{".repeat(n),
            "}".repeat(n),
            format!("/{}", "['".repeat(n)),
            format!("/{{{}}}", "['".repeat(n)),
            "ü".repeat(n),
            format!("/{{{}}}", " ".repeat(n)),
            format!("/{{{}}}", "..*".repeat(40)),
        ] {
            let _ = render_path(&template, &view, &labels, &annotations);
        }

        // Deep enough that any recursion over the data in this module would overflow the test
        // thread's stack. serde_json's own Drop recurses, hence the deliberate leak.
        let mut deep = json!("leaf");
        for _ in 0..50_000 {
            let mut node = serde_json::Map::new();
            node.insert("n".to_string(), Value::Array(vec![deep]));
            deep = Value::Object(node);
        }
        let mut root = serde_json::Map::new();
        root.insert("metadata".to_string(), json!({}));
        root.insert("deep".to_string(), deep);
        let view = Value::Object(root);
        for template in ["/{..leaf}", "/{..n[0].n[0].n}", "/{$}", "/{.deep.*..*}"] {
            let _ = render_path(template, &view, &labels, &annotations);
        }
        // The value is cut to 63 characters by MakeRFC1123Compliant, so it fits.
        let deep_path = render_path("/{.deep}", &view, &labels, &annotations);
        assert!(deep_path.is_ok_and(|p| p.starts_with("/map-n--map-n") && p.len() <= 64));
        std::mem::forget(view);
    }
}
