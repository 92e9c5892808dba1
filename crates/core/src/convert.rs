//! Values between a Lua stack and the wire format (wire.rs), in both directions.
//!
//! Lua -> wire (return values, host function arguments, `State` values): [`Encoder`]. It
//! uses raw access only (no metamethods) and allocates nothing in Lua, so it can neither be
//! fooled by the script nor raise: a `__index`, `__pairs` or `__len` of the script's never
//! runs. Tables whose keys are exactly 1..n become arrays; other tables objects, with number
//! and boolean keys written as Lua's `tostring` does.
//!
//! The encoding is a tree: a table referenced twice is written twice, so a value can be
//! far bigger as bytes than in the state (one 1 MiB string held 1,000 times; a DAG of 26
//! tables, each holding the next twice, is 2^26 tables written out). So an encoding has a
//! budget: the call's memory limit, counting what it writes plus `TABLE_COST` per table,
//! however often a table is met; past it the value is refused (`EncodeError::TooBig`). And
//! each table is traversed once: a table met again is written by copying the bytes of its
//! first encoding, so time is bounded too (one pass over the state, plus copying at most
//! the budget) with no clock to read, even for tables whose traversal is slow (an array
//! part of millions of nil slots).
//!
//! wire -> Lua (globals, host function results) allocates in the state, under its memory
//! limit, so it may raise a memory error: its callers keep the bytes where a longjmp cannot
//! lose them (in the call's state), and nothing here owns a value with a destructor.

use std::ffi::{c_int, c_void, CStr};

use mlua::ffi;

use crate::lua::{lua_bytes, Lua};
use crate::numbers::{format_float_like_tostring, format_integer};
use crate::wire::{self, Reader, WireError, Writer, MAX_DEPTH};

/// How Lua values are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// For the host to read: functions, coroutines and userdata as placeholders, table keys
    /// as strings (JS objects have no other).
    Host,
    /// To be stored and read back by Lua as they were (`State`): table keys keep their
    /// types; what has no data form is refused.
    Exact,
}

/// What an encoding counts for each table on top of its bytes: about what a table costs
/// in the state (Lua's `Table` is 56 bytes) or in JS, so that a value of many small or
/// empty tables is bounded as a value of big strings is.
pub(crate) const TABLE_COST: usize = 64;

/// Why a value could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// It has no form for its reader (a cycle, a table as key, a function to be stored...).
    Invalid(&'static CStr),
    /// Its encoding passes the budget: the call's memory limit (see the module docs).
    TooBig,
}

/// A table encoded already in this encoding: where its bytes are, and what it took.
#[derive(Clone, Copy, Default)]
struct Encoded {
    start: usize,
    end: usize,
    /// Tables written for it (itself included).
    tables: u32,
    /// Levels of tables it spans (1: no table inside).
    height: u32,
}

/// The tables of one encoding by address. Written here rather than taken from std's
/// `HashMap` because every table converted is recorded, so this is on the path of every
/// conversion: measured on 10,000 small tables returned (mimalloc, as the addon), recording
/// them in a `HashMap` made the conversion 45% slower, this open-addressing table (linear
/// probing over a flat array of addresses, at most half full) 21%.
#[derive(Default)]
struct Tables {
    /// Addresses (0: empty slot); a power of two of slots, at most half full.
    keys: Vec<usize>,
    values: Vec<Encoded>,
    len: usize,
}

