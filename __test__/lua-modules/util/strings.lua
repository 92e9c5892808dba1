local string = require("string")
local table = require("table")
local M = {}

function M.split(s, sep)
  local out = {}
  for piece in (s .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do out[#out + 1] = piece end
  return out
end

function M.trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

function M.title(s)
  return (s:gsub("(%a)([%w']*)", function(first, rest) return first:upper() .. rest:lower() end))
end

function M.join(list, sep) return table.concat(list, sep) end

return M
