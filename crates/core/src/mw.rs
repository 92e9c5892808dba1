//! Scribunto's `mw` library, for runners that ask for it: Lua code of our own (`lua/*.lua`,
//! embedded here) over a few native functions (mw.ustring's in ustring.rs, module sources
//! from the host, the call's log, hashes, and Lua 5.1's `setfenv`/`getfenv`).
//!
//! It goes into the image of such a runner's arenas ([`open`], from runner.rs
//! `build_arena`), so a call pays nothing to have it but the image's size. What differs per
//! call (the page's title, the site, the frame's arguments, the host's functions, Lua 5.1's
//! number format) is a wire table the driver hands in, given to the setup function the
//! image keeps in the registry ([`set_up`], from runner.rs), which returns the frame of an
//! invoked call.

use std::ffi::{c_char, c_int, c_void, CStr};

use mlua::ffi;

use crate::call_state::call_state;
use crate::convert::{self, PushError};
use crate::host_function;
use crate::interrupt::{raise_terminated, terminate};
use crate::lua::{lua_bytes, set_functions, Lua};
use crate::outcome::ErrorKind;
use crate::request::MODULE_SOURCE;
use crate::waiting::{self, Reply};
use crate::wire::{Reader, Writer};

/// The library's Lua chunks, in the order they load: each gets `(mw, native)`; the last
/// returns the per-call setup function.
const CHUNKS: [(&CStr, &str); 4] = [
    (c"=mw", include_str!("../lua/mw.lua")),
    (c"=mw.text", include_str!("../lua/mw_text.lua")),
    (c"=mw.html", include_str!("../lua/mw_html.lua")),
    (c"=mw.site", include_str!("../lua/mw_site.lua")),
];

/// The registry key of the setup function.
static SETUP: u8 = 0;

/// Opens `mw` (into a state being built as an image). Runs under `lua_pcall`.
pub(crate) unsafe extern "C-unwind" fn open(state: Lua) -> c_int {
    ffi::lua_createtable(state, 0, 24);
    let mw = ffi::lua_gettop(state);
    ffi::lua_createtable(state, 0, 12);
    let native = ffi::lua_gettop(state);
    ffi::lua_createtable(state, 0, crate::ustring::FUNCTIONS.len() as c_int);
    set_functions(state, -1, &crate::ustring::FUNCTIONS);
    ffi::lua_setfield(state, native, c"ustring".as_ptr());
    set_functions(
        state,
        native,
        &[
            (c"source", source),
            (c"compile", compile),
            (c"log", log),
            (c"numbers51", numbers51),
            (c"setfenv", setfenv),
            (c"getfenv", getfenv),
            (c"hash", hash),
        ],
    );
    ffi::lua_pushvalue(state, mw);
    ffi::lua_setglobal(state, c"mw".as_ptr());
    for (i, (name, source)) in CHUNKS.iter().enumerate() {
        let status = ffi::luaL_loadbufferx(
            state,
            source.as_ptr() as *const c_char,
            source.len(),
            name.as_ptr(),
            c"t".as_ptr(),
        );
        if status != ffi::LUA_OK {
            ffi::lua_error(state);
        }
        ffi::lua_pushvalue(state, mw);
        ffi::lua_pushvalue(state, native);
        let last = i + 1 == CHUNKS.len();
        ffi::lua_call(state, 2, if last { 1 } else { 0 });
        if last {
            ffi::lua_rawsetp(
                state,
                ffi::LUA_REGISTRYINDEX,
                &SETUP as *const u8 as *const c_void,
            );
        }
    }
    ffi::lua_settop(state, mw - 1);
    0
}

