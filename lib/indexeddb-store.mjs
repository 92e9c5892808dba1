// IndexedDbStore: State in the browser's IndexedDB (the default store of the system
// pubwiki-lua grew from), for pages and workers of one origin.
//
// One database per store name, one object store of { scope, key, value, expiresAt } keyed
// by [scope, key] (no key a script writes names another scope), with an index on
// expiresAt for purging. A commit is one readwrite transaction: IndexedDB applies it whole
// or not at all, also when the tab closes mid-way. Its methods return promises, so calls
// using it wait at each State request (a few µs to a few hundred, by the browser); runSync
// cannot use it.
//
// Serializable calls: each entry has a version (a counter in the object store 'meta', bumped
// once per commit), and a commit's readwrite transaction over entries, usage and meta checks
// the versions a call read before it writes: IndexedDB runs readwrite transactions over
// the same stores one at a time, so nothing comes between. 'usage' keeps the bytes and keys
// of each [scope, owner] for quotas. A database of the first version (entries only) is
// upgraded when opened: its entries keep version 0 and owner '', and their usage is counted.

import { done, promised } from './indexeddb.mjs'
import { NO_CONDITIONS, StateStore, add, conflictText, deltaOf, entrySize, quotaText, sameEntries } from './state.mjs'

const ENTRIES = 'entries'
const USAGE = 'usage'
const META = 'meta'
const BY_EXPIRY = 'expiresAt'
/** How often (commits) expired entries are purged. */
const PURGE_EVERY = 64

const NO_EXPIRY = Infinity
const live = (entry, now) => entry !== undefined && entry.expiresAt > now

export class IndexedDbStore extends StateStore {
  #name
  #db = null
  #commits = 0

  /** `name`: the IndexedDB database (made if missing). */
  constructor(name) {
    super()
    if (typeof name !== 'string' || name === '') throw new TypeError('IndexedDbStore(name): name must be a non-empty string')
    if (typeof indexedDB === 'undefined') throw new TypeError('IndexedDbStore needs IndexedDB (a browser page or worker)')
    this.#name = name
  }

