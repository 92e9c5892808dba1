// The host half of `State` as RDF triples (crates/core/src/triples_library.rs is the
// script's): a call's session (its buffered writes, read-your-writes, the order of results,
// the limits), the stores it talks to, and RDF/JS terms and quads. No Node built-ins (the
// SQLite store is lib/sqlite-triple-store.mjs, the IndexedDB one
// lib/indexeddb-triple-store.mjs).
//
// Objects cross from the core as (kind, lexical form), canonical (the core sorts a table's
// keys, keeps integers and floats apart, refuses what has no form), so that equal values
// are equal triples on every store. In RDF: a named node (kind IRI: a string starting with
// `resource://`), or a literal typed xsd:string, xsd:integer, xsd:double, xsd:boolean or
// rdf:JSON (tables). Subjects and predicates are named nodes of the strings as given.
//
// Two kinds of stores:
// - the other library's `RDFStore` (insert, delete, query, optional batchInsert,
//   batchDelete, transaction; each sync or async), which takes and gives JS values: used as
//   it is, through RdfStoreAdapter;
// - this package's stores (TripleStore subclasses: N3TripleStore here, SqliteTripleStore,
//   IndexedDbTripleStore), which implement `rows` and `apply` below on quads with graphs,
//   and give hosts the RDFStore methods and RDF/JS `match()` over the same data.
//
// Atomic per call: a call's inserts and deletes wait in its session; its own queries see
// them merged with the store's answer; they reach the store when the call succeeds, in one
// `apply` (one transaction) on this package's stores, and through `transaction` or one
// batch of each kind on an RDFStore that has them. A call that fails writes nothing.

import { isPlainObject, isThenable } from './util.mjs'
import { REPLY_VALUES, WRITE_ROWS, encodeRowsInto, standalone } from './reply.mjs'
import { Decoder, encoder } from './wire.mjs'
import { canReadIndex, readIndex, termOf } from './n3-index.mjs'

/** An object's kind, as crates/core/src/triples_library.rs numbers them. */
const KIND = Object.freeze({ IRI: 0, STRING: 1, INTEGER: 2, DOUBLE: 3, BOOLEAN: 4, JSON: 5, NIL: 6 })

const XSD = 'http://www.w3.org/2001/XMLSchema#'
const XSD_STRING = `${XSD}string`
const XSD_INTEGER = `${XSD}integer`
const XSD_DOUBLE = `${XSD}double`
const XSD_BOOLEAN = `${XSD}boolean`
const RDF_JSON = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON'
const RDF_LANG_STRING = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#langString'
const RESOURCE = 'resource://'

/** Triples a call may write (insert or delete) unless its host says otherwise. */
const DEFAULT_MAX_WRITES = 100_000

// ---------------------------------------------------------------------------------------
// RDF/JS terms (the data model of https://rdf.js.org/data-model-spec/): what this
// package's stores give from match(), and take from hosts and query engines.

class Term {
  constructor(termType, value) {
    this.termType = termType
    this.value = value
  }

  equals(other) {
    return !!other && other.termType === this.termType && other.value === this.value
  }
}

class LiteralTerm extends Term {
  constructor(value, language, datatype) {
    super('Literal', value)
    this.language = language
    this.datatype = datatype
  }

  equals(other) {
    return super.equals(other) && other.language === this.language && this.datatype.equals(other.datatype)
  }
}

class QuadTerm {
  constructor(subject, predicate, object, graph) {
    this.termType = 'Quad'
    this.value = ''
    this.subject = subject
    this.predicate = predicate
    this.object = object
    this.graph = graph
  }

  equals(other) {
    return !!other && other.termType === 'Quad' && this.subject.equals(other.subject) && this.predicate.equals(other.predicate) &&
      this.object.equals(other.object) && this.graph.equals(other.graph)
  }
}

const named = new Map()
const DEFAULT_GRAPH = new Term('DefaultGraph', '')

/** An RDF/JS DataFactory (namedNode, literal, defaultGraph, quad, ...). */
export const dataFactory = Object.freeze({
  namedNode: (value) => new Term('NamedNode', value),
  blankNode: (value) => new Term('BlankNode', value ?? `b${Math.random().toString(36).slice(2)}`),
  variable: (value) => new Term('Variable', value),
  literal(value, languageOrDatatype) {
    if (typeof languageOrDatatype === 'string') return new LiteralTerm(value, languageOrDatatype.toLowerCase(), dataFactory.namedNode(RDF_LANG_STRING))
    return new LiteralTerm(value, '', languageOrDatatype ?? namedNode(XSD_STRING))
  },
  defaultGraph: () => DEFAULT_GRAPH,
  quad: (subject, predicate, object, graph) => new QuadTerm(subject, predicate, object, graph ?? DEFAULT_GRAPH),
})

// Named nodes of datatypes and of the most used names, made once.
function namedNode(value) {
  let node = named.get(value)
  if (!node) {
    node = new Term('NamedNode', value)
    if (named.size < 10_000) named.set(value, node)
  }
  return node
}

const DATATYPE_OF = { [KIND.STRING]: XSD_STRING, [KIND.INTEGER]: XSD_INTEGER, [KIND.DOUBLE]: XSD_DOUBLE, [KIND.BOOLEAN]: XSD_BOOLEAN, [KIND.JSON]: RDF_JSON }

