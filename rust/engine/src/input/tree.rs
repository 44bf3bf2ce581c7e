//! Pipeline objects as the shim encodes them: a neutral tree of values (no JSON, no
//! PowerShell types), read here through the same serde visitor as JSON text.
//!
//! Encoding, all integers little-endian:
//! ```text
//! node := tag:u8 payload
//!   0 null            1 false            2 true
//!   3 i64             4 f64
//!   5 string          u32 byte length, UTF-8 bytes
//!   6 date-time       i64 .NET ticks, UTC
//!   7 list            u32 count, node*
//!   8 map             u32 count, (u32 key length, UTF-8 key, node)*
//!   9 unreadable      u32 UnreadableReason, u32 byte length, UTF-8 words (the shim could not
//!                     read this value: the code says why, the words tell the user)
//! ```
//! A batch is a sequence of top-level nodes, one per pipeline object.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::time::{format_iso, from_dotnet_ticks};
use crate::vocabulary::{ObjectBatchTag, UnreadableReason};

// The tags, named once in the vocabulary (which the shim's twin is generated from).
pub const TAG_NULL: u8 = ObjectBatchTag::Null as u8;
pub const TAG_FALSE: u8 = ObjectBatchTag::False as u8;
pub const TAG_TRUE: u8 = ObjectBatchTag::True as u8;
pub const TAG_INT: u8 = ObjectBatchTag::Int as u8;
pub const TAG_FLOAT: u8 = ObjectBatchTag::Float as u8;
pub const TAG_STRING: u8 = ObjectBatchTag::String as u8;
pub const TAG_DATETIME: u8 = ObjectBatchTag::DateTime as u8;
pub const TAG_LIST: u8 = ObjectBatchTag::List as u8;
pub const TAG_MAP: u8 = ObjectBatchTag::Map as u8;
pub const TAG_UNREADABLE: u8 = ObjectBatchTag::Unreadable as u8;

/// Deeper trees are refused as a malformed batch; the shim stops at a lower depth.
const MAX_DEPTH: usize = 200;

#[derive(Clone, Debug, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    DateTime(i64),
    List(Vec<Node<'a>>),
    Map(Vec<(&'a str, Node<'a>)>),
    /// A value the shim could not read: why, and the words for the user.
    Unreadable(UnreadableReason, &'a str),
}

/// The batch buffer itself is malformed: a fault in the caller, not in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFormatError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for BatchFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed object batch at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for BatchFormatError {}

/// Reads top-level nodes one after another.
pub struct BatchReader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The deepest nesting of lists and maps in the node being read.
    deepest: usize,
}

impl<'a> BatchReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BatchReader { buf, pos: 0, deepest: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn next_node(&mut self) -> Result<Node<'a>, BatchFormatError> {
        self.node(0)
    }

    /// The next node, and how deep its lists and maps nest (a map of scalars is 1, as a JSON
    /// object of scalars is).
    pub fn next_node_with_depth(&mut self) -> Result<(Node<'a>, u64), BatchFormatError> {
        self.deepest = 0;
        let node = self.node(0)?;
        Ok((node, self.deepest as u64))
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, BatchFormatError> {
        Err(BatchFormatError { offset: self.pos, reason })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], BatchFormatError> {
        if self.buf.len() - self.pos < n {
            return self.fail("truncated");
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u32(&mut self) -> Result<usize, BatchFormatError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn i64(&mut self) -> Result<i64, BatchFormatError> {
        let b = self.take(8)?;
        Ok(i64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn str(&mut self) -> Result<&'a str, BatchFormatError> {
        let len = self.u32()?;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s),
            Err(_) => self.fail("string is not UTF-8"),
        }
    }

    fn node(&mut self, depth: usize) -> Result<Node<'a>, BatchFormatError> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deep");
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            TAG_NULL => Node::Null,
            TAG_FALSE => Node::Bool(false),
            TAG_TRUE => Node::Bool(true),
            TAG_INT => Node::Int(self.i64()?),
            TAG_FLOAT => Node::Float(f64::from_bits(self.i64()? as u64)),
            TAG_STRING => Node::Str(self.str()?),
            TAG_DATETIME => Node::DateTime(self.i64()?),
            TAG_LIST => {
                self.deepest = self.deepest.max(depth + 1);
                let count = self.u32()?;
                // Every node takes at least one byte: a count larger than what is left is a lie.
                if count > self.buf.len() - self.pos {
                    return self.fail("list count exceeds the batch");
                }
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.node(depth + 1)?);
                }
                Node::List(items)
            }
            TAG_MAP => {
                self.deepest = self.deepest.max(depth + 1);
                let count = self.u32()?;
                if count > self.buf.len() - self.pos {
                    return self.fail("map count exceeds the batch");
                }
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    let key = self.str()?;
                    entries.push((key, self.node(depth + 1)?));
                }
                Node::Map(entries)
            }
            TAG_UNREADABLE => {
                let code = self.u32()?;
                let Some(reason) = u32::try_from(code).ok().and_then(UnreadableReason::from_code) else {
                    return self.fail("unknown unreadable reason");
                };
                Node::Unreadable(reason, self.str()?)
            }
            _ => return self.fail("unknown tag"),
        })
    }
}

