// ESM entry for Node: the same module as index.js.
import api from './index.js'

export const { run, runSync, runLua, runLuaSync, invoke, invokeSync, createRunner, createWorkerRunner, LuaError, backend, ready, MemoryStore, StateStore, SqliteStore, PostgresStore, RedisStore, TripleStore, N3TripleStore, SqliteTripleStore, dataFactory, mediaWikiModules, urlModules } = api
export default api