/** The RDF/JS term of an object of `kind` with lexical form `lexical`. */
function objectTerm(kind, lexical) {
  if (kind === KIND.IRI) return namedNode(lexical)
  return new LiteralTerm(lexical, '', namedNode(DATATYPE_OF[kind] ?? XSD_STRING))
}

/** The term of a graph name ('' is the default graph). */
function graphTerm(graph) {
  return graph === '' ? DEFAULT_GRAPH : namedNode(graph)
}

/** A graph term's name ('' for the default graph). */
function graphName(term) {
  return !term || term.termType === 'DefaultGraph' ? '' : term.value
}

/** The quad of a row [s, p, kind, lexical, graph]. */
function quadOfRow([s, p, kind, lexical, graph = '']) {
  return new QuadTerm(namedNode(s), namedNode(p), objectTerm(kind, lexical), graphTerm(graph))
}

const INT64 = 2n ** 63n

/** [kind, lexical] of an RDF/JS term in object position (data a host wrote, too). */
function kindOfTerm(term) {
  if (term.termType === 'NamedNode') return [KIND.IRI, term.value]
  if (term.termType === 'BlankNode') return [KIND.IRI, `_:${term.value}`]
  if (term.termType !== 'Literal') return [KIND.STRING, term.value]
  return kindOfLiteral(term.value, term.datatype?.value)
}

const CANONICAL_INTEGER = /^(?:0|-?[1-9]\d{0,14})$/

/** [kind, lexical] of a literal of `datatype` (an IRI) with lexical form `value`. */
function kindOfLiteral(value, datatype) {
  switch (datatype) {
    case XSD_INTEGER:
    case `${XSD}int`:
    case `${XSD}long`:
    case `${XSD}short`:
    case `${XSD}byte`:
    case `${XSD}nonNegativeInteger`:
    case `${XSD}positiveInteger`:
    case `${XSD}negativeInteger`:
    case `${XSD}nonPositiveInteger`:
      // Already in the core's form (no sign but '-', no leading zero, at most 15 digits):
      // as it is, without making a BigInt (this is every integer the core writes).
      if (CANONICAL_INTEGER.test(value)) return [KIND.INTEGER, value]
      if (/^[+-]?\d+$/.test(value)) {
        const n = BigInt(value)
        if (n >= -INT64 && n < INT64) return [KIND.INTEGER, n.toString()]
      }
      return numberKind(Number(value), value)
    case XSD_DOUBLE:
    case `${XSD}float`:
    case `${XSD}decimal`:
      // The core's own form (`3.0`, `1e21`) is kept as it is; others are written so.
      if (/^-?\d+\.\d+(e-?\d+)?$|^-?\d+e-?\d+$/.test(value)) return [KIND.DOUBLE, value]
      return numberKind(value === 'INF' ? Infinity : value === '-INF' ? -Infinity : Number(value), value)
    case XSD_BOOLEAN:
      return [KIND.BOOLEAN, value === 'true' || value === '1' ? 'true' : 'false']
    case RDF_JSON:
      return [KIND.JSON, value]
    default:
      return [KIND.STRING, value]
  }
}

function numberKind(n, lexical) {
  if (Number.isNaN(n) && lexical !== 'NaN') return [KIND.STRING, lexical]
  return [KIND.DOUBLE, floatText(n)]
}

/** A float's lexical form: shortest, with a fraction or an exponent (as the core writes them). */
function floatText(n) {
  if (n === Infinity) return 'INF'
  if (n === -Infinity) return '-INF'
  if (Number.isNaN(n)) return 'NaN'
  const text = String(n)
  return /[.eE]/.test(text) ? text.replace('e+', 'e') : `${text}.0`
}

/** The JS value of an object (what an RDFStore of the host gets). */
function jsValue(kind, lexical) {
  switch (kind) {
    case KIND.INTEGER:
    case KIND.DOUBLE:
      return lexical === 'INF' ? Infinity : lexical === '-INF' ? -Infinity : Number(lexical)
    case KIND.BOOLEAN:
      return lexical === 'true'
    case KIND.JSON:
      return JSON.parse(lexical)
    case KIND.NIL:
      return null
    default:
      return lexical
  }
}

/** [kind, lexical] of a JS value (what an RDFStore of the host gives, or a host writes). */
function kindOfValue(value, what = 'object') {
  switch (typeof value) {
    case 'string':
      return [value.startsWith(RESOURCE) ? KIND.IRI : KIND.STRING, value]
    case 'number':
      if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return [KIND.INTEGER, BigInt(value).toString()]
      if (!Number.isFinite(value)) throw new TypeError(`${what}: a number that is not finite cannot be stored`)
      return [KIND.DOUBLE, floatText(value)]
    case 'bigint':
      if (value < -INT64 || value >= INT64) throw new TypeError(`${what}: a bigint out of the 64-bit range cannot be stored`)
      return [KIND.INTEGER, value.toString()]
    case 'boolean':
      return [KIND.BOOLEAN, String(value)]
    case 'undefined':
      return [KIND.NIL, '']
    case 'object':
      if (value === null) return [KIND.NIL, '']
      return [KIND.JSON, canonicalJson(value, what, 0, new Set())]
    default:
      throw new TypeError(`${what}: ${typeof value} cannot be stored`)
  }
}

