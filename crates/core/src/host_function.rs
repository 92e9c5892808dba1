//! Host functions in Lua: the C closure that stands for each function the host gave (in
//! its globals or in a result), how a call of it reaches the host, and how it waits.
//!
//! Each is a closure of [`call`] with two upvalues: the host's number for the function and
//! its name for messages. A call encodes its arguments (wire.rs), asks the host (request.rs)
//! and turns the reply into results, a Lua error at the call site, or a wait:
//!
//! - A wait yields the running coroutine with [`resumed`] as continuation. The chunk runs
//!   in a coroutine of its own (`CallState::main`) and the sandbox's `coroutine.resume` and
//!   `coroutine.wrap` pass such a yield on to their own resumer, so it reaches the driver
//!   from any depth of the script's coroutines, and `pcall` and `xpcall` let it through
//!   (their continuations). The driver resumes the call with the answer in
//!   `CallState::reply`, and the script goes on as if the function had returned.
//! - Lua cannot yield across a C function that called Lua without a continuation
//!   (`table.sort` comparators, `gsub` callbacks, `__tostring` from `print`). Every thread
//!   on the way must be yieldable; where one is not, a pending answer is a Lua error that
//!   names that C function.
//!
//! Lua errors are C longjmps through these frames: the reply waits in the call's state
//! while it is turned into Lua values, and no frame owns a value with a destructor when a
//! Lua function that may raise is called.

use std::ffi::{c_char, c_int};

use mlua::ffi;

use crate::convert::{self, PushError};
use crate::interrupt::{raise_terminated, terminate, time_is_up};
use crate::outcome::ErrorKind;
use crate::request::{Deadline, Request};
use crate::sandbox;
use crate::state::{call_state, lua_bytes, lua_string, HOST_ERRORS_KEPT};
use crate::wire::{self, Reader, Writer};

type Lua = *mut ffi::lua_State;

/// The Lua function for host function number `upvalue 1`, named `upvalue 2`.
pub(crate) unsafe extern "C-unwind" fn call(state: Lua) -> c_int {
    if call_state(state).terminated.is_some() {
        return raise_terminated(state, script_level(state));
    }
    match ask_host(state) {
        Ok(()) => answer(state, false),
        Err(Refused::Argument(arg, why)) => {
            ffi::lua_pushlstring(state, why.as_ptr() as *const c_char, why.len());
            let why = ffi::lua_tolstring(state, -1, std::ptr::null_mut());
            let message = ffi::lua_pushfstring(state, c"cannot be converted: %s".as_ptr(), why);
            ffi::luaL_argerror(state, arg, message)
        }
        Err(Refused::NoHost) => ffi::luaL_error(
            state,
            c"host function called outside the call it belongs to".as_ptr(),
        ),
    }
}

