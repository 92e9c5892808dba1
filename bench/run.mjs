#!/usr/bin/env node
// pubwiki-lua benchmark harness.
//
//   node bench/run.mjs            full run (~5 rounds, a few minutes at most)
//   BENCH_QUICK=1 node bench/run.mjs   smoke run
//
// Compares, interleaved round by round: C Lua 5.4 (bench/c-ref), pubwiki-lua
// native, pubwiki-lua wasm (when loadable), wasmoon and fengari; for calls from a script
// to its host also quickjs-emscripten.  Prints one
// table on stdout (progress goes to stderr), writes bench/results.json and
// renders bench/chart.svg.  Nothing here asserts on timings: a wrong workload
// result is reported in the table, never a slow one.
//
// Environment (all optional):
//   BENCH_QUICK=1          2 rounds, fewer calls, 2k-call RSS run
//   BENCH_ROUNDS=n         rounds (default 5)
//   BENCH_CALLS=n          calls per calls/s measurement (default 5000)
//   BENCH_RSS_CALLS=n      calls for the RSS measurement (default 20000)
//   BENCH_WARMUP=0         skip the untimed warm-up pass in each JS worker
//   BENCH_RUNTIMES=a,b     subset of c,native,wasm,wasmoon,fengari,quickjs
//   BENCH_WORKLOADS=a,b    subset of call,call_sync,call_par2,call_par4,loop,loop_sync,fib,print,sort,
//                          host_sync,host_sync_direct,host_async,host_args,host_args_unread,
//                          module_cached,module_uncached,invoke,invoke_sync,invoke_preloaded,
//                          invoke_preloaded_sync,page,page_sync,state_memory,state_sqlite,
//                          state_memory_distinct,state_sqlite_distinct,state_memory_sync,
//                          state_sqlite_sync,text_string_find,text_ustring_find,
//                          text_string_gsub,text_ustring_gsub,text_string_sub,
//                          text_ustring_sub,mw_page (Scribunto's mw),
//                          state_shared (bench/state.mjs: Postgres, Redis),
//                          triples (bench/triples.mjs: the triple stores),
//                          ttfr,rss,browser,size
//   BENCH_OUT=path         results file (default bench/results.json)
//   PUBWIKI_LUA_WASM_FILE  wasm file of the pubwiki wasm build (else searched for)
//   BENCH_PUBWIKI_PACKAGE  path of the pubwiki-lua package (default: the repo)

import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, PUBWIKI_PACKAGE, ROOT_DIR, RUNTIMES, PUBWIKI_LIMITS } from './lib/runtimes.mjs';
import { measurements, verify } from './lib/workloads.mjs';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
const list = (s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : null);
const cfg = {
  quick: QUICK,
  rounds: Number(env.BENCH_ROUNDS || (QUICK ? 2 : 5)),
  calls: Number(env.BENCH_CALLS || (QUICK ? 300 : 5000)),
  rssCalls: Number(env.BENCH_RSS_CALLS || (QUICK ? 2000 : 20000)),
  warmup: env.BENCH_WARMUP !== '0',
  runtimes: list(env.BENCH_RUNTIMES),
  workloads: list(env.BENCH_WORKLOADS),
  out: env.BENCH_OUT || path.join(BENCH_DIR, 'results.json'),
};
const wants = (w) => !cfg.workloads || cfg.workloads.includes(w);

const log = (...a) => console.error('[bench]', ...a);
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const luaFile = (name) => path.join(BENCH_DIR, 'lua', `${name}.lua`);

// ---------------------------------------------------------------- setup ----

function ensureBenchDeps() {
  const have = ['wasmoon', 'fengari', 'fengari-interop', 'quickjs-emscripten'].every((p) => fs.existsSync(path.join(BENCH_DIR, 'node_modules', p, 'package.json')));
  if (have) return;
  log('installing bench dependencies (npm ci in bench/)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: BENCH_DIR, stdio: ['ignore', 2, 2] });
}

const C_DIR = path.join(BENCH_DIR, 'c-ref');
const C_BIN = path.join(C_DIR, 'bench');
const C_SRC = path.join(C_DIR, 'bench.c');

function ensureCReference() {
  const fresh = fs.existsSync(C_BIN) && fs.statSync(C_BIN).mtimeMs >= fs.statSync(C_SRC).mtimeMs;
  if (fresh) return;
  if (!fs.existsSync('/usr/include/lua5.4/lua.h')) {
    log('installing liblua5.4-dev (apt-get)');
    const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: ['ignore', 2, 2], env: aptEnv });
    execFileSync('apt-get', ['install', '-y', 'liblua5.4-dev'], { stdio: ['ignore', 2, 2], env: aptEnv });
  }
  log('building bench/c-ref/bench');
  execFileSync('gcc', ['-O2', '-o', C_BIN, C_SRC, '-I/usr/include/lua5.4', '-llua5.4'], { stdio: ['ignore', 2, 2] });
}

