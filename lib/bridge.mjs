// The JavaScript half of the host bridge (crates/core/src/request.rs is the other): the
// host functions of one call, how the core's requests reach them, and the loop that
// resumes a call when a promise it waits for settles. Shared by every backend.
//
// Who owns what: the call's function table (its JS functions by wire number) and its
// latest errors live in one Bridge, made per call and dropped with it. The core holds only
// numbers for them. A promise the call waits for is awaited here, raced against the call's
// deadline; when the deadline wins, the call is resumed with no answer (it ends with a
// timeout) and the promise's late result is dropped.

import { PENDING_REPLY, decodeValues, encodeError, encodeResult } from './wire.mjs'

/** How many of its latest errors a call keeps for `LuaError.cause` (the core keeps as many). */
const ERRORS_KEPT = 4

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'
}

function messageOf(error) {
  try {
    if (error instanceof Error) return error.message || error.name
    return String(error)
  } catch {
    return '(error object cannot be turned into text)'
  }
}

export class Bridge {
  constructor(functions, encodeLimit) {
    this.functions = functions
    this.encodeLimit = encodeLimit
    this.errors = new Map()
    this.nextErrorId = 1
    /** The reply to the request the call may wait for: a promise of reply bytes. */
    this.pending = null
    // The backend calls this with (function number, argument bytes) and takes reply bytes.
    this.request = (index, args) => this.call(index, args)
  }

  call(index, args) {
    const fn = this.functions.list[index]
    const name = this.functions.names[index]
    let result
    try {
      result = fn(...decodeValues(args))
      if (isThenable(result)) {
        // Both outcomes are handled, so a promise the call cannot wait for (the core then
        // raises a Lua error) is no unhandled rejection.
        this.pending = Promise.resolve(result).then((value) => this.result(value, name), (error) => this.error(error))
        return PENDING_REPLY
      }
    } catch (error) {
      return this.error(error)
    }
    return this.result(result, name)
  }

  result(value, name) {
    try {
      return encodeResult(value, `${name}()`, this.functions, this.encodeLimit)
    } catch (error) {
      return this.error(error)
    }
  }

  error(error) {
    const id = this.nextErrorId++
    this.errors.set(id, error)
    if (this.errors.size > ERRORS_KEPT) this.errors.delete(id - ERRORS_KEPT)
    return encodeError(messageOf(error), id)
  }

  /** The original JS error behind a call's error, if the core says there is one. */
  cause(outcome) {
    return outcome.cause ? this.errors.get(outcome.cause) : undefined
  }

  /** The answer to the call's wait, or undefined once its `timeLeft` (ms) has passed. */
  async answer(timeLeft) {
    const pending = this.pending
    this.pending = null
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
  let outcome = await call.resume(undefined)
  while (typeof outcome === 'number') {
    outcome = await call.resume(await bridge.answer(outcome))
  }
  return outcome
}
