#!/usr/bin/env node
// Memory per idle connection: how much a server's resident set grows for
// each connection it holds open and idle, beside Node net, asyncio and uvloop.
//
//   node idle-memory.mjs                 5,000 connections, 3 runs per server, medians
//   node idle-memory.mjs --quick         200 connections, 1 run: a smoke test
//   node idle-memory.mjs --json          the figures as JSON
//   node idle-memory.mjs --connections 2000 --runs 5 --impl evloop,uvloop
//   node idle-memory.mjs --idle 15     also read RSS after 15 s more of idleness
//
// Each run starts a fresh echo server (the ones net.mjs runs: apps/bench/src/
// net-server.mjs and python/net_server.py), reads its VmRSS from /proc, opens
// the connections from this process (in batches of 500), sends one byte on
// each and waits for its echo (so the server has accepted it, made its
// transport and protocol, and read from it once), waits for the server to
// settle, reads VmRSS again and divides the growth by the connection count.
// With --idle S it reads VmRSS once more after S seconds with nothing to do: a
// JavaScript heap's young generation, grown during the burst of accepts, can
// be given back by then (V8's memory reducer), which is what a server whose
// connections sit idle for long holds.
// Runs interleave the servers. Linux only (/proc).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pythonCommand, startServer, stopServer } from './net.mjs';
import { exitWithUsage, median, parseBenchArgs } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export const IMPLEMENTATIONS = [
  { id: 'evloop', label: 'evloop', python: false },
  { id: 'node', label: 'Node net', python: false },
  { id: 'asyncio', label: 'asyncio', python: true },
  { id: 'uvloop', label: 'uvloop', python: true },
];

const BATCH = 500;
/** How long the server gets after the last echo before its RSS is read again. */
const SETTLE_MS = 500;

const USAGE = 'usage: idle-memory.mjs [--quick] [--json] [--connections N] [--runs N] [--idle SECONDS] [--impl evloop,node,asyncio,uvloop]';

const usage = (message) => exitWithUsage(USAGE, message);

function parseCli() {
  const values = parseBenchArgs(
    {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      connections: { type: 'string' },
      runs: { type: 'string' },
      idle: { type: 'string' },
      impl: { type: 'string' },
    },
    USAGE,
  );
  const connections = Number(values.connections ?? (values.quick ? 200 : 5000));
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(connections) || connections < 1) usage('--connections must be a positive integer');
  if (!Number.isInteger(runs) || runs < 1) usage('--runs must be a positive integer');
  const idleSeconds = values.idle === undefined ? 0 : Number(values.idle);
  if (values.idle !== undefined && !(idleSeconds > 0 && idleSeconds <= 600)) usage('--idle must be a number of seconds in (0, 600]');
  let implementations = IMPLEMENTATIONS;
  if (values.impl !== undefined) {
    const wanted = values.impl.split(',');
    for (const id of wanted) if (!IMPLEMENTATIONS.some((impl) => impl.id === id)) usage(`unknown impl ${id}`);
    implementations = IMPLEMENTATIONS.filter((impl) => wanted.includes(impl.id));
  }
  return { json: values.json, quick: values.quick, connections, runs, idleSeconds, implementations };
}

function probePython(python) {
  const probe = spawnSync(python, [path.join(here, 'python', 'net_server.py'), '--probe'], { encoding: 'utf8', timeout: 30_000 });
  try {
    return probe.status === 0 ? JSON.parse(probe.stdout) : { asyncio: false, uvloop: null };
  } catch {
    return { asyncio: false, uvloop: null };
  }
}

/**
 * VmRSS of a process in KiB, and RssAnon: its private memory, without the
 * pages of its executable and libraries it has touched (RssFile), which
 * are shared with every process running them and are no connection's.
 */
function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  const anon = /RssAnon:\s+(\d+) kB/.exec(status);
  if (!match || !anon) throw new Error(`no VmRSS or RssAnon for ${pid}`);
  return { rss: Number(match[1]), anon: Number(anon[1]) };
}

/** Growth from `before` to `now` in bytes per connection: all of the resident set, and the private part. */
function perConnection(before, now, connections) {
  return { bytes: ((now.rss - before.rss) * 1024) / connections, anonBytes: ((now.anon - before.anon) * 1024) / connections };
}

/** One connection that has had one byte echoed back. */
function openEchoed(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no echo within 10 s'));
    }, 10_000);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => socket.write('x'));
    socket.once('data', (data) => {
      clearTimeout(timer);
      if (data.toString() !== 'x') reject(new Error(`wrong echo ${JSON.stringify(data.toString())}`));
      else resolve(socket);
    });
  });
}

