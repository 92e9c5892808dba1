// The host half of `State` (crates/core/src/script_state.rs is the script's): where a
// key lives, who may use it, the call's buffered writes, and the stores. No Node
// built-ins (SqliteStore is lib/sqlite-store.mjs, IndexedDbStore lib/indexeddb-store.mjs,
// PostgresStore lib/postgres-store.mjs, RedisStore lib/redis-store.mjs).
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
// first read of a key goes to the store, and later reads of it in the same call give the
// same value (one database lookup or wait per key, not per get).
//
// Serializable calls (optimistic concurrency): a store that keeps versions (every store
// here; the protocol below) gives each read a version, the session notes the version of
// every key it read and the versions of every entry each `State.list` returned, and the
// commit hands them to the store, which applies the writes only if none of them changed
// meanwhile, in the same transaction. So a call that commits read nothing that another
// commit changed before it: calls are serializable, in commit order. A call whose checks
// fail commits nothing, and the runner runs it again (lib/retry.mjs). A call that read
// nothing (blind writes) has nothing to check and never conflicts; one that wrote nothing
// and read at most one key or list saw one snapshot, and asks the store nothing at its end.
// A store of the older three-method protocol (read, list, commit(writes)) still works: its
// commits are applied unchecked, the last commit winning per key.
//
// Quotas: each scope's entries (a script's own keys; each shared namespace, the
// namespace's keys in the shared scope) may be held to a number of bytes (key and value)
// and of keys. A store counts each (scope, owner)'s usage in the commit's transaction
// (owner: '' for a script's own keys, the namespace's name for shared ones) and refuses a
// commit that would take one past its quota.

import { isThenable } from './util.mjs'
import { STATE_DONE_REPLY, decodeStored, encodeStored, stateListReply, stateValueReply } from './state-codec.mjs'

/** The scope of keys under shared namespaces. */
const SHARED_SCOPE = ''

/**
 * What a store implements (sync, or async returning promises), and what every store
 * then offers hosts: get, set, delete and entries, in JS values.
 *
 * The three methods every store has:
 * - `read(scope, key)`: the stored bytes, or undefined (also once expired).
 * - `list(scope, prefix)`: [key, bytes] of the unexpired entries whose key starts with
 *   `prefix`.
 * - `commit(writes)`: applies every write or none: { scope, key, value (bytes, or null to
 *   delete), expiresAt (ms since the epoch, or null), owner }.
 * - `synchronous`: true if the methods never return promises (then `runSync` can use it).
 *
 * A store that makes calls serializable (every store of this package) also has:
 * - `readVersion(scope, key)`: { value, version } or undefined. A version is a number or
 *   a string that changes whenever the entry does (and is never reused for the key, so an
 *   entry deleted and written again has a new one); the session compares them with ===.
 * - `listVersions(scope, prefix)`: [key, bytes, version] of the unexpired entries under
 *   `prefix`, in key order.
 * - `commit(writes, conditions)`, with conditions { reads: [{ scope, key, version }]
 *   (version null: the key was absent), lists: [{ scope, prefix, entries: [[key,
 *   version], ...] }], quotas: [{ scope, owner, bytes, keys }] }: in one transaction,
 *   checks that every read key still has the version read and every list would return
 *   the same keys and versions, applies the writes, and checks each quota (a limit of
 *   null is none) for the (scope, owner)s written whose usage grows; returns undefined
 *   when committed, or { conflict: text } or { quota: text } having written nothing.
 *   Writes may be empty (a check only).
 * - `usage(scope, owner?)`: { bytes, keys } of the entries in `scope` (of `owner` only, if
 *   given: '' for a script's own keys, a namespace's name for the shared scope's), expired
 *   ones not yet purged included. Bytes are a key's UTF-8 bytes plus its value's.
 * - optionally `callStarts()`: a call is about to read (its reads see what is committed
 *   now; SqliteStore groups a call's reads in one read transaction).
 */
export class StateStore {
  get synchronous() {
    return false
  }

  /** The value a script stored (as return values are converted), or undefined. */
  get(scope, key) {
    return then(this.read(scope, key), (stored) => (stored ? decodeStored(stored) : undefined))
  }

