// Child process for one JS runtime.  Three modes:
//
//   node worker.mjs <runtime>                  (forked with IPC by run.mjs)
//       loads the runtime, reports {type:'ready'} or {type:'loadError'}, then
//       answers measurement requests {id, workload, iters, streams} one at a
//       time until disconnected.
//   node worker.mjs --rss <runtime> <calls>
//       RSS before the first call, after 1000 and after <calls> fresh-state
//       calls of lua/call.lua; prints JSON.
//   node worker.mjs --ttfr <runtime>
//       time from before loading the runtime library to the first result of
//       `return 1+1` in this fresh process; prints JSON.
//
// Static imports here must not load any Lua runtime (see runtimes.mjs).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, firstLine, loadRuntime } from './lib/runtimes.mjs';

const luaSource = (name) => readFileSync(path.join(BENCH_DIR, 'lua', `${name}.lua`), 'utf8');
const gc = globalThis.gc ?? (() => {});

function summarize(res) {
  const out = res.output ?? '';
  return {
    result: res.result,
    outputBytes: Buffer.byteLength(out, 'utf8'),
    outputHead: out.slice(0, 40),
    outputTail: out.slice(-40),
  };
}

async function measure(rt, { workload, iters, streams = 1, sync = false, unread = false, variant }) {
  if (workload.startsWith('host_')) {
    // `iters` host calls (or fresh states) in one timed run; value: microseconds each.
    gc();
    const t0 = performance.now();
    const result = await rt.host[workload.slice(5)](iters, sync, unread, variant);
    return { result, value: ((performance.now() - t0) * 1000) / iters };
  }
  const code = luaSource(workload);
  if (workload === 'call' || workload === 'loop') {
    // One untimed exec to check the result, then `iters` timed calls split
    // over `streams` concurrent sequential loops.
    const check = summarize(await rt.exec(code));
    gc();
    const per = Math.max(1, Math.ceil(iters / streams));
    if (sync && !rt.callSync) throw new Error('no sync API');
    const loop = sync
      ? async () => {
          for (let i = 0; i < per; i++) rt.callSync(code);
        }
      : async () => {
          for (let i = 0; i < per; i++) await rt.call(code);
        };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: streams }, loop));
    const total = (performance.now() - t0) / 1000;
    return { ...check, calls: per * streams, total_s: total, value: (per * streams) / total };
  }
  const times = [];
  let last;
  for (let i = 0; i < iters; i++) {
    gc();
    const t0 = performance.now();
    last = await rt.exec(code);
    times.push((performance.now() - t0) / 1000);
  }
  return { ...summarize(last), times_s: times, value: times.reduce((a, b) => a + b, 0) / times.length };
}

async function serve(id) {
  let rt;
  try {
    rt = await loadRuntime(id);
    const probe = await rt.exec('return 1+1').catch((e) => {
      throw new Error(`loaded, but a first call fails: ${firstLine(e)}`);
    });
    if (probe.result !== undefined && probe.result !== '2') throw new Error(`loaded, but 'return 1+1' gave ${JSON.stringify(probe.result)}`);
  } catch (e) {
    process.send({ type: 'loadError', error: firstLine(e) });
    process.disconnect();
    return;
  }
  process.send({ type: 'ready', version: rt.version, api: rt.api });
  process.on('message', async (msg) => {
    try {
      const r = await measure(rt, msg);
      process.send({ type: 'result', id: msg.id, ...r });
    } catch (e) {
      process.send({ type: 'result', id: msg.id, error: firstLine(e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

async function rss(id, calls) {
  const rt = await loadRuntime(id);
  const code = luaSource('call');
  const rssKb = () => Math.round(process.memoryUsage().rss / 1024);
  const out = { runtime: id, iterations: calls, rss_kb: { 0: rssKb() } };
  for (let i = 1; i <= calls; i++) {
    await rt.call(code);
    if (i === 1000) out.rss_kb[1000] = rssKb();
  }
  out.rss_kb[calls] = rssKb();
  const mu = process.memoryUsage();
  out.heap_used_kb = Math.round(mu.heapUsed / 1024);
  out.external_kb = Math.round(mu.external / 1024);
  return out;
}

async function ttfr(id) {
  const t0 = performance.now(); // ms since this process started
  const rt = await loadRuntime(id);
  const t1 = performance.now();
  const r = await rt.exec('return 1+1');
  const t2 = performance.now();
  return {
    runtime: id,
    result: r.result,
    load_ms: t1 - t0,
    first_call_ms: t2 - t1,
    ttfr_ms: t2 - t0,
    since_process_start_ms: t2,
  };
}

const [mode, a, b] = process.argv.slice(2);
try {
  if (mode === '--rss') console.log(JSON.stringify(await rss(a, Number(b) || 20000)));
  else if (mode === '--ttfr') console.log(JSON.stringify(await ttfr(a)));
  else if (process.send) await serve(mode);
  else {
    console.error('usage: worker.mjs <runtime> (with IPC) | --rss <runtime> <calls> | --ttfr <runtime>');
    process.exit(2);
  }
} catch (e) {
  console.log(JSON.stringify({ error: firstLine(e) }));
  process.exitCode = 1;
}
