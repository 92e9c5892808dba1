//! The sandboxed global environment: which standard libraries a script gets, and the
//! C functions that replace the unsafe or host-facing ones (`print`, `io.write`, `load`,
//! `pcall`, `xpcall`, the coroutine functions, `os.clock`, `debug.traceback`).
//!
//! The chunk runs in a coroutine of its own, so that a host function can suspend it
//! (host_function.rs). So the coroutine functions here pass such a wait on to their own
//! resumer, and hide that coroutine from the script: it is the main thread as far as
//! `coroutine.running`, `coroutine.isyieldable` and `coroutine.yield` can tell.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::Ordering;

use mlua::ffi;

use crate::lua::Lua;

use crate::call_state::call_state;
use crate::interrupt::{check_before_c_call, raise_terminated, set_hook, terminate};
use crate::numbers::{format_float, format_integer};
use crate::outcome::ErrorKind;

const LIBRARIES: [(&CStr, ffi::lua_CFunction); 7] = [
    (c"_G", ffi::luaopen_base),
    (c"string", ffi::luaopen_string),
    (c"table", ffi::luaopen_table),
    (c"math", ffi::luaopen_math),
    (c"utf8", ffi::luaopen_utf8),
    (c"coroutine", ffi::luaopen_coroutine),
    (c"os", ffi::luaopen_os),
];

/// Keys of the sandbox's `_G` (tests/run.rs lists them).
const GLOBALS: c_int = 33;

/// Functions that reach the file system, the process or bytecode.
const REMOVED: [(&CStr, &CStr); 10] = [
    (c"_G", c"dofile"),
    (c"_G", c"loadfile"),
    (c"string", c"dump"),
    (c"os", c"execute"),
    (c"os", c"exit"),
    (c"os", c"getenv"),
    (c"os", c"remove"),
    (c"os", c"rename"),
    (c"os", c"tmpname"),
    (c"os", c"setlocale"),
];

