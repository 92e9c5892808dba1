// Worker runners: scripts in a pool of workers (Web Workers in browsers, worker_threads in
// Node), each running the wasm backend (lib/worker-core.mjs), so that the thread that asks
// for them stays free. This file is the asking thread's side: a backend for lib/api.mjs
// whose calls are sent to workers, so a worker runner takes the same options and gives
// the same results and LuaErrors as createRunner.
//
// - A call lives in one worker from its start to its end (its Lua state is there); a
//   worker runs one slice at a time. A new call goes to an idle worker, the one with the
//   fewest calls; with none idle it waits in the queue.
// - Host functions and module resolvers stay here: a worker answers their requests
//   "pending", ends the slice, and sends the request here; the bridge (lib/bridge.mjs)
//   answers it, and the call resumes in its worker with the answer. So every host call from
//   a worker is a wait (a round trip between threads), and where Lua cannot wait (inside
//   table.sort comparators, gsub callbacks, __tostring from print) no host function can be
//   called from a worker, sync ones included.
// - A hard stop behind the time limit: a worker that does not answer a slice within the
//   call's time left plus a margin is terminated and replaced; its call fails with a
//   timeout; other workers go on. A call suspended in the same worker lost its Lua state
//   with it: if it has asked its host only for module sources and State reads (nothing
//   it did was seen, and it had nothing to commit), it starts again in another worker;
//   otherwise it fails with a runtime error that says so.

import { createApi } from './api.mjs'
import { failedOutcome } from './call.mjs'
import { DEFAULT_LIMITS } from './core-constants.mjs'
import { MODULE_SOURCE, STATE, TRIPLES } from './reply.mjs'
import { decodeStateRequest } from './state-codec.mjs'
import { Decoder } from './wire.mjs'

/** How long past a call's time left a worker may take before it is replaced. */
const margin = (ms) => 1000 + ms / 10

// One call, as the backend interface's started call (resume -> Outcome or ms left).
class WorkerCall {
  constructor(pool, message, bridge) {
    this.pool = pool
    this.id = pool.nextId++
    this.message = { ...message, id: this.id }
    this.bridge = bridge
    this.scriptId = message.call.scriptId
    this.timeLimit = message.call.timeLimit ?? DEFAULT_LIMITS.timeLimit
    this.timeLeft = this.timeLimit
    this.worker = null
    /** Whether it could start again from scratch, unseen (see the top of this file). */
    this.unseen = true
    /** Set when its worker was lost and it starts again at its next slice. */
    this.restart = false
  }

  /** It asked its host `request` ({ index, args }): might that have been seen? */
  asked({ index, args }) {
    if (index === MODULE_SOURCE) return
    if (index === STATE && ['get', 'list'].includes(decodeStateRequest(args, 0).op)) return
    if (index === TRIPLES && ['get', 'query'].includes(tripleOp(args))) return
    this.unseen = false
  }

  resume(reply) {
    return new Promise((resolve, reject) => {
      this.settle = {
        resolve: (value) => {
          this.settle = null
          resolve(value)
        },
        reject: (error) => {
          this.settle = null
          reject(error)
        },
      }
      if (this.lost) return this.settle.resolve(this.lost)
      let message = this.worker ? { id: this.id, op: 'resume', reply } : this.message
      if (this.restart) {
        // Its worker was lost: it starts again (the answer it waited for goes unused).
        this.restart = false
        this.timeLeft = this.timeLimit
        message = this.message
      }
      this.pool.send(this, message)
    })
  }

  resumeSync() {
    synchronousCall()
  }
}

/** The op of a request of the triples `State` (its first value). */
function tripleOp(args) {
  const decoder = new Decoder(args, 0)
  decoder.varint()
  return decoder.value()
}

function synchronousCall() {
  throw new TypeError('a worker runner runs scripts asynchronously: use run, runLua or invoke')
}

function failed(kind, scriptId, message) {
  return failedOutcome(kind, `${scriptId}: ${message}`)
}

class Pool {
  constructor(spawn, size) {
    this.spawn = spawn
    this.workers = Array.from({ length: size }, () => null)
    this.queue = [] // [call, message] of calls with no worker yet
    this.nextId = 1
    this.nextRunner = 1
    this.closed = false
  }

  backend() {
    return {
      name: 'wasm',
      runAsync: (call, runner) => new WorkerCall(this, { op: 'run', call, runner }, null).resume(),
      runSync: synchronousCall,
      startCall: (call, runner, bridge) => {
        if (call.synchronous) synchronousCall()
        return new WorkerCall(this, { op: 'start', call, runner }, bridge)
      },
      // A runner as workers know it: a token, and what makes it, sent to each worker once.
      newRunner: (...preload) => ({ token: this.nextRunner++, preload }),
    }
  }

  // A worker slot, its worker made on first use.
  slot(i) {
    if (!this.workers[i]) {
      const slot = { index: i, handle: this.spawn(), busy: null, calls: new Map(), queue: [], runners: new Set() }
      slot.handle.onMessage((message) => this.answered(slot, message))
      slot.handle.onError((message) => this.lost(slot, 'runtime', `the worker failed: ${message}`))
      slot.handle.unref?.()
      this.workers[i] = slot
    }
    return this.workers[i]
  }

