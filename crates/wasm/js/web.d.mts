import type { InitInput, Outcome } from './pubwiki_lua_wasm.mjs'
export type { Outcome } from './pubwiki_lua_wasm.mjs'

/** The call object of lib/call.mjs (`CallObject`), which describes its fields. */
export type CallObject = { scriptId: string } & Record<string, unknown>

export interface WasmBackend {
  /** Runs a call without a host in a fresh sandboxed state. */
  runSync(call: CallObject, runner: unknown): Outcome
  /** `runSync` with its result in a promise (it still runs on the calling thread). */
  runAsync(call: CallObject, runner: unknown): Promise<Outcome>
  /** A runner's modules and arenas (see lib/call.mjs `newRunner`). */
  newRunner(names: string[], sources: string[], memoryLimit?: number, timeLimit?: number): unknown
  /** The core's defaults, bounds and texts, as lib/core-constants.mjs has them. */
  constants(): Record<string, number | string>
}

/** Instantiates the module (once per page or worker). Default source: the .wasm beside the glue. */
export declare function load(source?: InitInput | Promise<InitInput>): Promise<WasmBackend>
