// The State suite in real Chromium: MemoryStore, IndexedDbStore (a fresh database per
// store) and an async store of the host's own. That IndexedDB values survive a page
// reload is e2e/vite-app's test.
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { describe, expect, it } from 'vitest'
import { encodeStored } from '../../lib/state-codec.mjs'
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

describe('IndexedDbStore', () => {
  it('opens a database of the first version (entries only) and upgrades it', async () => {
    const name = `${prefix}-old`
    // The database as the first version of IndexedDbStore made it.
    await new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1)
      request.onupgradeneeded = () => {
        const entries = request.result.createObjectStore('entries', { keyPath: ['scope', 'key'] })
        entries.createIndex('expiresAt', 'expiresAt')
        entries.put({ scope: 'Module:Counter', key: 'visits', value: encodeStored(41), expiresAt: Infinity })
      }
      request.onsuccess = () => (request.result.close(), resolve())
      request.onerror = () => reject(request.error)
    })
    const store = new lua.IndexedDbStore(name)
    expect(await store.get('Module:Counter', 'visits')).toBe(41)
    expect(await store.usage('Module:Counter')).toEqual({ bytes: 6 + encodeStored(41).length, keys: 1 })
    const runner = lua.createRunner({ state: { store }, retries: 100 })
    await Promise.all(Array.from({ length: 10 }, () => runner.run('State.set("visits", (State.get("visits") or 0) + 1)', { scriptId: 'Module:Counter' })))
    expect(await store.get('Module:Counter', 'visits')).toBe(51)
    await store.close()
  })
})
