/** Per-call limits. A script cannot raise them; exceeding one ends the call with a LuaError. */
export interface Limits {
  /** Bytes the Lua state may allocate, its standard libraries included. Default 52428800 (50 MiB). */
  memoryLimit?: number
  /** Milliseconds the call may run. Default 7000. */
  timeLimit?: number
  /** Bytes of output (`print`, `io.write`) the call may produce. Default 8388608 (8 MiB). */
  outputLimit?: number
}

export interface RunOptions extends Limits {
  /** The script's identity, set by the host: names the chunk in messages (`<scriptId>:3: ...`). */
  scriptId: string
}

/**
 * A Lua value as JS: nil -> null, booleans, numbers (integers beyond 2^53 lose precision),
 * strings, tables with keys exactly 1..n -> arrays, other tables -> plain objects (keys as
 * Lua's tostring writes them), functions/coroutines/userdata -> "[function]", "[thread]", "[userdata]".
 */
export type LuaValue = null | boolean | number | string | LuaValue[] | { [key: string]: LuaValue }

export interface RunResult {
  /** Everything the script printed. Invalid UTF-8 becomes U+FFFD; NUL bytes are kept. */
  output: string
  /** The chunk's return values. */
  values: LuaValue[]
}

export type LuaErrorKind = 'syntax' | 'runtime' | 'memory' | 'timeout' | 'output'

export declare class LuaError extends Error {
  name: 'LuaError'
  kind: LuaErrorKind
  /** The scriptId the call was made with. */
  scriptId: string
  /** Everything the script printed before the error. */
  output: string
  /** Lua stack traceback at the error ('' for syntax and memory errors). */
  traceback: string
}

/** Which backend this process uses. */
export declare const backend: 'native' | 'wasm'

/** Runs `code` in a fresh sandboxed Lua state; resolves to its output and return values. */
export declare function run(code: string, options: RunOptions): Promise<RunResult>
export declare function runSync(code: string, options: RunOptions): RunResult
/** Runs `code` in a fresh sandboxed Lua state; resolves to everything it printed. */
export declare function runLua(code: string, scriptId: string, options?: Limits): Promise<string>
export declare function runLuaSync(code: string, scriptId: string, options?: Limits): string

/**
 * Resolves once the backend can run scripts. In Node it is already resolved; in browsers
 * the wasm module loads asynchronously, and the Sync functions throw until it resolves.
 */
export declare const ready: Promise<void>
