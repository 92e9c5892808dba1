import { expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const soak = fileURLToPath(new URL('../scripts/soak.mjs', import.meta.url))

// 20,000 fresh-state calls with every outcome, host functions among them; `npm run soak`
// reports the figures.
it('does not leak across 20,000 calls mixing every outcome', () => {
  const report = JSON.parse(execFileSync(process.execPath, ['--expose-gc', soak, '20000'], { encoding: 'utf8' }))
  expect(report.backend).toBe(process.env.PUBWIKI_LUA_BACKEND)
  expect(report.calls).toBe(20000)
  expect(report.growthMiB).toBeLessThan(64)
}, 180_000)
