#!/usr/bin/env node
'use strict'
// pubwiki-lua FILE.lua [ARGS...]: runs a script in the sandbox, with the limits and the
// `require` of the library (see the README's "Command line"). A script error is a message
// on stderr and exit status 1, never a JS stack trace; bad flags are usage and status 64.

const fs = require('node:fs')
const path = require('node:path')

const EX_USAGE = 64
const EX_NOINPUT = 66

const USAGE = `usage: pubwiki-lua [options] FILE.lua [ARGS...]
       pubwiki-lua [options] -e CODE [ARGS...]
       pubwiki-lua [options] - [ARGS...]        (the script from stdin)
       pubwiki-lua --check FILE.lua|DIR...     (syntax only: each error with file and line)

Runs the script in pubwiki-lua's sandbox: its output goes to stdout as captured; ARGS
reach it as ... and as the table arg (arg[0] is the script's name).

options:
  --modules DIR          where require finds modules (repeatable; see the README for the
                         rule: Module:Util.lua, Util.lua, util.lua, util/init.lua)
  --mw                   Scribunto's mw library (wiki modules); mw.log goes to stderr
  --wiki API_URL         also find modules on a MediaWiki (its api.php), after --modules
  --state FILE|URL       give the script State, kept in the SQLite file FILE (made if
                         missing; needs the package better-sqlite3), or in PostgreSQL
                         (postgres://...; needs pg) or Redis (redis://...; needs redis)
  --triples FILE         give the script State as RDF triples (State.insert, query, ...),
                         kept in the SQLite file FILE (made if missing; needs the package
                         better-sqlite3); not with --state
  --json                 print { output, values } as JSON instead of the output
  --values               print each return value after the output, one per line
  --time-limit MS        time limit in milliseconds (default 7000)
  --memory-limit BYTES   memory limit: bytes, or with K, M or G (default 50M)
  --output-limit BYTES   output limit: bytes, or with K, M or G (default 8M)
  --backend native|wasm  which backend runs the script (default: native where it loads)
  --script-id ID         the chunk's name in messages (default: the file's name)
  --version, --help`

/** A failure of the command itself (not of the script): message, exit status. */
class CommandError extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

const usage = (message) => new CommandError(`${message}\n${USAGE}`, EX_USAGE)

/** `50M` and friends as bytes. */
function parseSize(text, flag) {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(text ?? '')
  if (!match) throw usage(`pubwiki-lua: ${flag} wants a size (bytes, or with K, M or G), got ${JSON.stringify(text)}`)
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2].toUpperCase()]
  const bytes = Math.floor(Number(match[1]) * unit)
  if (!(bytes > 0)) throw usage(`pubwiki-lua: ${flag} must be positive`)
  return bytes
}

function parseMillis(text, flag) {
  const ms = Number(text)
  if (text === undefined || !Number.isFinite(ms) || ms <= 0) throw usage(`pubwiki-lua: ${flag} wants milliseconds, got ${JSON.stringify(text)}`)
  return ms
}

