// The native backend (the napi-rs addon, crates/node) behind the backend interface of
// lib/call.mjs: calls cross into it as bytes and their outcomes come back as bytes (see
// crates/core/src/call_spec.rs for why), read and written here.

import { decodeOutcome, encodeCall } from './call.mjs'

/** The backend over `addon`, the loaded native addon. */
export function nativeBackend(addon) {
  // A slice's end: the outcome's bytes, or the milliseconds left while the call waits.
  const settled = (slice) => (typeof slice === 'number' ? slice : decodeOutcome(slice))
  return {
    name: 'native',
    runSync: (call, runner) => decodeOutcome(addon.runSync(encodeCall(call), runner)),
    runAsync: async (call, runner) => decodeOutcome(await addon.runAsync(encodeCall(call), runner)),
    startCall(call, runner, bridge) {
      const started = addon.startCall(encodeCall(call), runner, bridge)
      return {
        resume: async (reply) => settled(await started.resume(reply)),
        resumeSync: (reply) => settled(started.resumeSync(reply)),
      }
    },
    newRunner: addon.newRunner,
    constants: addon.constants,
  }
}
