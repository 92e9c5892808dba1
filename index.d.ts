/** Per-call limits. A script cannot raise them; exceeding one ends the call with a LuaError. */
export interface Limits {
  /** Bytes the Lua state may allocate, its standard libraries included. Default 52428800 (50 MiB). */
  memoryLimit?: number
  /** Milliseconds the call may run. Default 7000. */
  timeLimit?: number
  /** Bytes of output (`print`, `io.write`) the call may produce. Default 8388608 (8 MiB). */
  outputLimit?: number
}

/**
 * A JS value a script can receive (globals, host function results): null/undefined -> nil,
 * booleans, numbers (integer-valued within int64 -> integers, others -> floats), bigints
 * within int64 -> integers, strings, Uint8Array/ArrayBuffer -> byte strings, arrays ->
 * sequences, plain objects and Maps -> tables, functions -> host functions.
 */
export type LuaInput =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ArrayBuffer
  | HostFunction
  | LuaInput[]
  | Map<string | number | boolean | bigint, LuaInput>
  | { [key: string]: LuaInput }

/**
 * A JS function a script can call. It gets the call's arguments converted as return values
 * are (`LuaValue`); what it returns (or the promise it returns resolves to) goes back to the
 * script; what it throws (or rejects with) is a Lua error at the call site.
 */
export type HostFunction = (...args: LuaValue[]) => LuaInput | void | PromiseLike<LuaInput | void>

/** Globals for a call: copied into its fresh state (data) or callable from it (functions). */
export type Globals = { [name: string]: LuaInput }

/** What `globals` as a function learns about the call it makes globals for. */
export interface CallContext {
  scriptId: string
}

/**
 * Module sources for `require`: a map of name -> Lua source text, or a resolver giving a
 * module's source (undefined: no such module), sync or async (async needs `run`/`runLua`).
 */
export type Modules =
  | { [name: string]: string }
  | ((name: string, context: CallContext) => string | undefined | null | PromiseLike<string | undefined | null>)

export interface CallOptions extends Limits {
  /** Globals for the script, or a function returning them, called once per call. */
  globals?: Globals | ((context: CallContext) => Globals | undefined)
  /** Where `require` finds modules (a runner's are asked after a call's own). */
  modules?: Modules
  /**
   * Gives the script `State` (persistent keys): `true` for the runner's MemoryStore, or a
   * store and namespaces (a call's own override its runner's).
   */
  state?: true | StateOptions
  /**
   * Gives the script `State` as RDF triples (`State.insert`, `delete`, `query`,
   * `batchInsert`, `set`, `get`): a triple store, or `{ store, graphs, maxWrites }` (a
   * call's own fields override its runner's). Not with `state` (a TypeError).
   */
  triples?: TripleBackend | TriplesOptions
  /**
   * How many times a call whose State commit conflicted (another commit changed what it
   * read) is run again, when nobody could have seen it run (it called no host function,
   * unless the runner's `retryHostCalls`). Default 3. Past that it rejects with a LuaError
   * of kind 'conflict'.
   */
  retries?: number
}

/** The options of `createRunner`: every call's defaults, and what only a runner sets. */
export interface RunnerOptions extends CallOptions {
  /**
   * Runs a call again after a conflict even if it called host functions (for hosts whose
   * functions are safe to repeat). Default false.
   */
  retryHostCalls?: boolean
  /**
   * Modules (names in `modules`) run, in order, into the image every call of the runner
   * starts from: `require` of them costs nothing, and what a call changes in them is gone
   * at the next call. They must be pure while they load (no host function, no `State`, no
   * `require` outside this list). See README, Modules.
   */
  preload?: string[]
  /**
   * Scribunto's `mw` library in every call (in the runner's image): `true`, or what the
   * host gives it. Results and LuaErrors of such a runner have `log` (what `mw.log` wrote).
   */
  mw?: true | MwOptions
}

