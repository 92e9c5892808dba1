// The State suite in Node, once per backend, on a MemoryStore, a SqliteStore file, a
// PostgresStore and a RedisStore on real servers this file starts (scripts/test-servers.mjs),
// and async stores of the host's own, of both protocols (shared/state-suite.mjs). What only
// files and servers shared by processes have (processes counting on one key, SIGKILLs) is in
// __test__/sqlite-store.test.mjs and __test__/shared-state.test.mjs.
import { afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPostgres, startRedis } from '../scripts/test-servers.mjs'
import { asyncCustomStore, asyncVersionedStore, stateSuite } from './shared/state-suite.mjs'

const require = createRequire(import.meta.url)
const lua = require('..')
const pg = require('pg')

const folder = mkdtempSync(join(tmpdir(), 'pubwiki-state-'))
const opened = []
let files = 0

// The servers: a test of a store whose server did not start fails with the reason.
const started = (promise) => promise.then((server) => ({ server }), (error) => ({ error }))
const [postgres, redis] = await Promise.all([started(startPostgres()), started(startRedis())])
const server = ({ server, error }, name) => {
  if (error) throw new Error(`${name} could not be started: ${error.message}`)
  return server
}
let pool
let tables = 0

afterAll(async () => {
  for (const store of opened) await store.close()
  await pool?.end()
  await Promise.all([postgres.server?.stop(), redis.server?.stop()])
  rmSync(folder, { recursive: true, force: true })
})

stateSuite(lua, [
  { name: 'a MemoryStore', make: () => new lua.MemoryStore() },
  {
    name: 'a SqliteStore',
    make: () => {
      const store = new lua.SqliteStore(join(folder, `state-${files++}.db`))
      opened.push(store)
      return store
    },
  },
  {
    name: 'a PostgresStore',
    make: () => {
      if (!pool) {
        pool = new pg.Pool({ connectionString: server(postgres, 'PostgreSQL').url, max: 8 })
        // (Idle connections the server ends as it stops.)
        pool.on('error', () => {})
      }
      // A table of its own: an empty store.
      return new lua.PostgresStore(pool, { table: `state_${tables++}` })
    },
  },
  {
    name: 'a RedisStore',
    make: () => {
      const store = new lua.RedisStore(server(redis, 'redis-server').url, { prefix: `test${tables++}` })
      opened.push(store)
      return store
    },
  },
  {
    name: 'a PostgresStore with a read cache',
    make: () => new lua.PostgresStore(pool, { table: `state_${tables++}`, readCache: true }),
  },
  {
    name: 'a RedisStore with a read cache',
    make: () => {
      const store = new lua.RedisStore(server(redis, 'redis-server').url, { prefix: `test${tables++}`, readCache: true })
      opened.push(store)
      return store
    },
  },
  { name: 'an async store of the host\'s own (versions, checked commits)', make: asyncVersionedStore },
  { name: 'an async store of the host\'s own (three methods: last writer wins)', make: asyncCustomStore, lww: true },
])
