local N = 200000
local t = {}
for i = 1, N do t[i] = tostring((i * 7919) % N) end
table.sort(t)
local s = table.concat(t, ',')
return #s .. ':' .. s:sub(1, 40) .. ':' .. s:sub(-40)
