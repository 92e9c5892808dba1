// The JavaScript half of the wire format (crates/core/src/wire.rs has the grammar): every
// value that crosses between JS and Lua is encoded here or decoded here, whichever backend
// runs the call, so native and wasm convert values identically. No Node built-ins.
//
// JS -> Lua (globals, arguments): encodeGlobals(), encodeArguments(); Lua -> JS (return
// values, host function arguments): decodeValues(). Built on this: the replies to the
// core's requests (lib/reply.mjs) and State's requests and stored values
// (lib/state-codec.mjs).

import { isPlainObject } from './util.mjs'

const NIL = 0
const FALSE = 1
const TRUE = 2
const INTEGER = 3
const FLOAT = 4
const STRING = 5
const ARRAY = 6
const TABLE = 7
const FUNCTION = 8
const OPAQUE = 9
const OVERSIZED = 10

/** The value tags that lib/reply.mjs and lib/state-codec.mjs write themselves. */
export const TAG = Object.freeze({ NIL, STRING, TABLE, OVERSIZED })

/** Deeper nesting is refused (the core refuses it too). */
const MAX_DEPTH = 100

const OPAQUE_NAMES = ['[function]', '[thread]', '[userdata]']
const INT64_MIN = -(2 ** 63)
const INT64_LIMIT = 2 ** 63
const BIGINT_MIN = -(2n ** 63n)
const BIGINT_MAX = 2n ** 63n - 1n

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

/** Raised inside the encoder when a value grows past its byte limit; never escapes. */
export const TOO_BIG = Symbol('too big')

/** A value's type as messages name it: `Date`, `null`, `bigint`. */
export function typeName(value) {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  const constructor = Object.getPrototypeOf(value)?.constructor
  return typeof constructor === 'function' && constructor.name ? constructor.name : 'object'
}

// DataViews of the buffers encoders write to: their own, and the last caller's (wasm
// memory, or the native addon's scratch buffer), so that writing a reply makes none.
let callerBuffer = null
let callerView = null
function viewOf(buffer) {
  if (buffer !== callerBuffer) {
    callerBuffer = buffer
    callerView = new DataView(buffer)
  }
  return callerView
}

// A byte buffer with the wire format's writers. It writes into a caller's buffer (a reply
// goes straight where the core reads it) and, past its end, into a buffer of its own.
export class Encoder {
  constructor() {
    this.own = new Uint8Array(256)
    this.ownView = new DataView(this.own.buffer)
    this.bytes = this.own
    this.view = this.ownView
    this.offset = 0 // of `bytes` in its ArrayBuffer, for `view`
    this.base = 0 // where this encoding starts in `bytes`
    this.pos = 0
    this.end = this.own.length
    this.busy = false
    this.limit = Infinity
    this.functions = null
    this.root = ''
    this.path = []
    this.parents = []
  }

  intoOwn() {
    this.bytes = this.own
    this.view = this.ownView
    this.offset = 0
    this.base = this.pos = 0
    this.end = this.own.length
  }

  into(bytes, start, capacity) {
    this.bytes = bytes
    this.view = viewOf(bytes.buffer)
    this.offset = bytes.byteOffset
    this.base = this.pos = start
    this.end = start + capacity
  }

  /** Bytes written so far. */
  get length() {
    return this.pos - this.base
  }

  /** Whether the encoding outgrew the caller's buffer (it is then in `own`, from 0). */
  get spilled() {
    return this.bytes === this.own
  }

  reserve(n) {
    if (this.pos + n <= this.end) return
    const length = this.pos - this.base
    if (length + n > this.limit) throw TOO_BIG
    let size = this.own.length
    while (size < length + n) size *= 2
    const own = size > this.own.length ? new Uint8Array(size) : this.own
    if (this.bytes !== own) own.set(this.bytes.subarray(this.base, this.pos))
    if (own !== this.own) {
      this.own = own
      this.ownView = new DataView(own.buffer)
    }
    this.intoOwn()
    this.pos = length
  }

  u8(byte) {
    this.reserve(1)
    this.bytes[this.pos++] = byte
  }