// Written out by hand rather than with util.parseArgs: options end at the script's name,
// and everything after it belongs to the script (as for lua5.4), which parseArgs cannot do.
function parseArguments(argv) {
  const options = { modules: [], limits: {}, json: false, values: false, check: false, code: undefined, file: undefined, scriptArgs: [] }
  let i = 0
  const value = (flag) => {
    if (i + 1 >= argv.length) throw usage(`pubwiki-lua: ${flag} needs a value`)
    return argv[++i]
  }
  for (; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      i++
      break
    }
    if (arg === '-' || !arg.startsWith('-')) break
    switch (arg) {
      case '-h':
      case '--help':
        return { help: true }
      case '-v':
      case '--version':
        return { version: true }
      case '-e':
        options.code = value(arg)
        break
      case '--modules':
        options.modules.push(value(arg))
        break
      case '--mw':
        options.mw = true
        break
      case '--wiki':
        options.wiki = value(arg)
        if (!/^https?:\/\//.test(options.wiki)) throw usage(`pubwiki-lua: --wiki wants the URL of a wiki's api.php, got ${JSON.stringify(options.wiki)}`)
        break
      case '--state':
        options.state = value(arg)
        if (options.state === '') throw usage('pubwiki-lua: --state must name a file or a postgres:// or redis:// URL')
        break
      case '--triples':
        options.triples = value(arg)
        if (options.triples === '') throw usage('pubwiki-lua: --triples must name a file')
        break
      case '--json':
        options.json = true
        break
      case '--values':
        options.values = true
        break
      case '--check':
        options.check = true
        break
      case '--time-limit':
        options.limits.timeLimit = parseMillis(value(arg), arg)
        break
      case '--memory-limit':
        options.limits.memoryLimit = parseSize(value(arg), arg)
        break
      case '--output-limit':
        options.limits.outputLimit = parseSize(value(arg), arg)
        break
      case '--backend': {
        const backend = value(arg)
        if (backend !== 'native' && backend !== 'wasm') throw usage(`pubwiki-lua: --backend is native or wasm, got ${JSON.stringify(backend)}`)
        options.backend = backend
        break
      }
      case '--script-id':
        options.scriptId = value(arg)
        if (options.scriptId === '') throw usage('pubwiki-lua: --script-id must not be empty')
        break
      default:
        throw usage(`pubwiki-lua: unknown option ${arg}`)
    }
  }
  const rest = argv.slice(i)
  if (options.check) {
    if (rest.length === 0) throw usage('pubwiki-lua: --check needs files or folders')
    options.checkPaths = rest
  } else if (options.code !== undefined) {
    options.scriptArgs = rest
  } else {
    if (rest.length === 0) throw usage('pubwiki-lua: no script given')
    options.file = rest[0]
    options.scriptArgs = rest.slice(1)
  }
  if (options.json && options.values) throw usage('pubwiki-lua: --json and --values exclude each other')
  return options
}

// The module rule: in each folder, in order, the first of
//   NAME.lua, BASE.lua, base.lua, base/init.lua
// where BASE is NAME without a `Namespace:` prefix (`Module:Util` -> `Util`), base is BASE
// in lower case, and dots in BASE are folder separators (`util.strings` -> util/strings.lua).
// Names that could leave the folder (`..`, absolute paths, backslashes, NUL) find nothing,
// and so does a path that resolves (through links) outside it.
function moduleResolver(folders) {
  const roots = folders.map((folder) => {
    try {
      return fs.realpathSync(folder)
    } catch {
      throw new CommandError(`pubwiki-lua: --modules ${folder}: no such folder`, EX_NOINPUT)
    }
  })
  return (name) => {
    if (/\.\.|[\\\0]/.test(name) || path.isAbsolute(name)) return undefined
    const base = name.replace(/^[^:/]*:/, '').replaceAll('.', '/')
    const candidates = [`${name}.lua`, `${base}.lua`, `${base.toLowerCase()}.lua`, `${base.toLowerCase()}/init.lua`]
    for (const root of roots) {
      for (const candidate of candidates) {
        let file
        try {
          file = fs.realpathSync(path.join(root, candidate))
        } catch {
          continue
        }
        if (!file.startsWith(root + path.sep) || !fs.statSync(file).isFile()) continue
        return fs.readFileSync(file, 'utf8')
      }
    }
    return undefined
  }
}

function readScript(options) {
  if (options.code !== undefined) return { code: options.code, name: options.scriptId ?? '(command line)' }
  if (options.file === '-') return { code: fs.readFileSync(0, 'utf8'), name: options.scriptId ?? 'stdin' }
  try {
    return { code: fs.readFileSync(options.file, 'utf8'), name: options.scriptId ?? options.file }
  } catch (error) {
    throw new CommandError(`pubwiki-lua: cannot read ${options.file}: ${error.code ?? error.message}`, EX_NOINPUT)
  }
}

/** A return value as one line: strings as they are, anything else as JSON. */
const valueLine = (value) => (typeof value === 'string' ? value : JSON.stringify(value))

function reportLuaError(error) {
  process.stdout.write(error.output)
  process.stderr.write(`pubwiki-lua: ${error.kind} error: ${error.message}\n`)
  if (error.traceback) process.stderr.write(`${error.traceback}\n`)
}

