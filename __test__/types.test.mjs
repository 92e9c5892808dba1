// index.d.ts compiles, and accepts what a user writes (__test__/types/usage.ts), under
// TypeScript's --strict; and it rejects a wrong use.
import { expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')
const root = fileURLToPath(new URL('..', import.meta.url))

function compile(file) {
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler',
      '--lib', 'es2022,dom', file], { encoding: 'utf8', cwd: root })
    return ''
  } catch (error) {
    return error.stdout || error.message
  }
}

it('accepts the documented uses', () => {
  expect(compile(join(root, '__test__', 'types', 'usage.ts'))).toBe('')
}, 60_000)

it('rejects a wrong one', () => {
  const folder = mkdtempSync(join(tmpdir(), 'pubwiki-types-'))
  try {
    const file = join(folder, 'wrong.ts')
    writeFileSync(file, `import { createRunner } from ${JSON.stringify(join(root, 'index'))}\ncreateRunner({ state: { store: { read: 1 } } })\n`)
    expect(compile(file)).toMatch(/wrong\.ts\(2,.*error TS2322: Type 'number' is not assignable to type '\(scope: string, key: string\)/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}, 60_000)