  /**
   * Stores `value` (converted as globals are) for `key` in `scope`; `ttl` in seconds;
   * `owner`: whose usage it counts in ('' for a script's own keys, a namespace's name).
   * The host's writes are blind (they check nothing) and hold to no quota.
   */
  set(scope, key, value, { ttl, owner = '' } = {}) {
    const expiresAt = ttl === undefined ? null : Date.now() + ttl * 1000
    return this.commit([{ scope, key, value: encodeStored(value), expiresAt, owner }])
  }

  delete(scope, key) {
    return this.commit([{ scope, key, value: null, expiresAt: null, owner: '' }])
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

/** Bytes of `text` in UTF-8 (lone surrogates as the 3 bytes of U+FFFD). */
function utf8Length(text) {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2
      i++
    } else n += 2
  }
  return n
}

/** What an entry counts in its scope's usage: its key's UTF-8 bytes and its value's. */
export const entrySize = (key, value) => utf8Length(key) + value.length

/** No conditions: a blind commit (the host's, or an old store's call). */
export const NO_CONDITIONS = Object.freeze({ reads: [], lists: [], quotas: [] })

/** How a check failed, in words: which key or list another commit changed. */
export function conflictText(scope, what) {
  return `${what} in ${scope === SHARED_SCOPE ? 'the shared scope' : `scope '${scope}'`} changed after this call read it`
}

/**
 * The quota a commit would pass, in words, or undefined: `usage` is the (scope, owner)'s
 * before it, `delta` what it adds; only a commit that grows a usage past its limit fails (one
 * that shrinks it is fine, even above a limit lowered since).
 */
export function quotaText({ scope, owner, bytes, keys }, usage, delta) {
  const where = owner ? `namespace '${owner}'` : `the keys of ${scope}`
  if (bytes !== null && bytes !== undefined && delta.bytes > 0 && usage.bytes + delta.bytes > bytes) {
    return `State: the call's writes would take ${where} to ${usage.bytes + delta.bytes} bytes, past its quota of ${bytes}`
  }
  if (keys !== null && keys !== undefined && delta.keys > 0 && usage.keys + delta.keys > keys) {
    return `State: the call's writes would take ${where} to ${usage.keys + delta.keys} keys, past its quota of ${keys}`
  }
  return undefined
}

/**
 * A server-side commit's answer (PostgresStore's function, RedisStore's script) as the
 * store protocol's: null when applied, 'r<i>' (read i changed), 'l<i>' (list i changed),
 * 'q<i>:<bytes>:<keys>' (quota i passed: the usage it would have had).
 */
export function verdict(result, { reads, lists, quotas }) {
  if (result === null || result === undefined) return undefined
  const [what, ...rest] = [result[0], ...result.slice(1).split(':')]
  const index = Number(rest[0]) - 1
  if (what === 'r') return { conflict: conflictText(reads[index].scope, `key '${reads[index].key}'`) }
  if (what === 'l') return { conflict: conflictText(lists[index].scope, `the list of '${lists[index].prefix}'`) }
  const { scope, owner, bytes: maxBytes, keys: maxKeys } = quotas[index]
  const where = owner ? `namespace '${owner}'` : `the keys of ${scope}`
  const [usedBytes, usedKeys] = [Number(rest[1]), Number(rest[2])]
  return {
    quota: maxBytes !== null && usedBytes > maxBytes
      ? `State: the call's writes would take ${where} to ${usedBytes} bytes, past its quota of ${maxBytes}`
      : `State: the call's writes would take ${where} to ${usedKeys} keys, past its quota of ${maxKeys}`,
  }
}

/** Whether two lists of [key, version] are the same. */
export function sameEntries(expected, found) {
  if (expected.length !== found.length) return false
  for (let i = 0; i < expected.length; i++) {
    if (expected[i][0] !== found[i][0] || expected[i][1] !== found[i][1]) return false
  }
  return true
}

