// SqliteStore: State in a SQLite file (Node only), through better-sqlite3.
//
// Why better-sqlite3 and not SQLite inside the addon (rusqlite `bundled`): the store is JS,
// so it serves every backend alike (the native addon, the wasm build in Node, worker
// runners), and it keeps SQLite (~1.5 MB) out of the addon for the users who do not store
// anything. Its API is synchronous, which makes SqliteStore a synchronous store (`runSync`
// can use it) and a read a plain function call (~2 µs), not a promise per State.get.
// It is an optional peer dependency: loaded when the first SqliteStore is made.
//
// The database: one table, WITHOUT ROWID (the primary key is the table), the scope and key
// apart (no key a script writes can name another scope's), values as the exact bytes the
// core encoded. WAL mode: readers never wait for a writer, and a writer's commit is one
// append to the log, whole or absent after a crash (SQLite's guarantee). Several processes
// may share the file: writes take the database lock (`BEGIN IMMEDIATE`), waiting for it up
// to `busyTimeout` ms; synchronous=NORMAL is durable against a process crash (what WAL
// needs for commits to be whole), a power cut may lose the last commits, never tear one.
//
// Serializable calls: each entry has a version, from a counter in pubwiki_meta that every
// commit bumps once (commits hold the write lock, so versions only grow and are never
// reused: a key deleted and written again has a new one). A commit checks the versions a
// call read, inside its BEGIN IMMEDIATE transaction, before writing: no other writer can
// come between, so checking in JS is as good as in SQL, and costs a lookup by primary key
// (~2 µs) per key read. pubwiki_usage keeps each (scope, owner)'s bytes and keys, updated
// by the same transaction, for quotas.
//
// Calls read in one read transaction per stretch of synchronous JS (lib/sqlite-reads.mjs);
// hosts' reads and the commit's checks use the writing connection.
//
// Files made by the first version (pubwiki_state without version and owner) are migrated
// when opened: the columns are added (version 0, owner ''), the usage counted once.

import { createRequire } from 'node:module'
import { CallReads } from './sqlite-reads.mjs'
import { NO_CONDITIONS, StateStore, add, conflictText, deltaOf, entrySize, quotaText, sameEntries } from './state.mjs'

const require = createRequire(import.meta.url)

