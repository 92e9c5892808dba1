//! Values between a Lua stack and the wire format (wire.rs), in both directions.
//!
//! Lua -> wire (return values, host function arguments) uses raw access only (no
//! metamethods) and allocates nothing in Lua, so it can neither be fooled by the script nor
//! raise: a `__index`, `__pairs` or `__len` of the script's never runs. Tables whose keys
//! are exactly 1..n become arrays; other tables objects, with number and boolean keys
//! written as Lua's `tostring` does.
//!
//! wire -> Lua (globals, host function results) allocates in the state, under its memory
//! limit, so it may raise a memory error: its callers keep the bytes where a longjmp cannot
//! lose them (in the call's state), and nothing here owns a value with a destructor.

use std::ffi::{c_int, c_void};

use mlua::ffi;

use crate::numbers::{format_float_like_tostring, format_integer};
use crate::state::lua_bytes;
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

/// Appends the value at `idx` to `writer`; on failure says why (the writer then holds a
/// partial value: discard it).
pub(crate) unsafe fn encode(
    state: *mut ffi::lua_State,
    idx: c_int,
    writer: &mut Writer,
) -> Result<(), &'static str> {
    let mut path = Vec::new();
    encode_value(state, idx, writer, &mut path, Mode::Host)
}

/// `encode` for values to be stored (`Mode::Exact`).
pub(crate) unsafe fn encode_exact(
    state: *mut ffi::lua_State,
    idx: c_int,
    writer: &mut Writer,
) -> Result<(), &'static str> {
    let mut path = Vec::new();
    encode_value(state, idx, writer, &mut path, Mode::Exact)
}

/// `path` holds the tables being converted, to detect cycles (shared subtables are fine).
unsafe fn encode_value(
    state: *mut ffi::lua_State,
    idx: c_int,
    writer: &mut Writer,
    path: &mut Vec<*const c_void>,
    mode: Mode,
) -> Result<(), &'static str> {
    let kind = ffi::lua_type(state, idx);
    if mode == Mode::Exact {
        match kind {
            ffi::LUA_TFUNCTION => return Err("a function cannot be stored"),
            ffi::LUA_TTHREAD => return Err("a coroutine cannot be stored"),
            ffi::LUA_TUSERDATA | ffi::LUA_TLIGHTUSERDATA => {
                return Err("a userdata cannot be stored")
            }
            _ => {}
        }
    }
    match kind {
        ffi::LUA_TNIL | ffi::LUA_TNONE => writer.nil(),
        ffi::LUA_TBOOLEAN => writer.boolean(ffi::lua_toboolean(state, idx) != 0),
        ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
            writer.integer(ffi::lua_tointeger(state, idx))
        }
        ffi::LUA_TNUMBER => writer.float(ffi::lua_tonumber(state, idx)),
        ffi::LUA_TSTRING => writer.string(lua_bytes(state, idx).unwrap_or_default()),
        ffi::LUA_TTABLE => return encode_table(state, idx, writer, path, mode),
        ffi::LUA_TFUNCTION => writer.opaque(wire::OPAQUE_FUNCTION),
        ffi::LUA_TTHREAD => writer.opaque(wire::OPAQUE_THREAD),
        _ => writer.opaque(wire::OPAQUE_USERDATA),
    };
    Ok(())
}

unsafe fn encode_table(
    state: *mut ffi::lua_State,
    idx: c_int,
    writer: &mut Writer,
    path: &mut Vec<*const c_void>,
    mode: Mode,
) -> Result<(), &'static str> {
    let idx = ffi::lua_absindex(state, idx);
    let id = ffi::lua_topointer(state, idx);
    if path.contains(&id) {
        return Err("a table contains itself");
    }
    if path.len() >= MAX_DEPTH || ffi::lua_checkstack(state, 3) == 0 {
        return Err("tables nested deeper than 100 levels");
    }
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
                return Err("a table key that is not a string, number or boolean cannot be stored");
            }
            other => {
                ffi::lua_pop(state, 1);
                return Err(match other {
                    ffi::LUA_TTABLE => "a table has a table as key",
                    ffi::LUA_TFUNCTION => "a table has a function as key",
                    ffi::LUA_TTHREAD => "a table has a thread as key",
                    _ => "a table has a userdata as key",
                });
            }
        }
    }
    path.push(id);
    // Distinct integer keys, all >= 1, the largest equal to their count: exactly 1..n.
    if count > 0 && only_indices && max_index == count as i64 {
        writer.array(count);
        for i in 1..=count {
            ffi::lua_rawgeti(state, idx, i as ffi::lua_Integer);
            let encoded = encode_value(state, -1, writer, path, mode);
            ffi::lua_pop(state, 1);
            encoded?;
        }
    } else {
        writer.table(count);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, idx) != 0 {
            match mode {
                Mode::Host => encode_key(state, -2, writer),
                // A key of a type checked above, as itself (no table: it cannot fail).
                Mode::Exact => {
                    if let Err(why) = encode_value(state, -2, writer, path, mode) {
                        ffi::lua_pop(state, 2);
                        return Err(why);
                    }
                }
            }
            if let Err(why) = encode_value(state, -1, writer, path, mode) {
                ffi::lua_pop(state, 2);
                return Err(why);
            }
            ffi::lua_pop(state, 1);
        }
    }
    path.pop();
    Ok(())
}

/// A key as a string, written as Lua's `tostring` writes it (keys were checked above).
unsafe fn encode_key(state: *mut ffi::lua_State, idx: c_int, writer: &mut Writer) {
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
    state: *mut ffi::lua_State,
    reader: &mut Reader,
    host_function: ffi::lua_CFunction,
) -> Result<(), PushError> {
    push_value(state, reader, host_function, 0)
}

unsafe fn push_value(
    state: *mut ffi::lua_State,
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
