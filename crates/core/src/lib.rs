//! pubwiki-lua core: runs one Lua 5.4 chunk in a fresh, sandboxed state and returns
//! everything it printed plus its return values, or a classified error. Scripts reach
//! their host only through what it gives them: data globals and host functions, whose
//! calls may wait for the host's answer (request.rs, host_function.rs).
//!
//! Every call owns its state and its output buffer; nothing is shared between calls, so
//! callers may run any number of calls at once on any threads. This crate knows nothing
//! about JavaScript: the napi and wasm wrappers only move bytes (wire.rs) and requests.
//!
//! The Lua C API is used through `mlua::ffi` (mlua's vendored Lua 5.4) rather than mlua's
//! safe `Lua` handle: a fresh state per call makes state set-up the hot path, and the
//! sandbox needs things the safe API hides (our own allocator for the memory limit, Lua's
//! status codes in `pcall`, a plain C count hook, C functions with no per-call boxing).
//!
//! Modules, bottom up: `limits`, `outcome`, `wire`, `request` (plain types); `alloc`,
//! `module_cache` and `state` (what a call owns); `interrupt` (how limits end a call),
//! `watchdog`/`fuel` (when); `numbers`, `convert` (values on a Lua stack); `waiting` (asking
//! the host); `host_function`, `modules` (the ways out); `pattern`, `table`, `sandbox` (the
//! script's libraries); `runner` (the call).

mod alloc;
mod convert;
#[cfg(target_family = "wasm")]
mod fuel;
mod host_function;
mod interrupt;
mod limits;
mod module_cache;
mod modules;
mod numbers;
mod outcome;
mod pattern;
mod request;
mod runner;
mod running;
mod sandbox;
mod script_state;
mod state;
mod table;
mod waiting;
#[cfg(not(target_family = "wasm"))]
mod watchdog;
pub mod wire;

#[cfg(target_family = "wasm")]
pub use fuel::{enable_fuel_interrupts, fuel_empty};
pub use limits::{Clock, Limits};
pub use module_cache::{ModuleCache, DEFAULT_CACHE_BYTES};
pub use outcome::{ErrorKind, RunError, RunOutput};
pub use request::{Deadline, Host, NoHost, Request, MODULE_SOURCE, STATE};
pub use runner::{run_with_clock, Call, Step};
pub use running::MAX_NESTING;
pub use state::HOST_ERRORS_KEPT;
pub use wire::{LuaValue, Values};

/// Runs `code` with the host's monotonic clock.
#[cfg(not(target_family = "wasm"))]
pub fn run(code: &[u8], script_id: &str, limits: &Limits) -> Result<RunOutput, RunError> {
    run_with_clock(code, script_id, limits, monotonic_ms)
}

/// Milliseconds since the first call, on Rust's monotonic clock.
#[cfg(not(target_family = "wasm"))]
pub fn monotonic_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}
