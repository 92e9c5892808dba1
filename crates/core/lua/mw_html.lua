-- mw.html (Scribunto's HTML builder), our own code from the reference manual.
local mw, native = ...
local util = native.util
local type, tostring, error, ipairs, pairs, setmetatable, getmetatable, select, rawget =
  type, tostring, error, ipairs, pairs, setmetatable, getmetatable, select, rawget
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

-- Tag names are letters and digits; attribute names are XML names.
local function validTag(name)
  return name:match('^[a-zA-Z0-9]+$') ~= nil
end

local function validAttributeName(name)
  return name:match('^[a-zA-Z_:][a-zA-Z0-9_.:-]*$') ~= nil
end

local function isValue(v)
  return type(v) == 'string' or type(v) == 'number'
end

local function createBuilder(tagName, args)
  if tagName ~= nil and type(tagName) ~= 'string' then
    error('Tag name must be a string', 3)
  end
  if tagName ~= nil and tagName ~= '' and not validTag(tagName) then
    error('Invalid tag name: ' .. tagName, 3)
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
      -- Each declaration ends with ';'.
      local css = {}
      for i, prop in ipairs(self.styles) do
        if type(prop) == 'table' then
          css[i] = htmlEncode(cssEncode(prop.name) .. ':' .. cssEncode(prop.val)) .. ';'
        else
          css[i] = htmlEncode(prop) .. ';'
        end
      end
      out[#out + 1] = ' style="' .. concat(css) .. '"'
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

local function checkCanHaveChildren(self)
  if self.selfClosing then
    error("Self-closing tags can't have child nodes", 3)
  end
end

function HtmlBuilder:node(builder)
  checkSelf(self, 'node')
  checkCanHaveChildren(self)
  if builder ~= nil then
    if not isBuilder(builder) and not isValue(builder) then
      error('Invalid node given: Must be a builder, a string or a number', 2)
    end
    self.nodes[#self.nodes + 1] = builder
  end
  return self
end

function HtmlBuilder:wikitext(...)
  checkSelf(self, 'wikitext')
  checkCanHaveChildren(self)
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    if v == nil then break end
    if not isValue(v) then
      error('Invalid wikitext given: Must be either a string or a number', 2)
    end
    self.nodes[#self.nodes + 1] = v
  end
  return self
end

function HtmlBuilder:newline()
  checkSelf(self, 'newline')
  checkCanHaveChildren(self)
  self.nodes[#self.nodes + 1] = '\n'
  return self
end

function HtmlBuilder:tag(tagName, args)
  checkSelf(self, 'tag')
  checkCanHaveChildren(self)
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

-- The pairs of a key->value table, checked first: in the order `pairs` gives them where
-- the table says it (__pairs), else sorted (plain tables' order is no order).
local function tablePairs(t, nameOk, what)
  local list = {}
  for k, v in pairs(t) do
    if not nameOk(k) or not isValue(v) then
      error('Invalid table given: Must be name (' .. what .. ') value (string|number) pairs', 3)
    end
    list[#list + 1] = { k, v }
  end
  local mt = getmetatable(t)
  if not (type(mt) == 'table' and rawget(mt, '__pairs')) then
    table.sort(list, function (a, b) return tostring(a[1]) < tostring(b[1]) end)
  end
  return list
end

function HtmlBuilder:attr(name, val)
  checkSelf(self, 'attr')
  if type(name) == 'table' then
    if val ~= nil then
      error('If a key->value table is given as first parameter, value must be left empty', 2)
    end
    for _, pair in ipairs(tablePairs(name, function (k) return type(k) == 'string' end, 'string')) do
      self:attr(pair[1], pair[2])
    end
    return self
  end
  if type(name) ~= 'string' then
    error('Invalid name given: The name must be a string', 2)
  end
  if not validAttributeName(name) then
    error('Invalid attribute name: ' .. name, 2)
  end
  if val ~= nil and not isValue(val) then
    error('Invalid value given: The value must be either a string or a number', 2)
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
  if not isValue(class) then
    error('Invalid class given: The name must be either a string or a number', 2)
  end
  local classes = self:getAttr('class')
  if classes then
    for c in string.gmatch(classes, '%S+') do
      if c == tostring(class) then return self end
    end
    self:attr('class', classes .. ' ' .. tostring(class))
  else
    self:attr('class', tostring(class))
  end
  return self
end

function HtmlBuilder:css(name, val)
  checkSelf(self, 'css')
  if type(name) == 'table' then
    if val ~= nil then
      error('If a key->value table is given as first parameter, value must be left empty', 2)
    end
    for _, pair in ipairs(tablePairs(name, isValue, 'string|number')) do
      self:css(pair[1], pair[2])
    end
    return self
  end
  if not isValue(name) then
    error('Invalid CSS given: The name must be either a string or a number', 2)
  end
  if val ~= nil and not isValue(val) then
    error('Invalid CSS given: The value must be either a string or a number', 2)
  end
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
    if not isValue(css) then
      error('Invalid CSS given: Must be either a string or a number', 2)
    end
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
  if args ~= nil then util.checkType('mw.html.create', 2, args, 'table') end
  return createBuilder(tagName, args)
end
