// Runtime adapters for the benchmark harness.
//
// Every adapter exposes
//   exec(code) -> Promise<{ output: string, result: string }>
//       one fresh Lua state: open the standard libraries, replace `print` by a
//       host capture, run the chunk, return everything printed and
//       tostring() of the chunk's first return value ('' when none);
//   call(code) -> Promise<unknown>
//       the cheapest idiomatic fresh-state call (still with print captured),
//       used for the calls/s workload;
//   callSync(code) (pubwiki only) -> the same through runLuaSync().
//
// Runtime libraries are loaded lazily inside load() so that a child process
// can time "load + instantiate + first call" from a clean start.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
// The pubwiki-lua package to benchmark: the repo itself unless overridden.
export const PUBWIKI_PACKAGE = process.env.BENCH_PUBWIKI_PACKAGE ? path.resolve(process.env.BENCH_PUBWIKI_PACKAGE) : ROOT_DIR;
const require = createRequire(path.join(BENCH_DIR, 'package.json'));

export const RUNTIMES = [
  { id: 'c', label: 'C Lua 5.4', kind: 'c' },
  // Same C reference plus a no-op count hook every 1000 instructions, the
  // mechanism pubwiki-lua's time limit uses; shows the hook's own cost.
  { id: 'c_hook', label: 'C + count hook', kind: 'c', hookCount: 1000, noRss: true },
  { id: 'native', label: 'pubwiki native', kind: 'js', backend: 'native', parallel: true },
  { id: 'wasm', label: 'pubwiki wasm', kind: 'js', backend: 'wasm', wasm: true },
  { id: 'wasmoon', label: 'wasmoon', kind: 'js', wasm: true },
  { id: 'fengari', label: 'fengari (5.3)', kind: 'js' },
];

/** Lua's tostring() for the plain values the workloads return. */
export function luaToString(v) {
  if (v === undefined || v === null) return v === null ? 'nil' : '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    if (Number.isNaN(v)) return v > 0 ? 'nan' : '-nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(Number(v.toPrecision(14))); // ~ "%.14g"
  }
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}

// Generous limits so that the product's limits never trip a workload
// (100k prints are ~1 MB of output, the sort workload needs ~30 MB).
export const PUBWIKI_LIMITS = {
  memoryLimit: Number(process.env.BENCH_PUBWIKI_MEMORY_LIMIT || 1024 * 1024 * 1024),
  timeLimit: Number(process.env.BENCH_PUBWIKI_TIME_LIMIT || 10 * 60 * 1000),
  outputLimit: Number(process.env.BENCH_PUBWIKI_OUTPUT_LIMIT || 256 * 1024 * 1024),
};

async function loadPubwiki(backend) {
  // The child process is started with PUBWIKI_LUA_BACKEND=<backend>; set it
  // here too so that a direct call does the same.
  process.env.PUBWIKI_LUA_BACKEND = backend;
  let mod;
  try {
    mod = require(PUBWIKI_PACKAGE);
  } catch (e) {
    throw new Error(`require('${PUBWIKI_PACKAGE}') failed: ${firstLine(e)}`);
  }
  if (typeof mod.runLua !== 'function') throw new Error('package exports no runLua()');
  if (mod.backend !== backend) {
    throw new Error(`PUBWIKI_LUA_BACKEND=${backend} but the package reports backend=${JSON.stringify(mod.backend)}`);
  }
  const scriptId = 'bench';
  const opts = { ...PUBWIKI_LIMITS };
  const hasRun = typeof mod.run === 'function';
  let version = '';
  try {
    version = require(path.join(PUBWIKI_PACKAGE, 'package.json')).version;
  } catch {}
  return {
    version,
    api: hasRun ? 'run() / runLua()' : 'runLua()',
    async exec(code) {
      if (hasRun) {
        const r = await mod.run(code, { scriptId, ...opts });
        const values = r.values ?? [];
        return { output: r.output ?? '', result: values.length ? luaToString(values[0]) : '' };
      }
      // Fallback while run() does not exist: output only.
      return { output: await mod.runLua(code, scriptId, opts), result: undefined };
    },
    call(code) {
      return mod.runLua(code, scriptId, opts);
    },
    callSync: typeof mod.runLuaSync === 'function' ? (code) => mod.runLuaSync(code, scriptId, opts) : undefined,
  };
}

async function loadWasmoon() {
  const { LuaFactory } = require('wasmoon');
  const version = require('wasmoon/package.json').version;
  const factory = new LuaFactory();
  await factory.getLuaModule(); // instantiate the wasm module once
  async function exec(code) {
    const engine = await factory.createEngine(); // fresh lua_State (+ libs)
    try {
      const parts = [];
      // wasmoon converts Lua arguments to JS values before calling us.
      engine.global.set('print', (...args) => {
        parts.push(args.map(luaToString).join('\t'), '\n');
      });
      const r = await engine.doString(code);
      return { output: parts.join(''), result: luaToString(r) };
    } finally {
      engine.global.close();
    }
  }
  return { version, api: 'LuaFactory.createEngine + doString', exec, call: exec };
}

async function loadFengari() {
  const fengari = require('fengari');
  const version = require('fengari/package.json').version;
  const { lua, lauxlib, lualib, to_luastring, to_jsstring } = fengari;
  const PRINT = to_luastring('print');
  const TAB = to_luastring('\t');
  const NL = to_luastring('\n');
  async function exec(code) {
    const L = lauxlib.luaL_newstate();
    try {
      lualib.luaL_openlibs(L);
      const parts = [];
      lua.lua_pushjsfunction(L, (L) => {
        const n = lua.lua_gettop(L);
        for (let i = 1; i <= n; i++) {
          if (i > 1) parts.push(TAB);
          parts.push(lauxlib.luaL_tolstring(L, i));
          lua.lua_pop(L, 1);
        }
        parts.push(NL);
        return 0;
      });
      lua.lua_setglobal(L, PRINT);
      if (lauxlib.luaL_dostring(L, to_luastring(code)) !== lua.LUA_OK) {
        throw new Error(lua.lua_tojsstring(L, -1));
      }
      const result = lua.lua_gettop(L) > 0 ? to_jsstring(lauxlib.luaL_tolstring(L, 1)) : '';
      return { output: Buffer.concat(parts).toString('utf8'), result };
    } finally {
      lua.lua_close(L);
    }
  }
  return { version, api: 'lauxlib.luaL_newstate + luaL_dostring', exec, call: exec };
}

export async function loadRuntime(id) {
  switch (id) {
    case 'native':
      return loadPubwiki('native');
    case 'wasm':
      return loadPubwiki('wasm');
    case 'wasmoon':
      return loadWasmoon();
    case 'fengari':
      return loadFengari();
    default:
      throw new Error(`unknown JS runtime ${id}`);
  }
}

export function firstLine(e) {
  const s = String(e && e.message ? e.message : e);
  return s.split('\n')[0];
}
