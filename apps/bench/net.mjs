#!/usr/bin/env node
// evloop network benchmarks beside Node net/http, Python asyncio, uvloop and
// plain C epoll and io_uring servers; evloop on its default backend (epoll on Linux) and,
// as `evloop-uring`, on the io_uring proactor (where io_uring can run).
//
//   node net.mjs            full run (about 11 minutes): 3 runs per row, medians
//   node net.mjs --quick    tiny durations, 1 run: a smoke test that every row works
//   node net.mjs --json     the same figures as JSON
//   node net.mjs --only echo-c100-64B,http-c100 --impl evloop,uvloop
//
// Every server runs in its own process on 127.0.0.1 (a free port), pinned to
// CPU 0; the load generator is pinned to CPU 1 (taskset, when there are two
// CPUs and taskset is installed). Echo rows keep one message in flight per
// connection, except echo-c100-64Bx16 (16 pipelined). Echo load: apps/bench/c/echo-client.c, the
// same program for every server, compiled with `cc -O2` into a temporary
// directory at run time. HTTP load: wrk. Each run starts a fresh server per
// implementation and measures every row against it; runs interleave the
// implementations so a change in the machine's load hits them all alike.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWithUsage, median, parseBenchArgs } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export const ECHO_ROWS = [
  ...[1, 10, 100, 1000].flatMap((connections) =>
    [64, 4096].map((size) => ({ id: `echo-c${connections}-${size === 64 ? '64B' : '4KiB'}`, kind: 'echo', connections, size, depth: 1 })),
  ),
  // Pipelined: 16 messages of 64 B in flight on each of 100 connections.
  { id: 'echo-c100-64Bx16', kind: 'echo', connections: 100, size: 64, depth: 16 },
];
export const HTTP_ROWS = [10, 100, 1000].map((connections) => ({ id: `http-c${connections}`, kind: 'http', connections }));
export const ROWS = [...ECHO_ROWS, ...HTTP_ROWS];

/** The servers; `tool` names what each needs besides Node. */
export const IMPLEMENTATIONS = [
  { id: 'evloop', label: 'evloop', tool: null },
  { id: 'evloop-streams', label: 'evloop streams', tool: null },
  // The same Protocol server as `evloop`, on the io_uring proactor (EVLOOP_BACKEND=uring).
  { id: 'evloop-uring', label: 'evloop uring', tool: 'uring' },
  { id: 'node', label: 'Node net/http', tool: null },
  { id: 'asyncio', label: 'asyncio', tool: 'python' },
  { id: 'uvloop', label: 'uvloop', tool: 'uvloop' },
  // asyncio streams (start_server, read/write/drain) over uvloop: what evloop streams compare with.
  { id: 'uvloop-streams', label: 'uvloop streams', tool: 'uvloop' },
  { id: 'c', label: 'C epoll', tool: 'cc' },
  // The floor for evloop uring: the same ring set-up in plain C (apps/bench/c/server-uring.c).
  { id: 'c-uring', label: 'C io_uring', tool: 'cc' },
  // The same, sending from registered buffers (WRITE_FIXED): an experiment, run only when named in --impl.
  { id: 'c-uring-registered', label: 'C io_uring registered', tool: 'cc', onlyWhenNamed: true },
];

const DURATIONS = { full: { echoSeconds: 1, httpSeconds: 5, runs: 3 }, quick: { echoSeconds: 0.2, httpSeconds: 1, runs: 1 } };

const USAGE = 'usage: net.mjs [--quick] [--json] [--runs N] [--only ROW[,ROW...]] [--impl IMPL[,IMPL...]]';

const usage = (message) => exitWithUsage(USAGE, message);

function parseCli() {
  const values = parseBenchArgs(
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      impl: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (values.help) usage();
  const durations = values.quick ? DURATIONS.quick : DURATIONS.full;
  const runs = values.runs === undefined ? durations.runs : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a positive integer');
  const pick = (list, option, name) => {
    if (option === undefined) return list;
    const wanted = option.split(',');
    for (const id of wanted) if (!list.some((item) => item.id === id)) usage(`unknown ${name} ${id}; ${name}s: ${list.map((item) => item.id).join(', ')}`);
    return list.filter((item) => wanted.includes(item.id));
  };
  return {
    quick: values.quick,
    json: values.json,
    runs,
    durations,
    rows: pick(ROWS, values.only, 'row'),
    implementations: pick(values.impl === undefined ? IMPLEMENTATIONS.filter((impl) => !impl.onlyWhenNamed) : IMPLEMENTATIONS, values.impl, 'impl'),
  };
}

// ---------------------------------------------------------------- processes

/** Every process started here, killed on the way out whatever happens. */
const children = new Set();
function killChildren() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/** Run a command to completion within `timeoutMs`; never throws. */
export function run(command, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status: null, stdout, stderr: error.message });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status: status ?? signal, stdout, stderr });
    });
  });
}

