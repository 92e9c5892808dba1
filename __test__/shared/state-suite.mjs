// `State` through the public API, wherever it runs: imported by __test__/state.test.mjs
// (Node, once per backend: MemoryStore, SqliteStore, an async custom store) and by
// __test__/browser/state.test.mjs (Chromium: MemoryStore, IndexedDbStore, the custom one).
// `stores` is a list of { name, make() -> a fresh, empty store (or a promise of one) }.
import { describe, expect, it } from 'vitest'
import { failure } from './api-suite.mjs'

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A host's own store (the documented interface, no base class): entries in a Map, every
 * method answering later, as a networked database would. `log` records the commits.
 */
export function asyncCustomStore() {
  const entries = new Map()
  const id = (scope, key) => JSON.stringify([scope, key])
  const live = (entry) => entry && (entry.expiresAt === null || entry.expiresAt > Date.now())
  return {
    commits: [],
    async read(scope, key) {
      await tick()
      const entry = entries.get(id(scope, key))
      return live(entry) ? entry.value : undefined
    },
    async list(scope, prefix) {
      await tick()
      return [...entries.values()].filter((e) => e.scope === scope && e.key.startsWith(prefix) && live(e)).map((e) => [e.key, e.value])
    },
    async commit(writes) {
      await tick()
      this.commits.push(writes.length)
      for (const write of writes) {
        if (write.value === null) entries.delete(id(write.scope, write.key))
        else entries.set(id(write.scope, write.key), { ...write })
      }
    },
  }
}

/**
 * A host's own store of the serializable protocol (README: versions, checked commits,
 * usage), every method answering later: what a networked database would do in one
 * transaction, done at once here (nothing runs between its checks and its writes).
 */
export function asyncVersionedStore() {
  const entries = new Map()
  const usage = new Map()
  let clock = 0
  const id = (scope, key) => JSON.stringify([scope, key])
  const live = (entry) => entry && (entry.expiresAt === null || entry.expiresAt > Date.now())
  const size = (key, value) => new TextEncoder().encode(key).length + value.length
  const count = (scope, owner, bytes, keys) => {
    const u = usage.get(id(scope, owner)) ?? { bytes: 0, keys: 0 }
    usage.set(id(scope, owner), { bytes: u.bytes + bytes, keys: u.keys + keys })
  }
  const listNow = (scope, prefix) => [...entries.values()]
    .filter((e) => e.scope === scope && e.key.startsWith(prefix) && live(e))
    .sort((a, b) => (a.key < b.key ? -1 : 1))
  return {
    commits: [],
    async read(scope, key) {
      return (await this.readVersion(scope, key))?.value
    },
    async list(scope, prefix) {
      return (await this.listVersions(scope, prefix)).map(([key, value]) => [key, value])
    },
    async readVersion(scope, key) {
      await tick()
      const entry = entries.get(id(scope, key))
      return live(entry) ? { value: entry.value, version: entry.version } : undefined
    },
    async listVersions(scope, prefix) {
      await tick()
      return listNow(scope, prefix).map((e) => [e.key, e.value, e.version])
    },
    async usage(scope, owner) {
      await tick()
      if (owner !== undefined) return usage.get(id(scope, owner)) ?? { bytes: 0, keys: 0 }
      const all = { bytes: 0, keys: 0 }
      for (const [name, u] of usage) if (JSON.parse(name)[0] === scope) (all.bytes += u.bytes), (all.keys += u.keys)
      return all
    },
    async commit(writes, { reads = [], lists = [], quotas = [] } = {}) {
      await tick()
      for (const r of reads) {
        const entry = entries.get(id(r.scope, r.key))
        if ((live(entry) ? entry.version : null) !== r.version) return { conflict: `key '${r.key}' changed` }
      }
      for (const l of lists) {
        const now = listNow(l.scope, l.prefix).map((e) => [e.key, e.version])
        if (JSON.stringify(now) !== JSON.stringify(l.entries)) return { conflict: `the list of '${l.prefix}' changed` }
      }
      for (const q of quotas) {
        let bytes = 0
        let keys = 0
        for (const w of writes) {
          const old = entries.get(id(w.scope, w.key))
          if (old && old.scope === q.scope && old.owner === q.owner) (bytes -= old.size), keys--
          if (w.value !== null && w.scope === q.scope && w.owner === q.owner) (bytes += size(w.key, w.value)), keys++
        }
        const u = usage.get(id(q.scope, q.owner)) ?? { bytes: 0, keys: 0 }
        if ((q.bytes !== null && bytes > 0 && u.bytes + bytes > q.bytes) || (q.keys !== null && keys > 0 && u.keys + keys > q.keys)) {
          return { quota: `State: the call's writes would pass the quota of ${q.owner || q.scope}` }
        }
      }
      if (writes.length) this.commits.push(writes.length)
      clock++
      for (const w of writes) {
        const old = entries.get(id(w.scope, w.key))
        if (old) count(old.scope, old.owner, -old.size, -1)
        if (w.value === null) entries.delete(id(w.scope, w.key))
        else {
          const entry = { ...w, owner: w.owner ?? '', version: clock, size: size(w.key, w.value) }
          entries.set(id(w.scope, w.key), entry)
          count(w.scope, entry.owner, entry.size, 1)
        }
      }
      return undefined
    },
  }
}

