// Worker threads each load the package and run calls at the same time as the main thread:
// every call still gets exactly its own output.
import { expect, it } from 'vitest'
import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { runLua } = require('..')
const entry = fileURLToPath(new URL('../index.js', import.meta.url))

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { runLua, backend } = require(workerData.entry)
const calls = []
for (let i = 0; i < 200; i++) {
  calls.push(runLua('for j = 1, 3 do io.write("' + workerData.id + ':' + i + ';") end', 'w' + i))
}
Promise.all(calls).then((outputs) => parentPort.postMessage({ backend, outputs }))
`

it('calls in worker threads and the main thread never see each other', async () => {
  const workers = Array.from({ length: 4 }, (_, id) => new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { id, entry } })
    worker.once('message', (message) => { resolve(message); worker.terminate() })
    worker.once('error', reject)
  }))
  const mainCalls = Array.from({ length: 200 }, (_, i) => runLua(`io.write("main:${i}")`, `m${i}`))
  const [results, mainOutputs] = await Promise.all([Promise.all(workers), Promise.all(mainCalls)])
  results.forEach(({ backend, outputs }, id) => {
    expect(backend).toBe(process.env.PUBWIKI_LUA_BACKEND)
    outputs.forEach((output, i) => expect(output).toBe(`${id}:${i};`.repeat(3)))
  })
  mainOutputs.forEach((output, i) => expect(output).toBe(`main:${i}`))
})

it('a worker terminated while its calls run takes nothing down', async () => {
  const source = `
const { parentPort, workerData } = require('node:worker_threads')
const { runLua } = require(workerData.entry)
runLua('while true do end', 'spin', { timeLimit: 300 })
for (let i = 0; i < 50; i++) runLua('return ' + i, 'quick' + i)
parentPort.postMessage('started')
`
  const worker = new Worker(source, { eval: true, workerData: { entry } })
  await new Promise((resolve) => worker.once('message', resolve))
  await worker.terminate()
  // The terminated worker's calls finish on the pool after its environment is gone.
  await new Promise((resolve) => setTimeout(resolve, 400))
  const outputs = await Promise.all(Array.from({ length: 20 }, (_, i) => runLua(`io.write(${i})`, `after${i}`)))
  expect(outputs).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
})
