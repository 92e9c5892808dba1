// A fake MediaWiki on loopback for the tests: its Action API answers
// `action=query&prop=revisions&rvslots=main&titles=...` (formatversion 2) from WIKI_PAGES,
// counting requests; `/lua/<name>` serves plain Lua files (for urlModules); `/stats` says
// how many API requests and titles it answered. Every answer allows any origin (the
// browser tests fetch it from the page Vitest serves).
import { createServer } from 'node:http'

/** The wiki's pages: modules that require each other, use mw.* and mw.loadData. */
export const WIKI_PAGES = {
  'Module:Util': `
local checkType = require('libraryUtil').checkType
local p = {}
function p.label(name, value)
  checkType('label', 1, name, 'string')
  return mw.ustring.upper(mw.ustring.sub(name, 1, 1)) .. mw.ustring.sub(name, 2) .. ': ' .. mw.text.trim(value)
end
return p`,
  'Module:Infobox': `
local util = require('Module:Util')
local data = mw.loadData('Module:Infobox/data')
local p = {}
function p.main(frame)
  local args = frame.args
  local config = mw.loadJsonData('Module:Infobox/config.json')
  local box = mw.html.create('table'):addClass(config.class):css('width', config.width)
  box:tag('caption'):wikitext(args.title or frame:getParent().args.page or '?')
  for _, field in ipairs(data.fields) do
    if args[field] then
      box:tag('tr'):tag('td'):wikitext(util.label(field, args[field]))
    end
  end
  mw.log('fields', #data.fields)
  return tostring(box)
end
function p.count(frame)
  return mw.ustring.len(frame.args[1]) .. ' characters, ' .. tostring(10 / 2)
end
return p`,
  'Module:Infobox/data': `return { fields = { 'name', 'born', 'místo' } }`,
  'Module:Infobox/config.json': `{ "class": "infobox", "width": "22em" }`,
}

/** Lua files under /lua/ (urlModules). */
const FILES = {
  'hello.lua': `return { greet = function (who) return 'Hello, ' .. who .. '!' end }`,
}

/** Starts the server on 127.0.0.1; returns { api, origin, stats, close() }. */
export async function startFakeWiki(pages = WIKI_PAGES) {
  const stats = { requests: 0, titles: 0 }
  const revisions = new Map(Object.keys(pages).map((title, i) => [title, 100 + i]))
  const server = createServer((request, response) => {
    const url = new URL(request.url, 'http://localhost')
    const headers = { 'access-control-allow-origin': '*', 'cache-control': 'no-store' }
    if (url.pathname === '/stats') {
      response.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(stats))
      return
    }
    if (url.pathname.startsWith('/lua/')) {
      const file = FILES[url.pathname.slice('/lua/'.length)]
      if (file === undefined) response.writeHead(404, headers).end('not found')
      else response.writeHead(200, { ...headers, 'content-type': 'text/plain' }).end(file)
      return
    }
    const params = url.searchParams
    if (url.pathname !== '/w/api.php' || params.get('action') !== 'query' || params.get('prop') !== 'revisions' || params.get('rvslots') !== 'main') {
      response.writeHead(400, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'badrequest' } }))
      return
    }
    stats.requests++
    const titles = (params.get('titles') ?? '').split('|').filter(Boolean)
    stats.titles += titles.length
    const normalized = []
    const result = titles.map((asked) => {
      // MediaWiki normalizes titles: underscores to spaces, a capital first letter.
      const title = asked.replaceAll('_', ' ').replace(/^./, (c) => c.toUpperCase())
      if (title !== asked) normalized.push({ from: asked, to: title })
      if (!(title in pages)) return { ns: 0, title, missing: true }
      const model = title.endsWith('.json') ? 'json' : 'Scribunto'
      return {
        pageid: revisions.get(title),
        ns: 828,
        title,
        revisions: [{ revid: revisions.get(title), slots: { main: { contentmodel: model, contentformat: 'text/plain', content: pages[title] } } }],
      }
    })
    const body = { batchcomplete: true, query: { ...(normalized.length ? { normalized } : {}), pages: result } }
    response.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const origin = `http://127.0.0.1:${server.address().port}`
  return {
    api: `${origin}/w/api.php`,
    origin,
    stats,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
