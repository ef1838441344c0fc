#!/usr/bin/env node
// The soak: for each server (evloop on each backend asked for, and Node `net`
// for comparison), hold many concurrent loopback connections with traffic,
// churn them (RST, half-close, slow readers that get flooded), close them
// all, and check that the server leaked nothing: open fds back to the
// baseline, the same JS-visible libuv resources, heap and RSS growth bounded
// by a generous margin, and a process that exits by itself once its loop is
// closed. This process is the client (Node `net`); each server is a child.
// Figures are printed; no check depends on how long anything took.
//
//   node soak.mjs [--connections 10000] [--servers epoll,poll,uring,node-net] [--churn-rounds 3] [--slow-readers 20]
import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FLOOD_BYTES, FLOOD_CHUNK, FLOOD_HIGH_WATER, FLOOD_REQUEST, HALF_CLOSE_REPLY } from './shared.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    servers: { type: 'string', default: 'epoll,poll,uring,node-net' },
    'churn-rounds': { type: 'string', default: '3' },
    'slow-readers': { type: 'string', default: '20' },
    json: { type: 'string' },
  },
});
const CONNECTIONS = positiveInteger('connections');
const CHURN_ROUNDS = positiveInteger('churn-rounds');
const SLOW_READERS = positiveInteger('slow-readers');
const SERVERS = options.servers.split(',').filter(Boolean);
// How many connects are in flight at once: well below the listen backlog.
const CONNECT_WINDOW = 200;
// Bounds against hangs only: passing them is a failure with a message, not a
// measurement.
const WAIT_BOUND_MS = 120_000;
// One phase of one server's soak (a step of the list in README.md) that takes
// longer than this is reported as hung, with what was still waiting on each
// side, and the server's soak fails; the next server still runs.
const PHASE_BOUND_MS = Number(process.env.SOAK_PHASE_BOUND_MS ?? 150_000);

function positiveInteger(name) {
  const value = Number(options[name]);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer, got ${options[name]}`);
  return value;
}

function withBound(promise, what, boundMs = WAIT_BOUND_MS) {
  let timer;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${boundMs / 1000} s`)), boundMs);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

// --- the server child and its IPC questions ---

function startServer(name) {
  const file = name === 'node-net' ? 'server-node.mjs' : 'server-evloop.mjs';
  const env = { ...process.env };
  if (name === 'node-net') delete env.EVLOOP_BACKEND;
  else env.EVLOOP_BACKEND = name;
  const child = fork(path.join(here, file), [], { execArgv: ['--expose-gc'], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map();
  let nextId = 0;
  let closed;
  const closedMessage = new Promise((resolve) => (closed = resolve));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (message) => {
      if (message.type === 'ready') resolve(message);
      else if (message.type === 'closed') closed(message.stats);
      else waiting.get(message.id)?.(message);
    });
    exited.then(({ code, signal }) => reject(new Error(`${name} server exited before it was ready (code ${code}, signal ${signal})`)));
  });
  const ask = (message, bound) =>
    withBound(
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, (answer) => {
          waiting.delete(id);
          resolve(answer);
        });
        child.send({ ...message, id });
      }),
      `${name} server, ${message.type}`,
      bound,
    );
  return { child, ready: withBound(ready, `${name} server start`), ask, closedMessage, exited };
}

