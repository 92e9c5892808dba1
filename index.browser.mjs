// Browser (bundler) entry: the wasm build. The module starts loading on import; the async
// functions wait for it, the sync ones need `await ready` first. Scripts run on the thread
// that calls them: use a Web Worker to keep a page responsive during long scripts.
import { createApi } from './lib/api.mjs'
import { IndexedDbStore } from './lib/indexeddb-store.mjs'
import { IndexedDbTripleStore } from './lib/indexeddb-triple-store.mjs'
import { mediaWikiModules, urlModules } from './lib/mw.mjs'
import { MemoryStore, StateStore } from './lib/state.mjs'
import { N3TripleStore, TripleStore, dataFactory } from './lib/triples.mjs'
import { createWorkerRunner as createPool } from './lib/worker-pool.mjs'
import { load } from './wasm/web.mjs'

let wasm
export const ready = load().then((backend) => {
  wasm = backend
})

function loaded() {
  if (!wasm) throw new Error('pubwiki-lua: the wasm module is still loading; await `ready` before the Sync functions')
  return wasm
}

const api = createApi({
  name: 'wasm',
  ready,
  runAsync: (...args) => loaded().runAsync(...args),
  runSync: (...args) => loaded().runSync(...args),
  startCall: (...args) => loaded().startCall(...args),
  newRunner: (...args) => loaded().newRunner(...args),
})

export const { run, runSync, runLua, runLuaSync, invoke, invokeSync, createRunner, LuaError, backend } = api
// State stores (lib/state.mjs): SqliteStore is Node's.
export { IndexedDbStore, MemoryStore, StateStore }
// Triple stores (lib/triples.mjs): in browsers an N3TripleStore takes the host's n3 Store.
export { IndexedDbTripleStore, N3TripleStore, TripleStore, dataFactory }
// Module resolvers for wiki modules (a MediaWiki Action API) and URLs (lib/mw.mjs).
export { mediaWikiModules, urlModules }

// Worker runners: the wasm backend in Web Workers (lib/worker-pool.mjs). The worker script
// is referenced as `new URL(..., import.meta.url)`, which Vite and webpack 5 bundle as a
// worker of its own.
function spawnWebWorker(url) {
  const worker = url ? new Worker(url, { type: 'module' }) : new Worker(new URL('./lib/worker.browser.mjs', import.meta.url), { type: 'module' })
  return {
    post: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
    onMessage: (listener) => {
      worker.onmessage = (event) => listener(event.data)
    },
    onError: (listener) => {
      worker.onerror = (event) => {
        event.preventDefault?.()
        listener(event.message || 'the worker script failed to load')
      }
    },
  }
}

const defaultWorkers = Math.max(1, Math.min(4, (globalThis.navigator?.hardwareConcurrency ?? 3) - 1))

/** A runner whose scripts run in a pool of Web Workers, off the page's thread. */
export function createWorkerRunner(options) {
  return createPool(spawnWebWorker, defaultWorkers, options)
}

export default { ...api, createWorkerRunner, MemoryStore, StateStore, IndexedDbStore, IndexedDbTripleStore, N3TripleStore, TripleStore, dataFactory, mediaWikiModules, urlModules }