/** Whether `command` can be found on PATH. */
export function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The Python to use: $EVLOOP_BENCH_PYTHON, else the system one (which sees Debian's python3-uvloop), else python3 on PATH. */
export function pythonCommand() {
  if (process.env.EVLOOP_BENCH_PYTHON) return process.env.EVLOOP_BENCH_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Why io_uring cannot run here (not Linux, blocked, not built), or null when it can. */
function uringMissing() {
  const probe = spawnSync(process.execPath, [path.join(here, 'src', 'net-server.mjs'), '--probe-uring'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status === 0) return null;
  return `io_uring (${(probe.stdout + probe.stderr).trim().split('\n').at(-1) || `probe exit ${probe.status}`})`;
}

/** What is installed: Python and uvloop, cc (then the C programs, built into `buildDir`), wrk, taskset. */
function probeTools(buildDir) {
  const python = pythonCommand();
  const probe = spawnSync(python, [path.join(here, 'python', 'net_server.py'), '--probe'], { encoding: 'utf8', timeout: 30_000 });
  let found = { python: null, asyncio: false, uvloop: null };
  if (probe.status === 0) {
    try {
      found = JSON.parse(probe.stdout);
    } catch {}
  }
  const c = {};
  if (onPath('cc')) {
    for (const name of ['server-epoll', 'server-uring', 'echo-client']) {
      const built = spawnSync('cc', ['-O2', '-o', path.join(buildDir, name), path.join(here, 'c', `${name}.c`)], { encoding: 'utf8', timeout: 60_000 });
      // server-uring needs Linux's io_uring header (5.19 or later); without it that one row is not installed.
      if (built.status !== 0 && name === 'server-uring') continue;
      if (built.status !== 0) throw new Error(`cc ${name}.c failed: ${built.stderr}`);
      c[name] = path.join(buildDir, name);
    }
  }
  const pin = os.cpus().length >= 2 && onPath('taskset');
  return { python, found, c, wrk: onPath('wrk'), pin, uring: uringMissing() };
}

/** The command that starts implementation `impl`'s `kind` server, or the reason it cannot run. */
function serverCommand(impl, kind, tools) {
  switch (impl) {
    case 'evloop':
    case 'evloop-streams':
    case 'node':
      return { command: process.execPath, args: [path.join(here, 'src', 'net-server.mjs'), impl, kind] };
    case 'evloop-uring':
      return tools.uring === null ? { command: process.execPath, args: [path.join(here, 'src', 'net-server.mjs'), impl, kind] } : { missing: tools.uring };
    case 'asyncio':
      return tools.found.asyncio ? { command: tools.python, args: [path.join(here, 'python', 'net_server.py'), impl, kind] } : { missing: 'python3' };
    case 'uvloop':
    case 'uvloop-streams':
      return tools.found.uvloop ? { command: tools.python, args: [path.join(here, 'python', 'net_server.py'), impl, kind] } : { missing: 'python3-uvloop' };
    case 'c':
      return tools.c['server-epoll'] ? { command: tools.c['server-epoll'], args: [kind] } : { missing: 'cc' };
    case 'c-uring':
    case 'c-uring-registered':
      if (!tools.c['server-uring']) return { missing: tools.c['server-epoll'] ? "Linux's io_uring header (5.19+)" : 'cc' };
      if (tools.uring !== null) return { missing: tools.uring };
      return { command: tools.c['server-uring'], args: [kind, impl === 'c-uring' ? 'plain' : 'registered'] };
  }
  throw new Error(`unknown implementation ${impl}`);
}

/** `command` pinned to `cpu` when pinning is possible (taskset execs, so the pid stays the program's). */
export function pinned(tools, cpu, command, args) {
  return tools.pin ? { command: 'taskset', args: ['-c', String(cpu), command, ...args] } : { command, args };
}

/** Start a server; resolves with { child, port } once it prints its address (10 s at most). */
export function startServer({ command, args }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => fail(new Error('no address within 10 s')), 10_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const lines = stderr.trim().split('\n');
      const cause = lines.find((line) => /Error|error:/.test(line)) ?? lines.at(-1);
      reject(new Error(`${error.message}${stderr ? `: ${cause.trim()}` : ''}`));
    };
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on('error', fail);
    child.on('exit', (status, signal) => fail(new Error(`exited (${status ?? signal}) before listening`)));
  });
}

