// A user's webpack 5 app (e2e/webpack-app: index.html + src/main.js, the page script e2e/page/main.js, importing 'pubwiki-lua',
// a webpack.config.js with mode/entry/output only: no module rules, no plugins, no
// `experiments`) with the package installed as npm publishes it (`npm pack`), then
//   - a production build and
//   - a development build (`--mode development`: modules wrapped in eval()),
// each by the webpack CLI, served by a plain static file server on 127.0.0.1 and loaded in
// headless Chromium: the page must show the script's output and the LuaError of the failing
// script. webpack 5 turns the glue's `new URL('pubwiki_lua_wasm_bg.wasm', import.meta.url)`
// into an emitted asset (dist/<hash>.wasm) resolved against the bundle's own URL
// (output.publicPath 'auto'), so the page lives at / and the bundle in /dist/. Runs in Node:
// vitest.browser.config.mjs, project webpack-app.
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectShown, installApp, launchChromium, repo, serveStatic, show } from './helpers.mjs'

let installed, app, browser, server

beforeAll(async () => {
  installed = installApp('webpack-app', 'src/main.js')
  app = installed.app
  ;[browser, server] = await Promise.all([launchChromium(), serveStatic(app)])
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  installed?.remove()
})

// `webpack` as the user runs it: the CLI, in the app's folder, reading its webpack.config.js.
// Returns the CLI's report.
function webpack(...args) {
  rmSync(join(app, 'dist'), { recursive: true, force: true })
  return execFileSync(process.execPath, [join(repo, 'node_modules', 'webpack-cli', 'bin', 'cli.js'), '--no-color', ...args], {
    cwd: app,
    encoding: 'utf8',
  })
}

// The only warnings allowed are webpack's size hints (the .wasm is ~300 KiB, over its 244 KiB
// recommendation); anything else (a "Critical dependency", a module it could not parse) fails.
function expectNoWarningsButSize(report) {
  expect(report).not.toMatch(/\bERROR\b/)
  const warnings = report.match(/^WARNING in .*$/gm) ?? []
  expect(warnings.filter((line) => !/asset size limit|entrypoint size limit|performance recommendations/.test(line))).toEqual([])
}

for (const mode of ['production', 'development']) {
  describe(`webpack build (${mode})`, () => {
    let report

    beforeAll(() => {
      report = webpack(...(mode === 'production' ? [] : ['--mode', mode]))
    }, 120_000)

    it('builds with no warning but the size hints', () => {
      expectNoWarningsButSize(report)
    })

    it('emits the wasm module as an asset next to the bundle', () => {
      const files = readdirSync(join(app, 'dist'))
      expect(files).toContain('main.js')
      expect(files.filter((name) => name.endsWith('.wasm'))).toHaveLength(1)
    })

    it('shows the script output and the LuaError in headless Chromium', async () => {
      expectShown(await show(browser, server.url), { wasmPath: /^\/dist\/[0-9a-f]+\.wasm$/ })
    })
  })
}
