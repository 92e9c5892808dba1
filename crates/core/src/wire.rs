//! The wire format: values as bytes, the one form in which they cross between the core and
//! its host, in both directions (return values, globals, host function arguments and
//! results). `lib/wire.mjs` is its JavaScript half; both backends pass the bytes through
//! untouched, so native and wasm convert values in exactly the same way.
//!
//! Why bytes rather than each wrapper building JS values itself: one encoder and one decoder
//! per language instead of one per backend, and one copy across the boundary instead of a
//! napi or wasm-bindgen call per field (a 1,000-field table crosses as one buffer).
//!
//! ```text
//! values := count:varint value*
//! value  := NIL | FALSE | TRUE
//!         | INTEGER i64-le | FLOAT f64-le
//!         | STRING len:varint byte*          any bytes (Lua strings are not always UTF-8)
//!         | ARRAY n:varint value*n           a Lua sequence 1..n (nils allowed)
//!         | TABLE n:varint (key value)*n     keys: any value but nil; Lua -> host: strings
//!         | FUNCTION index:varint name:STRING-body   host -> Lua only: the host's function #index
//!         | OPAQUE kind:u8                   Lua -> host only: a function, thread or userdata
//!         | OVERSIZED                        host -> Lua only: a value the host found too big
//!                                            for the call's memory limit (not copied)
//! reply  := VALUES values | ERROR message:STRING-body cause:varint | PENDING
//! ```
//! varints are unsigned LEB128. A reply answers a host request (see request.rs); `cause` is
//! the host's id for the error it threw, 0 for none.
//!
//! Nothing here touches Lua: convert.rs moves values between the wire and a Lua stack.

use std::fmt;

pub(crate) const NIL: u8 = 0;
pub(crate) const FALSE: u8 = 1;
pub(crate) const TRUE: u8 = 2;
pub(crate) const INTEGER: u8 = 3;
pub(crate) const FLOAT: u8 = 4;
pub(crate) const STRING: u8 = 5;
pub(crate) const ARRAY: u8 = 6;
pub(crate) const TABLE: u8 = 7;
pub(crate) const FUNCTION: u8 = 8;
pub(crate) const OPAQUE: u8 = 9;
pub(crate) const OVERSIZED: u8 = 10;

/// `OPAQUE` kinds.
pub(crate) const OPAQUE_FUNCTION: u8 = 0;
pub(crate) const OPAQUE_THREAD: u8 = 1;
pub(crate) const OPAQUE_USERDATA: u8 = 2;

/// Reply tags.
pub const REPLY_VALUES: u8 = 0;
pub const REPLY_ERROR: u8 = 1;
pub const REPLY_PENDING: u8 = 2;

/// The `ERROR` reply of a driver that failed to ask its host (a bug, or a JS environment
/// torn down): the script sees a Lua error with this message and no cause.
pub fn error_reply(message: &str) -> Vec<u8> {
    let mut reply = Writer::new();
    reply.tag(REPLY_ERROR).bytes(message.as_bytes()).varint(0);
    reply.into_bytes()
}

/// Builds wire bytes.
#[derive(Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// A writer with room for `bytes` bytes before it grows.
    pub fn with_capacity(bytes: usize) -> Writer {
        Writer {
            bytes: Vec::with_capacity(bytes),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn varint(&mut self, mut n: u64) -> &mut Self {
        while n >= 0x80 {
            self.bytes.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.bytes.push(n as u8);
        self
    }

    pub fn tag(&mut self, tag: u8) -> &mut Self {
        self.bytes.push(tag);
        self
    }

    pub fn nil(&mut self) -> &mut Self {
        self.tag(NIL)
    }

    pub fn boolean(&mut self, b: bool) -> &mut Self {
        self.tag(if b { TRUE } else { FALSE })
    }

    pub fn integer(&mut self, i: i64) -> &mut Self {
        self.tag(INTEGER);
        self.bytes.extend_from_slice(&i.to_le_bytes());
        self
    }

    pub fn float(&mut self, f: f64) -> &mut Self {
        self.tag(FLOAT);
        self.bytes.extend_from_slice(&f.to_le_bytes());
        self
    }

    /// A length-prefixed byte string without a tag (string values, messages, names).
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.varint(bytes.len() as u64);
        self.bytes.extend_from_slice(bytes);
        self
    }

    pub fn string(&mut self, bytes: &[u8]) -> &mut Self {
        self.tag(STRING).bytes(bytes)
    }

    /// Starts an array of `n` values, which follow.
    pub fn array(&mut self, n: usize) -> &mut Self {
        self.tag(ARRAY).varint(n as u64)
    }

    /// Starts a table of `n` key-value pairs, which follow.
    pub fn table(&mut self, n: usize) -> &mut Self {
        self.tag(TABLE).varint(n as u64)
    }

    /// The host's function number `index`, called `name` in messages.
    pub fn function(&mut self, index: u32, name: &str) -> &mut Self {
        self.tag(FUNCTION)
            .varint(index as u64)
            .bytes(name.as_bytes())
    }

    /// A value too big for the call's memory limit, which the host did not copy.
    pub fn oversized(&mut self) -> &mut Self {
        self.tag(OVERSIZED)
    }

    pub(crate) fn opaque(&mut self, kind: u8) -> &mut Self {
        self.tag(OPAQUE).tag(kind)
    }

    /// Starts a sequence of `count` values, which follow.
    pub fn count(&mut self, count: usize) -> &mut Self {
        self.varint(count as u64)
    }

    /// Appends a copy of bytes written before (a value met again: convert.rs).
    pub(crate) fn repeat(&mut self, range: std::ops::Range<usize>) -> &mut Self {
        self.bytes.extend_from_within(range);
        self
    }

    /// Appends the values `other` wrote.
    pub(crate) fn append(&mut self, other: Writer) -> &mut Self {
        self.bytes.extend_from_slice(&other.bytes);
        self
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Malformed wire bytes (a bug in the host's encoder, never a script's doing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed host value ({})", self.0)
    }
}

impl std::error::Error for WireError {}

/// Reads wire bytes. Plain data over borrowed bytes: nothing to drop, so it may live in
/// frames that a Lua error longjmps through.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        let byte = *self.bytes.get(self.pos).ok_or(WireError("truncated"))?;
        self.pos += 1;
        Ok(byte)
    }

    pub fn varint(&mut self) -> Result<u64, WireError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            n |= ((byte & 0x7f) as u64) << shift;
            if byte < 0x80 {
                return Ok(n);
            }
        }
        Err(WireError("varint too long"))
    }

    /// A count or length, which cannot exceed the bytes that are left (each element takes
    /// at least one), so a corrupt length cannot make a caller reserve too much.
    pub fn length(&mut self) -> Result<usize, WireError> {
        let n = self.varint()?;
        if n > (self.bytes.len() - self.pos) as u64 {
            return Err(WireError("length beyond the end"));
        }
        Ok(n as usize)
    }

    fn fixed8(&mut self) -> Result<[u8; 8], WireError> {
        let end = self.pos.checked_add(8).ok_or(WireError("truncated"))?;
        let chunk = self
            .bytes
            .get(self.pos..end)
            .ok_or(WireError("truncated"))?;
        self.pos = end;
        Ok(chunk.try_into().unwrap_or_default())
    }

    pub fn i64(&mut self) -> Result<i64, WireError> {
        self.fixed8().map(i64::from_le_bytes)
    }

    pub fn f64(&mut self) -> Result<f64, WireError> {
        self.fixed8().map(f64::from_le_bytes)
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.length()?;
        let start = self.pos;
        self.pos += len;
        Ok(&self.bytes[start..self.pos])
    }

    /// Byte string that may be absent: its length plus one (0: none), then its bytes.
    pub fn optional_bytes(&mut self) -> Result<Option<&'a [u8]>, WireError> {
        match self.varint()? {
            0 => Ok(None),
            n => {
                let len = usize::try_from(n - 1).map_err(|_| WireError("length beyond the end"))?;
                let end = self
                    .pos
                    .checked_add(len)
                    .filter(|&end| end <= self.bytes.len());
                let end = end.ok_or(WireError("length beyond the end"))?;
                let start = std::mem::replace(&mut self.pos, end);
                Ok(Some(&self.bytes[start..end]))
            }
        }
    }
}