/// Opens the sandboxed libraries. Runs under `lua_pcall`, so it may raise (out of memory).
pub unsafe extern "C-unwind" fn open(state: Lua) -> c_int {
    // Messages from `warn` and from failing `__gc` finalizers must not reach the host's stderr.
    ffi::lua_setwarnf(state, None, std::ptr::null_mut());
    // The globals and loaded-modules tables sized for what goes into them: grown key by key
    // they would rehash several times. (Nothing refers to the state's own empty ones yet.)
    ffi::lua_createtable(state, 0, GLOBALS);
    ffi::lua_rawseti(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_GLOBALS);
    ffi::lua_createtable(state, 0, LIBRARIES.len() as c_int + 3);
    ffi::lua_setfield(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE);
    for (name, open) in LIBRARIES {
        ffi::luaL_requiref(state, name.as_ptr(), open, 1);
        ffi::lua_pop(state, 1);
    }
    for (library, field) in REMOVED {
        ffi::lua_getglobal(state, library.as_ptr());
        ffi::lua_pushnil(state);
        ffi::lua_setfield(state, -2, field.as_ptr());
        ffi::lua_pop(state, 1);
    }
    ffi::lua_getglobal(state, c"_G".as_ptr());
    set_function(state, c"print", lua_print);
    set_function(state, c"tostring", lua_tostring);
    set_function(state, c"pcall", lua_pcall);
    set_function(state, c"xpcall", lua_xpcall);
    wrap_function(state, c"setmetatable", lua_setmetatable);
    wrap_function(state, c"load", lua_load_text);
    #[cfg(target_family = "wasm")]
    wrap_function(state, c"collectgarbage", lua_collectgarbage);
    crate::modules::open(state);
    ffi::lua_pop(state, 1);

    // The original `math.randomseed`, which reseeds every call (`reseed`).
    ffi::lua_getglobal(state, c"math".as_ptr());
    ffi::lua_getfield(state, -1, c"randomseed".as_ptr());
    ffi::lua_rawsetp(
        state,
        ffi::LUA_REGISTRYINDEX,
        &RANDOMSEED as *const u8 as *const c_void,
    );
    ffi::lua_pop(state, 1);

    // Lua's C pattern matcher cannot be interrupted; ours checks the time limit.
    ffi::lua_getglobal(state, c"string".as_ptr());
    set_function(state, c"find", crate::pattern::find);
    set_function(state, c"match", crate::pattern::str_match);
    set_function(state, c"gmatch", crate::pattern::gmatch);
    set_function(state, c"gsub", crate::pattern::gsub);
    wrap_function(state, c"rep", lua_rep);
    ffi::lua_pop(state, 1);

    // Lua's loops over table elements cannot be interrupted; ours check the time limit.
    ffi::lua_getglobal(state, c"table".as_ptr());
    set_function(state, c"concat", crate::table::concat);
    set_function(state, c"insert", crate::table::insert);
    set_function(state, c"remove", crate::table::remove);
    set_function(state, c"move", crate::table::move_elements);
    set_function(state, c"sort", crate::table::sort);
    ffi::lua_pop(state, 1);

    // Coroutine switches go through these, so the hook follows whichever thread runs.
    ffi::lua_getglobal(state, c"coroutine".as_ptr());
    set_function(state, c"resume", lua_resume);
    set_function(state, c"wrap", lua_wrap);
    wrap_function(state, c"close", lua_close_coroutine);
    wrap_function(state, c"yield", lua_yield);
    wrap_function(state, c"isyieldable", lua_isyieldable);
    wrap_function(state, c"running", lua_running);
    ffi::lua_pop(state, 1);

    ffi::lua_getglobal(state, c"os".as_ptr());
    set_function(state, c"clock", lua_clock);
    ffi::lua_pop(state, 1);

    // io: `write` only; it returns the io table so that `io.write(a):write(b)` chains.
    ffi::lua_createtable(state, 0, 1);
    ffi::lua_pushvalue(state, -1);
    ffi::lua_pushcclosure(state, lua_io_write, 1);
    ffi::lua_setfield(state, -2, c"write".as_ptr());
    register_library(state, c"io");

    ffi::lua_createtable(state, 0, 1);
    set_function(state, c"traceback", lua_traceback);
    register_library(state, c"debug");
    0
}

/// The registry key of the original `math.randomseed`.
static RANDOMSEED: u8 = 0;

/// Seeds `math.random` with `seed` (a call's own: runner.rs). Runs under `lua_pcall`.
pub(crate) unsafe fn reseed(state: Lua, seed: [i64; 2]) {
    ffi::lua_rawgetp(
        state,
        ffi::LUA_REGISTRYINDEX,
        &RANDOMSEED as *const u8 as *const c_void,
    );
    ffi::lua_pushinteger(state, seed[0]);
    ffi::lua_pushinteger(state, seed[1]);
    ffi::lua_call(state, 2, 0);
}

/// Sets the table on top of the stack as global `name` (and in `package.loaded`, which
/// Lua's argument errors use to name functions, e.g. "bad argument #1 to 'io.write'").
unsafe fn register_library(state: Lua, name: &CStr) {
    ffi::luaL_getsubtable(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE);
    ffi::lua_pushvalue(state, -2);
    ffi::lua_setfield(state, -2, name.as_ptr());
    ffi::lua_pop(state, 1);
    ffi::lua_setglobal(state, name.as_ptr());
}

unsafe fn set_function(state: Lua, name: &CStr, function: ffi::lua_CFunction) {
    ffi::lua_pushcfunction(state, function);
    ffi::lua_setfield(state, -2, name.as_ptr());
}

/// Replaces field `name` of the table on top with `wrapper`, which gets the original as upvalue 1.
unsafe fn wrap_function(state: Lua, name: &CStr, wrapper: ffi::lua_CFunction) {
    ffi::lua_getfield(state, -1, name.as_ptr());
    ffi::lua_pushcclosure(state, wrapper, 1);
    ffi::lua_setfield(state, -2, name.as_ptr());
}

