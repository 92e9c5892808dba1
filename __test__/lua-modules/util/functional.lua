local M = {}

function M.map(t, f)
  local out = {}
  for i, v in ipairs(t) do out[i] = f(v, i) end
  return out
end

function M.reduce(t, f, acc)
  for _, v in ipairs(t) do acc = f(acc, v) end
  return acc
end

function M.compose(...)
  local fs = { ... }
  return function(...)
    local results = table.pack(...)
    for i = #fs, 1, -1 do results = table.pack(fs[i](table.unpack(results, 1, results.n))) end
    return table.unpack(results, 1, results.n)
  end
end

return M