export function stateSuite(lua, stores) {
  const { run, createRunner, createWorkerRunner, LuaError, MemoryStore, StateStore } = lua

  describe('State without a state option', () => {
    it('is not there', async () => {
      expect((await run('return State', { scriptId: 's' })).values).toEqual([null])
    })
  })

  describe('state options', () => {
    it('refuses bad ones with a TypeError', async () => {
      expect(() => createRunner({ state: 'yes' })).toThrow(TypeError)
      expect(() => createRunner({ state: { store: {} } })).toThrow(/read, list and commit/)
      expect(() => createRunner({ state: { namespaces: 3 } })).toThrow(TypeError)
      expect(() => createRunner({ state: { stor: new MemoryStore() } })).toThrow(/state.stor is not an option/)
      const lua = createRunner({ state: { namespaces: () => 'all' } })
      expect(await failure(lua.run('return 1', { scriptId: 's' }))).toBeInstanceOf(TypeError)
    })

    it('gives `state: true` a MemoryStore of the runner, which the host can read', async () => {
      const one = createRunner({ state: true })
      const two = createRunner({ state: true })
      await one.run('State.set("k", "one")', { scriptId: 's' })
      expect(one.stateStore).toBeInstanceOf(MemoryStore)
      expect(one.stateStore.get('s', 'k')).toBe('one')
      expect((await two.run('return State.get("k")', { scriptId: 's' })).values).toEqual([null])
    })

    it('runs synchronous calls on a synchronous store, and refuses them on an async one', () => {
      const store = new MemoryStore()
      const lua = createRunner({ state: { store } })
      expect(lua.runSync('State.set("n", 41) return State.get("n") + 1', { scriptId: 's' }).values).toEqual([42])
      expect(store.get('s', 'n')).toBe(41)
      const async = createRunner({ state: { store: asyncCustomStore() } })
      expect(() => async.runSync('return 1', { scriptId: 's' })).toThrow(/synchronous state store/)
    })

    it('lets a call give its own store and namespaces over the runner\'s', async () => {
      const runnerStore = new MemoryStore()
      const callStore = new MemoryStore()
      const lua = createRunner({ state: { store: runnerStore } })
      await lua.run('State.set("k", 1)', { scriptId: 's', state: { store: callStore } })
      expect(callStore.get('s', 'k')).toBe(1)
      expect(runnerStore.get('s', 'k')).toBe(undefined)
      const shared = { 'global.x': { shared: true, read: true, write: true } }
      await lua.run('State.set("global.x", 2)', { scriptId: 's', state: { namespaces: shared } })
      expect(runnerStore.get('', 'global.x')).toBe(2)
    })
  })

  for (const { name, make, lww } of stores) {
    describe(`State on ${name}`, () => {
      const runner = async (namespaces, options = {}) => {
        const store = await make()
        return { store, lua: createRunner({ ...options, state: { store, namespaces, ...options.state } }) }
      }
      // The host's view of a stored value (a store without StateStore's methods: through a
      // script).
      const stored = async (lua, scriptId, key) => (await lua.run('return State.get(...)', { scriptId, arguments: [key] })).values[0]

      it('round-trips every value type, integers and floats apart, any bytes', async () => {
        const { lua } = await runner()
        const value = `{
          nothing = nil, yes = true, no = false, int = 42, big = math.maxinteger, small = math.mininteger,
          float = 2.0, half = 0.5, inf = math.huge, ninf = -math.huge, bytes = "a\\0b\\255\\1",
          empty = "", list = {1, 2, 3, "four"}, [1.5] = "float key", [true] = "bool key", [7] = "int key",
          nested = {a = {b = {c = {d = "deep"}}}},
        }`
        await lua.run(`State.set("v", ${value}) State.set("s", "text") State.set("i", 3) State.set("f", 3.0) State.set("b", false)`, { scriptId: 's' })
        const { values } = await lua.run(`
          local v = State.get("v")
          local checks = {
            v.yes == true, v.no == false, math.type(v.int) == "integer", v.int == 42,
            v.big == math.maxinteger, v.small == math.mininteger,
            math.type(v.float) == "float", v.half == 0.5, v.inf == math.huge, v.ninf == -math.huge,
            v.bytes == "a\\0b\\255\\1", v.empty == "", #v.list == 4, v.list[4] == "four",
            v[1.5] == "float key", v[true] == "bool key", v[7] == "int key", v["7"] == nil,
            v.nested.a.b.c.d == "deep", v.nothing == nil,
            State.get("s") == "text", math.type(State.get("i")) == "integer",
            math.type(State.get("f")) == "float", State.get("b") == false,
            State.get("missing") == nil, State.get("missing", "default") == "default",
            State.get("b", "default") == false,
          }
          for i, ok in ipairs(checks) do if not ok then return i end end
          return #checks`, { scriptId: 's' })
        expect(values).toEqual([27])
        // Through a StateStore's helpers, as return values are converted.
        if (lua.stateStore instanceof StateStore) {
          expect(await lua.stateStore.get('s', 'v')).toMatchObject({ int: 42, float: 2, list: [1, 2, 3, 'four'], yes: true })
          await lua.stateStore.set('s', 'fromHost', { n: 1, list: ['a', 'b'] })
          expect((await lua.run('local v = State.get("fromHost") return math.type(v.n), v.list[2]', { scriptId: 's' })).values).toEqual(['integer', 'b'])
        }
      })

      it('refuses values and keys that cannot be stored, as catchable Lua errors', async () => {
        const { lua } = await runner()
        const cases = {
          'a function': 'State.set("k", print)',
          'a coroutine': 'State.set("k", coroutine.create(print))',
          'a cycle': 'local t = {} t.t = t State.set("k", t)',
          'too deep': 'local t = {} local c = t for i = 1, 101 do c.x = {} c = c.x end State.set("k", t)',
          'a function inside': 'State.set("k", {list = {1, print}})',
          'an empty key': 'State.set("", 1)',
          'a long key': 'State.set(string.rep("k", 257), 1)',
          'a number key': 'State.set(1, 1)',
          'an invalid UTF-8 key': 'State.set("\\255", 1)',
          'a negative TTL': 'State.set("k", 1, -1)',
          'a bad prefix': 'State.list({})',
        }
        for (const [what, code] of Object.entries(cases)) {
          const { values } = await lua.run(`local ok, err = pcall(function() ${code} end) return ok, err`, { scriptId: 's' })
          expect(values[0], what).toBe(false)
          expect(values[1], what).toMatch(/^s:1: bad argument #\d to '(set|list)'/)
        }
        // 100 levels are fine; nothing above was stored.
        await lua.run('local t = {} local c = t for i = 1, 99 do c.x = {} c = c.x end c.x = "leaf" State.set("deep", t)', { scriptId: 's' })
        expect((await lua.run('local c = State.get("deep") for i = 1, 100 do c = c.x end return c, State.get("k")', { scriptId: 's' })).values).toEqual(['leaf', null])
      })

      it('keeps each script\'s keys its own, whatever the key', async () => {
        const { lua } = await runner()
        const hostile = ['../B/x', 'B/x', '/x', 'x\0B', 'B\0x', 'B', '', '\0', '%', 'x']
        await lua.run(
          `for _, key in ipairs(...) do if key ~= "" then State.set(key, "from A") end end`,
          { scriptId: 'A', arguments: [hostile] })
        const { values } = await lua.run(
          `local seen = {} for _, key in ipairs(...) do if key ~= "" and State.get(key) ~= nil then seen[#seen + 1] = key end end
           local n = 0 for _ in pairs(State.list("")) do n = n + 1 end
           return #seen, n`,
          { scriptId: 'B', arguments: [hostile] })
        expect(values).toEqual([0, 0])
        // A's own list has every key as it wrote it.
        const { values: [own] } = await lua.run('return State.list("")', { scriptId: 'A' })
        expect(Object.keys(own).sort()).toEqual(hostile.filter((key) => key !== '').sort())
        // A scriptId that looks like a path of another's is no way in either.
        for (const scriptId of ['A/..', 'A\0', 'A/x', ' A']) {
          expect((await lua.run('return State.get("x"), State.get("B/x")', { scriptId })).values).toEqual([null, null])
        }
      })

      it('shares namespaces with the permissions the host gave, per script', async () => {
        const namespaces = (scriptId) => ({
          'global.events': { shared: true, read: true, write: scriptId === 'Admin', delete: scriptId === 'Admin' },
          'global.inbox': { shared: true, read: false, write: true, delete: false },
          'global.trash': { shared: true, read: true, write: false, delete: true },
          'global.events.secret': { shared: true, read: scriptId === 'Admin', write: scriptId === 'Admin', delete: false },
        })
        const { lua } = await runner(namespaces)
        await lua.run('State.set("global.events", "list") State.set("global.events.boss", "dragon") State.set("global.events.secret.code", 7)', { scriptId: 'Admin' })
        // A reader sees the shared keys, unprefixed, and not the inner namespace it may not read.
        const read = await lua.run('return State.get("global.events.boss"), State.get("global.events"), State.list("global.events")', { scriptId: 'Reader' })
        expect(read.values).toEqual(['dragon', 'list', { 'global.events': 'list', 'global.events.boss': 'dragon' }])
        const denied = async (code, scriptId = 'Reader') => (await lua.run(`local ok, err = pcall(function() ${code} end) return err`, { scriptId })).values[0]
        expect(await denied('State.set("global.events.boss", "mouse")')).toBe("Reader:1: State.set: namespace 'global.events' may not be written by Reader")
        expect(await denied('State.delete("global.events")')).toBe("Reader:1: State.delete: namespace 'global.events' may not be deleted from by Reader")
        expect(await denied('State.get("global.events.secret.code")')).toBe("Reader:1: State.get: namespace 'global.events.secret' may not be read by Reader")
        expect(await denied('State.list("global.events.secret")')).toBe("Reader:1: State.list: namespace 'global.events.secret' may not be read by Reader")
        // Write-only: a drop box.
        expect(await denied('State.set("global.inbox.msg", "hi")')).toBe(null)
        expect(await denied('State.get("global.inbox.msg")')).toBe("Reader:1: State.get: namespace 'global.inbox' may not be read by Reader")
        expect(await denied('State.delete("global.inbox.msg")')).toMatch(/may not be deleted from/)
        // Delete-only.
        await lua.run('State.set("global.trash", 1)', { scriptId: 'Reader', state: { namespaces: { 'global.trash': { shared: true, write: true } } } })
        expect(await denied('State.set("global.trash", 2)')).toMatch(/may not be written/)
        expect(await denied('State.delete("global.trash")')).toBe(null)
        expect(await stored(lua, 'Reader', 'global.trash')).toBe(null)
        // The admin's own view; keys outside a namespace stay private ('global.eventsX').
        await lua.run('State.set("global.eventsX", "mine")', { scriptId: 'Admin' })
        expect(await stored(lua, 'Reader', 'global.eventsX')).toBe(null)
        expect(await stored(lua, 'Admin', 'global.events.secret.code')).toBe(7)
        // The whole list of a reader: its own keys and what it may read.
        await lua.run('State.set("own", true)', { scriptId: 'Reader' })
        const all = await lua.run('return State.list("")', { scriptId: 'Reader' })
        // (global.inbox.msg is there, but the reader may not read it.)
        expect(all.values[0]).toEqual({ own: true, 'global.events': 'list', 'global.events.boss': 'dragon' })
        if (lua.stateStore instanceof StateStore) expect(await lua.stateStore.get('', 'global.events.boss')).toBe('dragon')
      })

      describe('commits a call\'s writes together, or none', () => {
        const SET_100 = 'for i = 1, 100 do State.set("n" .. i, i) end State.delete("keep")'
        const count = async (lua) => (await lua.run('local n = 0 for _ in pairs(State.list("n")) do n = n + 1 end return n, State.get("keep")', { scriptId: 's' })).values

        it.each([
          ['an error', 'error("no")', {}, 'runtime'],
          ['the time limit', 'while true do end', { timeLimit: 100 }, 'timeout'],
          ['the memory limit', 'local t = {} while true do t[#t + 1] = {} end', { memoryLimit: 2 << 20 }, 'memory'],
          ['the output limit', 'while true do io.write("xxxxxxxx") end', { outputLimit: 1000 }, 'output'],
          ['an error caught and raised again', 'local ok, err = pcall(error, "inner") error(err)', {}, 'runtime'],
        ])('a call ending with %s leaves none of its 100 keys', async (_, end, limits, kind) => {
          const { lua } = await runner()
          await lua.run('State.set("keep", "yes")', { scriptId: 's' })
          const error = await failure(lua.run(`${SET_100} assert(State.get("n100") == 100) ${end}`, { scriptId: 's', ...limits }))
          expect(error).toBeInstanceOf(LuaError)
          expect(error.kind).toBe(kind)
          expect(await count(lua)).toEqual([0, 'yes'])
        })

        it('a call that succeeds leaves all of them, its own reads seeing them first', async () => {
          const { lua, store } = await runner()
          await lua.run('State.set("keep", "yes")', { scriptId: 's' })
          const { values } = await lua.run(`${SET_100} State.set("n1", "last") return State.get("n1"), State.get("keep"), State.get("keep", "gone")`, { scriptId: 's' })
          expect(values).toEqual(['last', null, 'gone'])
          expect(await count(lua)).toEqual([100, null])
          if (store.commits) expect(store.commits.at(-1)).toBe(101) // one commit of 100 keys and a delete
        })
      })

      it('hides keys after their TTL', async () => {
        const { lua } = await runner()
        const set = Date.now()
        await lua.run('State.set("short", "soon gone", 0.3) State.set("long", "stays", 60)', { scriptId: 's' })
        const { values } = await lua.run('return State.get("short"), State.get("long")', { scriptId: 's' })
        // (On a loaded machine the 300 ms may be over before this second call reads.)
        expect(values).toEqual([Date.now() - set < 300 ? 'soon gone' : values[0], 'stays'])
        expect(['soon gone', null]).toContain(values[0])
        await tick(Math.max(0, set + 350 - Date.now()))
        expect((await lua.run('return State.get("short"), State.list("")', { scriptId: 's' })).values).toEqual([null, { long: 'stays' }])
        // A TTL is set anew by each set; a set without one keeps the value for good.
        await lua.run('State.set("short", "again")', { scriptId: 's' })
        await tick(80)
        expect(await stored(lua, 's', 'short')).toBe('again')
      })

      it('loses none of 1000 concurrent calls\' writes to distinct keys', async () => {
        const { lua } = await runner()
        const calls = Array.from({ length: 1000 }, (_, i) =>
          lua.run('local i = ... State.set("n" .. i, i) return State.get("n" .. i)', { scriptId: `s${i % 10}`, arguments: [i] }))
        const results = await Promise.all(calls)
        expect(results.map(({ values }) => values[0])).toEqual(Array.from({ length: 1000 }, (_, i) => i))
        const { values } = await lua.run('local n = 0 for _ in pairs(State.list("n")) do n = n + 1 end return n', { scriptId: 's3' })
        expect(values).toEqual([100])
        let total = 0
        for (let s = 0; s < 10; s++) total += (await lua.run('local n = 0 for k, v in pairs(State.list("")) do n = n + 1 end return n', { scriptId: `s${s}` })).values[0]
        expect(total).toBe(1000)
      })

      it('shows no call the writes of another that has not ended', async () => {
        const { lua } = await runner()
        await lua.run('State.set("k", "old")', { scriptId: 's' })
        let started
        const running = new Promise((resolve) => (started = resolve))
        let release
        const gate = new Promise((resolve) => (release = resolve))
        const writer = lua.run('State.set("k", "new") State.set("other", 1) wait() return State.get("k")', {
          scriptId: 's',
          globals: { wait: () => (started(), gate) },
        })
        await running
        expect((await lua.run('return State.get("k"), State.get("other")', { scriptId: 's' })).values).toEqual(['old', null])
        release()
        expect((await writer).values).toEqual(['new'])
        expect((await lua.run('return State.get("k"), State.get("other")', { scriptId: 's' })).values).toEqual(['new', 1])
      })

      it('gives a call the value of its first read of a key for every read, and later calls the last commit', async () => {
        const { lua, store } = await runner()
        await lua.run('State.set("k", 1)', { scriptId: 's' })
        // While the call waits, another one commits a new value.
        const other = () => lua.run('State.set("k", 2)', { scriptId: 's' })
        const code = 'local first = State.get("k") other() return first, State.get("k"), State.get("fresh")'
        if (typeof store.readVersion !== 'function') {
          // The three-method protocol: read-committed, repeatable per key.
          expect((await lua.run(code, { scriptId: 's', globals: { other } })).values).toEqual([1, 1, null])
        } else {
          // Serializable: what it read changed before its end, and it called its host, so it
          // is not run again: a conflict.
          const error = await failure(lua.run(code, { scriptId: 's', globals: { other } }))
          expect(error).toBeInstanceOf(LuaError)
          expect(error.kind).toBe('conflict')
          expect(error.message).toMatch(/^s: State: key 'k'.* changed.* \(and it called a host function, so it was not run again\)$/)
        }
        expect(await stored(lua, 's', 'k')).toBe(2)
      })

      it('never shows a torn value to concurrent calls writing one key', async () => {
        const { lua } = await runner({ shared: { shared: true, read: true, write: true } })
        // Each call writes a value whose 50 fields all say who wrote it, after checking the
        // value it read is whole.
        const code = `
          local me = ...
          local old = State.get("shared")
          if old then for i = 1, 50 do if old[i] ~= old[1] then error("torn") end end end
          local v = {} for i = 1, 50 do v[i] = me end
          State.set("shared", v)
          return old and old[1]`
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => lua.run(code, { scriptId: `w${i}`, arguments: [i], retries: 10_000, timeLimit: 120_000 })))
        const last = await stored(lua, 'w0', 'shared')
        expect(new Set(last).size).toBe(1)
        if (typeof lua.stateStore.readVersion === 'function') {
          // Serializable: the writes form one chain, each call having read its predecessor's.
          const before = results.map(({ values }) => values[0])
          expect(new Set(before).size).toBe(200)
          expect(before.filter((v) => v === null).length).toBe(1)
        }
      })

      if (!lww) {
        describe('serializable calls', () => {
          const INCREMENT = 'State.set("visits", (State.get("visits") or 0) + 1)'

          it('counts exactly with many calls in flight, each committing once', async () => {
            // (All of a call's attempts share its time limit: 100 calls on one key take a while.)
            const { lua } = await runner(undefined, { retries: 10_000, timeLimit: 120_000 })
            await Promise.all(Array.from({ length: 100 }, () => lua.run(INCREMENT, { scriptId: 'Counter' })))
            expect(await stored(lua, 'Counter', 'visits')).toBe(100)
            expect(lua.stats.retries).toBe(lua.stats.conflicts)
          })

          it('never makes blind writes conflict, nor keys a call did not read', async () => {
            const { lua } = await runner()
            await Promise.all(Array.from({ length: 50 }, (_, i) => lua.run('State.set("k", ...) State.set("k" .. ..., 1)', { scriptId: 's', arguments: [i] })))
            // Each reads its own key and writes a shared one without reading it.
            await Promise.all(Array.from({ length: 50 }, (_, i) => lua.run('local n = ... State.set("own" .. n, (State.get("own" .. n) or 0) + 1) State.set("last", n)', { scriptId: 's', arguments: [i] })))
            expect(lua.stats).toEqual({ conflicts: 0, retries: 0 })
          })

          // A resolver runs once per attempt and is the runner's own (asking it again is
          // invisible): here it commits a change the first time, under the call's feet.
          const meddling = (lua, code) => {
            let times = 0
            return () => {
              times++
              return times === 1 ? lua.run(code, { scriptId: 's' }).then(() => 'return 1') : 'return 1'
            }
          }

          it('runs a call again after a conflict, with output and values of the attempt that committed', async () => {
            const { lua } = await runner()
            await lua.run('State.set("n", 1)', { scriptId: 's' })
            const modules = meddling(lua, 'State.set("n", 10)')
            const { output, values } = await lua.run('local n = State.get("n") print("saw", n) require("m") State.set("n", n + 1) return n', { scriptId: 's', modules })
            expect(output).toBe('saw\t10\n')
            expect(values).toEqual([10])
            expect(await stored(lua, 's', 'n')).toBe(11)
            expect(lua.stats).toEqual({ conflicts: 1, retries: 1 })
          })

          it('notices keys a list returned changing, and keys added under its prefix', async () => {
            const { lua } = await runner()
            await lua.run('State.set("p.a", 1)', { scriptId: 's' })
            const modules = meddling(lua, 'State.set("p.b", 2)')
            const { values } = await lua.run('local n = 0 for k in pairs(State.list("p.")) do n = n + 1 end require("m") State.set("count", n) return n', { scriptId: 's', modules })
            expect(values).toEqual([2])
            expect(lua.stats.conflicts).toBe(1)
          })

          it('rejects with kind conflict when retries are spent or a host function was called, unless the host allows it', async () => {
            const { lua, store } = await runner()
            await lua.run('State.set("n", 1)', { scriptId: 's' })
            const none = await failure(lua.run('local n = State.get("n") require("m") State.set("n", n + 1)', { scriptId: 's', retries: 0, modules: meddling(lua, 'State.set("n", 5)') }))
            expect(none).toBeInstanceOf(LuaError)
            expect(none.kind).toBe('conflict')
            expect(none.message).toMatch(/^s: State: key 'n'.* changed.* \(after 1 attempts\)$/)
            expect(await stored(lua, 's', 'n')).toBe(5)
            let calls = 0
            const bump = () => (++calls === 1 ? lua.run('State.set("n", 7)', { scriptId: 's' }) : undefined)
            const code = 'local n = State.get("n") bump() State.set("n", n + 1) return n'
            const seen = await failure(lua.run(code, { scriptId: 's', globals: { bump } }))
            expect(seen.kind).toBe('conflict')
            expect(seen.message).toMatch(/it called a host function, so it was not run again/)
            expect(await stored(lua, 's', 'n')).toBe(7)
            calls = 0
            const repeatable = createRunner({ state: { store }, retryHostCalls: true })
            expect((await repeatable.run(code, { scriptId: 's', globals: { bump } })).values).toEqual([7])
            expect(calls).toBe(2)
            expect(await stored(lua, 's', 'n')).toBe(8)
          })

          it('runs every attempt within the call\'s one time limit', async () => {
            const { lua } = await runner()
            await lua.run('State.set("n", 1)', { scriptId: 's' })
            // Every attempt conflicts: the resolver commits a change under each.
            let n = 1
            const modules = () => lua.run('State.set("n", ...)', { scriptId: 's', arguments: [++n] }).then(() => 'return 1')
            const started = Date.now()
            const error = await failure(lua.run('local n = State.get("n") require("m") State.set("n", n + 1)', { scriptId: 's', modules, retries: 1_000_000, timeLimit: 300 }))
            // (The attempt running at the deadline may end with it instead.)
            expect(['conflict', 'timeout']).toContain(error.kind)
            if (error.kind === 'conflict') expect(error.message).toMatch(/at the end of its time limit\)$/)
            expect(Date.now() - started).toBeLessThan(30_000)
          })

          it('counts a failed call that read a changed state as a conflict, and runs it again', async () => {
            const { lua } = await runner()
            await lua.run('State.set("a", 50) State.set("b", 50)', { scriptId: 's' })
            // Between its reads of a and b another call moves 10 from a to b: the first
            // attempt sees a sum of 110, which no commit made, and fails on it.
            let times = 0
            const modules = () => (++times === 1 ? lua.run('State.set("a", State.get("a") - 10) State.set("b", State.get("b") + 10)', { scriptId: 's' }).then(() => 'return 1') : 'return 1')
            const { values } = await lua.run('local a = State.get("a") require("m") local b = State.get("b") assert(a + b == 100, "sum " .. (a + b)) return a, b', { scriptId: 's', modules })
            expect(values).toEqual([40, 60])
            expect(lua.stats.retries).toBe(1)
          })

          it('asks the store nothing for a call that reads and writes nothing, and no check for one read', async () => {
            const { lua, store } = await runner()
            await lua.run('State.set("k", 1)', { scriptId: 's' })
            const asked = []
            const spy = new Proxy(store, {
              get(target, name) {
                const value = Reflect.get(target, name, target)
                return typeof value === 'function' ? (...args) => (asked.push(name), value.apply(target, args)) : value
              },
            })
            const quiet = createRunner({ state: { store: spy } })
            await quiet.run('return 1 + 1', { scriptId: 's' })
            expect(asked).toEqual([])
            // (A store that groups a call's reads is told first that a call reads.)
            const starts = store.callStarts ? ['callStarts'] : []
            await quiet.run('return State.get("k"), State.get("k")', { scriptId: 's' })
            expect(asked).toEqual([...starts, 'readVersion'])
            asked.length = 0
            await quiet.run('return State.get("k"), State.get("other")', { scriptId: 's' })
            // (A store with a read cache has k from the call before: it reads only the other,
            // and checks the cached one at the end.)
            expect(asked).toEqual(store.readCache ? [...starts, 'readVersion', 'commit'] : [...starts, 'readVersion', 'readVersion', 'commit'])
          })

          it('holds scopes to quotas: a catchable error at the set, a quota LuaError at the commit', async () => {
            const namespaces = { 'global.board': { shared: true, read: true, write: true, delete: true, quota: { keys: 2 } } }
            const { lua, store } = await runner(namespaces, { state: { quota: { bytes: 64 } } })
            const { values } = await lua.run(`
              State.set("a", string.rep("x", 30))
              local ok, err = pcall(State.set, "b", string.rep("y", 40))
              State.set("a", string.rep("x", 20)) -- smaller: fine
              State.set("global.board.1", 1) State.set("global.board.2", 2)
              local ok2, err2 = pcall(State.set, "global.board.3", 3)
              State.delete("global.board.1")
              State.set("global.board.3", 3)
              return err, err2`, { scriptId: 's' })
            expect(values[0]).toBe("s:3: State.set: the call's writes would take the keys of s to 76 bytes, past its quota of 64")
            expect(values[1]).toBe("s:6: State.set: the call's writes would take namespace 'global.board' to 3 keys, past its quota of 2")
            expect(await store.usage('s')).toEqual({ bytes: 23, keys: 1 })
            expect(await store.usage('', 'global.board')).toEqual({ bytes: 46, keys: 2 })
            // Two calls each within the quota as they saw it: the second to commit passes it.
            let release
            const gate = new Promise((resolve) => (release = resolve))
            const first = lua.run('State.set("c", string.rep("z", 30)) wait()', { scriptId: 's', globals: { wait: () => gate } })
            await tick(20)
            await lua.run('State.set("d", string.rep("w", 30))', { scriptId: 's' })
            release()
            const error = await failure(first)
            expect(error).toBeInstanceOf(LuaError)
            expect(error.kind).toBe('quota')
            expect(error.message).toMatch(/^s: State: the call's writes would .*quota/)
            expect(await stored(lua, 's', 'c')).toBe(null)
            expect(await store.usage('s')).toEqual({ bytes: 56, keys: 2 })
          })
        })
      }

      it('keeps limits while a script uses State, even caught with pcall', async () => {
        const { lua } = await runner()
        await lua.run('State.set("big", string.rep("x", 1 << 20))', { scriptId: 's' })
        const slow = await failure(lua.run('while true do pcall(State.get, "k") pcall(State.set, "k", 1) end', { scriptId: 's', timeLimit: 150 }))
        expect(slow.kind).toBe('timeout')
        const big = await failure(lua.run('local t = {} for i = 1, 100 do t[i] = State.get("big") .. i end', { scriptId: 's', memoryLimit: 8 << 20 }))
        expect(big.kind).toBe('memory')
        expect(await stored(lua, 's', 'k')).toBe(null)
        // A call's buffered writes are held to its memory limit (they wait outside its state).
        const flood = await lua.run(
          'local ok, err = pcall(function() for i = 1, 100 do State.set("flood" .. i, string.rep("z", 1 << 20)) end end) State.set("flood1", "small") return err',
          { scriptId: 's', memoryLimit: 8 << 20 })
        expect(flood.values[0]).toBe("s:1: State.set: the call's writes would pass its memory limit (8388608 bytes)")
        expect(await stored(lua, 's', 'flood1')).toBe('small')
        // A list bigger than the state could hold is a memory error, made no bigger first.
        await lua.run('for i = 1, 12 do State.set("many" .. i, string.rep("y", 1 << 20)) end', { scriptId: 's' })
        const many = await failure(lua.run('local n = 0 for k in pairs(State.list("many")) do n = n + 1 end return n', { scriptId: 's', memoryLimit: 2 << 20 }))
        expect(many.kind).toBe('memory')
        expect((await lua.run('local n = 0 for k in pairs(State.list("many")) do n = n + 1 end return n', { scriptId: 's' })).values).toEqual([12])
      })

      it('works in invoked module functions (keys of the call\'s scriptId)', async () => {
        const { lua } = await runner()
        const modules = { 'Module:Counter': 'return { hit = function(by) State.set("hits", (State.get("hits") or 0) + by) return State.get("hits") end }' }
        expect((await lua.invoke('Module:Counter', 'hit', [2], { scriptId: 'Page', modules })).values).toEqual([2])
        expect((await lua.invoke('Module:Counter', 'hit', [3], { scriptId: 'Page', modules })).values).toEqual([5])
        expect(await stored(lua, 'Page', 'hits')).toBe(5)
      })
    })
  }

  describe('a store that fails', () => {
    const failing = (override) => ({ ...asyncCustomStore(), ...override })

    it('makes a failed read a catchable Lua error, and a failed commit a rejected call', async () => {
      const lua = createRunner({ state: { store: failing({ read: async () => { throw new Error('db down') } }) } })
      const { values } = await lua.run('return pcall(State.get, "k")', { scriptId: 's' })
      expect(values).toEqual([false, 's:1: db down'])
      const broken = failing({ commit: async () => { throw new Error('disk full') } })
      const error = await failure(createRunner({ state: { store: broken } }).run('State.set("k", 1) print("done")', { scriptId: 's' }))
      expect(error).not.toBeInstanceOf(LuaError)
      expect(error.message).toBe('pubwiki-lua: the state written by s could not be saved: disk full')
      expect(error.cause.message).toBe('disk full')
    })

    it('turns what is not bytes into a Lua error, and bytes that are no value into one', async () => {
      const wrong = createRunner({ state: { store: failing({ read: () => 'text' }) } })
      expect((await wrong.run('return pcall(State.get, "k")', { scriptId: 's' })).values[1]).toMatch(/the state store gave string/)
      const garbage = createRunner({ state: { store: failing({ read: () => Uint8Array.of(5, 200) }) } })
      const error = await failure(garbage.run('return State.get("k")', { scriptId: 's' }))
      expect(error).toBeInstanceOf(LuaError)
      expect((await run('return "next"', { scriptId: 's' })).values).toEqual(['next'])
    })
  })

  describe('State in a worker runner', () => {
    it('answers from the calling thread\'s store, and commits on success only', async () => {
      const store = new MemoryStore()
      const workers = createWorkerRunner({ workers: 1, state: { store } })
      try {
        await workers.run('State.set("n", (State.get("n") or 0) + 1)', { scriptId: 's' })
        await workers.run('State.set("n", (State.get("n") or 0) + 1)', { scriptId: 's' })
        await failure(workers.run('State.set("n", 100) error("no")', { scriptId: 's' }))
        expect(store.get('s', 'n')).toBe(2)
        expect(workers.stateStore).toBe(store)
      } finally {
        workers.terminate()
      }
    })

    it('runs a call again after a conflict, the store staying on the calling thread', async () => {
      const store = new MemoryStore()
      const workers = createWorkerRunner({ workers: 2, state: { store }, retries: 1000 })
      try {
        await Promise.all(Array.from({ length: 30 }, () => workers.run('State.set("n", (State.get("n") or 0) + 1)', { scriptId: 's' })))
        expect(store.get('s', 'n')).toBe(30)
        // A conflict made for sure: the module resolver commits under the first attempt.
        let times = 0
        const modules = () => (++times === 1 ? (store.set('s', 'n', 100), 'return 1') : 'return 1')
        const before = workers.stats.retries
        const { values } = await workers.run('local n = State.get("n") require("m") State.set("n", n + 1) return n', { scriptId: 's', modules })
        expect(values).toEqual([100])
        expect(store.get('s', 'n')).toBe(101)
        expect(workers.stats.retries).toBe(before + 1)
      } finally {
        workers.terminate()
      }
    })
  })
}
