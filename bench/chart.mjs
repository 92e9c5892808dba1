#!/usr/bin/env node
// Renders bench/results.json as a hand-written SVG bar chart (bench/chart.svg).
//
//   node bench/chart.mjs [results.json] [chart.svg]
//
// Top panel: one group per timed workload, one horizontal bar per runtime,
// bar length = median "times slower than C Lua 5.4" on a log axis (C = 1x).
// Bottom panel: time to first result, RSS and wasm size, bars normalized to
// the largest value in each group, labelled with absolute values.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const COLORS = { c: '#555555', c_hook: '#aaaaaa', native: '#1f77b4', wasm: '#17becf', wasmoon: '#ff7f0e', fengari: '#2ca02c', quickjs: '#9467bd' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmtRatio = (r) => (r < 10 ? r.toFixed(2) : r.toFixed(1)) + 'x';

function fmtValue(unit, v) {
  if (unit === 'calls/s') return v >= 1000 ? `${(v / 1000).toFixed(1)}k calls/s` : `${v.toFixed(0)} calls/s`;
  if (unit === 's') return v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 2 : 0)} ms` : `${v.toFixed(2)} s`;
  if (unit === 'ms') return `${v.toFixed(1)} ms`;
  if (unit === 'us') return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(2)} us`;
  if (unit === 'KB') return v >= 1024 ? `${(v / 1024).toFixed(1)} MB` : `${v.toFixed(0)} KB`;
  return String(v);
}

