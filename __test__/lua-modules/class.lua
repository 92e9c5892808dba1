-- A class library: classes are tables with __index chains, `new` runs `init`, subclasses
-- inherit methods and metamethods, `isinstance` walks the chain.
local Object = {}
Object.__index = Object
Object.__name = "Object"

local function copy_metamethods(from, to)
  for _, name in ipairs({ "__tostring", "__eq", "__lt", "__le", "__add", "__len", "__call", "__concat" }) do
    if rawget(from, name) ~= nil and rawget(to, name) == nil then to[name] = from[name] end
  end
end

function Object:extend(name)
  local class = {}
  for k, v in pairs(self) do
    if k:find("^__") then class[k] = v end
  end
  class.__index = class
  class.__name = name
  class.super = self
  copy_metamethods(self, class)
  return setmetatable(class, self)
end

function Object:new(...)
  local instance = setmetatable({}, self)
  if instance.init then instance:init(...) end
  return instance
end

function Object:isinstance(class)
  local mt = getmetatable(self)
  while mt do
    if rawequal(mt, class) then return true end
    mt = rawget(mt, "super")
  end
  return false
end

function Object:__tostring()
  return getmetatable(self).__name .. "()"
end

return Object
