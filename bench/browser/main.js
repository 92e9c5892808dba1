// Measured in Chromium by bench/browser.mjs: calls of `return 1+1` on the page and through a
// worker runner, and the time to each one's first result; with `?suite=triples`, the rows of
// IndexedDbTripleStore instead (triples.js). Results go to #results as JSON.
import { createWorkerRunner, ready, run } from 'pubwiki-lua'

const CALLS = Number(new URLSearchParams(location.search).get('calls') ?? 2000)

async function rate(call) {
  for (let i = 0; i < 200; i++) await call()
  const started = performance.now()
  for (let i = 0; i < CALLS; i++) await call()
  return CALLS / ((performance.now() - started) / 1000)
}

async function main() {
  const t0 = performance.now()
  await ready
  await run('return 1+1', { scriptId: 'bench' })
  const pageFirst = performance.now() - t0
  const t1 = performance.now()
  const workers = createWorkerRunner({ workers: 1 })
  await workers.run('return 1+1', { scriptId: 'bench' })
  const workerFirst = performance.now() - t1
  const page = await rate(() => run('return 1+1', { scriptId: 'bench' }))
  const worker = await rate(() => workers.run('return 1+1', { scriptId: 'bench' }))
  workers.terminate()
  return { calls: CALLS, pageCallsPerSecond: page, workerCallsPerSecond: worker, pageFirstResultMs: pageFirst, workerFirstResultMs: workerFirst }
}

const suite = new URLSearchParams(location.search).get('suite') === 'triples' ? import('./triples.js').then((m) => m.triplesInBrowser()) : main()
suite.then(
  (results) => { document.querySelector('#results').textContent = JSON.stringify(results) },
  (error) => { document.querySelector('#results').textContent = JSON.stringify({ error: String(error?.stack ?? error) }) },
)
