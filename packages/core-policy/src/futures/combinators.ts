import { CancelledError, TimeoutError, type CoroutineSource } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { Future, isFuture } from './future.js';
import { Task, sleepingTask } from './task.js';
import { getEventLoop, getRunningLoop } from '../loop/running-loop.js';
import { Coroutine } from './coroutine.js';

function runningLoop(): BaseEventLoop {
  return getRunningLoop() as BaseEventLoop;
}

function checkDelay(value: unknown, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number or null, got ${typeof value}`);
  if (Number.isNaN(value)) throw new RangeError(`${name} must not be NaN`);
  return value;
}

/** Wrap a coroutine in a task on the running loop (asyncio's `create_task`). */
export function createTask<T>(coroutine: CoroutineSource<T>, options: { name?: string } = {}): Task<T> {
  return runningLoop().createTask(coroutine, options);
}

/** A future for any awaitable (asyncio's `ensure_future`): futures as they are, the rest as tasks. */
export function ensureFuture<T>(value: CoroutineSource<T>, options: { loop?: BaseEventLoop } = {}): Future<T> {
  if (isFuture(value) && options.loop === undefined) return value as Future<T>;
  const loop = options.loop ?? (getEventLoop() as BaseEventLoop);
  return loop.ensureFuture(value);
}

/**
 * A coroutine that finishes after `delay` seconds with `result`. `sleep(0)`
 * gives the loop one turn. Like asyncio's, it starts when awaited, except
 * `sleep(0)` called in an async-function task (see `SleepZero`).
 */
export function sleep<T = undefined>(delay: number, result?: T): Coroutine<T> {
  if (typeof delay === 'number' && delay <= 0) {
    // In an async-function task: a native Promise, for V8's fast `await`.
    const task = sleepingTask();
    if (task !== null) return task._sleepZero(result) as unknown as Coroutine<T>;
    return new SleepZero(result as T);
  }
  const seconds = checkDelay(delay, 'delay');
  if (seconds === null) throw new TypeError('delay must be a number');
  return new Coroutine('sleep', (loop) => {
    const future = loop.createFuture<T>();
    const handle = loop.callLater(seconds, () => {
      if (!future.done()) future.setResult(result as T);
    });
    future.addDoneCallback(() => handle.cancel());
    return future;
  });
}

/**
 * `sleep(0)`. Called in an async-function task (the common case,
 * `await sleep(0)`), it is a native Promise and makes no future: the task
 * queues its own resume handle at once, which settles the Promise one loop
 * turn later, or rejects it with `CancelledError` if the task was cancelled
 * meanwhile (asyncio's `__sleep0` and `_must_cancel`). Anywhere else it is
 * this coroutine object: awaited later inside a task it takes the same
 * path; used any other way (`yield*`, `ensureFuture`, awaited outside a
 * task, a second time) it behaves as any coroutine object.
 */
class SleepZero<T> extends Coroutine<T> {
  readonly #result: T;
  #awaited = false;

  constructor(result: T) {
    super('sleep', startSleepZero as (loop: BaseEventLoop) => Future<T>, iterateSleepZero as () => Generator<unknown, T, unknown>);
    this.#result = result;
  }

  /** @internal */
  get _result(): T {
    return this.#result;
  }

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (!this.#awaited && !this._isBound()) {
      const task = sleepingTask();
      if (task !== null) {
        this.#awaited = true;
        return (task._sleepZero(this.#result) as Promise<T>).then(onFulfilled, onRejected);
      }
    }
    return super.then(onFulfilled, onRejected);
  }
}

// Called as methods of the SleepZero (Coroutine calls them on itself).
function startSleepZero<T>(this: SleepZero<T>, loop: BaseEventLoop): Future<T> {
  return sleepZeroFuture(loop, this._result);
}

function iterateSleepZero<T>(this: SleepZero<T>): Generator<unknown, T, unknown> {
  return sleepZero(this._result);
}

/**
 * `yield* sleep(0)` is asyncio's `__sleep0`: a bare yield, on which the task
 * reschedules its step with one `callSoon`. No future, no timer, one loop turn.
 * Cancellation still lands there: the task has no waiter, so its next step
 * throws `CancelledError` into the coroutine.
 */
function* sleepZero<T>(result: T): Generator<unknown, T, unknown> {
  yield;
  return result;
}

/**
 * `await sleep(0)` (and `runUntilComplete(sleep(0))`) needs a future the task
 * can cancel. It is set one loop turn later; if it was cancelled first, the
 * callback finds it done and does nothing, so there is no handle to cancel.
 */
function sleepZeroFuture<T>(loop: BaseEventLoop, result: T): Future<T> {
  const future = loop.createFuture<T>();
  loop.callSoon(() => {
    if (!future.done()) future.setResult(result);
  });
  return future;
}

/** The options `gather` takes as its last argument. */
export interface GatherOptions {
  /** Return exceptions in the list (in their awaitable's place) instead of rejecting with the first. */
  returnExceptions?: boolean;
}

/**
 * What awaiting `S` gives: `T` for a `Future<T>`, `Task<T>`, coroutine
 * object, `PromiseLike<T>` or generator returning `T`, and for a function
 * returning any of those (what `createTask`/`gather` accept).
 */
export type ResultOf<S> =
  S extends Generator<unknown, infer T, any>
    ? T
    : S extends PromiseLike<unknown>
      ? Awaited<S>
      : S extends (...args: never[]) => infer R
        ? ResultOf<R>
        : S;

/** `gather`'s result for awaitables `A`: a tuple of their results, in order. */
export type GatherResults<A extends readonly unknown[]> = { -readonly [K in keyof A]: ResultOf<A[K]> };

function isGatherOptions(value: unknown): value is GatherOptions {
  return (
    value !== null &&
    typeof value === 'object' &&
    !isFuture(value) &&
    typeof (value as { then?: unknown }).then !== 'function' &&
    typeof (value as { next?: unknown }).next !== 'function' &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** The future `gather` returns: cancelling it cancels every child. */
class GatheringFuture<T> extends Future<T> {
  /** @internal */ _children: Future<unknown>[];
  /** @internal */ _cancelRequested = false;

  constructor(children: Future<unknown>[], loop: BaseEventLoop) {
    super({ loop });
    this._children = children;
  }

  override cancel(message?: unknown): boolean {
    if (this.done()) return false;
    let any = false;
    for (const child of this._children) if (child.cancel(message)) any = true;
    // Even if no child could be cancelled, the outer future ends cancelled
    // once the children finish.
    if (any) this._cancelRequested = true;
    this._cancelMessage = message;
    return any;
  }
}

/**
 * Run awaitables concurrently; the result is the list of their results in
 * order. The first exception is propagated at once (the others keep
 * running), unless `{ returnExceptions: true }` is passed as the last
 * argument, in which case exceptions are returned in the list.
 *
 * The result is typed as a tuple of the awaitables' results
 * (`const [a, b] = await gather(sleep(0.1, 'a'), numberTask)` gives a
 * string and a number); with `returnExceptions: true`, each place may hold
 * whatever was thrown, so it is `unknown` until checked.
 */
export function gather<A extends readonly CoroutineSource<unknown>[]>(...items: A): Future<GatherResults<A>>;
export function gather<A extends readonly CoroutineSource<unknown>[]>(...items: [...A, GatherOptions & { returnExceptions?: false }]): Future<GatherResults<A>>;
export function gather<A extends readonly CoroutineSource<unknown>[]>(...items: [...A, GatherOptions]): Future<{ -readonly [K in keyof A]: unknown }>;
export function gather<T extends unknown[] = unknown[]>(...items: Array<CoroutineSource<unknown> | GatherOptions>): Future<T>;
export function gather<T extends unknown[] = unknown[]>(...items: Array<CoroutineSource<unknown> | GatherOptions>): Future<T> {
  let options: GatherOptions = {};
  if (items.length > 0 && isGatherOptions(items[items.length - 1])) options = items.pop() as GatherOptions;
  const returnExceptions = Boolean(options.returnExceptions);
  if (items.length === 0) {
    const loop = getEventLoop() as BaseEventLoop;
    const outer = loop.createFuture<T>();
    outer.setResult([] as unknown as T);
    return outer;
  }
  const seen = new Map<unknown, Future<unknown>>();
  const children: Future<unknown>[] = [];
  let loop: BaseEventLoop | undefined;
  for (const item of items) {
    let child = seen.get(item);
    if (child === undefined) {
      child = ensureFuture(item as CoroutineSource<unknown>, loop === undefined ? {} : { loop });
      loop ??= child.getLoop();
      seen.set(item, child);
    }
    children.push(child);
  }
  const outer = new GatheringFuture<T>(children, loop!);
  const unique = new Set(children);
  let finished = 0;
  const onChildDone = (child: Future<unknown>) => {
    finished++;
    if (outer.done()) {
      if (!child.cancelled()) child.exception();
      return;
    }
    if (!returnExceptions) {
      if (child.cancelled()) {
        outer.setException(child._makeCancelledError());
        return;
      }
      const error = child.exception();
      if (error !== null) {
        outer.setException(error);
        return;
      }
    }
    if (finished === unique.size) {
      const results = children.map((each) => {
        if (each.cancelled()) return each._makeCancelledError();
        const error = each.exception();
        return error !== null ? error : each.result();
      });
      if (outer._cancelRequested) outer.setException(outer._makeCancelledError());
      else outer.setResult(results as unknown as T);
    }
  };
  for (const child of unique) child.addDoneCallback(onChildDone);
  return outer;
}

/**
 * Wait for an awaitable with a timeout (seconds; null waits forever). On
 * timeout the awaitable is cancelled, waited for, and `TimeoutError` thrown.
 * If `waitFor` itself is cancelled, so is the awaitable.
 *
 * Pass a function (`waitFor(() => work(), 1)`) rather than a Promise you
 * already started, so the task can follow its awaits. An async function
 * awaiting a foreign Promise (a Node timer, `fetch`) sees the cancellation
 * only when that Promise settles, so the `TimeoutError` comes then: wrap the
 * Promise with `ensureFuture` and abort the Node operation (its
 * `AbortSignal`) when that future is cancelled (docs/guide.md shows how).
 */
export function waitFor<T>(awaitable: CoroutineSource<T>, timeout: number | null): Coroutine<T> {
  const seconds = checkDelay(timeout, 'timeout');
  return new Coroutine('waitFor', (loop) => loop.createTask<T>(waitForSteps(awaitable, seconds, loop), { name: 'waitFor' }));
}

function* waitForSteps<T>(awaitable: CoroutineSource<T>, timeout: number | null, loop: BaseEventLoop): Generator<unknown, T, unknown> {
  const inner = ensureFuture(awaitable, { loop }) as Future<T>;
  if (timeout === null) return (yield* inner) as T;
  if (timeout <= 0) {
    if (inner.done()) return inner.result() as T;
    yield* cancelAndWait(inner);
    if (!inner.cancelled()) return inner.result() as T;
    throw new TimeoutError(`timed out after ${timeout} s`);
  }
  const waiter = loop.createFuture<void>();
  const release = () => {
    if (!waiter.done()) waiter.setResult(undefined);
  };
  const timer = loop.callLater(timeout, release);
  inner.addDoneCallback(release);
  try {
    try {
      yield* waiter;
    } catch (error) {
      if (CancelledError.isInstance(error)) {
        if (inner.done()) return inner.result() as T;
        inner.removeDoneCallback(release);
        yield* cancelAndWait(inner);
        throw error;
      }
      throw error;
    }
    if (inner.done()) return inner.result() as T;
    inner.removeDoneCallback(release);
    yield* cancelAndWait(inner);
    // The awaitable may have swallowed the cancellation and finished.
    if (!inner.cancelled()) return inner.result() as T;
    throw new TimeoutError(`timed out after ${timeout} s`);
  } finally {
    timer.cancel();
  }
}

function* cancelAndWait(future: Future<any>): Generator<unknown, void, unknown> {
  const waiter = future.getLoop().createFuture<void>();
  const done = () => {
    if (!waiter.done()) waiter.setResult(undefined);
  };
  future.addDoneCallback(done);
  try {
    future.cancel();
    // Wait even if we are cancelled meanwhile: the inner future must finish first.
    for (;;) {
      try {
        yield* waiter;
        return;
      } catch (error) {
        if (!CancelledError.isInstance(error) || waiter.done()) throw error;
      }
    }
  } finally {
    future.removeDoneCallback(done);
  }
}

export const FIRST_COMPLETED = 'FIRST_COMPLETED';
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
export const ALL_COMPLETED = 'ALL_COMPLETED';
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/**
 * Wait for futures/tasks until `returnWhen`; resolves to `[done, pending]`
 * sets. Never throws their exceptions and never cancels them on timeout.
 */
export function wait<T>(
  futures: Iterable<Future<T> | CoroutineSource<T>>,
  options: { timeout?: number | null; returnWhen?: ReturnWhen } = {},
): Coroutine<[Set<Future<T>>, Set<Future<T>>]> {
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw new RangeError(`Invalid returnWhen value: ${String(returnWhen)}`);
  }
  const timeout = checkDelay(options.timeout, 'timeout');
  const items = [...futures];
  if (items.length === 0) throw new RangeError('Set of Tasks/Futures is empty.');
  return new Coroutine('wait', (loop) => {
    const all = new Set<Future<T>>(items.map((item) => ensureFuture(item as CoroutineSource<T>, { loop })));
    return loop.createTask(waitSteps(all, timeout, returnWhen, loop), { name: 'wait' });
  });
}

function* waitSteps<T>(
  all: Set<Future<T>>,
  timeout: number | null,
  returnWhen: ReturnWhen,
  loop: BaseEventLoop,
): Generator<unknown, [Set<Future<T>>, Set<Future<T>>], unknown> {
  const waiter = loop.createFuture<void>();
  let remaining = all.size;
  const release = () => {
    if (!waiter.done()) waiter.setResult(undefined);
  };
  const timer = timeout === null ? null : loop.callLater(timeout, release);
  const onDone = (future: Future<T>) => {
    remaining--;
    if (
      remaining <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !future.cancelled() && future.exception() !== null)
    ) {
      release();
    }
  };
  const alreadyDone = [...all].filter((future) => future.done());
  const satisfied =
    alreadyDone.length === all.size ||
    (returnWhen === FIRST_COMPLETED && alreadyDone.length > 0) ||
    (returnWhen === FIRST_EXCEPTION && alreadyDone.some((future) => !future.cancelled() && future.exception() !== null));
  if (!satisfied) {
    remaining = all.size - alreadyDone.length;
    for (const future of all) if (!future.done()) future.addDoneCallback(onDone);
    try {
      yield* waiter;
    } finally {
      timer?.cancel();
      for (const future of all) future.removeDoneCallback(onDone);
    }
  } else {
    timer?.cancel();
  }
  const done = new Set<Future<T>>();
  const pending = new Set<Future<T>>();
  for (const future of all) (future.done() ? done : pending).add(future);
  return [done, pending];
}

/**
 * Protect an awaitable from cancellation: cancelling the returned future
 * does not cancel the inner one.
 */
export function shield<T>(awaitable: CoroutineSource<T>): Future<T> {
  const inner = ensureFuture(awaitable);
  if (inner.done()) return inner;
  const loop = inner.getLoop();
  const outer = loop.createFuture<T>();
  const innerDone = (done: Future<T>) => {
    if (outer.cancelled()) {
      if (!done.cancelled()) done.exception();
      return;
    }
    if (done.cancelled()) outer.cancel();
    else {
      const error = done.exception();
      if (error !== null) outer.setException(error);
      else outer.setResult(done.result());
    }
  };
  const outerDone = () => {
    if (!inner.done()) inner.removeDoneCallback(innerDone);
  };
  inner.addDoneCallback(innerDone);
  outer.addDoneCallback(outerDone);
  return outer;
}

export { Task };
