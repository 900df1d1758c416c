//! YAML documents as a span-carrying tree, so any diagnostic can point at file:line:col.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::budget::BudgetReport;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A YAML node and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u32,
    pub col: u32,
    pub value: Yaml,
}

/// One segment of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(s: &str) -> Seg {
        Seg::Key(s.to_owned())
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Seg {
        Seg::Index(i)
    }
}

impl Node {
    /// The node at exactly `path`, if it is written.
    pub fn get(&self, path: &[Seg]) -> Option<&Node> {
        let mut cur = self;
        for seg in path {
            cur = match (&cur.value, seg) {
                (Yaml::Map(entries), Seg::Key(k)) => entries
                    .iter()
                    .find(|(key, _)| matches!(&key.value, Yaml::Str(s) if s == k))
                    .map(|(_, v)| v)?,
                (Yaml::Seq(items), Seg::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The node at `path`, or the deepest existing ancestor (a missing field is reported
    /// at the object that lacks it).
    pub fn locate(&self, path: &[Seg]) -> &Node {
        let mut cur = self;
        for seg in path {
            let next = match (&cur.value, seg) {
                (Yaml::Map(entries), Seg::Key(k)) => entries
                    .iter()
                    .find(|(key, _)| matches!(&key.value, Yaml::Str(s) if s == k))
                    .map(|(_, v)| v),
                (Yaml::Seq(items), Seg::Index(i)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => break,
            }
        }
        cur
    }

    /// Converts to JSON; Kubernetes objects are JSON, so keys must be scalars and floats finite.
    pub fn to_json(&self) -> Result<Value, (u32, u32, String)> {
        Ok(match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::from(*i),
            Yaml::UInt(u) => Value::from(*u),
            Yaml::Float(f) => match Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => {
                    return Err((
                        self.line,
                        self.col,
                        format!("{f} cannot be represented in JSON"),
                    ))
                }
            },
            Yaml::Str(s) => Value::String(s.clone()),
            Yaml::Seq(items) => {
                Value::Array(items.iter().map(Node::to_json).collect::<Result<_, _>>()?)
            }
            Yaml::Map(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = match &k.value {
                        Yaml::Str(s) => s.clone(),
                        Yaml::Int(i) => i.to_string(),
                        Yaml::UInt(u) => u.to_string(),
                        Yaml::Bool(b) => b.to_string(),
                        Yaml::Float(f) => f.to_string(),
                        Yaml::Null => "null".to_owned(),
                        Yaml::Seq(_) | Yaml::Map(_) => {
                            return Err((k.line, k.col, "mapping keys must be scalars".to_owned()));
                        }
                    };
                    m.insert(key, v.to_json()?);
                }
                Value::Object(m)
            }
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<Yaml> = Spanned::deserialize(d)?;
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(Node {
            line: clamp(s.referenced.line()),
            col: clamp(s.referenced.column()),
            value: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Yaml, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            v.push(n);
        }
        Ok(Yaml::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Yaml, A::Error> {
        let mut v = Vec::new();
        while let Some((k, val)) = a.next_entry::<Node, Node>()? {
            v.push((k, val));
        }
        Ok(Yaml::Map(v))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: &'static str,
    pub line: u32,
    pub col: u32,
    pub message: String,
    pub help: &'static str,
}

/// Parses a multi-document stream. Duplicate keys are errors (Kubernetes' strict decoding
/// rejects them); the budgets below bound size, nesting and alias expansion.
pub fn parse_multi(text: &str) -> Result<Vec<Node>, ParseError> {
    // How many aliases the stream had used when a budget broke: that tells an alias bomb
    // from a file that is merely big.
    let aliases = Rc::new(Cell::new(0usize));
    let mut opts = options(text.len());
    let seen = Rc::clone(&aliases);
    opts.budget_report_cb = Some(Rc::new(RefCell::new(move |r: BudgetReport| {
        seen.set(r.aliases);
    })));
    serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, opts)
        .map_err(|e| parse_error(&e, text.len(), aliases.get()))
}

fn parse_error(e: &serde_saphyr::Error, bytes: usize, aliases: usize) -> ParseError {
    let plain = e.without_snippet();
    let (line, col) = plain
        .location()
        .map(|l| {
            (
                u32::try_from(l.line()).unwrap_or(u32::MAX),
                u32::try_from(l.column()).unwrap_or(u32::MAX),
            )
        })
        .unwrap_or((1, 1));
    if let Some((code, message, help)) = limit_error(plain, bytes, aliases) {
        return ParseError {
            code,
            line,
            col,
            message,
            help,
        };
    }
    let raw = plain.to_string();
    // The parser prefixes its own "error: line L column C: "; we print the location ourselves.
    let message = match raw.split_once(": ") {
        Some((_, rest)) if raw.starts_with("error: line ") => rest
            .split_once(": ")
            .map(|(_, m)| m)
            .unwrap_or(rest)
            .lines()
            .next()
            .unwrap_or(rest)
            .to_owned(),
        _ => raw.lines().next().unwrap_or("invalid YAML").to_owned(),
    };
    // The parser appends its own position; we print ours in front.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    let (code, help) = if message.contains("duplicate mapping key") {
        (
            "DuplicateKey",
            "remove or rename one of the two keys; Kubernetes rejects duplicate fields",
        )
    } else {
        ("YamlSyntax", "fix the YAML syntax at this position")
    };
    ParseError {
        code,
        line,
        col,
        message: message
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or("")
            .to_owned(),
        help,
    }
}

// Budgets. A file of n bytes can spell out only so much: every value (scalar, list or map)
// needs a character or a separator of its own, every document its `---` line, every anchor,
// alias or merge key at least two characters. So what the text spells is counted against
// limits in proportion to its size, with a margin no alias-free text reaches: a long file of
// small documents loads. What aliases add (values replayed from an anchor) is expansion and
// gets a fixed allowance whatever the file's size, so padding a bomb with comments buys it
// nothing. Whatever costs memory or stack regardless of size keeps a fixed cap too: nesting
// depth and scalar text (which a string anchor can repeat).

/// Values (scalars, lists, maps) per byte of text: alias-free text reaches at most one
/// (`{a,b,c}`, keys with implicit null values, is the densest).
const NODES_PER_BYTE: usize = 2;
/// Parser events per byte: alias-free text reaches about 1.3 (a start and an end per list or
/// map, one per scalar, two per document).
const EVENTS_PER_BYTE: usize = 4;
/// On top of the per-byte counts, what aliases may add: serde-saphyr's defaults, which a
/// billion-laughs file exceeds after a few hundred bytes of its expansion.
const ALIAS_NODES: usize = 250_000;
const ALIAS_EVENTS: usize = 1_000_000;
/// serde-saphyr's defaults for anchors, aliases and merge keys, which a file of 50,000 small
/// documents with one anchor each would otherwise exceed.
const ANCHORS: usize = 50_000;
const ALIASES: usize = 50_000;
const MERGE_KEYS: usize = 10_000;
/// Nesting depth: the span tree and serde_json's `Drop` recurse once per level. Twice the
/// deepest manifest known: KServe's InferenceService CRD nests 31 levels.
const MAX_DEPTH: usize = 64;
/// Scalar text per file, aliases' copies included: bounds a huge scalar and a string repeated
/// through aliases alike. A Kubernetes object is at most about 1.5 MiB (etcd's default request
/// limit), so only a file of many objects gets near it, and that one can be split.
const MAX_SCALAR_BYTES: usize = 64 << 20;
/// Owned scalar text copied into anchors for replay (serde-saphyr's default).
const MAX_ANCHOR_BYTES: usize = 64 << 20;

/// The parser's limits for a text of `bytes` bytes.
fn budget(bytes: usize) -> Budget {
    let per = |k: usize| bytes.saturating_mul(k);
    let mut b = Budget::default();
    b.max_documents = bytes / 3 + 1;
    b.max_nodes = ALIAS_NODES.saturating_add(per(NODES_PER_BYTE));
    b.max_events = ALIAS_EVENTS.saturating_add(per(EVENTS_PER_BYTE));
    b.max_recorded_anchor_events = ALIAS_EVENTS.saturating_add(per(EVENTS_PER_BYTE));
    b.max_anchors = ANCHORS.saturating_add(bytes / 2);
    b.max_aliases = ALIASES.saturating_add(bytes / 2);
    b.max_merge_keys = MERGE_KEYS.saturating_add(bytes / 2);
    b.max_depth = MAX_DEPTH;
    // The scanner counts flow nesting on its own, ahead of the parser; the same limit keeps
    // `[[[[…` and block nesting under one rule.
    b.flow_nesting_limit = MAX_DEPTH;
    b.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    b.max_recorded_anchor_bytes = MAX_ANCHOR_BYTES;
    // A ratio of aliases to anchors rejects one anchor reused 100 times in a long file; what
    // reuse costs is already counted by the node and event budgets.
    b.enforce_alias_anchor_ratio = false;
    b
}

/// A sentence for an error that is a limit rather than bad syntax: which limit, its value,
/// what the file had, and what to do.
fn limit_error(
    e: &serde_saphyr::Error,
    bytes: usize,
    aliases: usize,
) -> Option<(&'static str, String, &'static str)> {
    use serde_saphyr::budget::BudgetBreach as B;
    use serde_saphyr::Error as E;
    const SPLIT: &str = "split the file into smaller ones";
    const BOMB: &str = "write the repeated parts out instead of nesting aliases: an alias bomb makes a few lines expand into millions of values";
    const DEEP: &str = "flatten the structure; Kubernetes objects nest far less deeply";
    let size = format!("the limit for a file of {} bytes", thousands(bytes));
    let b = budget(bytes);
    let bomb = "this looks like an alias bomb";
    // Aliases can multiply values and text; without any, only the file's own size counts.
    let expanded = aliases > 0;
    let mut inner = e;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = inner {
        inner = error;
    }
    Some(match inner {
        E::Budget { breach, .. } => match breach {
            B::Nodes { .. } if expanded => (
                "AliasBudget",
                format!(
                    "anchors and aliases expand the file to more than {} values (scalars, lists and maps), {size}: {bomb}",
                    thousands(b.max_nodes)
                ),
                BOMB,
            ),
            B::Nodes { .. } => (
                "YamlBudget",
                format!(
                    "the file holds more than {} values (scalars, lists and maps), {size}",
                    thousands(b.max_nodes)
                ),
                SPLIT,
            ),
            B::Events { .. } if expanded => (
                "AliasBudget",
                format!(
                    "anchors and aliases expand the file to more than {} parser events, {size}: {bomb}",
                    thousands(b.max_events)
                ),
                BOMB,
            ),
            B::Events { .. } => (
                "YamlBudget",
                format!(
                    "the file takes more than {} parser events (one per value and per end of a list or map), {size}",
                    thousands(b.max_events)
                ),
                SPLIT,
            ),
            // Without aliases scalars hold at most the file's bytes: a file smaller than the
            // limit breaks it only by repeating text.
            B::ScalarBytes { .. } if bytes <= MAX_SCALAR_BYTES => (
                "AliasBudget",
                format!(
                    "anchors and aliases repeat text to more than {} MiB of scalars, the limit per file: {bomb}",
                    MAX_SCALAR_BYTES >> 20
                ),
                BOMB,
            ),
            B::ScalarBytes { .. } => (
                "YamlBudget",
                format!(
                    "the file's strings and other scalars add up to more than {} MiB here, the limit per file",
                    MAX_SCALAR_BYTES >> 20
                ),
                "split the file, or move large data out of the manifests",
            ),
            B::Depth { .. } => (
                "YamlBudget",
                format!("lists and maps nest more than {MAX_DEPTH} levels deep here, the limit"),
                DEEP,
            ),
            B::Documents { .. } => (
                "YamlBudget",
                format!(
                    "the file has more than {} documents, {size}",
                    thousands(b.max_documents)
                ),
                SPLIT,
            ),
            B::Aliases { .. } => (
                "AliasBudget",
                format!(
                    "the file uses more than {} aliases (`*name`), {size}",
                    thousands(b.max_aliases)
                ),
                SPLIT,
            ),
            B::Anchors { .. } => (
                "AliasBudget",
                format!(
                    "the file defines more than {} anchors (`&name`), {size}",
                    thousands(b.max_anchors)
                ),
                SPLIT,
            ),
            B::MergeKeys { .. } => (
                "AliasBudget",
                format!(
                    "the file has more than {} merge keys (`<<`), {size}",
                    thousands(b.max_merge_keys)
                ),
                SPLIT,
            ),
            B::AliasAnchorRatio { aliases, anchors } => (
                "AliasBudget",
                format!(
                    "the file uses {} aliases for {} anchors: {bomb}",
                    thousands(*aliases),
                    thousands(*anchors)
                ),
                BOMB,
            ),
            B::RecordedAnchorEvents { .. } => (
                "AliasBudget",
                format!(
                    "anchored values kept for reuse exceed {} parser events, {size}: {bomb}",
                    thousands(b.max_recorded_anchor_events)
                ),
                BOMB,
            ),
            B::RecordedAnchorBytes { .. } => (
                "AliasBudget",
                format!(
                    "anchored values kept for reuse exceed {} MiB of text, the limit per file: {bomb}",
                    MAX_ANCHOR_BYTES >> 20
                ),
                BOMB,
            ),
            B::SequenceUnbalanced => (
                "YamlSyntax",
                "lists and maps do not close in the order they open".to_owned(),
                "fix the YAML syntax at this position",
            ),
            // Includes, properties and reader input are not used here.
            _ => (
                "YamlBudget",
                "the file exceeds one of the YAML parser's limits".to_owned(),
                SPLIT,
            ),
        },
        E::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => (
            "AliasBudget",
            format!(
                "aliases replay more than {} parser events, the limit per file: {bomb}",
                thousands(*max_total_replayed_events)
            ),
            BOMB,
        ),
        E::AliasReplayStackDepthExceeded { max_depth, .. } => (
            "AliasBudget",
            format!(
                "aliases nest more than {max_depth} deep (an alias inside an anchored value inside an alias…): {bomb}"
            ),
            BOMB,
        ),
        E::AliasExpansionLimitExceeded {
            max_expansions_per_anchor,
            ..
        } => (
            "AliasBudget",
            format!(
                "one anchor is expanded more than {} times: {bomb}",
                thousands(*max_expansions_per_anchor)
            ),
            BOMB,
        ),
        E::ExternalMessage { source, .. } => match source.as_ref() {
            serde_saphyr::ExternalMessageSource::Parser(scan)
                if matches!(
                    scan.kind(),
                    serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded
                ) =>
            {
                (
                    "YamlBudget",
                    format!(
                        "lists and maps nest more than {MAX_DEPTH} levels deep here, the limit"
                    ),
                    DEEP,
                )
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The documents of a stream as JSON, each with the position where it starts. This is the
/// fast path; documents JSON cannot hold directly (non-string keys, non-finite floats) and
/// every error go through the span tree, which knows how to convert or where to point.
pub fn parse_values(text: &str) -> Result<Vec<(u32, u32, Value)>, ParseError> {
    let fast = serde_saphyr::from_str_multiple_with_options::<Spanned<Value>, Vec<Spanned<Value>>>(
        text,
        options(text.len()),
    );
    if let Ok(docs) = fast {
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        return Ok(docs
            .into_iter()
            .map(|d| {
                (
                    clamp(d.referenced.line()),
                    clamp(d.referenced.column()),
                    d.value,
                )
            })
            .collect());
    }
    let nodes = parse_multi(text)?;
    nodes
        .iter()
        .map(|n| {
            n.to_json()
                .map(|v| (n.line, n.col, v))
                .map_err(|(line, col, message)| ParseError {
                    code: "InvalidValue",
                    line,
                    col,
                    message,
                    help: "Kubernetes objects are JSON: use string keys and finite numbers",
                })
        })
        .collect()
}

fn options(bytes: usize) -> Options {
    let mut opts = Options::default();
    opts.duplicate_keys = DuplicateKeyPolicy::Error;
    opts.budget = Some(budget(bytes));
    // Replayed events are pure expansion: the fixed allowance, not a share of the size.
    opts.alias_limits.max_total_replayed_events = ALIAS_EVENTS;
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_documents() {
        let docs =
            parse_multi("a: 1\nb:\n  - x\n  - {c: yes, d: '0755'}\n---\nfoo: bar\n---\n# empty\n")
                .unwrap();
        assert_eq!(docs.len(), 2);
        let n = docs[0].locate(&["b".into(), 1.into(), "d".into()]);
        assert_eq!((n.line, n.col), (4, 17));
        assert_eq!(n.value, Yaml::Str("0755".into()));
        let c = docs[0].locate(&["b".into(), 1.into(), "c".into()]);
        assert_eq!(
            c.value,
            Yaml::Bool(true),
            "YAML 1.1 booleans are booleans, as Kubernetes reads them"
        );
        let missing = docs[0].locate(&["b".into(), 7.into()]);
        assert_eq!((missing.line, missing.col), (3, 3));
    }

    #[test]
    fn fast_path_matches_span_tree() {
        let text = "a: 1\nb: [x, {c: yes}]\n---\n# only a comment\n---\n1: one\nz: 1.5\n";
        let fast = parse_values(text).unwrap();
        let slow: Vec<(u32, u32, Value)> = parse_multi(text)
            .unwrap()
            .iter()
            .map(|n| (n.line, n.col, n.to_json().unwrap()))
            .collect();
        assert_eq!(fast, slow);
        assert_eq!(
            fast[1].2["1"], "one",
            "non-string keys become strings, as sigs.k8s.io/yaml does"
        );
    }

    #[test]
    fn duplicate_key() {
        let e = parse_multi("a: 1\nb: 2\na: 2\n").unwrap_err();
        assert_eq!((e.code, e.line, e.col), ("DuplicateKey", 3, 1));
        assert_eq!(e.message, "duplicate mapping key: a");
    }

    /// Nine anchors, each a list of nine aliases of the one before: 9^9 values.
    fn billion_laughs() -> String {
        let mut src = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
        for (i, c) in ["b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f", "g"][i];
            src.push_str(&format!(
                "{c}: &{c} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
        }
        src
    }

    /// A budget error says what limit, how big, and what to do; never serde's `Debug` text.
    fn assert_sentence(e: &ParseError) {
        for bad in ["{", "}", "Budget", "breached"] {
            assert!(!e.message.contains(bad), "{bad:?} in {:?}", e.message);
        }
        assert!(!e.help.is_empty());
    }

    #[test]
    fn alias_bomb_hits_budget() {
        let src = billion_laughs();
        let e = parse_multi(&src).unwrap_err();
        assert_eq!(e.code, "AliasBudget");
        assert_eq!(
            e.message,
            format!(
                "anchors and aliases expand the file to more than {} values (scalars, lists and \
                 maps), the limit for a file of {} bytes: this looks like an alias bomb",
                thousands(250_000 + 2 * src.len()),
                src.len()
            )
        );
        assert_sentence(&e);
        assert_eq!(
            parse_values(&src).unwrap_err(),
            e,
            "both paths report alike"
        );
    }

    /// Room grows with the file's size only for what the text spells out: padding a bomb with
    /// comments does not let it expand further.
    #[test]
    fn padding_buys_a_bomb_nothing() {
        let src = format!("{}{}", "# padding\n".repeat(50_000), billion_laughs());
        let e = parse_multi(&src).unwrap_err();
        assert_eq!(e.code, "AliasBudget");
        assert_eq!(
            e.message,
            "aliases replay more than 1,000,000 parser events, the limit per file: this looks \
             like an alias bomb"
        );
        assert_sentence(&e);
    }

    #[test]
    fn nesting_is_capped_at_64_levels() {
        // The span tree recurses once per level: a debug build needs more than a test
        // thread's 2 MiB for 64 levels, as much as aimc's own workers get.
        let run = || {
            let sentence = "lists and maps nest more than 64 levels deep here, the limit";
            let flow = format!("k: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
            let block: String = (0..100)
                .map(|i| format!("{}k:\n", "  ".repeat(i)))
                .collect();
            let flow_map = format!("k: {}1{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
            for src in [flow, block, flow_map] {
                let e = parse_values(&src).unwrap_err();
                assert_eq!((e.code, e.message.as_str()), ("YamlBudget", sentence));
                assert_sentence(&e);
            }
            let ok = format!("k: {}{}\n", "[".repeat(60), "]".repeat(60));
            parse_multi(&ok).unwrap();
        };
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    /// The count of documents grows with the file: twice the 1,024 serde-saphyr allows.
    #[test]
    fn a_long_stream_of_small_documents_loads() {
        let text: String = (0..2_048)
            .map(|i| format!("---\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"))
            .collect();
        assert_eq!(parse_values(&text).unwrap().len(), 2_048);
        assert_eq!(parse_multi(&text).unwrap().len(), 2_048);
    }

    /// One anchor reused far more than ten times (serde-saphyr's alias/anchor ratio) is
    /// ordinary reuse, bounded by the node budget like any expansion.
    #[test]
    fn one_anchor_reused_many_times_loads() {
        let mut text = String::from("base: &b {team: a, tier: gold}\nuses:\n");
        for _ in 0..500 {
            text.push_str("  - *b\n");
        }
        let docs = parse_values(&text).unwrap();
        assert_eq!(docs[0].2["uses"][499]["tier"], "gold");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(250_792), "250,792");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_multi("a: [1\n").unwrap_err();
        assert_eq!((e.code, e.line, e.col), ("YamlSyntax", 1, 4));
        let e = parse_multi("a:\n\t- b\n").unwrap_err();
        assert_eq!((e.code, e.line), ("YamlSyntax", 2));
    }
}
