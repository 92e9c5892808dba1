// A Web Worker for the worker runner's tests: the real one (lib/worker-core.mjs), except
// that it never answers a call whose code is "HANG" (a worker that is stuck).
import { load } from '../../wasm/web.mjs'
import { queueUntil } from '../../lib/worker-core.mjs'

const serve = queueUntil(load(), (message) => self.postMessage(message))
self.onmessage = (event) => {
  if (event.data.call?.code === 'HANG') return
  serve(event.data)
}