/** What a wiki's host gives Scribunto's `mw` (every field optional). */
export interface MwOptions {
  /** The page being rendered (`mw.title.getCurrentTitle()`); `invoke`'s frame may set it per call. */
  title?: string
  /** `mw.site` and URLs: siteName, server, canonicalServer, articlePath ('/wiki/$1'), scriptPath ('/w'),
   * namespaces ({ [id]: name | { name, canonicalName, aliases, isContent, hasSubpages, isCapitalized } }),
   * messages ({ 'comma-separator', 'and', 'ellipsis' }), stats, currentVersion, fragmentMode
   * ('html5', the default, or 'legacy': mw.uri.anchorEncode's ids). */
  site?: { [key: string]: LuaInput }
  /** The content language: { code, separator (of thousands), rtl, names ({ code: name }) }. */
  language?: { [key: string]: LuaInput }
  /** Floats print as Lua 5.1 prints them (`tostring(10/2)` is "5"). Default true. */
  lua51Numbers?: boolean
  /** `frame:expandTemplate{ title, args }`: the template's expansion. */
  expandTemplate?: (title: string, args: { [name: string]: string }, frameTitle: string) => string | PromiseLike<string>
  /** `frame:preprocess(text)`: the text with its wikitext expanded. */
  preprocess?: (text: string, frameTitle: string) => string | PromiseLike<string>
  /** `frame:callParserFunction(name, args)` (positional arguments as keys "1", "2", ...). */
  callParserFunction?: (name: string, args: { [name: string]: string }, frameTitle: string) => string | PromiseLike<string>
  /** `frame:extensionTag(name, content, args)`. */
  extensionTag?: (name: string, content: string, args: { [name: string]: string }, frameTitle: string) => string | PromiseLike<string>
  /** A page's wikitext (`title:getContent()`, and `title.exists` without `titleExists`), or null. */
  getContent?: (title: string) => string | null | undefined | PromiseLike<string | null | undefined>
  titleExists?: (title: string) => boolean | PromiseLike<boolean>
  pageId?: (title: string) => number | PromiseLike<number>
  isRedirect?: (title: string) => boolean | PromiseLike<boolean>
  redirectTarget?: (title: string) => string | null | PromiseLike<string | null>
  titleFromId?: (id: number) => string | null | PromiseLike<string | null>
  /** `lang:formatDate(format, timestamp, local)` (the library's own knows PHP's common codes). */
  formatDate?: (format: string, timestamp: string | null, local: boolean | null, language: string) => string | PromiseLike<string>
  /** `lang:formatNum(n, options)`. */
  formatNum?: (n: number | string, options: LuaValue, language: string) => string | PromiseLike<string>
}

/** Scribunto's frame, for `invoke` on a runner with `mw`: `frame.args`, `frame:getParent().args`. */
export interface Frame {
  /** Numbered (an array's items, or keys "1", "2") and named arguments; values become strings. */
  args?: LuaInput[] | { [name: string]: string | number | boolean }
  parentArgs?: LuaInput[] | { [name: string]: string | number | boolean }
  /** The page being rendered (mw.title.getCurrentTitle()); default the runner's `mw.title`. */
  title?: string
  /** The parent frame's title (the template that invoked the module); default `title`. */
  parentTitle?: string
}

/** A module resolver over a MediaWiki Action API: `require('Module:X')`, `mw.loadData`,
 * `mw.loadJsonData`, and `mediawiki://<host>/Module:X` for the API's own host. */
export declare function mediaWikiModules(options: {
  /** The wiki's api.php URL. */
  api: string
  fetch?: typeof fetch
  /** How long a title's revision is trusted before it is asked for again, ms (default 60000). */
  maxAge?: number
  maxBytes?: number
  timeout?: number
}): (name: string) => string | undefined | Promise<string | undefined>

/** A module resolver for `require('https://...')` from the `allow`ed origins (none by default). */
export declare function urlModules(options?: {
  allow?: string[]
  fetch?: typeof fetch
  /** Largest source, bytes (default 2 MiB). */
  maxBytes?: number
  /** ms (default 10000). */
  timeout?: number
}): (name: string) => string | undefined | Promise<string>

/** A quota of a scope: bytes (keys' UTF-8 bytes and values') and keys, each optional. */
export interface Quota {
  bytes?: number
  keys?: number
}

