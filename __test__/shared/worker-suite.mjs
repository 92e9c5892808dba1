// Worker runners through the public API, wherever they run: imported by
// __test__/worker-runner.test.mjs (Node, worker_threads) and
// __test__/browser/worker-runner.test.mjs (Chromium, Web Workers). `stuckWorkerUrl` is a
// worker script that never answers a call of "HANG" (__test__/workers/).
import { afterAll, describe, expect, it } from 'vitest'
import { failure } from './api-suite.mjs'

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))
const busy = (seconds) => `local t = os.clock() while os.clock() - t < ${seconds} do end`

export function workerSuite(lua, stuckWorkerUrl) {
  const { createWorkerRunner, LuaError } = lua
  const runners = []
  const make = (options) => {
    const runner = createWorkerRunner(options)
    runners.push(runner)
    return runner
  }
  afterAll(() => runners.forEach((runner) => runner.terminate()))

  describe('worker runner', () => {
    it('runs scripts in workers, with the results and LuaErrors of createRunner', async () => {
      const lua = make({ workers: 2 })
      expect(await lua.run('print("hi") return 1 + 1, {a = {1, 2}}', { scriptId: 'Module:W' })).toEqual({ output: 'hi\n', values: [2, { a: [1, 2] }] })
      expect(await lua.runLua('io.write("x", 1)', 'Module:W')).toBe('x1')
      const error = await failure(lua.run('print("partial")\nerror("boom")', { scriptId: 'Module:E' }))
      expect(error).toBeInstanceOf(LuaError)
      expect(error).toMatchObject({ kind: 'runtime', message: 'Module:E:2: boom', output: 'partial\n', scriptId: 'Module:E' })
      expect(error.traceback).toMatch(/^stack traceback:/)
      expect((await failure(lua.run('while true do end', { scriptId: 'T', timeLimit: 100 })))).toMatchObject({ kind: 'timeout', message: 'T:1: time limit exceeded (100 ms)' })
      // A worker runner runs scripts asynchronously only.
      expect(lua.runSync).toBeUndefined()
      await expect(lua.run(42, { scriptId: 's' })).rejects.toThrow(TypeError)
    })

    it('keeps the calling thread responsive while a script runs for 2 seconds', async () => {
      const lua = make({ workers: 1 })
      let turns = 0
      let running = true
      const spin = () => {
        if (!running) return
        turns++
        setTimeout(spin, 0)
      }
      spin()
      const result = await lua.run(`${busy(2)} return "done"`, { scriptId: 'Module:Heavy' })
      running = false
      expect(result.values).toEqual(['done'])
      // A blocked thread would have turned a handful of times at most.
      expect(turns).toBeGreaterThan(100)
    })

    it('runs two long scripts at once in two workers, and queues what does not fit', async () => {
      const lua = make({ workers: 2 })
      const order = []
      const calls = [1, 2, 3, 4].map((i) => lua.run(`${busy(0.3)} return ${i}`, { scriptId: `w${i}` }).then((r) => {
        order.push(r.values[0])
        return r.values[0]
      }))
      expect(await Promise.all(calls)).toEqual([1, 2, 3, 4])
      // The first two ran at once; the last two waited for them.
      expect(order.slice(0, 2).sort()).toEqual([1, 2])
      expect(order.slice(2).sort()).toEqual([3, 4])
    })

    it("host functions, modules and invoke are the calling thread's", async () => {
      const seen = []
      const lua = make({
        workers: 2,
        globals: ({ scriptId }) => ({ who: () => scriptId, log: (...parts) => seen.push(parts), later: async (x) => { await tick(); return x * 2 } }),
        modules: { 'Module:Util': 'return { twice = function(x) return later(x) end }' },
      })
      const { output, values } = await lua.run('log("from", "worker") print(who()) return require("Module:Util").twice(21)', { scriptId: 'Page:A' })
      expect({ output, values }).toEqual({ output: 'Page:A\n', values: [42] })
      expect(seen).toEqual([['from', 'worker']])
      expect((await lua.invoke('Module:Util', 'twice', [5], { scriptId: 'Page:B' })).values).toEqual([10])
      const original = new Error('nope')
      const error = await failure(lua.run('fail()', { scriptId: 'P', globals: { fail: () => { throw original } } }))
      expect(error.cause).toBe(original)
      // In a worker every host call waits for the calling thread: where Lua cannot wait,
      // none can be made, sync ones included.
      expect((await failure(lua.run('table.sort({2, 1}, function(a, b) return who() < "z" end)', { scriptId: 'P' }))).message)
        .toBe("P:1: cannot wait for 'who' here (inside table.sort)")
      // 200 calls, each with a few host calls, each getting its own answers.
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
        lua.run(`return who() .. ":" .. later(${i})`, { scriptId: `c${i}` })))
      results.forEach((r, i) => expect(r.values).toEqual([`c${i}:${2 * i}`]))
    })

    it('replaces a worker that does not answer, and the next call works', async () => {
      const lua = make({ workers: 2, workerUrl: stuckWorkerUrl, timeLimit: 200 })
      const other = lua.run(`${busy(0.5)} return "unaffected"`, { scriptId: 'other', timeLimit: 3000 })
      const started = performance.now()
      const error = await failure(lua.run('HANG', { scriptId: 'Module:Stuck' }))
      expect(error).toBeInstanceOf(LuaError)
      expect(error.kind).toBe('timeout')
      expect(error.message).toMatch(/^Module:Stuck: the worker did not answer within the time limit \(200 ms\) and was replaced$/)
      // The hard stop: the time limit, then 1 s and a tenth of the limit (worker-pool.mjs).
      expect(performance.now() - started).toBeLessThan(3 * (200 + 1000 + 20))
      expect((await other).values).toEqual(['unaffected'])
      expect((await lua.run('return "next"', { scriptId: 'after' })).values).toEqual(['next'])
    })

    it('starts the calls suspended in a replaced worker again, unless their host saw them', async () => {
      const later = (value) => new Promise((resolve) => setTimeout(() => resolve(value), 50))
      let resolved = 0
      const lua = make({
        workers: 1,
        workerUrl: stuckWorkerUrl,
        timeLimit: 200,
        modules: (name) => {
          resolved++
          return later(`return "${name} loaded"`)
        },
      })
      const unseen = lua.run('return require("Slow")', { scriptId: 'unseen', timeLimit: 5000 })
      const seen = failure(lua.run('local x = f() return g(x)', { scriptId: 'seen', timeLimit: 5000, globals: { f: () => 1, g: later } }))
      await new Promise((resolve) => setTimeout(resolve, 20))
      const stuck = await failure(lua.run('HANG', { scriptId: 'Module:Stuck' }))
      expect(stuck.kind).toBe('timeout')
      expect((await unseen).values).toEqual(['Slow loaded'])
      expect(resolved).toBe(2)
      const error = await seen
      expect(error).toBeInstanceOf(LuaError)
      expect(error).toMatchObject({ kind: 'runtime', scriptId: 'seen' })
      expect(error.message).toBe('seen: the worker running this call was replaced (another call in it did not answer); this call had called its host, so it was not started again')
    })

    it('terminate() ends the workers; calls not over reject', async () => {
      const lua = make({ workers: 1 })
      expect((await lua.run('return 1', { scriptId: 's' })).values).toEqual([1])
      const running = lua.run(`${busy(1)} return 2`, { scriptId: 's' })
      const queued = lua.run('return 3', { scriptId: 's' })
      await new Promise((resolve) => setTimeout(resolve, 50))
      lua.terminate()
      await expect(running).rejects.toThrow('the worker runner was terminated')
      await expect(queued).rejects.toThrow('the worker runner was terminated')
      await expect(lua.run('return 4', { scriptId: 's' })).rejects.toThrow('the worker runner was terminated')
    })

    it('checks its options', () => {
      expect(() => createWorkerRunner({ workers: 0 })).toThrow(TypeError)
      expect(() => createWorkerRunner({ bogus: 1 })).toThrow(/is not an option/)
      expect(() => createWorkerRunner(5)).toThrow(TypeError)
    })
  })
}
