// The Triples workload, shared by bench/triples.mjs (Node) and bench/browser/triples.js
// (Chromium): 10k State.insert in one call, then calls of 10 State.query by subject.

export const INSERTS = 10_000
export const QUERIES = 10

export const INSERT_CODE = `for i = 1, ${INSERTS} do State.insert('item:' .. i, 'n', i) end`
export const QUERY_CODE = `
  local base = ...
  local sum = 0
  for j = 1, ${QUERIES} do
    local found = State.query({ subject = 'item:' .. (base + j) })
    sum = sum + found[1].object
  end
  return sum`

/** The first subject a call asks for: calls spread over the 10k. */
export const baseOf = (call) => (call * 7919) % (INSERTS - QUERIES)

/** What QUERY_CODE returns for base 0. */
export const FIRST_SUM = (QUERIES * (QUERIES + 1)) / 2

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
