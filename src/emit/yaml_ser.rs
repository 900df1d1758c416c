//! YAML documents straight from `Serialize` values, byte-identical to [`super::yaml`] on the
//! same value's JSON tree, without building that tree (issue 14: typed output objects).
//!
//! The structure is written as it streams in. A collection does not know whether it is empty
//! until its first entry or its end, and what its parent writes after a key (`:\n`, `: {}`,
//! `: []`) depends on that: so a key is written bare and the value completes the line. What
//! the JSON writer sends to saphyr (block scalars, floats, a sequence directly inside a
//! sequence, non-string keys it cannot spell) makes this writer give up, and the whole value
//! goes the JSON way instead: the same bytes, at the old cost.

use super::yaml::{indent, string, Position};
use serde::ser::{self, Serialize};
use std::cell::RefCell;
use std::fmt;

/// One value as a YAML document (without the `---` separator).
pub fn document<T: Serialize + ?Sized>(v: &T) -> Result<String, super::EmitError> {
    thread_local! {
        /// The document being written, reused: each finished one is copied out at its exact
        /// size, so the tens of thousands kept until the stream is written carry no slack.
        static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
    }
    let written = BUFFER.with(|buf| {
        let mut out = buf.borrow_mut();
        out.clear();
        v.serialize(Ser {
            out: &mut out,
            slot: Slot::Top,
        })
        .map(|()| out.as_str().to_owned())
    });
    match written {
        Ok(text) => Ok(text),
        Err(GiveUp) => {
            let json = serde_json::to_value(v).map_err(|e| super::EmitError(e.to_string()))?;
            super::yaml_document(&json)
        }
    }
}

/// What the writer cannot do itself; never seen outside this module.
#[derive(Debug)]
struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to the JSON writer")
    }
}

impl std::error::Error for GiveUp {}

impl ser::Error for GiveUp {
    fn custom<T: fmt::Display>(_: T) -> Self {
        GiveUp
    }
}

type Result<T = (), E = GiveUp> = std::result::Result<T, E>;

/// Where the next value goes.
#[derive(Clone, Copy)]
enum Slot {
    /// The document itself.
    Top,
    /// After a mapping key written at `depth` (no colon yet).
    MapValue { depth: usize },
    /// After a `- ` whose dash sits at `depth`.
    SeqItem { depth: usize },
}

struct Ser<'a> {
    out: &'a mut String,
    slot: Slot,
}

impl Ser<'_> {
    /// A scalar, or an empty collection in flow style, completing the slot's line.
    fn scalar(self, text: &str) -> Result {
        if let Slot::MapValue { .. } = self.slot {
            self.out.push_str(": ");
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    fn string(self, s: &str) -> Result {
        if let Slot::MapValue { .. } = self.slot {
            self.out.push_str(": ");
        }
        string(s, Position::Value, self.out).ok_or(GiveUp)?;
        self.out.push('\n');
        Ok(())
    }
}

impl<'a> ser::Serializer for Ser<'a> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = SeqSer<'a>;
    type SerializeTuple = SeqSer<'a>;
    type SerializeTupleStruct = SeqSer<'a>;
    type SerializeTupleVariant = ser::Impossible<(), GiveUp>;
    type SerializeMap = MapSer<'a>;
    type SerializeStruct = MapSer<'a>;
    type SerializeStructVariant = ser::Impossible<(), GiveUp>;

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.scalar(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.scalar(&v.to_string())
    }
    // Floats keep saphyr's own spelling, as in the JSON writer.
    fn serialize_f32(self, _: f32) -> Result {
        Err(GiveUp)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(GiveUp)
    }
    fn serialize_char(self, v: char) -> Result {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(GiveUp)
    }
    fn serialize_none(self) -> Result {
        self.scalar("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.scalar("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.scalar("null")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(GiveUp)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SeqSer<'a>> {
        let depth = match self.slot {
            Slot::Top => 0,
            Slot::MapValue { depth } | Slot::SeqItem { depth } => depth,
        };
        Ok(SeqSer {
            out: self.out,
            slot: self.slot,
            depth,
            count: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(GiveUp)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer<'a>> {
        let (depth, inline_first) = match self.slot {
            Slot::Top => (0, false),
            Slot::MapValue { depth } => (depth + 2, false),
            Slot::SeqItem { depth } => (depth + 2, true),
        };
        Ok(MapSer {
            out: self.out,
            slot: self.slot,
            depth,
            inline_first,
            count: 0,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapSer<'a>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(GiveUp)
    }
}

/// A block sequence whose dashes sit at `depth`.
struct SeqSer<'a> {
    out: &'a mut String,
    slot: Slot,
    depth: usize,
    count: usize,
}

impl SeqSer<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        if self.count == 0 {
            match self.slot {
                Slot::MapValue { .. } => self.out.push_str(":\n"),
                // A non-empty sequence directly inside a sequence: saphyr's, as in the JSON
                // writer.
                Slot::SeqItem { .. } => return Err(GiveUp),
                Slot::Top => {}
            }
        }
        self.count += 1;
        indent(self.depth, self.out);
        self.out.push_str("- ");
        v.serialize(Ser {
            out: self.out,
            slot: Slot::SeqItem { depth: self.depth },
        })
    }
    fn finish(self) -> Result {
        if self.count > 0 {
            return Ok(());
        }
        Ser {
            out: self.out,
            slot: self.slot,
        }
        .scalar("[]")
    }
}

impl ser::SerializeSeq for SeqSer<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        self.element(v)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqSer<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        self.element(v)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqSer<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        self.element(v)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// A block mapping whose keys sit at `depth`; `inline_first`: the first key follows a `- `.
struct MapSer<'a> {
    out: &'a mut String,
    slot: Slot,
    depth: usize,
    inline_first: bool,
    count: usize,
}

impl MapSer<'_> {
    fn key(&mut self, key: &str) -> Result {
        if self.count == 0 {
            if let Slot::MapValue { .. } = self.slot {
                self.out.push_str(":\n");
            }
        }
        if self.count > 0 || !self.inline_first {
            indent(self.depth, self.out);
        }
        self.count += 1;
        string(key, Position::Key, self.out).ok_or(GiveUp)
    }
    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        v.serialize(Ser {
            out: self.out,
            slot: Slot::MapValue { depth: self.depth },
        })
    }
    fn finish(self) -> Result {
        if self.count > 0 {
            return Ok(());
        }
        Ser {
            out: self.out,
            slot: self.slot,
        }
        .scalar("{}")
    }
}