const byKey = ([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * A store in this process's memory (the default of `state: true`): for tests and one-off
 * runs, and for several calls in flight in one process. Its commits are synchronous, so
 * checking and applying one is atomic by construction; versions come from one counter.
 */
export class MemoryStore extends StateStore {
  /** scope -> key -> { value, expiresAt, version, owner, size } */
  #scopes = new Map()
  /** scope -> owner -> { bytes, keys } */
  #usage = new Map()
  #version = 0

  get synchronous() {
    return true
  }

  // The live entry, dropping it if it expired.
  #live(scope, key, now = Date.now()) {
    const entry = this.#scopes.get(scope)?.get(key)
    if (!entry) return undefined
    if (expired(entry, now)) {
      this.#drop(scope, key, entry)
      return undefined
    }
    return entry
  }

  #count(scope, owner, bytes, keys) {
    let owners = this.#usage.get(scope)
    if (!owners) this.#usage.set(scope, (owners = new Map()))
    const usage = owners.get(owner) ?? { bytes: 0, keys: 0 }
    usage.bytes += bytes
    usage.keys += keys
    owners.set(owner, usage)
  }

  #drop(scope, key, entry) {
    this.#scopes.get(scope).delete(key)
    this.#count(scope, entry.owner, -entry.size, -1)
  }

  readVersion(scope, key) {
    const entry = this.#live(scope, key)
    return entry && { value: entry.value, version: entry.version }
  }

  read(scope, key) {
    return this.#live(scope, key)?.value
  }

  listVersions(scope, prefix) {
    const entries = this.#scopes.get(scope)
    if (!entries) return []
    const now = Date.now()
    const found = []
    for (const [key, entry] of entries) {
      if (expired(entry, now)) this.#drop(scope, key, entry)
      else if (key.startsWith(prefix)) found.push([key, entry.value, entry.version])
    }
    return found.sort(byKey)
  }

  list(scope, prefix) {
    return this.listVersions(scope, prefix).map(([key, value]) => [key, value])
  }

  usage(scope, owner) {
    this.purge(scope)
    const owners = this.#usage.get(scope)
    if (owner !== undefined) return { ...(owners?.get(owner) ?? { bytes: 0, keys: 0 }) }
    const total = { bytes: 0, keys: 0 }
    for (const usage of owners?.values() ?? []) {
      total.bytes += usage.bytes
      total.keys += usage.keys
    }
    return total
  }

  commit(writes, conditions = NO_CONDITIONS) {
    const now = Date.now()
    for (const { scope, key, version } of conditions.reads) {
      if ((this.#live(scope, key, now)?.version ?? null) !== version) return { conflict: conflictText(scope, `key '${key}'`) }
    }
    for (const { scope, prefix, entries } of conditions.lists) {
      const found = this.listVersions(scope, prefix).map(([key, , version]) => [key, version])
      if (!sameEntries(entries, found)) return { conflict: conflictText(scope, `the list of '${prefix}'`) }
    }
    if (conditions.quotas.length) {
      const deltas = new Map()
      for (const { scope, key, value, owner = '' } of writes) {
        const old = this.#live(scope, key, now)
        if (old) add(deltas, scope, old.owner, -old.size, -1)
        if (value !== null) add(deltas, scope, owner, entrySize(key, value), 1)
      }
      for (const quota of conditions.quotas) {
        const text = quotaText(quota, this.usage(quota.scope, quota.owner), deltaOf(deltas, quota.scope, quota.owner))
        if (text) return { quota: text }
      }
    }
    const version = ++this.#version
    for (const { scope, key, value, expiresAt, owner = '' } of writes) {
      const old = this.#scopes.get(scope)?.get(key)
      if (old) this.#drop(scope, key, old)
      if (value === null) continue
      if (!this.#scopes.has(scope)) this.#scopes.set(scope, new Map())
      const size = entrySize(key, value)
      this.#scopes.get(scope).set(key, { value: value.slice(), expiresAt: expiresAt ?? null, version, owner, size })
      this.#count(scope, owner, size, 1)
    }
    return undefined
  }

  /** Drops expired entries (of `scope` only, if given). */
  purge(scope) {
    const now = Date.now()
    for (const [name, entries] of this.#scopes) {
      if (scope !== undefined && name !== scope) continue
      for (const [key, entry] of entries) if (expired(entry, now)) this.#drop(name, key, entry)
    }
  }
}

/** Adds to the (scope, owner) delta in `deltas`. */
export function add(deltas, scope, owner, bytes, keys) {
  let owners = deltas.get(scope)
  if (!owners) deltas.set(scope, (owners = new Map()))
  const delta = owners.get(owner) ?? { bytes: 0, keys: 0 }
  delta.bytes += bytes
  delta.keys += keys
  owners.set(owner, delta)
}

export const deltaOf = (deltas, scope, owner) => deltas.get(scope)?.get(owner) ?? { bytes: 0, keys: 0 }

const QUOTA_FIELDS = ['bytes', 'keys']

/** Checks a quota option ({ bytes, keys }, each a whole number or absent). */
function checkQuota(quota, name) {
  if (quota === undefined) return undefined
  if (quota === null || typeof quota !== 'object' || Array.isArray(quota)) throw new TypeError(`${name} must be an object { bytes, keys }`)
  for (const key of Object.keys(quota)) {
    if (!QUOTA_FIELDS.includes(key)) throw new TypeError(`${name}.${key} is not an option (expected bytes, keys)`)
    if (quota[key] !== undefined && (!Number.isSafeInteger(quota[key]) || quota[key] < 0)) {
      throw new TypeError(`${name}.${key} must be a whole number >= 0`)
    }
  }
  return { bytes: quota.bytes ?? null, keys: quota.keys ?? null }
}

/** Checks a `state` option; returns { store, namespaces, quota } or undefined. */
export function checkState(state, name) {
  if (state === undefined || state === false) return undefined
  if (state === true) return { store: undefined, namespaces: undefined, quota: undefined }
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw new TypeError(`${name}.state must be true or an object { store, namespaces, quota }`)
  }
  for (const key of Object.keys(state)) {
    if (key !== 'store' && key !== 'namespaces' && key !== 'quota') {
      throw new TypeError(`${name}.state.${key} is not an option (expected store, namespaces, quota)`)
    }
  }
  const { store, namespaces } = state
  if (store !== undefined && !['read', 'list', 'commit'].every((method) => typeof store?.[method] === 'function')) {
    throw new TypeError(`${name}.state.store must have read, list and commit methods`)
  }
  if (namespaces !== undefined && typeof namespaces !== 'function' && (namespaces === null || typeof namespaces !== 'object')) {
    throw new TypeError(`${name}.state.namespaces must be an object or a function of the scriptId`)
  }
  const quota = checkQuota(state.quota, `${name}.state.quota`)
  if (quota && store !== undefined && !serializable(store)) {
    throw new TypeError(`${name}.state.quota needs a store that counts usage (readVersion, listVersions, usage): this store has none`)
  }
  return { store, namespaces, quota }
}

/** Whether `store` has the serializable protocol (versions, checked commits, usage). */
const serializable = (store) =>
  typeof store.readVersion === 'function' && typeof store.listVersions === 'function' && typeof store.usage === 'function'

/** The namespaces a script gets: name -> { read, write, delete, quota }, the shared ones only. */
function sharedNamespaces(namespaces, scriptId) {
  const given = typeof namespaces === 'function' ? namespaces(scriptId) : namespaces
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw new TypeError(`state.namespaces(scriptId) must return an object of namespaces, got ${given === null ? 'null' : typeof given}`)
  }
  const shared = []
  for (const [name, rules] of Object.entries(given ?? {})) {
    if (rules === null || typeof rules !== 'object') {
      throw new TypeError(`state.namespaces['${name}'] must be an object { shared, read, write, delete, quota }`)
    }
    if (name === '') throw new TypeError('state.namespaces: a namespace name must not be empty')
    // A namespace that is not shared is the script's own keys, as any other key.
    if (rules.shared !== true) continue
    const quota = checkQuota(rules.quota, `state.namespaces['${name}'].quota`)
    shared.push({ name, read: rules.read === true, write: rules.write === true, delete: rules.delete === true, quota })
  }
  // The longest name first: a key belongs to the innermost namespace around it.
  return shared.sort((a, b) => b.name.length - a.name.length)
}

