// Timed measurements and how each one's result is verified.  The Lua source
// of every workload is bench/lua/<workload>.lua, shared by all runtimes
// (the C reference reads it on stdin).

const PRINT_N = 100000;
const SORT_N = 200000;
const HOST_SYNC_N = 100000;
const HOST_ASYNC_N = 10000;
const HOST_ARGS_CALLS = 200;
const MODULE_CALLS = 100;
const INVOKE_CALLS = 2000;
const PRELOADED_CALLS = 500;
const PAGES = 20;
const STATE_CALLS = 100;
const TEXT_CALLS = 20;
const sumTo = (n) => String((n * (n + 1)) / 2);

function expectedPrintBytes() {
  let n = 0;
  for (let i = 1; i <= PRINT_N; i++) n += String(i).length + '\tline\n'.length;
  return n;
}

function expectedSort() {
  const t = [];
  for (let i = 1; i <= SORT_N; i++) t.push(String((i * 7919) % SORT_N));
  t.sort(); // UTF-16 code unit order == byte order for ASCII digits == strcmp
  const s = t.join(',');
  return `${s.length}:${s.slice(0, 40)}:${s.slice(-40)}`;
}

const EXPECT = {
  call: { result: '2', outputBytes: 0 },
  // The sum of i % 7 for i = 1..20000: 2857 turns of 0..6, and 20000 % 7 = 1.
  loop: { result: '59998', outputBytes: 0 },
  fib: { result: '832040', outputBytes: 0 },
  print: {
    result: '',
    outputBytes: expectedPrintBytes(),
    outputHead: '1\tline\n2\tline\n3\tline\n',
    outputTail: `99999\tline\n${PRINT_N}\tline\n`,
  },
  sort: { result: expectedSort(), outputBytes: 0 },
  host_sync: { result: sumTo(HOST_SYNC_N) },
  host_async: { result: sumTo(HOST_ASYNC_N) },
  host_args: { result: sumTo(1000) },
  // f1999(1) = (1 + 1999) * 2 - 1999
  host_module: { result: '2001' },
  host_invoke: { result: String(INVOKE_CALLS) },
  host_preloaded: { result: '2001' },
  // Each page: the sum of 0..99.
  host_page: { result: '4950' },
  // 1,000 gets of k(i % 100), whose value is i % 100 (or of d(i), the same): 10 * (0 + ... + 99).
  host_state: { result: '49500' },
  // The text rows check their own results (string's and mw.ustring's differ in units).
  host_text: { result: '1' },
  // A page of 100 invokes, each rendering one row.
  host_mw_page: { result: '100' },
};

/** Returns [] when the sample checks out, else a list of problems. */
export function verify(workload, sample) {
  const exp = EXPECT[workload];
  const problems = [];
  if (sample.error) return [`error: ${sample.error}`];
  if (sample.result === undefined) problems.push('no return value available (run() missing?)');
  // Host rows: the number matters, not how a runtime writes it (fengari-interop gives floats).
  else if (workload.startsWith('host_') ? Number(sample.result) !== Number(exp.result) : sample.result !== exp.result)
    problems.push(`result ${JSON.stringify(sample.result.slice(0, 80))} != ${JSON.stringify(exp.result.slice(0, 80))}`);
  if (exp.outputBytes !== undefined && sample.outputBytes !== exp.outputBytes)
    problems.push(`captured ${sample.outputBytes} bytes, expected ${exp.outputBytes}`);
  if (exp.outputHead && sample.outputHead !== undefined && !sample.outputHead.startsWith(exp.outputHead))
    problems.push(`output starts ${JSON.stringify(sample.outputHead.slice(0, 20))}`);
  if (exp.outputTail && sample.outputTail !== undefined && !sample.outputTail.endsWith(exp.outputTail))
    problems.push(`output ends ${JSON.stringify(sample.outputTail.slice(-20))}`);
  return problems;
}

