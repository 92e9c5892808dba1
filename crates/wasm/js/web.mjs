// Browser (and bundler) backend of pubwiki-lua on WebAssembly.
//
//   import { load } from './wasm/web.mjs'
//   const backend = await load()
//   backend.runSync(callObject, backend.newRunner([], []))  // -> { ok: true, output: '', values: <wire bytes> }
//
// With no argument the glue fetches the module from
// `new URL('pubwiki_lua_wasm_bg.wasm', import.meta.url)`, which bundlers (webpack 5, Vite,
// Rollup, esbuild with a plugin) emit as an asset. It is deliberately not imported as a
// wasm module: webpack's wasm parser rejects modules that use exception handling.
// `source` may instead be a URL, a Response, the bytes, or a compiled WebAssembly.Module.
// The first instance is made from it; should an instance ever fail, the backend makes
// another from the module compiled then (lib/wasm-backend.mjs).
//
// The backend has the native addon's shape (lib/api.mjs, lib/wasm-backend.mjs). runAsync runs on
// the calling thread too (use a worker runner to keep a page responsive).
import { createInstance } from './pubwiki_lua_wasm.mjs'
import { createBackend } from '../lib/wasm-backend.mjs'

let loading

/** Instantiates the module, once per page or worker; later calls resolve at once. */
export function load(source) {
  loading ??= (async () => {
    let first = createInstance()
    await first.default(source === undefined ? undefined : { module_or_path: source })
    const compiled = first.module
    return Object.freeze(
      createBackend(() => {
        if (first) {
          const made = first
          first = null
          return made
        }
        const instance = createInstance()
        instance.initSync({ module: compiled })
        return instance
      }),
    )
  })()
  loading.catch(() => {
    loading = undefined
  })
  return loading
}