/** Bytes of values (and keys) a call keeps of its reads. */
const READ_CACHE_BYTES = 1 << 20

const VERBS = { get: 'read', list: 'read', set: 'write', delete: 'delete' }

/** What a store's commit said (undefined: committed); a store of the old protocol says nothing. */
const committed = (result) => result === undefined || result === null || result === true

/**
 * A store's cache of entries read by earlier calls in this process (the `readCache` option
 * of PostgresStore and RedisStore): a call reads a cached key without asking the database,
 * and the commit checks its version as for any read, so a stale one makes the call a
 * conflict (run again, the cache forgotten for what it read), never a wrong commit. A call
 * that used it is always checked, even one that only read. Keys that conflicted are not
 * cached for a second (hot keys change under every cache). Bounded in bytes, oldest first out.
 */
export class ReadCache {
  #entries = new Map()
  #hot = new Map()
  #bytes = 0

  constructor(maxBytes = 16 << 20) {
    this.maxBytes = maxBytes
  }

  /** { value, version } cached for the id, or undefined. */
  get(id) {
    return this.#entries.get(id)
  }

  put(id, entry) {
    const until = this.#hot.get(id)
    if (until !== undefined) {
      if (until > Date.now()) return
      this.#hot.delete(id)
    }
    this.forget(id)
    const size = id.length + (entry?.value?.length ?? 0)
    if (size > this.maxBytes / 16) return
    this.#entries.set(id, entry ?? null)
    this.#bytes += size
    for (const [old, cached] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break
      this.forget(old, cached)
    }
  }

