// A process using one shared State through the library, for __test__/shared-state.test.mjs.
//   node state-worker.mjs STORE TARGET MODE CALLS [NAME] [INFLIGHT]
// STORE: sqlite (TARGET a file), postgres or redis (TARGET a URL). MODES:
//   counter   CALLS increments of one key: State.set("visits", (State.get("visits") or 0) + 1)
//   transfer  CALLS moves of a random amount between two of 10 accounts
//   faults    increments that also mark their own key done.NAME.i; errors are expected
//   quota     CALLS writes of a new 100-byte key to a namespace with a quota of 50 keys
//   batches   commits of 200 keys until killed, printing "started" after the first
// Prints a JSON summary: { ok, failed: { kind: n }, conflicts, retries, elapsedMs, results? }.
// PUBWIKI_STATE_READ_CACHE=1 gives the PostgreSQL and Redis stores a read cache.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const lua = require('../..')

const [kind, target, mode, calls = '0', name = 'p', inflight = '1'] = process.argv.slice(2)

export function openStore(kind, target) {
  // PUBWIKI_STATE_READ_CACHE=1: the server stores keep a read cache.
  const readCache = process.env.PUBWIKI_STATE_READ_CACHE === '1'
  if (kind === 'sqlite') return new lua.SqliteStore(target, { busyTimeout: 30_000 })
  if (kind === 'postgres') return new lua.PostgresStore(target, { max: 4, readCache })
  if (kind === 'redis') return new lua.RedisStore(target, { readCache })
  throw new Error(`unknown store ${kind}`)
}

export const CODE = {
  counter: 'State.set("visits", (State.get("visits") or 0) + 1)',
  transfer: `
    local from, to, amount = ...
    local a = State.get("bank." .. from) or 100
    local b = State.get("bank." .. to) or 100
    if from ~= to and a >= amount then
      State.set("bank." .. from, a - amount)
      State.set("bank." .. to, b + amount)
    end`,
  faults: `
    local me = ...
    State.set("visits", (State.get("visits") or 0) + 1)
    State.set("done." .. me, true)`,
  quota: 'State.set("board." .. ..., string.rep("x", 80))',
  batches: 'local n = ... for j = 1, 200 do State.set(string.format("batch.%06d.%03d", n, j), n) end',
}

export const NAMESPACES = {
  bank: { shared: true, read: true, write: true },
  board: { shared: true, read: true, write: true, quota: { keys: 50 } },
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const store = openStore(kind, target)
  const runner = lua.createRunner({ state: { store, namespaces: NAMESPACES }, retries: mode === 'faults' ? 20 : 1000, timeLimit: 30_000 })
  const failed = {}
  const results = []
  let ok = 0
  const one = async (i) => {
    const args = mode === 'transfer'
      ? [1 + Math.floor(Math.random() * 10), 1 + Math.floor(Math.random() * 10), 1 + Math.floor(Math.random() * 30)]
      : mode === 'faults' ? [`${name}.${i}`] : mode === 'quota' ? [`${name}.${i}`] : [i]
    try {
      await runner.run(CODE[mode], { scriptId: 'Module:Shared', arguments: args })
      ok++
      results[i] = 'ok'
    } catch (error) {
      const why = error instanceof lua.LuaError ? error.kind : 'Error'
      failed[why] = (failed[why] ?? 0) + 1
      results[i] = why
      if (mode !== 'faults' && mode !== 'quota') process.stderr.write(`${name} call ${i}: ${error.message}\n`)
      // A client backs off a little while its database is away.
      if (mode === 'faults') await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  if (mode === 'batches') {
    for (let n = 1; ; n++) {
      await runner.run(CODE.batches, { scriptId: 'Module:Batches', arguments: [n] })
      if (n === 1) process.stdout.write('started\n')
    }
  }
  let next = 0
  const total = Number(calls)
  const started = performance.now()
  await Promise.all(Array.from({ length: Number(inflight) }, async () => {
    while (next < total) await one(next++)
  }))
  const elapsedMs = performance.now() - started
  process.stdout.write(JSON.stringify({ ok, failed, ...runner.stats, elapsedMs, results: mode === 'faults' ? results : undefined }))
  await store.close?.()
}
