// The worker side of a worker runner (lib/worker-pool.mjs is the page's): runs calls on
// this worker's wasm backend, a slice at a time, as the page asks. A call's host requests
// (its host functions, its modules' sources) are the page's to answer: this worker's
// bridge answers every one "pending", so the call suspends, and the request goes to the
// page with the slice's end; the page's answer comes back with the next slice.
//
// Messages in: { id, op: 'run', call, runner } (a call without a host), { id, op: 'start',
// call, runner } (a call that may ask the page), { id, op: 'resume', reply }, where `call`
// is the call object (lib/call.mjs) and `runner` { token, preload? } names the runner
// whose modules and arenas the call uses (`preload`: the arguments of `newRunner`, sent
// with the runner's first call in this worker). Messages out: { id, outcome }, or { id,
// waiting: msLeft, request: { index, args } }.

import { internalError } from './call.mjs'
import { REPLY_PENDING } from './reply.mjs'

// Answers "pending" and keeps the request for the page.
class RelayBridge {
  constructor() {
    this.last = null
    this.request = (index, bytes, argsStart, replyStart, _capacity, _refresh, argsLength) => {
      this.last = { index, args: bytes.slice(argsStart, argsStart + argsLength) }
      bytes[replyStart] = REPLY_PENDING
      return 1
    }
    this.takeSpill = () => null
    this.deliverSoon = () => {}
  }
}

/** Serves the page's messages with `backend` (wasm/web.mjs or wasm/node.js); `post` answers. */
function serveCalls(backend, post) {
  const calls = new Map()
  const runners = new Map()

  function runnerOf({ token, preload }) {
    let runner = runners.get(token)
    if (!runner) runners.set(token, (runner = backend.newRunner(...(preload ?? [[], []]))))
    return runner
  }

  function slice(id, reply) {
    const running = calls.get(id)
    if (!running) return post({ id, outcome: internalError('no such call') })
    let outcome
    try {
      outcome = running.call.resumeSync(reply)
    } catch (error) {
      outcome = internalError(String(error?.message ?? error))
    }
    if (typeof outcome === 'number') {
      post({ id, waiting: outcome, request: running.relay.last })
    } else {
      calls.delete(id)
      post({ id, outcome })
    }
  }

  return function onMessage(message) {
    const { id } = message
    switch (message.op) {
      case 'run':
        return post({ id, outcome: backend.runSync(message.call, runnerOf(message.runner)) })
      case 'start': {
        const relay = new RelayBridge()
        const call = backend.startCall(message.call, runnerOf(message.runner), relay)
        calls.set(id, { call, relay })
        return slice(id, undefined)
      }
      case 'resume':
        return slice(id, message.reply)
      default:
        return post({ id, outcome: internalError(`unknown message ${message.op}`) })
    }
  }
}

/** Messages that arrive while the backend loads wait for it. */
export function queueUntil(loaded, post) {
  let serve
  const early = []
  loaded.then((backend) => {
    serve = serveCalls(backend, post)
    for (const message of early.splice(0)) serve(message)
  })
  return (message) => (serve ? serve(message) : early.push(message))
}
