// PostgresStore: State in a PostgreSQL table (Node only), through node-postgres (`pg` 8, an
// optional peer dependency, loaded when the first PostgresStore is made), for many
// processes on many machines sharing one State.
//
// The table (made on first use, in the schema asked for): scope, key, value and owner as
// bytea (a scriptId or key may hold a NUL, which text cannot, and bytea orders bytewise, so
// a prefix is a range of the primary key: [prefix, prefix || 0xff), no key being UTF-8
// with a 0xff byte), expires_at (ms), version (from a sequence: only grows, never reused).
// Beside it <table>_usage (bytes and keys per scope and owner, for quotas) and the function
// <table>_commit, which does a whole commit server-side: one round trip, one statement,
// so one transaction, with every write, check and quota passed as arrays.
//
// Why a function with advisory locks rather than SERIALIZABLE transactions: a call reads
// while it runs (ms to seconds, in no transaction), so its checks are of versions, at
// commit, and they must not interleave with another commit touching the same scope. The
// function takes a transaction-scoped advisory lock per scope it touches (exclusive for
// scopes it writes, shared for scopes it only read), in one global order (no deadlock),
// then checks and writes under READ COMMITTED, each statement seeing every commit that
// finished before it got its locks. A key absent when read (no row to lock) and the keys
// a list returned are covered too, as every writer of a scope takes its lock. No commit
// is ever retried by the store: one whose answer is lost with its connection rejects the
// call, and may or may not have been applied (whole, either way).

import { createRequire } from 'node:module'
import { NO_CONDITIONS, ReadCache, StateStore, verdict } from './state.mjs'

const require = createRequire(import.meta.url)

function loadPg() {
  try {
    return require('pg')
  } catch (error) {
    throw new Error('pubwiki-lua: PostgresStore needs the package pg (node-postgres 8): npm install pg', { cause: error })
  }
}

const quote = (name) => `"${name.replaceAll('"', '""')}"`
const bytes = (text) => Buffer.from(text, 'utf8')
const text = (buffer) => buffer.toString('utf8')
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,40}$/

/** How often (commits from this process) expired entries are purged. */
const PURGE_EVERY = 256

