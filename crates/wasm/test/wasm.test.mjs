// Regression tests for what is specific to the wasm build: Lua's setjmp/longjmp as wasm
// exceptions, C-stack limits, the C library (wasi-libc) and its local WASI functions
// (clocks, random bytes for table.sort), memory growth, and both glues.
// Run after scripts/build-wasm.sh:  node --test crates/wasm/test/
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { callObject } from '../../../lib/call.mjs'
import { decodeValues } from '../../../lib/wire.mjs'

const lua = createRequire(import.meta.url)('../../../wasm/node.js')
const runner = lua.newRunner([], [])
const MB = 1024 * 1024
// Outcomes with their wire values decoded, as lib/api.mjs does.
const decoded = (outcome) => (outcome.ok ? { ...outcome, values: decodeValues(outcome.values) } : outcome)
// The call object lib/api.mjs would make, for a call without a host.
const call = (code, scriptId, limits = {}) => callObject({ scriptId, code, limits, state: false, synchronous: true })
const run = (code, { id = 'test', mem = 50 * MB, time = 7000, out = 8 * MB } = {}) =>
  decoded(lua.runSync(call(code, id, { memoryLimit: mem, timeLimit: time, outputLimit: out }), runner))
const ok = (code, values, output = '') => assert.deepEqual(run(code), { ok: true, output, values })
function fails(code, kind, pattern, options) {
  const result = run(code, options)
  assert.equal(result.ok, false, JSON.stringify(result))
  assert.equal(result.kind, kind, result.message)
  assert.match(result.message, pattern)
  return result
}

test.afterEach(() => {
  // Whatever happened, the instance is still usable.
  assert.deepEqual(run('return 1 + 1'), { ok: true, output: '', values: [2] })
})

test('values and output', () => {
  ok('print("hi", 1.5, nil) io.write("a", 1, "\\n") return {1, 2, 3}, {a = {b = true}}, nil, "s", print',
    [[1, 2, 3], { a: { b: true } }, null, 's', '[function]'], 'hi\t1.5\tnil\na1\n')
  ok('return 0x7fffffffffffffff, 2^53, -0.0, 1/0, -1/0', [2 ** 63, 2 ** 53, -0, Infinity, -Infinity])
  assert.ok(Number.isNaN(run('return 0/0').values[0]))
  ok('return "日本", "\\xff"', ['日本', '\ufffd'])
})

test('default limits (undefined) and runAsync', async () => {
  assert.deepEqual(decoded(lua.runSync(call('return 7', 'd'), runner)), { ok: true, output: '', values: [7] })
  assert.match(lua.runSync(call('local s = "x" while true do s = s .. s end', 'd'), runner).message, /52428800/)
  assert.deepEqual(decoded(await lua.runAsync(call('return 8', 'd'), runner)), { ok: true, output: '', values: [8] })
})

test('error and pcall (longjmp as a wasm exception)', () => {
  ok('return pcall(error, "x")', [false, 'x'])
  ok('return pcall(pcall, error, "z")', [true, false, 'z'])
  ok('return xpcall(function() error("e", 0) end, function(m) return "handled " .. m end)', [false, 'handled e'])
  ok('local ok, e = pcall(error, {code = 1}) return ok, e.code', [false, 1])
  const result = fails('print("before") error("boom")', 'runtime', /^test:1: boom$/)
  assert.equal(result.output, 'before\n')
  assert.match(result.traceback, /in main chunk/)
  fails('return 1 +', 'syntax', /^test:1: unexpected symbol near <eof>$/)
  fails('local x = nil + 1', 'runtime', /^Module:X:1: attempt to perform arithmetic/, { id: 'Module:X' })
})

test('coroutines', () => {
  ok(`local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
      local gen = coroutine.create(function() for i = 1, 3 do coroutine.yield(i) end error("done!") end)
      local got = {}
      while true do
        local ok, v = coroutine.resume(gen)
        got[#got + 1] = v
        if not ok then break end
      end
      return co(1), co(10), got, coroutine.status(gen)`, [2, 20, [1, 2, 3, 'test:2: done!'], 'dead'])
  ok(`local function gen(n) return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end) end
      local outer = coroutine.wrap(function() for v in gen(3) do coroutine.yield(v * 10) end end)
      return outer(), outer(), outer()`, [10, 20, 30])
})

