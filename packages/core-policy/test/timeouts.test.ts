import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  SelectorEventLoop,
  TimeoutError,
  Timeout,
  currentTask,
  eagerTaskFactory,
  createEagerTaskFactory,
  Task,
  sleep,
  taskGroup,
  timeout,
  timeoutAt,
  type BaseEventLoop,
} from '@evloop/core-policy';
import { testSelector, withLoop, type LoopHarness } from './helpers.js';

/** Scenarios of CPython's test_timeouts.py and the cancelling/uncancel tests of test_tasks.py, on the loop harness. */
const test = (title: string, body: (harness: LoopHarness) => Promise<void>) =>
  it(title, () => withLoop(() => new SelectorEventLoop(testSelector()), body));

async function settle(loop: BaseEventLoop, main: () => unknown): Promise<unknown> {
  try {
    return await loop.runUntilComplete(main as () => Promise<unknown>);
  } catch (error) {
    return error;
  }
}

describe('timeout() and timeoutAt()', () => {
  test('an expired deadline is a TimeoutError caused by the CancelledError; the task goes on', async ({ loop }) => {
    const result = await loop.runUntilComplete(async () => {
      let scope!: Timeout;
      let caught: unknown;
      try {
        await timeout(0.01, async (cm) => {
          scope = cm;
          await sleep(10);
        });
      } catch (error) {
        caught = error;
      }
      await sleep(0);
      return { caught, scope, cancelling: currentTask()!.cancelling() };
    });
    expect(TimeoutError.isInstance(result.caught)).toBe(true);
    expect(CancelledError.isInstance((result.caught as Error).cause)).toBe(true);
    expect(result.scope.expired()).toBe(true);
    expect(result.scope.toString()).toBe('<Timeout [expired]>');
    expect(result.cancelling).toBe(0);
  });

  test('the same from a generator coroutine, with timeoutAt', async ({ loop }) => {
    const outcome = yieldOutcome(
      await loop.runUntilComplete(function* () {
        try {
          yield* timeoutAt(loop.time() + 0.01, function* () {
            yield* sleep(10);
          });
        } catch (error) {
          return error;
        }
        return 'not reached';
      }),
    );
    expect(outcome).toBe('TimeoutError');
  });

  test('a body that ends in time returns its value, and the timer is gone', async ({ loop }) => {
    const value = await loop.runUntilComplete(async () => {
      let scope!: Timeout;
      const result = await timeout(10, async (cm) => {
        scope = cm;
        expect(cm.toString()).toMatch(/^<Timeout \[active\] when=\d+(\.\d+)?>$/);
        await sleep(0);
        return 'done';
      });
      expect(scope.toString()).toBe('<Timeout [finished]>');
      expect(scope.expired()).toBe(false);
      return result;
    });
    expect(value).toBe('done');
    expect((loop as unknown as { _scheduled: { length: number } })._scheduled.length).toBeLessThanOrEqual(1);
  });

  test('null disables the deadline; zero or a past deadline expires at the first suspension', async ({ loop }) => {
    await loop.runUntilComplete(async () => {
      expect(await timeout(null, async (cm) => {
        expect(cm.when()).toBe(null);
        expect(cm.toString()).toBe('<Timeout [active] when=null>');
        await sleep(0.01);
        return 1;
      })).toBe(1);
      await expect(timeout(0, async () => sleep(1))).rejects.toBeInstanceOf(TimeoutError);
      await expect(timeoutAt(loop.time() - 1, async () => sleep(0))).rejects.toBeInstanceOf(TimeoutError);
      await expect(timeoutAt(null, async () => sleep(0, 'x'))).resolves.toBe('x');
    });
  });

  test('nested timeouts: the outer deadline is reported by the outer scope only', async ({ loop }) => {
    const seen = await loop.runUntilComplete(async () => {
      const events: string[] = [];
      try {
        await timeout(0.01, async () => {
          try {
            await timeout(10, async () => sleep(10));
          } catch (error) {
            events.push(`inner: ${(error as Error).name}`);
            throw error;
          }
        });
      } catch (error) {
        events.push(`outer: ${(error as Error).name}`);
      }
      return events;
    });
    expect(seen).toEqual(['inner: CancelledError', 'outer: TimeoutError']);
  });

  test('a cancellation from outside stays a cancellation, even racing an expiring deadline', async ({ loop }) => {
    const notExpired = await settle(loop, async () => {
      let scope!: Timeout;
      try {
        await timeout(10, async (cm) => {
          scope = cm;
          currentTask()!.cancel();
          await sleep(10);
        });
      } finally {
        expect(scope.expired()).toBe(false);
      }
    });
    expect(CancelledError.isInstance(notExpired)).toBe(true);
    // Both at once: the deadline passes and someone else cancels the task.
    const task = loop.createTask(async () => {
      await timeout(0, async () => {
        currentTask()!.cancel();
        await sleep(10);
      });
    });
    const both = await settle(loop, () => task);
    expect(CancelledError.isInstance(both)).toBe(true);
    expect(task.cancelled()).toBe(true);
  });

  test('a timeout after a handled cancellation, and a cancel inside it', async ({ loop }) => {
    const result = await loop.runUntilComplete(async () => {
      try {
        currentTask()!.cancel();
        await sleep(1);
      } catch {
        // handled: cancelling() stays 1
      }
      let first: unknown;
      try {
        await timeout(0, async () => sleep(1));
      } catch (error) {
        first = error;
      }
      return first;
    });
    expect(TimeoutError.isInstance(result)).toBe(true);
    const second = await settle(loop, async () => {
      try {
        currentTask()!.cancel();
        await sleep(1);
      } catch {
        // handled
      }
      await timeout(1, async () => {
        currentTask()!.cancel();
        await sleep(2);
      });
    });
    expect(CancelledError.isInstance(second)).toBe(true);
  });

  test('an error the body raises while the timeout is delivered goes through, marked timedOut', async ({ loop }) => {
    const error = await settle(loop, async () => {
      await timeout(0.001, async () => {
        try {
          await sleep(10);
        } catch {
          throw new RangeError('cleanup failed');
        }
      });
    });
    expect(error).toBeInstanceOf(RangeError);
    expect((error as { timedOut?: boolean }).timedOut).toBe(true);
  });

  test('reschedule moves the deadline; misuse is a RuntimeError; bad arguments are typed errors', async ({ loop }) => {
    const deadline = loop.time() + 10;
    const entered = loop.createFuture<Timeout>();
    const task = loop.createTask(async () => {
      await timeoutAt(deadline, async (cm) => {
        entered.setResult(cm);
        await sleep(50);
      });
    });
    const scope = await loop.runUntilComplete(entered);
    expect(scope.when()).toBe(deadline);
    scope.reschedule(deadline + 20);
    expect(scope.when()).toBe(deadline + 20);
    scope.reschedule(null);
    expect(scope.when()).toBe(null);
    task.cancel();
    expect(CancelledError.isInstance(await settle(loop, () => task))).toBe(true);
    expect(scope.expired()).toBe(false);
    expect(() => scope.reschedule(1)).toThrow(RuntimeError);
    expect(() => scope.reschedule('1' as never)).toThrow(TypeError);
    expect(() => timeout('1' as never, async () => 1)).toThrow(/delay must be a number or null/);
    expect(() => timeout(Number.NaN, async () => 1)).toThrow(RangeError);
    expect(() => timeoutAt(1, 'body' as never)).toThrow(TypeError);
    const outside = new Promise((resolve) => loop.callSoon(() => timeout(1, async () => 1).then(resolve, resolve)));
    expect(String(await loop.runUntilComplete(outside))).toMatch(/RuntimeError: Timeout should be used inside a task/);
  });

  test('a timeout around a task group: children cancelled, TimeoutError out, the group leaves no count behind', async ({ loop }) => {
    const result = await loop.runUntilComplete(async () => {
      let cancelledChildren = 0;
      let caught: unknown;
      try {
        await timeout(0.01, async () =>
          taskGroup(async (group) => {
            for (let i = 0; i < 3; i++) {
              group.createTask(async () => {
                try {
                  await sleep(10);
                } catch (error) {
                  cancelledChildren++;
                  throw error;
                }
              });
            }
          }),
        );
      } catch (error) {
        caught = error;
      }
      return { caught, cancelledChildren, cancelling: currentTask()!.cancelling() };
    });
    expect(TimeoutError.isInstance(result.caught)).toBe(true);
    expect(result.cancelledChildren).toBe(3);
    expect(result.cancelling).toBe(0);
  });

  test('a timeout inside a group child only ends that child', async ({ loop }) => {
    const result = await loop.runUntilComplete(async () =>
      taskGroup(async (group) => {
        const slow = group.createTask(async () => {
          try {
            await timeout(0.001, async () => sleep(10));
          } catch (error) {
            return (error as Error).name;
          }
          return 'no timeout';
        });
        const other = group.createTask(sleep(0.01, 'other'));
        await sleep(0);
        return [slow, other];
      }),
    );
    expect(result.map((task) => task.result())).toEqual(['TimeoutError', 'other']);
    expect(ExceptionGroup).toBeDefined();
  });
});

