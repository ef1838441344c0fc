#!/usr/bin/env node
// How each backend's cost per event grows with the number of fds the loop
// watches (the selectors, and the io_uring proactor, whose idle sockets are
// readiness polls in flight): one active loopback TCP connection doing echo
// round-trips (64 bytes, one in flight) while 10, 100, 1,000 and 10,000 idle
// sockets are registered with the same loop (an open UDP socket bound to
// 127.0.0.1 whose reader is added and which never gets a datagram: one fd
// each, so 10,000 of them fit in a 20,000-fd limit where TCP pairs would
// not).
//
//   node scaling.mjs            full run (under two minutes): 3 runs of 2 s per cell
//   node scaling.mjs --quick    10 and 100 idle sockets, 3 runs of 0.1 s: a smoke test
//   node scaling.mjs --json     the results as JSON instead of tables
//   node scaling.mjs --backends epoll,poll --sizes 10,1000
//   node scaling.mjs --scaling-only      without the throughput comparison
//   EVLOOP_BENCH_TCP_CONGESTION=cubic node scaling.mjs ...   the connection on that
//                                        congestion control instead of the system's
//
// After the scaling table, a short throughput comparison: the same
// connection streaming 16 KiB messages, 8 in flight, beside 100 idle
// sockets (10 with --quick), in MB/s echoed.
//
// Every (backend, size) cell runs in its own child process (`--cell`): it
// makes a SelectorEventLoop (ProactorEventLoop for uring) on that backend, registers the idle sockets,
// starts an echo server and a client with the loop's createServer and
// createConnection, warms up, then measures round-trips per second in 3
// runs; the table shows the median. Sizes that do not fit under the soft
// fd limit are skipped (nothing is raised); select stops at FD_SETSIZE.
// Everything is on 127.0.0.1; each child is killed if it overruns.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { exitWithUsage, median, parseBenchArgs } from './src/common.mjs';

const BACKENDS = ['epoll', 'poll', 'select', 'uring'];
/** The package of each backend this benchmark runs. */
const packageOf = (name) => (name === 'uring' ? '@evloop/proactor-uring' : `@evloop/selector-${name}`);
const SIZES = { full: [10, 100, 1_000, 10_000], quick: [10, 100] };
const TIMING = { full: { warmup: 0.5, duration: 2, runs: 3 }, quick: { warmup: 0.05, duration: 0.1, runs: 3 } };
const MESSAGE_BYTES = 64;
/** The throughput comparison: 16 KiB messages, 8 in flight, beside a fixed number of idle sockets. */
const THROUGHPUT = { full: { idle: 100, messageBytes: 16_384, depth: 8 }, quick: { idle: 10, messageBytes: 16_384, depth: 8 } };
/** fds a cell needs besides its idle sockets: Node's own (about 20), the listener, both ends, the backend's. */
const FD_HEADROOM = 64;
const CELL_TIMEOUT_MS = 90_000;

const USAGE = 'usage: scaling.mjs [--quick] [--json] [--scaling-only] [--backends epoll,poll,select,uring] [--sizes 10,1000,...]';

/** Import a package this app depends on (every backend it measures, and sys). */
function importPackage(name) {
  return import(name);
}

// ---------------------------------------------------------------- one cell

/** Linux's IPPROTO_TCP and TCP_CONGESTION (netinet/in.h, netinet/tcp.h). */
const IPPROTO_TCP = 6;
const TCP_CONGESTION = 13;

/**
 * The congestion control named by $EVLOOP_BENCH_TCP_CONGESTION (cubic,
 * reno, bbr, ...) on this connection's socket, instead of the system's
 * default: bulk streams on loopback cost very different CPU under BBR's
 * pacing (see docs/benchmarks.md, "Bulk stream").
 */
function setCongestionControl(socket) {
  const name = process.env.EVLOOP_BENCH_TCP_CONGESTION;
  if (name) socket.setsockopt(IPPROTO_TCP, TCP_CONGESTION, Buffer.from(name));
}

