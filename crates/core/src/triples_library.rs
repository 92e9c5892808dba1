//! `State` as RDF triples, in calls whose host gave a triple store (the API of the
//! pubwiki-lua library this project grew from, names and argument order alike):
//!
//! - `State.insert(subject, predicate, object)`,
//! - `State.delete(subject, predicate [, object])` (without `object`: every object),
//! - `State.query({ subject = ..., predicate = ..., object = ... })` (nil fields are
//!   wildcards) -> an array of `{ subject = ..., predicate = ..., object = ... }`,
//! - `State.batchInsert({ { subject = ..., predicate = ..., object = ... }, ... })`,
//! - `State.set(subject, predicate, object)` (replaces every object of the pair),
//! - `State.get(subject, predicate)` -> the object of the first matching triple, or nil.
//!
//! The core checks what Lua alone can check and gives every object one canonical form, so
//! that equal values are equal triples on every store: subjects and predicates are
//! non-empty UTF-8 strings of at most `MAX_NAME` bytes; an object is a term of a `Kind`
//! with a lexical form: a string (a named node when it starts with `resource://`), an
//! integer, a finite float (integers and floats stay apart: `3` and `3.0`), a boolean, or a
//! table of those, written as JSON with its object keys sorted (a table whose keys are
//! exactly 1..n is an array; `{}` is an object). Tables are read raw (no metamethod of the
//! script's runs) and nothing is allocated in Lua while a value is read, so reading can
//! neither be fooled nor raise. What a value's JSON may take is bounded by the call's memory
//! limit, counting `TABLE_COST` per table each time one is written.
//!
//! Requests are host calls of function `TRIPLES` (request.rs): `op`, then the op's strings,
//! each object as two values (its kind, an integer, and its lexical form, a string):
//! `"insert", s, p, kind, lexical`; `"batchInsert"` and four values per triple; `"delete",
//! s, p [, kind, lexical]`; `"set", s, p, kind, lexical`; `"query", s|nil, p|nil,
//! kind|nil, lexical|nil`; `"get", s, p`. Inserts the host certainly takes wait and go in
//! front of the next request, as `"inserted", n` and four values each, or alone when the
//! chunk returns (triple_writes.rs); a reply to a write is two integers, what the call may
//! still write (triples, bytes). The host (lib/triples.mjs) buffers the call's
//! writes until it succeeds, and answers `query` and `get` with rows in the order it
//! defines: wire values `s, p, kind, lexical` per triple (`get`: at most one; `s` and `p`
//! may be nil where the request named them, and are then the request's), or
//! `OVERSIZED` for rows that could not fit in the call's memory. Those become Lua values
//! here, JSON parsed back into tables (an integer stays one, a number with a fraction or an
//! exponent is a float), under the call's memory limit.

use std::ffi::{c_char, c_int, c_void, CStr};

use mlua::ffi;

use crate::call_state::call_state;
use crate::convert::TABLE_COST;
use crate::interrupt::{limit_message, raise_terminated, terminate};
use crate::lua::{lua_bytes, set_functions, Lua};
use crate::numbers;
use crate::outcome::ErrorKind;
use crate::request::{Request, TRIPLES};
use crate::triple_writes::TripleWrites;
use crate::waiting::{self, Reply};
use crate::wire::{self, Reader, Writer, MAX_DEPTH};

/// Longest subject or predicate, in bytes.
const MAX_NAME: usize = 4096;

/// An object's kind, as requests and replies carry it.
const IRI: i64 = 0;
const STRING: i64 = 1;
const INTEGER: i64 = 2;
const DOUBLE: i64 = 3;
const BOOLEAN: i64 = 4;
const JSON: i64 = 5;
/// In replies only: a store of the host's gave no object (nil).
const NIL: i64 = 6;

/// Strings that start with this are named nodes (IRIs), in any position.
const RESOURCE: &[u8] = b"resource://";

/// Sets the global `State` (with `_G` on the stack top).
pub(crate) unsafe fn open(state: Lua) {
    ffi::lua_createtable(state, 0, 6);
    set_functions(
        state,
        -1,
        &[
            (c"insert", insert),
            (c"delete", delete),
            (c"set", set),
            (c"get", get),
        ],
    );
    // The functions that read and make triple tables keep the field names as upvalues
    // (`push_field_names`): interned once, in the state's image, not looked up per use.
    for (name, function) in [
        (c"query", query as unsafe extern "C-unwind" fn(Lua) -> c_int),
        (c"batchInsert", batch_insert),
    ] {
        for field in FIELD_NAMES {
            ffi::lua_pushstring(state, field.as_ptr());
        }
        ffi::lua_pushcclosure(state, function, FIELD_NAMES.len() as c_int);
        ffi::lua_setfield(state, -2, name.as_ptr());
    }
    ffi::lua_setfield(state, -2, c"State".as_ptr());
}

/// A triple table's fields, in the order of the upvalues of `query` and `batchInsert`.
const FIELD_NAMES: [&CStr; 3] = [c"subject", c"predicate", c"object"];

/// Pushes field name `field` (1: subject, 2: predicate, 3: object) from the running
/// function's upvalues (only `query` and `batchInsert` have them).
unsafe fn push_field_name(state: Lua, field: c_int) {
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(field));
}

