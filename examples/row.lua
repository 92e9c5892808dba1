-- Module:Row, a helper module the demo's module requires: an infobox row, built with mw.html.
local p = {}

function p.row(label, value)
  local tr = mw.html.create("tr")
  tr:tag("th"):wikitext(label)
  tr:tag("td"):wikitext(value)
  return tr
end

return p
