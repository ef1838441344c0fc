import { isMainThread, threadId } from 'node:worker_threads';
import { RuntimeError, type AbstractEventLoop, type AbstractEventLoopPolicy, type BackendDescriptor } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { resolveBackend } from '../loop/discovery.js';
import { registerDefaultPolicyFactory } from '../loop/running-loop.js';
import { loopForBackend } from './loop-for-backend.js';

/**
 * asyncio's `BaseDefaultEventLoopPolicy`: one loop per thread. The main
 * thread gets a loop on demand from `getEventLoop()`; a worker thread must
 * set one (or use `newEventLoop`/`run`) and otherwise gets a `RuntimeError`.
 */
export abstract class BaseDefaultEventLoopPolicy implements AbstractEventLoopPolicy {
  /** @internal */ _loop: AbstractEventLoop | null = null;
  /** @internal */ _setCalled = false;

  getEventLoop(): AbstractEventLoop {
    if (this._loop === null && !this._setCalled && isMainThread) {
      this.setEventLoop(this.newEventLoop());
    }
    if (this._loop === null) {
      throw new RuntimeError(`There is no current event loop in thread ${isMainThread ? 'main' : `worker ${threadId}`}.`);
    }
    return this._loop;
  }

  setEventLoop(loop: AbstractEventLoop | null): void {
    this._setCalled = true;
    if (loop !== null && (typeof loop !== 'object' || typeof (loop as AbstractEventLoop).runForever !== 'function')) {
      throw new TypeError(`loop must be an event loop object or null, got ${typeof loop}`);
    }
    this._loop = loop;
  }

  abstract newEventLoop(): AbstractEventLoop;
}

export interface DefaultEventLoopPolicyOptions {
  /** Force a backend by name (`'poll'`) instead of discovery; beats `EVLOOP_BACKEND`. */
  backend?: string;
}

/**
 * The default policy: loops on the best installed backend, found at
 * run time (or the one named by `options.backend` / `EVLOOP_BACKEND`).
 */
export class DefaultEventLoopPolicy extends BaseDefaultEventLoopPolicy {
  readonly #requested: string | undefined;
  #backend: BackendDescriptor | undefined;

  constructor(options: DefaultEventLoopPolicyOptions = {}) {
    super();
    if (options.backend !== undefined && typeof options.backend !== 'string') {
      throw new TypeError(`backend must be a string, got ${typeof options.backend}`);
    }
    this.#requested = options.backend;
  }

  /** The backend this policy's loops use (resolved on first use). */
  get backend(): BackendDescriptor {
    this.#backend ??= resolveBackend(this.#requested ?? null);
    return this.#backend;
  }

  /** A new loop on this policy's backend: a selector loop, or a proactor loop for a proactor backend. */
  newEventLoop(): BaseEventLoop {
    return loopForBackend(this.backend);
  }
}

registerDefaultPolicyFactory(() => new DefaultEventLoopPolicy());
