#!/usr/bin/env node
// TLS echo benchmark: evloop (on epoll and on io_uring) beside Node's tls,
// uvloop and asyncio (ssl).
//
//   node tls-echo.mjs                 5 s per implementation, 3 runs each (median), round-robin
//   node tls-echo.mjs --quick         1 s, 1 run: a smoke test
//   node tls-echo.mjs --json          results as JSON
//   node tls-echo.mjs --connections 100 --size 4096 --seconds 5 --runs 3
//
// Each implementation runs in its own process, server and clients on one
// loop (one thread): `connections` clients each send a `size`-byte message
// over TLS 1.3, wait for all of it to come back, and send the next. The
// figure is round trips per second over the measured window (after every
// client has connected and a short warm-up), and the process's CPU time
// (server and clients together) per round trip. The certificate (ECDSA P-256,
// signed by a CA the clients trust) is made by the TLS conformance suite's
// script, packages/conformance/scripts/make-tls-certificates.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    connections: { type: 'string', default: '100' },
    size: { type: 'string', default: '4096' },
    seconds: { type: 'string' },
    runs: { type: 'string' },
    child: { type: 'string' },
    params: { type: 'string' },
  },
  strict: false,
});

if (values.child) {
  await runChild(values.child, JSON.parse(values.params));
} else {
  await main();
}

function makeCertificates() {
  // The TLS conformance suite's certificates (one script makes them for both).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-tls-bench-'));
  const script = path.join(here, '..', '..', 'packages', 'conformance', 'scripts', 'make-tls-certificates.mjs');
  execFileSync(process.execPath, [script, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

async function main() {
  const quick = values.quick;
  const params = {
    connections: Number(values.connections),
    size: Number(values.size),
    seconds: Number(values.seconds ?? (quick ? 1 : 5)),
    warmup: quick ? 0.2 : 1,
  };
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  const certs = makeCertificates();
  Object.assign(params, { ca: certs.ca, cert: certs.cert, key: certs.key });
  const python = '/usr/bin/python3';
  const pythonLoops = (() => {
    const probe = spawnSync(python, [path.join(here, 'python', 'tls_echo.py'), '--probe'], { encoding: 'utf8' });
    try {
      return JSON.parse(probe.stdout);
    } catch {
      return {};
    }
  })();
  const implementations = [
    // Native TLS (OpenSSL over memory BIOs, @evloop/tls-native) where it loads; the next row forces the JS path.
    { id: 'evloop', label: 'evloop (epoll, protocols, ssl)', command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'evloop']], env: { EVLOOP_TLS: 'auto' } },
    {
      // The same, with both protocols marked CONSUMES_RECEIVED_DATA (they keep no received view).
      id: 'evloop-consumes',
      label: 'evloop (epoll, consuming protocols, ssl)',
      command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'evloop']],
      env: { EVLOOP_TLS: 'auto', EVLOOP_BENCH_CONSUMES: '1' },
    },
    {
      id: 'evloop-js',
      label: 'evloop, JS TLS path (EVLOOP_TLS=js)',
      command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'evloop']],
      env: { EVLOOP_TLS: 'js' },
    },
    {
      id: 'evloop-uring',
      label: 'evloop (io_uring, protocols, ssl)',
      command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'evloop-uring']],
      skip: await uringUnusable(),
    },
    {
      id: 'evloop-uring-consumes',
      label: 'evloop (io_uring, consuming protocols, ssl)',
      command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'evloop-uring']],
      env: { EVLOOP_BENCH_CONSUMES: '1' },
      skip: await uringUnusable(),
    },
    { id: 'node', label: "Node tls (net.Server + tls, 'data' events)", command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'node']] },
    {
      id: 'node-duplex',
      label: 'Node tls over a JS Duplex (evloop\'s path)',
      command: [process.execPath, [fileURLToPath(import.meta.url), '--child', 'node-duplex']],
    },
    { id: 'uvloop', label: 'uvloop (protocols, ssl)', command: [python, [path.join(here, 'python', 'tls_echo.py'), 'uvloop']], skip: pythonLoops.uvloop ? null : 'uvloop is not importable' },
    { id: 'asyncio', label: 'asyncio (protocols, ssl)', command: [python, [path.join(here, 'python', 'tls_echo.py'), 'asyncio']], skip: pythonLoops.asyncio ? null : 'python3 not found' },
  ];
  // Round-robin over the implementations, so a change in machine load hits them all alike.
  const rates = Object.fromEntries(implementations.map((implementation) => [implementation.id, []]));
  const cpus = Object.fromEntries(implementations.map((implementation) => [implementation.id, []]));
  try {
    for (let run = 0; run < runs; run++) {
      for (const implementation of implementations) {
        if (implementation.skip) continue;
        const [command, args] = implementation.command;
        const child = spawnSync(command, [...args, '--params', JSON.stringify(params)], {
          encoding: 'utf8',
          timeout: (params.seconds + params.warmup + 60) * 1000,
          env: { ...process.env, ...implementation.env },
        });
        const line = child.stdout.trim().split('\n').pop() ?? '';
        let parsed;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw new Error(`${implementation.id} failed (status ${child.status}, signal ${child.signal}):\n${child.stdout}\n${child.stderr}`);
        }
        rates[implementation.id].push(parsed.roundTripsPerSecond);
        cpus[implementation.id].push(parsed.cpuMicrosecondsPerRoundTrip);
      }
    }
  } finally {
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
  const results = Object.fromEntries(
    implementations.map((implementation) => [
      implementation.id,
      implementation.skip
        ? { skipped: implementation.skip }
        : { roundTripsPerSecond: median(rates[implementation.id]), cpuMicrosecondsPerRoundTrip: median(cpus[implementation.id]), runs: rates[implementation.id] },
    ]),
  );
  const base = results.evloop.roundTripsPerSecond;
  if (values.json) {
    console.log(JSON.stringify({ params: { ...params, ca: undefined, cert: undefined, key: undefined }, runs, results }, null, 2));
    return;
  }
  console.log(`TLS echo: ${params.connections} connections, ${params.size}-byte messages, ${params.seconds} s measured, median of ${runs} run(s), one process each (${os.cpus().length} CPUs)`);
  console.log('implementation'.padEnd(44) + 'round trips/s'.padStart(14) + 'MiB/s each way'.padStart(16) + '  evloop ÷ it' + 'CPU µs/rt'.padStart(11));
  for (const implementation of implementations) {
    const result = results[implementation.id];
    if (result.skipped) {
      console.log(`${implementation.label.padEnd(44)}  skipped: ${result.skipped}`);
      continue;
    }
    const rate = result.roundTripsPerSecond;
    const mib = (rate * params.size) / (1024 * 1024);
    console.log(implementation.label.padEnd(44) + rate.toFixed(0).padStart(14) + mib.toFixed(1).padStart(16) + `  ${(base / rate).toFixed(2)}`.padEnd(12) + result.cpuMicrosecondsPerRoundTrip.toFixed(1).padStart(11));
  }
}