/// Why an object cannot be stored (an argument error's text).
enum Refusal {
    Invalid(&'static CStr),
    TooBig,
}

/// The subject or predicate at `arg`, borrowed from Lua; raises an argument error for
/// anything else.
unsafe fn check_name<'a>(state: Lua, arg: c_int, function: &CStr, what: &CStr) -> &'a [u8] {
    match name_at(state, arg) {
        Some(name) => name,
        None => {
            ffi::lua_pushfstring(
                state,
                c"%s is a non-empty UTF-8 string of at most 4096 bytes, got %s".as_ptr(),
                what.as_ptr(),
                ffi::luaL_typename(state, arg),
            );
            arg_error(state, arg, function);
            &[]
        }
    }
}

/// The name (subject or predicate) at `idx`, if it is a valid one.
unsafe fn name_at<'a>(state: Lua, idx: c_int) -> Option<&'a [u8]> {
    if ffi::lua_type(state, idx) != ffi::LUA_TSTRING {
        return None;
    }
    let name = lua_bytes(state, idx)?;
    let valid = !name.is_empty() && name.len() <= MAX_NAME && std::str::from_utf8(name).is_ok();
    valid.then_some(name)
}

/// Writes the object at `idx` as (kind, lexical form) to `args`, within `budget` bytes.
unsafe fn write_object(
    state: Lua,
    idx: c_int,
    args: &mut Writer,
    budget: usize,
) -> Result<(), Refusal> {
    let mut lexical = Vec::new();
    let kind = object(state, idx, &mut lexical, budget)?;
    args.integer(kind).string(&lexical);
    Ok(())
}

/// The object at `idx`: its kind, its lexical form appended to `out`.
unsafe fn object(state: Lua, idx: c_int, out: &mut Vec<u8>, budget: usize) -> Result<i64, Refusal> {
    match ffi::lua_type(state, idx) {
        ffi::LUA_TSTRING => {
            let bytes = lua_bytes(state, idx).unwrap_or_default();
            if std::str::from_utf8(bytes).is_err() {
                return Err(Refusal::Invalid(c"a string that is not UTF-8"));
            }
            if bytes.len() > budget {
                return Err(Refusal::TooBig);
            }
            out.extend_from_slice(bytes);
            Ok(if bytes.starts_with(RESOURCE) {
                IRI
            } else {
                STRING
            })
        }
        ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
            out.extend_from_slice(numbers::format_integer(
                ffi::lua_tointeger(state, idx),
                &mut [0; 20],
            ));
            Ok(INTEGER)
        }
        ffi::LUA_TNUMBER => {
            write_float(ffi::lua_tonumber(state, idx), out)?;
            Ok(DOUBLE)
        }
        ffi::LUA_TBOOLEAN => {
            out.extend_from_slice(if ffi::lua_toboolean(state, idx) != 0 {
                b"true"
            } else {
                b"false"
            });
            Ok(BOOLEAN)
        }
        ffi::LUA_TTABLE => {
            let mut json = Json {
                out,
                budget,
                tables: 0,
                path: Vec::new(),
            };
            json.table(state, idx)?;
            Ok(JSON)
        }
        ffi::LUA_TNIL | ffi::LUA_TNONE => Err(Refusal::Invalid(c"nil")),
        ffi::LUA_TFUNCTION => Err(Refusal::Invalid(c"a function")),
        ffi::LUA_TTHREAD => Err(Refusal::Invalid(c"a coroutine")),
        _ => Err(Refusal::Invalid(c"a userdata")),
    }
}

/// A finite float in its shortest form that reads back as itself, always with a fraction
/// or an exponent (`3.0`, `0.1`, `1e21`): valid JSON and xsd:double, and never an integer's.
fn write_float(value: f64, out: &mut Vec<u8>) -> Result<(), Refusal> {
    if !value.is_finite() {
        return Err(Refusal::Invalid(
            c"a number that is not finite (NaN or an infinity)",
        ));
    }
    numbers::write_float_like_js(value, out);
    Ok(())
}

/// A table written as canonical JSON (see the module docs).
struct Json<'a> {
    out: &'a mut Vec<u8>,
    budget: usize,
    /// Tables written so far (each time one is met).
    tables: usize,
    /// The tables being written, outermost first (a cycle is one of them met again).
    path: Vec<*const c_void>,
}