/// Appends to the call's output, or ends the call once the output limit is reached
/// (keeping the output up to the limit).
unsafe fn write_output(state: Lua, bytes: &[u8]) {
    let call = call_state(state);
    let room = call.output_limit - call.output.len();
    if bytes.len() <= room {
        call.output.extend_from_slice(bytes);
        return;
    }
    call.output.extend_from_slice(&bytes[..room]);
    terminate(state, ErrorKind::Output);
    raise_terminated(state, 1);
}

unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> &'a [u8] {
    std::slice::from_raw_parts(ptr as *const u8, len)
}

/// `print(...)`: Lua's own `tostring` of each argument, tab-separated, newline-terminated.
unsafe extern "C-unwind" fn lua_print(state: Lua) -> c_int {
    let n = ffi::lua_gettop(state);
    for i in 1..=n {
        if i > 1 {
            write_output(state, b"\t");
        }
        // Integers cannot carry a `__tostring` of their own (no `debug.setmetatable`), so
        // they skip the metamethod lookup and C's printf.
        if ffi::lua_isinteger(state, i) != 0 {
            let mut digits = [0u8; 20];
            write_output(
                state,
                format_integer(ffi::lua_tointeger(state, i), &mut digits),
            );
            continue;
        }
        if let Some(float) = float_as_51(state, i) {
            let mut buf = [0u8; 64];
            write_output(state, format_float(float, &mut buf));
            continue;
        }
        let mut len = 0;
        let text = ffi::luaL_tolstring(state, i, &mut len);
        write_output(state, bytes(text, len));
        ffi::lua_pop(state, 1);
    }
    write_output(state, b"\n");
    0
}

/// `tostring(v)`: Lua's own, with the integer fast path of `print`.
unsafe extern "C-unwind" fn lua_tostring(state: Lua) -> c_int {
    ffi::luaL_checkany(state, 1);
    if ffi::lua_isinteger(state, 1) != 0 {
        let mut digits = [0u8; 20];
        let text = format_integer(ffi::lua_tointeger(state, 1), &mut digits);
        ffi::lua_pushlstring(state, text.as_ptr() as *const c_char, text.len());
    } else if let Some(float) = float_as_51(state, 1) {
        let mut buf = [0u8; 64];
        let text = format_float(float, &mut buf);
        ffi::lua_pushlstring(state, text.as_ptr() as *const c_char, text.len());
    } else {
        ffi::luaL_tolstring(state, 1, std::ptr::null_mut());
    }
    1
}

/// The float at `idx` when the call writes floats as Lua 5.1 does ("%.14g", so that
/// `10/2` is `5`: `mw`'s `lua51Numbers`).
#[inline]
unsafe fn float_as_51(state: Lua, idx: c_int) -> Option<f64> {
    (ffi::lua_type(state, idx) == ffi::LUA_TNUMBER && call_state(state).numbers51)
        .then(|| ffi::lua_tonumber(state, idx))
}

/// `io.write(...)`: strings and numbers only, no separators; numbers as real Lua's io.write.
unsafe extern "C-unwind" fn lua_io_write(state: Lua) -> c_int {
    let n = ffi::lua_gettop(state);
    // Called as a method (`io.write(a):write(b)`): skip the io table itself.
    let first = if n >= 1 && ffi::lua_rawequal(state, 1, ffi::lua_upvalueindex(1)) != 0 {
        2
    } else {
        1
    };
    for i in first..=n {
        if ffi::lua_isinteger(state, i) != 0 {
            let mut digits = [0u8; 20];
            write_output(
                state,
                format_integer(ffi::lua_tointeger(state, i), &mut digits),
            );
        } else if ffi::lua_type(state, i) == ffi::LUA_TNUMBER {
            // Real Lua's io.write writes floats with "%.14g" (no ".0", unlike tostring).
            let mut buf = [0u8; 64];
            write_output(state, format_float(ffi::lua_tonumber(state, i), &mut buf));
        } else {
            let mut len = 0;
            let text = ffi::luaL_checklstring(state, i, &mut len);
            write_output(state, bytes(text, len));
        }
    }
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    1
}

