-- A JSON codec written the way small pure-Lua libraries are: one table of functions,
-- local helpers, string patterns, errors with positions.
local json = { _VERSION = "test-json 1.0" }

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape(s)
  return (s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end))
end

local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or math.type(k) ~= "integer" then return false end
    n = math.max(n, k)
  end
  return n == #t
end

local encode

local function encode_table(t, seen)
  if seen[t] then error("circular reference") end
  seen[t] = true
  local parts = {}
  if next(t) == nil then
    seen[t] = nil
    return "[]"
  end
  if is_array(t) then
    for i = 1, #t do parts[i] = encode(t[i], seen) end
    seen[t] = nil
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then error("object keys must be strings, got " .. type(k)) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for i, k in ipairs(keys) do parts[i] = '"' .. escape(k) .. '":' .. encode(t[k], seen) end
  seen[t] = nil
  return "{" .. table.concat(parts, ",") .. "}"
end

function encode(v, seen)
  local kind = type(v)
  if kind == "nil" then return "null"
  elseif kind == "boolean" then return tostring(v)
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("cannot encode " .. tostring(v)) end
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.14g", v)
  elseif kind == "string" then return '"' .. escape(v) .. '"'
  elseif kind == "table" then return encode_table(v, seen or {})
  end
  error("cannot encode a " .. kind)
end

function json.encode(v) return encode(v, {}) end

local decode_value

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function fail(s, i, what)
  local line, col = 1, 1
  for j = 1, i - 1 do
    if s:sub(j, j) == "\n" then line, col = line + 1, 1 else col = col + 1 end
  end
  error(string.format("%s at line %d col %d", what, line, col), 0)
end

local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then fail(s, j, "unterminated string") end
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      local simple = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
      if simple[e] then out[#out + 1] = simple[e]; j = j + 2
      elseif e == "u" then
        local hex = s:match("^%x%x%x%x", j + 2) or fail(s, j, "bad unicode escape")
        out[#out + 1] = utf8.char(tonumber(hex, 16)); j = j + 6
      else fail(s, j, "bad escape") end
    else
      out[#out + 1] = c; j = j + 1
    end
  end
end

function decode_value(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then fail(s, i, "expected a key") end
      local key
      key, i = decode_string(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then fail(s, i, "expected ':'") end
      obj[key], i = decode_value(s, i + 1)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then fail(s, i, "expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local arr = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = decode_value(s, i)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then fail(s, i, "expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  else
    local literal = s:match("^true", i) or s:match("^false", i) or s:match("^null", i)
    if literal then
      local values = { ["true"] = true, ["false"] = false }
      return values[literal], i + #literal
    end
    local number = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if number and #number > 0 then return math.tointeger(tonumber(number)) or tonumber(number), i + #number end
    fail(s, i, "unexpected character '" .. c .. "'")
  end
end

function json.decode(s)
  local value, i = decode_value(s, 1)
  i = skip(s, i)
  if i <= #s then fail(s, i, "trailing garbage") end
  return value
end

return json
