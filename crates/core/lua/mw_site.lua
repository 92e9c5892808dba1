-- mw.uri, mw.site, mw.title, mw.language, mw.hash and the frame, from what the host gives
-- each call (its `mw` option: site data, the page's title, the frame's arguments, and host
-- functions); and the per-call setup function this chunk returns (crates/core/src/mw.rs).
-- Our own code, written from Scribunto's reference manual.
local mw, native = ...
local host = native.host
local util = native.util
local checkType = util.checkType
local type, tostring, tonumber, error, ipairs, pairs, next, setmetatable, rawget, rawset, select =
  type, tostring, tonumber, error, ipairs, pairs, next, setmetatable, rawget, rawset, select
local os = { time = os.time, date = os.date }
local math = { type = math.type, floor = math.floor, min = math.min }
local concat, sort, format = table.concat, table.sort, string.format
local ustring = mw.ustring

-- Messages the libraries use, from the host's site data or English.
function native.message(key, default)
  local messages = host.site and host.site.messages
  local m = messages and messages[key]
  if type(m) == 'string' then return m end
  return default
end

-- Named entities for mw.text.decode(s, true): HTML 4's commonest (Scribunto has all of HTML5's).
local entities = {
  lt = '<', gt = '>', amp = '&', quot = '"', apos = "'", nbsp = '\194\160',
  copy = '©', reg = '®', trade = '™', hellip = '…', mdash = '—', ndash = '–',
  lsquo = '‘', rsquo = '’', ldquo = '“', rdquo = '”', laquo = '«', raquo = '»',
  middot = '·', bull = '•', deg = '°', plusmn = '±', times = '×', divide = '÷',
  euro = '€', pound = '£', yen = '¥', cent = '¢', sect = '§', para = '¶',
  shy = '\194\173', thinsp = '\226\128\137', ensp = '\226\128\130', emsp = '\226\128\131',
  zwj = '\226\128\141', zwnj = '\226\128\140', larr = '←', rarr = '→', uarr = '↑', darr = '↓',
  harr = '↔', minus = '−', prime = '′', Prime = '″', frac12 = '½', frac14 = '¼', frac34 = '¾',
  sup1 = '¹', sup2 = '²', sup3 = '³', micro = 'µ', alpha = 'α', beta = 'β', gamma = 'γ',
  delta = 'δ', pi = 'π', sigma = 'σ', omega = 'ω', Omega = 'Ω', infin = '∞', ne = '≠',
  le = '≤', ge = '≥', asymp = '≈', iexcl = '¡', iquest = '¿', szlig = 'ß', eacute = 'é',
  egrave = 'è', aacute = 'á', agrave = 'à', ouml = 'ö', uuml = 'ü', auml = 'ä', Ouml = 'Ö',
  Uuml = 'Ü', Auml = 'Ä', ccedil = 'ç', ntilde = 'ñ', oacute = 'ó', iacute = 'í', uacute = 'ú',
  hearts = '♥', spades = '♠', clubs = '♣', diams = '♦', dagger = '†', Dagger = '‡',
  permil = '‰', lsaquo = '‹', rsaquo = '›', sbquo = '‚', bdquo = '„', loz = '◊', sdot = '⋅',
  forall = '∀', part = '∂', exist = '∃', empty = '∅', nabla = '∇', isin = '∈', notin = '∉',
  prod = '∏', sum = '∑', radic = '√', prop = '∝', ang = '∠', int = '∫', there4 = '∴',
  sim = '∼', cong = '≅', equiv = '≡', sub = '⊂', sup = '⊃', oplus = '⊕', otimes = '⊗',
  perp = '⊥', lceil = '⌈', rceil = '⌉', lfloor = '⌊', rfloor = '⌋', crarr = '↵',
  lArr = '⇐', rArr = '⇒', uArr = '⇑', dArr = '⇓', hArr = '⇔', ordf = 'ª', ordm = 'º',
  acute = '´', cedil = '¸', uml = '¨', macr = '¯', brvbar = '¦', curren = '¤',
  Alpha = 'Α', Beta = 'Β', Gamma = 'Γ', Delta = 'Δ', Theta = 'Θ', Lambda = 'Λ', Pi = 'Π',
  Sigma = 'Σ', Phi = 'Φ', Psi = 'Ψ', epsilon = 'ε', zeta = 'ζ', eta = 'η', theta = 'θ',
  iota = 'ι', kappa = 'κ', lambda = 'λ', mu = 'μ', nu = 'ν', xi = 'ξ', omicron = 'ο',
  rho = 'ρ', sigmaf = 'ς', tau = 'τ', upsilon = 'υ', phi = 'φ', chi = 'χ', psi = 'ψ',
  aring = 'å', Aring = 'Å', aelig = 'æ', AElig = 'Æ', oslash = 'ø', Oslash = 'Ø',
  Eacute = 'É', ecirc = 'ê', acirc = 'â', icirc = 'î', ocirc = 'ô', ucirc = 'û', yuml = 'ÿ',
  euml = 'ë', iuml = 'ï', igrave = 'ì', ograve = 'ò', ugrave = 'ù', atilde = 'ã', otilde = 'õ',
  yacute = 'ý', thorn = 'þ', eth = 'ð', THORN = 'Þ', ETH = 'Ð', Ccedil = 'Ç', Ntilde = 'Ñ',
  ['not'] = '¬', lrm = '\226\128\142', rlm = '\226\128\143',
}
function native.entities() return entities end

