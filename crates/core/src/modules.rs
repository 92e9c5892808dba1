//! `require` of host-provided modules, the `package` table, and the entry of invoked calls
//! (`require(module)[function](...)`, Scribunto's #invoke).
//!
//! `require(name)` as Lua 5.4's, with the host in place of the file searchers: a module in
//! `package.loaded` (the sandboxed standard libraries are there too) is returned at once;
//! then `package.preload`; then the host is asked for the module's source (a request like a
//! host function's, which may wait: waiting.rs). The source is compiled as a text chunk
//! named after the module (`Module:Util:3: ...`), or taken compiled from the runner's
//! cache (module_cache.rs), run with its name as `...`, and its result stored in
//! `package.loaded`. A module that requires itself, directly or not, is an error naming the
//! cycle: the names being loaded are kept in the call's state, and a to-be-closed guard
//! takes each off again however its loading ends.
//!
//! `package` holds `loaded`, `preload` and `config`, and nothing that reaches files.
//!
//! Every step that runs Lua (a preload loader, the module's chunk, an invoked function)
//! does so with a continuation, so that a module or a function it calls may wait for the
//! host.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;

use mlua::ffi;

use crate::call_state::call_state;
use crate::interrupt::{raise_terminated, terminate};
use crate::lua::{lua_bytes, Lua};
use crate::module_cache::Kind;
use crate::outcome::ErrorKind;
use crate::request::MODULE_SOURCE;
use crate::waiting::{self, Reply};
use crate::wire::{self, Reader, Writer};

/// `package.config` as Lua's own (directory separator, path separator, name mark...):
/// libraries such as Penlight read it as they load.
const CONFIG: &[u8] = b"/\n;\n?\n!\n-\n";

/// Registry key of the metatable of loading guards.
const GUARD: &std::ffi::CStr = c"pubwiki.loading";

/// The C functions here that let a wait through (waiting.rs).
pub(crate) const PASSES_YIELDS: [ffi::lua_CFunction; 2] = [require, invoke];

/// Sets up `package` and `require` (from sandbox::open, with `_G` on the stack top).
pub(crate) unsafe fn open(state: Lua) {
    ffi::lua_createtable(state, 0, 3);
    ffi::luaL_getsubtable(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE);
    ffi::lua_setfield(state, -2, c"loaded".as_ptr());
    ffi::luaL_getsubtable(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_PRELOAD_TABLE);
    ffi::lua_setfield(state, -2, c"preload".as_ptr());
    ffi::lua_pushlstring(state, CONFIG.as_ptr() as *const c_char, CONFIG.len());
    ffi::lua_setfield(state, -2, c"config".as_ptr());
    // package.loaded.package, as in real Lua.
    ffi::luaL_getsubtable(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE);
    ffi::lua_pushvalue(state, -2);
    ffi::lua_setfield(state, -2, c"package".as_ptr());
    ffi::lua_pop(state, 1);
    ffi::lua_setfield(state, -2, c"package".as_ptr());
    ffi::lua_pushcfunction(state, require);
    ffi::lua_setfield(state, -2, c"require".as_ptr());
}

