// Scribunto's `mw` in Node, once per backend: the shared suite against a fake MediaWiki on
// loopback (__test__/fake-mediawiki.mjs), and what only Node can see of it: how often the
// resolver asked the wiki.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { startFakeWiki } from './fake-mediawiki.mjs'
import { mwSuite } from './shared/mw-suite.mjs'

const lua = createRequire(import.meta.url)('..')
const wiki = await startFakeWiki()
afterAll(() => wiki.close())

mwSuite(lua, wiki)

describe('mediaWikiModules', () => {
  let before
  beforeAll(() => {
    before = { ...wiki.stats }
  })

  it('asks for the titles a call needs at once in one request, and keeps them', async () => {
    const runner = lua.createRunner({ modules: lua.mediaWikiModules({ api: wiki.api }), mw: true })
    const args = { args: { name: 'x' } }
    await runner.invoke('Module:Infobox', 'main', args, { scriptId: 'P' })
    const first = { requests: wiki.stats.requests - before.requests, titles: wiki.stats.titles - before.titles }
    // Module:Infobox, then Module:Util, then the data module, then the JSON page: each
    // needed only once the one before ran.
    expect(first).toEqual({ requests: 4, titles: 4 })
    await runner.invoke('Module:Infobox', 'main', args, { scriptId: 'P' })
    expect(wiki.stats.requests - before.requests).toBe(4)
    // Titles asked for in the same tick share a request.
    const resolve = lua.mediaWikiModules({ api: wiki.api })
    const sources = await Promise.all([resolve('Module:Util'), resolve('Module:Infobox/data'), resolve('Module:Nope')])
    expect(sources.map((s) => typeof s)).toEqual(['string', 'string', 'undefined'])
    expect(wiki.stats.requests - before.requests).toBe(5)
  })

  it('takes an injected fetch', async () => {
    const asked = []
    const fetch = async (url) => {
      asked.push(new URL(url).searchParams.get('titles'))
      return new Response(JSON.stringify({ query: { pages: [{ title: 'Module:A', revisions: [{ revid: 1, slots: { main: { content: 'return 1' } } }] }] } }))
    }
    const runner = lua.createRunner({ modules: lua.mediaWikiModules({ api: 'https://wiki.invalid/w/api.php', fetch }) })
    expect((await runner.run('return require("Module:A")', { scriptId: 'P' })).values).toEqual([1])
    expect(asked).toEqual(['Module:A'])
  })
})
