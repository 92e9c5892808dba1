// The hostile battery that does not depend on where it runs: imported by the Node test
// (__test__/hostile.test.mjs, once per backend) and by the browser test
// (__test__/browser/hostile.test.mjs, in Chromium). Whatever a script does, the call ends
// with a LuaError of the right kind within its limit, the partial output is kept, and the
// next call works. `lua` is the package's API object; `tripleStore()` makes an empty triple
// store (default: an N3TripleStore, which in browsers needs an n3 Store: pass one).
import { describe, expect, it } from 'vitest'

export function hostileSuite(lua, { tripleStore = () => new lua.N3TripleStore() } = {}) {
  const { run, runLua, LuaError, MemoryStore } = lua
  const TIME = 200
  const MEMORY = 8 * 1024 * 1024
  // How long after its start a call that a limit ends may take to settle: its limit once
  // more for the interrupt and the teardown, and once more for a loaded machine.
  const late = (limit) => 3 * limit

  async function outcome(code, options = {}) {
    const started = performance.now()
    try {
      const output = await runLua(code, 'hostile', { timeLimit: TIME, memoryLimit: MEMORY, ...options })
      return { ok: true, output, elapsed: performance.now() - started }
    } catch (error) {
      expect(error).toBeInstanceOf(LuaError)
      return { ok: false, error, elapsed: performance.now() - started }
    }
  }

  async function expectEnds(code, kind, options = {}) {
    const result = await outcome(`io.write("before|") ${code}`, options)
    expect(result.ok, code).toBe(false)
    expect(result.error.kind, `${code}: ${result.error.message}`).toBe(kind)
    expect(result.error.output.startsWith('before|')).toBe(true)
    // Ends on time (the time limit is what stops CPU-bound cases).
    expect(result.elapsed).toBeLessThan(late(options.timeLimit ?? TIME))
    expect(await runLua('print("next")', 'next')).toBe('next\n')
    return result.error
  }

  describe('CPU', () => {
    it.each([
      'while true do end',
      'pcall(function() while true do end end)',
      'while true do pcall(function() while true do end end) end',
      'coroutine.wrap(function() while true do end end)()',
      'local t = setmetatable({}, {__index = function() while true do end end}) local _ = t.x',
      'print(setmetatable({}, {__tostring = function() while true do end end}))',
      'local a = setmetatable({}, {__lt = function() while true do end end}) local _ = a < a',
      'table.sort({3, 2, 1, 5, 4}, function(a, b) while true do end end)',
      'string.gsub("abc", "%w", function() while true do end end)',
      'local ok = pcall(function() while true do end end) while true do end',
      'while true do local ok, e = pcall(function() while true do end end) end',
      'xpcall(function() while true do end end, function() while true do end end)',
      'xpcall(function() error("x") end, function() while true do end end)',
      'local co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end',
      'load(function() while true do end end)',
      'local t <close> = setmetatable({}, {__close = function() while true do end end})',
      // Every way Lua can loop: numeric (integer and float) and generic for, with an iterator
      // written in C; repeat, goto, endless tail calls.
      'for i = 1, math.maxinteger do end',
      'for i = 1, math.huge do end',
      'for _ in rawequal, 1 do end',
      'repeat until false',
      '::top:: goto top',
      'local function f() return f() end f()',
      'local t = {} for i = 1, 1e5 do t[i] = {} end while true do collectgarbage() end',
    ])('%s', async (code) => {
      await expectEnds(code, 'timeout')
    })

    // One turn of these loops is 100,000 instructions: wasm's step counter weighs a jump by its
    // distance and a call by the function's size, so they stop as soon as any other loop.
    it.each([
      ['a loop with a long body', `local a while true do ${'a = 1 '.repeat(100000)}end`],
      ['a loop calling a long function', `local a local function f() ${'a = 1 '.repeat(100000)}end while true do f() end`],
    ])('%s', async (_name, code) => {
      // 600 KB of source: the time limit counts its parsing too, which a loaded machine can
      // take 200 ms over, before the loop (and its `before|`) has started.
      await expectEnds(code, 'timeout', { timeLimit: 1000 })
    })

    // Loops whose one turn is a single long operation on megabytes of string: a C function
    // or a comparison takes milliseconds, and wasm's step counter must not take it for one
    // instruction.
    const big = 'local s = string.rep("a", 4e6) local s2 = s:sub(1, -2) .. "b" local s3 = s:sub(1, -2) .. "a"'
    it.each([
      ['string.rep', 'while true do local r = string.rep("x", 1e6) end'],
      ['string.upper', 'while true do local u = s:upper() end'],
      ['utf8.len', 'while true do local n = utf8.len(s) end'],
      ['string.find', 'while true do local i = s:find("b", 1, true) end'],
      ['<', 'while s < s2 do end'],
      ['==', 'while s == s3 do end'],
    ])('a loop of %s over 4 MB', async (_name, loop) => {
      await expectEnds(`${big} ${loop}`, 'timeout', { memoryLimit: 64 << 20 })
    })

    it('refuses __gc finalizers, which Lua runs with hooks disabled', async () => {
      const error = await expectEnds('setmetatable({}, {__gc = function() while true do end end}) collectgarbage()', 'runtime')
      expect(error.message).toMatch(/__gc metamethods are not allowed/)
    })
  })

  // wasm runs calls one after another on the calling thread: none runs beside another.
  describe.skipIf(lua.backend === 'wasm')('time limits of concurrent calls', () => {
    it('a short limit holds while calls with long limits run beside it', async () => {
      const SHORT = 50
      const long = runLua('while true do end', 'long', { timeLimit: 3000 }).catch((e) => e.kind)
      for (let i = 0; i < 10; i++) {
        const started = performance.now()
        const results = await Promise.all([0, 1].map(() => runLua('while true do end', 'short', { timeLimit: SHORT }).catch((e) => e.kind)))
        expect(results).toEqual(['timeout', 'timeout'])
        expect(performance.now() - started).toBeLessThan(late(SHORT) + SHORT)
      }
      expect(await long).toBe('timeout')
    })
  })

  describe('long C calls are bounded by the memory and output limits', () => {
    it.each([
      ['string.rep huge', 'local s = string.rep("x", 2^30)', 'memory'],
      ['string.rep with separator', 'local s = string.rep("ab", 2^28, ",")', 'memory'],
      ['table.concat huge', 'local t = {} for i = 1, 2^20 do t[i] = "xxxxxxxx" end local s = table.concat(t) local u = s:rep(64)', 'memory'],
      ['string.format width', 'local s = string.format("%99999d", 1)', 'runtime'],
      ['huge io.write', 'io.write(string.rep("x", 2^21))', 'output'],
    ])('%s', async (_, code, kind) => {
      await expectEnds(code, kind, { outputLimit: 1024 * 1024 })
    })
  })

  describe('memory', () => {
    it.each([
      'local s = string.rep("x", 2^31 - 1)',
      'local s = "x" while true do s = s .. s end',
      'local t = {} while true do t[#t + 1] = {} end',
      'collectgarbage("stop") local t = {} for i = 1, 1e9 do t[i] = tostring(i) .. "x" end',
      'local t = {} local c = t for i = 1, 1e9 do c[1] = {} c = c[1] end',
      'local cs = {} for i = 1, 1e9 do cs[i] = coroutine.create(print) end',
      'local t = {} while true do pcall(function() while true do t[#t + 1] = "abcdefgh" .. #t end end) end',
      'local t = {} coroutine.wrap(function() while true do t[#t + 1] = {} end end)()',
    ])('%s', async (code) => {
      // The memory limit ends these; the time limit is there only should it not.
      await expectEnds(code, 'memory', { timeLimit: 10 * TIME })
    })
  })

  describe('stack', () => {
    it.each([
      'local function f() return 1 + f() end f()',
      'local function f() pcall(f) error("unwind") end f()',
      'local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local _ = t.x',
      'local function f() coroutine.wrap(f)() end f()',
      'local function f(s) return (s:gsub(".", f)) end f("x")',
      'local t t = setmetatable({}, {__tostring = function() return tostring(t) end}) print(t)',
      'local t = setmetatable({}, {__concat = function(a, b) return a .. b end}) local _ = t .. "x"',
    ])('%s', async (code) => {
      const result = await outcome(code)
      expect(result.ok).toBe(false)
      expect(['runtime', 'memory']).toContain(result.error.kind)
      expect(result.error.message).toMatch(/stack overflow|not enough memory|unwind|C stack overflow/)
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    })
  })

  describe('output', () => {
    it('stops at the output limit and keeps exactly the allowed bytes', async () => {
      const error = await expectEnds('while true do print("0123456789") end', 'output', { outputLimit: 1000 })
      expect(error.output.length).toBe(1000)
    })
    it('keeps NUL bytes and replaces invalid UTF-8', async () => {
      expect(await runLua('io.write("\\0\\xfe\\xff", "ok\\0")', 'o')).toBe('\0\uFFFD\uFFFDok\0')
    })
  })

  describe('escapes', () => {
    it.each([
      ['binary chunk via load', 'assert(load(string.char(27, 76, 117, 97, 84, 0)))', /binary chunk/],
      ['string.dump', 'string.dump(print)', /attempt to call a nil value \(field 'dump'\)/],
      ['os.exit', 'os.exit(1)', /attempt to call a nil value \(field 'exit'\)/],
      ['os.execute', 'os.execute("ls")', /field 'execute'/],
      ['io.open', 'io.open("/etc/passwd")', /field 'open'/],
      ['require of a file', 'require("os").execute("ls")', /attempt to call a nil value \(field 'execute'\)/],
      ['require of a C module', 'require("socket.core")', /module 'socket.core' not found/],
      ['package.loadlib', 'package.loadlib("libc.so.6", "system")', /attempt to call a nil value \(field 'loadlib'\)/],
      ['debug.getregistry', 'debug.getregistry()', /field 'getregistry'/],
      ['debug.sethook', 'debug.sethook()', /field 'sethook'/],
      ['dofile', 'dofile("/etc/passwd")', /global 'dofile'/],
    ])('%s', async (_, code, message) => {
      const result = await outcome(code)
      expect(result.ok).toBe(false)
      expect(result.error.message).toMatch(message)
    })

    it('changing _G, string and the string metatable affects only that call', async () => {
      const changes = 'getmetatable("").__index = {upper = function() return "hacked" end} string.rep = nil _G.print = nil x = 1'
      await Promise.all([runLua(changes, 'a'), runLua(changes, 'b')])
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        i % 2 ? runLua(changes, `c${i}`) : runLua('print(("a"):upper(), string.rep("b", 2), x)', `d${i}`)))
      results.forEach((output, i) => expect(output).toBe(i % 2 ? '' : 'A\tbb\tnil\n'))
    })
  })

  describe('error objects', () => {
    it.each([
      ['error()', '(error object is a nil value)'],
      ['error(nil)', '(error object is a nil value)'],
      ['error(12)', '12'],
      ['error(1.5)', '1.5'],
      ['error(true)', '(error object is a boolean value)'],
      ['error({})', '(error object is a table value)'],
      ['error(setmetatable({}, {__tostring = function() return "tostring" end}))', 'tostring'],
      ['error(setmetatable({}, {__tostring = function() error("again") end}))', '(error object is a table value)'],
      ['error(setmetatable({}, {__tostring = function() return 1 end}))', '1'],
      ['local x <close> = setmetatable({}, {__close = function() error("in close") end})', 'hostile:1: in close'],
      ['local x <close> = setmetatable({}, {__close = function() error("in close") end}) error("first")', 'hostile:1: in close'],
      ['xpcall(error, function() error("in handler") end) error("after")', 'hostile:1: after'],
    ])('%s', async (code, message) => {
      const result = await outcome(code)
      expect(result.ok).toBe(false)
      expect(result.error.kind).toBe('runtime')
      expect(result.error.message).toBe(message)
    })
  })

  describe('host misuse', () => {
    it('takes huge code, NUL bytes in code and odd scriptIds', async () => {
      const comment = `--[[${'x'.repeat(50 * 1024 * 1024)}]] print("after comment")`
      expect(await runLua(comment, 'big', { memoryLimit: 256 * 1024 * 1024 })).toBe('after comment\n')
      const nul = await outcome('print(1)\0print(2)')
      expect(nul.error.kind).toBe('syntax')
      for (const id of ['with space', 'ünïcødé/✓', 'a\0b', 'x'.repeat(500), '%s%d%n', '\n']) {
        const result = await outcome('error("e")', {})
        expect(result.error.kind).toBe('runtime')
        const error = await runLua('error("e")', id).catch((e) => e)
        expect(error.scriptId).toBe(id)
      }
    })

    it('survives thousands of calls in flight, mixing every outcome', async () => {
      // Only the loop has a short time limit: on a loaded machine a call with 20 ms may be
      // out of time before it printed (then its output is rightly empty).
      const scripts = [
        (i) => [`print(${i})`, `${i}\n`, 5000],
        (i) => [`print(${i}) error("e")`, `${i}\n`, 5000],
        (i) => [`print(${i}) while true do end`, `${i}\n`, 20],
        (i) => [`print(${i}) local s = string.rep("x", 2^30)`, `${i}\n`, 5000],
        (i) => [`print(${i}) x = = 1`, '', 5000],
      ]
      const calls = Array.from({ length: 3000 }, (_, i) => {
        const [code, expected, timeLimit] = scripts[i % scripts.length](i)
        return runLua(code, `id${i}`, { timeLimit, memoryLimit: MEMORY }).then(
          (output) => ({ output, expected }),
          (error) => ({ output: error.output, expected, scriptId: error.scriptId, kind: error.kind }),
        )
      })
      const results = await Promise.all(calls)
      results.forEach((r, i) => {
        if (r.kind === 'timeout' && r.output === '') expect(i % scripts.length).toBe(2)
        else expect(r.output).toBe(r.expected)
        if (r.scriptId) expect(r.scriptId).toBe(`id${i}`)
      })
    })
  })

  describe('the host bridge', () => {
    const never = () => new Promise(() => {})
    const globals = {
      f: (x) => x,
      fail: () => { throw new Error('host failure') },
      a: async (x) => x,
      never,
      see: () => {},
      deep: (n) => { let v = {}; for (let i = 0; i < n; i++) v = { v }; return v },
    }
    const bridged = (code, options = {}) => outcome(code, { globals, ...options })

    it.each([
      'while true do f(1) end',
      'while true do pcall(fail) end',
      'while true do a(1) end',
      'while true do pcall(a, 1) end',
      'coroutine.wrap(function() while true do a(1) end end)()',
      'local t = setmetatable({}, {__index = function(_, k) return a(k) end}) while true do local _ = t.x end',
      'never()',
      'pcall(never) while true do end',
      'table.sort({3, 2, 1}, function(x, y) while true do f(1) end end)',
    ])('host loops end at the time limit: %s', async (code) => {
      await expectEnds(code, 'timeout', { globals })
    })

    it('tables passed to the host are read raw: hostile metatables never run', async () => {
      const result = await bridged('see(setmetatable({}, {__index = function() while true do end end, __pairs = function() while true do end end})) print("done")')
      expect(result).toMatchObject({ ok: true, output: 'done\n' })
    })

    it('takes huge arguments, refuses unconvertible ones', async () => {
      let length = 0
      const result = await outcome('local s = string.rep("x", 2^24) see(s, s, s) print("ok")', { memoryLimit: 64 << 20, timeLimit: 5000, globals: { see: (...s) => { length = s.reduce((n, x) => n + x.length, 0) } } })
      expect(result).toMatchObject({ ok: true, output: 'ok\n' })
      expect(length).toBe(3 * 2 ** 24)
      const nested = await bridged('local t = {} local c = t for i = 1, 200 do c[1] = {} c = c[1] end see(t)')
      expect(nested.error.message).toMatch(/bad argument #1 to 'see' \(cannot be converted: tables nested deeper than 100 levels\)/)
      const deepResult = await bridged('return deep(101)')
      expect(deepResult.error.message).toMatch(/nested deeper than 100 levels/)
    })

    it('survives thousands of calls in flight, mixing every host outcome', async () => {
      // Short time limits for the calls that need one to end (`never`, the loop) only; on a
      // loaded machine such a call may be out of time before it printed.
      const scripts = [
        (i) => [`print(${i}) return f(${i})`, `${i}\n`, 5000],
        (i) => [`print(${i}) return a(${i})`, `${i}\n`, 5000],
        (i) => [`print(${i}) fail()`, `${i}\n`, 5000],
        (i) => [`print(${i}) never()`, `${i}\n`, 50],
        (i) => [`print(${i}) while true do a(1) end`, `${i}\n`, 50],
      ]
      const calls = Array.from({ length: 3000 }, (_, i) => {
        const [code, expected, timeLimit] = scripts[i % scripts.length](i)
        return run(code, { scriptId: `id${i}`, timeLimit, memoryLimit: MEMORY, globals }).then(
          (result) => ({ output: result.output, values: result.values, expected, i }),
          (error) => ({ output: error.output, expected, scriptId: error.scriptId, kind: error.kind, i }),
        )
      })
      const results = await Promise.all(calls)
      results.forEach((r, i) => {
        if (r.kind === 'timeout' && r.output === '') expect(i % scripts.length).toBeGreaterThanOrEqual(3)
        else expect(r.output).toBe(r.expected)
        if (r.scriptId) expect(r.scriptId).toBe(`id${i}`)
        else expect(r.values).toEqual([i])
      })
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    })
  })

  describe('require', () => {
    const modules = {
      Self: 'return require("Self")',
      Deep: 'local n = ... return require(n .. "x")',
      Loop: 'while true do end',
      Big: `return "${'x'.repeat(1 << 20)}"`,
    }
    const resolver = (name) => modules[name] ?? (name.startsWith('Deepx') ? 'local n = ... return require(n .. "x")' : undefined)
    it.each([
      ['a module requiring itself in a loop', 'while true do pcall(require, "Self") end', 'timeout'],
      // Which limit ends the chain first depends on the machine's speed: on a
      // loaded CI runner the clock can run out before the stack or the memory.
      ['an endless chain of new modules', 'require("Deepx")', ['memory', 'runtime', 'timeout']],
      ['a module that loops, caught', 'while true do pcall(require, "Loop") end', 'timeout'],
      ['a module bigger than the memory limit', 'require("Big") require("Big")', 'memory'],
    ])('%s ends with the right error', async (_, code, kind) => {
      const result = await outcome(`io.write("before|") ${code}`, { modules: resolver, memoryLimit: 1 << 20 })
      expect(result.ok).toBe(false)
      expect([kind].flat()).toContain(result.error.kind)
      expect(result.error.output).toBe('before|')
      expect(result.elapsed).toBeLessThan(late(TIME))
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    })
  })

  describe('memory limits', () => {
    it('around the size of a fresh state end with a memory error, never the process', async () => {
      // The call's own set-up (its coroutine, an invoked module's name) allocates too: a
      // limit that the fresh state just fits in once aborted the process (SIGABRT).
      const kinds = new Set()
      const modules = { 'Module:X': 'return { f = function () return 1 end }' }
      for (const [runner, from, to] of [[lua, 4_000, 40_000], [lua.createRunner({ mw: true, modules }), 120_000, 400_000]]) {
        for (let memoryLimit = from; memoryLimit < to; memoryLimit += runner === lua ? 8 : 64) {
          for (const call of [() => runner.runSync('return 1', { scriptId: 'm', memoryLimit }), () => runner.invokeSync('Module:X', 'f', [], { scriptId: 'm', memoryLimit, modules })]) {
            try {
              call()
              kinds.add('ok')
            } catch (error) {
              expect(error).toBeInstanceOf(LuaError)
              kinds.add(error.kind)
            }
          }
        }
      }
      expect([...kinds].sort()).toEqual(['memory', 'ok'])
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    }, 120_000)
  })

  describe('mw', () => {
    const modules = {
      'Module:Cycle': 'local t = { x = 1 } t.self = t t[t] = t return t',
      'Module:Huge': 'local t = {} for i = 1, 1e8 do t[i] = { i } end return t',
      'Module:Loops': 'while true do end',
    }
    const wiki = lua.createRunner({ mw: true, modules, timeLimit: TIME, memoryLimit: MEMORY })
    async function mwOutcome(code) {
      const started = performance.now()
      try {
        return { ok: true, ...(await wiki.run(`io.write("before|") ${code}`, { scriptId: 'hostile' })), elapsed: performance.now() - started }
      } catch (error) {
        expect(error).toBeInstanceOf(LuaError)
        return { ok: false, error, elapsed: performance.now() - started }
      }
    }
    it.each([
      ['a ustring pattern that backtracks', 'mw.ustring.find(string.rep("é", 1e5), ".-.-.-.-b")', 'timeout'],
      ['the same in gsub and gmatch, caught', 'while true do pcall(mw.ustring.gsub, string.rep("é", 1e4), "(.-)(.-)(.-)x", "%1") for _ in mw.ustring.gmatch(string.rep("ü", 1e4), ".-.-.-x") do end end', 'timeout'],
      ['a huge rep', 'local s = mw.ustring.rep("é", 1e9)', 'memory'],
      ['huge strings through ustring in a loop', 'local t = {} while true do t[#t + 1] = mw.ustring.upper(string.rep("é", 1e6)) end', 'memory'],
      ['loadData of an enormous table', 'mw.loadData("Module:Huge")', ['memory', 'timeout']],
      ['loadData of a module that loops, caught', 'while true do pcall(mw.loadData, "Module:Loops") end', 'timeout'],
      ['mw.clone of an enormous table', 'local t = {} for i = 1, 1e5 do t[i] = { i, t } end while true do t = { mw.clone(t), mw.clone(t) } end', ['memory', 'timeout']],
      ['a flood of mw.log', 'while true do mw.log(string.rep("x", 1e5)) end', ['output', 'memory']],
      ['jsonDecode of deep nesting', 'mw.text.jsonDecode(string.rep("[", 1e6))', ['runtime', 'memory', 'timeout']],
    ])('%s ends with the right error', async (_, code, kind) => {
      const result = await mwOutcome(code)
      expect(result.ok, code).toBe(false)
      expect([kind].flat(), `${code}: ${result.error.message}`).toContain(result.error.kind)
      expect(result.error.output).toBe('before|')
      expect(result.elapsed).toBeLessThan(late(TIME))
      expect((await wiki.run('return mw.ustring.len("é")', { scriptId: 'next' })).values).toEqual([1])
    })

    it('cycles are fine: loadData of a cyclic table, mw.clone of cycles, a string too long for ustring', async () => {
      const { values } = await wiki.run(`local d = mw.loadData('Module:Cycle')
        local t = {} t.t = t t[t] = t local c = mw.clone(t)
        return d.self.self.x, d.self == d, c.t == c, c[c] == c, pcall(mw.ustring.len, string.rep('a', 3e6)), select(2, pcall(mw.ustring.upper, string.rep('a', 3e6)))`, { scriptId: 'h' })
      expect(values).toEqual([1, true, true, true, true, "bad argument #1 to 'upper' (string is longer than 2097152 bytes)"])
    })
  })

  describe('State', () => {
    const state = () => ({ state: { store: new MemoryStore(), namespaces: { shared: { shared: true, read: true } } } })

    it.each([
      ['set in a loop, caught', 'while true do pcall(State.set, "k", 1) end', 'timeout'],
      ['big values in a loop, caught', 'local i = 0 while true do i = i + 1 pcall(State.set, "k" .. i, string.rep("x", 1 << 20)) end', 'timeout'],
      ['big values in a loop', 'local i = 0 while true do i = i + 1 State.set("k" .. i, string.rep("x", 1 << 20)) end', 'runtime'],
      ['list in a loop, caught', 'State.set("a", 1) while true do pcall(State.list, "") end', 'timeout'],
      ['get of a value too big, caught', 'State.set("big", string.rep("x", 6 << 20)) local t = {} while true do t[#t + 1] = State.get("big") end', 'memory'],
      ['denied writes in a loop, caught', 'while true do pcall(State.set, "shared.x", 1) end', 'timeout'],
    ])('%s ends with the right error and commits nothing', async (_, code, kind) => {
      const options = state()
      await expectEnds(code, kind, options)
      expect(options.state.store.entries('hostile')).toEqual([])
    })

    it('stores tables raw: no metamethod of the script runs, and its metatable is not kept', async () => {
      const options = state()
      const trap = 'setmetatable({ real = 1 }, { __index = function() error("index ran") end, __pairs = function() error("pairs ran") end, __len = function() error("len ran") end })'
      const output = await runLua(`State.set("t", ${trap}) local t = State.get("t") print(t.real, getmetatable(t), t.missing)`, 'hostile', options)
      expect(output).toBe('1\tnil\tnil\n')
    })
  })

  describe('State as triples', () => {
    const triples = (more = {}) => ({ triples: { store: tripleStore(), ...more } })
    const stored = async (options) => (await options.triples.store.query({})).length

    it.each([
      ['insert in a loop, caught', 'while true do pcall(State.insert, "s", "p", 1) end', 'timeout'],
      ['inserts past maxWrites', 'local i = 0 while true do i = i + 1 State.insert("s", "p", i) end', 'runtime'],
      ['inserts past maxWrites, caught', 'local i = 0 while true do i = i + 1 pcall(State.insert, "s", "p", i) end', 'timeout'],
      ['big objects in a loop', 'local i = 0 while true do i = i + 1 State.insert("s", "p" .. i, string.rep("x", 1 << 20)) end', 'runtime'],
      ['big objects in a loop, caught', 'local i = 0 while true do i = i + 1 pcall(State.insert, "s", "p" .. i, string.rep("x", 1 << 20)) end', 'timeout'],
      ['batches in a loop, caught', 'local b = {} for i = 1, 100 do b[i] = { subject = "s", predicate = "p", object = i } end while true do pcall(State.batchInsert, b) end', 'timeout'],
      ['queries in a loop, caught', 'State.insert("s", "p", 1) while true do pcall(State.query, {}) end', 'timeout'],
      ['query results too big, caught', 'State.insert("big", "p", string.rep("x", 6 << 20)) local t = {} while true do t[#t + 1] = pcall(State.query, {}) and State.query({}) end', 'memory'],
      ['get of an object too big, caught', 'State.insert("big", "p", string.rep("x", 6 << 20)) local t = {} while true do t[#t + 1] = State.get("big", "p") end', 'memory'],
    ])('%s ends with the right error and writes nothing', async (_, code, kind) => {
      const options = triples({ maxWrites: 1000 })
      await expectEnds(code, kind, options)
      expect(await stored(options)).toBe(0)
    })

    it('refuses values that share structure, nest deep, contain themselves or are huge, as Lua errors', async () => {
      const options = triples()
      const { values } = await run(`
        local function e(...) local ok, err = pcall(...) return ok, (tostring(err):gsub('^.-:%d+: ', '')) end
        local t = {} for i = 1, 30 do t = { t, t } end
        local deep = {} for i = 1, 200 do deep = { deep } end
        local cycle = { x = {} } cycle.x.y = cycle
        local _, dag = e(State.insert, 's', 'p', t)
        local _, nested = e(State.insert, 's', 'p', deep)
        local _, cyclic = e(State.batchInsert, { { subject = 's', predicate = 'p', object = cycle } })
        local _, huge = e(State.insert, string.rep('s', 1 << 20), 'p', 1)
        return dag, nested, cyclic, huge`, { scriptId: 'hostile', memoryLimit: MEMORY, timeLimit: 2000, ...options })
      expect(values).toEqual([
        `bad argument #3 to 'State.insert' (object cannot be stored: it would take more than the memory limit (${MEMORY} bytes))`,
        "bad argument #3 to 'State.insert' (object cannot be stored: tables nested deeper than 100 levels)",
        "bad argument #1 to 'State.batchInsert' (triple #1: its object cannot be stored: a table that contains itself)",
        "bad argument #1 to 'State.insert' (a subject is a non-empty UTF-8 string of at most 4096 bytes, got string)",
      ])
      expect(await stored(options)).toBe(0)
    })

    it('a store that never answers ends the call at its time limit; one that throws is a Lua error', async () => {
      const never = { insert() {}, delete() {}, query: () => new Promise(() => {}) }
      await expectEnds('State.query({})', 'timeout', { triples: never })
      const broken = { insert() {}, delete() {}, query: async () => { throw new Error('database down') } }
      const { values } = await run('local ok, err = pcall(State.get, "s", "p") return ok, err', { scriptId: 'hostile', triples: broken })
      expect(values).toEqual([false, 'hostile:1: database down'])
      const liar = { insert() {}, delete() {}, query: () => [{ subject: 42, predicate: 'p', object: 1 }] }
      await expect(runLua('State.query({})', 'hostile', { triples: liar })).rejects.toThrow(/subject or predicate is not a string/)
    })
  })

  // Lua code that runs after a limit fired (handlers of the unwinding error, closing the
  // coroutine that died of it, coroutines started from handlers) runs under a hook that
  // ends it, or not at all.
  describe('code after a limit', () => {
    const loopingClose = 'setmetatable({}, {__close = function() while true do end end})'
    const dying = (body) => `local co = coroutine.create(function() local x <close> = ${loopingClose} ${body} end)`
    const guarded = 'pcall(function() local guard <close> = setmetatable({}, {__close = function() coroutine.close(co) end}) coroutine.resume(co) end)'
    const cases = [
      ['the coroutine that died of the limit, closed by a handler', `${dying('while true do end')} ${guarded}`, 'timeout'],
      ['closed after the pcall', `${dying('while true do end')} pcall(coroutine.resume, co) coroutine.close(co)`, 'timeout'],
      ['closed by a message handler', `${dying('while true do end')} xpcall(coroutine.resume, function() coroutine.close(co) end, co)`, 'timeout'],
      ['inside a coroutine', `coroutine.wrap(function() ${dying('while true do end')} ${guarded} end)()`, 'timeout'],
      ['a handler that starts a coroutine', 'pcall(function() local g <close> = setmetatable({}, {__close = function() coroutine.wrap(function() while true do end end)() end}) while true do end end)', 'timeout'],
      ['a handler that loops in pcalls', 'pcall(function() local g <close> = setmetatable({}, {__close = function() while true do pcall(function() while true do end end) end end}) while true do end end)', 'timeout'],
      ['150 looping handlers', `local function f(n) local x <close> = ${loopingClose} if n > 0 then f(n - 1) end while true do end end pcall(f, 150)`, 'timeout'],
      ['after the memory limit', `${dying("local s = string.rep('x', 2^30)")} ${guarded}`, 'memory'],
      ['after the output limit', `${dying("while true do io.write('xxxxxxxx') end")} ${guarded}`, 'output'],
      ['an error object whose __tostring loops', 'error(setmetatable({}, {__tostring = function() while true do end end}))', 'timeout'],
      ['a __gc put in a metatable after setmetatable', 'local mt = {} local t = setmetatable({}, mt) mt.__gc = function() while true do end end t = nil collectgarbage() while true do end', 'timeout'],
    ]
    it.each(cases)('%s', async (_, code, kind) => {
      await expectEnds(code, kind, { outputLimit: 1 << 16 })
    })

    it('many at once leave the backend serving', async () => {
      const [, code] = cases[0]
      const results = await Promise.all(Array.from({ length: 8 }, () => runLua(code, 'hostile', { timeLimit: TIME }).catch((e) => e.kind)))
      expect(results).toEqual(Array(8).fill('timeout'))
      expect((await run('return 1 + 1', { scriptId: 'next' })).values).toEqual([2])
    })

    it('ends in runSync as in run', () => {
      const error = (() => {
        try {
          lua.runSync(cases[0][1], { scriptId: 'hostile', timeLimit: TIME })
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(LuaError)
      expect(error.kind).toBe('timeout')
    })
  })

  // A value is converted for the host as a tree, each reference written out: within the
  // call's memory limit, and quickly however the value shares its tables.
  describe('values that share structure', () => {
    const options = { memoryLimit: MEMORY, timeLimit: 1000 }
    const dag = (levels) => `local t = {} for i = 1, ${levels} do t = {t, t} end`
    const tooBig = `its copy would take more than the memory limit (${MEMORY} bytes)`
    it.each([
      ['a DAG of 26 tables', `${dag(26)} return t`],
      ['one 1 MiB string held 1,100 times', "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 1100 do t[i] = s end return t"],
      ['150,000 references to one empty table', 'local e = {} local t = {} for i = 1, 1.5e5 do t[i] = e end return 1, t'],
    ])('return values: %s', async (_, code) => {
      const started = performance.now()
      const error = await run(code, { scriptId: 'shared', ...options }).catch((e) => e)
      expect(error).toBeInstanceOf(LuaError)
      expect(error.kind).toBe('memory')
      expect(error.message).toMatch(/^return value #\d cannot be converted: /)
      expect(error.message).toContain(tooBig)
      expect(performance.now() - started).toBeLessThan(late(options.timeLimit))
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    })

    it('host function arguments and State values', async () => {
      const seen = []
      const { values } = await run(`${dag(30)}
        local ok1, e1 = pcall(see, t)
        local ok2, e2 = pcall(State.set, 'k', t)
        see('small', t[1] == t[2])
        return e1, e2`, { scriptId: 'shared', ...options, globals: { see: (...args) => { seen.push(args) } }, state: { store: new MemoryStore() } })
      expect(values[0]).toBe(`bad argument #1 to 'see' (cannot be converted: ${tooBig})`)
      expect(values[1]).toMatch(new RegExp(`\\(cannot be stored: ${tooBig.replace(/[()]/g, '\\$&')}\\)$`))
      expect(seen).toEqual([['small', true]])
    })

    it('shared tables that fit arrive as copies', async () => {
      const { values } = await run("local s = {1, 'x'} local t = {a = s, b = {s, s}} return t, s", { scriptId: 'shared' })
      expect(values).toEqual([{ a: [1, 'x'], b: [[1, 'x'], [1, 'x']] }, [1, 'x']])
      expect(values[0].a).not.toBe(values[0].b[0])
    })
  })

  // A host function may run a script before it returns (a module rendering a template):
  // calls nest at most 20 deep, as LuaErrors past that, on every backend.
  describe('re-entry', () => {
    const nesting = (start) => {
      let deepest = 0
      const globals = {
        render: (n) => {
          deepest = Math.max(deepest, n)
          return start({ scriptId: 'inner', globals, arguments: [n + 1], timeLimit: 5000 })
        },
      }
      return { globals, deepest: () => deepest }
    }
    const code = 'local n = ... return render(n)'

    it.each([
      ['run', (options) => run(code, options).then((r) => r.values[0])],
      ['runSync', (options) => lua.runSync(code, options).values[0]],
    ])('nested with %s: the 21st call is refused', async (_, start) => {
      const chain = nesting(start)
      const error = await run(code, { scriptId: 'outer', globals: chain.globals, arguments: [1], timeLimit: 5000 }).catch((e) => e)
      expect(error).toBeInstanceOf(LuaError)
      expect(error.kind).toBe('runtime')
      expect(error.message).toMatch(/calls nested too deep: at most 20 may run inside each other \(through host functions that run scripts\)$/)
      expect(chain.deepest()).toBe(20)
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    })

    it('nested calls share the bound on C calls', async () => {
      const deep = 'local n = ... local function f(k) if k == 0 then return render(n) end return select(2, assert(pcall(f, k - 1))) end return f(50)'
      let deepest = 0
      const globals = { render: (n) => { deepest = Math.max(deepest, n); return lua.runSync(deep, { scriptId: 'inner', globals, arguments: [n + 1] }).values[0] } }
      const error = await run(deep, { scriptId: 'outer', globals, arguments: [1] }).catch((e) => e)
      expect(error).toBeInstanceOf(LuaError)
      expect(error.message).toMatch(/stack overflow/)
      expect(deepest).toBeLessThanOrEqual(4)
      expect(await runLua('print("next")', 'next')).toBe('next\n')
    })

    it('a call a host function starts runs beside its caller, which waits for it', async () => {
      const globals = { render: () => run('return "inner"', { scriptId: 'inner' }).then((r) => r.values[0]) }
      expect((await run('return render()', { scriptId: 'outer', globals })).values).toEqual(['inner'])
      const error = await run('table.sort({1, 2}, function() render() return false end)', { scriptId: 'outer', globals }).catch((e) => e)
      expect(error.message).toMatch(/cannot wait for 'render' here \(inside table.sort\)/)
    })
  })

  // Should the wasm instance ever fail (nothing a script does can make it: here the host's
  // clock throws inside the module, while a call runs nested in another), every call in it
  // fails, those on the stack and those suspended, and the next call gets a new instance.
  describe.skipIf(lua.backend !== 'wasm')('a failed wasm instance', () => {
    it('is replaced, and the calls in it fail', async () => {
      let release
      const waiting = run('return wait()', { scriptId: 'suspended', globals: { wait: () => new Promise((resolve) => { release = resolve }) } })
      while (!release) await new Promise((resolve) => setTimeout(resolve, 1))
      const runner = lua.createRunner({ modules: { M: 'return { x = 1 }' } })
      expect((await runner.run('return require("M").x', { scriptId: 'm' })).values).toEqual([1])

      const clock = performance.now
      let innerResult
      const globals = {
        inner: () => {
          performance.now = () => {
            throw new Error('the clock broke')
          }
          try {
            innerResult = lua.runSync('local t = {} for i = 1, 1e6 do t[i] = i end return #t', { scriptId: 'inner' })
          } catch (error) {
            innerResult = error
          } finally {
            performance.now = clock
          }
          return 'the outer call must not go on'
        },
      }
      const outer = await run('local r = inner() print(r) while true do end', { scriptId: 'outer', globals }).catch((e) => e)
      const failed = /^pubwiki-lua: the wasm instance failed \(.*\); the calls running in it failed, and the next call gets a new instance$/
      expect(innerResult).toBeInstanceOf(LuaError)
      expect(innerResult.message).toMatch(failed)
      expect(outer).toBeInstanceOf(LuaError)
      expect(outer.message).toMatch(failed)
      expect(outer.output).toBe('')

      release(42)
      const suspended = await waiting.catch((e) => e)
      expect(suspended).toBeInstanceOf(LuaError)
      expect(suspended.message).toMatch(failed)
      expect(await runLua('print("next")', 'next')).toBe('next\n')
      expect((await runner.run('return require("M").x', { scriptId: 'm' })).values).toEqual([1])
    })
  })
}
