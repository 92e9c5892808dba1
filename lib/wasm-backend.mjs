// The wasm backend (lib/call.mjs has its interface) over instances of the module, shared
// by both loaders (wasm/node.js requires this ES module, as Node >= 20.19 allows;
// wasm/web.mjs imports it).
//
// Nothing a script does can make the instance fail: limits end calls, conversions are
// bounded, calls nest within a bounded stack (crates/core/src/running.rs). Should it fail
// anyway (a trap: a bug, or the engine's stack exhausted by the host's own recursion), the
// failure must not outlive it: the calls running in it end with a runtime error, those
// suspended in it fail when resumed, and the next call gets a new instance, made from the
// compiled module by `instantiate()`. An instance that failed while calls were nested in
// it is unwound from every one of them (the bridge rethrows into each outer call), so no
// Lua code ever runs again in it.

import { decodeOutcome, encodeCall, failedOutcome } from './call.mjs'

/**
 * @public (for wasm/node.js and wasm/web.mjs, built from crates/wasm/js)
 * A backend over `instantiate()`, which returns the exports of a new instance (the factory
 * glue's `createInstance()`, initialised).
 */
export function createBackend(instantiate) {
  let current = null

  function instance() {
    if (!current) {
      const glue = instantiate()
      current = { glue, memory: glue.wasmMemory(), failed: null }
    }
    return current
  }

  // `inst` is done for: an exception came out of it. The catch blocks mark it so before
  // calling anything (the exception may be the engine's stack running out, so that any
  // call could throw again, and an instance left unmarked would be used again).
  function replace(inst) {
    if (current === inst) current = null
  }

  // `enter(inst)` in the instance in use, or the Outcome of its failure.
  function inInstance(enter) {
    let inst
    try {
      inst = instance()
    } catch (error) {
      // Not even made (the engine's stack ran out as it started): the next call tries again.
      return failure(error, 'could not make a wasm instance (%s); the next call tries again')
    }
    try {
      return enter(inst)
    } catch (error) {
      inst.failed ??= error
      replace(inst)
      return failure(inst.failed)
    }
  }

  // Calls cross into the module as bytes, and their outcomes come back as bytes (see
  // crates/core/src/call_spec.rs for why).
  // (The call's bytes are encoded last: they are valid until the next encoding.)
  function run(call, runner) {
    return inInstance((inst) => {
      const glueRunner = runner.in(inst)
      return outcomeOf(inst.glue.run(encodeCall(call), glueRunner))
    })
  }

  // A call with a host: its first slice runs in the same call into the module that makes
  // it, and only a call that outlives it gets a `Call` object (src/lib.rs runWithHost).
  function startCall(call, runner, bridge) {
    let started = null
    const first = () =>
      inInstance((inst) => {
        const slice = inst.glue.runWithHost(encodeCall(call), runner.in(inst), hostBridge(inst, bridge))
        if (!Array.isArray(slice)) return outcomeOf(slice)
        started = wrapCall(inst, slice[0], replace)
        return slice[1]
      })
    const resumeSync = (reply) => (started ? started.resumeSync(reply) : first())
    return { resume: resumeSync, resumeSync }
  }

  return {
    runSync: run,
    runAsync: async (call, runner) => run(call, runner),
    startCall,
    /** A runner's modules and arenas: the glue's `Runner` of the instance in use. */
    newRunner: (...args) => new Runners(args),
    constants: () => instance().glue.constants(),
  }
}

/**
 * The Outcome of an outcome's bytes (a `Uint8Array` the glue made of them). A small typed
 * array lives on V8's heap, and a view of it (the values) makes V8 move its bytes off the
 * heap, a malloc per call: a small outcome's values are copied instead (`return 1`:
 * 2.8 -> 2.3 us a call). A bigger one is off the heap already and is viewed.
 */
function outcomeOf(bytes) {
  return decodeOutcome(bytes, 0, bytes.length, bytes.length <= ON_HEAP_BYTES)
}

/** The largest typed array V8 keeps on its heap (`typed_array_max_size_in_heap`). */
const ON_HEAP_BYTES = 64

/** The Outcome of the calls an instance failure ended. */
function failure(error, message = 'the wasm instance failed (%s); the calls running in it failed, and the next call gets a new instance') {
  let why
  try {
    if (error instanceof Error) why = `${error.name}: ${error.message}`
    else if (typeof WebAssembly !== 'undefined' && error instanceof WebAssembly.Exception) why = 'an exception thrown inside it'
    else why = String(error)
  } catch {
    why = 'an exception'
  }
  return failedOutcome('runtime', `pubwiki-lua: ${message.replace('%s', why)}`)
}

/** A runner's modules and arenas, made anew (from the same arguments) in each instance it is used with. */
class Runners {
  constructor(args) {
    this.args = args
  }

  in(inst) {
    if (this.instance !== inst) {
      this.runner = new inst.glue.Runner(...this.args)
      this.instance = inst
    }
    return this.runner
  }
}

/**
 * A started call: resume(reply?) and resumeSync(reply?) both run the next slice on this
 * thread and return its Outcome, or (while the call waits for its host) the milliseconds
 * left until its deadline. The wasm-bindgen object (and its Rust memory) is freed as soon
 * as the call is over, not whenever the garbage collector gets to it.
 */
function wrapCall(inst, call, replace) {
  function resumeSync(reply) {
    if (inst.failed) return failure(inst.failed)
    let outcome
    try {
      outcome = call.resumeSync(reply)
    } catch (error) {
      inst.failed ??= error
      replace(inst)
      return failure(inst.failed)
    }
    if (typeof outcome === 'number') return outcome
    call.free()
    return outcomeOf(outcome)
  }
  return { resume: resumeSync, resumeSync }
}

/**
 * The `Bridge` the instance's calls ask (src/lib.rs): lib/bridge.mjs's `request` over the
 * instance's memory, where the core leaves the arguments and wants the reply.
 */
function hostBridge(inst, bridge) {
  const { memory } = inst
  let bytes = new Uint8Array(memory.buffer)
  // Growing the memory detaches its old buffer, and so empties views of it (a cheaper test
  // than asking `memory.buffer` each time).
  const view = () => (bytes.length !== 0 ? bytes : (bytes = new Uint8Array(memory.buffer)))
  return {
    // Never throws (an exception must not unwind through Lua's frames): `FAILED` instead.
    // But should the instance have failed meanwhile (in a call nested inside this one),
    // its failure unwinds this call too.
    request(fn, args, argsLength, reply, capacity) {
      let length
      try {
        // The arguments are read before JS code can grow (and so replace) the memory;
        // `view()` is then asked again for where the reply goes.
        length = bridge.request(fn, view(), args, reply, capacity, view, argsLength)
      } catch {
        length = FAILED
      }
      if (inst.failed) throw inst.failed
      return length
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