  send(call, message) {
    if (this.closed) return call.settle.reject(new Error('pubwiki-lua: the worker runner was terminated'))
    if (call.worker) {
      if (call.worker.busy) call.worker.queue.push([call, message])
      else this.post(call.worker, call, message)
      return
    }
    // An idle worker for a new call: made ones first, the one with the fewest calls.
    let best = null
    for (let i = 0; i < this.workers.length; i++) {
      const slot = this.workers[i]
      if (slot && !slot.busy && (!best || slot.calls.size < best.calls.size)) best = slot
    }
    const unmade = this.workers.indexOf(null)
    if ((!best || best.calls.size > 0) && unmade >= 0) best = this.slot(unmade)
    if (!best) return this.queue.push([call, message])
    call.worker = best
    best.calls.set(call.id, call)
    best.handle.ref?.()
    this.post(best, call, message)
  }

  post(slot, call, message) {
    slot.busy = call
    if (message.runner) {
      // A worker makes the runner from its first message that names it.
      const { token, preload } = message.runner
      const first = !slot.runners.has(token)
      slot.runners.add(token)
      message = { ...message, runner: first ? { token, preload } : { token } }
    }
    call.timer = setTimeout(() => this.lost(slot, 'timeout', null), call.timeLeft + margin(call.timeLeft))
    slot.handle.post(message)
  }

  answered(slot, message) {
    const call = slot.calls.get(message.id)
    if (!call) return
    clearTimeout(call.timer)
    slot.busy = null
    if (message.outcome) {
      slot.calls.delete(call.id)
      if (slot.calls.size === 0) slot.handle.unref?.()
      call.settle.resolve(message.outcome)
    } else {
      call.timeLeft = message.waiting
      call.asked(message.request)
      call.bridge.relay(message.request.index, message.request.args)
      call.settle.resolve(message.waiting)
    }
    this.next(slot)
  }

  // The slot's next slice: a resume of one of its calls, else a new call.
  next(slot) {
    if (slot.busy || this.closed) return
    const [call, message] = slot.queue.shift() ?? this.queue.shift() ?? []
    if (!call) return
    if (!call.worker) {
      call.worker = slot
      slot.calls.set(call.id, call)
      slot.handle.ref?.()
    }
    this.post(slot, call, message)
  }

  // The worker stopped answering (or failed): replace it. Its calls cannot go on there:
  // the stuck one fails; each other one starts again elsewhere if nothing it did was seen,
  // else fails; now if it has a slice waiting here, else at its next slice.
  lost(slot, kind, message) {
    if (this.workers[slot.index] !== slot) return
    slot.handle.terminate()
    this.workers[slot.index] = null
    const again = []
    for (const call of slot.calls.values()) {
      clearTimeout(call.timer)
      const stuck = call === slot.busy
      if (!stuck && call.unseen && !message) {
        call.worker = null
        call.restart = true
        if (call.settle) again.push(call)
        continue
      }
      call.lost = stuck && kind === 'timeout'
        ? failed('timeout', call.scriptId, `the worker did not answer within the time limit (${call.timeLimit} ms) and was replaced`)
        : failed('runtime', call.scriptId, message ?? 'the worker running this call was replaced (another call in it did not answer); this call had called its host, so it was not started again')
      call.settle?.resolve(call.lost)
    }
    // Calls whose next slice was queued in the lost worker start again now.
    for (const call of again) {
      call.restart = false
      call.timeLeft = call.timeLimit
      this.send(call, call.message)
    }
    if (this.queue.length) this.next(this.slot(slot.index))
  }

  terminate() {
    this.closed = true
    const stopped = new Error('pubwiki-lua: the worker runner was terminated')
    for (const slot of this.workers) {
      if (!slot) continue
      slot.handle.terminate()
      for (const call of slot.calls.values()) {
        clearTimeout(call.timer)
        call.settle?.reject(stopped)
      }
    }
    for (const [call] of this.queue) call.settle?.reject(stopped)
    this.queue.length = 0
    this.workers.fill(null)
  }
}

/**
 * A worker runner: `spawn(workerUrl?)` makes a worker handle { post, terminate,
 * onMessage, onError, ref?, unref? } (index.js and index.browser.mjs give theirs).
 */
export function createWorkerRunner(spawn, defaultWorkers, options = {}) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError('createWorkerRunner options must be an object')
  }
  const { workers = defaultWorkers, workerUrl, ...runnerOptions } = options
  if (!Number.isInteger(workers) || workers < 1) throw new TypeError(`createWorkerRunner options.workers must be a positive integer, got ${workers}`)
  if (workerUrl !== undefined && typeof workerUrl !== 'string' && !(workerUrl instanceof URL)) {
    throw new TypeError('createWorkerRunner options.workerUrl must be a string or a URL')
  }
  const pool = new Pool(() => spawn(workerUrl), workers)
  const runner = createApi(pool.backend()).createRunner(runnerOptions)
  return Object.freeze({
    run: runner.run,
    runLua: runner.runLua,
    invoke: runner.invoke,
    /** The store of the runner's State, if it has one (see createRunner). */
    stateStore: runner.stateStore,
    /** Conflicts of its calls' State commits, and re-runs (see createRunner). */
    get stats() {
      return runner.stats
    },
    /** Ends the workers; calls not yet over reject. */
    terminate: () => pool.terminate(),
  })
}
