import type { AbstractEventLoopPolicy } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';

/**
 * Per-thread state. It lives on `globalThis` under a `Symbol.for` key, so an
 * ESM copy and a CJS copy of this package in one process share it (the
 * dual-package hazard); each worker thread has its own `globalThis`, so the
 * context is the thread, as in asyncio.
 */
/** A task as this registry keeps it; only `Task`s (futures/task.ts) are ever added. */
export interface PendingTask {
  done(): boolean;
}

export interface EvloopState {
  policy: AbstractEventLoopPolicy | null;
  runningLoop: BaseEventLoop | null;
  /** Tasks not yet done, per loop (asyncio's `_scheduled_tasks`, strong refs while pending). */
  pendingTasks: WeakMap<BaseEventLoop, Set<PendingTask>>;
}

const KEY = Symbol.for('evloop.core-policy.state.v1');

export function state(): EvloopState {
  const holder = globalThis as unknown as Record<symbol, EvloopState | undefined>;
  let value = holder[KEY];
  if (value === undefined) {
    value = { policy: null, runningLoop: null, pendingTasks: new WeakMap() };
    Object.defineProperty(globalThis, KEY, { value, enumerable: false, configurable: false, writable: false });
  }
  return value;
}
