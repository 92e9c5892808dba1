// The command line, run as a child process on the backend of the test project
// (PUBWIKI_LUA_BACKEND), as a user runs `npx pubwiki-lua`.
import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../bin/pubwiki-lua.js', import.meta.url))
const backend = process.env.PUBWIKI_LUA_BACKEND

function pubwiki(args, { input, cwd = folder } = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, input, encoding: 'utf8', env: process.env, timeout: 30_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

// A project folder: scripts, a modules folder, a folder of modules to check.
const folder = mkdtempSync(join(tmpdir(), 'pubwiki-lua-cli-'))
const files = {
  'script.lua': 'local u = require("Module:Util")\nio.write(u.twice(21), " ", select("#", ...), " ", ... or "-", "\\n")\nprint(arg[0], arg[1], arg[2], #arg)\nreturn "done", { n = 1 }, 2.5',
  'fails.lua': 'print("before")\nlocal t = nil\nreturn t.x',
  'bytes.lua': 'io.write("a\\0b\\n")',
  'modules/Util.lua': 'return { twice = function(x) return 2 * x end }',
  'modules/strings/init.lua': 'return { name = ... }',
  'modules/nested/deep.lua': 'return "deep"',
  'secret.lua': 'return "outside the modules folder"',
  'check/good.lua': 'return 1',
  'check/sub/also-good.lua': 'local x = 1 return x',
  'check/broken.lua': 'local x = 1\nx = = 2',
}
for (const [name, source] of Object.entries(files)) {
  mkdirSync(join(folder, name, '..'), { recursive: true })
  writeFileSync(join(folder, name), source)
}
symlinkSync(join(folder, 'secret.lua'), join(folder, 'modules', 'link.lua'))

describe(`command line with mw (${backend})`, () => {
  it('runs wiki modules with Scribunto\'s mw, from a folder and from a wiki', async () => {
    const { startFakeWiki } = await import('./fake-mediawiki.mjs')
    const wiki = await startFakeWiki()
    try {
      // Module:Util is the folder's (folders come first); the data module is the wiki's.
      const code = "mw.log('note') return require('Module:Util').twice(2), mw.loadData('Module:Infobox/data').fields[3], require('Module:Util2').n, tostring(10 / 2)"
      writeFileSync(join(folder, 'modules', 'Util2.lua'), 'return { n = mw.ustring.len("žluť") }')
      const result = await new Promise((resolve) => {
        const child = spawn(process.execPath, [cli, '--mw', '--values', '--modules', 'modules', '--wiki', wiki.api, '-e', code], { cwd: folder, env: process.env })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (chunk) => (stdout += chunk))
        child.stderr.on('data', (chunk) => (stderr += chunk))
        child.on('close', (status) => resolve({ status, stdout, stderr }))
      })
      expect(result).toEqual({ status: 0, stdout: '4\nmísto\n4\n5\n', stderr: 'note\n' })
      expect(pubwiki(['--wiki', 'wiki.example', '-e', '1']).status).toBe(64)
    } finally {
      await wiki.close()
    }
  })
})