/** JSON with object keys sorted (as the core writes a table), numbers as kindOfValue writes them. */
function canonicalJson(value, what, depth, path) {
  if (value === null || value === undefined) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${what}: a number that is not finite cannot be stored`)
      return Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? BigInt(value).toString() : floatText(value)
    case 'boolean':
      return String(value)
    case 'object':
      break
    default:
      throw new TypeError(`${what}: ${typeof value} cannot be stored`)
  }
  if (depth >= 100) throw new TypeError(`${what}: nested deeper than 100 levels`)
  if (path.has(value)) throw new TypeError(`${what}: a value that contains itself cannot be stored`)
  path.add(value)
  try {
    if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, what, depth + 1, path)).join(',')}]`
    const keys = Object.keys(value).sort(compareText)
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key], what, depth + 1, path)}`).join(',')}}`
  } finally {
    path.delete(value)
  }
}

// ---------------------------------------------------------------------------------------
// The order of results: by subject, then predicate (as UTF-8 bytes compare), then object:
// named nodes, strings, numbers (by value; an integer before an equal float), booleans
// (false first), tables (by their JSON), in that order. Every store's answers are sorted here,
// so `State.query` gives this order, and `State.get` the first triple of it, on every store.

/** Strings compared by code point (the order of their UTF-8 bytes). */
function compareText(a, b) {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      const sx = x >= 0xd800 && x <= 0xdfff
      const sy = y >= 0xd800 && y <= 0xdfff
      return sx === sy ? x - y : sx ? 1 : -1
    }
  }
  return a.length - b.length
}

const RANK = [0, 1, 2, 2, 3, 4, 5]

function compareNumbers(ka, a, kb, b) {
  if (ka === KIND.INTEGER && kb === KIND.INTEGER) {
    const [x, y] = [BigInt(a), BigInt(b)]
    return x < y ? -1 : x > y ? 1 : 0
  }
  const [x, y] = [jsValue(ka, a), jsValue(kb, b)]
  if (x !== y) return x < y || Number.isNaN(y) ? -1 : 1
  return ka - kb || compareText(a, b)
}

/** The order of rows [s, p, kind, lexical]. */
function compareRows(a, b) {
  return compareText(a[0], b[0]) || compareText(a[1], b[1]) || RANK[a[2]] - RANK[b[2]] ||
    (RANK[a[2]] === 2 ? compareNumbers(a[2], a[3], b[2], b[3]) : compareText(a[3], b[3]))
}

// ---------------------------------------------------------------------------------------
// Replies to the core.

/** A request's values: [op, ...]. */
function decodeRequest(bytes, start) {
  const decoder = new Decoder(bytes, start)
  const n = decoder.varint()
  const values = new Array(n)
  for (let i = 0; i < n; i++) values[i] = decoder.value()
  return values
}

// ---------------------------------------------------------------------------------------
// Stores.

/** `f(value)`, after `value` if it is a promise. */
function then(value, f) {
  return isThenable(value) ? Promise.resolve(value).then(f) : f(value)
}

/** Runs `steps` (functions) in order, waiting for those that return promises. */
function sequence(steps) {
  for (let i = 0; i < steps.length; i++) {
    const result = steps[i]()
    if (isThenable(result)) {
      return Promise.resolve(result).then(() => sequence(steps.slice(i + 1)))
    }
  }
  return undefined
}

const isAsync = (fn) => typeof fn === 'function' && fn.constructor?.name === 'AsyncFunction'

/**
 * A store of the host that implements the other library's `RDFStore` (insert, delete,
 * query, optional batchInsert, batchDelete and transaction, each sync or async), used as
 * it is: it gets and gives JS values, and knows no graphs.
 */
class RdfStoreAdapter {
  constructor(store) {
    this.store = store
    this.graphs = false
    this.synchronous = store.synchronous === true ||
      (store.synchronous === undefined && ![store.query, store.insert, store.delete, store.batchInsert, store.batchDelete, store.transaction].some(isAsync))
  }

  rows(s, p, object) {
    const pattern = { subject: s, predicate: p, object: object ? jsValue(object[0], object[1]) : null }
    return then(this.store.query(pattern), (triples) => {
      if (!Array.isArray(triples)) throw new TypeError(`the triple store's query gave ${typeof triples}, not an array of triples`)
      return triples.map((triple) => {
        if (typeof triple?.subject !== 'string' || typeof triple.predicate !== 'string') {
          throw new TypeError("the triple store's query gave a triple whose subject or predicate is not a string")
        }
        return [triple.subject, triple.predicate, ...kindOfValue(triple.object, "the triple store's query"), '']
      })
    })
  }

