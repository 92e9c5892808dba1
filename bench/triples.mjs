#!/usr/bin/env node
// The Triples section of the benchmark (bench/run.mjs runs it after State; `node
// bench/triples.mjs` runs it alone): per built-in triple store (N3TripleStore,
// SqliteTripleStore on a file), on the backend of this process (PUBWIKI_LUA_BACKEND,
// default native),
//   - 10k State.insert in one call (one commit of 10k triples), against the same 10k
//     triples added directly with the store's library (n3: Store.addQuad with the same
//     terms; better-sqlite3: one transaction of 10k prepared INSERTs);
//   - 1k calls each doing 10 State.query by subject (over those 10k triples), with `run`
//     and with `runSync`, against the same 10k queries directly (Store.getQuads; a prepared
//     SELECT);
// and beside them Quadstore (on memory-level, and on classic-level: LevelDB files) doing
// the same directly, which is how the built-in stores were chosen (see the README).
// IndexedDbTripleStore, browsers' only, is measured in Chromium (bench/browser/triples.js,
// the wasm backend, `run` only: the store is asynchronous). Each side runs WARMUP calls of
// its queries untimed first: the first calls after the 10k inserts pay for the collection
// of what the inserts left (a loop timed first was ~15% slower than the same loop timed
// next, whichever it was). Medians of ROUNDS rounds; nothing asserts on time.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { baseOf, FIRST_SUM, INSERT_CODE, INSERTS, median, QUERIES, QUERY_CODE } from './lib/triples-workload.mjs'

const require = createRequire(import.meta.url)
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.join(BENCH_DIR, '..')
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true'
const ROUNDS = QUICK ? 3 : 5
const CALLS = QUICK ? 300 : 1000
const WARMUP = QUICK ? 1000 : 3000
const log = (...a) => console.error('[bench triples]', ...a)

async function timeMs(f) {
  const t = performance.now()
  await f()
  return performance.now() - t
}

// The pubwiki side for one store, one round: { insert, queries, queriesSync } in ms.
function ours(lua, makeStore) {
  return async (round) => {
    const store = makeStore(round)
    const runner = lua.createRunner({ triples: store })
    const insert = await timeMs(() => runner.run(INSERT_CODE, { scriptId: 'Module:Bench' }))
    const check = await runner.run(QUERY_CODE, { scriptId: 'Module:Bench', arguments: [0] })
    if (check.values[0] !== FIRST_SUM) throw new Error(`wrong result ${check.values[0]}`)
    const loop = async (calls) => {
      for (let call = 0; call < calls; call++) await runner.run(QUERY_CODE, { scriptId: 'Module:Bench', arguments: [baseOf(call)] })
    }
    const loopSync = (calls) => {
      for (let call = 0; call < calls; call++) runner.runSync(QUERY_CODE, { scriptId: 'Module:Bench', arguments: [baseOf(call)] })
    }
    await loop(WARMUP)
    loopSync(WARMUP)
    const queries = await timeMs(() => loop(CALLS))
    const queriesSync = timeSync(() => loopSync(CALLS))
    store.close?.()
    return { insert, queries, queriesSync }
  }
}

// Runs the rounds of each side in turn (ours, then the library's, ROUNDS times), so that
// both meet the same state of the machine and of the heap: each side's medians.
async function interleaved(sides) {
  const results = sides.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < sides.length; i++) results[i].push(await sides[i](round))
  }
  return results.map((rounds) => Object.fromEntries(Object.keys(rounds[0]).map((key) => [key, median(rounds.map((r) => r[key]))])))
}

// The same work on n3 directly, one round: the terms our store makes, addQuad and getQuads.
function rawN3() {
  const { Store, DataFactory } = require('n3')
  const { namedNode, literal, quad, defaultGraph } = DataFactory
  const integer = namedNode('http://www.w3.org/2001/XMLSchema#integer')
  const n = namedNode('n')
  return () => {
    const store = new Store()
    const insert = timeSync(() => {
      for (let i = 1; i <= INSERTS; i++) store.addQuad(quad(namedNode(`item:${i}`), n, literal(String(i), integer), defaultGraph()))
    })
    const loop = (calls) => {
      for (let call = 0; call < calls; call++) {
        let sum = 0
        for (let j = 1; j <= QUERIES; j++) sum += Number(store.getQuads(namedNode(`item:${baseOf(call) + j}`), null, null, defaultGraph())[0].object.value)
        if (sum <= 0) throw new Error('wrong')
      }
    }
    loop(WARMUP)
    return { insert, queries: timeSync(() => loop(CALLS)) }
  }
}

function timeSync(f) {
  const t = performance.now()
  f()
  return performance.now() - t
}

// The same work on better-sqlite3 directly, one round, on the same schema.
function rawSqlite(folder) {
  const Database = require('better-sqlite3')
  return (round) => {
    const db = new Database(path.join(folder, `raw-${round}.db`))
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(`CREATE TABLE t (g TEXT NOT NULL, s TEXT NOT NULL, p TEXT NOT NULL, k INTEGER NOT NULL, o TEXT NOT NULL, PRIMARY KEY (g, s, p, k, o)) WITHOUT ROWID;
      CREATE INDEX t_pos ON t (g, p, k, o, s); CREATE INDEX t_osp ON t (g, k, o, s, p);`)
    const put = db.prepare('INSERT OR IGNORE INTO t VALUES (?, ?, ?, ?, ?)')
    const all = db.transaction(() => {
      for (let i = 1; i <= INSERTS; i++) put.run('', `item:${i}`, 'n', 2, String(i))
    })
    const insert = timeSync(() => all.immediate())
    const select = db.prepare('SELECT s, p, k, o, g FROM t WHERE g IN (?) AND s = ?').raw()
    const loop = (calls) => {
      for (let call = 0; call < calls; call++) {
        let sum = 0
        for (let j = 1; j <= QUERIES; j++) sum += Number(select.all('', `item:${baseOf(call) + j}`)[0][3])
        if (sum <= 0) throw new Error('wrong')
      }
    }
    loop(WARMUP)
    const queries = timeSync(() => loop(CALLS))
    db.close()
    return { insert, queries }
  }
}