export function renderChart(report) {
  const ids = Object.keys(report.runtimes).filter((id) => report.runtimes[id].available);
  const label = (id) => report.runtimes[id].label;
  const W = 960;
  const LEFT = 300; // group/runtime labels
  const RIGHT = 170; // value labels
  const plotW = W - LEFT - RIGHT;
  const BAR = 14;
  const GAP = 4;
  const parts = [];
  let y = 0;

  const text = (x, yy, s, attrs = '') => parts.push(`<text x="${x}" y="${yy}" ${attrs}>${esc(s)}</text>`);

  // title
  y += 28;
  text(16, y, 'pubwiki-lua benchmark: times slower than C Lua 5.4 (median of rounds, log scale, lower is better)', 'font-size="16" font-weight="bold"');
  y += 18;
  const m = report.meta;
  text(16, y, `${m.date.slice(0, 19).replace('T', ' ')} UTC, node ${m.node}, ${m.cpu || ''} (${m.cores} cores), ${m.config.rounds} rounds`, 'font-size="11" fill="#666"');
  y += 14;

  // legend
  let lx = 16;
  y += 10;
  for (const id of ids) {
    parts.push(`<rect x="${lx}" y="${y - 10}" width="12" height="12" fill="${COLORS[id] || '#999'}"/>`);
    text(lx + 16, y, label(id), 'font-size="12"');
    lx += 22 + label(id).length * 7.2;
  }
  y += 16;

  // ----- ratio panel
  const groups = report.workloads
    .map((w) => ({
      w,
      bars: ids
        .filter((id) => w.results[id] && w.results[id].ratio_vs_c != null)
        .map((id) => ({ id, r: id === 'c' ? 1 : w.results[id].ratio_vs_c, v: w.results[id].median, ok: w.results[id].verified })),
    }))
    .filter((g) => g.bars.length);
  if (groups.length) {
    const all = groups.flatMap((g) => g.bars.map((b) => b.r));
    const minR = Math.min(...all) * 0.9;
    // lower bound: the largest of 0.5, 0.2, 0.1, 0.05, ... below the smallest ratio
    let lo = 0.5;
    for (let i = 0; lo > minR && i < 30; i++) lo = [0.5, 0.2, 0.1][(i + 1) % 3] * Math.pow(10, -Math.floor((i + 1) / 3));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(2, ...all) * 1.05)));
    const sx = (r) => LEFT + ((Math.log10(r) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
    const top = y + 8;
    const height = groups.reduce((h, g) => h + 22 + g.bars.length * (BAR + GAP) + 8, 0);
    // grid
    for (let d = Math.pow(10, Math.floor(Math.log10(lo) + 1e-9)); d <= hi * 1.0001; d *= 10) {
      for (const k of [1, 2, 5]) {
        const t = Number((d * k).toPrecision(3));
        if (t < lo * 0.999 || t > hi * 1.001) continue;
        const x = sx(t).toFixed(1);
        const major = k === 1;
        parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + height}" stroke="${t === 1 ? '#000' : major ? '#bbb' : '#e4e4e4'}" stroke-width="${t === 1 ? 1.2 : 1}"/>`);
        text(x, top + height + 14, `${t}x`, 'font-size="10" text-anchor="middle" fill="#555"');
      }
    }
    y = top;
    for (const g of groups) {
      y += 16;
      text(16, y, `${g.w.label} (${g.w.unit === 's' ? 'time' : 'calls/s'})`, 'font-size="13" font-weight="bold"');
      y += 6;
      for (const b of g.bars) {
        const x0 = sx(Math.max(lo, Math.min(1, b.r)));
        const x1 = sx(Math.min(hi, Math.max(1, b.r)));
        text(LEFT - 8, y + BAR - 3, label(b.id), 'font-size="12" text-anchor="end"');
        parts.push(
          `<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1.5, x1 - x0).toFixed(1)}" height="${BAR}" fill="${COLORS[b.id] || '#999'}"><title>${esc(`${label(b.id)}: ${fmtValue(g.w.unit, b.v)} = ${fmtRatio(b.r)} C`)}</title></rect>`,
        );
        text(Math.max(x1, sx(1)) + 6, y + BAR - 3, `${fmtRatio(b.r)} \u00b7 ${fmtValue(g.w.unit, b.v)}${b.ok ? '' : ' \u00b7 check failed'}`, 'font-size="11" fill="#333"');
        y += BAR + GAP;
      }
      y += 8;
    }
    y = top + height + 30;
  }

  // ----- absolute panel (normalized per group)
  const abs = [];
  // Host calls have no C column: absolute time per call.
  for (const w of report.workloads.filter((w) => w.unit === 'us'))
    abs.push({
      title: `${w.label.trim()} (per ${w.id === 'host_args' ? 'call' : 'host call'})`,
      unit: 'us',
      bars: ids.filter((id) => w.results[id]?.median != null).map((id) => ({ id, v: w.results[id].median })),
    });
  const tt = report.time_to_first_result_ms || {};
  if (Object.keys(tt).length)
    abs.push({
      title: 'time to first result, fresh process (ms)',
      unit: 'ms',
      bars: ids.filter((id) => tt[id]?.median != null).map((id) => ({ id, v: tt[id].median })),
    });
  const rss = report.rss || {};
  const n = report.meta.config.rssCalls;
  for (const key of [...new Set(['1000', String(n)])])
    if (Object.keys(rss).length)
      abs.push({
        title: `RSS after ${Number(key) / 1000}k fresh-state calls`,
        unit: 'KB',
        bars: ids.filter((id) => rss[id]?.rss_kb?.[key] > 0).map((id) => ({ id, v: rss[id].rss_kb[key] })),
      });
  const sizes = report.wasm_size || {};
  for (const [k, t] of [['raw_bytes', 'wasm size, raw'], ['gzip_bytes', 'wasm size, gzip -9']])
    abs.push({ title: t, unit: 'KB', bars: ids.filter((id) => sizes[id]?.[k]).map((id) => ({ id, v: sizes[id][k] / 1024 })) });
  const absGroups = abs.filter((g) => g.bars.length);
  if (absGroups.length) {
    y += 10;
    text(16, y, 'Absolute values (bars normalized to the largest in each group, lower is better)', 'font-size="15" font-weight="bold"');
    y += 6;
    for (const g of absGroups) {
      const max = Math.max(...g.bars.map((b) => b.v));
      y += 16;
      text(16, y, g.title, 'font-size="13" font-weight="bold"');
      y += 6;
      for (const b of g.bars) {
        text(LEFT - 8, y + BAR - 3, label(b.id), 'font-size="12" text-anchor="end"');
        const w = Math.max(1.5, (b.v / max) * plotW);
        parts.push(`<rect x="${LEFT}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[b.id] || '#999'}"/>`);
        text(LEFT + w + 6, y + BAR - 3, fmtValue(g.unit, b.v), 'font-size="11" fill="#333"');
        y += BAR + GAP;
      }
      y += 8;
    }
  }
  y += 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(y)}" viewBox="0 0 ${W} ${Math.ceil(y)}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const benchDir = path.dirname(fileURLToPath(import.meta.url));
  const input = process.argv[2] || path.join(benchDir, 'results.json');
  const output = process.argv[3] || path.join(path.dirname(input), 'chart.svg');
  const report = JSON.parse(fs.readFileSync(input, 'utf8'));
  fs.writeFileSync(output, renderChart(report));
  console.error(`wrote ${output}`);
}
