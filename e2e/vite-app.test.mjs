// A user's Vite app (e2e/vite-app: index.html + main.js, the page script e2e/page/main.js, importing 'pubwiki-lua', no Vite
// config) with the package installed as npm publishes it (`npm pack`), then
//   - a production `vite build`, served by `vite preview` on 127.0.0.1, and
//   - the Vite dev server,
// each loaded in headless Chromium: the page must show the script's output and the LuaError
// of the failing script, and its State in IndexedDB must survive a reload. The production build needs no Vite config at all; the dev server
// needs `optimizeDeps.exclude` (see below). Runs in Node: vitest.browser.config.mjs, project
// vite-app.
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, preview } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectShown, installApp, launchChromium, repo, show, visitsAcrossReloads } from './helpers.mjs'

let installed, app, browser

beforeAll(async () => {
  installed = installApp('vite-app', 'main.js')
  app = installed.app
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  installed?.remove()
})

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
    expectShown(await show(browser, server.resolvedUrls.local[0]))
  })

  it('keeps State in IndexedDB across page reloads and tabs', async () => {
    expect(await visitsAcrossReloads(browser, server.resolvedUrls.local[0])).toEqual([1, 2, 3])
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
    expectShown(await show(browser, server.resolvedUrls.local[0]))
  })
})
