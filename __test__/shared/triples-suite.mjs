// `State` as RDF triples (the `triples` option) through the public API, wherever it runs:
// imported by __test__/triples.test.mjs (Node, once per backend) and by
// __test__/browser/triples.test.mjs (Chromium). `stores` is a list of { name, make() -> a
// fresh, empty store (or a promise of one), graphs: whether it has graphs (this package's
// stores), terms: whether it keeps RDF terms (getQuads), lossy: whether it gives objects
// back as it guesses them from their text (the other library's example store: '1984'
// comes back as 1984), so that only what its README shows is checked on it; values:
// whether it keeps JS values (an RDFStore of the host's: 3.0 is 3 there) }.
import { describe, expect, it } from 'vitest'

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A host's own store of the other library's `RDFStore` interface, every method async (as a
 * networked database's), with batchInsert, batchDelete and transaction: triples in an
 * array, a transaction applying its writes only if its callback succeeds. `log` records the
 * calls.
 */
export function asyncRdfStore({ transaction = true } = {}) {
  let triples = []
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
  const matches = (t, { subject, predicate, object }) =>
    (subject == null || t.subject === subject) && (predicate == null || t.predicate === predicate) && (object == null || same(t.object, object))
  const store = {
    log: [],
    async insert(subject, predicate, object) {
      await tick()
      store.log.push('insert')
      if (!triples.some((t) => matches(t, { subject, predicate, object }))) triples.push({ subject, predicate, object })
    },
    async delete(subject, predicate, object) {
      await tick()
      store.log.push('delete')
      triples = triples.filter((t) => !matches(t, { subject, predicate, object }))
    },
    async query(pattern) {
      await tick()
      store.log.push('query')
      return triples.filter((t) => matches(t, pattern)).map((t) => ({ ...t }))
    },
    async batchInsert(list) {
      store.log.push('batchInsert')
      for (const { subject, predicate, object } of list) {
        if (!triples.some((t) => matches(t, { subject, predicate, object }))) triples.push({ subject, predicate, object })
      }
    },
    async batchDelete(patterns) {
      store.log.push('batchDelete')
      triples = triples.filter((t) => !patterns.some((p) => matches(t, p)))
    },
    all: () => triples,
  }
  if (transaction) {
    store.transaction = async (callback) => {
      store.log.push('transaction')
      const before = triples
      triples = [...triples]
      try {
        return await callback()
      } catch (error) {
        triples = before
        throw error
      }
    }
  }
  return store
}

// The other library's README and example programs, unchanged.
const QUICK_START = `
  -- Insert RDF triples
  State.insert('user:alice', 'name', 'Alice')
  State.insert('user:alice', 'age', 30)
  State.insert('user:alice', 'city', 'Tokyo')
  
  -- Query triples
  local user_data = State.query({subject = 'user:alice'})
  
  print('Alice has ' .. #user_data .. ' properties')
  for i, triple in ipairs(user_data) do
    print(triple.predicate .. ': ' .. tostring(triple.object))
  end
  
  return 'Done'
`

const BOOK = `
State.insert('book:1984', 'title', '1984')
State.insert('book:1984', 'author', 'George Orwell')
State.insert('book:1984', 'year', 1949)
State.insert('book:1984', 'genre', 'dystopian')
`

const BOOK_DELETES = `
-- Delete a specific triple
State.delete('book:1984', 'year', 1949)

-- Delete all triples with subject + predicate
State.delete('book:1984', 'genre')
`

const PRODUCTS = `
local products = {
  {subject = 'product:p1', predicate = 'name', object = 'Laptop'},
  {subject = 'product:p1', predicate = 'price', object = 999},
  {subject = 'product:p2', predicate = 'name', object = 'Mouse'},
  {subject = 'product:p2', predicate = 'price', object = 29},
}

State.batchInsert(products)
`

const DYSTOPIAN = `
-- 1. 插入图书数据
local books = {
  {subject = 'book:1984', predicate = 'title', object = '1984'},
  {subject = 'book:1984', predicate = 'author', object = 'George Orwell'},
  {subject = 'book:1984', predicate = 'year', object = 1949},
  {subject = 'book:1984', predicate = 'genre', object = 'dystopian'},
  
  {subject = 'book:brave-new-world', predicate = 'title', object = 'Brave New World'},
  {subject = 'book:brave-new-world', predicate = 'author', object = 'Aldous Huxley'},
  {subject = 'book:brave-new-world', predicate = 'year', object = 1932},
  {subject = 'book:brave-new-world', predicate = 'genre', object = 'dystopian'},
}

State.batchInsert(books)
print("✅ 插入了图书数据")

-- 2. 查询所有书名
print("\\n所有书名:")
local titles = State.query({predicate = 'title'})
for i, t in ipairs(titles) do
  print(string.format("  - %s", t.object))
end

-- 3. 查询特定类型的书
print("\\n反乌托邦类型的书:")
local dystopian = State.query({predicate = 'genre', object = 'dystopian'})
print(string.format("找到 %d 本 dystopian 类型的书", #dystopian))
for i, t in ipairs(dystopian) do
  -- 查询这本书的标题
  local book_titles = State.query({subject = t.subject, predicate = 'title'})
  if #book_titles > 0 then
    print(string.format("  - %s", book_titles[1].object))
  end
end

-- 4. 查询某本书的完整信息
print("\\n《1984》的完整信息:")
local book_1984 = State.query({subject = 'book:1984'})
print(string.format("《1984》有 %d 个属性:", #book_1984))
for i, t in ipairs(book_1984) do
  print(string.format("  %s: %s", t.predicate, t.object))
end

return string.format("查询完成，总共 %d 本书", #titles)
`

const RESOURCES = `
-- This creates a NamedNode → Literal relationship
State.insert('resource://user:alice', 'name', 'Alice')

-- This creates a NamedNode → NamedNode relationship
State.insert('resource://post:1', 'author', 'resource://user:alice')
`

/** Runs the suite: `lua` is the package's API; see the file's comment for `stores`. */
export function triplesSuite(lua, stores) {
  describe("State as triples on a host's own RDFStore", () => {
    it('gives the rows the store answers as they are, even ones its pattern does not match', async () => {
      // A store that matches loosely (as a case-insensitive or aliasing one might): the rows
      // it gives are the script's, names included, not the pattern's.
      const loose = {
        insert() {},
        delete() {},
        query: ({ subject }) => [
          { subject, predicate: 'name', object: 'as asked' },
          { subject: subject.toUpperCase(), predicate: 'Name', object: 'as stored' },
        ],
      }
      const { values } = await lua.createRunner({ triples: loose }).run(
        `local out = {}
         for _, t in ipairs(State.query({ subject = 'user:a', predicate = 'name' })) do out[#out + 1] = t.subject .. ' ' .. t.predicate .. ' ' .. t.object end
         return table.concat(out, '; ')`,
        { scriptId: 'Module:Loose' },
      )
      expect(values).toEqual(['USER:A Name as stored; user:a name as asked'])
    })
  })

  describe.each(stores)('State as triples on $name', ({ make, graphs, terms, lossy, values }) => {
    const fresh = async (options = {}) => {
      const store = await make()
      return { store, lua: lua.createRunner({ triples: { store, ...options } }) }
    }
    // Every triple of the store as the host reads it, sorted (a host's own store has its own order).
    const norm = (triples) => triples.map(([s, p, o]) => [s, p, lossy ? String(o) : o]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
    const all = async (store) => norm((await store.query({})).map(({ subject, predicate, object }) => [subject, predicate, object]))
    const expectAll = async (store, expected) => expect(await all(store)).toEqual(norm(expected))

    it("runs the other library's quick start", async () => {
      const { lua: runner } = await fresh()
      const { output, values } = await runner.run(QUICK_START, { scriptId: 'Module:Quick' })
      expect(values).toEqual(['Done'])
      // Sorted by predicate: age, city, name.
      expect(output).toBe('Alice has 3 properties\nage: 30\ncity: Tokyo\nname: Alice\n')
    })

    it("runs the README's book example: insert, then delete one object and every object", async () => {
      const { store, lua: runner } = await fresh()
      await runner.run(BOOK, { scriptId: 'Module:Books' })
      await expectAll(store, [
        ['book:1984', 'author', 'George Orwell'],
        ['book:1984', 'genre', 'dystopian'],
        ['book:1984', 'title', '1984'],
        ['book:1984', 'year', 1949],
      ])
      const { output } = await runner.run(`${BOOK_DELETES}
        for _, t in ipairs(State.query({subject = 'book:1984'})) do print(t.predicate, t.object) end`, { scriptId: 'Module:Books' })
      expect(output).toBe('author\tGeorge Orwell\ntitle\t1984\n')
      await expectAll(store, [['book:1984', 'author', 'George Orwell'], ['book:1984', 'title', '1984']])
    })

    it("runs the README's products batch", async () => {
      const { store, lua: runner } = await fresh()
      const { output } = await runner.run(`${PRODUCTS}
        for _, t in ipairs(State.query({predicate = 'name'})) do print(t.subject, t.object) end
        print(math.type(State.get('product:p1', 'price')))`, { scriptId: 'Module:Shop' })
      expect(output).toBe('product:p1\tLaptop\nproduct:p2\tMouse\ninteger\n')
      expect((await all(store)).length).toBe(4)
    })

    it("runs the example's dystopian query", async () => {
      const { lua: runner } = await fresh()
      const { output, values } = await runner.run(DYSTOPIAN, { scriptId: 'Module:Books' })
      expect(output).toContain('找到 2 本 dystopian 类型的书\n  - 1984\n  - Brave New World\n')
      expect(output).toContain('《1984》有 4 个属性:\n  author: George Orwell\n  genre: dystopian\n  title: 1984\n  year: 1949\n')
      expect(values).toEqual(['查询完成，总共 2 本书'])
    })

    // (The example's Quadstore store cannot answer a query by object alone: Quadstore's
    // default indexes have none for (object, graph), and it puts every triple in a graph.)
    it.skipIf(lossy)('keeps resource:// strings as named nodes, in any position', async () => {
      const { store, lua: runner } = await fresh()
      const { values } = await runner.run(`${RESOURCES}
        local posts = State.query({object = 'resource://user:alice'})
        return #posts, posts[1].subject, State.get(posts[1].object, 'name')`, { scriptId: 'Module:Blog' })
      expect(values).toEqual([1, 'resource://post:1', 'Alice'])
      if (terms) {
        const [link] = await store.getQuads(null, lua.dataFactory.namedNode('author'), null, null)
        expect(link.object.termType).toBe('NamedNode')
        expect(link.object.value).toBe('resource://user:alice')
        const [name] = await store.getQuads(lua.dataFactory.namedNode('resource://user:alice'), null, null, null)
        expect(name.object.termType).toBe('Literal')
      }
    })

    it('set replaces every object of the pair; get gives the first in order, or nil', async () => {
      const { store, lua: runner } = await fresh()
      const { values } = await runner.run(`
        State.insert('player:1', 'item', 'sword')
        State.insert('player:1', 'item', 'axe')
        local first = State.get('player:1', 'item')
        State.set('player:1', 'hp', 100)
        State.set('player:1', 'hp', 90)
        State.set('player:1', 'item', 'bow')
        return first, State.get('player:1', 'hp'), #State.query({subject = 'player:1', predicate = 'hp'}), State.get('player:1', 'item'), State.get('player:1', 'mana')`, { scriptId: 'Module:Game' })
      expect(values).toEqual(['axe', 90, 1, 'bow', null])
      await expectAll(store, [['player:1', 'hp', 90], ['player:1', 'item', 'bow']])
      const again = await runner.run("return State.get('player:1', 'hp'), State.get('player:1', 'item')", { scriptId: 'Module:Game' })
      expect(again.values).toEqual([90, 'bow'])
    })

    it.skipIf(lossy || values)('keeps integers and floats apart, booleans, and tables as JSON with sorted keys', async () => {
      const { store, lua: runner } = await fresh()
      await runner.run(`
        State.insert('v', 'int', 3)
        State.insert('v', 'float', 3.0)
        State.insert('v', 'big', 1e300)
        State.insert('v', 'yes', true)
        State.insert('v', 'no', false)
        State.insert('v', 'table', { b = 1, a = { 1, 2.5, 'x' }, c = { d = true } })
        State.insert('v', 'table', { c = { d = true }, a = { 1, 2.5, 'x' }, b = 1 })
        State.insert('v', 'empty', {})`, { scriptId: 'Module:Types' })
      const { values } = await runner.run(`
        local function t(p) local v = State.get('v', p) return math.type(v) or type(v) end
        local tbl = State.get('v', 'table')
        return t('int'), t('float'), State.get('v', 'float'), t('big'), State.get('v', 'yes'), State.get('v', 'no'),
          #State.query({subject = 'v', predicate = 'table'}), tbl.a[2], math.type(tbl.a[1]), math.type(tbl.a[2]), tbl.c.d,
          #State.query({object = 3}), #State.query({object = 3.0}), #State.query({object = { a = { 1, 2.5, 'x' }, c = { d = true }, b = 1 }}), next(State.get('v', 'empty'))`, { scriptId: 'Module:Types' })
      expect(values).toEqual(['integer', 'float', 3, 'float', true, false, 1, 2.5, 'integer', 'float', true, 1, 1, 1, null])
      const table = (await store.query({ subject: 'v', predicate: 'table' }))[0].object
      expect(table).toEqual({ a: [1, 2.5, 'x'], b: 1, c: { d: true } })
    })

    it.skipIf(lossy)('orders results by subject, predicate, then object: named nodes, strings, numbers by value, booleans, tables', async () => {
      const { lua: runner } = await fresh()
      const { output } = await runner.run(`
        State.batchInsert({
          { subject = 's', predicate = 'p', object = { 1 } },
          { subject = 's', predicate = 'p', object = true },
          { subject = 's', predicate = 'p', object = 10 },
          { subject = 's', predicate = 'p', object = 9.5 },
          { subject = 's', predicate = 'p', object = -2 },
          { subject = 's', predicate = 'p', object = 'b' },
          { subject = 's', predicate = 'p', object = 'a' },
          { subject = 's', predicate = 'p', object = 'resource://z' },
          { subject = 'r', predicate = 'p', object = 'first' },
          { subject = 's', predicate = 'o', object = 'before p' },
          { subject = 'é', predicate = 'p', object = 'after s' },
        })
        for _, t in ipairs(State.query({})) do print(t.subject, t.predicate, type(t.object) == 'table' and '{1}' or t.object) end
        print(State.get('s', 'p'))`, { scriptId: 'Module:Order' })
      const expected = 'r\tp\tfirst\ns\to\tbefore p\ns\tp\tresource://z\ns\tp\ta\ns\tp\tb\ns\tp\t-2\ns\tp\t9.5\ns\tp\t10\ns\tp\ttrue\ns\tp\t{1}\né\tp\tafter s\nresource://z\n'
      expect(output).toBe(expected)
      // The same order from the store, in a later call.
      const later = await runner.run("for _, t in ipairs(State.query({})) do print(t.subject, t.predicate, type(t.object) == 'table' and '{1}' or t.object) end print(State.get('s', 'p'))", { scriptId: 'Module:Order' })
      expect(later.output).toBe(expected)
    })

    it("is atomic per call: a call's own queries see its writes, a failed call writes nothing", async () => {
      const { store, lua: runner } = await fresh()
      await runner.run("State.insert('a', 'n', 1) State.insert('a', 'm', 1)", { scriptId: 'Module:A' })
      const failed = runner.run(`
        State.delete('a', 'n')
        State.insert('a', 'n', 2)
        State.insert('b', 'n', 3)
        State.batchInsert({ { subject = 'c', predicate = 'n', object = 4 } })
        State.delete('a', 'm', 1)
        print(#State.query({ predicate = 'n' }), State.get('a', 'n'), State.get('a', 'm'))
        error('no')`, { scriptId: 'Module:A' })
      await expect(failed).rejects.toMatchObject({ kind: 'runtime', output: '3\t2\tnil\n' })
      await expectAll(store, [['a', 'm', 1], ['a', 'n', 1]])
      // A limit too.
      await expect(runner.run("State.insert('z', 'z', 1) while true do end", { scriptId: 'Module:A', timeLimit: 50 })).rejects.toMatchObject({ kind: 'timeout' })
      await expectAll(store, [['a', 'm', 1], ['a', 'n', 1]])
      // A delete then an insert of the same triple keeps it; an insert then a delete drops it.
      await runner.run("State.delete('a', 'n', 1) State.insert('a', 'n', 1) State.insert('q', 'q', 1) State.delete('q', 'q')", { scriptId: 'Module:A' })
      await expectAll(store, [['a', 'm', 1], ['a', 'n', 1]])
    })

    it('gives 100 calls in flight only committed triples and their own', async () => {
      const { store, lua: runner } = await fresh()
      await runner.run("State.insert('shared', 'seed', 0)", { scriptId: 'Module:Seed' })
      // Odd calls fail at their end: their triples must never be seen. Each call waits for
      // its host between its writes and its queries, so that the calls interleave.
      const calls = Array.from({ length: 100 }, (_, i) => runner.run(`
        local i = ...
        State.insert('call:' .. i, 'n', i)
        State.batchInsert({ { subject = 'call:' .. i, predicate = 'm', object = i } })
        pause()
        local mine = State.query({ subject = 'call:' .. i })
        local seen = State.query({ predicate = 'n' })
        for _, t in ipairs(seen) do
          assert(t.subject == 'call:' .. i or t.object % 2 == 0, 'saw the uncommitted ' .. t.subject)
        end
        pause()
        assert(#State.query({ predicate = 'm', object = i }) == 1)
        if i % 2 == 1 then error('failed on purpose') end
        return #mine, State.get('shared', 'seed'), #seen`, { scriptId: `Module:C${i}`, arguments: [i], globals: { pause: () => tick(Math.random() * 3) } }))
      const results = await Promise.allSettled(calls)
      results.forEach((result, i) => {
        if (i % 2 === 1) {
          expect(result.reason?.message).toMatch(/failed on purpose/)
          return
        }
        expect(result.status).toBe('fulfilled')
        const { values } = result.value
        expect(values[0]).toBe(2)
        expect(values[1]).toBe(0)
        expect(values[2]).toBeGreaterThanOrEqual(1)
      })
      const committed = await store.query({ predicate: 'n' })
      expect(committed.map((t) => t.object).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i))
    })

    it('refuses what is not a triple with catchable errors naming the argument', async () => {
      const { store, lua: runner } = await fresh()
      const { values } = await runner.run(`
        local function e(f, ...) local ok, err = pcall(f, ...) return (tostring(err):gsub('^.-:%d+: ', '')) end
        local cycle = {} cycle.self = cycle
        return
          e(State.insert, 1, 'p', 'o'),
          e(State.insert, 's', nil, 'o'),
          e(State.insert, 's', 'p'),
          e(State.insert, 's', 'p', print),
          e(State.insert, 's', 'p', 0/0),
          e(State.insert, 's', 'p', cycle),
          e(State.insert, 's', 'p', { [true] = 1 }),
          e(State.insert, 's', 'p', 'bad \\255 utf8'),
          e(State.insert, '', 'p', 1),
          e(State.insert, string.rep('s', 5000), 'p', 1),
          e(State.query, 'subject'),
          e(State.query, { subject = 42 }),
          e(State.batchInsert, { { subject = 's', predicate = 'p', object = 1 }, 'x' }),
          e(State.batchInsert, { { subject = 's', predicate = 'p' } }),
          e(State.delete, 's', 'p', coroutine.create(print)),
          e(State.get, 's')`, { scriptId: 'Module:Bad' })
      expect(values).toEqual([
        "bad argument #1 to 'State.insert' (a subject is a non-empty UTF-8 string of at most 4096 bytes, got number)",
        "bad argument #2 to 'State.insert' (a predicate is a non-empty UTF-8 string of at most 4096 bytes, got nil)",
        "bad argument #3 to 'State.insert' (object cannot be stored: nil)",
        "bad argument #3 to 'State.insert' (object cannot be stored: a function)",
        "bad argument #3 to 'State.insert' (object cannot be stored: a number that is not finite (NaN or an infinity))",
        "bad argument #3 to 'State.insert' (object cannot be stored: a table that contains itself)",
        "bad argument #3 to 'State.insert' (object cannot be stored: a table whose keys are neither all strings nor exactly 1..n)",
        "bad argument #3 to 'State.insert' (object cannot be stored: a string that is not UTF-8)",
        "bad argument #1 to 'State.insert' (a subject is a non-empty UTF-8 string of at most 4096 bytes, got string)",
        "bad argument #1 to 'State.insert' (a subject is a non-empty UTF-8 string of at most 4096 bytes, got string)",
        "bad argument #1 to 'State.query' (a pattern is a table { subject = ..., predicate = ..., object = ... }, got string)",
        "bad argument #1 to 'State.query' (pattern.subject is nil or a non-empty UTF-8 string of at most 4096 bytes, got number)",
        "bad argument #1 to 'State.batchInsert' (triple #2: cannot be stored: not a table { subject = ..., predicate = ..., object = ... })",
        "bad argument #1 to 'State.batchInsert' (triple #1: its object cannot be stored: nil)",
        "bad argument #3 to 'State.delete' (object cannot be stored: a coroutine)",
        "bad argument #2 to 'State.get' (a predicate is a non-empty UTF-8 string of at most 4096 bytes, got no value)",
      ])
      await expectAll(store, [])
    })

    it('reads tables raw: metamethods of the script never run', async () => {
      const { lua: runner } = await fresh()
      const { values } = await runner.run(`
        local trap = setmetatable({}, { __index = function() error('trapped') end, __pairs = function() error('trapped') end, __len = function() error('trapped') end })
        State.query(trap)
        State.batchInsert(trap)
        local object = setmetatable({ x = 1 }, { __index = function() error('trapped') end })
        State.insert('s', 'p', object)
        State.query(setmetatable({ subject = 's' }, { __index = function() error('trapped') end }))
        return State.get('s', 'p').x`, { scriptId: 'Module:Traps' })
      expect(values).toEqual([1])
    })

    it('bounds what a call writes (maxWrites) and what a query gives (the memory limit)', async () => {
      const { store, lua: runner } = await fresh({ maxWrites: 10 })
      const { values } = await runner.run(`
        for i = 1, 9 do State.insert('s', 'p', i) end
        -- A batch or a set that would pass the bound writes none of itself.
        local batch = pcall(State.batchInsert, { { subject = 'b', predicate = 'p', object = 1 }, { subject = 'b', predicate = 'p', object = 2 } })
        State.insert('s', 'p', 10)
        local set = pcall(State.set, 's', 'p', 0)
        local ok, err = pcall(State.insert, 's', 'p', 11)
        return batch, set, #State.query({ subject = 's' }), #State.query({ subject = 'b' }), ok, (err:gsub('^.-:%d+: ', ''))`, { scriptId: 'Module:Many' })
      expect(values).toEqual([false, false, 10, 0, false, 'State.insert: a call may write at most 10 triples (inserted or deleted)'])
      expect((await all(store)).length).toBe(10)
      const big = lua.createRunner({ triples: store })
      await big.run("for i = 1, 40 do State.insert('big', 'p', string.rep('x', 100000) .. i) end", { scriptId: 'Module:Big' })
      await expect(big.run("return #State.query({ subject = 'big' })", { scriptId: 'Module:Big', memoryLimit: 2 << 20 })).rejects.toMatchObject({ kind: 'memory' })
      expect((await big.run("return #State.query({ subject = 'big' })", { scriptId: 'Module:Big', memoryLimit: 32 << 20 })).values).toEqual([40])
    })

    it('keeps a call\'s many inserts exact: in order with its deletes, read back, refused at their own line', async () => {
      // The core sends inserts in batches where the bounds certainly take them
      // (crates/core/src/triple_writes.rs): nothing of that may show.
      const { store, lua: runner } = await fresh({ maxWrites: 2000 })
      const { values } = await runner.run(`
        for i = 1, 1000 do State.insert('n', 'p', i) end
        State.delete('n', 'p', 500)
        for i = 1, 3 do State.insert('n', 'p', 500) State.delete('n', 'p', 500) end
        State.insert('u', 'p', 'ünïcödé ' .. string.rep('é', 100))
        local seen = #State.query({ subject = 'n' })
        for i = 1001, 1500 do State.insert('n', 'p', i) end
        local last, err
        for i = 1, 1000 do
          local ok, why = pcall(State.insert, 'm', 'p', i)
          if not ok then last, err = i, why break end
        end
        return seen, last, err`, { scriptId: 'Module:Exact' })
      // 1,508 writes before the loop, so its 493rd insert is the 2,001st write.
      expect(values).toEqual([999, 493, 'Module:Exact:10: State.insert: a call may write at most 2000 triples (inserted or deleted)'])
      const stored = await all(store)
      expect(stored.length).toBe(1499 + 1 + 492)
      expect(stored.some(([s, , o]) => s === 'n' && String(o) === '500')).toBe(false)

      // The memory limit bounds the bytes of a call's writes as JS counts them (UTF-16):
      // the insert refused is the one the session refuses, in ASCII or not.
      const memoryLimit = 1 << 20
      for (const [char, n] of [['x', 10000], ['é', 5000]]) {
        const size = (i) => 2 * ('big'.length + 'p'.length + n + String(i).length) + 64
        let refused = 1
        for (let total = size(1); total <= memoryLimit; total += size(++refused));
        const { values: [at, message] } = await runner.run(`
          for i = 1, 1000 do
            local ok, err = pcall(State.insert, 'big', 'p', string.rep('${char}', ${n}) .. i)
            if not ok then return i, err end
          end`, { scriptId: 'Module:Big', memoryLimit })
        expect([at, message]).toEqual([refused, `Module:Big:3: State.insert: the call's writes would pass its memory limit (${memoryLimit} bytes)`])
      }
    })

    it('refuses state and triples together, and options of the wrong shape', async () => {
      const store = await make()
      expect(() => lua.createRunner({ triples: store, state: true })).toThrow(TypeError)
      await expect(lua.createRunner({ state: true }).run('return 1', { scriptId: 'x', triples: store })).rejects.toThrow(TypeError)
      expect(() => lua.createRunner({ triples: 42 })).toThrow(/triples must be a triple store/)
      expect(() => lua.createRunner({ triples: { store, nope: 1 } })).toThrow(/triples.nope is not an option/)
      // Per call, like state.
      const { values } = await lua.run("State.insert('s', 'p', 1) return State.get('s', 'p')", { scriptId: 'x', triples: store })
      expect(values).toEqual([1])
    })

    it.runIf(graphs)('isolates scripts in graphs of their own when the host says so', async () => {
      const store = await make()
      const isolated = lua.createRunner({
        triples: { store, graphs: (scriptId) => ({ write: `urn:script:${scriptId}`, read: [`urn:script:${scriptId}`, ''] }) },
      })
      const shared = lua.createRunner({ triples: store })
      await shared.run("State.insert('world', 'name', 'Earth')", { scriptId: 'Module:Host' })
      await isolated.run("State.insert('me', 'secret', 'a')", { scriptId: 'Module:A' })
      await isolated.run("State.insert('me', 'secret', 'b') State.delete('world', 'name')", { scriptId: 'Module:B' })
      const a = await isolated.run("local me = State.query({ subject = 'me' }) return #me, me[1].object, State.get('world', 'name')", { scriptId: 'Module:A' })
      expect(a.values).toEqual([1, 'a', 'Earth'])
      const host = await shared.run("return #State.query({ subject = 'me' }), State.get('world', 'name')", { scriptId: 'Module:Host' })
      expect(host.values).toEqual([0, 'Earth'])
      expect((await store.query({ subject: 'me' }, 'urn:script:Module:B')).map((t) => t.object)).toEqual(['b'])
    })
  })
}