  apply(_graph, deletes, inserts) {
    const store = this.store
    const steps = []
    if (deletes.length && typeof store.batchDelete === 'function') {
      const patterns = deletes.map(([subject, predicate, kind, lexical]) => (kind === null ? { subject, predicate } : { subject, predicate, object: jsValue(kind, lexical) }))
      steps.push(() => store.batchDelete(patterns))
    } else {
      for (const [s, p, kind, lexical] of deletes) steps.push(kind === null ? () => store.delete(s, p) : () => store.delete(s, p, jsValue(kind, lexical)))
    }
    const triples = inserts.map(([subject, predicate, kind, lexical]) => ({ subject, predicate, object: jsValue(kind, lexical) }))
    if (triples.length && typeof store.batchInsert === 'function') steps.push(() => store.batchInsert(triples))
    else for (const { subject, predicate, object } of triples) steps.push(() => store.insert(subject, predicate, object))
    if (typeof store.transaction === 'function') return store.transaction(() => sequence(steps))
    return sequence(steps)
  }
}

/**
 * What this package's stores share: the RDFStore methods for hosts (in JS values, on the
 * default graph or `graph`), RDF/JS `match()` and `getQuads()`. A subclass implements:
 * - `rows(s, p, object, graphs)`: [s, p, kind, lexical, graph] of the triples matching
 *   (null: any; `object` is [kind, lexical]) in the named graphs ('' the default graph):
 *   a call's reads;
 * - `apply(graph, deletes, inserts)`: in one transaction, deletes [s, p, kind, lexical]
 *   (kind null: every object of (s, p)), then inserts [s, p, kind, lexical], in `graph`;
 * - `quadRows(s, p, object, graph)`: as rows, over every graph when `graph` is undefined:
 *   the host's reads;
 * - optionally `callStarts()`: a call is about to read (its reads see what is committed now);
 * - `synchronous`: true if none of them returns a promise (then `runSync` can use it).
 */
export class TripleStore {
  get synchronous() {
    return false
  }

  /** Adds a triple (the other library's RDFStore method; JS values; `graph` '' by default). */
  insert(subject, predicate, object, graph = '') {
    return this.apply(graph, [], [[subject, predicate, ...checkedValue(object)]])
  }

  /** Deletes (subject, predicate, object), or every object of (subject, predicate). */
  delete(subject, predicate, object, graph = '') {
    const pattern = object === undefined || object === null ? [subject, predicate, null, null] : [subject, predicate, ...checkedValue(object)]
    return this.apply(graph, [pattern], [])
  }

  batchInsert(triples, graph = '') {
    return this.apply(graph, [], triples.map(({ subject, predicate, object }) => [subject, predicate, ...checkedValue(object)]))
  }

  batchDelete(patterns, graph = '') {
    return this.apply(graph, patterns.map(({ subject, predicate, object }) => (object === undefined || object === null ? [subject, predicate, null, null] : [subject, predicate, ...checkedValue(object)])), [])
  }

  /** Triples matching `pattern` (null or absent fields: any), in the order scripts get. */
  query({ subject = null, predicate = null, object = null } = {}, graph = '') {
    const wanted = object === null || object === undefined ? null : checkedValue(object)
    return then(this.quadRows(subject, predicate, wanted, graph), (rows) =>
      rows.sort(compareRows).map(([s, p, kind, lexical]) => ({ subject: s, predicate: p, object: jsValue(kind, lexical) })),
    )
  }

  /** RDF/JS quads matching the terms (null or undefined: any), over every graph unless `graph` is given. */
  getQuads(subject, predicate, object, graph) {
    const s = subject ? subject.value : null
    const p = predicate ? predicate.value : null
    const o = object ? kindOfTerm(object) : null
    const g = graph ? graphName(graph) : undefined
    return then(this.quadRows(s, p, o, g), (rows) => rows.map(quadOfRow))
  }

  /** RDF/JS Source: a stream of the quads matching (SPARQL engines such as Comunica read this). */
  match(subject, predicate, object, graph) {
    return new QuadStream(this.getQuads(subject, predicate, object, graph))
  }
}

function checkedValue(value) {
  const [kind, lexical] = kindOfValue(value)
  if (kind === KIND.NIL) throw new TypeError('a triple needs an object (null and undefined are none)')
  return [kind, lexical]
}

/**
 * An RDF/JS Stream (an event emitter of 'data', 'end' and 'error', readable with read())
 * of quads that come as an array or a promise of one.
 */
export class QuadStream {
  #listeners = new Map()
  #quads = null
  #ended = false

  constructor(quads) {
    Promise.resolve(quads).then(
      (found) => {
        this.#quads = found
        this.#emit('readable')
        this.#flow()
      },
      (error) => this.#emit('error', error),
    )
  }

