// The State suite in real Chromium: MemoryStore, IndexedDbStore (a fresh database per
// store) and an async store of the host's own. That IndexedDB values survive a page
// reload is e2e/vite-app's test.
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { asyncCustomStore, asyncVersionedStore, stateSuite } from '../shared/state-suite.mjs'

await ready

let databases = 0
const prefix = `pubwiki-test-${Date.now()}`

stateSuite(lua, [
  { name: 'a MemoryStore', make: () => new lua.MemoryStore() },
  { name: 'an IndexedDbStore', make: () => new lua.IndexedDbStore(`${prefix}-${databases++}`) },
  { name: 'an async store of the host\'s own (versions, checked commits)', make: asyncVersionedStore },
  { name: 'an async store of the host\'s own (three methods: last writer wins)', make: asyncCustomStore, lww: true },
])