/// A Lua value as plain Rust data: the decoded form of values the core sends to its host.
#[derive(Clone, Debug, PartialEq)]
pub enum LuaValue {
    Nil,
    Boolean(bool),
    Integer(i64),
    Number(f64),
    /// Invalid UTF-8 replaced by U+FFFD.
    String(String),
    /// A table whose keys are exactly 1..=n.
    Array(Vec<LuaValue>),
    /// Any other table; keys are strings, or numbers and booleans written as Lua's `tostring` does.
    Object(Vec<(String, LuaValue)>),
    /// A function, coroutine or userdata, which has no data form: holds its type name.
    Opaque(&'static str),
}

/// Encoded values (`values` above), as the core hands them to its host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values(pub Vec<u8>);

impl Values {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The values as Rust data.
    pub fn decode(&self) -> Result<Vec<LuaValue>, WireError> {
        let mut reader = Reader::new(&self.0);
        let count = reader.length()?;
        (0..count).map(|_| decode_value(&mut reader, 0)).collect()
    }
}

/// Deeper nesting is refused (by both encoders; this guards the decoder's recursion).
pub const MAX_DEPTH: usize = 100;

fn decode_value(reader: &mut Reader, depth: usize) -> Result<LuaValue, WireError> {
    if depth > MAX_DEPTH + 1 {
        return Err(WireError("nested too deep"));
    }
    Ok(match reader.u8()? {
        NIL => LuaValue::Nil,
        FALSE => LuaValue::Boolean(false),
        TRUE => LuaValue::Boolean(true),
        INTEGER => LuaValue::Integer(reader.i64()?),
        FLOAT => LuaValue::Number(reader.f64()?),
        STRING => LuaValue::String(String::from_utf8_lossy(reader.bytes()?).into_owned()),
        ARRAY => {
            let n = reader.length()?;
            LuaValue::Array(
                (0..n)
                    .map(|_| decode_value(reader, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        TABLE => {
            let n = reader.length()?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let key = match decode_value(reader, depth + 1)? {
                    LuaValue::String(key) => key,
                    LuaValue::Integer(i) => i.to_string(),
                    _ => return Err(WireError("table key is not a string")),
                };
                entries.push((key, decode_value(reader, depth + 1)?));
            }
            LuaValue::Object(entries)
        }
        FUNCTION => {
            reader.varint()?;
            reader.bytes()?;
            LuaValue::Opaque("function")
        }
        OPAQUE => LuaValue::Opaque(match reader.u8()? {
            OPAQUE_FUNCTION => "function",
            OPAQUE_THREAD => "thread",
            _ => "userdata",
        }),
        _ => return Err(WireError("unknown tag")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for n in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut w = Writer::new();
            w.varint(n);
            assert_eq!(Reader::new(&w.into_bytes()).varint(), Ok(n));
        }
    }

    #[test]
    fn corrupt_lengths_are_errors() {
        let mut w = Writer::new();
        w.count(1).tag(STRING).varint(1 << 40);
        assert!(Values(w.into_bytes()).decode().is_err());
        assert!(Values(vec![1, 99]).decode().is_err());
        assert!(Values(vec![1, INTEGER, 0]).decode().is_err());
    }
}
