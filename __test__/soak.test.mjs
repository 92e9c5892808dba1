import { expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const soak = fileURLToPath(new URL('../scripts/soak.mjs', import.meta.url))

// 20,000 fresh-state calls with every outcome, host functions and State as triples among
// them; `npm run soak` reports the figures.
it('does not leak across 20,000 calls mixing every outcome', () => {
  const report = JSON.parse(execFileSync(process.execPath, ['--expose-gc', soak, '20000'], { encoding: 'utf8' }))
  expect(report.backend).toBe(process.env.PUBWIKI_LUA_BACKEND)
  expect(report.calls).toBe(20000)
  expect(report.growthMiB).toBeLessThan(64)
}, 180_000)

// Awaited calls that end on the JS thread never let the event loop turn, and Node runs
// napi finalizers from the loop: whatever a call's native object holds must be let go when
// its outcome arrives, not when the object is finalized (a call's host functions and
// globals were kept until the loop yielded, 1.5 KB a call).
it("lets go of each call's host functions in a loop of awaited calls that never yields", () => {
  const script = `
    const lua = require(${JSON.stringify(fileURLToPath(new URL('..', import.meta.url)))})
    const call = () => lua.runLua('return add(1, 2) + #args.title', 'Loop', {
      globals: { args: { title: 'x'.repeat(100), list: Array.from({ length: 20 }, (_, i) => i) }, add: (a, b) => a + b },
    })
    ;(async () => {
      for (let i = 0; i < 1000; i++) await call()
      gc()
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < 10000; i++) await call()
      gc()
      console.log(JSON.stringify({ backend: lua.backend, growth: process.memoryUsage().heapUsed - before }))
    })()`
  const report = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }))
  expect(report.backend).toBe(process.env.PUBWIKI_LUA_BACKEND)
  expect(report.growth).toBeLessThan(4 << 20)
}, 60_000)

// Memory a burst of big calls took goes back to the system once they end (natively, big
// chunks of a state's heap are mappings of their own: through malloc, 64 calls of ~16 MiB
// left the process 310 MiB bigger).
it('gives back the memory of a burst of big calls when they end', () => {
  const script = `
    const lua = require(${JSON.stringify(fileURLToPath(new URL('..', import.meta.url)))})
    const code = 'local t = {} for i = 1, 40 do t[i] = string.rep(string.char(65 + i % 26), 400000) .. i end local s = 0 for i = 1, 2e6 do s = s + i end return #t'
    ;(async () => {
      await lua.runLua('return 1', 'Burst')
      gc()
      const before = process.memoryUsage().rss
      const results = await Promise.all(Array.from({ length: 64 }, () => lua.run(code, { scriptId: 'Burst' })))
      gc()
      console.log(JSON.stringify({ backend: lua.backend, ok: results.every((r) => r.values[0] === 40), growth: process.memoryUsage().rss - before }))
    })()`
  const report = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }))
  expect(report.backend).toBe(process.env.PUBWIKI_LUA_BACKEND)
  expect(report.ok).toBe(true)
  expect(report.growth).toBeLessThan(128 << 20)
}, 60_000)