impl Tables {
    fn slot(&self, key: usize) -> usize {
        // Fibonacci hashing of the address (tables are 8-byte aligned at least).
        let mask = self.keys.len() - 1;
        let mut i = ((key as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask;
        while self.keys[i] != 0 && self.keys[i] != key {
            i = (i + 1) & mask;
        }
        i
    }

    fn get(&self, key: *const c_void) -> Option<Encoded> {
        if self.len == 0 {
            return None;
        }
        let i = self.slot(key as usize);
        (self.keys[i] != 0).then(|| self.values[i])
    }

    fn insert(&mut self, key: *const c_void, value: Encoded) {
        if 2 * (self.len + 1) > self.keys.len() {
            let old = std::mem::take(self);
            let size = (old.keys.len() * 2).max(64);
            self.keys = vec![0; size];
            self.values = vec![Encoded::default(); size];
            for (&key, &value) in old.keys.iter().zip(&old.values) {
                if key != 0 {
                    self.insert(key as *const c_void, value);
                }
            }
        }
        let i = self.slot(key as usize);
        if self.keys[i] == 0 {
            self.len += 1;
        }
        self.keys[i] = key as usize;
        self.values[i] = value;
    }
}

/// Appends Lua values to a [`Writer`] within a budget (see the module docs); the values of
/// one encoding (a call's arguments, its return values) share it.
pub(crate) struct Encoder<'w> {
    writer: &'w mut Writer,
    mode: Mode,
    /// Where this encoding started in `writer`, and how much it may take.
    base: usize,
    budget: usize,
    /// Tables written so far (each time one is met).
    tables: usize,
    /// The tables being encoded, outermost first (a cycle is one of them met again).
    path: Vec<*const c_void>,
    done: Tables,
}

impl<'w> Encoder<'w> {
    /// An encoding into `writer` of at most `budget` bytes (see `TABLE_COST`).
    pub(crate) fn new(writer: &'w mut Writer, mode: Mode, budget: usize) -> Encoder<'w> {
        let base = writer.len();
        Encoder {
            writer,
            mode,
            base,
            budget,
            tables: 0,
            path: Vec::new(),
            done: Tables::default(),
        }
    }

    /// Whether `more` bytes and `tables` more tables still fit in the budget.
    fn fits(&self, more: usize, tables: usize) -> Result<(), EncodeError> {
        let used = (self.writer.len() - self.base)
            .saturating_add((self.tables.saturating_add(tables)).saturating_mul(TABLE_COST))
            .saturating_add(more);
        if used > self.budget {
            return Err(EncodeError::TooBig);
        }
        Ok(())
    }

    /// Appends the value at `idx`; on failure says why (the writer then holds a partial
    /// value: discard it).
    pub(crate) unsafe fn value(&mut self, state: Lua, idx: c_int) -> Result<(), EncodeError> {
        self.encode(state, idx).map(|_height| ())
    }

    /// `value`, returning how many levels of tables the value spans (0: it is no table).
    unsafe fn encode(&mut self, state: Lua, idx: c_int) -> Result<usize, EncodeError> {
        let kind = ffi::lua_type(state, idx);
        if self.mode == Mode::Exact {
            match kind {
                ffi::LUA_TFUNCTION => {
                    return Err(EncodeError::Invalid(c"a function cannot be stored"))
                }
                ffi::LUA_TTHREAD => {
                    return Err(EncodeError::Invalid(c"a coroutine cannot be stored"))
                }
                ffi::LUA_TUSERDATA | ffi::LUA_TLIGHTUSERDATA => {
                    return Err(EncodeError::Invalid(c"a userdata cannot be stored"))
                }
                _ => {}
            }
        }
        match kind {
            ffi::LUA_TNIL | ffi::LUA_TNONE => self.writer.nil(),
            ffi::LUA_TBOOLEAN => self.writer.boolean(ffi::lua_toboolean(state, idx) != 0),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
                self.writer.integer(ffi::lua_tointeger(state, idx))
            }
            ffi::LUA_TNUMBER => self.writer.float(ffi::lua_tonumber(state, idx)),
            ffi::LUA_TSTRING => {
                let bytes = lua_bytes(state, idx).unwrap_or_default();
                self.fits(bytes.len(), 0)?;
                self.writer.string(bytes)
            }
            ffi::LUA_TTABLE => return self.table(state, idx),
            ffi::LUA_TFUNCTION => self.writer.opaque(wire::OPAQUE_FUNCTION),
            ffi::LUA_TTHREAD => self.writer.opaque(wire::OPAQUE_THREAD),
            _ => self.writer.opaque(wire::OPAQUE_USERDATA),
        };
        Ok(0)
    }

