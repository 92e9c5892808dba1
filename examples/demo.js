// Runs examples/demo.lua through pubwiki-lua: a module that reads its arguments, waits for
// an async host function and calls a sync one; then shows what a failing call gives.
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

// One runner for the site: limits and host functions bound once.
const wiki = createRunner({
  timeLimit: 2000,
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
