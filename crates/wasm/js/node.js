'use strict'
// Node backend of pubwiki-lua on WebAssembly (the fallback when the native addon cannot
// load). CommonJS: requiring it compiles and instantiates the module synchronously
// (wasm-bindgen's `nodejs` glue reads pubwiki_lua_wasm_bg.wasm beside it), once per
// process or worker thread.
//
//   const lua = require('./wasm/node.js')
//   lua.runSync('return 1 + 1', 'page')  // -> { ok: true, output: '', values: [2] }
//
// runSync/runAsync take (code, scriptId, memoryLimit?, timeLimit?, outputLimit?) like the
// native addon, `undefined` keeping a default, and return its Outcome object. runAsync
// runs on the calling thread too: it only wraps the result (and a thrown error) in a promise.
const glue = require('./pubwiki_lua_wasm.cjs')

function runSync(code, scriptId, memoryLimit, timeLimit, outputLimit) {
  return glue.run(code, scriptId, memoryLimit, timeLimit, outputLimit)
}

async function runAsync(code, scriptId, memoryLimit, timeLimit, outputLimit) {
  return glue.run(code, scriptId, memoryLimit, timeLimit, outputLimit)
}

module.exports = { runSync, runAsync, runBytes: glue.runBytes }