/// Errors a script may not swallow: once the call is terminated (time, output) or out of
/// memory, a caught error is raised again so that `pcall` loops cannot outlive a limit.
unsafe fn rethrow_if_fatal(state: Lua, status: c_int) {
    if status == ffi::LUA_ERRMEM {
        terminate(state, ErrorKind::Memory);
    }
    if call_state(state).terminated.is_some() {
        ffi::lua_error(state);
    }
}

/// Continuation shared by `pcall` and `xpcall` (also used when a yield inside them resumes).
unsafe extern "C-unwind" fn finish_pcall(
    state: Lua,
    status: c_int,
    extra: ffi::lua_KContext,
) -> c_int {
    if status != ffi::LUA_OK && status != ffi::LUA_YIELD {
        rethrow_if_fatal(state, status);
        ffi::lua_pushboolean(state, 0);
        ffi::lua_pushvalue(state, -2);
        return 2;
    }
    ffi::lua_gettop(state) - extra as c_int
}

/// `pcall` that knows Lua's status codes (the standard one hides them).
unsafe extern "C-unwind" fn lua_pcall(state: Lua) -> c_int {
    ffi::luaL_checkany(state, 1);
    ffi::lua_pushboolean(state, 1);
    ffi::lua_insert(state, 1);
    let nargs = ffi::lua_gettop(state) - 2;
    let status = ffi::lua_pcallk(state, nargs, ffi::LUA_MULTRET, 0, 0, Some(finish_pcall));
    finish_pcall(state, status, 0)
}

unsafe extern "C-unwind" fn lua_xpcall(state: Lua) -> c_int {
    let n = ffi::lua_gettop(state);
    ffi::luaL_checktype(state, 2, ffi::LUA_TFUNCTION);
    ffi::lua_pushvalue(state, 2);
    ffi::lua_pushcclosure(state, guarded_handler, 1);
    ffi::lua_replace(state, 2);
    // Stack becomes: f, handler, true, f, args...
    ffi::lua_pushboolean(state, 1);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_rotate(state, 3, 2);
    let status = ffi::lua_pcallk(state, n - 2, ffi::LUA_MULTRET, 2, 2, Some(finish_pcall));
    finish_pcall(state, status, 2)
}

/// Runs the script's `xpcall` handler unless the call is terminated: the error that ends a
/// call is raised inside the count hook, where Lua runs handlers with hooks disabled, so a
/// looping handler could never be stopped.
unsafe extern "C-unwind" fn guarded_handler(state: Lua) -> c_int {
    if call_state(state).terminated.is_some() {
        return 1;
    }
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, ffi::lua_gettop(state) - 1, 1);
    1
}

/// `string.rep(s, n [, sep])` that returns at once when the result is empty: Lua's copies
/// nothing `n` times, a loop with no instruction or allocation that limits could stop.
unsafe extern "C-unwind" fn lua_rep(state: Lua) -> c_int {
    let (mut len, mut sep_len) = (0, 0);
    ffi::luaL_checklstring(state, 1, &mut len);
    let n = ffi::luaL_checkinteger(state, 2);
    ffi::luaL_optlstring(state, 3, c"".as_ptr(), &mut sep_len);
    let piece = len as u64 + sep_len as u64;
    if n <= 0 || piece == 0 {
        ffi::lua_pushstring(state, c"".as_ptr());
        return 1;
    }
    // Lua's own size check, raised here so that the message says where (Lua's would not:
    // it runs below this function).
    if piece > c_int::MAX as u64 / n as u64 {
        return ffi::luaL_error(state, c"resulting string too large".as_ptr());
    }
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, ffi::lua_gettop(state) - 1, 1);
    1
}

