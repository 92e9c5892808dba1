// RedisStore: State in Redis (Node only), through node-redis (`redis` 5, an optional peer
// dependency, loaded when a RedisStore is made from a URL) or an ioredis client given to
// it, for many processes on many machines sharing one State.
//
// Layout: every key of one scope shares the hash tag {s:<scope>} (braces and % escaped),
// so that a scope lives in one slot of a Redis Cluster:
//   <prefix>:{s:<scope>}:k:<key>  the value: "<version>:<bytes>", expiring with Redis's own
//                                 expiration at the entry's expiresAt (PXAT)
//   <prefix>:{s:<scope>}:i        sorted set of the scope's keys (all score 0: lexical
//                                 ranges are prefixes, for State.list)
//   <prefix>:{s:<scope>}:x        sorted set of keys with a TTL, by expiresAt
//   <prefix>:{s:<scope>}:m        hash key -> "<size>:<owner>" (what usage counts)
//   <prefix>:{s:<scope>}:u        hash "b:<owner>" / "k:<owner>" -> bytes / keys
//   <prefix>:{s:<scope>}:v        the scope's version counter (INCR: never reused)
// A read is one GET; a list is one script (the range of the index, then the values); a
// commit is one server-side script (EVALSHA), which Redis runs alone: its checks of the
// versions read, its quota checks and its writes happen with nothing in between, so it is
// atomic and serializable, and one round trip. Keys that Redis expired are dropped from the
// index and counted out of usage by the next commit or usage() of their scope.
//
// Redis Cluster: a script may only touch keys of one slot. A commit of one scope is one
// slot; a call that writes (or read) its own keys and a shared namespace's touches two,
// which a cluster refuses (CROSSSLOT): the call then rejects, its writes not saved. With
// `hashTag: 'single'` every scope shares one tag, so all of State is one slot (one node)
// and every commit is atomic there too.

import { createRequire } from 'node:module'
import { NO_CONDITIONS, ReadCache, StateStore, verdict } from './state.mjs'

const require = createRequire(import.meta.url)

function loadRedis() {
  try {
    return require('redis')
  } catch (error) {
    throw new Error('pubwiki-lua: RedisStore needs the package redis (node-redis 5): npm install redis', { cause: error })
  }
}

// Shared by the scripts: `live(base, key)`, the version of a live entry or false;
// `forget(base, key)`, an entry's index, meta and usage gone; `purge(base, limit)`, the
// expired entries of a scope forgotten (at most `limit`, if given).
const HELPERS = `
local now = tonumber(ARGV[1])
local function live(base, key)
  local v = redis.call('GET', base .. 'k:' .. key)
  if not v then return false end
  return string.sub(v, 1, string.find(v, ':', 1, true) - 1)
end
local function meta(base, key)
  local m = redis.call('HGET', base .. 'm', key)
  if not m then return nil end
  local sep = string.find(m, ':', 1, true)
  return tonumber(string.sub(m, 1, sep - 1)), string.sub(m, sep + 1)
end
local function forget(base, key)
  local size, owner = meta(base, key)
  if size then
    redis.call('HINCRBY', base .. 'u', 'b:' .. owner, -size)
    redis.call('HINCRBY', base .. 'u', 'k:' .. owner, -1)
    redis.call('HDEL', base .. 'm', key)
  end
  redis.call('ZREM', base .. 'i', key)
  redis.call('ZREM', base .. 'x', key)
end
local function purge(base, limit)
  local due
  if limit then due = redis.call('ZRANGEBYSCORE', base .. 'x', '-inf', now, 'LIMIT', 0, limit)
  else due = redis.call('ZRANGEBYSCORE', base .. 'x', '-inf', now) end
  for _, key in ipairs(due) do
    if redis.call('EXISTS', base .. 'k:' .. key) == 0 then forget(base, key) end
  end
end
local function usage(base, owner)
  local u = redis.call('HMGET', base .. 'u', 'b:' .. owner, 'k:' .. owner)
  return tonumber(u[1]) or 0, tonumber(u[2]) or 0
end
`

