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

/** Runs `code` as a Lua 5.4 chunk named `scriptId` in a fresh sandboxed state. */
export declare function runSync(
  code: string, scriptId: string, memoryLimit?: number, timeLimit?: number, outputLimit?: number,
): Outcome
/** `runSync` with its result in a promise (it still runs on the calling thread). */
export declare function runAsync(
  code: string, scriptId: string, memoryLimit?: number, timeLimit?: number, outputLimit?: number,
): Promise<Outcome>
/** `runSync` for code given as bytes. */
export declare function runBytes(
  code: Uint8Array, scriptId: string, memoryLimit?: number, timeLimit?: number, outputLimit?: number,
): Outcome
/** The core's defaults and bounds, as lib/core-constants.mjs has them. */
export declare function constants(): { memoryLimit: number; timeLimit: number; outputLimit: number; maxNesting: number; hostErrorsKept: number }
