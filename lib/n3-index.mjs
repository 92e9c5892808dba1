// Reads an n3 Store's indexes directly: how N3TripleStore (lib/triples.mjs) answers a
// call's queries.
//
// Why not n3's public API: `getQuads` runs two nested generators per query, and makes a
// Quad and its terms per triple, which N3TripleStore at once turns back into the strings
// the core takes. 10 queries by subject on 10k triples in a tight JS loop: 29.6 us through
// `getQuads`, 11.2 us here (one run); a call of ours making them went from 2.05-2.4x the
// direct `getQuads` loop to ~1.5x (README, Benchmarks). n3 has no public way to read its
// indexes as strings (`forObjects` and friends make terms, and a closure and a map per
// call: slower still), so this reads fields n3 does not document:
//
//   store._graphs[graph].subjects[s][p][o] (also .predicates[p][o][s], .objects[o][s][p])
//     numeric ids as keys; store._entities[id] is the entity's key (n3's term id, IRIs
//     that look like other terms wrapped in <>); store._termToNumericId(id or term) and
//     store._termFromId(key) convert.
//
// That layout is checked before it is trusted, once per Store class: `canReadIndex` builds
// a small store of that class with every kind of term and graph in it, and answers every
// pattern both ways; a class that differs, lacks a field, or overrides how n3 reads (a
// reasoner's getQuads, say) is read through `getQuads`, as before. So a future n3 that
// changes its indexes is slower here, not wrong.

/** Store classes (prototypes) checked: whether their indexes can be read here. */
const checked = new WeakMap()

/**
 * Whether `store` (an n3 Store) can be read with `readIndex`: its class has n3's own
 * reading methods and the index layout above (checked on a probe store, once per class).
 */
export function canReadIndex(store) {
  const proto = Object.getPrototypeOf(store)
  if (!proto || !hasLayout(store)) return false
  let ok = checked.get(proto)
  if (ok === undefined) {
    ok = probe(proto)
    checked.set(proto, ok)
  }
  return ok
}

// n3's reading methods, not overridden, and the fields this file reads.
function hasLayout(store) {
  if (Object.hasOwn(store, 'getQuads') || Object.hasOwn(store, 'readQuads')) return false
  let owner = Object.getPrototypeOf(store)
  while (owner && !Object.hasOwn(owner, '_findInIndex')) owner = Object.getPrototypeOf(owner)
  return !!owner && store.getQuads === owner.getQuads && store.readQuads === owner.readQuads &&
    typeof store._termToNumericId === 'function' && typeof store._termFromId === 'function' &&
    !!store._graphs && typeof store._graphs === 'object' && !!store._entities && typeof store._entities === 'object'
}

/**
 * Calls `visit(subjectKey, predicateKey, objectKey)` for each triple of graph `g` matching
 * `s`, `p`, `o` (n3 ids or terms, as `getQuads` takes them; null: any). `g` is a graph's id
 * ('' the default graph). The keys are n3's (`termOf` makes terms of them).
 */
export function readIndex(store, s, p, o, g, visit) {
  const idOf = store._termToNumericId
  const sid = s === null ? 0 : idOf(s)
  const pid = p === null ? 0 : idOf(p)
  const oid = o === null ? 0 : idOf(o)
  if ((s !== null && !sid) || (p !== null && !pid) || (o !== null && !oid)) return
  const gid = idOf(g)
  const content = gid && store._graphs[gid]
  if (!content) return
  const entities = store._entities
  // The index n3 itself would pick for the pattern.
  if (sid) walk(content.subjects, sid, pid, oid, (a, b, c) => visit(entities[a], entities[b], entities[c]))
  else if (pid) walk(content.predicates, pid, oid, 0, (a, b, c) => visit(entities[c], entities[a], entities[b]))
  else if (oid) walk(content.objects, oid, 0, 0, (a, b, c) => visit(entities[b], entities[c], entities[a]))
  else walk(content.subjects, 0, 0, 0, (a, b, c) => visit(entities[a], entities[b], entities[c]))
}

/** The RDF/JS term of an entity key `readIndex` gave (n3's own conversion). */
export function termOf(store, key) {
  return store._termFromId(key)
}

// The keys of a three-level index, each level by its given key (0: every key).
function walk(index0, k0, k1, k2, emit) {
  if (k0) {
    const index1 = index0[k0]
    if (index1) walkFrom(index1, k0, k1, k2, emit)
    return
  }
  for (const a of Object.keys(index0)) walkFrom(index0[a], a, k1, k2, emit)
}

function walkFrom(index1, a, k1, k2, emit) {
  if (k1) {
    const index2 = index1[k1]
    if (index2) emitFrom(index2, a, k1, k2, emit)
    return
  }
  for (const b of Object.keys(index1)) emitFrom(index1[b], a, b, k2, emit)
}

function emitFrom(index2, a, b, k2, emit) {
  if (k2) {
    if (k2 in index2) emit(a, b, k2)
    return
  }
  const keys = Object.keys(index2)
  for (let i = 0; i < keys.length; i++) emit(a, b, keys[i])
}

// ---------------------------------------------------------------------------------------
// The probe: a store of the class, with every kind of term in every position that takes it
// and two graphs, read both ways: every index, with and without each key.

const XSD = 'http://www.w3.org/2001/XMLSchema#'
const named = (value) => ({ termType: 'NamedNode', value })
const PROBE_TERMS = {
  subjects: ['http://example.org/s', '_:b0', named('_:not-a-blank')],
  predicates: ['http://example.org/p', named('?not-a-variable')],
  objects: ['http://example.org/o', '_:b1', named('"not-a-literal'), '"say "hi""', `"7"^^${XSD}integer`, '"tag"@en'],
  graphs: ['', 'http://example.org/g'],
}

function probe(proto) {
  try {
    const store = new proto.constructor()
    if (Object.getPrototypeOf(store) !== proto || !hasLayout(store)) return false
    const { subjects, predicates, objects, graphs } = PROBE_TERMS
    subjects.forEach((s, i) => {
      predicates.forEach((p, j) => {
        objects.forEach((o, k) => {
          if ((i + j + k) % 2 === 0) store.addQuad(s, p, o, graphs[(i + k) % 2])
        })
      })
    })
    const added = store.getQuads(null, null, null, null).length
    if (added !== store.size || added === 0) return false
    // Every index with and without each key: each term alone, then pairs and the triple.
    const [s0, s1] = subjects
    const [p0, p1] = predicates
    const [o0, o1] = objects
    const patterns = [[null, null, null], ...subjects.map((s) => [s, null, null]), ...predicates.map((p) => [null, p, null]), ...objects.map((o) => [null, null, o]),
      [s0, p0, null], [s1, p1, null], [s0, null, o0], [s1, null, o1], [null, p0, o0], [null, p1, o1], [s0, p0, o0], [s1, p1, o1]]
    for (const g of graphs) {
      for (const [s, p, o] of patterns) {
        const expected = store.getQuads(s, p, o, g).map((q) => `${text(q.subject)} ${text(q.predicate)} ${text(q.object)}`).sort()
        const read = []
        readIndex(store, s, p, o, g, (sk, pk, ok) => read.push(`${text(termOf(store, sk))} ${text(termOf(store, pk))} ${text(termOf(store, ok))}`))
        if (read.sort().join('\n') !== expected.join('\n')) return false
      }
    }
    return true
  } catch {
    return false
  }
}

// A term as text that tells every term apart.
function text(term) {
  return JSON.stringify([term.termType, term.value, term.language ?? '', term.datatype?.value ?? ''])
}
