// State as RDF triples in real Chromium (shared/triples-suite.mjs): an N3TripleStore on the
// page's own n3 Store, an IndexedDbTripleStore (a fresh database per store), and an async
// RDFStore of the host's. That the triples survive a page reload is e2e/vite-app's test.
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { Store } from 'n3'
import { describe, expect, it } from 'vitest'
import { asyncRdfStore, triplesSuite } from '../shared/triples-suite.mjs'

await ready

let databases = 0
const prefix = `pubwiki-triples-${Date.now()}`

triplesSuite(lua, [
  { name: 'an N3TripleStore', make: () => new lua.N3TripleStore(new Store()), graphs: true, terms: true },
  { name: 'an IndexedDbTripleStore', make: () => new lua.IndexedDbTripleStore(`${prefix}-${databases++}`), graphs: true, terms: true },
  { name: "an async RDFStore of the host's own", make: () => asyncRdfStore(), values: true },
])

describe('IndexedDbTripleStore', () => {
  it('keeps the triples for the next store opened on the database', async () => {
    const name = `${prefix}-again`
    const first = new lua.IndexedDbTripleStore(name)
    await lua.createRunner({ triples: first }).run("State.insert('book:1984', 'title', '1984') State.set('book:1984', 'year', 1949)", { scriptId: 'Module:Books' })
    await first.close()
    const second = new lua.IndexedDbTripleStore(name)
    const { values } = await lua.createRunner({ triples: second }).run("return #State.query({ subject = 'book:1984' }), State.get('book:1984', 'year')", { scriptId: 'Module:Books' })
    expect(values).toEqual([2, 1949])
    expect(await second.query({ predicate: 'title' })).toEqual([{ subject: 'book:1984', predicate: 'title', object: '1984' }])
    await second.close()
  })

  it('without n3 in browsers, N3TripleStore says what to pass', () => {
    expect(() => new lua.N3TripleStore()).toThrow(/new N3TripleStore\(new Store\(\)\)/)
  })
})
