//! `State`: a script's persistent state, in calls whose host configured one.
//!
//! `State.get(key [, default])`, `State.set(key, value [, ttlSeconds])`,
//! `State.delete(key)`, `State.list(prefix)`. The core checks what Lua alone can check:
//! keys are non-empty UTF-8 strings of at most 256 bytes, and values are data (nil,
//! booleans, numbers, strings, tables of those: `convert::Mode::Exact`, which keeps integer
//! and float apart, any bytes of a string, and the types of table keys). It then asks the
//! host (request.rs `STATE`), which scopes the key (private to the script, or a shared
//! namespace it may or may not use), buffers the call's writes so that they are committed
//! together when the call succeeds, and reads its store: lib/state.mjs. A refusal of the
//! host (a namespace the script may not write) is a Lua error at the call, as a host
//! function's error is; a store that answers later makes the script wait, as an async host
//! function does.
//!
//! Requests are host calls of function `STATE` with the arguments `op, key` (`"get"`,
//! `"delete"`, `"list"`), or `"set", key, value, ttl` where `value` is a string holding the
//! value's exact wire encoding (so the host stores and returns those bytes untouched).

use std::ffi::c_int;

use mlua::ffi;

use crate::call_state::call_state;
use crate::convert;
use crate::host_function;
use crate::lua::{lua_bytes, set_functions, Lua};
use crate::request::STATE;
use crate::waiting::{self, Reply};
use crate::wire::Writer;

/// Longest key, in bytes.
const MAX_KEY: usize = 256;

/// Sets the global `State` (with `_G` on the stack top).
pub(crate) unsafe fn open(state: Lua) {
    ffi::lua_createtable(state, 0, 4);
    set_functions(
        state,
        -1,
        &[
            (c"get", get),
            (c"set", set),
            (c"delete", delete),
            (c"list", list),
        ],
    );
    ffi::lua_setfield(state, -2, c"State".as_ptr());
}

/// The key at `arg` (checked), borrowed from Lua.
unsafe fn check_key<'a>(state: Lua, arg: c_int) -> &'a [u8] {
    let key = lua_bytes(state, arg).unwrap_or_default();
    let valid = ffi::lua_type(state, arg) == ffi::LUA_TSTRING
        && !key.is_empty()
        && key.len() <= MAX_KEY
        && std::str::from_utf8(key).is_ok();
    if !valid {
        ffi::luaL_argerror(
            state,
            arg,
            c"a key is a non-empty UTF-8 string of at most 256 bytes".as_ptr(),
        );
    }
    key
}

/// Asks the host `op` (`State.<op>`) with `key` and, for `set`, the encoded value and TTL.
/// Raises nothing but for a call outside its slice.
unsafe fn ask(
    state: Lua,
    op: &[u8],
    name: &str,
    key: &[u8],
    set: Option<(&[u8], Option<f64>)>,
) -> c_int {
    let mut args = Writer::new();
    args.count(if set.is_some() { 4 } else { 2 })
        .string(op)
        .string(key);
    if let Some((value, ttl)) = set {
        args.string(value);
        match ttl {
            Some(seconds) => args.float(seconds),
            None => args.nil(),
        };
    }
    waiting::ask_for_library(
        state,
        STATE,
        name,
        args.into_bytes(),
        c"State used outside the call it belongs to",
    );
    0
}

/// The host's answer: results pushed (their number), its error raised, or a wait.
unsafe fn answer(
    state: Lua,
    resumed: bool,
    name: &'static str,
    continuation: ffi::lua_KFunction,
) -> c_int {
    match waiting::reply(state) {
        Reply::Abandoned => waiting::abandoned(state),
        Reply::Values(mut reader) => waiting::push_results(state, &mut reader, host_function::call),
        Reply::Error(reader) => waiting::raise_host_error(state, reader),
        Reply::Pending if !resumed => waiting::wait(state, &|| name.to_string(), continuation),
        Reply::Pending | Reply::Malformed => waiting::raise_malformed(state, c"reply"),
    }
}

/// `State.get(key [, default])`.
unsafe extern "C-unwind" fn get(state: Lua) -> c_int {
    let key = check_key(state, 1);
    ffi::lua_settop(state, 2);
    ask(state, b"get", "State.get", key, None);
    got(state, false)
}

unsafe fn got(state: Lua, resumed: bool) -> c_int {
    answer(state, resumed, "State.get", get_resumed);
    // Stack: key, default, value.
    if ffi::lua_isnil(state, -1) != 0 {
        ffi::lua_pushvalue(state, 2);
    }
    1
}

unsafe extern "C-unwind" fn get_resumed(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    got(state, true)
}

/// `State.set(key, value [, ttlSeconds])`.
unsafe extern "C-unwind" fn set(state: Lua) -> c_int {
    let key = check_key(state, 1);
    ffi::luaL_checkany(state, 2);
    let ttl = if ffi::lua_isnoneornil(state, 3) != 0 {
        None
    } else {
        let seconds = ffi::luaL_checknumber(state, 3);
        if !(seconds > 0.0 && seconds.is_finite()) {
            return ffi::luaL_argerror(state, 3, c"a TTL is a positive number of seconds".as_ptr());
        }
        Some(seconds)
    };
    ffi::lua_settop(state, 3);
    let mut value = Writer::new();
    let budget = call_state(state).memory_limit;
    let encoded = convert::Encoder::new(&mut value, convert::Mode::Exact, budget).value(state, 2);
    if let Err(why) = encoded {
        drop(value);
        convert::push_refusal(state, c"cannot be stored", why);
        return ffi::luaL_argerror(state, 2, ffi::lua_tostring(state, -1));
    }
    let value = value.into_bytes();
    ask(state, b"set", "State.set", key, Some((&value, ttl)));
    drop(value);
    answer(state, false, "State.set", set_resumed);
    0
}

unsafe extern "C-unwind" fn set_resumed(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.set", set_resumed);
    0
}

/// `State.delete(key)`.
unsafe extern "C-unwind" fn delete(state: Lua) -> c_int {
    let key = check_key(state, 1);
    ffi::lua_settop(state, 1);
    ask(state, b"delete", "State.delete", key, None);
    answer(state, false, "State.delete", delete_resumed);
    0
}

unsafe extern "C-unwind" fn delete_resumed(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.delete", delete_resumed);
    0
}

/// `State.list(prefix)`: a table of key -> value for the keys under `prefix`.
unsafe extern "C-unwind" fn list(state: Lua) -> c_int {
    let prefix = if ffi::lua_isnoneornil(state, 1) != 0 {
        &b""[..]
    } else {
        let prefix = lua_bytes(state, 1).unwrap_or_default();
        if ffi::lua_type(state, 1) != ffi::LUA_TSTRING
            || prefix.len() > MAX_KEY
            || std::str::from_utf8(prefix).is_err()
        {
            return ffi::luaL_argerror(
                state,
                1,
                c"a prefix is a UTF-8 string of at most 256 bytes".as_ptr(),
            );
        }
        prefix
    };
    ffi::lua_settop(state, 1);
    ask(state, b"list", "State.list", prefix, None);
    answer(state, false, "State.list", list_resumed);
    1
}

unsafe extern "C-unwind" fn list_resumed(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    answer(state, true, "State.list", list_resumed);
    1
}