async function waitForOpen(server, expected, what) {
  // Polls the server's count of open connections (a cheap question) until it
  // is what the client side expects; bounded against hangs only.
  const deadline = Date.now() + WAIT_BOUND_MS;
  for (;;) {
    const { stats } = await server.ask({ type: 'stats', light: true });
    if (stats.open === expected) return;
    if (Date.now() > deadline) throw new Error(`${what}: the server still has ${stats.open} connections open, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// --- client connections ---

// Every client not yet closed, so a hung phase can say which ones were still
// waiting and for what.
const liveClients = new Set();

class Client {
  constructor(port) {
    this.socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    // What this client is waiting for (a figure for the hang report only).
    this.doing = 'connect';
    liveClients.add(this);
    this.socket.once('close', () => liveClients.delete(this));
    this.socket.setNoDelay(true);
    this.received = [];
    this.receivedBytes = 0;
    this.want = null;
    this.closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.ended = new Promise((resolve) => this.socket.once('end', resolve));
    this.socket.on('error', (error) => {
      this.error = error;
    });
    this.socket.on('data', (data) => {
      this.received.push(data);
      this.receivedBytes += data.length;
      if (this.want !== null && this.receivedBytes >= this.want.bytes) {
        const { resolve } = this.want;
        this.want = null;
        resolve(Buffer.concat(this.received));
        this.received = [];
        this.receivedBytes = 0;
      }
    });
  }

  connected() {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) return resolve();
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  async echo(payload) {
    this.doing = `echo of ${payload.length} bytes`;
    const answer = new Promise((resolve) => (this.want = { bytes: payload.length, resolve }));
    this.socket.write(payload);
    const back = await answer;
    if (!back.equals(payload)) throw new Error(`echo mismatch: sent ${payload.length} bytes, got ${back.length} different ones`);
    this.doing = 'idle';
  }

  reset() {
    this.doing = 'close after RST';
    this.socket.resetAndDestroy();
    return this.closed;
  }

  async halfClose() {
    this.doing = 'the reply to its FIN';
    this.socket.end();
    await this.ended;
    this.doing = 'close after the reply';
    const got = Buffer.concat(this.received).toString();
    if (got !== HALF_CLOSE_REPLY) throw new Error(`half-close: expected ${JSON.stringify(HALF_CLOSE_REPLY)} after our FIN, got ${JSON.stringify(got)}`);
    await this.closed;
  }

  async slowRead() {
    // Ask for the flood and read it one chunk at a time, with a pause between
    // chunks, so the server's writes outrun us.
    let total = 0;
    this.doing = 'its flood';
    this.socket.removeAllListeners('data');
    this.socket.on('data', (data) => {
      total += data.length;
      this.doing = `its flood (${total} of ${FLOOD_BYTES} bytes)`;
      this.socket.pause();
      setTimeout(() => this.socket.resume(), 5);
    });
    this.socket.write(FLOOD_REQUEST);
    await this.ended;
    this.doing = 'close after its flood';
    this.socket.end();
    await this.closed;
    if (total !== FLOOD_BYTES) throw new Error(`slow reader: got ${total} bytes, expected ${FLOOD_BYTES}`);
  }
}

let payloadCounter = 0;
function payload() {
  payloadCounter += 1;
  return Buffer.from(`${payloadCounter.toString(16).padStart(8, '0')}${'.'.repeat(56)}`);
}

async function inWindows(items, window, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(window, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(runners);
}

async function openClients(port, count) {
  const clients = [];
  await inWindows(Array.from({ length: count }), CONNECT_WINDOW, async () => {
    const client = new Client(port);
    await client.connected();
    await client.echo(payload());
    clients.push(client);
  });
  return clients;
}

const trafficRound = (clients) => inWindows(clients, 1000, (client) => client.echo(payload()));

async function closeMixed(clients) {
  const half = Math.floor(clients.length / 2);
  await Promise.all([...clients.slice(0, half).map((client) => client.reset()), inWindows(clients.slice(half), 500, (client) => client.halfClose())]);
}

async function slowReaders(port, count) {
  const clients = await openClients(port, count);
  await Promise.all(clients.map((client) => client.slowRead()));
}

// --- hang reports ---

/** What the clients still open are waiting for, grouped, with a few local ports of each. */
function clientReport() {
  const groups = new Map();
  for (const client of liveClients) {
    const key = client.doing.replace(/\(\d+ of/, '(N of');
    const group = groups.get(key) ?? { count: 0, examples: [] };
    group.count += 1;
    if (group.examples.length < 5) {
      const extra = (key === client.doing ? '' : `, ${client.doing}`) + (client.want ? `, ${client.receivedBytes} of ${client.want.bytes} bytes back` : '');
      group.examples.push(`port ${client.socket.localPort}${extra}${client.error ? `, error ${client.error.code ?? client.error.message}` : ''}`);
    }
    groups.set(key, group);
  }
  return [...groups].map(([doing, { count, examples }]) => (doing === 'idle' ? `${count} idle` : `${count} waiting for ${doing} (${examples.join('; ')})`));
}

/** `ss -tniH` output as one line per socket: state, queues, ends and the byte counters. */
function kernelLines(out) {
  const lines = [];
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && lines.length > 0) {
      const counters = line.trim().split(/\s+/).filter((field) => /^(bytes_sent|bytes_acked|bytes_received|notsent|unacked|lastsnd|lastrcv):/.test(field));
      lines[lines.length - 1] += ` ${counters.join(' ')}`;
    } else {
      lines.push(`kernel: ${line.trim().replace(/\s+/g, ' ')}`);
    }
  }
  return lines;
}

/**
 * What both sides were still waiting for when phase `name` passed its bound:
 * an Error to fail the server's soak with.
 */
async function hangReport(server, name) {
  const lines = [`phase "${name}" did not finish within ${PHASE_BOUND_MS / 1000} s`, ...clientReport().map((line) => `client: ${line}`)];
  const ports = [...liveClients].filter((client) => client.doing !== 'idle').slice(0, 5).map((client) => client.socket.localPort);
  try {
    const { dump } = await server.ask({ type: 'dump', ports }, 10_000);
    lines.push(...dump.map((line) => `server: ${line}`));
  } catch (error) {
    lines.push(`server: no dump (${error.message})`);
  }
  // The kernel's side of the same connections (both ends' queues and
  // byte counts), where `ss` is installed.
  for (const port of ports) {
    try {
      const filter = `( sport = :${port} and dport = :${server.port} ) or ( sport = :${server.port} and dport = :${port} )`;
      const out = execFileSync('ss', ['-tniH', 'state', 'all', filter], { encoding: 'utf8', timeout: 5000 });
      lines.push(...kernelLines(out));
    } catch (error) {
      lines.push(`kernel: no ss output (${error.code ?? error.message})`);
      break;
    }
  }
  // The dump's message wakes the server's process, and an evloop server
  // then runs one more iteration: if that lets the waiting clients go on,
  // the server had missed a wake-up.
  const waiting = () => [...liveClients].filter((client) => client.doing !== 'idle').length;
  const before = waiting();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  lines.push(`clients waiting: ${before} at the report, ${waiting()} two seconds after the server's dump`);
  const error = new Error(lines.join('\n    '));
  error.hangReport = true;
  return error;
}

/**
 * Runs `work` as the named phase. Past PHASE_BOUND_MS it fails with
 * `hangReport`, also when the work finishes while the report is made (the
 * report's nudge may be what let it finish).
 */
async function phase(server, name, work) {
  let timer;
  let report = null;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => {
      report = hangReport(server, name);
      report.then(resolve);
    }, PHASE_BOUND_MS);
  });
  try {
    const outcome = await Promise.race([work().then((value) => ({ value })), hung]);
    if (report !== null) throw await report;
    return outcome.value;
  } finally {
    clearTimeout(timer);
  }
}