/// Gives the call its `mw` configuration (a wire table, light userdata 1 points to its
/// bytes) and returns what the setup function returns: the frame of an invoked call, or
/// nil. Runs under `lua_pcall`.
pub(crate) unsafe extern "C-unwind" fn set_up(state: Lua) -> c_int {
    let bytes = &*(ffi::lua_touserdata(state, 1) as *const Vec<u8>);
    ffi::lua_settop(state, 0);
    if ffi::lua_rawgetp(
        state,
        ffi::LUA_REGISTRYINDEX,
        &SETUP as *const u8 as *const c_void,
    ) != ffi::LUA_TFUNCTION
    {
        return ffi::luaL_error(
            state,
            c"pubwiki-lua: this runner's image has no mw library".as_ptr(),
        );
    }
    let mut reader = Reader::new(bytes);
    match convert::push(state, &mut reader, host_function::call) {
        Ok(()) => {}
        Err(PushError::Oversized) => {
            terminate(state, ErrorKind::Memory);
            return raise_terminated(state, 1);
        }
        Err(PushError::Malformed(_)) => {
            return ffi::luaL_error(state, c"pubwiki-lua: malformed mw options".as_ptr());
        }
    }
    ffi::lua_call(state, 1, 1);
    1
}

/// `native.source(name)`: the source the host's modules give for `name` (a module, or a
/// page for mw.loadJsonData), or nil. May wait for the host.
unsafe extern "C-unwind" fn source(state: Lua) -> c_int {
    ffi::luaL_checklstring(state, 1, std::ptr::null_mut());
    ffi::lua_settop(state, 1);
    let name = lua_bytes(state, 1).unwrap_or_default();
    let mut args = Writer::new();
    args.count(1).string(name);
    waiting::ask_for_library(
        state,
        MODULE_SOURCE,
        std::str::from_utf8(name).unwrap_or("?"),
        args.into_bytes(),
        c"mw used outside the call it belongs to",
    );
    source_arrived(state, false)
}

unsafe fn source_arrived(state: Lua, resumed: bool) -> c_int {
    match waiting::reply(state) {
        Reply::Abandoned => waiting::abandoned(state),
        Reply::Error(reader) => waiting::raise_host_error(state, reader),
        Reply::Pending if !resumed => waiting::wait(
            state,
            &|| {
                format!(
                    "page '{}'",
                    String::from_utf8_lossy(lua_bytes(state, 1).unwrap_or_default())
                )
            },
            source_resumed,
        ),
        Reply::Values(mut reader) => {
            match crate::modules::source_in_reply(state, &mut reader, c"page source") {
                Some(text) => {
                    ffi::lua_pushlstring(state, text.as_ptr() as *const c_char, text.len());
                }
                None => ffi::lua_pushnil(state),
            }
            call_state(state).reply = None;
            1
        }
        Reply::Pending | Reply::Malformed => waiting::raise_malformed(state, c"page source"),
    }
}

unsafe extern "C-unwind" fn source_resumed(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    source_arrived(state, true)
}

/// `native.compile(name, source)`: the module's chunk, named after it, from the runner's
/// cache of compiled modules when it has this very source (as `require` does).
unsafe extern "C-unwind" fn compile(state: Lua) -> c_int {
    ffi::luaL_checklstring(state, 1, std::ptr::null_mut());
    let mut len = 0;
    let text = ffi::luaL_checklstring(state, 2, &mut len);
    ffi::lua_settop(state, 2);
    let source = std::slice::from_raw_parts(text as *const u8, len);
    crate::modules::compile_module(state, source);
    1
}

/// `native.log(text)`: appends to the call's log (`mw.log`), which shares the output's
/// limit.
unsafe extern "C-unwind" fn log(state: Lua) -> c_int {
    let mut len = 0;
    let text = ffi::luaL_checklstring(state, 1, &mut len);
    let bytes = std::slice::from_raw_parts(text as *const u8, len);
    let call = call_state(state);
    let room = call.output_limit.saturating_sub(call.log.len());
    if bytes.len() <= room {
        call.log.extend_from_slice(bytes);
        return 0;
    }
    call.log.extend_from_slice(&bytes[..room]);
    terminate(state, ErrorKind::Output);
    raise_terminated(state, waiting::script_level(state))
}

/// `native.numbers51()`: from now on `tostring` and `print` write floats as Lua 5.1 does.
unsafe extern "C-unwind" fn numbers51(state: Lua) -> c_int {
    call_state(state).numbers51 = true;
    0
}

/// The index of `_ENV` among the upvalues of the Lua function at `idx`, if it has one.
unsafe fn env_upvalue(state: Lua, idx: c_int) -> Option<c_int> {
    if ffi::lua_type(state, idx) != ffi::LUA_TFUNCTION || ffi::lua_iscfunction(state, idx) != 0 {
        return None;
    }
    let mut n = 1;
    loop {
        let name = ffi::lua_getupvalue(state, idx, n);
        if name.is_null() {
            return None;
        }
        ffi::lua_pop(state, 1);
        if CStr::from_ptr(name) == c"_ENV" {
            return Some(n);
        }
        n += 1;
    }
}

