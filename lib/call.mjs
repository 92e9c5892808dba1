// The call object: the one description of a call that crosses the backend boundary.
// lib/api.mjs makes it (every field checked, the runner's defaults applied); the native
// addon (crates/node/src/call.rs) and the wasm build (crates/wasm/src/lib.rs `JsCall`)
// read it field by field into the core's `CallSpec` (crates/core/src/call_spec.rs), and
// worker runners post it to their workers as it is (lib/worker-pool.mjs).
//
// The backend interface over it (the native addon, lib/wasm-backend.mjs, the worker pool):
// - `newRunner(names, sources, memoryLimit?, timeLimit?, mw?)`: what a runner's calls share,
//   its compiled modules and its arenas, whose image holds the modules `names` (with these
//   sources), preloaded under those limits, and Scribunto's `mw` library if `mw`;
// - `runSync(call, runner)` -> Outcome, `runAsync(call, runner)` -> Promise<Outcome>: a call
//   without a host (no host functions, modules, arguments or State);
// - `startCall(call, runner, bridge)` -> { resume(reply?), resumeSync(reply?) }: a call with
//   a host, whose requests `bridge` answers (lib/bridge.mjs, which drives it); each slice
//   gives its Outcome, or the milliseconds left while the call waits for its host (natively
//   `resume` gives a promise of either);
// - `constants()`: the core's numbers (lib/core-constants.mjs); `ready`, if present: a
//   promise to await before a call.
// An Outcome is `{ ok: true, output, values, log? }` (`values`: wire bytes, lib/wire.mjs;
// `log`: what `mw.log` wrote, if anything) or `{ ok: false, kind, message, output,
// traceback, cause?, log? }` (`cause`: the bridge's id of the host error that ended the call).

import { INTERNAL_ERROR } from './core-constants.mjs'

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
 * @property {boolean} synchronous the host answers at once (runSync, invokeSync)
 * @property {Uint8Array | undefined} mw a wire TABLE: what the call gives Scribunto's `mw`
 *   (lib/mw.mjs), whose runner's image has it
 */

/**
 * A call object; every field is always present (one shape for every call, which the
 * backends read fastest).
 * @returns {CallObject}
 */
export function callObject({ scriptId, code, invoke, limits, globals, args, state, synchronous, mw }) {
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
    synchronous,
    mw,
  }
}

/** The Outcome of a call that failed before or outside the core: `kind`, `message`. */
export function failedOutcome(kind, message) {
  return { ok: false, kind, message, output: '', traceback: '' }
}

/** The Outcome of a bug in pubwiki-lua outside the core (`detail` says where). */
export function internalError(detail) {
  return failedOutcome('runtime', `${INTERNAL_ERROR}: ${detail}`)
}