// --- one server's soak ---

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

async function soak(name) {
  const server = startServer(name);
  const { port, backend } = await server.ready;
  server.port = port;
  if (name !== 'node-net' && backend !== name) throw new Error(`asked for the ${name} backend, the server runs ${backend}`);
  const figures = { server: name };
  const failures = [];
  const check = (ok, message) => {
    if (!ok) failures.push(message);
  };
  try {
    // Warm-up: one small cycle of everything, so what is made once (code,
    // pools, a helper thread) is in the baseline.
    await phase(server, 'warm-up', async () => {
      await closeMixed(await openClients(port, 200));
      await slowReaders(port, 2);
      await waitForOpen(server, 0, 'after warm-up');
    });
    const { stats: base } = await server.ask({ type: 'stats' });

    const started = Date.now();
    let clients = await phase(server, 'hold: connect and echo', async () => {
      const opened = await openClients(port, CONNECTIONS);
      await trafficRound(opened);
      await trafficRound(opened);
      return opened;
    });
    figures.connectSeconds = (Date.now() - started) / 1000;
    await phase(server, 'hold: count', () => waitForOpen(server, CONNECTIONS, 'holding'));
    const { stats: held } = await server.ask({ type: 'stats' });
    figures.idleCpuMsPerSecond = (await server.ask({ type: 'idle-cpu', seconds: 1 })).ms;
    check(held.fds >= base.fds + CONNECTIONS, `holding ${CONNECTIONS} connections, the server has only ${held.fds - base.fds} more fds than at the start`);

    let churned = 0;
    for (let round = 0; round < CHURN_ROUNDS; round++) {
      const leaving = clients.slice(0, Math.floor(CONNECTIONS / 5));
      clients = clients.slice(leaving.length);
      await phase(server, `churn round ${round + 1}`, async () => {
        await Promise.all([closeMixed(leaving), slowReaders(port, SLOW_READERS)]);
        clients.push(...(await openClients(port, leaving.length)));
        await trafficRound(clients);
      });
      churned += leaving.length;
    }
    await phase(server, 'close everything', async () => {
      await waitForOpen(server, CONNECTIONS, 'after churn');
      await closeMixed(clients);
      await waitForOpen(server, 0, 'after closing everything');
    });
    const { stats: final } = await server.ask({ type: 'stats' });

    server.child.send({ type: 'shutdown' });
    const closedStats = await withBound(server.closedMessage, `${name} server shutdown`);
    // Exiting by itself is the check that no libuv handle (JS or native) was
    // left holding the process once the loop closed.
    const exit = await withBound(server.exited, `${name} server exit after its loop closed (a handle left open?)`);

    Object.assign(figures, {
      connections: CONNECTIONS,
      churned,
      slowReaders: SLOW_READERS * CHURN_ROUNDS,
      baseRss: base.rss,
      heldRss: held.rss,
      finalRss: final.rss,
      bytesPerIdleConnectionRss: Math.round((held.rss - base.rss) / CONNECTIONS),
      bytesPerIdleConnectionHeap: Math.round((held.heapUsed + held.external - base.heapUsed - base.external) / CONNECTIONS),
      baseHeap: base.heapUsed,
      finalHeap: final.heapUsed,
      baseFds: base.fds,
      heldFds: held.fds,
      finalFds: final.fds,
      resources: final.resources,
      floods: final.floods,
      floodsPaused: final.floodsPaused,
      floodMaxBuffer: final.floodMaxBuffer,
      lostWithError: final.lostWithError,
      exit,
    });

    check(final.fds === base.fds, `fds: ${base.fds} before, ${final.fds} after every connection closed`);
    check(JSON.stringify(final.resources) === JSON.stringify(base.resources), `libuv resources: ${JSON.stringify(base.resources)} before, ${JSON.stringify(final.resources)} after`);
    // Generous: a leak of even a few hundred bytes per connection over every
    // connection made shows up well past these margins.
    check(final.heapUsed <= base.heapUsed * 1.5 + 4 * 1048576, `heap: ${mib(base.heapUsed)} before, ${mib(final.heapUsed)} after every connection closed`);
    check(final.rss <= Math.max(held.rss * 1.5, base.rss * 2), `RSS: ${mib(base.rss)} before, ${mib(held.rss)} holding, ${mib(final.rss)} after`);
    check(final.floods === SLOW_READERS * CHURN_ROUNDS + 2, `floods: ${final.floods} served, expected ${SLOW_READERS * CHURN_ROUNDS + 2}`);
    check(final.floodsPaused === final.floods, `only ${final.floodsPaused} of ${final.floods} flooded connections ever filled their write buffer, so the slow-reader check did not bite`);
    check(final.floodLimitExceeded === 0, `a slow reader grew the write buffer past the high-water mark (${FLOOD_HIGH_WATER}) plus one write (${FLOOD_CHUNK}) ${final.floodLimitExceeded} times, up to ${final.floodMaxBuffer}`);
    check(final.unexpectedCount === 0, `the exception handler was called ${final.unexpectedCount} times: ${JSON.stringify(final.unexpected)}`);
    check(closedStats.open === 0, `${closedStats.open} connections still open when the server closed`);
    check(exit.code === 0 && exit.signal === null, `the server exited with code ${exit.code}, signal ${exit.signal}`);
  } catch (error) {
    failures.push(error?.hangReport ? error.message : String(error?.stack ?? error));
    server.child.kill('SIGKILL');
    // Whatever a hung phase left open goes, so the next server starts clean.
    for (const client of liveClients) client.socket.destroy();
  }
  return { figures, failures };
}

