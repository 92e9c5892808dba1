// Browser (bundler) entry: the wasm build. The module starts loading on import; the async
// functions wait for it, the sync ones need `await ready` first. Scripts run on the thread
// that calls them: use a Web Worker to keep a page responsive during long scripts.
import { createApi } from './lib/api.mjs'
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
  newModuleCache: () => loaded().newModuleCache(),
})

export const { run, runSync, runLua, runLuaSync, invoke, invokeSync, createRunner, LuaError, backend } = api
export default api