/// `setmetatable` without `__gc`: Lua runs finalizers with hooks disabled, so a looping
/// finalizer could not be stopped by the time limit.
unsafe extern "C-unwind" fn lua_setmetatable(state: Lua) -> c_int {
    if ffi::lua_type(state, 2) == ffi::LUA_TTABLE {
        ffi::lua_pushstring(state, c"__gc".as_ptr());
        let has_gc = ffi::lua_rawget(state, 2) != ffi::LUA_TNIL;
        ffi::lua_pop(state, 1);
        if has_gc {
            return ffi::luaL_error(
                state,
                c"__gc metamethods are not allowed in the sandbox".as_ptr(),
            );
        }
    }
    call_original(state)
}

/// Runs the wrapped function (a plain C function, upvalue 1 of its wrapper) in the
/// wrapper's own frame, with its arguments: called through `lua_call` instead, its argument
/// errors would name no function ("bad argument #1 to '?'") and no line.
unsafe fn call_original(state: Lua) -> c_int {
    match ffi::lua_tocfunction(state, ffi::lua_upvalueindex(1)) {
        Some(original) => original(state),
        None => ffi::luaL_error(state, c"pubwiki-lua: wrapped function missing".as_ptr()),
    }
}

/// `collectgarbage`: a collection runs as long as the heap is big, with no step of wasm's
/// interpreter counter (crates/wasm/c/fuel.h) in between, so the clock is read after each.
#[cfg(target_family = "wasm")]
unsafe extern "C-unwind" fn lua_collectgarbage(state: Lua) -> c_int {
    let results = call_original(state);
    crate::fuel::fuel_empty();
    results
}

unsafe extern "C-unwind" {
    // Lua >= 5.4.6 (both builds have it); mlua-sys declares it only for `vendored`.
    fn lua_closethread(state: Lua, from: Lua) -> c_int;
}

/// Closes `coroutine`'s pending to-be-closed variables (their handlers run in it, under
/// the limits) and resets it; Lua's status, with an error on its stack. `None`, running
/// nothing, once a limit has ended the call: the limit's error is raised in the count
/// hook, where Lua turns hooks off, and a coroutine that died of it keeps them off, so a
/// handler run in it could loop with no hook to stop it. Every close of a coroutine goes
/// through here (`coroutine.close`, a failed `coroutine.wrap`, the chunk's own coroutine).
pub(crate) unsafe fn close_coroutine(state: Lua, coroutine: Lua) -> Option<c_int> {
    if call_state(state).terminated.is_some() {
        return None;
    }
    let previous = enter(state, coroutine);
    let status = lua_closethread(coroutine, state);
    leave(state, previous);
    Some(status)
}

/// Makes `coroutine` the running Lua thread; returns the previous one for `leave`.
unsafe fn enter(state: Lua, coroutine: Lua) -> Lua {
    let call = call_state(state);
    crate::preempt::hook_thread(call, coroutine);
    let previous = call.running.swap(coroutine, Ordering::SeqCst);
    call.resumers.push(previous);
    previous
}

unsafe fn leave(state: Lua, previous: Lua) {
    let call = call_state(state);
    call.resumers.pop();
    call.running.store(previous, Ordering::SeqCst);
    if call.hook_everywhere.load(Ordering::SeqCst) {
        set_hook(state);
    }
}

/// What `resume` returns when the coroutine yielded because a host function waits.
const WAITING: c_int = -2;

