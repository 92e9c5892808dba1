// Runs examples/demo.lua through pubwiki-lua and prints its output and return values.
const { readFileSync } = require('node:fs')
const { join } = require('node:path')
const { run, backend, LuaError } = require('..')

async function main() {
  const code = readFileSync(join(__dirname, 'demo.lua'), 'utf8')
  const { output, values } = await run(code, { scriptId: 'Module:Demo' })
  console.log(`pubwiki-lua (${backend} backend) ran Module:Demo:\n`)
  process.stdout.write(output)
  console.log('\nreturned:', JSON.stringify(values))

  try {
    await run('print("about to fail")\nlocal page = nil\nreturn page.title', { scriptId: 'Module:Broken' })
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    console.log(`\nand a failing script gives a LuaError (${error.kind}): ${error.message}`)
    console.log(`  output kept: ${JSON.stringify(error.output)}`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
