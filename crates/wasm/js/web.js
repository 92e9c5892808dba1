// Browser (and bundler) loader for the wasm build of pubwiki-lua.
//
//   import { load } from './wasm/web.js';
//   const lua = await load();
//   lua.run('return 1 + 1', 'page', 50 * 2 ** 20, 7000, 8 * 2 ** 20);
//
// With no argument the glue fetches pubwiki_lua_wasm_bg.wasm from
// `new URL('pubwiki_lua_wasm_bg.wasm', import.meta.url)`, which bundlers (webpack 5, Vite,
// Rollup, esbuild with a plugin) emit as an asset. It is not imported as a wasm module,
// because webpack's wasm parser rejects modules that use exception handling.
// `source` may instead be a URL, a Response, the bytes, or a compiled WebAssembly.Module.
import init, { run, runBytes } from './pubwiki_lua_wasm.js';

const api = Object.freeze({ run, runBytes });

/** Instantiates the module (once per page or worker; later calls return at once). */
export async function load(source) {
  await init(source === undefined ? undefined : { module_or_path: source });
  return api;
}

export { run, runBytes };
