// Calls' reads of a SQLite store (SqliteStore, SqliteTripleStore), grouped in one read
// transaction per stretch of synchronous JS.
//
// A statement outside a transaction takes and drops the file's shared lock: two fcntl
// calls and the pager's checks, ~0.5 µs of a ~2 µs lookup by key, and a call's reads come
// one after another. So calls read through a second connection of their own (read-only),
// whose transaction starts at a call's first read and ends at the next microtask, when
// another call is about to read (`callStarts`), or when the store writes, whichever comes first: a
// call reads what was committed when it started reading, or later (never an older state
// than the calls before it saw, nor its own commits), and a call that waits holds no
// snapshot (nothing pins the WAL across awaits). Hosts' own reads use the writing
// connection, outside those transactions. A database in memory has one connection (and no
// file locks): there reads take no transaction.

export class CallReads {
  #db
  #separate
  #begin
  #end
  #reading = false
  #endReading = () => this.stop()

  /** For the store writing through `db` (a better-sqlite3 Database of `path`). */
  constructor(Database, db, path, busyTimeout) {
    this.#separate = !db.memory
    this.#db = this.#separate ? new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeout }) : db
    if (this.#separate) {
      this.#begin = this.#db.prepare('BEGIN')
      this.#end = this.#db.prepare('COMMIT')
    }
  }

  /** A statement of the reading connection (run it after `begin()`). */
  prepare(sql) {
    return this.#db.prepare(sql)
  }

  /** A call reads: its transaction is open until the next microtask at most. */
  begin() {
    if (this.#reading || !this.#separate) return
    this.#begin.run()
    this.#reading = true
    queueMicrotask(this.#endReading)
  }

  /** Ends the read transaction (a call starts, the store writes): reads after see what is committed then. */
  stop() {
    if (!this.#reading) return
    this.#reading = false
    this.#end.run()
  }

  close() {
    this.stop()
    if (this.#separate) this.#db.close()
  }
}