function runC(args, workload, hookCount = 0) {
  const out = execFileSync(C_BIN, args.map(String), {
    input: fs.readFileSync(luaFile(workload)),
    env: hookCount ? { ...env, BENCH_LUA_HOOK_COUNT: String(hookCount) } : env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.toString());
}

function cVersion() {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'liblua5.4-dev']).toString().trim();
  } catch {
    return '';
  }
}

// -------------------------------------------------------------- workers ----

class Worker {
  constructor(rt) {
    this.rt = rt;
    this.pending = new Map();
    this.nextId = 1;
  }
  start() {
    const childEnv = { ...env };
    if (this.rt.backend) childEnv.PUBWIKI_LUA_BACKEND = this.rt.backend;
    this.child = fork(path.join(BENCH_DIR, 'worker.mjs'), [this.rt.id], {
      execArgv: ['--expose-gc'],
      env: childEnv,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    this.child.stderr.on('data', (d) => (stderr += d));
    return new Promise((resolve) => {
      this.child.on('message', (m) => {
        if (m.type === 'ready') resolve({ ok: true, version: m.version, api: m.api });
        else if (m.type === 'loadError') resolve({ ok: false, reason: m.error });
        else if (m.type === 'result') {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          p?.(m);
        }
      });
      this.child.on('exit', (code, sig) => {
        const why = `worker exited (${sig || code})${stderr ? ': ' + stderr.trim().split('\n').slice(-3).join(' | ') : ''}`;
        resolve({ ok: false, reason: why });
        for (const p of this.pending.values()) p({ error: why });
        this.pending.clear();
      });
    });
  }
  measure(req) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, ...req });
    });
  }
  stop() {
    if (this.child?.connected) this.child.disconnect();
  }
}

function runChild(args, childEnv) {
  try {
    const out = execFileSync(process.execPath, [path.join(BENCH_DIR, 'worker.mjs'), ...args], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(out.toString().trim().split('\n').pop());
  } catch (e) {
    const text = (e.stdout?.toString() || '').trim().split('\n').pop();
    try {
      return JSON.parse(text);
    } catch {
      return { error: (e.stderr?.toString() || String(e)).trim().split('\n').slice(-2).join(' | ') };
    }
  }
}
const envFor = (rt) => (rt.backend ? { ...env, PUBWIKI_LUA_BACKEND: rt.backend } : env);

// ---------------------------------------------------------- wasm sizes ----

function findPubwikiWasm() {
  if (env.PUBWIKI_LUA_WASM_FILE) return env.PUBWIKI_LUA_WASM_FILE;
  const skip = new Set(['node_modules', 'bench', 'target', '.git', 'crates']);
  const found = [];
  const walk = (dir, depth) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth < 3 && !skip.has(e.name)) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.wasm')) found.push(p);
    }
  };
  walk(PUBWIKI_PACKAGE, 0);
  // Prefer the largest (the Lua module, not some helper).
  found.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
  return found[0] || null;
}

function wasmSize(file) {
  const buf = fs.readFileSync(file);
  return {
    file: path.relative(ROOT_DIR, file),
    raw_bytes: buf.length,
    gzip_bytes: zlib.gzipSync(buf, { level: 9 }).length,
  };
}

// ---------------------------------------------------------------- main ----

