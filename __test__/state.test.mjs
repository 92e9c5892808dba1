// The State suite in Node, once per backend, on a MemoryStore, a SqliteStore file and an
// async store of the host's own (shared/state-suite.mjs). What only SQLite files have
// (processes sharing one, a SIGKILL mid-commit) is in __test__/sqlite-store.test.mjs.
import { afterAll } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asyncCustomStore, asyncVersionedStore, stateSuite } from './shared/state-suite.mjs'

const require = createRequire(import.meta.url)
const lua = require('..')

const folder = mkdtempSync(join(tmpdir(), 'pubwiki-state-'))
const opened = []
let files = 0
afterAll(() => {
  for (const store of opened) store.close()
  rmSync(folder, { recursive: true, force: true })
})

stateSuite(lua, [
  { name: 'a MemoryStore', make: () => new lua.MemoryStore() },
  {
    name: 'a SqliteStore',
    make: () => {
      const store = new lua.SqliteStore(join(folder, `state-${files++}.db`))
      opened.push(store)
      return store
    },
  },
  { name: 'an async store of the host\'s own (versions, checked commits)', make: asyncVersionedStore },
  { name: 'an async store of the host\'s own (three methods: last writer wins)', make: asyncCustomStore, lww: true },
])
