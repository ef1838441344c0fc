import { RuntimeError, type AbstractEventLoopPolicy } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { state } from './thread-state.js';

/** A policy whose loops are evloop loops (every loop that can run here is a `BaseEventLoop`). */
export type EventLoopPolicy = AbstractEventLoopPolicy<BaseEventLoop>;

let defaultPolicyFactory: (() => EventLoopPolicy) | null = null;

/** @internal Set by the policy module, so this module needs no import of the loop classes. */
export function registerDefaultPolicyFactory(factory: () => EventLoopPolicy): void {
  defaultPolicyFactory = factory;
}

/** The policy in use in this thread (made on first use). */
export function getEventLoopPolicy(): EventLoopPolicy {
  const shared = state();
  if (shared.policy === null) {
    if (defaultPolicyFactory === null) throw new RuntimeError('evloop: no default policy is registered');
    shared.policy = defaultPolicyFactory();
  }
  return shared.policy;
}

/** Set the policy for this thread; null restores the default. */
export function setEventLoopPolicy(policy: EventLoopPolicy | null): void {
  if (policy !== null && (typeof policy !== 'object' || typeof (policy as EventLoopPolicy).getEventLoop !== 'function')) {
    throw new TypeError(`policy must be an event loop policy or null, got ${typeof policy}`);
  }
  state().policy = policy;
}

let taskLoopLookup: (() => BaseEventLoop | null) | null = null;

/** @internal Set by the futures module: the loop of the task whose async-function code runs now, or null. */
export function registerTaskLoopLookup(lookup: () => BaseEventLoop | null): void {
  taskLoopLookup = lookup;
}

/**
 * The running loop, or `RuntimeError('no running event loop')`.
 *
 * Code of an async-function task gets its task's loop even when that loop's
 * run has just ended: V8 runs an `await`'s continuation as a Promise job,
 * which can come after `stop()` finished the run (a task resumed in the
 * run's last iteration). In asyncio a task's code only ever runs inside its
 * loop, so there it always has one; here the task goes on at the loop's next
 * run, as it would in asyncio.
 */
export function getRunningLoop(): BaseEventLoop {
  const loop = state().runningLoop ?? (taskLoopLookup === null ? null : taskLoopLookup());
  if (loop === null) throw new RuntimeError('no running event loop');
  return loop;
}

/** The running loop or null (asyncio's `_get_running_loop`). */
export function peekRunningLoop(): BaseEventLoop | null {
  return state().runningLoop;
}

/** The running loop when called from a running callback or coroutine; else the policy's loop. */
export function getEventLoop(): BaseEventLoop {
  return state().runningLoop ?? getEventLoopPolicy().getEventLoop();
}

export function setEventLoop(loop: BaseEventLoop | null): void {
  getEventLoopPolicy().setEventLoop(loop);
}

export function newEventLoop(): BaseEventLoop {
  return getEventLoopPolicy().newEventLoop();
}