/// Resumes `coroutine` with `nargs` values from the top of the stack, as Lua's own
/// `coroutine.resume` does. Returns the number of results moved to the stack, -1 with
/// the error message on top, or `WAITING`. Nothing between `enter` and `leave` can raise.
unsafe fn resume(state: Lua, coroutine: Lua, nargs: c_int) -> c_int {
    let status = ffi::lua_status(coroutine);
    if status == ffi::LUA_OK && ffi::lua_gettop(coroutine) == 0 {
        ffi::lua_pushstring(state, c"cannot resume dead coroutine".as_ptr());
        return -1;
    }
    if ffi::lua_checkstack(coroutine, nargs) == 0 {
        ffi::lua_pushstring(state, c"too many arguments to resume".as_ptr());
        return -1;
    }
    ffi::lua_xmove(state, coroutine, nargs);
    let previous = enter(state, coroutine);
    let mut nresults = 0;
    let status = ffi::lua_resume(coroutine, state, nargs, &mut nresults);
    leave(state, previous);
    if status == ffi::LUA_YIELD && call_state(state).waiting {
        // A host function yielded to wait (with no values): pass it on.
        return WAITING;
    }
    if status == ffi::LUA_OK || status == ffi::LUA_YIELD {
        if ffi::lua_checkstack(state, nresults + 1) == 0 {
            ffi::lua_pop(coroutine, nresults);
            ffi::lua_pushstring(state, c"too many results to resume".as_ptr());
            return -1;
        }
        ffi::lua_xmove(coroutine, state, nresults);
        nresults
    } else {
        ffi::lua_xmove(coroutine, state, 1);
        -1
    }
}

unsafe fn check_coroutine(state: Lua, arg: c_int) -> Lua {
    let coroutine = ffi::lua_tothread(state, arg);
    if coroutine.is_null() {
        let message = ffi::lua_pushfstring(
            state,
            c"coroutine expected, got %s".as_ptr(),
            ffi::luaL_typename(state, arg),
        );
        ffi::luaL_argerror(state, arg, message);
    }
    coroutine
}

/// `coroutine.resume`; a fatal error inside the coroutine ends the whole call.
unsafe extern "C-unwind" fn lua_resume(state: Lua) -> c_int {
    let coroutine = check_coroutine(state, 1);
    let n = resume(state, coroutine, ffi::lua_gettop(state) - 1);
    finish_resume(state, coroutine, n)
}

/// `coroutine.resume` once the host answered a wait inside the coroutine: resume it again
/// (the answer is in the call's state, for the waiting host function).
unsafe extern "C-unwind" fn continue_resume(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    let coroutine = ffi::lua_tothread(state, 1);
    let n = resume(state, coroutine, 0);
    finish_resume(state, coroutine, n)
}

unsafe fn finish_resume(state: Lua, coroutine: Lua, n: c_int) -> c_int {
    if n == WAITING {
        return ffi::lua_yieldk(state, 0, 0, Some(continue_resume));
    }
    if n < 0 {
        rethrow_if_fatal(state, ffi::lua_status(coroutine));
        ffi::lua_pushboolean(state, 0);
        ffi::lua_insert(state, -2);
        return 2;
    }
    ffi::lua_pushboolean(state, 1);
    ffi::lua_insert(state, -(n + 1));
    n + 1
}

/// `coroutine.wrap`, built on `resume` above.
unsafe extern "C-unwind" fn lua_wrap(state: Lua) -> c_int {
    ffi::luaL_checktype(state, 1, ffi::LUA_TFUNCTION);
    let coroutine = ffi::lua_newthread(state);
    ffi::lua_pushvalue(state, 1);
    ffi::lua_xmove(state, coroutine, 1);
    ffi::lua_pushcclosure(state, wrapped_call, 1);
    1
}

unsafe extern "C-unwind" fn wrapped_call(state: Lua) -> c_int {
    let coroutine = ffi::lua_tothread(state, ffi::lua_upvalueindex(1));
    let n = resume(state, coroutine, ffi::lua_gettop(state));
    finish_wrapped_call(state, coroutine, n)
}

unsafe extern "C-unwind" fn continue_wrapped_call(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    let coroutine = ffi::lua_tothread(state, ffi::lua_upvalueindex(1));
    let n = resume(state, coroutine, 0);
    finish_wrapped_call(state, coroutine, n)
}

