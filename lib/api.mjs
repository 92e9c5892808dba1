// The public API over a backend (the native addon, the wasm build, a worker pool):
// argument checks, defaults, runners, globals and LuaError. Each call is described to the
// backend by one call object (lib/call.mjs, which also describes the backend interface).
// Shared by every entry point (the CommonJS index.js requires this ES module, as Node >=
// 20.19 allows); uses no Node built-ins so browsers can load it.

import { Bridge, depthOfNewCall, drive } from './bridge.mjs'
import { callObject, failedOutcome } from './call.mjs'
import { DEFAULT_LIMITS, MAX_NESTING, TOO_DEEP } from './core-constants.mjs'
import { DEFAULT_RETRIES, attempts, attemptsSync, checkRetries, checkRetryHostCalls } from './retry.mjs'
import { checkFrame, checkMw, mwConfig, withFileSpelling } from './mw.mjs'
import { MemoryStore, StateSession, checkState } from './state.mjs'
import { TriplesSession, checkTriples } from './triples.mjs'
import { describe, isPlainObject, isThenable } from './util.mjs'
import { decodeValues, encodeArguments, encodeGlobals, functionTable } from './wire.mjs'

const LIMITS = ['memoryLimit', 'timeLimit', 'outputLimit']
const SHARED_OPTIONS = [...LIMITS, 'globals', 'modules', 'state', 'triples', 'retries']
const RUNNER_OPTIONS = [...SHARED_OPTIONS, 'preload', 'retryHostCalls', 'mw']
const CALL_OPTIONS = ['scriptId', 'arguments', ...SHARED_OPTIONS]
const RUN_LUA_OPTIONS = ['arguments', ...SHARED_OPTIONS]
const INVOKE_OPTIONS = ['scriptId', ...SHARED_OPTIONS]
// Which JS needs to know how many bytes of globals or results can possibly fit (a bound on
// encoding them, see wire.mjs).
const DEFAULT_MEMORY_LIMIT = DEFAULT_LIMITS.memoryLimit

class LuaError extends Error {
  constructor(outcome, scriptId, cause) {
    super(outcome.message, cause === undefined ? undefined : { cause })
    this.name = 'LuaError'
    /** 'syntax' | 'runtime' | 'memory' | 'timeout' | 'output' | 'conflict' | 'quota' */
    this.kind = outcome.kind
    this.scriptId = scriptId
    /** Everything the script printed before the error. */
    this.output = outcome.output
    this.traceback = outcome.traceback
    /** What `mw.log` wrote before the error (runners with `mw`). */
    if (outcome.log !== undefined) this.log = outcome.log
  }
}

/** `state` and `triples` both give scripts `State`: a call has one or the other. */
function bothStates(name) {
  return new TypeError(`${name}: state and triples both give scripts State; a call may have one of them, not both`)
}

