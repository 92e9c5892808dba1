// The public API over a backend (native addon or wasm): argument checks, defaults,
// runners, globals and LuaError. Shared by every entry point (the CommonJS index.js
// requires this ES module, as Node >= 20.19 allows); uses no Node built-ins so browsers
// can load it.
//
// A backend has: runSync/runAsync(code, scriptId, memoryLimit, timeLimit, outputLimit,
// globals?) -> Outcome for calls without host functions, modules or State; startCall(...,
// globals, cache, bridge, synchronous, invokeModule?, invokeFunction?, arguments?,
// withState?) -> a call with resume(reply?) (an Outcome, or the milliseconds left while it
// waits; natively in a promise) and resumeSync(reply?) for the rest, which the bridge (lib/bridge.mjs) answers and drives; and
// newModuleCache() for a runner's compiled modules.
// `ready`, if present, is a promise to await before the first call.

import { Bridge, depthOfNewCall, drive } from './bridge.mjs'
import { DEFAULT_LIMITS, MAX_NESTING } from './core-constants.mjs'
import { DEFAULT_RETRIES, attempts, attemptsSync, checkRetries, checkRetryHostCalls } from './retry.mjs'
import { MemoryStore, StateSession, checkState } from './state.mjs'
import { decodeValues, encodeArguments, encodeGlobals, functionTable } from './wire.mjs'

const LIMITS = ['memoryLimit', 'timeLimit', 'outputLimit']
const RUNNER_OPTIONS = [...LIMITS, 'globals', 'modules', 'state', 'retries']
const CALL_OPTIONS = ['scriptId', 'arguments', ...RUNNER_OPTIONS]
const RUN_LUA_OPTIONS = ['arguments', ...RUNNER_OPTIONS]
const INVOKE_OPTIONS = ['scriptId', ...RUNNER_OPTIONS]
// Which JS needs to know how many bytes of globals or results can possibly fit (a bound on
// encoding them, see wire.mjs).
const DEFAULT_MEMORY_LIMIT = DEFAULT_LIMITS.memoryLimit