/// Puts the function that `arg` names (a function, or a stack level: 1 is the caller of
/// `getfenv`/`setfenv`) on the stack; raises for levels that do not exist.
unsafe fn push_function(state: Lua, arg: c_int) {
    if ffi::lua_type(state, arg) == ffi::LUA_TFUNCTION {
        ffi::lua_pushvalue(state, arg);
        return;
    }
    let level = ffi::luaL_optinteger(state, arg, 1);
    if level < 0 {
        ffi::luaL_argerror(state, arg, c"level must be non-negative".as_ptr());
    }
    if level == 0 {
        ffi::lua_pushnil(state);
        return;
    }
    let mut frame: ffi::lua_Debug = std::mem::zeroed();
    if ffi::lua_getstack(state, level as c_int, &mut frame) == 0 {
        ffi::luaL_argerror(state, arg, c"invalid level".as_ptr());
    }
    ffi::lua_getinfo(state, c"f".as_ptr(), &mut frame);
}

/// `getfenv([f])`: the environment (`_ENV`) of a Lua function, or the global table.
unsafe extern "C-unwind" fn getfenv(state: Lua) -> c_int {
    push_function(state, 1);
    match env_upvalue(state, -1) {
        Some(n) => {
            ffi::lua_getupvalue(state, -1, n);
        }
        None => {
            ffi::lua_pushglobaltable(state);
        }
    }
    1
}

/// `setfenv(f, table)`: gives one Lua function an environment of its own (its `_ENV` no
/// longer shared with the other functions of its chunk), and returns it.
unsafe extern "C-unwind" fn setfenv(state: Lua) -> c_int {
    ffi::luaL_checktype(state, 2, ffi::LUA_TTABLE);
    push_function(state, 1);
    let function = ffi::lua_gettop(state);
    let Some(n) = env_upvalue(state, function) else {
        return ffi::luaL_error(
            state,
            c"'setfenv' cannot change environment of given object".as_ptr(),
        );
    };
    // A fresh upvalue holding the table, joined to the function alone: a Lua closure of
    // one upvalue made by loading an empty chunk (whose only upvalue is `_ENV`).
    let empty = c"";
    if ffi::luaL_loadbufferx(
        state,
        empty.as_ptr(),
        0,
        c"=setfenv".as_ptr(),
        c"t".as_ptr(),
    ) != ffi::LUA_OK
    {
        ffi::lua_error(state);
    }
    let holder = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, 2);
    ffi::lua_setupvalue(state, holder, 1);
    ffi::lua_upvaluejoin(state, function, n, holder, 1);
    ffi::lua_pushvalue(state, function);
    1
}

/// `native.hash(algorithm, value)`: the hex digest, or nil for an unknown algorithm.
unsafe extern "C-unwind" fn hash(state: Lua) -> c_int {
    use md5::Digest;
    let mut len = 0;
    let algo = ffi::luaL_checklstring(state, 1, &mut len);
    let algo = std::slice::from_raw_parts(algo as *const u8, len);
    let value = crate::pattern::check_bytes(state, 2);
    let mut digest = [0u8; 64];
    let size = match algo {
        b"md5" => copy(&mut digest, &md5::Md5::digest(value)),
        b"sha1" => copy(&mut digest, &sha1::Sha1::digest(value)),
        b"sha256" => copy(&mut digest, &sha2::Sha256::digest(value)),
        b"sha512" => copy(&mut digest, &sha2::Sha512::digest(value)),
        _ => {
            ffi::lua_pushnil(state);
            return 1;
        }
    };
    let mut hex = [0u8; 128];
    for (i, b) in digest[..size].iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[(b >> 4) as usize];
        hex[2 * i + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    ffi::lua_pushlstring(state, hex.as_ptr() as *const c_char, 2 * size);
    1
}

fn copy(to: &mut [u8; 64], from: &[u8]) -> usize {
    to[..from.len()].copy_from_slice(from);
    from.len()
}