/** Run one (backend, idle count) cell in this process and print one JSON line. */
async function runCell({ backendName, idle, warmup, duration, runs, messageBytes, depth }) {
  const { Protocol, ProactorEventLoop, SelectorEventLoop } = await importPackage('@evloop/core-policy');
  const sys = await importPackage('@evloop/sys');
  const { backend } = await importPackage(packageOf(backendName));
  const availability = backend.available();
  if (!availability.ok) {
    console.log(JSON.stringify({ status: 'unusable', reason: availability.reason }));
    return;
  }
  if (process.env.EVLOOP_BENCH_TCP_CONGESTION) {
    // A name the kernel refuses is reported here, not from inside connectionMade.
    const probe = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    try {
      setCongestionControl(probe);
    } catch (error) {
      console.log(JSON.stringify({ status: 'unusable', reason: `TCP_CONGESTION ${process.env.EVLOOP_BENCH_TCP_CONGESTION}: ${error.message}` }));
      return;
    } finally {
      probe.close();
    }
  }
  const fdLimit = backendName === 'select' ? (await importPackage('@evloop/selector-select')).SelectSelector.FD_SETSIZE : Infinity;
  const loop = backend.kind === 'proactor' ? new ProactorEventLoop(undefined, { backend }) : new SelectorEventLoop(undefined, { backend });
  const message = Buffer.alloc(messageBytes, 0x61);
  const idleSockets = [];
  let strayEvents = 0;
  let server = null;
  let client = null;

  class EchoServer extends Protocol {
    connectionMade(transport) {
      this.transport = transport;
      setCongestionControl(transport.getExtraInfo('socket'));
    }

    dataReceived(data) {
      this.transport.write(data);
    }
  }

  /**
   * Keeps `depth` messages of `messageBytes` in flight (one, for the
   * round-trip cells): each message that has come back whole is replaced by
   * a new one, until `deadline` on the loop's clock; then waits for what is
   * still in flight, so the next run starts with an empty pipe.
   */
  class EchoClient extends Protocol {
    sent = 0;
    received = 0;
    deadline = 0;
    finishing = false;
    finished = null;

    connectionMade(transport) {
      this.transport = transport;
      setCongestionControl(transport.getExtraInfo('socket'));
    }

    start(seconds) {
      this.sent = 0;
      this.received = 0;
      this.finishing = false;
      this.deadline = loop.time() + seconds;
      this.finished = loop.createFuture();
      this.fill();
      return this.finished;
    }

    fill() {
      while (this.sent - Math.floor(this.received / messageBytes) < depth) {
        this.transport.write(message);
        this.sent += 1;
      }
    }

    dataReceived(data) {
      this.received += data.length;
      if (!this.finishing && loop.time() >= this.deadline) this.finishing = true;
      if (!this.finishing) this.fill();
      else if (this.received === this.sent * messageBytes) this.finished.setResult(this.sent);
    }
  }

  async function main() {
    // The idle sockets first, then the active connection: on select the idle
    // ones stop short of FD_SETSIZE and the connection's fds must fit too.
    let capped = false;
    const reserve = backendName === 'select' ? 4 : 0;
    for (let index = 0; index < idle; index++) {
      const socket = new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM);
      if (socket.fileno() >= fdLimit - reserve) {
        socket.close();
        capped = true;
        break;
      }
      idleSockets.push(socket);
      socket.setBlocking(false);
      socket.bind(['127.0.0.1', 0]);
      loop.addReader(socket.fileno(), () => {
        strayEvents += 1;
      });
    }
    server = await loop.createServer(() => new EchoServer(), '127.0.0.1', 0);
    const [host, port] = server.sockets[0].getsockname();
    const [transport, protocol] = await loop.createConnection(() => new EchoClient(), host, port);
    client = transport;
    await protocol.start(warmup);
    const measured = [];
    for (let run = 0; run < runs; run++) {
      if (typeof globalThis.gc === 'function') globalThis.gc();
      const cpuBefore = process.cpuUsage();
      const started = loop.time();
      const messages = await protocol.start(duration);
      const seconds = loop.time() - started;
      const cpu = process.cpuUsage(cpuBefore);
      measured.push({ messages, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    }
    return { idleRegistered: idleSockets.length, capped, measured };
  }

  try {
    const result = await loop.runUntilComplete(main);
    if (strayEvents !== 0) throw new Error(`${strayEvents} events on sockets that should stay idle`);
    console.log(JSON.stringify({ status: 'ok', ...result }));
  } finally {
    client?.close();
    server?.close();
    for (const socket of idleSockets) {
      loop.removeReader(socket.fileno());
      socket.close();
    }
    if (server !== null) await loop.runUntilComplete(server.waitClosed());
    loop.close();
  }
}

// ---------------------------------------------------------------- the parent

/** The soft fd limit as the shell reports it (`ulimit -n`), or as this process reports it where that fails. */
function softFdLimit() {
  const shell = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 5_000 });
  const text = shell.status === 0 ? shell.stdout.trim() : '';
  if (text === 'unlimited') return Infinity;
  const limit = Number(text);
  return Number.isInteger(limit) && limit > 0 ? limit : null;
}

