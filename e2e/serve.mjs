// A static file server and Headless Chromium for pages in tests and benchmarks (no
// Vitest in here: bench/browser.mjs uses it outside the tests).
import { createReadStream, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { chromium as playwrightChromium } from 'playwright'
import { chromium } from '../vitest.browser.config.mjs'

export function launchChromium() {
  return playwrightChromium.launch({ headless: true, ...chromium })
}

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
}

/**
 * A static file server for `root` on 127.0.0.1 (a free port), as a plain web host would
 * serve a built app: GET/HEAD only, index.html for folders, 404 for anything else.
 * Returns { url, close() }.
 */
export async function serveStatic(root) {
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url, 'http://localhost').pathname)
    let file = normalize(join(root, pathname))
    if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) file = null
    try {
      if (file && statSync(file).isDirectory()) file = join(file, 'index.html')
      if (!file || !statSync(file).isFile() || !['GET', 'HEAD'].includes(request.method)) throw new Error('not found')
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    response.writeHead(200, {
      'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
    })
    if (request.method === 'HEAD') response.end()
    else createReadStream(file).pipe(response)
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
