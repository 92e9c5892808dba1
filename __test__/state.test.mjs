// The State suite in Node, once per backend, on a MemoryStore, a SqliteStore file, a
// PostgresStore and a RedisStore on real servers this file starts (scripts/test-servers.mjs),
// and async stores of the host's own, of both protocols (shared/state-suite.mjs). What only
// files and servers shared by processes have (processes counting on one key, SIGKILLs) is in
// __test__/sqlite-store.test.mjs and __test__/shared-state.test.mjs.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
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
  {
    name: 'a RedisStore with one hash tag for all of State',
    make: () => {
      const store = new lua.RedisStore(server(redis, 'redis-server').url, { prefix: `test${tables++}`, hashTag: 'single' })
      opened.push(store)
      return store
    },
  },
  { name: 'an async store of the host\'s own (versions, checked commits)', make: asyncVersionedStore },
  { name: 'an async store of the host\'s own (three methods: last writer wins)', make: asyncCustomStore, lww: true },
])

describe('PostgresStore', () => {
  it('makes its table on first use, in the schema asked for, and explains what it is given', async () => {
    const store = new lua.PostgresStore(server(postgres, 'PostgreSQL').url, { schema: 'wiki_farm', table: 'scripts_state' })
    try {
      await store.set('Module:A', 'k', { n: 1 })
      expect(await store.get('Module:A', 'k')).toEqual({ n: 1 })
      const { rows } = await store.pool.query("SELECT to_regclass('wiki_farm.scripts_state') AS t, to_regclass('wiki_farm.scripts_state_usage') AS u")
      expect(rows[0]).toEqual({ t: 'wiki_farm.scripts_state', u: 'wiki_farm.scripts_state_usage' })
      expect(await store.usage('Module:A')).toEqual({ bytes: 1 + (await store.read('Module:A', 'k')).length, keys: 1 })
    } finally {
      await store.close()
    }
    expect(() => new lua.PostgresStore(42)).toThrow(/pg.Pool or a connection string/)
    expect(() => new lua.PostgresStore('postgres://x', { table: 'bad name' })).toThrow(/plain identifier/)
  })
})

describe('stores whose package is not installed', () => {
  it('say which package to install', () => {
    // A process where require('pg'), require('redis') and require('better-sqlite3') fail.
    const index = fileURLToPath(new URL('../index.js', import.meta.url))
    const script = `
      const Module = require('node:module')
      const resolve = Module._resolveFilename
      Module._resolveFilename = function (request, ...rest) {
        if (['pg', 'redis', 'better-sqlite3'].includes(request)) throw new Error("Cannot find module '" + request + "'")
        return resolve.call(this, request, ...rest)
      }
      const lua = require(${JSON.stringify(index)})
      for (const make of [() => new lua.PostgresStore('postgres://x/y'), () => new lua.RedisStore('redis://x'), () => new lua.SqliteStore('x.db')]) {
        try { make() } catch (error) { console.log(error.message) }
      }`
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: process.env })
    expect(out.trim().split('\n')).toEqual([
      'pubwiki-lua: PostgresStore needs the package pg (node-postgres 8): npm install pg',
      'pubwiki-lua: RedisStore needs the package redis (node-redis 5): npm install redis',
      'pubwiki-lua: SqliteStore needs the package better-sqlite3 (12.x): npm install better-sqlite3',
    ])
  })
})
