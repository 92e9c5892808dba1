// The package in a process of its own: calls in flight keep Node running until they end,
// and nothing keeps it running after them.
import { expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../index.js', import.meta.url))

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
