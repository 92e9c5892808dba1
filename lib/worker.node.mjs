// A worker thread of a worker runner in Node (lib/worker-pool.mjs): the wasm backend,
// serving the thread that made it.
import { createRequire } from 'node:module'
import { parentPort } from 'node:worker_threads'
import { queueUntil } from './worker-core.mjs'

const backend = createRequire(import.meta.url)('../wasm/node.js')
const serve = queueUntil(Promise.resolve(backend), (message) => parentPort.postMessage(message))
parentPort.on('message', serve)
