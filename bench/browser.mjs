// The browser rows of the benchmark: bench/browser/ (a page importing 'pubwiki-lua') built
// by Vite, served on 127.0.0.1 and measured in headless Chromium (Debian's, as the tests
// use). Run by bench/run.mjs (and bench/triples.mjs: IndexedDbTripleStore); alone: `node
// bench/browser.mjs` prints the JSON (`node bench/browser.mjs triples`: the triples rows).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { launchChromium, serveStatic } from '../e2e/serve.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, 'browser')

export async function measureBrowser({ calls = 2000 } = {}) {
  return inChromium(`?calls=${calls}`)
}

/** IndexedDbTripleStore's rows of the Triples table (bench/browser/triples.js). */
export async function measureBrowserTriples({ calls = 1000, warmup = 300, rounds = 5 } = {}) {
  return inChromium(`?suite=triples&calls=${calls}&warmup=${warmup}&rounds=${rounds}`, 600_000)
}

// Builds the page, serves it, and gives what it writes to #results (JSON).
async function inChromium(query, timeout = 120_000) {
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
    await page.goto(`${server.url}${query}`)
    await page.waitForFunction(() => document.querySelector('#results').textContent !== '', null, { timeout })
    const results = JSON.parse(await page.textContent('#results'))
    if (results.error) throw new Error(`in Chromium: ${results.error}`)
    return results
  } finally {
    await browser.close()
    await server.close()
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(process.argv[2] === 'triples' ? await measureBrowserTriples() : await measureBrowser(), null, 2))
}
