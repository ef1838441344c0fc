import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { CancelledError, SelectorEventLoop, currentTask, getRunningLoop, sleep, type Task } from '@evloop/core-policy';
import { onLoop, testSelector, withLoop } from './helpers.js';

describe('await sleep(0) in an async-function task (no future, one loop turn)', () => {
  it('gives its result and lets the other tasks and callbacks run in between', async () => {
    const events = await onLoop(async (loop) => {
      const seen: string[] = [];
      const other = loop.createTask(async () => {
        for (let i = 0; i < 3; i++) {
          seen.push(`other ${i}`);
          await sleep(0);
        }
      });
      for (let i = 0; i < 3; i++) {
        seen.push(`main ${i}`);
        seen.push(await sleep(0, `slept ${i}`));
      }
      await other;
      return seen;
    });
    // Each await is one loop turn, so the two tasks alternate.
    expect(events).toEqual(['main 0', 'other 0', 'slept 0', 'main 1', 'other 1', 'slept 1', 'main 2', 'other 2', 'slept 2']);
  });

  it('the resume waits behind callbacks queued before the sleep(0), and comes back before the next turn; a cancel() and uncancel() in between change nothing', async () => {
    const events = await onLoop(async (loop) => {
      const seen: string[] = [];
      const task = loop.createTask(async () => {
        for (let i = 0; i < 3; i++) {
          loop.callSoon(() => {
            seen.push(`queued before ${i}`);
            loop.callSoon(() => seen.push(`next turn ${i}`));
          });
          seen.push(await sleep(0, `resumed ${i}`));
        }
        return 'done';
      });
      // The task's first step queued its callback and its resume handle; ask
      // to cancel, then take it back, before that handle runs.
      await sleep(0);
      seen.push('cancel and uncancel');
      task.cancel();
      task.uncancel();
      seen.push(await task);
      return seen;
    });
    expect(events).toEqual([
      'cancel and uncancel',
      'queued before 0',
      'resumed 0',
      'next turn 0',
      'queued before 1',
      'resumed 1',
      'next turn 1',
      'queued before 2',
      'resumed 2',
      'next turn 2',
      'done',
    ]);
  });

  it("as asyncio runs a task's step in its place: a task resumed from sleep(0) goes on to its next await before the callbacks queued after its resume, 40 tasks in order", async () => {
    const { events, counts } = await onLoop(async (loop) => {
      const seen: string[] = [];
      const counts: number[] = [];
      const tasks = [];
      for (let i = 0; i < 40; i++) {
        tasks.push(
          loop.createTask(async () => {
            const slept = sleep(0);
            if (i === 39) loop.callSoon(() => seen.push('queued after the last resume'));
            await slept;
            seen.push(`resumed ${i}`);
            await sleep(0);
            seen.push(`again ${i}`);
          }),
        );
      }
      await sleep(0); // the tasks' first steps run in this turn
      loop.setIterationObserver((stats) => counts.push(stats.callbacks));
      for (const task of tasks) await task;
      loop.setIterationObserver(null);
      return { events: seen, counts };
    });
    const resumed = Array.from({ length: 40 }, (_, i) => `resumed ${i}`);
    const again = Array.from({ length: 40 }, (_, i) => `again ${i}`);
    expect(events).toEqual([...resumed, 'queued after the last resume', ...again]);
    // The turn with the 40 resumes and the callback counts them all, though it paused between them.
    expect(counts[0]).toBe(41);
  });

  it('a callback queued between two resumes waits for the first task to reach its next await, and runs before the second goes on', async () => {
    const events = await onLoop(async (loop) => {
      const seen: string[] = [];
      const first = loop.createTask(async () => {
        const slept = sleep(0);
        loop.callSoon(() => seen.push('callback'));
        await slept;
        seen.push('first resumed');
      });
      const second = loop.createTask(async () => {
        await sleep(0);
        seen.push('second resumed');
      });
      await first;
      await second;
      return seen;
    });
    expect(events).toEqual(['first resumed', 'callback', 'second resumed']);
  });

  it('cancel() throws CancelledError at that await, with its message; the task may catch it and go on', async () => {
    const outcome = await onLoop(async (loop) => {
      const seen: string[] = [];
      const task = loop.createTask(async () => {
        try {
          await sleep(0);
          seen.push('not reached');
        } catch (error) {
          seen.push(CancelledError.isInstance(error) ? `cancelled: ${(error as Error).message}` : 'other');
        }
        await sleep(0);
        return 'finished';
      });
      await sleep(0); // the task is now suspended in its first sleep(0)
      expect(task.cancel('stop')).toBe(true);
      const result = await task;
      return { seen, result, cancelling: task.cancelling() };
    });
    expect(outcome).toEqual({ seen: ['cancelled: stop'], result: 'finished', cancelling: 1 });
  });

  it('a cancellation that is not caught ends the task cancelled', async () => {
    const task = await onLoop(async (loop) => {
      const inner = loop.createTask(async () => {
        for (;;) await sleep(0);
      });
      await sleep(0);
      await sleep(0);
      inner.cancel('enough');
      try {
        await inner;
      } catch (error) {
        expect(CancelledError.isInstance(error)).toBe(true);
      }
      return { inner };
    });
    expect(task.inner.cancelled()).toBe(true);
  });

  it('a cancellation taken back with uncancel() before the next turn is dropped, as in Python 3.13', async () => {
    const result = await onLoop(async (loop) => {
      const task = loop.createTask(async () => {
        await sleep(0);
        return 'not cancelled';
      });
      await sleep(0);
      task.cancel();
      expect(task.uncancel()).toBe(0);
      return { value: await task };
    });
    expect(result.value).toBe('not cancelled');
  });

  it('a cancellation requested before the await is thrown there', async () => {
    const seen = await onLoop(async (loop) => {
      const events: string[] = [];
      const task = loop.createTask(async () => {
        currentTask()!.cancel('early');
        try {
          await sleep(0);
        } catch (error) {
          events.push(CancelledError.isInstance(error) ? `cancelled: ${(error as Error).message}` : 'other');
        }
      });
      await task;
      return events;
    });
    expect(seen).toEqual(['cancelled: early']);
  });

  it('then() handlers, chaining, a throwing handler and two sleeps awaited at once all behave as Promises', async () => {
    const outcome = await onLoop(async () => {
      const chained = await sleep(0, 1)
        .then((value) => value + 1)
        .then((value) => value * 10);
      const failed = await sleep(0)
        .then(() => {
          throw new Error('from the handler');
        })
        .catch((error: unknown) => (error as Error).message);
      const both = await Promise.all([sleep(0, 'a'), sleep(0, 'b')]);
      return { chained, failed, both };
    });
    expect(outcome).toEqual({ chained: 20, failed: 'from the handler', both: ['a', 'b'] });
  });

  it('currentTask() is the task after the await and inside then() handlers of sleep(0) and of a future', async () => {
    const outcome = await onLoop(async (loop) => {
      const self = currentTask();
      const [inSleepHandler] = await sleep(0).then(() => [currentTask()]);
      const afterSleep = currentTask();
      const future = loop.createFuture<number>();
      loop.callSoon(() => future.setResult(1));
      const [inFutureHandler] = await future.then(() => [currentTask()]);
      return { isTask: self !== null, same: [inSleepHandler, afterSleep, inFutureHandler].every((task) => task === self) };
    });
    expect(outcome.isTask).toBe(true);
    expect(outcome.same).toBe(true);
  });

  it('a sleep(0) coroutine awaited twice gives its result both times', async () => {
    const values = await onLoop(async () => {
      const coroutine = sleep(0, 'again');
      return [await coroutine, await coroutine];
    });
    expect(values).toEqual(['again', 'again']);
  });

  it('tasks made from a sleep(0) coroutine and awaited from a generator task still work', async () => {
    const values = await onLoop(async (loop) => {
      const fromCoroutine = loop.createTask(sleep(0, 'task'));
      const fromGenerator = loop.createTask(function* () {
        return (yield* sleep(0, 'generator')) as string;
      });
      return [await fromCoroutine, await (fromGenerator as Task<string>)];
    });
    expect(values).toEqual(['task', 'generator']);
  });

  it('is a native Promise inside an async-function task (V8 awaits it directly) and a coroutine object elsewhere', async () => {
    const outside = sleep(0);
    expect(outside).not.toBeInstanceOf(Promise);
    expect(String(outside)).toBe('<coroutine sleep>');
    const inside = await onLoop(async () => {
      const pending = sleep(0, 'x');
      return { native: pending instanceof Promise, value: await pending };
    });
    expect(inside).toEqual({ native: true, value: 'x' });
  });

  it('a sleep(0) called before another await: a cancellation lands at the await in progress, the sleep still gives its value', async () => {
    const outcome = await onLoop(async (loop) => {
      const seen: string[] = [];
      const future = loop.createFuture<string>();
      const task = loop.createTask(async () => {
        const pending = sleep(0, 'slept');
        try {
          await future;
        } catch (error) {
          seen.push(CancelledError.isInstance(error) ? 'future cancelled' : 'other');
        }
        seen.push(await pending);
        await sleep(0);
        return 'done';
      });
      await sleep(0);
      task.cancel();
      return { result: await task, seen, futureCancelled: future.cancelled() };
    });
    expect(outcome).toEqual({ result: 'done', seen: ['future cancelled', 'slept'], futureCancelled: true });
  });

  it('a cancelled task whose sleep(0) is never awaited makes no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      await onLoop(async (loop) => {
        const task = loop.createTask(async () => {
          void sleep(0);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return 'finished';
        });
        await sleep(0);
        task.cancel();
        try {
          await task;
        } catch {
          // it may end either way; what matters is that nothing leaks
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
  });

  it('cancel() lands at each kind of await: sleep(0), a timer sleep, a future, a task, and after a foreign Promise at the next sleep(0)', async () => {
    const outcome = await onLoop(async (loop) => {
      const kinds = {
        'sleep(0)': async () => {
          for (;;) await sleep(0);
        },
        'sleep(1)': () => sleep(1),
        future: async () => {
          await loop.createFuture();
        },
        task: async () => {
          await loop.createTask(() => sleep(1));
        },
        'foreign then sleep(0)': async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await sleep(0);
          return 'not cancelled';
        },
      };
      const where: Record<string, string> = {};
      for (const [kind, body] of Object.entries(kinds)) {
        const task = loop.createTask(async () => {
          try {
            await body();
            where[kind] = 'finished';
          } catch (error) {
            where[kind] = CancelledError.isInstance(error) ? 'cancelled at its await' : String(error);
            throw error;
          }
        });
        await sleep(0);
        await sleep(0);
        task.cancel();
        try {
          await task;
        } catch {
          // checked below
        }
        expect(task.cancelled()).toBe(true);
      }
      return where;
    });
    expect(outcome).toEqual({
      'sleep(0)': 'cancelled at its await',
      'sleep(1)': 'cancelled at its await',
      future: 'cancelled at its await',
      task: 'cancelled at its await',
      'foreign then sleep(0)': 'cancelled at its await',
    });
  });

  it('currentTask() stays right through nested async functions awaiting foreign Promises, between interleaved tasks', async () => {
    const outcome = await onLoop(async (loop) => {
      const mismatches: string[] = [];
      async function nested(self: Task<unknown>, depth: number): Promise<void> {
        await Promise.resolve();
        if (currentTask() !== self) mismatches.push(`after Promise.resolve at ${depth}`);
        await new Promise((resolve) => setImmediate(resolve));
        if (currentTask() !== self) mismatches.push(`after setImmediate at ${depth}`);
        await sleep(0);
        if (currentTask() !== self) mismatches.push(`after sleep(0) at ${depth}`);
        if (depth > 0) await nested(self, depth - 1);
        if (currentTask() !== self) mismatches.push(`after nested at ${depth}`);
      }
      const tasks = Array.from({ length: 5 }, () => loop.createTask(async () => nested(currentTask()!, 3)));
      for (const task of tasks) await task;
      return mismatches;
    });
    expect(outcome).toEqual([]);
  });

  it("context is isolated between tasks: a user's AsyncLocalStorage value follows its own task across sleep(0)", async () => {
    const storage = new AsyncLocalStorage<string>();
    const outcome = await onLoop(async (loop) => {
      const seen: string[] = [];
      const tasks = ['a', 'b', 'c'].map((name) =>
        loop.createTask(() =>
          storage.run(name, async () => {
            for (let i = 0; i < 3; i++) {
              await sleep(0);
              seen.push(`${name}:${storage.getStore()}`);
            }
          }),
        ),
      );
      for (const task of tasks) await task;
      return seen;
    });
    expect(outcome).toEqual(['a:a', 'b:b', 'c:c', 'a:a', 'b:b', 'c:c', 'a:a', 'b:b', 'c:c']);
  });
});

