-- mw.text (Scribunto's text library), our own code from the reference manual.
local mw, native = ...
local ustring = mw.ustring
local checkType = native.util.checkType
local type, pairs, ipairs, next, tostring, tonumber, error, select, getmetatable, rawget =
  type, pairs, ipairs, next, tostring, tonumber, error, select, getmetatable, rawget
local concat, sort, format, floor = table.concat, table.sort, string.format, math.floor

local text = {}
mw.text = text

text.JSON_PRESERVE_KEYS = 1
text.JSON_TRY_FIXING = 2
text.JSON_PRETTY = 4

function text.trim(s, charset)
  checkType('trim', 1, s, 'string')
  charset = charset or '\t\r\n\f '
  checkType('trim', 2, charset, 'string')
  s = ustring.gsub(s, '^[' .. charset .. ']*(.-)[' .. charset .. ']*$', '%1')
  return s
end

function text.gsplit(s, pattern, plain)
  checkType('gsplit', 1, s, 'string')
  checkType('gsplit', 2, pattern, 'string')
  local pos, done, n = 1, false, ustring.len(s)
  return function ()
    if done then return nil end
    local from, to = ustring.find(s, pattern, pos, plain)
    if from == nil or (to < from and from > n) then
      done = true
      return ustring.sub(s, pos)
    end
    if to < from then
      -- An empty match: split after one character.
      if from == pos then
        from, to = ustring.find(s, pattern, pos + 1, plain)
        if from == nil or (to < from and from > n) then
          done = true
          return ustring.sub(s, pos)
        end
      end
    end
    local piece = ustring.sub(s, pos, from - 1)
    pos = to + 1
    return piece
  end
end

function text.split(s, pattern, plain)
  local t = {}
  for piece in text.gsplit(s, pattern, plain) do
    t[#t + 1] = piece
  end
  return t
end

function text.listToText(list, separator, conjunction)
  checkType('listToText', 1, list, 'table')
  separator = separator or native.message('comma-separator', ', ')
  conjunction = conjunction or native.message('and', ' and ')
  local n = #list
  if n == 0 then return '' end
  if n == 1 then return tostring(list[1]) end
  local parts = {}
  for i = 1, n - 1 do parts[i] = tostring(list[i]) end
  return concat(parts, separator) .. conjunction .. tostring(list[n])
end

local encodeNames = { ['<'] = '&lt;', ['>'] = '&gt;', ['&'] = '&amp;', ['"'] = '&quot;', ["'"] = '&#039;', ['\194\160'] = '&nbsp;' }

function text.encode(s, charset)
  checkType('encode', 1, s, 'string')
  charset = charset or '<>&"\'\194\160'
  checkType('encode', 2, charset, 'string')
  s = ustring.gsub(s, '[' .. charset .. ']', function (c)
    return encodeNames[c] or format('&#%d;', ustring.codepoint(c))
  end)
  return s
end

local namedEntities = { lt = '<', gt = '>', amp = '&', quot = '"', nbsp = '\194\160' }

function text.decode(s, decodeNamedEntities)
  checkType('decode', 1, s, 'string')
  local names = decodeNamedEntities and native.entities() or namedEntities
  s = string.gsub(s, '&(#?)([xX]?)(%w+);', function (hash, x, name)
    if hash == '#' then
      local code = tonumber(name, x ~= '' and 16 or 10)
      if (x ~= '' and not name:match('^%x+$')) or (x == '' and not name:match('^%d+$')) then return nil end
      if code and code <= 0x10FFFF and not (code >= 0xD800 and code <= 0xDFFF) then
        return utf8.char(code)
      end
      return nil
    end
    if x ~= '' then return nil end
    return names[name]
  end)
  return s
end

-- mw.text.nowiki: wikitext-significant characters as HTML entities.
local nowikiChars = {
  ['"'] = '&#34;', ['&'] = '&#38;', ["'"] = '&#39;', ['<'] = '&#60;', ['='] = '&#61;',
  ['>'] = '&#62;', ['['] = '&#91;', [']'] = '&#93;', ['{'] = '&#123;', ['|'] = '&#124;',
  ['}'] = '&#125;',
}
local lineStart = { ['#'] = '&#35;', ['*'] = '&#42;', [':'] = '&#58;', [';'] = '&#59;', [' '] = '&#32;', ['\t'] = '&#9;' }

function text.nowiki(s)
  checkType('nowiki', 1, s, 'string')
  s = string.gsub(s, '["&\'<=>%[%]{|}]', nowikiChars)
  s = string.gsub(s, '^([#*:; \t])', lineStart)
  s = string.gsub(s, '([\r\n])([#*:; \t])', function (nl, c) return nl .. lineStart[c] end)
  s = string.gsub(s, '\n\n', '\n&#10;')
  s = string.gsub(s, '\r\n\r\n', '\r\n&#13;\n')
  s = string.gsub(s, '\r\r', '\r&#13;')
  s = string.gsub(s, '^%-%-%-%-', '&#45;---')
  s = string.gsub(s, '([\r\n])%-%-%-%-', '%1&#45;---')
  s = string.gsub(s, '__', '_&#95;')
  s = string.gsub(s, '://', '&#58;//')
  s = string.gsub(s, '(ISBN)(%s)', function (w, sp) return w .. format('&#%d;', sp:byte()) end)
  s = string.gsub(s, '(RFC)(%s)', function (w, sp) return w .. format('&#%d;', sp:byte()) end)
  s = string.gsub(s, '(PMID)(%s)', function (w, sp) return w .. format('&#%d;', sp:byte()) end)
  return s
end

function text.truncate(s, length, ellipsis, adjustLength)
  checkType('truncate', 1, s, 'string')
  checkType('truncate', 2, length, 'number')
  checkType('truncate', 3, ellipsis, 'string', true)
  ellipsis = ellipsis or native.message('ellipsis', '...')
  local l = ustring.len(s)
  local elen = ustring.len(ellipsis)
  if adjustLength then
    if l <= math.abs(length) then return s end
    if elen >= math.abs(length) then return ellipsis end
    length = length >= 0 and length - elen or length + elen
  elseif l <= math.abs(length) + elen then
    -- Cutting would save nothing: the ellipsis is as long as what it replaces.
    return s
  end
  if length >= 0 then
    return ustring.sub(s, 1, length) .. ellipsis
  end
  return ellipsis .. ustring.sub(s, length)
end

function text.tag(name, attrs, content)
  local named = false
  if type(name) == 'table' then
    local args = name
    name, attrs, content = args.name, args.attrs, args.content
    named = true
  end
  if named then
    native.util.checkTypeForNamedArg('tag', 'name', name, 'string')
    native.util.checkTypeForNamedArg('tag', 'attrs', attrs, 'table', true)
  else
    checkType('tag', 1, name, 'string')
    checkType('tag', 2, attrs, 'table', true)
  end
  local parts = { '<' .. name }
  if attrs then
    -- In `pairs` order where the table says it (__pairs), else sorted (plain tables'
    -- order is no order).
    local keys, values = {}, {}
    for k, v in pairs(attrs) do
      if type(k) ~= 'string' then
        error("bad argument #2 to 'tag' (keys must be strings, found " .. type(k) .. ")", 2)
      end
      keys[#keys + 1] = k
      values[k] = v
    end
    local mt = getmetatable(attrs)
    if not (type(mt) == 'table' and rawget(mt, '__pairs')) then sort(keys) end
    for _, k in ipairs(keys) do
      local v = values[k]
      local t = type(v)
      if v == true then
        parts[#parts + 1] = ' ' .. k
      elseif t == 'string' or t == 'number' then
        parts[#parts + 1] = ' ' .. k .. '="' .. text.encode(tostring(v)) .. '"'
      elseif v ~= false then
        error("bad argument #2 to 'tag' (value for key '" .. k .. "' may not be " .. t .. ")", 2)
      end
    end
  end
  local t = type(content)
  if content == nil then
    parts[#parts + 1] = '>'
  elseif content == false then
    parts[#parts + 1] = ' />'
  elseif t == 'string' or t == 'number' then
    parts[#parts + 1] = '>' .. content .. '</' .. name .. '>'
  else
    error("bad argument #3 to 'tag' (string, number, nil or false expected, got " .. t .. ")", 2)
  end
  return concat(parts)
end

-- Strip markers: the parser's placeholders for extension output. Without a parser
-- there are none, but modules remove them.
local markerPattern = "\127'\"`UNIQ%-%-%l+%-%x+%-QINU`\"'\127"

function text.killMarkers(s)
  checkType('killMarkers', 1, s, 'string')
  return (string.gsub(s, markerPattern, ''))
end

function text.unstripNoWiki(s)
  checkType('unstripNoWiki', 1, s, 'string')
  return s
end

function text.unstrip(s)
  checkType('unstrip', 1, s, 'string')
  return text.killMarkers(s)
end

-- JSON.
local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function encodeString(s)
  if not ustring.isutf8(s) then
    error('mw.text.jsonEncode: string is not UTF-8', 0)
  end
  return '"' .. string.gsub(s, '[%c"\\]', function (c)
    return escapes[c] or format('\\u%04x', c:byte())
  end) .. '"'
end

local function isArray(t, preserveKeys)
  local n = 0
  for k in next, t do
    if math.type(k) ~= 'integer' then return false end
    n = n + 1
  end
  local first = preserveKeys and 0 or 1
  for i = first, first + n - 1 do
    if t[i] == nil then return false end
  end
  return true, first, n
end

function text.jsonEncode(value, flags)
  checkType('jsonEncode', 2, flags, 'number', true)
  flags = flags or 0
  local preserveKeys = flags & text.JSON_PRESERVE_KEYS ~= 0
  local pretty = flags & text.JSON_PRETTY ~= 0
  local active = {}
  local out = {}
  local function put(s) out[#out + 1] = s end
  local function encode(v, indent)
    local t = type(v)
    if t == 'nil' then
      put('null')
    elseif t == 'boolean' then
      put(v and 'true' or 'false')
    elseif t == 'number' then
      if v ~= v or v == math.huge or v == -math.huge then
        error("mw.text.jsonEncode: cannot encode non-finite number", 0)
      end
      if math.type(v) == 'integer' then
        put(format('%d', v))
      elseif v == floor(v) and math.abs(v) < 1e15 then
        put(format('%d', v))
      else
        put(format('%.17g', v))
      end
    elseif t == 'string' then
      put(encodeString(v))
    elseif t == 'table' then
      if active[v] then error('mw.text.jsonEncode: cannot encode a recursive table', 0) end
      active[v] = true
      local inner = pretty and (indent .. '\t') or ''
      local nl = pretty and '\n' or ''
      local array, first, n = isArray(v, preserveKeys)
      if array and (n > 0 or not preserveKeys or next(v) == nil) then
        if n == 0 then
          put('[]')
        else
          put('[' .. nl)
          for i = first, first + n - 1 do
            if i > first then put(',' .. nl) end
            put(inner)
            encode(v[i], inner)
          end
          put(nl .. (pretty and indent or '') .. ']')
        end
      else
        local keys = {}
        for k in next, v do
          local kt = type(k)
          if kt == 'number' then
            if math.type(k) ~= 'integer' and k ~= floor(k) then
              error('mw.text.jsonEncode: cannot use a non-integer number as a key', 0)
            end
            keys[#keys + 1] = { format('%d', k), k }
          elseif kt == 'string' then
            keys[#keys + 1] = { k, k }
          elseif kt == 'boolean' then
            keys[#keys + 1] = { tostring(k), k }
          else
            error('mw.text.jsonEncode: cannot use type ' .. kt .. ' as a table key', 0)
          end
        end
        sort(keys, function (a, b) return a[1] < b[1] end)
        if #keys == 0 then
          put('{}')
        else
          put('{' .. nl)
          for i, key in ipairs(keys) do
            if i > 1 then put(',' .. nl) end
            put(inner .. encodeString(key[1]) .. (pretty and ': ' or ':'))
            encode(v[key[2]], inner)
          end
          put(nl .. (pretty and indent or '') .. '}')
        end
      end
      active[v] = nil
    else
      error('mw.text.jsonEncode: cannot encode type ' .. t, 0)
    end
  end
  local ok, err = pcall(encode, value, '')
  if not ok then error(err, 2) end
  return concat(out)
end

function text.jsonDecode(s, flags)
  checkType('jsonDecode', 1, s, 'string')
  checkType('jsonDecode', 2, flags, 'number', true)
  flags = flags or 0
  local preserveKeys = flags & text.JSON_PRESERVE_KEYS ~= 0
  local tryFixing = flags & text.JSON_TRY_FIXING ~= 0
  local pos = 1
  local function fail(what)
    error('mw.text.jsonDecode: ' .. what .. ' at position ' .. pos, 0)
  end
  local function skip()
    pos = string.find(s, '[^ \t\r\n]', pos) or #s + 1
  end
  local value
  local function str()
    local parts = {}
    pos = pos + 1
    while true do
      local from, to, chunk, stop = string.find(s, '^([^"\\%c]*)(["\\]?)', pos)
      parts[#parts + 1] = chunk
      pos = to + 1
      if stop == '"' then break end
      if stop ~= '\\' then fail('unterminated string') end
      local c = s:sub(pos, pos)
      if c == 'u' then
        local hex = s:match('^%x%x%x%x', pos + 1)
        if not hex then fail('bad \\u escape') end
        local code = tonumber(hex, 16)
        pos = pos + 5
        if code >= 0xD800 and code <= 0xDBFF then
          local low = s:match('^\\u(%x%x%x%x)', pos)
          local lc = low and tonumber(low, 16)
          if lc and lc >= 0xDC00 and lc <= 0xDFFF then
            code = 0x10000 + (code - 0xD800) * 0x400 + (lc - 0xDC00)
            pos = pos + 6
          else
            code = 0xFFFD
          end
        elseif code >= 0xDC00 and code <= 0xDFFF then
          code = 0xFFFD
        end
        parts[#parts + 1] = utf8.char(code)
      else
        local map = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
        if not map[c] then fail('bad escape') end
        parts[#parts + 1] = map[c]
        pos = pos + 1
      end
    end
    return concat(parts)
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == '{' then
      local t = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == '}' then pos = pos + 1 return t end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then
          if tryFixing and s:sub(pos, pos) == '}' then pos = pos + 1 return t end
          fail('expected a string key')
        end
        local k = str()
        skip()
        if s:sub(pos, pos) ~= ':' then fail("expected ':'") end
        pos = pos + 1
        local v = value()
        local n = tonumber(k)
        if n and math.type(n) == 'integer' and format('%d', n) == k then
          t[preserveKeys and n or n] = v
        else
          t[k] = v
        end
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == '}' then return t end
        if d ~= ',' then fail("expected ',' or '}'") end
      end
    elseif c == '[' then
      local t = {}
      local n = 0
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == ']' then pos = pos + 1 return t end
      while true do
        skip()
        if tryFixing and s:sub(pos, pos) == ']' then pos = pos + 1 return t end
        local v = value()
        t[preserveKeys and n or n + 1] = v
        n = n + 1
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == ']' then return t end
        if d ~= ',' then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif s:find('^true', pos) then
      pos = pos + 4
      return true
    elseif s:find('^false', pos) then
      pos = pos + 5
      return false
    elseif s:find('^null', pos) then
      pos = pos + 4
      return nil
    else
      local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
      if not num or num == '' or num == '-' then fail('unexpected character') end
      pos = pos + #num
      local n = math.tointeger(tonumber(num)) or tonumber(num)
      if not n then fail('bad number') end
      return n
    end
  end
  local ok, result = pcall(function ()
    local v = value()
    skip()
    if pos <= #s then fail('trailing characters') end
    return v
  end)
  if not ok then error(result, 2) end
  return result
end
