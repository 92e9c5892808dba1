//! pubwiki-lua core: runs one Lua 5.4 chunk in a fresh, sandboxed state and returns
//! everything it printed plus its return values, or a classified error.
//!
//! Every call owns its state and its output buffer; nothing is shared between calls, so
//! callers may run any number of calls at once on any threads. This crate knows nothing
//! about JavaScript: the napi and wasm wrappers only convert arguments and results.
//!
//! The Lua C API is used through `mlua::ffi` (mlua's vendored Lua 5.4) rather than mlua's
//! safe `Lua` handle: a fresh state per call makes state set-up the hot path, and the
//! sandbox needs things the safe API hides (our own allocator for the memory limit, Lua's
//! status codes in `pcall`, a plain C count hook, C functions with no per-call boxing).

mod alloc;
mod convert;
#[cfg(target_family = "wasm")]
mod fuel;
mod pattern;
mod runner;
mod sandbox;
mod table;
#[cfg(not(target_family = "wasm"))]
mod watchdog;

#[cfg(target_family = "wasm")]
pub use fuel::{enable_fuel_interrupts, fuel_empty};
pub use runner::run_with_clock;

/// Per-call limits. A script cannot raise them, and exceeding one ends the call.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Bytes the Lua state may allocate in total (its libraries included).
    pub memory_bytes: usize,
    /// Wall-clock milliseconds the call may run.
    pub time_ms: f64,
    /// Bytes of output (`print`, `io.write`) the call may produce.
    pub output_bytes: usize,
}

impl Limits {
    /// Scribunto's defaults for wiki modules: 50 MiB and 7 s; output capped at 8 MiB.
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 50 * 1024 * 1024,
        time_ms: 7000.0,
        output_bytes: 8 * 1024 * 1024,
    };
}

impl Limits {
    /// Limits as hosts pass them (bytes, milliseconds, bytes as numbers); `None` keeps the
    /// default. Sizes beyond the address space saturate.
    pub fn with_overrides(
        memory_bytes: Option<f64>,
        time_ms: Option<f64>,
        output_bytes: Option<f64>,
    ) -> Limits {
        // `as` saturates: a limit above usize::MAX means no practical limit.
        let bytes = |value: f64| value as usize;
        Limits {
            memory_bytes: memory_bytes.map_or(Limits::DEFAULT.memory_bytes, bytes),
            time_ms: time_ms.unwrap_or(Limits::DEFAULT.time_ms),
            output_bytes: output_bytes.map_or(Limits::DEFAULT.output_bytes, bytes),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A Lua value converted to plain data.
#[derive(Clone, Debug, PartialEq)]
pub enum LuaValue {
    Nil,
    Boolean(bool),
    Integer(i64),
    Number(f64),
    String(String),
    /// A table whose keys are exactly 1..=n.
    Array(Vec<LuaValue>),
    /// Any other table; keys are strings, or numbers and booleans written as Lua's `tostring` does.
    Object(Vec<(String, LuaValue)>),
    /// A function, coroutine or userdata, which has no data form: holds its type name.
    Opaque(&'static str),
}

/// What a successful call produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// Everything printed, with invalid UTF-8 replaced by U+FFFD.
    pub output: String,
    /// The chunk's return values.
    pub values: Vec<LuaValue>,
}

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Syntax,
    Runtime,
    Memory,
    Timeout,
    Output,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Runtime => "runtime",
            ErrorKind::Memory => "memory",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Output => "output",
        }
    }
}

/// A failed call: the error and everything printed before it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunError {
    pub kind: ErrorKind,
    /// Readable message, e.g. `page:3: attempt to call a nil value (global 'f')`.
    pub message: String,
    /// Everything printed before the error.
    pub output: String,
    /// Lua stack traceback at the error (empty for syntax and memory errors).
    pub traceback: String,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

/// A monotonic clock in milliseconds, supplied by the host (wasm has no `std::time`).
pub type Clock = fn() -> f64;

/// Runs `code` with the host's monotonic clock.
#[cfg(not(target_family = "wasm"))]
pub fn run(code: &[u8], script_id: &str, limits: &Limits) -> Result<RunOutput, RunError> {
    run_with_clock(code, script_id, limits, monotonic_ms)
}

#[cfg(not(target_family = "wasm"))]
fn monotonic_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}