describe("an async-function task resumed in a run's last iteration", () => {
  // V8 runs the continuation after an await as a Promise job, after the
  // iteration that resumed it; when that iteration also stopped the loop,
  // the task's code runs once the run is over. It must still find its loop
  // and go on at the next run, as an asyncio task would.
  it('finds its loop and its task after the run ended, and what it awaits there waits for the next run', () =>
    withLoop(
      () => new SelectorEventLoop(testSelector()),
      async ({ loop }) => {
        const seen: unknown[] = [];
        const task = loop.createTask(async () => {
          try {
            await sleep(10);
          } catch (error) {
            seen.push(CancelledError.isInstance(error), loop.isRunning(), getRunningLoop() === loop, currentTask() === task);
            seen.push(currentTask()!.uncancel());
            await sleep(10);
          }
        });
        await loop.runUntilComplete(sleep(0));
        // One iteration cancels the task and queues stop() behind its wake-up,
        // so the next runs both: the task resumes in the run's last iteration.
        loop.callSoon(() => {
          task.cancel();
          loop.callSoon(() => loop.stop());
        });
        await loop.runForever();
        await new Promise((resolve) => setImmediate(resolve));
        expect(seen).toEqual([true, false, true, true, 0]);
        expect(task.done()).toBe(false);
        task.cancel();
        await expect(loop.runUntilComplete(() => task)).rejects.toSatisfy(CancelledError.isInstance);
        expect(task.cancelled()).toBe(true);
      },
    ));
});
