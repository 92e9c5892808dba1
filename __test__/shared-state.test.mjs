// One State shared by several processes, on real servers (scripts/test-servers.mjs starts
// PostgreSQL and redis-server; SQLite is a file): counters and transfers that must end
// exactly right, quotas held across processes, servers killed with SIGKILL and restarted
// mid-run, clients killed mid-commit. The counts of conflicts and re-runs are printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPostgres, startRedis } from '../scripts/test-servers.mjs'
import { CODE, NAMESPACES } from './workers/state-worker.mjs'

const require = createRequire(import.meta.url)
const lua = require('..')
const worker = fileURLToPath(new URL('./workers/state-worker.mjs', import.meta.url))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const folder = mkdtempSync(join(tmpdir(), 'pubwiki-shared-'))
const started = (promise) => promise.then((server) => ({ server }), (error) => ({ error }))
const servers = {}
beforeAll(async () => {
  ;[servers.postgres, servers.redis] = await Promise.all([started(startPostgres()), started(startRedis())])
})
afterAll(async () => {
  await Promise.all(Object.values(servers).map(({ server }) => server?.stop()))
  rmSync(folder, { recursive: true, force: true })
})

let targets = 0
// A fresh, empty place for a store of `kind`: a file, a database of its own, a key prefix.
async function freshTarget(kind) {
  if (kind === 'sqlite') return join(folder, `shared-${targets++}.db`)
  const { server, error } = servers[kind]
  if (error) throw new Error(`${kind} could not be started: ${error.message}`)
  if (kind === 'redis') {
    // A database number of its own (a fresh keyspace) per test.
    return `${server.url}/${1 + (targets++ % 15)}`
  }
  const database = `shared_${targets++}`
  const admin = new lua.PostgresStore(server.url)
  await admin.pool.query(`CREATE DATABASE ${database}`)
  await admin.close()
  return server.url.replace(/\/postgres$/, `/${database}`)
}

function open(kind, target) {
  if (kind === 'sqlite') return new lua.SqliteStore(target)
  if (kind === 'postgres') return new lua.PostgresStore(target)
  return new lua.RedisStore(target)
}

