/** A call's outcome, as the native addon returns it too: `values` in the wire format
 *  (lib/wire.mjs decodes them); `cause`: the host's id of the error that ended the call. */
export type Outcome =
  | { ok: true; output: string; values: Uint8Array }
  | {
      ok: false
      kind: 'syntax' | 'runtime' | 'memory' | 'timeout' | 'output'
      message: string
      output: string
      traceback: string
      cause?: number
    }

/** The call object of lib/call.mjs (`CallObject`), which describes its fields. */
export type CallObject = { scriptId: string } & Record<string, unknown>

/** Runs a call without a host in a fresh sandboxed state. */
export declare function runSync(call: CallObject, runner: unknown): Outcome
/** `runSync` with its result in a promise (it still runs on the calling thread). */
export declare function runAsync(call: CallObject, runner: unknown): Promise<Outcome>
/** A runner's modules and arenas (see lib/call.mjs `newRunner`). */
export declare function newRunner(names: string[], sources: string[], memoryLimit?: number, timeLimit?: number): unknown
/** The core's defaults, bounds and texts, as lib/core-constants.mjs has them. */
export declare function constants(): Record<string, number | string>
