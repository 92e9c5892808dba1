// A call with host functions, as lib/api.mjs drives it: resume(reply?) and
// resumeSync(reply?) both run the next slice on this thread and return its Outcome, or
// (while the call waits for its host) the milliseconds left until its deadline. The wasm-bindgen object (and its Rust memory) is
// freed as soon as the call is over, not whenever the garbage collector gets to it.
// Shared by both glues (node.js requires this ES module, as Node >= 20.19 allows).
export function wrapCall(call) {
  function resumeSync(reply) {
    const outcome = call.resumeSync(reply)
    if (typeof outcome !== 'number') call.free()
    return outcome
  }
  return { resume: resumeSync, resumeSync }
}