  #emit(event, ...args) {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args)
  }

  #flow() {
    if (!this.#quads || this.#ended || !this.#listeners.get('data')?.length) {
      if (this.#quads && this.#quads.length === 0 && !this.#ended) this.#end()
      return
    }
    while (this.#quads.length) this.#emit('data', this.#quads.shift())
    this.#end()
  }

  #end() {
    this.#ended = true
    queueMicrotask(() => this.#emit('end'))
  }

  read() {
    if (!this.#quads || this.#ended) return null
    const quad = this.#quads.shift() ?? null
    if (this.#quads.length === 0) this.#end()
    return quad
  }

  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, [])
    this.#listeners.get(event).push(listener)
    if (event === 'data') queueMicrotask(() => this.#flow())
    if (event === 'end' && this.#ended) queueMicrotask(listener)
    return this
  }

  addListener(event, listener) {
    return this.on(event, listener)
  }

  once(event, listener) {
    const once = (...args) => {
      this.removeListener(event, once)
      listener(...args)
    }
    return this.on(event, once)
  }

  removeListener(event, listener) {
    const list = this.#listeners.get(event)
    const i = list ? list.indexOf(listener) : -1
    if (i >= 0) list.splice(i, 1)
    return this
  }

  off(event, listener) {
    return this.removeListener(event, listener)
  }

  async *[Symbol.asyncIterator]() {
    yield* await new Promise((resolve, reject) => {
      const all = []
      this.on('data', (quad) => all.push(quad)).on('end', () => resolve(all)).on('error', reject)
    })
  }
}

/**
 * The in-memory store, on N3.js: a `Store` of the package n3 (the host's own, or one made
 * here in Node, where n3 is loaded when the first is made). Synchronous: commits are atomic
 * by construction, and `runSync` can use it.
 */
export class N3TripleStore extends TripleStore {
  /** In Node, how a Store is made when none is given (set by index.js). */
  static makeStore = null

  #ids = new Map()
  /** Whether the store's indexes can be read directly (lib/n3-index.mjs); known at the first read. */
  #indexed = null

  constructor(store) {
    super()
    if (store === undefined) {
      if (!N3TripleStore.makeStore) throw new TypeError("N3TripleStore needs an N3 Store here: new N3TripleStore(new Store()), with Store from the package n3 (npm install n3)")
      store = N3TripleStore.makeStore()
    }
    if (!store || typeof store.getQuads !== 'function' || typeof store.addQuad !== 'function' || typeof store.removeQuads !== 'function') {
      throw new TypeError('N3TripleStore takes an N3 Store (getQuads, addQuad, removeQuads)')
    }
    /** The N3 Store: hosts may read and write it directly (RDF/JS). */
    this.store = store
  }

  get synchronous() {
    return true
  }

  get size() {
    return this.store.size
  }

  // The n3 Store's own ids of terms (strings, which it takes in place of terms: no term
  // object is made per quad), or a term where a string would not be read as an IRI.
  #iri(iri) {
    return MARKED.test(iri) ? namedNode(iri) : iri
  }

  #object(kind, lexical) {
    if (kind === KIND.IRI) return this.#iri(lexical)
    if (kind === KIND.STRING) return `"${lexical}"`
    let suffix = this.#ids.get(kind)
    if (!suffix) this.#ids.set(kind, (suffix = `"^^${DATATYPE_OF[kind]}`))
    return `"${lexical}${suffix}`
  }

  #graph(graph) {
    return graph === '' ? '' : this.#iri(graph)
  }

  // Rows of the quads matching (`graph` undefined: every graph): read from n3's indexes
  // where its layout is the one lib/n3-index.mjs knows (checked at the first read), else
  // through getQuads.
  #rows(s, p, object, graph, rows) {
    const o = object === null ? null : this.#object(object[0], object[1])
    if (graph !== undefined && (this.#indexed ??= canReadIndex(this.store))) {
      const store = this.store
      readIndex(store, s === null ? null : this.#iri(s), p === null ? null : this.#iri(p), o, this.#graph(graph), (sKey, pKey, oKey) => {
        const [kind, lexical] = oKey.charCodeAt(0) === QUOTE ? literalOfId(oKey) : isMarked(oKey) ? objectOfTerm(termOf(store, oKey)) : [KIND.IRI, oKey]
        // (A given subject or predicate is the triple's: no need to read it back.)
        rows.push([s ?? nameOfKey(store, sKey), p ?? nameOfKey(store, pKey), kind, lexical, graph])
      })
      return rows
    }
    const quads = this.store.getQuads(s === null ? null : this.#iri(s), p === null ? null : this.#iri(p), o, graph === undefined ? null : this.#graph(graph))
    for (let i = 0; i < quads.length; i++) {
      const quad = quads[i]
      const [kind, lexical] = objectOfTerm(quad.object)
      rows.push([s ?? quad.subject.value, p ?? quad.predicate.value, kind, lexical, graph ?? graphName(quad.graph)])
    }
    return rows
  }

  rows(s, p, object, graphs) {
    const rows = []
    for (const graph of graphs) this.#rows(s, p, object, graph, rows)
    return rows
  }

  quadRows(s, p, object, graph) {
    return this.#rows(s, p, object, graph, [])
  }

  apply(graph, deletes, inserts) {
    const g = this.#graph(graph)
    for (const [s, p, kind, lexical] of deletes) {
      const found = this.store.getQuads(this.#iri(s), this.#iri(p), kind === null ? null : this.#object(kind, lexical), g)
      if (found.length) this.store.removeQuads(found)
    }
    for (const [s, p, kind, lexical] of inserts) this.store.addQuad(this.#iri(s), this.#iri(p), this.#object(kind, lexical), g)
  }

  match(subject, predicate, object, graph) {
    return this.store.match(subject ?? null, predicate ?? null, object ?? null, graph ?? null)
  }
}

// Strings that an n3 Store would not read as IRIs (blank nodes, literals, variables, ...).
const MARKED = /^[?_"[.<]/

const AT = '@'.charCodeAt(0)
const QUOTE = '"'.charCodeAt(0)

// Whether an n3 key is other than an IRI as it is (a literal, a blank node, a wrapped IRI...):
// it starts with one of MARKED's characters (compared as codes: this runs per row).
function isMarked(key) {
  const first = key.charCodeAt(0)
  return first === 0x3f || first === 0x5f || first === QUOTE || first === 0x5b || first === 0x2e || first === 0x3c
}

// A subject's or predicate's name from its n3 key.
function nameOfKey(store, key) {
  return isMarked(key) ? termOf(store, key).value : key
}

/** [kind, lexical] of an object term of an n3 Store. */
function objectOfTerm(term) {
  const id = term.id
  if (typeof id !== 'string') return kindOfTerm(term)
  if (term.termType === 'NamedNode') return [KIND.IRI, term.value]
  if (term.termType !== 'Literal') return kindOfTerm(term)
  return literalOfId(id)
}

/** [kind, lexical] of a literal from its n3 id: "lexical", "lexical"^^datatype or "lexical"@language. */
function literalOfId(id) {
  const end = id.lastIndexOf('"')
  const lexical = id.slice(1, end)
  if (end === id.length - 1 || id.charCodeAt(end + 1) === AT) return [KIND.STRING, lexical]
  // The core's own integers (every one it writes), told without slicing the datatype.
  if (id.length - end - 3 === XSD_INTEGER.length && id.endsWith(XSD_INTEGER) && CANONICAL_INTEGER.test(lexical)) return [KIND.INTEGER, lexical]
  return kindOfLiteral(lexical, id.slice(end + 3))
}


// ---------------------------------------------------------------------------------------
// The option and the session.

const TRIPLES_FIELDS = ['store', 'graphs', 'maxWrites']

const isStore = (value) => value !== null && typeof value === 'object' &&
  (value instanceof TripleStore || (typeof value.query === 'function' && typeof value.insert === 'function' && typeof value.delete === 'function'))

/** Checks a `triples` option (a store, or { store, graphs, maxWrites }); returns that object or undefined. */
export function checkTriples(option, name) {
  if (option === undefined) return undefined
  if (isStore(option)) return { store: option, graphs: undefined, maxWrites: undefined }
  if (!isPlainObject(option)) {
    throw new TypeError(`${name}.triples must be a triple store (insert, delete, query) or { store, graphs, maxWrites }`)
  }
  for (const key of Object.keys(option)) {
    if (!TRIPLES_FIELDS.includes(key)) throw new TypeError(`${name}.triples.${key} is not an option (expected one of ${TRIPLES_FIELDS.join(', ')})`)
  }
  const { store, graphs, maxWrites } = option
  if (store !== undefined && !isStore(store)) throw new TypeError(`${name}.triples.store must be a triple store (insert, delete, query)`)
  if (graphs !== undefined && typeof graphs !== 'function') throw new TypeError(`${name}.triples.graphs must be a function of the scriptId`)
  if (maxWrites !== undefined && (!Number.isSafeInteger(maxWrites) || maxWrites < 0)) throw new TypeError(`${name}.triples.maxWrites must be a whole number >= 0`)
  return { store, graphs, maxWrites }
}

const adapters = new WeakMap()

/** The store as the session talks to it. */
function adapterOf(store) {
  if (store instanceof TripleStore) return store
  let adapter = adapters.get(store)
  if (!adapter) adapters.set(store, (adapter = new RdfStoreAdapter(store)))
  return adapter
}

/** The graphs of a script: { write: name, read: [names] } ('' is the default graph). */
function graphsOf(graphs, scriptId, adapter) {
  if (!graphs) return DEFAULT_GRAPHS
  if (adapter instanceof RdfStoreAdapter) throw new TypeError('triples.graphs needs a store with graphs (N3TripleStore, SqliteTripleStore, IndexedDbTripleStore); this RDFStore has none')
  const given = graphs(scriptId)
  const write = given?.write ?? ''
  const read = given?.read ?? [write]
  if (typeof write !== 'string' || !Array.isArray(read) || !read.every((graph) => typeof graph === 'string')) {
    throw new TypeError('triples.graphs(scriptId) must return { write: graph name, read: [graph names] } (\'\' is the default graph)')
  }
  return { write, read: [...new Set(read)] }
}

const rowKey = (s, p, kind, lexical) => `${s}\0${p}\0${kind}\0${lexical}`

// What a buffered write counts against the call's memory limit: its strings (UTF-16 in JS)
// and about what its entries in the session's maps take.
const insertSize = (s, p, lexical) => 2 * (s.length + p.length + lexical.length) + 64
const deleteSize = insertSize

// What a session reads as its writes until it makes one (read-only: nothing adds to it).
const NO_WRITES = new Map()

// A script's graphs when the host names none.
const DEFAULT_GRAPHS = Object.freeze({ write: '', read: Object.freeze(['']) })

/** One call's view of the triples: its writes, waiting for its end, merged into what it reads. */
export class TriplesSession {
  /**
   * `replyLimit`: bytes of a reply that could still fit in the call's state; `writeLimit`:
   * bytes of writes the call may buffer (its memory limit); `maxWrites`: triples it may
   * insert or delete.
   */
  constructor({ store, graphs, maxWrites }, scriptId, { replyLimit = Infinity, writeLimit = Infinity } = {}) {
    this.triples = true
    this.store = adapterOf(store)
    /** Whether the store was told that this call reads (`callStarts`). */
    this.reading = false
    this.scriptId = scriptId
    const { write, read } = graphsOf(graphs, scriptId, this.store)
    this.graph = write
    this.readGraphs = read
    this.replyLimit = replyLimit
    this.writeLimit = writeLimit
    this.maxWrites = maxWrites ?? DEFAULT_MAX_WRITES
    /** The rows of the reply `writeRows` writes next, and the subject and predicate their query named. */
    this.rows = null
    this.rowsSubject = null
    this.rowsPredicate = null
    this.writes = 0
    this.writeBytes = 0
    // (Maps of the call's writes: made at its first write, `NO_WRITES` until then.)
    /** Triples inserted by the call (and not deleted after): key -> [s, p, kind, lexical]. */
    this.inserted = NO_WRITES
    /** The same keys by `${s}\0${p}`. */
    this.insertedByPair = NO_WRITES
    /** Deletes: `${s}\0${p}` -> { s, p, all: true } or { s, p, all: false, objects: Map(objectKey -> [kind, lexical]) }. */
    this.deletes = NO_WRITES
  }

  // Makes the maps of the call's writes (at its first write).
  writing() {
    if (this.inserted !== NO_WRITES) return
    this.inserted = new Map()
    this.insertedByPair = new Map()
    this.deletes = new Map()
  }

  /**
   * The reply (bytes, a promise of them, or `WRITE_ROWS`: `rowsReply`) to a
   * request of the core (its wire arguments at bytes[start..]). A request may start with the inserts the core kept for later
   * (`'inserted', n`, then four values each: crates/core/src/triple_writes.rs); they come
   * first, in order, as if each had been its own request. A reply to a write says what the
   * call can still write, so that the core knows which inserts it may keep.
   */
  request(bytes, start) {
    const args = decodeRequest(bytes, start)
    let at = 0
    if (args[0] === 'inserted') {
      const end = 2 + 4 * args[1]
      for (let i = 2; i < end; i += 4) this.insert('insert', args[i], args[i + 1], args[i + 2], args[i + 3])
      at = end
      if (at === args.length) return this.headroom()
    }
    switch (args[at]) {
      case 'insert':
        this.insert('insert', args[at + 1], args[at + 2], args[at + 3], args[at + 4])
        return this.headroom()
      case 'batchInsert': {
        // All or nothing: the bounds are checked for the whole batch first.
        let size = 0
        for (let i = at + 1; i < args.length; i += 4) size += insertSize(args[i], args[i + 1], args[i + 3])
        this.fits('batchInsert', size)
        this.count('batchInsert', (args.length - at - 1) / 4)
        for (let i = at + 1; i < args.length; i += 4) this.insert('batchInsert', args[i], args[i + 1], args[i + 2], args[i + 3], false)
        return this.headroom()
      }
      case 'delete':
        this.delete('delete', args[at + 1], args[at + 2], args[at + 3] ?? null, args[at + 4] ?? null)
        return this.headroom()
      case 'set':
        // Checked first, so that a refused set deletes nothing either.
        this.fits('set', deleteSize(args[at + 1], args[at + 2], '') + insertSize(args[at + 1], args[at + 2], args[at + 4]))
        this.count('set', 1)
        this.delete('set', args[at + 1], args[at + 2], null, null, false)
        this.insert('set', args[at + 1], args[at + 2], args[at + 3], args[at + 4], false)
        return this.headroom()
      case 'query':
        return this.rowsReply(this.query(args[at + 1], args[at + 2], args[at + 3] === null ? null : [args[at + 3], args[at + 4]]), args[at + 1], args[at + 2], false)
      case 'get':
        return this.rowsReply(this.query(args[at + 1], args[at + 2], null), args[at + 1], args[at + 2], true)
      default:
        throw new Error(`State: unknown request ${args[at]}`)
    }
  }

  /**
   * The reply of `rows` (the first only, if `first`) to a query of `s` and `p` (null: any):
   * whole bytes when a store gave a promise of them, else `WRITE_ROWS`, and `writeRows`
   * writes them into the caller's buffer (lib/bridge.mjs), which spares a copy per query.
   */
  rowsReply(rows, s, p, first) {
    if (isThenable(rows)) {
      return Promise.resolve(rows).then((rows) => standalone(encodeRowsInto, first ? rows.slice(0, 1) : rows, s, p, this.replyLimit))
    }
    this.rows = first && rows.length > 1 ? rows.slice(0, 1) : rows
    this.rowsSubject = s
    this.rowsPredicate = p
    return WRITE_ROWS
  }

  /** Writes the rows `rowsReply` kept (reply.mjs encodeRowsInto); their length. */
  writeRows(bytes, start, capacity) {
    const rows = this.rows
    this.rows = null
    return encodeRowsInto(rows, this.rowsSubject, this.rowsPredicate, this.replyLimit, bytes, start, capacity)
  }

  /** The reply to a write: the writes and bytes of writes the call may still make. */
  headroom() {
    const e = encoder(null, Infinity, 'State')
    try {
      e.u8(REPLY_VALUES)
      e.varint(2)
      e.integer(Math.min(this.maxWrites - this.writes, Number.MAX_SAFE_INTEGER))
      e.integer(Math.min(this.writeLimit - this.writeBytes, Number.MAX_SAFE_INTEGER))
      return e.copy()
    } finally {
      e.finish()
    }
  }

  // Counts `n` writes against the call's bound.
  count(op, n) {
    if (this.writes + n > this.maxWrites) {
      throw new Error(`State.${op}: a call may write at most ${this.maxWrites} triples (inserted or deleted)`)
    }
    this.writes += n
  }

  // Whether `n` more bytes of buffered writes fit in the call's memory limit (else an error).
  fits(op, n) {
    if (this.writeBytes + n > this.writeLimit) {
      throw new Error(`State.${op}: the call's writes would pass its memory limit (${this.writeLimit} bytes)`)
    }
  }

  // Counts bytes of buffered writes against the call's memory limit.
  bytes(op, n) {
    this.fits(op, n)
    this.writeBytes += n
  }

  insert(op, s, p, kind, lexical, counted = true) {
    if (counted) this.count(op, 1)
    this.writing()
    const key = rowKey(s, p, kind, lexical)
    if (this.inserted.has(key)) return
    this.bytes(op, insertSize(s, p, lexical))
    this.inserted.set(key, [s, p, kind, lexical])
    const pair = `${s}\0${p}`
    let keys = this.insertedByPair.get(pair)
    if (!keys) this.insertedByPair.set(pair, (keys = new Set()))
    keys.add(key)
  }

  delete(op, s, p, kind, lexical, counted = true) {
    if (counted) this.count(op, 1)
    this.writing()
    const pair = `${s}\0${p}`
    const keys = this.insertedByPair.get(pair)
    if (keys) {
      for (const key of keys) {
        if (kind === null || key === rowKey(s, p, kind, lexical)) {
          this.inserted.delete(key)
          keys.delete(key)
        }
      }
    }
    const deleted = this.deletes.get(pair)
    if (deleted?.all) return
    if (kind === null) {
      this.bytes(op, deleteSize(s, p, ''))
      this.deletes.set(pair, { s, p, all: true })
      return
    }
    this.bytes(op, deleteSize(s, p, lexical))
    if (deleted) deleted.objects.set(`${kind}\0${lexical}`, [kind, lexical])
    else this.deletes.set(pair, { s, p, all: false, objects: new Map([[`${kind}\0${lexical}`, [kind, lexical]]]) })
  }

  // Whether the call deleted the store's triple `row` (in its own graph).
  deleted([s, p, kind, lexical, graph]) {
    if (this.deletes.size === 0 || graph !== this.graph) return false
    const deleted = this.deletes.get(`${s}\0${p}`)
    return !!deleted && (deleted.all || deleted.objects.has(`${kind}\0${lexical}`))
  }

  /** The triples matching: the store's, less the call's deletes, plus its inserts; sorted, distinct. */
  query(s, p, object) {
    if (!this.reading) {
      // Before the call's first read: it sees what is committed now, not what an earlier
      // call began to read (SqliteTripleStore's read transaction), as StateSession does.
      this.reading = true
      this.store.callStarts?.()
    }
    const stored = this.store.rows(s, p, object, this.readGraphs)
    return isThenable(stored) ? Promise.resolve(stored).then((rows) => this.merged(rows, s, p, object)) : this.merged(stored, s, p, object)
  }

  // The store's rows of a query, less the call's deletes, plus its inserts; sorted, distinct.
  merged(stored, s, p, object) {
    // One row, nothing of the call's own to merge: nothing to sort or make distinct.
    if (stored.length <= 1 && this.inserted.size === 0) return stored.length && !this.deleted(stored[0]) ? stored : []
    const seen = new Set()
    const rows = []
    const add = (row) => {
      const key = rowKey(row[0], row[1], row[2], row[3])
      if (seen.has(key)) return
      seen.add(key)
      rows.push(row)
    }
    for (const row of stored) if (!this.deleted(row)) add(row)
    if (this.inserted.size) {
      const matches = ([rs, rp, kind, lexical]) => (s === null || rs === s) && (p === null || rp === p) && (object === null || (kind === object[0] && lexical === object[1]))
      const candidates = s !== null && p !== null ? [...(this.insertedByPair.get(`${s}\0${p}`) ?? [])].map((key) => this.inserted.get(key)) : this.inserted.values()
      for (const row of candidates) if (matches(row)) add(row)
    }
    return rows.sort(compareRows)
  }

  /** Writes the call's triples to the store at once (undefined, or a promise). */
  commit() {
    if (this.deletes.size === 0 && this.inserted.size === 0) return undefined
    const deletes = []
    for (const { s, p, all, objects } of this.deletes.values()) {
      if (all) deletes.push([s, p, null, null])
      else for (const [kind, lexical] of objects.values()) deletes.push([s, p, kind, lexical])
    }
    const inserts = [...this.inserted.values()]
    this.deletes.clear()
    this.inserted.clear()
    return then(this.store.apply(this.graph, deletes, inserts), () => undefined)
  }

  /** Triples never conflict: a failed call has nothing to check. */
  validate() {
    return undefined
  }
}
