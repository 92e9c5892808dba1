//! Return values to plain data. Runs after the script, with no Lua code involved
//! (raw access only: no metamethods), so it cannot be interrupted or fooled by the script.

use std::ffi::c_int;

use mlua::ffi;

use crate::runner::lua_string;
use crate::LuaValue;

/// Tables nested deeper than this are refused rather than walked.
const MAX_DEPTH: usize = 100;

/// Converts stack slots `first..=last`.
pub unsafe fn values(
    state: *mut ffi::lua_State,
    first: c_int,
    last: c_int,
) -> Result<Vec<LuaValue>, String> {
    let mut path = Vec::new();
    (first..=last)
        .map(|idx| {
            convert(state, idx, &mut path).map_err(|why| {
                format!(
                    "return value #{} cannot be converted: {why}",
                    idx - first + 1
                )
            })
        })
        .collect()
}

/// `path` holds the tables being converted, to detect cycles (shared subtables are fine).
unsafe fn convert(
    state: *mut ffi::lua_State,
    idx: c_int,
    path: &mut Vec<*const std::ffi::c_void>,
) -> Result<LuaValue, String> {
    Ok(match ffi::lua_type(state, idx) {
        ffi::LUA_TNIL | ffi::LUA_TNONE => LuaValue::Nil,
        ffi::LUA_TBOOLEAN => LuaValue::Boolean(ffi::lua_toboolean(state, idx) != 0),
        ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
            LuaValue::Integer(ffi::lua_tointeger(state, idx))
        }
        ffi::LUA_TNUMBER => LuaValue::Number(ffi::lua_tonumber(state, idx)),
        ffi::LUA_TSTRING => LuaValue::String(lua_string(state, idx).unwrap_or_default()),
        ffi::LUA_TTABLE => return table(state, idx, path),
        ffi::LUA_TFUNCTION => LuaValue::Opaque("function"),
        ffi::LUA_TTHREAD => LuaValue::Opaque("thread"),
        _ => LuaValue::Opaque("userdata"),
    })
}

unsafe fn table(
    state: *mut ffi::lua_State,
    idx: c_int,
    path: &mut Vec<*const std::ffi::c_void>,
) -> Result<LuaValue, String> {
    let idx = ffi::lua_absindex(state, idx);
    let id = ffi::lua_topointer(state, idx);
    if path.contains(&id) {
        return Err("a table contains itself".into());
    }
    if path.len() >= MAX_DEPTH || ffi::lua_checkstack(state, 3) == 0 {
        return Err(format!("tables nested deeper than {MAX_DEPTH} levels"));
    }
    path.push(id);
    let mut entries: Vec<(Key, LuaValue)> = Vec::new();
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, idx) != 0 {
        let key = match key(state, -2) {
            Ok(key) => key,
            Err(why) => {
                ffi::lua_pop(state, 2);
                return Err(why);
            }
        };
        let value = match convert(state, -1, path) {
            Ok(value) => value,
            Err(why) => {
                ffi::lua_pop(state, 2);
                return Err(why);
            }
        };
        ffi::lua_pop(state, 1);
        entries.push((key, value));
    }
    path.pop();
    // Exactly the keys 1..=n make an array; anything else (and the empty table) an object.
    let n = entries.len() as i64;
    let dense = n > 0
        && entries
            .iter()
            .all(|(key, _)| matches!(key, Key::Index(i) if (1..=n).contains(i)));
    if dense {
        let mut items = vec![LuaValue::Nil; entries.len()];
        for (key, value) in entries {
            if let Key::Index(i) = key {
                items[(i - 1) as usize] = value;
            }
        }
        return Ok(LuaValue::Array(items));
    }
    Ok(LuaValue::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.into_string(), v))
            .collect(),
    ))
}

enum Key {
    Index(i64),
    Name(String),
}

impl Key {
    fn into_string(self) -> String {
        match self {
            Key::Index(i) => i.to_string(),
            Key::Name(name) => name,
        }
    }
}

unsafe fn key(state: *mut ffi::lua_State, idx: c_int) -> Result<Key, String> {
    match ffi::lua_type(state, idx) {
        ffi::LUA_TNUMBER if ffi::lua_isinteger(state, idx) != 0 => {
            Ok(Key::Index(ffi::lua_tointeger(state, idx)))
        }
        ffi::LUA_TSTRING => Ok(Key::Name(lua_string(state, idx).unwrap_or_default())),
        ffi::LUA_TNUMBER | ffi::LUA_TBOOLEAN => {
            // Lua's own formatting of the key (a copy, so that `lua_next` sees the original).
            ffi::lua_pushvalue(state, idx);
            let text = ffi::luaL_tolstring(state, -1, std::ptr::null_mut());
            let name = std::ffi::CStr::from_ptr(text)
                .to_string_lossy()
                .into_owned();
            ffi::lua_pop(state, 2);
            Ok(Key::Name(name))
        }
        other => {
            let type_name = std::ffi::CStr::from_ptr(ffi::lua_typename(state, other));
            Err(format!(
                "a table has a {} as key",
                type_name.to_string_lossy()
            ))
        }
    }
}
