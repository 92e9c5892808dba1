// `require` of host-provided modules and `invoke`, through the public API, wherever it
// runs: imported by __test__/modules.test.mjs (Node, once per backend) and by
// __test__/browser/modules.test.mjs (Chromium). `library` is the folder
// __test__/lua-modules as { files: { 'util/init.lua': source, ... }, expected }, where
// `expected` is what lua5.4 prints running its main.lua (the Node test checks that).
import { describe, expect, it } from 'vitest'
import { failure } from './api-suite.mjs'

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

/** A resolver over a folder's files, as Lua's file searcher maps names (`a.b` -> a/b.lua, a/b/init.lua). */
export function folderResolver(files) {
  return (name) => {
    const path = name.replaceAll('.', '/')
    return files[`${path}.lua`] ?? files[`${path}/init.lua`]
  }
}

export function modulesSuite(lua, library) {
  const { run, runSync, runLua, createRunner, LuaError } = lua
  const UTIL = 'local name = ... print("loading " .. name) return { twice = function(x) return 2 * x end, name = name }'

  describe('require', () => {
    it('runs a chain of modules, each once per call, with its name as ...', async () => {
      const modules = {
        'Module:Util': UTIL,
        'Module:A': 'local util = require("Module:Util") return { value = util.twice(21) }',
        'Module:B': 'require("Module:Util") return require("Module:A").value + 1',
      }
      const { output, values } = await run(
        'local b = require("Module:B") return b, require("Module:A").value, require("Module:Util").name, require("Module:Util") == require("Module:Util")',
        { scriptId: 'Page', modules })
      expect(output).toBe('loading Module:Util\n')
      expect(values).toEqual([43, 42, 'Module:Util', true])
      // The next call loads them again: modules are per call.
      expect((await run('return require("Module:Util").name', { scriptId: 'Page', modules })).output).toBe('loading Module:Util\n')
    })

    it('reports missing modules and cycles as catchable errors', async () => {
      const modules = { 'Cycle:A': 'return require("Cycle:B")', 'Cycle:B': 'return require("Cycle:A")' }
      expect((await run('return pcall(require, "Nope")', { scriptId: 'Page', modules })).values).toEqual([false, "module 'Nope' not found"])
      const missing = await failure(run('local x = 1\nrequire("Nope")', { scriptId: 'Page', modules }))
      expect(missing).toBeInstanceOf(LuaError)
      expect(missing).toMatchObject({ kind: 'runtime', message: "Page:2: module 'Nope' not found" })
      const cycle = await failure(run('require("Cycle:A")', { scriptId: 'Page', modules }))
      expect(cycle.message).toBe('Cycle:B:1: cycle in require: Cycle:A -> Cycle:B -> Cycle:A')
      // Without any modules, only the standard libraries are there.
      expect((await failure(runLua('require("Module:X")', 'Page'))).message).toBe("Page:1: module 'Module:X' not found")
    })

    it('names the module and line of errors inside it', async () => {
      const modules = {
        'Module:Syntax': 'local x = 1\nx = = 2',
        'Module:Fails': 'local M = {}\nfunction M.run()\n  local t = nil\n  return t.x\nend\nreturn M',
        'Module:Binary': '\x1bLua\x54\x00\x19\x93\r\n\x1a\n',
      }
      const syntax = await failure(run('require("Module:Syntax")', { scriptId: 'Page', modules }))
      expect(syntax.message).toBe("Page:1: error loading module 'Module:Syntax':\n\tModule:Syntax:2: unexpected symbol near '='")
      const runtime = await failure(run('local m = require("Module:Fails")\nm.run()', { scriptId: 'Page', modules }))
      expect(runtime.message).toBe("Module:Fails:4: attempt to index a nil value (local 't')")
      expect(runtime.traceback).toContain('Module:Fails:4:')
      expect(runtime.traceback).toContain('Page:2: in main chunk')
      const binary = await failure(run('require("Module:Binary")', { scriptId: 'Page', modules }))
      expect(binary.message).toMatch(/error loading module 'Module:Binary':\n\tattempt to load a binary chunk \(mode is 't'\)/)
    })

    it('takes async resolvers, which get the call context, and resolvers that fail', async () => {
      const asked = []
      const modules = async (name, context) => {
        asked.push([name, context.scriptId])
        await tick()
        return name === 'Module:Util' ? UTIL : undefined
      }
      expect((await run('return require("Module:Util").twice(4), pcall(require, "Other")', { scriptId: 'Page:A', modules })).values)
        .toEqual([8, false, "module 'Other' not found"])
      expect(asked).toEqual([['Module:Util', 'Page:A'], ['Other', 'Page:A']])
      const original = new Error('wiki API down')
      const failing = await failure(run('require("Module:Util")', { scriptId: 'Page', modules: async () => { throw original } }))
      expect(failing).toMatchObject({ kind: 'runtime', message: 'Page:1: wiki API down' })
      expect(failing.cause).toBe(original)
      const notText = await failure(run('require("M")', { scriptId: 'Page', modules: { M: 42 } }))
      expect(notText.message).toBe("Page:1: the source of module 'M' is number, not text")
      // runSync needs a sync resolver.
      expect(runSync('return require("M")', { scriptId: 'Page', modules: { M: 'return 7' } }).values).toEqual([7])
      expect(() => runSync('return require("M")', { scriptId: 'Page', modules: async () => 'return 7' }))
        .toThrow("Page:1: cannot wait for module 'M' in a synchronous call")
    })

    it('package holds loaded, preload and config, with the standard libraries', async () => {
      const { values } = await run(`
        local names = {} for k in pairs(package) do names[#names + 1] = k end table.sort(names)
        local same = true
        for _, lib in ipairs({"_G", "string", "table", "math", "utf8", "coroutine", "os", "io", "debug", "package"}) do
          same = same and require(lib) == (lib == "_G" and _G or _G[lib]) and package.loaded[lib] == require(lib)
        end
        package.preload.pre = function(...) return {...} end
        return table.concat(names, " "), package.config, same, require("pre")[2], require("debug").getinfo, require("os").execute`,
      { scriptId: 'Page' })
      expect(values).toEqual(['config loaded preload', '/\n;\n?\n!\n-\n', true, ':preload:', null, null])
    })

    it('modules call host functions, and wait for async ones', async () => {
      const modules = { 'Module:Page': 'local title = ... return { text = fetchPage("Lua"), upper = upper("x"), title = title }' }
      const globals = { fetchPage: async (title) => { await tick(); return `<${title}>` }, upper: (s) => s.toUpperCase() }
      expect((await run('local p = require("Module:Page") return p.text, p.upper, p.title', { scriptId: 'Page', modules, globals })).values)
        .toEqual(['<Lua>', 'X', 'Module:Page'])
    })

    it('a module too big for the memory limit is a memory error', async () => {
      const huge = `return "${'x'.repeat(3 << 20)}"`
      for (const modules of [{ Huge: huge }, { Huge: `-- ${'x'.repeat(100 << 20)}` }]) {
        const error = await failure(run('print("before") require("Huge")', { scriptId: 'Page', memoryLimit: 2 << 20, modules }))
        expect(error).toMatchObject({ kind: 'memory', output: 'before\n' })
      }
    })

    it('a module that loops ends at the time limit', async () => {
      const error = await failure(run('require("Module:Loop")', { scriptId: 'Page', timeLimit: 100, modules: { 'Module:Loop': 'while true do end' } }))
      expect(error).toMatchObject({ kind: 'timeout', message: 'Module:Loop:1: time limit exceeded (100 ms)' })
    })

    it('runs real-style libraries (a JSON codec, a class library, a utility collection) as lua5.4 does', async () => {
      const modules = folderResolver(library.files)
      const runner = createRunner({ modules })
      // Twice through one runner: the second call takes the compiled modules from its cache.
      for (let i = 0; i < 2; i++) {
        expect(await runner.runLua(library.files['main.lua'], 'main')).toBe(library.expected)
      }
      expect(runSync(library.files['main.lua'], { scriptId: 'main', modules }).output).toBe(library.expected)
    })
  })

  describe('runners', () => {
    it('bind modules; a call\'s own come first, then the runner\'s', async () => {
      const runner = createRunner({ modules: { 'Module:Util': UTIL, 'Module:X': 'return "runner"' } })
      expect((await runner.run('return require("Module:X"), require("Module:Util").twice(2)', { scriptId: 'P' })).values).toEqual(['runner', 4])
      expect((await runner.run('return require("Module:X")', { scriptId: 'P', modules: { 'Module:X': 'return "call"' } })).values).toEqual(['call'])
      const chained = createRunner({ modules: async (name) => (name === 'B' ? 'return "from runner"' : undefined) })
      expect((await chained.run('return require("A"), require("B")', { scriptId: 'P', modules: async (name) => (name === 'A' ? 'return "from call"' : undefined) })).values)
        .toEqual(['from call', 'from runner'])
    })

    it('invoke: require(module)[function](...args), args converted as globals are', async () => {
      const modules = {
        'Module:Infobox': `local util = require("Module:Util")
          local p = {}
          function p.main(frame, n) print("rendering") return "title: " .. frame.args.title .. " " .. util.twice(n) .. " " .. frame.lookup("x") end
          p.data = 1
          return p`,
        'Module:Util': UTIL,
      }
      const runner = createRunner({ modules, globals: { site: 'wiki' } })
      const frame = { args: { title: 'Lua' }, lookup: async (key) => { await tick(); return `${key}!` } }
      expect(await runner.invoke('Module:Infobox', 'main', [frame, 21], { scriptId: 'Page:Lua' }))
        .toEqual({ output: 'loading Module:Util\nrendering\n', values: ['title: Lua 42 x!'] })
      expect(runner.invokeSync('Module:Util', 'twice', [5], { scriptId: 'Page:Lua' }).values).toEqual([10])
      for (const [module, fn, message] of [
        ['Module:Infobox', 'nope', "function 'nope' not found in module 'Module:Infobox'"],
        ['Module:Infobox', 'data', "function 'data' not found in module 'Module:Infobox'"],
        ['Module:Missing', 'main', "module 'Module:Missing' not found"],
      ]) {
        const error = await failure(runner.invoke(module, fn, [], { scriptId: 'Page:Lua' }))
        expect(error).toBeInstanceOf(LuaError)
        expect(error).toMatchObject({ kind: 'runtime', message, scriptId: 'Page:Lua' })
      }
      await expect(runner.invoke('Module:Infobox', 'main', [new Date()], { scriptId: 'P' })).rejects.toThrow('args[0]: Date is not supported')
      await expect(runner.invoke(1, 'main', [], { scriptId: 'P' })).rejects.toThrow(TypeError)
      await expect(runner.invoke('M', 'main', 'x', { scriptId: 'P' })).rejects.toThrow('args must be an array')
      await expect(runner.invoke('M', 'main', [])).rejects.toThrow(TypeError)
    })

    it('checks the modules option', async () => {
      await expect(run('return 1', { scriptId: 's', modules: 'x' })).rejects.toThrow(/options.modules must be an object of sources or a resolver function/)
      expect(() => createRunner({ modules: [] })).toThrow(TypeError)
    })
  })
}