async function measure(impl, connections, python, idleSeconds) {
  const { command, args } = impl.python
    ? { command: python, args: [path.join(here, 'python', 'net_server.py'), impl.id, 'echo'] }
    : { command: process.execPath, args: [path.join(here, 'src', 'net-server.mjs'), impl.id, 'echo'] };
  const server = await startServer({ command, args });
  const sockets = [];
  try {
    // One connection first, so what the first accept allocates once (pools, slabs) is not counted per connection.
    sockets.push(await openEchoed(server.port));
    await sleep(SETTLE_MS);
    const before = rssKiB(server.child.pid);
    while (sockets.length < connections + 1) {
      const batch = Math.min(BATCH, connections + 1 - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => openEchoed(server.port)))));
    }
    await sleep(SETTLE_MS);
    const after = rssKiB(server.child.pid);
    const grown = perConnection(before, after, connections);
    const sample = { beforeKiB: before.rss, afterKiB: after.rss, bytesPerConnection: grown.bytes, anonBytesPerConnection: grown.anonBytes };
    if (idleSeconds > 0) {
      await sleep(idleSeconds * 1000);
      const idle = rssKiB(server.child.pid);
      const kept = perConnection(before, idle, connections);
      sample.idleKiB = idle.rss;
      sample.idleBytesPerConnection = kept.bytes;
      sample.idleAnonBytesPerConnection = kept.anonBytes;
    }
    return sample;
  } finally {
    for (const socket of sockets) socket.destroy();
    await stopServer(server.child);
  }
}

async function main() {
  const options = parseCli();
  const python = pythonCommand();
  const found = options.implementations.some((impl) => impl.python) ? probePython(python) : {};
  const cells = Object.fromEntries(
    options.implementations.map((impl) => {
      const missing = impl.id === 'asyncio' && !found.asyncio ? 'python3' : impl.id === 'uvloop' && !found.uvloop ? 'python3-uvloop' : null;
      return [impl.id, missing ? { status: 'not installed', missing } : { status: 'ok', samples: [] }];
    }),
  );
  for (let run = 0; run < options.runs; run++) {
    for (const impl of options.implementations) {
      const cell = cells[impl.id];
      if (cell.status !== 'ok') continue;
      try {
        cell.samples.push(await measure(impl, options.connections, python, options.idleSeconds));
      } catch (error) {
        cells[impl.id] = { status: 'failed', error: error.message };
      }
    }
  }
  for (const cell of Object.values(cells)) {
    if (cell.status !== 'ok') continue;
    cell.bytesPerConnection = Math.round(median(cell.samples.map((sample) => sample.bytesPerConnection)));
    cell.anonBytesPerConnection = Math.round(median(cell.samples.map((sample) => sample.anonBytesPerConnection)));
    if (options.idleSeconds > 0) {
      cell.idleBytesPerConnection = Math.round(median(cell.samples.map((sample) => sample.idleBytesPerConnection)));
      cell.idleAnonBytesPerConnection = Math.round(median(cell.samples.map((sample) => sample.idleAnonBytesPerConnection)));
    }
  }
  const report = { connections: options.connections, runs: options.runs, idleSeconds: options.idleSeconds, node: process.version, cells };
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`Memory per idle connection: server RSS growth over ${options.connections} connections, median of ${options.runs} run(s), Node ${process.version}`);
    console.log('');
    console.log('Private: the growth of RssAnon alone, without the pages of the runtime\'s own executable and libraries that the burst touched (shared, and no connection\'s).');
    console.log('');
    const idle = options.idleSeconds > 0;
    const idleHead = `after ${options.idleSeconds} s idle`;
    console.log(idle ? `| server | bytes per connection | private | runs | ${idleHead} | private | runs |` : '| server | bytes per connection | private | runs |');
    console.log(idle ? '|---|---:|---:|---|---:|---:|---|' : '|---|---:|---:|---|');
    const runsOf = (cell, key, anonKey) => cell.samples.map((sample) => `${Math.round(sample[key])} (${Math.round(sample[anonKey])})`).join(', ');
    for (const impl of options.implementations) {
      const cell = cells[impl.id];
      const ok = cell.status === 'ok';
      const value = ok ? String(cell.bytesPerConnection) : cell.status === 'failed' ? `FAILED: ${cell.error}` : `not installed (${cell.missing})`;
      const anon = ok ? String(cell.anonBytesPerConnection) : '';
      const runs = ok ? runsOf(cell, 'bytesPerConnection', 'anonBytesPerConnection') : '';
      if (!idle) {
        console.log(`| ${impl.label} | ${value} | ${anon} | ${runs} |`);
        continue;
      }
      const idleValue = ok ? String(cell.idleBytesPerConnection) : '';
      const idleAnon = ok ? String(cell.idleAnonBytesPerConnection) : '';
      const idleRuns = ok ? runsOf(cell, 'idleBytesPerConnection', 'idleAnonBytesPerConnection') : '';
      console.log(`| ${impl.label} | ${value} | ${anon} | ${runs} | ${idleValue} | ${idleAnon} | ${idleRuns} |`);
    }
  }
  process.exitCode = Object.values(cells).some((cell) => cell.status === 'failed') ? 1 : 0;
}

await main();
