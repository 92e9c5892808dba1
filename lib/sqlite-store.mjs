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

import { createRequire } from 'node:module'
import { StateStore } from './state.mjs'

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
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID`

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

/** How often (commits) expired entries are purged. */
const PURGE_EVERY = 256

export class SqliteStore extends StateStore {
  #db
  #read
  #list
  #put
  #remove
  #purge
  #commit
  #commits = 0

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
      db.exec(SCHEMA)
    })
    this.#db = db
    this.#read = db.prepare('SELECT value FROM pubwiki_state WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)').pluck()
    // The keys from `prefix` on, in order, until one does not start with it (list() stops
    // there): a range of the primary key. Not LIKE, which ignores case and reads % and _,
    // nor substr/length, which stop at a NUL (a key may hold one).
    this.#list = db
      .prepare('SELECT key, value, expires_at FROM pubwiki_state WHERE scope = ? AND key >= ? ORDER BY key')
      .raw()
    this.#put = db.prepare('INSERT OR REPLACE INTO pubwiki_state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)')
    this.#remove = db.prepare('DELETE FROM pubwiki_state WHERE scope = ? AND key = ?')
    this.#purge = db.prepare('DELETE FROM pubwiki_state WHERE expires_at IS NOT NULL AND expires_at <= ?')
    // One transaction for every write of a call: all or none.
    this.#commit = db.transaction((writes) => {
      for (const { scope, key, value, expiresAt } of writes) {
        if (value === null) this.#remove.run(scope, key)
        else this.#put.run(scope, key, value, expiresAt ?? null)
      }
    })
  }

  get synchronous() {
    return true
  }

  read(scope, key) {
    return this.#read.get(scope, key, Date.now())
  }

  list(scope, prefix) {
    const now = Date.now()
    const found = []
    for (const [key, value, expiresAt] of this.#list.iterate(scope, prefix)) {
      if (!key.startsWith(prefix)) break
      if (expiresAt === null || expiresAt > now) found.push([key, value])
    }
    return found
  }

  commit(writes) {
    // IMMEDIATE: take the write lock first, so two processes' commits queue on busyTimeout
    // instead of one failing with SQLITE_BUSY when it upgrades a read lock.
    this.#commit.immediate(writes)
    if (++this.#commits % PURGE_EVERY === 0) this.purge()
  }

  /** Deletes the expired entries now (reads never see them either way). */
  purge() {
    this.#purge.run(Date.now())
  }

  /** Closes the database; the store cannot be used after. */
  close() {
    this.#db.close()
  }
}