function yieldOutcome(value: unknown): string {
  return TimeoutError.isInstance(value) ? 'TimeoutError' : String(value);
}

describe('Task.cancelling() and uncancel()', () => {
  test('cancel counts requests; uncancel takes one back; a done task keeps its state', async ({ loop }) => {
    const phases: number[] = [];
    const task = loop.createTask(async () => {
      try {
        await sleep(10);
      } catch {
        phases.push(currentTask()!.uncancel());
        await sleep(10);
      }
    });
    await loop.runUntilComplete(sleep(0.001));
    expect(task.cancelling()).toBe(0);
    expect(task.cancel()).toBe(true);
    expect(task.cancel()).toBe(true);
    expect(task.cancelling()).toBe(2);
    expect(task.uncancel()).toBe(1);
    await loop.runUntilComplete(sleep(0.001));
    expect(phases).toEqual([0]);
    expect(task.cancelled()).toBe(false);
    task.cancel();
    expect(CancelledError.isInstance(await settle(loop, () => task))).toBe(true);
    task.uncancel();
    expect(task.cancelled()).toBe(true);
  });

  test('uncancel to zero drops a cancellation not yet delivered', async ({ loop }) => {
    const result = await loop.runUntilComplete(function* () {
      const task = currentTask()!;
      task.cancel();
      expect(task.uncancel()).toBe(0);
      yield* sleep(0.001);
      return 'not cancelled';
    });
    expect(result).toBe('not cancelled');
  });
});

