import { CancelledError, InvalidStateError, RuntimeError, type CoroutineSource } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { Future, isFuture, promiseWithResolvers, taskContext } from './future.js';
import { getRunningLoop } from '../loop/running-loop.js';
import { state } from '../loop/thread-state.js';
import { Coroutine, isCoroutineObject } from './coroutine.js';
import { Handle, OneArgHandle, resumeSleep } from '../loop/handles.js';
import { abortReason, isAbortBy } from './abort.js';
import { logger } from '../loop/logger.js';

let taskCounter = 0;

/** A generator object (the coroutine of a generator function). */
export function isGenerator(value: unknown): value is Generator<unknown, unknown, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Generator).next === 'function' &&
    typeof (value as Generator).throw === 'function' &&
    typeof (value as Generator)[Symbol.iterator] === 'function'
  );
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** True for what a task can run: a future, a generator coroutine, a thenable, or a function returning one. */
export function isCoroutineSource(value: unknown): boolean {
  return typeof value === 'function' || isGenerator(value) || isThenable(value);
}

const NO_VALUE = Symbol('no value');

export interface TaskOptions {
  loop?: BaseEventLoop;
  name?: string;
  /**
   * Run the first step now, inside the constructor, when the loop is running
   * (asyncio's `eager_start`): a coroutine that finishes without waiting is
   * done before `createTask` returns and never goes through the ready queue.
   */
  eagerStart?: boolean;
}

/**
 * asyncio's `Task`: runs a coroutine on the loop.
 *
 * - A generator coroutine is stepped by the task: it yields futures (through
 *   `yield* fut`, or `yield fut`, which sends the result back), a Promise, a
 *   generator (run as a sub-task), or nothing (`yield;` gives the loop one
 *   turn). `cancel()` throws `CancelledError` at the suspension point; the
 *   coroutine may catch it, clean up, and even refuse it.
 * - A function is called inside the task, so an async function is tracked
 *   across its `await`s: `currentTask()` works in it, and `cancel()` cancels
 *   the evloop future it awaits, which throws `CancelledError` at that
 *   `await`. If it is awaiting a foreign Promise, the cancellation is
 *   delivered at its next await of an evloop future, or, if it returns
 *   first, the task ends cancelled.
 * - A Promise that is already running cannot be reached: cancelling its
 *   task marks the task cancelled and ignores the Promise's outcome (in
 *   debug mode with a warning naming the task and where it was made). Pass a
 *   function (`() => main()`) to get real cancellation.
 */
export class Task<T = unknown> extends Future<T> {
  /** @internal */ _coroutine: Generator<unknown, T, unknown> | null = null;
  /** @internal */ _starter: (() => unknown) | null = null;
  /** @internal */ _promise: PromiseLike<unknown> | null = null;
  /** @internal */ _waiter: Future<unknown> | null = null;
  /** @internal */ _mustCancel = false;
  /** @internal */ _cancelRequests = 0;
  /** @internal */ _name: string;
  /** @internal */ readonly _stepBound: () => void;
  /** @internal The handle that runs `_stepBound`, reused for every bare-yield step (at most one is queued). */
  /** @internal */ readonly _stepHandle: Handle;
  /** @internal */ readonly _wakeupBound: (future: Future<unknown>) => void;
  /** @internal The task that was running when this one was made (until this one is done): the task tree's parent. */
  /** @internal */ _parent: Task<unknown> | null;
  /** @internal Made on first use of `signal`. */
  /** @internal */ _abortController: AbortController | null = null;
  /** @internal Whether a `sleep(0)` of this async-function task is waiting for its loop turn (see `_sleepZero`). */
  /** @internal */ _sleeping = false;
  /** @internal That sleep's result and the resolvers of its Promise. */
  /** @internal */ _sleepValue: unknown = undefined;
  /** @internal */ _sleepPromise: Promise<unknown> | null = null;
  /** @internal */ _sleepResolve: ((value: unknown) => void) | null = null;
  /** @internal */ _sleepReject: ((reason: unknown) => void) | null = null;
  /** @internal The handle that runs `_resumeSleep`, made on the first `sleep(0)` and reused. */
  /** @internal */ _resumeHandle: Handle | null = null;
  /**
   * @internal The future of this task's pending native await (`_awaitNatively`); its Promise and
   * resolvers are in the `_sleep*` fields, which a sleep(0) cannot be using meanwhile.
   */
  /** @internal */ _awaitFuture: Future<unknown> | null = null;
  /** @internal The done callback that settles that Promise, made on first use and reused. */
  /** @internal */ _settleAwaitBound: (() => void) | null = null;

