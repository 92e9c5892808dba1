-- A wiki-style module: render an infobox for the page named in the call's arguments,
-- with a helper module (require), page data from the host (an async function: the script
-- simply waits for it), string patterns, a sync host function, and State: a view counter
-- that outlives the call (committed only if the call succeeds).
local row = require("Module:Row").row

-- Counted first: a call that fails below (no such page) commits none of its State.
local views = (State.get("views." .. args.title) or 0) + 1
State.set("views." .. args.title, views)

local data = fetchPage(args.title)
if not data then
  error("no page called " .. args.title)
end

print("{| class=infobox")
print(row("Name", data.name))
print(row("Since", data.year))
print(row("Authors", table.concat(data.authors, ", ")))
print(row("Summary", mw.text.trim(data.summary)))
print(row("Views", views))
print("|}")
io.write("Initials: ")
for first in data.authors[1]:gmatch("%u") do io.write(first) end
print()
log("rendered " .. args.title .. " for " .. args.viewer)
return { age = args.year - data.year, authors = #data.authors }
