//! pubwiki-lua core: runs one Lua 5.4 chunk in a fresh, sandboxed state and returns
//! everything it printed plus its return values, or a classified error. Scripts reach
//! their host only through what it gives them: data globals and host functions, whose
//! calls may wait for the host's answer (request.rs, host_function.rs).
//!
//! Every call owns its state and its output buffer; nothing is shared between calls, so
//! callers may run any number of calls at once on any threads. This crate knows nothing
//! about JavaScript: the napi and wasm wrappers fill a [`CallSpec`], move bytes (wire.rs)
//! and answer requests.
//!
//! The Lua C API is used through `mlua::ffi` (mlua's vendored Lua 5.4) rather than mlua's
//! safe `Lua` handle: a fresh state per call makes state set-up the hot path, and the
//! sandbox needs things the safe API hides (our own allocator for the memory limit, Lua's
//! status codes in `pcall`, a plain C count hook, C functions with no per-call boxing).
//!
//! Modules, bottom up (each uses only modules above it):
//! - plain types: `lua` (the state pointer, stack helpers), `limits`, `wire` (the value
//!   format), `outcome`, `request` (what a call asks its host), `module_cache`,
//!   `known_text` (what mw.ustring remembers of a long string), `triple_writes` (inserts
//!   waiting to go to the host);
//! - what a call owns: `alloc` (its Lua state's heap, with the memory limit), `call_state`
//!   (reached from every C function), `arena` (a state and the image a call restores it
//!   from), `pool` (arenas ready for calls), `running` (the call on this thread);
//! - limits: `interrupt` (how a limit ends a call), `watchdog` (native) and `fuel` (wasm)
//!   (when);
//! - values: `numbers` (Lua's number formats), `convert` (Lua stack <-> wire);
//! - the ways out: `waiting` (asking the host, suspending), `host_function`, `modules`
//!   (`require`), `state_library` (the scripts' `State`) and `triples_library` (`State` as
//!   RDF triples);
//! - the script's libraries: `pattern` (Lua patterns), `table` (the table functions),
//!   `sandbox` (the global environment), `ustring` and `mw` (Scribunto's `mw`, for runners
//!   that ask for it);
//! - `call_spec` (what a call is, as drivers describe it) and `runner` (the call).

mod lua;
mod limits;
pub mod wire;
mod outcome;
mod request;
mod module_cache;
mod known_text;
mod triple_writes;
mod alloc;
mod call_state;
mod arena;
mod pool;
mod running;
mod interrupt;
mod preempt;
#[cfg(not(target_family = "wasm"))]
mod watchdog;
#[cfg(target_family = "wasm")]
mod fuel;
mod numbers;
mod convert;
mod waiting;
mod host_function;
mod modules;
mod state_library;
mod triples_library;
mod pattern;
mod ustring;
mod mw;
mod table;
mod sandbox;
mod call_spec;
mod runner;

pub use call_spec::{flags as call_flags, CallSpec, Entry};
pub use call_state::HOST_ERRORS_KEPT;
#[cfg(target_family = "wasm")]
pub use fuel::{enable_fuel_interrupts, fuel_empty};
pub use limits::{Clock, Limits};
pub use module_cache::{ModuleCache, DEFAULT_CACHE_BYTES};
pub use outcome::{encode_outcome, ErrorKind, RunError, RunOutput, INTERNAL_ERROR};
pub use pool::{ArenaPool, MAX_IDLE as MAX_IDLE_ARENAS, SPARE_BYTES};
pub use request::{Deadline, Host, NoHost, Request, MODULE_SOURCE, STATE, TRIPLES};
pub use runner::{run_with_clock, too_deep, Call, Step};
pub use running::MAX_NESTING;
#[cfg(not(feature = "normalization"))]
pub use ustring::set_normalizer;
#[cfg(feature = "fault-injection")]
pub use ustring::FORCE_CODE_POINTS;
pub use ustring::{Form as NormalForm, Normalizer};
#[cfg(all(feature = "fault-injection", not(target_family = "wasm")))]
pub use watchdog::WATCHDOG_OFF;
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
