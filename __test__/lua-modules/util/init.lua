-- A utility collection split over modules that require each other and the standard
-- libraries by name, as Penlight's are (and reading package.config as it does).
local string = require("string")
local strings = require("util.strings")
local tables = require("util.tables")
local functional = require("util.functional")

local dirsep = package.config:sub(1, 1)

return {
  strings = strings,
  tables = tables,
  functional = functional,
  path = function(...) return table.concat({ ... }, dirsep) end,
  version = string.format("util %d.%d", 1, 2),
}
