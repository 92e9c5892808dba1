// Browser (and bundler) backend of pubwiki-lua on WebAssembly.
//
//   import { load } from './wasm/web.mjs'
//   const lua = await load()
//   lua.runSync('return 1 + 1', 'page')  // -> { ok: true, output: '', values: [2] }
//
// With no argument the glue fetches the module from
// `new URL('pubwiki_lua_wasm_bg.wasm', import.meta.url)`, which bundlers (webpack 5, Vite,
// Rollup, esbuild with a plugin) emit as an asset. It is deliberately not imported as a
// wasm module: webpack's wasm parser rejects modules that use exception handling.
// `source` may instead be a URL, a Response, the bytes, or a compiled WebAssembly.Module.
//
// The backend has the native addon's shape (lib/api.mjs): runSync/runAsync take
// (code, scriptId, memoryLimit?, timeLimit?, outputLimit?, globals?), `undefined` keeping a
// default, and return an Outcome; startCall starts a call with host functions
// (calls.mjs). runAsync runs on the calling thread too (use a Worker to keep a page
// responsive).
import init, { ModuleCache, run, runBytes, startCall as start, wasmMemory } from './pubwiki_lua_wasm.mjs'
import { hostBridge, wrapCall } from './calls.mjs'

function runSync(code, scriptId, memoryLimit, timeLimit, outputLimit, globals) {
  return run(code, scriptId, memoryLimit, timeLimit, outputLimit, globals)
}

async function runAsync(code, scriptId, memoryLimit, timeLimit, outputLimit, globals) {
  return run(code, scriptId, memoryLimit, timeLimit, outputLimit, globals)
}

function startCall(code, scriptId, memoryLimit, timeLimit, outputLimit, globals, cache, bridge, synchronous, module, fn, args, withState) {
  return wrapCall(start(code, scriptId, memoryLimit, timeLimit, outputLimit, globals, cache, hostBridge(wasmMemory(), bridge),
    synchronous, module, fn, args, withState))
}

const newModuleCache = () => new ModuleCache()

const backend = Object.freeze({ runSync, runAsync, runBytes, startCall, newModuleCache })

/** Instantiates the module, once per page or worker; later calls resolve at once. */
export async function load(source) {
  await init(source === undefined ? undefined : { module_or_path: source })
  return backend
}

/** Usable once `load()` has resolved. */
export { runSync, runAsync, runBytes, startCall, newModuleCache }