    unsafe fn table(&mut self, state: Lua, idx: c_int) -> Result<usize, EncodeError> {
        let idx = ffi::lua_absindex(state, idx);
        let id = ffi::lua_topointer(state, idx);
        if self.path.contains(&id) {
            return Err(EncodeError::Invalid(c"a table contains itself"));
        }
        if let Some(done) = self.done.get(id) {
            // Met before, so no cycle runs through it (its first encoding would have
            // failed): its bytes are copied.
            if self.path.len() + done.height as usize > MAX_DEPTH {
                return Err(EncodeError::Invalid(
                    c"tables nested deeper than 100 levels",
                ));
            }
            self.fits(done.end - done.start, done.tables as usize)?;
            self.writer.repeat(done.start..done.end);
            self.tables += done.tables as usize;
            return Ok(done.height as usize);
        }
        if self.path.len() >= MAX_DEPTH || ffi::lua_checkstack(state, 3) == 0 {
            return Err(EncodeError::Invalid(
                c"tables nested deeper than 100 levels",
            ));
        }
        self.fits(0, 1)?;
        self.tables += 1;
        let (start, tables_before) = (self.writer.len(), self.tables);
        self.path.push(id);
        let inner = self.entries(state, idx);
        self.path.pop();
        let height = inner? + 1;
        let encoded = Encoded {
            start,
            end: self.writer.len(),
            // At most MAX_DEPTH, and fewer tables than the budget's bytes.
            height: height as u32,
            tables: (self.tables - tables_before + 1).min(u32::MAX as usize) as u32,
        };
        self.done.insert(id, encoded);
        Ok(height)
    }

    /// Writes the entries of the table at `idx`; returns the most levels of tables that
    /// one of its keys or values spans.
    unsafe fn entries(&mut self, state: Lua, idx: c_int) -> Result<usize, EncodeError> {
        let mode = self.mode;
        // First pass: how many entries, and whether the keys are exactly 1..n.
        let (mut count, mut max_index, mut only_indices) = (0usize, 0i64, true);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, idx) != 0 {
            ffi::lua_pop(state, 1);
            count += 1;
            match ffi::lua_type(state, -1) {
                ffi::LUA_TNUMBER if ffi::lua_isinteger(state, -1) != 0 => {
                    let i = ffi::lua_tointeger(state, -1);
                    only_indices &= i >= 1;
                    max_index = max_index.max(i);
                }
                ffi::LUA_TNUMBER | ffi::LUA_TSTRING | ffi::LUA_TBOOLEAN => only_indices = false,
                _ if mode == Mode::Exact => {
                    ffi::lua_pop(state, 1);
                    return Err(EncodeError::Invalid(
                        c"a table key that is not a string, number or boolean cannot be stored",
                    ));
                }
                other => {
                    ffi::lua_pop(state, 1);
                    return Err(EncodeError::Invalid(match other {
                        ffi::LUA_TTABLE => c"a table has a table as key",
                        ffi::LUA_TFUNCTION => c"a table has a function as key",
                        ffi::LUA_TTHREAD => c"a table has a thread as key",
                        _ => c"a table has a userdata as key",
                    }));
                }
            }
        }
        let mut height = 0;
        // Distinct integer keys, all >= 1, the largest equal to their count: exactly 1..n.
        if count > 0 && only_indices && max_index == count as i64 {
            self.writer.array(count);
            for i in 1..=count {
                ffi::lua_rawgeti(state, idx, i as ffi::lua_Integer);
                let encoded = self.encode(state, -1);
                ffi::lua_pop(state, 1);
                height = height.max(encoded?);
            }
        } else {
            self.writer.table(count);
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, idx) != 0 {
                let key = match mode {
                    Mode::Host => {
                        encode_key(state, -2, self.writer);
                        Ok(0)
                    }
                    // A key of a type checked above, as itself (no table, so it can only
                    // pass the budget).
                    Mode::Exact => self.encode(state, -2),
                };
                match key.and_then(|_| self.encode(state, -1)) {
                    Ok(value_height) => height = height.max(value_height),
                    Err(why) => {
                        ffi::lua_pop(state, 2);
                        return Err(why);
                    }
                }
                ffi::lua_pop(state, 1);
            }
        }
        // The entries' scalars were written unchecked: at most a few bytes each.
        self.fits(0, 0)?;
        Ok(height)
    }
}

/// What a value too big to convert is told: its copy, every reference written out, would
/// take more than the call's memory limit.
pub(crate) fn too_big(limit: usize) -> String {
    format!("its copy would take more than the memory limit ({limit} bytes)")
}

/// Pushes "`what`: <why>", for an argument error.
pub(crate) unsafe fn push_refusal(state: Lua, what: &CStr, why: EncodeError) {
    match why {
        EncodeError::Invalid(why) => {
            ffi::lua_pushfstring(state, c"%s: %s".as_ptr(), what.as_ptr(), why.as_ptr())
        }
        EncodeError::TooBig => ffi::lua_pushfstring(
            state,
            c"%s: its copy would take more than the memory limit (%I bytes)".as_ptr(),
            what.as_ptr(),
            crate::call_state::call_state(state).memory_limit as ffi::lua_Integer,
        ),
    };
}

