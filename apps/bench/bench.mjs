#!/usr/bin/env node
// evloop core benchmarks beside Node and Python.
//
//   node bench.mjs            full run (a few minutes): 5 measured runs per row
//   node bench.mjs --quick    small sizes, 1 run: a smoke test that every row works
//   node bench.mjs --json     print the results as JSON instead of a table
//   node bench.mjs --only tasks-gen,callsoon-chain   some rows only
//   node bench.mjs --no-forced-gc   no full GC before each measured run
//
// Every (row, implementation) pair runs in its own child process: one
// warm-up at a tenth of the size, then the measured runs, each on a fresh
// loop after a full GC (unless --no-forced-gc). The table shows medians.
//
// The forced GC makes every run start from the same heap, but V8 then
// compiles the hot code again in each run; a long-lived program sees the
// steady state instead, which --no-forced-gc measures (docs/benchmarks.md,
// "The timer rows' wake-up cost").
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIZES, exitWithUsage, median, parseBenchArgs } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The rows. `evloop`/`node`/`python` name the scenario each runner runs;
 * `metric` is the figure the ratios compare.
 */
export const ROWS = [
  {
    id: 'callsoon-batch',
    pythonLabel: '1M loop.call_soon queued up front',
    label: '1M callSoon queued up front, one loop runs them',
    sizes: 'callsoon-batch',
    evloop: 'callsoon-batch',
    node: 'callsoon-batch',
    nodeLabel: '1M setImmediate queued up front',
    python: 'callsoon-batch',
  },
  {
    id: 'callsoon-chain',
    pythonLabel: '1M chained loop.call_soon',
    label: '1M callSoon chained (each callback schedules the next)',
    sizes: 'callsoon-chain',
    evloop: 'callsoon-chain',
    node: 'callsoon-chain',
    nodeLabel: '1M chained setImmediate',
    python: 'callsoon-chain',
  },
  {
    id: 'timers-1s',
    pythonLabel: '100k loop.call_later, same delays',
    label: '100k callLater, delays uniform in [0, 1] s (whole ms)',
    sizes: 'timers-1s',
    evloop: 'timers-1s',
    node: 'timers-1s',
    nodeLabel: '100k setTimeout, same delays',
    python: 'timers-1s',
  },
  {
    id: 'timers-100ms',
    pythonLabel: '100k loop.call_later, same delays',
    label: '100k callLater, delays uniform in [0, 0.1] s (whole ms)',
    sizes: 'timers-100ms',
    evloop: 'timers-100ms',
    node: 'timers-100ms',
    nodeLabel: '100k setTimeout, same delays',
    python: 'timers-100ms',
  },
  {
    id: 'tasks-gen',
    pythonLabel: '10k tasks x 100 `await asyncio.sleep(0)`',
    label: '10k generator tasks x 100 `yield* sleep(0)`',
    sizes: 'tasks',
    evloop: 'tasks-gen',
    node: 'tasks',
    nodeLabel: '10k async functions x 100 `await new Promise(setImmediate)`',
    python: 'tasks',
  },
  {
    id: 'tasks-async',
    pythonLabel: '10k tasks x 100 `await asyncio.sleep(0)`',
    label: '10k async-function tasks x 100 `await sleep(0)`',
    sizes: 'tasks',
    evloop: 'tasks-async',
    node: 'tasks',
    nodeLabel: '10k async functions x 100 `await new Promise(setImmediate)`',
    python: 'tasks',
  },
];

export const IMPLEMENTATIONS = ['evloop', 'node', 'asyncio', 'uvloop'];

const USAGE = 'usage: bench.mjs [--quick] [--json] [--runs N] [--only ROW[,ROW...]] [--no-forced-gc]';
const usage = (message) => exitWithUsage(USAGE, message);

