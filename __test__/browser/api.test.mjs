// The API suite in real Chromium (vitest.browser.config.mjs), importing the package by its
// name as a user's bundler does: Vite resolves 'pubwiki-lua' through package.json's
// `exports`, picks the `browser` condition (index.browser.mjs), and the wasm module is
// fetched from the URL that wasm/web.mjs builds from import.meta.url.
import { describe, expect, it } from 'vitest'
import * as lua from 'pubwiki-lua'
import defaultApi, { LuaError, ready, run, runLua } from 'pubwiki-lua'
import { apiSuite, failure } from '../shared/api-suite.mjs'

// The Sync functions need the module instantiated; the async ones wait for it themselves.
await ready

describe('browser entry', () => {
  it('is the wasm backend, loaded in a real browser', () => {
    expect(typeof window).toBe('object')
    expect(typeof process === 'undefined' || !process.versions?.node).toBe(true)
    expect(navigator.userAgent).toMatch(/Chrom/)
    expect(lua.backend).toBe('wasm')
    expect(defaultApi.runLua).toBe(runLua)
  })

  it('fetched the .wasm file through its URL', () => {
    const fetched = performance.getEntriesByType('resource').map((entry) => entry.name)
    expect(fetched.some((name) => /pubwiki_lua_wasm_bg\.wasm(\?|$)/.test(name))).toBe(true)
  })

  it('runs a script and reports its errors', async () => {
    expect(await runLua('print("Hello from " .. _VERSION)', 'Module:Browser')).toBe('Hello from Lua 5.4\n')
    const { values } = await run('return 6 * 7, {1, 2}', { scriptId: 'Module:Values' })
    expect(values).toEqual([42, [1, 2]])
    const error = await failure(runLua('print("partial")\nerror("boom")', 'Module:Broken'))
    expect(error).toBeInstanceOf(LuaError)
    expect(error).toMatchObject({ kind: 'runtime', message: 'Module:Broken:2: boom', output: 'partial\n', scriptId: 'Module:Broken' })
  })

  it('keeps the page alive after a limit ends a script', async () => {
    const error = await failure(runLua('while true do end', 't', { timeLimit: 100 }))
    expect(error.kind).toBe('timeout')
    expect(await runLua('print("still here")', 'after')).toBe('still here\n')
  })
})

apiSuite(lua)
