// The native backend (the napi-rs addon, crates/node) behind the backend interface of
// lib/call.mjs: calls cross into it as bytes and their outcomes come back as bytes (see
// crates/core/src/call_spec.rs for why), read and written here.

import { decodeOutcome, encodeCall } from './call.mjs'

/** The backend over `addon`, the loaded native addon. */
export function nativeBackend(addon) {
  // Where the addon leaves an outcome that JS reads at once (crates/node/src/scratch.rs):
  // its length, then its bytes.
  let scratch
  // The outcome of a slice that ended: its bytes, or null when they are in `scratch` (read
  // before anything else can run and write there).
  const outcomeOf = (bytes) => {
    if (bytes !== null) return decodeOutcome(bytes)
    scratch ??= addon.scratch()
    const length = scratch[0] | (scratch[1] << 8) | (scratch[2] << 16) | (scratch[3] << 24)
    return decodeOutcome(scratch, 4, 4 + length, true)
  }
  // A slice's end: the outcome, or the milliseconds left while the call waits.
  const settled = (slice) => (typeof slice === 'number' ? slice : outcomeOf(slice))
  return {
    name: 'native',
    runSync: (call, runner) => outcomeOf(addon.runSync(encodeCall(call), runner)),
    runAsync: (call, runner) => {
      const ended = addon.runAsync(encodeCall(call), runner)
      return ended instanceof Promise ? ended.then(decodeOutcome) : outcomeOf(ended)
    },
    startCall(call, runner, bridge) {
      // The addon's NativeCall, once the call has outlived its first slice (most calls end
      // in it, and nothing is made for them: crates/node/src/host.rs runWithHost).
      let held
      const first = (synchronous) => {
        const slice = addon.runWithHost(encodeCall(call), runner, bridge, synchronous)
        if (!Array.isArray(slice)) return slice
        held = slice[0]
        return slice[1]
      }
      // Once the outcome is here the addon lets go of the bridge at once, not when the
      // call's object is finalized (crates/node/src/host.rs BridgeRefs says why).
      const ended = (slice) => {
        if (typeof slice !== 'number') held?.release()
        return settled(slice)
      }
      return {
        // The slice's end, or a promise of it when it goes on on the pool.
        resume(reply) {
          const slice = held ? held.resume(reply) : first(false)
          return slice instanceof Promise ? slice.then(ended) : ended(slice)
        },
        resumeSync: (reply) => ended(held ? held.resumeSync(reply) : first(true)),
      }
    },
    newRunner: addon.newRunner,
    constants: addon.constants,
  }
}
