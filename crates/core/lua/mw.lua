-- Scribunto's `mw` for pubwiki-lua: the base library (mw.clone, mw.log, mw.loadData, ...),
-- mw.ustring over the core's Rust functions, libraryUtil, and the Lua 5.1 functions wiki
-- modules rely on. Our own code, written from Scribunto's reference manual. Loaded once
-- into a runner's image (crates/core/src/mw.rs): every call starts with it in place.
-- Chunk arguments: the `mw` table being built, and the core's native functions.
local mw, native = ...

local type, pairs, ipairs, next, select, tostring, error, rawget, rawset, setmetatable,
  getmetatable, pcall = type, pairs, ipairs, next, select, tostring, error, rawget, rawset,
  setmetatable, getmetatable, pcall
local string, table, math = string, table, math
local concat = table.concat

-- libraryUtil (Scribunto's helper for argument checks, `require('libraryUtil')`).
local util = {}

local function typeError(name, argIdx, expected, got, level)
  error(string.format("bad argument #%d to '%s' (%s expected, got %s)", argIdx, name, expected, got), level)
end

function util.checkType(name, argIdx, arg, expectType, nilOk)
  if arg == nil and nilOk then return end
  if type(arg) ~= expectType then
    typeError(name, argIdx, expectType, type(arg), 3)
  end
end

function util.checkTypeMulti(name, argIdx, arg, expectTypes)
  local argType = type(arg)
  for _, t in ipairs(expectTypes) do
    if argType == t then return end
  end
  local n = #expectTypes
  local typeList
  if n > 1 then
    typeList = concat(expectTypes, ', ', 1, n - 1) .. ' or ' .. expectTypes[n]
  else
    typeList = expectTypes[1]
  end
  typeError(name, argIdx, typeList, argType, 3)
end

function util.checkTypeForIndexedArg(name, argIdx, arg, expectType, nilOk)
  if arg == nil and nilOk then return end
  if type(arg) ~= expectType then
    error(string.format("bad argument #%d to '%s' (%s expected, got %s)", argIdx, name, expectType, type(arg)), 3)
  end
end

function util.checkTypeForNamedArg(name, argName, arg, expectType, nilOk)
  if arg == nil and nilOk then return end
  if type(arg) ~= expectType then
    error(string.format("bad named argument %s to '%s' (%s expected, got %s)", argName, name, expectType, type(arg)), 3)
  end
end

function util.makeCheckSelfFunction(libraryName, varName, selfObj, selfObjDesc)
  return function (self, method)
    if self ~= selfObj then
      error(string.format("%s: invalid %s. Did you call %s with a dot instead of a colon, i.e. %s.%s() instead of %s:%s()?",
        libraryName, selfObjDesc, method, varName, method, varName, method), 3)
    end
  end
end

native.util = util
package.loaded.libraryUtil = util
local checkType = util.checkType

-- Lua 5.1 compatibility (Scribunto runs Lua 5.1).
unpack = table.unpack
table.maxn = function (t)
  checkType('maxn', 1, t, 'table')
  local max = 0
  for k in pairs(t) do
    if type(k) == 'number' and k > max then max = k end
  end
  return max
end
math.log10 = function (x) return math.log(x, 10) end
math.pow = function (x, y) return x ^ y end
math.ldexp = function (m, e) return m * 2.0 ^ e end
math.frexp = function (x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = math.floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m, e = m / 2, e + 1 elseif math.abs(m) < 0.5 then m, e = m * 2, e - 1 end
  return m, e
end
math.mod = math.fmod
string.gfind = string.gmatch
table.getn = function (t) return #t end
local load = load
loadstring = function (s, chunkname)
  checkType('loadstring', 1, s, 'string')
  return load(s, chunkname, 't')
end
setfenv = native.setfenv
getfenv = native.getfenv

-- A minimal `strict` module (`require('strict')`): reading or writing an undeclared global
-- is an error.
package.preload.strict = function ()
  local mt = getmetatable(_G) or {}
  setmetatable(_G, mt)
  mt.__newindex = function (t, k, v)
    error("assign to undeclared variable '" .. tostring(k) .. "'", 2)
  end
  mt.__index = function (t, k)
    error("variable '" .. tostring(k) .. "' is not declared", 2)
  end
  return true
end

-- bit32 (Lua 5.2's, which Scribunto offers as `require('bit32')`).
package.preload.bit32 = function ()
  local M = 0xFFFFFFFF
  local function n(x) return math.tointeger(x) and (math.tointeger(x) & M) or (math.floor(x) & M) end
  local bit32 = {}
  function bit32.band(...) local r = M for i = 1, select('#', ...) do r = r & n(select(i, ...)) end return r end
  function bit32.bor(...) local r = 0 for i = 1, select('#', ...) do r = r | n(select(i, ...)) end return r end
  function bit32.bxor(...) local r = 0 for i = 1, select('#', ...) do r = r ~ n(select(i, ...)) end return r end
  function bit32.btest(...) return bit32.band(...) ~= 0 end
  function bit32.bnot(x) return (~n(x)) & M end
  function bit32.lshift(x, d) if d >= 32 or d <= -32 then return 0 end return d >= 0 and (n(x) << d) & M or n(x) >> -d end
  function bit32.rshift(x, d) if d >= 32 or d <= -32 then return 0 end return d >= 0 and n(x) >> d or (n(x) << -d) & M end
  function bit32.arshift(x, d)
    x = n(x)
    if d <= 0 then return bit32.lshift(x, -d) end
    if x & 0x80000000 == 0 then return bit32.rshift(x, d) end
    if d >= 32 then return M end
    return ((x >> d) | (M << (32 - d))) & M
  end
  function bit32.lrotate(x, d) d = d % 32 x = n(x) return ((x << d) | (x >> (32 - d))) & M end
  function bit32.rrotate(x, d) return bit32.lrotate(x, -d) end
  function bit32.extract(x, f, w) w = w or 1 return (n(x) >> f) & ((1 << w) - 1) end
  function bit32.replace(x, v, f, w)
    w = w or 1
    local mask = ((1 << w) - 1) << f
    return (n(x) & ~mask | (n(v) << f) & mask) & M
  end
  return bit32
end

-- mw.ustring: the core's functions, and Lua's where Scribunto's are the same.
local ustring = {}
for k, v in pairs(native.ustring) do ustring[k] = v end
ustring.maxPatternLength = native.ustring.maxPatternLength()
ustring.maxStringLength = native.ustring.maxStringLength()
ustring.byte = string.byte
ustring.format = string.format
ustring.rep = string.rep
function ustring.gcodepoint(s, i, j)
  local sub = ustring.sub(s, i or 1, j or -1)
  local pos, len = 1, #sub
  return function ()
    if pos > len then return nil end
    local c = utf8.codepoint(sub, pos)
    pos = utf8.offset(sub, 2, pos) or len + 1
    return c
  end
end
mw.ustring = ustring

-- Per call: what the host gave (set by the setup function at the end).
local host = {}
native.host = host

--- mw.clone: a deep copy; metatables are kept, cycles and shared tables copied once.
function mw.clone(value)
  local seen = {}
  local function copy(v)
    if type(v) ~= 'table' then return v end
    if seen[v] then return seen[v] end
    local t = {}
    seen[v] = t
    for k, x in next, v do
      t[copy(k)] = copy(x)
    end
    return setmetatable(t, getmetatable(v))
  end
  return copy(value)
end

function mw.allToString(...)
  local t = {}
  for i = 1, select('#', ...) do
    t[i] = tostring((select(i, ...)))
  end
  return concat(t, '\t')
end

-- mw.dumpObject / mw.logObject: a readable dump of a value (tables sorted by key, each
-- table numbered, cycles shown as references).
local function sortKeys(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == 'number' or ta == 'string' then return a < b end
  return tostring(a) < tostring(b)
end

local function dumpObject(object)
  local doneTable, doneObj, ct = {}, {}, {}
  local function toString(o)
    if type(o) == 'string' then return string.format('%q', o) end
    return tostring(o)
  end
  local function dump(o, indent)
    if type(o) ~= 'table' then return toString(o) end
    if doneObj[o] then return string.format('table#%d', doneObj[o]) end
    ct.n = (ct.n or 0) + 1
    doneObj[o] = ct.n
    local parts, keys = {}, {}
    for k in next, o do keys[#keys + 1] = k end
    table.sort(keys, sortKeys)
    local mt = getmetatable(o)
    local head = string.format('table#%d {', ct.n)
    if mt then head = head .. '\n' .. indent .. '  metatable = ' .. dump(mt, indent .. '  ') end
    local nextIndex = 1
    for _, k in ipairs(keys) do
      local v = o[k]
      if k == nextIndex then
        parts[#parts + 1] = indent .. '  ' .. dump(v, indent .. '  ') .. ','
        nextIndex = nextIndex + 1
      else
        local key = type(k) == 'string' and k:match('^[%a_][%w_]*$') and k or ('[' .. dump(k, indent .. '  ') .. ']')
        parts[#parts + 1] = indent .. '  ' .. key .. ' = ' .. dump(v, indent .. '  ') .. ','
      end
    end
    if #parts == 0 and not mt then return head .. '\n' .. indent .. '}' end
    return head .. '\n' .. concat(parts, '\n') .. '\n' .. indent .. '}'
  end
  return dump(object, '')
end

function mw.dumpObject(object)
  return dumpObject(object)
end

function mw.log(...)
  native.log(mw.allToString(...) .. '\n')
end

function mw.logObject(object, prefix)
  if prefix and prefix ~= '' then
    native.log(tostring(prefix) .. ' = ' .. dumpObject(object) .. '\n')
  else
    native.log(dumpObject(object) .. '\n')
  end
end

function mw.addWarning(text)
  native.log('Warning: ' .. tostring(text) .. '\n')
end

function mw.incrementExpensiveFunctionCount() end

function mw.isSubsting()
  return host.subst == true
end

-- mw.loadData / mw.loadJsonData: read-only views of data, loaded once per call.
local dataCache, jsonCache = {}, {}

local function readOnly(data, what)
  local proxies = {}
  local function wrap(t)
    if type(t) ~= 'table' then return t end
    local proxy = proxies[t]
    if proxy then return proxy end
    proxy = {}
    proxies[t] = proxy
    setmetatable(proxy, {
      __index = function (_, k) return wrap(t[k]) end,
      __newindex = function () error('table from ' .. what .. ' is read-only', 2) end,
      __pairs = function ()
        local k
        return function ()
          local v
          k, v = next(t, k)
          if k == nil then return nil end
          return wrap(k), wrap(v)
        end
      end,
      __len = function () return #t end,
      __metatable = what,
    })
    return proxy
  end
  return wrap(data)
end

-- Checks that `data` holds only data (nil, booleans, numbers, strings, tables of those,
-- without metatables); cycles and shared tables are fine.
local function checkData(data, name)
  local seen = {}
  local function check(v)
    local t = type(v)
    if t == 'table' then
      if seen[v] then return end
      seen[v] = true
      if getmetatable(v) ~= nil then
        error("data for mw.loadData contains a table with a metatable", 0)
      end
      for k, x in next, v do
        check(k)
        check(x)
      end
    elseif t ~= 'nil' and t ~= 'boolean' and t ~= 'number' and t ~= 'string' then
      error("data for mw.loadData contains unsupported data type '" .. t .. "'", 0)
    end
  end
  check(data)
end

local function source(name, fn)
  local text = native.source(name)
  if text == nil then
    error(fn .. ": module '" .. name .. "' not found", 3)
  end
  return text
end

function mw.loadData(name)
  checkType('mw.loadData', 1, name, 'string')
  local cached = dataCache[name]
  if cached then return cached end
  local chunk = native.compile(name, source(name, 'mw.loadData'))
  local data = chunk(name)
  if type(data) ~= 'table' then
    error(string.format("mw.loadData: module '%s' returned %s, not a table", name, type(data)), 2)
  end
  local ok, err = pcall(checkData, data, name)
  if not ok then error(err, 2) end
  cached = readOnly(data, 'mw.loadData')
  dataCache[name] = cached
  return cached
end

function mw.loadJsonData(page)
  checkType('mw.loadJsonData', 1, page, 'string')
  local cached = jsonCache[page]
  if cached then return cached end
  local ok, data = pcall(mw.text.jsonDecode, source(page, 'mw.loadJsonData'))
  if not ok then
    error("mw.loadJsonData: page '" .. page .. "' is not valid JSON: " .. tostring(data), 2)
  end
  if type(data) ~= 'table' then
    error("mw.loadJsonData: page '" .. page .. "' is not a JSON object or array", 2)
  end
  cached = readOnly(data, 'mw.loadJsonData')
  jsonCache[page] = cached
  return cached
end

-- The host's functions (expandTemplate, preprocess, ...): a clear error where it gave none.
function native.hook(name, what)
  local hooks = host.hooks
  local f = hooks and hooks[name]
  if type(f) ~= 'function' then
    error(what .. ': the host provides no ' .. name .. ' (mw option of createRunner)', 3)
  end
  return f
end