  constructor(coroutine: CoroutineSource<T>, options: TaskOptions = {}) {
    super(options.loop === undefined ? {} : { loop: options.loop });
    let started: Future<unknown> | undefined;
    if (isCoroutineObject(coroutine)) {
      const lazy = coroutine;
      this._starter = () => lazy._bind(this._loop);
    } else if (typeof coroutine === 'function') this._starter = coroutine as () => unknown;
    else if (isGenerator(coroutine)) this._coroutine = coroutine as Generator<unknown, T, unknown>;
    else if (isThenable(coroutine) && (started = futureOfPromise(coroutine)) !== undefined) {
      // A read or drain started natively in an async-function task: follow its future, so cancel() reaches it.
      const future = started;
      this._starter = () => future;
    } else if (isThenable(coroutine)) {
      // Follow it at once, so a Promise that is already rejected is handled
      // here and never reported as an unhandled rejection.
      this._promise = coroutine;
      coroutine.then(
        (value) => this._settle(true, value),
        (error) => this._settle(false, error),
      );
    }
    else throw new TypeError(`a coroutine was expected, got ${describe(coroutine)}`);
    this._name = options.name ?? `Task-${++taskCounter}`;
    this._stepBound = () => this._step(NO_VALUE, undefined);
    this._wakeupBound = (future) => this._wakeup(future);
    this._stepHandle = new Handle(this._stepBound, null, this._loop);
    this._parent = currentTask(this._loop);
    if (options.eagerStart === true && this._loop.isRunning()) {
      // asyncio's eager start: the first step runs now, inside the caller;
      // a coroutine that finishes without blocking is never scheduled.
      this._loop._checkClosed();
      pendingTasks(this._loop).add(this as Task<unknown>);
      this._step(NO_VALUE, undefined);
      return;
    }
    this._loop._callSoonHandle(this._stepHandle);
    pendingTasks(this._loop).add(this as Task<unknown>);
  }

  getName(): string {
    return this._name;
  }

  setName(name: string): void {
    this._name = String(name);
  }

  getCoro(): Generator<unknown, T, unknown> | PromiseLike<unknown> | (() => unknown) | null {
    return this._coroutine ?? this._promise ?? this._starter;
  }

  /**
   * An `AbortSignal` that aborts when this task is first asked to cancel
   * (its reason is the `CancelledError`), or at once if it already was or is
   * cancelled. Hand it to what Node runs for the task (`fetch`, `fs`,
   * `timers/promises`, `child_process`) so that stops with the task: an
   * async-function task awaiting such a Promise then ends cancelled. A
   * signal cannot be un-aborted: a task that refuses its cancellation, or
   * takes it back with `uncancel()`, keeps an aborted signal.
   */
  get signal(): AbortSignal {
    if (this._abortController === null) {
      this._abortController = new AbortController();
      if (this._cancelRequests > 0 || this.cancelled()) this._abortController.abort(abortReason(this._cancelMessage));
    }
    return this._abortController.signal;
  }

  /** How many cancellation requests are pending (asyncio's `cancelling()`). */
  cancelling(): number {
    return this._cancelRequests;
  }

  /**
   * Take back one cancellation request (asyncio's `uncancel()`); returns how
   * many are left. When none is left, a cancellation not yet delivered is
   * dropped (as Python 3.13 does), so a task that caught its timeout can go on.
   */
  uncancel(): number {
    if (this._cancelRequests > 0) {
      this._cancelRequests--;
      if (this._cancelRequests === 0) this._mustCancel = false;
    }
    return this._cancelRequests;
  }