/** The permissions of a namespace of State keys (only `shared: true` ones mean anything). */
export interface Namespace {
  /** Keys equal to or under the name (`name` or `name.*`) are shared, not the script's own. */
  shared: boolean
  read?: boolean
  write?: boolean
  delete?: boolean
  /** The namespace's quota (default: the state's `quota`). */
  quota?: Quota
}

/** Shared namespaces by name (`'global.events'`). */
export type Namespaces = { [name: string]: Namespace }

export interface StateOptions {
  /** Where values live (default: the runner's MemoryStore). */
  store?: StateBackend
  /** Shared namespaces, or a function of the scriptId deciding them per script. */
  namespaces?: Namespaces | ((scriptId: string) => Namespaces | undefined)
  /**
   * The quota of each script's own keys, and of each shared namespace without one of its
   * own. Needs a store with usage (every store of this package).
   */
  quota?: Quota
}

/**
 * One write of a commit: `value` null deletes; `expiresAt` in ms since the epoch; `owner`:
 * whose usage it counts in ('' for a script's own keys, a namespace's name).
 */
export interface StateWrite {
  scope: string
  key: string
  value: Uint8Array | null
  expiresAt: number | null
  owner?: string
}

/** A version of an entry: changes whenever it does, never reused for its key. */
export type StateVersion = number | string

/** What a serializable commit checks (see `VersionedStateBackend.commit`). */
export interface StateConditions {
  /** Keys read, with the version read (null: the key was absent). */
  reads: Array<{ scope: string; key: string; version: StateVersion | null }>
  /** Lists read: the keys and versions each returned, in key order. */
  lists: Array<{ scope: string; prefix: string; entries: Array<[string, StateVersion]> }>
  /** Limits of the (scope, owner)s written (null: none). */
  quotas: Array<{ scope: string; owner: string; bytes: number | null; keys: number | null }>
}

/** A commit refused: nothing was written. */
export type StateRefusal = { conflict: string } | { quota: string }

/** Bytes and keys of a scope's entries (expired ones not purged yet included). */
export interface StateUsage {
  bytes: number
  keys: number
}

/**
 * What a store implements (sync, or async returning promises). Scopes are scriptIds, and
 * `''` for keys of shared namespaces; values are bytes the store keeps untouched.
 */
export interface StateBackend {
  /** The bytes stored for (scope, key), or undefined (also once expired). */
  read(scope: string, key: string): Uint8Array | undefined | PromiseLike<Uint8Array | undefined>
  /** [key, bytes] of the unexpired entries of `scope` whose key starts with `prefix`. */
  list(scope: string, prefix: string): Array<[string, Uint8Array]> | PromiseLike<Array<[string, Uint8Array]>>
  /**
   * Applies every write, or none (one transaction). A serializable store also checks
   * `conditions` and may refuse (VersionedStateBackend); a store of these three methods only
   * gets none, and its commits are unchecked (the last writer wins).
   */
  commit(writes: StateWrite[], conditions?: StateConditions): void | StateRefusal | PromiseLike<void | StateRefusal>
  /** True if the methods never return promises (then the Sync functions can use the store). */
  readonly synchronous?: boolean
}

/**
 * A store that makes calls serializable: versions, commits that check what the call read
 * (and quotas), usage. Every store of this package is one; a store with only read, list
 * and commit works too, its commits unchecked (the last writer wins).
 */
export interface VersionedStateBackend extends StateBackend {
  readVersion(scope: string, key: string): { value: Uint8Array; version: StateVersion } | undefined | PromiseLike<{ value: Uint8Array; version: StateVersion } | undefined>
  listVersions(scope: string, prefix: string): Array<[string, Uint8Array, StateVersion]> | PromiseLike<Array<[string, Uint8Array, StateVersion]>>
  /** In one transaction: the checks, then every write; undefined when applied. */
  commit(writes: StateWrite[], conditions?: StateConditions): void | StateRefusal | PromiseLike<void | StateRefusal>
  usage(scope: string, owner?: string): StateUsage | PromiseLike<StateUsage>
}