export function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.removeAllListeners('exit');
    child.once('exit', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** utime + stime of a process in ms, from /proc (Linux); null elsewhere. */
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- checks

/** Talk to a fresh server before loading it: echo bytes back, or answer two requests on one connection. */
function checkServer(port, kind) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => finish(new Error(`no correct ${kind} answer within 5 s (got ${JSON.stringify(received.slice(0, 200))})`)), 5_000);
    let received = '';
    let step = 0;
    const request = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const finish = (error) => {
      clearTimeout(timer);
      socket.destroy();
      error ? reject(error) : resolve();
    };
    socket.on('error', finish);
    socket.on('connect', () => socket.write(kind === 'echo' ? 'ping 0123456789\n' : request));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (kind === 'echo') {
        if (received === 'ping 0123456789\n') finish();
        return;
      }
      const complete = /^HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\nHello, World!$/.test(received);
      if (!complete) return;
      if (++step === 2) return finish();
      received = '';
      socket.write(request); // the second request on the same, kept-alive connection
    });
  });
}

// ---------------------------------------------------------------- load

async function measureEcho(row, server, tools, seconds) {
  const load = pinned(tools, 1, tools.c['echo-client'], [String(server.port), String(row.connections), String(row.size), String(seconds), String(server.child.pid), String(row.depth)]);
  const result = await run(load.command, load.args, (seconds + 60) * 1000);
  if (result.status !== 0) return { error: `echo-client exit ${result.status}: ${result.stderr.trim().split('\n').slice(-2).join(' / ')}` };
  const out = JSON.parse(result.stdout.trim().split('\n').at(-1));
  return { perSecond: out.perSecond, operations: out.roundTrips, seconds: out.seconds, serverCpuMs: out.serverCpuMs ?? null, clientCpuMs: out.clientCpuMs };
}

async function measureHttp(row, server, tools, seconds) {
  const load = pinned(tools, 1, 'wrk', ['-t1', '-c', String(row.connections), '-d', `${seconds}s`, '--timeout', '5s', `http://127.0.0.1:${server.port}/`]);
  const cpuBefore = processCpuMs(server.child.pid);
  const result = await run(load.command, load.args, (seconds + 30) * 1000);
  const cpuAfter = processCpuMs(server.child.pid);
  if (result.status !== 0) return { error: `wrk exit ${result.status}: ${result.stderr.trim()}` };
  const text = result.stdout;
  const requests = /(\d+) requests in ([\d.]+)(m?s)/.exec(text);
  const perSecond = /Requests\/sec:\s*([\d.]+)/.exec(text);
  if (!requests || !perSecond) return { error: `unreadable wrk output: ${text.slice(0, 300)}` };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx) return { error: `${non2xx[1]} non-2xx responses` };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    perSecond: Number(perSecond[1]),
    operations: Number(requests[1]),
    seconds: Number(requests[2]) / (requests[3] === 'ms' ? 1000 : 1),
    serverCpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    socketErrors: socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

// ---------------------------------------------------------------- runs

function missingTool(row, impl, tools) {
  if (row.kind === 'echo' && !tools.c['echo-client']) return 'cc (the echo load generator)';
  if (row.kind === 'http' && !tools.wrk) return 'wrk';
  const server = serverCommand(impl.id, row.kind, tools);
  return server.missing ?? null;
}