  override cancel(message?: unknown): boolean {
    this._logTraceback = false;
    if (this.done()) return false;
    this._cancelRequests++;
    if (this._abortController !== null && !this._abortController.signal.aborted) this._abortController.abort(abortReason(message));
    if (this._waiter !== null && this._waiter.cancel(message)) {
      // The wake-up will throw CancelledError into the coroutine.
      return true;
    }
    this._mustCancel = true;
    this._cancelMessage = message;
    if (this._promise !== null && this._coroutine === null) {
      // A Promise-based task with no evloop future to cancel: if it runs
      // outside our reach, end the task now.
      if (this._starter === null && this._cancelRequests === 1) {
        if (this._loop.getDebug()) this._warnUnreachable();
        this._loop.callSoon(() => this._finishCancelled());
      }
    }
    return true;
  }

  /**
   * `await using task = loop.createTask(...)` (TypeScript 5.2+, or Node
   * with explicit resource management): leaving the block cancels the task if
   * it is still running and waits for it to finish; its outcome is not
   * re-thrown (read it with `result()` inside the block when it matters).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.done()) {
      if (!this.cancelled()) this.exception();
      return;
    }
    this.cancel();
    try {
      await this;
    } catch {
      // cancelled, or failed while cancelling: the block's own outcome wins
    }
  }

  override setResult(): never {
    throw new RuntimeError('Task does not support setResult()');
  }

  override setException(): never {
    throw new RuntimeError('Task does not support setException()');
  }

  override toString(): string {
    return `<Task ${this._name} ${super.toString().replace(/^<\w+ /, '').replace(/>$/, '')}>`;
  }

  /** @internal */
  override _kind(): string {
    return 'Task';
  }

  /**
   * @internal Debug mode: a task made from a Promise that was already running
   * (`createTask(worker())`) is cancelled. The task ends cancelled, but the
   * async function behind the Promise cannot be interrupted and runs on.
   */
  _warnUnreachable(): void {
    const where = this._sourceTraceback === undefined ? '' : `\nTask created at:\n${this._sourceTraceback}`;
    logger.warning(
      `${this.toString()} was cancelled while the Promise it follows is still pending: the Promise was already ` +
        'running when the task was made (createTask(worker()) rather than createTask(() => worker())), so the work ' +
        `behind it goes on unseen; pass the function to make it cancellable${where}`,
    );
  }

  /** @internal Called by `Future.then` while this task's async function awaits `future`. */
  _awaiting(future: Future<unknown>): void {
    if (this.done()) return;
    if (this._mustCancel) {
      this._mustCancel = false;
      future.cancel(this._cancelMessage);
      return;
    }
    this._waiter = future;
  }

  /** @internal Called by `Future.then`'s done callback when `future` is done. */
  _awaited(future: Future<unknown>): void {
    if (this._waiter === future) this._waiter = null;
  }

  /**
   * @internal `sleep(0)` called in this task's async function: a native
   * Promise, scheduled now, that this task's resume handle settles one loop
   * turn later (one handle, reused). `await` of a native Promise is V8's
   * fast path: no thenable job, no resolving functions. A cancellation that
   * arrives meanwhile has no waiter to cancel, so it sets `_mustCancel` and
   * `_resumeSleep` rejects the Promise with `CancelledError` instead: the
   * await throws it, as asyncio's `__sleep0` does.
   */
  _sleepZero(value: unknown): Promise<unknown> {
    const { promise, resolve, reject } = promiseWithResolvers<unknown>();
    this._sleeping = true;
    this._sleepValue = value;
    this._sleepPromise = promise;
    this._sleepResolve = resolve;
    this._sleepReject = reject;
    let handle = this._resumeHandle;
    if (handle === null) handle = this._resumeHandle = new OneArgHandle(resumeSleep, this, this._loop);
    this._loop._callSoonHandle(handle);
    return promise;
  }

