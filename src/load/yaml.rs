//! YAML documents as a span-carrying tree, so any diagnostic can point at file:line:col.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::{DuplicateKeyPolicy, Options, Spanned};
use std::fmt;

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
/// rejects them) and alias expansion is bounded by the parser's budget.
pub fn parse_multi(text: &str) -> Result<Vec<Node>, ParseError> {
    serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, options()).map_err(|e| {
        let plain = e.without_snippet();
        let (line, col) = plain
            .location()
            .map(|l| (u32::try_from(l.line()).unwrap_or(u32::MAX), u32::try_from(l.column()).unwrap_or(u32::MAX)))
            .unwrap_or((1, 1));
        let raw = plain.to_string();
        // The parser prefixes its own "error: line L column C: "; we print the location ourselves.
        let message = match raw.split_once(": ") {
            Some((_, rest)) if raw.starts_with("error: line ") => {
                rest.split_once(": ").map(|(_, m)| m).unwrap_or(rest).lines().next().unwrap_or(rest).to_owned()
            }
            _ => raw.lines().next().unwrap_or("invalid YAML").to_owned(),
        };
        // The parser appends its own position; we print ours in front.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        let (code, help) = if message.contains("duplicate mapping key") {
            ("DuplicateKey", "remove or rename one of the two keys; Kubernetes rejects duplicate fields")
        } else if message.contains("budget breached: Nodes") || message.contains("alias") || message.contains("Alias") {
            ("AliasBudget", "the document expands too far through anchors and aliases; write it out or simplify it")
        } else if message.contains("budget breached") || message.contains("recursion limit") {
            ("YamlBudget", "the file exceeds the parser's limits (documents per file, nesting depth or scalar size); split or simplify it")
        } else {
            ("YamlSyntax", "fix the YAML syntax at this position")
        };
        ParseError { code, line, col, message: message.split(", set DuplicateKeyPolicy").next().unwrap_or("").to_owned(), help }
    })
}

/// The documents of a stream as JSON, each with the position where it starts. This is the
/// fast path; documents JSON cannot hold directly (non-string keys, non-finite floats) and
/// every error go through the span tree, which knows how to convert or where to point.
pub fn parse_values(text: &str) -> Result<Vec<(u32, u32, Value)>, ParseError> {
    let fast = serde_saphyr::from_str_multiple_with_options::<Spanned<Value>, Vec<Spanned<Value>>>(
        text,
        options(),
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

fn options() -> Options {
    let mut opts = Options::default();
    opts.duplicate_keys = DuplicateKeyPolicy::Error;
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

    #[test]
    fn alias_bomb_hits_budget() {
        let mut src = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
        for (i, c) in ["b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f", "g"][i];
            src.push_str(&format!(
                "{c}: &{c} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
        }
        let e = parse_multi(&src).unwrap_err();
        assert_eq!(e.code, "AliasBudget");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_multi("a: [1\n").unwrap_err();
        assert_eq!((e.code, e.line, e.col), ("YamlSyntax", 1, 4));
        let e = parse_multi("a:\n\t- b\n").unwrap_err();
        assert_eq!((e.code, e.line), ("YamlSyntax", 2));
    }
}