/** Runs a worker process (workers/state-worker.mjs); resolves to its JSON summary. */
function process_(kind, target, mode, calls, name, inflight = 1, env = process.env) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [worker, kind, target, mode, String(calls), name, String(inflight)], { env, timeout: 300_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => (error ? reject(new Error(`${name}: ${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout))))
  })
}

function report(what, summaries) {
  const sum = (field) => summaries.reduce((n, s) => n + s[field], 0)
  const calls = sum('ok') + summaries.reduce((n, s) => n + Object.values(s.failed).reduce((a, b) => a + b, 0), 0)
  console.log(`${what}: ${calls} calls, ${sum('ok')} committed, ${sum('conflicts')} conflicts (${(sum('conflicts') / Math.max(1, calls + sum('retries'))).toFixed(2)} of attempts), ${sum('retries')} re-runs`)
}

const PROCESSES = 4
const CALLS = 500

describe('one State shared by 4 processes', () => {
  it('counts exactly on a MemoryStore with 4 calls in flight (one process)', async () => {
    const store = new lua.MemoryStore()
    const runner = lua.createRunner({ state: { store }, retries: 1000 })
    let next = 0
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < PROCESSES * CALLS) await runner.run(CODE.counter, { scriptId: 'Module:Shared' })
    }))
    expect(store.get('Module:Shared', 'visits')).toBe(PROCESSES * CALLS)
    report('MemoryStore counter', [{ ok: PROCESSES * CALLS, failed: {}, ...runner.stats }])
  })

  it('keeps the sum of 10 accounts on a MemoryStore with 4 calls in flight', async () => {
    const store = new lua.MemoryStore()
    const runner = lua.createRunner({ state: { store, namespaces: NAMESPACES }, retries: 1000 })
    let next = 0
    const random = (n) => 1 + Math.floor(Math.random() * n)
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < PROCESSES * CALLS) await runner.run(CODE.transfer, { scriptId: 'Module:Shared', arguments: [random(10), random(10), random(30)] })
    }))
    const accounts = store.entries('', 'bank.')
    expect(accounts.reduce((sum, [, value]) => sum + value, 0) + 100 * (10 - accounts.length)).toBe(1000)
    report('MemoryStore transfers', [{ ok: PROCESSES * CALLS, failed: {}, ...runner.stats }])
  })

  for (const kind of ['sqlite', 'postgres', 'redis']) {
    describe(kind, () => {
      it(`counts exactly: ${PROCESSES} processes x ${CALLS} increments of one key`, async () => {
        const target = await freshTarget(kind)
        const summaries = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => process_(kind, target, 'counter', CALLS, `p${i}`)))
        report(`${kind} counter`, summaries)
        for (const summary of summaries) expect(summary).toMatchObject({ ok: CALLS, failed: {} })
        const store = open(kind, target)
        expect(await store.get('Module:Shared', 'visits')).toBe(PROCESSES * CALLS)
        await store.close()
      })

      if (kind !== 'sqlite') {
        it(`counts exactly with a read cache in each process: ${PROCESSES} processes x ${CALLS} increments`, async () => {
          const target = await freshTarget(kind)
          const env = { ...process.env, PUBWIKI_STATE_READ_CACHE: '1' }
          const summaries = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => process_(kind, target, 'counter', CALLS, `p${i}`, 1, env)))
          report(`${kind} counter, read cache`, summaries)
          for (const summary of summaries) expect(summary).toMatchObject({ ok: CALLS, failed: {} })
          const store = open(kind, target)
          expect(await store.get('Module:Shared', 'visits')).toBe(PROCESSES * CALLS)
          await store.close()
        })
      }

      it(`keeps the sum of 10 accounts: ${PROCESSES} processes x ${CALLS} transfers`, async () => {
        const target = await freshTarget(kind)
        const summaries = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => process_(kind, target, 'transfer', CALLS, `p${i}`)))
        report(`${kind} transfers`, summaries)
        for (const summary of summaries) expect(summary).toMatchObject({ ok: CALLS, failed: {} })
        const store = open(kind, target)
        const accounts = await store.entries('', 'bank.')
        expect(accounts.length).toBeGreaterThan(0)
        expect(accounts.reduce((sum, [, value]) => sum + value, 0) + 100 * (10 - accounts.length)).toBe(1000)
        await store.close()
      })

      it('holds a quota of 50 keys against 2 processes writing at once', async () => {
        const target = await freshTarget(kind)
        const summaries = await Promise.all(['a', 'b'].map((name) => process_(kind, target, 'quota', 80, name, 2)))
        expect(summaries[0].ok + summaries[1].ok).toBe(50)
        for (const { failed } of summaries) {
          // Refused at the set (a Lua error) or, when the other process took the room meanwhile, at the commit.
          for (const why of Object.keys(failed)) expect(['runtime', 'quota']).toContain(why)
        }
        const store = open(kind, target)
        expect((await store.entries('', 'board.')).length).toBe(50)
        expect(await store.usage('', 'board')).toMatchObject({ keys: 50 })
        await store.close()
      })

      if (kind !== 'sqlite') {
        it('leaves whole commits only when a client is killed mid-commit', async () => {
          const target = await freshTarget(kind)
          const child = spawn(process.execPath, [worker, kind, target, 'batches'], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] })
          await new Promise((resolve, reject) => {
            child.stdout.once('data', resolve)
            child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it started`)))
          })
          await sleep(300 + Math.random() * 300)
          const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)))
          child.kill('SIGKILL')
          expect(await exited).toBe('SIGKILL')
          const store = open(kind, target)
          const batches = new Map()
          for (const [key, value] of await store.entries('Module:Batches', 'batch.')) {
            expect(key.slice(6, 12)).toBe(String(value).padStart(6, '0'))
            batches.set(value, (batches.get(value) ?? 0) + 1)
          }
          expect(batches.size).toBeGreaterThan(1)
          for (const [batch, n] of batches) expect(n, `batch ${batch}`).toBe(200)
          expect([...batches.keys()].sort((a, b) => a - b)).toEqual([...batches.keys()].map((_, i) => i + 1))
          await store.close()
        })

        it('survives the server killed with SIGKILL and restarted mid-run: nothing twice, nothing in part', async () => {
          // A server of its own (the others' tests must not see it die), persistent.
          const server = kind === 'postgres' ? await startPostgres() : await startRedis({ persistent: true })
          try {
            const target = server.url
            const calls = 600
            const running = Promise.all(['a', 'b'].map((name) => process_(kind, target, 'faults', calls, name, 2)))
            const watcher = open(kind, target)
            // Kill it once the processes have counted a while, bring it back 300 ms later.
            for (let n = 0; n < 100 && ((await watcher.get('Module:Shared', 'visits').catch(() => 0)) ?? 0) < 150; n++) await sleep(50)
            await server.kill()
            await sleep(300)
            await server.restart()
            const summaries = await running
            report(`${kind} counter across a server kill`, summaries)
            const visits = await watcher.get('Module:Shared', 'visits')
            const done = new Set((await watcher.entries('Module:Shared', 'done.')).map(([key]) => key.slice(5)))
            await watcher.close()
            // Each increment was committed with its done key, or neither was.
            expect(visits).toBe(done.size)
            summaries.forEach(({ results, failed }, p) => {
              const name = ['a', 'b'][p]
              results.forEach((result, i) => {
                if (result === 'ok') expect(done.has(`${name}.${i}`), `${name}.${i}`).toBe(true)
              })
              for (const why of Object.keys(failed)) expect(['runtime', 'Error', 'conflict']).toContain(why)
              // The calls failed while it was down, and worked again after.
              expect(Object.keys(failed).length).toBeGreaterThan(0)
              expect(results.slice(-20).every((result) => result === 'ok')).toBe(true)
            })
          } finally {
            await server.stop()
          }
        })
      }
    })
  }
})
