// What a TypeScript user writes: index.d.ts must accept it under --strict
// (__test__/types.test.mjs compiles this file; nothing runs it).
import { createRunner, createWorkerRunner, dataFactory, IndexedDbStore, IndexedDbTripleStore, LuaError, mediaWikiModules, MemoryStore, N3TripleStore, PostgresStore, RedisStore, run, SqliteStore, SqliteTripleStore, StateStore, TripleStore, urlModules } from 'pubwiki-lua'
import type { LuaValue, Namespaces, RDFStore, RdfQuad, RunResult, StateBackend, StateUsage, StateWrite, Triple, TriplePattern, VersionedStateBackend } from 'pubwiki-lua'

const namespaces = (scriptId: string): Namespaces => ({ 'global.events': { shared: true, read: true, write: scriptId === 'Admin' } })
const sqlite = new SqliteStore('state.db', { busyTimeout: 1000 })
const lua = createRunner({ timeLimit: 1000, state: { store: sqlite, namespaces } })
const visits: LuaValue | undefined = sqlite.get('Module:Counter', 'visits')
sqlite.set('', 'global.events.boss', { name: 'dragon', hp: 100 }, { ttl: 60 })
const entries: Array<[string, LuaValue]> = new MemoryStore().entries('s', 'prefix')

// A store of the host's own, async.
const custom: StateBackend = {
  async read(scope: string, key: string) {
    return scope && key ? new Uint8Array(0) : undefined
  },
  list: () => [],
  async commit(writes: StateWrite[]) {
    for (const write of writes) if (write.value === null) void write.key
  },
}
createRunner({ state: { store: custom } })
createRunner({ modules: { 'Module:Util': 'return {}' }, preload: ['Module:Util'] })
createWorkerRunner({ workers: 1, state: true }).stateStore

// Stores on servers shared by processes; retries, quotas, usage.
const shared = createRunner({
  retries: 5,
  retryHostCalls: true,
  state: { store: new PostgresStore('postgres://localhost/wiki', { table: 'state', schema: 'public' }), quota: { bytes: 1 << 20, keys: 1000 },
    namespaces: { 'global.board': { shared: true, read: true, write: true, quota: { keys: 50 } } } },
})
const conflicts: number = shared.stats.conflicts
const redis = new RedisStore('redis://localhost:6379', { prefix: 'wiki', hashTag: 'single' })
const versioned: VersionedStateBackend = redis
const memoryUsage: StateUsage = new MemoryStore().usage('s', '')

async function usage(): Promise<void> {
  const result: RunResult = await lua.run('return State.get("k")', { scriptId: 'Module:X', arguments: [1, 'two', { three: [3] }] })
  const idb: StateStore = new IndexedDbStore('db')
  await idb.set('s', 'k', 1)
  try {
    await run('error("x")', { scriptId: 's', globals: { f: async (x) => x } })
  } catch (error) {
    if (error instanceof LuaError) console.log(error.kind === 'conflict' || error.kind === 'quota', error.output, result.values, visits, entries)
    console.log(conflicts, versioned, memoryUsage, await redis.usage(''), await shared.run('return 1', { scriptId: 's', retries: 0 }))
  }
}
void usage

// State as RDF triples: this package's stores, and an RDFStore of the host's.
const triples = new N3TripleStore()
const rdf = createRunner({ triples: { store: triples, graphs: (scriptId) => ({ write: `urn:${scriptId}`, read: [`urn:${scriptId}`, ''] }), maxWrites: 1000 } })
const hostStore: RDFStore = {
  async insert(subject, predicate, object) { void [subject, predicate, object] },
  async delete() {},
  async query(pattern: TriplePattern): Promise<Triple[]> { return [{ subject: pattern.subject ?? 's', predicate: 'p', object: 1 }] },
}
async function tripleUsage(): Promise<void> {
  await rdf.run("State.insert('book:1984', 'title', '1984')", { scriptId: 'Module:Books' })
  await createRunner().run('return State.get("s", "p")', { scriptId: 'x', triples: hostStore })
  const found: Triple[] = triples.query({ subject: 'book:1984' })
  const quads: RdfQuad[] = await new SqliteTripleStore('triples.db').getQuads(dataFactory.namedNode('book:1984'), null, null, null)
  const idb: TripleStore = new IndexedDbTripleStore('triples')
  console.log(found, quads, await idb.query({ predicate: 'title' }))
}
void tripleUsage

// Wiki modules with Scribunto's mw: a frame, host functions, modules from a wiki and URLs.
const wiki = createRunner({
  modules: mediaWikiModules({ api: 'https://wiki.example/w/api.php', maxAge: 1000 }),
  mw: { title: 'Main Page', site: { siteName: 'Demo' }, expandTemplate: async (title, args) => `{{${title}|${args['1'] ?? ''}}}` },
})
createRunner({ modules: urlModules({ allow: ['https://lua.example'] }), mw: true })
async function render(): Promise<string | undefined> {
  const { values, log } = await wiki.invoke('Module:Infobox', 'main', { args: { 1: 'x', name: 'y' }, parentArgs: ['a'], title: 'Page' }, { scriptId: 'Page' })
  return typeof values[0] === 'string' ? values[0] + (log ?? '') : undefined
}
void render
