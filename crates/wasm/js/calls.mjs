// Calls with host functions in wasm, as lib/api.mjs drives them.
// Shared by both glues (node.js requires this ES module, as Node >= 20.19 allows).

/**
 * A started call: resume(reply?) and resumeSync(reply?) both run the next slice on this
 * thread and return its Outcome, or (while the call waits for its host) the milliseconds
 * left until its deadline. The wasm-bindgen object (and its Rust memory) is freed as soon
 * as the call is over, not whenever the garbage collector gets to it.
 */
export function wrapCall(call) {
  function resumeSync(reply) {
    const outcome = call.resumeSync(reply)
    if (typeof outcome !== 'number') call.free()
    return outcome
  }
  return { resume: resumeSync, resumeSync }
}

/**
 * The `Bridge` the module's calls ask (src/lib.rs): lib/bridge.mjs's `request` over the
 * module's memory, where the core leaves the arguments and wants the reply.
 */
export function hostBridge(memory, bridge) {
  let bytes = new Uint8Array(memory.buffer)
  // Growing the memory detaches its old buffer, and so empties views of it (a cheaper test
  // than asking `memory.buffer` each time).
  const view = () => (bytes.length !== 0 ? bytes : (bytes = new Uint8Array(memory.buffer)))
  return {
    // Never throws (an exception must not unwind through Lua's frames): `FAILED` instead.
    request(fn, args, argsLength, reply, capacity) {
      try {
        // The arguments are read before JS code can grow (and so replace) the memory;
        // `view()` is then asked again for where the reply goes.
        return bridge.request(fn, view(), args, reply, capacity, view, argsLength)
      } catch {
        return FAILED
      }
    },
    copyReply(reply) {
      try {
        view().set(bridge.takeSpill(), reply)
        return 0
      } catch {
        return FAILED
      }
    },
  }
}

/** What the bridge's functions return when they fail (src/lib.rs `BRIDGE_FAILED`). */
const FAILED = 0xffffffff