function printFigures(figures) {
  // A soak that failed before its last phase has no figures to show.
  if (figures.connections === undefined) return;
  const rows = [
    ['connections held', figures.connections],
    ['connections churned', `${figures.churned} (half RST, half half-close) + ${figures.slowReaders} slow readers of ${mib(FLOOD_BYTES)}`],
    ['RSS base / held / after', `${mib(figures.baseRss)} / ${mib(figures.heldRss)} / ${mib(figures.finalRss)}`],
    ['bytes per idle connection', `${figures.bytesPerIdleConnectionRss} RSS, ${figures.bytesPerIdleConnectionHeap} heap+external`],
    ['heap base / after', `${mib(figures.baseHeap)} / ${mib(figures.finalHeap)}`],
    ['fds base / held / after', `${figures.baseFds} / ${figures.heldFds} / ${figures.finalFds}`],
    ['JS-visible libuv resources after', JSON.stringify(figures.resources)],
    ['slow readers: largest write buffer', `${figures.floodMaxBuffer} bytes (limit ${FLOOD_HIGH_WATER} + ${FLOOD_CHUNK}), ${figures.floodsPaused}/${figures.floods} paused`],
    ['connections lost with an error', JSON.stringify(figures.lostWithError)],
    ['idle CPU holding every connection', `${figures.idleCpuMsPerSecond?.toFixed(1)} ms per second`],
    ['connect + 3 echoes each (figure only)', `${figures.connectSeconds} s`],
  ];
  for (const [label, value] of rows) console.log(`  ${label.padEnd(38)} ${value}`);
}

const limit = fs.readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)?.[1];
console.log(`== soak: ${CONNECTIONS} connections, servers ${SERVERS.join(', ')}, node ${process.version}, open-file limit ${limit}`);
if (Number(limit) < CONNECTIONS + 1000) {
  console.log(`the open-file limit (${limit}) is below ${CONNECTIONS + 1000}: raise it (ulimit -n) or pass a smaller --connections`);
  process.exit(1);
}
const results = [];
for (const name of SERVERS) {
  console.log(`-- ${name}`);
  const result = await soak(name);
  printFigures(result.figures);
  for (const failure of result.failures) console.log(`  FAIL: ${failure}`);
  results.push(result);
}
if (options.json) fs.writeFileSync(options.json, JSON.stringify(results, null, 2));
const failed = results.filter((result) => result.failures.length > 0).map((result) => result.figures.server);
console.log(failed.length === 0 ? `soak: ${SERVERS.length} servers passed` : `soak: failed on ${failed.join(', ')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
