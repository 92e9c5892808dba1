//! Wasm time limits without a permanent count hook (the counterpart of watchdog.rs).
//!
//! A wasm instance is single-threaded: no watchdog can interrupt a call. So the embedder
//! compiles Lua's interpreter to count its steps and call [`fuel_empty`] every few thousand
//! (crates/wasm/c/fuel.h). That reads the clock and, once the running call's deadline has
//! passed, installs the count hook exactly as the native watchdog's signal does. Until then
//! scripts run with no hook at all, twice as fast as with one.
//!
//! It also looks at the clock every [`CHECK_BYTES`] allocated (see [`note_allocation`]).
//!
//! An embedder whose Lua does not count steps never calls [`enable_fuel_interrupts`], and
//! every call then carries the permanent count hook instead.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Declares that this instance's Lua interpreter calls [`fuel_empty`] every few thousand
/// steps, so calls can run without a permanent count hook.
pub fn enable_fuel_interrupts() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Called by the interpreter every few thousand steps: hooks the running call (running.rs)
/// once it is late.
pub fn fuel_empty() {
    let call = crate::running::current();
    if !call.is_null() {
        unsafe { crate::interrupt::interrupt_if_late(call) };
    }
}

/// Bytes allocated since the clock was last read for them.
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// How many bytes a call may allocate between two looks at the clock. C functions that
/// build big strings run long without a step of the interpreter (`string.rep` of 1 MB:
/// 7 ms), and their allocations show how much they do.
const CHECK_BYTES: usize = 256 << 10;

/// Called by the allocator when a watched call's memory grows.
pub(crate) fn note_allocation(bytes: usize) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let total = ALLOCATED.load(Ordering::Relaxed) + bytes;
    if total < CHECK_BYTES {
        ALLOCATED.store(total, Ordering::Relaxed);
        return;
    }
    ALLOCATED.store(0, Ordering::Relaxed);
    fuel_empty();
}

/// Whether the interpreter counts steps, so that calls need no permanent count hook.
pub(crate) fn counts_steps() -> bool {
    ENABLED.load(Ordering::Relaxed)
}
