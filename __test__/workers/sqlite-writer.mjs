// A process writing State to one SQLite file through the library, for
// __test__/sqlite-store.test.mjs. `node sqlite-writer.mjs hammer DB NAME CALLS`: CALLS calls,
// each setting its own key and rewriting a shared one (after checking the shared value it
// read is whole); prints a JSON summary. `node sqlite-writer.mjs batches DB`: commits
// batches of 200 keys until killed, printing "started" after the first.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { createRunner, SqliteStore } = require('../..')

const [mode, path, name, calls] = process.argv.slice(2)
const store = new SqliteStore(path, { busyTimeout: 20_000 })
const lua = createRunner({ state: { store, namespaces: { shared: { shared: true, read: true, write: true } } } })

if (mode === 'hammer') {
  const code = `
    local name, i = ...
    State.set("own." .. name .. "." .. i, i)
    local old = State.get("shared")
    if old then
      for j = 1, 64 do if old.fields[j] ~= old.writer then error("torn value") end end
    end
    local fields = {} for j = 1, 64 do fields[j] = name .. i end
    State.set("shared", { writer = name .. i, fields = fields })
    return old and old.writer`
  let seenOther = 0
  for (let i = 1; i <= Number(calls); i++) {
    const { values } = lua.runSync(code, { scriptId: "Module:Hammer", arguments: [name, i], retries: 1000 })
    if (typeof values[0] === 'string' && !values[0].startsWith(name)) seenOther++
  }
  process.stdout.write(JSON.stringify({ done: Number(calls), seenOther }))
} else if (mode === 'batches') {
  const code = `
    local n = ...
    for j = 1, 200 do State.set(string.format("batch.%06d.%03d", n, j), n) end`
  for (let n = 1; ; n++) {
    lua.runSync(code, { scriptId: 'Module:Batches', arguments: [n] })
    if (n === 1) process.stdout.write('started\n')
  }
} else {
  throw new Error(`unknown mode ${mode}`)
}
