import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { BaseSelector, Executor } from '@evloop/interface';
import {
  CancelledError,
  ExecutorFunctionError,
  RuntimeError,
  type BaseEventLoop,
  ThreadPoolExecutor,
  sleep,
} from '@evloop/core-policy';
import { loopFamily, type LoopSource } from './harness.js';

export interface ServicesConformanceOptions extends LoopSource {
  name: string;
}

function blockFor(ms: number): number {
  const shared = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(shared, 0, 0, ms);
  return ms;
}

/** Executors (runInExecutor, shutdownDefaultExecutor) and signal handlers on one backend. */
export function runServicesConformance(options: ServicesConformanceOptions): void {
  const createLoop = loopFamily(options).create;
  const loops: BaseEventLoop[] = [];
  const newLoop = (): BaseEventLoop => {
    const loop = createLoop();
    loops.push(loop);
    return loop;
  };
  afterEach(() => {
    for (const loop of loops.splice(0)) if (!loop.isClosed()) loop.close();
  });

  describe(`services conformance: ${options.name}`, () => {
  describe('runInExecutor with the default executor (worker threads)', () => {
    it('runs a self-contained function off the loop thread, with arguments and result', async () => {
      const loop = newLoop();
      const result = await loop.runUntilComplete(
        loop.runInExecutor(null, (a: number, b: number) => {
          const { threadId } = require('node:worker_threads');
          return { sum: a + b, threadId };
        }, 2, 3),
      );
      expect(result.sum).toBe(5);
      expect(result.threadId).not.toBe(0);
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    });

    it('blocking work does not block the loop', async () => {
      const loop = newLoop();
      const ticks: number[] = [];
      const result = await loop.runUntilComplete(async () => {
        const job = loop.runInExecutor(null, blockFor, 200);
        for (let i = 0; i < 5; i++) {
          await sleep(0.01);
          ticks.push(i);
        }
        return job;
      });
      expect(result).toBe(200);
      expect(ticks).toEqual([0, 1, 2, 3, 4]);
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    });

    it('runs a module export', async () => {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-executor-'));
      const file = path.join(directory, 'jobs.mjs');
      fs.writeFileSync(file, 'export function square(x) { return x * x; }\nexport default (s) => s.toUpperCase();\n');
      const loop = newLoop();
      try {
        const url = pathToFileURL(file).href;
        expect(await loop.runUntilComplete(loop.runInExecutor(null, { module: url, export: 'square' }, 7))).toBe(49);
        expect(await loop.runUntilComplete(loop.runInExecutor(null, { module: url }, 'abc'))).toBe('ABC');
        await loop.runUntilComplete(loop.shutdownDefaultExecutor());
      } finally {
        fs.rmSync(directory, { recursive: true, force: true });
      }
    });

    it('a closure over local state is a typed error that says why', async () => {
      const loop = newLoop();
      const local = 41;
      const error = await loop
        .runUntilComplete(loop.runInExecutor(null, () => local + 1))
        .then(() => null, (caught: unknown) => caught);
      expect(ExecutorFunctionError.isInstance(error)).toBe(true);
      expect(error).toBeInstanceOf(TypeError);
      expect(String(error)).toContain('closures');
      const native = await loop.runUntilComplete(loop.runInExecutor(null, Math.max, 1, 2)).then(() => null, (caught: unknown) => caught);
      expect(ExecutorFunctionError.isInstance(native)).toBe(true);
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    });

    it('exceptions thrown in the worker reach the future', async () => {
      const loop = newLoop();
      await expect(loop.runUntilComplete(loop.runInExecutor(null, () => {
        throw new RangeError('bad value');
      }))).rejects.toThrow('bad value');
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    });

    it('shutdownDefaultExecutor honours its timeout when a job never returns', async () => {
      const loop = newLoop();
      const stuck = loop.runInExecutor(null, () => {
        const shared = new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(shared, 0, 0);
      });
      stuck.addDoneCallback(() => {});
      const started = Date.now();
      await loop.runUntilComplete(async () => {
        await sleep(0.05);
        await loop.shutdownDefaultExecutor(0.2);
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(() => loop.runInExecutor(null, () => 1)).toThrow(RuntimeError);
    });

    it('a cancelled runInExecutor future does not block shutdown', async () => {
      const loop = newLoop();
      await loop.runUntilComplete(async () => {
        const job = loop.runInExecutor(null, () => {
          const shared = new Int32Array(new SharedArrayBuffer(4));
          Atomics.wait(shared, 0, 0);
        });
        await sleep(0.05);
        job.cancel();
        await expect(job).rejects.toThrow(CancelledError);
        // No timeout: this must finish because the cancelled job was stopped.
        await loop.shutdownDefaultExecutor(null);
      });
    });

    it('close() does not wait for running jobs, and the process can exit', async () => {
      const loop = newLoop();
      const job = loop.runInExecutor(null, () => {
        const shared = new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(shared, 0, 0, 60_000);
      });
      job.addDoneCallback(() => {});
      await loop.runUntilComplete(sleep(0.05));
      const started = Date.now();
      loop.close();
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('setDefaultExecutor takes any Executor; bad ones are TypeErrors', async () => {
      const loop = newLoop();
      const calls: unknown[][] = [];
      const inline: Executor = {
        submit: (fn, args) => {
          calls.push(args);
          return Promise.resolve((fn as (...a: unknown[]) => unknown)(...args)) as never;
        },
        shutdown: () => undefined,
      };
      loop.setDefaultExecutor(inline);
      const local = 10;
      expect(await loop.runUntilComplete(loop.runInExecutor(null, (x: number) => x + local, 5))).toBe(15);
      expect(calls).toEqual([[5]]);
      expect(() => loop.setDefaultExecutor({} as never)).toThrow(TypeError);
      expect(() => loop.runInExecutor('pool' as never, () => 1)).toThrow(TypeError);
      const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      expect(await loop.runUntilComplete(loop.runInExecutor(pool, () => 'explicit'))).toBe('explicit');
      await pool.shutdown();
      expect(() => new ThreadPoolExecutor({ maxWorkers: 0 })).toThrow(RangeError);
    });
  });

  describe.skipIf(process.platform === 'win32')(`signal handlers (POSIX signals)${process.platform === 'win32' ? ' (skipped: Windows has no POSIX signals)' : ''}`, () => {
    it('runs the callback as a loop callback when the signal arrives', async () => {
      const loop = newLoop();
      const seen: Array<[string, boolean]> = [];
      loop.addSignalHandler('SIGUSR2', (label: string) => {
        seen.push([label, loop._inIteration]);
        loop.stop();
      }, 'usr2');
      setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 10);
      await loop.runForever();
      expect(seen).toEqual([['usr2', true]]);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(false);
      expect(process.listenerCount('SIGUSR2')).toBe(0);
    });

    it('accepts numbers and short names, replaces an earlier handler', async () => {
      const loop = newLoop();
      const seen: string[] = [];
      const { SIGUSR2 } = (await import('node:os')).constants.signals;
      loop.addSignalHandler(SIGUSR2, () => seen.push('first'));
      loop.addSignalHandler('USR2' as NodeJS.Signals, () => {
        seen.push('second');
        loop.stop();
      });
      expect(process.listenerCount('SIGUSR2')).toBe(1);
      setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 10);
      await loop.runForever();
      expect(seen).toEqual(['second']);
      loop.close();
      expect(process.listenerCount('SIGUSR2')).toBe(0);
    });

    it('invalid and uncatchable signals are RangeError/TypeError naming them', () => {
      const loop = newLoop();
      expect(() => loop.addSignalHandler('SIGKILL', () => {})).toThrow(/SIGKILL cannot be caught/);
      expect(() => loop.addSignalHandler('SIGSTOP', () => {})).toThrow(RangeError);
      expect(() => loop.addSignalHandler('SIGNOPE' as never, () => {})).toThrow(/invalid signal name "SIGNOPE"/);
      expect(() => loop.addSignalHandler(999, () => {})).toThrow(RangeError);
      expect(() => loop.addSignalHandler({} as never, () => {})).toThrow(TypeError);
      expect(() => loop.addSignalHandler('SIGUSR2', 'callback' as never)).toThrow(TypeError);
      expect(() => loop.removeSignalHandler('SIGKILL')).toThrow(RangeError);
    });

    it('after close, addSignalHandler is a RuntimeError', () => {
      const loop = newLoop();
      loop.close();
      expect(() => loop.addSignalHandler('SIGUSR2', () => {})).toThrow(RuntimeError);
    });
  });
  });
}
