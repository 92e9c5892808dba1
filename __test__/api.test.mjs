// The API suite in Node, once per backend (PUBWIKI_LUA_BACKEND), through the CommonJS
// entry. The backend-independent tests are in shared/api-suite.mjs (also run in Chromium by
// __test__/browser/api.test.mjs); what only Node has stays here.
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { apiSuite, failure } from './shared/api-suite.mjs'

const require = createRequire(import.meta.url)
const lua = require('..')
const { run, runLua } = lua
const expectedBackend = process.env.PUBWIKI_LUA_BACKEND

describe(`backend ${expectedBackend}`, () => {
  it('loads the backend it was asked for', () => {
    expect(lua.backend).toBe(expectedBackend)
  })
})

apiSuite(lua)

describe('off the main thread', () => {
  const busy = 'local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end return fib(30)'

  it('runs CPU-bound calls in parallel', async () => {
    if (lua.backend !== 'native') return // wasm runs on the calling thread by design
    await run(busy, { scriptId: 'warm' })
    // Best of a few rounds: other processes on a 2-core machine can take a core for a while.
    let best = Infinity
    for (let round = 0; round < 5 && best >= 1.7; round++) {
      const t0 = performance.now()
      await run(busy, { scriptId: 'one' })
      const one = performance.now() - t0
      const t1 = performance.now()
      const results = await Promise.all([run(busy, { scriptId: 'a' }), run(busy, { scriptId: 'b' })])
      const two = performance.now() - t1
      expect(results.map((r) => r.values[0])).toEqual([832040, 832040])
      best = Math.min(best, two / one)
    }
    expect(best).toBeLessThan(1.7)
  })

  it('keeps the event loop responsive during a long call', async () => {
    if (lua.backend !== 'native') return
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const error = await failure(runLua('while true do end', 'long', { timeLimit: 300 }))
    clearInterval(timer)
    expect(error.kind).toBe('timeout')
    expect(ticks).toBeGreaterThan(10)
  })
})
