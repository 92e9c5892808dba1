// SqliteTripleStore: `State` as RDF triples in a SQLite file (Node only), through
// better-sqlite3 (an optional peer dependency, loaded when the first store is made), as
// SqliteStore keeps key/value State (lib/sqlite-store.mjs says why SQLite in JS).
//
// One table of quads, WITHOUT ROWID: (g, s, p, k, o), where g is the graph's name ('' the
// default graph), s and p the subject and predicate, k and o the object's kind and lexical
// form (lib/triples.mjs). Its primary key is the spo index (g, s, p, k, o); two more
// indexes, pos (g, p, k, o, s) and osp (g, k, o, s, p), answer queries by predicate and by
// object, so every pattern of a query is one index range. Synchronous (a query is a plain
// function call of a few µs, and `runSync` can use the store), WAL mode, and a call's
// writes are one transaction (BEGIN IMMEDIATE): whole or absent after any crash, and
// processes may share the file.
//
// Calls read in one read transaction per stretch of synchronous JS (lib/sqlite-reads.mjs):
// a query by subject is ~2 µs, of which the file's lock outside a transaction took ~0.5.
// Hosts' own reads (query, getQuads, match) use the writing connection.

import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import { CallReads } from './sqlite-reads.mjs'
import { TripleStore } from './triples.mjs'

const require = createRequire(import.meta.url)

function loadSqlite() {
  try {
    return require('better-sqlite3')
  } catch (error) {
    throw new Error('pubwiki-lua: SqliteTripleStore needs the package better-sqlite3 (12.x): npm install better-sqlite3', { cause: error })
  }
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS pubwiki_triples (
    g TEXT NOT NULL,
    s TEXT NOT NULL,
    p TEXT NOT NULL,
    k INTEGER NOT NULL,
    o TEXT NOT NULL,
    PRIMARY KEY (g, s, p, k, o)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS pubwiki_triples_pos ON pubwiki_triples (g, p, k, o, s);
  CREATE INDEX IF NOT EXISTS pubwiki_triples_osp ON pubwiki_triples (g, k, o, s, p);`

export class SqliteTripleStore extends TripleStore {
  #db
  #selects = new Map()
  #apply
  // Calls' reads, and their statements.
  #reads
  #readSelects = new Map()

  /** `path`: the SQLite file (made if missing; ':memory:' for none); `busyTimeout`: ms a commit waits for another process's. */
  constructor(path, { busyTimeout = 5000 } = {}) {
    super()
    if (typeof path !== 'string' || path === '') throw new TypeError('SqliteTripleStore(path): path must be a non-empty string')
    const Database = loadSqlite()
    const db = new Database(path, { timeout: busyTimeout })
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec(SCHEMA)
    this.#db = db
    const insert = db.prepare('INSERT OR IGNORE INTO pubwiki_triples (g, s, p, k, o) VALUES (?, ?, ?, ?, ?)')
    const deleteEvery = db.prepare('DELETE FROM pubwiki_triples WHERE g = ? AND s = ? AND p = ?')
    const deleteOne = db.prepare('DELETE FROM pubwiki_triples WHERE g = ? AND s = ? AND p = ? AND k = ? AND o = ?')
    this.#apply = db.transaction((graph, deletes, inserts) => {
      for (const [s, p, kind, lexical] of deletes) {
        if (kind === null) deleteEvery.run(graph, s, p)
        else deleteOne.run(graph, s, p, kind, lexical)
      }
      for (const [s, p, kind, lexical] of inserts) insert.run(graph, s, p, kind, lexical)
    })
    this.#reads = new CallReads(Database, db, path, busyTimeout)
  }

  get synchronous() {
    return true
  }

  /** The better-sqlite3 Database (hosts may query the table pubwiki_triples themselves). */
  get database() {
    return this.#db
  }

  // The statement of `db` (a Database or CallReads; cached in `selects`) for a pattern: which of s, p and the
  // object are given, and how many graphs (0: every graph). It selects only the columns the
  // pattern leaves open (`#query` fills in the others): better-sqlite3 makes each column of
  // each row a JS value through the V8 API, ~0.1 µs apiece, a tenth of a query by subject.
  #select(db, selects, s, p, object, graphs) {
    const shape = (s === null ? 0 : 1) | (p === null ? 0 : 2) | (object === null ? 0 : 4) | (graphs << 3)
    let statement = selects.get(shape)
    if (!statement) {
      const where = []
      if (graphs > 0) where.push(graphs === 1 ? 'g = ?' : `g IN (${new Array(graphs).fill('?').join(', ')})`)
      if (s !== null) where.push('s = ?')
      if (p !== null) where.push('p = ?')
      if (object !== null) where.push('k = ?', 'o = ?')
      const open = [s === null && 's', p === null && 'p', object === null && 'k, o', graphs !== 1 && 'g'].filter(Boolean)
      const sql = `SELECT ${open.length ? open.join(', ') : '1'} FROM pubwiki_triples${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`
      statement = db.prepare(sql).raw()
      selects.set(shape, statement)
    }
    return statement
  }

  // Rows [s, p, kind, lexical, graph] matching.
  #query(db, selects, s, p, object, graphs) {
    const params = [...graphs]
    if (s !== null) params.push(s)
    if (p !== null) params.push(p)
    if (object !== null) params.push(object[0], object[1])
    const rows = this.#select(db, selects, s, p, object, graphs.length).all(...params)
    if (s === null && p === null && object === null && graphs.length !== 1) return rows
    const kind = object === null ? null : object[0]
    const lexical = object === null ? null : object[1]
    const graph = graphs.length === 1 ? graphs[0] : null
    for (let i = 0; i < rows.length; i++) {
      const open = rows[i]
      let at = 0
      rows[i] = [s ?? open[at++], p ?? open[at++], kind ?? open[at++], lexical ?? open[at++], graph ?? open[at]]
    }
    return rows
  }

  // A call's reads (TriplesSession), in the read transaction (see the top of the file).
  rows(s, p, object, graphs) {
    this.#reads.begin()
    return this.#query(this.#reads, this.#readSelects, s, p, object, graphs)
  }

  /** A call starts: its reads begin with what is committed now. */
  callStarts() {
    this.#reads.stop()
  }

  quadRows(s, p, object, graph) {
    return this.#query(this.#db, this.#selects, s, p, object, graph === undefined ? [] : [graph])
  }

  apply(graph, deletes, inserts) {
    // Reads after this see these writes.
    this.#reads.stop()
    this.#apply.immediate(graph, deletes, inserts)
  }

  /** Triples stored (in every graph). */
  get size() {
    return this.#db.prepare('SELECT count(*) FROM pubwiki_triples').pluck().get()
  }

  match(subject, predicate, object, graph) {
    return Readable.from(this.getQuads(subject, predicate, object, graph))
  }

  close() {
    this.#reads.close()
    this.#db.close()
  }
}