impl Json<'_> {
    fn fits(&self) -> Result<(), Refusal> {
        let used = self
            .out
            .len()
            .saturating_add(self.tables.saturating_mul(TABLE_COST));
        if used > self.budget {
            return Err(Refusal::TooBig);
        }
        Ok(())
    }

    unsafe fn value(&mut self, state: Lua, idx: c_int) -> Result<(), Refusal> {
        match ffi::lua_type(state, idx) {
            ffi::LUA_TSTRING => {
                let bytes = lua_bytes(state, idx).unwrap_or_default();
                self.string(bytes)?;
            }
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
                let digits = &mut [0; 20];
                let integer = numbers::format_integer(ffi::lua_tointeger(state, idx), digits);
                self.out.extend_from_slice(integer);
            }
            ffi::LUA_TNUMBER => write_float(ffi::lua_tonumber(state, idx), self.out)?,
            ffi::LUA_TBOOLEAN => {
                self.out
                    .extend_from_slice(if ffi::lua_toboolean(state, idx) != 0 {
                        b"true"
                    } else {
                        b"false"
                    })
            }
            ffi::LUA_TTABLE => self.table(state, idx)?,
            ffi::LUA_TFUNCTION => return Err(Refusal::Invalid(c"a table that holds a function")),
            ffi::LUA_TTHREAD => return Err(Refusal::Invalid(c"a table that holds a coroutine")),
            _ => return Err(Refusal::Invalid(c"a table that holds a userdata")),
        }
        self.fits()
    }

    fn string(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        if std::str::from_utf8(bytes).is_err() {
            return Err(Refusal::Invalid(
                c"a table that holds a string that is not UTF-8",
            ));
        }
        if self.out.len().saturating_add(bytes.len()) > self.budget {
            return Err(Refusal::TooBig);
        }
        self.out.push(b'"');
        for &byte in bytes {
            match byte {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.out.extend_from_slice(b"\\u00");
                    self.out.push(HEX[(byte >> 4) as usize]);
                    self.out.push(HEX[(byte & 15) as usize]);
                }
                _ => self.out.push(byte),
            }
        }
        self.out.push(b'"');
        Ok(())
    }

    unsafe fn table(&mut self, state: Lua, idx: c_int) -> Result<(), Refusal> {
        let idx = ffi::lua_absindex(state, idx);
        let id = ffi::lua_topointer(state, idx);
        if self.path.contains(&id) {
            return Err(Refusal::Invalid(c"a table that contains itself"));
        }
        if self.path.len() >= MAX_DEPTH || ffi::lua_checkstack(state, 4) == 0 {
            return Err(Refusal::Invalid(c"tables nested deeper than 100 levels"));
        }
        self.tables += 1;
        self.fits()?;
        self.path.push(id);
        let written = self.entries(state, idx);
        self.path.pop();
        written
    }

    /// Writes the entries of the table at `idx`: an array if its keys are exactly 1..n, an
    /// object with sorted keys if they are all strings.
    unsafe fn entries(&mut self, state: Lua, idx: c_int) -> Result<(), Refusal> {
        let (mut count, mut max_index, mut integers, mut strings) = (0usize, 0i64, true, true);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, idx) != 0 {
            ffi::lua_pop(state, 1);
            count += 1;
            match ffi::lua_type(state, -1) {
                ffi::LUA_TNUMBER if ffi::lua_isinteger(state, -1) != 0 => {
                    let i = ffi::lua_tointeger(state, -1);
                    integers &= i >= 1;
                    max_index = max_index.max(i);
                    strings = false;
                }
                ffi::LUA_TSTRING => integers = false,
                _ => {
                    integers = false;
                    strings = false;
                }
            }
        }
        if count == 0 {
            self.out.extend_from_slice(b"{}");
            return Ok(());
        }
        if integers && max_index == count as i64 {
            self.out.push(b'[');
            for i in 1..=count {
                if i > 1 {
                    self.out.push(b',');
                }
                ffi::lua_rawgeti(state, idx, i as ffi::lua_Integer);
                let written = self.value(state, -1);
                ffi::lua_pop(state, 1);
                written?;
            }
            self.out.push(b']');
            return Ok(());
        }
        if !strings {
            return Err(Refusal::Invalid(
                c"a table whose keys are neither all strings nor exactly 1..n",
            ));
        }
        // Each entry's `"key":value` is written where the table iterates it; then, unless
        // they came sorted, the entries are put in key order (the copy counts in the budget).
        let start = self.out.len();
        self.out.push(b'{');
        let mut entries: Vec<(&[u8], usize, usize)> = Vec::with_capacity(count);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, idx) != 0 {
            // Keys are strings the table holds: their bytes stay put while it is read
            // (nothing here allocates in Lua, so no collection runs).
            let key = lua_bytes(state, -2).unwrap_or_default();
            let from = self.out.len();
            let written = self.string(key).and_then(|()| {
                self.out.push(b':');
                self.value(state, -1)
            });
            ffi::lua_pop(state, 1);
            if let Err(why) = written {
                ffi::lua_pop(state, 1);
                return Err(why);
            }
            entries.push((key, from, self.out.len()));
        }
        if !entries.windows(2).all(|pair| pair[0].0 <= pair[1].0) {
            self.tables = self
                .tables
                .saturating_add((self.out.len() - start) / TABLE_COST + 1);
            self.fits()?;
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let mut sorted = Vec::with_capacity(self.out.len() - start + count);
            for (_, from, to) in &entries {
                sorted.push(b',');
                sorted.extend_from_slice(&self.out[*from..*to]);
            }
            self.out.truncate(start + 1);
            self.out.extend_from_slice(&sorted[1..]);
        } else {
            let mut joined = Vec::with_capacity(self.out.len() - start + count);
            for (i, (_, from, to)) in entries.iter().enumerate() {
                if i > 0 {
                    joined.push(b',');
                }
                joined.extend_from_slice(&self.out[*from..*to]);
            }
            self.out.truncate(start + 1);
            self.out.extend_from_slice(&joined);
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// Raises "bad argument #`arg` to '`function`' (<the message on the stack top>)" at the
/// script's line (also through `pcall`, where Lua's own would name no function or line).
unsafe fn arg_error(state: Lua, arg: c_int, function: &CStr) -> c_int {
    let message = ffi::lua_gettop(state);
    ffi::luaL_where(state, waiting::script_level(state));
    ffi::lua_pushfstring(
        state,
        c"bad argument #%d to '%s' (%s)".as_ptr(),
        arg,
        function.as_ptr(),
        ffi::lua_tostring(state, message),
    );
    ffi::lua_concat(state, 2);
    ffi::lua_error(state)
}

/// Raises an argument error for object `arg`: `what` (a prefix such as `triple #3: `, or
/// empty) and why.
unsafe fn raise_refusal(
    state: Lua,
    arg: c_int,
    function: &CStr,
    prefix: &CStr,
    why: Refusal,
) -> c_int {
    match why {
        Refusal::Invalid(why) => ffi::lua_pushfstring(
            state,
            c"%scannot be stored: %s".as_ptr(),
            prefix.as_ptr(),
            why.as_ptr(),
        ),
        Refusal::TooBig => ffi::lua_pushfstring(
            state,
            c"%scannot be stored: it would take more than the memory limit (%I bytes)".as_ptr(),
            prefix.as_ptr(),
            call_state(state).memory_limit as ffi::lua_Integer,
        ),
    };
    arg_error(state, arg, function)
}

/// Sends the request in `args` (wire values, the op first).
unsafe fn ask(state: Lua, name: &str, args: Writer) -> c_int {
    waiting::ask_for_library(
        state,
        TRIPLES,
        name,
        args.into_bytes(),
        c"State used outside the call it belongs to",
    );
    0
}

/// What a request's answer becomes in Lua.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// No results (a write).
    Done,
    /// The rows as an array of triples (`query`, whose pattern's subject and predicate are
    /// at stack indices `PATTERN_SUBJECT` and `PATTERN_PREDICATE`).
    Rows,
    /// The first row's object, or nil (`get`).
    Object,
}