function checkString(value, name) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`)
}

function checkScriptId(scriptId) {
  checkString(scriptId, 'scriptId')
  if (scriptId === '') throw new TypeError('scriptId must not be empty')
}

/** The function table of a call given no globals or arguments (wire.mjs functionTable). */
const NO_FUNCTIONS = Object.freeze({ list: Object.freeze([]), names: Object.freeze([]), indexOf: new Map() })

const NO_OPTIONS = Object.freeze({ limits: Object.freeze({}), globals: undefined, modules: undefined, state: undefined, triples: undefined })

// Checks an options object; returns { limits: { memoryLimit, timeLimit, outputLimit },
// globals, modules, arguments, state }, with undefined for what it does not set.
function checkOptions(options, allowed, name) {
  if (options === undefined) return NO_OPTIONS
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${name} must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${name}.${key} is not an option (expected one of ${allowed.join(', ')})`)
  }
  const limits = {}
  for (const limit of LIMITS) {
    const value = options[limit]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${name}.${limit} must be a positive finite number, got ${describe(value)}`)
    }
    limits[limit] = value
  }
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
  const { preload } = options
  if (preload !== undefined && (!Array.isArray(preload) || !preload.every((module) => typeof module === 'string' && module !== ''))) {
    throw new TypeError(`${name}.preload must be an array of module names, got ${describe(preload)}`)
  }
  if (preload?.length && modules === undefined) throw new TypeError(`${name}.preload needs the modules option, which gives their sources`)
  if (options.state !== undefined && options.triples !== undefined) throw bothStates(name)
  return {
    limits,
    globals,
    modules,
    arguments: options.arguments,
    state: checkState(options.state, name),
    triples: checkTriples(options.triples, name),
    preload,
    retries: checkRetries(options.retries, name),
    retryHostCalls: checkRetryHostCalls(options.retryHostCalls, name),
    mw: checkMw(options.mw, name),
  }
}

/**
 * The sources of the modules a runner preloads, from its `modules` option (a resolver gets
 * the context `{ preload: true }`): an array, or a promise of one where the resolver is
 * async.
 */
function preloadSources(names, modules) {
  const resolve = resolverOf(modules, { preload: true })
  const sources = names.map((name) => resolve(name))
  const checked = (found) =>
    found.map((source, i) => {
      if (typeof source !== 'string') {
        throw new TypeError(`createRunner options.preload: modules gave no source for '${names[i]}' (got ${describe(source)})`)
      }
      return source
    })
  return sources.some(isThenable) ? Promise.all(sources).then(checked) : checked(sources)
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
    if (isThenable(found)) {
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
  return new LuaError(failedOutcome('runtime', TOO_DEEP), scriptId)
}

/** Bytes of wire values that can still fit in a state of `memoryLimit` bytes (see wire.mjs). */
function encodeLimit(memoryLimit) {
  return 4 * (memoryLimit ?? DEFAULT_MEMORY_LIMIT) + 65536
}

export function createApi(backend) {
  // One call, checked and with its runner's defaults applied: { call (the call object),
  // bridge (undefined for a call without a host), session (its State), runner }.
  // `invoke`: { module, function, args } for an invoked call (its code is then unused).
  function prepare(runner, code, scriptId, options, allowed, name, synchronous, invoke) {
    checkString(code, 'code')
    checkScriptId(scriptId)
    const own = checkOptions(options, allowed, name)
    const depth = depthOfNewCall()
    if (depth > MAX_NESTING) throw tooDeep(scriptId)
    const defaults = runner.options
    const limits = own.limits === NO_OPTIONS.limits ? defaults.limits : { ...defaults.limits, ...own.limits }
    const context = { scriptId }
    const base = resolveGlobals(defaults.globals, context, 'runner')
    const extra = resolveGlobals(own.globals, context, name)
    const globals = base && extra ? { ...base, ...extra } : (base ?? extra)
    const resolveModule = withFileSpelling(chainResolvers(resolverOf(own.modules, context), resolverOf(defaults.modules, context)))
    // (A call given no values has no host functions: no table to make.)
    const given = globals !== undefined || (invoke ? invoke.args : own.arguments) || defaults.mw
    const functions = given ? functionTable() : NO_FUNCTIONS
    const limit = encodeLimit(limits.memoryLimit)
    const encodedGlobals = globals === undefined ? undefined : encodeGlobals(globals, functions, limit)
    const chunkArguments = invoke ? invoke.args : own.arguments
    const encodedArguments = chunkArguments && encodeArguments(chunkArguments, functions, limit)
    // Scribunto's `mw`: what this call gives the library (lib/mw.mjs), and its frame.
    const mw = defaults.mw && encodeGlobals(mwConfig(defaults.mw, invoke?.frame, invoke?.module), functions, limit)
    const state = runner.state(own.state)
    const triples = runner.triples(own.triples)
    if (state && triples) throw bothStates(name)
    const writeLimit = limits.memoryLimit ?? DEFAULT_MEMORY_LIMIT
    const newSession = () => triples
      ? new TriplesSession(triples, scriptId, { replyLimit: limit, writeLimit })
      : state && new StateSession(state.store, scriptId, state.namespaces, {
        replyLimit: limit,
        writeLimit,
        quota: state.quota,
      })
    const session = newSession()
    // Without host functions, modules, arguments or State the call runs alone (the quick path).
    const alone = functions.list.length === 0 && !resolveModule && !encodedArguments && !session
    const call = callObject({
      scriptId,
      code,
      invoke,
      limits,
      globals: encodedGlobals,
      args: encodedArguments,
      state: Boolean(state),
      triples: Boolean(triples),
      synchronous,
      mw,
    })
    const prepared = {
      call,
      scriptId,
      bridge: alone ? undefined : new Bridge(functions, limit, resolveModule, session, depth),
      session,
      runner,
      // After a State conflict (lib/retry.mjs): how often it may run again, and a fresh
      // session and bridge for the next attempt.
      retry: { retries: own.retries ?? defaults.retries ?? DEFAULT_RETRIES, hostCalls: defaults.retryHostCalls === true },
      attempt: 0,
      // Every attempt runs within the call's one time limit.
      deadline: Date.now() + (limits.timeLimit ?? DEFAULT_LIMITS.timeLimit),
      renew() {
        prepared.session = newSession()
        prepared.bridge = new Bridge(functions, limit, resolveModule, prepared.session, depth)
        prepared.call = { ...call, timeLimit: Math.max(1, prepared.deadline - Date.now()) }
      },
    }
    return prepared
  }

  function settle(outcome, prepared) {
    const mw = prepared.runner.options.mw
    if (mw && outcome.log === undefined) outcome = { ...outcome, log: '' }
    if (!outcome.ok) throw new LuaError(outcome, prepared.scriptId, prepared.bridge?.cause(outcome))
    if (mw) return { output: outcome.output, values: decodeValues(outcome.values), log: outcome.log }
    return { output: outcome.output, values: decodeValues(outcome.values) }
  }

  function unsaved(prepared, error) {
    const message = error instanceof Error ? error.message : String(error)
    return new Error(`pubwiki-lua: the state written by ${prepared.scriptId} could not be saved: ${message}`, { cause: error })
  }

  // A call that succeeded commits its State writes (one store transaction); one that
  // failed drops them with its session. Gives the store's verdict (lib/retry.mjs).
  function commit(prepared) {
    let verdict
    try {
      verdict = prepared.session.commit()
    } catch (error) {
      throw unsaved(prepared, error)
    }
    // (A synchronous store's verdict is used as it is: no promise, no turn of the microtasks.)
    return isThenable(verdict) ? Promise.resolve(verdict).catch((error) => { throw unsaved(prepared, error) }) : verdict
  }

  function commitSync(prepared) {
    try {
      return prepared.session.commit()
    } catch (error) {
      throw unsaved(prepared, error)
    }
  }

  async function execute(prepared) {
    // Always a wait (`ready` is undefined where the backend loaded already), so a call
    // starts on a stack of its own, never on its caller's: one that a host function starts
    // runs beside the call waiting for it, not on top of it (wasm runs calls on this
    // thread), and no caller's depth is the call's.
    await backend.ready
    let native = prepared.runner.native()
    if (isThenable(native)) native = await native
    if (!prepared.bridge) return settle(await backend.runAsync(prepared.call, native), prepared)
    const attempt = (prepared) => drive(backend.startCall(prepared.call, native, prepared.bridge), prepared.bridge)
    return settle(await attempts(prepared, attempt, () => commit(prepared), prepared.runner.stats), prepared)
  }

  function executeSync(prepared) {
    const native = prepared.runner.native()
    if (isThenable(native)) {
      throw new TypeError('this runner preloads modules from an async resolver: its first call must be run, runLua or invoke')
    }
    if (!prepared.bridge) return settle(backend.runSync(prepared.call, native), prepared)
    if (prepared.session && prepared.session.store.synchronous !== true) {
      throw new TypeError('a synchronous call needs a synchronous state store (MemoryStore, SqliteStore): use run, runLua or invoke')
    }
    const attempt = (prepared) => {
      const outcome = backend.startCall(prepared.call, native, prepared.bridge).resumeSync(undefined)
      // A synchronous call never waits (the core refuses), so it is over after one slice.
      if (typeof outcome === 'number') throw new Error('pubwiki-lua: a synchronous call waited')
      return outcome
    }
    return settle(attemptsSync(prepared, attempt, () => commitSync(prepared), prepared.runner.stats), prepared)
  }

  function runner(options) {
    // The backend's runner (its compiled modules and arenas, with the preloaded modules):
    // made when a call first needs it, once the backend has loaded, or a promise while the
    // preloaded modules' sources resolve.
    let native
    const makeNative = () => {
      const names = options.preload ?? []
      const made = (sources) => (native = backend.newRunner(names, sources, options.limits.memoryLimit, options.limits.timeLimit, Boolean(options.mw)))
      const sources = preloadSources(names, options.modules)
      if (!isThenable(sources)) return made(sources)
      native = sources.then(made, (error) => {
        native = undefined
        throw error
      })
      return native
    }
    // The runner's MemoryStore, for `state: true` (made on first use).
    let memoryStore
    const defaultStore = () => (memoryStore ??= new MemoryStore())
    const self = {
      options,
      // Conflicts of its calls' commits, and re-runs after them (lib/retry.mjs).
      stats: { conflicts: 0, retries: 0 },
      native: () => native ?? makeNative(),
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
      // The triples of a call with `own` triples options: { store, graphs, maxWrites }, or undefined.
      triples(own) {
        const given = options.triples
        if (!own && !given) return undefined
        const store = own?.store ?? given?.store
        if (!store) throw new TypeError('triples needs a store: { store } (or the store itself), per runner or per call')
        return { store, graphs: own?.graphs ?? given?.graphs, maxWrites: own?.maxWrites ?? given?.maxWrites }
      },
    }
    const runOptions = (options) => {
      if (options === null || typeof options !== 'object' || Array.isArray(options)) {
        throw new TypeError(`options must be an object with a scriptId, got ${describe(options)}`)
      }
      return options
    }
    const forRun = (code, options, synchronous) => {
      checkString(code, 'code')
      return prepare(self, code, runOptions(options).scriptId, options, CALL_OPTIONS, 'options', synchronous)
    }
    const forRunLua = (code, scriptId, options, synchronous) =>
      prepare(self, code, scriptId, options, RUN_LUA_OPTIONS, 'options', synchronous)
    const forInvoke = (module, fn, args, options, synchronous) => {
      checkString(module, 'module')
      checkString(fn, 'functionName')
      // A plain object is Scribunto's frame: { args, parentArgs, title, parentTitle }.
      const frame = isPlainObject(args) ? args : undefined
      if (frame && !self.options.mw) throw new TypeError('invoke with a frame needs a runner with the mw option')
      if (frame) checkFrame(frame)
      else if (args !== undefined && !Array.isArray(args)) throw new TypeError(`args must be an array or a frame object, got ${describe(args)}`)
      const invoke = { module, function: fn, args: frame ? [] : (args ?? []), frame }
      return prepare(self, '', runOptions(options).scriptId, options, INVOKE_OPTIONS, 'options', synchronous, invoke)
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
        return execute(forRun(code, options, false))
      },
      runSync(code, options) {
        return executeSync(forRun(code, options, true))
      },
      /** Runs `code`; resolves to everything it printed. */
      async runLua(code, scriptId, options) {
        return (await execute(forRunLua(code, scriptId, options, false))).output
      },
      runLuaSync(code, scriptId, options) {
        return executeSync(forRunLua(code, scriptId, options, true)).output
      },
      /** `require(module)[functionName](...args)` in a fresh state; resolves to `{ output, values }`. */
      async invoke(module, functionName, args, options) {
        return execute(forInvoke(module, functionName, args, options, false))
      },
      invokeSync(module, functionName, args, options) {
        return executeSync(forInvoke(module, functionName, args, options, true))
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
    /** The same functions, with `options` (limits, globals, modules, ...) as every call's defaults. */
    createRunner(options) {
      return Object.freeze(runner(checkOptions(options, RUNNER_OPTIONS, 'createRunner options')))
    },
  }
}
