// Runs examples/demo.lua through pubwiki-lua: a module that requires a helper module
// (examples/row.lua), reads its arguments, waits for an async host function, calls a
// sync one and keeps a counter in State (a SQLite file); then shows what failing calls give,
// and the page's facts kept as RDF triples (State as triples, another SQLite file).
const { mkdtempSync, readFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { createRunner, backend, LuaError, SqliteStore, SqliteTripleStore } = require('..')

// Where scripts keep State: a SQLite database (a fresh one for the demo).
const folder = mkdtempSync(join(tmpdir(), 'pubwiki-demo-'))
const store = new SqliteStore(join(folder, 'wiki-state.db'))

// The host's data, as a wiki would fetch it (here: after a short delay).
const pages = new Map([
  ['Lua', {
    name: 'Lua',
    year: 1993,
    authors: ['Roberto Ierusalimschy', 'Luiz Henrique de Figueiredo', 'Waldemar Celes'],
    summary: '  A lightweight, embeddable scripting language.  ',
  }],
])

// The site's modules, as a wiki would serve them from its pages.
const modules = { 'Module:Row': readFileSync(join(__dirname, 'row.lua'), 'utf8') }

// One runner for the site: limits, modules and host functions bound once. Module:Row is
// preloaded: it is part of the image every call starts from, so requiring it costs nothing.
const wiki = createRunner({
  timeLimit: 2000,
  modules,
  preload: ['Module:Row'],
  state: { store },
  globals: ({ scriptId }) => ({
    fetchPage: async (title) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      return pages.get(title) ?? null
    },
    log: (message) => console.log(`  [host log from ${scriptId}] ${message}`),
    mw: { text: { trim: (s) => s.trim() } },
  }),
})

async function main() {
  const code = readFileSync(join(__dirname, 'demo.lua'), 'utf8')
  const args = { title: 'Lua', year: 2026, viewer: 'demo' }
  const { output, values } = await wiki.run(code, { scriptId: 'Module:Infobox', globals: { args } })
  console.log(`pubwiki-lua (${backend} backend) ran Module:Infobox:\n`)
  process.stdout.write(output)
  console.log('\nreturned:', JSON.stringify(values))

  await wiki.run(code, { scriptId: 'Module:Infobox', globals: { args } })
  console.log(`\nafter a second render, State in ${store.constructor.name} has views.Lua = ${store.get('Module:Infobox', 'views.Lua')}`)

  try {
    await wiki.run(code, { scriptId: 'Module:Infobox', globals: { args: { ...args, title: 'Fortran' } } })
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    console.log(`\nand a failing call gives a LuaError (${error.kind}): ${error.message}`)
    console.log(`  and committed none of its State (views.Fortran): the keys are ${JSON.stringify(store.entries('Module:Infobox').map(([key]) => key))}`)
  }
  try {
    await wiki.run('print("about to fail")\nreturn fetchPage(nil).title', { scriptId: 'Module:Broken' })
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    console.log(`and another (${error.kind}): ${error.message}`)
    console.log(`  output kept: ${JSON.stringify(error.output)}`)
  }

  // The page's facts as RDF triples (the `triples` option), queried back by the script.
  const triples = new SqliteTripleStore(join(folder, 'wiki-triples.db'))
  try {
    const facts = createRunner({ triples })
    const { output: listed } = await facts.run(`
      State.batchInsert({
        { subject = 'resource://page:Lua', predicate = 'year', object = 1993 },
        { subject = 'resource://page:Lua', predicate = 'designedBy', object = 'resource://person:Roberto_Ierusalimschy' },
        { subject = 'resource://page:Lua', predicate = 'paradigms', object = { 'procedural', 'functional' } },
      })
      for _, t in ipairs(State.query({ subject = 'resource://page:Lua' })) do
        print(t.predicate, type(t.object) == 'table' and table.concat(t.object, ', ') or t.object)
      end`, { scriptId: 'Module:Facts' })
    console.log(`\nand its facts as RDF triples (${triples.constructor.name}, ${triples.size} stored):\n${listed}`)
  } finally {
    triples.close()
  }
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(() => {
    store.close()
    rmSync(folder, { recursive: true, force: true })
  })
