import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEAD_REGISTRATION_CHECK_INTERVAL, type BaseSelector, type ExceptionContext } from '@evloop/interface';
import {
  CancelledError,
  Future,
  InvalidStateError,
  NotImplementedError,
  RuntimeError,
  TimeoutError,
  allTasks,
  currentTask,
  gather,
  shield,
  sleep,
  wait,
  waitFor,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
} from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { runChild, withLoop, collectLogs, loopFamily, describeFor, type LoopSource } from './harness.js';

export interface EventLoopConformanceOptions extends LoopSource {
  /** The backend name (`'epoll'`), used in test names and as `EVLOOP_BACKEND` in child processes. */
  name: string;
  /**
   * The package that exports the backend (`'@evloop/selector-epoll'`), loaded
   * by child processes; or the absolute path of a module that exports
   * `backend`, whose loops the child's policy then makes (an emulation).
   */
  packageName: string;
  features?: {
    /** The backend accepts regular files (poll, select: always ready) instead of refusing them (epoll: EPERM). */
    pollsRegularFiles?: boolean;
    /**
     * addReader/addWriter work (level-triggered, as on a selector loop).
     * Default: true on a selector loop; false on a proactor loop, which must
     * then refuse them with NotImplementedError naming itself. io_uring's
     * proactor watches fds through its readiness polls and sets it.
     */
    watchesFds?: boolean;
    /**
     * The kernel keeps a registration for as long as its file is open, even
     * after the fd is closed, when a dup of it is still open (epoll; io_uring,
     * whose readiness poll in flight holds the file): the loop must find such
     * a registration and drop it. Backends that watch by
     * fd number (poll, select) never report a closed fd at all.
     */
    keepsClosedFilesRegistered?: boolean;
    /**
     * addPriorityReader works (EPOLLPRI, POLLPRI, exceptfds). Default: true
     * on a selector loop whose selector says `supportsPriority`, false
     * otherwise, when it must throw NotImplementedError.
     */
    priorityReadiness?: boolean;
  };
  /**
   * Tests this run cannot check, by title, each with why (an emulated
   * kernel that differs from the real one in a way the test would see).
   * They are skipped with the reason in their names.
   */
  cannotCheck?: Readonly<Record<string, string>>;
}

/**
 * The shared event-loop suite: asyncio's loop semantics (ported from the
 * scenarios CPython's test_asyncio checks) run on one backend. Every test
 * closes its loop and checks that no fd leaked and that no unexpected
 * exception reached the exception handler.
 */
/** A connected loopback TCP pair, both ends non-blocking: [accepted, client]. */
function tcpPair(): [sys.Socket, sys.Socket] {
  const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
  try {
    listener.bind(['127.0.0.1', 0]);
    listener.listen(1);
    const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    client.connect(listener.getsockname() as [string, number]);
    const [server] = listener.accept();
    server.setBlocking(false);
    client.setBlocking(false);
    return [server, client];
  } finally {
    listener.close();
  }
}

/**
 * A one-way byte channel for the fd-watching tests: a pipe, or on Windows,
 * where @evloop/sys has no pipes, a socket pair (select and IOCP watch
 * sockets only there).
 */
interface Channel {
  readFd: number;
  writeFd: number;
  read(size: number): Buffer;
  write(data: Buffer): void;
  close(): void;
}

function channel(): Channel {
  if (process.platform !== 'win32') {
    const [readFd, writeFd] = sys.pipe();
    return {
      readFd,
      writeFd,
      read: (size) => sys.read(readFd, size),
      write: (data) => void sys.write(writeFd, data),
      close: () => {
        sys.close(readFd);
        sys.close(writeFd);
      },
    };
  }
  const [reader, writer] = sys.socketpair();
  return {
    readFd: reader.fileno(),
    writeFd: writer.fileno(),
    read: (size) => reader.recv(size),
    write: (data) => void writer.send(data),
    close: () => {
      reader.close();
      writer.close();
    },
  };
}