/** A store's methods for the host, in JS values (converted as globals and return values are). */
export declare abstract class StateStore implements StateBackend {
  /** Usage of `scope` (of one owner: '' a script's own keys, a namespace's name). */
  usage(scope: string, owner?: string): StateUsage | PromiseLike<StateUsage>
  abstract read(scope: string, key: string): Uint8Array | undefined | PromiseLike<Uint8Array | undefined>
  abstract list(scope: string, prefix: string): Array<[string, Uint8Array]> | PromiseLike<Array<[string, Uint8Array]>>
  abstract commit(writes: StateWrite[], conditions?: StateConditions): void | StateRefusal | PromiseLike<void | StateRefusal>
  readonly synchronous: boolean
  /** What a script stored for `key` (scope: its scriptId, or '' for a shared namespace). */
  get(scope: string, key: string): LuaValue | undefined | Promise<LuaValue | undefined>
  /** Stores `value` as a script would; `ttl` in seconds; `owner` whose usage it counts in. */
  set(scope: string, key: string, value: LuaInput, options?: { ttl?: number; owner?: string }): void | Promise<void>
  delete(scope: string, key: string): void | Promise<void>
  /** [key, value] of the entries of `scope` under `prefix`. */
  entries(scope: string, prefix?: string): Array<[string, LuaValue]> | Promise<Array<[string, LuaValue]>>
}

/** The methods of the synchronous stores (a type only: no such class at run time). */
declare abstract class SynchronousStore extends StateStore {
  read(scope: string, key: string): Uint8Array | undefined
  list(scope: string, prefix: string): Array<[string, Uint8Array]>
  commit(writes: StateWrite[], conditions?: StateConditions): void | StateRefusal
  readVersion(scope: string, key: string): { value: Uint8Array; version: StateVersion } | undefined
  listVersions(scope: string, prefix: string): Array<[string, Uint8Array, StateVersion]>
  usage(scope: string, owner?: string): StateUsage
  get(scope: string, key: string): LuaValue | undefined
  set(scope: string, key: string, value: LuaInput, options?: { ttl?: number; owner?: string }): void
  delete(scope: string, key: string): void
  entries(scope: string, prefix?: string): Array<[string, LuaValue]>
  readonly synchronous: true
}

/** A store in this process's memory (synchronous): tests, one-off runs. */
export declare class MemoryStore extends SynchronousStore {}

/**
 * Node: a store in a SQLite file (WAL mode; several processes may share it), through the
 * optional peer dependency better-sqlite3. Synchronous.
 */
export declare class SqliteStore extends SynchronousStore {
  /** `path`: the file (':memory:' for none); `busyTimeout`: ms a write waits for another process's (5000). */
  constructor(path: string, options?: { busyTimeout?: number })
  /** Deletes expired entries now. */
  purge(): void
  close(): void
}

/** Browsers: a store in IndexedDB database `name`. Asynchronous (not for the Sync functions). */
export declare class IndexedDbStore extends StateStore {
  constructor(name: string)
  read(scope: string, key: string): Promise<Uint8Array | undefined>
  list(scope: string, prefix: string): Promise<Array<[string, Uint8Array]>>
  commit(writes: StateWrite[], conditions?: StateConditions): Promise<void | StateRefusal>
  readVersion(scope: string, key: string): Promise<{ value: Uint8Array; version: StateVersion } | undefined>
  listVersions(scope: string, prefix: string): Promise<Array<[string, Uint8Array, StateVersion]>>
  usage(scope: string, owner?: string): Promise<StateUsage>
  get(scope: string, key: string): Promise<LuaValue | undefined>
  set(scope: string, key: string, value: LuaInput, options?: { ttl?: number; owner?: string }): Promise<void>
  delete(scope: string, key: string): Promise<void>
  entries(scope: string, prefix?: string): Promise<Array<[string, LuaValue]>>
  purge(): Promise<void>
  close(): Promise<void>
}

/** The methods of the asynchronous stores of servers (a type only). */
declare abstract class ServerStore extends StateStore {
  read(scope: string, key: string): Promise<Uint8Array | undefined>
  list(scope: string, prefix: string): Promise<Array<[string, Uint8Array]>>
  commit(writes: StateWrite[], conditions?: StateConditions): Promise<void | StateRefusal>
  readVersion(scope: string, key: string): Promise<{ value: Uint8Array; version: StateVersion } | undefined>
  listVersions(scope: string, prefix: string): Promise<Array<[string, Uint8Array, StateVersion]>>
  usage(scope: string, owner?: string): Promise<StateUsage>
  get(scope: string, key: string): Promise<LuaValue | undefined>
  set(scope: string, key: string, value: LuaInput, options?: { ttl?: number; owner?: string }): Promise<void>
  delete(scope: string, key: string): Promise<void>
  entries(scope: string, prefix?: string): Promise<Array<[string, LuaValue]>>
  close(): Promise<void>
}

