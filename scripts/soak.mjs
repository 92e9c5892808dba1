// Soak: many fresh-state calls mixing successes and every error kind, with and without host
// functions (sync, async, throwing, never settling) and State as triples (on an N3TripleStore
// and on an asynchronous RDFStore: committed, rolled back, over a limit); reports RSS growth
// after warm-up as JSON. Usage: node --expose-gc scripts/soak.mjs [calls]
// (PUBWIKI_LUA_BACKEND picks the backend.)
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { runLua, backend, N3TripleStore } = require('..')

const calls = Number(process.argv[2] ?? 20000)
const scripts = [
  ['print("ok", 1.5, {})', {}],
  ['local t = {} for i = 1, 100 do t[i] = tostring(i) end return table.concat(t)', {}],
  ['error({code = 1})', {}],
  ['x = = 1', {}],
  ['while true do end', { timeLimit: 2 }],
  ['local s = string.rep("x", 2^30)', { memoryLimit: 1 << 20 }],
  ['while true do io.write("0123456789") end', { outputLimit: 1000 }],
  ['local t = {} t.self = t return t', {}],
  ['local function f() return 1 + f() end f()', { memoryLimit: 4 << 20 }],
]
const globals = {
  args: { title: 'Soak', tags: ['a', 'b'] },
  add: (a, b) => a + b,
  later: async (x) => x,
  fail: () => { throw new Error('host failure') },
  never: () => new Promise(() => {}),
  big: () => 'x'.repeat(100_000),
}
// Triples stay bounded (the calls set the same 50 subjects), so that growth is a leak.
const n3 = { triples: new N3TripleStore() }
const triples = [
  "local n = math.random(1000) local k = 'item:' .. n % 50 State.set(k, 'n', n) return #State.query({ subject = k })",
  "State.insert('item:1', 'x', { a = 1 }) error('rolled back')",
  "for i = 1, 1e6 do State.insert('big', 'n', string.rep('x', 1000) .. i) end",
]
scripts.push(
  [triples[0], n3],
  [triples[1], n3],
  [triples[2], { ...n3, memoryLimit: 1 << 20 }],
  [triples[0], { triples: rdfStore() }],
  [triples[1], { triples: rdfStore() }],
)
scripts.push(
  ['return add(args.tags[1], #args.title)', { globals }],
  ['local s = 0 for i = 1, 20 do s = s + later(i) end return s', { globals }],
  ['local ok = pcall(fail) fail()', { globals }],
  ['print("waits") never()', { globals, timeLimit: 5 }],
  ['return #big(), coroutine.wrap(function() return later(1) end)()', { globals }],
)

// An asynchronous RDFStore (the other library's interface) over an array.
function rdfStore() {
  let list = []
  const same = (t, { subject, predicate, object }) =>
    (subject == null || t.subject === subject) && (predicate == null || t.predicate === predicate) && (object == null || t.object === object)
  return {
    async insert(subject, predicate, object) {
      if (!list.some((t) => same(t, { subject, predicate, object }))) list.push({ subject, predicate, object })
    },
    async delete(subject, predicate, object) {
      list = list.filter((t) => !same(t, { subject, predicate, object }))
    },
    async query(pattern) {
      return list.filter((t) => same(t, pattern))
    },
  }
}

async function batch(count, offset) {
  const inFlight = 64
  let next = 0
  async function worker() {
    while (next < count) {
      const i = offset + next++
      const [code, options] = scripts[i % scripts.length]
      await runLua(code, `soak${i}`, options).catch(() => {})
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
}

function rss() {
  globalThis.gc?.()
  return process.memoryUsage().rss
}
const v8Heap = () => process.memoryUsage().heapTotal

// Allocators and V8 size their pools during the first few thousand calls (4 pool threads
// each get their own heap); growth is measured after that. A leak grows in both halves,
// settling-in only in the first.
const warmup = Math.min(5000, calls)
await batch(warmup, 0)
const before = rss()
const heapBefore = v8Heap()
const started = performance.now()
const half = Math.floor(calls / 2)
await batch(half, warmup)
const middle = rss()
await batch(calls - half, warmup + half)
const after = rss()
const mib = (bytes) => +(bytes / 2 ** 20).toFixed(1)
console.log(JSON.stringify({
  backend,
  calls,
  seconds: +((performance.now() - started) / 1000).toFixed(2),
  rssBeforeMiB: mib(before),
  rssAfterMiB: mib(after),
  growthMiB: mib(after - before),
  secondHalfGrowthMiB: mib(after - middle),
  // Of the growth, how much is V8's own heap (its young generation grows under load).
  v8HeapGrowthMiB: mib(v8Heap() - heapBefore),
}))
