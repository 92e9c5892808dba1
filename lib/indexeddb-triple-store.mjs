// IndexedDbTripleStore: `State` as RDF triples in the browser's IndexedDB, for pages and
// workers of one origin; no library (IndexedDB's own indexes do what a triple store needs).
//
// One object store of quads { g, s, p, k, o } (graph, subject, predicate, the object's kind
// and lexical form: lib/triples.mjs), keyed by [g, s, p, k, o] (the spo index), with two
// indexes, pos [g, p, k, o, s] and osp [g, k, o, s, p], so that every pattern of a query is
// one key range of one of them, read with getAll in one readonly transaction. A call's
// writes are one readwrite transaction: IndexedDB applies it whole or not at all, also
// when the tab closes mid-way. Its methods return promises: calls using it wait at each
// query (`runSync` cannot use it), and it is opened on first use.

import { done, promised } from './indexeddb.mjs'
import { QuadStream, TripleStore } from './triples.mjs'

const QUADS = 'quads'
// An upper bound past every key that starts with a prefix (arrays sort after strings and numbers).
const PAST = []

const prefix = (key) => IDBKeyRange.bound(key, [...key, PAST])

export class IndexedDbTripleStore extends TripleStore {
  #name
  #db = null

  /** `name`: the IndexedDB database (made if missing). */
  constructor(name) {
    super()
    if (typeof name !== 'string' || name === '') throw new TypeError('IndexedDbTripleStore(name): name must be a non-empty string')
    if (typeof indexedDB === 'undefined') throw new TypeError('IndexedDbTripleStore needs IndexedDB (a browser page or worker)')
    this.#name = name
  }

  #open() {
    this.#db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(this.#name, 1)
      request.onupgradeneeded = () => {
        const quads = request.result.createObjectStore(QUADS, { keyPath: ['g', 's', 'p', 'k', 'o'] })
        quads.createIndex('pos', ['g', 'p', 'k', 'o', 's'])
        quads.createIndex('osp', ['g', 'k', 'o', 's', 'p'])
      }
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    return this.#db
  }

  // The records of graph `g` matching, from the index that has the pattern as a prefix.
  #match(quads, g, s, p, object) {
    const filter = (records) => records.filter((r) => (p === null || r.p === p) && (object === null || (r.k === object[0] && r.o === object[1])))
    if (s !== null) {
      // spo: [g, s], [g, s, p] or the whole key; an object without a predicate is filtered.
      const key = p === null ? [g, s] : object === null ? [g, s, p] : [g, s, p, object[0], object[1]]
      return promised(quads.getAll(prefix(key))).then(p === null && object !== null ? filter : (records) => records)
    }
    if (p !== null) return promised(quads.index('pos').getAll(prefix(object === null ? [g, p] : [g, p, object[0], object[1]])))
    if (object !== null) return promised(quads.index('osp').getAll(prefix([g, object[0], object[1]])))
    return promised(quads.getAll(prefix([g])))
  }

  async #rows(s, p, object, graphs) {
    const db = await this.#open()
    const quads = db.transaction(QUADS, 'readonly').objectStore(QUADS)
    if (graphs === undefined) {
      const all = await promised(quads.getAll())
      return all.filter((r) => (s === null || r.s === s) && (p === null || r.p === p) && (object === null || (r.k === object[0] && r.o === object[1]))).map((r) => [r.s, r.p, r.k, r.o, r.g])
    }
    const found = await Promise.all(graphs.map((g) => this.#match(quads, g, s, p, object)))
    return found.flat().map((r) => [r.s, r.p, r.k, r.o, r.g])
  }

  rows(s, p, object, graphs) {
    return this.#rows(s, p, object, graphs)
  }

  quadRows(s, p, object, graph) {
    return this.#rows(s, p, object, graph === undefined ? undefined : [graph])
  }

  async apply(graph, deletes, inserts) {
    const db = await this.#open()
    const transaction = db.transaction(QUADS, 'readwrite')
    const quads = transaction.objectStore(QUADS)
    for (const [s, p, kind, lexical] of deletes) quads.delete(kind === null ? prefix([graph, s, p]) : [graph, s, p, kind, lexical])
    for (const [s, p, k, o] of inserts) quads.put({ g: graph, s, p, k, o })
    await done(transaction)
  }

  match(subject, predicate, object, graph) {
    return new QuadStream(this.getQuads(subject, predicate, object, graph))
  }

  /** Closes the database (a later call opens it again). */
  async close() {
    const db = await this.#db
    this.#db = null
    db?.close()
  }
}
