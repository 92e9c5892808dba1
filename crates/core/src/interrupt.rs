//! How limits end a call: the count hook, termination, and the checks that C loops make.
//! The watchdog (native) and the step counter (wasm) decide *when*; this decides *how*.

use std::ffi::c_int;
use std::sync::atomic::Ordering;

use mlua::ffi;

use crate::call_state::{call_state, CallState};
use crate::lua::{lua_string, Lua};
use crate::outcome::ErrorKind;

/// The count hook checks the clock every this many VM instructions.
const HOOK_INSTRUCTIONS: c_int = 1000;

pub(crate) fn memory_message(limit: usize) -> String {
    format!("not enough memory (memory limit is {limit} bytes)")
}

/// Puts the count hook on `state` (a main thread or coroutine) unless it is there already.
pub(crate) unsafe fn set_hook(state: Lua) {
    put_count_hook(state, count_hook, HOOK_INSTRUCTIONS);
}

/// Puts `hook` on `state`, called every `count` instructions, unless it is there already:
/// setting it again would restart its count, and a loop that switches coroutines could
/// then run forever between two hook calls. Async-signal-safe.
pub(crate) unsafe fn put_count_hook(state: Lua, hook: ffi::lua_Hook, count: c_int) {
    let current = ffi::lua_gethook(state).map(|hook| hook as *const () as usize);
    if current != Some(hook as *const () as usize) {
        ffi::lua_sethook(state, Some(hook), ffi::LUA_MASKCOUNT, count);
    }
}

/// From the watchdog's signal (or, in wasm, the interpreter's step counter), on the call's
/// own thread: once the deadline has passed, the hook goes on the running Lua thread (and,
/// through the coroutine functions, on every thread that runs later). Only
/// async-signal-safe work here: atomics and `lua_sethook`.
pub(crate) unsafe fn interrupt_if_late(call: *mut CallState) {
    let call = &*call;
    if (call.clock)() < call.deadline {
        return;
    }
    call.hook_everywhere.store(true, Ordering::SeqCst);
    let running = call.running.load(Ordering::SeqCst);
    if !running.is_null() {
        ffi::lua_sethook(running, Some(count_hook), ffi::LUA_MASKCOUNT, 1);
    }
}

/// Ends the call for good: records why and hooks the running thread so that the script
/// cannot continue even where the error is swallowed.
pub(crate) unsafe fn terminate(state: Lua, kind: ErrorKind) {
    let call = call_state(state);
    call.terminated.get_or_insert(kind);
    call.hook_everywhere.store(true, Ordering::SeqCst);
    set_hook(state);
}

/// Once the call's time is up (or it was terminated), marks the call terminated and
/// returns true. For C loops the count hook cannot reach (pattern matching, table functions).
#[cold]
pub(crate) fn time_is_up(state: Lua) -> bool {
    // SAFETY: every state this crate runs carries its CallState.
    let call = unsafe { call_state(state) };
    if call.terminated.is_none() && (call.clock)() < call.deadline {
        return false;
    }
    // Also hooks the running thread, so a script that swallows the error cannot go on.
    unsafe { terminate(state, ErrorKind::Timeout) };
    true
}

/// Wasm reads the clock before every this many C functions called from C loops.
#[cfg(target_family = "wasm")]
const CHECK_CALLS: u32 = 16;

/// For C loops that call C functions (`load` readers, `gsub` replacements, `table.sort`
/// comparators): those run no instruction for the count hook, and one call can be long
/// (`collectgarbage` on a big heap), so the loop ends the call itself once its time is up.
/// Natively the watchdog's signal sets `hook_everywhere` at the deadline, so before it this
/// costs one atomic load. In wasm, where nothing interrupts a C loop (the step counter is
/// the interpreter's), the clock is read every `CHECK_CALLS` calls.
pub(crate) unsafe fn check_before_c_call(state: Lua) {
    let call = call_state(state);
    #[cfg(not(target_family = "wasm"))]
    if !call.hook_everywhere.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(target_family = "wasm")]
    {
        call.unchecked_calls += 1;
        if call.unchecked_calls < CHECK_CALLS {
            return;
        }
        call.unchecked_calls = 0;
    }
    if time_is_up(state) {
        raise_terminated(state, 1);
    }
}

/// Ends the call once its time is up. After a limit is hit it fires again every
/// `HOOK_INSTRUCTIONS`, so a script that catches the error cannot keep running.
pub(crate) unsafe extern "C-unwind" fn count_hook(state: Lua, _ar: *mut ffi::lua_Debug) {
    let call = call_state(state);
    if call.terminated.is_none() {
        if (call.clock)() < call.deadline {
            return;
        }
        call.terminated = Some(ErrorKind::Timeout);
    }
    raise_terminated(state, 0);
}

/// The message of the limit that ended `call` (`kind`), without a position.
pub(crate) fn limit_message(call: &CallState, kind: ErrorKind) -> String {
    match kind {
        ErrorKind::Output => format!("output limit exceeded ({} bytes)", call.output_limit),
        ErrorKind::Memory => memory_message(call.memory_limit),
        _ => format!("time limit exceeded ({} ms)", call.time_limit_ms as i64),
    }
}

/// Raises the error that ends a terminated call, positioned at stack `level`
/// (0 in a hook: the running Lua function; 1 in a C function: its Lua caller).
pub(crate) unsafe fn raise_terminated(state: Lua, level: c_int) -> c_int {
    let call = call_state(state);
    let message = limit_message(call, call.terminated.unwrap_or(ErrorKind::Timeout));
    // The message is built past the memory limit (a few dozen bytes, for a call that is
    // ending): a script that hit its time or output limit with its memory full would
    // otherwise get the memory error of building it, and lose the limit's message.
    let heap = call.heap;
    let limit = (!heap.is_null()).then(|| std::mem::replace(&mut (*heap).limit, usize::MAX));
    ffi::luaL_where(state, level);
    ffi::lua_pushlstring(state, message.as_ptr().cast(), message.len());
    ffi::lua_concat(state, 2);
    if let Some(limit) = limit {
        (*heap).limit = limit;
    }
    let call = call_state(state);
    if call.terminated_message.is_none() {
        call.terminated_message = lua_string(state, -1);
    }
    drop(message);
    ffi::lua_error(state)
}

pub(crate) unsafe extern "C-unwind" fn raise_terminated_from_top(state: Lua) -> c_int {
    raise_terminated(state, 1)
}
