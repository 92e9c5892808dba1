// SqliteStore on a real file: several processes sharing it, a process killed mid-commit,
// WAL mode, purging. (The State suite runs on SqliteStore too: __test__/state.test.mjs.)
import { afterAll, describe, expect, it } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const lua = require('..')
const Database = require('better-sqlite3')
const writer = fileURLToPath(new URL('./workers/sqlite-writer.mjs', import.meta.url))

const folder = mkdtempSync(join(tmpdir(), 'pubwiki-sqlite-'))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
let files = 0
const newPath = () => join(folder, `state-${files++}.db`)

function hammer(path, name, calls) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [writer, 'hammer', path, name, String(calls)], { env: process.env, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${name}: ${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)))
  })
}

describe('SqliteStore', () => {
  it('keeps the file in WAL mode, scope and key apart', () => {
    const path = newPath()
    const store = new lua.SqliteStore(path)
    store.set('Module:A', 'k', { n: 1 })
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare('SELECT scope, key FROM pubwiki_state').all()).toEqual([{ scope: 'Module:A', key: 'k' }])
    db.close()
    store.close()
  })

  it('calls read what another connection committed before they started, hosts read it at once', async () => {
    // Two stores on one file: two connections, as two processes would have. Calls read in
    // one read transaction per stretch of synchronous JS (lib/sqlite-reads.mjs); none may
    // read older than what was committed when it started, nor hide a host's read.
    const path = newPath()
    const store = new lua.SqliteStore(path)
    const other = new lua.SqliteStore(path)
    const runner = lua.createRunner({ state: { store } })
    const read = "local n = 0 for _ in pairs(State.list('r')) do n = n + 1 end return State.get('rev'), n"
    expect(runner.runSync(read, { scriptId: 'Page' }).values).toEqual([null, 0])
    // (A call that fails commits nothing, not even the check of what it read.)
    expect(() => runner.runSync("State.get('rev') error('no')", { scriptId: 'Page' })).toThrow('no')
    // Same task: no microtask has run since those calls read.
    other.set('Page', 'rev', 1)
    expect(store.get('Page', 'rev')).toBe(1)
    expect(store.entries('Page', 'r')).toEqual([['rev', 1]])
    expect(runner.runSync(read, { scriptId: 'Page' }).values).toEqual([1, 1])
    // (Read at once, not after a conflict with what it read of an older state.)
    expect(runner.stats.conflicts).toBe(0)
    // A call's own commit, read by the next call in the same task, and by an awaited one.
    runner.runSync("State.set('rev', 2)", { scriptId: 'Page' })
    expect(runner.runSync(read, { scriptId: 'Page' }).values).toEqual([2, 1])
    other.set('Page', 'rev', 3)
    expect((await runner.run(read, { scriptId: 'Page' })).values).toEqual([3, 1])
    expect(runner.stats.conflicts).toBe(0)
    // A call waiting for its host holds no read transaction: the other commit meanwhile is
    // read by its next read.
    const host = lua.createRunner({
      state: { store },
      globals: {
        later: async () => {
          await new Promise((resolve) => setTimeout(resolve, 10))
          other.set('Page', 'rev', 4)
        },
      },
    })
    const before = "local first = State.get('first') later() return first, State.get('rev')"
    expect((await host.run(before, { scriptId: 'Page' })).values).toEqual([null, 4])
    expect(host.stats.conflicts).toBe(0)
    store.close()
    other.close()
  })

  it('purges expired entries', async () => {
    const path = newPath()
    const store = new lua.SqliteStore(path)
    store.set('s', 'gone', 1, { ttl: 0.01 })
    store.set('s', 'kept', 2)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(store.get('s', 'gone')).toBe(undefined)
    store.purge()
    const db = new Database(path, { readonly: true })
    expect(db.prepare('SELECT key FROM pubwiki_state').pluck().all()).toEqual(['kept'])
    db.close()
    store.close()
  })

  it('gets a call\'s 100 writes in one commit, and runs them in runSync as in run', async () => {
    const store = new lua.SqliteStore(newPath())
    const commits = []
    const commit = store.commit.bind(store)
    store.commit = (writes) => {
      commits.push(writes.length)
      return commit(writes)
    }
    const runner = lua.createRunner({ state: { store } })
    await runner.run('for i = 1, 100 do State.set("k" .. i, i) end', { scriptId: 's' })
    runner.runSync('for i = 1, 100 do State.set("k" .. i, -i) end', { scriptId: 's' })
    expect(commits).toEqual([100, 100])
    expect(store.entries('s', 'k').map(([, value]) => value).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i - 100))
    store.close()
  })

  it('opens a file of the first schema (no versions, no usage) and migrates it in place', async () => {
    // The file as the first version of SqliteStore made it (its exact schema), with entries.
    const path = newPath()
    const old = new Database(path)
    old.pragma('journal_mode = WAL')
    old.exec(`CREATE TABLE IF NOT EXISTS pubwiki_state (
      scope TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER,
      PRIMARY KEY (scope, key)) WITHOUT ROWID`)
    const put = old.prepare('INSERT INTO pubwiki_state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)')
    const { encodeStored } = await import('../lib/state-codec.mjs')
    put.run('Module:Counter', 'visits', encodeStored(41), null)
    put.run('', 'global.events.boss', encodeStored({ name: 'dragon' }), null)
    old.close()
    const store = new lua.SqliteStore(path)
    expect(store.get('Module:Counter', 'visits')).toBe(41)
    // Usage counted from what was there (old shared keys count under owner '').
    expect(store.usage('Module:Counter')).toEqual({ bytes: 6 + encodeStored(41).length, keys: 1 })
    expect(store.usage('').keys).toBe(1)
    const runner = lua.createRunner({ state: { store, namespaces: { 'global.events': { shared: true, read: true, write: true } } }, retries: 100 })
    await Promise.all(Array.from({ length: 20 }, () => runner.run('State.set("visits", (State.get("visits") or 0) + 1)', { scriptId: 'Module:Counter' })))
    expect(store.get('Module:Counter', 'visits')).toBe(61)
    expect((await runner.run('return State.get("global.events.boss").name', { scriptId: 'Page' })).values).toEqual(['dragon'])
    store.close()
    // Opened again (already migrated): as it was.
    const again = new lua.SqliteStore(path)
    expect(again.get('Module:Counter', 'visits')).toBe(61)
    expect(again.usage('Module:Counter').keys).toBe(1)
    again.close()
  })

  it('explains a path that is not one', () => {
    expect(() => new lua.SqliteStore('')).toThrow(TypeError)
    expect(() => new lua.SqliteStore(join(folder, 'no', 'such', 'dir', 'x.db'))).toThrow()
  })

  it('two processes hammering one file lose no committed write and never see a torn value', async () => {
    const path = newPath()
    const calls = 400
    const [a, b] = await Promise.all([hammer(path, 'a', calls), hammer(path, 'b', calls)])
    expect(a.done + b.done).toBe(2 * calls)
    const store = new lua.SqliteStore(path)
    const own = store.entries('Module:Hammer', 'own.')
    expect(own.length).toBe(2 * calls)
    for (const name of ['a', 'b']) {
      for (let i = 1; i <= calls; i++) expect(store.get('Module:Hammer', `own.${name}.${i}`)).toBe(i)
    }
    // The shared key holds one whole write, the last commit's.
    const shared = store.get('', 'shared')
    expect(new Set(shared.fields)).toEqual(new Set([shared.writer]))
    expect(['a', 'b'].map((name) => `${name}${calls}`)).toContain(shared.writer)
    // They did run at the same time (each saw the other's writes).
    expect(a.seenOther + b.seenOther).toBeGreaterThan(0)
    store.close()
  })

  it('a process killed with SIGKILL mid-commit leaves every batch whole or absent', async () => {
    const path = newPath()
    const child = spawn(process.execPath, [writer, 'batches', path], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve)
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it started`)))
    })
    // Let it commit for a while, then kill it wherever it is.
    await new Promise((resolve) => setTimeout(resolve, 400 + Math.random() * 200))
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)))
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    const db = new Database(path)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    const counts = db
      .prepare("SELECT substr(key, 1, 12) AS batch, count(*) AS n FROM pubwiki_state WHERE scope = 'Module:Batches' GROUP BY batch")
      .all()
    expect(counts.length).toBeGreaterThan(1)
    for (const { batch, n } of counts) expect(n, batch).toBe(200)
    // Batches are numbered in commit order: the ones there are 1..N without a gap.
    expect(counts.map(({ batch }) => Number(batch.slice(6)))).toEqual(counts.map((_, i) => i + 1))
    db.close()
  })
})
