import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  SelectorEventLoop,
  Task,
  TaskGroup,
  currentTask,
  sleep,
  taskGroup,
  type BaseEventLoop,
} from '@evloop/core-policy';
import { testSelector, withLoop, type LoopHarness } from './helpers.js';

/** Scenarios of CPython's test_taskgroups.py, on the loop harness (loop closed, no fd or handle leak, no stray exception). */
const test = (title: string, body: (harness: LoopHarness) => Promise<void>) =>
  it(title, () => withLoop(() => new SelectorEventLoop(testSelector()), body));

class ZeroDivisionError extends Error {}

function errorTypes(group: unknown): Set<unknown> {
  expect(ExceptionGroup.isInstance(group)).toBe(true);
  return new Set((group as ExceptionGroup).exceptions.map((error) => (error as object).constructor));
}

async function outcome(loop: BaseEventLoop, task: Task<unknown>): Promise<unknown> {
  try {
    await loop.runUntilComplete(task);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('taskGroup', () => {
  test('children run to the end; the result is the body\'s (async and generator bodies)', async ({ loop }) => {
    const viaAsync = await loop.runUntilComplete(async () => {
      let t1!: Task<number>;
      let t2!: Task<number>;
      const value = await taskGroup(async (group) => {
        t1 = group.createTask(sleep(0.01, 42));
        t2 = group.createTask(sleep(0.02, 11));
        return 'body';
      });
      return [value, t1.result(), t2.result()];
    });
    expect(viaAsync).toEqual(['body', 42, 11]);
    const viaGenerator = await loop.runUntilComplete(function* () {
      let t1!: Task<number>;
      const value = yield* taskGroup(function* (group) {
        t1 = group.createTask(sleep(0.01, 7));
        yield* sleep(0);
        return 'generator body';
      });
      return [value, t1.result()];
    });
    expect(viaGenerator).toEqual(['generator body', 7]);
  });

  test('a failing child cancels its siblings and the body; errors come back as one ExceptionGroup', async ({ loop }) => {
    let number = 0;
    let siblingCancelled = false;
    let bodyCancelled = false;
    const runner = loop.createTask(async () => {
      await taskGroup(async (group) => {
        for (let i = 0; i < 3; i++) {
          group.createTask(async () => {
            await sleep(0.01);
            throw new ZeroDivisionError('division by zero');
          });
        }
        group.createTask(async () => {
          try {
            await sleep(5);
          } catch (error) {
            siblingCancelled = CancelledError.isInstance(error);
            throw error;
          }
          number += 1;
        });
        try {
          await sleep(10);
        } catch (error) {
          bodyCancelled = CancelledError.isInstance(error);
          throw error;
        }
      });
      number += 10;
    });
    const error = await outcome(loop, runner);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as ExceptionGroup).errors).toBe((error as ExceptionGroup).errors);
    expect(errorTypes(error)).toEqual(new Set([ZeroDivisionError]));
    expect((error as Error).message).toMatch(/^unhandled errors in a TaskGroup \(\d sub-exceptions?\)$/);
    expect(number).toBe(0);
    expect(siblingCancelled).toBe(true);
    expect(bodyCancelled).toBe(true);
    // The group took back the cancellation it asked for.
    expect(runner.cancelled()).toBe(false);
    expect(runner.cancelling()).toBe(0);
  });

  test('the same in a generator coroutine', async ({ loop }) => {
    const order: string[] = [];
    const runner = loop.createTask(function* () {
      try {
        yield* taskGroup(function* (group) {
          group.createTask(function* () {
            yield* sleep(0.01);
            throw new ZeroDivisionError('boom');
          });
          try {
            yield* sleep(10);
          } catch (error) {
            order.push(`body: ${(error as Error).name}`);
            throw error;
          }
        });
      } catch (error) {
        order.push(`group: ${[...errorTypes(error)].map((type) => (type as { name: string }).name).join()}`);
      }
      // The task goes on after the group: it is not left cancelled.
      yield* sleep(0);
      order.push('after');
      return currentTask()!.cancelling();
    });
    await loop.runUntilComplete(runner);
    expect(order).toEqual(['body: CancelledError', 'group: ZeroDivisionError', 'after']);
    expect(runner.result()).toBe(0);
  });

  test('cancelling the parent cancels every child, and the parent ends cancelled', async ({ loop }) => {
    let cancelled = 0;
    const runner = loop.createTask(async () => {
      await taskGroup(async (group) => {
        for (let i = 0; i < 5; i++) {
          group.createTask(async () => {
            try {
              await sleep(5);
            } catch (error) {
              cancelled += 1;
              throw error;
            }
          });
        }
        try {
          await sleep(10);
        } catch (error) {
          cancelled += 10;
          throw error;
        }
      });
    });
    loop.callLater(0.01, () => runner.cancel());
    const error = await outcome(loop, runner);
    expect(CancelledError.isInstance(error)).toBe(true);
    expect(cancelled).toBe(15);
    expect(runner.cancelled()).toBe(true);
  });

  test('cancelled while the group waits for its children at the end of the body', async ({ loop }) => {
    let cancelled = 0;
    const runner = loop.createTask(async () => {
      await taskGroup(async (group) => {
        for (let i = 0; i < 5; i++) {
          group.createTask(async () => {
            try {
              await sleep(5);
            } catch (error) {
              cancelled += 1;
              throw error;
            }
          });
        }
      });
    });
    loop.callLater(0.01, () => runner.cancel());
    expect(CancelledError.isInstance(await outcome(loop, runner))).toBe(true);
    expect(cancelled).toBe(5);
  });

  test('children that fail while being cancelled from outside: the errors win over the cancellation', async ({ loop }) => {
    const runner = loop.createTask(async () => {
      await taskGroup(async (group) => {
        for (let i = 0; i < 5; i++) {
          group.createTask(async () => {
            try {
              await sleep(10);
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw new ZeroDivisionError('in finally');
            }
          });
        }
        await sleep(10);
      });
    });
    loop.callLater(0.01, () => runner.cancel());
    const error = await outcome(loop, runner);
    expect(errorTypes(error)).toEqual(new Set([ZeroDivisionError]));
    // The outside cancellation is still counted: the parent can see it.
    expect(runner.cancelling()).toBe(1);
  });

  test('an error thrown by the body cancels the children and joins the group', async ({ loop }) => {
    let t1!: Task<number>;
    let t2!: Task<number>;
    const error = await outcome(
      loop,
      loop.createTask(async () => {
        await taskGroup(async (group) => {
          t1 = group.createTask(sleep(1, 42));
          t2 = group.createTask(sleep(2, 11));
          await sleep(0.01);
          throw new ZeroDivisionError('body');
        });
      }),
    );
    expect(errorTypes(error)).toEqual(new Set([ZeroDivisionError]));
    expect(t1.cancelled()).toBe(true);
    expect(t2.cancelled()).toBe(true);
  });

  test('nested groups: a failure inside comes out as a group inside a group', async ({ loop }) => {
    const crashAfter = (delay: number) => async () => {
      await sleep(delay);
      throw new RangeError(String(delay));
    };
    const inner = await outcome(
      loop,
      loop.createTask(async () => {
        await taskGroup(async (outer) => {
          outer.createTask(crashAfter(10));
          await taskGroup(async (innerGroup) => {
            innerGroup.createTask(crashAfter(0.01));
          });
        });
      }),
    );
    expect(errorTypes(inner)).toEqual(new Set([ExceptionGroup]));
    expect(errorTypes((inner as ExceptionGroup).exceptions[0])).toEqual(new Set([RangeError]));
    const outerFirst = await outcome(
      loop,
      loop.createTask(async () => {
        await taskGroup(async (outer) => {
          outer.createTask(crashAfter(0.01));
          await taskGroup(async (innerGroup) => {
            innerGroup.createTask(crashAfter(10));
          });
        });
      }),
    );
    expect(errorTypes(outerFirst)).toEqual(new Set([RangeError]));
  });

  test('children may add children while the group runs; a group of many waves ends when all are done', async ({ loop }) => {
    let heads = 0;
    const error = await outcome(
      loop,
      loop.createTask(async () => {
        await taskGroup(async (group) => {
          const hydra = async (): Promise<void> => {
            heads += 1;
            await sleep(0.001);
            group.createTask(hydra);
            group.createTask(hydra);
          };
          group.createTask(hydra);
          group.createTask(async () => {
            while (heads < 10) await sleep(0.001);
            throw new ZeroDivisionError('hercules');
          });
        });
      }),
    );
    expect(errorTypes(error)).toEqual(new Set([ZeroDivisionError]));
    expect(heads).toBeGreaterThanOrEqual(10);
  });

  test('createTask is refused once the group is shutting down or finished; no parent task is a RuntimeError', async ({ loop }) => {
    let kept!: TaskGroup;
    let refusedWhileAborting: unknown;
    await outcome(
      loop,
      loop.createTask(async () => {
        await taskGroup(async (group) => {
          kept = group;
          group.createTask(async () => {
            throw new ZeroDivisionError('first');
          });
          try {
            await sleep(10);
          } catch (error) {
            try {
              group.createTask(sleep(1));
            } catch (refused) {
              refusedWhileAborting = refused;
            }
            throw error;
          }
        });
      }),
    );
    expect(RuntimeError.isInstance(refusedWhileAborting)).toBe(true);
    expect(String(refusedWhileAborting)).toMatch(/shutting down/);
    await loop.runUntilComplete(async () => {
      const finished = await taskGroup(async (group) => group);
      expect(() => finished.createTask(sleep(0))).toThrow(/is finished/);
    });
    expect(kept.toString()).toMatch(/^<TaskGroup /);
    // A plain callback runs in no task.
    const outside = new Promise((resolve) => loop.callSoon(() => taskGroup(async () => 1).then(resolve, resolve)));
    expect(String(await loop.runUntilComplete(outside))).toMatch(/RuntimeError: taskGroup\(\) cannot determine the parent task/);
    expect(() => taskGroup(null as never)).toThrow(TypeError);
    await loop.runUntilComplete(async () => {
      const scope = taskGroup(async () => 1);
      await scope;
      await expect(scope).rejects.toThrow(/already awaited/);
    });
  });

  test('task names pass through createTask', async ({ loop }) => {
    const name = await loop.runUntilComplete(async () => taskGroup(async (group) => group.createTask(sleep(0), { name: 'child' }).getName()));
    expect(name).toBe('child');
  });
});

describe('ExceptionGroup', () => {
  it('split and subgroup keep the shape of nested groups', () => {
    const type = new TypeError('t');
    const range = new RangeError('r');
    const nested = new ExceptionGroup('inner', [new TypeError('t2'), new RangeError('r2')]);
    const group = new ExceptionGroup('outer', [type, range, nested]);
    expect(group.message).toBe('outer (3 sub-exceptions)');
    const [types, rest] = group.split((error) => error instanceof TypeError);
    expect(types!.exceptions[0]).toBe(type);
    expect((types!.exceptions[1] as ExceptionGroup).exceptions.map(String)).toEqual(['TypeError: t2']);
    expect(types!.baseMessage).toBe('outer');
    expect(rest!.exceptions[0]).toBe(range);
    expect(group.subgroup(() => false)).toBe(null);
    expect(group.subgroup((error) => error === group)).toBe(group);
    expect(() => new ExceptionGroup('empty', [])).toThrow(RangeError);
    expect(() => new ExceptionGroup('bad', 'x' as never)).toThrow(TypeError);
    expect(() => group.split('x' as never)).toThrow(TypeError);
  });
});
