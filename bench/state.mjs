#!/usr/bin/env node
// The State section of the benchmark (bench/run.mjs runs it last; `node bench/state.mjs`
// runs it alone): per store, on the native backend in this process,
//   - a call doing 100 State.get of distinct keys and 10 State.set (one commit, which
//     checks the 100 versions read), against the same 100 reads and one write transaction
//     done directly with the store's client library in the same run (PostgreSQL: 100
//     SELECTs and one INSERT ... ON CONFLICT of 10 rows by unnest; Redis: 100 GETs and one
//     MULTI/EXEC of 10 SETs; SQLite: 100 better-sqlite3 gets and one transaction);
//   - increments of one hot key per second by 4 processes (MemoryStore: 4 calls in flight
//     in one process), with the share of attempts that conflicted.
// PostgreSQL and Redis also with `readCache: true` (reads of keys cached by earlier calls of
// the process cost no round trip; the commit checks them).
// PostgreSQL and redis-server are started here as the tests start them
// (scripts/test-servers.mjs). Medians of one run; nothing asserts on time.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPostgres, startRedis } from '../scripts/test-servers.mjs'

const require = createRequire(import.meta.url)
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.join(BENCH_DIR, '..')
const WORKER = path.join(ROOT, '__test__', 'workers', 'state-worker.mjs')
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true'
const CALLS = QUICK ? 60 : 300
const HOT_CALLS = QUICK ? 100 : 500
const log = (...a) => console.error('[bench state]', ...a)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const READS = 100
const WRITES = 10
const CODE = `
  local sum = 0
  for i = 1, ${READS} do sum = sum + (State.get("k" .. i) or 0) end
  for i = 1, ${WRITES} do State.set("w" .. i, sum + i) end
  return sum`

// Times `once()` CALLS times after a warm-up; the median in ms.
async function time(once) {
  for (let i = 0; i < Math.min(20, CALLS); i++) await once()
  const samples = []
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now()
    await once()
    samples.push(performance.now() - t)
  }
  return median(samples)
}

async function ours(lua, store) {
  const runner = lua.createRunner({ state: { store } })
  await runner.run(`for i = 1, ${READS} do State.set("k" .. i, i) end`, { scriptId: 'Module:Bench' })
  const check = await runner.run(CODE, { scriptId: 'Module:Bench' })
  if (check.values[0] !== (READS * (READS + 1)) / 2) throw new Error(`wrong result ${check.values[0]}`)
  return time(() => runner.run(CODE, { scriptId: 'Module:Bench' }))
}

async function rawPostgres(url) {
  const pg = require('pg')
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  await pool.query('CREATE TABLE IF NOT EXISTS raw_bench (key text PRIMARY KEY, value bytea NOT NULL)')
  await pool.query("INSERT INTO raw_bench SELECT 'k' || i, '\\x01'::bytea FROM generate_series(1, 100) i ON CONFLICT DO NOTHING")
  const read = { name: 'raw-read', text: 'SELECT value FROM raw_bench WHERE key = $1' }
  const write = {
    name: 'raw-write',
    text: 'INSERT INTO raw_bench (key, value) SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  }
  const keys = Array.from({ length: WRITES }, (_, i) => `w${i + 1}`)
  const values = keys.map(() => Buffer.from([1, 2, 3]))
  const ms = await time(async () => {
    for (let i = 1; i <= READS; i++) await pool.query({ ...read, values: [`k${i}`] })
    await pool.query({ ...write, values: [keys, values] })
  })
  await pool.end()
  return ms
}

async function rawRedis(url) {
  const { createClient } = require('redis')
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  for (let i = 1; i <= READS; i++) await client.set(`raw:k${i}`, '1')
  const ms = await time(async () => {
    for (let i = 1; i <= READS; i++) await client.get(`raw:k${i}`)
    const multi = client.multi()
    for (let i = 1; i <= WRITES; i++) multi.set(`raw:w${i}`, 'xyz')
    await multi.exec()
  })
  await client.quit()
  return ms
}

async function rawSqlite(file) {
  const Database = require('better-sqlite3')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('CREATE TABLE IF NOT EXISTS raw_bench (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID')
  const put = db.prepare('INSERT OR REPLACE INTO raw_bench (key, value) VALUES (?, ?)')
  for (let i = 1; i <= READS; i++) put.run(`k${i}`, Buffer.from([1]))
  const get = db.prepare('SELECT value FROM raw_bench WHERE key = ?')
  const write = db.transaction(() => {
    for (let i = 1; i <= WRITES; i++) put.run(`w${i}`, Buffer.from([1, 2, 3]))
  })
  const ms = await time(async () => {
    for (let i = 1; i <= READS; i++) get.get(`k${i}`)
    write.immediate()
  })
  db.close()
  return ms
}

function worker(kind, target, calls, name, readCache) {
  const env = { ...process.env, PUBWIKI_LUA_BACKEND: 'native', PUBWIKI_STATE_READ_CACHE: readCache ? '1' : '0' }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [WORKER, kind, target, 'counter', String(calls), name, '1'], { env, timeout: 600_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout))))
  })
}

