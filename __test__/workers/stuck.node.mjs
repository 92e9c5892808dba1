// A worker thread for the worker runner's tests: the real one, except that it never
// answers a call whose code is "HANG".
import { createRequire } from 'node:module'
import { parentPort } from 'node:worker_threads'
import { queueUntil } from '../../lib/worker-core.mjs'

const serve = queueUntil(Promise.resolve(createRequire(import.meta.url)('../../wasm/node.js')), (message) => parentPort.postMessage(message))
parentPort.on('message', (message) => {
  if (message.call?.code === 'HANG') return
  serve(message)
})
