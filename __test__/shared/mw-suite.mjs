// Scribunto's `mw` through the public API, wherever it runs: imported by __test__/mw.test.mjs
// (Node, once per backend) and __test__/browser/mw.test.mjs (Chromium). `wiki` is the fake
// MediaWiki the caller started (__test__/fake-mediawiki.mjs): `{ api, origin }`. Expected
// values are written from Scribunto's reference manual.
import { describe, expect, it } from 'vitest'
import { failure } from './api-suite.mjs'

export function mwSuite(lua, wiki) {
  const { createRunner, createWorkerRunner, mediaWikiModules, urlModules, LuaError } = lua
  const page = createRunner({ mw: true })
  const values = async (code) => (await page.run(code, { scriptId: 'Module:Test' })).values

  describe('mw.ustring', () => {
    it('counts code points: combining marks, astral planes', async () => {
      expect(await values(`return mw.ustring.len('cafe\\u{301}'), mw.ustring.len('😀a'), mw.ustring.sub('😀ab', 2), mw.ustring.codepoint('😀')`))
        .toEqual([5, 2, 'ab', 0x1f600])
      expect(await values(`return mw.ustring.find('Ünïcödé', 'ö'), mw.ustring.match('Ünïcödé', '^(%u)(%l+)$')`)).toEqual([5, 'Ü', 'nïcödé'])
      expect(await values(`return mw.ustring.gsub('aáb', '%a', '.'), mw.ustring.upper('ﬁ ß ǆ'), mw.ustring.lower('ÀΣ')`)).toEqual(['...', 'ﬁ ß Ǆ', 'àσ'])
      expect(await values(`return mw.ustring.toNFC('e\\u{301}') == 'é', mw.ustring.toNFD('é'):len(), mw.ustring.toNFKD('①')`)).toEqual([true, 3, '1'])
    })

    it('says what is not UTF-8', async () => {
      expect(await values(`return mw.ustring.len('\\xff'), mw.ustring.isutf8('\\xff'), mw.ustring.isutf8('é'), mw.ustring.toNFC('\\xc3')`)).toEqual([null, false, true, null])
      const error = await failure(page.run(`return mw.ustring.sub('\\xff', 1)`, { scriptId: 'Module:Test' }))
      expect(error.message).toBe("Module:Test:1: bad argument #1 to 'sub' (string is not UTF-8)")
    })
  })

  describe('mw.text and mw.html', () => {
    it('as the manual shows them', async () => {
      expect(await values(`return mw.text.listToText({'a', 'b', 'c'}), mw.text.split('a b  c', ' ')[3], mw.text.trim('\\t x \\n')`)).toEqual(['a, b and c', '', 'x'])
      expect(await values(`return mw.text.jsonEncode({ a = {1, 2}, b = 'é' }), mw.text.jsonDecode('[1,{"x":null}]')[1]`)).toEqual(['{"a":[1,2],"b":"é"}', 1])
      expect(await values(`return mw.text.tag('div', { id = 'a&b' }, 'x'), mw.text.encode('"<'), mw.text.nowiki('{{x}}')`))
        .toEqual(['<div id="a&amp;b">x</div>', '&quot;&lt;', '&#123;&#123;x&#125;&#125;'])
      const html = `local div = mw.html.create('div')
        div:attr('id', 'testdiv'):css('width', '100%'):wikitext('Some text'):tag('hr')
        return tostring(div)`
      expect(await values(html)).toEqual(['<div id="testdiv" style="width:100%;">Some text<hr /></div>'])
    })
  })

  describe('the frame', () => {
    const modules = {
      'Module:Args': `local p = {}
        function p.main(frame)
          local names = {}
          for k, v in pairs(frame.args) do names[#names + 1] = tostring(k) .. '=' .. v end
          table.sort(names)
          local positional = {}
          for i, v in ipairs(frame.args) do positional[i] = v end
          local ok, err = pcall(function () frame.args.x = 1 end)
          local parent = frame:getParent()
          return table.concat(names, ','), table.concat(positional, ','), frame.args[1] == frame.args['1'], err,
            parent.args.from, parent:getTitle(), frame:getTitle(), frame:getArgument('name'):expand(),
            frame:newChild{ title = 'Child', args = { 'c' } }.args[1]
        end
        function p.host(frame)
          return frame:expandTemplate{ title = 'Echo', args = { 'a', k = 'v' } }, frame:preprocess('{{x}}'),
            frame:callParserFunction('#if', 'yes', 'then'), frame:extensionTag('ref', 'note', { name = 'n' })
        end
        return p`,
    }
    const wikiRunner = createRunner({
      modules,
      mw: {
        title: 'Main Page',
        expandTemplate: (title, args) => `[${title}|${args[1]}|k=${args.k}]`,
        preprocess: (text) => `pre(${text})`,
        callParserFunction: async (name, args) => `${name}:${args[1]}:${args[2]}`,
        extensionTag: (name, content, args) => `<${name} name="${args.name}">${content}</${name}>`,
      },
    })

    it('reads numbered and named string arguments, read-only, with pairs and ipairs', async () => {
      const { values } = await wikiRunner.invoke('Module:Args', 'main', { args: { 1: 'one', 2: 2, name: 'N' }, parentArgs: { from: 'T' }, parentTitle: 'Template:Box' }, { scriptId: 'Page' })
      expect(values).toEqual(['1=one,2=2,name=N', 'one,2', true, 'Module:Args:8: frame.args is read-only', 'T', 'Template:Box', 'Module:Args', 'N', 'c'])
    })

    it('asks the host to expand templates, preprocess, call parser functions and tags', async () => {
      const { values } = await wikiRunner.invoke('Module:Args', 'host', { args: [] }, { scriptId: 'Page' })
      expect(values).toEqual(['[Echo|a|k=v]', 'pre({{x}})', '#if:yes:then', '<ref name="n">note</ref>'])
    })

    it('is a clear Lua error where the host gave no such function', async () => {
      const bare = createRunner({ modules, mw: true })
      const error = await failure(bare.invoke('Module:Args', 'host', { args: [] }, { scriptId: 'Page' }))
      expect(error).toBeInstanceOf(LuaError)
      expect(error.message).toMatch(/frame:expandTemplate: the host provides no expandTemplate function/)
    })

    it('needs a runner with mw', async () => {
      await expect(createRunner({ modules }).invoke('Module:Args', 'main', { args: [] }, { scriptId: 'P' })).rejects.toThrow(TypeError)
    })
  })

  describe('in a worker runner', () => {
    it('has mw, the frame, the host functions and the log', async () => {
      const modules = { 'Module:W': 'return { f = function (frame) mw.log("w") return frame.args[1] .. frame:expandTemplate{ title = "T" } .. mw.ustring.len("é") end }' }
      const workers = createWorkerRunner({ workers: 1, modules, mw: { expandTemplate: (title) => `[${title}]` } })
      try {
        expect(await workers.invoke('Module:W', 'f', { args: ['x'] }, { scriptId: 'P' })).toEqual({ output: '', values: ['x[T]1'], log: 'w\n' })
      } finally {
        workers.terminate()
      }
    })
  })

  describe('mw.log, mw.title, mw.site, 5.1 numbers', () => {
    it('logs go to their own field, on success and on failure', async () => {
      const done = await page.run('mw.log("a", 1, nil) mw.logObject({1, x = "y"}) print("out")', { scriptId: 'Module:Test' })
      expect(done).toEqual({ output: 'out\n', values: [], log: 'a\t1\tnil\ntable#1 {\n  1,\n  x = "y",\n}\n' })
      const error = await failure(page.run('mw.log("before") error("x")', { scriptId: 'Module:Test' }))
      expect(error.log).toBe('before\n')
    })

    it('titles, the site and the content language come from the host', async () => {
      const runner = createRunner({ mw: { title: 'Help:Intro/Part', site: { siteName: 'Demo', server: 'https://demo.example', articlePath: '/wiki/$1' } } })
      const { values } = await runner.run(`local t = mw.title.getCurrentTitle()
        return t.nsText, t.baseText, t:fullUrl(), mw.site.siteName, mw.language.getContentLanguage():formatNum(1234.5), tostring(7 / 7), 1 / 2`, { scriptId: 'M' })
      expect(values).toEqual(['Help', 'Intro', 'https://demo.example/wiki/Help:Intro/Part', 'Demo', '1,234.5', '1', 0.5])
    })
  })

  describe('modules from a wiki and from URLs', () => {
    it('renders a wiki module that requires others and loads data, through the Action API', async () => {
      const modules = mediaWikiModules({ api: wiki.api })
      const runner = createRunner({ modules, mw: { expandTemplate: () => '' } })
      const rendered = await runner.invoke('Module:Infobox', 'main', { args: { name: ' Ada ', born: '1815', 'místo': 'London' }, parentArgs: { page: 'Ada Lovelace' } }, { scriptId: 'Ada Lovelace' })
      expect(rendered.values).toEqual(['<table class="infobox" style="width:22em;"><caption>Ada Lovelace</caption><tr><td>Name: Ada</td></tr><tr><td>Born: 1815</td></tr><tr><td>Místo: London</td></tr></table>'])
      expect(rendered.log).toBe('fields\t3\n')
      // A second call is served from the resolver's cache; other spellings reach the same pages.
      const again = await runner.invoke('Module:Infobox', 'count', { args: ['žluťoučký'] }, { scriptId: 'P' })
      expect(again.values).toEqual(['9 characters, 5'])
      const host = new URL(wiki.api).host
      const spelled = await runner.run(`return require('mediawiki://${host}/Module:Util').label('x', ' y ')`, { scriptId: 'P' })
      expect(spelled.values).toEqual(['X: y'])
      expect((await failure(runner.run(`require('Module:Missing')`, { scriptId: 'P' }))).message).toBe("P:1: module 'Module:Missing' not found")
    })

    it('loads modules from allowed origins only', async () => {
      const runner = createRunner({ modules: urlModules({ allow: [wiki.origin] }) })
      expect((await runner.run(`return require('${wiki.origin}/lua/hello.lua').greet('URL')`, { scriptId: 'P' })).values).toEqual(['Hello, URL!'])
      const refused = await failure(runner.run(`return require('https://elsewhere.example/x.lua')`, { scriptId: 'P' }))
      expect(refused.message).toMatch(/https:\/\/elsewhere.example is not an allowed origin/)
      expect((await failure(createRunner({ modules: urlModules() }).run(`require('${wiki.origin}/lua/hello.lua')`, { scriptId: 'P' }))).message).toMatch(/not an allowed origin/)
    })

    it('maps the file:// spelling onto the modules', async () => {
      const runner = createRunner({ modules: { 'helper.lua': 'return 42' } })
      expect((await runner.run(`return require('file://helper.lua')`, { scriptId: 'P' })).values).toEqual([42])
    })
  })
}
