// Runs examples/demo.lua through pubwiki-lua as a wiki would: Module:Infobox, a Scribunto
// module that requires a helper module (examples/row.lua, preloaded into the runner's
// image), reads its frame's arguments, uses Scribunto's mw (mw.html, mw.ustring, mw.text,
// mw.log, a template the host expands), waits for an async host function, and keeps a
// counter in State (a SQLite file); then shows what failing calls give, and the page's
// facts kept as RDF triples (State as triples, another SQLite file).
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

// The site's modules, as a wiki would serve them from its pages (a real wiki's:
// `modules: mediaWikiModules({ api: 'https://wiki.example/w/api.php' })`).
const modules = {
  'Module:Infobox': readFileSync(join(__dirname, 'demo.lua'), 'utf8'),
  'Module:Row': readFileSync(join(__dirname, 'row.lua'), 'utf8'),
}

// One runner for the site: limits, modules, mw and host functions bound once. Module:Row is
// preloaded: it is part of the image every call starts from, so requiring it costs nothing.
const wiki = createRunner({
  timeLimit: 2000,
  modules,
  preload: ['Module:Row'],
  state: { store },
  mw: {
    site: { siteName: 'Demo Wiki', server: 'https://wiki.example' },
    // {{Initials|...}}: a template the host expands (here: bold).
    expandTemplate: (title, args) => `'''${args[1]}''' (from {{${title}}})`,
  },
  globals: {
    fetchPage: async (title) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      return pages.get(title) ?? null
    },
  },
})

async function main() {
  // {{#invoke:Infobox|main|year=2026|viewer=demo}} on the page "Lua", from a template
  // called with the page's name as its first argument.
  const frame = { args: { year: 2026, viewer: 'demo' }, parentArgs: ['Lua'], title: 'Lua' }
  const { values, log } = await wiki.invoke('Module:Infobox', 'main', frame, { scriptId: 'Lua' })
  console.log(`pubwiki-lua (${backend} backend) rendered Module:Infobox:\n`)
  console.log(values[0])
  console.log(`\nmw.log wrote: ${JSON.stringify(log)}`)

  await wiki.invoke('Module:Infobox', 'main', frame, { scriptId: 'Lua' })
  console.log(`\nafter a second render, State in ${store.constructor.name} has views.Lua = ${store.get('Lua', 'views.Lua')}`)

  try {
    await wiki.invoke('Module:Infobox', 'main', { ...frame, parentArgs: ['Fortran'] }, { scriptId: 'Lua' })
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    console.log(`\nand a failing call gives a LuaError (${error.kind}): ${error.message}`)
    console.log(`  and committed none of its State (views.Fortran): the keys are ${JSON.stringify(store.entries('Lua').map(([key]) => key))}`)
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