  #open() {
    this.#db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(this.#name, 2)
      request.onupgradeneeded = (event) => {
        const db = request.result
        if (event.oldVersion < 1) {
          const entries = db.createObjectStore(ENTRIES, { keyPath: ['scope', 'key'] })
          entries.createIndex(BY_EXPIRY, 'expiresAt')
        }
        if (event.oldVersion < 2) {
          const usage = db.createObjectStore(USAGE, { keyPath: ['scope', 'owner'] })
          db.createObjectStore(META).put(0, 'version')
          // The entries of a first-version database count in the usage of owner ''.
          const counted = new Map()
          const cursor = request.transaction.objectStore(ENTRIES).openCursor()
          cursor.onsuccess = () => {
            const at = cursor.result
            if (!at) {
              for (const [scope, { bytes, keys }] of counted) usage.put({ scope, owner: '', bytes, keys })
              return
            }
            const { scope, key, value } = at.value
            const u = counted.get(scope) ?? { bytes: 0, keys: 0 }
            u.bytes += entrySize(key, value)
            u.keys++
            counted.set(scope, u)
            at.continue()
          }
        }
      }
      request.onsuccess = () => {
        const db = request.result
        // Another tab upgrading or deleting the database: let it, and open anew next time.
        db.onversionchange = () => {
          db.close()
          this.#db = null
        }
        resolve(db)
      }
      request.onerror = () => {
        this.#db = null
        reject(request.error)
      }
      request.onblocked = () => reject(new Error(`IndexedDB database '${this.#name}' is blocked by another connection`))
    })
    return this.#db
  }

  async readVersion(scope, key) {
    const db = await this.#open()
    const entry = await promised(db.transaction(ENTRIES).objectStore(ENTRIES).get([scope, key]))
    return live(entry, Date.now()) ? { value: entry.value, version: entry.version ?? 0 } : undefined
  }

  async read(scope, key) {
    return (await this.readVersion(scope, key))?.value
  }

  async listVersions(scope, prefix) {
    const db = await this.#open()
    return listIn(db.transaction(ENTRIES).objectStore(ENTRIES), scope, prefix, Date.now())
  }

  async list(scope, prefix) {
    return (await this.listVersions(scope, prefix)).map(([key, value]) => [key, value])
  }

  async usage(scope, owner) {
    const db = await this.#open()
    const usage = db.transaction(USAGE).objectStore(USAGE)
    if (owner !== undefined) {
      const found = await promised(usage.get([scope, owner]))
      return { bytes: found?.bytes ?? 0, keys: found?.keys ?? 0 }
    }
    const all = await promised(usage.getAll(IDBKeyRange.bound([scope, ''], [scope, []])))
    return all.reduce((sum, u) => ({ bytes: sum.bytes + u.bytes, keys: sum.keys + u.keys }), { bytes: 0, keys: 0 })
  }

  async commit(writes, conditions = NO_CONDITIONS) {
    const db = await this.#open()
    const transaction = db.transaction([ENTRIES, USAGE, META], 'readwrite')
    const finished = done(transaction)
    // (An error inside is the transaction's: it aborts, and `finished` rejects.)
    finished.catch(() => {})
    const result = await this.#apply(transaction, writes, conditions)
    if (result) {
      // (Nothing was written; the transaction may have ended already.)
      try {
        transaction.abort()
      } catch {
        // It had ended already.
      }
      await finished.catch(() => {})
      return result
    }
    await finished
    return undefined
  }

  // Inside the transaction: the checks, then the writes; a verdict if refused.
  async #apply(transaction, writes, conditions) {
    const entries = transaction.objectStore(ENTRIES)
    const usage = transaction.objectStore(USAGE)
    const meta = transaction.objectStore(META)
    const now = Date.now()
    for (const { scope, key, version } of conditions.reads) {
      const entry = await promised(entries.get([scope, key]))
      if ((live(entry, now) ? (entry.version ?? 0) : null) !== version) return { conflict: conflictText(scope, `key '${key}'`) }
    }
    for (const { scope, prefix, entries: expected } of conditions.lists) {
      const found = (await listIn(entries, scope, prefix, now)).map(([key, , version]) => [key, version])
      if (!sameEntries(expected, found)) return { conflict: conflictText(scope, `the list of '${prefix}'`) }
    }
    if (writes.length === 0) return undefined
    const deltas = new Map()
    const olds = []
    for (const { scope, key, value, owner = '' } of writes) {
      const old = await promised(entries.get([scope, key]))
      olds.push(old)
      if (old) add(deltas, scope, old.owner ?? '', -entrySize(old.key, old.value), -1)
      if (value !== null) add(deltas, scope, owner, entrySize(key, value), 1)
    }
    for (const quota of conditions.quotas) {
      const found = await promised(usage.get([quota.scope, quota.owner]))
      const text = quotaText(quota, { bytes: found?.bytes ?? 0, keys: found?.keys ?? 0 }, deltaOf(deltas, quota.scope, quota.owner))
      if (text) return { quota: text }
    }
    const version = ((await promised(meta.get('version'))) ?? 0) + 1
    meta.put(version, 'version')
    writes.forEach(({ scope, key, value, expiresAt, owner = '' }) => {
      if (value === null) entries.delete([scope, key])
      else entries.put({ scope, key, value, expiresAt: expiresAt ?? NO_EXPIRY, version, owner })
    })
    for (const [scope, owners] of deltas) {
      for (const [owner, delta] of owners) {
        const found = await promised(usage.get([scope, owner]))
        usage.put({ scope, owner, bytes: (found?.bytes ?? 0) + delta.bytes, keys: (found?.keys ?? 0) + delta.keys })
      }
    }
    if (++this.#commits % PURGE_EVERY === 0) this.#purgeIn(entries, usage)
    return undefined
  }

  #purgeIn(entries, usage) {
    const request = entries.index(BY_EXPIRY).openCursor(IDBKeyRange.upperBound(Date.now()))
    const gone = new Map()
    request.onsuccess = () => {
      const cursor = request.result
      if (!cursor) {
        // Counted out of usage, each [scope, owner] once.
        for (const [id, delta] of gone) {
          const [scope, owner] = JSON.parse(id)
          const get = usage.get([scope, owner])
          get.onsuccess = () => usage.put({ scope, owner, bytes: (get.result?.bytes ?? 0) - delta.bytes, keys: (get.result?.keys ?? 0) - delta.keys })
        }
        return
      }
      const { scope, key, value, owner = '' } = cursor.value
      const id = JSON.stringify([scope, owner])
      const delta = gone.get(id) ?? { bytes: 0, keys: 0 }
      delta.bytes += entrySize(key, value)
      delta.keys++
      gone.set(id, delta)
      cursor.delete()
      cursor.continue()
    }
  }

  /** Deletes the expired entries now (reads never see them either way). */
  async purge() {
    const db = await this.#open()
    const transaction = db.transaction([ENTRIES, USAGE], 'readwrite')
    this.#purgeIn(transaction.objectStore(ENTRIES), transaction.objectStore(USAGE))
    await done(transaction)
  }

  /** Closes the connection (a later use opens it again). */
  async close() {
    const db = this.#db
    this.#db = null
    if (db) (await db).close()
  }
}

// [key, value, version] of the live entries of `scope` under `prefix`, in key order.
function listIn(entries, scope, prefix, now) {
  const found = []
  const request = entries.openCursor(IDBKeyRange.lowerBound([scope, prefix]))
  return new Promise((resolve, reject) => {
    request.onerror = () => reject(request.error)
    request.onsuccess = () => {
      const cursor = request.result
      // In key order: the first entry of another scope or not under the prefix ends it.
      if (!cursor || cursor.value.scope !== scope || !cursor.value.key.startsWith(prefix)) return resolve(found)
      if (live(cursor.value, now)) found.push([cursor.value.key, cursor.value.value, cursor.value.version ?? 0])
      cursor.continue()
    }
  })
}