// KEYS[1]: the scope's base; ARGV: now, prefix. Returns key, value, key, value...
const LIST = `${HELPERS}
local base, prefix = KEYS[1], ARGV[2]
local keys = redis.call('ZRANGEBYLEX', base .. 'i', '[' .. prefix, '(' .. prefix .. '\\255')
local out = {}
for i = 1, #keys, 500 do
  local names = {}
  for j = i, math.min(i + 499, #keys) do names[#names + 1] = base .. 'k:' .. keys[j] end
  local values = redis.call('MGET', unpack(names))
  for j, value in ipairs(values) do
    if value then out[#out + 1] = keys[i + j - 1]; out[#out + 1] = value end
  end
end
return out`

// KEYS[1]: the scope's base; ARGV: now, owner ('' and a flag '0' for every owner).
const USAGE = `${HELPERS}
local base = KEYS[1]
purge(base, nil)
if ARGV[3] == '1' then return { usage(base, ARGV[2]) } end
local all = redis.call('HGETALL', base .. 'u')
local bytes, keys = 0, 0
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'b:' then bytes = bytes + tonumber(all[i + 1]) else keys = keys + tonumber(all[i + 1]) end
end
return { bytes, keys }`

// KEYS: one key per scope touched (for a cluster's routing). ARGV: now, then
//   nreads, (base, key, version or '')...
//   nlists, (base, prefix, n, (key, version) * n)...
//   nwrites, (base, key, value, delete '1'/'0', expiresAt or '', owner)...
//   nquotas, (base, owner, bytes or '', keys or '')...
// Returns nil when applied, else 'r<i>', 'l<i>' or 'q<i>:<bytes>:<keys>'.
const COMMIT = `${HELPERS}
local p = 2
local function arg() p = p + 1; return ARGV[p - 1] end
for i = 1, tonumber(arg()) do
  local base, key, version = arg(), arg(), arg()
  if (live(base, key) or '') ~= version then return 'r' .. i end
end
for i = 1, tonumber(arg()) do
  local base, prefix, n = arg(), arg(), tonumber(arg())
  local keys = redis.call('ZRANGEBYLEX', base .. 'i', '[' .. prefix, '(' .. prefix .. '\\255')
  local found = {}
  for _, key in ipairs(keys) do
    local v = live(base, key)
    if v then found[#found + 1] = key; found[#found + 1] = v end
  end
  local same = #found == 2 * n
  for j = 1, 2 * n do
    local expected = arg()
    if same and found[j] ~= expected then same = false end
  end
  if not same then return 'l' .. i end
end
local writes = {}
for i = 1, tonumber(arg()) do
  local w = { base = arg(), key = arg(), value = arg(), delete = arg() == '1', expires = tonumber(arg()), owner = arg() }
  if w.expires and w.expires <= now then w.delete = true end
  writes[i] = w
end
local quotas = {}
for i = 1, tonumber(arg()) do quotas[i] = { base = arg(), owner = arg(), bytes = tonumber(arg()), keys = tonumber(arg()) } end
local bases = {}
for _, w in ipairs(writes) do bases[w.base] = true end
for base in pairs(bases) do purge(base, 20) end
for pass = 1, 2 do
  local deltas = {}
  local function add(base, owner, b, n)
    local id = base .. '\\0' .. owner
    local d = deltas[id] or { 0, 0 }
    d[1] = d[1] + b; d[2] = d[2] + n
    deltas[id] = d
  end
  for _, w in ipairs(writes) do
    local size, owner = meta(w.base, w.key)
    if size then add(w.base, owner, -size, -1) end
    if not w.delete then add(w.base, w.owner, #w.key + #w.value, 1) end
  end
  local over = nil
  for i, q in ipairs(quotas) do
    local d = deltas[q.base .. '\\0' .. q.owner] or { 0, 0 }
    local b, n = usage(q.base, q.owner)
    if (q.bytes and d[1] > 0 and b + d[1] > q.bytes) or (q.keys and d[2] > 0 and n + d[2] > q.keys) then
      over = 'q' .. i .. ':' .. (b + d[1]) .. ':' .. (n + d[2])
      break
    end
  end
  if not over then break end
  if pass == 2 then return over end
  for _, q in ipairs(quotas) do purge(q.base, nil) end
end
local versions = {}
for _, w in ipairs(writes) do
  forget(w.base, w.key)
  if w.delete then
    redis.call('DEL', w.base .. 'k:' .. w.key)
  else
    local v = versions[w.base]
    if not v then v = redis.call('INCR', w.base .. 'v'); versions[w.base] = v end
    if w.expires then
      redis.call('SET', w.base .. 'k:' .. w.key, v .. ':' .. w.value, 'PXAT', w.expires)
      redis.call('ZADD', w.base .. 'x', w.expires, w.key)
    else
      redis.call('SET', w.base .. 'k:' .. w.key, v .. ':' .. w.value)
    end
    local size = #w.key + #w.value
    redis.call('ZADD', w.base .. 'i', 0, w.key)
    redis.call('HSET', w.base .. 'm', w.key, size .. ':' .. w.owner)
    redis.call('HINCRBY', w.base .. 'u', 'b:' .. w.owner, size)
    redis.call('HINCRBY', w.base .. 'u', 'k:' .. w.owner, 1)
  end
end
return nil`

