//! YAML documents from JSON values, byte-identical to `serde_saphyr::to_string`.
//!
//! serde-saphyr decides every scalar's style (plain, quoted, folded, literal) and is the
//! reference. Driving it through serde costs about a microsecond per node, which at
//! monorepo scale was a third of aimc's run time, while the structure of a JSON value in
//! saphyr's block style is simple: two-space indent, sequences flush with their key,
//! `{}` / `[]` for empty collections. So this module writes the structure itself and takes
//! each string's spelling from saphyr, remembered per string: saphyr chooses a style from
//! the string alone, and only the body of a block scalar depends on where it sits. Whatever
//! this module does not cover (block scalars, floats, sequences directly inside sequences)
//! sends the whole document to saphyr. A property test holds the two to the same bytes.

use foldhash::fast::FixedState;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// Remembered spellings per thread; cleared when full so memory stays bounded.
const MEMO_CAPACITY: usize = 1 << 16;

thread_local! {
    /// The document being written, reused: each finished document is copied out at its
    /// exact size, so tens of thousands of kept documents carry no growth slack.
    static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// One object as a YAML document (without the `---` separator).
pub fn document(v: &Value) -> Result<String, serde_saphyr::ser::Error> {
    let fast = BUFFER.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        fast_document(v, &mut buf).map(|()| buf.as_str().to_owned())
    });
    match fast {
        Some(text) => Ok(text),
        None => serde_saphyr::to_string(v),
    }
}

/// Appends `v` as a document to `out`; `None` (with `out` unspecified) when `v` needs saphyr.
fn fast_document(v: &Value, out: &mut String) -> Option<()> {
    match v {
        Value::Object(m) if !m.is_empty() => map(m, 0, false, out),
        Value::Array(a) if !a.is_empty() => seq(a, 0, out),
        _ => {
            scalar(v, out)?;
            out.push('\n');
            Some(())
        }
    }
}

pub(super) fn indent(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A block mapping at `depth`; `inline_first`: the first key follows a `- ` already written.
fn map(m: &Map<String, Value>, depth: usize, inline_first: bool, out: &mut String) -> Option<()> {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(depth, out);
        }
        string(k, Position::Key, out)?;
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push_str(":\n");
                map(inner, depth + 2, false, out)?;
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(":\n");
                seq(items, depth, out)?;
            }
            _ => {
                out.push_str(": ");
                scalar(v, out)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

/// A block sequence whose dashes sit at `depth`.
fn seq(items: &[Value], depth: usize, out: &mut String) -> Option<()> {
    for item in items {
        indent(depth, out);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => map(m, depth + 2, true, out)?,
            Value::Array(a) if !a.is_empty() => return None,
            _ => {
                scalar(item, out)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

/// Scalars and empty collections, which saphyr writes in flow style.
fn scalar(v: &Value, out: &mut String) -> Option<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            // Integers print the same everywhere; floats keep saphyr's own formatting.
            if n.is_f64() {
                return None;
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => string(s, Position::Value, out)?,
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        Value::Object(_) | Value::Array(_) => return None,
    }
    Some(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    Key,
    Value,
}

/// Spellings already asked of saphyr, as mapping keys and as values.
/// Keyed with foldhash: the memo is asked for every string that is not obviously plain, and
/// SipHash's resistance to chosen keys buys nothing for a cache that empties when full.
#[derive(Default)]
struct Memo {
    keys: HashMap<Box<str>, Box<str>, FixedState>,
    values: HashMap<Box<str>, Box<str>, FixedState>,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

pub(super) fn string(s: &str, pos: Position, out: &mut String) -> Option<()> {
    // Multi-line strings become literal blocks whose body is indented from the key.
    if s.contains('\n') {
        return None;
    }
    if obviously_plain(s) {
        out.push_str(s);
        return Some(());
    }
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let memo = match pos {
            Position::Key => &mut memo.keys,
            Position::Value => &mut memo.values,
        };
        if let Some(hit) = memo.get(s) {
            out.push_str(hit);
            return Some(());
        }
        let spelled = saphyr_spelling(s, pos)?;
        out.push_str(&spelled);
        if memo.len() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(s.into(), spelled.into_boxed_str());
        Some(())
    })
}

/// A string saphyr always writes plain, key or value: a letter, then letters, digits and
/// `._/-`, and no word YAML 1.1 or a float parser reads as something else (`false`, `null`,
/// `yes`, `off`, `nan`, `inf`, ... in any case). Most keys and many values of Kubernetes
/// objects (`name`, `env`, `TCP`, `dshm`) are such words: they skip the memo and its hash.
fn obviously_plain(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-'))
        && (b.len() > 8 || !SPECIAL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)))
}

/// Words that are no plain string to some reader: YAML 1.1 booleans and null, and what
/// Rust's float parser accepts without a digit.
const SPECIAL_WORDS: [&str; 12] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", "infinity",
];