/** The .lua files a --check path names (a folder: all of them inside, in order). */
function luaFiles(target) {
  let stat
  try {
    stat = fs.statSync(target)
  } catch {
    throw new CommandError(`pubwiki-lua: cannot read ${target}: ENOENT`, EX_NOINPUT)
  }
  if (!stat.isDirectory()) return [target]
  return fs.readdirSync(target, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.lua'))
    .sort()
    .map((name) => path.join(target, name))
}

// Syntax only: `load` in the sandbox, with the source as a global, so nothing of it runs.
const CHECK = 'local f, e = load(source, "=" .. name, "t") if not f then error(e, 0) end'

async function check(lua, options) {
  let failed = 0
  for (const file of options.checkPaths.flatMap(luaFiles)) {
    const source = fs.readFileSync(file, 'utf8')
    try {
      await lua.run(CHECK, { scriptId: 'pubwiki-lua --check', globals: { source, name: file } })
    } catch (error) {
      if (!(error instanceof lua.LuaError)) throw error
      failed++
      process.stderr.write(`pubwiki-lua: syntax error: ${error.message}\n`)
    }
  }
  return failed ? 1 : 0
}

async function main(argv) {
  const options = parseArguments(argv)
  if (options.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (options.version) {
    process.stdout.write(`pubwiki-lua ${require('../package.json').version}\n`)
    return 0
  }
  if (options.backend) process.env.PUBWIKI_LUA_BACKEND = options.backend
  const lua = require('..')
  if (options.check) return check(lua, options)
  const { code, name } = readScript(options)
  const folders = options.modules.length ? moduleResolver(options.modules) : undefined
  const wiki = options.wiki && lua.mediaWikiModules({ api: options.wiki })
  const modules = folders && wiki ? (name) => folders(name) ?? wiki(name) : (folders ?? wiki)
  const arg = new Map([[0, options.file ?? name], ...options.scriptArgs.map((value, i) => [i + 1, value])])
  if (options.state !== undefined && options.triples !== undefined) throw usage('pubwiki-lua: --state and --triples both give the script State: use one')
  const store = options.state === undefined ? undefined : openStore(lua, options.state)
  const triples = options.triples === undefined ? undefined : openTriples(lua, options.triples)
  const runner = options.mw ? lua.createRunner({ mw: true }) : lua
  try {
    const { output, values, log } = await runner.run(code, {
      scriptId: name,
      ...options.limits,
      modules,
      globals: { arg },
      arguments: options.scriptArgs,
      state: store && { store },
      triples,
    })
    if (options.json) {
      process.stdout.write(`${JSON.stringify(log === undefined ? { output, values } : { output, values, log })}\n`)
    } else {
      process.stdout.write(output)
      if (options.values) for (const value of values) process.stdout.write(`${valueLine(value)}\n`)
      if (log) process.stderr.write(log)
    }
    return 0
  } catch (error) {
    if (!(error instanceof lua.LuaError)) throw error
    if (!options.json && error.log) process.stderr.write(error.log)
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ output: error.output, ...(error.log !== undefined && { log: error.log }), error: { kind: error.kind, message: error.message, traceback: error.traceback } })}\n`)
      process.stderr.write(`pubwiki-lua: ${error.kind} error: ${error.message}\n`)
    } else {
      reportLuaError(error)
    }
    return 1
  } finally {
    await store?.close()
    triples?.close()
  }
}

// A SQLite file of triples.
function openTriples(lua, file) {
  try {
    return new lua.SqliteTripleStore(file)
  } catch (error) {
    throw new CommandError(`pubwiki-lua: cannot open the triples file ${file}: ${error.message}`, EX_NOINPUT)
  }
}

// A SQLite file, or a database server's URL (its connection is made by the first State
// request; a server that does not answer is a Lua error there).
function openStore(lua, target) {
  try {
    if (/^postgres(ql)?:\/\//.test(target)) return new lua.PostgresStore(target, { max: 2 })
    if (/^rediss?:\/\//.test(target)) return new lua.RedisStore(target)
    return new lua.SqliteStore(target)
  } catch (error) {
    const what = /^[a-z]+:\/\//.test(target) ? 'store' : 'file'
    throw new CommandError(`pubwiki-lua: cannot open the state ${what} ${target}: ${error.message}`, EX_NOINPUT)
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status
  },
  (error) => {
    if (error instanceof CommandError) {
      process.stderr.write(`${error.message}\n`)
      process.exitCode = error.status
    } else if (error instanceof TypeError) {
      // Bad input the library refused (an option it does not take).
      process.stderr.write(`pubwiki-lua: ${error.message}\n`)
      process.exitCode = EX_USAGE
    } else {
      process.stderr.write(`pubwiki-lua: internal error: ${error?.stack ?? error}\n`)
      process.exitCode = 70
    }
  },
)
