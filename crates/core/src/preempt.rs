//! Preempting a slice: an async call runs on the JS thread for a budget of time
//! (`Call::resume_within`), and once it is spent the call yields where Lua can, to go on
//! elsewhere (natively on the addon's pool: crates/node/src/lib.rs `INLINE_BUDGET_MS`).
//!
//! What ends the slice is the slice hook, a count hook. In Lua 5.4 any count hook sends
//! *every* instruction through the debug machinery (`luaG_traceexec`), which halves the
//! speed of pure-Lua work (a loop of 20,000 additions: 110 us without a hook, 237 us with
//! it). So, as for the time limit (watchdog.rs), a slice natively runs with no hook: the
//! watchdog watches the slice's end as it watches a call's deadline (whichever is first),
//! and its signal puts the slice hook on the running thread once the slice is due
//! ([`preempt_if_due`]); the hook then yields, after [`SLICE_INSTRUCTIONS`] more, where a
//! wait could pass. Where no watchdog runs (the call's hook is always on: `hook_everywhere`), the slice
//! hook is on from the start and looks at the clock every [`SLICE_INSTRUCTIONS`].
//!
//! A call run from a host function (nesting, running.rs) is the one the signal finds while
//! it runs; the call around it is looked at again as soon as it ends (runner.rs).

use std::ffi::c_int;
use std::sync::atomic::Ordering;

use mlua::ffi;

use crate::call_state::{call_state, CallState};
use crate::interrupt::{count_hook, put_count_hook, set_hook};
use crate::lua::Lua;

/// Instructions between two looks at the clock while the slice hook is on.
const SLICE_INSTRUCTIONS: c_int = 10_000;

/// Whether a C function running on `state` could wait (or be preempted) here: the call
/// may wait, and this thread and every one that resumed it can yield (waiting.rs says why
/// not, where it cannot).
pub(crate) unsafe fn can_wait(state: Lua) -> bool {
    let call = call_state(state);
    call.host_can_wait
        && ffi::lua_isyieldable(state) != 0
        && call
            .resumers
            .iter()
            .all(|&thread| ffi::lua_isyieldable(thread) != 0)
}

/// Puts on `thread`, about to run for `call`, the hook it needs: the slice hook where the
/// running slice may be preempted and either it is due or no watchdog will say when (it
/// also ends the call at its deadline); else the time limit's count hook where that is
/// always on (no watchdog, or the deadline has passed); else none (the watchdog puts one
/// on when it is time).
pub(crate) unsafe fn hook_thread(call: &CallState, thread: Lua) {
    let everywhere = call.hook_everywhere.load(Ordering::SeqCst);
    if call.slice_deadline().is_finite() && call.terminated.is_none() {
        if everywhere || call.slice_due.load(Ordering::SeqCst) {
            set_slice_hook(thread);
        }
    } else if everywhere {
        set_hook(thread);
    }
}

/// Puts the slice hook on `thread` unless it is there already.
unsafe fn set_slice_hook(thread: Lua) {
    put_count_hook(thread, slice_hook, SLICE_INSTRUCTIONS);
}

/// From the watchdog's signal, on the call's own thread (async-signal-safe: atomics,
/// `lua_gethook` and `lua_sethook`), and when a call run inside `call` ends: once the
/// running slice of `call` is due, the slice hook goes on its running thread (and, through
/// `hook_thread`, on every thread that runs after), to act after `SLICE_INSTRUCTIONS`
/// more. Not at once: the slice moves to the pool only if its Lua goes on running, as it
/// always did when the hook looked at the clock every `SLICE_INSTRUCTIONS` from the
/// slice's start. A call whose time goes to its host (`State.get` after `State.get`, a
/// module's source being parsed) runs few instructions in that time and is best left on
/// the JS thread: there a host call is a function call (~0.5 µs), from the pool a round
/// trip to the JS thread (~3.5 µs), and it needs the JS thread either way.
pub(crate) unsafe fn preempt_if_due(call: *mut CallState) {
    let call = &*call;
    let due = call.slice_deadline();
    if due.is_infinite() || call.hook_everywhere.load(Ordering::SeqCst) || (call.clock)() < due {
        // (With the hook everywhere, the thread carries the slice hook or the count hook.)
        return;
    }
    call.slice_due.store(true, Ordering::SeqCst);
    let running = call.running.load(Ordering::SeqCst);
    if !running.is_null() {
        set_slice_hook(running);
    }
}

/// The slice hook: once the slice is due, and where a wait could pass (the thread and every
/// one that resumed it can yield), it yields as a host function that waits does, and the
/// slice ends with the call preempted; the driver resumes it elsewhere. Where it cannot
/// yield yet, it looks again after `SLICE_INSTRUCTIONS`. Past the call's deadline it is the
/// time limit's hook. On a thread whose slice is not due (a hook left from an earlier
/// slice), it puts on what the thread needs now instead.
unsafe extern "C-unwind" fn slice_hook(state: Lua, ar: *mut ffi::lua_Debug) {
    let call = call_state(state);
    let now = (call.clock)();
    if call.terminated.is_some() || now >= call.deadline {
        return count_hook(state, ar);
    }
    let due = call.slice_deadline();
    if due.is_infinite() || now < due {
        ffi::lua_sethook(state, None, 0, 0);
        hook_thread(call, state);
    } else if can_wait(state) {
        call.preempted = true;
        call.waiting = true;
        ffi::lua_sethook(state, None, 0, 0);
        // In a hook Lua's yield returns here; the thread yields as the hook ends.
        ffi::lua_yield(state, 0);
    } else {
        ffi::lua_sethook(
            state,
            Some(slice_hook),
            ffi::LUA_MASKCOUNT,
            SLICE_INSTRUCTIONS,
        );
    }
}
