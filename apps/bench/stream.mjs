#!/usr/bin/env node
// The bulk stream side by side: evloop on epoll and on io_uring, Node `net`,
// Python asyncio and uvloop, each echoing a stream of big messages over one
// loopback TCP connection, server and client in one loop of one process
// (scaling.mjs's stream cell, without idle sockets). The figure is the
// process's CPU ms per MB echoed, and each implementation's figure over
// evloop-on-epoll's within the same round.
//
//   node stream.mjs                         16 KiB and 64 KiB messages, 8 in flight, 3 rounds
//   node stream.mjs --quick                 one round of short runs: a smoke test
//   node stream.mjs --impl epoll,uring,uvloop --sizes 16384 --rounds 5
//   node stream.mjs --baseline ROOT         also epoll and uring of the checkout at ROOT
//                                           (as epoll@base, uring@base), for before/after
//   node stream.mjs --congestion cubic     every connection on that TCP congestion control
//                                           instead of the system's (not Node's: net cannot set it)
//   node stream.mjs --json
//
// Rounds interleave every implementation (round 1: each size, each
// implementation; round 2: the same ...), so a load change on a shared
// machine hits all of them; read the ratios within a round. Every cell is a
// child process: evloop's through scaling.mjs --cell, Node's through this
// script's own --cell, Python's through python/stream_echo.py. Each cell
// warms up, then measures RUNS runs and reports their median.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonCommand } from './net.mjs';
import { exitWithUsage, median, parseBenchArgs } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const IMPLS = ['epoll', 'uring', 'node', 'asyncio', 'uvloop'];
const TIMING = { full: { warmup: 0.3, duration: 1, runs: 3, rounds: 3 }, quick: { warmup: 0.05, duration: 0.1, runs: 1, rounds: 1 } };
const SIZES = [16_384, 65_536];
const DEPTH = 8;
const CELL_TIMEOUT_MS = 90_000;
const USAGE =
  'usage: stream.mjs [--quick] [--json] [--impl epoll,uring,node,asyncio,uvloop] [--sizes 16384,65536] [--depth 8] [--rounds N] [--duration S] [--runs N] [--baseline ROOT] [--congestion NAME]';

// ------------------------------------------------------------ Node's cell

