// The Triples rows of IndexedDbTripleStore, measured in Chromium by bench/browser.mjs
// (`?suite=triples`): the workload of bench/triples.mjs (lib/triples-workload.mjs: 10k
// State.insert in one call, then 1,000 calls of 10 State.query by subject, with `run`: the
// store is asynchronous) beside the same work on IndexedDB directly, with the store's
// schema: 10k puts in one readwrite transaction, and each query a getAll of the [g, s] key
// range in a readonly transaction of its own, as the store reads. Each side runs WARMUP
// untimed calls of its queries first; the sides take turns, round by round; medians of
// ROUNDS rounds.
import { createRunner, IndexedDbTripleStore } from 'pubwiki-lua'
import { baseOf, FIRST_SUM, INSERT_CODE, INSERTS, median, QUERIES, QUERY_CODE } from '../lib/triples-workload.mjs'

const params = new URLSearchParams(location.search)
const CALLS = Number(params.get('calls') ?? 1000)
const WARMUP = Number(params.get('warmup') ?? 300)
const ROUNDS = Number(params.get('rounds') ?? 5)

async function timeMs(f) {
  const t = performance.now()
  await f()
  return performance.now() - t
}

const promised = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result)
  request.onerror = () => reject(request.error)
})

const deleted = (name) => promised(indexedDB.deleteDatabase(name))

async function ours(round) {
  const name = `bench-ours-${round}`
  await deleted(name)
  const store = new IndexedDbTripleStore(name)
  const runner = createRunner({ triples: store })
  const insert = await timeMs(() => runner.run(INSERT_CODE, { scriptId: 'Module:Bench' }))
  const check = await runner.run(QUERY_CODE, { scriptId: 'Module:Bench', arguments: [0] })
  if (check.values[0] !== FIRST_SUM) throw new Error(`wrong result ${check.values[0]}`)
  const loop = async (calls) => {
    for (let call = 0; call < calls; call++) await runner.run(QUERY_CODE, { scriptId: 'Module:Bench', arguments: [baseOf(call)] })
  }
  await loop(WARMUP)
  const queries = await timeMs(() => loop(CALLS))
  await store.close()
  await deleted(name)
  return { insert, queries }
}

async function direct(round) {
  const name = `bench-direct-${round}`
  await deleted(name)
  const request = indexedDB.open(name, 1)
  request.onupgradeneeded = () => {
    const quads = request.result.createObjectStore('quads', { keyPath: ['g', 's', 'p', 'k', 'o'] })
    quads.createIndex('pos', ['g', 'p', 'k', 'o', 's'])
    quads.createIndex('osp', ['g', 'k', 'o', 's', 'p'])
  }
  const db = await promised(request)
  const insert = await timeMs(() => new Promise((resolve, reject) => {
    const transaction = db.transaction('quads', 'readwrite')
    const quads = transaction.objectStore('quads')
    for (let i = 1; i <= INSERTS; i++) quads.put({ g: '', s: `item:${i}`, p: 'n', k: 2, o: String(i) })
    transaction.oncomplete = resolve
    transaction.onerror = () => reject(transaction.error)
  }))
  const loop = async (calls) => {
    for (let call = 0; call < calls; call++) {
      let sum = 0
      for (let j = 1; j <= QUERIES; j++) {
        const s = `item:${baseOf(call) + j}`
        const records = await promised(db.transaction('quads', 'readonly').objectStore('quads').getAll(IDBKeyRange.bound(['', s], ['', s, []])))
        sum += Number(records[0].o)
      }
      if (sum <= 0) throw new Error('wrong')
    }
  }
  await loop(WARMUP)
  const queries = await timeMs(() => loop(CALLS))
  db.close()
  await deleted(name)
  return { insert, queries }
}

export async function triplesInBrowser() {
  const rounds = { ours: [], direct: [] }
  for (let round = 0; round < ROUNDS; round++) {
    rounds.ours.push(await ours(round))
    rounds.direct.push(await direct(round))
  }
  const medians = (list) => Object.fromEntries(Object.keys(list[0]).map((key) => [key, median(list.map((r) => r[key]))]))
  return { ours: medians(rounds.ours), raw: medians(rounds.direct), rounds: ROUNDS, calls: CALLS, warmup: WARMUP }
}