  /**
   * @internal `await future` in this task's async function, as a native
   * Promise that V8 awaits on its fast path (no `PromiseResolveThenableJob`,
   * no resolving functions, no `then` call). The task waits on `future` as
   * through `Future.then`: `cancel()` cancels it, a cancellation already
   * pending cancels it now, and the Promise settles a loop turn after the
   * future. A rejection is marked handled, so a Promise made but never
   * awaited cannot become an unhandled rejection. Called only when
   * `sleepingTask()` gave this task (so nothing else is pending here).
   */
  _awaitNatively<T>(future: Future<T>): Promise<T> {
    if (future.done()) {
      if (!future.cancelled() && future.exception() === null) return Promise.resolve(future.result());
      const failed = future._settledPromise();
      failed.then(undefined, ignore);
      return failed;
    }
    const { promise, resolve, reject } = promiseWithResolvers<unknown>();
    this._sleepPromise = promise;
    this._sleepResolve = resolve;
    this._sleepReject = reject;
    this._awaitFuture = future as Future<unknown>;
    (promise as unknown as Record<symbol, unknown>)[STARTED_BY] = this;
    let settle = this._settleAwaitBound;
    if (settle === null) settle = this._settleAwaitBound = () => this._settleAwait();
    future._addDoneCallback(settle);
    this._awaiting(future as Future<unknown>);
    return promise as Promise<T>;
  }

  /** @internal The done callback of `_awaitNatively`'s future: settle its Promise. */
  _settleAwait(): void {
    const future = this._awaitFuture!;
    const promise = this._sleepPromise!;
    const resolve = this._sleepResolve!;
    const reject = this._sleepReject!;
    this._awaitFuture = null;
    this._sleepPromise = null;
    this._sleepResolve = this._sleepReject = null;
    this._awaited(future);
    let value: unknown;
    try {
      value = future.result();
    } catch (error) {
      promise.then(undefined, ignore);
      reject(error);
      return;
    }
    resolve(value);
  }

  /** @internal The loop turn after `sleep(0)`: resume the async function, or throw its pending cancellation in. */
  _resumeSleep(): void {
    if (!this._sleeping) return;
    const value = this._sleepValue;
    const promise = this._sleepPromise!;
    const resolve = this._sleepResolve!;
    const reject = this._sleepReject!;
    this._sleeping = false;
    this._sleepValue = undefined;
    this._sleepPromise = null;
    this._sleepResolve = this._sleepReject = null;
    if (this._mustCancel && !this.done()) {
      this._mustCancel = false;
      // A `sleep(0)` that was called but never awaited must not become an
      // unhandled rejection; one that is awaited still throws.
      promise.then(undefined, ignore);
      reject(this._makeCancelledError());
    } else {
      resolve(value);
    }
  }

  /** @internal */
  _finishCancelled(): void {
    if (!this.done()) {
      this._mustCancel = false;
      this._complete(() => Future.prototype.cancel.call(this, this._cancelMessage));
    }
  }

  /** @internal */
  _complete(action: () => void): void {
    this._parent = null;
    action();
    pendingTasks(this._loop).delete(this as Task<unknown>);
  }

  /** @internal One step of the coroutine: send a value or throw an exception into it. */
  _step(error: unknown, value: unknown): void {
    // A Promise-based task may settle before its first step.
    if (this.done() && this._coroutine === null && this._starter === null) return;
    if (this.done()) throw new InvalidStateError(`_step(): already done: ${this.toString()}`);
    if (this._mustCancel) {
      if (!CancelledError.isInstance(error)) error = this._makeCancelledError();
      this._mustCancel = false;
    }
    this._waiter = null;
    const loop = this._loop;
    const previous = loop._enterTask(this as Task<unknown>);
    try {
      if (this._coroutine !== null) this._stepGenerator(error, value);
      else if (error !== NO_VALUE) this._settle(false, error);
      else this._start();
    } finally {
      loop._leaveTask(previous);
    }
  }

  /** @internal */
  _stepGenerator(error: unknown, value: unknown): void {
    const coroutine = this._coroutine!;
    let result: IteratorResult<unknown, T>;
    try {
      result = error === NO_VALUE ? coroutine.next(value) : coroutine.throw(error);
    } catch (thrown) {
      if (CancelledError.isInstance(thrown)) {
        this._complete(() => Future.prototype.cancel.call(this, (thrown as Error).message || this._cancelMessage));
      } else {
        this._complete(() => Future.prototype.setException.call(this, thrown));
      }
      return;
    }
    if (result.done) {
      if (this._mustCancel) {
        this._mustCancel = false;
        this._complete(() => Future.prototype.cancel.call(this, this._cancelMessage));
      } else {
        this._complete(() => Future.prototype.setResult.call(this, result.value));
      }
      return;
    }
    this._handleYield(result.value);
  }