async function runAll({ quick, runs, durations, rows, implementations }, progress) {
  const buildDir = mkdtempSync(path.join(os.tmpdir(), 'evloop-bench-net-'));
  try {
    const tools = probeTools(buildDir);
    /** samples[rowId][implId] = list of measurements, or { missing } / { error }. */
    const cells = Object.fromEntries(rows.map((row) => [row.id, {}]));
    for (const row of rows) for (const impl of implementations) {
      const missing = missingTool(row, impl, tools);
      cells[row.id][impl.id] = missing ? { status: 'not installed', missing } : { status: 'ok', samples: [] };
    }
    for (let r = 0; r < runs; r++) {
      for (const impl of implementations) {
        for (const kind of ['echo', 'http']) {
          const kindRows = rows.filter((row) => row.kind === kind && cells[row.id][impl.id].status === 'ok');
          if (kindRows.length === 0) continue;
          progress(`run ${r + 1}/${runs}: ${impl.id} ${kind}`);
          let server;
          try {
            server = await startServer(pinned(tools, 0, ...Object.values(serverCommand(impl.id, kind, tools))));
            await checkServer(server.port, kind);
          } catch (error) {
            if (server) await stopServer(server.child);
            for (const row of kindRows) cells[row.id][impl.id] = { status: 'failed', error: `${kind} server: ${error.message}` };
            continue;
          }
          for (const row of kindRows) {
            const cell = cells[row.id][impl.id];
            if (cell.status !== 'ok') continue;
            progress(`run ${r + 1}/${runs}: ${impl.id} ${row.id}`);
            const sample =
              kind === 'echo' ? await measureEcho(row, server, tools, durations.echoSeconds) : await measureHttp(row, server, tools, durations.httpSeconds);
            if (sample.error) cells[row.id][impl.id] = { status: 'failed', error: sample.error };
            else cell.samples.push(sample);
          }
          await stopServer(server.child);
        }
      }
    }
    for (const row of rows) for (const impl of implementations) {
      const cell = cells[row.id][impl.id];
      if (cell.status !== 'ok') continue;
      const perSecond = cell.samples.map((s) => s.perSecond);
      const cpuPerOp = cell.samples.filter((s) => s.serverCpuMs !== null).map((s) => (s.serverCpuMs * 1000) / s.operations);
      cell.perSecond = median(perSecond);
      cell.serverCpuUsPerOp = cpuPerOp.length > 0 ? median(cpuPerOp) : null;
      cell.serverBusy = median(cell.samples.filter((s) => s.serverCpuMs !== null).map((s) => s.serverCpuMs / 1000 / s.seconds));
      if (row.kind === 'echo') cell.clientBusy = median(cell.samples.map((s) => s.clientCpuMs / 1000 / s.seconds));
      if (row.kind === 'http') cell.socketErrors = Math.max(...cell.samples.map((s) => s.socketErrors));
    }
    return {
      environment: {
        node: process.version,
        python: tools.found.python,
        uvloop: tools.found.uvloop,
        wrk: tools.wrk,
        cc: Boolean(tools.c['echo-client']),
        pinned: tools.pin,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        platform: `${process.platform} ${os.release()}`,
        loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
        mode: quick ? 'quick' : 'full',
        runs,
        echoSeconds: durations.echoSeconds,
        httpSeconds: durations.httpSeconds,
      },
      implementations: implementations.map((impl) => impl.id),
      rows: rows.map((row) => ({ ...row, cells: cells[row.id] })),
    };
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- output

function rate(cell) {
  if (cell.status === 'not installed') return 'not installed';
  if (cell.status !== 'ok') return 'FAILED';
  return cell.perSecond >= 1000 ? `${(cell.perSecond / 1000).toFixed(1)}k` : cell.perSecond.toFixed(0);
}

function cpu(cell) {
  if (cell.status === 'not installed') return 'not installed';
  if (cell.status !== 'ok') return 'FAILED';
  if (cell.serverCpuUsPerOp === null) return '?';
  return cell.serverCpuUsPerOp.toFixed(cell.serverCpuUsPerOp < 1 ? 3 : 1);
}

/** Both ratios read the same way: above 1.00x evloop is ahead. */
function rateRatio(evloop, other) {
  if (evloop?.status !== 'ok' || other?.status !== 'ok') return '—';
  return `${(evloop.perSecond / other.perSecond).toFixed(2)}x`;
}
function cpuRatio(evloop, other) {
  if (evloop?.status !== 'ok' || other?.status !== 'ok' || evloop.serverCpuUsPerOp === null || other.serverCpuUsPerOp === null) return '—';
  return `${(other.serverCpuUsPerOp / evloop.serverCpuUsPerOp).toFixed(2)}x`;
}

export function formatTable(report) {
  const env = report.environment;
  const impls = IMPLEMENTATIONS.filter((impl) => report.implementations.includes(impl.id));
  const compared = impls.filter((impl) => !impl.id.startsWith('evloop') && impl.id !== 'uvloop-streams' && !impl.id.startsWith('c-uring'));
  // Ratio columns: evloop (epoll) against every other server, then evloop on uring against evloop on epoll and both C servers.
  const ratios = [
    ...(report.implementations.includes('evloop') ? compared.map((impl) => [`evloop vs ${impl.label}`, 'evloop', impl.id]) : []),
    ...(report.implementations.includes('evloop-uring')
      ? [['evloop', 'evloop'], ['c', 'C epoll'], ['c-uring', 'C io_uring'], ['c-uring-registered', 'C io_uring registered']].filter(([id]) => report.implementations.includes(id)).map(([id, label]) => [`uring vs ${label}`, 'evloop-uring', id])
      : []),
  ];
  const lines = [];
  lines.push(
    `evloop network benchmarks (${env.mode}, median of ${env.runs} run${env.runs === 1 ? '' : 's'}; echo ${env.echoSeconds} s, wrk ${env.httpSeconds} s per run) — ` +
      `Node ${env.node}, Python ${env.python ?? 'not found'}, uvloop ${env.uvloop ?? 'not installed'}, ${env.cpus} CPUs (${env.cpuModel}), ${env.platform}, ` +
      `${env.pinned ? 'server on CPU 0, load on CPU 1' : 'NOT pinned (needs taskset and 2 CPUs)'}, load average ${env.loadAverage.join(' ')}`,
  );
  const table = (title, format, ratio, kindRows) => {
    if (kindRows.length === 0) return;
    lines.push('');
    lines.push(title);
    lines.push('');
    const header = ['row', ...impls.map((impl) => impl.label), ...ratios.map(([label]) => label)];
    lines.push(`| ${header.join(' | ')} |`);
    lines.push(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const row of kindRows) {
      const cells = [row.id, ...impls.map((impl) => format(row.cells[impl.id]))];
      cells.push(...ratios.map(([, ours, other]) => ratio(row.cells[ours], row.cells[other])));
      lines.push(`| ${cells.join(' | ')} |`);
    }
  };
  const echoRows = report.rows.filter((row) => row.kind === 'echo');
  const httpRows = report.rows.filter((row) => row.kind === 'http');
  table('Echo: round trips per second (wall). Ratios: evloop / other (uring / other) — above 1.00x the first is ahead.', rate, rateRatio, echoRows);
  table('Echo: server CPU µs per round trip. Ratios: other / evloop (other / uring) — above 1.00x the first is ahead (uses less CPU).', cpu, cpuRatio, echoRows);
  table('HTTP (wrk): requests per second (wall). Ratios: evloop / other (uring / other) — above 1.00x the first is ahead.', rate, rateRatio, httpRows);
  table('HTTP (wrk): server CPU µs per request. Ratios: other / evloop (other / uring) — above 1.00x the first is ahead (uses less CPU).', cpu, cpuRatio, httpRows);
  const busy = report.rows.flatMap((row) => impls.filter((impl) => row.cells[impl.id].status === 'ok').map((impl) => row.cells[impl.id]));
  const clientBusy = busy.filter((cell) => cell.clientBusy !== undefined).map((cell) => cell.clientBusy);
  if (clientBusy.length > 0) {
    lines.push('');
    lines.push(`Echo load generator CPU: at most ${(Math.max(...clientBusy) * 100).toFixed(0)}% of its core (median per row).`);
  }
  const notes = [];
  for (const row of report.rows) for (const impl of impls) {
    const cell = row.cells[impl.id];
    if (cell.status === 'failed') notes.push(`- ${row.id} ${impl.id}: FAILED: ${cell.error}`);
    else if (cell.status === 'not installed') notes.push(`- ${row.id} ${impl.id}: skipped, ${cell.missing} not installed`);
    else if (cell.socketErrors > 0) notes.push(`- ${row.id} ${impl.id}: wrk reported ${cell.socketErrors} socket errors in a run`);
  }
  if (notes.length > 0) {
    lines.push('');
    lines.push('Notes:');
    lines.push(...notes);
  }
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseCli();
  const progress = options.json || !process.stderr.isTTY ? () => {} : (text) => process.stderr.write(`\r\x1b[K${text}`);
  const report = await runAll(options, progress);
  if (process.stderr.isTTY && !options.json) process.stderr.write('\r\x1b[K');
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatTable(report));
  const failed = report.rows.some((row) => Object.values(row.cells).some((cell) => cell.status === 'failed'));
  process.exitCode = failed ? 1 : 0;
}
