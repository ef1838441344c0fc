import { CancelledError, RuntimeError, TimeoutError } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import type { Handle } from '../loop/handles.js';
import { getRunningLoop } from '../loop/running-loop.js';
import { ExceptionGroup } from './exception-group.js';
import { ScopedCoroutine, runBody } from './scope.js';
import { currentTask, type Task } from './task.js';

type TimeoutState = 'created' | 'active' | 'expiring' | 'expired' | 'finished';

/** The body of a timeout scope: a generator function (for `yield*`) or an async function (for `await`). */
export type TimeoutBody<T> = (scope: Timeout) => Generator<unknown, T, unknown> | PromiseLike<T> | T;

/**
 * asyncio's `Timeout` (Python 3.11): the deadline of one `timeout()` or
 * `timeoutAt()` scope, handed to its body. When the deadline passes, the
 * task is cancelled; the scope turns that cancellation, and only that one,
 * into a `TimeoutError` (a cancellation from outside stays a cancellation:
 * the task's `cancelling()` count tells them apart).
 */
export class Timeout {
  /** @internal */ _state: TimeoutState = 'created';
  /** @internal */ _when: number | null;
  /** @internal */ _handle: Handle | null = null;
  /** @internal */ _task: Task<unknown> | null = null;
  /** @internal */ _loop: BaseEventLoop | null = null;
  /** @internal */ _cancelling = 0;

  /** @internal Use `timeout()` or `timeoutAt()`. */
  constructor(when: number | null) {
    this._when = when;
  }

  /** The deadline on the loop's clock (`loop.time()`), or null for none. */
  when(): number | null {
    return this._when;
  }

  /** Move the deadline (null: no deadline); only while the scope runs. */
  reschedule(when: number | null): void {
    checkDeadline(when, 'when');
    if (this._state !== 'active') {
      if (this._state === 'created') throw new RuntimeError('Timeout has not been entered');
      throw new RuntimeError(`Cannot change state of ${this._state} Timeout`);
    }
    this._when = when;
    this._handle?.cancel();
    const loop = this._loop!;
    if (when === null) this._handle = null;
    else if (when <= loop.time()) this._handle = loop.callSoon(() => this._onTimeout());
    else this._handle = loop.callAt(when, () => this._onTimeout());
  }

  /** True once the deadline has passed (the scope is turning, or has turned, the cancellation into TimeoutError). */
  expired(): boolean {
    return this._state === 'expiring' || this._state === 'expired';
  }

  toString(): string {
    return `<Timeout [${this._state}]${this._state === 'active' ? ` when=${this._when}` : ''}>`;
  }

  /** @internal asyncio's `__aenter__`. */
  _enter(loop: BaseEventLoop): void {
    if (this._state !== 'created') throw new RuntimeError('Timeout has already been entered');
    const task = currentTask(loop);
    if (task === null) throw new RuntimeError('Timeout should be used inside a task');
    this._loop = loop;
    this._task = task;
    this._state = 'active';
    this._cancelling = task.cancelling();
    this.reschedule(this._when);
  }

  /**
   * @internal asyncio's `__aexit__`: the error to throw instead of the body's
   * (a TimeoutError whose cause is the CancelledError), or undefined.
   */
  _exit(failed: boolean, error: unknown): TimeoutError | undefined {
    this._handle?.cancel();
    this._handle = null;
    if (this._state === 'expiring') {
      this._state = 'expired';
      // Only if no other cancellation came in meanwhile is the CancelledError ours.
      if (this._task!.uncancel() <= this._cancelling && failed) {
        if (CancelledError.isInstance(error)) return new TimeoutError('timed out', { cause: error });
        // asyncio 3.13: the error the body raised while being cancelled keeps the timeout as its context.
        if (ExceptionGroup.isInstance(error)) for (const inner of error.exceptions) noteTimeout(inner);
        noteTimeout(error);
      }
    } else if (this._state === 'active') {
      this._state = 'finished';
    }
    return undefined;
  }

  /** @internal */
  _onTimeout(): void {
    if (this._state !== 'active') return;
    this._task!.cancel();
    this._state = 'expiring';
    this._handle = null;
  }
}

/** Mark an error raised while a timeout was being delivered (Python's `__context__`): `timedOut` is true on it. */
function noteTimeout(error: unknown): void {
  if (error !== null && typeof error === 'object' && Object.isExtensible(error)) {
    Object.defineProperty(error, 'timedOut', { value: true, enumerable: false, configurable: true });
  }
}

function checkDeadline(value: unknown, name: string): asserts value is number | null {
  if (value === null) return;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number or null, got ${value === undefined ? 'undefined' : typeof value}`);
  if (Number.isNaN(value)) throw new RangeError(`${name} must not be NaN`);
}

function checkBody(body: unknown): void {
  if (typeof body !== 'function') throw new TypeError(`body must be a function, got ${body === null ? 'null' : typeof body}`);
}

function scope<T>(name: string, deadline: (loop: BaseEventLoop) => number | null, body: TimeoutBody<T>): ScopedCoroutine<T> {
  return new ScopedCoroutine<T>(name, function* run(): Generator<unknown, T, unknown> {
    const loop = getRunningLoop() as BaseEventLoop;
    const timeout = new Timeout(deadline(loop));
    timeout._enter(loop);
    let result: T | undefined;
    let failed = false;
    let error: unknown;
    try {
      result = yield* runBody<Timeout, T>(body as (scope: Timeout) => unknown, timeout);
    } catch (thrown) {
      failed = true;
      error = thrown;
    }
    const replacement = timeout._exit(failed, error);
    if (replacement !== undefined) throw replacement;
    if (failed) throw error;
    return result as T;
  });
}

/**
 * asyncio's `timeout(delay)`: run `body` in the current task; if it is not
 * done `delay` seconds from now, cancel it and throw `TimeoutError`. `null`
 * means no deadline (one can be set later with `scope.reschedule()`).
 *
 * ```js
 * yield* timeout(1, function* (scope) { ... });        // generator coroutine
 * await timeout(1, async (scope) => { ... });          // async function
 * ```
 */
export function timeout<T>(delay: number | null, body: TimeoutBody<T>): ScopedCoroutine<T> {
  checkDeadline(delay, 'delay');
  checkBody(body);
  return scope('timeout', (loop) => (delay === null ? null : loop.time() + delay), body);
}

/** asyncio's `timeout_at(when)`: as `timeout()`, with a deadline on the loop's clock (`loop.time()`). */
export function timeoutAt<T>(when: number | null, body: TimeoutBody<T>): ScopedCoroutine<T> {
  checkDeadline(when, 'when');
  checkBody(body);
  return scope('timeoutAt', () => when, body);
}
