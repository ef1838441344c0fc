// The addon's lifetimes (collection, worker threads, throwing callbacks) on
// Linux, over the epoll-based kqueue emulation: what they check is addon.cc's
// handling of its libuv handle, which is the same whatever kernel is below.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { buildEmulatedAddon, emulationSkip } from './emulation/build-emulation.js';

const addon = emulationSkip === false ? buildEmulatedAddon().addon : '';

/** Runs a CommonJS script in a fresh Node, with `Kqueue` (the emulated binding) in scope. */
function runNode(script: string, nodeOptions: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const prelude = `const { Selector: Kqueue } = require(${JSON.stringify(addon)});\n`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, '-e', prelude + script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The number of kqueue fds (epoll fds, in the emulation) this process holds, as script text. */
const COUNT_KQUEUES = `
  const fs = require('fs');
  const kqueues = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
    try { return fs.readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[eventpoll]'; } catch { return false; }
  }).length;
`;

function startWorker(ending: 'unwatch' | 'close' | 'none'): { worker: Worker; armed: Promise<unknown>; exited: Promise<number> } {
  const worker = new Worker(
    `
    const { parentPort } = require('worker_threads');
    const { Selector: Kqueue } = require(${JSON.stringify(addon)});
    const kqueue = new Kqueue();
    kqueue.watch(() => {});
    parentPort.postMessage('armed');
    const ending = ${JSON.stringify(ending)};
    if (ending !== 'none') setTimeout(() => kqueue[ending](), 20);
    `,
    { eval: true },
  );
  const armed = new Promise((resolve) => worker.once('message', resolve));
  const exited = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  return { worker, armed, exited };
}

describe.skipIf(emulationSkip !== false)(`emulated kqueue lifetimes${emulationSkip === false ? '' : ` (${emulationSkip})`}`, () => {
  it('a selector collected without close() gives back its kqueue fd and its libuv handle', async () => {
    const result = await runNode(
      `${COUNT_KQUEUES}
      const before = kqueues();
      (() => {
        for (let i = 0; i < 100; i++) {
          const kqueue = new Kqueue();
          if (i % 2 === 1) { kqueue.watch(() => {}); kqueue.unwatch(); }
        }
      })();
      const during = kqueues();
      let rounds = 0;
      const settle = () => { global.gc(); if (++rounds < 20) setImmediate(settle); else console.log(JSON.stringify([before, during, kqueues()])); };
      settle();
      `,
      ['--expose-gc'],
    );
    expect(result.stderr).toBe('');
    const [before, during, after] = JSON.parse(result.stdout) as number[];
    expect(during).toBeGreaterThanOrEqual(before! + 100);
    expect(after).toBe(before);
  });

  it('a watched selector stays alive and calling back after its last reference is dropped', async () => {
    const result = await runNode(
      `
      let calls = 0;
      (() => {
        const kqueue = new Kqueue();
        kqueue.add(1, 2); // stdout is a pipe here: always writable
        kqueue.watch(() => { if (++calls === 30) { console.log('still called'); process.exit(0); } });
      })();
      global.gc();
      setImmediate(() => global.gc());
      `,
      ['--expose-gc'],
    );
    expect(result).toEqual({ code: 0, stdout: 'still called\n', stderr: '' });
  });

  it('onReady that throws raises an uncaught exception, like any Node callback', async () => {
    const result = await runNode(`
      const kqueue = new Kqueue();
      kqueue.add(1, 2);
      process.on('uncaughtException', (error) => { console.log('uncaught: ' + error.message); kqueue.close(); });
      kqueue.watch(() => { throw new Error('from onReady'); });
    `);
    expect(result).toEqual({ code: 0, stdout: 'uncaught: from onReady\n', stderr: '' });
  });

  it('onReady may close its selector, then watch a new one', async () => {
    const result = await runNode(`
      const first = new Kqueue();
      first.add(1, 2);
      first.watch(() => {
        first.close();
        const second = new Kqueue();
        second.add(1, 2);
        second.watch(() => { second.close(); console.log('done'); });
      });
    `);
    expect(result).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
  });

  it('in worker threads, a worker exits once it unwatches or closes', async () => {
    const workers = [startWorker('unwatch'), startWorker('close'), startWorker('unwatch')];
    await Promise.all(workers.map((entry) => entry.armed));
    expect(await Promise.all(workers.map((entry) => entry.exited))).toEqual([0, 0, 0]);
  });

  it('a worker terminated while watched is kept alive until then, and tears the watch down', async () => {
    const { worker, armed, exited } = startWorker('none');
    await armed;
    const first = await Promise.race([exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('alive'), 200))]);
    expect(first).toBe('alive');
    await worker.terminate();
    expect(await exited).toBe(1);
  });

  it('terminating workers in the middle of busy, throwing and failing callbacks never aborts the process', async () => {
    const result = await runNode(`
      const { Worker } = require('worker_threads');
      const code = \`
        const { parentPort } = require('worker_threads');
        const { Selector: Kqueue } = require(\${JSON.stringify(${JSON.stringify(addon)})});
        const kqueue = new Kqueue();
        kqueue.add(1, 2);
        const out = new Int32Array(16);
        let calls = 0;
        process.on('uncaughtException', () => {});
        kqueue.watch(() => {
          const until = Date.now() + 1;
          while (Date.now() < until);
          kqueue.wait(out, 0);
          if (++calls === 3) parentPort.postMessage('busy');
          if (calls % 3 === 0) { try { kqueue.add(999999, 1); } catch {} }
          if (calls % 5 === 0) throw new Error('from onReady');
        });
      \`;
      (async () => {
        for (let i = 0; i < 30; i++) {
          const worker = new Worker(code, { eval: true, stdout: true });
          await new Promise((resolve) => worker.once('message', resolve));
          await new Promise((resolve) => setTimeout(resolve, i % 3));
          await worker.terminate();
        }
        console.log('survived');
      })();
    `);
    expect(result).toEqual({ code: 0, stdout: 'survived\n', stderr: '' });
  });
});
