//! Asking the host, and waiting for its answer: what host functions (host_function.rs),
//! `require` (modules.rs) and `State` (state_library.rs) share, down to turning a reply's
//! values into Lua values ([`push_results`]).
//!
//! A C function asks with [`ask`]; the reply lands in `CallState::reply`, where it stays
//! (not on a Rust stack that a Lua error could longjmp over) until it has been turned into
//! Lua values. A `PENDING` reply makes the asker [`wait`]: it yields the running coroutine
//! with its continuation. The chunk runs in a coroutine of its own (`CallState::main`), and
//! the sandbox's `coroutine.resume` and `coroutine.wrap`, `pcall`, `xpcall` and `require`
//! let such a yield through (their continuations), so it reaches the driver from any depth.
//! The driver resumes the call with the answer in `CallState::reply`; the continuation
//! calls [`resumed`] and reads it.
//!
//! Lua cannot yield across a C function that called Lua without a continuation
//! (`table.sort` comparators, `gsub` callbacks, `__tostring` from `print`). Every thread
//! on the way must be yieldable; where one is not, a pending answer is a Lua error that
//! names that C function ([`wait`]).

use std::ffi::{c_char, c_int, CStr};

use mlua::ffi;

use crate::call_state::{call_state, HOST_ERRORS_KEPT};
use crate::convert::{self, PushError};
use crate::interrupt::{raise_terminated, terminate, time_is_up};
use crate::lua::{lua_string, Lua};
use crate::outcome::ErrorKind;
use crate::preempt::can_wait;
use crate::request::{Deadline, Request, MODULE_SOURCE};
use crate::wire::{self, Reader};

fn same_function(a: ffi::lua_CFunction, b: ffi::lua_CFunction) -> bool {
    std::ptr::eq(a as *const (), b as *const ())
}

/// The host has no way in (a host function called after its slice, a bug).
pub(crate) struct NoHost;

/// Asks the host; its reply goes to `CallState::reply`. Raises nothing.
pub(crate) unsafe fn ask(state: Lua, request: Request<'_>) -> Result<(), NoHost> {
    let call = call_state(state);
    let host = call.host.ok_or(NoHost)?;
    let deadline = Deadline {
        at: call.deadline,
        clock: call.clock,
    };
    let reply = (*host).request(request, deadline);
    call_state(state).reply = Some(reply);
    Ok(())
}

/// Asks the host for a library (State, triples, `require`, mw): host function `function`
/// (`STATE`, `TRIPLES`) with wire values `args`, or with `MODULE_SOURCE` a module's
/// source; `name` names it in messages. Outside the call the state belongs to (no host),
/// raises `outside`; `args` is freed first (a Lua error skips Rust's destructors).
pub(crate) unsafe fn ask_for_library(
    state: Lua,
    function: u32,
    name: &str,
    args: Vec<u8>,
    outside: &CStr,
) {
    let can_wait = can_wait(state);
    let request = match function {
        MODULE_SOURCE => Request::Module {
            name,
            args: &args,
            can_wait,
        },
        _ => Request::Call {
            function,
            name,
            args: &args,
            can_wait,
        },
    };
    let asked = ask(state, request);
    drop(args);
    if asked.is_err() {
        ffi::luaL_error(state, c"%s".as_ptr(), outside.as_ptr());
    }
}

