import { AsyncLocalStorage } from 'node:async_hooks';
// The module's namespace, not a named import: Deno's `node:v8` has no
// `promiseHooks`, and a named import of it would fail to link there.
import * as v8 from 'node:v8';
import { CancelledError, InvalidStateError, RuntimeError, type ExceptionContext, type FutureLike } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { getEventLoop, registerTaskLoopLookup } from '../loop/running-loop.js';

const PENDING = 0;
const CANCELLED = 1;
const FINISHED = 2;
const STATE_NAMES = ['PENDING', 'CANCELLED', 'FINISHED'] as const;
/**
 * The done-callback list of a future that has none: shared, never written
 * (frozen, so a push would throw rather than reach every future). Most
 * futures get one callback; `[callback]` is a one-slot array where `[]`
 * and a push would reserve seventeen.
 */
const NO_CALLBACKS: Array<(future: any) => void> = Object.freeze([]) as unknown as Array<(future: any) => void>;

/** Marks evloop futures so `isFuture` holds across duplicated installs. */
export const FUTURE_TAG = Symbol.for('evloop.future');

type TaskLike = { _awaiting(future: Future<unknown>): void; _awaited(future: Future<unknown>): void; done(): boolean; _loop: BaseEventLoop };

/** @internal What `taskContext` needs of an `AsyncLocalStorage`. */
export interface TaskContext<T> {
  getStore(): T | undefined;
  run<R>(store: T, callback: () => R): R;
}

/**
 * @internal Whether `AsyncLocalStorage` runs on V8's continuation data
 * (AsyncContextFrame: the default from Node 24, a flag on Node 22/23),
 * where it costs nothing per Promise. Without it, every Promise made inside
 * a `run` goes through Node's async hooks.
 */
export function hasAsyncContextFrame(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (flags.includes('--no-async-context-frame')) return false;
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 24 || flags.includes('--experimental-async-context-frame');
}

const CONTEXT = Symbol('evloop.taskContext');

/**
 * @internal The task context on V8's promise hooks, for Nodes without
 * AsyncContextFrame: a Promise made while a store is current remembers it,
 * and the store is current again while that Promise's reactions run (an
 * async function's continuation after `await` is one). That is one property
 * and three short calls per Promise, against the several property writes
 * and the async-id stack of Node's async hooks behind `AsyncLocalStorage`.
 * Unlike `AsyncLocalStorage` it does not follow Node's callback APIs
 * (`setTimeout`, emitters, `queueMicrotask`): their callbacks run outside
 * any task, as loop callbacks do. The hooks are installed on first `run`.
 */
export class PromiseHookContext<T> implements TaskContext<T> {
  #current: T | undefined = undefined;
  readonly #saved: Array<T | undefined> = [];
  #installed = false;

  getStore(): T | undefined {
    return this.#current;
  }