function loadSqlite() {
  try {
    return require('better-sqlite3')
  } catch (error) {
    throw new Error('pubwiki-lua: SqliteStore needs the package better-sqlite3 (12.x): npm install better-sqlite3', { cause: error })
  }
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS pubwiki_state (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER,
    version INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS pubwiki_usage (
    scope TEXT NOT NULL,
    owner TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    keys INTEGER NOT NULL,
    PRIMARY KEY (scope, owner)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS pubwiki_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT OR IGNORE INTO pubwiki_meta (name, value) VALUES ('version', 0);`

/** The entry's size as usage counts it (key's UTF-8 bytes and value's), in SQL. */
const SIZE = 'length(CAST(key AS BLOB)) + length(value)'

// Makes the tables, or brings a file of the first schema (no version, no owner, no usage)
// up to this one, in one write transaction (another process may be opening it too).
function setUpSchema(db) {
  db.transaction(() => {
    const columns = db.prepare("SELECT name FROM pragma_table_info('pubwiki_state')").pluck().all()
    const old = columns.length > 0 && !columns.includes('version')
    if (old) {
      db.exec(`ALTER TABLE pubwiki_state ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE pubwiki_state ADD COLUMN owner TEXT NOT NULL DEFAULT ''`)
    }
    const counted = db.prepare("SELECT name FROM sqlite_master WHERE name = 'pubwiki_usage'").get()
    db.exec(SCHEMA)
    if (!counted) {
      db.exec(`INSERT INTO pubwiki_usage (scope, owner, bytes, keys)
        SELECT scope, owner, sum(${SIZE}), count(*) FROM pubwiki_state GROUP BY scope, owner`)
    }
  }).immediate()
}

/**
 * Runs `setUp` again while the database is busy, for up to `timeout` ms. SQLite's busy
 * handler does not cover everything: two processes opening a new file at once both read it
 * and then both want it exclusively to switch it to WAL, and SQLite answers one of them
 * SQLITE_BUSY at once rather than let them wait for each other for ever.
 */
function untilNotBusy(timeout, setUp) {
  const deadline = Date.now() + timeout
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    try {
      return setUp()
    } catch (error) {
      if (!String(error?.code).startsWith('SQLITE_BUSY') || Date.now() >= deadline) throw error
      Atomics.wait(pause, 0, 0, 5 + Math.random() * 20)
    }
  }
}

/** [key, bytes, version] of the unexpired entries under `prefix`, by the statement `list`. */
function versionsIn(list, scope, prefix) {
  const now = Date.now()
  const found = []
  for (const [key, value, expiresAt, version] of list.iterate(scope, prefix)) {
    if (!key.startsWith(prefix)) break
    if (expiresAt === null || expiresAt > now) found.push([key, value, version])
  }
  return found
}

/** How often (commits) expired entries are purged. */
const PURGE_EVERY = 256

export class SqliteStore extends StateStore {
  #db
  #sql
  #commit
  #commits = 0
  // Calls' reads, and their statements.
  #reads
  #callSql

  /**
   * `path`: the database file (made if missing; ':memory:' for one in memory).
   * `options.busyTimeout`: ms a write waits for another process's (default 5000).
   */
  constructor(path, { busyTimeout = 5000 } = {}) {
    super()
    if (typeof path !== 'string' || path === '') throw new TypeError('SqliteStore(path): path must be a non-empty string')
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) throw new TypeError('SqliteStore options.busyTimeout must be a whole number of ms')
    const Database = loadSqlite()
    const db = new Database(path, { timeout: busyTimeout })
    untilNotBusy(busyTimeout, () => {
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      setUpSchema(db)
    })
    this.#db = db
    const live = '(expires_at IS NULL OR expires_at > ?)'
    const read = `SELECT value, version FROM pubwiki_state WHERE scope = ? AND key = ? AND ${live}`
    // The keys from `prefix` on, in order, until one does not start with it (list()
    // stops there): a range of the primary key. Not LIKE, which ignores case and reads %
    // and _, nor substr/length, which stop at a NUL (a key may hold one).
    const list = 'SELECT key, value, expires_at, version FROM pubwiki_state WHERE scope = ? AND key >= ? ORDER BY key'
    this.#reads = new CallReads(Database, db, path, busyTimeout)
    this.#callSql = { read: this.#reads.prepare(read), list: this.#reads.prepare(list).raw() }
    this.#sql = {
      read: db.prepare(read),
      version: db.prepare(`SELECT version FROM pubwiki_state WHERE scope = ? AND key = ? AND ${live}`).pluck(),
      // The row as it is, expired or not (usage counts it until it is purged).
      row: db.prepare(`SELECT owner, ${SIZE} AS size FROM pubwiki_state WHERE scope = ? AND key = ?`),
      list: db.prepare(list).raw(),
      put: db.prepare('INSERT OR REPLACE INTO pubwiki_state (scope, key, value, expires_at, version, owner) VALUES (?, ?, ?, ?, ?, ?)'),
      remove: db.prepare('DELETE FROM pubwiki_state WHERE scope = ? AND key = ?'),
      bump: db.prepare("UPDATE pubwiki_meta SET value = value + 1 WHERE name = 'version' RETURNING value").pluck(),
      count: db.prepare(`INSERT INTO pubwiki_usage (scope, owner, bytes, keys) VALUES (?, ?, ?, ?)
        ON CONFLICT (scope, owner) DO UPDATE SET bytes = bytes + excluded.bytes, keys = keys + excluded.keys`),
      usage: db.prepare('SELECT bytes, keys FROM pubwiki_usage WHERE scope = ? AND owner = ?'),
      usageAll: db.prepare('SELECT coalesce(sum(bytes), 0) AS bytes, coalesce(sum(keys), 0) AS keys FROM pubwiki_usage WHERE scope = ?'),
      expired: db.prepare(`SELECT scope, key, owner, ${SIZE} AS size FROM pubwiki_state WHERE expires_at IS NOT NULL AND expires_at <= ?`),
      expiredIn: db.prepare(`SELECT scope, key, owner, ${SIZE} AS size FROM pubwiki_state WHERE scope = ? AND expires_at IS NOT NULL AND expires_at <= ?`),
    }
    // One transaction for every write of a call: all or none, after its checks.
    this.#commit = db.transaction((writes, conditions) => this.#apply(writes, conditions))
  }

  get synchronous() {
    return true
  }

  /** A call starts: its reads begin with what is committed now. */
  callStarts() {
    this.#reads.stop()
  }

  // Calls' reads (StateSession), in the read transaction (see the top of the file).
  readVersion(scope, key) {
    this.#reads.begin()
    return this.#callSql.read.get(scope, key, Date.now())
  }

  listVersions(scope, prefix) {
    this.#reads.begin()
    return versionsIn(this.#callSql.list, scope, prefix)
  }

  // Hosts' reads.
  read(scope, key) {
    return this.#sql.read.get(scope, key, Date.now())?.value
  }

  list(scope, prefix) {
    return versionsIn(this.#sql.list, scope, prefix).map(([key, value]) => [key, value])
  }

  usage(scope, owner) {
    if (owner === undefined) return { ...this.#sql.usageAll.get(scope) }
    return { ...(this.#sql.usage.get(scope, owner) ?? { bytes: 0, keys: 0 }) }
  }

  commit(writes, conditions = NO_CONDITIONS) {
    // IMMEDIATE: take the write lock first, so two processes' commits queue on busyTimeout
    // instead of one failing with SQLITE_BUSY when it upgrades a read lock.
    // Reads after this see these writes.
    this.#reads.stop()
    const result = this.#commit.immediate(writes, conditions)
    if (writes.length && ++this.#commits % PURGE_EVERY === 0) this.purge()
    return result
  }

  // Inside the transaction: the checks, then the writes.
  #apply(writes, conditions) {
    const sql = this.#sql
    const now = Date.now()
    for (const { scope, key, version } of conditions.reads) {
      if ((sql.version.get(scope, key, now) ?? null) !== version) return { conflict: conflictText(scope, `key '${key}'`) }
    }
    for (const { scope, prefix, entries } of conditions.lists) {
      const found = versionsIn(sql.list, scope, prefix).map(([key, , version]) => [key, version])
      if (!sameEntries(entries, found)) return { conflict: conflictText(scope, `the list of '${prefix}'`) }
    }
    if (writes.length === 0) return undefined
    const deltas = new Map()
    const olds = writes.map(({ scope, key, value, owner = '' }) => {
      const old = sql.row.get(scope, key)
      if (old) add(deltas, scope, old.owner, -old.size, -1)
      if (value !== null) add(deltas, scope, owner, entrySize(key, value), 1)
      return old
    })
    for (const quota of conditions.quotas) {
      let text = quotaText(quota, this.usage(quota.scope, quota.owner), deltaOf(deltas, quota.scope, quota.owner))
      if (text) {
        // Expired entries count until purged: purge the scope's, and look again.
        this.#purgeRows(sql.expiredIn.all(quota.scope, now))
        text = quotaText(quota, this.usage(quota.scope, quota.owner), deltaOf(deltas, quota.scope, quota.owner))
        if (text) return { quota: text }
      }
    }
    const version = sql.bump.get()
    writes.forEach(({ scope, key, value, expiresAt, owner = '' }, i) => {
      const old = olds[i]
      if (old && sql.row.get(scope, key)) sql.count.run(scope, old.owner, -old.size, -1)
      if (value === null) {
        sql.remove.run(scope, key)
        return
      }
      sql.put.run(scope, key, value, expiresAt ?? null, version, owner)
      sql.count.run(scope, owner, entrySize(key, value), 1)
    })
    return undefined
  }

  #purgeRows(rows) {
    for (const { scope, key, owner, size } of rows) {
      this.#sql.remove.run(scope, key)
      this.#sql.count.run(scope, owner, -size, -1)
    }
  }

  /** Deletes the expired entries now (reads never see them either way). */
  purge() {
    this.#reads.stop()
    this.#db.transaction(() => this.#purgeRows(this.#sql.expired.all(Date.now()))).immediate()
  }

  /** Closes the database; the store cannot be used after. */
  close() {
    this.#reads.close()
    this.#db.close()
  }
}