  varint(n) {
    this.reserve(10)
    while (n >= 0x80) {
      this.bytes[this.pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.bytes[this.pos++] = n
  }

  integer(n) {
    this.reserve(9)
    this.bytes[this.pos++] = INTEGER
    if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.view.setInt32(this.offset + this.pos, n, true)
      this.view.setInt32(this.offset + this.pos + 4, n < 0 ? -1 : 0, true)
    } else {
      this.view.setBigInt64(this.offset + this.pos, BigInt(n), true)
    }
    this.pos += 8
  }

  bigint(n) {
    this.reserve(9)
    this.bytes[this.pos++] = INTEGER
    this.view.setBigInt64(this.offset + this.pos, n, true)
    this.pos += 8
  }

  float(n) {
    this.reserve(9)
    this.bytes[this.pos++] = FLOAT
    this.view.setFloat64(this.offset + this.pos, n, true)
    this.pos += 8
  }

  /** A float's 8 bytes (no tag). */
  rawFloat(n) {
    this.reserve(8)
    this.view.setFloat64(this.offset + this.pos, n, true)
    this.pos += 8
  }

  /** Bytes as they are (their length written before by the caller). */
  rawBytesUnprefixed(bytes) {
    this.reserve(bytes.length)
    this.bytes.set(bytes, this.pos)
    this.pos += bytes.length
  }

  // A length-prefixed byte string (no tag).
  rawBytes(bytes) {
    this.varint(bytes.length)
    this.reserve(bytes.length)
    this.bytes.set(bytes, this.pos)
    this.pos += bytes.length
  }

  // A length-prefixed UTF-8 string (no tag). Lone surrogates become U+FFFD, as TextEncoder does.
  rawString(text) {
    const length = text.length
    if (length > this.limit) throw TOO_BIG
    if (length < 43) {
      // At most 126 bytes: a one-byte length, and a loop faster than TextEncoder for short strings.
      this.reserve(1 + 3 * length)
      const start = this.pos++
      let pos = this.pos
      const bytes = this.bytes
      for (let i = 0; i < length; i++) {
        let c = text.charCodeAt(i)
        if (c < 0x80) {
          bytes[pos++] = c
          continue
        }
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < length ? text.charCodeAt(i + 1) : 0
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
            i++
            bytes[pos++] = 0xf0 | (c >> 18)
            bytes[pos++] = 0x80 | ((c >> 12) & 0x3f)
            bytes[pos++] = 0x80 | ((c >> 6) & 0x3f)
            bytes[pos++] = 0x80 | (c & 0x3f)
            continue
          }
          c = 0xfffd
        }
        if (c < 0x800) {
          bytes[pos++] = 0xc0 | (c >> 6)
          bytes[pos++] = 0x80 | (c & 0x3f)
        } else {
          bytes[pos++] = 0xe0 | (c >> 12)
          bytes[pos++] = 0x80 | ((c >> 6) & 0x3f)
          bytes[pos++] = 0x80 | (c & 0x3f)
        }
      }
      bytes[start] = pos - start - 1
      this.pos = pos
      return
    }
    // A five-byte length, written before the size is known (the reader takes padded varints).
    this.reserve(5 + 3 * length)
    const start = this.pos
    const { written } = textEncoder.encodeInto(text, this.bytes.subarray(start + 5))
    let n = written
    for (let i = 0; i < 4; i++) {
      this.bytes[start + i] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.bytes[start + 4] = n
    this.pos = start + 5 + written
  }

  // Where the value being encoded is, for messages: the root's name, then object keys
  // (strings), array indices (numbers) and Map keys (boxed). Kept as segments and joined
  // only for a message or a function's name: most values need no path at all.
  pathString() {
    let text = this.root
    for (const segment of this.path) {
      if (typeof segment === 'string') text += text ? `.${segment}` : segment
      else if (typeof segment === 'number') text += `[${segment}]`
      else text += `[${typeof segment.key === 'string' ? JSON.stringify(segment.key) : String(segment.key)}]`
    }
    return text
  }

  fail(message) {
    return new TypeError(`${this.pathString()}: ${message}`)
  }

