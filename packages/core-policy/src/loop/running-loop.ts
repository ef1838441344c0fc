import { RuntimeError, type AbstractEventLoop, type AbstractEventLoopPolicy } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { state } from './thread-state.js';

let defaultPolicyFactory: (() => AbstractEventLoopPolicy) | null = null;

/** @internal Set by the policy module, so this module needs no import of the loop classes. */
export function registerDefaultPolicyFactory(factory: () => AbstractEventLoopPolicy): void {
  defaultPolicyFactory = factory;
}

/** The policy in use in this thread (made on first use). */
export function getEventLoopPolicy(): AbstractEventLoopPolicy {
  const shared = state();
  if (shared.policy === null) {
    if (defaultPolicyFactory === null) throw new RuntimeError('evloop: no default policy is registered');
    shared.policy = defaultPolicyFactory();
  }
  return shared.policy;
}

/** Set the policy for this thread; null restores the default. */
export function setEventLoopPolicy(policy: AbstractEventLoopPolicy | null): void {
  if (policy !== null && (typeof policy !== 'object' || typeof (policy as AbstractEventLoopPolicy).getEventLoop !== 'function')) {
    throw new TypeError(`policy must be an event loop policy or null, got ${typeof policy}`);
  }
  state().policy = policy;
}

/** The running loop, or `RuntimeError('no running event loop')`. */
export function getRunningLoop(): AbstractEventLoop {
  const loop = state().runningLoop;
  if (loop === null) throw new RuntimeError('no running event loop');
  return loop;
}

/** The running loop or null (asyncio's `_get_running_loop`). */
export function peekRunningLoop(): BaseEventLoop | null {
  return state().runningLoop;
}

/** The running loop when called from a running callback or coroutine; else the policy's loop. */
export function getEventLoop(): AbstractEventLoop {
  return state().runningLoop ?? getEventLoopPolicy().getEventLoop();
}

export function setEventLoop(loop: AbstractEventLoop | null): void {
  getEventLoopPolicy().setEventLoop(loop);
}

export function newEventLoop(): AbstractEventLoop {
  return getEventLoopPolicy().newEventLoop();
}