/** Why evloop cannot run on io_uring here, or null when it can. */
async function uringUnusable() {
  const { listBackends } = await import('@evloop/core-policy');
  const uring = listBackends().find((report) => report.name === 'uring');
  return uring?.available ? null : (uring?.reason ?? 'no uring backend');
}

/** One measured run; prints {"roundTripsPerSecond": n, "cpuMicrosecondsPerRoundTrip": n}. */
async function runChild(kind, params) {
  const [rate, cpu] = kind === 'evloop' || kind === 'evloop-uring' ? await evloopEcho(params, kind === 'evloop-uring' ? 'uring' : undefined) : await nodeEcho(params, kind === 'node-duplex');
  console.log(JSON.stringify({ roundTripsPerSecond: rate, cpuMicrosecondsPerRoundTrip: cpu }));
  // Node's sockets are left open: exiting ends them.
  process.exit(0);
}

/** Counts round trips (and the process's CPU time) between `start()` and `stop()`; clients call `tick()` after each one. */
function meter(params, finish) {
  let counting = false;
  let count = 0;
  let started = 0;
  let cpuStarted = null;
  return {
    tick() {
      if (counting) count++;
    },
    allConnected(schedule) {
      schedule(params.warmup, () => {
        counting = true;
        started = performance.now();
        cpuStarted = process.cpuUsage();
        schedule(params.seconds, () => {
          counting = false;
          const cpu = process.cpuUsage(cpuStarted);
          finish([(count * 1000) / (performance.now() - started), (cpu.user + cpu.system) / Math.max(count, 1)]);
        });
      });
    },
  };
}