/// The host's answer to the request asked last: results pushed (their number), its error
/// raised, or a wait (then `continuation` takes over).
unsafe fn answer(
    state: Lua,
    resumed: bool,
    name: &'static str,
    what: Answer,
    continuation: ffi::lua_KFunction,
) -> c_int {
    match waiting::reply(state) {
        Reply::Abandoned => waiting::abandoned(state),
        Reply::Values(mut reader) => match what {
            Answer::Done => {
                note_headroom(state, &mut reader);
                call_state(state).reply = None;
                waiting::after_answer(state);
                0
            }
            _ => push_rows(state, &mut reader, what),
        },
        Reply::Error(reader) => waiting::raise_host_error(state, reader),
        Reply::Pending if !resumed => waiting::wait(state, &|| name.to_string(), continuation),
        Reply::Pending | Reply::Malformed => waiting::raise_malformed(state, c"reply"),
    }
}

/// Notes what the host can still take, from its reply to a write (two integers: writes
/// and bytes; triple_writes.rs).
fn note_headroom(state: Lua, reader: &mut Reader) {
    let headroom = (|| {
        (reader.length().ok()? == 2).then_some(())?;
        Some((reply_integer(reader)?, reply_integer(reader)?))
    })();
    let (writes, bytes) = headroom.unwrap_or((0, 0));
    // SAFETY: every state this crate runs carries its CallState.
    let call = unsafe { call_state(state) };
    call.triple_writes
        .set_headroom(writes.max(0) as u64, bytes.max(0) as u64);
}

/// Where `query` keeps its pattern's subject and predicate on the stack, while it waits too
/// (a reply's nil subject or predicate is the pattern's).
const PATTERN_SUBJECT: c_int = 5;
const PATTERN_PREDICATE: c_int = 6;

/// A subject or predicate of a reply's row: its bytes, or `None` for nil (the query named
/// it: the pattern's is the row's).
fn reply_name<'a>(reader: &mut Reader<'a>) -> Option<Option<&'a [u8]>> {
    match reader.u8().ok()? {
        wire::STRING => Some(Some(reader.bytes().ok()?)),
        wire::NIL => Some(None),
        _ => None,
    }
}

/// Pushes a row's subject or predicate: `name`, or (`None`) the pattern's at `index`, which
/// must be a string; false (nothing pushed) if it is not.
unsafe fn push_name(state: Lua, name: Option<&[u8]>, index: c_int) -> bool {
    match name {
        Some(name) => {
            ffi::lua_pushlstring(state, name.as_ptr() as *const c_char, name.len());
        }
        None if ffi::lua_type(state, index) == ffi::LUA_TSTRING => ffi::lua_pushvalue(state, index),
        None => return false,
    };
    true
}

/// A string value of the reply.
fn reply_string<'a>(reader: &mut Reader<'a>) -> Option<&'a [u8]> {
    (reader.u8().ok()? == wire::STRING).then(|| reader.bytes().ok())?
}

/// An integer value of the reply.
fn reply_integer(reader: &mut Reader) -> Option<i64> {
    (reader.u8().ok()? == wire::INTEGER).then(|| reader.i64().ok())?
}

