-- A wiki-style module: render an infobox for the page named in the call's arguments,
-- with a helper module (require), page data from the host (an async function: the script
-- simply waits for it), string patterns and a sync host function.
local row = require("Module:Row").row

local data = fetchPage(args.title)
if not data then
  error("no page called " .. args.title)
end

print("{| class=infobox")
print(row("Name", data.name))
print(row("Since", data.year))
print(row("Authors", table.concat(data.authors, ", ")))
print(row("Summary", mw.text.trim(data.summary)))
print("|}")
io.write("Initials: ")
for first in data.authors[1]:gmatch("%u") do io.write(first) end
print()
log("rendered " .. args.title .. " for " .. args.viewer)
return { age = args.year - data.year, authors = #data.authors }
