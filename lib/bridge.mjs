// The JavaScript half of the host bridge (crates/core/src/request.rs is the other): the
// host functions of one call, how the core's requests reach them, and the loop that
// resumes a call when a promise it waits for settles. Shared by every backend.
//
// Who owns what: the call's function table (its JS functions by wire number) and its
// latest errors live in one Bridge, made per call and dropped with it. The core holds only
// numbers for them. A promise the call waits for is awaited here, raced against the call's
// deadline; when the deadline wins, the call is resumed with no answer (it ends with a
// timeout) and the promise's late result is dropped.

import { HOST_ERRORS_KEPT } from './core-constants.mjs'
import {
  MODULE_SOURCE,
  REPLY_PENDING,
  STATE,
  TRIPLES,
  WRITE_ROWS,
  copyReplyInto,
  encodeErrorInto,
  encodeResultInto,
  standalone,
  takeSpill,
} from './reply.mjs'
import { decodeStateRequest } from './state-codec.mjs'
import { isThenable } from './util.mjs'
import { decodeValues } from './wire.mjs'

const PENDING = Uint8Array.of(REPLY_PENDING)

/**
 * How deep the call whose host function runs now is nested (0: no host function runs): a
 * call started meanwhile runs inside it, one level deeper (lib/api.mjs bounds the depth).
 * Calls a host function starts later (after an `await`) are not inside it.
 */
let runningDepth = 0

/** The nesting depth of a call started now (1: it runs inside no other call). */
export function depthOfNewCall() {
  return runningDepth + 1
}

function messageOf(error) {
  try {
    if (error instanceof Error) return error.message || error.name
    return String(error)
  } catch {
    return '(error object cannot be turned into text)'
  }
}

/** What a module resolver gave, as source text or null (no such module). */
function moduleSource(value, name) {
  if (value === undefined || value === null || typeof value === 'string') return value ?? null
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
  throw new TypeError(`the source of module '${name}' is ${kind}, not text`)
}

export class Bridge {
  /**
   * `functions`: the call's host functions (wire.mjs functionTable); `resolveModule(name)`:
   * a module's source, undefined if there is none, or a promise of either; `state`: the
   * call's StateSession (lib/state.mjs), if it has State; `depth`: how deep the call is
   * nested (`depthOfNewCall()` when it started).
   */
  constructor(functions, encodeLimit, resolveModule, state, depth = 1) {
    this.depth = depth
    this.functions = functions
    this.encodeLimit = encodeLimit
    this.resolveModule = resolveModule ?? (() => undefined)
    this.state = state
    /** The host's errors the call may still report (id -> error), made at the first one. */
    this.errors = null
    this.nextErrorId = 1
    /** Whether the call has called a host function (not module sources, not State). */
    this.calledHost = false
    /** The reply to the request the call may wait for: a promise of reply bytes. */
    this.pending = null
    /** The same reply once it has come (`wait.reply`), to resume without a timer. */
    this.wait = null
    /** How results of each function are named in messages (`fetchPage()`), made on first use. */
    this.roots = null
    /**
     * The backend's way in: host function `index` was called with the wire values at
     * `bytes[argsStart..]`. Writes the reply at `bytes[replyStart..]` if it fits in
     * `capacity` bytes, and returns its length either way (then `takeSpill()` has it).
     * The arguments are decoded before any JS runs, so they may sit in memory that the
     * host's code later reuses (wasm memory, the native addon's scratch buffer); `refresh()`,
     * if given, returns `bytes` anew for the reply (wasm memory may have grown meanwhile).
     */
    this.request = (index, bytes, argsStart, replyStart, capacity, refresh) =>
      this.call(index, bytes, argsStart, replyStart, capacity, refresh)
    // (wasm also passes `refresh` and then the arguments' length, which the relaying bridge
    // of a worker needs: lib/worker-core.mjs.)
    this.takeSpill = takeSpill
    // Called by the native addon as plain functions.
    this.deliverSoon = this.deliverSoon.bind(this)
  }

  call(index, bytes, argsStart, replyStart, capacity, refresh) {
    const outer = runningDepth
    runningDepth = this.depth
    try {
      return this.answerRequest(index, bytes, argsStart, replyStart, capacity, refresh)
    } finally {
      runningDepth = outer
    }
  }

  answerRequest(index, bytes, argsStart, replyStart, capacity, refresh) {
    if (index === STATE || index === TRIPLES) return this.stateRequest(index, bytes, argsStart, replyStart, capacity, refresh)
    // A module's source is asked for as a call of function MODULE_SOURCE with its name.
    const module = index === MODULE_SOURCE
    // A host function's call could be seen: the call may not be run again unasked (lib/retry.mjs).
    if (!module) this.calledHost = true
    const fn = module ? this.resolveModule : this.functions.list[index]
    const root = module ? 'modules()' : ((this.roots ??= [])[index] ??= `${this.functions.names[index]}()`)
    let args
    let result
    try {
      args = decodeValues(bytes, argsStart)
      try {
        result = fn(...args)
      } finally {
        if (refresh) bytes = refresh()
      }
      if (isThenable(result)) {
        // Both outcomes are handled, so a promise the call cannot wait for (the core then
        // raises a Lua error) is no unhandled rejection.
        return this.waitFor(result, (value) => this.lateReply(module ? () => moduleSource(value, args[0]) : () => value, root), bytes, replyStart)
      }
      if (module) result = moduleSource(result, args[0])
    } catch (error) {
      return encodeErrorInto(messageOf(error), this.keep(error), bytes, replyStart, capacity)
    }
    try {
      return encodeResultInto(result, root, this.functions, this.encodeLimit, bytes, replyStart, capacity)
    } catch (error) {
      return encodeErrorInto(messageOf(error), this.keep(error), bytes, replyStart, capacity)
    }
  }

