// The browser rows of the benchmark: bench/browser/ (a page importing 'pubwiki-lua') built
// by Vite, served on 127.0.0.1 and measured in headless Chromium (Debian's, as the tests
// use). Run by bench/run.mjs; alone: `node bench/browser.mjs` prints the JSON.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { launchChromium, serveStatic } from '../e2e/serve.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, 'browser')

export async function measureBrowser({ calls = 2000 } = {}) {
  const outDir = path.join(root, 'dist')
  await build({
    root,
    logLevel: 'error',
    resolve: { alias: { 'pubwiki-lua': path.join(here, '..', 'index.browser.mjs') } },
    build: { outDir, emptyOutDir: true },
  })
  const server = await serveStatic(outDir)
  const browser = await launchChromium()
  try {
    const page = await browser.newPage()
    await page.goto(`${server.url}?calls=${calls}`)
    await page.waitForFunction(() => document.querySelector('#results').textContent !== '', null, { timeout: 120_000 })
    return JSON.parse(await page.textContent('#results'))
  } finally {
    await browser.close()
    await server.close()
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await measureBrowser(), null, 2))
}
