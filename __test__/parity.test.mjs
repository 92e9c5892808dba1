// Native and wasm give byte-identical results for the same scripts (addresses aside).
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { createApi } from '../lib/api.mjs'
import { nativeBackend } from '../lib/native-backend.mjs'
import { DEFAULT_LIMITS, HOST_ERRORS_KEPT, INTERNAL_ERROR, MAX_NESTING, TOO_DEEP } from '../lib/core-constants.mjs'

const require = createRequire(import.meta.url)
// Run once, in the native project: there the addon must load (a failure to load fails).
const here = process.env.PUBWIKI_LUA_BACKEND ?? 'native'
const loaded = here === 'native' ? { native: require('../lib/load-native.js').loadNative(), wasm: require('../wasm/node.js') } : null

const corpus = {
  'integers and floats': 'print(1, 1.0, -0.0, 1e15, 1e16, 2^53, 2^63, math.mininteger, math.maxinteger + 1, 0.1 + 0.2, 1/3, 100 // 7, 100 / 7)',
  'nan and inf': 'print(0/0, -(0/0), 1/0, -1/0, math.huge, -math.huge, 3 // 0.0, -3 % math.huge)',
  'modulo and division': 'print(5 % -3, -5 % 3, 5.5 % -2, 7 // 2, 7.0 // 2, -7 // 2, math.fmod(-6, 4), 2^-1074, 1e308 * 10)',
  'io.write numbers': 'io.write(1, " ", 1.0, " ", -0.0, " ", 1e100, " ", 2^63, " ", 0.1, "\\n")',
  'string.format': 'print(string.format("%5.1f|%g|%e|%a|%q|%x|%X|%o|%c|%i|%u|%-5d|%+d|%05.1f", 3.14159, 1e20, 12345.678, 1.0, 1/3, 255, 255, 8, 65, 42, 42, 7, 7, 2.5))',
  'string.format %q and %s': 'print(string.format("%q|%q|%q|%.3f|%10.4s|%s", 0/0, 1/0, "a\\0b\\n\\"", 2/3, "abcdefg", 12))',
  'tonumber': 'print(tonumber("  0x1p4  "), tonumber("1e"), tonumber("z", 36), tonumber(" 10 ", 2), tonumber("0x"), tonumber("1e500"), tonumber(".5"), math.tointeger(3.0))',
  'string patterns': 'print(("key = value; k2=v2"):match("(%w+)%s*=%s*(%w+)"), ("hello world"):gsub("o", "0"), ("abc"):find("b", 1, true), ("THE (quick) fox"):find("%((%a+)%)"), ("x"):rep(3, ","))',
  'gmatch and gsub': 'local out = {} for k, v in ("a=1, b=2, c=3"):gmatch("(%w+)=(%w+)") do out[#out + 1] = k .. v end print(table.concat(out, ";"), ("abc"):gsub("%w", "%0%0"), ("hello"):gsub("l+", {ll = "LL"}), ("x y"):gsub("%s", function() return "_" end))',
  'balanced and frontier': 'print(("f(a(b)c) d"):match("%b()"), ("THE (quick) fox"):gsub("%f[%a]%a+", "W"), ("  trim  "):match("^%s*(.-)%s*$"))',
  'utf8': 'print(utf8.char(72, 228, 8364, 0x10FFFF), utf8.len("äö€"), utf8.codepoint("€", 1), utf8.offset("aäb", 3)) for p, c in utf8.codes("aé") do io.write(p, ":", c, " ") end print(utf8.len("\\xff"))',
  'math': 'print(math.floor(-3.5), math.ceil(-3.5), math.max(1, 9.5), math.min(-1, 2), math.abs(math.mininteger), math.sqrt(2), math.sin(1), math.exp(1), math.log(8, 2), math.log(100, 10), math.ult(1, -1), math.type(1), math.type(1.0), math.type("1"))',
  'sort and concat': 'local t = {} for i = 1, 500 do t[i] = (i * 7919) % 1000 end table.sort(t) local s = {} for i = 1, 500 do s[i] = tostring((i * 104729) % 997) end table.sort(s) print(t[1], t[250], t[500], s[1], s[500], #table.concat(s, ","))',
  'sort with comparator': 'local t = {5, 3, 8, 1, 9, 2} table.sort(t, function(a, b) return a > b end) print(table.concat(t, " ")) print(table.unpack({1, 2, 3}, 2)) print(select("#", table.unpack({}, 1, 3)), table.pack(1, nil, 3).n)',
  'coroutines': 'local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) local d, e = coroutine.yield(c * 2) return d + e end) print(coroutine.resume(co, 1, 2)) print(coroutine.resume(co, 10)) print(coroutine.resume(co, 3, 4)) print(coroutine.resume(co)) print(coroutine.status(co), coroutine.isyieldable())',
  'coroutine.wrap and close': 'local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) print(gen(), gen(), gen()) local co = coroutine.create(function() coroutine.yield() end) coroutine.resume(co) print(coroutine.close(co), coroutine.status(co))',
  'errors and pcall': 'print(pcall(error, "msg")) print(pcall(error, "msg", 0)) print(pcall(error)) print(pcall(error, {1})) print(select(2, pcall(function() local x = nil; return x.y end))) print(pcall(string.rep)) print(xpcall(function() error("deep") end, function(m) return "handled: " .. m end))',
  'tracebacks': 'local function inner() error("boom") end local function outer() inner() end print(select(2, xpcall(outer, debug.traceback)))',
  'error at top': 'local function f() error("top-level " .. 42) end print("before") f()',
  'syntax error': 'print("never")\nlocal = 1',
  'runtime error in method': 'local s = "text" print(s:upper()) return s:nosuch()',
  'return values': 'return 1, 2.5, "s", true, nil, {1, 2, {3, {4}}}, {a = {b = {c = "d"}}}, {[1] = "x", [3] = "z"}, {[2.5] = 1, [false] = 0}, print',
  'os functions': 'print(os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365), os.date("!%c", 0), os.time({year = 2020, month = 1, day = 1, hour = 12}) - os.time({year = 2020, month = 1, day = 2, hour = 12}), os.difftime(10, 3), type(os.clock()))',
  'metatables': 'local V = {} V.__index = V V.__add = function(a, b) return setmetatable({x = a.x + b.x}, V) end V.__tostring = function(v) return "V(" .. v.x .. ")" end V.__eq = function(a, b) return a.x == b.x end V.__lt = function(a, b) return a.x < b.x end V.__len = function() return 99 end V.__call = function(self, y) return self.x * y end print(setmetatable({x = 1}, V) + setmetatable({x = 2}, V), #setmetatable({}, V), setmetatable({x = 3}, V)(2), setmetatable({x = 1}, V) < setmetatable({x = 2}, V))',
  'to-be-closed and goto': 'do local x <close> = setmetatable({}, {__close = function() print("closed") end}) print("in") end for i = 1, 3 do if i == 2 then goto continue end print(i) ::continue:: end',
  'integer overflow and conversions': 'print(math.maxinteger + 1 == math.mininteger, 1 << 63, 1 << 64, -1 >> 1, 3 & 5, 3 | 5, 3 ~ 5, ~0, "10" + 5, "3.0" * 2, 10 .. "", 2^31 | 0)',
  'string functions': 'print(("abc"):byte(1, -1), string.char(104, 105), ("Hello"):upper(), ("Hello"):lower(), ("abc"):reverse(), ("abcdef"):sub(-3, -2), ("%d"):rep(2), #"\\u{10FFFF}", ("a,b,,c"):find(",,"), string.len("\\0\\0"))',
  'load': 'print(load("return 1 + ...")(41)) print(load("syntax error here")) print(load(function() return nil end)) local env = {y = 7} print(load("return y", "chunk", "t", env)())',
  'time limit': { code: 'print("spin") while true do end', options: { timeLimit: 50 } },
  'memory limit': { code: 'print("grow") local t = {} while true do t[#t + 1] = ("x"):rep(100) .. #t end', options: { memoryLimit: 2 * 1024 * 1024 } },
  'output limit': { code: 'for i = 1, 1e6 do io.write(i, ",") end', options: { outputLimit: 333 } },
  'stack overflow': { code: 'local function f(n) return f(n + 1) + 1 end f(1)', options: { memoryLimit: 1e9 } },
}