/// How saphyr spells `s` as a mapping key or value, cut out of a one-entry mapping.
fn saphyr_spelling(s: &str, pos: Position) -> Option<String> {
    let mut probe = Map::new();
    match pos {
        Position::Key => {
            probe.insert(s.to_owned(), Value::Null);
            let text = serde_saphyr::to_string(&Value::Object(probe)).ok()?;
            text.strip_suffix(": null\n").map(str::to_owned)
        }
        Position::Value => {
            probe.insert("k".to_owned(), Value::String(s.to_owned()));
            let text = serde_saphyr::to_string(&Value::Object(probe)).ok()?;
            let spelled = text.strip_prefix("k: ")?.strip_suffix('\n')?;
            // A folded block (a long plain string) is indented from its key.
            (!spelled.contains('\n')).then(|| spelled.to_owned())
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn same(v: &Value) {
        let want = serde_saphyr::to_string(v).expect("saphyr");
        let mut fast = String::new();
        if fast_document(v, &mut fast).is_some() {
            assert_eq!(fast, want, "for {v}");
        }
        assert_eq!(document(v).expect("document"), want, "for {v}");
    }

    #[test]
    fn kubernetes_shapes_take_the_fast_path_and_match_saphyr() {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a.b/c": "yes", "n": "1", "empty": ""},
                         "annotations": {}},
            "spec": {"containers": [{"name": "c", "args": ["--x", "-", "a: b", "#c", "on"],
                                      "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                                      "resources": {"limits": {"cpu": "4", "memory": "8Gi"}}}],
                     "volumes": [], "replicas": 3, "enabled": false, "nothing": null,
                     "nested": [{"matchExpressions": [{"key": "k", "values": ["74a1", "0755"]}]}]}
        });
        let mut fast = String::new();
        assert!(fast_document(&v, &mut fast).is_some());
        same(&v);
    }

    /// What `obviously_plain` claims, saphyr agrees with, as key and as value: every
    /// string of up to three letters, every case of every special word, and (below, by
    /// property) longer words of the whole alphabet.
    #[test]
    fn obviously_plain_strings_are_plain_to_saphyr() {
        let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
        let mut words: Vec<String> = letters.iter().map(char::to_string).collect();
        for _ in 0..2 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.len() == words.last().map_or(0, String::len))
                .flat_map(|w| letters.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        for w in SPECIAL_WORDS {
            // Every mix of cases: 2^len spellings.
            for mask in 0..1u32 << w.len() {
                words.push(
                    w.chars()
                        .enumerate()
                        .map(|(i, c)| match mask >> i & 1 {
                            1 => c.to_ascii_uppercase(),
                            _ => c,
                        })
                        .collect(),
                );
            }
        }
        let mut claimed = 0;
        for w in &words {
            if obviously_plain(w) {
                claimed += 1;
                assert_plain(w);
            }
        }
        assert!(claimed > 140_000, "{claimed} of {} claimed", words.len());
        for w in SPECIAL_WORDS {
            assert!(!obviously_plain(w) && !obviously_plain(&w.to_uppercase()));
        }
    }

    fn assert_plain(w: &str) {
        assert_eq!(
            saphyr_spelling(w, Position::Key).as_deref(),
            Some(w),
            "key {w:?}"
        );
        assert_eq!(
            saphyr_spelling(w, Position::Value).as_deref(),
            Some(w),
            "value {w:?}"
        );
    }

    proptest! {
        #[test]
        fn obviously_plain_words_are_plain_to_saphyr(w in "[a-zA-Z][a-zA-Z0-9._/-]{0,12}") {
            if obviously_plain(&w) {
                assert_plain(&w);
            }
        }
    }

    #[test]
    fn long_quoted_strings_take_the_fast_path() {
        let args = format!("{{\"max-model-len\":8192,\"pad\":\"{}\"}}", "x".repeat(100));
        let v = json!({"env": [{"name": "AIM_ENGINE_ARGS", "value": args}]});
        let mut fast = String::new();
        assert!(fast_document(&v, &mut fast).is_some());
        same(&v);
    }

    #[test]
    fn what_depends_on_the_column_goes_to_saphyr() {
        let long = "word ".repeat(30);
        for v in [
            json!({"a": {"b": long}}),
            json!({"a": [long]}),
            json!({"a": "line one\nline two\n"}),
            json!({"f": 0.5}),
            json!({"a": [[1, 2], []]}),
        ] {
            let mut fast = String::new();
            assert!(fast_document(&v, &mut fast).is_none(), "{v}");
            same(&v);
        }
    }

    fn scalar_string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9._/:# -]{0,12}",
            Just("yes".to_owned()),
            Just("~".to_owned()),
            Just("0x1F".to_owned()),
            Just("1:20".to_owned()),
            Just("2024-01-01".to_owned()),
            Just("---".to_owned()),
            Just("é ü".to_owned()),
            Just("tab\there".to_owned()),
            Just("<<".to_owned()),
            "[ -~]{75,90}",
        ]
    }

    pub(in crate::emit) fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            scalar_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((scalar_string(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn any_value_is_written_as_saphyr_writes_it(v in value()) {
            same(&v);
        }
    }
}
