-- Module:Row, a helper module the demo's module requires: formats an infobox row.
local p = {}

function p.row(label, value)
  return string.format("| %-8s | %s", label, value)
end

return p