describe(`command line (${backend})`, () => {
  it('runs a file with modules and arguments, printing exactly its output', () => {
    const result = pubwiki(['--modules', 'modules', 'script.lua', 'one', 'two'])
    expect(result).toEqual({ status: 0, stdout: '42 2 one\nscript.lua\tone\ttwo\t2\n', stderr: '' })
    expect(pubwiki(['bytes.lua']).stdout).toBe('a\0b\n')
  })

  it('prints values, or everything as JSON', () => {
    expect(pubwiki(['--values', '--modules', 'modules', 'script.lua']).stdout).toBe('42 0 -\nscript.lua\tnil\tnil\t0\ndone\n{"n":1}\n2.5\n')
    const json = pubwiki(['--json', '--modules', 'modules', 'script.lua', 'x'])
    expect(json.status).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ output: '42 1 x\nscript.lua\tx\tnil\t1\n', values: ['done', { n: 1 }, 2.5] })
  })

  it('reads the script from stdin (-) and from -e', () => {
    expect(pubwiki(['-', 'a'], { input: 'print("stdin", ...)' })).toEqual({ status: 0, stdout: 'stdin\ta\n', stderr: '' })
    expect(pubwiki(['-e', 'print(1 + 1, ...)', 'x', 'y']).stdout).toBe('2\tx\ty\n')
    expect(pubwiki(['--script-id', 'Module:Mine', '-e', 'error("named")']).stderr).toMatch(/^pubwiki-lua: runtime error: Module:Mine:1: named\n/)
  })

  it('finds modules by the documented rule, and nothing outside the folder', () => {
    const code = `for _, name in ipairs({"Module:Util", "util", "strings", "nested.deep", "../secret", "/etc/passwd", "link", "modules/Util", "Nope"}) do
      local ok, m = pcall(require, name) print(name, ok and type(m) or m) end`
    expect(pubwiki(['--modules', 'modules', '-e', code]).stdout).toBe([
      'Module:Util\ttable',
      "util\tmodule 'util' not found",
      'strings\ttable',
      'nested.deep\tstring',
      "../secret\tmodule '../secret' not found",
      "/etc/passwd\tmodule '/etc/passwd' not found",
      "link\tmodule 'link' not found",
      "modules/Util\tmodule 'modules/Util' not found",
      "Nope\tmodule 'Nope' not found",
      '',
    ].join('\n'))
    // Several folders: the first that has the module wins.
    expect(pubwiki(['--modules', 'check', '--modules', 'modules', '-e', 'print(require("good"), type(require("Util")))']).stdout).toBe('1\ttable\n')
  })

  it.each([
    ['runtime', ['fails.lua'], /^pubwiki-lua: runtime error: fails.lua:3: attempt to index a nil value \(local 't'\)\nstack traceback:\n/],
    ['syntax', ['-e', 'x = = 1'], /^pubwiki-lua: syntax error: \(command line\):1: unexpected symbol near '='\n$/],
    ['timeout', ['--time-limit', '100', '-e', 'print("started") while true do end'], /^pubwiki-lua: timeout error: \(command line\):1: time limit exceeded \(100 ms\)\n/],
    ['memory', ['--memory-limit', '2M', '-e', 'print("started") local s = string.rep("x", 2^22)'], /^pubwiki-lua: memory error: not enough memory \(memory limit is 2097152 bytes\)\n$/],
    ['output', ['--output-limit', '1K', '-e', 'print("started") while true do io.write("x") end'], /^pubwiki-lua: output error: \(command line\):1: output limit exceeded \(1024 bytes\)\n/],
    // Code that runs after the limit fired: closing the coroutine that died of it (hung for ever).
    ['timeout after a limit', ['--time-limit', '100', '-e', 'print("started") local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end end) pcall(function() local g <close> = setmetatable({}, {__close = function() coroutine.close(co) end}) coroutine.resume(co) end)'], /^pubwiki-lua: timeout error: \(command line\):1: time limit exceeded \(100 ms\)\n/],
    ['memory (a shared value)', ['--memory-limit', '2M', '--values', '-e', 'print("started") local t = {} for i = 1, 26 do t = {t, t} end return t'], /^pubwiki-lua: memory error: return value #1 cannot be converted: its copy would take more than the memory limit \(2097152 bytes\)\n$/],
  ])('a %s error: message and traceback on stderr, output kept, status 1', (_kind, args, stderr) => {
    const result = pubwiki(args)
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(stderr)
    expect(result.stderr).not.toMatch(/at .*\.m?js:\d+/) // never a JS stack trace
    if (args[0] !== '-e' || args[1] !== 'x = = 1') expect(result.stdout).toMatch(/^(before|started)\n/)
  })

  it('takes every limit flag, with K, M and G sizes', () => {
    expect(pubwiki(['--memory-limit', '1G', '--output-limit', '100', '--time-limit', '5000', '-e', 'print(#string.rep("x", 2^24))'])).toMatchObject({ status: 0, stdout: '16777216\n' })
    expect(pubwiki(['--output-limit', '5', '-e', 'io.write("123456")'])).toMatchObject({ status: 1, stdout: '12345' })
  })

  it('keeps State in a SQLite file with --state, committed only by calls that succeed', () => {
    const counter = 'local n = (State.get("runs") or 0) + 1 State.set("runs", n) print("run " .. n) if ... == "fail" then error("no") end'
    expect(pubwiki(['--state', 'state.db', '-e', counter]).stdout).toBe('run 1\n')
    expect(pubwiki(['--state', 'state.db', '-e', counter, 'fail']).status).toBe(1)
    expect(pubwiki(['--state', 'state.db', '-e', counter])).toEqual({ status: 0, stdout: 'run 2\n', stderr: '' })
    expect(pubwiki(['-e', 'print(State)']).stdout).toBe('nil\n')
    const unopenable = pubwiki(['--state', join('no', 'such', 'dir', 'state.db'), '-e', 'print(1)'])
    expect(unopenable.status).toBe(66)
    expect(unopenable.stderr).toMatch(/^pubwiki-lua: cannot open the state file/)
  })

  it('keeps State as RDF triples in a SQLite file with --triples, committed only by calls that succeed', () => {
    const counter = "local n = (State.get('cli', 'runs') or 0) + 1 State.set('cli', 'runs', n) State.insert('run:' .. n, 'at', n) print('run ' .. n, #State.query({ predicate = 'at' })) if ... == 'fail' then error('no') end"
    expect(pubwiki(['--triples', 'triples.db', '-e', counter]).stdout).toBe('run 1\t1\n')
    expect(pubwiki(['--triples', 'triples.db', '-e', counter, 'fail']).status).toBe(1)
    expect(pubwiki(['--triples', 'triples.db', '-e', counter])).toEqual({ status: 0, stdout: 'run 2\t2\n', stderr: '' })
    expect(pubwiki(['--triples', 'triples.db', '--state', 'state.db', '-e', 'print(1)']).status).toBe(64)
    const unopenable = pubwiki(['--triples', join('no', 'such', 'dir', 'triples.db'), '-e', 'print(1)'])
    expect(unopenable.status).toBe(66)
    expect(unopenable.stderr).toMatch(/^pubwiki-lua: cannot open the triples file/)
  })

  it('keeps State in PostgreSQL or Redis with --state postgres://... or redis://...', async () => {
    const { startPostgres, startRedis } = await import('../scripts/test-servers.mjs')
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()])
    try {
      const counter = 'local n = (State.get("runs") or 0) + 1 State.set("runs", n) print("run " .. n) if ... == "fail" then error("no") end'
      for (const url of [pg.url, redis.url]) {
        const run = (args) => new Promise((resolve) => {
          const child = spawn(process.execPath, [cli, '--state', url, '-e', counter, ...args], { cwd: folder, env: process.env })
          let stdout = ''
          let stderr = ''
          child.stdout.on('data', (data) => (stdout += data))
          child.stderr.on('data', (data) => (stderr += data))
          child.on('exit', (status) => resolve({ status, stdout, stderr }))
        })
        expect(await run([])).toEqual({ status: 0, stdout: 'run 1\n', stderr: '' })
        expect((await run(['fail'])).status).toBe(1)
        expect(await run([])).toEqual({ status: 0, stdout: 'run 2\n', stderr: '' })
      }
    } finally {
      await Promise.all([pg.stop(), redis.stop()])
    }
  })

  it('checks files and folders without running them', () => {
    const result = pubwiki(['--check', 'check', 'script.lua'])
    expect(result).toEqual({ status: 1, stdout: '', stderr: "pubwiki-lua: syntax error: check/broken.lua:2: unexpected symbol near '='\n" })
    expect(pubwiki(['--check', 'check/good.lua', 'check/sub'])).toEqual({ status: 0, stdout: '', stderr: '' })
  })

  it('refuses bad flags with usage and status 64', () => {
    for (const args of [['--bogus'], ['--time-limit'], ['--time-limit', 'soon', 'script.lua'], ['--memory-limit', '12X', '-e', '1'], ['--backend', 'jvm', '-e', '1'], [], ['--json', '--values', '-e', '1']]) {
      const result = pubwiki(args)
      expect(result.status, args.join(' ')).toBe(64)
      expect(result.stderr).toMatch(/usage: pubwiki-lua/)
    }
    expect(pubwiki(['missing.lua'])).toMatchObject({ status: 66, stderr: 'pubwiki-lua: cannot read missing.lua: ENOENT\n' })
  })

  it('says its version and help, and runs on the backend asked for', () => {
    expect(pubwiki(['--version']).stdout).toMatch(/^pubwiki-lua \d+\.\d+\.\d+\n$/)
    expect(pubwiki(['--help'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: pubwiki-lua/) })
    for (const other of ['native', 'wasm']) {
      const result = pubwiki(['--backend', other, '-e', 'print(_VERSION)'])
      expect(result).toEqual({ status: 0, stdout: 'Lua 5.4\n', stderr: '' })
    }
  })
})

describe('README', () => {
  it('its command line examples run as written', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
    const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('## Sandbox'))
    const script = /```sh\n([\s\S]*?)```/.exec(section)[1]
    // `npx pubwiki-lua` as installed: a shim on PATH that runs this package's command.
    const bin = mkdtempSync(join(tmpdir(), 'pubwiki-lua-bin-'))
    writeFileSync(join(bin, 'npx'), `#!/bin/sh\nshift\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 })
    const work = mkdtempSync(join(tmpdir(), 'pubwiki-lua-readme-cli-'))
    const result = spawnSync('bash', ['-c', script + '\necho "status $?"'], {
      cwd: work, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000,
    })
    // Each `# comment` in the block says what its line prints.
    expect(result.stdout).toBe('Hello, wiki!\nHello, a!\n2\n{"output":"hi\\n","values":[1,{"x":2}]}\n2\n1\n1\nstatus 0\n')
    expect(result.stderr).toMatch(/^pubwiki-lua: timeout error: \(command line\):1: time limit exceeded \(100 ms\)/)
  })
})
