// `State` as RDF triples in Node, once per backend (shared/triples-suite.mjs): on the
// in-memory N3TripleStore, on async stores of the other library's `RDFStore` interface (a
// host's own, and its example's Quadstore store), used as they are.
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { QuadstoreRdfStore } from './shared/quadstore-rdf-store.mjs'
import { asyncRdfStore, triplesSuite } from './shared/triples-suite.mjs'

const require = createRequire(import.meta.url)
const lua = require('..')

triplesSuite(lua, [
  { name: 'an N3TripleStore', make: () => new lua.N3TripleStore(), graphs: true, terms: true },
  { name: "an async RDFStore of the host's own (batches, transaction)", make: () => asyncRdfStore(), values: true },
  { name: "an async RDFStore of the host's own (insert, delete, query only)", make: () => asyncRdfStore({ transaction: false }), values: true },
  { name: "the other library's example store (Quadstore on memory-level)", make: () => QuadstoreRdfStore.create(), lossy: true },
])

describe('triples on RDFStores of the host', () => {
  it('commits through transaction, with one batch of deletes and one of inserts', async () => {
    const store = asyncRdfStore()
    const runner = lua.createRunner({ triples: store })
    await runner.run("State.insert('a', 'b', 1) State.insert('a', 'c', 2) State.delete('x', 'y') State.set('a', 'd', 3)", { scriptId: 'Module:T' })
    expect(store.log).toEqual(['transaction', 'batchDelete', 'batchInsert'])
    expect(store.all()).toEqual([{ subject: 'a', predicate: 'b', object: 1 }, { subject: 'a', predicate: 'c', object: 2 }, { subject: 'a', predicate: 'd', object: 3 }])
  })

  it('a call that only reads writes nothing; a failed commit rejects the call with the cause', async () => {
    const store = asyncRdfStore()
    store.batchInsert = async () => {
      throw new Error('disk full')
    }
    const runner = lua.createRunner({ triples: store })
    await runner.run("return State.query({})", { scriptId: 'Module:T' })
    expect(store.log).toEqual(['query'])
    const failed = runner.run("State.insert('a', 'b', 1)", { scriptId: 'Module:T' })
    await expect(failed).rejects.toThrow(/the state written by Module:T could not be saved: disk full/)
    expect(store.all()).toEqual([])
  })

  it('runSync works with a synchronous store, and refuses an async one', () => {
    const store = new lua.N3TripleStore()
    const runner = lua.createRunner({ triples: store })
    expect(runner.runSync("State.insert('s', 'p', 1) return State.get('s', 'p')", { scriptId: 'Module:S' }).values).toEqual([1])
    expect(store.size).toBe(1)
    expect(() => lua.createRunner({ triples: asyncRdfStore() }).runSync('return 1', { scriptId: 'Module:S' })).toThrow(TypeError)
  })
})
