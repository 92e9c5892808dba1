// The call object: the one description of a call that crosses the backend boundary.
// lib/api.mjs makes it (every field checked, the runner's defaults applied); the native
// and wasm backends hand it to the core as bytes (`encodeCall`, read by the core's
// `CallSpec::decode` in crates/core/src/call_spec.rs) and read the outcome's bytes back
// (`decodeOutcome`); worker runners post it to their workers as it is
// (lib/worker-pool.mjs).
//
// The backend interface over it (the native addon, lib/wasm-backend.mjs, the worker pool):
// - `newRunner(names, sources, memoryLimit?, timeLimit?, mw?)`: what a runner's calls share,
//   its compiled modules and its arenas, whose image holds the modules `names` (with these
//   sources), preloaded under those limits, and Scribunto's `mw` library if `mw`;
// - `runSync(call, runner)` -> Outcome, `runAsync(call, runner)` -> Outcome or Promise<Outcome>: a call
//   without a host (no host functions, modules, arguments or State);
// - `startCall(call, runner, bridge)` -> { resume(reply?), resumeSync(reply?) }: a call with
//   a host, whose requests `bridge` answers (lib/bridge.mjs, which drives it); each slice
//   gives its Outcome, or the milliseconds left while the call waits for its host (`resume`
//   may give a promise of either: natively, a slice that goes on on the pool);
// - `constants()`: the core's numbers (lib/core-constants.mjs); `ready`, if present: a
//   promise to await before a call.
// An Outcome is `{ ok: true, output, values, log? }` (`values`: wire bytes, lib/wire.mjs;
// `log`: what `mw.log` wrote, if anything) or `{ ok: false, kind, message, output,
// traceback, cause?, log? }` (`cause`: the bridge's id of the host error that ended the call).

import { INTERNAL_ERROR } from './core-constants.mjs'
import { Decoder, encoder } from './wire.mjs'

/**
 * @typedef {object} CallObject
 * @property {string} scriptId the chunk's name in messages, and its State's scope
 * @property {string | undefined} code Lua source text (unused with `invokeModule`)
 * @property {string | undefined} invokeModule with `invokeFunction`: the call is
 *   `require(invokeModule)[invokeFunction](...)`
 * @property {string | undefined} invokeFunction
 * @property {number | undefined} memoryLimit bytes (undefined: the core's default)
 * @property {number | undefined} timeLimit milliseconds
 * @property {number | undefined} outputLimit bytes
 * @property {Uint8Array | undefined} globals a wire TABLE of names to values
 * @property {Uint8Array | undefined} arguments wire values: the entry's `...`
 * @property {boolean} state the script has `State`, which the bridge answers
 * @property {boolean} triples the script has `State` as RDF triples (lib/triples.mjs), which
 *   the bridge answers; never with `state`
 * @property {boolean} synchronous the host answers at once (runSync, invokeSync)
 * @property {Uint8Array | undefined} mw a wire TABLE: what the call gives Scribunto's `mw`
 *   (lib/mw.mjs), whose runner's image has it
 */

/**
 * A call object; every field is always present (one shape for every call, which the
 * backends read fastest).
 * @returns {CallObject}
 */
export function callObject({ scriptId, code, invoke, limits, globals, args, state, triples, synchronous, mw }) {
  return {
    scriptId,
    code: invoke ? undefined : code,
    invokeModule: invoke?.module,
    invokeFunction: invoke?.function,
    memoryLimit: limits.memoryLimit,
    timeLimit: limits.timeLimit,
    outputLimit: limits.outputLimit,
    globals,
    arguments: args,
    state,
    triples,
    synchronous,
    mw,
  }
}

/** The flags of a call's bytes (crates/core/src/call_spec.rs has the layout). */
const INVOKE = 1
const STATE = 2
const TRIPLES = 4
const SYNCHRONOUS = 8
const MEMORY = 16
const TIME = 32
const OUTPUT = 64

/**
 * The bytes a backend hands the core for `call` (crates/core/src/call_spec.rs
 * `CallSpec::decode` reads them): one buffer, where reading the object's fields one by
 * one across the boundary cost more than the call's work.
 *
 * They are a view of the shared encoder's buffer, valid until the next encoding: a backend
 * passes them on at once (napi and wasm-bindgen copy them). A copy of its own, on V8's
 * heap for a small call, cost the native addon a malloc'd backing store each call (napi
 * asks for the array's buffer, which moves an on-heap array off it): ~15% of a small call.
 */
export function encodeCall(call) {
  const e = encoder(null, Infinity, 'call')
  try {
    const invoke = call.invokeModule !== undefined
    const limits = [call.memoryLimit, call.timeLimit, call.outputLimit]
    e.u8(
      (invoke ? INVOKE : 0) | (call.state ? STATE : 0) | (call.triples ? TRIPLES : 0) | (call.synchronous ? SYNCHRONOUS : 0) |
        (limits[0] !== undefined ? MEMORY : 0) | (limits[1] !== undefined ? TIME : 0) | (limits[2] !== undefined ? OUTPUT : 0),
    )
    for (const limit of limits) if (limit !== undefined) e.rawFloat(limit)
    e.rawString(call.scriptId)
    if (invoke) {
      e.rawString(call.invokeModule)
      e.rawString(call.invokeFunction)
    } else {
      e.rawString(call.code)
    }
    for (const bytes of [call.globals, call.arguments, call.mw]) {
      if (bytes === undefined) {
        e.u8(0)
      } else {
        e.varint(bytes.length + 1)
        e.rawBytesUnprefixed(bytes)
      }
    }
    return e.own.subarray(0, e.pos)
  } finally {
    e.finish()
  }
}

/** The kinds of errors, by their index in an outcome's bytes (crates/core/src/outcome.rs). */
const KINDS = ['syntax', 'runtime', 'memory', 'timeout', 'output']

/**
 * An Outcome from the bytes the core made of it (crates/core/src/outcome.rs
 * `encode_outcome`), at bytes[start..end]; `values` is a view of them, or a copy if
 * `copyValues` (bytes that will be written over).
 */
export function decodeOutcome(bytes, start = 0, end = bytes.length, copyValues = false) {
  const d = new Decoder(bytes, start + 1)
  if (bytes[start] === 0) {
    const output = d.string()
    const log = d.string()
    const outcome = { ok: true, output, values: copyValues ? bytes.slice(d.pos, end) : bytes.subarray(d.pos, end) }
    if (log !== '') outcome.log = log
    return outcome
  }
  const kind = KINDS[d.bytes[d.pos++]]
  const message = d.string()
  const output = d.string()
  const traceback = d.string()
  const log = d.string()
  const cause = d.varint()
  const outcome = { ok: false, kind, message, output, traceback }
  if (cause !== 0) outcome.cause = cause - 1
  if (log !== '') outcome.log = log
  return outcome
}

/** The Outcome of a call that failed before or outside the core: `kind`, `message`. */
export function failedOutcome(kind, message) {
  return { ok: false, kind, message, output: '', traceback: '' }
}

/** The Outcome of a bug in pubwiki-lua outside the core (`detail` says where). */
export function internalError(detail) {
  return failedOutcome('runtime', `${INTERNAL_ERROR}: ${detail}`)
}