describe('eagerTaskFactory', () => {
  test('a coroutine that never waits is done when createTask returns; one that waits goes on normally', async ({ loop }) => {
    loop.setTaskFactory(eagerTaskFactory);
    expect(loop.getTaskFactory()).toBe(eagerTaskFactory);
    const order: string[] = [];
    await loop.runUntilComplete(async () => {
      const parent = currentTask();
      const quick = loop.createTask(function* () {
        order.push(`quick runs in itself: ${currentTask() !== parent}`);
        return 'cached';
      });
      order.push(`after createTask: ${quick.done()}`);
      expect(quick.result()).toBe('cached');
      const slow = loop.createTask(function* () {
        order.push('slow starts');
        yield* sleep(0.001);
        order.push('slow ends');
        return 'fetched';
      });
      order.push(`slow done: ${slow.done()}`);
      expect(currentTask()).toBe(parent);
      expect(await slow).toBe('fetched');
      // A group counts an eager child that is already done.
      const [child] = await taskGroup(async (group) => [group.createTask(async () => 5)]);
      expect(child!.result()).toBe(5);
    });
    expect(order).toEqual(['quick runs in itself: true', 'after createTask: true', 'slow starts', 'slow done: false', 'slow ends']);
    loop.setTaskFactory(null);
    expect(() => loop.setTaskFactory('eager' as never)).toThrow(TypeError);
  });

  test('createEagerTaskFactory builds eager tasks of a Task subclass; before the loop runs tasks start lazily', async ({ loop }) => {
    class NamedTask<T> extends Task<T> {}
    loop.setTaskFactory(createEagerTaskFactory(NamedTask as never));
    const lazy = loop.createTask(sleep(0, 1));
    expect(lazy).toBeInstanceOf(NamedTask);
    expect(lazy.done()).toBe(false);
    expect(await loop.runUntilComplete(lazy)).toBe(1);
    expect(() => createEagerTaskFactory(null as never)).toThrow(TypeError);
  });
});
