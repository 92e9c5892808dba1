// Replies to the core's requests (crates/core/src/request.rs, waiting.rs): the bytes a
// host function's result, its error, a module's source or State's answer crosses back
// in. A reply is written straight into the caller's buffer (wasm memory, or the native
// addon's scratch buffer) where it fits, and kept for takeSpill() where it does not.

import { encoder, TAG, TOO_BIG } from './wire.mjs'

export const REPLY_VALUES = 0
const REPLY_ERROR = 1
export const REPLY_PENDING = 2

/** The function number of module requests (crates/core/src/request.rs `MODULE_SOURCE`). */
export const MODULE_SOURCE = 0xffffffff
/** The function number of `State`'s requests (crates/core/src/request.rs `STATE`). */
export const STATE = 0xfffffffe
/** The function number of the triples `State`'s requests (crates/core/src/request.rs `TRIPLES`). */
export const TRIPLES = 0xfffffffd

// A reply that did not fit where it was asked to go (see finishReply).
let spill = null

/** The last reply that did not fit its caller's buffer. */
export function takeSpill() {
  const reply = spill
  spill = null
  return reply
}

// Encoding a reply into `bytes[start..start + capacity]`: its length is returned; a longer
// reply is kept for takeSpill() instead. Written out in each function below, not through a
// shared helper taking a closure: this is the path of every host call.
function finishReply(e, bytes, start, capacity) {
  if (e.spilled) {
    // It went on in the own buffer (reserve() asks for the most a write could take).
    if (e.length <= capacity) bytes.set(e.own.subarray(0, e.length), start)
    else spill = e.copy()
  }
  return e.length
}

function oversizedReply(bytes, start) {
  bytes[start] = REPLY_VALUES
  bytes[start + 1] = 1
  bytes[start + 2] = TAG.OVERSIZED
  return 3
}

/**
 * A host function's result as a VALUES reply with one value, into `bytes` (see above);
 * throws a TypeError for values that cannot be converted. `root` names the result in
 * messages (`fetchPage()`).
 */
export function encodeResultInto(value, root, functions, limit, bytes, start, capacity) {
  const e = encoder(functions, limit, root)
  try {
    e.into(bytes, start, capacity)
    e.u8(REPLY_VALUES)
    e.u8(1)
    e.value(value)
    return finishReply(e, bytes, start, capacity)
  } catch (error) {
    if (error !== TOO_BIG) throw error
    return oversizedReply(bytes, start)
  } finally {
    e.finish()
  }
}

/** An ERROR reply: the message Lua raises, and the host's id for the error (0: none). */
export function encodeErrorInto(message, cause, bytes, start, capacity) {
  const e = encoder(null, Infinity, '')
  try {
    e.into(bytes, start, capacity)
    e.u8(REPLY_ERROR)
    e.rawString(message)
    e.varint(cause)
    return finishReply(e, bytes, start, capacity)
  } finally {
    e.finish()
  }
}

/**
 * The rows a triples query found (lib/triples.mjs: [s, p, kind, lexical, ...] each), as a
 * VALUES reply of four values a row, into `bytes` (see above); OVERSIZED past `limit`
 * bytes (they could not fit in the call). A row's subject or predicate that is the query's
 * own (`subject`, `predicate`: null where it named none) is nil in the reply, and the core
 * uses the pattern's string instead of making it again from bytes. (Compared row by row: a
 * host's store may answer rows its pattern does not match, and those keep their names.)
 */
export function encodeRowsInto(rows, subject, predicate, limit, bytes, start, capacity) {
  const e = encoder(null, limit, 'State.query()')
  try {
    e.into(bytes, start, capacity)
    e.u8(REPLY_VALUES)
    e.varint(rows.length * 4)
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]
      if (row[0] === subject) e.u8(TAG.NIL)
      else {
        e.u8(TAG.STRING)
        e.rawString(row[0])
      }
      if (row[1] === predicate) e.u8(TAG.NIL)
      else {
        e.u8(TAG.STRING)
        e.rawString(row[1])
      }
      e.integer(row[2])
      e.u8(TAG.STRING)
      e.rawString(row[3])
    }
    return finishReply(e, bytes, start, capacity)
  } catch (error) {
    if (error !== TOO_BIG) throw error
    return oversizedReply(bytes, start)
  } finally {
    e.finish()
  }
}

/** What a TriplesSession answers when `writeRows` writes its reply (no function per query). */
export const WRITE_ROWS = Symbol('writeRows')

/** A reply made whole elsewhere (`State`'s), copied into `bytes` as encodeResultInto would. */
export function copyReplyInto(reply, bytes, start, capacity) {
  if (reply.length <= capacity) bytes.set(reply, start)
  else spill = reply
  return reply.length
}

/** A reply on its own (for answers that come later): a fresh Uint8Array. */
export function standalone(encodeInto, ...args) {
  const bytes = new Uint8Array(64)
  const length = encodeInto(...args, bytes, 0, bytes.length)
  return length <= bytes.length ? bytes.subarray(0, length) : takeSpill()
}
