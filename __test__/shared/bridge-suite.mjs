// The host bridge through the public API, wherever it runs: imported by the Node test
// (__test__/bridge.test.mjs, once per backend) and by the browser test
// (__test__/browser/bridge.test.mjs, in Chromium). `lua` is the package's API object.
import { describe, expect, it } from 'vitest'
import { failure } from './api-suite.mjs'

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

export function bridgeSuite(lua) {
  const { run, runSync, runLua, runLuaSync, createRunner, LuaError } = lua
  const values = async (code, globals, options = {}) => (await run(code, { scriptId: 'm', globals, ...options })).values

  describe('JS values in Lua', () => {
    it('converts every supported kind as documented', async () => {
      const globals = {
        none: null, undef: undefined, yes: true, no: false,
        int: 42, negative: -7, big: 2 ** 53, float: 1.5, nan: NaN, inf: Infinity, ninf: -Infinity,
        beyond: 2 ** 63, lowest: -(2 ** 63), negzero: -0,
        bigint: 2n ** 62n, text: 'héllo ✓', empty: '',
        bytes: new Uint8Array([0, 255, 65]), buffer: new Uint8Array([1, 2, 3]).buffer,
        list: [10, 'b', [true]], holes: [1, undefined, 3],
        record: { a: 1, nested: { b: 'x' } }, bare: Object.assign(Object.create(null), { k: 'v' }),
        map: new Map([['s', 1], [2, 'two'], [true, 'yes'], [1.5, 'half'], [3n, 'three']]),
      }
      const code = `
        local out = {}
        local function add(...) for i = 1, select("#", ...) do out[#out + 1] = tostring((select(i, ...))) end end
        add(type(none), type(undef), yes, no)
        add(math.type(int), int, negative, math.type(big), big, math.type(float), float)
        add(nan ~= nan, inf, ninf, math.type(beyond), math.type(lowest), lowest == math.mininteger, math.type(negzero))
        add(math.type(bigint), bigint, #text, text, #empty)
        add(#bytes, bytes:byte(1), bytes:byte(2), bytes:byte(3), #buffer, buffer:byte(3))
        add(#list, list[1], list[2], type(list[3]), list[3][1], #holes, holes[1], holes[2], holes[3])
        add(record.a, record.nested.b, bare.k)
        add(map.s, map[2], map[true], map[1.5], map[3])
        return table.concat(out, " ")`
      expect(await values(code, globals)).toEqual([
        'nil nil true false ' +
        'integer 42 -7 integer 9007199254740992 float 1.5 ' +
        'true inf -inf float integer true integer ' +
        'integer 4611686018427387904 10 héllo ✓ 0 ' +
        '3 0 255 65 3 3 ' +
        '3 10 b table true 3 1 nil 3 ' +
        '1 x v ' +
        '1 two yes half three',
      ])
    })

    it('refuses what it cannot convert with a TypeError naming the path', async () => {
      const cyclic = { name: 'c' }
      cyclic.self = cyclic
      let deep = {}
      for (let i = 0; i < 101; i++) deep = { deep }
      class Widget {}
      for (const [globals, message] of [
        [{ args: { when: new Date(0) } }, 'globals.args.when: Date is not supported'],
        [{ s: Symbol('x') }, 'globals.s: symbol is not supported'],
        [{ w: new Widget() }, 'globals.w: Widget is not supported'],
        [{ set: new Set([1]) }, 'globals.set: Set is not supported'],
        [{ list: [1, new Int32Array(2)] }, 'globals.list[1]: Int32Array is not supported'],
        [{ cyclic }, 'globals.cyclic.self: circular reference (a value contains itself)'],
        [{ deep }, /nested deeper than 100 levels/],
        [{ n: 2n ** 63n }, 'globals.n: bigint 9223372036854775808 is out of the range of Lua integers'],
        [{ m: new Map([[{}, 1]]) }, 'globals.m: a Map key of type object is not supported'],
        [{ m: new Map([[NaN, 1]]) }, 'globals.m: NaN cannot be a table key'],
      ]) {
        const error = await failure(run('return 1', { scriptId: 'm', globals }))
        expect(error).toBeInstanceOf(TypeError)
        if (typeof message === 'string') expect(error.message).toBe(message)
        else expect(error.message).toMatch(message)
      }
      expect(() => runSync('return 1', { scriptId: 'm', globals: { d: new Date() } })).toThrow(TypeError)
    })

    it('gives host functions their arguments as return values are converted', async () => {
      const seen = []
      const code = `
        local t = {} t[1] = "a" t[3] = "c"
        see(nil, true, 3, 1.5, 2^63, "x", {1, 2, {3}}, {a = 1}, {}, t, print, coroutine.create(print))
        see()
        see(nil)`
      await values(code, { see: (...args) => { seen.push(args) } })
      expect(seen).toEqual([
        [null, true, 3, 1.5, 2 ** 63, 'x', [1, 2, [3]], { a: 1 }, {}, { 1: 'a', 3: 'c' }, '[function]', '[thread]'],
        [],
        [null],
      ])
    })

    it('round-trips values through a host function', async () => {
      const code = `
        local t = echo({1, "two", {three = 3.5}, true})
        return echo(1), echo(-0.5), echo("é\\0"), t[1], t[2], t[3].three, t[4], math.type(echo(2^53))`
      expect(await values(code, { echo: (v) => v })).toEqual([1, -0.5, 'é\0', 1, 'two', 3.5, true, 'integer'])
    })

    it('data globals are copies: a script changes neither the host object nor the next call', async () => {
      const args = { title: 'Lua', tags: ['a'] }
      const code = 'args.title = "changed" args.tags[2] = "b" args.new = 1 return args.title, #args.tags'
      expect(await values(code, { args })).toEqual(['changed', 2])
      expect(args).toEqual({ title: 'Lua', tags: ['a'] })
      expect(await values('return args.title, #args.tags, args.new', { args })).toEqual(['Lua', 1, null])
    })
  })

  describe('host functions', () => {
    it('nested tables of data and functions, sync and async', async () => {
      const pages = { Lua: 'A language' }
      const logged = []
      const globals = {
        fetchPage: async (title) => { await tick(); return pages[title] ?? null },
        log: (...parts) => { logged.push(parts) },
        mw: { text: { trim: (s) => s.trim(), upper: async (s) => s.toUpperCase() } },
      }
      const code = 'log("start", 1) return fetchPage("Lua"), fetchPage("None"), mw.text.trim("  x  "), mw.text.upper("y")'
      expect(await values(code, globals)).toEqual(['A language', null, 'x', 'Y'])
      expect(logged).toEqual([['start', 1]])
    })

    it('waits for async functions in every context where Lua can wait', async () => {
      const fetch = async (n) => { await tick(); return n * 2 }
      const code = `
        local r = {}
        r[#r + 1] = fetch(1)
        r[#r + 1] = select(2, pcall(fetch, 2))
        r[#r + 1] = select(2, pcall(function() return fetch(3) end))
        r[#r + 1] = select(2, xpcall(fetch, debug.traceback, 4))
        for v in coroutine.wrap(function() for i = 5, 6 do coroutine.yield(fetch(i)) end end) do r[#r + 1] = v end
        local outer = coroutine.wrap(function()
          local inner = coroutine.create(function() coroutine.yield(fetch(7)) return fetch(8) end)
          local _, a = coroutine.resume(inner)
          local _, b = coroutine.resume(inner)
          coroutine.yield(a) return b
        end)
        r[#r + 1] = outer() r[#r + 1] = outer()
        local t = setmetatable({}, {__index = function(_, k) return fetch(k) end})
        r[#r + 1] = t[9]
        return table.concat(r, ",")`
      expect(await values(code, { fetch })).toEqual(['2,4,6,8,10,12,14,16,18'])
    })

    it('where Lua cannot wait, sync functions work and a promise is a clear Lua error', async () => {
      const globals = { sync: (x) => x, fetchPage: async () => 'page' }
      expect(await values('local t = {3, 1, 2} table.sort(t, function(a, b) return sync(a) < sync(b) end) return table.concat(t)', globals))
        .toEqual(['123'])
      for (const [code, where] of [
        ['table.sort({2, 1}, function(a, b) fetchPage() return a < b end)', 'table.sort'],
        ['local s = ("ab"):gsub("%w", function(c) return fetchPage() end)', 'string.gsub'],
        ['print(setmetatable({}, {__tostring = function() return fetchPage() end}))', 'print'],
      ]) {
        const error = await failure(run(code, { scriptId: 'm', globals }))
        expect(error).toBeInstanceOf(LuaError)
        expect(error.message).toBe(`m:1: cannot wait for 'fetchPage' here (inside ${where})`)
      }
      expect(await values('return pcall(table.sort, {2, 1}, function(a, b) return fetchPage() end)', globals))
        .toEqual([false, "m:1: cannot wait for 'fetchPage' here (inside table.sort)"])
    })

    it('runSync and runLuaSync call sync functions, and refuse to wait', async () => {
      const globals = { add: (a, b) => a + b, later: async () => 1 }
      expect(runSync('return add(2, 3)', { scriptId: 's', globals }).values).toEqual([5])
      expect(runLuaSync('print(add(1, 1))', 's', { globals })).toBe('2\n')
      expect(() => runSync('return later()', { scriptId: 's', globals })).toThrow("s:1: cannot wait for 'later' in a synchronous call")
    })

    it('a throwing or rejecting function raises a Lua error pcall can catch', async () => {
      const globals = { fail: () => { throw new Error('no such page') }, reject: async () => { throw new TypeError('bad title') } }
      expect(await values('local a, b = pcall(fail) local c, d = pcall(reject) return a, b, c, d', globals))
        .toEqual([false, 'm:1: no such page', false, 'm:1: bad title'])
    })

    it('an uncaught host error ends the call with the original error as cause', async () => {
      const original = new RangeError('out of range')
      for (const fail of [() => { throw original }, async () => { await tick(); throw original }]) {
        const error = await failure(run('print("before")\nlocal x = fail()', { scriptId: 'Module:X', globals: { fail } }))
        expect(error).toBeInstanceOf(LuaError)
        expect(error).toMatchObject({ kind: 'runtime', message: 'Module:X:2: out of range', output: 'before\n' })
        expect(error.cause).toBe(original)
      }
      const rethrown = await failure(run('local ok, e = pcall(fail) error(e, 0)', { scriptId: 'm', globals: { fail: () => { throw original } } }))
      expect(rethrown.cause).toBe(original)
      const wrapped = await failure(run('local ok, e = pcall(fail) error("wrapped: " .. e)', { scriptId: 'm', globals: { fail: () => { throw original } } }))
      expect(wrapped.cause).toBeUndefined()
      const thrown = await failure(run('fail()', { scriptId: 'm', globals: { fail: () => { throw 'a string' } } }))
      expect(thrown.message).toBe('m:1: a string')
      expect(thrown.cause).toBe('a string')
    })

    it('a result that cannot be converted is a Lua error at the call site', async () => {
      const globals = { when: () => new Date(0), nested: () => ({ ok: 1, bad: Symbol('s') }) }
      expect(await values('return pcall(when)', globals)).toEqual([false, 'm:1: when(): Date is not supported'])
      const error = await failure(run('return nested()', { scriptId: 'm', globals }))
      expect(error.message).toBe('m:1: nested().bad: symbol is not supported')
      expect(error.cause).toBeInstanceOf(TypeError)
    })

    it('functions returned by host functions are host functions too', async () => {
      const counter = () => { let n = 0; return { next: () => ++n, peek: async () => n } }
      expect(await values('local c = counter() c.next() c.next() return c.next(), c.peek(), type(c.next)', { counter }))
        .toEqual([3, 3, 'function'])
    })

    it('a JS function is an opaque Lua function', async () => {
      const fn = Object.assign(() => 1, { secret: 'x' })
      const code = `
        local r = {type(fn), pcall(function() return fn.secret end)}
        r[#r + 1] = getmetatable(fn) == nil
        r[#r + 1] = pcall(function() return fn.constructor end)
        r[#r + 1] = tostring(fn):match("^(%a+):") return table.unpack(r)`
      expect(await values(code, { fn })).toEqual(['function', false, 'm:2: attempt to index a function value (global \'fn\')', true, false, 'function'])
    })

    it('a __proto__ key from Lua becomes an own property, never the prototype', async () => {
      let got
      const code = 'see({__proto__ = {polluted = true}, ["constructor"] = {prototype = {polluted = true}}}) return {__proto__ = {polluted = true}}'
      const [returned] = await values(code, { see: (value) => { got = value } })
      for (const value of [got, returned]) {
        expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
        expect(Object.hasOwn(value, '__proto__')).toBe(true)
        expect(value.__proto__).toEqual({ polluted: true })
        expect(value.polluted).toBeUndefined()
      }
      expect({}.polluted).toBeUndefined()
      expect(Object.prototype.polluted).toBeUndefined()
    })

    it('arguments that cannot be converted are argument errors; hostile metatables are never run', async () => {
      const seen = []
      const see = (v) => { seen.push(v) }
      expect((await failure(run('local t = {} t.t = t see(t)', { scriptId: 'm', globals: { see } }))).message)
        .toBe("m:1: bad argument #1 to 'see' (cannot be converted: a table contains itself)")
      const hostile = 'see(setmetatable({1, x = 2}, {__index = function() while true do end end, __pairs = function() error("pairs") end, __len = function() error("len") end}))'
      await values(hostile, { see })
      expect(seen).toEqual([{ 1: 1, x: 2 }])
    })
  })

  describe('limits while talking to the host', () => {
    it('a promise that never settles ends at the time limit, keeping the output', async () => {
      const error = await failure(run('print("waiting") local ok = pcall(never) print("after")', { scriptId: 't', timeLimit: 100, globals: { never: () => new Promise(() => {}) } }))
      expect(error).toMatchObject({ kind: 'timeout', message: 't:1: time limit exceeded (100 ms)', output: 'waiting\n' })
    })

    it('a late answer is ignored', async () => {
      const slow = () => new Promise((resolve) => setTimeout(() => resolve('late'), 300))
      const error = await failure(run('return slow()', { scriptId: 't', timeLimit: 50, globals: { slow } }))
      expect(error.kind).toBe('timeout')
      await new Promise((resolve) => setTimeout(resolve, 350))
      expect(await runLua('print("next")', 'n')).toBe('next\n')
    })

    it('a loop of host calls stops at its limit, sync or async, caught or not', async () => {
      const globals = { f: (x) => x, fail: () => { throw new Error('x') }, a: async (x) => x }
      for (const code of ['while true do f(1) end', 'while true do pcall(fail) end', 'while true do a(1) end']) {
        const error = await failure(run(code, { scriptId: 't', timeLimit: 100, globals }))
        expect(error.kind, code).toBe('timeout')
      }
      expect(() => runSync('while true do f(1) end', { scriptId: 't', timeLimit: 100, globals })).toThrow('time limit exceeded')
    })

    it('values converted into the state count against its memory limit', async () => {
      const memoryLimit = 2 * 1024 * 1024
      for (const result of ['x'.repeat(100 * 1024 * 1024), 'x'.repeat(3 * 1024 * 1024), Array.from({ length: 300000 }, (_, i) => i)]) {
        const error = await failure(run('print("p") local ok, s = pcall(get) print("caught")', { scriptId: 'm', memoryLimit, globals: { get: () => result } }))
        expect(error).toMatchObject({ kind: 'memory', output: 'p\n' })
      }
      const error = await failure(run('return 1', { scriptId: 'm', memoryLimit, globals: { big: 'x'.repeat(3 * 1024 * 1024) } }))
      expect(error.kind).toBe('memory')
      expect(await values('return #get()', { get: () => 'x'.repeat(1024 * 1024) }, { memoryLimit })).toEqual([1024 * 1024])
    })
  })

  describe('concurrency and re-entrancy', () => {
    it('64 concurrent calls all waiting for one another finish', async () => {
      let started = 0
      let release
      const all = new Promise((resolve) => { release = resolve })
      const wait = () => {
        if (++started === 64) release()
        return all.then(() => started)
      }
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) =>
        run(`return wait() + ${i}`, { scriptId: `s${i}`, globals: { wait } })))
      results.forEach((result, i) => expect(result.values).toEqual([64 + i]))
    })

    it('1000 concurrent calls doing 10 async host calls each get exactly their own results', async () => {
      const get = async (call, n) => { if (n % 3 === 0) await tick(); return `${call}:${n}` }
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
        run(`local t = {} for n = 1, 10 do t[n] = get(${i}, n) end print(#t) return table.concat(t, " ")`, { scriptId: `c${i}`, globals: { get } })))
      results.forEach((result, i) => {
        expect(result.output).toBe('10\n')
        expect(result.values).toEqual([Array.from({ length: 10 }, (_, n) => `${i}:${n + 1}`).join(' ')])
      })
    })

    it('a host function may run a script itself, async or sync', async () => {
      const render = async (name) => (await run(`return "<" .. ${JSON.stringify(name)} .. ">" .. inner()`, { scriptId: `Template:${name}`, globals: { inner: async () => { await tick(); return '!' } } })).values[0]
      const renderSync = (name) => runSync('return "[" .. name .. "]"', { scriptId: 'T', globals: { name } }).values[0]
      expect(await values('return render("a") .. render("b") .. renderSync("c")', { render, renderSync })).toEqual(['<a>!<b>![c]'])
      expect(runSync('return renderSync("d")', { scriptId: 'm', globals: { renderSync } }).values).toEqual(['[d]'])
    })
  })

  describe('arguments', () => {
    it('are the chunk\'s ..., converted as globals are', async () => {
      const { values } = await run('local a, b, c = ... return select("#", ...), a, b.x, c()', { scriptId: 's', arguments: ['one', { x: 2 }, () => 'called'] })
      expect(values).toEqual([3, 'one', 2, 'called'])
      expect(runLuaSync('print(...)', 's', { arguments: [1, 2.5, null] })).toBe('1\t2.5\tnil\n')
      await expect(run('return 1', { scriptId: 's', arguments: 5 })).rejects.toThrow('options.arguments must be an array')
      await expect(run('return 1', { scriptId: 's', arguments: [new Date()] })).rejects.toThrow('args[0]: Date is not supported')
    })
  })

  describe('globals as a function, and runners', () => {
    it('globals(context) is called once per call with the scriptId', async () => {
      const contexts = []
      const globals = (context) => { contexts.push(context); return { who: () => context.scriptId } }
      expect(await runLua('print(who())', 'Page:A', { globals })).toBe('Page:A\n')
      expect(await runLua('print(who())', 'Page:B', { globals })).toBe('Page:B\n')
      expect(contexts).toEqual([{ scriptId: 'Page:A' }, { scriptId: 'Page:B' }])
    })

    it('createRunner binds defaults; per-call options and globals go over them', async () => {
      const lua = createRunner({ globals: ({ scriptId }) => ({ site: 'wiki', who: () => scriptId, args: { a: 1 } }), timeLimit: 100 })
      expect(await lua.run('return site, who(), args.a', { scriptId: 'p' })).toMatchObject({ values: ['wiki', 'p', 1] })
      expect((await lua.run('return site, args.a, extra', { scriptId: 'p', globals: { args: { a: 2 }, extra: true } })).values).toEqual(['wiki', 2, true])
      expect(lua.runSync('return who()', { scriptId: 'q' }).values).toEqual(['q'])
      expect(await lua.runLua('print(site)', 'r')).toBe('wiki\n')
      expect(lua.runLuaSync('print(site)', 'r')).toBe('wiki\n')
      expect((await failure(lua.runLua('while true do end', 'slow'))).message).toBe('slow:1: time limit exceeded (100 ms)')
      expect((await failure(lua.runLua('while true do end', 'slow', { timeLimit: 50 }))).message).toBe('slow:1: time limit exceeded (50 ms)')
    })

    it('checks its arguments with TypeErrors', async () => {
      expect(() => createRunner(5)).toThrow(TypeError)
      expect(() => createRunner({ scriptId: 'x' })).toThrow(/createRunner options.scriptId is not an option/)
      expect(() => createRunner({ globals: [] })).toThrow(/globals must be an object or a function/)
      expect(() => createRunner({ timeLimit: -1 })).toThrow(/timeLimit must be a positive finite number/)
      await expect(run('return 1', { scriptId: 's', globals: 'x' })).rejects.toThrow(/options.globals must be an object or a function/)
      await expect(run('return 1', { scriptId: 's', globals: () => 5 })).rejects.toThrow(/options.globals\(context\) must return an object/)
      await expect(runLua('return 1', 's', { globals: new Map() })).rejects.toThrow(TypeError)
    })
  })
}