async function main() {
  const t0 = Date.now();
  ensureBenchDeps();

  const runtimes = RUNTIMES.filter((r) => !cfg.runtimes || cfg.runtimes.includes(r.id)).map((r) => ({ ...r }));
  const status = {};

  // C reference (and its count-hook variant)
  for (const cRt of runtimes.filter((r) => r.kind === 'c')) {
    try {
      ensureCReference();
      const probe = runC(['call', 1], 'call', cRt.hookCount);
      if (probe.result !== '2') throw new Error(`probe returned ${JSON.stringify(probe)}`);
      const api = 'luaL_newstate+luaL_openlibs+luaL_dostring+lua_close' + (cRt.hookCount ? ` + LUA_MASKCOUNT hook every ${cRt.hookCount}` : '');
      status[cRt.id] = { available: true, version: `Debian liblua5.4-dev ${cVersion()}`.trim(), api };
    } catch (e) {
      status[cRt.id] = { available: false, reason: String(e.message || e).split('\n')[0] };
    }
  }

  // JS runtime workers (loaded one after the other; 2 cores only)
  const workers = {};
  for (const rt of runtimes.filter((r) => r.kind === 'js')) {
    const w = new Worker(rt);
    const st = await w.start();
    if (st.ok) {
      workers[rt.id] = w;
      status[rt.id] = { available: true, version: st.version, api: st.api };
    } else {
      w.stop();
      status[rt.id] = { available: false, reason: st.reason };
    }
  }
  for (const rt of runtimes) {
    const s = status[rt.id];
    if (!s.available) log(`skipping ${rt.label}: ${s.reason}`);
    else log(`${rt.label}: ${s.version || ''} via ${s.api}`);
  }
  const live = runtimes.filter((r) => status[r.id].available);
  const liveJs = live.filter((r) => r.kind === 'js');

  const measure = async (rt, m) => {
    if (rt.kind === 'c') {
      try {
        const warm = m.unit === 'calls/s' ? Math.min(200, m.iters) : 1;
        const r = runC([m.workload, m.iters, warm], m.workload, rt.hookCount);
        if (r.error) return { error: r.error };
        const value = m.unit === 'calls/s' ? r.iterations / r.total_s : r.total_s / r.iterations;
        return { value, result: r.result, outputBytes: r.output_bytes };
      } catch (e) {
        return { error: String(e.message || e).split('\n')[0] };
      }
    }
    return workers[rt.id].measure({ workload: m.workload, iters: m.iters, streams: m.streams || 1, sync: !!m.sync, unread: !!m.unread, variant: m.variant });
  };

  const meas = measurements(cfg);

  // Untimed warm-up in every JS worker (JIT, wasm tier-up, allocator).
  if (cfg.warmup && liveJs.length) {
    log('warm-up pass');
    for (const rt of liveJs)
      for (const m of meas.filter((m) => m.streams === 1 || m.streams === undefined))
        if (m.only ? m.only(rt) : !rt.hostOnly)
          await workers[rt.id].measure({ workload: m.workload, iters: m.unit === 'calls/s' ? Math.min(200, m.iters) : 1, sync: !!m.sync, variant: m.variant });
  }

  // results[mid][rtid] = { samples: [...], ratios: [...], problems: Set }
  const results = {};
  for (const m of meas) results[m.id] = {};
  const ttfr = {};

  for (let round = 0; round < cfg.rounds; round++) {
    log(`round ${round + 1}/${cfg.rounds}`);
    const order = live.slice(round % live.length).concat(live.slice(0, round % live.length));
    const cValue = {}; // this round's C value per workload (sequential)
    for (const m of meas) {
      const rts = order.filter((rt) => (m.only ? m.only(rt) : !rt.hostOnly));
      const roundVals = {};
      for (const rt of rts) {
        const s = await measure(rt, m);
        const slot = (results[m.id][rt.id] ??= { samples: [], ratios: [], problems: new Set() });
        for (const p of verify(m.workload, s)) slot.problems.add(p);
        if (s.error) continue;
        slot.samples.push(s.value);
        roundVals[rt.id] = s.value;
        if (rt.id === 'c' && (m.streams || 1) === 1) cValue[m.workload] = s.value;
      }
      for (const [id, v] of Object.entries(roundVals)) {
        const c = cValue[m.workload];
        if (c === undefined) continue;
        results[m.id][id].ratios.push(m.unit === 'calls/s' ? c / v : v / c);
      }
    }
    if (wants('ttfr')) {
      for (const rt of order.filter((r) => r.kind === 'js' && !r.hostOnly)) {
        const r = runChild(['--ttfr', rt.id], envFor(rt));
        const slot = (ttfr[rt.id] ??= { samples: [], load: [], first: [], problems: new Set() });
        if (r.error) slot.problems.add(r.error);
        else {
          if (r.result !== '2') slot.problems.add(`result ${r.result}`);
          slot.samples.push(r.ttfr_ms);
          slot.load.push(r.load_ms);
          slot.first.push(r.first_call_ms);
        }
      }
    }
  }
  for (const w of Object.values(workers)) w.stop();

  // RSS, each runtime in its own fresh process
  const rss = {};
  if (wants('rss')) {
    log(`RSS after 1k and ${cfg.rssCalls} fresh-state calls`);
    for (const rt of live.filter((r) => !r.noRss && !r.hostOnly)) {
      if (rt.kind === 'c') {
        try {
          const r = runC(['rss', cfg.rssCalls], 'call');
          rss.c = { rss_kb: r.rss_kb, maxrss_kb: r.maxrss_kb, error: r.error };
        } catch (e) {
          rss.c = { error: String(e.message || e).split('\n')[0] };
        }
      } else rss[rt.id] = runChild(['--rss', rt.id, String(cfg.rssCalls)], envFor(rt));
    }
  }

  // In Chromium: on the page and through a worker runner (bench/browser.mjs).
  let browser;
  if (wants('browser') && status.wasm?.available) {
    log('in Chromium: calls on the page and through a worker runner');
    try {
      const { measureBrowser } = await import('./browser.mjs');
      browser = await measureBrowser({ calls: cfg.calls });
    } catch (e) {
      browser = { error: String(e.message || e).split('\n')[0] };
    }
  }

  // wasm sizes
  const sizes = {};
  if (wants('size')) {
    const wasmoonFile = path.join(BENCH_DIR, 'node_modules', 'wasmoon', 'dist', 'glue.wasm');
    if (fs.existsSync(wasmoonFile)) sizes.wasmoon = wasmSize(wasmoonFile);
    const ours = findPubwikiWasm();
    if (ours && fs.existsSync(ours)) sizes.wasm = wasmSize(ours);
    else sizes.wasm = { error: 'no pubwiki-lua .wasm file found (set PUBWIKI_LUA_WASM_FILE)' };
  }

  // ------------------------------------------------------------ report ----
  const report = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      config: { ...cfg, runtimes: cfg.runtimes, workloads: cfg.workloads },
      pubwiki_limits: PUBWIKI_LIMITS,
      duration_s: 0,
      ratio_note: 'ratio = how many times slower than C Lua 5.4 in the same round (time ratio; for calls/s the inverse rate ratio); median over rounds',
    },
    runtimes: Object.fromEntries(runtimes.map((r) => [r.id, { label: r.label, ...status[r.id] }])),
    workloads: meas.map((m) => ({
      id: m.id,
      label: m.label.trim(),
      unit: m.unit,
      iterations: m.iters,
      streams: m.streams || 1,
      results: Object.fromEntries(
        Object.entries(results[m.id]).map(([id, s]) => [
          id,
          {
            median: median(s.samples),
            ratio_vs_c: median(s.ratios),
            samples: s.samples,
            ratios: s.ratios,
            verified: s.problems.size === 0,
            problems: [...s.problems],
          },
        ]),
      ),
    })),
    time_to_first_result_ms: Object.fromEntries(
      Object.entries(ttfr).map(([id, s]) => [
        id,
        { median: median(s.samples), load_median: median(s.load), first_call_median: median(s.first), samples: s.samples, problems: [...s.problems] },
      ]),
    ),
    rss,
    browser,
    wasm_size: sizes,
  };
  report.meta.duration_s = (Date.now() - t0) / 1000;
  fs.writeFileSync(cfg.out, JSON.stringify(report, null, 2) + '\n');
  console.log(renderTable(report, runtimes));
  log(`wrote ${path.relative(process.cwd(), cfg.out)} in ${report.meta.duration_s.toFixed(1)} s`);
  try {
    const { renderChart } = await import('./chart.mjs');
    const svgPath = path.join(path.dirname(cfg.out), 'chart.svg');
    fs.writeFileSync(svgPath, renderChart(report));
    log(`wrote ${path.relative(process.cwd(), svgPath)}`);
  } catch (e) {
    log(`chart not rendered: ${e.message}`);
  }
  // State on every store, with PostgreSQL and redis-server started here (bench/state.mjs).
  if (wants('state_shared')) {
    const { stateBench, renderStateTable } = await import('./state.mjs');
    const rows = await stateBench();
    fs.writeFileSync(path.join(path.dirname(cfg.out), 'state-results.json'), JSON.stringify(rows, null, 2) + '\n');
    console.log(`\nState on each store (native backend; medians of one run):\n\n${renderStateTable(rows)}`);
  }
  // State as RDF triples on each built-in store, beside the stores' libraries (bench/triples.mjs).
  if (wants('triples')) {
    const { triplesBench, renderTriplesTable } = await import('./triples.mjs');
    const rows = await triplesBench();
    fs.writeFileSync(path.join(path.dirname(cfg.out), 'triples-results.json'), JSON.stringify(rows, null, 2) + '\n');
    console.log(`\nTriples on each store (native backend; medians):\n\n${renderTriplesTable(rows)}`);
  }
}

