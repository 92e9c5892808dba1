-- A wiki-style module: render an infobox from data, with a helper and a string pattern.
local data = { name = "Lua", year = 1993, authors = { "Roberto Ierusalimschy", "Luiz Henrique de Figueiredo", "Waldemar Celes" } }

local function row(label, value)
  return string.format("| %-8s | %s", label, value)
end

print("{| class=infobox")
print(row("Name", data.name))
print(row("Since", data.year))
print(row("Authors", table.concat(data.authors, ", ")))
print("|}")
io.write("Initials: ")
for first in ("Roberto Ierusalimschy"):gmatch("%u") do io.write(first) end
print()
return { age = 2026 - data.year, authors = #data.authors }