// Quadstore directly, on a level backend: multiPut of the 10k quads, get by subject.
async function rawQuadstore(makeBackend) {
  const { Quadstore } = require('quadstore')
  const { DataFactory } = require('n3')
  const { namedNode, literal, quad, defaultGraph } = DataFactory
  const integer = namedNode('http://www.w3.org/2001/XMLSchema#integer')
  const n = namedNode('n')
  const insert = []
  const queries = []
  for (let round = 0; round < ROUNDS; round++) {
    const store = new Quadstore({ backend: makeBackend(round), dataFactory: DataFactory })
    await store.open()
    const quads = []
    insert.push(await timeMs(async () => {
      for (let i = 1; i <= INSERTS; i++) quads.push(quad(namedNode(`item:${i}`), n, literal(String(i), integer), defaultGraph()))
      await store.multiPut(quads)
    }))
    const loop = async (calls) => {
      for (let call = 0; call < calls; call++) {
        let sum = 0
        for (let j = 1; j <= QUERIES; j++) {
          const { items } = await store.get({ subject: namedNode(`item:${baseOf(call) + j}`), graph: defaultGraph() })
          sum += Number(items[0].object.value)
        }
        if (sum <= 0) throw new Error('wrong')
      }
    }
    await loop(WARMUP)
    queries.push(await timeMs(() => loop(CALLS)))
    await store.close()
  }
  return { insert: median(insert), queries: median(queries) }
}

/** Rows of the Triples table (and what the README's figures come from). */
export async function triplesBench() {
  process.env.PUBWIKI_LUA_BACKEND ??= 'native'
  const lua = require(ROOT)
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pubwiki-bench-triples-'))
  const rows = []
  try {
    log(`N3TripleStore (${lua.backend})`)
    const [n3Ours, n3Raw] = await interleaved([ours(lua, () => new lua.N3TripleStore()), rawN3()])
    rows.push({ label: 'N3TripleStore (n3, memory)', ours: n3Ours, raw: n3Raw })
    log(`SqliteTripleStore (${lua.backend})`)
    const [sqliteOurs, sqliteRaw] = await interleaved([
      ours(lua, (round) => new lua.SqliteTripleStore(path.join(folder, `ours-${round}.db`))),
      rawSqlite(folder),
    ])
    rows.push({ label: 'SqliteTripleStore (better-sqlite3, file)', ours: sqliteOurs, raw: sqliteRaw })
    log('IndexedDbTripleStore (in Chromium)')
    try {
      const { measureBrowserTriples } = await import('./browser.mjs')
      const { ours, raw } = await measureBrowserTriples({ calls: CALLS, rounds: ROUNDS })
      rows.push({ label: 'IndexedDbTripleStore (IndexedDB, Chromium)', ours, raw, backend: 'wasm' })
    } catch (error) {
      log(`IndexedDbTripleStore not measured: ${String(error.message || error).split('\n')[0]}`)
    }
    log('Quadstore directly (memory-level, classic-level)')
    const { MemoryLevel } = require('memory-level')
    rows.push({ label: 'Quadstore on memory-level (not built in)', raw: await rawQuadstore(() => new MemoryLevel()) })
    let ClassicLevel
    try {
      ;({ ClassicLevel } = require('classic-level'))
    } catch {
      log('classic-level is not installed (npm ci in bench/): skipped')
    }
    if (ClassicLevel) rows.push({ label: 'Quadstore on classic-level (not built in)', raw: await rawQuadstore((round) => new ClassicLevel(path.join(folder, `level-${round}`))) })
  } finally {
    fs.rmSync(folder, { recursive: true, force: true })
  }
  for (const row of rows) row.backend ??= lua.backend
  return rows
}

export function renderTriplesTable(rows) {
  const ms = (v) => (v === undefined ? '-' : `${v.toFixed(v < 10 ? 2 : 0)} ms`)
  const ratio = (a, b) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}x`)
  const head = ['store', `${INSERTS / 1000}k inserts, one call`, 'directly', 'ratio', `${CALLS} calls x ${QUERIES} queries (run)`, '(runSync)', 'directly', 'ratio (run, runSync)']
  const body = rows.map(({ label, ours: o = {}, raw }) => [
    label,
    ms(o.insert),
    ms(raw.insert),
    ratio(o.insert, raw.insert),
    ms(o.queries),
    ms(o.queriesSync),
    ms(raw.queries),
    o.queries === undefined ? '-' : `${ratio(o.queries, raw.queries)}, ${ratio(o.queriesSync, raw.queries)}`,
  ])
  const all = [head, ...body]
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  return [line(head), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n')
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await triplesBench()
  fs.writeFileSync(path.join(BENCH_DIR, 'triples-results.json'), JSON.stringify(rows, null, 2) + '\n')
  console.log(`\nTriples on each store (${rows[0].backend} backend; medians of ${ROUNDS} rounds):\n\n${renderTriplesTable(rows)}`)
}
