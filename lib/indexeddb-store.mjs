// IndexedDbStore: State in the browser's IndexedDB (the default store of the system
// pubwiki-lua grew from), for pages and workers of one origin.
//
// One database per store name, one object store of { scope, key, value, expiresAt } keyed
// by [scope, key] (no key a script writes names another scope), with an index on
// expiresAt for purging. A commit is one readwrite transaction: IndexedDB applies it whole
// or not at all, also when the tab closes mid-way. Its methods return promises, so calls
// using it wait at each State request (a few µs to a few hundred, by the browser); runSync
// cannot use it.

import { StateStore } from './state.mjs'

const ENTRIES = 'entries'
const BY_EXPIRY = 'expiresAt'
/** How often (commits) expired entries are purged. */
const PURGE_EVERY = 64

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

function done(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve()
    transaction.onerror = () => reject(transaction.error)
    transaction.onabort = () => reject(transaction.error ?? new Error('the IndexedDB transaction was aborted'))
  })
}

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
      const request = indexedDB.open(this.#name, 1)
      request.onupgradeneeded = () => {
        const entries = request.result.createObjectStore(ENTRIES, { keyPath: ['scope', 'key'] })
        entries.createIndex(BY_EXPIRY, 'expiresAt')
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

  async read(scope, key) {
    const db = await this.#open()
    const entry = await promised(db.transaction(ENTRIES).objectStore(ENTRIES).get([scope, key]))
    return live(entry, Date.now()) ? entry.value : undefined
  }

  async list(scope, prefix) {
    const db = await this.#open()
    const now = Date.now()
    const found = []
    const request = db.transaction(ENTRIES).objectStore(ENTRIES).openCursor(IDBKeyRange.lowerBound([scope, prefix]))
    await new Promise((resolve, reject) => {
      request.onerror = () => reject(request.error)
      request.onsuccess = () => {
        const cursor = request.result
        // In key order: the first entry of another scope or not under the prefix ends it.
        if (!cursor || cursor.value.scope !== scope || !cursor.value.key.startsWith(prefix)) return resolve()
        if (live(cursor.value, now)) found.push([cursor.value.key, cursor.value.value])
        cursor.continue()
      }
    })
    return found
  }

  async commit(writes) {
    const db = await this.#open()
    const transaction = db.transaction(ENTRIES, 'readwrite')
    const entries = transaction.objectStore(ENTRIES)
    for (const { scope, key, value, expiresAt } of writes) {
      if (value === null) entries.delete([scope, key])
      else entries.put({ scope, key, value, expiresAt: expiresAt ?? NO_EXPIRY })
    }
    if (++this.#commits % PURGE_EVERY === 0) this.#purgeIn(entries)
    await done(transaction)
  }

  #purgeIn(entries) {
    const request = entries.index(BY_EXPIRY).openCursor(IDBKeyRange.upperBound(Date.now()))
    request.onsuccess = () => {
      const cursor = request.result
      if (!cursor) return
      cursor.delete()
      cursor.continue()
    }
  }

  /** Deletes the expired entries now (reads never see them either way). */
  async purge() {
    const db = await this.#open()
    const transaction = db.transaction(ENTRIES, 'readwrite')
    this.#purgeIn(transaction.objectStore(ENTRIES))
    await done(transaction)
  }

  /** Closes the connection (a later use opens it again). */
  async close() {
    const db = this.#db
    this.#db = null
    if (db) (await db).close()
  }
}
