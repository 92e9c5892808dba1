// `State`'s requests and replies (crates/core/src/state_library.rs has the script's half).
// A stored value is the exact wire encoding of one Lua value, kept as bytes and handed
// back untouched; the host reads and writes stored values as JS values through
// decodeStored() and encodeStored(), converted as return values and globals are.

import { REPLY_VALUES } from './reply.mjs'
import { Decoder, Encoder, encoder, TAG, typeName } from './wire.mjs'

/** A `State` request's arguments: { op, key, value (bytes, for set), ttl (seconds, or null) }. */
export function decodeStateRequest(bytes, start) {
  const decoder = new Decoder(bytes, start)
  const count = decoder.varint()
  const op = decoder.value()
  const key = decoder.value()
  if (count < 4) return { op, key, value: null, ttl: null }
  // The value stays bytes: the exact encoding the core made, which the store keeps.
  if (decoder.bytes[decoder.pos++] !== TAG.STRING) throw new Error('pubwiki-lua: malformed State request from the core')
  const length = decoder.varint()
  const value = bytes.slice(decoder.pos, decoder.pos + length)
  decoder.pos += length
  const ttl = decoder.value()
  return { op, key, value, ttl }
}

function reply(...parts) {
  const length = parts.reduce((n, part) => n + part.length, 0)
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

function checkStored(stored) {
  if (!(stored instanceof Uint8Array)) {
    throw new TypeError(`the state store gave ${typeName(stored)} for a value, not the bytes it was given (a Uint8Array)`)
  }
  return stored
}

/** The reply to `State.get`: the stored value, or nil. */
export function stateValueReply(stored) {
  if (stored === undefined || stored === null) return Uint8Array.of(REPLY_VALUES, 1, TAG.NIL)
  return reply(Uint8Array.of(REPLY_VALUES, 1), checkStored(stored))
}

/** The reply to `State.set` and `State.delete`: no values. */
export const STATE_DONE_REPLY = Uint8Array.of(REPLY_VALUES, 0)

/**
 * The reply to `State.list`: a table of key -> stored value, or OVERSIZED (the script's
 * memory error) once it passes `limit` bytes, which could not fit in the call's state.
 */
export function stateListReply(entries, limit = Infinity) {
  let size = 0
  for (const [key, stored] of entries) size += key.length + checkStored(stored).length
  if (size > limit) return Uint8Array.of(REPLY_VALUES, 1, TAG.OVERSIZED)
  const e = new Encoder()
  e.u8(REPLY_VALUES)
  e.u8(1)
  e.u8(TAG.TABLE)
  e.varint(entries.length)
  for (const [key, stored] of entries) {
    e.u8(TAG.STRING)
    e.rawString(key)
    e.reserve(stored.length)
    e.bytes.set(stored, e.pos)
    e.pos += stored.length
  }
  return e.copy()
}

/** A stored value (exact wire encoding) as a JS value, as return values are converted. */
export function decodeStored(stored) {
  return new Decoder(stored, 0).value()
}

/**
 * A JS value as a stored value (what `State.get` gives the script), converted as globals
 * are, functions refused; a TypeError names what cannot be stored.
 */
export function encodeStored(value) {
  const e = encoder(null, Infinity, 'value')
  try {
    e.value(value)
    return e.copy()
  } finally {
    e.finish()
  }
}
