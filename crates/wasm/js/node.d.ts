import type { RunResult } from './pubwiki_lua_wasm.js';
export type { LuaData, RunResult, RunSuccess, RunFailure } from './pubwiki_lua_wasm.js';

export interface WasmLua {
  /** Runs `code` as a Lua 5.4 chunk named `scriptId` in a fresh sandboxed state. */
  run(code: string, scriptId: string, memoryLimit: number, timeLimitMs: number, outputLimit: number): RunResult;
  /** `run` for code given as bytes. */
  runBytes(code: Uint8Array, scriptId: string, memoryLimit: number, timeLimitMs: number, outputLimit: number): RunResult;
}

/** Instantiates the module synchronously (once per process or worker). */
export function loadSync(): WasmLua;
/** Instantiates the module without blocking (once per process or worker). */
export function load(): Promise<WasmLua>;
/** Usable after `load()` or `loadSync()` has finished. */
export const run: WasmLua['run'];
export const runBytes: WasmLua['runBytes'];