function runChild(backendName, idle, timing, messageBytes = MESSAGE_BYTES, depth = 1) {
  const args = [
    '--expose-gc',
    fileURLToPath(import.meta.url),
    '--cell',
    [backendName, idle, timing.warmup, timing.duration, timing.runs, messageBytes, depth].join(':'),
  ];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: CELL_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (child.error?.code === 'ETIMEDOUT') return { status: 'failed', reason: `did not finish in ${CELL_TIMEOUT_MS / 1000} s` };
  const line = child.stdout.trim().split('\n').pop() ?? '';
  let report;
  try {
    report = JSON.parse(line);
  } catch {
    return { status: 'failed', reason: (child.stderr.trim() || `exit status ${child.status}`).split('\n').slice(0, 3).join(' ') };
  }
  if (child.status !== 0 && report.status === 'ok') return { status: 'failed', reason: child.stderr.trim().split('\n')[0] };
  return report;
}

const roundedRuns = (report) =>
  report.measured.map((run) => ({ messages: run.messages, seconds: Number(run.seconds.toFixed(4)), cpuSeconds: Number(run.cpuSeconds.toFixed(4)) }));

function summarise(report) {
  if (report.status !== 'ok') return report;
  const rates = report.measured.map((run) => run.messages / run.seconds);
  const cpuPerRoundTrip = report.measured.map((run) => (run.cpuSeconds / run.messages) * 1e6);
  const rate = median(rates);
  return {
    status: 'ok',
    idleRegistered: report.idleRegistered,
    capped: report.capped,
    roundTripsPerSecond: Math.round(rate),
    microsecondsPerRoundTrip: Number((1e6 / rate).toFixed(2)),
    cpuMicrosecondsPerRoundTrip: Number(median(cpuPerRoundTrip).toFixed(2)),
    runs: roundedRuns(report),
  };
}

function summariseThroughput(report, messageBytes) {
  if (report.status !== 'ok') return report;
  const megabytes = (run) => (run.messages * messageBytes) / 1e6;
  return {
    status: 'ok',
    idleRegistered: report.idleRegistered,
    megabytesPerSecond: Number(median(report.measured.map((run) => megabytes(run) / run.seconds)).toFixed(1)),
    cpuMillisecondsPerMegabyte: Number(median(report.measured.map((run) => (run.cpuSeconds * 1e3) / megabytes(run))).toFixed(3)),
    runs: roundedRuns(report),
  };
}