/**
 * Node: a store in a PostgreSQL table, through the optional peer dependency pg (8), for
 * processes on many machines sharing State. A commit is one round trip.
 */
export declare class PostgresStore extends ServerStore {
  /**
   * `pool`: a pg.Pool (left to its owner to end) or a connection string (the store makes a
   * pool of `max` connections, default 10, and close() ends it). `table` (default
   * 'pubwiki_state') and `schema` name where it lives; made on first use. `readCache`:
   * true (or its bytes, default 16 MiB) keeps what calls read in this process for later
   * calls, checked at their commits.
   */
  constructor(pool: string | { query: Function; connect: Function }, options?: { table?: string; schema?: string; max?: number; readCache?: boolean | number })
  /** The pg.Pool it uses. */
  readonly pool: any
  /** Deletes expired entries now. */
  purge(): Promise<void>
}

/**
 * Node: a store in Redis, through the optional peer dependency redis (node-redis 5), or an
 * ioredis client. A commit is one server-side script; TTLs are Redis expirations.
 */
export declare class RedisStore extends ServerStore {
  /**
   * `client`: a redis:// URL (the store makes and connects a client, and close() ends it),
   * or a connected node-redis 5 or ioredis client. `prefix` starts every key name (default
   * 'pubwiki'); `hashTag`: 'scope' (each scope its own slot, the default) or 'single' (all of
   * State in one slot of a cluster). `readCache`: as PostgresStore's.
   */
  constructor(client: string | object, options?: { prefix?: string; hashTag?: 'scope' | 'single'; readCache?: boolean | number })
  /** The client it uses. */
  readonly client: any
}

/** A triple as scripts and the other library's RDFStore see it: the object in JS values. */
export interface Triple {
  subject: string
  predicate: string
  /** A string (a named node if it starts with `resource://`), number, boolean, or array/object. */
  object: any
}

/** A pattern: fields null or absent are wildcards. */
export interface TriplePattern {
  subject?: string | null
  predicate?: string | null
  object?: any
}

/**
 * A triple store of the host's: the `RDFStore` interface of the library pubwiki-lua grew
 * from, every method sync or async. With `transaction`, a call's writes go through one
 * transaction; with `batchDelete`/`batchInsert`, one batch each.
 */
export interface RDFStore {
  insert(subject: string, predicate: string, object: any): void | PromiseLike<void>
  delete(subject: string, predicate: string, object?: any): void | PromiseLike<void>
  query(pattern: TriplePattern): Triple[] | PromiseLike<Triple[]>
  batchInsert?(triples: Triple[]): void | PromiseLike<void>
  batchDelete?(patterns: TriplePattern[]): void | PromiseLike<void>
  transaction?<T>(callback: () => T | PromiseLike<T>): T | PromiseLike<T>
  /** true: never returns a promise (then `runSync` can use it); default: guessed from async methods. */
  synchronous?: boolean
}

export type TripleBackend = RDFStore | TripleStore

/** The graphs of a script: where its triples go, and which graphs it reads ('' is the default graph). */
export interface TripleGraphs {
  write?: string
  read?: string[]
}

export interface TriplesOptions {
  store?: TripleBackend
  /** Isolation: the graphs of each script (default: everyone writes and reads the default graph). Needs a TripleStore. */
  graphs?: (scriptId: string) => TripleGraphs
  /** Triples a call may insert or delete (default 100000). */
  maxWrites?: number
}

/** RDF/JS terms and quads (https://rdf.js.org/data-model-spec/), as this package's stores give them. */
export interface RdfTerm {
  termType: 'NamedNode' | 'BlankNode' | 'Literal' | 'Variable' | 'DefaultGraph' | 'Quad'
  value: string
  language?: string
  datatype?: RdfTerm
  equals(other: RdfTerm | null | undefined): boolean
}

