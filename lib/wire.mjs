// The JavaScript half of the wire format (crates/core/src/wire.rs has the grammar): every
// value that crosses between JS and Lua is encoded here or decoded here, whichever backend
// runs the call, so native and wasm convert values identically. No Node built-ins.
//
// JS -> Lua (globals, host function results): encode(). Lua -> JS (return values, host
// function arguments): decodeValues().

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

export const REPLY_VALUES = 0
export const REPLY_ERROR = 1
export const REPLY_PENDING = 2

/** Deeper nesting is refused (the core refuses it too). */
export const MAX_DEPTH = 100

const OPAQUE_NAMES = ['[function]', '[thread]', '[userdata]']
const INT64_MIN = -(2 ** 63)
const INT64_LIMIT = 2 ** 63
const BIGINT_MIN = -(2n ** 63n)
const BIGINT_MAX = 2n ** 63n - 1n

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

/** Raised inside the encoder when a value grows past its byte limit; never escapes. */
const TOO_BIG = Symbol('too big')

function typeName(value) {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  const constructor = Object.getPrototypeOf(value)?.constructor
  return typeof constructor === 'function' && constructor.name ? constructor.name : 'object'
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// A growable byte buffer with the wire format's writers.
class Encoder {
  constructor() {
    this.bytes = new Uint8Array(256)
    this.view = new DataView(this.bytes.buffer)
    this.pos = 0
    this.limit = Infinity
    this.functions = null
  }

  reserve(n) {
    const need = this.pos + n
    if (need <= this.bytes.length) return
    if (need > this.limit) throw TOO_BIG
    let size = this.bytes.length * 2
    while (size < need) size *= 2
    const bytes = new Uint8Array(size)
    bytes.set(this.bytes.subarray(0, this.pos))
    this.bytes = bytes
    this.view = new DataView(bytes.buffer)
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
      this.view.setInt32(this.pos, n, true)
      this.view.setInt32(this.pos + 4, n < 0 ? -1 : 0, true)
    } else {
      this.view.setBigInt64(this.pos, BigInt(n), true)
    }
    this.pos += 8
  }

  bigint(n) {
    this.reserve(9)
    this.bytes[this.pos++] = INTEGER
    this.view.setBigInt64(this.pos, n, true)
    this.pos += 8
  }

  float(n) {
    this.reserve(9)
    this.bytes[this.pos++] = FLOAT
    this.view.setFloat64(this.pos, n, true)
    this.pos += 8
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

  // A JS value; `path` names it in errors, `names` it (for functions) in Lua's messages.
  value(value, path, depth, seen) {
    switch (typeof value) {
      case 'undefined':
        return this.u8(NIL)
      case 'boolean':
        return this.u8(value ? TRUE : FALSE)
      case 'number':
        if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_LIMIT) return this.integer(value)
        return this.float(value)
      case 'bigint':
        if (value < BIGINT_MIN || value > BIGINT_MAX) throw new TypeError(`${path}: bigint ${value} is out of the range of Lua integers`)
        return this.bigint(value)
      case 'string':
        this.u8(STRING)
        return this.rawString(value)
      case 'function':
        return this.func(value, path)
      case 'object':
        if (value === null) return this.u8(NIL)
        return this.object(value, path, depth, seen)
      default:
        throw new TypeError(`${path}: ${typeof value} is not supported`)
    }
  }

  func(fn, path) {
    const functions = this.functions
    if (!functions) throw new TypeError(`${path}: functions are not supported here`)
    const name = path.startsWith('globals.') ? path.slice(8) : path
    let index = functions.indexOf.get(fn)
    if (index === undefined) {
      index = functions.list.length
      functions.list.push(fn)
      functions.names.push(name)
      functions.indexOf.set(fn, index)
    }
    this.u8(FUNCTION)
    this.varint(index)
    this.rawString(functions.names[index])
  }

  object(value, path, depth, seen) {
    if (value instanceof Uint8Array) {
      this.u8(STRING)
      return this.rawBytes(value)
    }
    if (value instanceof ArrayBuffer) {
      this.u8(STRING)
      return this.rawBytes(new Uint8Array(value))
    }
    const array = Array.isArray(value)
    if (!array && !(value instanceof Map) && !isPlainObject(value)) {
      throw new TypeError(`${path}: ${typeName(value)} is not supported`)
    }
    if (seen.has(value)) throw new TypeError(`${path}: circular reference (a value contains itself)`)
    if (depth >= MAX_DEPTH) throw new TypeError(`${path}: nested deeper than ${MAX_DEPTH} levels`)
    seen.add(value)
    if (array) {
      // A table's array part costs at least 8 bytes a slot: longer arrays cannot fit.
      if (value.length * 8 > this.limit) throw TOO_BIG
      this.u8(ARRAY)
      this.varint(value.length)
      for (let i = 0; i < value.length; i++) this.value(value[i], `${path}[${i}]`, depth + 1, seen)
    } else if (value instanceof Map) {
      this.u8(TABLE)
      this.varint(value.size)
      for (const [key, item] of value) {
        this.key(key, path)
        this.value(item, `${path}[${typeof key === 'string' ? JSON.stringify(key) : String(key)}]`, depth + 1, seen)
      }
    } else {
      const keys = Object.keys(value)
      this.u8(TABLE)
      this.varint(keys.length)
      for (const key of keys) {
        this.u8(STRING)
        this.rawString(key)
        this.value(value[key], `${path}.${key}`, depth + 1, seen)
      }
    }
    seen.delete(value)
  }

  key(key, path) {
    switch (typeof key) {
      case 'string':
        this.u8(STRING)
        return this.rawString(key)
      case 'number':
        if (Number.isNaN(key)) throw new TypeError(`${path}: NaN cannot be a table key`)
        return this.value(key, path, 0, null)
      case 'boolean':
      case 'bigint':
        return this.value(key, path, 0, null)
      default:
        throw new TypeError(`${path}: a Map key of type ${key === null ? 'null' : typeof key} is not supported`)
    }
  }

  // The encoded bytes: a copy, so the encoder can be reused.
  take() {
    const bytes = this.bytes.slice(0, this.pos)
    this.pos = 0
    if (this.bytes.length > 1 << 20) {
      // Do not keep a big value's buffer alive between calls.
      this.bytes = new Uint8Array(256)
      this.view = new DataView(this.bytes.buffer)
    }
    this.functions = null
    this.limit = Infinity
    return bytes
  }
}

