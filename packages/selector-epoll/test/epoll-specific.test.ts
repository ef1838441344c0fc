import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEAD_REGISTRATION_CHECK_INTERVAL, EVENT_PRIORITY, EVENT_READ, EVENT_WRITE, KNOWN_BACKENDS, OSError, PermissionError, type NativeSelectorBinding } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backend, EpollSelector } from '../src/index.js';
import { loadNative } from '../src/load-native.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

const toClose: Array<() => void> = [];
const openFds = new Set<number>();
let fdsBefore: string[] = [];
beforeEach(() => {
  fdsBefore = readdirSync('/proc/self/fd');
});
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) close();
  for (const fd of openFds) sys.close(fd);
  openFds.clear();
  const before = new Set(fdsBefore);
  const leaked = () => readdirSync('/proc/self/fd').filter((fd) => !before.has(fd));
  if (leaked().length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(leaked()).toEqual([]);
});

function selector(): EpollSelector {
  const created = new EpollSelector();
  toClose.push(() => created.close());
  return created;
}

function binding(): NativeSelectorBinding {
  const created = new (loadNative() as { Selector: new () => NativeSelectorBinding }).Selector();
  toClose.push(() => created.close());
  return created;
}


function track(fd: number): number {
  openFds.add(fd);
  return fd;
}

function closeFd(fd: number): void {
  openFds.delete(fd);
  sys.close(fd);
}

function pipe(): [number, number] {
  const [reader, writer] = sys.pipe();
  return [track(reader), track(writer)];
}

function eventpollFds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventpoll]';
    } catch {
      return false;
    }
  }).length;
}

/** Runs a CommonJS script in a fresh Node with `loadEpoll()` defined; resolves with its exit and output. */
function runNode(script: string, args: string[] = [], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const prelude = `const loadEpoll = () => require(${JSON.stringify(require_resolve_node_gyp_build())})(${JSON.stringify(packageRoot)});\n`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '-e', prelude + script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function require_resolve_node_gyp_build(): string {
  return join(packageRoot, 'node_modules', 'node-gyp-build', 'index.js');
}

describe('epoll backend descriptor', () => {
  it('describes the epoll selector as KNOWN_BACKENDS does', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === 'epoll')!;
    expect(backend.specificationVersion).toBe('v1');
    expect(backend.name).toBe('epoll');
    expect(backend.kind).toBe('selector');
    expect(backend.packageName).toBe('@evloop/selector-epoll');
    expect(backend.platforms).toEqual(known.platforms);
    expect(backend.createProactor).toBeUndefined();
  });

  it('available() opens and closes a real epoll fd', () => {
    const before = eventpollFds();
    expect(backend.available()).toEqual({ ok: true });
    expect(eventpollFds()).toBe(before);
  });

  it('available() says why on a platform without epoll, without throwing', () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { ...platform, value: 'darwin' });
    try {
      expect(backend.available()).toEqual({ ok: false, reason: 'epoll does not exist on darwin; it needs Linux or Android' });
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
  });

  it('createSelector() makes an EpollSelector', () => {
    const created = backend.createSelector!();
    toClose.push(() => created.close());
    expect(created).toBeInstanceOf(EpollSelector);
    expect(created.backendName).toBe('epoll');
  });
});