enum Refused {
    Argument(c_int, &'static str),
    NoHost,
}

/// Encodes the arguments and asks the host; its reply goes to `CallState::reply`. Raises
/// nothing (the Rust values it makes are gone before its caller calls Lua again).
unsafe fn ask_host(state: Lua) -> Result<(), Refused> {
    let top = ffi::lua_gettop(state);
    let mut args = Writer::new();
    args.count(top as usize);
    for arg in 1..=top {
        convert::encode(state, arg, &mut args).map_err(|why| Refused::Argument(arg, why))?;
    }
    let function = ffi::lua_tointeger(state, ffi::lua_upvalueindex(1)) as u32;
    let name = function_name(state);
    let call = call_state(state);
    let host = call.host.ok_or(Refused::NoHost)?;
    let deadline = Deadline {
        at: call.deadline,
        clock: call.clock,
    };
    let args = args.into_bytes();
    let request = Request::Call {
        function,
        name,
        args: &args,
        can_wait: can_wait(state),
    };
    let reply = (*host).request(request, deadline);
    call_state(state).reply = Some(reply);
    Ok(())
}

/// The stack level of the Lua function that called this host function, directly or
/// through C functions such as `pcall`: where its errors say they happened (`error`
/// through `pcall(error, ...)` would say nowhere, which helps nobody).
unsafe fn script_level(state: Lua) -> c_int {
    let mut frame: ffi::lua_Debug = std::mem::zeroed();
    let mut level = 1;
    while ffi::lua_getstack(state, level, &mut frame) != 0 {
        ffi::lua_getinfo(state, c"l".as_ptr(), &mut frame);
        if frame.currentline > 0 {
            return level;
        }
        level += 1;
    }
    1
}

/// This host function's name (its second upvalue), borrowed from Lua.
unsafe fn function_name<'a>(state: Lua) -> &'a str {
    let bytes = lua_bytes(state, ffi::lua_upvalueindex(2)).unwrap_or(b"?");
    std::str::from_utf8(bytes).unwrap_or("?")
}

/// Acts on the reply in `CallState::reply`: returns its values, raises its error, or
/// waits. `resumed`: this is the answer to a wait, which cannot be another wait.
unsafe fn answer(state: Lua, resumed: bool) -> c_int {
    let call = call_state(state);
    // Borrowed from the call's state, which keeps it until the values are made.
    let reply: &[u8] = match &call.reply {
        Some(reply) => &*(reply.as_slice() as *const [u8]),
        None => &[],
    };
    if reply.is_empty() {
        // The driver gave up waiting: the time is up.
        call.reply = None;
        terminate(state, ErrorKind::Timeout);
        return raise_terminated(state, script_level(state));
    }
    let mut reader = Reader::new(reply);
    match reader.u8() {
        Ok(wire::REPLY_VALUES) => push_results(state, &mut reader),
        Ok(wire::REPLY_ERROR) => raise_host_error(state, &mut reader),
        Ok(wire::REPLY_PENDING) if !resumed => wait(state),
        _ => {
            call.reply = None;
            ffi::luaL_error(
                state,
                c"pubwiki-lua: malformed reply from the host".as_ptr(),
            )
        }
    }
}

unsafe fn push_results(state: Lua, reader: &mut Reader) -> c_int {
    let base = ffi::lua_gettop(state);
    let pushed = reader.length().map_err(PushError::from).and_then(|count| {
        (0..count)
            .try_for_each(|_| convert::push(state, reader, call))
            .map(|()| count)
    });
    call_state(state).reply = None;
    match pushed {
        Ok(count) => {
            after_host_call(state);
            count as c_int
        }
        Err(PushError::Oversized) => {
            ffi::lua_settop(state, base);
            terminate(state, ErrorKind::Memory);
            raise_terminated(state, script_level(state))
        }
        Err(PushError::Malformed(_)) => {
            ffi::lua_settop(state, base);
            ffi::luaL_error(
                state,
                c"pubwiki-lua: malformed value from the host".as_ptr(),
            )
        }
    }
}

/// The host's function threw: a Lua error at the call site, remembered so that the call's
/// error can name its cause if nothing catches it.
unsafe fn raise_host_error(state: Lua, reader: &mut Reader) -> c_int {
    let message = reader.bytes().unwrap_or(b"(no message)");
    let cause = reader.varint().unwrap_or(0) as u32;
    ffi::luaL_where(state, script_level(state));
    ffi::lua_pushlstring(state, message.as_ptr() as *const c_char, message.len());
    ffi::lua_concat(state, 2);
    let call = call_state(state);
    call.reply = None;
    if cause != 0 {
        if call.host_errors.len() == HOST_ERRORS_KEPT {
            call.host_errors.pop_front();
        }
        call.host_errors
            .push_back((lua_string(state, -1).unwrap_or_default(), cause));
    }
    ffi::lua_error(state)
}

/// The host will answer later: suspend until the driver resumes the call, or refuse where
/// Lua cannot wait.
unsafe fn wait(state: Lua) -> c_int {
    let call = call_state(state);
    call.reply = None;
    if let Some(refusal) = wait_refusal(state) {
        // Kept in the call's state while Lua copies it: pushing may raise.
        call.reply = Some(refusal.into_bytes());
        let text = call.reply.as_deref().unwrap_or_default();
        ffi::luaL_where(state, script_level(state));
        ffi::lua_pushlstring(state, text.as_ptr() as *const c_char, text.len());
        ffi::lua_concat(state, 2);
        call_state(state).reply = None;
        ffi::lua_error(state);
    }
    call.waiting = true;
    ffi::lua_yieldk(state, 0, 0, Some(resumed))
}

/// Continuation of a wait: the driver resumed the call with the answer in `CallState::reply`.
unsafe extern "C-unwind" fn resumed(state: Lua, _status: c_int, _ctx: ffi::lua_KContext) -> c_int {
    let call = call_state(state);
    call.waiting = false;
    if time_is_up(state) {
        call_state(state).reply = None;
        return raise_terminated(state, script_level(state));
    }
    answer(state, true)
}

/// Whether this host function could wait here (`wait_refusal` says why not).
unsafe fn can_wait(state: Lua) -> bool {
    let call = call_state(state);
    call.host_can_wait
        && ffi::lua_isyieldable(state) != 0
        && call
            .resumers
            .iter()
            .all(|&thread| ffi::lua_isyieldable(thread) != 0)
}

/// Why this host function cannot wait here, as the message of the error to raise; `None`
/// if it can.
unsafe fn wait_refusal(state: Lua) -> Option<String> {
    let name = function_name(state);
    let call = call_state(state);
    if !call.host_can_wait {
        return Some(format!("cannot wait for '{name}' in a synchronous call"));
    }
    // This thread, then each one that resumed the next, out to the chunk's coroutine.
    let threads = std::iter::once(state).chain(call.resumers.iter().rev().copied());
    for thread in threads {
        if ffi::lua_isyieldable(thread) == 0 {
            return Some(match culprit(state, thread) {
                Some(culprit) => format!("cannot wait for '{name}' here (inside {culprit})"),
                None => format!("cannot wait for '{name}' here"),
            });
        }
    }
    None
}

/// The C function on `thread`'s stack that keeps it from yielding: the innermost one
/// that does not let yields through.
unsafe fn culprit(state: Lua, thread: Lua) -> Option<String> {
    if ffi::lua_checkstack(state, 8) == 0 || ffi::lua_checkstack(thread, 2) == 0 {
        return None;
    }
    let mut frame: ffi::lua_Debug = std::mem::zeroed();
    let mut level = 0;
    while ffi::lua_getstack(thread, level, &mut frame) != 0 {
        level += 1;
        ffi::lua_getinfo(thread, c"Sf".as_ptr(), &mut frame);
        let function = ffi::lua_tocfunction(thread, -1);
        let is_c = !frame.what.is_null() && *frame.what == b'C' as c_char;
        match function {
            Some(f)
                if is_c
                    && f as *const () as usize != call as *const () as usize
                    && !sandbox::passes_yields(f) =>
            {
                if let Some(description) = sandbox::describe(f) {
                    ffi::lua_pop(thread, 1);
                    return Some(description.to_string());
                }
                ffi::lua_xmove(thread, state, 1);
                let name = library_name(state, ffi::lua_gettop(state));
                ffi::lua_pop(state, 1);
                return Some(name.unwrap_or_else(|| "a C function".to_string()));
            }
            _ => ffi::lua_pop(thread, 1),
        }
    }
    None
}

/// The name of the function at `idx` in the standard libraries (`table.sort`, `print`),
/// found as Lua's own tracebacks find it: in the loaded-modules table.
unsafe fn library_name(state: Lua, idx: c_int) -> Option<String> {
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE);
    let loaded = ffi::lua_gettop(state);
    let mut found = None;
    ffi::lua_pushnil(state);
    'libraries: while ffi::lua_next(state, loaded) != 0 {
        if ffi::lua_type(state, -1) == ffi::LUA_TTABLE
            && ffi::lua_type(state, -2) == ffi::LUA_TSTRING
        {
            let library = ffi::lua_gettop(state);
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, library) != 0 {
                if ffi::lua_rawequal(state, -1, idx) != 0
                    && ffi::lua_type(state, -2) == ffi::LUA_TSTRING
                {
                    let field = lua_string(state, -2).unwrap_or_default();
                    let library_name = lua_string(state, library - 1).unwrap_or_default();
                    found = Some(if library_name == "_G" {
                        field
                    } else {
                        format!("{library_name}.{field}")
                    });
                    ffi::lua_settop(state, loaded);
                    break 'libraries;
                }
                ffi::lua_pop(state, 1);
            }
        }
        ffi::lua_pop(state, 1);
    }
    ffi::lua_settop(state, loaded - 1);
    found
}

/// Host calls between two looks at the clock after them (wasm).
#[cfg(target_family = "wasm")]
const CHECK_HOST_CALLS: u32 = 4;

/// After a host call returned: in wasm, where no watchdog interrupts a call, look at the
/// clock every `CHECK_HOST_CALLS` calls (a host function may take long: a loop of them runs
/// at most that many past the deadline; a clock read is a tenth of a host call's cost).
/// Natively the watchdog's signal has installed the hook if the deadline passed.
#[cfg_attr(not(target_family = "wasm"), allow(unused_variables))]
unsafe fn after_host_call(state: Lua) {
    #[cfg(target_family = "wasm")]
    {
        let call = call_state(state);
        call.unchecked_host_calls += 1;
        if call.unchecked_host_calls >= CHECK_HOST_CALLS {
            call.unchecked_host_calls = 0;
            crate::fuel::fuel_empty();
        }
    }
}