-- mw.hash
mw.hash = {}
function mw.hash.listAlgorithms()
  return { 'md5', 'sha1', 'sha256', 'sha512' }
end
function mw.hash.hashValue(algo, value)
  checkType('hashValue', 1, algo, 'string')
  checkType('hashValue', 2, value, 'string')
  local digest = native.hash(algo, value)
  if not digest then
    error("bad argument #1 to 'hashValue' (unknown hashing algorithm '" .. algo .. "')", 2)
  end
  return digest
end

-- mw.uri
local uri = {}
mw.uri = uri

function uri.encode(s, enctype)
  checkType('encode', 1, s, 'string')
  enctype = enctype or 'QUERY'
  local keep
  if enctype == 'QUERY' then
    keep = '[%w%-%.~_]'
  elseif enctype == 'PATH' then
    keep = '[%w%-%.~_]'
  elseif enctype == 'WIKI' then
    keep = "[%w%-%.~_:/;@$!*(),]"
  else
    error("bad argument #2 to 'encode' (expected QUERY, WIKI, or PATH)", 2)
  end
  if enctype == 'WIKI' then s = string.gsub(s, ' ', '_') end
  s = string.gsub(s, '.', function (c)
    if c == ' ' and enctype == 'QUERY' then return '+' end
    if c:find(keep) then return c end
    return format('%%%02X', c:byte())
  end)
  return s
end

function uri.decode(s, enctype)
  checkType('decode', 1, s, 'string')
  enctype = enctype or 'QUERY'
  if enctype == 'QUERY' then
    s = string.gsub(s, '%+', ' ')
  elseif enctype == 'WIKI' then
    s = string.gsub(s, '_', ' ')
  elseif enctype ~= 'PATH' then
    error("bad argument #2 to 'decode' (expected QUERY, WIKI, or PATH)", 2)
  end
  s = string.gsub(s, '%%(%x%x)', function (h) return string.char(tonumber(h, 16)) end)
  return s
end

function uri.anchorEncode(s)
  checkType('anchorEncode', 1, s, 'string')
  s = mw.text.decode(s)
  s = string.gsub(s, '_', ' ')
  s = ustring.gsub(s, '%s+', ' ')
  s = mw.text.trim(s)
  s = string.gsub(s, ' ', '_')
  local mode = host.site and host.site.fragmentMode
  if mode == 'legacy' then
    -- MediaWiki's legacy ids: percent-encoded, '.' for '%'.
    s = string.gsub(uri.encode(s, 'WIKI'), '%%', '.')
  end
  return s
end

-- Query strings keep the order their keys came in (a query parsed from text), then the
-- rest sorted.
local queryOrder = setmetatable({}, { __mode = 'k' })