// --------------------------------------------------------------- table ----

function fmtRate(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k/s`;
  return `${v.toFixed(0)}/s`;
}
const fmtMicros = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(v < 10 ? 2 : 1)} us`);
function fmtSec(v) {
  if (v < 0.01) return `${(v * 1000).toFixed(2)} ms`;
  if (v < 1) return `${(v * 1000).toFixed(0)} ms`;
  return `${v.toFixed(2)} s`;
}
const fmtMB = (kb) => (kb == null || kb < 0 ? '?' : `${(kb / 1024).toFixed(1)} MB`);
const fmtKB = (b) => `${(b / 1024).toFixed(0)} KB`;
const fmtRatio = (r) => (r == null ? '' : ` (${r < 10 ? r.toFixed(2) : r.toFixed(1)}x)`);

export function renderTable(report, runtimes) {
  const cols = runtimes.map((r) => r.id);
  const head = ['workload', ...runtimes.map((r) => r.label + (report.runtimes[r.id].available ? '' : ' [skipped]'))];
  const rows = [];
  const notes = [];
  for (const w of report.workloads) {
    const row = [`${w.label} [${w.unit === 's' ? 'time' : w.unit === 'us' ? 'each' : 'calls/s'}]`];
    for (const id of cols) {
      const r = w.results[id];
      if (!report.runtimes[id].available) row.push('skipped');
      else if (!r || r.median == null) row.push(r?.problems?.length ? 'FAILED' : '-');
      else {
        const v = w.unit === 's' ? fmtSec(r.median) : w.unit === 'us' ? fmtMicros(r.median) : fmtRate(r.median);
        row.push(v + fmtRatio(id === 'c' ? null : r.ratio_vs_c) + (r.verified ? '' : ' !'));
      }
      if (r && r.problems.length) notes.push(`${w.id} / ${report.runtimes[id].label}: ${r.problems.join('; ')}`);
    }
    rows.push(row);
  }
  const tt = report.time_to_first_result_ms;
  if (Object.keys(tt).length) {
    const row = ['time to first result (load+instantiate+1st call, fresh process)'];
    for (const id of cols) {
      const t = tt[id];
      if (!report.runtimes[id].available) row.push('skipped');
      else if (!t) row.push('-');
      else row.push(t.median == null ? 'FAILED' : `${t.median.toFixed(1)} ms`);
      if (t?.problems?.length) notes.push(`ttfr / ${report.runtimes[id].label}: ${t.problems.join('; ')}`);
    }
    rows.push(row);
  }
  if (Object.keys(report.rss).length) {
    const n = report.meta.config.rssCalls;
    const points = [['RSS before first call', '0'], ['RSS after 1k fresh-state calls', '1000']];
    if (n !== 1000) points.push([`RSS after ${n / 1000}k fresh-state calls`, String(n)]);
    for (const [label, key] of points) {
      const row = [label];
      for (const id of cols) {
        const r = report.rss[id];
        if (!report.runtimes[id].available) row.push('skipped');
        else if (!r || r.error || !r.rss_kb) row.push(r?.error ? 'FAILED' : '-');
        else row.push(fmtMB(r.rss_kb[key]));
      }
      rows.push(row);
    }
    for (const id of cols) if (report.rss[id]?.error) notes.push(`rss / ${report.runtimes[id].label}: ${report.rss[id].error}`);
  }
  if (report.browser) {
    const b = report.browser;
    const inWasm = (text) => cols.map((id) => (id === 'wasm' ? text : '-'));
    if (b.error) notes.push(`browser: ${b.error}`);
    else {
      rows.push(['in Chromium: `return 1+1` awaited on the page [calls/s]', ...inWasm(fmtRate(b.pageCallsPerSecond))]);
      rows.push(['  same, through a worker runner (1 Web Worker) [calls/s]', ...inWasm(fmtRate(b.workerCallsPerSecond))]);
      rows.push(['in Chromium: time to first result, page / worker runner', ...inWasm(`${b.pageFirstResultMs.toFixed(1)} / ${b.workerFirstResultMs.toFixed(1)} ms`)]);
    }
  }
  if (Object.keys(report.wasm_size).length) {
    const row = ['wasm size raw / gzip -9'];
    for (const id of cols) {
      const s = report.wasm_size[id];
      if (!s) row.push('-');
      else if (s.error) row.push('n/a');
      else row.push(`${fmtKB(s.raw_bytes)} / ${fmtKB(s.gzip_bytes)}`);
    }
    rows.push(row);
  }
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => '| ' + r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  const out = [line(head), sep, ...rows.map(line)];
  out.push('');
  out.push(`(Nx) = times slower than C Lua 5.4 in the same round (median of ${report.meta.config.rounds} rounds); "!" = result check failed.`);
  for (const r of Object.values(report.runtimes)) if (!r.available) out.push(`skipped ${r.label}: ${r.reason}`);
  for (const n of notes) out.push(`check: ${n}`);
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
