// The modules suite in Node, once per backend, with the library folder read from disk;
// and lua5.4 itself runs that folder's main.lua, which must print the expected output.
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { modulesSuite } from './shared/modules-suite.mjs'

const require = createRequire(import.meta.url)
const folder = fileURLToPath(new URL('./lua-modules', import.meta.url))

function readFolder(dir, files = {}) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) readFolder(path, files)
    else if (name.endsWith('.lua')) files[relative(folder, path)] = readFileSync(path, 'utf8')
  }
  return files
}

const library = { files: readFolder(folder), expected: readFileSync(join(folder, 'main.expected'), 'utf8') }

describe('the library folder', () => {
  it('prints the expected output under lua5.4 (installed by scripts/install-lua-reference.sh)', () => {
    const output = execFileSync('lua5.4', ['-e', "package.path = './?.lua;./?/init.lua'", 'main.lua'], { cwd: folder, encoding: 'utf8' })
    expect(output).toBe(library.expected)
  })
})

modulesSuite(require('..'), library)