/// What the reply in `CallState::reply` says.
pub(crate) enum Reply<'a> {
    /// The driver gave up waiting: the time is up.
    Abandoned,
    /// Wire values follow in the reader.
    Values(Reader<'a>),
    /// The host's function threw: message and cause follow in the reader.
    Error(Reader<'a>),
    Pending,
    Malformed,
}

/// The reply, borrowed from the call's state (which keeps it until the caller clears it).
pub(crate) unsafe fn reply<'a>(state: Lua) -> Reply<'a> {
    let bytes: &[u8] = match &call_state(state).reply {
        Some(reply) => &*(reply.as_slice() as *const [u8]),
        None => &[],
    };
    if bytes.is_empty() {
        return Reply::Abandoned;
    }
    let mut reader = Reader::new(bytes);
    match reader.u8() {
        Ok(wire::REPLY_VALUES) => Reply::Values(reader),
        Ok(wire::REPLY_ERROR) => Reply::Error(reader),
        Ok(wire::REPLY_PENDING) => Reply::Pending,
        _ => Reply::Malformed,
    }
}

/// Pushes the values of a `VALUES` reply; their number (raises for a value too big or
/// malformed).
pub(crate) unsafe fn push_results(
    state: Lua,
    reader: &mut Reader,
    host_function: ffi::lua_CFunction,
) -> c_int {
    let base = ffi::lua_gettop(state);
    let pushed = reader.length().map_err(PushError::from).and_then(|count| {
        (0..count)
            .try_for_each(|_| convert::push(state, reader, host_function))
            .map(|()| count)
    });
    call_state(state).reply = None;
    match pushed {
        Ok(count) => {
            after_answer(state);
            count as c_int
        }
        Err(PushError::Oversized) => {
            ffi::lua_settop(state, base);
            terminate(state, ErrorKind::Memory);
            raise_terminated(state, script_level(state))
        }
        Err(PushError::Malformed(_)) => {
            ffi::lua_settop(state, base);
            raise_malformed(state, c"value")
        }
    }
}

/// Ends the call with a timeout at the script's line (the driver gave up waiting).
pub(crate) unsafe fn abandoned(state: Lua) -> c_int {
    call_state(state).reply = None;
    terminate(state, ErrorKind::Timeout);
    raise_terminated(state, script_level(state))
}

/// Raises `message` (the host's bytes, in the call's state) at the script's line.
pub(crate) unsafe fn raise_malformed(state: Lua, what: &std::ffi::CStr) -> c_int {
    call_state(state).reply = None;
    ffi::luaL_error(
        state,
        c"pubwiki-lua: malformed %s from the host".as_ptr(),
        what.as_ptr(),
    )
}

/// The host's code threw: a Lua error at the script's line, remembered so that the call's
/// error can name its cause if nothing catches it.
pub(crate) unsafe fn raise_host_error(state: Lua, mut reader: Reader) -> c_int {
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

/// Raises `message` at the script's line; the text waits in the call's state while Lua
/// copies it (pushing may raise).
pub(crate) unsafe fn raise_at_script_line(state: Lua, message: String) -> c_int {
    let call = call_state(state);
    call.reply = Some(message.into_bytes());
    let text = call.reply.as_deref().unwrap_or_default();
    ffi::luaL_where(state, script_level(state));
    ffi::lua_pushlstring(state, text.as_ptr() as *const c_char, text.len());
    ffi::lua_concat(state, 2);
    call_state(state).reply = None;
    ffi::lua_error(state)
}

/// The host will answer later: suspend until the driver resumes the call (then
/// `continuation` runs), or raise where Lua cannot wait. `subject()` names what is awaited
/// in that error (`'fetchPage'`, `module 'Module:Util'`); it is made only for the error, so
/// that no Rust string is alive when this yields (a longjmp).
pub(crate) unsafe fn wait(
    state: Lua,
    subject: &dyn Fn() -> String,
    continuation: ffi::lua_KFunction,
) -> c_int {
    call_state(state).reply = None;
    if let Some(refusal) = wait_refusal(state, subject) {
        return raise_at_script_line(state, refusal);
    }
    call_state(state).waiting = true;
    ffi::lua_yieldk(state, 0, 0, Some(continuation))
}

/// At the start of a wait's continuation: the wait is over, and the time may be up.
pub(crate) unsafe fn resumed(state: Lua) {
    call_state(state).waiting = false;
    if time_is_up(state) {
        call_state(state).reply = None;
        raise_terminated(state, script_level(state));
    }
}

/// Why the running C function cannot wait here, as the message of the error to raise;
/// `None` if it can.
unsafe fn wait_refusal(state: Lua, subject: &dyn Fn() -> String) -> Option<String> {
    let call = call_state(state);
    if !call.host_can_wait {
        return Some(format!(
            "cannot wait for {} in a synchronous call",
            subject()
        ));
    }
    // This thread, then each one that resumed the next, out to the chunk's coroutine.
    let threads = std::iter::once(state).chain(call.resumers.iter().rev().copied());
    for (i, thread) in threads.enumerate() {
        if ffi::lua_isyieldable(thread) == 0 {
            // Skip the waiting function itself (level 0 of the running thread).
            let first = if i == 0 { 1 } else { 0 };
            return Some(match culprit(state, thread, first) {
                Some(culprit) => format!("cannot wait for {} here (inside {culprit})", subject()),
                None => format!("cannot wait for {} here", subject()),
            });
        }
    }
    None
}

/// The C function on `thread`'s stack (from `level` out) that keeps it from yielding: the
/// innermost one that does not let yields through.
unsafe fn culprit(state: Lua, thread: Lua, mut level: c_int) -> Option<String> {
    if ffi::lua_checkstack(state, 8) == 0 || ffi::lua_checkstack(thread, 2) == 0 {
        return None;
    }
    let known = call_state(state).c_functions;
    let mut frame: ffi::lua_Debug = std::mem::zeroed();
    while ffi::lua_getstack(thread, level, &mut frame) != 0 {
        level += 1;
        ffi::lua_getinfo(thread, c"Sf".as_ptr(), &mut frame);
        let function = ffi::lua_tocfunction(thread, -1);
        let is_c = !frame.what.is_null() && *frame.what == b'C' as c_char;
        let Some(f) = function.filter(|_| is_c) else {
            ffi::lua_pop(thread, 1);
            continue;
        };
        if known
            .passes_yields
            .iter()
            .flat_map(|list| list.iter())
            .any(|&p| same_function(p, f))
        {
            ffi::lua_pop(thread, 1);
            continue;
        }
        if let Some(&(_, description)) = known.described.iter().find(|(d, _)| same_function(*d, f))
        {
            ffi::lua_pop(thread, 1);
            return Some(description.to_string());
        }
        ffi::lua_xmove(thread, state, 1);
        let name = library_name(state, ffi::lua_gettop(state));
        ffi::lua_pop(state, 1);
        return Some(name.unwrap_or_else(|| "a C function".to_string()));
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

/// The stack level of the Lua function that called the running C function, directly or
/// through C functions such as `pcall`: where its errors say they happened (`error`
/// through `pcall(error, ...)` would say nowhere, which helps nobody).
pub(crate) unsafe fn script_level(state: Lua) -> c_int {
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

/// Host calls between two looks at the clock after them (wasm).
#[cfg(target_family = "wasm")]
const CHECK_HOST_CALLS: u32 = 4;

/// After the host answered at once: in wasm, where no watchdog interrupts a call, look at
/// the clock every `CHECK_HOST_CALLS` answers (the host's code may take long: a loop of
/// host calls runs at most that many past the deadline; a clock read is a tenth of a host
/// call's cost). Natively the watchdog's signal has installed the hook if the deadline
/// passed.
#[cfg_attr(not(target_family = "wasm"), allow(unused_variables))]
pub(crate) unsafe fn after_answer(state: Lua) {
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