/// A key as a string, written as Lua's `tostring` writes it (keys were checked above).
unsafe fn encode_key(state: Lua, idx: c_int, writer: &mut Writer) {
    match ffi::lua_type(state, idx) {
        ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
            let mut digits = [0u8; 20];
            writer.string(format_integer(ffi::lua_tointeger(state, idx), &mut digits));
        }
        ffi::LUA_TNUMBER => {
            let mut buf = [0u8; 64];
            writer.string(format_float_like_tostring(
                ffi::lua_tonumber(state, idx),
                &mut buf,
            ));
        }
        ffi::LUA_TBOOLEAN => {
            writer.string(if ffi::lua_toboolean(state, idx) != 0 {
                b"true"
            } else {
                b"false"
            });
        }
        _ => {
            writer.string(lua_bytes(state, idx).unwrap_or_default());
        }
    }
}

/// Why wire values could not become Lua values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The host's encoder sent something malformed (a bug on its side).
    Malformed(WireError),
    /// The host found the value too big for the call's memory limit before encoding it.
    Oversized,
}

impl From<WireError> for PushError {
    fn from(error: WireError) -> Self {
        PushError::Malformed(error)
    }
}

/// Pushes the next wire value from `reader`. Functions become closures of
/// `host_function` with upvalues (index, name). May raise a Lua memory error.
pub(crate) unsafe fn push(
    state: Lua,
    reader: &mut Reader,
    host_function: ffi::lua_CFunction,
) -> Result<(), PushError> {
    push_value(state, reader, host_function, 0)
}

unsafe fn push_value(
    state: Lua,
    reader: &mut Reader,
    host_function: ffi::lua_CFunction,
    depth: usize,
) -> Result<(), PushError> {
    if depth > MAX_DEPTH + 1 || ffi::lua_checkstack(state, 3) == 0 {
        return Err(WireError("nested too deep").into());
    }
    match reader.u8()? {
        wire::NIL => ffi::lua_pushnil(state),
        wire::FALSE => ffi::lua_pushboolean(state, 0),
        wire::TRUE => ffi::lua_pushboolean(state, 1),
        wire::INTEGER => ffi::lua_pushinteger(state, reader.i64()?),
        wire::FLOAT => ffi::lua_pushnumber(state, reader.f64()?),
        wire::STRING => {
            let bytes = reader.bytes()?;
            ffi::lua_pushlstring(state, bytes.as_ptr() as *const _, bytes.len());
        }
        wire::ARRAY => {
            let n = reader.length()?;
            ffi::lua_createtable(state, n.min(c_int::MAX as usize) as c_int, 0);
            for i in 1..=n {
                if let Err(error) = push_value(state, reader, host_function, depth + 1) {
                    ffi::lua_pop(state, 1);
                    return Err(error);
                }
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer);
            }
        }
        wire::TABLE => {
            let n = reader.length()?;
            ffi::lua_createtable(state, 0, n.min(c_int::MAX as usize) as c_int);
            let table = ffi::lua_gettop(state);
            for _ in 0..n {
                let pair = push_value(state, reader, host_function, depth + 1)
                    .and_then(|()| push_value(state, reader, host_function, depth + 1));
                if let Err(error) = pair {
                    ffi::lua_settop(state, table - 1);
                    return Err(error);
                }
                // `lua_rawset` raises for these keys; the host's encoder refuses them.
                let key_type = ffi::lua_type(state, -2);
                let nan = key_type == ffi::LUA_TNUMBER
                    && ffi::lua_isinteger(state, -2) == 0
                    && ffi::lua_tonumber(state, -2).is_nan();
                if key_type == ffi::LUA_TNIL || nan {
                    ffi::lua_pop(state, 3);
                    return Err(WireError("nil or NaN table key").into());
                }
                ffi::lua_rawset(state, -3);
            }
        }
        wire::FUNCTION => {
            let index = reader.varint()?;
            let name = reader.bytes()?;
            ffi::lua_pushinteger(state, index as ffi::lua_Integer);
            ffi::lua_pushlstring(state, name.as_ptr() as *const _, name.len());
            ffi::lua_pushcclosure(state, host_function, 2);
        }
        wire::OVERSIZED => return Err(PushError::Oversized),
        _ => return Err(WireError("unknown tag").into()),
    }
    Ok(())
}