/// Pushes the reply's rows (the reply stays in the call's state until they are made).
unsafe fn push_rows(state: Lua, reader: &mut Reader, what: Answer) -> c_int {
    let count = reader.length().unwrap_or(usize::MAX);
    if count == 1 && reader.clone().u8() == Ok(wire::OVERSIZED) {
        call_state(state).reply = None;
        terminate(state, ErrorKind::Memory);
        return raise_terminated(state, waiting::script_level(state));
    }
    // (Slots for the array, a row, a key and a value; a JSON object checks for its own
    // levels as it is read. Asking for a JSON object's deepest here grew the stack of every
    // call's first query.)
    if count == usize::MAX || !count.is_multiple_of(4) || ffi::lua_checkstack(state, 8) == 0 {
        return waiting::raise_malformed(state, c"reply");
    }
    let rows = count / 4;
    if what == Answer::Object {
        if rows == 0 {
            ffi::lua_pushnil(state);
        } else {
            let object = (|| {
                reply_name(reader)?;
                reply_name(reader)?;
                Some((reply_integer(reader)?, reply_string(reader)?))
            })();
            let Some((kind, lexical)) = object else {
                return waiting::raise_malformed(state, c"reply");
            };
            if !push_object(state, kind, lexical) {
                return waiting::raise_malformed(state, c"value");
            }
        }
        call_state(state).reply = None;
        waiting::after_answer(state);
        return 1;
    }
    ffi::lua_createtable(state, rows.min(c_int::MAX as usize) as c_int, 0);
    for i in 1..=rows {
        let row = (|| {
            let subject = reply_name(reader)?;
            let predicate = reply_name(reader)?;
            Some((
                subject,
                predicate,
                reply_integer(reader)?,
                reply_string(reader)?,
            ))
        })();
        let Some((subject, predicate, kind, lexical)) = row else {
            return waiting::raise_malformed(state, c"reply");
        };
        ffi::lua_createtable(state, 0, 3);
        push_field_name(state, 1);
        if !push_name(state, subject, PATTERN_SUBJECT) {
            return waiting::raise_malformed(state, c"reply");
        }
        ffi::lua_rawset(state, -3);
        push_field_name(state, 2);
        if !push_name(state, predicate, PATTERN_PREDICATE) {
            return waiting::raise_malformed(state, c"reply");
        }
        ffi::lua_rawset(state, -3);
        push_field_name(state, 3);
        if !push_object(state, kind, lexical) {
            return waiting::raise_malformed(state, c"value");
        }
        ffi::lua_rawset(state, -3);
        ffi::lua_rawseti(state, -2, i as ffi::lua_Integer);
    }
    call_state(state).reply = None;
    waiting::after_answer(state);
    1
}

/// Pushes an object of `kind` from its lexical form; false (nothing pushed) if malformed.
unsafe fn push_object(state: Lua, kind: i64, lexical: &[u8]) -> bool {
    match kind {
        IRI | STRING => {
            ffi::lua_pushlstring(state, lexical.as_ptr() as *const c_char, lexical.len());
        }
        INTEGER => match std::str::from_utf8(lexical)
            .ok()
            .and_then(|text| text.parse().ok())
        {
            Some(i) => ffi::lua_pushinteger(state, i),
            None => return false,
        },
        DOUBLE => match parse_float(lexical) {
            Some(f) => ffi::lua_pushnumber(state, f),
            None => return false,
        },
        BOOLEAN => ffi::lua_pushboolean(state, (lexical == b"true") as c_int),
        JSON => {
            let mut parser = JsonParser {
                bytes: lexical,
                pos: 0,
            };
            parser.skip_space();
            let base = ffi::lua_gettop(state);
            if parser.value(state, 0).is_none() || {
                parser.skip_space();
                parser.pos != lexical.len()
            } {
                ffi::lua_settop(state, base);
                return false;
            }
        }
        NIL => ffi::lua_pushnil(state),
        _ => return false,
    }
    true
}

fn parse_float(text: &[u8]) -> Option<f64> {
    match text {
        b"INF" | b"+INF" => Some(f64::INFINITY),
        b"-INF" => Some(f64::NEG_INFINITY),
        b"NaN" => Some(f64::NAN),
        _ => numbers::parse_float(text),
    }
}