test('stack overflows are Lua errors, never traps', () => {
  fails('local function f(n) return f(n + 1) + 1 end return f(1)', 'runtime', /stack overflow/)
  ok('local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(100000)', [100000])
  fails('local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x', 'runtime', /stack overflow/)
  fails('local function nest(n) return coroutine.wrap(function() return 1 + nest(n + 1)() end)() end return nest(0)',
    'runtime', /stack overflow/)
  fails('local function f(s) return (s:gsub(".", f)) end return f("ab")', 'runtime', /stack overflow/)
  fails(`local mt = {} mt.__tostring = function() return tostring(setmetatable({}, mt)) end
         return tostring(setmetatable({}, mt))`, 'runtime', /stack overflow/)
  ok('local function f() return pcall(f) end return select("#", f()) > 100', [true])
  assert.equal(run('return ' + '('.repeat(1000) + '1' + ')'.repeat(1000)).ok, false)
})

test('string library (wasi-libc printf, strtod, patterns)', () => {
  ok('return string.format("%.3f|%5.1f|%d|%q|%x|%g|%e|%s", 1/3, 2.5, 42, "a\\n", 255, 1e20, 12345.678, 1.5)',
    ['0.333|  2.5|42|"a\\\n"|ff|1e+20|1.234568e+04|1.5'])
  ok('return tostring(1/3), tostring(10/2), tostring(2^63), 1e15, tonumber("0x10"), tonumber(" 12.5e1 "), tonumber("z", 36)',
    ['0.33333333333333', '5.0', '9.2233720368548e+18', 1e15, 16, 125, 35])
  ok(`local a, b = ("hello world"):match("(%w+) (%w+)")
      local words = {} for w in ("one two  three"):gmatch("%a+") do words[#words + 1] = w end
      return a, b, (("abc"):gsub("%w", "%0%0")), words, ("f(a,b)"):match("%b()"), ("  trim  "):match("^%s*(.-)%s*$"),
             utf8.char(228, 8364), utf8.len("äö€"), ("x"):rep(3, "-")`,
    ['hello', 'world', 'aabbcc', ['one', 'two', 'three'], '(a,b)', 'trim', 'ä€', 3, 'x-x-x'])
})

test('table.sort on large arrays (pivot randomisation uses random_get)', () => {
  ok(`local t = {} for i = 1, 1e5 do t[i] = (i * 7919) % 1e5 end
      table.sort(t) table.sort(t, function(a, b) return a > b end) return t[1], t[1e5]`, [99999, 0])
})

test('clocks: os.time, os.date, os.clock', () => {
  const [now, date, clock] = run('return os.time(), os.date("!%Y-%m-%d %H:%M:%S", 86400), os.clock()').values
  assert.ok(Math.abs(now - Date.now() / 1000) < 5)
  assert.equal(date, '1970-01-02 00:00:00')
  assert.ok(clock >= 0 && clock < 1)
  ok('return os.time({year = 2000, month = 1, day = 1, hour = 12}) ~= nil, os.getenv, os.exit', [true, null, null])
})

test('limits', () => {
  fails('local t = {} for i = 1, 1e8 do t[i] = i end', 'memory', /not enough memory/)
  fails('local t = {} for i = 1, 1e5 do t[i] = {} end', 'memory', /not enough memory/, { mem: 200 * 1024 })
  fails('return #string.rep("x", 2^30)', 'memory', /not enough memory/)
  fails('while true do end', 'timeout', /time limit/, { time: 100 })
  fails('while true do pcall(function() while true do end end) end', 'timeout', /time limit/, { time: 100 })
  fails('while true do print(("x"):rep(1000)) end', 'output', /output limit/, { out: 10000 })
})

test('large memory: wasm memory grows, and failure to grow is a memory error', () => {
  assert.deepEqual(run('local s = string.rep("x", 2^28) return #s', { mem: 1e9 }).values, [2 ** 28])
  fails('local t = {} for i = 1, 2^27 do t[i] = i end', 'memory', /not enough memory/, { mem: 4e9 })
})

test('many fresh states', () => {
  for (let i = 0; i < 2000; i++) assert.equal(run('local t = {} for i = 1, 100 do t[i] = i end return #t').values[0], 100)
})
