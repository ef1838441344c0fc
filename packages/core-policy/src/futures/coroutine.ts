import type { BaseEventLoop } from '../base/base-event-loop.js';
import type { Future } from './future.js';
import { getRunningLoop } from '../loop/running-loop.js';
import { RuntimeError, type AwaitableLike } from '@evloop/interface';

const COROUTINE_TAG = Symbol.for('evloop.coroutine');

/**
 * A coroutine object, as asyncio's `sleep()`, `wait_for()` and `wait()`
 * return: nothing happens until it is awaited (`await`, `yield*`), or given
 * to `createTask`/`ensureFuture`/`runUntilComplete`, which binds it to that
 * loop. So `loop.runUntilComplete(sleep(1))` works before the loop runs.
 * It can be awaited once, like a Python coroutine. Like every awaitable
 * evloop hands out, it is a complete Promise-like: `then`, `catch`, `finally`.
 */
export class Coroutine<T> implements AwaitableLike<T> {
  declare readonly [COROUTINE_TAG]: true;
  readonly #start: (loop: BaseEventLoop) => Future<T>;
  readonly #name: string;
  readonly #iterate: (() => Generator<unknown, T, unknown>) | undefined;
  #future: Future<T> | null = null;

  /**
   * `iterate`, when given, is what `yield*` runs instead of binding a future:
   * a cheaper path for a coroutine that only needs the task to step again
   * (`sleep(0)`). `await` and `ensureFuture` still go through `start`.
   */
  constructor(name: string, start: (loop: BaseEventLoop) => Future<T>, iterate?: () => Generator<unknown, T, unknown>) {
    this.#name = name;
    this.#start = start;
    this.#iterate = iterate;
  }

  /** @internal Start it on `loop` (once); later calls return the same future. */
  _bind(loop: BaseEventLoop): Future<T> {
    if (this.#future === null) {
      this.#future = this.#start(loop);
    } else if (this.#future.getLoop() !== loop) {
      throw new RuntimeError(`coroutine ${this.#name}() is already running on another loop`);
    }
    return this.#future;
  }

  /** @internal Whether it has been started (bound to a loop). */
  _isBound(): boolean {
    return this.#future !== null;
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let future: Future<T>;
    try {
      future = this._bind(getRunningLoop() as BaseEventLoop);
    } catch (error) {
      return Promise.reject(error).then(onFulfilled, onRejected);
    }
    return future.then(onFulfilled, onRejected);
  }

  /** `coroutine.catch(handler)`: start it on the running loop (as `then` does) and handle its rejection. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /** `coroutine.finally(handler)`: start it on the running loop (as `then` does); `handler` runs however it ends. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  [Symbol.iterator](): Generator<unknown, T, unknown> {
    if (this.#iterate !== undefined && this.#future === null) {
      getRunningLoop();
      return this.#iterate();
    }
    return this._bind(getRunningLoop() as BaseEventLoop)[Symbol.iterator]();
  }

  toString(): string {
    return `<coroutine ${this.#name}>`;
  }
}
Object.defineProperty(Coroutine.prototype, COROUTINE_TAG, { value: true, enumerable: false });

export function isCoroutineObject(value: unknown): value is Coroutine<unknown> {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[COROUTINE_TAG] === true;
}
