// lib/wire.mjs on its own: a reply encoded into a caller's buffer of any size is the same
// bytes, whether it fits, spills into the encoder's own buffer on the way, or is too long.
import { describe, expect, it } from 'vitest'
import { encodeErrorInto, encodeResultInto, takeSpill } from '../lib/reply.mjs'
import { functionTable } from '../lib/wire.mjs'

function replyWithRoom(encode, capacity) {
  const bytes = new Uint8Array(capacity + 16).fill(0xee)
  const length = encode(bytes, 8, capacity)
  if (length <= capacity) {
    expect(bytes[7]).toBe(0xee) // nothing written before the start
    return Array.from(bytes.subarray(8, 8 + length))
  }
  return Array.from(takeSpill())
}

describe('wire replies', () => {
  const values = [
    42, -1, 2 ** 40, 1.5, 'short', 'é'.repeat(20), 'x'.repeat(42), 'x'.repeat(43), 'ü'.repeat(300), '😀'.repeat(50),
    [1, 'two', [3]], { a: 1, nested: { b: 'x'.repeat(100) } }, new Map([[1, 'one'], ['k', true]]), new Uint8Array(500).fill(7),
  ]
  it.each(values.map((v, i) => [i, v]))('value %i: the same bytes for every buffer size', (_, value) => {
    const encode = (bytes, start, capacity) => encodeResultInto(value, 'f()', functionTable(), Infinity, bytes, start, capacity)
    const reference = replyWithRoom(encode, 1 << 16)
    for (let capacity = 3; capacity < reference.length + 20; capacity += capacity < 64 ? 1 : 7) {
      expect(replyWithRoom(encode, capacity), `capacity ${capacity}`).toEqual(reference)
    }
  })

  it('errors too, after a result that failed half-way', () => {
    let deep = {}
    for (let i = 0; i < 101; i++) deep = { v: deep }
    const bytes = new Uint8Array(300)
    expect(() => encodeResultInto(deep, 'deep()', functionTable(), Infinity, bytes, 0, 256)).toThrow(/nested deeper than 100/)
    const message = 'm'.repeat(237)
    const encode = (b, start, capacity) => encodeErrorInto(message, 3, b, start, capacity)
    const reference = replyWithRoom(encode, 1 << 12)
    expect(replyWithRoom(encode, 256)).toEqual(reference)
    expect(replyWithRoom(encode, 100)).toEqual(reference)
  })
})
