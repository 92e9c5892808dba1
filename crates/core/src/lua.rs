//! What every file that touches a Lua stack needs: the state pointer's name and the
//! helpers that read strings off the stack. The bottom of the crate: it reads nothing of it.

use std::ffi::{c_int, CStr};

use mlua::ffi;

/// A Lua thread (the main thread of a call's state, or a coroutine of it).
pub(crate) type Lua = *mut ffi::lua_State;

/// The string at `idx`, if it is one (numbers are not converted, which could allocate).
pub(crate) unsafe fn lua_string(state: Lua, idx: c_int) -> Option<String> {
    lua_bytes(state, idx).map(|bytes| into_text(bytes.to_vec()))
}

/// The bytes of the string at `idx`, borrowed from Lua (valid while the string is reachable).
pub(crate) unsafe fn lua_bytes<'a>(state: Lua, idx: c_int) -> Option<&'a [u8]> {
    if ffi::lua_type(state, idx) != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0;
    let ptr = ffi::lua_tolstring(state, idx, &mut len);
    Some(std::slice::from_raw_parts(ptr as *const u8, len))
}

/// Output bytes as text: invalid UTF-8 becomes U+FFFD, NUL bytes stay.
pub(crate) fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Sets each of `functions` (name, C function) as a field of the table at `table`.
pub(crate) unsafe fn set_functions(
    state: Lua,
    table: c_int,
    functions: &[(&CStr, ffi::lua_CFunction)],
) {
    let table = ffi::lua_absindex(state, table);
    for &(name, function) in functions {
        ffi::lua_pushcfunction(state, function);
        ffi::lua_setfield(state, table, name.as_ptr());
    }
}