export interface RdfQuad extends RdfTerm {
  subject: RdfTerm
  predicate: RdfTerm
  object: RdfTerm
  graph: RdfTerm
}

/** An RDF/JS DataFactory. */
export declare const dataFactory: {
  namedNode(value: string): RdfTerm
  blankNode(value?: string): RdfTerm
  variable(value: string): RdfTerm
  literal(value: string, languageOrDatatype?: string | RdfTerm): RdfTerm
  defaultGraph(): RdfTerm
  quad(subject: RdfTerm, predicate: RdfTerm, object: RdfTerm, graph?: RdfTerm): RdfQuad
}

/**
 * This package's triple stores: the RDFStore methods for hosts (JS values; `graph` names a
 * graph, '' the default one), and RDF/JS `getQuads` and `match` (a source for SPARQL engines).
 */
export declare abstract class TripleStore {
  readonly synchronous: boolean
  insert(subject: string, predicate: string, object: any, graph?: string): void | Promise<void>
  delete(subject: string, predicate: string, object?: any, graph?: string): void | Promise<void>
  batchInsert(triples: Triple[], graph?: string): void | Promise<void>
  batchDelete(patterns: TriplePattern[], graph?: string): void | Promise<void>
  /** Matching triples, in the order scripts get them. */
  query(pattern?: TriplePattern, graph?: string): Triple[] | Promise<Triple[]>
  getQuads(subject?: RdfTerm | null, predicate?: RdfTerm | null, object?: RdfTerm | null, graph?: RdfTerm | null): RdfQuad[] | Promise<RdfQuad[]>
  /** An RDF/JS Stream of the quads matching. */
  match(subject?: RdfTerm | null, predicate?: RdfTerm | null, object?: RdfTerm | null, graph?: RdfTerm | null): any
}

/** Triples in memory on N3.js (an n3 `Store`: the host's, or in Node one made here; needs `npm install n3`). Synchronous. */
export declare class N3TripleStore extends TripleStore {
  constructor(store?: any)
  /** The n3 Store. */
  readonly store: any
  readonly size: number
  query(pattern?: TriplePattern, graph?: string): Triple[]
  insert(subject: string, predicate: string, object: any, graph?: string): void
}

/** Triples in a SQLite file (Node; needs `npm install better-sqlite3`). Synchronous. */
export declare class SqliteTripleStore extends TripleStore {
  constructor(path: string, options?: { busyTimeout?: number })
  readonly size: number
  /** The better-sqlite3 Database (table pubwiki_triples). */
  readonly database: any
  query(pattern?: TriplePattern, graph?: string): Triple[]
  insert(subject: string, predicate: string, object: any, graph?: string): void
  close(): void
}

/** Triples in IndexedDB (browsers). Asynchronous. */
export declare class IndexedDbTripleStore extends TripleStore {
  constructor(name: string)
  query(pattern?: TriplePattern, graph?: string): Promise<Triple[]>
  close(): Promise<void>
}

export interface RunOptions extends CallOptions {
  /** The script's identity, set by the host: names the chunk in messages (`<scriptId>:3: ...`). */
  scriptId: string
  /** The chunk's `...`, converted as globals are. */
  arguments?: LuaInput[]
}

/**
 * A Lua value as JS: nil -> null, booleans, numbers (integers beyond 2^53 lose precision),
 * strings, tables with keys exactly 1..n -> arrays, other tables -> plain objects (keys as
 * Lua's tostring writes them), functions/coroutines/userdata -> "[function]", "[thread]", "[userdata]".
 */
export type LuaValue = null | boolean | number | string | LuaValue[] | { [key: string]: LuaValue }

export interface RunResult {
  /** Everything the script printed. Invalid UTF-8 becomes U+FFFD; NUL bytes are kept. */
  output: string
  /** The chunk's return values. */
  values: LuaValue[]
  /** What `mw.log`, `mw.logObject` and `mw.addWarning` wrote (runners with `mw` only). */
  log?: string
}

/**
 * 'conflict': the call's State commit conflicted (another commit changed what it read) and
 * it was not run again (retries spent, or it had called a host function); nothing of it was
 * committed. 'quota': its commit would have taken a scope past its quota; nothing was
 * committed.
 */