  value(value) {
    switch (typeof value) {
      case 'undefined':
        return this.u8(NIL)
      case 'boolean':
        return this.u8(value ? TRUE : FALSE)
      case 'number':
        if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_LIMIT) return this.integer(value)
        return this.float(value)
      case 'bigint':
        if (value < BIGINT_MIN || value > BIGINT_MAX) throw this.fail(`bigint ${value} is out of the range of Lua integers`)
        return this.bigint(value)
      case 'string':
        this.u8(STRING)
        return this.rawString(value)
      case 'function':
        return this.func(value)
      case 'object':
        if (value === null) return this.u8(NIL)
        return this.object(value)
      default:
        throw this.fail(`${typeof value} is not supported`)
    }
  }

  func(fn) {
    const functions = this.functions
    if (!functions) throw this.fail('functions are not supported here')
    let index = functions.indexOf.get(fn)
    if (index === undefined) {
      const path = this.pathString()
      index = functions.list.length
      functions.list.push(fn)
      functions.names.push(path.startsWith('globals.') ? path.slice(8) : path)
      functions.indexOf.set(fn, index)
    }
    this.u8(FUNCTION)
    this.varint(index)
    this.rawString(functions.names[index])
  }

  object(value) {
    if (value instanceof Uint8Array) {
      this.u8(STRING)
      return this.rawBytes(value)
    }
    if (value instanceof ArrayBuffer) {
      this.u8(STRING)
      return this.rawBytes(new Uint8Array(value))
    }
    const array = Array.isArray(value)
    if (!array && !(value instanceof Map) && !isPlainObject(value)) throw this.fail(`${typeName(value)} is not supported`)
    const parents = this.parents
    if (parents.includes(value)) throw this.fail('circular reference (a value contains itself)')
    if (parents.length >= MAX_DEPTH) throw this.fail(`nested deeper than ${MAX_DEPTH} levels`)
    parents.push(value)
    const path = this.path
    if (array) {
      // A table's array part costs at least 8 bytes a slot: longer arrays cannot fit.
      if (value.length * 8 > this.limit) throw TOO_BIG
      this.u8(ARRAY)
      this.varint(value.length)
      for (let i = 0; i < value.length; i++) {
        path.push(i)
        this.value(value[i])
        path.pop()
      }
    } else if (value instanceof Map) {
      this.u8(TABLE)
      this.varint(value.size)
      for (const [key, item] of value) {
        this.key(key)
        path.push({ key })
        this.value(item)
        path.pop()
      }
    } else {
      // Object.entries, not keys and a lookup each: an object of many fields is a
      // dictionary, and a lookup by each key cost ten times the whole of entries (1,000 fields:
      // 200 against 16 us).
      const entries = Object.entries(value)
      this.u8(TABLE)
      this.varint(entries.length)
      for (const [key, item] of entries) {
        this.u8(STRING)
        this.rawString(key)
        path.push(key)
        this.value(item)
        path.pop()
      }
    }
    parents.pop()
  }

  key(key) {
    switch (typeof key) {
      case 'string':
        this.u8(STRING)
        return this.rawString(key)
      case 'number':
        if (Number.isNaN(key)) throw this.fail('NaN cannot be a table key')
        return this.value(key)
      case 'boolean':
      case 'bigint':
        return this.value(key)
      default:
        throw this.fail(`a Map key of type ${key === null ? 'null' : typeof key} is not supported`)
    }
  }

  start(functions, limit, root) {
    this.busy = true
    this.functions = functions
    this.limit = limit
    this.root = root
  }

  finish() {
    this.busy = false
    this.functions = null
    this.limit = Infinity
    // After a throw, the path is where it failed (assigning a length costs, even 0 to 0).
    if (this.path.length !== 0) this.path.length = 0
    if (this.parents.length !== 0) this.parents.length = 0
    if (this.own.length > 1 << 20) {
      // Do not keep a big value's buffer alive between calls.
      this.own = new Uint8Array(256)
      this.ownView = new DataView(this.own.buffer)
    }
    this.intoOwn()
  }

  /** A copy of what was encoded into the own buffer. */
  copy() {
    return this.own.slice(0, this.pos)
  }
}

// One encoder reused across calls (JS runs one encode at a time; a host function that
// runs a nested call does so between encodes, never inside one, but just in case).
const shared = new Encoder()

/** An encoder started for `functions` (the call's table, or null), `limit` bytes and `root`. */
export function encoder(functions, limit, root) {
  const e = shared.busy ? new Encoder() : shared
  e.start(functions, limit, root)
  return e
}

/** The function table of one call: JS functions (and their names) by wire number. */
export function functionTable() {
  return { list: [], names: [], indexOf: new Map() }
}

/**
 * Globals (a plain object of name -> value) as a wire TABLE, or OVERSIZED once the
 * encoding passes `limit` bytes. Functions go into `functions`. Unsupported values throw a
 * TypeError naming their path (`globals.args.when: Date is not supported`).
 */
