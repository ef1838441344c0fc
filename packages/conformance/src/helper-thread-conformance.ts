// What the helper-thread backends (poll, select) share beyond the selector
// suite: no kernel object, register-time fd checks, closed fds, the ready
// buffer, and the idle thread's lifecycle (thread gone after unwatch, its wake
// signal kept until close, GC while watched, workers, closed fds that must not spin).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EVENT_READ, EVENT_WRITE, KNOWN_BACKENDS, type NativeSelector, OSError } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { beforeAll, describe, expect, it } from 'vitest';
import { helperThreadKit, type HelperThreadBackend } from './helper-thread-kit.js';

export interface HelperThreadConformanceOptions extends HelperThreadBackend {
  /** The package's built ESM entry, for the child-process tests. */
  entryUrl: URL;
}

export function runHelperThreadConformance(options: HelperThreadConformanceOptions): void {
  const { backend, entryUrl } = options;
  const { useLeakCheck, createSelector, createBinding, closeFd, pipe, openFdCount, sleep, waitUntil, pairs, thrownBy } = helperThreadKit(options);
  useLeakCheck();


  describe(`${backend.name}: descriptor`, () => {
    it('matches its entry in KNOWN_BACKENDS', () => {
      const known = KNOWN_BACKENDS.find((entry) => entry.name === backend.name)!;
      expect(backend).toMatchObject({ specificationVersion: 'v1', kind: 'selector', packageName: known.packageName });
      expect(backend.platforms).toEqual(known.platforms);
      expect(createSelector().backendName).toBe(backend.name);
    });

    it('available() probes the syscall on a real pipe, closes it, and says ok here', () => {
      const fds = openFdCount();
      expect(backend.available()).toMatchObject({ ok: true, notes: expect.stringContaining('helper thread') });
      expect(openFdCount()).toBe(fds);
    });

    it('fileno() is -1: there is no kernel object', () => {
      expect((createSelector() as NativeSelector).fileno()).toBe(-1);
    });
  });

  describe(`${backend.name}: fds`, () => {
    it('register of a closed fd fails at once with EBADF, and nothing is registered', () => {
      const selector = createSelector();
      const [reader, writer] = pipe();
      closeFd(reader);
      closeFd(writer);
      const error = thrownBy(() => selector.register(reader, EVENT_READ));
      expect(OSError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'EBADF', syscall: 'fcntl' });
      expect(selector.getMap().size).toBe(0);
    });

    it('an fd closed while registered is never reported, a timeout is still waited out, and unregister succeeds', () => {
      const selector = createSelector();
      const [deadReader, deadWriter] = pipe();
      const [, writer] = pipe();
      selector.register(deadReader, EVENT_READ | EVENT_WRITE);
      selector.register(writer, EVENT_WRITE);
      closeFd(deadReader);
      closeFd(deadWriter);
      expect(pairs(selector.select(0))).toEqual([[writer, EVENT_WRITE]]);
      selector.unregister(writer);
      const started = performance.now();
      expect(selector.select(0.06)).toEqual([]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(55);
      expect(selector.unregister(deadReader).fd).toBe(deadReader);
    });

    it("a pipe whose peer closed is readable (EOF) or writable (EPIPE), masked by the registered events, as CPython's selectors report it", () => {
      const selector = createSelector();
      const [reader, writer] = pipe();
      const [otherReader, otherWriter] = pipe();
      selector.register(reader, EVENT_READ);
      selector.register(otherWriter, EVENT_WRITE);
      closeFd(writer);
      closeFd(otherReader);
      expect(new Map(pairs(selector.select(0)))).toEqual(new Map([[reader, EVENT_READ], [otherWriter, EVENT_WRITE]]));
    });

    it('when more fds are ready than the buffer holds, the rest come first next time', () => {
      const binding = createBinding();
      const writers: number[] = [];
      for (let i = 0; i < 5; i++) {
        const [, writer] = pipe();
        binding.add(writer, EVENT_WRITE);
        writers.push(writer);
      }
      const out = new Int32Array(4); // room for two pairs
      const seen: number[] = [];
      for (let call = 0; call < 3; call++) {
        expect(binding.wait(out, 0)).toBe(2);
        seen.push(out[0]!, out[2]!);
      }
      expect(new Set(seen)).toEqual(new Set(writers));
    });

    it('native errors carry a numeric errno and the syscall (EEXIST, ENOENT)', () => {
      const binding = createBinding();
      const [reader, writer] = pipe();
      binding.add(reader, EVENT_READ);
      expect(thrownBy(() => binding.add(reader, EVENT_READ))).toMatchObject({ errno: expect.any(Number), syscall: backend.name });
      binding.remove(reader);
      expect(thrownBy(() => binding.remove(reader))).toMatchObject({ errno: expect.any(Number), syscall: backend.name });
      expect(thrownBy(() => binding.modify(reader, EVENT_WRITE))).toMatchObject({ errno: expect.any(Number), syscall: backend.name });
      sys.write(writer, new Uint8Array([1]));
      expect(binding.wait(new Int32Array(8), 0)).toBe(0);
    });
  });

  const notBuilt = existsSync(fileURLToPath(entryUrl)) ? false : 'dist/index.js is missing; build first';
  const noTaskList = existsSync('/proc/self/task') ? false : 'no /proc/self/task to count threads on this platform';

  function threadIds(): string[] {
    return readdirSync('/proc/self/task');
  }

  function threadCount(): number {
    return threadIds().length;
  }


  beforeAll(async () => {
    // Start libuv's thread pool now so it does not appear in a thread count.
    await stat('.');
  });

  /** Runs `body` in a fresh Node with `backend` imported from the built entry; resolves with how it ended. */
  function runChild(body: string, timeoutMs: number, nodeOptions: string[] = []): Promise<{ code: number | null; timedOut: boolean; stderr: string }> {
    const script = `const { backend } = await import(process.argv[1]); ${body}`;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeOptions, '--input-type=module', '-e', script, entryUrl.href], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let timedOut = false;
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: timedOut ? null : code, timedOut, stderr });
      });
    });
  }

  describe(`${backend.name}: helper-thread idle wait`, () => {
    it.skipIf(noTaskList)(`one thread while watched, none after unwatch; one wake eventfd from the first watch until close(), the same across watches (${noTaskList || 'Linux'})`, () => {
      const selector = createSelector();
      const threads = threadCount();
      const fds = openFdCount();
      const openFds = (): string[] => readdirSync('/proc/self/fd');
      const before = new Set(openFds());
      selector.watch(() => {});
      expect(threadCount()).toBe(threads + 1);
      expect(openFdCount()).toBe(fds + 1);
      const wake = openFds().filter((fd) => !before.has(fd));
      selector.watch(() => {}); // replaces the callback only
      expect(threadCount()).toBe(threads + 1);
      selector.unwatch();
      expect(threadCount()).toBe(threads);
      // The wake signal stays: a watch after the user closed an fd must not
      // take that fd's number for it.
      expect(openFdCount()).toBe(fds + 1);
      selector.watch(() => {});
      expect(openFds().filter((fd) => !before.has(fd))).toEqual(wake);
      selector.close();
      expect(threadCount()).toBe(threads);
      expect(openFdCount()).toBe(fds);
    });

    it.skipIf(noTaskList)(`the helper thread blocks signals, so they still reach Node's threads (${noTaskList || 'Linux'})`, () => {
      const selector = createSelector();
      const before = new Set(threadIds());
      selector.watch(() => {});
      const helper = threadIds().filter((id) => !before.has(id));
      expect(helper).toHaveLength(1);
      const blocked = /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/self/task/${helper[0]}/status`, 'utf8'))![1]!;
      // SIGINT (2) and SIGTERM (15) at least; glibc keeps two of its own unblockable.
      const mask = BigInt(`0x${blocked}`);
      expect(mask & (1n << 1n)).not.toBe(0n);
      expect(mask & (1n << 14n)).not.toBe(0n);
      selector.unwatch();
    });

    it('an fd closed while registered is never reported to onReady, and the helper thread does not spin on it', async () => {
      const selector = createSelector();
      const [reader, writer] = pipe();
      selector.register(reader, EVENT_READ);
      let calls = 0;
      let reported = 0;
      selector.watch(() => {
        calls++;
        reported += selector.selectInto(0);
      });
      await sleep(20);
      closeFd(reader);
      closeFd(writer);
      await sleep(20);
      const cpuBefore = process.cpuUsage();
      await sleep(300);
      const cpu = process.cpuUsage(cpuBefore);
      // The thread may be blocked on the pipe when it is closed (the kernel
      // then still sees the old file, at EOF): that can cost one onReady, which
      // finds nothing. Never more, and never an event for the closed fd.
      expect(calls).toBeLessThanOrEqual(1);
      expect(reported).toBe(0);
      // A thread spinning on the closed fd would burn about 300 ms of CPU here.
      expect((cpu.user + cpu.system) / 1000).toBeLessThan(150);
      expect(selector.selectInto(0)).toBe(0);
      selector.unwatch();
      expect(selector.unregister(reader).fd).toBe(reader);
    });

    it('a ready fd next to a closed one is still reported to onReady', async () => {
      const selector = createSelector();
      const [deadReader, deadWriter] = pipe();
      const [reader, writer] = pipe();
      selector.register(deadReader, EVENT_READ);
      selector.register(reader, EVENT_READ);
      closeFd(deadReader);
      closeFd(deadWriter);
      const seen: Array<[number, number]> = [];
      selector.watch(() => {
        for (const [key, events] of selector.select(0)) seen.push([key.fd, events]);
        selector.unwatch();
      });
      sys.write(writer, new Uint8Array([1]));
      await waitUntil(() => seen.length > 0, 2000, 'onReady');
      expect(seen).toEqual([[reader, EVENT_READ]]);
    });

    it('an fd that stays writable gets one onReady per turn of the loop, not a flood', async () => {
      const selector = createSelector();
      const [, writer] = pipe();
      selector.register(writer, EVENT_WRITE);
      let calls = 0;
      selector.watch(() => calls++);
      let turns = 0;
      const stopAt = Date.now() + 100;
      while (Date.now() < stopAt) {
        await new Promise((resolve) => setImmediate(resolve));
        turns++;
      }
      selector.unwatch();
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThanOrEqual(turns + 1);
    });

    it.skipIf(notBuilt)(`in a child process: watch then unwatch exits by itself (${notBuilt || 'built'})`, async () => {
      const result = await runChild('const selector = backend.createSelector(); selector.watch(() => {}); setTimeout(() => selector.unwatch(), 50);', 10_000);
      expect(result).toEqual({ code: 0, timedOut: false, stderr: '' });
    });

    // A watch holds its selector, as a libuv-watched one is held: dropping the
    // last reference while watched must not end the watch (a collected
    // selector would stop its thread and let Node exit under the caller).
    it.skipIf(notBuilt)(`in a child process: a watched selector whose last reference is dropped is not collected and goes on reporting (${notBuilt || 'built'})`, async () => {
      const body = `
        let selector = backend.createSelector();
        selector.register(1, 2); // stdout: writable, so the thread keeps reporting
        let reports = 0;
        selector.watch(() => { reports++; });
        selector = null;
        for (let round = 0; round < 10; round++) {
          globalThis.gc();
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const before = reports;
        await new Promise((resolve) => setTimeout(resolve, 100));
        process.exit(reports > before ? 0 : 3);`;
      const result = await runChild(body, 10_000, ['--expose-gc']);
      expect(result).toEqual({ code: 0, timedOut: false, stderr: '' });
    });

    it.skipIf(notBuilt)(`in a worker: onReady fires on the worker's own loop, and unwatch lets the worker exit (${notBuilt || 'built'})`, async () => {
      const [reader, writer] = pipe();
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        (async () => {
          const { backend } = await import(workerData.entry);
          const selector = backend.createSelector();
          selector.register(workerData.reader, 1);
          selector.watch(() => {
            parentPort.postMessage(selector.select(0).map(([key, events]) => [key.fd, events]));
            selector.close();
          });
          parentPort.postMessage('watching');
        })();`;
      const worker = new Worker(code, { eval: true, workerData: { entry: entryUrl.href, reader } });
      const messages: unknown[] = [];
      worker.on('message', (message) => {
        messages.push(message);
        if (message === 'watching') sys.write(writer, new Uint8Array([1]));
      });
      const exitCode = await new Promise<number>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('exit', resolve);
        setTimeout(() => reject(new Error('the worker did not exit by itself')), 10_000).unref();
      });
      expect(exitCode).toBe(0);
      expect(messages).toEqual(['watching', [[reader, EVENT_READ]]]);
    });

    it.skipIf(notBuilt)(`in a worker: terminate() while watched is safe (${notBuilt || 'built'})`, async () => {
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        (async () => {
          const { backend } = await import(workerData.entry);
          const selector = backend.createSelector();
          selector.register(1, 2);
          selector.watch(() => {});
          parentPort.postMessage('watching');
        })();`;
      const worker = new Worker(code, { eval: true, workerData: { entry: entryUrl.href } });
      await new Promise((resolve) => worker.once('message', resolve));
      await sleep(20);
      await worker.terminate();
      // This process is still healthy and can watch on its own.
      const selector = createSelector();
      const [, writer] = pipe();
      selector.register(writer, EVENT_WRITE);
      let calls = 0;
      selector.watch(() => {
        calls++;
        selector.unwatch();
      });
      await waitUntil(() => calls > 0, 2000, 'onReady after a worker was terminated');
    });
  });
}
