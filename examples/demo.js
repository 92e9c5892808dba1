// Runs examples/demo.lua through pubwiki-lua: a module that requires a helper module
// (examples/row.lua), reads its arguments, waits for an async host function and calls a
// sync one; then shows what failing calls give.
const { readFileSync } = require('node:fs')
const { join } = require('node:path')
const { createRunner, backend, LuaError } = require('..')

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

// One runner for the site: limits, modules and host functions bound once.
const wiki = createRunner({
  timeLimit: 2000,
  modules,
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

  try {
    await wiki.run(code, { scriptId: 'Module:Infobox', globals: { args: { ...args, title: 'Fortran' } } })
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    console.log(`\nand a failing call gives a LuaError (${error.kind}): ${error.message}`)
  }
  try {
    await wiki.run('print("about to fail")\nreturn fetchPage(nil).title', { scriptId: 'Module:Broken' })
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    console.log(`and another (${error.kind}): ${error.message}`)
    console.log(`  output kept: ${JSON.stringify(error.output)}`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