/** Node `net`: the same echo server and client as scaling.mjs's stream cell, on Node's own loop. */
async function runNodeCell({ messageBytes, depth, warmup, duration, runs }) {
  const message = Buffer.alloc(messageBytes, 0x61);
  const server = net.createServer((socket) => {
    socket.on('data', (data) => socket.write(data));
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect(server.address().port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const now = () => performance.now() / 1e3;
  const state = { sent: 0, received: 0, deadline: 0, finishing: false, finish: null };
  const fill = () => {
    while (state.sent - Math.floor(state.received / messageBytes) < depth) {
      socket.write(message);
      state.sent += 1;
    }
  };
  socket.on('data', (data) => {
    state.received += data.length;
    if (!state.finishing && now() >= state.deadline) state.finishing = true;
    if (!state.finishing) fill();
    else if (state.received === state.sent * messageBytes) state.finish(state.sent);
  });
  const start = (seconds) =>
    new Promise((resolve) => {
      Object.assign(state, { sent: 0, received: 0, finishing: false, deadline: now() + seconds, finish: resolve });
      fill();
    });
  await start(warmup);
  const measured = [];
  for (let run = 0; run < runs; run++) {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const cpuBefore = process.cpuUsage();
    const started = now();
    const messages = await start(duration);
    const seconds = now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    measured.push({ messages, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  }
  socket.destroy();
  server.close();
  console.log(JSON.stringify({ status: 'ok', measured }));
}

// ------------------------------------------------------------ the parent

/** The command of one cell, or the reason it cannot run. */
function cellCommand(impl, messageBytes, depth, timing, baseline) {
  const { warmup, duration, runs } = timing;
  const [name, base] = impl.split('@');
  if (name === 'epoll' || name === 'uring') {
    const root = base === undefined ? here : path.resolve(baseline, 'apps', 'bench');
    const spec = [name, 0, warmup, duration, runs, messageBytes, depth].join(':');
    return { command: process.execPath, args: ['--expose-gc', path.join(root, 'scaling.mjs'), '--cell', spec], cwd: root };
  }
  if (name === 'node') {
    return { command: process.execPath, args: ['--expose-gc', fileURLToPath(import.meta.url), '--cell', ['node', messageBytes, depth, warmup, duration, runs].join(':')], cwd: here };
  }
  return { command: pythonCommand(), args: [path.join(here, 'python', 'stream_echo.py'), name, messageBytes, depth, warmup, duration, runs].map(String), cwd: here };
}

function runCell(impl, messageBytes, depth, timing, baseline, congestion) {
  if (congestion !== undefined && impl === 'node') return { status: 'skipped', reason: "Node's net cannot set TCP_CONGESTION" };
  const { command, args, cwd } = cellCommand(impl, messageBytes, depth, timing, baseline);
  const env = congestion === undefined ? process.env : { ...process.env, EVLOOP_BENCH_TCP_CONGESTION: congestion };
  const child = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: CELL_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (child.error?.code === 'ETIMEDOUT') return { status: 'failed', reason: `did not finish in ${CELL_TIMEOUT_MS / 1000} s` };
  if (child.error) return { status: 'unusable', reason: child.error.message };
  const line = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  let report;
  try {
    report = JSON.parse(line);
  } catch {
    return { status: 'failed', reason: ((child.stderr ?? '').trim() || `exit status ${child.status}`).split('\n').slice(0, 3).join(' ') };
  }
  if (report.status !== 'ok') return report;
  if (child.status !== 0) return { status: 'failed', reason: child.stderr.trim().split('\n')[0] };
  const megabytes = (run) => (run.messages * messageBytes) / 1e6;
  return {
    status: 'ok',
    megabytesPerSecond: Number(median(report.measured.map((run) => megabytes(run) / run.seconds)).toFixed(1)),
    cpuMillisecondsPerMegabyte: Number(median(report.measured.map((run) => (run.cpuSeconds * 1e3) / megabytes(run))).toFixed(4)),
  };
}

function formatTables(rounds, impls, sizes, depth, machine) {
  const lines = [];
  lines.push(`Bulk stream: one loopback connection, server and client in one process, ${depth} messages in flight`);
  lines.push(`Node ${machine.node}, TCP congestion control ${machine.congestion ?? "the system's default"}; ${rounds.length} interleaved rounds, each cell the median of ${machine.runs} runs of ${machine.duration} s; CPU ms per MB (× epoll in the same round)`);
  for (const size of sizes) {
    lines.push('');
    lines.push(`${size / 1024} KiB messages`);
    lines.push('');
    lines.push(`| round | ${impls.join(' | ')} |`);
    lines.push(`|---|${impls.map(() => '---:').join('|')}|`);
    const ratios = new Map(impls.map((impl) => [impl, []]));
    const figures = new Map(impls.map((impl) => [impl, []]));
    rounds.forEach((round, index) => {
      const epoll = round[size].epoll;
      const cells = impls.map((impl) => {
        const entry = round[size][impl];
        if (entry.status !== 'ok') return entry.status;
        figures.get(impl).push(entry.cpuMillisecondsPerMegabyte);
        if (epoll?.status !== 'ok') return `${entry.cpuMillisecondsPerMegabyte.toFixed(3)}`;
        const ratio = entry.cpuMillisecondsPerMegabyte / epoll.cpuMillisecondsPerMegabyte;
        ratios.get(impl).push(ratio);
        return `${entry.cpuMillisecondsPerMegabyte.toFixed(3)} (${ratio.toFixed(2)}×)`;
      });
      lines.push(`| ${index + 1} | ${cells.join(' | ')} |`);
    });
    const summary = impls.map((impl) => {
      const values = figures.get(impl);
      const rs = ratios.get(impl);
      if (values.length === 0) return '-';
      return `${median(values).toFixed(3)}${rs.length > 0 ? ` (${median(rs).toFixed(2)}×)` : ''}`;
    });
    lines.push(`| median | ${summary.join(' | ')} |`);
  }
  const notes = new Set();
  for (const round of rounds) for (const size of sizes) for (const impl of impls) if (round[size][impl].status !== 'ok') notes.add(`${impl} ${size}: ${round[size][impl].status}: ${round[size][impl].reason}`);
  if (notes.size > 0) lines.push('', ...notes);
  return lines.join('\n');
}

async function main() {
  const values = parseBenchArgs(
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      impl: { type: 'string' },
      sizes: { type: 'string' },
      depth: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      runs: { type: 'string' },
      baseline: { type: 'string' },
      congestion: { type: 'string' },
      cell: { type: 'string' },
    },
    USAGE,
  );
  if (values.cell !== undefined) {
    const [, messageBytes, depth, warmup, duration, runs] = values.cell.split(':').map(Number);
    await runNodeCell({ messageBytes, depth, warmup, duration, runs });
    return;
  }
  const timing = { ...TIMING[values.quick ? 'quick' : 'full'] };
  const positive = (name, text, integer) => {
    const number = Number(text);
    if (!(number > 0) || (integer && !Number.isInteger(number))) {
      exitWithUsage(USAGE, `--${name} must be a positive ${integer ? 'integer' : 'number'}`);
    }
    return number;
  };
  if (values.rounds !== undefined) timing.rounds = positive('rounds', values.rounds, true);
  if (values.runs !== undefined) timing.runs = positive('runs', values.runs, true);
  if (values.duration !== undefined) timing.duration = positive('duration', values.duration, false);
  const depth = values.depth === undefined ? DEPTH : positive('depth', values.depth, true);
  const sizes = values.sizes === undefined ? SIZES : values.sizes.split(',').map((text) => positive('sizes', text, true));
  let impls = values.impl === undefined ? [...IMPLS] : values.impl.split(',');
  for (const impl of impls) {
    if (!IMPLS.includes(impl)) {
      exitWithUsage(USAGE, `unknown implementation ${JSON.stringify(impl)} (this benchmark runs ${IMPLS.join(', ')})`);
    }
  }
  if (values.baseline !== undefined) {
    const extra = impls.filter((impl) => impl === 'epoll' || impl === 'uring').map((impl) => `${impl}@base`);
    impls = [...impls, ...extra];
  }

  const rounds = [];
  for (let index = 0; index < timing.rounds; index++) {
    const round = {};
    for (const size of sizes) {
      round[size] = {};
      for (const impl of impls) {
        round[size][impl] = runCell(impl, size, depth, timing, values.baseline, values.congestion);
        if (!values.json) {
          const entry = round[size][impl];
          process.stderr.write(`round ${index + 1} ${size} ${impl}: ${entry.status === 'ok' ? `${entry.cpuMillisecondsPerMegabyte} ms/MB, ${entry.megabytesPerSecond} MB/s` : `${entry.status} (${entry.reason})`}\n`);
        }
      }
    }
    rounds.push(round);
  }
  const machine = { node: process.version, runs: timing.runs, duration: timing.duration, warmup: timing.warmup, depth, congestion: values.congestion ?? null };
  if (values.json) console.log(JSON.stringify({ machine, sizes, impls, rounds }, null, 2));
  else console.log(formatTables(rounds, impls, sizes, depth, machine));
  process.exitCode = rounds.some((round) => sizes.some((size) => impls.some((impl) => round[size][impl].status === 'failed'))) ? 1 : 0;
}

await main();