local function buildQuery(query, order)
  local keys, seen = {}, {}
  for _, k in ipairs(order or {}) do
    if query[k] ~= nil and not seen[k] then keys[#keys + 1] = k seen[k] = true end
  end
  local rest = {}
  for k in pairs(query) do
    if not seen[k] then rest[#rest + 1] = k end
  end
  table.sort(rest, function (a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  local parts = {}
  for _, k in ipairs(keys) do
    local v = query[k]
    local ek = uri.encode(tostring(k))
    if v == false then
      parts[#parts + 1] = ek
    elseif type(v) == 'table' then
      for _, x in ipairs(v) do
        parts[#parts + 1] = x == false and ek or (ek .. '=' .. uri.encode(tostring(x)))
      end
    else
      parts[#parts + 1] = ek .. '=' .. uri.encode(tostring(v))
    end
  end
  return concat(parts, '&')
end

function uri.buildQueryString(query)
  checkType('buildQueryString', 1, query, 'table')
  return buildQuery(query, queryOrder[query])
end

function uri.parseQueryString(s, i, j)
  checkType('parseQueryString', 1, s, 'string')
  s = string.sub(s, i or 1, j or -1)
  local query, order = {}, {}
  for pair in string.gmatch(s, '[^&]+') do
    local k, v = pair:match('^([^=]*)=(.*)$')
    if k then
      k, v = uri.decode(k), uri.decode(v)
    else
      k, v = uri.decode(pair), false
    end
    local old = query[k]
    if old == nil then
      query[k] = v
      order[#order + 1] = k
    elseif type(old) == 'table' then
      old[#old + 1] = v
    else
      query[k] = { old, v }
    end
  end
  queryOrder[query] = order
  return query
end

local Uri = {}
local uriMeta = {}
function uriMeta.__index(t, k) return Uri[k] end
function uriMeta.__tostring(t)
  local out = {}
  if t.protocol then out[#out + 1] = t.protocol .. ':' end
  if t.host or t.user or t.password or t.port then
    out[#out + 1] = '//'
    if t.user or t.password then
      out[#out + 1] = (t.user or '') .. (t.password and (':' .. t.password) or '') .. '@'
    end
    out[#out + 1] = t.host or ''
    if t.port then out[#out + 1] = ':' .. t.port end
  end
  out[#out + 1] = t.path or ''
  if t.query and next(t.query) ~= nil then out[#out + 1] = '?' .. uri.buildQueryString(t.query) end
  if t.fragment then out[#out + 1] = '#' .. t.fragment end
  return concat(out)
end

function Uri:parse(s)
  checkType('uri:parse', 1, s, 'string')
  local rest = s
  local at = rest:find('#', 1, true)
  if at then self.fragment = rest:sub(at + 1) rest = rest:sub(1, at - 1) else self.fragment = nil end
  at = rest:find('?', 1, true)
  if at then self.query = uri.parseQueryString(rest:sub(at + 1)) rest = rest:sub(1, at - 1) else self.query = {} end
  local protocol = rest:match('^(%a[%w+.-]*):')
  self.protocol = protocol
  if protocol then rest = rest:sub(#protocol + 2) end
  self.user, self.password, self.host, self.port = nil, nil, nil, nil
  if rest:sub(1, 2) == '//' then
    local authority = rest:match('^//([^/]*)')
    rest = rest:sub(#authority + 3)
    local userinfo, hostport = authority:match('^(.*)@(.*)$')
    hostport = hostport or authority
    if userinfo then
      local user, password = userinfo:match('^([^:]*):(.*)$')
      self.user = user or userinfo
      self.password = password
    end
    local h, p = hostport:match('^(.*):(%d+)$')
    self.host = h or hostport
    self.port = p and tonumber(p)
  end
  self.path = rest
  return self
end

function Uri:clone()
  local copy = setmetatable(mw.clone(self), uriMeta)
  if self.query then queryOrder[copy.query] = queryOrder[self.query] end
  return copy
end

function Uri:extend(parameters)
  self.query = self.query or {}
  for k, v in pairs(parameters) do self.query[k] = v end
  return self
end

function uri.new(s)
  local u = setmetatable({ query = {} }, uriMeta)
  if s ~= nil then
    if type(s) == 'string' then
      u:parse(s)
    elseif type(s) == 'table' then
      for k, v in pairs(s) do u[k] = v end
    end
  end
  return u
end

local function site()
  return host.site or {}
end

local function pageUrl(page, query, server)
  if type(page) == 'table' and page.prefixedText then page = page.prefixedText end
  checkType('url', 1, page, 'string')
  local s = site()
  local articlePath = s.articlePath or '/wiki/$1'
  local title = uri.encode(string.gsub(page, ' ', '_'), 'WIKI')
  local path
  if query ~= nil and query ~= '' then
    local q = type(query) == 'table' and uri.buildQueryString(query) or tostring(query)
    path = (s.scriptPath or '/w') .. '/index.php?title=' .. title .. '&' .. q
  else
    path = string.gsub(articlePath, '%$1', function () return title end)
  end
  return uri.new((server or '') .. path)
end

function uri.localUrl(page, query) return pageUrl(page, query, nil) end
function uri.fullUrl(page, query) return pageUrl(page, query, site().server or '') end
function uri.canonicalUrl(page, query) return pageUrl(page, query, site().canonicalServer or site().server or '') end

-- mw.site: namespaces (the host's, or MediaWiki's English defaults).
local defaultNamespaces = {
  [-2] = 'Media', [-1] = 'Special', [0] = '', [1] = 'Talk', [2] = 'User', [3] = 'User talk',
  [4] = 'Project', [5] = 'Project talk', [6] = 'File', [7] = 'File talk', [8] = 'MediaWiki',
  [9] = 'MediaWiki talk', [10] = 'Template', [11] = 'Template talk', [12] = 'Help',
  [13] = 'Help talk', [14] = 'Category', [15] = 'Category talk', [828] = 'Module',
  [829] = 'Module talk',
}

local namespaces -- built once per call, on first use
local function getNamespaces()
  if namespaces then return namespaces end
  namespaces = {}
  local given = site().namespaces
  local names = {}
  if type(given) == 'table' then
    for k, v in pairs(given) do
      local id = tonumber(k)
      if id then names[id] = type(v) == 'table' and v or { name = tostring(v) } end
    end
  else
    for id, name in pairs(defaultNamespaces) do names[id] = { name = name } end
    names[4].name = site().siteName or 'Project'
    names[5].name = (site().siteName or 'Project') .. ' talk'
  end
  for id, info in pairs(names) do
    local ns = {
      id = id,
      name = info.name,
      canonicalName = info.canonicalName or info.name,
      displayName = info.name,
      hasSubpages = info.hasSubpages ~= false and id ~= 0 and id ~= 6 and id ~= 14 and id >= 0,
      hasGenderDistinction = id == 2 or id == 3,
      isCapitalized = info.isCapitalized ~= false,
      isContent = info.isContent == true or id == 0,
      isIncludable = id ~= -1,
      isMovable = id >= 0 and id ~= 14,
      isSubject = id < 0 or id % 2 == 0,
      isTalk = id >= 0 and id % 2 == 1,
      aliases = info.aliases or {},
      defaultContentModel = id == 828 and 'Scribunto' or nil,
    }
    namespaces[id] = ns
  end
  for id, ns in pairs(namespaces) do
    if ns.isTalk then
      ns.subject = namespaces[id - 1]
      ns.talk = ns
    elseif id >= 0 then
      ns.subject = ns
      ns.talk = namespaces[id + 1]
    else
      ns.subject = ns
    end
    ns.associated = ns.isTalk and ns.subject or ns.talk
  end
  local byName = {}
  for id, ns in pairs(namespaces) do
    byName[ns.name] = ns
    byName[(ns.name:gsub(' ', '_'))] = ns
    byName[ns.canonicalName] = ns
    for _, alias in ipairs(ns.aliases) do byName[alias] = ns end
  end
  for name, ns in pairs(byName) do
    if type(name) == 'string' and name ~= '' then namespaces[name] = ns end
  end
  return namespaces
end

local function findNamespace(name)
  local nss = getNamespaces()
  local ns = nss[name]
  if ns then return ns end
  local lower = ustring.lower(name)
  for k, v in pairs(nss) do
    if type(k) == 'string' and ustring.lower(k) == lower then return v end
  end
end

mw.site = setmetatable({}, {
  __index = function (t, k)
    local s = site()
    if k == 'namespaces' then return getNamespaces() end
    if k == 'contentNamespaces' or k == 'subjectNamespaces' or k == 'talkNamespaces' then
      local out = {}
      for id, ns in pairs(getNamespaces()) do
        if type(id) == 'number' and ((k == 'contentNamespaces' and ns.isContent)
          or (k == 'subjectNamespaces' and ns.isSubject) or (k == 'talkNamespaces' and ns.isTalk)) then
          out[id] = ns
        end
      end
      return out
    end
    if k == 'stats' then return s.stats or {} end
    if k == 'siteName' then return s.siteName or 'Wiki' end
    if k == 'server' then return s.server or '' end
    if k == 'scriptPath' then return s.scriptPath or '/w' end
    if k == 'stylePath' then return s.stylePath or ((s.scriptPath or '/w') .. '/skins') end
    if k == 'currentVersion' then return s.currentVersion or '1.43.0' end
    return nil
  end,
})
function mw.site.matchNamespaceName(name) local ns = findNamespace(name) return ns and ns.id end

-- mw.title
local title = {}
mw.title = title
local Title = {}
local titleMeta = {}

local function normalizeText(s)
  s = string.gsub(s, '_', ' ')
  s = ustring.gsub(s, '%s+', ' ')
  return mw.text.trim(s)
end

local function ucfirst(s)
  return ustring.upper(ustring.sub(s, 1, 1)) .. ustring.sub(s, 2)
end

local function makeTitle(nsId, text, fragment, interwiki)
  local ns = getNamespaces()[nsId]
  if not ns then return nil end
  text = normalizeText(text)
  if text == '' and nsId ~= 0 then return nil end
  if text:find('[#<>%[%]|{}]') then return nil end
  if ns.isCapitalized then text = ucfirst(text) end
  return setmetatable({ namespace = nsId, text = text, fragment = fragment or '', interwiki = interwiki or '' }, titleMeta)
end

local function parseTitle(text, defaultNamespace)
  text = normalizeText(text)
  local fragment = ''
  local at = text:find('#', 1, true)
  if at then
    fragment = text:sub(at + 1)
    text = normalizeText(text:sub(1, at - 1))
  end
  local nsId = defaultNamespace or 0
  local prefix, rest = text:match('^([^:]+):(.*)$')
  if prefix then
    local ns = findNamespace(normalizeText(prefix))
    if ns then
      nsId = ns.id
      text = rest
    end
  elseif text:sub(1, 1) == ':' then
    nsId = 0
    text = text:sub(2)
  end
  return makeTitle(nsId, text, fragment)
end

function title.new(text, namespace)
  if type(text) == 'number' then
    local page = host.hooks and host.hooks.titleFromId
    if type(page) ~= 'function' then return nil end
    local found = page(text)
    return found and parseTitle(found) or nil
  end
  checkType('title.new', 1, text, 'string')
  local nsId = 0
  if namespace ~= nil then
    if type(namespace) == 'number' then nsId = namespace else
      local ns = findNamespace(tostring(namespace))
      if not ns then error("bad argument #2 to 'title.new' (unrecognized namespace name '" .. tostring(namespace) .. "')", 2) end
      nsId = ns.id
    end
  end
  return parseTitle(text, nsId)
end

function title.makeTitle(namespace, text, fragment, interwiki)
  local nsId = namespace
  if type(namespace) ~= 'number' then
    local ns = findNamespace(tostring(namespace))
    if not ns then return nil end
    nsId = ns.id
  end
  return makeTitle(nsId, text, fragment, interwiki)
end

function title.getCurrentTitle()
  return parseTitle(host.title or 'Main Page') or makeTitle(0, 'Main Page')
end

function title.equals(a, b)
  return a.interwiki == b.interwiki and a.namespace == b.namespace and a.text == b.text
end

function title.compare(a, b)
  if a.interwiki ~= b.interwiki then return a.interwiki < b.interwiki and -1 or 1 end
  if a.namespace ~= b.namespace then return a.namespace < b.namespace and -1 or 1 end
  if a.text ~= b.text then return a.text < b.text and -1 or 1 end
  return 0
end

titleMeta.__eq = title.equals
titleMeta.__lt = function (a, b) return title.compare(a, b) < 0 end
titleMeta.__le = function (a, b) return title.compare(a, b) <= 0 end
titleMeta.__tostring = function (t) return t.prefixedText end

local function hostCall(name, ...)
  local hooks = host.hooks
  local f = hooks and hooks[name]
  if type(f) ~= 'function' then return nil, false end
  return f(...), true
end

titleMeta.__index = function (t, k)
  local m = Title[k]
  if m then return m end
  local ns = getNamespaces()[t.namespace]
  if k == 'id' then
    local id = hostCall('pageId', t.prefixedText)
    return id or 0
  elseif k == 'nsText' then return ns.name
  elseif k == 'subjectNsText' then return ns.subject.name
  elseif k == 'talkNsText' then return ns.talk and ns.talk.name
  elseif k == 'prefixedText' then
    return (ns.name ~= '' and (ns.name .. ':') or '') .. t.text
  elseif k == 'fullText' then
    local s = (t.interwiki ~= '' and (t.interwiki .. ':') or '') .. t.prefixedText
    if t.fragment ~= '' then s = s .. '#' .. t.fragment end
    return s
  elseif k == 'baseText' then
    if ns.hasSubpages then return (t.text:match('^(.*)/[^/]*$') or t.text) end
    return t.text
  elseif k == 'rootText' then
    if ns.hasSubpages then return (t.text:match('^([^/]*)/') or t.text) end
    return t.text
  elseif k == 'subpageText' then
    if ns.hasSubpages then return (t.text:match('/([^/]*)$') or t.text) end
    return t.text
  elseif k == 'isSubpage' then return ns.hasSubpages and t.text:find('/', 1, true) ~= nil
  elseif k == 'isTalkPage' then return ns.isTalk
  elseif k == 'isContentPage' then return ns.isContent
  elseif k == 'isExternal' then return t.interwiki ~= ''
  elseif k == 'isLocal' then return t.interwiki == ''
  elseif k == 'isSpecialPage' then return t.namespace == -1
  elseif k == 'isRedirect' then return (hostCall('isRedirect', t.prefixedText)) == true
  elseif k == 'canTalk' then return t.namespace >= 0
  elseif k == 'talkPageTitle' then return ns.talk and makeTitle(ns.talk.id, t.text) or nil
  elseif k == 'subjectPageTitle' then return makeTitle(ns.subject.id, t.text)
  elseif k == 'basePageTitle' then return makeTitle(t.namespace, t.baseText)
  elseif k == 'rootPageTitle' then return makeTitle(t.namespace, t.rootText)
  elseif k == 'contentModel' then return t.namespace == 828 and 'Scribunto' or 'wikitext'
  elseif k == 'exists' then
    local exists, asked = hostCall('titleExists', t.prefixedText)
    if asked then return exists == true end
    return hostCall('getContent', t.prefixedText) ~= nil
  elseif k == 'protectionLevels' or k == 'cascadingProtection' then return {}
  elseif k == 'redirectTarget' then
    local target = hostCall('redirectTarget', t.prefixedText)
    return target and parseTitle(target) or false
  end
  return nil
end

function Title:inNamespace(ns)
  if type(ns) == 'string' then
    local found = findNamespace(ns)
    if not found then error("bad argument #1 to 'inNamespace' (unrecognized namespace name '" .. ns .. "')", 2) end
    ns = found.id
  end
  return self.namespace == ns
end
function Title:inNamespaces(...)
  for i = 1, select('#', ...) do
    if self:inNamespace((select(i, ...))) then return true end
  end
  return false
end
function Title:hasSubjectNamespace(ns)
  if type(ns) == 'string' then ns = findNamespace(ns).id end
  return getNamespaces()[self.namespace].subject.id == getNamespaces()[ns].subject.id
end
function Title:isSubpageOf(other)
  return self.namespace == other.namespace and self.text:sub(1, #other.text + 1) == other.text .. '/'
end
function Title:subPageTitle(text) return makeTitle(self.namespace, self.text .. '/' .. text) end
function Title:partialUrl() return uri.encode(string.gsub(self.text, ' ', '_'), 'WIKI') end
function Title:fullUrl(query, proto) return tostring(uri.fullUrl(self.prefixedText, query)) end
function Title:localUrl(query) return tostring(uri.localUrl(self.prefixedText, query)) end
function Title:canonicalUrl(query) return tostring(uri.canonicalUrl(self.prefixedText, query)) end
function Title:getContent()
  local content = hostCall('getContent', self.prefixedText)
  if type(content) == 'string' then return content end
  return nil
end

-- mw.language: the content language, with what the host hands in.
local language = {}
mw.language = language
local Language = {}
local languageMeta = { __index = Language }

local function languageInfo()
  return host.language or {}
end

function language.new(code)
  checkType('language.new', 1, code, 'string')
  return setmetatable({ code = code }, languageMeta)
end
language.getContentLanguage = function () return language.new(languageInfo().code or 'en') end
mw.getContentLanguage = language.getContentLanguage
mw.getLanguage = language.new
function language.fetchLanguageName(code)
  local names = languageInfo().names
  return names and names[code] or (code == 'en' and 'English' or '')
end
function language.fetchLanguageNames() return languageInfo().names or { en = 'English' } end
function language.getFallbacksFor(code) return code == 'en' and {} or { 'en' } end
function language.isKnownLanguageTag(code) return type(code) == 'string' and code:match('^%a%a%a?$') ~= nil or code == 'en' end
function language.isSupportedLanguage(code) return language.isKnownLanguageTag(code) end
function language.isValidBuiltInCode(code) return type(code) == 'string' and code:match('^[%a%d%-]+$') ~= nil end
function language.isValidCode(code) return type(code) == 'string' and not code:find("[:/\\%%<>&\"'%c ]") and code ~= '' end

function Language:getCode() return self.code end
function Language:getFallbackLanguages() return language.getFallbacksFor(self.code) end
function Language:isRTL() return languageInfo().rtl == true end
function Language:getDir() return self:isRTL() and 'rtl' or 'ltr' end
function Language:getDirMark() return self:isRTL() and '\226\128\143' or '\226\128\142' end
function Language:getDirMarkEntity() return self:isRTL() and '&rlm;' or '&lrm;' end
function Language:lc(s) return ustring.lower(s) end
function Language:uc(s) return ustring.upper(s) end
function Language:lcfirst(s) return ustring.lower(ustring.sub(s, 1, 1)) .. ustring.sub(s, 2) end
function Language:ucfirst(s) return ucfirst(s) end
function Language:caseFold(s) return ustring.lower(s) end

function Language:formatNum(n, options)
  local given = host.hooks and host.hooks.formatNum
  if type(given) == 'function' then return given(n, options, self.code) end
  local s = type(n) == 'number' and (math.type(n) == 'integer' and format('%d', n) or format('%.14g', n)) or tostring(n)
  if options and options.noCommafy then return s end
  local sign, int, rest = s:match('^([-+]?)(%d+)(.*)$')
  if not int then return s end
  local sep = languageInfo().separator or ','
  int = int:reverse():gsub('(%d%d%d)', '%1' .. sep:reverse()):reverse()
  if int:sub(1, #sep) == sep then int = int:sub(#sep + 1) end
  return sign .. int .. rest
end

function Language:parseFormattedNumber(s)
  local sep = languageInfo().separator or ','
  s = string.gsub(tostring(s), sep:gsub('%p', '%%%0'), '')
  return tonumber(s)
end

function Language:convertPlural(n, ...)
  local forms = select('#', ...) == 1 and type(...) == 'table' and ... or { ... }
  if #forms == 0 then return '' end
  local index = (n == 1) and 1 or 2
  return forms[math.min(index, #forms)]
end
Language.plural = Language.convertPlural
function Language:convertGrammar(word) return word end
Language.grammar = Language.convertGrammar
function Language:gender(what, ...)
  local forms = select('#', ...) == 1 and type(...) == 'table' and ... or { ... }
  return forms[1] or ''
end

local months = { 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December' }
local days = { 'Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday' }

-- The time of a timestamp: nil (now), "now", a Unix "@n", "YYYY-MM-DD[ HH:MM:SS]",
-- "YYYYMMDDHHMMSS".
local function parseTime(timestamp)
  if timestamp == nil or timestamp == '' or timestamp == 'now' then return os.time() end
  local unix = tostring(timestamp):match('^@(-?%d+)$')
  if unix then return tonumber(unix) end
  local y, mo, d, h, mi, s = tostring(timestamp):match('^(%d%d%d%d)-?(%d%d)-?(%d%d)[T ]?(%d?%d?):?(%d?%d?):?(%d?%d?)Z?$')
  if not y then return nil end
  return os.time({ year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h) or 0, min = tonumber(mi) or 0, sec = tonumber(s) or 0 }) -
    (os.time({ year = 1970, month = 1, day = 2, hour = 0 }) - 86400)
end

function Language:formatDate(fmt, timestamp, localTime)
  checkType('formatDate', 1, fmt, 'string')
  local given = host.hooks and host.hooks.formatDate
  if type(given) == 'function' then return given(fmt, timestamp, localTime, self.code) end
  local t = parseTime(timestamp)
  if not t then error("bad argument #2 to 'formatDate': invalid timestamp '" .. tostring(timestamp) .. "'", 2) end
  local d = os.date('!*t', t)
  local out = {}
  local i = 1
  while i <= #fmt do
    local c = fmt:sub(i, i)
    local r
    if c == 'Y' then r = format('%04d', d.year)
    elseif c == 'y' then r = format('%02d', d.year % 100)
    elseif c == 'n' then r = tostring(d.month)
    elseif c == 'm' then r = format('%02d', d.month)
    elseif c == 'F' then r = months[d.month]
    elseif c == 'M' then r = months[d.month]:sub(1, 3)
    elseif c == 'j' then r = tostring(d.day)
    elseif c == 'd' then r = format('%02d', d.day)
    elseif c == 'l' then r = days[d.wday]
    elseif c == 'D' then r = days[d.wday]:sub(1, 3)
    elseif c == 'N' then r = tostring((d.wday + 5) % 7 + 1)
    elseif c == 'w' then r = tostring(d.wday - 1)
    elseif c == 'z' then r = tostring(d.yday - 1)
    elseif c == 'G' then r = tostring(d.hour)
    elseif c == 'H' then r = format('%02d', d.hour)
    elseif c == 'g' then r = tostring((d.hour + 11) % 12 + 1)
    elseif c == 'h' then r = format('%02d', (d.hour + 11) % 12 + 1)
    elseif c == 'A' then r = d.hour < 12 and 'AM' or 'PM'
    elseif c == 'a' then r = d.hour < 12 and 'am' or 'pm'
    elseif c == 'i' then r = format('%02d', d.min)
    elseif c == 's' then r = format('%02d', d.sec)
    elseif c == 'U' then r = tostring(t)
    elseif c == 'L' then r = ((d.year % 4 == 0 and d.year % 100 ~= 0) or d.year % 400 == 0) and '1' or '0'
    elseif c == 't' then r = tostring(os.date('!*t', os.time({ year = d.month == 12 and d.year + 1 or d.year, month = d.month % 12 + 1, day = 1, hour = 12 }) - 86400).day)
    elseif c == 'c' then r = format('%04d-%02d-%02dT%02d:%02d:%02d+00:00', d.year, d.month, d.day, d.hour, d.min, d.sec)
    elseif c == 'e' or c == 'T' then r = 'UTC'
    elseif c == 'O' then r = '+0000'
    elseif c == 'P' then r = '+00:00'
    elseif c == 'Z' then r = '0'
    elseif c == '\\' then
      i = i + 1
      r = fmt:sub(i, i)
    elseif c == '"' then
      local close = fmt:find('"', i + 1, true)
      if close then r = fmt:sub(i + 1, close - 1) i = close else r = '"' end
    else r = c
    end
    out[#out + 1] = r
    i = i + 1
  end
  return concat(out)
end

function Language:formatDuration(seconds)
  local units = { { 'year', 31556952 }, { 'day', 86400 }, { 'hour', 3600 }, { 'minute', 60 }, { 'second', 1 } }
  local parts = {}
  for _, u in ipairs(units) do
    local n = math.floor(seconds / u[2])
    if n > 0 then
      parts[#parts + 1] = n .. ' ' .. u[1] .. (n == 1 and '' or 's')
      seconds = seconds - n * u[2]
    end
  end
  if #parts == 0 then return '0 seconds' end
  return mw.text.listToText(parts)
end

-- The frame.
local currentFrame
local Frame = {}
local frameMeta = { __index = Frame }

local function argKey(k)
  if type(k) == 'string' then
    local n = tonumber(k)
    if n and math.type(n) == 'integer' and format('%d', n) == k then return n end
  end
  return k
end

local function stringArgs(args, what)
  local t = {}
  if args == nil then return t end
  if type(args) ~= 'table' then error(what .. ': args must be a table', 3) end
  for k, v in pairs(args) do
    local tv = type(v)
    if tv == 'number' then v = tostring(v)
    elseif tv == 'boolean' then v = v and '1' or ''
    elseif tv ~= 'string' then error(what .. ": invalid type " .. tv .. " for arg '" .. tostring(k) .. "'", 3) end
    if type(k) ~= 'number' and type(k) ~= 'string' then error(what .. ': invalid type ' .. type(k) .. ' for an argument name', 3) end
    t[argKey(k)] = v
  end
  return t
end

local function newFrame(frameTitle, args, parent)
  local frame = setmetatable({}, frameMeta)
  local stored = args
  frame.args = setmetatable({}, {
    __index = function (_, k) return stored[argKey(k)] end,
    __newindex = function () error('frame.args is read-only', 2) end,
    -- The arguments themselves stay out of reach (`pairs` gives no table to write to).
    __pairs = function ()
      local k
      return function ()
        local v
        k, v = next(stored, k)
        return k, v
      end
    end,
    __metatable = 'frame.args',
  })
  rawset(frame, '_title', frameTitle or 'Module:?')
  rawset(frame, '_parent', parent)
  return frame
end

function Frame:getParent()
  util.checkType('getParent', 0, self, 'table')
  return rawget(self, '_parent')
end

function Frame:getTitle()
  return rawget(self, '_title')
end

function Frame:getArgument(opt)
  local name = type(opt) == 'table' and opt.name or opt
  local value = self.args[name]
  if value == nil then return nil end
  return { expand = function () return value end }
end

function Frame:argumentPairs()
  return pairs(self.args)
end

function Frame:newChild(opt)
  checkType('newChild', 1, opt, 'table', true)
  opt = opt or {}
  local childTitle = opt.title and tostring(opt.title) or self:getTitle()
  return newFrame(childTitle, stringArgs(opt.args, 'frame:newChild'), self)
end

local function hook(name, what)
  local hooks = host.hooks
  local f = hooks and hooks[name]
  if type(f) ~= 'function' then
    error(what .. ': the host provides no ' .. name .. " function (the 'mw' option of createRunner)", 3)
  end
  return f
end

function Frame:expandTemplate(opt)
  checkType('expandTemplate', 1, opt, 'table')
  local templateTitle = opt.title
  if type(templateTitle) == 'table' and templateTitle.prefixedText then templateTitle = templateTitle.prefixedText end
  if type(templateTitle) ~= 'string' then error('frame:expandTemplate: a title is required', 2) end
  local result = hook('expandTemplate', 'frame:expandTemplate')(templateTitle, stringArgs(opt.args, 'frame:expandTemplate'), self:getTitle())
  return tostring(result or '')
end

function Frame:callParserFunction(name, args, ...)
  local fnArgs
  if type(name) == 'table' then
    fnArgs = name.args
    name = name.name
  elseif type(args) == 'table' then
    fnArgs = args
  else
    fnArgs = { args, ... }
  end
  if type(name) ~= 'string' then error('frame:callParserFunction: a function name is required', 2) end
  if type(fnArgs) ~= 'table' then fnArgs = { fnArgs } end
  local result = hook('callParserFunction', 'frame:callParserFunction')(name, stringArgs(fnArgs, 'frame:callParserFunction'), self:getTitle())
  return tostring(result or '')
end

function Frame:preprocess(opt)
  local text = type(opt) == 'table' and opt.text or opt
  if type(text) ~= 'string' then error('frame:preprocess: text is required', 2) end
  local result = hook('preprocess', 'frame:preprocess')(text, self:getTitle())
  return tostring(result or '')
end

function Frame:extensionTag(name, content, args)
  if type(name) == 'table' then
    name, content, args = name.name, name.content, name.args
  end
  if type(name) ~= 'string' then error('frame:extensionTag: a tag name is required', 2) end
  if type(args) == 'string' then args = { args } end
  local result = hook('extensionTag', 'frame:extensionTag')(name, tostring(content or ''), stringArgs(args, 'frame:extensionTag'), self:getTitle())
  return tostring(result or '')
end

function Frame:newParserValue(opt)
  local text = type(opt) == 'table' and opt.text or opt
  local frame = self
  return { expand = function () return frame:preprocess(text) end }
end

function Frame:newTemplateParserValue(opt)
  checkType('newTemplateParserValue', 1, opt, 'table')
  local frame = self
  return { expand = function () return frame:expandTemplate(opt) end }
end

function mw.getCurrentFrame()
  if not currentFrame then currentFrame = newFrame(host.title and 'Module:?' or 'Module:?', {}, nil) end
  return currentFrame
end

-- The per-call setup: `config` is what the host gave this call (lib/mw.mjs); returns the
-- frame an invoked function gets, if the call has one.
return function (config)
  host.site = config.site
  host.title = config.title
  host.language = config.language
  host.hooks = config.hooks
  host.subst = config.subst
  if config.lua51Numbers then native.numbers51() end
  local f = config.frame
  if f == nil then return nil end
  local parent
  if f.parent then
    parent = newFrame(f.parent.title, stringArgs(f.parent.args, 'frame'), nil)
  end
  currentFrame = newFrame(f.title, stringArgs(f.args, 'frame'), parent)
  return currentFrame
end