async function settle(promise) {
  try {
    return { ok: true, ...(await promise) }
  } catch (error) {
    return { ok: false, name: error.name, kind: error.kind, message: error.message, output: error.output, traceback: error.traceback }
  }
}

describe.skipIf(!loaded)('native and wasm parity', () => {
  const native = loaded && createApi(nativeBackend(loaded.native))
  const wasm = loaded && createApi({ name: 'wasm', ...loaded.wasm })
  it.each(Object.entries(corpus))('%s', async (name, entry) => {
    const { code, options } = typeof entry === 'string' ? { code: entry, options: {} } : entry
    const [a, b] = await Promise.all([native, wasm].map((api) => settle(api.run(code, { scriptId: `parity/${name}`, ...options }))))
    // Addresses (`table: 0x...`) legitimately differ between the two heaps.
    const withoutAddresses = (result) => JSON.parse(JSON.stringify(result).replace(/0x[0-9a-f]+/g, '0x?'))
    expect(withoutAddresses(b)).toEqual(withoutAddresses(a))
    if (typeof entry !== 'string') expect(a.ok).toBe(false)
  })
})

describe.skipIf(!loaded)('the core\'s constants', () => {
  it.each(['native', 'wasm'])('%s reports those lib/core-constants.mjs repeats', (backend) => {
    expect(loaded[backend].constants()).toEqual({
      ...DEFAULT_LIMITS,
      maxNesting: MAX_NESTING,
      hostErrorsKept: HOST_ERRORS_KEPT,
      internalError: INTERNAL_ERROR,
      tooDeep: TOO_DEEP,
    })
  })
})
