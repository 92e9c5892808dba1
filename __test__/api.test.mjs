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

// wasm runs calls on the calling thread by design.
describe.skipIf(lua.backend !== 'native')('off the main thread', () => {
  const busy = 'local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end'

  // Proven by when each call ran (the host's clock, read by each call as it starts and as
  // it ends), not by how long they took: the machine may be busy with other work.
  it('runs CPU-bound calls in parallel', async () => {
    const globals = { now: () => performance.now() }
    const code = `${busy} local started = now() fib(27) return started, now()`
    const [a, b] = (await Promise.all([run(code, { scriptId: 'a', globals }), run(code, { scriptId: 'b', globals })])).map((r) => r.values)
    expect(a[0] < b[1] && b[0] < a[1], `a ran ${a}, b ran ${b}`).toBe(true)
  })

  it('keeps the event loop responsive during a long call', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const error = await failure(runLua('while true do end', 'long', { timeLimit: 300 }))
    clearInterval(timer)
    expect(error.kind).toBe('timeout')
    expect(ticks).toBeGreaterThan(10)
  })

  // The slice is preempted on whichever thread runs when it is due (the watchdog's signal
  // finds one; threads resumed after get the slice hook: crates/core/src/preempt.rs), also
  // in a loop that switches coroutines at every turn, and through pcall.
  it('keeps the event loop responsive during a long call that switches coroutines', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const code = `
      local co = coroutine.wrap(function() while true do coroutine.yield(1) end end)
      local n = 0
      while true do n = n + select(2, pcall(co)) end`
    const error = await failure(runLua(code, 'switching', { timeLimit: 300 }))
    clearInterval(timer)
    expect(error.kind).toBe('timeout')
    expect(ticks).toBeGreaterThan(10)
  })
})
