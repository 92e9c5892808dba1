//! Preempting a slice: an async call runs on the JS thread for a budget of time
//! (`Call::resume_within`), and once it is spent the call yields where Lua can, to go on
//! elsewhere (natively on the addon's pool: crates/node/src/lib.rs `INLINE_BUDGET_MS`).
//!
//! What ends the slice is the slice hook, a count hook that looks at the clock every
//! [`SLICE_INSTRUCTIONS`], on every thread that runs in the slice from its start. In Lua 5.4
//! any count hook sends every instruction through the debug machinery (`luaG_traceexec`),
//! which halves the speed of pure-Lua work in that first slice (a 20,000-turn loop: 237 us
//! in `run`, 110 us in `runSync`). Tried and measured: letting the watchdog signal the end
//! of the slice instead, as it signals a deadline, and putting the hook on only then. That
//! ran the loop at full speed, but it made preemption depend on the watchdog's thread
//! being scheduled: with two busy processes on this 2-core machine, a 5 ms call was never
//! preempted (4 runs of 4; with the hook from the start, 3 of 3 were), and the event loop's
//! longest stall per call went from 5.7 to 9.3 ms (p90). The JS thread's own look at the
//! clock needs no other thread, so it stays.

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

/// Puts on `thread`, about to run for `call`, the hook it needs: the slice hook while the
/// slice may be preempted (it also ends the call at its deadline); else the time limit's
/// count hook where that is always on (no watchdog, or the deadline has passed); else none
/// (the watchdog will put one on if the deadline passes).
pub(crate) unsafe fn hook_thread(call: &CallState, thread: Lua) {
    if call.slice_deadline().is_finite() && call.terminated.is_none() {
        set_slice_hook(thread);
    } else if call.hook_everywhere.load(Ordering::SeqCst) {
        set_hook(thread);
    }
}

/// Puts the slice hook on `thread` unless it is there already.
unsafe fn set_slice_hook(thread: Lua) {
    put_count_hook(thread, slice_hook, SLICE_INSTRUCTIONS);
}

/// The slice hook: once the slice's time is up, and where a wait could pass (the thread and
/// every one that resumed it can yield), it yields as a host function that waits does, and
/// the slice ends with the call preempted; the driver resumes it elsewhere. Where it cannot
/// yield yet, it looks again after `SLICE_INSTRUCTIONS`. Past the call's deadline it is the
/// time limit's hook. A hook left from a slice that has ended takes itself off.
unsafe extern "C-unwind" fn slice_hook(state: Lua, ar: *mut ffi::lua_Debug) {
    let call = call_state(state);
    let now = (call.clock)();
    if call.terminated.is_some() || now >= call.deadline {
        return count_hook(state, ar);
    }
    let due = call.slice_deadline();
    if due.is_infinite() {
        // The slice is over: the hook that the call needs from now on.
        ffi::lua_sethook(state, None, 0, 0);
        hook_thread(call, state);
    } else if now < due {
        // Not yet: look again after `SLICE_INSTRUCTIONS`.
    } else if can_wait(state) {
        call.preempted = true;
        call.waiting = true;
        ffi::lua_sethook(state, None, 0, 0);
        // In a hook Lua's yield returns here; the thread yields as the hook ends.
        ffi::lua_yield(state, 0);
    }
}