const COLON = 0x3a

/** A stored "<version>:<bytes>" as { value, version }. */
function parse(stored) {
  const at = stored.indexOf(COLON)
  return { value: stored.subarray(at + 1), version: stored.toString('latin1', 0, at) }
}

const utf8 = (text) => Buffer.from(text, 'utf8')

/** The scope's part of a key name: '%', '{' and '}' escaped (a hash tag ends at '}'). */
const escapeScope = (scope) => scope.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

export class RedisStore extends StateStore {
  #client
  #own
  #connected = null
  #send
  #prefix
  #single
  #sha = new Map()

  /**
   * `client`: a `redis://` URL (the store makes a node-redis client, connects it on first
   * use, reconnects after a drop, and close() ends it), or a connected node-redis 5 client or
   * ioredis client (its owner's to close). `options.prefix`: the start of every key name
   * (default 'pubwiki'); `options.hashTag`: 'scope' (default: one hash tag per scope) or
   * 'single' (one for all of State: one slot of a cluster); `options.readCache`: true (or
   * bytes, default 16 MiB) to keep what calls read in this process for later calls
   * (state.mjs ReadCache).
   */
  constructor(client, { prefix = 'pubwiki', hashTag = 'scope', readCache = false } = {}) {
    super()
    /** The cache of entries read by earlier calls, if the store keeps one. */
    this.readCache = readCache ? new ReadCache(typeof readCache === 'number' ? readCache : undefined) : undefined
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw new TypeError('RedisStore options.prefix must be a string without braces')
    if (hashTag !== 'scope' && hashTag !== 'single') throw new TypeError("RedisStore options.hashTag must be 'scope' or 'single'")
    this.#prefix = prefix
    this.#single = hashTag === 'single'
    if (typeof client === 'string') {
      const { createClient, RESP_TYPES } = loadRedis()
      // No offline queue: while the server is away a command fails at once (a read is a
      // Lua error, a commit rejects the call) instead of waiting for it, and the client
      // reconnects by itself.
      const made = createClient({ url: client, disableOfflineQueue: true })
      made.on('error', () => {})
      this.#client = made
      this.#own = true
      const options = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } }
      this.#send = (args) => made.sendCommand(args, options)
    } else if (client && typeof client.callBuffer === 'function') {
      // ioredis
      this.#client = client
      this.#own = false
      this.#connected = true
      this.#send = (args) => client.callBuffer(args[0], ...args.slice(1))
    } else if (client && typeof client.withTypeMapping === 'function') {
      const { RESP_TYPES } = loadRedis()
      this.#client = client
      this.#own = false
      this.#connected = true
      const options = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } }
      this.#send = (args) => client.sendCommand(args, options)
    } else {
      throw new TypeError('RedisStore(client): client must be a redis:// URL, a node-redis 5 client or an ioredis client')
    }
  }

  /** The client the store uses. */
  get client() {
    return this.#client
  }

  // The scope's base name: <prefix>:{s:<scope>}: (or, with one tag, <prefix>:{s}:<scope>:).
  #base(scope) {
    const escaped = escapeScope(scope)
    return utf8(this.#single ? `${this.#prefix}:{s}:${escaped}:` : `${this.#prefix}:{s:${escaped}}:`)
  }

  async #command(args) {
    if (this.#connected !== true) {
      this.#connected ??= this.#client.connect().catch((error) => {
        this.#connected = null
        throw error
      })
      await this.#connected
      this.#connected = true
    }
    return this.#send(args)
  }

  // Runs a script by its SHA1, loading it when the server does not have it (first use, or
  // a restarted server).
  async #script(source, keys, args) {
    let sha = this.#sha.get(source)
    if (sha) {
      try {
        return await this.#command(['EVALSHA', sha, String(keys.length), ...keys, ...args])
      } catch (error) {
        if (!/NOSCRIPT/.test(String(error?.message))) throw error
      }
    }
    sha = String(await this.#command(['SCRIPT', 'LOAD', source]))
    this.#sha.set(source, sha)
    return this.#command(['EVALSHA', sha, String(keys.length), ...keys, ...args])
  }

  async readVersion(scope, key) {
    const stored = await this.#command(['GET', Buffer.concat([this.#base(scope), utf8(`k:${key}`)])])
    return stored ? parse(stored) : undefined
  }

  async read(scope, key) {
    return (await this.readVersion(scope, key))?.value
  }

  async listVersions(scope, prefix) {
    const reply = await this.#script(LIST, [this.#base(scope)], [String(Date.now()), utf8(prefix)])
    const found = []
    for (let i = 0; i < reply.length; i += 2) {
      const { value, version } = parse(reply[i + 1])
      found.push([reply[i].toString('utf8'), value, version])
    }
    return found
  }

  async list(scope, prefix) {
    return (await this.listVersions(scope, prefix)).map(([key, value]) => [key, value])
  }

  async usage(scope, owner) {
    const [bytes, keys] = await this.#script(USAGE, [this.#base(scope)], [String(Date.now()), utf8(owner ?? ''), owner === undefined ? '0' : '1'])
    return { bytes: Number(bytes), keys: Number(keys) }
  }

  async commit(writes, conditions = NO_CONDITIONS) {
    const { reads, lists, quotas } = conditions
    const bases = new Map()
    const base = (scope) => {
      let name = bases.get(scope)
      if (!name) bases.set(scope, (name = this.#base(scope)))
      return name
    }
    const args = [String(Date.now()), String(reads.length)]
    for (const { scope, key, version } of reads) args.push(base(scope), utf8(key), version ?? '')
    args.push(String(lists.length))
    for (const { scope, prefix, entries } of lists) {
      args.push(base(scope), utf8(prefix), String(entries.length))
      for (const [key, version] of entries) args.push(utf8(key), version)
    }
    args.push(String(writes.length))
    for (const { scope, key, value, expiresAt, owner } of writes) {
      args.push(base(scope), utf8(key), value === null ? '' : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        value === null ? '1' : '0', expiresAt === null || expiresAt === undefined ? '' : String(Math.ceil(expiresAt)), utf8(owner ?? ''))
    }
    args.push(String(quotas.length))
    for (const { scope, owner, bytes, keys } of quotas) args.push(base(scope), utf8(owner), bytes === null ? '' : String(bytes), keys === null ? '' : String(keys))
    const keys = [...bases.values()].map((name) => Buffer.concat([name, utf8('v')]))
    if (keys.length === 0) return undefined
    const result = await this.#script(COMMIT, keys, args)
    if (this.readCache) for (const { scope, key } of writes) this.readCache.forget(`${scope}\0${key}`)
    return verdict(result === null ? null : String(result), conditions)
  }

  /** Ends the client if the store made it (one given to it is its owner's to close). */
  async close() {
    if (this.#own && this.#connected) {
      this.#connected = null
      // (A client that is reconnecting would wait for the server to quit: it stops at once.)
      if (this.#client.isReady) await this.#client.close().catch(() => this.#client.destroy())
      else this.#client.destroy()
    }
  }
}
