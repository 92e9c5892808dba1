'use strict'
// Node backend of pubwiki-lua on WebAssembly (the fallback when the native addon cannot
// load). CommonJS: requiring it compiles and instantiates the module synchronously
// (wasm-bindgen's `nodejs` glue reads pubwiki_lua_wasm_bg.wasm beside it), once per
// process or worker thread.
//
//   const lua = require('./wasm/node.js')
//   lua.runSync('return 1 + 1', 'page')  // -> { ok: true, output: '', values: <wire bytes> }
//
// The backend interface of lib/api.mjs: runSync/runAsync take (code, scriptId,
// memoryLimit?, timeLimit?, outputLimit?, globals?) like the native addon, `undefined`
// keeping a default, and return its Outcome object; startCall(..., globals, cache, bridge,
// synchronous, invokeModule?, invokeFunction?, arguments?, withState?) starts a call with host
// functions, modules or State (see calls.mjs), and
// newModuleCache() makes a runner's cache of compiled modules. Everything runs on the
// calling thread: runAsync only wraps the result in a promise.
const glue = require('./pubwiki_lua_wasm.cjs')
const { hostBridge, wrapCall } = require('./calls.mjs')

const memory = glue.wasmMemory()

function runSync(code, scriptId, memoryLimit, timeLimit, outputLimit, globals) {
  return glue.run(code, scriptId, memoryLimit, timeLimit, outputLimit, globals)
}

async function runAsync(code, scriptId, memoryLimit, timeLimit, outputLimit, globals) {
  return glue.run(code, scriptId, memoryLimit, timeLimit, outputLimit, globals)
}

function startCall(code, scriptId, memoryLimit, timeLimit, outputLimit, globals, cache, bridge, synchronous, module, fn, args, withState) {
  return wrapCall(glue.startCall(code, scriptId, memoryLimit, timeLimit, outputLimit, globals, cache, hostBridge(memory, bridge),
    synchronous, module, fn, args, withState))
}

const newModuleCache = () => new glue.ModuleCache()

module.exports = { runSync, runAsync, runBytes: glue.runBytes, startCall, newModuleCache }