/// JSON text to Lua values, pushed as they are read (may raise a memory error: nothing
/// here owns memory). Numbers with a fraction or an exponent are floats, others integers
/// (floats past the integers' range); null is nil.
struct JsonParser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            return Some(());
        }
        None
    }

    /// Pushes the next value (exactly one slot).
    unsafe fn value(&mut self, state: Lua, depth: usize) -> Option<()> {
        self.skip_space();
        match *self.bytes.get(self.pos)? {
            b'{' | b'[' if depth >= MAX_DEPTH || ffi::lua_checkstack(state, 4) == 0 => None,
            b'{' => {
                self.pos += 1;
                ffi::lua_createtable(state, 0, 0);
                if self.eat(b'}') {
                    return Some(());
                }
                loop {
                    self.skip_space();
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return None;
                    }
                    self.string(state)?;
                    if !self.eat(b':') {
                        return None;
                    }
                    self.value(state, depth + 1)?;
                    ffi::lua_rawset(state, -3);
                    if self.eat(b'}') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                ffi::lua_createtable(state, 0, 0);
                if self.eat(b']') {
                    return Some(());
                }
                let mut i = 1;
                loop {
                    self.value(state, depth + 1)?;
                    ffi::lua_rawseti(state, -2, i);
                    i += 1;
                    if self.eat(b']') {
                        return Some(());
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'"' => self.string(state),
            b't' => self
                .literal(b"true")
                .map(|()| ffi::lua_pushboolean(state, 1)),
            b'f' => self
                .literal(b"false")
                .map(|()| ffi::lua_pushboolean(state, 0)),
            b'n' => self.literal(b"null").map(|()| ffi::lua_pushnil(state)),
            _ => self.number(state),
        }
    }

    unsafe fn number(&mut self, state: Lua) -> Option<()> {
        let start = self.pos;
        let mut float = false;
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).ok()?;
        if text.is_empty() {
            return None;
        }
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                ffi::lua_pushinteger(state, i);
                return Some(());
            }
        }
        ffi::lua_pushnumber(state, numbers::parse_float(text.as_bytes())?);
        Some(())
    }

    /// A string (at its opening quote), unescaped.
    unsafe fn string(&mut self, state: Lua) -> Option<()> {
        self.pos += 1;
        let start = self.pos;
        // Plain strings (no escape) are pushed as they are.
        while let Some(&byte) = self.bytes.get(self.pos) {
            match byte {
                b'"' => {
                    let plain = &self.bytes[start..self.pos];
                    self.pos += 1;
                    ffi::lua_pushlstring(state, plain.as_ptr() as *const c_char, plain.len());
                    return Some(());
                }
                b'\\' => break,
                _ => self.pos += 1,
            }
        }
        let mut buffer: ffi::luaL_Buffer = std::mem::zeroed();
        ffi::luaL_buffinit(state, &mut buffer);
        let mut from = start;
        loop {
            let byte = *self.bytes.get(self.pos)?;
            if byte == b'"' {
                add(&mut buffer, &self.bytes[from..self.pos]);
                self.pos += 1;
                ffi::luaL_pushresult(&mut buffer);
                return Some(());
            }
            if byte != b'\\' {
                self.pos += 1;
                continue;
            }
            add(&mut buffer, &self.bytes[from..self.pos]);
            let escape = *self.bytes.get(self.pos + 1)?;
            self.pos += 2;
            let mut utf8 = [0u8; 4];
            let unescaped: &[u8] = match escape {
                b'"' => b"\"",
                b'\\' => b"\\",
                b'/' => b"/",
                b'b' => b"\x08",
                b'f' => b"\x0c",
                b'n' => b"\n",
                b'r' => b"\r",
                b't' => b"\t",
                b'u' => {
                    let mut code = self.hex4()?;
                    if (0xd800..0xdc00).contains(&code)
                        && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                    {
                        let save = self.pos;
                        self.pos += 2;
                        match self.hex4()? {
                            low @ 0xdc00..0xe000 => {
                                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            }
                            _ => self.pos = save,
                        }
                    }
                    char::from_u32(code)
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                        .encode_utf8(&mut utf8)
                        .as_bytes()
                }
                _ => return None,
            };
            add(&mut buffer, unescaped);
            from = self.pos;
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.bytes.get(self.pos..self.pos + 4)?).ok()?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

unsafe fn add(buffer: &mut ffi::luaL_Buffer, bytes: &[u8]) {
    if !bytes.is_empty() {
        ffi::luaL_addlstring(buffer, bytes.as_ptr() as *const c_char, bytes.len());
    }
}

/// The call's budget for one request's values: its memory limit.
unsafe fn budget(state: Lua) -> usize {
    call_state(state).memory_limit
}

/// `State.insert(subject, predicate, object)`: kept to go with the call's next request
/// when the host certainly takes it (triple_writes.rs), else a request now.
unsafe extern "C-unwind" fn insert(state: Lua) -> c_int {
    let (subject, predicate, kind, lexical) = check_triple(state, c"State.insert");
    let writes = &mut call_state(state).triple_writes;
    if writes.wait(subject, predicate, kind, &lexical) {
        drop(lexical);
        if !writes.full() {
            return 0;
        }
        let args = writes.request(0);
        ask(state, "State.insert", args);
        return answer(state, false, "State.insert", Answer::Done, insert_resumed);
    }
    let args = triple_request(writes, b"insert", subject, predicate, kind, lexical);
    ask(state, "State.insert", args);
    answer(state, false, "State.insert", Answer::Done, insert_resumed)
}

/// The request `op subject predicate kind lexical` (insert and set), after the inserts
/// that wait (triple_writes.rs).
fn triple_request(
    writes: &mut TripleWrites,
    op: &[u8],
    subject: &[u8],
    predicate: &[u8],
    kind: i64,
    lexical: Vec<u8>,
) -> Writer {
    let mut args = writes.request(5);
    args.string(op)
        .string(subject)
        .string(predicate)
        .integer(kind)
        .string(&lexical);
    args
}

unsafe extern "C-unwind" fn insert_resumed(state: Lua, _: c_int, _: ffi::lua_KContext) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.insert", Answer::Done, insert_resumed)
}

