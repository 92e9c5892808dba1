//! The call whose slice runs on this thread now, and the calls it runs inside.
//!
//! A host function may run another call before it returns: a module that renders a
//! sub-template with `runSync`, or, in wasm, any call at all (everything runs on the one
//! thread). The inner call's slice then runs on the stack of the outer one, which waits
//! inside its host function. What interrupts calls (the watchdog's signal natively, the
//! interpreter's step counter in wasm) must find the innermost one, and the stack they
//! share must stay bounded:
//! - Lua bounds the C calls of a state (`LUAI_MAXCCALLS`, 200: "C stack overflow"), and a
//!   nested call continues its outer call's count (runner.rs passes the outer call's running
//!   thread as `from` to `lua_resume`, which copies its count), so all the calls on one
//!   stack together nest at most as deep in C as one call may;
//! - calls nest at most [`MAX_NESTING`] deep on one stack (each level holds a host
//!   function's frames between its Lua and the next call's).

use crate::call_state::CallState;

/// How many calls may run inside each other on one thread's stack (the outermost counts).
pub const MAX_NESTING: usize = 20;

#[cfg(not(target_family = "wasm"))]
thread_local! {
    static CURRENT: std::cell::Cell<*mut CallState> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// A wasm instance has one thread.
#[cfg(target_family = "wasm")]
static CURRENT: std::sync::atomic::AtomicPtr<CallState> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// The call running on this thread now (null: none). Async-signal-safe: the watchdog's
/// signal handler reads it.
pub(crate) fn current() -> *mut CallState {
    #[cfg(not(target_family = "wasm"))]
    return CURRENT.with(|current| current.get());
    #[cfg(target_family = "wasm")]
    return CURRENT.load(std::sync::atomic::Ordering::Relaxed);
}

fn set_current(call: *mut CallState) -> *mut CallState {
    #[cfg(not(target_family = "wasm"))]
    return CURRENT.with(|current| current.replace(call));
    #[cfg(target_family = "wasm")]
    return CURRENT.swap(call, std::sync::atomic::Ordering::Relaxed);
}

/// While alive, `call` runs on this thread; the call it runs inside (if any) is `outer`.
pub(crate) struct Running {
    outer: *mut CallState,
}

impl Running {
    /// The call this one runs inside, on this thread's stack (null: none).
    pub(crate) fn outer(&self) -> *mut CallState {
        self.outer
    }
}

/// `call`'s slice starts on this thread; returns it with how deep it is nested (1: it runs
/// inside no other call).
pub(crate) fn enter(call: *mut CallState) -> (Running, usize) {
    let outer = set_current(call);
    // SAFETY: the outer call's state lives while its slice runs, which encloses this one.
    let depth = if outer.is_null() {
        1
    } else {
        unsafe { (*outer).nesting + 1 }
    };
    unsafe { (*call).nesting = depth };
    (Running { outer }, depth)
}

impl Drop for Running {
    fn drop(&mut self) {
        set_current(self.outer);
    }
}