  /** @internal */
  _handleYield(yielded: unknown): void {
    const loop = this._loop;
    let future: Future<unknown> | null = null;
    if (isFuture(yielded)) {
      future = yielded;
    } else if (isCoroutineObject(yielded)) {
      future = yielded._bind(loop);
    } else if (yielded === undefined || yielded === null) {
      // A bare `yield`: give the loop one turn, as asyncio's sleep(0).
      loop._callSoonHandle(this._stepHandle);
      return;
    } else if (isGenerator(yielded)) {
      future = new Task(yielded, { loop });
    } else if (isThenable(yielded)) {
      future = wrapThenable(yielded, loop);
    } else {
      const bad = new RuntimeError(`Task got bad yield: ${describe(yielded)}`);
      loop.callSoon(() => this._step(bad, undefined));
      return;
    }
    if (future.getLoop() !== loop) {
      const bad = new RuntimeError(`Task ${this._name} got Future ${future.toString()} attached to a different loop`);
      loop.callSoon(() => this._step(bad, undefined));
      return;
    }
    if (future === (this as unknown)) {
      const bad = new RuntimeError(`Task cannot await on itself: ${this.toString()}`);
      loop.callSoon(() => this._step(bad, undefined));
      return;
    }
    future._blocking = false;
    future.addDoneCallback(this._wakeupBound);
    this._waiter = future;
    if (this._mustCancel && future.cancel(this._cancelMessage)) this._mustCancel = false;
  }

  /** @internal */
  _wakeup(future: Future<unknown>): void {
    let value: unknown;
    try {
      value = future.result();
    } catch (error) {
      this._step(error, undefined);
      return;
    }
    this._step(NO_VALUE, value);
  }

  /** @internal First step of a function- or Promise-based task. */
  _start(): void {
    // A Promise-based task already follows its Promise (see the constructor).
    if (this._starter === null) return;
    let outcome: unknown;
    try {
      outcome = taskContext.run(this, this._starter);
    } catch (error) {
      this._settle(false, error);
      return;
    }
    if (isGenerator(outcome)) {
      this._coroutine = outcome as Generator<unknown, T, unknown>;
      this._stepGenerator(NO_VALUE, undefined);
      return;
    }
    // A coroutine object (sleep(), reader.read()) runs on this task's loop, as a future cancel() can reach.
    if (isCoroutineObject(outcome)) outcome = outcome._bind(this._loop);
    else outcome = futureOfPromise(outcome) ?? outcome;
    if (isFuture(outcome)) {
      // Follow an evloop future directly, so cancel() can reach it.
      const future = outcome;
      this._waiter = future;
      future.addDoneCallback(() => {
        if (this._waiter === future) this._waiter = null;
        if (future.cancelled()) this._settle(false, future._makeCancelledError());
        else {
          const error = future.exception();
          this._settle(error === null, error === null ? future.result() : error);
        }
      });
      if (this._mustCancel && future.cancel(this._cancelMessage)) this._mustCancel = false;
      return;
    }
    if (!isThenable(outcome)) {
      this._settle(true, outcome);
      return;
    }
    this._promise = outcome;
    outcome.then(
      (value) => this._settle(true, value),
      (error) => this._settle(false, error),
    );
  }

  /** @internal */
  _settle(ok: boolean, value: unknown): void {
    if (this.done()) return;
    if (!ok && this._mustCancel && this._abortController !== null && isAbortBy(value, this._abortController.signal)) {
      // What Node ran with this task's signal stopped because the task was cancelled.
      this._mustCancel = false;
      this._complete(() => Future.prototype.cancel.call(this, this._cancelMessage));
    } else if (!ok && CancelledError.isInstance(value)) {
      this._complete(() => Future.prototype.cancel.call(this, (value as Error).message || this._cancelMessage));
    } else if (!ok) {
      // As a generator task: an error the coroutine throws wins over a
      // cancellation it has not seen (a TaskGroup re-cancels its parent
      // just before throwing its ExceptionGroup).
      this._complete(() => Future.prototype.setException.call(this, value));
    } else if (this._mustCancel) {
      this._mustCancel = false;
      this._complete(() => Future.prototype.cancel.call(this, this._cancelMessage));
    } else {
      this._complete(() => Future.prototype.setResult.call(this, value));
    }
  }
}