async function hot(kind, target, lua, readCache) {
  if (kind === 'memory') {
    const store = new lua.MemoryStore()
    const runner = lua.createRunner({ state: { store }, retries: 1000 })
    let next = 0
    const t = performance.now()
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < 4 * HOT_CALLS) await runner.run('State.set("visits", (State.get("visits") or 0) + 1)', { scriptId: 'Module:Shared' })
    }))
    const seconds = (performance.now() - t) / 1000
    if (store.get('Module:Shared', 'visits') !== 4 * HOT_CALLS) throw new Error('the counter is wrong')
    return { perSecond: (4 * HOT_CALLS) / seconds, conflictRate: runner.stats.conflicts / (4 * HOT_CALLS + runner.stats.retries), conflicts: runner.stats.conflicts }
  }
  const summaries = await Promise.all(Array.from({ length: 4 }, (_, i) => worker(kind, target, HOT_CALLS, `p${i}`, readCache)))
  const store = kind === 'sqlite' ? new lua.SqliteStore(target) : kind === 'postgres' ? new lua.PostgresStore(target) : new lua.RedisStore(target)
  const total = await store.get('Module:Shared', 'visits')
  await store.close()
  if (total !== 4 * HOT_CALLS) throw new Error(`the counter is ${total}, not ${4 * HOT_CALLS}`)
  const conflicts = summaries.reduce((n, s) => n + s.conflicts, 0)
  const retries = summaries.reduce((n, s) => n + s.retries, 0)
  return {
    perSecond: (4 * HOT_CALLS) / (Math.max(...summaries.map((s) => s.elapsedMs)) / 1000),
    conflictRate: conflicts / (4 * HOT_CALLS + retries),
    conflicts,
  }
}

export async function stateBench() {
  process.env.PUBWIKI_LUA_BACKEND ??= 'native'
  const lua = require(ROOT)
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pubwiki-bench-state-'))
  log('starting PostgreSQL and redis-server')
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()])
  const rows = []
  try {
    // A fresh database for each hot-key run (the counter must end at exactly its calls).
    const database = async (name) => {
      const admin = new lua.PostgresStore(pg.url)
      await admin.pool.query(`CREATE DATABASE ${name}`)
      await admin.close()
      return pg.url.replace(/\/postgres$/, `/${name}`)
    }
    const stores = [
      ['MemoryStore', 'memory', () => new lua.MemoryStore(), null, null],
      ['SqliteStore', 'sqlite', () => new lua.SqliteStore(path.join(folder, 'ours.db')), () => rawSqlite(path.join(folder, 'raw.db')), () => path.join(folder, 'hot.db')],
      ['PostgresStore', 'postgres', () => new lua.PostgresStore(pg.url), () => rawPostgres(pg.url), () => database('hot_plain')],
      ['  same, readCache: true', 'postgres', () => new lua.PostgresStore(pg.url, { table: 'cached_state', readCache: true }), () => rawPostgres(pg.url), () => database('hot_cached'), true],
      ['RedisStore', 'redis', () => new lua.RedisStore(redis.url), () => rawRedis(redis.url), () => `${redis.url}/1`],
      ['  same, readCache: true', 'redis', () => new lua.RedisStore(redis.url, { prefix: 'cached', readCache: true }), () => rawRedis(redis.url), () => `${redis.url}/2`, true],
    ]
    for (const [label, kind, make, raw, hotTarget, readCache] of stores) {
      log(`${label.trim()} (${kind}): ${READS} gets + ${WRITES} sets`)
      const store = make()
      const oursMs = await ours(lua, store)
      await store.close?.()
      const rawMs = raw ? await raw() : null
      log(`${label.trim()} (${kind}): hot key, 4 ${kind === 'memory' ? 'calls in flight' : 'processes'}`)
      const hotResult = await hot(kind, hotTarget && (await hotTarget()), lua, readCache)
      rows.push({ label, kind, readCache: readCache === true, oursMs, rawMs, ratio: rawMs ? oursMs / rawMs : null, ...hotResult })
    }
  } finally {
    await Promise.all([pg.stop(), redis.stop()])
    fs.rmSync(folder, { recursive: true, force: true })
  }
  return rows
}

export function renderStateTable(rows) {
  const head = ['store', `call: ${READS} State.get + ${WRITES} State.set [median]`, 'same with the client library directly', 'ratio', 'hot key, 4 processes [increments/s]', 'conflicts [of attempts]']
  const body = rows.map((r) => [
    r.label,
    `${r.oursMs.toFixed(2)} ms`,
    r.rawMs ? `${r.rawMs.toFixed(2)} ms` : '-',
    r.ratio ? `${r.ratio.toFixed(2)}x` : '-',
    `${Math.round(r.perSecond)}/s${r.kind === 'memory' ? ' (4 in flight, 1 process)' : ''}`,
    `${(r.conflictRate * 100).toFixed(0)}% (${r.conflicts})`,
  ])
  const all = [head, ...body]
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(head), sep, ...body.map(line)].join('\n')
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await stateBench()
  fs.writeFileSync(path.join(BENCH_DIR, 'state-results.json'), `${JSON.stringify(rows, null, 2)}\n`)
  console.log(renderStateTable(rows))
}