describe('epoll specifics', () => {
  it('fileno() is a close-on-exec eventpoll fd, and -1 once closed', () => {
    const epoll = selector();
    const fd = epoll.fileno();
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[eventpoll]');
    const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    expect(flags & 0o2000000).not.toBe(0);
    const raw = binding();
    raw.close();
    expect(raw.fileno()).toBe(-1);
  });

  it('a regular file is refused with PermissionError (EPERM from epoll_ctl)', () => {
    const epoll = selector();
    const directory = mkdtempSync(join(tmpdir(), 'evloop-epoll-'));
    const fd = openSync(join(directory, 'file'), 'w+');
    try {
      let error: unknown;
      try {
        epoll.register(fd, EVENT_READ);
      } catch (caught) {
        error = caught;
      }
      expect(PermissionError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'EPERM', syscall: 'epoll_ctl' });
      expect(epoll.getMap().size).toBe(0);
    } finally {
      closeSync(fd);
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('a hang-up or error is read, write and priority in the raw pairs (CPython maps it to both; a priority watcher must wake too); select() masks it', () => {
    const epoll = selector();
    const [reader, writer] = pipe();
    epoll.register(writer, EVENT_WRITE);
    closeFd(reader);
    const count = epoll.selectInto(0);
    expect(count).toBe(1);
    expect([epoll.readyBuffer[0], epoll.readyBuffer[1]]).toEqual([writer, EVENT_READ | EVENT_WRITE | EVENT_PRIORITY]);
    expect(epoll.select(0).map(([key, events]) => [key.fd, events])).toEqual([[writer, EVENT_WRITE]]);
  });

  it('an fd unregistered after close while a dup keeps its file open: the epoll set is rebuilt without it', () => {
    const epoll = selector();
    const [reader, writer] = pipe();
    track(sys.dup(writer));
    epoll.register(writer, EVENT_WRITE);
    closeFd(writer);
    const kernelFd = epoll.fileno();
    // epoll_ctl(DEL) fails with EBADF and the kernel would keep reporting
    // the old number; with nothing else registered the set is rebuilt at once.
    epoll.unregister(writer);
    expect(epoll.fileno()).not.toBe(kernelFd);
    expect(epoll.selectInto(0)).toBe(0);
    expect(reader).toBeGreaterThanOrEqual(0);
  });

  it('the same with other fds still registered: the first wait that reports the old number rebuilds the set', () => {
    const epoll = selector();
    const [reader, writer] = pipe();
    const [, otherWriter] = pipe();
    track(sys.dup(writer));
    epoll.register(writer, EVENT_WRITE);
    epoll.register(otherWriter, EVENT_WRITE);
    closeFd(writer);
    epoll.unregister(writer);
    expect(epoll.select(0).map(([key]) => key.fd)).toEqual([otherWriter]);
    expect(epoll.selectInto(0)).toBe(1);
    expect(epoll.readyBuffer[0]).toBe(otherWriter);
    expect(reader).toBeGreaterThanOrEqual(0);
  });

  it('an fd closed without unregister while a dup keeps its file open is dropped within DEAD_REGISTRATION_CHECK_INTERVAL waits', () => {
    const epoll = selector();
    const [, writer] = pipe();
    const [, otherWriter] = pipe();
    track(sys.dup(writer));
    epoll.register(writer, EVENT_WRITE);
    epoll.register(otherWriter, EVENT_WRITE);
    const dropped: number[] = [];
    epoll.onDeadRegistration = (key) => dropped.push(key.fd);
    closeFd(writer);
    let reportedDead = 0;
    for (let i = 0; i < 2 * DEAD_REGISTRATION_CHECK_INTERVAL; i++) {
      const count = epoll.selectInto(0);
      for (let j = 0; j < count; j++) if (epoll.readyBuffer[2 * j] === writer) reportedDead++;
    }
    expect(dropped).toEqual([writer]);
    expect(reportedDead).toBeLessThan(DEAD_REGISTRATION_CHECK_INTERVAL);
    expect(epoll.getMap().has(writer)).toBe(false);
    expect(epoll.select(0).map(([key]) => key.fd)).toEqual([otherWriter]);
  });

  it('an fd closed and its number reused by a new file, then modified: the old file stops firing', () => {
    const epoll = selector();
    const [, writer] = pipe();
    track(sys.dup(writer));
    epoll.register(writer, EVENT_WRITE);
    closeFd(writer);
    const [reader, newWriter] = pipe();
    const reused = reader === writer ? reader : newWriter === writer ? newWriter : -1;
    expect(reused).toBe(writer);
    // The number now names another file: modify registers it afresh, in a
    // set rebuilt without the old file (which is still writable).
    epoll.modify(writer, EVENT_READ);
    const count = epoll.selectInto(0);
    const fds = Array.from(epoll.readyBuffer.subarray(0, 2 * count)).filter((_, index) => index % 2 === 0);
    expect(fds).not.toContain(writer);
  });

  it('errors carry errno and syscall: EBADF for a bad fd, EEXIST for a second add', () => {
    const raw = binding();
    expect(() => raw.add(1_000_000, EVENT_READ)).toThrow(expect.objectContaining({ errno: 9, syscall: 'epoll_ctl' }));
    const [reader] = pipe();
    raw.add(reader, EVENT_READ);
    expect(() => raw.add(reader, EVENT_READ)).toThrow(expect.objectContaining({ errno: 17, syscall: 'epoll_ctl' }));
    expect(() => raw.modify(1_000_000, EVENT_READ)).toThrow(expect.objectContaining({ errno: 9 }));
    const typed = (() => {
      try {
        selector().register(1_000_000, EVENT_READ);
      } catch (error) {
        return error;
      }
    })();
    expect(OSError.isInstance(typed)).toBe(true);
    expect(typed).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'epoll_ctl' });
  });

  it('wait() checks its arguments and fills at most out.length / 2 pairs', () => {
    const raw = binding();
    const ends = Array.from({ length: 5 }, () => pipe()[1]);
    for (const fd of ends) raw.add(fd, EVENT_WRITE);
    expect(raw.wait(new Int32Array(4), 0)).toBe(2);
    expect(raw.wait(new Int32Array(64), 0)).toBe(5);
    expect(raw.wait(new Int32Array(64), -1)).toBe(5); // negative waits forever, but all are ready
    expect(() => raw.wait(new Int32Array(1), 0)).toThrow(RangeError);
    expect(() => raw.wait(new Float64Array(4) as unknown as Int32Array, 0)).toThrow(TypeError);
    expect(() => raw.add(ends[0]!, 8)).toThrow(RangeError);
    expect(() => raw.add(-1, EVENT_READ)).toThrow(RangeError);
  });

  it('when more fds are ready than the buffer holds, the kernel hands out the rest next time', () => {
    const raw = binding();
    const ends = Array.from({ length: 5 }, () => pipe()[1]);
    for (const fd of ends) raw.add(fd, EVENT_WRITE);
    const out = new Int32Array(4);
    const seen = new Set<number>();
    for (let call = 0; call < 3; call++) {
      const count = raw.wait(out, 0);
      for (let i = 0; i < count; i++) seen.add(out[2 * i]!);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([...ends].sort((a, b) => a - b));
  });

  it('watch(onReady, timeoutMs) also calls onReady once the timeout passes with nothing ready; watch(onReady) alone does not', async () => {
    // The native watch takes an optional timeout beside onReady (evloop/fd_watch.h).
    const raw = binding() as NativeSelectorBinding & { watch(onReady: () => void, timeoutMs?: number): void };
    const calls: string[] = [];
    await new Promise<void>((resolve) => {
      raw.watch(() => {
        calls.push('timer');
        resolve();
      }, 0.5);
    });
    // A later watch without a timeout replaces the callback and stops the timer.
    raw.watch(() => calls.push('late'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    raw.unwatch();
    expect(calls).toEqual(['timer']);
    expect(() => raw.watch(() => {}, '5' as never)).toThrow(TypeError);
  });

  it('a closed binding fails every call as a syscall on a closed fd (EBADF), and close() twice is fine', () => {
    const raw = binding();
    raw.close();
    raw.close();
    for (const call of [() => raw.add(0, EVENT_READ), () => raw.remove(0), () => raw.wait(new Int32Array(2), 0), () => raw.watch(() => {})]) {
      expect(call).toThrow(expect.objectContaining({ errno: 9, code: 'EBADF', syscall: 'epoll' }));
    }
  });

  it('wait() rounds a fractional timeout up to whole milliseconds', () => {
    const raw = binding();
    const start = performance.now();
    expect(raw.wait(new Int32Array(2), 0.2)).toBe(0);
    expect(performance.now() - start).toBeGreaterThanOrEqual(0.2);
  });
});

describe('epoll lifetimes', () => {
  it('a selector collected without close() releases its epoll fd and its libuv handle', async () => {
    const result = await runNode(
      `
      const fs = require('fs');
      const count = () => fs.readdirSync('/proc/self/fd').filter((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[eventpoll]'; } catch { return false; } }).length;
      const { Selector: Epoll } = loadEpoll();
      const before = count();
      (function () {
        for (let i = 0; i < 200; i++) {
          const epoll = new Epoll();
          if (i % 2) { epoll.watch(() => {}); epoll.unwatch(); }
        }
      })();
      const during = count();
      const settle = (n) => new Promise((resolve) => { global.gc(); setImmediate(() => n > 0 ? settle(n - 1).then(resolve) : resolve()); });
      settle(20).then(() => { console.log(JSON.stringify({ before, during, after: count() })); });
      `,
      ['--expose-gc'],
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const counts = JSON.parse(result.stdout) as { before: number; during: number; after: number };
    expect(counts.during).toBeGreaterThan(counts.before);
    expect(counts.after).toBe(counts.before);
  });

  it('a watched selector is not collected: it keeps calling back after its last reference is dropped', async () => {
    const result = await runNode(
      `
      const { Selector: Epoll } = loadEpoll();
      let calls = 0;
      (function () {
        const epoll = new Epoll();
        epoll.add(1, 2); // stdout is a pipe here: always writable
        // The callback does not refer to the selector: only the watch holds it.
        epoll.watch(() => { calls++; if (calls === 50) { console.log('ok'); process.exit(0); } });
      })();
      global.gc();
      setImmediate(() => global.gc());
      `,
      ['--expose-gc'],
    );
    expect(result).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('an exception thrown by onReady is an uncaught exception, like any Node callback', async () => {
    const result = await runNode(`
      const { Selector: Epoll } = loadEpoll();
      const epoll = new Epoll();
      epoll.add(1, 2);
      process.on('uncaughtException', (error) => { console.log('caught ' + error.message); epoll.close(); });
      epoll.watch(() => { throw new Error('boom'); });
    `);
    expect(result).toEqual({ code: 0, stdout: 'caught boom\n', stderr: '' });
  });

  const workerScript = (mode: 'unwatch' | 'leave-watched' | 'close') => `
    const { parentPort } = require('worker_threads');
    const { Selector: Epoll } = require(${JSON.stringify(require_resolve_node_gyp_build())})(${JSON.stringify(packageRoot)});
    const epoll = new Epoll();
    epoll.watch(() => {});
    parentPort.postMessage('armed');
    if (${JSON.stringify(mode)} === 'unwatch') setTimeout(() => epoll.unwatch(), 20);
    if (${JSON.stringify(mode)} === 'close') setTimeout(() => epoll.close(), 20);
  `;

  function startWorker(mode: 'unwatch' | 'leave-watched' | 'close'): { worker: Worker; armed: Promise<void>; exited: Promise<number> } {
    const worker = new Worker(workerScript(mode), { eval: true });
    const armed = new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const exited = new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', resolve);
    });
    return { worker, armed, exited };
  }

  it('works in worker threads: each exits once it unwatches or closes, even with the selector left unclosed', async () => {
    const workers = [startWorker('unwatch'), startWorker('close'), startWorker('unwatch')];
    await Promise.all(workers.map((entry) => entry.armed));
    expect(await Promise.all(workers.map((entry) => entry.exited))).toEqual([0, 0, 0]);
  });

  it('a worker terminated while watched tears the watch down cleanly', async () => {
    const before = eventpollFds();
    const { worker, armed, exited } = startWorker('leave-watched');
    await armed;
    const raced = await Promise.race([exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('alive'), 200))]);
    expect(raced).toBe('alive'); // the watch keeps the worker's loop alive
    await worker.terminate();
    expect(await exited).toBe(1);
    // The main thread still works, and the worker's epoll fd was released.
    const epoll = selector();
    expect(epoll.select(0)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(eventpollFds()).toBe(before + 1);
  });
  it('terminating workers whose onReady is busy, throwing and failing syscalls never aborts the process', async () => {
    const result = await runNode(`
      const { Worker } = require('worker_threads');
      const code = \`
        const { parentPort } = require('worker_threads');
        const { Selector: Epoll } = (\${loadEpoll.toString()})();
        const epoll = new Epoll();
        epoll.add(1, 2);
        const out = new Int32Array(64);
        let calls = 0;
        process.on('uncaughtException', () => {});
        epoll.watch(() => {
          const end = Date.now() + 1;
          while (Date.now() < end);
          epoll.wait(out, 0);
          if (++calls === 3) parentPort.postMessage('busy');
          if (calls % 3 === 0) { try { epoll.add(1000000, 1); } catch {} }
          if (calls % 7 === 0) throw new Error('from onReady');
        });
      \`;
      (async () => {
        for (let i = 0; i < 40; i++) {
          const worker = new Worker(code, { eval: true, stdout: true });
          await new Promise((resolve) => worker.once('message', resolve));
          await new Promise((resolve) => setTimeout(resolve, i % 4));
          await worker.terminate();
        }
        console.log('survived');
      })();
    `);
    expect(result).toEqual({ code: 0, stdout: 'survived\n', stderr: '' });
  });
});
