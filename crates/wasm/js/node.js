// Node loader for the wasm build of pubwiki-lua. The glue (wasm-bindgen --target web) would
// fetch() its .wasm, which Node cannot do for file: URLs, so this reads the file itself.
//
//   import { loadSync } from './wasm/node.js';
//   const lua = loadSync();                      // or: const lua = await load();
//   lua.run('return 1 + 1', 'page', 50 * 2 ** 20, 7000, 8 * 2 ** 20);
//   // -> { ok: true, output: '', values: [2] }
//
// Both functions are idempotent: the module is instantiated once per process (per worker).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import init, { initSync, run, runBytes } from './pubwiki_lua_wasm.js';

const wasmUrl = new URL('./pubwiki_lua_wasm_bg.wasm', import.meta.url);
const api = Object.freeze({ run, runBytes });

/** Compiles and instantiates the module synchronously (blocks for a few ms the first time). */
export function loadSync() {
  initSync({ module: readFileSync(wasmUrl) });
  return api;
}

/** Compiles and instantiates the module without blocking. */
export async function load() {
  await init({ module_or_path: await readFile(wasmUrl) });
  return api;
}

export { run, runBytes };