/// `State.set(subject, predicate, object)`.
unsafe extern "C-unwind" fn set(state: Lua) -> c_int {
    let (subject, predicate, kind, lexical) = check_triple(state, c"State.set");
    let writes = &mut call_state(state).triple_writes;
    let args = triple_request(writes, b"set", subject, predicate, kind, lexical);
    ask(state, "State.set", args);
    answer(state, false, "State.set", Answer::Done, set_resumed)
}

unsafe extern "C-unwind" fn set_resumed(state: Lua, _: c_int, _: ffi::lua_KContext) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.set", Answer::Done, set_resumed)
}

/// The arguments of `insert` and `set`: subject, predicate (borrowed from Lua) and the
/// object's kind and lexical form; raises an argument error for anything else.
unsafe fn check_triple<'a>(state: Lua, function: &CStr) -> (&'a [u8], &'a [u8], i64, Vec<u8>) {
    let subject = check_name(state, 1, function, c"a subject");
    let predicate = check_name(state, 2, function, c"a predicate");
    ffi::lua_settop(state, 3);
    let mut lexical = Vec::new();
    match object(state, 3, &mut lexical, budget(state)) {
        Ok(kind) => (subject, predicate, kind, lexical),
        Err(why) => {
            drop(lexical);
            raise_refusal(state, 3, function, c"object ", why);
            unreachable!("raise_refusal raises")
        }
    }
}

/// `State.delete(subject, predicate [, object])`.
unsafe extern "C-unwind" fn delete(state: Lua) -> c_int {
    let subject = check_name(state, 1, c"State.delete", c"a subject");
    let predicate = check_name(state, 2, c"State.delete", c"a predicate");
    ffi::lua_settop(state, 3);
    let mut object_args = Writer::new();
    let every = ffi::lua_isnil(state, 3) != 0;
    if !every {
        if let Err(why) = write_object(state, 3, &mut object_args, budget(state)) {
            drop(object_args);
            return raise_refusal(state, 3, c"State.delete", c"object ", why);
        }
    }
    let mut args = call_state(state)
        .triple_writes
        .request(if every { 3 } else { 5 });
    args.string(b"delete")
        .string(subject)
        .string(predicate)
        .append(object_args);
    ask(state, "State.delete", args);
    answer(state, false, "State.delete", Answer::Done, delete_resumed)
}

unsafe extern "C-unwind" fn delete_resumed(state: Lua, _: c_int, _: ffi::lua_KContext) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.delete", Answer::Done, delete_resumed)
}

/// `State.get(subject, predicate)`.
unsafe extern "C-unwind" fn get(state: Lua) -> c_int {
    let subject = check_name(state, 1, c"State.get", c"a subject");
    let predicate = check_name(state, 2, c"State.get", c"a predicate");
    ffi::lua_settop(state, 2);
    let mut args = call_state(state).triple_writes.request(3);
    args.string(b"get").string(subject).string(predicate);
    ask(state, "State.get", args);
    answer(state, false, "State.get", Answer::Object, get_resumed)
}

unsafe extern "C-unwind" fn get_resumed(state: Lua, _: c_int, _: ffi::lua_KContext) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.get", Answer::Object, get_resumed)
}

/// Pushes the three field names a triple table is read by (raw, with these keys): at
/// stack indices `top + 1..=top + 3`. Done before anything is owned here (it may allocate).
unsafe fn push_field_names(state: Lua) -> c_int {
    let top = ffi::lua_gettop(state);
    if ffi::lua_checkstack(state, 12) == 0 {
        ffi::luaL_error(state, c"stack overflow".as_ptr());
    }
    for field in 1..=3 {
        push_field_name(state, field);
    }
    top
}

/// Pushes `table[names + field]` read raw (field 1: subject, 2: predicate, 3: object).
unsafe fn raw_field(state: Lua, table: c_int, names: c_int, field: c_int) {
    ffi::lua_pushvalue(state, names + field);
    ffi::lua_rawget(state, table);
}

/// Keeps only argument 1, which must be a table: else raises an argument error with
/// `expected` (a format naming the type given as `%s`).
unsafe fn check_table(state: Lua, function: &CStr, expected: &CStr) {
    ffi::lua_settop(state, 1);
    if ffi::lua_type(state, 1) != ffi::LUA_TTABLE {
        ffi::lua_pushfstring(state, expected.as_ptr(), ffi::luaL_typename(state, 1));
        arg_error(state, 1, function);
    }
}

/// `State.query(pattern)`.
unsafe extern "C-unwind" fn query(state: Lua) -> c_int {
    check_table(
        state,
        c"State.query",
        c"a pattern is a table { subject = ..., predicate = ..., object = ... }, got %s",
    );
    let names = push_field_names(state);
    for field in 1..=3 {
        raw_field(state, 1, names, field);
    }
    // Stack: pattern, 3 names, subject, predicate, object.
    let (subject, predicate, object) = (names + 4, names + 5, names + 6);
    debug_assert_eq!((subject, predicate), (PATTERN_SUBJECT, PATTERN_PREDICATE));
    for (idx, what) in [
        (subject, c"pattern.subject"),
        (predicate, c"pattern.predicate"),
    ] {
        if ffi::lua_isnil(state, idx) == 0 && name_at(state, idx).is_none() {
            ffi::lua_pushfstring(
                state,
                c"%s is nil or a non-empty UTF-8 string of at most 4096 bytes, got %s".as_ptr(),
                what.as_ptr(),
                ffi::luaL_typename(state, idx),
            );
            return arg_error(state, 1, c"State.query");
        }
    }
    // (Checked before the request takes the waiting inserts: a Lua error would drop them.)
    let mut object_args = None;
    if ffi::lua_isnil(state, object) == 0 {
        let mut written = Writer::new();
        if let Err(why) = write_object(state, object, &mut written, budget(state)) {
            drop(written);
            return raise_refusal(state, 1, c"State.query", c"pattern.object ", why);
        }
        object_args = Some(written);
    }
    let mut args = call_state(state).triple_writes.request(5);
    args.string(b"query");
    for idx in [subject, predicate] {
        match name_at(state, idx) {
            Some(name) => args.string(name),
            None => args.nil(),
        };
    }
    match object_args {
        Some(written) => args.append(written),
        None => args.nil().nil(),
    };
    ask(state, "State.query", args);
    answer(state, false, "State.query", Answer::Rows, query_resumed)
}