async function evloopEcho(params, backend) {
  const { CONSUMES_RECEIVED_DATA, SSLContext } = await import('@evloop/core-policy');
  const { benchLoop } = await import('./src/bench-loop.mjs');
  const consumes = process.env.EVLOOP_BENCH_CONSUMES === '1';
  const loop = benchLoop(backend);
  const serverContext = new SSLContext('server');
  serverContext.loadCertChain(params.cert, params.key);
  const clientContext = new SSLContext('client');
  clientContext.loadVerifyLocations({ cafile: params.ca });
  const message = Buffer.alloc(params.size, 0x61);
  let result = 0;
  const stopped = loop.createFuture();
  const m = meter(params, (rate) => {
    result = rate;
    stopped.setResult(undefined);
  });
  class EchoServer {
    [CONSUMES_RECEIVED_DATA] = consumes;
    connectionMade(transport) {
      this.transport = transport;
    }
    dataReceived(data) {
      this.transport.write(data);
    }
    connectionLost() {}
  }
  class Client {
    [CONSUMES_RECEIVED_DATA] = consumes;
    received = 0;
    connectionMade(transport) {
      this.transport = transport;
    }
    dataReceived(data) {
      this.received += data.length;
      if (this.received < params.size) return;
      this.received -= params.size;
      m.tick();
      if (!stopped.done()) this.transport.write(message);
    }
    connectionLost() {}
  }
  // A generator coroutine, as an async function would switch on Node's
  // AsyncLocalStorage hooks (evloop's task context) for the whole process.
  await loop.runUntilComplete(function* main() {
    const server = yield* loop.createServer(() => new EchoServer(), '127.0.0.1', 0, { ssl: serverContext });
    const port = server.sockets[0].getsockname()[1];
    const clients = [];
    for (let i = 0; i < params.connections; i++) {
      clients.push(yield* loop.createConnection(() => new Client(), '127.0.0.1', port, { ssl: clientContext, serverHostname: 'localhost' }));
    }
    for (const [transport] of clients) transport.write(message);
    m.allConnected((seconds, callback) => loop.callLater(seconds, callback));
    yield* stopped;
    for (const [transport] of clients) transport.abort();
    server.close();
    server.closeClients();
    yield* server.waitClosed();
  });
  loop.close();
  return result;
}

/**
 * A JS Duplex over a net.Socket: with it, Node's TLS runs through its JS
 * stream wrap, as it does over evloop's in-memory Duplex, so this row
 * shows what that path costs Node itself.
 */
function duplexOver(socket, Duplex) {
  const duplex = new Duplex({
    allowHalfOpen: true,
    read: () => socket.resume(),
    write: (chunk, _encoding, callback) => {
      socket.write(chunk);
      callback();
    },
    writev: (chunks, callback) => {
      for (const { chunk } of chunks) socket.write(chunk);
      callback();
    },
    final: (callback) => callback(),
  });
  socket.setNoDelay(true);
  socket.on('data', (data) => {
    if (!duplex.push(data)) socket.pause();
  });
  socket.on('error', () => {});
  return duplex;
}

async function nodeEcho(params, overDuplex) {
  const tls = await import('node:tls');
  const net = await import('node:net');
  const { Duplex } = await import('node:stream');
  const options = { cert: fs.readFileSync(params.cert), key: fs.readFileSync(params.key) };
  const echo = (socket) => {
    socket.on('data', (data) => socket.write(data));
    socket.on('error', () => {});
  };
  const secureContext = tls.createSecureContext(options);
  const server = overDuplex
    ? net.createServer((socket) => echo(new tls.TLSSocket(duplexOver(socket, Duplex), { isServer: true, secureContext })))
    : tls.createServer(options, echo);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const ca = fs.readFileSync(params.ca);
  const message = Buffer.alloc(params.size, 0x61);
  let stopped = false;
  let result = 0;
  const done = new Promise((resolve) => {
    const m = meter(params, (rate) => {
      stopped = true;
      result = rate;
      resolve();
    });
    const sockets = [];
    let connected = 0;
    for (let i = 0; i < params.connections; i++) {
      const target = overDuplex ? { socket: duplexOver(net.connect(port, '127.0.0.1'), Duplex) } : { port, host: '127.0.0.1' };
      const socket = tls.connect({ ...target, servername: 'localhost', ca }, () => {
        if (++connected === params.connections) {
          for (const each of sockets) each.write(message);
          m.allConnected((seconds, callback) => setTimeout(callback, seconds * 1000));
        }
      });
      let received = 0;
      socket.on('data', (data) => {
        received += data.length;
        if (received < params.size) return;
        received -= params.size;
        m.tick();
        if (!stopped) socket.write(message);
      });
      socket.on('error', () => {});
      sockets.push(socket);
    }
  });
  await done;
  return result;
}
