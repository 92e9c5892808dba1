//! Per-call limits, and the clock they are measured with.

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

/// A monotonic clock in milliseconds, supplied by the host (wasm has no `std::time`).
pub type Clock = fn() -> f64;
