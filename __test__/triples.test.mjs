// `State` as RDF triples in Node, once per backend (shared/triples-suite.mjs): on the
// in-memory N3TripleStore, a SqliteTripleStore file, and async stores of the other
// library's `RDFStore` interface (a host's own, and its example's Quadstore store), used as
// they are; then what only Node has: a file that outlives its process, SPARQL over the
// stores with Comunica, N-Quads and Turtle out of them with N3's Writer.
import { afterAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { QueryEngine } from '@comunica/query-sparql-rdfjs-lite'
import { Store, Writer } from 'n3'
import { QuadstoreRdfStore } from './shared/quadstore-rdf-store.mjs'
import { asyncRdfStore, triplesSuite } from './shared/triples-suite.mjs'

const require = createRequire(import.meta.url)
const lua = require('..')
const root = fileURLToPath(new URL('..', import.meta.url))

const folder = mkdtempSync(join(tmpdir(), 'pubwiki-triples-'))
const opened = []
let files = 0
const sqliteStore = () => {
  const store = new lua.SqliteTripleStore(join(folder, `triples-${files++}.db`))
  opened.push(store)
  return store
}

afterAll(() => {
  for (const store of opened) store.close()
  rmSync(folder, { recursive: true, force: true })
})

triplesSuite(lua, [
  { name: 'an N3TripleStore', make: () => new lua.N3TripleStore(), graphs: true, terms: true },
  { name: 'a SqliteTripleStore', make: sqliteStore, graphs: true, terms: true },
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

describe('persistent and RDF/JS triple stores', () => {
  it('SqliteTripleStore: a second process finds the triples the first wrote', () => {
    const file = join(folder, 'restart.db')
    const script = (code) => `
      const lua = require(${JSON.stringify(root)})
      const store = new lua.SqliteTripleStore(${JSON.stringify(file)})
      lua.createRunner({ triples: store }).run(${JSON.stringify(code)}, { scriptId: 'Module:Books' })
        .then(({ output }) => { process.stdout.write(output); store.close() })`
    const run = (code) => execFileSync(process.execPath, ['-e', script(code)], { encoding: 'utf8', env: process.env })
    expect(run("State.insert('book:1984', 'title', '1984') State.set('book:1984', 'year', 1949) print('written')")).toBe('written\n')
    expect(run("State.set('book:1984', 'year', 1950) for _, t in ipairs(State.query({ subject = 'book:1984' })) do print(t.predicate, t.object) end")).toBe('title\t1984\nyear\t1950\n')
    expect(run("print(State.get('book:1984', 'year'), math.type(State.get('book:1984', 'year')))")).toBe('1950\tinteger\n')
  })

  it("SqliteTripleStore: calls read what another connection committed before they started, hosts read it at once", async () => {
    // Two stores on one file: two connections, as two processes would have. Calls read in
    // one read transaction per stretch of synchronous JS (lib/sqlite-triple-store.mjs);
    // none may read older than what was committed when it started, nor hide a host's read.
    const file = join(folder, 'two-connections.db')
    const reader = new lua.SqliteTripleStore(file)
    const writer = new lua.SqliteTripleStore(file)
    opened.push(reader, writer)
    const runner = lua.createRunner({ triples: reader })
    const count = "return #State.query({ subject = 'page:1' })"
    expect(runner.runSync(count, { scriptId: 'Module:R' }).values).toEqual([0])
    // Same task: no microtask has run since that call read.
    writer.insert('page:1', 'rev', 1)
    expect(reader.query({ subject: 'page:1' })).toEqual([{ subject: 'page:1', predicate: 'rev', object: 1 }])
    expect(runner.runSync(count, { scriptId: 'Module:R' }).values).toEqual([1])
    // A call's own commit, read by the next call in the same task, and by an awaited one.
    runner.runSync("State.insert('page:1', 'rev', 2)", { scriptId: 'Module:R' })
    expect(runner.runSync(count, { scriptId: 'Module:R' }).values).toEqual([2])
    writer.insert('page:1', 'rev', 3)
    expect((await runner.run(count, { scriptId: 'Module:R' })).values).toEqual([3])
    // A call waiting for its host holds no read transaction: the writer's commit meanwhile
    // is read by its next query.
    const host = lua.createRunner({
      triples: reader,
      globals: {
        later: async () => {
          await new Promise((resolve) => setTimeout(resolve, 10))
          writer.insert('page:1', 'rev', 4)
        },
      },
    })
    const before = `local n = #State.query({ subject = 'page:1' }) later() return n, #State.query({ subject = 'page:1' })`
    expect((await host.run(before, { scriptId: 'Module:R' })).values).toEqual([3, 4])
  })

  describe.each([
    { name: 'N3TripleStore', make: () => new lua.N3TripleStore() },
    { name: 'SqliteTripleStore', make: sqliteStore },
  ])('$name speaks RDF/JS', ({ make }) => {
    const fill = async (store) => {
      await lua.createRunner({ triples: store }).run(`State.batchInsert({
        { subject = 'resource://book:1984', predicate = 'dc:title', object = '1984' },
        { subject = 'resource://book:1984', predicate = 'dc:date', object = 1949 },
        { subject = 'resource://book:bnw', predicate = 'dc:title', object = 'Brave New World' },
        { subject = 'resource://book:bnw', predicate = 'dc:date', object = 1932 },
        { subject = 'resource://book:bnw', predicate = 'dc:creator', object = 'resource://person:huxley' },
        { subject = 'resource://person:huxley', predicate = 'foaf:name', object = 'Aldous Huxley' },
        { subject = 'resource://book:bnw', predicate = 'ex:rating', object = 4.5 },
        { subject = 'resource://book:bnw', predicate = 'ex:tags', object = { 'classic', 'dystopian' } },
      })`, { scriptId: 'Module:Books' })
      return store
    }

    it('answers SPARQL through Comunica', async () => {
      const store = await fill(await make())
      const engine = new QueryEngine()
      const query = `SELECT ?title ?name WHERE {
        ?book <dc:title> ?title ; <dc:date> ?year ; <dc:creator> ?author .
        ?author <foaf:name> ?name .
        FILTER(?year < 1940)
      }`
      const bindings = await (await engine.queryBindings(query, { sources: [store] })).toArray()
      expect(bindings.map((b) => [b.get('title').value, b.get('name').value])).toEqual([['Brave New World', 'Aldous Huxley']])
      const count = await (await engine.queryBindings('SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }', { sources: [store] })).toArray()
      expect(count[0].get('n').value).toBe('8')
    })

    it('exports N-Quads and Turtle with N3\'s Writer', async () => {
      const store = await fill(await make())
      const write = (format) => new Promise((resolve, reject) => {
        Promise.resolve(store.getQuads(null, null, null, null)).then((quads) => {
          const writer = new Writer({ format })
          writer.addQuads(quads)
          writer.end((error, text) => (error ? reject(error) : resolve(text)))
        })
      })
      const nquads = (await write('N-Quads')).split('\n').filter(Boolean).sort()
      expect(nquads).toContain('<resource://book:1984> <dc:date> "1949"^^<http://www.w3.org/2001/XMLSchema#integer> .')
      expect(nquads).toContain('<resource://book:bnw> <dc:creator> <resource://person:huxley> .')
      expect(nquads).toContain('<resource://book:bnw> <ex:rating> "4.5"^^<http://www.w3.org/2001/XMLSchema#double> .')
      expect(nquads).toContain('<resource://book:bnw> <ex:tags> "[\\"classic\\",\\"dystopian\\"]"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON> .')
      expect(nquads.length).toBe(8)
      const turtle = await write('Turtle')
      expect(turtle).toContain('<resource://book:1984>')
      expect(turtle).toMatch(/"Aldous Huxley"/)
    })

    it('reads triples a host wrote as RDF (typed literals, language tags) as Lua values', async () => {
      const store = await make()
      const { namedNode, literal } = lua.dataFactory
      const s = namedNode('resource://x')
      await store.insert('resource://x', 'plain', 'text')
      if (store.store) {
        // N3: the host's own quads, in its Store.
        const n3 = store.store
        n3.addQuad(s, namedNode('lang'), literal('bonjour', 'fr'))
        n3.addQuad(s, namedNode('short'), literal('7', namedNode('http://www.w3.org/2001/XMLSchema#short')))
        n3.addQuad(s, namedNode('decimal'), literal('2.50', namedNode('http://www.w3.org/2001/XMLSchema#decimal')))
      } else {
        await store.batchInsert([{ subject: 'resource://x', predicate: 'lang', object: 'bonjour' }, { subject: 'resource://x', predicate: 'short', object: 7 }, { subject: 'resource://x', predicate: 'decimal', object: 2.5 }])
      }
      const { values } = await lua.createRunner({ triples: store }).run(`
        local x = 'resource://x'
        return State.get(x, 'plain'), State.get(x, 'lang'), State.get(x, 'short'), math.type(State.get(x, 'short')), State.get(x, 'decimal'), math.type(State.get(x, 'decimal'))`, { scriptId: 'Module:X' })
      expect(values).toEqual(['text', 'bonjour', 7, 'integer', 2.5, 'float'])
    })
  })
})

// N3TripleStore reads an n3 Store's indexes directly where its class reads as n3's own does
// (lib/n3-index.mjs), and through getQuads otherwise: both ways must give scripts the same.
describe('N3TripleStore on n3 Stores of every kind', () => {
  const { namedNode, literal, blankNode, quad } = lua.dataFactory
  const xsd = (type) => namedNode(`http://www.w3.org/2001/XMLSchema#${type}`)
  // Quads a host wrote itself, with every kind of term n3 keeps apart (IRIs n3 wraps, as
  // their names look like other terms; blank nodes; literals with quotes, languages and
  // datatypes), in the default graph and in a script's own.
  const fill = (n3) => {
    const subjects = [namedNode('resource://a'), namedNode('_:not-blank'), namedNode('"not-literal'), blankNode('b1')]
    const predicates = [namedNode('p'), namedNode('?not-variable')]
    const objects = [namedNode('resource://o'), namedNode('<wrapped>'), blankNode('b2'), literal('plain'), literal('say "hi"'), literal('hello', 'en'),
      literal('7', xsd('integer')), literal('007', xsd('short')), literal('2.50', xsd('decimal')), literal('true', xsd('boolean')), literal('[1,2]', namedNode('http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON'))]
    subjects.forEach((s, i) => predicates.forEach((p, j) => objects.forEach((o, k) => {
      if ((i + j + k) % 3 !== 0) n3.addQuad(quad(s, p, o, (i + k) % 2 ? namedNode('urn:script:Module:Q') : undefined))
    })))
    return n3
  }
  const code = `
    local function all(pattern)
      local out = {}
      for _, t in ipairs(State.query(pattern)) do out[#out + 1] = { t.subject, t.predicate, t.object, math.type(t.object) or type(t.object) } end
      return out
    end
    return all({}), all({ subject = '_:not-blank' }), all({ subject = 'b1' }), all({ predicate = '?not-variable' }),
      all({ object = 'resource://o' }), all({ object = 7 }), all({ subject = 'resource://a', predicate = 'p' }),
      all({ subject = 'resource://a', object = 'say "hi"' }), all({ predicate = 'p', object = 'hello' }), State.get('"not-literal', 'p')`
  const read = (n3) => {
    const triples = { store: new lua.N3TripleStore(fill(n3)), graphs: (scriptId) => ({ write: `urn:script:${scriptId}`, read: [`urn:script:${scriptId}`, ''] }) }
    return lua.createRunner({ triples }).runSync(code, { scriptId: 'Module:Q' }).values
  }

  it('gives the same triples from a Store that reads its own way (getQuads) as from n3\'s own', () => {
    class OwnReads extends Store {
      getQuads(...pattern) {
        return super.getQuads(...pattern)
      }
    }
    const direct = read(new Store())
    expect(read(new OwnReads())).toEqual(direct)
    // Every term read back as it was written (the first pattern: everything, in order).
    expect(direct[0].length).toBe(56)
    expect(direct[0]).toContainEqual(['_:not-blank', '?not-variable', 'resource://o', 'string'])
    expect(direct[0]).toContainEqual(['b1', 'p', '<wrapped>', 'string'])
    expect(direct[0]).toContainEqual(['"not-literal', '?not-variable', 'say "hi"', 'string'])
    expect(direct[0]).toContainEqual(['resource://a', 'p', 7, 'integer'])
    expect(direct[0]).toContainEqual(['b1', 'p', 2.5, 'float'])
    // By subject (a blank node's is not an IRI of its name), predicate, object (the exact
    // term: not '007'^^xsd:short for 7, nor "hello"@en for 'hello'), and pairs; empty
    // results come as empty tables.
    expect(direct.slice(1, 9).map((rows) => Object.keys(rows).length)).toEqual([14, 0, 28, 5, 5, 7, 2, 0])
    expect(direct[9]).toBe('_:b2')
  })

  it("honours a Store class's own reading (a reasoner's getQuads)", () => {
    class Reasoner extends Store {
      getQuads(s, p, o, g) {
        const found = super.getQuads(s, p, o, g)
        const inferred = quad(namedNode('resource://a'), namedNode('p'), literal('inferred'))
        return (s === null || s === 'resource://a') && (p === null || p === 'p') && o === null ? [...found, inferred] : found
      }
    }
    const values = read(new Reasoner())
    expect(values[0]).toContainEqual(['resource://a', 'p', 'inferred', 'string'])
    expect(values[6]).toContainEqual(['resource://a', 'p', 'inferred', 'string'])
  })
})

describe('triples in a worker runner', () => {
  it('runs scripts in workers against a store that stays on this thread', async () => {
    const store = new lua.N3TripleStore()
    const workers = lua.createWorkerRunner({ workers: 2, triples: store })
    try {
      const calls = Array.from({ length: 20 }, (_, i) => workers.run(`
        local i = ...
        State.insert('call:' .. i, 'n', i)
        State.set('counter', 'last', i)
        return #State.query({ subject = 'call:' .. i }), State.get('call:' .. i, 'n')`, { scriptId: `Module:W${i}`, arguments: [i] }))
      const results = await Promise.all(calls)
      results.forEach(({ values }, i) => expect(values).toEqual([1, i]))
      expect((await store.query({ predicate: 'n' })).length).toBe(20)
      expect((await store.query({ subject: 'counter' })).length).toBe(1)
      await expect(workers.run("State.insert('ghost', 'n', 1) error('no')", { scriptId: 'Module:W' })).rejects.toMatchObject({ kind: 'runtime' })
      expect(await store.query({ subject: 'ghost' })).toEqual([])
    } finally {
      workers.terminate()
    }
  })
})
