#!/usr/bin/env node
// Sending a 16 MiB file over loopback TCP: CPU time of the sending process
// per MiB sent, for
//   evloop-native  loop.sendfile on the default selector loop (sendfile(2))
//   evloop-uring   loop.sendfile on the io_uring proactor loop (EVLOOP_BACKEND=uring;
//                  the proactor's own sendfile), where io_uring can run
//   evloop-copy    the same call with the loop's native path switched off:
//                  the chunked copy (pread on the thread pool, transport.write)
//   node-pipe      fs.createReadStream(file).pipe(socket)
//   asyncio        loop.sendfile on asyncio's selector loop (os.sendfile),
//                  python/sendfile_client.py
// uvloop has no row: its loop.sendfile raises NotImplementedError.
//
//   node sendfile.mjs            5 rounds of 4 files per implementation, interleaved
//   node sendfile.mjs --quick    1 round of 1 file: a smoke test
//   node sendfile.mjs --json     the same figures as JSON
//
// Every sender is a process of its own (so one's garbage is not collected
// in another's time), makes its connection and, for the Node ones, sends the
// file once untimed (JIT warm-up), then times its transfer itself: CPU of
// the whole process and wall time, until the receiver has counted every
// byte. The receiver is one more Node process that reads and discards, and
// answers with the byte count once the sender has shut down its side. Rounds
// interleave the implementations (A, B, C, D, A, B, ...) so a change in the
// machine's load hits them all alike; each median is printed with its spread
// (min..max), and ratios are to evloop-native within the same run. A missing
// Python, or io_uring that cannot run here, is reported as not available.
import { fork, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseBenchArgs } from './src/common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const pythonClient = path.join(here, 'python', 'sendfile_client.py');

const FILE_SIZE = 16 * 1024 * 1024;
const MiB = 1024 * 1024;
const NODE_SENDERS = ['evloop-native', 'evloop-uring', 'evloop-copy', 'node-pipe'];

if (process.argv[2] === '--sink') sink();
else if (process.argv[2] === '--probe-uring') await probeUring();
else if (process.argv[2] === '--send') await sendAndReport(process.argv[3], Number(process.argv[4]), process.argv[5], Number(process.argv[6]));
else await main();

/** The receiver: count what arrives on each connection, answer with the count at EOF. */
function sink() {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let count = 0;
    socket.on('data', (chunk) => {
      count += chunk.length;
    });
    socket.on('end', () => socket.end(`${count}\n`));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => server.close());
}

/** Prints the backend a loop gets with EVLOOP_BACKEND=uring (set by the caller), or why it gets none. */
async function probeUring() {
  const { newEventLoop } = await import('@evloop/core-policy');
  try {
    const loop = newEventLoop();
    console.log(loop.backend?.name ?? 'none');
    loop.close();
  } catch (error) {
    console.log(`none: ${error.message.split('\n')[0]}`);
  }
}