export type LuaErrorKind = 'syntax' | 'runtime' | 'memory' | 'timeout' | 'output' | 'conflict' | 'quota'

export declare class LuaError extends Error {
  name: 'LuaError'
  kind: LuaErrorKind
  /** The scriptId the call was made with. */
  scriptId: string
  /** Everything the script printed before the error. */
  output: string
  /** Lua stack traceback at the error ('' for syntax and memory errors). */
  traceback: string
  /** The error a host function threw (or rejected with) when that error ended the call. */
  cause?: unknown
  /** What `mw.log` wrote before the error (runners with `mw` only). */
  log?: string
}

/** Which backend this process uses. */
export declare const backend: 'native' | 'wasm'

/** Runs `code` in a fresh sandboxed Lua state; resolves to its output and return values. */
export declare function run(code: string, options: RunOptions): Promise<RunResult>
/** `run` on the calling thread: host functions must answer at once (a promise is a Lua error). */
export declare function runSync(code: string, options: RunOptions): RunResult
/** Runs `code` in a fresh sandboxed Lua state; resolves to everything it printed. */
export declare function runLua(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): Promise<string>
export declare function runLuaSync(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): string

/** The functions, with a runner's options as defaults (and its cache of compiled modules). */
export interface Runner {
  run(code: string, options: RunOptions): Promise<RunResult>
  runSync(code: string, options: RunOptions): RunResult
  runLua(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): Promise<string>
  runLuaSync(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): string
  /**
   * `require(module)[functionName](...args)` in a fresh state (Scribunto's #invoke); `args`
   * are converted as globals are. A missing module or function is a LuaError. On a runner
   * with `mw`, a `Frame` instead of `args` calls the function with Scribunto's frame.
   */
  invoke(module: string, functionName: string, args: LuaInput[] | Frame | undefined, options: RunOptions): Promise<RunResult>
  invokeSync(module: string, functionName: string, args: LuaInput[] | Frame | undefined, options: RunOptions): RunResult
  /** The store of the runner's `state` (its MemoryStore for `state: true`), or undefined. */
  readonly stateStore: StateBackend | undefined
  /** How many of its calls' State commits conflicted, and how many calls were run again. */
  readonly stats: { conflicts: number; retries: number }
}

/** `Runner.invoke` with no runner options. */
export declare function invoke(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): Promise<RunResult>
export declare function invokeSync(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): RunResult

/**
 * A runner whose calls take `options` as defaults: limits a call does not set, and globals
 * under the call's own (a call's `globals` are merged over the runner's, name by name).
 */
export declare function createRunner(options?: RunnerOptions): Runner

/**
 * Resolves once the backend can run scripts. In Node it is already resolved; in browsers
 * the wasm module loads asynchronously, and the Sync functions throw until it resolves.
 */
export declare const ready: Promise<void>

export interface WorkerRunnerOptions extends RunnerOptions {
  /** How many workers (default: browsers, the cores but one, 1 to 4; Node, 2). */
  workers?: number
  /**
   * The worker script, for pages that serve it themselves (default: the package's
   * lib/worker.browser.mjs, or lib/worker.node.mjs in Node, found by the bundler).
   */
  workerUrl?: string | URL
}

/** The asynchronous functions of a runner, run in a pool of workers. */
export interface WorkerRunner {
  run(code: string, options: RunOptions): Promise<RunResult>
  runLua(code: string, scriptId: string, options?: CallOptions & { arguments?: LuaInput[] }): Promise<string>
  invoke(module: string, functionName: string, args: LuaInput[] | undefined, options: RunOptions): Promise<RunResult>
  readonly stateStore: StateBackend | undefined
  readonly stats: { conflicts: number; retries: number }
  /** Ends the workers; calls not yet over reject. */
  terminate(): void
}

/**
 * A runner whose scripts run in a pool of Web Workers (in Node, worker_threads), on the
 * wasm backend, so that the calling thread stays free. Host functions and module resolvers
 * stay on the calling thread: every host call from a worker waits for it.
 */
export declare function createWorkerRunner(options?: WorkerRunnerOptions): WorkerRunner
