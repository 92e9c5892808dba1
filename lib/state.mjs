// The host half of `State` (crates/core/src/script_state.rs is the script's): where a
// key lives, who may use it, the call's buffered writes, and the stores. No Node
// built-ins (SqliteStore is lib/sqlite-store.mjs, IndexedDbStore lib/indexeddb-store.mjs).
//
// Where keys live: a store holds entries by (scope, key). A script's own keys are in the
// scope of its scriptId, so no key it can write (`../x`, `other/x`, NUL bytes) is another
// script's: the scope is not part of the key. A key equal to or under a shared namespace
// the host declared (`global.events`, `global.events.boss`) lives in the shared scope `''`
// (no scriptId is empty), and the namespace's permissions say whether the script may read,
// write or delete it.
//
// A call's writes and deletes wait in its session (its own reads see them) and go to the
// store in one commit when the call succeeds; a call that fails commits nothing. A call's
// first read of a key goes to the store (read-committed), and later reads of it in the
// same call give the same value (repeatable per key, and one database lookup or wait per
// key, not per get; lists always go to the store). Concurrent calls: the last commit wins
// per key; a value is one entry, written whole.

import { isThenable } from './util.mjs'
import { STATE_DONE_REPLY, decodeStored, encodeStored, stateListReply, stateValueReply } from './state-codec.mjs'

/** The scope of keys under shared namespaces. */
const SHARED_SCOPE = ''

/**
 * What a store implements (read, list and commit; sync or async), and what every store
 * then offers hosts: get, set, delete and entries, in JS values.
 *
 * - `read(scope, key)`: the stored bytes, or undefined (also once expired).
 * - `list(scope, prefix)`: [key, bytes] of the unexpired entries whose key starts with
 *   `prefix`.
 * - `commit(writes)`: applies every write or none: { scope, key, value (bytes, or null to
 *   delete), expiresAt (ms since the epoch, or null) }.
 * - `synchronous`: true if the three never return promises (then `runSync` can use it).
 */
export class StateStore {
  get synchronous() {
    return false
  }

  /** The value a script stored (as return values are converted), or undefined. */
  get(scope, key) {
    return then(this.read(scope, key), (stored) => (stored ? decodeStored(stored) : undefined))
  }

  /** Stores `value` (converted as globals are) for `key` in `scope`; `ttl` in seconds. */
  set(scope, key, value, { ttl } = {}) {
    const expiresAt = ttl === undefined ? null : Date.now() + ttl * 1000
    return this.commit([{ scope, key, value: encodeStored(value), expiresAt }])
  }

  delete(scope, key) {
    return this.commit([{ scope, key, value: null, expiresAt: null }])
  }

  /** [key, value] of the entries of `scope` under `prefix`. */
  entries(scope, prefix = '') {
    return then(this.list(scope, prefix), (entries) => entries.map(([key, stored]) => [key, decodeStored(stored)]))
  }
}

/** `f(value)`, after `value` if it is a promise. */
function then(value, f) {
  return isThenable(value) ? Promise.resolve(value).then(f) : f(value)
}

const expired = (entry, now) => entry.expiresAt !== null && entry.expiresAt <= now

/** A store in this process's memory (the default of `state: true`): for tests and one-off runs. */
export class MemoryStore extends StateStore {
  #scopes = new Map()

  get synchronous() {
    return true
  }

  read(scope, key) {
    const entries = this.#scopes.get(scope)
    const entry = entries?.get(key)
    if (!entry) return undefined
    if (expired(entry, Date.now())) {
      entries.delete(key)
      return undefined
    }
    return entry.value
  }