/// Errors raised while reading a node tree as a record.
#[derive(Debug)]
pub struct NodeError {
    pub message: String,
    /// Set when the error is a value the shim could not read: why, as the shim said it.
    pub unreadable: Option<UnreadableReason>,
}

impl NodeError {
    pub fn new(message: impl Into<String>) -> NodeError {
        NodeError { message: message.into(), unreadable: None }
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NodeError {}

impl de::Error for NodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NodeError::new(msg.to_string())
    }
}

/// A serde deserializer over a node; strings are lent with the batch's lifetime.
pub struct NodeDeserializer<'a, 'n> {
    node: &'n Node<'a>,
}

impl<'a, 'n> NodeDeserializer<'a, 'n> {
    pub fn new(node: &'n Node<'a>) -> Self {
        NodeDeserializer { node }
    }
}

impl<'de, 'n> Deserializer<'de> for NodeDeserializer<'de, 'n> {
    type Error = NodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.node {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Int(i) => visitor.visit_i64(*i),
            Node::Float(f) => visitor.visit_f64(*f),
            Node::Str(s) => visitor.visit_borrowed_str(s),
            Node::DateTime(ticks) => match from_dotnet_ticks(*ticks) {
                Some(time) => visitor.visit_string(format_iso(&time)),
                None => Err(NodeError::new(format!("date-time ticks {ticks} are out of range"))),
            },
            Node::List(items) => visitor.visit_seq(NodeSeq { iter: items.iter() }),
            Node::Map(entries) => visitor.visit_map(NodeMap { iter: entries.iter(), value: None }),
            Node::Unreadable(reason, words) => {
                Err(NodeError { message: format!("a value could not be read: {words}"), unreadable: Some(*reason) })
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.node {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// Values the record does not use are skipped unread, so an unreadable one costs nothing.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier
    }
}

struct NodeSeq<'a, 'n> {
    iter: std::slice::Iter<'n, Node<'a>>,
}

impl<'a, 'n> SeqAccess<'a> for NodeSeq<'a, 'n> {
    type Error = NodeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, NodeError> {
        match self.iter.next() {
            Some(node) => seed.deserialize(NodeDeserializer::new(node)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct NodeMap<'a, 'n> {
    iter: std::slice::Iter<'n, (&'a str, Node<'a>)>,
    value: Option<&'n Node<'a>>,
}

impl<'a, 'n> MapAccess<'a> for NodeMap<'a, 'n> {
    type Error = NodeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, NodeError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, NodeError> {
        let value = self.value.take().ok_or_else(|| NodeError::new("value asked before key"))?;
        seed.deserialize(NodeDeserializer::new(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Builds batches in the shim's encoding; used by tests and benchmarks on the Rust side.
#[derive(Default)]
pub struct BatchWriter {
    pub buf: Vec<u8>,
}

impl BatchWriter {
    pub fn null(&mut self) -> &mut Self {
        self.buf.push(TAG_NULL);
        self
    }
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(if v { TAG_TRUE } else { TAG_FALSE });
        self
    }
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.buf.push(TAG_INT);
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn float(&mut self, v: f64) -> &mut Self {
        self.buf.push(TAG_FLOAT);
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
        self
    }
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.buf.push(TAG_STRING);
        self.raw_str(v);
        self
    }
    pub fn datetime(&mut self, ticks: i64) -> &mut Self {
        self.buf.push(TAG_DATETIME);
        self.buf.extend_from_slice(&ticks.to_le_bytes());
        self
    }
    pub fn list(&mut self, count: u32) -> &mut Self {
        self.buf.push(TAG_LIST);
        self.buf.extend_from_slice(&count.to_le_bytes());
        self
    }
    pub fn map(&mut self, count: u32) -> &mut Self {
        self.buf.push(TAG_MAP);
        self.buf.extend_from_slice(&count.to_le_bytes());
        self
    }
    /// A map key; the value follows with another call.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.raw_str(key);
        self
    }
    pub fn unreadable(&mut self, reason: UnreadableReason, words: &str) -> &mut Self {
        self.buf.push(TAG_UNREADABLE);
        self.buf.extend_from_slice(&reason.code().to_le_bytes());
        self.raw_str(words);
        self
    }
    fn raw_str(&mut self, v: &str) {
        self.buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(v.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::raw::{RawFields, Scalar};
    use serde::Deserialize;

    #[test]
    fn round_trip_through_the_visitor() {
        let mut w = BatchWriter::default();
        w.map(3)
            .key("Operation")
            .string("MailItemsAccessed")
            .key("OperationCount")
            .int(3)
            .key("Ignored")
            .unreadable(UnreadableReason::InvalidUtf16, "invalid UTF-16");
        let mut reader = BatchReader::new(&w.buf);
        let node = reader.next_node().unwrap();
        assert!(reader.is_empty());
        let raw = RawFields::deserialize(NodeDeserializer::new(&node)).unwrap();
        assert_eq!(raw.operation, Some(Scalar::Str("MailItemsAccessed".into())));
        assert_eq!(raw.operation_count, Some(Scalar::Int(3)));
    }

    #[test]
    fn unreadable_values_in_used_fields_are_errors() {
        let mut w = BatchWriter::default();
        w.map(1).key("ClientIPAddress").unreadable(UnreadableReason::InvalidUtf16, "invalid UTF-16 at char 3");
        let node = BatchReader::new(&w.buf).next_node().unwrap();
        let err = RawFields::deserialize(NodeDeserializer::new(&node)).unwrap_err();
        assert!(err.to_string().contains("invalid UTF-16"), "{err}");
        // The reason is the code the shim sent, not read from the words.
        assert_eq!(err.unreadable, Some(UnreadableReason::InvalidUtf16));
    }

    #[test]
    fn an_unreadable_node_carries_its_reason_code() {
        let mut w = BatchWriter::default();
        w.unreadable(UnreadableReason::TooDeep, "words that say nothing the engine reads");
        assert_eq!(
            BatchReader::new(&w.buf).next_node().unwrap(),
            Node::Unreadable(UnreadableReason::TooDeep, "words that say nothing the engine reads")
        );
        let mut bad = vec![TAG_UNREADABLE];
        bad.extend_from_slice(&99u32.to_le_bytes());
        bad.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(BatchReader::new(&bad).next_node().unwrap_err().reason, "unknown unreadable reason");
    }

    #[test]
    fn malformed_batches_are_refused() {
        let mut w = BatchWriter::default();
        w.map(2).key("a").null();
        assert_eq!(BatchReader::new(&w.buf).next_node().unwrap_err().reason, "truncated");
        let lying = [TAG_LIST, 0xff, 0xff, 0xff, 0x7f];
        assert!(BatchReader::new(&lying).next_node().is_err());
        assert!(BatchReader::new(&[42]).next_node().is_err());
        let bad_utf8 = [TAG_STRING, 1, 0, 0, 0, 0xff];
        assert!(BatchReader::new(&bad_utf8).next_node().is_err());
    }

    #[test]
    fn datetimes_read_as_utc_text() {
        let mut w = BatchWriter::default();
        w.map(1).key("CreationDate").datetime(637_635_079_271_234_567);
        let node = BatchReader::new(&w.buf).next_node().unwrap();
        let raw = RawFields::deserialize(NodeDeserializer::new(&node)).unwrap();
        assert_eq!(raw.creation_date, Some(Scalar::Str("2021-08-02T13:32:07.1234567Z".into())));
    }
}
