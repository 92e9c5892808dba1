-- mw.html (Scribunto's HTML builder), our own code from the reference manual.
local mw, native = ...
local util = native.util
local type, tostring, error, ipairs, pairs, setmetatable, getmetatable, select =
  type, tostring, error, ipairs, pairs, setmetatable, getmetatable, select
local concat, insert, remove, format = table.concat, table.insert, table.remove, string.format

local html = {}
mw.html = html

local HtmlBuilder = {}
local metatable = { __index = HtmlBuilder }
function metatable.__tostring(t)
  local out = {}
  t:_build(out)
  return concat(out)
end

local selfClosing = {
  area = true, base = true, br = true, col = true, command = true, embed = true, hr = true,
  img = true, input = true, keygen = true, link = true, meta = true, param = true,
  source = true, track = true, wbr = true,
}

local function isBuilder(v)
  return getmetatable(v) == metatable
end

local htmlEncodeMap = { ['<'] = '&lt;', ['>'] = '&gt;', ['&'] = '&amp;', ['"'] = '&quot;' }
local function htmlEncode(s)
  return (string.gsub(s, '[<>&"]', htmlEncodeMap))
end

-- CSS names and values: characters outside printable ASCII, and ':' and ';', as CSS escapes.
local function cssEncode(s)
  return (mw.ustring.gsub(s, '[^\32-\57\60-\127]', function (c)
    return format('\\%X ', mw.ustring.codepoint(c))
  end))
end

local function checkSelf(self, method)
  if not isBuilder(self) then
    error(format("mw.html: invalid builder. Did you call %s with a dot instead of a colon, i.e. builder.%s() instead of builder:%s()?",
      method, method, method), 3)
  end
end

local function validName(name)
  return type(name) == 'string' and name ~= '' and not name:find('[%c%s"\'<>/=]')
end

local function createBuilder(tagName, args)
  if tagName ~= nil and tagName ~= '' and not validName(tagName) then
    error("invalid tag name '" .. tostring(tagName) .. "'", 3)
  end
  args = args or {}
  local builder = {
    nodes = {},
    attributes = {},
    styles = {},
    tagName = tagName ~= '' and tagName or nil,
    parent = args.parent,
    selfClosing = (tagName and selfClosing[tagName]) or args.selfClosing or false,
  }
  return setmetatable(builder, metatable)
end

function HtmlBuilder:_build(out)
  if self.tagName then
    out[#out + 1] = '<' .. self.tagName
    for _, attr in ipairs(self.attributes) do
      out[#out + 1] = ' ' .. attr.name .. '="' .. htmlEncode(attr.val) .. '"'
    end
    if #self.styles > 0 then
      local css = {}
      for i, prop in ipairs(self.styles) do
        if type(prop) == 'table' then
          css[i] = htmlEncode(cssEncode(prop.name) .. ':' .. cssEncode(prop.val))
        else
          css[i] = htmlEncode(prop)
        end
      end
      out[#out + 1] = ' style="' .. concat(css, ';') .. '"'
    end
    if self.selfClosing then
      out[#out + 1] = ' />'
      return
    end
    out[#out + 1] = '>'
  end
  for _, node in ipairs(self.nodes) do
    if isBuilder(node) then
      node:_build(out)
    else
      out[#out + 1] = tostring(node)
    end
  end
  if self.tagName then
    out[#out + 1] = '</' .. self.tagName .. '>'
  end
end

function HtmlBuilder:node(builder)
  checkSelf(self, 'node')
  if builder ~= nil then
    if not isBuilder(builder) and type(builder) ~= 'string' and type(builder) ~= 'number' then
      error("bad argument #1 to 'node' (builder, string or number expected, got " .. type(builder) .. ")", 2)
    end
    self.nodes[#self.nodes + 1] = builder
  end
  return self
end

function HtmlBuilder:wikitext(...)
  checkSelf(self, 'wikitext')
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    if v == nil then break end
    util.checkTypeMulti('wikitext', i, v, { 'string', 'number' })
    self.nodes[#self.nodes + 1] = v
  end
  return self
end

function HtmlBuilder:newline()
  checkSelf(self, 'newline')
  self.nodes[#self.nodes + 1] = '\n'
  return self
end

function HtmlBuilder:tag(tagName, args)
  checkSelf(self, 'tag')
  args = args or {}
  args.parent = self
  local builder = createBuilder(tagName, args)
  self.nodes[#self.nodes + 1] = builder
  return builder
end

local function attrIndex(self, name)
  for i, attr in ipairs(self.attributes) do
    if attr.name == name then return i end
  end
end

function HtmlBuilder:getAttr(name)
  checkSelf(self, 'getAttr')
  local i = attrIndex(self, name)
  return i and self.attributes[i].val
end

function HtmlBuilder:attr(name, val)
  checkSelf(self, 'attr')
  if type(name) == 'table' then
    if val ~= nil then
      error("bad argument #2 to 'attr' (if argument #1 is a table, argument #2 must be left empty)", 2)
    end
    local keys = {}
    for k in pairs(name) do keys[#keys + 1] = k end
    table.sort(keys, function (a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do self:attr(k, name[k]) end
    return self
  end
  if not validName(name) then
    error("bad argument #1 to 'attr' (invalid attribute name '" .. tostring(name) .. "')", 2)
  end
  if val ~= nil and type(val) ~= 'string' and type(val) ~= 'number' then
    error("bad argument #2 to 'attr' (string, number or nil expected, got " .. type(val) .. ")", 2)
  end
  if name == 'style' and val ~= nil then
    self.styles = { tostring(val) }
    return self
  end
  local i = attrIndex(self, name)
  if val == nil then
    if i then remove(self.attributes, i) end
  elseif i then
    self.attributes[i].val = tostring(val)
  else
    insert(self.attributes, { name = name, val = tostring(val) })
  end
  return self
end

function HtmlBuilder:addClass(class)
  checkSelf(self, 'addClass')
  if class == nil then return self end
  util.checkTypeMulti('addClass', 1, class, { 'string', 'number' })
  local classes = self:getAttr('class')
  if classes then
    for c in string.gmatch(classes, '%S+') do
      if c == tostring(class) then return self end
    end
    self:attr('class', classes .. ' ' .. class)
  else
    self:attr('class', tostring(class))
  end
  return self
end

function HtmlBuilder:css(name, val)
  checkSelf(self, 'css')
  if type(name) == 'table' then
    if val ~= nil then
      error("bad argument #2 to 'css' (if argument #1 is a table, argument #2 must be left empty)", 2)
    end
    local keys = {}
    for k in pairs(name) do keys[#keys + 1] = k end
    table.sort(keys, function (a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do self:css(k, name[k]) end
    return self
  end
  util.checkTypeMulti('css', 1, name, { 'string', 'number' })
  if val ~= nil then util.checkTypeMulti('css', 2, val, { 'string', 'number' }) end
  name = tostring(name)
  for i, prop in ipairs(self.styles) do
    if type(prop) == 'table' and prop.name == name then
      if val == nil then
        remove(self.styles, i)
      else
        prop.val = tostring(val)
      end
      return self
    end
  end
  if val ~= nil then
    insert(self.styles, { name = name, val = tostring(val) })
  end
  return self
end

function HtmlBuilder:cssText(css)
  checkSelf(self, 'cssText')
  if css ~= nil then
    util.checkTypeMulti('cssText', 1, css, { 'string', 'number' })
    self.styles[#self.styles + 1] = tostring(css)
  end
  return self
end

function HtmlBuilder:done()
  checkSelf(self, 'done')
  return self.parent or self
end

function HtmlBuilder:allDone()
  checkSelf(self, 'allDone')
  local node = self
  while node.parent do node = node.parent end
  return node
end

function html.create(tagName, args)
  if tagName ~= nil then util.checkType('mw.html.create', 1, tagName, 'string') end
  if args ~= nil then util.checkType('mw.html.create', 2, args, 'table') end
  return createBuilder(tagName, args)
end