// One encoder reused across calls (JS runs one encode at a time; a host function that
// runs a nested call does so between encodes, never inside one).
let shared = new Encoder()

function encoder(functions, limit) {
  const e = shared.pos === 0 ? shared : new Encoder()
  e.functions = functions
  e.limit = limit
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
  const e = encoder(functions, limit)
  try {
    e.object(globals, 'globals', 0, new Set())
  } catch (error) {
    e.take()
    if (error !== TOO_BIG) throw error
    return Uint8Array.of(OVERSIZED)
  }
  return e.take()
}

/**
 * A host function's result as a reply: VALUES with one value, or (for unsupported
 * values) a TypeError thrown to the caller, who turns it into an ERROR reply.
 */
export function encodeResult(value, path, functions, limit) {
  const e = encoder(functions, limit)
  try {
    e.u8(REPLY_VALUES)
    e.varint(1)
    e.value(value, path, 0, new Set())
  } catch (error) {
    e.take()
    if (error !== TOO_BIG) throw error
    return Uint8Array.of(REPLY_VALUES, 1, OVERSIZED)
  }
  return e.take()
}

/** An ERROR reply: the message Lua raises, and the host's id for the error (0: none). */
export function encodeError(message, cause) {
  const e = encoder(null, Infinity)
  e.u8(REPLY_ERROR)
  e.rawString(message)
  e.varint(cause)
  return e.take()
}

export const PENDING_REPLY = Uint8Array.of(REPLY_PENDING)

// Reads wire values.
class Decoder {
  constructor(bytes) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = 0
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
      // Short ASCII without TextDecoder, whose per-call cost dominates for short strings.
      const bytes = this.bytes
      let text = ''
      for (let i = start; i < end; i++) {
        const byte = bytes[i]
        if (byte >= 0x80) return textDecoder.decode(bytes.subarray(start, end))
        text += String.fromCharCode(byte)
      }
      return text
    }
    return textDecoder.decode(this.bytes.subarray(start, end))
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
        const lo = this.view.getUint32(this.pos, true)
        const hi = this.view.getInt32(this.pos + 4, true)
        this.pos += 8
        return hi * 4294967296 + lo
      }
      case FLOAT: {
        const n = this.view.getFloat64(this.pos, true)
        this.pos += 8
        return n
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

/** Wire `values` (a count, then the values) as an array of JS values. */
export function decodeValues(bytes) {
  const decoder = new Decoder(bytes)
  const n = decoder.varint()
  const values = new Array(n)
  for (let i = 0; i < n; i++) values[i] = decoder.value()
  return values
}