function schemaSql(names, lockspace) {
  const { table, usage, sequence, commit, purge } = names
  const live = '(t.expires_at IS NULL OR t.expires_at > p_now)'
  return `
CREATE TABLE IF NOT EXISTS ${table} (
  scope bytea NOT NULL, key bytea NOT NULL, value bytea NOT NULL, expires_at bigint,
  version bigint NOT NULL, owner bytea NOT NULL DEFAULT '', PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS ${usage} (
  scope bytea NOT NULL, owner bytea NOT NULL, bytes bigint NOT NULL, keys bigint NOT NULL, PRIMARY KEY (scope, owner));
CREATE SEQUENCE IF NOT EXISTS ${sequence};
CREATE INDEX IF NOT EXISTS ${quote(names.bare + '_expiry')} ON ${table} (expires_at) WHERE expires_at IS NOT NULL;

-- Locks the scopes, in one order: exclusive where written, shared where only read.
CREATE OR REPLACE FUNCTION ${names.lock}(p_read bytea[], p_written bytea[]) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE l record;
BEGIN
  FOR l IN SELECT h, bool_or(w) AS w FROM (
      SELECT hashtext(encode(s, 'hex')) AS h, false AS w FROM unnest(p_read) s
      UNION ALL SELECT hashtext(encode(s, 'hex')), true FROM unnest(p_written) s) x
    GROUP BY h ORDER BY h LOOP
    IF l.w THEN PERFORM pg_advisory_xact_lock(${lockspace}, l.h);
    ELSE PERFORM pg_advisory_xact_lock_shared(${lockspace}, l.h); END IF;
  END LOOP;
END $f$;

-- Deletes the expired entries of one scope (its lock held), counting them out of usage.
CREATE OR REPLACE FUNCTION ${names.purgeScope}(p_scope bytea, p_now bigint) RETURNS void LANGUAGE sql AS $f$
  WITH gone AS (DELETE FROM ${table} t WHERE t.scope = p_scope AND t.expires_at <= p_now
      RETURNING t.owner, octet_length(t.key) + octet_length(t.value) AS size),
    d AS (SELECT owner, sum(size) AS b, count(*) AS n FROM gone GROUP BY owner)
  UPDATE ${usage} u SET bytes = u.bytes - d.b, keys = u.keys - d.n FROM d WHERE u.scope = p_scope AND u.owner = d.owner
$f$;

CREATE OR REPLACE FUNCTION ${purge}(p_now bigint) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE s bytea;
BEGIN
  FOR s IN SELECT DISTINCT t.scope FROM ${table} t WHERE t.expires_at <= p_now LOOP
    PERFORM ${names.lock}('{}', ARRAY[s]);
    PERFORM ${names.purgeScope}(s, p_now);
  END LOOP;
END $f$;

-- A whole commit: NULL when applied, else 'r<i>' (read i changed), 'l<i>' (list i
-- changed) or 'q<i>:<bytes>:<keys>' (quota i passed: the usage it would have had).
CREATE OR REPLACE FUNCTION ${commit}(p_now bigint,
  r_scope bytea[], r_key bytea[], r_version bigint[],
  l_scope bytea[], l_prefix bytea[], e_list int[], e_key bytea[], e_version bigint[],
  w_scope bytea[], w_key bytea[], w_value bytea[], w_expires bigint[], w_owner bytea[],
  q_scope bytea[], q_owner bytea[], q_bytes bigint[], q_keys bigint[]) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  i int; found_keys bytea[]; found_versions bigint[]; want_keys bytea[]; want_versions bigint[]; over record; pass int;
BEGIN
  PERFORM ${names.lock}(r_scope || l_scope, w_scope);
  SELECT r.i INTO i FROM unnest(r_scope, r_key, r_version) WITH ORDINALITY AS r(s, k, v, i)
    LEFT JOIN ${table} t ON t.scope = r.s AND t.key = r.k AND ${live}
    WHERE t.version IS DISTINCT FROM r.v ORDER BY r.i LIMIT 1;
  IF i IS NOT NULL THEN RETURN 'r' || i; END IF;
  FOR i IN 1 .. coalesce(array_length(l_scope, 1), 0) LOOP
    SELECT coalesce(array_agg(t.key ORDER BY t.key), '{}'), coalesce(array_agg(t.version ORDER BY t.key), '{}')
      INTO found_keys, found_versions FROM ${table} t
      WHERE t.scope = l_scope[i] AND t.key >= l_prefix[i] AND t.key < l_prefix[i] || '\\xff'::bytea AND ${live};
    SELECT coalesce(array_agg(e.k ORDER BY e.k), '{}'), coalesce(array_agg(e.v ORDER BY e.k), '{}')
      INTO want_keys, want_versions FROM unnest(e_list, e_key, e_version) AS e(l, k, v) WHERE e.l = i;
    IF found_keys IS DISTINCT FROM want_keys OR found_versions IS DISTINCT FROM want_versions THEN RETURN 'l' || i; END IF;
  END LOOP;
  IF coalesce(array_length(w_scope, 1), 0) = 0 THEN RETURN NULL; END IF;
  -- Quotas: the usage each (scope, owner) would have; a scope past one has its expired
  -- entries purged (they count until then) and is looked at again.
  FOR pass IN 1 .. 2 LOOP
    SELECT qq.i, qq.b, qq.n INTO over FROM (
      SELECT q.i, coalesce(u.bytes, 0) + coalesce(d.b, 0) AS b, coalesce(u.keys, 0) + coalesce(d.n, 0) AS n, d.b AS db, d.n AS dn, q.mb, q.mk, q.s
      FROM unnest(q_scope, q_owner, q_bytes, q_keys) WITH ORDINALITY AS q(s, o, mb, mk, i)
      LEFT JOIN ${usage} u ON u.scope = q.s AND u.owner = q.o
      LEFT JOIN (
        SELECT x.s, x.o, sum(x.b) AS b, sum(x.n) AS n FROM (
          SELECT t.scope AS s, t.owner AS o, -(octet_length(t.key) + octet_length(t.value)) AS b, -1 AS n
            FROM unnest(w_scope, w_key) AS w(s, k) JOIN ${table} t ON t.scope = w.s AND t.key = w.k
          UNION ALL
          SELECT w.s, w.o, octet_length(w.k) + octet_length(w.val), 1
            FROM unnest(w_scope, w_key, w_value, w_owner) AS w(s, k, val, o) WHERE w.val IS NOT NULL) x
        GROUP BY x.s, x.o) d ON d.s = q.s AND d.o = q.o) qq
      WHERE (qq.mb IS NOT NULL AND qq.db > 0 AND qq.b > qq.mb) OR (qq.mk IS NOT NULL AND qq.dn > 0 AND qq.n > qq.mk)
      ORDER BY qq.i LIMIT 1;
    IF NOT FOUND THEN EXIT; END IF;
    IF pass = 2 THEN RETURN 'q' || over.i || ':' || over.b || ':' || over.n; END IF;
    PERFORM ${names.purgeScope}(s, p_now) FROM (SELECT DISTINCT unnest(q_scope) AS s) x;
  END LOOP;
  WITH w AS (SELECT * FROM unnest(w_scope, w_key, w_value, w_expires, w_owner) AS w(s, k, val, e, o)),
    v AS (SELECT nextval('${sequence.replaceAll("'", "''")}') AS v),
    d AS (
      SELECT x.s, x.o, sum(x.b) AS b, sum(x.n) AS n FROM (
        SELECT t.scope AS s, t.owner AS o, -(octet_length(t.key) + octet_length(t.value)) AS b, -1 AS n
          FROM w JOIN ${table} t ON t.scope = w.s AND t.key = w.k
        UNION ALL SELECT w.s, w.o, octet_length(w.k) + octet_length(w.val), 1 FROM w WHERE w.val IS NOT NULL) x
      GROUP BY x.s, x.o),
    gone AS (DELETE FROM ${table} t USING w WHERE w.val IS NULL AND t.scope = w.s AND t.key = w.k),
    put AS (INSERT INTO ${table} (scope, key, value, expires_at, version, owner)
      SELECT w.s, w.k, w.val, w.e, v.v, w.o FROM w, v WHERE w.val IS NOT NULL
      ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
        version = excluded.version, owner = excluded.owner)
  INSERT INTO ${usage} AS u (scope, owner, bytes, keys) SELECT d.s, d.o, d.b, d.n FROM d
    ON CONFLICT (scope, owner) DO UPDATE SET bytes = u.bytes + excluded.bytes, keys = u.keys + excluded.keys;
  RETURN NULL;
END $f$;`
}