function parseCli() {
  const values = parseBenchArgs(
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      'no-forced-gc': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (values.help) usage();
  const runs = values.runs === undefined ? (values.quick ? 1 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a positive integer');
  let rows = ROWS;
  if (values.only !== undefined) {
    const wanted = values.only.split(',');
    for (const id of wanted) if (!ROWS.some((row) => row.id === id)) usage(`unknown row ${id}; rows: ${ROWS.map((r) => r.id).join(', ')}`);
    rows = ROWS.filter((row) => wanted.includes(row.id));
  }
  return { quick: values.quick, json: values.json, runs, rows, forcedGc: !values['no-forced-gc'] };
}

/** The Python to use: $EVLOOP_BENCH_PYTHON, else the system one (which sees Debian's python3-uvloop), else python3 on PATH. */
function pythonCommand() {
  if (process.env.EVLOOP_BENCH_PYTHON) return process.env.EVLOOP_BENCH_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function probePython(python) {
  const result = spawnSync(python, [path.join(here, 'python', 'bench.py'), '--probe'], { encoding: 'utf8' });
  if (result.status !== 0 || result.error) return { python: null, asyncio: false, uvloop: null };
  try {
    return JSON.parse(result.stdout);
  } catch {
    return { python: null, asyncio: false, uvloop: null };
  }
}

function runChild(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 });
  if (result.error) return { error: result.error.message };
  if (result.status !== 0) return { error: `exit ${result.status ?? result.signal}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}` };
  try {
    return JSON.parse(result.stdout.trim().split('\n').at(-1));
  } catch {
    return { error: `unreadable output: ${result.stdout.slice(0, 200)}` };
  }
}

function summarize(raw, params) {
  if (raw.error !== undefined) return { status: 'failed', error: raw.error };
  const out = { status: 'ok', wallMs: median(raw.wallMs), cpuMs: median(raw.cpuMs), runs: raw.wallMs.length, forcedGc: raw.forcedGc, raw: { wallMs: raw.wallMs, cpuMs: raw.cpuMs } };
  if (params.maxMs !== undefined) out.pastLastDueMs = out.wallMs - params.maxMs;
  return out;
}

function runAll({ quick, runs, rows, forcedGc = true }, progress) {
  const sizes = quick ? SIZES.quick : SIZES.full;
  const python = pythonCommand();
  const found = probePython(python);
  const cache = new Map();
  const results = [];
  for (const row of rows) {
    const params = sizes[row.sizes];
    const cells = {};
    for (const impl of IMPLEMENTATIONS) {
      const scenario = impl === 'evloop' ? row.evloop : impl === 'node' ? row.node : row.python;
      const key = `${impl}:${scenario}`;
      if (!cache.has(key)) {
        let cell;
        if ((impl === 'asyncio' && !found.asyncio) || (impl === 'uvloop' && !found.uvloop)) {
          cell = { status: 'not installed' };
        } else {
          progress(`${row.id}: ${impl}`);
          const args = [scenario, JSON.stringify(params), String(runs), '1'];
          // Node children collect before a run only when gc() is exposed; Python's get 'nogc'.
          const raw =
            impl === 'evloop' || impl === 'node'
              ? runChild(process.execPath, [...(forcedGc ? ['--expose-gc'] : []), path.join(here, 'src', `${impl}.mjs`), ...args])
              : runChild(python, [path.join(here, 'python', 'bench.py'), impl, ...args, ...(forcedGc ? [] : ['nogc'])]);
          cell = summarize(raw, params);
        }
        cache.set(key, cell);
      }
      cells[impl] = cache.get(key);
    }
    results.push({ id: row.id, label: row.label, nodeLabel: row.nodeLabel, pythonLabel: row.pythonLabel, params, cells });
  }
  return {
    environment: {
      node: process.version,
      python: found.python,
      uvloop: found.uvloop,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      platform: `${process.platform} ${os.release()}`,
      mode: quick ? 'quick' : 'full',
      runs,
      forcedGc,
    },
    rows: results,
  };
}

/** other / evloop on CPU time: above 1 means evloop used less CPU (is faster). */
function ratio(evloop, other) {
  if (evloop?.status !== 'ok' || other?.status !== 'ok') return '—';
  return `${(other.cpuMs / evloop.cpuMs).toFixed(2)}x`;
}

function cell(result) {
  if (result.status === 'not installed') return 'not installed';
  if (result.status !== 'ok') return 'FAILED';
  return `${Math.round(result.cpuMs)} / ${Math.round(result.wallMs)}`;
}

export function formatTable(report) {
  const env = report.environment;
  const lines = [];
  lines.push(`evloop benchmarks (${env.mode}, median of ${env.runs} run${env.runs === 1 ? '' : 's'}${env.forcedGc === false ? ', no forced GC between runs' : ''}) — Node ${env.node}, Python ${env.python ?? 'not found'}, uvloop ${env.uvloop ?? 'not installed'}, ${env.cpus} CPUs (${env.cpuModel}), ${env.platform}`);
  lines.push('');
  lines.push('Cells are CPU ms / wall ms. Ratio columns are other CPU time / evloop CPU time: above 1.00x evloop is faster.');
  lines.push('');
  const header = ['row', 'evloop', 'Node', 'Node/evloop', 'asyncio', 'asyncio/evloop', 'uvloop', 'uvloop/evloop'];
  const body = report.rows.map((row) => [
    row.id,
    cell(row.cells.evloop),
    cell(row.cells.node),
    ratio(row.cells.evloop, row.cells.node),
    cell(row.cells.asyncio),
    ratio(row.cells.evloop, row.cells.asyncio),
    cell(row.cells.uvloop),
    ratio(row.cells.evloop, row.cells.uvloop),
  ]);
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`|${header.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const cells of body) lines.push(`| ${cells.join(' | ')} |`);
  const timerRows = report.rows.filter((row) => row.params.maxMs !== undefined);
  if (timerRows.length > 0) {
    lines.push('');
    lines.push('Timers: wall ms from scheduling the first timer until the last one fired, beyond the largest delay:');
    lines.push('');
    lines.push('| row | evloop | Node | asyncio | uvloop |');
    lines.push('|---|---:|---:|---:|---:|');
    for (const row of timerRows) {
      const past = (impl) => (row.cells[impl].status === 'ok' ? row.cells[impl].pastLastDueMs.toFixed(1) : row.cells[impl].status);
      lines.push(`| ${row.id} | ${IMPLEMENTATIONS.map(past).join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push(env.mode === 'quick' ? 'Rows (sizes as in a full run; --quick runs far fewer):' : 'Rows:');
  for (const row of report.rows) lines.push(`- ${row.id}: evloop: ${row.label}; Node: ${row.nodeLabel}; Python: ${row.pythonLabel}.`);
  const failures = report.rows.flatMap((row) => IMPLEMENTATIONS.filter((impl) => row.cells[impl].status === 'failed').map((impl) => `${row.id} ${impl}: ${row.cells[impl].error}`));
  if (failures.length > 0) {
    lines.push('');
    lines.push('Failures:');
    for (const failure of failures) lines.push(`- ${failure}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseCli();
  const progress = options.json || !process.stderr.isTTY ? () => {} : (text) => process.stderr.write(`\r\x1b[K${text}`);
  const report = runAll(options, progress);
  if (process.stderr.isTTY && !options.json) process.stderr.write('\r\x1b[K');
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatTable(report));
  const failed = report.rows.some((row) => IMPLEMENTATIONS.some((impl) => row.cells[impl].status === 'failed'));
  process.exitCode = failed ? 1 : 0;
}