export function encodeGlobals(globals, functions, limit) {
  const e = encoder(functions, limit, 'globals')
  try {
    e.object(globals)
    return e.copy()
  } catch (error) {
    if (error !== TOO_BIG) throw error
    return Uint8Array.of(OVERSIZED)
  } finally {
    e.finish()
  }
}

/**
 * Arguments (an array) as wire `values`, or OVERSIZED as their only value once the
 * encoding passes `limit` bytes; unsupported values throw a TypeError (`args[0].when: ...`).
 */
export function encodeArguments(args, functions, limit) {
  const e = encoder(functions, limit, 'args')
  try {
    e.varint(args.length)
    for (let i = 0; i < args.length; i++) {
      e.path.push(i)
      e.value(args[i])
      e.path.pop()
    }
    return e.copy()
  } catch (error) {
    if (error !== TOO_BIG) throw error
    return Uint8Array.of(1, OVERSIZED)
  } finally {
    e.finish()
  }
}

// Reads wire values from `bytes[pos..]`. Numbers are read byte by byte (through one
// scratch DataView for floats), so a decode allocates no DataView of its own: arguments
// arrive in a new buffer per call natively, or in a view of wasm memory.
const scratch = new DataView(new ArrayBuffer(8))

export class Decoder {
  constructor(bytes, pos) {
    this.bytes = bytes
    this.pos = pos
  }

  varint() {
    let n = 0
    let scale = 1
    for (;;) {
      const byte = this.bytes[this.pos++]
      n += (byte & 0x7f) * scale
      if (byte < 0x80) return n
      scale *= 0x80
    }
  }

  string() {
    const length = this.varint()
    const start = this.pos
    const end = start + length
    this.pos = end
    if (length <= 16) {
      // Short ASCII without TextDecoder, whose per-call cost dominates for short strings;
      // four characters a concatenation (~2x faster than one).
      const bytes = this.bytes
      let ascii = 0
      for (let i = start; i < end; i++) ascii |= bytes[i]
      if (ascii >= 0x80) return textDecoder.decode(bytes.subarray(start, end))
      let text = ''
      let i = start
      for (; i + 4 <= end; i += 4) text += String.fromCharCode(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3])
      for (; i < end; i++) text += String.fromCharCode(bytes[i])
      return text
    }
    return textDecoder.decode(this.bytes.subarray(start, end))
  }

  int32(at) {
    const b = this.bytes
    return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)
  }

  value() {
    const tag = this.bytes[this.pos++]
    switch (tag) {
      case NIL:
        return null
      case FALSE:
        return false
      case TRUE:
        return true
      case INTEGER: {
        // hi * 2^32 + lo: exact below 2^53, correctly rounded above (one rounding).
        const lo = this.int32(this.pos) >>> 0
        const hi = this.int32(this.pos + 4)
        this.pos += 8
        return hi * 4294967296 + lo
      }
      case FLOAT: {
        for (let i = 0; i < 8; i++) scratch.setUint8(i, this.bytes[this.pos + i])
        this.pos += 8
        return scratch.getFloat64(0, true)
      }
      case STRING:
        return this.string()
      case ARRAY: {
        const n = this.varint()
        const items = new Array(n)
        for (let i = 0; i < n; i++) items[i] = this.value()
        return items
      }
      case TABLE: {
        const n = this.varint()
        const object = {}
        for (let i = 0; i < n; i++) {
          const key = String(this.value())
          const item = this.value()
          // Always an own property: `__proto__` must not set the object's prototype.
          if (key === '__proto__') {
            Object.defineProperty(object, key, { value: item, writable: true, enumerable: true, configurable: true })
          } else {
            object[key] = item
          }
        }
        return object
      }
      case OPAQUE:
        return OPAQUE_NAMES[this.bytes[this.pos++]] ?? '[userdata]'
      case FUNCTION:
        this.varint()
        this.string()
        return '[function]'
      default:
        throw new Error(`pubwiki-lua: malformed value from the core (tag ${tag})`)
    }
  }
}

/** Wire `values` (a count, then the values) at `bytes[start..]` as an array of JS values. */
export function decodeValues(bytes, start = 0) {
  const decoder = new Decoder(bytes, start)
  const n = decoder.varint()
  const values = new Array(n)
  for (let i = 0; i < n; i++) values[i] = decoder.value()
  return values
}
