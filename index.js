'use strict'
// Node entry: the native addon when it loads, otherwise the wasm build.
// PUBWIKI_LUA_BACKEND=native|wasm forces one.
const { createApi } = require('./lib/api.mjs')
const { loadNative } = require('./lib/load-native.js')
const { nativeBackend } = require('./lib/native-backend.mjs')

function loadBackend() {
  const forced = process.env.PUBWIKI_LUA_BACKEND
  if (forced && forced !== 'native' && forced !== 'wasm') {
    throw new Error(`PUBWIKI_LUA_BACKEND must be 'native' or 'wasm', got '${forced}'`)
  }
  let nativeError
  if (forced !== 'wasm') {
    try {
      return nativeBackend(loadNative())
    } catch (error) {
      if (forced === 'native') {
        throw new Error(`PUBWIKI_LUA_BACKEND=native, but the native addon cannot load: ${error.message}`, { cause: error })
      }
      nativeError = error
    }
  }
  try {
    return { name: 'wasm', ...require('./wasm/node.js') }
  } catch (wasmError) {
    const why = nativeError ? `native: ${nativeError.message}; wasm: ${wasmError.message}` : wasmError.message
    throw new Error(`pubwiki-lua: no backend could load (${why})`, { cause: wasmError })
  }
}

// Worker runners: the wasm backend in worker_threads (lib/worker-pool.mjs).
function spawnWorkerThread(url) {
  const { Worker } = require('node:worker_threads')
  const worker = new Worker(url ?? require('node:path').join(__dirname, 'lib', 'worker.node.mjs'))
  return {
    post: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
    onMessage: (listener) => worker.on('message', listener),
    onError: (listener) => worker.on('error', (error) => listener(error.message)),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  }
}

function createWorkerRunner(options) {
  return require('./lib/worker-pool.mjs').createWorkerRunner(spawnWorkerThread, 2, options)
}

// State stores: SqliteStore, PostgresStore and RedisStore load better-sqlite3, pg and redis
// (optional peer dependencies) when one is made.
const { MemoryStore, StateStore } = require('./lib/state.mjs')
const { SqliteStore } = require('./lib/sqlite-store.mjs')
const { PostgresStore } = require('./lib/postgres-store.mjs')
const { RedisStore } = require('./lib/redis-store.mjs')
// Triple stores (`triples`): N3TripleStore loads n3 (an optional peer dependency) when the
// first is made without a Store of the host's.
const { N3TripleStore, TripleStore, dataFactory } = require('./lib/triples.mjs')
const { SqliteTripleStore } = require('./lib/sqlite-triple-store.mjs')

N3TripleStore.makeStore = () => {
  let n3
  try {
    n3 = require('n3')
  } catch (error) {
    throw new Error('pubwiki-lua: N3TripleStore needs the package n3 (1.x): npm install n3', { cause: error })
  }
  return new n3.Store()
}

// Module resolvers for wiki modules (a MediaWiki Action API) and URLs.
const { mediaWikiModules, urlModules } = require('./lib/mw.mjs')

// `ready` matches the browser entry, where the wasm module loads asynchronously.
module.exports = {
  ...createApi(loadBackend()),
  createWorkerRunner,
  MemoryStore,
  StateStore,
  SqliteStore,
  PostgresStore,
  RedisStore,
  TripleStore,
  N3TripleStore,
  SqliteTripleStore,
  dataFactory,
  mediaWikiModules,
  urlModules,
  ready: Promise.resolve(),
}