  // The call waits for `promise`; `reply(value)` makes the reply bytes of its value.
  waitFor(promise, reply, bytes, replyStart) {
    const wait = { reply: undefined }
    this.pending = Promise.resolve(promise).then(
      (value) => (wait.reply = reply(value)),
      (error) => (wait.reply = standalone(encodeErrorInto, messageOf(error), this.keep(error))),
    )
    this.wait = wait
    bytes[replyStart] = REPLY_PENDING
    return 1
  }

  // A request of `State` (key/value, or triples: lib/triples.mjs), which the call's session
  // answers (a reply it made whole).
  stateRequest(index, bytes, argsStart, replyStart, capacity, refresh) {
    let reply
    try {
      try {
        if (!this.state || (this.state.triples === true) !== (index === TRIPLES)) throw new Error('State is not available in this call')
        reply = index === TRIPLES ? this.state.request(bytes, argsStart) : this.state.request(decodeStateRequest(bytes, argsStart))
      } finally {
        if (refresh) bytes = refresh()
      }
      if (isThenable(reply)) return this.waitFor(reply, (reply) => reply, bytes, replyStart)
      // (Rows, written straight into the buffer: TriplesSession.rowsReply.)
      if (reply === WRITE_ROWS) return this.state.writeRows(bytes, replyStart, capacity)
    } catch (error) {
      return encodeErrorInto(messageOf(error), this.keep(error), bytes, replyStart, capacity)
    }
    return copyReplyInto(reply, bytes, replyStart, capacity)
  }

  // The answer of a promise (what `value()` gives, or throws), as reply bytes of its own.
  lateReply(value, root) {
    try {
      return standalone(encodeResultInto, value(), root, this.functions, this.encodeLimit)
    } catch (error) {
      return standalone(encodeErrorInto, messageOf(error), this.keep(error))
    }
  }

  /** Keeps `error` for `LuaError.cause`; its id for the core. */
  keep(error) {
    const id = this.nextErrorId++
    const errors = (this.errors ??= new Map())
    errors.set(id, error)
    if (errors.size > HOST_ERRORS_KEPT) errors.delete(id - HOST_ERRORS_KEPT)
    return id
  }

  /** The original JS error behind a call's error, if the core says there is one. */
  cause(outcome) {
    return outcome.cause ? this.errors?.get(outcome.cause) : undefined
  }

  /**
   * The answer to the call's wait if it has come already (a promise that settled before the
   * call finished suspending: the common case of fast host functions), else undefined.
   */
  answerAtOnce() {
    const reply = this.wait?.reply
    if (reply !== undefined) {
      this.pending = this.wait = null
    }
    return reply
  }

  /**
   * Answers a request that came from elsewhere (a worker: lib/worker-pool.mjs) as the
   * answer to the wait it ended its slice with, for `drive()` to resume the call with.
   */
  relay(index, args) {
    // The arguments, then the reply in their place (they are decoded first).
    const bytes = new Uint8Array(Math.max(256, args.length))
    bytes.set(args)
    const length = this.call(index, bytes, 0, 0, bytes.length)
    if (length === 1 && bytes[0] === REPLY_PENDING) return // `pending` has the promise
    const reply = length <= bytes.length ? bytes.slice(0, length) : takeSpill()
    this.wait = { reply }
    this.pending = Promise.resolve(reply)
  }

  /**
   * For a backend whose requests come from another thread, which waits for the reply
   * (native): calls `deliver(reply)` once the microtasks queued so far have run, with the
   * answer if the promise has settled by then (a host function that is async but answers
   * at once), else with a PENDING reply (the call then suspends, as it would at once). That
   * saves the waiting thread a suspension and a resumption, two thread switches each way.
   */
  deliverSoon(deliver) {
    queueMicrotask(() => deliver(this.answerAtOnce() ?? PENDING))
  }


  /** The answer to the call's wait, or undefined once its `timeLeft` (ms) has passed. */
  async answer(timeLeft) {
    const pending = this.pending
    this.pending = this.wait = null
    if (!pending || timeLeft <= 0) return undefined
    let timer
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, timeLeft + 1)
    })
    try {
      return await Promise.race([pending, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * Runs a started call to its end, answering its waits; resolves to its outcome. A slice
 * ends with the call's Outcome, or with the milliseconds left to it while it waits.
 */
export async function drive(call, bridge) {
  let outcome = call.resume(undefined)
  // (A call that ended in its first slice gives its outcome at once, natively.)
  if (isThenable(outcome)) outcome = await outcome
  while (typeof outcome === 'number') {
    outcome = await call.resume(bridge.answerAtOnce() ?? (await bridge.answer(outcome)))
  }
  return outcome
}