// unit 'calls/s': value is a rate (higher is better); ratio vs C = C rate / rate.
// unit 's': value is seconds per run (lower is better); ratio = s / C s.
// So every ratio is "times slower than C Lua in the same round".
// unit 'us': microseconds per host call or per call (the host rows: C has none).
export function measurements(cfg) {
  return [
    { id: 'call', workload: 'call', label: 'fresh state `return 1+1`, sequential', unit: 'calls/s', iters: cfg.calls, streams: 1 },
    { id: 'call_sync', workload: 'call', label: '  same, runLuaSync() (pubwiki)', unit: 'calls/s', iters: cfg.calls, streams: 1, sync: true, only: (rt) => rt.backend },
    { id: 'call_par2', workload: 'call', label: '  same, 2 parallel streams (native)', unit: 'calls/s', iters: cfg.calls, streams: 2, only: (rt) => rt.parallel },
    { id: 'call_par4', workload: 'call', label: '  same, 4 parallel streams (native)', unit: 'calls/s', iters: cfg.calls, streams: 4, only: (rt) => rt.parallel },
    // Short pure-Lua calls: each runs ~0.1 ms, all of it (natively) inside `run`'s first
    // slice on the JS thread, which must not run slower than `runSync` (preempt.rs).
    { id: 'loop', workload: 'loop', label: 'fresh state, a 20,000-turn loop (~0.1 ms), sequential', unit: 'calls/s', iters: Math.max(10, Math.ceil(cfg.calls / 50)), streams: 1 },
    { id: 'loop_sync', workload: 'loop', label: '  same, runLuaSync() (pubwiki)', unit: 'calls/s', iters: Math.max(10, Math.ceil(cfg.calls / 50)), streams: 1, sync: true, only: (rt) => rt.backend },
    { id: 'fib', workload: 'fib', label: 'recursive fib(30)', unit: 's', iters: 1 },
    { id: 'print', workload: 'print', label: `${PRINT_N / 1000}k print() captured by host`, unit: 's', iters: 1 },
    { id: 'sort', workload: 'sort', label: `${SORT_N / 1000}k strings sort + concat`, unit: 's', iters: 1 },
    { id: 'host_sync', workload: 'host_sync', label: `sync host call \`add(s, i)\`, ${HOST_SYNC_N / 1000}k in one run()`, unit: 'us', iters: HOST_SYNC_N, only: (rt) => rt.host?.includes('sync') },
    { id: 'host_sync_direct', workload: 'host_sync', label: '  same, in runSync() (pubwiki)', unit: 'us', iters: HOST_SYNC_N, sync: true, only: (rt) => rt.backend },
    { id: 'host_async', workload: 'host_async', label: `async host call, awaited (wasmoon: \`:await()\`), ${HOST_ASYNC_N / 1000}k in one run`, unit: 'us', iters: HOST_ASYNC_N, only: (rt) => rt.host?.includes('async') },
    { id: 'host_args', workload: 'host_args', label: 'fresh state given a 1,000-field object, reading every field', unit: 'us', iters: HOST_ARGS_CALLS, only: (rt) => rt.host?.includes('args') },
    { id: 'host_args_unread', workload: 'host_args', label: '  same, reading no field', unit: 'us', iters: HOST_ARGS_CALLS, unread: true, only: (rt) => rt.host?.includes('args') },
    { id: 'module_cached', workload: 'host_module', label: 'a call requiring a 100 KB module, runner cache (pubwiki)', unit: 'us', iters: MODULE_CALLS, only: (rt) => rt.host?.includes('module') },
    { id: 'module_uncached', workload: 'host_module', label: '  same, parsed every call (a new runner each)', unit: 'us', iters: MODULE_CALLS, unread: true, only: (rt) => rt.host?.includes('module') },
    { id: 'invoke', workload: 'host_invoke', label: 'invoke of a small module function (pubwiki)', unit: 'us', iters: INVOKE_CALLS, only: (rt) => rt.host?.includes('invoke') },
    { id: 'invoke_sync', workload: 'host_invoke', label: '  same, invokeSync()', unit: 'us', iters: INVOKE_CALLS, sync: true, only: (rt) => rt.host?.includes('invoke') },
    { id: 'invoke_preloaded', workload: 'host_preloaded', label: 'invoke of a function of a preloaded 100 KB module (pubwiki)', unit: 'us', iters: PRELOADED_CALLS, only: (rt) => rt.host?.includes('preload') },
    { id: 'invoke_preloaded_sync', workload: 'host_preloaded', label: '  same, invokeSync()', unit: 'us', iters: PRELOADED_CALLS, sync: true, only: (rt) => rt.host?.includes('preload') },
    { id: 'page', workload: 'host_page', label: 'a page of 100 invokes of small modules with arguments, per page (pubwiki)', unit: 'us', iters: PAGES, only: (rt) => rt.host?.includes('invoke') },
    { id: 'page_sync', workload: 'host_page', label: '  same, invokeSync()', unit: 'us', iters: PAGES, sync: true, only: (rt) => rt.host?.includes('invoke') },
    { id: 'state_memory', workload: 'host_state', label: 'a call doing 1,000 State.get + 100 State.set, MemoryStore (pubwiki)', unit: 'us', iters: STATE_CALLS, variant: 'memory', only: (rt) => rt.host?.includes('state') },
    { id: 'state_sqlite', workload: 'host_state', label: '  same, SqliteStore (a WAL file; one commit per call)', unit: 'us', iters: STATE_CALLS, variant: 'sqlite', only: (rt) => rt.host?.includes('state') },
    { id: 'state_memory_distinct', workload: 'host_state', label: '  same, 1,000 distinct keys, MemoryStore', unit: 'us', iters: STATE_CALLS, variant: 'memory-distinct', only: (rt) => rt.host?.includes('state') },
    { id: 'state_sqlite_distinct', workload: 'host_state', label: '  same, 1,000 distinct keys, SqliteStore', unit: 'us', iters: STATE_CALLS, variant: 'sqlite-distinct', only: (rt) => rt.host?.includes('state') },
    { id: 'state_memory_sync', workload: 'host_state', label: '  same, MemoryStore, runSync()', unit: 'us', iters: STATE_CALLS, sync: true, variant: 'memory', only: (rt) => rt.host?.includes('state') },
    { id: 'state_sqlite_sync', workload: 'host_state', label: '  same, SqliteStore, runSync()', unit: 'us', iters: STATE_CALLS, sync: true, variant: 'sqlite', only: (rt) => rt.host?.includes('state') },
    { id: 'text_string_find', workload: 'host_text', label: 'a call: find on 100 KB of mixed UTF-8, string.find (pubwiki)', unit: 'us', iters: TEXT_CALLS, variant: 'string-find', only: (rt) => rt.host?.includes('mw') },
    { id: 'text_ustring_find', workload: 'host_text', label: '  same bytes, mw.ustring.find', unit: 'us', iters: TEXT_CALLS, variant: 'ustring-find', only: (rt) => rt.host?.includes('mw') },
    { id: 'text_string_gsub', workload: 'host_text', label: 'a call: gsub of every word on the 100 KB, string.gsub', unit: 'us', iters: TEXT_CALLS, variant: 'string-gsub', only: (rt) => rt.host?.includes('mw') },
    { id: 'text_ustring_gsub', workload: 'host_text', label: '  same bytes, mw.ustring.gsub', unit: 'us', iters: TEXT_CALLS, variant: 'ustring-gsub', only: (rt) => rt.host?.includes('mw') },
    { id: 'text_string_sub', workload: 'host_text', label: 'a call: 1,000 sub() of 10 characters across the 100 KB, string.sub', unit: 'us', iters: TEXT_CALLS, variant: 'string-sub', only: (rt) => rt.host?.includes('mw') },
    { id: 'text_ustring_sub', workload: 'host_text', label: '  same bytes, mw.ustring.sub', unit: 'us', iters: TEXT_CALLS, variant: 'ustring-sub', only: (rt) => rt.host?.includes('mw') },
    { id: 'mw_page', workload: 'host_mw_page', label: 'a page of 100 invokes of a module using mw.html and frame.args, per page', unit: 'us', iters: PAGES, only: (rt) => rt.host?.includes('mw') },
  ].filter((m) => !cfg.workloads || cfg.workloads.includes(m.id) || cfg.workloads.includes(m.workload));
}
