/** Per-call limits. A script cannot raise them; exceeding one ends the call with a LuaError. */
export interface Limits {
  /** Bytes the Lua state may allocate, its standard libraries included. Default 52428800 (50 MiB). */
  memoryLimit?: number
  /** Milliseconds the call may run. Default 7000. */
  timeLimit?: number
  /** Bytes of output (`print`, `io.write`) the call may produce. Default 8388608 (8 MiB). */
  outputLimit?: number
}

/**
 * A JS value a script can receive (globals, host function results): null/undefined -> nil,
 * booleans, numbers (integer-valued within int64 -> integers, others -> floats), bigints
 * within int64 -> integers, strings, Uint8Array/ArrayBuffer -> byte strings, arrays ->
 * sequences, plain objects and Maps -> tables, functions -> host functions.
 */
export type LuaInput =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ArrayBuffer
  | HostFunction
  | LuaInput[]
  | Map<string | number | boolean | bigint, LuaInput>
  | { [key: string]: LuaInput }

/**
 * A JS function a script can call. It gets the call's arguments converted as return values
 * are (`LuaValue`); what it returns (or the promise it returns resolves to) goes back to the
 * script; what it throws (or rejects with) is a Lua error at the call site.
 */
export type HostFunction = (...args: LuaValue[]) => LuaInput | void | PromiseLike<LuaInput | void>

/** Globals for a call: copied into its fresh state (data) or callable from it (functions). */
export type Globals = { [name: string]: LuaInput }

/** What `globals` as a function learns about the call it makes globals for. */
export interface CallContext {
  scriptId: string
}

/**
 * Module sources for `require`: a map of name -> Lua source text, or a resolver giving a
 * module's source (undefined: no such module), sync or async (async needs `run`/`runLua`).
 */
export type Modules =
  | { [name: string]: string }
  | ((name: string, context: CallContext) => string | undefined | null | PromiseLike<string | undefined | null>)

export interface CallOptions extends Limits {
  /** Globals for the script, or a function returning them, called once per call. */
  globals?: Globals | ((context: CallContext) => Globals | undefined)
  /** Where `require` finds modules (a runner's are asked after a call's own). */
  modules?: Modules
}

export interface RunOptions extends CallOptions {
  /** The script's identity, set by the host: names the chunk in messages (`<scriptId>:3: ...`). */
  scriptId: string
  /** The chunk's `...`, converted as globals are. */
  arguments?: LuaInput[]
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
  /** The error a host function threw (or rejected with) when that error ended the call. */
  cause?: unknown
}

/** Which backend this process uses. */
export declare const backend: 'native' | 'wasm'

/** Runs `code` in a fresh sandboxed Lua state; resolves to its output and return values. */
export declare function run(code: string, options: RunOptions): Promise<RunResult>
/** `run` on the calling thread: host functions must answer at once (a promise is a Lua error). */
export declare function runSync(code: string, options: RunOptions): RunResult
/** Runs `code` in a fresh sandboxed Lua state; resolves to everything it printed. */
export declare function runLua(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): Promise<string>
export declare function runLuaSync(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): string

/** The functions, with a runner's options as defaults (and its cache of compiled modules). */
export interface Runner {
  run(code: string, options: RunOptions): Promise<RunResult>
  runSync(code: string, options: RunOptions): RunResult
  runLua(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): Promise<string>
  runLuaSync(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): string
  /**
   * `require(module)[functionName](...args)` in a fresh state (Scribunto's #invoke); `args`
   * are converted as globals are. A missing module or function is a LuaError.
   */
  invoke(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): Promise<RunResult>
  invokeSync(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): RunResult
}

/** `Runner.invoke` with no runner options. */
export declare function invoke(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): Promise<RunResult>
export declare function invokeSync(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): RunResult

/**
 * A runner whose calls take `options` as defaults: limits a call does not set, and globals
 * under the call's own (a call's `globals` are merged over the runner's, name by name).
 */
export declare function createRunner(options?: CallOptions): Runner

/**
 * Resolves once the backend can run scripts. In Node it is already resolved; in browsers
 * the wasm module loads asynchronously, and the Sync functions throw until it resolves.
 */
export declare const ready: Promise<void>

export interface WorkerRunnerOptions extends CallOptions {
  /** How many workers (default: browsers, the cores but one, 1 to 4; Node, 2). */
  workers?: number
  /**
   * The worker script, for pages that serve it themselves (default: the package's
   * lib/worker.browser.mjs, or lib/worker.node.mjs in Node, found by the bundler).
   */
  workerUrl?: string | URL
}

/** The asynchronous functions of a runner, run in a pool of workers. */
export interface WorkerRunner {
  run(code: string, options: RunOptions): Promise<RunResult>
  runLua(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): Promise<string>
  invoke(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): Promise<RunResult>
  /** Ends the workers; calls not yet over reject. */
  terminate(): void
}

/**
 * A runner whose scripts run in a pool of Web Workers (in Node, worker_threads), on the
 * wasm backend, so that the calling thread stays free. Host functions and module resolvers
 * stay on the calling thread: every host call from a worker waits for it.
 */
export declare function createWorkerRunner(options?: WorkerRunnerOptions): WorkerRunner