export class LuaError extends Error {
  constructor(outcome, scriptId, cause) {
    super(outcome.message, cause === undefined ? undefined : { cause })
    this.name = 'LuaError'
    /** 'syntax' | 'runtime' | 'memory' | 'timeout' | 'output' | 'conflict' | 'quota' */
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
  if (typeof value === 'function') return 'a function'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function checkString(value, name) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`)
}

function checkScriptId(scriptId) {
  checkString(scriptId, 'scriptId')
  if (scriptId === '') throw new TypeError('scriptId must not be empty')
}

const NO_OPTIONS = Object.freeze({ limits: [undefined, undefined, undefined], globals: undefined, modules: undefined, state: undefined })

// Checks an options object; returns { limits: [memory, time, output], globals, modules,
// arguments, state }, with undefined for what it does not set.
function checkOptions(options, allowed, name) {
  if (options === undefined) return NO_OPTIONS
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${name} must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${name}.${key} is not an option (expected one of ${allowed.join(', ')})`)
  }
  const limits = LIMITS.map((limit) => {
    const value = options[limit]
    if (value === undefined) return undefined
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${name}.${limit} must be a positive finite number, got ${describe(value)}`)
    }
    return value
  })
  const { globals, modules } = options
  if (options.arguments !== undefined && !Array.isArray(options.arguments)) {
    throw new TypeError(`${name}.arguments must be an array, got ${describe(options.arguments)}`)
  }
  if (globals !== undefined && typeof globals !== 'function' && !isPlainObject(globals)) {
    throw new TypeError(`${name}.globals must be an object or a function returning one, got ${describe(globals)}`)
  }
  if (modules !== undefined && typeof modules !== 'function' && !isPlainObject(modules)) {
    throw new TypeError(`${name}.modules must be an object of sources or a resolver function, got ${describe(modules)}`)
  }
  return {
    limits, globals, modules, arguments: options.arguments, state: checkState(options.state, name),
    retries: checkRetries(options.retries, name), retryHostCalls: checkRetryHostCalls(options.retryHostCalls, name),
  }
}

// Globals as given (an object, or a function of the call's context returning one).
function resolveGlobals(globals, context, name) {
  if (typeof globals !== 'function') return globals
  const value = globals(context)
  if (value !== undefined && !isPlainObject(value)) {
    throw new TypeError(`${name}.globals(context) must return an object, got ${describe(value)}`)
  }
  return value
}

// A resolver `name => source | undefined | Promise` over a `modules` option (a map of
// name -> source, or a resolver taking the call's context too).
function resolverOf(modules, context) {
  if (modules === undefined) return undefined
  if (typeof modules === 'function') return (name) => modules(name, context)
  return (name) => (Object.hasOwn(modules, name) ? modules[name] : undefined)
}

// The call's resolver, then the runner's for what it does not have.
function chainResolvers(first, second) {
  if (!first || !second) return first ?? second
  return (name) => {
    const found = first(name)
    if (found !== null && (typeof found === 'object' || typeof found === 'function') && typeof found.then === 'function') {
      return Promise.resolve(found).then((source) => source ?? second(name))
    }
    return found ?? second(name)
  }
}

/**
 * A call started inside `MAX_NESTING` others, each run by a host function of the one around
 * it: the core refuses it where the calls share a stack (crates/core/src/running.rs), and
 * this, with the same words, where they do not (natively `run` starts calls on the pool).
 */
function tooDeep(scriptId) {
  const message = `calls nested too deep: at most ${MAX_NESTING} may run inside each other (through host functions that run scripts)`
  return new LuaError({ kind: 'runtime', message, output: '', traceback: '' }, scriptId)
}

/** Bytes of wire values that can still fit in a state of `memoryLimit` bytes (see wire.mjs). */
function encodeLimit(memoryLimit) {
  return 4 * (memoryLimit ?? DEFAULT_MEMORY_LIMIT) + 65536
}

export function createApi(backend) {
  // One call, checked and with its runner's defaults applied. `invoke`: [module, function,
  // args] for an invoked call (its code is then unused).
  function prepare(runner, code, scriptId, options, allowed, name, invoke) {
    checkString(code, 'code')
    checkScriptId(scriptId)
    const own = checkOptions(options, allowed, name)
    const depth = depthOfNewCall()
    if (depth > MAX_NESTING) throw tooDeep(scriptId)
    const defaults = runner.options
    const limits = own.limits.map((value, i) => value ?? defaults.limits[i])
    const context = { scriptId }
    const base = resolveGlobals(defaults.globals, context, 'runner')
    const extra = resolveGlobals(own.globals, context, name)
    const globals = base && extra ? { ...base, ...extra } : (base ?? extra)
    const resolveModule = chainResolvers(resolverOf(own.modules, context), resolverOf(defaults.modules, context))
    const functions = functionTable()
    const limit = encodeLimit(limits[0])
    const encoded = globals === undefined ? undefined : encodeGlobals(globals, functions, limit)
    const chunkArguments = invoke ? invoke[2] : own.arguments
    const encodedArguments = chunkArguments && encodeArguments(chunkArguments, functions, limit)
    const state = runner.state(own.state)
    const newSession = () => state && new StateSession(state.store, scriptId, state.namespaces, {
      replyLimit: limit,
      writeLimit: limits[0] ?? DEFAULT_MEMORY_LIMIT,
      quota: state.quota,
    })
    const session = newSession()
    // Without host functions, modules, arguments or State the call runs alone (the quick path).
    const alone = functions.list.length === 0 && !resolveModule && !encodedArguments && !session
    const call = {
      args: [code, scriptId, ...limits, encoded],
      bridge: alone ? undefined : new Bridge(functions, limit, resolveModule, session, depth),
      session,
      scriptId,
      runner,
      entry: [invoke?.[0], invoke?.[1], encodedArguments, session ? true : undefined],
      // After a State conflict (lib/retry.mjs): how often it may run again, and a fresh
      // session and bridge for the next attempt.
      retry: { retries: own.retries ?? defaults.retries ?? DEFAULT_RETRIES, hostCalls: defaults.retryHostCalls === true },
      attempt: 0,
      // Every attempt runs within the call's one time limit.
      deadline: Date.now() + (limits[1] ?? DEFAULT_LIMITS.timeLimit),
      renew() {
        call.session = newSession()
        call.bridge = new Bridge(functions, limit, resolveModule, call.session, depth)
        call.args[3] = Math.max(1, call.deadline - Date.now())
      },
    }
    return call
  }

  function settle(outcome, call) {
    if (!outcome.ok) throw new LuaError(outcome, call.scriptId, call.bridge?.cause(outcome))
    return { output: outcome.output, values: decodeValues(outcome.values) }
  }

  function unsaved(call, error) {
    const message = error instanceof Error ? error.message : String(error)
    return new Error(`pubwiki-lua: the state written by ${call.scriptId} could not be saved: ${message}`, { cause: error })
  }

  // A call that succeeded commits its State writes (one store transaction); one that
  // failed drops them with its session. Resolves to the store's verdict (lib/retry.mjs).
  async function commit(outcome, call) {
    try {
      return await call.session.commit()
    } catch (error) {
      throw unsaved(call, error)
    }
  }

  function commitSync(outcome, call) {
    try {
      return call.session.commit()
    } catch (error) {
      throw unsaved(call, error)
    }
  }

  function start(call, synchronous) {
    return backend.startCall(...call.args, call.runner.cache(), call.bridge, synchronous, ...call.entry)
  }

  async function execute(call) {
    // Always a wait (`ready` is undefined where the backend loaded already), so a call
    // starts on a stack of its own, never on its caller's: one that a host function starts
    // runs beside the call waiting for it, not on top of it (wasm runs calls on this
    // thread), and no caller's depth is the call's.
    await backend.ready
    if (!call.bridge) return settle(await backend.runAsync(...call.args), call)
    const outcome = await attempts(call, (call) => drive(start(call, false), call.bridge), (outcome) => commit(outcome, call), call.runner.stats)
    return settle(outcome, call)
  }

  function executeSync(call) {
    if (!call.bridge) return settle(backend.runSync(...call.args), call)
    if (call.session && call.session.store.synchronous !== true) {
      throw new TypeError('a synchronous call needs a synchronous state store (MemoryStore, SqliteStore): use run, runLua or invoke')
    }
    const outcome = attemptsSync(call, (call) => {
      const outcome = start(call, true).resumeSync(undefined)
      // A synchronous call never waits (the core refuses), so it is over after one slice.
      if (typeof outcome === 'number') throw new Error('pubwiki-lua: a synchronous call waited')
      return outcome
    }, (outcome) => commitSync(outcome, call), call.runner.stats)
    return settle(outcome, call)
  }

  function runner(options) {
    // The runner's compiled modules (made when a call first needs them, once the backend
    // has loaded).
    let cache
    // The runner's MemoryStore, for `state: true` (made on first use).
    let memoryStore
    const defaultStore = () => (memoryStore ??= new MemoryStore())
    const self = {
      options,
      // Conflicts of its calls' commits, and re-runs after them (lib/retry.mjs).
      stats: { conflicts: 0, retries: 0 },
      cache: () => (cache ??= backend.newModuleCache()),
      // The State of a call with `own` state options: { store, namespaces }, or undefined.
      state(own) {
        const given = options.state
        if (!own && !given) return undefined
        return {
          store: own?.store ?? given?.store ?? defaultStore(),
          namespaces: own?.namespaces ?? given?.namespaces,
          quota: own?.quota ?? given?.quota,
        }
      },
    }
    const runOptions = (options) => {
      if (options === null || typeof options !== 'object' || Array.isArray(options)) {
        throw new TypeError(`options must be an object with a scriptId, got ${describe(options)}`)
      }
      return options
    }
    const forRun = (code, options) => {
      checkString(code, 'code')
      return prepare(self, code, runOptions(options).scriptId, options, CALL_OPTIONS, 'options')
    }
    const forRunLua = (code, scriptId, options) => prepare(self, code, scriptId, options, RUN_LUA_OPTIONS, 'options')
    const forInvoke = (module, fn, args, options) => {
      checkString(module, 'module')
      checkString(fn, 'functionName')
      if (args !== undefined && !Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`)
      return prepare(self, '', runOptions(options).scriptId, options, INVOKE_OPTIONS, 'options', [module, fn, args ?? []])
    }
    return {
      /** The store of the runner's State (its MemoryStore for `state: true`), or undefined. */
      get stateStore() {
        return options.state ? (options.state.store ?? defaultStore()) : undefined
      },
      /** How many of its calls' commits conflicted, and how many calls ran again after one. */
      get stats() {
        return { ...self.stats }
      },
      /** Runs `code`; resolves to `{ output, values }`. */
      async run(code, options) {
        return execute(forRun(code, options))
      },
      runSync(code, options) {
        return executeSync(forRun(code, options))
      },
      /** Runs `code`; resolves to everything it printed. */
      async runLua(code, scriptId, options) {
        return (await execute(forRunLua(code, scriptId, options))).output
      },
      runLuaSync(code, scriptId, options) {
        return executeSync(forRunLua(code, scriptId, options)).output
      },
      /** `require(module)[functionName](...args)` in a fresh state; resolves to `{ output, values }`. */
      async invoke(module, functionName, args, options) {
        return execute(forInvoke(module, functionName, args, options))
      },
      invokeSync(module, functionName, args, options) {
        return executeSync(forInvoke(module, functionName, args, options))
      },
    }
  }

  // The top-level functions: a runner without defaults (a call's `state: true` there uses
  // its MemoryStore, which only those calls reach).
  const { stateStore: _, stats: __, ...direct } = runner(NO_OPTIONS)

  return {
    backend: backend.name,
    LuaError,
    ...direct,
    /** The same functions, with `options` (limits, globals, modules) as every call's defaults. */
    createRunner(options) {
      return Object.freeze(runner(checkOptions(options, [...RUNNER_OPTIONS, 'retryHostCalls'], 'createRunner options')))
    },
  }
}
