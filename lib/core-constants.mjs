// What the core (crates/core) fixes that the JS layer needs before or without asking it:
// defaults of the limits, how deep calls may nest, how many host errors a call keeps, and
// the texts of errors that JS raises in the core's words. Each backend reports the core's
// own (`constants()`), and a test checks they are these.

/** The core's default limits (crates/core/src/limits.rs): Scribunto's 50 MiB and 7 s, 8 MiB of output. */
export const DEFAULT_LIMITS = Object.freeze({ memoryLimit: 50 * 1024 * 1024, timeLimit: 7000, outputLimit: 8 * 1024 * 1024 })

/** How many calls may run inside each other through host functions (crates/core/src/running.rs). */
export const MAX_NESTING = 20

/** How many of its latest host errors a call keeps for `LuaError.cause` (crates/core/src/call_state.rs). */
export const HOST_ERRORS_KEPT = 4

/** The message of a bug in pubwiki-lua (crates/core/src/outcome.rs `INTERNAL_ERROR`). */
export const INTERNAL_ERROR = 'internal error in pubwiki-lua'

/** The message of a call nested too deep (crates/core/src/runner.rs `too_deep`). */
export const TOO_DEEP = `calls nested too deep: at most ${MAX_NESTING} may run inside each other (through host functions that run scripts)`