unsafe extern "C-unwind" fn query_resumed(state: Lua, _: c_int, _: ffi::lua_KContext) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.query", Answer::Rows, query_resumed)
}

/// `State.batchInsert(triples)`: one request for them all.
unsafe extern "C-unwind" fn batch_insert(state: Lua) -> c_int {
    check_table(
        state,
        c"State.batchInsert",
        c"triples is an array of { subject = ..., predicate = ..., object = ... }, got %s",
    );
    let names = push_field_names(state);
    let count = ffi::lua_rawlen(state, 1);
    let budget = budget(state);
    let mut triples = Writer::new();
    let args = &mut triples;
    for i in 1..=count {
        let top = ffi::lua_gettop(state);
        ffi::lua_rawgeti(state, 1, i as ffi::lua_Integer);
        let triple = top + 1;
        let mut from_object = false;
        let refusal = if ffi::lua_type(state, triple) != ffi::LUA_TTABLE {
            Some(Refusal::Invalid(
                c"not a table { subject = ..., predicate = ..., object = ... }",
            ))
        } else {
            for field in 1..=3 {
                raw_field(state, triple, names, field);
            }
            match (name_at(state, triple + 1), name_at(state, triple + 2)) {
                (None, _) => Some(Refusal::Invalid(
                    c"its subject must be a non-empty UTF-8 string of at most 4096 bytes",
                )),
                (_, None) => Some(Refusal::Invalid(
                    c"its predicate must be a non-empty UTF-8 string of at most 4096 bytes",
                )),
                (Some(subject), Some(predicate)) => {
                    args.string(subject).string(predicate);
                    let left = budget.saturating_sub(args.len());
                    from_object = true;
                    write_object(state, triple + 3, args, left).err()
                }
            }
        };
        ffi::lua_settop(state, top);
        if let Some(why) = refusal {
            drop(triples);
            ffi::lua_pushfstring(
                state,
                if from_object {
                    c"triple #%I: its object ".as_ptr()
                } else {
                    c"triple #%I: ".as_ptr()
                },
                i as ffi::lua_Integer,
            );
            let prefix = CStr::from_ptr(ffi::lua_tostring(state, -1));
            return raise_refusal(state, 1, c"State.batchInsert", prefix, why);
        }
    }
    let mut args = call_state(state).triple_writes.request(1 + 4 * count);
    args.string(b"batchInsert").append(triples);
    ask(state, "State.batchInsert", args);
    answer(
        state,
        false,
        "State.batchInsert",
        Answer::Done,
        batch_insert_resumed,
    )
}

unsafe extern "C-unwind" fn batch_insert_resumed(
    state: Lua,
    _: c_int,
    _: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    answer(
        state,
        true,
        "State.batchInsert",
        Answer::Done,
        batch_insert_resumed,
    )
}

/// Sends the inserts still waiting once the chunk has returned (runner.rs), so that the
/// host has them all before it commits: the host's error if it refused them (it should not:
/// they waited only because its bounds take them), a timeout if the driver gave up.
pub(crate) unsafe fn send_waiting(state: Lua) -> Result<(), (ErrorKind, String)> {
    let call = call_state(state);
    if call.triple_writes.is_empty() {
        return Ok(());
    }
    let args = call.triple_writes.request(0).into_bytes();
    let request = Request::Call {
        function: TRIPLES,
        name: "State.insert",
        args: &args,
        can_wait: false,
    };
    if waiting::ask(state, request).is_err() {
        return Err((
            ErrorKind::Runtime,
            "State used outside the call it belongs to".into(),
        ));
    }
    let sent = match waiting::reply(state) {
        Reply::Values(_) => Ok(()),
        Reply::Error(mut reader) => {
            let message = reader.bytes().unwrap_or(b"(no message)");
            Err((
                ErrorKind::Runtime,
                String::from_utf8_lossy(message).into_owned(),
            ))
        }
        Reply::Abandoned => {
            let call = call_state(state);
            call.terminated = Some(ErrorKind::Timeout);
            Err((ErrorKind::Timeout, limit_message(call, ErrorKind::Timeout)))
        }
        Reply::Pending | Reply::Malformed => Err((
            ErrorKind::Runtime,
            "pubwiki-lua: malformed reply from the host".into(),
        )),
    };
    call_state(state).reply = None;
    sent
}
