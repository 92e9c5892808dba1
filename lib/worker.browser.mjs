// A Web Worker of a worker runner (lib/worker-pool.mjs): the wasm backend, serving the page.
import { load } from '../wasm/web.mjs'
import { queueUntil } from './worker-core.mjs'

self.onmessage = ((serve) => (event) => serve(event.data))(queueUntil(load(), (message) => self.postMessage(message)))