unsafe fn finish_wrapped_call(state: Lua, coroutine: Lua, n: c_int) -> c_int {
    if n == WAITING {
        return ffi::lua_yieldk(state, 0, 0, Some(continue_wrapped_call));
    }
    if n >= 0 {
        return n;
    }
    let mut status = ffi::lua_status(coroutine);
    if status != ffi::LUA_OK && status != ffi::LUA_YIELD {
        // The coroutine died: close its to-be-closed variables (they run in it).
        if let Some(closed) = close_coroutine(state, coroutine) {
            status = closed;
            ffi::lua_xmove(coroutine, state, 1);
        }
    }
    if status == ffi::LUA_ERRMEM {
        terminate(state, ErrorKind::Memory);
    } else if ffi::lua_type(state, -1) == ffi::LUA_TSTRING {
        ffi::luaL_where(state, 1);
        ffi::lua_insert(state, -2);
        ffi::lua_concat(state, 2);
    }
    ffi::lua_error(state)
}

/// Whether `thread` is the coroutine the chunk runs in, which scripts see as the main thread.
unsafe fn is_chunk_thread(state: Lua, thread: Lua) -> bool {
    thread == call_state(state).main
}

/// `coroutine.yield`: as outside any coroutine, the chunk itself cannot yield.
unsafe extern "C-unwind" fn lua_yield(state: Lua) -> c_int {
    if is_chunk_thread(state, state) {
        return ffi::luaL_error(state, c"attempt to yield from outside a coroutine".as_ptr());
    }
    call_original(state)
}

/// `coroutine.isyieldable([co])`: false for the chunk's own thread, as for a main thread.
unsafe extern "C-unwind" fn lua_isyieldable(state: Lua) -> c_int {
    let thread = if ffi::lua_isnone(state, 1) != 0 {
        state
    } else {
        check_coroutine(state, 1)
    };
    if is_chunk_thread(state, thread) {
        ffi::lua_pushboolean(state, 0);
        return 1;
    }
    call_original(state)
}

/// `coroutine.running()`: says "main" for the chunk's own thread.
unsafe extern "C-unwind" fn lua_running(state: Lua) -> c_int {
    let results = call_original(state);
    if is_chunk_thread(state, state) {
        ffi::lua_pushboolean(state, 1);
        ffi::lua_replace(state, -2);
    }
    results
}

/// The C functions here that call Lua with a continuation, so that a host wait passes
/// through them (waiting.rs): the protected calls and the coroutine switches.
pub(crate) const PASSES_YIELDS: [ffi::lua_CFunction; 4] =
    [lua_pcall, lua_xpcall, lua_resume, wrapped_call];

/// Readable names for the C functions here that are not library fields (waiting.rs).
pub(crate) const DESCRIBED: [(ffi::lua_CFunction, &str); 2] = [
    (guarded_handler, "an xpcall message handler"),
    (guarded_reader, "a load reader"),
];

/// `coroutine.close`: the closing `__close` handlers run in the coroutine.
unsafe extern "C-unwind" fn lua_close_coroutine(state: Lua) -> c_int {
    let coroutine = check_coroutine(state, 1);
    let mut frame: ffi::lua_Debug = std::mem::zeroed();
    let active = coroutine == state
        || (ffi::lua_status(coroutine) == ffi::LUA_OK
            && ffi::lua_getstack(coroutine, 0, &mut frame) != 0);
    if active {
        // Lua's own close raises the right error for a running or normal coroutine.
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_call(state, ffi::lua_gettop(state) - 1, ffi::LUA_MULTRET);
        return ffi::lua_gettop(state);
    }
    let Some(status) = close_coroutine(state, coroutine) else {
        return raise_terminated(state, 1);
    };
    if status == ffi::LUA_OK {
        ffi::lua_pushboolean(state, 1);
        return 1;
    }
    rethrow_if_fatal(state, status);
    ffi::lua_pushboolean(state, 0);
    ffi::lua_xmove(coroutine, state, 1);
    2
}