/**
 * The async-function task a `sleep(0)`, a stream read or `drain()` is
 * called in, when it can return a native Promise (`Task._sleepZero`,
 * `startAwaitable`): a task of the running loop, not
 * done, waiting on nothing else, with no generator task stepping in between
 * (a generator's `yield* sleep(0)` needs the coroutine object). Otherwise null.
 */
export function sleepingTask(): Task<unknown> | null {
  const store = taskContext.getStore();
  if (!(store instanceof Task)) return null;
  const task = store as Task<unknown>;
  if (task._sleeping || task._waiter !== null || task._awaitFuture !== null || task.done() || task._coroutine !== null) return null;
  const loop = task._loop;
  // A loop runs only in its own thread, so `_running` says it is this thread's running loop.
  if (!loop._running || loop._debug) return null;
  const stepping = loop._steppingTask();
  if (stepping !== null && stepping !== task) return null;
  return task;
}

/**
 * @internal What a stream read or `drain()` returns. Called in an
 * async-function task (`await reader.read(n)`), the operation starts now on
 * the task's loop and is a native Promise of its future (`Task._awaitNatively`):
 * V8 awaits it without the thenable's extra job, Promise and resolving
 * functions, and the task can cancel the future as before. Anywhere else
 * (a generator's `yield*`, outside a task, debug mode, or while the task
 * already waits on something), it is the lazy coroutine it always was.
 */
export function startAwaitable<T>(name: string, start: (loop: BaseEventLoop) => Future<T>): Coroutine<T> {
  const task = sleepingTask();
  if (task === null) return new Coroutine<T>(name, start);
  return task._awaitNatively(start(task._loop)) as unknown as Coroutine<T>;
}

/** @internal On a Promise from `Task._awaitNatively`: the task that made it. */
const STARTED_BY = Symbol('evloop.startedBy');

/**
 * @internal The future behind `value` when it is a pending Promise of a
 * native await (`Task._awaitNatively`): `createTask`, `ensureFuture`,
 * `waitFor` and a generator's `yield` given that Promise follow the future
 * itself, so they can cancel it. The task that made the Promise stops
 * waiting on it (its own `cancel()` no longer reaches the read it handed on).
 */
export function futureOfPromise(value: unknown): Future<unknown> | undefined {
  if (!(value instanceof Promise)) return undefined;
  const task = (value as unknown as Record<symbol, Task<unknown> | undefined>)[STARTED_BY];
  if (task === undefined || task._sleepPromise !== value || task._awaitFuture === null) return undefined;
  const future = task._awaitFuture;
  if (task._waiter === future) task._waiter = null;
  return future;
}

function ignore(): void {}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}

function pendingTasks(loop: BaseEventLoop): Set<Task<unknown>> {
  const map = state().pendingTasks;
  let set = map.get(loop);
  if (set === undefined) {
    set = new Set();
    map.set(loop, set);
  }
  return set as Set<Task<unknown>>;
}

/** A future that follows a Promise (the Promise itself cannot be cancelled). */
export function wrapThenable<T>(thenable: PromiseLike<T>, loop: BaseEventLoop): Future<T> {
  const started = futureOfPromise(thenable);
  if (started !== undefined && started._loop === loop) return started as Future<T>;
  const future = new Future<T>({ loop });
  thenable.then(
    (value) => {
      if (!future.done() && !loop.isClosed()) future.setResult(value);
    },
    (error) => {
      if (!future.done() && !loop.isClosed()) future.setException(error);
    },
  );
  return future;
}

/** The task running now on `loop` (default: the running loop), or null. */
export function currentTask(loop?: BaseEventLoop): Task<unknown> | null {
  const target = loop ?? (getRunningLoop() as BaseEventLoop);
  const stepping = target._steppingTask();
  if (stepping !== null) return stepping;
  const store = taskContext.getStore();
  if (store instanceof Task && store._loop === target && !store.done()) return store;
  return null;
}

/** The tasks of `loop` (default: the running loop) that are not done. */
export function allTasks(loop?: BaseEventLoop): Set<Task<unknown>> {
  const target = loop ?? (getRunningLoop() as BaseEventLoop);
  return new Set([...pendingTasks(target)].filter((task) => !task.done()));
}
