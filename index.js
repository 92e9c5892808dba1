'use strict'
// Node entry: the native addon when it loads, otherwise the wasm build.
// PUBWIKI_LUA_BACKEND=native|wasm forces one.
const { createApi } = require('./lib/api.mjs')

function platformTag() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function loadNative() {
  const tag = platformTag()
  // A local build first (development), then the per-platform npm package (napi-rs layout).
  try {
    return require(`./pubwiki-lua.${tag}.node`)
  } catch (localError) {
    if (localError.code !== 'MODULE_NOT_FOUND') throw localError
    return require(`pubwiki-lua-${tag}`)
  }
}

// Keeps the event loop polling, instead of sleeping in epoll, while async calls are in
// flight and one started or ended in the last POLL_MS: waking a sleeping loop takes ~25 µs
// on a virtual machine whose idle CPU has halted, longer than a short call. A long call
// lets the loop sleep after POLL_MS.
const POLL_MS = 1

function pollWhileBusy(runAsync) {
  let inFlight = 0
  let lastEvent = 0
  let polling = false
  const poll = () => {
    polling = inFlight > 0 && performance.now() - lastEvent < POLL_MS
    if (polling) setImmediate(poll)
  }
  const settled = () => {
    inFlight--
    lastEvent = performance.now()
  }
  return (...args) => {
    const outcome = runAsync(...args)
    inFlight++
    lastEvent = performance.now()
    if (!polling) {
      polling = true
      setImmediate(poll)
    }
    outcome.then(settled, settled)
    return outcome
  }
}

function loadBackend() {
  const forced = process.env.PUBWIKI_LUA_BACKEND
  if (forced && forced !== 'native' && forced !== 'wasm') {
    throw new Error(`PUBWIKI_LUA_BACKEND must be 'native' or 'wasm', got '${forced}'`)
  }
  let nativeError
  if (forced !== 'wasm') {
    try {
      const native = loadNative()
      return { name: 'native', ...native, runAsync: pollWhileBusy(native.runAsync) }
    } catch (error) {
      if (forced === 'native') {
        throw new Error(`PUBWIKI_LUA_BACKEND=native, but the native addon cannot load: ${error.message}`)
      }
      nativeError = error
    }
  }
  try {
    return { name: 'wasm', ...require('./wasm/node.js') }
  } catch (wasmError) {
    const why = nativeError ? `native: ${nativeError.message}; wasm: ${wasmError.message}` : wasmError.message
    throw new Error(`pubwiki-lua: no backend could load (${why})`)
  }
}

// `ready` matches the browser entry, where the wasm module loads asynchronously.
module.exports = { ...createApi(loadBackend()), ready: Promise.resolve() }