/// `require(name)`. Stack while it runs: 1 name, 2 `package.loaded`.
pub(crate) unsafe extern "C-unwind" fn require(state: Lua) -> c_int {
    ffi::luaL_checklstring(state, 1, std::ptr::null_mut());
    ffi::lua_settop(state, 1);
    ffi::luaL_getsubtable(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_rawget(state, 2);
    if ffi::lua_toboolean(state, -1) != 0 {
        return 1;
    }
    ffi::lua_pop(state, 1);
    ffi::luaL_getsubtable(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_PRELOAD_TABLE);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_rawget(state, -2);
    if ffi::lua_type(state, -1) == ffi::LUA_TFUNCTION {
        ffi::lua_pushvalue(state, 1);
        ffi::lua_pushstring(state, c":preload:".as_ptr());
        ffi::lua_callk(state, 2, 1, 0, Some(finish_require));
        return finish_require(state, ffi::LUA_OK, 0);
    }
    ffi::lua_settop(state, 2);
    if let Some(cycle) = cycle(state) {
        return waiting::raise_at_script_line(state, cycle);
    }
    let mut args = Writer::new();
    args.count(1).string(module_name(state));
    waiting::ask_for_library(
        state,
        MODULE_SOURCE,
        std::str::from_utf8(module_name(state)).unwrap_or("?"),
        args.into_bytes(),
        c"require called outside the call it belongs to",
    );
    source_arrived(state, false)
}

/// The name being required (stack index 1), borrowed from Lua.
unsafe fn module_name<'a>(state: Lua) -> &'a [u8] {
    lua_bytes(state, 1).unwrap_or_default()
}

/// The message for requiring a module that is loading already, if it is.
unsafe fn cycle(state: Lua) -> Option<String> {
    let name = module_name(state);
    let loading = &call_state(state).loading;
    let start = loading
        .iter()
        .position(|loaded| loaded.as_slice() == name)?;
    let chain: Vec<String> = loading[start..]
        .iter()
        .chain(std::iter::once(&name.to_vec()))
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    Some(format!("cycle in require: {}", chain.join(" -> ")))
}

/// Acts on the host's answer to "give me module X": compile and run it, say it is not
/// there, raise the resolver's error, or wait. `resumed`: the answer to a wait.
unsafe fn source_arrived(state: Lua, resumed: bool) -> c_int {
    match waiting::reply(state) {
        Reply::Abandoned => waiting::abandoned(state),
        Reply::Error(reader) => waiting::raise_host_error(state, reader),
        Reply::Pending if !resumed => waiting::wait(
            state,
            &|| format!("module '{}'", String::from_utf8_lossy(module_name(state))),
            source_resumed,
        ),
        Reply::Values(mut reader) => match source_in_reply(state, &mut reader, c"module source") {
            None => {
                call_state(state).reply = None;
                ffi::luaL_error(
                    state,
                    c"module '%s' not found".as_ptr(),
                    ffi::lua_tostring(state, 1),
                )
            }
            Some(source) => run_module(state, source),
        },
        Reply::Pending | Reply::Malformed => waiting::raise_malformed(state, c"module source"),
    }
}

/// The source a host's reply to a source request holds (borrowed from the reply in the
/// call's state), or `None` for nil. Raises for a source too big for the call's memory
/// limit (the host did not even copy it: the call ends with a memory error) and for a
/// malformed reply (`what` names it).
pub(crate) unsafe fn source_in_reply<'a>(
    state: Lua,
    reader: &mut Reader<'a>,
    what: &CStr,
) -> Option<&'a [u8]> {
    match (reader.length(), reader.u8()) {
        (Ok(1), Ok(wire::NIL)) => None,
        (Ok(1), Ok(wire::OVERSIZED)) => {
            call_state(state).reply = None;
            terminate(state, ErrorKind::Memory);
            raise_terminated(state, waiting::script_level(state));
            unreachable!("raise_terminated raises")
        }
        (Ok(1), Ok(wire::STRING)) => match reader.bytes() {
            Ok(source) => Some(source),
            Err(_) => {
                waiting::raise_malformed(state, what);
                unreachable!("raise_malformed raises")
            }
        },
        _ => {
            waiting::raise_malformed(state, what);
            unreachable!("raise_malformed raises")
        }
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

/// Compiles `source` (borrowed from the reply in the call's state) as module 1, then runs it.
unsafe fn run_module(state: Lua, source: &[u8]) -> c_int {
    compile_module(state, source);
    // Stack: name, loaded, chunk name, chunk.
    ffi::lua_remove(state, 3);
    push_guard(state);
    ffi::lua_pushvalue(state, 3);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_callk(state, 1, 1, 0, Some(finish_require));
    finish_require(state, ffi::LUA_OK, 0)
}

/// Pushes the chunk name and the chunk of module 1 (the name at stack index 1) compiled
/// from `source`, which may be borrowed from the reply in the call's state (the reply is
/// let go of once it is compiled); raises Lua's error if it does not compile.
pub(crate) unsafe fn compile_module(state: Lua, source: &[u8]) {
    // "=" makes Lua use the name verbatim in messages: `Module:Util:3: ...`.
    let chunk_name = ffi::lua_pushfstring(state, c"=%s".as_ptr(), ffi::lua_tostring(state, 1));
    let status = load_compiled(state, Kind::Module, module_name(state), source, chunk_name);
    let call = call_state(state);
    call.reply = None;
    call.module_dump = None;
    if status != ffi::LUA_OK {
        if status == ffi::LUA_ERRMEM {
            ffi::lua_error(state);
        }
        ffi::luaL_error(
            state,
            c"error loading module '%s':\n\t%s".as_ptr(),
            ffi::lua_tostring(state, 1),
            ffi::lua_tostring(state, -1),
        );
    }
}

/// Loads a chunk kept in the runner's cache as `name` (module_cache.rs): the compiled copy
/// if the cache has one for this very source, else the source as text (and the cache gets
/// its compiled form).
pub(crate) unsafe fn load_compiled(
    state: Lua,
    kind: Kind,
    name: &[u8],
    source: &[u8],
    chunk_name: *const c_char,
) -> c_int {
    let call = call_state(state);
    let cached = call
        .module_cache
        .as_ref()
        .and_then(|cache| cache.get(kind, name, source));
    if let Some(dump) = cached {
        // Kept in the call's state while Lua reads it (a memory error longjmps).
        let dump: &[u8] = &*(Arc::as_ptr(call.module_dump.insert(dump)));
        return ffi::luaL_loadbufferx(
            state,
            dump.as_ptr() as *const c_char,
            dump.len(),
            chunk_name,
            c"b".as_ptr(),
        );
    }
    let status = ffi::luaL_loadbufferx(
        state,
        source.as_ptr() as *const c_char,
        source.len(),
        chunk_name,
        c"t".as_ptr(),
    );
    if status == ffi::LUA_OK {
        let cache = call_state(state).module_cache.clone();
        if let Some(cache) = cache.filter(|cache| cache.worth_keeping(kind, name, source)) {
            let mut dump = Vec::new();
            // Line information is kept: errors in the module still say where.
            if ffi::lua_dump(
                state,
                write_dump,
                &mut dump as *mut Vec<u8> as *mut c_void,
                0,
            ) == 0
            {
                cache.insert(kind, name, source, dump);
            }
        }
    }
    status
}

unsafe extern "C-unwind" fn write_dump(
    _state: Lua,
    bytes: *const c_void,
    len: usize,
    dump: *mut c_void,
) -> c_int {
    (*(dump as *mut Vec<u8>))
        .extend_from_slice(std::slice::from_raw_parts(bytes as *const u8, len));
    0
}

/// Marks module 1 as loading until the guard pushed here is closed: when `require`
/// returns, or when an error unwinds it.
unsafe fn push_guard(state: Lua) {
    call_state(state).loading.push(module_name(state).to_vec());
    ffi::lua_newuserdatauv(state, 0, 1);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_setiuservalue(state, -2, 1);
    if ffi::luaL_newmetatable(state, GUARD.as_ptr()) != 0 {
        ffi::lua_pushcfunction(state, close_guard);
        ffi::lua_setfield(state, -2, c"__close".as_ptr());
    }
    ffi::lua_setmetatable(state, -2);
    ffi::lua_toclose(state, -1);
}

/// `__close` of a loading guard: the module is no longer loading.
unsafe extern "C-unwind" fn close_guard(state: Lua) -> c_int {
    ffi::lua_getiuservalue(state, 1, 1);
    let name = lua_bytes(state, -1).unwrap_or_default();
    let loading = &mut call_state(state).loading;
    if let Some(at) = loading.iter().rposition(|loaded| loaded.as_slice() == name) {
        loading.remove(at);
    }
    0
}

/// After the module (or preload loader) ran: its result goes to `package.loaded[name]`
/// (`true` if it returned nothing and set nothing there), which `require` returns.
unsafe extern "C-unwind" fn finish_require(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    if ffi::lua_isnil(state, -1) == 0 {
        ffi::lua_pushvalue(state, 1);
        ffi::lua_pushvalue(state, -2);
        ffi::lua_rawset(state, 2);
    }
    ffi::lua_pushvalue(state, 1);
    if ffi::lua_rawget(state, 2) == ffi::LUA_TNIL {
        ffi::lua_pushboolean(state, 1);
        ffi::lua_pushvalue(state, 1);
        ffi::lua_pushvalue(state, -2);
        ffi::lua_rawset(state, 2);
    }
    1
}

/// The main function of an invoked call: `require(module)[function](...)`, with the
/// module's and the function's names and the arguments as its own arguments.
pub(crate) unsafe extern "C-unwind" fn invoke(state: Lua) -> c_int {
    ffi::lua_pushcfunction(state, require);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_callk(state, 1, 1, 0, Some(invoke_required));
    invoke_required(state, ffi::LUA_OK, 0)
}

/// The module is there (on top): call its function.
unsafe extern "C-unwind" fn invoke_required(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    let exports = ffi::lua_gettop(state);
    let nargs = exports - 3;
    if ffi::lua_type(state, exports) == ffi::LUA_TTABLE {
        ffi::lua_pushvalue(state, 2);
        ffi::lua_gettable(state, exports);
    } else {
        ffi::lua_pushnil(state);
    }
    if ffi::lua_type(state, -1) != ffi::LUA_TFUNCTION {
        return ffi::luaL_error(
            state,
            c"function '%s' not found in module '%s'".as_ptr(),
            ffi::lua_tostring(state, 2),
            ffi::lua_tostring(state, 1),
        );
    }
    let function = ffi::lua_gettop(state);
    for arg in 3..3 + nargs {
        ffi::lua_pushvalue(state, arg);
    }
    ffi::lua_callk(
        state,
        nargs,
        ffi::LUA_MULTRET,
        function as ffi::lua_KContext,
        Some(invoke_done),
    );
    invoke_done(state, ffi::LUA_OK, function as ffi::lua_KContext)
}

/// The function's results are the call's.
unsafe extern "C-unwind" fn invoke_done(
    state: Lua,
    _status: c_int,
    function: ffi::lua_KContext,
) -> c_int {
    ffi::lua_gettop(state) - (function as c_int - 1)
}
