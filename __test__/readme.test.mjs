// The README's examples run as written: each ```js block, as an ES module importing
// 'pubwiki-lua' (this package), prints what its `// "..."` comments say.
import { afterAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPostgres, startRedis } from '../scripts/test-servers.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1])

// A folder where `import 'pubwiki-lua'` finds this package, as an installed one.
const folder = mkdtempSync(join(tmpdir(), 'pubwiki-lua-readme-'))
mkdirSync(join(folder, 'node_modules'))
symlinkSync(root, join(folder, 'node_modules', 'pubwiki-lua'), 'dir')

// The examples of "Scaling out" use a PostgreSQL and a Redis server: real ones, started here
// and given as DATABASE_URL and REDIS_URL (a failure to start one fails those examples).
const started = (promise) => promise.then((server) => ({ server }), (error) => ({ error }))
const [postgres, redis] = await Promise.all([started(startPostgres()), started(startRedis())])
afterAll(() => Promise.all([postgres.server?.stop(), redis.server?.stop()]))
const env = {
  ...process.env,
  DATABASE_URL: postgres.server?.url ?? `postgres://unstarted/${postgres.error?.message}`,
  REDIS_URL: redis.server?.url ?? `redis://unstarted/${redis.error?.message}`,
}

describe('README examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2)
  })

  it.each(blocks.map((code, i) => [i + 1, code]))('example %i runs and prints what it says', (i, code) => {
    for (const [name, server] of [['DATABASE_URL', postgres], ['REDIS_URL', redis]]) {
      if (code.includes(name) && server.error) throw new Error(`the example needs a server that could not be started: ${server.error.message}`)
    }
    const file = join(folder, `example${i}.mjs`)
    writeFileSync(file, code)
    // (In the folder: an example may write a file there, as State's SQLite database.)
    const stdout = execFileSync(process.execPath, [file], { encoding: 'utf8', env, cwd: folder })
    // `console.log(x) // "text"`: the first string literal after the comment is printed.
    const expected = [...code.matchAll(/console\.log\(.*\)\s*\/\/\s*("(?:[^"\\]|\\.)*")/g)].map((match) => JSON.parse(match[1]))
    expect(expected.length).toBeGreaterThan(0)
    for (const text of expected) expect(stdout).toContain(text)
  })
})
