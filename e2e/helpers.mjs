// Shared by the end-to-end tests of users' apps (e2e/*.test.mjs): install the package into a
// copy of an app as npm would publish it, serve a folder, load a page in headless Chromium
// and check what it shows.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

export const repo = fileURLToPath(new URL('..', import.meta.url))
export const expectedOutput = 'Hello from Lua 5.4\nsquares: 1 4 9 16 25\nHello, bundler!\n'
export const expectedError = "runtime: Module:Broken:3: attempt to index a nil value (local 't')\noutput: partial\n"

export function npm(args, cwd) {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })
}

/**
 * Copies e2e/<name> into a new temporary folder, with the page script (e2e/page/main.js) at
 * `script` inside it, and installs the package there exactly as `npm publish` would ship it
 * (`npm pack`, package.json `files`), offline. Returns { work, app, remove }: `app` is the
 * app's folder inside `work`.
 */
export function installApp(name, script) {
  const work = mkdtempSync(join(tmpdir(), `pubwiki-lua-${name}-`))
  const app = join(work, 'app')
  cpSync(join(repo, 'e2e', name), app, { recursive: true, filter: (path) => !/(node_modules|dist|\.tgz)$/.test(path) })
  cpSync(join(repo, 'e2e', 'page', 'main.js'), join(app, script))
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', work], repo).trim().split('\n').pop()
  cpSync(join(work, tarball), join(app, 'pubwiki-lua.tgz'))
  npm(['install', '--no-package-lock', '--offline'], app)
  return { work, app, remove: () => rmSync(work, { recursive: true, force: true }) }
}

export { launchChromium, serveStatic } from './serve.mjs'

/**
 * Loads the page in a new tab and returns what it shows, with every page error, console
 * error, failed request and HTTP error in `problems`, and the .wasm responses in `wasm`.
 */
export async function show(browser, url) {
  const page = await browser.newPage()
  const problems = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`))
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`))
  const wasm = []
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`)
    if (/\.wasm(\?|$)/.test(response.url())) {
      wasm.push({ status: response.status(), type: response.headers()['content-type'], path: new URL(response.url()).pathname })
    }
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

/**
 * The visit counter (State in IndexedDB) of the page at `url`, loaded, reloaded, and
 * loaded in a second tab of the same browser profile: [1, 2, 3] if the values survive
 * (each the count of both counters, key/value and triples, or both when they differ).
 */
export async function visitsAcrossReloads(browser, url) {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const counted = async (page) => {
      const [visits, triples] = [await page.textContent('#visits'), await page.textContent('#triples')]
      return visits === triples ? Number(visits) : `visits ${visits}, triples ${triples}`
    }
    const visits = async () => {
      await page.waitForSelector('body[data-state]', { timeout: 30_000 })
      return counted(page)
    }
    await page.goto(url)
    const first = await visits()
    await page.reload()
    const second = await visits()
    const tab = await context.newPage()
    await page.close()
    await tab.goto(url)
    await tab.waitForSelector('body[data-state]', { timeout: 30_000 })
    return [first, second, await counted(tab)]
  } finally {
    await context.close()
  }
}

/**
 * The page ran the scripts (on the page and in a worker, with the same output), fetched the
 * wasm module as application/wasm (the worker may fetch it too), and nothing failed.
 */
export function expectShown(shown, { wasmPath } = {}) {
  expect(shown.problems).toEqual([])
  expect(shown.error).not.toMatch(/^(Error|TypeError)/) // not a crash of main.js
  expect(shown.state).toBe('done')
  expect(shown.output).toBe(expectedOutput)
  expect(shown.error).toBe(expectedError)
  expect(shown.wasm.length).toBeGreaterThanOrEqual(1)
  for (const response of shown.wasm) expect({ status: response.status, type: response.type }).toEqual({ status: 200, type: 'application/wasm' })
  if (wasmPath) for (const response of shown.wasm) expect(response.path).toMatch(wasmPath)
}
