import { RuntimeError } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { getRunningLoop } from '../loop/running-loop.js';
import { Future, isFuture } from './future.js';
import { isCoroutineObject } from './coroutine.js';
import { isGenerator, isThenable } from './task.js';

/**
 * What a scope helper (`taskGroup`, `timeout`) returns: a coroutine that runs
 * its body inside the task that awaits it, never in a task of its own, since
 * the helper must see (and cancel) that very task. It works both ways:
 *
 * - `yield* taskGroup(function* (group) { ... })` in a generator coroutine;
 * - `await taskGroup(async (group) => { ... })` in an async function.
 *
 * The scope logic is written once, as a generator that yields futures; the
 * `await` path drives that generator with `await`, which lets an async-function
 * task see (and cancel) the future it waits on.
 *
 * Like a Python coroutine, it can be run once.
 */
export class ScopedCoroutine<T> implements PromiseLike<T> {
  readonly #name: string;
  readonly #make: () => Generator<unknown, T, unknown>;
  #started = false;

  constructor(name: string, make: () => Generator<unknown, T, unknown>) {
    this.#name = name;
    this.#make = make;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let generator: Generator<unknown, T, unknown>;
    try {
      generator = this.#start();
    } catch (error) {
      return Promise.reject(error).then(onFulfilled, onRejected);
    }
    return driveWithAwait(generator, getRunningLoop() as BaseEventLoop).then(onFulfilled, onRejected);
  }

  [Symbol.iterator](): Generator<unknown, T, unknown> {
    return this.#start();
  }

  toString(): string {
    return `<coroutine ${this.#name}>`;
  }

  #start(): Generator<unknown, T, unknown> {
    if (this.#started) throw new RuntimeError(`coroutine ${this.#name}() was already awaited`);
    this.#started = true;
    getRunningLoop();
    return this.#make();
  }
}

/**
 * Run a generator that yields what a generator task accepts (futures,
 * coroutine objects, thenables, generators, or nothing for one loop turn)
 * from an async function, with `await` on each.
 */
async function driveWithAwait<T>(generator: Generator<unknown, T, unknown>, loop: BaseEventLoop): Promise<T> {
  let step = generator.next();
  while (!step.done) {
    let value: unknown;
    let failed = false;
    try {
      value = await awaitable(step.value, loop);
    } catch (error) {
      failed = true;
      value = error;
    }
    step = failed ? generator.throw(value) : generator.next(value);
  }
  return step.value;
}

function awaitable(yielded: unknown, loop: BaseEventLoop): unknown {
  if (isFuture(yielded) || isCoroutineObject(yielded) || isThenable(yielded)) return yielded;
  if (yielded === undefined || yielded === null) {
    // A bare `yield`: one loop turn, through an evloop future the task can cancel.
    const turn = new Future<void>({ loop });
    loop.callSoon(() => {
      if (!turn.done()) turn.setResult();
    });
    return turn;
  }
  if (isGenerator(yielded)) return loop.createTask(yielded);
  throw new RuntimeError(`a scope body yielded ${typeof yielded}, which is not awaitable`);
}

/**
 * Call a scope's body and give back its outcome inside the scope's generator:
 * a generator body runs in place (`yield*`), an awaitable is waited for, any
 * other value is the result.
 */
export function* runBody<A, T>(body: (argument: A) => unknown, argument: A): Generator<unknown, T, unknown> {
  const outcome = body(argument);
  if (isGenerator(outcome)) return (yield* outcome as Generator<unknown, T, unknown>) as T;
  if (isFuture(outcome) || isCoroutineObject(outcome) || isThenable(outcome)) return (yield outcome) as T;
  return outcome as T;
}