/** CPU (this process, every thread) and wall time from now to `stop`. */
function startClock() {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return {
    stop(received) {
      const cpu = process.cpuUsage(cpu0);
      return { received, cpuSeconds: (cpu.user + cpu.system) / 1e6, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    },
  };
}

/** A Node sender: one untimed file, then `files` files timed; prints the JSON the Python sender prints. */
async function sendAndReport(impl, port, file, files) {
  const send = impl === 'node-pipe' ? nodePipe : (...args) => evloopSend(impl === 'evloop-copy', ...args);
  await send(port, file, 1, false);
  console.log(JSON.stringify(await send(port, file, files, true)));
}

async function evloopSend(copy, port, file, files, timed) {
  const { Protocol } = await import('@evloop/core-policy');
  const { benchLoop } = await import('./src/bench-loop.mjs');
  const loop = benchLoop();
  if (copy) Object.defineProperty(loop, '_hasNativeSendfile', { value: () => false });
  const fd = fs.openSync(file, 'r');
  try {
    return await loop.runUntilComplete(async () => {
      let answer = '';
      const done = loop.createFuture();
      class Reply extends Protocol {
        dataReceived(data) {
          answer += data.toString();
        }
        connectionLost() {
          if (!done.done()) done.setResult(undefined);
        }
      }
      const [transport] = await loop.createConnection(() => new Reply(), '127.0.0.1', port);
      const clock = timed ? startClock() : null;
      for (let i = 0; i < files; i++) await loop.sendfile(transport, fd);
      transport.writeEof();
      await done;
      return clock?.stop(Number(answer.trim()));
    });
  } finally {
    fs.closeSync(fd);
    loop.close();
  }
}

async function nodePipe(port, file, files, timed) {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  socket.on('data', (data) => {
    answer += data.toString();
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const clock = timed ? startClock() : null;
  for (let i = 0; i < files; i++) {
    await new Promise((resolve, reject) => {
      const stream = fs.createReadStream(file);
      stream.once('error', reject).once('end', resolve);
      stream.pipe(socket, { end: false });
    });
  }
  socket.end();
  await closed;
  return clock?.stop(Number(answer.trim()));
}

/** Run a sender process; its last line of output is its JSON report. */
async function runSender(command, args, id, env = process.env) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  let output = '';
  child.stdout.on('data', (data) => {
    output += data;
  });
  const status = await new Promise((resolve) => child.once('close', resolve));
  if (status !== 0) throw new Error(`${id}: the sender exited with ${status}`);
  return JSON.parse(output.trim().split('\n').pop());
}

async function main() {
  const values = parseBenchArgs({ quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, 'usage: sendfile.mjs [--quick] [--json]');
  const rounds = values.quick ? 1 : 5;
  const files = values.quick ? 1 : 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-bench-sendfile-'));
  const file = path.join(dir, 'data.bin');
  const block = Buffer.alloc(MiB, 0x5a);
  fs.writeFileSync(file, Buffer.concat(Array.from({ length: FILE_SIZE / MiB }, () => block)));
  const receiver = fork(self, ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => receiver.once('message', (message) => resolve(message.port)));
  // The Python to use: $EVLOOP_BENCH_PYTHON, else the system one, else python3 on PATH.
  const python = process.env.EVLOOP_BENCH_PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const probe = spawnSync(python, [pythonClient, '--probe'], { encoding: 'utf8' });
  const hasPython = probe.status === 0 && !probe.error;
  const uringEnv = { ...process.env, EVLOOP_BACKEND: 'uring' };
  const hasUring = spawnSync(process.execPath, [self, '--probe-uring'], { encoding: 'utf8', env: uringEnv }).stdout.trim() === 'uring';
  const senders = {};
  for (const id of NODE_SENDERS) {
    if (id === 'evloop-uring' && !hasUring) continue;
    const env = id === 'evloop-uring' ? uringEnv : process.env;
    senders[id] = () => runSender(process.execPath, [self, '--send', id, String(port), file, String(files)], id, env);
  }
  if (hasPython) senders.asyncio = () => runSender(python, [pythonClient, 'asyncio', String(port), file, String(files)], 'asyncio');
  const missing = [...(hasUring ? [] : ['evloop-uring']), ...(hasPython ? [] : ['asyncio'])];

  const results = Object.fromEntries(Object.keys(senders).map((id) => [id, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [id, send] of Object.entries(senders)) {
        const { received, cpuSeconds, seconds } = await send();
        if (received !== files * FILE_SIZE) throw new Error(`${id}: the receiver got ${received} bytes, not ${files * FILE_SIZE}`);
        const mib = received / MiB;
        results[id].push({ cpuUsPerMiB: (cpuSeconds * 1e6) / mib, mibPerSecond: mib / seconds });
      }
    }
  } finally {
    receiver.disconnect();
    receiver.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const summary = Object.fromEntries(
    Object.entries(results).map(([id, runs]) => {
      const cpu = runs.map((run) => run.cpuUsPerMiB);
      return [id, { cpuUsPerMiB: median(cpu), cpuMin: Math.min(...cpu), cpuMax: Math.max(...cpu), mibPerSecond: median(runs.map((run) => run.mibPerSecond)) }];
    }),
  );
  if (values.json) {
    console.log(JSON.stringify({ fileSize: FILE_SIZE, files, rounds, results: summary, notInstalled: missing }, null, 2));
    return;
  }
  const base = summary['evloop-native'].cpuUsPerMiB;
  console.log(`sendfile: ${files} x 16 MiB per connection over loopback, ${rounds} interleaved round(s); sender CPU per MiB, median (min..max)`);
  for (const [id, row] of Object.entries(summary)) {
    console.log(
      `  ${id.padEnd(14)} ${row.cpuUsPerMiB.toFixed(0).padStart(6)} us/MiB (${row.cpuMin.toFixed(0)}..${row.cpuMax.toFixed(0)})  ${(row.cpuUsPerMiB / base).toFixed(2)}x native  ${row.mibPerSecond.toFixed(0).padStart(6)} MiB/s`,
    );
  }
  for (const id of missing) console.log(`  ${id.padEnd(14)} not available here`);
}
