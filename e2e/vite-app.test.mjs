// A user's Vite app (e2e/vite-app: index.html + main.js importing 'pubwiki-lua', no Vite
// config) with the package installed as npm publishes it (`npm pack`), then
//   - a production `vite build`, served by `vite preview` on 127.0.0.1, and
//   - the Vite dev server,
// each loaded in headless Chromium: the page must show the script's output and the LuaError
// of the failing script. The production build needs no Vite config at all; the dev server
// needs `optimizeDeps.exclude` (see below). Runs in Node: vitest.browser.config.mjs, project
// vite-app.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium as playwrightChromium } from 'playwright'
import { createServer, preview } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium } from '../vitest.browser.config.mjs'

const repo = fileURLToPath(new URL('..', import.meta.url))
const source = join(repo, 'e2e', 'vite-app')
const expectedOutput = 'Hello from Lua 5.4\nsquares: 1 4 9 16 25\n'
const expectedError = "runtime: Module:Broken:3: attempt to index a nil value (local 't')\noutput: partial\n"

let work, app, browser

function npm(args, cwd) {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pubwiki-lua-vite-'))
  app = join(work, 'app')
  cpSync(source, app, { recursive: true, filter: (path) => !/(node_modules|dist|\.tgz)$/.test(path) })
  // The package exactly as `npm publish` would ship it (package.json `files`).
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', work], repo).trim().split('\n').pop()
  cpSync(join(work, tarball), join(app, 'pubwiki-lua.tgz'))
  npm(['install', '--no-package-lock', '--offline'], app)
  browser = await playwrightChromium.launch({ headless: true, ...chromium })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

// Loads the page and returns what it shows, failing on any page error or failed request.
async function show(url) {
  const page = await browser.newPage()
  const problems = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`))
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`))
  const wasm = []
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`)
    if (/\.wasm(\?|$)/.test(response.url())) wasm.push({ status: response.status(), type: response.headers()['content-type'] })
  })
  try {
    await page.goto(url)
    await page.waitForSelector('body[data-state]', { timeout: 30_000 })
    return {
      state: await page.getAttribute('body', 'data-state'),
      output: await page.textContent('#output'),
      error: await page.textContent('#error'),
      wasm,
      problems,
    }
  } finally {
    await page.close()
  }
}

function expectShown(shown) {
  expect(shown.problems).toEqual([])
  expect(shown.error).not.toMatch(/^(Error|TypeError)/) // not a crash of main.js
  expect(shown.state).toBe('done')
  expect(shown.output).toBe(expectedOutput)
  expect(shown.error).toBe(expectedError)
  expect(shown.wasm).toEqual([{ status: 200, type: 'application/wasm' }])
}

describe('vite build (production)', () => {
  let server

  beforeAll(async () => {
    // `vite build` as the user runs it: the CLI, in the app's folder, no config file.
    execFileSync(process.execPath, [join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: app })
    server = await preview({ root: app, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0 } })
  }, 120_000)

  afterAll(async () => {
    await server?.close()
  })

  it('emits the wasm module as an asset', () => {
    expect(readdirSync(join(app, 'dist', 'assets')).filter((name) => name.endsWith('.wasm'))).toHaveLength(1)
  })

  it('shows the script output and the LuaError in headless Chromium', async () => {
    expectShown(await show(server.resolvedUrls.local[0]))
  })
})

// The dev server pre-bundles dependencies into node_modules/.vite/deps without the files
// they reference by `new URL(..., import.meta.url)` (vitejs/vite#8427), so the page would
// fetch .vite/deps/pubwiki_lua_wasm_bg.wasm and get index.html. Excluding the package from
// pre-bundling is the one line of config a user needs, for `vite dev` only.
describe('vite dev server', () => {
  let server

  beforeAll(async () => {
    server = await createServer({
      root: app,
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 0 },
      optimizeDeps: { exclude: ['pubwiki-lua'] },
    })
    await server.listen()
  }, 120_000)

  afterAll(async () => {
    await server?.close()
  })

  it('shows the script output and the LuaError in headless Chromium', async () => {
    expectShown(await show(server.resolvedUrls.local[0]))
  })
})