  forget(id) {
    if (!this.#entries.has(id)) return
    const cached = this.#entries.get(id)
    this.#entries.delete(id)
    this.#bytes -= id.length + (cached?.value?.length ?? 0)
  }

  /** Forgets the ids and caches none of them for `ms`. */
  cool(ids, ms = 1000) {
    const until = Date.now() + ms
    for (const id of ids) {
      this.forget(id)
      this.#hot.set(id, until)
    }
    if (this.#hot.size > 10_000) for (const [id, time] of this.#hot) if (time <= Date.now()) this.#hot.delete(id)
  }
}

/** One call's view of the state: scoping, permissions, buffered writes, what it read. */
export class StateSession {
  /**
   * `replyLimit`: bytes of a reply that could still fit in the call's state (api.mjs
   * encodeLimit); `writeLimit`: bytes of writes the call may buffer (its memory limit:
   * they wait outside its state, so they get a budget of their own); `quota`: the limit
   * of each scope ({ bytes, keys }) for namespaces without one of their own and the
   * script's own keys.
   */
  constructor(store, scriptId, namespaces, { replyLimit = Infinity, writeLimit = Infinity, quota } = {}) {
    this.store = store
    this.serializable = serializable(store)
    this.replyLimit = replyLimit
    this.writeLimit = writeLimit
    this.writeBytes = 0
    this.scriptId = scriptId
    this.namespaces = sharedNamespaces(namespaces, scriptId)
    this.quota = quota
    if (!this.serializable && (quota || this.namespaces.some((namespace) => namespace.quota))) {
      throw new TypeError('state quotas need a store that counts usage (readVersion, listVersions, usage): this store has none')
    }
    /** Writes not committed yet, by scope and key. */
    this.writes = new Map()
    /** What the store gave for each key read (null: nothing), up to READ_CACHE_BYTES. */
    this.reads = new Map()
    this.readBytes = 0
    /** The version of each key read (its first read), for the commit's checks: id -> { scope, key, version }. */
    this.versions = new Map()
    /** Each list read from the store: { scope, prefix, entries: [[key, version]] }. */
    this.lists = []
    /** How many times the call asked the store for data. */
    this.storeReads = 0
    /** Whether the store was told that this call reads (`callStarts`). */
    this.reading = false
    /** The store's cache of earlier calls' reads (ReadCache), and how often the call used it. */
    this.cache = this.serializable && store.readCache instanceof ReadCache ? store.readCache : undefined
    this.cachedReads = 0
    /** Set when a read saw a key change under the call: it cannot commit. */
    this.conflict = undefined
    /** Quotas: the usage of each (scope, owner) written (asked once), and each write's delta. */
    this.usages = new Map()
    this.deltas = new Map()
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
        return then(this.readEntry(scope, key, id), stateValueReply)
      }
      case 'set':
      case 'delete': {
        const owner = scope === SHARED_SCOPE ? this.namespaceOf(key).name : ''
        const write = op === 'set'
          ? { scope, key, value, expiresAt: ttl === null ? null : Date.now() + ttl * 1000, owner }
          : { scope, key, value: null, expiresAt: null, owner }
        const limit = this.serializable ? this.quotaOf(scope, owner) : undefined
        if (!limit) {
          this.buffer(id, write)
          return STATE_DONE_REPLY
        }
        return then(this.checkQuota(id, write, limit), () => {
          this.buffer(id, write)
          return STATE_DONE_REPLY
        })
      }
      default:
        throw new Error(`State: unknown request ${op}`)
    }
  }