impl ser::SerializeMap for MapSer<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key(&key_text(key)?)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result {
        self.value(v)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

impl ser::SerializeStruct for MapSer<'_> {
    type Ok = ();
    type Error = GiveUp;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result {
        self.key(key)?;
        self.value(v)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// A mapping key as serde_json makes it: a string, or an integer's text. Anything else the
/// JSON writer is left to decide.
fn key_text<T: Serialize + ?Sized>(key: &T) -> Result<String> {
    match key.serialize(serde_json::value::Serializer) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(serde_json::Value::Number(n)) if !n.is_f64() => Ok(n.to_string()),
        _ => Err(GiveUp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    fn same(v: &Value) {
        let want = super::super::yaml_document(v).expect("the JSON writer");
        assert_eq!(document(v).expect("this writer"), want, "for {v}");
    }

    #[test]
    fn kubernetes_shapes_and_what_goes_to_saphyr() {
        for v in [
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "p", "labels": {"a.b/c": "yes", "n": "1"}, "annotations": {}},
                   "spec": {"containers": [{"name": "c", "args": ["--x", "a: b", "on"], "env": []}],
                            "volumes": [], "replicas": 3, "nothing": null,
                            "nested": [{}, [], {"k": [{"a": {}}]}]}}),
            json!({"a": "line one\nline two\n"}),
            json!({"f": 0.5}),
            json!({"a": [[1, 2], []]}),
            json!([]),
            json!({}),
            json!("top"),
        ] {
            same(&v);
        }
    }

    /// Typed objects: skipped fields, options, maps with integer keys, enums, newtypes.
    #[test]
    fn structs_write_as_their_json_trees() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        enum Policy {
            IfNotPresent,
        }
        #[derive(Serialize)]
        struct Port(u16);
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Container {
            name: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            image: Option<String>,
            pull: Policy,
            ports: Vec<Port>,
            by_number: BTreeMap<u32, Vec<String>>,
            nothing: Option<bool>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            args: Vec<String>,
        }
        let container = || Container {
            name: "vllm".into(),
            image: None,
            pull: Policy::IfNotPresent,
            ports: vec![Port(8000), Port(8080)],
            by_number: BTreeMap::from([(1, vec!["0755".into()]), (20, vec![])]),
            nothing: None,
            args: Vec::new(),
        };
        let json = |v: &dyn erased_json::Ser| super::super::yaml_document(&v.json()).unwrap();
        let one = container();
        assert_eq!(document(&one).unwrap(), json(&one));
        let list = vec![container(), container()];
        assert_eq!(document(&list).unwrap(), json(&list));
    }

    mod erased_json {
        pub trait Ser {
            fn json(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> serde_json::Value {
                serde_json::to_value(self).expect("serialisable")
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn any_value_is_written_as_the_json_writer_writes_it(v in super::super::yaml::tests::value()) {
            same(&v);
        }
    }
}
