// The public API over a backend (native addon or wasm): argument checks, defaults and
// LuaError. Shared by every entry point (the CommonJS index.js requires this ES module, as
// Node >= 20.19 allows); uses no Node built-ins so browsers can load it.

import { decodeValues } from './wire.mjs'

const LIMITS = ['memoryLimit', 'timeLimit', 'outputLimit']

export class LuaError extends Error {
  constructor(outcome, scriptId) {
    super(outcome.message)
    this.name = 'LuaError'
    /** 'syntax' | 'runtime' | 'memory' | 'timeout' | 'output' */
    this.kind = outcome.kind
    this.scriptId = scriptId
    /** Everything the script printed before the error. */
    this.output = outcome.output
    this.traceback = outcome.traceback
  }
}

function describe(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

function checkString(value, name) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`)
}

function checkScriptId(scriptId) {
  checkString(scriptId, 'scriptId')
  if (scriptId === '') throw new TypeError('scriptId must not be empty')
}

// Returns the limits in the order the backends take them; undefined keeps the default.
function checkOptions(options, allowed) {
  if (options === undefined) return [undefined, undefined, undefined]
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`options.${key} is not an option (expected one of ${allowed.join(', ')})`)
  }
  return LIMITS.map((name) => {
    const value = options[name]
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`options.${name} must be a positive finite number, got ${describe(value)}`)
    }
    return value
  })
}

export function createApi(backend) {
  function settle(outcome, scriptId) {
    if (!outcome.ok) throw new LuaError(outcome, scriptId)
    return { output: outcome.output, values: decodeValues(outcome.values) }
  }

  function prepareRun(code, options) {
    checkString(code, 'code')
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`options must be an object with a scriptId, got ${describe(options)}`)
    }
    checkScriptId(options.scriptId)
    return [code, options.scriptId, ...checkOptions(options, ['scriptId', ...LIMITS])]
  }

  function prepareRunLua(code, scriptId, options) {
    checkString(code, 'code')
    checkScriptId(scriptId)
    return [code, scriptId, ...checkOptions(options, LIMITS)]
  }

  return {
    backend: backend.name,
    LuaError,
    /** Runs `code`; resolves to `{ output, values }`. */
    async run(code, options) {
      const args = prepareRun(code, options)
      return settle(await backend.runAsync(...args), args[1])
    },
    runSync(code, options) {
      const args = prepareRun(code, options)
      return settle(backend.runSync(...args), args[1])
    },
    /** Runs `code`; resolves to everything it printed. */
    async runLua(code, scriptId, options) {
      const args = prepareRunLua(code, scriptId, options)
      return settle(await backend.runAsync(...args), scriptId).output
    },
    runLuaSync(code, scriptId, options) {
      const args = prepareRunLua(code, scriptId, options)
      return settle(backend.runSync(...args), scriptId).output
    },
  }
}