function formatTables(results, throughput, backends, sizes, machine) {
  const cell = (backendName, idle) => results.find((entry) => entry.backend === backendName && entry.idle === idle);
  const lines = [];
  lines.push(`Scaling: one echo connection (${MESSAGE_BYTES}-byte round-trips) beside idle registered sockets`);
  lines.push(`${machine.cpus} CPUs, ${machine.platform}/${machine.arch}, Node ${machine.node}, soft fd limit ${machine.fdSoftLimit}, FD_SETSIZE ${machine.fdSetsize ?? '?'}; median of ${machine.runs} runs of ${machine.duration} s`);
  lines.push('');
  lines.push(`| idle sockets | ${backends.map((name) => `${name} round-trips/s | ${name} CPU µs/rt (×)`).join(' | ')} |`);
  lines.push(`|---:|${backends.map(() => '---:|---:').join('|')}|`);
  const notes = new Set();
  for (const idle of sizes) {
    const cells = backends.map((name) => {
      const entry = cell(name, idle);
      if (entry === undefined) return '- | -';
      if (entry.status !== 'ok') {
        notes.add(`${name} at ${idle}: ${entry.status}: ${entry.reason}`);
        return `${entry.status} | -`;
      }
      const base = cell(name, sizes[0]);
      const growth = base?.status === 'ok' ? ` (${(entry.cpuMicrosecondsPerRoundTrip / base.cpuMicrosecondsPerRoundTrip).toFixed(2)}×)` : '';
      const mark = entry.capped ? '*' : '';
      if (entry.capped) notes.add(`* ${name} at ${idle}: only ${entry.idleRegistered} idle sockets fit below FD_SETSIZE (${machine.fdSetsize}); measured with those`);
      return `${entry.roundTripsPerSecond}${mark} | ${entry.cpuMicrosecondsPerRoundTrip}${growth}`;
    });
    lines.push(`| ${idle} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('round-trips/s: wall clock. CPU µs/rt: CPU time (user + system, every thread of the process) per round-trip; (×): relative to the same backend with the fewest idle sockets.');
  for (const note of notes) lines.push(note);
  if (throughput.length > 0) {
    const settings = throughput[0];
    lines.push('');
    lines.push(`Throughput: one echo connection, ${settings.messageBytes}-byte messages, ${settings.depth} in flight, beside ${settings.idle} idle sockets`);
    lines.push('');
    lines.push('| backend | MB/s echoed | CPU ms per MB |');
    lines.push('|---|---:|---:|');
    for (const entry of throughput) {
      lines.push(entry.status === 'ok' ? `| ${entry.backend} | ${entry.megabytesPerSecond} | ${entry.cpuMillisecondsPerMegabyte} |` : `| ${entry.backend} | ${entry.status}: ${entry.reason} | - |`);
    }
  }
  return lines.join('\n');
}

async function main() {
  const values = parseBenchArgs(
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      backends: { type: 'string' },
      sizes: { type: 'string' },
      'scaling-only': { type: 'boolean', default: false },
      cell: { type: 'string' },
    },
    USAGE,
  );
  if (values.cell !== undefined) {
    const [backendName, ...numbers] = values.cell.split(':');
    const [idle, warmup, duration, runs, messageBytes, depth] = numbers.map(Number);
    await runCell({ backendName, idle, warmup, duration, runs, messageBytes, depth });
    return;
  }

  const mode = values.quick ? 'quick' : 'full';
  const timing = TIMING[mode];
  const backends = values.backends === undefined ? BACKENDS : values.backends.split(',');
  const sizes = values.sizes === undefined ? SIZES[mode] : values.sizes.split(',').map(Number);
  for (const name of backends) {
    if (!BACKENDS.includes(name)) {
      exitWithUsage(USAGE, `unknown backend ${JSON.stringify(name)} (this benchmark runs ${BACKENDS.join(', ')})`);
    }
  }
  if (sizes.some((size) => !Number.isInteger(size) || size < 0)) {
    exitWithUsage(USAGE, '--sizes must be non-negative integers');
  }
  sizes.sort((a, b) => a - b);

  const fdSoftLimit = softFdLimit();
  let fdSetsize = null;
  try {
    fdSetsize = (await importPackage('@evloop/selector-select')).SelectSelector.FD_SETSIZE;
  } catch {
    fdSetsize = null;
  }
  const machine = {
    platform: process.platform,
    arch: process.arch,
    cpus: os.cpus().length,
    node: process.version,
    fdSoftLimit: fdSoftLimit === Infinity ? 'unlimited' : fdSoftLimit,
    fdSetsize,
    runs: timing.runs,
    duration: timing.duration,
    warmup: timing.warmup,
    messageBytes: MESSAGE_BYTES,
  };

  const results = [];
  for (const backendName of backends) {
    let cappedAlready = false;
    for (const idle of sizes) {
      const entry = { backend: backendName, idle };
      if (fdSoftLimit === null) {
        Object.assign(entry, { status: 'skipped', reason: 'could not read the soft fd limit' });
      } else if (idle + FD_HEADROOM > fdSoftLimit) {
        Object.assign(entry, { status: 'skipped', reason: `needs about ${idle + FD_HEADROOM} fds; the soft limit is ${fdSoftLimit} (not raised)` });
      } else if (cappedAlready) {
        Object.assign(entry, { status: 'skipped', reason: `select takes fds below FD_SETSIZE (${fdSetsize}) only` });
      } else {
        Object.assign(entry, summarise(runChild(backendName, idle, timing)));
        if (entry.capped) cappedAlready = true;
      }
      results.push(entry);
      if (!values.json) process.stderr.write(`${backendName} ${idle}: ${entry.status === 'ok' ? `${entry.roundTripsPerSecond} round-trips/s` : `${entry.status} (${entry.reason})`}\n`);
    }
  }

  const throughput = [];
  if (!values['scaling-only']) {
    const { idle, messageBytes, depth } = THROUGHPUT[mode];
    for (const backendName of backends) {
      const entry = { backend: backendName, idle, messageBytes, depth };
      if (fdSoftLimit === null || idle + FD_HEADROOM > fdSoftLimit) {
        Object.assign(entry, { status: 'skipped', reason: `needs about ${idle + FD_HEADROOM} fds; the soft limit is ${fdSoftLimit} (not raised)` });
      } else {
        Object.assign(entry, summariseThroughput(runChild(backendName, idle, timing, messageBytes, depth), messageBytes));
      }
      throughput.push(entry);
      if (!values.json) process.stderr.write(`${backendName} throughput: ${entry.status === 'ok' ? `${entry.megabytesPerSecond} MB/s` : `${entry.status} (${entry.reason})`}\n`);
    }
  }

  if (values.json) console.log(JSON.stringify({ machine, results, throughput }, null, 2));
  else console.log(formatTables(results, throughput, backends, sizes, machine));
  process.exitCode = [...results, ...throughput].some((entry) => entry.status === 'failed') ? 1 : 0;
}

await main();