/// `load` restricted to text chunks: binary chunks could break the VM.
unsafe extern "C-unwind" fn lua_load_text(state: Lua) -> c_int {
    let n = ffi::lua_gettop(state);
    if ffi::lua_iscfunction(state, 1) != 0 {
        ffi::lua_pushvalue(state, 1);
        ffi::lua_pushcclosure(state, guarded_reader, 1);
        ffi::lua_replace(state, 1);
    }
    if n >= 3 {
        ffi::lua_pushstring(state, c"t".as_ptr());
        ffi::lua_replace(state, 3);
    } else {
        // Pad chunkname; leave env absent (absent and nil differ for `load`).
        ffi::lua_settop(state, 2);
        ffi::lua_pushstring(state, c"t".as_ptr());
    }
    call_original(state)
}

/// A C function as `load` reader, called only while the call has time left: the parser
/// calls it in a loop that runs no instructions the count hook could stop, and one call can
/// be long (`load(collectgarbage)` reads "0" after "0", each after a full collection).
unsafe extern "C-unwind" fn guarded_reader(state: Lua) -> c_int {
    check_before_c_call(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_call(state, 0, 1);
    1
}

/// `os.clock()`: seconds since this call started (the host's CPU clock is not per call).
unsafe extern "C-unwind" fn lua_clock(state: Lua) -> c_int {
    let call = call_state(state);
    let seconds = ((call.clock)() - call.started) / 1000.0;
    ffi::lua_pushnumber(state, seconds);
    1
}

/// `debug.traceback([thread,] [message [, level]])`, the only `debug` function offered.
unsafe extern "C-unwind" fn lua_traceback(state: Lua) -> c_int {
    let (target, arg) = if ffi::lua_type(state, 1) == ffi::LUA_TTHREAD {
        (ffi::lua_tothread(state, 1), 1)
    } else {
        (state, 0)
    };
    let message = ffi::lua_tostring(state, arg + 1);
    if message.is_null() && ffi::lua_isnoneornil(state, arg + 1) == 0 {
        ffi::lua_pushvalue(state, arg + 1);
        return 1;
    }
    let level = ffi::luaL_optinteger(state, arg + 2, if target == state { 1 } else { 0 });
    ffi::luaL_traceback(state, target, message, level as c_int);
    1
}

unsafe extern "C-unwind" fn tostring(state: Lua) -> c_int {
    ffi::luaL_tolstring(state, 1, std::ptr::null_mut());
    1
}

/// Pushes a readable message for the error value at `idx`: strings and numbers as they
/// are, `__tostring` when it works, otherwise "(error object is a <type> value)".
pub unsafe fn push_error_message(state: Lua, idx: c_int) {
    let idx = ffi::lua_absindex(state, idx);
    match ffi::lua_type(state, idx) {
        ffi::LUA_TSTRING => {
            ffi::lua_pushvalue(state, idx);
            return;
        }
        ffi::LUA_TNUMBER => {
            ffi::luaL_tolstring(state, idx, std::ptr::null_mut());
            return;
        }
        _ => {}
    }
    if ffi::luaL_getmetafield(state, idx, c"__tostring".as_ptr()) != ffi::LUA_TNIL {
        ffi::lua_pop(state, 1);
        ffi::lua_pushcfunction(state, tostring);
        ffi::lua_pushvalue(state, idx);
        if ffi::lua_pcall(state, 1, 1, 0) == ffi::LUA_OK
            && ffi::lua_type(state, -1) == ffi::LUA_TSTRING
        {
            return;
        }
        ffi::lua_pop(state, 1);
    }
    ffi::lua_pushfstring(
        state,
        c"(error object is a %s value)".as_ptr(),
        ffi::luaL_typename(state, idx),
    );
}
