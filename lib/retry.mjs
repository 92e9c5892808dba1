// Calls run again after a conflict (lib/state.mjs: a call commits only if nothing it read
// changed since it read it). A conflicting call committed nothing; the runner runs it again,
// from a fresh state with a fresh session, up to `retries` times, when nobody could have
// seen the attempt: the call made no host-function call (module sources and State reads are
// the runner's own, asked again). A host whose functions are safe to repeat says so with
// `retryHostCalls: true`. Otherwise, or once the retries are spent, the call rejects with a
// LuaError of kind 'conflict'. Output and values are those of the attempt that committed.
//
// A call that failed (a Lua error, a limit) is checked too, when it read more than one
// snapshot: if what it read had changed by its end it may have failed for seeing keys from
// two moments (no commit could have made that state), so it counts as a conflict, not its
// error. A commit refused by a quota rejects with kind 'quota', never run again.

import { failedOutcome } from './call.mjs'
import { isThenable } from './util.mjs'

/** Re-runs of a call after a conflict unless the runner or the call says otherwise. */
export const DEFAULT_RETRIES = 3

/**
 * The pause before re-run `n` (1, 2, ...): random, up to 2^n ms (at most 64), so that calls
 * that conflicted on one key do not meet again at once.
 */
const backoff = (n) => Math.random() * Math.min(1 << n, 64)

/** Checks `retries` (a whole number >= 0, or undefined). */
export function checkRetries(value, name) {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new TypeError(`${name}.retries must be a whole number >= 0, got ${typeof value === 'number' ? value : typeof value}`)
  }
  return value
}

/** Checks `retryHostCalls` (a boolean, or undefined). */
export function checkRetryHostCalls(value, name) {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name}.retryHostCalls must be a boolean`)
  return value
}

/** An outcome of kind 'conflict' or 'quota' (a LuaError once settled), keeping the attempt's output. */
function refused(kind, message, outcome, scriptId) {
  return { ...failedOutcome(kind, `${scriptId}: ${message}`), output: outcome.output ?? '' }
}

/**
 * What the call's session says after an attempt that ended with `outcome`: the outcome to
 * settle, or null to run the call again. `commit(outcome)` commits a successful attempt
 * (undefined, { conflict }, { quota }, or a promise of one; it throws if the store failed).
 */
function decide(call, outcome, verdict, stats) {
  if (!verdict) return outcome
  if (verdict.quota) return refused('quota', verdict.quota, outcome, call.scriptId)
  stats.conflicts++
  const invisible = !call.bridge.calledHost || call.retry.hostCalls
  // (Re-runs share the call's time limit: none starts past its deadline.)
  if (invisible && call.attempt < call.retry.retries && Date.now() < call.deadline - 1) {
    call.attempt++
    stats.retries++
    return null
  }
  const why = !invisible
    ? 'and it called a host function, so it was not run again'
    : call.attempt < call.retry.retries ? `after ${call.attempt + 1} attempts, at the end of its time limit` : `after ${call.attempt + 1} attempts`
  return refused('conflict', `State: ${verdict.conflict} (${why})`, outcome, call.scriptId)
}

// The session's verdict on an attempt: its commit when it succeeded, else a check.
function verdictOf(call, outcome, commit) {
  if (!call.session) return undefined
  if (outcome.ok) return commit(outcome)
  // (A store that cannot answer leaves the call's own error to be reported.)
  try {
    const verdict = call.session.validate()
    return isThenable(verdict) ? Promise.resolve(verdict).catch(() => undefined) : verdict
  } catch {
    return undefined
  }
}

/**
 * Runs `call` (what lib/api.mjs `prepare` gives) with `attempt(call)` -> outcome (or a promise of one),
 * committing with `commit`, again while it conflicts and may; `call.renew()` gives it a
 * fresh session and bridge. Resolves to the outcome to settle.
 */
export async function attempts(call, attempt, commit, stats) {
  for (;;) {
    let outcome = attempt(call)
    if (isThenable(outcome)) outcome = await outcome
    let verdict = verdictOf(call, outcome, commit)
    if (isThenable(verdict)) verdict = await verdict
    const settled = decide(call, outcome, verdict, stats)
    if (settled) return settled
    await new Promise((resolve) => setTimeout(resolve, backoff(call.attempt)))
    call.renew()
  }
}

/** `attempts` for synchronous calls and stores. */
export function attemptsSync(call, attempt, commit, stats) {
  for (;;) {
    const outcome = attempt(call)
    const verdict = verdictOf(call, outcome, commit)
    if (isThenable(verdict)) throw new Error('pubwiki-lua: a synchronous store answered with a promise')
    const settled = decide(call, outcome, verdict, stats)
    if (settled) return settled
    pauseSync(backoff(call.attempt))
    call.renew()
  }
}

// A synchronous pause where the thread may block (Node, workers); none on a browser's page,
// which may not wait (nor have SharedArrayBuffer).
let pauseCell
function pauseSync(ms) {
  try {
    pauseCell ??= new Int32Array(new SharedArrayBuffer(4))
    Atomics.wait(pauseCell, 0, 0, ms)
  } catch {
    // (no pause: the re-run starts at once)
  }
}