  list(scope, prefix) {
    const entries = this.#scopes.get(scope)
    if (!entries) return []
    const now = Date.now()
    const found = []
    for (const [key, entry] of entries) {
      if (expired(entry, now)) entries.delete(key)
      else if (key.startsWith(prefix)) found.push([key, entry.value])
    }
    return found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  commit(writes) {
    for (const { scope, key, value, expiresAt } of writes) {
      if (value === null) {
        this.#scopes.get(scope)?.delete(key)
        continue
      }
      if (!this.#scopes.has(scope)) this.#scopes.set(scope, new Map())
      this.#scopes.get(scope).set(key, { value: value.slice(), expiresAt: expiresAt ?? null })
    }
  }
}

/** Checks a `state` option; returns { store, namespaces } or undefined. */
export function checkState(state, name) {
  if (state === undefined || state === false) return undefined
  if (state === true) return { store: undefined, namespaces: undefined }
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw new TypeError(`${name}.state must be true or an object { store, namespaces }`)
  }
  for (const key of Object.keys(state)) {
    if (key !== 'store' && key !== 'namespaces') throw new TypeError(`${name}.state.${key} is not an option (expected store, namespaces)`)
  }
  const { store, namespaces } = state
  if (store !== undefined && !['read', 'list', 'commit'].every((method) => typeof store?.[method] === 'function')) {
    throw new TypeError(`${name}.state.store must have read, list and commit methods`)
  }
  if (namespaces !== undefined && typeof namespaces !== 'function' && (namespaces === null || typeof namespaces !== 'object')) {
    throw new TypeError(`${name}.state.namespaces must be an object or a function of the scriptId`)
  }
  return { store, namespaces }
}

/** The namespaces a script gets: name -> { read, write, delete }, the shared ones only. */
function sharedNamespaces(namespaces, scriptId) {
  const given = typeof namespaces === 'function' ? namespaces(scriptId) : namespaces
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new TypeError(`state.namespaces(scriptId) must return an object of namespaces, got ${given === null ? 'null' : typeof given}`)
  }
  const shared = []
  for (const [name, rules] of Object.entries(given ?? {})) {
    if (rules === null || typeof rules !== 'object') {
      throw new TypeError(`state.namespaces['${name}'] must be an object { shared, read, write, delete }`)
    }
    if (name === '') throw new TypeError('state.namespaces: a namespace name must not be empty')
    // A namespace that is not shared is the script's own keys, as any other key.
    if (rules.shared !== true) continue
    shared.push({ name, read: rules.read === true, write: rules.write === true, delete: rules.delete === true })
  }
  // The longest name first: a key belongs to the innermost namespace around it.
  return shared.sort((a, b) => b.name.length - a.name.length)
}

/** Bytes of values (and keys) a call keeps of its reads. */
const READ_CACHE_BYTES = 1 << 20

const VERBS = { get: 'read', list: 'read', set: 'write', delete: 'delete' }

/** One call's view of the state: scoping, permissions, buffered writes. */
export class StateSession {
  /**
   * `replyLimit`: bytes of a reply that could still fit in the call's state (api.mjs
   * encodeLimit); `writeLimit`: bytes of writes the call may buffer (its memory limit:
   * they wait outside its state, so they get a budget of their own).
   */
  constructor(store, scriptId, namespaces, { replyLimit = Infinity, writeLimit = Infinity } = {}) {
    this.store = store
    this.replyLimit = replyLimit
    this.writeLimit = writeLimit
    this.writeBytes = 0
    this.scriptId = scriptId
    this.namespaces = sharedNamespaces(namespaces, scriptId)
    /** Writes not committed yet, by scope and key. */
    this.writes = new Map()
    /** What the store gave for each key read (null: nothing), up to READ_CACHE_BYTES. */
    this.reads = new Map()
    this.readBytes = 0
  }

  /** The innermost namespace of `key`, if it is in one. */
  namespaceOf(key) {
    return this.namespaces.find(({ name }) => key === name || key.startsWith(`${name}.`))
  }

  // The scope of `key`, checking that `op` is allowed there.
  scopeOf(op, key) {
    const namespace = this.namespaceOf(key)
    if (!namespace) return this.scriptId
    const verb = VERBS[op]
    if (!namespace[verb]) {
      const may = { read: 'read', write: 'written', delete: 'deleted from' }[verb]
      throw new Error(`State.${op}: namespace '${namespace.name}' may not be ${may} by ${this.scriptId}`)
    }
    return SHARED_SCOPE
  }

