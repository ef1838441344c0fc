#!/usr/bin/env node
// Which garbage-collection state a JavaScript echo server settles into:
// how many of N fresh server processes run, under the same echo load, a
// major collection (mark-compact) at least MAJOR_PER_SECOND times a second.
// On Node 24 an evloop server whose reads hand out fresh slab memory could
// settle into that state in about two processes of three, for 9-16% more
// CPU per round trip (docs/benchmarks.md, "Read slabs and Node 24's major
// collections"); this script is how that was counted.
//
//   node gc-states.mjs                        8 processes each of evloop and Node net, echo-c100-64Bx16
//   node gc-states.mjs --quick                1 process each, short: a smoke test
//   node gc-states.mjs --processes 12 --impl evloop,evloop-uring --size 4096 --connections 10 --depth 1
//   node gc-states.mjs --json
//
// Each process is the server net.mjs runs (src/net-server.mjs, IMPL echo),
// started with --trace-gc and pinned to CPU 0 when taskset is there; the C
// echo client (c/echo-client.c, built with cc) loads it from CPU 1 for a
// warm-up, then for the measured window, and the collections V8 reports in
// that window are counted. Run it under the Node to look at
// (scripts/with-node.sh 24 node gc-states.mjs). Counts, not timings, decide
// the state; the round-trip rate is reported beside them. Linux only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onPath, pinned, run, startServer, stopServer } from './net.mjs';
import { exitWithUsage, parseBenchArgs } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const USAGE =
  'usage: gc-states.mjs [--quick] [--json] [--processes N] [--impl evloop,evloop-uring,evloop-streams,node] [--connections N] [--size BYTES] [--depth N] [--warmup S] [--seconds S]';
const IMPLEMENTATIONS = ['evloop', 'evloop-uring', 'evloop-streams', 'node'];
/** At least this many mark-compacts a second in the window: the major-collection state. */
export const MAJOR_PER_SECOND = 5;

function positiveInteger(text, name) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) exitWithUsage(USAGE, `--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

function positiveSeconds(text, name) {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) exitWithUsage(USAGE, `--${name} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return value;
}

function parseCli() {
  const values = parseBenchArgs(
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      processes: { type: 'string' },
      impl: { type: 'string' },
      connections: { type: 'string' },
      size: { type: 'string' },
      depth: { type: 'string' },
      warmup: { type: 'string' },
      seconds: { type: 'string' },
    },
    USAGE,
  );
  const impls = values.impl === undefined ? ['evloop', 'node'] : values.impl.split(',');
  for (const impl of impls) if (!IMPLEMENTATIONS.includes(impl)) exitWithUsage(USAGE, `unknown implementation ${JSON.stringify(impl)} (known: ${IMPLEMENTATIONS.join(', ')})`);
  return {
    json: values.json,
    impls,
    processes: values.processes === undefined ? (values.quick ? 1 : 8) : positiveInteger(values.processes, 'processes'),
    connections: values.connections === undefined ? 100 : positiveInteger(values.connections, 'connections'),
    size: values.size === undefined ? 64 : positiveInteger(values.size, 'size'),
    depth: values.depth === undefined ? 16 : positiveInteger(values.depth, 'depth'),
    warmup: values.warmup === undefined ? (values.quick ? 0.2 : 1) : positiveSeconds(values.warmup, 'warmup'),
    seconds: values.seconds === undefined ? (values.quick ? 0.5 : 3) : positiveSeconds(values.seconds, 'seconds'),
  };
}

/** Count the collections `--trace-gc` reported in `lines`. */
export function countCollections(lines) {
  let young = 0;
  let major = 0;
  for (const line of lines) {
    if (/: (Scavenge|Minor Mark-Sweep)\b/.test(line)) young++;
    else if (/: Mark-Compact\b/.test(line)) major++;
  }
  return { young, major };
}

/** One server process: warm it up, count its collections over the window. */
async function measureProcess(impl, options, client, tools) {
  const { child, port } = await startServer(pinned(tools, 0, process.execPath, ['--trace-gc', path.join(here, 'src', 'net-server.mjs'), impl, 'echo']));
  // --trace-gc writes one line per collection to stdout: count those of the measured window.
  let young = 0;
  let major = 0;
  let counting = false;
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    if (!counting) return;
    const counted = countCollections(parts);
    young += counted.young;
    major += counted.major;
  });
  try {
    const load = async (seconds) => {
      const { command, args } = pinned(tools, 1, client, [port, options.connections, options.size, seconds, child.pid, options.depth].map(String));
      const result = await run(command, args, (seconds + 60) * 1000);
      if (result.status !== 0) throw new Error(`echo-client exit ${result.status}: ${result.stderr.trim()}`);
      return JSON.parse(result.stdout.trim().split('\n').at(-1));
    };
    await load(options.warmup);
    counting = true;
    const result = await load(options.seconds);
    counting = false;
    return {
      young,
      major,
      seconds: result.seconds,
      majorState: major / result.seconds >= MAJOR_PER_SECOND,
      perSecond: result.perSecond,
      serverCpuMs: result.serverCpuMs ?? null,
      roundTrips: result.roundTrips,
    };
  } finally {
    await stopServer(child);
  }
}

async function main() {
  const options = parseCli();
  if (process.platform !== 'linux') exitWithUsage(USAGE, 'gc-states.mjs runs on Linux only');
  if (!onPath('cc')) exitWithUsage(USAGE, 'cc is needed to build the echo load generator (c/echo-client.c)');
  const buildDir = mkdtempSync(path.join(os.tmpdir(), 'evloop-bench-gc-'));
  try {
    const client = path.join(buildDir, 'echo-client');
    const built = spawnSync('cc', ['-O2', '-o', client, path.join(here, 'c', 'echo-client.c')], { encoding: 'utf8', timeout: 60_000 });
    if (built.status !== 0) throw new Error(`cc echo-client.c failed: ${built.stderr}`);
    const tools = { pin: os.cpus().length >= 2 && onPath('taskset') };
    const results = Object.fromEntries(options.impls.map((impl) => [impl, []]));
    // Interleaved, so a change in the machine's load hits every implementation alike.
    for (let i = 0; i < options.processes; i++) for (const impl of options.impls) results[impl].push(await measureProcess(impl, options, client, tools));
    const report = {
      node: process.version,
      v8: process.versions.v8,
      row: { connections: options.connections, size: options.size, depth: options.depth },
      warmupSeconds: options.warmup,
      seconds: options.seconds,
      majorPerSecond: MAJOR_PER_SECOND,
      implementations: options.impls.map((impl) => ({ impl, processes: results[impl] })),
    };
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    console.log(
      `GC states: ${options.processes} server processes each, echo ${options.connections} connections × ${options.size} B, ${options.depth} in flight; ` +
        `${options.seconds} s counted after ${options.warmup} s of warm-up — Node ${process.version} (V8 ${process.versions.v8})`,
    );
    console.log('');
    console.log('| server | processes with ≥ 5 mark-compacts a second | young / major collections per process | round trips a second |');
    console.log('|---|---|---|---|');
    for (const { impl, processes } of report.implementations) {
      const inState = processes.filter((entry) => entry.majorState).length;
      const counts = processes.map((entry) => `${entry.young}/${entry.major}`).join(', ');
      const rates = processes.map((entry) => `${(entry.perSecond / 1000).toFixed(0)}k`).join(', ');
      console.log(`| ${impl} | ${inState} of ${processes.length} | ${counts} | ${rates} |`);
    }
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
