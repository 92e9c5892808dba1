'use strict'
// Node backend of pubwiki-lua on WebAssembly (the fallback when the native addon cannot
// load). CommonJS: requiring it compiles pubwiki_lua_wasm_bg.wasm (beside it) and makes an
// instance synchronously, once per process or worker thread; should that instance ever
// fail, the backend makes another from the compiled module (lib/wasm-backend.mjs).
//
//   const backend = require('./wasm/node.js')
//   backend.runSync(callObject, backend.newRunner([], []))  // -> { ok: true, output: '', values: <wire bytes> }
//
// The backend interface of lib/call.mjs, over lib/wasm-backend.mjs. Everything runs on the
// calling thread: runAsync only wraps the result in a promise.
const { readFileSync } = require('node:fs')
const { join } = require('node:path')
const { createInstance } = require('./pubwiki_lua_wasm.mjs')
const { createBackend } = require('../lib/wasm-backend.mjs')

const compiled = new WebAssembly.Module(readFileSync(join(__dirname, 'pubwiki_lua_wasm_bg.wasm')))

module.exports = createBackend(() => {
  const instance = createInstance()
  instance.initSync({ module: compiled })
  return instance
})
