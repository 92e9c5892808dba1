-- Module:Infobox, a wiki module as Scribunto runs them: `p.main(frame)` renders an infobox
-- for the page named in its arguments (frame.args, and the template's own arguments from
-- frame:getParent()), with a helper module (require), data from the host (an async
-- function: the script simply waits for it), Scribunto's mw (mw.html, mw.ustring,
-- mw.text, mw.log, a template the host expands), and State: a view counter that outlives
-- the call (committed only if the call succeeds).
local row = require("Module:Row").row
local p = {}

function p.main(frame)
  local args = frame.args
  local title = args.title or frame:getParent().args[1]

  -- Counted first: a call that fails below (no such page) commits none of its State.
  local views = (State.get("views." .. title) or 0) + 1
  State.set("views." .. title, views)

  local data = fetchPage(title)
  if not data then
    error("no page called " .. title)
  end

  local box = mw.html.create("table"):addClass("infobox"):css("width", "22em")
  box:tag("caption"):wikitext(mw.ustring.upper(data.name))
  box:node(row("Since", data.year))
    :node(row("Authors", mw.text.listToText(data.authors)))
    :node(row("Summary", mw.text.trim(data.summary)))
    :node(row("Views", views))
  local initials = {}
  for first in mw.ustring.gmatch(table.concat(data.authors, " "), "%u") do
    initials[#initials + 1] = first
  end
  mw.log("rendered " .. title .. " for " .. args.viewer)
  return tostring(box) .. "\n" .. frame:expandTemplate{ title = "Initials", args = { table.concat(initials) } }
    .. "\nage: " .. (args.year - data.year)
end

return p