  // The store's value of a key the call has not read yet (or read past the cache's bound),
  // noting its version.
  readEntry(scope, key, id) {
    const cached = this.cache?.get(id)
    if (cached !== undefined && !this.versions.has(id)) {
      this.cachedReads++
      this.versions.set(id, { scope, key, version: cached?.version ?? null })
      this.remember(id, cached?.value)
      return cached?.value
    }
    this.startReading()
    this.storeReads++
    if (!this.serializable) {
      return then(this.store.read(scope, key), (stored) => {
        this.remember(id, stored)
        return stored
      })
    }
    return then(this.store.readVersion(scope, key), (entry) => {
      const version = entry?.version ?? null
      this.cache?.put(id, entry ? { value: entry.value, version } : null)
      const seen = this.versions.get(id)
      if (!seen) this.versions.set(id, { scope, key, version })
      else if (seen.version !== version) {
        // Read again past the cache's bound, and changed: the call saw two values of one
        // key, so it cannot commit (the runner runs it again).
        this.conflict = conflictText(scope, `key '${key}'`)
        throw new Error(`State.get: ${this.conflict} (the call will be run again)`)
      }
      this.remember(id, entry?.value)
      return entry?.value
    })
  }

  // Before the call's first read of the store: its reads see what is committed now, not
  // what an earlier call began to read (SqliteStore's read transaction).
  startReading() {
    if (this.reading) return
    this.reading = true
    this.store.callStarts?.()
  }

  // The store's entries of `scope` under `prefix` ([key, bytes]), noting their versions.
  readList(scope, prefix) {
    this.startReading()
    this.storeReads++
    if (!this.serializable) return this.store.list(scope, prefix)
    return then(this.store.listVersions(scope, prefix), (found) => {
      this.lists.push({ scope, prefix, entries: found.map(([key, , version]) => [key, version]) })
      return found.map(([key, value]) => [key, value])
    })
  }

  // `State.list(prefix)`: the keys under `prefix` that `State.get` would read, its own and
  // those of shared namespaces it may read (an unreadable namespace around the prefix is an
  // error, as for get; unreadable ones inside it are left out).
  list(prefix) {
    const around = this.namespaceOf(prefix)
    if (around) this.scopeOf('list', prefix)
    const own = around ? [] : this.readList(this.scriptId, prefix)
    const overlaps = this.namespaces.some(({ name, read }) => read && (name.startsWith(prefix) || prefix.startsWith(`${name}.`) || prefix === name))
    return then(own, (own) => {
      const shared = overlaps ? this.readList(SHARED_SCOPE, prefix) : []
      return then(shared, (shared) => {
        const entries = new Map()
        // A private key under a namespace is not one get() reads (the namespace was
        // declared after it was written).
        for (const [key, stored] of this.merge(this.scriptId, prefix, own)) if (!this.namespaceOf(key)) entries.set(key, stored)
        for (const [key, stored] of this.merge(SHARED_SCOPE, prefix, shared)) if (this.namespaceOf(key)?.read) entries.set(key, stored)
        return stateListReply([...entries], this.replyLimit)
      })
    })
  }

  /** The quota of (scope, owner): a namespace's own, else the state's; undefined if none. */
  quotaOf(scope, owner) {
    const quota = (scope === SHARED_SCOPE ? this.namespaces.find(({ name }) => name === owner)?.quota : undefined) ?? this.quota
    return quota && (quota.bytes !== null || quota.keys !== null) ? quota : undefined
  }