  /** The reply (bytes, or a promise of them) to a request of State (wire.mjs decodeStateRequest). */
  request({ op, key, value, ttl }) {
    if (op === 'list') return this.list(key)
    const scope = this.scopeOf(op, key)
    const id = `${scope}\0${key}`
    switch (op) {
      case 'get': {
        const write = this.writes.get(id)
        if (write) return stateValueReply(write.value !== null && !expired(write, Date.now()) ? write.value : undefined)
        const read = this.reads.get(id)
        if (read !== undefined) return stateValueReply(read)
        return then(this.store.read(scope, key), (stored) => {
          this.remember(id, stored)
          return stateValueReply(stored)
        })
      }
      case 'set':
        this.buffer(id, { scope, key, value, expiresAt: ttl === null ? null : Date.now() + ttl * 1000 })
        return STATE_DONE_REPLY
      case 'delete':
        this.buffer(id, { scope, key, value: null, expiresAt: null })
        return STATE_DONE_REPLY
      default:
        throw new Error(`State: unknown request ${op}`)
    }
  }

  // `State.list(prefix)`: the keys under `prefix` that `State.get` would read, its own and
  // those of shared namespaces it may read (an unreadable namespace around the prefix is an
  // error, as for get; unreadable ones inside it are left out).
  list(prefix) {
    const around = this.namespaceOf(prefix)
    if (around) this.scopeOf('list', prefix)
    const own = around ? [] : this.store.list(this.scriptId, prefix)
    const overlaps = this.namespaces.some(({ name, read }) => read && (name.startsWith(prefix) || prefix.startsWith(`${name}.`) || prefix === name))
    const shared = overlaps ? this.store.list(SHARED_SCOPE, prefix) : []
    return then(own, (own) =>
      then(shared, (shared) => {
        const entries = new Map()
        // A private key under a namespace is not one get() reads (the namespace was
        // declared after it was written).
        for (const [key, stored] of this.merge(this.scriptId, prefix, own)) if (!this.namespaceOf(key)) entries.set(key, stored)
        for (const [key, stored] of this.merge(SHARED_SCOPE, prefix, shared)) if (this.namespaceOf(key)?.read) entries.set(key, stored)
        return stateListReply([...entries], this.replyLimit)
      }),
    )
  }

  // Buffers a write until the commit, within the call's budget for them.
  buffer(id, write) {
    const size = (write) => (write ? id.length + (write.value?.length ?? 0) : 0)
    const bytes = this.writeBytes - size(this.writes.get(id)) + size(write)
    if (bytes > this.writeLimit) {
      throw new Error(`State.${write.value === null ? 'delete' : 'set'}: the call's writes would pass its memory limit (${this.writeLimit} bytes)`)
    }
    this.writeBytes = bytes
    this.writes.set(id, write)
  }

  // Keeps what a read gave, so that the call reads each key from the store once (a store
  // read costs a database lookup, or a wait for an async store), within a bound: values
  // held here are outside the call's memory limit.
  remember(id, stored) {
    const size = stored ? stored.length : 0
    if (this.readBytes + size + id.length > READ_CACHE_BYTES) return
    this.readBytes += size + id.length
    this.reads.set(id, stored ?? null)
  }

  // The store's entries of `scope` under `prefix` with this call's writes applied.
  merge(scope, prefix, stored) {
    const entries = new Map(stored)
    const now = Date.now()
    for (const write of this.writes.values()) {
      if (write.scope !== scope || !write.key.startsWith(prefix)) continue
      if (write.value === null || expired(write, now)) entries.delete(write.key)
      else entries.set(write.key, write.value)
    }
    return entries
  }

  /** Commits the call's writes in one store transaction (nothing to do for none). */
  commit() {
    if (this.writes.size === 0) return undefined
    const writes = [...this.writes.values()]
    this.writes.clear()
    return this.store.commit(writes)
  }
}