export function runEventLoopConformance(options: EventLoopConformanceOptions): void {
  const { name, packageName } = options;
  const family = loopFamily(options);
  const createLoop = family.create;
  const features = options.features ?? {};
  const watchesFds = features.watchesFds ?? family.kind === 'selector';
  const cannotCheck = options.cannotCheck ?? {};
  const titles = new Set<string>();
  const test = (title: string, body: Parameters<typeof withLoop>[1]) => {
    titles.add(title);
    const why = Object.hasOwn(cannotCheck, title) ? cannotCheck[title] : undefined;
    if (why !== undefined) it.skip(`${title} (skipped: ${why})`, () => withLoop(createLoop, body));
    else it(title, () => withLoop(createLoop, body));
  };

  describe(`event loop conformance: ${name}`, () => {
    if (Object.keys(cannotCheck).length > 0) {
      it('every title in cannotCheck names a test of this suite', () => {
        expect(Object.keys(cannotCheck).filter((title) => !titles.has(title))).toEqual([]);
      });
    }
    describe('callbacks', () => {
      test('callSoon runs callbacks FIFO, exactly once, with their arguments', async ({ loop }) => {
        const calls: Array<[string, number]> = [];
        for (let i = 0; i < 100; i++) loop.callSoon((label: string, index: number) => calls.push([label, index]), 'cb', i);
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        expect(calls).toEqual(Array.from({ length: 100 }, (_, i) => ['cb', i]));
      });

      test('callSoon passes no, one (even undefined) or several arguments as given; a cancelled one-argument handle never runs', async ({ loop }) => {
        const calls: unknown[][] = [];
        const record = (...args: unknown[]) => calls.push(args);
        loop.callSoon(record);
        loop.callSoon(record, undefined);
        loop.callSoon(record, 'one');
        loop.callSoon(record, 'a', 2, null);
        const dropped = loop.callSoon(record, 'dropped');
        dropped.cancel();
        expect(dropped.toString()).toBe('<Handle cancelled>');
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        expect(calls).toEqual([[], [undefined], ['one'], ['a', 2, null]]);
      });

      test('a cancelled handle never runs', async ({ loop }) => {
        const calls: string[] = [];
        const handle = loop.callSoon(() => calls.push('cancelled'));
        loop.callSoon(() => calls.push('kept'));
        handle.cancel();
        expect(handle.cancelled()).toBe(true);
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        expect(calls).toEqual(['kept']);
      });

      test('callbacks scheduled before stop() run; those scheduled after wait for the next run', async ({ loop }) => {
        const calls: string[] = [];
        loop.callSoon(() => {
          calls.push('first');
          loop.stop();
          loop.callSoon(() => calls.push('after stop'));
        });
        loop.callSoon(() => calls.push('second'));
        await loop.runForever();
        expect(calls).toEqual(['first', 'second']);
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        expect(calls).toEqual(['first', 'second', 'after stop']);
      });

      test('stop() before runForever() runs one iteration, then returns', async ({ loop }) => {
        const calls: string[] = [];
        loop.stop();
        loop.callSoon(() => calls.push('ran'));
        await loop.runForever();
        expect(calls).toEqual(['ran']);
        expect(loop.isRunning()).toBe(false);
      });

      test('callSoon rejects a non-function with TypeError', ({ loop }) => {
        expect(() => loop.callSoon(42 as never)).toThrow(TypeError);
        expect(() => loop.callLater('1' as never, () => {})).toThrow(TypeError);
        expect(() => loop.callLater(Number.NaN, () => {})).toThrow(RangeError);
      });

      test('callSoon from a Node callback wakes an idle loop', async ({ loop }) => {
        const calls: string[] = [];
        setTimeout(() => loop.callSoonThreadsafe(() => {
          calls.push('woken');
          loop.stop();
        }), 20);
        await loop.runForever();
        expect(calls).toEqual(['woken']);
      });

      test('an exception in a callback reaches the exception handler and the loop goes on', async ({ loop, claimErrors }) => {
        const boom = new Error('boom');
        const calls: string[] = [];
        loop.callSoon(function failing() {
          throw boom;
        });
        loop.callSoon(() => {
          calls.push('next');
          loop.stop();
        });
        await loop.runForever();
        const errors = claimErrors();
        expect(errors).toHaveLength(1);
        expect(errors[0]!.exception).toBe(boom);
        expect(errors[0]!.message).toContain('failing');
        expect(errors[0]!.handle).toBeDefined();
        expect(calls).toEqual(['next']);
      });
    });

    describe('timers', () => {
      test('callLater timers fire in time order and never before their time', async ({ loop }) => {
        const fired: Array<[number, number]> = [];
        const delays = [0.03, 0.01, 0.02, 0.005, 0.015];
        for (const delay of delays) {
          const when = loop.time() + delay;
          loop.callAt(when, () => fired.push([when, loop.time()]));
        }
        loop.callLater(0.05, () => loop.stop());
        await loop.runForever();
        expect(fired.map(([when]) => when)).toEqual([...fired.map(([when]) => when)].sort((a, b) => a - b));
        for (const [when, at] of fired) expect(at).toBeGreaterThanOrEqual(when);
      });

      test('timers due at the same time run in the order they were scheduled', async ({ loop }) => {
        const order: number[] = [];
        const when = loop.time() + 0.01;
        for (let i = 0; i < 20; i++) loop.callAt(when, () => order.push(i));
        loop.callAt(when + 0.001, () => loop.stop());
        await loop.runForever();
        expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
      });

      test('a cancelled timer never runs', async ({ loop }) => {
        const calls: string[] = [];
        const timer = loop.callLater(0.01, () => calls.push('cancelled'));
        expect(timer.when()).toBeGreaterThan(loop.time());
        loop.callLater(0.005, () => timer.cancel());
        loop.callLater(0.03, () => loop.stop());
        await loop.runForever();
        expect(calls).toEqual([]);
      });

      test('1,000,000 cancelled timers are purged and hold no memory', async ({ loop }) => {
        const timers = [];
        for (let i = 0; i < 1_000_000; i++) timers.push(loop.callLater(3600 + i, () => {}));
        for (const timer of timers) timer.cancel();
        timers.length = 0;
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        // asyncio's rule: more than half of the heap cancelled → rebuilt without them.
        expect(loop._scheduled.length).toBe(0);
        expect(loop._timerCancelledCount).toBe(0);
      });

      test('cancelled timers at the head are dropped lazily', async ({ loop }) => {
        const calls: number[] = [];
        const early = loop.callLater(0.001, () => calls.push(1));
        loop.callLater(0.01, () => {
          calls.push(2);
          loop.stop();
        });
        early.cancel();
        await loop.runForever();
        expect(calls).toEqual([2]);
        expect(loop._scheduled.length).toBe(0);
      });
    });

    describe('running and closing', () => {
      test('runUntilComplete returns the result of a generator, an async function, a Promise and a future', async ({ loop }) => {
        expect(await loop.runUntilComplete((function* () {
          yield* sleep(0.001);
          return 'generator';
        })())).toBe('generator');
        expect(await loop.runUntilComplete(async () => {
          await sleep(0.001);
          return 'async';
        })).toBe('async');
        expect(await loop.runUntilComplete(Promise.resolve('promise'))).toBe('promise');
        const future = loop.createFuture<string>();
        loop.callSoon(() => future.setResult('future'));
        expect(await loop.runUntilComplete(future)).toBe('future');
      });

      test('runUntilComplete throws the exception of the future', async ({ loop }) => {
        const boom = new Error('boom');
        await expect(loop.runUntilComplete((function* () {
          yield* sleep(0);
          throw boom;
        })())).rejects.toBe(boom);
      });

      test('runUntilComplete throws when the loop stops first', async ({ loop }) => {
        const future = loop.createFuture();
        loop.callSoon(() => loop.stop());
        await expect(loop.runUntilComplete(future)).rejects.toThrow('Event loop stopped before Future completed.');
      });

      test('running a running loop, or a second loop in the same thread, is a RuntimeError', async ({ loop }) => {
        const other = createLoop();
        try {
          let nested: unknown;
          let second: unknown;
          loop.callSoon(() => {
            loop.runForever().catch((error: unknown) => (nested = error));
            other.runForever().catch((error: unknown) => (second = error));
            loop.stop();
          });
          await loop.runForever();
          await new Promise((resolve) => setImmediate(resolve));
          expect(RuntimeError.isInstance(nested)).toBe(true);
          expect(String(nested)).toContain('already running');
          expect(RuntimeError.isInstance(second)).toBe(true);
          expect(String(second)).toContain('another loop is running');
        } finally {
          other.close();
        }
      });

      test('close() is idempotent, refuses a running loop, and every method after it throws', async ({ loop }) => {
        let refused: unknown;
        loop.callSoon(() => {
          try {
            loop.close();
          } catch (error) {
            refused = error;
          }
          loop.stop();
        });
        await loop.runForever();
        expect(RuntimeError.isInstance(refused)).toBe(true);
        loop.close();
        loop.close();
        expect(loop.isClosed()).toBe(true);
        const closed = 'Event loop is closed';
        expect(() => loop.callSoon(() => {})).toThrow(closed);
        expect(() => loop.callLater(1, () => {})).toThrow(closed);
        expect(() => loop.callAt(1, () => {})).toThrow(closed);
        expect(() => loop.createFuture()).toThrow(closed);
        expect(() => loop.createTask(Promise.resolve())).toThrow(closed);
        if (watchesFds) expect(() => loop.addReader(0, () => {})).toThrow(closed);
        await expect(loop.runForever()).rejects.toThrow(closed);
        await expect(loop.runUntilComplete(Promise.resolve())).rejects.toThrow(closed);
        if (watchesFds) expect(loop.removeReader(0)).toBe(false);
      });

      test('Node timers, Promises and fs work inside coroutines', async ({ loop }) => {
        const file = path.join(os.tmpdir(), `evloop-${process.pid}-${Date.now()}.txt`);
        fs.writeFileSync(file, 'hello from fs');
        try {
          const text = await loop.runUntilComplete(async () => {
            await new Promise((resolve) => setTimeout(resolve, 5));
            await Promise.resolve();
            const content = await fs.promises.readFile(file, 'utf8');
            await sleep(0.001);
            return content;
          });
          expect(text).toBe('hello from fs');
        } finally {
          fs.unlinkSync(file);
        }
      });

      test('an idle loop uses no CPU (the process-wide count is taken up to three times: GC work left by earlier tests lands in one window)', async ({ loop }) => {
        // A busy loop would burn ~300 ms in every window; idle waiting costs
        // almost nothing. process.cpuUsage() counts every thread, and V8's
        // collector may finish what earlier tests left in any one window
        // (seen under Deno: 50-230 ms in a single 300 ms window), so a
        // window under the limit passes.
        const windows: number[] = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          const cpuBefore = process.cpuUsage();
          await loop.runUntilComplete(sleep(0.3));
          const cpu = process.cpuUsage(cpuBefore);
          windows.push(Math.round((cpu.user + cpu.system) / 1000));
          if (windows[attempt] < 120) break;
        }
        expect(Math.min(...windows), `CPU ms per 300 ms idle window: ${windows.join(', ')}`).toBeLessThan(120);
      });
    });

    describe('exception handler and debug mode', () => {
      test('a context that is not an object is a TypeError naming it, from callExceptionHandler and defaultExceptionHandler', ({ loop }) => {
        for (const context of [undefined, null, 'oops', 42, ['message']]) {
          expect(() => loop.callExceptionHandler(context as never)).toThrow(/^context must be an object with a message/);
          expect(() => loop.defaultExceptionHandler(context as never)).toThrow(TypeError);
        }
      });

      test('setExceptionHandler / getExceptionHandler, and a failing handler falls back to the default', async ({ loop, claimErrors }) => {
        const handler = (_loop: unknown, _context: ExceptionContext) => {
          throw new Error('handler failed');
        };
        expect(() => loop.setExceptionHandler(42 as never)).toThrow(TypeError);
        const logs = collectLogs();
        try {
          loop.setExceptionHandler(handler);
          expect(loop.getExceptionHandler()).toBe(handler);
          loop.callExceptionHandler({ message: 'something', exception: new Error('original') });
        } finally {
          logs.restore();
          loop.setExceptionHandler(null);
        }
        expect(loop.getExceptionHandler()).toBe(null);
        expect(logs.messages.join('\n')).toContain('Unhandled error in exception handler');
        claimErrors();
      });

      test('the default handler logs the message and context keys', ({ loop }) => {
        const logs = collectLogs();
        try {
          loop.defaultExceptionHandler({ message: 'it broke', exception: new Error('why'), extra: 'detail' });
        } finally {
          logs.restore();
        }
        expect(logs.messages[0]).toContain('it broke');
        expect(logs.messages[0]).toContain('extra: detail');
      });

      test('debug mode warns about slow callbacks, naming them, and about timers over a day ahead', async ({ loop }) => {
        loop.setDebug(true);
        expect(loop.getDebug()).toBe(true);
        loop.slowCallbackDuration = 0.02;
        const logs = collectLogs();
        try {
          loop.callSoon(function slowCallback() {
            const until = Date.now() + 40;
            while (Date.now() < until) {
              // busy on purpose
            }
          });
          loop.callLater(2 * 86_400, function farAway() {}).cancel();
          loop.callSoon(() => loop.stop());
          await loop.runForever();
        } finally {
          logs.restore();
        }
        const text = logs.messages.join('\n');
        expect(text).toMatch(/slowCallback.*took/);
        expect(text).toMatch(/farAway.*more than one day/);
      });

      it('EVLOOP_DEBUG=1 turns debug mode on', () => {
        const child = runChild(packageName, name, `const loop = core.newEventLoop(); console.log(loop.getDebug()); loop.close();`, { env: { EVLOOP_DEBUG: '1' } });
        expect(child.stderr).toBe('');
        expect(child.stdout.trim()).toBe('true');
      });
    });

    describe('futures and tasks', () => {
      test('future done callbacks are scheduled with callSoon, never called synchronously', async ({ loop }) => {
        const future = loop.createFuture<number>();
        const calls: number[] = [];
        future.addDoneCallback((done) => calls.push(done.result()));
        future.setResult(7);
        expect(calls).toEqual([]);
        expect(() => future.setResult(8)).toThrow(InvalidStateError);
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        expect(calls).toEqual([7]);
      });

      test('removeDoneCallback removes every registration of that callback and returns how many (CPython test_futures)', async ({ loop }) => {
        const future = loop.createFuture<number>();
        const calls: string[] = [];
        const a = () => calls.push('a');
        const b = () => calls.push('b');
        expect(future.removeDoneCallback(a)).toBe(0);
        future.addDoneCallback(a);
        future.addDoneCallback(b);
        future.addDoneCallback(a);
        expect(future.removeDoneCallback(a)).toBe(2);
        expect(future.removeDoneCallback(a)).toBe(0);
        expect(future.removeDoneCallback(b)).toBe(1);
        future.addDoneCallback(b);
        future.setResult(1);
        // Once done, nothing is registered any more: a callback added now is scheduled at once.
        expect(future.removeDoneCallback(b)).toBe(0);
        future.addDoneCallback(a);
        loop.callSoon(() => loop.stop());
        await loop.runForever();
        expect(calls).toEqual(['b', 'a']);
      });

      test('future state rules: result before done, cancel, exception', ({ loop }) => {
        const future = loop.createFuture();
        expect(() => future.result()).toThrow(InvalidStateError);
        expect(future.cancel('because')).toBe(true);
        expect(future.cancel()).toBe(false);
        expect(future.cancelled()).toBe(true);
        expect(() => future.result()).toThrow(CancelledError);
        const failed = loop.createFuture();
        const error = new Error('bad');
        failed.setException(error);
        expect(failed.exception()).toBe(error);
        expect(() => failed.result()).toThrow('bad');
      });

      test('cancel() throws CancelledError at the suspension point; the coroutine may clean up', async ({ loop }) => {
        const events: string[] = [];
        const task = loop.createTask((function* () {
          try {
            yield* sleep(10);
            events.push('not reached');
          } catch (error) {
            events.push(CancelledError.isInstance(error) ? 'cancelled at sleep' : 'other');
            throw error;
          } finally {
            events.push('cleanup');
          }
        })());
        loop.callLater(0.01, () => task.cancel());
        await expect(loop.runUntilComplete(task)).rejects.toThrow(CancelledError);
        expect(task.cancelled()).toBe(true);
        expect(events).toEqual(['cancelled at sleep', 'cleanup']);
      });

      test('a coroutine may refuse cancellation', async ({ loop }) => {
        const task = loop.createTask((function* () {
          try {
            yield* sleep(10);
          } catch {
            return 'refused';
          }
          return 'slept';
        })());
        loop.callLater(0.01, () => task.cancel());
        expect(await loop.runUntilComplete(task)).toBe('refused');
        expect(task.cancelled()).toBe(false);
      });

      test('a task made from an async function is cancelled through the future it awaits', async ({ loop }) => {
        const events: string[] = [];
        const task = loop.createTask(async () => {
          try {
            await sleep(10);
          } catch (error) {
            events.push(CancelledError.isInstance(error) ? 'cancelled' : 'other');
            throw error;
          }
        });
        loop.callLater(0.01, () => task.cancel());
        await expect(loop.runUntilComplete(task)).rejects.toThrow(CancelledError);
        expect(task.cancelled()).toBe(true);
        expect(events).toEqual(['cancelled']);
      });

      test('an async-function task cancelled while it awaits a foreign Promise is cancelled at its next evloop await', async ({ loop }) => {
        const events: string[] = [];
        const task = loop.createTask(async () => {
          await new Promise((resolve) => setTimeout(resolve, 30));
          events.push('after the foreign Promise');
          try {
            await sleep(10);
            events.push('not reached');
          } catch (error) {
            events.push(CancelledError.isInstance(error) ? 'cancelled at sleep' : 'other');
            throw error;
          }
        });
        loop.callLater(0.005, () => task.cancel());
        await expect(loop.runUntilComplete(task)).rejects.toThrow(CancelledError);
        expect(events).toEqual(['after the foreign Promise', 'cancelled at sleep']);
        expect(task.cancelled()).toBe(true);
      });

      test('a task made from a function that returns a coroutine object (sleep) can be cancelled', async ({ loop }) => {
        const task = loop.createTask(() => sleep(10));
        loop.callLater(0.01, () => task.cancel());
        await expect(loop.runUntilComplete(task)).rejects.toThrow(CancelledError);
        expect(task.cancelled()).toBe(true);
      });

      test('currentTask() inside generator and async-function tasks, allTasks()', async ({ loop }) => {
        let seenGenerator: unknown;
        let seenAsync: unknown;
        const generatorTask = loop.createTask((function* () {
          seenGenerator = currentTask();
          yield* sleep(0.001);
        })());
        const asyncTask = loop.createTask(async () => {
          await sleep(0.001);
          seenAsync = currentTask();
        });
        let pending = 0;
        loop.callSoon(() => (pending = allTasks(loop).size));
        await loop.runUntilComplete(gather(generatorTask, asyncTask));
        expect(seenGenerator).toBe(generatorTask);
        expect(seenAsync).toBe(asyncTask);
        expect(pending).toBe(2);
        expect(allTasks(loop).size).toBe(0);
        expect(currentTask(loop)).toBe(null);
      });

      test('a task whose handle is dropped still runs to completion', async ({ loop }) => {
        const done: string[] = [];
        (() => {
          loop.createTask((function* () {
            yield* sleep(0.005);
            done.push('finished');
          })());
        })();
        // Wait for the task by what it did, not by a guess at how long it takes:
        // a loaded machine can stall past any fixed delay.
        const deadline = loop.time() + 10;
        await loop.runUntilComplete((function* () {
          while (done.length === 0 && loop.time() < deadline) yield* sleep(0.001);
        })());
        expect(done).toEqual(['finished']);
      });

      test('gather keeps order, propagates the first error, or returns errors when asked', async ({ loop }) => {
        const boom = new Error('boom');
        const results = await loop.runUntilComplete(async () => gather(sleep(0.003, 'a'), sleep(0.001, 'b'), Promise.resolve('c')));
        expect(results).toEqual(['a', 'b', 'c']);
        const failing = (function* () {
          yield* sleep(0.001);
          throw boom;
        })();
        await expect(loop.runUntilComplete(async () => gather(sleep(0.001), failing))).rejects.toBe(boom);
        const mixed = await loop.runUntilComplete(async () =>
          gather(
            sleep(0.001, 1),
            (function* () {
              yield;
              throw boom;
            })(),
            { returnExceptions: true },
          ),
        );
        expect(mixed).toEqual([1, boom]);
      });

      test('cancelling gather cancels its children', async ({ loop }) => {
        const child = loop.createTask(sleep(10));
        const outer = loop.runUntilComplete((function* () {
          return yield* gather(child);
        })());
        loop.callLater(0.01, () => {
          for (const task of allTasks(loop)) if (task !== child) task.cancel();
        });
        await expect(outer).rejects.toThrow(CancelledError);
        expect(child.cancelled()).toBe(true);
      });

      test('waitFor times out with TimeoutError and cancels the awaitable', async ({ loop }) => {
        const inner = loop.createTask(sleep(10));
        await expect(loop.runUntilComplete(waitFor(inner, 0.01))).rejects.toThrow(TimeoutError);
        expect(inner.cancelled()).toBe(true);
        expect(await loop.runUntilComplete(waitFor(sleep(0.001, 'fast'), 1))).toBe('fast');
        expect(await loop.runUntilComplete(waitFor(sleep(0.001, 'no limit'), null))).toBe('no limit');
      });

      test('wait returns done and pending sets', async ({ loop }) => {
        const fast = loop.createTask(sleep(0.001, 'fast'));
        const slow = loop.createTask(sleep(10, 'slow'));
        const [done, pending] = await loop.runUntilComplete(wait([fast, slow], { returnWhen: FIRST_COMPLETED }));
        // Futures are iterable (yield*), so compare by identity, not with toEqual.
        expect(done.size === 1 && done.has(fast)).toBe(true);
        expect(pending.size === 1 && pending.has(slow)).toBe(true);
        const failing = loop.createTask((function* () {
          yield;
          throw new Error('x');
        })());
        const [done2] = await loop.runUntilComplete(wait([failing, slow], { returnWhen: FIRST_EXCEPTION }));
        expect(done2.has(failing)).toBe(true);
        failing.exception();
        const [, pending3] = await loop.runUntilComplete(wait([slow], { timeout: 0.01 }));
        expect(pending3.has(slow)).toBe(true);
        slow.cancel();
        await loop.runUntilComplete(sleep(0));
      });

      test('shield protects the inner awaitable from cancellation', async ({ loop }) => {
        const inner = loop.createTask(sleep(0.02, 'inner'));
        const outer = shield(inner);
        loop.callLater(0.005, () => outer.cancel());
        await expect(loop.runUntilComplete(outer)).rejects.toThrow(CancelledError);
        expect(inner.cancelled()).toBe(false);
        expect(await loop.runUntilComplete(inner)).toBe('inner');
      });

      it('an exception nobody retrieves goes to the exception handler, never to unhandledRejection', () => {
        const child = runChild(
          packageName,
          name,
          `const loop = core.newEventLoop();
           const seen = [];
           loop.setExceptionHandler((l, context) => seen.push(context.message + ': ' + context.exception.message));
           process.on('unhandledRejection', () => seen.push('unhandledRejection'));
           (() => { const f = loop.createFuture(); f.setException(new Error('lost')); })();
           (() => { const t = loop.createTask(async () => { throw new Error('task lost'); }); })();
           loop.runUntilComplete(core.sleep(0.01)).then(async () => {
             for (let i = 0; i < 50 && seen.length < 2; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
             console.log(JSON.stringify(seen.sort()));
             loop.close();
           });`,
          { execArgv: ['--expose-gc'] },
        );
        expect(child.stderr).toBe('');
        expect(JSON.parse(child.stdout)).toEqual(['Future exception was never retrieved: lost', 'Task exception was never retrieved: task lost']);
      });
    });

    if (!watchesFds) {
      describe('file descriptors on a proactor loop', () => {
        test('addReader/addWriter raise NotImplementedError naming the loop', ({ loop }) => {
          for (const call of [() => loop.addReader(0, () => {}), () => loop.addWriter(1, () => {}), () => loop.removeReader(0), () => loop.removeWriter(1), () => loop.addPriorityReader(0, () => {})]) {
            expect(call).toThrow(NotImplementedError);
            expect(call).toThrow(loop.constructor.name);
          }
        });
      });
    }

    const fdBlock = (title: string, body: () => void) =>
      watchesFds ? describe(title, body) : describeFor(family, 'selector', title, 'fd watching is what this proactor loop does not have', body);
    fdBlock('file descriptors', () => {
      test('addPriorityReader: TCP urgent data (MSG_OOB) wakes the priority reader and not the reader; NotImplementedError where the backend has no priority readiness', async ({ loop }) => {
        const [server, client] = tcpPair();
        try {
          const selector = (loop as { selector?: { supportsPriority?: boolean } }).selector;
          const supported = features.priorityReadiness ?? selector?.supportsPriority === true;
          if (!supported) {
            expect(() => loop.addPriorityReader(server, () => {})).toThrow(NotImplementedError);
            expect(loop.removePriorityReader(server)).toBe(false);
            return;
          }
          const events: string[] = [];
          loop.addReader(server, () => {
            events.push(`read:${server.recv(100).toString()}`);
            // Only then the urgent byte: the reader must not be woken by it.
            client.send(Buffer.from('!'), sys.MSG_OOB);
          });
          loop.addPriorityReader(server, () => {
            events.push(`urgent:${server.recv(1, sys.MSG_OOB).toString()}`);
            expect(loop.removePriorityReader(server)).toBe(true);
            loop.callLater(0.02, () => loop.stop());
          });
          client.send(Buffer.from('plain'));
          await loop.runForever();
          expect(events).toEqual(['read:plain', 'urgent:!']);
          expect(loop.removePriorityReader(server)).toBe(false);
          expect(loop.removeReader(server)).toBe(true);
        } finally {
          server.close();
          client.close();
        }
      });

      test('addReader fires when a pipe has data, until removeReader', async ({ loop }) => {
        const pipe = channel();
        const { readFd } = pipe;
        try {
          const received: string[] = [];
          loop.addReader(readFd, () => {
            received.push(pipe.read(100).toString());
            if (received.length === 2) {
              expect(loop.removeReader(readFd)).toBe(true);
              loop.stop();
            } else {
              pipe.write(Buffer.from('second'));
            }
          });
          loop.callLater(0.005, () => pipe.write(Buffer.from('first')));
          await loop.runForever();
          expect(received).toEqual(['first', 'second']);
          expect(loop.removeReader(readFd)).toBe(false);
        } finally {
          pipe.close();
        }
      });

      test('addWriter fires when a socket is writable; reader and writer on one fd coexist', async ({ loop }) => {
        const [a, b] = sys.socketpair();
        try {
          const events: string[] = [];
          loop.addReader(a, () => {
            events.push(`read:${a.recv(100).toString()}`);
            loop.removeReader(a);
            loop.stop();
          });
          loop.addWriter(b, () => {
            events.push('writable');
            b.send(Buffer.from('ping'));
            expect(loop.removeWriter(b)).toBe(true);
          });
          await loop.runForever();
          expect(events).toEqual(['writable', 'read:ping']);
          expect(loop.removeWriter(b)).toBe(false);
        } finally {
          a.close();
          b.close();
        }
      });

      test('replacing a reader cancels the old one; level-triggered readiness repeats until read', async ({ loop }) => {
        const pipe = channel();
        const { readFd } = pipe;
        try {
          const calls: string[] = [];
          loop.addReader(readFd, () => calls.push('old'));
          let count = 0;
          loop.addReader(readFd, () => {
            calls.push('new');
            if (++count === 3) {
              pipe.read(10);
              loop.removeReader(readFd);
              loop.stop();
            }
          });
          pipe.write(Buffer.from('x'));
          await loop.runForever();
          expect(calls).toEqual(['new', 'new', 'new']);
        } finally {
          pipe.close();
        }
      });

      test('a closed fd never fires, and a reused fd number gets a fresh registration', async ({ loop }) => {
        const pipe = channel();
        const { readFd } = pipe;
        const stale: string[] = [];
        loop.addReader(readFd, () => stale.push('stale'));
        pipe.close();
        // The next pipe very likely reuses the same numbers.
        const pipe2 = channel();
        const { readFd: readFd2 } = pipe2;
        try {
          const fresh: string[] = [];
          loop.addReader(readFd2, () => {
            fresh.push(pipe2.read(10).toString());
            loop.removeReader(readFd2);
            loop.stop();
          });
          pipe2.write(Buffer.from('new'));
          await loop.runForever();
          expect(fresh).toEqual(['new']);
          expect(stale).toEqual([]);
        } finally {
          pipe2.close();
        }
      });

      test('an fd that is closed while watched never fires', async ({ loop }) => {
        const pipe = channel();
        const { readFd } = pipe;
        const calls: string[] = [];
        loop.addReader(readFd, () => calls.push('fired'));
        pipe.close();
        await loop.runUntilComplete(sleep(0.02));
        expect(calls).toEqual([]);
        loop.removeReader(readFd);
      });

      test('an fd closed while watched, then the loop run again: the loop opens nothing on its number (a helper-thread wake signal lives as long as the loop), and the reader never fires', async ({ loop }) => {
        // A first run, so that a backend waiting on a helper thread has
        // started it (and opened its wake signal) and stopped it again.
        await loop.runUntilComplete(sleep(0.005));
        const pipe = channel();
        const { readFd } = pipe;
        const calls: string[] = [];
        loop.addReader(readFd, () => calls.push('fired'));
        pipe.close();
        let next = -1;
        await loop.runUntilComplete((async () => {
          await sleep(0.01);
          // Wake the waiting loop from another thread's side: a wake signal
          // sitting on the closed fd's number would now look ready.
          loop.callSoonThreadsafe(() => {});
          await sleep(0.01);
          const probe = channel();
          next = probe.readFd;
          probe.close();
        })());
        expect(calls).toEqual([]);
        // POSIX hands out the lowest free number, so the number just closed
        // is the next one unless the loop took it in its second run. (A
        // Windows socket handle has no such rule.)
        if (process.platform !== 'win32') expect(next).toBe(readFd);
        loop.removeReader(readFd);
      });

      // Run `iterations` loop iterations (a callSoon made by a callback runs
      // in the next one) and return how often `count()` grew meanwhile:
      // iterations, not time, bound it.
      const callsOver = async (loop: Parameters<Parameters<typeof test>[1]>[0]['loop'], iterations: number, count: () => number): Promise<number> => {
        const start = count();
        const done = loop.createFuture<void>();
        let left = iterations;
        const hop = (): void => {
          if (--left <= 0) done.setResult(undefined);
          else loop.callSoon(hop);
        };
        loop.callSoon(hop);
        await loop.runUntilComplete(done);
        return count() - start;
      };

      test('a readable socket closed without removeReader while a dup keeps its file open: the reader stops firing (no spin)', async ({ loop }) => {
        const [a, b] = sys.socketpair();
        const fd = a.fileno();
        const duplicate = sys.dup(fd);
        const logs = collectLogs();
        try {
          loop.setDebug(true);
          b.send(Buffer.from('never read'));
          let calls = 0;
          loop.addReader(fd, () => calls++);
          expect(await callsOver(loop, 3, () => calls)).toBeGreaterThan(0);
          a.close();
          // A dead registration may fire for a while before it is found,
          // never for long: after a bounded number of iterations, silence.
          const rounds: number[] = [];
          for (let round = 0; round < 4; round++) rounds.push(await callsOver(loop, DEAD_REGISTRATION_CHECK_INTERVAL, () => calls));
          expect(rounds.slice(2)).toEqual([0, 0]);
          const warnings = logs.messages.filter((message) => message.startsWith('warning:') && message.includes(`fd ${fd} `));
          if (features.keepsClosedFilesRegistered) {
            // Found and dropped, and debug mode said so, naming the fd.
            expect(warnings.length).toBe(1);
            expect(loop.removeReader(fd)).toBe(false);
          } else {
            expect(rounds).toEqual([0, 0, 0, 0]);
            loop.removeReader(fd);
          }
          const selector = (loop as { selector?: BaseSelector }).selector;
          if (selector !== undefined) expect(selector.select(0)).toEqual([]);
        } finally {
          logs.restore();
          sys.close(duplicate);
          b.close();
        }
      });

      test('a readable socket closed, then removeReader, while a dup keeps its file open: the backend stops reporting it', async ({ loop }) => {
        const [a, b] = sys.socketpair();
        const [c, d] = sys.socketpair();
        const fd = a.fileno();
        const duplicate = sys.dup(fd);
        try {
          b.send(Buffer.from('never read'));
          let calls = 0;
          loop.addReader(fd, () => calls++);
          // Another fd stays registered, so the loop keeps polling the backend.
          loop.addReader(c, () => {});
          expect(await callsOver(loop, 3, () => calls)).toBeGreaterThan(0);
          a.close();
          loop.removeReader(fd);
          expect(await callsOver(loop, 10, () => calls)).toBe(0);
          const selector = (loop as { selector?: BaseSelector }).selector;
          if (selector !== undefined) {
            const count = selector.selectInto(0);
            const reported = Array.from(selector.readyBuffer.subarray(0, 2 * count)).filter((_, index) => index % 2 === 0);
            expect(reported).not.toContain(fd);
          }
          loop.removeReader(c);
        } finally {
          sys.close(duplicate);
          for (const sock of [b, c, d]) sock.close();
        }
      });

      test('a peer closing its end makes the reader fire with EOF', async ({ loop }) => {
        const [a, b] = sys.socketpair();
        try {
          let data: Buffer | null = null;
          loop.addReader(a, () => {
            data = a.recv(10);
            loop.removeReader(a);
            loop.stop();
          });
          b.close();
          await loop.runForever();
          expect(data).not.toBeNull();
          expect(data!.length).toBe(0);
        } finally {
          a.close();
        }
      });

      test(features.pollsRegularFiles ? 'a regular file is always readable' : 'a regular file gets a clear error', async ({ loop }) => {
        const file = path.join(os.tmpdir(), `evloop-regular-${process.pid}-${Date.now()}`);
        fs.writeFileSync(file, 'data');
        const fd = fs.openSync(file, 'r');
        try {
          if (features.pollsRegularFiles) {
            let fired = false;
            loop.addReader(fd, () => {
              fired = true;
              loop.removeReader(fd);
              loop.stop();
            });
            await loop.runForever();
            expect(fired).toBe(true);
          } else {
            expect(() => loop.addReader(fd, () => {})).toThrow(/cannot be watched/);
            expect(loop.removeReader(fd)).toBe(false);
          }
        } finally {
          fs.closeSync(fd);
          fs.unlinkSync(file);
        }
      });

      test('bad arguments are TypeError/RangeError', ({ loop }) => {
        expect(() => loop.addReader(-1, () => {})).toThrow(RangeError);
        expect(() => loop.addReader('3' as never, () => {})).toThrow(TypeError);
        expect(() => loop.addReader(0, 'nope' as never)).toThrow(TypeError);
      });
    });

    describe('process lifetime', () => {
      it('a running loop keeps the process alive; a stopped or closed one does not', () => {
        const child = runChild(
          packageName,
          name,
          `const loop = core.newEventLoop();
           let ticks = 0;
           const tick = () => { ticks++; if (ticks < 3) loop.callLater(0.05, tick); else loop.stop(); };
           loop.callLater(0.05, tick);
           loop.runForever().then(() => { console.log('stopped after', ticks); loop.close(); });`,
        );
        expect(child.stderr).toBe('');
        expect(child.stdout.trim()).toBe('stopped after 3');
        expect(child.status).toBe(0);
        const idle = runChild(
          packageName,
          name,
          `const loop = core.newEventLoop();
           loop.runForever();
           setTimeout(() => { loop.stop(); console.log('stopped'); }, 200);`,
        );
        expect(idle.stdout.trim()).toBe('stopped');
        expect(idle.status).toBe(0);
        // The idle loop kept the process alive until stopped (>= 200 ms) and then let it exit.
        expect(idle.elapsedMs).toBeGreaterThanOrEqual(200);
      });

      it('a loop with no timers and no fds waits until a Node callback stops it', () => {
        const child = runChild(
          packageName,
          name,
          `const loop = core.newEventLoop();
           loop.runForever().then(() => console.log('done', loop.isRunning()));
           setTimeout(() => loop.callSoonThreadsafe(() => loop.stop()), 100).unref();`,
        );
        expect(child.stderr).toBe('');
        expect(child.stdout.trim()).toBe('done false');
        expect(child.status).toBe(0);
      });
    });
  });
}