  run<R>(store: T, callback: () => R): R {
    if (!this.#installed) this.#install();
    const previous = this.#current;
    this.#current = store;
    try {
      return callback();
    } finally {
      this.#current = previous;
    }
  }

  #install(): void {
    this.#installed = true;
    const saved = this.#saved;
    v8.promiseHooks.createHook({
      init: (promise: Promise<unknown>) => {
        const current = this.#current;
        if (current !== undefined) (promise as unknown as Record<symbol, unknown>)[CONTEXT] = current;
      },
      before: (promise: Promise<unknown>) => {
        saved.push(this.#current);
        this.#current = (promise as unknown as Record<symbol, T | undefined>)[CONTEXT];
      },
      after: () => {
        this.#current = saved.pop();
      },
    });
  }
}

function makeTaskContext(): TaskContext<TaskLike> {
  const choice = process.env.EVLOOP_TASK_CONTEXT;
  if (choice === 'hooks' || (choice !== 'als' && !hasAsyncContextFrame() && typeof (v8 as Partial<typeof v8>).promiseHooks?.createHook === 'function')) {
    return new PromiseHookContext<TaskLike>();
  }
  return new AsyncLocalStorage<TaskLike>();
}

/**
 * The task an async function runs in, carried across its `await`s. Only
 * tasks made from a function use it, so programs that never do pay nothing.
 * @internal
 */
export const taskContext: TaskContext<TaskLike> = makeTaskContext();

registerTaskLoopLookup(() => {
  const task = taskContext.getStore();
  return task === undefined || task.done() || task._loop.isClosed() ? null : task._loop;
});

interface Unretrieved {
  loop: BaseEventLoop;
  exception: unknown;
  message: string;
  sourceTraceback: string | undefined;
}

/**
 * An exception set on a future that nobody retrieves goes to the loop's
 * exception handler when the future is garbage-collected (asyncio logs it
 * from `__del__`). It never becomes an unhandled Promise rejection.
 */
const unretrieved = new FinalizationRegistry<Unretrieved>((held) => {
  const context: ExceptionContext = { message: held.message, exception: held.exception };
  if (held.sourceTraceback !== undefined) context.sourceTraceback = held.sourceTraceback;
  held.loop.callExceptionHandler(context);
});

export type DoneCallback<T> = (future: Future<T>) => void;

// A Promise executor that allocates no closure: it hands out the resolvers.
let capturedResolve: ((value: any) => void) | null = null;
let capturedReject: ((reason: unknown) => void) | null = null;
function captureResolvers(resolve: (value: any) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * @internal A Promise with its resolvers, made without a closure (Node 20
 * has no `Promise.withResolvers`).
 */
export function promiseWithResolvers<T>(): { promise: Promise<T>; resolve: (value: T | PromiseLike<T>) => void; reject: (reason: unknown) => void } {
  const promise = new Promise<T>(captureResolvers);
  const resolve = capturedResolve!;
  const reject = capturedReject!;
  capturedResolve = capturedReject = null;
  return { promise, resolve, reject };
}

/**
 * @internal Settle the Promise an awaitable's `then` returned, from a loop
 * callback: call the handler for the outcome (`ok`, `value`) and resolve
 * with what it returns, or pass the outcome through when there is none.
 * The handler runs as `task` (so `currentTask()` finds it), the task whose
 * async function called `then`, if any. For `await` the handler is the
 * engine's own resolver, which only queues the continuation.
 */
export function settleThen(
  loop: BaseEventLoop,
  task: unknown,
  ok: boolean,
  value: unknown,
  onFulfilled: unknown,
  onRejected: unknown,
  resolve: (value: any) => void,
  reject: (reason: unknown) => void,
): void {
  const handler = ok ? onFulfilled : onRejected;
  if (typeof handler !== 'function') {
    if (ok) resolve(value);
    else reject(value);
    return;
  }
  const enter = task !== undefined && (task as { _loop?: unknown })._loop === loop;
  const previous = enter ? loop._enterTask(task as never) : null;
  try {
    resolve(handler(value));
  } catch (error) {
    reject(error);
  } finally {
    if (enter) loop._leaveTask(previous);
  }
}

/** True for an evloop future (from any copy of this package). */
export function isFuture(value: unknown): value is Future<unknown> {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[FUTURE_TAG] === true;
}

/**
 * asyncio's `Future`: thenable (`await fut`) and iterable (`yield* fut` in a
 * generator coroutine). Done callbacks are always scheduled with `callSoon`.
 */
export class Future<T = unknown> implements FutureLike<T> {
  declare readonly [FUTURE_TAG]: true;
  /** @internal */ _state: number = PENDING;
  /** @internal */ _result: T | undefined = undefined;
  /** @internal */ _exception: unknown = undefined;
  /** @internal */ _hasException = false;
  /** @internal */ _loop: BaseEventLoop;
  /** @internal Done callbacks; add with `_addDoneCallback`. */
  /** @internal */ _callbacks: Array<(future: any) => void> = NO_CALLBACKS;
  /** @internal */ _cancelMessage: unknown = undefined;
  /** @internal */ _logTraceback = false;
  /** @internal asyncio's `_asyncio_future_blocking`: set while a coroutine waits on it. */
  /** @internal */ _blocking = false;
  // The two debug-mode stacks are declared, not fields: a future made
  // outside debug mode carries no slot for either (8 bytes each).
  /** @internal Debug mode: where it was made. */
  /** @internal */ declare _sourceTraceback: string | undefined;
  /** @internal Debug mode: the stack where a coroutine started waiting on this future (the task tree's await point). */
  /** @internal */ declare _awaitedFrom: string | undefined;

  constructor(options: { loop?: BaseEventLoop } = {}) {
    this._loop = options.loop ?? (getEventLoop() as BaseEventLoop);
    if (this._loop.getDebug()) this._sourceTraceback = new Error().stack?.split('\n').slice(2).join('\n');
  }

  getLoop(): BaseEventLoop {
    return this._loop;
  }

  done(): boolean {
    return this._state !== PENDING;
  }

  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /**
   * Cancel the future and schedule its callbacks. Returns false when it is
   * already done.
   */
  cancel(message?: unknown): boolean {
    this._logTraceback = false;
    if (this._state !== PENDING) return false;
    this._state = CANCELLED;
    this._cancelMessage = message;
    this._scheduleCallbacks();
    return true;
  }

  result(): T {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state !== FINISHED) throw new InvalidStateError('Result is not ready.');
    this._retrieved();
    if (this._hasException) throw this._exception;
    return this._result as T;
  }

  exception(): unknown {
    if (this._state === CANCELLED) throw this._makeCancelledError();
    if (this._state !== FINISHED) throw new InvalidStateError('Exception is not set.');
    this._retrieved();
    return this._hasException ? this._exception : null;
  }

  setResult(result: T): void {
    if (this._state !== PENDING) throw new InvalidStateError(`${STATE_NAMES[this._state]}: ${this.toString()}`);
    this._result = result;
    this._state = FINISHED;
    this._scheduleCallbacks();
  }

  setException(exception: unknown): void {
    if (this._state !== PENDING) throw new InvalidStateError(`${STATE_NAMES[this._state]}: ${this.toString()}`);
    // V8 keeps the frames of an unformatted stack, with their receivers (this
    // very task, often) alive; format it now so the registry's reference to
    // the exception does not keep the future from being collected.
    if (exception instanceof Error) void exception.stack;
    this._exception = exception;
    this._hasException = true;
    this._state = FINISHED;
    this._scheduleCallbacks();
    this._logTraceback = true;
    unretrieved.register(
      this,
      {
        loop: this._loop,
        exception,
        message: `${this._kind()} exception was never retrieved`,
        sourceTraceback: this._sourceTraceback,
      },
      this,
    );
  }

  addDoneCallback(callback: DoneCallback<T>): void {
    if (typeof callback !== 'function') throw new TypeError('callback must be a function');
    if (this._state !== PENDING) this._loop.callSoon(callback, this);
    else this._addDoneCallback(callback);
  }

  removeDoneCallback(callback: DoneCallback<T>): number {
    const callbacks = this._callbacks;
    if (callbacks.length === 0) return 0;
    const kept = callbacks.filter((entry) => entry !== callback);
    this._callbacks = kept.length === 0 ? NO_CALLBACKS : kept;
    return callbacks.length - kept.length;
  }

  /** @internal Add a done callback to a pending future (no checks). */
  _addDoneCallback(callback: (future: any) => void): void {
    const callbacks = this._callbacks;
    if (callbacks === NO_CALLBACKS) this._callbacks = [callback];
    else callbacks.push(callback);
  }

  /**
   * `await fut`. Inside a task made from an async function, this also tells
   * the task which future it waits on, so `task.cancel()` can cancel it.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this._state !== PENDING) return this._settledPromise().then(onFulfilled, onRejected);
    const task = taskContext.getStore();
    // One done callback settles the returned Promise by calling the handler
    // itself (a later loop turn, as a setImmediate-based Promise would: no
    // extra Promise and microtask hop per await) and, for a task, clears its
    // waiter; it goes in before _awaiting, which may cancel this at once.
    const { promise, resolve, reject } = promiseWithResolvers<R1 | R2>();
    this._addDoneCallback(() => {
      if (task !== undefined) task._awaited(this as Future<unknown>);
      let ok = true;
      let value: unknown;
      try {
        value = this.result();
      } catch (error) {
        ok = false;
        value = error;
      }
      settleThen(this._loop, task, ok, value, onFulfilled, onRejected, resolve, reject);
    });
    if (task !== undefined) {
      if (this._loop._debug) this._awaitedFrom = new Error().stack;
      task._awaiting(this as Future<unknown>);
    }
    return promise;
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /** `yield* fut`: suspends the generator until the future is done, then gives its result. */
  *[Symbol.iterator](): Generator<unknown, T, unknown> {
    if (this._state === PENDING) {
      this._blocking = true;
      if (this._loop._debug) this._awaitedFrom = new Error().stack;
      yield this;
    }
    if (this._state === PENDING) throw new RuntimeError('yield* was not used with a future');
    return this.result();
  }

  toString(): string {
    let detail = STATE_NAMES[this._state].toLowerCase();
    if (this._state === FINISHED) detail += this._hasException ? ` exception=${String(this._exception)}` : ` result=${String(this._result)}`;
    return `<${this.constructor.name} ${detail}>`;
  }

  /** @internal What messages call this kind of future. */
  _kind(): string {
    return 'Future';
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    return new CancelledError(this._cancelMessage === undefined ? '' : String(this._cancelMessage));
  }

  /** @internal */
  _settledPromise(): Promise<T> {
    try {
      return Promise.resolve(this.result());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal */
  _retrieved(): void {
    if (this._logTraceback) {
      this._logTraceback = false;
      unretrieved.unregister(this);
    }
  }

  /** @internal */
  _scheduleCallbacks(): void {
    const callbacks = this._callbacks;
    if (callbacks.length === 0) return;
    this._callbacks = NO_CALLBACKS;
    for (const callback of callbacks) this._loop.callSoon(callback, this);
  }
}
Object.defineProperty(Future.prototype, FUTURE_TAG, { value: true, enumerable: false });