  // A write that would take its scope past its quota, as far as the call knows (the usage
  // when it first wrote there, and what it has written since), is an error at the call:
  // the commit checks again, atomically, against what others have written meanwhile.
  checkQuota(id, write, limit) {
    const { scope, key, owner } = write
    const usageId = `${scope}\0${owner}`
    const usage = this.usages.get(usageId) ?? then(this.store.usage(scope, owner), (usage) => {
      this.usages.set(usageId, usage)
      return usage
    })
    // What the key held before the call (its size counts out when written over).
    const cached = this.reads.get(id)
    if (cached === undefined) this.startReading()
    const before = cached !== undefined ? cached : then(this.store.readVersion(scope, key), (entry) => entry?.value ?? null)
    return then(usage, (usage) =>
      then(before, (before) => {
        const delta = {
          bytes: (write.value === null ? 0 : entrySize(key, write.value)) - (before ? entrySize(key, before) : 0),
          keys: (write.value === null ? 0 : 1) - (before ? 1 : 0),
        }
        // The call's other writes to (scope, owner), this key's earlier one left out.
        const total = { bytes: delta.bytes, keys: delta.keys }
        for (const [other, written] of this.deltas) {
          if (other === id || written.usageId !== usageId) continue
          total.bytes += written.bytes
          total.keys += written.keys
        }
        const text = quotaText({ scope, owner, ...limit }, usage, total)
        if (text) throw new Error(text.replace(/^State:/, `State.${write.value === null ? 'delete' : 'set'}:`))
        this.deltas.set(id, { usageId, ...delta })
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
  // held here are outside the call's memory limit. Past the bound a key is read from the
  // store again, and the call ends as a conflict if it changed meanwhile (readEntry).
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

  /** What the commit checks: { reads, lists, quotas }. */
  conditions() {
    const quotas = []
    const seen = new Set()
    for (const { scope, owner } of this.writes.values()) {
      const id = `${scope}\0${owner}`
      if (seen.has(id)) continue
      seen.add(id)
      const limit = this.quotaOf(scope, owner)
      if (limit) quotas.push({ scope, owner, bytes: limit.bytes, keys: limit.keys })
    }
    return { reads: [...this.versions.values()], lists: this.lists, quotas }
  }

  /**
   * Commits the call's writes in one store transaction, with the checks of what it read:
   * undefined when committed (or nothing to do), else { conflict } or { quota } (text).
   * A call that wrote nothing and asked the store for at most one read saw one snapshot:
   * nothing to check, and the store is not asked.
   */
  commit() {
    if (this.conflict) {
      this.cache?.cool(this.versions.keys())
      return { conflict: this.conflict }
    }
    if (!this.serializable) {
      if (this.writes.size === 0) return undefined
      const writes = [...this.writes.values()]
      this.writes.clear()
      return then(this.store.commit(writes), () => undefined)
    }
    if (this.writes.size === 0 && this.storeReads <= 1 && this.cachedReads === 0) return undefined
    const writes = [...this.writes.values()]
    const conditions = this.conditions()
    this.writes.clear()
    return then(this.store.commit(writes, conditions), (result) => {
      if (this.cache) {
        // What it wrote has new versions; what it read may be stale if it conflicted.
        for (const { scope, key } of writes) this.cache.forget(`${scope}\0${key}`)
        if (result?.conflict) this.cache.cool(this.versions.keys())
      }
      return committed(result) ? undefined : result
    })
  }

  /**
   * For a call that failed: whether what it read had changed under it by the end (then it
   * may have failed for seeing an inconsistent state, and is a conflict rather than its
   * error). Undefined, or { conflict }.
   */
  validate() {
    if (this.conflict) return { conflict: this.conflict }
    if (!this.serializable || (this.storeReads <= 1 && this.cachedReads === 0)) return undefined
    const conditions = { ...this.conditions(), quotas: [] }
    return then(this.store.commit([], conditions), (result) => {
      if (result?.conflict) this.cache?.cool(this.versions.keys())
      return result?.conflict ? result : undefined
    })
  }
}
