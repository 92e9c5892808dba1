import type { InitInput, Outcome } from './pubwiki_lua_wasm.mjs'
export type { Outcome } from './pubwiki_lua_wasm.mjs'

export interface WasmBackend {
  /** Runs `code` as a Lua 5.4 chunk named `scriptId` in a fresh sandboxed state. */
  runSync(code: string, scriptId: string, memoryLimit?: number, timeLimit?: number, outputLimit?: number): Outcome
  /** `runSync` with its result in a promise (it still runs on the calling thread). */
  runAsync(code: string, scriptId: string, memoryLimit?: number, timeLimit?: number, outputLimit?: number): Promise<Outcome>
  /** `runSync` for code given as bytes. */
  runBytes(code: Uint8Array, scriptId: string, memoryLimit?: number, timeLimit?: number, outputLimit?: number): Outcome
  /** The core's defaults and bounds, as lib/core-constants.mjs has them. */
  constants(): { memoryLimit: number; timeLimit: number; outputLimit: number; maxNesting: number; hostErrorsKept: number }
}

/** Instantiates the module (once per page or worker). Default source: the .wasm beside the glue. */
export declare function load(source?: InitInput | Promise<InitInput>): Promise<WasmBackend>
