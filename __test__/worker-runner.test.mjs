// Worker runners in Node: the wasm backend in worker_threads, whichever backend this
// process uses itself.
import { createRequire } from 'node:module'
import { workerSuite } from './shared/worker-suite.mjs'

const require = createRequire(import.meta.url)

workerSuite(require('..'), new URL('./workers/stuck.node.mjs', import.meta.url))
