// The package in a process of its own: calls in flight keep Node running until they end,
// and nothing keeps it running after them.
import { expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../index.js', import.meta.url))
const backend = createRequire(import.meta.url)(entry).backend

function node(script) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { env: process.env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code ?? error.signal : 0, stdout, stderr }))
  })
}

it('waits for calls in flight, then exits on its own', async () => {
  const result = await node(`
const { runLua } = require(${JSON.stringify(entry)})
runLua('local t = os.clock() while os.clock() - t < 0.2 do end io.write("slow")', 'slow').then((o) => process.stdout.write(o + ';'))
runLua('io.write("fast")', 'fast').then((o) => process.stdout.write(o + ';'))
`)
  // (In wasm the calls run one after the other, on this thread.)
  expect({ ...result, stdout: result.stdout.split(';').sort() }).toEqual({ code: 0, stdout: ['', 'fast', 'slow'], stderr: '' })
})

it('exits on its own after failed and timed-out calls', async () => {
  const result = await node(`
const { runLua } = require(${JSON.stringify(entry)})
runLua('error("x")', 'a').catch((e) => process.stdout.write(e.kind + ';'))
runLua('while true do end', 'b', { timeLimit: 50 }).catch((e) => process.stdout.write(e.kind + ';'))
`)
  expect({ ...result, stdout: result.stdout.split(';').sort() }).toEqual({ code: 0, stdout: ['', 'runtime', 'timeout'], stderr: '' })
})

it.skipIf(backend !== 'native')('a call with host functions whose backend handle is collected mid-slice takes nothing down', async () => {
  // Drives the backend directly, dropping each call's handle while its slice runs (the
  // public API keeps it): the slice must keep what it needs of the bridge alive.
  const lib = JSON.stringify(fileURLToPath(new URL('../lib/', import.meta.url)))
  const result = await new Promise((resolve) => {
    execFile(process.execPath, ['--expose-gc', '--input-type=module', '-e', `
import { createRequire } from 'node:module'
const lib = ${lib}
const native = createRequire(import.meta.url)(lib + 'load-native.js').loadNative()
const { Bridge } = await import(lib + 'bridge.mjs')
const { callObject, decodeOutcome, encodeCall } = await import(lib + 'call.mjs')
const wire = await import(lib + 'wire.mjs')
const runner = native.newRunner([], [])
for (let i = 0; i < 100; i++) {
  const functions = wire.functionTable()
  const globals = wire.encodeGlobals({ f: () => 1 }, functions, 1e9)
  const code = 'local t = os.clock() while os.clock() - t < 0.005 do end return f()'
  const call = callObject({ scriptId: 's', code, limits: {}, globals, state: false, synchronous: false })
  // (It outlasts its first slice on the JS thread: [handle, promise of the rest].)
  const started = native.runWithHost(encodeCall(call), runner, new Bridge(functions, 1e9), false)
  if (!Array.isArray(started) || !(started[1] instanceof Promise)) throw new Error('the call did not go on on the pool')
  const done = started[1]
  started.length = 0
  // While the slice runs: collect its handle, and let its finalizer run.
  for (let k = 0; k < 3; k++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const outcome = decodeOutcome(await done)
  if (!outcome.ok) throw new Error(outcome.message)
}
console.log('ok')
`], { env: process.env, timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? error.code ?? error.signal : 0, stdout, stderr }))
  })
  expect(result).toEqual({ code: 0, stdout: 'ok\n', stderr: '' })
})
