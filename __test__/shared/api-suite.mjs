// The API suite that does not depend on where it runs: imported by the Node test
// (__test__/api.test.mjs, once per backend) and by the browser test
// (__test__/browser/api.test.mjs, in Chromium). `lua` is the package's API object
// ({ run, runSync, runLua, runLuaSync, LuaError }); the Sync functions must be usable.
import { describe, expect, it } from 'vitest'

export async function failure(promise) {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the call to fail')
}

export function apiSuite(lua) {
  const { run, runSync, runLua, runLuaSync, LuaError, createRunner } = lua

  describe('output capture', () => {
    it('prints with Lua tostring semantics, tab-separated, newline-terminated', async () => {
      expect(await runLua('print(1, 1.0, 2^63, "a", nil, true, -0.0)', 's')).toBe('1\t1.0\t9.2233720368548e+18\ta\tnil\ttrue\t-0.0\n')
      expect(await runLua('print(setmetatable({}, {__tostring = function() return "T!" end}))', 's')).toBe('T!\n')
      expect(await runLua('print(setmetatable({}, {__name = "Widget"}))', 's')).toMatch(/^Widget: /)
      expect(await runLua('print()', 's')).toBe('\n')
    })

    it('io.write writes strings and numbers as Lua does, and chains', async () => {
      expect(await runLua('io.write("a", 1, " ", 1.0, " ", 2^63, " ", 0.1)', 's')).toBe('a1 1 9.2233720368548e+18 0.1')
      expect(await runLua('io.write("a"):write("b"):write(3)', 's')).toBe('ab3')
      const error = await failure(runLua('io.write("ok", {})', 's'))
      expect(error).toBeInstanceOf(LuaError)
      expect(error.message).toContain("bad argument #2 to 'write' (string expected, got table)")
      expect(error.output).toBe('ok')
    })

    it('argument errors of the sandbox\'s wrapped functions name the function and the line', async () => {
      for (const [code, message] of [
        ['\nsetmetatable(1, {})', "s:2: bad argument #1 to 'setmetatable' (table expected, got number)"],
        ['\ncollectgarbage("bogus")', "s:2: bad argument #1 to 'collectgarbage' (invalid option 'bogus')"],
        ['\nstring.rep()', "s:2: bad argument #1 to 'rep' (string expected, got no value)"],
        ['\nload()', "s:2: bad argument #1 to 'load' (function expected, got nil)"],
      ]) {
        const error = await failure(runLua(code, 's'))
        expect(error).toBeInstanceOf(LuaError)
        expect(error.message).toBe(message)
      }
    })

    it('keeps unicode and NUL bytes, replaces invalid UTF-8 with U+FFFD', async () => {
      expect(await runLua('print("héllo ✓ 😀")', 's')).toBe('héllo ✓ 😀\n')
      expect(await runLua('io.write("a\\0b")', 's')).toBe('a\0b')
      expect(await runLua('io.write("x\\xffy")', 's')).toBe('x\uFFFDy')
    })

    it('runLuaSync returns the same output synchronously', () => {
      expect(runLuaSync('print("sync")', 's')).toBe('sync\n')
    })
  })

  describe('return values', () => {
    it('converts Lua values to JS', async () => {
      const { output, values } = await run('print("hi") return nil, true, 3, 1.5, "x", {1, 2, {3}}, {a = 1, b = {c = "d"}}, {}', { scriptId: 'v' })
      expect(output).toBe('hi\n')
      expect(values).toEqual([null, true, 3, 1.5, 'x', [1, 2, [3]], { a: 1, b: { c: 'd' } }, {}])
    })

    it('uses placeholders for functions, coroutines and keeps sparse tables as objects', () => {
      const { values } = runSync('return print, coroutine.create(print), {[1] = "a", [3] = "c"}, {[1.5] = 1, [true] = 2}', { scriptId: 'v' })
      expect(values).toEqual(['[function]', '[thread]', { 1: 'a', 3: 'c' }, { '1.5': 1, true: 2 }])
    })

    it('rejects cyclic tables with a clear LuaError', async () => {
      const error = await failure(run('local t = {} t.self = t return t', { scriptId: 'cyc' }))
      expect(error).toBeInstanceOf(LuaError)
      expect(error.kind).toBe('runtime')
      expect(error.message).toMatch(/return value #1 cannot be converted: a table contains itself/)
    })

    // Natively an outcome crosses in a buffer of 64 KiB when it fits, or in one of its own
    // (crates/node/src/scratch.rs): sizes on both sides of that, and calls run inside a host
    // function, whose outcome crosses while the outer call's is still to come.
    it('gives whole outcomes of every size, from every way of running, nested too', async () => {
      const sizes = [0, 2, 65_000, 65_510, 65_520, 65_530, 65_540, 70_000, 300_000]
      const code = 'local n, tail = ... local s = string.rep("ab", n // 2) io.write(s) return #s, s:sub(-3), tail'
      const check = (result, n, tail) => {
        expect(result.output.length).toBe(n)
        expect(result.output).toBe('ab'.repeat(n / 2))
        expect(result.values).toEqual([n, 'ab'.repeat(n / 2).slice(-3), tail])
      }
      for (const n of sizes) {
        check(runSync(code, { scriptId: 'size', arguments: [n, 'sync'] }), n, 'sync')
        check(await run(code, { scriptId: 'size', arguments: [n, 'async'] }), n, 'async')
        // Without arguments (a call without a host): the size is the output's alone.
        const alone = `io.write(string.rep("ab", ${n / 2})) return ${n}`
        expect(runSync(alone, { scriptId: 'size' })).toEqual({ output: 'ab'.repeat(n / 2), values: [n] })
        expect(await run(alone, { scriptId: 'size' })).toEqual({ output: 'ab'.repeat(n / 2), values: [n] })
        // A call inside a host function: its outcome, then the outer call's.
        const inner = (m) => {
          const result = runSync(code, { scriptId: 'inner', arguments: [m, 'inner'] })
          return [result.output.length, result.values[2]]
        }
        const outer = await run('local r = inner(...) io.write(string.rep("xy", 100)) return r[1], r[2]', { scriptId: 'outer', globals: { inner }, arguments: [n] })
        expect(outer).toEqual({ output: 'xy'.repeat(100), values: [n, 'inner'] })
      }
      // Calls in flight together, each outcome read after the others' have crossed.
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => [
        run(`return ${i}, "${'v'.repeat(i)}"`, { scriptId: 'many' }),
        run('local i = ... return i, string.rep("w", i)', { scriptId: 'many', arguments: [i] }),
      ]).flat())
      expect(many.map((result) => result.values)).toEqual(Array.from({ length: 50 }, (_, i) => [[i, 'v'.repeat(i)], [i, 'w'.repeat(i)]]).flat())
    })
  })

  describe('errors', () => {
    it('syntax errors name the script and line', async () => {
      const error = await failure(runLua('local x = 1\nx = = 2', 'mod/Syntax'))
      expect(error).toBeInstanceOf(LuaError)
      expect(error).toBeInstanceOf(Error)
      expect(error.name).toBe('LuaError')
      expect(error.kind).toBe('syntax')
      expect(error.scriptId).toBe('mod/Syntax')
      expect(error.message).toMatch(/^mod\/Syntax:2: unexpected symbol near '='/)
    })

    it('runtime errors keep the output printed before them and a traceback', async () => {
      const error = await failure(runLua('print("before")\nlocal function f() local x = nil; return x.y end\nf()', 'page'))
      expect(error.kind).toBe('runtime')
      expect(error.message).toBe("page:2: attempt to index a nil value (local 'x')")
      expect(error.output).toBe('before\n')
      expect(error.traceback).toMatch(/^stack traceback:/)
      expect(error.traceback).toContain("page:2: in local 'f'")
    })

    it('gives readable messages for non-string error values', async () => {
      expect((await failure(runLua('error({code = 1})', 's'))).message).toBe('(error object is a table value)')
      expect((await failure(runLua('error(nil)', 's'))).message).toBe('(error object is a nil value)')
      expect((await failure(runLua('error(42)', 's'))).message).toBe('42')
      expect((await failure(runLua('error(setmetatable({}, {__tostring = function() return "custom" end}))', 's'))).message).toBe('custom')
      expect((await failure(runLua('error(setmetatable({}, {__tostring = function() error("x") end}))', 's'))).message).toBe('(error object is a table value)')
    })

    it('runLuaSync throws LuaError', () => {
      expect(() => runLuaSync('error("sync boom")', 'sy')).toThrow(LuaError)
      expect(() => runLuaSync('error("sync boom")', 'sy')).toThrow('sy:1: sync boom')
    })

    it('scriptId cannot be forged by the script', async () => {
      const error = await failure(runLua('_G.__SCRIPT_ID = "other"; SCRIPT_ID = "x"; error("boom")', 'real'))
      expect(error.scriptId).toBe('real')
      expect(error.message).toBe('real:1: boom')
    })
  })

  describe('argument validation', () => {
    it('rejects wrong argument types with a TypeError naming the argument', async () => {
      await expect(runLua(42, 's')).rejects.toThrow(new TypeError('code must be a string, got number 42'))
      await expect(runLua('print(1)')).rejects.toThrow(/scriptId must be a string, got undefined/)
      await expect(runLua('print(1)', '')).rejects.toThrow(/scriptId must not be empty/)
      await expect(runLua('print(1)', 's', 5)).rejects.toThrow(/options must be an object, got number 5/)
      await expect(runLua('print(1)', 's', null)).rejects.toThrow(/options must be an object, got null/)
      await expect(runLua('print(1)', 's', { timeLimit: -1 })).rejects.toThrow(/options.timeLimit must be a positive finite number/)
      await expect(runLua('print(1)', 's', { memoryLimit: 'big' })).rejects.toThrow(/options.memoryLimit must be a positive finite number/)
      await expect(runLua('print(1)', 's', { outputLimit: Infinity })).rejects.toThrow(/options.outputLimit/)
      await expect(runLua('print(1)', 's', { timelimit: 5 })).rejects.toThrow(/options.timelimit is not an option/)
      await expect(run('print(1)')).rejects.toThrow(TypeError)
      await expect(run('print(1)', {})).rejects.toThrow(/scriptId must be a string/)
      expect(() => runLuaSync(null, 's')).toThrow(TypeError)
      for (const call of [runLua(42, 's'), run(1, { scriptId: 's' })]) {
        await expect(call).rejects.toBeInstanceOf(TypeError)
      }
    })
  })

  describe('sandbox', () => {
    const removed = ['dofile', 'loadfile', 'string.dump', 'os.execute', 'os.exit', 'os.getenv', 'os.remove', 'os.rename',
      'os.tmpname', 'os.setlocale', 'io.open', 'io.read', 'io.lines', 'io.popen', 'io.output', 'package.path', 'package.cpath',
      'package.loadlib', 'package.searchpath', 'package.searchers',
      'debug.getinfo', 'debug.sethook', 'debug.getregistry', 'debug.setmetatable', 'debug.getupvalue']
    it.each(removed)('%s is absent', async (name) => {
      expect(await runLua(`print(${name} == nil)`, 's')).toBe('true\n')
    })

    const allowed = {
      'assert(true)': '', 'print(select("#", 1, 2))': '2', 'print(type(next))': 'function', 'print(tonumber("0x10"))': '16',
      'print(rawequal(1, 1), rawlen({1}), rawget({5}, 1))': 'true\t1\t5', 'print(getmetatable("").__index == string)': 'true',
      'print(load("return 1 + 1")())': '2', 'print(pcall(error, "e"))': 'false\te', 'print(xpcall(error, function(m) return "h:" .. m end, "e"))': 'false\th:e',
      'print(string.format("%5.2f|%d|%s|%q", 3.14159, 42, "x", "a\\n"))': ' 3.14|42|x|"a\\\n"', 'print(("hello world"):gsub("o", "0"))': 'hell0 w0rld\t2',
      'print(string.find("key=val", "(%w+)=(%w+)"))': '1\t7\tkey\tval', 'print(#string.rep("ab", 3, ","))': '8',
      'local t = {3, 1, 2} table.sort(t) print(table.concat(t, ","))': '1,2,3', 'print(table.unpack({1, 2}))': '1\t2',
      'print(math.floor(3.7), math.max(1, 9), math.type(1), math.type(1.0), math.maxinteger)': '3\t9\tinteger\tfloat\t9223372036854775807',
      'print(utf8.char(72, 228, 8364), utf8.len("äö"))': 'Hä€\t2',
      'local co = coroutine.wrap(function() coroutine.yield(1) return 2 end) print(co(), co())': '1\t2',
      'print(coroutine.resume(coroutine.create(function(a) return a * 2 end), 21))': 'true\t42',
      'print(type(os.time()), type(os.clock()), os.date("!%Y-%m-%d", 0), os.difftime(10, 4))': 'number\tnumber\t1970-01-01\t6.0',
      'print((debug.traceback("msg"):gsub("\\n.*", "")))': 'msg', 'print(type(collectgarbage("count")))': 'number',
      'print(select(2, pcall(function() local ok, e = pcall(error) return e end)))': 'nil',
      'local co = coroutine.wrap(function() print(pcall(coroutine.yield, "y")) end) print(co()) co("back")': 'y\ntrue\tback',
    }
    it.each(Object.entries(allowed))('%s', async (code, expected) => {
      expect(await runLua(code, 's')).toBe(expected === '' ? '' : `${expected}\n`)
    })

    it('load accepts text only, never binary chunks', async () => {
      const error = await failure(runLua('assert(load("\\27Lua\\84\\0"))', 's'))
      expect(error.message).toMatch(/attempt to load a binary chunk \(mode is 't'\)/)
      const topLevel = await failure(runLua('\x1bLua', 's'))
      expect(topLevel.kind).toBe('syntax')
    })

    it('refuses __gc metamethods, whose finalizers could not be stopped', async () => {
      const error = await failure(runLua('setmetatable({}, {__gc = function() end})', 's'))
      expect(error.message).toMatch(/__gc metamethods are not allowed/)
    })

    it('changes to globals and the string metatable do not leak into the next call', async () => {
      await runLua('string.upper = nil; getmetatable("").__index = {}; print = nil; leaked = 1', 'a')
      expect(await runLua('print(("x"):upper(), leaked)', 'b')).toBe('X\tnil\n')
    })
  })

  describe('limits', () => {
    it('ends a script that runs too long, keeping its output', async () => {
      const error = await failure(runLua('print("start") while true do end', 't', { timeLimit: 100 }))
      expect(error.kind).toBe('timeout')
      expect(error.output).toBe('start\n')
      expect(error.message).toBe('t:1: time limit exceeded (100 ms)')
    })

    it.each([
      ['pcall loop', 'while true do pcall(function() while true do end end) end'],
      ['catch and loop again', 'local ok = pcall(function() while true do end end) while true do end'],
      ['pcall(error) loop', 'while true do pcall(error, "x") end'],
      ['coroutine', 'while true do coroutine.resume(coroutine.create(function() while true do end end)) end'],
      ['xpcall with looping handler', 'xpcall(function() while true do end end, function() while true do end end)'],
      ['__index', 'local t = setmetatable({}, {__index = function() while true do end end}) return t.x'],
      ['sort comparator', 'table.sort({3, 2, 1}, function() while true do end end)'],
      ['gsub callback', 'string.gsub("abc", ".", function() while true do end end)'],
      ['__tostring from print', 'print(setmetatable({}, {__tostring = function() while true do end end}))'],
    ])('the time limit cannot be evaded: %s', async (_, code) => {
      const error = await failure(runLua(code, 't', { timeLimit: 100 }))
      expect(error.kind).toBe('timeout')
    })

    it('ends a script that allocates too much', async () => {
      for (const code of ['local s = string.rep("x", 2^30)', 'local t = {} for i = 1, 1e9 do t[i] = i end',
        'local s = "x" while true do s = s .. s end', 'local t = {} while true do pcall(function() for i = 1, 1e9 do t[#t + 1] = {} end end) end',
        'collectgarbage("stop") local t = {} for i = 1, 1e9 do t[i] = tostring(i) end']) {
        const error = await failure(runLua(`print("p") ${code}`, 'm', { memoryLimit: 4 * 1024 * 1024 }))
        expect(error.kind, code).toBe('memory')
        expect(error.output).toBe('p\n')
        expect(error.message).toMatch(/not enough memory/)
      }
    })

    it('ends a script that prints too much, keeping output up to the limit', async () => {
      const error = await failure(runLua('for i = 1, 100 do print(i) end', 'o', { outputLimit: 10 }))
      expect(error.kind).toBe('output')
      expect(error.output).toBe('1\n2\n3\n4\n5\n')
      const caught = await failure(runLua('while true do pcall(print, "xxxxxxxx") end', 'o', { outputLimit: 100 }))
      expect(caught.kind).toBe('output')
      expect(caught.output.length).toBe(100)
    })

    it('works normally after any limit error', async () => {
      await failure(runLua('while true do end', 'a', { timeLimit: 50 }))
      await failure(runLua('local s = string.rep("x", 2^30)', 'b', { memoryLimit: 1e6 }))
      await failure(runLua('while true do print(1) end', 'c', { outputLimit: 10 }))
      expect(await runLua('print("fine")', 'd')).toBe('fine\n')
    })

    it('turns deep recursion into an error, never a crash', async () => {
      for (const code of ['local function f() return 1 + f() end f()',
        'local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x',
        'local function f(s) return (s:gsub(".", f)) end f("x")']) {
        const error = await failure(runLua(code, 'r'))
        expect(['runtime', 'memory']).toContain(error.kind)
      }
    })
  })

  describe('concurrency', () => {
    it('1000 concurrent calls each get exactly their own output', async () => {
      const calls = Array.from({ length: 1000 }, (_, i) =>
        runLua(`local id = ${i} for j = 1, ${1 + (i % 7)} do io.write(id, ":", j, " ") end counter = (counter or 0) + 1 print(counter)`, `s${i}`))
      const outputs = await Promise.all(calls)
      outputs.forEach((output, i) => {
        const parts = Array.from({ length: 1 + (i % 7) }, (_, j) => `${i}:${j + 1} `).join('')
        expect(output).toBe(`${parts}1\n`)
      })
    })

    it('errors in concurrent calls belong to their own call', async () => {
      const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) =>
        runLua(`print(${i}) ${i % 2 ? `error("e${i}")` : ''}`, `id${i}`)))
      results.forEach((result, i) => {
        if (i % 2) {
          expect(result.status).toBe('rejected')
          expect(result.reason.scriptId).toBe(`id${i}`)
          expect(result.reason.output).toBe(`${i}\n`)
          expect(result.reason.message).toBe(`id${i}:1: e${i}`)
        } else {
          expect(result).toEqual({ status: 'fulfilled', value: `${i}\n` })
        }
      })
    })
  })

  describe("compiled chunks (a runner keeps each script id's)", () => {
    it('runs the code each call gives, kept or new, with its errors at their lines and tracebacks', async () => {
      const runner = createRunner({})
      const failing = 'local x = ...\nlocal function f() error("boom") end\nf()'
      for (let i = 0; i < 3; i++) {
        const error = await failure(runner.run(failing, { scriptId: 'a', arguments: [i] }))
        expect([error.kind, error.message]).toEqual(['runtime', 'a:2: boom'])
        expect(error.traceback).toContain("a:2: in local 'f'")
        expect(error.traceback).toContain('a:3:')
        // The same code under another script id names that one.
        expect(() => runner.runSync(failing, { scriptId: 'b' })).toThrow('b:2: boom')
      }
      for (let i = 0; i < 3; i++) expect(runner.runSync(`return ${i} * 2`, { scriptId: 'a' }).values).toEqual([i * 2])
      for (let i = 0; i < 3; i++) expect((await runner.run('return ...', { scriptId: 'a', arguments: [i, 'x'] })).values).toEqual([i, 'x'])
    })
  })

  describe('fresh states (restored from an image)', () => {
    // What a call sees of the state it starts in: the same every time, whatever came before.
    const look = `
      local seen = {}
      for k in pairs(_G) do seen[#seen + 1] = k end
      for k in pairs(string) do seen[#seen + 1] = "string." .. k end
      for k in pairs(package.loaded) do seen[#seen + 1] = "loaded." .. k end
      table.sort(seen)
      return table.concat(seen, ","), ("x"):upper(), rawget(_G, "leak"), getmetatable("").__index == string`

    it('nothing a call changes reaches a later call, however it ended', async () => {
      const pristine = runSync(look, { scriptId: 'look' }).values
      for (const [code, options] of [
        ['leak = 1 string.leak = 1 print = nil', {}],
        ['getmetatable("").__index = { upper = function() return "hacked" end }', {}],
        ['setmetatable(_G, { __index = function() return "leak" end }) package.loaded.string = nil', {}],
        ['leak = {} while true do leak[#leak + 1] = {} end', { memoryLimit: 2 * 1024 * 1024 }],
        ['leak = 1 string.upper = nil while true do end', { timeLimit: 30 }],
        ['leak = 1 table.sort = nil error("boom")', {}],
      ]) {
        await run(code, { scriptId: 'change', ...options }).catch(() => {})
        expect(runSync(look, { scriptId: 'look' }).values, code).toEqual(pristine)
        expect((await run(look, { scriptId: 'look' })).values, code).toEqual(pristine)
      }
    })

    it('every call has its own math.random sequence', async () => {
      const draw = 'return math.random(1 << 40), math.random(1 << 40), math.random(1 << 40)'
      const draws = await Promise.all(Array.from({ length: 20 }, () => run(draw, { scriptId: 'r' })))
      expect(new Set(draws.map(({ values }) => values.join())).size).toBe(20)
      const seeded = runSync(`math.randomseed(7) ${draw}`, { scriptId: 'r' }).values
      expect(runSync(`math.randomseed(7) ${draw}`, { scriptId: 'r' }).values).toEqual(seeded)
      expect(runSync(draw, { scriptId: 'r' }).values).not.toEqual(seeded)
    })

    it('a runner preloads modules into its image: loaded once, pristine in every call', async () => {
      const modules = {
        'Module:Util': 'print("loading") return { calls = 0, twice = function(x) return 2 * x end }',
        'Module:Page': `local util = require("Module:Util")
          return { render = function(x) util.calls = util.calls + 1 return util.twice(x), util.calls end }`,
      }
      const page = createRunner({ preload: ['Module:Util', 'Module:Page'], modules })
      for (let i = 0; i < 3; i++) {
        expect(await page.invoke('Module:Page', 'render', [21], { scriptId: 'p' })).toEqual({ output: '', values: [42, 1] })
        expect(page.invokeSync('Module:Page', 'render', [5], { scriptId: 'p' })).toEqual({ output: '', values: [10, 1] })
      }
      await page.run('require("Module:Util").twice = nil', { scriptId: 'breaks' })
      expect((await page.run('return require("Module:Util").twice(4)', { scriptId: 'p' })).values).toEqual([8])
      // Sources from an async resolver: the first call waits for them.
      const later = createRunner({ preload: ['Module:Util'], modules: async (name) => modules[name] })
      expect(() => later.runSync('return 1', { scriptId: 's' })).toThrow(TypeError)
      expect((await later.run('return require("Module:Util").twice(3)', { scriptId: 's' })).values).toEqual([6])
      expect(later.runSync('return require("Module:Util").calls', { scriptId: 's' }).values).toEqual([0])
    })

    it('preloaded modules are pure: what they cannot do is a LuaError of each call', async () => {
      for (const [source, message] of [
        ['return fetch()', "preload: Module:Bad:1: attempt to call a nil value (global 'fetch')"],
        ['return require("Module:Other")', "preload: Module:Bad:1: module 'Module:Other' is not preloaded (a preloaded module may require only preloaded modules)"],
        ['while true do end', 'preload: Module:Bad:1: time limit exceeded (100 ms)'],
      ]) {
        const bad = createRunner({ preload: ['Module:Bad'], modules: { 'Module:Bad': source, 'Module:Other': 'return 1' }, timeLimit: 100, globals: { fetch: () => 1 } })
        const error = await failure(bad.run('return 1', { scriptId: 's' }))
        expect(error).toBeInstanceOf(LuaError)
        expect(error.message).toBe(message)
      }
      expect(() => createRunner({ preload: ['Module:Missing'], modules: {} }).runSync('return 1', { scriptId: 's' }))
        .toThrow("createRunner options.preload: modules gave no source for 'Module:Missing' (got undefined)")
      expect(() => createRunner({ preload: 'Module:X', modules: {} })).toThrow(TypeError)
      expect(() => createRunner({ preload: ['Module:X'] })).toThrow('createRunner options.preload needs the modules option')
    })
  })
}