export class PostgresStore extends StateStore {
  #pool
  #own
  #names
  #ready = null
  #commits = 0
  #queries

  /**
   * `pool`: a pg.Pool (the store uses it, and leaves ending it to its owner), or a
   * connection string (`postgres://user@host/db`: the store makes a pool, and close()
   * ends it). `options.table`: the table's name (default pubwiki_state), `options.schema`:
   * its schema (default: the connection's search_path); `options.max`: connections of a
   * pool the store makes (default 10); `options.readCache`: true (or bytes, default 16 MiB)
   * to keep what calls read in this process for later calls (state.mjs ReadCache).
   */
  constructor(pool, { table = 'pubwiki_state', schema, max = 10, readCache = false } = {}) {
    super()
    /** The cache of entries read by earlier calls, if the store keeps one. */
    this.readCache = readCache ? new ReadCache(typeof readCache === 'number' ? readCache : undefined) : undefined
    if (!IDENTIFIER.test(table)) throw new TypeError('PostgresStore options.table must be a plain identifier (letters, digits, _, at most 41)')
    if (schema !== undefined && !IDENTIFIER.test(schema)) throw new TypeError('PostgresStore options.schema must be a plain identifier')
    if (typeof pool === 'string') {
      const pg = loadPg()
      this.#pool = new pg.Pool({ connectionString: pool, max })
      // A connection the server dropped while idle: the pool makes a new one next time.
      this.#pool.on('error', () => {})
      this.#own = true
    } else if (pool && typeof pool.query === 'function' && typeof pool.connect === 'function') {
      this.#pool = pool
      this.#own = false
    } else {
      throw new TypeError('PostgresStore(pool): pool must be a pg.Pool or a connection string')
    }
    const name = (suffix) => (schema ? `${quote(schema)}.` : '') + quote(table + suffix)
    this.#names = {
      schema: schema && quote(schema),
      bare: table,
      table: name(''),
      usage: name('_usage'),
      sequence: name('_version'),
      lock: name('_lock'),
      purgeScope: name('_purge_scope'),
      purge: name('_purge'),
      commit: name('_commit'),
    }
    const { table: t, usage, commit, purge } = this.#names
    const live = '(expires_at IS NULL OR expires_at > $3)'
    // Named: prepared once per connection.
    const prefix = `pubwiki:${schema ?? ''}.${table}:`
    this.#queries = {
      read: { name: `${prefix}read`, text: `SELECT value, version FROM ${t} WHERE scope = $1 AND key = $2 AND ${live}` },
      list: {
        name: `${prefix}list`,
        text: `SELECT key, value, version FROM ${t} WHERE scope = $1 AND key >= $2 AND key < $2 || '\\xff'::bytea AND ${live} ORDER BY key`,
        rowMode: 'array',
      },
      usage: { name: `${prefix}usage`, text: `SELECT bytes, keys FROM ${usage} WHERE scope = $1 AND owner = $2` },
      usageAll: { name: `${prefix}usageAll`, text: `SELECT coalesce(sum(bytes), 0) AS bytes, coalesce(sum(keys), 0) AS keys FROM ${usage} WHERE scope = $1` },
      commit: { name: `${prefix}commit`, text: `SELECT ${commit}(${Array.from({ length: 18 }, (_, i) => `$${i + 1}`).join(', ')}) AS result` },
      purge: { name: `${prefix}purge`, text: `SELECT ${purge}($1)` },
    }
  }

  /** The pool the store uses. */
  get pool() {
    return this.#pool
  }

  // The tables and functions, made once (under an advisory lock: several processes may
  // start at once). A failure (the server down) is tried again at the next use.
  #setUp() {
    this.#ready ??= (async () => {
      const lockspace = 0x70756277 // 'pubw'
      const sql = `BEGIN;
        SELECT pg_advisory_xact_lock(${lockspace}, hashtext('schema'));
        ${this.#names.schema ? `CREATE SCHEMA IF NOT EXISTS ${this.#names.schema};` : ''}
        ${schemaSql(this.#names, `hashtext(${sqlString(this.#names.table)})`)}
        COMMIT;`
      const client = await this.#pool.connect()
      try {
        await client.query(sql)
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    })().catch((error) => {
      this.#ready = null
      throw error
    })
    return this.#ready
  }

  async #query(query, values) {
    if (this.#ready !== true) {
      await this.#setUp()
      this.#ready = true
    }
    return this.#pool.query({ ...query, values })
  }

  async readVersion(scope, key) {
    const { rows } = await this.#query(this.#queries.read, [bytes(scope), bytes(key), Date.now()])
    return rows.length ? { value: rows[0].value, version: rows[0].version } : undefined
  }

  async read(scope, key) {
    return (await this.readVersion(scope, key))?.value
  }

  async listVersions(scope, prefix) {
    const { rows } = await this.#query(this.#queries.list, [bytes(scope), bytes(prefix), Date.now()])
    return rows.map(([key, value, version]) => [text(key), value, version])
  }

  async list(scope, prefix) {
    return (await this.listVersions(scope, prefix)).map(([key, value]) => [key, value])
  }

  async usage(scope, owner) {
    const { rows } = owner === undefined
      ? await this.#query(this.#queries.usageAll, [bytes(scope)])
      : await this.#query(this.#queries.usage, [bytes(scope), bytes(owner)])
    const row = rows[0] ?? { bytes: 0, keys: 0 }
    return { bytes: Number(row.bytes), keys: Number(row.keys) }
  }

  async commit(writes, conditions = NO_CONDITIONS) {
    const { reads, lists, quotas } = conditions
    const entries = lists.flatMap(({ entries }, i) => entries.map(([key, version]) => [i + 1, key, version]))
    const { rows } = await this.#query(this.#queries.commit, [
      Date.now(),
      reads.map((r) => bytes(r.scope)), reads.map((r) => bytes(r.key)), reads.map((r) => r.version),
      lists.map((l) => bytes(l.scope)), lists.map((l) => bytes(l.prefix)),
      entries.map((e) => e[0]), entries.map((e) => bytes(e[1])), entries.map((e) => e[2]),
      writes.map((w) => bytes(w.scope)), writes.map((w) => bytes(w.key)), writes.map((w) => w.value && Buffer.from(w.value.buffer, w.value.byteOffset, w.value.byteLength)),
      writes.map((w) => (w.expiresAt === null || w.expiresAt === undefined ? null : Math.round(w.expiresAt))), writes.map((w) => bytes(w.owner ?? '')),
      quotas.map((q) => bytes(q.scope)), quotas.map((q) => bytes(q.owner)), quotas.map((q) => q.bytes), quotas.map((q) => q.keys),
    ])
    const result = rows[0].result
    if (this.readCache) for (const { scope, key } of writes) this.readCache.forget(`${scope}\0${key}`)
    if (writes.length && ++this.#commits % PURGE_EVERY === 0) this.purge().catch(() => {})
    return verdict(result, conditions)
  }

  /** Deletes the expired entries now (reads never see them either way). */
  async purge() {
    await this.#query(this.#queries.purge, [Date.now()])
  }

  /** Ends the pool if the store made it (a pool given to it is its owner's to end). */
  async close() {
    if (this.#own) await this.#pool.end()
  }
}

function sqlString(value) {
  return `'${value.replaceAll("'", "''")}'`
}

